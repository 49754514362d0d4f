/* keymanager.c — the standard keymanager API (ethereum/keymanager-APIs):
 * GET/POST/DELETE /eth/v1/keystores, each behind `Authorization: Bearer
 * <token>` (401 without it, 403 with another; compared in constant time over
 * SHA-256 digests). POST decrypts each keystore, imports the request's EIP-3076
 * slashing_protection for those keys (before any can sign), then each keystore (written into the
 * keystores directory with its password, so a restart keeps it); DELETE disables the keys (kept
 * disabled across restarts: later sign requests get 412) and returns their slashing protection
 * export. The body parsers are in keymanager_parse.c. */
#include "signer/api_internal.h"
#include "signer/keymanager_internal.h"

#include "crypto/crypto.h"

#include <string.h>

/* ---- authorization ---- */

static bool authorized(signer_server *s, const http_request *req, http_response *resp) {
    const char *h = kvlist_get_ci(&req->headers, "Authorization");
    cl_slice v = slice_trim(slice_cstr(h));
    if (!h || v.len < 7 || !slice_case_eq_cstr(slice_sub(v, 0, 7), "Bearer ")) {
        api_json(resp, 401,
                 json_pack("{s:s}", "message", "Unauthorized: a bearer token is required"));
        return false;
    }
    uint8_t got[32];
    crypto_sha256(slice_trim(slice_sub(v, 7, v.len - 7)), got);
    if (!cl_ct_eq(got, s->token_hash, sizeof got)) {
        api_json(resp, 403, json_pack("{s:s}", "message", "Forbidden: the bearer token is wrong"));
        return false;
    }
    return true;
}

/* ---- GET ---- */

static bool list_one(void *arg, const uint8_t pk[SIGNER_PK_LEN], signer_key_state st,
                     signer_key_source src, const char *origin) {
    (void)origin;
    signer_server *s = ((void **)arg)[1];
    if (st != SIGNER_KEY_ACTIVE || api_is_disabled(s, pk)) return true;
    char hex[2 + 2 * SIGNER_PK_LEN + 1];
    api_pubkey_hex(pk, hex);
    json_array_append_new(((void **)arg)[0],
                          json_pack("{s:s,s:s,s:b}", "validating_pubkey", hex, "derivation_path",
                                    "", "readonly", src == SIGNER_SRC_KMS));
    return true;
}

static void km_list(signer_server *s, http_response *resp) {
    json_t *arr = json_array();
    void *args[2] = {arr, s};
    signer_keyring_each(s->keys, list_one, args);
    api_json(resp, 200, json_pack("{s:o}", "data", arr));
}

/* ---- POST ---- */

static json_t *status(const char *st, const char *msg) {
    return json_pack("{s:s,s:s}", "status", st, "message", msg ? msg : "");
}

/* Writes the keystore and its password where the loader finds them. */
static cl_err km_write(signer_server *s, const uint8_t pk[SIGNER_PK_LEN], const char *ks,
                       const char *pw, char **ks_path) {
    char hex[2 + 2 * SIGNER_PK_LEN + 1];
    api_pubkey_hex(pk, hex);
    CL_TRY(dir_ensure(s->keystores_dir, 0700));
    CL_TRY(dir_ensure(s->passwords_dir, 0700));
    char *pp = cl_sprintf("%s/%s.txt", s->passwords_dir, hex);
    cl_err e = file_write_atomic(pp, slice_cstr(pw), 0600);
    free(pp);
    if (e != CL_OK) return e;
    *ks_path = cl_sprintf("%s/%s.json", s->keystores_dir, hex);
    e = file_write_atomic(*ks_path, slice_cstr(ks), 0600);
    if (e != CL_OK) {
        free(*ks_path);
        *ks_path = NULL;
    }
    return e;
}

/* One keystore of a POST, between its decryption and its import. */
typedef struct {
    uint8_t sk[SIGNER_SK_LEN], pk[SIGNER_PK_LEN];
    json_t *result; /* set once decided (error, duplicate) */
} km_item;

static json_t *km_decrypt(signer_server *s, km_item *items, size_t i, const char *ks,
                          const char *pw) {
    km_item *it = &items[i];
    char err[200] = "";
    cl_err e = signer_keystore_decrypt(slice_cstr(ks), slice_cstr(pw), it->sk, err, sizeof err);
    if (e == CL_ERR_DENIED) return status("error", "wrong password (keystore checksum mismatch)");
    if (e != CL_OK) return status("error", err[0] ? err : "invalid keystore");
    if (signer_bls_pubkey(it->sk, it->pk) != CL_OK) return status("error", "invalid secret key");
    if (signer_keyring_state(s->keys, it->pk) == SIGNER_KEY_ACTIVE && !api_is_disabled(s, it->pk))
        return status("duplicate", "");
    for (size_t j = 0; j < i; j++) /* the same key twice in one request */
        if (!items[j].result && memcmp(items[j].pk, it->pk, SIGNER_PK_LEN) == 0)
            return status("duplicate", "");
    return NULL;
}

static json_t *km_add(signer_server *s, km_item *it, const char *ks, const char *pw) {
    char *path = NULL;
    json_t *res;
    if (km_write(s, it->pk, ks, pw, &path) != CL_OK)
        res = status("error", "cannot write the keystore into the keystores directory");
    else if (signer_keyring_add(s->keys, it->sk, SIGNER_SRC_IMPORTED, path, NULL) != CL_OK ||
             api_set_disabled(s, it->pk, false) != CL_OK)
        res = status("error", "cannot add the key");
    else
        res = status("imported", "");
    free(path);
    return res;
}

/* The interchange's data for the keys about to be imported (Web3Signer's
 * filtered import), before any of them can sign. */
static cl_err km_slashing(signer_server *s, const char *interchange, km_item *items, size_t n,
                          char *err, size_t errlen) {
    if (!interchange) return CL_OK;
    uint8_t(*pks)[SIGNER_PK_LEN] = cl_calloc(n ? n : 1, SIGNER_PK_LEN);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!items[i].result) memcpy(pks[m++], items[i].pk, SIGNER_PK_LEN);
    cl_err e = signer_slashing_import_for(s->sp, slice_cstr(interchange),
                                          (const uint8_t(*)[SIGNER_PK_LEN])pks, m, err, errlen);
    free(pks);
    return e;
}

static json_t *km_import_all(signer_server *s, const keymanager_import *im) {
    json_t *data = json_array();
    if (s->o.production) {
        for (size_t i = 0; i < im->n; i++)
            json_array_append_new(data, status("error", "production mode accepts only "
                                                        "attestation-gated keys"));
        return data;
    }
    km_item *items = cl_calloc(im->n ? im->n : 1, sizeof *items);
    for (size_t i = 0; i < im->n; i++)
        items[i].result = km_decrypt(s, items, i, im->keystores[i], im->passwords[i]);
    char err[256] = "";
    cl_err e = km_slashing(s, im->slashing_protection, items, im->n, err, sizeof err);
    for (size_t i = 0; i < im->n; i++) {
        km_item *it = &items[i];
        if (!it->result)
            it->result = e != CL_OK ? status("error", err[0] ? err : "slashing_protection refused")
                                    : km_add(s, it, im->keystores[i], im->passwords[i]);
        json_array_append_new(data, it->result);
    }
    cl_cleanse(items, (im->n ? im->n : 1) * sizeof *items);
    free(items);
    return data;
}

static void km_import(signer_server *s, http_request *req, http_response *resp) {
    keymanager_import im;
    char err[256] = "";
    if (keymanager_parse_import(buf_slice(&req->body), &im, err, sizeof err) != CL_OK)
        return api_json(resp, 400, json_pack("{s:s}", "message", err));
    pthread_mutex_lock(&s->import_mu);
    json_t *data = km_import_all(s, &im);
    pthread_mutex_unlock(&s->import_mu);
    keymanager_import_free(&im);
    api_json(resp, 200, json_pack("{s:o}", "data", data));
}

/* ---- DELETE ---- */

static void km_delete(signer_server *s, http_request *req, http_response *resp) {
    uint8_t(*pks)[SIGNER_PK_LEN] = NULL;
    size_t n = 0;
    char err[256] = "";
    if (keymanager_parse_delete(buf_slice(&req->body), &pks, &n, err, sizeof err) != CL_OK)
        return api_json(resp, 400, json_pack("{s:s}", "message", err));
    pthread_mutex_lock(&s->import_mu);
    json_t *data = json_array();
    uint8_t(*known)[SIGNER_PK_LEN] = cl_calloc(n ? n : 1, SIGNER_PK_LEN);
    size_t nk = 0;
    for (size_t i = 0; i < n; i++) {
        signer_key_state st = signer_keyring_state(s->keys, pks[i]);
        bool was_disabled = st == SIGNER_KEY_DISABLED || api_is_disabled(s, pks[i]);
        if (st == SIGNER_KEY_UNKNOWN && !was_disabled) {
            json_array_append_new(data, status("not_found", ""));
            continue;
        }
        /* disabled in the store first: a restart never brings it back */
        if (api_set_disabled(s, pks[i], true) != CL_OK) {
            json_array_append_new(data, status("error", "cannot record the deletion"));
            continue;
        }
        if (st == SIGNER_KEY_ACTIVE) signer_keyring_disable(s->keys, pks[i]);
        json_array_append_new(data, status(was_disabled ? "not_active" : "deleted", ""));
        memcpy(known[nk++], pks[i], SIGNER_PK_LEN);
    }
    /* the standard: the interchange of the keys deleted or not active (an empty
     * data array, never every validator, when there are none) */
    cl_buf exp = CL_BUF_INIT;
    cl_err e = signer_slashing_export(s->sp, (const uint8_t(*)[SIGNER_PK_LEN])known, nk, &exp);
    pthread_mutex_unlock(&s->import_mu);
    json_t *doc = json_pack("{s:o,s:s}", "data", data, "slashing_protection",
                            e == CL_OK ? buf_cstr(&exp) : "");
    if (e != CL_OK)
        log_error("signer: keymanager delete: slashing export failed: %s", cl_err_str(e));
    buf_free(&exp);
    free(known);
    free(pks);
    api_json(resp, e == CL_OK ? 200 : 500, doc);
}

void keymanager_handle(signer_server *s, http_request *req, http_response *resp) {
    req->op = "keymanager";
    if (!slice_eq_cstr(slice_cstr(req->path), "/eth/v1/keystores"))
        return api_json(resp, 404, json_pack("{s:s}", "message", "Resource not found"));
    if (!authorized(s, req, resp)) return;
    if (strcmp(req->method, "GET") == 0) return km_list(s, resp);
    if (strcmp(req->method, "POST") == 0) return km_import(s, req, resp);
    if (strcmp(req->method, "DELETE") == 0) return km_delete(s, req, resp);
    api_json(resp, 405, json_pack("{s:s}", "message", "Method Not Allowed"));
}
