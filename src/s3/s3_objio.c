/* s3_objio.c — reading an object's plaintext, whatever its layout: one blob or
 * the blobs of a multipart upload's parts, each plain or encrypted (SSE-S3,
 * SSE-KMS, SSE-C: a crypto_seg stream per blob, the object's data key, a
 * context per blob). GET uses it (except for a single plain blob, which goes
 * out zero-copy with sendfile), and so do CopyObject and UploadPartCopy, so
 * every way of reading stored bytes decrypts and checks them the same way.
 *
 * The data key is fetched once when the reader opens (for SSE-KMS that is the
 * caller's kms:Decrypt), kept in the reader, and zeroised when it closes. A
 * blob whose size does not match its recorded plaintext size, or a segment
 * that fails authentication, is a read error: no unverified byte goes out.
 *
 * Snapshot: the reader pins every blob of the object when it opens (blob.h), so
 * a response that has started delivers the object as it was even if it is
 * overwritten or deleted meanwhile; the blobs go when the reader is freed. A
 * blob already gone at open means the document read is stale (replaced since):
 * the open fails and GET reads the document again. */
#include "s3/s3_internal.h"

#include "crypto/crypto.h"

#include <stdlib.h>
#include <string.h>

struct s3_obj_reader {
    blob_store *blobs;
    json_t *parts;  /* [{Blob, Size, Context?}] */
    json_t *pinned; /* {Parts: parts} while its blobs are pinned */
    s3 *s;
    bool enc;
    uint8_t key[32];
    size_t cur;      /* part index of the open blob */
    uint64_t cur_at; /* object offset where part `cur` begins */
    blob_reader *blob;
    crypto_seg_dec *dec;
};

static uint64_t part_size(json_t *p) {
    return (uint64_t)json_integer_value(json_object_get(p, "Size"));
}

static void close_part(s3_obj_reader *r) {
    crypto_seg_dec_free(r->dec);
    blob_close(r->blob);
    r->dec = NULL;
    r->blob = NULL;
}

void s3_obj_reader_free(s3_obj_reader *r) {
    if (!r) return;
    close_part(r);
    if (r->pinned) s3_object_unpin(r->s, r->pinned);
    json_decref(r->pinned);
    json_decref(r->parts);
    cl_cleanse(r->key, sizeof r->key);
    free(r);
}

bool s3_obj_reader_open(s3_op *op, json_t *object, const char *customer_prefix,
                        s3_obj_reader **out) {
    s3_obj_reader *r = cl_calloc(1, sizeof *r);
    r->blobs = op->s->blobs;
    r->s = op->s;
    json_t *rec = json_object_get(object, "SSE");
    json_t *parts = json_object_get(object, "Parts");
    if (parts)
        r->parts = json_incref(parts);
    else /* one blob: a single part, with the object's own context */
        r->parts =
            json_pack("[{s:O, s:O, s:O*}]", "Blob", json_object_get(object, "Blob"), "Size",
                      json_object_get(object, "Size"), "Context", json_object_get(rec, "Context"));
    json_t *pin = json_pack("{s:O}", "Parts", r->parts);
    if (!s3_object_pin(op->s, pin)) {
        json_decref(pin);
        aws_fault_set(&op->f, 500, "InternalError", "the object's data is missing");
        s3_obj_reader_free(r);
        return false;
    }
    r->pinned = pin;
    if (rec) {
        r->enc = true;
        if (!s3_sse_object_key(op, rec, customer_prefix, r->key)) {
            s3_obj_reader_free(r);
            return false;
        }
    }
    *out = r;
    return true;
}

static cl_err open_part(s3_obj_reader *r) {
    json_t *p = json_array_get(r->parts, r->cur);
    CL_TRY(blob_open(r->blobs, json_string_value(json_object_get(p, "Blob")), &r->blob));
    if (!r->enc) return blob_size(r->blob) == part_size(p) ? CL_OK : CL_ERR_CRYPTO;
    const char *ctx = json_string_value(json_object_get(p, "Context"));
    if (!ctx || blob_size(r->blob) != crypto_seg_cipher_size(part_size(p)))
        return CL_ERR_CRYPTO; /* truncated or not what was recorded */
    return crypto_seg_dec_open(r->key, slice_cstr(ctx), blob_size(r->blob), blob_read_cb, r->blob,
                               &r->dec);
}

/* Positions on the part holding object offset `at`; CL_ERR_NOT_FOUND past the end. */
static cl_err seek_part(s3_obj_reader *r, uint64_t at) {
    if (at < r->cur_at) { /* backwards: start over */
        close_part(r);
        r->cur = 0;
        r->cur_at = 0;
    }
    size_t n = json_array_size(r->parts);
    while (r->cur < n && at >= r->cur_at + part_size(json_array_get(r->parts, r->cur))) {
        r->cur_at += part_size(json_array_get(r->parts, r->cur));
        r->cur++;
        close_part(r);
    }
    if (r->cur >= n) return CL_ERR_NOT_FOUND;
    return r->blob ? CL_OK : open_part(r);
}

cl_err s3_obj_reader_read(s3_obj_reader *r, uint64_t off, void *buf, size_t n) {
    uint8_t *dst = buf;
    while (n > 0) {
        CL_TRY(seek_part(r, off));
        uint64_t in = off - r->cur_at, left = part_size(json_array_get(r->parts, r->cur)) - in;
        size_t take = n < left ? n : (size_t)left;
        CL_TRY(r->enc ? crypto_seg_dec_read(r->dec, in, dst, take)
                      : blob_read_at(r->blob, in, (char *)dst, take));
        dst += take, off += take, n -= take;
    }
    return CL_OK;
}

/* ---- as a response body ---- */
typedef struct {
    s3_obj_reader *r;
    uint64_t start, len;
} body_reader;

static long body_read(void *arg, uint64_t pos, char *buf, size_t max) {
    body_reader *b = arg;
    if (pos >= b->len) return 0;
    size_t n = max < b->len - pos ? max : (size_t)(b->len - pos);
    return s3_obj_reader_read(b->r, b->start + pos, buf, n) == CL_OK ? (long)n : -1;
}

static void body_free(void *arg) {
    body_reader *b = arg;
    s3_obj_reader_free(b->r);
    free(b);
}

bool s3_obj_respond(s3_op *op, json_t *object, uint64_t off, uint64_t len) {
    s3_obj_reader *r;
    if (!s3_obj_reader_open(op, object, "x-amz-server-side-encryption-customer", &r)) return false;
    body_reader *b = cl_calloc(1, sizeof *b);
    *b = (body_reader){r, off, len};
    op->resp->reader = body_read;
    op->resp->reader_arg = b;
    op->resp->reader_free = body_free;
    op->resp->reader_length = len;
    return true;
}
