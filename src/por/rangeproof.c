/* rangeproof.c — aggregated range proofs by digits and a logarithmic-derivative
 * lookup (protocol, byte format and transcript in rangeproof.h): the slot
 * layout and public vectors shared with the verifier (rangeproof_verify.c),
 * and the prover.
 *
 * Why digits: the cost of a Bulletproofs-style proof is linear in the length of
 * the vectors it commits to and folds. Proving each value's 64 bits takes 64
 * slots per value; proving its eight base-256 digits against a table of 256
 * entries takes 8 slots per value plus 256 for the table, shared by the batch
 * (a batch of 480 values fills 4096 slots: 8.5 a value, 7.5x fewer). Each digit
 * slot holds the digit's reciprocal 1/(X - d) (one multiplication gate), the
 * table slots hold how often each digit value occurs, and one linear equation
 * (Σ 1/(X - d_i) = Σ_t m_t/(X - t)) says every digit is in the table.
 *
 * Where the time goes (per slot): the constant-time commitments A (reciprocals,
 * one full-width term per digit slot) and S (masks, two per slot) over tabled
 * generators, then the inner-product argument: L and R are variable-time
 * Pippenger MSMs, G folds by the short challenge (k1 + λ·k2), and H, which
 * carries the y^-i weights, is kept unweighted (X_i with H'_i = y^-i·X_i) and
 * folds by the full scalar u⁻¹·y^-h (GLV halves), so no y^-i·H_i is computed.
 *
 * The verifier (rangeproof_verify.c) never folds: it expands the challenges
 * into the coefficient of every generator and checks both equations in one
 * MSM. */
#include "por/rangeproof_internal.h"

#include <stdlib.h>
#include <string.h>

#define PT POR_POINT_LEN
#define SC POR_SCALAR_LEN

bool rp_shape_of(rp_shape *s, size_t m, size_t n) {
    if (n < 8 || n > POR_RP_MAX_N || n % 8 != 0) return false;
    if (m < 1 || m > POR_RP_MAX_M) return false;
    if (m * (n / 8) + RP_TABLE > POR_RP_MAX_SLOTS) return false;
    s->m = m;
    s->n = n;
    s->K = n / 8;
    s->nd = m * s->K;
    s->slots = 1;
    s->lg = 0;
    while (s->slots < s->nd + RP_TABLE) {
        s->slots <<= 1;
        s->lg++;
    }
    return true;
}

size_t por_rangeproof_size(size_t m, size_t n) {
    rp_shape s;
    if (!rp_shape_of(&s, m, n)) return 0;
    return 5 * PT + 5 * SC + 2 * s.lg * PT;
}

size_t por_rangeproof_slots(size_t m, size_t n) {
    rp_shape s;
    return rp_shape_of(&s, m, n) ? s.slots : 0;
}

void rp_transcript_start(por_transcript *t, const rp_shape *s, const uint8_t *V) {
    por_transcript_append(t, "dom-sep", slice_cstr(RP_DOMSEP));
    por_transcript_append_u64(t, "n", s->n);
    por_transcript_append_u64(t, "m", s->m);
    for (size_t j = 0; j < s->m; j++)
        por_transcript_append(t, "V", slice_of(V + j * PT, PT));
}

/* A round's challenge u of the inner-product argument: short (v1; k1, k2 its
 * halves for por_points_fold_endo) or a full scalar (wide; k1 = k2 = 0). */
void rp_ipa_challenge(por_transcript *t, bool wide, por_scalar *u, uint64_t *k1, uint64_t *k2) {
    if (wide) {
        por_transcript_challenge_scalar(t, "u", u);
        *k1 = *k2 = 0;
    } else {
        por_transcript_challenge_short(t, "u", u, k1, k2);
    }
}

/* c_t and ξ⁻¹, y⁻¹ (public, variable time). CL_ERR_CRYPTO if X is a table
 * value or ξ or y is zero (probability ~2^-246). */
cl_err rp_chal_derive(rp_chal *ch) {
    por_scalar v[RP_TABLE + 2];
    for (size_t t = 0; t < RP_TABLE; t++) {
        por_scalar_from_u64(&v[t], t);
        por_scalar_sub(&v[t], &ch->X, &v[t]);
    }
    v[RP_TABLE] = ch->xi;
    v[RP_TABLE + 1] = ch->y;
    if (por_scalar_batch_inv(v, RP_TABLE + 2) != CL_OK) return CL_ERR_CRYPTO;
    memcpy(ch->c, v, sizeof ch->c);
    ch->xiinv = v[RP_TABLE];
    ch->yinv = v[RP_TABLE + 1];
    return CL_OK;
}

/* The public weight vectors: wR_i = z^(2+j)·256^k on digit slots (value
 * equations), wL_i = ξ⁻¹ on digit slots and -c_t on table slots (the lookup
 * equation), both 0 elsewhere. */
void rp_pub_vectors(const rp_shape *s, const rp_chal *ch, por_scalar *wR, por_scalar *wL) {
    por_scalar zj, p256, b256;
    por_scalar_mul(&zj, &ch->z, &ch->z);
    por_scalar_from_u64(&b256, 256);
    for (size_t j = 0; j < s->m; j++) {
        p256 = zj;
        for (size_t k = 0; k < s->K; k++) {
            wR[j * s->K + k] = p256;
            wL[j * s->K + k] = ch->xiinv;
            por_scalar_mul(&p256, &p256, &b256);
        }
        por_scalar_mul(&zj, &zj, &ch->z);
    }
    for (size_t i = s->nd; i < s->slots; i++) {
        por_scalar_zero(&wR[i]);
        if (i < s->nd + RP_TABLE)
            por_scalar_neg(&wL[i], &ch->c[i - s->nd]);
        else
            por_scalar_zero(&wL[i]);
    }
}

/* δ = ξ·Σ_{digit slots} y^i + X·Σ_i wR_i + z·Σ_i y^-i·wR_i·wL_i: what t(x)'s
 * constant term is, apart from -Σ_j z^(2+j)·v_j. */
void rp_delta(por_scalar *out, const rp_shape *s, const rp_chal *ch, const por_scalar *wR,
              const por_scalar *wL) {
    por_scalar yi, yinvi, sy, sw, swl, tmp;
    por_scalar_one(&yi);
    por_scalar_one(&yinvi);
    por_scalar_zero(&sy);
    por_scalar_zero(&sw);
    por_scalar_zero(&swl);
    for (size_t i = 0; i < s->nd; i++) {
        por_scalar_add(&sy, &sy, &yi);
        por_scalar_add(&sw, &sw, &wR[i]);
        por_scalar_mul(&tmp, &wR[i], &wL[i]);
        por_scalar_mul(&tmp, &tmp, &yinvi);
        por_scalar_add(&swl, &swl, &tmp);
        por_scalar_mul(&yi, &yi, &ch->y);
        por_scalar_mul(&yinvi, &yinvi, &ch->yinv);
    }
    por_scalar_mul(out, &sy, &ch->xi);
    por_scalar_mul(&tmp, &sw, &ch->X);
    por_scalar_add(out, out, &tmp);
    por_scalar_mul(&tmp, &swl, &ch->z);
    por_scalar_add(out, out, &tmp);
}

/* Powers base^0 .. base^(n-1). */
static void powers(por_scalar *out, const por_scalar *base, size_t n) {
    if (n == 0) return;
    por_scalar_one(&out[0]);
    for (size_t i = 1; i < n; i++)
        por_scalar_mul(&out[i], &out[i - 1], base);
}

/* ---- prover ---- */

/* The inner-product argument on a (= l) and b (= r), both of length N, with
 * generators G0 and H'_i = y^-i·H0_i (H0 unweighted), writing L_1, R_1, ...
 * into lr and leaving the final scalars in a[0], b[0]; wide: full-scalar
 * round challenges. Variable time (see rangeproof.h). */
static void ipa_prove(por_transcript *t, por_scalar *a, por_scalar *b, size_t N,
                      const por_affine *G0, const por_affine *H0, const por_scalar *y,
                      const por_affine *Q, bool wide, uint8_t *lr) {
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
        rp_ipa_challenge(t, wide, &u, &k1, &k2);
        por_scalar_inv(&uinv, &u);

        for (size_t i = 0; i < h; i++) {
            por_scalar_mul(&tmp, &uinv, &a[h + i]);
            por_scalar_add(&a[i], &a[i], &tmp);
            por_scalar_mul(&tmp, &u, &b[h + i]);
            por_scalar_add(&b[i], &b[i], &tmp);
        }
        if (h > 1) {                          /* the last round's generators are never used */
            por_scalar_mul(&e, &uinv, &d[h]); /* u⁻¹·y^-h */
            if (wide)
                por_points_fold_vartime(G, Gc, Gc + h, &u, h);
            else
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
    const por_affine *G, *H, *U;
    const por_affine *Grows, *Hrows;
} rp_gens;

static void gens_load(rp_gens *g, const rp_shape *s, bool rows) {
    if (rows) {
        g->Grows = por_generator_rows(POR_RP_LABEL_G, s->slots);
        g->Hrows = por_generator_rows(POR_RP_LABEL_H, s->slots);
    }
    g->G = por_generators(POR_RP_LABEL_G, s->slots);
    g->H = por_generators(POR_RP_LABEL_H, s->slots);
    g->U = por_generators(POR_RP_LABEL_U, 1);
}

static void append_scalar_bytes(cl_buf *out, const por_scalar *s) {
    uint8_t b[SC];
    por_scalar_to_bytes(b, s);
    buf_append(out, b, SC);
}

/* Appends the point to the proof and to the transcript. */
static void emit_point(por_transcript *t, const char *label, cl_buf *out, const por_point *p) {
    uint8_t b[PT];
    por_point_to_bytes(b, p);
    buf_append(out, b, PT);
    por_transcript_append(t, label, slice_of(b, PT));
}

static void emit_scalar(por_transcript *t, const char *label, cl_buf *out, const por_scalar *s) {
    uint8_t b[SC];
    por_scalar_to_bytes(b, s);
    buf_append(out, b, SC);
    por_transcript_append(t, label, slice_of(b, SC));
}

/* The prover's secrets for one proof, wiped by prover_free. */
typedef struct {
    por_scalar *d;       /* nd digits */
    size_t dbits;        /* bound on them: 8 (255 only for forged digits) */
    por_scalar *aL, *aR; /* slots each */
    por_scalar *sLR;     /* s_L then s_R, slots each */
    por_scalar alpha, rhoD, rho, tau1, tau2;
} rp_secret;

static void prover_free(rp_secret *w, const rp_shape *s) {
    por_scalars_cleanse(w->d, s->nd);
    free(w->d);
    por_scalars_cleanse(w->aL, s->slots);
    por_scalars_cleanse(w->aR, s->slots);
    por_scalars_cleanse(w->sLR, 2 * s->slots);
    free(w->aL);
    free(w->aR);
    free(w->sLR);
    por_scalars_cleanse(&w->alpha, 1);
    por_scalars_cleanse(&w->rhoD, 1);
    por_scalars_cleanse(&w->rho, 1);
    por_scalars_cleanse(&w->tau1, 1);
    por_scalars_cleanse(&w->tau2, 1);
}

/* Digits of the low n bits of every value (little-endian base 256) and how
 * often each digit value occurs, counted without a secret-dependent address. */
static void digits(rp_secret *w, const rp_shape *s, const por_scalar *values, uint32_t *mult) {
    uint8_t be[SC];
    memset(mult, 0, RP_TABLE * sizeof *mult);
    for (size_t j = 0; j < s->m; j++) {
        por_scalar_to_bytes(be, &values[j]);
        for (size_t k = 0; k < s->K; k++) {
            uint32_t d = be[SC - 1 - k];
            por_scalar_from_u64(&w->d[j * s->K + k], d);
            for (uint32_t t = 0; t < RP_TABLE; t++)
                mult[t] += ((d ^ t) - 1) >> 31; /* 1 iff equal */
        }
    }
    cl_cleanse(be, sizeof be);
    w->dbits = 8;
}

/* Test hook: the digits as given (any scalars), counted where they are table
 * values. Variable time. */
static void digits_forged(rp_secret *w, const rp_shape *s, const por_scalar *forged,
                          uint32_t *mult) {
    memset(mult, 0, RP_TABLE * sizeof *mult);
    for (size_t i = 0; i < s->nd; i++) {
        uint64_t d;
        w->d[i] = forged[i];
        if (por_scalar_to_u64(&forged[i], &d) && d < RP_TABLE) mult[d]++;
    }
    w->dbits = 255;
}

/* D = Σ_t m_t·G_(nd+t) - Σ_i d_i·H_i + ρ_D·H: the digits and the table counts,
 * committed before X is drawn. Constant time (digits < 2^8, counts <= nd <
 * POR_RP_MAX_SLOTS = 2^16). */
static void commit_table(por_point *D, const rp_secret *w, const rp_shape *s, const rp_gens *g,
                         const uint32_t *mult) {
    const por_affine **rows = cl_malloc((s->nd > RP_TABLE ? s->nd : RP_TABLE) * sizeof *rows);
    por_scalar *v = cl_malloc((s->nd > RP_TABLE ? s->nd : RP_TABLE) * sizeof *v);
    por_point Dd;
    for (size_t t = 0; t < RP_TABLE; t++) {
        rows[t] = &g->Grows[(s->nd + t) * POR_CT_ROW];
        por_scalar_from_u64(&v[t], mult[t]);
    }
    por_vector_commit(D, rows, v, RP_TABLE, 16, &w->rhoD);
    for (size_t i = 0; i < s->nd; i++) {
        rows[i] = &g->Hrows[i * POR_CT_ROW];
        v[i] = w->d[i];
    }
    por_ct_msm_rows(&Dd, rows, v, s->nd, w->dbits);
    por_point_sub(D, D, &Dd);
    por_scalars_cleanse(v, s->nd > RP_TABLE ? s->nd : RP_TABLE);
    free(v);
    free(rows);
}

/* A = Σ_i r_i·G_i + α·H over the digit slots, r_i = 1/(X - d_i); S = <s_L, G> +
 * <s_R, H> + ρ·H over all slots. Fills a_L (ξ not yet known: r_i for now) and
 * a_R = X - d_i. Constant time. */
static cl_err commit_recip(por_point *A, por_point *S, rp_secret *w, const rp_shape *s,
                           const rp_gens *g, const por_scalar *X) {
    size_t N = s->slots;
    for (size_t i = 0; i < N; i++) {
        por_scalar_zero(&w->aL[i]);
        por_scalar_zero(&w->aR[i]);
    }
    for (size_t i = 0; i < s->nd; i++) {
        por_scalar_sub(&w->aR[i], X, &w->d[i]);
        w->aL[i] = w->aR[i];
    }
    if (por_scalar_batch_inv_ct(w->aL, s->nd) != CL_OK) return CL_ERR_CRYPTO;
    const por_affine **rows = cl_malloc(2 * N * sizeof *rows);
    for (size_t i = 0; i < N; i++) {
        rows[i] = &g->Grows[i * POR_CT_ROW];
        rows[N + i] = &g->Hrows[i * POR_CT_ROW];
    }
    por_vector_commit(A, rows, w->aL, s->nd, 255, &w->alpha);
    for (size_t i = 0; i < 2 * N; i++)
        por_scalar_random(&w->sLR[i]);
    por_vector_commit(S, rows, w->sLR, 2 * N, 255, &w->rho);
    free(rows);
    return CL_OK;
}

/* What a proof is made from. */
typedef struct {
    const por_scalar *values, *blindings; /* m each */
    const por_scalar *forged;             /* test hook: the digits to use, or NULL */
    const por_affine *given;              /* commitments made elsewhere, or NULL */
    bool wide;                            /* full-scalar inner-product challenges */
} rp_input;

/* V_j into the transcript: the given commitments, or made here (and written
 * to commitments if it is not NULL). */
static void start_commitments(por_transcript *t, const rp_shape *s, const rp_input *in,
                              por_point *commitments) {
    uint8_t *Vb = cl_malloc(s->m * PT);
    for (size_t j = 0; j < s->m; j++) {
        if (in->given) {
            por_affine_to_bytes(Vb + j * PT, &in->given[j]);
            continue;
        }
        por_point V;
        por_commit(&V, &in->values[j], &in->blindings[j]);
        if (commitments) commitments[j] = V;
        por_point_to_bytes(Vb + j * PT, &V);
    }
    rp_transcript_start(t, s, Vb);
    free(Vb);
}

static cl_err prove_core(por_transcript *t, const rp_input *in, size_t m, size_t n, cl_buf *proof,
                         por_point *commitments) {
    rp_shape s;
    if (!rp_shape_of(&s, m, n)) return CL_ERR_INVALID;
    rp_gens g;
    gens_load(&g, &s, true);
    size_t N = s.slots;
    const por_scalar *blindings = in->blindings;
    start_commitments(t, &s, in, commitments);

    rp_secret w = {0};
    w.d = cl_malloc(s.nd * sizeof *w.d);
    w.aL = cl_malloc(N * sizeof *w.aL);
    w.aR = cl_malloc(N * sizeof *w.aR);
    w.sLR = cl_malloc(2 * N * sizeof *w.sLR);
    por_scalar_random(&w.alpha);
    por_scalar_random(&w.rhoD);
    por_scalar_random(&w.rho);
    por_scalar_random(&w.tau1);
    por_scalar_random(&w.tau2);
    uint32_t mult[RP_TABLE];
    if (in->forged)
        digits_forged(&w, &s, in->forged, mult);
    else
        digits(&w, &s, in->values, mult);

    /* D → X; A, S → ξ, y, z */
    rp_chal ch;
    por_point D, A, S, T1, T2;
    commit_table(&D, &w, &s, &g, mult);
    size_t start = proof->len;
    emit_point(t, "D", proof, &D);
    por_transcript_challenge_scalar(t, "X", &ch.X);
    cl_err e = commit_recip(&A, &S, &w, &s, &g, &ch.X);
    if (e != CL_OK) goto fail;
    emit_point(t, "A", proof, &A);
    emit_point(t, "S", proof, &S);
    por_transcript_challenge_scalar(t, "xi", &ch.xi);
    por_transcript_challenge_scalar(t, "y", &ch.y);
    por_transcript_challenge_scalar(t, "z", &ch.z);
    e = rp_chal_derive(&ch);
    if (e != CL_OK) goto fail;
    for (size_t i = 0; i < s.nd; i++)
        por_scalar_mul(&w.aL[i], &w.aL[i], &ch.xi);
    for (size_t tt = 0; tt < RP_TABLE; tt++)
        por_scalar_from_u64(&w.aL[s.nd + tt], mult[tt]);
    cl_cleanse(mult, sizeof mult);

    /* l(x) = a_L + y^-i∘wR + s_L·x, r(x) = y^i∘(a_R + s_R·x) + z·wL;
     * t1 = <l0, r1> + <l1, r0>, t2 = <l1, r1> */
    por_scalar *yp = cl_malloc(N * sizeof *yp), *yinvp = cl_malloc(N * sizeof *yinvp);
    por_scalar *wR = cl_malloc(N * sizeof *wR), *wL = cl_malloc(N * sizeof *wL);
    por_scalar *l = cl_malloc(N * sizeof *l), *r = cl_malloc(N * sizeof *r);
    powers(yp, &ch.y, N);
    powers(yinvp, &ch.yinv, N);
    rp_pub_vectors(&s, &ch, wR, wL);
    const por_scalar *sL = w.sLR, *sR = w.sLR + N;
    por_scalar t1, t2, l0, r0, r1, q, x;
    por_scalar_zero(&t1);
    por_scalar_zero(&t2);
    for (size_t i = 0; i < N; i++) {
        por_scalar_mul(&l0, &yinvp[i], &wR[i]);
        por_scalar_add(&l0, &l0, &w.aL[i]);
        por_scalar_mul(&r0, &yp[i], &w.aR[i]);
        por_scalar_mul(&q, &ch.z, &wL[i]);
        por_scalar_add(&r0, &r0, &q);
        por_scalar_mul(&r1, &yp[i], &sR[i]);
        por_scalar_mul(&q, &l0, &r1);
        por_scalar_add(&t1, &t1, &q);
        por_scalar_mul(&q, &sL[i], &r0);
        por_scalar_add(&t1, &t1, &q);
        por_scalar_mul(&q, &sL[i], &r1);
        por_scalar_add(&t2, &t2, &q);
        l[i] = l0; /* keep l0, r0, r1 for l(x), r(x) */
        r[i] = r0;
        w.aR[i] = r1; /* a_R is spent: r1 in its place */
    }
    por_commit(&T1, &t1, &w.tau1);
    por_commit(&T2, &t2, &w.tau2);
    emit_point(t, "T1", proof, &T1);
    emit_point(t, "T2", proof, &T2);
    por_transcript_challenge_scalar(t, "x", &x);

    /* l = l(x), r = r(x), t̂ = <l, r>, τx = τ1·x + τ2·x² - Σ_j z^(2+j)·γ_j,
     * μ = ξ·α + ρ_D + x·ρ */
    por_scalar that, taux, mu, zj;
    por_scalar_zero(&that);
    for (size_t i = 0; i < N; i++) {
        por_scalar_mul(&q, &sL[i], &x);
        por_scalar_add(&l[i], &l[i], &q);
        por_scalar_mul(&q, &w.aR[i], &x);
        por_scalar_add(&r[i], &r[i], &q);
        por_scalar_mul(&q, &l[i], &r[i]);
        por_scalar_add(&that, &that, &q);
    }
    por_scalar_mul(&taux, &w.tau2, &x);
    por_scalar_add(&taux, &taux, &w.tau1);
    por_scalar_mul(&taux, &taux, &x);
    por_scalar_mul(&zj, &ch.z, &ch.z);
    for (size_t j = 0; j < m; j++) {
        por_scalar_mul(&q, &zj, &blindings[j]);
        por_scalar_sub(&taux, &taux, &q);
        por_scalar_mul(&zj, &zj, &ch.z);
    }
    por_scalar_mul(&mu, &w.rho, &x);
    por_scalar_add(&mu, &mu, &w.rhoD);
    por_scalar_mul(&q, &w.alpha, &ch.xi);
    por_scalar_add(&mu, &mu, &q);
    emit_scalar(t, "t_hat", proof, &that);
    emit_scalar(t, "tau_x", proof, &taux);
    emit_scalar(t, "mu", proof, &mu);
    por_scalar wch;
    por_transcript_challenge_scalar(t, "w", &wch);

    /* the secrets are spent: l and r now hide them (and are safe to leak) */
    prover_free(&w, &s);
    por_scalars_cleanse(&t1, 1);
    por_scalars_cleanse(&t2, 1);
    por_scalars_cleanse(&l0, 1);
    por_scalars_cleanse(&r0, 1);
    por_scalars_cleanse(&r1, 1);
    por_scalars_cleanse(&q, 1);

    /* Q = w·U, then the inner-product argument */
    por_point Qp, Up;
    por_affine Q;
    por_point_from_affine(&Up, g.U);
    por_point_mul_vartime(&Qp, &Up, &wch);
    por_point_to_affine(&Q, &Qp);
    uint8_t *lr = cl_malloc(2 * s.lg * PT + 1);
    ipa_prove(t, l, r, N, g.G, g.H, &ch.y, &Q, in->wide, lr);
    buf_append(proof, lr, 2 * s.lg * PT);
    append_scalar_bytes(proof, &l[0]);
    append_scalar_bytes(proof, &r[0]);
    free(lr);
    por_scalars_cleanse(l, N);
    por_scalars_cleanse(r, N);
    free(l);
    free(r);
    free(yp);
    free(yinvp);
    free(wR);
    free(wL);
    return CL_OK;
fail:
    cl_cleanse(mult, sizeof mult);
    prover_free(&w, &s);
    proof->len = start;
    return e;
}

cl_err por_rangeproof_prove_unchecked(por_transcript *t, const por_scalar *values,
                                      const por_scalar *blindings, size_t m, size_t n,
                                      cl_buf *proof, por_point *commitments) {
    rp_input in = {values, blindings, NULL, NULL, false};
    return prove_core(t, &in, m, n, proof, commitments);
}

cl_err por_rangeproof_prove_unchecked_wide(por_transcript *t, const por_scalar *values,
                                           const por_scalar *blindings, size_t m, size_t n,
                                           cl_buf *proof, por_point *commitments) {
    rp_input in = {values, blindings, NULL, NULL, true};
    return prove_core(t, &in, m, n, proof, commitments);
}

cl_err por_rangeproof_prove_forged_digits(por_transcript *t, const por_scalar *values,
                                          const por_scalar *blindings, const por_scalar *digits,
                                          size_t m, size_t n, cl_buf *proof,
                                          por_point *commitments) {
    rp_input in = {values, blindings, digits, NULL, false};
    return prove_core(t, &in, m, n, proof, commitments);
}

cl_err por_rangeproof_prove_forged_digits_wide(por_transcript *t, const por_scalar *values,
                                               const por_scalar *blindings,
                                               const por_scalar *digits, size_t m, size_t n,
                                               cl_buf *proof, por_point *commitments) {
    rp_input in = {values, blindings, digits, NULL, true};
    return prove_core(t, &in, m, n, proof, commitments);
}

/* Whether every value is < 2^n: the bytes above the low n/8 of each are all
 * zero. Constant time in the values (only the verdict is revealed). */
static bool values_fit(const por_scalar *values, size_t m, size_t n) {
    uint8_t be[SC], acc = 0;
    size_t K = n / 8;
    for (size_t j = 0; j < m; j++) {
        por_scalar_to_bytes(be, &values[j]);
        for (size_t i = 0; i < SC - K; i++)
            acc |= be[i];
    }
    cl_cleanse(be, sizeof be);
    return acc == 0;
}

cl_err por_rangeproof_prove_scalars(por_transcript *t, const por_scalar *values,
                                    const por_scalar *blindings, size_t m, size_t n, cl_buf *proof,
                                    por_point *commitments) {
    rp_shape s;
    if (!rp_shape_of(&s, m, n) || !values_fit(values, m, n)) return CL_ERR_INVALID;
    rp_input in = {values, blindings, NULL, NULL, true};
    return prove_core(t, &in, m, n, proof, commitments);
}

cl_err por_rangeproof_prove_committed(por_transcript *t, const por_scalar *values,
                                      const por_scalar *blindings, const por_affine *commitments,
                                      size_t m, size_t n, cl_buf *proof) {
    rp_shape s;
    if (!commitments || !rp_shape_of(&s, m, n) || !values_fit(values, m, n)) return CL_ERR_INVALID;
    for (size_t j = 0; j < m; j++)
        if (por_affine_is_identity(&commitments[j])) return CL_ERR_INVALID;
    rp_input in = {values, blindings, NULL, commitments, true};
    return prove_core(t, &in, m, n, proof, NULL);
}

cl_err por_rangeproof_prove(por_transcript *t, const uint64_t *values, const por_scalar *blindings,
                            size_t m, size_t n, cl_buf *proof, por_point *commitments) {
    rp_shape s;
    if (!rp_shape_of(&s, m, n)) return CL_ERR_INVALID;
    for (size_t j = 0; j < m; j++)
        if (n < 64 && (values[j] >> n) != 0) return CL_ERR_INVALID;
    por_scalar *v = cl_malloc(m * sizeof *v);
    for (size_t j = 0; j < m; j++)
        por_scalar_from_u64(&v[j], values[j]);
    rp_input in = {v, blindings, NULL, NULL, false};
    cl_err e = prove_core(t, &in, m, n, proof, commitments);
    por_scalars_cleanse(v, m);
    free(v);
    return e;
}
