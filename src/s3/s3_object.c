/* s3_object.c — object uploads, reads and deletes.
 *
 * Uploads stream (bounded memory): the body (decoded from aws-chunked when the
 * client used it) is hashed (MD5 for the ETag, SHA-256 when the client signed
 * a digest, the x-amz-checksum-* it declared) and appended to a temporary blob.
 * Only when every check passed is the blob made durable (blob_finish) and then
 * the metadata committed; any failure discards the temp blob, so nothing half
 * written is ever visible. Reads send the blob file zero-copy, honouring Range
 * and the conditional headers. */
#include "s3/s3_internal.h"

#include "crypto/crypto.h"
#include "s3/chunked.h"
#include "s3/s3_mpck.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    s3 *s;
    char *bucket, *bucket_id, *key, *owner; /* bucket_id: the bucket when the PUT began */
    char *principal;                        /* the caller's unique id (for events) */
    blob_writer *w;
    crypto_md5_ctx *md5;
    crypto_sha256_ctx *sha; /* when x-amz-content-sha256 is a digest */
    char want_sha[65];
    chunked_decoder *dec;
    checksum_ctx ck;    /* x-amz-checksum-* sent as a header on a plain body */
    char *ck_expected;  /* NULL: computed only (s3_mpck: the upload's algorithm) */
    checksum_algo need; /* UploadPart: the checksum its upload wants, sent or not */
    uint64_t size;
    json_t *doc; /* metadata prepared at header time */
    cl_err write_err;
    s3_enc enc;      /* server-side encryption of the bytes, if asked */
    char *upload_id; /* UploadPart: the multipart upload and part number */
    int part_number;
} s3_upload;

static void upload_free(void *arg) {
    s3_upload *u = arg;
    if (!u) return;
    blob_abort(u->w);
    if (u->md5) {
        uint8_t d[CRYPTO_MD5_LEN];
        crypto_md5_final(u->md5, d);
    }
    if (u->sha) {
        uint8_t d[CRYPTO_SHA256_LEN];
        crypto_sha256_final(u->sha, d);
    }
    checksum_reset(&u->ck);
    chunked_free(u->dec);
    json_decref(u->doc);
    free(u->ck_expected);
    s3_enc_free(&u->enc);
    free(u->upload_id);
    free(u->bucket);
    free(u->bucket_id);
    free(u->key);
    free(u->owner);
    free(u->principal);
    free(u);
}

/* Decoded payload bytes: hash and store. */
#define S3_MAX_PUT (5ull << 30) /* S3's largest single PUT and part */

static cl_err upload_write(void *arg, cl_slice data) {
    s3_upload *u = arg;
    if (u->size + data.len > S3_MAX_PUT) {
        u->write_err = CL_ERR_TOO_LARGE;
        return CL_ERR_TOO_LARGE;
    }
    crypto_md5_update(u->md5, data);
    if (u->ck.algo != CHECKSUM_NONE) checksum_update(&u->ck, data);
    u->size += data.len;
    cl_err e = u->enc.on ? s3_sse_write(&u->enc, data, u->w) : blob_append(u->w, data);
    if (e != CL_OK) u->write_err = e;
    return e;
}

/* Raw body pieces from the network. */
static cl_err upload_body(void *arg, cl_slice piece) {
    s3_upload *u = arg;
    if (u->sha) crypto_sha256_update(u->sha, piece);
    if (!u->dec) return upload_write(u, piece);
    return chunked_feed(u->dec, piece) == CHUNKED_OK ? CL_OK : CL_ERR_INVALID;
}

/* What a SigV2 presigned URL adds (botocore moves Content-Type there too). */
static bool sigv2_query_param(const char *k) {
    return strcmp(k, "AWSAccessKeyId") == 0 || strcmp(k, "Signature") == 0 ||
           strcmp(k, "Expires") == 0 || strcmp(k, "content-type") == 0 ||
           strcmp(k, "content-md5") == 0;
}

bool s3_is_upload(const s3 *s, const http_request *req) {
    if (strcmp(req->method, "PUT") != 0 || kvlist_get_ci(&req->headers, "x-amz-copy-source") ||
        s3_is_control(req))
        return false;
    if (req->query[0] != 0 && strstr(req->query, "X-Amz-") != req->query) {
        /* a sub-resource (?policy, ?tagging, ...) is not an upload; presign params are fine */
        cl_kvlist q = CL_KVLIST_INIT;
        bool sub = false;
        if (kvlist_parse_form(&q, slice_cstr(req->query)) == CL_OK)
            for (size_t i = 0; i < q.len; i++)
                sub |= strncasecmp(q.items[i].key, "X-Amz-", 6) != 0 &&
                       !sigv2_query_param(q.items[i].key) &&
                       strcmp(q.items[i].key, "partNumber") != 0 &&
                       strcmp(q.items[i].key, "uploadId") != 0 &&
                       strcmp(q.items[i].key, "x-id") != 0; /* SDKs add x-id=PutObject */
        kvlist_free(&q);
        if (sub) return false;
    }
    const char *p = req->path[0] == '/' ? req->path + 1 : req->path;
    char *bucket = s3_host_bucket(s, req);
    bool vhost = bucket != NULL;
    free(bucket);
    const char *slash = strchr(p, '/');
    return vhost ? *p != 0 : slash && slash[1] != 0;
}

/* Content-Encoding without "aws-chunked", the transfer coding of the request
 * (AWS: "Amazon S3 stores the resulting object without the aws-chunked value in
 * the content-encoding header"); NULL when nothing is left. A value without
 * aws-chunked is stored exactly as sent ("deflate, gzip" stays so); the codings
 * left after removing it are joined with ", ", HTTP's list separator. */
static char *content_encoding(const char *value) {
    cl_buf out = CL_BUF_INIT;
    cl_slice l = slice_cstr(value), item;
    bool removed = false;
    while (slice_split(&l, ',', &item)) {
        item = slice_trim(item);
        bool chunked = slice_case_eq_cstr(item, "aws-chunked");
        removed |= chunked;
        if (item.len == 0 || chunked) continue;
        if (out.len) buf_append_cstr(&out, ", ");
        buf_append_slice(&out, item);
    }
    if (!removed) {
        buf_free(&out);
        return *value ? cl_strdup(value) : NULL;
    }
    if (out.len) return buf_take_cstr(&out);
    buf_free(&out);
    return NULL;
}

/* An x-amz-meta-* value as stored: UTF-8 as sent, else (bytes that are not
 * UTF-8, as a client encoding headers in ISO-8859-1, HTTP's historical header
 * charset, sends) each byte as the Latin-1 character it is, so no value is lost
 * or stored as invalid text. Reading answers it RFC 2047-encoded (s3_read.c). */
static char *meta_value(const char *v) {
    if (utf8_valid(slice_cstr(v))) return cl_strdup(v);
    cl_buf out = CL_BUF_INIT;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p < 0x80) {
            buf_append_byte(&out, *p);
        } else {
            buf_append_byte(&out, (uint8_t)(0xC0 | (*p >> 6)));
            buf_append_byte(&out, (uint8_t)(0x80 | (*p & 0x3F)));
        }
    }
    return buf_take_cstr(&out);
}

json_t *s3_request_metadata(const http_request *req) {
    json_t *meta = json_object(), *hdrs = json_object();
    static const char *const KEEP[] = {"Cache-Control", "Content-Disposition", "Content-Encoding",
                                       "Content-Language", "Expires"};
    for (size_t i = 0; i < req->headers.len; i++) {
        const cl_kv *h = &req->headers.items[i];
        if (strncasecmp(h->key, "x-amz-meta-", 11) == 0) {
            char *k = cl_strdup(h->key + 11);
            for (char *c = k; *c; c++)
                *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
            char *v = meta_value(h->value);
            json_object_set_new(meta, k, json_string(v));
            free(v);
            free(k);
        }
        for (size_t j = 0; j < sizeof KEEP / sizeof KEEP[0]; j++) {
            if (strcasecmp(h->key, KEEP[j]) != 0) continue;
            char *v = j == 2 ? content_encoding(h->value) : cl_strdup(h->value);
            if (v) json_object_set_new(hdrs, KEEP[j], json_string(v));
            free(v);
        }
    }
    const char *ct = kvlist_get_ci(&req->headers, "Content-Type");
    json_t *doc = json_pack("{s:s, s:o, s:o}", "ContentType", ct ? ct : "binary/octet-stream",
                            "Meta", meta, "Headers", hdrs);
    json_t *tags = s3_header_tags(req); /* x-amz-tagging, checked by s3_check_request_tags */
    if (tags) json_object_set_new(doc, "Tags", tags);
    return doc;
}

/* The x-amz-checksum-<algo> header on a plain (not aws-chunked) body, if any. */
static bool plain_checksum(s3_op *op, s3_upload *u) {
    for (size_t i = 0; i < op->req->headers.len; i++) {
        const cl_kv *h = &op->req->headers.items[i];
        checksum_algo a = checksum_algo_from_header(slice_cstr(h->key));
        if (a == CHECKSUM_NONE) continue;
        checksum_init(&u->ck, a);
        u->ck_expected = cl_strdup(h->value);
        return true;
    }
    /* none sent: the upload's algorithm, else S3's default CRC64NVME (of an
     * object; of a part, which Complete combines into the object's) */
    checksum_init(&u->ck, u->need != CHECKSUM_NONE ? u->need : CHECKSUM_CRC64NVME);
    return true;
}

/* An x-amz-checksum-<algo> header beside an aws-chunked body without a trailer. */
static const char *header_checksum(const s3_op *op, checksum_algo *a) {
    for (size_t i = 0; i < op->req->headers.len; i++) {
        const cl_kv *h = &op->req->headers.items[i];
        *a = checksum_algo_from_header(slice_cstr(h->key));
        if (*a != CHECKSUM_NONE) return h->value;
    }
    return NULL;
}

static bool setup_decoder(s3_op *op, s3_upload *u, chunked_mode mode) {
    const iam_caller *c = op->c;
    if (mode != CHUNKED_UNSIGNED_TRAILER && !c->has_signing_key) {
        aws_fault_set(&op->f, 400, "InvalidRequest",
                      "aws-chunked signed payloads need header authentication");
        return false;
    }
    chunked_config cfg = {
        .mode = mode,
        .signing_key = c->has_signing_key ? c->signing_key : NULL,
        .amz_date = c->amz_date,
        .scope = c->scope,
        .seed_signature = c->signature,
        .decoded_content_length = kvlist_get_ci(&op->req->headers, "x-amz-decoded-content-length"),
        .trailer = kvlist_get_ci(&op->req->headers, "x-amz-trailer"),
        .checksum = u->need,
        .sink = upload_write,
        .sink_arg = u,
    };
    if (!cfg.trailer && cfg.checksum == CHECKSUM_NONE)
        cfg.checksum = CHECKSUM_CRC64NVME; /* S3's default checksum */
    checksum_algo ha = CHECKSUM_NONE;
    const char *hv = cfg.trailer ? NULL : header_checksum(op, &ha);
    if (hv) cfg.checksum = ha, cfg.expected_checksum = hv;
    u->dec = chunked_new(&cfg);
    chunked_status st = chunked_error(u->dec);
    if (st == CHUNKED_OK) return true;
    aws_fault_set(&op->f, chunked_http_status(st), chunked_error_code(st), "%s",
                  chunked_message(u->dec));
    return false;
}

/* Decides how the body is checked, from x-amz-content-sha256. */
static bool setup_payload(s3_op *op, s3_upload *u) {
    const char *len = kvlist_get_ci(&op->req->headers, "Content-Length");
    const char *dlen = kvlist_get_ci(&op->req->headers, "x-amz-decoded-content-length");
    uint64_t n = 0;
    if ((dlen && slice_to_u64(slice_cstr(dlen), &n) == CL_OK && n > S3_MAX_PUT) ||
        (!dlen && len && slice_to_u64(slice_cstr(len), &n) == CL_OK && n > S3_MAX_PUT)) {
        aws_fault_set(&op->f, 400, "EntityTooLarge",
                      "Your proposed upload exceeds the maximum allowed size");
        return false;
    }
    const char *sha = kvlist_get_ci(&op->req->headers, "x-amz-content-sha256");
    chunked_mode mode;
    /* presigned: UNSIGNED-PAYLOAD; SigV2 signs no payload hash */
    if (!sha && op->c->auth_type == IAM_AUTHTYPE_HEADER && !op->c->sigv2) {
        aws_fault_set(&op->f, 400, "InvalidRequest",
                      "Missing required header for this request: x-amz-content-sha256");
        return false;
    }
    if (sha && chunked_mode_parse(sha, &mode)) return setup_decoder(op, u, mode);
    if (sha && strlen(sha) == 64) {
        snprintf(u->want_sha, sizeof u->want_sha, "%s", sha);
        u->sha = crypto_sha256_new();
    } else if (sha && strcmp(sha, "UNSIGNED-PAYLOAD") != 0) {
        aws_fault_set(&op->f, 400, "InvalidArgument",
                      "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "
                      "STREAMING-... or a SHA-256 digest");
        return false;
    }
    return plain_checksum(op, u);
}

void s3_begin_upload(s3 *s, const iam_caller *c, http_request *req, http_response *resp) {
    s3_op op;
    req->service = "s3";
    req->op = "PutObject";
    bool ok = s3_op_init(&op, s, c, req, resp) && s3_load_bucket(&op);
    const char *upload_id = kvlist_get(&op.query, "uploadId");
    int part = 0;
    json_t *upload = NULL;
    if (ok && upload_id) {
        req->op = "UploadPart";
        ok = (upload = s3_check_part_target(&op, upload_id, &part)) != NULL;
    }
    if (ok) {
        char *arn = s3_object_arn(op.bucket, op.key);
        ok = s3_authorize(&op, "s3:PutObject", arn, NULL) &&
             (upload_id || (s3_check_no_object_lock(&op) && s3_check_acl_headers(&op) &&
                            s3_write_cond_valid(&op) && s3_check_request_tags(&op)));
        free(arn);
    }
    s3_upload *u = NULL;
    if (ok) {
        u = cl_calloc(1, sizeof *u);
        *u = (s3_upload){.s = s,
                         .bucket = cl_strdup(op.bucket),
                         .bucket_id = cl_strdup(op.bucket_id),
                         .key = cl_strdup(op.key),
                         .owner =
                             cl_strdup(json_string_value(json_object_get(op.bucket_doc, "Owner")))};
        s3_event who = s3_op_event(&op, NULL);
        u->principal = who.principal ? cl_strdup(who.principal) : NULL;
        u->md5 = crypto_md5_new();
        u->doc = s3_request_metadata(req);
        u->upload_id = upload_id ? cl_strdup(upload_id) : NULL;
        u->part_number = part;
        ok = !upload_id || s3_mpck_part_check(&op, upload, &u->need);
        if (ok)
            ok = upload_id ? s3_sse_begin_part(&op, upload, part, &u->enc)
                           : s3_sse_begin_put(&op, &u->enc);
        if (ok) ok = setup_payload(&op, u);
        if (ok && blob_begin(s->blobs, &u->w) != CL_OK) {
            aws_fault_set(&op.f, 500, "InternalError", "could not start writing the object");
            ok = false;
        }
    }
    if (ok) {
        req->state = u;
        req->state_free = upload_free;
        req->body_sink = upload_body;
        req->body_sink_arg = u;
    } else {
        upload_free(u);
        s3_respond_fault(&op);
    }
    json_decref(upload);
    s3_op_free(&op);
}

/* Every check of the received body; fills the fault on failure. */
static bool verify_body(s3_op *op, s3_upload *u, char *checksum_b64, checksum_algo *algo) {
    checksum_b64[0] = 0;
    *algo = CHECKSUM_NONE;
    if (u->dec) {
        chunked_status st = chunked_error(u->dec); /* sticky: framing, signature, sink errors */
        if (st == CHUNKED_OK) st = chunked_finish(u->dec);
        if (st != CHUNKED_OK) {
            aws_fault_set(&op->f, chunked_http_status(st), chunked_error_code(st), "%s",
                          chunked_message(u->dec));
            return false;
        }
        *algo = chunked_checksum_algo(u->dec);
        snprintf(checksum_b64, CHECKSUM_B64_MAX, "%s", chunked_checksum_base64(u->dec));
        return true;
    }
    if (u->write_err == CL_ERR_TOO_LARGE) {
        aws_fault_set(&op->f, 400, "EntityTooLarge",
                      "Your proposed upload exceeds the maximum allowed size");
        return false;
    }
    if (op->req->body_error != CL_OK || u->write_err != CL_OK) {
        aws_fault_set(&op->f, 500, "InternalError", "could not store the object");
        return false;
    }
    if (u->sha) {
        uint8_t d[32];
        char hex[65];
        crypto_sha256_final(u->sha, d);
        u->sha = NULL;
        hex_encode_to(hex, d, sizeof d);
        if (strcasecmp(hex, u->want_sha) != 0) {
            aws_fault_set(
                &op->f, 400, "XAmzContentSHA256Mismatch",
                "The provided 'x-amz-content-sha256' header does not match what was computed.");
            return false;
        }
    }
    if (u->ck.algo != CHECKSUM_NONE) {
        *algo = u->ck.algo;
        checksum_final_base64(&u->ck, checksum_b64);
        if (u->ck_expected && strcmp(checksum_b64, u->ck_expected) != 0) {
            aws_fault_set(&op->f, 400, "BadDigest",
                          "The %s you specified did not match the calculated checksum.",
                          checksum_algo_name(*algo));
            return false;
        }
    }
    return true;
}

/* Commits the object: blob durable first, then metadata (in one transaction
 * with the check that the bucket was not deleted meanwhile: else NoSuchBucket
 * and the blob is discarded); the replaced blobs go last. */
static bool commit_object(s3_op *op, s3_upload *u, const char *etag, checksum_algo algo,
                          const char *ck) {
    char id[BLOB_ID_LEN + 1], ts[21];
    cl_err e = u->enc.on ? s3_sse_finish(&u->enc, u->w) : CL_OK;
    if (e != CL_OK) {
        aws_fault_set(&op->f, 500, "InternalError", "could not encrypt the object");
        return false;
    }
    e = blob_finish(u->w, id);
    u->w = NULL;
    if (e != CL_OK) {
        aws_fault_set(&op->f, 500, "InternalError", "could not store the object durably");
        return false;
    }
    time_format_iso8601(time_now(), ts);
    json_object_set_new(u->doc, "Blob", json_string(id));
    json_object_set_new(u->doc, "Size", json_integer((json_int_t)u->size));
    json_object_set_new(u->doc, "ETag", json_string(etag));
    json_object_set_new(u->doc, "LastModified", json_string(ts));
    json_object_set_new(u->doc, "Owner", json_string(u->owner));
    if (u->enc.on) json_object_set(u->doc, "SSE", u->enc.record);
    if (algo != CHECKSUM_NONE && *ck)
        json_object_set_new(u->doc, "Checksum", json_pack("{s:s}", checksum_algo_name(algo), ck));
    /* committed only if the bucket is still the one the PUT began in */
    s3_event ev = s3_op_event(op, "ObjectCreated:Put");
    ev.principal = u->principal; /* op's caller is a placeholder once the body is in */
    return s3_commit_object_doc(op, u->bucket, u->bucket_id, u->key, u->doc, &ev);
}

void s3_finish_upload(s3_op *op) {
    s3_upload *u = op->req->state;
    op->req->op = "PutObject";
    free(op->bucket_id); /* the bucket as it was when the PUT began */
    op->bucket_id = cl_strdup(u->bucket_id);
    char ck[CHECKSUM_B64_MAX];
    checksum_algo algo;
    if (!verify_body(op, u, ck, &algo)) return;
    uint8_t md5[CRYPTO_MD5_LEN];
    crypto_md5_final(u->md5, md5);
    u->md5 = NULL;
    if (!s3_check_content_md5(op, md5)) return;
    char hex[33], etag[40];
    hex_encode_to(hex, md5, sizeof md5);
    snprintf(etag, sizeof etag, "\"%s\"", hex);
    if (u->upload_id) {
        char id[BLOB_ID_LEN + 1];
        if (u->enc.on && s3_sse_finish(&u->enc, u->w) != CL_OK) {
            aws_fault_set(&op->f, 500, "InternalError", "could not encrypt the part");
            return;
        }
        if (blob_finish(u->w, id) != CL_OK) {
            u->w = NULL;
            aws_fault_set(&op->f, 500, "InternalError", "could not store the part durably");
            return;
        }
        u->w = NULL;
        op->req->op = "UploadPart";
        char *ctx = u->enc.on ? s3_sse_part_context(u->enc.record, u->part_number) : NULL;
        bool ok = s3_commit_part(op, u->upload_id, u->part_number, id, u->size, etag,
                                 algo != CHECKSUM_NONE ? checksum_algo_name(algo) : NULL, ck, ctx);
        free(ctx);
        if (!ok) return;
    } else if (!commit_object(op, u, etag, algo, ck)) {
        return;
    }
    http_set_header(op->resp, "ETag", etag);
    if (!u->upload_id) s3_ver_written_header(op, u->doc);
    if (u->enc.on) s3_sse_headers(op->resp, u->enc.record);
    if (algo != CHECKSUM_NONE && *ck) {
        char name[40];
        snprintf(name, sizeof name, "x-amz-checksum-%s", checksum_algo_name(algo));
        for (char *c = name; *c; c++)
            *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
        http_set_header(op->resp, name, ck);
        if (!u->upload_id) http_set_header(op->resp, "x-amz-checksum-type", "FULL_OBJECT");
    }
    op->resp->status = 200;
}
