/* ecies.c — encryption to a sandbox's ephemeral EC P-384 key (crypto_ecies_*):
 * what the run engine uses to hand secrets and KMS Recipient results to the
 * in-sandbox init, which alone holds the private key.
 *
 * Ephemeral-static ECDH (SEC 1 ECIES with a DEM of AES-256-GCM):
 *   e, E = fresh P-384 key pair of the sender; R = the recipient's public key
 *   z    = x coordinate of e * R (48 bytes, OpenSSL's ECDH derive)
 *   key  = HKDF-SHA384(ikm = z, salt = E uncompressed (97 bytes),
 *                      info = "cloister-ecies-v1"), 32 bytes
 *   iv   = 12 random bytes
 *   wire = E (0x04 || X || Y, 97 bytes) || iv || AES-256-GCM(key, iv, aad, pt) || tag (16)
 * The salt binds the ciphertext to its ephemeral key (ISO 18033-2's ECIES-KEM
 * hashes E into the KDF for the same reason). Every key is used for one
 * message. The peer point is validated (on the curve; P-384 has cofactor 1)
 * by EVP_PKEY_fromdata and EVP_PKEY_derive_set_peer. Specified in
 * docs/attestation.md, "Encryption to the enclave key". */
#include "crypto/crypto.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/x509.h>
#include <string.h>

#define ECIES_INFO "cloister-ecies-v1"
#define P384_SECRET_LEN 48

static bool is_p384(EVP_PKEY *k) {
    char group[32];
    size_t n = 0;
    return k && EVP_PKEY_is_a(k, "EC") &&
           EVP_PKEY_get_group_name(k, group, sizeof group, &n) == 1 &&
           strcmp(group, "secp384r1") == 0;
}

/* DER SubjectPublicKeyInfo -> P-384 public key, or NULL. */
static EVP_PKEY *spki_p384(cl_slice spki) {
    const unsigned char *p = spki.ptr;
    EVP_PKEY *k =
        spki.ptr && spki.len && spki.len < 4096 ? d2i_PUBKEY(NULL, &p, (long)spki.len) : NULL;
    if (k && (p != spki.ptr + spki.len || !is_p384(k))) {
        EVP_PKEY_free(k);
        k = NULL;
    }
    return k;
}

/* The uncompressed point of a P-384 key into out (97 bytes). */
static bool point_of(EVP_PKEY *k, uint8_t out[CRYPTO_ECIES_POINT_LEN]) {
    size_t n = 0;
    return EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, out,
                                           CRYPTO_ECIES_POINT_LEN, &n) == 1 &&
           n == CRYPTO_ECIES_POINT_LEN && out[0] == 0x04;
}

/* An uncompressed P-384 point -> public key, or NULL if not on the curve. */
static EVP_PKEY *point_key(const uint8_t point[CRYPTO_ECIES_POINT_LEN]) {
    if (point[0] != 0x04) return NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"P-384", 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)point,
                                          CRYPTO_ECIES_POINT_LEN),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *k = NULL;
    if (!pc || EVP_PKEY_fromdata_init(pc) != 1 ||
        EVP_PKEY_fromdata(pc, &k, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        EVP_PKEY_free(k);
        k = NULL;
    }
    EVP_PKEY_CTX_free(pc);
    return k;
}

/* z = ECDH(priv, peer), then the AES key (see the file comment). */
static cl_err derive(EVP_PKEY *priv, EVP_PKEY *peer, const uint8_t point[CRYPTO_ECIES_POINT_LEN],
                     uint8_t key[CRYPTO_GCM_KEY_LEN]) {
    uint8_t z[P384_SECRET_LEN];
    size_t zlen = sizeof z;
    EVP_PKEY_CTX *dc = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
    bool ok = dc && EVP_PKEY_derive_init(dc) == 1 && EVP_PKEY_derive_set_peer(dc, peer) == 1 &&
              EVP_PKEY_derive(dc, z, &zlen) == 1 && zlen == sizeof z;
    EVP_PKEY_CTX_free(dc);
    EVP_KDF *kdf = ok ? EVP_KDF_fetch(NULL, "HKDF", NULL) : NULL;
    EVP_KDF_CTX *kc = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA384", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, z, sizeof z),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)point,
                                          CRYPTO_ECIES_POINT_LEN),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)ECIES_INFO,
                                          sizeof ECIES_INFO - 1),
        OSSL_PARAM_construct_end(),
    };
    ok = ok && kc && EVP_KDF_derive(kc, key, CRYPTO_GCM_KEY_LEN, params) == 1;
    EVP_KDF_CTX_free(kc);
    EVP_KDF_free(kdf);
    cl_cleanse(z, sizeof z);
    ERR_clear_error();
    return ok ? CL_OK : CL_ERR_CRYPTO;
}

cl_err crypto_ecies_seal(cl_slice spki, cl_slice aad, cl_slice pt, cl_buf *out) {
    EVP_PKEY *peer = spki_p384(spki);
    if (!peer) {
        ERR_clear_error();
        return CL_ERR_INVALID;
    }
    if (pt.len > INT32_MAX) {
        EVP_PKEY_free(peer);
        return CL_ERR_TOO_LARGE;
    }
    EVP_PKEY *eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    uint8_t point[CRYPTO_ECIES_POINT_LEN], key[CRYPTO_GCM_KEY_LEN], iv[CRYPTO_GCM_IV_LEN];
    cl_err e = eph && point_of(eph, point) ? derive(eph, peer, point, key) : CL_ERR_CRYPTO;
    if (e == CL_OK) {
        crypto_random(iv, sizeof iv);
        size_t start = out->len;
        buf_reserve(out, CRYPTO_ECIES_OVERHEAD + pt.len);
        buf_append(out, point, sizeof point);
        buf_append(out, iv, sizeof iv);
        e = crypto_gcm_seal(key, iv, aad, pt, out->ptr + out->len);
        if (e == CL_OK)
            out->len += pt.len + CRYPTO_GCM_TAG_LEN;
        else
            out->len = start;
    }
    cl_cleanse(key, sizeof key);
    EVP_PKEY_free(eph);
    EVP_PKEY_free(peer);
    ERR_clear_error();
    return e;
}

cl_err crypto_ecies_open(EVP_PKEY *priv, cl_slice aad, cl_slice sealed, cl_buf *out) {
    if (!is_p384(priv) || !sealed.ptr || sealed.len < CRYPTO_ECIES_OVERHEAD) {
        ERR_clear_error();
        return CL_ERR_CRYPTO;
    }
    const uint8_t *point = sealed.ptr;
    const uint8_t *iv = sealed.ptr + CRYPTO_ECIES_POINT_LEN;
    cl_slice ct = slice_sub(sealed, CRYPTO_ECIES_POINT_LEN + CRYPTO_GCM_IV_LEN,
                            sealed.len - CRYPTO_ECIES_POINT_LEN - CRYPTO_GCM_IV_LEN);
    EVP_PKEY *peer = point_key(point);
    uint8_t key[CRYPTO_GCM_KEY_LEN];
    cl_err e = peer ? derive(priv, peer, point, key) : CL_ERR_CRYPTO;
    if (e == CL_OK) {
        size_t n = ct.len - CRYPTO_GCM_TAG_LEN;
        buf_reserve(out, n + 1);
        e = crypto_gcm_open(key, iv, aad, ct, out->ptr + out->len);
        if (e == CL_OK) out->len += n;
    }
    cl_cleanse(key, sizeof key);
    EVP_PKEY_free(peer);
    ERR_clear_error();
    return e == CL_OK ? CL_OK : CL_ERR_CRYPTO;
}
