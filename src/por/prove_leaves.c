/* prove_leaves.c — the cloister-por-v2 prover's cryptographic phases
 * (POR2SPEC §2–§5; prove.c reads the ledger, chooses widths and refuses, then
 * calls these in order):
 *   leaves:  per leaf a fresh nonce, the blindings π_{a,s}, the part
 *            commitments P_a = e·G + π_{a,0}·H and Q_a = d·G + π_{a,1}·H
 *            (constant time in e, d and π), the id and the leaf hash; per
 *            worker the exact part sums and the blinding sums (wiped);
 *   tree:    the plain Merkle tree, the opened totals, the statement digest;
 *   range:   every column's batches (net equity first, then per asset the
 *            equity and the debt parts), each proved from the values and
 *            blindings; a part proof's commitments are checked against the
 *            leaf's, so a prover bug cannot publish an unprovable leaf.
 * Net-equity commitments are never published: V_i = v_i·G + γ_i·H with
 * γ_i = Σ_a w_a·(π_{a,0} − π_{a,1}), which is Σ_a w_a·(P_a − Q_a), what the
 * verifier computes. */
#include "por/prover.h"

#include "crypto/crypto.h"
#include "por/rangeproof.h"

#include <stdlib.h>
#include <string.h>

/* ---- committed values ---- */

static void i256_pow2(por_i256 *out, uint32_t k) {
    por_i256_zero(out);
    out->w[k / 64] = (uint64_t)1 << (k % 64);
}

void por_prover_parts(const por_prover *P, uint64_t leaf, size_t a, por_i256 *e, por_i256 *d) {
    por_i256_zero(e);
    por_i256_zero(d);
    uint32_t acc = P->acc_of_leaf[leaf];
    if (acc == POR_DUMMY) {
        if ((P->hooks & POR_HOOK_DUMMY_DEBT) && leaf == P->first_dummy && a == P->dummy_asset)
            por_i256_from_i128(e, -P->dummy_amount); /* TEST HOOK: debt in a padding leaf */
        return;
    }
    por_i128 b = P->balances[(size_t)acc * P->n + a];
    por_i256 bi, nb;
    por_i256_from_i128(&bi, b);
    por_i256_zero(&nb);
    por_i256_sub(&nb, &bi); /* −b, 2^127 included */
    /* e = max(b, 0), d = max(−b, 0) without a branch on the secret sign */
    uint64_t neg = 0 - (uint64_t)((unsigned __int128)b >> 127);
    for (int k = 0; k < 4; k++) {
        e->w[k] = bi.w[k] & ~neg;
        d->w[k] = nb.w[k] & neg;
    }
    if ((P->hooks & POR_HOOK_NEGATIVE_PART) && b < 0) {
        *e = bi; /* TEST HOOK: a negative equity part, no debt */
        por_i256_zero(d);
    }
    if ((P->hooks & POR_HOOK_OVERFLOW_PART) && b != 0) {
        por_i256 t; /* TEST HOOK: both parts lifted by 2^k, the net unchanged */
        i256_pow2(&t, P->st.assets[a].range_bits);
        por_i256_add(e, &t);
        por_i256_add(d, &t);
    }
    cl_cleanse(&bi, sizeof bi);
    cl_cleanse(&nb, sizeof nb);
}

void por_prover_net(const por_prover *P, uint64_t leaf, por_i256 *v) {
    por_i256_zero(v);
    for (size_t a = 0; a < P->n; a++) {
        por_i256 e, d;
        por_prover_parts(P, leaf, a, &e, &d);
        por_i256_sub(&e, &d);
        por_i256_add_mul_i128(v, &e, P->weights[a]);
        cl_cleanse(&e, sizeof e);
        cl_cleanse(&d, sizeof d);
    }
}

/* Whether 0 <= x < 2^bits. */
static bool fits(const por_i256 *x, uint32_t bits) {
    return por_i256_bitlen(x) <= bits;
}

/* ---- leaves ---- */

/* x·G + π·H in constant time; the path depends on the public width only
 * (64-bit columns hold values < 2^64; test hooks always take the general one). */
static void commit_part(const por_prover *P, size_t a, const por_i256 *x, const por_scalar *pi,
                        por_point *out) {
    if (!P->hooks && P->st.assets[a].range_bits <= 64) {
        por_commit_u64(out, x->w[0], pi);
        return;
    }
    por_scalar s;
    por_i256_to_scalar(x, &s);
    por_commit(out, &s, pi);
    por_scalars_cleanse(&s, 1);
}

static void leaf_chunk(void *ctx, size_t b, size_t end, unsigned w) {
    por_prover *P = ctx;
    size_t n = P->n, cnt = end - b, k = 2 * n;
    por_point *J = cl_malloc(cnt * k * sizeof *J);
    por_affine *A = cl_malloc(cnt * k * sizeof *A);
    por_scalar *R = &P->R_part[(size_t)w * k], pi[2];
    por_i256 *T = &P->T_part[(size_t)w * k], part[2];
    for (size_t i = b; i < end; i++) {
        crypto_random(P->nonce[i], POR_NONCE_LEN);
        for (size_t a = 0; a < n; a++) {
            por_prover_parts(P, i, a, &part[0], &part[1]);
            for (uint8_t s = 0; s < 2; s++) {
                por2_blinding(P->nonce[i], (uint32_t)a, s, &pi[s]);
                commit_part(P, a, &part[s], &pi[s], &J[(i - b) * k + 2 * a + s]);
                por_scalar_add(&R[2 * a + s], &R[2 * a + s], &pi[s]);
                por_i256_add(&T[2 * a + s], &part[s]);
            }
        }
        uint32_t acc = P->acc_of_leaf[i];
        if (acc == POR_DUMMY)
            por2_leaf_id(NULL, 0, P->nonce[i], P->id[i]);
        else
            por2_leaf_id(P->uh.ptr + P->uh_off[acc], P->uh_off[acc + 1] - P->uh_off[acc],
                         P->nonce[i], P->id[i]);
    }
    por_points_to_affine(A, J, cnt * k);
    for (size_t i = b; i < end; i++) {
        uint8_t *pq = por_prover_pq(P, i);
        for (size_t x = 0; x < k; x++)
            por_affine_to_bytes(pq + x * POR_POINT_LEN, &A[(i - b) * k + x]);
        por2_leaf_hash(P->id[i], pq, n, P->h[i]);
    }
    por_scalars_cleanse(pi, 2);
    cl_cleanse(part, sizeof part);
    free(J);
    free(A);
}

void por_prover_leaves(por_prover *P) {
    size_t k = 2 * P->n, slots = (size_t)P->threads * k;
    P->R_part = cl_malloc(slots * sizeof *P->R_part);
    P->T_part = cl_calloc(slots, sizeof *P->T_part);
    for (size_t x = 0; x < slots; x++)
        por_scalar_zero(&P->R_part[x]);
    size_t chunk = 8192 / k ? 8192 / k : 1;
    por_parallel(P->threads, P->N, chunk, leaf_chunk, P, P->pg, "commitments");
    for (size_t x = 0; x < k; x++) {
        por_scalar r = P->R_part[x];
        por_i256 t = P->T_part[x];
        for (unsigned w = 1; w < P->threads; w++) {
            por_scalar_add(&r, &r, &P->R_part[(size_t)w * k + x]);
            por_i256_add(&t, &P->T_part[(size_t)w * k + x]);
        }
        por2_asset *as = &P->st.assets[x / 2];
        por_scalar_to_bytes(x % 2 ? as->debt_blinding : as->equity_blinding, &r);
        *(x % 2 ? &as->debt : &as->equity) = t;
        por_scalars_cleanse(&r, 1);
    }
    por_scalars_cleanse(P->R_part, slots);
    cl_cleanse(P->T_part, slots * sizeof *P->T_part);
}

/* ---- the tree and the statement ---- */

typedef struct {
    por_prover *P;
    uint32_t j;
} level_job;

static void level_chunk(void *ctx, size_t b, size_t e, unsigned w) {
    (void)w;
    level_job *L = ctx;
    por_prover *P = L->P;
    uint64_t off = por_level_offset(P->N, L->j);
    for (size_t k = b; k < e; k++)
        por2_node_hash(por_prover_node_hash(P, L->j - 1, 2 * k),
                       por_prover_node_hash(P, L->j - 1, 2 * k + 1), P->node_hash[off + k]);
}

void por_prover_tree(por_prover *P) {
    for (uint32_t j = 1; j <= P->depth; j++) {
        level_job L = {P, j};
        por_parallel(P->threads, P->N >> j, 4096, level_chunk, &L, j == 1 ? P->pg : NULL, "tree");
    }
    memcpy(P->st.root_hash, P->node_hash[por_level_offset(P->N, P->depth)], POR_HASH_LEN);
    por2_statement_digest(&P->st, P->st.digest);
}

/* ---- range proofs ---- */

typedef struct {
    por_prover *P;
    uint64_t *first; /* columns + 1: the first proof index of each column */
} range_job;

/* The values and blindings of batch j of column c, in constant time (scalar
 * arithmetic; the honest values are in range, which the range prover checks).
 * With test hooks, *out_of_range says whether one is not below 2^bits. */
static void batch_values(const por_prover *P, size_t c, uint64_t start, uint32_t m, uint32_t bits,
                         por_scalar *vals, por_scalar *blind, bool *out_of_range) {
    *out_of_range = false;
    por_i256 e, d, x;
    por_scalar se, sd, w, p0, p1;
    for (uint32_t k = 0; k < m; k++) {
        uint64_t i = start + k;
        if (c == 0) {
            por_scalar_zero(&vals[k]);
            por_scalar_zero(&blind[k]);
            for (size_t a = 0; a < P->n; a++) {
                por_scalar_from_i128(&w, P->weights[a]);
                por_prover_parts(P, i, a, &e, &d);
                por_i256_to_scalar(&e, &se);
                por_i256_to_scalar(&d, &sd);
                por_scalar_sub(&se, &se, &sd);
                por_scalar_mul(&se, &se, &w);
                por_scalar_add(&vals[k], &vals[k], &se);
                por2_blinding(P->nonce[i], (uint32_t)a, 0, &p0);
                por2_blinding(P->nonce[i], (uint32_t)a, 1, &p1);
                por_scalar_sub(&p0, &p0, &p1);
                por_scalar_mul(&p0, &p0, &w);
                por_scalar_add(&blind[k], &blind[k], &p0);
            }
            if (P->hooks) por_prover_net(P, i, &x);
        } else {
            size_t a = (c - 1) / 2;
            uint8_t s = (uint8_t)((c - 1) % 2);
            por_prover_parts(P, i, a, &e, &d);
            x = s ? d : e;
            por_i256_to_scalar(&x, &vals[k]);
            por2_blinding(P->nonce[i], (uint32_t)a, s, &blind[k]);
        }
        if (P->hooks && !fits(&x, bits)) *out_of_range = true;
    }
    cl_cleanse(&e, sizeof e);
    cl_cleanse(&d, sizeof d);
    cl_cleanse(&x, sizeof x);
    por_scalars_cleanse(&se, 1);
    por_scalars_cleanse(&sd, 1);
    por_scalars_cleanse(&p0, 1);
    por_scalars_cleanse(&p1, 1);
}

/* A part column's commitments must be the leaves' (compressed, in order). */
static bool same_commitments(const por_prover *P, size_t c, uint64_t start, uint32_t m,
                             const por_point *V, por_affine *A) {
    if (c == 0) return true;
    por_points_to_affine(A, V, m);
    for (uint32_t k = 0; k < m; k++) {
        uint8_t b[POR_POINT_LEN];
        por_affine_to_bytes(b, &A[k]);
        if (memcmp(b, por_prover_pq(P, start + k) + (c - 1) * POR_POINT_LEN, POR_POINT_LEN) != 0)
            return false;
    }
    return true;
}

static cl_err prove_one(por_prover *P, size_t c, uint64_t j, por_scalar *vals, por_scalar *blind,
                        por_point *V, por_affine *A, cl_buf *proof) {
    uint32_t bits = por2_column_bits(&P->st, c), m = por2_range_len(&P->st, c, j);
    uint64_t start = j * por2_column_batch(P->N, P->batch, bits);
    bool bad;
    batch_values(P, c, start, m, bits, vals, blind, &bad);
    if (bad && !P->hooks) return CL_ERR_INTERNAL;
    por_transcript t;
    por2_range_transcript(&t, P->st.digest, c, j);
    buf_clear(proof);
    cl_err e = bad ? por_rangeproof_prove_unchecked_wide(&t, vals, blind, m, bits, proof, V)
                   : por_rangeproof_prove_scalars(&t, vals, blind, m, bits, proof, V);
    if (e == CL_OK && proof->len != por_rangeproof_size(m, bits)) e = CL_ERR_INTERNAL;
    if (e == CL_OK && !same_commitments(P, c, start, m, V, A)) e = CL_ERR_INTERNAL;
    if (e == CL_OK) memcpy(P->rp + por2_range_offset(&P->st, c, j), proof->ptr, proof->len);
    return e;
}

static void range_chunk(void *ctx, size_t b, size_t e, unsigned w) {
    (void)w;
    range_job *R = ctx;
    por_prover *P = R->P;
    por_scalar *vals = cl_malloc(POR_RP_MAX_M * sizeof *vals);
    por_scalar *blind = cl_malloc(POR_RP_MAX_M * sizeof *blind);
    por_point *V = cl_malloc(POR_RP_MAX_M * sizeof *V);
    por_affine *A = cl_malloc(POR_RP_MAX_M * sizeof *A);
    cl_buf proof = CL_BUF_INIT;
    size_t c = 0;
    for (size_t g = b; g < e && !P->ferr.failed; g++) {
        while (g >= R->first[c + 1])
            c++;
        uint64_t j = g - R->first[c];
        cl_err err = prove_one(P, c, j, vals, blind, V, A, &proof);
        if (err != CL_OK)
            por_first_error_set(&P->ferr, g, "range proof of column %zu batch %llu failed (%s)", c,
                                (unsigned long long)j, cl_err_str(err));
    }
    por_scalars_cleanse(vals, POR_RP_MAX_M);
    por_scalars_cleanse(blind, POR_RP_MAX_M);
    free(vals);
    free(blind);
    free(V);
    free(A);
    buf_free(&proof);
}

cl_err por_prover_range_proofs(por_prover *P, char err[POR_ERR_LEN]) {
    size_t cols = por2_columns(P->n);
    range_job R = {P, cl_malloc((cols + 1) * sizeof *R.first)};
    for (size_t c = 0; c <= cols; c++)
        R.first[c] = por2_range_first(&P->st, c);
    uint64_t count = R.first[cols];
    P->rp_total = por2_range_total(&P->st);
    P->rp = cl_malloc(P->rp_total ? P->rp_total : 1);
    por_parallel(P->threads, count, 1, range_chunk, &R, P->pg, "range proofs");
    free(R.first);
    if (P->ferr.failed) return por_fail(err, CL_ERR_INTERNAL, "%s", P->ferr.msg);
    P->st.range_count = count;
    crypto_sha256(slice_of(P->rp, P->rp_total), P->st.range_sha256);
    return CL_OK;
}
