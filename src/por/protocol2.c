/* protocol2.c — cloister-por-v2's shared arithmetic and hashes (protocol2.h):
 * 256-bit integers for exact totals, the width rules, leaf blindings, leaf and
 * node hashes, the statement digest, and the layout of the range proofs in
 * columns and batches. The JSON of final_proof.json is in statement2.c. */
#include "por/protocol2.h"

#include "crypto/crypto.h"
#include "por/rangeproof.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- 256-bit integers ---- */

static void w_neg(uint64_t w[4]) {
    unsigned carry = 1;
    for (int i = 0; i < 4; i++) {
        uint64_t x = ~w[i];
        w[i] = x + carry;
        carry = carry && w[i] == 0;
    }
}

void por_i256_from_i128(por_i256 *out, por_i128 v) {
    unsigned __int128 u = (unsigned __int128)v;
    out->w[0] = (uint64_t)u;
    out->w[1] = (uint64_t)(u >> 64);
    uint64_t ext = v < 0 ? UINT64_MAX : 0;
    out->w[2] = out->w[3] = ext;
}

void por_i256_add(por_i256 *acc, const por_i256 *x) {
    unsigned __int128 c = 0;
    for (int i = 0; i < 4; i++) {
        c += (unsigned __int128)acc->w[i] + x->w[i];
        acc->w[i] = (uint64_t)c;
        c >>= 64;
    }
}

void por_i256_sub(por_i256 *acc, const por_i256 *x) {
    por_i256 n = *x;
    w_neg(n.w);
    por_i256_add(acc, &n);
}

void por_i256_add_mul_i128(por_i256 *acc, const por_i256 *x, por_i128 w) {
    bool neg = por_i256_is_negative(x) != (w < 0);
    uint64_t a[4];
    memcpy(a, x->w, sizeof a);
    if (por_i256_is_negative(x)) w_neg(a);
    unsigned __int128 b = w < 0 ? -(unsigned __int128)w : (unsigned __int128)w;
    uint64_t bl[2] = {(uint64_t)b, (uint64_t)(b >> 64)};
    uint64_t p[4] = {0, 0, 0, 0};
    for (int i = 0; i < 4; i++) {
        unsigned __int128 carry = 0;
        for (int j = 0; j < 2 && i + j < 4; j++) {
            unsigned __int128 t = (unsigned __int128)a[i] * bl[j] + p[i + j] + carry;
            p[i + j] = (uint64_t)t;
            carry = t >> 64;
        }
        if (i + 2 < 4) p[i + 2] += (uint64_t)carry;
    }
    if (neg) w_neg(p);
    por_i256 t;
    memcpy(t.w, p, sizeof p);
    por_i256_add(acc, &t);
}

int por_i256_cmp(const por_i256 *a, const por_i256 *b) {
    bool na = por_i256_is_negative(a), nb = por_i256_is_negative(b);
    if (na != nb) return na ? -1 : 1;
    for (int i = 3; i >= 0; i--)
        if (a->w[i] != b->w[i]) return a->w[i] < b->w[i] ? -1 : 1;
    return 0;
}

unsigned por_i256_bitlen(const por_i256 *a) {
    if (por_i256_is_negative(a)) return 256;
    for (int i = 3; i >= 0; i--)
        if (a->w[i]) return (unsigned)(64 * i + 64 - __builtin_clzll(a->w[i]));
    return 0;
}

bool por_i256_parse(const char *s, por_i256 *out) {
    if (!s) return false;
    bool neg = s[0] == '-';
    const char *p = s + neg;
    size_t len = strlen(p);
    if (!len || len > 77 || (p[0] == '0' && (len > 1 || neg))) return false;
    uint64_t w[4] = {0, 0, 0, 0};
    for (; *p; p++) {
        if (*p < '0' || *p > '9') return false;
        unsigned __int128 c = (unsigned)(*p - '0');
        for (int i = 0; i < 4; i++) {
            c += (unsigned __int128)w[i] * 10;
            w[i] = (uint64_t)c;
            c >>= 64;
        }
        if (c || (w[3] >> 63)) return false; /* magnitude must stay below 2^255 */
    }
    if (neg) w_neg(w);
    memcpy(out->w, w, sizeof w);
    return true;
}

void por_i256_to_be32(const por_i256 *a, uint8_t out[32]) {
    for (int i = 0; i < 4; i++)
        for (int b = 0; b < 8; b++)
            out[31 - (8 * i + b)] = (uint8_t)(a->w[i] >> (8 * b));
}

void por_i256_to_scalar(const por_i256 *a, por_scalar *out) {
    por_i256 m = *a;
    bool neg = por_i256_is_negative(a);
    if (neg) w_neg(m.w);
    uint8_t wide[64] = {0};
    por_i256_to_be32(&m, wide + 32);
    por_scalar_from_wide(out, wide);
    if (neg) por_scalar_neg(out, out);
}

/* ---- parameters ---- */

bool por2_range_bits_ok(uint32_t k) {
    return k >= 8 && k <= POR2_MAX_ASSET_BITS && k % 8 == 0;
}

/* w·(2^k − 1) for k <= 128 and 0 <= w < 2^123: below 2^251. */
static void weighted_max(por_i128 w, uint32_t k, por_i256 *out) {
    por_i256 m;
    memset(&m, 0, sizeof m);
    if (k >= 64) {
        m.w[0] = UINT64_MAX;
        m.w[1] = k == 128 ? UINT64_MAX : (k == 64 ? 0 : ((uint64_t)1 << (k - 64)) - 1);
    } else {
        m.w[0] = ((uint64_t)1 << k) - 1;
    }
    memset(out, 0, sizeof *out);
    por_i256_add_mul_i128(out, &m, w);
}

uint32_t por2_net_equity_bits(const por2_asset *assets, size_t n, char err[POR_ERR_LEN]) {
    por_i256 W, top;
    memset(&W, 0, sizeof W);
    memset(&top, 0, sizeof top);
    size_t worst = 0;
    for (size_t a = 0; a < n; a++) {
        por_i256 t;
        weighted_max(assets[a].weight, assets[a].range_bits, &t);
        por_i256_add(&W, &t);
        if (por_i256_cmp(&t, &top) > 0) {
            top = t;
            worst = a;
        }
    }
    unsigned bits = por_i256_bitlen(&W);
    if (bits > POR2_MAX_NET_BITS) {
        if (err) {
            const por2_asset *x = &assets[worst];
            char w[80];
            por_i256 wi;
            por_i256_from_i128(&wi, x->weight);
            por_i256_format(&wi, w);
            snprintf(err, POR_ERR_LEN,
                     "asset %s: weight %s (price %lld at balance_decimals %u) with %u-bit "
                     "balances makes net equity need %u bits, more than %d: lower usdt_decimals, "
                     "the other assets' balance_decimals, or %s's range width",
                     x->symbol, w, (long long)x->price, x->balance_decimals, x->range_bits, bits,
                     POR2_MAX_NET_BITS, x->symbol);
        }
        return 0;
    }
    uint32_t k = (bits + 7) / 8 * 8;
    return k < 8 ? 8 : k;
}

/* ---- leaves and nodes ---- */

void por2_blinding(const uint8_t nonce[POR_NONCE_LEN], uint32_t asset, uint8_t part,
                   por_scalar *out) {
    uint8_t x[POR_NONCE_LEN + 3];
    memcpy(x, nonce, POR_NONCE_LEN);
    x[POR_NONCE_LEN] = (uint8_t)(asset >> 8);
    x[POR_NONCE_LEN + 1] = (uint8_t)asset;
    x[POR_NONCE_LEN + 2] = part;
    por_hs(POR2_TAG_BLINDING, slice_of(x, sizeof x), out);
    cl_cleanse(x, sizeof x);
}

void por2_leaf_id(const uint8_t *user_hash, size_t len, const uint8_t nonce[POR_NONCE_LEN],
                  uint8_t out[POR_HASH_LEN]) {
    uint8_t l = (uint8_t)len;
    cl_slice p[3] = {slice_of(&l, 1), slice_of(user_hash, len), slice_of(nonce, POR_NONCE_LEN)};
    por_ht(POR2_TAG_LEAF_ID, p, 3, out);
}

void por2_leaf_hash(const uint8_t id[POR_HASH_LEN], const uint8_t *commitments, size_t nassets,
                    uint8_t out[POR_HASH_LEN]) {
    cl_slice p[2] = {slice_of(id, POR_HASH_LEN),
                     slice_of(commitments, 2 * nassets * POR_POINT_LEN)};
    por_ht(POR2_TAG_LEAF, p, 2, out);
}

void por2_node_hash(const uint8_t l[POR_HASH_LEN], const uint8_t r[POR_HASH_LEN],
                    uint8_t out[POR_HASH_LEN]) {
    cl_slice p[2] = {slice_of(l, POR_HASH_LEN), slice_of(r, POR_HASH_LEN)};
    por_ht(POR2_TAG_NODE, p, 2, out);
}

void por2_user_hash(const char *uid, size_t len, uint8_t out[POR_HASH_LEN]) {
    cl_slice p[1] = {slice_of(uid, len)};
    por_ht(POR2_TAG_USER, p, 1, out);
}

por_equity_class por2_net_equity(const por_i128 *weights, const por_i128 *balances, size_t n,
                                 uint32_t k_eq, por_i256 *v, char text[80]) {
    por_i256 acc;
    por_i256_zero(&acc);
    for (size_t a = 0; a < n; a++)
        por_i256_add_mul(&acc, weights[a], balances[a]);
    if (text) por_i256_format(&acc, text);
    if (v) *v = acc;
    if (por_i256_is_negative(&acc)) return POR_EQUITY_NEGATIVE;
    return por_i256_bitlen(&acc) > k_eq ? POR_EQUITY_TOO_LARGE : POR_EQUITY_OK;
}

/* ---- the statement ---- */

void por2_statement_free(por2_statement *s) {
    if (!s) return;
    free(s->assets);
    memset(s, 0, sizeof *s);
}

static void put_be(uint8_t *p, uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

void por2_statement_digest(const por2_statement *s, uint8_t out[POR_HASH_LEN]) {
    crypto_sha256_ctx *c = crypto_sha256_new();
    const char *tag = POR2_TAG_STATEMENT;
    uint8_t tl = (uint8_t)strlen(tag);
    crypto_sha256_update(c, slice_of(&tl, 1));
    crypto_sha256_update(c, slice_of(tag, tl));
    uint8_t head[8 + 1 + 2 + 2 + 2];
    put_be(head, s->timestamp, 8);
    head[8] = (uint8_t)s->depth;
    put_be(head + 9, s->batch, 2);
    put_be(head + 11, s->net_bits, 2);
    put_be(head + 13, s->nassets, 2);
    crypto_sha256_update(c, slice_of(head, sizeof head));
    for (size_t a = 0; a < s->nassets; a++) {
        const por2_asset *x = &s->assets[a];
        uint8_t sl = (uint8_t)strlen(x->symbol);
        crypto_sha256_update(c, slice_of(&sl, 1));
        crypto_sha256_update(c, slice_of(x->symbol, sl));
        uint8_t mid[1 + 1 + 8 + 2 + 4 * 32];
        mid[0] = (uint8_t)x->usdt_decimals;
        mid[1] = (uint8_t)x->balance_decimals;
        put_be(mid + 2, (uint64_t)x->price, 8);
        put_be(mid + 10, x->range_bits, 2);
        por_i256_to_be32(&x->equity, mid + 12);
        por_i256_to_be32(&x->debt, mid + 44);
        memcpy(mid + 76, x->equity_blinding, 32);
        memcpy(mid + 108, x->debt_blinding, 32);
        crypto_sha256_update(c, slice_of(mid, sizeof mid));
    }
    crypto_sha256_update(c, slice_of(s->root_hash, POR_HASH_LEN));
    crypto_sha256_final(c, out);
}

void por2_total_net_equity(const por2_statement *s, por_i256 *out) {
    por_i256_zero(out);
    for (size_t a = 0; a < s->nassets; a++) {
        por_i256 net = s->assets[a].equity;
        por_i256_sub(&net, &s->assets[a].debt);
        por_i256_add_mul_i128(out, &net, s->assets[a].weight);
    }
}

/* ---- range-proof columns and batches ---- */

uint32_t por2_column_bits(const por2_statement *s, size_t c) {
    return c == 0 ? s->net_bits : s->assets[(c - 1) / 2].range_bits;
}

uint32_t por2_column_batch(uint64_t N, uint32_t B, uint32_t bits) {
    uint64_t b = bits ? (64 * (uint64_t)B) / bits : 1;
    if (b < 1) b = 1;
    if (b > POR_RP_MAX_M) b = POR_RP_MAX_M;
    if (b > N) b = N;
    return (uint32_t)b;
}

uint64_t por2_column_batches(uint64_t N, uint32_t B, uint32_t bits) {
    uint64_t b = por2_column_batch(N, B, bits);
    return b ? (N + b - 1) / b : 0;
}

uint64_t por2_range_count(const por2_statement *s) {
    uint64_t total = 0;
    for (size_t c = 0; c < por2_columns(s->nassets); c++)
        total += por2_column_batches(s->padded, s->batch, por2_column_bits(s, c));
    return total;
}

uint64_t por2_range_first(const por2_statement *s, size_t c) {
    uint64_t first = 0;
    for (size_t k = 0; k < c; k++)
        first += por2_column_batches(s->padded, s->batch, por2_column_bits(s, k));
    return first;
}

uint32_t por2_range_len(const por2_statement *s, size_t c, uint64_t j) {
    uint64_t b = por2_column_batch(s->padded, s->batch, por2_column_bits(s, c));
    uint64_t start = j * b;
    if (start >= s->padded) return 0;
    uint64_t left = s->padded - start;
    return (uint32_t)(left < b ? left : b);
}

/* Bytes of all proofs of column c before batch j. */
static uint64_t column_bytes(const por2_statement *s, size_t c, uint64_t j) {
    uint32_t bits = por2_column_bits(s, c);
    uint64_t b = por2_column_batch(s->padded, s->batch, bits);
    uint64_t full = s->padded / b; /* batches of exactly b values */
    uint64_t before = j < full ? j : full;
    uint64_t bytes = before * por_rangeproof_size(b, bits);
    if (j > full) bytes += por_rangeproof_size(s->padded - full * b, bits);
    return bytes;
}

uint64_t por2_range_offset(const por2_statement *s, size_t c, uint64_t j) {
    uint64_t off = 0;
    for (size_t k = 0; k < c; k++)
        off += column_bytes(s, k, por2_column_batches(s->padded, s->batch, por2_column_bits(s, k)));
    return off + column_bytes(s, c, j);
}

uint64_t por2_range_total(const por2_statement *s) {
    size_t cols = por2_columns(s->nassets);
    return por2_range_offset(
        s, cols - 1, por2_column_batches(s->padded, s->batch, por2_column_bits(s, cols - 1)));
}

void por2_range_transcript(por_transcript *t, const uint8_t digest[POR_HASH_LEN], uint64_t c,
                           uint64_t j) {
    por_transcript_init(t, POR2_TR_RANGE);
    por_transcript_append(t, "statement", slice_of(digest, POR_HASH_LEN));
    por_transcript_append_u64(t, "column", c);
    por_transcript_append_u64(t, "batch", j);
}
