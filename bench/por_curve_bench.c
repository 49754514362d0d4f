/* por_curve_bench.c — the figures that size the proof-of-reserves prover: blst's
 * multi-scalar multiplication (1 and 2 threads), SHA-256, the single operations
 * the prover repeats per account (Pedersen commitment, compression, decoding
 * with the subgroup check, hash-to-curve), and the range proofs
 * (prove, verify, batch verify) for m = 1, 32, 480 values of n = 64 bits with
 * v1's short challenges, and with v2's wide challenges m = 480 at n = 64 and
 * the widths PoR v2 uses: m = 240 values of n = 128 bits, m = 142 of n = 216
 * (all three fill 4096 slots).
 * Prints one line per figure; exits 1 only if a proof it made does not verify.
 *
 * usage: por_curve_bench [quick]   ("quick" skips the 2^16-point MSMs) */
#include "crypto/crypto.h"
#include "por/curve.h"
#include "por/rangeproof.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* n distinct points quickly: P_i = (i+1)·P, one addition each. */
static por_affine *make_points(size_t n) {
    por_point *j = malloc(n * sizeof *j), p;
    por_affine *a = malloc(n * sizeof *a);
    por_point_from_affine(&p, por_pedersen_g());
    j[0] = p;
    for (size_t i = 1; i < n; i++)
        por_point_add(&j[i], &j[i - 1], &p);
    por_points_to_affine(a, j, n);
    free(j);
    return a;
}

static void bench_msm(bool quick) {
    const int logs[] = {10, 14, 16};
    size_t maxn = (size_t)1 << (quick ? 14 : 16);
    por_affine *pts = make_points(maxn);
    por_scalar *sc = malloc(maxn * sizeof *sc);
    for (size_t i = 0; i < maxn; i++)
        por_scalar_random(&sc[i]);
    for (int k = 0; k < 3; k++) {
        size_t n = (size_t)1 << logs[k];
        if (n > maxn) continue;
        for (unsigned th = 1; th <= 2; th++) {
            por_point out;
            int reps = n <= 1024 ? 10 : 1;
            double t0 = now();
            for (int r = 0; r < reps; r++)
                por_msm_threads(&out, pts, sc, n, th);
            double dt = (now() - t0) / reps;
            printf("msm  2^%-2d points  %u thread%s  %9.1f ms  %10.0f points/s  (%.2f us/point)\n",
                   logs[k], th, th > 1 ? "s" : " ", dt * 1e3, (double)n / dt, dt / (double)n * 1e6);
        }
    }
    free(pts);
    free(sc);
}

static void bench_sha256(void) {
    size_t len = 1 << 20;
    uint8_t *buf = malloc(len), out[32];
    memset(buf, 0xab, len);
    double t0 = now();
    int reps = 64;
    for (int r = 0; r < reps; r++)
        crypto_sha256(slice_of(buf, len), out);
    double dt = now() - t0;
    printf("sha256 1 MiB messages         %9.1f MB/s\n", (double)len * reps / dt / 1e6);
    /* Merkle-node sized: two 32-byte children + a 48-byte commitment per side */
    size_t n = 200000;
    t0 = now();
    for (size_t i = 0; i < n; i++)
        crypto_sha256(slice_of(buf, 160), out);
    dt = now() - t0;
    printf("sha256 160-byte messages      %9.0f hashes/s  (%.2f us each)\n", (double)n / dt,
           dt / (double)n * 1e6);
    free(buf);
}

static void bench_ops(void) {
    por_scalar s, r;
    por_point p, q;
    por_affine a;
    uint8_t b[48];
    por_scalar_random(&s);
    por_scalar_random(&r);
    por_point_from_affine(&p, por_pedersen_g());
    int n = 2000;
    double t0 = now();
    for (int i = 0; i < n; i++)
        por_commit_u64(&q, (uint64_t)i * 7919, &r);
    printf("pedersen commit_u64 (CT comb) %9.2f us\n", (now() - t0) / n * 1e6);
    t0 = now();
    for (int i = 0; i < n; i++)
        por_commit(&q, &s, &r);
    printf("pedersen commit 255-bit v     %9.2f us\n", (now() - t0) / n * 1e6);
    t0 = now();
    for (int i = 0; i < n; i++)
        por_point_mul(&q, &p, &s);
    printf("point mul (CT, blst GLV)      %9.2f us\n", (now() - t0) / n * 1e6);
    t0 = now();
    for (int i = 0; i < n; i++)
        por_point_mul_endo(&q, &p, 0x1234567890abcdefull + (uint64_t)i, 0xfedcba0987654321ull);
    printf("point mul_endo (64+64 bits)   %9.2f us\n", (now() - t0) / n * 1e6);
    t0 = now();
    for (int i = 0; i < n; i++)
        por_point_add(&q, &q, &p);
    printf("point add                     %9.2f us\n", (now() - t0) / n * 1e6);
    t0 = now();
    for (int i = 0; i < n; i++)
        por_point_to_bytes(b, &q);
    printf("point compress (Jacobian)     %9.2f us\n", (now() - t0) / n * 1e6);
    t0 = now();
    for (int i = 0; i < n; i++)
        (void)por_affine_from_bytes(&a, b);
    printf("point decode + subgroup check %9.2f us\n", (now() - t0) / n * 1e6);
    t0 = now();
    for (int i = 0; i < n / 4; i++)
        por_generator(&a, "bench", (uint32_t)i);
    printf("hash-to-curve generator       %9.2f us\n", (now() - t0) / (n / 4) * 1e6);
    por_transcript t;
    por_transcript_init(&t, "bench");
    t0 = now();
    for (int i = 0; i < n; i++)
        por_transcript_append_point(&t, "P", &q);
    printf("transcript append point       %9.2f us\n", (now() - t0) / n * 1e6);
}

/* m random values below 2^n, as scalars and (n <= 64) as uint64 */
static void rp_values(por_scalar *sv, uint64_t *v, size_t m, size_t n) {
    for (size_t j = 0; j < m; j++) {
        uint8_t be[32];
        crypto_random(be, sizeof be);
        memset(be, 0, 32 - n / 8);
        if (n <= 64) {
            v[j] = 0;
            for (size_t k = 24; k < 32; k++)
                v[j] = v[j] << 8 | be[k];
        }
        (void)por_scalar_from_bytes(&sv[j], be);
    }
}

/* One line: prove, verify, batch verify m values of n bits: v1's short
 * challenges through the uint64 entry (n <= 64), or v2's wide ones with the
 * values as scalars. */
static int bench_rangeproof(size_t m, size_t n, bool wide) {
    int bad = 0;
    uint64_t *v = malloc(m * sizeof *v);
    por_scalar *sv = malloc(m * sizeof *sv), *g = malloc(m * sizeof *g);
    por_point *V = malloc(m * sizeof *V);
    uint8_t *Vb = malloc(m * 48);
    rp_values(sv, v, m, n);
    for (size_t j = 0; j < m; j++)
        por_scalar_random(&g[j]);
    /* generators and their tables are built on first use, once per process */
    double t0 = now();
    por_generator_rows(POR_RP_LABEL_G, por_rangeproof_slots(m, n));
    por_generator_rows(POR_RP_LABEL_H, por_rangeproof_slots(m, n));
    double setup = now() - t0;
    int reps = m == 1 ? 10 : 1;
    cl_buf proof = CL_BUF_INIT;
    por_transcript t;
    t0 = now();
    for (int r = 0; r < reps; r++) {
        buf_clear(&proof);
        por_transcript_init(&t, "bench");
        cl_err e = wide ? por_rangeproof_prove_scalars(&t, sv, g, m, n, &proof, V)
                        : por_rangeproof_prove(&t, v, g, m, n, &proof, V);
        if (e != CL_OK) bad = 1;
    }
    double tp = (now() - t0) / reps;
    for (size_t j = 0; j < m; j++)
        por_point_to_bytes(Vb + 48 * j, &V[j]);
    t0 = now();
    for (int r = 0; r < reps; r++) {
        por_transcript_init(&t, "bench");
        por_rangeproof_item one = {&t, Vb, m, n, buf_slice(&proof), NULL, wide};
        if (por_rangeproof_verify_batch(&one, 1) != CL_OK) bad = 1;
    }
    double tv = (now() - t0) / reps;
    /* batch: 16 copies of the proof (same transcript label each) */
    enum { B = 16 };
    por_transcript ts[B];
    por_rangeproof_item items[B];
    for (int i = 0; i < B; i++) {
        por_transcript_init(&ts[i], "bench");
        items[i] = (por_rangeproof_item){&ts[i], Vb, m, n, buf_slice(&proof), NULL, wide};
    }
    t0 = now();
    if (por_rangeproof_verify_batch(items, B) != CL_OK) bad = 1;
    double tb = (now() - t0) / B;
    /* the same with commitments already held as points (no decoding) */
    por_affine *Va = malloc(m * sizeof *Va);
    por_points_to_affine(Va, V, m);
    for (int i = 0; i < B; i++) {
        por_transcript_init(&ts[i], "bench");
        items[i].commitments = NULL;
        items[i].commitment_points = Va;
    }
    t0 = now();
    if (por_rangeproof_verify_batch(items, B) != CL_OK) bad = 1;
    double tbp = (now() - t0) / B;
    free(Va);
    printf(
        "rangeproof %s m=%-3zu n=%-3zu %4zu B  prove %7.1f ms = %5.2f ms/value   verify %6.1f ms "
        "= %4.2f ms/value   batch of 16: %5.2f ms/proof = %5.3f ms/value (commitments as "
        "points: %5.3f)   [generators %.0f ms once]\n",
        wide ? "wide " : "short", m, n, proof.len, tp * 1e3, tp * 1e3 / (double)m, tv * 1e3,
        tv * 1e3 / (double)m, tb * 1e3, tb * 1e3 / (double)m, tbp * 1e3 / (double)m, setup * 1e3);
    buf_free(&proof);
    free(v);
    free(sv);
    free(g);
    free(V);
    free(Vb);
    return bad;
}

static int bench_rangeproofs(void) {
    /* 32 and 480 values of 64 bits fill 512 and 4096 slots exactly (8 per
     * value + 256); so do 240 of 128 bits and 142 of 216 (16 and 27 a value).
     * v1: short challenges; v2 (wide): 480 at n = 64 for the cost of the
     * wide challenges alone, then the v2 widths. */
    const size_t cases[][3] = {{1, 64, 0},   {32, 64, 0},   {480, 64, 0},
                               {480, 64, 1}, {240, 128, 1}, {142, 216, 1}};
    int bad = 0;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        bad |= bench_rangeproof(cases[k][0], cases[k][1], cases[k][2]);
    return bad;
}

int main(int argc, char **argv) {
    bool quick = argc > 1 && strcmp(argv[1], "quick") == 0;
    printf("por_curve_bench: %ld online cores, blst %s\n", sysconf(_SC_NPROCESSORS_ONLN),
           "0.3.10 (@chainsafe/blst 0.2.11)");
    bench_ops();
    bench_sha256();
    bench_msm(quick);
    int bad = bench_rangeproofs();
    por_curve_cleanup();
    if (bad) fprintf(stderr, "por_curve_bench: a proof did not verify\n");
    return bad;
}
