/* kms_service.c — KMS on a caller's behalf, for other services (S3 SSE-KMS):
 * the same authorization as the API (the *caller's* permissions, with
 * kms:ViaService naming the service) and the same blob format, without HTTP.
 * Also makes the account's AWS managed key (alias/aws/<service>) on first
 * use, with the policy AWS gives such keys: any principal of the account may
 * use it through that service; the account may read its metadata. */
#include "kms/kms_internal.h"

#include "crypto/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *managed_policy(const char *account, const char *via) {
    return cl_sprintf(
        "{\"Version\":\"2012-10-17\",\"Id\":\"auto-managed-1\",\"Statement\":[{\"Sid\":\"Allow "
        "access through the service for all principals in the account that are authorized to use "
        "it\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"*\"},\"Action\":[\"kms:Encrypt\","
        "\"kms:Decrypt\",\"kms:ReEncrypt*\",\"kms:GenerateDataKey*\",\"kms:DescribeKey\"],"
        "\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{\"kms:CallerAccount\":\"%s\","
        "\"kms:ViaService\":\"%s\"}}},{\"Sid\":\"Allow direct access to key metadata to the "
        "account\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::%s:root\"},"
        "\"Action\":[\"kms:Describe*\",\"kms:Get*\",\"kms:List*\"],\"Resource\":\"*\"}]}",
        account, via, account);
}

/* alias/aws/<service> of the caller's account, made if missing. */
static bool managed_key(kms_call *call, kms_key *key) {
    const char *via = call->via_service;
    size_t n = strcspn(via, ".");
    char *alias = cl_sprintf("alias/aws/%.*s", (int)n, via);
    bool ok = true;
    pthread_mutex_lock(&call->k->lock);
    if (!kms_key_resolve(call, alias, key)) {
        call->f = (aws_fault){0};
        char *pol = managed_policy(call->c->account, via);
        char *desc = cl_sprintf("Default key that protects my %.*s data when no other key is "
                                "defined",
                                (int)n, via);
        const char *region = call->c->region ? call->c->region : "us-east-1";
        ok = kms_key_create(call->k, call->c->account, region, KMS_SPEC_SYMMETRIC_DEFAULT,
                            "ENCRYPT_DECRYPT", desc, pol, "AWS", key) == CL_OK;
        if (ok) {
            char *arn = cl_sprintf("arn:aws:kms:%s:%s:%s", region, call->c->account, alias);
            ok = kms_alias_write(call->k, call->c->account, alias, arn, key->key_id, 0, false) ==
                 CL_OK;
            free(arn);
        }
        if (!ok) kms_fail(call, 500, "KMSInternalException", "could not create %s", alias);
        free(pol);
        free(desc);
    }
    pthread_mutex_unlock(&call->k->lock);
    free(alias);
    return ok;
}

cl_err kms_data_key_for(kms *k, const iam_caller *c, const http_request *req, const char *key_id,
                        const char *via_service, const json_t *ctx, uint8_t out[32], cl_buf *blob,
                        char **key_arn, aws_fault *f) {
    kms_call call = {.k = k, .c = c, .req = req, .via_service = via_service};
    kms_key key = {0};
    bool ok =
        c->account && (key_id ? kms_key_resolve(&call, key_id, &key) : managed_key(&call, &key));
    if (!c->account)
        kms_fail(&call, 400, "AccessDeniedException", "Anonymous callers cannot use KMS keys.");
    if (ok) {
        kms_authz_extra x = {.context = ctx, .grant_op = "GenerateDataKey"};
        ok = kms_authorize_key(&call, &key, "kms:GenerateDataKey", &x) &&
             kms_key_usable(&call, &key);
        if (ok && (key.spec != KMS_SPEC_SYMMETRIC_DEFAULT ||
                   strcmp(json_string_value(json_object_get(key.doc, "KeyUsage")),
                          "ENCRYPT_DECRYPT") != 0))
            ok = kms_fail(&call, 400, "InvalidKeyUsageException",
                          "%s is not a symmetric encryption key.", key.arn);
        crypto_random(out, 32);
        if (ok) ok = kms_call_seal(&call, &key, ctx, slice_of(out, 32), blob);
        if (ok) *key_arn = cl_strdup(key.arn);
        if (!ok) cl_cleanse(out, 32);
    }
    kms_key_free(&key);
    if (ok) return CL_OK;
    *f = call.f;
    return CL_ERR_DENIED;
}

cl_err kms_decrypt_for(kms *k, const iam_caller *c, const http_request *req,
                       const char *via_service, const json_t *ctx, cl_slice bytes, uint8_t out[32],
                       char **key_arn, aws_fault *f) {
    kms_call call = {.k = k, .c = c, .req = req, .via_service = via_service};
    kms_key key = {0};
    cl_buf plain = CL_BUF_INIT;
    bool ok = c->account != NULL;
    if (!ok)
        kms_fail(&call, 400, "AccessDeniedException", "Anonymous callers cannot use KMS keys.");
    if (ok) ok = kms_call_open_blob(&call, bytes, ctx, NULL, "kms:Decrypt", NULL, &key, &plain);
    if (ok && plain.len != 32)
        ok = kms_fail(&call, 400, "InvalidCiphertextException", "not a data key");
    if (ok) {
        memcpy(out, plain.ptr, 32);
        *key_arn = cl_strdup(key.arn);
    }
    buf_free_secret(&plain);
    kms_key_free(&key);
    if (ok) return CL_OK;
    *f = call.f;
    return CL_ERR_DENIED;
}
