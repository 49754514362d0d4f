/* treefile.c — reads merkle_tree.json (docs/por.md §8) as a stream.
 *
 * The file is ≈ 390 bytes per leaf (0.8 GB for 2^20 leaves), so a DOM would
 * cost gigabytes; instead a small pull tokenizer with bounded state reads it
 * in 64 KiB chunks straight into flat arrays of fixed-size records (160 bytes
 * per leaf, 80 per inner node, the range proofs as bytes), hashing every byte
 * with SHA-256 on the way so the caller can check `merkle_tree.sha256`.
 *
 * It accepts any JSON of the right shape (keys in any order, whitespace
 * anywhere, escapes in strings, unknown keys skipped), but sizes are exact:
 * N leaves, m levels of N/2^j nodes, N/B range proofs, each field once, hex
 * lower case of the exact length. Points are not decoded here: the verifier
 * does that in parallel afterwards. Nesting of skipped values is bounded. */
#include "por/protocol.h"

#include "crypto/crypto.h"
#include "por/rangeproof.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JR_CHUNK 65536
#define JR_MAX_DEPTH 64
#define JR_STR_MAX 4096 /* a range proof for B = 64 is 3008 hex digits */

typedef struct {
    por_source *src;
    uint8_t *buf;
    size_t len, pos;
    bool eof;
    uint64_t total;
    crypto_sha256_ctx *sha;
    char *err;
    cl_err failed;
    const por_progress *pg;
    uint64_t last_report, expect;
    char str[JR_STR_MAX + 1];
    size_t slen;
} jreader;

static cl_err jr_fail(jreader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static cl_err jr_fail(jreader *r, const char *fmt, ...) {
    if (r->failed) return r->failed;
    char msg[POR_ERR_LEN - 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(r->err, POR_ERR_LEN, "merkle_tree.json: %s (near byte %llu)", msg,
             (unsigned long long)(r->total - (r->len - r->pos)));
    r->failed = CL_ERR_INVALID;
    return r->failed;
}

static bool jr_fill(jreader *r) {
    if (r->pos < r->len) return true;
    if (r->eof || r->failed) return false;
    size_t got = 0;
    if (r->src->read(r->src->ctx, r->buf, JR_CHUNK, &got) != CL_OK) {
        jr_fail(r, "read error");
        r->failed = CL_ERR_IO;
        return false;
    }
    r->len = got;
    r->pos = 0;
    r->total += got;
    if (got == 0) {
        r->eof = true;
        return false;
    }
    crypto_sha256_update(r->sha, slice_of(r->buf, got));
    if (r->pg && r->pg->fn && (r->total >> 24) != r->last_report) {
        r->last_report = r->total >> 24;
        por_report(r->pg, "reading tree", r->total < r->expect ? r->total : r->expect - 1,
                   r->expect);
    }
    return true;
}

/* Next non-whitespace byte without consuming it; -1 at end of input. */
static int jr_peek(jreader *r) {
    for (;;) {
        if (!jr_fill(r)) return -1;
        uint8_t c = r->buf[r->pos];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            r->pos++;
            continue;
        }
        return c;
    }
}

static cl_err jr_expect(jreader *r, char c) {
    int got = jr_peek(r);
    if (got != c) {
        if (got < 0) return jr_fail(r, "unexpected end of file (truncated?), expected '%c'", c);
        return jr_fail(r, "expected '%c'", c);
    }
    r->pos++;
    return CL_OK;
}

static int jr_raw(jreader *r) {
    if (!jr_fill(r)) return -1;
    return r->buf[r->pos++];
}

static int jr_hex4(jreader *r) {
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int c = jr_raw(r), d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v << 4 | d;
    }
    return v;
}

static void jr_put(jreader *r, uint32_t cp, bool keep) {
    if (!keep) return;
    uint8_t b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (uint8_t)(0xc0 | cp >> 6);
        b[1] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (uint8_t)(0xe0 | cp >> 12);
        b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        b[0] = (uint8_t)(0xf0 | cp >> 18);
        b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 4;
    }
    for (size_t i = 0; i < n; i++) {
        if (r->slen < JR_STR_MAX) r->str[r->slen] = (char)b[i];
        r->slen++;
    }
}

/* A string into r->str (keep) or skipped; r->slen counts its decoded bytes
 * even past JR_STR_MAX (then the caller knows it was too long). */
static cl_err jr_string(jreader *r, bool keep) {
    CL_TRY(jr_expect(r, '"'));
    r->slen = 0;
    for (;;) {
        int c = jr_raw(r);
        if (c < 0) return jr_fail(r, "unexpected end of file inside a string (truncated?)");
        if (c == '"') break;
        if (c < 0x20) return jr_fail(r, "control character in a string");
        if (c != '\\') {
            jr_put(r, (uint32_t)c, keep); /* UTF-8 bytes pass through unchanged */
            continue;
        }
        int e = jr_raw(r);
        uint32_t cp;
        switch (e) {
        case '"':
            cp = '"';
            break;
        case '\\':
            cp = '\\';
            break;
        case '/':
            cp = '/';
            break;
        case 'b':
            cp = '\b';
            break;
        case 'f':
            cp = '\f';
            break;
        case 'n':
            cp = '\n';
            break;
        case 'r':
            cp = '\r';
            break;
        case 't':
            cp = '\t';
            break;
        case 'u': {
            int u = jr_hex4(r);
            if (u < 0) return jr_fail(r, "bad \\u escape");
            cp = (uint32_t)u;
            if (cp >= 0xd800 && cp < 0xdc00) {
                if (jr_raw(r) != '\\' || jr_raw(r) != 'u') return jr_fail(r, "lone surrogate");
                int lo = jr_hex4(r);
                if (lo < 0xdc00 || lo >= 0xe000) return jr_fail(r, "lone surrogate");
                cp = 0x10000 + ((cp - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp < 0xe000) {
                return jr_fail(r, "lone surrogate");
            }
            break;
        }
        default:
            return jr_fail(r, "bad escape in a string");
        }
        if (cp == 0) return jr_fail(r, "NUL in a string");
        jr_put(r, cp, keep);
    }
    if (keep && r->slen <= JR_STR_MAX) r->str[r->slen] = 0;
    return CL_OK;
}

static cl_err jr_literal(jreader *r, const char *lit) {
    for (const char *p = lit; *p; p++)
        if (jr_raw(r) != *p) return jr_fail(r, "bad literal");
    return CL_OK;
}

static bool is_num_char(int c) {
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/* A non-negative integer without sign, fraction or exponent. */
static cl_err jr_uint(jreader *r, uint64_t *out) {
    int c = jr_peek(r);
    if (c < '0' || c > '9') return jr_fail(r, "expected a non-negative integer");
    uint64_t v = 0;
    size_t digits = 0;
    bool lead0 = c == '0';
    while (jr_fill(r) && is_num_char(r->buf[r->pos])) {
        c = r->buf[r->pos++];
        if (c < '0' || c > '9') return jr_fail(r, "expected an integer");
        if (v > (UINT64_MAX - (uint64_t)(c - '0')) / 10) return jr_fail(r, "integer too large");
        v = v * 10 + (uint64_t)(c - '0');
        digits++;
    }
    if (lead0 && digits > 1) return jr_fail(r, "leading zero in a number");
    *out = v;
    return CL_OK;
}

static cl_err jr_skip_value(jreader *r, int depth);

/* Iteration: first call with *first = true. Returns 1 if another member/element
 * follows (for objects: its key is in r->str and ':' consumed), 0 at the end
 * (closing bracket consumed), or sets an error and returns -1. */
static int jr_next(jreader *r, bool *first, char close, bool object) {
    int c = jr_peek(r);
    if (c == close) {
        r->pos++;
        return 0;
    }
    if (!*first) {
        if (c != ',') {
            jr_fail(r, c < 0 ? "unexpected end of file (truncated?)" : "expected ',' or '%c'",
                    close);
            return -1;
        }
        r->pos++;
    }
    *first = false;
    if (object) {
        if (jr_string(r, true) != CL_OK) return -1;
        if (r->slen > 64) r->str[64] = 0; /* keys we know are short; long ones never match */
        if (jr_expect(r, ':') != CL_OK) return -1;
    } else if (jr_peek(r) < 0) {
        jr_fail(r, "unexpected end of file (truncated?)");
        return -1;
    }
    return 1;
}

static cl_err jr_skip_value(jreader *r, int depth) {
    if (depth > JR_MAX_DEPTH) return jr_fail(r, "nesting too deep");
    int c = jr_peek(r);
    if (c == '{' || c == '[') {
        r->pos++;
        bool first = true;
        int k;
        while ((k = jr_next(r, &first, c == '{' ? '}' : ']', c == '{')) == 1)
            CL_TRY(jr_skip_value(r, depth + 1));
        return k == 0 ? CL_OK : r->failed;
    }
    if (c == '"') return jr_string(r, false);
    if (c == 't') return jr_literal(r, "true");
    if (c == 'f') return jr_literal(r, "false");
    if (c == 'n') return jr_literal(r, "null");
    if (c == '-' || (c >= '0' && c <= '9')) {
        while (jr_fill(r) && is_num_char(r->buf[r->pos]))
            r->pos++;
        return CL_OK;
    }
    return jr_fail(r, c < 0 ? "unexpected end of file (truncated?)" : "unexpected character");
}

static cl_err jr_hex(jreader *r, uint8_t *out, size_t n, const char *what, uint64_t idx) {
    CL_TRY(jr_string(r, true));
    if (r->slen > JR_STR_MAX || !por_hex_decode_exact(r->str, r->slen, out, n))
        return jr_fail(r, "%s %llu: must be %zu bytes of lower-case hex", what,
                       (unsigned long long)idx, n);
    return CL_OK;
}

/* {"id", "commitment", "equity_commitment", "hash"} or {"hash", "commitment"}. */
static cl_err jr_node(jreader *r, por_tree_file *t, uint64_t i, bool leaf, uint8_t *hash,
                      uint8_t *C) {
    const char *what = leaf ? "leaf" : "node";
    CL_TRY(jr_expect(r, '{'));
    bool first = true;
    unsigned seen = 0;
    int k;
    while ((k = jr_next(r, &first, '}', true)) == 1) {
        unsigned bit = 0;
        if (strcmp(r->str, "hash") == 0) {
            bit = 1;
            CL_TRY(jr_hex(r, hash, POR_HASH_LEN, what, i));
        } else if (strcmp(r->str, "commitment") == 0) {
            bit = 2;
            CL_TRY(jr_hex(r, C, POR_POINT_LEN, what, i));
        } else if (leaf && strcmp(r->str, "id") == 0) {
            bit = 4;
            CL_TRY(jr_hex(r, t->leaf_id[i], POR_HASH_LEN, what, i));
        } else if (leaf && strcmp(r->str, "equity_commitment") == 0) {
            bit = 8;
            CL_TRY(jr_hex(r, t->leaf_V[i], POR_POINT_LEN, what, i));
        } else {
            CL_TRY(jr_skip_value(r, 1));
            continue;
        }
        if (seen & bit) return jr_fail(r, "%s %llu: duplicate field", what, (unsigned long long)i);
        seen |= bit;
    }
    if (k < 0) return r->failed;
    if (seen != (leaf ? 15u : 3u))
        return jr_fail(r, "%s %llu: missing field (want %s)", what, (unsigned long long)i,
                       leaf ? "id, commitment, equity_commitment, hash" : "hash, commitment");
    return CL_OK;
}

static cl_err jr_leaves(jreader *r, por_tree_file *t) {
    CL_TRY(jr_expect(r, '['));
    bool first = true;
    uint64_t i = 0;
    int k;
    while ((k = jr_next(r, &first, ']', false)) == 1) {
        if (i >= t->N) return jr_fail(r, "more than %llu leaves", (unsigned long long)t->N);
        CL_TRY(jr_node(r, t, i, true, t->leaf_hash[i], t->leaf_L[i]));
        i++;
    }
    if (k < 0) return r->failed;
    if (i != t->N)
        return jr_fail(r, "%llu leaves, want %llu", (unsigned long long)i,
                       (unsigned long long)t->N);
    return CL_OK;
}

static cl_err jr_levels(jreader *r, por_tree_file *t) {
    CL_TRY(jr_expect(r, '['));
    bool first = true;
    uint32_t j = 0;
    int k;
    while ((k = jr_next(r, &first, ']', false)) == 1) {
        if (++j > t->depth) return jr_fail(r, "more than %u levels", t->depth);
        uint64_t want = t->N >> j, off = por_level_offset(t->N, j), i = 0;
        CL_TRY(jr_expect(r, '['));
        bool f2 = true;
        int k2;
        while ((k2 = jr_next(r, &f2, ']', false)) == 1) {
            if (i >= want)
                return jr_fail(r, "level %u has more than %llu nodes", j, (unsigned long long)want);
            CL_TRY(jr_node(r, t, off + i, false, t->node_hash[off + i], t->node_C[off + i]));
            i++;
        }
        if (k2 < 0) return r->failed;
        if (i != want)
            return jr_fail(r, "level %u has %llu nodes, want %llu", j, (unsigned long long)i,
                           (unsigned long long)want);
    }
    if (k < 0) return r->failed;
    if (j != t->depth) return jr_fail(r, "%u levels, want tree_depth = %u", j, t->depth);
    return CL_OK;
}

static cl_err jr_range_proofs(jreader *r, por_tree_file *t) {
    CL_TRY(jr_expect(r, '['));
    bool first = true;
    uint64_t i = 0;
    int k;
    while ((k = jr_next(r, &first, ']', false)) == 1) {
        if (i >= t->rp_count)
            return jr_fail(r, "more than %llu range proofs", (unsigned long long)t->rp_count);
        CL_TRY(jr_hex(r, t->range_proofs + por_range_offset(t->N, t->batch, i),
                      por_range_size(t->N, t->batch, i), "range proof", i));
        i++;
    }
    if (k < 0) return r->failed;
    if (i != t->rp_count)
        return jr_fail(r, "%llu range proofs, want ceil(padded_accounts / batch_size) = %llu",
                       (unsigned long long)i, (unsigned long long)t->rp_count);
    return CL_OK;
}

static cl_err jr_top(jreader *r, por_tree_file *t) {
    CL_TRY(jr_expect(r, '{'));
    bool first = true;
    unsigned seen = 0;
    int k;
    while ((k = jr_next(r, &first, '}', true)) == 1) {
        unsigned bit;
        if (strcmp(r->str, "version") == 0) {
            bit = 1;
            CL_TRY(jr_string(r, true));
            if (strcmp(r->str, POR_VERSION) != 0)
                return jr_fail(r, "version must be \"%s\"", POR_VERSION);
        } else if (strcmp(r->str, "tree_depth") == 0) {
            bit = 2;
            uint64_t d = 0;
            CL_TRY(jr_uint(r, &d));
            if (d != t->depth)
                return jr_fail(r, "tree_depth is %llu, final_proof.json says %u",
                               (unsigned long long)d, t->depth);
        } else if (strcmp(r->str, "leaves") == 0) {
            bit = 4;
            if (seen & bit) return jr_fail(r, "duplicate field leaves");
            CL_TRY(jr_leaves(r, t));
        } else if (strcmp(r->str, "levels") == 0) {
            bit = 8;
            if (seen & bit) return jr_fail(r, "duplicate field levels");
            CL_TRY(jr_levels(r, t));
        } else if (strcmp(r->str, "range_proofs") == 0) {
            bit = 16;
            if (seen & bit) return jr_fail(r, "duplicate field range_proofs");
            CL_TRY(jr_range_proofs(r, t));
        } else {
            CL_TRY(jr_skip_value(r, 1));
            continue;
        }
        if (seen & bit) return jr_fail(r, "duplicate field");
        seen |= bit;
    }
    if (k < 0) return r->failed;
    if (seen != 31)
        return jr_fail(r, "missing field (want version, tree_depth, leaves, levels, "
                          "range_proofs)");
    if (jr_peek(r) >= 0) return jr_fail(r, "trailing data after the JSON object");
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
    jreader *r = cl_calloc(1, sizeof *r);
    r->src = src;
    r->buf = cl_malloc(JR_CHUNK);
    r->sha = crypto_sha256_new();
    r->err = err;
    r->pg = pg;
    r->expect = expect_bytes ? expect_bytes : 1;
    cl_err e = jr_top(r, t);
    if (e == CL_OK && r->failed) e = r->failed;
    crypto_sha256_final(r->sha, t->sha256);
    t->bytes = r->total;
    free(r->buf);
    free(r);
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
