/* test_secrets.c — the iExec SMS wire pieces (src/secrets) against the
 * captured vectors in $CLOISTER_VECTORS/iexec-sms.json (../shared/vectors):
 * the domain hash, the exact challenge of the requester and app examples, and
 * their Authorization recovering to the expected address (v as 27/28 and
 * 0/1). Tampered cases: one changed byte of value, name, address or
 * signature gives another challenge / a recovery mismatch. Bad addresses,
 * names, values, signatures and paths are refused with the right status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "crypto/crypto.h"
#include "secrets/secrets.h"

#include <jansson.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *vec;

static int load_vectors(void **st) {
    (void)st;
    const char *dir = getenv("CLOISTER_VECTORS");
    char *path = cl_sprintf("%s/iexec-sms.json", dir ? dir : "../shared/vectors");
    json_error_t err;
    vec = json_load_file(path, 0, &err);
    if (!vec) fprintf(stderr, "cannot load %s: %s\n", path, err.text);
    free(path);
    return vec ? 0 : -1;
}

static int free_vectors(void **st) {
    (void)st;
    json_decref(vec);
    return 0;
}

static const char *vs(const char *section, const char *key) {
    json_t *o = section ? json_object_get(vec, section) : vec;
    const char *s = json_string_value(json_object_get(o, key));
    assert_non_null(s);
    return s;
}

static void hex32(const uint8_t d[32], char out[67]) {
    out[0] = '0';
    out[1] = 'x';
    hex_encode_to(out + 2, d, 32);
}

static secrets_addr addr_of(const char *s) {
    secrets_addr a;
    assert_int_equal(secrets_addr_parse(slice_cstr(s), &a), CL_OK);
    return a;
}

static void test_domain_hash(void **st) {
    (void)st;
    uint8_t d[32];
    char hex[67];
    crypto_keccak256(slice_cstr("IEXEC_SMS_DOMAIN"), d);
    hex32(d, hex);
    assert_string_equal(hex, vs(NULL, "domain_hash"));
}

/* One example: the challenge, then the Authorization recovering to signer. */
static void check_example(const char *sec, const char *owner_key, const secrets_addr *signer) {
    secrets_addr owner = addr_of(vs(sec, owner_key));
    cl_slice name = slice_cstr(vs(sec, "name")), value = slice_cstr(vs(sec, "value"));
    const char *auth = vs(sec, "authorization");
    uint8_t c[32], h[32];
    char hex[67];
    secrets_challenge(&owner, name, value, c);
    hex32(c, hex);
    assert_string_equal(hex, vs(sec, "challenge"));
    secrets_sig sig;
    secrets_addr got;
    assert_int_equal(secrets_sig_parse(slice_cstr(auth), &sig), CL_OK);
    secrets_eip191_hash(c, h);
    assert_int_equal(secrets_sig_recover(&sig, h, &got), CL_OK);
    assert_true(secrets_addr_eq(&got, signer));
    assert_int_equal(secrets_sms_verify(slice_cstr(auth), signer, &owner, name, value), CL_OK);
    /* v as 0/1 instead of 27/28 */
    char *alt = cl_strdup(auth);
    size_t n = strlen(alt);
    alt[n - 2] = '0';
    alt[n - 1] = alt[n - 1] == 'b' ? '0' : '1';
    assert_int_equal(secrets_sms_verify(slice_cstr(alt), signer, &owner, name, value), CL_OK);
    free(alt);
}

static void test_requester_vector(void **st) {
    (void)st;
    secrets_addr a = addr_of(vs("requester", "address"));
    check_example("requester", "address", &a);
    char norm[SECRETS_ADDR_STR_LEN + 1];
    secrets_addr_format(&a, norm);
    assert_string_equal(norm, "0x19e7e376e7c213b7e7e7e46cc70a5dd086daff2a");
}

static void test_app_vector(void **st) {
    (void)st;
    assert_string_equal(vs("app", "name"), "1");
    /* The app example is signed by the same key as the requester one. */
    assert_string_equal(vs("app", "signer_private_key"), vs("requester", "private_key"));
    secrets_addr signer = addr_of(vs("requester", "address"));
    check_example("app", "app_address", &signer);
}

/* Any changed byte of value, name, address or signature: another challenge,
 * and verification fails (mismatch or unparseable), never CL_OK. */
static void test_tampered(void **st) {
    (void)st;
    secrets_addr a = addr_of(vs("requester", "address")), t;
    const char *auth = vs("requester", "authorization");
    cl_slice name = slice_cstr("x1"), value = slice_cstr("1");
    uint8_t c0[32], c1[32];
    secrets_challenge(&a, name, value, c0);
    secrets_challenge(&a, name, slice_cstr("2"), c1);
    assert_memory_not_equal(c0, c1, 32);
    assert_int_equal(secrets_sms_verify(slice_cstr(auth), &a, &a, name, slice_cstr("2")),
                     CL_ERR_DENIED);
    secrets_challenge(&a, slice_cstr("x2"), value, c1);
    assert_memory_not_equal(c0, c1, 32);
    assert_int_equal(secrets_sms_verify(slice_cstr(auth), &a, &a, slice_cstr("x2"), value),
                     CL_ERR_DENIED);
    for (size_t i = 0; i < SECRETS_ADDR_LEN; i++) {
        t = a;
        t.b[i] ^= 0x01;
        secrets_challenge(&t, name, value, c1);
        assert_memory_not_equal(c0, c1, 32);
        /* the real signer over another owner's challenge, or another signer */
        assert_int_equal(secrets_sms_verify(slice_cstr(auth), &a, &t, name, value), CL_ERR_DENIED);
        assert_int_equal(secrets_sms_verify(slice_cstr(auth), &t, &a, name, value), CL_ERR_DENIED);
    }
    char *bad = cl_strdup(auth);
    for (size_t i = 2; i < 2 + 128; i++) { /* every hex digit of r and s */
        char o = bad[i];
        bad[i] = o == '0' ? '1' : '0';
        cl_err e = secrets_sms_verify(slice_cstr(bad), &a, &a, name, value);
        assert_true(e == CL_ERR_DENIED || e == CL_ERR_INVALID);
        bad[i] = o;
    }
    size_t n = strlen(bad); /* flipped recovery id: another key */
    bad[n - 1] = bad[n - 1] == 'b' ? 'c' : 'b';
    assert_int_equal(secrets_sms_verify(slice_cstr(bad), &a, &a, name, value), CL_ERR_DENIED);
    free(bad);
}

static void test_bad_signatures(void **st) {
    (void)st;
    const char *auth = vs("requester", "authorization");
    secrets_sig sig;
    char buf[200];
    assert_int_equal(secrets_sig_parse(slice_cstr(""), &sig), CL_ERR_INVALID);
    assert_int_equal(secrets_sig_parse(slice_cstr(auth + 2), &sig), CL_ERR_INVALID); /* no 0x */
    snprintf(buf, sizeof buf, "%s00", auth);                                         /* too long */
    assert_int_equal(secrets_sig_parse(slice_cstr(buf), &sig), CL_ERR_INVALID);
    snprintf(buf, sizeof buf, "%.*s", (int)strlen(auth) - 2, auth); /* too short */
    assert_int_equal(secrets_sig_parse(slice_cstr(buf), &sig), CL_ERR_INVALID);
    const char *vbad[] = {"02", "1a", "1d", "ff"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(buf, sizeof buf, "%.*s%s", (int)strlen(auth) - 2, auth, vbad[i]);
        assert_int_equal(secrets_sig_parse(slice_cstr(buf), &sig), CL_ERR_INVALID);
    }
    snprintf(buf, sizeof buf, "%s", auth);
    buf[10] = 'g';
    assert_int_equal(secrets_sig_parse(slice_cstr(buf), &sig), CL_ERR_INVALID);
    snprintf(buf, sizeof buf, "  %s ", auth); /* surrounding spaces are fine */
    assert_int_equal(secrets_sig_parse(slice_cstr(buf), &sig), CL_OK);
    /* r = 0, s = 0, r = n: parse, but do not recover */
    uint8_t h[32] = {1};
    secrets_addr out;
    secrets_sig z = sig;
    memset(z.r, 0, 32);
    assert_int_equal(secrets_sig_recover(&z, h, &out), CL_ERR_INVALID);
    z = sig;
    memset(z.s, 0, 32);
    assert_int_equal(secrets_sig_recover(&z, h, &out), CL_ERR_INVALID);
    static const uint8_t N[32] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48,
                                  0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
    z = sig;
    memcpy(z.r, N, 32);
    assert_int_equal(secrets_sig_recover(&z, h, &out), CL_ERR_INVALID);
    z = sig;
    memcpy(z.s, N, 32);
    assert_int_equal(secrets_sig_recover(&z, h, &out), CL_ERR_INVALID);
    z = sig;
    memset(z.r, 0, 32); /* x = 5 is not on secp256k1 (5^3 + 7 = 132 is a non-residue) */
    z.r[31] = 5;
    assert_int_equal(secrets_sig_recover(&z, h, &out), CL_ERR_INVALID);
    assert_int_equal(ERR_peek_error(), 0); /* no stale error left for the next caller */
    z = sig;
    z.recid = 2;
    assert_int_equal(secrets_sig_recover(&z, h, &out), CL_ERR_INVALID);
}

static void test_addresses_names_values(void **st) {
    (void)st;
    secrets_addr a;
    const char *bad[] = {"",
                         "0x",
                         "19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A",
                         "0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2",   /* 39 */
                         "0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A0", /* 41 */
                         "0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2G",
                         " 0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A",
                         ("0y"
                          "19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A")};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(secrets_addr_parse(slice_cstr(bad[i]), &a), CL_ERR_INVALID);
    assert_int_equal(
        secrets_addr_parse(slice_cstr("0X19e7e376e7c213b7e7e7e46cc70a5dd086daff2a"), &a), CL_OK);
    assert_true(secrets_name_valid(slice_cstr("x1")));
    assert_true(secrets_name_valid(slice_cstr("A-z_0")));
    char n64[66];
    memset(n64, 'a', 65);
    n64[65] = 0;
    assert_false(secrets_name_valid(slice_cstr(n64)));
    n64[64] = 0;
    assert_true(secrets_name_valid(slice_cstr(n64)));
    const char *badn[] = {"", "a b", "a/b", "a.b", "é", "a%20", "a\n"};
    for (size_t i = 0; i < sizeof badn / sizeof *badn; i++)
        assert_false(secrets_name_valid(slice_cstr(badn[i])));
    assert_false(secrets_name_valid(slice_of("a\0b", 3)));
    static uint8_t big[4097];
    assert_true(secrets_value_valid(slice_of(big, 4096)));
    assert_true(secrets_value_valid(CL_SLICE_NULL));
    assert_false(secrets_value_valid(slice_of(big, 4097)));
}

static void expect_path(const char *m, const char *p, int status) {
    secrets_sms_request r;
    int st;
    const char *why;
    cl_err e = secrets_sms_parse(slice_cstr(m), slice_cstr(p), &r, &st, &why);
    if (status == 0) {
        assert_int_equal(e, CL_OK);
        return;
    }
    assert_int_not_equal(e, CL_OK);
    assert_int_equal(st, status);
    assert_non_null(why);
}

static void test_paths(void **st) {
    (void)st;
    secrets_sms_request r;
    int code;
    const char *why;
    const char *A = "0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A";
    char p[256];
    snprintf(p, sizeof p, "/requesters/%s/secrets/x1", A);
    assert_int_equal(secrets_sms_parse(slice_cstr("POST"), slice_cstr(p), &r, &code, &why), CL_OK);
    assert_int_equal(r.kind, SECRETS_SMS_REQUESTER);
    assert_int_equal(r.method, SECRETS_SMS_POST);
    assert_string_equal(r.name, "x1");
    char norm[43];
    secrets_addr_format(&r.addr, norm);
    assert_string_equal(norm, "0x19e7e376e7c213b7e7e7e46cc70a5dd086daff2a");
    snprintf(p, sizeof p, "/apps/%s/secrets?x=1", A);
    assert_int_equal(secrets_sms_parse(slice_cstr("HEAD"), slice_cstr(p), &r, &code, &why), CL_OK);
    assert_int_equal(r.kind, SECRETS_SMS_APP);
    assert_int_equal(r.method, SECRETS_SMS_HEAD);
    assert_string_equal(r.name, "1");

    snprintf(p, sizeof p, "/requesters/%s/secrets/x1", A);
    expect_path("GET", p, 405);
    expect_path("DELETE", p, 405);
    expect_path("post", p, 405);
    expect_path("POST", "/requesters/0x1234/secrets/x1", 400);
    expect_path("POST", "/apps/nothex/secrets", 400);
    snprintf(p, sizeof p, "/requesters/%s/secrets/a.b", A);
    expect_path("POST", p, 400);
    snprintf(p, sizeof p, "/requesters/%s/secrets/", A);
    expect_path("POST", p, 400);
    snprintf(p, sizeof p, "/requesters/%s/secrets/%065d", A, 0);
    expect_path("POST", p, 400);
    snprintf(p, sizeof p, "/requesters/%s/secrets/x1/", A);
    expect_path("POST", p, 404);
    snprintf(p, sizeof p, "/requesters/%s/secrets", A);
    expect_path("POST", p, 404);
    snprintf(p, sizeof p, "/apps/%s/secrets/x1", A);
    expect_path("POST", p, 404);
    snprintf(p, sizeof p, "/apps/%s/secret", A);
    expect_path("POST", p, 404);
    snprintf(p, sizeof p, "//requesters/%s/secrets/x1", A);
    expect_path("POST", p, 404);
    expect_path("POST", "", 404);
    expect_path("POST", "/", 404);
    expect_path("POST", "requesters", 404);
    expect_path("HEAD", "/requesters", 404);
    expect_path("HEAD", "/apps", 404);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_domain_hash),    cmocka_unit_test(test_requester_vector),
        cmocka_unit_test(test_app_vector),     cmocka_unit_test(test_tampered),
        cmocka_unit_test(test_bad_signatures), cmocka_unit_test(test_addresses_names_values),
        cmocka_unit_test(test_paths),
    };
    return cmocka_run_group_tests(tests, load_vectors, free_vectors);
}
