/* test_keccak.c — Keccak-256 (src/crypto/keccak.c), the one hand-written
 * primitive: known answers for "" and "abc" (Ethereum keccak256, original
 * padding), a 200-byte input crossing the 136-byte rate, incremental updates
 * split at every offset equal to the one-shot digest, exact-rate inputs, and
 * one changed input byte giving another digest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "crypto/crypto.h"

#include <string.h>

static void assert_hex(const uint8_t d[32], const char *want) {
    char hex[65];
    hex_encode_to(hex, d, 32);
    assert_string_equal(hex, want);
}

static void test_empty(void **st) {
    (void)st;
    uint8_t d[32];
    crypto_keccak256(CL_SLICE_NULL, d);
    assert_hex(d, "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
}

static void test_abc(void **st) {
    (void)st;
    uint8_t d[32];
    crypto_keccak256(slice_cstr("abc"), d);
    assert_hex(d, "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
}

/* 200 bytes 0x00..0xc7 crosses the rate once. Expected value computed with
 * an independent implementation, @noble/hashes 'keccak_256' (node). */
#define TWO_BLOCKS_HEX "bfb0aa97863e797943cf7c33bb7e880bb4543f3d2703c0923c6901c2af57b890"
static void test_two_blocks(void **st) {
    (void)st;
    uint8_t in[200], d[32];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)i;
    crypto_keccak256(slice_of(in, sizeof in), d);
    assert_hex(d, TWO_BLOCKS_HEX);
}

static void test_incremental(void **st) {
    (void)st;
    uint8_t in[300], one[32], inc[32];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)(i * 7 + 3);
    size_t lens[] = {0, 1, 135, 136, 137, 200, 272, 300};
    for (size_t l = 0; l < sizeof lens / sizeof *lens; l++) {
        size_t n = lens[l];
        crypto_keccak256(slice_of(in, n), one);
        for (size_t cut = 0; cut <= n; cut++) {
            crypto_keccak256_ctx c;
            crypto_keccak256_init(&c);
            crypto_keccak256_update(&c, slice_of(in, cut));
            crypto_keccak256_update(&c, CL_SLICE_NULL);
            crypto_keccak256_update(&c, slice_of(in + cut, n - cut));
            crypto_keccak256_final(&c, inc);
            assert_memory_equal(one, inc, 32);
        }
    }
}

static void test_tampered(void **st) {
    (void)st;
    uint8_t in[200], a[32], b[32];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)i;
    crypto_keccak256(slice_of(in, sizeof in), a);
    for (size_t i = 0; i < sizeof in; i += 13) {
        in[i] ^= 0x01;
        crypto_keccak256(slice_of(in, sizeof in), b);
        assert_memory_not_equal(a, b, 32);
        in[i] ^= 0x01;
    }
    crypto_keccak256(slice_of(in, 199), b); /* one byte shorter */
    assert_memory_not_equal(a, b, 32);
    /* "abc" under SHA3-256 padding would be 3a985da7...; make sure it is not. */
    crypto_keccak256(slice_cstr("abc"), b);
    char hex[65];
    hex_encode_to(hex, b, 32);
    assert_string_not_equal(hex,
                            "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),      cmocka_unit_test(test_abc),
        cmocka_unit_test(test_two_blocks), cmocka_unit_test(test_incremental),
        cmocka_unit_test(test_tampered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
