/* base.h — the one public header of src/base: errors, memory, byte slices and
 * buffers, key/value lists, encodings, time, logging.
 *
 * Every parser in Cloister reads through a cl_slice (a borrowed ptr,len view)
 * and writes into a cl_buf (an owned, growable buffer with a read cursor), so no
 * parser indexes raw memory by hand. Every fallible function returns cl_err and
 * callers check it with CL_TRY. Allocation failure aborts (as Redis does): a
 * server that cannot allocate a few bytes cannot answer honestly anyway.
 *
 * Ownership: a cl_slice never owns; a cl_buf owns its bytes (buf_free);
 * functions returning char * return malloc'd memory the caller frees. */
#ifndef CLOISTER_BASE_H
#define CLOISTER_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* ---- errors ---- */
typedef enum {
    CL_OK = 0,
    CL_ERR_NOMEM,
    CL_ERR_INVALID,   /* malformed input */
    CL_ERR_NOT_FOUND, /* no such item */
    CL_ERR_EXISTS,    /* item already exists */
    CL_ERR_IO,        /* disk or network */
    CL_ERR_TOO_LARGE, /* a limit was exceeded */
    CL_ERR_DENIED,    /* not allowed */
    CL_ERR_CRYPTO,    /* a crypto primitive failed */
    CL_ERR_CONFLICT,  /* concurrent modification / constraint */
    CL_ERR_EXPIRED,   /* too old or not yet valid */
    CL_ERR_INTERNAL,
    CL_ERR_UNAVAILABLE, /* a service this needs (the database) cannot be reached now */
} cl_err;

#define CL_TRY(expr)                                                                               \
    do {                                                                                           \
        cl_err cl_try_e_ = (expr);                                                                 \
        if (cl_try_e_ != CL_OK) return cl_try_e_;                                                  \
    } while (0)

const char *cl_err_str(cl_err e);

/* ---- memory: checked helpers that abort on exhaustion ---- */
void *cl_malloc(size_t n);
void *cl_calloc(size_t n, size_t size);
void *cl_realloc(void *p, size_t n);
char *cl_strdup(const char *s);
char *cl_strndup(const char *s, size_t n);
char *cl_sprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Zeroise then free a NUL-terminated secret. NULL is fine. */
void cl_free_secret(char *s);
/* Zeroise memory in a way the compiler cannot elide. */
void cl_cleanse(void *p, size_t n);
/* Constant-time equality of two byte ranges of the same length. */
bool cl_ct_eq(const void *a, const void *b, size_t n);

/* ---- slices: borrowed views, the reading side of every parser ---- */
typedef struct {
    const uint8_t *ptr;
    size_t len;
} cl_slice;

#define CL_SLICE_NULL ((cl_slice){NULL, 0})
cl_slice slice_of(const void *p, size_t n);
cl_slice slice_cstr(const char *s); /* NULL -> empty */
bool slice_eq(cl_slice a, cl_slice b);
bool slice_eq_cstr(cl_slice a, const char *s);
bool slice_case_eq_cstr(cl_slice a, const char *s); /* ASCII case-insensitive */
bool slice_starts_with(cl_slice a, const char *prefix);
cl_slice slice_trim(cl_slice a);                      /* strip ASCII spaces/tabs both ends */
cl_slice slice_sub(cl_slice a, size_t off, size_t n); /* clamped */
/* Cursor-style split: if `sep` occurs in *s, *out = part before it and *s moves past
 * it; otherwise *out = all of *s and *s becomes empty. Returns false if *s was empty
 * before the call (nothing to take). */
bool slice_split(cl_slice *s, char sep, cl_slice *out);
ptrdiff_t slice_find(cl_slice a, char c); /* index or -1 */
char *slice_dup(cl_slice a);              /* malloc'd NUL-terminated copy */
/* Parse a decimal unsigned integer that fills the whole slice; no sign, no spaces. */
cl_err slice_to_u64(cl_slice a, uint64_t *out);

/* ---- buffers: owned, growable, with a read cursor ---- */
typedef struct {
    uint8_t *ptr;
    size_t len; /* bytes written */
    size_t cap;
    size_t pos; /* read cursor, 0..len */
} cl_buf;

#define CL_BUF_INIT ((cl_buf){NULL, 0, 0, 0})
void buf_reserve(cl_buf *b, size_t extra);
void buf_append(cl_buf *b, const void *p, size_t n);
void buf_append_slice(cl_buf *b, cl_slice s);
void buf_append_cstr(cl_buf *b, const char *s);
void buf_append_byte(cl_buf *b, uint8_t c);
void buf_appendf(cl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vappendf(cl_buf *b, const char *fmt, va_list ap);
const char *buf_cstr(cl_buf *b); /* NUL-terminates (not counted in len) */
cl_slice buf_slice(const cl_buf *b);
cl_slice buf_unread(const cl_buf *b); /* ptr+pos .. len */
void buf_clear(cl_buf *b);            /* len = pos = 0, keeps memory */
void buf_free(cl_buf *b);
void buf_free_secret(cl_buf *b); /* zeroise the whole capacity, then free */
char *buf_take_cstr(cl_buf *b);  /* hands the bytes to the caller as a C string */

/* ---- key/value lists (headers, query parameters, form bodies) ---- */
typedef struct {
    char *key;
    char *value;
} cl_kv;

typedef struct {
    cl_kv *items;
    size_t len, cap;
} cl_kvlist;

#define CL_KVLIST_INIT ((cl_kvlist){NULL, 0, 0})
void kvlist_add(cl_kvlist *l, const char *key, const char *value);
void kvlist_addn(cl_kvlist *l, cl_slice key, cl_slice value);
/* First value for key (exact match), or NULL. */
const char *kvlist_get(const cl_kvlist *l, const char *key);
/* First value for key (ASCII case-insensitive), or NULL. */
const char *kvlist_get_ci(const cl_kvlist *l, const char *key);
size_t kvlist_count(const cl_kvlist *l, const char *key);
void kvlist_free(cl_kvlist *l);
/* Parse application/x-www-form-urlencoded (also a URL query string) into l,
 * percent-decoding keys and values ('+' means space). Rejects bad escapes and
 * decoded NUL bytes (C strings downstream would silently truncate them). */
cl_err kvlist_parse_form(cl_kvlist *l, cl_slice form);

/* ---- encodings ---- */
void hex_encode(cl_buf *out, cl_slice in);                  /* lower case */
void hex_encode_to(char *out, const uint8_t *in, size_t n); /* out has 2n+1 bytes */
cl_err hex_decode(cl_buf *out, cl_slice in);
void base64_encode(cl_buf *out, cl_slice in);
cl_err base64_decode(cl_buf *out, cl_slice in);
/* Percent-decoding; plus_is_space for form bodies. Rejects malformed escapes. */
cl_err url_decode(cl_buf *out, cl_slice in, bool plus_is_space);
/* AWS URI encoding: unreserved A-Za-z0-9-_.~ kept, everything else %XX upper case;
 * '/' kept when keep_slash. */
void url_encode_aws(cl_buf *out, cl_slice in, bool keep_slash);

/* UTF-8 validity (no overlongs, no surrogates, at most U+10FFFF). */
bool utf8_valid(cl_slice s);
/* Decodes one code point at s[*i] and advances *i; -1 (and *i += 1) if invalid. */
int32_t utf8_next(cl_slice s, size_t *i);

/* ---- time (UTC) ---- */
/* "20150830T123600Z" (X-Amz-Date) */
cl_err time_parse_amz(cl_slice s, time_t *out);
void time_format_amz(time_t t, char out[17]);
/* "2015-08-30T12:36:00Z" (ISO 8601 as AWS XML writes it) */
void time_format_iso8601(time_t t, char out[21]);
cl_err time_parse_iso8601(cl_slice s, time_t *out); /* accepts fractional seconds, Z or +00:00 */
/* RFC 7231 IMF-fixdate "Sun, 30 Aug 2015 12:36:00 GMT" */
cl_err time_parse_http(cl_slice s, time_t *out);
void time_format_http(time_t t, char out[30]);
/* Wall clock, overridable in tests with CLOISTER_FAKE_NOW_OFFSET (seconds added). */
time_t time_now(void);
uint64_t time_mono_ns(void);

/* ---- logging (stderr, one line per event; never pass secrets) ---- */
typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } cl_log_level;
void log_set_level(cl_log_level lvl);
void log_msg(cl_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

/* ---- files ---- */
/* Write a whole file durably: temp file in the same dir, fsync, rename, fsync dir. */
cl_err file_write_atomic(const char *path, cl_slice data, int mode);
cl_err file_read_all(const char *path, cl_buf *out, size_t max);
cl_err dir_ensure(const char *path, int mode); /* mkdir -p */

#endif
