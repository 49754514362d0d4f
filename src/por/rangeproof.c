/* rangeproof.c — aggregated Bulletproofs range proofs: prover, single and
 * batch verifier (protocol, byte format and transcript in rangeproof.h).
 *
 * Where the time goes, and how this file is shaped by it: the prover commits to
 * its bits (A: one constant-time select and add per bit) and to the random
 * masks s_L, s_R (S: a constant-time multi-scalar multiplication over tabled
 * generators), then runs the inner-product argument, whose cost is folding the
 * generators: (m·n - 1) multiplications for each of G and H. G folds by the
 * short challenge u (64-bit halves, k1 + λ·k2); H, which carries the y^-i
 * weights, is kept unweighted (X_i with H'_i = y^-i·X_i) and folds by the full
 * scalar u⁻¹·y^-h (split by GLV into two 128-bit halves), so no y^-i·H_i is
 * ever computed. Every point of a round folds by the same scalar, so
 * por_points_fold_endo / _vartime run them in lockstep in affine coordinates
 * with one batched inversion per step (~21 and ~41 us a point on the 2-core
 * bench machine, against 31 and 67 us for separate multiplications). Per value
 * at m = 64 that leaves roughly: S commitment 3.3 ms (constant time), H fold
 * 2.6 ms, L/R 2.9 ms, G fold 1.4 ms. L and R are variable-time Pippenger MSMs.
 *
 * The verifier never folds: it expands the challenges into the coefficient of
 * every generator and checks both equations in one MSM (2·m·n + 2·log2(m·n) +
 * m + 7 points). Batch verification adds every proof's equation with random
 * weights; the G_i, H_i columns are shared, so k proofs cost one MSM of
 * 2·max(m·n) + k·(2·log2(m·n) + m + 4) + 3 points. */
#include "por/rangeproof.h"

#include <stdlib.h>
#include <string.h>

#define DOMSEP "bulletproofs-range-v1"
#define PT POR_POINT_LEN
#define SC POR_SCALAR_LEN

static bool params(size_t m, size_t n, size_t *lg) {
    if (n != 8 && n != 16 && n != 32 && n != 64) return false;
    if (m < 1 || m > POR_RP_MAX_M || (m & (m - 1))) return false;
    size_t k = 0;
    for (size_t x = m * n; x > 1; x >>= 1)
        k++;
    *lg = k;
    return true;
}

size_t por_rangeproof_size(size_t m, size_t n) {
    size_t lg;
    if (!params(m, n, &lg)) return 0;
    return 4 * PT + 5 * SC + 2 * lg * PT;
}

static void transcript_start(por_transcript *t, size_t m, size_t n, const uint8_t *V) {
    por_transcript_append(t, "dom-sep", slice_cstr(DOMSEP));
    por_transcript_append_u64(t, "n", n);
    por_transcript_append_u64(t, "m", m);
    for (size_t j = 0; j < m; j++)
        por_transcript_append(t, "V", slice_of(V + j * PT, PT));
}

/* Powers base^0 .. base^(n-1). */
static void powers(por_scalar *out, const por_scalar *base, size_t n) {
    if (n == 0) return;
    por_scalar_one(&out[0]);
    for (size_t i = 1; i < n; i++)
        por_scalar_mul(&out[i], &out[i - 1], base);
}

/* ---- prover ---- */

/* acc += bit ? g : -h, without a branch or an address that depends on bit. */
static void ct_add_bit(por_point *acc, const por_affine *g, const por_affine *h, uint8_t bit) {
    uint64_t mask = 0 - (uint64_t)(bit & 1);
    __asm__("" : "+r"(mask));
    const uint64_t *pg = (const uint64_t *)g, *ph = (const uint64_t *)h;
    uint64_t q[sizeof(por_affine) / 8];
    for (size_t l = 0; l < sizeof q / 8; l++)
        q[l] = (pg[l] & mask) | (ph[l] & ~mask);
    por_affine sel;
    memcpy(&sel, q, sizeof sel);
    blst_fp_cneg(&sel.y, &sel.y, (bit & 1) == 0);
    blst_p1_add_or_double_affine(acc, acc, &sel);
    cl_cleanse(q, sizeof q);
    cl_cleanse(&sel, sizeof sel);
}

/* The inner-product argument on a (= l) and b (= r), both of length N, with
 * generators G0 and H'_i = y^-i·H0_i (H0 unweighted), writing L_1, R_1, ...
 * into lr and the final scalars into fa, fb. Variable time (see rangeproof.h). */
static void ipa_prove(por_transcript *t, por_scalar *a, por_scalar *b, size_t N,
                      const por_affine *G0, const por_affine *H0, const por_scalar *y,
                      const por_affine *Q, uint8_t *lr) {
    por_scalar yinv, *d = cl_malloc(N * sizeof *d);
    por_scalar_inv(&yinv, y);
    powers(d, &yinv, N); /* d_i = y^-i */
    size_t half = N / 2 ? N / 2 : 1;
    por_affine *G = cl_malloc(half * sizeof *G), *X = cl_malloc(half * sizeof *X);
    const por_affine **pts = cl_malloc((N + 1) * sizeof *pts);
    por_scalar *sc = cl_malloc((N + 1) * sizeof *sc);
    const por_affine *Gc = G0, *Xc = H0;
    size_t k = N;
    while (k > 1) {
        size_t h = k / 2;
        por_point L, R;
        por_scalar c, u, uinv, e, tmp;
        /* L = <a_lo, G_hi> + <b_hi ∘ d_lo, X_lo> + <a_lo, b_hi>·Q */
        por_scalar_zero(&c);
        for (size_t i = 0; i < h; i++) {
            pts[i] = &Gc[h + i];
            sc[i] = a[i];
            pts[h + i] = &Xc[i];
            por_scalar_mul(&sc[h + i], &b[h + i], &d[i]);
            por_scalar_mul(&tmp, &a[i], &b[h + i]);
            por_scalar_add(&c, &c, &tmp);
        }
        pts[2 * h] = Q;
        sc[2 * h] = c;
        por_msm_ptrs(&L, pts, sc, 2 * h + 1);
        /* R = <a_hi, G_lo> + <b_lo ∘ d_hi, X_hi> + <a_hi, b_lo>·Q */
        por_scalar_zero(&c);
        for (size_t i = 0; i < h; i++) {
            pts[i] = &Gc[i];
            sc[i] = a[h + i];
            pts[h + i] = &Xc[h + i];
            por_scalar_mul(&sc[h + i], &b[i], &d[h + i]);
            por_scalar_mul(&tmp, &a[h + i], &b[i]);
            por_scalar_add(&c, &c, &tmp);
        }
        pts[2 * h] = Q;
        sc[2 * h] = c;
        por_msm_ptrs(&R, pts, sc, 2 * h + 1);

        por_point_to_bytes(lr, &L);
        por_point_to_bytes(lr + PT, &R);
        por_transcript_append(t, "L", slice_of(lr, PT));
        por_transcript_append(t, "R", slice_of(lr + PT, PT));
        lr += 2 * PT;
        uint64_t k1, k2;
        por_transcript_challenge_short(t, "u", &u, &k1, &k2);
        por_scalar_inv(&uinv, &u);

        for (size_t i = 0; i < h; i++) {
            por_scalar_mul(&tmp, &uinv, &a[h + i]);
            por_scalar_add(&a[i], &a[i], &tmp);
            por_scalar_mul(&tmp, &u, &b[h + i]);
            por_scalar_add(&b[i], &b[i], &tmp);
        }
        if (h > 1) {                          /* the last round's generators are never used */
            por_scalar_mul(&e, &uinv, &d[h]); /* u⁻¹·y^-h */
            por_points_fold_endo(G, Gc, Gc + h, k1, k2, h);
            por_points_fold_vartime(X, Xc, Xc + h, &e, h);
            Gc = G;
            Xc = X;
        }
        k = h;
    }
    free(d);
    free(G);
    free(X);
    free(pts);
    free(sc);
}

typedef struct {
    size_t m, n, lg, N;
    const por_affine *G, *H, *U;
    const por_affine *Grows, *Hrows;
} rp_gens;

static void gens_load(rp_gens *g, size_t m, size_t n, size_t lg, bool rows) {
    g->m = m;
    g->n = n;
    g->lg = lg;
    g->N = m * n;
    if (rows) {
        g->Grows = por_generator_rows(POR_RP_LABEL_G, g->N);
        g->Hrows = por_generator_rows(POR_RP_LABEL_H, g->N);
    }
    g->G = por_generators(POR_RP_LABEL_G, g->N);
    g->H = por_generators(POR_RP_LABEL_H, g->N);
    g->U = por_generators(POR_RP_LABEL_U, 1);
}

/* Bit i of a scalar (canonical value), no branch on it. */
static uint8_t scalar_bit(const uint8_t be[SC], size_t i) {
    return (uint8_t)((be[SC - 1 - i / 8] >> (i % 8)) & 1);
}

static void append_scalar_bytes(cl_buf *out, const por_scalar *s) {
    uint8_t b[SC];
    por_scalar_to_bytes(b, s);
    buf_append(out, b, SC);
}

static void append_point_bytes(cl_buf *out, const por_point *p) {
    uint8_t b[PT];
    por_point_to_bytes(b, p);
    buf_append(out, b, PT);
}

cl_err por_rangeproof_prove_unchecked(por_transcript *t, const por_scalar *values,
                                      const por_scalar *blindings, size_t m, size_t n,
                                      cl_buf *proof, por_point *commitments) {
    size_t lg;
    if (!params(m, n, &lg)) return CL_ERR_INVALID;
    rp_gens g;
    gens_load(&g, m, n, lg, true);
    size_t N = g.N;

    /* V_j, into the transcript */
    uint8_t *Vb = cl_malloc(m * PT);
    for (size_t j = 0; j < m; j++) {
        por_point V;
        por_commit(&V, &values[j], &blindings[j]);
        if (commitments) commitments[j] = V;
        por_point_to_bytes(Vb + j * PT, &V);
    }
    transcript_start(t, m, n, Vb);
    free(Vb);

    /* a_L: the low n bits of each value; a_R = a_L - 1 */
    uint8_t *aL = cl_malloc(N), be[SC];
    for (size_t j = 0; j < m; j++) {
        por_scalar_to_bytes(be, &values[j]);
        for (size_t i = 0; i < n; i++)
            aL[j * n + i] = scalar_bit(be, i);
    }
    cl_cleanse(be, sizeof be);

    /* A = α·H + Σ a_L,i·G_i + a_R,i·H_i */
    por_scalar alpha, rho, tau1, tau2;
    por_point A, S, T1, T2, tmp;
    por_scalar_random(&alpha);
    por_mul_h(&A, &alpha);
    for (size_t i = 0; i < N; i++)
        ct_add_bit(&A, &g.G[i], &g.H[i], aL[i]);

    /* S = ρ·H + <s_L, G> + <s_R, H> */
    por_scalar *sLR = cl_malloc(2 * N * sizeof *sLR);
    const por_affine **rows = cl_malloc(2 * N * sizeof *rows);
    for (size_t i = 0; i < 2 * N; i++)
        por_scalar_random(&sLR[i]);
    for (size_t i = 0; i < N; i++) {
        rows[i] = &g.Grows[i * POR_CT_ROW];
        rows[N + i] = &g.Hrows[i * POR_CT_ROW];
    }
    por_scalar_random(&rho);
    por_ct_msm_rows(&S, rows, sLR, 2 * N, 255);
    por_mul_h(&tmp, &rho);
    por_point_add(&S, &S, &tmp);
    free(rows);
    const por_scalar *sL = sLR, *sR = sLR + N;

    size_t start = proof->len;
    append_point_bytes(proof, &A);
    append_point_bytes(proof, &S);
    por_transcript_append(t, "A", slice_of(proof->ptr + start, PT));
    por_transcript_append(t, "S", slice_of(proof->ptr + start + PT, PT));
    por_scalar y, z, x, w;
    por_transcript_challenge_scalar(t, "y", &y);
    por_transcript_challenge_scalar(t, "z", &z);

    /* l(X) = (a_L - z) + s_L·X, r(X) = y^i∘(a_R + z + s_R·X) + z^(2+j)·2^k,
     * t1 = <l0, r1> + <l1, r0>, t2 = <l1, r1> */
    por_scalar *yp = cl_malloc(N * sizeof *yp), *zj = cl_malloc(m * sizeof *zj);
    por_scalar *two = cl_malloc(n * sizeof *two);
    powers(yp, &y, N);
    por_scalar_mul(&zj[0], &z, &z);
    for (size_t j = 1; j < m; j++)
        por_scalar_mul(&zj[j], &zj[j - 1], &z);
    for (size_t i = 0; i < n; i++)
        por_scalar_from_u64(&two[i], (uint64_t)1 << i);
    por_scalar t1, t2, one, bit, l0, r0, r1, c, q;
    por_scalar_zero(&t1);
    por_scalar_zero(&t2);
    por_scalar_one(&one);
    for (size_t i = 0; i < N; i++) {
        por_scalar_from_u64(&bit, aL[i]);
        por_scalar_sub(&l0, &bit, &z);
        por_scalar_sub(&r0, &bit, &one); /* a_R */
        por_scalar_add(&r0, &r0, &z);
        por_scalar_mul(&r0, &r0, &yp[i]);
        por_scalar_mul(&c, &zj[i / n], &two[i % n]);
        por_scalar_add(&r0, &r0, &c);
        por_scalar_mul(&r1, &yp[i], &sR[i]);
        por_scalar_mul(&q, &l0, &r1);
        por_scalar_add(&t1, &t1, &q);
        por_scalar_mul(&q, &sL[i], &r0);
        por_scalar_add(&t1, &t1, &q);
        por_scalar_mul(&q, &sL[i], &r1);
        por_scalar_add(&t2, &t2, &q);
    }
    por_scalar_random(&tau1);
    por_scalar_random(&tau2);
    por_commit(&T1, &t1, &tau1);
    por_commit(&T2, &t2, &tau2);
    append_point_bytes(proof, &T1);
    append_point_bytes(proof, &T2);
    por_transcript_append(t, "T1", slice_of(proof->ptr + start + 2 * PT, PT));
    por_transcript_append(t, "T2", slice_of(proof->ptr + start + 3 * PT, PT));
    por_transcript_challenge_scalar(t, "x", &x);

    /* l = l(x), r = r(x), t̂ = <l, r>, τx, μ */
    por_scalar *l = cl_malloc(N * sizeof *l), *r = cl_malloc(N * sizeof *r);
    por_scalar that, taux, mu;
    por_scalar_zero(&that);
    for (size_t i = 0; i < N; i++) {
        por_scalar_from_u64(&bit, aL[i]);
        por_scalar_mul(&q, &sL[i], &x);
        por_scalar_sub(&l[i], &bit, &z);
        por_scalar_add(&l[i], &l[i], &q);
        por_scalar_mul(&q, &sR[i], &x);
        por_scalar_sub(&r[i], &bit, &one);
        por_scalar_add(&r[i], &r[i], &z);
        por_scalar_add(&r[i], &r[i], &q);
        por_scalar_mul(&r[i], &r[i], &yp[i]);
        por_scalar_mul(&c, &zj[i / n], &two[i % n]);
        por_scalar_add(&r[i], &r[i], &c);
        por_scalar_mul(&q, &l[i], &r[i]);
        por_scalar_add(&that, &that, &q);
    }
    por_scalar_mul(&taux, &tau2, &x);
    por_scalar_add(&taux, &taux, &tau1);
    por_scalar_mul(&taux, &taux, &x);
    for (size_t j = 0; j < m; j++) {
        por_scalar_mul(&q, &zj[j], &blindings[j]);
        por_scalar_add(&taux, &taux, &q);
    }
    por_scalar_mul(&mu, &rho, &x);
    por_scalar_add(&mu, &mu, &alpha);
    size_t soff = proof->len;
    append_scalar_bytes(proof, &that);
    append_scalar_bytes(proof, &taux);
    append_scalar_bytes(proof, &mu);
    por_transcript_append(t, "t_hat", slice_of(proof->ptr + soff, SC));
    por_transcript_append(t, "tau_x", slice_of(proof->ptr + soff + SC, SC));
    por_transcript_append(t, "mu", slice_of(proof->ptr + soff + 2 * SC, SC));
    por_transcript_challenge_scalar(t, "w", &w);

    /* the secrets are spent: l and r now hide them (and are safe to leak) */
    cl_cleanse(aL, N);
    free(aL);
    por_scalars_cleanse(sLR, 2 * N);
    free(sLR);
    por_scalars_cleanse(&alpha, 1);
    por_scalars_cleanse(&rho, 1);
    por_scalars_cleanse(&tau1, 1);
    por_scalars_cleanse(&tau2, 1);
    por_scalars_cleanse(&t1, 1);
    por_scalars_cleanse(&t2, 1);
    por_scalars_cleanse(&bit, 1);
    por_scalars_cleanse(&l0, 1);
    por_scalars_cleanse(&r0, 1);
    por_scalars_cleanse(&r1, 1);
    por_scalars_cleanse(&q, 1);

    /* Q = w·U, then the inner-product argument */
    por_point Qp, Up;
    por_affine Q;
    por_point_from_affine(&Up, g.U);
    por_point_mul_vartime(&Qp, &Up, &w);
    por_point_to_affine(&Q, &Qp);
    uint8_t *lr = cl_malloc(2 * lg * PT + 1);
    ipa_prove(t, l, r, N, g.G, g.H, &y, &Q, lr);
    buf_append(proof, lr, 2 * lg * PT);
    append_scalar_bytes(proof, &l[0]);
    append_scalar_bytes(proof, &r[0]);
    free(lr);
    por_scalars_cleanse(l, N);
    por_scalars_cleanse(r, N);
    free(l);
    free(r);
    free(yp);
    free(zj);
    free(two);
    return CL_OK;
}

cl_err por_rangeproof_prove(por_transcript *t, const uint64_t *values, const por_scalar *blindings,
                            size_t m, size_t n, cl_buf *proof, por_point *commitments) {
    size_t lg;
    if (!params(m, n, &lg)) return CL_ERR_INVALID;
    for (size_t j = 0; j < m; j++)
        if (n < 64 && (values[j] >> n) != 0) return CL_ERR_INVALID;
    por_scalar *v = cl_malloc(m * sizeof *v);
    for (size_t j = 0; j < m; j++)
        por_scalar_from_u64(&v[j], values[j]);
    cl_err e = por_rangeproof_prove_unchecked(t, v, blindings, m, n, proof, commitments);
    por_scalars_cleanse(v, m);
    free(v);
    return e;
}

/* ---- verifier ---- */

typedef struct {
    por_affine A, S, T1, T2, *L, *R, *V;
    por_scalar that, taux, mu, a, b;
} rp_proof;

static void proof_free(rp_proof *p) {
    free(p->L);
    free(p->R);
    free(p->V);
}

static cl_err read_point(por_affine *out, const uint8_t *in) {
    CL_TRY(por_affine_from_bytes(out, in));
    return por_affine_is_identity(out) ? CL_ERR_INVALID : CL_OK;
}

/* Decodes the proof and, given as bytes, the commitments; commitments given as
 * points are copied (and only checked not to be the identity). */
static cl_err parse(rp_proof *p, const por_rangeproof_item *it, size_t lg) {
    size_t m = it->m;
    cl_slice proof = it->proof;
    const uint8_t *b = proof.ptr;
    CL_TRY(read_point(&p->A, b));
    CL_TRY(read_point(&p->S, b + PT));
    CL_TRY(read_point(&p->T1, b + 2 * PT));
    CL_TRY(read_point(&p->T2, b + 3 * PT));
    b += 4 * PT;
    CL_TRY(por_scalar_from_bytes(&p->that, b));
    CL_TRY(por_scalar_from_bytes(&p->taux, b + SC));
    CL_TRY(por_scalar_from_bytes(&p->mu, b + 2 * SC));
    b += 3 * SC;
    for (size_t k = 0; k < lg; k++) {
        CL_TRY(read_point(&p->L[k], b));
        CL_TRY(read_point(&p->R[k], b + PT));
        b += 2 * PT;
    }
    CL_TRY(por_scalar_from_bytes(&p->a, b));
    CL_TRY(por_scalar_from_bytes(&p->b, b + SC));
    for (size_t j = 0; j < m; j++) {
        if (it->commitments) {
            CL_TRY(read_point(&p->V[j], it->commitments + j * PT));
        } else {
            p->V[j] = it->commitment_points[j];
            if (por_affine_is_identity(&p->V[j])) return CL_ERR_INVALID;
        }
    }
    return CL_OK;
}

/* The verifier's multi-scalar multiplication under construction: shared
 * columns for G_i, H_i (Nmax each) and the bases G, H, U, then each proof's
 * own points. */
typedef struct {
    size_t Nmax;
    por_scalar *gi, *hi, g, h, u;
    const por_affine **pts;
    por_scalar *sc;
    size_t n, cap;
} vmsm;

static void vmsm_push(vmsm *v, const por_affine *p, const por_scalar *s) {
    if (v->n == v->cap) {
        v->cap = v->cap ? 2 * v->cap : 64;
        v->pts = cl_realloc(v->pts, v->cap * sizeof *v->pts);
        v->sc = cl_realloc(v->sc, v->cap * sizeof *v->sc);
    }
    v->pts[v->n] = p;
    v->sc[v->n++] = *s;
}

/* Replays the transcript of one proof and adds weight·(its combined equation)
 * to the MSM. p must stay alive until the MSM is computed. */
static cl_err add_proof(vmsm *v, const por_rangeproof_item *it, const uint8_t *raw, rp_proof *p,
                        size_t lg, const por_scalar *weight) {
    size_t m = it->m, n = it->n, N = m * n;
    por_transcript *t = it->transcript;
    if (it->commitments) {
        transcript_start(t, m, n, it->commitments);
    } else {
        uint8_t *Vb = cl_malloc(m * PT);
        for (size_t j = 0; j < m; j++)
            por_affine_to_bytes(Vb + j * PT, &p->V[j]);
        transcript_start(t, m, n, Vb);
        free(Vb);
    }
    por_transcript_append(t, "A", slice_of(raw, PT));
    por_transcript_append(t, "S", slice_of(raw + PT, PT));
    por_scalar y, z, x, w, c, tmp, tmp2;
    por_transcript_challenge_scalar(t, "y", &y);
    por_transcript_challenge_scalar(t, "z", &z);
    por_transcript_append(t, "T1", slice_of(raw + 2 * PT, PT));
    por_transcript_append(t, "T2", slice_of(raw + 3 * PT, PT));
    por_transcript_challenge_scalar(t, "x", &x);
    const uint8_t *s = raw + 4 * PT;
    por_transcript_append(t, "t_hat", slice_of(s, SC));
    por_transcript_append(t, "tau_x", slice_of(s + SC, SC));
    por_transcript_append(t, "mu", slice_of(s + 2 * SC, SC));
    por_transcript_challenge_scalar(t, "w", &w);
    /* u_1..u_lg, then their inverses and y⁻¹ in one batch inversion */
    por_scalar *u = cl_malloc((2 * lg + 1) * sizeof *u), *uinv = u + lg;
    const uint8_t *lr = s + 3 * SC;
    for (size_t k = 0; k < lg; k++) {
        uint64_t k1, k2;
        por_transcript_append(t, "L", slice_of(lr + 2 * k * PT, PT));
        por_transcript_append(t, "R", slice_of(lr + (2 * k + 1) * PT, PT));
        por_transcript_challenge_short(t, "u", &u[k], &k1, &k2);
        uinv[k] = u[k];
    }
    uinv[lg] = y;
    if (por_scalar_batch_inv(uinv, lg + 1) != CL_OK) {
        free(u);
        return CL_ERR_CRYPTO;
    }
    por_scalar yinv = uinv[lg];
    por_scalar_random(&c); /* weight of the t̂ equation */

    /* s_i and s_i⁻¹: bit b of i (b = 0 the lowest) belongs to round lg - b */
    por_scalar *si = cl_malloc(2 * N * sizeof *si), *sinv = si + N;
    por_scalar_one(&si[0]);
    por_scalar_one(&sinv[0]);
    for (size_t b = 0; b < lg; b++) {
        size_t half = (size_t)1 << b;
        for (size_t i = 0; i < half; i++) {
            por_scalar_mul(&si[i + half], &si[i], &u[lg - 1 - b]);
            por_scalar_mul(&sinv[i + half], &sinv[i], &uinv[lg - 1 - b]);
        }
    }

    /* G_i: -(z + a·s_i); H_i: z + (z^(2+j)·2^k - b·s_i⁻¹)·y^-i. Also Σ y^i. */
    por_scalar zj, two, yi, yinvi, sumy, coef;
    por_scalar_one(&yi);
    por_scalar_one(&yinvi);
    por_scalar_zero(&sumy);
    por_scalar_mul(&zj, &z, &z);
    for (size_t i = 0; i < N; i++) {
        if (i > 0 && i % n == 0) por_scalar_mul(&zj, &zj, &z);
        por_scalar_from_u64(&two, (uint64_t)1 << (i % n));
        por_scalar_mul(&coef, &p->a, &si[i]);
        por_scalar_add(&coef, &coef, &z);
        por_scalar_mul(&coef, &coef, weight);
        por_scalar_sub(&v->gi[i], &v->gi[i], &coef);
        por_scalar_mul(&tmp, &zj, &two);
        por_scalar_mul(&tmp2, &p->b, &sinv[i]);
        por_scalar_sub(&tmp, &tmp, &tmp2);
        por_scalar_mul(&tmp, &tmp, &yinvi);
        por_scalar_add(&tmp, &tmp, &z);
        por_scalar_mul(&tmp, &tmp, weight);
        por_scalar_add(&v->hi[i], &v->hi[i], &tmp);
        por_scalar_add(&sumy, &sumy, &yi);
        por_scalar_mul(&yi, &yi, &y);
        por_scalar_mul(&yinvi, &yinvi, &yinv);
    }
    free(si);

    /* δ(y,z) = (z - z²)·Σ y^i - Σ_j z^(3+j)·(2^n - 1) */
    por_scalar delta, z2, zpow, twon1, cw;
    por_scalar_mul(&z2, &z, &z);
    por_scalar_sub(&delta, &z, &z2);
    por_scalar_mul(&delta, &delta, &sumy);
    por_scalar_from_u64(&twon1, n == 64 ? UINT64_MAX : ((uint64_t)1 << n) - 1);
    por_scalar_mul(&zpow, &z2, &z); /* z^3 */
    for (size_t j = 0; j < m; j++) {
        por_scalar_mul(&tmp, &zpow, &twon1);
        por_scalar_sub(&delta, &delta, &tmp);
        por_scalar_mul(&zpow, &zpow, &z);
    }
    por_scalar_mul(&cw, &c, weight); /* c·weight */

    /* G: c·(δ - t̂); H: -(μ + c·τx); U: w·(t̂ - a·b) */
    por_scalar_sub(&tmp, &delta, &p->that);
    por_scalar_mul(&tmp, &tmp, &cw);
    por_scalar_add(&v->g, &v->g, &tmp);
    por_scalar_mul(&tmp, &c, &p->taux);
    por_scalar_add(&tmp, &tmp, &p->mu);
    por_scalar_mul(&tmp, &tmp, weight);
    por_scalar_sub(&v->h, &v->h, &tmp);
    por_scalar_mul(&tmp, &p->a, &p->b);
    por_scalar_sub(&tmp, &p->that, &tmp);
    por_scalar_mul(&tmp, &tmp, &w);
    por_scalar_mul(&tmp, &tmp, weight);
    por_scalar_add(&v->u, &v->u, &tmp);

    /* the proof's own points */
    vmsm_push(v, &p->A, weight);
    por_scalar_mul(&tmp, &x, weight);
    vmsm_push(v, &p->S, &tmp);
    for (size_t k = 0; k < lg; k++) {
        por_scalar_mul(&tmp, &u[k], weight);
        vmsm_push(v, &p->L[k], &tmp);
        por_scalar_mul(&tmp, &uinv[k], weight);
        vmsm_push(v, &p->R[k], &tmp);
    }
    por_scalar_mul(&zpow, &z2, &cw); /* c·weight·z^(2+j) */
    for (size_t j = 0; j < m; j++) {
        vmsm_push(v, &p->V[j], &zpow);
        por_scalar_mul(&zpow, &zpow, &z);
    }
    por_scalar_mul(&tmp, &x, &cw);
    vmsm_push(v, &p->T1, &tmp);
    por_scalar_mul(&tmp, &tmp, &x);
    vmsm_push(v, &p->T2, &tmp);
    free(u);
    return CL_OK;
}

cl_err por_rangeproof_verify_batch(const por_rangeproof_item *items, size_t count) {
    if (count == 0) return CL_OK;
    size_t Nmax = 0;
    for (size_t k = 0; k < count; k++) {
        size_t lg;
        if (!params(items[k].m, items[k].n, &lg)) return CL_ERR_INVALID;
        if ((!items[k].commitments && !items[k].commitment_points) || !items[k].transcript)
            return CL_ERR_INVALID;
        if (items[k].proof.len != por_rangeproof_size(items[k].m, items[k].n) ||
            !items[k].proof.ptr)
            return CL_ERR_INVALID;
        if (items[k].m * items[k].n > Nmax) Nmax = items[k].m * items[k].n;
    }
    rp_proof *ps = cl_calloc(count, sizeof *ps);
    vmsm v = {.Nmax = Nmax};
    v.gi = cl_calloc(2 * Nmax, sizeof *v.gi);
    v.hi = v.gi + Nmax;
    cl_err e = CL_OK;
    for (size_t k = 0; k < count && e == CL_OK; k++) {
        const por_rangeproof_item *it = &items[k];
        size_t lg;
        params(it->m, it->n, &lg);
        ps[k].L = cl_malloc((lg ? lg : 1) * sizeof *ps[k].L);
        ps[k].R = cl_malloc((lg ? lg : 1) * sizeof *ps[k].R);
        ps[k].V = cl_malloc(it->m * sizeof *ps[k].V);
        e = parse(&ps[k], it, lg);
        if (e != CL_OK) break;
        por_scalar weight;
        if (count == 1)
            por_scalar_one(&weight);
        else
            por_scalar_random(&weight);
        e = add_proof(&v, it, it->proof.ptr, &ps[k], lg, &weight);
    }
    if (e == CL_OK) {
        const por_affine *G = por_generators(POR_RP_LABEL_G, Nmax);
        const por_affine *H = por_generators(POR_RP_LABEL_H, Nmax);
        for (size_t i = 0; i < Nmax; i++)
            vmsm_push(&v, &G[i], &v.gi[i]);
        for (size_t i = 0; i < Nmax; i++)
            vmsm_push(&v, &H[i], &v.hi[i]);
        vmsm_push(&v, por_pedersen_g(), &v.g);
        vmsm_push(&v, por_pedersen_h(), &v.h);
        vmsm_push(&v, por_generators(POR_RP_LABEL_U, 1), &v.u);
        por_point res;
        por_msm_ptrs(&res, v.pts, v.sc, v.n);
        e = por_point_is_identity(&res) ? CL_OK : CL_ERR_CRYPTO;
    }
    for (size_t k = 0; k < count; k++)
        proof_free(&ps[k]);
    free(ps);
    free(v.gi);
    free(v.pts);
    free(v.sc);
    return e;
}

cl_err por_rangeproof_verify(por_transcript *t, const uint8_t *commitments, size_t m, size_t n,
                             cl_slice proof) {
    por_rangeproof_item it = {t, commitments, m, n, proof, NULL};
    return por_rangeproof_verify_batch(&it, 1);
}

cl_err por_rangeproof_verify_points(por_transcript *t, const por_affine *commitments, size_t m,
                                    size_t n, cl_slice proof) {
    if (!commitments) return CL_ERR_INVALID;
    por_rangeproof_item it = {t, NULL, m, n, proof, commitments};
    return por_rangeproof_verify_batch(&it, 1);
}
