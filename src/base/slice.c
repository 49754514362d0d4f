/* slice.c — borrowed byte views and the growable buffer. Every parser in the
 * project reads with slice_split/slice_sub instead of indexing raw memory. */
#include "base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

cl_slice slice_of(const void *p, size_t n) {
    return (cl_slice){p, p ? n : 0};
}
cl_slice slice_cstr(const char *s) {
    return s ? slice_of(s, strlen(s)) : CL_SLICE_NULL;
}

bool slice_eq(cl_slice a, cl_slice b) {
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}
bool slice_eq_cstr(cl_slice a, const char *s) {
    return slice_eq(a, slice_cstr(s));
}

bool slice_case_eq_cstr(cl_slice a, const char *s) {
    size_t n = strlen(s);
    return a.len == n && (n == 0 || strncasecmp((const char *)a.ptr, s, n) == 0);
}

bool slice_starts_with(cl_slice a, const char *prefix) {
    size_t n = strlen(prefix);
    return a.len >= n && (n == 0 || memcmp(a.ptr, prefix, n) == 0);
}

cl_slice slice_trim(cl_slice a) {
    while (a.len && (a.ptr[0] == ' ' || a.ptr[0] == '\t'))
        a.ptr++, a.len--;
    while (a.len && (a.ptr[a.len - 1] == ' ' || a.ptr[a.len - 1] == '\t'))
        a.len--;
    return a;
}

cl_slice slice_sub(cl_slice a, size_t off, size_t n) {
    if (off > a.len) off = a.len;
    if (n > a.len - off) n = a.len - off;
    return slice_of(a.ptr + off, n);
}

ptrdiff_t slice_find(cl_slice a, char c) {
    const uint8_t *p = a.len ? memchr(a.ptr, c, a.len) : NULL;
    return p ? p - a.ptr : -1;
}

bool slice_split(cl_slice *s, char sep, cl_slice *out) {
    if (s->len == 0) return false;
    ptrdiff_t i = slice_find(*s, sep);
    if (i < 0) {
        *out = *s;
        *s = slice_of(s->ptr + s->len, 0);
    } else {
        *out = slice_of(s->ptr, (size_t)i);
        *s = slice_of(s->ptr + i + 1, s->len - (size_t)i - 1);
    }
    return true;
}

char *slice_dup(cl_slice a) {
    return cl_strndup(a.len ? (const char *)a.ptr : "", a.len);
}

cl_err slice_to_u64(cl_slice a, uint64_t *out) {
    if (a.len == 0 || a.len > 20) return CL_ERR_INVALID;
    uint64_t v = 0;
    for (size_t i = 0; i < a.len; i++) {
        if (a.ptr[i] < '0' || a.ptr[i] > '9') return CL_ERR_INVALID;
        uint64_t d = a.ptr[i] - '0';
        if (v > (UINT64_MAX - d) / 10) return CL_ERR_INVALID;
        v = v * 10 + d;
    }
    *out = v;
    return CL_OK;
}

void buf_reserve(cl_buf *b, size_t extra) {
    if (b->cap - b->len > extra) return; /* keep one byte for a NUL */
    size_t need = b->len + extra + 1;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    b->ptr = cl_realloc(b->ptr, cap);
    b->cap = cap;
}

void buf_append(cl_buf *b, const void *p, size_t n) {
    if (n == 0) return;
    buf_reserve(b, n);
    memcpy(b->ptr + b->len, p, n);
    b->len += n;
}

void buf_append_slice(cl_buf *b, cl_slice s) {
    buf_append(b, s.ptr, s.len);
}
void buf_append_cstr(cl_buf *b, const char *s) {
    buf_append(b, s, strlen(s));
}
void buf_append_byte(cl_buf *b, uint8_t c) {
    buf_append(b, &c, 1);
}

void buf_vappendf(cl_buf *b, const char *fmt, va_list ap) {
    char small[256]; /* most formatted pieces fit: one pass, no second format */
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap2);
    va_end(ap2);
    if (n <= 0) return;
    if ((size_t)n < sizeof small) {
        buf_append(b, small, (size_t)n);
        return;
    }
    buf_reserve(b, (size_t)n + 1);
    vsnprintf((char *)b->ptr + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void buf_appendf(cl_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    buf_vappendf(b, fmt, ap);
    va_end(ap);
}

const char *buf_cstr(cl_buf *b) {
    buf_reserve(b, 1);
    b->ptr[b->len] = 0;
    return (const char *)b->ptr;
}

cl_slice buf_slice(const cl_buf *b) {
    return slice_of(b->ptr, b->len);
}
cl_slice buf_unread(const cl_buf *b) {
    return slice_of(b->ptr + b->pos, b->len - b->pos);
}
void buf_clear(cl_buf *b) {
    b->len = b->pos = 0;
}

void buf_free(cl_buf *b) {
    free(b->ptr);
    *b = CL_BUF_INIT;
}

void buf_free_secret(cl_buf *b) {
    if (b->ptr) cl_cleanse(b->ptr, b->cap);
    buf_free(b);
}

char *buf_take_cstr(cl_buf *b) {
    buf_cstr(b);
    char *s = (char *)b->ptr;
    *b = CL_BUF_INIT;
    return s;
}
