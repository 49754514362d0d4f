/* test_por_rangeproof.c — range proofs of any width (src/por/rangeproof.h):
 * n any multiple of 8 from 8 to 248 and values given as scalars, next to the
 * n = 8..64 cases test_por_curve.c covers. Round trips at the boundaries
 * 0, 1, 2^n - 1 for several widths and batch sizes; the honest prover refuses
 * 2^n, 2^n + 5 and r - 1; proofs of those forced through the test provers
 * (unchecked, forged digits) are rejected at n = 128 and 216; commitments made
 * elsewhere (por_rangeproof_prove_committed) bind as the prover's own do;
 * batches mix widths; a proof checked at another width fails; and a proof
 * made by cloister-por-v1's code (n = 64, pasted below) still verifies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "por/curve.h"
#include "por/rangeproof.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PT POR_POINT_LEN
#define SC POR_SCALAR_LEN

static void unhex(uint8_t *out, const char *hex, size_t n) {
    assert_int_equal(strlen(hex), 2 * n);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

/* ---- values ---- */

static void sc_be(por_scalar *out, const uint8_t be[SC]) {
    assert_int_equal(por_scalar_from_bytes(out, be), CL_OK);
}

/* 2^bits + add (bits <= 248) */
static void sc_pow2(por_scalar *out, size_t bits, uint64_t add) {
    uint8_t be[SC] = {0};
    be[SC - 1 - bits / 8] = (uint8_t)(1u << (bits % 8));
    sc_be(out, be);
    por_scalar a;
    por_scalar_from_u64(&a, add);
    por_scalar_add(out, out, &a);
}

/* 2^n - 1 */
static void sc_top(por_scalar *out, size_t n) {
    uint8_t be[SC] = {0};
    memset(be + SC - n / 8, 0xff, n / 8);
    sc_be(out, be);
}

/* uniform below 2^n */
static void sc_below(por_scalar *out, size_t n) {
    uint8_t be[SC];
    por_scalar r;
    por_scalar_random(&r);
    por_scalar_to_bytes(be, &r);
    memset(be, 0, SC - n / 8);
    sc_be(out, be);
}

/* r - 1 */
static void sc_minus1(por_scalar *out) {
    por_scalar_from_i64(out, -1);
}

/* ---- a proof and its commitments ---- */

typedef struct {
    size_t m, n;
    por_scalar *v, *g;
    por_affine *Va;
    uint8_t *V;
    cl_buf proof;
    uint8_t state[32]; /* the prover's transcript after the proof */
} wcase;

static void wcase_alloc(wcase *c, size_t m, size_t n) {
    c->m = m;
    c->n = n;
    c->v = calloc(m, sizeof *c->v);
    c->g = calloc(m, sizeof *c->g);
    c->Va = calloc(m, sizeof *c->Va);
    c->V = calloc(m, PT);
    c->proof = CL_BUF_INIT;
    for (size_t j = 0; j < m; j++) {
        sc_below(&c->v[j], n);
        por_scalar_random(&c->g[j]);
    }
}

/* Proves c->v with por_rangeproof_prove_scalars and checks the commitments
 * it returns are the Pedersen commitments to the values. */
static void wcase_prove(wcase *c, const char *label) {
    por_transcript t;
    por_point *P = calloc(c->m, sizeof *P);
    por_transcript_init(&t, label);
    assert_int_equal(por_rangeproof_prove_scalars(&t, c->v, c->g, c->m, c->n, &c->proof, P), CL_OK);
    assert_int_equal(c->proof.len, por_rangeproof_size(c->m, c->n));
    memcpy(c->state, t.state, 32);
    for (size_t j = 0; j < c->m; j++) {
        por_point want;
        por_commit(&want, &c->v[j], &c->g[j]);
        assert_true(por_point_eq(&want, &P[j]));
        por_point_to_bytes(c->V + PT * j, &P[j]);
    }
    por_points_to_affine(c->Va, P, c->m);
    free(P);
}

/* One proof through the batch verifier in the given challenge mode, its
 * commitments as bytes (V) or, if V is NULL, as points (Va). */
static cl_err verify1(por_transcript *t, const uint8_t *V, const por_affine *Va, size_t m, size_t n,
                      cl_slice proof, bool wide) {
    por_rangeproof_item it = {t, V, m, n, proof, Va, wide};
    return por_rangeproof_verify_batch(&it, 1);
}

/* c's proof (wide: made by the v2 entries) checked as n bits. */
static cl_err wcase_verify(const wcase *c, size_t n, const char *label, uint8_t *state) {
    por_transcript t;
    por_transcript_init(&t, label);
    cl_err e = verify1(&t, c->V, NULL, c->m, n, buf_slice(&c->proof), true);
    if (state) memcpy(state, t.state, 32);
    return e;
}

static void wcase_free(wcase *c) {
    free(c->v);
    free(c->g);
    free(c->Va);
    free(c->V);
    buf_free(&c->proof);
}

/* ---- shapes ---- */

static void test_shapes(void **st) {
    (void)st;
    /* every multiple of 8 up to 248; slots = power of two >= m·n/8 + 256 */
    for (size_t n = 8; n <= POR_RP_MAX_N; n += 8) {
        assert_int_equal(por_rangeproof_slots(1, n), 512);
        assert_int_equal(por_rangeproof_size(1, n), 400 + 96 * 9);
    }
    assert_int_equal(por_rangeproof_slots(240, 128), 4096);
    assert_int_equal(por_rangeproof_size(240, 128), 400 + 96 * 12);
    assert_int_equal(por_rangeproof_slots(142, 216), 4096);
    assert_int_equal(por_rangeproof_size(142, 216), 400 + 96 * 12);
    assert_int_equal(por_rangeproof_slots(143, 216), 8192);
    assert_int_equal(por_rangeproof_slots(142, 248), 8192);
    assert_int_equal(por_rangeproof_slots(POR_RP_MAX_M, 248), 32768); /* the largest */
    assert_int_equal(por_rangeproof_size(POR_RP_MAX_M, 248), 400 + 96 * 15);
    /* not multiples of 8, too wide, m out of range */
    const size_t bad_n[] = {0, 4, 12, 63, 65, 249, 256, 1024};
    for (size_t k = 0; k < sizeof bad_n / sizeof bad_n[0]; k++) {
        assert_int_equal(por_rangeproof_size(1, bad_n[k]), 0);
        assert_int_equal(por_rangeproof_slots(1, bad_n[k]), 0);
    }
    assert_int_equal(por_rangeproof_size(0, 128), 0);
    assert_int_equal(por_rangeproof_size(POR_RP_MAX_M + 1, 128), 0);
    por_scalar v = {0}, g;
    por_scalar_random(&g);
    por_transcript t;
    cl_buf out = CL_BUF_INIT;
    por_transcript_init(&t, "t");
    assert_int_equal(por_rangeproof_prove_scalars(&t, &v, &g, 1, 256, &out, NULL), CL_ERR_INVALID);
    assert_int_equal(por_rangeproof_prove_scalars(&t, &v, &g, 1, 20, &out, NULL), CL_ERR_INVALID);
    assert_int_equal(por_rangeproof_prove_scalars(&t, &v, &g, 0, 64, &out, NULL), CL_ERR_INVALID);
    assert_int_equal(out.len, 0);
}

/* ---- round trips ---- */

static void roundtrip(size_t m, size_t n) {
    wcase c;
    wcase_alloc(&c, m, n);
    if (m == 1) {
        sc_top(&c.v[0], n);
    } else {
        por_scalar_zero(&c.v[0]);
        por_scalar_one(&c.v[1]);
        sc_top(&c.v[2], n);
    }
    wcase_prove(&c, "test/width");
    uint8_t state[32];
    assert_int_equal(wcase_verify(&c, n, "test/width", state), CL_OK);
    assert_memory_equal(state, c.state, 32); /* prover and verifier end alike */
    por_transcript t;
    por_transcript_init(&t, "test/width");
    assert_int_equal(verify1(&t, NULL, c.Va, m, n, buf_slice(&c.proof), true), CL_OK);
    /* a wide proof is not a short one */
    por_transcript_init(&t, "test/width");
    assert_int_equal(por_rangeproof_verify(&t, c.V, m, n, buf_slice(&c.proof)), CL_ERR_CRYPTO);
    wcase_free(&c);
}

static void test_roundtrip_small(void **st) {
    (void)st;
    const size_t ns[] = {8, 64, 72, 128, 152, 216, 248};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        roundtrip(1, ns[k]);
        roundtrip(3, ns[k]);
    }
}

static void test_roundtrip_142(void **st) {
    (void)st;
    const size_t ns[] = {8, 64, 72, 128, 152, 216, 248};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++)
        roundtrip(142, ns[k]);
}

/* The uint64 prover at widths above 64: every uint64 fits. */
static void test_u64_wide(void **st) {
    (void)st;
    uint64_t v[2] = {UINT64_MAX, 0};
    por_scalar g[2];
    por_point P[2];
    uint8_t Vb[2 * PT];
    por_scalar_random(&g[0]);
    por_scalar_random(&g[1]);
    const size_t ns[] = {72, 128, 248};
    for (size_t k = 0; k < 3; k++) {
        cl_buf proof = CL_BUF_INIT;
        por_transcript t;
        por_transcript_init(&t, "t/u64");
        assert_int_equal(por_rangeproof_prove(&t, v, g, 2, ns[k], &proof, P), CL_OK);
        por_point_to_bytes(Vb, &P[0]);
        por_point_to_bytes(Vb + PT, &P[1]);
        por_transcript_init(&t, "t/u64");
        assert_int_equal(por_rangeproof_verify(&t, Vb, 2, ns[k], buf_slice(&proof)), CL_OK);
        buf_free(&proof);
    }
}

/* ---- out of range ---- */

/* 2^n, 2^n + 5, r - 1 */
static void bad_value(por_scalar *out, size_t n, int kind) {
    if (kind == 0)
        sc_pow2(out, n, 0);
    else if (kind == 1)
        sc_pow2(out, n, 5);
    else
        sc_minus1(out);
}

/* The honest provers refuse a value >= 2^n among in-range ones, write nothing
 * and leave the transcript as it was. */
static void test_refuses(void **st) {
    (void)st;
    const size_t ns[] = {8, 64, 72, 128, 216, 248};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        size_t n = ns[k];
        for (int kind = 0; kind < 3; kind++) {
            wcase c;
            wcase_alloc(&c, 3, n);
            bad_value(&c.v[1], n, kind);
            por_point P[3];
            for (size_t j = 0; j < 3; j++)
                por_commit(&P[j], &c.v[j], &c.g[j]);
            por_points_to_affine(c.Va, P, 3);
            por_transcript t, t0;
            por_transcript_init(&t, "t/refuse");
            t0 = t;
            assert_int_equal(por_rangeproof_prove_scalars(&t, c.v, c.g, 3, n, &c.proof, NULL),
                             CL_ERR_INVALID);
            assert_int_equal(por_rangeproof_prove_committed(&t, c.v, c.g, c.Va, 3, n, &c.proof),
                             CL_ERR_INVALID);
            assert_int_equal(c.proof.len, 0);
            assert_memory_equal(t.state, t0.state, 32);
            wcase_free(&c);
        }
    }
}

/* Proofs of 2^n, 2^n + 5 and r - 1 forced through the test provers fail: the
 * unchecked prover (the values' own low bytes as digits, which do not add up
 * to them) and forged digits that add up but leave the table (256 as the top
 * digit, r - 1 as the lowest). Controls: 2^n - 1 through both verifies. */
static void test_forged_wide(void **st) {
    (void)st;
    const size_t ns[] = {128, 216};
    for (size_t k = 0; k < 2; k++) {
        size_t n = ns[k], K = n / 8;
        for (int kind = -1; kind < 3; kind++) {
            por_scalar v[2], g[2], *d = calloc(2 * K, sizeof *d);
            por_scalar_random(&g[0]);
            por_scalar_random(&g[1]);
            por_scalar_from_u64(&v[1], 42);
            por_scalar_from_u64(&d[K], 42);
            if (kind < 0) { /* control: 2^n - 1, every digit 255 */
                sc_top(&v[0], n);
                for (size_t i = 0; i < K; i++)
                    por_scalar_from_u64(&d[i], 255);
            } else {
                bad_value(&v[0], n, kind);
                if (kind < 2) {
                    por_scalar_from_u64(&d[K - 1], 256);
                    por_scalar_from_u64(&d[0], kind == 1 ? 5 : 0);
                } else {
                    sc_minus1(&d[0]);
                }
            }
            cl_err want = kind < 0 ? CL_OK : CL_ERR_CRYPTO;
            for (int mode = 0; mode < 4; mode++) { /* forged digits?, wide? */
                bool forged = mode & 1, wide = mode & 2;
                por_transcript t;
                por_point P[2];
                uint8_t Vb[2 * PT];
                cl_buf proof = CL_BUF_INIT;
                por_transcript_init(&t, "t/forged");
                cl_err e;
                if (forged && wide)
                    e = por_rangeproof_prove_forged_digits_wide(&t, v, g, d, 2, n, &proof, P);
                else if (forged)
                    e = por_rangeproof_prove_forged_digits(&t, v, g, d, 2, n, &proof, P);
                else if (wide)
                    e = por_rangeproof_prove_unchecked_wide(&t, v, g, 2, n, &proof, P);
                else
                    e = por_rangeproof_prove_unchecked(&t, v, g, 2, n, &proof, P);
                assert_int_equal(e, CL_OK);
                por_point_to_bytes(Vb, &P[0]);
                por_point_to_bytes(Vb + PT, &P[1]);
                por_transcript_init(&t, "t/forged");
                assert_int_equal(verify1(&t, Vb, NULL, 2, n, buf_slice(&proof), wide), want);
                buf_free(&proof);
            }
            free(d);
        }
    }
}

/* ---- commitments made elsewhere ---- */

static void test_committed(void **st) {
    (void)st;
    const size_t ms[] = {3, 5}, ns[] = {128, 216};
    for (size_t k = 0; k < 2; k++) {
        size_t m = ms[k], n = ns[k];
        wcase c;
        wcase_alloc(&c, m, n);
        sc_top(&c.v[m - 1], n);
        por_point *P = calloc(m, sizeof *P);
        for (size_t j = 0; j < m; j++) {
            por_commit(&P[j], &c.v[j], &c.g[j]);
            por_point_to_bytes(c.V + PT * j, &P[j]);
        }
        por_points_to_affine(c.Va, P, m);
        por_transcript t;
        por_transcript_init(&t, "t/committed");
        assert_int_equal(por_rangeproof_prove_committed(&t, c.v, c.g, c.Va, m, n, &c.proof), CL_OK);
        assert_int_equal(c.proof.len, por_rangeproof_size(m, n));
        uint8_t state[32];
        assert_int_equal(wcase_verify(&c, n, "t/committed", state), CL_OK);
        assert_memory_equal(state, t.state, 32);
        por_transcript_init(&t, "t/committed");
        assert_int_equal(verify1(&t, NULL, c.Va, m, n, buf_slice(&c.proof), true), CL_OK);

        /* a commitment that does not open to (v, g): to v + 1, or with
         * another blinding. The prover does not notice; the proof fails. */
        for (int wrong = 0; wrong < 2; wrong++) {
            por_affine *Vw = calloc(m, sizeof *Vw);
            por_scalar v1 = c.v[1], g1 = c.g[1], one;
            por_scalar_one(&one);
            if (wrong == 0)
                por_scalar_add(&v1, &v1, &one);
            else
                por_scalar_random(&g1);
            memcpy(Vw, c.Va, m * sizeof *Vw);
            por_point W;
            por_commit(&W, &v1, &g1);
            por_point_to_affine(&Vw[1], &W);
            cl_buf proof = CL_BUF_INIT;
            por_transcript_init(&t, "t/committed");
            assert_int_equal(por_rangeproof_prove_committed(&t, c.v, c.g, Vw, m, n, &proof), CL_OK);
            por_transcript_init(&t, "t/committed");
            assert_int_equal(verify1(&t, NULL, Vw, m, n, buf_slice(&proof), true), CL_ERR_CRYPTO);
            buf_free(&proof);
            free(Vw);
        }
        /* the identity, or no commitments, is refused */
        cl_buf out = CL_BUF_INIT;
        memset(&c.Va[0], 0, sizeof c.Va[0]);
        assert_int_equal(por_rangeproof_prove_committed(&t, c.v, c.g, c.Va, m, n, &out),
                         CL_ERR_INVALID);
        assert_int_equal(por_rangeproof_prove_committed(&t, c.v, c.g, NULL, m, n, &out),
                         CL_ERR_INVALID);
        assert_int_equal(out.len, 0);
        free(P);
        wcase_free(&c);
    }
}

/* ---- batches and widths ---- */

/* v1's short-challenge proof of two uint64 at n = 64, into c (m = 2). */
static void wcase_prove_v1(wcase *c, const char *label) {
    const uint64_t v[2] = {UINT64_MAX, 7};
    por_point P[2];
    por_transcript t;
    for (size_t j = 0; j < 2; j++)
        por_scalar_from_u64(&c->v[j], v[j]);
    por_transcript_init(&t, label);
    assert_int_equal(por_rangeproof_prove(&t, v, c->g, 2, 64, &c->proof, P), CL_OK);
    memcpy(c->state, t.state, 32);
    por_point_to_bytes(c->V, &P[0]);
    por_point_to_bytes(c->V + PT, &P[1]);
    por_points_to_affine(c->Va, P, 2);
}

/* One batch of wide proofs at five widths and a short (v1) one. */
static void test_batch_mixed(void **st) {
    (void)st;
    enum { NB = 6 };
    const size_t ms[NB] = {1, 3, 2, 5, 1, 2}, ns[NB] = {8, 72, 128, 216, 248, 64};
    wcase c[NB];
    por_transcript ts[NB];
    por_rangeproof_item items[NB];
    for (int k = 0; k < NB; k++) {
        wcase_alloc(&c[k], ms[k], ns[k]);
        sc_top(&c[k].v[0], ns[k]);
        if (k < NB - 1)
            wcase_prove(&c[k], "t/batch");
        else
            wcase_prove_v1(&c[k], "t/batch");
    }
    for (int pass = 0; pass < 5; pass++) {
        for (int k = 0; k < NB; k++) {
            por_transcript_init(&ts[k], "t/batch");
            items[k] = (por_rangeproof_item){
                &ts[k], c[k].V, c[k].m, c[k].n, buf_slice(&c[k].proof), NULL, k < NB - 1};
        }
        items[3].commitments = NULL; /* one item as points */
        items[3].commitment_points = c[3].Va;
        if (pass == 0) {
            assert_int_equal(por_rangeproof_verify_batch(items, NB), CL_OK);
            for (int k = 0; k < NB; k++)
                assert_memory_equal(ts[k].state, c[k].state, 32);
        } else if (pass == 1) { /* 128 checked as 136: same size, fails */
            items[2].n = 136;
            assert_int_equal(por_rangeproof_verify_batch(items, NB), CL_ERR_CRYPTO);
        } else if (pass == 2) { /* two proofs' widths swapped */
            items[0].n = 248;
            items[4].n = 8;
            assert_int_not_equal(por_rangeproof_verify_batch(items, NB), CL_OK);
        } else if (pass == 3) { /* a wide proof checked as short */
            items[1].wide = false;
            assert_int_equal(por_rangeproof_verify_batch(items, NB), CL_ERR_CRYPTO);
        } else { /* the short one checked as wide */
            items[NB - 1].wide = true;
            assert_int_equal(por_rangeproof_verify_batch(items, NB), CL_ERR_CRYPTO);
        }
    }
    for (int k = 0; k < NB; k++)
        wcase_free(&c[k]);
}

/* A proof checked at another width fails: same slot count decodes and fails
 * the equations, another slot count is the wrong length. */
static void test_wrong_width(void **st) {
    (void)st;
    wcase c;
    wcase_alloc(&c, 30, 128); /* 480 digits: 1024 slots */
    wcase_prove(&c, "t/wrong");
    assert_int_equal(wcase_verify(&c, 128, "t/wrong", NULL), CL_OK);
    const size_t same[] = {72, 96, 120, 136, 200};
    for (size_t k = 0; k < sizeof same / sizeof same[0]; k++) {
        assert_int_equal(por_rangeproof_slots(30, same[k]), 1024);
        assert_int_equal(wcase_verify(&c, same[k], "t/wrong", NULL), CL_ERR_CRYPTO);
    }
    assert_int_equal(wcase_verify(&c, 64, "t/wrong", NULL), CL_ERR_INVALID);
    assert_int_equal(wcase_verify(&c, 208, "t/wrong", NULL), CL_ERR_INVALID);
    assert_int_equal(wcase_verify(&c, 248, "t/wrong", NULL), CL_ERR_INVALID);
    assert_int_equal(wcase_verify(&c, 256, "t/wrong", NULL), CL_ERR_INVALID);
    wcase_free(&c);
}

/* ---- cloister-por-v1's proofs ---- */

/* Made by cloister-por-v1's prover (commit 59c873b, por_rangeproof_prove,
 * n = 64) for the values below, blindings g_j = from_wide("rp-v1-vector" 0..
 * j), transcript label "test/rp-v1-vector"; V_j, the proof, and the
 * transcript state after it. */
static const char *V1_VEC_V = "a347483578c51d2af3d5f95bd62ae32f9a466a558c4f41c3791ff25a89910b38"
                              "407a563926e3adcbb9aef499f2791eacb8cb983eae52681a09f2b4ada65601c5"
                              "c7c7b04ac22365c41039e84d4cfa8e68bffc65bea545305b67309afc4d633332"
                              "b8ef677682f240b8fe73ae91b956e37bdfb37f37850f68b81adfd24b552a3097"
                              "46959c577ed49f3dc8434883242deb1a";
static const char *V1_VEC_PROOF = "88d8dad42172c5798cb83415d462b71fe8de37cac40125a94910c93c21ea6c18"
                                  "216d42980e8cc1ba2757dd5d426e1d51abaf9dc164d36585ab28276ca09db55f"
                                  "c8e3118c8dbbbbcefff2827378fcb43ffbe4a4c6c56f7a9eecc566f3755141b8"
                                  "95d4e07c91bc4596358defee66251c932dcd371dfefba043c4b3ed0931653662"
                                  "ff7438cb6fa2bbd1201810543d6e1d78af0bb5bf3f14e84b7c4034233eb2519b"
                                  "6a9faf0412b2001609c61520b4c2bdeb6ca4a48610ef3772fe03f47910881206"
                                  "b049878ca8b9983c4f557c65d7ce7a5d52def81ae8f605c4daa7dff7254f55af"
                                  "d12cc6556b2810a851dcaaf5f2ce0a090de853c360b66e1b06e543352a629bb9"
                                  "1d2deed1adce61401ca15534ff15db296d58b1e26b4f13a62075459ae1f99ed6"
                                  "35d288e55cbbf5c53f7ad1db4504106423fc29e19db7691c6461fc077f5d7808"
                                  "42d29684e52bb9c2973c60d5635bb76da9b39da31a3ce64061ac347211028279"
                                  "80dbda45385afd7f17d297b3ac39d39c7970e52b52aae1be7b04ed1905d92f3e"
                                  "8e3592f80729c5b8e86d590ccbd2ff7c85e2f6d401976707eb71f2779b3dd6cf"
                                  "9480b129f2d3ab67102f8d93247ab7aca15866fa260f06c6a79b625e3730d02d"
                                  "b271b5649bb0cc5b4d7ea23312e05d1de646952638bfe3f5bc02a1e4cead6313"
                                  "b894e1bb34c3b46cac7a0aa30da5ced23133111e13bb6f433ac6d25e92aad6e8"
                                  "9e5390a8ce565a52a34d45290b51652a874fba8f5d03dc8188ef75de5970414e"
                                  "376f0b31df3cdcdcaa99e73eedbced2518e462be8e91039556f93e49f19e09e5"
                                  "a7049aa41f8a4fa9cd64b9fee3fc12d03278f95a2dbcd851c7e564c60d8f0d23"
                                  "44da9c0de6c2ae570c7e06eac820477bb0d0e13f590b4418bc158cdb38832071"
                                  "17708ec7879c22a2e7c739e4bcb4ff92342bbf9452a91512fe68dc97fa9a0cff"
                                  "a8d5d41eefa1cbbd0e2efb574051ce21d76f045b62efcde5b866dcc2e40ce02a"
                                  "808fe9791465f77095f32dc9b2d395a7ae6efecd480954f1c55b0c1c231275c1"
                                  "7b0546082273113e39caf08b1243348fb48759b9a259ec7a530810ae13f1776e"
                                  "8d46927633b652d41d7cadba3bd0defd8ee2d7aa76606e2fde5849fe1b4654cb"
                                  "dce6676c127e7c25ad47e3e7ef53bf79b148ae7151c640c8873a82502fcb7394"
                                  "567b476c853d0633e630fb874ff10282d9e73f54f00b638da8c5571ba64e3052"
                                  "b08a2aaa83fc62e15b278e852d36f8babe3003b1d85c4081ea994fcdd115d67e"
                                  "f18ee535d8961cbe6ea809c0ab34b547a57e51f0606d22c1f2d34aeb5ef6e6c9"
                                  "0966e86ed4646517dc8fd8fce4ed63a9c9a4bae27818e7825a1a0f501b9030f3"
                                  "b69428d5b2b05c6418eb7091f5d0b3e4acca4febfa21f908a3a3617168d5c30e"
                                  "c08d1184aba8a6337ac37cf30a0775f594de5018752f7bd866a0aaec1c0ba8e4"
                                  "71eb26fe40d6ad49b80cb77f06699d93a850c52f4a863be221c4277c56ed809a"
                                  "aa3cbb47054b29c14c37e39a21e91eeeef2fec96301cc99499a6568f40c69236"
                                  "e85c2f18b808755ed6658892447a4297b56fca15ccb5d44ce63604f17563e77f"
                                  "c3a038ba59ce013bb3d2f30a956f477730638a8d0ce5ad39489790cc29dc3bcc"
                                  "ac87218c648a422b236ecd32581110ca7f48218a311334ec09b9c2087ef65d0e"
                                  "dfd75d8c9d98fedd101bb14695435d0d58748ddead4cb485ac6b6c8670ced9d4"
                                  "78e462cbfb61d96023a633ab80b1d1d04e3fb64666f1d29eae646899e96693a0"
                                  "6bc800b0fc0b37d2f5470d2bee6af0ee";
static const char *V1_VEC_STATE =
    "6a5710addda6458024a1a3c5b4e7ae280a87454ecc62a98b1d8d490b4c315ea1";

static void test_v1_vector(void **st) {
    (void)st;
    const uint64_t v[3] = {0x0123456789abcdefull, UINT64_MAX, 0};
    uint8_t V[3 * PT], state[32], *proof = malloc(1264);
    unhex(V, V1_VEC_V, sizeof V);
    unhex(proof, V1_VEC_PROOF, 1264);
    unhex(state, V1_VEC_STATE, 32);
    assert_int_equal(por_rangeproof_size(3, 64), 1264);
    /* the commitments open to the values */
    for (size_t j = 0; j < 3; j++) {
        uint8_t seed[64] = {0}, b[PT];
        memcpy(seed, "rp-v1-vector", 12);
        seed[63] = (uint8_t)j;
        por_scalar g;
        por_point P;
        por_scalar_from_wide(&g, seed);
        por_commit_u64(&P, v[j], &g);
        por_point_to_bytes(b, &P);
        assert_memory_equal(b, V + PT * j, PT);
    }
    por_transcript t;
    por_transcript_init(&t, "test/rp-v1-vector");
    assert_int_equal(por_rangeproof_verify(&t, V, 3, 64, slice_of(proof, 1264)), CL_OK);
    assert_memory_equal(t.state, state, 32);
    por_affine Va[3];
    for (size_t j = 0; j < 3; j++)
        assert_int_equal(por_affine_from_bytes(&Va[j], V + PT * j), CL_OK);
    por_transcript_init(&t, "test/rp-v1-vector");
    assert_int_equal(por_rangeproof_verify_points(&t, Va, 3, 64, slice_of(proof, 1264)), CL_OK);
    /* as another width, label, or with a byte changed, it fails */
    por_transcript_init(&t, "test/rp-v1-vector");
    assert_int_equal(por_rangeproof_verify(&t, V, 3, 72, slice_of(proof, 1264)), CL_ERR_CRYPTO);
    por_transcript_init(&t, "test/rp-v1-vector2");
    assert_int_equal(por_rangeproof_verify(&t, V, 3, 64, slice_of(proof, 1264)), CL_ERR_CRYPTO);
    proof[5 * PT + 31] ^= 1; /* t_hat */
    por_transcript_init(&t, "test/rp-v1-vector");
    assert_int_equal(por_rangeproof_verify(&t, V, 3, 64, slice_of(proof, 1264)), CL_ERR_CRYPTO);
    free(proof);
}

static int teardown(void **st) {
    (void)st;
    por_curve_cleanup();
    return 0;
}

int main(void) {
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_shapes),          cmocka_unit_test(test_v1_vector),
        cmocka_unit_test(test_roundtrip_small), cmocka_unit_test(test_roundtrip_142),
        cmocka_unit_test(test_u64_wide),        cmocka_unit_test(test_refuses),
        cmocka_unit_test(test_forged_wide),     cmocka_unit_test(test_committed),
        cmocka_unit_test(test_batch_mixed),     cmocka_unit_test(test_wrong_width),
    };
    return cmocka_run_group_tests(t, NULL, teardown);
}
