/* crypto.h — the one public header of src/crypto: thin wrappers over OpenSSL 3
 * libcrypto (hashes, HMAC, AES-GCM and the segmented object encryption built
 * on it, CSPRNG), plus the CRC checksums S3 uses, which OpenSSL lacks and are
 * therefore written here (checksum.c). One cryptographic primitive is written
 * by hand, Keccak-256 (keccak.c, see below); otherwise these wrappers exist so
 * the rest of the code sees cl_slice in, fixed-size arrays out, and cl_err. */
#ifndef CLOISTER_CRYPTO_H
#define CLOISTER_CRYPTO_H

#include "base/base.h"

#include <openssl/types.h> /* EVP_PKEY */

#define CRYPTO_SHA256_LEN 32
#define CRYPTO_MD5_LEN 16

void crypto_sha256(cl_slice data, uint8_t out[CRYPTO_SHA256_LEN]);
/* Lower-case hex of SHA-256 into out (65 bytes). */
void crypto_sha256_hex(cl_slice data, char out[65]);
void crypto_hmac_sha256(cl_slice key, cl_slice data, uint8_t out[CRYPTO_SHA256_LEN]);
/* HMAC-SHA1: only for S3's legacy Signature Version 2 (aws/sigv2.c). */
#define CRYPTO_SHA1_LEN 20
void crypto_hmac_sha1(cl_slice key, cl_slice data, uint8_t out[CRYPTO_SHA1_LEN]);
void crypto_md5(cl_slice data, uint8_t out[CRYPTO_MD5_LEN]);

/* Incremental SHA-256 for streamed bodies. */
typedef struct crypto_sha256_ctx crypto_sha256_ctx;
crypto_sha256_ctx *crypto_sha256_new(void);
void crypto_sha256_update(crypto_sha256_ctx *c, cl_slice data);
void crypto_sha256_final(crypto_sha256_ctx *c, uint8_t out[CRYPTO_SHA256_LEN]); /* frees c */

/* Incremental MD5, for S3 ETags only (never for security). */
typedef struct crypto_md5_ctx crypto_md5_ctx;
crypto_md5_ctx *crypto_md5_new(void);
void crypto_md5_update(crypto_md5_ctx *c, cl_slice data);
void crypto_md5_final(crypto_md5_ctx *c, uint8_t out[CRYPTO_MD5_LEN]); /* frees c */

/* Keccak-256 as Ethereum uses it (original Keccak padding 0x01, NOT SHA3-256):
 * keccak.c, the one hand-written primitive, because Debian 12's OpenSSL 3.0 has
 * no "KECCAK-256" digest (3.2 has; these calls map onto EVP_Digest* with it).
 * The context is caller-owned (no allocation); _final wipes it. */
#define CRYPTO_KECCAK256_LEN 32
#define CRYPTO_KECCAK256_RATE 136
typedef struct {
    uint64_t state[25];
    size_t pos; /* bytes absorbed into the current block, 0..RATE-1 */
} crypto_keccak256_ctx;
void crypto_keccak256(cl_slice data, uint8_t out[CRYPTO_KECCAK256_LEN]);
void crypto_keccak256_init(crypto_keccak256_ctx *c);
void crypto_keccak256_update(crypto_keccak256_ctx *c, cl_slice data);
void crypto_keccak256_final(crypto_keccak256_ctx *c, uint8_t out[CRYPTO_KECCAK256_LEN]);

/* CSPRNG bytes; aborts if the OS generator fails (nothing safe to do then). */
void crypto_random(void *out, size_t n);
/* n characters from `alphabet`, uniformly (rejection sampling), NUL-terminated. */
void crypto_random_string(char *out, size_t n, const char *alphabet);

/* ---- checksums (checksum.c): the x-amz-checksum-* family of S3 ----
 * CRC32 (IEEE 802.3, as zlib), CRC32C (Castagnoli) and CRC-64/NVME are written
 * here (OpenSSL has no CRC): table driven, slicing-by-8, tables built once.
 * SHA-1 and SHA-256 go through OpenSSL. S3 carries every one of them as the
 * base64 of the big-endian digest ("123456789" -> CRC32 0xCBF43926 ->
 * "y/Q5Jg=="). The raw CRC functions chain like zlib's crc32(): start from 0,
 * pass the previous result back in; the value returned is always final. */
uint32_t checksum_crc32_update(uint32_t crc, cl_slice data);
uint32_t checksum_crc32c_update(uint32_t crc, cl_slice data);
uint64_t checksum_crc64nvme_update(uint64_t crc, cl_slice data);
uint32_t checksum_crc32(cl_slice data); /* one shot: _update(0, data) */
uint32_t checksum_crc32c(cl_slice data);
uint64_t checksum_crc64nvme(cl_slice data);

typedef enum {
    CHECKSUM_NONE = 0,
    CHECKSUM_CRC32,
    CHECKSUM_CRC32C,
    CHECKSUM_CRC64NVME,
    CHECKSUM_SHA1,
    CHECKSUM_SHA256,
} checksum_algo;

#define CHECKSUM_MAX_LEN 32 /* SHA-256 */
#define CHECKSUM_B64_MAX 45 /* base64 of 32 bytes + NUL */

/* "CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256" (S3's ChecksumAlgorithm
 * spelling, also used in BadDigest messages); "" for CHECKSUM_NONE. */
const char *checksum_algo_name(checksum_algo a);
/* Digest length in bytes: 4, 4, 8, 20, 32; 0 for CHECKSUM_NONE. */
size_t checksum_len(checksum_algo a);
/* ASCII case-insensitive: "crc32" / "CRC32" (x-amz-sdk-checksum-algorithm,
 * x-amz-checksum-algorithm) -> algo; CHECKSUM_NONE if unknown. */
checksum_algo checksum_algo_parse(cl_slice name);
/* "x-amz-checksum-crc32" (a header or trailer name, any case) -> algo;
 * CHECKSUM_NONE if not one of the five. */
checksum_algo checksum_algo_from_header(cl_slice header_name);

/* Incremental checksum of any of the five. Lives on the caller's stack; the
 * SHA contexts hold an OpenSSL context that checksum_final (or, to abandon,
 * checksum_reset) releases. */
typedef struct {
    checksum_algo algo;
    uint64_t crc;
    void *md; /* EVP_MD_CTX * for SHA-1 / SHA-256 */
} checksum_ctx;

void checksum_init(checksum_ctx *c, checksum_algo a);
void checksum_update(checksum_ctx *c, cl_slice data);
/* Writes the big-endian digest, returns its length, and resets c to NONE. */
size_t checksum_final(checksum_ctx *c, uint8_t out[CHECKSUM_MAX_LEN]);
/* checksum_final, then base64 of the digest into out (NUL-terminated). */
void checksum_final_base64(checksum_ctx *c, char out[CHECKSUM_B64_MAX]);
void checksum_reset(checksum_ctx *c); /* releases without a result */
/* One shot: base64 of the checksum of data. */
void checksum_base64(checksum_algo a, cl_slice data, char out[CHECKSUM_B64_MAX]);
/* The CRC (CRC32, CRC32C or CRC64NVME, final values) of A||B from crc1 = crc(A),
 * crc2 = crc(B) and len2 = len(B), as zlib's crc32_combine: what S3's
 * FULL_OBJECT checksum of a multipart upload is made of. */
uint64_t checksum_crc_combine(checksum_algo a, uint64_t crc1, uint64_t crc2, uint64_t len2);

/* HKDF-SHA256 (RFC 5869): n bytes (at most 255 * 32) into out. */
cl_err crypto_hkdf_sha256(cl_slice ikm, cl_slice salt, cl_slice info, uint8_t *out, size_t n);

/* ---- AES-256-GCM and segmented streams (aead.c) ---- */
#define CRYPTO_GCM_KEY_LEN 32
#define CRYPTO_GCM_IV_LEN 12
#define CRYPTO_GCM_TAG_LEN 16

/* One-shot AES-256-GCM. seal: out gets plain.len bytes of ciphertext followed
 * by the 16-byte tag. open: sealed = ciphertext || tag, out gets sealed.len - 16
 * bytes; CL_ERR_CRYPTO if not authentic (out is zeroed then). Never reuse an
 * (key, iv) pair: use a random iv per message or a key per message. Messages
 * over 2 GiB get CL_ERR_TOO_LARGE (use crypto_seg_* for object data). */
cl_err crypto_gcm_seal(const uint8_t key[CRYPTO_GCM_KEY_LEN], const uint8_t iv[CRYPTO_GCM_IV_LEN],
                       cl_slice aad, cl_slice plain, uint8_t *out);
cl_err crypto_gcm_open(const uint8_t key[CRYPTO_GCM_KEY_LEN], const uint8_t iv[CRYPTO_GCM_IV_LEN],
                       cl_slice aad, cl_slice sealed, uint8_t *out);

/* Segmented AEAD for server-side encryption of objects (crypto_seg_*).
 * The caller owns a 32-byte data key per object (S3 wraps it with KMS or a node
 * key) and a context that names the object (e.g. its blob id, or bucket+key+
 * version); both are needed to decrypt. Stream format, version 1:
 *
 *   header (32 bytes):
 *     0..3   "CLSG"
 *     4      version = 1
 *     5      log2(segment size) = 16
 *     6..7   zero
 *     8..23  salt (random)
 *     24..31 nonce prefix (random)
 *   then segments 0..n-1: AES-256-GCM(plaintext[i*64K .. (i+1)*64K)) || 16-byte tag.
 *   Every segment is 64 KiB of plaintext except the last, which holds 1..64 KiB
 *   (0 only when the whole plaintext is empty: there is always >= 1 segment).
 *
 *   stream key  = HKDF-SHA256(ikm = data key, salt = header salt,
 *                             info = "cloister/seg/v1" || SHA-256(context))
 *   nonce(i)    = nonce prefix || BE32(i)
 *   AAD(i)      = header || SHA-256(context) || BE32(i) || (i == n-1 ? 0x01 : 0x00)
 *
 * So segments cannot be reordered (index), dropped from the end (the new last
 * segment was sealed non-final), moved between objects (context, salt) or
 * between positions, and the header cannot be edited (it is in every AAD).
 * Ciphertext size = 32 + plaintext + 16 * max(1, ceil(plaintext / 64 KiB)).
 *
 * A range read authenticates only the segments it covers. Truncation at a
 * segment boundary is caught when the new last segment is read; a reader that
 * never reads it must instead check the stored ciphertext size against
 * crypto_seg_cipher_size(plaintext size from metadata) before serving. */
#define CRYPTO_SEG_KEY_LEN 32
#define CRYPTO_SEG_SIZE 65536
#define CRYPTO_SEG_TAG_LEN 16
#define CRYPTO_SEG_HEADER_LEN 32

uint64_t crypto_seg_cipher_size(uint64_t plain_size);
/* CL_ERR_INVALID if no plaintext size gives this ciphertext size. */
cl_err crypto_seg_plain_size(uint64_t cipher_size, uint64_t *plain_size);

/* Streaming encryption: feed plaintext pieces of any size; ciphertext (header
 * first) is appended to out as whole segments become ready, so at most one
 * segment of plaintext is held. _final seals the last segment and frees e;
 * _free abandons a stream. At most 2^32 segments (256 TiB). */
typedef struct crypto_seg_enc crypto_seg_enc;
cl_err crypto_seg_enc_new(const uint8_t key[CRYPTO_SEG_KEY_LEN], cl_slice context,
                          crypto_seg_enc **out);
cl_err crypto_seg_enc_update(crypto_seg_enc *e, cl_slice plain, cl_buf *out);
cl_err crypto_seg_enc_final(crypto_seg_enc *e, cl_buf *out);
void crypto_seg_enc_free(crypto_seg_enc *e); /* NULL is fine */

/* Random-access decryption. read_fn must fill buf with exactly n ciphertext bytes
 * at off (e.g. blob_read_cb) or return an error. _open reads and checks the
 * header; _read decrypts plaintext [off, off+n) into buf, reading and
 * authenticating only the covering segments (the last one is cached, so
 * sequential reads decrypt each segment once). CL_ERR_CRYPTO if a segment is not
 * authentic (wrong key or context, tampering, reordering, truncation),
 * CL_ERR_INVALID for a range past the end or a malformed header/size. */
typedef cl_err (*crypto_seg_read_fn)(void *arg, uint64_t off, void *buf, size_t n);
typedef struct crypto_seg_dec crypto_seg_dec;
cl_err crypto_seg_dec_open(const uint8_t key[CRYPTO_SEG_KEY_LEN], cl_slice context,
                           uint64_t cipher_size, crypto_seg_read_fn read_fn, void *read_arg,
                           crypto_seg_dec **out);
uint64_t crypto_seg_dec_size(const crypto_seg_dec *d); /* plaintext bytes */
cl_err crypto_seg_dec_read(crypto_seg_dec *d, uint64_t off, void *buf, size_t n);
void crypto_seg_dec_free(crypto_seg_dec *d); /* NULL is fine */

/* ---- CMS EnvelopedData for a public key (cms.c) ----
 * What AWS KMS returns as CiphertextForRecipient: RFC 5652 ContentInfo of type
 * envelopedData (DER), one KeyTransRecipientInfo for `spki_der` (an RSA public
 * key as DER SubjectPublicKeyInfo, 2048..4096 bits) with RSAES-OAEP (SHA-256,
 * MGF1-SHA-256) and a subjectKeyIdentifier rid (SHA-1 of the key's bits), the
 * content encrypted with AES-256-CBC under a fresh key. Decryptable with the
 * private key alone, e.g. `openssl cms -decrypt -inform DER -inkey key.pem`.
 * Appends to out; CL_ERR_INVALID for a key that is not RSA 2048..4096. */
cl_err crypto_cms_envelope(cl_slice spki_der, cl_slice plain, cl_buf *out);

/* ---- ECIES to an enclave's P-384 key (ecies.c) ----
 * Ephemeral-static ECDH on P-384, HKDF-SHA384 (salt = the sender's point, info =
 * "cloister-ecies-v1") to an AES-256-GCM key. Wire: sender public point
 * uncompressed (97 bytes) || iv (12) || ciphertext || tag (16); aad is
 * authenticated, not carried. Specified in docs/attestation.md. */
#define CRYPTO_ECIES_POINT_LEN 97
#define CRYPTO_ECIES_OVERHEAD (CRYPTO_ECIES_POINT_LEN + CRYPTO_GCM_IV_LEN + CRYPTO_GCM_TAG_LEN)
/* Seals pt to the holder of the P-384 key whose DER SubjectPublicKeyInfo is spki.
 * Appends to out. CL_ERR_INVALID if spki is not a P-384 public key. */
cl_err crypto_ecies_seal(cl_slice spki, cl_slice aad, cl_slice pt, cl_buf *out);
/* Opens with the private key; appends the plaintext to out (caller frees with
 * buf_free_secret). CL_ERR_CRYPTO when it does not open. */
cl_err crypto_ecies_open(EVP_PKEY *priv, cl_slice aad, cl_slice sealed, cl_buf *out);

#endif
