/* ledger.c — the streaming ledger reader of ledger.h, upper half: a
 * recursive-descent reader of the fixed ledger grammar (assets, timestamp,
 * accounts) over the JSON tokenizer of ledger_lex.c, the CSV row reader, and
 * the public API. The byte reader, tokenizer, user-hash set and error
 * reporting are in ledger_lex.c.
 *
 * It is hand-written rather than jansson because a DOM of a 1 GB ledger would
 * need several GB: jansson's callback loader streams the bytes in but still
 * builds the whole value, and the accounts object is one value. The grammar is fixed and small
 * (depth 3), so a pull tokenizer plus one function per level reads as the format reads.
 *
 * Messages name the account and field (ledger.h); syntax errors name the byte
 * offset, since a JSON ledger is often one line. The first error sticks. */
#include "por/ledger_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --------------------------------------------------------------- helpers */

#define BALANCE_RANGE_MSG "balance out of range: must be in [-2^127, 2^127)"

static bool tok_is(const token *t, const char *s) {
    return !t->truncated && t->len == strlen(s) && memcmp(t->str, s, t->len) == 0;
}

static bool symbol_valid(const char *s, size_t n) {
    if (n == 0 || n > POR_LEDGER_MAX_SYMBOL) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || lg_is_digit(c) || c == '.' ||
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
        plain = lg_hex_val((uint8_t)s[i]) >= 0;
    if (plain)
        buf_append(&b, s, n);
    else
        lg_append_quoted(&b, s, n, truncated, 2 * POR_LEDGER_MAX_USER_HASH);
    if (l->cfg.format == POR_LEDGER_CSV) buf_append_byte(&b, ')');
    snprintf(l->label, sizeof l->label, "%s", buf_cstr(&b));
    buf_free(&b);
}

/* Decodes the user hash in s, checks it is new, and sets the label. */
static cl_err take_user_hash(por_ledger *l, const char *s, size_t n, bool truncated) {
    set_label(l, s, n, truncated);
    if (n == 0) return lg_acct_fail(l, "user hash is empty");
    if (truncated || n > 2 * POR_LEDGER_MAX_USER_HASH)
        return lg_acct_fail(l, "user hash is longer than %d bytes (%d hex digits)",
                            POR_LEDGER_MAX_USER_HASH, 2 * POR_LEDGER_MAX_USER_HASH);
    if (n % 2) return lg_acct_fail(l, "user hash has an odd number of hex digits");
    for (size_t i = 0; i < n / 2; i++) {
        int hi = lg_hex_val((uint8_t)s[2 * i]), lo = lg_hex_val((uint8_t)s[2 * i + 1]);
        if (hi < 0 || lo < 0) return lg_acct_fail(l, "user hash is not hex");
        l->user[i] = (uint8_t)(hi << 4 | lo);
    }
    l->user_len = n / 2;
    if (!lg_hs_insert(&l->users, l->user, l->user_len))
        return lg_acct_fail(l, "duplicate user hash (the same account appears earlier)");
    return CL_OK;
}

static void start_account(por_ledger *l) {
    if (++l->gen == 0) {
        memset(l->seen, 0, l->n_assets * sizeof *l->seen);
        l->gen = 1;
    }
}

/* Every asset set, then folded into the per-asset maxima. */
static cl_err finish_account(por_ledger *l, por_account *acc) {
    for (size_t a = 0; a < l->n_assets; a++)
        if (l->seen[a] != l->gen)
            return lg_acct_fail(l, "asset %s is missing", l->assets[a].symbol);
    for (size_t a = 0; a < l->n_assets; a++) {
        por_i128 b = l->bal[a];
        por_u128 eq = b > 0 ? (por_u128)b : 0, debt = b < 0 ? -(por_u128)b : 0;
        if (eq > l->max_eq[a]) l->max_eq[a] = eq;
        if (debt > l->max_debt[a]) l->max_debt[a] = debt;
    }
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
    CL_TRY(lg_lex(l));
    if (l->tok.type == TK_RBRACE) return CL_OK;
    for (bool more = true; more;) {
        if (l->tok.type != TK_STRING) return lg_at_fail(l, l->tok.offset, "expected a key");
        int which = -1;
        for (int i = 0; i < 3; i++)
            if (tok_is(&l->tok, asset_field_names[i])) which = i;
        CL_TRY(lg_expect(l, TK_COLON, "':'"));
        if (which < 0) {
            CL_TRY(lg_lex_and_skip(l));
        } else {
            const char *name = asset_field_names[which];
            if (f->have[which])
                return lg_fail(l, CL_ERR_INVALID, "asset %s: %s appears twice", sym, name);
            CL_TRY(lg_lex(l));
            token *t = &l->tok;
            if (t->type != TK_NUMBER || !t->is_int || t->overflow)
                return lg_fail(l, CL_ERR_INVALID, "asset %s: %s is not an integer", sym, name);
            bool ok = which == 2 ? t->num >= 0 : t->num >= 0 && t->num <= POR_LEDGER_MAX_DECIMALS;
            if (!ok)
                return lg_fail(l, CL_ERR_INVALID, "asset %s: %s %lld is out of range (%s)", sym,
                               name, (long long)t->num,
                               which == 2 ? "must be 0..2^63-1" : "must be 0..18");
            f->v[which] = t->num;
            f->have[which] = true;
        }
        CL_TRY(lg_member_sep(l, TK_RBRACE, &more));
        if (more) CL_TRY(lg_lex(l));
    }
    return CL_OK;
}

static int asset_cmp(const void *a, const void *b) {
    const por_asset *x = a, *y = b;
    return strcmp(x->symbol, y->symbol);
}

/* Sorts, checks duplicates and usdt_decimals, computes weights. */
static cl_err finish_assets(por_ledger *l) {
    if (l->n_assets == 0) return lg_fail(l, CL_ERR_INVALID, "\"assets\" is empty");
    qsort(l->assets, l->n_assets, sizeof *l->assets, asset_cmp);
    uint32_t dmax = 0;
    for (size_t a = 0; a < l->n_assets; a++) {
        const por_asset *x = &l->assets[a];
        if (a && strcmp(x->symbol, l->assets[a - 1].symbol) == 0)
            return lg_fail(l, CL_ERR_INVALID, "asset %s appears twice in \"assets\"", x->symbol);
        if (x->usdt_decimals != l->assets[0].usdt_decimals)
            return lg_fail(l, CL_ERR_INVALID,
                           "asset %s: usdt_decimals %u differs from %u (asset %s)", x->symbol,
                           x->usdt_decimals, l->assets[0].usdt_decimals, l->assets[0].symbol);
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
    l->max_eq = cl_calloc(n, sizeof *l->max_eq);
    l->max_debt = cl_calloc(n, sizeof *l->max_debt);
    for (size_t a = 0; a < n; a++)
        l->hint[a] = a;
    return CL_OK;
}

/* The "assets" object; the key and ':' already read. */
static cl_err parse_assets(por_ledger *l) {
    CL_TRY(lg_expect(l, TK_LBRACE, "an object for \"assets\""));
    CL_TRY(lg_lex(l));
    size_t cap = 0;
    for (bool more = l->tok.type != TK_RBRACE; more;) {
        token *t = &l->tok;
        if (t->type != TK_STRING) return lg_at_fail(l, t->offset, "expected an asset symbol");
        if (!symbol_valid(t->str, t->truncated ? POR_LEDGER_MAX_SYMBOL + 1 : t->len)) {
            cl_buf b = CL_BUF_INIT;
            lg_append_quoted(&b, t->str, t->len, t->truncated, 40);
            lg_fail(l, CL_ERR_INVALID, "asset %s: a symbol is 1..%d of A-Z a-z 0-9 . _ -",
                    buf_cstr(&b), POR_LEDGER_MAX_SYMBOL);
            buf_free(&b);
            return l->err_code;
        }
        if (l->n_assets == POR_LEDGER_MAX_ASSETS)
            return lg_fail(l, CL_ERR_TOO_LARGE, "more than %d assets", POR_LEDGER_MAX_ASSETS);
        if (l->n_assets == cap) {
            cap = cap ? cap * 2 : 16;
            l->assets = cl_realloc(l->assets, cap * sizeof *l->assets);
        }
        por_asset *x = &l->assets[l->n_assets++];
        *x = (por_asset){0};
        memcpy(x->symbol, t->str, t->len);
        CL_TRY(lg_expect(l, TK_COLON, "':'"));
        CL_TRY(lg_expect(l, TK_LBRACE, "an object for the asset"));
        asset_fields f = {0};
        CL_TRY(parse_asset_fields(l, x->symbol, &f));
        for (int i = 0; i < 3; i++)
            if (!f.have[i])
                return lg_fail(l, CL_ERR_INVALID, "asset %s: %s is missing", x->symbol,
                               asset_field_names[i]);
        x->usdt_decimals = (uint32_t)f.v[0];
        x->balance_decimals = (uint32_t)f.v[1];
        x->price = f.v[2];
        CL_TRY(lg_member_sep(l, TK_RBRACE, &more));
        if (more) CL_TRY(lg_lex(l));
    }
    CL_TRY(finish_assets(l));
    l->have_assets = true;
    return CL_OK;
}

static cl_err parse_timestamp(por_ledger *l) {
    CL_TRY(lg_lex(l));
    token *t = &l->tok;
    if (t->type != TK_NUMBER || !t->is_int || t->overflow || t->num < 0)
        return lg_fail(l, CL_ERR_INVALID, "\"timestamp\" is not a non-negative integer");
    l->timestamp = t->num;
    l->have_ts = true;
    return CL_OK;
}

/* ----------------------------------------------------------- JSON header */

static cl_err open_object(por_ledger *l, const char *what) {
    CL_TRY(lg_skip_bom(l));
    CL_TRY(lg_lex(l));
    if (l->tok.type == TK_EOF) return lg_fail(l, CL_ERR_INVALID, "%s is empty", what);
    if (l->tok.type != TK_LBRACE)
        return lg_at_fail(l, l->tok.offset, "expected '{' (the ledger is a JSON object)");
    return CL_OK;
}

static cl_err expect_eof(por_ledger *l) {
    byte_reader *r = &l->rd;
    int c;
    while ((c = rd_peek(r)) == ' ' || c == '\t' || c == '\n' || c == '\r')
        rd_skip(r);
    if (c >= 0)
        return lg_at_fail(l, rd_offset(r), "unexpected data after the end of the JSON object");
    return r->io != CL_OK ? lg_eof_fail(l) : CL_OK;
}

/* The first key of the top-level object, or *more = false for '}'. */
static cl_err first_key(por_ledger *l, bool *more) {
    CL_TRY(lg_lex(l));
    *more = l->tok.type != TK_RBRACE;
    if (*more && l->tok.type != TK_STRING) return lg_at_fail(l, l->tok.offset, "expected a key");
    return CL_OK;
}

static cl_err next_key(por_ledger *l, bool *more) {
    CL_TRY(lg_member_sep(l, TK_RBRACE, more));
    if (*more) CL_TRY(lg_expect(l, TK_STRING, "a key"));
    return CL_OK;
}

/* Second pass: skips top-level members up to "accounts" and enters it. */
static cl_err seek_accounts(por_ledger *l) {
    if (l->cfg.source.rewind(l->cfg.source.ctx) != CL_OK)
        return lg_fail(l, CL_ERR_IO, "cannot rewind the ledger for its second pass");
    rd_start(&l->rd, &l->cfg.source);
    l->second_pass = true;
    l->stats.passes = 2;
    CL_TRY(open_object(l, "the ledger"));
    bool more;
    CL_TRY(first_key(l, &more));
    while (more) {
        bool is_accounts = tok_is(&l->tok, "accounts");
        CL_TRY(lg_expect(l, TK_COLON, "':'"));
        if (is_accounts) return lg_expect(l, TK_LBRACE, "an object for \"accounts\"");
        CL_TRY(lg_lex_and_skip(l));
        CL_TRY(next_key(l, &more));
    }
    return lg_fail(l, CL_ERR_INVALID, "the ledger changed between its two passes");
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
            return lg_at_fail(l, t->offset, "duplicate top-level key");
        CL_TRY(lg_expect(l, TK_COLON, "':'"));
        if (is_assets) {
            CL_TRY(parse_assets(l));
        } else if (is_ts) {
            CL_TRY(parse_timestamp(l));
        } else if (is_accounts) {
            if (!accounts_allowed)
                return lg_fail(l, CL_ERR_INVALID, "%s must not contain \"accounts\"", what);
            l->have_accounts = true;
            if (l->have_assets && l->have_ts)
                return lg_expect(l, TK_LBRACE, "an object for \"accounts\"");
            if (!l->cfg.source.rewind)
                return lg_fail(
                    l, CL_ERR_INVALID,
                    "\"accounts\" comes before \"assets\" and \"timestamp\" and the input "
                    "cannot be read twice: put \"assets\" and \"timestamp\" first");
            deferred = true;
            CL_TRY(lg_lex_and_skip(l));
        } else {
            CL_TRY(lg_lex_and_skip(l));
        }
        CL_TRY(next_key(l, &more));
    }
    CL_TRY(expect_eof(l));
    if (!l->have_assets) return lg_fail(l, CL_ERR_INVALID, "%s has no \"assets\"", what);
    if (!l->have_ts) return lg_fail(l, CL_ERR_INVALID, "%s has no \"timestamp\"", what);
    if (!accounts_allowed) return CL_OK;
    if (!deferred) return lg_fail(l, CL_ERR_INVALID, "%s has no \"accounts\"", what);
    return seek_accounts(l);
}

/* --------------------------------------------------------- JSON accounts */

static cl_err json_balance(por_ledger *l, size_t a) {
    CL_TRY(lg_lex(l));
    token *t = &l->tok;
    const char *sym = l->assets[a].symbol;
    if (t->type == TK_EOF) return lg_eof_fail(l);
    if (t->type == TK_NUMBER && t->is_int && !t->overflow128) {
        l->bal[a] = t->num128;
        return CL_OK;
    }
    cl_buf b = CL_BUF_INIT;
    const char *got = lg_tok_desc(l, &b);
    if (t->type == TK_NUMBER && t->is_int)
        lg_acct_fail(l, "asset %s: " BALANCE_RANGE_MSG " (got %s)", sym, got);
    else
        lg_acct_fail(l, "asset %s: balance is not an integer (got %s)", sym, got);
    buf_free(&b);
    return l->err_code;
}

/* One "HEX": {...} member; l->tok holds the key. */
static cl_err json_account(por_ledger *l, por_account *acc) {
    token *t = &l->tok;
    if (t->type != TK_STRING) return lg_at_fail(l, t->offset, "expected a user hash");
    CL_TRY(take_user_hash(l, t->str, t->len, t->truncated));
    CL_TRY(lg_expect(l, TK_COLON, "':'"));
    CL_TRY(lg_lex(l));
    if (t->type != TK_LBRACE) {
        if (t->type == TK_EOF) return lg_eof_fail(l);
        return lg_acct_fail(l, "balances are not an object");
    }
    start_account(l);
    CL_TRY(lg_lex(l));
    size_t pos = 0;
    for (bool more = t->type != TK_RBRACE; more; pos++) {
        if (t->type != TK_STRING) return lg_at_fail(l, t->offset, "expected an asset symbol");
        ptrdiff_t a = asset_lookup(l, pos, t->str, t->truncated ? TOK_MAX + 1 : t->len);
        if (a < 0) {
            cl_buf b = CL_BUF_INIT;
            lg_append_quoted(&b, t->str, t->len, t->truncated, 40);
            lg_acct_fail(l, "unknown asset %s", buf_cstr(&b));
            buf_free(&b);
            return l->err_code;
        }
        if (l->seen[a] == l->gen)
            return lg_acct_fail(l, "asset %s appears twice", l->assets[a].symbol);
        l->seen[a] = l->gen;
        CL_TRY(lg_expect(l, TK_COLON, "':'"));
        CL_TRY(json_balance(l, (size_t)a));
        CL_TRY(lg_member_sep(l, TK_RBRACE, &more));
        if (more) CL_TRY(lg_lex(l));
    }
    return finish_account(l, acc);
}

/* After the accounts object: the rest of the top level, then the end. */
static cl_err json_tail(por_ledger *l) {
    bool more;
    CL_TRY(lg_member_sep(l, TK_RBRACE, &more));
    while (more) {
        CL_TRY(lg_expect(l, TK_STRING, "a key"));
        bool header = tok_is(&l->tok, "assets") || tok_is(&l->tok, "timestamp") ||
                      tok_is(&l->tok, "accounts");
        if (header && !l->second_pass)
            return lg_at_fail(l, l->tok.offset, "duplicate top-level key");
        CL_TRY(lg_expect(l, TK_COLON, "':'"));
        CL_TRY(lg_lex_and_skip(l));
        CL_TRY(lg_member_sep(l, TK_RBRACE, &more));
    }
    return expect_eof(l);
}

static cl_err json_next(por_ledger *l, por_account *acc, bool *done) {
    bool more;
    if (l->first_member) {
        l->first_member = false;
        CL_TRY(lg_lex(l));
        more = l->tok.type != TK_RBRACE;
        if (l->tok.type == TK_EOF) return lg_eof_fail(l);
    } else {
        CL_TRY(lg_member_sep(l, TK_RBRACE, &more));
        if (more) CL_TRY(lg_lex(l));
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
            if (r->io != CL_OK) return lg_eof_fail(l);
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
                return lg_fail(l, CL_ERR_INVALID,
                               "line %llu: carriage return not followed by a line feed",
                               (unsigned long long)l->line);
            rd_skip(r);
            ci->end = CELL_EOL;
            break;
        }
        if (c == '"')
            return lg_fail(l, CL_ERR_INVALID, "line %llu: quoted fields are not supported",
                           (unsigned long long)l->line);
        if (!(lg_is_digit(c) || (c == '-' && n == 0))) ci->int_shape = false;
        lg_tok_put(l, (uint8_t)c, TOK_MAX);
    }
    if (t->len == 1 && t->str[0] == '-') ci->int_shape = false;
    return CL_OK;
}

/* The header row: "id" then every asset once. */
static cl_err csv_header(por_ledger *l) {
    cell_info ci;
    CL_TRY(lg_skip_bom(l));
    l->line = 1;
    if (rd_peek(&l->rd) < 0) {
        if (l->rd.io != CL_OK) return lg_eof_fail(l);
        return lg_fail(l, CL_ERR_INVALID, "the ledger is empty");
    }
    CL_TRY(csv_cell(l, &ci));
    if (!tok_is(&l->tok, "id"))
        return lg_fail(l, CL_ERR_INVALID, "line 1: the first column must be \"id\"");
    l->col_asset = cl_calloc(l->n_assets, sizeof *l->col_asset);
    start_account(l); /* seen[] marks assets that have a column */
    size_t cols = 0;
    while (ci.end == CELL_COMMA) {
        CL_TRY(csv_cell(l, &ci));
        token *t = &l->tok;
        ptrdiff_t a = t->truncated ? -1 : asset_find(l, t->str, t->len);
        if (a < 0) {
            cl_buf b = CL_BUF_INIT;
            lg_append_quoted(&b, t->str, t->len, t->truncated, 40);
            lg_fail(l, CL_ERR_INVALID,
                    "line 1: column %zu: unknown asset %s (not in the assets file)", cols + 2,
                    buf_cstr(&b));
            buf_free(&b);
            return l->err_code;
        }
        if (l->seen[a] == l->gen)
            return lg_fail(l, CL_ERR_INVALID, "line 1: asset %s has two columns",
                           l->assets[a].symbol);
        l->seen[a] = l->gen;
        l->col_asset[cols++] = (size_t)a;
    }
    for (size_t a = 0; a < l->n_assets; a++)
        if (l->seen[a] != l->gen)
            return lg_fail(l, CL_ERR_INVALID, "line 1: asset %s has no column",
                           l->assets[a].symbol);
    return CL_OK;
}

/* Parses a CSV integer cell already known to be int-shaped. */
static bool csv_int(const token *t, por_i128 *out) {
    if (t->truncated) return false;
    const por_u128 cap = (por_u128)1 << 127;
    bool neg = t->str[0] == '-';
    por_u128 mag = 0;
    for (size_t i = neg; i < t->len; i++) {
        unsigned d = (unsigned)(t->str[i] - '0');
        if (mag > (cap - d) / 10) return false;
        mag = mag * 10 + d;
    }
    if (!neg && mag == cap) return false;
    *out = neg ? (por_i128)(-mag) : (por_i128)mag; /* -2^127 wraps to itself */
    return true;
}

static cl_err csv_balance(por_ledger *l, size_t col, cell_info *ci) {
    size_t a = l->col_asset[col];
    const char *sym = l->assets[a].symbol;
    CL_TRY(csv_cell(l, ci));
    token *t = &l->tok;
    if (t->len == 0) return lg_acct_fail(l, "asset %s: balance is missing", sym);
    if (!ci->int_shape || !csv_int(t, &l->bal[a])) {
        cl_buf b = CL_BUF_INIT;
        lg_append_quoted(&b, t->str, t->len, t->truncated, 40);
        lg_acct_fail(l,
                     ci->int_shape ? "asset %s: " BALANCE_RANGE_MSG " (got %s)"
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
        if (l->rd.io != CL_OK) return lg_eof_fail(l);
        *done = true;
        return CL_OK;
    }
    l->line++;
    cell_info ci;
    CL_TRY(csv_cell(l, &ci));
    token *t = &l->tok;
    if (t->len == 0 && ci.end != CELL_COMMA)
        return lg_fail(l, CL_ERR_INVALID, "line %llu: empty line", (unsigned long long)l->line);
    CL_TRY(take_user_hash(l, t->str, t->len, t->truncated));
    start_account(l);
    size_t want = l->n_assets + 1;
    for (size_t col = 0; col < l->n_assets; col++) {
        if (ci.end != CELL_COMMA)
            return lg_acct_fail(l, "expected %zu fields, found %zu", want, col + 1);
        CL_TRY(csv_balance(l, col, &ci));
    }
    if (ci.end == CELL_COMMA) return lg_acct_fail(l, "more than %zu fields", want);
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
    lg_hs_init(&l->users);
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
    if (e != CL_OK) return lg_fail(*out, e, "cannot open %s: %s", path, strerror(err));
    if (ea != CL_OK) return lg_fail(*out, ea, "cannot open %s: %s", assets_path, strerror(erra));
    return CL_OK;
}

cl_err por_ledger_begin(por_ledger *l) {
    if (l->st == ST_FAILED) return l->err_code;
    if (l->st != ST_NEW) return CL_OK;
    l->stats.passes = 1;
    if (!l->cfg.source.read) return lg_fail(l, CL_ERR_INVALID, "no ledger input");
    if (l->cfg.format == POR_LEDGER_CSV) {
        if (!l->cfg.assets.read)
            return lg_fail(l, CL_ERR_INVALID,
                           "a CSV ledger needs an assets file (prices, decimals)");
        rd_start(&l->rd, &l->cfg.assets);
        CL_TRY(json_header(l, false, "the assets file"));
        rd_start(&l->rd, &l->cfg.source);
        CL_TRY(csv_header(l));
    } else {
        if (l->cfg.assets.read)
            return lg_fail(l, CL_ERR_INVALID, "an assets file is only for CSV ledgers");
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
        if (l->count == 0) return lg_fail(l, CL_ERR_INVALID, "the ledger has no accounts");
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

const por_u128 *por_ledger_max_equity(const por_ledger *l) {
    return l->max_eq;
}

const por_u128 *por_ledger_max_debt(const por_ledger *l) {
    return l->max_debt;
}

por_ledger_stats por_ledger_get_stats(const por_ledger *l) {
    por_ledger_stats s = l->stats;
    s.hashset_bytes = l->users.cap * sizeof(uint64_t) + l->users.arena.cap;
    s.hashset_count = l->users.count;
    return s;
}

void por_ledger_free(por_ledger *l) {
    if (!l) return;
    lg_source_close(&l->cfg.source);
    lg_source_close(&l->cfg.assets);
    free(l->rd.buf);
    buf_free(&l->err);
    free(l->assets);
    if (l->bal) cl_cleanse(l->bal, l->n_assets * sizeof *l->bal);
    free(l->bal);
    free(l->seen);
    free(l->hint);
    free(l->max_eq);
    free(l->max_debt);
    free(l->col_asset);
    lg_hs_free(&l->users);
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
