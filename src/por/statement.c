/* statement.c — final_proof.json and user proofs (docs/por.md §8): reading
 * them strictly (§9 verify step 1 and 5, verify-inclusion steps 1–5) and
 * writing final_proof.json.
 *
 * Both files are small (a few KB), so they go through jansson's DOM; the big
 * public file, merkle_tree.json, is streamed by treefile.c instead. Reading
 * is strict where it matters for soundness and for the JS verifier to agree
 * with this one: lower-case hex of the exact length, canonical scalars and
 * subgroup-checked points, canonical decimal strings for big integers, every
 * required field present with the right JSON type. Unknown fields are
 * ignored (everything that matters is bound by the statement digest). */
#include "por/protocol.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *err;
    const char *file;
} pctx;

static cl_err bad(pctx *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static cl_err bad(pctx *p, const char *fmt, ...) {
    char msg[POR_ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (snprintf(p->err, POR_ERR_LEN, "%s: %s", p->file, msg) >= POR_ERR_LEN)
        p->err[POR_ERR_LEN - 1] = 0; /* truncated: fine for a message */
    return CL_ERR_INVALID;
}

static cl_err get_obj(pctx *p, json_t *o, const char *k, json_t **out) {
    *out = json_object_get(o, k);
    if (!json_is_object(*out)) return bad(p, "%s is missing or not an object", k);
    return CL_OK;
}

static cl_err get_int(pctx *p, json_t *o, const char *k, long long lo, long long hi,
                      long long *out) {
    json_t *v = json_object_get(o, k);
    if (!json_is_integer(v)) return bad(p, "%s is missing or not an integer", k);
    long long x = json_integer_value(v);
    if (x < lo || x > hi) return bad(p, "%s is out of range %lld..%lld (got %lld)", k, lo, hi, x);
    *out = x;
    return CL_OK;
}

static cl_err get_hex(pctx *p, json_t *o, const char *k, uint8_t *out, size_t n) {
    json_t *v = json_object_get(o, k);
    if (!json_is_string(v)) return bad(p, "%s is missing or not a string", k);
    if (!por_hex_decode_exact(json_string_value(v), json_string_length(v), out, n))
        return bad(p, "%s must be %zu bytes of lower-case hex", k, n);
    return CL_OK;
}

static cl_err get_point(pctx *p, json_t *o, const char *k, uint8_t out[POR_POINT_LEN]) {
    CL_TRY(get_hex(p, o, k, out, POR_POINT_LEN));
    por_affine a;
    if (por_affine_from_bytes(&a, out) != CL_OK)
        return bad(p, "%s is not a valid compressed G1 point of the prime-order subgroup", k);
    return CL_OK;
}

static cl_err get_dec(pctx *p, json_t *o, const char *k, por_i128 lo, por_i128 hi, por_i128 *out) {
    json_t *v = json_object_get(o, k);
    if (!json_is_string(v)) return bad(p, "%s must be a decimal string", k);
    const char *s = json_string_value(v);
    if (strlen(s) != json_string_length(v) || !por_dec_parse_i128(s, lo, hi, out))
        return bad(p, "%s is not a canonical decimal integer in range (got \"%.48s\")", k, s);
    return CL_OK;
}

static bool symbol_ok(const char *s, size_t len) {
    if (len < 1 || len > POR_LEDGER_MAX_SYMBOL || strlen(s) != len) return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static por_i128 pow10_i128(unsigned e) {
    por_i128 r = 1;
    while (e--)
        r *= 10;
    return r;
}

static cl_err parse_asset(pctx *p, json_t *a, size_t i, uint32_t m, por_stmt_asset *out) {
    if (!json_is_object(a)) return bad(p, "assets[%zu] is not an object", i);
    json_t *sym = json_object_get(a, "symbol");
    if (!json_is_string(sym) || !symbol_ok(json_string_value(sym), json_string_length(sym)))
        return bad(p, "assets[%zu].symbol must be 1..32 of A-Z a-z 0-9 . _ -", i);
    memcpy(out->symbol, json_string_value(sym), json_string_length(sym) + 1);
    char name[64];
    snprintf(name, sizeof name, "asset %s", out->symbol);
    pctx q = *p;
    char file[128];
    snprintf(file, sizeof file, "%s: %s", p->file, name);
    q.file = file;
    long long v;
    CL_TRY(get_int(&q, a, "usdt_decimals", 0, POR_LEDGER_MAX_DECIMALS, &v));
    out->usdt_decimals = (uint32_t)v;
    CL_TRY(get_int(&q, a, "balance_decimals", 0, POR_LEDGER_MAX_DECIMALS, &v));
    out->balance_decimals = (uint32_t)v;
    por_i128 x;
    CL_TRY(get_dec(&q, a, "price", 1, INT64_MAX, &x));
    out->price = (int64_t)x;
    const por_i128 max128 = (por_i128)(((unsigned __int128)1 << 127) - 1);
    CL_TRY(get_dec(&q, a, "weight", 1, max128, &out->weight));
    por_i128 lim = ((por_i128)1 << (63 + m)) - 1; /* |T_a| < 2^(63+m) */
    CL_TRY(get_dec(&q, a, "total", -lim, lim, &out->total));
    return CL_OK;
}

static cl_err parse_params(pctx *p, json_t *root, por_statement *s) {
    json_t *par;
    long long v;
    CL_TRY(get_obj(p, root, "parameters", &par));
    CL_TRY(get_int(p, par, "tree_depth", 1, POR_MAX_DEPTH, &v));
    s->depth = (uint32_t)v;
    s->padded = (uint64_t)1 << s->depth;
    CL_TRY(get_int(p, par, "padded_accounts", 1, (long long)1 << 40, &v));
    if ((uint64_t)v != s->padded)
        return bad(p, "parameters.padded_accounts is %lld, want 2^tree_depth = %llu", v,
                   (unsigned long long)s->padded);
    CL_TRY(get_int(p, par, "range_bits", 1, 1024, &v));
    if (v != POR_RANGE_BITS) return bad(p, "parameters.range_bits is %lld, want 64", v);
    s->range_bits = POR_RANGE_BITS;
    long long bmax = s->padded < POR_MAX_BATCH ? (long long)s->padded : POR_MAX_BATCH;
    CL_TRY(get_int(p, par, "batch_size", 1, bmax, &v));
    s->batch = (uint32_t)v;
    CL_TRY(get_int(p, par, "equity_decimals", 0, 2 * POR_LEDGER_MAX_DECIMALS, &v));
    s->equity_decimals = (uint32_t)v;
    return CL_OK;
}

static cl_err parse_assets(pctx *p, json_t *root, por_statement *s) {
    json_t *arr = json_object_get(root, "assets");
    if (!json_is_array(arr) || json_array_size(arr) < 1 ||
        json_array_size(arr) > POR_LEDGER_MAX_ASSETS)
        return bad(p, "assets must be an array of 1..%d assets", POR_LEDGER_MAX_ASSETS);
    s->nassets = json_array_size(arr);
    s->assets = cl_calloc(s->nassets, sizeof *s->assets);
    uint32_t D = 0;
    for (size_t i = 0; i < s->nassets; i++) {
        CL_TRY(parse_asset(p, json_array_get(arr, i), i, s->depth, &s->assets[i]));
        if (i && strcmp(s->assets[i - 1].symbol, s->assets[i].symbol) >= 0)
            return bad(p, "assets are not sorted by symbol and distinct (%s, %s)",
                       s->assets[i - 1].symbol, s->assets[i].symbol);
        if (s->assets[i].usdt_decimals != s->assets[0].usdt_decimals)
            return bad(p, "asset %s: usdt_decimals differs from %s's (must be equal)",
                       s->assets[i].symbol, s->assets[0].symbol);
        if (s->assets[i].balance_decimals > D) D = s->assets[i].balance_decimals;
    }
    for (size_t i = 0; i < s->nassets; i++) {
        por_stmt_asset *a = &s->assets[i];
        por_i128 w = (por_i128)a->price * pow10_i128(D - a->balance_decimals);
        if (a->weight != w) {
            char got[41], want[41];
            return bad(p, "asset %s: weight is %s, want price·10^(D−d) = %s", a->symbol,
                       por_i128_format(a->weight, got), por_i128_format(w, want));
        }
    }
    if (s->equity_decimals != D + s->assets[0].usdt_decimals)
        return bad(p,
                   "parameters.equity_decimals is %u, want max balance_decimals + "
                   "usdt_decimals = %u",
                   s->equity_decimals, D + s->assets[0].usdt_decimals);
    return CL_OK;
}

static cl_err parse_final(pctx *p, json_t *root, por_statement *s) {
    if (!json_is_object(root)) return bad(p, "not a JSON object");
    json_t *ver = json_object_get(root, "version");
    if (!json_is_string(ver) || strcmp(json_string_value(ver), POR_VERSION) != 0)
        return bad(p, "version must be \"%s\"", POR_VERSION);
    long long v;
    CL_TRY(get_int(p, root, "timestamp", 0, INT64_MAX, &v));
    s->timestamp = (uint64_t)v;
    CL_TRY(parse_params(p, root, s));
    CL_TRY(parse_assets(p, root, s));
    CL_TRY(get_hex(p, root, "total_blinding", s->total_blinding, POR_SCALAR_LEN));
    por_scalar R;
    if (por_scalar_from_bytes(&R, s->total_blinding) != CL_OK)
        return bad(p, "total_blinding is not a canonical scalar (>= r)");
    bool neg;
    por_statement_total_equity(s->assets, s->nassets, s->total_equity, &neg);
    json_t *te = json_object_get(root, "total_equity");
    if (!json_is_string(te) || strcmp(json_string_value(te), s->total_equity) != 0)
        return bad(p, "total_equity must be Σ weight·total = \"%s\"", s->total_equity);
    if (neg) return bad(p, "total_equity %s is negative", s->total_equity);
    json_t *o;
    CL_TRY(get_obj(p, root, "root", &o));
    CL_TRY(get_hex(p, o, "hash", s->root_hash, POR_HASH_LEN));
    CL_TRY(get_point(p, o, "commitment", s->root_commitment));
    CL_TRY(get_hex(p, root, "statement_digest", s->digest, POR_HASH_LEN));
    s->link_proof_len = por_link_proof_size(s->nassets);
    s->link_proof = cl_malloc(s->link_proof_len);
    CL_TRY(get_hex(p, root, "equity_link_proof", s->link_proof, s->link_proof_len));
    CL_TRY(get_obj(p, root, "range_proofs", &o));
    CL_TRY(get_int(p, o, "count", 0, INT64_MAX, &v));
    s->range_count = (uint64_t)v;
    if (s->range_count != por_range_count(s->padded, s->batch))
        return bad(p, "range_proofs.count is %lld, want ceil(padded_accounts / batch_size) = %llu",
                   v, (unsigned long long)por_range_count(s->padded, s->batch));
    CL_TRY(get_hex(p, o, "sha256", s->range_sha256, POR_HASH_LEN));
    CL_TRY(get_obj(p, root, "merkle_tree", &o));
    CL_TRY(get_int(p, o, "bytes", 0, INT64_MAX, &v));
    s->tree_bytes = (uint64_t)v;
    CL_TRY(get_hex(p, o, "sha256", s->tree_sha256, POR_HASH_LEN));
    uint8_t d[POR_HASH_LEN];
    por_statement_digest(s, d);
    if (memcmp(d, s->digest, POR_HASH_LEN) != 0)
        return bad(p, "statement_digest does not match the digest recomputed from the "
                      "timestamp, parameters, assets, totals, total_blinding and root");
    return CL_OK;
}

cl_err por_final_proof_parse(cl_slice json, por_statement *out, char err[POR_ERR_LEN]) {
    memset(out, 0, sizeof *out);
    err[0] = 0;
    pctx p = {err, "final_proof.json"};
    json_error_t je;
    json_t *root = json_loadb((const char *)json.ptr, json.len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return bad(&p, "not valid JSON (line %d: %s); is the file complete?", je.line, je.text);
    cl_err e = parse_final(&p, root, out);
    json_decref(root);
    if (e != CL_OK) por_statement_free(out);
    return e;
}

cl_err por_statement_check_opening(const por_statement *s, char err[POR_ERR_LEN]) {
    size_t n = s->nassets;
    const por_affine **pts = cl_malloc((n + 1) * sizeof *pts);
    por_scalar *sc = cl_malloc((n + 1) * sizeof *sc);
    for (size_t a = 0; a < n; a++) {
        pts[a] = por_asset_generator(s->assets[a].symbol);
        por_scalar_from_i128(&sc[a], s->assets[a].total);
    }
    pts[n] = por_pedersen_h();
    cl_err e = por_scalar_from_bytes(&sc[n], s->total_blinding);
    uint8_t c[POR_POINT_LEN];
    if (e == CL_OK) {
        por_point C;
        por_msm_ptrs(&C, pts, sc, n + 1);
        por_point_to_bytes(c, &C);
        if (memcmp(c, s->root_commitment, POR_POINT_LEN) != 0) e = CL_ERR_CRYPTO;
    }
    if (e != CL_OK)
        snprintf(err, POR_ERR_LEN,
                 "the root commitment is not Σ total·G_asset + total_blinding·H: the published "
                 "totals are not what the tree sums to");
    free(pts);
    free(sc);
    return e;
}

/* ---- writing final_proof.json ---- */

static json_t *hexstr(const uint8_t *b, size_t n) {
    char *h = cl_malloc(2 * n + 1);
    hex_encode_to(h, b, n);
    json_t *s = json_string(h);
    free(h);
    return s;
}

static json_t *decstr(por_i128 v) {
    char b[41];
    return json_string(por_i128_format(v, b));
}

char *por_final_proof_format(const por_statement *s) {
    json_t *r = json_object();
    json_object_set_new(r, "version", json_string(POR_VERSION));
    json_object_set_new(r, "timestamp", json_integer((json_int_t)s->timestamp));
    json_t *par = json_object();
    json_object_set_new(par, "tree_depth", json_integer(s->depth));
    json_object_set_new(par, "padded_accounts", json_integer((json_int_t)s->padded));
    json_object_set_new(par, "range_bits", json_integer(s->range_bits));
    json_object_set_new(par, "batch_size", json_integer(s->batch));
    json_object_set_new(par, "equity_decimals", json_integer(s->equity_decimals));
    json_object_set_new(r, "parameters", par);
    json_t *arr = json_array();
    for (size_t i = 0; i < s->nassets; i++) {
        const por_stmt_asset *a = &s->assets[i];
        json_t *o = json_object();
        json_object_set_new(o, "symbol", json_string(a->symbol));
        json_object_set_new(o, "usdt_decimals", json_integer(a->usdt_decimals));
        json_object_set_new(o, "balance_decimals", json_integer(a->balance_decimals));
        json_object_set_new(o, "price", decstr(a->price));
        json_object_set_new(o, "weight", decstr(a->weight));
        json_object_set_new(o, "total", decstr(a->total));
        json_array_append_new(arr, o);
    }
    json_object_set_new(r, "assets", arr);
    json_object_set_new(r, "total_blinding", hexstr(s->total_blinding, POR_SCALAR_LEN));
    json_object_set_new(r, "total_equity", json_string(s->total_equity));
    json_t *root = json_object();
    json_object_set_new(root, "hash", hexstr(s->root_hash, POR_HASH_LEN));
    json_object_set_new(root, "commitment", hexstr(s->root_commitment, POR_POINT_LEN));
    json_object_set_new(r, "root", root);
    json_object_set_new(r, "statement_digest", hexstr(s->digest, POR_HASH_LEN));
    json_object_set_new(r, "equity_link_proof", hexstr(s->link_proof, s->link_proof_len));
    json_t *rp = json_object();
    json_object_set_new(rp, "count", json_integer((json_int_t)s->range_count));
    json_object_set_new(rp, "sha256", hexstr(s->range_sha256, POR_HASH_LEN));
    json_object_set_new(r, "range_proofs", rp);
    json_t *mt = json_object();
    json_object_set_new(mt, "bytes", json_integer((json_int_t)s->tree_bytes));
    json_object_set_new(mt, "sha256", hexstr(s->tree_sha256, POR_HASH_LEN));
    json_object_set_new(r, "merkle_tree", mt);
    char *text = json_dumps(r, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(r);
    cl_buf b = CL_BUF_INIT;
    buf_append_cstr(&b, text);
    buf_append_byte(&b, '\n');
    free(text);
    return buf_take_cstr(&b);
}

/* ---- user proofs ---- */

static cl_err parse_user(pctx *p, json_t *r, const por_statement *st, por_user_proof *u) {
    if (!json_is_object(r)) return bad(p, "not a JSON object");
    json_t *ver = json_object_get(r, "version");
    if (!json_is_string(ver) || strcmp(json_string_value(ver), POR_VERSION) != 0)
        return bad(p, "version must be \"%s\"", POR_VERSION);
    json_t *uh = json_object_get(r, "user_hash");
    size_t ul = json_is_string(uh) ? json_string_length(uh) : 0;
    if (ul < 2 || ul > 2 * POR_LEDGER_MAX_USER_HASH || ul % 2 ||
        !por_hex_decode_exact(json_string_value(uh), ul, u->user_hash, ul / 2))
        return bad(p, "user_hash must be 1..64 bytes of lower-case hex");
    u->user_hash_len = ul / 2;
    CL_TRY(get_hex(p, r, "nonce", u->nonce, POR_NONCE_LEN));
    long long v;
    CL_TRY(get_int(p, r, "leaf_index", 0, (long long)st->padded - 1, &v));
    u->leaf_index = (uint64_t)v;
    json_t *bal = json_object_get(r, "balances");
    if (!json_is_object(bal)) return bad(p, "balances is missing or not an object");
    u->nassets = st->nassets;
    u->balances = cl_calloc(st->nassets, sizeof *u->balances);
    for (size_t a = 0; a < st->nassets; a++) {
        por_i128 b;
        if (!json_object_get(bal, st->assets[a].symbol))
            return bad(p, "balances do not name exactly the published assets (missing %s)",
                       st->assets[a].symbol);
        char k[64];
        snprintf(k, sizeof k, "%s", st->assets[a].symbol);
        CL_TRY(get_dec(p, bal, k, INT64_MIN, INT64_MAX, &b));
        u->balances[a] = (int64_t)b;
    }
    if (json_object_size(bal) != st->nassets)
        return bad(p,
                   "balances do not name exactly the published assets (%zu names, %zu "
                   "published)",
                   json_object_size(bal), st->nassets);
    json_t *eq = json_object_get(r, "equity");
    if (!json_is_string(eq) || json_string_length(eq) >= sizeof u->equity)
        return bad(p, "equity must be a decimal string");
    memcpy(u->equity, json_string_value(eq), json_string_length(eq) + 1);
    json_t *o;
    CL_TRY(get_obj(p, r, "leaf", &o));
    CL_TRY(get_hex(p, o, "id", u->leaf_id, POR_HASH_LEN));
    CL_TRY(get_hex(p, o, "commitment", u->leaf_L, POR_POINT_LEN));
    CL_TRY(get_hex(p, o, "equity_commitment", u->leaf_V, POR_POINT_LEN));
    CL_TRY(get_hex(p, o, "hash", u->leaf_hash, POR_HASH_LEN));
    json_t *path = json_object_get(r, "path");
    if (!json_is_array(path)) return bad(p, "path is missing or not an array");
    if (json_array_size(path) != st->depth)
        return bad(p, "path has %zu entries, but the published tree_depth is %u",
                   json_array_size(path), st->depth);
    u->depth = st->depth;
    u->path_hash = cl_calloc(st->depth, sizeof *u->path_hash);
    u->path_C = cl_calloc(st->depth, sizeof *u->path_C);
    for (uint32_t j = 0; j < st->depth; j++) {
        json_t *e = json_array_get(path, j);
        if (!json_is_object(e)) return bad(p, "path[%u] is not an object", j);
        CL_TRY(get_hex(p, e, "hash", u->path_hash[j], POR_HASH_LEN));
        CL_TRY(get_hex(p, e, "commitment", u->path_C[j], POR_POINT_LEN));
    }
    CL_TRY(get_obj(p, r, "root", &o));
    CL_TRY(get_hex(p, o, "hash", u->root_hash, POR_HASH_LEN));
    CL_TRY(get_hex(p, o, "commitment", u->root_commitment, POR_POINT_LEN));
    CL_TRY(get_hex(p, r, "statement_digest", u->digest, POR_HASH_LEN));
    return CL_OK;
}

cl_err por_user_proof_parse(cl_slice json, const por_statement *st, por_user_proof *out,
                            char err[POR_ERR_LEN]) {
    memset(out, 0, sizeof *out);
    err[0] = 0;
    pctx p = {err, "user proof"};
    json_error_t je;
    json_t *root = json_loadb((const char *)json.ptr, json.len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return bad(&p, "not valid JSON (line %d: %s); is the file complete?", je.line, je.text);
    cl_err e = parse_user(&p, root, st, out);
    json_decref(root);
    if (e != CL_OK) por_user_proof_free(out);
    return e;
}

void por_user_proof_free(por_user_proof *u) {
    if (!u) return;
    if (u->balances) cl_cleanse(u->balances, u->nassets * sizeof *u->balances);
    free(u->balances);
    free(u->path_hash);
    free(u->path_C);
    cl_cleanse(u, sizeof *u);
}

/* Step 3: the leaf recomputed from the user's balances and nonce. */
static cl_err check_leaf(pctx *p, const por_statement *st, const por_user_proof *u) {
    size_t n = st->nassets;
    por_i128 *w = cl_malloc(n * sizeof *w);
    for (size_t a = 0; a < n; a++)
        w[a] = st->assets[a].weight;
    uint64_t e64 = 0;
    char etext[80];
    por_equity_class cls = por_equity(w, u->balances, n, &e64, etext);
    free(w);
    if (cls == POR_EQUITY_NEGATIVE)
        return bad(p,
                   "the equity Σ weight·balance = %s is negative: a proof of reserves must "
                   "never contain such an account",
                   etext);
    if (cls == POR_EQUITY_TOO_LARGE)
        return bad(p, "the equity %s is not below 2^64, the range-proved bound", etext);
    if (strcmp(etext, u->equity) != 0)
        return bad(p, "the proof states equity \"%s\", but the balances give %s", u->equity, etext);
    por_scalar eta, gamma;
    por_leaf_blindings(u->nonce, &eta, &gamma);
    const por_affine **pts = cl_malloc((n + 1) * sizeof *pts);
    por_scalar *sc = cl_malloc((n + 1) * sizeof *sc);
    for (size_t a = 0; a < n; a++) {
        pts[a] = por_asset_generator(st->assets[a].symbol);
        por_scalar_from_i64(&sc[a], u->balances[a]);
    }
    pts[n] = por_pedersen_h();
    sc[n] = eta;
    por_point L, V;
    por_msm_ptrs(&L, pts, sc, n + 1);
    por_commit_u64(&V, e64, &gamma);
    free(pts);
    free(sc);
    uint8_t Lb[POR_POINT_LEN], Vb[POR_POINT_LEN], id[POR_HASH_LEN], h[POR_HASH_LEN];
    por_point_to_bytes(Lb, &L);
    por_point_to_bytes(Vb, &V);
    por_leaf_id(u->user_hash, u->user_hash_len, u->nonce, id);
    if (memcmp(id, u->leaf_id, POR_HASH_LEN) != 0)
        return bad(p, "the leaf id is not Ht(leaf-id, user_hash ‖ nonce): this leaf is not bound "
                      "to this user hash");
    if (memcmp(Lb, u->leaf_L, POR_POINT_LEN) != 0)
        return bad(p, "the balance commitment L recomputed from the balances and nonce does not "
                      "match the leaf");
    if (memcmp(Vb, u->leaf_V, POR_POINT_LEN) != 0)
        return bad(p, "the equity commitment V recomputed from the equity and nonce does not "
                      "match the leaf");
    por_leaf_hash(id, Lb, Vb, h);
    if (memcmp(h, u->leaf_hash, POR_HASH_LEN) != 0)
        return bad(p, "the leaf hash does not match Ht(leaf, id ‖ L ‖ V)");
    return CL_OK;
}

/* Step 4: the path from the leaf to the root. */
static cl_err check_path(pctx *p, const por_statement *st, const por_user_proof *u) {
    por_point C;
    uint8_t h[POR_HASH_LEN], Cb[POR_POINT_LEN];
    if (por_point_from_bytes(&C, u->leaf_L) != CL_OK)
        return bad(p, "leaf.commitment is not a valid point");
    memcpy(h, u->leaf_hash, POR_HASH_LEN);
    memcpy(Cb, u->leaf_L, POR_POINT_LEN);
    for (uint32_t j = 0; j < u->depth; j++) {
        por_point S;
        if (por_point_from_bytes(&S, u->path_C[j]) != CL_OK)
            return bad(p,
                       "path[%u].commitment is not a valid compressed G1 point of the "
                       "prime-order subgroup",
                       j);
        uint8_t nh[POR_HASH_LEN];
        if ((u->leaf_index >> j) & 1)
            por_node_hash(u->path_hash[j], u->path_C[j], h, Cb, nh);
        else
            por_node_hash(h, Cb, u->path_hash[j], u->path_C[j], nh);
        por_point_add(&C, &C, &S);
        por_point_to_bytes(Cb, &C);
        memcpy(h, nh, POR_HASH_LEN);
    }
    if (memcmp(h, st->root_hash, POR_HASH_LEN) != 0)
        return bad(p, "the path from the leaf does not reach the published root hash");
    if (memcmp(Cb, st->root_commitment, POR_POINT_LEN) != 0)
        return bad(p, "the path from the leaf does not reach the published root commitment");
    return CL_OK;
}

cl_err por_user_proof_check(const por_statement *st, const por_user_proof *u,
                            char err[POR_ERR_LEN]) {
    pctx p = {err, "user proof"};
    if (memcmp(u->root_hash, st->root_hash, POR_HASH_LEN) != 0 ||
        memcmp(u->root_commitment, st->root_commitment, POR_POINT_LEN) != 0)
        return bad(&p, "names a different root than final_proof.json: they are not from the same "
                       "proof");
    if (memcmp(u->digest, st->digest, POR_HASH_LEN) != 0)
        return bad(&p, "names a different statement_digest than final_proof.json");
    por_affine tmp;
    if (por_affine_from_bytes(&tmp, u->leaf_L) != CL_OK ||
        por_affine_from_bytes(&tmp, u->leaf_V) != CL_OK)
        return bad(&p, "a leaf commitment is not a valid compressed G1 point of the prime-order "
                       "subgroup");
    CL_TRY(check_leaf(&p, st, u));
    CL_TRY(check_path(&p, st, u));
    return por_statement_check_opening(st, err);
}
