/* ledger.c — the streaming ledger reader of ledger.h: a byte reader over a
 * por_source with one fixed chunk buffer, a JSON tokenizer that keeps at most
 * TOK_MAX decoded bytes of any token (numbers are converted digit by digit, so
 * a number of any length costs nothing), a recursive-descent reader of the fixed
 * ledger grammar on top of it, a CSV row reader, and the set of user hashes for
 * the duplicate check.
 *
 * It is hand-written rather than jansson because a DOM of a 1 GB ledger would
 * need several GB: jansson's callback loader streams the bytes in but still
 * builds the whole value, and the accounts object is one value. The grammar is fixed and small
 * (depth 3), so a pull tokenizer plus one function per level reads as the format reads.
 *
 * Messages name the account and field (ledger.h); syntax errors name the byte
 * offset, since a JSON ledger is often one line. The first error sticks. */
#include "por/ledger.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define TOK_MAX 256       /* decoded bytes kept of a string token */
#define NUM_TEXT_MAX 40   /* bytes of a number kept for messages */
#define SKIP_MAX_DEPTH 64 /* nesting allowed inside skipped values */
#define LABEL_MAX 320

/* ---------------------------------------------------------------- sources */

typedef struct {
    FILE *f;
    bool own;
} file_src;

static cl_err file_read(void *ctx, uint8_t *dst, size_t cap, size_t *got) {
    file_src *fs = ctx;
    size_t n = fread(dst, 1, cap, fs->f);
    if (n == 0 && ferror(fs->f)) return CL_ERR_IO;
    *got = n;
    return CL_OK;
}

static cl_err file_rewind(void *ctx) {
    file_src *fs = ctx;
    if (fseeko(fs->f, 0, SEEK_SET) != 0) return CL_ERR_IO;
    clearerr(fs->f);
    return CL_OK;
}

static void file_close(void *ctx) {
    file_src *fs = ctx;
    if (fs->own) fclose(fs->f);
    free(fs);
}

cl_err por_source_file(por_source *s, const char *path) {
    *s = (por_source){0};
    bool is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) return errno == ENOENT ? CL_ERR_NOT_FOUND : CL_ERR_IO;
    file_src *fs = cl_malloc(sizeof *fs);
    *fs = (file_src){f, !is_stdin};
    bool seekable = !is_stdin && fseeko(f, 0, SEEK_CUR) == 0;
    *s = (por_source){file_read, seekable ? file_rewind : NULL, file_close, fs};
    return CL_OK;
}

typedef struct {
    cl_slice data;
    size_t pos;
} mem_src;

static cl_err mem_read(void *ctx, uint8_t *dst, size_t cap, size_t *got) {
    mem_src *m = ctx;
    size_t n = m->data.len - m->pos < cap ? m->data.len - m->pos : cap;
    if (n) memcpy(dst, m->data.ptr + m->pos, n);
    m->pos += n;
    *got = n;
    return CL_OK;
}

static cl_err mem_rewind(void *ctx) {
    ((mem_src *)ctx)->pos = 0;
    return CL_OK;
}

void por_source_mem(por_source *s, cl_slice data) {
    mem_src *m = cl_malloc(sizeof *m);
    *m = (mem_src){data, 0};
    *s = (por_source){mem_read, mem_rewind, free, m};
}

static void source_close(por_source *s) {
    if (s->close) s->close(s->ctx);
    *s = (por_source){0};
}

por_ledger_format por_ledger_format_for_path(const char *path) {
    size_t n = strlen(path);
    return n >= 4 && slice_case_eq_cstr(slice_of(path + n - 4, 4), ".csv") ? POR_LEDGER_CSV
                                                                           : POR_LEDGER_JSON;
}

/* ------------------------------------------------------------ byte reader */

typedef struct {
    por_source *src;
    uint8_t *buf;
    size_t cap, len, pos;
    uint64_t base; /* stream offset of buf[0] */
    bool eof;
    cl_err io; /* a read failed: eof is set too */
    uint64_t *bytes_read;
} byte_reader;

static void rd_start(byte_reader *r, por_source *src) {
    r->src = src;
    r->len = r->pos = 0;
    r->base = 0;
    r->eof = src->read == NULL;
    r->io = CL_OK;
}

static int rd_peek_slow(byte_reader *r) {
    while (!r->eof) {
        size_t got = 0;
        r->base += r->len;
        r->len = r->pos = 0;
        cl_err e = r->src->read(r->src->ctx, r->buf, r->cap, &got);
        if (e != CL_OK) {
            r->io = e;
            r->eof = true;
        } else if (got == 0) {
            r->eof = true;
        } else {
            r->len = got > r->cap ? r->cap : got;
            *r->bytes_read += r->len;
            return r->buf[0];
        }
    }
    return -1;
}

/* The next byte, or -1 at the end of input (or after a read error). */
static inline int rd_peek(byte_reader *r) {
    return r->pos < r->len ? r->buf[r->pos] : rd_peek_slow(r);
}
static inline void rd_skip(byte_reader *r) {
    r->pos++;
}
static inline uint64_t rd_offset(const byte_reader *r) {
    return r->base + r->pos;
}

/* ---------------------------------------------------------------- hashset */

/* Open addressing over uint64 slots: 0 = empty, else (16-bit hash tag << 48) |
 * (arena offset + 1). The arena holds each user hash as a length byte and the
 * bytes, so equal hashes are compared exactly (no false duplicates). */
typedef struct {
    uint64_t *slots;
    size_t cap; /* power of two */
    size_t count;
    cl_buf arena;
    uint64_t seed; /* random: a crafted ledger cannot force collisions */
} hashset;

static uint64_t hs_hash(uint64_t seed, const uint8_t *p, size_t n) {
    uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ull);
    for (size_t i = 0; i < n; i += 8) {
        uint64_t w = 0;
        memcpy(&w, p + i, n - i < 8 ? n - i : 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 33);
}

static void hs_init(hashset *s) {
    *s = (hashset){0};
    if (getrandom(&s->seed, sizeof s->seed, GRND_NONBLOCK) != (ssize_t)sizeof s->seed)
        s->seed = 0x243f6a8885a308d3ull ^ (uint64_t)time_mono_ns();
}

static void hs_place(hashset *s, uint64_t h, uint64_t slot) {
    for (size_t i = h & (s->cap - 1);; i = (i + 1) & (s->cap - 1))
        if (!s->slots[i]) {
            s->slots[i] = slot;
            return;
        }
}

static void hs_grow(hashset *s) {
    size_t old_cap = s->cap;
    uint64_t *old = s->slots;
    s->cap = old_cap ? old_cap * 2 : 1024;
    s->slots = cl_calloc(s->cap, sizeof *s->slots);
    for (size_t i = 0; i < old_cap; i++) {
        if (!old[i]) continue;
        const uint8_t *e = s->arena.ptr + ((old[i] & 0xffffffffffffull) - 1);
        hs_place(s, hs_hash(s->seed, e + 1, e[0]), old[i]);
    }
    free(old);
}

/* Adds the hash; false if it was already there. */
static bool hs_insert(hashset *s, const uint8_t *p, size_t n) {
    if ((s->count + 1) * 2 > s->cap) hs_grow(s);
    uint64_t h = hs_hash(s->seed, p, n), tag = h >> 48;
    size_t i = h & (s->cap - 1);
    for (; s->slots[i]; i = (i + 1) & (s->cap - 1)) {
        if ((s->slots[i] >> 48) != tag) continue;
        const uint8_t *e = s->arena.ptr + ((s->slots[i] & 0xffffffffffffull) - 1);
        if (e[0] == n && memcmp(e + 1, p, n) == 0) return false;
    }
    s->slots[i] = (tag << 48) | (s->arena.len + 1);
    buf_append_byte(&s->arena, (uint8_t)n);
    buf_append(&s->arena, p, n);
    s->count++;
    return true;
}

static void hs_free(hashset *s) {
    free(s->slots);
    buf_free(&s->arena);
    *s = (hashset){0};
}

/* ---------------------------------------------------------------- tokens */

typedef enum {
    TK_EOF,
    TK_LBRACE,
    TK_RBRACE,
    TK_LBRACKET,
    TK_RBRACKET,
    TK_COLON,
    TK_COMMA,
    TK_STRING,
    TK_NUMBER,
    TK_TRUE,
    TK_FALSE,
    TK_NULL,
} tk_type;

typedef struct {
    tk_type type;
    uint64_t offset;
    char str[TOK_MAX + 1]; /* string: decoded bytes; number: its text */
    size_t len;
    bool truncated; /* more bytes than kept */
    bool is_int;    /* number without fraction or exponent */
    bool overflow;  /* integer outside int64 */
    int64_t num;
} token;

/* ---------------------------------------------------------------- ledger */

typedef enum { ST_NEW, ST_ACCOUNTS, ST_DONE, ST_FAILED } ledger_state;

struct por_ledger {
    por_ledger_config cfg;
    byte_reader rd;
    token tok;
    cl_buf err;
    cl_err err_code;
    ledger_state st;
    por_ledger_stats stats;

    por_asset *assets;
    size_t n_assets;
    int64_t timestamp;
    bool have_ts, have_assets, have_accounts, second_pass;
    uint32_t equity_decimals;

    int64_t *bal;
    uint32_t *seen; /* seen[a] == gen: asset a already set in this account */
    uint32_t gen;
    size_t *hint; /* asset index at each position of the previous account */
    por_i128 *totals;
    uint64_t count;
    bool first_member;
    hashset users;
    uint8_t user[POR_LEDGER_MAX_USER_HASH];
    size_t user_len;
    char label[LABEL_MAX]; /* "account HEX" or "line N (account HEX)" */

    size_t *col_asset; /* CSV: asset of column i+1 */
    uint64_t line;
};

static cl_err vfail(por_ledger *l, cl_err e, const char *fmt, va_list ap) {
    if (l->st != ST_FAILED) {
        buf_clear(&l->err);
        buf_vappendf(&l->err, fmt, ap);
        (void)buf_cstr(&l->err); /* NUL-terminate for por_ledger_error */
        l->err_code = e;
        l->st = ST_FAILED;
    }
    return l->err_code;
}

__attribute__((format(printf, 3, 4))) static cl_err fail(por_ledger *l, cl_err e, const char *fmt,
                                                         ...) {
    va_list ap;
    va_start(ap, fmt);
    vfail(l, e, fmt, ap);
    va_end(ap);
    return l->err_code;
}

/* An error about the current account: "account X: ..." / "line N (account X): ...". */
__attribute__((format(printf, 2, 3))) static cl_err acct_fail(por_ledger *l, const char *fmt, ...) {
    cl_buf b = CL_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vappendf(&b, fmt, ap);
    va_end(ap);
    fail(l, CL_ERR_INVALID, "%s: %s", l->label, buf_cstr(&b));
    buf_free(&b);
    return l->err_code;
}

static cl_err at_fail(por_ledger *l, uint64_t off, const char *what) {
    return fail(l, CL_ERR_INVALID, "at byte %llu: %s", (unsigned long long)off, what);
}

static cl_err eof_fail(por_ledger *l) {
    if (l->rd.io != CL_OK)
        return fail(l, l->rd.io, "read error after byte %llu",
                    (unsigned long long)rd_offset(&l->rd));
    return at_fail(l, rd_offset(&l->rd), "unexpected end of input (truncated file?)");
}

/* Appends s (n bytes) quoted, with non-printable bytes as \xNN. */
static void append_quoted(cl_buf *b, const char *s, size_t n, bool truncated, size_t max) {
    buf_append_byte(b, '"');
    for (size_t i = 0; i < n && i < max; i++) {
        uint8_t c = (uint8_t)s[i];
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
            buf_appendf(b, "\\x%02x", c);
        else
            buf_append_byte(b, c);
    }
    buf_append_cstr(b, n > max || truncated ? "...\"" : "\"");
}

/* A short description of the current token for messages. */
static const char *tok_desc(por_ledger *l, cl_buf *b) {
    token *t = &l->tok;
    switch (t->type) {
    case TK_EOF:
        return "the end of input";
    case TK_LBRACE:
        return "an object";
    case TK_RBRACE:
        return "'}'";
    case TK_LBRACKET:
        return "an array";
    case TK_RBRACKET:
        return "']'";
    case TK_COLON:
        return "':'";
    case TK_COMMA:
        return "','";
    case TK_TRUE:
        return "true";
    case TK_FALSE:
        return "false";
    case TK_NULL:
        return "null";
    case TK_NUMBER:
        buf_append(b, t->str, t->len);
        if (t->truncated) buf_append_cstr(b, "...");
        return buf_cstr(b);
    case TK_STRING:
        buf_append_cstr(b, "a string ");
        append_quoted(b, t->str, t->len, t->truncated, 40);
        return buf_cstr(b);
    }
    return "?";
}

/* ------------------------------------------------------------- tokenizer */

static void tok_put(por_ledger *l, uint8_t c, size_t max) {
    token *t = &l->tok;
    if (t->len < max) {
        t->str[t->len++] = (char)c;
        if (t->len > l->stats.max_token) l->stats.max_token = t->len;
    } else {
        t->truncated = true;
    }
}

static int hex_val(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static cl_err lex_u4(por_ledger *l, uint32_t *out) {
    *out = 0;
    for (int i = 0; i < 4; i++) {
        int c = rd_peek(&l->rd), v = c < 0 ? -1 : hex_val(c);
        if (c < 0) return eof_fail(l);
        if (v < 0) return at_fail(l, rd_offset(&l->rd), "bad \\u escape in a string");
        *out = *out << 4 | (uint32_t)v;
        rd_skip(&l->rd);
    }
    return CL_OK;
}

static void tok_put_utf8(por_ledger *l, uint32_t cp) {
    if (cp < 0x80) {
        tok_put(l, (uint8_t)cp, TOK_MAX);
    } else if (cp < 0x800) {
        tok_put(l, (uint8_t)(0xc0 | cp >> 6), TOK_MAX);
        tok_put(l, (uint8_t)(0x80 | (cp & 0x3f)), TOK_MAX);
    } else if (cp < 0x10000) {
        tok_put(l, (uint8_t)(0xe0 | cp >> 12), TOK_MAX);
        tok_put(l, (uint8_t)(0x80 | ((cp >> 6) & 0x3f)), TOK_MAX);
        tok_put(l, (uint8_t)(0x80 | (cp & 0x3f)), TOK_MAX);
    } else {
        tok_put(l, (uint8_t)(0xf0 | cp >> 18), TOK_MAX);
        tok_put(l, (uint8_t)(0x80 | ((cp >> 12) & 0x3f)), TOK_MAX);
        tok_put(l, (uint8_t)(0x80 | ((cp >> 6) & 0x3f)), TOK_MAX);
        tok_put(l, (uint8_t)(0x80 | (cp & 0x3f)), TOK_MAX);
    }
}

static cl_err lex_escape(por_ledger *l) {
    byte_reader *r = &l->rd;
    int c = rd_peek(r);
    if (c < 0) return eof_fail(l);
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *p = c ? strchr(from, c) : NULL;
    rd_skip(r);
    if (p) {
        tok_put(l, (uint8_t)to[p - from], TOK_MAX);
        return CL_OK;
    }
    if (c != 'u') return at_fail(l, rd_offset(r) - 1, "bad escape in a string");
    uint32_t cp, lo;
    CL_TRY(lex_u4(l, &cp));
    if (cp >= 0xdc00 && cp <= 0xdfff)
        return at_fail(l, rd_offset(r), "lone low surrogate in a string");
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (rd_peek(r) != '\\') return at_fail(l, rd_offset(r), "lone high surrogate in a string");
        rd_skip(r);
        if (rd_peek(r) != 'u') return at_fail(l, rd_offset(r), "lone high surrogate in a string");
        rd_skip(r);
        CL_TRY(lex_u4(l, &lo));
        if (lo < 0xdc00 || lo > 0xdfff)
            return at_fail(l, rd_offset(r), "lone high surrogate in a string");
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    tok_put_utf8(l, cp);
    return CL_OK;
}

static cl_err lex_string(por_ledger *l) {
    byte_reader *r = &l->rd;
    rd_skip(r); /* the opening quote */
    for (;;) {
        int c = rd_peek(r);
        if (c < 0) return eof_fail(l);
        rd_skip(r);
        if (c == '"') return CL_OK;
        if (c < 0x20) return at_fail(l, rd_offset(r) - 1, "control character in a string");
        if (c == '\\')
            CL_TRY(lex_escape(l));
        else
            tok_put(l, (uint8_t)c, TOK_MAX);
    }
}

static bool is_digit(int c) {
    return c >= '0' && c <= '9';
}

/* Consumes digits (at least one), into the text; returns false if none. */
static bool lex_digits(por_ledger *l) {
    bool any = false;
    for (int c; is_digit(c = rd_peek(&l->rd)); any = true) {
        tok_put(l, (uint8_t)c, NUM_TEXT_MAX);
        rd_skip(&l->rd);
    }
    return any;
}

/* JSON number grammar; the integer value is accumulated as digits arrive. */
static cl_err lex_number(por_ledger *l) {
    byte_reader *r = &l->rd;
    token *t = &l->tok;
    const uint64_t cap = (uint64_t)INT64_MAX + 1;
    uint64_t mag = 0;
    bool neg = rd_peek(r) == '-';
    if (neg) {
        tok_put(l, '-', NUM_TEXT_MAX);
        rd_skip(r);
    }
    int c = rd_peek(r);
    if (!is_digit(c)) return at_fail(l, t->offset, "invalid number");
    if (c == '0') {
        tok_put(l, '0', NUM_TEXT_MAX);
        rd_skip(r);
        if (is_digit(rd_peek(r))) return at_fail(l, t->offset, "number with a leading zero");
    } else {
        for (; is_digit(c = rd_peek(r)); rd_skip(r)) {
            tok_put(l, (uint8_t)c, NUM_TEXT_MAX);
            uint64_t d = (uint64_t)(c - '0');
            if (mag > (cap - d) / 10)
                t->overflow = true;
            else if (!t->overflow)
                mag = mag * 10 + d;
        }
    }
    t->is_int = true;
    if (rd_peek(r) == '.') {
        t->is_int = false;
        tok_put(l, '.', NUM_TEXT_MAX);
        rd_skip(r);
        if (!lex_digits(l)) return at_fail(l, t->offset, "invalid number");
    }
    c = rd_peek(r);
    if (c == 'e' || c == 'E') {
        t->is_int = false;
        tok_put(l, (uint8_t)c, NUM_TEXT_MAX);
        rd_skip(r);
        c = rd_peek(r);
        if (c == '+' || c == '-') {
            tok_put(l, (uint8_t)c, NUM_TEXT_MAX);
            rd_skip(r);
        }
        if (!lex_digits(l)) return at_fail(l, t->offset, "invalid number");
    }
    if (!neg && mag == cap) t->overflow = true;
    if (!t->overflow) t->num = neg ? (mag == cap ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
    return CL_OK;
}

static cl_err lex_literal(por_ledger *l, const char *word, tk_type type) {
    for (const char *p = word; *p; p++) {
        if (rd_peek(&l->rd) != *p) return at_fail(l, l->tok.offset, "invalid literal");
        rd_skip(&l->rd);
    }
    l->tok.type = type;
    return CL_OK;
}

/* The next token into l->tok. */
static cl_err lex(por_ledger *l) {
    byte_reader *r = &l->rd;
    token *t = &l->tok;
    int c;
    while ((c = rd_peek(r)) == ' ' || c == '\t' || c == '\n' || c == '\r')
        rd_skip(r);
    t->offset = rd_offset(r);
    t->len = 0;
    t->truncated = t->is_int = t->overflow = false;
    t->num = 0;
    static const char punct[] = "{}[]:,";
    static const tk_type ptype[] = {TK_LBRACE,   TK_RBRACE, TK_LBRACKET,
                                    TK_RBRACKET, TK_COLON,  TK_COMMA};
    if (c < 0) {
        t->type = TK_EOF;
        return r->io != CL_OK ? eof_fail(l) : CL_OK;
    }
    const char *p = c ? strchr(punct, c) : NULL;
    if (p) {
        rd_skip(r);
        t->type = ptype[p - punct];
        return CL_OK;
    }
    if (c == '"') {
        t->type = TK_STRING;
        return lex_string(l);
    }
    if (c == '-' || is_digit(c)) {
        t->type = TK_NUMBER;
        return lex_number(l);
    }
    if (c == 't') return lex_literal(l, "true", TK_TRUE);
    if (c == 'f') return lex_literal(l, "false", TK_FALSE);
    if (c == 'n') return lex_literal(l, "null", TK_NULL);
    char what[64];
    snprintf(what, sizeof what, "unexpected byte 0x%02x", c);
    return at_fail(l, t->offset, what);
}

/* Lexes and requires `type`; `what` names it for the message. */
static cl_err expect(por_ledger *l, tk_type type, const char *what) {
    CL_TRY(lex(l));
    if (l->tok.type == type) return CL_OK;
    if (l->tok.type == TK_EOF) return eof_fail(l);
    cl_buf b = CL_BUF_INIT;
    cl_buf m = CL_BUF_INIT;
    buf_appendf(&m, "expected %s, found %s", what, tok_desc(l, &b));
    at_fail(l, l->tok.offset, buf_cstr(&m));
    buf_free(&b);
    buf_free(&m);
    return l->err_code;
}

/* After a member: lexes ',' (returns true) or the closing `close` (false). */
static cl_err member_sep(por_ledger *l, tk_type close, bool *more) {
    CL_TRY(lex(l));
    if (l->tok.type == TK_COMMA || l->tok.type == close) {
        *more = l->tok.type == TK_COMMA;
        return CL_OK;
    }
    if (l->tok.type == TK_EOF) return eof_fail(l);
    return at_fail(l, l->tok.offset,
                   close == TK_RBRACE ? "expected ',' or '}'" : "expected ',' or ']'");
}

/* Skips the value whose first token is in l->tok. */
static cl_err skip_value(por_ledger *l, int depth) {
    tk_type open = l->tok.type, close = open == TK_LBRACE ? TK_RBRACE : TK_RBRACKET;
    switch (open) {
    case TK_STRING:
    case TK_NUMBER:
    case TK_TRUE:
    case TK_FALSE:
    case TK_NULL:
        return CL_OK;
    case TK_LBRACE:
    case TK_LBRACKET:
        break;
    case TK_EOF:
        return eof_fail(l);
    default:
        return at_fail(l, l->tok.offset, "expected a value");
    }
    if (depth >= SKIP_MAX_DEPTH) return at_fail(l, l->tok.offset, "nesting too deep");
    CL_TRY(lex(l));
    if (l->tok.type == close) return CL_OK;
    for (bool more = true; more;) {
        if (open == TK_LBRACE) {
            if (l->tok.type != TK_STRING) return at_fail(l, l->tok.offset, "expected a key");
            CL_TRY(expect(l, TK_COLON, "':'"));
            CL_TRY(lex(l));
        }
        CL_TRY(skip_value(l, depth + 1));
        CL_TRY(member_sep(l, close, &more));
        if (more) CL_TRY(lex(l));
    }
    return CL_OK;
}

static cl_err lex_and_skip(por_ledger *l) {
    CL_TRY(lex(l));
    return skip_value(l, 0);
}

/* Skips a UTF-8 byte order mark at the start of a source. */
static cl_err skip_bom(por_ledger *l) {
    static const uint8_t bom[3] = {0xef, 0xbb, 0xbf};
    if (rd_peek(&l->rd) != bom[0]) return CL_OK;
    for (int i = 0; i < 3; i++) {
        if (rd_peek(&l->rd) != bom[i]) return at_fail(l, rd_offset(&l->rd), "invalid byte");
        rd_skip(&l->rd);
    }
    return CL_OK;
}

/* --------------------------------------------------------------- helpers */

static bool tok_is(const token *t, const char *s) {
    return !t->truncated && t->len == strlen(s) && memcmp(t->str, s, t->len) == 0;
}

static bool symbol_valid(const char *s, size_t n) {
    if (n == 0 || n > POR_LEDGER_MAX_SYMBOL) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '.' ||
                  c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

static int symbol_cmp(const char *a, size_t an, const char *b, size_t bn) {
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

/* Index of the asset named s, or -1. */
static ptrdiff_t asset_find(const por_ledger *l, const char *s, size_t n) {
    size_t lo = 0, hi = l->n_assets;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const char *m = l->assets[mid].symbol;
        int c = symbol_cmp(s, n, m, strlen(m));
        if (c == 0) return (ptrdiff_t)mid;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

/* Asset of the pos-th member of an account: the previous account's order first. */
static ptrdiff_t asset_lookup(por_ledger *l, size_t pos, const char *s, size_t n) {
    if (pos < l->n_assets) {
        const char *h = l->assets[l->hint[pos]].symbol;
        if (strlen(h) == n && memcmp(h, s, n) == 0) return (ptrdiff_t)l->hint[pos];
    }
    ptrdiff_t a = asset_find(l, s, n);
    if (a >= 0 && pos < l->n_assets) l->hint[pos] = (size_t)a;
    return a;
}

/* Sets l->label from the user hash text in s (for messages). */
static void set_label(por_ledger *l, const char *s, size_t n, bool truncated) {
    cl_buf b = CL_BUF_INIT;
    if (l->cfg.format == POR_LEDGER_CSV)
        buf_appendf(&b, "line %llu (", (unsigned long long)l->line);
    buf_append_cstr(&b, "account ");
    bool plain = n > 0 && !truncated && n <= 2 * POR_LEDGER_MAX_USER_HASH;
    for (size_t i = 0; plain && i < n; i++)
        plain = hex_val((uint8_t)s[i]) >= 0;
    if (plain)
        buf_append(&b, s, n);
    else
        append_quoted(&b, s, n, truncated, 2 * POR_LEDGER_MAX_USER_HASH);
    if (l->cfg.format == POR_LEDGER_CSV) buf_append_byte(&b, ')');
    snprintf(l->label, sizeof l->label, "%s", buf_cstr(&b));
    buf_free(&b);
}

/* Decodes the user hash in s, checks it is new, and sets the label. */
static cl_err take_user_hash(por_ledger *l, const char *s, size_t n, bool truncated) {
    set_label(l, s, n, truncated);
    if (n == 0) return acct_fail(l, "user hash is empty");
    if (truncated || n > 2 * POR_LEDGER_MAX_USER_HASH)
        return acct_fail(l, "user hash is longer than %d bytes (%d hex digits)",
                         POR_LEDGER_MAX_USER_HASH, 2 * POR_LEDGER_MAX_USER_HASH);
    if (n % 2) return acct_fail(l, "user hash has an odd number of hex digits");
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_val((uint8_t)s[2 * i]), lo = hex_val((uint8_t)s[2 * i + 1]);
        if (hi < 0 || lo < 0) return acct_fail(l, "user hash is not hex");
        l->user[i] = (uint8_t)(hi << 4 | lo);
    }
    l->user_len = n / 2;
    if (!hs_insert(&l->users, l->user, l->user_len))
        return acct_fail(l, "duplicate user hash (the same account appears earlier)");
    return CL_OK;
}

static void start_account(por_ledger *l) {
    if (++l->gen == 0) {
        memset(l->seen, 0, l->n_assets * sizeof *l->seen);
        l->gen = 1;
    }
}

/* Every asset set, then added into the totals. */
static cl_err finish_account(por_ledger *l, por_account *acc) {
    for (size_t a = 0; a < l->n_assets; a++)
        if (l->seen[a] != l->gen) return acct_fail(l, "asset %s is missing", l->assets[a].symbol);
    for (size_t a = 0; a < l->n_assets; a++)
        l->totals[a] += l->bal[a];
    memcpy(acc->user_hash, l->user, l->user_len);
    acc->user_hash_len = l->user_len;
    acc->balances = l->bal;
    acc->index = l->count++;
    return CL_OK;
}

/* ---------------------------------------------------------------- assets */

typedef struct {
    int64_t v[3];
    bool have[3];
} asset_fields;

static const char *const asset_field_names[3] = {"usdt_decimals", "balance_decimals", "price"};

/* One asset object's fields, the '{' already read. */
static cl_err parse_asset_fields(por_ledger *l, const char *sym, asset_fields *f) {
    CL_TRY(lex(l));
    if (l->tok.type == TK_RBRACE) return CL_OK;
    for (bool more = true; more;) {
        if (l->tok.type != TK_STRING) return at_fail(l, l->tok.offset, "expected a key");
        int which = -1;
        for (int i = 0; i < 3; i++)
            if (tok_is(&l->tok, asset_field_names[i])) which = i;
        CL_TRY(expect(l, TK_COLON, "':'"));
        if (which < 0) {
            CL_TRY(lex_and_skip(l));
        } else {
            const char *name = asset_field_names[which];
            if (f->have[which])
                return fail(l, CL_ERR_INVALID, "asset %s: %s appears twice", sym, name);
            CL_TRY(lex(l));
            token *t = &l->tok;
            if (t->type != TK_NUMBER || !t->is_int || t->overflow)
                return fail(l, CL_ERR_INVALID, "asset %s: %s is not an integer", sym, name);
            bool ok = which == 2 ? t->num >= 1 : t->num >= 0 && t->num <= POR_LEDGER_MAX_DECIMALS;
            if (!ok)
                return fail(l, CL_ERR_INVALID, "asset %s: %s %lld is out of range (%s)", sym, name,
                            (long long)t->num, which == 2 ? "must be at least 1" : "must be 0..18");
            f->v[which] = t->num;
            f->have[which] = true;
        }
        CL_TRY(member_sep(l, TK_RBRACE, &more));
        if (more) CL_TRY(lex(l));
    }
    return CL_OK;
}

static int asset_cmp(const void *a, const void *b) {
    const por_asset *x = a, *y = b;
    return strcmp(x->symbol, y->symbol);
}

/* Sorts, checks duplicates and usdt_decimals, computes weights. */
static cl_err finish_assets(por_ledger *l) {
    if (l->n_assets == 0) return fail(l, CL_ERR_INVALID, "\"assets\" is empty");
    qsort(l->assets, l->n_assets, sizeof *l->assets, asset_cmp);
    uint32_t dmax = 0;
    for (size_t a = 0; a < l->n_assets; a++) {
        const por_asset *x = &l->assets[a];
        if (a && strcmp(x->symbol, l->assets[a - 1].symbol) == 0)
            return fail(l, CL_ERR_INVALID, "asset %s appears twice in \"assets\"", x->symbol);
        if (x->usdt_decimals != l->assets[0].usdt_decimals)
            return fail(l, CL_ERR_INVALID, "asset %s: usdt_decimals %u differs from %u (asset %s)",
                        x->symbol, x->usdt_decimals, l->assets[0].usdt_decimals,
                        l->assets[0].symbol);
        if (x->balance_decimals > dmax) dmax = x->balance_decimals;
    }
    for (size_t a = 0; a < l->n_assets; a++) {
        por_i128 w = l->assets[a].price;
        for (uint32_t i = l->assets[a].balance_decimals; i < dmax; i++)
            w *= 10;
        l->assets[a].weight = w;
    }
    l->equity_decimals = dmax + l->assets[0].usdt_decimals;
    size_t n = l->n_assets;
    l->bal = cl_calloc(n, sizeof *l->bal);
    l->seen = cl_calloc(n, sizeof *l->seen);
    l->hint = cl_calloc(n, sizeof *l->hint);
    l->totals = cl_calloc(n, sizeof *l->totals);
    for (size_t a = 0; a < n; a++)
        l->hint[a] = a;
    return CL_OK;
}

/* The "assets" object; the key and ':' already read. */
static cl_err parse_assets(por_ledger *l) {
    CL_TRY(expect(l, TK_LBRACE, "an object for \"assets\""));
    CL_TRY(lex(l));
    size_t cap = 0;
    for (bool more = l->tok.type != TK_RBRACE; more;) {
        token *t = &l->tok;
        if (t->type != TK_STRING) return at_fail(l, t->offset, "expected an asset symbol");
        if (!symbol_valid(t->str, t->truncated ? POR_LEDGER_MAX_SYMBOL + 1 : t->len)) {
            cl_buf b = CL_BUF_INIT;
            append_quoted(&b, t->str, t->len, t->truncated, 40);
            fail(l, CL_ERR_INVALID, "asset %s: a symbol is 1..%d of A-Z a-z 0-9 . _ -",
                 buf_cstr(&b), POR_LEDGER_MAX_SYMBOL);
            buf_free(&b);
            return l->err_code;
        }
        if (l->n_assets == POR_LEDGER_MAX_ASSETS)
            return fail(l, CL_ERR_TOO_LARGE, "more than %d assets", POR_LEDGER_MAX_ASSETS);
        if (l->n_assets == cap) {
            cap = cap ? cap * 2 : 16;
            l->assets = cl_realloc(l->assets, cap * sizeof *l->assets);
        }
        por_asset *x = &l->assets[l->n_assets++];
        *x = (por_asset){0};
        memcpy(x->symbol, t->str, t->len);
        CL_TRY(expect(l, TK_COLON, "':'"));
        CL_TRY(expect(l, TK_LBRACE, "an object for the asset"));
        asset_fields f = {0};
        CL_TRY(parse_asset_fields(l, x->symbol, &f));
        for (int i = 0; i < 3; i++)
            if (!f.have[i])
                return fail(l, CL_ERR_INVALID, "asset %s: %s is missing", x->symbol,
                            asset_field_names[i]);
        x->usdt_decimals = (uint32_t)f.v[0];
        x->balance_decimals = (uint32_t)f.v[1];
        x->price = f.v[2];
        CL_TRY(member_sep(l, TK_RBRACE, &more));
        if (more) CL_TRY(lex(l));
    }
    CL_TRY(finish_assets(l));
    l->have_assets = true;
    return CL_OK;
}

static cl_err parse_timestamp(por_ledger *l) {
    CL_TRY(lex(l));
    token *t = &l->tok;
    if (t->type != TK_NUMBER || !t->is_int || t->overflow || t->num < 0)
        return fail(l, CL_ERR_INVALID, "\"timestamp\" is not a non-negative integer");
    l->timestamp = t->num;
    l->have_ts = true;
    return CL_OK;
}

/* ----------------------------------------------------------- JSON header */

static cl_err open_object(por_ledger *l, const char *what) {
    CL_TRY(skip_bom(l));
    CL_TRY(lex(l));
    if (l->tok.type == TK_EOF) return fail(l, CL_ERR_INVALID, "%s is empty", what);
    if (l->tok.type != TK_LBRACE)
        return at_fail(l, l->tok.offset, "expected '{' (the ledger is a JSON object)");
    return CL_OK;
}

static cl_err expect_eof(por_ledger *l) {
    byte_reader *r = &l->rd;
    int c;
    while ((c = rd_peek(r)) == ' ' || c == '\t' || c == '\n' || c == '\r')
        rd_skip(r);
    if (c >= 0) return at_fail(l, rd_offset(r), "unexpected data after the end of the JSON object");
    return r->io != CL_OK ? eof_fail(l) : CL_OK;
}

/* The first key of the top-level object, or *more = false for '}'. */
static cl_err first_key(por_ledger *l, bool *more) {
    CL_TRY(lex(l));
    *more = l->tok.type != TK_RBRACE;
    if (*more && l->tok.type != TK_STRING) return at_fail(l, l->tok.offset, "expected a key");
    return CL_OK;
}

static cl_err next_key(por_ledger *l, bool *more) {
    CL_TRY(member_sep(l, TK_RBRACE, more));
    if (*more) CL_TRY(expect(l, TK_STRING, "a key"));
    return CL_OK;
}

/* Second pass: skips top-level members up to "accounts" and enters it. */
static cl_err seek_accounts(por_ledger *l) {
    if (l->cfg.source.rewind(l->cfg.source.ctx) != CL_OK)
        return fail(l, CL_ERR_IO, "cannot rewind the ledger for its second pass");
    rd_start(&l->rd, &l->cfg.source);
    l->second_pass = true;
    l->stats.passes = 2;
    CL_TRY(open_object(l, "the ledger"));
    bool more;
    CL_TRY(first_key(l, &more));
    while (more) {
        bool is_accounts = tok_is(&l->tok, "accounts");
        CL_TRY(expect(l, TK_COLON, "':'"));
        if (is_accounts) return expect(l, TK_LBRACE, "an object for \"accounts\"");
        CL_TRY(lex_and_skip(l));
        CL_TRY(next_key(l, &more));
    }
    return fail(l, CL_ERR_INVALID, "the ledger changed between its two passes");
}

/* The top-level object up to the accounts (JSON ledger) or to its end (the CSV
 * assets file, accounts_allowed = false). */
static cl_err json_header(por_ledger *l, bool accounts_allowed, const char *what) {
    bool deferred = false, more;
    CL_TRY(open_object(l, what));
    CL_TRY(first_key(l, &more));
    while (more) {
        token *t = &l->tok;
        bool is_assets = tok_is(t, "assets"), is_ts = tok_is(t, "timestamp");
        bool is_accounts = tok_is(t, "accounts");
        if ((is_assets && l->have_assets) || (is_ts && l->have_ts) ||
            (is_accounts && l->have_accounts))
            return at_fail(l, t->offset, "duplicate top-level key");
        CL_TRY(expect(l, TK_COLON, "':'"));
        if (is_assets) {
            CL_TRY(parse_assets(l));
        } else if (is_ts) {
            CL_TRY(parse_timestamp(l));
        } else if (is_accounts) {
            if (!accounts_allowed)
                return fail(l, CL_ERR_INVALID, "%s must not contain \"accounts\"", what);
            l->have_accounts = true;
            if (l->have_assets && l->have_ts)
                return expect(l, TK_LBRACE, "an object for \"accounts\"");
            if (!l->cfg.source.rewind)
                return fail(l, CL_ERR_INVALID,
                            "\"accounts\" comes before \"assets\" and \"timestamp\" and the input "
                            "cannot be read twice: put \"assets\" and \"timestamp\" first");
            deferred = true;
            CL_TRY(lex_and_skip(l));
        } else {
            CL_TRY(lex_and_skip(l));
        }
        CL_TRY(next_key(l, &more));
    }
    CL_TRY(expect_eof(l));
    if (!l->have_assets) return fail(l, CL_ERR_INVALID, "%s has no \"assets\"", what);
    if (!l->have_ts) return fail(l, CL_ERR_INVALID, "%s has no \"timestamp\"", what);
    if (!accounts_allowed) return CL_OK;
    if (!deferred) return fail(l, CL_ERR_INVALID, "%s has no \"accounts\"", what);
    return seek_accounts(l);
}

/* --------------------------------------------------------- JSON accounts */

static cl_err json_balance(por_ledger *l, size_t a) {
    CL_TRY(lex(l));
    token *t = &l->tok;
    const char *sym = l->assets[a].symbol;
    if (t->type == TK_EOF) return eof_fail(l);
    if (t->type == TK_NUMBER && t->is_int && !t->overflow) {
        l->bal[a] = t->num;
        return CL_OK;
    }
    cl_buf b = CL_BUF_INIT;
    const char *got = tok_desc(l, &b);
    if (t->type == TK_NUMBER && t->overflow)
        acct_fail(l, "asset %s: balance does not fit in a signed 64-bit integer (got %s)", sym,
                  got);
    else
        acct_fail(l, "asset %s: balance is not an integer (got %s)", sym, got);
    buf_free(&b);
    return l->err_code;
}

/* One "HEX": {...} member; l->tok holds the key. */
static cl_err json_account(por_ledger *l, por_account *acc) {
    token *t = &l->tok;
    if (t->type != TK_STRING) return at_fail(l, t->offset, "expected a user hash");
    CL_TRY(take_user_hash(l, t->str, t->len, t->truncated));
    CL_TRY(expect(l, TK_COLON, "':'"));
    CL_TRY(lex(l));
    if (t->type != TK_LBRACE) {
        if (t->type == TK_EOF) return eof_fail(l);
        return acct_fail(l, "balances are not an object");
    }
    start_account(l);
    CL_TRY(lex(l));
    size_t pos = 0;
    for (bool more = t->type != TK_RBRACE; more; pos++) {
        if (t->type != TK_STRING) return at_fail(l, t->offset, "expected an asset symbol");
        ptrdiff_t a = asset_lookup(l, pos, t->str, t->truncated ? TOK_MAX + 1 : t->len);
        if (a < 0) {
            cl_buf b = CL_BUF_INIT;
            append_quoted(&b, t->str, t->len, t->truncated, 40);
            acct_fail(l, "unknown asset %s", buf_cstr(&b));
            buf_free(&b);
            return l->err_code;
        }
        if (l->seen[a] == l->gen)
            return acct_fail(l, "asset %s appears twice", l->assets[a].symbol);
        l->seen[a] = l->gen;
        CL_TRY(expect(l, TK_COLON, "':'"));
        CL_TRY(json_balance(l, (size_t)a));
        CL_TRY(member_sep(l, TK_RBRACE, &more));
        if (more) CL_TRY(lex(l));
    }
    return finish_account(l, acc);
}

/* After the accounts object: the rest of the top level, then the end. */
static cl_err json_tail(por_ledger *l) {
    bool more;
    CL_TRY(member_sep(l, TK_RBRACE, &more));
    while (more) {
        CL_TRY(expect(l, TK_STRING, "a key"));
        bool header = tok_is(&l->tok, "assets") || tok_is(&l->tok, "timestamp") ||
                      tok_is(&l->tok, "accounts");
        if (header && !l->second_pass) return at_fail(l, l->tok.offset, "duplicate top-level key");
        CL_TRY(expect(l, TK_COLON, "':'"));
        CL_TRY(lex_and_skip(l));
        CL_TRY(member_sep(l, TK_RBRACE, &more));
    }
    return expect_eof(l);
}

static cl_err json_next(por_ledger *l, por_account *acc, bool *done) {
    bool more;
    if (l->first_member) {
        l->first_member = false;
        CL_TRY(lex(l));
        more = l->tok.type != TK_RBRACE;
        if (l->tok.type == TK_EOF) return eof_fail(l);
    } else {
        CL_TRY(member_sep(l, TK_RBRACE, &more));
        if (more) CL_TRY(lex(l));
    }
    if (more) return json_account(l, acc);
    CL_TRY(json_tail(l));
    *done = true;
    return CL_OK;
}

/* ------------------------------------------------------------------- CSV */

typedef enum { CELL_COMMA, CELL_EOL, CELL_EOF } cell_end;

typedef struct {
    cell_end end;
    bool int_shape; /* -?[0-9]+ over the whole cell, even past what was kept */
} cell_info;

/* One cell into l->tok.str (TOK_MAX kept). */
static cl_err csv_cell(por_ledger *l, cell_info *ci) {
    byte_reader *r = &l->rd;
    token *t = &l->tok;
    t->len = 0;
    t->truncated = false;
    ci->int_shape = true;
    for (size_t n = 0;; n++) {
        int c = rd_peek(r);
        if (c < 0) {
            if (r->io != CL_OK) return eof_fail(l);
            ci->end = CELL_EOF;
            break;
        }
        rd_skip(r);
        if (c == ',') {
            ci->end = CELL_COMMA;
            break;
        }
        if (c == '\n') {
            ci->end = CELL_EOL;
            break;
        }
        if (c == '\r') {
            if (rd_peek(r) != '\n')
                return fail(l, CL_ERR_INVALID,
                            "line %llu: carriage return not followed by a line feed",
                            (unsigned long long)l->line);
            rd_skip(r);
            ci->end = CELL_EOL;
            break;
        }
        if (c == '"')
            return fail(l, CL_ERR_INVALID, "line %llu: quoted fields are not supported",
                        (unsigned long long)l->line);
        if (!(is_digit(c) || (c == '-' && n == 0))) ci->int_shape = false;
        tok_put(l, (uint8_t)c, TOK_MAX);
    }
    if (t->len == 1 && t->str[0] == '-') ci->int_shape = false;
    return CL_OK;
}

/* The header row: "id" then every asset once. */
static cl_err csv_header(por_ledger *l) {
    cell_info ci;
    CL_TRY(skip_bom(l));
    l->line = 1;
    if (rd_peek(&l->rd) < 0) {
        if (l->rd.io != CL_OK) return eof_fail(l);
        return fail(l, CL_ERR_INVALID, "the ledger is empty");
    }
    CL_TRY(csv_cell(l, &ci));
    if (!tok_is(&l->tok, "id"))
        return fail(l, CL_ERR_INVALID, "line 1: the first column must be \"id\"");
    l->col_asset = cl_calloc(l->n_assets, sizeof *l->col_asset);
    start_account(l); /* seen[] marks assets that have a column */
    size_t cols = 0;
    while (ci.end == CELL_COMMA) {
        CL_TRY(csv_cell(l, &ci));
        token *t = &l->tok;
        ptrdiff_t a = t->truncated ? -1 : asset_find(l, t->str, t->len);
        if (a < 0) {
            cl_buf b = CL_BUF_INIT;
            append_quoted(&b, t->str, t->len, t->truncated, 40);
            fail(l, CL_ERR_INVALID, "line 1: column %zu: unknown asset %s (not in the assets file)",
                 cols + 2, buf_cstr(&b));
            buf_free(&b);
            return l->err_code;
        }
        if (l->seen[a] == l->gen)
            return fail(l, CL_ERR_INVALID, "line 1: asset %s has two columns", l->assets[a].symbol);
        l->seen[a] = l->gen;
        l->col_asset[cols++] = (size_t)a;
    }
    for (size_t a = 0; a < l->n_assets; a++)
        if (l->seen[a] != l->gen)
            return fail(l, CL_ERR_INVALID, "line 1: asset %s has no column", l->assets[a].symbol);
    return CL_OK;
}

/* Parses a CSV integer cell already known to be int-shaped. */
static bool csv_int(const token *t, int64_t *out) {
    if (t->truncated) return false;
    const uint64_t cap = (uint64_t)INT64_MAX + 1;
    bool neg = t->str[0] == '-';
    uint64_t mag = 0;
    for (size_t i = neg; i < t->len; i++) {
        uint64_t d = (uint64_t)(t->str[i] - '0');
        if (mag > (cap - d) / 10) return false;
        mag = mag * 10 + d;
    }
    if (!neg && mag == cap) return false;
    *out = neg ? (mag == cap ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
    return true;
}

static cl_err csv_balance(por_ledger *l, size_t col, cell_info *ci) {
    size_t a = l->col_asset[col];
    const char *sym = l->assets[a].symbol;
    CL_TRY(csv_cell(l, ci));
    token *t = &l->tok;
    if (t->len == 0) return acct_fail(l, "asset %s: balance is missing", sym);
    if (!ci->int_shape || !csv_int(t, &l->bal[a])) {
        cl_buf b = CL_BUF_INIT;
        append_quoted(&b, t->str, t->len, t->truncated, 40);
        acct_fail(l,
                  ci->int_shape
                      ? "asset %s: balance does not fit in a signed 64-bit integer (got %s)"
                      : "asset %s: balance is not an integer (got %s)",
                  sym, buf_cstr(&b));
        buf_free(&b);
        return l->err_code;
    }
    l->seen[a] = l->gen;
    return CL_OK;
}

static cl_err csv_next(por_ledger *l, por_account *acc, bool *done) {
    if (rd_peek(&l->rd) < 0) {
        if (l->rd.io != CL_OK) return eof_fail(l);
        *done = true;
        return CL_OK;
    }
    l->line++;
    cell_info ci;
    CL_TRY(csv_cell(l, &ci));
    token *t = &l->tok;
    if (t->len == 0 && ci.end != CELL_COMMA)
        return fail(l, CL_ERR_INVALID, "line %llu: empty line", (unsigned long long)l->line);
    CL_TRY(take_user_hash(l, t->str, t->len, t->truncated));
    start_account(l);
    size_t want = l->n_assets + 1;
    for (size_t col = 0; col < l->n_assets; col++) {
        if (ci.end != CELL_COMMA)
            return acct_fail(l, "expected %zu fields, found %zu", want, col + 1);
        CL_TRY(csv_balance(l, col, &ci));
    }
    if (ci.end == CELL_COMMA) return acct_fail(l, "more than %zu fields", want);
    return finish_account(l, acc);
}

/* ------------------------------------------------------------ public API */

por_ledger *por_ledger_new(const por_ledger_config *cfg) {
    por_ledger *l = cl_calloc(1, sizeof *l);
    l->cfg = *cfg;
    size_t chunk = cfg->chunk_size ? cfg->chunk_size : POR_LEDGER_DEFAULT_CHUNK;
    l->rd.buf = cl_malloc(chunk);
    l->rd.cap = chunk;
    l->rd.bytes_read = &l->stats.bytes_read;
    l->stats.chunk_size = chunk;
    hs_init(&l->users);
    return l;
}

cl_err por_ledger_open_file(por_ledger **out, const char *path, const char *assets_path) {
    por_ledger_config cfg = {.format = por_ledger_format_for_path(path)};
    cl_err e = por_source_file(&cfg.source, path);
    int err = errno;
    cl_err ea = CL_OK;
    if (e == CL_OK && assets_path && cfg.format == POR_LEDGER_CSV)
        ea = por_source_file(&cfg.assets, assets_path);
    int erra = errno;
    *out = por_ledger_new(&cfg);
    if (e != CL_OK) return fail(*out, e, "cannot open %s: %s", path, strerror(err));
    if (ea != CL_OK) return fail(*out, ea, "cannot open %s: %s", assets_path, strerror(erra));
    return CL_OK;
}

cl_err por_ledger_begin(por_ledger *l) {
    if (l->st == ST_FAILED) return l->err_code;
    if (l->st != ST_NEW) return CL_OK;
    l->stats.passes = 1;
    if (!l->cfg.source.read) return fail(l, CL_ERR_INVALID, "no ledger input");
    if (l->cfg.format == POR_LEDGER_CSV) {
        if (!l->cfg.assets.read)
            return fail(l, CL_ERR_INVALID, "a CSV ledger needs an assets file (prices, decimals)");
        rd_start(&l->rd, &l->cfg.assets);
        CL_TRY(json_header(l, false, "the assets file"));
        rd_start(&l->rd, &l->cfg.source);
        CL_TRY(csv_header(l));
    } else {
        if (l->cfg.assets.read)
            return fail(l, CL_ERR_INVALID, "an assets file is only for CSV ledgers");
        rd_start(&l->rd, &l->cfg.source);
        CL_TRY(json_header(l, true, "the ledger"));
        l->first_member = true;
    }
    l->st = ST_ACCOUNTS;
    return CL_OK;
}

cl_err por_ledger_next(por_ledger *l, por_account *acc, bool *done) {
    *done = false;
    CL_TRY(por_ledger_begin(l));
    if (l->st == ST_DONE) {
        *done = true;
        return CL_OK;
    }
    if (l->cfg.format == POR_LEDGER_CSV)
        CL_TRY(csv_next(l, acc, done));
    else
        CL_TRY(json_next(l, acc, done));
    if (*done) {
        if (l->count == 0) return fail(l, CL_ERR_INVALID, "the ledger has no accounts");
        l->st = ST_DONE;
    }
    return CL_OK;
}

const char *por_ledger_error(const por_ledger *l) {
    return l->err.len ? (const char *)l->err.ptr : "";
}

size_t por_ledger_asset_count(const por_ledger *l) {
    return l->have_assets ? l->n_assets : 0;
}

const por_asset *por_ledger_assets(const por_ledger *l) {
    return l->assets;
}

int64_t por_ledger_timestamp(const por_ledger *l) {
    return l->timestamp;
}

uint32_t por_ledger_equity_decimals(const por_ledger *l) {
    return l->equity_decimals;
}

uint64_t por_ledger_count(const por_ledger *l) {
    return l->count;
}

const por_i128 *por_ledger_totals(const por_ledger *l) {
    return l->totals;
}

por_ledger_stats por_ledger_get_stats(const por_ledger *l) {
    por_ledger_stats s = l->stats;
    s.hashset_bytes = l->users.cap * sizeof(uint64_t) + l->users.arena.cap;
    s.hashset_count = l->users.count;
    return s;
}

void por_ledger_free(por_ledger *l) {
    if (!l) return;
    source_close(&l->cfg.source);
    source_close(&l->cfg.assets);
    free(l->rd.buf);
    buf_free(&l->err);
    free(l->assets);
    free(l->bal);
    free(l->seen);
    free(l->hint);
    free(l->totals);
    free(l->col_asset);
    hs_free(&l->users);
    free(l);
}

char *por_i128_format(por_i128 v, char out[41]) {
    char tmp[41];
    size_t n = 0;
    unsigned __int128 m = v < 0 ? -(unsigned __int128)v : (unsigned __int128)v;
    do {
        tmp[n++] = (char)('0' + (int)(m % 10));
        m /= 10;
    } while (m);
    size_t o = 0;
    if (v < 0) out[o++] = '-';
    while (n)
        out[o++] = tmp[--n];
    out[o] = 0;
    return out;
}
