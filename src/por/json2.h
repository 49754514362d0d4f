/* json2.h — strict readers for cloister-por-v2's small JSON files
 * (final_proof.json in statement2.c, user proofs in userproof2.c). Spec §6:
 * every listed field required, unknown fields refused, integers are JSON
 * integers (never `1.0` or `1e3`), big integers canonical decimal strings,
 * hex lower case of the exact length. Duplicate keys are refused by the
 * loader (JSON_REJECT_DUPLICATES). Internal to src/por. */
#ifndef CLOISTER_POR_JSON2_H
#define CLOISTER_POR_JSON2_H

#include "por/protocol2.h"

#include <jansson.h>

/* Integers written as JSON numbers stay below 2^53 (spec §6: larger ones are
 * decimal strings), so a JavaScript verifier reads them exactly and agrees. */
#define POR2_JSON_INT_MAX ((1LL << 53) - 1)

typedef struct {
    char *err;        /* POR_ERR_LEN bytes */
    const char *file; /* message prefix, e.g. "final_proof.json" */
} por2j;

/* Writes "file: message" into err; returns CL_ERR_INVALID. */
cl_err por2j_bad(por2j *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Loads an object (duplicates refused); NULL with err set otherwise. */
json_t *por2j_load(por2j *p, cl_slice json);
/* Every key of o must be one of allowed[0..n); where names o in the message. */
cl_err por2j_only(por2j *p, json_t *o, const char *where, const char *const *allowed, size_t n);
cl_err por2j_obj(por2j *p, json_t *o, const char *k, json_t **out);
cl_err por2j_int(por2j *p, json_t *o, const char *k, long long lo, long long hi, long long *out);
cl_err por2j_hex(por2j *p, json_t *o, const char *k, uint8_t *out, size_t n);
/* A canonical scalar (< r) as 32 bytes of hex. */
cl_err por2j_scalar(por2j *p, json_t *o, const char *k, uint8_t out[POR_SCALAR_LEN]);
cl_err por2j_dec128(por2j *p, json_t *o, const char *k, por_i128 lo, por_i128 hi, por_i128 *out);
cl_err por2j_dec256(por2j *p, json_t *o, const char *k, por_i256 *out);
/* The version string must be POR2_VERSION. */
cl_err por2j_version(por2j *p, json_t *o);

#endif
