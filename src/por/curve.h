/* curve.h — the group layer of proof of reserves: scalars mod r, points of
 * BLS12-381 G1, independent generators, multi-scalar multiplication, Pedersen
 * commitments and the Fiat–Shamir transcript. A thin, fast layer over blst
 * (DESIGN.md); range proofs (rangeproof.h) and the sum tree build on it.
 *
 * Two kinds of arithmetic, chosen per call by what the scalar is:
 *   - secret scalars (balances, blindings, the prover's random masks) go through
 *     the constant-time paths: por_point_mul, por_commit*, por_ct_msm. Their
 *     running time and memory access pattern do not depend on the scalar.
 *   - public scalars (challenges, everything the verifier does, the inner-product
 *     argument whose vectors are safe to reveal) may use the faster variable-time
 *     paths: por_point_mul_vartime, por_point_mul_endo, por_points_fold_*,
 *     por_msm*.
 *
 * ---- encodings (what a JS verifier with @noble/curves must reproduce) ----
 * r = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001.
 * Scalar: 32 bytes big-endian, canonical (< r); decoding rejects >= r.
 * Point: 48-byte compressed G1 in the ZCash format (blst = noble's toRawBytes(true)):
 *   bit 7 of byte 0 set (compressed), bit 6 set only for the identity (then all
 *   other bits zero: c0 00 .. 00), bit 5 = sign of y (lexicographically largest).
 *   Decoding checks the flags, x < p, that the point is on the curve and in the
 *   order-r subgroup; the identity is accepted (callers that must not see it
 *   check por_affine_is_identity).
 *
 * ---- generators ----
 * por_generator(label, i) = hash_to_curve(msg = label || BE32(i), DST) with the
 * RFC 9380 suite BLS12381G1_XMD:SHA-256_SSWU_RO_ and
 *   DST = "CLOISTER-POR-V1_BLS12381G1_XMD:SHA-256_SSWU_RO_"
 * (noble: bls12_381.G1.hashToCurve(msg, {DST})). Nobody knows a discrete log
 * between any two of them. Labels in use: POR_LABEL_* below and rangeproof.h.
 * Pedersen: commit(v, r) = v·G + r·H with G = gen("pedersen/G", 0),
 * H = gen("pedersen/H", 0).
 *
 * ---- transcript (Fiat–Shamir, SHA-256) ----
 * State s is 32 bytes. LP(x) = BE32(len(x)) || x.
 *   init(label):          s = SHA256("CLOISTER-POR-TRANSCRIPT-V1" || LP(label))
 *   append(label, data):  s = SHA256(s || 0x01 || LP(label) || LP(data))
 *     points are appended as their 48-byte compression, scalars as 32 bytes BE,
 *     u64 as 8 bytes BE.
 *   challenge(label) -> 64 bytes:
 *     B = s || 0x02 || LP(label);  out = SHA256(B || 0x00) || SHA256(B || 0x01);
 *     s = SHA256(B || 0x02)
 *   challenge_scalar: c = OS2IP(out) mod r (64 bytes big-endian, wide reduction);
 *     if c == 0, take another challenge with the same label (new s) and retry.
 *   challenge_short: u1 = BE64(out[0..8]), u2 = BE64(out[8..16]),
 *     u = u1 + λ·u2 mod r with λ = 0xac45a4010001a40200000000ffffffff (= z²-1,
 *     the eigenvalue of the endomorphism (x,y) -> (β·x, y)); u1 = u2 = 0 retries as
 *     above. 2^128 distinct values, and u·P costs a 64-bit double-scalar
 *     multiplication (por_point_mul_endo), which makes proving faster.
 * Labels are ASCII, no NUL. A transcript is a plain value: copy it to fork.
 *
 * Ownership: all types are plain values the caller owns; por_generators and
 * por_generator_rows return pointers into a process-wide cache that stay valid
 * until por_curve_cleanup(). Everything here is thread-safe (the cache has a
 * mutex; the rest has no shared state). */
#ifndef CLOISTER_POR_CURVE_H
#define CLOISTER_POR_CURVE_H

#include "base/base.h"

#include <blst.h>

#define POR_SCALAR_LEN 32
#define POR_POINT_LEN 48
#define POR_H2C_DST "CLOISTER-POR-V1_BLS12381G1_XMD:SHA-256_SSWU_RO_"
#define POR_LABEL_PEDERSEN_G "pedersen/G"
#define POR_LABEL_PEDERSEN_H "pedersen/H"

typedef struct {
    blst_fr fr; /* Montgomery form, always reduced */
} por_scalar;
typedef blst_p1 por_point;         /* Jacobian; all-zero Z = identity */
typedef blst_p1_affine por_affine; /* all-zero = identity */

/* ---- scalars mod r ---- */
void por_scalar_zero(por_scalar *out);
void por_scalar_one(por_scalar *out);
void por_scalar_from_u64(por_scalar *out, uint64_t x);
void por_scalar_from_i64(por_scalar *out, int64_t x); /* negative -> r - |x| */
/* Canonical 32-byte big-endian; CL_ERR_INVALID if >= r. */
cl_err por_scalar_from_bytes(por_scalar *out, const uint8_t in[POR_SCALAR_LEN]);
void por_scalar_to_bytes(uint8_t out[POR_SCALAR_LEN], const por_scalar *s);
/* The value as uint64 if it is < 2^64 (opening a commitment to a balance). */
bool por_scalar_to_u64(const por_scalar *s, uint64_t *out);
/* 64 bytes big-endian reduced mod r (hash-to-scalar; bias 2^-257). */
void por_scalar_from_wide(por_scalar *out, const uint8_t in[64]);
void por_scalar_random(por_scalar *out); /* uniform, from the OS CSPRNG */
void por_scalar_add(por_scalar *out, const por_scalar *a, const por_scalar *b);
void por_scalar_sub(por_scalar *out, const por_scalar *a, const por_scalar *b);
void por_scalar_mul(por_scalar *out, const por_scalar *a, const por_scalar *b);
void por_scalar_neg(por_scalar *out, const por_scalar *a);
void por_scalar_inv(por_scalar *out, const por_scalar *a); /* constant time; inv(0) = 0 */
/* In-place inversion of n scalars with one inversion (variable time: public
 * data only). CL_ERR_INVALID, with v untouched, if any is zero. */
cl_err por_scalar_batch_inv(por_scalar *v, size_t n);
/* The same for secret scalars: constant-time inversion, intermediates wiped. */
cl_err por_scalar_batch_inv_ct(por_scalar *v, size_t n);
bool por_scalar_eq(const por_scalar *a, const por_scalar *b);
bool por_scalar_is_zero(const por_scalar *a);
/* Wipe secrets (n scalars). */
void por_scalars_cleanse(por_scalar *v, size_t n);

/* ---- points ---- */
void por_point_identity(por_point *out);
bool por_point_is_identity(const por_point *p);
bool por_affine_is_identity(const por_affine *p);
void por_point_add(por_point *out, const por_point *a, const por_point *b);
void por_point_add_affine(por_point *out, const por_point *a, const por_affine *b);
void por_point_sub(por_point *out, const por_point *a, const por_point *b);
void por_point_double(por_point *out, const por_point *a);
void por_point_neg(por_point *out, const por_point *a);
bool por_point_eq(const por_point *a, const por_point *b);
void por_point_from_affine(por_point *out, const por_affine *a);
void por_point_to_affine(por_affine *out, const por_point *p);
void por_points_to_affine(por_affine *out, const por_point *in, size_t n); /* one inversion */
/* s·P in constant time (blst's GLV ladder over 255 bits). */
void por_point_mul(por_point *out, const por_point *p, const por_scalar *s);
/* s·P, variable time (public s only). */
void por_point_mul_vartime(por_point *out, const por_point *p, const por_scalar *s);
/* (k1 + λ·k2)·P for 64-bit k1, k2, variable time: the short challenges of
 * por_transcript_challenge_short. About half the cost of a full multiplication. */
void por_point_mul_endo(por_point *out, const por_point *p, uint64_t k1, uint64_t k2);
/* Folding generators by one public scalar, variable time: out[i] = base[i] +
 * s·p[i] for i < n (or (k1 + λ·k2)·p[i]). All n lanes share one wNAF and step in
 * lockstep in affine coordinates with one batched inversion per step: from 32
 * points on, about 1.5x (endo) to 1.65x (full) faster than n separate
 * multiplications. out may alias base (same index); p must not overlap out.
 * Points of the order-r subgroup (identity included). */
void por_points_fold_vartime(por_affine *out, const por_affine *base, const por_affine *p,
                             const por_scalar *s, size_t n);
void por_points_fold_endo(por_affine *out, const por_affine *base, const por_affine *p, uint64_t k1,
                          uint64_t k2, size_t n);
void por_point_to_bytes(uint8_t out[POR_POINT_LEN], const por_point *p);
void por_affine_to_bytes(uint8_t out[POR_POINT_LEN], const por_affine *p);
/* Untrusted input: CL_ERR_INVALID unless a valid encoding of a point of the
 * order-r subgroup (identity included). */
cl_err por_affine_from_bytes(por_affine *out, const uint8_t in[POR_POINT_LEN]);
cl_err por_point_from_bytes(por_point *out, const uint8_t in[POR_POINT_LEN]);

/* ---- generators ---- */
void por_generator(por_affine *out, const char *label, uint32_t index);
/* gen(label, 0 .. count-1), computed once per process and cached (grows on
 * demand). Never NULL (allocation failure aborts). */
const por_affine *por_generators(const char *label, size_t count);
/* The same generators with constant-time lookup tables for por_ct_msm_rows:
 * POR_CT_ROW affine points per generator, row i holding 1·g_i .. POR_CT_ROW·g_i. */
#define POR_CT_WBITS 5
#define POR_CT_ROW (1u << (POR_CT_WBITS - 1))
const por_affine *por_generator_rows(const char *label, size_t count);
const por_affine *por_pedersen_g(void);
const por_affine *por_pedersen_h(void);
/* Frees the caches (for leak checkers at exit); no pointer from them may be used after. */
void por_curve_cleanup(void);

/* ---- multi-scalar multiplication (variable time: public scalars) ---- */
/* out = Σ scalars[i]·points[i], blst's Pippenger. */
void por_msm(por_point *out, const por_affine *points, const por_scalar *scalars, size_t n);
void por_msm_ptrs(por_point *out, const por_affine *const *points, const por_scalar *scalars,
                  size_t n);
/* The same over nthreads threads: blst's Pippenger windows are shared out
 * (every thread sees all points), so the total work stays that of one thread.
 * Pays from a few thousand points; below 64 it runs single-threaded. */
void por_msm_threads(por_point *out, const por_affine *points, const por_scalar *scalars, size_t n,
                     unsigned nthreads);

/* ---- constant-time multi-scalar multiplication over tabled bases ---- */
/* out = Σ scalars[i]·base_i where rows[i] is base i's POR_CT_ROW-entry table
 * (por_generator_rows or por_ct_rows_build). Every scalar must be < 2^nbits
 * (nbits public, 1..255). Straus with shared doublings and constant-time table
 * scans: cost ~ n·(nbits+1)/5 mixed additions + nbits doublings. */
void por_ct_msm_rows(por_point *out, const por_affine *const *rows, const por_scalar *scalars,
                     size_t n, size_t nbits);
/* Builds tables for n arbitrary bases into rows (n * POR_CT_ROW entries). */
void por_ct_rows_build(por_affine *rows, const por_affine *bases, size_t n);

/* ---- Pedersen commitments (constant time, fixed-base combs for G and H) ---- */
void por_commit(por_point *out, const por_scalar *v, const por_scalar *r); /* v·G + r·H */
void por_commit_u64(por_point *out, uint64_t v, const por_scalar *r);      /* faster */
/* s·H alone, and s·G alone, constant time. */
void por_mul_h(por_point *out, const por_scalar *s);
void por_mul_g(por_point *out, const por_scalar *s);
/* Σ v[i]·base_i + r·H over tabled bases (rows as for por_ct_msm_rows); every
 * v[i] < 2^nbits. */
void por_vector_commit(por_point *out, const por_affine *const *rows, const por_scalar *v, size_t n,
                       size_t nbits, const por_scalar *r);

/* ---- transcript ---- */
typedef struct {
    uint8_t state[32];
} por_transcript;

void por_transcript_init(por_transcript *t, const char *label);
void por_transcript_append(por_transcript *t, const char *label, cl_slice data);
void por_transcript_append_u64(por_transcript *t, const char *label, uint64_t v);
void por_transcript_append_point(por_transcript *t, const char *label, const por_point *p);
void por_transcript_append_scalar(por_transcript *t, const char *label, const por_scalar *s);
void por_transcript_challenge_bytes(por_transcript *t, const char *label, uint8_t out[64]);
void por_transcript_challenge_scalar(por_transcript *t, const char *label, por_scalar *out);
/* u = k1 + λ·k2 (see above); k1, k2 returned for por_point_mul_endo. */
void por_transcript_challenge_short(por_transcript *t, const char *label, por_scalar *out,
                                    uint64_t *k1, uint64_t *k2);

#endif
