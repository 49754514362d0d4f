/* por.h — proof of reserves (docs/por.md): the prover (`cloister por prove`,
 * which makes `cloister-por-v2` proofs) and the two verifiers (`verify` of a
 * whole published proof, `verify-inclusion` of one user's proof). The one
 * header the CLI needs; the protocol pieces are in protocol.h / protocol2.h
 * (internal). POR_VERSION names v1, which the verifiers still read.
 *
 * Shape: each entry point is a batch job over files. por_prove reads the
 * ledger (streaming, ledger.h), keeps one compact record per leaf in flat
 * arrays (no per-leaf JSON in memory: 16 B per balance and 96 B per asset and
 * leaf for the two compressed commitments), computes commitments, the tree
 * and the range proofs on `threads` threads, writes every output into a temporary
 * directory inside --out and renames them into place only when all is done,
 * so a failed run leaves --out as it was.
 *
 * Errors: cl_err plus a message in err[POR_ERR_LEN] that says what is wrong
 * and where (the account's user hash, the file and field, the leaf index).
 * Progress: an optional callback, called from the calling thread only. */
#ifndef CLOISTER_POR_H
#define CLOISTER_POR_H

#include "base/base.h"

#define POR_ERR_LEN 512
#define POR_VERSION "cloister-por-v1"
#define POR_DEFAULT_BATCH 480 /* 8·480 + 256 = 4096 range-proof slots */
#define POR_DEFAULT_MIN_PADDED 1024
#define POR_MAX_RANGE_FORCE 64 /* --range-bits SYM=BITS options per run */

typedef struct {
    /* phase: a short name ("reading ledger", "commitments", ...); done/total in
     * the phase's own units; done == total ends the phase. */
    void (*fn)(void *ctx, const char *phase, uint64_t done, uint64_t total);
    void *ctx;
} por_progress;

typedef struct {
    const char *ledger_path; /* JSON or CSV (by extension); "-" = stdin */
    const char *assets_path; /* CSV only: prices and decimals */
    const char *out_dir;     /* created if missing; must not hold a proof already */
    unsigned threads;        /* 0 = online CPUs */
    uint64_t min_padded;     /* N = smallest power of two >= max(count, this, 2); 0 = 1024 */
    uint32_t batch;          /* B, 1..1024; 0 = 480 (v2: B_c = 64·B / k_c per column) */
    /* Range widths (v2 §1): 0 = chosen by the data (64, or 128 if some part
     * needs it); range_bits_all forces every asset, range_force[i] one asset
     * (wins over range_bits_all). Each a multiple of 8 in 8..128. */
    uint32_t range_bits_all;
    struct {
        char symbol[33];
        uint32_t bits;
    } range_force[POR_MAX_RANGE_FORCE];
    size_t nrange_force;
    /* TEST HOOKS (honoured only in builds with POR_TEST_HOOKS), each making a
     * complete, well-formed proof that `verify` must reject (the soundness
     * tests). unsafe_allow_bad_equity = the hook "negative-net". unsafe_hook
     * is a comma list of: negative-net (accounts with negative net equity are
     * proved, not refused), negative-part (a negative balance is committed as
     * an equity part b mod r, debt 0), overflow-part (every nonzero balance as
     * e = max(b,0) + 2^k, d = max(-b,0) + 2^k), dummy-debt=SYM:AMOUNT (the
     * first padding leaf's equity part of SYM is -AMOUNT mod r). NULL = none. */
    bool unsafe_allow_bad_equity;
    const char *unsafe_hook;
    por_progress progress;
    /* Where private_nonces.json goes: NULL = out_dir/private_nonces.json; "" =
     * nowhere (the nonces are discarded); else that file (written beside its
     * final name and renamed into place before the proof is published, mode
     * 0600; removed again if publishing fails). */
    const char *nonces_path;
} por_prove_options;

typedef struct {
    uint64_t accounts, padded;
    size_t assets;
    uint32_t depth, batch;
    unsigned threads;
    uint64_t user_proofs;
    uint64_t bad_equity_accounts; /* only with the test hooks: accounts proved out of range */
    char root_hash[65];           /* hex of the root's hash (final_proof.json root.hash) */
    const char *version;          /* POR2_VERSION */
    /* per asset (assets entries, canonical order; freed by por_prove_result_free) */
    char (*symbols)[33];
    uint32_t *range_bits;  /* k_a */
    uint32_t net_bits;     /* k_eq */
    uint64_t range_proofs; /* count over all columns */
    /* wall seconds per phase (t_link: unused in v2, 0) */
    double t_read, t_commit, t_tree, t_link, t_range, t_write, t_total;
} por_prove_result;

/* Makes a cloister-por-v2 proof. res is always filled (free it with
 * por_prove_result_free, also on failure). */
cl_err por_prove(const por_prove_options *o, por_prove_result *res, char err[POR_ERR_LEN]);
void por_prove_result_free(por_prove_result *res);
/* Whether this build has the test hooks (debug builds). */
bool por_test_hooks_available(void);

typedef struct {
    unsigned threads; /* 0 = online CPUs */
    por_progress progress;
} por_verify_options;

/* v2: one asset's published totals (units of 10^-balance_decimals). */
typedef struct {
    char symbol[33];
    char equity[80], debt[80], net[80];
} por_asset_total;

typedef struct {
    uint64_t padded;
    size_t assets;
    uint32_t depth, batch;
    char root_hash[65];
    char total_equity[80]; /* v2: total_net_equity */
    uint32_t equity_decimals;
    double t_read, t_tree, t_link, t_range, t_total; /* v2: t_link = per-asset sums */
    /* v2 (cloister-por-v2 files; zero/NULL for v1): */
    char version[24];              /* the file's "version" */
    uint32_t net_equity_bits;      /* k_eq */
    por_asset_total *totals;       /* `assets` entries, owned */
    char (*warnings)[POR_ERR_LEN]; /* spec §8, owned */
    size_t nwarnings;
} por_verify_result;
/* Frees a result's owned arrays (safe on a zeroed or v1 result). */
void por_verify_result_free(por_verify_result *r);

/* §9 "verify DIR": CL_OK only if every step holds. */
cl_err por_verify_dir(const char *dir, const por_verify_options *o, por_verify_result *res,
                      char err[POR_ERR_LEN]);

typedef struct {
    char user_hash[129];
    uint64_t leaf_index;
    char equity[80]; /* Σ w_a·b_a, in units of 10^-equity_decimals USDT (v2: net equity) */
    uint32_t equity_decimals;
    char root_hash[65];
    uint64_t timestamp;
    /* v2 only (zero/NULL for v1): */
    char version[24];
    char statement_digest[65];
    bool uid_checked;        /* the user hash is Ht(cloister-por-v2/user, UID) */
    char claim[POR_ERR_LEN]; /* exactly what the passing check establishes (spec §7) */
    size_t assets;
    por_asset_total *totals; /* the published per-asset totals, owned */
    char (*warnings)[POR_ERR_LEN];
    size_t nwarnings;
} por_inclusion_result;

/* §9 "verify-inclusion PROOF --root final_proof.json" (steps 1–5); v1 or v2
 * by the files' "version". */
cl_err por_verify_inclusion(const char *proof_path, const char *final_proof_path,
                            por_inclusion_result *res, char err[POR_ERR_LEN]);
/* The same, and (v2 only; NULL = not checked) that the proof's user hash is
 * the one account identifier uid gives (docs/por.md v2 §9). */
cl_err por_verify_inclusion_uid(const char *proof_path, const char *final_proof_path,
                                const char *uid, por_inclusion_result *res, char err[POR_ERR_LEN]);
void por_inclusion_result_free(por_inclusion_result *r);
/* hex of Ht("cloister-por-v2/user", uid): the user hash a v2 ledger must carry
 * for the account the exchange shows as uid. */
void por_user_hash_hex(const char *uid, char out[65]);

/* Frees process-wide caches (generators); for leak checkers at exit. */
void por_cleanup(void);

#endif
