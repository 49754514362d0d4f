/* kmskeys.c — validator keys sealed under a KMS data key (signer.h, "kms keys";
 * docs/signer.md, "Keys sealed by KMS"): sealing and unsealing one key, the key
 * set's JSON (the one parser of what the node hands back, fuzzed by
 * tests/fuzz/fuzz_signer_kmskeys.c), and the sandbox side of KMS Decrypt with a
 * Recipient: the RSA key made here, the attestation document asked of the run's
 * init, and the opening of CiphertextForRecipient. The network calls (Cloister
 * GetSignerKeys, KMS Decrypt) are the CLI's (src/cli/signer_kms.c): this file
 * depends on nothing of the node. Loading into the keyring: kmskeys_load.c. */
#include "signer/signer.h"

#include "crypto/crypto.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KMS_EDK_MAX 6144
#define KMS_KEYID_MAX 2048
#define KMS_ATTEST_FRAME_MAX (64u * 1024)
#define KMS_ATTEST_TIMEOUT_MS 60000

/* ---- one key ---- */

cl_err signer_kms_seal(const uint8_t data_key[SIGNER_KMS_DATA_KEY_LEN],
                       const uint8_t pk[SIGNER_PK_LEN], const uint8_t sk[SIGNER_SK_LEN],
                       uint8_t sealed[SIGNER_KMS_SEALED_LEN]) {
    crypto_random(sealed, CRYPTO_GCM_IV_LEN);
    return crypto_gcm_seal(data_key, sealed, slice_of(pk, SIGNER_PK_LEN),
                           slice_of(sk, SIGNER_SK_LEN), sealed + CRYPTO_GCM_IV_LEN);
}

cl_err signer_kms_unseal(const uint8_t data_key[SIGNER_KMS_DATA_KEY_LEN],
                         const uint8_t pk[SIGNER_PK_LEN],
                         const uint8_t sealed[SIGNER_KMS_SEALED_LEN], uint8_t sk[SIGNER_SK_LEN]) {
    cl_err e = crypto_gcm_open(
        data_key, sealed, slice_of(pk, SIGNER_PK_LEN),
        slice_of(sealed + CRYPTO_GCM_IV_LEN, SIGNER_KMS_SEALED_LEN - CRYPTO_GCM_IV_LEN), sk);
    if (e != CL_OK) cl_cleanse(sk, SIGNER_SK_LEN);
    return e == CL_OK ? CL_OK : CL_ERR_CRYPTO;
}

/* ---- the key set's JSON ---- */

bool signer_kms_name_valid(const char *name) {
    size_t n = name ? strlen(name) : 0;
    if (n < 1 || n > 64) return false;
    return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

static cl_err set_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static cl_err set_fail(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen) vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return CL_ERR_INVALID;
}

/* "0x" + 96 hex (the 0x optional, as Web3Signer takes pubkeys) -> 48 bytes. */
static bool pubkey_parse(const char *s, uint8_t pk[SIGNER_PK_LEN]) {
    if (!s) return false;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s += 2;
    if (strlen(s) != 2 * SIGNER_PK_LEN) return false;
    cl_buf b = CL_BUF_INIT;
    bool ok = hex_decode(&b, slice_cstr(s)) == CL_OK && b.len == SIGNER_PK_LEN;
    if (ok) memcpy(pk, b.ptr, SIGNER_PK_LEN);
    buf_free(&b);
    return ok;
}

static bool b64_fixed(const char *s, uint8_t *out, size_t n) {
    cl_buf b = CL_BUF_INIT;
    bool ok = s && base64_decode(&b, slice_cstr(s)) == CL_OK && b.len == n;
    if (ok) memcpy(out, b.ptr, n);
    buf_free(&b);
    return ok;
}

static int entry_cmp(const void *a, const void *b) {
    return memcmp(((const signer_kms_entry *)a)->pk, ((const signer_kms_entry *)b)->pk,
                  SIGNER_PK_LEN);
}

static cl_err parse_keys(json_t *keys, signer_kms_set *out, char *err, size_t errlen) {
    if (!json_is_array(keys)) return set_fail(err, errlen, "Keys must be an array");
    size_t n = json_array_size(keys);
    if (n > SIGNER_KMS_MAX_KEYS)
        return set_fail(err, errlen, "Keys holds %zu keys: at most %d", n, SIGNER_KMS_MAX_KEYS);
    out->keys = calloc(n ? n : 1, sizeof *out->keys);
    for (size_t i = 0; i < n; i++) {
        json_t *k = json_array_get(keys, i);
        if (!json_is_object(k) ||
            !pubkey_parse(json_string_value(json_object_get(k, "Pubkey")), out->keys[i].pk))
            return set_fail(err, errlen, "Keys[%zu].Pubkey must be 0x and 96 hex digits", i);
        if (!b64_fixed(json_string_value(json_object_get(k, "Sealed")), out->keys[i].sealed,
                       SIGNER_KMS_SEALED_LEN))
            return set_fail(err, errlen, "Keys[%zu].Sealed must be base64 of %d bytes", i,
                            SIGNER_KMS_SEALED_LEN);
        out->n = i + 1;
    }
    qsort(out->keys, out->n, sizeof *out->keys, entry_cmp);
    for (size_t i = 1; i < out->n; i++)
        if (memcmp(out->keys[i].pk, out->keys[i - 1].pk, SIGNER_PK_LEN) == 0)
            return set_fail(err, errlen, "Keys names a pubkey twice");
    return CL_OK;
}

static cl_err parse_object(json_t *j, signer_kms_set *out, char *err, size_t errlen) {
    if (!json_is_object(j)) return set_fail(err, errlen, "the key set must be a JSON object");
    const char *name = json_string_value(json_object_get(j, "Name"));
    const char *kid = json_string_value(json_object_get(j, "KmsKeyId"));
    const char *edk = json_string_value(json_object_get(j, "EncryptedDataKey"));
    if (!signer_kms_name_valid(name))
        return set_fail(err, errlen, "Name is required and must match [A-Za-z0-9_-]{1,64}");
    if (!kid || !kid[0] || strlen(kid) > KMS_KEYID_MAX)
        return set_fail(err, errlen, "KmsKeyId is required (1..%d bytes)", KMS_KEYID_MAX);
    if (!edk || base64_decode(&out->encrypted_data_key, slice_cstr(edk)) != CL_OK ||
        out->encrypted_data_key.len < 1 || out->encrypted_data_key.len > KMS_EDK_MAX)
        return set_fail(err, errlen, "EncryptedDataKey is required: base64 of 1..%d bytes",
                        KMS_EDK_MAX);
    out->name = cl_strdup(name);
    out->kms_key_id = cl_strdup(kid);
    return parse_keys(json_object_get(j, "Keys"), out, err, errlen);
}

cl_err signer_kms_set_parse(cl_slice json, signer_kms_set *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    json_t *j = json_loadb((const char *)json.ptr, json.len, JSON_REJECT_DUPLICATES, NULL);
    cl_err e = j ? parse_object(j, out, err, errlen)
                 : set_fail(err, errlen, "the key set is not valid JSON");
    json_decref(j);
    if (e != CL_OK) signer_kms_set_free(out);
    return e;
}

void signer_kms_set_free(signer_kms_set *s) {
    if (!s) return;
    free(s->name);
    free(s->kms_key_id);
    buf_free(&s->encrypted_data_key);
    free(s->keys);
    memset(s, 0, sizeof *s);
}

void signer_kms_set_json(const signer_kms_set *s, cl_buf *out) {
    cl_buf edk = CL_BUF_INIT;
    base64_encode(&edk, buf_slice(&s->encrypted_data_key));
    json_t *keys = json_array();
    for (size_t i = 0; i < s->n; i++) {
        char hex[2 + 2 * SIGNER_PK_LEN + 1] = "0x";
        hex_encode_to(hex + 2, s->keys[i].pk, SIGNER_PK_LEN);
        cl_buf b = CL_BUF_INIT;
        base64_encode(&b, slice_of(s->keys[i].sealed, SIGNER_KMS_SEALED_LEN));
        json_array_append_new(keys, json_pack("{s:s, s:s}", "Pubkey", hex, "Sealed", buf_cstr(&b)));
        buf_free(&b);
    }
    json_t *j = json_pack("{s:s, s:s, s:s, s:o}", "Name", s->name, "KmsKeyId", s->kms_key_id,
                          "EncryptedDataKey", buf_cstr(&edk), "Keys", keys);
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    buf_append_cstr(out, text);
    free(text);
    json_decref(j);
    buf_free(&edk);
}

/* ---- the Recipient key ---- */

struct signer_kms_recipient {
    EVP_PKEY *key;
};

cl_err signer_kms_recipient_new(signer_kms_recipient **out) {
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    if (!k) return CL_ERR_CRYPTO;
    *out = calloc(1, sizeof **out);
    (*out)->key = k;
    return CL_OK;
}

void signer_kms_recipient_free(signer_kms_recipient *r) {
    if (!r) return;
    EVP_PKEY_free(r->key); /* OpenSSL clears RSA private values on free */
    free(r);
}

void signer_kms_recipient_spki(const signer_kms_recipient *r, cl_buf *der_out) {
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(r->key, &der);
    if (n > 0) buf_append(der_out, der, (size_t)n);
    OPENSSL_free(der);
}

cl_err signer_kms_recipient_open(const signer_kms_recipient *r, cl_slice cms_der, cl_buf *out) {
    if (!cms_der.len || cms_der.len > INT_MAX) return CL_ERR_CRYPTO;
    BIO *in = BIO_new_mem_buf(cms_der.ptr, (int)cms_der.len), *plain = BIO_new(BIO_s_mem());
    CMS_ContentInfo *cms = in ? d2i_CMS_bio(in, NULL) : NULL;
    cl_err e = CL_ERR_CRYPTO;
    /* CMS_DEBUG_DECRYPT: a key that does not match fails instead of yielding the
     * random content key OpenSSL substitutes against padding oracles */
    if (cms && plain &&
        CMS_decrypt(cms, r->key, NULL, NULL, plain, CMS_BINARY | CMS_DEBUG_DECRYPT) == 1) {
        char *p = NULL;
        long n = BIO_get_mem_data(plain, &p);
        if (n > 0) {
            buf_append(out, p, (size_t)n);
            cl_cleanse(p, (size_t)n);
            e = CL_OK;
        }
    }
    CMS_ContentInfo_free(cms);
    BIO_free(in);
    BIO_free(plain);
    return e;
}

/* ---- the attestation document, from the run's init ---- */

static cl_err fd_io(int fd, uint8_t *p, size_t n, bool writing, int timeout_ms) {
    while (n) {
        struct pollfd pf = {.fd = fd, .events = writing ? POLLOUT : POLLIN};
        int r = poll(&pf, 1, timeout_ms);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return CL_ERR_IO;
        ssize_t k = writing ? write(fd, p, n) : read(fd, p, n);
        if (k < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (k <= 0) return CL_ERR_IO;
        p += k;
        n -= (size_t)k;
    }
    return CL_OK;
}

static cl_err frame_write(int fd, const char *text) {
    size_t n = strlen(text);
    uint8_t hdr[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    CL_TRY(fd_io(fd, hdr, 4, true, KMS_ATTEST_TIMEOUT_MS));
    return fd_io(fd, (uint8_t *)text, n, true, KMS_ATTEST_TIMEOUT_MS);
}

static json_t *frame_read(int fd) {
    uint8_t hdr[4];
    if (fd_io(fd, hdr, 4, false, KMS_ATTEST_TIMEOUT_MS) != CL_OK) return NULL;
    uint32_t n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
    if (n == 0 || n > KMS_ATTEST_FRAME_MAX) return NULL;
    uint8_t *p = malloc(n);
    json_t *j = fd_io(fd, p, n, false, KMS_ATTEST_TIMEOUT_MS) == CL_OK
                    ? json_loadb((const char *)p, n, 0, NULL)
                    : NULL;
    free(p);
    return j;
}

cl_err signer_kms_attest(cl_slice spki_der, cl_buf *doc_out, char *err, size_t errlen) {
    const char *fds = getenv("CLOISTER_ATTESTATION_FD");
    int fd = fds && fds[0] ? atoi(fds) : -1;
    if (fd <= 2) {
        snprintf(err, errlen,
                 "not inside a Cloister run (CLOISTER_ATTESTATION_FD is not set): "
                 "KMS-sealed keys are unwrapped only inside the signer app's "
                 "sandbox (cloister signer app)");
        return CL_ERR_NOT_FOUND;
    }
    cl_buf b64 = CL_BUF_INIT;
    base64_encode(&b64, spki_der);
    json_t *req = json_pack("{s:s}", "public_key", buf_cstr(&b64)), *ans = NULL;
    char *text = json_dumps(req, JSON_COMPACT);
    cl_err e = frame_write(fd, text) == CL_OK && (ans = frame_read(fd)) ? CL_OK : CL_ERR_IO;
    const char *doc = json_string_value(json_object_get(ans, "document"));
    if (e != CL_OK) {
        snprintf(err, errlen, "the run's init did not answer the attestation request");
    } else if (!doc) {
        const char *why = json_string_value(json_object_get(ans, "error"));
        snprintf(err, errlen, "the run's init refused an attestation document: %s",
                 why ? why : "no document");
        e = CL_ERR_DENIED;
    } else if (base64_decode(doc_out, slice_cstr(doc)) != CL_OK) {
        snprintf(err, errlen, "the run's init sent a malformed attestation document");
        e = CL_ERR_IO;
    }
    free(text);
    json_decref(req);
    json_decref(ans);
    buf_free(&b64);
    return e;
}
