/* secrets_store.c — the store of requester secrets pushed through the iExec
 * SMS endpoints: one meta-store item per (owner address, name), kind
 * "sms_secret", scope the owner's lower-case address. The value is sealed
 * with AES-256-GCM under a node key derived from the KMS root key (serve.c:
 * kms_node_key(keys, SECRETS_NODE_KEY_PURPOSE)), AAD = label || owner || name,
 * so a sealed value moved to another item does not open. Write-once: a second
 * put of the same (owner, name) fails with CL_ERR_EXISTS (store_insert, one
 * atomic statement). Values are never logged; plaintext copies are zeroised. */
#include "secrets/secrets.h"

#include "crypto/crypto.h"
#include "store/store.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define SECRETS_KIND "sms_secret"
#define SECRETS_AAD "cloister/secrets/sms/v1"

struct secrets_store {
    store *st;
    uint8_t key[CRYPTO_GCM_KEY_LEN];
};

cl_err secrets_store_open(store *st, const uint8_t key[32], secrets_store **out) {
    secrets_store *s = cl_calloc(1, sizeof *s);
    s->st = st;
    memcpy(s->key, key, sizeof s->key);
    *out = s;
    return CL_OK;
}

void secrets_store_close(secrets_store *s) {
    if (!s) return;
    cl_cleanse(s->key, sizeof s->key);
    free(s);
}

/* label (with its NUL) || owner (20 bytes) || name */
static void seal_aad(const secrets_addr *owner, const char *name, cl_buf *aad) {
    buf_append(aad, SECRETS_AAD, sizeof SECRETS_AAD);
    buf_append(aad, owner->b, sizeof owner->b);
    buf_append_cstr(aad, name);
}

static bool name_ok(const char *name) {
    return name && secrets_name_valid(slice_cstr(name));
}

cl_err secrets_store_put(secrets_store *s, const secrets_addr *owner, const char *name,
                         cl_slice value) {
    if (!name_ok(name)) return CL_ERR_INVALID;
    if (!secrets_value_valid(value)) return CL_ERR_TOO_LARGE;
    char scope[SECRETS_ADDR_STR_LEN + 1];
    secrets_addr_format(owner, scope);
    size_t n = CRYPTO_GCM_IV_LEN + value.len + CRYPTO_GCM_TAG_LEN;
    uint8_t *sealed = cl_malloc(n);
    cl_buf aad = CL_BUF_INIT, b64 = CL_BUF_INIT;
    crypto_random(sealed, CRYPTO_GCM_IV_LEN);
    seal_aad(owner, name, &aad);
    cl_err e = crypto_gcm_seal(s->key, sealed, buf_slice(&aad), value, sealed + CRYPTO_GCM_IV_LEN);
    char *doc = NULL;
    if (e == CL_OK) {
        base64_encode(&b64, slice_of(sealed, n));
        json_t *j = json_pack("{s:i, s:s}", "Version", 1, "Sealed", buf_cstr(&b64));
        doc = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(j);
        e = doc ? store_insert(s->st, SECRETS_KIND, scope, name, doc) : CL_ERR_NOMEM;
    }
    free(doc);
    free(sealed);
    buf_free(&aad);
    buf_free(&b64);
    return e;
}

cl_err secrets_store_exists(secrets_store *s, const secrets_addr *owner, const char *name) {
    if (!name_ok(name)) return CL_ERR_INVALID;
    char scope[SECRETS_ADDR_STR_LEN + 1], *doc = NULL;
    secrets_addr_format(owner, scope);
    cl_err e = store_get(s->st, SECRETS_KIND, scope, name, &doc);
    free(doc);
    return e;
}

/* Opens the sealed base64 text of an item into out (zeroised on failure). */
static cl_err open_sealed(secrets_store *s, const secrets_addr *owner, const char *name,
                          const char *sealed_b64, cl_buf *out) {
    cl_buf raw = CL_BUF_INIT, aad = CL_BUF_INIT;
    cl_err e = base64_decode(&raw, slice_cstr(sealed_b64));
    if (e == CL_OK && raw.len < CRYPTO_GCM_IV_LEN + CRYPTO_GCM_TAG_LEN) e = CL_ERR_CRYPTO;
    if (e == CL_OK) {
        size_t n = raw.len - CRYPTO_GCM_IV_LEN - CRYPTO_GCM_TAG_LEN;
        uint8_t *plain = cl_malloc(n + 1);
        seal_aad(owner, name, &aad);
        e = crypto_gcm_open(s->key, raw.ptr, buf_slice(&aad),
                            slice_sub(buf_slice(&raw), CRYPTO_GCM_IV_LEN, raw.len), plain);
        if (e == CL_OK) buf_append(out, plain, n);
        cl_cleanse(plain, n + 1);
        free(plain);
    }
    buf_free_secret(&raw);
    buf_free(&aad);
    return e == CL_ERR_INVALID ? CL_ERR_CRYPTO : e;
}

cl_err secrets_store_get(secrets_store *s, const secrets_addr *owner, const char *name,
                         cl_buf *out) {
    if (!name_ok(name)) return CL_ERR_INVALID;
    char scope[SECRETS_ADDR_STR_LEN + 1], *doc = NULL;
    secrets_addr_format(owner, scope);
    cl_err e = store_get(s->st, SECRETS_KIND, scope, name, &doc);
    if (e != CL_OK) return e;
    json_t *j = json_loads(doc, 0, NULL);
    const char *sealed = json_string_value(json_object_get(j, "Sealed"));
    e = sealed ? open_sealed(s, owner, name, sealed, out) : CL_ERR_CRYPTO;
    json_decref(j);
    free(doc);
    return e;
}
