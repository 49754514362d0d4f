/* protocol.h — the pieces of `cloister-por-v1` (docs/por.md) that the prover,
 * both verifiers, the unit tests and the fuzz target share: tagged hashes and
 * hash-to-scalar (§2), leaves and nodes (§4), the statement and its digest
 * (§4), exact equity arithmetic (§3), the equity link proof (§5), the readers
 * of final_proof.json, user proofs and merkle_tree.json (§8), and a small
 * parallel-for. Internal to src/por and its tests; the CLI uses por.h.
 *
 * Why the readers live here rather than in verify.c: each is a parser of
 * untrusted input with its own fuzz target, and final_proof.json's checks
 * (§9 step 1) are the same for `verify` and `verify-inclusion`.
 *
 * Ownership: structs filled by a *_parse / *_read function own their arrays
 * and are released with the matching *_free (safe on a zeroed struct). Error
 * messages go into a caller buffer of POR_ERR_LEN bytes. */
#ifndef CLOISTER_POR_PROTOCOL_H
#define CLOISTER_POR_PROTOCOL_H

#include "por/curve.h"
#include "por/ledger.h"
#include "por/por.h"

#define POR_HASH_LEN 32
#define POR_NONCE_LEN 32
#define POR_RANGE_BITS 64
#define POR_MAX_DEPTH 32
#define POR_MAX_BATCH 1024

/* Range-proof batches (docs/por.md §6): batch j of por_range_count(N, B)
 * covers leaves j·B .. min(N, (j+1)·B) - 1, so every batch holds B values but
 * the last, which holds the rest; the proofs are stored back to back in batch
 * order (por_range_offset). */
uint64_t por_range_count(uint64_t N, uint32_t B);
uint32_t por_range_len(uint64_t N, uint32_t B, uint64_t j);    /* values in batch j */
size_t por_range_size(uint64_t N, uint32_t B, uint64_t j);     /* bytes of its proof */
uint64_t por_range_offset(uint64_t N, uint32_t B, uint64_t j); /* where it starts */
uint64_t por_range_total(uint64_t N, uint32_t B);              /* bytes of all */
/* The transcript range proof j starts from (§6): init(range), the statement
 * digest, the batch index. */
void por_range_transcript(por_transcript *t, const uint8_t digest[POR_HASH_LEN], uint64_t j);

#define POR_TAG_BLINDING "cloister-por-v1/blinding"
#define POR_TAG_EQ_BLINDING "cloister-por-v1/equity-blinding"
#define POR_TAG_LEAF_ID "cloister-por-v1/leaf-id"
#define POR_TAG_LEAF "cloister-por-v1/leaf"
#define POR_TAG_NODE "cloister-por-v1/node"
#define POR_TAG_STATEMENT "cloister-por-v1/statement"
#define POR_ASSET_LABEL_PREFIX "cloister-por-v1/asset/"
#define POR_TR_LINK "cloister-por-v1/equity-link"
#define POR_TR_RANGE "cloister-por-v1/range"

/* ---- hashes (§2) ---- */
/* Ht(tag, parts[0] ‖ parts[1] ‖ ...). */
void por_ht(const char *tag, const cl_slice *parts, size_t nparts, uint8_t out[POR_HASH_LEN]);
/* Hs(tag, x) = OS2IP(Ht(tag, x ‖ 00) ‖ Ht(tag, x ‖ 01)) mod r. */
void por_hs(const char *tag, cl_slice x, por_scalar *out);

/* ---- leaves and nodes (§4) ---- */
void por_leaf_blindings(const uint8_t nonce[POR_NONCE_LEN], por_scalar *eta, por_scalar *gamma);
void por_leaf_id(const uint8_t *user_hash, size_t len, const uint8_t nonce[POR_NONCE_LEN],
                 uint8_t out[POR_HASH_LEN]);
void por_leaf_hash(const uint8_t id[POR_HASH_LEN], const uint8_t L[POR_POINT_LEN],
                   const uint8_t V[POR_POINT_LEN], uint8_t out[POR_HASH_LEN]);
void por_node_hash(const uint8_t hl[POR_HASH_LEN], const uint8_t Cl[POR_POINT_LEN],
                   const uint8_t hr[POR_HASH_LEN], const uint8_t Cr[POR_POINT_LEN],
                   uint8_t out[POR_HASH_LEN]);
/* G_a = gen("cloister-por-v1/asset/" ‖ symbol, 0), cached; and its CT table row. */
const por_affine *por_asset_generator(const char *symbol);
const por_affine *por_asset_row(const char *symbol);
/* Offset index of level j (1..m) in an array holding levels 1..m one after the other. */
static inline uint64_t por_level_offset(uint64_t N, uint32_t j) {
    return N - (N >> (j - 1)); /* Σ_{i=1}^{j-1} N/2^i */
}

/* ---- integers (§2, §3) ---- */
void por_scalar_from_i128(por_scalar *out, por_i128 v);
/* Strict decimal: "0" or -?[1-9][0-9]*, within [lo, hi]. */
bool por_dec_parse_i128(const char *s, por_i128 lo, por_i128 hi, por_i128 *out);

/* A signed 256-bit accumulator: equity Σ w_a·b_a (|.| < 2^196) and total
 * equity Σ w_a·T_a (|.| < 2^228) are computed exactly, never wrapped. */
typedef struct {
    uint64_t w[4]; /* two's complement, little-endian limbs */
} por_i256;
void por_i256_zero(por_i256 *a);
void por_i256_add_mul(por_i256 *acc, por_i128 x, por_i128 y); /* acc += x·y */
bool por_i256_is_negative(const por_i256 *a);
/* true (and *out) if 0 <= a < 2^64. */
bool por_i256_to_u64(const por_i256 *a, uint64_t *out);
void por_i256_format(const por_i256 *a, char out[80]); /* decimal */

typedef enum { POR_EQUITY_OK, POR_EQUITY_NEGATIVE, POR_EQUITY_TOO_LARGE } por_equity_class;
/* e = Σ w_a·b_a exactly; *e64 set when the class is OK; text (if not NULL) the decimal. */
por_equity_class por_equity(const por_i128 *weights, const int64_t *balances, size_t n,
                            uint64_t *e64, char text[80]);

/* ---- the statement (§4, §8 final_proof.json) ---- */
typedef struct {
    char symbol[POR_LEDGER_MAX_SYMBOL + 1];
    uint32_t usdt_decimals, balance_decimals;
    int64_t price;
    por_i128 weight, total;
} por_stmt_asset;

typedef struct {
    uint64_t timestamp;
    uint32_t depth;  /* m */
    uint64_t padded; /* N = 2^m */
    uint32_t range_bits, batch, equity_decimals;
    size_t nassets;
    por_stmt_asset *assets; /* owned */
    uint8_t total_blinding[POR_SCALAR_LEN];
    uint8_t root_hash[POR_HASH_LEN], root_commitment[POR_POINT_LEN];
    uint8_t digest[POR_HASH_LEN];
    char total_equity[80];
    uint8_t *link_proof; /* owned, link_proof_len bytes */
    size_t link_proof_len;
    uint64_t range_count;
    uint8_t range_sha256[POR_HASH_LEN];
    uint64_t tree_bytes;
    uint8_t tree_sha256[POR_HASH_LEN];
} por_statement;

void por_statement_free(por_statement *s);
void por_statement_digest(const por_statement *s, uint8_t out[POR_HASH_LEN]);
/* Σ_a w_a·T_a, decimal; *negative says whether it is < 0. */
void por_statement_total_equity(const por_stmt_asset *a, size_t n, char out[80], bool *negative);
/* final_proof.json -> *out with §9 step 1 and step 5 checked (and the root
 * commitment decoded). On failure *out is freed and err says what is wrong. */
cl_err por_final_proof_parse(cl_slice json, por_statement *out, char err[POR_ERR_LEN]);
/* §9 verify step 4: C_root == Σ_a T_a·G_a + R·H. */
cl_err por_statement_check_opening(const por_statement *s, char err[POR_ERR_LEN]);
/* The file's text (malloc'd, pretty-printed, newline at the end). */
char *por_final_proof_format(const por_statement *s);

/* ---- user proofs (§8) ---- */
typedef struct {
    uint8_t user_hash[POR_LEDGER_MAX_USER_HASH];
    size_t user_hash_len;
    uint8_t nonce[POR_NONCE_LEN];
    uint64_t leaf_index;
    size_t nassets;
    int64_t *balances; /* statement order, owned */
    char equity[80];   /* as written */
    uint8_t leaf_id[POR_HASH_LEN], leaf_hash[POR_HASH_LEN];
    uint8_t leaf_L[POR_POINT_LEN], leaf_V[POR_POINT_LEN];
    uint32_t depth;
    uint8_t (*path_hash)[POR_HASH_LEN]; /* owned, depth entries */
    uint8_t (*path_C)[POR_POINT_LEN];
    uint8_t root_hash[POR_HASH_LEN], root_commitment[POR_POINT_LEN];
    uint8_t digest[POR_HASH_LEN];
} por_user_proof;

/* Structure and encodings of a user proof against a parsed statement (§9
 * inclusion step 1); the cryptographic checks are por_user_proof_check. */
cl_err por_user_proof_parse(cl_slice json, const por_statement *st, por_user_proof *out,
                            char err[POR_ERR_LEN]);
/* §9 inclusion steps 1 (root, digest equal), 3, 4, 5. *equity_text gets e. */
cl_err por_user_proof_check(const por_statement *st, const por_user_proof *u,
                            char err[POR_ERR_LEN]);
void por_user_proof_free(por_user_proof *u);

/* ---- equity link proof (§5) ---- */
size_t por_link_proof_size(size_t nassets); /* 96 + 32(n+2) */
void por_link_rho(const uint8_t stmt[POR_HASH_LEN], por_scalar *rho);
/* Proves with witness x (n scalars), x_eta, x_gamma; writes proof bytes. */
void por_link_prove(const uint8_t stmt[POR_HASH_LEN], const por_stmt_asset *assets, size_t n,
                    const por_scalar *x, const por_scalar *x_eta, const por_scalar *x_gamma,
                    uint8_t *proof);
/* CL_OK if the proof verifies over the N leaves (L_i, V_i); CL_ERR_INVALID if
 * it does not decode, CL_ERR_CRYPTO if an equation fails. */
cl_err por_link_verify(const uint8_t stmt[POR_HASH_LEN], const por_stmt_asset *assets, size_t n,
                       const por_affine *L, const por_affine *V, uint64_t N, cl_slice proof,
                       unsigned threads);

/* ---- merkle_tree.json (§8), streamed ---- */
typedef struct {
    uint64_t N;
    uint32_t depth, batch;
    uint64_t rp_total; /* bytes of all range proofs */
    uint64_t rp_count;
    uint8_t (*leaf_id)[POR_HASH_LEN];
    uint8_t (*leaf_hash)[POR_HASH_LEN];
    uint8_t (*leaf_L)[POR_POINT_LEN];
    uint8_t (*leaf_V)[POR_POINT_LEN];
    uint8_t (*node_hash)[POR_HASH_LEN]; /* levels 1..m, por_level_offset */
    uint8_t (*node_C)[POR_POINT_LEN];
    uint8_t *range_proofs; /* rp_count proofs back to back (por_range_offset) */
    uint64_t bytes;        /* file size */
    uint8_t sha256[POR_HASH_LEN];
} por_tree_file;

/* Reads merkle_tree.json for a tree of depth m and batch B from src (which it
 * does not close): every field present once, sizes exact, hex canonical. Point
 * bytes are not decoded here (the caller does, in parallel). expect_bytes (the
 * size final_proof.json states) only scales progress reports. The arrays are
 * allocated for N = 2^depth leaves up front: callers bound depth by the input's
 * size (verify.c does). */
cl_err por_tree_read(por_source *src, uint32_t depth, uint32_t batch, uint64_t expect_bytes,
                     por_tree_file *out, const por_progress *pg, char err[POR_ERR_LEN]);
void por_tree_free(por_tree_file *t);

/* ---- strict hex (lower case, exact length) ---- */
bool por_hex_decode_exact(const char *s, size_t slen, uint8_t *out, size_t n);

/* ---- parallel for ---- */
/* fn(ctx, begin, end, worker) over [0, count) in chunks, on `threads` threads
 * (the caller is worker 0 and reports progress under `phase`). */
typedef void (*por_par_fn)(void *ctx, size_t begin, size_t end, unsigned worker);
void por_parallel(unsigned threads, size_t count, size_t chunk, por_par_fn fn, void *ctx,
                  const por_progress *pg, const char *phase);
unsigned por_default_threads(void);
void por_report(const por_progress *pg, const char *phase, uint64_t done, uint64_t total);

/* First error among parallel workers: the one at the lowest index wins, so the
 * message does not depend on scheduling. */
typedef struct {
    void *mu; /* pthread_mutex_t, opaque here */
    uint64_t index;
    char msg[POR_ERR_LEN];
    volatile int failed;
} por_first_error;
void por_first_error_init(por_first_error *f);
void por_first_error_set(por_first_error *f, uint64_t index, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void por_first_error_free(por_first_error *f);

/* ---- shared by prove and verify ---- */
/* Writes the message into err and returns e. */
cl_err por_fail(char err[POR_ERR_LEN], cl_err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Seconds since a time_mono_ns() reading. */
double por_secs_since(uint64_t t0);

#endif
