/* iam_store.c — identity data in the meta store: IDs and secrets, document
 * load/save, users, access keys, accounts and the first-start bootstrap. Kept
 * apart from the API files so the bootstrap, the CLI-facing account service and
 * the IAM API share one way to create an identity. */
#include "iam/iam_internal.h"

#include "crypto/crypto.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char ID_ALPHABET[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

void iam_new_id(char *out, size_t out_len, const char *prefix, size_t n_random) {
    size_t p = strlen(prefix);
    if (p + n_random + 1 > out_len) abort();
    memcpy(out, prefix, p);
    crypto_random_string(out + p, n_random, ID_ALPHABET);
}

char *iam_new_secret(void) {
    char *s = cl_malloc(41);
    crypto_random_string(s, 40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
    return s;
}

char *iam_lower(const char *s) {
    char *d = cl_strdup(s);
    for (char *p = d; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

char *iam_scope2(const char *account, const char *name) {
    char *l = iam_lower(name);
    char *s = cl_sprintf("%s/%s", account, l);
    free(l);
    return s;
}

json_t *iam_doc_get(iam *m, const char *kind, const char *scope, const char *name) {
    char *text = NULL;
    if (store_get(m->st, kind, scope, name, &text) != CL_OK) return NULL;
    json_t *doc = json_loads(text, 0, NULL);
    cl_free_secret(text);
    return doc;
}

cl_err iam_doc_put(iam *m, const char *kind, const char *scope, const char *name, json_t *doc,
                   bool insert_only) {
    char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text) return CL_ERR_INTERNAL;
    cl_err e = insert_only ? store_insert(m->st, kind, scope, name, text)
                           : store_put(m->st, kind, scope, name, text);
    cl_free_secret(text);
    return e;
}

typedef struct {
    iam_doc_fn fn;
    void *arg;
} doc_update;

static cl_err doc_update_run(void *arg, const char *cur, char **next) {
    doc_update *u = arg;
    json_t *doc = cur ? json_loads(cur, 0, NULL) : NULL;
    if (!doc) return cur ? CL_ERR_INTERNAL : CL_ERR_NOT_FOUND;
    cl_err e = u->fn(u->arg, doc);
    if (e == CL_OK) {
        *next = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
        if (!*next) e = CL_ERR_INTERNAL;
    }
    json_decref(doc);
    return e;
}

cl_err iam_doc_update(iam *m, const char *kind, const char *scope, const char *name, iam_doc_fn fn,
                      void *arg) {
    doc_update u = {fn, arg};
    return store_update(m->st, kind, scope, name, doc_update_run, &u);
}

typedef struct {
    const json_t *seen;
    const char *id_key;
    json_t *fields;
} doc_merge;

static cl_err merge_run(void *arg, json_t *doc) {
    doc_merge *d = arg;
    if (d->seen &&
        !json_equal(json_object_get(d->seen, d->id_key), json_object_get(doc, d->id_key)))
        return CL_ERR_NOT_FOUND;
    return json_object_update(doc, d->fields) == 0 ? CL_OK : CL_ERR_INTERNAL;
}

cl_err iam_doc_merge(iam *m, const char *kind, const char *scope, const char *name,
                     const json_t *seen, const char *id_key, json_t *fields) {
    doc_merge d = {seen, id_key, fields};
    cl_err e = iam_doc_update(m, kind, scope, name, merge_run, &d);
    json_decref(fields);
    return e;
}

const char *iam_str(json_t *doc, const char *key) {
    const char *s = json_string_value(json_object_get(doc, key));
    return s ? s : "";
}

const char *iam_builtin_policy(const char *arn) {
    static const struct {
        const char *arn, *doc;
    } builtins[] = {
        {IAM_ADMIN_POLICY_ARN, "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
                               "\"Action\":\"*\",\"Resource\":\"*\"}]}"},
        {"arn:aws:iam::aws:policy/IAMFullAccess",
         "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"iam:*\","
         "\"Resource\":\"*\"}]}"},
        {"arn:aws:iam::aws:policy/IAMReadOnlyAccess",
         "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"iam:Get*"
         "\",\"iam:List*\"],\"Resource\":\"*\"}]}"},
        {"arn:aws:iam::aws:policy/AmazonS3FullAccess",
         "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:*\","
         "\"Resource\":\"*\"}]}"},
        {"arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
         "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"s3:Get*\","
         "\"s3:List*\"],\"Resource\":\"*\"}]}"},
    };
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        if (strcmp(builtins[i].arn, arn) == 0) return builtins[i].doc;
    return NULL;
}

static char *now_iso(void) {
    char ts[21];
    time_format_iso8601(time_now(), ts);
    return cl_strdup(ts);
}

cl_err iam_user_create(iam *m, const char *account, const char *name, const char *path,
                       json_t **out, aws_fault *f) {
    char id[22], *ts = now_iso();
    iam_new_id(id, sizeof id, "AIDA", 17);
    char *arn = cl_sprintf("arn:aws:iam::%s:user%s%s", account, path, name);
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s}", "UserName", name, "UserId", id, "Arn", arn,
                            "Path", path, "CreateDate", ts);
    free(arn);
    free(ts);
    char *key = iam_lower(name);
    cl_err e = iam_doc_put(m, "user", account, key, doc, true);
    free(key);
    if (e == CL_ERR_EXISTS)
        aws_fault_set(f, 409, "EntityAlreadyExists", "User with name %s already exists.", name);
    else if (e != CL_OK)
        aws_fault_set(f, 500, "ServiceFailure", "could not store the user");
    if (e != CL_OK) {
        json_decref(doc);
        return e;
    }
    *out = doc;
    return CL_OK;
}

#define SEAL_AAD "cloister/iam/secret/v1"

void iam_set_secret_key(iam *m, const uint8_t key[32]) {
    memcpy(m->seal_key, key, sizeof m->seal_key);
    m->seal = true;
}

static void seal_aad(const char *id, cl_buf *aad) {
    buf_append(aad, SEAL_AAD, sizeof SEAL_AAD); /* with its NUL: the separator */
    buf_append_cstr(aad, id);
}

void iam_secret_put(iam *m, json_t *doc, const char *id, const char *secret) {
    if (!m->seal) {
        json_object_set_new(doc, "Secret", json_string(secret));
        return;
    }
    size_t n = strlen(secret);
    cl_buf aad = CL_BUF_INIT, b64 = CL_BUF_INIT;
    uint8_t *sealed = cl_malloc(CRYPTO_GCM_IV_LEN + n + CRYPTO_GCM_TAG_LEN);
    crypto_random(sealed, CRYPTO_GCM_IV_LEN);
    seal_aad(id, &aad);
    crypto_gcm_seal(m->seal_key, sealed, buf_slice(&aad), slice_of(secret, n),
                    sealed + CRYPTO_GCM_IV_LEN);
    base64_encode(&b64, slice_of(sealed, CRYPTO_GCM_IV_LEN + n + CRYPTO_GCM_TAG_LEN));
    json_object_set_new(doc, "SecretSealed", json_string(buf_cstr(&b64)));
    free(sealed);
    buf_free(&aad);
    buf_free(&b64);
}

char *iam_secret_get(iam *m, json_t *doc, const char *id) {
    const char *clear = iam_str(doc, "Secret"), *sealed = iam_str(doc, "SecretSealed");
    if (clear && *clear) return cl_strdup(clear); /* stored before sealing was on */
    if (!sealed || !m->seal) return NULL;
    cl_buf raw = CL_BUF_INIT, aad = CL_BUF_INIT;
    char *out = NULL;
    if (base64_decode(&raw, slice_cstr(sealed)) == CL_OK &&
        raw.len > CRYPTO_GCM_IV_LEN + CRYPTO_GCM_TAG_LEN) {
        size_t n = raw.len - CRYPTO_GCM_IV_LEN - CRYPTO_GCM_TAG_LEN;
        out = cl_calloc(1, n + 1);
        seal_aad(id, &aad);
        if (crypto_gcm_open(m->seal_key, raw.ptr, buf_slice(&aad),
                            slice_sub(buf_slice(&raw), CRYPTO_GCM_IV_LEN, raw.len),
                            (uint8_t *)out) != CL_OK) {
            cl_free_secret(out);
            out = NULL;
        }
    }
    buf_free_secret(&raw);
    buf_free(&aad);
    return out;
}

cl_err iam_key_create(iam *m, const char *account, const char *user, json_t **out, aws_fault *f) {
    char akid[21], *ts = now_iso(), *secret = iam_new_secret();
    iam_new_id(akid, sizeof akid, "AKIA", 16);
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s}", "AccessKeyId", akid, "Account", account,
                            "UserName", user, "Status", "Active", "CreateDate", ts);
    free(ts);
    iam_secret_put(m, doc, akid, secret);
    cl_err e = iam_doc_put(m, "access_key", "", akid, doc, true);
    /* the caller (CreateAccessKey, bootstrap) hands the secret out once */
    json_object_del(doc, "SecretSealed");
    json_object_set_new(doc, "Secret", json_string(secret));
    cl_free_secret(secret);
    if (e == CL_OK) { /* the per-user index ListAccessKeys and DeleteUser read */
        char *scope = iam_scope2(account, user);
        e = store_put(m->st, "user_key", scope, akid, "{}");
        free(scope);
    }
    if (e != CL_OK) {
        aws_fault_set(f, 500, "ServiceFailure", "could not store the access key");
        json_decref(doc);
        return e;
    }
    *out = doc;
    return CL_OK;
}

/* ---- accounts ---- */

typedef struct {
    iam *m;
    const char *name;
    iam_new_account *out;
    aws_fault *fault;
} account_txn;

static cl_err account_txn_run(store *st, void *arg) {
    (void)st;
    account_txn *t = arg;
    iam *m = t->m;
    iam_new_account *out = t->out;
    aws_fault *f = t->fault;
    char *lname = iam_lower(t->name);
    json_t *ref = json_pack("{s:s}", "AccountId", "");
    for (int tries = 0;; tries++) { /* a random 12-digit ID, retried on the rare clash */
        crypto_random_string(out->account_id, 12, "0123456789");
        if (out->account_id[0] == '0') continue;
        char *existing = NULL;
        if (store_get(m->st, "account", "", out->account_id, &existing) == CL_ERR_NOT_FOUND) break;
        free(existing);
        if (tries > 100) {
            free(lname);
            json_decref(ref);
            return CL_ERR_CONFLICT;
        }
    }
    json_object_set_new(ref, "AccountId", json_string(out->account_id));
    cl_err e = iam_doc_put(m, "account_name", "", lname, ref, true);
    json_decref(ref);
    free(lname);
    if (e == CL_ERR_EXISTS) {
        aws_fault_set(f, 409, "EntityAlreadyExists", "An account named %s already exists.",
                      t->name);
        return e;
    }
    char *ts = now_iso();
    json_t *acct = json_pack("{s:s, s:s, s:s}", "AccountId", out->account_id, "AccountName",
                             t->name, "CreateDate", ts);
    free(ts);
    e = iam_doc_put(m, "account", "", out->account_id, acct, true);
    json_decref(acct);
    CL_TRY(e);
    json_t *user = NULL, *key = NULL;
    CL_TRY(iam_user_create(m, out->account_id, "admin", "/", &user, f));
    json_decref(user);
    char *scope = iam_scope2(out->account_id, "admin");
    json_t *att = json_pack("{s:s, s:s}", "PolicyArn", IAM_ADMIN_POLICY_ARN, "PolicyName",
                            "AdministratorAccess");
    e = iam_doc_put(m, "user_attach", scope, IAM_ADMIN_POLICY_ARN, att, false);
    json_decref(att);
    free(scope);
    CL_TRY(e);
    CL_TRY(iam_key_create(m, out->account_id, "admin", &key, f));
    snprintf(out->access_key_id, sizeof out->access_key_id, "%s", iam_str(key, "AccessKeyId"));
    out->secret = cl_strdup(iam_str(key, "Secret"));
    json_decref(key);
    return CL_OK;
}

cl_err iam_create_account(iam *m, const char *name, iam_new_account *out, aws_fault *fault) {
    memset(out, 0, sizeof *out);
    account_txn t = {m, name, out, fault};
    cl_err e = store_txn(m->st, account_txn_run, &t);
    if (e != CL_OK) {
        if (!fault->code)
            aws_fault_set(fault, 500, "ServiceFailure", "could not create the account");
        cl_free_secret(out->secret);
        out->secret = NULL;
    }
    return e;
}

static cl_err load_root_account(iam *m) {
    char *text = NULL;
    cl_err e = store_get(m->st, "config", "", "root_account", &text);
    if (e != CL_OK) return e;
    snprintf(m->root_account, sizeof m->root_account, "%s", text);
    free(text);
    return CL_OK;
}

cl_err iam_open(store *st, iam **out) {
    iam *m = cl_calloc(1, sizeof *m);
    m->st = st;
    m->auth_cache = iam_auth_cache_new();
    m->policy_cache = iam_policy_cache_new();
    if (load_root_account(m) != CL_OK) m->root_account[0] = 0;
    *out = m;
    return CL_OK;
}

void iam_close(iam *m) {
    if (!m) return;
    iam_auth_cache_free(m->auth_cache);
    iam_policy_cache_free(m->policy_cache);
    cl_cleanse(m->seal_key, sizeof m->seal_key);
    free(m->s3_domain);
    free(m);
}

const char *iam_root_account(const iam *m) {
    return m->root_account[0] ? m->root_account : NULL;
}

static cl_err write_credentials(const char *path, const iam_new_account *a) {
    char *text = cl_sprintf("# Cloister: the first account (%s), user admin.\n"
                            "[cloister]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
                            a->account_id, a->access_key_id, a->secret);
    cl_err e = file_write_atomic(path, slice_cstr(text), 0600);
    cl_free_secret(text);
    return e;
}

cl_err iam_bootstrap(iam *m, const char *credentials_path, bool *created) {
    *created = false;
    if (m->root_account[0]) return CL_OK;
    iam_new_account a;
    aws_fault f = {0};
    CL_TRY(iam_create_account(m, "root", &a, &f));
    /* Credentials first, then the marker: a crash in between leaves an account
     * without the marker, and the next start makes a fresh one with a file. */
    cl_err e = write_credentials(credentials_path, &a);
    if (e == CL_OK) e = store_put(m->st, "config", "", "root_account", a.account_id);
    if (e == CL_OK) snprintf(m->root_account, sizeof m->root_account, "%s", a.account_id);
    cl_free_secret(a.secret);
    *created = e == CL_OK;
    return e;
}

/* ---- expired sessions ---- */

typedef struct {
    time_t before;
    cl_kvlist expired; /* names to delete once the listing is done */
} gc_ctx;

static bool gc_collect(void *arg, const char *name, const char *text) {
    gc_ctx *g = arg;
    json_t *d = json_loads(text, 0, NULL);
    time_t exp = 0;
    if (!d || time_parse_iso8601(slice_cstr(iam_str(d, "Expiration")), &exp) != CL_OK ||
        exp < g->before)
        kvlist_add(&g->expired, name, "");
    json_decref(d);
    return true;
}

cl_err iam_gc_sessions(iam *m, time_t before, size_t *removed) {
    gc_ctx g = {before, CL_KVLIST_INIT};
    cl_err e = store_list(m->st, "session", "", NULL, NULL, 0, gc_collect, &g, NULL);
    size_t n = 0;
    for (size_t i = 0; e == CL_OK && i < g.expired.len; i++)
        if (store_delete(m->st, "session", "", g.expired.items[i].key) == CL_OK) n++;
    kvlist_free(&g.expired);
    if (removed) *removed = n;
    return e;
}
