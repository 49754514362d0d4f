/* s3_multipart.c — multipart uploads. Each part is a durable blob of its own,
 * recorded as a `part` item (scope "bucket/uploadId", name the zero-padded part
 * number) once its bytes are on disk. CompleteMultipartUpload checks the client's
 * list (order, ETags, 5 MiB minimum for all but the last part) and commits one
 * object document listing the part blobs, so completing copies no bytes; GETs
 * stream across the parts. Parts not named in the list are deleted.
 * Meta store kinds: upload (bucket / uploadId) {Key, Initiated, Owner, ContentType,
 * Meta, Headers, Tags?}; part (bucket/uploadId / %05d) {PartNumber, Blob, Size, ETag,
 * LastModified, Checksum?}. */
#include "s3/s3_internal.h"

#include "crypto/crypto.h"
#include "s3/s3_xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S3_MIN_PART_SIZE (5u << 20)

static char *part_scope(const char *bucket, const char *upload_id) {
    return cl_sprintf("%s/%s", bucket, upload_id);
}

static json_t *load_json(s3 *s, const char *kind, const char *scope, const char *name) {
    char *text = NULL;
    json_t *j = NULL;
    if (store_get(s->st, kind, scope, name, &text) == CL_OK) j = json_loads(text, 0, NULL);
    free(text);
    return j;
}

static bool save_json(s3 *s, const char *kind, const char *scope, const char *name, json_t *j) {
    char *text = json_dumps(j, JSON_COMPACT);
    cl_err e = store_put(s->st, kind, scope, name, text);
    free(text);
    return e == CL_OK;
}

/* The upload named by uploadId, if it belongs to op->key. */
static json_t *load_upload(s3_op *op, const char *upload_id) {
    json_t *u = load_json(op->s, "upload", op->bucket, upload_id);
    if (u && strcmp(json_string_value(json_object_get(u, "Key")), op->key) == 0) return u;
    json_decref(u);
    aws_fault_set(
        &op->f, 404, "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload "
        "may have been aborted or completed.");
    return NULL;
}

static bool authorize_key(s3_op *op, const char *action) {
    char *arn = s3_object_arn(op->bucket, op->key);
    bool ok = s3_authorize(op, action, arn, NULL);
    free(arn);
    return ok;
}

void s3_create_multipart(s3_op *op) {
    op->req->op = "CreateMultipartUpload";
    if (!s3_load_bucket(op) || !authorize_key(op, "s3:PutObject") || !s3_check_request_tags(op))
        return;
    json_t *u = s3_request_metadata(op->req);
    if (!s3_sse_begin_upload(op, u)) { /* the encryption is decided now, for every part */
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
    bool ok = save_json(op->s, "upload", op->bucket, buf_cstr(&id), u);
    if (ok) s3_sse_headers(op->resp, json_object_get(u, "SSE"));
    json_decref(u);
    if (!ok) {
        buf_free(&id);
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

bool s3_commit_part(s3_op *op, const char *upload_id, int part, const char *blob, uint64_t size,
                    const char *etag, const char *ck_algo, const char *ck, const char *context) {
    char name[8], ts[21];
    snprintf(name, sizeof name, "%05d", part);
    time_format_iso8601(time_now(), ts);
    char *scope = part_scope(op->bucket, upload_id);
    json_t *old = load_json(op->s, "part", scope, name);
    json_t *p = json_pack("{s:i, s:s, s:I, s:s, s:s}", "PartNumber", part, "Blob", blob, "Size",
                          (json_int_t)size, "ETag", etag, "LastModified", ts);
    if (ck_algo && ck && *ck) json_object_set_new(p, "Checksum", json_pack("{s:s}", ck_algo, ck));
    if (context) json_object_set_new(p, "Context", json_string(context));
    bool ok = save_json(op->s, "part", scope, name, p);
    json_decref(p);
    free(scope);
    if (!ok) {
        blob_delete(op->s->blobs, blob);
        json_decref(old);
        aws_fault_set(&op->f, 500, "InternalError", "could not record the part");
        return false;
    }
    const char *old_blob = json_string_value(json_object_get(old, "Blob"));
    if (old_blob && strcmp(old_blob, blob) != 0) blob_delete(op->s->blobs, old_blob);
    json_decref(old);
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

static json_t *load_parts(s3 *s, const char *bucket, const char *upload_id) {
    char *scope = part_scope(bucket, upload_id);
    part_list l = {json_array()};
    store_list(s->st, "part", scope, NULL, NULL, 0, collect_part, &l, NULL);
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

/* Deletes an upload's records and the blobs of parts not in `keep` (may be NULL). */
static void drop_upload(s3 *s, const char *bucket, const char *upload_id, json_t *parts,
                        json_t *keep) {
    size_t i;
    json_t *p;
    json_array_foreach(parts, i, p) {
        const char *blob = json_string_value(json_object_get(p, "Blob"));
        bool kept = false;
        size_t j;
        json_t *k;
        json_array_foreach(keep, j, k) kept |=
            blob && strcmp(blob, json_string_value(json_object_get(k, "Blob"))) == 0;
        if (!kept && blob) blob_delete(s->blobs, blob);
    }
    char *scope = part_scope(bucket, upload_id);
    store_delete_scope(s->st, "part", scope);
    free(scope);
    store_delete(s->st, "upload", bucket, upload_id);
}

/* Checks the client's part list against the stored parts; builds the object's
 * part array and the multipart ETag (MD5 of the part MD5s, "-N"). */
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
        json_array_append_new(out, json_pack("{s:O, s:I, s:O*}", "Blob", json_object_get(p, "Blob"),
                                             "Size", (json_int_t)psize, "Context",
                                             json_object_get(p, "Context")));
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

static bool commit_multipart(s3_op *op, json_t *upload, json_t *object_parts, const char *etag,
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
    json_t *old = load_json(op->s, "object", op->bucket, op->key);
    bool ok = save_json(op->s, "object", op->bucket, op->key, o);
    json_decref(o);
    if (ok && old) s3_delete_object_blobs(op->s, old);
    json_decref(old);
    return ok;
}

void s3_complete_multipart(s3_op *op) {
    op->req->op = "CompleteMultipartUpload";
    const char *upload_id = kvlist_get(&op->query, "uploadId");
    if (!s3_load_bucket(op) || !authorize_key(op, "s3:PutObject")) return;
    json_t *upload = load_upload(op, upload_id);
    if (!upload) return;
    s3_complete_upload req = {0};
    s3_xml_error xe = {0};
    if (s3_xml_parse_complete_upload(buf_slice(&op->req->body), &req, &xe) != CL_OK) {
        aws_fault_set(&op->f, 400, xe.code ? xe.code : "MalformedXML", "%s", xe.message);
        json_decref(upload);
        return;
    }
    json_t *parts = load_parts(op->s, op->bucket, upload_id);
    char etag[48];
    uint64_t size = 0;
    json_t *object_parts = assemble(op, &req, parts, etag, &size);
    if (object_parts && !commit_multipart(op, upload, object_parts, etag, size))
        aws_fault_set(&op->f, 500, "InternalError", "could not store the object");
    if (!op->f.code) {
        drop_upload(op->s, op->bucket, upload_id, parts, object_parts);
        s3_sse_headers(op->resp, json_object_get(upload, "SSE"));
        cl_buf *o = &op->resp->body;
        s3_xml_begin(op, "CompleteMultipartUploadResult");
        char *loc = cl_sprintf("/%s/%s", op->bucket, op->key);
        xml_text(o, "Location", loc);
        free(loc);
        xml_text(o, "Bucket", op->bucket);
        xml_text(o, "Key", op->key);
        xml_text(o, "ETag", etag);
        s3_xml_end(op, "CompleteMultipartUploadResult");
    }
    json_decref(object_parts);
    json_decref(parts);
    json_decref(upload);
    s3_complete_upload_free(&req);
}

void s3_abort_multipart(s3_op *op) {
    op->req->op = "AbortMultipartUpload";
    const char *upload_id = kvlist_get(&op->query, "uploadId");
    if (!s3_load_bucket(op) || !authorize_key(op, "s3:AbortMultipartUpload")) return;
    json_t *upload = load_upload(op, upload_id);
    if (!upload) return;
    json_t *parts = load_parts(op->s, op->bucket, upload_id);
    drop_upload(op->s, op->bucket, upload_id, parts, NULL);
    json_decref(parts);
    json_decref(upload);
    op->resp->status = 204;
}

void s3_list_parts(s3_op *op) {
    op->req->op = "ListParts";
    const char *upload_id = kvlist_get(&op->query, "uploadId");
    if (!s3_load_bucket(op) || !authorize_key(op, "s3:ListMultipartUploadParts")) return;
    json_t *upload = load_upload(op, upload_id);
    if (!upload) return;
    json_t *parts = load_parts(op->s, op->bucket, upload_id);
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
        xml_close(o, "Part");
    }
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
