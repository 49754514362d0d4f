/* kms_crypto.h — the cryptographic core of src/kms (internal to the module):
 * the node root key, key material (generation, wrapping at rest), the
 * ciphertext blob format of Encrypt/Decrypt, and the asymmetric operations.
 * Everything is OpenSSL 3 libcrypto; nothing here touches HTTP, JSON requests
 * or the meta store, so it is unit-tested and fuzzed on its own.
 *
 * Secrets: material and plaintexts live in cl_buf that the caller releases with
 * buf_free_secret (zeroised); fixed arrays are cl_cleanse'd by their owner.
 *
 * ---- Root key (DATA/keys/, dir 0700) ----
 *   file mode:       kms-root.key, 32 random bytes, 0600, made on first start.
 *   passphrase mode: kms-root.json, 0600:
 *       {"Version":1,"Kdf":"scrypt","N":32768,"r":8,"p":1,"Salt":b64(16),
 *        "Check":b64(HMAC-SHA256(root, "cloister/kms/root-check/v1"))}
 *     root = scrypt(passphrase, salt, N, r, p, 32). The passphrase file's
 *     content is the passphrase (one trailing newline stripped). A wrong
 *     passphrase fails the Check. Asking for one mode when the data dir was
 *     made with the other is an error that says so.
 *
 * ---- Material at rest ----
 *   wrapped = iv(12) || AES-256-GCM(root, iv, aad, material) || tag(16),
 *   aad = "cloister/kms/material/v1" || 0x00 || key ARN || 0x00 || BE32(version).
 *
 * ---- Ciphertext blob (what Encrypt returns as CiphertextBlob), version 1 ----
 *   0       0x01 (format version)
 *   1..36   key id (the key's UUID, 36 ASCII characters)
 *   37..40  material version, big-endian uint32 (1 = original, +1 per rotation)
 *   41..56  salt (16 random bytes)
 *   57..68  iv (12 random bytes)
 *   69..    AES-256-GCM ciphertext of the plaintext, then the 16-byte tag
 *   k    = HKDF-SHA256(ikm = material, salt = salt, info = "cloister/kms/blob/v1")
 *   aad  = bytes 0..68 || SHA-256(canonical encryption context)
 *   canonical context: the pairs sorted by key (bytewise), each as
 *     BE32(len key) || key || BE32(len value) || value; empty context = "".
 *   A blob is 85 + len(plaintext) bytes; plaintext is at most 4096 bytes. */
#ifndef CLOISTER_KMS_CRYPTO_H
#define CLOISTER_KMS_CRYPTO_H

#include "base/base.h"

#include <jansson.h>

#define KMS_ROOT_KEY_LEN 32
#define KMS_KEY_ID_LEN 36
#define KMS_BLOB_HEADER_LEN 69
#define KMS_BLOB_OVERHEAD (KMS_BLOB_HEADER_LEN + 16)
#define KMS_MAX_PLAINTEXT 4096

/* Writes a one-line reason into err (if err && errlen). */
void kms_set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- root key ---- */
typedef struct {
    uint8_t k[KMS_ROOT_KEY_LEN];
} kms_root_key;

/* passphrase_file NULL: file mode. err gets a one-line reason on failure. */
cl_err kms_root_key_load(const char *keys_dir, const char *passphrase_file, kms_root_key *out,
                         char *err, size_t errlen);

/* ---- key specs ---- */
typedef enum {
    KMS_SPEC_SYMMETRIC_DEFAULT = 0,
    KMS_SPEC_RSA_2048,
    KMS_SPEC_RSA_3072,
    KMS_SPEC_RSA_4096,
    KMS_SPEC_ECC_NIST_P256,
    KMS_SPEC_ECC_NIST_P384,
    KMS_SPEC_COUNT
} kms_key_spec;

const char *kms_spec_name(kms_key_spec s); /* "SYMMETRIC_DEFAULT", "RSA_2048", ... */
bool kms_spec_parse(const char *name, kms_key_spec *out);
bool kms_spec_is_rsa(kms_key_spec s);
bool kms_spec_is_ecc(kms_key_spec s);
/* NULL-terminated lists as DescribeKey reports them: SigningAlgorithms for
 * SIGN_VERIFY keys ("RSASSA_PSS_SHA_256", ..., "ECDSA_SHA_256"), and
 * EncryptionAlgorithms ("SYMMETRIC_DEFAULT"; RSA: "RSAES_OAEP_SHA_1",
 * "RSAES_OAEP_SHA_256"). */
const char *const *kms_spec_signing_algorithms(kms_key_spec s);
const char *const *kms_spec_encryption_algorithms(kms_key_spec s);

/* New material: 32 random bytes (symmetric) or a PKCS#8 DER private key. */
cl_err kms_material_generate(kms_key_spec s, cl_buf *out);

cl_err kms_material_wrap(const kms_root_key *root, const char *key_arn, uint32_t version,
                         cl_slice material, cl_buf *out);
/* CL_ERR_CRYPTO if the wrapped bytes are not authentic for this ARN/version. */
cl_err kms_material_unwrap(const kms_root_key *root, const char *key_arn, uint32_t version,
                           cl_slice wrapped, cl_buf *out);

/* ---- ciphertext blobs ---- */
typedef struct {
    char key_id[KMS_KEY_ID_LEN + 1];
    uint32_t version;
    cl_slice whole; /* the blob (views into the parsed input) */
} kms_blob;

/* Reads the header only; CL_ERR_INVALID if too short, wrong version byte, a key
 * id that is not a lower-case UUID, version 0, or longer than
 * KMS_BLOB_OVERHEAD + KMS_MAX_PLAINTEXT. */
cl_err kms_blob_parse(cl_slice blob, kms_blob *out);
/* ctx: a JSON object of string values, or NULL (= empty). CL_ERR_INVALID for a
 * context with a non-string value. */
cl_err kms_context_canonical(const json_t *ctx, cl_buf *out);
cl_err kms_blob_seal(const char *key_id, uint32_t version, const uint8_t material[32],
                     const json_t *ctx, cl_slice plain, cl_buf *out);
/* CL_ERR_CRYPTO when the blob is not authentic under this material and context
 * (wrong key, wrong context, tampered); plain is then left empty. */
cl_err kms_blob_open(const kms_blob *b, const uint8_t material[32], const json_t *ctx,
                     cl_buf *plain);

/* ---- asymmetric keys (material = PKCS#8 DER) ---- */
/* DER SubjectPublicKeyInfo, as GetPublicKey returns it. */
cl_err kms_asym_public_key(cl_slice material, cl_buf *spki);
/* alg: one of kms_spec_signing_algorithms(s); digest: the message is already
 * the digest of the algorithm's hash (MessageType DIGEST; its length must match).
 * CL_ERR_INVALID (with err) for an algorithm the key does not support or a
 * digest of the wrong length. ECDSA signatures are DER (as KMS returns them). */
cl_err kms_asym_sign(kms_key_spec s, cl_slice material, const char *alg, bool digest,
                     cl_slice message, cl_buf *sig, char *err, size_t errlen);
/* *valid false for a signature that does not verify (including malformed DER). */
cl_err kms_asym_verify(kms_key_spec s, cl_slice material, const char *alg, bool digest,
                       cl_slice message, cl_slice sig, bool *valid, char *err, size_t errlen);
/* RSA keys with KeyUsage ENCRYPT_DECRYPT: alg "RSAES_OAEP_SHA_1" or
 * "RSAES_OAEP_SHA_256". decrypt gives CL_ERR_CRYPTO for a bad ciphertext. */
cl_err kms_asym_encrypt(cl_slice material, const char *alg, cl_slice plain, cl_buf *out, char *err,
                        size_t errlen);
cl_err kms_asym_decrypt(cl_slice material, const char *alg, cl_slice ct, cl_buf *plain, char *err,
                        size_t errlen);

#endif
