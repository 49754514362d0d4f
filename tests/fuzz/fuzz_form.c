/* fuzz_form.c — libFuzzer target for the form/query decoders: kvlist_parse_form
 * and url_decode (both '+' readings) on arbitrary bytes, plus url_encode_aws and
 * a decode of what it produced, which must give the input back. Must never
 * crash, read out of bounds or leak. */
#include "base/base.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cl_slice in = slice_of(data, size);
    cl_kvlist l = CL_KVLIST_INIT;
    (void)kvlist_parse_form(&l, in);
    for (size_t i = 0; i < l.len; i++)
        (void)kvlist_get(&l, l.items[i].key);
    kvlist_free(&l);
    cl_buf out = CL_BUF_INIT;
    (void)url_decode(&out, in, true);
    buf_clear(&out);
    (void)url_decode(&out, in, false);
    buf_clear(&out);
    url_encode_aws(&out, in, size & 1);
    cl_buf back = CL_BUF_INIT;
    if (url_decode(&back, buf_slice(&out), false) != CL_OK || back.len != size ||
        (size && memcmp(back.ptr, data, size) != 0))
        abort(); /* encoding then decoding must be the identity */
    buf_free(&back);
    buf_free(&out);
    return 0;
}
