/* statement2.c — cloister-por-v2's final_proof.json (spec §6) both ways, its
 * warnings (§8), and the strict JSON readers (json2.h) the v2 user-proof
 * reader shares. The file is small, so it goes through jansson's DOM; every
 * check that final_proof.json alone allows is made here, the statement digest
 * included, so `verify` and `verify-inclusion` start from the same facts. */
#include "por/json2.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- strict readers (json2.h) ---- */

cl_err por2j_bad(por2j *p, const char *fmt, ...) {
    char msg[POR_ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (snprintf(p->err, POR_ERR_LEN, "%s: %s", p->file, msg) >= POR_ERR_LEN)
        p->err[POR_ERR_LEN - 1] = 0; /* truncated: fine for a message */
    return CL_ERR_INVALID;
}

json_t *por2j_load(por2j *p, cl_slice json) {
    json_error_t je;
    json_t *root = json_loadb((const char *)json.ptr, json.len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        por2j_bad(p, "not valid JSON (line %d: %s); is the file complete?", je.line, je.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        por2j_bad(p, "not a JSON object");
        return NULL;
    }
    return root;
}

cl_err por2j_only(por2j *p, json_t *o, const char *where, const char *const *allowed, size_t n) {
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        size_t i = 0;
        while (i < n && strcmp(k, allowed[i]) != 0)
            i++;
        if (i == n) return por2j_bad(p, "unknown field \"%.40s\" in %s", k, where);
    }
    return CL_OK;
}

cl_err por2j_obj(por2j *p, json_t *o, const char *k, json_t **out) {
    *out = json_object_get(o, k);
    if (!json_is_object(*out)) return por2j_bad(p, "%s is missing or not an object", k);
    return CL_OK;
}

cl_err por2j_int(por2j *p, json_t *o, const char *k, long long lo, long long hi, long long *out) {
    json_t *v = json_object_get(o, k);
    if (!json_is_integer(v))
        return por2j_bad(p, "%s is missing or not an integer (no fraction or exponent)", k);
    long long x = json_integer_value(v);
    if (x < lo || x > hi)
        return por2j_bad(p, "%s is out of range %lld..%lld (got %lld)", k, lo, hi, x);
    *out = x;
    return CL_OK;
}

cl_err por2j_hex(por2j *p, json_t *o, const char *k, uint8_t *out, size_t n) {
    json_t *v = json_object_get(o, k);
    if (!json_is_string(v)) return por2j_bad(p, "%s is missing or not a string", k);
    if (!por_hex_decode_exact(json_string_value(v), json_string_length(v), out, n))
        return por2j_bad(p, "%s must be %zu bytes of lower-case hex", k, n);
    return CL_OK;
}

cl_err por2j_scalar(por2j *p, json_t *o, const char *k, uint8_t out[POR_SCALAR_LEN]) {
    CL_TRY(por2j_hex(p, o, k, out, POR_SCALAR_LEN));
    por_scalar s;
    if (por_scalar_from_bytes(&s, out) != CL_OK)
        return por2j_bad(p, "%s is not a canonical scalar (>= r)", k);
    return CL_OK;
}

static const char *dec_text(por2j *p, json_t *o, const char *k) {
    json_t *v = json_object_get(o, k);
    if (!json_is_string(v)) {
        por2j_bad(p, "%s is missing or not a decimal string", k);
        return NULL;
    }
    const char *s = json_string_value(v);
    if (strlen(s) != json_string_length(v)) {
        por2j_bad(p, "%s is not a canonical decimal integer", k);
        return NULL;
    }
    return s;
}

cl_err por2j_dec128(por2j *p, json_t *o, const char *k, por_i128 lo, por_i128 hi, por_i128 *out) {
    const char *s = dec_text(p, o, k);
    if (!s) return CL_ERR_INVALID;
    if (!por_dec_parse_i128(s, lo, hi, out))
        return por2j_bad(p, "%s is not a canonical decimal integer in range (got \"%.48s\")", k, s);
    return CL_OK;
}

cl_err por2j_dec256(por2j *p, json_t *o, const char *k, por_i256 *out) {
    const char *s = dec_text(p, o, k);
    if (!s) return CL_ERR_INVALID;
    if (!por_i256_parse(s, out))
        return por2j_bad(p, "%s is not a canonical decimal integer (got \"%.48s\")", k, s);
    return CL_OK;
}

cl_err por2j_version(por2j *p, json_t *o) {
    json_t *v = json_object_get(o, "version");
    if (!json_is_string(v) || strcmp(json_string_value(v), POR2_VERSION) != 0)
        return por2j_bad(p, "version must be \"%s\"", POR2_VERSION);
    return CL_OK;
}

/* ---- reading final_proof.json ---- */

static const char *const top_fields[] = {
    "version", "timestamp",        "parameters",   "assets",      "total_net_equity",
    "root",    "statement_digest", "range_proofs", "merkle_tree",
};
static const char *const param_fields[] = {"tree_depth", "padded_accounts", "batch_size",
                                           "equity_decimals", "net_equity_bits"};
static const char *const asset_fields[] = {
    "symbol", "usdt_decimals",   "balance_decimals", "price",
    "weight", "range_bits",      "equity",           "debt",
    "net",    "equity_blinding", "debt_blinding",
};
static const char *const hash_fields[] = {"hash"};
static const char *const rp_fields[] = {"count", "sha256"};
static const char *const mt_fields[] = {"bytes", "sha256"};
#define NF(a) (sizeof(a) / sizeof(a)[0])

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

/* 2^bits as a por_i256 (bits < 255). */
static void pow2_i256(unsigned bits, por_i256 *out) {
    memset(out, 0, sizeof *out);
    out->w[bits / 64] = (uint64_t)1 << (bits % 64);
}

static cl_err parse_params(por2j *p, json_t *root, por2_statement *s) {
    json_t *par;
    long long v;
    CL_TRY(por2j_obj(p, root, "parameters", &par));
    CL_TRY(por2j_only(p, par, "parameters", param_fields, NF(param_fields)));
    CL_TRY(por2j_int(p, par, "tree_depth", 1, POR_MAX_DEPTH, &v));
    s->depth = (uint32_t)v;
    s->padded = (uint64_t)1 << s->depth;
    CL_TRY(por2j_int(p, par, "padded_accounts", 1, (long long)1 << 40, &v));
    if ((uint64_t)v != s->padded)
        return por2j_bad(p, "parameters.padded_accounts is %lld, want 2^tree_depth = %llu", v,
                         (unsigned long long)s->padded);
    CL_TRY(por2j_int(p, par, "batch_size", 1, POR_MAX_BATCH, &v));
    s->batch = (uint32_t)v;
    CL_TRY(por2j_int(p, par, "equity_decimals", 0, 2 * POR_LEDGER_MAX_DECIMALS, &v));
    s->equity_decimals = (uint32_t)v;
    CL_TRY(por2j_int(p, par, "net_equity_bits", 8, POR2_MAX_NET_BITS, &v));
    s->net_bits = (uint32_t)v;
    return CL_OK;
}

/* One asset: everything but the weight (needs D over all assets). */
static cl_err parse_asset(por2j *p, json_t *a, size_t i, uint32_t m, por2_asset *out) {
    if (!json_is_object(a)) return por2j_bad(p, "assets[%zu] is not an object", i);
    json_t *sym = json_object_get(a, "symbol");
    if (!json_is_string(sym) || !symbol_ok(json_string_value(sym), json_string_length(sym)))
        return por2j_bad(p, "assets[%zu].symbol must be 1..32 of A-Z a-z 0-9 . _ -", i);
    memcpy(out->symbol, json_string_value(sym), json_string_length(sym) + 1);
    char file[128];
    snprintf(file, sizeof file, "%s: asset %s", p->file, out->symbol);
    por2j q = {p->err, file};
    CL_TRY(por2j_only(&q, a, "the asset", asset_fields, NF(asset_fields)));
    long long v;
    CL_TRY(por2j_int(&q, a, "usdt_decimals", 0, POR_LEDGER_MAX_DECIMALS, &v));
    out->usdt_decimals = (uint32_t)v;
    CL_TRY(por2j_int(&q, a, "balance_decimals", 0, POR_LEDGER_MAX_DECIMALS, &v));
    out->balance_decimals = (uint32_t)v;
    por_i128 x;
    CL_TRY(por2j_dec128(&q, a, "price", 0, INT64_MAX, &x));
    out->price = (int64_t)x;
    const por_i128 max128 = (por_i128)(((unsigned __int128)1 << 127) - 1);
    CL_TRY(por2j_dec128(&q, a, "weight", 0, max128, &out->weight));
    CL_TRY(por2j_int(&q, a, "range_bits", 0, 1024, &v));
    if (!por2_range_bits_ok((uint32_t)v))
        return por2j_bad(&q, "range_bits is %lld, want a multiple of 8 in 8..128", v);
    out->range_bits = (uint32_t)v;
    por_i256 lim, zero, net, want;
    pow2_i256(m + out->range_bits, &lim); /* E, D < N·2^k */
    por_i256_zero(&zero);
    CL_TRY(por2j_dec256(&q, a, "equity", &out->equity));
    CL_TRY(por2j_dec256(&q, a, "debt", &out->debt));
    if (por_i256_cmp(&out->equity, &zero) < 0 || por_i256_cmp(&out->equity, &lim) >= 0)
        return por2j_bad(&q, "equity is outside [0, padded_accounts·2^range_bits)");
    if (por_i256_cmp(&out->debt, &zero) < 0 || por_i256_cmp(&out->debt, &lim) >= 0)
        return por2j_bad(&q, "debt is outside [0, padded_accounts·2^range_bits)");
    CL_TRY(por2j_dec256(&q, a, "net", &net));
    want = out->equity;
    por_i256_sub(&want, &out->debt);
    if (por_i256_cmp(&net, &want) != 0) return por2j_bad(&q, "net is not equity − debt");
    CL_TRY(por2j_scalar(&q, a, "equity_blinding", out->equity_blinding));
    CL_TRY(por2j_scalar(&q, a, "debt_blinding", out->debt_blinding));
    return CL_OK;
}

static cl_err check_weights(por2j *p, por2_statement *s) {
    uint32_t D = 0;
    for (size_t i = 0; i < s->nassets; i++)
        if (s->assets[i].balance_decimals > D) D = s->assets[i].balance_decimals;
    for (size_t i = 0; i < s->nassets; i++) {
        por2_asset *a = &s->assets[i];
        por_i128 w = (por_i128)a->price * pow10_i128(D - a->balance_decimals);
        if (a->weight != w) {
            char got[41], want[41];
            return por2j_bad(p, "asset %s: weight is %s, want price·10^(D−d) = %s", a->symbol,
                             por_i128_format(a->weight, got), por_i128_format(w, want));
        }
    }
    if (s->equity_decimals != D + s->assets[0].usdt_decimals)
        return por2j_bad(p,
                         "parameters.equity_decimals is %u, want max balance_decimals + "
                         "usdt_decimals = %u",
                         s->equity_decimals, D + s->assets[0].usdt_decimals);
    char why[POR_ERR_LEN];
    uint32_t k = por2_net_equity_bits(s->assets, s->nassets, why);
    if (!k) return por2j_bad(p, "%s", why);
    if (k != s->net_bits)
        return por2j_bad(p,
                         "parameters.net_equity_bits is %u, want %u (from the weights and "
                         "range_bits)",
                         s->net_bits, k);
    return CL_OK;
}

static cl_err parse_assets(por2j *p, json_t *root, por2_statement *s) {
    json_t *arr = json_object_get(root, "assets");
    if (!json_is_array(arr) || json_array_size(arr) < 1 ||
        json_array_size(arr) > POR_LEDGER_MAX_ASSETS)
        return por2j_bad(p, "assets must be an array of 1..%d assets", POR_LEDGER_MAX_ASSETS);
    s->nassets = json_array_size(arr);
    s->assets = cl_calloc(s->nassets, sizeof *s->assets);
    for (size_t i = 0; i < s->nassets; i++) {
        CL_TRY(parse_asset(p, json_array_get(arr, i), i, s->depth, &s->assets[i]));
        if (i && strcmp(s->assets[i - 1].symbol, s->assets[i].symbol) >= 0)
            return por2j_bad(p, "assets are not sorted by symbol and distinct (%s, %s)",
                             s->assets[i - 1].symbol, s->assets[i].symbol);
        if (s->assets[i].usdt_decimals != s->assets[0].usdt_decimals)
            return por2j_bad(p, "asset %s: usdt_decimals differs from %s's (must be equal)",
                             s->assets[i].symbol, s->assets[0].symbol);
    }
    return check_weights(p, s);
}

static cl_err parse_tail(por2j *p, json_t *root, por2_statement *s) {
    json_t *o;
    long long v;
    CL_TRY(por2j_obj(p, root, "root", &o));
    CL_TRY(por2j_only(p, o, "root", hash_fields, NF(hash_fields)));
    CL_TRY(por2j_hex(p, o, "hash", s->root_hash, POR_HASH_LEN));
    CL_TRY(por2j_hex(p, root, "statement_digest", s->digest, POR_HASH_LEN));
    CL_TRY(por2j_obj(p, root, "range_proofs", &o));
    CL_TRY(por2j_only(p, o, "range_proofs", rp_fields, NF(rp_fields)));
    CL_TRY(por2j_int(p, o, "count", 0, POR2_JSON_INT_MAX, &v));
    s->range_count = (uint64_t)v;
    uint64_t want = por2_range_count(s);
    if (s->range_count != want)
        return por2j_bad(p,
                         "range_proofs.count is %lld, want %llu (Σ over the columns of "
                         "ceil(padded_accounts / column batch))",
                         v, (unsigned long long)want);
    CL_TRY(por2j_hex(p, o, "sha256", s->range_sha256, POR_HASH_LEN));
    CL_TRY(por2j_obj(p, root, "merkle_tree", &o));
    CL_TRY(por2j_only(p, o, "merkle_tree", mt_fields, NF(mt_fields)));
    CL_TRY(por2j_int(p, o, "bytes", 0, POR2_JSON_INT_MAX, &v));
    s->tree_bytes = (uint64_t)v;
    CL_TRY(por2j_hex(p, o, "sha256", s->tree_sha256, POR_HASH_LEN));
    return CL_OK;
}

static cl_err parse_final(por2j *p, json_t *root, por2_statement *s) {
    CL_TRY(por2j_only(p, root, "final_proof.json", top_fields, NF(top_fields)));
    CL_TRY(por2j_version(p, root));
    long long v;
    CL_TRY(por2j_int(p, root, "timestamp", 0, POR2_JSON_INT_MAX, &v));
    s->timestamp = (uint64_t)v;
    CL_TRY(parse_params(p, root, s));
    CL_TRY(parse_assets(p, root, s));
    por_i256 total, got;
    por2_total_net_equity(s, &total); /* |.| < N·2^217: no wrap (k_eq checked) */
    char text[80];
    por_i256_format(&total, text);
    CL_TRY(por2j_dec256(p, root, "total_net_equity", &got));
    if (por_i256_cmp(&got, &total) != 0)
        return por2j_bad(p, "total_net_equity must be Σ weight·net = \"%s\"", text);
    if (por_i256_is_negative(&total)) return por2j_bad(p, "total_net_equity %s is negative", text);
    CL_TRY(parse_tail(p, root, s));
    uint8_t d[POR_HASH_LEN];
    por2_statement_digest(s, d);
    if (memcmp(d, s->digest, POR_HASH_LEN) != 0)
        return por2j_bad(p, "statement_digest does not match the digest recomputed from the "
                            "timestamp, parameters, assets, totals, blindings and root");
    return CL_OK;
}

cl_err por2_final_proof_parse(cl_slice json, por2_statement *out, char err[POR_ERR_LEN]) {
    memset(out, 0, sizeof *out);
    err[0] = 0;
    por2j p = {err, "final_proof.json"};
    json_t *root = por2j_load(&p, json);
    if (!root) return CL_ERR_INVALID;
    cl_err e = parse_final(&p, root, out);
    json_decref(root);
    if (e != CL_OK) por2_statement_free(out);
    return e;
}

/* ---- warnings (§8) ---- */

size_t por2_warnings(const por2_statement *s, char (*out)[POR_ERR_LEN], size_t max) {
    size_t n = 0;
    for (size_t i = 0; i < s->nassets && n < max; i++) {
        const por2_asset *a = &s->assets[i];
        por_i256 net = a->equity;
        por_i256_sub(&net, &a->debt);
        if (por_i256_is_negative(&net) || por_i256_bitlen(&net) == 0) {
            char e[80], d[80], t[80];
            por_i256_format(&a->equity, e);
            por_i256_format(&a->debt, d);
            por_i256_format(&net, t);
            snprintf(out[n++], POR_ERR_LEN,
                     "asset %s: customers owe the exchange as much %s as it owes them or more "
                     "(equity %s, debt %s, net %s)",
                     a->symbol, a->symbol, e, d, t);
        }
        if (a->price == 0 && n < max)
            snprintf(out[n++], POR_ERR_LEN,
                     "asset %s: price 0 (its balances count for nothing in any account's net "
                     "equity)",
                     a->symbol);
    }
    return n;
}

/* ---- writing final_proof.json ---- */

static json_t *hexstr(const uint8_t *b, size_t n) {
    char *h = cl_malloc(2 * n + 1);
    hex_encode_to(h, b, n);
    json_t *s = json_string(h);
    free(h);
    return s;
}

static json_t *dec128(por_i128 v) {
    char b[41];
    return json_string(por_i128_format(v, b));
}

static json_t *dec256(const por_i256 *v) {
    char b[80];
    por_i256_format(v, b);
    return json_string(b);
}

static json_t *asset_json(const por2_asset *a) {
    json_t *o = json_object();
    json_object_set_new(o, "symbol", json_string(a->symbol));
    json_object_set_new(o, "usdt_decimals", json_integer(a->usdt_decimals));
    json_object_set_new(o, "balance_decimals", json_integer(a->balance_decimals));
    json_object_set_new(o, "price", dec128(a->price));
    json_object_set_new(o, "weight", dec128(a->weight));
    json_object_set_new(o, "range_bits", json_integer(a->range_bits));
    json_object_set_new(o, "equity", dec256(&a->equity));
    json_object_set_new(o, "debt", dec256(&a->debt));
    por_i256 net = a->equity;
    por_i256_sub(&net, &a->debt);
    json_object_set_new(o, "net", dec256(&net));
    json_object_set_new(o, "equity_blinding", hexstr(a->equity_blinding, POR_SCALAR_LEN));
    json_object_set_new(o, "debt_blinding", hexstr(a->debt_blinding, POR_SCALAR_LEN));
    return o;
}

static json_t *pair(const char *k1, json_t *v1, const char *k2, json_t *v2) {
    json_t *o = json_object();
    json_object_set_new(o, k1, v1);
    if (k2) json_object_set_new(o, k2, v2);
    return o;
}

char *por2_final_proof_format(const por2_statement *s) {
    json_t *r = json_object();
    json_object_set_new(r, "version", json_string(POR2_VERSION));
    json_object_set_new(r, "timestamp", json_integer((json_int_t)s->timestamp));
    json_t *par = json_object();
    json_object_set_new(par, "tree_depth", json_integer(s->depth));
    json_object_set_new(par, "padded_accounts", json_integer((json_int_t)s->padded));
    json_object_set_new(par, "batch_size", json_integer(s->batch));
    json_object_set_new(par, "equity_decimals", json_integer(s->equity_decimals));
    json_object_set_new(par, "net_equity_bits", json_integer(s->net_bits));
    json_object_set_new(r, "parameters", par);
    json_t *arr = json_array();
    for (size_t i = 0; i < s->nassets; i++)
        json_array_append_new(arr, asset_json(&s->assets[i]));
    json_object_set_new(r, "assets", arr);
    por_i256 total;
    por2_total_net_equity(s, &total);
    json_object_set_new(r, "total_net_equity", dec256(&total));
    json_object_set_new(r, "root", pair("hash", hexstr(s->root_hash, POR_HASH_LEN), NULL, NULL));
    json_object_set_new(r, "statement_digest", hexstr(s->digest, POR_HASH_LEN));
    json_object_set_new(r, "range_proofs",
                        pair("count", json_integer((json_int_t)s->range_count), "sha256",
                             hexstr(s->range_sha256, POR_HASH_LEN)));
    json_object_set_new(r, "merkle_tree",
                        pair("bytes", json_integer((json_int_t)s->tree_bytes), "sha256",
                             hexstr(s->tree_sha256, POR_HASH_LEN)));
    char *text = json_dumps(r, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(r);
    cl_buf b = CL_BUF_INIT;
    buf_append_cstr(&b, text);
    buf_append_byte(&b, '\n');
    free(text);
    return buf_take_cstr(&b);
}
