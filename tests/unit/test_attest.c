/* test_attest.c — attestation documents (src/attest) and the CMS envelope
 * (src/crypto/cms.c) that KMS Recipient returns to their public key.
 * Root: made on first open with key 0600 in a 0700 dir, the same certificate
 * after reopening, one root when several processes open a fresh dir at once.
 * Documents: round trip of every field; rejected with the right cl_err: any
 * flipped byte, a bad signature, another node's root, cabundle[0] not the root,
 * stale / future / outside the certificates' validity, every required field
 * missing, wrong types and sizes field by field, COSE envelope variants,
 * every truncation, oversize, depth and count bombs. Documents with a bad
 * payload are rebuilt here with libcbor around the original signature: the
 * parser must reject them before any crypto, with CL_ERR_INVALID.
 * CMS: an RSA 2048 envelope opened by OpenSSL's CMS_decrypt with the private
 * key alone (RSAES-OAEP, keyid rid); EC, small RSA and junk keys refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "attest/attest.h"
#include "crypto/crypto.h"

#include <cbor.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmp[64];
static attest_root *root_a, *root_b;

/* ---- fixtures and helpers ---- */

static char *keys_path(const char *name) {
    return cl_sprintf("%s/%s/keys", tmp, name);
}

static attest_root *open_root(const char *name) {
    char *d = keys_path(name);
    attest_root *r = NULL;
    assert_int_equal(attest_root_open(d, &r), CL_OK);
    free(d);
    return r;
}

static int setup(void **s) {
    (void)s;
    strcpy(tmp, "/tmp/cl-attest-XXXXXX");
    if (!mkdtemp(tmp)) return -1;
    root_a = open_root("a");
    root_b = open_root("b");
    return 0;
}

static int teardown(void **s) {
    (void)s;
    attest_root_close(root_a);
    attest_root_close(root_b);
    char *cmd = cl_sprintf("rm -rf %s", tmp);
    int rc = system(cmd);
    free(cmd);
    return rc;
}

static void spki_of(EVP_PKEY *k, cl_buf *out) {
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(k, &der);
    assert_true(n > 0);
    buf_append(out, der, (size_t)n);
    OPENSSL_free(der);
}

static EVP_PKEY *rsa_key(size_t bits) {
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits);
    assert_non_null(k);
    return k;
}

static void sample_doc(attest_doc *d) {
    memset(d, 0, sizeof *d);
    strcpy(d->module_id, "app-under-test");
    for (int i = 0; i < ATTEST_PCR_LEN; i++) {
        d->pcrs[0][i] = (uint8_t)i;
        d->pcrs[1][i] = 0xa5;
    }
    /* PCR2 stays all zero, as unused Nitro PCRs are */
    d->pcr_present = 0x7;
    buf_append_cstr(&d->user_data, "user data");
    buf_append_cstr(&d->nonce, "nonce-123");
}

/* A signed sample document from r (timestamp_ms: 0 = now). */
static void signed_doc(attest_root *r, uint64_t timestamp_ms, cl_buf *out) {
    attest_doc d;
    sample_doc(&d);
    d.timestamp_ms = timestamp_ms;
    assert_int_equal(attest_sign(r, &d, out), CL_OK);
    attest_doc_free(&d);
}

static cl_err verify_at(cl_slice doc, attest_root *trusted, time_t now) {
    attest_doc d;
    char err[256];
    cl_err e = attest_verify(doc, attest_root_cert_der(trusted), now, &d, err, sizeof err);
    if (e == CL_OK) {
        attest_doc_free(&d);
    } else {
        assert_true(err[0] != 0); /* always a reason */
        assert_int_equal(d.public_key.len + d.user_data.len + d.nonce.len, 0);
    }
    return e;
}

static cl_err verify(cl_slice doc) {
    return verify_at(doc, root_a, time_now());
}

/* ---- rebuilding documents with libcbor ---- */

static void serialize(cbor_item_t *it, cl_buf *out) {
    unsigned char *p = NULL;
    size_t cap = 0, n = cbor_serialize_alloc(it, &p, &cap);
    assert_true(n > 0);
    buf_append(out, p, n);
    free(p);
    cbor_decref(&it);
}

static cbor_item_t *bytes_item(cl_slice s) {
    return cbor_build_bytestring(s.ptr ? s.ptr : (const uint8_t *)"", s.len);
}

static void push(cbor_item_t *a, cbor_item_t *it) {
    assert_true(cbor_array_push(a, cbor_move(it)));
}

static void put(cbor_item_t *m, cbor_item_t *k, cbor_item_t *v) {
    assert_true(cbor_map_add(m, (struct cbor_pair){.key = cbor_move(k), .value = cbor_move(v)}));
}

/* [prot, {}, payload, sig] */
static void cose(cl_slice prot, cl_slice payload, cl_slice sig, cl_buf *out) {
    cbor_item_t *a = cbor_new_definite_array(4);
    push(a, bytes_item(prot));
    push(a, cbor_new_definite_map(0));
    push(a, bytes_item(payload));
    push(a, bytes_item(sig));
    serialize(a, out);
}

/* The parts of a (trusted, test-made) document; the caller releases *top. */
static cbor_item_t *split(cl_slice doc, cl_slice *prot, cl_slice *payload, cl_slice *sig) {
    struct cbor_load_result res;
    cbor_item_t *top = cbor_load(doc.ptr, doc.len, &res);
    assert_non_null(top);
    assert_int_equal(cbor_array_size(top), 4);
    cbor_item_t **it = cbor_array_handle(top);
    *prot = slice_of(cbor_bytestring_handle(it[0]), cbor_bytestring_length(it[0]));
    *payload = slice_of(cbor_bytestring_handle(it[2]), cbor_bytestring_length(it[2]));
    *sig = slice_of(cbor_bytestring_handle(it[3]), cbor_bytestring_length(it[3]));
    return top;
}

typedef enum { EDIT_REPLACE, EDIT_REMOVE, EDIT_ADD } edit_mode;

/* The document with payload field `field` replaced by value / removed / added
 * once more, the rest (signature included) unchanged. Consumes value. */
static void rewrite(cl_slice doc, const char *field, edit_mode mode, cbor_item_t *value,
                    cl_buf *out) {
    cl_slice prot, payload, sig;
    cbor_item_t *top = split(doc, &prot, &payload, &sig);
    struct cbor_load_result res;
    cbor_item_t *m = cbor_load(payload.ptr, payload.len, &res);
    assert_non_null(m);
    cbor_item_t *nm = cbor_new_definite_map(cbor_map_size(m) + 1);
    struct cbor_pair *pairs = cbor_map_handle(m);
    for (size_t i = 0; i < cbor_map_size(m); i++) {
        bool hit = cbor_string_length(pairs[i].key) == strlen(field) &&
                   memcmp(cbor_string_handle(pairs[i].key), field, strlen(field)) == 0;
        if (hit && mode == EDIT_REPLACE) {
            put(nm, cbor_build_string(field), value);
            continue;
        }
        if (hit && mode == EDIT_REMOVE) continue;
        assert_true(cbor_map_add(nm, pairs[i]));
    }
    if (mode == EDIT_ADD) put(nm, cbor_build_string(field), value);
    cl_buf np = CL_BUF_INIT;
    serialize(nm, &np);
    cose(prot, buf_slice(&np), sig, out);
    buf_free(&np);
    cbor_decref(&m);
    cbor_decref(&top);
}

static cl_err verify_rewritten(cl_slice doc, const char *field, edit_mode mode,
                               cbor_item_t *value) {
    cl_buf out = CL_BUF_INIT;
    rewrite(doc, field, mode, value, &out);
    cl_err e = verify(buf_slice(&out));
    buf_free(&out);
    return e;
}

static cbor_item_t *zeros(size_t n) {
    uint8_t *z = cl_calloc(1, n ? n : 1);
    cbor_item_t *it = cbor_build_bytestring(z, n);
    free(z);
    return it;
}

static cbor_item_t *pcr_map(uint64_t key, size_t len) {
    cbor_item_t *m = cbor_new_definite_map(1);
    put(m, cbor_build_uint64(key), zeros(len));
    return m;
}

static cbor_item_t *bytes_array(size_t n, cl_slice each) {
    cbor_item_t *a = cbor_new_definite_array(n);
    for (size_t i = 0; i < n; i++)
        push(a, bytes_item(each));
    return a;
}

/* ---- the root ---- */

static void test_root_files(void **s) {
    (void)s;
    char *dir = keys_path("a");
    char *key = cl_sprintf("%s/attest-root.key", dir);
    char *pem = cl_sprintf("%s/attest-root.pem", dir);
    struct stat st;
    assert_int_equal(stat(key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(stat(pem, &st), 0);
    cl_buf text = CL_BUF_INIT;
    assert_int_equal(file_read_all(key, &text, 65536), CL_OK);
    assert_non_null(strstr(buf_cstr(&text), "-----BEGIN PRIVATE KEY-----")); /* PKCS#8 */
    buf_free_secret(&text);
    free(key);
    free(pem);
    free(dir);
}

static void test_root_persists(void **s) {
    (void)s;
    cl_buf doc = CL_BUF_INIT;
    signed_doc(root_a, 0, &doc);
    attest_root *again = open_root("a");
    assert_true(slice_eq(attest_root_cert_der(again), attest_root_cert_der(root_a)));
    /* a document from the earlier open verifies against the reopened root */
    assert_int_equal(verify_at(buf_slice(&doc), again, time_now()), CL_OK);
    /* and a new leaf (new open) signs documents that verify against the old one */
    buf_clear(&doc);
    signed_doc(again, 0, &doc);
    assert_int_equal(verify(buf_slice(&doc)), CL_OK);
    attest_root_close(again);
    buf_free(&doc);
    assert_false(slice_eq(attest_root_cert_der(root_a), attest_root_cert_der(root_b)));
}

/* Several processes opening a fresh dir at once agree on one root. */
static void test_root_concurrent_create(void **s) {
    (void)s;
    enum { N = 4 };
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    char *dir = keys_path("race");
    for (int i = 0; i < N; i++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            attest_root *r = NULL;
            uint8_t h[CRYPTO_SHA256_LEN] = {0};
            if (attest_root_open(dir, &r) == CL_OK) crypto_sha256(attest_root_cert_der(r), h);
            _exit(write(fds[1], h, sizeof h) == sizeof h ? 0 : 1);
        }
    }
    close(fds[1]);
    uint8_t first[CRYPTO_SHA256_LEN], h[CRYPTO_SHA256_LEN];
    for (int i = 0; i < N; i++) {
        assert_int_equal(read(fds[0], h, sizeof h), sizeof h);
        if (i == 0) memcpy(first, h, sizeof h);
        assert_memory_equal(h, first, sizeof h);
    }
    close(fds[0]);
    for (int i = 0; i < N; i++) {
        int st = 0;
        wait(&st);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    attest_root *r = open_root("race");
    uint8_t mine[CRYPTO_SHA256_LEN];
    crypto_sha256(attest_root_cert_der(r), mine);
    assert_memory_equal(mine, first, sizeof mine);
    attest_root_close(r);
    free(dir);
}

static void test_root_damaged_refused(void **s) {
    (void)s;
    attest_root *r = open_root("damaged");
    attest_root_close(r);
    char *dir = keys_path("damaged");
    char *key = cl_sprintf("%s/attest-root.key", dir);
    assert_int_equal(file_write_atomic(key, slice_cstr("not a key\n"), 0600), CL_OK);
    assert_int_equal(attest_root_open(dir, &r), CL_ERR_CRYPTO);
    assert_null(r);
    free(key);
    free(dir);
}

/* ---- round trip ---- */

static void test_round_trip(void **s) {
    (void)s;
    attest_doc d;
    sample_doc(&d);
    EVP_PKEY *k = rsa_key(2048);
    spki_of(k, &d.public_key);
    EVP_PKEY_free(k);
    cl_buf doc = CL_BUF_INIT;
    assert_int_equal(attest_sign(root_a, &d, &doc), CL_OK);
    time_t now = time_now();
    attest_doc got;
    char err[256];
    assert_int_equal(
        attest_verify(buf_slice(&doc), attest_root_cert_der(root_a), now, &got, err, sizeof err),
        CL_OK);
    assert_string_equal(got.module_id, "app-under-test");
    assert_true(got.timestamp_ms / 1000 + 2 >= (uint64_t)now);
    assert_true(got.timestamp_ms / 1000 <= (uint64_t)now + 1);
    assert_int_equal(got.pcr_present, 0x7);
    assert_memory_equal(got.pcrs, d.pcrs, sizeof got.pcrs);
    assert_true(slice_eq(buf_slice(&got.public_key), buf_slice(&d.public_key)));
    assert_true(slice_eq(buf_slice(&got.user_data), slice_cstr("user data")));
    assert_true(slice_eq(buf_slice(&got.nonce), slice_cstr("nonce-123")));
    attest_doc_free(&got);
    /* the COSE_Sign1 shape of Nitro: array(4), protected = bstr(a1 01 38 22) */
    static const uint8_t head[] = {0x84, 0x44, 0xa1, 0x01, 0x38, 0x22, 0xa0};
    assert_memory_equal(doc.ptr, head, sizeof head);
    /* tag 18 (COSE_Sign1) in front is accepted */
    cl_buf tagged = CL_BUF_INIT;
    buf_append_byte(&tagged, 0xd2);
    buf_append_slice(&tagged, buf_slice(&doc));
    assert_int_equal(verify(buf_slice(&tagged)), CL_OK);
    /* another tag is not, nor tag 18 twice */
    tagged.ptr[0] = 0xd1;
    assert_int_equal(verify(buf_slice(&tagged)), CL_ERR_INVALID);
    buf_clear(&tagged);
    buf_append(&tagged, "\xd2\xd2", 2);
    buf_append_slice(&tagged, buf_slice(&doc));
    assert_int_equal(verify(buf_slice(&tagged)), CL_ERR_INVALID);
    /* tag 18 in its two-byte encoding */
    buf_clear(&tagged);
    buf_append(&tagged, "\xd8\x12", 2);
    buf_append_slice(&tagged, buf_slice(&doc));
    assert_int_equal(verify(buf_slice(&tagged)), CL_OK);
    tagged.ptr[1] = 0x13;
    assert_int_equal(verify(buf_slice(&tagged)), CL_ERR_INVALID);
    buf_free(&tagged);
    buf_free(&doc);
    attest_doc_free(&d);
}

static void test_minimal_doc(void **s) {
    (void)s;
    attest_doc d = {0}; /* empty module id, no PCRs, nil optional fields */
    cl_buf doc = CL_BUF_INIT;
    assert_int_equal(attest_sign(root_a, &d, &doc), CL_OK);
    attest_doc got;
    char err[256];
    assert_int_equal(attest_verify(buf_slice(&doc), attest_root_cert_der(root_a), time_now(), &got,
                                   err, sizeof err),
                     CL_OK);
    assert_int_equal(got.pcr_present, 0);
    assert_int_equal(got.public_key.len + got.user_data.len + got.nonce.len, 0);
    char hex[ATTEST_PCR_LEN * 2 + 1];
    assert_false(attest_pcr_hex(&got, 0, hex));
    attest_doc_free(&got);
    buf_free(&doc);
}

static void test_pcr_hex(void **s) {
    (void)s;
    attest_doc d;
    sample_doc(&d);
    char hex[ATTEST_PCR_LEN * 2 + 1];
    assert_true(attest_pcr_hex(&d, 0, hex));
    assert_string_equal(hex, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
                             "202122232425262728292a2b2c2d2e2f");
    assert_true(attest_pcr_hex(&d, 2, hex));
    assert_int_equal(strspn(hex, "0"), 96);
    assert_false(attest_pcr_hex(&d, 3, hex));
    assert_false(attest_pcr_hex(&d, -1, hex));
    assert_false(attest_pcr_hex(&d, ATTEST_PCR_COUNT, hex));
    attest_doc_free(&d);
}

static void test_sign_refuses_bad_input(void **s) {
    (void)s;
    attest_doc d;
    sample_doc(&d);
    cl_buf doc = CL_BUF_INIT;
    memset(d.module_id, 'x', sizeof d.module_id); /* no terminator */
    assert_int_equal(attest_sign(root_a, &d, &doc), CL_ERR_INVALID);
    strcpy(d.module_id, "\xff\xfe");
    assert_int_equal(attest_sign(root_a, &d, &doc), CL_ERR_INVALID);
    strcpy(d.module_id, "ok");
    buf_append_cstr(&d.public_key, "not a key");
    assert_int_equal(attest_sign(root_a, &d, &doc), CL_ERR_INVALID);
    buf_clear(&d.public_key);
    uint8_t big[1025] = {0};
    buf_append(&d.nonce, big, sizeof big);
    assert_int_equal(attest_sign(root_a, &d, &doc), CL_ERR_INVALID);
    assert_int_equal(doc.len, 0);
    attest_doc_free(&d);
}

/* ---- tampering and trust ---- */

static void test_tampered_bytes(void **s) {
    (void)s;
    cl_buf doc = CL_BUF_INIT;
    signed_doc(root_a, 0, &doc);
    assert_int_equal(verify(buf_slice(&doc)), CL_OK);
    /* a payload byte inside module_id: still well formed, signature fails */
    uint8_t *p = memmem(doc.ptr, doc.len, "app-under-test", 14);
    assert_non_null(p);
    p[0] = 'b';
    assert_int_equal(verify(buf_slice(&doc)), CL_ERR_CRYPTO);
    p[0] = 'a';
    /* a PCR0 byte: PCR0 is 00 01 02 ... 2f */
    static const uint8_t pcr0_head[] = {0x58, 0x30, 0x00, 0x01, 0x02, 0x03};
    p = memmem(doc.ptr, doc.len, pcr0_head, sizeof pcr0_head);
    assert_non_null(p);
    p[5] ^= 0x80;
    assert_int_equal(verify(buf_slice(&doc)), CL_ERR_CRYPTO);
    p[5] ^= 0x80;
    /* the signature */
    doc.ptr[doc.len - 1] ^= 0x01;
    assert_int_equal(verify(buf_slice(&doc)), CL_ERR_CRYPTO);
    doc.ptr[doc.len - 1] ^= 0x01;
    doc.ptr[doc.len - 96] ^= 0x80; /* r */
    assert_int_equal(verify(buf_slice(&doc)), CL_ERR_CRYPTO);
    doc.ptr[doc.len - 96] ^= 0x80;
    assert_int_equal(verify(buf_slice(&doc)), CL_OK);
    /* no single flipped bit anywhere gets through */
    for (size_t i = 0; i < doc.len; i++) {
        doc.ptr[i] ^= 0x04;
        assert_int_not_equal(verify(buf_slice(&doc)), CL_OK);
        doc.ptr[i] ^= 0x04;
    }
    buf_free(&doc);
}

static void test_wrong_root(void **s) {
    (void)s;
    cl_buf doc = CL_BUF_INIT;
    signed_doc(root_b, 0, &doc);
    assert_int_equal(verify_at(buf_slice(&doc), root_b, time_now()), CL_OK);
    assert_int_equal(verify(buf_slice(&doc)), CL_ERR_CRYPTO); /* cabundle[0] is B's root */
    /* B's leaf presented under A's root: the chain fails */
    cl_buf forged = CL_BUF_INIT;
    cl_slice a_root = attest_root_cert_der(root_a);
    rewrite(buf_slice(&doc), "cabundle", EDIT_REPLACE, bytes_array(1, a_root), &forged);
    assert_int_equal(verify(buf_slice(&forged)), CL_ERR_CRYPTO);
    buf_clear(&forged);
    /* A's root certificate as the leaf, B's as cabundle[0]: not the trusted root */
    cl_buf own = CL_BUF_INIT;
    signed_doc(root_a, 0, &own);
    rewrite(buf_slice(&own), "cabundle", EDIT_REPLACE, bytes_array(1, attest_root_cert_der(root_b)),
            &forged);
    assert_int_equal(verify(buf_slice(&forged)), CL_ERR_CRYPTO);
    buf_clear(&forged);
    /* A's own chain with a stray extra certificate still needs A's leaf signature */
    cbor_item_t *two = cbor_new_definite_array(2);
    push(two, bytes_item(a_root));
    push(two, bytes_item(attest_root_cert_der(root_b)));
    rewrite(buf_slice(&own), "cabundle", EDIT_REPLACE, two, &forged);
    assert_int_equal(verify(buf_slice(&forged)), CL_ERR_CRYPTO);
    /* an empty trusted root matches nothing */
    attest_doc d;
    char err[128];
    assert_int_equal(attest_verify(buf_slice(&own), CL_SLICE_NULL, time_now(), &d, err, sizeof err),
                     CL_ERR_CRYPTO);
    buf_free(&own);
    buf_free(&forged);
    buf_free(&doc);
}

/* ---- time ---- */

static void test_freshness(void **s) {
    (void)s;
    time_t now = time_now();
    cl_buf doc = CL_BUF_INIT;
    signed_doc(root_a, (uint64_t)now * 1000, &doc);
    assert_int_equal(verify_at(buf_slice(&doc), root_a, now), CL_OK);
    assert_int_equal(verify_at(buf_slice(&doc), root_a, now + ATTEST_MAX_AGE_SECONDS), CL_OK);
    /* stale while the leaf is still valid */
    assert_int_equal(verify_at(buf_slice(&doc), root_a, now + ATTEST_MAX_AGE_SECONDS + 1),
                     CL_ERR_EXPIRED);
    /* far later: the leaf itself has expired too */
    assert_int_equal(verify_at(buf_slice(&doc), root_a, now + 86400), CL_ERR_EXPIRED);
    /* before the leaf was issued */
    assert_int_equal(verify_at(buf_slice(&doc), root_a, now - 86400), CL_ERR_EXPIRED);
    buf_clear(&doc);
    /* signed with an old timestamp */
    signed_doc(root_a, ((uint64_t)now - ATTEST_MAX_AGE_SECONDS - 1) * 1000, &doc);
    assert_int_equal(verify_at(buf_slice(&doc), root_a, now), CL_ERR_EXPIRED);
    buf_clear(&doc);
    signed_doc(root_a, ((uint64_t)now - ATTEST_MAX_AGE_SECONDS + 1) * 1000, &doc);
    assert_int_equal(verify_at(buf_slice(&doc), root_a, now), CL_OK);
    buf_clear(&doc);
    /* from the future: 60 s of skew is tolerated, an hour is not */
    signed_doc(root_a, ((uint64_t)now + 30) * 1000, &doc);
    assert_int_equal(verify_at(buf_slice(&doc), root_a, now), CL_OK);
    buf_clear(&doc);
    signed_doc(root_a, ((uint64_t)now + 3600) * 1000, &doc);
    assert_int_equal(verify_at(buf_slice(&doc), root_a, now), CL_ERR_EXPIRED);
    buf_clear(&doc);
    signed_doc(root_a, UINT64_MAX, &doc);
    assert_int_equal(verify_at(buf_slice(&doc), root_a, now), CL_ERR_EXPIRED);
    buf_free(&doc);
}

/* ---- malformed payloads (signature untouched: they fail before crypto) ---- */

static const char *const REQUIRED[] = {"module_id", "digest",      "timestamp",
                                       "pcrs",      "certificate", "cabundle"};
static const char *const OPTIONAL[] = {"public_key", "user_data", "nonce"};

static void test_missing_fields(void **s) {
    (void)s;
    cl_buf doc = CL_BUF_INIT;
    signed_doc(root_a, 0, &doc);
    for (size_t i = 0; i < sizeof REQUIRED / sizeof *REQUIRED; i++)
        assert_int_equal(verify_rewritten(buf_slice(&doc), REQUIRED[i], EDIT_REMOVE, NULL),
                         CL_ERR_INVALID);
    /* optional fields may be absent: parsing passes, the (now wrong) signature fails */
    for (size_t i = 0; i < sizeof OPTIONAL / sizeof *OPTIONAL; i++)
        assert_int_equal(verify_rewritten(buf_slice(&doc), OPTIONAL[i], EDIT_REMOVE, NULL),
                         CL_ERR_CRYPTO);
    /* every field given twice */
    for (size_t i = 0; i < sizeof REQUIRED / sizeof *REQUIRED; i++)
        assert_int_equal(verify_rewritten(buf_slice(&doc), REQUIRED[i], EDIT_ADD, cbor_new_null()),
                         CL_ERR_INVALID);
    assert_int_equal(verify_rewritten(buf_slice(&doc), "extra", EDIT_ADD, cbor_new_null()),
                     CL_ERR_INVALID);
    buf_free(&doc);
}

static void test_wrong_types(void **s) {
    (void)s;
    cl_buf doc = CL_BUF_INIT;
    signed_doc(root_a, 0, &doc);
    char long_id[200];
    memset(long_id, 'm', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = 0;
    cbor_item_t *pcr17 = cbor_new_definite_map(17);
    for (uint8_t i = 0; i < 17; i++)
        put(pcr17, cbor_build_uint8(i), zeros(ATTEST_PCR_LEN));
    cbor_item_t *pcr_dup = cbor_new_definite_map(2);
    put(pcr_dup, cbor_build_uint8(1), zeros(ATTEST_PCR_LEN));
    put(pcr_dup, cbor_build_uint8(1), zeros(ATTEST_PCR_LEN));
    cbor_item_t *pcr_text_key = cbor_new_definite_map(1);
    put(pcr_text_key, cbor_build_string("0"), zeros(ATTEST_PCR_LEN));
    cbor_item_t *pcr_text_val = cbor_new_definite_map(1);
    put(pcr_text_val, cbor_build_uint8(0), cbor_build_string("00"));
    cbor_item_t *bundle_text = cbor_new_definite_array(1);
    push(bundle_text, cbor_build_string("cert"));
    struct {
        const char *field;
        cbor_item_t *value;
    } cases[] = {
        {"module_id", cbor_build_uint8(5)},
        {"module_id", cbor_build_bytestring((const uint8_t *)"app", 3)},
        {"module_id", cbor_build_string(long_id)},
        {"module_id", cbor_build_stringn("a\0b", 3)},
        {"module_id", cbor_build_stringn("\xc3\x28", 2)},
        {"module_id", cbor_new_null()},
        {"digest", cbor_build_string("SHA256")},
        {"digest", cbor_build_bytestring((const uint8_t *)"SHA384", 6)},
        {"timestamp", cbor_build_negint8(5)},
        {"timestamp", cbor_build_string("1700000000000")},
        {"timestamp", cbor_build_float8(1.7e12)},
        {"pcrs", cbor_new_definite_array(0)},
        {"pcrs", pcr_map(16, ATTEST_PCR_LEN)},
        {"pcrs", pcr_map(UINT64_MAX, ATTEST_PCR_LEN)},
        {"pcrs", pcr_map(0, ATTEST_PCR_LEN - 1)},
        {"pcrs", pcr_map(0, ATTEST_PCR_LEN + 1)},
        {"pcrs", pcr_map(0, 32)},
        {"pcrs", pcr17},
        {"pcrs", pcr_dup},
        {"pcrs", pcr_text_key},
        {"pcrs", pcr_text_val},
        {"certificate", cbor_build_string("cert")},
        {"certificate", zeros(0)},
        {"certificate", zeros(5000)},
        {"certificate", zeros(100)}, /* well typed, not DER */
        {"cabundle", cbor_new_definite_array(0)},
        {"cabundle", bytes_array(9, attest_root_cert_der(root_a))},
        {"cabundle", bundle_text},
        {"cabundle", bytes_item(attest_root_cert_der(root_a))},
        {"public_key", zeros(64)},
        {"public_key", zeros(0)},
        {"public_key", cbor_build_uint8(1)},
        {"public_key", zeros(2000)},
        {"user_data", cbor_build_string("text")},
        {"user_data", zeros(1025)},
        {"nonce", cbor_build_bool(false)},
        {"nonce", zeros(1025)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cl_err e = verify_rewritten(buf_slice(&doc), cases[i].field, EDIT_REPLACE, cases[i].value);
        if (e != CL_ERR_INVALID)
            fprintf(stderr, "case %zu (%s): %s\n", i, cases[i].field, cl_err_str(e));
        assert_int_equal(e, CL_ERR_INVALID);
    }
    /* a certificate after cabundle[0] that does not parse */
    cbor_item_t *bad_tail = cbor_new_definite_array(2);
    push(bad_tail, bytes_item(attest_root_cert_der(root_a)));
    push(bad_tail, zeros(10));
    assert_int_equal(verify_rewritten(buf_slice(&doc), "cabundle", EDIT_REPLACE, bad_tail),
                     CL_ERR_INVALID);
    /* well-typed changes get through the parser and fail the signature */
    assert_int_equal(verify_rewritten(buf_slice(&doc), "user_data", EDIT_REPLACE, cbor_new_null()),
                     CL_ERR_CRYPTO);
    assert_int_equal(
        verify_rewritten(buf_slice(&doc), "pcrs", EDIT_REPLACE, pcr_map(15, ATTEST_PCR_LEN)),
        CL_ERR_CRYPTO);
    buf_free(&doc);
}

/* ---- malformed envelopes and raw bytes ---- */

static void test_cose_envelope(void **s) {
    (void)s;
    cl_buf doc = CL_BUF_INIT, out = CL_BUF_INIT;
    signed_doc(root_a, 0, &doc);
    cl_slice prot, payload, sig;
    cbor_item_t *top = split(buf_slice(&doc), &prot, &payload, &sig);
    /* rebuilt unchanged: still valid */
    cose(prot, payload, sig, &out);
    assert_int_equal(verify(buf_slice(&out)), CL_OK);
    buf_clear(&out);
    /* ES256 (-7) in the protected header */
    static const uint8_t es256[] = {0xa1, 0x01, 0x26};
    cose(slice_of(es256, 3), payload, sig, &out);
    assert_int_equal(verify(buf_slice(&out)), CL_ERR_INVALID);
    buf_clear(&out);
    /* protected header with an extra entry, or empty, or not CBOR */
    static const uint8_t extra[] = {0xa2, 0x01, 0x38, 0x22, 0x04, 0x41, 0x00};
    cose(slice_of(extra, sizeof extra), payload, sig, &out);
    assert_int_equal(verify(buf_slice(&out)), CL_ERR_INVALID);
    buf_clear(&out);
    cose(CL_SLICE_NULL, payload, sig, &out);
    assert_int_equal(verify(buf_slice(&out)), CL_ERR_INVALID);
    buf_clear(&out);
    cose(slice_of("\xff", 1), payload, sig, &out);
    assert_int_equal(verify(buf_slice(&out)), CL_ERR_INVALID);
    buf_clear(&out);
    /* signature of the wrong length, payload not a map / not CBOR */
    cose(prot, payload, slice_sub(sig, 0, 95), &out);
    assert_int_equal(verify(buf_slice(&out)), CL_ERR_INVALID);
    buf_clear(&out);
    cose(prot, slice_of("\x80", 1), sig, &out);
    assert_int_equal(verify(buf_slice(&out)), CL_ERR_INVALID);
    buf_clear(&out);
    cose(prot, slice_sub(payload, 0, payload.len - 1), sig, &out);
    assert_int_equal(verify(buf_slice(&out)), CL_ERR_INVALID);
    buf_clear(&out);
    /* an array of 3, and unprotected not a map */
    cbor_item_t *a = cbor_new_definite_array(3);
    push(a, bytes_item(prot));
    push(a, cbor_new_definite_map(0));
    push(a, bytes_item(payload));
    serialize(a, &out);
    assert_int_equal(verify(buf_slice(&out)), CL_ERR_INVALID);
    buf_clear(&out);
    a = cbor_new_definite_array(4);
    push(a, bytes_item(prot));
    push(a, cbor_new_null());
    push(a, bytes_item(payload));
    push(a, bytes_item(sig));
    serialize(a, &out);
    assert_int_equal(verify(buf_slice(&out)), CL_ERR_INVALID);
    buf_clear(&out);
    /* trailing byte after a valid document */
    buf_append_slice(&out, buf_slice(&doc));
    buf_append_byte(&out, 0x00);
    assert_int_equal(verify(buf_slice(&out)), CL_ERR_INVALID);
    cbor_decref(&top);
    buf_free(&out);
    buf_free(&doc);
}

static void test_truncated(void **s) {
    (void)s;
    cl_buf doc = CL_BUF_INIT;
    signed_doc(root_a, 0, &doc);
    for (size_t n = 0; n < doc.len; n++)
        assert_int_equal(verify(slice_of(doc.ptr, n)), CL_ERR_INVALID);
    assert_int_equal(verify(buf_slice(&doc)), CL_OK);
    buf_free(&doc);
}

static void test_hostile_bytes(void **s) {
    (void)s;
    cl_buf b = CL_BUF_INIT;
    /* over 64 KiB, even if it were a document */
    signed_doc(root_a, 0, &b);
    uint8_t *pad = cl_calloc(1, 65536);
    buf_append(&b, pad, 65536);
    free(pad);
    assert_int_equal(verify(buf_slice(&b)), CL_ERR_INVALID);
    buf_clear(&b);
    /* nesting bomb: [[[[...]]]] */
    for (int i = 0; i < 60000; i++)
        buf_append_byte(&b, 0x81);
    buf_append_byte(&b, 0x00);
    assert_int_equal(verify(buf_slice(&b)), CL_ERR_INVALID);
    buf_clear(&b);
    /* tag bomb */
    for (int i = 0; i < 30000; i++)
        buf_append(&b, "\xd2", 1);
    buf_append_byte(&b, 0x00);
    assert_int_equal(verify(buf_slice(&b)), CL_ERR_INVALID);
    buf_clear(&b);
    /* declared counts far beyond the input: array of 2^40, map of 2^32 */
    static const uint8_t huge_array[] = {0x9b, 0, 0, 1, 0, 0, 0, 0, 0, 0x00};
    static const uint8_t huge_map[] = {0xba, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00};
    static const uint8_t huge_bytes[] = {0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t indefinite[] = {0x9f, 0x40, 0x40, 0x40, 0x40, 0xff};
    static const uint8_t indef_bytes[] = {0x84, 0x5f, 0x41, 0x00, 0xff, 0xa0, 0x40, 0x40};
    static const uint8_t simple[] = {0xf8, 0x20};
    static const uint8_t reserved[] = {0x1c};
    static const uint8_t lone_break[] = {0xff};
    const cl_slice cases[] = {
        slice_of(huge_array, sizeof huge_array),
        slice_of(huge_map, sizeof huge_map),
        slice_of(huge_bytes, sizeof huge_bytes),
        slice_of(indefinite, sizeof indefinite),
        slice_of(indef_bytes, sizeof indef_bytes),
        slice_of(simple, sizeof simple),
        slice_of(reserved, sizeof reserved),
        slice_of(lone_break, sizeof lone_break),
        slice_cstr("not cbor at all"),
        CL_SLICE_NULL,
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        assert_int_equal(verify(cases[i]), CL_ERR_INVALID);
    /* a NULL err buffer is fine */
    attest_doc d;
    assert_int_equal(
        attest_verify(slice_cstr("x"), attest_root_cert_der(root_a), time_now(), &d, NULL, 0),
        CL_ERR_INVALID);
    buf_free(&b);
}

/* ---- CMS envelope ---- */

/* The same envelope opens with the openssl CLI and the private key alone:
 *   openssl cms -decrypt -inform DER -in env.der -inkey key.pem
 * (env.der: the bytes crypto_cms_envelope appended; key.pem: the RSA key). */
static void cms_open(cl_slice env, EVP_PKEY *key, cl_buf *plain) {
    const unsigned char *p = env.ptr;
    CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)env.len);
    assert_non_null(cms);
    assert_ptr_equal(p, env.ptr + env.len);
    assert_int_equal(OBJ_obj2nid(CMS_get0_type(cms)), NID_pkcs7_enveloped);
    STACK_OF(CMS_RecipientInfo) *ris = CMS_get0_RecipientInfos(cms);
    assert_int_equal(sk_CMS_RecipientInfo_num(ris), 1);
    CMS_RecipientInfo *ri = sk_CMS_RecipientInfo_value(ris, 0);
    assert_int_equal(CMS_RecipientInfo_type(ri), CMS_RECIPINFO_TRANS);
    ASN1_OCTET_STRING *keyid = NULL;
    X509_NAME *issuer = NULL;
    ASN1_INTEGER *serial = NULL;
    assert_int_equal(CMS_RecipientInfo_ktri_get0_signer_id(ri, &keyid, &issuer, &serial), 1);
    assert_non_null(keyid); /* subjectKeyIdentifier rid */
    assert_null(issuer);
    X509_ALGOR *alg = NULL;
    CMS_RecipientInfo_ktri_get0_algs(ri, NULL, NULL, &alg);
    const ASN1_OBJECT *obj = NULL;
    X509_ALGOR_get0(&obj, NULL, NULL, alg);
    assert_int_equal(OBJ_obj2nid(obj), NID_rsaesOaep);
    BIO *out = BIO_new(BIO_s_mem());
    assert_int_equal(CMS_decrypt(cms, key, NULL, NULL, out, CMS_BINARY), 1);
    char *data = NULL;
    long n = BIO_get_mem_data(out, &data);
    buf_append(plain, data, (size_t)n);
    BIO_free(out);
    CMS_ContentInfo_free(cms);
}

static void test_cms_round_trip(void **s) {
    (void)s;
    EVP_PKEY *key = rsa_key(2048);
    cl_buf spki = CL_BUF_INIT, env = CL_BUF_INIT, plain = CL_BUF_INIT;
    spki_of(key, &spki);
    uint8_t secret[32];
    crypto_random(secret, sizeof secret);
    buf_append_cstr(&env, "prefix"); /* appends */
    assert_int_equal(crypto_cms_envelope(buf_slice(&spki), slice_of(secret, sizeof secret), &env),
                     CL_OK);
    assert_memory_equal(env.ptr, "prefix", 6);
    cms_open(slice_sub(buf_slice(&env), 6, env.len - 6), key, &plain);
    assert_true(slice_eq(buf_slice(&plain), slice_of(secret, sizeof secret)));
    /* each envelope has a fresh content key */
    cl_buf env2 = CL_BUF_INIT;
    assert_int_equal(crypto_cms_envelope(buf_slice(&spki), slice_of(secret, sizeof secret), &env2),
                     CL_OK);
    assert_false(slice_eq(slice_sub(buf_slice(&env), 6, env.len - 6), buf_slice(&env2)));
    /* the wrong private key cannot open it */
    EVP_PKEY *other = rsa_key(2048);
    const unsigned char *p = env2.ptr;
    CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)env2.len);
    BIO *out = BIO_new(BIO_s_mem());
    char *data = NULL;
    if (CMS_decrypt(cms, other, NULL, NULL, out, CMS_BINARY) == 1) /* MMA defence: random key */
        assert_false(BIO_get_mem_data(out, &data) == (long)sizeof secret &&
                     memcmp(data, secret, sizeof secret) == 0);
    BIO_free(out);
    CMS_ContentInfo_free(cms);
    /* empty plaintext */
    buf_clear(&env2);
    buf_clear(&plain);
    assert_int_equal(crypto_cms_envelope(buf_slice(&spki), CL_SLICE_NULL, &env2), CL_OK);
    cms_open(buf_slice(&env2), key, &plain);
    assert_int_equal(plain.len, 0);
    EVP_PKEY_free(other);
    EVP_PKEY_free(key);
    buf_free(&spki);
    buf_free(&env);
    buf_free(&env2);
    buf_free(&plain);
}

static void test_cms_refuses_non_rsa(void **s) {
    (void)s;
    cl_buf spki = CL_BUF_INIT, env = CL_BUF_INIT;
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(ec);
    spki_of(ec, &spki);
    assert_int_equal(crypto_cms_envelope(buf_slice(&spki), slice_cstr("x"), &env), CL_ERR_INVALID);
    buf_clear(&spki);
    EVP_PKEY *small = rsa_key(1024);
    spki_of(small, &spki);
    assert_int_equal(crypto_cms_envelope(buf_slice(&spki), slice_cstr("x"), &env), CL_ERR_INVALID);
    /* trailing garbage after a good key, junk, nothing */
    buf_clear(&spki);
    EVP_PKEY *rsa = rsa_key(2048);
    spki_of(rsa, &spki);
    buf_append_byte(&spki, 0);
    assert_int_equal(crypto_cms_envelope(buf_slice(&spki), slice_cstr("x"), &env), CL_ERR_INVALID);
    assert_int_equal(crypto_cms_envelope(slice_cstr("junk"), slice_cstr("x"), &env),
                     CL_ERR_INVALID);
    assert_int_equal(crypto_cms_envelope(CL_SLICE_NULL, slice_cstr("x"), &env), CL_ERR_INVALID);
    assert_int_equal(env.len, 0);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(small);
    EVP_PKEY_free(ec);
    buf_free(&spki);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_root_files),
        cmocka_unit_test(test_root_persists),
        cmocka_unit_test(test_root_concurrent_create),
        cmocka_unit_test(test_root_damaged_refused),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_minimal_doc),
        cmocka_unit_test(test_pcr_hex),
        cmocka_unit_test(test_sign_refuses_bad_input),
        cmocka_unit_test(test_tampered_bytes),
        cmocka_unit_test(test_wrong_root),
        cmocka_unit_test(test_freshness),
        cmocka_unit_test(test_missing_fields),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_cose_envelope),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_hostile_bytes),
        cmocka_unit_test(test_cms_round_trip),
        cmocka_unit_test(test_cms_refuses_non_rsa),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
