/* kms_ops_admin.c — what names and governs keys: aliases (CreateAlias,
 * ListAliases, DeleteAlias, UpdateAlias), key policies (PutKeyPolicy with the
 * lockout safety check, GetKeyPolicy, ListKeyPolicies) and grants
 * (CreateGrant, ListGrants, RetireGrant, RevokeGrant, and the check that lets
 * a grant allow an operation the policies do not). */
#include "kms/kms_internal.h"

#include "crypto/crypto.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str(const json_t *o, const char *name) {
    return json_string_value(json_object_get(o, name));
}

/* ---- aliases ---- */
static bool alias_name_ok(kms_call *call, const char *name, bool allow_aws) {
    size_t n = strlen(name);
    if (strncmp(name, "alias/", 6) != 0 || n < 7 || n > 256)
        return kms_fail(call, 400, "ValidationException",
                        "Alias must start with the prefix \"alias/\" and be 7 to 256 characters.");
    for (const char *p = name + 6; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("/_-", *p))
            return kms_fail(call, 400, "ValidationException",
                            "Alias names may contain only alphanumerics, '/', '_' and '-'.");
    if (!allow_aws && strncmp(name, "alias/aws/", 10) == 0)
        return kms_fail(call, 400, "NotAuthorizedException",
                        "Aliases beginning with alias/aws/ are reserved for AWS managed keys.");
    return true;
}

static char *alias_arn(const kms_call *call, const char *name) {
    return cl_sprintf("arn:aws:kms:%s:%s:%s", call->c->region ? call->c->region : "us-east-1",
                      call->c->account, name);
}

/* The target key of an alias parameter, authorized for action. */
static bool target_key(kms_call *call, const char *param, const char *action, kms_key *key) {
    bool bad = false;
    const char *id = kms_in_str(call, param, true, &bad);
    if (!id || !kms_key_resolve(call, id, key)) return false;
    /* a key of another account: refused by kms_authorize_key's same-account table */
    if (kms_authorize_key(call, key, action, NULL)) return true;
    kms_key_free(key);
    return false;
}

cl_err kms_alias_write(kms *k, const char *account, const char *name, const char *arn,
                       const char *target, double created, bool replace) {
    double now = kms_epoch(time_now());
    json_t *d =
        json_pack("{s:s, s:s, s:s, s:f, s:f}", "AliasName", name, "AliasArn", arn, "TargetKeyId",
                  target, "CreationDate", created ? created : now, "LastUpdatedDate", now);
    char *text = json_dumps(d, JSON_COMPACT);
    cl_err e = replace ? store_put(k->st, "kms_alias", account, name, text)
                       : store_insert(k->st, "kms_alias", account, name, text);
    free(text);
    json_decref(d);
    return e;
}

bool kms_op_create_alias(kms_call *call) {
    bool bad = false;
    const char *name = kms_in_str(call, "AliasName", true, &bad);
    kms_key key;
    if (!name || !alias_name_ok(call, name, false) ||
        !target_key(call, "TargetKeyId", "kms:CreateAlias", &key))
        return false;
    char *arn = alias_arn(call, name);
    cl_err e = kms_alias_write(call->k, call->c->account, name, arn, key.key_id, 0, false);
    if (e == CL_ERR_EXISTS)
        kms_fail(call, 400, "AlreadyExistsException", "An alias with the name %s already exists",
                 arn);
    free(arn);
    kms_key_free(&key);
    return e == CL_OK;
}

typedef struct {
    json_t *list;
    const char *only_key;
} alias_list;

static bool alias_one(void *arg, const char *name, const char *doc) {
    (void)name;
    alias_list *l = arg;
    json_t *d = json_loads(doc, 0, NULL);
    if (d && (!l->only_key || strcmp(str(d, "TargetKeyId"), l->only_key) == 0))
        json_array_append(l->list, d);
    json_decref(d);
    return true;
}

bool kms_op_list_aliases(kms_call *call) {
    bool bad = false;
    const char *id = kms_in_str(call, "KeyId", false, &bad);
    const char *marker = kms_in_str(call, "Marker", false, &bad);
    if (bad) return false;
    json_t *lim = json_object_get(call->in, "Limit");
    size_t limit = lim ? (size_t)json_integer_value(lim) : 100;
    if (limit < 1 || limit > 1000) return kms_invalid(call, "Limit must be between 1 and 1000");
    kms_key key = {0};
    if (id && !kms_key_resolve(call, id, &key)) return false;
    if (!kms_authorize_account(call, "kms:ListAliases", NULL)) {
        kms_key_free(&key);
        return false;
    }
    alias_list l = {.list = json_array(), .only_key = id ? key.key_id : NULL};
    bool more = false;
    store_list(call->k->st, "kms_alias", call->c->account, NULL, marker, limit, alias_one, &l,
               &more);
    call->out = json_pack("{s:o, s:b}", "Aliases", l.list, "Truncated", more);
    if (more && json_array_size(l.list))
        json_object_set(
            call->out, "NextMarker",
            json_object_get(json_array_get(l.list, json_array_size(l.list) - 1), "AliasName"));
    kms_key_free(&key);
    return true;
}

/* Loads an existing alias of the caller's account. */
static json_t *alias_get(kms_call *call, const char *name) {
    char *text = NULL;
    if (store_get(call->k->st, "kms_alias", call->c->account, name, &text) != CL_OK) {
        char *arn = alias_arn(call, name);
        kms_fail(call, 400, "NotFoundException", "Alias %s is not found.", arn);
        free(arn);
        return NULL;
    }
    json_t *d = json_loads(text, 0, NULL);
    free(text);
    return d;
}

bool kms_op_delete_alias(kms_call *call) {
    bool bad = false;
    const char *name = kms_in_str(call, "AliasName", true, &bad);
    if (!name || !alias_name_ok(call, name, false)) return false;
    json_t *a = alias_get(call, name);
    if (!a) return false;
    kms_key key;
    char account[13];
    bool ok = kms_key_index_get(call->k, str(a, "TargetKeyId"), account) &&
              kms_key_load(call->k, account, str(a, "TargetKeyId"), &key);
    if (ok) {
        ok = kms_authorize_key(call, &key, "kms:DeleteAlias", NULL);
        kms_key_free(&key);
    } else { /* an alias whose key was deleted can always be removed by its account */
        ok = true;
    }
    if (ok) ok = store_delete(call->k->st, "kms_alias", call->c->account, name) == CL_OK;
    json_decref(a);
    return ok;
}

bool kms_op_update_alias(kms_call *call) {
    bool bad = false;
    const char *name = kms_in_str(call, "AliasName", true, &bad);
    if (!name || !alias_name_ok(call, name, false)) return false;
    json_t *a = alias_get(call, name);
    kms_key key;
    if (!a || !target_key(call, "TargetKeyId", "kms:UpdateAlias", &key)) {
        json_decref(a);
        return false;
    }
    bool ok = kms_alias_write(call->k, call->c->account, name, str(a, "AliasArn"), key.key_id,
                              json_number_value(json_object_get(a, "CreationDate")), true) == CL_OK;
    kms_key_free(&key);
    json_decref(a);
    return ok;
}

/* ---- key policies ---- */
static bool policy_name(kms_call *call) {
    bool bad = false;
    const char *n = kms_in_str(call, "PolicyName", false, &bad);
    if (bad) return false;
    if (n && strcmp(n, "default") != 0)
        return kms_fail(call, 400, "NotFoundException", "No such policy exists: %.64s", n);
    return true;
}

bool kms_op_put_key_policy(kms_call *call) {
    bool bad = false;
    const char *text = kms_in_str(call, "Policy", true, &bad);
    kms_key key;
    if (!text || !policy_name(call) || !kms_key_for(call, "kms:PutKeyPolicy", &key)) return false;
    bool ok = kms_policy_valid(call, text);
    if (ok && !json_is_true(json_object_get(call->in, "BypassPolicyLockoutSafetyCheck")) &&
        !kms_policy_keeps_caller(call, &key, text))
        ok = kms_fail(call, 400, "MalformedPolicyDocumentException",
                      "The new key policy will not allow you to update the key policy in the "
                      "future.");
    char *stored = ok ? kms_policy_bind(call, text) : NULL;
    if (stored) {
        kms_key_set(&key, "Policy", json_string(stored));
        ok = kms_key_save(call->k, &key) == CL_OK;
    } else {
        ok = false;
    }
    free(stored);
    kms_key_free(&key);
    return ok;
}

bool kms_op_get_key_policy(kms_call *call) {
    kms_key key;
    if (!policy_name(call) || !kms_key_for(call, "kms:GetKeyPolicy", &key)) return false;
    char *shown = iam_policy_render_principals(call->k->m, str(key.doc, "Policy"));
    call->out = json_pack("{s:s, s:s}", "Policy", shown ? shown : "", "PolicyName", "default");
    free(shown);
    kms_key_free(&key);
    return true;
}

bool kms_op_list_key_policies(kms_call *call) {
    kms_key key;
    if (!kms_key_for(call, "kms:ListKeyPolicies", &key)) return false;
    call->out = json_pack("{s:[s], s:b}", "PolicyNames", "default", "Truncated", 0);
    kms_key_free(&key);
    return true;
}

/* ---- grants ---- */
static const char *const GRANT_OPS[] = {"Decrypt",
                                        "Encrypt",
                                        "GenerateDataKey",
                                        "GenerateDataKeyWithoutPlaintext",
                                        "ReEncryptFrom",
                                        "ReEncryptTo",
                                        "Sign",
                                        "Verify",
                                        "GetPublicKey",
                                        "CreateGrant",
                                        "RetireGrant",
                                        "DescribeKey",
                                        "GenerateDataKeyPair",
                                        "GenerateDataKeyPairWithoutPlaintext",
                                        "GenerateMac",
                                        "VerifyMac",
                                        NULL};

static bool grant_op_known(const char *op) {
    for (const char *const *p = GRANT_OPS; *p; p++)
        if (strcmp(*p, op) == 0) return true;
    return false;
}

static char *grant_scope(const kms_key *key) {
    return cl_sprintf("%s/%s", key->account, key->key_id);
}

static bool principal_is(const iam_caller *c, const char *who) {
    if (!who || !c->arn) return false;
    if (strcmp(who, c->arn) == 0) return true;
    if (c->role_arn && strcmp(who, c->role_arn) == 0) return true;
    char root[40];
    snprintf(root, sizeof root, "arn:aws:iam::%s:root", c->account ? c->account : "");
    return strcmp(who, root) == 0 && c->p.type == PRINCIPAL_ROOT;
}

static bool constraints_hold(const json_t *cons, const json_t *ctx) {
    const json_t *sub = json_object_get(cons, "EncryptionContextSubset");
    const json_t *eq = json_object_get(cons, "EncryptionContextEquals");
    const char *k;
    json_t *v;
    if (eq) {
        if (json_object_size(eq) != (ctx ? json_object_size(ctx) : 0)) return false;
        sub = eq;
    }
    json_object_foreach((json_t *)sub, k, v) {
        const char *have = ctx ? json_string_value(json_object_get(ctx, k)) : NULL;
        if (!have || strcmp(have, json_string_value(v)) != 0) return false;
    }
    return true;
}

typedef struct {
    const iam_caller *c;
    const char *op;
    const json_t *ctx;
    bool allowed;
} grant_check;

static bool grant_one(void *arg, const char *name, const char *doc) {
    (void)name;
    grant_check *g = arg;
    json_t *d = json_loads(doc, 0, NULL), *op;
    size_t i;
    if (d && principal_is(g->c, str(d, "GranteePrincipal")) &&
        constraints_hold(json_object_get(d, "Constraints"), g->ctx)) {
        json_array_foreach(json_object_get(d, "Operations"), i, op) {
            if (strcmp(json_string_value(op), g->op) == 0) g->allowed = true;
        }
    }
    json_decref(d);
    return !g->allowed;
}

bool kms_grant_allows(kms_call *call, const kms_key *key, const char *op, const json_t *ctx) {
    grant_check g = {.c = call->c, .op = op, .ctx = ctx};
    char *scope = grant_scope(key);
    store_list(call->k->st, "kms_grant", scope, NULL, NULL, 0, grant_one, &g, NULL);
    free(scope);
    return g.allowed;
}

static bool grant_constraints(kms_call *call, json_t **out) {
    json_t *c = json_object_get(call->in, "Constraints");
    *out = NULL;
    if (!c || json_is_null(c)) return true;
    const char *k;
    json_t *v;
    json_object_foreach(c, k, v) {
        if (strcmp(k, "EncryptionContextSubset") != 0 && strcmp(k, "EncryptionContextEquals") != 0)
            return kms_invalid(call, "Unknown grant constraint %.64s", k);
        const char *kk;
        json_t *vv;
        if (!json_is_object(v)) return kms_invalid(call, "%s must be a map", k);
        json_object_foreach(v, kk, vv) {
            if (!json_is_string(vv)) return kms_invalid(call, "%s values must be strings", k);
        }
    }
    *out = c;
    return true;
}

bool kms_op_create_grant(kms_call *call) {
    bool bad = false;
    const char *grantee = kms_in_str(call, "GranteePrincipal", true, &bad);
    const char *retiring = kms_in_str(call, "RetiringPrincipal", false, &bad);
    const char *name = kms_in_str(call, "Name", false, &bad);
    json_t *ops = json_object_get(call->in, "Operations"), *op, *cons;
    size_t i;
    if (bad || !grant_constraints(call, &cons)) return false;
    if (strncmp(grantee, "arn:aws:", 8) != 0)
        return kms_invalid(call, "GranteePrincipal must be the ARN of an AWS principal");
    if (!json_is_array(ops) || json_array_size(ops) == 0)
        return kms_invalid(call, "Operations must list at least one operation");
    json_array_foreach(ops, i, op) {
        if (!json_is_string(op) || !grant_op_known(json_string_value(op)))
            return kms_invalid(call, "Operations: %.64s is not a grant operation",
                               json_is_string(op) ? json_string_value(op) : "(not a string)");
    }
    kms_key key;
    if (!kms_key_for(call, "kms:CreateGrant", &key)) return false;
    if (strcmp(str(key.doc, "KeyState"), "PendingDeletion") == 0) {
        kms_fail(call, 400, "KMSInvalidStateException", "%s is pending deletion.", key.arn);
        kms_key_free(&key);
        return false;
    }
    /* The token names its key (ACCOUNT/UUID/random) so RetireGrant can find
     * the grant from the token alone; base64 like AWS's opaque tokens. */
    uint8_t rnd[32], tok[24];
    char id[65], tok_hex[49];
    crypto_random(rnd, sizeof rnd);
    crypto_random(tok, sizeof tok);
    hex_encode_to(id, rnd, sizeof rnd);
    hex_encode_to(tok_hex, tok, sizeof tok);
    char *raw_token = cl_sprintf("%s/%s/%s", key.account, key.key_id, tok_hex);
    cl_buf token = CL_BUF_INIT;
    base64_encode(&token, slice_cstr(raw_token));
    free(raw_token);
    char root[40];
    snprintf(root, sizeof root, "arn:aws:iam::%s:root", call->c->account);
    json_t *g = json_pack("{s:s, s:s, s:s, s:O, s:s, s:f, s:s}", "GrantId", id, "KeyId", key.arn,
                          "GranteePrincipal", grantee, "Operations", ops, "IssuingAccount", root,
                          "CreationDate", kms_epoch(time_now()), "GrantToken", buf_cstr(&token));
    if (retiring) json_object_set_new(g, "RetiringPrincipal", json_string(retiring));
    if (name) json_object_set_new(g, "Name", json_string(name));
    if (cons) json_object_set(g, "Constraints", cons);
    char *text = json_dumps(g, JSON_COMPACT), *scope = grant_scope(&key);
    bool ok = store_insert(call->k->st, "kms_grant", scope, id, text) == CL_OK;
    if (ok) call->out = json_pack("{s:s, s:s}", "GrantId", id, "GrantToken", buf_cstr(&token));
    free(text);
    free(scope);
    json_decref(g);
    buf_free(&token);
    kms_key_free(&key);
    return ok;
}

typedef struct {
    json_t *list;
    const char *grant_id, *grantee;
} grant_list;

static bool list_grant(void *arg, const char *name, const char *doc) {
    grant_list *l = arg;
    json_t *d = json_loads(doc, 0, NULL);
    if (d && (!l->grant_id || strcmp(name, l->grant_id) == 0) &&
        (!l->grantee || strcmp(str(d, "GranteePrincipal"), l->grantee) == 0)) {
        json_object_del(d, "GrantToken");
        json_array_append(l->list, d);
    }
    json_decref(d);
    return true;
}

bool kms_op_list_grants(kms_call *call) {
    bool bad = false;
    const char *gid = kms_in_str(call, "GrantId", false, &bad);
    const char *grantee = kms_in_str(call, "GranteePrincipal", false, &bad);
    kms_key key;
    if (bad || !kms_key_for(call, "kms:ListGrants", &key)) return false;
    grant_list l = {.list = json_array(), .grant_id = gid, .grantee = grantee};
    char *scope = grant_scope(&key);
    store_list(call->k->st, "kms_grant", scope, NULL, NULL, 0, list_grant, &l, NULL);
    free(scope);
    call->out = json_pack("{s:o, s:b}", "Grants", l.list, "Truncated", 0);
    kms_key_free(&key);
    return true;
}

typedef struct {
    const char *token;
    char id[65];
} token_find;

static bool find_token(void *arg, const char *name, const char *doc) {
    token_find *t = arg;
    json_t *d = json_loads(doc, 0, NULL);
    const char *tok = str(d, "GrantToken");
    bool hit = tok && strlen(tok) == strlen(t->token) && cl_ct_eq(tok, t->token, strlen(tok));
    if (hit) snprintf(t->id, sizeof t->id, "%s", name);
    json_decref(d);
    return !hit;
}

/* The key a grant token names (see kms_op_create_grant). */
static bool token_key(kms_call *call, const char *token, kms_key *key) {
    cl_buf raw = CL_BUF_INIT;
    char account[13] = "", uuid[KMS_KEY_ID_LEN + 1] = "";
    bool ok = base64_decode(&raw, slice_cstr(token)) == CL_OK && raw.len > 50 &&
              raw.ptr[12] == '/' && raw.ptr[49] == '/';
    if (ok) {
        memcpy(account, raw.ptr, 12);
        memcpy(uuid, raw.ptr + 13, KMS_KEY_ID_LEN);
        ok = !memchr(account, 0, 12) && !memchr(uuid, 0, KMS_KEY_ID_LEN) &&
             kms_key_load(call->k, account, uuid, key);
    }
    buf_free(&raw);
    return ok || kms_fail(call, 400, "InvalidGrantTokenException", "The grant token is not valid.");
}

static bool grant_has_op(const json_t *g, const char *want) {
    size_t i;
    json_t *op;
    json_array_foreach(json_object_get(g, "Operations"), i, op) {
        if (json_is_string(op) && strcmp(json_string_value(op), want) == 0) return true;
    }
    return false;
}

/* Who may retire grant g (AWS, RetireGrant and "Retiring and revoking
 * grants"): its retiring principal; its grantee principal if the grant itself
 * includes RetireGrant; and the account in which the grant was created — its
 * root user, or a principal of that account to whom an IAM policy delegates
 * kms:RetireGrant on the key (key policies and grants do not give it: "the
 * kms:RetireGrant permission alone does not allow principals to retire a
 * grant"). Anyone else, whatever the key policy says: AccessDeniedException. */
static bool may_retire(kms_call *call, const kms_key *key, const json_t *g) {
    const iam_caller *c = call->c;
    if (principal_is(c, str(g, "RetiringPrincipal"))) return true;
    if (principal_is(c, str(g, "GranteePrincipal")) && grant_has_op(g, "RetireGrant")) return true;
    char root[40];
    snprintf(root, sizeof root, "arn:aws:iam::%s:root", c->account ? c->account : "");
    if (!c->account || strcmp(str(g, "IssuingAccount"), root) != 0) return false;
    if (c->p.type == PRINCIPAL_ROOT) return true;
    aws_fault f = {0};
    iam_authz a = {
        .action = "kms:RetireGrant", .resource = key->arn, .resource_account = c->account};
    return iam_authorize(call->k->m, c, call->req, &a, &f) == POLICY_ALLOW;
}

bool kms_op_retire_grant(kms_call *call) {
    bool bad = false;
    const char *token = kms_in_str(call, "GrantToken", false, &bad);
    const char *gid = kms_in_str(call, "GrantId", false, &bad);
    const char *kid = kms_in_str(call, "KeyId", false, &bad);
    if (bad) return false;
    if (!token && !(gid && kid)) return kms_invalid(call, "Give GrantToken, or KeyId and GrantId");
    kms_key key;
    if (token ? !token_key(call, token, &key) : !kms_key_resolve(call, kid, &key)) return false;
    char *scope = grant_scope(&key), *text = NULL;
    token_find t = {.token = token};
    if (token) store_list(call->k->st, "kms_grant", scope, NULL, NULL, 0, find_token, &t, NULL);
    const char *id = token ? t.id : gid;
    bool ok = id[0] && store_get(call->k->st, "kms_grant", scope, id, &text) == CL_OK;
    if (!ok) {
        kms_fail(call, 400, token ? "InvalidGrantTokenException" : "NotFoundException",
                 "Grant not found.");
    } else {
        json_t *g = json_loads(text, 0, NULL);
        bool may = may_retire(call, &key, g);
        json_decref(g);
        ok = may ? store_delete(call->k->st, "kms_grant", scope, id) == CL_OK
                 : kms_fail(call, 400, "AccessDeniedException",
                            "User: %s is not authorized to retire grant %s", call->c->arn, id);
    }
    free(text);
    free(scope);
    kms_key_free(&key);
    return ok;
}

bool kms_op_revoke_grant(kms_call *call) {
    bool bad = false;
    const char *gid = kms_in_str(call, "GrantId", true, &bad);
    kms_key key;
    if (!gid || !kms_key_for(call, "kms:RevokeGrant", &key)) return false;
    char *scope = grant_scope(&key);
    cl_err e = store_delete(call->k->st, "kms_grant", scope, gid);
    if (e != CL_OK) kms_fail(call, 400, "NotFoundException", "Grant %.80s not found.", gid);
    free(scope);
    kms_key_free(&key);
    return e == CL_OK;
}
