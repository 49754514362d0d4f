/* s3_owner.c — S3 for other parts of Cloister, with no HTTP request behind
 * the call: reading an object as its bucket owner (a local worker fetching a
 * task's input: SSE-S3 decrypted with the node key, SSE-KMS through the key
 * service as the owner account's root, iam_caller_root), and the question a
 * GetObject request would ask (s3_check_read: identity, bucket policy, Block
 * Public Access, public objects) for a caller known some other way.
 *
 * Both run the very code a request runs, on an internal s3_op (s3_owner_op)
 * whose request is empty (no headers, no condition keys from it). */
#include "s3/s3_internal.h"

#include <stdlib.h>
#include <string.h>

void s3_owner_op_init(s3_owner_op *o, s3 *s, const iam_caller *c, const http_request *req,
                      const char *bucket, const char *key) {
    memset(o, 0, sizeof *o);
    o->req.method = "GET";
    o->req.path = "";
    o->req.query = "";
    s3_op *op = &o->op;
    *op = (s3_op){.s = s, .c = c, .req = req ? (http_request *)req : &o->req, .resp = &o->resp};
    op->bucket = cl_strdup(bucket);
    op->key = key ? cl_strdup(key) : NULL;
}

void s3_owner_op_free(s3_owner_op *o) {
    s3_op_free(&o->op);
    buf_free(&o->resp.body);
    kvlist_free(&o->resp.headers);
}

static cl_err fault_err(const aws_fault *f) {
    if (f->status == 404) return CL_ERR_NOT_FOUND;
    if (f->status == 403 || f->status == 405) return CL_ERR_DENIED;
    return CL_ERR_INVALID;
}

static void fault_msg(const aws_fault *f, const char *what, char *msg, size_t msglen) {
    snprintf(msg, msglen, "%s: %s (%s)", what, f->code ? f->code : "Error", f->message);
}

static json_t *object_doc(s3 *s, const char *bucket_id, const char *key) {
    char *text = NULL;
    json_t *o = NULL;
    if (store_get(s->st, "object", bucket_id, key, &text) == CL_OK) o = json_loads(text, 0, NULL);
    free(text);
    return o;
}

/* Copies the whole plaintext of o into out. */
static cl_err read_all(s3_op *op, json_t *o, cl_buf *out) {
    uint64_t size = (uint64_t)json_integer_value(json_object_get(o, "Size"));
    s3_obj_reader *r = NULL;
    if (!s3_obj_reader_open(op, o, NULL, &r)) return fault_err(&op->f);
    buf_clear(out);
    cl_err e = CL_OK;
    char chunk[65536];
    for (uint64_t off = 0; e == CL_OK && off < size;) {
        size_t n = size - off < sizeof chunk ? (size_t)(size - off) : sizeof chunk;
        e = s3_obj_reader_read(r, off, chunk, n);
        if (e == CL_OK) buf_append(out, chunk, n);
        off += n;
    }
    s3_obj_reader_free(r);
    return e;
}

/* The bucket's owner account (malloc'd), or NULL if there is no such bucket. */
static char *bucket_owner(s3 *s, const char *bucket) {
    s3_bucket_entry *e = s3_bucket_acquire(s, bucket);
    if (!e) return NULL;
    json_t *doc = s3_bucket_entry_doc_copy(e);
    const char *owner = json_string_value(json_object_get(doc, "Owner"));
    char *r = owner ? cl_strdup(owner) : NULL;
    json_decref(doc);
    s3_bucket_release(s, e);
    return r;
}

cl_err s3_read_object_as_owner(s3 *s, const char *bucket, const char *key, const char *version_id,
                               size_t max, cl_buf *out, char **etag, char *msg, size_t msglen) {
    if (etag) *etag = NULL;
    char *owner = bucket_owner(s, bucket);
    if (!owner) {
        snprintf(msg, msglen, "bucket %s does not exist", bucket);
        return CL_ERR_NOT_FOUND;
    }
    iam_caller root;
    iam_caller_root(&root, owner);
    s3_owner_op o;
    s3_owner_op_init(&o, s, &root, NULL, bucket, key);
    cl_err e = CL_OK;
    json_t *obj = NULL;
    if (!s3_load_bucket(&o.op) || !(obj = object_doc(s, o.op.bucket_id, key)) ||
        (version_id && strcmp(version_id, "null") != 0)) {
        snprintf(msg, msglen, "s3://%s/%s%s%s does not exist", bucket, key,
                 version_id ? " version " : "", version_id ? version_id : "");
        e = CL_ERR_NOT_FOUND;
    } else if ((uint64_t)json_integer_value(json_object_get(obj, "Size")) > max) {
        snprintf(msg, msglen, "s3://%s/%s is larger than %zu bytes", bucket, key, max);
        e = CL_ERR_TOO_LARGE;
    } else if (json_object_get(obj, "SSE") &&
               json_string_value(json_object_get(json_object_get(obj, "SSE"), "Kind")) &&
               strcmp(json_string_value(json_object_get(json_object_get(obj, "SSE"), "Kind")),
                      "C") == 0) {
        snprintf(msg, msglen, "s3://%s/%s is encrypted with a customer key (SSE-C)", bucket, key);
        e = CL_ERR_DENIED;
    } else if ((e = read_all(&o.op, obj, out)) != CL_OK) {
        if (o.op.f.code)
            fault_msg(&o.op.f, "could not read the object", msg, msglen);
        else
            snprintf(msg, msglen, "could not read s3://%s/%s: %s", bucket, key, cl_err_str(e));
    } else if (etag) {
        *etag = cl_strdup(json_string_value(json_object_get(obj, "ETag")));
    }
    json_decref(obj);
    s3_owner_op_free(&o);
    iam_caller_free(&root);
    free(owner);
    return e;
}

cl_err s3_check_read(s3 *s, const iam_caller *c, const http_request *req, const char *bucket,
                     const char *key, char *msg, size_t msglen) {
    s3_owner_op o;
    s3_owner_op_init(&o, s, c, req, bucket, key);
    cl_err e = CL_OK;
    if (!s3_load_bucket(&o.op)) {
        snprintf(msg, msglen, "bucket %s does not exist", bucket);
        e = CL_ERR_NOT_FOUND;
    } else if (!s3_authorize_get_object(&o.op)) {
        snprintf(msg, msglen, "AccessDenied: %s may not s3:GetObject on arn:aws:s3:::%s/%s",
                 c->arn ? c->arn : "an anonymous caller", bucket, key);
        e = CL_ERR_DENIED;
    }
    s3_owner_op_free(&o);
    return e;
}
