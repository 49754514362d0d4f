/* keymanager_internal.h — the keymanager API's request-body parsers
 * (keymanager.c), exposed for the fuzz target and unit tests. */
#ifndef CLOISTER_SIGNER_KEYMANAGER_INTERNAL_H
#define CLOISTER_SIGNER_KEYMANAGER_INTERNAL_H

#include "signer/signer.h"

/* POST /eth/v1/keystores: {"keystores": [JSON text...], "passwords": [...],
 * "slashing_protection": JSON text (optional)}. Owned strings; passwords
 * are zeroised by keymanager_import_free. */
typedef struct {
    char **keystores, **passwords;
    size_t n;
    char *slashing_protection; /* NULL if absent */
} keymanager_import;
cl_err keymanager_parse_import(cl_slice body, keymanager_import *out, char *err, size_t errlen);
void keymanager_import_free(keymanager_import *im);
/* DELETE /eth/v1/keystores: {"pubkeys": ["0x…"]}; *pks malloc'd (caller frees). */
cl_err keymanager_parse_delete(cl_slice body, uint8_t (**pks)[SIGNER_PK_LEN], size_t *n, char *err,
                               size_t errlen);

#endif
