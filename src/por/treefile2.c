/* treefile2.c — reads cloister-por-v2's merkle_tree.json (spec §6) as a
 * stream with jreader.c, into flat arrays: per leaf its id and hash, its 2n
 * part commitments scattered column-major (so a range-proof batch's
 * commitments are contiguous bytes), the inner nodes' hashes, and the range
 * proofs back to back in storage order (column by column, batch by batch).
 *
 * Strict as the spec asks of both verifiers: every listed field exactly once
 * and no other, top-level keys in any order, sizes exact (N leaves, m levels
 * of N/2^j hashes, Σ_c ⌈N/B_c⌉ proofs of their exact sizes), hex lower case.
 * Points are decoded by the verifier afterwards, in parallel. */
#include "por/jreader.h"
#include "por/rangeproof.h"
#include "por/verify2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    por_jreader *r;
    por2_tree_file *t;
    const por2_statement *st;
    uint8_t *leafbuf; /* one leaf's 2n·48 bytes */
} t2ctx;

uint64_t por2_tree_min_bytes(const por2_statement *st) {
    /* id, hash and the commitments in hex: 2·(32 + 32 + 96n) per leaf; the
     * range proofs in hex */
    return st->padded * (128 + 192 * (uint64_t)st->nassets) + 2 * por2_range_total(st);
}

static cl_err leaf_field(t2ctx *c, uint64_t i, unsigned *seen) {
    por_jreader *r = c->r;
    por2_tree_file *t = c->t;
    unsigned bit;
    if (strcmp(r->str, "id") == 0) {
        bit = 1;
        if (*seen & bit) goto dup;
        CL_TRY(por_jr_hex(r, t->leaf_id[i], POR_HASH_LEN, "leaf", i));
    } else if (strcmp(r->str, "hash") == 0) {
        bit = 2;
        if (*seen & bit) goto dup;
        CL_TRY(por_jr_hex(r, t->leaf_hash[i], POR_HASH_LEN, "leaf", i));
    } else if (strcmp(r->str, "commitments") == 0) {
        bit = 4;
        if (*seen & bit) goto dup;
        size_t k = 2 * t->nassets;
        CL_TRY(por_jr_hex(r, c->leafbuf, k * POR_POINT_LEN, "leaf", i));
        for (size_t p = 0; p < k; p++)
            memcpy(t->parts + (p * t->N + i) * POR_POINT_LEN, c->leafbuf + p * POR_POINT_LEN,
                   POR_POINT_LEN);
    } else {
        return por_jr_fail(r, "leaf %llu: unknown field \"%.40s\"", (unsigned long long)i, r->str);
    }
    *seen |= bit;
    return CL_OK;
dup:
    return por_jr_fail(r, "leaf %llu: duplicate field %s", (unsigned long long)i, r->str);
}

static cl_err read_leaf(t2ctx *c, uint64_t i) {
    por_jreader *r = c->r;
    CL_TRY(por_jr_expect(r, '{'));
    bool first = true;
    unsigned seen = 0;
    int k;
    while ((k = por_jr_next(r, &first, '}', true)) == 1)
        CL_TRY(leaf_field(c, i, &seen));
    if (k < 0) return r->failed;
    if (seen != 7)
        return por_jr_fail(r, "leaf %llu: missing field (want id, commitments, hash)",
                           (unsigned long long)i);
    return CL_OK;
}

static cl_err read_leaves(t2ctx *c) {
    por_jreader *r = c->r;
    CL_TRY(por_jr_expect(r, '['));
    bool first = true;
    uint64_t i = 0;
    int k;
    while ((k = por_jr_next(r, &first, ']', false)) == 1) {
        if (i >= c->t->N)
            return por_jr_fail(r, "more than %llu leaves", (unsigned long long)c->t->N);
        CL_TRY(read_leaf(c, i));
        i++;
    }
    if (k < 0) return r->failed;
    if (i != c->t->N)
        return por_jr_fail(r, "%llu leaves, want %llu", (unsigned long long)i,
                           (unsigned long long)c->t->N);
    return CL_OK;
}

static cl_err read_levels(t2ctx *c) {
    por_jreader *r = c->r;
    por2_tree_file *t = c->t;
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
            CL_TRY(por_jr_hex(r, t->node_hash[off + i], POR_HASH_LEN, "node", off + i));
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

static cl_err read_range_proofs(t2ctx *c) {
    por_jreader *r = c->r;
    por2_tree_file *t = c->t;
    const por2_statement *st = c->st;
    CL_TRY(por_jr_expect(r, '['));
    bool first = true;
    uint64_t i = 0, off = 0, j = 0;
    size_t col = 0;
    int k;
    while ((k = por_jr_next(r, &first, ']', false)) == 1) {
        if (i >= t->rp_count)
            return por_jr_fail(r, "more than %llu range proofs", (unsigned long long)t->rp_count);
        while (j >= por2_column_batches(st->padded, st->batch, por2_column_bits(st, col))) {
            col++;
            j = 0;
        }
        size_t len = por_rangeproof_size(por2_range_len(st, col, j), por2_column_bits(st, col));
        CL_TRY(por_jr_hex(r, t->range_proofs + off, len, "range proof", i));
        off += len;
        i++;
        j++;
    }
    if (k < 0) return r->failed;
    if (i != t->rp_count)
        return por_jr_fail(r, "%llu range proofs, want %llu", (unsigned long long)i,
                           (unsigned long long)t->rp_count);
    return CL_OK;
}

static cl_err top_field(t2ctx *c, unsigned *seen) {
    por_jreader *r = c->r;
    unsigned bit;
    const char *key = r->str;
    if (strcmp(key, "version") == 0)
        bit = 1;
    else if (strcmp(key, "tree_depth") == 0)
        bit = 2;
    else if (strcmp(key, "leaves") == 0)
        bit = 4;
    else if (strcmp(key, "levels") == 0)
        bit = 8;
    else if (strcmp(key, "range_proofs") == 0)
        bit = 16;
    else
        return por_jr_fail(r, "unknown field \"%.40s\"", key);
    if (*seen & bit) return por_jr_fail(r, "duplicate field %s", key);
    *seen |= bit;
    switch (bit) {
    case 1:
        CL_TRY(por_jr_string(r, true));
        if (r->slen > r->str_cap || strcmp(r->str, POR2_VERSION) != 0)
            return por_jr_fail(r, "version must be \"%s\"", POR2_VERSION);
        return CL_OK;
    case 2: {
        uint64_t d = 0;
        CL_TRY(por_jr_uint(r, &d));
        if (d != c->t->depth)
            return por_jr_fail(r, "tree_depth is %llu, final_proof.json says %u",
                               (unsigned long long)d, c->t->depth);
        return CL_OK;
    }
    case 4:
        return read_leaves(c);
    case 8:
        return read_levels(c);
    default:
        return read_range_proofs(c);
    }
}

static cl_err read_top(t2ctx *c) {
    por_jreader *r = c->r;
    CL_TRY(por_jr_expect(r, '{'));
    bool first = true;
    unsigned seen = 0;
    int k;
    while ((k = por_jr_next(r, &first, '}', true)) == 1)
        CL_TRY(top_field(c, &seen));
    if (k < 0) return r->failed;
    if (seen != 31)
        return por_jr_fail(r, "missing field (want version, tree_depth, leaves, levels, "
                              "range_proofs)");
    if (por_jr_peek(r) >= 0) return por_jr_fail(r, "trailing data after the JSON object");
    return r->failed;
}

/* The longest hex string the file may hold: a leaf's commitments or the
 * largest range proof (every column's first batch is its largest). */
static size_t longest_hex(const por2_statement *st) {
    size_t m = 2 * st->nassets * POR_POINT_LEN;
    for (size_t c = 0; c < por2_columns(st->nassets); c++) {
        size_t p = por_rangeproof_size(por2_range_len(st, c, 0), por2_column_bits(st, c));
        if (p > m) m = p;
    }
    return 2 * m;
}

cl_err por2_tree_read(por_source *src, const por2_statement *st, uint64_t expect_bytes,
                      por2_tree_file *out, const por_progress *pg, char err[POR_ERR_LEN]) {
    memset(out, 0, sizeof *out);
    err[0] = 0;
    if (st->depth < 1 || st->depth > POR_MAX_DEPTH || st->nassets < 1) {
        snprintf(err, POR_ERR_LEN, "merkle_tree.json: bad tree parameters");
        return CL_ERR_INVALID;
    }
    por2_tree_file *t = out;
    t->N = (uint64_t)1 << st->depth;
    t->depth = st->depth;
    t->nassets = st->nassets;
    t->rp_total = por2_range_total(st);
    t->rp_count = por2_range_count(st);
    t->leaf_id = cl_malloc(t->N * sizeof *t->leaf_id);
    t->leaf_hash = cl_malloc(t->N * sizeof *t->leaf_hash);
    t->parts = cl_malloc(t->N * 2 * t->nassets * POR_POINT_LEN);
    t->node_hash = cl_malloc((t->N - 1) * sizeof *t->node_hash);
    t->range_proofs = cl_malloc(t->rp_total);
    t2ctx c = {.t = t, .st = st};
    c.leafbuf = cl_malloc(2 * t->nassets * POR_POINT_LEN);
    c.r = por_jr_new(src, "merkle_tree.json", longest_hex(st), expect_bytes, pg, err);
    cl_err e = read_top(&c);
    if (e == CL_OK && c.r->failed) e = c.r->failed;
    por_jr_free(c.r, t->sha256, &t->bytes);
    free(c.leafbuf);
    if (e != CL_OK) por2_tree_free(t);
    return e;
}

void por2_tree_free(por2_tree_file *t) {
    if (!t) return;
    free(t->leaf_id);
    free(t->leaf_hash);
    free(t->parts);
    free(t->node_hash);
    free(t->range_proofs);
    memset(t, 0, sizeof *t);
}
