/* receipt.c — the receipt of a confidential run: what the in-sandbox init
 * reports (task, app, input digests, result digest, exit code), bound to the
 * run's attestation document and signed by the run's ephemeral enclave key;
 * and its offline verification against a node's attestation root
 * (docs/attestation.md, "Receipts").
 *
 * Format: one JSON object, compact, keys sorted: the body's members plus
 *   "attestation": base64 of the COSE_Sign1 document (its public_key is the
 *                  enclave key's SPKI, module_id the task, PCR0 the app),
 *   "signature":   base64 of the DER ECDSA P-384 signature over SHA-384 of the
 *                  canonical JSON (jansson: compact, sorted keys, UTF-8 as is)
 *                  of everything except "signature".
 * The verifier re-derives the canonical text from the parsed object, so
 * whitespace or key order changed in transit do not matter and any change of a
 * value does. The chain of trust: root -> document (attest_verify_at_doc_time:
 * a receipt is checked long after its run) -> enclave key -> receipt; then the
 * receipt must say what the document says (task = module_id, app measurement
 * = PCR0). */
#include "tasks/tasks.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIG_DER_MAX 256

static cl_err reject(char *err, size_t errlen, cl_err e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static cl_err reject(char *err, size_t errlen, cl_err e, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    ERR_clear_error();
    return e;
}

static bool key_is_p384(EVP_PKEY *k) {
    char group[32];
    size_t n = 0;
    return k && EVP_PKEY_is_a(k, "EC") &&
           EVP_PKEY_get_group_name(k, group, sizeof group, &n) == 1 &&
           strcmp(group, "secp384r1") == 0;
}

static const char *str_member(const json_t *o, const char *key) {
    return json_string_value(json_object_get(o, key));
}

/* No floating-point number anywhere: their text is where JSON encoders
 * disagree (0.1 vs 0.10000000000000001), and a receipt needs none. */
static bool has_real(const json_t *v, int depth) {
    if (json_is_real(v) || depth > 32) return true;
    const char *k;
    json_t *m;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, m) {
            if (has_real(m, depth + 1)) return true;
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, m) {
            if (has_real(m, depth + 1)) return true;
        }
    }
    return false;
}

/* What both sides require of a body: the version, a task, an app measurement,
 * no floating-point numbers, at most 32 levels deep. */
static cl_err body_check(const json_t *b, char *err, size_t errlen) {
    if (has_real(b, 0))
        return reject(err, errlen, CL_ERR_INVALID,
                      "floating-point numbers or nesting deeper than 32 levels");
    const char *v = str_member(b, "version");
    if (!v || strcmp(v, TASKS_RECEIPT_VERSION) != 0)
        return reject(err, errlen, CL_ERR_INVALID, "\"version\" is not \"%s\"",
                      TASKS_RECEIPT_VERSION);
    if (!str_member(b, "task")) return reject(err, errlen, CL_ERR_INVALID, "\"task\" is missing");
    if (!str_member(json_object_get(b, "app"), "measurement"))
        return reject(err, errlen, CL_ERR_INVALID, "\"app\".\"measurement\" is missing");
    return CL_OK;
}

/* The canonical text: compact, sorted keys. */
static char *canonical(const json_t *o) {
    return json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
}

static json_t *base64_string(cl_slice s) {
    cl_buf b = CL_BUF_INIT;
    base64_encode(&b, s);
    json_t *j = json_stringn((const char *)b.ptr, b.len);
    buf_free(&b);
    return j;
}

/* A string member, base64-decoded into out. */
static bool base64_member(const json_t *o, const char *key, cl_buf *out) {
    json_t *v = json_object_get(o, key);
    return json_is_string(v) &&
           base64_decode(out, slice_of(json_string_value(v), json_string_length(v))) == CL_OK &&
           out->len > 0;
}

static bool es384_sign(EVP_PKEY *key, const char *tbs, cl_buf *der) {
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t n = 0;
    bool ok = md && EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, key) == 1 &&
              EVP_DigestSign(md, NULL, &n, (const uint8_t *)tbs, strlen(tbs)) == 1;
    if (ok) {
        buf_reserve(der, n);
        ok = EVP_DigestSign(md, der->ptr + der->len, &n, (const uint8_t *)tbs, strlen(tbs)) == 1;
        if (ok) der->len += n;
    }
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    return ok;
}

static bool es384_verify(EVP_PKEY *key, const char *tbs, cl_slice der) {
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = md && der.len <= SIG_DER_MAX &&
              EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, key) == 1 &&
              EVP_DigestVerify(md, der.ptr, der.len, (const uint8_t *)tbs, strlen(tbs)) == 1;
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    return ok;
}

char *tasks_receipt_seal(const json_t *body, cl_slice attestation_doc, EVP_PKEY *enclave_key) {
    if (!json_is_object(body) || !attestation_doc.len || !key_is_p384(enclave_key) ||
        json_object_get(body, "attestation") || json_object_get(body, "signature"))
        return NULL;
    json_t *r = json_deep_copy(body);
    if (!json_object_get(r, "version"))
        json_object_set_new(r, "version", json_string(TASKS_RECEIPT_VERSION));
    char *out = NULL, *tbs = NULL;
    cl_buf sig = CL_BUF_INIT;
    if (body_check(r, NULL, 0) == CL_OK) {
        json_object_set_new(r, "attestation", base64_string(attestation_doc));
        tbs = canonical(r);
    }
    if (tbs && es384_sign(enclave_key, tbs, &sig)) {
        json_object_set_new(r, "signature", base64_string(buf_slice(&sig)));
        out = canonical(r);
    }
    free(tbs);
    buf_free(&sig);
    json_decref(r);
    return out;
}

/* The document's public_key as a P-384 key, or NULL. */
static EVP_PKEY *doc_key(const attest_doc *d) {
    const unsigned char *p = d->public_key.ptr;
    EVP_PKEY *k = d->public_key.len ? d2i_PUBKEY(NULL, &p, (long)d->public_key.len) : NULL;
    if (k && !key_is_p384(k)) {
        EVP_PKEY_free(k);
        k = NULL;
    }
    ERR_clear_error();
    return k;
}

/* Signature by the attested key over everything but "signature". */
static cl_err check_signature(json_t *r, const attest_doc *d, char *err, size_t errlen) {
    cl_buf sig = CL_BUF_INIT;
    if (!base64_member(r, "signature", &sig)) {
        buf_free(&sig);
        return reject(err, errlen, CL_ERR_INVALID, "\"signature\" is missing or not base64");
    }
    EVP_PKEY *k = doc_key(d);
    json_t *rest = json_copy(r);
    json_object_del(rest, "signature");
    char *tbs = canonical(rest);
    cl_err e = CL_OK;
    if (!k)
        e = reject(err, errlen, CL_ERR_CRYPTO,
                   "the attestation document carries no P-384 enclave public key");
    else if (!tbs || !es384_verify(k, tbs, buf_slice(&sig)))
        e = reject(err, errlen, CL_ERR_CRYPTO,
                   "signature does not verify with the attested enclave key");
    free(tbs);
    json_decref(rest);
    EVP_PKEY_free(k);
    buf_free(&sig);
    return e;
}

/* The receipt says what the document says. */
static cl_err check_binding(const json_t *r, const attest_doc *d, char *err, size_t errlen) {
    const char *task = str_member(r, "task");
    if (strcmp(task, d->module_id) != 0)
        return reject(err, errlen, CL_ERR_CRYPTO,
                      "task %.80s does not match the attestation's module_id %.80s", task,
                      d->module_id);
    const char *m = str_member(json_object_get(r, "app"), "measurement");
    char pcr0[ATTEST_PCR_LEN * 2 + 1];
    if (!attest_pcr_hex(d, 0, pcr0))
        return reject(err, errlen, CL_ERR_CRYPTO, "the attestation document has no PCR0");
    if (strcmp(m, pcr0) != 0)
        return reject(err, errlen, CL_ERR_CRYPTO,
                      "app measurement does not match the attestation's PCR0");
    return CL_OK;
}

static cl_err verify_parsed(json_t *r, cl_slice root_der, attest_doc *d, char *err, size_t errlen) {
    CL_TRY(body_check(r, err, errlen));
    cl_buf doc = CL_BUF_INIT;
    if (!base64_member(r, "attestation", &doc)) {
        buf_free(&doc);
        return reject(err, errlen, CL_ERR_INVALID, "\"attestation\" is missing or not base64");
    }
    char why[200] = "";
    cl_err e = attest_verify_at_doc_time(buf_slice(&doc), root_der, time_now(), d, why, sizeof why);
    buf_free(&doc);
    if (e != CL_OK)
        return reject(err, errlen, e == CL_ERR_INVALID ? CL_ERR_INVALID : CL_ERR_CRYPTO,
                      "attestation document: %s", why);
    e = check_signature(r, d, err, errlen);
    if (e == CL_OK) e = check_binding(r, d, err, errlen);
    return e;
}

cl_err tasks_receipt_verify(cl_slice receipt, cl_slice root_der, json_t **body_out,
                            attest_doc *doc_out, char *err, size_t errlen) {
    if (body_out) *body_out = NULL;
    if (doc_out) memset(doc_out, 0, sizeof *doc_out);
    if (err && errlen) err[0] = 0;
    if (receipt.len > TASKS_RECEIPT_MAX)
        return reject(err, errlen, CL_ERR_INVALID, "receipt larger than %d bytes",
                      TASKS_RECEIPT_MAX);
    json_t *r = receipt.ptr ? json_loadb((const char *)receipt.ptr, receipt.len,
                                         JSON_REJECT_DUPLICATES, NULL)
                            : NULL;
    if (!json_is_object(r)) {
        json_decref(r);
        return reject(err, errlen, CL_ERR_INVALID, "not a JSON object");
    }
    attest_doc d = {0};
    cl_err e = verify_parsed(r, root_der, &d, err, errlen);
    if (e == CL_OK && body_out) {
        *body_out = r;
        r = NULL;
    }
    if (e == CL_OK && doc_out) {
        *doc_out = d;
        memset(&d, 0, sizeof d);
    }
    attest_doc_free(&d);
    json_decref(r);
    return e;
}
