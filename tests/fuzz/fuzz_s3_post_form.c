/* fuzz_s3_post_form.c — libFuzzer target for the multipart/form-data parser of
 * POST Object (src/s3/s3_form.c), whose input arrives unauthenticated. The
 * first line of the input is the Content-Type, the rest the body. Must never
 * crash, read out of bounds or leak; a success keeps s3_form.h's promises:
 * lower-case field names, and the file's bytes inside the body. */
#include "s3/s3_form.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) abort();                                                                      \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nl = memchr(data, '\n', size);
    if (!nl) return 0;
    char *ct = cl_strndup((const char *)data, (size_t)(nl - data));
    cl_slice body = slice_of(nl + 1, size - (size_t)(nl - data) - 1);
    s3_post_form f;
    if (s3_post_form_parse(ct, body, &f)) {
        for (size_t i = 0; i < f.fields.len; i++)
            for (const char *c = f.fields.items[i].key; *c; c++)
                CHECK(!(*c >= 'A' && *c <= 'Z'));
        if (f.has_file && f.file.len)
            CHECK(f.file.ptr >= body.ptr && f.file.ptr + f.file.len <= body.ptr + body.len);
        s3_post_form_free(&f);
    } else {
        CHECK(f.fields.len == 0 && f.filename == NULL && !f.has_file);
    }
    free(ct);
    return 0;
}
