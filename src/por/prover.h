/* prover.h — the prover's state, shared by prove.c (ledger, commitments,
 * tree, link and range proofs) and prove_out.c (the files of §8). Internal.
 *
 * Everything is flat arrays indexed by account (ledger order) or by leaf
 * (tree order, after the shuffle); nothing per leaf is kept as JSON. Arrays
 * marked secret are wiped before they are freed (por_prover_free). */
#ifndef CLOISTER_POR_PROVER_H
#define CLOISTER_POR_PROVER_H

#include "por/protocol.h"

#define POR_DUMMY UINT32_MAX

typedef struct {
    const por_prove_options *opt;
    const por_progress *pg;
    unsigned threads;
    bool unsafe;
    size_t n;       /* assets */
    uint64_t count; /* accounts */
    uint64_t N;
    uint32_t depth, batch;
    por_i128 *weights;       /* n */
    const por_affine **rows; /* n asset generator tables */
    por_affine neg_offset;   /* -2^63·Σ_a G_a (balances are committed offset by 2^63) */
    /* accounts, ledger order */
    int64_t *balances;     /* count × n, secret */
    cl_buf uh;             /* user hash bytes, concatenated */
    uint64_t *uh_off;      /* count + 1 offsets into uh */
    uint64_t *equity;      /* count, secret (0 where the test hook let a bad one in) */
    por_scalar *equity_sc; /* count, secret; test hook only: equity mod r */
    uint8_t *bad;          /* count, test hook only */
    uint32_t *leaf_of_acc; /* count */
    /* leaves, tree order */
    uint32_t *acc_of_leaf;           /* N; POR_DUMMY for padding */
    uint8_t (*nonce)[POR_NONCE_LEN]; /* N, secret */
    uint8_t (*id)[POR_HASH_LEN];
    uint8_t (*Lb)[POR_POINT_LEN];
    uint8_t (*Vb)[POR_POINT_LEN];
    uint8_t (*h)[POR_HASH_LEN];
    por_affine *Laff;                   /* N, until the tree is built */
    uint8_t (*node_hash)[POR_HASH_LEN]; /* N - 1, levels 1..m */
    uint8_t (*node_C)[POR_POINT_LEN];
    por_scalar *R_part; /* per worker, secret until summed */
    uint64_t rp_total;
    uint8_t *rp;            /* the range proofs, back to back (por_range_offset) */
    int64_t *zero_balances; /* n zeros, for dummies */
    por_statement st;
    por_first_error ferr;
} por_prover;

/* Writes every output into tmp_dir (prove_out.c); private_nonces.json only
 * when the options name no nonces_path. */
cl_err por_prover_write(por_prover *P, const char *tmp_dir, char err[POR_ERR_LEN]);
/* Writes private_nonces.json to path (a temporary file beside it, flushed,
 * then renamed into place). */
cl_err por_prover_write_nonces(por_prover *P, const char *path, char err[POR_ERR_LEN]);
/* The hash/commitment of node k at level j (0 = leaves). */
static inline const uint8_t *por_prover_node_hash(const por_prover *P, uint32_t j, uint64_t k) {
    return j == 0 ? P->h[k] : P->node_hash[por_level_offset(P->N, j) + k];
}
static inline const uint8_t *por_prover_node_C(const por_prover *P, uint32_t j, uint64_t k) {
    return j == 0 ? P->Lb[k] : P->node_C[por_level_offset(P->N, j) + k];
}

#endif
