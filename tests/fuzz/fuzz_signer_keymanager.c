/* fuzz_signer_keymanager.c — libFuzzer target for the keymanager API's request
 * bodies (src/signer/keymanager.c), which come from the network: the POST
 * /eth/v1/keystores import body and the DELETE body. The first byte picks the
 * parser. Checks: an accepted import has as many passwords as keystores and
 * only strings; an accepted delete has n well-formed keys that format back to
 * 0x-hex and parse again to the same bytes; nothing may crash, read out of
 * bounds or leak. Seeds: tests/fuzz/seeds/fuzz_signer_keymanager. */
#include "signer/keymanager_internal.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_import(cl_slice body) {
    keymanager_import im;
    char err[256];
    if (keymanager_parse_import(body, &im, err, sizeof err) != CL_OK) {
        if (!err[0]) abort();
        return;
    }
    for (size_t i = 0; i < im.n; i++)
        if (!im.keystores[i] || !im.passwords[i]) abort();
    keymanager_import_free(&im);
}

static void check_delete(cl_slice body) {
    uint8_t(*pks)[SIGNER_PK_LEN] = NULL;
    size_t n = 0;
    char err[256];
    if (keymanager_parse_delete(body, &pks, &n, err, sizeof err) != CL_OK) {
        if (!err[0] || pks) abort();
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char hex[2 + 2 * SIGNER_PK_LEN + 1] = "0x";
        hex_encode_to(hex + 2, pks[i], SIGNER_PK_LEN);
        uint8_t(*back)[SIGNER_PK_LEN] = NULL;
        size_t m = 0;
        char *doc = cl_sprintf("{\"pubkeys\":[\"%s\"]}", hex);
        if (keymanager_parse_delete(slice_cstr(doc), &back, &m, err, sizeof err) != CL_OK ||
            m != 1 || memcmp(back[0], pks[i], SIGNER_PK_LEN) != 0)
            abort();
        free(back);
        free(doc);
    }
    free(pks);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    cl_slice body = slice_of(data + 1, size - 1);
    if (data[0] & 1)
        check_delete(body);
    else
        check_import(body);
    return 0;
}
