/* chunked.c — the aws-chunked decoder and encoder (see chunked.h for the wire
 * format and the API contract).
 *
 * The decoder is a push state machine: chunked_feed hands it whatever bytes
 * arrived and it walks
 *     SIZE line -> DATA (size bytes) -> CR -> LF -> SIZE ... -> size 0 -> TRAILER lines -> DONE
 * Lines (chunk-size lines and trailing headers) are gathered into a fixed
 * CHUNKED_MAX_LINE buffer, so a line split across any number of pieces is
 * handled the same as a whole one; data bytes are never copied, only hashed
 * and passed to the sink. Every check that can be made early is made early
 * (size limits and the decoded length at each chunk header, each chunk's
 * signature at its end) so a bad stream is refused before the rest of it is
 * read. The first failure is kept (sticky) with a message. */
#include "s3/chunked.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EMPTY_SHA256_HEX "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define CHUNK_SIG_EXT ";chunk-signature="
#define TRAILER_SIG_NAME "x-amz-trailer-signature"
#define CHECKSUM_VALUE_MAX 64 /* longest base64 we keep (SHA-256 needs 44) */
#define MAX_HEX_DIGITS 16

typedef enum { ST_SIZE, ST_DATA, ST_DATA_CR, ST_DATA_LF, ST_TRAILER, ST_DONE } dec_state;

struct chunked_decoder {
    /* from the config */
    chunked_mode mode;
    bool is_signed;
    uint8_t key[32];
    char *amz_date, *scope;
    bool has_length;
    uint64_t expected_length, max_size, min_chunk;
    chunked_sink sink;
    void *sink_arg;
    checksum_algo algo;
    char trailer_name[48]; /* declared trailer, lower case; "" when none */
    bool header_expected;  /* expected checksum came as a header */
    uint8_t expected[CHECKSUM_MAX_LEN];

    /* progress */
    dec_state st;
    chunked_status err;
    char msg[192];
    char line[CHUNKED_MAX_LINE];
    size_t line_len;
    uint64_t nchunks, chunk_size, remaining, total;
    char prev_sig[CHUNKED_SIG_HEX + 1];    /* last verified signature (seed first) */
    char claimed_sig[CHUNKED_SIG_HEX + 1]; /* the current chunk's, from its header */
    crypto_sha256_ctx *chunk_hash;
    checksum_ctx sum;
    char sum_b64[CHECKSUM_B64_MAX];

    /* trailer section */
    size_t trailer_bytes;
    bool got_value, got_sig;
    char value[CHECKSUM_VALUE_MAX];
    size_t value_len;
    char trailer_sig[CHUNKED_SIG_HEX + 1];
};

/* ---- statuses ---- */

static const struct {
    const char *name;
    int http;
    const char *code;
} STATUS[] = {
    [CHUNKED_OK] = {"ok", 200, ""},
    [CHUNKED_ERR_CONFIG] = {"config", 400, "InvalidRequest"},
    [CHUNKED_ERR_FRAMING] = {"framing", 400, "IncompleteBody"},
    [CHUNKED_ERR_TRUNCATED] = {"truncated", 400, "IncompleteBody"},
    [CHUNKED_ERR_CHUNK_SIZE] = {"chunk-size", 400, "InvalidChunkSizeError"},
    [CHUNKED_ERR_TOO_LARGE] = {"too-large", 400, "EntityTooLarge"},
    [CHUNKED_ERR_LENGTH] = {"length", 400, "IncompleteBody"},
    [CHUNKED_ERR_SIGNATURE] = {"signature", 403, "SignatureDoesNotMatch"},
    [CHUNKED_ERR_TRAILER] = {"trailer", 400, "MalformedTrailerError"},
    [CHUNKED_ERR_CHECKSUM_VALUE] = {"checksum-value", 400, "InvalidRequest"},
    [CHUNKED_ERR_BAD_DIGEST] = {"bad-digest", 400, "BadDigest"},
    [CHUNKED_ERR_SINK] = {"sink", 500, "InternalError"},
};
#define NSTATUS (sizeof STATUS / sizeof STATUS[0])

const char *chunked_status_str(chunked_status s) {
    return (size_t)s < NSTATUS ? STATUS[s].name : "unknown";
}
int chunked_http_status(chunked_status s) {
    return (size_t)s < NSTATUS ? STATUS[s].http : 500;
}
const char *chunked_error_code(chunked_status s) {
    return (size_t)s < NSTATUS ? STATUS[s].code : "InternalError";
}

static const char SIG_MSG[] = "The request signature we calculated does not match the signature "
                              "you provided. Check your key and signing method.";
static const char TRAILER_MSG[] = "The request contained trailing data that was not well-formed "
                                  "or did not conform to our published schema.";

/* Records the first failure; returns the sticky status. */
__attribute__((format(printf, 3, 4))) static chunked_status
fail(chunked_decoder *d, chunked_status s, const char *fmt, ...) {
    if (d->err) return d->err;
    d->err = s;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof d->msg, fmt, ap);
    va_end(ap);
    return s;
}

bool chunked_mode_parse(const char *v, chunked_mode *out) {
    static const struct {
        const char *value;
        chunked_mode mode;
    } MODES[] = {
        {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD", CHUNKED_SIGNED},
        {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", CHUNKED_SIGNED_TRAILER},
        {"STREAMING-UNSIGNED-PAYLOAD-TRAILER", CHUNKED_UNSIGNED_TRAILER},
    };
    for (size_t i = 0; v && i < sizeof MODES / sizeof MODES[0]; i++)
        if (!strcmp(v, MODES[i].value)) {
            *out = MODES[i].mode;
            return true;
        }
    return false;
}

/* ---- signatures ---- */

void chunked_sign_chunk(const uint8_t key[32], const char *amz_date, const char *scope,
                        const char *prev_signature, const uint8_t data_sha256[32],
                        char out[CHUNKED_SIG_HEX + 1]) {
    char data_hex[65];
    hex_encode_to(data_hex, data_sha256, 32);
    cl_buf sts = CL_BUF_INIT;
    buf_appendf(&sts, "AWS4-HMAC-SHA256-PAYLOAD\n%s\n%s\n%s\n%s\n%s", amz_date, scope,
                prev_signature, EMPTY_SHA256_HEX, data_hex);
    uint8_t mac[32];
    crypto_hmac_sha256(slice_of(key, 32), buf_slice(&sts), mac);
    hex_encode_to(out, mac, sizeof mac);
    buf_free(&sts);
}

void chunked_sign_trailer(const uint8_t key[32], const char *amz_date, const char *scope,
                          const char *prev_signature, cl_slice trailers,
                          char out[CHUNKED_SIG_HEX + 1]) {
    char hash_hex[65];
    crypto_sha256_hex(trailers, hash_hex);
    cl_buf sts = CL_BUF_INIT;
    buf_appendf(&sts, "AWS4-HMAC-SHA256-TRAILER\n%s\n%s\n%s\n%s", amz_date, scope, prev_signature,
                hash_hex);
    uint8_t mac[32];
    crypto_hmac_sha256(slice_of(key, 32), buf_slice(&sts), mac);
    hex_encode_to(out, mac, sizeof mac);
    buf_free(&sts);
}

/* ---- setup ---- */

static bool is_lower_hex(cl_slice s) {
    for (size_t i = 0; i < s.len; i++)
        if (!((s.ptr[i] >= '0' && s.ptr[i] <= '9') || (s.ptr[i] >= 'a' && s.ptr[i] <= 'f')))
            return false;
    return true;
}

static int hexval(uint8_t c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* "x-amz-checksum-crc32" for CHECKSUM_CRC32. */
static void checksum_header_name(checksum_algo a, char out[48]) {
    int n = snprintf(out, 48, "x-amz-checksum-%s", checksum_algo_name(a));
    for (int i = 0; i < n && i < 48; i++)
        if (out[i] >= 'A' && out[i] <= 'Z') out[i] = (char)(out[i] - 'A' + 'a');
}

/* Base64 text -> exactly checksum_len(a) bytes, or false. */
static bool decode_checksum(checksum_algo a, cl_slice text, uint8_t out[CHECKSUM_MAX_LEN]) {
    cl_buf b = CL_BUF_INIT;
    bool ok = base64_decode(&b, text) == CL_OK && b.len == checksum_len(a);
    if (ok) memcpy(out, b.ptr, b.len);
    buf_free(&b);
    return ok;
}

static chunked_status setup_signing(chunked_decoder *d, const chunked_config *c) {
    if (!c->signing_key || !c->amz_date || !c->scope || !c->seed_signature)
        return fail(d, CHUNKED_ERR_CONFIG,
                    "A signed aws-chunked body needs the signing key, date, scope and seed "
                    "signature of the request.");
    cl_slice seed = slice_cstr(c->seed_signature);
    if (seed.len != CHUNKED_SIG_HEX || !is_lower_hex(seed))
        return fail(d, CHUNKED_ERR_CONFIG, "The seed signature must be 64 lower-case hex digits.");
    memcpy(d->key, c->signing_key, sizeof d->key);
    d->amz_date = cl_strdup(c->amz_date);
    d->scope = cl_strdup(c->scope);
    memcpy(d->prev_sig, seed.ptr, CHUNKED_SIG_HEX + 1);
    return CHUNKED_OK;
}

static chunked_status setup_checksum(chunked_decoder *d, const chunked_config *c) {
    checksum_algo algo = c->checksum;
    if (c->trailer) {
        cl_slice t = slice_trim(slice_cstr(c->trailer));
        checksum_algo ta = checksum_algo_from_header(t);
        if (d->mode == CHUNKED_SIGNED)
            return fail(d, CHUNKED_ERR_CONFIG,
                        "x-amz-trailer needs x-amz-content-sha256 "
                        "STREAMING-UNSIGNED-PAYLOAD-TRAILER or "
                        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER.");
        if (ta == CHECKSUM_NONE)
            return fail(d, CHUNKED_ERR_CONFIG,
                        "The value specified in the x-amz-trailer header is not supported.");
        if (algo != CHECKSUM_NONE && algo != ta)
            return fail(d, CHUNKED_ERR_CONFIG,
                        "x-amz-sdk-checksum-algorithm %s does not match x-amz-trailer.",
                        checksum_algo_name(algo));
        if (c->expected_checksum)
            return fail(d, CHUNKED_ERR_CONFIG,
                        "Expecting a single x-amz-checksum- header. Multiple checksum Types "
                        "are not allowed.");
        algo = ta;
        checksum_header_name(ta, d->trailer_name);
    }
    if (checksum_len(algo) == 0) algo = CHECKSUM_NONE;
    if (c->expected_checksum) {
        char name[48];
        checksum_header_name(algo, name);
        if (algo == CHECKSUM_NONE)
            return fail(d, CHUNKED_ERR_CONFIG, "An expected checksum needs its algorithm.");
        if (!decode_checksum(algo, slice_cstr(c->expected_checksum), d->expected))
            return fail(d, CHUNKED_ERR_CHECKSUM_VALUE, "Value for %s header is invalid.", name);
        d->header_expected = true;
    }
    d->algo = algo;
    checksum_init(&d->sum, algo);
    return CHUNKED_OK;
}

static void setup(chunked_decoder *d, const chunked_config *c) {
    if (!c) {
        fail(d, CHUNKED_ERR_CONFIG, "No aws-chunked configuration.");
        return;
    }
    d->mode = c->mode;
    d->sink = c->sink;
    d->sink_arg = c->sink_arg;
    d->max_size = c->max_size ? c->max_size : CHUNKED_DEFAULT_MAX_SIZE;
    d->min_chunk = c->allow_small_chunks ? 0 : CHUNKED_MIN_CHUNK;
    if (c->mode != CHUNKED_SIGNED && c->mode != CHUNKED_SIGNED_TRAILER &&
        c->mode != CHUNKED_UNSIGNED_TRAILER) {
        fail(d, CHUNKED_ERR_CONFIG, "Unsupported x-amz-content-sha256 for aws-chunked.");
        return;
    }
    d->is_signed = c->mode != CHUNKED_UNSIGNED_TRAILER;
    if (d->is_signed && setup_signing(d, c)) return;
    if (c->decoded_content_length) {
        if (slice_to_u64(slice_cstr(c->decoded_content_length), &d->expected_length) != CL_OK) {
            fail(d, CHUNKED_ERR_CONFIG,
                 "x-amz-decoded-content-length must be a decimal number of bytes.");
            return;
        }
        d->has_length = true;
        if (d->expected_length > d->max_size) {
            fail(d, CHUNKED_ERR_TOO_LARGE,
                 "Your proposed upload exceeds the maximum allowed object size.");
            return;
        }
    }
    setup_checksum(d, c);
}

chunked_decoder *chunked_new(const chunked_config *cfg) {
    chunked_decoder *d = cl_calloc(1, sizeof *d);
    d->st = ST_SIZE;
    setup(d, cfg);
    return d;
}

void chunked_free(chunked_decoder *d) {
    if (!d) return;
    if (d->chunk_hash) {
        uint8_t h[32];
        crypto_sha256_final(d->chunk_hash, h);
    }
    checksum_reset(&d->sum);
    free(d->amz_date);
    free(d->scope);
    cl_cleanse(d, sizeof *d);
    free(d);
}

chunked_status chunked_error(const chunked_decoder *d) {
    return d->err;
}
const char *chunked_message(const chunked_decoder *d) {
    return d->err ? d->msg : "";
}
uint64_t chunked_decoded_size(const chunked_decoder *d) {
    return d->total;
}
checksum_algo chunked_checksum_algo(const chunked_decoder *d) {
    return d->algo;
}
const char *chunked_checksum_base64(const chunked_decoder *d) {
    return d->st == ST_DONE && !d->err ? d->sum_b64 : "";
}

/* ---- decoding ---- */

/* Checks the signature the current chunk's header claimed against its data
 * (data_hash NULL: the empty chunk) and moves the chain on. */
static chunked_status verify_chunk(chunked_decoder *d) {
    uint8_t h[32];
    if (d->chunk_hash) {
        crypto_sha256_final(d->chunk_hash, h);
        d->chunk_hash = NULL;
    } else {
        crypto_sha256(CL_SLICE_NULL, h);
    }
    char want[CHUNKED_SIG_HEX + 1];
    chunked_sign_chunk(d->key, d->amz_date, d->scope, d->prev_sig, h, want);
    bool ok = cl_ct_eq(want, d->claimed_sig, CHUNKED_SIG_HEX);
    cl_cleanse(want, sizeof want);
    if (!ok) return fail(d, CHUNKED_ERR_SIGNATURE, "%s", SIG_MSG);
    memcpy(d->prev_sig, d->claimed_sig, sizeof d->prev_sig);
    return CHUNKED_OK;
}

/* The final (empty) chunk: check it, the decoded length, then read trailers. */
static chunked_status end_of_chunks(chunked_decoder *d) {
    if (d->is_signed && verify_chunk(d)) return d->err;
    if (d->has_length && d->total != d->expected_length)
        return fail(d, CHUNKED_ERR_LENGTH,
                    "The body decoded to %llu bytes but x-amz-decoded-content-length is %llu.",
                    (unsigned long long)d->total, (unsigned long long)d->expected_length);
    d->st = ST_TRAILER;
    return CHUNKED_OK;
}

static chunked_status start_chunk(chunked_decoder *d, uint64_t size) {
    if (size && d->nchunks && d->chunk_size < d->min_chunk)
        return fail(d, CHUNKED_ERR_CHUNK_SIZE,
                    "Only the last chunk is allowed to have a size less than %d bytes (chunk "
                    "%llu has %llu).",
                    CHUNKED_MIN_CHUNK, (unsigned long long)d->nchunks,
                    (unsigned long long)d->chunk_size);
    if (size > d->max_size - d->total)
        return fail(d, CHUNKED_ERR_TOO_LARGE,
                    "Your proposed upload exceeds the maximum allowed object size.");
    if (d->has_length && size > d->expected_length - d->total)
        return fail(d, CHUNKED_ERR_LENGTH,
                    "The body decodes to more than the %llu bytes x-amz-decoded-content-length "
                    "declares.",
                    (unsigned long long)d->expected_length);
    d->nchunks++;
    d->chunk_size = d->remaining = size;
    if (!size) return end_of_chunks(d);
    if (d->is_signed) d->chunk_hash = crypto_sha256_new();
    d->st = ST_DATA;
    return CHUNKED_OK;
}

/* "hex-size" (unsigned) or "hex-size;chunk-signature=<64 hex>" (signed). */
static chunked_status on_size_line(chunked_decoder *d, cl_slice line) {
    uint64_t size = 0;
    size_t i = 0;
    for (; i < line.len && hexval(line.ptr[i]) >= 0; i++) {
        if (i == MAX_HEX_DIGITS)
            return fail(d, CHUNKED_ERR_FRAMING, "A chunk size has more than %d hex digits.",
                        MAX_HEX_DIGITS);
        size = size << 4 | (uint64_t)hexval(line.ptr[i]);
    }
    if (!i)
        return fail(d, CHUNKED_ERR_FRAMING,
                    "Malformed aws-chunked body: expected a hex chunk size at chunk %llu.",
                    (unsigned long long)d->nchunks + 1);
    cl_slice rest = slice_sub(line, i, line.len - i);
    size_t ext = sizeof CHUNK_SIG_EXT - 1;
    if (d->is_signed) {
        cl_slice sig = slice_sub(rest, ext, rest.len);
        if (!slice_starts_with(rest, CHUNK_SIG_EXT) || sig.len != CHUNKED_SIG_HEX ||
            !is_lower_hex(sig))
            return fail(d, CHUNKED_ERR_FRAMING,
                        "Malformed aws-chunked body: chunk %llu header is not "
                        "hex-size;chunk-signature=<64 hex digits>.",
                        (unsigned long long)d->nchunks + 1);
        memcpy(d->claimed_sig, sig.ptr, CHUNKED_SIG_HEX);
        d->claimed_sig[CHUNKED_SIG_HEX] = 0;
    } else if (rest.len) {
        return fail(d, CHUNKED_ERR_FRAMING,
                    "Malformed aws-chunked body: chunk %llu header has more than a hex size.",
                    (unsigned long long)d->nchunks + 1);
    }
    return start_chunk(d, size);
}

static chunked_status end_of_trailers(chunked_decoder *d) {
    if (d->mode == CHUNKED_SIGNED_TRAILER && d->got_value && !d->got_sig)
        return fail(d, CHUNKED_ERR_TRAILER,
                    "A signed trailer needs x-amz-trailer-signature after its headers.");
    if (d->got_sig) {
        cl_buf canon = CL_BUF_INIT;
        if (d->got_value)
            buf_appendf(&canon, "%s:%.*s\n", d->trailer_name, (int)d->value_len, d->value);
        char want[CHUNKED_SIG_HEX + 1];
        chunked_sign_trailer(d->key, d->amz_date, d->scope, d->prev_sig, buf_slice(&canon), want);
        buf_free(&canon);
        if (!cl_ct_eq(want, d->trailer_sig, CHUNKED_SIG_HEX))
            return fail(d, CHUNKED_ERR_SIGNATURE, "%s", SIG_MSG);
    }
    if (d->trailer_name[0] && !d->got_value)
        return fail(d, CHUNKED_ERR_TRAILER,
                    "x-amz-trailer declares %s but the body's trailer does not carry it.",
                    d->trailer_name);
    uint8_t got[CHECKSUM_MAX_LEN], want[CHECKSUM_MAX_LEN];
    size_t n = checksum_final(&d->sum, got);
    cl_buf b64 = CL_BUF_INIT;
    base64_encode(&b64, slice_of(got, n));
    memcpy(d->sum_b64, b64.ptr ? b64.ptr : (const uint8_t *)"", b64.len);
    d->sum_b64[b64.len] = 0;
    buf_free(&b64);
    if (d->got_value && !decode_checksum(d->algo, slice_of(d->value, d->value_len), want))
        return fail(d, CHUNKED_ERR_CHECKSUM_VALUE, "Value for %s trailing header is invalid.",
                    d->trailer_name);
    if (d->header_expected) memcpy(want, d->expected, n);
    if ((d->got_value || d->header_expected) && memcmp(want, got, n))
        return fail(d, CHUNKED_ERR_BAD_DIGEST,
                    "The %s you specified did not match the calculated checksum.",
                    checksum_algo_name(d->algo));
    d->st = ST_DONE;
    return CHUNKED_OK;
}

/* One trailing header line ("name:value"), or the empty line that ends them. */
static chunked_status on_trailer_line(chunked_decoder *d, cl_slice line) {
    if (!line.len) return end_of_trailers(d);
    if (d->mode == CHUNKED_SIGNED)
        return fail(d, CHUNKED_ERR_FRAMING,
                    "Malformed aws-chunked body: expected an empty line after the final chunk "
                    "(STREAMING-AWS4-HMAC-SHA256-PAYLOAD carries no trailer).");
    if (d->got_sig)
        return fail(d, CHUNKED_ERR_TRAILER, "%s x-amz-trailer-signature must come last.",
                    TRAILER_MSG);
    ptrdiff_t colon = slice_find(line, ':');
    if (colon <= 0) return fail(d, CHUNKED_ERR_TRAILER, "%s", TRAILER_MSG);
    cl_slice name = slice_trim(slice_sub(line, 0, (size_t)colon));
    cl_slice value = slice_trim(slice_sub(line, (size_t)colon + 1, line.len));
    if (slice_case_eq_cstr(name, TRAILER_SIG_NAME)) {
        if (d->mode != CHUNKED_SIGNED_TRAILER || value.len != CHUNKED_SIG_HEX ||
            !is_lower_hex(value))
            return fail(d, CHUNKED_ERR_TRAILER, "%s", TRAILER_MSG);
        memcpy(d->trailer_sig, value.ptr, CHUNKED_SIG_HEX);
        d->got_sig = true;
        return CHUNKED_OK;
    }
    if (!d->trailer_name[0] || !slice_case_eq_cstr(name, d->trailer_name))
        return fail(d, CHUNKED_ERR_TRAILER,
                    "%s The trailer carries a header x-amz-trailer "
                    "does not declare.",
                    TRAILER_MSG);
    if (d->got_value)
        return fail(d, CHUNKED_ERR_TRAILER, "%s %s appears twice.", TRAILER_MSG, d->trailer_name);
    if (value.len > CHECKSUM_VALUE_MAX)
        return fail(d, CHUNKED_ERR_CHECKSUM_VALUE, "Value for %s trailing header is invalid.",
                    d->trailer_name);
    memcpy(d->value, value.ptr, value.len);
    d->value_len = value.len;
    d->got_value = true;
    return CHUNKED_OK;
}

/* Gathers one CRLF-terminated line; returns the bytes of `in` used. */
static size_t take_line(chunked_decoder *d, cl_slice in) {
    bool trailer = d->st == ST_TRAILER;
    chunked_status bad = trailer ? CHUNKED_ERR_TRAILER : CHUNKED_ERR_FRAMING;
    const uint8_t *nl = memchr(in.ptr, '\n', in.len);
    size_t n = nl ? (size_t)(nl - in.ptr) : in.len, used = nl ? n + 1 : n;
    if (trailer && (d->trailer_bytes += used) > CHUNKED_MAX_TRAILER) {
        fail(d, CHUNKED_ERR_TRAILER, "%s The trailer is longer than %d bytes.", TRAILER_MSG,
             CHUNKED_MAX_TRAILER);
        return used;
    }
    if (n > CHUNKED_MAX_LINE - d->line_len) {
        fail(d, bad, "Malformed aws-chunked body: a %s line is longer than %d bytes.",
             trailer ? "trailer" : "chunk-size", CHUNKED_MAX_LINE);
        return used;
    }
    memcpy(d->line + d->line_len, in.ptr, n);
    d->line_len += n;
    if (!nl) return used;
    cl_slice line = slice_of(d->line, d->line_len);
    d->line_len = 0;
    if (!line.len || line.ptr[line.len - 1] != '\r' || memchr(line.ptr, '\r', line.len - 1)) {
        fail(d, bad, "Malformed aws-chunked body: a %s line does not end in CRLF.",
             trailer ? "trailer" : "chunk-size");
        return used;
    }
    line.len--;
    if (trailer)
        on_trailer_line(d, line);
    else
        on_size_line(d, line);
    return used;
}

/* Passes chunk data through: hash, checksum, sink. */
static size_t take_data(chunked_decoder *d, cl_slice in) {
    size_t n = in.len < d->remaining ? in.len : (size_t)d->remaining;
    cl_slice part = slice_of(in.ptr, n);
    if (d->chunk_hash) crypto_sha256_update(d->chunk_hash, part);
    checksum_update(&d->sum, part);
    d->total += n;
    d->remaining -= n;
    if (d->sink && d->sink(d->sink_arg, part) != CL_OK) {
        fail(d, CHUNKED_ERR_SINK, "We encountered an internal error. Please try again.");
        return n;
    }
    if (!d->remaining && (!d->is_signed || !verify_chunk(d))) d->st = ST_DATA_CR;
    return n;
}

static void expect_byte(chunked_decoder *d, uint8_t got, uint8_t want, dec_state next) {
    if (got == want)
        d->st = next;
    else
        fail(d, CHUNKED_ERR_FRAMING,
             "Malformed aws-chunked body: chunk %llu's data is not followed by CRLF (is its "
             "size right?).",
             (unsigned long long)d->nchunks);
}

chunked_status chunked_feed(chunked_decoder *d, cl_slice in) {
    while (in.len && !d->err) {
        size_t used = 1;
        switch (d->st) {
        case ST_DATA:
            used = take_data(d, in);
            break;
        case ST_DATA_CR:
            expect_byte(d, in.ptr[0], '\r', ST_DATA_LF);
            break;
        case ST_DATA_LF:
            expect_byte(d, in.ptr[0], '\n', ST_SIZE);
            break;
        case ST_SIZE:
        case ST_TRAILER:
            used = take_line(d, in);
            break;
        case ST_DONE:
            fail(d, CHUNKED_ERR_FRAMING,
                 "Malformed aws-chunked body: bytes follow the end of the body.");
            break;
        }
        in = slice_sub(in, used, in.len - used);
    }
    return d->err;
}

chunked_status chunked_finish(chunked_decoder *d) {
    if (d->err || d->st == ST_DONE) return d->err;
    if (d->st == ST_TRAILER)
        return fail(d, CHUNKED_ERR_TRUNCATED,
                    "The request body terminated unexpectedly: the trailer is incomplete.");
    if (d->st == ST_SIZE && !d->line_len)
        return fail(d, CHUNKED_ERR_TRUNCATED,
                    "The request body terminated unexpectedly: no final zero-length chunk after "
                    "%llu chunks.",
                    (unsigned long long)d->nchunks);
    return fail(d, CHUNKED_ERR_TRUNCATED,
                "The request body terminated unexpectedly inside chunk %llu.",
                (unsigned long long)d->nchunks + (d->st == ST_SIZE));
}

/* ---- encoding ---- */

void chunked_encode(const chunked_encoding *e, cl_slice payload, cl_buf *out) {
    size_t cs = e->chunk_size ? e->chunk_size : 65536;
    bool sgn = e->mode != CHUNKED_UNSIGNED_TRAILER;
    bool trailers = e->mode != CHUNKED_SIGNED;
    char prev[CHUNKED_SIG_HEX + 1] = "", sig[CHUNKED_SIG_HEX + 1];
    if (sgn) snprintf(prev, sizeof prev, "%s", e->seed_signature);
    checksum_ctx sum;
    checksum_init(&sum, trailers ? e->trailer : CHECKSUM_NONE);
    for (size_t off = 0;;) {
        size_t n = payload.len - off < cs ? payload.len - off : cs;
        cl_slice part = slice_sub(payload, off, n);
        if (sgn) {
            uint8_t h[32];
            crypto_sha256(part, h);
            chunked_sign_chunk(e->signing_key, e->amz_date, e->scope, prev, h, sig);
            buf_appendf(out, "%zx" CHUNK_SIG_EXT "%s\r\n", n, sig);
            memcpy(prev, sig, sizeof prev);
        } else {
            buf_appendf(out, "%zx\r\n", n);
        }
        if (!n) break;
        buf_append_slice(out, part);
        buf_append_cstr(out, "\r\n");
        checksum_update(&sum, part);
        off += n;
    }
    cl_buf canon = CL_BUF_INIT;
    if (trailers && sum.algo != CHECKSUM_NONE) {
        char name[48], b64[CHECKSUM_B64_MAX];
        checksum_header_name(sum.algo, name);
        checksum_final_base64(&sum, b64);
        buf_appendf(&canon, "%s:%s\n", name, b64);
        buf_appendf(out, "%s:%s\r\n", name, b64);
    }
    checksum_reset(&sum);
    if (e->mode == CHUNKED_SIGNED_TRAILER) {
        chunked_sign_trailer(e->signing_key, e->amz_date, e->scope, prev, buf_slice(&canon), sig);
        buf_appendf(out, TRAILER_SIG_NAME ":%s\r\n", sig);
    }
    buf_append_cstr(out, "\r\n");
    buf_free(&canon);
}
