/* s3_sse.c — server-side encryption of object bytes at rest.
 *
 * SSE-S3 (x-amz-server-side-encryption: AES256, or the bucket's default
 * encryption): each object gets a fresh 32-byte data key, wrapped with the
 * node's SSE key (AES-256-GCM; DATA/keys/sse-s3.key, 0600, made on first start,
 * itself sealed under a key the server derives from the KMS root key) and
 * stored in the object's metadata. SSE-C: the customer's key, sent with
 * every request over HTTPS, is the data key; only its MD5 is stored, to check
 * later requests. Either way the bytes are written in the segmented format of
 * crypto_seg_* (64 KiB AES-256-GCM segments, per-object context), so a ranged
 * GET decrypts only the segments it returns, and truncation, reordering or
 * splicing of segments is detected. SSE-KMS (aws:kms): the data key comes from
 * KMS GenerateDataKey on the caller's behalf (the caller's KMS permissions
 * count, with kms:ViaService s3.<region>.amazonaws.com) under the encryption
 * context {"aws:s3:arn": "arn:aws:s3:::bucket/key"} plus any the request adds;
 * KMS's ciphertext of the data key is stored with the object and every GET
 * asks KMS to Decrypt it for that GET's caller, so a reader the bucket policy
 * allows but the key policy does not gets AccessDenied naming KMS.
 *
 * Metadata: object.SSE = {Kind: "S3"|"C"|"KMS", Wrapped: b64(iv || sealed key)
 * (S3) or b64(KMS ciphertext blob) (KMS), KeyId: key ARN (KMS), EncCtx: {..}
 * (KMS), KeyMD5: b64 (SSE-C), Context: hex}. The context is random per object,
 * so copying ciphertext together with this record keeps it readable. */
#include "s3/s3_internal.h"

#include "crypto/crypto.h"
#include "s3/s3_xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SSE_AAD "cloister-sse-s3-v1"

/* The node key file: 32 plain bytes (no seal key, or an earlier version), or
 * sealed: magic ‖ iv ‖ AES-256-GCM(seal key, iv, aad = magic, node key) ‖ tag. */
#define NODE_KEY_MAGIC "CLSK1"
#define NODE_KEY_MAGIC_LEN 5
#define NODE_KEY_SEALED_LEN (NODE_KEY_MAGIC_LEN + CRYPTO_GCM_IV_LEN + 32 + CRYPTO_GCM_TAG_LEN)

static cl_err node_key_write(const char *path, const uint8_t key[32], const uint8_t *seal_key) {
    if (!seal_key) return file_write_atomic(path, slice_of(key, 32), 0600);
    uint8_t out[NODE_KEY_SEALED_LEN];
    memcpy(out, NODE_KEY_MAGIC, NODE_KEY_MAGIC_LEN);
    crypto_random(out + NODE_KEY_MAGIC_LEN, CRYPTO_GCM_IV_LEN);
    cl_err e =
        crypto_gcm_seal(seal_key, out + NODE_KEY_MAGIC_LEN, slice_of(out, NODE_KEY_MAGIC_LEN),
                        slice_of(key, 32), out + NODE_KEY_MAGIC_LEN + CRYPTO_GCM_IV_LEN);
    if (e == CL_OK) e = file_write_atomic(path, slice_of(out, sizeof out), 0600);
    return e;
}

/* Reads the file's key into key; *plain says it was stored unsealed. */
static cl_err node_key_read(cl_slice f, const uint8_t *seal_key, uint8_t key[32], bool *plain) {
    *plain = f.len == 32;
    if (*plain) {
        memcpy(key, f.ptr, 32);
        return CL_OK;
    }
    if (f.len != NODE_KEY_SEALED_LEN || memcmp(f.ptr, NODE_KEY_MAGIC, NODE_KEY_MAGIC_LEN) != 0)
        return CL_ERR_INVALID;
    if (!seal_key) return CL_ERR_INVALID; /* sealed, and nothing to open it with */
    return crypto_gcm_open(
        seal_key, f.ptr + NODE_KEY_MAGIC_LEN, slice_of(f.ptr, NODE_KEY_MAGIC_LEN),
        slice_of(f.ptr + NODE_KEY_MAGIC_LEN + CRYPTO_GCM_IV_LEN, 32 + CRYPTO_GCM_TAG_LEN), key);
}

cl_err s3_sse_load_node_key(s3 *s, const char *data_dir, const uint8_t *seal_key) {
    char *dir = cl_sprintf("%s/keys", data_dir), *path = cl_sprintf("%s/keys/sse-s3.key", data_dir);
    cl_buf b = CL_BUF_INIT;
    uint8_t key[32];
    bool plain = false;
    cl_err e = dir_ensure(dir, 0700);
    if (e == CL_OK) e = file_read_all(path, &b, 128);
    if (e == CL_ERR_NOT_FOUND) {
        crypto_random(key, sizeof key);
        e = node_key_write(path, key, seal_key);
    } else if (e == CL_OK) {
        e = node_key_read(buf_slice(&b), seal_key, key, &plain);
        if (e == CL_OK && plain && seal_key) e = node_key_write(path, key, seal_key); /* seal it */
    }
    if (e == CL_OK) memcpy(s->sse_key, key, sizeof s->sse_key);
    cl_cleanse(key, sizeof key);
    buf_free_secret(&b);
    free(dir);
    free(path);
    return e;
}

void s3_sse_key_fingerprint(const s3 *s, uint8_t out[32]) {
    uint8_t mac[CRYPTO_SHA256_LEN];
    crypto_hmac_sha256(slice_of(s->sse_key, sizeof s->sse_key), slice_cstr("cloister-cluster-id"),
                       mac);
    crypto_sha256(slice_of(mac, sizeof mac), out);
    cl_cleanse(mac, sizeof mac);
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

/* ---- strict request validation (AWS answers 400 InvalidArgument to each) ---- */
#define SSE_H "x-amz-server-side-encryption"
#define SSE_C_PREFIX SSE_H "-customer"

static bool sse_invalid(s3_op *op, const char *msg) {
    aws_fault_set(&op->f, 400, "InvalidArgument", "%s", msg);
    return false;
}

/* The SSE-C headers under prefix: none at all, or algorithm, key and key MD5
 * together. A key without its algorithm used to be ignored, storing the object
 * in plaintext while the client believed it encrypted. */
static bool customer_headers_valid(s3_op *op, const char *prefix) {
    char alg_h[96], key_h[96], md5_h[96];
    snprintf(alg_h, sizeof alg_h, "%s-algorithm", prefix);
    snprintf(key_h, sizeof key_h, "%s-key", prefix);
    snprintf(md5_h, sizeof md5_h, "%s-key-MD5", prefix);
    const char *alg = kvlist_get_ci(&op->req->headers, alg_h);
    bool k = kvlist_get_ci(&op->req->headers, key_h) != NULL;
    bool m = kvlist_get_ci(&op->req->headers, md5_h) != NULL;
    if (!alg && !k && !m) return true;
    if (!alg || strcmp(alg, "AES256") != 0)
        return sse_invalid(op, "Requests specifying Server Side Encryption with Customer provided "
                               "keys must provide a valid encryption algorithm.");
    if (!k)
        return sse_invalid(op, "Requests specifying Server Side Encryption with Customer provided "
                               "keys must provide an appropriate secret key.");
    if (!m)
        return sse_invalid(op, "Requests specifying Server Side Encryption with Customer provided "
                               "keys must provide the client calculated MD5 of the secret key.");
    return true;
}

/* A new object or upload (PutObject, CopyObject's destination,
 * CreateMultipartUpload): the KMS key id and encryption context go only with
 * x-amz-server-side-encryption: aws:kms (so never with AES256). */
static bool new_object_headers_valid(s3_op *op) {
    if (!customer_headers_valid(op, SSE_C_PREFIX)) return false;
    const char *alg = kvlist_get_ci(&op->req->headers, SSE_H);
    bool kms = alg && strncmp(alg, "aws:kms", 7) == 0;
    if (!kms && (kvlist_get_ci(&op->req->headers, SSE_H "-aws-kms-key-id") ||
                 kvlist_get_ci(&op->req->headers, SSE_H "-context")))
        return sse_invalid(op, "Server Side Encryption with AWS KMS managed key requires HTTP "
                               "header x-amz-server-side-encryption : aws:kms");
    return true;
}

/* Requests that read or add to an existing object (GET, HEAD, UploadPart,
 * UploadPartCopy) choose no encryption: only SSE-C's key may be sent. */
static bool no_encryption_choice(s3_op *op) {
    static const char *const H[] = {SSE_H, SSE_H "-aws-kms-key-id", SSE_H "-context", NULL};
    for (int i = 0; H[i]; i++)
        if (kvlist_get_ci(&op->req->headers, H[i])) {
            aws_fault_set(&op->f, 400, "InvalidArgument",
                          "%s header is not supported for this operation.", H[i]);
            return false;
        }
    return customer_headers_valid(op, SSE_C_PREFIX);
}

/* SSE-C headers sent for an object (or upload) that is not SSE-C. */
static bool customer_not_applicable(s3_op *op, json_t *rec) {
    const char *kind = json_string_value(json_object_get(rec, "Kind"));
    if ((kind && strcmp(kind, "C") == 0) ||
        !kvlist_get_ci(&op->req->headers, SSE_C_PREFIX "-algorithm"))
        return false;
    aws_fault_set(&op->f, 400, "InvalidRequest",
                  "The encryption parameters are not applicable to this object.");
    return true;
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

/* ---- SSE-KMS ---- */
/* A KMS refusal in S3's words: access problems are 403 AccessDenied (the
 * message names KMS and its exception), others 400 KMS.<Exception>, as S3. */
static void kms_fault(s3_op *op, const aws_fault *kf) {
    static const struct {
        const char *kms, *s3;
    } codes[] = {{"NotFoundException", "KMS.NotFoundException"},
                 {"DisabledException", "KMS.DisabledException"},
                 {"KMSInvalidStateException", "KMS.KMSInvalidStateException"},
                 {"InvalidKeyUsageException", "KMS.InvalidKeyUsageException"},
                 {"InvalidCiphertextException", "KMS.InvalidCiphertextException"}};
    const char *code = kf->code ? kf->code : "KMSInternalException";
    if (strcmp(code, "AccessDeniedException") == 0) {
        aws_fault_set(&op->f, 403, "AccessDenied", "%s (KMS.AccessDeniedException)", kf->message);
        return;
    }
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(code, codes[i].kms) == 0) {
            aws_fault_set(&op->f, 400, codes[i].s3, "%s", kf->message);
            return;
        }
    aws_fault_set(&op->f, 500, "KMS.KMSInternalException", "%s", kf->message);
}

/* The encryption context KMS binds the data key to: S3's default
 * {"aws:s3:arn": object ARN} plus x-amz-server-side-encryption-context
 * (base64 of a JSON object of strings). NULL with a fault if malformed. */
static json_t *kms_context(s3_op *op) {
    char *arn = cl_sprintf("arn:aws:s3:::%s/%s", op->bucket, op->key);
    json_t *ctx = json_pack("{s:s}", "aws:s3:arn", arn);
    free(arn);
    const char *h = kvlist_get_ci(&op->req->headers, "x-amz-server-side-encryption-context");
    if (!h) return ctx;
    cl_buf raw = CL_BUF_INIT;
    json_t *extra = NULL;
    if (base64_decode(&raw, slice_cstr(h)) == CL_OK)
        extra = json_loadb((const char *)raw.ptr, raw.len, JSON_REJECT_DUPLICATES, NULL);
    buf_free(&raw);
    bool ok = json_is_object(extra);
    const char *k;
    json_t *v;
    json_object_foreach(extra, k, v) {
        if (!json_is_string(v)) ok = false;
    }
    /* aws:s3:arn is S3's own: the client may repeat it, never change it */
    json_t *theirs = json_object_get(extra, "aws:s3:arn");
    bool arn_ok = !theirs || json_equal(theirs, json_object_get(ctx, "aws:s3:arn"));
    if (ok && arn_ok) json_object_update(ctx, extra);
    json_decref(extra);
    if (ok && arn_ok) return ctx;
    json_decref(ctx);
    aws_fault_set(&op->f, 400, "InvalidArgument",
                  ok ? "The encryption context key aws:s3:arn is set by Amazon S3 and must be the "
                       "ARN of the object"
                     : "x-amz-server-side-encryption-context must be base64 of a JSON object of "
                       "strings");
    return NULL;
}

/* SSE-KMS needs the key service and a signed request (as S3: never anonymous). */
static bool kms_available(s3_op *op) {
    if (!op->s->kms.data_key || !op->s->kms.decrypt) {
        aws_fault_set(&op->f, 501, "NotImplemented", "SSE-KMS needs the KMS service.");
        return false;
    }
    if (op->c->p.type != PRINCIPAL_ANONYMOUS) return true;
    aws_fault_set(&op->f, 400, "InvalidArgument",
                  "Requests specifying Server Side Encryption with AWS KMS managed keys "
                  "require AWS Signature Version 4.");
    return false;
}

static bool kms_data_key(s3_op *op, uint8_t key[32], json_t **rec) {
    if (!kms_available(op)) return false;
    const char *key_id =
        kvlist_get_ci(&op->req->headers, "x-amz-server-side-encryption-aws-kms-key-id");
    if (!key_id)
        key_id = json_string_value(
            json_object_get(json_object_get(op->bucket_doc, "Encryption"), "KMSMasterKeyID"));
    json_t *ctx = kms_context(op);
    if (!ctx) return false;
    cl_buf blob = CL_BUF_INIT, b64 = CL_BUF_INIT;
    char *arn = NULL;
    aws_fault kf = {0};
    cl_err e =
        op->s->kms.data_key(op->s->kms.ctx, op->c, op->req, key_id, ctx, key, &blob, &arn, &kf);
    if (e != CL_OK) {
        kms_fault(op, &kf);
        json_decref(ctx);
        buf_free(&blob);
        return false;
    }
    base64_encode(&b64, buf_slice(&blob));
    *rec = json_pack("{s:s, s:s, s:o}", "Wrapped", buf_cstr(&b64), "KeyId", arn, "EncCtx", ctx);
    free(arn);
    buf_free(&blob);
    buf_free(&b64);
    return true;
}

/* The data key of an SSE-KMS object, decrypted by KMS for this request's caller. */
static bool kms_object_key(s3_op *op, json_t *rec, uint8_t key[32]) {
    if (!kms_available(op)) return false;
    cl_buf blob = CL_BUF_INIT;
    char *arn = NULL;
    aws_fault kf = {0};
    cl_err e = base64_decode(&blob, slice_cstr(json_string_value(json_object_get(rec, "Wrapped"))));
    if (e == CL_OK)
        e = op->s->kms.decrypt(op->s->kms.ctx, op->c, op->req, json_object_get(rec, "EncCtx"),
                               buf_slice(&blob), key, &arn, &kf);
    else
        kf.code = "InvalidCiphertextException";
    buf_free(&blob);
    free(arn);
    if (e != CL_OK) kms_fault(op, &kf);
    return e == CL_OK;
}

/* Decides the encryption of a new object or upload (its headers, else the
 * bucket default) and makes its record and data key. *rec NULL: not encrypted. */
static bool sse_new_record(s3_op *op, uint8_t key[32], json_t **rec) {
    *rec = NULL;
    bool customer = false;
    if (!new_object_headers_valid(op)) return false;
    const char *alg = requested(op, &customer);
    if (!alg && !customer) return true; /* not encrypted */
    bool kms = alg && strcmp(alg, "aws:kms") == 0;
    if (alg && strcmp(alg, "AES256") != 0 && !kms) {
        aws_fault_set(&op->f, strcmp(alg, "aws:kms:dsse") == 0 ? 501 : 400,
                      strcmp(alg, "aws:kms:dsse") == 0 ? "NotImplemented" : "InvalidArgument",
                      "The encryption method specified is not supported");
        return false;
    }
    /* alg with customer: the x-amz-server-side-encryption header was sent too (the
     * bucket default applies only when neither was), whatever its value */
    if (alg && customer) {
        aws_fault_set(&op->f, 400, "InvalidArgument",
                      "Server Side Encryption with Customer provided key is incompatible with the "
                      "encryption method specified");
        return false;
    }
    uint8_t ctx[16];
    char md5[32] = "";
    json_t *kms_rec = NULL;
    if (customer && !customer_key(op, "x-amz-server-side-encryption-customer", key, md5))
        return false;
    if (kms && !kms_data_key(op, key, &kms_rec)) return false;
    if (!customer && !kms) crypto_random(key, 32);
    crypto_random(ctx, sizeof ctx);
    char ctx_hex[33];
    hex_encode_to(ctx_hex, ctx, sizeof ctx);
    *rec = kms_rec ? kms_rec : json_object();
    json_object_set_new(*rec, "Kind", json_string(customer ? "C" : kms ? "KMS" : "S3"));
    json_object_set_new(*rec, "Context", json_string(ctx_hex));
    if (customer)
        json_object_set_new(*rec, "KeyMD5", json_string(md5));
    else if (!kms)
        wrap_key(op->s, key, *rec);
    return true;
}

static bool start_stream(s3_op *op, const uint8_t key[32], const char *context, s3_enc *e) {
    if (crypto_seg_enc_new(key, slice_cstr(context), &e->stream) != CL_OK) {
        aws_fault_set(&op->f, 500, "InternalError", "could not start encrypting");
        return false;
    }
    e->on = true;
    return true;
}

bool s3_sse_begin_put(s3_op *op, s3_enc *e) {
    memset(e, 0, sizeof *e);
    uint8_t key[32];
    bool ok = sse_new_record(op, key, &e->record);
    if (ok && e->record)
        ok = start_stream(op, key, json_string_value(json_object_get(e->record, "Context")), e);
    cl_cleanse(key, sizeof key);
    return ok;
}

bool s3_sse_begin_upload(s3_op *op, json_t *upload) {
    uint8_t key[32];
    json_t *rec = NULL;
    bool ok = sse_new_record(op, key, &rec);
    cl_cleanse(key, sizeof key);
    if (rec) json_object_set_new(upload, "SSE", rec);
    return ok;
}

char *s3_sse_part_context(json_t *upload_rec, int part) {
    return cl_sprintf("%s/part/%d", json_string_value(json_object_get(upload_rec, "Context")),
                      part);
}

bool s3_sse_begin_part(s3_op *op, json_t *upload, int part, s3_enc *e) {
    memset(e, 0, sizeof *e);
    json_t *rec = json_object_get(upload, "SSE");
    if (!no_encryption_choice(op) || customer_not_applicable(op, rec)) return false;
    if (!rec) return true;
    uint8_t key[32];
    if (!s3_sse_object_key(op, rec, "x-amz-server-side-encryption-customer", key)) return false;
    char *ctx = s3_sse_part_context(rec, part);
    e->record = json_deep_copy(rec);
    bool ok = start_stream(op, key, ctx, e);
    cl_cleanse(key, sizeof key);
    free(ctx);
    return ok;
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
    } else if (kind && strcmp(kind, "KMS") == 0) {
        http_set_header(r, "x-amz-server-side-encryption", "aws:kms");
        http_set_header(r, "x-amz-server-side-encryption-aws-kms-key-id",
                        json_string_value(json_object_get(record, "KeyId")));
    } else if (kind) {
        http_set_header(r, "x-amz-server-side-encryption", "AES256");
    }
}

/* The object's data key: unwrapped (SSE-S3) or from the request (SSE-C). */
bool s3_sse_object_key(s3_op *op, json_t *rec, const char *customer_prefix, uint8_t key[32]) {
    if (strcmp(json_string_value(json_object_get(rec, "Kind")), "KMS") == 0)
        return kms_object_key(op, rec, key);
    if (strcmp(json_string_value(json_object_get(rec, "Kind")), "C") == 0) {
        char alg_h[96];
        snprintf(alg_h, sizeof alg_h, "%s-algorithm", customer_prefix);
        if (!kvlist_get_ci(&op->req->headers, alg_h)) {
            aws_fault_set(
                &op->f, 400, "InvalidRequest",
                "The object was stored using a form of Server Side Encryption. The correct "
                "parameters must be provided to retrieve the object.");
            return false;
        }
        char md5[32];
        if (!customer_key(op, customer_prefix, key, md5)) return false;
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

bool s3_sse_key_check(s3_op *op, json_t *object) {
    json_t *rec = json_object_get(object, "SSE");
    if (!no_encryption_choice(op) || customer_not_applicable(op, rec)) return false;
    if (!rec) return true;
    /* HEAD of an SSE-KMS object needs no kms:Decrypt, as in S3 */
    if (strcmp(json_string_value(json_object_get(rec, "Kind")), "KMS") == 0) return true;
    uint8_t key[32];
    bool ok = s3_sse_object_key(op, rec, "x-amz-server-side-encryption-customer", key);
    cl_cleanse(key, sizeof key);
    return ok;
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
    if (s3_bucket_update(op, "Encryption", enc)) op->resp->status = 200;
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
        if (s3_bucket_update(op, "Encryption", NULL)) op->resp->status = 204;
    } else {
        aws_fault_set(&op->f, 405, "MethodNotAllowed",
                      "The specified method is not allowed against this resource.");
    }
}
