/* fuzz_signer_interchange.c — libFuzzer target for signer_slashing_import, the
 * EIP-3076 interchange parser and merge (src/signer/interchange.c), on a fresh
 * in-memory SQLite store per input. Checks: a refusal says why; an accepted
 * interchange exports to one that a fresh store accepts again (the export
 * never writes what the importer refuses). Nothing may crash, leak or trip a
 * sanitizer. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "signer/signer.h"

static bool import_fresh(cl_slice in, cl_buf *export_out) {
    store *st = NULL;
    signer_slashing *sp = NULL;
    if (store_open("sqlite::memory:", &st) != CL_OK) abort();
    if (signer_slashing_open(st, NULL, &sp) != CL_OK) abort();
    char err[512] = "";
    cl_err e = signer_slashing_import(sp, in, err, sizeof err);
    if (e != CL_OK && !err[0]) abort();
    if (e == CL_OK && export_out && signer_slashing_export(sp, NULL, 0, export_out) != CL_OK)
        abort();
    signer_slashing_close(sp);
    store_close(st);
    return e == CL_OK;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    log_set_level(LOG_ERROR); /* no migration chatter per input */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cl_buf out = CL_BUF_INIT;
    if (import_fresh(slice_of(data, size), &out) && !import_fresh(buf_slice(&out), NULL)) abort();
    free(out.ptr);
    return 0;
}
