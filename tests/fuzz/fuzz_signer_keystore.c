/* fuzz_signer_keystore.c — libFuzzer target for EIP-2335 keystore parsing
 * (src/signer/keystore.c), which reads untrusted JSON (keymanager imports,
 * files dropped in a keystores directory). Input: one byte n, n bytes of
 * password, then the keystore JSON. Every input goes through
 * signer_keystore_parse (the bounds on kdf parameters are checked there,
 * before any derivation) and password processing (NFKD, control codes
 * stripped); inputs whose kdf is cheap (scrypt n·r·p <= 2^10, pbkdf2 c <= 2^10)
 * are decrypted completely, so mutations reach the checksum, the cipher and
 * the pubkey check without the fuzzer ever running real scrypt. The seeds in
 * tests/fuzz/seeds/fuzz_signer_keystore are cheap pbkdf2 and scrypt keystores
 * with their passwords (made with Python's hashlib, see the e2e test). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "signer/keys_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    size_t n = data[0];
    if (size < 1 + n) return 0;
    cl_slice pw = slice_of(data + 1, n), json = slice_of(data + 1 + n, size - 1 - n);
    cl_buf out = CL_BUF_INIT;
    if (signer_keystore_password(pw, &out) == CL_OK && !utf8_valid(buf_slice(&out)))
        __builtin_trap();
    buf_free_secret(&out);
    signer_keystore_parsed ks;
    char err[200];
    if (signer_keystore_parse(json, &ks, err, sizeof err) != CL_OK) return 0;
    bool cheap = ks.kdf == SIGNER_KDF_SCRYPT ? ks.n * ks.r * ks.p <= 1024 : ks.c <= 1024;
    if (!cheap) return 0;
    uint8_t sk[SIGNER_SK_LEN], pk[SIGNER_PK_LEN];
    if (signer_keystore_decrypt(json, pw, sk, err, sizeof err) == CL_OK) {
        /* a decrypted key is a valid key, and the one the keystore names */
        if (signer_bls_pubkey(sk, pk) != CL_OK) __builtin_trap();
        if (ks.has_pubkey && memcmp(pk, ks.pubkey, sizeof pk) != 0) __builtin_trap();
    }
    return 0;
}
