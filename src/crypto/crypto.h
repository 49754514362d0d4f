/* crypto.h — the one public header of src/crypto: thin wrappers over OpenSSL 3
 * libcrypto. No primitive is written by hand here; these wrappers exist so the
 * rest of the code sees cl_slice in, fixed-size arrays out, and cl_err. */
#ifndef CLOISTER_CRYPTO_H
#define CLOISTER_CRYPTO_H

#include "base/base.h"

#define CRYPTO_SHA256_LEN 32
#define CRYPTO_MD5_LEN 16

void crypto_sha256(cl_slice data, uint8_t out[CRYPTO_SHA256_LEN]);
/* Lower-case hex of SHA-256 into out (65 bytes). */
void crypto_sha256_hex(cl_slice data, char out[65]);
void crypto_hmac_sha256(cl_slice key, cl_slice data, uint8_t out[CRYPTO_SHA256_LEN]);
void crypto_md5(cl_slice data, uint8_t out[CRYPTO_MD5_LEN]);

/* Incremental SHA-256 for streamed bodies. */
typedef struct crypto_sha256_ctx crypto_sha256_ctx;
crypto_sha256_ctx *crypto_sha256_new(void);
void crypto_sha256_update(crypto_sha256_ctx *c, cl_slice data);
void crypto_sha256_final(crypto_sha256_ctx *c, uint8_t out[CRYPTO_SHA256_LEN]); /* frees c */

/* CSPRNG bytes; aborts if the OS generator fails (nothing safe to do then). */
void crypto_random(void *out, size_t n);
/* n characters from `alphabet`, uniformly (rejection sampling), NUL-terminated. */
void crypto_random_string(char *out, size_t n, const char *alphabet);

#endif
