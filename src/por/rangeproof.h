/* rangeproof.h — aggregated range proofs over BLS12-381 G1: given m Pedersen
 * commitments V_j = v_j·G + γ_j·H (G, H the Pedersen bases of curve.h), prove
 * that every v_j lies in [0, 2^n), n any multiple of 8 from 8 to
 * POR_RP_MAX_N = 248, m from 1 to POR_RP_MAX_M, and m·n/8 + 256 <=
 * POR_RP_MAX_SLOTS (true for every such m and n: at most 32000; the cap bounds
 * the generator tables should POR_RP_MAX_M grow). The byte format, transcript
 * and equations below are the same for every n: cloister-por-v1 allowed n =
 * 8, 16, 32, 64, and its proofs verify unchanged. Why 248: 2^248 < r, so K
 * digits below 256 add up to Σ_k 256^k·d_k < 2^n without wrapping mod r.
 * Each value is written as K = n/8 base-256 digits (the low K bytes of its
 * canonical encoding, little-endian); a logarithmic-derivative lookup shows
 * every digit is in the table 0..255, and a Bulletproofs-style argument (Bünz et al. 2018: vector
 * polynomials l, r, commitments T1, T2, the logarithmic inner-product argument) shows the
 * multiplication, lookup and digit-sum equations. docs/por.md §6 and §10 give
 * the why; this comment is the normative byte-level specification.
 *
 * ---- slots ----
 * nd = m·K digit slots (value j, digit k at i = j·K + k, d_i = byte k of v_j,
 * little-endian), then TABLE = 256 table slots (slot nd + t stands for digit
 * value t), then padding up to S = the smallest power of two >= nd + 256;
 * lg = log2(S). mu_t = how many of the nd digits equal t.
 *
 * ---- proof bytes (por_rangeproof_size(m, n) = 400 + 96·lg) ----
 *   D, A, S, T1, T2           5 points, 48 bytes each (compressed, curve.h)
 *   t_hat, tau_x, mu          3 scalars, 32 bytes each (big-endian, < r)
 *   L_1, R_1, ..., L_lg, R_lg 2 points a round
 *   a, b                      2 scalars
 * e.g. m = 1..32, n = 64: 1264 bytes; m = 480: 1552 bytes, as for m = 240,
 * n = 128 and m = 142, n = 216 (4096 slots each). A decoder rejects a
 * wrong length, a non-canonical scalar, any point that does not decode to the
 * subgroup, and the identity (an honest prover never makes one; the
 * commitments V_j are held to the same rule).
 *
 * ---- generators (curve.h's por_generator) ----
 * G_i = gen("bulletproofs/G", i), H_i = gen("bulletproofs/H", i) for i < S,
 * U = gen("bulletproofs/U", 0); G, H the Pedersen bases.
 *
 * ---- prover ----
 *   D  = Σ_t mu_t·G_(nd+t) − Σ_(i<nd) d_i·H_i + ρ_D·H
 *   A  = Σ_(i<nd) (X − d_i)⁻¹·G_i + α·H
 *   S  = Σ_(i<S) (s_L,i·G_i + s_R,i·H_i) + ρ·H        (α, ρ_D, ρ, s_L, s_R random)
 * Vectors of length S: a_L = ξ·(X − d_i)⁻¹ at digit slots, mu_t at table slots,
 * 0 else; a_R = X − d_i at digit slots, 0 else. Public: wR_i = z^(2+j)·256^k at
 * digit slot i = j·K + k (0 else); wL_i = ξ⁻¹ at digit slots, −(X − t)⁻¹ at
 * table slot nd + t, 0 at padding.
 *   l(x) = a_L + y^-i∘wR + s_L·x      r(x) = y^i∘(a_R + s_R·x) + z·wL
 *   t(x) = <l(x), r(x)> = t0 + t1·x + t2·x², t0 = δ − Σ_j z^(2+j)·v_j,
 *   δ = ξ·Σ_(i<nd) y^i + X·Σ_i wR_i + z·Σ_i y^-i·wR_i·wL_i
 *   T1 = t1·G + τ1·H, T2 = t2·G + τ2·H;  l = l(x), r = r(x), t̂ = <l, r>,
 *   τx = τ1·x + τ2·x² − Σ_j z^(2+j)·γ_j,  μ = ξ·α + ρ_D + x·ρ
 * then the inner-product argument on (l, r) below.
 *
 * ---- transcript (the caller's, curve.h; it must already carry a label that
 * says what is being proved, e.g. por_transcript_init(&t, "cloister-por/equity")) ----
 *   append("dom-sep", "range-logup-v1"), append_u64("n", n), append_u64("m", m),
 *   append_point("V", V_j) for each j
 *   append_point("D"); X = scalar("X")
 *   append_point("A"), append_point("S"); ξ = scalar("xi"); y = scalar("y"); z = scalar("z")
 *   append_point("T1"), append_point("T2"); x = scalar("x")
 *   append_scalar("t_hat"), append_scalar("tau_x"), append_scalar("mu"); w = scalar("w")
 *   per round k: append_point("L"), append_point("R"); u_k = short("u"),
 *     or u_k = scalar("u") in wide mode (below)
 * (scalar = challenge_scalar, short = challenge_short.) The transcript is left
 * in the state after the last u_k, so a caller may bind more after it. A
 * verifier rejects if X is one of 0..255 or ξ or y is zero (never in practice).
 *
 * ---- the inner-product argument (a rescaled form of Bünz et al. §3) ----
 * With generators G_i, H'_i = y^-i·H_i, Q = w·U and vectors a (= l), b (= r) of length k, h = k/2:
 *   L = <a_lo, G_hi> + <b_hi, H'_lo> + <a_lo, b_hi>·Q
 *   R = <a_hi, G_lo> + <b_lo, H'_hi> + <a_hi, b_lo>·Q
 *   a' = a_lo + u⁻¹·a_hi    b' = b_lo + u·b_hi
 *   G' = G_lo + u·G_hi      H'' = H'_lo + u⁻¹·H'_hi     P' = P + u·L + u⁻¹·R
 * (the paper's round with u = x², multiplied through by x so that G folds by u
 * alone; u is a short challenge, curve.h, or a full scalar in wide mode).
 * After lg rounds the proof ends with
 * a, b. The verifier checks, in ONE multi-scalar multiplication with a random
 * weight c for the second equation:
 *   ξ·A + D + x·S + Σ_k (u_k·L_k + u_k⁻¹·R_k) + Σ_i (y^-i·wR_i − a·s_i)·G_i
 *     + Σ_i (X·[i < nd] + (z·wL_i − b·s_i⁻¹)·y^-i)·H_i − μ·H + w·(t̂ − a·b)·U = 0
 *   t̂·G + τx·H = δ·G − Σ_j z^(2+j)·V_j + x·T1 + x²·T2
 * where, with challenges u_1..u_lg in round order,
 * s_i = Π_{r=1..lg} u_r^(bit (lg - r) of i)  (round 1 folds on the top bit of i)
 * and y^-i = (y⁻¹)^i. The verifier rejects if the MSM is not the identity.
 *
 * ---- challenge modes ----
 * Short (cloister-por-v1): the inner-product round challenges u_k are short
 * (2^128 values), which adds a term of order lg·2^-127 (≈ 2^-123 a proof) to
 * the soundness error. Wide
 * (cloister-por-v2, POR2SPEC §5): u_k = challenge_scalar("u"), full scalars;
 * everything else is byte for byte the same, so the mode is not visible in a
 * proof: the caller chooses it (por_rangeproof_prove and the _verify
 * functions are short; _prove_scalars and _prove_committed are wide; batch
 * items say which). A proof checked in the other mode fails.
 *
 * Secrets (values, blindings, digits, counts, reciprocals, α, ρ_D, ρ, s_L,
 * s_R, τ1, τ2) are used only in constant-time arithmetic and wiped after
 * (digit counts are taken without secret-dependent addresses). The
 * inner-product argument runs in variable time: its vectors l, r are exactly
 * what the linear-size protocol reveals (masked by s_L, s_R), so their timing
 * gives nothing away. */
#ifndef CLOISTER_POR_RANGEPROOF_H
#define CLOISTER_POR_RANGEPROOF_H

#include "por/curve.h"

#define POR_RP_LABEL_G "bulletproofs/G"
#define POR_RP_LABEL_H "bulletproofs/H"
#define POR_RP_LABEL_U "bulletproofs/U"
#define POR_RP_MAX_M 1024
#define POR_RP_MAX_N 248        /* widths: multiples of 8, 8..248 */
#define POR_RP_MAX_SLOTS 65536u /* m·n/8 + 256 must not exceed it */

/* Bytes of a proof for (m, n); 0 if the parameters are not allowed. */
size_t por_rangeproof_size(size_t m, size_t n);
/* Slots (generators G_i, H_i) a proof for (m, n) uses; 0 if not allowed. */
size_t por_rangeproof_slots(size_t m, size_t n);

/* Proves values[j] in [0, 2^n) for j < m with blindings[j]. Appends the proof
 * to *proof and, if commitments is not NULL, writes V_j there. CL_ERR_INVALID
 * for bad (m, n) or a value >= 2^n (nothing is written then, and the
 * transcript is untouched). For n > 64 every value fits. */
cl_err por_rangeproof_prove(por_transcript *t, const uint64_t *values, const por_scalar *blindings,
                            size_t m, size_t n, cl_buf *proof, por_point *commitments);

/* cloister-por-v2's prover: the same with the values as scalars (any width up
 * to POR_RP_MAX_N) and WIDE challenges. Value j must be < 2^n, checked in
 * constant time; its digits are the little-endian bytes of its canonical
 * encoding. Verify with a batch item with .wide = true. */
cl_err por_rangeproof_prove_scalars(por_transcript *t, const por_scalar *values,
                                    const por_scalar *blindings, size_t m, size_t n, cl_buf *proof,
                                    por_point *commitments);

/* The same (wide) for commitments the caller has already made (V_j = values[j]·G +
 * blindings[j]·H, e.g. by the sum tree): they are not recomputed but appended
 * to the transcript as given, exactly as por_rangeproof_prove appends its own.
 * A commitment that does not open to (values[j], blindings[j]) gives a proof
 * that does not verify; the identity, or NULL, is CL_ERR_INVALID. */
cl_err por_rangeproof_prove_committed(por_transcript *t, const por_scalar *values,
                                      const por_scalar *blindings, const por_affine *commitments,
                                      size_t m, size_t n, cl_buf *proof);

/* CL_OK if the proof (short challenges: cloister-por-v1's) shows every
 * committed value (m compressed commitments, 48 bytes each) is in [0, 2^n);
 * CL_ERR_INVALID if something does not decode, CL_ERR_CRYPTO if it decodes
 * but does not verify. Wide proofs: por_rangeproof_verify_batch. */
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
 * checked) or as points (commitment_points, as for _verify_points), and its
 * challenge mode (wide; items of both modes may share a batch). */
typedef struct {
    por_transcript *transcript;
    const uint8_t *commitments;
    size_t m, n;
    cl_slice proof;
    const por_affine *commitment_points; /* used when commitments is NULL */
    bool wide;                           /* wide challenges (cloister-por-v2); false: short (v1) */
} por_rangeproof_item;

cl_err por_rangeproof_verify_batch(const por_rangeproof_item *items, size_t count);

/* FOR TESTS ONLY: proves without the range check, taking the committed values
 * as scalars and the low n/8 bytes of each as its digits (any allowed n). For
 * a value outside [0, 2^n) the digits do not add up to it, so the proof it
 * makes must be rejected by the verifier; the soundness tests show that it is. */
cl_err por_rangeproof_prove_unchecked(por_transcript *t, const por_scalar *values,
                                      const por_scalar *blindings, size_t m, size_t n,
                                      cl_buf *proof, por_point *commitments);
/* The same with wide challenges (forged cloister-por-v2 proofs). */
cl_err por_rangeproof_prove_unchecked_wide(por_transcript *t, const por_scalar *values,
                                           const por_scalar *blindings, size_t m, size_t n,
                                           cl_buf *proof, por_point *commitments);

/* FOR TESTS ONLY: proves with the given digits (m·n/8 scalars, value j's
 * digit k at j·n/8 + k) instead of the values' own, counting in the table only
 * those that are 0..255. Digits that sum to a value outside [0, 2^n) must use
 * one outside the table, and the lookup must then reject the proof; the
 * soundness tests show that it does. */
cl_err por_rangeproof_prove_forged_digits(por_transcript *t, const por_scalar *values,
                                          const por_scalar *blindings, const por_scalar *digits,
                                          size_t m, size_t n, cl_buf *proof,
                                          por_point *commitments);

/* The same with wide challenges. */
cl_err por_rangeproof_prove_forged_digits_wide(por_transcript *t, const por_scalar *values,
                                               const por_scalar *blindings,
                                               const por_scalar *digits, size_t m, size_t n,
                                               cl_buf *proof, por_point *commitments);

#endif
