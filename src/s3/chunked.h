/* chunked.h — incremental decoder for `Content-Encoding: aws-chunked` request
 * bodies (S3 PutObject / UploadPart with x-amz-content-sha256 set to one of the
 * STREAMING-* values), plus the matching encoder for tests and clients.
 *
 * Wire format (AWS "Transferring payload in multiple chunks" and "Including
 * trailing headers"), by x-amz-content-sha256:
 *   STREAMING-AWS4-HMAC-SHA256-PAYLOAD          CHUNKED_SIGNED
 *       hex-size;chunk-signature=<64 hex>\r\n <data> \r\n ... 0;chunk-signature=<64 hex>\r\n \r\n
 *   STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER  CHUNKED_SIGNED_TRAILER
 *       signed chunks as above, then after the final chunk's header:
 *       x-amz-checksum-crc32c:<base64>\r\n x-amz-trailer-signature:<64 hex>\r\n \r\n
 *   STREAMING-UNSIGNED-PAYLOAD-TRAILER          CHUNKED_UNSIGNED_TRAILER
 *       hex-size\r\n <data> \r\n ... 0\r\n x-amz-checksum-crc32:<base64>\r\n \r\n
 *       (the aws CLI / boto3 >= 1.36 / SDK default for PutObject over HTTPS)
 * Each chunk signature is HMAC-SHA256(signing key, "AWS4-HMAC-SHA256-PAYLOAD\n"
 * amz_date "\n" scope "\n" previous_signature "\n" hex(sha256("")) "\n"
 * hex(sha256(chunk data))), the chain seeded by the Authorization header's
 * signature; the trailer signature is HMAC(key, "AWS4-HMAC-SHA256-TRAILER\n"
 * amz_date "\n" scope "\n" final_chunk_signature "\n" hex(sha256(trailers)))
 * where trailers is "name:value\n" for each trailing header but the signature
 * (name in lower case, value trimmed, sorted by name).
 *
 * Use: fill a chunked_config from the request headers, chunked_new, then
 * chunked_feed every piece of the body as it arrives (any split, down to one
 * byte), then chunked_finish when the body ends:
 *
 *     chunked_decoder *d = chunked_new(&cfg);
 *     chunked_status st = chunked_error(d);          // header problems
 *     while (st == CHUNKED_OK && more) st = chunked_feed(d, piece);
 *     if (st == CHUNKED_OK) st = chunked_finish(d);
 *     if (st) reply(chunked_http_status(st), chunked_error_code(st), chunked_message(d));
 *     else    commit(chunked_checksum_base64(d));
 *     chunked_free(d);
 *
 * Decoded payload bytes go to cfg.sink as they arrive. Memory is bounded (a
 * few hundred bytes of line buffer and the hash states) whatever the chunk
 * size, so a chunk's bytes reach the sink BEFORE its signature (checked at the
 * chunk's end) and the checksum (checked at the trailer) are verified: the
 * sink's output is untrusted until chunked_finish returns CHUNKED_OK, and the
 * caller writes it to a temporary blob it discards on any error.
 *
 * Errors are sticky: after the first, every call returns it. Each status maps
 * to the S3 error a client expects (chunked_http_status / chunked_error_code);
 * chunked_message says what was wrong.
 *
 * Limits (S3's where S3 has one): a chunk-size line or trailer line at most
 * CHUNKED_MAX_LINE bytes, at most 16 hex digits; the trailer section at most
 * CHUNKED_MAX_TRAILER bytes with only the trailer x-amz-trailer declared (one
 * checksum) and, when signed, x-amz-trailer-signature; every chunk but the
 * last at least 8192 bytes (S3's InvalidChunkSizeError; allow_small_chunks
 * lifts it); decoded bytes at most max_size (default 5 GiB, S3's largest
 * single PUT; a chunk is limited only by that, memory does not grow with it).
 *
 * Ownership: chunked_new copies everything it needs from the config (the
 * signing key too, zeroised by chunked_free); the decoder is the caller's and
 * freed with chunked_free. Strings returned by accessors live as long as the
 * decoder. A decoder is not thread-safe; one per request. */
#ifndef CLOISTER_S3_CHUNKED_H
#define CLOISTER_S3_CHUNKED_H

#include "base/base.h"
#include "crypto/crypto.h"

#define CHUNKED_MIN_CHUNK 8192
#define CHUNKED_MAX_LINE 256
#define CHUNKED_MAX_TRAILER 1024
#define CHUNKED_DEFAULT_MAX_SIZE (5ull << 30)
#define CHUNKED_SIG_HEX 64

typedef enum {
    CHUNKED_SIGNED = 1,       /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD */
    CHUNKED_SIGNED_TRAILER,   /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER */
    CHUNKED_UNSIGNED_TRAILER, /* STREAMING-UNSIGNED-PAYLOAD-TRAILER */
} chunked_mode;

/* x-amz-content-sha256 value -> mode. False for anything else, including the
 * SigV4a STREAMING-AWS4-ECDSA-P256-SHA256-* values (S3 handlers answer those
 * with NotImplemented) and plain UNSIGNED-PAYLOAD / hex digests. */
bool chunked_mode_parse(const char *content_sha256, chunked_mode *out);

typedef enum {
    CHUNKED_OK = 0,
    /* request headers: bad x-amz-trailer or decoded length, no key (400 InvalidRequest) */
    CHUNKED_ERR_CONFIG,
    /* malformed chunk line or CRLF, bytes after the end (400 IncompleteBody) */
    CHUNKED_ERR_FRAMING,
    /* the body ended before the final chunk and trailer (400 IncompleteBody) */
    CHUNKED_ERR_TRUNCATED,
    /* a chunk other than the last under 8192 bytes (400 InvalidChunkSizeError) */
    CHUNKED_ERR_CHUNK_SIZE,
    /* decoded bytes over max_size (400 EntityTooLarge) */
    CHUNKED_ERR_TOO_LARGE,
    /* decoded size differs from x-amz-decoded-content-length (400 IncompleteBody) */
    CHUNKED_ERR_LENGTH,
    /* a chunk or trailer signature does not match (403 SignatureDoesNotMatch) */
    CHUNKED_ERR_SIGNATURE,
    /* trailer malformed, missing or not declared (400 MalformedTrailerError) */
    CHUNKED_ERR_TRAILER,
    /* a checksum value that is not base64 of the right length (400 InvalidRequest) */
    CHUNKED_ERR_CHECKSUM_VALUE,
    /* the checksum differs from the payload's (400 BadDigest) */
    CHUNKED_ERR_BAD_DIGEST,
    /* the sink returned an error (500 InternalError) */
    CHUNKED_ERR_SINK,
} chunked_status;

const char *chunked_status_str(chunked_status s); /* "framing", "signature", ... for logs */
int chunked_http_status(chunked_status s);        /* 400, 403 or 500; 200 for OK */
const char *chunked_error_code(chunked_status s); /* S3 <Code>: "IncompleteBody", ... */

/* Receives decoded payload bytes in order. A non-OK return stops decoding
 * with CHUNKED_ERR_SINK. */
typedef cl_err (*chunked_sink)(void *arg, cl_slice data);

typedef struct {
    chunked_mode mode;
    /* Signed modes only: the SigV4 signing key of the request's scope
     * (sigv4_signing_key), its X-Amz-Date, its credential scope
     * "YYYYMMDD/region/s3/aws4_request" and the Authorization header's
     * Signature (64 hex), which seeds the chunk signature chain. */
    const uint8_t *signing_key; /* 32 bytes */
    const char *amz_date;
    const char *scope;
    const char *seed_signature;
    /* x-amz-decoded-content-length as sent, or NULL when absent (S3 demands
     * it, 411 MissingContentLength, before a body is read: the caller's
     * call). When given, the decoded size is held to it chunk by chunk. */
    const char *decoded_content_length;
    /* x-amz-trailer as sent ("x-amz-checksum-crc32"), or NULL. Trailer modes
     * only; names the one checksum the trailer carries. */
    const char *trailer;
    /* A checksum to compute even when no trailer carries one (e.g. from
     * x-amz-sdk-checksum-algorithm, or S3's default CRC64NVME); must agree
     * with the trailer when both are given. */
    checksum_algo checksum;
    /* That checksum's expected value when sent as a header (x-amz-checksum-*,
     * base64), or NULL. Not together with a trailer. */
    const char *expected_checksum;
    uint64_t max_size;       /* decoded bytes; 0 = CHUNKED_DEFAULT_MAX_SIZE */
    bool allow_small_chunks; /* lift the 8192-byte minimum for non-final chunks */
    chunked_sink sink;       /* may be NULL (decode and verify only) */
    void *sink_arg;
} chunked_config;

typedef struct chunked_decoder chunked_decoder;

/* Never NULL. A problem with the config is reported by chunked_error (and by
 * every later call). */
chunked_decoder *chunked_new(const chunked_config *cfg);
/* Feeds the next piece of the body. */
chunked_status chunked_feed(chunked_decoder *d, cl_slice piece);
/* The body has ended: OK only if the final chunk and trailer were complete and
 * every signature, length and checksum matched. */
chunked_status chunked_finish(chunked_decoder *d);
chunked_status chunked_error(const chunked_decoder *d); /* sticky status so far */
/* Human message for the current error (S3's wording where S3 has one); ""
 * when there is none. */
const char *chunked_message(const chunked_decoder *d);
uint64_t chunked_decoded_size(const chunked_decoder *d); /* payload bytes so far */
/* The checksum algorithm in use (trailer or cfg.checksum) and, once
 * chunked_finish returned OK, its base64 value as S3 stores and returns it;
 * "" before that or when there is none. */
checksum_algo chunked_checksum_algo(const chunked_decoder *d);
const char *chunked_checksum_base64(const chunked_decoder *d);
void chunked_free(chunked_decoder *d); /* NULL is fine */

/* ---- signatures, shared by the decoder, the encoder and tests ---- */

/* Lower-case hex signature of one chunk whose data hashes to data_sha256. */
void chunked_sign_chunk(const uint8_t key[32], const char *amz_date, const char *scope,
                        const char *prev_signature, const uint8_t data_sha256[32],
                        char out[CHUNKED_SIG_HEX + 1]);
/* Lower-case hex signature of the trailer whose canonical form ("name:value\n"
 * per trailing header, sorted by name) is `trailers`. */
void chunked_sign_trailer(const uint8_t key[32], const char *amz_date, const char *scope,
                          const char *prev_signature, cl_slice trailers,
                          char out[CHUNKED_SIG_HEX + 1]);

/* ---- encoder (client side; tests and fuzzing build their bodies with it) ---- */

typedef struct {
    chunked_mode mode;
    const uint8_t *signing_key; /* signed modes: as in chunked_config */
    const char *amz_date;
    const char *scope;
    const char *seed_signature;
    checksum_algo trailer; /* trailer modes: the checksum sent as a trailer, or NONE */
    size_t chunk_size;     /* payload bytes per chunk, the last may be less; 0 = 64 KiB */
} chunked_encoding;

/* Appends the complete aws-chunked body for payload to out. */
void chunked_encode(const chunked_encoding *e, cl_slice payload, cl_buf *out);

#endif
