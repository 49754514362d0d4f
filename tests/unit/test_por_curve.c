/* test_por_curve.c — the proof-of-reserves group layer (src/por/curve.h) and
 * the Bulletproofs range proofs built on it (src/por/rangeproof.h).
 *
 * Scalars are checked against OpenSSL's BIGNUM (an independent implementation
 * of mod-r arithmetic), points against naive sums and plain multiplications,
 * hash-to-curve against RFC 9380's vectors, the transcript against its
 * byte-level definition rebuilt here from one-shot SHA-256. Range proofs must
 * verify for every allowed shape and at the range boundaries, and be rejected
 * for every way of cheating the brief lists: out-of-range and negative values
 * (through the unchecked test prover), any flipped byte, truncation, another
 * commitment or transcript, points off the curve or outside the subgroup, and
 * non-canonical scalars. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "por/curve.h"
#include "por/rangeproof.h"
#include "crypto/crypto.h"

#include <openssl/bn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define R_HEX "73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001"

static void unhex(uint8_t *out, const char *hex, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

static BIGNUM *bn_r(void) {
    BIGNUM *r = NULL;
    BN_hex2bn(&r, R_HEX);
    return r;
}

static BIGNUM *bn_of(const por_scalar *s) {
    uint8_t b[32];
    por_scalar_to_bytes(b, s);
    return BN_bin2bn(b, 32, NULL);
}

static void assert_scalar_bn(const por_scalar *s, const BIGNUM *want) {
    uint8_t a[32], b[32];
    por_scalar_to_bytes(a, s);
    assert_int_equal(BN_bn2binpad(want, b, 32), 32);
    assert_memory_equal(a, b, 32);
}

/* ---- scalars ---- */

static void test_scalar_basics(void **st) {
    (void)st;
    uint8_t rb[32], b[32];
    por_scalar s, one, t;
    unhex(rb, R_HEX, 32);
    assert_int_equal(por_scalar_from_bytes(&s, rb), CL_ERR_INVALID); /* r itself */
    memset(b, 0xff, 32);
    assert_int_equal(por_scalar_from_bytes(&s, b), CL_ERR_INVALID);
    rb[31] = 0; /* r - 1 */
    assert_int_equal(por_scalar_from_bytes(&s, rb), CL_OK);
    por_scalar_one(&one);
    por_scalar_add(&t, &s, &one);
    assert_true(por_scalar_is_zero(&t)); /* (r-1) + 1 = 0 */
    por_scalar_mul(&t, &s, &s);
    assert_true(por_scalar_eq(&t, &one)); /* (-1)² = 1 */
    por_scalar_neg(&t, &one);
    assert_true(por_scalar_eq(&t, &s));
    por_scalar_to_bytes(b, &s);
    assert_memory_equal(b, rb, 32);
    memset(b, 0, 32);
    assert_int_equal(por_scalar_from_bytes(&s, b), CL_OK);
    assert_true(por_scalar_is_zero(&s));

    por_scalar two, three, six;
    por_scalar_from_u64(&two, 2);
    por_scalar_from_u64(&three, 3);
    por_scalar_mul(&six, &two, &three);
    por_scalar_to_bytes(b, &six);
    for (int i = 0; i < 31; i++)
        assert_int_equal(b[i], 0);
    assert_int_equal(b[31], 6);
    por_scalar_sub(&t, &two, &three);
    por_scalar_neg(&s, &one);
    assert_true(por_scalar_eq(&t, &s)); /* 2 - 3 = -1 */

    por_scalar z, zi;
    por_scalar_zero(&z);
    por_scalar_inv(&zi, &z);
    assert_true(por_scalar_is_zero(&zi));
    for (int k = 0; k < 20; k++) {
        por_scalar x, xi;
        por_scalar_random(&x);
        por_scalar_inv(&xi, &x);
        por_scalar_mul(&t, &x, &xi);
        assert_true(por_scalar_eq(&t, &one));
        por_scalar_neg(&t, &x);
        por_scalar_add(&t, &t, &x);
        assert_true(por_scalar_is_zero(&t));
    }
}

static void test_scalar_ints(void **st) {
    (void)st;
    BIGNUM *r = bn_r(), *w = BN_new();
    BN_CTX *cx = BN_CTX_new();
    const int64_t cases[] = {0, 1, -1, 5, -5, INT64_MAX, INT64_MIN, INT64_MIN + 1, 123456789012345};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        por_scalar s;
        por_scalar_from_i64(&s, cases[i]);
        char dec[32];
        snprintf(dec, sizeof dec, "%lld", (long long)cases[i]);
        BN_dec2bn(&w, dec);
        BN_nnmod(w, w, r, cx); /* negative -> r - |x| */
        assert_scalar_bn(&s, w);
    }
    por_scalar s;
    uint64_t u;
    por_scalar_from_u64(&s, UINT64_MAX);
    assert_true(por_scalar_to_u64(&s, &u));
    assert_true(u == UINT64_MAX);
    por_scalar_from_i64(&s, -1);
    assert_false(por_scalar_to_u64(&s, &u));
    por_scalar_from_i64(&s, INT64_MIN); /* r - 2^63 */
    BN_set_word(w, 1);
    BN_lshift(w, w, 63);
    BN_sub(w, r, w);
    assert_scalar_bn(&s, w);
    BN_free(w);
    BN_free(r);
    BN_CTX_free(cx);
}

static void test_scalar_vs_bignum(void **st) {
    (void)st;
    BIGNUM *r = bn_r(), *w = BN_new(), *x = NULL, *y = NULL;
    BN_CTX *cx = BN_CTX_new();
    uint8_t wide[64];
    por_scalar s;
    memset(wide, 0xff, 64);
    for (int k = 0; k < 50; k++) {
        if (k) crypto_random(wide, 64);
        por_scalar_from_wide(&s, wide);
        BN_bin2bn(wide, 64, w);
        BN_mod(w, w, r, cx);
        assert_scalar_bn(&s, w);
    }
    for (int k = 0; k < 50; k++) {
        por_scalar a, b, c;
        por_scalar_random(&a);
        por_scalar_random(&b);
        x = bn_of(&a);
        y = bn_of(&b);
        por_scalar_mul(&c, &a, &b);
        BN_mod_mul(w, x, y, r, cx);
        assert_scalar_bn(&c, w);
        por_scalar_add(&c, &a, &b);
        BN_mod_add(w, x, y, r, cx);
        assert_scalar_bn(&c, w);
        por_scalar_sub(&c, &a, &b);
        BN_mod_sub(w, x, y, r, cx);
        assert_scalar_bn(&c, w);
        por_scalar_inv(&c, &a);
        BN_mod_inverse(w, x, r, cx);
        assert_scalar_bn(&c, w);
        BN_free(x);
        BN_free(y);
    }
    /* batch inversion = one by one; a zero is refused */
    por_scalar v[9], want[9];
    for (int i = 0; i < 9; i++) {
        por_scalar_random(&v[i]);
        por_scalar_inv(&want[i], &v[i]);
    }
    assert_int_equal(por_scalar_batch_inv(v, 9), CL_OK);
    for (int i = 0; i < 9; i++)
        assert_true(por_scalar_eq(&v[i], &want[i]));
    por_scalar_zero(&v[4]);
    assert_int_equal(por_scalar_batch_inv(v, 9), CL_ERR_INVALID);
    /* λ² + λ + 1 = 0: the endomorphism's eigenvalue */
    por_scalar lam, l2, one;
    uint64_t k1, k2;
    por_transcript t;
    por_transcript_init(&t, "lambda");
    por_transcript_challenge_short(&t, "u", &lam, &k1, &k2); /* k2 = 0 has odds 2^-64 */
    por_scalar a1, a2;
    por_scalar_from_u64(&a1, k1);
    por_scalar_from_u64(&a2, k2);
    por_scalar_sub(&lam, &lam, &a1);
    por_scalar_inv(&a2, &a2);
    por_scalar_mul(&lam, &lam, &a2); /* (u - k1) / k2 = λ */
    uint8_t lb[32], lw[32] = {0};
    por_scalar_to_bytes(lb, &lam);
    unhex(lw + 16, "ac45a4010001a40200000000ffffffff", 16);
    assert_memory_equal(lb, lw, 32);
    por_scalar_mul(&l2, &lam, &lam);
    por_scalar_add(&l2, &l2, &lam);
    por_scalar_one(&one);
    por_scalar_add(&l2, &l2, &one);
    assert_true(por_scalar_is_zero(&l2));
    BN_free(w);
    BN_free(r);
    BN_CTX_free(cx);
}

/* ---- points ---- */

static void random_point(por_point *p) {
    por_scalar s;
    por_scalar_random(&s);
    por_mul_g(p, &s);
}

static void test_point_encoding(void **st) {
    (void)st;
    uint8_t b[48], want[48];
    por_point g, p, q;
    por_affine a;
    por_point_from_affine(&g, blst_p1_affine_generator());
    por_point_to_bytes(b, &g);
    unhex(want,
          "97f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00a"
          "db22c6bb",
          48);
    assert_memory_equal(b, want, 48);
    for (int k = 0; k < 20; k++) {
        random_point(&p);
        por_point_to_bytes(b, &p);
        assert_int_equal(por_point_from_bytes(&q, b), CL_OK);
        assert_true(por_point_eq(&p, &q));
    }
    /* identity: c0 00 .. 00 */
    por_point_identity(&p);
    por_point_to_bytes(b, &p);
    memset(want, 0, 48);
    want[0] = 0xc0;
    assert_memory_equal(b, want, 48);
    assert_int_equal(por_affine_from_bytes(&a, b), CL_OK);
    assert_true(por_affine_is_identity(&a));

    /* rejected encodings */
    uint8_t bad[48];
    memcpy(bad, want, 48);
    bad[47] = 1; /* identity flag with a body */
    assert_int_equal(por_affine_from_bytes(&a, bad), CL_ERR_INVALID);
    bad[47] = 0;
    bad[0] = 0xe0; /* identity with the sign bit */
    assert_int_equal(por_affine_from_bytes(&a, bad), CL_ERR_INVALID);
    memset(bad, 0, 48); /* no compression flag */
    assert_int_equal(por_affine_from_bytes(&a, bad), CL_ERR_INVALID);
    por_point_to_bytes(bad, &g);
    bad[0] &= 0x7f;
    assert_int_equal(por_affine_from_bytes(&a, bad), CL_ERR_INVALID);
    unhex(bad,
          "1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9fe"
          "ffffffffaaab",
          48); /* x = p */
    bad[0] |= 0x80;
    assert_int_equal(por_affine_from_bytes(&a, bad), CL_ERR_INVALID);
    /* an x with no point, and a point on the curve outside the subgroup */
    bool off = false, outside = false;
    for (uint8_t x = 1; x < 200 && !(off && outside); x++) {
        memset(bad, 0, 48);
        bad[0] = 0x80;
        bad[47] = x;
        BLST_ERROR e = blst_p1_uncompress(&a, bad);
        if (e == BLST_POINT_NOT_ON_CURVE) off = true;
        if (e == BLST_SUCCESS && !blst_p1_affine_in_g1(&a)) outside = true;
        if (e == BLST_SUCCESS || e == BLST_POINT_NOT_ON_CURVE)
            assert_int_equal(por_affine_from_bytes(&a, bad),
                             e == BLST_SUCCESS && blst_p1_affine_in_g1(&a) ? CL_OK
                                                                           : CL_ERR_INVALID);
    }
    assert_true(off && outside);
}

static void test_point_arith(void **st) {
    (void)st;
    por_point p, q, r, s2, id;
    por_scalar a, b, c, two;
    random_point(&p);
    por_point_add(&q, &p, &p);
    por_point_double(&r, &p);
    assert_true(por_point_eq(&q, &r));
    por_scalar_from_u64(&two, 2);
    por_point_mul(&s2, &p, &two);
    assert_true(por_point_eq(&q, &s2));
    por_point_neg(&q, &p);
    por_point_add(&r, &p, &q);
    assert_true(por_point_is_identity(&r));
    por_point_sub(&r, &p, &p);
    assert_true(por_point_is_identity(&r));
    por_point_identity(&id);
    por_point_add(&r, &id, &p);
    assert_true(por_point_eq(&r, &p));
    /* a·P + b·P = (a+b)·P, constant-time and variable-time agree */
    for (int k = 0; k < 5; k++) {
        por_scalar_random(&a);
        por_scalar_random(&b);
        por_scalar_add(&c, &a, &b);
        por_point_mul(&q, &p, &a);
        por_point_mul_vartime(&r, &p, &b);
        por_point_add(&q, &q, &r);
        por_point_mul(&r, &p, &c);
        assert_true(por_point_eq(&q, &r));
        por_point_mul_vartime(&q, &p, &c);
        assert_true(por_point_eq(&q, &r));
    }
    por_scalar_zero(&a);
    por_point_mul_vartime(&q, &p, &a);
    assert_true(por_point_is_identity(&q));
    por_point_mul(&q, &p, &a);
    assert_true(por_point_is_identity(&q));
    /* a batch of points to affine, identity in the middle */
    por_point pts[5];
    por_affine aff[5];
    for (int i = 0; i < 5; i++)
        random_point(&pts[i]);
    por_point_identity(&pts[2]);
    por_points_to_affine(aff, pts, 5);
    for (int i = 0; i < 5; i++) {
        por_point back;
        por_point_from_affine(&back, &aff[i]);
        assert_true(por_point_eq(&back, &pts[i]));
    }
}

static void test_point_endo(void **st) {
    (void)st;
    const uint64_t ks[][2] = {{0, 0},     {1, 0},         {0, 1},         {UINT64_MAX, UINT64_MAX},
                              {12345, 0}, {0, 987654321}, {UINT64_MAX, 1}};
    por_point p, q, r;
    random_point(&p);
    for (size_t i = 0; i < sizeof ks / sizeof ks[0] + 10; i++) {
        uint64_t k1, k2;
        if (i < sizeof ks / sizeof ks[0]) {
            k1 = ks[i][0];
            k2 = ks[i][1];
        } else {
            crypto_random(&k1, 8);
            crypto_random(&k2, 8);
        }
        /* u = k1 + λ·k2 from the transcript helper's definition */
        por_scalar u, a, b, lam;
        uint8_t lb[32] = {0};
        unhex(lb + 16, "ac45a4010001a40200000000ffffffff", 16);
        assert_int_equal(por_scalar_from_bytes(&lam, lb), CL_OK);
        por_scalar_from_u64(&a, k1);
        por_scalar_from_u64(&b, k2);
        por_scalar_mul(&b, &b, &lam);
        por_scalar_add(&u, &a, &b);
        por_point_mul_endo(&q, &p, k1, k2);
        por_point_mul(&r, &p, &u);
        assert_true(por_point_eq(&q, &r));
    }
}

/* out[i] = base[i] + s·p[i] against the plain multiplication, from both fold
 * entry points, on the plain (few lanes) and the lockstep path, with the
 * exceptional lanes mixed in: identity p or base, base = ±s·p, p = base. */
static void fold_check(const por_affine *out, const por_affine *base, const por_affine *p,
                       const por_scalar *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        por_point want, t, got;
        por_point_from_affine(&t, &p[i]);
        por_point_mul(&want, &t, s);
        por_point_add_affine(&want, &want, &base[i]);
        por_point_from_affine(&got, &out[i]);
        assert_true(por_point_eq(&got, &want));
    }
}

static void fold_inputs(por_affine *base, por_affine *p, const por_scalar *s, size_t n) {
    por_point t[2];
    for (size_t i = 0; i < n; i++) {
        random_point(&t[0]);
        random_point(&t[1]);
        por_point_to_affine(&p[i], &t[0]);
        por_point_to_affine(&base[i], &t[1]);
    }
    if (n < 6) return;
    memset(&p[1], 0, sizeof p[1]);    /* identity point */
    memset(&base[2], 0, sizeof p[2]); /* identity base */
    por_point_from_affine(&t[0], &p[3]);
    por_point_mul(&t[1], &t[0], s); /* base = s·p: the final addition doubles */
    por_point_to_affine(&base[3], &t[1]);
    por_point_from_affine(&t[0], &p[4]);
    por_point_mul(&t[1], &t[0], s); /* base = -s·p: the result is the identity */
    por_point_neg(&t[1], &t[1]);
    por_point_to_affine(&base[4], &t[1]);
    base[5] = p[5];
}

static void test_point_fold(void **st) {
    (void)st;
    por_scalar lam, sc[8];
    uint8_t lb[32] = {0};
    unhex(lb + 16, "ac45a4010001a40200000000ffffffff", 16);
    assert_int_equal(por_scalar_from_bytes(&lam, lb), CL_OK);
    por_scalar_zero(&sc[0]);
    por_scalar_one(&sc[1]);
    por_scalar_neg(&sc[2], &sc[1]); /* r - 1 */
    sc[3] = lam;
    por_scalar_sub(&sc[4], &lam, &sc[1]);
    por_scalar_from_u64(&sc[5], 2);
    por_scalar_random(&sc[6]);
    por_scalar_random(&sc[7]);
    const size_t sizes[] = {1, 7, 32, 45};
    for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
        size_t n = sizes[z];
        por_affine *base = malloc(n * sizeof *base), *p = malloc(n * sizeof *p);
        por_affine *out = malloc(n * sizeof *out);
        for (size_t k = 0; k < 8; k++) {
            fold_inputs(base, p, &sc[k], n);
            por_points_fold_vartime(out, base, p, &sc[k], n);
            fold_check(out, base, p, &sc[k], n);
            memcpy(out, base, n * sizeof *out); /* out aliasing base */
            por_points_fold_vartime(out, out, p, &sc[k], n);
            fold_check(out, base, p, &sc[k], n);
        }
        const uint64_t ks[][2] = {{0, 0}, {1, 0}, {0, 1}, {UINT64_MAX, UINT64_MAX}, {5, 0}};
        for (size_t k = 0; k < sizeof ks / sizeof ks[0] + 3; k++) {
            uint64_t k1, k2;
            if (k < sizeof ks / sizeof ks[0]) {
                k1 = ks[k][0];
                k2 = ks[k][1];
            } else {
                crypto_random(&k1, 8);
                crypto_random(&k2, 8);
            }
            por_scalar u, b;
            por_scalar_from_u64(&u, k1);
            por_scalar_from_u64(&b, k2);
            por_scalar_mul(&b, &b, &lam);
            por_scalar_add(&u, &u, &b);
            fold_inputs(base, p, &u, n);
            por_points_fold_endo(out, base, p, k1, k2, n);
            fold_check(out, base, p, &u, n);
        }
        free(base);
        free(p);
        free(out);
    }
}

/* ---- generators ---- */

static void test_generators(void **st) {
    (void)st;
    por_affine a, b;
    por_generator(&a, "test/gen", 5);
    por_generator(&b, "test/gen", 5);
    assert_true(blst_p1_affine_is_equal(&a, &b));
    const por_affine *v = por_generators("test/gen", 10);
    assert_true(blst_p1_affine_is_equal(&v[5], &a));
    const por_affine *v2 = por_generators("test/gen", 40); /* grows; old pointer still valid */
    assert_true(blst_p1_affine_is_equal(&v2[5], &v[5]));
    por_generator(&b, "test/gen", 39);
    assert_true(blst_p1_affine_is_equal(&v2[39], &b));
    for (int i = 0; i < 40; i++) {
        assert_false(por_affine_is_identity(&v2[i]));
        assert_true(blst_p1_affine_in_g1(&v2[i]));
        for (int j = 0; j < i; j++)
            assert_false(blst_p1_affine_is_equal(&v2[i], &v2[j]));
    }
    por_generator(&b, "test/geN", 5);
    assert_false(blst_p1_affine_is_equal(&a, &b));
    por_generator(&b, "test/gen5", 0); /* label || BE32(index) keeps these apart */
    assert_false(blst_p1_affine_is_equal(&a, &b));
    assert_false(blst_p1_affine_is_equal(por_pedersen_g(), por_pedersen_h()));
    por_generator(&b, POR_LABEL_PEDERSEN_H, 0);
    assert_true(blst_p1_affine_is_equal(por_pedersen_h(), &b));
    /* the generator rows hold 1..POR_CT_ROW times each generator */
    const por_affine *rows = por_generator_rows("test/gen", 3);
    for (int i = 0; i < 3; i++) {
        por_point g, acc;
        por_point_from_affine(&g, &v2[i]);
        por_point_identity(&acc);
        for (unsigned j = 0; j < POR_CT_ROW; j++) {
            por_point_add(&acc, &acc, &g);
            por_point e;
            por_point_from_affine(&e, &rows[i * POR_CT_ROW + j]);
            assert_true(por_point_eq(&e, &acc));
        }
    }
}

/* RFC 9380 appendix J.9.1: blst's hash_to_g1 is the suite the DST names, so a
 * JS verifier using noble's hashToCurve gets the same generators. */
static void test_hash_to_curve_vectors(void **st) {
    (void)st;
    static const char *dst = "QUUX-V01-CS02-with-BLS12381G1_XMD:SHA-256_SSWU_RO_";
    static const char *msgs[] = {"", "abc"};
    static const char *xy[] = {
        "052926add2207b76ca4fa57a8734416c8dc95e24501772c814278700eed6d1e4e8cf62d9c09db0fac349612b75"
        "9e79a108ba738453bfed09cb546dbb0783dbb3a5f1f566ed67bb6be0e8c67e2e81a4cc68ee29813bb7994998f3"
        "eae0c9c6a265",
        "03567bc5ef9c690c2ab2ecdf6a96ef1c139cc0b2f284dca0a9a7943388a49a3aee664ba5379a7655d3c68900be"
        "2f69030b9c15f3fe6e5cf4211f346271d7b01c8f3b28be689c8429c85b67af215533311f0b8dfaaa154fa6b881"
        "76c229f2885d"};
    for (int i = 0; i < 2; i++) {
        por_point p;
        por_affine a;
        uint8_t got[96], want[96];
        blst_hash_to_g1(&p, (const byte *)msgs[i], strlen(msgs[i]), (const byte *)dst, strlen(dst),
                        NULL, 0);
        por_point_to_affine(&a, &p);
        blst_p1_affine_serialize(got, &a);
        unhex(want, xy[i], 96);
        assert_memory_equal(got, want, 96);
    }
}

/* ---- multi-scalar multiplication ---- */

static void naive_msm(por_point *out, const por_affine *pts, const por_scalar *sc, size_t n) {
    por_point_identity(out);
    for (size_t i = 0; i < n; i++) {
        por_point p, q;
        por_point_from_affine(&p, &pts[i]);
        por_point_mul(&q, &p, &sc[i]);
        por_point_add(out, out, &q);
    }
}

static void test_msm(void **st) {
    (void)st;
    const size_t sizes[] = {1, 2, 3, 17, 256};
    const por_affine *gens = por_generators("test/msm", 256);
    por_affine *pts = malloc(256 * sizeof *pts);
    por_scalar *sc = malloc(256 * sizeof *sc);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        memcpy(pts, gens, n * sizeof *pts);
        for (size_t i = 0; i < n; i++)
            por_scalar_random(&sc[i]);
        if (n > 2) { /* an identity point, a zero scalar, a repeated point, -1 */
            memset(&pts[1], 0, sizeof pts[1]);
            por_scalar_zero(&sc[2]);
            pts[n - 1] = pts[0];
            por_scalar_from_i64(&sc[n - 1], -1);
        }
        por_point want, got;
        naive_msm(&want, pts, sc, n);
        por_msm(&got, pts, sc, n);
        assert_true(por_point_eq(&got, &want));
        por_msm_threads(&got, pts, sc, n, 2);
        assert_true(por_point_eq(&got, &want));
    }
    /* threaded = single at sizes where blst's window divides 255 (5: 128..255
     * points) and where it does not, for 2 and 3 threads */
    const size_t tsizes[] = {200, 256, 300, 700};
    const por_affine *big = por_generators("test/msm", 700);
    por_scalar *bs = malloc(700 * sizeof *bs);
    for (size_t k = 0; k < 4; k++) {
        size_t n = tsizes[k];
        for (size_t i = 0; i < n; i++)
            por_scalar_random(&bs[i]);
        por_point one, two, three;
        por_msm(&one, big, bs, n);
        por_msm_threads(&two, big, bs, n, 2);
        por_msm_threads(&three, big, bs, n, 3);
        assert_true(por_point_eq(&one, &two));
        assert_true(por_point_eq(&one, &three));
    }
    free(bs);
    free(pts);
    free(sc);
}

/* ---- constant-time paths and Pedersen ---- */

static void test_ct_msm(void **st) {
    (void)st;
    enum { N = 9 };
    const por_affine *gens = por_generators("test/ct", N);
    const por_affine *rows = por_generator_rows("test/ct", N);
    const por_affine *rp[N];
    por_scalar sc[N];
    for (int i = 0; i < N; i++)
        rp[i] = &rows[i * POR_CT_ROW];
    for (int i = 0; i < N; i++)
        por_scalar_random(&sc[i]);
    uint8_t rb[32];
    unhex(rb, R_HEX, 32);
    rb[31] = 0;
    assert_int_equal(por_scalar_from_bytes(&sc[0], rb), CL_OK); /* r - 1 */
    por_scalar_zero(&sc[1]);
    por_scalar_one(&sc[2]);
    por_point got, want;
    por_ct_msm_rows(&got, rp, sc, N, 255);
    naive_msm(&want, gens, sc, N);
    assert_true(por_point_eq(&got, &want));
    /* 64-bit scalars with nbits = 64, including 2^64 - 1 and 2^63 */
    for (int i = 0; i < N; i++) {
        uint64_t v;
        crypto_random(&v, 8);
        por_scalar_from_u64(&sc[i], v);
    }
    por_scalar_from_u64(&sc[0], UINT64_MAX);
    por_scalar_from_u64(&sc[1], (uint64_t)1 << 63);
    por_ct_msm_rows(&got, rp, sc, N, 64);
    naive_msm(&want, gens, sc, N);
    assert_true(por_point_eq(&got, &want));
    /* vector commitment = the same plus r·H */
    por_scalar r;
    por_point rh;
    por_scalar_random(&r);
    por_vector_commit(&got, rp, sc, N, 64, &r);
    por_point_from_affine(&rh, por_pedersen_h());
    por_point_mul(&rh, &rh, &r);
    por_point_add(&want, &want, &rh);
    assert_true(por_point_eq(&got, &want));
    /* rows built for arbitrary bases */
    por_affine own[2 * POR_CT_ROW];
    por_ct_rows_build(own, gens, 2);
    const por_affine *orp[2] = {&own[0], &own[POR_CT_ROW]};
    por_ct_msm_rows(&got, orp, sc, 2, 64);
    naive_msm(&want, gens, sc, 2);
    assert_true(por_point_eq(&got, &want));
}

static void test_pedersen(void **st) {
    (void)st;
    por_point g, h, want, got, t;
    por_point_from_affine(&g, por_pedersen_g());
    por_point_from_affine(&h, por_pedersen_h());
    uint8_t rb[32];
    unhex(rb, R_HEX, 32);
    rb[31] = 0;
    for (int k = 0; k < 8; k++) {
        por_scalar v, r;
        por_scalar_random(&v);
        por_scalar_random(&r);
        if (k == 0) por_scalar_zero(&v);
        if (k == 1) por_scalar_one(&v);
        if (k == 2) assert_int_equal(por_scalar_from_bytes(&v, rb), CL_OK);
        if (k == 3) por_scalar_zero(&r);
        por_point_mul(&want, &g, &v);
        por_point_mul(&t, &h, &r);
        por_point_add(&want, &want, &t);
        por_commit(&got, &v, &r);
        assert_true(por_point_eq(&got, &want));
        por_mul_g(&got, &v);
        por_point_mul(&t, &g, &v);
        assert_true(por_point_eq(&got, &t));
        por_mul_h(&got, &r);
        por_point_mul(&t, &h, &r);
        assert_true(por_point_eq(&got, &t));
    }
    const uint64_t us[] = {0, 1, 255, UINT64_MAX, (uint64_t)1 << 63, 0x8000000000000001ull};
    for (size_t k = 0; k < sizeof us / sizeof us[0]; k++) {
        por_scalar v, r;
        por_scalar_random(&r);
        por_scalar_from_u64(&v, us[k]);
        por_commit(&want, &v, &r);
        por_commit_u64(&got, us[k], &r);
        assert_true(por_point_eq(&got, &want));
    }
    /* homomorphism: commit(a, r) + commit(b, s) = commit(a + b, r + s), also
     * across the wrap (a negative, as a debt) */
    for (int k = 0; k < 5; k++) {
        por_scalar a, b, r, s, ab, rs;
        por_scalar_from_i64(&a, k == 0 ? -1000 : (int64_t)k * 77777);
        por_scalar_random(&b);
        por_scalar_random(&r);
        por_scalar_random(&s);
        por_scalar_add(&ab, &a, &b);
        por_scalar_add(&rs, &r, &s);
        por_commit(&got, &a, &r);
        por_commit(&t, &b, &s);
        por_point_add(&got, &got, &t);
        por_commit(&want, &ab, &rs);
        assert_true(por_point_eq(&got, &want));
    }
}

/* ---- transcript ---- */

static void lp(cl_buf *b, const char *s, size_t n) {
    uint8_t len[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    buf_append(b, len, 4);
    buf_append(b, s, n);
}

static void test_transcript(void **st) {
    (void)st;
    /* rebuilt from the definition in curve.h */
    uint8_t s[32], h0[32], h1[32], s2[32], out[64];
    cl_buf b = CL_BUF_INIT;
    buf_append_cstr(&b, "CLOISTER-POR-TRANSCRIPT-V1");
    lp(&b, "proto", 5);
    crypto_sha256(buf_slice(&b), s);
    buf_clear(&b);
    buf_append(&b, s, 32);
    buf_append_byte(&b, 0x01);
    lp(&b, "msg", 3);
    lp(&b, "hello", 5);
    crypto_sha256(buf_slice(&b), s);
    buf_clear(&b);
    buf_append(&b, s, 32);
    buf_append_byte(&b, 0x02);
    lp(&b, "c", 1);
    size_t base = b.len;
    buf_append_byte(&b, 0x00);
    crypto_sha256(buf_slice(&b), h0);
    b.ptr[base] = 0x01;
    crypto_sha256(buf_slice(&b), h1);
    b.ptr[base] = 0x02;
    crypto_sha256(buf_slice(&b), s2);
    buf_free(&b);

    por_transcript t, t2;
    por_transcript_init(&t, "proto");
    por_transcript_append(&t, "msg", slice_cstr("hello"));
    t2 = t;
    por_transcript_challenge_bytes(&t, "c", out);
    assert_memory_equal(out, h0, 32);
    assert_memory_equal(out + 32, h1, 32);
    assert_memory_equal(t.state, s2, 32);
    /* challenge_scalar = (h0 || h1) mod r */
    por_scalar c, w;
    por_transcript_challenge_scalar(&t2, "c", &c);
    uint8_t wide[64];
    memcpy(wide, h0, 32);
    memcpy(wide + 32, h1, 32);
    por_scalar_from_wide(&w, wide);
    assert_true(por_scalar_eq(&c, &w));
    assert_memory_equal(t2.state, s2, 32);

    /* determinism and separation */
    por_transcript a, bt;
    por_scalar ca, cb;
    por_point p;
    por_scalar x;
    random_point(&p);
    por_scalar_random(&x);
    for (int variant = 0; variant < 5; variant++) {
        por_transcript_init(&a, "label");
        por_transcript_init(&bt, variant == 1 ? "label2" : "label");
        por_transcript_append_point(&a, "P", &p);
        por_transcript_append_point(&bt, variant == 2 ? "Q" : "P", &p);
        por_transcript_append_scalar(&a, "x", &x);
        if (variant == 3) {
            por_scalar y;
            por_scalar_add(&y, &x, &x);
            por_transcript_append_scalar(&bt, "x", &y);
        } else {
            por_transcript_append_scalar(&bt, "x", &x);
        }
        por_transcript_append_u64(&a, "n", 64);
        por_transcript_append_u64(&bt, "n", variant == 4 ? 32 : 64);
        por_transcript_challenge_scalar(&a, "c", &ca);
        por_transcript_challenge_scalar(&bt, "c", &cb);
        assert_int_equal(por_scalar_eq(&ca, &cb), variant == 0);
    }
    /* label/data boundaries are length-prefixed: ("ab","c") != ("a","bc") */
    por_transcript_init(&a, "l");
    por_transcript_init(&bt, "l");
    por_transcript_append(&a, "ab", slice_cstr("c"));
    por_transcript_append(&bt, "a", slice_cstr("bc"));
    assert_memory_not_equal(a.state, bt.state, 32);
    /* successive challenges differ */
    por_transcript_init(&a, "l");
    por_transcript_challenge_scalar(&a, "c", &ca);
    por_transcript_challenge_scalar(&a, "c", &cb);
    assert_false(por_scalar_eq(&ca, &cb));
}

/* ---- range proofs ---- */

typedef struct {
    size_t m, n;
    uint8_t *V;
    cl_buf proof;
} rp_case;

static void rp_make(rp_case *c, const uint64_t *values, size_t m, size_t n, const char *label) {
    por_transcript t;
    por_scalar *g = malloc(m * sizeof *g);
    por_point *V = malloc(m * sizeof *V);
    for (size_t j = 0; j < m; j++)
        por_scalar_random(&g[j]);
    c->m = m;
    c->n = n;
    c->proof = CL_BUF_INIT;
    c->V = malloc(m * 48);
    por_transcript_init(&t, label);
    assert_int_equal(por_rangeproof_prove(&t, values, g, m, n, &c->proof, V), CL_OK);
    assert_int_equal(c->proof.len, por_rangeproof_size(m, n));
    for (size_t j = 0; j < m; j++) {
        por_point_to_bytes(c->V + 48 * j, &V[j]);
        por_point want; /* V_j is the Pedersen commitment to v_j */
        por_commit_u64(&want, values[j], &g[j]);
        assert_true(por_point_eq(&want, &V[j]));
    }
    free(g);
    free(V);
}

static cl_err rp_check(const rp_case *c, const uint8_t *V, cl_slice proof, const char *label) {
    por_transcript t;
    por_transcript_init(&t, label);
    return por_rangeproof_verify(&t, V, c->m, c->n, proof);
}

static void rp_free(rp_case *c) {
    free(c->V);
    buf_free(&c->proof);
}

static void test_rangeproof_shapes(void **st) {
    (void)st;
    /* 400 + 96·log2(slots), slots = the power of two >= 8m + 256 (n = 64) */
    assert_int_equal(por_rangeproof_size(1, 64), 400 + 96 * 9);
    assert_int_equal(por_rangeproof_size(3, 64), 400 + 96 * 9);
    assert_int_equal(por_rangeproof_size(32, 64), 400 + 96 * 9);
    assert_int_equal(por_rangeproof_size(33, 64), 400 + 96 * 10);
    assert_int_equal(por_rangeproof_size(480, 64), 400 + 96 * 12);
    assert_int_equal(por_rangeproof_size(481, 64), 400 + 96 * 13);
    assert_int_equal(por_rangeproof_size(1024, 64), 400 + 96 * 14);
    assert_int_equal(por_rangeproof_size(1, 8), 400 + 96 * 9);
    assert_int_equal(por_rangeproof_size(0, 64), 0);
    assert_int_equal(por_rangeproof_size(1, 44), 0); /* not a multiple of 8 */
    assert_int_equal(por_rangeproof_size(1025, 64), 0);
    const size_t ns[] = {64, 32};
    for (size_t ni = 0; ni < 2; ni++) {
        size_t n = ns[ni];
        uint64_t top = n == 64 ? UINT64_MAX : ((uint64_t)1 << n) - 1;
        for (size_t m = 1; m <= 8; m += m < 3 ? 1 : 5) { /* 1, 2, 3, 8 */
            uint64_t v[8];
            for (size_t j = 0; j < m; j++) {
                crypto_random(&v[j], 8);
                if (n < 64) v[j] &= top;
            }
            v[0] = m == 1 ? top : 0; /* the boundaries */
            if (m > 1) v[1] = 1;
            if (m > 2) v[2] = top;
            rp_case c;
            rp_make(&c, v, m, n, "test/range");
            assert_int_equal(rp_check(&c, c.V, buf_slice(&c.proof), "test/range"), CL_OK);
            rp_free(&c);
        }
    }
    /* n = 8 and 16 work too; bad shapes are refused */
    uint64_t v[2] = {255, 65535};
    rp_case c;
    rp_make(&c, v, 1, 8, "t");
    assert_int_equal(rp_check(&c, c.V, buf_slice(&c.proof), "t"), CL_OK);
    rp_free(&c);
    rp_make(&c, v + 1, 1, 16, "t");
    assert_int_equal(rp_check(&c, c.V, buf_slice(&c.proof), "t"), CL_OK);
    rp_free(&c);
    por_transcript t;
    por_scalar g[3];
    cl_buf out = CL_BUF_INIT;
    for (int i = 0; i < 3; i++)
        por_scalar_random(&g[i]);
    uint64_t three[3] = {1, 2, 3};
    por_transcript_init(&t, "t");
    assert_int_equal(por_rangeproof_prove(&t, three, g, 0, 64, &out, NULL), CL_ERR_INVALID);
    assert_int_equal(por_rangeproof_prove(&t, three, g, 1, 44, &out, NULL), CL_ERR_INVALID);
    assert_int_equal(out.len, 0);
}

static void test_rangeproof_out_of_range(void **st) {
    (void)st;
    por_transcript t;
    por_scalar g[2];
    cl_buf out = CL_BUF_INIT;
    por_scalar_random(&g[0]);
    por_scalar_random(&g[1]);
    /* the prover refuses */
    uint64_t big[2] = {(uint64_t)1 << 32, 5};
    por_transcript_init(&t, "t");
    assert_int_equal(por_rangeproof_prove(&t, big, g, 1, 32, &out, NULL), CL_ERR_INVALID);
    uint64_t big2[2] = {5, UINT64_MAX};
    assert_int_equal(por_rangeproof_prove(&t, big2, g, 2, 32, &out, NULL), CL_ERR_INVALID);
    assert_int_equal(out.len, 0);

    /* and a proof forced through the unchecked prover is rejected: 2^n, 2^64
     * (n = 64), -1 and -5 (r - 1, r - 5), and the other value in range */
    struct {
        size_t n;
        int kind;
    } cases[] = {{32, 0}, {64, 1}, {64, 2}, {32, 3}, {64, 4}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t n = cases[k].n;
        por_scalar v[2];
        switch (cases[k].kind) {
        case 0:
            por_scalar_from_u64(&v[0], (uint64_t)1 << 32);
            break;
        case 1: { /* 2^64 */
            por_scalar a;
            por_scalar_from_u64(&a, UINT64_MAX);
            por_scalar_one(&v[0]);
            por_scalar_add(&v[0], &v[0], &a);
            break;
        }
        case 2:
            por_scalar_from_i64(&v[0], -1);
            break;
        case 3:
            por_scalar_from_i64(&v[0], -5);
            break;
        default: { /* 2^64 + 7: its low 64 bits alone are in range */
            por_scalar a, b;
            por_scalar_from_u64(&a, UINT64_MAX);
            por_scalar_from_u64(&b, 8);
            por_scalar_add(&v[0], &a, &b);
        }
        }
        por_scalar_from_u64(&v[1], 42);
        por_point V[2];
        uint8_t Vb[96];
        cl_buf proof = CL_BUF_INIT;
        por_transcript_init(&t, "t/oor");
        assert_int_equal(por_rangeproof_prove_unchecked(&t, v, g, 2, n, &proof, V), CL_OK);
        por_point_to_bytes(Vb, &V[0]);
        por_point_to_bytes(Vb + 48, &V[1]);
        por_transcript_init(&t, "t/oor");
        assert_int_equal(por_rangeproof_verify(&t, Vb, 2, n, buf_slice(&proof)), CL_ERR_CRYPTO);
        buf_free(&proof);
    }
    /* control: the unchecked prover's proof of in-range values verifies */
    por_scalar v[2];
    por_point V[2];
    uint8_t Vb[96];
    cl_buf proof = CL_BUF_INIT;
    por_scalar_from_u64(&v[0], 7);
    por_scalar_from_u64(&v[1], 42);
    por_transcript_init(&t, "t/oor");
    assert_int_equal(por_rangeproof_prove_unchecked(&t, v, g, 2, 32, &proof, V), CL_OK);
    por_point_to_bytes(Vb, &V[0]);
    por_point_to_bytes(Vb + 48, &V[1]);
    por_transcript_init(&t, "t/oor");
    assert_int_equal(por_rangeproof_verify(&t, Vb, 2, 32, buf_slice(&proof)), CL_OK);
    buf_free(&proof);
}

/* Proof layout (rangeproof.h): D, A, S, T1, T2, then t̂, τx, μ, then L/R. */
#define RP_SC0 (5 * 48)
#define RP_LR0 (5 * 48 + 3 * 32)

/* A cheating prover that writes a value with digits that add up to it but are
 * not all in the table 0..255: the lookup must reject it, whether the value is
 * out of range (2^64, -1, -256, 2^64 + 7) or in range with a non-canonical
 * digit (300 as one digit). The control with the true digits verifies. */
static void test_rangeproof_forged_digits(void **st) {
    (void)st;
    por_scalar g[2], big, one, minus1, d[16];
    por_scalar_random(&g[0]);
    por_scalar_random(&g[1]);
    por_scalar_from_u64(&big, UINT64_MAX);
    por_scalar_one(&one);
    por_scalar_add(&big, &big, &one); /* 2^64 */
    por_scalar_from_i64(&minus1, -1);
    for (int kind = 0; kind < 6; kind++) {
        por_scalar v[2];
        for (int i = 0; i < 16; i++)
            por_scalar_zero(&d[i]);
        por_scalar_from_u64(&v[1], 42);
        por_scalar_from_u64(&d[8], 42);
        switch (kind) {
        case 0: /* control: 0x0102030405060708 with its own digits */
            por_scalar_from_u64(&v[0], 0x0102030405060708u);
            for (int k = 0; k < 8; k++)
                por_scalar_from_u64(&d[k], 8 - k);
            break;
        case 1: /* 2^64 = 256·256^7 */
            v[0] = big;
            por_scalar_from_u64(&d[7], 256);
            break;
        case 2: /* -1 as digit 0 */
            v[0] = minus1;
            d[0] = minus1;
            break;
        case 3: /* -256 as digit 1 = -1 */
            por_scalar_from_i64(&v[0], -256);
            d[1] = minus1;
            break;
        case 4: /* 300 (in range) as one digit 300 */
            por_scalar_from_u64(&v[0], 300);
            por_scalar_from_u64(&d[0], 300);
            break;
        default: /* 2^64 + 7 */
            por_scalar_from_u64(&d[0], 7);
            por_scalar_add(&v[0], &big, &d[0]);
            por_scalar_from_u64(&d[7], 256);
        }
        por_transcript t;
        por_point V[2];
        uint8_t Vb[96];
        cl_buf proof = CL_BUF_INIT;
        por_transcript_init(&t, "t/forged");
        assert_int_equal(por_rangeproof_prove_forged_digits(&t, v, g, d, 2, 64, &proof, V), CL_OK);
        por_point_to_bytes(Vb, &V[0]);
        por_point_to_bytes(Vb + 48, &V[1]);
        por_transcript_init(&t, "t/forged");
        assert_int_equal(por_rangeproof_verify(&t, Vb, 2, 64, buf_slice(&proof)),
                         kind == 0 ? CL_OK : CL_ERR_CRYPTO);
        buf_free(&proof);
    }
}

static void test_rangeproof_tamper(void **st) {
    (void)st;
    uint64_t v[2] = {123456789, 4000000000u};
    rp_case c;
    rp_make(&c, v, 2, 32, "test/tamper");
    const char *L = "test/tamper";
    size_t len = c.proof.len;
    assert_int_equal(len, 400 + 96 * 9); /* 8 digits + 256 table slots: 512 */
    uint8_t *p = malloc(len + 1);
    memcpy(p, c.proof.ptr, len);
    assert_int_equal(rp_check(&c, c.V, slice_of(p, len), L), CL_OK);

    /* every byte flipped (low bit), and the top bit of each point's flag byte
     * and scalar's first byte */
    for (size_t i = 0; i < len; i++) {
        p[i] ^= 0x01;
        assert_int_not_equal(rp_check(&c, c.V, slice_of(p, len), L), CL_OK);
        p[i] ^= 0x01;
    }
    for (size_t i = 0; i < len; i++) {
        bool pt_flag =
            (i < RP_SC0 && i % 48 == 0) || (i >= RP_LR0 && i < len - 64 && (i - RP_LR0) % 48 == 0);
        bool sc_top =
            (i >= RP_SC0 && i < RP_LR0 && (i - RP_SC0) % 32 == 0) || i == len - 64 || i == len - 32;
        if (!pt_flag && !sc_top) continue;
        for (uint8_t bit = 0x20; bit; bit <<= 1) {
            p[i] ^= bit;
            assert_int_not_equal(rp_check(&c, c.V, slice_of(p, len), L), CL_OK);
            p[i] ^= bit;
        }
    }
    /* truncated and extended */
    assert_int_equal(rp_check(&c, c.V, slice_of(p, len - 1), L), CL_ERR_INVALID);
    assert_int_equal(rp_check(&c, c.V, slice_of(p, len - 32), L), CL_ERR_INVALID);
    assert_int_equal(rp_check(&c, c.V, slice_of(p, 0), L), CL_ERR_INVALID);
    p[len] = 0;
    assert_int_equal(rp_check(&c, c.V, slice_of(p, len + 1), L), CL_ERR_INVALID);
    /* another transcript label, the commitments swapped, another commitment */
    assert_int_equal(rp_check(&c, c.V, slice_of(p, len), "test/tamper2"), CL_ERR_CRYPTO);
    uint8_t V2[96];
    memcpy(V2, c.V + 48, 48);
    memcpy(V2 + 48, c.V, 48);
    assert_int_equal(rp_check(&c, V2, slice_of(p, len), L), CL_ERR_CRYPTO);
    por_point other;
    por_scalar g;
    por_scalar_random(&g);
    por_commit_u64(&other, 123456789, &g); /* same value, another blinding */
    memcpy(V2, c.V, 96);
    por_point_to_bytes(V2, &other);
    assert_int_equal(rp_check(&c, V2, slice_of(p, len), L), CL_ERR_CRYPTO);
    por_point_identity(&other);
    por_point_to_bytes(V2, &other);
    assert_int_equal(rp_check(&c, V2, slice_of(p, len), L), CL_ERR_INVALID);
    /* verified as n = 64 or as m = 1 (same slot count, so same size: they
     * decode and fail), or as m = 40 (another size) */
    por_transcript t;
    por_transcript_init(&t, L);
    assert_int_equal(por_rangeproof_verify(&t, c.V, 2, 64, slice_of(p, len)), CL_ERR_CRYPTO);
    por_transcript_init(&t, L);
    assert_int_equal(por_rangeproof_verify(&t, c.V, 1, 32, slice_of(p, len)), CL_ERR_CRYPTO);
    por_transcript_init(&t, L);
    assert_int_equal(por_rangeproof_verify(&t, c.V, 40, 64, slice_of(p, len)), CL_ERR_INVALID);

    /* points off the curve, outside the subgroup, the identity; scalars >= r */
    uint8_t off[48], outside[48], ident[48] = {0xc0};
    bool have_off = false, have_out = false;
    for (uint8_t x = 1; x < 200 && !(have_off && have_out); x++) {
        uint8_t b[48] = {0x80};
        por_affine a;
        b[47] = x;
        BLST_ERROR e = blst_p1_uncompress(&a, b);
        if (e == BLST_POINT_NOT_ON_CURVE && !have_off) memcpy(off, b, 48), have_off = true;
        if (e == BLST_SUCCESS && !blst_p1_affine_in_g1(&a) && !have_out)
            memcpy(outside, b, 48), have_out = true;
    }
    assert_true(have_off && have_out);
    const size_t point_at[] = {0, 48, 96, 144, 192, RP_LR0, len - 64 - 48};
    const uint8_t *bads[] = {off, outside, ident};
    for (size_t k = 0; k < sizeof point_at / sizeof point_at[0]; k++)
        for (int b = 0; b < 3; b++) {
            memcpy(p + point_at[k], bads[b], 48);
            assert_int_equal(rp_check(&c, c.V, slice_of(p, len), L), CL_ERR_INVALID);
            memcpy(p, c.proof.ptr, len);
        }
    memcpy(V2, c.V, 96);
    memcpy(V2 + 48, outside, 48);
    assert_int_equal(rp_check(&c, V2, slice_of(p, len), L), CL_ERR_INVALID);
    /* a scalar replaced by itself + r (same residue, not canonical) or by r */
    const size_t scalar_at[] = {RP_SC0, RP_SC0 + 32, RP_SC0 + 64, len - 64, len - 32};
    BIGNUM *r = bn_r();
    for (size_t k = 0; k < sizeof scalar_at / sizeof scalar_at[0]; k++) {
        BIGNUM *s = BN_bin2bn(p + scalar_at[k], 32, NULL);
        BN_add(s, s, r);
        if (BN_num_bytes(s) <= 32) {
            BN_bn2binpad(s, p + scalar_at[k], 32);
            assert_int_equal(rp_check(&c, c.V, slice_of(p, len), L), CL_ERR_INVALID);
        }
        BN_bn2binpad(r, p + scalar_at[k], 32);
        assert_int_equal(rp_check(&c, c.V, slice_of(p, len), L), CL_ERR_INVALID);
        memcpy(p, c.proof.ptr, len);
        BN_free(s);
    }
    BN_free(r);
    /* swapping two L/R points, or D with A */
    memcpy(p + RP_LR0, c.proof.ptr + RP_LR0 + 48, 48);
    memcpy(p + RP_LR0 + 48, c.proof.ptr + RP_LR0, 48);
    assert_int_equal(rp_check(&c, c.V, slice_of(p, len), L), CL_ERR_CRYPTO);
    memcpy(p, c.proof.ptr, len);
    memcpy(p, c.proof.ptr + 48, 48);
    memcpy(p + 48, c.proof.ptr, 48);
    assert_int_equal(rp_check(&c, c.V, slice_of(p, len), L), CL_ERR_CRYPTO);
    free(p);
    rp_free(&c);
}

static void test_rangeproof_batch(void **st) {
    (void)st;
    rp_case cs[4];
    uint64_t v[8] = {0, 1, 2, 3, UINT64_MAX, 99, 1u << 31, 77};
    rp_make(&cs[0], v, 1, 64, "b0");
    rp_make(&cs[1], v + 1, 2, 64, "b1");
    rp_make(&cs[2], v + 4, 4, 32 * 2, "b2");
    rp_make(&cs[3], v, 4, 32, "b3");
    const char *labels[4] = {"b0", "b1", "b2", "b3"};
    por_transcript ts[4];
    por_rangeproof_item items[4];
    for (int pass = 0; pass < 4; pass++) {
        for (int k = 0; k < 4; k++) {
            por_transcript_init(&ts[k], labels[k]);
            items[k] =
                (por_rangeproof_item){&ts[k], cs[k].V, cs[k].m, cs[k].n, buf_slice(&cs[k].proof)};
        }
        if (pass == 0) {
            assert_int_equal(por_rangeproof_verify_batch(items, 4), CL_OK);
            /* the transcripts end where single verification leaves them */
            por_transcript one;
            por_transcript_init(&one, labels[2]);
            assert_int_equal(por_rangeproof_verify(&one, cs[2].V, 4, 64, buf_slice(&cs[2].proof)),
                             CL_OK);
            assert_memory_equal(one.state, ts[2].state, 32);
            /* commitments as points, alone and in a batch (item 1) */
            por_affine pts[4];
            for (size_t j = 0; j < 4; j++)
                assert_int_equal(por_affine_from_bytes(&pts[j], cs[2].V + 48 * j), CL_OK);
            por_transcript_init(&one, labels[2]);
            assert_int_equal(
                por_rangeproof_verify_points(&one, pts, 4, 64, buf_slice(&cs[2].proof)), CL_OK);
            assert_memory_equal(one.state, ts[2].state, 32);
            por_transcript_init(&one, labels[2]);
            assert_int_equal(/* m = 3 has the same proof size: it decodes, fails */
                             por_rangeproof_verify_points(&one, pts + 1, 4 - 1, 64,
                                                          buf_slice(&cs[2].proof)),
                             CL_ERR_CRYPTO);
            pts[0] = pts[1]; /* another commitment */
            por_transcript_init(&one, labels[2]);
            assert_int_equal(
                por_rangeproof_verify_points(&one, pts, 4, 64, buf_slice(&cs[2].proof)),
                CL_ERR_CRYPTO);
            memset(&pts[0], 0, sizeof pts[0]); /* the identity */
            por_transcript_init(&one, labels[2]);
            assert_int_equal(
                por_rangeproof_verify_points(&one, pts, 4, 64, buf_slice(&cs[2].proof)),
                CL_ERR_INVALID);
            por_affine p1[2];
            for (size_t j = 0; j < 2; j++)
                assert_int_equal(por_affine_from_bytes(&p1[j], cs[1].V + 48 * j), CL_OK);
            for (int k = 0; k < 4; k++)
                por_transcript_init(&ts[k], labels[k]);
            items[1].commitments = NULL;
            items[1].commitment_points = p1;
            assert_int_equal(por_rangeproof_verify_batch(items, 4), CL_OK);
        } else if (pass == 1) { /* one item with another's label */
            por_transcript_init(&ts[3], "b2");
            assert_int_equal(por_rangeproof_verify_batch(items, 4), CL_ERR_CRYPTO);
        } else if (pass == 2) { /* a scalar of one proof changed (t_hat) */
            cs[1].proof.ptr[RP_SC0 + 31] ^= 1;
            assert_int_equal(por_rangeproof_verify_batch(items, 4), CL_ERR_CRYPTO);
            cs[1].proof.ptr[RP_SC0 + 31] ^= 1;
        } else { /* commitments of two items exchanged (same m) */
            items[2].commitments = cs[3].V;
            items[3].commitments = cs[2].V;
            assert_int_not_equal(por_rangeproof_verify_batch(items, 4), CL_OK);
        }
    }
    assert_int_equal(por_rangeproof_verify_batch(items, 0), CL_OK);
    for (int k = 0; k < 4; k++)
        rp_free(&cs[k]);
}

/* Provers in several threads at once share the generator cache (which grows
 * under them) and the one-time constants. */
static void *prove_in_thread(void *arg) {
    /* no cmocka asserts here: they may only fail from the main thread */
    size_t m = (size_t)(uintptr_t)arg;
    for (size_t k = 0; k < 2; k++) {
        uint64_t v[4] = {1, 2, 3, 4};
        por_scalar g[4];
        por_point V[4];
        uint8_t Vb[4 * 48];
        cl_buf proof = CL_BUF_INIT;
        por_transcript t;
        for (size_t j = 0; j < m; j++)
            por_scalar_random(&g[j]);
        por_transcript_init(&t, "threads");
        if (por_rangeproof_prove(&t, v, g, m, (size_t)8 << k, &proof, V) != CL_OK) abort();
        for (size_t j = 0; j < m; j++)
            por_point_to_bytes(Vb + 48 * j, &V[j]);
        por_transcript_init(&t, "threads");
        if (por_rangeproof_verify(&t, Vb, m, (size_t)8 << k, buf_slice(&proof)) != CL_OK) abort();
        buf_free(&proof);
        por_generators("test/threads", 50 * (k + 1) * m);
    }
    return NULL;
}

static void test_threads(void **st) {
    (void)st;
    pthread_t th[3];
    for (uintptr_t i = 0; i < 3; i++)
        assert_int_equal(
            pthread_create(&th[i], NULL, prove_in_thread, (void *)(i == 2 ? 4 : 1 + i)), 0);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    por_affine a;
    por_generator(&a, "test/threads", 199);
    assert_true(blst_p1_affine_is_equal(&por_generators("test/threads", 200)[199], &a));
}

static int teardown(void **st) {
    (void)st;
    por_curve_cleanup();
    return 0;
}

int main(void) {
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_scalar_basics),
        cmocka_unit_test(test_scalar_ints),
        cmocka_unit_test(test_scalar_vs_bignum),
        cmocka_unit_test(test_point_encoding),
        cmocka_unit_test(test_point_arith),
        cmocka_unit_test(test_point_endo),
        cmocka_unit_test(test_point_fold),
        cmocka_unit_test(test_generators),
        cmocka_unit_test(test_hash_to_curve_vectors),
        cmocka_unit_test(test_msm),
        cmocka_unit_test(test_ct_msm),
        cmocka_unit_test(test_pedersen),
        cmocka_unit_test(test_transcript),
        cmocka_unit_test(test_rangeproof_shapes),
        cmocka_unit_test(test_rangeproof_out_of_range),
        cmocka_unit_test(test_rangeproof_forged_digits),
        cmocka_unit_test(test_rangeproof_tamper),
        cmocka_unit_test(test_rangeproof_batch),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(t, NULL, teardown);
}
