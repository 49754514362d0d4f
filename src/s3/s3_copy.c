/* s3_copy.c — CopyObject (PUT /bucket/key with x-amz-copy-source) and
 * UploadPartCopy (the same with ?partNumber&uploadId).
 *
 * The source is authorized as a GET of it would be (s3:GetObject, through a
 * second s3_op whose bucket document is the source bucket's, so its bucket
 * policy and owner apply), the destination as a PUT (s3:PutObject). The bytes
 * are copied, never shared: read in 1 MiB chunks with blob_read_at (across the
 * part blobs of a multipart source) into a new blob, hashed on the way (the
 * ETag is their MD5), made durable, and only then is the metadata committed
 * (one transaction that also reads the document it replaces, whose blobs are
 * deleted last), as PutObject does. Source and destination are independent
 * afterwards: deleting or overwriting either leaves the other intact.
 *
 * Encryption: the source is read through s3_obj_reader (decrypted with its
 * own key: SSE-S3, SSE-KMS for this caller, or SSE-C from the
 * x-amz-copy-source-server-side-encryption-customer-* headers); the copy is
 * encrypted as a new PUT would be (CopyObject: the request's SSE headers, else
 * the destination bucket's default; UploadPartCopy: the upload's encryption).
 *
 * Versions: "?versionId=" in x-amz-copy-source copies that version (authorized
 * as s3:GetObjectVersion; a delete marker is 400 InvalidRequest, as AWS); the
 * answer names the source version (x-amz-copy-source-version-id) and the new
 * one (x-amz-version-id) when the destination bucket has versioning enabled
 * (none while suspended, as PutObject: s3_ver_written_header). */
#include "s3/s3_internal.h"

#include "crypto/crypto.h"
#include "s3/s3_mpck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define COPY_CHUNK (1u << 20)
#define COPY_MAX_SIZE (5ull << 30) /* S3's limit for CopyObject and a copied part */

typedef struct {
    char *bucket, *key;
    char *version_id; /* ?versionId= of the source (NULL: its current version) */
    json_t *object;   /* the source's document, once loaded */
    char *loaded_vid; /* the version loaded (NULL: its bucket was never versioned) */
} copy_source;

static void source_free(copy_source *src) {
    free(src->bucket);
    free(src->key);
    free(src->version_id);
    free(src->loaded_vid);
    json_decref(src->object);
}

static bool bad_source(s3_op *op, const char *message) {
    aws_fault_set(&op->f, 400, "InvalidArgument", "%s", message);
    return false;
}

/* x-amz-copy-source: "[/]bucket/key[?versionId=v]", URL-encoded. */
static bool parse_source(s3_op *op, copy_source *src) {
    cl_slice h = slice_trim(slice_cstr(kvlist_get_ci(&op->req->headers, "x-amz-copy-source")));
    ptrdiff_t q = slice_find(h, '?');
    if (q >= 0) {
        cl_kvlist params = CL_KVLIST_INIT;
        const char *v = kvlist_parse_form(&params, slice_sub(h, (size_t)q + 1, h.len)) == CL_OK
                            ? kvlist_get(&params, "versionId")
                            : NULL;
        bool only = v && params.len == 1;
        src->version_id = v ? cl_strdup(v) : NULL;
        kvlist_free(&params);
        if (!only) return bad_source(op, "Unsupported copy source parameter.");
        if (!s3_ver_id_valid(src->version_id))
            return bad_source(op, "Invalid version id specified");
        h = slice_sub(h, 0, (size_t)q);
    }
    cl_buf dec = CL_BUF_INIT;
    if (url_decode(&dec, h, false) != CL_OK || slice_find(buf_slice(&dec), 0) >= 0 ||
        !utf8_valid(buf_slice(&dec))) {
        buf_free(&dec);
        return bad_source(op, "Invalid copy source encoding.");
    }
    const char *p = buf_cstr(&dec);
    if (*p == '/') p++;
    const char *slash = strchr(p, '/');
    bool ok = slash && slash != p && slash[1] != 0;
    if (ok) {
        src->bucket = cl_strndup(p, (size_t)(slash - p));
        src->key = cl_strdup(slash + 1);
    }
    buf_free(&dec);
    return ok || bad_source(op, "Copy Source must mention the source bucket and key: "
                                "sourcebucket/sourcekey.");
}

/* The source as its reader would see it: bucket exists, s3:GetObject allowed
 * with the source bucket's policy, key exists. */
static bool load_source(s3_op *op, copy_source *src) {
    s3_op sop = {.s = op->s,
                 .c = op->c,
                 .req = op->req,
                 .resp = op->resp,
                 .bucket = cl_strdup(src->bucket),
                 .key = cl_strdup(src->key)};
    char *arn = s3_object_arn(src->bucket, src->key);
    const char *action = src->version_id ? "s3:GetObjectVersion" : "s3:GetObject";
    if (s3_load_bucket(&sop) && s3_authorize(&sop, action, arn, NULL)) {
        char *text = NULL;
        if (src->version_id) {
            cl_err e = s3_ver_find(op->s->st, sop.bucket_doc, sop.bucket_id, src->key,
                                   src->version_id, &src->object, NULL);
            if (e == CL_OK && json_is_true(json_object_get(src->object, "DeleteMarker"))) {
                json_decref(src->object);
                src->object = NULL;
                aws_fault_set(&sop.f, 400, "InvalidRequest",
                              "The source of a copy request may not specifically refer to a "
                              "delete marker by version id.");
            } else if (e != CL_OK) {
                aws_fault_set(&sop.f, 404, "NoSuchVersion",
                              "The specified version does not exist.");
            }
        } else if (store_get(op->s->st, "object", sop.bucket_id, src->key, &text) == CL_OK) {
            src->object = json_loads(text, 0, NULL);
        }
        free(text);
        if (!src->object && !sop.f.code)
            aws_fault_set(&sop.f, 404, "NoSuchKey", "The specified key does not exist.");
        const char *v = src->object ? s3_ver_id_of(sop.bucket_doc, src->object) : NULL;
        src->loaded_vid = v ? cl_strdup(v) : NULL;
    }
    free(arn);
    if (!src->object) op->f = sop.f;
    s3_op_free(&sop);
    return src->object != NULL;
}

static bool header_time(s3_op *op, const char *name, time_t *t) {
    const char *v = kvlist_get_ci(&op->req->headers, name);
    return v && time_parse_http(slice_cstr(v), t) == CL_OK;
}

/* x-amz-copy-source-if-*, with S3's pairings: if-match true wins over
 * if-unmodified-since false; if-none-match true does not save a false
 * if-modified-since. */
static bool source_conditions(s3_op *op, json_t *o) {
    const char *etag = json_string_value(json_object_get(o, "ETag"));
    const char *im = kvlist_get_ci(&op->req->headers, "x-amz-copy-source-if-match");
    const char *inm = kvlist_get_ci(&op->req->headers, "x-amz-copy-source-if-none-match");
    time_t modified = 0, t;
    time_parse_iso8601(slice_cstr(json_string_value(json_object_get(o, "LastModified"))),
                       &modified);
    bool fail = im ? !s3_etag_listed(im, etag)
                   : header_time(op, "x-amz-copy-source-if-unmodified-since", &t) && modified > t;
    fail |= inm && s3_etag_listed(inm, etag);
    fail |= header_time(op, "x-amz-copy-source-if-modified-since", &t) && modified <= t;
    if (fail)
        aws_fault_set(&op->f, 412, "PreconditionFailed",
                      "At least one of the pre-conditions you specified did not hold");
    return !fail;
}

static uint64_t object_size(json_t *o) {
    return (uint64_t)json_integer_value(json_object_get(o, "Size"));
}

/* Appends plaintext [off, off + len) of object `o` to w (through `enc` when the
 * copy is encrypted), hashing it into md5 (and ck, if it has an algorithm). */
static bool copy_bytes(s3_op *op, json_t *o, uint64_t off, uint64_t len, s3_enc *enc,
                       blob_writer *w, crypto_md5_ctx *md5, checksum_ctx *ck) {
    s3_obj_reader *r;
    if (!s3_obj_reader_open(op, o, "x-amz-copy-source-server-side-encryption-customer", &r))
        return false;
    char *buf = cl_malloc(COPY_CHUNK);
    cl_err e = CL_OK;
    while (e == CL_OK && len > 0) {
        size_t n = len < COPY_CHUNK ? (size_t)len : COPY_CHUNK;
        e = s3_obj_reader_read(r, off, buf, n);
        if (e == CL_OK)
            e = enc->on ? s3_sse_write(enc, slice_of(buf, n), w) : blob_append(w, slice_of(buf, n));
        if (e == CL_OK) crypto_md5_update(md5, slice_of(buf, n));
        if (e == CL_OK && ck->algo != CHECKSUM_NONE) checksum_update(ck, slice_of(buf, n));
        off += n, len -= n;
    }
    if (e == CL_OK && enc->on) e = s3_sse_finish(enc, w);
    cl_cleanse(buf, COPY_CHUNK);
    free(buf);
    s3_obj_reader_free(r);
    if (e != CL_OK)
        aws_fault_set(&op->f, 500, "InternalError",
                      "could not copy the source's bytes (was it deleted meanwhile?)");
    return e == CL_OK;
}

/* Copies the range into a new durable blob: its id and quoted MD5 ETag (and
 * ck's checksum of the bytes, when ck has an algorithm: UploadPartCopy into an
 * upload with a checksum algorithm). */
static bool copy_to_blob(s3_op *op, json_t *src, uint64_t off, uint64_t len, s3_enc *enc,
                         char id[BLOB_ID_LEN + 1], char etag[40], checksum_ctx *ck) {
    blob_writer *w = NULL;
    if (blob_begin(op->s->blobs, &w) != CL_OK) {
        aws_fault_set(&op->f, 500, "InternalError", "could not start writing the copy");
        return false;
    }
    crypto_md5_ctx *md5 = crypto_md5_new();
    bool ok = copy_bytes(op, src, off, len, enc, w, md5, ck);
    uint8_t d[CRYPTO_MD5_LEN];
    crypto_md5_final(md5, d);
    if (!ok) {
        blob_abort(w);
        return false;
    }
    if (blob_finish(w, id) != CL_OK) {
        aws_fault_set(&op->f, 500, "InternalError", "could not store the copy durably");
        return false;
    }
    char hex[33];
    hex_encode_to(hex, d, sizeof d);
    snprintf(etag, 40, "\"%s\"", hex);
    return true;
}

static bool authorize_dest(s3_op *op) {
    char *arn = s3_object_arn(op->bucket, op->key);
    bool ok = s3_authorize(op, "s3:PutObject", arn, NULL);
    free(arn);
    return ok;
}

/* Everything both operations check before copying a byte. */
static bool prepare(s3_op *op, copy_source *src) {
    return authorize_dest(op) && parse_source(op, src) && load_source(op, src) &&
           source_conditions(op, src->object);
}

/* ---- CopyObject ---- */

/* x-amz-{metadata,tagging}-directive: COPY (default) or REPLACE. */
static bool directive(s3_op *op, const char *what, bool *replace) {
    char name[40];
    snprintf(name, sizeof name, "x-amz-%s-directive", what);
    const char *v = kvlist_get_ci(&op->req->headers, name);
    *replace = v && strcmp(v, "REPLACE") == 0;
    if (!v || *replace || strcmp(v, "COPY") == 0) return true;
    aws_fault_set(&op->f, 400, "InvalidArgument", "Unknown %s directive.", what);
    return false;
}

static void copy_field(json_t *to, json_t *from, const char *name) {
    json_t *v = json_object_get(from, name);
    if (v) json_object_set_new(to, name, json_deep_copy(v));
}

/* The destination's document, less Blob/Size/ETag/LastModified. */
static json_t *dest_document(s3_op *op, json_t *src, bool meta_replace, bool tag_replace) {
    json_t *doc = meta_replace ? s3_request_metadata(op->req) : json_object();
    if (!meta_replace) {
        copy_field(doc, src, "ContentType");
        copy_field(doc, src, "Meta");
        copy_field(doc, src, "Headers");
    }
    json_object_del(doc, "Tags");
    json_t *tags = tag_replace ? s3_header_tags(op->req) : NULL;
    if (tags)
        json_object_set_new(doc, "Tags", tags);
    else if (!tag_replace)
        copy_field(doc, src, "Tags");
    json_object_set(doc, "Owner", json_object_get(op->bucket_doc, "Owner"));
    return doc;
}

/* The algorithm of the source's stored checksum (CHECKSUM_NONE: none). Read
 * before the copy starts: the copy's checksum is computed over the bytes it
 * copies, never taken from the source, so it always describes the copy (a
 * multipart source's COMPOSITE "-N" value, which no single read of the copy can
 * check, becomes the whole object's FULL_OBJECT checksum). */
static checksum_algo source_algo_of(json_t *src) {
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(src, "Checksum"), k, v) {
        return checksum_algo_parse(slice_cstr(k));
    }
    return CHECKSUM_NONE;
}

static bool checksum_init_ok(checksum_ctx *ck, checksum_algo a) {
    checksum_init(ck, a);
    return true;
}

/* doc's Checksum and ChecksumType from ck (computed over the copied bytes). */
static void copy_checksum(json_t *doc, checksum_ctx *ck) {
    if (ck->algo == CHECKSUM_NONE) return;
    char b64[CHECKSUM_B64_MAX];
    checksum_algo a = ck->algo;
    checksum_final_base64(ck, b64);
    checksum_reset(ck);
    json_object_set_new(doc, "Checksum", json_pack("{s:s}", checksum_algo_name(a), b64));
    json_object_set_new(doc, "ChecksumType", json_string("FULL_OBJECT"));
}

/* In one transaction with the check that the bucket is the one loaded. */
static bool commit_copy(s3_op *op, json_t *doc) {
    s3_event ev = s3_op_event(op, "ObjectCreated:Copy");
    return s3_commit_object_doc(op, op->bucket, op->bucket_id, op->key, doc, &ev);
}

static bool copy_checks(s3_op *op, const copy_source *src, bool meta_replace, bool tag_replace) {
    /* copying a named version over its own key restores it (AWS allows that) */
    if (strcmp(src->bucket, op->bucket) == 0 && strcmp(src->key, op->key) == 0 && !meta_replace &&
        !src->version_id) {
        aws_fault_set(&op->f, 400, "InvalidRequest",
                      "This copy request is illegal because it is trying to copy an object to "
                      "itself without changing the object's metadata, storage class, website "
                      "redirect location or encryption attributes.");
        return false;
    }
    if (object_size(src->object) > COPY_MAX_SIZE) {
        aws_fault_set(&op->f, 400, "InvalidRequest",
                      "The specified copy source is larger than the maximum allowable size for a "
                      "copy source: %llu",
                      (unsigned long long)COPY_MAX_SIZE);
        return false;
    }
    return s3_check_acl_headers(op) && s3_write_cond_valid(op) &&
           (!tag_replace || s3_check_request_tags(op));
}

void s3_copy_object(s3_op *op) {
    op->req->op = "CopyObject";
    copy_source src = {0};
    bool meta_replace = false, tag_replace = false;
    char id[BLOB_ID_LEN + 1], etag[40], ts[21];
    s3_enc enc = {0};
    checksum_ctx ck = {0}; /* the source's algorithm, over the whole copy (see copy_checksum) */
    if (!directive(op, "metadata", &meta_replace) || !directive(op, "tagging", &tag_replace) ||
        !s3_load_bucket(op) || !prepare(op, &src) ||
        !copy_checks(op, &src, meta_replace, tag_replace) || !s3_sse_begin_put(op, &enc) ||
        !checksum_init_ok(&ck, source_algo_of(src.object)) ||
        !copy_to_blob(op, src.object, 0, object_size(src.object), &enc, id, etag, &ck)) {
        checksum_reset(&ck);
        s3_enc_free(&enc);
        source_free(&src);
        return;
    }
    json_t *doc = dest_document(op, src.object, meta_replace, tag_replace);
    time_format_iso8601(time_now(), ts);
    json_object_set_new(doc, "Blob", json_string(id));
    json_object_set_new(doc, "Size", json_integer((json_int_t)object_size(src.object)));
    json_object_set_new(doc, "ETag", json_string(etag));
    json_object_set_new(doc, "LastModified", json_string(ts));
    copy_checksum(doc, &ck);
    if (enc.record) json_object_set(doc, "SSE", enc.record);
    if (commit_copy(op, doc)) {
        s3_sse_headers(op->resp, enc.record);
        s3_ver_written_header(op, doc);
        if (src.loaded_vid)
            http_set_header(op->resp, "x-amz-copy-source-version-id", src.loaded_vid);
        cl_buf *b = &op->resp->body;
        s3_xml_begin(op, "CopyObjectResult");
        xml_text(b, "LastModified", ts);
        xml_text(b, "ETag", etag);
        s3_xml_end(op, "CopyObjectResult");
    }
    json_decref(doc);
    s3_enc_free(&enc);
    source_free(&src);
}

/* ---- UploadPartCopy ---- */

/* x-amz-copy-source-range: "bytes=first-last", inside the source; whole source if absent. */
static bool copy_range(s3_op *op, uint64_t size, uint64_t *off, uint64_t *len) {
    const char *h = kvlist_get_ci(&op->req->headers, "x-amz-copy-source-range");
    *off = 0, *len = size;
    if (!h) return true;
    cl_slice s = slice_trim(slice_cstr(h));
    uint64_t a = 0, b = 0;
    ptrdiff_t dash = -1;
    if (slice_starts_with(s, "bytes=")) {
        s = slice_sub(s, 6, s.len);
        dash = slice_find(s, '-');
    }
    if (dash <= 0 || slice_to_u64(slice_sub(s, 0, (size_t)dash), &a) != CL_OK ||
        slice_to_u64(slice_sub(s, (size_t)dash + 1, s.len), &b) != CL_OK || b < a)
        return bad_source(op, "The x-amz-copy-source-range value must be of the form "
                              "bytes=first-last where first and last are the zero-based offsets "
                              "of the first and last bytes to copy");
    if (b >= size) { /* InvalidRange, as s3-tests' test_multipart_copy_invalid_range expects */
        aws_fault_set(&op->f, 416, "InvalidRange",
                      "Range specified is not valid for source object of size: %llu",
                      (unsigned long long)size);
        return false;
    }
    *off = a, *len = b - a + 1;
    return true;
}

void s3_upload_part_copy(s3_op *op) {
    op->req->op = "UploadPartCopy";
    const char *upload_id = kvlist_get(&op->query, "uploadId");
    copy_source src = {0};
    int part = 0;
    uint64_t off = 0, len = 0;
    char id[BLOB_ID_LEN + 1], etag[40], ts[21];
    s3_enc enc = {0};
    json_t *upload = NULL;
    checksum_ctx ck = {0};
    bool ok = s3_load_bucket(op) && (upload = s3_check_part_target(op, upload_id, &part)) &&
              prepare(op, &src) && copy_range(op, object_size(src.object), &off, &len);
    if (ok) /* the upload's algorithm, else S3's default (s3_mpck.c) */
        checksum_init(&ck, s3_mpck_algo(upload) != CHECKSUM_NONE ? s3_mpck_algo(upload)
                                                                 : CHECKSUM_CRC64NVME);
    if (ok && len > COPY_MAX_SIZE) {
        aws_fault_set(&op->f, 400, "InvalidRequest",
                      "The specified copy range is larger than the maximum allowable size for "
                      "a part: %llu",
                      (unsigned long long)COPY_MAX_SIZE);
        ok = false;
    }
    ok = ok && s3_sse_begin_part(op, upload, part, &enc) &&
         copy_to_blob(op, src.object, off, len, &enc, id, etag, &ck);
    char *ctx = ok && enc.record ? s3_sse_part_context(enc.record, part) : NULL;
    char ck64[CHECKSUM_B64_MAX] = "";
    checksum_algo algo = ck.algo;
    if (ok && algo != CHECKSUM_NONE) checksum_final_base64(&ck, ck64);
    checksum_reset(&ck);
    ok = ok && s3_commit_part(op, upload_id, part, id, len, etag,
                              *ck64 ? checksum_algo_name(algo) : NULL, ck64, ctx);
    free(ctx);
    if (ok) {
        time_format_iso8601(time_now(), ts);
        cl_buf *b = &op->resp->body;
        s3_xml_begin(op, "CopyPartResult");
        xml_text(b, "LastModified", ts);
        xml_text(b, "ETag", etag);
        if (*ck64) {
            char tag[40];
            snprintf(tag, sizeof tag, "Checksum%s", checksum_algo_name(algo));
            xml_text(b, tag, ck64);
        }
        s3_xml_end(op, "CopyPartResult");
        s3_sse_headers(op->resp, enc.record); /* as UploadPart: the upload's encryption */
    }
    s3_enc_free(&enc);
    json_decref(upload);
    source_free(&src);
}
