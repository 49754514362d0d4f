/* keccak.c — Keccak-256 (Ethereum's hash): the one cryptographic primitive
 * written by hand in Cloister. Why: iExec's secret service (src/secrets) signs
 * keccak256 challenges, and Debian 12's OpenSSL 3.0 has no KECCAK-256 digest
 * (OpenSSL 3.2 adds EVP "KECCAK-256"), nor does any other Debian C library here.
 * The interface (crypto.h: crypto_keccak256 one shot, crypto_keccak256_init /
 * _update / _final on a caller-owned context) maps one-to-one onto
 * EVP_Digest* with "KECCAK-256", so this file can be replaced by OpenSSL's.
 *
 * Written from the Keccak reference (keccak.team, "The Keccak reference" 3.0):
 * Keccak-f[1600] on 25 64-bit lanes, 24 rounds of theta, rho, pi, chi, iota;
 * sponge with rate 1088 bits (136 bytes), capacity 512, output 256 bits, and
 * the ORIGINAL Keccak padding (0x01 ... 0x80), not SHA3-256's 0x06.
 * Tested by tests/unit/test_keccak.c: known answers ("" and "abc"), a
 * 200-byte input crossing the rate, incremental == one shot for every split,
 * and a changed input byte changing the digest; plus the iExec SMS vectors in
 * tests/unit/test_secrets.c. */
#include "crypto/crypto.h"

#include <string.h>

#define KECCAK_ROUNDS 24

static const uint64_t RC[KECCAK_ROUNDS] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/* Rotation offsets r[x][y], indexed by lane x + 5y. */
static const unsigned ROT[25] = {
    0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14,
};

static uint64_t rol64(uint64_t v, unsigned n) {
    return n ? (v << n) | (v >> (64 - n)) : v;
}

static void keccak_f1600(uint64_t a[25]) {
    for (int round = 0; round < KECCAK_ROUNDS; round++) {
        uint64_t c[5], d[5], b[25];
        for (int x = 0; x < 5; x++) /* theta */
            c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
        for (int x = 0; x < 5; x++)
            d[x] = c[(x + 4) % 5] ^ rol64(c[(x + 1) % 5], 1);
        for (int i = 0; i < 25; i++)
            a[i] ^= d[i % 5];
        for (int x = 0; x < 5; x++) /* rho and pi: B[y, 2x+3y] = rot(A[x, y]) */
            for (int y = 0; y < 5; y++)
                b[y + 5 * ((2 * x + 3 * y) % 5)] = rol64(a[x + 5 * y], ROT[x + 5 * y]);
        for (int y = 0; y < 5; y++) /* chi */
            for (int x = 0; x < 5; x++)
                a[x + 5 * y] = b[x + 5 * y] ^ (~b[(x + 1) % 5 + 5 * y] & b[(x + 2) % 5 + 5 * y]);
        a[0] ^= RC[round]; /* iota */
    }
}

/* XOR one byte into the state at byte offset i (lanes are little-endian). */
static void absorb_byte(uint64_t a[25], size_t i, uint8_t v) {
    a[i / 8] ^= (uint64_t)v << (8 * (i % 8));
}

void crypto_keccak256_init(crypto_keccak256_ctx *c) {
    memset(c, 0, sizeof *c);
}

void crypto_keccak256_update(crypto_keccak256_ctx *c, cl_slice data) {
    for (size_t i = 0; i < data.len; i++) {
        absorb_byte(c->state, c->pos, data.ptr[i]);
        if (++c->pos == CRYPTO_KECCAK256_RATE) {
            keccak_f1600(c->state);
            c->pos = 0;
        }
    }
}

void crypto_keccak256_final(crypto_keccak256_ctx *c, uint8_t out[CRYPTO_KECCAK256_LEN]) {
    absorb_byte(c->state, c->pos, 0x01); /* Keccak padding: 0x01, zeros, 0x80 */
    absorb_byte(c->state, CRYPTO_KECCAK256_RATE - 1, 0x80);
    keccak_f1600(c->state);
    for (size_t i = 0; i < CRYPTO_KECCAK256_LEN; i++)
        out[i] = (uint8_t)(c->state[i / 8] >> (8 * (i % 8)));
    cl_cleanse(c, sizeof *c);
}

void crypto_keccak256(cl_slice data, uint8_t out[CRYPTO_KECCAK256_LEN]) {
    crypto_keccak256_ctx c;
    crypto_keccak256_init(&c);
    crypto_keccak256_update(&c, data);
    crypto_keccak256_final(&c, out);
}
