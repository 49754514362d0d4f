/* test_signer_kmskeys.c — KMS-sealed signer keys (src/signer/kmskeys.c): a key
 * seals and unseals under its data key with its pubkey as AAD, and nothing
 * else opens it (another data key, another pubkey, any changed byte); the key
 * set's JSON round-trips and malformed sets are refused with a reason; the
 * Recipient key opens a CMS envelope made for it (as KMS makes
 * CiphertextForRecipient) and not one made for another key; the attestation
 * request speaks the init's framed protocol and fails outside a run; a set loads
 * into a real keyring (and signs), a tampered one loads nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "crypto/crypto.h"
#include "signer/signer.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void fill(uint8_t *p, size_t n, uint8_t v) {
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v + i);
}

static void test_seal_round_trip(void **state) {
    (void)state;
    uint8_t dk[32], pk[48], sk[32], sealed[SIGNER_KMS_SEALED_LEN], out[32], sealed2[60];
    fill(dk, 32, 1);
    fill(pk, 48, 7);
    fill(sk, 32, 9);
    assert_int_equal(signer_kms_seal(dk, pk, sk, sealed), CL_OK);
    assert_int_equal(signer_kms_unseal(dk, pk, sealed, out), CL_OK);
    assert_memory_equal(out, sk, 32);
    /* a fresh iv each time: the same key seals differently */
    assert_int_equal(signer_kms_seal(dk, pk, sk, sealed2), CL_OK);
    assert_memory_not_equal(sealed, sealed2, sizeof sealed);
    /* the secret is not in the sealed bytes */
    assert_null(memmem(sealed, sizeof sealed, sk, 8));
}

static void test_unseal_refuses(void **state) {
    (void)state;
    uint8_t dk[32], pk[48], sk[32], sealed[SIGNER_KMS_SEALED_LEN], out[32];
    fill(dk, 32, 1);
    fill(pk, 48, 7);
    fill(sk, 32, 9);
    assert_int_equal(signer_kms_seal(dk, pk, sk, sealed), CL_OK);
    uint8_t zero[32] = {0};
    /* another pubkey as AAD: a sealed key cannot be moved to another validator */
    uint8_t pk2[48];
    memcpy(pk2, pk, 48);
    pk2[47] ^= 1;
    memset(out, 0xaa, sizeof out);
    assert_int_equal(signer_kms_unseal(dk, pk2, sealed, out), CL_ERR_CRYPTO);
    assert_memory_equal(out, zero, 32);
    /* another data key */
    uint8_t dk2[32];
    memcpy(dk2, dk, 32);
    dk2[0] ^= 0x80;
    assert_int_equal(signer_kms_unseal(dk2, pk, sealed, out), CL_ERR_CRYPTO);
    /* every tampered byte: iv, ciphertext, tag */
    for (size_t i = 0; i < sizeof sealed; i++) {
        sealed[i] ^= 0x01;
        assert_int_equal(signer_kms_unseal(dk, pk, sealed, out), CL_ERR_CRYPTO);
        assert_memory_equal(out, zero, 32);
        sealed[i] ^= 0x01;
    }
    assert_int_equal(signer_kms_unseal(dk, pk, sealed, out), CL_OK);
}

static char *set_text(size_t n, bool dup) {
    signer_kms_set s = {.name = "set-1", .kms_key_id = "arn:aws:kms:us-east-1:1:key/x", .n = n};
    buf_append_cstr(&s.encrypted_data_key, "edk-bytes");
    s.keys = calloc(n ? n : 1, sizeof *s.keys);
    for (size_t i = 0; i < n; i++) {
        fill(s.keys[i].pk, 48, (uint8_t)(dup ? 0 : i * 3));
        fill(s.keys[i].sealed, SIGNER_KMS_SEALED_LEN, (uint8_t)i);
    }
    cl_buf out = CL_BUF_INIT;
    signer_kms_set_json(&s, &out);
    free(s.keys);
    buf_free(&s.encrypted_data_key);
    return buf_take_cstr(&out);
}

static void test_set_json(void **state) {
    (void)state;
    char *text = set_text(3, false), err[200];
    signer_kms_set s;
    assert_int_equal(signer_kms_set_parse(slice_cstr(text), &s, err, sizeof err), CL_OK);
    assert_string_equal(s.name, "set-1");
    assert_string_equal(s.kms_key_id, "arn:aws:kms:us-east-1:1:key/x");
    assert_int_equal(s.n, 3);
    assert_int_equal(s.encrypted_data_key.len, 9);
    cl_buf again = CL_BUF_INIT;
    signer_kms_set_json(&s, &again);
    assert_string_equal(buf_cstr(&again), text);
    buf_free(&again);
    signer_kms_set_free(&s);
    free(text);

    text = set_text(2, true);
    assert_int_equal(signer_kms_set_parse(slice_cstr(text), &s, err, sizeof err), CL_ERR_INVALID);
    assert_non_null(strstr(err, "twice"));
    free(text);
}

static void expect_invalid(const char *text, const char *why) {
    signer_kms_set s;
    char err[200] = "";
    assert_int_equal(signer_kms_set_parse(slice_cstr(text), &s, err, sizeof err), CL_ERR_INVALID);
    if (!strstr(err, why)) fail_msg("%s: got '%s', want '%s'", text, err, why);
    assert_null(s.keys);
}

static void test_set_refused(void **state) {
    (void)state;
    expect_invalid("", "not valid JSON");
    expect_invalid("[]", "JSON object");
    expect_invalid("{\"Name\":\"a b\"}", "Name");
    expect_invalid("{\"Name\":\"a\",\"EncryptedDataKey\":\"AAAA\",\"Keys\":[]}", "KmsKeyId");
    expect_invalid("{\"Name\":\"a\",\"KmsKeyId\":\"k\",\"EncryptedDataKey\":\"!!\",\"Keys\":[]}",
                   "EncryptedDataKey");
    expect_invalid("{\"Name\":\"a\",\"KmsKeyId\":\"k\",\"EncryptedDataKey\":\"AAAA\"}", "Keys");
    expect_invalid("{\"Name\":\"a\",\"KmsKeyId\":\"k\",\"EncryptedDataKey\":\"AAAA\","
                   "\"Keys\":[{\"Pubkey\":\"0x12\",\"Sealed\":\"AAAA\"}]}",
                   "Keys[0].Pubkey");
    char *text = set_text(1, false);
    char *p = strstr(text, "\"Sealed\":\"") + 10;
    p[0] = p[1] = p[2] = p[3] = 'A';
    memmove(p + 4, p + 80, strlen(p + 80) + 1); /* 60 bytes -> 3 */
    expect_invalid(text, "Keys[0].Sealed");
    free(text);
}

static void test_recipient(void **state) {
    (void)state;
    signer_kms_recipient *r = NULL, *other = NULL;
    assert_int_equal(signer_kms_recipient_new(&r), CL_OK);
    assert_int_equal(signer_kms_recipient_new(&other), CL_OK);
    cl_buf spki = CL_BUF_INIT, env = CL_BUF_INIT, plain = CL_BUF_INIT;
    signer_kms_recipient_spki(r, &spki);
    uint8_t dk[32];
    fill(dk, 32, 42);
    assert_int_equal(crypto_cms_envelope(buf_slice(&spki), slice_of(dk, 32), &env), CL_OK);
    assert_int_equal(signer_kms_recipient_open(r, buf_slice(&env), &plain), CL_OK);
    assert_int_equal(plain.len, 32);
    assert_memory_equal(plain.ptr, dk, 32);
    buf_free_secret(&plain);
    assert_int_equal(signer_kms_recipient_open(other, buf_slice(&env), &plain), CL_ERR_CRYPTO);
    assert_int_equal(plain.len, 0);
    ((uint8_t *)env.ptr)[env.len - 5] ^= 1;
    assert_int_equal(signer_kms_recipient_open(r, buf_slice(&env), &plain), CL_ERR_CRYPTO);
    assert_int_equal(signer_kms_recipient_open(r, slice_cstr("junk"), &plain), CL_ERR_CRYPTO);
    buf_free(&spki);
    buf_free(&env);
    buf_free_secret(&plain);
    signer_kms_recipient_free(r);
    signer_kms_recipient_free(other);
}

/* A fake init: reads one frame, checks it, answers with a document (or an error). */
typedef struct {
    int fd;
    bool refuse;
    char got_key[64];
} fake_init;

static void *fake_init_run(void *arg) {
    fake_init *f = arg;
    uint8_t hdr[4];
    if (read(f->fd, hdr, 4) != 4) return NULL;
    uint32_t n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
    char *p = calloc(1, n + 1);
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(f->fd, p + got, n - got);
        if (k <= 0) break;
        got += (size_t)k;
    }
    json_t *j = json_loads(p, 0, NULL);
    snprintf(f->got_key, sizeof f->got_key, "%s",
             json_string_value(json_object_get(j, "public_key")) ?: "");
    json_decref(j);
    free(p);
    const char *ans = f->refuse ? "{\"error\":\"at most 16 attestation documents per run\"}"
                                : "{\"document\":\"ZG9j\"}";
    size_t m = strlen(ans);
    uint8_t h[4] = {0, 0, (uint8_t)(m >> 8), (uint8_t)m};
    if (write(f->fd, h, 4) != 4 || write(f->fd, ans, m) != (ssize_t)m) return NULL;
    return NULL;
}

static void attest_with(bool refuse) {
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fake_init f = {.fd = sv[1], .refuse = refuse};
    pthread_t t;
    pthread_create(&t, NULL, fake_init_run, &f);
    char fdtext[16], err[200] = "";
    snprintf(fdtext, sizeof fdtext, "%d", sv[0]);
    setenv("CLOISTER_ATTESTATION_FD", fdtext, 1);
    cl_buf doc = CL_BUF_INIT;
    cl_err e = signer_kms_attest(slice_cstr("spki"), &doc, err, sizeof err);
    pthread_join(t, NULL);
    assert_string_equal(f.got_key, "c3BraQ=="); /* base64("spki") */
    if (refuse) {
        assert_int_equal(e, CL_ERR_DENIED);
        assert_non_null(strstr(err, "at most 16"));
    } else {
        assert_int_equal(e, CL_OK);
        assert_int_equal(doc.len, 3);
        assert_memory_equal(doc.ptr, "doc", 3);
    }
    buf_free(&doc);
    close(sv[0]);
    close(sv[1]);
    unsetenv("CLOISTER_ATTESTATION_FD");
}

static void test_attest(void **state) {
    (void)state;
    char err[200];
    cl_buf doc = CL_BUF_INIT;
    unsetenv("CLOISTER_ATTESTATION_FD");
    assert_int_equal(signer_kms_attest(slice_cstr("spki"), &doc, err, sizeof err),
                     CL_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "not inside a Cloister run"));
    attest_with(false);
    attest_with(true);
}

/* The set into a real keyring: the key loads and signs; a tampered set loads nothing. */
static void test_set_load(void **state) {
    (void)state;
    uint8_t dk[32], sk[32], sig[SIGNER_SIG_LEN];
    fill(dk, 32, 3);
    fill(sk, 32, 0x11); /* a valid scalar (< r) */
    signer_kms_set s = {.name = "v", .kms_key_id = "k", .n = 1};
    s.keys = calloc(1, sizeof *s.keys);
    assert_int_equal(signer_bls_pubkey(sk, s.keys[0].pk), CL_OK);
    assert_int_equal(signer_kms_seal(dk, s.keys[0].pk, sk, s.keys[0].sealed), CL_OK);
    signer_keyring *k = signer_keyring_new();
    size_t loaded = 0;
    char err[300] = "";
    assert_int_equal(signer_kms_set_load(&s, dk, k, &loaded, err, sizeof err), CL_OK);
    assert_int_equal(loaded, 1);
    assert_int_equal(signer_keyring_state(k, s.keys[0].pk), SIGNER_KEY_ACTIVE);
    assert_int_equal(signer_keyring_sign(k, s.keys[0].pk, slice_cstr("msg"), sig), CL_OK);
    assert_true(signer_bls_verify(s.keys[0].pk, slice_cstr("msg"), sig));
    signer_keyring_free(k);

    k = signer_keyring_new();
    s.keys[0].sealed[20] ^= 1;
    assert_int_not_equal(signer_kms_set_load(&s, dk, k, &loaded, err, sizeof err), CL_OK);
    assert_int_equal(loaded, 0);
    assert_non_null(strstr(err, "does not open"));
    assert_int_equal(signer_keyring_count(k, false), 0);
    signer_keyring_free(k);
    free(s.keys);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seal_round_trip), cmocka_unit_test(test_unseal_refuses),
        cmocka_unit_test(test_set_json),        cmocka_unit_test(test_set_refused),
        cmocka_unit_test(test_recipient),       cmocka_unit_test(test_attest),
        cmocka_unit_test(test_set_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
