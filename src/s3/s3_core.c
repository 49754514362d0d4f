/* s3_core.c — the S3 service's skeleton: open/close, request addressing
 * (path-style and virtual-host), routing by method and sub-resource (S3
 * Control requests are recognised first and handed to s3_control.c), errors in
 * S3's shape, and authorization: S3 actions through the one policy engine with
 * the bucket policy as resource policy and Block Public Access (bucket OR owner
 * account) applied first, then the owner-only rule for bucket settings
 * (OWNER_ONLY below). */
#include "s3/s3_internal.h"

#include "aws/sigv2.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

cl_err s3_open(store *st, iam *m, const char *data_dir, const uint8_t *seal_key, s3 **out) {
    return s3_open_at(st, m, data_dir, data_dir, seal_key, out);
}

cl_err s3_open_at(store *st, iam *m, const char *data_dir, const char *blob_root,
                  const uint8_t *seal_key, s3 **out) {
    s3 *s = cl_calloc(1, sizeof *s);
    s->st = st;
    s->m = m;
    s->buckets = s3_bucket_cache_new();
    s->domain = cl_strdup("localhost");
    char *dir = cl_sprintf("%s/blobs", blob_root ? blob_root : data_dir);
    cl_err e = blob_store_open(dir, &s->blobs);
    free(dir);
    if (e == CL_OK) e = s3_sse_load_node_key(s, data_dir, seal_key);
    if (e == CL_OK) e = s3_bucket_ids_migrate(s);
    if (e != CL_OK) {
        if (s->blobs) blob_store_close(s->blobs);
        s3_bucket_cache_free(s->buckets);
        free(s);
        return e;
    }
    *out = s;
    return CL_OK;
}

void s3_set_key_service(s3 *s, const s3_key_service *k) {
    s->kms = *k;
}

void s3_close(s3 *s) {
    if (!s) return;
    free(s->domain);
    for (size_t i = 0; i < S3_MAX_RESERVED; i++)
        free(s->reserved[i]);
    blob_store_close(s->blobs);
    cl_cleanse(s->sse_key, sizeof s->sse_key);
    s3_bucket_cache_free(s->buckets);
    free(s);
}

/* ---- addressing ---- */

void s3_set_domain(s3 *s, const char *domain) {
    free(s->domain);
    s->domain = cl_strdup(domain && *domain ? domain : "localhost");
}

void s3_reserve_bucket_name(s3 *s, const char *name) {
    for (size_t i = 0; i < S3_MAX_RESERVED; i++)
        if (!s->reserved[i]) {
            s->reserved[i] = cl_strdup(name);
            return;
        }
}

bool s3_bucket_name_reserved(const s3 *s, const char *name) {
    for (size_t i = 0; i < S3_MAX_RESERVED && s->reserved[i]; i++)
        if (strcmp(s->reserved[i], name) == 0) return true;
    return false;
}

/* Virtual-host style: "my.bucket.DOMAIN[:port]" -> "my.bucket" (bucket names
 * may hold dots, so the bucket is everything before ".DOMAIN"); else NULL. */
char *s3_host_bucket(const s3 *s, const http_request *req) {
    return sigv2_host_bucket(kvlist_get_ci(&req->headers, "Host"), s->domain); /* one rule */
}

bool s3_op_init(s3_op *op, s3 *s, const iam_caller *c, http_request *req, http_response *resp) {
    memset(op, 0, sizeof *op);
    *op = (s3_op){.s = s, .c = c, .req = req, .resp = resp};
    if (kvlist_parse_form(&op->query, slice_cstr(req->query)) != CL_OK) {
        aws_fault_set(&op->f, 400, "InvalidArgument", "The query string is malformed.");
        return false;
    }
    cl_buf path = CL_BUF_INIT;
    if (url_decode(&path, slice_cstr(req->path), false) != CL_OK ||
        slice_find(buf_slice(&path), 0) >= 0 || !utf8_valid(buf_slice(&path))) {
        buf_free(&path);
        aws_fault_set(&op->f, 400, "InvalidURI", "Couldn't parse the specified URI.");
        return false;
    }
    const char *p = buf_cstr(&path);
    if (*p == '/') p++;
    op->bucket = s3_host_bucket(s, req);
    if (!op->bucket && *p) { /* path-style: /bucket[/key] */
        const char *slash = strchr(p, '/');
        op->bucket = slash ? cl_strndup(p, (size_t)(slash - p)) : cl_strdup(p);
        p = slash ? slash + 1 : p + strlen(p);
    }
    if (*p) op->key = cl_strdup(p);
    buf_free(&path);
    if (op->key && strlen(op->key) > 1024) {
        aws_fault_set(&op->f, 400, "KeyTooLongError", "Your key is too long");
        return false;
    }
    return true;
}

void s3_op_free(s3_op *op) {
    free(op->bucket);
    free(op->fault_region);
    free(op->fault_version_id);
    free(op->fault_last_modified);
    free(op->bucket_id);
    free(op->key);
    kvlist_free(&op->query);
    json_decref(op->bucket_doc);
    s3_bucket_release(op->s, op->bucket_entry);
}

bool s3_has_query(const s3_op *op, const char *name) {
    return kvlist_get(&op->query, name) != NULL;
}

void s3_respond_fault(s3_op *op) {
    http_response *r = op->resp;
    kvlist_free(&r->headers);
    aws_error(r, AWS_SHAPE_S3, NULL, op->f.status, op->f.code, op->f.message, op->req->request_id);
    if (op->fault_region) {
        aws_error_detail(r, "Region", op->fault_region);
        http_set_header(r, "x-amz-bucket-region", op->fault_region);
    }
    if (op->fault_delete_marker) http_set_header(r, "x-amz-delete-marker", "true");
    if (op->fault_version_id) http_set_header(r, "x-amz-version-id", op->fault_version_id);
    if (op->fault_last_modified) s3_set_time_header(r, "Last-Modified", op->fault_last_modified);
    if (strcmp(op->req->method, "HEAD") == 0) buf_clear(&r->body); /* HEAD answers carry no body */
}

/* ---- buckets ---- */

bool s3_valid_bucket_name(const char *n) {
    size_t len = strlen(n);
    if (len < 3 || len > 63 || !isalnum((unsigned char)n[0]) || !isalnum((unsigned char)n[len - 1]))
        return false;
    int dots = 0, digits_only_labels = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = n[i];
        if (!(islower((unsigned char)ch) || isdigit((unsigned char)ch) || ch == '.' || ch == '-'))
            return false;
        if (ch == '.' && (n[i + 1] == '.' || n[i + 1] == '-' || (i && n[i - 1] == '-')))
            return false;
        dots += ch == '.';
    }
    if (dots == 3) { /* formatted like an IPv4 address */
        unsigned a, b, c, d;
        char tail;
        if (sscanf(n, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4) digits_only_labels = 1;
    }
    if (digits_only_labels || strncmp(n, "xn--", 4) == 0 || strncmp(n, "sthree-", 7) == 0)
        return false;
    if (len > 8 && strcmp(n + len - 8, "-s3alias") == 0) return false;
    if (len > 6 && strcmp(n + len - 6, "--ol-s3") == 0) return false;
    return true;
}

bool s3_check_region(s3_op *op, const char *expected) {
    const char *got = op->c->region;
    if (op->c->p.type == PRINCIPAL_ANONYMOUS || !got || strcmp(got, expected) == 0) return true;
    /* AWS's text, e.g. "...; the region 'us-west-2' is wrong; expecting 'us-east-1'" */
    aws_fault_set(&op->f, 400, "AuthorizationHeaderMalformed",
                  "The authorization header is malformed; the region '%.64s' is wrong; "
                  "expecting '%.64s'",
                  got, expected);
    free(op->fault_region);
    op->fault_region = cl_strdup(expected);
    return false;
}

const char *s3_bucket_region(json_t *bucket_doc) {
    const char *r = json_string_value(json_object_get(bucket_doc, "Region"));
    return r && *r ? r : S3_DEFAULT_REGION;
}

bool s3_load_bucket(s3_op *op) {
    op->bucket_entry = s3_bucket_acquire(op->s, op->bucket);
    if (op->bucket_entry) op->bucket_doc = s3_bucket_entry_doc_copy(op->bucket_entry);
    if (op->bucket_doc && !s3_check_region(op, s3_bucket_region(op->bucket_doc))) return false;
    if (op->bucket_doc) {
        free(op->bucket_id);
        op->bucket_id = cl_strdup(s3_bucket_doc_id(op->bucket_doc, op->bucket));
        return true;
    }
    aws_fault_set(&op->f, 404, "NoSuchBucket", "The specified bucket does not exist");
    return false;
}

s3_pab s3_pab_from_json(json_t *p) {
    s3_pab r = {json_is_true(json_object_get(p, "BlockPublicAcls")),
                json_is_true(json_object_get(p, "IgnorePublicAcls")),
                json_is_true(json_object_get(p, "BlockPublicPolicy")),
                json_is_true(json_object_get(p, "RestrictPublicBuckets"))};
    return r;
}

json_t *s3_pab_to_json(s3_pab p) {
    return json_pack("{s:b, s:b, s:b, s:b}", "BlockPublicAcls", p.block_public_acls,
                     "IgnorePublicAcls", p.ignore_public_acls, "BlockPublicPolicy",
                     p.block_public_policy, "RestrictPublicBuckets", p.restrict_public_buckets);
}

s3_pab s3_bucket_pab(json_t *bucket) {
    return s3_pab_from_json(json_object_get(bucket, "PAB"));
}

s3_pab s3_effective_pab(const s3_op *op) {
    s3_pab b = s3_bucket_pab(op->bucket_doc), a = s3_bucket_entry_account_pab(op->bucket_entry);
    s3_pab r = {b.block_public_acls || a.block_public_acls,
                b.ignore_public_acls || a.ignore_public_acls,
                b.block_public_policy || a.block_public_policy,
                b.restrict_public_buckets || a.restrict_public_buckets};
    return r;
}

char *s3_bucket_arn(const char *bucket) {
    return cl_sprintf("arn:aws:s3:::%s", bucket);
}
char *s3_object_arn(const char *bucket, const char *key) {
    return cl_sprintf("arn:aws:s3:::%s/%s", bucket, key);
}

/* The bucket policy to evaluate, or NULL. With RestrictPublicBuckets (the
 * bucket's or its owner account's), a public policy grants only to principals
 * of the owner's account (AWS's rule; there are no service principals here). */
static const policy *effective_bucket_policy(s3_op *op) {
    const policy *p = s3_bucket_entry_policy(op->bucket_entry);
    if (!p) return NULL;
    const char *owner = json_string_value(json_object_get(op->bucket_doc, "Owner"));
    bool same = op->c->account && owner && strcmp(op->c->account, owner) == 0;
    if (s3_effective_pab(op).restrict_public_buckets && policy_is_public(p) && !same) return NULL;
    return p;
}

/* S3's signature keys, from the verified caller (auth.c), never from the raw
 * query text: s3:authType (REST-HEADER / REST-QUERY-STRING),
 * s3:signatureversion ("AWS" for SigV2, "AWS4-HMAC-SHA256") and, SigV4 only,
 * s3:signatureAge (milliseconds since the signed
 * X-Amz-Date). Anonymous requests carry none of them. */
static void add_signature_keys(policy_ctx *ctx, const iam_caller *c) {
    const char *type = iam_auth_type_name(c->auth_type);
    if (!type) return;
    policy_ctx_add(ctx, "s3:authType", type);
    policy_ctx_add(ctx, "s3:signatureversion", c->sigv2 ? "AWS" : "AWS4-HMAC-SHA256");
    if (c->sigv2) return; /* s3:signatureAge is SigV4's only (AWS) */
    int64_t age = (int64_t)time_now() - (int64_t)c->request_time;
    char ms[24];
    snprintf(ms, sizeof ms, "%lld", (long long)(age > 0 ? age * 1000 : 0));
    policy_ctx_add(ctx, "s3:signatureAge", ms);
}

/* Bucket settings only the bucket owner's account may read or change, whatever
 * a bucket policy grants. AWS documents the rule for Get/Put/DeleteBucketPolicy
 * (API reference: without the permission 403 AccessDenied; with it, from an
 * identity outside the bucket owner's account, 405 MethodNotAllowed), and
 * Cloister applies the same rule to the other settings that guard a bucket
 * (Block Public Access, default encryption, policy status, ownership), so an
 * account granted s3:* can never lock the owner out. `root_bypass`: the owner
 * account's root user may call it even if a policy denies it (AWS: "the root
 * principal in a bucket owner's account can perform GetBucketPolicy,
 * PutBucketPolicy and DeleteBucketPolicy even if the bucket policy explicitly
 * denies the root principal's access"). Delete* operations of the other
 * settings are authorized as their Put* action, as AWS does. */
static const struct {
    const char *action;
    bool root_bypass;
} OWNER_ONLY[] = {
    {"s3:GetBucketPolicy", true},
    {"s3:PutBucketPolicy", true},
    {"s3:DeleteBucketPolicy", true},
    {"s3:GetBucketPolicyStatus", false},
    {"s3:GetBucketPublicAccessBlock", false},
    {"s3:PutBucketPublicAccessBlock", false},
    {"s3:GetEncryptionConfiguration", false},
    {"s3:PutEncryptionConfiguration", false},
    {"s3:GetBucketOwnershipControls", false},
    {"s3:PutBucketOwnershipControls", false},
    {"s3:GetBucketNotification", false},
    {"s3:PutBucketNotification", false},
};

/* The OWNER_ONLY entry of action (index), or -1. */
static int owner_only(const char *action) {
    for (size_t i = 0; i < sizeof OWNER_ONLY / sizeof OWNER_ONLY[0]; i++)
        if (strcmp(OWNER_ONLY[i].action, action) == 0) return (int)i;
    return -1;
}

/* Applies the owner-only rule to a policy decision: the owner root's bypass of
 * denies, then 405 for an allowed caller of another account. True: allowed.
 * acl_grant: an ACL-style grant (a public object, s3_publish) allows what no
 * policy denies explicitly, as AWS's public-read ACL does. */
static bool owner_rule(s3_op *op, const char *action, const char *owner, policy_decision d,
                       bool acl_grant) {
    if (acl_grant && d == POLICY_DENY_IMPLICIT) d = POLICY_ALLOW;
    int r = owner_only(action);
    bool owner_account = owner && op->c->account && strcmp(owner, op->c->account) == 0;
    if (r >= 0 && OWNER_ONLY[r].root_bypass && owner_account && op->c->p.type == PRINCIPAL_ROOT)
        d = POLICY_ALLOW;
    if (d != POLICY_ALLOW) {
        aws_fault_set(&op->f, 403, "AccessDenied", "Access Denied");
        return false;
    }
    if (r >= 0 && op->bucket_doc && !owner_account) {
        aws_fault_set(&op->f, 405, "MethodNotAllowed",
                      "The specified method is not allowed against this resource.");
        return false;
    }
    return true;
}

static bool authorize(s3_op *op, const char *action, const char *resource, policy_ctx *ctx,
                      bool acl_grant) {
    const policy *bp = op->bucket_doc ? effective_bucket_policy(op) : NULL;
    policy_ctx *own = ctx ? ctx : policy_ctx_new();
    const char *sha = kvlist_get_ci(&op->req->headers, "x-amz-content-sha256");
    if (sha) policy_ctx_add(own, "s3:x-amz-content-sha256", sha);
    s3_cond_keys(op, action, own);
    add_signature_keys(own, op->c);
    const char *owner =
        op->bucket_doc ? json_string_value(json_object_get(op->bucket_doc, "Owner")) : NULL;
    iam_authz a = {.action = action,
                   .resource = resource,
                   .resource_account = owner,
                   .resource_policy = bp,
                   .ctx = own};
    aws_fault f = {0};
    policy_decision d = iam_authorize(op->s->m, op->c, op->req, &a, &f);
    policy_ctx_free(own);
    return owner_rule(op, action, owner, d, acl_grant);
}

bool s3_authorize(s3_op *op, const char *action, const char *resource, policy_ctx *ctx) {
    return authorize(op, action, resource, ctx, false);
}

/* An object published with public_read (its document's "Public"). */
static bool public_object(s3_op *op) {
    char *text = NULL;
    bool pub = false;
    if (store_get(op->s->st, "object", op->bucket_id, op->key, &text) == CL_OK) {
        json_t *o = json_loads(text, 0, NULL);
        pub = json_is_true(json_object_get(o, "Public"));
        json_decref(o);
    }
    free(text);
    return pub;
}

/* A GET or HEAD naming a version needs s3:GetObjectVersion (AWS: "To return a
 * different version, you need the s3:GetObjectVersion permission"); a public
 * object's grant covers its current version only. */
bool s3_authorize_get_object(s3_op *op) {
    char *arn = s3_object_arn(op->bucket, op->key);
    bool by_version = kvlist_get(&op->query, "versionId") != NULL;
    const char *action = by_version ? "s3:GetObjectVersion" : "s3:GetObject";
    bool ok = authorize(op, action, arn, NULL, false);
    if (!ok && !by_version && op->f.status == 403 && !s3_effective_pab(op).ignore_public_acls &&
        public_object(op)) {
        op->f = (aws_fault){0};
        ok = authorize(op, "s3:GetObject", arn, NULL, true);
    }
    free(arn);
    return ok;
}

bool s3_query_max(s3_op *op, const char *param, size_t *max) {
    const char *v = kvlist_get(&op->query, param);
    uint64_t n = 1000;
    if (v && slice_to_u64(slice_cstr(v), &n) != CL_OK) {
        aws_fault_set(&op->f, 400, "InvalidArgument",
                      "Provided %s not an integer or within integer range", param);
        return false;
    }
    *max = n > 1000 ? 1000 : (size_t)n;
    return true;
}

/* ---- digests ---- */

bool s3_check_content_md5(s3_op *op, const uint8_t md5[16]) {
    const char *want = kvlist_get_ci(&op->req->headers, "Content-MD5");
    if (!want) return true;
    cl_buf b = CL_BUF_INIT;
    bool valid = base64_decode(&b, slice_cstr(want)) == CL_OK && b.len == 16;
    bool same = valid && memcmp(b.ptr, md5, 16) == 0;
    buf_free(&b);
    if (!valid)
        aws_fault_set(&op->f, 400, "InvalidDigest", "The Content-MD5 you specified was invalid.");
    else if (!same)
        aws_fault_set(&op->f, 400, "BadDigest",
                      "The Content-MD5 you specified did not match what we received.");
    return same;
}

/* ---- XML responses ---- */

void s3_xml_begin_ns(s3_op *op, const char *root, const char *ns) {
    buf_appendf(&op->resp->body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<%s xmlns=\"%s\">",
                root, ns);
}

void s3_xml_begin(s3_op *op, const char *root) {
    s3_xml_begin_ns(op, root, S3_XML_NS);
}

void s3_xml_key(cl_buf *b, const char *tag, const char *key, bool url) {
    if (!url) {
        xml_text(b, tag, key);
        return;
    }
    cl_buf enc = CL_BUF_INIT;
    url_encode_aws(&enc, slice_cstr(key), true);
    xml_text(b, tag, buf_cstr(&enc));
    buf_free(&enc);
}

void s3_xml_end(s3_op *op, const char *root) {
    buf_appendf(&op->resp->body, "</%s>\n", root);
    op->resp->status = 200;
    http_set_header(op->resp, "Content-Type", "application/xml");
}

void s3_set_time_header(http_response *r, const char *name, const char *iso) {
    time_t t;
    char http[30];
    if (time_parse_iso8601(slice_cstr(iso), &t) != CL_OK) return;
    time_format_http(t, http);
    http_set_header(r, name, http);
}

/* ---- routing ---- */

/* Bucket sub-resources this server does not implement: answered NotImplemented
 * rather than mistaken for the plain bucket operation (PUT ?versioning is not
 * CreateBucket). */
static bool unsupported_subresource(const s3_op *op) {
    static const char *const NOT_YET[] = {
        "cors",      "lifecycle",      "logging",     "replication",
        "website",   "requestPayment", "object-lock", "intelligent-tiering",
        "inventory", "metrics",        "analytics",   "accelerate"};
    for (size_t i = 0; i < sizeof NOT_YET / sizeof NOT_YET[0]; i++)
        if (s3_has_query(op, NOT_YET[i])) return true;
    return false;
}

static bool is_form_data(const http_request *req) {
    const char *ct = kvlist_get_ci(&req->headers, "Content-Type");
    return ct && strncasecmp(ct, "multipart/form-data", 19) == 0;
}

bool s3_is_post_form(const http_request *req) {
    return strcmp(req->method, "POST") == 0 && req->query[0] == 0 && is_form_data(req);
}

static bool route_bucket(s3_op *op) {
    const char *m = op->req->method;
    if (unsupported_subresource(op)) return false;
    if (s3_has_query(op, "policy"))
        s3_bucket_policy(op);
    else if (s3_has_query(op, "tagging"))
        s3_bucket_tagging(op);
    else if (s3_has_query(op, "acl"))
        s3_bucket_acl(op);
    else if (s3_has_query(op, "ownershipControls"))
        s3_bucket_ownership_controls(op);
    else if (s3_has_query(op, "policyStatus"))
        s3_get_bucket_policy_status(op);
    else if (s3_has_query(op, "publicAccessBlock"))
        s3_bucket_public_access_block(op);
    else if (s3_has_query(op, "encryption"))
        s3_bucket_encryption(op);
    else if (s3_has_query(op, "notification"))
        s3_bucket_notification(op);
    else if (s3_has_query(op, "versioning"))
        s3_bucket_versioning(op);
    else if (s3_has_query(op, "versions"))
        return strcmp(m, "GET") == 0 ? (s3_list_object_versions(op), true) : false;
    else if (s3_has_query(op, "location") && strcmp(m, "GET") == 0)
        s3_get_bucket_location(op);
    else if (s3_has_query(op, "delete") && strcmp(m, "POST") == 0)
        s3_delete_objects(op);
    else if (strcmp(m, "POST") == 0 && op->query.len == 0 && is_form_data(op->req))
        s3_post_object(op);
    else if (s3_has_query(op, "uploads") && strcmp(m, "GET") == 0)
        s3_list_multipart_uploads(op);
    else if (strcmp(m, "PUT") == 0)
        s3_create_bucket(op);
    else if (strcmp(m, "HEAD") == 0)
        s3_head_bucket(op);
    else if (strcmp(m, "DELETE") == 0)
        s3_delete_bucket(op);
    else if (strcmp(m, "GET") == 0)
        s3_list_objects(op);
    else
        return false;
    return true;
}

/* Object sub-resources this server does not implement: 501 NotImplemented,
 * never the object's bytes (GET /b/k?retention is not GetObject) nor a PUT of
 * the body as the object. Versioning (?versionId) is decided elsewhere. */
static bool unsupported_object_subresource(const s3_op *op) {
    static const char *const NOT_YET[] = {"retention", "legal-hold", "torrent",
                                          "restore",   "select",     "select-type"};
    for (size_t i = 0; i < sizeof NOT_YET / sizeof NOT_YET[0]; i++)
        if (s3_has_query(op, NOT_YET[i])) return true;
    return false;
}

bool s3_check_no_object_lock(s3_op *op) {
    for (size_t i = 0; i < op->req->headers.len; i++)
        if (strncasecmp(op->req->headers.items[i].key, "x-amz-object-lock-", 18) == 0) {
            aws_fault_set(&op->f, 400, "InvalidRequest",
                          "Bucket is missing Object Lock Configuration");
            return false;
        }
    return true;
}

/* CopyObject and CreateMultipartUpload asking for Object Lock (PutObject's
 * streamed path checks in s3_begin_upload). */
static bool object_lock_requested(s3_op *op, bool upload_id) {
    const char *m = op->req->method;
    bool writes = (strcmp(m, "PUT") == 0 && !upload_id) ||
                  (strcmp(m, "POST") == 0 && s3_has_query(op, "uploads"));
    return writes && !s3_check_no_object_lock(op);
}

static bool route_object(s3_op *op) {
    const char *m = op->req->method;
    if (unsupported_object_subresource(op)) return false;
    bool upload_id = s3_has_query(op, "uploadId");
    if (object_lock_requested(op, upload_id)) return true;
    /* Safe to route on x-amz-* headers: for a signed request, authentication
     * (iam/auth.c check_signed_headers) has refused any x-amz-* header the
     * signature does not cover, so a presigned PutObject/UploadPart cannot be
     * turned into CopyObject/UploadPartCopy by adding x-amz-copy-source. */
    bool copy = kvlist_get_ci(&op->req->headers, "x-amz-copy-source") != NULL;
    if (s3_has_query(op, "tagging"))
        s3_object_tagging(op);
    else if (s3_has_query(op, "acl"))
        s3_object_acl(op);
    else if (s3_has_query(op, "attributes"))
        s3_get_object_attributes(op);
    else if (strcmp(m, "PUT") == 0 && copy && upload_id)
        s3_upload_part_copy(op);
    else if (strcmp(m, "PUT") == 0 && copy)
        s3_copy_object(op);
    else if (strcmp(m, "POST") == 0 && s3_has_query(op, "uploads"))
        s3_create_multipart(op);
    else if (strcmp(m, "POST") == 0 && upload_id)
        s3_complete_multipart(op);
    else if (strcmp(m, "DELETE") == 0 && upload_id)
        s3_abort_multipart(op);
    else if (strcmp(m, "GET") == 0 && upload_id)
        s3_list_parts(op);
    else if (strcmp(m, "GET") == 0)
        s3_get_object(op, false);
    else if (strcmp(m, "HEAD") == 0)
        s3_get_object(op, true);
    else if (strcmp(m, "DELETE") == 0)
        s3_object_delete(op);
    else
        return false;
    return true;
}

static const char *op_name(const s3_op *op) {
    const char *m = op->req->method;
    if (!op->bucket) return "ListBuckets";
    if (op->key)
        return strcmp(m, "GET") == 0    ? "GetObject"
               : strcmp(m, "HEAD") == 0 ? "HeadObject"
               : strcmp(m, "PUT") == 0  ? "PutObject"
                                        : "DeleteObject";
    return strcmp(m, "PUT") == 0 ? "PutBucket" : strcmp(m, "GET") == 0 ? "GetBucket" : "Bucket";
}

void s3_handle(s3 *s, const iam_caller *c, http_request *req, http_response *resp) {
    s3_op op;
    req->service = "s3";
    if (!req->state && s3_is_control(req)) { /* before addressing: Host may be ACCOUNT.localhost */
        s3_control_handle(s, c, req, resp);
        return;
    }
    bool ok = s3_op_init(&op, s, c, req, resp);
    req->op = op_name(&op);
    /* no bucket yet to say which region: an empty one is never right */
    if (ok && c->region && !c->region[0]) ok = s3_check_region(&op, S3_DEFAULT_REGION);
    if (ok && req->state) {
        s3_finish_upload(&op); /* the body of a streamed PUT has arrived */
    } else if (ok && !op.bucket && strcmp(req->method, "GET") == 0) {
        s3_list_buckets(&op);
    } else if (ok && op.bucket && !(op.key ? route_object(&op) : route_bucket(&op))) {
        aws_fault_set(
            &op.f, 501, "NotImplemented",
            "A header or query you provided implies functionality that is not implemented.");
    } else if (ok && !op.bucket) {
        aws_fault_set(&op.f, 405, "MethodNotAllowed",
                      "The specified method is not allowed against this resource.");
    }
    if (op.f.code) s3_respond_fault(&op);
    s3_op_free(&op);
}
