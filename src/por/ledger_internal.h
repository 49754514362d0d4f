/* ledger_internal.h — what the two files of the ledger reader share:
 * ledger_lex.c (byte sources, the byte reader, the user-hash set, error
 * reporting and the JSON tokenizer) and ledger.c (the ledger grammar, JSON
 * and CSV, and the public API of ledger.h). Not for other files. */
#ifndef CLOISTER_POR_LEDGER_INTERNAL_H
#define CLOISTER_POR_LEDGER_INTERNAL_H

#include "por/ledger.h"

#include <stdarg.h>

#define TOK_MAX 256       /* decoded bytes kept of a string token */
#define NUM_TEXT_MAX 40   /* bytes of a number kept for messages */
#define SKIP_MAX_DEPTH 64 /* nesting allowed inside skipped values */
#define LABEL_MAX 320

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
    bool truncated;   /* more bytes than kept */
    bool is_int;      /* number without fraction or exponent */
    bool overflow;    /* integer outside int64 */
    bool overflow128; /* integer outside [-2^127, 2^127) */
    int64_t num;
    por_i128 num128; /* the integer when !overflow128 */
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

    por_i128 *bal;
    uint32_t *seen; /* seen[a] == gen: asset a already set in this account */
    uint32_t gen;
    size_t *hint; /* asset index at each position of the previous account */
    por_u128 *max_eq, *max_debt;
    uint64_t count;
    bool first_member;
    hashset users;
    uint8_t user[POR_LEDGER_MAX_USER_HASH];
    size_t user_len;
    char label[LABEL_MAX]; /* "account HEX" or "line N (account HEX)" */

    size_t *col_asset; /* CSV: asset of column i+1 */
    uint64_t line;
};

/* ---- ledger_lex.c ---- */
void lg_source_close(por_source *s);
void lg_hs_init(hashset *s);
bool lg_hs_insert(hashset *s, const uint8_t *p, size_t n);
void lg_hs_free(hashset *s);
__attribute__((format(printf, 3, 4))) cl_err lg_fail(por_ledger *l, cl_err e, const char *fmt, ...);
__attribute__((format(printf, 2, 3))) cl_err lg_acct_fail(por_ledger *l, const char *fmt, ...);
cl_err lg_at_fail(por_ledger *l, uint64_t off, const char *what);
cl_err lg_eof_fail(por_ledger *l);
void lg_append_quoted(cl_buf *b, const char *s, size_t n, bool truncated, size_t max);
const char *lg_tok_desc(por_ledger *l, cl_buf *b);
void lg_tok_put(por_ledger *l, uint8_t c, size_t max);
int lg_hex_val(int c);
bool lg_is_digit(int c);
cl_err lg_lex(por_ledger *l);
cl_err lg_expect(por_ledger *l, tk_type type, const char *what);
cl_err lg_member_sep(por_ledger *l, tk_type close, bool *more);
cl_err lg_lex_and_skip(por_ledger *l);
cl_err lg_skip_bom(por_ledger *l);
int lg_rd_peek_slow(byte_reader *r);

static inline void rd_start(byte_reader *r, por_source *src) {
    r->src = src;
    r->len = r->pos = 0;
    r->base = 0;
    r->eof = src->read == NULL;
    r->io = CL_OK;
}

/* The next byte, or -1 at the end of input (or after a read error). */
static inline int rd_peek(byte_reader *r) {
    return r->pos < r->len ? r->buf[r->pos] : lg_rd_peek_slow(r);
}

static inline void rd_skip(byte_reader *r) {
    r->pos++;
}

static inline uint64_t rd_offset(const byte_reader *r) {
    return r->base + r->pos;
}

#endif
