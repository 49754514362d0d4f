/* ssz_internal.h — SSZ merkleization (ssz.c) for the signer's request parser
 * (request*.c) and its tests: hash_tree_root of the basic and composite types
 * the consensus specs use, over SHA-256. A "root" is 32 bytes; containers are
 * built by collecting their field roots in order (ssz_fields) and merkleizing. */
#ifndef CLOISTER_SIGNER_SSZ_INTERNAL_H
#define CLOISTER_SIGNER_SSZ_INTERNAL_H

#include "base/base.h"

/* sha256(a || b). */
void ssz_hash_pair(const uint8_t a[32], const uint8_t b[32], uint8_t out[32]);
/* merkleize(chunks, limit): n chunks of 32 bytes, padded with zero chunks to
 * the next power of two of limit (limit >= n; limit 0 is treated as 1). */
void ssz_merkleize(const uint8_t *chunks, size_t n, uint64_t limit, uint8_t out[32]);
/* root = sha256(root || uint256(len)). */
void ssz_mix_in_length(uint8_t root[32], uint64_t len);

/* Basic values and fixed byte vectors. */
void ssz_root_u64(uint64_t v, uint8_t out[32]);
/* ByteVector[n] (Bytes20/32/48/96...): packed into chunks and merkleized. */
void ssz_root_bytes(const uint8_t *p, size_t n, uint8_t out[32]);
/* List[uint64, limit] (limit in elements). */
void ssz_root_u64_list(const uint64_t *v, size_t n, uint64_t limit, uint8_t out[32]);
/* Bitvector[nbits] from its SSZ bytes: CL_ERR_INVALID for a wrong length or
 * set bits past nbits. */
cl_err ssz_root_bitvector(const uint8_t *p, size_t n, uint64_t nbits, uint8_t out[32]);
/* Bitlist[limit] from its SSZ bytes (with the delimiter bit): CL_ERR_INVALID
 * for no delimiter (empty input or zero last byte) or more than limit bits. */
cl_err ssz_root_bitlist(const uint8_t *p, size_t n, uint64_t limit, uint8_t out[32]);

/* A growable array of 32-byte roots: a container's field roots or a list's
 * element roots. */
typedef struct {
    uint8_t *roots;
    size_t n, cap;
} ssz_fields;
void ssz_fields_init(ssz_fields *f);
uint8_t *ssz_fields_push(ssz_fields *f); /* the next slot (32 bytes, zeroed) */
void ssz_fields_free(ssz_fields *f);
/* Container: merkleize(field roots). Frees f. */
void ssz_fields_container(ssz_fields *f, uint8_t out[32]);
/* List[T, limit] of composite elements: mix_in_length(merkleize(roots, limit), n). Frees f. */
void ssz_fields_list(ssz_fields *f, uint64_t limit, uint8_t out[32]);
/* Vector[T, n] of composite elements (or Vector[Bytes32, n]): merkleize(roots). Frees f. */
void ssz_fields_vector(ssz_fields *f, uint8_t out[32]);

#endif
