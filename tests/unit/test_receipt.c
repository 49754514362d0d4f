/* test_receipt.c — run receipts (src/tasks/receipt.c) and the attestation check
 * they rest on (attest_verify_at_doc_time). A good receipt, made with a test
 * attestation root (a document whose public_key is the enclave key's SPKI,
 * module_id the task, PCR0 the app measurement), verifies, also re-indented and
 * reordered; each tamper fails with its own reason: a body field or the result
 * digest changed, a signature by another key, a document from another root,
 * PCR0 != measurement, module_id != task, the document's public key swapped,
 * no public key; malformed receipts; seal's refusals. attest_verify_at_doc_time
 * accepts a month-old document that attest_verify calls stale, and refuses one
 * from the future. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "attest/attest.h"
#include "tasks/tasks.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TASK "task-0001"
#define MONTH (30 * 86400)

static char tmp[64];
static attest_root *root_a, *root_b;
static EVP_PKEY *enclave, *other;
static uint8_t measurement[ATTEST_PCR_LEN], other_measurement[ATTEST_PCR_LEN];
static char measurement_hex[ATTEST_PCR_LEN * 2 + 1];

static attest_root *open_root(const char *name) {
    char *d = cl_sprintf("%s/%s/keys", tmp, name);
    attest_root *r = NULL;
    assert_int_equal(attest_root_open(d, &r), CL_OK);
    free(d);
    return r;
}

static int setup(void **s) {
    (void)s;
    strcpy(tmp, "/tmp/cl-receipt-XXXXXX");
    if (!mkdtemp(tmp)) return -1;
    root_a = open_root("a");
    root_b = open_root("b");
    enclave = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    for (int i = 0; i < ATTEST_PCR_LEN; i++) {
        measurement[i] = (uint8_t)(0xa0 + i);
        other_measurement[i] = (uint8_t)i;
    }
    hex_encode_to(measurement_hex, measurement, ATTEST_PCR_LEN);
    return enclave && other ? 0 : -1;
}

static int teardown(void **s) {
    (void)s;
    attest_root_close(root_a);
    attest_root_close(root_b);
    EVP_PKEY_free(enclave);
    EVP_PKEY_free(other);
    char *cmd = cl_sprintf("rm -rf %s", tmp);
    int rc = system(cmd);
    free(cmd);
    return rc;
}

static cl_slice root_der(void) {
    return attest_root_cert_der(root_a);
}

/* A document by root for pub (NULL: no public key). */
static void make_doc(attest_root *root, EVP_PKEY *pub, const char *module_id, const uint8_t *pcr0,
                     uint64_t ts_ms, cl_buf *out) {
    attest_doc d = {0};
    snprintf(d.module_id, sizeof d.module_id, "%s", module_id);
    memcpy(d.pcrs[0], pcr0, ATTEST_PCR_LEN);
    d.pcr_present = 1;
    d.timestamp_ms = ts_ms;
    if (pub) {
        unsigned char *der = NULL;
        int n = i2d_PUBKEY(pub, &der);
        assert_true(n > 0);
        buf_append(&d.public_key, der, (size_t)n);
        OPENSSL_free(der);
    }
    assert_int_equal(attest_sign(root, &d, out), CL_OK);
    attest_doc_free(&d);
}

static json_t *make_body(const char *task, const char *meas) {
    json_t *b = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:[{s:s, s:s}], s:{s:s, s:s}, s:i}",
                          "version", TASKS_RECEIPT_VERSION, "task", task, "app", "arn",
                          "arn:aws:cloister:us-east-1:1:app/f", "address",
                          "0x00000000000000000000000000000000000000aa", "measurement", meas,
                          "inputs", "name", "0xabc", "sha256", "0x01", "result", "digest",
                          "0x387afc7a9dd6cf26c18fbf92ff5e9b48e41f08fe8d01dbb4f597c2753f07b793",
                          "path", "/iexec_out/result.txt", "exit_code", 0);
    assert_non_null(b);
    return b;
}

/* The receipt of body_task/body_meas signed by signer over a document of
 * (root, doc_key, doc_task, pcr0). */
static char *make(attest_root *root, EVP_PKEY *doc_key, EVP_PKEY *signer, const char *doc_task,
                  const uint8_t *pcr0, const char *body_task, const char *body_meas) {
    cl_buf doc = CL_BUF_INIT;
    make_doc(root, doc_key, doc_task, pcr0, 0, &doc);
    json_t *b = make_body(body_task, body_meas);
    char *r = tasks_receipt_seal(b, buf_slice(&doc), signer);
    assert_non_null(r);
    json_decref(b);
    buf_free(&doc);
    return r;
}

static char *good(void) {
    return make(root_a, enclave, enclave, TASK, measurement, TASK, measurement_hex);
}

static void expect_fail(const char *receipt, cl_err want, const char *why) {
    char err[256] = "";
    json_t *body = (json_t *)1;
    attest_doc d;
    cl_err e = tasks_receipt_verify(slice_cstr(receipt), root_der(), &body, &d, err, sizeof err);
    assert_int_equal(e, want);
    if (!strstr(err, why)) fail_msg("err \"%s\" does not say \"%s\"", err, why);
    assert_null(body);
    attest_doc_free(&d);
}

/* Parses r, sets member path (a.b) to v, re-serializes. */
static char *edit(const char *r, const char *obj, const char *key, json_t *v) {
    json_t *j = json_loads(r, 0, NULL);
    assert_non_null(j);
    json_t *o = obj ? json_object_get(j, obj) : j;
    json_object_set_new(o, key, v);
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    return s;
}

/* ---- good ---- */

static void test_good(void **st) {
    (void)st;
    char *r = good();
    json_t *body = NULL;
    attest_doc d;
    char err[256] = "";
    assert_int_equal(tasks_receipt_verify(slice_cstr(r), root_der(), &body, &d, err, sizeof err),
                     CL_OK);
    assert_string_equal(err, "");
    assert_string_equal(json_string_value(json_object_get(body, "task")), TASK);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(body, "result"), "digest")),
        "0x387afc7a9dd6cf26c18fbf92ff5e9b48e41f08fe8d01dbb4f597c2753f07b793");
    assert_non_null(json_object_get(body, "signature"));
    assert_string_equal(d.module_id, TASK);
    json_decref(body);
    attest_doc_free(&d);
    /* compact with sorted keys, as specified */
    json_t *j = json_loads(r, 0, NULL);
    char *canon = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(canon, r);
    /* whitespace and key order do not matter; outputs are optional */
    char *pretty = json_dumps(j, JSON_INDENT(2));
    assert_int_equal(tasks_receipt_verify(slice_cstr(pretty), root_der(), NULL, NULL, NULL, 0),
                     CL_OK);
    free(pretty);
    free(canon);
    json_decref(j);
    free(r);
}

static void test_version_added(void **st) {
    (void)st;
    cl_buf doc = CL_BUF_INIT;
    make_doc(root_a, enclave, TASK, measurement, 0, &doc);
    json_t *b = make_body(TASK, measurement_hex);
    json_object_del(b, "version");
    char *r = tasks_receipt_seal(b, buf_slice(&doc), enclave);
    assert_non_null(r);
    assert_non_null(strstr(r, "\"version\":\"cloister-receipt-v1\""));
    assert_int_equal(tasks_receipt_verify(slice_cstr(r), root_der(), NULL, NULL, NULL, 0), CL_OK);
    free(r);
    json_decref(b);
    buf_free(&doc);
}

/* ---- tampers ---- */

static void test_body_changed(void **st) {
    (void)st;
    char *r = good();
    char *t = edit(r, NULL, "exit_code", json_integer(1));
    expect_fail(t, CL_ERR_CRYPTO, "signature does not verify with the attested enclave key");
    free(t);
    t = edit(r, "app", "arn", json_string("arn:aws:cloister:us-east-1:1:app/g"));
    expect_fail(t, CL_ERR_CRYPTO, "signature does not verify");
    free(t);
    t = edit(r, NULL, "extra", json_true());
    expect_fail(t, CL_ERR_CRYPTO, "signature does not verify");
    free(t);
    free(r);
}

static void test_digest_changed(void **st) {
    (void)st;
    char *r = good();
    char *t =
        edit(r, "result", "digest",
             json_string("0x0000000000000000000000000000000000000000000000000000000000000000"));
    expect_fail(t, CL_ERR_CRYPTO, "signature does not verify");
    free(t);
    free(r);
}

static void test_other_signer(void **st) {
    (void)st;
    char *r = make(root_a, enclave, other, TASK, measurement, TASK, measurement_hex);
    expect_fail(r, CL_ERR_CRYPTO, "signature does not verify with the attested enclave key");
    free(r);
}

static void test_other_root(void **st) {
    (void)st;
    char *r = make(root_b, enclave, enclave, TASK, measurement, TASK, measurement_hex);
    expect_fail(r, CL_ERR_CRYPTO, "attestation document: cabundle[0] is not the trusted root");
    free(r);
}

static void test_pcr0_mismatch(void **st) {
    (void)st;
    char *r = make(root_a, enclave, enclave, TASK, other_measurement, TASK, measurement_hex);
    expect_fail(r, CL_ERR_CRYPTO, "app measurement does not match the attestation's PCR0");
    free(r);
    /* upper-case hex is not the document's PCR0 text either */
    char upper[sizeof measurement_hex];
    for (size_t i = 0; i < sizeof upper; i++)
        upper[i] = (char)((measurement_hex[i] >= 'a' && measurement_hex[i] <= 'f')
                              ? measurement_hex[i] - 32
                              : measurement_hex[i]);
    r = make(root_a, enclave, enclave, TASK, measurement, TASK, upper);
    expect_fail(r, CL_ERR_CRYPTO, "app measurement does not match");
    free(r);
}

static void test_task_mismatch(void **st) {
    (void)st;
    char *r = make(root_a, enclave, enclave, "task-0002", measurement, TASK, measurement_hex);
    expect_fail(r, CL_ERR_CRYPTO, "task task-0001 does not match the attestation's module_id");
    free(r);
}

/* A receipt whose attestation is replaced by a genuine document for another
 * key (same root, task and app): the signature no longer matches the attested
 * key, whichever of the two signed. */
static void test_doc_key_swapped(void **st) {
    (void)st;
    cl_buf doc = CL_BUF_INIT, b64 = CL_BUF_INIT;
    make_doc(root_a, other, TASK, measurement, 0, &doc);
    base64_encode(&b64, buf_slice(&doc));
    char *r = good();
    char *t = edit(r, NULL, "attestation", json_stringn((const char *)b64.ptr, b64.len));
    expect_fail(t, CL_ERR_CRYPTO, "signature does not verify with the attested enclave key");
    free(t);
    free(r);
    /* a document without a public key */
    r = make(root_a, NULL, enclave, TASK, measurement, TASK, measurement_hex);
    expect_fail(r, CL_ERR_CRYPTO, "carries no P-384 enclave public key");
    free(r);
    buf_free(&doc);
    buf_free(&b64);
}

static void test_malformed(void **st) {
    (void)st;
    expect_fail("", CL_ERR_INVALID, "not a JSON object");
    expect_fail("[1]", CL_ERR_INVALID, "not a JSON object");
    expect_fail("{\"version\":\"cloister-receipt-v2\"}", CL_ERR_INVALID, "\"version\"");
    char *r = good();
    char *t = edit(r, NULL, "signature", json_string("!!"));
    expect_fail(t, CL_ERR_INVALID, "\"signature\" is missing or not base64");
    free(t);
    t = edit(r, NULL, "attestation", json_integer(3));
    expect_fail(t, CL_ERR_INVALID, "\"attestation\" is missing or not base64");
    free(t);
    t = edit(r, NULL, "attestation", json_string("AAAA"));
    expect_fail(t, CL_ERR_INVALID, "attestation document:");
    free(t);
    t = edit(r, NULL, "load", json_real(0.1));
    expect_fail(t, CL_ERR_INVALID, "floating-point");
    free(t);
    t = edit(r, NULL, "task", json_integer(3));
    expect_fail(t, CL_ERR_INVALID, "\"task\" is missing");
    free(t);
    /* a duplicated key is refused, not resolved one way or the other */
    size_t n = strlen(r);
    char *dup = cl_sprintf("%.*s,\"task\":\"x\"}", (int)(n - 1), r);
    expect_fail(dup, CL_ERR_INVALID, "not a JSON object");
    free(dup);
    free(r);
    assert_int_equal(tasks_receipt_verify(CL_SLICE_NULL, root_der(), NULL, NULL, NULL, 0),
                     CL_ERR_INVALID);
}

static void test_seal_refuses(void **st) {
    (void)st;
    cl_buf doc = CL_BUF_INIT;
    make_doc(root_a, enclave, TASK, measurement, 0, &doc);
    json_t *b = make_body(TASK, measurement_hex);
    EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_null(tasks_receipt_seal(b, buf_slice(&doc), p256));
    assert_null(tasks_receipt_seal(b, CL_SLICE_NULL, enclave));
    json_object_set_new(b, "signature", json_string("x"));
    assert_null(tasks_receipt_seal(b, buf_slice(&doc), enclave));
    json_object_del(b, "signature");
    json_object_del(b, "task");
    assert_null(tasks_receipt_seal(b, buf_slice(&doc), enclave));
    json_t *arr = json_array();
    assert_null(tasks_receipt_seal(arr, buf_slice(&doc), enclave));
    json_decref(arr);
    EVP_PKEY_free(p256);
    json_decref(b);
    buf_free(&doc);
}

/* ---- attest_verify_at_doc_time ---- */

static void test_at_doc_time(void **st) {
    (void)st;
    cl_buf doc = CL_BUF_INIT;
    make_doc(root_a, enclave, TASK, measurement, 0, &doc);
    attest_doc d;
    char err[256];
    time_t later = time_now() + MONTH; /* the leaf (3 h) has long expired */
    assert_int_equal(attest_verify(buf_slice(&doc), root_der(), later, &d, err, sizeof err),
                     CL_ERR_EXPIRED);
    assert_int_equal(
        attest_verify_at_doc_time(buf_slice(&doc), root_der(), later, &d, err, sizeof err), CL_OK);
    assert_string_equal(d.module_id, TASK);
    attest_doc_free(&d);
    /* from the future (as seen by the verifier) */
    assert_int_equal(attest_verify_at_doc_time(buf_slice(&doc), root_der(), time_now() - 3600, &d,
                                               err, sizeof err),
                     CL_ERR_EXPIRED);
    assert_non_null(strstr(err, "in the future"));
    /* another root is still another root */
    assert_int_equal(attest_verify_at_doc_time(buf_slice(&doc), attest_root_cert_der(root_b), later,
                                               &d, err, sizeof err),
                     CL_ERR_CRYPTO);
    /* a timestamp outside the leaf's validity (before it was issued) fails the chain */
    buf_clear(&doc);
    make_doc(root_a, enclave, TASK, measurement, (uint64_t)(time_now() - MONTH) * 1000, &doc);
    assert_int_equal(
        attest_verify_at_doc_time(buf_slice(&doc), root_der(), time_now(), &d, err, sizeof err),
        CL_ERR_EXPIRED);
    assert_non_null(strstr(err, "certificate chain"));
    buf_free(&doc);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_version_added),
        cmocka_unit_test(test_body_changed),
        cmocka_unit_test(test_digest_changed),
        cmocka_unit_test(test_other_signer),
        cmocka_unit_test(test_other_root),
        cmocka_unit_test(test_pcr0_mismatch),
        cmocka_unit_test(test_task_mismatch),
        cmocka_unit_test(test_doc_key_swapped),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_seal_refuses),
        cmocka_unit_test(test_at_doc_time),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
