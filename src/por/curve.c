/* curve.c — scalars, G1 points, generators, MSM, Pedersen commitments and the
 * Fiat–Shamir transcript for proof of reserves (formats in curve.h).
 *
 * blst does the field and group arithmetic; this file adds what blst does not
 * offer in the shape the prover needs:
 *   - constant-time fixed-base combs for the two Pedersen bases: with 6-bit
 *     signed windows a 64-bit value costs 11 mixed additions and a 255-bit
 *     blinding 43, with no doublings (tables: 1..32 times 2^(6·i)·G for each
 *     window i, 132 KiB per base), instead of a full ladder per base;
 *   - constant-time Straus over per-base tables (por_ct_msm_rows) for the
 *     prover's secret vectors, since blst's Pippenger indexes buckets by scalar
 *     digits (fast, but its memory accesses follow the secret);
 *   - (curve_vartime.c) the variable-time paths for public scalars: the GLV
 *     endomorphism multiplication, shared-scalar generator folding and
 *     (threaded) Pippenger MSM;
 *   - a process-wide cache of hash-to-curve generators (~55 µs each on this
 *     class of core, and a range proof over 64 values needs 8192 of them).
 * Table lookups scan every entry with masks (ct_gather), digits are recoded
 * with arithmetic only, and blst's add_or_double_affine is exception-free, so
 * the constant-time paths have no secret-dependent branch or address. */
#include "por/curve_internal.h"

#include "crypto/crypto.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static void put_be32(uint8_t out[4], size_t v) {
    out[0] = (uint8_t)(v >> 24);
    out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);
    out[3] = (uint8_t)v;
}

/* ---- scalars ---- */

void por_scalar_zero(por_scalar *out) {
    memset(out, 0, sizeof *out);
}

void por_scalar_one(por_scalar *out) {
    por_scalar_from_u64(out, 1);
}

void por_scalar_from_u64(por_scalar *out, uint64_t x) {
    const uint64_t a[4] = {x, 0, 0, 0};
    blst_fr_from_uint64(&out->fr, a);
}

void por_scalar_from_i64(por_scalar *out, int64_t x) {
    uint64_t sign = (uint64_t)x >> 63;
    uint64_t mag = ((uint64_t)x ^ (0 - sign)) + sign; /* |x|, also for INT64_MIN */
    por_scalar_from_u64(out, mag);
    blst_fr_cneg(&out->fr, &out->fr, sign != 0);
}

cl_err por_scalar_from_bytes(por_scalar *out, const uint8_t in[POR_SCALAR_LEN]) {
    blst_scalar s;
    blst_scalar_from_bendian(&s, in);
    if (!blst_scalar_fr_check(&s)) return CL_ERR_INVALID;
    blst_fr_from_scalar(&out->fr, &s);
    cl_cleanse(&s, sizeof s);
    return CL_OK;
}

void por_scalar_to_bytes(uint8_t out[POR_SCALAR_LEN], const por_scalar *s) {
    blst_scalar b;
    blst_scalar_from_fr(&b, &s->fr);
    blst_bendian_from_scalar(out, &b);
    cl_cleanse(&b, sizeof b);
}

/* Canonical little-endian bytes, as blst's multiplication routines take them. */
void por_scalar_le(blst_scalar *out, const por_scalar *s) {
    blst_scalar_from_fr(out, &s->fr);
}

bool por_scalar_to_u64(const por_scalar *s, uint64_t *out) {
    uint64_t l[4];
    blst_uint64_from_fr(l, &s->fr);
    if (l[1] | l[2] | l[3]) return false;
    *out = l[0];
    return true;
}

void por_scalar_from_wide(por_scalar *out, const uint8_t in[64]) {
    blst_scalar s;
    blst_scalar_from_be_bytes(&s, in, 64);
    blst_fr_from_scalar(&out->fr, &s);
    cl_cleanse(&s, sizeof s);
}

void por_scalar_random(por_scalar *out) {
    uint8_t b[64];
    crypto_random(b, sizeof b);
    por_scalar_from_wide(out, b);
    cl_cleanse(b, sizeof b);
}

void por_scalar_add(por_scalar *out, const por_scalar *a, const por_scalar *b) {
    blst_fr_add(&out->fr, &a->fr, &b->fr);
}
void por_scalar_sub(por_scalar *out, const por_scalar *a, const por_scalar *b) {
    blst_fr_sub(&out->fr, &a->fr, &b->fr);
}
void por_scalar_mul(por_scalar *out, const por_scalar *a, const por_scalar *b) {
    blst_fr_mul(&out->fr, &a->fr, &b->fr);
}
void por_scalar_neg(por_scalar *out, const por_scalar *a) {
    blst_fr_cneg(&out->fr, &a->fr, 1);
}
void por_scalar_inv(por_scalar *out, const por_scalar *a) {
    blst_fr_inverse(&out->fr, &a->fr);
}

bool por_scalar_is_zero(const por_scalar *a) {
    uint64_t acc = 0;
    for (size_t i = 0; i < 4; i++)
        acc |= a->fr.l[i];
    return acc == 0;
}

bool por_scalar_eq(const por_scalar *a, const por_scalar *b) {
    return cl_ct_eq(a, b, sizeof *a);
}

/* Montgomery's trick: one inversion of the product. secret: constant-time
 * inversion and every intermediate wiped; a zero is found from the product
 * (no branch per element). */
static cl_err batch_inv(por_scalar *v, size_t n, bool secret) {
    if (n == 0) return CL_OK;
    por_scalar *pre = cl_malloc(n * sizeof *pre);
    por_scalar acc, inv, t;
    por_scalar_one(&acc);
    for (size_t i = 0; i < n; i++) {
        pre[i] = acc; /* product of v[0..i) */
        por_scalar_mul(&acc, &acc, &v[i]);
    }
    cl_err e = CL_ERR_INVALID;
    if (!por_scalar_is_zero(&acc)) {
        if (secret)
            blst_fr_inverse(&inv.fr, &acc.fr);
        else
            blst_fr_eucl_inverse(&inv.fr, &acc.fr);
        for (size_t i = n; i-- > 0;) {
            por_scalar_mul(&t, &inv, &pre[i]); /* 1 / v[i] */
            por_scalar_mul(&inv, &inv, &v[i]);
            v[i] = t;
        }
        e = CL_OK;
    }
    if (secret) {
        por_scalars_cleanse(pre, n);
        por_scalars_cleanse(&acc, 1);
        por_scalars_cleanse(&inv, 1);
        por_scalars_cleanse(&t, 1);
    }
    free(pre);
    return e;
}

cl_err por_scalar_batch_inv(por_scalar *v, size_t n) {
    return batch_inv(v, n, false);
}

cl_err por_scalar_batch_inv_ct(por_scalar *v, size_t n) {
    return batch_inv(v, n, true);
}

void por_scalars_cleanse(por_scalar *v, size_t n) {
    if (v) cl_cleanse(v, n * sizeof *v);
}

/* ---- points ---- */

void por_point_identity(por_point *out) {
    memset(out, 0, sizeof *out);
}
bool por_point_is_identity(const por_point *p) {
    return blst_p1_is_inf(p);
}
bool por_affine_is_identity(const por_affine *p) {
    return blst_p1_affine_is_inf(p);
}
void por_point_add(por_point *out, const por_point *a, const por_point *b) {
    blst_p1_add_or_double(out, a, b);
}
void por_point_add_affine(por_point *out, const por_point *a, const por_affine *b) {
    blst_p1_add_or_double_affine(out, a, b);
}
void por_point_sub(por_point *out, const por_point *a, const por_point *b) {
    por_point nb = *b;
    blst_p1_cneg(&nb, 1);
    blst_p1_add_or_double(out, a, &nb);
}
void por_point_double(por_point *out, const por_point *a) {
    blst_p1_double(out, a);
}
void por_point_neg(por_point *out, const por_point *a) {
    *out = *a;
    blst_p1_cneg(out, 1);
}
bool por_point_eq(const por_point *a, const por_point *b) {
    return blst_p1_is_equal(a, b);
}
void por_point_from_affine(por_point *out, const por_affine *a) {
    blst_p1_from_affine(out, a);
}
void por_point_to_affine(por_affine *out, const por_point *p) {
    blst_p1_to_affine(out, p);
}

void por_points_to_affine(por_affine *out, const por_point *in, size_t n) {
    if (n == 0) return;
    /* blst's batch conversion reads a NULL-free array of pointers; the identity
     * would poison the shared inversion, so those are done apart. */
    const por_point **ptrs = cl_malloc(n * sizeof *ptrs);
    size_t *idx = cl_malloc(n * sizeof *idx);
    por_affine *tmp = cl_malloc(n * sizeof *tmp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (blst_p1_is_inf(&in[i])) continue;
        ptrs[k] = &in[i];
        idx[k++] = i;
    }
    if (k) blst_p1s_to_affine(tmp, ptrs, k);
    memset(out, 0, n * sizeof *out);
    for (size_t j = 0; j < k; j++)
        out[idx[j]] = tmp[j];
    free(ptrs);
    free(idx);
    free(tmp);
}

void por_point_mul(por_point *out, const por_point *p, const por_scalar *s) {
    blst_scalar b;
    por_scalar_le(&b, s);
    blst_p1_mult(out, p, b.b, 255);
    cl_cleanse(&b, sizeof b);
}

size_t por_scalar_nbits(const blst_scalar *b) {
    for (size_t i = 32; i-- > 0;)
        if (b->b[i]) return i * 8 + (size_t)(32 - __builtin_clz((unsigned)b->b[i]));
    return 0;
}

void por_point_mul_vartime(por_point *out, const por_point *p, const por_scalar *s) {
    blst_scalar b;
    por_scalar_le(&b, s);
    size_t nbits = por_scalar_nbits(&b);
    if (nbits == 0) {
        por_point_identity(out);
        return;
    }
    blst_p1_mult(out, p, b.b, nbits); /* GLV above 176 bits, which beats wNAF */
}

void por_point_to_bytes(uint8_t out[POR_POINT_LEN], const por_point *p) {
    blst_p1_compress(out, p);
}
void por_affine_to_bytes(uint8_t out[POR_POINT_LEN], const por_affine *p) {
    blst_p1_affine_compress(out, p);
}

cl_err por_affine_from_bytes(por_affine *out, const uint8_t in[POR_POINT_LEN]) {
    /* blst checks the flag bits, x < p, the identity's all-zero body and that
     * the point is on the curve; the subgroup check is ours to ask for. */
    if (blst_p1_uncompress(out, in) != BLST_SUCCESS) return CL_ERR_INVALID;
    if (!blst_p1_affine_in_g1(out)) return CL_ERR_INVALID;
    return CL_OK;
}

cl_err por_point_from_bytes(por_point *out, const uint8_t in[POR_POINT_LEN]) {
    por_affine a;
    CL_TRY(por_affine_from_bytes(&a, in));
    blst_p1_from_affine(out, &a);
    return CL_OK;
}

/* ---- one-time constants: the endomorphism and the Pedersen combs ---- */

/* β: the cube root of unity in Fp for which (β·x, y) = λ·(x, y) on G1 with
 * λ = z² - 1 (checked by the unit tests against a plain multiplication). */
static const uint8_t BETA_BE[48] = {
    0x1a, 0x01, 0x11, 0xea, 0x39, 0x7f, 0xe6, 0x99, 0xec, 0x02, 0x40, 0x86, 0x63, 0xd4, 0xde, 0x85,
    0xaa, 0x0d, 0x85, 0x7d, 0x89, 0x75, 0x9a, 0xd4, 0x89, 0x7d, 0x29, 0x65, 0x0f, 0xb8, 0x5f, 0x9b,
    0x40, 0x94, 0x27, 0xeb, 0x4f, 0x49, 0xff, 0xfd, 0x8b, 0xfd, 0x00, 0x00, 0x00, 0x00, 0xaa, 0xac};
const uint64_t POR_LAMBDA_LIMBS[4] = {0x00000000ffffffffull, 0xac45a4010001a402ull, 0, 0};

/* Comb for a fixed base P: window i holds 1..2^(w-1) times 2^(w·i)·P. */
#define COMB_W 6
#define COMB_ROW (1u << (COMB_W - 1))
#define COMB_WIN_FULL ((256 + COMB_W - 1) / COMB_W) /* 255-bit scalars + carry */
#define COMB_WIN_64 ((65 + COMB_W - 1) / COMB_W)

typedef struct {
    por_affine base;
    por_affine rows[COMB_WIN_FULL * COMB_ROW];
} comb_table;

static struct {
    pthread_once_t once;
    blst_fp beta;
    por_scalar lambda;
    comb_table *g, *h;
} K = {.once = PTHREAD_ONCE_INIT};

static void rows_build(por_affine *rows, unsigned wbits, const por_affine *bases, size_t n) {
    const por_affine **ptrs = cl_malloc(n * sizeof *ptrs);
    for (size_t i = 0; i < n; i++)
        ptrs[i] = &bases[i];
    blst_p1s_mult_wbits_precompute(rows, wbits, ptrs, n);
    free(ptrs);
}

static comb_table *comb_new(const char *label) {
    comb_table *c = cl_malloc(sizeof *c);
    por_generator(&c->base, label, 0);
    por_point pts[COMB_WIN_FULL];
    por_affine aff[COMB_WIN_FULL];
    blst_p1_from_affine(&pts[0], &c->base);
    for (size_t i = 1; i < COMB_WIN_FULL; i++) {
        pts[i] = pts[i - 1];
        for (int k = 0; k < COMB_W; k++)
            blst_p1_double(&pts[i], &pts[i]);
    }
    por_points_to_affine(aff, pts, COMB_WIN_FULL);
    rows_build(c->rows, COMB_W, aff, COMB_WIN_FULL);
    return c;
}

static void constants_init(void) {
    blst_fp_from_bendian(&K.beta, BETA_BE);
    blst_fr_from_uint64(&K.lambda.fr, POR_LAMBDA_LIMBS);
    K.g = comb_new(POR_LABEL_PEDERSEN_G);
    K.h = comb_new(POR_LABEL_PEDERSEN_H);
}

static void constants(void) {
    pthread_once(&K.once, constants_init);
}

const blst_fp *por_curve_beta(void) {
    constants();
    return &K.beta;
}

const por_affine *por_pedersen_g(void) {
    constants();
    return &K.g->base;
}
const por_affine *por_pedersen_h(void) {
    constants();
    return &K.h->base;
}

/* ---- constant-time digit recoding and table lookup ---- */

/* Signed radix-2^w digits d[0..nwin) of a 256-bit little-endian scalar:
 * k = Σ d[i]·2^(w·i), |d[i]| <= 2^(w-1). Arithmetic only (no branch on bits);
 * nwin·w must be at least (bits of k) + 1 so the top digit takes the carry. */
static void recode(int8_t *d, size_t nwin, const uint8_t le[32], unsigned w) {
    uint8_t buf[40] = {0};
    memcpy(buf, le, 32);
    uint32_t carry = 0, mask = (1u << w) - 1;
    for (size_t i = 0; i < nwin; i++) {
        size_t b = i * w;
        uint32_t raw = (((uint32_t)buf[b / 8] | (uint32_t)buf[b / 8 + 1] << 8) >> (b % 8)) & mask;
        raw += carry;
        carry = (raw + (1u << (w - 1)) - 1) >> w;
        d[i] = (int8_t)((int32_t)raw - (int32_t)(carry << w));
    }
    cl_cleanse(buf, sizeof buf);
}

/* out = sign(d)·row[|d|-1] (identity for 0), reading every entry of the row. */
static void ct_gather(por_affine *out, const por_affine *row, size_t nrow, int8_t d) {
    uint64_t sign = (uint64_t)(uint8_t)d >> 7;
    uint64_t mag = (uint64_t)(uint8_t)(((uint8_t)d ^ (uint8_t)(0 - sign)) + sign);
    uint64_t acc[sizeof(por_affine) / 8] = {0};
    for (size_t j = 0; j < nrow; j++) {
        uint64_t x = (j + 1) ^ mag;
        uint64_t mask = ((x | (0 - x)) >> 63) - 1; /* all ones iff x == 0 */
        __asm__("" : "+r"(mask));                  /* keep the compiler from branching */
        const uint64_t *e = (const uint64_t *)&row[j];
        for (size_t l = 0; l < sizeof acc / 8; l++)
            acc[l] |= e[l] & mask;
    }
    memcpy(out, acc, sizeof *out);
    blst_fp_cneg(&out->y, &out->y, sign != 0);
    cl_cleanse(acc, sizeof acc);
}

static void comb_mul_add(por_point *acc, const comb_table *c, const uint8_t le[32], size_t nwin) {
    int8_t d[COMB_WIN_FULL];
    por_affine q;
    recode(d, nwin, le, COMB_W);
    for (size_t i = 0; i < nwin; i++) {
        ct_gather(&q, &c->rows[i * COMB_ROW], COMB_ROW, d[i]);
        blst_p1_add_or_double_affine(acc, acc, &q);
    }
    cl_cleanse(d, sizeof d);
    cl_cleanse(&q, sizeof q);
}

static void comb_mul_scalar(por_point *acc, const comb_table *c, const por_scalar *s) {
    blst_scalar b;
    por_scalar_le(&b, s);
    comb_mul_add(acc, c, b.b, COMB_WIN_FULL);
    cl_cleanse(&b, sizeof b);
}

void por_mul_g(por_point *out, const por_scalar *s) {
    constants();
    por_point_identity(out);
    comb_mul_scalar(out, K.g, s);
}

void por_mul_h(por_point *out, const por_scalar *s) {
    constants();
    por_point_identity(out);
    comb_mul_scalar(out, K.h, s);
}

void por_commit(por_point *out, const por_scalar *v, const por_scalar *r) {
    constants();
    por_point_identity(out);
    comb_mul_scalar(out, K.g, v);
    comb_mul_scalar(out, K.h, r);
}

void por_commit_u64(por_point *out, uint64_t v, const por_scalar *r) {
    constants();
    uint8_t le[32] = {0};
    for (int i = 0; i < 8; i++)
        le[i] = (uint8_t)(v >> (8 * i));
    por_point_identity(out);
    comb_mul_add(out, K.g, le, COMB_WIN_64);
    comb_mul_scalar(out, K.h, r);
    cl_cleanse(le, sizeof le);
}

void por_ct_rows_build(por_affine *rows, const por_affine *bases, size_t n) {
    if (n) rows_build(rows, POR_CT_WBITS, bases, n);
}

void por_ct_msm_rows(por_point *out, const por_affine *const *rows, const por_scalar *scalars,
                     size_t n, size_t nbits) {
    por_point_identity(out);
    if (n == 0) return;
    if (nbits < 1 || nbits > 255) nbits = 255;
    size_t nwin = (nbits + 1 + POR_CT_WBITS - 1) / POR_CT_WBITS;
    int8_t *d = cl_malloc(n * nwin);
    blst_scalar b;
    for (size_t i = 0; i < n; i++) {
        por_scalar_le(&b, &scalars[i]);
        recode(&d[i * nwin], nwin, b.b, POR_CT_WBITS);
    }
    cl_cleanse(&b, sizeof b);
    por_affine q;
    for (size_t w = nwin; w-- > 0;) {
        if (w != nwin - 1)
            for (int k = 0; k < POR_CT_WBITS; k++)
                blst_p1_double(out, out);
        for (size_t i = 0; i < n; i++) {
            ct_gather(&q, rows[i], POR_CT_ROW, d[i * nwin + w]);
            blst_p1_add_or_double_affine(out, out, &q);
        }
    }
    cl_cleanse(&q, sizeof q);
    cl_cleanse(d, n * nwin);
    free(d);
}

void por_vector_commit(por_point *out, const por_affine *const *rows, const por_scalar *v, size_t n,
                       size_t nbits, const por_scalar *r) {
    constants();
    por_ct_msm_rows(out, rows, v, n, nbits);
    comb_mul_scalar(out, K.h, r);
}

/* ---- generators ---- */

/* gen(label, index) in Jacobian form (callers batch the affine conversion). */
static void hash_generator(por_point *out, const char *label, uint32_t index) {
    size_t ll = strlen(label);
    uint8_t *msg = cl_malloc(ll + 4);
    memcpy(msg, label, ll);
    put_be32(msg + ll, index);
    blst_hash_to_g1(out, msg, ll + 4, (const byte *)POR_H2C_DST, strlen(POR_H2C_DST), NULL, 0);
    free(msg);
}

void por_generator(por_affine *out, const char *label, uint32_t index) {
    por_point p;
    hash_generator(&p, label, index);
    blst_p1_to_affine(out, &p);
}

/* One cache entry per label. Arrays only grow: a bigger request builds new
 * arrays and retires the old ones (kept until cleanup), so a pointer handed out
 * earlier stays valid while another thread grows the cache. */
typedef struct gen_cache {
    char *label;
    por_affine *pts, *rows;
    size_t npts, nrows;
    struct gen_cache *next;
} gen_cache;

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static gen_cache *caches;
static void **retired;
static size_t nretired, capretired;

static void retire(void *p) {
    if (!p) return;
    if (nretired == capretired) {
        capretired = capretired ? 2 * capretired : 16;
        retired = cl_realloc(retired, capretired * sizeof *retired);
    }
    retired[nretired++] = p;
}

static gen_cache *cache_entry(const char *label) {
    for (gen_cache *c = caches; c; c = c->next)
        if (strcmp(c->label, label) == 0) return c;
    gen_cache *c = cl_calloc(1, sizeof *c);
    c->label = cl_strdup(label);
    c->next = caches;
    caches = c;
    return c;
}

static void cache_grow_points(gen_cache *c, size_t count) {
    if (count <= c->npts) return;
    size_t n = count > 2 * c->npts ? count : 2 * c->npts;
    por_affine *pts = cl_malloc(n * sizeof *pts);
    if (c->npts) memcpy(pts, c->pts, c->npts * sizeof *pts);
    por_point *jac = cl_malloc((n - c->npts) * sizeof *jac);
    for (size_t i = c->npts; i < n; i++)
        hash_generator(&jac[i - c->npts], c->label, (uint32_t)i);
    por_points_to_affine(&pts[c->npts], jac, n - c->npts);
    free(jac);
    retire(c->pts);
    c->pts = pts;
    c->npts = n;
}

const por_affine *por_generators(const char *label, size_t count) {
    pthread_mutex_lock(&cache_mu);
    gen_cache *c = cache_entry(label);
    cache_grow_points(c, count);
    const por_affine *p = c->pts;
    pthread_mutex_unlock(&cache_mu);
    return p;
}

const por_affine *por_generator_rows(const char *label, size_t count) {
    pthread_mutex_lock(&cache_mu);
    gen_cache *c = cache_entry(label);
    if (count > c->nrows) {
        cache_grow_points(c, count);
        size_t n = c->npts; /* table every cached point */
        por_affine *rows = cl_malloc(n * POR_CT_ROW * sizeof *rows);
        if (c->nrows) memcpy(rows, c->rows, c->nrows * POR_CT_ROW * sizeof *rows);
        rows_build(&rows[c->nrows * POR_CT_ROW], POR_CT_WBITS, &c->pts[c->nrows], n - c->nrows);
        retire(c->rows);
        c->rows = rows;
        c->nrows = n;
    }
    const por_affine *r = c->rows;
    pthread_mutex_unlock(&cache_mu);
    return r;
}

void por_curve_cleanup(void) {
    pthread_mutex_lock(&cache_mu);
    while (caches) {
        gen_cache *c = caches;
        caches = c->next;
        free(c->label);
        free(c->pts);
        free(c->rows);
        free(c);
    }
    for (size_t i = 0; i < nretired; i++)
        free(retired[i]);
    free(retired);
    retired = NULL;
    nretired = capretired = 0;
    pthread_mutex_unlock(&cache_mu);
}

/* ---- transcript ---- */

#define TRANSCRIPT_DOMAIN "CLOISTER-POR-TRANSCRIPT-V1"

static void update_lp(crypto_sha256_ctx *c, cl_slice s) {
    uint8_t len[4];
    put_be32(len, s.len);
    crypto_sha256_update(c, slice_of(len, 4));
    crypto_sha256_update(c, s);
}

void por_transcript_init(por_transcript *t, const char *label) {
    crypto_sha256_ctx *c = crypto_sha256_new();
    crypto_sha256_update(c, slice_cstr(TRANSCRIPT_DOMAIN));
    update_lp(c, slice_cstr(label));
    crypto_sha256_final(c, t->state);
}

void por_transcript_append(por_transcript *t, const char *label, cl_slice data) {
    static const uint8_t tag = 0x01;
    crypto_sha256_ctx *c = crypto_sha256_new();
    crypto_sha256_update(c, slice_of(t->state, sizeof t->state));
    crypto_sha256_update(c, slice_of(&tag, 1));
    update_lp(c, slice_cstr(label));
    update_lp(c, data);
    crypto_sha256_final(c, t->state);
}

void por_transcript_append_u64(por_transcript *t, const char *label, uint64_t v) {
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (56 - 8 * i));
    por_transcript_append(t, label, slice_of(b, sizeof b));
}

void por_transcript_append_point(por_transcript *t, const char *label, const por_point *p) {
    uint8_t b[POR_POINT_LEN];
    por_point_to_bytes(b, p);
    por_transcript_append(t, label, slice_of(b, sizeof b));
}

void por_transcript_append_scalar(por_transcript *t, const char *label, const por_scalar *s) {
    uint8_t b[POR_SCALAR_LEN];
    por_scalar_to_bytes(b, s);
    por_transcript_append(t, label, slice_of(b, sizeof b));
}

void por_transcript_challenge_bytes(por_transcript *t, const char *label, uint8_t out[64]) {
    static const uint8_t tag = 0x02;
    for (uint8_t k = 0; k < 3; k++) {
        crypto_sha256_ctx *c = crypto_sha256_new();
        crypto_sha256_update(c, slice_of(t->state, sizeof t->state));
        crypto_sha256_update(c, slice_of(&tag, 1));
        update_lp(c, slice_cstr(label));
        crypto_sha256_update(c, slice_of(&k, 1));
        if (k < 2)
            crypto_sha256_final(c, out + 32 * k);
        else
            crypto_sha256_final(c, t->state); /* after both outputs: they read the old state */
    }
}

void por_transcript_challenge_scalar(por_transcript *t, const char *label, por_scalar *out) {
    uint8_t b[64];
    do {
        por_transcript_challenge_bytes(t, label, b);
        por_scalar_from_wide(out, b);
    } while (por_scalar_is_zero(out));
}

void por_transcript_challenge_short(por_transcript *t, const char *label, por_scalar *out,
                                    uint64_t *k1, uint64_t *k2) {
    constants();
    uint8_t b[64];
    uint64_t a, c;
    do {
        por_transcript_challenge_bytes(t, label, b);
        a = c = 0;
        for (int i = 0; i < 8; i++) {
            a = a << 8 | b[i];
            c = c << 8 | b[8 + i];
        }
    } while ((a | c) == 0);
    por_scalar s1, s2;
    por_scalar_from_u64(&s1, a);
    por_scalar_from_u64(&s2, c);
    por_scalar_mul(&s2, &s2, &K.lambda);
    por_scalar_add(out, &s1, &s2);
    *k1 = a;
    *k2 = c;
}
