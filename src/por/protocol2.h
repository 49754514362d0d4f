/* protocol2.h — the pieces of `cloister-por-v2` (docs/por.md) that the v2
 * prover, both v2 verifiers, the unit tests and the fuzz targets share: the
 * parameters and no-wrap rules (widths of the range proofs), leaf blindings,
 * leaf and node hashes, the statement and its digest, the range-proof columns
 * and batches, exact 256-bit arithmetic for totals, and the statement's JSON
 * (final_proof.json) both ways. Internal to src/por and its tests.
 *
 * v2 in one paragraph: every balance b is split into an equity part
 * e = max(b, 0) and a debt part d = max(−b, 0), each committed on its own
 * (P = e·G + π·H, Q = d·G + π'·H) and range-proved; per asset the total
 * equity E and total debt D are published with their blindings, and the
 * verifier checks Σ P = E·G + R·H over all leaves; each leaf's net equity
 * Σ w·(e − d) is range-proved against the commitment Σ w·(P − Q), which the
 * verifier computes. The tree is a plain SHA-256 Merkle tree. v1 files are
 * still read by protocol.h's code. */
#ifndef CLOISTER_POR_PROTOCOL2_H
#define CLOISTER_POR_PROTOCOL2_H

#include "por/protocol.h"

#define POR2_VERSION "cloister-por-v2"
#define POR2_TAG_BLINDING "cloister-por-v2/blinding"
#define POR2_TAG_LEAF_ID "cloister-por-v2/leaf-id"
#define POR2_TAG_LEAF "cloister-por-v2/leaf"
#define POR2_TAG_NODE "cloister-por-v2/node"
#define POR2_TAG_STATEMENT "cloister-por-v2/statement"
#define POR2_TAG_USER "cloister-por-v2/user"
#define POR2_TR_RANGE "cloister-por-v2/range"

#define POR2_MAX_ASSET_BITS 128 /* k_a: a multiple of 8 in 8..128 */
#define POR2_DEFAULT_ASSET_BITS 64
#define POR2_MAX_NET_BITS 216 /* k_eq: W = Σ w_a (2^k_a − 1) must fit */
#define POR2_PART_EQUITY 0
#define POR2_PART_DEBT 1

/* ---- 256-bit integers (two's complement, protocol.h's por_i256) ---- */
void por_i256_from_i128(por_i256 *out, por_i128 v);
void por_i256_add(por_i256 *acc, const por_i256 *x);
void por_i256_sub(por_i256 *acc, const por_i256 *x);
/* acc += x·w, exact while |x·w| < 2^255: callers bound x and w first (the
 * verifier checks k_eq, which bounds w_a·2^k_a, before any total). */
void por_i256_add_mul_i128(por_i256 *acc, const por_i256 *x, por_i128 w);
int por_i256_cmp(const por_i256 *a, const por_i256 *b);
/* Bits of a non-negative value (0 for 0); 256 for a negative one. */
unsigned por_i256_bitlen(const por_i256 *a);
/* Strict decimal text ("0" or -?[1-9][0-9]*, at most 77 digits). */
bool por_i256_parse(const char *s, por_i256 *out);
/* I2OSP(a, 32) of a non-negative value. */
void por_i256_to_be32(const por_i256 *a, uint8_t out[32]);
/* a mod r (negative values map to r − |a| mod r). */
void por_i256_to_scalar(const por_i256 *a, por_scalar *out);

/* ---- parameters ---- */
bool por2_range_bits_ok(uint32_t k); /* multiple of 8 in 8..128 */

typedef struct {
    char symbol[POR_LEDGER_MAX_SYMBOL + 1];
    uint32_t usdt_decimals, balance_decimals;
    int64_t price;                           /* 0 .. 2^63 − 1 */
    por_i128 weight;                         /* price · 10^(D − balance_decimals) */
    uint32_t range_bits;                     /* k_a */
    por_i256 equity;                         /* E_a >= 0 */
    por_i256 debt;                           /* D_a >= 0 */
    uint8_t equity_blinding[POR_SCALAR_LEN]; /* R^E_a, canonical (< r) */
    uint8_t debt_blinding[POR_SCALAR_LEN];   /* R^D_a */
} por2_asset;

/* k_eq for an asset table (weights and range_bits set): the smallest multiple
 * of 8 (at least 8) that holds W = Σ_a w_a·(2^k_a − 1). 0 if W needs more than
 * POR2_MAX_NET_BITS bits; err (if not NULL) then names the asset with the
 * largest w_a·2^k_a and what to change. */
uint32_t por2_net_equity_bits(const por2_asset *assets, size_t n, char err[POR_ERR_LEN]);

/* ---- leaves and nodes ---- */
/* π_{a,part} = Hs(blinding, ν ‖ u16be(a) ‖ u8(part)). */
void por2_blinding(const uint8_t nonce[POR_NONCE_LEN], uint32_t asset, uint8_t part,
                   por_scalar *out);
void por2_leaf_id(const uint8_t *user_hash, size_t len, const uint8_t nonce[POR_NONCE_LEN],
                  uint8_t out[POR_HASH_LEN]);
/* commitments: P_0 Q_0 P_1 Q_1 ... (2n·48 bytes). */
void por2_leaf_hash(const uint8_t id[POR_HASH_LEN], const uint8_t *commitments, size_t nassets,
                    uint8_t out[POR_HASH_LEN]);
void por2_node_hash(const uint8_t l[POR_HASH_LEN], const uint8_t r[POR_HASH_LEN],
                    uint8_t out[POR_HASH_LEN]);
/* u = Ht("cloister-por-v2/user", uid) — the rule users recompute (docs/por.md). */
void por2_user_hash(const char *uid, size_t len, uint8_t out[POR_HASH_LEN]);

/* Net equity v = Σ_a w_a·(e_a − d_a) = Σ_a w_a·b_a exactly. OK when
 * 0 <= v < 2^k_eq; NEGATIVE; TOO_LARGE otherwise. text (if not NULL) gets v. */
por_equity_class por2_net_equity(const por_i128 *weights, const por_i128 *balances, size_t n,
                                 uint32_t k_eq, por_i256 *v, char text[80]);

/* ---- the statement ---- */
typedef struct {
    uint64_t timestamp;
    uint32_t depth;  /* m */
    uint64_t padded; /* N = 2^m */
    uint32_t batch;  /* B */
    uint32_t equity_decimals;
    uint32_t net_bits; /* k_eq */
    size_t nassets;
    por2_asset *assets; /* owned */
    uint8_t root_hash[POR_HASH_LEN];
    uint8_t digest[POR_HASH_LEN];
    uint64_t range_count; /* Σ_c batches of column c */
    uint8_t range_sha256[POR_HASH_LEN];
    uint64_t tree_bytes;
    uint8_t tree_sha256[POR_HASH_LEN];
} por2_statement;

void por2_statement_free(por2_statement *s);
void por2_statement_digest(const por2_statement *s, uint8_t out[POR_HASH_LEN]);
/* Σ_a w_a·(E_a − D_a). */
void por2_total_net_equity(const por2_statement *s, por_i256 *out);

/* ---- range-proof columns (c = 0 net equity; 1 + 2a equity parts of asset a;
 * 2 + 2a debt parts) and batches ---- */
static inline size_t por2_columns(size_t nassets) {
    return 2 * nassets + 1;
}
uint32_t por2_column_bits(const por2_statement *s, size_t c);
/* B_c = min(N, 1024, max(1, floor(64·B / k_c))). */
uint32_t por2_column_batch(uint64_t N, uint32_t B, uint32_t bits);
uint64_t por2_column_batches(uint64_t N, uint32_t B, uint32_t bits); /* ceil(N / B_c) */
/* Σ over all columns. */
uint64_t por2_range_count(const por2_statement *s);
/* Proofs are stored column by column, batch by batch: the first proof index of
 * column c, and the byte offset of proof (c, j) / total bytes of all proofs. */
uint64_t por2_range_first(const por2_statement *s, size_t c);
uint64_t por2_range_offset(const por2_statement *s, size_t c, uint64_t j);
uint64_t por2_range_total(const por2_statement *s);
/* Values in batch j of column c (its leaves start at j·B_c). */
uint32_t por2_range_len(const por2_statement *s, size_t c, uint64_t j);
/* The transcript of proof (c, j): init(range), statement digest, column,
 * batch. v2 proofs use rangeproof.h's wide challenges (the _scalars and
 * _committed provers; .wide = true in verify items). */
void por2_range_transcript(por_transcript *t, const uint8_t digest[POR_HASH_LEN], uint64_t c,
                           uint64_t j);

/* ---- final_proof.json ---- */
/* The file's text (malloc'd, newline at the end). */
char *por2_final_proof_format(const por2_statement *s);
/* Parses and checks what final_proof.json alone allows (docs/por.md v2 §6),
 * the digest included. On failure *out is freed and err says what is wrong. */
cl_err por2_final_proof_parse(cl_slice json, por2_statement *out, char err[POR_ERR_LEN]);
/* Warnings (docs/por.md v2 §8): up to max messages into out; returns how many. */
size_t por2_warnings(const por2_statement *s, char (*out)[POR_ERR_LEN], size_t max);

#endif
