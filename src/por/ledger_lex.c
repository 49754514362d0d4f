/* ledger_lex.c — the lower half of the streaming ledger reader (ledger.h):
 * byte sources over files and memory, the byte reader with one fixed chunk
 * buffer, the set of user hashes for the duplicate check, error reporting
 * (the first error sticks; messages name the account and field, or the byte
 * offset), and the JSON tokenizer that keeps at most TOK_MAX decoded bytes of a
 * token (numbers are converted digit by digit). The grammar is in ledger.c. */
#include "por/ledger_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

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

void lg_source_close(por_source *s) {
    if (s->close) s->close(s->ctx);
    *s = (por_source){0};
}

por_ledger_format por_ledger_format_for_path(const char *path) {
    size_t n = strlen(path);
    return n >= 4 && slice_case_eq_cstr(slice_of(path + n - 4, 4), ".csv") ? POR_LEDGER_CSV
                                                                           : POR_LEDGER_JSON;
}

int lg_rd_peek_slow(byte_reader *r) {
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

void lg_hs_init(hashset *s) {
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
bool lg_hs_insert(hashset *s, const uint8_t *p, size_t n) {
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

void lg_hs_free(hashset *s) {
    free(s->slots);
    buf_free(&s->arena);
    *s = (hashset){0};
}

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

__attribute__((format(printf, 3, 4))) cl_err lg_fail(por_ledger *l, cl_err e, const char *fmt,
                                                     ...) {
    va_list ap;
    va_start(ap, fmt);
    vfail(l, e, fmt, ap);
    va_end(ap);
    return l->err_code;
}

/* An error about the current account: "account X: ..." / "line N (account X): ...". */
__attribute__((format(printf, 2, 3))) cl_err lg_acct_fail(por_ledger *l, const char *fmt, ...) {
    cl_buf b = CL_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vappendf(&b, fmt, ap);
    va_end(ap);
    lg_fail(l, CL_ERR_INVALID, "%s: %s", l->label, buf_cstr(&b));
    buf_free(&b);
    return l->err_code;
}

cl_err lg_at_fail(por_ledger *l, uint64_t off, const char *what) {
    return lg_fail(l, CL_ERR_INVALID, "at byte %llu: %s", (unsigned long long)off, what);
}

cl_err lg_eof_fail(por_ledger *l) {
    if (l->rd.io != CL_OK)
        return lg_fail(l, l->rd.io, "read error after byte %llu",
                       (unsigned long long)rd_offset(&l->rd));
    return lg_at_fail(l, rd_offset(&l->rd), "unexpected end of input (truncated file?)");
}

/* Appends s (n bytes) quoted, with non-printable bytes as \xNN. */
void lg_append_quoted(cl_buf *b, const char *s, size_t n, bool truncated, size_t max) {
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
const char *lg_tok_desc(por_ledger *l, cl_buf *b) {
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
        lg_append_quoted(b, t->str, t->len, t->truncated, 40);
        return buf_cstr(b);
    }
    return "?";
}

/* ------------------------------------------------------------- tokenizer */

void lg_tok_put(por_ledger *l, uint8_t c, size_t max) {
    token *t = &l->tok;
    if (t->len < max) {
        t->str[t->len++] = (char)c;
        if (t->len > l->stats.max_token) l->stats.max_token = t->len;
    } else {
        t->truncated = true;
    }
}

int lg_hex_val(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static cl_err lex_u4(por_ledger *l, uint32_t *out) {
    *out = 0;
    for (int i = 0; i < 4; i++) {
        int c = rd_peek(&l->rd), v = c < 0 ? -1 : lg_hex_val(c);
        if (c < 0) return lg_eof_fail(l);
        if (v < 0) return lg_at_fail(l, rd_offset(&l->rd), "bad \\u escape in a string");
        *out = *out << 4 | (uint32_t)v;
        rd_skip(&l->rd);
    }
    return CL_OK;
}

static void tok_put_utf8(por_ledger *l, uint32_t cp) {
    if (cp < 0x80) {
        lg_tok_put(l, (uint8_t)cp, TOK_MAX);
    } else if (cp < 0x800) {
        lg_tok_put(l, (uint8_t)(0xc0 | cp >> 6), TOK_MAX);
        lg_tok_put(l, (uint8_t)(0x80 | (cp & 0x3f)), TOK_MAX);
    } else if (cp < 0x10000) {
        lg_tok_put(l, (uint8_t)(0xe0 | cp >> 12), TOK_MAX);
        lg_tok_put(l, (uint8_t)(0x80 | ((cp >> 6) & 0x3f)), TOK_MAX);
        lg_tok_put(l, (uint8_t)(0x80 | (cp & 0x3f)), TOK_MAX);
    } else {
        lg_tok_put(l, (uint8_t)(0xf0 | cp >> 18), TOK_MAX);
        lg_tok_put(l, (uint8_t)(0x80 | ((cp >> 12) & 0x3f)), TOK_MAX);
        lg_tok_put(l, (uint8_t)(0x80 | ((cp >> 6) & 0x3f)), TOK_MAX);
        lg_tok_put(l, (uint8_t)(0x80 | (cp & 0x3f)), TOK_MAX);
    }
}

static cl_err lex_escape(por_ledger *l) {
    byte_reader *r = &l->rd;
    int c = rd_peek(r);
    if (c < 0) return lg_eof_fail(l);
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *p = c ? strchr(from, c) : NULL;
    rd_skip(r);
    if (p) {
        lg_tok_put(l, (uint8_t)to[p - from], TOK_MAX);
        return CL_OK;
    }
    if (c != 'u') return lg_at_fail(l, rd_offset(r) - 1, "bad escape in a string");
    uint32_t cp, lo;
    CL_TRY(lex_u4(l, &cp));
    if (cp >= 0xdc00 && cp <= 0xdfff)
        return lg_at_fail(l, rd_offset(r), "lone low surrogate in a string");
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (rd_peek(r) != '\\')
            return lg_at_fail(l, rd_offset(r), "lone high surrogate in a string");
        rd_skip(r);
        if (rd_peek(r) != 'u')
            return lg_at_fail(l, rd_offset(r), "lone high surrogate in a string");
        rd_skip(r);
        CL_TRY(lex_u4(l, &lo));
        if (lo < 0xdc00 || lo > 0xdfff)
            return lg_at_fail(l, rd_offset(r), "lone high surrogate in a string");
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
        if (c < 0) return lg_eof_fail(l);
        rd_skip(r);
        if (c == '"') return CL_OK;
        if (c < 0x20) return lg_at_fail(l, rd_offset(r) - 1, "control character in a string");
        if (c == '\\')
            CL_TRY(lex_escape(l));
        else
            lg_tok_put(l, (uint8_t)c, TOK_MAX);
    }
}

bool lg_is_digit(int c) {
    return c >= '0' && c <= '9';
}

/* Consumes digits (at least one), into the text; returns false if none. */
static bool lex_digits(por_ledger *l) {
    bool any = false;
    for (int c; lg_is_digit(c = rd_peek(&l->rd)); any = true) {
        lg_tok_put(l, (uint8_t)c, NUM_TEXT_MAX);
        rd_skip(&l->rd);
    }
    return any;
}

/* JSON number grammar; the integer value is accumulated as digits arrive. */
static cl_err lex_number(por_ledger *l) {
    byte_reader *r = &l->rd;
    token *t = &l->tok;
    const por_u128 cap = (por_u128)1 << 127;
    por_u128 mag = 0;
    bool neg = rd_peek(r) == '-';
    if (neg) {
        lg_tok_put(l, '-', NUM_TEXT_MAX);
        rd_skip(r);
    }
    int c = rd_peek(r);
    if (!lg_is_digit(c)) return lg_at_fail(l, t->offset, "invalid number");
    if (c == '0') {
        lg_tok_put(l, '0', NUM_TEXT_MAX);
        rd_skip(r);
        if (lg_is_digit(rd_peek(r))) return lg_at_fail(l, t->offset, "number with a leading zero");
    } else {
        for (; lg_is_digit(c = rd_peek(r)); rd_skip(r)) {
            lg_tok_put(l, (uint8_t)c, NUM_TEXT_MAX);
            unsigned d = (unsigned)(c - '0');
            if (mag > (cap - d) / 10)
                t->overflow128 = true;
            else if (!t->overflow128)
                mag = mag * 10 + d;
        }
    }
    t->is_int = true;
    if (rd_peek(r) == '.') {
        t->is_int = false;
        lg_tok_put(l, '.', NUM_TEXT_MAX);
        rd_skip(r);
        if (!lex_digits(l)) return lg_at_fail(l, t->offset, "invalid number");
    }
    c = rd_peek(r);
    if (c == 'e' || c == 'E') {
        t->is_int = false;
        lg_tok_put(l, (uint8_t)c, NUM_TEXT_MAX);
        rd_skip(r);
        c = rd_peek(r);
        if (c == '+' || c == '-') {
            lg_tok_put(l, (uint8_t)c, NUM_TEXT_MAX);
            rd_skip(r);
        }
        if (!lex_digits(l)) return lg_at_fail(l, t->offset, "invalid number");
    }
    if (!neg && mag == cap) t->overflow128 = true;
    if (!t->overflow128)
        t->num128 = neg ? (por_i128)(-mag) : (por_i128)mag; /* -2^127 wraps to itself */
    t->overflow = t->overflow128 || t->num128 < INT64_MIN || t->num128 > INT64_MAX;
    if (!t->overflow) t->num = (int64_t)t->num128;
    return CL_OK;
}

static cl_err lex_literal(por_ledger *l, const char *word, tk_type type) {
    for (const char *p = word; *p; p++) {
        if (rd_peek(&l->rd) != *p) return lg_at_fail(l, l->tok.offset, "invalid literal");
        rd_skip(&l->rd);
    }
    l->tok.type = type;
    return CL_OK;
}

/* The next token into l->tok. */
cl_err lg_lex(por_ledger *l) {
    byte_reader *r = &l->rd;
    token *t = &l->tok;
    int c;
    while ((c = rd_peek(r)) == ' ' || c == '\t' || c == '\n' || c == '\r')
        rd_skip(r);
    t->offset = rd_offset(r);
    t->len = 0;
    t->truncated = t->is_int = t->overflow = t->overflow128 = false;
    t->num = 0;
    t->num128 = 0;
    static const char punct[] = "{}[]:,";
    static const tk_type ptype[] = {TK_LBRACE,   TK_RBRACE, TK_LBRACKET,
                                    TK_RBRACKET, TK_COLON,  TK_COMMA};
    if (c < 0) {
        t->type = TK_EOF;
        return r->io != CL_OK ? lg_eof_fail(l) : CL_OK;
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
    if (c == '-' || lg_is_digit(c)) {
        t->type = TK_NUMBER;
        return lex_number(l);
    }
    if (c == 't') return lex_literal(l, "true", TK_TRUE);
    if (c == 'f') return lex_literal(l, "false", TK_FALSE);
    if (c == 'n') return lex_literal(l, "null", TK_NULL);
    char what[64];
    snprintf(what, sizeof what, "unexpected byte 0x%02x", c);
    return lg_at_fail(l, t->offset, what);
}

/* Lexes and requires `type`; `what` names it for the message. */
cl_err lg_expect(por_ledger *l, tk_type type, const char *what) {
    CL_TRY(lg_lex(l));
    if (l->tok.type == type) return CL_OK;
    if (l->tok.type == TK_EOF) return lg_eof_fail(l);
    cl_buf b = CL_BUF_INIT;
    cl_buf m = CL_BUF_INIT;
    buf_appendf(&m, "expected %s, found %s", what, lg_tok_desc(l, &b));
    lg_at_fail(l, l->tok.offset, buf_cstr(&m));
    buf_free(&b);
    buf_free(&m);
    return l->err_code;
}

/* After a member: lexes ',' (returns true) or the closing `close` (false). */
cl_err lg_member_sep(por_ledger *l, tk_type close, bool *more) {
    CL_TRY(lg_lex(l));
    if (l->tok.type == TK_COMMA || l->tok.type == close) {
        *more = l->tok.type == TK_COMMA;
        return CL_OK;
    }
    if (l->tok.type == TK_EOF) return lg_eof_fail(l);
    return lg_at_fail(l, l->tok.offset,
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
        return lg_eof_fail(l);
    default:
        return lg_at_fail(l, l->tok.offset, "expected a value");
    }
    if (depth >= SKIP_MAX_DEPTH) return lg_at_fail(l, l->tok.offset, "nesting too deep");
    CL_TRY(lg_lex(l));
    if (l->tok.type == close) return CL_OK;
    for (bool more = true; more;) {
        if (open == TK_LBRACE) {
            if (l->tok.type != TK_STRING) return lg_at_fail(l, l->tok.offset, "expected a key");
            CL_TRY(lg_expect(l, TK_COLON, "':'"));
            CL_TRY(lg_lex(l));
        }
        CL_TRY(skip_value(l, depth + 1));
        CL_TRY(lg_member_sep(l, close, &more));
        if (more) CL_TRY(lg_lex(l));
    }
    return CL_OK;
}

cl_err lg_lex_and_skip(por_ledger *l) {
    CL_TRY(lg_lex(l));
    return skip_value(l, 0);
}

/* Skips a UTF-8 byte order mark at the start of a source. */
cl_err lg_skip_bom(por_ledger *l) {
    static const uint8_t bom[3] = {0xef, 0xbb, 0xbf};
    if (rd_peek(&l->rd) != bom[0]) return CL_OK;
    for (int i = 0; i < 3; i++) {
        if (rd_peek(&l->rd) != bom[i]) return lg_at_fail(l, rd_offset(&l->rd), "invalid byte");
        rd_skip(&l->rd);
    }
    return CL_OK;
}
