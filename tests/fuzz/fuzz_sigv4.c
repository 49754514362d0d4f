/* fuzz_sigv4.c — libFuzzer target for the SigV4 parser and verifier. The first
 * byte picks S3 paths (bit 0) and the mode (bit 1); the rest is split on '\n'
 * into a header field, a raw query string and a raw path. In raw mode the header
 * field is the Authorization value; in template mode a well-formed Authorization
 * is used and the field becomes the value of a signed header, so verify and the
 * canonical request always run on fuzzed query, path and header bytes even
 * without a seed corpus. Must never crash, read out of bounds or leak. */
#include "aws/sigv4.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TEMPLATE_AUTHZ                                                                             \
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "            \
    "SignedHeaders=host;my-header;x-amz-date, "                                                    \
    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"

/* Next '\n'-separated field of the input as a NUL-terminated copy. */
static char *field(const uint8_t **p, size_t *n) {
    const uint8_t *nl = *n ? memchr(*p, '\n', *n) : NULL;
    size_t len = nl ? (size_t)(nl - *p) : *n;
    char *s = cl_strndup((const char *)*p, len);
    *p += nl ? len + 1 : len;
    *n -= nl ? len + 1 : len;
    return s;
}

static void run(sigv4_request *r) {
    sigv4_auth a;
    if (sigv4_parse(r, &a) == SIGV4_OK) {
        (void)sigv4_verify(r, &a, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", a.request_time);
        cl_buf b = CL_BUF_INIT;
        sigv4_canonical_request(r, a.signed_headers, &b);
        buf_free(&b);
        (void)sigv4_unsigned_amz_headers(r->headers, a.signed_headers, &b); /* the refusal check */
        buf_free(&b);
    }
    sigv4_auth_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t mode = size ? data[0] : 0;
    if (size) data++, size--;
    char *hfield = field(&data, &size), *query = field(&data, &size), *path = field(&data, &size);
    bool template = mode & 2;
    cl_kvlist h = CL_KVLIST_INIT;
    kvlist_add(&h, "Host", "example.amazonaws.com");
    kvlist_add(&h, "X-Amz-Date", "20150830T123600Z");
    kvlist_add(&h, "My-Header", template ? hfield : "a  b\n c");
    kvlist_add(&h, "X-Amz-Copy-Source", "/b/k"); /* signed or not, per the fuzzed list */
    if (template)
        kvlist_add(&h, "Authorization", TEMPLATE_AUTHZ);
    else if (*hfield)
        kvlist_add(&h, "Authorization", hfield);
    sigv4_request r = {"GET", path, query, &h, "UNSIGNED-PAYLOAD", mode & 1};
    run(&r);
    r.s3_paths = !r.s3_paths;
    run(&r);
    kvlist_free(&h);
    free(hfield);
    free(query);
    free(path);
    return 0;
}
