/* jreader.c — the streaming JSON tokenizer of jreader.h (moved here from
 * treefile.c so the v1 and v2 tree readers share it). */
#include "por/jreader.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cl_err por_jr_fail(por_jreader *r, const char *fmt, ...) {
    if (r->failed) return r->failed;
    char msg[POR_ERR_LEN - 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(r->err, POR_ERR_LEN, "%s: %s (near byte %llu)", r->file, msg,
             (unsigned long long)(r->total - (r->len - r->pos)));
    r->failed = CL_ERR_INVALID;
    return r->failed;
}

static bool por_jr_fill(por_jreader *r) {
    if (r->pos < r->len) return true;
    if (r->eof || r->failed) return false;
    size_t got = 0;
    if (r->src->read(r->src->ctx, r->buf, JR_CHUNK, &got) != CL_OK) {
        por_jr_fail(r, "read error");
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
int por_jr_peek(por_jreader *r) {
    for (;;) {
        if (!por_jr_fill(r)) return -1;
        uint8_t c = r->buf[r->pos];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            r->pos++;
            continue;
        }
        return c;
    }
}

cl_err por_jr_expect(por_jreader *r, char c) {
    int got = por_jr_peek(r);
    if (got != c) {
        if (got < 0) return por_jr_fail(r, "unexpected end of file (truncated?), expected '%c'", c);
        return por_jr_fail(r, "expected '%c'", c);
    }
    r->pos++;
    return CL_OK;
}

static int por_jr_raw(por_jreader *r) {
    if (!por_jr_fill(r)) return -1;
    return r->buf[r->pos++];
}

static int por_jr_hex4(por_jreader *r) {
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int c = por_jr_raw(r), d;
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

static void por_jr_put(por_jreader *r, uint32_t cp, bool keep) {
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
        if (r->slen < r->str_cap) r->str[r->slen] = (char)b[i];
        r->slen++;
    }
}

/* A string into r->str (keep) or skipped; r->slen counts its decoded bytes
 * even past r->str_cap (then the caller knows it was too long). */
cl_err por_jr_string(por_jreader *r, bool keep) {
    CL_TRY(por_jr_expect(r, '"'));
    r->slen = 0;
    for (;;) {
        int c = por_jr_raw(r);
        if (c < 0) return por_jr_fail(r, "unexpected end of file inside a string (truncated?)");
        if (c == '"') break;
        if (c < 0x20) return por_jr_fail(r, "control character in a string");
        if (c != '\\') {
            por_jr_put(r, (uint32_t)c, keep); /* UTF-8 bytes pass through unchanged */
            continue;
        }
        int e = por_jr_raw(r);
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
            int u = por_jr_hex4(r);
            if (u < 0) return por_jr_fail(r, "bad \\u escape");
            cp = (uint32_t)u;
            if (cp >= 0xd800 && cp < 0xdc00) {
                if (por_jr_raw(r) != '\\' || por_jr_raw(r) != 'u')
                    return por_jr_fail(r, "lone surrogate");
                int lo = por_jr_hex4(r);
                if (lo < 0xdc00 || lo >= 0xe000) return por_jr_fail(r, "lone surrogate");
                cp = 0x10000 + ((cp - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp < 0xe000) {
                return por_jr_fail(r, "lone surrogate");
            }
            break;
        }
        default:
            return por_jr_fail(r, "bad escape in a string");
        }
        if (cp == 0) return por_jr_fail(r, "NUL in a string");
        por_jr_put(r, cp, keep);
    }
    if (keep && r->slen <= r->str_cap) r->str[r->slen] = 0;
    return CL_OK;
}

static cl_err por_jr_literal(por_jreader *r, const char *lit) {
    for (const char *p = lit; *p; p++)
        if (por_jr_raw(r) != *p) return por_jr_fail(r, "bad literal");
    return CL_OK;
}

static bool is_num_char(int c) {
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/* A non-negative integer without sign, fraction or exponent. */
cl_err por_jr_uint(por_jreader *r, uint64_t *out) {
    int c = por_jr_peek(r);
    if (c < '0' || c > '9') return por_jr_fail(r, "expected a non-negative integer");
    uint64_t v = 0;
    size_t digits = 0;
    bool lead0 = c == '0';
    while (por_jr_fill(r) && is_num_char(r->buf[r->pos])) {
        c = r->buf[r->pos++];
        if (c < '0' || c > '9') return por_jr_fail(r, "expected an integer");
        if (v > (UINT64_MAX - (uint64_t)(c - '0')) / 10) return por_jr_fail(r, "integer too large");
        v = v * 10 + (uint64_t)(c - '0');
        digits++;
    }
    if (lead0 && digits > 1) return por_jr_fail(r, "leading zero in a number");
    *out = v;
    return CL_OK;
}

/* Iteration: first call with *first = true. Returns 1 if another member/element
 * follows (for objects: its key is in r->str and ':' consumed), 0 at the end
 * (closing bracket consumed), or sets an error and returns -1. */
int por_jr_next(por_jreader *r, bool *first, char close, bool object) {
    int c = por_jr_peek(r);
    if (c == close) {
        r->pos++;
        return 0;
    }
    if (!*first) {
        if (c != ',') {
            por_jr_fail(r, c < 0 ? "unexpected end of file (truncated?)" : "expected ',' or '%c'",
                        close);
            return -1;
        }
        r->pos++;
    }
    *first = false;
    if (object) {
        if (por_jr_string(r, true) != CL_OK) return -1;
        if (r->slen > 64) r->str[64] = 0; /* keys we know are short; long ones never match */
        if (por_jr_expect(r, ':') != CL_OK) return -1;
    } else if (por_jr_peek(r) < 0) {
        por_jr_fail(r, "unexpected end of file (truncated?)");
        return -1;
    }
    return 1;
}

cl_err por_jr_skip_value(por_jreader *r, int depth) {
    if (depth > JR_MAX_DEPTH) return por_jr_fail(r, "nesting too deep");
    int c = por_jr_peek(r);
    if (c == '{' || c == '[') {
        r->pos++;
        bool first = true;
        int k;
        while ((k = por_jr_next(r, &first, c == '{' ? '}' : ']', c == '{')) == 1)
            CL_TRY(por_jr_skip_value(r, depth + 1));
        return k == 0 ? CL_OK : r->failed;
    }
    if (c == '"') return por_jr_string(r, false);
    if (c == 't') return por_jr_literal(r, "true");
    if (c == 'f') return por_jr_literal(r, "false");
    if (c == 'n') return por_jr_literal(r, "null");
    if (c == '-' || (c >= '0' && c <= '9')) {
        while (por_jr_fill(r) && is_num_char(r->buf[r->pos]))
            r->pos++;
        return CL_OK;
    }
    return por_jr_fail(r, c < 0 ? "unexpected end of file (truncated?)" : "unexpected character");
}

cl_err por_jr_hex(por_jreader *r, uint8_t *out, size_t n, const char *what, uint64_t idx) {
    CL_TRY(por_jr_string(r, true));
    if (r->slen > r->str_cap || !por_hex_decode_exact(r->str, r->slen, out, n))
        return por_jr_fail(r, "%s %llu: must be %zu bytes of lower-case hex", what,
                           (unsigned long long)idx, n);
    return CL_OK;
}

/* {"id", "commitment", "equity_commitment", "hash"} or {"hash", "commitment"}. */

por_jreader *por_jr_new(por_source *src, const char *file, size_t str_cap, uint64_t expect_bytes,
                        const por_progress *pg, char err[POR_ERR_LEN]) {
    por_jreader *r = cl_calloc(1, sizeof *r);
    r->src = src;
    r->file = file;
    r->buf = cl_malloc(JR_CHUNK);
    r->sha = crypto_sha256_new();
    r->err = err;
    r->pg = pg;
    r->expect = expect_bytes ? expect_bytes : 1;
    r->str_cap = str_cap < 64 ? 64 : str_cap;
    r->str = cl_malloc(r->str_cap + 1);
    return r;
}

void por_jr_free(por_jreader *r, uint8_t sha256[POR_HASH_LEN], uint64_t *bytes) {
    uint8_t d[POR_HASH_LEN];
    crypto_sha256_final(r->sha, d);
    if (sha256) memcpy(sha256, d, POR_HASH_LEN);
    if (bytes) *bytes = r->total;
    free(r->buf);
    free(r->str);
    free(r);
}
