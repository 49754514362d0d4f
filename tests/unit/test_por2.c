/* test_por2.c — cloister-por-v2's shared layer (src/por/protocol2.h) and its
 * final_proof.json (statement2.c): the 256-bit integer helpers, the net-equity
 * width k_eq and its refusal, the range-proof column/batch layout for small N,
 * the statement digest against a value computed independently (Python's
 * hashlib from the spec's byte layout), and final_proof.json's format → parse
 * round trip with every check of spec §6 failing on its own, and the §8
 * warnings' wording. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "por/protocol2.h"
#include "por/rangeproof.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void assert_hex(const uint8_t *b, size_t n, const char *want) {
    char *h = malloc(2 * n + 1);
    hex_encode_to(h, b, n);
    assert_string_equal(h, want);
    free(h);
}

static void i256(por_i256 *v, const char *s) {
    assert_true(por_i256_parse(s, v));
}

static void assert_i256(const por_i256 *v, const char *want) {
    char t[80];
    por_i256_format(v, t);
    assert_string_equal(t, want);
}

/* ---- 256-bit integers ---- */

static void test_i256(void **st) {
    (void)st;
    por_i256 a, b;
    const char *good[] = {
        "0", "1", "-1", "340282366920938463463374607431768211456",
        "-57896044618658097711785492504343953926634992332820282019728792003956564819967"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        i256(&a, good[i]);
        assert_i256(&a, good[i]);
    }
    const char *badv[] = {
        "", "-", "-0", "01", "+1", "1.0", "1e3", " 1", "1 ", "0x10",
        /* 2^255: magnitude too large */
        "57896044618658097711785492504343953926634992332820282019728792003956564819968",
        "1234567890123456789012345678901234567890123456789012345678901234567890123456789"};
    for (size_t i = 0; i < sizeof badv / sizeof *badv; i++)
        assert_false(por_i256_parse(badv[i], &a));
    assert_false(por_i256_parse(NULL, &a));
    /* add_mul_i128: 2^100·(−3) + 5 */
    i256(&a, "5");
    i256(&b, "1267650600228229401496703205376");
    por_i256_add_mul_i128(&a, &b, -3);
    assert_i256(&a, "-3802951800684688204490109616123");
    /* (−2^150)·(−7) */
    i256(&a, "0");
    i256(&b, "-1427247692705959881058285969449495136382746624");
    por_i256_add_mul_i128(&a, &b, -7);
    assert_i256(&a, "9990733848941719167408001786146465954679226368");
    /* from_i128, add, sub, cmp */
    por_i256_from_i128(&a, -42);
    assert_i256(&a, "-42");
    por_i256_from_i128(&b, 50);
    por_i256_add(&a, &b);
    assert_i256(&a, "8");
    por_i256_sub(&a, &b);
    assert_i256(&a, "-42");
    assert_int_equal(por_i256_cmp(&a, &b), -1);
    assert_int_equal(por_i256_cmp(&b, &a), 1);
    assert_int_equal(por_i256_cmp(&b, &b), 0);
    /* bitlen */
    i256(&a, "0");
    assert_int_equal(por_i256_bitlen(&a), 0);
    i256(&a, "1");
    assert_int_equal(por_i256_bitlen(&a), 1);
    i256(&a, "18446744073709551616"); /* 2^64 */
    assert_int_equal(por_i256_bitlen(&a), 65);
    i256(&a, "-1");
    assert_int_equal(por_i256_bitlen(&a), 256);
    /* to_be32 */
    uint8_t be[32];
    i256(&a, "18446744073709551617"); /* 2^64 + 1 */
    por_i256_to_be32(&a, be);
    assert_hex(be, 32, "0000000000000000000000000000000000000000000000010000000000000001");
}

/* ---- parameters ---- */

static por2_asset asset(const char *sym, unsigned d, int64_t price, por_i128 weight, unsigned k) {
    por2_asset a;
    memset(&a, 0, sizeof a);
    snprintf(a.symbol, sizeof a.symbol, "%s", sym);
    a.usdt_decimals = 2;
    a.balance_decimals = d;
    a.price = price;
    a.weight = weight;
    a.range_bits = k;
    return a;
}

static void test_net_bits(void **st) {
    (void)st;
    char err[POR_ERR_LEN];
    /* BTC (d 8, price 3500000) and ETH (d 4, price 200040): weights 3500000 and
     * 2000400000; W = 2003900000·(2^64 − 1) needs 95 bits -> 96. */
    por2_asset t[3] = {asset("BTC", 8, 3500000, 3500000, 64),
                       asset("ETH", 4, 200040, 2000400000, 64)};
    assert_int_equal(por2_net_equity_bits(t, 2, err), 96);
    assert_int_equal(por2_net_equity_bits(t, 1, err), 88); /* 3500000 < 2^22: 86 bits */
    t[0].range_bits = 128;
    assert_int_equal(por2_net_equity_bits(t, 2, err), 152);
    /* all prices 0: W = 0 -> the minimum 8 */
    por2_asset z = asset("Z", 0, 0, 0, 64);
    assert_int_equal(por2_net_equity_bits(&z, 1, err), 8);
    /* an 18-decimal asset at 128 bits next to a 0-decimal one priced high:
     * ETH's weight 4·10^23 (79 bits) + 128 = 207 bits fits; the 0-decimal
     * asset's weight price·10^18 with price 2^62 does not. */
    por_i128 e18 = 1000000000000000000;
    t[0] = asset("BIG", 0, (int64_t)1 << 62, ((por_i128)1 << 62) * e18, 128);
    t[1] = asset("ETH", 18, 400000, 400000, 128);
    assert_int_equal(por2_net_equity_bits(&t[1], 1, err), 152);
    err[0] = 0;
    assert_int_equal(por2_net_equity_bits(t, 2, err), 0);
    assert_non_null(strstr(err, "asset BIG"));
    assert_non_null(strstr(err, "216"));
    t[1] = asset("ETH", 0, 400000, 400000 * e18, 128);
    t[0] = asset("A", 0, 1, 1, 8);
    assert_int_equal(por2_net_equity_bits(t, 2, err), 208);
    assert_true(por2_range_bits_ok(8) && por2_range_bits_ok(64) && por2_range_bits_ok(128));
    assert_false(por2_range_bits_ok(0) || por2_range_bits_ok(12) || por2_range_bits_ok(136));
}

/* ---- a small statement ---- */

static void fill_statement(por2_statement *s, uint32_t depth, uint32_t batch) {
    memset(s, 0, sizeof *s);
    s->timestamp = 1700000000000ull;
    s->depth = depth;
    s->padded = (uint64_t)1 << depth;
    s->batch = batch;
    s->nassets = 2;
    s->assets = calloc(2, sizeof *s->assets);
    s->assets[0] = asset("BTC", 8, 3500000, 3500000, 64);
    s->assets[1] = asset("ETH", 4, 200040, 2000400000, 128);
    i256(&s->assets[0].equity, "150");
    i256(&s->assets[0].debt, "150");
    i256(&s->assets[1].equity, "25000");
    i256(&s->assets[1].debt, "3000");
    for (int a = 0; a < 2; a++) {
        memset(s->assets[a].equity_blinding, 0x11 * (a + 1), 32);
        memset(s->assets[a].debt_blinding, 0x21 * (a + 1), 32);
    }
    s->equity_decimals = 10;
    s->net_bits = por2_net_equity_bits(s->assets, 2, NULL);
    memset(s->root_hash, 0xab, 32);
    s->range_count = por2_range_count(s);
    memset(s->range_sha256, 0xcd, 32);
    s->tree_bytes = 12345;
    memset(s->tree_sha256, 0xef, 32);
    por2_statement_digest(s, s->digest);
}

static void test_layout(void **st) {
    (void)st;
    /* B_c = min(N, 1024, max(1, floor(64·B / k_c))) */
    assert_int_equal(por2_column_batch(4, 2, 64), 2);
    assert_int_equal(por2_column_batch(4, 2, 128), 1);
    assert_int_equal(por2_column_batch(4, 2, 96), 1);
    assert_int_equal(por2_column_batch(8, 480, 64), 8);
    assert_int_equal(por2_column_batch(1 << 20, 480, 64), 480);
    assert_int_equal(por2_column_batch(1 << 20, 480, 128), 240);
    assert_int_equal(por2_column_batch(1 << 20, 1024, 8), 1024);
    assert_int_equal(por2_column_batch(1 << 20, 1, 128), 1);
    assert_int_equal(por2_column_batches(8, 3, 64), 3);
    assert_int_equal(por2_column_batches(1 << 20, 480, 64), 2185);
    por2_statement s;
    fill_statement(&s, 3, 3); /* N 8, B 3: k_eq 160 (1), 64 (3), 128 (1) */
    assert_int_equal(s.net_bits, 160);
    assert_int_equal(por2_column_bits(&s, 0), 160);
    assert_int_equal(por2_column_bits(&s, 1), 64);
    assert_int_equal(por2_column_bits(&s, 2), 64);
    assert_int_equal(por2_column_bits(&s, 3), 128);
    assert_int_equal(por2_column_bits(&s, 4), 128);
    /* column 0: B_0 = floor(192/160) = 1 -> 8 batches; 1, 2: 3 -> 3 batches
     * (3, 3, 2); 3, 4: 1 -> 8 batches */
    assert_int_equal(por2_range_count(&s), 8 + 3 + 3 + 8 + 8);
    assert_int_equal(por2_range_first(&s, 0), 0);
    assert_int_equal(por2_range_first(&s, 1), 8);
    assert_int_equal(por2_range_first(&s, 2), 11);
    assert_int_equal(por2_range_first(&s, 3), 14);
    assert_int_equal(por2_range_first(&s, 4), 22);
    assert_int_equal(por2_range_len(&s, 1, 0), 3);
    assert_int_equal(por2_range_len(&s, 1, 2), 2);
    assert_int_equal(por2_range_len(&s, 1, 3), 0);
    assert_int_equal(por2_range_len(&s, 0, 7), 1);
    uint64_t p160 = por_rangeproof_size(1, 160), p64_3 = por_rangeproof_size(3, 64),
             p64_2 = por_rangeproof_size(2, 64), p128 = por_rangeproof_size(1, 128);
    assert_int_equal(por2_range_offset(&s, 0, 1), p160);
    assert_int_equal(por2_range_offset(&s, 1, 0), 8 * p160);
    assert_int_equal(por2_range_offset(&s, 1, 2), 8 * p160 + 2 * p64_3);
    assert_int_equal(por2_range_offset(&s, 2, 0), 8 * p160 + 2 * p64_3 + p64_2);
    assert_int_equal(por2_range_total(&s), 8 * p160 + 2 * (2 * p64_3 + p64_2) + 16 * p128);
    por2_statement_free(&s);
}

/* Computed with Python's hashlib from spec §4's byte layout. */
#define GOLDEN_DIGEST "9deeb7a400ee3f51c631cc877d1538a7b103d804a596eadd9cd1fd502cd430b2"

static void test_digest(void **st) {
    (void)st;
    por2_statement s;
    fill_statement(&s, 2, 2);
    assert_hex(s.digest, 32, GOLDEN_DIGEST);
    uint8_t uh[32];
    por2_user_hash("alice@example.com", 17, uh);
    assert_hex(uh, 32, "97c50cd345bc9c9822f837eb95906371b07d0b19173c3113981cb68e30791d3c");
    por2_statement_free(&s);
}

/* ---- final_proof.json ---- */

static char *formatted(void) {
    por2_statement s;
    fill_statement(&s, 2, 2);
    char *text = por2_final_proof_format(&s);
    por2_statement_free(&s);
    return text;
}

static void test_roundtrip(void **st) {
    (void)st;
    por2_statement s, back;
    fill_statement(&s, 2, 2);
    char *text = por2_final_proof_format(&s);
    assert_non_null(strstr(text, "\n  \"parameters\": {\n    \"tree_depth\": 2,"));
    assert_non_null(strstr(text, "\"net\": \"0\""));
    assert_non_null(strstr(text, "\"total_net_equity\": \"44008800000000\""));
    assert_int_equal(text[strlen(text) - 1], '\n');
    char err[POR_ERR_LEN];
    assert_int_equal(por2_final_proof_parse(slice_cstr(text), &back, err), CL_OK);
    assert_int_equal(back.timestamp, s.timestamp);
    assert_int_equal(back.depth, 2);
    assert_int_equal(back.padded, 4);
    assert_int_equal(back.batch, 2);
    assert_int_equal(back.net_bits, s.net_bits);
    assert_int_equal(back.equity_decimals, 10);
    assert_int_equal(back.nassets, 2);
    assert_memory_equal(back.assets, s.assets, 2 * sizeof *s.assets);
    assert_memory_equal(back.root_hash, s.root_hash, 32);
    assert_memory_equal(back.digest, s.digest, 32);
    assert_int_equal(back.range_count, s.range_count);
    assert_memory_equal(back.range_sha256, s.range_sha256, 32);
    assert_int_equal(back.tree_bytes, 12345);
    assert_memory_equal(back.tree_sha256, s.tree_sha256, 32);
    char *again = por2_final_proof_format(&back);
    assert_string_equal(again, text);
    free(again);
    free(text);
    por2_statement_free(&back);
    por2_statement_free(&s);
}

/* Applies `edit` to the parsed text, re-serialises, and expects the parse to
 * fail with `want` in the message. */
typedef void (*edit_fn)(json_t *r);

static void expect_refused(const char *text, const char *want) {
    por2_statement s;
    char err[POR_ERR_LEN];
    assert_int_not_equal(por2_final_proof_parse(slice_cstr(text), &s, err), CL_OK);
    if (!strstr(err, want)) fail_msg("wanted \"%s\" in \"%s\"", want, err);
    assert_null(s.assets);
}

static void expect_edit_refused(edit_fn edit, const char *want) {
    char *text = formatted();
    json_t *r = json_loads(text, 0, NULL);
    assert_non_null(r);
    edit(r);
    char *t2 = json_dumps(r, JSON_PRESERVE_ORDER);
    expect_refused(t2, want);
    free(t2);
    json_decref(r);
    free(text);
}

static json_t *asset0(json_t *r) {
    return json_array_get(json_object_get(r, "assets"), 0);
}
static json_t *params(json_t *r) {
    return json_object_get(r, "parameters");
}
#define EDIT(name, body)                                                                           \
    static void name(json_t *r) {                                                                  \
        body;                                                                                      \
    }
EDIT(e_version, json_object_set_new(r, "version", json_string("cloister-por-v1")))
EDIT(e_unknown_top, json_object_set_new(r, "extra", json_true()))
EDIT(e_unknown_param, json_object_set_new(params(r), "range_bits", json_integer(64)))
EDIT(e_unknown_asset, json_object_set_new(asset0(r), "total", json_string("0")))
EDIT(e_unknown_root,
     json_object_set_new(json_object_get(r, "root"), "commitment", json_string("00")))
EDIT(e_missing_debt, json_object_del(asset0(r), "debt"))
EDIT(e_missing_blinding, json_object_del(asset0(r), "debt_blinding"))
EDIT(e_missing_netbits, json_object_del(params(r), "net_equity_bits"))
EDIT(e_missing_tree, json_object_del(r, "merkle_tree"))
EDIT(e_real_depth, json_object_set_new(params(r), "tree_depth", json_real(2.0)))
EDIT(e_real_ts, json_object_set_new(r, "timestamp", json_real(1700000000000.0)))
EDIT(e_string_range, json_object_set_new(asset0(r), "range_bits", json_string("64")))
EDIT(e_padded, json_object_set_new(params(r), "padded_accounts", json_integer(8)))
EDIT(e_batch, json_object_set_new(params(r), "batch_size", json_integer(1025)))
EDIT(e_eqdec, json_object_set_new(params(r), "equity_decimals", json_integer(9)))
EDIT(e_netbits, json_object_set_new(params(r), "net_equity_bits", json_integer(152)))
EDIT(e_rangebits, json_object_set_new(asset0(r), "range_bits", json_integer(60)))
EDIT(e_rangebits0, json_object_set_new(asset0(r), "range_bits", json_integer(0)))
EDIT(e_weight, json_object_set_new(asset0(r), "weight", json_string("3500001")))
EDIT(e_price_neg, json_object_set_new(asset0(r), "price", json_string("-1")))
EDIT(e_price_big, json_object_set_new(asset0(r), "price", json_string("9223372036854775808")))
EDIT(e_price_lead0, json_object_set_new(asset0(r), "price", json_string("03500000")))
EDIT(e_price_num, json_object_set_new(asset0(r), "price", json_integer(3500000)))
EDIT(e_equity_neg, json_object_set_new(asset0(r), "equity", json_string("-1")))
/* N·2^64 = 2^66 */
EDIT(e_equity_big, json_object_set_new(asset0(r), "equity", json_string("73786976294838206464")))
EDIT(e_debt_big, json_object_set_new(asset0(r), "debt", json_string("73786976294838206464")))
EDIT(e_net, json_object_set_new(asset0(r), "net", json_string("1")))
EDIT(e_net_minus0, json_object_set_new(asset0(r), "net", json_string("-0")))
EDIT(e_total, json_object_set_new(r, "total_net_equity", json_string("44008800000001")))
EDIT(e_total_lead, json_object_set_new(r, "total_net_equity", json_string("044008800000000")))
EDIT(e_blinding_r,
     json_object_set_new(
         asset0(r), "equity_blinding",
         json_string("73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001")))
EDIT(e_blinding_upper,
     json_object_set_new(
         asset0(r), "equity_blinding",
         json_string("1111111111111111111111111111111111111111111111111111111111111A11")))
EDIT(e_usdt_dec, json_object_set_new(asset0(r), "usdt_decimals", json_integer(3)))
EDIT(e_symbol, json_object_set_new(asset0(r), "symbol", json_string("B TC")))
EDIT(e_unsorted, json_array_insert_new(json_object_get(r, "assets"), 2, json_copy(asset0(r)));
     json_array_remove(json_object_get(r, "assets"), 0))
EDIT(e_dup_asset, json_array_append(json_object_get(r, "assets"), asset0(r)))
EDIT(e_no_assets, json_array_clear(json_object_get(r, "assets")))
EDIT(e_count, json_object_set_new(json_object_get(r, "range_proofs"), "count", json_integer(3)))
EDIT(e_digest, json_object_set_new(
                   r, "statement_digest",
                   json_string("0000000000000000000000000000000000000000000000000000000000000000")))
EDIT(e_root_hash,
     json_object_set_new(
         json_object_get(r, "root"), "hash",
         json_string("abababababababababababababababababababababababababababababababac")))
EDIT(e_ts_big, json_object_set_new(r, "timestamp", json_integer(1LL << 53)))
EDIT(e_timestamp, json_object_set_new(r, "timestamp", json_integer(1700000000001)))

static void test_checks(void **st) {
    (void)st;
    struct {
        edit_fn f;
        const char *want;
    } cases[] = {
        {e_version, "version must be \"cloister-por-v2\""},
        {e_unknown_top, "unknown field \"extra\""},
        {e_unknown_param, "unknown field \"range_bits\" in parameters"},
        {e_unknown_asset, "asset BTC: unknown field \"total\""},
        {e_unknown_root, "unknown field \"commitment\" in root"},
        {e_missing_debt, "asset BTC: debt is missing"},
        {e_missing_blinding, "debt_blinding is missing"},
        {e_missing_netbits, "net_equity_bits is missing"},
        {e_missing_tree, "merkle_tree is missing"},
        {e_real_depth, "tree_depth is missing or not an integer"},
        {e_real_ts, "timestamp is missing or not an integer"},
        {e_string_range, "range_bits is missing or not an integer"},
        {e_padded, "padded_accounts is 8, want 2^tree_depth = 4"},
        {e_batch, "batch_size is out of range"},
        {e_eqdec, "equity_decimals is 9, want"},
        {e_netbits, "net_equity_bits is 152, want 160"},
        {e_rangebits, "range_bits is 60"},
        {e_rangebits0, "range_bits is 0"},
        {e_weight, "asset BTC: weight is 3500001, want"},
        {e_price_neg, "asset BTC: price is not a canonical decimal"},
        {e_price_big, "asset BTC: price is not a canonical decimal"},
        {e_price_lead0, "asset BTC: price is not a canonical decimal"},
        {e_price_num, "asset BTC: price is missing or not a decimal string"},
        {e_equity_neg, "asset BTC: equity is outside"},
        {e_equity_big, "asset BTC: equity is outside"},
        {e_debt_big, "asset BTC: debt is outside"},
        {e_net, "asset BTC: net is not equity − debt"},
        {e_net_minus0, "asset BTC: net is not a canonical decimal"},
        {e_total, "total_net_equity must be"},
        {e_total_lead, "total_net_equity is not a canonical decimal"},
        {e_blinding_r, "equity_blinding is not a canonical scalar"},
        {e_blinding_upper, "equity_blinding must be 32 bytes of lower-case hex"},
        {e_usdt_dec, "usdt_decimals differs"},
        {e_symbol, "symbol must be"},
        {e_unsorted, "not sorted"},
        {e_dup_asset, "not sorted by symbol and distinct"},
        {e_no_assets, "assets must be an array of 1..1024"},
        {e_count, "range_proofs.count is 3, want"},
        {e_digest, "statement_digest does not match"},
        {e_root_hash, "statement_digest does not match"},
        {e_timestamp, "statement_digest does not match"},
        {e_ts_big, "timestamp is out of range 0..9007199254740991"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        expect_edit_refused(cases[i].f, cases[i].want);
}

static void test_text_checks(void **st) {
    (void)st;
    char *text = formatted();
    /* a duplicate key */
    char *dup = cl_sprintf("{\"version\": \"x\", %s", strchr(text, '"'));
    expect_refused(dup, "duplicate");
    free(dup);
    /* 1e3 and 1.0 where an integer is expected */
    char *p = strstr(text, "\"tree_depth\": 2");
    assert_non_null(p);
    char *t2 = cl_sprintf("%.*s\"tree_depth\": 2.0%s", (int)(p - text), text, p + 15);
    expect_refused(t2, "tree_depth is missing or not an integer");
    free(t2);
    t2 = cl_sprintf("%.*s\"tree_depth\": 2e0%s", (int)(p - text), text, p + 15);
    expect_refused(t2, "tree_depth is missing or not an integer");
    free(t2);
    expect_refused("[1]", "not a JSON object");
    expect_refused("{", "not valid JSON");
    expect_refused("", "not valid JSON");
    free(text);
}

static void test_warnings(void **st) {
    (void)st;
    por2_statement s;
    fill_statement(&s, 2, 2);
    char w[4][POR_ERR_LEN];
    assert_int_equal(por2_warnings(&s, w, 4), 1);
    assert_string_equal(w[0], "asset BTC: customers owe the exchange as much BTC as it owes them "
                              "or more (equity 150, debt 150, net 0)");
    s.assets[1].price = 0;
    i256(&s.assets[0].debt, "151");
    assert_int_equal(por2_warnings(&s, w, 4), 2);
    assert_string_equal(w[0], "asset BTC: customers owe the exchange as much BTC as it owes them "
                              "or more (equity 150, debt 151, net -1)");
    assert_string_equal(w[1], "asset ETH: price 0 (its balances count for nothing in any "
                              "account's net equity)");
    assert_int_equal(por2_warnings(&s, w, 1), 1);
    i256(&s.assets[0].debt, "149");
    assert_int_equal(por2_warnings(&s, w, 4), 1);
    por2_statement_free(&s);
}

/* A price of 0 is allowed in v2 (with its weight 0) and parses. */
static void test_price_zero(void **st) {
    (void)st;
    por2_statement s, back;
    fill_statement(&s, 2, 2);
    s.assets[1].price = 0;
    s.assets[1].weight = 0;
    s.net_bits = por2_net_equity_bits(s.assets, 2, NULL);
    i256(&s.assets[0].debt, "0");
    por2_statement_digest(&s, s.digest);
    s.range_count = por2_range_count(&s);
    por2_statement_digest(&s, s.digest);
    char *text = por2_final_proof_format(&s);
    char err[POR_ERR_LEN];
    assert_int_equal(por2_final_proof_parse(slice_cstr(text), &back, err), CL_OK);
    assert_int_equal(back.assets[1].price, 0);
    free(text);
    por2_statement_free(&back);
    por2_statement_free(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_i256),        cmocka_unit_test(test_net_bits),
        cmocka_unit_test(test_layout),      cmocka_unit_test(test_digest),
        cmocka_unit_test(test_roundtrip),   cmocka_unit_test(test_checks),
        cmocka_unit_test(test_text_checks), cmocka_unit_test(test_warnings),
        cmocka_unit_test(test_price_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
