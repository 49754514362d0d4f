/* crypto.c — SHA-256, HMAC-SHA256, MD5 and the CSPRNG through OpenSSL's EVP
 * interfaces (the only supported path in OpenSSL 3). */
#include "crypto/crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void digest(const EVP_MD *md, cl_slice data, uint8_t *out) {
    unsigned int n = 0;
    if (!EVP_Digest(data.ptr ? data.ptr : (const uint8_t *)"", data.len, out, &n, md, NULL))
        abort();
}

void crypto_sha256(cl_slice data, uint8_t out[CRYPTO_SHA256_LEN]) {
    digest(EVP_sha256(), data, out);
}
void crypto_md5(cl_slice data, uint8_t out[CRYPTO_MD5_LEN]) {
    digest(EVP_md5(), data, out);
}

void crypto_sha256_hex(cl_slice data, char out[65]) {
    uint8_t h[CRYPTO_SHA256_LEN];
    crypto_sha256(data, h);
    hex_encode_to(out, h, sizeof h);
}

void crypto_hmac_sha256(cl_slice key, cl_slice data, uint8_t out[CRYPTO_SHA256_LEN]) {
    unsigned int n = 0;
    if (!HMAC(EVP_sha256(), key.ptr ? key.ptr : (const uint8_t *)"", (int)key.len,
              data.ptr ? data.ptr : (const uint8_t *)"", data.len, out, &n))
        abort();
}

void crypto_hmac_sha1(cl_slice key, cl_slice data, uint8_t out[CRYPTO_SHA1_LEN]) {
    unsigned int n = 0;
    if (!HMAC(EVP_sha1(), key.ptr ? key.ptr : (const uint8_t *)"", (int)key.len,
              data.ptr ? data.ptr : (const uint8_t *)"", data.len, out, &n))
        abort();
}

/* One incremental digest type serves SHA-256 and MD5 (S3 ETags). */
struct crypto_sha256_ctx {
    EVP_MD_CTX *md;
};

static crypto_sha256_ctx *digest_new(const EVP_MD *type) {
    crypto_sha256_ctx *c = cl_malloc(sizeof *c);
    c->md = EVP_MD_CTX_new();
    if (!c->md || !EVP_DigestInit_ex(c->md, type, NULL)) abort();
    return c;
}

static void digest_update(crypto_sha256_ctx *c, cl_slice data) {
    if (data.len && !EVP_DigestUpdate(c->md, data.ptr, data.len)) abort();
}

static void digest_final(crypto_sha256_ctx *c, uint8_t *out) {
    unsigned int n = 0;
    if (!EVP_DigestFinal_ex(c->md, out, &n)) abort();
    EVP_MD_CTX_free(c->md);
    free(c);
}

crypto_sha256_ctx *crypto_sha256_new(void) {
    return digest_new(EVP_sha256());
}
void crypto_sha256_update(crypto_sha256_ctx *c, cl_slice data) {
    digest_update(c, data);
}
void crypto_sha256_final(crypto_sha256_ctx *c, uint8_t out[CRYPTO_SHA256_LEN]) {
    digest_final(c, out);
}

crypto_md5_ctx *crypto_md5_new(void) {
    return (crypto_md5_ctx *)digest_new(EVP_md5());
}
void crypto_md5_update(crypto_md5_ctx *c, cl_slice data) {
    digest_update((crypto_sha256_ctx *)c, data);
}
void crypto_md5_final(crypto_md5_ctx *c, uint8_t out[CRYPTO_MD5_LEN]) {
    digest_final((crypto_sha256_ctx *)c, out);
}

void crypto_random(void *out, size_t n) {
    if (n && RAND_bytes(out, (int)n) != 1) {
        fprintf(stderr, "cloister: CSPRNG failure\n");
        abort();
    }
}

void crypto_random_string(char *out, size_t n, const char *alphabet) {
    size_t k = strlen(alphabet);
    size_t limit = 256 - 256 % k; /* reject bytes that would bias the draw */
    size_t i = 0;
    while (i < n) {
        uint8_t r[64];
        crypto_random(r, sizeof r);
        for (size_t j = 0; j < sizeof r && i < n; j++)
            if (r[j] < limit) out[i++] = alphabet[r[j] % k];
    }
    out[n] = 0;
}
