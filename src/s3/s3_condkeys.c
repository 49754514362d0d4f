/* s3_condkeys.c — the S3 condition keys of a request, added in one place
 * (s3_authorize calls s3_cond_keys for every action) so no handler has to
 * remember them. Which action gets which key follows AWS's service
 * authorization reference for Amazon S3:
 *   s3:x-amz-server-side-encryption, ...-aws-kms-key-id, ...-customer-algorithm,
 *   s3:x-amz-copy-source, s3:x-amz-metadata-directive, s3:x-amz-storage-class:
 *       s3:PutObject (PutObject, CopyObject, CreateMultipartUpload, UploadPart),
 *       from the request header only — a PUT that relies on the bucket's default
 *       encryption carries no header, so the key is absent (as in AWS); the
 *       requests that continue a multipart upload say the upload's encryption;
 *   s3:x-amz-acl and s3:x-amz-grant-*: PutObject, PutObjectAcl, CreateBucket,
 *       PutBucketAcl;
 *   s3:RequestObjectTag/<k>, s3:RequestObjectTagKeys: PutObject (x-amz-tagging)
 *       and PutObjectTagging (its body, or the header when PutObject asks for it);
 *   s3:ExistingObjectTag/<k>: the stored tags of the object for GetObject (and
 *       HEAD), Get/PutObjectAcl and Get/Put/DeleteObjectTagging;
 *   s3:ResourceAccount: the bucket owner, for every request on a bucket;
 *   aws:Referer: the Referer header, when present.
 * The verified-request keys (s3:authType, s3:signatureversion, s3:signatureAge,
 * s3:x-amz-content-sha256) are added by s3_authorize itself. */
#include "s3/s3_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool action_in(const char *action, const char *const *list) {
    for (int i = 0; list[i]; i++)
        if (strcasecmp(action, list[i]) == 0) return true;
    return false;
}

static void add_header_key(const s3_op *op, const char *header, policy_ctx *ctx) {
    const char *v = kvlist_get_ci(&op->req->headers, header);
    if (!v) return;
    char *name = cl_sprintf("s3:%s", header);
    policy_ctx_add(ctx, name, v);
    free(name);
}

static const char *const PUT_HEADERS[] = {"x-amz-server-side-encryption",
                                          "x-amz-server-side-encryption-aws-kms-key-id",
                                          "x-amz-server-side-encryption-customer-algorithm",
                                          "x-amz-copy-source",
                                          "x-amz-metadata-directive",
                                          "x-amz-storage-class",
                                          NULL};
static const char *const ACL_HEADERS[] = {"x-amz-acl",
                                          "x-amz-grant-read",
                                          "x-amz-grant-write",
                                          "x-amz-grant-read-acp",
                                          "x-amz-grant-write-acp",
                                          "x-amz-grant-full-control",
                                          NULL};
static const char *const ACL_ACTIONS[] = {"s3:PutObject", "s3:PutObjectAcl", "s3:CreateBucket",
                                          "s3:PutBucketAcl", NULL};
static const char *const EXISTING_TAG_ACTIONS[] = {"s3:GetObject",
                                                   "s3:GetObjectAcl",
                                                   "s3:PutObjectAcl",
                                                   "s3:GetObjectTagging",
                                                   "s3:PutObjectTagging",
                                                   "s3:DeleteObjectTagging",
                                                   NULL};

static void add_tags(json_t *tags, const char *prefix, const char *keys_name, policy_ctx *ctx) {
    const char *k;
    json_t *v;
    json_object_foreach(tags, k, v) {
        char *name = cl_sprintf("%s%s", prefix, k);
        policy_ctx_add(ctx, name, json_string_value(v));
        free(name);
        if (keys_name) policy_ctx_add(ctx, keys_name, k);
    }
}

/* The stored tags of the object the request names. */
static void existing_tags(const s3_op *op, policy_ctx *ctx) {
    char *text = NULL;
    if (!op->bucket_id || !op->key ||
        store_get(op->s->st, "object", op->bucket_id, op->key, &text) != CL_OK)
        return;
    json_t *o = json_loads(text, 0, NULL);
    free(text);
    add_tags(json_object_get(o, "Tags"), "s3:ExistingObjectTag/", NULL, ctx);
    json_decref(o);
}

/* The tags the request asks to set: x-amz-tagging, else a PutObjectTagging body. */
static void request_tags(const s3_op *op, const char *action, policy_ctx *ctx) {
    json_t *tags = s3_header_tags(op->req);
    if (!tags && strcasecmp(action, "s3:PutObjectTagging") == 0 &&
        strcmp(op->req->method, "PUT") == 0 && s3_has_query(op, "tagging")) {
        cl_kvlist kv = CL_KVLIST_INIT;
        s3_xml_error xe = {0};
        if (s3_xml_parse_tagging(buf_slice(&op->req->body), S3_TAGS_OBJECT, &kv, &xe) == CL_OK) {
            tags = json_object();
            for (size_t i = 0; i < kv.len; i++)
                json_object_set_new(tags, kv.items[i].key, json_string(kv.items[i].value));
        }
        kvlist_free(&kv);
    }
    add_tags(tags, "s3:RequestObjectTag/", "s3:RequestObjectTagKeys", ctx);
    json_decref(tags);
}

/* UploadPart, UploadPartCopy and CompleteMultipartUpload (s3:PutObject with
 * an uploadId) carry no encryption headers: they continue the upload, whose
 * encryption CreateMultipartUpload chose, so the keys say that choice and the
 * standard "deny unencrypted uploads" policy lets an encrypted multipart
 * upload through. */
static void upload_encryption(const s3_op *op, policy_ctx *ctx) {
    const char *id = kvlist_get(&op->query, "uploadId");
    char *text = NULL;
    if (!id || !op->bucket_id || kvlist_get_ci(&op->req->headers, "x-amz-server-side-encryption") ||
        store_get(op->s->st, "upload", op->bucket_id, id, &text) != CL_OK)
        return;
    json_t *u = json_loads(text, 0, NULL);
    free(text);
    json_t *rec = json_object_get(u, "SSE");
    const char *kind = json_string_value(json_object_get(rec, "Kind"));
    if (kind && strcmp(kind, "S3") == 0)
        policy_ctx_add(ctx, "s3:x-amz-server-side-encryption", "AES256");
    if (kind && strcmp(kind, "KMS") == 0) {
        policy_ctx_add(ctx, "s3:x-amz-server-side-encryption", "aws:kms");
        policy_ctx_add(ctx, "s3:x-amz-server-side-encryption-aws-kms-key-id",
                       json_string_value(json_object_get(rec, "KeyId")));
    }
    json_decref(u);
}

void s3_cond_keys(const s3_op *op, const char *action, policy_ctx *ctx) {
    bool put = strcasecmp(action, "s3:PutObject") == 0;
    for (int i = 0; put && PUT_HEADERS[i]; i++)
        add_header_key(op, PUT_HEADERS[i], ctx);
    if (put) upload_encryption(op, ctx);
    for (int i = 0; action_in(action, ACL_ACTIONS) && ACL_HEADERS[i]; i++)
        add_header_key(op, ACL_HEADERS[i], ctx);
    if (put || strcasecmp(action, "s3:PutObjectTagging") == 0) request_tags(op, action, ctx);
    if (action_in(action, EXISTING_TAG_ACTIONS)) existing_tags(op, ctx);
    const char *owner =
        op->bucket_doc ? json_string_value(json_object_get(op->bucket_doc, "Owner")) : NULL;
    if (owner) policy_ctx_add(ctx, "s3:ResourceAccount", owner);
    const char *referer = kvlist_get_ci(&op->req->headers, "Referer");
    if (referer) policy_ctx_add(ctx, "aws:Referer", referer);
}
