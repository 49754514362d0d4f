/* test_ecies.c — encryption to an enclave's P-384 key (src/crypto/ecies.c):
 * round trip (empty and 5 KiB plaintexts), the wire length, a fresh ephemeral
 * key per message, and every way it must not open: another private key, any
 * tampered byte (point, iv, ciphertext, tag), another aad, short input; a key
 * that is not P-384 is refused by seal. A message sealed by an independent
 * implementation of docs/attestation.md's wire (Python `cryptography`: ECDH,
 * HKDF(SHA384, salt = E, info = "cloister-ecies-v1"), AESGCM) opens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "crypto/crypto.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string.h>

static EVP_PKEY *keygen(const char *curve) {
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
    assert_non_null(k);
    return k;
}

static void spki_of(EVP_PKEY *k, cl_buf *out) {
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(k, &der);
    assert_true(n > 0);
    buf_append(out, der, (size_t)n);
    OPENSSL_free(der);
}

static cl_slice AAD = {(const uint8_t *)"task-1", 6};

static void seal_to(EVP_PKEY *k, cl_slice pt, cl_buf *sealed) {
    cl_buf spki = CL_BUF_INIT;
    spki_of(k, &spki);
    assert_int_equal(crypto_ecies_seal(buf_slice(&spki), AAD, pt, sealed), CL_OK);
    buf_free(&spki);
}

static void test_round_trip(void **st) {
    (void)st;
    EVP_PKEY *k = keygen("P-384");
    uint8_t big[5000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7);
    cl_slice pts[] = {slice_cstr("1;1;1;1"), CL_SLICE_NULL, slice_of(big, sizeof big)};
    for (size_t i = 0; i < 3; i++) {
        cl_buf sealed = CL_BUF_INIT, out = CL_BUF_INIT;
        buf_append_cstr(&sealed, "prefix"); /* seal appends */
        seal_to(k, pts[i], &sealed);
        assert_int_equal(sealed.len, 6 + CRYPTO_ECIES_OVERHEAD + pts[i].len);
        assert_int_equal(sealed.ptr[6], 0x04); /* uncompressed point */
        cl_slice s = slice_sub(buf_slice(&sealed), 6, sealed.len - 6);
        assert_int_equal(crypto_ecies_open(k, AAD, s, &out), CL_OK);
        assert_int_equal(out.len, pts[i].len);
        if (pts[i].len) assert_memory_equal(out.ptr, pts[i].ptr, pts[i].len);
        buf_free_secret(&out);
        buf_free(&sealed);
    }
    EVP_PKEY_free(k);
}

static void test_fresh_each_time(void **st) {
    (void)st;
    EVP_PKEY *k = keygen("P-384");
    cl_buf a = CL_BUF_INIT, b = CL_BUF_INIT;
    seal_to(k, slice_cstr("same"), &a);
    seal_to(k, slice_cstr("same"), &b);
    assert_int_equal(a.len, b.len);
    assert_memory_not_equal(a.ptr, b.ptr, CRYPTO_ECIES_POINT_LEN); /* new ephemeral key */
    assert_memory_not_equal(a.ptr + CRYPTO_ECIES_POINT_LEN, b.ptr + CRYPTO_ECIES_POINT_LEN,
                            a.len - CRYPTO_ECIES_POINT_LEN);
    buf_free(&a);
    buf_free(&b);
    EVP_PKEY_free(k);
}

static void test_wrong_key(void **st) {
    (void)st;
    EVP_PKEY *k = keygen("P-384"), *other = keygen("P-384");
    cl_buf sealed = CL_BUF_INIT, out = CL_BUF_INIT;
    seal_to(k, slice_cstr("secret"), &sealed);
    assert_int_equal(crypto_ecies_open(other, AAD, buf_slice(&sealed), &out), CL_ERR_CRYPTO);
    assert_int_equal(out.len, 0);
    buf_free(&sealed);
    buf_free(&out);
    EVP_PKEY_free(k);
    EVP_PKEY_free(other);
}

static void test_tampered(void **st) {
    (void)st;
    EVP_PKEY *k = keygen("P-384");
    cl_buf sealed = CL_BUF_INIT;
    seal_to(k, slice_cstr("secret value"), &sealed);
    /* every byte: point (off-curve or another point), iv, ciphertext, tag */
    for (size_t i = 0; i < sealed.len; i++) {
        cl_buf out = CL_BUF_INIT;
        sealed.ptr[i] ^= 0x01;
        assert_int_equal(crypto_ecies_open(k, AAD, buf_slice(&sealed), &out), CL_ERR_CRYPTO);
        assert_int_equal(out.len, 0);
        sealed.ptr[i] ^= 0x01;
        buf_free(&out);
    }
    cl_buf out = CL_BUF_INIT;
    assert_int_equal(crypto_ecies_open(k, AAD, buf_slice(&sealed), &out), CL_OK);
    buf_free_secret(&out);
    buf_free(&sealed);
    EVP_PKEY_free(k);
}

static void test_wrong_aad(void **st) {
    (void)st;
    EVP_PKEY *k = keygen("P-384");
    cl_buf sealed = CL_BUF_INIT, out = CL_BUF_INIT;
    seal_to(k, slice_cstr("secret"), &sealed);
    assert_int_equal(crypto_ecies_open(k, slice_cstr("task-2"), buf_slice(&sealed), &out),
                     CL_ERR_CRYPTO);
    assert_int_equal(crypto_ecies_open(k, CL_SLICE_NULL, buf_slice(&sealed), &out), CL_ERR_CRYPTO);
    assert_int_equal(out.len, 0);
    buf_free(&sealed);
    buf_free(&out);
    EVP_PKEY_free(k);
}

static void test_short(void **st) {
    (void)st;
    EVP_PKEY *k = keygen("P-384");
    cl_buf sealed = CL_BUF_INIT, out = CL_BUF_INIT;
    seal_to(k, CL_SLICE_NULL, &sealed);
    assert_int_equal(sealed.len, CRYPTO_ECIES_OVERHEAD);
    for (size_t n = 0; n < sealed.len; n++)
        assert_int_equal(crypto_ecies_open(k, AAD, slice_of(sealed.ptr, n), &out), CL_ERR_CRYPTO);
    assert_int_equal(crypto_ecies_open(k, AAD, CL_SLICE_NULL, &out), CL_ERR_CRYPTO);
    assert_int_equal(out.len, 0);
    buf_free(&sealed);
    buf_free(&out);
    EVP_PKEY_free(k);
}

static void test_not_p384(void **st) {
    (void)st;
    EVP_PKEY *p256 = keygen("P-256");
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    cl_buf spki = CL_BUF_INIT, out = CL_BUF_INIT;
    spki_of(p256, &spki);
    assert_int_equal(crypto_ecies_seal(buf_slice(&spki), AAD, slice_cstr("x"), &out),
                     CL_ERR_INVALID);
    buf_clear(&spki);
    spki_of(rsa, &spki);
    assert_int_equal(crypto_ecies_seal(buf_slice(&spki), AAD, slice_cstr("x"), &out),
                     CL_ERR_INVALID);
    assert_int_equal(crypto_ecies_seal(slice_cstr("not der"), AAD, slice_cstr("x"), &out),
                     CL_ERR_INVALID);
    assert_int_equal(out.len, 0);
    /* opening with a non-P-384 private key never works */
    EVP_PKEY *k = keygen("P-384");
    cl_buf sealed = CL_BUF_INIT;
    seal_to(k, slice_cstr("x"), &sealed);
    assert_int_equal(crypto_ecies_open(p256, AAD, buf_slice(&sealed), &out), CL_ERR_CRYPTO);
    buf_free(&sealed);
    buf_free(&spki);
    buf_free(&out);
    EVP_PKEY_free(k);
    EVP_PKEY_free(p256);
    EVP_PKEY_free(rsa);
}

/* Made with Python's cryptography 48 from the spec alone (see the top). */
static const char KAT_KEY[] = "-----BEGIN PRIVATE KEY-----\n"
                              "MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDDPW/rs4xLl00I75J5w\n"
                              "vScyBTXs3Low7hLIGwzCEtYpig+5DHsgHOxyVCkYDivxr7uhZANiAASAzdM9M7D8\n"
                              "INC+J5Gl9lbF5fIY0B82dSQmD6jfmWSaX5QBpfHZy+0gVgpa61JpFXqwqmqToJOn\n"
                              "8jWZwM7BKK4I1Y11GxM+MYIRP+C+kOuoJoDa+Ju1KEDAswhyVvElXHY=\n"
                              "-----END PRIVATE KEY-----\n";
static const char KAT_WIRE[] =
    "049d3ed72a7eab53cb29c4b7ca392933debbc063b7a41ed529ab5f6c30f0bd8d968769aa584a349d915a4548797ee9"
    "2e618a072198b2b0452c5eaf475685149ca232a7823838ff60e180d1aaf61ccaddd730b12db78c801ef4481caf3088"
    "915eb3a3d0f69538410d877c84c0062669b24b4b5876af0cd9f554b054a173798ebaa0e8de48";

static void test_independent_vector(void **st) {
    (void)st;
    BIO *bio = BIO_new_mem_buf(KAT_KEY, -1);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(k);
    cl_buf wire = CL_BUF_INIT, out = CL_BUF_INIT;
    assert_int_equal(hex_decode(&wire, slice_cstr(KAT_WIRE)), CL_OK);
    assert_int_equal(crypto_ecies_open(k, slice_cstr("task-1/secret-1"), buf_slice(&wire), &out),
                     CL_OK);
    assert_int_equal(out.len, 7);
    assert_memory_equal(out.ptr, "1;1;1;1", 7);
    buf_free_secret(&out);
    buf_free(&wire);
    EVP_PKEY_free(k);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip), cmocka_unit_test(test_fresh_each_time),
        cmocka_unit_test(test_wrong_key),  cmocka_unit_test(test_tampered),
        cmocka_unit_test(test_wrong_aad),  cmocka_unit_test(test_short),
        cmocka_unit_test(test_not_p384),   cmocka_unit_test(test_independent_vector),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
