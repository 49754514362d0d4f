/* mem.c — error names and the checked memory helpers. Allocation failure aborts:
 * callers never carry an out-of-memory path they cannot test. */
#include "base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cl_err_str(cl_err e) {
    switch (e) {
    case CL_OK:
        return "ok";
    case CL_ERR_NOMEM:
        return "out of memory";
    case CL_ERR_INVALID:
        return "invalid input";
    case CL_ERR_NOT_FOUND:
        return "not found";
    case CL_ERR_EXISTS:
        return "already exists";
    case CL_ERR_IO:
        return "I/O error";
    case CL_ERR_TOO_LARGE:
        return "too large";
    case CL_ERR_DENIED:
        return "denied";
    case CL_ERR_CRYPTO:
        return "crypto failure";
    case CL_ERR_CONFLICT:
        return "conflict";
    case CL_ERR_EXPIRED:
        return "expired";
    case CL_ERR_INTERNAL:
        return "internal error";
    case CL_ERR_UNAVAILABLE:
        return "unavailable";
    }
    return "unknown error";
}

static void *oom(size_t n) {
    fprintf(stderr, "cloister: out of memory allocating %zu bytes\n", n);
    abort();
}

void *cl_malloc(size_t n) {
    void *p = malloc(n ? n : 1);
    return p ? p : oom(n);
}

void *cl_calloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    return p ? p : oom(n * size);
}

void *cl_realloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    return q ? q : oom(n);
}

char *cl_strdup(const char *s) {
    return cl_strndup(s, strlen(s));
}

char *cl_strndup(const char *s, size_t n) {
    char *d = cl_malloc(n + 1);
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

char *cl_sprintf(const char *fmt, ...) {
    cl_buf b = CL_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vappendf(&b, fmt, ap);
    va_end(ap);
    return buf_take_cstr(&b);
}

/* explicit_bzero (glibc): a word-at-a-time memset the compiler may not drop. */
void cl_cleanse(void *p, size_t n) {
    if (p && n) explicit_bzero(p, n);
}

void cl_free_secret(char *s) {
    if (!s) return;
    cl_cleanse(s, strlen(s));
    free(s);
}

bool cl_ct_eq(const void *a, const void *b, size_t n) {
    const uint8_t *x = a, *y = b;
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++)
        d |= x[i] ^ y[i];
    return d == 0;
}
