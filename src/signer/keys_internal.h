/* keys_internal.h — the keys layer's internals shared by its files, its unit
 * tests and its fuzz target (bls.c, keystore.c, derive.c, keyring.c,
 * keycache.c). Not for other layers: they use signer.h. */
#ifndef CLOISTER_SIGNER_KEYS_INTERNAL_H
#define CLOISTER_SIGNER_KEYS_INTERNAL_H

#include "signer/signer.h"

#include <blst.h>

/* sk (big-endian) as a blst scalar; CL_ERR_INVALID (out cleansed) unless 1..r-1. */
cl_err signer_bls_scalar(const uint8_t sk[SIGNER_SK_LEN], blst_scalar *out);
/* KeyValidate: a compressed G1 point, in the subgroup, not infinity. */
bool signer_bls_pubkey_valid(const uint8_t pk[SIGNER_PK_LEN]);

/* ---- EIP-2335 (keystore.c) ---- */
/* The bounds a keystore's kdf must respect before anything is derived, so a
 * hostile keystore (keymanager import) cannot exhaust memory or CPU. The
 * standard keystores (scrypt n=2^18 r=8 p=1; pbkdf2 c=2^18) are well inside. */
#define SIGNER_SCRYPT_MAX_N (1u << 18)
#define SIGNER_SCRYPT_MAX_NR (1u << 21)  /* 128·n·r bytes of memory: 256 MiB */
#define SIGNER_SCRYPT_MAX_NRP (1u << 22) /* CPU: twice the standard work */
#define SIGNER_PBKDF2_MAX_C (1u << 22)
#define SIGNER_KEYSTORE_MAX_BYTES (64 * 1024)

typedef struct {
    signer_kdf kdf;
    uint64_t n, r, p; /* scrypt */
    uint64_t c;       /* pbkdf2 */
    uint8_t salt[256];
    size_t salt_len;
    uint8_t checksum[32];
    uint8_t iv[16];
    uint8_t cipher[SIGNER_SK_LEN];
    bool has_pubkey;
    uint8_t pubkey[SIGNER_PK_LEN];
} signer_keystore_parsed;

/* Parses and bounds-checks a keystore without deriving anything (the cheap,
 * fuzzed step). CL_ERR_INVALID with a message in err. */
cl_err signer_keystore_parse(cl_slice json, signer_keystore_parsed *out, char *err, size_t errlen);
/* signer_keystore_encrypt with scrypt n (or pbkdf2 c) = 2^log2_cost, 1..18
 * (18 is the standard; lower only for tests and throwaway keys). */
cl_err signer_keystore_encrypt_cost(const uint8_t sk[SIGNER_SK_LEN], cl_slice password,
                                    signer_kdf kdf, unsigned log2_cost, const char *path,
                                    cl_buf *json_out);
/* EIP-2335 password processing: NFKD, then C0, DEL and C1 code points
 * stripped; out is the UTF-8 result (free with buf_free_secret).
 * CL_ERR_INVALID for a password that is not UTF-8. */
cl_err signer_keystore_password(cl_slice password, cl_buf *out);

/* ---- keyring internals for keycache.c ---- */
/* Like signer_keyring_add, but a key the keyring has disabled stays disabled
 * (CL_ERR_DENIED, pk_out still set): a reload never revives a deleted key. */
cl_err signer_keyring_add_active(signer_keyring *k, const uint8_t sk[SIGNER_SK_LEN],
                                 signer_key_source src, const char *origin,
                                 uint8_t pk_out[SIGNER_PK_LEN]);
/* Removes the listed keys that are active (a disabled key stays remembered). */
size_t signer_keyring_drop(signer_keyring *k, const uint8_t (*pks)[SIGNER_PK_LEN], size_t n);
/* Copies an active key's secret (for the sealed cache); NOT_FOUND / DENIED. */
cl_err signer_keyring_secret(signer_keyring *k, const uint8_t pk[SIGNER_PK_LEN],
                             uint8_t sk[SIGNER_SK_LEN]);

#endif
