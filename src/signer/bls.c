/* bls.c — BLS signatures for the signer: BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_
 * (the Ethereum consensus ciphersuite, minimal-pubkey-size: pk in G1, 48 bytes
 * compressed; sig in G2, 96 bytes) through blst. Owns sk validation (1..r-1),
 * KeyValidate of public keys (on the curve, in G1, not infinity) and the
 * subgroup check of signatures before verifying. Every secret scalar on the
 * stack is cleansed before returning. */
#include "signer/signer.h"
#include "signer/keys_internal.h"

#include <blst.h>

static const char BLS_DST[] = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";

cl_err signer_bls_scalar(const uint8_t sk[SIGNER_SK_LEN], blst_scalar *out) {
    blst_scalar_from_bendian(out, sk);
    if (!blst_sk_check(out)) {
        cl_cleanse(out, sizeof *out);
        return CL_ERR_INVALID;
    }
    return CL_OK;
}

cl_err signer_bls_pubkey(const uint8_t sk[SIGNER_SK_LEN], uint8_t pk[SIGNER_PK_LEN]) {
    blst_scalar s;
    CL_TRY(signer_bls_scalar(sk, &s));
    blst_p1 p;
    blst_sk_to_pk_in_g1(&p, &s);
    blst_p1_compress(pk, &p);
    cl_cleanse(&s, sizeof s);
    return CL_OK;
}

cl_err signer_bls_sign(const uint8_t sk[SIGNER_SK_LEN], cl_slice msg, uint8_t sig[SIGNER_SIG_LEN]) {
    blst_scalar s;
    CL_TRY(signer_bls_scalar(sk, &s));
    blst_p2 h, out;
    blst_hash_to_g2(&h, msg.ptr, msg.len, (const byte *)BLS_DST, sizeof BLS_DST - 1, NULL, 0);
    blst_sign_pk_in_g1(&out, &h, &s);
    blst_p2_compress(sig, &out);
    cl_cleanse(&s, sizeof s);
    return CL_OK;
}

bool signer_bls_pubkey_valid(const uint8_t pk[SIGNER_PK_LEN]) {
    blst_p1_affine p;
    if (blst_p1_uncompress(&p, pk) != BLST_SUCCESS) return false;
    return !blst_p1_affine_is_inf(&p) && blst_p1_affine_in_g1(&p);
}

bool signer_bls_verify(const uint8_t pk[SIGNER_PK_LEN], cl_slice msg,
                       const uint8_t sig[SIGNER_SIG_LEN]) {
    blst_p1_affine p;
    blst_p2_affine s;
    if (blst_p1_uncompress(&p, pk) != BLST_SUCCESS) return false;
    if (blst_p1_affine_is_inf(&p) || !blst_p1_affine_in_g1(&p)) return false;
    if (blst_p2_uncompress(&s, sig) != BLST_SUCCESS) return false;
    if (!blst_p2_affine_in_g2(&s)) return false;
    return blst_core_verify_pk_in_g1(&p, &s, true, msg.ptr, msg.len, (const byte *)BLS_DST,
                                     sizeof BLS_DST - 1, NULL, 0) == BLST_SUCCESS;
}
