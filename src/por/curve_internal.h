/* curve_internal.h — what curve.c and curve_vartime.c share (not for other
 * files: the public interface is curve.h). */
#ifndef CLOISTER_POR_CURVE_INTERNAL_H
#define CLOISTER_POR_CURVE_INTERNAL_H

#include "por/curve.h"

/* β of the GLV endomorphism (β·x, y) = λ·(x, y), λ = z² − 1. */
const blst_fp *por_curve_beta(void);
/* λ as little-endian 64-bit limbs (λ < 2^128). */
extern const uint64_t POR_LAMBDA_LIMBS[4];
/* The scalar as blst's little-endian scalar, and its bit length. */
void por_scalar_le(blst_scalar *out, const por_scalar *s);
size_t por_scalar_nbits(const blst_scalar *b);

#endif
