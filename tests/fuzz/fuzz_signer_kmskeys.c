/* fuzz_signer_kmskeys.c — libFuzzer target for signer_kms_set_parse, the parser
 * of the key set the node hands the signer (GetSignerKeys; src/signer/kmskeys.c),
 * and of PutSignerKeys' request on the node. Checks: an accepted set has a
 * valid name, sorted distinct pubkeys, and re-serialises to a text that parses
 * to the same set; a refusal leaves nothing allocated. Nothing may crash, leak
 * or trip a sanitizer. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "signer/signer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    signer_kms_set s, t;
    char err[200];
    if (signer_kms_set_parse(slice_of(data, size), &s, err, sizeof err) != CL_OK) {
        if (s.keys || s.name || !err[0]) abort();
        return 0;
    }
    if (!signer_kms_name_valid(s.name)) abort();
    for (size_t i = 1; i < s.n; i++)
        if (memcmp(s.keys[i - 1].pk, s.keys[i].pk, SIGNER_PK_LEN) >= 0) abort();
    cl_buf again = CL_BUF_INIT;
    signer_kms_set_json(&s, &again);
    if (signer_kms_set_parse(buf_slice(&again), &t, err, sizeof err) != CL_OK) abort();
    if (t.n != s.n || strcmp(t.name, s.name) != 0 || strcmp(t.kms_key_id, s.kms_key_id) != 0 ||
        (s.n && memcmp(t.keys, s.keys, s.n * sizeof *s.keys) != 0))
        abort();
    buf_free(&again);
    signer_kms_set_free(&s);
    signer_kms_set_free(&t);
    return 0;
}
