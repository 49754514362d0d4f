/* cms.c — CMS EnvelopedData to an RSA public key (crypto_cms_envelope): what
 * AWS KMS returns as CiphertextForRecipient when Decrypt, GenerateDataKey or
 * GenerateRandom is called with an attestation document.
 *
 * OpenSSL's CMS API addresses key-transport recipients by certificate only, and
 * all we have is the enclave's SubjectPublicKeyInfo. So a throwaway X509
 * carries the key and a subjectKeyIdentifier (SHA-1 of the key's bits, the
 * RFC 5280 method 1 value), which CMS_USE_KEYID turns into the recipient's rid;
 * the certificate itself never reaches the output. CMS_KEY_PARAM leaves the
 * recipient's key-transport context open so RSAES-OAEP with SHA-256 and
 * MGF1-SHA-256 can be set before CMS_final encrypts (the default would be
 * PKCS#1 v1.5, which KMS does not use). The content key is AES-256-CBC, fresh
 * per envelope. The private key alone decrypts it (CMS_decrypt with cert NULL,
 * or `openssl cms -decrypt -inform DER -inkey key.pem`). */
#include "crypto/crypto.h"

#include <limits.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 4096

/* NULL unless spki is exactly one DER SubjectPublicKeyInfo of an RSA key
 * (rsaEncryption, not RSASSA-PSS) of RSA_MIN_BITS..RSA_MAX_BITS. */
static EVP_PKEY *rsa_spki_parse(cl_slice spki) {
    if (!spki.ptr || !spki.len || spki.len > LONG_MAX) return NULL;
    const unsigned char *p = spki.ptr;
    EVP_PKEY *k = d2i_PUBKEY(NULL, &p, (long)spki.len);
    if (k && (p != spki.ptr + spki.len || EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA ||
              EVP_PKEY_get_bits(k) < RSA_MIN_BITS || EVP_PKEY_get_bits(k) > RSA_MAX_BITS)) {
        EVP_PKEY_free(k);
        k = NULL;
    }
    return k;
}

/* The carrier certificate: the key and its subjectKeyIdentifier, nothing else
 * CMS looks at. OpenSSL reads the identifier through its extension cache, which
 * only accepts a certificate that encodes completely, so the carrier gets a
 * serial, validity and a signature by a throwaway Ed25519 key (cheap to make;
 * nobody ever verifies it). */
static X509 *carrier_cert(EVP_PKEY *key) {
    X509 *x = X509_new();
    ASN1_OCTET_STRING *skid = ASN1_OCTET_STRING_new();
    EVP_PKEY *signer = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    bool ok = x && skid && signer && X509_set_version(x, X509_VERSION_3) &&
              ASN1_INTEGER_set(X509_get_serialNumber(x), 1) &&
              X509_gmtime_adj(X509_getm_notBefore(x), 0) &&
              X509_gmtime_adj(X509_getm_notAfter(x), 60) && X509_set_pubkey(x, key) &&
              X509_pubkey_digest(x, EVP_sha1(), md, &n) &&
              ASN1_OCTET_STRING_set(skid, md, (int)n) &&
              X509_add1_ext_i2d(x, NID_subject_key_identifier, skid, 0, X509V3_ADD_DEFAULT) == 1 &&
              X509_sign(x, signer, NULL) > 0;
    ASN1_OCTET_STRING_free(skid);
    EVP_PKEY_free(signer);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static bool set_oaep_sha256(CMS_RecipientInfo *ri) {
    EVP_PKEY_CTX *pctx = CMS_RecipientInfo_get0_pkey_ctx(ri);
    return pctx && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) > 0 &&
           EVP_PKEY_CTX_set_rsa_oaep_md(pctx, EVP_sha256()) > 0 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) > 0;
}

static cl_err envelope(X509 *recipient, cl_slice plain, cl_buf *out) {
    const unsigned int flags = CMS_BINARY | CMS_PARTIAL;
    BIO *in = BIO_new_mem_buf(plain.ptr ? plain.ptr : (const uint8_t *)"", (int)plain.len);
    CMS_ContentInfo *cms = in ? CMS_encrypt(NULL, NULL, EVP_aes_256_cbc(), flags) : NULL;
    CMS_RecipientInfo *ri =
        cms ? CMS_add1_recipient_cert(cms, recipient, CMS_USE_KEYID | CMS_KEY_PARAM) : NULL;
    unsigned char *der = NULL;
    int n = 0;
    if (ri && set_oaep_sha256(ri) && CMS_final(cms, in, NULL, CMS_BINARY) == 1)
        n = i2d_CMS_ContentInfo(cms, &der);
    if (n > 0) buf_append(out, der, (size_t)n);
    OPENSSL_free(der);
    CMS_ContentInfo_free(cms);
    BIO_free(in);
    return n > 0 ? CL_OK : CL_ERR_CRYPTO;
}

cl_err crypto_cms_envelope(cl_slice spki_der, cl_slice plain, cl_buf *out) {
    if (plain.len > INT_MAX) return CL_ERR_TOO_LARGE;
    EVP_PKEY *key = rsa_spki_parse(spki_der);
    if (!key) {
        ERR_clear_error();
        return CL_ERR_INVALID;
    }
    X509 *x = carrier_cert(key);
    cl_err e = x ? envelope(x, plain, out) : CL_ERR_CRYPTO;
    X509_free(x);
    EVP_PKEY_free(key);
    ERR_clear_error();
    return e;
}
