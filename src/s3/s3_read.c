/* s3_read.c — GetObject, HeadObject and DeleteObject. Reads send the blob's
 * file zero-copy (sendfile through libmicrohttpd), with Range (single range, as
 * S3) and the conditional headers evaluated in RFC 7232's order. A response that has started
 * delivers the object it started with (its blobs are pinned, then held open or pinned by the
 * reader), whatever writes come meanwhile. */
#include "s3/s3_internal.h"
#include "s3/s3_mpck.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

json_t *s3_object_load(s3_op *op) {
    const char *vid = kvlist_get(&op->query, "versionId");
    if (vid) return s3_object_load_version(op, vid);
    char *text = NULL;
    json_t *o = NULL;
    if (store_get(op->s->st, "object", op->bucket_id, op->key, &text) == CL_OK)
        o = json_loads(text, 0, NULL);
    free(text);
    if (o) return o;
    /* As S3: a missing key is reported as such only to callers who may list the
     * bucket; others get AccessDenied, so keys cannot be probed. */
    char *arn = s3_bucket_arn(op->bucket);
    if (s3_authorize(op, "s3:ListBucket", arn, NULL)) {
        aws_fault_set(&op->f, 404, "NoSuchKey", "The specified key does not exist.");
        json_t *latest = NULL; /* deleted by a marker: AWS says so in headers */
        if (s3_ver_state_of(op->bucket_doc) != S3_VER_NONE &&
            s3_ver_latest(op->s->st, op->bucket_id, op->key, &latest) == CL_OK &&
            json_is_true(json_object_get(latest, "DeleteMarker"))) {
            op->fault_delete_marker = true;
            op->fault_version_id =
                cl_strdup(json_string_value(json_object_get(latest, "VersionId")));
        }
        json_decref(latest);
    }
    free(arn);
    return NULL;
}

bool s3_etag_listed(const char *list, const char *etag) {
    if (slice_eq_cstr(slice_trim(slice_cstr(list)), "*")) return true;
    cl_slice l = slice_cstr(list), item;
    cl_slice bare = slice_cstr(etag);
    if (bare.len >= 2) bare = slice_sub(bare, 1, bare.len - 2);
    while (slice_split(&l, ',', &item)) {
        item = slice_trim(item);
        if (slice_starts_with(item, "W/")) item = slice_sub(item, 2, item.len);
        if (item.len >= 2 && item.ptr[0] == '"') item = slice_sub(item, 1, item.len - 2);
        if (slice_eq(item, bare)) return true;
    }
    return false;
}

/* 0 to go on, else the status the conditions decide (304 or 412). */
static int conditions(const http_request *req, const char *etag, time_t modified) {
    const char *im = kvlist_get_ci(&req->headers, "If-Match");
    const char *inm = kvlist_get_ci(&req->headers, "If-None-Match");
    const char *ims = kvlist_get_ci(&req->headers, "If-Modified-Since");
    const char *ius = kvlist_get_ci(&req->headers, "If-Unmodified-Since");
    time_t t;
    if (im && !s3_etag_listed(im, etag)) return 412;
    if (!im && ius && time_parse_http(slice_cstr(ius), &t) == CL_OK && modified > t) return 412;
    if (inm && s3_etag_listed(inm, etag)) return 304;
    if (!inm && ims && time_parse_http(slice_cstr(ims), &t) == CL_OK && modified <= t) return 304;
    return 0;
}

/* "bytes=a-b" | "bytes=a-" | "bytes=-n" -> [*off, *off + *len). 0 ok, 1 ignore, -1 unsatisfiable.
 */
static int parse_range(const char *h, uint64_t size, uint64_t *off, uint64_t *len) {
    cl_slice s = slice_trim(slice_cstr(h));
    if (!slice_starts_with(s, "bytes=") || slice_find(s, ',') >= 0) return 1;
    s = slice_sub(s, 6, s.len);
    ptrdiff_t dash = slice_find(s, '-');
    if (dash < 0) return 1;
    cl_slice a = slice_sub(s, 0, (size_t)dash), b = slice_sub(s, (size_t)dash + 1, s.len);
    uint64_t x = 0, y = 0;
    if (a.len == 0) { /* suffix */
        if (slice_to_u64(b, &y) != CL_OK) return 1;
        if (y == 0 || size == 0) return -1;
        *len = y > size ? size : y;
        *off = size - *len;
        return 0;
    }
    if (slice_to_u64(a, &x) != CL_OK || (b.len && slice_to_u64(b, &y) != CL_OK)) return 1;
    if (b.len && y < x) return 1;
    if (x >= size) return -1;
    uint64_t end = b.len && y < size ? y : size - 1;
    *off = x;
    *len = end - x + 1;
    return 0;
}

/* ?partNumber=N (GET/HEAD): the bytes of part N of a multipart object (with
 * x-amz-mp-parts-count), or of a simple object's only "part" 1, the whole
 * object. 1: no partNumber; 0: [*off, *off + *len); -1: fault set (a number out
 * of 1..10000 400 InvalidArgument, with a Range 400 InvalidRequest, a part the
 * object does not have 416 InvalidPartNumber, as AWS answers). */
static int part_range(s3_op *op, json_t *o, uint64_t *off, uint64_t *len) {
    const char *pn = kvlist_get(&op->query, "partNumber");
    if (!pn) return 1;
    uint64_t n = 0;
    if (slice_to_u64(slice_cstr(pn), &n) != CL_OK || n < 1 || n > 10000) {
        aws_fault_set(&op->f, 400, "InvalidArgument",
                      "Part number must be an integer between 1 and 10000, inclusive");
        return -1;
    }
    if (kvlist_get_ci(&op->req->headers, "Range")) {
        aws_fault_set(&op->f, 400, "InvalidRequest",
                      "Cannot specify both Range header and partNumber query parameter");
        return -1;
    }
    json_t *parts = json_object_get(o, "Parts");
    size_t count = parts ? json_array_size(parts) : 1;
    if (n > count) {
        aws_fault_set(&op->f, 416, "InvalidPartNumber",
                      "The requested partnumber is not satisfiable");
        return -1;
    }
    *off = 0;
    *len = (uint64_t)json_integer_value(json_object_get(o, "Size"));
    for (size_t i = 0; parts && i < n; i++) {
        uint64_t psize =
            (uint64_t)json_integer_value(json_object_get(json_array_get(parts, i), "Size"));
        if (i + 1 < n)
            *off += psize;
        else
            *len = psize;
    }
    if (parts) {
        char c[24];
        snprintf(c, sizeof c, "%zu", count);
        http_set_header(op->resp, "x-amz-mp-parts-count", c);
    }
    return 0;
}

/* AWS (user-defined object metadata): a value with non-US-ASCII characters is
 * "encoded as per RFC 2047 to make them mail-safe before returning"
 * (=?UTF-8?B?<base64>?=); an ASCII value is returned as is. */
static void meta_header(http_response *r, const char *name, const char *value) {
    bool ascii = true;
    for (const unsigned char *p = (const unsigned char *)value; *p && ascii; p++)
        ascii = *p < 0x80;
    if (ascii) {
        http_set_header(r, name, value);
        return;
    }
    cl_buf enc = CL_BUF_INIT;
    buf_append_cstr(&enc, "=?UTF-8?B?");
    base64_encode(&enc, slice_cstr(value));
    buf_append_cstr(&enc, "?=");
    http_set_header(r, name, buf_cstr(&enc));
    buf_free(&enc);
}

static void object_headers(http_response *r, json_t *o) {
    http_set_header(r, "ETag", json_string_value(json_object_get(o, "ETag")));
    s3_set_time_header(r, "Last-Modified", json_string_value(json_object_get(o, "LastModified")));
    http_set_header(r, "Content-Type", json_string_value(json_object_get(o, "ContentType")));
    http_set_header(r, "Accept-Ranges", "bytes");
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(o, "Meta"), k, v) {
        char *name = cl_sprintf("x-amz-meta-%s", k);
        meta_header(r, name, json_string_value(v));
        free(name);
    }
    json_object_foreach(json_object_get(o, "Headers"), k, v)
        http_set_header(r, k, json_string_value(v));
}

/* GET's response-* query parameters: the header each one sets in the answer
 * (AWS, GetObject "Overriding response header values through the request"). */
static const char *const OVERRIDES[][2] = {
    {"response-content-type", "Content-Type"},
    {"response-content-language", "Content-Language"},
    {"response-expires", "Expires"},
    {"response-cache-control", "Cache-Control"},
    {"response-content-disposition", "Content-Disposition"},
    {"response-content-encoding", "Content-Encoding"},
};
#define N_OVERRIDES (sizeof OVERRIDES / sizeof OVERRIDES[0])

/* Signed requests only: "you cannot use these response header parameters with
 * anonymous requests" -> 400 InvalidRequest. */
static bool overrides_allowed(s3_op *op) {
    for (size_t i = 0; i < N_OVERRIDES; i++)
        if (kvlist_get(&op->query, OVERRIDES[i][0]) && op->c->p.type == PRINCIPAL_ANONYMOUS) {
            aws_fault_set(&op->f, 400, "InvalidRequest",
                          "Request specific response headers cannot be used for anonymous GET "
                          "requests.");
            return false;
        }
    return true;
}

/* Replaces the object's stored header (if any) rather than adding a second one. */
static void apply_overrides(s3_op *op) {
    cl_kvlist *h = &op->resp->headers;
    for (size_t i = 0; i < N_OVERRIDES; i++) {
        const char *v = kvlist_get(&op->query, OVERRIDES[i][0]);
        if (!v) continue;
        size_t j = 0;
        while (j < h->len && strcasecmp(h->items[j].key, OVERRIDES[i][1]) != 0)
            j++;
        if (j == h->len) {
            http_set_header(op->resp, OVERRIDES[i][1], v);
        } else {
            free(h->items[j].value);
            h->items[j].value = cl_strdup(v);
        }
    }
}

/* HEAD sends no body, only its length: nothing is read or decrypted (so a HEAD
 * of an SSE-KMS object needs no kms:Decrypt, as in S3). */
static long no_body(void *arg, uint64_t pos, char *buf, size_t max) {
    (void)arg, (void)pos, (void)buf, (void)max;
    return -1;
}

/* The object's document with its blobs pinned (s3_object_pin), so the bytes
 * it names stay until the response is built (the reader or the open fd then
 * keeps them). A blob already gone means a write replaced the document after
 * it was read: read it again. Unpin with s3_object_unpin. */
static json_t *load_pinned(s3_op *op) {
    json_t *prev = NULL;
    for (int attempt = 0; attempt < 8; attempt++) {
        json_t *o = s3_object_load(op);
        if (!o || s3_object_pin(op->s, o)) {
            json_decref(prev);
            return o;
        }
        bool same = prev && json_equal(prev, o); /* not replaced: the bytes are lost */
        json_decref(prev);
        prev = o;
        if (same) break;
    }
    json_decref(prev);
    aws_fault_set(&op->f, 500, "InternalError", "the object's data is missing");
    return NULL;
}

static void send_body(s3_op *op, json_t *o, uint64_t off, uint64_t len) {
    if (strcmp(op->req->method, "HEAD") == 0) {
        op->resp->reader = no_body;
        op->resp->reader_length = len;
        return;
    }
    if (json_object_get(o, "SSE") || json_object_get(o, "Parts")) {
        /* decrypt the segments the range covers / read across the part blobs */
        s3_obj_respond(op, o, off, len);
        return;
    }
    blob_reader *r = NULL;
    if (blob_open(op->s->blobs, json_string_value(json_object_get(o, "Blob")), &r) != CL_OK) {
        aws_fault_set(&op->f, 500, "InternalError", "the object's data is missing");
        return;
    }
    op->resp->fd = blob_take_fd(r);
    op->resp->fd_offset = off;
    op->resp->fd_length = len;
    blob_close(r);
}

void s3_get_object(s3_op *op, bool head) {
    const char *vid = NULL;
    bool ok = overrides_allowed(op) && s3_load_bucket(op) && s3_ver_query(op, &vid) &&
              s3_authorize_get_object(op);
    json_t *o = ok ? load_pinned(op) : NULL;
    if (!o) return;
    const char *etag = json_string_value(json_object_get(o, "ETag"));
    time_t modified = 0;
    time_parse_iso8601(slice_cstr(json_string_value(json_object_get(o, "LastModified"))),
                       &modified);
    uint64_t size = (uint64_t)json_integer_value(json_object_get(o, "Size")), off = 0, len = size;
    int cond = conditions(op->req, etag, modified);
    const char *range = kvlist_get_ci(&op->req->headers, "Range");
    int rr = part_range(op, o, &off, &len);
    if (rr < 0) { /* a bad partNumber: op->f says why */
        s3_object_unpin(op->s, o);
        json_decref(o);
        return;
    }
    /* A satisfied Range sends a slice the stored checksum does not describe: no
     * x-amz-checksum-* then (as S3; see minio/minio#17105, "This matches AWS S3
     * behavior"). ?partNumber=N sends part N, whose own checksum s3_mpck_read_headers gives. */
    bool ranged = false;
    if (rr == 1 && range) {
        rr = parse_range(range, size, &off, &len);
        ranged = rr == 0;
    }
    if (cond == 412) {
        aws_fault_set(&op->f, 412, "PreconditionFailed",
                      "At least one of the pre-conditions you specified did not hold");
    } else if (cond == 304) {
        op->resp->status = 304;
        http_set_header(op->resp, "ETag", etag);
    } else if (rr < 0) {
        aws_fault_set(&op->f, 416, "InvalidRange", "The requested range is not satisfiable");
        char cr[48];
        snprintf(cr, sizeof cr, "bytes */%" PRIu64, size);
        http_set_header(op->resp, "Content-Range", cr);
    } else {
        if (!s3_sse_key_check(op, o)) { /* SSE-C: the request must carry the key */
            s3_object_unpin(op->s, o);
            json_decref(o);
            return;
        }
        object_headers(op->resp, o);
        s3_ver_header(op, o);
        s3_tagging_count_header(op->resp, o);
        s3_sse_headers(op->resp, json_object_get(o, "SSE"));
        if (!ranged) s3_mpck_read_headers(op, o); /* a checksum describes the bytes sent */
        apply_overrides(op);
        op->resp->status = rr == 0 ? 206 : 200;
        if (rr == 0 && len == 0) { /* an empty part: no satisfiable range to show */
            op->resp->status = 200;
        } else if (rr == 0) {
            char cr[80];
            snprintf(cr, sizeof cr, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, off, off + len - 1,
                     size);
            http_set_header(op->resp, "Content-Range", cr);
        }
        send_body(op, o, off, len);
        (void)head; /* libmicrohttpd sends no body for HEAD, only its length */
    }
    s3_object_unpin(op->s, o); /* the body holds its own: an open fd or the reader's pins */
    json_decref(o);
}

typedef struct {
    const char *bucket, *bucket_id, *key, *vid;
    s3_event *ev;
    s3_ver_deletion *r;
    const s3_del_cond *cond;
    bool skipped; /* a condition found nothing to delete */
} obj_del;

static cl_err delete_txn(store *st, void *arg) {
    obj_del *d = arg;
    s3_ver_deletion_free(d->r); /* a retried transaction starts over */
    cl_err e = s3_del_cond_txn(st, d->bucket, d->bucket_id, d->key, d->vid, d->cond);
    d->skipped = e == CL_ERR_NOT_FOUND;
    if (e == CL_ERR_NOT_FOUND) return CL_OK; /* nothing written: the commit is empty */
    if (e != CL_OK) return e;
    return s3_object_delete_txn(st, d->bucket, d->bucket_id, d->key, d->vid, d->ev, d->r);
}

/* DeleteObject: with ?versionId that version goes for good (s3:DeleteObjectVersion);
 * without, in a bucket with versioning set, a delete marker is put on top. */
void s3_object_delete(s3_op *op) {
    const char *vid = NULL;
    char *arn = s3_object_arn(op->bucket, op->key);
    s3_del_cond cond;
    bool ok = s3_load_bucket(op) && s3_ver_query(op, &vid) &&
              s3_authorize(op, vid ? "s3:DeleteObjectVersion" : "s3:DeleteObject", arn, NULL) &&
              s3_del_cond_parse(op, &cond) && s3_del_cond_authorize(op, &cond, op->key, vid);
    free(arn);
    if (!ok) return;
    /* metadata first (one transaction), then bytes: a crash in between leaves
     * only garbage */
    s3_ver_deletion r = {0};
    s3_event ev = s3_op_event(op, "ObjectRemoved:Delete");
    obj_del d = {op->bucket, op->bucket_id, op->key, vid, s3_op_notifies(op, &ev), &r, &cond};
    cl_err e = store_txn(op->s->st, delete_txn, &d);
    if (e == CL_ERR_CONFLICT) {
        aws_fault_set(&op->f, 412, "PreconditionFailed",
                      "At least one of the pre-conditions you specified did not hold");
    } else if (e == CL_OK && d.skipped) {
        op->resp->status = 204; /* a condition and no such object: nothing to delete */
    } else if (e == CL_OK) {
        s3_event_after_commit(&ev);
        if (r.removed) s3_delete_object_blobs(op->s, r.removed);
        if (r.version_id) http_set_header(op->resp, "x-amz-version-id", r.version_id);
        if (r.marker) http_set_header(op->resp, "x-amz-delete-marker", "true");
        op->resp->status = 204; /* S3 answers 204 whether or not the key existed */
    } else {
        aws_fault_set(&op->f, 500, "InternalError", "could not delete the object");
    }
    s3_ver_deletion_free(&r);
}
