/* fuzz_sigv4.c — libFuzzer target for the SigV4 parser and verifier. The input
 * is split on '\n' into an Authorization header value, a raw query string and a
 * raw path (the first byte picks S3 paths or not); the request carries a fixed
 * Host and X-Amz-Date. If the parse succeeds, verify runs with a fixed secret at
 * the request's own time, then the canonical request is built both ways. Must
 * never crash, read out of bounds or leak. */
#include "aws/sigv4.h"

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
    bool s3 = size && (data[0] & 1);
    if (size) data++, size--;
    char *authz = field(&data, &size), *query = field(&data, &size), *path = field(&data, &size);
    cl_kvlist h = CL_KVLIST_INIT;
    kvlist_add(&h, "Host", "example.amazonaws.com");
    kvlist_add(&h, "X-Amz-Date", "20150830T123600Z");
    kvlist_add(&h, "My-Header", "a  b\n c");
    if (*authz) kvlist_add(&h, "Authorization", authz);
    sigv4_request r = {"GET", path, query, &h, "UNSIGNED-PAYLOAD", s3};
    sigv4_auth a;
    if (sigv4_parse(&r, &a) == SIGV4_OK) {
        (void)sigv4_verify(&r, &a, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", a.request_time);
        cl_buf b = CL_BUF_INIT;
        sigv4_canonical_request(&r, a.signed_headers, &b);
        r.s3_paths = !s3;
        sigv4_canonical_request(&r, a.signed_headers, &b);
        buf_free(&b);
    }
    sigv4_auth_free(&a);
    cl_buf b = CL_BUF_INIT;
    sigv4_canonical_request(&r, "host;my-header", &b);
    buf_free(&b);
    kvlist_free(&h);
    free(authz);
    free(query);
    free(path);
    return 0;
}
