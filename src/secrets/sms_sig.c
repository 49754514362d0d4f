/* sms_sig.c — the iExec secret service's signatures: the `Authorization` value
 * (0x + r || s || v, 65 bytes hex) and recovery of the signing Ethereum address
 * from the EIP-191 hash of the challenge (sms_wire.c).
 *
 * Recovery is libsecp256k1's (Debian libsecp256k1-dev, recovery module:
 * secp256k1_ecdsa_recover); no curve code is written here. Its compact
 * signature parser refuses r or s that are zero or not below the group order;
 * recovery fails for an r that names no curve point. recid 2/3 (x = r + n) is
 * refused: the CLI's v is 27/28. High s is accepted, as iExec's SMS does (web3j
 * Sign.signedMessageHashToKey does not enforce low s); malleability does not
 * matter here since a secret is write-once and the challenge fixed. */
#include "secrets/secrets.h"

#include "crypto/crypto.h"

#include <pthread.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <string.h>

cl_err secrets_sig_parse(cl_slice authorization, secrets_sig *out) {
    uint8_t raw[SECRETS_SIG_LEN];
    cl_slice s = slice_trim(authorization);
    if (s.len != 2 + 2 * SECRETS_SIG_LEN || s.ptr[0] != '0' || (s.ptr[1] != 'x' && s.ptr[1] != 'X'))
        return CL_ERR_INVALID;
    cl_buf b = CL_BUF_INIT;
    cl_err e = hex_decode(&b, slice_sub(s, 2, s.len));
    if (e == CL_OK && b.len != SECRETS_SIG_LEN) e = CL_ERR_INVALID;
    if (e == CL_OK) memcpy(raw, b.ptr, SECRETS_SIG_LEN);
    buf_free(&b);
    if (e != CL_OK) return CL_ERR_INVALID;
    uint8_t v = raw[64];
    if (v >= 27) v -= 27;
    if (v > 1) return CL_ERR_INVALID;
    memcpy(out->r, raw, 32);
    memcpy(out->s, raw + 32, 32);
    out->recid = v;
    return CL_OK;
}

/* One verify-only context for the process (libsecp256k1 contexts are safe to
 * share for verification once made). */
static secp256k1_context *shared_ctx;

static void make_ctx(void) {
    shared_ctx = secp256k1_context_create(SECP256K1_CONTEXT_VERIFY);
}

static const secp256k1_context *verify_ctx(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, make_ctx);
    return shared_ctx;
}

cl_err secrets_sig_recover(const secrets_sig *sig, const uint8_t hash[SECRETS_HASH_LEN],
                           secrets_addr *out) {
    if (sig->recid != 0 && sig->recid != 1) return CL_ERR_INVALID;
    const secp256k1_context *ctx = verify_ctx();
    if (!ctx) return CL_ERR_CRYPTO;
    uint8_t rs[64], xy65[65], h[32];
    memcpy(rs, sig->r, 32);
    memcpy(rs + 32, sig->s, 32);
    secp256k1_ecdsa_recoverable_signature rsig;
    secp256k1_pubkey pub;
    size_t len = sizeof xy65;
    if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rsig, rs, sig->recid) ||
        !secp256k1_ecdsa_recover(ctx, &pub, &rsig, hash) ||
        !secp256k1_ec_pubkey_serialize(ctx, xy65, &len, &pub, SECP256K1_EC_UNCOMPRESSED) ||
        len != 65)
        return CL_ERR_INVALID;
    crypto_keccak256(slice_of(xy65 + 1, 64), h); /* address: last 20 bytes of keccak(X || Y) */
    memcpy(out->b, h + 12, SECRETS_ADDR_LEN);
    return CL_OK;
}

cl_err secrets_sms_verify(cl_slice authorization, const secrets_addr *signer,
                          const secrets_addr *owner, cl_slice name, cl_slice value) {
    secrets_sig sig;
    secrets_addr got;
    uint8_t challenge[32], hash[32];
    CL_TRY(secrets_sig_parse(authorization, &sig));
    secrets_challenge(owner, name, value, challenge);
    secrets_eip191_hash(challenge, hash);
    CL_TRY(secrets_sig_recover(&sig, hash, &got));
    return secrets_addr_eq(&got, signer) ? CL_OK : CL_ERR_DENIED;
}
