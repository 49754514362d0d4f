/* keymanager_parse.c — the keymanager API's request-body parsers (POST and
 * DELETE /eth/v1/keystores, bodies from the network) and the 0x-hex public
 * key parser the API shares. No dependency on the rest of the server, so the
 * fuzz target and the unit tests link them alone. */
#include "signer/api_internal.h"
#include "signer/keymanager_internal.h"

#include <string.h>

bool api_parse_pubkey(cl_slice hex, uint8_t pk[SIGNER_PK_LEN]) {
    if (hex.len != 2 + 2 * SIGNER_PK_LEN || hex.ptr[0] != '0' || (hex.ptr[1] | 0x20) != 'x')
        return false;
    cl_buf b = CL_BUF_INIT;
    bool ok = hex_decode(&b, slice_sub(hex, 2, hex.len - 2)) == CL_OK && b.len == SIGNER_PK_LEN;
    if (ok) memcpy(pk, b.ptr, SIGNER_PK_LEN);
    buf_free(&b);
    return ok;
}

/* ---- request bodies ---- */

void api_pubkey_hex(const uint8_t pk[SIGNER_PK_LEN], char out[2 + 2 * SIGNER_PK_LEN + 1]) {
    out[0] = '0';
    out[1] = 'x';
    hex_encode_to(out + 2, pk, SIGNER_PK_LEN);
}

void keymanager_import_free(keymanager_import *im) {
    if (!im) return;
    for (size_t i = 0; i < im->n; i++) {
        free(im->keystores[i]);
        cl_free_secret(im->passwords[i]);
    }
    free(im->keystores);
    free(im->passwords);
    free(im->slashing_protection);
    memset(im, 0, sizeof *im);
}

static cl_err bad(char *err, size_t errlen, const char *msg) {
    snprintf(err, errlen, "%s", msg);
    return CL_ERR_INVALID;
}

static cl_err string_array(json_t *arr, const char *name, size_t n, char **out, char *err,
                           size_t errlen) {
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(arr, i);
        if (!json_is_string(v)) {
            snprintf(err, errlen, "%s[%zu] must be a string", name, i);
            return CL_ERR_INVALID;
        }
        out[i] = cl_strndup(json_string_value(v), json_string_length(v));
    }
    return CL_OK;
}

cl_err keymanager_parse_import(cl_slice body, keymanager_import *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    json_error_t je;
    json_t *doc = json_loadb((const char *)body.ptr, body.len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return bad(err, errlen, "body is not a JSON object");
    }
    json_t *ks = json_object_get(doc, "keystores"), *pw = json_object_get(doc, "passwords");
    json_t *sp = json_object_get(doc, "slashing_protection");
    cl_err e = CL_OK;
    if (!json_is_array(ks) || !json_is_array(pw))
        e = bad(err, errlen, "keystores and passwords must be arrays");
    else if (json_array_size(ks) != json_array_size(pw))
        e = bad(err, errlen, "keystores and passwords must have the same length");
    else if (sp && !json_is_null(sp) && !json_is_string(sp))
        e = bad(err, errlen, "slashing_protection must be a string (EIP-3076 JSON)");
    if (e == CL_OK) {
        size_t n = json_array_size(ks);
        out->keystores = cl_calloc(n ? n : 1, sizeof(char *));
        out->passwords = cl_calloc(n ? n : 1, sizeof(char *));
        out->n = n;
        e = string_array(ks, "keystores", n, out->keystores, err, errlen);
        if (e == CL_OK) e = string_array(pw, "passwords", n, out->passwords, err, errlen);
        if (e == CL_OK && json_is_string(sp))
            out->slashing_protection = cl_strndup(json_string_value(sp), json_string_length(sp));
    }
    json_decref(doc);
    if (e != CL_OK) keymanager_import_free(out);
    return e;
}

cl_err keymanager_parse_delete(cl_slice body, uint8_t (**pks)[SIGNER_PK_LEN], size_t *n, char *err,
                               size_t errlen) {
    *pks = NULL;
    *n = 0;
    json_error_t je;
    json_t *doc = json_loadb((const char *)body.ptr, body.len, JSON_REJECT_DUPLICATES, &je);
    json_t *arr = json_is_object(doc) ? json_object_get(doc, "pubkeys") : NULL;
    cl_err e = json_is_array(arr) ? CL_OK : bad(err, errlen, "pubkeys must be an array");
    size_t len = e == CL_OK ? json_array_size(arr) : 0;
    if (e == CL_OK) *pks = cl_calloc(len ? len : 1, SIGNER_PK_LEN);
    for (size_t i = 0; e == CL_OK && i < len; i++) {
        json_t *v = json_array_get(arr, i);
        if (!json_is_string(v) ||
            !api_parse_pubkey(slice_of(json_string_value(v), json_string_length(v)), (*pks)[i])) {
            snprintf(err, errlen, "pubkeys[%zu] is not a 0x-prefixed 48-byte public key", i);
            e = CL_ERR_INVALID;
        }
    }
    json_decref(doc);
    if (e != CL_OK) {
        free(*pks);
        *pks = NULL;
        return e;
    }
    *n = len;
    return CL_OK;
}
