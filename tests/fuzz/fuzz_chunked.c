/* fuzz_chunked.c — libFuzzer target for the aws-chunked decoder.
 *
 * Input: byte 0 = options, byte 1 = split seed, bytes 2..3 = a number (chunk
 * size or bit to flip), the rest = body or payload. Options:
 *   bits 0-1  mode: signed, signed + trailer, unsigned + trailer (3: unsigned)
 *   bits 2-4  checksum (CRC32 .. SHA256, or none) named by x-amz-trailer
 *   bit 5     construct: the rest is a payload; encode it validly (that
 *             number as the chunk size, at most 256 chunks), so the signed paths run deep without
 *             a seed corpus, then flip one bit of the body
 *   bit 6     declare x-amz-decoded-content-length (the payload's, or 100)
 *   bit 7     enforce S3's 8 KiB minimum chunk size
 * Raw bodies are decoded whole and in random pieces: both must end in the
 * same status with the same output, which holds only if no split matters.
 * Constructed bodies must decode to their payload; the flipped copy must
 * fail or still yield exactly that payload. Must never crash, read out of
 * bounds, leak or abort. */
#include "aws/sigv4.h"
#include "s3/chunked.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DATE "20130524T000000Z"
#define SCOPE "20130524/us-east-1/s3/aws4_request"
#define SEED "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"

static uint8_t key[32];

static cl_err collect(void *arg, cl_slice d) {
    buf_append_slice(arg, d);
    return CL_OK;
}

typedef struct {
    chunked_status st;
    cl_buf out;
} outcome;

static outcome run(chunked_config cfg, cl_slice body, uint32_t seed) {
    outcome o = {CHUNKED_OK, CL_BUF_INIT};
    cfg.sink = collect;
    cfg.sink_arg = &o.out;
    chunked_decoder *d = chunked_new(&cfg);
    o.st = chunked_error(d);
    for (size_t off = 0; o.st == CHUNKED_OK && off < body.len;) {
        size_t n = body.len - off;
        if (seed) {
            seed = seed * 1103515245u + 12345u;
            size_t want = 1 + (seed >> 16) % ((seed & 3) ? 16 : 4096);
            n = want < n ? want : n;
        }
        o.st = chunked_feed(d, slice_sub(body, off, n));
        off += n;
    }
    if (o.st == CHUNKED_OK) o.st = chunked_finish(d);
    (void)chunked_message(d);
    (void)chunked_checksum_base64(d);
    chunked_free(d);
    return o;
}

static bool same(const outcome *a, const outcome *b) {
    return a->st == b->st && slice_eq(buf_slice(&a->out), buf_slice(&b->out));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!key[0] && !key[1])
        sigv4_signing_key("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524", "us-east-1", "s3",
                          key);
    if (size < 4) return 0;
    uint8_t opt = data[0];
    uint32_t seed = data[1] | 0x100u;
    uint16_t num = (uint16_t)(data[2] | data[3] << 8);
    cl_slice rest = slice_of(data + 4, size - 4);

    chunked_mode mode = (opt & 3) == 0   ? CHUNKED_SIGNED
                        : (opt & 3) == 1 ? CHUNKED_SIGNED_TRAILER
                                         : CHUNKED_UNSIGNED_TRAILER;
    checksum_algo algo = (checksum_algo)(((opt >> 2) & 7) % 6);
    if (mode == CHUNKED_SIGNED) algo = CHECKSUM_NONE;
    bool construct = opt & 0x20;
    char name[48], len[24];
    snprintf(name, sizeof name, "x-amz-checksum-%s", checksum_algo_name(algo));
    snprintf(len, sizeof len, "%zu", construct ? rest.len : 100);
    chunked_config cfg = {.mode = mode,
                          .signing_key = key,
                          .amz_date = DATE,
                          .scope = SCOPE,
                          .seed_signature = SEED,
                          .trailer = algo ? name : NULL,
                          .decoded_content_length = opt & 0x40 ? len : NULL,
                          .allow_small_chunks = !(opt & 0x80),
                          .max_size = 1 << 20};

    if (!construct) {
        outcome whole = run(cfg, rest, 0), split = run(cfg, rest, seed);
        if (!same(&whole, &split)) abort();
        buf_free(&whole.out);
        buf_free(&split.out);
        return 0;
    }
    cl_buf body = CL_BUF_INIT;
    size_t cs = 1 + num % 2048; /* at most 256 chunks: one HMAC each */
    if (rest.len / cs > 256) cs = rest.len / 256 + 1;
    chunked_encoding e = {mode, key, DATE, SCOPE, SEED, algo, cs};
    chunked_encode(&e, rest, &body);
    cfg.allow_small_chunks = true;
    outcome o = run(cfg, buf_slice(&body), seed);
    if (o.st != CHUNKED_OK || !slice_eq(buf_slice(&o.out), rest)) abort();
    buf_free(&o.out);
    body.ptr[(num * 131u + seed) % body.len] ^= (uint8_t)(1u << (num % 8));
    o = run(cfg, buf_slice(&body), seed);
    if (o.st == CHUNKED_OK && (mode != CHUNKED_UNSIGNED_TRAILER || algo) &&
        !slice_eq(buf_slice(&o.out), rest))
        abort();
    buf_free(&o.out);
    buf_free(&body);
    return 0;
}
