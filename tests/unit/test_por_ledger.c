/* test_por_ledger.c — the streaming ledger reader (src/por/ledger.c): valid
 * ledgers in both formats (negative balances, any key order, one account,
 * thousands generated here, every chunk size from 1 byte), one test per fault
 * checking that the message names the account and the field, every truncation
 * of a valid ledger refused, and a multi-megabyte ledger read through 4 KiB
 * reads with bounded buffers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "por/ledger.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *ASSETS =
    "\"assets\": {"
    "\"ETH\": {\"usdt_decimals\": 2, \"balance_decimals\": 4, \"price\": 200040},"
    "\"BTC\": {\"usdt_decimals\": 2, \"balance_decimals\": 8, \"price\": 3500000},"
    "\"USDT\": {\"usdt_decimals\": 2, \"balance_decimals\": 2, \"price\": 100}}";

/* ---- helpers ---- */

/* A source that hands out at most `max` bytes per read and cannot rewind. */
typedef struct {
    cl_slice data;
    size_t pos, max, calls, largest;
} drip_src;

static cl_err drip_read(void *ctx, uint8_t *dst, size_t cap, size_t *got) {
    drip_src *d = ctx;
    size_t n = d->data.len - d->pos;
    if (n > cap) n = cap;
    if (n > d->max) n = d->max;
    memcpy(dst, d->data.ptr + d->pos, n);
    d->pos += n;
    d->calls++;
    if (n > d->largest) d->largest = n;
    *got = n;
    return CL_OK;
}

static por_ledger *open_json(const char *text, size_t chunk) {
    por_ledger_config cfg = {.format = POR_LEDGER_JSON, .chunk_size = chunk};
    por_source_mem(&cfg.source, slice_cstr(text));
    return por_ledger_new(&cfg);
}

static por_ledger *open_csv(const char *csv, const char *assets, size_t chunk) {
    por_ledger_config cfg = {.format = POR_LEDGER_CSV, .chunk_size = chunk};
    por_source_mem(&cfg.source, slice_cstr(csv));
    por_source_mem(&cfg.assets, slice_cstr(assets));
    return por_ledger_new(&cfg);
}

/* Reads to the end; returns the status and the count via *n. */
/* Per-asset sums of the accounts the last read_all returned. */
static por_i128 g_sums[16];

static cl_err read_all(por_ledger *l, uint64_t *n) {
    por_account acc;
    bool done = false;
    *n = 0;
    memset(g_sums, 0, sizeof g_sums);
    while (!done) {
        cl_err e = por_ledger_next(l, &acc, &done);
        if (e != CL_OK) return e;
        if (done) break;
        (*n)++;
        for (size_t a = 0; a < por_ledger_asset_count(l) && a < 16; a++)
            g_sums[a] += acc.balances[a];
    }
    return CL_OK;
}

/* Builds a ledger JSON around an accounts body. */
static char *ledger_with(const char *accounts) {
    return cl_sprintf("{\"timestamp\": 1700000000000, %s, \"accounts\": {%s}}", ASSETS, accounts);
}

/* The error of reading `text` must contain every string in the NULL-ended list. */
static void expect_fault_v(por_ledger *l, va_list ap) {
    uint64_t n;
    cl_err e = read_all(l, &n);
    const char *msg = por_ledger_error(l);
    if (e == CL_OK) fail_msg("accepted; wanted an error");
    for (const char *want; (want = va_arg(ap, const char *));)
        if (!strstr(msg, want)) fail_msg("message \"%s\" lacks \"%s\"", msg, want);
    por_ledger_free(l);
}

static void json_fault(const char *text, ...) {
    va_list ap;
    va_start(ap, text);
    expect_fault_v(open_json(text, 0), ap);
    va_end(ap);
}

static void account_fault(const char *accounts, ...) {
    char *text = ledger_with(accounts);
    va_list ap;
    va_start(ap, accounts);
    expect_fault_v(open_json(text, 0), ap);
    va_end(ap);
    free(text);
}

static const char *CSV_ASSETS =
    "{\"timestamp\": 5, \"assets\": {"
    "\"ETH\": {\"usdt_decimals\": 2, \"balance_decimals\": 4, \"price\": 200040},"
    "\"BTC\": {\"usdt_decimals\": 2, \"balance_decimals\": 8, \"price\": 3500000}}}";

static void csv_fault(const char *csv, ...) {
    va_list ap;
    va_start(ap, csv);
    expect_fault_v(open_csv(csv, CSV_ASSETS, 0), ap);
    va_end(ap);
}

/* ---- valid ledgers ---- */

static void valid_json(void **state) {
    (void)state;
    char *text = ledger_with("\"00ff\": {\"BTC\": 534054, \"ETH\": -4761, \"USDT\": 0},"
                             "\"ABcd01\": {\"USDT\": 9223372036854775807, \"ETH\": 1, \"BTC\": "
                             "-9223372036854775808}");
    por_ledger *l = open_json(text, 0);
    assert_int_equal(por_ledger_begin(l), CL_OK);
    assert_int_equal(por_ledger_asset_count(l), 3);
    const por_asset *as = por_ledger_assets(l);
    assert_string_equal(as[0].symbol, "BTC");
    assert_string_equal(as[1].symbol, "ETH");
    assert_string_equal(as[2].symbol, "USDT");
    assert_true(as[0].weight == 3500000);
    assert_true(as[1].weight == (por_i128)200040 * 10000);
    assert_true(as[2].weight == (por_i128)100 * 1000000);
    assert_int_equal(as[1].balance_decimals, 4);
    assert_int_equal(por_ledger_equity_decimals(l), 10);
    assert_int_equal(por_ledger_timestamp(l), 1700000000000LL);

    por_account acc;
    bool done;
    assert_int_equal(por_ledger_next(l, &acc, &done), CL_OK);
    assert_false(done);
    assert_int_equal(acc.user_hash_len, 2);
    assert_memory_equal(acc.user_hash, "\x00\xff", 2);
    assert_int_equal(acc.balances[0], 534054);
    assert_int_equal(acc.balances[1], -4761);
    assert_int_equal(acc.balances[2], 0);
    assert_int_equal(acc.index, 0);
    assert_int_equal(por_ledger_next(l, &acc, &done), CL_OK);
    assert_false(done);
    assert_memory_equal(acc.user_hash, "\xab\xcd\x01", 3);
    assert_true(acc.balances[0] == INT64_MIN);
    assert_int_equal(acc.balances[2], INT64_MAX);
    assert_int_equal(por_ledger_next(l, &acc, &done), CL_OK);
    assert_true(done);
    assert_int_equal(por_ledger_next(l, &acc, &done), CL_OK); /* stays done */
    assert_true(done);
    const por_u128 *me = por_ledger_max_equity(l), *md = por_ledger_max_debt(l);
    assert_true(me[0] == 534054 && md[0] == (por_u128)1 << 63);
    assert_true(me[1] == 1 && md[1] == 4761);
    assert_true(me[2] == INT64_MAX && md[2] == 0);
    assert_int_equal(por_ledger_count(l), 2);
    assert_string_equal(por_ledger_error(l), "");
    por_ledger_free(l);
    free(text);
}

static void one_account_and_any_key_order(void **state) {
    (void)state;
    /* accounts first: read in two passes from a rewindable source */
    const char *text = "\xef\xbb\xbf{\"note\": [1, {\"x\": null}, \"s\\u00e9\"], \"accounts\": "
                       "{\"01\": {\"B\": -5, \"A\": 7}}, \"assets\": {\"B\": {\"price\": 3, "
                       "\"balance_decimals\": 0, \"usdt_decimals\": 1, \"name\": \"bee\"}, "
                       "\"A\": {\"usdt_decimals\": 1, \"balance_decimals\": 0, \"price\": 1}},"
                       " \"timestamp\": 0}";
    for (size_t chunk = 1; chunk < 40; chunk += 3) {
        por_ledger *l = open_json(text, chunk);
        uint64_t n;
        assert_int_equal(read_all(l, &n), CL_OK);
        assert_int_equal(n, 1);
        assert_true(g_sums[0] == 7 && por_ledger_max_equity(l)[0] == 7);
        assert_true(g_sums[1] == -5 && por_ledger_max_debt(l)[1] == 5);
        assert_int_equal(por_ledger_get_stats(l).passes, 2);
        por_ledger_free(l);
    }
    /* timestamp after accounts also needs the second pass */
    char *late = cl_sprintf("{%s, \"accounts\": {\"01\": {\"ETH\": 1, \"BTC\": 2, \"USDT\": 3}},"
                            " \"timestamp\": 9}",
                            ASSETS);
    por_ledger *l = open_json(late, 0);
    uint64_t n;
    assert_int_equal(read_all(l, &n), CL_OK);
    assert_int_equal(por_ledger_timestamp(l), 9);
    por_ledger_free(l);
    free(late);
}

static void accounts_first_on_a_pipe(void **state) {
    (void)state;
    char *text = cl_sprintf("{\"accounts\": {}, \"timestamp\": 1, %s}", ASSETS);
    drip_src d = {slice_cstr(text), 0, 100, 0, 0};
    por_ledger_config cfg = {.format = POR_LEDGER_JSON};
    cfg.source = (por_source){drip_read, NULL, NULL, &d};
    por_ledger *l = por_ledger_new(&cfg);
    assert_int_equal(por_ledger_begin(l), CL_ERR_INVALID);
    assert_non_null(strstr(por_ledger_error(l), "put \"assets\" and \"timestamp\" first"));
    por_ledger_free(l);
    free(text);
}

/* A deterministic generator so failures reproduce. */
static uint64_t rng_next(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

#define GEN_ASSETS 7

/* n accounts over GEN_ASSETS assets as JSON (csv = false) or CSV; sums into totals. */
static char *generate(size_t n, bool csv, por_i128 totals[GEN_ASSETS], char **assets_out) {
    cl_buf b = CL_BUF_INIT, a = CL_BUF_INIT;
    uint64_t s = 0x9e3779b97f4a7c15ull;
    buf_append_cstr(&a, "{\"timestamp\": 42, \"assets\": {");
    for (int j = 0; j < GEN_ASSETS; j++)
        buf_appendf(&a,
                    "%s\"A%d\": {\"usdt_decimals\": 6, \"balance_decimals\": %d, \"price\": %d}",
                    j ? "," : "", j, j, j + 1);
    buf_append_cstr(&a, "}");
    if (csv) {
        buf_append_cstr(&b, "id");
        for (int j = GEN_ASSETS - 1; j >= 0; j--) /* header in reverse order */
            buf_appendf(&b, ",A%d", j);
        buf_append_cstr(&b, "\r\n");
    } else {
        buf_append_cstr(&b, "{\"timestamp\": 42, \"assets\": ");
        buf_append(&b, a.ptr + strlen("{\"timestamp\": 42, \"assets\": "),
                   a.len - strlen("{\"timestamp\": 42, \"assets\": "));
        buf_append_cstr(&b, ", \"accounts\": {");
    }
    for (int j = 0; j < GEN_ASSETS; j++)
        totals[j] = 0;
    for (size_t i = 0; i < n; i++) {
        if (csv)
            buf_appendf(&b, "%064zx", i * 2654435761u);
        else
            buf_appendf(&b, "%s\n\"%064zx\": {", i ? "," : "", i * 2654435761u);
        for (int k = 0; k < GEN_ASSETS; k++) {
            int j = csv ? GEN_ASSETS - 1 - k : (int)((k + i) % GEN_ASSETS); /* rotate order */
            uint64_t shift = 1 + rng_next(&s) % 63;
            int64_t v = (int64_t)(rng_next(&s) >> shift);
            if (s & 1) v = -v - 1; /* covers [-2^63, 2^63) */
            if (i == 7) v = j % 2 ? INT64_MIN : INT64_MAX;
            totals[j] += v;
            if (csv)
                buf_appendf(&b, ",%lld", (long long)v);
            else
                buf_appendf(&b, "%s\"A%d\": %lld", k ? ", " : "", j, (long long)v);
        }
        buf_append_cstr(&b, csv ? "\n" : "}");
    }
    if (!csv) buf_append_cstr(&b, "}}\n");
    buf_append_cstr(&a, "}");
    *assets_out = buf_take_cstr(&a);
    return buf_take_cstr(&b);
}

static void check_generated(por_ledger *l, size_t n, const por_i128 *want) {
    uint64_t got;
    cl_err e = read_all(l, &got);
    if (e != CL_OK) fail_msg("%s", por_ledger_error(l));
    assert_int_equal(got, n);
    for (int j = 0; j < GEN_ASSETS; j++)
        assert_true(g_sums[j] == want[j]);
}

static void many_accounts_both_formats(void **state) {
    (void)state;
    const size_t n = 3000;
    por_i128 totals[GEN_ASSETS];
    char *assets;
    char *json = generate(n, false, totals, &assets);
    free(assets);
    size_t chunks[] = {1, 7, 4096, 0};
    for (size_t c = 0; c < 4; c++) {
        por_ledger *l = open_json(json, chunks[c]);
        check_generated(l, n, totals);
        por_ledger_free(l);
    }
    free(json);
    char *csv = generate(n, true, totals, &assets);
    for (size_t c = 0; c < 4; c++) {
        por_ledger *l = open_csv(csv, assets, chunks[c]);
        check_generated(l, n, totals);
        por_ledger_free(l);
    }
    free(csv);
    free(assets);
}

static void valid_csv(void **state) {
    (void)state;
    por_ledger *l = open_csv("\xef\xbb\xbfid,ETH,BTC\r\n00AA,-1,2\r\n01,0,-0", CSV_ASSETS, 3);
    por_account acc;
    bool done;
    assert_int_equal(por_ledger_next(l, &acc, &done), CL_OK);
    assert_memory_equal(acc.user_hash, "\x00\xaa", 2);
    assert_int_equal(acc.balances[0], 2);  /* BTC sorts first */
    assert_int_equal(acc.balances[1], -1); /* ETH */
    assert_int_equal(por_ledger_next(l, &acc, &done), CL_OK);
    assert_false(done);
    assert_int_equal(por_ledger_next(l, &acc, &done), CL_OK);
    assert_true(done);
    assert_int_equal(por_ledger_timestamp(l), 5);
    assert_true(por_ledger_max_debt(l)[1] == 1 && por_ledger_max_equity(l)[1] == 0);
    por_ledger_free(l);
}

static void user_hash_lengths(void **state) {
    (void)state;
    char h64[129], h65[131];
    memset(h64, 'e', 128);
    h64[128] = 0;
    memset(h65, 'e', 130);
    h65[130] = 0;
    char *acc = cl_sprintf("\"%s\": {\"ETH\": 1, \"BTC\": 1, \"USDT\": 1}", h64);
    char *text = ledger_with(acc);
    por_ledger *l = open_json(text, 0);
    uint64_t n;
    assert_int_equal(read_all(l, &n), CL_OK);
    por_ledger_free(l);
    free(text);
    free(acc);
    acc = cl_sprintf("\"%s\": {\"ETH\": 1, \"BTC\": 1, \"USDT\": 1}", h65);
    account_fault(acc, "account \"eeee", "longer than 64 bytes", NULL);
    free(acc);
}

/* ---- faults, JSON ---- */

static void fault_missing_asset(void **state) {
    (void)state;
    account_fault("\"3f2a\": {\"ETH\": 1, \"USDT\": 2}", "account 3f2a", "asset BTC is missing",
                  NULL);
    account_fault("\"3f2a\": {}", "account 3f2a", "is missing", NULL);
}

static void fault_unknown_and_repeated_asset(void **state) {
    (void)state;
    account_fault("\"3f2a\": {\"ETH\": 1, \"DOGE\": 2}", "account 3f2a", "unknown asset \"DOGE\"",
                  NULL);
    account_fault("\"3f2a\": {\"ETH\": 1, \"ETH\": 2}", "account 3f2a", "asset ETH appears twice",
                  NULL);
}

static void fault_not_integer(void **state) {
    (void)state;
    const char *bad[] = {"1.5", "\"12\"", "1e3", "1.0", "null", "true", "{}", "[1]", "-0.0"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *acc = cl_sprintf("\"3f2a\": {\"BTC\": 1, \"ETH\": %s, \"USDT\": 0}", bad[i]);
        account_fault(acc, "account 3f2a", "asset ETH", "balance is not an integer", NULL);
        free(acc);
    }
    account_fault("\"3f2a\": {\"BTC\": 1, \"ETH\": 1.5, \"USDT\": 0}", "(got 1.5)", NULL);
}

static void fault_overflow(void **state) {
    (void)state;
    const char *bad[] = {"170141183460469231731687303715884105728",
                         "-170141183460469231731687303715884105729",
                         "123456789012345678901234567890123456789012345678901234567890"};
    for (size_t i = 0; i < 3; i++) {
        char *acc = cl_sprintf("\"3f2a\": {\"BTC\": %s, \"ETH\": 1, \"USDT\": 0}", bad[i]);
        account_fault(acc, "account 3f2a", "asset BTC", "balance out of range", NULL);
        free(acc);
    }
}

/* v2: 128-bit balances (18-decimal assets), price 0, maxima per asset. */
static void wide_balances_and_price_zero(void **state) {
    (void)state;
    const char *text =
        "{\"timestamp\": 1, \"assets\": {\"ETH\": {\"usdt_decimals\": 2, \"balance_decimals\": 18, "
        "\"price\": 400000}, \"JUNK\": {\"usdt_decimals\": 2, \"balance_decimals\": 0, \"price\": "
        "0}},"
        " \"accounts\": {\"01\": {\"ETH\": 1000000000000000000000, \"JUNK\": 5},"
        " \"02\": {\"ETH\": 170141183460469231731687303715884105727, \"JUNK\": 0},"
        " \"03\": {\"ETH\": -170141183460469231731687303715884105728, \"JUNK\": -1}}}";
    for (size_t chunk = 1; chunk < 64; chunk += 9) {
        por_ledger *l = open_json(text, chunk);
        assert_int_equal(por_ledger_begin(l), CL_OK);
        const por_asset *as = por_ledger_assets(l);
        assert_string_equal(as[0].symbol, "ETH");
        assert_true(as[1].price == 0 && as[1].weight == 0);
        por_account acc;
        bool done;
        assert_int_equal(por_ledger_next(l, &acc, &done), CL_OK);
        assert_true(acc.balances[0] == (por_i128)1000000000000000000ull * 1000);
        assert_int_equal(por_ledger_next(l, &acc, &done), CL_OK);
        assert_true(acc.balances[0] == (por_i128)(((por_u128)1 << 127) - 1));
        assert_int_equal(por_ledger_next(l, &acc, &done), CL_OK);
        assert_true(acc.balances[0] == (por_i128)((por_u128)1 << 127)); /* -2^127 */
        assert_int_equal(por_ledger_next(l, &acc, &done), CL_OK);
        assert_true(done);
        assert_true(por_ledger_max_equity(l)[0] == ((por_u128)1 << 127) - 1);
        assert_true(por_ledger_max_debt(l)[0] == (por_u128)1 << 127);
        assert_true(por_ledger_max_equity(l)[1] == 5 && por_ledger_max_debt(l)[1] == 1);
        por_ledger_free(l);
    }
    por_ledger *l = open_csv("id,ETH,BTC\n01,-170141183460469231731687303715884105728,"
                             "170141183460469231731687303715884105727\n",
                             CSV_ASSETS, 5);
    uint64_t n;
    assert_int_equal(read_all(l, &n), CL_OK);
    assert_true(por_ledger_max_debt(l)[1] == (por_u128)1 << 127);
    assert_true(por_ledger_max_equity(l)[0] == ((por_u128)1 << 127) - 1);
    por_ledger_free(l);
    account_fault("\"3f2a\": {\"BTC\": 1, \"ETH\": 170141183460469231731687303715884105728, "
                  "\"USDT\": 0}",
                  "account 3f2a", "asset ETH", "balance out of range", NULL);
}

static void fault_duplicate_user(void **state) {
    (void)state;
    account_fault("\"ab01\": {\"BTC\": 1, \"ETH\": 1, \"USDT\": 0},"
                  "\"cc\": {\"BTC\": 1, \"ETH\": 1, \"USDT\": 0},"
                  "\"AB01\": {\"BTC\": 1, \"ETH\": 1, \"USDT\": 0}",
                  "account AB01", "duplicate user hash", NULL);
}

static void fault_bad_hex(void **state) {
    (void)state;
    account_fault("\"3g2a\": {\"BTC\": 1, \"ETH\": 1, \"USDT\": 0}", "account \"3g2a\"", "not hex",
                  NULL);
    account_fault("\"3f2\": {\"BTC\": 1, \"ETH\": 1, \"USDT\": 0}", "account 3f2",
                  "odd number of hex digits", NULL);
    account_fault("\"\": {\"BTC\": 1, \"ETH\": 1, \"USDT\": 0}", "account \"\"", "empty", NULL);
}

static char *assets_ledger(const char *assets) {
    return cl_sprintf("{\"timestamp\": 1, \"assets\": {%s}, \"accounts\": {\"01\": {\"X\": 1, "
                      "\"Y\": 1}}}",
                      assets);
}

static void asset_fault(const char *assets, ...) {
    char *text = assets_ledger(assets);
    va_list ap;
    va_start(ap, assets);
    expect_fault_v(open_json(text, 0), ap);
    va_end(ap);
    free(text);
}

static void fault_decimals_and_price(void **state) {
    (void)state;
    const char *x = "\"X\": {\"usdt_decimals\": 2, \"balance_decimals\": 2, \"price\": 5}";
    char *a;
    a = cl_sprintf("%s, \"Y\": {\"usdt_decimals\": 3, \"balance_decimals\": 2, \"price\": 5}", x);
    asset_fault(a, "asset Y", "usdt_decimals 3 differs from 2 (asset X)", NULL);
    free(a);
    a = cl_sprintf("%s, \"Y\": {\"usdt_decimals\": 2, \"price\": 5}", x);
    asset_fault(a, "asset Y", "balance_decimals is missing", NULL);
    free(a);
    a = cl_sprintf("%s, \"Y\": {\"usdt_decimals\": 2, \"balance_decimals\": 2}", x);
    asset_fault(a, "asset Y", "price is missing", NULL);
    free(a);
    a = cl_sprintf("%s, \"Y\": {\"usdt_decimals\": 2, \"balance_decimals\": 19, \"price\": 5}", x);
    asset_fault(a, "asset Y", "balance_decimals 19 is out of range", NULL);
    free(a);
    a = cl_sprintf("%s, \"Y\": {\"usdt_decimals\": 2, \"balance_decimals\": 1, \"price\": -1}", x);
    asset_fault(a, "asset Y", "price -1 is out of range", NULL);
    free(a);
    a = cl_sprintf("%s, \"Y\": {\"usdt_decimals\": 2, \"balance_decimals\": 1, \"price\": 2.5}", x);
    asset_fault(a, "asset Y", "price is not an integer", NULL);
    free(a);
    a = cl_sprintf("%s, \"Y\": {\"usdt_decimals\": 2, \"usdt_decimals\": 2}", x);
    asset_fault(a, "asset Y", "usdt_decimals appears twice", NULL);
    free(a);
    a = cl_sprintf("%s, \"X\": {\"usdt_decimals\": 2, \"balance_decimals\": 2, \"price\": 5}", x);
    asset_fault(a, "asset X appears twice", NULL);
    free(a);
    a = cl_sprintf("%s, \"Y Z\": {\"usdt_decimals\": 2, \"balance_decimals\": 2, \"price\": 5}", x);
    asset_fault(a, "asset \"Y Z\"", "symbol", NULL);
    free(a);
    asset_fault("", "\"assets\" is empty", NULL);
}

static void fault_structure(void **state) {
    (void)state;
    json_fault("", "empty", NULL);
    json_fault("  \n", "empty", NULL);
    json_fault("[]", "expected '{'", NULL);
    char *t = ledger_with("");
    json_fault(t, "no accounts", NULL);
    free(t);
    t = cl_sprintf("{\"timestamp\": 1, %s}", ASSETS);
    json_fault(t, "no \"accounts\"", NULL);
    free(t);
    json_fault("{\"timestamp\": 1, \"accounts\": {}}", "no \"assets\"", NULL);
    t = cl_sprintf("{%s, \"accounts\": {}}", ASSETS);
    json_fault(t, "no \"timestamp\"", NULL);
    free(t);
    t = cl_sprintf("{\"timestamp\": -1, %s, \"accounts\": {}}", ASSETS);
    json_fault(t, "\"timestamp\" is not a non-negative integer", NULL);
    free(t);
    t = cl_sprintf("{\"timestamp\": 1, \"timestamp\": 2, %s, \"accounts\": {}}", ASSETS);
    json_fault(t, "duplicate top-level key", NULL);
    free(t);
    const char *acc = "\"01\": {\"BTC\": 1, \"ETH\": 1, \"USDT\": 0}";
    t = cl_sprintf("{\"timestamp\": 1, %s, \"accounts\": {%s}, \"assets\": 1}", ASSETS, acc);
    json_fault(t, "duplicate top-level key", NULL);
    free(t);
    t = cl_sprintf("{\"timestamp\": 1, %s, \"accounts\": {%s}} x", ASSETS, acc);
    json_fault(t, "unexpected data after the end", NULL);
    free(t);
    t = cl_sprintf("{\"timestamp\": 1, %s, \"accounts\": {%s}}}", ASSETS, acc);
    json_fault(t, "unexpected data after the end", NULL);
    free(t);
    t = cl_sprintf("{\"timestamp\": 1, %s, \"accounts\": {%s,}}", ASSETS, acc);
    json_fault(t, "expected a user hash", NULL);
    free(t);
    t = cl_sprintf("{\"timestamp\": 1, %s, \"accounts\": {\"01\": 5}}", ASSETS);
    json_fault(t, "account 01", "balances are not an object", NULL);
    free(t);
    json_fault("{\"x\": 01}", "leading zero", NULL);
    json_fault("{\"x\": \"\\q\"}", "bad escape", NULL);
    json_fault("{\"x\": \"\\ud800x\"}", "surrogate", NULL);
    json_fault("{\"x\": \"a\tb\"}", "control character", NULL);
    json_fault("{\"x\": nul}", "invalid literal", NULL);
}

static void fault_every_truncation(void **state) {
    (void)state;
    char *text = ledger_with("\"00ff\": {\"BTC\": 534054, \"ETH\": -4761, \"USDT\": 0},"
                             "\"0e\": {\"USDT\": 12, \"ETH\": 1, \"BTC\": -2}");
    size_t len = strlen(text);
    for (size_t cut = 0; cut < len; cut++) {
        char *prefix = cl_strndup(text, cut);
        por_ledger *l = open_json(prefix, 5);
        uint64_t n;
        if (read_all(l, &n) == CL_OK) fail_msg("prefix of %zu bytes accepted", cut);
        por_ledger_free(l);
        free(prefix);
    }
    free(text);
}

/* ---- faults, CSV ---- */

static void fault_csv(void **state) {
    (void)state;
    csv_fault("id,ETH\n01,1\n", "line 1", "asset BTC has no column", NULL);
    csv_fault("id,ETH,BTC,DOGE\n", "line 1", "unknown asset \"DOGE\"", NULL);
    csv_fault("id,ETH,ETH,BTC\n", "line 1", "asset ETH has two columns", NULL);
    csv_fault("user,ETH,BTC\n", "line 1", "first column must be \"id\"", NULL);
    csv_fault("id,ETH,BTC\n", "no accounts", NULL);
    csv_fault("", "empty", NULL);
    csv_fault("id,ETH,BTC\n01,1,2\n02,1\n", "line 3 (account 02)", "expected 3 fields, found 2",
              NULL);
    csv_fault("id,ETH,BTC\n01,1,2,3\n", "line 2 (account 01)", "more than 3 fields", NULL);
    csv_fault("id,ETH,BTC\n01,1.5,2\n", "line 2 (account 01)", "asset ETH",
              "balance is not an integer (got \"1.5\")", NULL);
    csv_fault("id,ETH,BTC\n01,1e3,2\n", "account 01", "asset ETH", "not an integer", NULL);
    csv_fault("id,ETH,BTC\n01, 1,2\n", "account 01", "asset ETH", "not an integer", NULL);
    csv_fault("id,ETH,BTC\n01,-,2\n", "account 01", "asset ETH", "not an integer", NULL);
    csv_fault("id,ETH,BTC\n01,1,\n", "account 01", "asset BTC", "balance is missing", NULL);
    csv_fault("id,ETH,BTC\n01,1,170141183460469231731687303715884105728\n", "account 01",
              "asset BTC", "balance out of range", NULL);
    csv_fault("id,ETH,BTC\n01,1,\"2\"\n", "line 2", "quoted fields are not supported", NULL);
    csv_fault("id,ETH,BTC\n01,1,2\n02,1,2\n01,3,4\n", "line 4 (account 01)", "duplicate user hash",
              NULL);
    csv_fault("id,ETH,BTC\nxy,1,2\n", "line 2 (account \"xy\")", "not hex", NULL);
    csv_fault("id,ETH,BTC\n01,1,2\n\n02,1,2\n", "line 3", "empty line", NULL);
    csv_fault("id,ETH,BTC\n01,1,2\r03,1,2\n", "line 2", "carriage return", NULL);
    csv_fault("id,ETH,BTC\n,1,2\n", "line 2", "user hash is empty", NULL);

    por_ledger *l = open_csv("id,ETH,BTC\n01,1,2\n", "{\"timestamp\": 1, \"assets\": {}}", 0);
    uint64_t n;
    assert_int_not_equal(read_all(l, &n), CL_OK);
    assert_non_null(strstr(por_ledger_error(l), "\"assets\" is empty"));
    por_ledger_free(l);
    l = open_csv("id,ETH,BTC\n01,1,2\n",
                 "{\"timestamp\": 1, \"assets\": {\"ETH\": {\"usdt_decimals\": 2, "
                 "\"balance_decimals\": 4, \"price\": 1}}, \"accounts\": {}}",
                 0);
    assert_int_not_equal(read_all(l, &n), CL_OK);
    assert_non_null(strstr(por_ledger_error(l), "the assets file must not contain \"accounts\""));
    por_ledger_free(l);
    /* a CSV config without assets */
    por_ledger_config cfg = {.format = POR_LEDGER_CSV};
    por_source_mem(&cfg.source, slice_cstr("id\n"));
    l = por_ledger_new(&cfg);
    assert_int_not_equal(por_ledger_begin(l), CL_OK);
    assert_non_null(strstr(por_ledger_error(l), "needs an assets file"));
    por_ledger_free(l);
}

/* ---- bounded memory ---- */

static void large_ledger_bounded_memory(void **state) {
    (void)state;
    const size_t n = 30000; /* ~7 MB */
    por_i128 totals[GEN_ASSETS];
    char *assets;
    char *json = generate(n, false, totals, &assets);
    free(assets);
    size_t len = strlen(json);
    assert_true(len > 5 * 1024 * 1024);
    drip_src d = {slice_of(json, len), 0, 4096, 0, 0};
    por_ledger_config cfg = {.format = POR_LEDGER_JSON, .chunk_size = 4096};
    cfg.source = (por_source){drip_read, NULL, NULL, &d};
    por_ledger *l = por_ledger_new(&cfg);
    check_generated(l, n, totals);
    por_ledger_stats s = por_ledger_get_stats(l);
    assert_int_equal(s.bytes_read, len);
    assert_int_equal(s.passes, 1);
    assert_int_equal(s.chunk_size, 4096);
    assert_true(d.largest <= 4096);
    assert_true(d.calls >= len / 4096);
    /* the tokenizer kept no token longer than the longest key (a 64-hex user hash) */
    assert_true(s.max_token <= 64);
    /* the duplicate set: the user hash bytes plus a bounded table share */
    assert_int_equal(s.hashset_count, n);
    assert_true(s.hashset_bytes <= n * (32 + 1) * 2 + n * 8 * 4);
    por_ledger_free(l);
    free(json);
}

/* ---- files and helpers ---- */

static void files_and_formats(void **state) {
    (void)state;
    assert_int_equal(por_ledger_format_for_path("x/ledger.CSV"), POR_LEDGER_CSV);
    assert_int_equal(por_ledger_format_for_path("private_ledger.json"), POR_LEDGER_JSON);
    assert_int_equal(por_ledger_format_for_path("csv"), POR_LEDGER_JSON);
    char dir[] = "/tmp/por_ledger_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *lp = cl_sprintf("%s/l.csv", dir), *ap = cl_sprintf("%s/a.json", dir);
    char *jp = cl_sprintf("%s/l.json", dir);
    assert_int_equal(file_write_atomic(lp, slice_cstr("id,BTC,ETH\n0a,1,2\n"), 0600), CL_OK);
    assert_int_equal(file_write_atomic(ap, slice_cstr(CSV_ASSETS), 0600), CL_OK);
    char *acc = cl_sprintf("{%s, \"accounts\": {\"0a\": {\"BTC\": 1, \"ETH\": 1, \"USDT\": 0}},"
                           " \"timestamp\": 3}",
                           ASSETS);
    assert_int_equal(file_write_atomic(jp, slice_cstr(acc), 0600), CL_OK);
    por_ledger *l;
    uint64_t n;
    assert_int_equal(por_ledger_open_file(&l, lp, ap), CL_OK);
    assert_int_equal(read_all(l, &n), CL_OK);
    assert_int_equal(n, 1);
    por_ledger_free(l);
    assert_int_equal(por_ledger_open_file(&l, jp, NULL), CL_OK);
    assert_int_equal(read_all(l, &n), CL_OK); /* timestamp last: rewinds the file */
    assert_int_equal(por_ledger_get_stats(l).passes, 2);
    por_ledger_free(l);
    char *missing = cl_sprintf("%s/none.json", dir);
    assert_int_equal(por_ledger_open_file(&l, missing, NULL), CL_ERR_NOT_FOUND);
    assert_non_null(strstr(por_ledger_error(l), "none.json"));
    assert_int_not_equal(read_all(l, &n), CL_OK);
    por_ledger_free(l);
    unlink(lp);
    unlink(ap);
    unlink(jp);
    rmdir(dir);
    free(lp);
    free(ap);
    free(jp);
    free(acc);
    free(missing);
}

static void i128_format(void **state) {
    (void)state;
    char b[41];
    assert_string_equal(por_i128_format(0, b), "0");
    assert_string_equal(por_i128_format(-42, b), "-42");
    por_i128 big = (por_i128)INT64_MAX * 1000000 + 7;
    assert_string_equal(por_i128_format(big, b), "9223372036854775807000007");
    por_i128 min = (por_i128)((unsigned __int128)1 << 127);
    assert_string_equal(por_i128_format(min, b), "-170141183460469231731687303715884105728");
}

int main(void) {
    const struct CMUnitTest t[] = {
        cmocka_unit_test(valid_json),
        cmocka_unit_test(one_account_and_any_key_order),
        cmocka_unit_test(accounts_first_on_a_pipe),
        cmocka_unit_test(many_accounts_both_formats),
        cmocka_unit_test(valid_csv),
        cmocka_unit_test(user_hash_lengths),
        cmocka_unit_test(fault_missing_asset),
        cmocka_unit_test(fault_unknown_and_repeated_asset),
        cmocka_unit_test(fault_not_integer),
        cmocka_unit_test(fault_overflow),
        cmocka_unit_test(fault_duplicate_user),
        cmocka_unit_test(fault_bad_hex),
        cmocka_unit_test(fault_decimals_and_price),
        cmocka_unit_test(fault_structure),
        cmocka_unit_test(fault_every_truncation),
        cmocka_unit_test(fault_csv),
        cmocka_unit_test(wide_balances_and_price_zero),
        cmocka_unit_test(large_ledger_bounded_memory),
        cmocka_unit_test(files_and_formats),
        cmocka_unit_test(i128_format),
    };
    return cmocka_run_group_tests(t, NULL, NULL);
}
