/* fuzz_por_ledger.c — libFuzzer target for the streaming ledger reader
 * (src/por/ledger.c), JSON and CSV.
 *
 * Byte 0 chooses: bit 0 the format (0 JSON, 1 CSV), bit 1 a source that cannot
 * rewind (so "accounts first" takes the error path), bits 2..7 the read chunk
 * (1..64 bytes, so every token crosses chunk boundaries). For CSV the rest is
 * "ASSETS-JSON \0 CSV", or just CSV with a built-in assets table if there is no
 * NUL. Beyond not crashing, leaking or reading out of bounds, it checks: the
 * reader's per-asset maxima equal those of the balances it returned, every account has
 * a 1..64-byte user hash, a failure has a message and stays failed. */
#include "por/ledger.h"

#include <stdlib.h>
#include <string.h>

static const char DEFAULT_ASSETS[] =
    "{\"timestamp\": 1, \"assets\": {"
    "\"BTC\": {\"usdt_decimals\": 2, \"balance_decimals\": 8, \"price\": 3500000},"
    "\"ETH\": {\"usdt_decimals\": 2, \"balance_decimals\": 4, \"price\": 200040},"
    "\"USDT\": {\"usdt_decimals\": 2, \"balance_decimals\": 2, \"price\": 100}}}";

typedef struct {
    cl_slice data;
    size_t pos;
} pipe_src;

static cl_err pipe_read(void *ctx, uint8_t *dst, size_t cap, size_t *got) {
    pipe_src *p = ctx;
    size_t n = p->data.len - p->pos < cap ? p->data.len - p->pos : cap;
    memcpy(dst, p->data.ptr + p->pos, n);
    p->pos += n;
    *got = n;
    return CL_OK;
}

static void check(por_ledger *l) {
    por_account acc;
    bool done = false;
    cl_err e = CL_OK;
    por_u128 me[POR_LEDGER_MAX_ASSETS] = {0}, md[POR_LEDGER_MAX_ASSETS] = {0};
    while (!done && (e = por_ledger_next(l, &acc, &done)) == CL_OK) {
        if (done) break;
        if (acc.user_hash_len < 1 || acc.user_hash_len > POR_LEDGER_MAX_USER_HASH) abort();
        for (size_t a = 0; a < por_ledger_asset_count(l); a++) {
            por_i128 b = acc.balances[a];
            if (b > 0 && (por_u128)b > me[a]) me[a] = (por_u128)b;
            if (b < 0 && -(por_u128)b > md[a]) md[a] = -(por_u128)b;
        }
    }
    if (e != CL_OK) {
        if (!por_ledger_error(l)[0]) abort();              /* every failure says why */
        if (por_ledger_next(l, &acc, &done) != e) abort(); /* and stays failed */
        return;
    }
    if (por_ledger_count(l) == 0) abort(); /* an empty ledger is an error */
    size_t n = por_ledger_asset_count(l);
    if (n == 0 || n > POR_LEDGER_MAX_ASSETS) abort();
    const por_asset *as = por_ledger_assets(l);
    for (size_t a = 0; a < n; a++) {
        if (me[a] != por_ledger_max_equity(l)[a] || md[a] != por_ledger_max_debt(l)[a]) abort();
        if (a && strcmp(as[a - 1].symbol, as[a].symbol) >= 0) abort(); /* sorted, distinct */
        if (as[a].price < 0 || as[a].weight < as[a].price) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t mode = data[0];
    cl_slice rest = slice_of(data + 1, size - 1);
    por_ledger_config cfg = {.format = (mode & 1) ? POR_LEDGER_CSV : POR_LEDGER_JSON,
                             .chunk_size = 1 + (mode >> 2)};
    cl_slice ledger = rest, assets = slice_cstr(DEFAULT_ASSETS);
    if (cfg.format == POR_LEDGER_CSV) {
        const uint8_t *nul = rest.len ? memchr(rest.ptr, 0, rest.len) : NULL;
        if (nul) {
            size_t at = (size_t)(nul - rest.ptr);
            assets = slice_sub(rest, 0, at);
            ledger = slice_sub(rest, at + 1, rest.len);
        }
        por_source_mem(&cfg.assets, assets);
    }
    pipe_src pipe = {ledger, 0};
    if (mode & 2)
        cfg.source = (por_source){pipe_read, NULL, NULL, &pipe};
    else
        por_source_mem(&cfg.source, ledger);
    por_ledger *l = por_ledger_new(&cfg);
    check(l);
    por_ledger_free(l);
    return 0;
}
