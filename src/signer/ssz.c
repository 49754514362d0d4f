/* ssz.c — SSZ hash_tree_root (consensus-specs ssz/simple-serialize.md,
 * "Merkleization"): pack basic values into 32-byte chunks, merkleize them into
 * a binary tree padded with zero chunks up to the type's limit, and mix in the
 * length for lists. Only what the signer's request types need: uint64,
 * ByteVector, Bitvector, Bitlist, List[uint64], composite lists, vectors and
 * containers. Zero subtrees are precomputed (zero_hash[d] = root of 2^d zero
 * chunks), so a List with a huge limit costs O(n + depth), never O(limit). */
#include "signer/ssz_internal.h"

#include "crypto/crypto.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SSZ_MAX_DEPTH 64

static uint8_t zero_hash[SSZ_MAX_DEPTH + 1][32];
static pthread_once_t zero_once = PTHREAD_ONCE_INIT;

static void zero_init(void) {
    memset(zero_hash[0], 0, 32);
    for (int d = 1; d <= SSZ_MAX_DEPTH; d++)
        ssz_hash_pair(zero_hash[d - 1], zero_hash[d - 1], zero_hash[d]);
}

void ssz_hash_pair(const uint8_t a[32], const uint8_t b[32], uint8_t out[32]) {
    uint8_t in[64];
    memcpy(in, a, 32);
    memcpy(in + 32, b, 32);
    crypto_sha256(slice_of(in, 64), out);
}

/* ceil(log2(x)) for x >= 1. */
static unsigned depth_of(uint64_t x) {
    unsigned d = 0;
    while (d < SSZ_MAX_DEPTH && ((uint64_t)1 << d) < x)
        d++;
    return d;
}

void ssz_merkleize(const uint8_t *chunks, size_t n, uint64_t limit, uint8_t out[32]) {
    pthread_once(&zero_once, zero_init);
    if (limit < n) limit = n;
    unsigned depth = depth_of(limit ? limit : 1);
    if (n == 0) {
        memcpy(out, zero_hash[depth], 32);
        return;
    }
    /* One layer at a time in a scratch copy; an odd last node pairs with the
     * zero subtree of its level. */
    size_t cnt = n;
    uint8_t *layer = cl_malloc(n * 32);
    memcpy(layer, chunks, n * 32);
    for (unsigned d = 0; d < depth; d++) {
        size_t next = (cnt + 1) / 2;
        for (size_t i = 0; i < next; i++) {
            const uint8_t *right = 2 * i + 1 < cnt ? layer + (2 * i + 1) * 32 : zero_hash[d];
            ssz_hash_pair(layer + 2 * i * 32, right, layer + i * 32);
        }
        cnt = next;
    }
    memcpy(out, layer, 32);
    free(layer);
}

void ssz_mix_in_length(uint8_t root[32], uint64_t len) {
    uint8_t l[32] = {0};
    for (int i = 0; i < 8; i++)
        l[i] = (uint8_t)(len >> (8 * i));
    ssz_hash_pair(root, l, root);
}

void ssz_root_u64(uint64_t v, uint8_t out[32]) {
    memset(out, 0, 32);
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(v >> (8 * i));
}

/* pack(bytes) then merkleize with a limit of `limit_chunks` chunks. */
static void root_packed(const uint8_t *p, size_t n, uint64_t limit_chunks, uint8_t out[32]) {
    size_t chunks = (n + 31) / 32;
    uint8_t *buf = cl_calloc(chunks ? chunks : 1, 32);
    if (n) memcpy(buf, p, n);
    ssz_merkleize(buf, chunks, limit_chunks, out);
    free(buf);
}

void ssz_root_bytes(const uint8_t *p, size_t n, uint8_t out[32]) {
    root_packed(p, n, (n + 31) / 32, out);
}

void ssz_root_u64_list(const uint64_t *v, size_t n, uint64_t limit, uint8_t out[32]) {
    uint8_t *buf = cl_calloc(n ? n : 1, 8);
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < 8; b++)
            buf[i * 8 + b] = (uint8_t)(v[i] >> (8 * b));
    root_packed(buf, n * 8, (limit * 8 + 31) / 32, out);
    free(buf);
    ssz_mix_in_length(out, n);
}

cl_err ssz_root_bitvector(const uint8_t *p, size_t n, uint64_t nbits, uint8_t out[32]) {
    if (n != (nbits + 7) / 8) return CL_ERR_INVALID;
    if (nbits % 8 && (p[n - 1] >> (nbits % 8))) return CL_ERR_INVALID;
    root_packed(p, n, (nbits + 255) / 256, out);
    return CL_OK;
}

cl_err ssz_root_bitlist(const uint8_t *p, size_t n, uint64_t limit, uint8_t out[32]) {
    if (n == 0 || p[n - 1] == 0) return CL_ERR_INVALID;
    unsigned top = 7;
    while (!(p[n - 1] >> top))
        top--;
    uint64_t bits = (uint64_t)(n - 1) * 8 + top;
    if (bits > limit) return CL_ERR_INVALID;
    uint8_t *copy = cl_malloc(n);
    memcpy(copy, p, n);
    copy[n - 1] = (uint8_t)(copy[n - 1] & ~(1u << top)); /* drop the delimiter */
    size_t used = (size_t)((bits + 7) / 8);
    root_packed(copy, used, (limit + 255) / 256, out);
    free(copy);
    ssz_mix_in_length(out, bits);
    return CL_OK;
}

void ssz_fields_init(ssz_fields *f) {
    memset(f, 0, sizeof *f);
}

uint8_t *ssz_fields_push(ssz_fields *f) {
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 8;
        f->roots = cl_realloc(f->roots, f->cap * 32);
    }
    uint8_t *slot = f->roots + f->n * 32;
    memset(slot, 0, 32);
    f->n++;
    return slot;
}

void ssz_fields_free(ssz_fields *f) {
    free(f->roots);
    ssz_fields_init(f);
}

void ssz_fields_container(ssz_fields *f, uint8_t out[32]) {
    ssz_merkleize(f->roots, f->n, f->n, out);
    ssz_fields_free(f);
}

void ssz_fields_list(ssz_fields *f, uint64_t limit, uint8_t out[32]) {
    size_t n = f->n;
    ssz_merkleize(f->roots, n, limit, out);
    ssz_fields_free(f);
    ssz_mix_in_length(out, n);
}

void ssz_fields_vector(ssz_fields *f, uint8_t out[32]) {
    ssz_fields_container(f, out);
}
