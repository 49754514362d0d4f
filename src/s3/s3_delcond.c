/* s3_delcond.c — conditional deletes: DeleteObject's If-Match,
 * x-amz-if-match-last-modified-time and x-amz-if-match-size, and DeleteObjects'
 * per-object <ETag>, <LastModifiedTime> and <Size> (AWS API reference
 * DeleteObject / ObjectIdentifier; User Guide "How to perform conditional
 * deletes"). Every condition given must hold for the object the delete
 * targets: version vid, else the current version. A mismatch is 412
 * PreconditionFailed and nothing is deleted; when there is no such object
 * the delete does nothing and succeeds (204, or <Deleted>), as the API reference
 * says. The check runs inside the delete's own store transaction, so no write
 * can come between them. A current delete marker is there but has no ETag or
 * size: "*" finds nothing to delete, any other condition fails (412). AWS
 * documents LastModifiedTime and Size for directory buckets only; they are
 * honoured here rather than ignored (a condition is never dropped). */
#include "s3/s3_internal.h"

#include <stdlib.h>
#include <string.h>

bool s3_del_cond_any(const s3_del_cond *c) {
    return c->etag || c->has_mtime || c->has_size;
}

static bool bad_header(s3_op *op, const char *name) {
    aws_fault_set(&op->f, 400, "InvalidArgument", "Invalid value for header %s", name);
    return false;
}

/* An HTTP date (what SDKs send) or ISO 8601. */
static bool parse_time(const char *v, time_t *t) {
    cl_slice s = slice_trim(slice_cstr(v));
    return time_parse_http(s, t) == CL_OK || time_parse_iso8601(s, t) == CL_OK;
}

bool s3_del_cond_parse(s3_op *op, s3_del_cond *c) {
    *c = (s3_del_cond){0};
    c->etag = kvlist_get_ci(&op->req->headers, "If-Match");
    const char *mt = kvlist_get_ci(&op->req->headers, "x-amz-if-match-last-modified-time");
    const char *sz = kvlist_get_ci(&op->req->headers, "x-amz-if-match-size");
    if (mt && !parse_time(mt, &c->mtime))
        return bad_header(op, "x-amz-if-match-last-modified-time");
    if (sz && (slice_to_u64(slice_trim(slice_cstr(sz)), &c->size) != CL_OK || c->size > INT64_MAX))
        return bad_header(op, "x-amz-if-match-size");
    c->has_mtime = mt != NULL;
    c->has_size = sz != NULL;
    return true;
}

bool s3_del_cond_authorize(s3_op *op, const s3_del_cond *c, const char *key, const char *vid) {
    if (!s3_del_cond_any(c)) return true;
    char *arn = s3_object_arn(op->bucket, key);
    bool ok = s3_authorize(op, vid ? "s3:GetObjectVersion" : "s3:GetObject", arn, NULL);
    free(arn);
    return ok;
}

/* The version the delete targets (NULL: none). */
static json_t *target(store *st, const char *bucket, const char *bucket_id, const char *key,
                      const char *vid) {
    json_t *doc = NULL;
    if (vid) {
        json_t *bucket_doc = NULL;
        if (s3_bucket_txn_load(st, bucket, bucket_id, &bucket_doc) == CL_OK)
            s3_ver_find(st, bucket_doc, bucket_id, key, vid, &doc, NULL);
        json_decref(bucket_doc);
        return doc;
    }
    if (s3_ver_latest(st, bucket_id, key, &doc) == CL_OK) return doc; /* versioning set */
    char *text = NULL;
    if (store_get(st, "object", bucket_id, key, &text) == CL_OK) doc = json_loads(text, 0, NULL);
    free(text);
    return doc;
}

static bool is_star(const char *etag) {
    return etag && slice_eq_cstr(slice_trim(slice_cstr(etag)), "*");
}

static bool holds(const s3_del_cond *c, json_t *doc) {
    bool marker = json_is_true(json_object_get(doc, "DeleteMarker"));
    const char *etag = json_string_value(json_object_get(doc, "ETag"));
    if (c->etag && marker && !is_star(c->etag)) return false; /* a marker has no ETag */
    if (c->etag && !s3_etag_listed(c->etag, etag ? etag : "\"\"")) return false;
    if (c->has_size && (marker || !json_is_integer(json_object_get(doc, "Size")) ||
                        (uint64_t)json_integer_value(json_object_get(doc, "Size")) != c->size))
        return false;
    if (c->has_mtime) {
        time_t t = 0;
        const char *lm = json_string_value(json_object_get(doc, "LastModified"));
        if (!lm || time_parse_iso8601(slice_cstr(lm), &t) != CL_OK || t != c->mtime) return false;
    }
    return true;
}

cl_err s3_del_cond_txn(store *st, const char *bucket, const char *bucket_id, const char *key,
                       const char *vid, const s3_del_cond *c) {
    if (!c || !s3_del_cond_any(c)) return CL_OK;
    json_t *doc = target(st, bucket, bucket_id, key, vid);
    cl_err e = CL_OK;
    if (!doc || (is_star(c->etag) && !c->has_mtime && !c->has_size &&
                 json_is_true(json_object_get(doc, "DeleteMarker"))))
        e = CL_ERR_NOT_FOUND;
    else if (!holds(c, doc))
        e = CL_ERR_CONFLICT;
    json_decref(doc);
    return e;
}
