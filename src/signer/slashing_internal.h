/* slashing_internal.h — what slashing.c and interchange.c share: one
 * validator's slashing-protection history as it is stored (one document per
 * validator, kind SLP_KIND, name = pubkey hex) and the meta documents (the
 * pinned genesis_validators_root, the global high watermark).
 *
 * Watermarks (refuse below): ls = lowest signable block slot, lsrc/ltgt =
 * lowest signable source/target epochs. They are set by the first signature
 * (Web3Signer), raised by an import to just above the imported data (EIP-3076's
 * conservative rule) and by pruning to just above what was pruned. Records are
 * kept sorted (blocks by slot, attestations by target). */
#ifndef CLOISTER_SIGNER_SLASHING_INTERNAL_H
#define CLOISTER_SIGNER_SLASHING_INTERNAL_H

#include "signer/signer.h"

#include <jansson.h>

#include <pthread.h>

#define SLP_KIND "signer_slashing"
#define SLP_META_KIND "signer_slashing_meta"
#define SLP_META_GVR "genesis_validators_root"
#define SLP_META_HW "high_watermark"

typedef struct {
    uint64_t slot;
    bool has_root;
    uint8_t root[SIGNER_ROOT_LEN];
} slp_block;

typedef struct {
    uint64_t src, tgt;
    bool has_root;
    uint8_t root[SIGNER_ROOT_LEN];
} slp_att;

typedef struct {
    bool has_ls, has_le; /* slot watermark; epoch watermarks (both or neither) */
    uint64_t ls, lsrc, ltgt;
    slp_block *b;
    size_t nb, capb;
    slp_att *a;
    size_t na, capa;
} slp_hist;

struct signer_slashing {
    store *st;
    uint64_t prune_epochs, slots_per_epoch;
    pthread_mutex_t lock; /* guards the cached pinned root */
    bool gvr_known;
    uint8_t gvr[SIGNER_ROOT_LEN];
    /* group commit (slashing.c): checks waiting for the next transaction */
    pthread_mutex_t gc_lock;
    pthread_cond_t gc_done;
    struct slp_check *gc_queue;
    bool gc_leader;
    /* a shared database (PostgreSQL): each check is its own transaction keyed
     * on its validator (slp_validator_key), so validators sign in parallel on
     * every node; SQLite (one writer) keeps the group commit */
    bool keyed;
};

/* The store_txn_keyed key every writer of one validator's document holds:
 * "slashing/0x<pubkey hex>" (malloc'd). */
char *slp_validator_key(const char *name);

/* A decimal-string field of o: absent -> true and *v untouched; present and
 * valid -> true, *v set and *has (if given) true; anything else -> false. */
bool slp_get_u64(json_t *o, const char *key, bool *has, uint64_t *v);

/* doc NULL: empty history. CL_ERR_INVALID for a corrupt document. */
cl_err slp_hist_parse(const char *doc, slp_hist *h);
char *slp_hist_dump(const slp_hist *h); /* malloc'd */
void slp_hist_free(slp_hist *h);
/* The first block with slot >= slot; the first attestation with target > tgt. */
size_t slp_block_pos(const slp_hist *h, uint64_t slot);
size_t slp_att_pos(const slp_hist *h, uint64_t tgt);
void slp_hist_add_block(slp_hist *h, uint64_t slot, const uint8_t *root); /* root may be NULL */
void slp_hist_add_att(slp_hist *h, uint64_t src, uint64_t tgt, const uint8_t *root);
/* Drops records older than the window behind the newest and raises the
 * watermarks above them; returns how many were dropped. */
size_t slp_hist_prune(slp_hist *h, uint64_t prune_epochs, uint64_t slots_per_epoch);

/* Inside a store transaction: pins gvr if none is pinned; CL_ERR_CONFLICT
 * (why names both roots) if another is pinned. */
cl_err slp_gvr_pin(signer_slashing *sp, store *st, const uint8_t gvr[32], char *why, size_t whylen);
/* The pinned root; CL_ERR_NOT_FOUND if none yet. */
cl_err slp_gvr_get(store *st, uint8_t gvr[32]);

void slp_pk_hex(const uint8_t pk[SIGNER_PK_LEN], char out[2 * SIGNER_PK_LEN + 1]);
/* "0x" + 2n hex digits (either case) -> bytes; false otherwise. */
bool slp_hex_parse(const char *s, uint8_t *out, size_t n);

#endif
