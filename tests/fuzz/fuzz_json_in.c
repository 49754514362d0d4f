/* fuzz_json_in.c — differential: aws_json_parse must accept exactly what
 * jansson's json_loadb(JSON_REJECT_DUPLICATES | JSON_DECODE_ANY) accepts
 * (within AWS_JSON_MAX_DEPTH) and build equal values; it replaces jansson's
 * reader on the JSON 1.1 request path, so any difference is a bug. */
#include "aws/aws.h"

#include <stdlib.h>
#include <string.h>

static int depth(const json_t *v) {
    int d = 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) {
            int e = depth(x);
            if (e > d) d = e;
        }
        return d + 1;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            int e = depth(x);
            if (e > d) d = e;
        }
        return d + 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[128];
    if (memchr(data, 0, size)) { /* never valid JSON; jansson stops reading at a NUL */
        json_t *v = aws_json_parse(slice_of(data, size), err, sizeof err);
        if (v) abort();
        return 0;
    }
    json_error_t jerr;
    json_t *want =
        json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    json_t *got = aws_json_parse(slice_of(data, size), err, sizeof err);
    if (want && depth(want) > AWS_JSON_MAX_DEPTH) { /* ours stops deeper nesting on purpose */
        json_decref(want);
        want = NULL;
        if (got) abort();
    }
    if (!want != !got) abort();
    if (want && !json_equal(want, got)) {
        /* reals may round differently between strtod and jansson: compare as doubles */
        if (!(json_is_real(want) && json_is_real(got) &&
              json_real_value(want) == json_real_value(got)))
            abort();
    }
    json_decref(want);
    json_decref(got);
    return 0;
}
