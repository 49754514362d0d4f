/* fuzz_iexec_sms.c — libFuzzer target for the iExec SMS request pieces
 * (src/secrets) that take bytes from anyone: the path parser and the
 * Authorization signature parse + ecrecover. Input: lines
 * METHOD \n PATH \n AUTHORIZATION \n VALUE (missing lines are empty). Checks:
 * an accepted path has a valid name and an address that formats and parses
 * back to itself; a recovered address formats and parses back; nothing may
 * crash, read out of bounds or leak. Seeds: the requester and app examples
 * of ../shared/vectors/iexec-sms.json. */
#include "secrets/secrets.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static cl_slice take_line(cl_slice *in) {
    cl_slice line;
    if (!slice_split(in, '\n', &line)) return CL_SLICE_NULL;
    return line;
}

static void check_addr(const secrets_addr *a) {
    char s[SECRETS_ADDR_STR_LEN + 1];
    secrets_addr back;
    secrets_addr_format(a, s);
    if (secrets_addr_parse(slice_cstr(s), &back) != CL_OK || !secrets_addr_eq(a, &back)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cl_slice in = slice_of(data, size);
    cl_slice method = take_line(&in), path = take_line(&in), auth = take_line(&in);
    cl_slice value = in;
    secrets_sms_request req;
    int status = 0;
    const char *why = NULL;
    secrets_addr owner = {{0}};
    if (secrets_sms_parse(method, path, &req, &status, &why) == CL_OK) {
        if (!secrets_name_valid(slice_cstr(req.name))) abort();
        check_addr(&req.addr);
        owner = req.addr;
    } else if (!why || (status != 400 && status != 404 && status != 405)) {
        abort();
    }
    secrets_sig sig;
    if (secrets_sig_parse(auth, &sig) == CL_OK) {
        uint8_t c[SECRETS_HASH_LEN], h[SECRETS_HASH_LEN];
        secrets_addr got;
        secrets_challenge(&owner, slice_cstr(req.name[0] ? req.name : "x"), value, c);
        secrets_eip191_hash(c, h);
        if (secrets_sig_recover(&sig, h, &got) == CL_OK) check_addr(&got);
        (void)secrets_sms_verify(auth, &owner, &owner, slice_cstr("1"), value);
    }
    (void)secrets_value_valid(value);
    return 0;
}
