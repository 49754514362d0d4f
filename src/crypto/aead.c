/* aead.c — AES-256-GCM through OpenSSL EVP: a one-shot seal/open for small
 * messages, and the segmented stream format that server-side encryption stores
 * object bytes in (crypto_seg_*; the format is specified in crypto.h).
 *
 * Why segments: an object may be terabytes, S3 GETs ask for byte ranges, and a
 * single GCM tag can only be checked after the last byte. Cutting the plaintext
 * into independent 64 KiB segments, each with its own tag, lets a range read
 * decrypt and authenticate only the segments it covers, and lets PUT stream with
 * one segment of memory. The risks segmentation adds (reordering, truncation,
 * splicing segments between objects) are closed as in the STREAM construction
 * (Hoang, Reyhanitabar, Rogaway, Vizár 2015) and Tink's streaming AEAD: each
 * segment's nonce carries its index, its AAD carries the index, a final-segment
 * flag and the object's context, and the key is derived per stream from the
 * caller's data key with a random salt, so even a data key reused across
 * objects never repeats a (key, nonce) pair.
 *
 * One EVP_CIPHER_CTX per stream is keyed once and re-IV'd per segment, so the
 * AES key schedule is computed once. Derived keys live only inside that context
 * (OpenSSL cleanses it on free); our copies are cleansed as soon as used. */
#include "crypto/crypto.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>

#define SEG_MAGIC "CLSG"
#define SEG_VERSION 1
#define SEG_LOG2 16
#define SEG_UNIT ((uint64_t)CRYPTO_SEG_SIZE + CRYPTO_SEG_TAG_LEN)
#define SEG_MAX_COUNT ((uint64_t)1 << 32) /* the index is 32 bits in the nonce */
#define SEG_SALT_OFF 8
#define SEG_SALT_LEN 16
#define SEG_PREFIX_OFF 24
#define SEG_PREFIX_LEN 8
#define SEG_AAD_LEN (CRYPTO_SEG_HEADER_LEN + CRYPTO_SHA256_LEN + 4 + 1)
#define SEG_INFO_LABEL "cloister/seg/v1"
#define NO_SEGMENT UINT64_MAX

/* ---- the GCM primitive ---- */

static EVP_CIPHER_CTX *gcm_ctx_new(const uint8_t key[CRYPTO_GCM_KEY_LEN], int enc) {
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx) return NULL;
    if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, NULL, enc) != 1) {
        EVP_CIPHER_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* Seals len bytes of in with a keyed ctx: out gets ciphertext then the tag. */
static cl_err gcm_seal(EVP_CIPHER_CTX *ctx, const uint8_t *iv, cl_slice aad, const uint8_t *in,
                       size_t len, uint8_t *out) {
    int n = 0;
    if (len > INT32_MAX || aad.len > INT32_MAX) return CL_ERR_TOO_LARGE;
    if (EVP_CipherInit_ex(ctx, NULL, NULL, NULL, iv, 1) != 1) return CL_ERR_CRYPTO;
    if (aad.len && EVP_EncryptUpdate(ctx, NULL, &n, aad.ptr, (int)aad.len) != 1)
        return CL_ERR_CRYPTO;
    if (len && EVP_EncryptUpdate(ctx, out, &n, in, (int)len) != 1) return CL_ERR_CRYPTO;
    if (EVP_EncryptFinal_ex(ctx, out + len, &n) != 1) return CL_ERR_CRYPTO;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, CRYPTO_GCM_TAG_LEN, out + len) != 1)
        return CL_ERR_CRYPTO;
    return CL_OK;
}

/* Opens ciphertext||tag (len + 16 bytes) into out (len bytes). On failure out is
 * zeroed, so unauthenticated plaintext never escapes. */
static cl_err gcm_open(EVP_CIPHER_CTX *ctx, const uint8_t *iv, cl_slice aad, const uint8_t *in,
                       size_t len, uint8_t *out) {
    int n = 0;
    uint8_t tag[CRYPTO_GCM_TAG_LEN];
    if (len > INT32_MAX || aad.len > INT32_MAX) return CL_ERR_TOO_LARGE;
    memcpy(tag, in + len, sizeof tag);
    bool ok = EVP_CipherInit_ex(ctx, NULL, NULL, NULL, iv, 0) == 1;
    ok = ok && (!aad.len || EVP_DecryptUpdate(ctx, NULL, &n, aad.ptr, (int)aad.len) == 1);
    ok = ok && (!len || EVP_DecryptUpdate(ctx, out, &n, in, (int)len) == 1);
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, sizeof tag, tag) == 1;
    ok = ok && EVP_DecryptFinal_ex(ctx, out + len, &n) == 1;
    if (!ok && len) cl_cleanse(out, len);
    return ok ? CL_OK : CL_ERR_CRYPTO;
}

cl_err crypto_gcm_seal(const uint8_t key[CRYPTO_GCM_KEY_LEN], const uint8_t iv[CRYPTO_GCM_IV_LEN],
                       cl_slice aad, cl_slice plain, uint8_t *out) {
    EVP_CIPHER_CTX *ctx = gcm_ctx_new(key, 1);
    if (!ctx) return CL_ERR_CRYPTO;
    cl_err e = gcm_seal(ctx, iv, aad, plain.ptr, plain.len, out);
    EVP_CIPHER_CTX_free(ctx);
    return e;
}

cl_err crypto_gcm_open(const uint8_t key[CRYPTO_GCM_KEY_LEN], const uint8_t iv[CRYPTO_GCM_IV_LEN],
                       cl_slice aad, cl_slice sealed, uint8_t *out) {
    if (sealed.len < CRYPTO_GCM_TAG_LEN) return CL_ERR_CRYPTO;
    EVP_CIPHER_CTX *ctx = gcm_ctx_new(key, 0);
    if (!ctx) return CL_ERR_CRYPTO;
    cl_err e = gcm_open(ctx, iv, aad, sealed.ptr, sealed.len - CRYPTO_GCM_TAG_LEN, out);
    EVP_CIPHER_CTX_free(ctx);
    return e;
}

/* ---- stream geometry ---- */

static uint64_t seg_count(uint64_t plain) {
    return plain == 0 ? 1 : (plain + CRYPTO_SEG_SIZE - 1) / CRYPTO_SEG_SIZE;
}

uint64_t crypto_seg_cipher_size(uint64_t plain_size) {
    return CRYPTO_SEG_HEADER_LEN + plain_size + seg_count(plain_size) * CRYPTO_SEG_TAG_LEN;
}

cl_err crypto_seg_plain_size(uint64_t cipher_size, uint64_t *plain_size) {
    if (cipher_size < CRYPTO_SEG_HEADER_LEN + CRYPTO_SEG_TAG_LEN) return CL_ERR_INVALID;
    uint64_t body = cipher_size - CRYPTO_SEG_HEADER_LEN;
    uint64_t full = body / SEG_UNIT, rem = body % SEG_UNIT;
    /* Only the final segment may be short, and only an empty stream has an empty one. */
    if (rem != 0 && (rem < CRYPTO_SEG_TAG_LEN || (rem == CRYPTO_SEG_TAG_LEN && full > 0)))
        return CL_ERR_INVALID;
    if (full + (rem != 0) > SEG_MAX_COUNT) return CL_ERR_TOO_LARGE;
    *plain_size = full * CRYPTO_SEG_SIZE + (rem ? rem - CRYPTO_SEG_TAG_LEN : 0);
    return CL_OK;
}

/* ---- per-stream state shared by both directions ---- */

typedef struct {
    EVP_CIPHER_CTX *ctx;
    uint8_t header[CRYPTO_SEG_HEADER_LEN];
    uint8_t context_hash[CRYPTO_SHA256_LEN];
} seg_stream;

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* The HKDF implementation is fetched once: EVP_KDF_fetch looks it up by name
 * in the provider tables, which costs more than the derivation itself. */
static EVP_KDF *hkdf_impl;
static pthread_once_t hkdf_once = PTHREAD_ONCE_INIT;

static void hkdf_fetch(void) {
    hkdf_impl = EVP_KDF_fetch(NULL, "HKDF", NULL);
}

cl_err crypto_hkdf_sha256(cl_slice ikm, cl_slice salt, cl_slice info, uint8_t *out, size_t n) {
    pthread_once(&hkdf_once, hkdf_fetch);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm.ptr, ikm.len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt.ptr, salt.len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info.ptr, info.len),
        OSSL_PARAM_construct_end(),
    };
    EVP_KDF_CTX *kc = hkdf_impl ? EVP_KDF_CTX_new(hkdf_impl) : NULL;
    bool ok = kc && EVP_KDF_derive(kc, out, n, params) == 1;
    EVP_KDF_CTX_free(kc);
    return ok ? CL_OK : CL_ERR_CRYPTO;
}

/* stream key = HKDF-SHA256(ikm = data key, salt = header salt,
 *                          info = "cloister/seg/v1" || SHA-256(context)) */
static cl_err derive_key(const uint8_t key[CRYPTO_SEG_KEY_LEN], const seg_stream *s,
                         uint8_t out[CRYPTO_GCM_KEY_LEN]) {
    uint8_t info[sizeof SEG_INFO_LABEL - 1 + CRYPTO_SHA256_LEN];
    memcpy(info, SEG_INFO_LABEL, sizeof SEG_INFO_LABEL - 1);
    memcpy(info + sizeof SEG_INFO_LABEL - 1, s->context_hash, CRYPTO_SHA256_LEN);
    return crypto_hkdf_sha256(slice_of(key, CRYPTO_SEG_KEY_LEN),
                              slice_of(s->header + SEG_SALT_OFF, SEG_SALT_LEN),
                              slice_of(info, sizeof info), out, CRYPTO_GCM_KEY_LEN);
}

/* Hashes the context, derives the stream key from the header already in s and
 * keys a GCM context for direction enc. */
static cl_err stream_init(seg_stream *s, const uint8_t key[CRYPTO_SEG_KEY_LEN], cl_slice context,
                          int enc) {
    uint8_t k[CRYPTO_GCM_KEY_LEN];
    crypto_sha256(context, s->context_hash);
    cl_err e = derive_key(key, s, k);
    if (e == CL_OK && !(s->ctx = gcm_ctx_new(k, enc))) e = CL_ERR_CRYPTO;
    cl_cleanse(k, sizeof k);
    return e;
}

static void seg_nonce(const seg_stream *s, uint64_t index, uint8_t nonce[CRYPTO_GCM_IV_LEN]) {
    memcpy(nonce, s->header + SEG_PREFIX_OFF, SEG_PREFIX_LEN);
    put_be32(nonce + SEG_PREFIX_LEN, (uint32_t)index);
}

/* AAD = header || SHA-256(context) || BE32(index) || final flag */
static void seg_aad(const seg_stream *s, uint64_t index, bool final, uint8_t aad[SEG_AAD_LEN]) {
    memcpy(aad, s->header, CRYPTO_SEG_HEADER_LEN);
    memcpy(aad + CRYPTO_SEG_HEADER_LEN, s->context_hash, CRYPTO_SHA256_LEN);
    put_be32(aad + CRYPTO_SEG_HEADER_LEN + CRYPTO_SHA256_LEN, (uint32_t)index);
    aad[SEG_AAD_LEN - 1] = final ? 1 : 0;
}

static void make_header(uint8_t h[CRYPTO_SEG_HEADER_LEN]) {
    memset(h, 0, CRYPTO_SEG_HEADER_LEN);
    memcpy(h, SEG_MAGIC, 4);
    h[4] = SEG_VERSION;
    h[5] = SEG_LOG2;
    crypto_random(h + SEG_SALT_OFF, SEG_SALT_LEN + SEG_PREFIX_LEN);
}

static bool header_valid(const uint8_t h[CRYPTO_SEG_HEADER_LEN]) {
    return memcmp(h, SEG_MAGIC, 4) == 0 && h[4] == SEG_VERSION && h[5] == SEG_LOG2 && h[6] == 0 &&
           h[7] == 0;
}

/* ---- encryption ---- */

struct crypto_seg_enc {
    seg_stream s;
    uint64_t index;  /* of the segment being filled */
    bool header_out; /* header already emitted */
    size_t len;      /* plaintext bytes buffered */
    uint8_t buf[CRYPTO_SEG_SIZE];
};

cl_err crypto_seg_enc_new(const uint8_t key[CRYPTO_SEG_KEY_LEN], cl_slice context,
                          crypto_seg_enc **out) {
    crypto_seg_enc *e = cl_calloc(1, sizeof *e);
    make_header(e->s.header);
    cl_err err = stream_init(&e->s, key, context, 1);
    if (err != CL_OK) {
        crypto_seg_enc_free(e);
        return err;
    }
    *out = e;
    return CL_OK;
}

static cl_err seal_segment(crypto_seg_enc *e, bool final, cl_buf *out) {
    if (e->index >= SEG_MAX_COUNT) return CL_ERR_TOO_LARGE;
    uint8_t nonce[CRYPTO_GCM_IV_LEN], aad[SEG_AAD_LEN];
    seg_nonce(&e->s, e->index, nonce);
    seg_aad(&e->s, e->index, final, aad);
    buf_reserve(out, e->len + CRYPTO_SEG_TAG_LEN);
    CL_TRY(
        gcm_seal(e->s.ctx, nonce, slice_of(aad, sizeof aad), e->buf, e->len, out->ptr + out->len));
    out->len += e->len + CRYPTO_SEG_TAG_LEN;
    e->index++;
    e->len = 0;
    return CL_OK;
}

static void emit_header(crypto_seg_enc *e, cl_buf *out) {
    if (e->header_out) return;
    buf_append(out, e->s.header, CRYPTO_SEG_HEADER_LEN);
    e->header_out = true;
}

cl_err crypto_seg_enc_update(crypto_seg_enc *e, cl_slice plain, cl_buf *out) {
    emit_header(e, out);
    while (plain.len > 0) {
        /* A full segment is sealed only once more input proves it is not the last. */
        if (e->len == CRYPTO_SEG_SIZE) CL_TRY(seal_segment(e, false, out));
        size_t take = CRYPTO_SEG_SIZE - e->len;
        if (take > plain.len) take = plain.len;
        memcpy(e->buf + e->len, plain.ptr, take);
        e->len += take;
        plain = slice_sub(plain, take, plain.len - take);
    }
    return CL_OK;
}

cl_err crypto_seg_enc_final(crypto_seg_enc *e, cl_buf *out) {
    emit_header(e, out);
    cl_err err = seal_segment(e, true, out);
    crypto_seg_enc_free(e);
    return err;
}

void crypto_seg_enc_free(crypto_seg_enc *e) {
    if (!e) return;
    EVP_CIPHER_CTX_free(e->s.ctx);
    cl_cleanse(e, sizeof *e);
    free(e);
}

/* ---- decryption ---- */

struct crypto_seg_dec {
    seg_stream s;
    crypto_seg_read_fn read;
    void *read_arg;
    uint64_t plain_size;
    uint64_t nseg;
    uint64_t cached; /* index of the segment in plain, or NO_SEGMENT */
    uint8_t ct[SEG_UNIT];
    uint8_t plain[CRYPTO_SEG_SIZE];
};

cl_err crypto_seg_dec_open(const uint8_t key[CRYPTO_SEG_KEY_LEN], cl_slice context,
                           uint64_t cipher_size, crypto_seg_read_fn read_fn, void *read_arg,
                           crypto_seg_dec **out) {
    uint64_t plain_size;
    CL_TRY(crypto_seg_plain_size(cipher_size, &plain_size));
    crypto_seg_dec *d = cl_calloc(1, sizeof *d);
    d->read = read_fn;
    d->read_arg = read_arg;
    d->plain_size = plain_size;
    d->nseg = seg_count(plain_size);
    d->cached = NO_SEGMENT;
    cl_err e = read_fn(read_arg, 0, d->s.header, CRYPTO_SEG_HEADER_LEN);
    if (e == CL_OK && !header_valid(d->s.header)) e = CL_ERR_INVALID;
    if (e == CL_OK) e = stream_init(&d->s, key, context, 0);
    if (e != CL_OK) {
        crypto_seg_dec_free(d);
        return e;
    }
    *out = d;
    return CL_OK;
}

uint64_t crypto_seg_dec_size(const crypto_seg_dec *d) {
    return d->plain_size;
}

static size_t seg_plain_len(const crypto_seg_dec *d, uint64_t i) {
    if (i + 1 < d->nseg) return CRYPTO_SEG_SIZE;
    return (size_t)(d->plain_size - i * CRYPTO_SEG_SIZE);
}

/* Reads and authenticates segment i into d->plain. */
static cl_err load_segment(crypto_seg_dec *d, uint64_t i) {
    if (d->cached == i) return CL_OK;
    d->cached = NO_SEGMENT;
    size_t len = seg_plain_len(d, i);
    uint64_t off = CRYPTO_SEG_HEADER_LEN + i * SEG_UNIT;
    CL_TRY(d->read(d->read_arg, off, d->ct, len + CRYPTO_SEG_TAG_LEN));
    uint8_t nonce[CRYPTO_GCM_IV_LEN], aad[SEG_AAD_LEN];
    seg_nonce(&d->s, i, nonce);
    seg_aad(&d->s, i, i + 1 == d->nseg, aad);
    CL_TRY(gcm_open(d->s.ctx, nonce, slice_of(aad, sizeof aad), d->ct, len, d->plain));
    d->cached = i;
    return CL_OK;
}

cl_err crypto_seg_dec_read(crypto_seg_dec *d, uint64_t off, void *buf, size_t n) {
    if (off > d->plain_size || n > d->plain_size - off) return CL_ERR_INVALID;
    uint8_t *p = buf;
    while (n > 0) {
        uint64_t i = off / CRYPTO_SEG_SIZE;
        size_t in_seg = (size_t)(off % CRYPTO_SEG_SIZE);
        CL_TRY(load_segment(d, i));
        size_t take = seg_plain_len(d, i) - in_seg;
        if (take > n) take = n;
        memcpy(p, d->plain + in_seg, take);
        p += take;
        off += take;
        n -= take;
    }
    return CL_OK;
}

void crypto_seg_dec_free(crypto_seg_dec *d) {
    if (!d) return;
    EVP_CIPHER_CTX_free(d->s.ctx);
    cl_cleanse(d->plain, sizeof d->plain);
    free(d);
}
