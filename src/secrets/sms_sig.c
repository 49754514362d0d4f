/* sms_sig.c — the `Authorization` of iExec SMS pushes: parse r||s||v and
 * recover the signer's address (ecrecover) over secp256k1.
 *
 * The curve arithmetic is OpenSSL's (EC_GROUP secp256k1, EC_POINT_mul): no
 * curve code is written here, only the public-key recovery formula of SEC 1
 * v2, 4.1.6: R = the point with x = r and y parity = recid, then
 * Q = r^-1 (s R - e G). libsecp256k1's recovery module (the issue's
 * suggestion) is not installed on this machine class; secrets_sig_recover is
 * the one function to swap for secp256k1_ecdsa_recover when it is.
 * recid 2/3 (x = r + n) is refused: the CLI's v is 27/28, and such r cannot
 * occur with real keys in practice. High s is accepted, as iExec's SMS does
 * (web3j Sign.signedMessageHashToKey does not enforce low s); malleability
 * does not matter here since a secret is write-once and the challenge fixed. */
#include "secrets/secrets.h"

#include "crypto/crypto.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
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

/* 1 <= x < n */
static bool in_range(const BIGNUM *x, const BIGNUM *n) {
    return !BN_is_zero(x) && !BN_is_negative(x) && BN_cmp(x, n) < 0;
}

/* Q = r^-1 (s R - e G), as uncompressed X || Y into xy[64]. */
static cl_err recover_point(const EC_GROUP *g, const secrets_sig *sig, const uint8_t hash[32],
                            uint8_t xy[64], BN_CTX *ctx) {
    const BIGNUM *n = EC_GROUP_get0_order(g);
    BIGNUM *r = BN_bin2bn(sig->r, 32, NULL), *s = BN_bin2bn(sig->s, 32, NULL);
    BIGNUM *e = BN_bin2bn(hash, 32, NULL), *rinv = BN_new(), *u1 = BN_new(), *u2 = BN_new();
    EC_POINT *R = EC_POINT_new(g), *Q = EC_POINT_new(g);
    uint8_t oct[65];
    cl_err err = CL_ERR_CRYPTO;
    if (!r || !s || !e || !rinv || !u1 || !u2 || !R || !Q) goto out;
    err = CL_ERR_INVALID;
    if (!in_range(r, n) || !in_range(s, n)) goto out;
    /* r < n < p, so x = r is a field element; no point with it -> invalid. */
    if (!EC_POINT_set_compressed_coordinates(g, R, r, sig->recid & 1, ctx)) goto out;
    err = CL_ERR_CRYPTO;
    if (!BN_mod_inverse(rinv, r, n, ctx) || !BN_nnmod(e, e, n, ctx) ||
        !BN_mod_sub(u1, n, e, n, ctx) || !BN_mod_mul(u1, u1, rinv, n, ctx) ||
        !BN_mod_mul(u2, s, rinv, n, ctx) || !EC_POINT_mul(g, Q, u1, R, u2, ctx))
        goto out;
    err = CL_ERR_INVALID;
    if (EC_POINT_is_at_infinity(g, Q)) goto out;
    if (EC_POINT_point2oct(g, Q, POINT_CONVERSION_UNCOMPRESSED, oct, sizeof oct, ctx) != 65)
        goto out;
    memcpy(xy, oct + 1, 64);
    err = CL_OK;
out:
    BN_free(r);
    BN_free(s);
    BN_free(e);
    BN_free(rinv);
    BN_free(u1);
    BN_free(u2);
    EC_POINT_free(R);
    EC_POINT_free(Q);
    return err;
}

cl_err secrets_sig_recover(const secrets_sig *sig, const uint8_t hash[SECRETS_HASH_LEN],
                           secrets_addr *out) {
    if (sig->recid != 0 && sig->recid != 1) return CL_ERR_INVALID;
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_secp256k1);
    BN_CTX *ctx = BN_CTX_new();
    uint8_t xy[64], h[32];
    cl_err e = g && ctx ? recover_point(g, sig, hash, xy, ctx) : CL_ERR_CRYPTO;
    if (e == CL_OK) {
        crypto_keccak256(slice_of(xy, sizeof xy), h);
        memcpy(out->b, h + 12, SECRETS_ADDR_LEN);
    } else {
        ERR_clear_error(); /* a point not on the curve is input, not a fault */
    }
    BN_CTX_free(ctx);
    EC_GROUP_free(g);
    return e;
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
