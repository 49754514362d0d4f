/* treefile.c — reads merkle_tree.json (docs/por.md §8) as a stream.
 *
 * The file is ≈ 390 bytes per leaf (0.8 GB for 2^20 leaves), so a DOM would
 * cost gigabytes; instead a small pull tokenizer (jreader.c) reads it
 * in 64 KiB chunks straight into flat arrays of fixed-size records (160 bytes
 * per leaf, 80 per inner node, the range proofs as bytes), hashing every byte
 * with SHA-256 on the way so the caller can check `merkle_tree.sha256`.
 *
 * It accepts any JSON of the right shape (keys in any order, whitespace
 * anywhere, escapes in strings, unknown keys skipped), but sizes are exact:
 * N leaves, m levels of N/2^j nodes, N/B range proofs, each field once, hex
 * lower case of the exact length. Points are not decoded here: the verifier
 * does that in parallel afterwards. Nesting of skipped values is bounded. */
#include "por/jreader.h"
#include "por/rangeproof.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cl_err jr_node(por_jreader *r, por_tree_file *t, uint64_t i, bool leaf, uint8_t *hash,
                      uint8_t *C) {
    const char *what = leaf ? "leaf" : "node";
    CL_TRY(por_jr_expect(r, '{'));
    bool first = true;
    unsigned seen = 0;
    int k;
    while ((k = por_jr_next(r, &first, '}', true)) == 1) {
        unsigned bit = 0;
        if (strcmp(r->str, "hash") == 0) {
            bit = 1;
            CL_TRY(por_jr_hex(r, hash, POR_HASH_LEN, what, i));
        } else if (strcmp(r->str, "commitment") == 0) {
            bit = 2;
            CL_TRY(por_jr_hex(r, C, POR_POINT_LEN, what, i));
        } else if (leaf && strcmp(r->str, "id") == 0) {
            bit = 4;
            CL_TRY(por_jr_hex(r, t->leaf_id[i], POR_HASH_LEN, what, i));
        } else if (leaf && strcmp(r->str, "equity_commitment") == 0) {
            bit = 8;
            CL_TRY(por_jr_hex(r, t->leaf_V[i], POR_POINT_LEN, what, i));
        } else {
            CL_TRY(por_jr_skip_value(r, 1));
            continue;
        }
        if (seen & bit)
            return por_jr_fail(r, "%s %llu: duplicate field", what, (unsigned long long)i);
        seen |= bit;
    }
    if (k < 0) return r->failed;
    if (seen != (leaf ? 15u : 3u))
        return por_jr_fail(r, "%s %llu: missing field (want %s)", what, (unsigned long long)i,
                           leaf ? "id, commitment, equity_commitment, hash" : "hash, commitment");
    return CL_OK;
}

static cl_err jr_leaves(por_jreader *r, por_tree_file *t) {
    CL_TRY(por_jr_expect(r, '['));
    bool first = true;
    uint64_t i = 0;
    int k;
    while ((k = por_jr_next(r, &first, ']', false)) == 1) {
        if (i >= t->N) return por_jr_fail(r, "more than %llu leaves", (unsigned long long)t->N);
        CL_TRY(jr_node(r, t, i, true, t->leaf_hash[i], t->leaf_L[i]));
        i++;
    }
    if (k < 0) return r->failed;
    if (i != t->N)
        return por_jr_fail(r, "%llu leaves, want %llu", (unsigned long long)i,
                           (unsigned long long)t->N);
    return CL_OK;
}

static cl_err jr_levels(por_jreader *r, por_tree_file *t) {
    CL_TRY(por_jr_expect(r, '['));
    bool first = true;
    uint32_t j = 0;
    int k;
    while ((k = por_jr_next(r, &first, ']', false)) == 1) {
        if (++j > t->depth) return por_jr_fail(r, "more than %u levels", t->depth);
        uint64_t want = t->N >> j, off = por_level_offset(t->N, j), i = 0;
        CL_TRY(por_jr_expect(r, '['));
        bool f2 = true;
        int k2;
        while ((k2 = por_jr_next(r, &f2, ']', false)) == 1) {
            if (i >= want)
                return por_jr_fail(r, "level %u has more than %llu nodes", j,
                                   (unsigned long long)want);
            CL_TRY(jr_node(r, t, off + i, false, t->node_hash[off + i], t->node_C[off + i]));
            i++;
        }
        if (k2 < 0) return r->failed;
        if (i != want)
            return por_jr_fail(r, "level %u has %llu nodes, want %llu", j, (unsigned long long)i,
                               (unsigned long long)want);
    }
    if (k < 0) return r->failed;
    if (j != t->depth) return por_jr_fail(r, "%u levels, want tree_depth = %u", j, t->depth);
    return CL_OK;
}

static cl_err jr_range_proofs(por_jreader *r, por_tree_file *t) {
    CL_TRY(por_jr_expect(r, '['));
    bool first = true;
    uint64_t i = 0;
    int k;
    while ((k = por_jr_next(r, &first, ']', false)) == 1) {
        if (i >= t->rp_count)
            return por_jr_fail(r, "more than %llu range proofs", (unsigned long long)t->rp_count);
        CL_TRY(por_jr_hex(r, t->range_proofs + por_range_offset(t->N, t->batch, i),
                          por_range_size(t->N, t->batch, i), "range proof", i));
        i++;
    }
    if (k < 0) return r->failed;
    if (i != t->rp_count)
        return por_jr_fail(r, "%llu range proofs, want ceil(padded_accounts / batch_size) = %llu",
                           (unsigned long long)i, (unsigned long long)t->rp_count);
    return CL_OK;
}

static cl_err jr_top(por_jreader *r, por_tree_file *t) {
    CL_TRY(por_jr_expect(r, '{'));
    bool first = true;
    unsigned seen = 0;
    int k;
    while ((k = por_jr_next(r, &first, '}', true)) == 1) {
        unsigned bit;
        if (strcmp(r->str, "version") == 0) {
            bit = 1;
            CL_TRY(por_jr_string(r, true));
            if (strcmp(r->str, POR_VERSION) != 0)
                return por_jr_fail(r, "version must be \"%s\"", POR_VERSION);
        } else if (strcmp(r->str, "tree_depth") == 0) {
            bit = 2;
            uint64_t d = 0;
            CL_TRY(por_jr_uint(r, &d));
            if (d != t->depth)
                return por_jr_fail(r, "tree_depth is %llu, final_proof.json says %u",
                                   (unsigned long long)d, t->depth);
        } else if (strcmp(r->str, "leaves") == 0) {
            bit = 4;
            if (seen & bit) return por_jr_fail(r, "duplicate field leaves");
            CL_TRY(jr_leaves(r, t));
        } else if (strcmp(r->str, "levels") == 0) {
            bit = 8;
            if (seen & bit) return por_jr_fail(r, "duplicate field levels");
            CL_TRY(jr_levels(r, t));
        } else if (strcmp(r->str, "range_proofs") == 0) {
            bit = 16;
            if (seen & bit) return por_jr_fail(r, "duplicate field range_proofs");
            CL_TRY(jr_range_proofs(r, t));
        } else {
            CL_TRY(por_jr_skip_value(r, 1));
            continue;
        }
        if (seen & bit) return por_jr_fail(r, "duplicate field");
        seen |= bit;
    }
    if (k < 0) return r->failed;
    if (seen != 31)
        return por_jr_fail(r, "missing field (want version, tree_depth, leaves, levels, "
                              "range_proofs)");
    if (por_jr_peek(r) >= 0) return por_jr_fail(r, "trailing data after the JSON object");
    return r->failed;
}

cl_err por_tree_read(por_source *src, uint32_t depth, uint32_t batch, uint64_t expect_bytes,
                     por_tree_file *out, const por_progress *pg, char err[POR_ERR_LEN]) {
    memset(out, 0, sizeof *out);
    err[0] = 0;
    if (depth < 1 || depth > POR_MAX_DEPTH || batch < 1 || batch > POR_MAX_BATCH ||
        batch > ((uint64_t)1 << depth)) {
        snprintf(err, POR_ERR_LEN, "merkle_tree.json: bad tree parameters");
        return CL_ERR_INVALID;
    }
    por_tree_file *t = out;
    t->N = (uint64_t)1 << depth;
    t->depth = depth;
    t->batch = batch;
    t->rp_total = por_range_total(t->N, batch);
    t->rp_count = por_range_count(t->N, batch);
    t->leaf_id = cl_malloc(t->N * sizeof *t->leaf_id);
    t->leaf_hash = cl_malloc(t->N * sizeof *t->leaf_hash);
    t->leaf_L = cl_malloc(t->N * sizeof *t->leaf_L);
    t->leaf_V = cl_malloc(t->N * sizeof *t->leaf_V);
    t->node_hash = cl_malloc((t->N - 1) * sizeof *t->node_hash);
    t->node_C = cl_malloc((t->N - 1) * sizeof *t->node_C);
    t->range_proofs = cl_malloc(t->rp_total);
    /* a range proof for B = 1024 is under 4096 hex digits */
    por_jreader *r = por_jr_new(src, "merkle_tree.json", 4096, expect_bytes, pg, err);
    cl_err e = jr_top(r, t);
    if (e == CL_OK && r->failed) e = r->failed;
    por_jr_free(r, t->sha256, &t->bytes);
    if (e != CL_OK) por_tree_free(t);
    return e;
}

void por_tree_free(por_tree_file *t) {
    if (!t) return;
    free(t->leaf_id);
    free(t->leaf_hash);
    free(t->leaf_L);
    free(t->leaf_V);
    free(t->node_hash);
    free(t->node_C);
    free(t->range_proofs);
    memset(t, 0, sizeof *t);
}
