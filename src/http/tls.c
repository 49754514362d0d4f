/* tls.c — the TLS material `cloister serve --tls-listen` needs, made on first
 * start: a local CA (DIR/ca.pem, what clients trust) and a server certificate it
 * signs for localhost, 127.0.0.1 and ::1. ECDSA P-256 through OpenSSL; keys are
 * written 0600 with durable writes. */
#include "http/http.h"

#include "crypto/crypto.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <unistd.h>

static EVP_PKEY *new_key(void) {
    return EVP_EC_gen("P-256");
}

static X509 *new_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, bool ca) {
    X509 *x = X509_new();
    uint8_t serial[16];
    crypto_random(serial, sizeof serial);
    serial[0] &= 0x7f;
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
    BN_free(bn);
    X509_set_version(x, 2);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), ca ? 10L * 365 * 86400 : 2L * 365 * 86400);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"Cloister", -1, -1,
                               0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
    const char *exts[][2] = {
        {"basicConstraints", ca ? "critical,CA:TRUE" : "critical,CA:FALSE"},
        {"keyUsage", ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature"},
        {ca ? "subjectKeyIdentifier" : "extendedKeyUsage", ca ? "hash" : "serverAuth"},
        {ca ? NULL : "subjectAltName", "DNS:localhost,IP:127.0.0.1,IP:::1"},
    };
    for (size_t i = 0; i < sizeof exts / sizeof exts[0] && exts[i][0]; i++) {
        X509_EXTENSION *e = X509V3_EXT_conf(NULL, &v3, exts[i][0], exts[i][1]);
        if (e) X509_add_ext(x, e, -1), X509_EXTENSION_free(e);
    }
    X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256());
    return x;
}

static char *pem_of(X509 *x, EVP_PKEY *k) {
    BIO *b = BIO_new(BIO_s_mem());
    if (x)
        PEM_write_bio_X509(b, x);
    else
        PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    char *p;
    long n = BIO_get_mem_data(b, &p);
    char *s = cl_strndup(p, (size_t)n);
    BIO_free(b);
    return s;
}

static cl_err write_pem(const char *dir, const char *file, char *pem, int mode) {
    char *path = cl_sprintf("%s/%s", dir, file);
    cl_err e = file_write_atomic(path, slice_cstr(pem), mode);
    free(path);
    cl_free_secret(pem);
    return e;
}

static cl_err generate(const char *dir) {
    EVP_PKEY *cak = new_key(), *srvk = new_key();
    if (!cak || !srvk) return CL_ERR_CRYPTO;
    X509 *ca = new_cert(cak, "Cloister local CA", NULL, NULL, true);
    X509 *srv = new_cert(srvk, "localhost", ca, cak, false);
    cl_err e = write_pem(dir, "ca.key", pem_of(NULL, cak), 0600);
    if (e == CL_OK) e = write_pem(dir, "server.key", pem_of(NULL, srvk), 0600);
    if (e == CL_OK) e = write_pem(dir, "server.pem", pem_of(srv, NULL), 0644);
    if (e == CL_OK) e = write_pem(dir, "ca.pem", pem_of(ca, NULL), 0644); /* last: marks done */
    X509_free(ca);
    X509_free(srv);
    EVP_PKEY_free(cak);
    EVP_PKEY_free(srvk);
    return e;
}

static cl_err load(const char *dir, const char *file, char **out) {
    char *path = cl_sprintf("%s/%s", dir, file);
    cl_buf b = CL_BUF_INIT;
    cl_err e = file_read_all(path, &b, 1 << 20);
    free(path);
    if (e != CL_OK) {
        buf_free_secret(&b);
        return e;
    }
    *out = buf_take_cstr(&b);
    return CL_OK;
}

cl_err tls_ensure_material(const char *dir, char **cert_pem, char **key_pem) {
    CL_TRY(dir_ensure(dir, 0700));
    char *ca_path = cl_sprintf("%s/ca.pem", dir);
    bool have = access(ca_path, R_OK) == 0;
    free(ca_path);
    if (!have) {
        log_info("tls: generating a local CA and server certificate in %s", dir);
        CL_TRY(generate(dir));
    }
    CL_TRY(load(dir, "server.pem", cert_pem));
    return load(dir, "server.key", key_pem);
}
