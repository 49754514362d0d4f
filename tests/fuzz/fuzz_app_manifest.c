/* fuzz_app_manifest.c — libFuzzer target for tasks_manifest_canonical, the
 * check of the app manifest CreateApp takes from its caller (src/tasks/
 * bundle.c, docs/apps.md "Manifest fields"). Checks: an accepted manifest's
 * canonical form is accepted again and is its own canonical form (so the
 * measurement has exactly one input per manifest); a refusal says why. Nothing
 * may crash, leak or trip a sanitizer. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/tasks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = cl_strndup((const char *)data, size);
    char err[200] = "";
    char *canon = tasks_manifest_canonical(text, err, sizeof err);
    if (canon) {
        char err2[200] = "";
        char *again = tasks_manifest_canonical(canon, err2, sizeof err2);
        if (!again || strcmp(again, canon) != 0) abort();
        free(again);
    } else if (!err[0]) {
        abort();
    }
    free(canon);
    free(text);
    return 0;
}
