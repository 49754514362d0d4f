/* s3_multipart.c — multipart uploads. Each part is a durable blob of its own,
 * recorded as a `part` item (scope "bucketId/uploadId", name the zero-padded part
 * number) once its bytes are on disk. CompleteMultipartUpload checks the client's
 * list (order, ETags, 5 MiB minimum for all but the last part) and commits one
 * object document listing the part blobs, so completing copies no bytes; GETs
 * stream across the parts. Parts not named in the list are deleted.
 * Meta store kinds (scoped by the bucket's Id, never its name): upload (bucketId /
 * uploadId) {Key, Initiated, Owner, ContentType, Meta, Headers, Tags?}; part
 * (bucketId/uploadId / %05d) {PartNumber, Blob, Size, ETag, LastModified, Checksum?};
 * upload_done (bucketId / uploadId) {Key, ETag, Completed, SSE?}.
 *
 * Atomicity: Complete is ONE meta-store transaction (read the upload and its
 * parts, write the object, delete the part and upload items, write the
 * upload_done record); Abort and a part's commit are one transaction each, and
 * a part is recorded only while its upload exists. So a part replaced or an
 * upload aborted never races a completion, and every blob is deleted only after
 * the commit that removed the last item naming it: the replaced object's blobs
 * and the parts left out of the list. A crash after the commit leaves only
 * unnamed blobs (GC garbage); a retried Complete (a client retry, or two at
 * once) finds the upload_done record and answers the same 200 and ETag, as S3
 * does (shown against real S3 in github.com/adobe/S3Mock/issues/2586; Ceph's
 * s3-tests check the same ETag on a retry, ceph/s3-tests#739), without touching
 * the object. upload_done records go after a day (GC).
 * Test hook: CLOISTER_TEST_CRASH_AT=complete-after-commit makes the server
 * _exit(9) right after a Complete's commit (crash tests only). */
#include "s3/s3_internal.h"

#include "crypto/crypto.h"
#include "s3/s3_mpck.h"
#include "s3/s3_xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S3_MIN_PART_SIZE (5u << 20)

static char *part_scope(const char *bucket, const char *upload_id) {
    return cl_sprintf("%s/%s", bucket, upload_id);
}

static json_t *load_json(store *st, const char *kind, const char *scope, const char *name) {
    char *text = NULL;
    json_t *j = NULL;
    if (store_get(st, kind, scope, name, &text) == CL_OK) j = json_loads(text, 0, NULL);
    free(text);
    return j;
}

static cl_err save_json(store *st, const char *kind, const char *scope, const char *name,
                        json_t *j) {
    char *text = json_dumps(j, JSON_COMPACT);
    cl_err e = store_put(st, kind, scope, name, text);
    free(text);
    return e;
}

static void no_such_upload(s3_op *op) {
    aws_fault_set(
        &op->f, 404, "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload "
        "may have been aborted or completed.");
}

static bool key_is(json_t *doc, const char *key) {
    const char *k = json_string_value(json_object_get(doc, "Key"));
    return k && key && strcmp(k, key) == 0;
}

/* The upload named by uploadId, if it belongs to op->key. */
static json_t *load_upload(s3_op *op, const char *upload_id) {
    json_t *u = load_json(op->s->st, "upload", op->bucket_id, upload_id);
    if (key_is(u, op->key)) return u;
    json_decref(u);
    no_such_upload(op);
    return NULL;
}

static bool authorize_key(s3_op *op, const char *action) {
    char *arn = s3_object_arn(op->bucket, op->key);
    bool ok = s3_authorize(op, action, arn, NULL);
    free(arn);
    return ok;
}

typedef struct {
    s3_op *op;
    const char *id;
    json_t *upload;
} upload_new;

static cl_err create_txn(store *st, void *arg) {
    upload_new *c = arg;
    CL_TRY(s3_bucket_txn_check(st, c->op->bucket, c->op->bucket_id));
    return save_json(st, "upload", c->op->bucket_id, c->id, c->upload);
}

void s3_create_multipart(s3_op *op) {
    op->req->op = "CreateMultipartUpload";
    if (!s3_load_bucket(op) || !authorize_key(op, "s3:PutObject") || !s3_check_acl_headers(op) ||
        !s3_check_request_tags(op))
        return;
    json_t *u = s3_request_metadata(op->req);
    if (!s3_mpck_create(op, u) ||
        !s3_sse_begin_upload(op, u)) { /* the encryption is decided now, for every part */
        json_decref(u);
        return;
    }
    uint8_t raw[24];
    crypto_random(raw, sizeof raw);
    cl_buf id = CL_BUF_INIT;
    hex_encode(&id, slice_of(raw, sizeof raw));
    char ts[21];
    time_format_iso8601(time_now(), ts);
    json_object_set_new(u, "Key", json_string(op->key));
    json_object_set_new(u, "Initiated", json_string(ts));
    json_object_set_new(u, "Owner", json_string(op->c->account ? op->c->account : ""));
    upload_new c = {op, buf_cstr(&id), u};
    cl_err e = store_txn(op->s->st, create_txn, &c);
    if (e == CL_OK) s3_sse_headers(op->resp, json_object_get(u, "SSE"));
    if (e == CL_OK) s3_mpck_headers(op->resp, u);
    json_decref(u);
    if (e != CL_OK) {
        buf_free(&id);
        if (e == CL_ERR_NOT_FOUND)
            aws_fault_set(&op->f, 404, "NoSuchBucket", "The specified bucket does not exist");
        else
            aws_fault_set(&op->f, 500, "InternalError", "could not record the upload");
        return;
    }
    cl_buf *o = &op->resp->body;
    s3_xml_begin(op, "InitiateMultipartUploadResult");
    xml_text(o, "Bucket", op->bucket);
    xml_text(o, "Key", op->key);
    xml_text(o, "UploadId", buf_cstr(&id));
    s3_xml_end(op, "InitiateMultipartUploadResult");
    buf_free(&id);
}

json_t *s3_check_part_target(s3_op *op, const char *upload_id, int *part_number) {
    const char *pn = kvlist_get(&op->query, "partNumber");
    uint64_t n = 0;
    if (!pn || slice_to_u64(slice_cstr(pn), &n) != CL_OK || n < 1 || n > 10000) {
        aws_fault_set(&op->f, 400, "InvalidArgument",
                      "Part number must be an integer between 1 and 10000, inclusive");
        return NULL;
    }
    *part_number = (int)n;
    return load_upload(op, upload_id);
}

/* ---- UploadPart / UploadPartCopy: recording a part ---- */

typedef struct {
    const char *bucket_id, *upload_id, *key, *name;
    json_t *part, *old;
} part_commit;

/* Records the part only while its upload exists (not completed or aborted). */
static cl_err part_txn(store *st, void *arg) {
    part_commit *c = arg;
    json_t *u = load_json(st, "upload", c->bucket_id, c->upload_id);
    bool live = key_is(u, c->key);
    json_decref(u);
    if (!live) return CL_ERR_NOT_FOUND;
    char *scope = part_scope(c->bucket_id, c->upload_id);
    c->old = load_json(st, "part", scope, c->name);
    cl_err e = save_json(st, "part", scope, c->name, c->part);
    free(scope);
    return e;
}

bool s3_commit_part(s3_op *op, const char *upload_id, int part, const char *blob, uint64_t size,
                    const char *etag, const char *ck_algo, const char *ck, const char *context) {
    char name[8], ts[21];
    snprintf(name, sizeof name, "%05d", part);
    time_format_iso8601(time_now(), ts);
    json_t *p = json_pack("{s:i, s:s, s:I, s:s, s:s}", "PartNumber", part, "Blob", blob, "Size",
                          (json_int_t)size, "ETag", etag, "LastModified", ts);
    if (ck_algo && ck && *ck) json_object_set_new(p, "Checksum", json_pack("{s:s}", ck_algo, ck));
    if (context) json_object_set_new(p, "Context", json_string(context));
    part_commit c = {op->bucket_id, upload_id, op->key, name, p, NULL};
    cl_err e = store_txn(op->s->st, part_txn, &c);
    json_decref(p);
    if (e != CL_OK) {
        blob_delete(op->s->blobs, blob); /* never named by a committed item */
        json_decref(c.old);
        if (e == CL_ERR_NOT_FOUND)
            no_such_upload(op);
        else
            aws_fault_set(&op->f, 500, "InternalError", "could not record the part");
        return false;
    }
    /* the replaced part's blob: its item is gone and, the upload being still in
     * progress at the commit, no object names it */
    const char *old_blob = json_string_value(json_object_get(c.old, "Blob"));
    if (old_blob && strcmp(old_blob, blob) != 0) blob_delete(op->s->blobs, old_blob);
    json_decref(c.old);
    return true;
}

typedef struct {
    json_t *parts; /* array of part documents, by number */
} part_list;

static bool collect_part(void *arg, const char *name, const char *text) {
    (void)name;
    part_list *l = arg;
    json_t *p = json_loads(text, 0, NULL);
    if (p) json_array_append_new(l->parts, p);
    return true;
}

static json_t *load_parts(store *st, const char *bucket_id, const char *upload_id) {
    char *scope = part_scope(bucket_id, upload_id);
    part_list l = {json_array()};
    store_list(st, "part", scope, NULL, NULL, 0, collect_part, &l, NULL);
    free(scope);
    return l.parts;
}

static json_t *find_part(json_t *parts, int number) {
    size_t i;
    json_t *p;
    json_array_foreach(parts, i, p) if (json_integer_value(json_object_get(p, "PartNumber")) ==
                                        number) return p;
    return NULL;
}

/* Deletes the part blobs of `parts` that `object` (may be NULL) does not name. */
static void delete_part_blobs(s3 *s, json_t *parts, json_t *object) {
    json_t *as_object = json_pack("{s:O}", "Parts", parts);
    s3_delete_replaced_blobs(s, as_object, object);
    json_decref(as_object);
}

/* Removes an upload's items (inside a transaction). */
static cl_err remove_upload(store *st, const char *bucket_id, const char *upload_id) {
    char *scope = part_scope(bucket_id, upload_id);
    cl_err e = store_delete_scope(st, "part", scope);
    free(scope);
    return e == CL_OK ? store_delete(st, "upload", bucket_id, upload_id) : e;
}

static json_t *assemble(s3_op *op, const s3_complete_upload *req, json_t *parts, char etag[48],
                        uint64_t *size) {
    json_t *out = json_array();
    crypto_md5_ctx *md5 = crypto_md5_new();
    *size = 0;
    for (size_t i = 0; i < req->len; i++) {
        json_t *p = find_part(parts, req->parts[i].part_number);
        const char *have = p ? json_string_value(json_object_get(p, "ETag")) : NULL;
        cl_slice bare = have ? slice_sub(slice_cstr(have), 1, strlen(have) - 2) : CL_SLICE_NULL;
        if (!p || !slice_eq_cstr(bare, req->parts[i].etag_bare)) {
            aws_fault_set(&op->f, 400, "InvalidPart",
                          "One or more of the specified parts could not be found. The part may not "
                          "have been uploaded, or the specified entity tag may not match the "
                          "part's entity tag.");
            break;
        }
        uint64_t psize = (uint64_t)json_integer_value(json_object_get(p, "Size"));
        if (i + 1 < req->len && psize < S3_MIN_PART_SIZE) {
            aws_fault_set(&op->f, 400, "EntityTooSmall",
                          "Your proposed upload is smaller than the minimum allowed object size.");
            break;
        }
        cl_buf raw = CL_BUF_INIT;
        hex_decode(&raw, bare);
        crypto_md5_update(md5, buf_slice(&raw));
        buf_free(&raw);
        *size += psize;
        json_array_append_new(out, json_pack("{s:O, s:I, s:O*, s:O*}", "Blob",
                                             json_object_get(p, "Blob"), "Size", (json_int_t)psize,
                                             "Context", json_object_get(p, "Context"), "Checksum",
                                             json_object_get(p, "Checksum")));
    }
    uint8_t d[CRYPTO_MD5_LEN];
    crypto_md5_final(md5, d);
    char hex[33];
    hex_encode_to(hex, d, sizeof d);
    snprintf(etag, 48, "\"%s-%zu\"", hex, req->len);
    if (op->f.code) {
        json_decref(out);
        return NULL;
    }
    return out;
}

static json_t *object_doc(s3_op *op, json_t *upload, json_t *object_parts, const char *etag,
                          uint64_t size) {
    char ts[21];
    time_format_iso8601(time_now(), ts);
    json_t *o = json_pack(
        "{s:O, s:I, s:s, s:s, s:O, s:O, s:O, s:O}", "Parts", object_parts, "Size", (json_int_t)size,
        "ETag", etag, "LastModified", ts, "ContentType", json_object_get(upload, "ContentType"),
        "Meta", json_object_get(upload, "Meta"), "Headers", json_object_get(upload, "Headers"),
        "Owner", json_object_get(op->bucket_doc, "Owner"));
    json_t *tags = json_object_get(upload, "Tags");
    if (tags) json_object_set(o, "Tags", tags);
    json_t *sse = json_object_get(upload, "SSE");
    if (sse) json_object_set(o, "SSE", sse);
    return o;
}

/* ---- CompleteMultipartUpload ---- */

typedef struct {
    s3_op *op;
    const char *upload_id;
    const s3_complete_upload *req;
    json_t *upload, *parts, *doc, *old;
    json_t *done; /* the upload_done record: this upload was completed before */
    s3_event ev;
    char etag[48];
} completion;

/* An earlier completion of this upload for this key: its result. */
static cl_err replay(store *st, completion *c) {
    s3_op *op = c->op;
    c->done = load_json(st, "upload_done", op->bucket_id, c->upload_id);
    if (!key_is(c->done, op->key)) {
        json_decref(c->done);
        c->done = NULL;
        no_such_upload(op);
        return CL_ERR_NOT_FOUND;
    }
    snprintf(c->etag, sizeof c->etag, "%s", json_string_value(json_object_get(c->done, "ETag")));
    return CL_OK;
}

static cl_err complete_txn(store *st, void *arg) {
    completion *c = arg;
    s3_op *op = c->op;
    if (s3_bucket_txn_check(st, op->bucket, op->bucket_id) != CL_OK) {
        aws_fault_set(&op->f, 404, "NoSuchBucket", "The specified bucket does not exist");
        return CL_ERR_NOT_FOUND;
    }
    c->upload = load_json(st, "upload", op->bucket_id, c->upload_id);
    if (!key_is(c->upload, op->key)) {
        json_decref(c->upload);
        c->upload = NULL;
        return replay(st, c);
    }
    CL_TRY(s3_write_cond_txn(op, st, op->bucket_id, op->key)); /* the upload stays */
    c->parts = load_parts(st, op->bucket_id, c->upload_id);
    uint64_t size = 0;
    json_t *object_parts = assemble(op, c->req, c->parts, c->etag, &size);
    if (!object_parts) return CL_ERR_INVALID;
    c->doc = object_doc(op, c->upload, object_parts, c->etag, size);
    json_decref(object_parts);
    if (!s3_mpck_complete(op, c->upload, c->req, c->parts, c->doc)) return CL_ERR_INVALID;
    c->ev = s3_op_event(op, "ObjectCreated:CompleteMultipartUpload");
    CL_TRY(s3_object_put_txn(st, op->bucket, op->bucket_id, op->key, c->doc, &c->ev, &c->old));
    CL_TRY(remove_upload(st, op->bucket_id, c->upload_id));
    char ts[21];
    time_format_iso8601(time_now(), ts);
    json_t *done = json_pack("{s:s, s:s, s:s}", "Key", op->key, "ETag", c->etag, "Completed", ts);
    json_t *sse = json_object_get(c->upload, "SSE");
    if (sse) json_object_set(done, "SSE", sse);
    s3_mpck_keep(done, c->doc); /* a retried Complete answers the same checksum */
    cl_err e = save_json(st, "upload_done", op->bucket_id, c->upload_id, done);
    json_decref(done);
    return e;
}

static void complete_result(s3_op *op, const char *etag, json_t *sse, json_t *rec) {
    s3_sse_headers(op->resp, sse);
    cl_buf *o = &op->resp->body;
    s3_xml_begin(op, "CompleteMultipartUploadResult");
    char *loc = cl_sprintf("/%s/%s", op->bucket, op->key);
    xml_text(o, "Location", loc);
    free(loc);
    xml_text(o, "Bucket", op->bucket);
    xml_text(o, "Key", op->key);
    xml_text(o, "ETag", etag);
    s3_mpck_result_xml(o, rec);
    s3_xml_end(op, "CompleteMultipartUploadResult");
}

void s3_complete_multipart(s3_op *op) {
    op->req->op = "CompleteMultipartUpload";
    const char *upload_id = kvlist_get(&op->query, "uploadId");
    if (!s3_load_bucket(op) || !authorize_key(op, "s3:PutObject") || !s3_write_cond_valid(op))
        return;
    s3_complete_upload req = {0};
    s3_xml_error xe = {0};
    if (s3_xml_parse_complete_upload(buf_slice(&op->req->body), &req, &xe) != CL_OK) {
        aws_fault_set(&op->f, 400, xe.code ? xe.code : "MalformedXML", "%s", xe.message);
        return;
    }
    completion c = {.op = op, .upload_id = upload_id ? upload_id : "", .req = &req};
    cl_err e = store_txn(op->s->st, complete_txn, &c);
    if (e != CL_OK && !op->f.code)
        aws_fault_set(&op->f, 500, "InternalError", "could not store the object");
    if (e == CL_OK) {
        if (s3_test_crash_at("complete-after-commit")) _exit(9); /* crash tests only */
        s3_event_after_commit(&c.ev);
        if (!c.done) { /* blobs no committed item names any more */
            s3_delete_replaced_blobs(op->s, c.old, c.doc);
            delete_part_blobs(op->s, c.parts, c.doc);
        }
        complete_result(op, c.etag, json_object_get(c.done ? c.done : c.upload, "SSE"),
                        c.done ? c.done : c.doc);
        s3_ver_written_header(op, c.doc);
    }
    json_decref(c.upload);
    json_decref(c.parts);
    json_decref(c.doc);
    json_decref(c.old);
    json_decref(c.done);
    s3_complete_upload_free(&req);
}

/* ---- AbortMultipartUpload ---- */

static cl_err abort_txn(store *st, void *arg) {
    completion *c = arg;
    s3_op *op = c->op;
    c->upload = load_json(st, "upload", op->bucket_id, c->upload_id);
    if (!key_is(c->upload, op->key)) {
        no_such_upload(op);
        return CL_ERR_NOT_FOUND;
    }
    c->parts = load_parts(st, op->bucket_id, c->upload_id);
    return remove_upload(st, op->bucket_id, c->upload_id);
}

void s3_abort_multipart(s3_op *op) {
    op->req->op = "AbortMultipartUpload";
    const char *upload_id = kvlist_get(&op->query, "uploadId");
    if (!s3_load_bucket(op) || !authorize_key(op, "s3:AbortMultipartUpload")) return;
    completion c = {.op = op, .upload_id = upload_id ? upload_id : ""};
    cl_err e = store_txn(op->s->st, abort_txn, &c);
    if (e == CL_OK) {
        delete_part_blobs(op->s, c.parts, NULL);
        op->resp->status = 204;
    } else if (!op->f.code) {
        aws_fault_set(&op->f, 500, "InternalError", "could not abort the upload");
    }
    json_decref(c.upload);
    json_decref(c.parts);
}

void s3_list_parts(s3_op *op) {
    op->req->op = "ListParts";
    const char *upload_id = kvlist_get(&op->query, "uploadId");
    if (!s3_load_bucket(op) || !authorize_key(op, "s3:ListMultipartUploadParts")) return;
    json_t *upload = load_upload(op, upload_id);
    if (!upload) return;
    json_t *parts = load_parts(op->s->st, op->bucket_id, upload_id);
    cl_buf *o = &op->resp->body;
    s3_xml_begin(op, "ListPartsResult");
    xml_text(o, "Bucket", op->bucket);
    xml_text(o, "Key", op->key);
    xml_text(o, "UploadId", upload_id);
    xml_text(o, "IsTruncated", "false");
    size_t i;
    json_t *p;
    json_array_foreach(parts, i, p) {
        xml_open(o, "Part");
        xml_textf(o, "PartNumber", "%lld",
                  (long long)json_integer_value(json_object_get(p, "PartNumber")));
        xml_text(o, "LastModified", json_string_value(json_object_get(p, "LastModified")));
        xml_text(o, "ETag", json_string_value(json_object_get(p, "ETag")));
        xml_textf(o, "Size", "%lld", (long long)json_integer_value(json_object_get(p, "Size")));
        s3_mpck_checksums_xml(o, json_object_get(p, "Checksum"));
        xml_close(o, "Part");
    }
    s3_mpck_list_parts_xml(o, upload);
    s3_xml_end(op, "ListPartsResult");
    json_decref(parts);
    json_decref(upload);
}

void s3_delete_object_blobs(s3 *s, json_t *object) {
    const char *blob = json_string_value(json_object_get(object, "Blob"));
    if (blob) blob_delete(s->blobs, blob);
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(object, "Parts"), i, p)
        blob_delete(s->blobs, json_string_value(json_object_get(p, "Blob")));
}
