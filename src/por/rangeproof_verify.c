/* rangeproof_verify.c — the range-proof verifier, single and batch (protocol
 * in rangeproof.h). It never folds generators: it expands the challenges into
 * the coefficient of every generator and checks both equations of a proof in
 * one multi-scalar multiplication. Batch verification adds every proof's
 * equations with random weights; the G_i, H_i columns are shared, so k proofs
 * cost one MSM of 2·max(slots) + k·(2·lg + m + 6) + 3 points. */
#include "por/rangeproof_internal.h"

#include <stdlib.h>
#include <string.h>

#define PT POR_POINT_LEN
#define SC POR_SCALAR_LEN

typedef struct {
    por_affine D, A, S, T1, T2, *L, *R, *V;
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
    const uint8_t *b = it->proof.ptr;
    por_affine *five[5] = {&p->D, &p->A, &p->S, &p->T1, &p->T2};
    for (size_t k = 0; k < 5; k++)
        CL_TRY(read_point(five[k], b + k * PT));
    b += 5 * PT;
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
    for (size_t j = 0; j < it->m; j++) {
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

/* Replays the transcript: every challenge of the proof into ch, u (lg short
 * challenges, then their inverses) and w. */
static cl_err replay(const por_rangeproof_item *it, const rp_shape *s, const rp_proof *p,
                     rp_chal *ch, por_scalar *u, por_scalar *w, por_scalar *x) {
    por_transcript *t = it->transcript;
    const uint8_t *raw = it->proof.ptr;
    if (it->commitments) {
        rp_transcript_start(t, s, it->commitments);
    } else {
        uint8_t *Vb = cl_malloc(s->m * PT);
        for (size_t j = 0; j < s->m; j++)
            por_affine_to_bytes(Vb + j * PT, &p->V[j]);
        rp_transcript_start(t, s, Vb);
        free(Vb);
    }
    por_transcript_append(t, "D", slice_of(raw, PT));
    por_transcript_challenge_scalar(t, "X", &ch->X);
    por_transcript_append(t, "A", slice_of(raw + PT, PT));
    por_transcript_append(t, "S", slice_of(raw + 2 * PT, PT));
    por_transcript_challenge_scalar(t, "xi", &ch->xi);
    por_transcript_challenge_scalar(t, "y", &ch->y);
    por_transcript_challenge_scalar(t, "z", &ch->z);
    por_transcript_append(t, "T1", slice_of(raw + 3 * PT, PT));
    por_transcript_append(t, "T2", slice_of(raw + 4 * PT, PT));
    por_transcript_challenge_scalar(t, "x", x);
    const uint8_t *sc = raw + 5 * PT;
    por_transcript_append(t, "t_hat", slice_of(sc, SC));
    por_transcript_append(t, "tau_x", slice_of(sc + SC, SC));
    por_transcript_append(t, "mu", slice_of(sc + 2 * SC, SC));
    por_transcript_challenge_scalar(t, "w", w);
    const uint8_t *lr = sc + 3 * SC;
    for (size_t k = 0; k < s->lg; k++) {
        uint64_t k1, k2;
        por_transcript_append(t, "L", slice_of(lr + 2 * k * PT, PT));
        por_transcript_append(t, "R", slice_of(lr + (2 * k + 1) * PT, PT));
        rp_ipa_challenge(t, it->wide, &u[k], &k1, &k2);
        u[s->lg + k] = u[k];
    }
    if (por_scalar_batch_inv(u + s->lg, s->lg) != CL_OK) return CL_ERR_CRYPTO;
    return rp_chal_derive(ch);
}

/* Adds weight·(the proof's first equation) to the G_i, H_i columns:
 *   G_i: y^-i·wR_i - a·s_i     H_i: X·[i < nd] + (z·wL_i - b·s_i⁻¹)·y^-i
 * and returns δ. */
static void add_columns(vmsm *v, const rp_shape *s, const rp_proof *p, const rp_chal *ch,
                        const por_scalar *u, const por_scalar *weight, por_scalar *dlt) {
    size_t N = s->slots, lg = s->lg;
    por_scalar *si = cl_malloc(4 * N * sizeof *si), *sinv = si + N, *wR = si + 2 * N,
               *wL = si + 3 * N;
    /* s_i and s_i⁻¹: bit b of i (b = 0 the lowest) belongs to round lg - b */
    por_scalar_one(&si[0]);
    por_scalar_one(&sinv[0]);
    for (size_t b = 0; b < lg; b++) {
        size_t half = (size_t)1 << b;
        for (size_t i = 0; i < half; i++) {
            por_scalar_mul(&si[i + half], &si[i], &u[lg - 1 - b]);
            por_scalar_mul(&sinv[i + half], &sinv[i], &u[2 * lg - 1 - b]);
        }
    }
    rp_pub_vectors(s, ch, wR, wL);
    rp_delta(dlt, s, ch, wR, wL);
    por_scalar yinvi, coef, tmp;
    por_scalar_one(&yinvi);
    for (size_t i = 0; i < N; i++) {
        por_scalar_mul(&coef, &yinvi, &wR[i]);
        por_scalar_mul(&tmp, &p->a, &si[i]);
        por_scalar_sub(&coef, &coef, &tmp);
        por_scalar_mul(&coef, &coef, weight);
        por_scalar_add(&v->gi[i], &v->gi[i], &coef);
        por_scalar_mul(&coef, &ch->z, &wL[i]);
        por_scalar_mul(&tmp, &p->b, &sinv[i]);
        por_scalar_sub(&coef, &coef, &tmp);
        por_scalar_mul(&coef, &coef, &yinvi);
        if (i < s->nd) por_scalar_add(&coef, &coef, &ch->X);
        por_scalar_mul(&coef, &coef, weight);
        por_scalar_add(&v->hi[i], &v->hi[i], &coef);
        por_scalar_mul(&yinvi, &yinvi, &ch->yinv);
    }
    free(si);
}

/* Adds weight·(first equation) + weight·c·(second equation) of one proof:
 *   ξ·A + D + x·S + Σ_k (u_k·L_k + u_k⁻¹·R_k) + Σ_i (columns) − μ·H + w·(t̂ − a·b)·U
 *   c·((δ − t̂)·G − τx·H − Σ_j z^(2+j)·V_j + x·T1 + x²·T2)
 * p must stay alive until the MSM is computed. */
static cl_err add_proof(vmsm *v, const por_rangeproof_item *it, const rp_shape *s, rp_proof *p,
                        const por_scalar *weight) {
    size_t lg = s->lg;
    rp_chal ch;
    por_scalar w, x, c, cw, tmp, dlt, zpow;
    por_scalar *u = cl_malloc((2 * lg + 1) * sizeof *u);
    cl_err e = replay(it, s, p, &ch, u, &w, &x);
    if (e != CL_OK) {
        free(u);
        return e;
    }
    add_columns(v, s, p, &ch, u, weight, &dlt);
    por_scalar_random(&c); /* weight of the t̂ equation */
    por_scalar_mul(&cw, &c, weight);

    /* G: c·(δ − t̂); H: −(μ + c·τx); U: w·(t̂ − a·b) */
    por_scalar_sub(&tmp, &dlt, &p->that);
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
    vmsm_push(v, &p->D, weight);
    por_scalar_mul(&tmp, &ch.xi, weight);
    vmsm_push(v, &p->A, &tmp);
    por_scalar_mul(&tmp, &x, weight);
    vmsm_push(v, &p->S, &tmp);
    for (size_t k = 0; k < lg; k++) {
        por_scalar_mul(&tmp, &u[k], weight);
        vmsm_push(v, &p->L[k], &tmp);
        por_scalar_mul(&tmp, &u[lg + k], weight);
        vmsm_push(v, &p->R[k], &tmp);
    }
    por_scalar_mul(&zpow, &ch.z, &ch.z);
    por_scalar_mul(&zpow, &zpow, &cw);
    por_scalar_neg(&zpow, &zpow); /* −c·weight·z^(2+j) */
    for (size_t j = 0; j < s->m; j++) {
        vmsm_push(v, &p->V[j], &zpow);
        por_scalar_mul(&zpow, &zpow, &ch.z);
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
        rp_shape s;
        if (!rp_shape_of(&s, items[k].m, items[k].n)) return CL_ERR_INVALID;
        if ((!items[k].commitments && !items[k].commitment_points) || !items[k].transcript)
            return CL_ERR_INVALID;
        if (items[k].proof.len != por_rangeproof_size(items[k].m, items[k].n) ||
            !items[k].proof.ptr)
            return CL_ERR_INVALID;
        if (s.slots > Nmax) Nmax = s.slots;
    }
    rp_proof *ps = cl_calloc(count, sizeof *ps);
    vmsm v = {.Nmax = Nmax};
    v.gi = cl_calloc(2 * Nmax, sizeof *v.gi);
    v.hi = v.gi + Nmax;
    cl_err e = CL_OK;
    for (size_t k = 0; k < count && e == CL_OK; k++) {
        const por_rangeproof_item *it = &items[k];
        rp_shape s;
        rp_shape_of(&s, it->m, it->n);
        ps[k].L = cl_malloc(s.lg * sizeof *ps[k].L);
        ps[k].R = cl_malloc(s.lg * sizeof *ps[k].R);
        ps[k].V = cl_malloc(it->m * sizeof *ps[k].V);
        e = parse(&ps[k], it, s.lg);
        if (e != CL_OK) break;
        por_scalar weight;
        if (count == 1)
            por_scalar_one(&weight);
        else
            por_scalar_random(&weight);
        e = add_proof(&v, it, &s, &ps[k], &weight);
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
