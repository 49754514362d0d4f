/* fuzz_computed_json.c — libFuzzer target for tasks_computed_parse, the parser
 * of the computed.json an app (untrusted code) writes into /iexec_out
 * (src/tasks/computed.c). Checks: an accepted text names a deterministic
 * output path under /iexec_out without a ".." component, or callback data that
 * is "0x" + an even number of hex digits; a refusal says why and returns
 * nothing. Nothing may crash, leak or trip a sanitizer. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/tasks.h"

static bool has_dotdot(const char *p) {
    for (const char *s = p; (s = strstr(s, "..")) != NULL; s += 2)
        if (s > p && s[-1] == '/' && (s[2] == '/' || s[2] == 0)) return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *det = NULL, *cb = NULL, err[200];
    cl_err e = tasks_computed_parse(slice_of(data, size), &det, &cb, err, sizeof err);
    if (e == CL_OK) {
        if (!det && !cb) abort();
        if (det &&
            (strncmp(det, "/iexec_out", 10) != 0 || (det[10] && det[10] != '/') || has_dotdot(det)))
            abort();
        if (cb) {
            size_t n = strlen(cb);
            cl_buf raw = CL_BUF_INIT;
            if (n < 4 || cb[0] != '0' || hex_decode(&raw, slice_of(cb + 2, n - 2)) != CL_OK)
                abort();
            buf_free(&raw);
        }
    } else if (det || cb || !err[0]) {
        abort();
    }
    free(det);
    free(cb);
    return 0;
}
