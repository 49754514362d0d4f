/* s3_sse.c — server-side encryption of object bytes at rest.
 *
 * SSE-S3 (x-amz-server-side-encryption: AES256, or the bucket's default
 * encryption): each object gets a fresh 32-byte data key, wrapped with the
 * node's SSE key (AES-256-GCM; DATA/keys/sse-s3.key, 0600, made on first start)
 * and stored in the object's metadata. SSE-C: the customer's key, sent with
 * every request over HTTPS, is the data key; only its MD5 is stored, to check
 * later requests. Either way the bytes are written in the segmented format of
 * crypto_seg_* (64 KiB AES-256-GCM segments, per-object context), so a ranged
 * GET decrypts only the segments it returns, and truncation, reordering or
 * splicing of segments is detected. SSE-KMS needs the KMS service (not built
 * yet): such requests are refused and nothing is stored.
 *
 * Metadata: object.SSE = {Kind: "S3"|"C", Wrapped: b64(iv || sealed key),
 * KeyMD5: b64 (SSE-C), Context: hex}. The context is random per object, so
 * copying ciphertext together with this record keeps it readable. */
#include "s3/s3_internal.h"

#include "crypto/crypto.h"
#include "s3/s3_xml.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SSE_AAD "cloister-sse-s3-v1"

cl_err s3_sse_load_node_key(s3 *s, const char *data_dir) {
    char *dir = cl_sprintf("%s/keys", data_dir), *path = cl_sprintf("%s/keys/sse-s3.key", data_dir);
    cl_buf b = CL_BUF_INIT;
    cl_err e = dir_ensure(dir, 0700);
    if (e == CL_OK) e = file_read_all(path, &b, 64);
    if (e == CL_ERR_NOT_FOUND) {
        uint8_t key[32];
        crypto_random(key, sizeof key);
        e = file_write_atomic(path, slice_of(key, sizeof key), 0600);
        if (e == CL_OK) buf_append(&b, key, sizeof key);
        cl_cleanse(key, sizeof key);
    }
    if (e == CL_OK && b.len != sizeof s->sse_key) e = CL_ERR_INVALID;
    if (e == CL_OK) memcpy(s->sse_key, b.ptr, sizeof s->sse_key);
    buf_free_secret(&b);
    free(dir);
    free(path);
    return e;
}

void s3_enc_free(s3_enc *e) {
    if (!e) return;
    crypto_seg_enc_free(e->stream);
    json_decref(e->record);
    cl_cleanse(e, sizeof *e);
}

/* SSE-C headers: algorithm AES256, a base64 32-byte key and its base64 MD5. */
static bool customer_key(s3_op *op, const char *prefix, uint8_t key[32], char md5_b64[32]) {
    char alg_h[96], key_h[96], md5_h[96];
    snprintf(alg_h, sizeof alg_h, "%s-algorithm", prefix);
    snprintf(key_h, sizeof key_h, "%s-key", prefix);
    snprintf(md5_h, sizeof md5_h, "%s-key-MD5", prefix);
    const char *alg = kvlist_get_ci(&op->req->headers, alg_h);
    const char *k = kvlist_get_ci(&op->req->headers, key_h);
    const char *m = kvlist_get_ci(&op->req->headers, md5_h);
    if (!op->req->tls) {
        aws_fault_set(&op->f, 400, "InvalidRequest",
                      "Requests specifying Server Side Encryption with Customer provided keys must "
                      "be made over a secure connection.");
        return false;
    }
    cl_buf raw = CL_BUF_INIT;
    bool ok = alg && strcmp(alg, "AES256") == 0 && k && m &&
              base64_decode(&raw, slice_cstr(k)) == CL_OK && raw.len == 32;
    if (ok) {
        uint8_t d[CRYPTO_MD5_LEN];
        crypto_md5(buf_slice(&raw), d);
        cl_buf b = CL_BUF_INIT;
        base64_encode(&b, slice_of(d, sizeof d));
        ok = strcmp(buf_cstr(&b), m) == 0;
        snprintf(md5_b64, 32, "%s", buf_cstr(&b));
        buf_free(&b);
        if (ok) memcpy(key, raw.ptr, 32);
    }
    buf_free_secret(&raw);
    if (!ok)
        aws_fault_set(&op->f, 400, "InvalidArgument",
                      "The SSE-C headers must give algorithm AES256, a 256-bit base64 key and its "
                      "base64 MD5.");
    return ok;
}

/* Which encryption a PUT asks for: its headers, else the bucket default. */
static const char *requested(s3_op *op, bool *customer) {
    *customer =
        kvlist_get_ci(&op->req->headers, "x-amz-server-side-encryption-customer-algorithm") != NULL;
    const char *h = kvlist_get_ci(&op->req->headers, "x-amz-server-side-encryption");
    if (h || *customer) return h;
    return json_string_value(
        json_object_get(json_object_get(op->bucket_doc, "Encryption"), "Algorithm"));
}

static void wrap_key(s3 *s, const uint8_t key[32], json_t *rec) {
    uint8_t iv[CRYPTO_GCM_IV_LEN], sealed[CRYPTO_GCM_IV_LEN + 32 + CRYPTO_GCM_TAG_LEN];
    crypto_random(iv, sizeof iv);
    memcpy(sealed, iv, sizeof iv);
    crypto_gcm_seal(s->sse_key, iv, slice_cstr(SSE_AAD), slice_of(key, 32), sealed + sizeof iv);
    cl_buf b = CL_BUF_INIT;
    base64_encode(&b, slice_of(sealed, sizeof sealed));
    json_object_set_new(rec, "Wrapped", json_string(buf_cstr(&b)));
    buf_free(&b);
}

bool s3_sse_begin_put(s3_op *op, s3_enc *e) {
    memset(e, 0, sizeof *e);
    bool customer = false;
    const char *alg = requested(op, &customer);
    if (!alg && !customer) return true; /* not encrypted */
    if (alg && strcmp(alg, "AES256") != 0) {
        aws_fault_set(&op->f, strncmp(alg, "aws:kms", 7) == 0 ? 501 : 400,
                      strncmp(alg, "aws:kms", 7) == 0 ? "NotImplemented" : "InvalidArgument",
                      strncmp(alg, "aws:kms", 7) == 0
                          ? "SSE-KMS needs the KMS service, which this server does not have yet; "
                            "nothing was stored."
                          : "The encryption method specified is not supported");
        return false;
    }
    uint8_t key[32], ctx[16];
    char md5[32] = "";
    if (customer && !customer_key(op, "x-amz-server-side-encryption-customer", key, md5))
        return false;
    if (!customer) crypto_random(key, sizeof key);
    crypto_random(ctx, sizeof ctx);
    char ctx_hex[33];
    hex_encode_to(ctx_hex, ctx, sizeof ctx);
    e->record = json_pack("{s:s, s:s}", "Kind", customer ? "C" : "S3", "Context", ctx_hex);
    if (customer)
        json_object_set_new(e->record, "KeyMD5", json_string(md5));
    else
        wrap_key(op->s, key, e->record);
    cl_err err = crypto_seg_enc_new(key, slice_cstr(ctx_hex), &e->stream);
    cl_cleanse(key, sizeof key);
    if (err != CL_OK) {
        aws_fault_set(&op->f, 500, "InternalError", "could not start encrypting");
        return false;
    }
    e->on = true;
    return true;
}

cl_err s3_sse_write(s3_enc *e, cl_slice plain, blob_writer *w) {
    cl_buf out = CL_BUF_INIT;
    cl_err err = crypto_seg_enc_update(e->stream, plain, &out);
    if (err == CL_OK) err = blob_append(w, buf_slice(&out));
    buf_free(&out);
    return err;
}

cl_err s3_sse_finish(s3_enc *e, blob_writer *w) {
    cl_buf out = CL_BUF_INIT;
    cl_err err = crypto_seg_enc_final(e->stream, &out);
    e->stream = NULL; /* final frees it */
    if (err == CL_OK) err = blob_append(w, buf_slice(&out));
    buf_free(&out);
    return err;
}

void s3_sse_headers(http_response *r, json_t *record) {
    if (!record) return;
    const char *kind = json_string_value(json_object_get(record, "Kind"));
    if (kind && strcmp(kind, "C") == 0) {
        http_set_header(r, "x-amz-server-side-encryption-customer-algorithm", "AES256");
        http_set_header(r, "x-amz-server-side-encryption-customer-key-MD5",
                        json_string_value(json_object_get(record, "KeyMD5")));
    } else if (kind) {
        http_set_header(r, "x-amz-server-side-encryption", "AES256");
    }
}

/* The object's data key: unwrapped (SSE-S3) or from the request (SSE-C). */
static bool object_key(s3_op *op, json_t *rec, uint8_t key[32]) {
    if (strcmp(json_string_value(json_object_get(rec, "Kind")), "C") == 0) {
        if (!kvlist_get_ci(&op->req->headers, "x-amz-server-side-encryption-customer-algorithm")) {
            aws_fault_set(
                &op->f, 400, "InvalidRequest",
                "The object was stored using a form of Server Side Encryption. The correct "
                "parameters must be provided to retrieve the object.");
            return false;
        }
        char md5[32];
        if (!customer_key(op, "x-amz-server-side-encryption-customer", key, md5)) return false;
        if (strcmp(md5, json_string_value(json_object_get(rec, "KeyMD5"))) == 0) return true;
        cl_cleanse(key, 32);
        aws_fault_set(&op->f, 403, "AccessDenied", "Access Denied");
        return false;
    }
    cl_buf sealed = CL_BUF_INIT;
    bool ok =
        base64_decode(&sealed, slice_cstr(json_string_value(json_object_get(rec, "Wrapped")))) ==
            CL_OK &&
        sealed.len == CRYPTO_GCM_IV_LEN + 32 + CRYPTO_GCM_TAG_LEN &&
        crypto_gcm_open(op->s->sse_key, sealed.ptr, slice_cstr(SSE_AAD),
                        slice_sub(buf_slice(&sealed), CRYPTO_GCM_IV_LEN, sealed.len), key) == CL_OK;
    buf_free(&sealed);
    if (!ok) aws_fault_set(&op->f, 500, "InternalError", "the object's key cannot be unwrapped");
    return ok;
}

typedef struct {
    blob_reader *blob;
    crypto_seg_dec *dec;
    uint64_t start;
} sse_reader;

static long sse_read(void *arg, uint64_t pos, char *buf, size_t max) {
    sse_reader *r = arg;
    uint64_t size = crypto_seg_dec_size(r->dec), at = r->start + pos;
    if (at >= size) return 0;
    size_t n = max < size - at ? max : (size_t)(size - at);
    return crypto_seg_dec_read(r->dec, at, buf, n) == CL_OK ? (long)n : -1;
}

static void sse_reader_free(void *arg) {
    sse_reader *r = arg;
    crypto_seg_dec_free(r->dec);
    blob_close(r->blob);
    free(r);
}

bool s3_sse_key_check(s3_op *op, json_t *object) {
    json_t *rec = json_object_get(object, "SSE");
    if (!rec) return true;
    uint8_t key[32];
    bool ok = object_key(op, rec, key);
    cl_cleanse(key, sizeof key);
    return ok;
}

bool s3_sse_reader(s3_op *op, json_t *object, uint64_t off, uint64_t len) {
    json_t *rec = json_object_get(object, "SSE");
    uint8_t key[32];
    if (!object_key(op, rec, key)) return false;
    sse_reader *r = cl_calloc(1, sizeof *r);
    uint64_t plain = (uint64_t)json_integer_value(json_object_get(object, "Size"));
    cl_err e =
        blob_open(op->s->blobs, json_string_value(json_object_get(object, "Blob")), &r->blob);
    if (e == CL_OK && blob_size(r->blob) != crypto_seg_cipher_size(plain))
        e = CL_ERR_CRYPTO; /* truncated */
    if (e == CL_OK)
        e = crypto_seg_dec_open(key, slice_cstr(json_string_value(json_object_get(rec, "Context"))),
                                blob_size(r->blob), blob_read_cb, r->blob, &r->dec);
    cl_cleanse(key, sizeof key);
    if (e != CL_OK) {
        sse_reader_free(r);
        aws_fault_set(&op->f, 500, "InternalError", "the object's encrypted data does not verify");
        return false;
    }
    r->start = off;
    op->resp->reader = sse_read;
    op->resp->reader_arg = r;
    op->resp->reader_free = sse_reader_free;
    op->resp->reader_length = len;
    return true;
}

/* ---- bucket default encryption (?encryption) ---- */

static void put_encryption(s3_op *op) {
    s3_encryption_config cfg = {0};
    s3_xml_error xe = {0};
    if (s3_xml_parse_encryption(buf_slice(&op->req->body), &cfg, &xe) != CL_OK) {
        aws_fault_set(&op->f, 400, xe.code ? xe.code : "MalformedXML", "%s", xe.message);
        return;
    }
    json_t *enc = json_pack("{s:s, s:b}", "Algorithm", s3_sse_algorithm_name(cfg.algorithm),
                            "BucketKeyEnabled", cfg.bucket_key_enabled);
    if (cfg.kms_key_id) json_object_set_new(enc, "KMSMasterKeyID", json_string(cfg.kms_key_id));
    s3_encryption_config_free(&cfg);
    json_object_set_new(op->bucket_doc, "Encryption", enc);
    char *text = json_dumps(op->bucket_doc, JSON_COMPACT);
    cl_err e = store_put(op->s->st, "bucket", "", op->bucket, text);
    free(text);
    if (e != CL_OK)
        aws_fault_set(&op->f, 500, "InternalError", "could not store the bucket");
    else
        op->resp->status = 200;
}

static void get_encryption(s3_op *op) {
    json_t *enc = json_object_get(op->bucket_doc, "Encryption");
    if (!enc) {
        aws_fault_set(&op->f, 404, "ServerSideEncryptionConfigurationNotFoundError",
                      "The server side encryption configuration was not found");
        return;
    }
    cl_buf *o = &op->resp->body;
    s3_xml_begin(op, "ServerSideEncryptionConfiguration");
    xml_open(o, "Rule");
    xml_open(o, "ApplyServerSideEncryptionByDefault");
    xml_text(o, "SSEAlgorithm", json_string_value(json_object_get(enc, "Algorithm")));
    xml_text(o, "KMSMasterKeyID", json_string_value(json_object_get(enc, "KMSMasterKeyID")));
    xml_close(o, "ApplyServerSideEncryptionByDefault");
    xml_text(o, "BucketKeyEnabled",
             json_is_true(json_object_get(enc, "BucketKeyEnabled")) ? "true" : "false");
    xml_close(o, "Rule");
    s3_xml_end(op, "ServerSideEncryptionConfiguration");
}

void s3_bucket_encryption(s3_op *op) {
    const char *m = op->req->method;
    bool get = strcmp(m, "GET") == 0;
    char *arn = s3_bucket_arn(op->bucket);
    bool ok =
        s3_load_bucket(op) &&
        s3_authorize(op, get ? "s3:GetEncryptionConfiguration" : "s3:PutEncryptionConfiguration",
                     arn, NULL);
    free(arn);
    if (!ok) return;
    if (get) {
        get_encryption(op);
    } else if (strcmp(m, "PUT") == 0) {
        put_encryption(op);
    } else if (strcmp(m, "DELETE") == 0) {
        json_object_del(op->bucket_doc, "Encryption");
        char *text = json_dumps(op->bucket_doc, JSON_COMPACT);
        store_put(op->s->st, "bucket", "", op->bucket, text);
        free(text);
        op->resp->status = 204;
    } else {
        aws_fault_set(&op->f, 405, "MethodNotAllowed",
                      "The specified method is not allowed against this resource.");
    }
}
