/* prover.h — the cloister-por-v2 prover's state, shared by prove.c (ledger,
 * widths, refusals), prove_leaves.c (commitments, tree, totals, range proofs)
 * and prove_out.c (the files of spec §6). Internal.
 *
 * Everything is flat arrays indexed by account (ledger order) or by leaf
 * (tree order, after the shuffle); nothing per leaf is kept as JSON or as an
 * uncompressed point. Arrays marked secret are wiped before they are freed
 * (por_prover_free). */
#ifndef CLOISTER_POR_PROVER_H
#define CLOISTER_POR_PROVER_H

#include "por/protocol2.h"

#define POR_DUMMY UINT32_MAX

/* Test hooks (POR_TEST_HOOKS builds only; por.h's unsafe_hook). */
enum {
    POR_HOOK_NEGATIVE_NET = 1,
    POR_HOOK_NEGATIVE_PART = 2,
    POR_HOOK_OVERFLOW_PART = 4,
    POR_HOOK_DUMMY_DEBT = 8,
};

typedef struct {
    const por_prove_options *opt;
    const por_progress *pg;
    unsigned threads;
    unsigned hooks;                               /* POR_HOOK_* */
    char dummy_symbol[POR_LEDGER_MAX_SYMBOL + 1]; /* dummy-debt: SYM */
    size_t dummy_asset;                           /* dummy-debt: its index */
    por_i128 dummy_amount;                        /* dummy-debt: AMOUNT (> 0) */
    size_t n;                                     /* assets */
    uint64_t count;                               /* accounts */
    uint64_t N;
    uint32_t depth, batch;
    por_i128 *weights; /* n */
    /* accounts, ledger order */
    por_i128 *balances;    /* count × n, secret */
    cl_buf uh;             /* user hash bytes, concatenated */
    uint64_t *uh_off;      /* count + 1 offsets into uh */
    uint32_t *leaf_of_acc; /* count */
    /* leaves, tree order */
    uint32_t *acc_of_leaf;           /* N; POR_DUMMY for padding */
    uint64_t first_dummy;            /* the first padding leaf (dummy-debt), N if none */
    uint8_t (*nonce)[POR_NONCE_LEN]; /* N, secret */
    uint8_t (*id)[POR_HASH_LEN];
    uint8_t *pq;                        /* N × 2n × 48: P_0 Q_0 P_1 Q_1 ... per leaf */
    uint8_t (*h)[POR_HASH_LEN];         /* N leaf hashes */
    uint8_t (*node_hash)[POR_HASH_LEN]; /* N - 1, levels 1..m */
    por_scalar *R_part;                 /* threads × 2n blinding sums, secret until summed */
    por_i256 *T_part;                   /* threads × 2n exact part sums */
    uint64_t rp_total;
    uint8_t *rp; /* the range proofs, back to back (por2_range_offset) */
    por2_statement st;
    por_first_error ferr;
} por_prover;

/* The commitments of leaf i: P_a at 2a, Q_a at 2a + 1 (48 bytes each). */
static inline uint8_t *por_prover_pq(const por_prover *P, uint64_t i) {
    return P->pq + (size_t)i * 2 * P->n * POR_POINT_LEN;
}
/* The hash of node k at level j (0 = leaves). */
static inline const uint8_t *por_prover_node_hash(const por_prover *P, uint32_t j, uint64_t k) {
    return j == 0 ? P->h[k] : P->node_hash[por_level_offset(P->N, j) + k];
}

/* The committed parts of asset a in leaf i (e, d exactly as committed: the
 * honest split, or what a test hook makes of it). */
void por_prover_parts(const por_prover *P, uint64_t leaf, size_t a, por_i256 *e, por_i256 *d);
/* v_i = Σ_a w_a·(e_a − d_a) of the committed parts. */
void por_prover_net(const por_prover *P, uint64_t leaf, por_i256 *v);

/* prove_leaves.c: commitments, ids, leaf hashes, totals; the tree and the
 * statement; the range proofs. */
void por_prover_leaves(por_prover *P);
void por_prover_tree(por_prover *P);
cl_err por_prover_range_proofs(por_prover *P, char err[POR_ERR_LEN]);

/* Writes every output into tmp_dir (prove_out.c); private_nonces.json only
 * when the options name no nonces_path. */
cl_err por_prover_write(por_prover *P, const char *tmp_dir, char err[POR_ERR_LEN]);
/* Writes private_nonces.json to path (a temporary file beside it, flushed,
 * then renamed into place). */
cl_err por_prover_write_nonces(por_prover *P, const char *path, char err[POR_ERR_LEN]);

#endif
