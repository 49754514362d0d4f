/* kms_api.c — the KMS service's front: opening (root key, attestation root),
 * the JSON 1.1 dispatch table (X-Amz-Target "TrentService.<Operation>"), the
 * request-field helpers every operation uses and the error shape the SDKs
 * parse ({"__type": "...", "message": "..."}). Operations live in
 * kms_ops_*.c; keys in kms_keys.c; authorization in kms_authz.c. */
#include "kms/kms_internal.h"

#include "crypto/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KMS_TARGET_PREFIX "TrentService."
#define KMS_MAX_REQUEST (64 * 1024)

cl_err kms_open(store *st, iam *m, const kms_options *o, kms **out, char *err, size_t errlen) {
    kms *k = cl_calloc(1, sizeof *k);
    char *keys = cl_sprintf("%s/keys", o->data_dir);
    cl_err e = kms_root_key_load(keys, o->passphrase_file, &k->root, err, errlen);
    free(keys);
    if (e != CL_OK) {
        cl_cleanse(k, sizeof *k);
        free(k);
        return e;
    }
    k->st = st;
    k->m = m;
    buf_append_slice(&k->attest_root, o->attest_root_der);
    pthread_mutex_init(&k->lock, NULL);
    *out = k;
    return CL_OK;
}

void kms_close(kms *k) {
    if (!k) return;
    kms_cache_clear();
    buf_free(&k->attest_root);
    pthread_mutex_destroy(&k->lock);
    cl_cleanse(&k->root, sizeof k->root);
    free(k);
}

void kms_node_key(const kms *k, const char *purpose, uint8_t out[32]) {
    char *info = cl_sprintf("cloister/node-key/v1/%s", purpose);
    if (crypto_hkdf_sha256(slice_of(k->root.k, sizeof k->root.k), slice_cstr("cloister/node-key"),
                           slice_cstr(info), out, 32) != CL_OK)
        abort(); /* OpenSSL without HKDF: nothing safe to do */
    free(info);
}

/* ---- helpers ---- */
bool kms_fail(kms_call *call, int status, const char *code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    call->f.status = status;
    call->f.code = code;
    vsnprintf(call->f.message, sizeof call->f.message, fmt, ap);
    va_end(ap);
    return false;
}

const char *kms_in_str(kms_call *call, const char *name, bool required, bool *bad) {
    json_t *v = json_object_get(call->in, name);
    if (!v || json_is_null(v)) {
        if (required) {
            *bad = true;
            kms_invalid(call,
                        "1 validation error detected: Value null at '%s' failed to satisfy "
                        "constraint: Member must not be null",
                        name);
        }
        return NULL;
    }
    if (!json_is_string(v)) {
        *bad = true;
        kms_fail(call, 400, "SerializationException", "%s must be a string", name);
        return NULL;
    }
    return json_string_value(v);
}

bool kms_in_blob(kms_call *call, const char *name, size_t max, cl_buf *out) {
    bool bad = false;
    const char *s = kms_in_str(call, name, true, &bad);
    if (!s) return false;
    if (base64_decode(out, slice_cstr(s)) != CL_OK) {
        buf_free_secret(out);
        return kms_fail(call, 400, "SerializationException", "%s is not valid base64", name);
    }
    if (out->len < 1 || out->len > max) {
        size_t n = out->len;
        buf_free_secret(out);
        return kms_invalid(call,
                           "1 validation error detected: Value at '%s' failed to satisfy "
                           "constraint: Member must have length between 1 and %zu (was %zu)",
                           name, max, n);
    }
    return true;
}

bool kms_in_context(kms_call *call, const char *name, const json_t **out) {
    json_t *v = json_object_get(call->in, name);
    *out = NULL;
    if (!v || json_is_null(v)) return true;
    if (!json_is_object(v))
        return kms_fail(call, 400, "SerializationException", "%s must be a map", name);
    const char *key;
    json_t *val;
    json_object_foreach(v, key, val) {
        if (!json_is_string(val) || !key[0])
            return kms_invalid(call, "%s values must be strings and keys non-empty", name);
    }
    *out = v;
    return true;
}

void kms_out_blob(kms_call *call, const char *name, cl_slice bytes) {
    buf_appendf(&call->blobs, ",\"%s\":\"", name);
    base64_encode(&call->blobs, bytes);
    buf_append_byte(&call->blobs, '"');
}

double kms_epoch(time_t t) {
    return (double)t;
}

/* ---- dispatch ---- */
static const struct {
    const char *name;
    kms_op_fn fn;
} OPS[] = {
    {"CreateKey", kms_op_create_key},
    {"DescribeKey", kms_op_describe_key},
    {"ListKeys", kms_op_list_keys},
    {"EnableKey", kms_op_enable_key},
    {"DisableKey", kms_op_disable_key},
    {"ScheduleKeyDeletion", kms_op_schedule_key_deletion},
    {"CancelKeyDeletion", kms_op_cancel_key_deletion},
    {"UpdateKeyDescription", kms_op_update_key_description},
    {"Encrypt", kms_op_encrypt},
    {"Decrypt", kms_op_decrypt},
    {"ReEncrypt", kms_op_re_encrypt},
    {"GenerateDataKey", kms_op_generate_data_key},
    {"GenerateDataKeyWithoutPlaintext", kms_op_generate_data_key_without_plaintext},
    {"GenerateRandom", kms_op_generate_random},
    {"Sign", kms_op_sign},
    {"Verify", kms_op_verify},
    {"GetPublicKey", kms_op_get_public_key},
    {"CreateAlias", kms_op_create_alias},
    {"ListAliases", kms_op_list_aliases},
    {"DeleteAlias", kms_op_delete_alias},
    {"UpdateAlias", kms_op_update_alias},
    {"PutKeyPolicy", kms_op_put_key_policy},
    {"GetKeyPolicy", kms_op_get_key_policy},
    {"ListKeyPolicies", kms_op_list_key_policies},
    {"CreateGrant", kms_op_create_grant},
    {"ListGrants", kms_op_list_grants},
    {"RetireGrant", kms_op_retire_grant},
    {"RevokeGrant", kms_op_revoke_grant},
    {"EnableKeyRotation", kms_op_enable_key_rotation},
    {"DisableKeyRotation", kms_op_disable_key_rotation},
    {"GetKeyRotationStatus", kms_op_get_key_rotation_status},
    {"RotateKeyOnDemand", kms_op_rotate_key_on_demand},
};

/* The JSON members of out, then the binary members (call->blobs). */
static void respond(http_response *resp, json_t *out, const cl_buf *blobs) {
    char *s = json_dumps(out, JSON_COMPACT);
    size_t n = strlen(s);
    cl_slice extra = buf_slice(blobs);
    buf_reserve(&resp->body, n + extra.len + 1); /* one allocation: no stray copies */
    buf_append(&resp->body, s, n - 1);           /* without the closing brace */
    if (n == 2 && extra.len) extra = slice_sub(extra, 1, extra.len); /* "{}": no comma */
    buf_append_slice(&resp->body, extra);
    buf_append_byte(&resp->body, '}');
    free(s);
    resp->body_secret = extra.len > 0; /* Plaintext, data keys, random bytes */
    resp->status = 200;
    http_set_header(resp, "Content-Type", "application/x-amz-json-1.1");
}

void kms_api_handle(kms *k, const iam_caller *c, http_request *req, http_response *resp) {
    kms_call call = {.k = k, .c = c, .req = req};
    const char *target = kvlist_get_ci(&req->headers, "X-Amz-Target");
    kms_op_fn fn = NULL;
    if (target && strncmp(target, KMS_TARGET_PREFIX, strlen(KMS_TARGET_PREFIX)) == 0) {
        const char *op = target + strlen(KMS_TARGET_PREFIX);
        for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++)
            if (strcmp(op, OPS[i].name) == 0) {
                fn = OPS[i].fn;
                req->op = OPS[i].name;
            }
    }
    bool ok = false;
    if (!fn) {
        kms_fail(&call, 400, "UnknownOperationException", "Unknown operation %.64s",
                 target ? target : "(no X-Amz-Target)");
    } else if (req->body.len > KMS_MAX_REQUEST) {
        kms_fail(&call, 413, "ValidationException", "The request body is too large");
    } else if (!(call.in = aws_json_parse(buf_slice(&req->body), NULL, 0)) ||
               !json_is_object(call.in)) {
        kms_fail(&call, 400, "SerializationException", "The request body is not a JSON object");
    } else if ((ok = fn(&call))) {
        if (!call.out) call.out = json_object();
        respond(resp, call.out, &call.blobs);
    }
    if (!ok) {
        if (!call.f.code) kms_fail(&call, 500, "KMSInternalException", "internal error");
        aws_error(resp, AWS_SHAPE_JSON, NULL, call.f.status, call.f.code, call.f.message,
                  req->request_id);
    }
    json_decref(call.in);
    json_decref(call.out);
    buf_free_secret(&call.blobs); /* may hold a plaintext */
}
