/* kmskeys_load.c — a KMS-sealed key set into the keyring (signer.h, "kms keys"):
 * every key is unsealed first (all or nothing: one key that does not open
 * means the wrong data key or a tampered set, and nothing is loaded), then
 * added with source SIGNER_SRC_KMS. Kept apart from kmskeys.c so that the
 * sealing code and its tests do not need the keys layer. */
#include "signer/signer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cl_err signer_kms_set_load(const signer_kms_set *s, const uint8_t data_key[SIGNER_KMS_DATA_KEY_LEN],
                           signer_keyring *k, size_t *loaded, char *err, size_t errlen) {
    *loaded = 0;
    uint8_t *sks = calloc(s->n ? s->n : 1, SIGNER_SK_LEN);
    cl_err e = CL_OK;
    for (size_t i = 0; i < s->n && e == CL_OK; i++) {
        e = signer_kms_unseal(data_key, s->keys[i].pk, s->keys[i].sealed, sks + i * SIGNER_SK_LEN);
        if (e != CL_OK) {
            char hex[2 * SIGNER_PK_LEN + 1];
            hex_encode_to(hex, s->keys[i].pk, SIGNER_PK_LEN);
            snprintf(err, errlen,
                     "key set %s: the sealed key of 0x%s does not open with the set's data key "
                     "(tampered, or sealed under another data key): no key loaded",
                     s->name, hex);
        }
    }
    char *origin = cl_sprintf("kms:%s", s->name);
    for (size_t i = 0; i < s->n && e == CL_OK; i++) {
        uint8_t pk[SIGNER_PK_LEN];
        e = signer_keyring_add(k, sks + i * SIGNER_SK_LEN, SIGNER_SRC_KMS, origin, pk);
        if (e == CL_OK && memcmp(pk, s->keys[i].pk, SIGNER_PK_LEN) != 0) e = CL_ERR_INVALID;
        if (e != CL_OK)
            snprintf(err, errlen, "key set %s: key %zu is not the secret key of its pubkey",
                     s->name, i);
        else
            ++*loaded;
    }
    free(origin);
    cl_cleanse(sks, (s->n ? s->n : 1) * SIGNER_SK_LEN);
    free(sks);
    return e;
}
