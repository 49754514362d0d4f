/* protocol.c — the arithmetic and hashing of `cloister-por-v1` that prover and
 * verifiers share (docs/por.md §2–§5): tagged hashes, leaf and node hashes,
 * the statement digest, exact 256-bit equity sums, the equity link proof, and
 * the parallel-for the heavy phases run on.
 *
 * The link proof is written once here for both sides so the transcript order
 * (statement → ρ → A1, A2 → c) cannot drift between them. Secrets that pass
 * through here (the link proof's witness and masks) are used only in
 * constant-time arithmetic and wiped before returning. */
#include "por/protocol.h"

#include "por/rangeproof.h"

#include "crypto/crypto.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- hashes ---- */

void por_ht(const char *tag, const cl_slice *parts, size_t nparts, uint8_t out[POR_HASH_LEN]) {
    crypto_sha256_ctx *c = crypto_sha256_new();
    uint8_t tl = (uint8_t)strlen(tag);
    crypto_sha256_update(c, slice_of(&tl, 1));
    crypto_sha256_update(c, slice_of(tag, tl));
    for (size_t i = 0; i < nparts; i++)
        if (parts[i].len) crypto_sha256_update(c, parts[i]);
    crypto_sha256_final(c, out);
}

void por_hs(const char *tag, cl_slice x, por_scalar *out) {
    uint8_t wide[64], b0 = 0, b1 = 1;
    cl_slice p0[2] = {x, slice_of(&b0, 1)}, p1[2] = {x, slice_of(&b1, 1)};
    por_ht(tag, p0, 2, wide);
    por_ht(tag, p1, 2, wide + 32);
    por_scalar_from_wide(out, wide);
    cl_cleanse(wide, sizeof wide);
}

void por_leaf_blindings(const uint8_t nonce[POR_NONCE_LEN], por_scalar *eta, por_scalar *gamma) {
    if (eta) por_hs(POR_TAG_BLINDING, slice_of(nonce, POR_NONCE_LEN), eta);
    if (gamma) por_hs(POR_TAG_EQ_BLINDING, slice_of(nonce, POR_NONCE_LEN), gamma);
}

void por_leaf_id(const uint8_t *user_hash, size_t len, const uint8_t nonce[POR_NONCE_LEN],
                 uint8_t out[POR_HASH_LEN]) {
    uint8_t l = (uint8_t)len;
    cl_slice p[3] = {slice_of(&l, 1), slice_of(user_hash, len), slice_of(nonce, POR_NONCE_LEN)};
    por_ht(POR_TAG_LEAF_ID, p, 3, out);
}

void por_leaf_hash(const uint8_t id[POR_HASH_LEN], const uint8_t L[POR_POINT_LEN],
                   const uint8_t V[POR_POINT_LEN], uint8_t out[POR_HASH_LEN]) {
    cl_slice p[3] = {slice_of(id, POR_HASH_LEN), slice_of(L, POR_POINT_LEN),
                     slice_of(V, POR_POINT_LEN)};
    por_ht(POR_TAG_LEAF, p, 3, out);
}

void por_node_hash(const uint8_t hl[POR_HASH_LEN], const uint8_t Cl[POR_POINT_LEN],
                   const uint8_t hr[POR_HASH_LEN], const uint8_t Cr[POR_POINT_LEN],
                   uint8_t out[POR_HASH_LEN]) {
    cl_slice p[4] = {slice_of(hl, POR_HASH_LEN), slice_of(Cl, POR_POINT_LEN),
                     slice_of(hr, POR_HASH_LEN), slice_of(Cr, POR_POINT_LEN)};
    por_ht(POR_TAG_NODE, p, 4, out);
}

static void asset_label(char out[64], const char *symbol) {
    snprintf(out, 64, "%s%s", POR_ASSET_LABEL_PREFIX, symbol);
}

const por_affine *por_asset_generator(const char *symbol) {
    char label[64];
    asset_label(label, symbol);
    return por_generators(label, 1);
}

const por_affine *por_asset_row(const char *symbol) {
    char label[64];
    asset_label(label, symbol);
    return por_generator_rows(label, 1);
}

/* ---- integers ---- */

void por_scalar_from_i128(por_scalar *out, por_i128 v) {
    unsigned __int128 mag = v < 0 ? -(unsigned __int128)v : (unsigned __int128)v;
    por_scalar hi, lo, two64;
    por_scalar_from_u64(&hi, (uint64_t)(mag >> 64));
    por_scalar_from_u64(&lo, (uint64_t)mag);
    por_scalar_from_u64(&two64, (uint64_t)1 << 32);
    por_scalar_mul(&two64, &two64, &two64);
    por_scalar_mul(&hi, &hi, &two64);
    por_scalar_add(out, &hi, &lo);
    if (v < 0) por_scalar_neg(out, out);
}

bool por_dec_parse_i128(const char *s, por_i128 lo, por_i128 hi, por_i128 *out) {
    if (!s) return false;
    bool neg = s[0] == '-';
    const char *p = s + neg;
    if (!*p || (p[0] == '0' && (p[1] || neg))) return false;
    const unsigned __int128 lim = ((unsigned __int128)1 << 127) - (neg ? 0 : 1);
    unsigned __int128 v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9') return false;
        unsigned d = (unsigned)(*p - '0');
        if (v > (lim - d) / 10) return false;
        v = v * 10 + d;
    }
    por_i128 r = neg ? (por_i128)(-v) : (por_i128)v; /* -2^127 wraps to itself */
    if (r < lo || r > hi) return false;
    *out = r;
    return true;
}

void por_i256_zero(por_i256 *a) {
    memset(a, 0, sizeof *a);
}

static void i256_neg(uint64_t w[4]) {
    unsigned carry = 1;
    for (int i = 0; i < 4; i++) {
        uint64_t x = ~w[i];
        w[i] = x + carry;
        carry = carry && w[i] == 0;
    }
}

void por_i256_add_mul(por_i256 *acc, por_i128 x, por_i128 y) {
    bool neg = (x < 0) != (y < 0);
    unsigned __int128 a = x < 0 ? -(unsigned __int128)x : (unsigned __int128)x;
    unsigned __int128 b = y < 0 ? -(unsigned __int128)y : (unsigned __int128)y;
    uint64_t a0 = (uint64_t)a, a1 = (uint64_t)(a >> 64), b0 = (uint64_t)b, b1 = (uint64_t)(b >> 64);
    unsigned __int128 p00 = (unsigned __int128)a0 * b0, p01 = (unsigned __int128)a0 * b1;
    unsigned __int128 p10 = (unsigned __int128)a1 * b0, p11 = (unsigned __int128)a1 * b1;
    uint64_t p[4];
    p[0] = (uint64_t)p00;
    unsigned __int128 mid = (p00 >> 64) + (uint64_t)p01 + (uint64_t)p10;
    p[1] = (uint64_t)mid;
    unsigned __int128 hi = (mid >> 64) + (p01 >> 64) + (p10 >> 64) + (uint64_t)p11;
    p[2] = (uint64_t)hi;
    p[3] = (uint64_t)(hi >> 64) + (uint64_t)(p11 >> 64);
    if (neg) i256_neg(p);
    unsigned __int128 c = 0;
    for (int i = 0; i < 4; i++) {
        c += (unsigned __int128)acc->w[i] + p[i];
        acc->w[i] = (uint64_t)c;
        c >>= 64;
    }
}

bool por_i256_is_negative(const por_i256 *a) {
    return (a->w[3] >> 63) != 0;
}

bool por_i256_to_u64(const por_i256 *a, uint64_t *out) {
    if (a->w[1] | a->w[2] | a->w[3]) return false;
    *out = a->w[0];
    return true;
}

void por_i256_format(const por_i256 *a, char out[80]) {
    uint64_t w[4];
    memcpy(w, a->w, sizeof w);
    bool neg = por_i256_is_negative(a);
    if (neg) i256_neg(w);
    char tmp[80];
    size_t n = 0;
    const uint64_t base = 10000000000000000000ull; /* 10^19 */
    do {
        unsigned __int128 rem = 0;
        for (int i = 3; i >= 0; i--) {
            unsigned __int128 cur = (rem << 64) | w[i];
            w[i] = (uint64_t)(cur / base);
            rem = cur % base;
        }
        uint64_t chunk = (uint64_t)rem;
        bool more = w[0] | w[1] | w[2] | w[3];
        for (int d = 0; d < 19 && (more || chunk || d == 0); d++) {
            tmp[n++] = (char)('0' + chunk % 10);
            chunk /= 10;
        }
        if (!more) break;
    } while (1);
    size_t o = 0;
    if (neg) out[o++] = '-';
    while (n)
        out[o++] = tmp[--n];
    out[o] = 0;
}

por_equity_class por_equity(const por_i128 *weights, const int64_t *balances, size_t n,
                            uint64_t *e64, char text[80]) {
    por_i256 acc;
    por_i256_zero(&acc);
    for (size_t a = 0; a < n; a++)
        por_i256_add_mul(&acc, weights[a], balances[a]);
    if (text) por_i256_format(&acc, text);
    uint64_t v = 0;
    por_equity_class c = por_i256_is_negative(&acc)   ? POR_EQUITY_NEGATIVE
                         : !por_i256_to_u64(&acc, &v) ? POR_EQUITY_TOO_LARGE
                                                      : POR_EQUITY_OK;
    if (e64) *e64 = v;
    cl_cleanse(&acc, sizeof acc);
    return c;
}

/* ---- statement ---- */

static void put_be(cl_buf *b, uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; i--)
        buf_append_byte(b, (uint8_t)(v >> (8 * i)));
}

void por_statement_digest(const por_statement *s, uint8_t out[POR_HASH_LEN]) {
    cl_buf b = CL_BUF_INIT;
    put_be(&b, s->timestamp, 8);
    put_be(&b, s->depth, 1);
    put_be(&b, s->range_bits, 2);
    put_be(&b, s->batch, 2);
    put_be(&b, s->nassets, 2);
    for (size_t a = 0; a < s->nassets; a++) {
        const por_stmt_asset *x = &s->assets[a];
        size_t l = strlen(x->symbol);
        put_be(&b, l, 1);
        buf_append(&b, x->symbol, l);
        put_be(&b, x->usdt_decimals, 1);
        put_be(&b, x->balance_decimals, 1);
        put_be(&b, (uint64_t)x->price, 8);
        unsigned __int128 t = (unsigned __int128)x->total; /* two's complement */
        put_be(&b, (uint64_t)(t >> 64), 8);
        put_be(&b, (uint64_t)t, 8);
    }
    buf_append(&b, s->total_blinding, POR_SCALAR_LEN);
    buf_append(&b, s->root_hash, POR_HASH_LEN);
    buf_append(&b, s->root_commitment, POR_POINT_LEN);
    cl_slice p = buf_slice(&b);
    por_ht(POR_TAG_STATEMENT, &p, 1, out);
    buf_free(&b);
}

void por_statement_total_equity(const por_stmt_asset *a, size_t n, char out[80], bool *negative) {
    por_i256 acc;
    por_i256_zero(&acc);
    for (size_t i = 0; i < n; i++)
        por_i256_add_mul(&acc, a[i].weight, a[i].total);
    por_i256_format(&acc, out);
    if (negative) *negative = por_i256_is_negative(&acc);
}

void por_statement_free(por_statement *s) {
    if (!s) return;
    free(s->assets);
    free(s->link_proof);
    memset(s, 0, sizeof *s);
}

/* ---- equity link proof (§5) ---- */

size_t por_link_proof_size(size_t nassets) {
    return 2 * POR_POINT_LEN + POR_SCALAR_LEN * (nassets + 2);
}

static void link_start(por_transcript *t, const uint8_t stmt[POR_HASH_LEN], por_scalar *rho) {
    por_transcript_init(t, POR_TR_LINK);
    por_transcript_append(t, "statement", slice_of(stmt, POR_HASH_LEN));
    por_transcript_challenge_scalar(t, "rho", rho);
}

void por_link_rho(const uint8_t stmt[POR_HASH_LEN], por_scalar *rho) {
    por_transcript t;
    link_start(&t, stmt, rho);
}

void por_link_prove(const uint8_t stmt[POR_HASH_LEN], const por_stmt_asset *assets, size_t n,
                    const por_scalar *x, const por_scalar *x_eta, const por_scalar *x_gamma,
                    uint8_t *proof) {
    por_transcript t;
    por_scalar rho, c, kw, w, tmp;
    link_start(&t, stmt, &rho);
    por_scalar *k = cl_malloc((n + 2) * sizeof *k); /* k_1..k_n, k_eta, k_gamma */
    const por_affine **rows = cl_malloc(n * sizeof *rows);
    for (size_t a = 0; a < n + 2; a++)
        por_scalar_random(&k[a]);
    por_scalar_zero(&kw);
    for (size_t a = 0; a < n; a++) {
        rows[a] = por_asset_row(assets[a].symbol);
        por_scalar_from_i128(&w, assets[a].weight);
        por_scalar_mul(&tmp, &w, &k[a]);
        por_scalar_add(&kw, &kw, &tmp);
    }
    por_point A1, A2;
    por_vector_commit(&A1, rows, k, n, 255, &k[n]);
    por_commit(&A2, &kw, &k[n + 1]);
    por_transcript_append_point(&t, "A1", &A1);
    por_transcript_append_point(&t, "A2", &A2);
    por_transcript_challenge_scalar(&t, "c", &c);
    por_point_to_bytes(proof, &A1);
    por_point_to_bytes(proof + POR_POINT_LEN, &A2);
    uint8_t *s = proof + 2 * POR_POINT_LEN;
    for (size_t a = 0; a < n + 2; a++) {
        const por_scalar *xa = a < n ? &x[a] : (a == n ? x_eta : x_gamma);
        por_scalar_mul(&tmp, &c, xa);
        por_scalar_add(&tmp, &tmp, &k[a]);
        por_scalar_to_bytes(s + POR_SCALAR_LEN * a, &tmp);
    }
    por_scalars_cleanse(k, n + 2);
    por_scalars_cleanse(&kw, 1);
    por_scalars_cleanse(&tmp, 1);
    free(k);
    free(rows);
}

cl_err por_link_verify(const uint8_t stmt[POR_HASH_LEN], const por_stmt_asset *assets, size_t n,
                       const por_affine *L, const por_affine *V, uint64_t N, cl_slice proof,
                       unsigned threads) {
    if (proof.len != por_link_proof_size(n) || N == 0) return CL_ERR_INVALID;
    por_point A1, A2;
    if (por_point_from_bytes(&A1, proof.ptr) != CL_OK ||
        por_point_from_bytes(&A2, proof.ptr + POR_POINT_LEN) != CL_OK)
        return CL_ERR_INVALID;
    por_scalar *s = cl_malloc((n + 2) * sizeof *s);
    for (size_t a = 0; a < n + 2; a++)
        if (por_scalar_from_bytes(&s[a], proof.ptr + 2 * POR_POINT_LEN + POR_SCALAR_LEN * a) !=
            CL_OK) {
            free(s);
            return CL_ERR_INVALID;
        }
    por_transcript t;
    por_scalar rho, c;
    link_start(&t, stmt, &rho);
    por_transcript_append_point(&t, "A1", &A1);
    por_transcript_append_point(&t, "A2", &A2);
    por_transcript_challenge_scalar(&t, "c", &c);

    por_scalar *rp = cl_malloc(N * sizeof *rp);
    rp[0] = rho;
    for (uint64_t i = 1; i < N; i++)
        por_scalar_mul(&rp[i], &rp[i - 1], &rho);
    por_point Ls, Vs;
    por_msm_threads(&Ls, L, rp, N, threads);
    por_msm_threads(&Vs, V, rp, N, threads);
    free(rp);

    /* Σ s_a G_a + s_η H == A1 + c·L* */
    const por_affine **pts = cl_malloc((n + 1) * sizeof *pts);
    por_scalar ws, w, tmp;
    por_scalar_zero(&ws);
    for (size_t a = 0; a < n; a++) {
        pts[a] = por_asset_generator(assets[a].symbol);
        por_scalar_from_i128(&w, assets[a].weight);
        por_scalar_mul(&tmp, &w, &s[a]);
        por_scalar_add(&ws, &ws, &tmp);
    }
    pts[n] = por_pedersen_h();
    por_point lhs, rhs;
    por_msm_ptrs(&lhs, pts, s, n + 1);
    por_point_mul_vartime(&rhs, &Ls, &c);
    por_point_add(&rhs, &rhs, &A1);
    bool ok = por_point_eq(&lhs, &rhs);
    /* (Σ w_a s_a)·G + s_γ·H == A2 + c·V* */
    const por_affine *gh[2] = {por_pedersen_g(), por_pedersen_h()};
    por_scalar sc[2] = {ws, s[n + 1]};
    por_msm_ptrs(&lhs, gh, sc, 2);
    por_point_mul_vartime(&rhs, &Vs, &c);
    por_point_add(&rhs, &rhs, &A2);
    ok = ok && por_point_eq(&lhs, &rhs);
    free(pts);
    free(s);
    return ok ? CL_OK : CL_ERR_CRYPTO;
}

/* ---- hex ---- */

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

bool por_hex_decode_exact(const char *s, size_t slen, uint8_t *out, size_t n) {
    if (!s || slen != 2 * n) return false;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

/* ---- parallel for ---- */

unsigned por_default_threads(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (n > 256 ? 256 : (unsigned)n);
}

void por_report(const por_progress *pg, const char *phase, uint64_t done, uint64_t total) {
    if (pg && pg->fn) pg->fn(pg->ctx, phase, done, total);
}

typedef struct {
    por_par_fn fn;
    void *ctx;
    size_t count, chunk;
    atomic_size_t next, done;
} par_job;

typedef struct {
    par_job *job;
    unsigned worker;
    const por_progress *pg;
    const char *phase;
} par_arg;

static void *par_run(void *p) {
    par_arg *a = p;
    par_job *j = a->job;
    uint64_t last = time_mono_ns();
    for (;;) {
        size_t b = atomic_fetch_add(&j->next, j->chunk);
        if (b >= j->count) break;
        size_t e = b + j->chunk < j->count ? b + j->chunk : j->count;
        j->fn(j->ctx, b, e, a->worker);
        size_t d = atomic_fetch_add(&j->done, e - b) + (e - b);
        if (a->worker == 0 && a->pg && a->pg->fn) {
            uint64_t now = time_mono_ns();
            if (now - last > 100000000ull && d < j->count) {
                por_report(a->pg, a->phase, d, j->count);
                last = now;
            }
        }
    }
    return NULL;
}

void por_parallel(unsigned threads, size_t count, size_t chunk, por_par_fn fn, void *ctx,
                  const por_progress *pg, const char *phase) {
    if (threads < 1) threads = 1;
    if (chunk < 1) chunk = 1;
    size_t nchunks = (count + chunk - 1) / chunk;
    if (threads > nchunks) threads = nchunks ? (unsigned)nchunks : 1;
    par_job job = {.fn = fn, .ctx = ctx, .count = count, .chunk = chunk};
    atomic_init(&job.next, 0);
    atomic_init(&job.done, 0);
    par_arg *args = cl_calloc(threads, sizeof *args);
    pthread_t *th = cl_calloc(threads, sizeof *th);
    bool *started = cl_calloc(threads, sizeof *started);
    for (unsigned t = 0; t < threads; t++)
        args[t] = (par_arg){&job, t, pg, phase};
    for (unsigned t = 1; t < threads; t++)
        started[t] = pthread_create(&th[t], NULL, par_run, &args[t]) == 0;
    par_run(&args[0]); /* a thread that failed to start leaves its share to the others */
    for (unsigned t = 1; t < threads; t++)
        if (started[t]) pthread_join(th[t], NULL);
    por_report(pg, phase, count, count);
    free(args);
    free(th);
    free(started);
}

void por_first_error_init(por_first_error *f) {
    memset(f, 0, sizeof *f);
    pthread_mutex_t *mu = cl_malloc(sizeof *mu);
    pthread_mutex_init(mu, NULL);
    f->mu = mu;
    f->index = UINT64_MAX;
}

void por_first_error_set(por_first_error *f, uint64_t index, const char *fmt, ...) {
    pthread_mutex_lock(f->mu);
    if (!f->failed || index < f->index) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(f->msg, sizeof f->msg, fmt, ap);
        va_end(ap);
        f->index = index;
        f->failed = 1;
    }
    pthread_mutex_unlock(f->mu);
}

void por_first_error_free(por_first_error *f) {
    if (f->mu) {
        pthread_mutex_destroy(f->mu);
        free(f->mu);
    }
    f->mu = NULL;
}

cl_err por_fail(char err[POR_ERR_LEN], cl_err e, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, POR_ERR_LEN, fmt, ap);
    va_end(ap);
    return e;
}

double por_secs_since(uint64_t t0) {
    return (double)(time_mono_ns() - t0) / 1e9;
}

/* ---- range-proof batches ---- */

uint64_t por_range_count(uint64_t N, uint32_t B) {
    return B ? (N + B - 1) / B : 0;
}

uint32_t por_range_len(uint64_t N, uint32_t B, uint64_t j) {
    uint64_t first = j * B;
    return first >= N ? 0 : (uint32_t)(N - first < B ? N - first : B);
}

size_t por_range_size(uint64_t N, uint32_t B, uint64_t j) {
    return por_rangeproof_size(por_range_len(N, B, j), POR_RANGE_BITS);
}

uint64_t por_range_offset(uint64_t N, uint32_t B, uint64_t j) {
    return j * (uint64_t)por_rangeproof_size(N < B ? N : B, POR_RANGE_BITS);
}

void por_range_transcript(por_transcript *t, const uint8_t digest[POR_HASH_LEN], uint64_t j) {
    por_transcript_init(t, POR_TR_RANGE);
    por_transcript_append(t, "statement", slice_of(digest, POR_HASH_LEN));
    por_transcript_append_u64(t, "batch", j);
}

uint64_t por_range_total(uint64_t N, uint32_t B) {
    uint64_t c = por_range_count(N, B);
    return c ? por_range_offset(N, B, c - 1) + por_range_size(N, B, c - 1) : 0;
}
