/* rangeproof.h — aggregated Bulletproofs range proofs (Bünz, Bootle, Boneh,
 * Poelstra, Wuille, Maxwell 2018, §4.3 with the logarithmic inner-product
 * argument of §3) over BLS12-381 G1: given m Pedersen commitments
 * V_j = v_j·G + γ_j·H (G, H the Pedersen bases of curve.h), prove that every
 * v_j lies in [0, 2^n), in one proof of 2·log2(m·n) + 4 points and 5 scalars.
 * m is a power of two (1..POR_RP_MAX_M), n one of 8, 16, 32, 64.
 *
 * ---- proof bytes (por_rangeproof_size(m, n) = 352 + 96·log2(m·n)) ----
 *   A, S, T1, T2              4 points, 48 bytes each (compressed, curve.h)
 *   t_hat, tau_x, mu          3 scalars, 32 bytes each (big-endian, < r)
 *   L_1, R_1, ..., L_k, R_k   k = log2(m·n) rounds, 2 points each
 *   a, b                      2 scalars
 * e.g. m = 1, n = 64: 928 bytes; m = 64, n = 64: 1504 bytes. A decoder rejects a
 * wrong length, a non-canonical scalar, any point that does not decode to the
 * subgroup, and the identity (an honest prover never makes one; the
 * commitments V_j are held to the same rule).
 *
 * ---- generators (curve.h's por_generator) ----
 * G_i = gen("bulletproofs/G", i), H_i = gen("bulletproofs/H", i) for
 * i < m·n, U = gen("bulletproofs/U", 0). Value j owns indices j·n .. j·n+n-1,
 * bit i of v_j at index j·n + i.
 *
 * ---- transcript (the caller's, curve.h; it must already carry a label that
 * says what is being proved, e.g. por_transcript_init(&t, "cloister-por/equity")) ----
 *   append("dom-sep", "bulletproofs-range-v1"), append_u64("n", n),
 *   append_u64("m", m), append_point("V", V_j) for each j
 *   append_point("A"), append_point("S"); y = scalar("y"); z = scalar("z")
 *   append_point("T1"), append_point("T2"); x = scalar("x")
 *   append_scalar("t_hat"), append_scalar("tau_x"), append_scalar("mu"); w = scalar("w")
 *   per round k: append_point("L"), append_point("R"); u_k = short("u")
 * (scalar = challenge_scalar, short = challenge_short.) The transcript is left
 * in the state after the last u_k, so a caller may bind more after it.
 *
 * ---- the inner-product argument (a rescaled form of §3) ----
 * With generators G_i, H'_i = y^-i·H_i, Q = w·U and vectors a (= l), b (= r) of length k, h = k/2:
 *   L = <a_lo, G_hi> + <b_hi, H'_lo> + <a_lo, b_hi>·Q
 *   R = <a_hi, G_lo> + <b_lo, H'_hi> + <a_hi, b_lo>·Q
 *   a' = a_lo + u⁻¹·a_hi    b' = b_lo + u·b_hi
 *   G' = G_lo + u·G_hi      H'' = H'_lo + u⁻¹·H'_hi     P' = P + u·L + u⁻¹·R
 * (the paper's round with u = x², multiplied through by x so that G folds by u
 * alone; u is a short challenge, curve.h). The verifier checks, in ONE
 * multi-scalar multiplication with a random weight c for the second equation:
 *   A + x·S + Σ_k (u_k·L_k + u_k⁻¹·R_k) − Σ_i (z + a·s_i)·G_i
 *     + Σ_i (z + (z^(2+j)·2^(i mod n) − b·s_i⁻¹)·y^-i)·H_i − μ·H + w·(t̂ − a·b)·U = 0
 *   t̂·G + τx·H = Σ_j z^(2+j)·V_j + δ(y,z)·G + x·T1 + x²·T2
 * where, with k = log2(m·n) rounds and challenges u_1..u_k in round order,
 * s_i = Π_{r=1..k} u_r^(bit (k - r) of i)  (round 1 folds on the top bit of i),
 * j = floor(i / n), y^-i = (y⁻¹)^i, δ(y,z) = (z − z²)·Σ_{i<mn} y^i − Σ_j z^(3+j)·(2^n − 1),
 * G = gen("pedersen/G", 0), H = gen("pedersen/H", 0). The verifier rejects if
 * the MSM is not the identity.
 *
 * Secrets (values, blindings, the bits, α, ρ, s_L, s_R, τ1, τ2) are used only
 * in constant-time arithmetic and wiped after. The inner-product argument runs
 * in variable time: its vectors l, r are exactly what the linear-size protocol
 * reveals (masked by s_L, s_R), so their timing gives nothing away. */
#ifndef CLOISTER_POR_RANGEPROOF_H
#define CLOISTER_POR_RANGEPROOF_H

#include "por/curve.h"

#define POR_RP_LABEL_G "bulletproofs/G"
#define POR_RP_LABEL_H "bulletproofs/H"
#define POR_RP_LABEL_U "bulletproofs/U"
#define POR_RP_MAX_M 1024

/* Bytes of a proof for (m, n); 0 if the parameters are not allowed. */
size_t por_rangeproof_size(size_t m, size_t n);

/* Proves values[j] in [0, 2^n) for j < m with blindings[j]. Appends the proof
 * to *proof and, if commitments is not NULL, writes V_j there. CL_ERR_INVALID
 * for bad (m, n) or a value >= 2^n (nothing is written then). */
cl_err por_rangeproof_prove(por_transcript *t, const uint64_t *values, const por_scalar *blindings,
                            size_t m, size_t n, cl_buf *proof, por_point *commitments);

/* CL_OK if the proof shows every committed value (m compressed commitments,
 * 48 bytes each) is in [0, 2^n); CL_ERR_INVALID if something does not decode,
 * CL_ERR_CRYPTO if it decodes but does not verify. */
cl_err por_rangeproof_verify(por_transcript *t, const uint8_t *commitments, size_t m, size_t n,
                             cl_slice proof);

/* The same with commitments the caller already holds as points (e.g. computed
 * homomorphically from a sum tree), which skips decoding and the subgroup
 * check: they must be points of G1 (anything from curve.h's arithmetic on
 * checked inputs is). The identity is still refused. */
cl_err por_rangeproof_verify_points(por_transcript *t, const por_affine *commitments, size_t m,
                                    size_t n, cl_slice proof);

/* Batch verification: one multi-scalar multiplication for all items, each
 * item's equations weighted by fresh random scalars, so it accepts exactly
 * when every item would (up to 2^-255). Every transcript is advanced as by
 * por_rangeproof_verify. CL_OK if all verify; otherwise an error, and which
 * item failed is not said (verify them one by one to find out). Each item
 * gives its commitments either as bytes (commitments: m * 48, decoded and
 * checked) or as points (commitment_points, as for _verify_points). */
typedef struct {
    por_transcript *transcript;
    const uint8_t *commitments;
    size_t m, n;
    cl_slice proof;
    const por_affine *commitment_points; /* used when commitments is NULL */
} por_rangeproof_item;

cl_err por_rangeproof_verify_batch(const por_rangeproof_item *items, size_t count);

/* FOR TESTS ONLY: proves without the range check, taking the committed values
 * as scalars and their low n bits as the bit vector. For a value outside
 * [0, 2^n) the bits do not add up to it, so the proof it makes must be rejected
 * by the verifier; the soundness tests show that it is. */
cl_err por_rangeproof_prove_unchecked(por_transcript *t, const por_scalar *values,
                                      const por_scalar *blindings, size_t m, size_t n,
                                      cl_buf *proof, por_point *commitments);

#endif
