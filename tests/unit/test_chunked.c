/* test_chunked.c — the S3 checksum family and the aws-chunked decoder.
 *
 * Checksums: the catalogue check values ("123456789"), empty input, values
 * S3 clients computed (boto3's CRC32/SHA-1/SHA-256 trailers captured below,
 * the CRC32C of the AWS trailer example), slicing-by-8 against a bit-at-a-time
 * reference at every length and alignment, and chaining at every split.
 *
 * aws-chunked: the AWS documentation examples ("Transferring Payload in
 * Multiple Chunks": PUT /examplebucket/chunkObject.txt, 66560 x 'a', chunks
 * 65536 + 1024 + 0; "Including Trailing Headers": the same with a CRC32C
 * trailer), each fed whole, in random splits and a byte at a time, and then
 * broken (data byte, signature, truncation, decoded length, trailer) with the
 * S3 error each must give. Unsigned-trailer bodies as boto3 sends them, with
 * right and wrong checksums, and real captures in fixtures/chunked (one .http
 * file each): boto3 1.43.11 put_object against a local HTTPS listener
 * (botocore sends trailing checksums only over TLS), saved as the request head
 * followed by the aws-chunked body (the HTTP Transfer-Encoding layer already
 * removed; credentials AKIDEXAMPLE / the test-suite example secret; capture.py
 * there regenerates them). Then framing, limits, configuration errors, and a
 * randomized encode/decode round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "aws/sigv4.h"
#include "crypto/crypto.h"
#include "s3/chunked.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DOC_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define DOC_DATE "20130524T000000Z"
#define DOC_SCOPE "20130524/us-east-1/s3/aws4_request"
#define DOC_SEED "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
#define DOC_SIG1 "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
#define DOC_SIG2 "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
#define DOC_SIG3 "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
/* sigv4-streaming-trailers example: same payload, x-amz-trailer: x-amz-checksum-crc32c */
#define TRL_SEED "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
#define TRL_SIG1 "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2"
#define TRL_SIG2 "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7"
#define TRL_SIG3 "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992"
#define TRL_CRC32C "sOO8/Q=="
#define TRL_TSIG "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"
#define DOC_LEN 66560

/* ---- helpers ---- */

static uint64_t rng_state;
static uint64_t rng(void) { /* xorshift64*, deterministic per test */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static void doc_key(uint8_t key[32]) {
    sigv4_signing_key(DOC_SECRET, "20130524", "us-east-1", "s3", key);
}

static cl_buf doc_payload(void) {
    cl_buf b = CL_BUF_INIT;
    buf_reserve(&b, DOC_LEN);
    memset(b.ptr, 'a', DOC_LEN);
    b.len = DOC_LEN;
    return b;
}

/* The signed example body exactly as the AWS page prints it. */
static cl_buf doc_body(const char *s1, const char *s2, const char *s3, const char *tail) {
    cl_buf b = CL_BUF_INIT;
    buf_appendf(&b, "10000;chunk-signature=%s\r\n", s1);
    for (int i = 0; i < 65536; i++)
        buf_append_byte(&b, 'a');
    buf_appendf(&b, "\r\n400;chunk-signature=%s\r\n", s2);
    for (int i = 0; i < 1024; i++)
        buf_append_byte(&b, 'a');
    buf_appendf(&b, "\r\n0;chunk-signature=%s\r\n%s", s3, tail);
    return b;
}

static uint8_t DOC_KEY[32];

static chunked_config signed_cfg(chunked_mode mode, const char *seed, const char *len) {
    doc_key(DOC_KEY);
    return (chunked_config){.mode = mode,
                            .signing_key = DOC_KEY,
                            .amz_date = DOC_DATE,
                            .scope = DOC_SCOPE,
                            .seed_signature = seed,
                            .decoded_content_length = len};
}

typedef struct {
    chunked_status st;
    char msg[256];
    char sum[CHECKSUM_B64_MAX];
    cl_buf out;
    uint64_t size;
} result;

static cl_err collect(void *arg, cl_slice d) {
    buf_append_slice(arg, d);
    return CL_OK;
}

/* Decodes body fed whole (split 0), a byte at a time (1) or in random pieces
 * (any other value seeds the split). */
static result decode(chunked_config cfg, cl_slice body, unsigned split) {
    result r = {.out = CL_BUF_INIT};
    cfg.sink = collect;
    cfg.sink_arg = &r.out;
    chunked_decoder *d = chunked_new(&cfg);
    chunked_status st = chunked_error(d);
    rng_state = split * 0x9E3779B97F4A7C15ull + 1;
    for (size_t off = 0; st == CHUNKED_OK && off < body.len;) {
        size_t n = split == 1 ? 1 : split ? 1 + rng() % (rng() % 4 ? 97 : 70000) : body.len;
        if (n > body.len - off) n = body.len - off;
        st = chunked_feed(d, slice_sub(body, off, n));
        off += n;
    }
    if (st == CHUNKED_OK) st = chunked_finish(d);
    r.st = st;
    snprintf(r.msg, sizeof r.msg, "%s", chunked_message(d));
    snprintf(r.sum, sizeof r.sum, "%s", chunked_checksum_base64(d));
    r.size = chunked_decoded_size(d);
    assert_int_equal(chunked_error(d), st);
    chunked_free(d);
    return r;
}

static chunked_status decode_status(chunked_config cfg, cl_slice body) {
    result r = decode(cfg, body, 0);
    buf_free(&r.out);
    return r.st;
}

static void expect_payload(const result *r, cl_slice payload) {
    assert_int_equal(r->out.len, payload.len);
    assert_true(payload.len == 0 || memcmp(r->out.ptr, payload.ptr, payload.len) == 0);
}

/* ---- checksums ---- */

static uint32_t ref_crc32(uint32_t rpoly, const uint8_t *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ rpoly : c >> 1;
    }
    return ~c;
}

static uint64_t ref_crc64(const uint8_t *p, size_t n) {
    uint64_t c = ~0ull;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x9A6C9329AC4BC9B5ull : c >> 1;
    }
    return ~c;
}

static void test_crc_check_values(void **state) {
    (void)state;
    cl_slice check = slice_cstr("123456789");
    assert_int_equal(checksum_crc32(check), 0xCBF43926u);
    assert_int_equal(checksum_crc32c(check), 0xE3069283u);
    assert_true(checksum_crc64nvme(check) == 0xAE8B14860A799888ull);
    assert_int_equal(checksum_crc32(CL_SLICE_NULL), 0);
    assert_int_equal(checksum_crc32c(slice_cstr("")), 0);
    assert_true(checksum_crc64nvme(CL_SLICE_NULL) == 0);
    /* the reference loops agree with the catalogue too */
    assert_int_equal(ref_crc32(0xEDB88320u, check.ptr, check.len), 0xCBF43926u);
    assert_int_equal(ref_crc32(0x82F63B78u, check.ptr, check.len), 0xE3069283u);
    assert_true(ref_crc64(check.ptr, check.len) == 0xAE8B14860A799888ull);
    /* iSCSI (RFC 3720 B.4): 32 bytes of zeros -> 0x8A9136AA */
    uint8_t zeros[32] = {0};
    assert_int_equal(checksum_crc32c(slice_of(zeros, 32)), 0x8A9136AAu);
}

static void test_checksum_base64_values(void **state) {
    (void)state;
    struct {
        checksum_algo a;
        const char *in, *b64;
    } V[] = {
        {CHECKSUM_CRC32, "123456789", "y/Q5Jg=="},
        {CHECKSUM_CRC32C, "123456789", "4waSgw=="},
        {CHECKSUM_CRC64NVME, "123456789", "rosUhgp5mIg="},
        {CHECKSUM_CRC32, "", "AAAAAA=="},
        {CHECKSUM_CRC64NVME, "", "AAAAAAAAAAA="},
        {CHECKSUM_SHA1, "", "2jmj7l5rSw0yVb/vlWAYkK/YBwk="},
        {CHECKSUM_SHA256, "", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},
        /* boto3 1.43.11 trailers for "Hello, Cloister!\n" (fixtures/chunked) */
        {CHECKSUM_CRC32, "Hello, Cloister!\n", "THpkIA=="},
        {CHECKSUM_SHA256, "Hello, Cloister!\n", "A/BwUYtS60ePrIb5wBKneN8YMqbJmCu8+7o+oNjuCng="},
    };
    for (size_t i = 0; i < sizeof V / sizeof V[0]; i++) {
        char out[CHECKSUM_B64_MAX];
        checksum_base64(V[i].a, slice_cstr(V[i].in), out);
        assert_string_equal(out, V[i].b64);
    }
    /* the AWS trailer example: CRC32C of 66560 x 'a' */
    cl_buf p = doc_payload();
    char out[CHECKSUM_B64_MAX];
    checksum_base64(CHECKSUM_CRC32C, buf_slice(&p), out);
    assert_string_equal(out, TRL_CRC32C);
    buf_free(&p);
    checksum_base64(CHECKSUM_NONE, slice_cstr("x"), out);
    assert_string_equal(out, "");
}

static void test_crc_slicing_vs_reference(void **state) {
    (void)state;
    uint8_t buf[600];
    rng_state = 42;
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)rng();
    for (size_t off = 0; off < 8; off++)
        for (size_t n = 0; n + off <= 300; n++) {
            const uint8_t *p = buf + off;
            assert_int_equal(checksum_crc32(slice_of(p, n)), ref_crc32(0xEDB88320u, p, n));
            assert_int_equal(checksum_crc32c(slice_of(p, n)), ref_crc32(0x82F63B78u, p, n));
            assert_true(checksum_crc64nvme(slice_of(p, n)) == ref_crc64(p, n));
        }
    /* chaining at every split point equals one shot */
    cl_slice all = slice_of(buf, sizeof buf);
    uint32_t c32 = checksum_crc32(all), c32c = checksum_crc32c(all);
    uint64_t c64 = checksum_crc64nvme(all);
    for (size_t k = 0; k <= sizeof buf; k++) {
        cl_slice a = slice_of(buf, k), b = slice_of(buf + k, sizeof buf - k);
        assert_int_equal(checksum_crc32_update(checksum_crc32(a), b), c32);
        assert_int_equal(checksum_crc32c_update(checksum_crc32c(a), b), c32c);
        assert_true(checksum_crc64nvme_update(checksum_crc64nvme(a), b) == c64);
    }
}

static void test_checksum_ctx(void **state) {
    (void)state;
    uint8_t buf[5000];
    rng_state = 7;
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)rng();
    for (checksum_algo a = CHECKSUM_CRC32; a <= CHECKSUM_SHA256; a++) {
        char whole[CHECKSUM_B64_MAX], pieces[CHECKSUM_B64_MAX];
        checksum_base64(a, slice_of(buf, sizeof buf), whole);
        checksum_ctx c;
        checksum_init(&c, a);
        for (size_t off = 0; off < sizeof buf;) {
            size_t n = 1 + rng() % 300;
            if (n > sizeof buf - off) n = sizeof buf - off;
            checksum_update(&c, slice_of(buf + off, n));
            checksum_update(&c, CL_SLICE_NULL);
            off += n;
        }
        checksum_final_base64(&c, pieces);
        assert_string_equal(whole, pieces);
        assert_int_equal(c.algo, CHECKSUM_NONE); /* final resets */
        uint8_t raw[CHECKSUM_MAX_LEN];
        checksum_init(&c, a);
        assert_int_equal(checksum_final(&c, raw), checksum_len(a));
        checksum_init(&c, a);
        checksum_update(&c, slice_cstr("abandoned"));
        checksum_reset(&c); /* no leak under ASan */
    }
    assert_int_equal(checksum_len(CHECKSUM_CRC32), 4);
    assert_int_equal(checksum_len(CHECKSUM_CRC32C), 4);
    assert_int_equal(checksum_len(CHECKSUM_CRC64NVME), 8);
    assert_int_equal(checksum_len(CHECKSUM_SHA1), 20);
    assert_int_equal(checksum_len(CHECKSUM_SHA256), 32);
    assert_int_equal(checksum_len(CHECKSUM_NONE), 0);
    assert_string_equal(checksum_algo_name(CHECKSUM_CRC64NVME), "CRC64NVME");
    assert_string_equal(checksum_algo_name(CHECKSUM_NONE), "");
    assert_int_equal(checksum_algo_parse(slice_cstr("crc32c")), CHECKSUM_CRC32C);
    assert_int_equal(checksum_algo_parse(slice_cstr("SHA256")), CHECKSUM_SHA256);
    assert_int_equal(checksum_algo_parse(slice_cstr("md5")), CHECKSUM_NONE);
    assert_int_equal(checksum_algo_parse(slice_cstr("")), CHECKSUM_NONE);
    assert_int_equal(checksum_algo_from_header(slice_cstr("x-amz-checksum-crc32")), CHECKSUM_CRC32);
    assert_int_equal(checksum_algo_from_header(slice_cstr("X-Amz-Checksum-CRC64NVME")),
                     CHECKSUM_CRC64NVME);
    assert_int_equal(checksum_algo_from_header(slice_cstr("x-amz-checksum-")), CHECKSUM_NONE);
    assert_int_equal(checksum_algo_from_header(slice_cstr("x-amz-checksum-crc32x")), CHECKSUM_NONE);
    assert_int_equal(checksum_algo_from_header(slice_cstr("content-md5")), CHECKSUM_NONE);
}

/* checksum_crc_combine(crc(A), crc(B), len(B)) == crc(A||B), for every split
 * (including empty halves) of random data, for the three CRCs. */
static void test_crc_combine(void **state) {
    (void)state;
    uint8_t buf[700];
    rng_state = 11;
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)rng();
    static const size_t SPLITS[] = {0, 1, 7, 8, 255, 256, 699, 700};
    for (size_t i = 0; i < sizeof SPLITS / sizeof SPLITS[0]; i++) {
        size_t k = SPLITS[i];
        cl_slice a = slice_of(buf, k), b = slice_of(buf + k, sizeof buf - k);
        cl_slice all = slice_of(buf, sizeof buf);
        assert_true(checksum_crc_combine(CHECKSUM_CRC32, checksum_crc32(a), checksum_crc32(b),
                                         b.len) == checksum_crc32(all));
        assert_true(checksum_crc_combine(CHECKSUM_CRC32C, checksum_crc32c(a), checksum_crc32c(b),
                                         b.len) == checksum_crc32c(all));
        assert_true(checksum_crc_combine(CHECKSUM_CRC64NVME, checksum_crc64nvme(a),
                                         checksum_crc64nvme(b), b.len) == checksum_crc64nvme(all));
    }
}

/* ---- the AWS documentation examples ---- */

static void test_doc_chunk_signatures(void **state) {
    (void)state;
    uint8_t key[32], h[32];
    doc_key(key);
    char s1[65], s2[65], s3[65];
    cl_buf p = doc_payload();
    crypto_sha256(slice_of(p.ptr, 65536), h);
    chunked_sign_chunk(key, DOC_DATE, DOC_SCOPE, DOC_SEED, h, s1);
    assert_string_equal(s1, DOC_SIG1);
    crypto_sha256(slice_of(p.ptr + 65536, 1024), h);
    chunked_sign_chunk(key, DOC_DATE, DOC_SCOPE, s1, h, s2);
    assert_string_equal(s2, DOC_SIG2);
    crypto_sha256(CL_SLICE_NULL, h);
    chunked_sign_chunk(key, DOC_DATE, DOC_SCOPE, s2, h, s3);
    assert_string_equal(s3, DOC_SIG3);
    /* trailer example: its trailer is signed over "x-amz-checksum-crc32c:sOO8/Q==\n" */
    char t[65];
    chunked_sign_trailer(key, DOC_DATE, DOC_SCOPE, TRL_SIG3,
                         slice_cstr("x-amz-checksum-crc32c:" TRL_CRC32C "\n"), t);
    assert_string_equal(t, TRL_TSIG);
    buf_free(&p);
}

static void test_doc_encode(void **state) {
    (void)state;
    uint8_t key[32];
    doc_key(key);
    cl_buf p = doc_payload(), got = CL_BUF_INIT;
    chunked_encoding e = {CHUNKED_SIGNED, key, DOC_DATE, DOC_SCOPE, DOC_SEED, CHECKSUM_NONE, 65536};
    chunked_encode(&e, buf_slice(&p), &got);
    cl_buf want = doc_body(DOC_SIG1, DOC_SIG2, DOC_SIG3, "\r\n");
    assert_true(slice_eq(buf_slice(&got), buf_slice(&want)));
    buf_free(&got);
    buf_free(&want);
    /* the trailer example, byte for byte */
    e = (chunked_encoding){CHUNKED_SIGNED_TRAILER, key,  DOC_DATE, DOC_SCOPE, TRL_SEED,
                           CHECKSUM_CRC32C,        65536};
    chunked_encode(&e, buf_slice(&p), &got);
    want = doc_body(TRL_SIG1, TRL_SIG2, TRL_SIG3,
                    "x-amz-checksum-crc32c:" TRL_CRC32C "\r\n"
                    "x-amz-trailer-signature:" TRL_TSIG "\r\n\r\n");
    assert_true(slice_eq(buf_slice(&got), buf_slice(&want)));
    buf_free(&got);
    buf_free(&want);
    buf_free(&p);
}

static void test_doc_decode_splits(void **state) {
    (void)state;
    cl_buf body = doc_body(DOC_SIG1, DOC_SIG2, DOC_SIG3, "\r\n"), p = doc_payload();
    unsigned splits[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17};
    for (size_t i = 0; i < sizeof splits / sizeof splits[0]; i++) {
        chunked_config c = signed_cfg(CHUNKED_SIGNED, DOC_SEED, i % 2 ? "66560" : NULL);
        result r = decode(c, buf_slice(&body), splits[i]);
        assert_int_equal(r.st, CHUNKED_OK);
        assert_string_equal(r.msg, "");
        expect_payload(&r, buf_slice(&p));
        assert_int_equal(r.size, DOC_LEN);
        assert_string_equal(r.sum, ""); /* no checksum asked for */
        buf_free(&r.out);
    }
    buf_free(&body);
    buf_free(&p);
}

static void test_doc_trailer_decode(void **state) {
    (void)state;
    const char *good_tail = "x-amz-checksum-crc32c:" TRL_CRC32C "\r\n"
                            "x-amz-trailer-signature:" TRL_TSIG "\r\n\r\n";
    cl_buf body = doc_body(TRL_SIG1, TRL_SIG2, TRL_SIG3, good_tail), p = doc_payload();
    for (unsigned split = 0; split < 12; split++) {
        chunked_config c = signed_cfg(CHUNKED_SIGNED_TRAILER, TRL_SEED, "66560");
        c.trailer = "x-amz-checksum-crc32c";
        result r = decode(c, buf_slice(&body), split);
        assert_int_equal(r.st, CHUNKED_OK);
        expect_payload(&r, buf_slice(&p));
        assert_string_equal(r.sum, TRL_CRC32C);
        buf_free(&r.out);
    }
    buf_free(&body);

    chunked_config c = signed_cfg(CHUNKED_SIGNED_TRAILER, TRL_SEED, "66560");
    c.trailer = "x-amz-checksum-crc32c";
    /* value changed, signature not: SignatureDoesNotMatch */
    body =
        doc_body(TRL_SIG1, TRL_SIG2, TRL_SIG3,
                 "x-amz-checksum-crc32c:AAAAAA==\r\nx-amz-trailer-signature:" TRL_TSIG "\r\n\r\n");
    assert_int_equal(decode_status(c, buf_slice(&body)), CHUNKED_ERR_SIGNATURE);
    buf_free(&body);
    /* a wrong checksum, properly signed: BadDigest */
    char tsig[65];
    chunked_sign_trailer(DOC_KEY, DOC_DATE, DOC_SCOPE, TRL_SIG3,
                         slice_cstr("x-amz-checksum-crc32c:AAAAAA==\n"), tsig);
    cl_buf tail = CL_BUF_INIT;
    buf_appendf(&tail, "x-amz-checksum-crc32c:AAAAAA==\r\nx-amz-trailer-signature:%s\r\n\r\n",
                tsig);
    body = doc_body(TRL_SIG1, TRL_SIG2, TRL_SIG3, buf_cstr(&tail));
    result r = decode(c, buf_slice(&body), 3);
    assert_int_equal(r.st, CHUNKED_ERR_BAD_DIGEST);
    assert_string_equal(r.msg, "The CRC32C you specified did not match the calculated checksum.");
    assert_int_equal(chunked_http_status(r.st), 400);
    assert_string_equal(chunked_error_code(r.st), "BadDigest");
    assert_string_equal(r.sum, "");
    buf_free(&r.out);
    buf_free(&body);
    buf_free(&tail);
    /* trailer signature missing, or not last */
    body = doc_body(TRL_SIG1, TRL_SIG2, TRL_SIG3, "x-amz-checksum-crc32c:" TRL_CRC32C "\r\n\r\n");
    assert_int_equal(decode_status(c, buf_slice(&body)), CHUNKED_ERR_TRAILER);
    buf_free(&body);
    body = doc_body(TRL_SIG1, TRL_SIG2, TRL_SIG3,
                    "x-amz-trailer-signature:" TRL_TSIG "\r\nx-amz-checksum-crc32c:" TRL_CRC32C
                    "\r\n\r\n");
    assert_int_equal(decode_status(c, buf_slice(&body)), CHUNKED_ERR_TRAILER);
    buf_free(&body);
    /* trailer signature that is not 64 lower-case hex */
    body = doc_body(TRL_SIG1, TRL_SIG2, TRL_SIG3,
                    "x-amz-checksum-crc32c:" TRL_CRC32C "\r\nx-amz-trailer-signature:abc\r\n\r\n");
    assert_int_equal(decode_status(c, buf_slice(&body)), CHUNKED_ERR_TRAILER);
    buf_free(&body);
    /* the trailer signature chains from the final chunk: a wrong seed fails first */
    c.seed_signature = DOC_SEED;
    body = doc_body(TRL_SIG1, TRL_SIG2, TRL_SIG3, good_tail);
    assert_int_equal(decode_status(c, buf_slice(&body)), CHUNKED_ERR_SIGNATURE);
    buf_free(&body);
    buf_free(&p);
}

static void test_doc_tampered(void **state) {
    (void)state;
    chunked_config c = signed_cfg(CHUNKED_SIGNED, DOC_SEED, "66560");
    cl_buf body = doc_body(DOC_SIG1, DOC_SIG2, DOC_SIG3, "\r\n");
    size_t data1 = strlen("10000;chunk-signature=" DOC_SIG1 "\r\n");
    size_t data2 = data1 + 65536 + 2 + strlen("400;chunk-signature=" DOC_SIG2 "\r\n");
    size_t positions[] = {data1, data1 + 1000, data1 + 65535, data2, data2 + 1023};
    for (size_t i = 0; i < sizeof positions / sizeof positions[0]; i++) {
        body.ptr[positions[i]] ^= 1;
        result r = decode(c, buf_slice(&body), (unsigned)i);
        assert_int_equal(r.st, CHUNKED_ERR_SIGNATURE);
        assert_int_equal(chunked_http_status(r.st), 403);
        assert_string_equal(chunked_error_code(r.st), "SignatureDoesNotMatch");
        assert_non_null(strstr(r.msg, "signature we calculated does not match"));
        /* a chunk's bytes reach the sink before its end is verified, no further */
        assert_true(r.out.len <= (positions[i] < data2 ? 65536 : DOC_LEN));
        buf_free(&r.out);
        body.ptr[positions[i]] ^= 1;
    }
    /* each of the three signatures altered in one hex digit */
    const char *good[3] = {DOC_SIG1, DOC_SIG2, DOC_SIG3};
    for (int i = 0; i < 3; i++)
        for (int digit = 0; digit < 64; digit += 21) {
            char sig[3][65];
            for (int k = 0; k < 3; k++)
                snprintf(sig[k], sizeof sig[k], "%s", good[k]);
            sig[i][digit] = sig[i][digit] == '0' ? '1' : '0';
            cl_buf bad = doc_body(sig[0], sig[1], sig[2], "\r\n");
            assert_int_equal(decode_status(c, buf_slice(&bad)), CHUNKED_ERR_SIGNATURE);
            buf_free(&bad);
        }
    /* chunks swapped in order: the chain breaks */
    cl_buf wrong_seed = doc_body(DOC_SIG1, DOC_SIG2, DOC_SIG3, "\r\n");
    c.seed_signature = DOC_SIG1;
    assert_int_equal(decode_status(c, buf_slice(&wrong_seed)), CHUNKED_ERR_SIGNATURE);
    c.seed_signature = DOC_SEED;
    buf_free(&wrong_seed);
    /* a different key */
    uint8_t other[32];
    sigv4_signing_key("not-the-secret", "20130524", "us-east-1", "s3", other);
    c.signing_key = other;
    assert_int_equal(decode_status(c, buf_slice(&body)), CHUNKED_ERR_SIGNATURE);
    c.signing_key = DOC_KEY;
    /* upper-case signature hex is not the format */
    cl_buf upper = doc_body(DOC_SIG1, DOC_SIG2, DOC_SIG3, "\r\n");
    for (size_t i = 22; i < 22 + 64; i++)
        if (upper.ptr[i] >= 'a') upper.ptr[i] = (uint8_t)(upper.ptr[i] - 32);
    assert_int_equal(decode_status(c, buf_slice(&upper)), CHUNKED_ERR_FRAMING);
    buf_free(&upper);
    buf_free(&body);
}

static void test_doc_truncated(void **state) {
    (void)state;
    chunked_config c = signed_cfg(CHUNKED_SIGNED, DOC_SEED, "66560");
    cl_buf body = doc_body(DOC_SIG1, DOC_SIG2, DOC_SIG3, "\r\n");
    size_t data1 = strlen("10000;chunk-signature=" DOC_SIG1 "\r\n");
    for (size_t cut = 0; cut < body.len; cut += cut < data1 + 8 || cut > body.len - 300 ? 1 : 997) {
        result r = decode(c, slice_of(body.ptr, cut), cut % 5);
        assert_int_equal(r.st, CHUNKED_ERR_TRUNCATED);
        assert_string_equal(chunked_error_code(r.st), "IncompleteBody");
        assert_non_null(strstr(r.msg, "terminated unexpectedly"));
        buf_free(&r.out);
    }
    /* and bytes after the end are refused */
    buf_append_cstr(&body, "x");
    assert_int_equal(decode_status(c, buf_slice(&body)), CHUNKED_ERR_FRAMING);
    buf_free(&body);
}

static void test_doc_decoded_length(void **state) {
    (void)state;
    cl_buf body = doc_body(DOC_SIG1, DOC_SIG2, DOC_SIG3, "\r\n");
    const char *wrong[] = {"66559", "66561", "0", "65536", "1000000"};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        result r = decode(signed_cfg(CHUNKED_SIGNED, DOC_SEED, wrong[i]), buf_slice(&body),
                          1 + (unsigned)i);
        assert_int_equal(r.st, CHUNKED_ERR_LENGTH);
        assert_string_equal(chunked_error_code(r.st), "IncompleteBody");
        assert_non_null(strstr(r.msg, "x-amz-decoded-content-length"));
        buf_free(&r.out);
    }
    /* too short is seen at the first chunk header, before any data */
    result r = decode(signed_cfg(CHUNKED_SIGNED, DOC_SEED, "100"), buf_slice(&body), 0);
    assert_int_equal(r.st, CHUNKED_ERR_LENGTH);
    assert_int_equal(r.out.len, 0);
    buf_free(&r.out);
    const char *bad[] = {"", "-1", "12a", " 5", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(
            decode_status(signed_cfg(CHUNKED_SIGNED, DOC_SEED, bad[i]), buf_slice(&body)),
            CHUNKED_ERR_CONFIG);
    buf_free(&body);
}

/* ---- unsigned trailer (aws CLI / boto3 default) ---- */

static chunked_config unsigned_cfg(const char *trailer, const char *len) {
    return (chunked_config){
        .mode = CHUNKED_UNSIGNED_TRAILER, .trailer = trailer, .decoded_content_length = len};
}

static void test_unsigned_trailer(void **state) {
    (void)state;
    /* built the way botocore's AwsChunkedWrapper writes it */
    const char *ok = "11\r\nHello, Cloister!\n\r\n0\r\nx-amz-checksum-crc32:THpkIA==\r\n\r\n";
    for (unsigned split = 0; split < 20; split++) {
        result r = decode(unsigned_cfg("x-amz-checksum-crc32", "17"), slice_cstr(ok), split);
        assert_int_equal(r.st, CHUNKED_OK);
        expect_payload(&r, slice_cstr("Hello, Cloister!\n"));
        assert_string_equal(r.sum, "THpkIA==");
        buf_free(&r.out);
    }
    struct {
        const char *trailer, *body;
        chunked_status st;
        const char *msg;
    } V[] = {
        {"x-amz-checksum-crc32",
         "11\r\nHello, Cloister!\n\r\n0\r\nx-amz-checksum-crc32:THpkIQ==\r\n\r\n",
         CHUNKED_ERR_BAD_DIGEST, "The CRC32 you specified did not match the calculated checksum."},
        {"x-amz-checksum-crc32",
         "11\r\nHello, Cloister?\n\r\n0\r\nx-amz-checksum-crc32:THpkIA==\r\n\r\n",
         CHUNKED_ERR_BAD_DIGEST, "The CRC32 you specified did not match the calculated checksum."},
        {"x-amz-checksum-crc32",
         "11\r\nHello, Cloister!\n\r\n0\r\nx-amz-checksum-crc32:THpk\r\n\r\n",
         CHUNKED_ERR_CHECKSUM_VALUE, "Value for x-amz-checksum-crc32 trailing header is invalid."},
        {"x-amz-checksum-crc32",
         "11\r\nHello, Cloister!\n\r\n0\r\nx-amz-checksum-crc32:THpk!A==\r\n\r\n",
         CHUNKED_ERR_CHECKSUM_VALUE, NULL},
        {"x-amz-checksum-crc32", "11\r\nHello, Cloister!\n\r\n0\r\n\r\n", CHUNKED_ERR_TRAILER,
         "x-amz-trailer declares x-amz-checksum-crc32 but the body's trailer does not carry it."},
        {"x-amz-checksum-crc32",
         "11\r\nHello, Cloister!\n\r\n0\r\nx-amz-checksum-crc32c:THpkIA==\r\n\r\n",
         CHUNKED_ERR_TRAILER, NULL},
        {"x-amz-checksum-crc32",
         "11\r\nHello, Cloister!\n\r\n0\r\nx-amz-checksum-crc32:THpkIA==\r\n"
         "x-amz-checksum-crc32:THpkIA==\r\n\r\n",
         CHUNKED_ERR_TRAILER, NULL},
        {"x-amz-checksum-crc32",
         "11\r\nHello, Cloister!\n\r\n0\r\nx-amz-checksum-crc32:THpkIA==\r\n"
         "x-amz-trailer-signature:" DOC_SIG1 "\r\n\r\n",
         CHUNKED_ERR_TRAILER, NULL},
        {"x-amz-checksum-crc32",
         "11\r\nHello, Cloister!\n\r\n0\r\nx-amz-checksum-crc32THpkIA==\r\n\r\n",
         CHUNKED_ERR_TRAILER, NULL},
        {"x-amz-checksum-crc32", "11\r\nHello, Cloister!\n\r\n0\r\n:THpkIA==\r\n\r\n",
         CHUNKED_ERR_TRAILER, NULL},
        {NULL, "11\r\nHello, Cloister!\n\r\n0\r\nx-amz-checksum-crc32:THpkIA==\r\n\r\n",
         CHUNKED_ERR_TRAILER, NULL},
        {"x-amz-checksum-crc32",
         "11\r\nHello, Cloister!\n\r\n0\r\nx-amz-checksum-crc32:THpkIA==\r\n",
         CHUNKED_ERR_TRUNCATED, NULL},
        {"x-amz-checksum-crc32",
         "11\r\nHello, Cloister!\n\r\n0\r\nx-amz-checksum-crc32:THpkIA==\n\n", CHUNKED_ERR_TRAILER,
         NULL},
        /* the payload length says 17 (0x11); a size of 0x10 leaves a byte where CRLF belongs */
        {"x-amz-checksum-crc32",
         "10\r\nHello, Cloister!\n\r\n0\r\nx-amz-checksum-crc32:THpkIA==\r\n\r\n",
         CHUNKED_ERR_FRAMING, NULL},
    };
    for (size_t i = 0; i < sizeof V / sizeof V[0]; i++) {
        result r = decode(unsigned_cfg(V[i].trailer, NULL), slice_cstr(V[i].body), (unsigned)i % 3);
        if (r.st != V[i].st) fail_msg("case %zu: got %s (%s)", i, chunked_status_str(r.st), r.msg);
        if (V[i].msg) assert_string_equal(r.msg, V[i].msg);
        buf_free(&r.out);
    }
    /* whitespace around the value is tolerated; the name's case too */
    result r = decode(
        unsigned_cfg(" X-Amz-Checksum-CRC32 ", NULL),
        slice_cstr("11\r\nHello, Cloister!\n\r\n0\r\nX-Amz-Checksum-Crc32: THpkIA== \r\n\r\n"), 1);
    assert_int_equal(r.st, CHUNKED_OK);
    buf_free(&r.out);
    /* no trailer declared, none sent */
    r = decode(unsigned_cfg(NULL, "5"), slice_cstr("5\r\nhello\r\n0\r\n\r\n"), 1);
    assert_int_equal(r.st, CHUNKED_OK);
    assert_string_equal(r.sum, "");
    buf_free(&r.out);
}

static void test_unsigned_all_algorithms(void **state) {
    (void)state;
    cl_buf payload = CL_BUF_INIT;
    rng_state = 99;
    for (int i = 0; i < 40000; i++)
        buf_append_byte(&payload, (uint8_t)rng());
    for (checksum_algo a = CHECKSUM_CRC32; a <= CHECKSUM_SHA256; a++) {
        chunked_encoding e = {.mode = CHUNKED_UNSIGNED_TRAILER, .trailer = a, .chunk_size = 9000};
        cl_buf body = CL_BUF_INIT;
        chunked_encode(&e, buf_slice(&payload), &body);
        char name[48], want[CHECKSUM_B64_MAX];
        snprintf(name, sizeof name, "x-amz-checksum-%s", checksum_algo_name(a));
        checksum_base64(a, buf_slice(&payload), want);
        result r = decode(unsigned_cfg(name, "40000"), buf_slice(&body), (unsigned)a);
        assert_int_equal(r.st, CHUNKED_OK);
        assert_string_equal(r.sum, want);
        expect_payload(&r, buf_slice(&payload));
        buf_free(&r.out);
        /* flip one payload byte: the checksum catches it */
        body.ptr[5000] ^= 0x40;
        r = decode(unsigned_cfg(name, "40000"), buf_slice(&body), 0);
        assert_int_equal(r.st, CHUNKED_ERR_BAD_DIGEST);
        char msg[128];
        snprintf(msg, sizeof msg, "The %s you specified did not match the calculated checksum.",
                 checksum_algo_name(a));
        assert_string_equal(r.msg, msg);
        buf_free(&r.out);
        buf_free(&body);
    }
    buf_free(&payload);
}

/* ---- captured boto3 requests ---- */

typedef struct {
    cl_buf file;
    cl_kvlist headers;
    char *method, *path;
    cl_slice body;
} capture;

/* Fixtures live next to this file. meson compiles it by a path relative to
 * the build directory, where meson test runs it; run by hand from elsewhere,
 * the build directory is two levels above the executable (tests/unit/). */
static void read_fixture(const char *name, cl_buf *out) {
    const char *here = __FILE__, *slash = strrchr(here, '/');
    int dirlen = slash ? (int)(slash - here) : 1;
    char *path = cl_sprintf("%.*s/fixtures/chunked/%s", dirlen, slash ? here : ".", name);
    if (file_read_all(path, out, 1 << 20) == CL_OK) goto done;
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (here[0] != '/' && n > 0) {
        exe[n] = 0;
        for (int up = 0; up < 3; up++)
            *strrchr(exe, '/') = 0;
        free(path);
        path = cl_sprintf("%s/%.*s/fixtures/chunked/%s", exe, dirlen, here, name);
        if (file_read_all(path, out, 1 << 20) == CL_OK) goto done;
    }
    fail_msg("cannot read %s", path);
done:
    free(path);
}

static void load_capture(const char *name, capture *c) {
    *c = (capture){.file = CL_BUF_INIT, .headers = CL_KVLIST_INIT};
    read_fixture(name, &c->file);
    cl_slice rest = buf_slice(&c->file), line;
    assert_true(slice_split(&rest, '\n', &line));
    cl_slice reqline = slice_trim(slice_sub(line, 0, line.len - 1)), method, target;
    assert_true(slice_split(&reqline, ' ', &method));
    assert_true(slice_split(&reqline, ' ', &target));
    c->method = slice_dup(method);
    c->path = slice_dup(target);
    for (;;) {
        assert_true(slice_split(&rest, '\n', &line));
        assert_true(line.len && line.ptr[line.len - 1] == '\r');
        line.len--;
        if (!line.len) break;
        ptrdiff_t colon = slice_find(line, ':');
        assert_true(colon > 0);
        kvlist_addn(&c->headers, slice_sub(line, 0, (size_t)colon),
                    slice_trim(slice_sub(line, (size_t)colon + 1, line.len)));
    }
    c->body = rest;
}

static void free_capture(capture *c) {
    buf_free(&c->file);
    kvlist_free(&c->headers);
    free(c->method);
    free(c->path);
}

static chunked_config capture_cfg(const capture *c) {
    chunked_config cfg = {0};
    assert_true(chunked_mode_parse(kvlist_get_ci(&c->headers, "x-amz-content-sha256"), &cfg.mode));
    cfg.trailer = kvlist_get_ci(&c->headers, "x-amz-trailer");
    cfg.decoded_content_length = kvlist_get_ci(&c->headers, "x-amz-decoded-content-length");
    const char *sdk = kvlist_get_ci(&c->headers, "x-amz-sdk-checksum-algorithm");
    if (sdk) cfg.checksum = checksum_algo_parse(slice_cstr(sdk));
    return cfg;
}

static void test_boto3_captures(void **state) {
    (void)state;
    struct {
        const char *file, *sum;
        size_t size;
    } V[] = {
        {"boto3-crc32-default.http", "THpkIA==", 17},
        {"boto3-sha256.http", "A/BwUYtS60ePrIb5wBKneN8YMqbJmCu8+7o+oNjuCng=", 17},
        {"boto3-sha1.http", NULL, 17},
        {"boto3-empty.http", "AAAAAA==", 0},
        {"boto3-crc32-multichunk.http", NULL, 30000},
    };
    cl_buf multi = CL_BUF_INIT; /* the generator capture.py used */
    for (int i = 0; i < 30000; i++)
        buf_append_byte(&multi, (uint8_t)((i * 7 + 3) % 251));
    for (size_t i = 0; i < sizeof V / sizeof V[0]; i++) {
        capture c;
        load_capture(V[i].file, &c);
        assert_string_equal(kvlist_get_ci(&c.headers, "content-encoding"), "aws-chunked");
        assert_int_equal(capture_cfg(&c).mode, CHUNKED_UNSIGNED_TRAILER);
        cl_slice want = V[i].size == 30000 ? buf_slice(&multi)
                                           : slice_cstr(V[i].size ? "Hello, Cloister!\n" : "");
        char sum[CHECKSUM_B64_MAX];
        checksum_base64(capture_cfg(&c).checksum, want, sum);
        if (V[i].sum) assert_string_equal(sum, V[i].sum);
        for (unsigned split = 0; split < 8; split++) {
            result r = decode(capture_cfg(&c), c.body, split);
            if (r.st) fail_msg("%s: %s (%s)", V[i].file, chunked_status_str(r.st), r.msg);
            expect_payload(&r, want);
            assert_string_equal(r.sum, sum);
            buf_free(&r.out);
        }
        /* the head is a real SigV4 request whose payload hash is the streaming literal */
        sigv4_request req = {
            c.method, c.path, "", &c.headers, kvlist_get_ci(&c.headers, "x-amz-content-sha256"),
            true};
        sigv4_auth a;
        assert_int_equal(sigv4_parse(&req, &a), SIGV4_OK);
        assert_int_equal(
            sigv4_verify(&req, &a, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", a.request_time),
            SIGV4_OK);
        sigv4_auth_free(&a);
        /* and its trailer checksum guards the body: change one payload byte */
        if (V[i].size) {
            cl_buf copy = CL_BUF_INIT;
            buf_append_slice(&copy, c.body);
            copy.ptr[slice_find(c.body, '\n') + 1] ^= 1;
            assert_int_equal(decode_status(capture_cfg(&c), buf_slice(&copy)),
                             CHUNKED_ERR_BAD_DIGEST);
            buf_free(&copy);
        }
        free_capture(&c);
    }
    buf_free(&multi);
}

/* ---- framing, limits, configuration ---- */

static void test_framing_errors(void **state) {
    (void)state;
    struct {
        const char *body;
        chunked_status st;
    } V[] = {
        {"5\r\nhello\r\n0\r\n\r\n", CHUNKED_OK},
        {"5\nhello\r\n0\r\n\r\n", CHUNKED_ERR_FRAMING},         /* bare LF */
        {"5\r\r\nhello\r\n0\r\n\r\n", CHUNKED_ERR_FRAMING},     /* stray CR */
        {"g\r\nhello\r\n0\r\n\r\n", CHUNKED_ERR_FRAMING},       /* not hex */
        {"\r\nhello\r\n0\r\n\r\n", CHUNKED_ERR_FRAMING},        /* empty size */
        {"5 \r\nhello\r\n0\r\n\r\n", CHUNKED_ERR_FRAMING},      /* trailing space */
        {"5;ext=1\r\nhello\r\n0\r\n\r\n", CHUNKED_ERR_FRAMING}, /* extension when unsigned */
        {"5\r\nhelloX\r\n0\r\n\r\n", CHUNKED_ERR_FRAMING},      /* data longer than its size */
        {"5\r\nhello\n0\r\n\r\n", CHUNKED_ERR_FRAMING},         /* LF without CR after data */
        {"5\r\nhello\r\n0\r\n\r\n\r\n", CHUNKED_ERR_FRAMING},   /* bytes after the end */
        {"5\r\nhello\r\n00000000000000000\r\n\r\n", CHUNKED_ERR_FRAMING}, /* 17 digits */
        {"5\r\nhello\r\n0000000000000000\r\n\r\n", CHUNKED_OK},           /* 16 digits */
        {"000005\r\nhello\r\n0\r\n\r\n", CHUNKED_OK},
        {"5\r\nhello\r\n", CHUNKED_ERR_TRUNCATED},
        {"5\r\nhel", CHUNKED_ERR_TRUNCATED},
        {"5\r\nhello\r", CHUNKED_ERR_TRUNCATED},
        {"5\r\nhello\r\n0\r", CHUNKED_ERR_TRUNCATED},
        {"", CHUNKED_ERR_TRUNCATED},
        {"ffffffffffffffff\r\n", CHUNKED_ERR_TOO_LARGE},
    };
    for (size_t i = 0; i < sizeof V / sizeof V[0]; i++)
        for (unsigned split = 0; split < 3; split++) {
            result r = decode(unsigned_cfg(NULL, NULL), slice_cstr(V[i].body), split);
            if (r.st != V[i].st)
                fail_msg("case %zu split %u: got %s (%s)", i, split, chunked_status_str(r.st),
                         r.msg);
            if (r.st == CHUNKED_OK) expect_payload(&r, slice_cstr("hello"));
            buf_free(&r.out);
        }
    /* over-long lines fail as soon as the limit passes, without a newline */
    cl_buf longline = CL_BUF_INIT;
    buf_append_cstr(&longline, "5");
    for (int i = 0; i < CHUNKED_MAX_LINE; i++)
        buf_append_byte(&longline, ' ');
    chunked_config c = unsigned_cfg(NULL, NULL);
    chunked_decoder *d = chunked_new(&c);
    assert_int_equal(chunked_feed(d, buf_slice(&longline)), CHUNKED_ERR_FRAMING);
    assert_int_equal(chunked_feed(d, slice_cstr("\r\n")), CHUNKED_ERR_FRAMING); /* sticky */
    assert_int_equal(chunked_finish(d), CHUNKED_ERR_FRAMING);
    assert_non_null(strstr(chunked_message(d), "longer than"));
    chunked_free(d);
    buf_free(&longline);
    /* an endless trailer line */
    c = unsigned_cfg("x-amz-checksum-crc32", NULL);
    d = chunked_new(&c);
    assert_int_equal(chunked_feed(d, slice_cstr("0\r\nx-amz-checksum-crc32:")), CHUNKED_OK);
    chunked_status st = CHUNKED_OK;
    for (int i = 0; i < 1000 && st == CHUNKED_OK; i++)
        st = chunked_feed(d, slice_cstr("A"));
    assert_int_equal(st, CHUNKED_ERR_TRAILER);
    assert_string_equal(chunked_error_code(st), "MalformedTrailerError");
    chunked_free(d);
    /* signed mode: chunk header shapes */
    const char *signed_bad[] = {
        "0\r\n\r\n",
        "0;chunk-signature=\r\n\r\n",
        "0;chunk-signature=" DOC_SIG3 "0\r\n\r\n",
        "0;chunk-signature:" DOC_SIG3 "\r\n\r\n",
        "0;Chunk-Signature=" DOC_SIG3 "\r\n\r\n",
        "0 ;chunk-signature=" DOC_SIG3 "\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof signed_bad / sizeof signed_bad[0]; i++)
        assert_int_equal(
            decode_status(signed_cfg(CHUNKED_SIGNED, DOC_SEED, NULL), slice_cstr(signed_bad[i])),
            CHUNKED_ERR_FRAMING);
    /* a trailer in a mode that has none */
    uint8_t h[32];
    char s[65];
    crypto_sha256(CL_SLICE_NULL, h);
    chunked_sign_chunk(DOC_KEY, DOC_DATE, DOC_SCOPE, DOC_SEED, h, s);
    cl_buf b = CL_BUF_INIT;
    buf_appendf(&b, "0;chunk-signature=%s\r\n\r\n", s);
    chunked_config sc = signed_cfg(CHUNKED_SIGNED, DOC_SEED, "0");
    assert_int_equal(decode_status(sc, buf_slice(&b)), CHUNKED_OK); /* an empty object */
    buf_clear(&b);
    buf_appendf(&b, "0;chunk-signature=%s\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n", s);
    assert_int_equal(decode_status(sc, buf_slice(&b)), CHUNKED_ERR_FRAMING);
    buf_free(&b);
}

static void test_chunk_size_rules(void **state) {
    (void)state;
    cl_buf payload = CL_BUF_INIT, body = CL_BUF_INIT;
    for (int i = 0; i < 20000; i++)
        buf_append_byte(&payload, (uint8_t)i);
    chunked_encoding e = {
        .mode = CHUNKED_UNSIGNED_TRAILER, .trailer = CHECKSUM_CRC32, .chunk_size = 8191};
    chunked_encode(&e, buf_slice(&payload), &body);
    chunked_config c = unsigned_cfg("x-amz-checksum-crc32", "20000");
    result r = decode(c, buf_slice(&body), 2);
    assert_int_equal(r.st, CHUNKED_ERR_CHUNK_SIZE);
    assert_string_equal(chunked_error_code(r.st), "InvalidChunkSizeError");
    assert_non_null(
        strstr(r.msg, "Only the last chunk is allowed to have a size less than 8192 bytes"));
    assert_int_equal(r.out.len, 8191); /* refused at the second header */
    buf_free(&r.out);
    c.allow_small_chunks = true;
    assert_int_equal(decode_status(c, buf_slice(&body)), CHUNKED_OK);
    c.allow_small_chunks = false;
    /* exactly 8192 is fine, and so is a short last chunk */
    buf_clear(&body);
    e.chunk_size = 8192;
    chunked_encode(&e, buf_slice(&payload), &body);
    assert_int_equal(decode_status(c, buf_slice(&body)), CHUNKED_OK);
    /* the body limit */
    c.max_size = 19999;
    assert_int_equal(decode_status(c, buf_slice(&body)), CHUNKED_ERR_TOO_LARGE);
    c.decoded_content_length = NULL;
    r = decode(c, buf_slice(&body), 0);
    assert_int_equal(r.st, CHUNKED_ERR_TOO_LARGE);
    assert_string_equal(chunked_error_code(r.st), "EntityTooLarge");
    assert_int_equal(r.out.len, 16384); /* the third chunk's header crossed it */
    buf_free(&r.out);
    c.max_size = 20000;
    assert_int_equal(decode_status(c, buf_slice(&body)), CHUNKED_OK);
    buf_free(&body);
    buf_free(&payload);
}

static void test_config_errors(void **state) {
    (void)state;
    chunked_mode m;
    assert_true(chunked_mode_parse("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", &m) &&
                m == CHUNKED_SIGNED);
    assert_true(chunked_mode_parse("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", &m) &&
                m == CHUNKED_SIGNED_TRAILER);
    assert_true(chunked_mode_parse("STREAMING-UNSIGNED-PAYLOAD-TRAILER", &m) &&
                m == CHUNKED_UNSIGNED_TRAILER);
    assert_false(chunked_mode_parse("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", &m));
    assert_false(chunked_mode_parse("UNSIGNED-PAYLOAD", &m));
    assert_false(chunked_mode_parse("streaming-unsigned-payload-trailer", &m));
    assert_false(chunked_mode_parse(NULL, &m));

    chunked_config base = signed_cfg(CHUNKED_SIGNED, DOC_SEED, NULL);
    struct {
        chunked_config c;
        chunked_status st;
    } V[] = {
        {{.mode = 0}, CHUNKED_ERR_CONFIG},
        {{.mode = CHUNKED_SIGNED}, CHUNKED_ERR_CONFIG}, /* no key */
        {{.mode = CHUNKED_SIGNED_TRAILER,
          .signing_key = DOC_KEY,
          .amz_date = DOC_DATE,
          .scope = DOC_SCOPE,
          .seed_signature = "abc"},
         CHUNKED_ERR_CONFIG},
        {{.mode = CHUNKED_SIGNED,
          .signing_key = DOC_KEY,
          .amz_date = DOC_DATE,
          .scope = DOC_SCOPE,
          .seed_signature = "4F232C4386841EF735655705268965C44A0E4690BAA4ADEA153F7DB9FA80A0A9"},
         CHUNKED_ERR_CONFIG},
        {{.mode = CHUNKED_UNSIGNED_TRAILER, .trailer = "x-amz-checksum-md5"}, CHUNKED_ERR_CONFIG},
        {{.mode = CHUNKED_UNSIGNED_TRAILER,
          .trailer = "x-amz-checksum-crc32,x-amz-checksum-crc32c"},
         CHUNKED_ERR_CONFIG},
        {{.mode = CHUNKED_UNSIGNED_TRAILER,
          .trailer = "x-amz-checksum-crc32",
          .checksum = CHECKSUM_SHA256},
         CHUNKED_ERR_CONFIG},
        {{.mode = CHUNKED_UNSIGNED_TRAILER,
          .trailer = "x-amz-checksum-crc32",
          .checksum = CHECKSUM_CRC32},
         CHUNKED_OK},
        {{.mode = CHUNKED_UNSIGNED_TRAILER,
          .trailer = "x-amz-checksum-crc32",
          .expected_checksum = "AAAAAA=="},
         CHUNKED_ERR_CONFIG},
        {{.mode = CHUNKED_UNSIGNED_TRAILER, .expected_checksum = "AAAAAA=="}, CHUNKED_ERR_CONFIG},
        {{.mode = CHUNKED_UNSIGNED_TRAILER,
          .checksum = CHECKSUM_CRC32,
          .expected_checksum = "AAAAAAAA"},
         CHUNKED_ERR_CHECKSUM_VALUE},
        {{.mode = CHUNKED_UNSIGNED_TRAILER, .decoded_content_length = "6000000000"},
         CHUNKED_ERR_TOO_LARGE},
        {{.mode = CHUNKED_UNSIGNED_TRAILER}, CHUNKED_OK},
    };
    for (size_t i = 0; i < sizeof V / sizeof V[0]; i++) {
        chunked_decoder *d = chunked_new(&V[i].c);
        if (chunked_error(d) != V[i].st)
            fail_msg("case %zu: got %s (%s)", i, chunked_status_str(chunked_error(d)),
                     chunked_message(d));
        if (V[i].st) {
            assert_int_equal(chunked_feed(d, slice_cstr("0\r\n\r\n")), V[i].st);
            assert_int_equal(chunked_finish(d), V[i].st);
            assert_true(strlen(chunked_message(d)) > 10);
        }
        chunked_free(d);
    }
    /* x-amz-trailer needs a trailer mode */
    base.trailer = "x-amz-checksum-crc32";
    chunked_decoder *d = chunked_new(&base);
    assert_int_equal(chunked_error(d), CHUNKED_ERR_CONFIG);
    chunked_free(d);
    d = chunked_new(NULL);
    assert_int_equal(chunked_error(d), CHUNKED_ERR_CONFIG);
    chunked_free(d);
    chunked_free(NULL);
}

static void test_header_checksum(void **state) {
    (void)state;
    /* signed chunks with the checksum in a header (x-amz-checksum-crc64nvme) */
    cl_buf p = doc_payload(), body = doc_body(DOC_SIG1, DOC_SIG2, DOC_SIG3, "\r\n");
    char want[CHECKSUM_B64_MAX];
    checksum_base64(CHECKSUM_CRC64NVME, buf_slice(&p), want);
    chunked_config c = signed_cfg(CHUNKED_SIGNED, DOC_SEED, "66560");
    c.checksum = CHECKSUM_CRC64NVME;
    c.expected_checksum = want;
    result r = decode(c, buf_slice(&body), 5);
    assert_int_equal(r.st, CHUNKED_OK);
    assert_string_equal(r.sum, want);
    buf_free(&r.out);
    c.expected_checksum = "AAAAAAAAAAA=";
    r = decode(c, buf_slice(&body), 0);
    assert_int_equal(r.st, CHUNKED_ERR_BAD_DIGEST);
    assert_string_equal(r.msg,
                        "The CRC64NVME you specified did not match the calculated checksum.");
    buf_free(&r.out);
    /* compute only: S3 stores a default checksum even when none was sent */
    c.expected_checksum = NULL;
    r = decode(c, buf_slice(&body), 0);
    assert_int_equal(r.st, CHUNKED_OK);
    assert_string_equal(r.sum, want);
    buf_free(&r.out);
    buf_free(&body);
    buf_free(&p);
}

static int sink_calls;
static cl_err failing_sink(void *arg, cl_slice d) {
    (void)arg;
    (void)d;
    return ++sink_calls == 3 ? CL_ERR_IO : CL_OK;
}

static void test_sink_failure_and_statuses(void **state) {
    (void)state;
    cl_buf body = doc_body(DOC_SIG1, DOC_SIG2, DOC_SIG3, "\r\n");
    chunked_config c = signed_cfg(CHUNKED_SIGNED, DOC_SEED, NULL);
    c.sink = failing_sink;
    chunked_decoder *d = chunked_new(&c);
    chunked_status st = CHUNKED_OK;
    for (size_t off = 0; off < body.len && st == CHUNKED_OK; off += 1000)
        st = chunked_feed(d, slice_sub(buf_slice(&body), off, 1000));
    assert_int_equal(st, CHUNKED_ERR_SINK);
    assert_int_equal(chunked_http_status(st), 500);
    assert_string_equal(chunked_error_code(st), "InternalError");
    assert_int_equal(sink_calls, 3);
    assert_string_equal(chunked_checksum_base64(d), "");
    chunked_free(d);
    /* a NULL sink: verify only */
    c.sink = NULL;
    d = chunked_new(&c);
    assert_int_equal(chunked_feed(d, buf_slice(&body)), CHUNKED_OK);
    assert_int_equal(chunked_finish(d), CHUNKED_OK);
    assert_int_equal(chunked_finish(d), CHUNKED_OK); /* idempotent */
    assert_int_equal(chunked_decoded_size(d), DOC_LEN);
    assert_int_equal(chunked_checksum_algo(d), CHECKSUM_NONE);
    chunked_free(d);
    buf_free(&body);
    struct {
        chunked_status s;
        int http;
        const char *code;
    } V[] = {
        {CHUNKED_OK, 200, ""},
        {CHUNKED_ERR_CONFIG, 400, "InvalidRequest"},
        {CHUNKED_ERR_FRAMING, 400, "IncompleteBody"},
        {CHUNKED_ERR_TRUNCATED, 400, "IncompleteBody"},
        {CHUNKED_ERR_CHUNK_SIZE, 400, "InvalidChunkSizeError"},
        {CHUNKED_ERR_TOO_LARGE, 400, "EntityTooLarge"},
        {CHUNKED_ERR_LENGTH, 400, "IncompleteBody"},
        {CHUNKED_ERR_SIGNATURE, 403, "SignatureDoesNotMatch"},
        {CHUNKED_ERR_TRAILER, 400, "MalformedTrailerError"},
        {CHUNKED_ERR_CHECKSUM_VALUE, 400, "InvalidRequest"},
        {CHUNKED_ERR_BAD_DIGEST, 400, "BadDigest"},
        {CHUNKED_ERR_SINK, 500, "InternalError"},
        {(chunked_status)99, 500, "InternalError"},
    };
    for (size_t i = 0; i < sizeof V / sizeof V[0]; i++) {
        assert_int_equal(chunked_http_status(V[i].s), V[i].http);
        assert_string_equal(chunked_error_code(V[i].s), V[i].code);
        assert_non_null(chunked_status_str(V[i].s));
    }
}

/* A 16 MiB chunk fed in 64 KiB pieces: nothing is held back or copied, the
 * sink sees every byte as it arrives, and the signature still checks. */
static uint64_t streamed;
static cl_err count_sink(void *arg, cl_slice d) {
    (void)arg;
    streamed += d.len;
    return CL_OK;
}

static void test_large_chunk_streams(void **state) {
    (void)state;
    enum { BIG = 16 << 20, PIECE = 65536 };
    uint8_t *piece = malloc(PIECE);
    for (int i = 0; i < PIECE; i++)
        piece[i] = (uint8_t)(i * 31);
    crypto_sha256_ctx *h = crypto_sha256_new();
    for (int i = 0; i < BIG / PIECE; i++)
        crypto_sha256_update(h, slice_of(piece, PIECE));
    uint8_t dh[32];
    crypto_sha256_final(h, dh);
    char s1[65], s2[65];
    doc_key(DOC_KEY);
    chunked_sign_chunk(DOC_KEY, DOC_DATE, DOC_SCOPE, DOC_SEED, dh, s1);
    crypto_sha256(CL_SLICE_NULL, dh);
    chunked_sign_chunk(DOC_KEY, DOC_DATE, DOC_SCOPE, s1, dh, s2);
    chunked_config c = signed_cfg(CHUNKED_SIGNED, DOC_SEED, "16777216");
    c.sink = count_sink;
    chunked_decoder *d = chunked_new(&c);
    char head[128];
    snprintf(head, sizeof head, "1000000;chunk-signature=%s\r\n", s1);
    assert_int_equal(chunked_feed(d, slice_cstr(head)), CHUNKED_OK);
    streamed = 0;
    for (int i = 0; i < BIG / PIECE; i++) {
        assert_int_equal(chunked_feed(d, slice_of(piece, PIECE)), CHUNKED_OK);
        assert_int_equal(streamed, (uint64_t)(i + 1) * PIECE); /* passed on at once */
    }
    snprintf(head, sizeof head, "\r\n0;chunk-signature=%s\r\n\r\n", s2);
    assert_int_equal(chunked_feed(d, slice_cstr(head)), CHUNKED_OK);
    assert_int_equal(chunked_finish(d), CHUNKED_OK);
    chunked_free(d);
    free(piece);
}

/* Random payloads, modes, checksums, chunk sizes and splits: encode, decode. */
static void test_roundtrip_random(void **state) {
    (void)state;
    uint8_t key[32];
    doc_key(key);
    for (int iter = 0; iter < 150; iter++) {
        rng_state = 1000 + (uint64_t)iter;
        size_t len = rng() % 3 ? rng() % 5000 : rng() % 200000;
        cl_buf payload = CL_BUF_INIT, body = CL_BUF_INIT;
        for (size_t i = 0; i < len; i++)
            buf_append_byte(&payload, (uint8_t)rng());
        chunked_mode mode = (chunked_mode)(1 + rng() % 3);
        checksum_algo algo = mode == CHUNKED_SIGNED ? CHECKSUM_NONE : (checksum_algo)(rng() % 6);
        chunked_encoding e = {mode, key, DOC_DATE, DOC_SCOPE, DOC_SEED, algo, 1 + rng() % 20000};
        chunked_encode(&e, buf_slice(&payload), &body);
        char name[48], len_s[24];
        snprintf(name, sizeof name, "x-amz-checksum-%s", checksum_algo_name(algo));
        snprintf(len_s, sizeof len_s, "%zu", len);
        chunked_config c = signed_cfg(mode, DOC_SEED, rng() % 2 ? len_s : NULL);
        c.trailer = algo ? name : NULL;
        c.allow_small_chunks = true;
        result r = decode(c, buf_slice(&body), 2 + (unsigned)iter);
        if (r.st) fail_msg("iter %d: %s (%s)", iter, chunked_status_str(r.st), r.msg);
        expect_payload(&r, buf_slice(&payload));
        if (algo) {
            char want[CHECKSUM_B64_MAX];
            checksum_base64(algo, buf_slice(&payload), want);
            assert_string_equal(r.sum, want);
        }
        buf_free(&r.out);
        /* flip any one bit of the body: it may still decode (a hex digit's
         * or a header name's case) but never to a different payload, when
         * signatures or a checksum cover it */
        if (mode != CHUNKED_UNSIGNED_TRAILER || algo) {
            size_t pos = rng() % body.len;
            body.ptr[pos] ^= (uint8_t)(1u << (rng() % 8));
            r = decode(c, buf_slice(&body), 0);
            if (r.st == CHUNKED_OK) expect_payload(&r, buf_slice(&payload));
            buf_free(&r.out);
        }
        buf_free(&payload);
        buf_free(&body);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc_check_values),
        cmocka_unit_test(test_checksum_base64_values),
        cmocka_unit_test(test_crc_slicing_vs_reference),
        cmocka_unit_test(test_checksum_ctx),
        cmocka_unit_test(test_crc_combine),
        cmocka_unit_test(test_doc_chunk_signatures),
        cmocka_unit_test(test_doc_encode),
        cmocka_unit_test(test_doc_decode_splits),
        cmocka_unit_test(test_doc_trailer_decode),
        cmocka_unit_test(test_doc_tampered),
        cmocka_unit_test(test_doc_truncated),
        cmocka_unit_test(test_doc_decoded_length),
        cmocka_unit_test(test_unsigned_trailer),
        cmocka_unit_test(test_unsigned_all_algorithms),
        cmocka_unit_test(test_boto3_captures),
        cmocka_unit_test(test_framing_errors),
        cmocka_unit_test(test_chunk_size_rules),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_header_checksum),
        cmocka_unit_test(test_sink_failure_and_statuses),
        cmocka_unit_test(test_large_chunk_streams),
        cmocka_unit_test(test_roundtrip_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
