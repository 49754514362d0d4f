/* kms_keys.c — key documents: creating a key (material version 1 wrapped by
 * the root key), loading and saving, resolving what a request names (key id,
 * key ARN, alias name, alias ARN), the key's state rules, material versions and
 * rotation, and KeyMetadata as DescribeKey returns it. */
#include "kms/kms_internal.h"

#include "crypto/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kms_key_free(kms_key *key) {
    json_decref(key->doc);
    json_decref(key->base);
    json_decref(key->changes);
    kms_policy_ref_release(key->pol);
    memset(key, 0, sizeof *key);
}

static const char *str(const json_t *o, const char *name) {
    return json_string_value(json_object_get(o, name));
}

static bool bind(kms_key *key) {
    key->account = str(key->doc, "AccountId");
    key->key_id = str(key->doc, "KeyId");
    key->arn = str(key->doc, "Arn");
    const char *spec = str(key->doc, "KeySpec");
    return key->account && key->key_id && key->arn && spec && kms_spec_parse(spec, &key->spec);
}

bool kms_key_load(kms *k, const char *account, const char *uuid, kms_key *out) {
    memset(out, 0, sizeof *out);
    if (kms_cache_get(k, uuid, &out->doc, &out->pol)) {
        out->shared = true;
        if (bind(out) && strcmp(out->account, account) == 0) return true;
        kms_key_free(out);
        return false;
    }
    uint64_t seq = store_write_seq(k->st);
    char *text = NULL;
    if (store_get(k->st, "kms_key", account, uuid, &text) != CL_OK) return false;
    out->doc = json_loads(text, 0, NULL);
    free(text);
    if (!out->doc || !bind(out)) {
        kms_key_free(out);
        return false;
    }
    out->pol = kms_cache_put(k, uuid, out->doc, seq);
    out->shared = true;
    return true;
}

void kms_key_own(kms_key *key) {
    if (!key->base) key->base = key->shared ? json_incref(key->doc) : json_deep_copy(key->doc);
    if (!key->shared) return;
    json_t *copy = json_deep_copy(key->doc);
    json_decref(key->doc);
    key->doc = copy;
    key->shared = false;
    bind(key);
}

static void note_change(kms_key *key, const char *name, json_t *value) {
    if (!key->changes) key->changes = json_object();
    json_object_set_new(key->changes, name, value);
}

void kms_key_set(kms_key *key, const char *name, json_t *value) {
    kms_key_own(key);
    json_object_set_new(key->doc, name, value);
    note_change(key, name, json_incref(value));
    bind(key);
}

void kms_key_del(kms_key *key, const char *name) {
    kms_key_own(key);
    json_object_del(key->doc, name);
    note_change(key, name, json_null());
}

/* Fields whose change depends on their loaded value (state rules, material
 * versions): the stored value must still be the loaded one. */
static const char *const GUARDED[] = {"KeyState", "CurrentVersion", "Material"};

static cl_err apply_changes(void *arg, const char *cur, char **next) {
    const kms_key *key = arg;
    json_t *doc = cur ? json_loads(cur, 0, NULL) : NULL;
    if (!doc) return cur ? CL_ERR_INTERNAL : CL_ERR_NOT_FOUND;
    cl_err e = CL_OK;
    for (size_t i = 0; i < sizeof GUARDED / sizeof GUARDED[0] && e == CL_OK; i++)
        if (json_object_get(key->changes, GUARDED[i]) &&
            !json_equal(json_object_get(doc, GUARDED[i]), json_object_get(key->base, GUARDED[i])))
            e = CL_ERR_CONFLICT;
    const char *name;
    json_t *v;
    json_object_foreach(key->changes, name, v) {
        if (json_is_null(v))
            json_object_del(doc, name);
        else
            json_object_set(doc, name, v);
    }
    if (e == CL_OK && !(*next = json_dumps(doc, JSON_COMPACT))) e = CL_ERR_INTERNAL;
    json_decref(doc);
    return e;
}

cl_err kms_key_save(kms *k, kms_key *key) {
    if (!key->changes) return CL_OK;
    cl_err e = store_update(k->st, "kms_key", key->account, key->key_id, apply_changes, key);
    if (e != CL_OK) return e;
    json_decref(key->base); /* saved: later changes are relative to this */
    key->base = json_deep_copy(key->doc);
    json_decref(key->changes);
    key->changes = NULL;
    return CL_OK;
}

char *kms_policy_bind(kms_call *call, const char *text) {
    char *stored = NULL, *bad = NULL;
    if (iam_policy_bind_principals(call->k->m, text, &stored, &bad) != CL_OK)
        kms_fail(call, 400, "MalformedPolicyDocumentException",
                 "Policy contains a statement with one or more invalid principals.");
    free(bad);
    return stored;
}

char *kms_default_policy(const char *account) {
    return cl_sprintf(
        "{\"Version\":\"2012-10-17\",\"Id\":\"key-default-1\",\"Statement\":[{"
        "\"Sid\":\"Enable IAM User Permissions\",\"Effect\":\"Allow\",\"Principal\":"
        "{\"AWS\":\"arn:aws:iam::%s:root\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}]}",
        account);
}

static void new_uuid(char out[KMS_KEY_ID_LEN + 1]) {
    uint8_t b[16];
    crypto_random(b, sizeof b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    char hex[33];
    hex_encode_to(hex, b, sizeof b);
    snprintf(out, KMS_KEY_ID_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
             hex + 20);
}

static cl_err add_material(kms *k, kms_key *key, uint32_t version) {
    cl_buf m = CL_BUF_INIT, w = CL_BUF_INIT, b = CL_BUF_INIT;
    cl_err e = kms_material_generate(key->spec, &m);
    if (e == CL_OK) e = kms_material_wrap(&k->root, key->arn, version, buf_slice(&m), &w);
    buf_free_secret(&m);
    if (e != CL_OK) {
        buf_free(&w);
        return e;
    }
    base64_encode(&b, buf_slice(&w));
    kms_key_own(key);
    json_t *arr = json_object_get(key->doc, "Material");
    json_array_append_new(arr,
                          json_pack("{s:i, s:s, s:f}", "Version", (json_int_t)version, "Wrapped",
                                    buf_cstr(&b), "Created", kms_epoch(time_now())));
    kms_key_set(key, "Material", json_incref(arr)); /* recorded as changed */
    kms_key_set(key, "CurrentVersion", json_integer(version));
    buf_free(&w);
    buf_free(&b);
    return CL_OK;
}

cl_err kms_key_create(kms *k, const char *account, const char *region, kms_key_spec spec,
                      const char *usage, const char *description, const char *policy,
                      const char *key_manager, kms_key *out) {
    char id[KMS_KEY_ID_LEN + 1];
    new_uuid(id);
    char *arn = cl_sprintf("arn:aws:kms:%s:%s:key/%s", region, account, id);
    char *def = policy ? NULL : kms_default_policy(account);
    memset(out, 0, sizeof *out);
    out->doc =
        json_pack("{s:s, s:s, s:s, s:s, s:f, s:s, s:s, s:s, s:s, s:s, s:s, s:[], s:b, "
                  "s:i, s:[]}",
                  "KeyId", id, "Arn", arn, "AccountId", account, "Region", region, "CreationDate",
                  kms_epoch(time_now()), "Description", description ? description : "", "KeySpec",
                  kms_spec_name(spec), "KeyUsage", usage, "KeyState", "Enabled", "KeyManager",
                  key_manager, "Policy", policy ? policy : def, "Material", "RotationEnabled", 0,
                  "RotationPeriodInDays", 365, "Tags");
    free(arn);
    free(def);
    if (!out->doc || !bind(out)) {
        kms_key_free(out);
        return CL_ERR_INTERNAL;
    }
    cl_err e = add_material(k, out, 1);
    if (e == CL_OK) e = kms_key_index_put(k, id, account);
    char *text = e == CL_OK ? json_dumps(out->doc, JSON_COMPACT) : NULL;
    if (e == CL_OK) e = text ? store_insert(k->st, "kms_key", account, id, text) : CL_ERR_INTERNAL;
    free(text);
    if (e != CL_OK) kms_key_free(out);
    return e;
}

uint32_t kms_key_current_version(const kms_key *key) {
    return (uint32_t)json_integer_value(json_object_get(key->doc, "CurrentVersion"));
}

cl_err kms_key_rotate(kms *k, kms_key *key) {
    uint32_t v = kms_key_current_version(key) + 1;
    CL_TRY(add_material(k, key, v));
    if (json_is_true(json_object_get(key->doc, "RotationEnabled"))) {
        json_int_t days = json_integer_value(json_object_get(key->doc, "RotationPeriodInDays"));
        kms_key_set(key, "NextRotationDate", json_real(kms_epoch(time_now() + days * 86400)));
    }
    return kms_key_save(k, key);
}

bool kms_key_material(kms_call *call, const kms_key *key, uint32_t version, cl_buf *out) {
    if (version == 0) version = kms_key_current_version(key);
    json_t *arr = json_object_get(key->doc, "Material"), *m;
    size_t i;
    json_array_foreach(arr, i, m) {
        if ((uint32_t)json_integer_value(json_object_get(m, "Version")) != version) continue;
        cl_buf w = CL_BUF_INIT;
        cl_err e = base64_decode(&w, slice_cstr(str(m, "Wrapped")));
        if (e == CL_OK)
            e = kms_material_unwrap(&call->k->root, key->arn, version, buf_slice(&w), out);
        buf_free(&w);
        if (e == CL_OK) return true;
        log_error("kms: material %u of %s cannot be unwrapped: %s", version, key->arn,
                  cl_err_str(e));
        return kms_fail(call, 500, "KMSInternalException", "The key material is unavailable.");
    }
    return kms_fail(call, 400, "InvalidCiphertextException",
                    "The ciphertext refers to key material that does not exist.");
}

/* ---- resolving what a request names ---- */
static bool is_uuid(const char *s) {
    if (strlen(s) != KMS_KEY_ID_LEN) return false;
    for (int i = 0; i < KMS_KEY_ID_LEN; i++) {
        char c = s[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

static bool alias_target(kms *k, const char *account, const char *alias, char uuid[37]) {
    char *text = NULL;
    if (store_get(k->st, "kms_alias", account, alias, &text) != CL_OK) return false;
    json_t *d = json_loads(text, 0, NULL);
    free(text);
    const char *t = str(d, "TargetKeyId");
    bool ok = t && strlen(t) == KMS_KEY_ID_LEN;
    if (ok) memcpy(uuid, t, KMS_KEY_ID_LEN + 1);
    json_decref(d);
    return ok;
}

bool kms_key_resolve(kms_call *call, const char *key_id, kms_key *out) {
    memset(out, 0, sizeof *out);
    const char *account = call->c->account;
    char uuid[KMS_KEY_ID_LEN + 1] = "";
    aws_arn a = {0};
    bool found = false;
    if (strncmp(key_id, "arn:", 4) == 0) {
        if (arn_parse(key_id, &a) == CL_OK && strcmp(a.service, "kms") == 0) {
            account = a.account;
            if (strncmp(a.resource, "key/", 4) == 0 && is_uuid(a.resource + 4))
                snprintf(uuid, sizeof uuid, "%s", a.resource + 4);
            else if (strncmp(a.resource, "alias/", 6) == 0)
                alias_target(call->k, account, a.resource, uuid);
        }
    } else if (strncmp(key_id, "alias/", 6) == 0) {
        alias_target(call->k, account, key_id, uuid);
    } else if (is_uuid(key_id)) {
        snprintf(uuid, sizeof uuid, "%s", key_id);
    }
    if (uuid[0] && account) found = kms_key_load(call->k, account, uuid, out);
    arn_free(&a);
    if (found) return true;
    if (strncmp(key_id, "alias/", 6) == 0 || strstr(key_id, ":alias/"))
        return kms_fail(call, 400, "NotFoundException", "Alias %.300s is not found.", key_id);
    return kms_fail(call, 400, "NotFoundException", "Key '%.300s' does not exist", key_id);
}

bool kms_key_for(kms_call *call, const char *action, kms_key *key) {
    bool bad = false;
    const char *id = kms_in_str(call, "KeyId", true, &bad);
    if (!id || !kms_key_resolve(call, id, key)) return false;
    if (kms_authorize_key(call, key, action, NULL)) return true;
    kms_key_free(key);
    return false;
}

bool kms_key_usable(kms_call *call, const kms_key *key) {
    const char *state = str(key->doc, "KeyState");
    if (strcmp(state, "Enabled") == 0) return true;
    if (strcmp(state, "Disabled") == 0)
        return kms_fail(call, 400, "DisabledException", "%s is disabled.", key->arn);
    return kms_fail(call, 400, "KMSInvalidStateException", "%s is pending deletion.", key->arn);
}

static json_t *string_array(const char *const *list) {
    json_t *a = json_array();
    for (; list && *list; list++)
        json_array_append_new(a, json_string(*list));
    return a;
}

json_t *kms_key_metadata(const kms_key *key) {
    const json_t *d = key->doc;
    const char *state = str(d, "KeyState");
    json_t *m = json_pack(
        "{s:s, s:s, s:s, s:O, s:b, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "AWSAccountId",
        key->account, "KeyId", key->key_id, "Arn", key->arn, "CreationDate",
        json_object_get(d, "CreationDate"), "Enabled", strcmp(state, "Enabled") == 0, "Description",
        str(d, "Description"), "KeyUsage", str(d, "KeyUsage"), "KeyState", state, "Origin",
        "AWS_KMS", "KeyManager", str(d, "KeyManager"), "CustomerMasterKeySpec",
        kms_spec_name(key->spec), "KeySpec", kms_spec_name(key->spec), "MultiRegion", 0);
    if (strcmp(str(d, "KeyUsage"), "SIGN_VERIFY") == 0)
        json_object_set_new(m, "SigningAlgorithms",
                            string_array(kms_spec_signing_algorithms(key->spec)));
    else
        json_object_set_new(m, "EncryptionAlgorithms",
                            string_array(kms_spec_encryption_algorithms(key->spec)));
    if (strcmp(state, "PendingDeletion") == 0) {
        json_object_set(m, "DeletionDate", json_object_get(d, "DeletionDate"));
        json_object_set(m, "PendingDeletionWindowInDays",
                        json_object_get(d, "PendingWindowInDays"));
    }
    return m;
}

cl_err kms_key_index_put(kms *k, const char *uuid, const char *account) {
    char *doc = cl_sprintf("{\"AccountId\":\"%s\"}", account);
    cl_err e = store_put(k->st, "kms_key_index", "", uuid, doc);
    free(doc);
    return e;
}

bool kms_key_index_get(kms *k, const char *uuid, char account[13]) {
    json_t *cached;
    kms_policy_ref *pol;
    if (kms_cache_get(k, uuid, &cached, &pol)) { /* a cached key knows its account */
        const char *a = str(cached, "AccountId");
        bool ok = a && strlen(a) == 12;
        if (ok) memcpy(account, a, 13);
        json_decref(cached);
        kms_policy_ref_release(pol);
        if (ok) return true;
    }
    char *text = NULL;
    if (store_get(k->st, "kms_key_index", "", uuid, &text) != CL_OK) return false;
    json_t *d = json_loads(text, 0, NULL);
    free(text);
    const char *a = str(d, "AccountId");
    bool ok = a && strlen(a) == 12;
    if (ok) memcpy(account, a, 13);
    json_decref(d);
    return ok;
}
