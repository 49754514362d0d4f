/* request_internal.h — what request.c (the top level, field readers, the
 * small message types) and request_block.c (blocks, attestations, aggregates)
 * share: a parse context that carries the error message, readers that name the
 * field they reject by its JSON path ("block.body.attestations[2].data.slot"),
 * and the hash_tree_root of each consensus type built from JSON. */
#ifndef CLOISTER_SIGNER_REQUEST_INTERNAL_H
#define CLOISTER_SIGNER_REQUEST_INTERNAL_H

#include "signer/signer.h"
#include "signer/ssz_internal.h"

#include <jansson.h>

#define RQ_PATH 256

typedef struct {
    char *err;
    size_t errlen;
} rq_ctx;

/* Writes the message (printf-style) into c->err; returns e. */
cl_err rq_fail(rq_ctx *c, cl_err e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* out = "path.key" (or "key" at the top). */
void rq_path(char out[RQ_PATH], const char *path, const char *key);
/* out = "path[i]". */
void rq_path_idx(char out[RQ_PATH], const char *path, size_t i);

/* Required members of object o (path names o in messages). */
cl_err rq_obj(rq_ctx *c, json_t *o, const char *path, const char *key, json_t **out);
cl_err rq_arr(rq_ctx *c, json_t *o, const char *path, const char *key, size_t max, json_t **out);
cl_err rq_u64(rq_ctx *c, json_t *o, const char *path, const char *key, uint64_t *out);
/* "0x" + exactly 2n hex digits. */
cl_err rq_hex(rq_ctx *c, json_t *o, const char *path, const char *key, uint8_t *out, size_t n);
/* "0x" + an even number of hex digits, at most max bytes. */
cl_err rq_hex_var(rq_ctx *c, json_t *o, const char *path, const char *key, size_t max, cl_buf *out);
/* By value (list elements): "0x" + exactly 2n hex digits. */
cl_err rq_hex_value(rq_ctx *c, json_t *v, const char *path, uint8_t *out, size_t n);
/* A decimal uint64 string, by value (list elements). */
cl_err rq_u64_value(rq_ctx *c, json_t *v, const char *path, uint64_t *out);

/* A container's field roots, in order (no container here has more than 16). */
typedef struct {
    uint8_t r[16][32];
    size_t n;
} rq_cont;
#define RQ_NEXT(cont) ((cont)->r[(cont)->n++])
void rq_cont_root(const rq_cont *k, uint8_t out[32]);
/* Field roots read straight from o[key]. */
cl_err rq_f_u64(rq_ctx *c, json_t *o, const char *path, const char *key, rq_cont *k, uint64_t *val);
cl_err rq_f_bytes(rq_ctx *c, json_t *o, const char *path, const char *key, size_t n, rq_cont *k);

/* hash_tree_root of one JSON value of a composite type. */
typedef cl_err (*rq_root_fn)(rq_ctx *c, json_t *v, const char *path, uint8_t out[32]);
/* List[T, limit] at o[key] (limit also bounds the JSON array). */
cl_err rq_f_list(rq_ctx *c, json_t *o, const char *path, const char *key, uint64_t limit,
                 rq_root_fn fn, rq_cont *k);
/* A nested container at o[key]. */
cl_err rq_f_obj(rq_ctx *c, json_t *o, const char *path, const char *key, rq_root_fn fn, rq_cont *k);

/* Consensus types (request.c unless noted). AttestationData also reports its
 * slot and epochs when the out-pointers are given. */
cl_err rq_attestation_data(rq_ctx *c, json_t *v, const char *path, uint8_t out[32], uint64_t *slot,
                           uint64_t *source, uint64_t *target);
cl_err rq_attestation_data_fn(rq_ctx *c, json_t *v, const char *path, uint8_t out[32]);
cl_err rq_block_header(rq_ctx *c, json_t *v, const char *path, uint8_t out[32], uint64_t *slot);

/* request_block.c: BeaconBlock (phase0, or altair with sync_aggregate), and
 * AggregateAndProof (phase0 or electra shape; *slot = aggregate.data.slot). */
cl_err rq_beacon_block(rq_ctx *c, json_t *v, const char *path, bool altair, uint8_t out[32],
                       uint64_t *slot);
cl_err rq_aggregate_and_proof(rq_ctx *c, json_t *v, const char *path, bool electra, uint8_t out[32],
                              uint64_t *slot);

#endif
