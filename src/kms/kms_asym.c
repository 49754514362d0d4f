/* kms_asym.c — key specs and the asymmetric half of the KMS core: the spec
 * and algorithm name tables DescribeKey reports, new key material for every
 * spec (32 random bytes, or an RSA / NIST-curve private key as PKCS#8 DER),
 * GetPublicKey (DER SubjectPublicKeyInfo), Sign/Verify and RSA-OAEP
 * Encrypt/Decrypt, all through OpenSSL 3 EVP_PKEY.
 *
 * Why it is shaped this way:
 * - One table says which signing algorithm uses which padding and hash; an
 *   algorithm is accepted only if the spec's own list names it, so the list
 *   DescribeKey shows and the check Sign applies cannot drift apart.
 * - RAW and DIGEST messages meet at the digest: a RAW message is hashed here,
 *   a DIGEST message must already have the hash's length, and both are then
 *   signed with EVP_PKEY_sign. That is also what makes a RAW signature verify
 *   as DIGEST of the same hash, as with AWS KMS.
 * - RSASSA-PSS uses MGF1 with the signing hash and a salt as long as the
 *   digest, which is what AWS KMS produces and what its verifiers expect;
 *   RSAES-OAEP uses the same hash for OAEP and MGF1 (SHA-1 or SHA-256).
 * - Material is checked against the spec on every use (RSA modulus size,
 *   curve), so a mix-up in storage shows as an error, not as a weaker key.
 * - A signature that does not verify, malformed DER included, is a result
 *   (*valid = false), not an error; OpenSSL's error queue is cleared so that
 *   expected failures do not linger for unrelated callers. */
#include "kms/kms_crypto.h"

#include "crypto/crypto.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#define SYM_MATERIAL_LEN 32
#define MAX_DIGEST_LEN 64

/* ---- spec and algorithm tables ---- */

typedef enum { SIG_PSS, SIG_PKCS1, SIG_ECDSA } sig_kind;

typedef struct {
    const char *name;
    sig_kind kind;
    const EVP_MD *(*md)(void);
} sig_alg;

static const sig_alg SIG_ALGS[] = {
    {"RSASSA_PSS_SHA_256", SIG_PSS, EVP_sha256},
    {"RSASSA_PSS_SHA_384", SIG_PSS, EVP_sha384},
    {"RSASSA_PSS_SHA_512", SIG_PSS, EVP_sha512},
    {"RSASSA_PKCS1_V1_5_SHA_256", SIG_PKCS1, EVP_sha256},
    {"RSASSA_PKCS1_V1_5_SHA_384", SIG_PKCS1, EVP_sha384},
    {"RSASSA_PKCS1_V1_5_SHA_512", SIG_PKCS1, EVP_sha512},
    {"ECDSA_SHA_256", SIG_ECDSA, EVP_sha256},
    {"ECDSA_SHA_384", SIG_ECDSA, EVP_sha384},
};

static const char *const NO_ALGS[] = {NULL};
static const char *const RSA_SIGNING[] = {"RSASSA_PSS_SHA_256",
                                          "RSASSA_PSS_SHA_384",
                                          "RSASSA_PSS_SHA_512",
                                          "RSASSA_PKCS1_V1_5_SHA_256",
                                          "RSASSA_PKCS1_V1_5_SHA_384",
                                          "RSASSA_PKCS1_V1_5_SHA_512",
                                          NULL};
static const char *const P256_SIGNING[] = {"ECDSA_SHA_256", NULL};
static const char *const P384_SIGNING[] = {"ECDSA_SHA_384", NULL};
static const char *const SYM_ENCRYPTION[] = {"SYMMETRIC_DEFAULT", NULL};
static const char *const RSA_ENCRYPTION[] = {"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", NULL};

typedef struct {
    const char *name;
    int rsa_bits;      /* RSA modulus size, 0 if not RSA */
    int curve_nid;     /* NID of the curve, 0 if not ECC */
    const char *curve; /* name for key generation */
    const char *const *signing;
    const char *const *encryption;
} spec_info;

static const spec_info SPECS[KMS_SPEC_COUNT] = {
    [KMS_SPEC_SYMMETRIC_DEFAULT] = {"SYMMETRIC_DEFAULT", 0, 0, NULL, NO_ALGS, SYM_ENCRYPTION},
    [KMS_SPEC_RSA_2048] = {"RSA_2048", 2048, 0, NULL, RSA_SIGNING, RSA_ENCRYPTION},
    [KMS_SPEC_RSA_3072] = {"RSA_3072", 3072, 0, NULL, RSA_SIGNING, RSA_ENCRYPTION},
    [KMS_SPEC_RSA_4096] = {"RSA_4096", 4096, 0, NULL, RSA_SIGNING, RSA_ENCRYPTION},
    [KMS_SPEC_ECC_NIST_P256] = {"ECC_NIST_P256", 0, NID_X9_62_prime256v1, "P-256", P256_SIGNING,
                                NO_ALGS},
    [KMS_SPEC_ECC_NIST_P384] = {"ECC_NIST_P384", 0, NID_secp384r1, "P-384", P384_SIGNING, NO_ALGS},
};

static bool spec_valid(kms_key_spec s) {
    return (int)s >= 0 && s < KMS_SPEC_COUNT;
}

const char *kms_spec_name(kms_key_spec s) {
    return spec_valid(s) ? SPECS[s].name : "UNKNOWN";
}

bool kms_spec_parse(const char *name, kms_key_spec *out) {
    if (!name) return false;
    for (int i = 0; i < KMS_SPEC_COUNT; i++) {
        if (strcmp(name, SPECS[i].name) == 0) {
            *out = (kms_key_spec)i;
            return true;
        }
    }
    return false;
}

bool kms_spec_is_rsa(kms_key_spec s) {
    return spec_valid(s) && SPECS[s].rsa_bits != 0;
}

bool kms_spec_is_ecc(kms_key_spec s) {
    return spec_valid(s) && SPECS[s].curve_nid != 0;
}

const char *const *kms_spec_signing_algorithms(kms_key_spec s) {
    return spec_valid(s) ? SPECS[s].signing : NO_ALGS;
}

const char *const *kms_spec_encryption_algorithms(kms_key_spec s) {
    return spec_valid(s) ? SPECS[s].encryption : NO_ALGS;
}

static bool list_has(const char *const *list, const char *name) {
    for (; *list; list++)
        if (strcmp(*list, name) == 0) return true;
    return false;
}

/* ---- key material ---- */

/* Appends the PKCS#8 DER encoding of pk to out, written in place (no copy of
 * the private key is left behind: OpenSSL cleanses the PKCS#8 structure). */
static cl_err append_pkcs8(EVP_PKEY *pk, cl_buf *out) {
    PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pk);
    int n = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, NULL) : -1;
    cl_err e = CL_ERR_CRYPTO;
    if (n > 0) {
        buf_reserve(out, (size_t)n);
        unsigned char *p = out->ptr + out->len;
        if (i2d_PKCS8_PRIV_KEY_INFO(p8, &p) == n) {
            out->len += (size_t)n;
            e = CL_OK;
        }
    }
    PKCS8_PRIV_KEY_INFO_free(p8);
    return e;
}

cl_err kms_material_generate(kms_key_spec s, cl_buf *out) {
    if (!spec_valid(s)) return CL_ERR_INVALID;
    if (s == KMS_SPEC_SYMMETRIC_DEFAULT) {
        buf_reserve(out, SYM_MATERIAL_LEN);
        crypto_random(out->ptr + out->len, SYM_MATERIAL_LEN);
        out->len += SYM_MATERIAL_LEN;
        return CL_OK;
    }
    const spec_info *si = &SPECS[s];
    EVP_PKEY *pk = si->rsa_bits ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)si->rsa_bits)
                                : EVP_PKEY_Q_keygen(NULL, NULL, "EC", si->curve);
    cl_err e = pk ? append_pkcs8(pk, out) : CL_ERR_CRYPTO;
    EVP_PKEY_free(pk);
    return e;
}

/* Decodes PKCS#8 DER material; the whole slice must be one private key. */
static EVP_PKEY *material_decode(cl_slice material) {
    if (material.len == 0 || material.len > 16384) return NULL;
    const unsigned char *p = material.ptr;
    PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)material.len);
    EVP_PKEY *pk = p8 && p == material.ptr + material.len ? EVP_PKCS82PKEY(p8) : NULL;
    PKCS8_PRIV_KEY_INFO_free(p8);
    return pk;
}

static int pkey_curve_nid(const EVP_PKEY *pk) {
    char name[64];
    size_t n = 0;
    if (!EVP_PKEY_is_a(pk, "EC") || EVP_PKEY_get_group_name(pk, name, sizeof name, &n) != 1)
        return 0;
    return OBJ_sn2nid(name);
}

static bool pkey_matches_spec(const EVP_PKEY *pk, kms_key_spec s) {
    if (kms_spec_is_rsa(s))
        return EVP_PKEY_is_a(pk, "RSA") && EVP_PKEY_get_bits(pk) == SPECS[s].rsa_bits;
    if (kms_spec_is_ecc(s)) return pkey_curve_nid(pk) == SPECS[s].curve_nid;
    return false;
}

/* Loads material for an asymmetric spec; CL_ERR_INVALID (with err) if it is
 * not a private key of that spec. */
static cl_err material_load(kms_key_spec s, cl_slice material, EVP_PKEY **out, char *err,
                            size_t errlen) {
    EVP_PKEY *pk = material_decode(material);
    if (!pk || !pkey_matches_spec(pk, s)) {
        EVP_PKEY_free(pk);
        ERR_clear_error();
        kms_set_err(err, errlen, "the key material is not a %s private key", kms_spec_name(s));
        return CL_ERR_INVALID;
    }
    *out = pk;
    return CL_OK;
}

cl_err kms_asym_public_key(cl_slice material, cl_buf *spki) {
    EVP_PKEY *pk = material_decode(material);
    if (!pk || (!EVP_PKEY_is_a(pk, "RSA") && !EVP_PKEY_is_a(pk, "EC"))) {
        EVP_PKEY_free(pk);
        ERR_clear_error();
        return CL_ERR_INVALID;
    }
    int n = i2d_PUBKEY(pk, NULL);
    cl_err e = CL_ERR_CRYPTO;
    if (n > 0) {
        buf_reserve(spki, (size_t)n);
        unsigned char *p = spki->ptr + spki->len;
        if (i2d_PUBKEY(pk, &p) == n) {
            spki->len += (size_t)n;
            e = CL_OK;
        }
    }
    EVP_PKEY_free(pk);
    return e;
}

/* ---- signing ---- */

static cl_err sig_alg_for(kms_key_spec s, const char *alg, const sig_alg **out, char *err,
                          size_t errlen) {
    if (alg && list_has(kms_spec_signing_algorithms(s), alg)) {
        for (size_t i = 0; i < sizeof SIG_ALGS / sizeof SIG_ALGS[0]; i++) {
            if (strcmp(SIG_ALGS[i].name, alg) == 0) {
                *out = &SIG_ALGS[i];
                return CL_OK;
            }
        }
    }
    kms_set_err(err, errlen, "SigningAlgorithm %s is not valid for a key with KeySpec %s",
                alg ? alg : "(none)", kms_spec_name(s));
    return CL_ERR_INVALID;
}

/* The digest the algorithm signs: the hash of a RAW message, or a DIGEST
 * message as given once its length is checked. */
static cl_err message_digest(const sig_alg *a, bool digest, cl_slice message,
                             uint8_t out[MAX_DIGEST_LEN], size_t *len, char *err, size_t errlen) {
    const EVP_MD *md = a->md();
    size_t want = (size_t)EVP_MD_get_size(md);
    if (digest) {
        if (message.len != want) {
            kms_set_err(err, errlen,
                        "the Message is a %zu-byte digest but %s needs a %zu-byte digest "
                        "(MessageType DIGEST)",
                        message.len, a->name, want);
            return CL_ERR_INVALID;
        }
        memcpy(out, message.ptr, want);
        *len = want;
        return CL_OK;
    }
    unsigned int n = 0;
    if (EVP_Digest(message.ptr, message.len, out, &n, md, NULL) != 1) return CL_ERR_CRYPTO;
    *len = n;
    return CL_OK;
}

/* A sign or verify context for pk with a's padding and hash. */
static EVP_PKEY_CTX *sig_ctx(EVP_PKEY *pk, const sig_alg *a, bool sign) {
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
    const EVP_MD *md = a->md();
    bool ok = pc && (sign ? EVP_PKEY_sign_init(pc) : EVP_PKEY_verify_init(pc)) == 1;
    if (ok && a->kind == SIG_PSS)
        ok = EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(pc, md) == 1;
    if (ok && a->kind == SIG_PKCS1) ok = EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1;
    ok = ok && EVP_PKEY_CTX_set_signature_md(pc, md) == 1;
    if (!ok) {
        EVP_PKEY_CTX_free(pc);
        return NULL;
    }
    return pc;
}

cl_err kms_asym_sign(kms_key_spec s, cl_slice material, const char *alg, bool digest,
                     cl_slice message, cl_buf *sig, char *err, size_t errlen) {
    const sig_alg *a;
    uint8_t md[MAX_DIGEST_LEN];
    size_t mdlen = 0;
    EVP_PKEY *pk = NULL;
    CL_TRY(sig_alg_for(s, alg, &a, err, errlen));
    CL_TRY(message_digest(a, digest, message, md, &mdlen, err, errlen));
    CL_TRY(material_load(s, material, &pk, err, errlen));
    EVP_PKEY_CTX *pc = sig_ctx(pk, a, true);
    size_t n = 0;
    bool ok = pc && EVP_PKEY_sign(pc, NULL, &n, md, mdlen) == 1;
    if (ok) {
        buf_reserve(sig, n);
        ok = EVP_PKEY_sign(pc, sig->ptr + sig->len, &n, md, mdlen) == 1;
        if (ok) sig->len += n;
    }
    EVP_PKEY_CTX_free(pc);
    EVP_PKEY_free(pk);
    if (!ok) {
        ERR_clear_error();
        kms_set_err(err, errlen, "signing with %s failed", a->name);
        return CL_ERR_CRYPTO;
    }
    return CL_OK;
}

cl_err kms_asym_verify(kms_key_spec s, cl_slice material, const char *alg, bool digest,
                       cl_slice message, cl_slice sig, bool *valid, char *err, size_t errlen) {
    const sig_alg *a;
    uint8_t md[MAX_DIGEST_LEN];
    size_t mdlen = 0;
    EVP_PKEY *pk = NULL;
    *valid = false;
    CL_TRY(sig_alg_for(s, alg, &a, err, errlen));
    CL_TRY(message_digest(a, digest, message, md, &mdlen, err, errlen));
    CL_TRY(material_load(s, material, &pk, err, errlen));
    EVP_PKEY_CTX *pc = sig_ctx(pk, a, false);
    cl_err e = pc ? CL_OK : CL_ERR_CRYPTO;
    /* 1 is a good signature; 0 or < 0 (e.g. malformed DER) is a bad one. */
    if (pc && sig.len) *valid = EVP_PKEY_verify(pc, sig.ptr, sig.len, md, mdlen) == 1;
    ERR_clear_error();
    EVP_PKEY_CTX_free(pc);
    EVP_PKEY_free(pk);
    if (e != CL_OK) kms_set_err(err, errlen, "cannot set up %s verification", a->name);
    return e;
}

/* ---- RSA-OAEP ---- */

static const EVP_MD *oaep_md(const char *alg, char *err, size_t errlen) {
    if (alg && strcmp(alg, "RSAES_OAEP_SHA_1") == 0) return EVP_sha1();
    if (alg && strcmp(alg, "RSAES_OAEP_SHA_256") == 0) return EVP_sha256();
    kms_set_err(err, errlen,
                "EncryptionAlgorithm %s is not valid for an RSA key (use RSAES_OAEP_SHA_1 or "
                "RSAES_OAEP_SHA_256)",
                alg ? alg : "(none)");
    return NULL;
}

/* Loads RSA material and an OAEP context for it (encrypt or decrypt). */
static cl_err oaep_ctx(cl_slice material, const char *alg, bool enc, EVP_PKEY **pk_out,
                       EVP_PKEY_CTX **out, char *err, size_t errlen) {
    const EVP_MD *md = oaep_md(alg, err, errlen);
    if (!md) return CL_ERR_INVALID;
    EVP_PKEY *pk = material_decode(material);
    if (!pk || !EVP_PKEY_is_a(pk, "RSA")) {
        EVP_PKEY_free(pk);
        ERR_clear_error();
        kms_set_err(err, errlen, "%s needs an RSA key", alg);
        return CL_ERR_INVALID;
    }
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
    bool ok = pc && (enc ? EVP_PKEY_encrypt_init(pc) : EVP_PKEY_decrypt_init(pc)) == 1 &&
              EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_OAEP_PADDING) == 1 &&
              EVP_PKEY_CTX_set_rsa_oaep_md(pc, md) == 1 &&
              EVP_PKEY_CTX_set_rsa_mgf1_md(pc, md) == 1;
    if (!ok) {
        EVP_PKEY_CTX_free(pc);
        EVP_PKEY_free(pk);
        ERR_clear_error();
        kms_set_err(err, errlen, "cannot set up %s", alg);
        return CL_ERR_CRYPTO;
    }
    *pk_out = pk;
    *out = pc;
    return CL_OK;
}

cl_err kms_asym_encrypt(cl_slice material, const char *alg, cl_slice plain, cl_buf *out, char *err,
                        size_t errlen) {
    EVP_PKEY *pk = NULL;
    EVP_PKEY_CTX *pc = NULL;
    CL_TRY(oaep_ctx(material, alg, true, &pk, &pc, err, errlen));
    const EVP_MD *md = oaep_md(alg, NULL, 0);
    size_t k = (size_t)EVP_PKEY_get_size(pk), h = (size_t)EVP_MD_get_size(md);
    size_t max = k > 2 * h + 2 ? k - 2 * h - 2 : 0, n = 0;
    cl_err e = CL_OK;
    if (plain.len > max) {
        kms_set_err(err, errlen, "the Plaintext is %zu bytes; RSA_%d with %s takes at most %zu",
                    plain.len, EVP_PKEY_get_bits(pk), alg, max);
        e = CL_ERR_INVALID;
    } else if (EVP_PKEY_encrypt(pc, NULL, &n, plain.ptr, plain.len) != 1) {
        e = CL_ERR_CRYPTO;
    } else {
        buf_reserve(out, n);
        if (EVP_PKEY_encrypt(pc, out->ptr + out->len, &n, plain.ptr, plain.len) == 1)
            out->len += n;
        else
            e = CL_ERR_CRYPTO;
    }
    if (e == CL_ERR_CRYPTO) kms_set_err(err, errlen, "%s encryption failed", alg);
    ERR_clear_error();
    EVP_PKEY_CTX_free(pc);
    EVP_PKEY_free(pk);
    return e;
}

cl_err kms_asym_decrypt(cl_slice material, const char *alg, cl_slice ct, cl_buf *plain, char *err,
                        size_t errlen) {
    EVP_PKEY *pk = NULL;
    EVP_PKEY_CTX *pc = NULL;
    CL_TRY(oaep_ctx(material, alg, false, &pk, &pc, err, errlen));
    size_t n = 0;
    cl_err e = CL_ERR_CRYPTO;
    if (ct.len == (size_t)EVP_PKEY_get_size(pk) &&
        EVP_PKEY_decrypt(pc, NULL, &n, ct.ptr, ct.len) == 1) {
        size_t room = n;
        buf_reserve(plain, room);
        uint8_t *dst = plain->ptr + plain->len;
        if (EVP_PKEY_decrypt(pc, dst, &n, ct.ptr, ct.len) == 1) {
            plain->len += n;
            e = CL_OK;
        } else {
            cl_cleanse(dst, room);
        }
    }
    if (e != CL_OK)
        kms_set_err(err, errlen, "the ciphertext is not valid for this key and %s", alg);
    ERR_clear_error();
    EVP_PKEY_CTX_free(pc);
    EVP_PKEY_free(pk);
    return e;
}
