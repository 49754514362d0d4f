/* verify2.h — cloister-por-v2's readers of the public tree and of user
 * proofs, shared by the v2 verifier (verify2.c), the unit tests and the fuzz
 * target. Internal to src/por; the CLI uses por.h.
 *
 * Ownership as in protocol.h: a struct filled by *_read / *_parse owns its
 * arrays and is released by the matching *_free (safe on a zeroed struct). */
#ifndef CLOISTER_POR_VERIFY2_H
#define CLOISTER_POR_VERIFY2_H

#include "por/protocol2.h"

/* ---- merkle_tree.json (spec §6), streamed ---- */
typedef struct {
    uint64_t N;
    uint32_t depth;
    size_t nassets;
    uint8_t (*leaf_id)[POR_HASH_LEN];
    uint8_t (*leaf_hash)[POR_HASH_LEN];
    /* The 2n part columns, column-major: part column k = 2a + s (s 0 equity,
     * 1 debt; range column 1 + k) holds leaf i's compressed point at
     * (k·N + i)·48, so a range-proof batch's commitments are contiguous. */
    uint8_t *parts;
    uint8_t (*node_hash)[POR_HASH_LEN]; /* levels 1..m, por_level_offset */
    uint8_t *range_proofs;              /* rp_count proofs, storage order */
    uint64_t rp_total, rp_count;
    uint64_t bytes; /* what was read */
    uint8_t sha256[POR_HASH_LEN];
} por2_tree_file;

/* The smallest merkle_tree.json statement st allows (the hex of its leaves
 * and range proofs), for bounding what is allocated by the file's size. */
uint64_t por2_tree_min_bytes(const por2_statement *st);
/* Reads merkle_tree.json for statement st (depth, assets, range layout) from
 * src (not closed here): every listed field exactly once, none other, sizes
 * exact, hex canonical. Points are not decoded here. Arrays are sized by st
 * up front: callers bound st->padded by the input's size first. */
cl_err por2_tree_read(por_source *src, const por2_statement *st, uint64_t expect_bytes,
                      por2_tree_file *out, const por_progress *pg, char err[POR_ERR_LEN]);
void por2_tree_free(por2_tree_file *t);
static inline const uint8_t *por2_tree_part(const por2_tree_file *t, size_t k, uint64_t i) {
    return t->parts + (k * t->N + i) * POR_POINT_LEN;
}

/* ---- user_proofs/<hash>.json (spec §6) ---- */
typedef struct {
    uint8_t user_hash[POR_LEDGER_MAX_USER_HASH];
    size_t user_hash_len;
    uint8_t nonce[POR_NONCE_LEN];
    uint64_t leaf_index;
    size_t nassets;
    por_i128 *balances; /* statement order, owned */
    por_i256 net_equity;
    char net_text[80];
    uint8_t leaf_id[POR_HASH_LEN], leaf_hash[POR_HASH_LEN];
    uint32_t depth;
    uint8_t (*path)[POR_HASH_LEN]; /* depth siblings, level 0 upward */
    uint8_t root_hash[POR_HASH_LEN];
    uint8_t digest[POR_HASH_LEN];
} por2_user_proof;

/* Structure and encodings against a parsed statement (strict as §6). */
cl_err por2_user_proof_parse(cl_slice json, const por2_statement *st, por2_user_proof *out,
                             char err[POR_ERR_LEN]);
/* The checks of §7 verify-inclusion (root and digest equal, parts fit k_a,
 * net equity, leaf recomputed, path); with uid (not NULL) also the user-hash
 * rule. */
cl_err por2_user_proof_check(const por2_statement *st, const por2_user_proof *u, const char *uid,
                             char err[POR_ERR_LEN]);
void por2_user_proof_free(por2_user_proof *u);

/* ---- the verifiers (por.h's entry points dispatch here on "version") ---- */
/* Whether the JSON file at path says "version": "cloister-por-v2". */
bool por2_file_is_v2(const char *path);
cl_err por2_verify_dir(const char *dir, const por_verify_options *o, por_verify_result *res,
                       char err[POR_ERR_LEN]);
cl_err por2_verify_inclusion(const char *proof_path, const char *final_proof_path, const char *uid,
                             por_inclusion_result *res, char err[POR_ERR_LEN]);

/* The sentence §7 says a passing inclusion check establishes, for leaf i. */
void por2_inclusion_claim(uint64_t leaf_index, char *out, size_t len);

#endif
