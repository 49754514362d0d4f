/* sms_wire.c — the iExec SMS wire format that needs no curve: addresses,
 * secret names and values, the challenge the `iexec` CLI signs (its
 * src/common/sms/push.js; iexec-sms AuthorizationService), and the parser of
 * the SMS request paths. Signatures are in sms_sig.c. */
#include "secrets/secrets.h"

#include "crypto/crypto.h"

#include <string.h>

static int hex_val(uint8_t c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Exactly 2n hex digits after "0x"/"0X" into out[n]. */
static cl_err parse_0x_hex(cl_slice s, uint8_t *out, size_t n) {
    if (s.len != 2 + 2 * n || s.ptr[0] != '0' || (s.ptr[1] != 'x' && s.ptr[1] != 'X'))
        return CL_ERR_INVALID;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_val(s.ptr[2 + 2 * i]), lo = hex_val(s.ptr[3 + 2 * i]);
        if (hi < 0 || lo < 0) return CL_ERR_INVALID;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return CL_OK;
}

cl_err secrets_addr_parse(cl_slice s, secrets_addr *out) {
    return parse_0x_hex(s, out->b, SECRETS_ADDR_LEN);
}

void secrets_addr_format(const secrets_addr *a, char out[SECRETS_ADDR_STR_LEN + 1]) {
    out[0] = '0';
    out[1] = 'x';
    hex_encode_to(out + 2, a->b, SECRETS_ADDR_LEN);
}

bool secrets_addr_eq(const secrets_addr *a, const secrets_addr *b) {
    return memcmp(a->b, b->b, SECRETS_ADDR_LEN) == 0;
}

bool secrets_name_valid(cl_slice name) {
    if (name.len < 1 || name.len > SECRETS_NAME_MAX) return false;
    for (size_t i = 0; i < name.len; i++) {
        uint8_t c = name.ptr[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

bool secrets_value_valid(cl_slice value) {
    return value.len <= SECRETS_VALUE_MAX;
}

void secrets_challenge(const secrets_addr *a, cl_slice name, cl_slice value,
                       uint8_t out[SECRETS_HASH_LEN]) {
    uint8_t h[SECRETS_HASH_LEN];
    crypto_keccak256_ctx c;
    crypto_keccak256_init(&c);
    crypto_keccak256(slice_cstr("IEXEC_SMS_DOMAIN"), h);
    crypto_keccak256_update(&c, slice_of(h, sizeof h));
    crypto_keccak256_update(&c, slice_of(a->b, SECRETS_ADDR_LEN));
    crypto_keccak256(name, h);
    crypto_keccak256_update(&c, slice_of(h, sizeof h));
    crypto_keccak256(value, h);
    crypto_keccak256_update(&c, slice_of(h, sizeof h));
    crypto_keccak256_final(&c, out);
    cl_cleanse(h, sizeof h); /* keccak256(value) of a short secret is guessable */
}

void secrets_eip191_hash(const uint8_t challenge[SECRETS_HASH_LEN], uint8_t out[SECRETS_HASH_LEN]) {
    crypto_keccak256_ctx c;
    crypto_keccak256_init(&c);
    crypto_keccak256_update(&c, slice_cstr("\x19"
                                           "Ethereum Signed Message:\n32"));
    crypto_keccak256_update(&c, slice_of(challenge, SECRETS_HASH_LEN));
    crypto_keccak256_final(&c, out);
}

/* ---- request paths ---- */

static cl_err fail(int *status, const char **why, int st, const char *msg) {
    *status = st;
    *why = msg;
    return st == 400 ? CL_ERR_INVALID : st == 405 ? CL_ERR_DENIED : CL_ERR_NOT_FOUND;
}

/* Next '/'-separated segment of *rest (which starts just after a '/'). */
static cl_slice next_segment(cl_slice *rest, bool *more) {
    ptrdiff_t i = slice_find(*rest, '/');
    cl_slice seg = i < 0 ? *rest : slice_sub(*rest, 0, (size_t)i);
    *more = i >= 0;
    *rest = i < 0 ? CL_SLICE_NULL : slice_sub(*rest, (size_t)i + 1, rest->len);
    return seg;
}

cl_err secrets_sms_parse(cl_slice method, cl_slice path, secrets_sms_request *out, int *status,
                         const char **why) {
    memset(out, 0, sizeof *out);
    *status = 0;
    *why = NULL;
    ptrdiff_t q = slice_find(path, '?');
    if (q >= 0) path = slice_sub(path, 0, (size_t)q);
    if (path.len < 1 || path.ptr[0] != '/') return fail(status, why, 404, "no such path");
    cl_slice rest = slice_sub(path, 1, path.len), seg[4];
    bool more = true;
    size_t n = 0;
    while (more && n < 4)
        seg[n++] = next_segment(&rest, &more);
    if (more) return fail(status, why, 404, "no such path");
    bool requester =
        n == 4 && slice_eq_cstr(seg[0], "requesters") && slice_eq_cstr(seg[2], "secrets");
    bool app = n == 3 && slice_eq_cstr(seg[0], "apps") && slice_eq_cstr(seg[2], "secrets");
    if (!requester && !app) return fail(status, why, 404, "no such path");
    if (slice_eq_cstr(method, "HEAD"))
        out->method = SECRETS_SMS_HEAD;
    else if (slice_eq_cstr(method, "POST"))
        out->method = SECRETS_SMS_POST;
    else
        return fail(status, why, 405, "method not allowed");
    if (secrets_addr_parse(seg[1], &out->addr) != CL_OK)
        return fail(status, why, 400, "invalid address: expected 0x and 40 hex digits");
    cl_slice name = requester ? seg[3] : slice_cstr("1");
    if (!secrets_name_valid(name))
        return fail(status, why, 400, "invalid secret name: expected [A-Za-z0-9_-]{1,64}");
    memcpy(out->name, name.ptr, name.len);
    out->name[name.len] = '\0';
    out->kind = requester ? SECRETS_SMS_REQUESTER : SECRETS_SMS_APP;
    return CL_OK;
}
