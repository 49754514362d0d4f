/* fuzz_kms_blob.c — libFuzzer target for the KMS ciphertext blob: the input
 * is a CiphertextBlob as a Decrypt caller would send it. kms_blob_parse reads
 * the header; if it accepts, kms_blob_open runs with a fixed key material and
 * a small fixed encryption context, and again with the empty context.
 *
 * Must never crash, read out of bounds or leak, and must never open anything
 * that kms_blob_seal did not produce: AES-GCM cannot be forged, so an open
 * that succeeds on any input other than the two seed blobs (which were sealed
 * with exactly this material and context, and are recognised by their
 * SHA-256) is a bug and aborts. A failed open must leave the output empty.
 *
 * The seeds in tests/fuzz/seeds/fuzz_kms_blob/ come from this file built as a
 * program with -DFUZZ_KMS_BLOB_MAKE_SEEDS (see the end of the file); it
 * writes them and prints the SHA-256 values to paste into SEED_SHA256. */
#include "crypto/crypto.h"
#include "kms/kms_crypto.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_KEY_ID "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
#define FUZZ_CONTEXT "{\"app\":\"fuzz\",\"stage\":\"seed\"}"

static const uint8_t FUZZ_MATERIAL[32] = {
    0x6b, 0x6d, 0x73, 0x2d, 0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x6d, 0x61, 0x74, 0x65, 0x72, 0x69, 0x61,
    0x6c, 0x2d, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x61, 0x62, 0x63, 0x64,
};

static json_t *fuzz_context(void) {
    static json_t *ctx; /* built once, kept for the process */
    if (!ctx && !(ctx = json_loads(FUZZ_CONTEXT, 0, NULL))) abort();
    return ctx;
}

#ifndef FUZZ_KMS_BLOB_MAKE_SEEDS

/* SHA-256 of the seed files: the only inputs allowed to open. */
static const char *const SEED_SHA256[] = {
    "bdbb04836bce3058f2fb285c8522dbfa38b21714cdf736cadf99f69d7cf9fa09",
    "5c907011fa28e5c4bfb17d81e6170a115390de8eb93f912e763dda117aa56f32",
};

static bool is_seed(const uint8_t *d, size_t n) {
    char hex[65];
    crypto_sha256_hex(slice_of(d, n), hex);
    for (size_t i = 0; i < sizeof SEED_SHA256 / sizeof SEED_SHA256[0]; i++)
        if (strcmp(hex, SEED_SHA256[i]) == 0) return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
    kms_blob b;
    if (kms_blob_parse(slice_of(d, n), &b) != CL_OK) return 0;
    if (strlen(b.key_id) != KMS_KEY_ID_LEN || b.version == 0 || b.whole.ptr != d ||
        b.whole.len != n)
        abort();

    cl_buf plain = CL_BUF_INIT;
    cl_err e = kms_blob_open(&b, FUZZ_MATERIAL, fuzz_context(), &plain);
    if (e == CL_OK && (!is_seed(d, n) || plain.len != n - KMS_BLOB_OVERHEAD)) abort();
    if (e != CL_OK && plain.len != 0) abort();
    buf_free_secret(&plain);

    /* The seeds were sealed under a non-empty context: nothing opens without it. */
    e = kms_blob_open(&b, FUZZ_MATERIAL, NULL, &plain);
    if (e == CL_OK || plain.len != 0) abort();
    buf_free_secret(&plain);
    return 0;
}

#else

/* Seed generator: writes seed-short (version 1) and seed-rotated (version 3,
 * 300 bytes) into argv[1] and prints their SHA-256. */
static void write_seed(const char *dir, const char *name, uint32_t version, cl_slice plain) {
    cl_buf blob = CL_BUF_INIT;
    if (kms_blob_seal(FUZZ_KEY_ID, version, FUZZ_MATERIAL, fuzz_context(), plain, &blob) != CL_OK)
        abort();
    char *path = cl_sprintf("%s/%s", dir, name);
    if (file_write_atomic(path, buf_slice(&blob), 0644) != CL_OK) abort();
    char hex[65];
    crypto_sha256_hex(buf_slice(&blob), hex);
    printf("%s %s\n", name, hex);
    free(path);
    buf_free(&blob);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s SEED_DIR\n", argv[0]);
        return 2;
    }
    uint8_t longer[300];
    for (size_t i = 0; i < sizeof longer; i++)
        longer[i] = (uint8_t)(i * 7 + 3);
    write_seed(argv[1], "seed-short", 1, slice_cstr("hello, kms"));
    write_seed(argv[1], "seed-rotated", 3, slice_of(longer, sizeof longer));
    return 0;
}

#endif
