/* jreader.h — the pull JSON tokenizer that reads merkle_tree.json (v1 in
 * treefile.c, v2 in treefile2.c) as a stream: 64 KiB chunks, bounded state,
 * every byte hashed with SHA-256 on the way (the caller checks
 * merkle_tree.sha256), progress reported every 16 MiB. Strings are decoded
 * (escapes, surrogates) into a buffer of str_cap bytes; a longer string is
 * measured but not kept. Errors name the file and the byte offset. Internal
 * to src/por. */
#ifndef CLOISTER_POR_JREADER_H
#define CLOISTER_POR_JREADER_H

#include "crypto/crypto.h"
#include "por/protocol.h"

#define JR_CHUNK 65536
#define JR_MAX_DEPTH 64

typedef struct {
    por_source *src;
    const char *file; /* message prefix */
    uint8_t *buf;
    size_t len, pos;
    bool eof;
    uint64_t total;
    crypto_sha256_ctx *sha;
    char *err;
    cl_err failed;
    const por_progress *pg;
    uint64_t last_report, expect;
    char *str; /* str_cap + 1 bytes */
    size_t str_cap, slen;
} por_jreader;

/* A reader of src (not closed here); str_cap >= 64. */
por_jreader *por_jr_new(por_source *src, const char *file, size_t str_cap, uint64_t expect_bytes,
                        const por_progress *pg, char err[POR_ERR_LEN]);
/* Frees r; sha256 and bytes (if not NULL) get the digest and size of what was read. */
void por_jr_free(por_jreader *r, uint8_t sha256[POR_HASH_LEN], uint64_t *bytes);

cl_err por_jr_fail(por_jreader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Next non-whitespace byte without consuming it; -1 at end of input. */
int por_jr_peek(por_jreader *r);
cl_err por_jr_expect(por_jreader *r, char c);
/* A string into r->str (keep) or skipped; r->slen counts its decoded bytes
 * even past str_cap (then the caller knows it was too long). */
cl_err por_jr_string(por_jreader *r, bool keep);
/* A non-negative integer without sign, fraction or exponent. */
cl_err por_jr_uint(por_jreader *r, uint64_t *out);
/* Iteration: first call with *first = true. Returns 1 if another member/element
 * follows (for objects: its key is in r->str and ':' consumed), 0 at the end
 * (closing bracket consumed), or sets an error and returns -1. */
int por_jr_next(por_jreader *r, bool *first, char close, bool object);
cl_err por_jr_skip_value(por_jreader *r, int depth);
/* A string of exactly n bytes of lower-case hex into out; the message names what and idx. */
cl_err por_jr_hex(por_jreader *r, uint8_t *out, size_t n, const char *what, uint64_t idx);

#endif
