/* request_fields.c — the field readers of the sign request parser and the
 * small consensus types every request shares (Checkpoint, AttestationData,
 * BeaconBlockHeader). Readers are strict, as a signer must be: uint64 only as a
 * decimal string (no sign, space or '+', at most 2^64-1), byte fields only as
 * "0x" + exactly the type's length, lists no longer than their SSZ limit.
 * Every refusal names the field by its JSON path. */
#include "signer/request_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cl_err rq_fail(rq_ctx *c, cl_err e, const char *fmt, ...) {
    if (c->err && c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
    }
    return e;
}

void rq_path(char out[RQ_PATH], const char *path, const char *key) {
    if (path && *path)
        snprintf(out, RQ_PATH, "%s.%s", path, key);
    else
        snprintf(out, RQ_PATH, "%s", key);
}

void rq_path_idx(char out[RQ_PATH], const char *path, size_t i) {
    size_t l = strnlen(path, RQ_PATH - 24);
    memcpy(out, path, l);
    snprintf(out + l, 24, "[%zu]", i);
}

/* o[key], required (absent and null are both "missing"). */
static cl_err member(rq_ctx *c, json_t *o, const char *path, const char *key, char p[RQ_PATH],
                     json_t **out) {
    rq_path(p, path, key);
    json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    if (!v || json_is_null(v)) return rq_fail(c, CL_ERR_INVALID, "%s is required", p);
    *out = v;
    return CL_OK;
}

cl_err rq_obj(rq_ctx *c, json_t *o, const char *path, const char *key, json_t **out) {
    char p[RQ_PATH];
    CL_TRY(member(c, o, path, key, p, out));
    if (!json_is_object(*out)) return rq_fail(c, CL_ERR_INVALID, "%s must be an object", p);
    return CL_OK;
}

cl_err rq_arr(rq_ctx *c, json_t *o, const char *path, const char *key, size_t max, json_t **out) {
    char p[RQ_PATH];
    CL_TRY(member(c, o, path, key, p, out));
    if (!json_is_array(*out)) return rq_fail(c, CL_ERR_INVALID, "%s must be an array", p);
    if (json_array_size(*out) > max)
        return rq_fail(c, CL_ERR_INVALID, "%s has %zu elements, more than its limit %zu", p,
                       json_array_size(*out), max);
    return CL_OK;
}

cl_err rq_u64_value(rq_ctx *c, json_t *v, const char *path, uint64_t *out) {
    if (!json_is_string(v))
        return rq_fail(c, CL_ERR_INVALID, "%s must be a decimal uint64 string", path);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0 || n > 20)
        return rq_fail(c, CL_ERR_INVALID, "%s must be a decimal uint64 string", path);
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return rq_fail(c, CL_ERR_INVALID, "%s must be a decimal uint64 string", path);
        unsigned d = (unsigned)(s[i] - '0');
        if (x > (UINT64_MAX - d) / 10)
            return rq_fail(c, CL_ERR_INVALID, "%s is larger than 2^64-1", path);
        x = x * 10 + d;
    }
    *out = x;
    return CL_OK;
}

cl_err rq_u64(rq_ctx *c, json_t *o, const char *path, const char *key, uint64_t *out) {
    char p[RQ_PATH];
    json_t *v;
    CL_TRY(member(c, o, path, key, p, &v));
    return rq_u64_value(c, v, p, out);
}

static int hexval(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* "0x" + hex digits, decoded into out (n bytes exactly). */
static bool hex_into(const char *s, size_t len, uint8_t *out, size_t n) {
    if (len != 2 + 2 * n || s[0] != '0' || s[1] != 'x') return false;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(s[2 + 2 * i]), lo = hexval(s[3 + 2 * i]);
        if (hi < 0 || lo < 0) return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

cl_err rq_hex_value(rq_ctx *c, json_t *v, const char *path, uint8_t *out, size_t n) {
    if (!json_is_string(v) || !hex_into(json_string_value(v), json_string_length(v), out, n))
        return rq_fail(c, CL_ERR_INVALID, "%s must be 0x followed by %zu hex bytes", path, n);
    return CL_OK;
}

cl_err rq_hex(rq_ctx *c, json_t *o, const char *path, const char *key, uint8_t *out, size_t n) {
    char p[RQ_PATH];
    json_t *v;
    CL_TRY(member(c, o, path, key, p, &v));
    return rq_hex_value(c, v, p, out, n);
}

cl_err rq_hex_var(rq_ctx *c, json_t *o, const char *path, const char *key, size_t max,
                  cl_buf *out) {
    char p[RQ_PATH];
    json_t *v;
    CL_TRY(member(c, o, path, key, p, &v));
    size_t len = json_is_string(v) ? json_string_length(v) : 0;
    if (len < 2 || len % 2 || (len - 2) / 2 > max)
        return rq_fail(c, CL_ERR_INVALID, "%s must be 0x followed by at most %zu hex bytes", p,
                       max);
    size_t n = (len - 2) / 2;
    buf_reserve(out, n ? n : 1);
    if (!hex_into(json_string_value(v), len, out->ptr + out->len, n))
        return rq_fail(c, CL_ERR_INVALID, "%s must be 0x followed by at most %zu hex bytes", p,
                       max);
    out->len += n;
    return CL_OK;
}

void rq_cont_root(const rq_cont *k, uint8_t out[32]) {
    ssz_merkleize(k->r[0], k->n, k->n, out);
}

cl_err rq_f_u64(rq_ctx *c, json_t *o, const char *path, const char *key, rq_cont *k,
                uint64_t *val) {
    uint64_t x;
    CL_TRY(rq_u64(c, o, path, key, &x));
    ssz_root_u64(x, RQ_NEXT(k));
    if (val) *val = x;
    return CL_OK;
}

cl_err rq_f_bytes(rq_ctx *c, json_t *o, const char *path, const char *key, size_t n, rq_cont *k) {
    uint8_t b[96];
    if (n > sizeof b) return rq_fail(c, CL_ERR_INTERNAL, "field too long");
    CL_TRY(rq_hex(c, o, path, key, b, n));
    ssz_root_bytes(b, n, RQ_NEXT(k));
    return CL_OK;
}

cl_err rq_f_list(rq_ctx *c, json_t *o, const char *path, const char *key, uint64_t limit,
                 rq_root_fn fn, rq_cont *k) {
    json_t *arr;
    CL_TRY(rq_arr(c, o, path, key, (size_t)limit, &arr));
    char p[RQ_PATH], ep[RQ_PATH];
    rq_path(p, path, key);
    ssz_fields f;
    ssz_fields_init(&f);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        rq_path_idx(ep, p, i);
        cl_err e = fn(c, json_array_get(arr, i), ep, ssz_fields_push(&f));
        if (e != CL_OK) {
            ssz_fields_free(&f);
            return e;
        }
    }
    ssz_fields_list(&f, limit, RQ_NEXT(k));
    return CL_OK;
}

cl_err rq_f_obj(rq_ctx *c, json_t *o, const char *path, const char *key, rq_root_fn fn,
                rq_cont *k) {
    json_t *v;
    CL_TRY(rq_obj(c, o, path, key, &v));
    char p[RQ_PATH];
    rq_path(p, path, key);
    return fn(c, v, p, RQ_NEXT(k));
}

/* Checkpoint{epoch, root}. */
static cl_err checkpoint(rq_ctx *c, json_t *o, const char *path, const char *key, uint64_t *epoch,
                         rq_cont *outer) {
    json_t *v;
    CL_TRY(rq_obj(c, o, path, key, &v));
    char p[RQ_PATH];
    rq_path(p, path, key);
    rq_cont k = {.n = 0};
    CL_TRY(rq_f_u64(c, v, p, "epoch", &k, epoch));
    CL_TRY(rq_f_bytes(c, v, p, "root", 32, &k));
    rq_cont_root(&k, RQ_NEXT(outer));
    return CL_OK;
}

/* AttestationData{slot, index, beacon_block_root, source, target}. */
cl_err rq_attestation_data(rq_ctx *c, json_t *v, const char *path, uint8_t out[32], uint64_t *slot,
                           uint64_t *source, uint64_t *target) {
    if (!json_is_object(v)) return rq_fail(c, CL_ERR_INVALID, "%s must be an object", path);
    rq_cont k = {.n = 0};
    uint64_t s, src, tgt;
    CL_TRY(rq_f_u64(c, v, path, "slot", &k, &s));
    CL_TRY(rq_f_u64(c, v, path, "index", &k, NULL));
    CL_TRY(rq_f_bytes(c, v, path, "beacon_block_root", 32, &k));
    CL_TRY(checkpoint(c, v, path, "source", &src, &k));
    CL_TRY(checkpoint(c, v, path, "target", &tgt, &k));
    rq_cont_root(&k, out);
    if (slot) *slot = s;
    if (source) *source = src;
    if (target) *target = tgt;
    return CL_OK;
}

cl_err rq_attestation_data_fn(rq_ctx *c, json_t *v, const char *path, uint8_t out[32]) {
    return rq_attestation_data(c, v, path, out, NULL, NULL, NULL);
}

/* BeaconBlockHeader{slot, proposer_index, parent_root, state_root, body_root}. */
cl_err rq_block_header(rq_ctx *c, json_t *v, const char *path, uint8_t out[32], uint64_t *slot) {
    if (!json_is_object(v)) return rq_fail(c, CL_ERR_INVALID, "%s must be an object", path);
    rq_cont k = {.n = 0};
    CL_TRY(rq_f_u64(c, v, path, "slot", &k, slot));
    CL_TRY(rq_f_u64(c, v, path, "proposer_index", &k, NULL));
    CL_TRY(rq_f_bytes(c, v, path, "parent_root", 32, &k));
    CL_TRY(rq_f_bytes(c, v, path, "state_root", 32, &k));
    CL_TRY(rq_f_bytes(c, v, path, "body_root", 32, &k));
    rq_cont_root(&k, out);
    return CL_OK;
}
