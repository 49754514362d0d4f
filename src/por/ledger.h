/* ledger.h — the proof-of-reserves ledger reader: the one place that turns an
 * exchange's ledger (the seed's private_ledger.json, or CSV plus a small assets
 * JSON) into validated accounts, one at a time. docs/por.md §7 is the contract.
 *
 * Streaming: bytes arrive through a por_source in chunks of a fixed size and a
 * hand-written JSON tokenizer with bounded state reads them, so a 1 GB ledger
 * needs no DOM. What grows with the ledger is only the set of user hashes seen
 * for the duplicate check: the hash bytes + 1, plus 16..32 bytes of table, so
 * about 65 bytes per account with 32-byte hashes.
 *
 * Formats.
 *  JSON: {"timestamp": ms, "assets": {SYM: {"usdt_decimals": q, "balance_decimals":
 *    d, "price": p}, ...}, "accounts": {HEX: {SYM: int, ...}, ...}}. Top-level keys
 *    in any order, unknown ones skipped. If "accounts" precedes "assets" or
 *    "timestamp", the reader skips the accounts, reads the rest, then rewinds the
 *    source and reads the accounts in a second pass; a source without rewind (a
 *    pipe) gets an error asking for assets first.
 *  CSV: header "id,SYM1,...,SYMn" naming every asset once in any order, then rows
 *    "HEX,int,...,int"; "\n" or "\r\n"; no quoting, no spaces. Prices, decimals and
 *    the timestamp come from the `assets` source: JSON of the ledger's shape with
 *    "timestamp" and "assets" and no "accounts".
 *  Both: optional UTF-8 BOM. User hash: even-length hex, either case, 1..64 bytes,
 *  unique over the ledger. Asset symbol: 1..32 of [A-Za-z0-9._-]. Decimals 0..18,
 *  usdt_decimals equal for all assets, price 0..INT64_MAX, balances JSON integers
 *  in [-2^127, 2^127) (no fraction, no exponent, no strings), every asset in every account
 *  exactly once, at least one account and at most POR_LEDGER_MAX_ASSETS assets.
 *
 * Errors: every call returns cl_err; por_ledger_error() gives a message naming
 * the account (user hash, or CSV line) and the field, e.g.
 *   account 3f2a...: asset ETH: balance is not an integer (got 1.5)
 * Errors are sticky: after one, next() keeps returning it.
 *
 * Ownership: por_ledger_new takes ownership of the sources in the config (their
 * close is called by por_ledger_free, also on failure). Pointers returned by
 * accessors belong to the ledger; an account's balances are valid until the
 * next call to por_ledger_next. */
#ifndef CLOISTER_POR_LEDGER_H
#define CLOISTER_POR_LEDGER_H

#include "base/base.h"

#define POR_LEDGER_MAX_ASSETS 1024
#define POR_LEDGER_MAX_SYMBOL 32
#define POR_LEDGER_MAX_USER_HASH 64 /* bytes; 128 hex digits */
#define POR_LEDGER_MAX_DECIMALS 18
#define POR_LEDGER_DEFAULT_CHUNK 65536

/* Balances, weights and per-asset maxima need more than 64 bits (docs/por.md §3). */
__extension__ typedef __int128 por_i128;
__extension__ typedef unsigned __int128 por_u128;

/* A byte stream. read fills up to cap bytes and sets *got (0 = end of input).
 * rewind (NULL if the stream cannot) restarts at the first byte. close (may be
 * NULL) releases ctx. */
typedef struct {
    cl_err (*read)(void *ctx, uint8_t *dst, size_t cap, size_t *got);
    cl_err (*rewind)(void *ctx);
    void (*close)(void *ctx);
    void *ctx;
} por_source;

/* A file (rewindable if seekable; "-" is stdin, not rewindable). */
cl_err por_source_file(por_source *s, const char *path);
/* A borrowed memory range; rewindable. The bytes must outlive the source. */
void por_source_mem(por_source *s, cl_slice data);

typedef enum { POR_LEDGER_JSON, POR_LEDGER_CSV } por_ledger_format;

/* CSV if the path ends in ".csv" (any case), else JSON. */
por_ledger_format por_ledger_format_for_path(const char *path);

typedef struct {
    por_ledger_format format;
    por_source source; /* the ledger */
    por_source assets; /* CSV only: the assets JSON (read must be NULL for JSON) */
    size_t chunk_size; /* bytes per read; 0 = POR_LEDGER_DEFAULT_CHUNK */
} por_ledger_config;

typedef struct {
    char symbol[POR_LEDGER_MAX_SYMBOL + 1];
    uint32_t usdt_decimals;
    uint32_t balance_decimals;
    int64_t price;   /* >= 0 */
    por_i128 weight; /* price * 10^(max balance_decimals - balance_decimals) */
} por_asset;

typedef struct {
    uint8_t user_hash[POR_LEDGER_MAX_USER_HASH];
    size_t user_hash_len;
    const por_i128 *balances; /* one per asset, in por_ledger_assets() order */
    uint64_t index;           /* 0-based position in the ledger */
} por_account;

/* What the reader holds, for tests and the bounded-memory claim. */
typedef struct {
    uint64_t bytes_read;    /* over all passes */
    uint32_t passes;        /* 2 when accounts preceded the header */
    size_t chunk_size;      /* the fixed read buffer */
    size_t max_token;       /* longest token kept (bounded by the tokenizer) */
    size_t hashset_bytes;   /* memory of the duplicate user-hash set */
    uint64_t hashset_count; /* entries in it */
} por_ledger_stats;

typedef struct por_ledger por_ledger;

/* Never fails (allocation failure aborts); takes ownership of the sources. */
por_ledger *por_ledger_new(const por_ledger_config *cfg);
/* Convenience: sources from files; assets_path only (and then required) for CSV.
 * On failure *out is still set, so the message can be read; free it either way. */
cl_err por_ledger_open_file(por_ledger **out, const char *path, const char *assets_path);

/* Reads and validates everything before the accounts: the assets table (sorted
 * by symbol, bytewise), the timestamp, and for CSV the header. */
cl_err por_ledger_begin(por_ledger *l);
/* The next account into *acc; *done = true (and *acc untouched) after the last,
 * once the rest of the input has been checked (trailing data, empty ledger). */
cl_err por_ledger_next(por_ledger *l, por_account *acc, bool *done);

const char *por_ledger_error(const por_ledger *l); /* "" if none */
size_t por_ledger_asset_count(const por_ledger *l);
const por_asset *por_ledger_assets(const por_ledger *l);
int64_t por_ledger_timestamp(const por_ledger *l);
/* max balance_decimals + usdt_decimals: the equity unit is 10^-this USDT. */
uint32_t por_ledger_equity_decimals(const por_ledger *l);
uint64_t por_ledger_count(const por_ledger *l); /* accounts returned so far */
/* Per asset, over the accounts returned so far (final once done): the largest
 * equity part max(b, 0) and the largest debt part max(-b, 0) of any balance b
 * (a debt part can be 2^127). What a prover needs to choose range widths. */
const por_u128 *por_ledger_max_equity(const por_ledger *l);
const por_u128 *por_ledger_max_debt(const por_ledger *l);
por_ledger_stats por_ledger_get_stats(const por_ledger *l);
void por_ledger_free(por_ledger *l);

/* Decimal text of v into out (at least 41 bytes); returns out. */
char *por_i128_format(por_i128 v, char out[41]);

#endif
