/* attest_root.c — the node's attestation root and the leaf that signs documents.
 *
 * The root is an ECDSA P-384 key and a self-signed CA certificate kept in
 * DATA/keys (attest-root.key 0600, attest-root.pem, dir 0700), made on first
 * use and written atomically, so a crash never leaves half a key and a restart
 * keeps the certificate verifiers already trust. Creation happens under an
 * exclusive flock on attest-root.lock: the server and `cloister attest` may
 * open a fresh data dir at the same moment and must agree on one root.
 *
 * Documents are not signed by the root itself but by a leaf (P-384, 3 hours,
 * issued by the root) made in memory at every open, as the Nitro hypervisor
 * signs with short-lived certificates under a long-lived root. The root key
 * stays in memory only to renew the leaf: a server that runs for days replaces
 * its leaf when less than an hour of it is left (attest_root_leaf, under a
 * mutex), so every document it signs verifies for at least that hour.
 *
 * Certificate times follow time_now(), so tests that fake the clock
 * (CLOISTER_FAKE_NOW_OFFSET) see certificates valid in their fake present. */
#include "attest/attest_internal.h"

#include "crypto/crypto.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define ROOT_KEY_FILE "attest-root.key"
#define ROOT_CERT_FILE "attest-root.pem"
#define ROOT_LOCK_FILE "attest-root.lock"
#define ROOT_CN "Cloister attestation root"
#define LEAF_CN "Cloister attestation signer"
#define ROOT_VALID_DAYS 3650
#define LEAF_VALID_SECONDS (3 * 3600)
#define LEAF_RENEW_SECONDS 3600 /* renew when less than this is left */
#define BACKDATE_SECONDS 60     /* notBefore slack for clocks a little behind */
#define PEM_MAX (64 * 1024)

/* The mutable part, behind a pointer so that signing through a const root can
 * renew the leaf. */
typedef struct {
    pthread_mutex_t mu;
    EVP_PKEY *key;
    cl_buf cert_der;
    time_t not_after;
} leaf_signer;

struct attest_root {
    X509 *cert;
    EVP_PKEY *key;
    cl_buf cert_der;
    leaf_signer *leaf;
};

/* ---- keys and certificates ---- */

static bool is_p384(EVP_PKEY *k) {
    char group[32];
    size_t n = 0;
    return k && EVP_PKEY_is_a(k, "EC") &&
           EVP_PKEY_get_group_name(k, group, sizeof group, &n) == 1 &&
           strcmp(group, "secp384r1") == 0;
}

static EVP_PKEY *p384_generate(void) {
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
}

static bool add_ext(X509 *x, X509 *issuer, int nid, const char *value) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
    bool ok = ext && X509_add_ext(x, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

static bool set_random_serial(X509 *x) {
    uint8_t raw[16];
    crypto_random(raw, sizeof raw);
    raw[0] &= 0x7f; /* positive */
    raw[0] |= 0x01; /* and not zero */
    BIGNUM *bn = BN_bin2bn(raw, sizeof raw, NULL);
    bool ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok;
}

/* A certificate for `key` named cn, issued by issuer (NULL: self-signed) and
 * signed with issuer_key, valid from now - BACKDATE_SECONDS for valid_secs. */
static X509 *cert_issue(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                        time_t now, long valid_secs, bool ca) {
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    bool ok = x && name && X509_set_version(x, X509_VERSION_3) && set_random_serial(x) &&
              X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
                                         -1, 0) &&
              X509_set_subject_name(x, name) &&
              X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) &&
              X509_time_adj_ex(X509_getm_notBefore(x), 0, -BACKDATE_SECONDS, &now) &&
              X509_time_adj_ex(X509_getm_notAfter(x), 0, valid_secs, &now) &&
              X509_set_pubkey(x, key);
    X509 *iss = issuer ? issuer : x;
    if (ca)
        ok = ok && add_ext(x, iss, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
             add_ext(x, iss, NID_key_usage, "critical,keyCertSign,cRLSign");
    else
        ok = ok && add_ext(x, iss, NID_basic_constraints, "critical,CA:FALSE") &&
             add_ext(x, iss, NID_key_usage, "critical,digitalSignature");
    ok = ok && add_ext(x, iss, NID_subject_key_identifier, "hash") &&
         add_ext(x, iss, NID_authority_key_identifier, "keyid:always") &&
         X509_sign(x, issuer_key, EVP_sha384()) > 0;
    X509_NAME_free(name);
    if (!ok) {
        X509_free(x);
        ERR_clear_error();
        return NULL;
    }
    return x;
}

static cl_err cert_to_der(X509 *x, cl_buf *out) {
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    if (n <= 0) return CL_ERR_CRYPTO;
    buf_append(out, der, (size_t)n);
    OPENSSL_free(der);
    return CL_OK;
}

/* ---- files ---- */

static cl_err bio_write_file(BIO *bio, const char *path, int mode) {
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    if (n <= 0) return CL_ERR_CRYPTO;
    cl_err e = file_write_atomic(path, slice_of(data, (size_t)n), mode);
    if (e == CL_OK && chmod(path, (mode_t)mode) != 0) e = CL_ERR_IO; /* whatever the umask */
    return e;
}

static cl_err key_save(const char *path, EVP_PKEY *key) {
    BIO *bio = BIO_new(BIO_s_secmem()); /* cleansed on free */
    if (!bio) return CL_ERR_NOMEM;
    cl_err e = PEM_write_bio_PKCS8PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)
                   ? bio_write_file(bio, path, 0600)
                   : CL_ERR_CRYPTO;
    BIO_free(bio);
    return e;
}

static cl_err cert_save(const char *path, X509 *x) {
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio) return CL_ERR_NOMEM;
    cl_err e = PEM_write_bio_X509(bio, x) ? bio_write_file(bio, path, 0644) : CL_ERR_CRYPTO;
    BIO_free(bio);
    return e;
}

/* CL_ERR_NOT_FOUND if the file is missing, CL_ERR_CRYPTO if it is not a P-384
 * private key in PEM. Warns about (and tightens) a key readable by others. */
static cl_err key_load(const char *path, EVP_PKEY **out) {
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & 077)) {
        log_warn("attest: %s was readable by others (mode %o); setting 0600", path,
                 (unsigned)(st.st_mode & 0777));
        if (chmod(path, 0600) != 0) return CL_ERR_IO;
    }
    cl_buf pem = CL_BUF_INIT;
    cl_err e = file_read_all(path, &pem, PEM_MAX);
    if (e == CL_OK) {
        BIO *bio = BIO_new_mem_buf(pem.ptr, (int)pem.len);
        *out = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);
        if (!is_p384(*out)) {
            EVP_PKEY_free(*out);
            *out = NULL;
            log_error("attest: %s is not a PEM ECDSA P-384 private key", path);
            e = CL_ERR_CRYPTO;
        }
    }
    buf_free_secret(&pem);
    ERR_clear_error();
    return e;
}

static cl_err cert_load(const char *path, X509 **out) {
    cl_buf pem = CL_BUF_INIT;
    cl_err e = file_read_all(path, &pem, PEM_MAX);
    if (e == CL_OK) {
        BIO *bio = BIO_new_mem_buf(pem.ptr, (int)pem.len);
        *out = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);
        if (!*out) {
            log_error("attest: %s is not a PEM certificate", path);
            e = CL_ERR_CRYPTO;
        }
    }
    buf_free(&pem);
    ERR_clear_error();
    return e;
}

/* ---- the root ---- */

/* Loads key and certificate, making whichever is missing. Called under the
 * lock. A certificate without its key is useless and is replaced. */
static cl_err root_load_or_create(const char *keys_dir, attest_root *r) {
    char *key_path = cl_sprintf("%s/%s", keys_dir, ROOT_KEY_FILE);
    char *cert_path = cl_sprintf("%s/%s", keys_dir, ROOT_CERT_FILE);
    time_t now = time_now();
    bool fresh_key = false;
    cl_err e = key_load(key_path, &r->key);
    if (e == CL_ERR_NOT_FOUND) {
        r->key = p384_generate();
        e = r->key ? key_save(key_path, r->key) : CL_ERR_CRYPTO;
        fresh_key = true;
        if (e == CL_OK) log_info("attest: created attestation root key %s", key_path);
    }
    if (e == CL_OK && !fresh_key) e = cert_load(cert_path, &r->cert);
    if (e == CL_ERR_NOT_FOUND || (e == CL_OK && !r->cert)) {
        r->cert = cert_issue(r->key, ROOT_CN, NULL, r->key, now, ROOT_VALID_DAYS * 86400L, true);
        e = r->cert ? cert_save(cert_path, r->cert) : CL_ERR_CRYPTO;
    }
    if (e == CL_OK && X509_check_private_key(r->cert, r->key) != 1) {
        log_error("attest: %s does not belong to %s", cert_path, key_path);
        e = CL_ERR_CRYPTO;
    }
    ERR_clear_error();
    free(key_path);
    free(cert_path);
    return e;
}

static cl_err root_open_locked(const char *keys_dir, attest_root *r) {
    char *lock_path = cl_sprintf("%s/%s", keys_dir, ROOT_LOCK_FILE);
    int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    free(lock_path);
    if (fd < 0) return CL_ERR_IO;
    cl_err e = CL_ERR_IO;
    if (flock(fd, LOCK_EX) == 0) {
        e = root_load_or_create(keys_dir, r);
        flock(fd, LOCK_UN);
    }
    close(fd);
    return e;
}

/* Makes a new leaf into s (replacing the old one). Called with s->mu held. */
static cl_err leaf_issue(const attest_root *r, leaf_signer *s) {
    time_t now = time_now();
    EVP_PKEY *key = p384_generate();
    X509 *cert =
        key ? cert_issue(key, LEAF_CN, r->cert, r->key, now, LEAF_VALID_SECONDS, false) : NULL;
    cl_buf der = CL_BUF_INIT;
    if (!cert || cert_to_der(cert, &der) != CL_OK) {
        X509_free(cert);
        EVP_PKEY_free(key);
        buf_free(&der);
        ERR_clear_error();
        return CL_ERR_CRYPTO;
    }
    X509_free(cert);
    EVP_PKEY_free(s->key);
    buf_free(&s->cert_der);
    s->key = key;
    s->cert_der = der;
    s->not_after = now + LEAF_VALID_SECONDS;
    return CL_OK;
}

cl_err attest_root_open(const char *keys_dir, attest_root **out) {
    *out = NULL;
    if (!keys_dir || !*keys_dir) return CL_ERR_INVALID;
    CL_TRY(dir_ensure(keys_dir, 0700));
    attest_root *r = cl_calloc(1, sizeof *r);
    r->leaf = cl_calloc(1, sizeof *r->leaf);
    pthread_mutex_init(&r->leaf->mu, NULL);
    cl_err e = root_open_locked(keys_dir, r);
    if (e == CL_OK) e = cert_to_der(r->cert, &r->cert_der);
    if (e == CL_OK) e = leaf_issue(r, r->leaf);
    if (e != CL_OK) {
        attest_root_close(r);
        return e;
    }
    *out = r;
    return CL_OK;
}

void attest_root_close(attest_root *r) {
    if (!r) return;
    pthread_mutex_destroy(&r->leaf->mu);
    EVP_PKEY_free(r->leaf->key);
    buf_free(&r->leaf->cert_der);
    free(r->leaf);
    EVP_PKEY_free(r->key);
    X509_free(r->cert);
    buf_free(&r->cert_der);
    free(r);
}

cl_slice attest_root_cert_der(const attest_root *r) {
    return buf_slice(&r->cert_der);
}

cl_err attest_root_leaf(const attest_root *r, EVP_PKEY **key, cl_buf *cert_der) {
    leaf_signer *s = r->leaf;
    pthread_mutex_lock(&s->mu);
    cl_err e = CL_OK;
    if (time_now() + LEAF_RENEW_SECONDS > s->not_after) e = leaf_issue(r, s);
    if (e == CL_OK) {
        EVP_PKEY_up_ref(s->key);
        *key = s->key;
        buf_append_slice(cert_der, buf_slice(&s->cert_der));
    }
    pthread_mutex_unlock(&s->mu);
    return e;
}
