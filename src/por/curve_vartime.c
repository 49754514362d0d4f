/* curve_vartime.c — the variable-time arithmetic of src/por for PUBLIC
 * scalars only (challenges, verifier coefficients, the inner-product
 * argument's folds): the endomorphism multiplication (k1 + λ·k2)·P with 64-bit
 * halves through (x, y) -> (β·x, y); shared-scalar folding of a whole round of
 * generators in lockstep in affine coordinates with one batched inversion per
 * step (por_points_fold_*; the full scalar split by GLV, since r = λ² + λ + 1);
 * and Pippenger MSM, single and threaded. Split from curve.c, which keeps the
 * constant-time paths, scalars, points, generators and the transcript. */
#include "por/curve_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- the endomorphism multiplication (variable time) ---- */

/* Width-5 NAF of k: digits odd in [-15, 15] or zero; returns the length. */
static size_t wnaf5(int8_t naf[66], uint64_t k) {
    unsigned __int128 v = k;
    size_t i = 0;
    while (v) {
        int d = 0;
        if (v & 1) {
            d = (int)(v & 31);
            if (d >= 16) d -= 32;
            if (d > 0)
                v -= (unsigned)d;
            else
                v += (unsigned)(-d);
        }
        naf[i++] = (int8_t)d;
        v >>= 1;
    }
    return i;
}

static void add_digit(por_point *acc, const por_point tab[8], int d) {
    if (d > 0) {
        blst_p1_add_or_double(acc, acc, &tab[d >> 1]);
    } else if (d < 0) {
        por_point t = tab[(-d) >> 1];
        blst_p1_cneg(&t, 1);
        blst_p1_add_or_double(acc, acc, &t);
    }
}

void por_point_mul_endo(por_point *out, const por_point *p, uint64_t k1, uint64_t k2) {
    int8_t n1[66] = {0}, n2[66] = {0};
    size_t l1 = wnaf5(n1, k1), l2 = wnaf5(n2, k2);
    size_t len = l1 > l2 ? l1 : l2;
    por_point t1[8], t2[8], p2;
    t1[0] = *p;
    blst_p1_double(&p2, p);
    for (int j = 1; j < 8; j++)
        blst_p1_add_or_double(&t1[j], &t1[j - 1], &p2);
    for (int j = 0; j < 8; j++) { /* φ on Jacobian: x = X/Z², so βX */
        t2[j] = t1[j];
        blst_fp_mul(&t2[j].x, &t2[j].x, por_curve_beta());
    }
    por_point acc;
    por_point_identity(&acc);
    bool started = false;
    for (size_t i = len; i-- > 0;) {
        if (started) blst_p1_double(&acc, &acc);
        if (n1[i] || n2[i]) started = true;
        add_digit(&acc, t1, n1[i]);
        add_digit(&acc, t2, n2[i]);
    }
    *out = acc;
}

/* ---- shared-scalar folding (variable time) ----
 *
 * out[i] = base[i] + k·p[i] for many points and ONE public scalar k, written
 * k = k1 + λ·k2. Every lane runs the same wNAF double-and-add, so the lanes step
 * in lockstep in affine coordinates and each step shares one field inversion
 * (Montgomery's trick): an affine addition then costs ~5M+1S and a doubling
 * ~5M+2S against 7M+4S and 2M+5S in Jacobian, and the results come out affine.
 * A lane that hits an exceptional case (identity input, x1 = x2) is marked and
 * redone with the plain multiplication; for generic points this never happens. */

#define FOLD_W 5                      /* wNAF width: digits odd in [-15, 15] */
#define FOLD_TAB (1u << (FOLD_W - 2)) /* P, 3P, .., 15P */
#define FOLD_MIN_LANES 32             /* below this the inversions dominate */
#define FOLD_NAF_MAX (3 * 64 + 2)

static bool fp_is_zero(const blst_fp *a) {
    uint64_t acc = 0;
    for (size_t i = 0; i < 6; i++)
        acc |= a->l[i];
    return acc == 0;
}

/* Width-FOLD_W NAF of the 192-bit little-endian k; returns the length. */
static size_t wnaf_wide(int8_t *naf, const uint64_t k[3]) {
    uint64_t v[4] = {k[0], k[1], k[2], 0};
    size_t i = 0;
    while (v[0] | v[1] | v[2] | v[3]) {
        int d = 0;
        if (v[0] & 1) {
            d = (int)(v[0] & ((1u << FOLD_W) - 1));
            if (d >= (1 << (FOLD_W - 1))) d -= 1 << FOLD_W;
            if (d > 0) {
                v[0] -= (uint64_t)d; /* v is odd and >= d: no borrow out of limb 0 */
            } else {
                uint64_t c = (uint64_t)(-d);
                for (size_t l = 0; l < 4 && c; l++) {
                    v[l] += c;
                    c = v[l] < c;
                }
            }
        }
        naf[i++] = (int8_t)d;
        for (size_t l = 0; l < 3; l++)
            v[l] = (v[l] >> 1) | (v[l + 1] << 63);
        v[3] >>= 1;
    }
    return i;
}

/* den[i] <- 1/den[i] for all i with one inversion; pre is scratch (n). */
static void fp_batch_inv(blst_fp *den, blst_fp *pre, size_t n) {
    pre[0] = den[0];
    for (size_t i = 1; i < n; i++)
        blst_fp_mul(&pre[i], &pre[i - 1], &den[i]);
    blst_fp inv, t;
    blst_fp_eucl_inverse(&inv, &pre[n - 1]);
    for (size_t i = n - 1; i > 0; i--) {
        blst_fp_mul(&t, &inv, &pre[i - 1]);
        blst_fp_mul(&inv, &inv, &den[i]);
        den[i] = t;
    }
    den[0] = inv;
}

typedef struct {
    size_t n;
    por_affine *acc; /* n */
    por_affine *tab; /* n * FOLD_TAB: odd multiples of p[i] */
    blst_fp *den, *pre, *qx;
    bool *bad;
    blst_fp one;
} fold_ctx;

/* a[i] <- 2·a[i] for all good lanes (a[i] never the identity there). */
static void lanes_double(fold_ctx *c, por_affine *a, size_t stride) {
    for (size_t i = 0; i < c->n; i++) {
        if (c->bad[i])
            c->den[i] = c->one;
        else
            blst_fp_add(&c->den[i], &a[i * stride].y, &a[i * stride].y);
        if (fp_is_zero(&c->den[i])) { /* y = 0: not on G1 outside the identity */
            c->bad[i] = true;
            c->den[i] = c->one;
        }
    }
    fp_batch_inv(c->den, c->pre, c->n);
    for (size_t i = 0; i < c->n; i++) {
        if (c->bad[i]) continue;
        por_affine *p = &a[i * stride];
        blst_fp l, t;
        blst_fp_sqr(&t, &p->x);
        blst_fp_mul_by_3(&t, &t);
        blst_fp_mul(&l, &t, &c->den[i]);
        blst_fp_sqr(&t, &l);
        blst_fp_sub(&t, &t, &p->x);
        blst_fp_sub(&t, &t, &p->x); /* x3 */
        blst_fp_sub(&p->x, &p->x, &t);
        blst_fp_mul(&p->x, &p->x, &l);
        blst_fp_sub(&p->y, &p->x, &p->y);
        p->x = t;
    }
}

/* out[i] <- a[i] + q[i] for all good lanes, q[i] = (φ? β·x : x, neg? -y : y)
 * of q0[i * qstride]. a and out may alias. */
static void lanes_add(fold_ctx *c, por_affine *out, size_t ostride, const por_affine *a,
                      size_t astride, const por_affine *q0, size_t qstride, bool phi, bool neg) {
    const blst_fp *beta = por_curve_beta();
    for (size_t i = 0; i < c->n; i++) {
        c->den[i] = c->one;
        if (c->bad[i]) continue;
        const por_affine *q = &q0[i * qstride];
        if (phi)
            blst_fp_mul(&c->qx[i], &q->x, beta);
        else
            c->qx[i] = q->x;
        blst_fp_sub(&c->den[i], &c->qx[i], &a[i * astride].x);
        if (fp_is_zero(&c->den[i])) { /* a = ±q: doubling or identity */
            c->bad[i] = true;
            c->den[i] = c->one;
        }
    }
    fp_batch_inv(c->den, c->pre, c->n);
    for (size_t i = 0; i < c->n; i++) {
        if (c->bad[i]) continue;
        const por_affine *p = &a[i * astride], *q = &q0[i * qstride];
        por_affine *o = &out[i * ostride];
        blst_fp l, t, y;
        if (neg) {
            blst_fp_add(&l, &q->y, &p->y);
            blst_fp_cneg(&l, &l, true);
        } else {
            blst_fp_sub(&l, &q->y, &p->y);
        }
        blst_fp_mul(&l, &l, &c->den[i]);
        blst_fp_sqr(&t, &l);
        blst_fp_sub(&t, &t, &p->x);
        blst_fp_sub(&t, &t, &c->qx[i]); /* x3 */
        blst_fp_sub(&y, &p->x, &t);
        blst_fp_mul(&y, &y, &l);
        blst_fp_sub(&o->y, &y, &p->y);
        o->x = t;
    }
}

/* acc[i] <- ±(φ)tab[i][|d|/2] (the first digit: the accumulator was zero). */
static void lanes_set(fold_ctx *c, int d, bool phi) {
    const blst_fp *beta = por_curve_beta();
    for (size_t i = 0; i < c->n; i++) {
        if (c->bad[i]) continue;
        const por_affine *q = &c->tab[i * FOLD_TAB + (size_t)(d < 0 ? -d : d) / 2];
        c->acc[i] = *q;
        if (phi) blst_fp_mul(&c->acc[i].x, &c->acc[i].x, beta);
        if (d < 0) blst_fp_cneg(&c->acc[i].y, &c->acc[i].y, true);
    }
}

static void lanes_digit(fold_ctx *c, int d, bool phi, bool *started) {
    if (d == 0) return;
    if (!*started) {
        lanes_set(c, d, phi);
        *started = true;
        return;
    }
    lanes_add(c, c->acc, 1, c->acc, 1, &c->tab[(size_t)(d < 0 ? -d : d) / 2], FOLD_TAB, phi, d < 0);
}

/* The lockstep core: out[i] = base[i] + (k1 + λ·k2)·p[i] except for the lanes
 * it marks bad[i] (left for the caller; out[i] untouched there). */
static void fold_lanes(por_affine *out, const por_affine *base, const por_affine *p, size_t n,
                       const uint64_t k1[3], const uint64_t k2[3], bool *bad) {
    int8_t n1[FOLD_NAF_MAX] = {0}, n2[FOLD_NAF_MAX] = {0};
    size_t l1 = wnaf_wide(n1, k1), l2 = wnaf_wide(n2, k2);
    size_t len = l1 > l2 ? l1 : l2;
    fold_ctx c = {.n = n, .bad = bad};
    blst_fp_from_uint64(&c.one, (const uint64_t[6]){1, 0, 0, 0, 0, 0});
    c.acc = cl_malloc(n * sizeof *c.acc);
    c.tab = cl_malloc(n * FOLD_TAB * sizeof *c.tab);
    c.den = cl_malloc(n * sizeof *c.den);
    c.pre = cl_malloc(n * sizeof *c.pre);
    c.qx = cl_malloc(n * sizeof *c.qx);
    /* tables: tab[0] = P, acc = 2P, tab[j] = tab[j-1] + 2P */
    for (size_t i = 0; i < n; i++) {
        bad[i] = por_affine_is_identity(&p[i]);
        c.tab[i * FOLD_TAB] = p[i];
        c.acc[i] = p[i];
    }
    if (len > 0) {
        lanes_double(&c, c.acc, 1);
        for (size_t j = 1; j < FOLD_TAB; j++)
            lanes_add(&c, &c.tab[j], FOLD_TAB, &c.tab[j - 1], FOLD_TAB, c.acc, 1, false, false);
    }
    bool started = false;
    for (size_t i = len; i-- > 0;) {
        if (started) lanes_double(&c, c.acc, 1);
        lanes_digit(&c, n1[i], false, &started);
        lanes_digit(&c, n2[i], true, &started);
    }
    if (!started) { /* k = 0 */
        memcpy(out, base, n * sizeof *out);
        for (size_t i = 0; i < n; i++)
            bad[i] = false;
    } else {
        bool *skip = cl_malloc(n * sizeof *skip);
        for (size_t i = 0; i < n; i++) { /* base = identity: out = acc, no addition */
            skip[i] = !bad[i] && por_affine_is_identity(&base[i]);
            if (skip[i]) {
                out[i] = c.acc[i];
                bad[i] = true;
            }
        }
        lanes_add(&c, out, 1, c.acc, 1, base, 1, false, false);
        for (size_t i = 0; i < n; i++)
            if (skip[i]) bad[i] = false;
        free(skip);
    }
    free(c.acc);
    free(c.tab);
    free(c.den);
    free(c.pre);
    free(c.qx);
}

/* The plain path, for few lanes and for the exceptional ones. */
static void fold_plain(por_affine *out, const por_affine *base, const por_affine *p, size_t n,
                       const bool *only, const por_scalar *s, uint64_t k1, uint64_t k2) {
    for (size_t i = 0; i < n; i++) {
        if (only && !only[i]) continue;
        por_point t;
        por_point_from_affine(&t, &p[i]);
        if (s)
            por_point_mul_vartime(&t, &t, s);
        else
            por_point_mul_endo(&t, &t, k1, k2);
        por_point_add_affine(&t, &t, &base[i]);
        por_point_to_affine(&out[i], &t);
    }
}

static void fold_run(por_affine *out, const por_affine *base, const por_affine *p, size_t n,
                     const uint64_t k1[3], const uint64_t k2[3], const por_scalar *s, uint64_t e1,
                     uint64_t e2) {
    bool *bad = cl_malloc(n * sizeof *bad);
    fold_lanes(out, base, p, n, k1, k2, bad);
    fold_plain(out, base, p, n, bad, s, e1, e2);
    free(bad);
}

void por_points_fold_endo(por_affine *out, const por_affine *base, const por_affine *p, uint64_t k1,
                          uint64_t k2, size_t n) {
    if (n < FOLD_MIN_LANES) {
        fold_plain(out, base, p, n, NULL, NULL, k1, k2);
        return;
    }
    const uint64_t a[3] = {k1, 0, 0}, b[3] = {k2, 0, 0};
    fold_run(out, base, p, n, a, b, NULL, k1, k2);
}

/* s = e0 + λ·e1 with e1 = floor(s/λ), e0 = s mod λ; λ < 2^128 and s < r < λ²,
 * so both halves are below 2^128. */
static void glv_split(uint64_t e0[3], uint64_t e1[3], const por_scalar *s) {
    blst_scalar b;
    por_scalar_le(&b, s);
    const unsigned __int128 lam =
        ((unsigned __int128)POR_LAMBDA_LIMBS[1] << 64) | (unsigned __int128)POR_LAMBDA_LIMBS[0];
    unsigned __int128 rem = 0, quo = 0;
    for (size_t i = 256; i-- > 0;) {
        unsigned bit = (b.b[i / 8] >> (i % 8)) & 1;
        bool top = (rem >> 127) != 0; /* rem·2 + bit >= 2^128 > λ */
        rem = (rem << 1) | bit;
        quo <<= 1; /* the quotient fits: s/λ < 2^128 */
        if (top || rem >= lam) {
            rem -= lam; /* exact mod 2^128: the true difference is < λ */
            quo |= 1;
        }
    }
    e0[0] = (uint64_t)rem;
    e0[1] = (uint64_t)(rem >> 64);
    e0[2] = 0;
    e1[0] = (uint64_t)quo;
    e1[1] = (uint64_t)(quo >> 64);
    e1[2] = 0;
}

void por_points_fold_vartime(por_affine *out, const por_affine *base, const por_affine *p,
                             const por_scalar *s, size_t n) {
    if (n < FOLD_MIN_LANES) {
        fold_plain(out, base, p, n, NULL, s, 0, 0);
        return;
    }
    uint64_t e0[3], e1[3];
    glv_split(e0, e1, s);
    fold_run(out, base, p, n, e0, e1, s, 0, 0);
}

/* ---- multi-scalar multiplication ---- */

/* blst's Pippenger wants >= 2 points (with one it reads past both arrays). */
void por_msm_ptrs(por_point *out, const por_affine *const *points, const por_scalar *scalars,
                  size_t n) {
    if (n == 0) {
        por_point_identity(out);
        return;
    }
    if (n == 1) {
        por_point p;
        blst_p1_from_affine(&p, points[0]);
        por_point_mul_vartime(out, &p, &scalars[0]);
        return;
    }
    blst_scalar *s = cl_malloc(n * sizeof *s);
    const byte **sp = cl_malloc(n * sizeof *sp);
    for (size_t i = 0; i < n; i++) {
        por_scalar_le(&s[i], &scalars[i]);
        sp[i] = s[i].b;
    }
    void *scratch = cl_malloc(blst_p1s_mult_pippenger_scratch_sizeof(n));
    blst_p1s_mult_pippenger(out, points, n, sp, 255, scratch);
    free(scratch);
    free(sp);
    free(s);
}

void por_msm(por_point *out, const por_affine *points, const por_scalar *scalars, size_t n) {
    const por_affine **ptrs = cl_malloc((n ? n : 1) * sizeof *ptrs);
    for (size_t i = 0; i < n; i++)
        ptrs[i] = &points[i];
    por_msm_ptrs(out, ptrs, scalars, n);
    free(ptrs);
}

/* The threaded MSM splits by bit windows, not by points: each thread runs
 * blst's Pippenger tile for its windows over all n points, so the total work
 * is that of one thread (splitting the points instead would shrink each
 * Pippenger and add work). Tiles are recombined by Horner's rule. */
typedef struct {
    const por_affine *const *pts;
    const byte *const *sc;
    size_t n, window, ntiles, first, step;
    por_point *tiles;
} msm_job;

static void *msm_worker(void *arg) {
    msm_job *j = arg;
    /* blst's tiles expect zeroed buckets (each tile leaves them zeroed) */
    void *scratch = cl_calloc(1, blst_p1s_mult_pippenger_scratch_sizeof(j->n));
    for (size_t t = j->first; t < j->ntiles; t += j->step)
        blst_p1s_tile_pippenger(&j->tiles[t], j->pts, j->n, j->sc, 255, scratch, t * j->window,
                                j->window);
    free(scratch);
    return NULL;
}

/* blst's own choice of window for n points (multi_scalar.c), so the scratch
 * size it reports fits our tiles. */
static size_t pippenger_window(size_t n) {
    size_t w = 0;
    while (n >>= 1)
        w++;
    return w > 12 ? w - 3 : (w > 4 ? w - 2 : (w ? 2 : 1));
}

void por_msm_threads(por_point *out, const por_affine *points, const por_scalar *scalars, size_t n,
                     unsigned nthreads) {
    if (nthreads <= 1 || n < 64) {
        por_msm(out, points, scalars, n);
        return;
    }
    size_t window = pippenger_window(n);
    /* The tiles use blst's scratch, sized by blst for its own window: if a
     * future blst picks windows differently, do not guess, run single-threaded. */
    if (blst_p1s_mult_pippenger_scratch_sizeof(n) != blst_p1s_mult_pippenger_scratch_sizeof(2)
                                                         << (window - 2)) {
        por_msm(out, points, scalars, n);
        return;
    }
    /* 255 / window + 1 tiles: when window divides 255 the last one is blst's
     * 1-bit carry tile on top, as its single-threaded loop does. */
    size_t ntiles = 255 / window + 1;
    if (nthreads > ntiles) nthreads = (unsigned)ntiles;
    blst_scalar *s = cl_malloc(n * sizeof *s);
    const byte **sp = cl_malloc(n * sizeof *sp);
    const por_affine **pp = cl_malloc(n * sizeof *pp);
    for (size_t i = 0; i < n; i++) {
        por_scalar_le(&s[i], &scalars[i]);
        sp[i] = s[i].b;
        pp[i] = &points[i];
    }
    por_point *tiles = cl_malloc(ntiles * sizeof *tiles);
    msm_job *jobs = cl_malloc(nthreads * sizeof *jobs);
    pthread_t *th = cl_malloc(nthreads * sizeof *th);
    for (unsigned t = 0; t < nthreads; t++)
        jobs[t] = (msm_job){pp, sp, n, window, ntiles, t, nthreads, tiles};
    bool *running = cl_calloc(nthreads, sizeof *running);
    for (unsigned t = 1; t < nthreads; t++) {
        running[t] = pthread_create(&th[t], NULL, msm_worker, &jobs[t]) == 0;
        if (!running[t]) msm_worker(&jobs[t]); /* no thread: do its share here */
    }
    msm_worker(&jobs[0]);
    for (unsigned t = 1; t < nthreads; t++)
        if (running[t]) pthread_join(th[t], NULL);
    free(running);
    por_point acc;
    por_point_identity(&acc);
    for (size_t t = ntiles; t-- > 0;) {
        size_t shift = (t == ntiles - 1) ? 0 : window;
        for (size_t k = 0; k < shift; k++)
            blst_p1_double(&acc, &acc);
        blst_p1_add_or_double(&acc, &acc, &tiles[t]);
    }
    *out = acc;
    free(th);
    free(jobs);
    free(tiles);
    free(pp);
    free(sp);
    free(s);
}
