/* rangeproof_internal.h — what the range prover (rangeproof.c) and verifier
 * (rangeproof_verify.c) share: the slot layout, the challenges after the table
 * is committed, and the public weight vectors both derive from them. */
#ifndef CLOISTER_POR_RANGEPROOF_INTERNAL_H
#define CLOISTER_POR_RANGEPROOF_INTERNAL_H

#include "por/rangeproof.h"

#define RP_DOMSEP "range-logup-v1"
#define RP_TABLE 256 /* digit values 0..255: base-256 digits */

/* The slot layout of a proof for m values of n bits. */
typedef struct {
    size_t m, n, K; /* K = n/8 digits per value */
    size_t nd;      /* digit slots 0..nd-1 (value j, digit k at j·K + k) */
    size_t slots;   /* power of two >= nd + RP_TABLE; table slots nd..nd+255 */
    size_t lg;      /* log2(slots): rounds of the inner-product argument */
} rp_shape;

/* The shape of a proof for (m, n); false if the parameters are not allowed. */
bool rp_shape_of(rp_shape *s, size_t m, size_t n);
/* dom-sep, n, m and the commitments (m × 48 bytes) into the transcript. */
void rp_transcript_start(por_transcript *t, const rp_shape *s, const uint8_t *V);

/* A round's inner-product challenge "u": challenge_short (v1; k1, k2 its
 * halves) or, wide, challenge_scalar (k1 = k2 = 0). */
void rp_ipa_challenge(por_transcript *t, bool wide, por_scalar *u, uint64_t *k1, uint64_t *k2);

/* The challenges after the table is fixed, and what prover and verifier derive
 * from them. */
typedef struct {
    por_scalar X, xi, xiinv, y, yinv, z;
    por_scalar c[RP_TABLE]; /* c_t = 1/(X - t) */
} rp_chal;

/* c_t and ξ⁻¹, y⁻¹ (public, variable time). CL_ERR_CRYPTO if X is a table
 * value or ξ or y is zero (probability ~2^-246). */
cl_err rp_chal_derive(rp_chal *ch);
/* wR_i = z^(2+j)·256^k on digit slots (value equations), wL_i = ξ⁻¹ on digit
 * slots and -c_t on table slots (the lookup equation), both 0 elsewhere. */
void rp_pub_vectors(const rp_shape *s, const rp_chal *ch, por_scalar *wR, por_scalar *wL);
/* δ = ξ·Σ_{digit slots} y^i + X·Σ_i wR_i + z·Σ_i y^-i·wR_i·wL_i: t(x)'s
 * constant term apart from -Σ_j z^(2+j)·v_j. */
void rp_delta(por_scalar *out, const rp_shape *s, const rp_chal *ch, const por_scalar *wR,
              const por_scalar *wL);

#endif
