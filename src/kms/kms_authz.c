/* kms_authz.c — how KMS decides, through the one policy engine: the key policy
 * is the resource policy and must allow (policy_eval's rule 7: directly, or by
 * delegating to the account root, in which case IAM policies must allow too);
 * grants add what an implicit deny lacks; explicit denies win. The request's
 * KMS condition keys are added here (policy_keys.c lists them): kms:KeySpec,
 * kms:KeyUsage, kms:KeyOrigin, kms:EncryptionAlgorithm, kms:SigningAlgorithm,
 * kms:BypassPolicyLockoutSafetyCheck, kms:ScheduleKeyDeletionPendingWindowInDays,
 * kms:RotationPeriodInDays, the grant keys of CreateGrant, kms:RequestAlias,
 * kms:CallerAccount, kms:ViaService,
 * kms:EncryptionContext:<key>, kms:EncryptionContextKeys and, for a verified
 * Recipient, kms:RecipientAttestation:ImageSha384 (PCR0, as Nitro Enclaves
 * defines it) and kms:RecipientAttestation:PCR0..PCR15. Operations AWS marks
 * "Cross-account use: No" are refused to other accounts first, whatever the
 * policies say (SAME_ACCOUNT_ONLY). */
#include "kms/kms_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A request parameter as condition-key text (strings, integers, booleans). */
static void add_param(policy_ctx *ctx, const kms_call *call, const char *param, const char *key,
                      const char *def) {
    json_t *v = json_object_get(call->in, param);
    char tmp[32];
    const char *t = json_is_string(v)    ? json_string_value(v)
                    : json_is_boolean(v) ? (json_is_true(v) ? "true" : "false")
                                         : NULL;
    if (json_is_integer(v))
        snprintf(tmp, sizeof tmp, "%" JSON_INTEGER_FORMAT, json_integer_value(v)), t = tmp;
    policy_ctx_add(ctx, key, t ? t : def);
}

static bool is_action(const char *action, const char *const *list) {
    for (int i = 0; list[i]; i++)
        if (strcmp(action, list[i]) == 0) return true;
    return false;
}

static const char *const ENC_ALG_OPS[] = {"kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey",
                                          "kms:GenerateDataKeyWithoutPlaintext", NULL};
static const char *const GRANT_OPS[] = {"kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant",
                                        NULL};

/* The key's own properties (kms:KeySpec, KeyUsage, KeyOrigin), from the key,
 * or for CreateKey from the request with AWS's defaults. */
static void add_key_props(policy_ctx *ctx, const kms_call *call, const kms_key *key,
                          const char *action) {
    if (key) {
        policy_ctx_add(ctx, "kms:KeySpec", kms_spec_name(key->spec));
        policy_ctx_add(ctx, "kms:KeyUsage",
                       json_string_value(json_object_get(key->doc, "KeyUsage")));
        policy_ctx_add(ctx, "kms:KeyOrigin", "AWS_KMS");
    } else if (strcmp(action, "kms:CreateKey") == 0) {
        const char *spec = json_string_value(json_object_get(call->in, "KeySpec"));
        if (!spec) spec = json_string_value(json_object_get(call->in, "CustomerMasterKeySpec"));
        policy_ctx_add(ctx, "kms:KeySpec", spec ? spec : "SYMMETRIC_DEFAULT");
        add_param(ctx, call, "KeyUsage", "kms:KeyUsage", "ENCRYPT_DECRYPT");
        add_param(ctx, call, "Origin", "kms:KeyOrigin", "AWS_KMS");
    }
}

/* kms:RequestAlias: the alias the request named the key by. */
static void add_alias(policy_ctx *ctx, const kms_call *call, const char *action) {
    const char *param = strcmp(action, "kms:ReEncryptFrom") == 0 ? "SourceKeyId"
                        : strcmp(action, "kms:ReEncryptTo") == 0 ? "DestinationKeyId"
                                                                 : "KeyId";
    const char *id = json_string_value(json_object_get(call->in, param));
    const char *alias = id ? strstr(id, "alias/") : NULL;
    if (alias && (alias == id || strncmp(id, "arn:", 4) == 0))
        policy_ctx_add(ctx, "kms:RequestAlias", alias);
}

/* The request keys of AWS's service authorization reference for KMS, for the
 * operations implemented here. */
static void add_request_params(policy_ctx *ctx, const kms_call *call, const char *action) {
    if (is_action(action, ENC_ALG_OPS))
        add_param(ctx, call, "EncryptionAlgorithm", "kms:EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
    else if (strcmp(action, "kms:ReEncryptFrom") == 0)
        add_param(ctx, call, "SourceEncryptionAlgorithm", "kms:EncryptionAlgorithm",
                  "SYMMETRIC_DEFAULT");
    else if (strcmp(action, "kms:ReEncryptTo") == 0)
        add_param(ctx, call, "DestinationEncryptionAlgorithm", "kms:EncryptionAlgorithm",
                  "SYMMETRIC_DEFAULT");
    if (strcmp(action, "kms:Sign") == 0 || strcmp(action, "kms:Verify") == 0)
        add_param(ctx, call, "SigningAlgorithm", "kms:SigningAlgorithm", NULL);
    if (strcmp(action, "kms:CreateKey") == 0 || strcmp(action, "kms:PutKeyPolicy") == 0)
        add_param(ctx, call, "BypassPolicyLockoutSafetyCheck", "kms:BypassPolicyLockoutSafetyCheck",
                  "false");
    if (strcmp(action, "kms:ScheduleKeyDeletion") == 0)
        add_param(ctx, call, "PendingWindowInDays", "kms:ScheduleKeyDeletionPendingWindowInDays",
                  "30");
    if (strcmp(action, "kms:EnableKeyRotation") == 0)
        add_param(ctx, call, "RotationPeriodInDays", "kms:RotationPeriodInDays", NULL);
    if (is_action(action, GRANT_OPS)) policy_ctx_add(ctx, "kms:GrantIsForAWSResource", "false");
    if (strcmp(action, "kms:CreateGrant") == 0) {
        add_param(ctx, call, "GranteePrincipal", "kms:GranteePrincipal", NULL);
        add_param(ctx, call, "RetiringPrincipal", "kms:RetiringPrincipal", NULL);
        json_t *ops = json_object_get(call->in, "Operations"), *v;
        size_t i;
        json_array_foreach(ops, i, v)
            policy_ctx_add(ctx, "kms:GrantOperations", json_string_value(v));
        const char *k;
        json_object_foreach(json_object_get(call->in, "Constraints"), k, v)
            policy_ctx_add(ctx, "kms:GrantConstraintType", k);
    }
}

static void add_keys(policy_ctx *ctx, const kms_call *call, const kms_key *key, const char *action,
                     const kms_authz_extra *x) {
    add_key_props(ctx, call, key, action);
    add_request_params(ctx, call, action);
    add_alias(ctx, call, action);
    if (call->c->account) policy_ctx_add(ctx, "kms:CallerAccount", call->c->account);
    if (call->via_service) policy_ctx_add(ctx, "kms:ViaService", call->via_service);
    if (x && x->context) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)x->context, k, v) {
            char *name = cl_sprintf("kms:EncryptionContext:%s", k);
            policy_ctx_add(ctx, name, json_string_value(v));
            policy_ctx_add(ctx, "kms:EncryptionContextKeys", k);
            free(name);
        }
    }
    if (x && x->recipient) {
        char hex[ATTEST_PCR_LEN * 2 + 1];
        if (attest_pcr_hex(x->recipient, 0, hex))
            policy_ctx_add(ctx, "kms:RecipientAttestation:ImageSha384", hex);
        for (int i = 0; i < ATTEST_PCR_COUNT; i++) {
            if (!attest_pcr_hex(x->recipient, i, hex)) continue;
            char name[48];
            snprintf(name, sizeof name, "kms:RecipientAttestation:PCR%d", i);
            policy_ctx_add(ctx, name, hex);
        }
    }
}

static policy *key_policy(const kms_key *key, const char *text) {
    policy *p = NULL;
    char err[256];
    if (!text) text = json_string_value(json_object_get(key->doc, "Policy"));
    if (!text || policy_parse(slice_cstr(text), POLICY_RESOURCE, &p, err, sizeof err) != CL_OK) {
        log_warn("kms: the policy of %s does not parse: %s", key->arn, err);
        return NULL; /* grants nothing */
    }
    return p;
}

static policy_decision decide(kms_call *call, const kms_key *key, const char *policy_text,
                              const char *action, const kms_authz_extra *x, aws_fault *f) {
    /* the cached parse of the key's own policy, else parse (a new policy, or no cache) */
    const policy *cached = policy_text ? NULL : kms_policy_ref_get(key->pol);
    policy *own = cached ? NULL : key_policy(key, policy_text);
    const policy *p = cached ? cached : own;
    policy_ctx *ctx = policy_ctx_new();
    add_keys(ctx, call, key, action, x);
    iam_authz a = {.action = action,
                   .resource = key->arn,
                   .resource_account = key->account,
                   .resource_policy = p,
                   .ctx = ctx};
    policy_decision d = POLICY_DENY_IMPLICIT;
    if (p) d = iam_authorize(call->k->m, call->c, call->req, &a, f);
    policy_ctx_free(ctx);
    policy_free(own);
    return d;
}

/* Key operations AWS's KMS API reference marks "Cross-account use: No": only
 * principals of the key's own account may call them, whatever the key policy
 * or a grant says (the developer guide: granting them to another account "has
 * no effect"). Everything else on a key (Encrypt, Decrypt, ReEncrypt*,
 * GenerateDataKey*, Sign, Verify, GetPublicKey, DescribeKey, CreateGrant,
 * ListGrants, RetireGrant, RevokeGrant, GetKeyRotationStatus) is
 * cross-account. Operations without a key (CreateKey, ListKeys, ListAliases,
 * GenerateRandom) act on the caller's account only (kms_authorize_account). */
static const char *const SAME_ACCOUNT_ONLY[] = {
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:UpdateAlias",
    "kms:EnableKey",
    "kms:DisableKey",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:UpdateKeyDescription",
    "kms:PutKeyPolicy",
    "kms:GetKeyPolicy",
    "kms:ListKeyPolicies",
    "kms:EnableKeyRotation",
    "kms:DisableKeyRotation",
    "kms:RotateKeyOnDemand",
    "kms:ListKeyRotations",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ListResourceTags",
    "kms:ImportKeyMaterial",
    "kms:DeleteImportedKeyMaterial",
    "kms:GetParametersForImport",
    "kms:ReplicateKey",
    "kms:UpdatePrimaryRegion",
    NULL,
};

bool kms_action_same_account_only(const char *action) {
    for (const char *const *p = SAME_ACCOUNT_ONLY; *p; p++)
        if (strcmp(*p, action) == 0) return true;
    return false;
}

bool kms_authorize_key(kms_call *call, const kms_key *key, const char *action,
                       const kms_authz_extra *x) {
    aws_fault f = {0};
    if (kms_action_same_account_only(action) &&
        (!call->c->account || strcmp(call->c->account, key->account) != 0))
        return kms_fail(call, 400, "AccessDeniedException",
                        "User: %s is not authorized to perform: %s on resource: %s because %s "
                        "cannot be used on a KMS key in another AWS account",
                        call->c->arn ? call->c->arn : "anonymous", action, key->arn, action);
    policy_decision d = decide(call, key, NULL, action, x, &f);
    if (d == POLICY_ALLOW) return true;
    if (d == POLICY_DENY_IMPLICIT && x && x->grant_op &&
        kms_grant_allows(call, key, x->grant_op, x->context))
        return true;
    const char *who = call->c->arn ? call->c->arn : "anonymous";
    return kms_fail(call, 400, "AccessDeniedException",
                    "User: %s is not authorized to perform: %s on resource: %s because %s", who,
                    action, key->arn,
                    d == POLICY_DENY_EXPLICIT
                        ? "of an explicit deny in a policy"
                        : "no resource-based policy (key policy or grant) allows it");
}

bool kms_authorize_account(kms_call *call, const char *action, const kms_authz_extra *x) {
    aws_fault f = {0};
    char *res = cl_strdup("*"); /* as AWS: these actions have no resource */
    policy_ctx *ctx = policy_ctx_new();
    add_keys(ctx, call, NULL, action, x);
    iam_authz a = {.action = action, .resource = res, .ctx = ctx};
    policy_decision d = iam_authorize(call->k->m, call->c, call->req, &a, &f);
    policy_ctx_free(ctx);
    if (d != POLICY_ALLOW)
        kms_fail(call, 400, "AccessDeniedException",
                 "User: %s is not authorized to perform: %s on resource: %s",
                 call->c->arn ? call->c->arn : "anonymous", action, res);
    free(res);
    return d == POLICY_ALLOW;
}

bool kms_policy_keeps_caller(kms_call *call, const kms_key *key, const char *policy_text) {
    aws_fault f = {0};
    return decide(call, key, policy_text, "kms:PutKeyPolicy", NULL, &f) == POLICY_ALLOW;
}

bool kms_policy_valid(kms_call *call, const char *text) {
    policy *p = NULL;
    char err[256];
    if (policy_parse(slice_cstr(text), POLICY_RESOURCE, &p, err, sizeof err) != CL_OK)
        return kms_fail(call, 400, "MalformedPolicyDocumentException", "%s", err);
    /* AWS's wording for keys a key policy may not use; here: keys never supplied */
    const char *bad = policy_unsupported_key(p);
    bool ok = !bad || kms_fail(call, 400, "MalformedPolicyDocumentException",
                               "These condition keys are not permitted in a key policy: %s", bad);
    policy_free(p);
    return ok;
}
