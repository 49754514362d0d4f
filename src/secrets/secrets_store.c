/* secrets_store.c — the store of secrets: one meta-store item per (owner,
 * name, mode). Owners are Ethereum addresses (iExec SMS pushes, app developer
 * secrets under the app's address) or Cloister principals (account, principal
 * id); mode is production or debug, two separate namespaces. Items:
 *   address, production  kind "sms_secret",       scope "0x" + 40 lower-case hex
 *   address, debug       kind "sms_secret_debug", scope the same
 *   principal, production kind "secret",          scope ACCOUNT "/" PRINCIPAL
 *   principal, debug     kind "secret_debug",     scope the same
 * The value is sealed with AES-256-GCM under a node key derived from the KMS
 * root key (serve.c: kms_node_key(keys, SECRETS_NODE_KEY_PURPOSE)); the AAD
 * binds owner, name and mode, so a sealed value moved to another item does not
 * open. Production address secrets keep the first layout's AAD (label v1 ||
 * owner || name) so items stored before stay readable; every other item uses
 * label v2 || mode || owner || name. Write-once: a second put of the same
 * (owner, name, mode) fails with CL_ERR_EXISTS (store_insert, one atomic
 * statement). Also the wallet links (kind "wallet_link", scope account, name
 * principal id) and the run engine's look-ups. Values are never logged;
 * plaintext copies are zeroised. */
#include "secrets/secrets.h"

#include "crypto/crypto.h"
#include "store/store.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define AAD_V1 "cloister/secrets/sms/v1"
#define AAD_V2 "cloister/secrets/v2"
#define WALLET_KIND "wallet_link"

struct secrets_store {
    store *st;
    uint8_t key[CRYPTO_GCM_KEY_LEN];
    secrets_app_owner_fn app_owner;
    void *app_owner_ctx;
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

void secrets_set_app_owner_lookup(secrets_store *s, secrets_app_owner_fn fn, void *ctx) {
    s->app_owner = fn;
    s->app_owner_ctx = ctx;
}

cl_err secrets_app_owner(secrets_store *s, const secrets_addr *app, secrets_addr *owner) {
    if (!s->app_owner) return CL_ERR_NOT_FOUND;
    return s->app_owner(s->app_owner_ctx, app, owner);
}

static bool name_ok(const char *name) {
    return name && secrets_name_valid(slice_cstr(name));
}

static bool alnum_ok(const char *p, size_t min, size_t max, bool digits_only) {
    size_t n = p ? strlen(p) : 0;
    if (n < min || n > max) return false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        bool d = c >= '0' && c <= '9';
        bool a = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        if (!d && (digits_only || !a)) return false;
    }
    return true;
}

static bool principal_ok(const char *account, const char *principal) {
    return alnum_ok(account, 12, 12, true) && alnum_ok(principal, 1, SECRETS_PRINCIPAL_MAX, false);
}

/* Where an item lives: kind and scope (malloc'd); false for a bad owner. */
static bool locate(const secrets_owner *o, bool debug, const char **kind, char **scope) {
    if (o->addr) {
        char a[SECRETS_ADDR_STR_LEN + 1];
        secrets_addr_format(o->addr, a);
        *kind = debug ? "sms_secret_debug" : "sms_secret";
        *scope = cl_strdup(a);
        return true;
    }
    if (!principal_ok(o->account, o->principal)) return false;
    *kind = debug ? "secret_debug" : "secret";
    *scope = cl_sprintf("%s/%s", o->account, o->principal);
    return true;
}

/* v1 (address, production): label (with its NUL) || owner (20 bytes) || name.
 * v2: label || mode ("debug"/"prod", NUL) || 'A' || 20 bytes, or 'P' ||
 * account "/" principal NUL || name. */
static void seal_aad(const secrets_owner *o, const char *name, bool debug, cl_buf *aad) {
    if (o->addr && !debug) {
        buf_append(aad, AAD_V1, sizeof AAD_V1);
        buf_append(aad, o->addr->b, sizeof o->addr->b);
    } else {
        buf_append(aad, AAD_V2, sizeof AAD_V2);
        const char *mode = debug ? "debug" : "prod";
        buf_append(aad, mode, strlen(mode) + 1);
        if (o->addr) {
            buf_append_cstr(aad, "A");
            buf_append(aad, o->addr->b, sizeof o->addr->b);
        } else {
            buf_append_cstr(aad, "P");
            buf_append_cstr(aad, o->account);
            buf_append_cstr(aad, "/");
            buf_append(aad, o->principal, strlen(o->principal) + 1);
        }
    }
    buf_append_cstr(aad, name);
}

static char *sealed_doc(secrets_store *s, const secrets_owner *o, const char *name, bool debug,
                        cl_slice value) {
    size_t n = CRYPTO_GCM_IV_LEN + value.len + CRYPTO_GCM_TAG_LEN;
    uint8_t *sealed = cl_malloc(n);
    cl_buf aad = CL_BUF_INIT, b64 = CL_BUF_INIT;
    char *doc = NULL, now[21];
    crypto_random(sealed, CRYPTO_GCM_IV_LEN);
    seal_aad(o, name, debug, &aad);
    if (crypto_gcm_seal(s->key, sealed, buf_slice(&aad), value, sealed + CRYPTO_GCM_IV_LEN) ==
        CL_OK) {
        base64_encode(&b64, slice_of(sealed, n));
        time_format_iso8601(time_now(), now);
        json_t *j =
            json_pack("{s:i, s:s, s:s}", "Version", 1, "Sealed", buf_cstr(&b64), "Created", now);
        doc = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(j);
    }
    free(sealed);
    buf_free(&aad);
    buf_free(&b64);
    return doc;
}

cl_err secrets_owner_put(secrets_store *s, const secrets_owner *o, const char *name, bool debug,
                         cl_slice value) {
    if (!name_ok(name)) return CL_ERR_INVALID;
    if (!secrets_value_valid(value)) return CL_ERR_TOO_LARGE;
    const char *kind;
    char *scope = NULL;
    if (!locate(o, debug, &kind, &scope)) return CL_ERR_INVALID;
    char *doc = sealed_doc(s, o, name, debug, value);
    cl_err e = doc ? store_insert(s->st, kind, scope, name, doc) : CL_ERR_CRYPTO;
    free(doc);
    free(scope);
    return e;
}

/* The stored document of an item (malloc'd), or an error. */
static cl_err load(secrets_store *s, const secrets_owner *o, const char *name, bool debug,
                   char **doc) {
    if (!name_ok(name)) return CL_ERR_INVALID;
    const char *kind;
    char *scope = NULL;
    if (!locate(o, debug, &kind, &scope)) return CL_ERR_INVALID;
    cl_err e = store_get(s->st, kind, scope, name, doc);
    free(scope);
    return e;
}

cl_err secrets_owner_exists(secrets_store *s, const secrets_owner *o, const char *name, bool debug,
                            char created[32]) {
    char *doc = NULL;
    cl_err e = load(s, o, name, debug, &doc);
    if (e == CL_OK && created) {
        json_t *j = json_loads(doc, 0, NULL);
        const char *c = json_string_value(json_object_get(j, "Created"));
        snprintf(created, 32, "%s", c ? c : "");
        json_decref(j);
    }
    free(doc);
    return e;
}

/* Opens the sealed base64 text of an item into out (zeroised on failure). */
static cl_err open_sealed(secrets_store *s, const secrets_owner *o, const char *name, bool debug,
                          const char *sealed_b64, cl_buf *out) {
    cl_buf raw = CL_BUF_INIT, aad = CL_BUF_INIT;
    cl_err e = base64_decode(&raw, slice_cstr(sealed_b64));
    if (e == CL_OK && raw.len < CRYPTO_GCM_IV_LEN + CRYPTO_GCM_TAG_LEN) e = CL_ERR_CRYPTO;
    if (e == CL_OK) {
        size_t n = raw.len - CRYPTO_GCM_IV_LEN - CRYPTO_GCM_TAG_LEN;
        uint8_t *plain = cl_malloc(n + 1);
        seal_aad(o, name, debug, &aad);
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

cl_err secrets_owner_get(secrets_store *s, const secrets_owner *o, const char *name, bool debug,
                         cl_buf *out) {
    char *doc = NULL;
    cl_err e = load(s, o, name, debug, &doc);
    if (e != CL_OK) return e;
    json_t *j = json_loads(doc, 0, NULL);
    const char *sealed = json_string_value(json_object_get(j, "Sealed"));
    e = sealed ? open_sealed(s, o, name, debug, sealed, out) : CL_ERR_CRYPTO;
    json_decref(j);
    free(doc);
    return e;
}

cl_err secrets_owner_delete(secrets_store *s, const secrets_owner *o, const char *name,
                            bool debug) {
    if (!name_ok(name)) return CL_ERR_INVALID;
    const char *kind;
    char *scope = NULL;
    if (!locate(o, debug, &kind, &scope)) return CL_ERR_INVALID;
    cl_err e = store_delete(s->st, kind, scope, name);
    free(scope);
    return e == CL_ERR_NOT_FOUND ? CL_OK : e;
}

cl_err secrets_store_put(secrets_store *s, const secrets_addr *owner, const char *name,
                         cl_slice value) {
    return secrets_owner_put(s, &(secrets_owner){.addr = owner}, name, false, value);
}

cl_err secrets_store_exists(secrets_store *s, const secrets_addr *owner, const char *name) {
    return secrets_owner_exists(s, &(secrets_owner){.addr = owner}, name, false, NULL);
}

cl_err secrets_store_get(secrets_store *s, const secrets_addr *owner, const char *name,
                         cl_buf *out) {
    return secrets_owner_get(s, &(secrets_owner){.addr = owner}, name, false, out);
}

/* ---- wallet links ---- */

void secrets_wallet_challenge(const char *account, const char *principal, const secrets_addr *a,
                              uint8_t out[SECRETS_HASH_LEN]) {
    crypto_keccak256_ctx c;
    crypto_keccak256_init(&c);
    crypto_keccak256_update(&c, slice_cstr("cloister-wallet-link"));
    crypto_keccak256_update(&c, slice_cstr(account));
    crypto_keccak256_update(&c, slice_cstr(principal));
    crypto_keccak256_update(&c, slice_of(a->b, SECRETS_ADDR_LEN));
    crypto_keccak256_final(&c, out);
}

cl_err secrets_wallet_link(secrets_store *s, const char *account, const char *principal,
                           const secrets_addr *a) {
    if (!principal_ok(account, principal)) return CL_ERR_INVALID;
    char addr[SECRETS_ADDR_STR_LEN + 1], now[21];
    secrets_addr_format(a, addr);
    time_format_iso8601(time_now(), now);
    json_t *j = json_pack("{s:s, s:s}", "Address", addr, "Linked", now);
    char *doc = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    cl_err e = doc ? store_put(s->st, WALLET_KIND, account, principal, doc) : CL_ERR_NOMEM;
    free(doc);
    return e;
}

cl_err secrets_wallet_get(secrets_store *s, const char *account, const char *principal,
                          secrets_addr *out) {
    if (!principal_ok(account, principal)) return CL_ERR_INVALID;
    char *doc = NULL;
    cl_err e = store_get(s->st, WALLET_KIND, account, principal, &doc);
    if (e != CL_OK) return e;
    json_t *j = json_loads(doc, 0, NULL);
    const char *a = json_string_value(json_object_get(j, "Address"));
    e = a && secrets_addr_parse(slice_cstr(a), out) == CL_OK ? CL_OK : CL_ERR_INTERNAL;
    json_decref(j);
    free(doc);
    return e;
}

cl_err secrets_wallet_unlink(secrets_store *s, const char *account, const char *principal) {
    if (!principal_ok(account, principal)) return CL_ERR_INVALID;
    cl_err e = store_delete(s->st, WALLET_KIND, account, principal);
    return e == CL_ERR_NOT_FOUND ? CL_OK : e;
}

/* ---- the run engine's look-ups ---- */

cl_err secrets_for_run(secrets_store *s, const char *account, const char *principal_id,
                       const char *name, bool debug, cl_buf *out) {
    secrets_owner own = {.account = account, .principal = principal_id};
    cl_err e = secrets_owner_get(s, &own, name, debug, out);
    if (e != CL_ERR_NOT_FOUND) return e;
    secrets_addr wallet;
    e = secrets_wallet_get(s, account, principal_id, &wallet);
    if (e != CL_OK) return e;
    return secrets_owner_get(s, &(secrets_owner){.addr = &wallet}, name, debug, out);
}

cl_err secrets_app_for_run(secrets_store *s, const secrets_addr *app, bool debug, cl_buf *out) {
    return secrets_owner_get(s, &(secrets_owner){.addr = app}, "1", debug, out);
}
