/* fuzz_sigv2.c — libFuzzer target for the S3 SigV2 parser and verifier. The
 * first byte picks the mode (bit 0: query form, bit 1: x-amz-date instead of
 * Date, bit 2: a virtual-host bucket); the rest is split on '\n' into the
 * Authorization value (header form) or extra query text (query form), a raw
 * query string, a raw path and the value of an x-amz-meta header. In query
 * form a well-formed AWSAccessKeyId/Signature/Expires is prepended so verify
 * and the StringToSign always run on fuzzed bytes. Must never crash, read out
 * of bounds or leak. */
#include "aws/sigv2.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Next '\n'-separated field of the input as a NUL-terminated copy. */
static char *field(const uint8_t **p, size_t *n) {
    const uint8_t *nl = *n ? memchr(*p, '\n', *n) : NULL;
    size_t len = nl ? (size_t)(nl - *p) : *n;
    char *s = cl_strndup((const char *)*p, len);
    *p += nl ? len + 1 : len;
    *n -= nl ? len + 1 : len;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t mode = size ? data[0] : 0;
    if (size) data++, size--;
    char *authz = field(&data, &size), *query = field(&data, &size), *path = field(&data, &size);
    char *meta = field(&data, &size);
    cl_kvlist h = CL_KVLIST_INIT;
    kvlist_add(&h, "Host", "bucket.localhost");
    kvlist_add(&h, mode & 2 ? "x-amz-date" : "Date", "Tue, 27 Mar 2007 19:36:42 +0000");
    kvlist_add(&h, "X-Amz-Meta-Fuzz", meta);
    char *q = mode & 1 ? cl_sprintf("AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=bWq2s1WEIj%%"
                                    "2BYdj0vQ697zp%%2BIXMU%%3D&"
                                    "Expires=1175139620&%s",
                                    query)
                       : cl_strdup(query);
    if (!(mode & 1) && *authz) kvlist_add(&h, "Authorization", authz);
    sigv4_request r = {"GET", path, q, &h, NULL, true};
    sigv2_auth a;
    if (sigv2_parse(&r, &a) == SIGV2_OK) {
        cl_buf sts = CL_BUF_INIT;
        (void)sigv2_verify(&r, &a, mode & 4 ? "bucket" : NULL,
                           "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                           mode & 1 ? 1175139000 : a.request_time, &sts);
        buf_free(&sts);
    }
    sigv2_auth_free(&a);
    char *b = sigv2_host_bucket(meta, "localhost");
    free(b);
    kvlist_free(&h);
    free(q);
    free(authz);
    free(query);
    free(path);
    free(meta);
    return 0;
}
