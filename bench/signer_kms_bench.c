/* signer_kms_bench.c — start-up with KMS-sealed keys (src/signer/kmskeys*.c):
 * a key set of N keys (default 10,000; SIGNER_KMS_BENCH_KEYS) as GetSignerKeys
 * returns it, parsed, then every key unsealed (AES-256-GCM under the data key)
 * into a keyring, next to the baseline of the same run: deriving the N public
 * keys alone (what the keyring must do per key anyway). What it leaves out is
 * one KMS Decrypt with Recipient and the transfer of the set (about 200 bytes a
 * key). Figures only; never fails on time. Target (issue 13): < 5 s at 10,000. */
#include "crypto/crypto.h"
#include "signer/signer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void secret_of(uint8_t sk[SIGNER_SK_LEN], unsigned i) {
    memset(sk, 0, SIGNER_SK_LEN);
    sk[0] = 0x10; /* well below the group order */
    memcpy(sk + 20, &i, sizeof i);
    sk[31] = 1;
}

int main(void) {
    const char *env = getenv("SIGNER_KMS_BENCH_KEYS");
    size_t n = env ? strtoul(env, NULL, 10) : 10000;
    if (n == 0 || n > SIGNER_KMS_MAX_KEYS) n = 10000;
    uint8_t dk[SIGNER_KMS_DATA_KEY_LEN];
    crypto_random(dk, sizeof dk);
    signer_kms_set s = {.name = cl_strdup("bench"), .kms_key_id = cl_strdup("alias/bench")};
    buf_append_cstr(&s.encrypted_data_key, "not used here");
    s.keys = cl_calloc(n, sizeof *s.keys);
    s.n = n;
    uint64_t t0 = time_mono_ns();
    for (unsigned i = 0; i < n; i++) {
        uint8_t sk[SIGNER_SK_LEN];
        secret_of(sk, i);
        if (signer_bls_pubkey(sk, s.keys[i].pk) != CL_OK ||
            signer_kms_seal(dk, s.keys[i].pk, sk, s.keys[i].sealed) != CL_OK)
            return 1;
        cl_cleanse(sk, sizeof sk);
    }
    double derive_s = (double)(time_mono_ns() - t0) / 1e9;
    cl_buf js = CL_BUF_INIT;
    signer_kms_set_json(&s, &js);

    char err[256];
    signer_kms_set got = {0};
    uint64_t t1 = time_mono_ns();
    if (signer_kms_set_parse(buf_slice(&js), &got, err, sizeof err) != CL_OK) {
        fprintf(stderr, "parse: %s\n", err);
        return 1;
    }
    uint64_t t2 = time_mono_ns();
    signer_keyring *k = signer_keyring_new();
    size_t loaded = 0;
    if (signer_kms_set_load(&got, dk, k, &loaded, err, sizeof err) != CL_OK) {
        fprintf(stderr, "load: %s\n", err);
        return 1;
    }
    uint64_t t3 = time_mono_ns();
    printf("KMS-sealed keys: %zu keys, set of %zu bytes\n", loaded, js.len);
    printf("  parse the set                   %8.3f s\n", (double)(t2 - t1) / 1e9);
    printf("  unseal into the keyring         %8.3f s\n", (double)(t3 - t2) / 1e9);
    printf("  total (plus one KMS Decrypt)    %8.3f s   (target < 5 s at 10,000)\n",
           (double)(t3 - t1) / 1e9);
    printf("  baseline: derive %zu pubkeys     %8.3f s   (plus sealing, in this setup)\n", n,
           derive_s);
    signer_keyring_free(k);
    signer_kms_set_free(&got);
    signer_kms_set_free(&s);
    buf_free(&js);
    cl_cleanse(dk, sizeof dk);
    return 0;
}
