/* s3_post.c — POST Object: browser-based uploads (POST /bucket with a
 * multipart/form-data body, e.g. boto3's generate_presigned_post).
 *
 * The form carries the key (with ${filename} replaced by the file part's
 * name), a base64 policy document {expiration, conditions[]}, and its SigV4
 * signature (x-amz-algorithm AWS4-HMAC-SHA256, x-amz-credential, x-amz-date,
 * x-amz-signature, x-amz-security-token for temporary credentials), verified
 * by iam_authenticate_post, or its SigV2 signature (AWSAccessKeyId,
 * signature: what boto3's default generate_presigned_post sends), verified by
 * iam_authenticate_post_v2; without a policy the upload is anonymous. Then,
 * as S3 does: the policy must not have expired, every condition must hold
 * (exact match {"f": "v"} / ["eq", "$f", "v"], ["starts-with", "$f", "p"],
 * ["content-length-range", min, max]; "bucket" is the request's bucket) and
 * every form field but those exempt_field names must be named by a condition
 * ("Invalid according to Policy: ..."). The object is
 * authorized as s3:PutObject for the signer (s3:authType POST), stored like a
 * PUT (bucket default encryption, Content-Type and x-amz-meta-* fields, a
 * tagging field's Tagging XML, an x-amz-checksum-* field checked against the
 * file) and committed with an s3:ObjectCreated:Post event. Answer: 204, or
 * 200/201 (PostResponse XML) per success_action_status; x-amz-version-id when
 * the bucket's versioning is Enabled.
 *
 * The body is not authenticated before it is read, so it is bounded (serve
 * --post-body-limit, 16 MiB by default, counted in the pre-auth memory pool;
 * AWS takes up to 5 GB). Encryption fields in the form (SSE-S3, SSE-KMS, SSE-C)
 * apply as a PUT's headers would (post_encryption_headers). */
#include "s3/s3_form.h"
#include "crypto/crypto.h"
#include "s3/s3_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the policy ----
 * A policy that is not a valid document is 400 InvalidPolicyDocument "Invalid
 * Policy: ..."; a valid one that the form breaks is 403 AccessDenied "Invalid
 * according to Policy: ...", except content-length-range: 400 EntityTooLarge /
 * EntityTooSmall. AWS's messages, as versitygw reproduces them from AWS
 * (s3err/postobject.go) and LocalStack records them. */

static bool policy_failed(s3_op *op, const char *what, const char *detail) {
    aws_fault_set(&op->f, 403, "AccessDenied", "Invalid according to Policy: %s%s", what,
                  detail ? detail : "");
    return false;
}

static bool policy_invalid(s3_op *op, const char *what, const char *arg) {
    char msg[200];
    snprintf(msg, sizeof msg, what, arg ? arg : "");
    aws_fault_set(&op->f, 400, "InvalidPolicyDocument", "Invalid Policy: %s", msg);
    return false;
}

/* ISO 8601 in GMT as the docs write it: 2007-12-01T12:00:00[.000]Z. */
static bool expiration_time(const char *v, time_t *t) {
    size_t n = v ? strlen(v) : 0;
    return n >= 20 && v[10] == 'T' && v[n - 1] == 'Z' &&
           time_parse_iso8601(slice_cstr(v), t) == CL_OK;
}

static bool valid_condition(s3_op *op, json_t *c) {
    if (json_is_object(c)) {
        if (json_object_size(c) != 1)
            return policy_invalid(op,
                                  "Invalid Simple-Condition: Simple-Conditions must have "
                                  "exactly one property specified.",
                                  NULL);
        if (!json_is_string(json_object_iter_value(json_object_iter(c))))
            return policy_invalid(op, "Invalid Simple-Condition: value must be a string.", NULL);
        return true;
    }
    if (!json_is_array(c))
        return policy_invalid(op, "Invalid condition test: must be a List or Object.", NULL);
    const char *name = json_string_value(json_array_get(c, 0));
    if (!name) return policy_invalid(op, "Invalid Condition: missing operation identifier.", NULL);
    bool range = strcasecmp(name, "content-length-range") == 0;
    if (!range && strcasecmp(name, "eq") != 0 && strcasecmp(name, "starts-with") != 0)
        return policy_invalid(op, "Invalid Condition: unknown operation '%.64s'.", name);
    if (json_array_size(c) != 3)
        return policy_invalid(op, "Invalid %.32s: wrong number of arguments.", name);
    json_t *a = json_array_get(c, 1), *b = json_array_get(c, 2);
    if (range && (!json_is_integer(a) || !json_is_integer(b) || json_integer_value(a) < 0 ||
                  json_integer_value(b) < json_integer_value(a)))
        return policy_invalid(op,
                              "Invalid content-length-range: the bounds must be integers, "
                              "0 <= min <= max.",
                              NULL);
    if (!range && (!json_is_string(a) || !json_is_string(b)))
        return policy_invalid(op, "Invalid %.32s: the arguments must be strings.", name);
    return true;
}

/* The document's shape: {"expiration": ISO 8601, "conditions": [...]}, nothing
 * else (names are case-sensitive). *exp is the expiration. */
static bool valid_policy(s3_op *op, json_t *pol, time_t *exp) {
    const char *k;
    json_t *v;
    json_object_foreach(pol, k, v) {
        if (strcmp(k, "expiration") != 0 && strcmp(k, "conditions") != 0)
            return policy_invalid(op, "Unexpected: \"%.64s\"", k);
    }
    json_t *e = json_object_get(pol, "expiration"), *conds = json_object_get(pol, "conditions");
    if (!e) return policy_invalid(op, "Policy missing expiration.", NULL);
    if (!expiration_time(json_string_value(e), exp)) {
        char *text = json_dumps(e, JSON_ENCODE_ANY);
        policy_invalid(op, "Invalid 'expiration' value: %.64s", text);
        free(text);
        return false;
    }
    if (!conds) return policy_invalid(op, "Policy missing conditions.", NULL);
    if (!json_is_array(conds))
        return policy_invalid(op, "Invalid 'conditions' value: must be a List.", NULL);
    size_t i;
    json_t *c;
    json_array_foreach(conds, i, c) {
        if (!valid_condition(op, c)) return false;
    }
    return true;
}

/* The form's value for a condition's field name ("$key" or "key"); the key
 * is checked with ${filename} replaced, as ceph/s3-tests expects
 * (test_post_object_set_key_from_filename: "${filename}" against
 * ["starts-with", "$key", "foo"]) and MinIO does. */
static const char *field_value(s3_op *op, const s3_post_form *f, const char *name) {
    if (*name == '$') name++;
    if (strcasecmp(name, "bucket") == 0) return op->bucket;
    if (strcasecmp(name, "key") == 0 && op->key) return op->key;
    for (size_t i = 0; i < f->fields.len; i++)
        if (strcasecmp(f->fields.items[i].key, name) == 0) return f->fields.items[i].value;
    return NULL;
}

/* One valid condition (valid_condition) against the form: false with the
 * fault set if it fails; *named: the field it covers. */
static bool condition_holds(s3_op *op, const s3_post_form *f, json_t *c, uint64_t size,
                            const char **named) {
    *named = NULL;
    if (json_is_object(c)) {
        const char *k = json_object_iter_key(json_object_iter(c));
        const char *want = json_string_value(json_object_iter_value(json_object_iter(c)));
        const char *got = field_value(op, f, k);
        *named = k;
        if (got && strcmp(want, got) == 0) return true;
    } else if (strcasecmp(json_string_value(json_array_get(c, 0)), "content-length-range") == 0) {
        json_int_t lo = json_integer_value(json_array_get(c, 1)),
                   hi = json_integer_value(json_array_get(c, 2));
        if ((json_int_t)size > hi)
            aws_fault_set(&op->f, 400, "EntityTooLarge",
                          "Your proposed upload exceeds the maximum allowed size");
        else if ((json_int_t)size < lo)
            aws_fault_set(&op->f, 400, "EntityTooSmall",
                          "Your proposed upload is smaller than the minimum allowed size");
        return (json_int_t)size >= lo && (json_int_t)size <= hi;
    } else {
        const char *how = json_string_value(json_array_get(c, 0));
        const char *name = json_string_value(json_array_get(c, 1));
        const char *want = json_string_value(json_array_get(c, 2));
        *named = *name == '$' ? name + 1 : name;
        const char *got = field_value(op, f, name);
        if (!got) got = "";
        if (strcasecmp(how, "eq") == 0 ? strcmp(got, want) == 0
                                       : strncmp(got, want, strlen(want)) == 0)
            return true;
    }
    char *text = json_dumps(c, JSON_COMPACT | JSON_ENCODE_ANY);
    policy_failed(op, "Policy Condition failed: ", text);
    free(text);
    return false;
}

/* Fields no condition needs to name: SigV4's "x-amz-signature, file, policy,
 * and field names that have an x-ignore- prefix"; SigV2's "AWSAccessKeyId,
 * signature, file, policy" and x-ignore-*. x-amz-checksum-* is checked
 * against the file itself (post_checksum), so it needs no condition either
 * (ceph/s3-tests test_post_object_upload_checksum sends one unnamed). */
static bool exempt_field(const char *name, bool v2) {
    return strcmp(name, "policy") == 0 || strncmp(name, "x-ignore-", 9) == 0 ||
           strncmp(name, "x-amz-checksum-", 15) == 0 ||
           (v2 ? strcmp(name, "awsaccesskeyid") == 0 || strcmp(name, "signature") == 0
               : strcmp(name, "x-amz-signature") == 0);
}

static bool check_policy(s3_op *op, const s3_post_form *f, json_t *pol, uint64_t size, bool v2) {
    time_t exp = 0;
    if (!valid_policy(op, pol, &exp)) return false;
    if (time_now() > exp) return policy_failed(op, "Policy expired.", NULL);
    json_t *conds = json_object_get(pol, "conditions");
    bool *covered = cl_calloc(f->fields.len + 1, sizeof *covered);
    bool ok = true;
    size_t i;
    json_t *c;
    json_array_foreach(conds, i, c) {
        const char *named = NULL;
        if (!(ok = condition_holds(op, f, c, size, &named))) break;
        for (size_t j = 0; named && j < f->fields.len; j++)
            if (strcasecmp(f->fields.items[j].key, named) == 0) covered[j] = true;
    }
    for (size_t j = 0; ok && j < f->fields.len; j++)
        if (!covered[j] && !exempt_field(f->fields.items[j].key, v2))
            ok = policy_failed(op, "Extra input fields: ", f->fields.items[j].key);
    free(covered);
    return ok;
}

/* The form's signature: SigV4 (x-amz-algorithm AWS4-HMAC-SHA256) or, without
 * x-amz-algorithm, SigV2 (AWSAccessKeyId, signature). */
static bool post_signature(s3_op *op, const s3_post_form *f, const char *pol64,
                           iam_caller *caller) {
    const char *alg = kvlist_get(&f->fields, "x-amz-algorithm");
    const char *token = kvlist_get(&f->fields, "x-amz-security-token");
    const char *akid = kvlist_get(&f->fields, "awsaccesskeyid");
    if (!alg && akid)
        return iam_authenticate_post_v2(op->s->m, akid, token, pol64,
                                        kvlist_get(&f->fields, "signature"), caller,
                                        &op->f) == IAM_AUTH_OK;
    if (!alg || strcmp(alg, "AWS4-HMAC-SHA256") != 0) {
        aws_fault_set(&op->f, 400, "InvalidArgument",
                      "Only AWS4-HMAC-SHA256 (x-amz-algorithm) or Signature Version 2 "
                      "(AWSAccessKeyId) is supported for POST policies");
        return false;
    }
    return iam_authenticate_post(op->s->m, kvlist_get(&f->fields, "x-amz-credential"),
                                 kvlist_get(&f->fields, "x-amz-date"), token, pol64,
                                 kvlist_get(&f->fields, "x-amz-signature"), caller,
                                 &op->f) == IAM_AUTH_OK;
}

/* Authenticates the form's signature (or leaves the anonymous caller) and
 * checks its policy. *caller is the signer on success. */
static bool post_auth(s3_op *op, const s3_post_form *f, iam_caller *caller, uint64_t size) {
    const char *pol64 = kvlist_get(&f->fields, "policy");
    if (!pol64) return true; /* anonymous: only what a bucket policy makes public */
    if (!post_signature(op, f, pol64, caller)) return false;
    op->c = caller;
    cl_buf raw = CL_BUF_INIT;
    json_t *pol = NULL;
    bool b64 = base64_decode(&raw, slice_cstr(pol64)) == CL_OK;
    if (b64) pol = json_loadb((const char *)raw.ptr, raw.len, JSON_REJECT_DUPLICATES, NULL);
    buf_free(&raw);
    bool ok = json_is_object(pol) ? check_policy(op, f, pol, size, caller->sigv2)
              : b64               ? policy_invalid(op, "Invalid JSON.", NULL)
                                  : policy_invalid(op, "invalid Base64 encoding.", NULL);
    json_decref(pol);
    return ok;
}

/* ---- the upload ---- */

/* key with ${filename} replaced (malloc'd), or NULL with the fault set. */
static char *form_key(s3_op *op, const s3_post_form *f) {
    const char *k = kvlist_get(&f->fields, "key");
    if (!k || !*k) {
        aws_fault_set(&op->f, 400, "InvalidArgument",
                      "Bucket POST must contain a field named 'key'.  If it is specified, please "
                      "check the order of the fields.");
        return NULL;
    }
    const char *var = strstr(k, "${filename}");
    char *key =
        var ? cl_sprintf("%.*s%s%s", (int)(var - k), k, f->filename ? f->filename : "", var + 11)
            : cl_strdup(k);
    if (strlen(key) > S3_MAX_KEY_BYTES) {
        aws_fault_set(&op->f, 400, "KeyTooLongError", "Your key is too long");
        free(key);
        return NULL;
    }
    return key;
}

static json_t *form_doc(const s3_post_form *f, const char *owner) {
    const char *ct = NULL;
    json_t *meta = json_object();
    for (size_t i = 0; i < f->fields.len; i++) {
        const cl_kv *kv = &f->fields.items[i];
        if (strcmp(kv->key, "content-type") == 0) ct = kv->value;
        if (strncmp(kv->key, "x-amz-meta-", 11) == 0)
            json_object_set_new(meta, kv->key + 11, json_string(kv->value));
    }
    return json_pack("{s:s, s:o, s:{}, s:s}", "ContentType", ct ? ct : "binary/octet-stream",
                     "Meta", meta, "Headers", "Owner", owner);
}

/* The tagging field (a Tagging XML document, as PutObjectTagging's body) into
 * doc's Tags; setting tags also needs s3:PutObjectTagging, as x-amz-tagging. */
static bool post_tags(s3_op *op, const s3_post_form *f, json_t *doc, const char *arn) {
    const char *xml = kvlist_get(&f->fields, "tagging");
    if (!xml) return true;
    cl_kvlist kv = CL_KVLIST_INIT;
    s3_xml_error xe = {0};
    if (s3_xml_parse_tagging(slice_cstr(xml), S3_TAGS_OBJECT, &kv, &xe) != CL_OK) {
        aws_fault_set(&op->f, 400, xe.code ? xe.code : "MalformedXML", "%s", xe.message);
        kvlist_free(&kv);
        return false;
    }
    bool ok = kv.len == 0 || s3_authorize(op, "s3:PutObjectTagging", arn, NULL);
    if (ok && kv.len) {
        json_t *t = json_object();
        for (size_t i = 0; i < kv.len; i++)
            json_object_set_new(t, kv.items[i].key, json_string(kv.items[i].value));
        json_object_set_new(doc, "Tags", t);
    }
    kvlist_free(&kv);
    return ok;
}

/* An x-amz-checksum-<algo> field: the file must have that checksum (AWS's
 * words for a malformed value and for a mismatch, as on PutObject); it is
 * kept with the object like a PUT's. */
static bool post_checksum(s3_op *op, const s3_post_form *f, json_t *doc) {
    for (size_t i = 0; i < f->fields.len; i++) {
        const cl_kv *kv = &f->fields.items[i];
        checksum_algo a = checksum_algo_from_header(slice_cstr(kv->key));
        if (a == CHECKSUM_NONE) continue;
        cl_buf raw = CL_BUF_INIT;
        bool valid =
            base64_decode(&raw, slice_cstr(kv->value)) == CL_OK && raw.len == checksum_len(a);
        buf_free(&raw);
        if (!valid) {
            aws_fault_set(&op->f, 400, "InvalidRequest", "Value for %s header is invalid.",
                          kv->key);
            return false;
        }
        char got[CHECKSUM_B64_MAX];
        checksum_base64(a, f->file, got);
        if (strcmp(got, kv->value) != 0) {
            aws_fault_set(&op->f, 400, "BadDigest",
                          "The %s you specified did not match the calculated checksum.",
                          checksum_algo_name(a));
            return false;
        }
        json_object_set_new(doc, "Checksum", json_pack("{s:s}", checksum_algo_name(a), got));
        return true;
    }
    return true;
}

static void post_answer(s3_op *op, const s3_post_form *f, json_t *doc) {
    const char *etag = json_string_value(json_object_get(doc, "ETag"));
    const char *status = kvlist_get(&f->fields, "success_action_status");
    char *loc = cl_sprintf("/%s/%s", op->bucket, op->key);
    http_set_header(op->resp, "ETag", etag);
    http_set_header(op->resp, "Location", loc);
    if (json_object_get(doc, "SSE")) s3_sse_headers(op->resp, json_object_get(doc, "SSE"));
    /* AWS names the version only when the bucket's versioning is Enabled */
    const char *vid = json_string_value(json_object_get(doc, "VersionId"));
    if (vid && s3_ver_state_of(op->bucket_doc) == S3_VER_ENABLED)
        http_set_header(op->resp, "x-amz-version-id", vid);
    if (status && strcmp(status, "201") == 0) {
        cl_buf *o = &op->resp->body;
        s3_xml_begin(op, "PostResponse");
        xml_text(o, "Location", loc);
        xml_text(o, "Bucket", op->bucket);
        xml_text(o, "Key", op->key);
        xml_text(o, "ETag", etag);
        s3_xml_end(op, "PostResponse");
        op->resp->status = 201;
    } else {
        op->resp->status = status && strcmp(status, "200") == 0 ? 200 : 204;
    }
    free(loc);
}

#define SSE_FIELD "x-amz-server-side-encryption"

/* The form's encryption fields (x-amz-server-side-encryption*: SSE-S3, SSE-KMS
 * with its key id and context, SSE-C's algorithm, key and key MD5) replace the
 * request's own such headers, which no policy signs: s3_sse and the
 * s3:x-amz-server-side-encryption* condition keys read the request's headers,
 * so a form gets a PUT's rules (SSE-C only over HTTPS, ...) by one mechanism. */
static void post_encryption_headers(s3_op *op, const s3_post_form *f) {
    cl_kvlist *h = &op->req->headers;
    size_t n = 0;
    for (size_t i = 0; i < h->len; i++) {
        if (strncasecmp(h->items[i].key, SSE_FIELD, strlen(SSE_FIELD)) == 0) {
            free(h->items[i].key);
            cl_free_secret(h->items[i].value);
        } else {
            h->items[n++] = h->items[i];
        }
    }
    h->len = n;
    for (size_t i = 0; i < f->fields.len; i++)
        if (strncmp(f->fields.items[i].key, SSE_FIELD, strlen(SSE_FIELD)) == 0)
            kvlist_add(h, f->fields.items[i].key, f->fields.items[i].value);
}

static bool post_refusals(s3_op *op, const s3_post_form *f) {
    const char *acl = kvlist_get(&f->fields, "acl"); /* ACLs are disabled (s3_acl.c) */
    if (acl && strcmp(acl, "private") != 0 && strcmp(acl, "bucket-owner-full-control") != 0) {
        aws_fault_set(&op->f, 400, "AccessControlListNotSupported",
                      "The bucket does not allow ACLs");
        return true;
    }
    if (!f->has_file) {
        aws_fault_set(&op->f, 400, "InvalidArgument",
                      "POST requires exactly one file upload per request.");
        return true;
    }
    return false;
}

void s3_post_object(s3_op *op) {
    op->req->op = "PostObject";
    s3_post_form f = {0};
    iam_caller signer = {0};
    const iam_caller *orig = op->c;
    if (!s3_post_form_parse(kvlist_get_ci(&op->req->headers, "Content-Type"),
                            buf_slice(&op->req->body), &f)) {
        aws_fault_set(&op->f, 400, "MalformedPOSTRequest",
                      "The body of your POST request is not well-formed multipart/form-data.");
    } else if (!post_refusals(op, &f) && s3_load_bucket(op) && (op->key = form_key(op, &f)) &&
               post_auth(op, &f, &signer, f.file.len)) {
        post_encryption_headers(op, &f);
        char *arn = s3_object_arn(op->bucket, op->key), msg[256];
        json_t *doc = form_doc(&f, json_string_value(json_object_get(op->bucket_doc, "Owner")));
        if (s3_authorize(op, "s3:PutObject", arn, NULL) && post_tags(op, &f, doc, arn) &&
            post_checksum(op, &f, doc)) {
            if (s3_blob_from(op, NULL, f.file, doc, msg, sizeof msg) != CL_OK) {
                if (!op->f.code) aws_fault_set(&op->f, 500, "InternalError", "%s", msg);
            } else {
                s3_event ev = s3_op_event(op, "ObjectCreated:Post");
                if (s3_commit_object_doc(op, op->bucket, op->bucket_id, op->key, doc, &ev))
                    post_answer(op, &f, doc);
            }
        }
        json_decref(doc);
        free(arn);
    }
    op->c = orig;
    iam_caller_free(&signer);
    s3_post_form_free(&f);
}
