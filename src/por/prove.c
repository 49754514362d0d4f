/* prove.c — `cloister por prove`: ledger in, cloister-por-v1 proof out
 * (docs/por.md §3–§6; the files of §8 are written by prove_out.c).
 *
 * Phases, each over flat arrays (prover.h) and, where it pays, threads:
 *   1. read the ledger streaming; keep balances and user hashes; compute each
 *      account's equity exactly (256-bit) and refuse, naming the account,
 *      anything outside [0, 2^64) — before anything is written;
 *   2. pad to N = 2^m, shuffle accounts and dummies into leaves (CSPRNG);
 *   3. per leaf: nonce, η, γ, L (constant-time vector commitment; balances
 *      are committed as b + 2^63 < 2^64 so the table walk is 64 bits, and the
 *      public offset 2^63·Σ G_a is subtracted), V, id, leaf hash;
 *   4. the tree, level by level; opened totals T_a and R; the statement;
 *   5. the equity link proof (§5) and the range proofs (§6) in batches of B;
 *   6. outputs into a temporary directory inside --out, renamed into place.
 * Secrets (balances, nonces, blindings, partial sums) are wiped when freed. */
#include "por/prover.h"

#include "crypto/crypto.h"
#include "por/rangeproof.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COMMIT_CHUNK 256
#define LINK_CHUNK 1024

static const char *const OUTPUTS[] = {"final_proof.json", "merkle_tree.json", "private_nonces.json",
                                      "proofs.zip", "user_proofs"};
#define NOUTPUTS (sizeof OUTPUTS / sizeof OUTPUTS[0])

bool por_test_hooks_available(void) {
#ifdef POR_TEST_HOOKS
    return true;
#else
    return false;
#endif
}

/* ---- 1. the ledger ---- */

static cl_err equity_of(por_prover *P, const por_account *a, uint64_t acc, char err[POR_ERR_LEN]) {
    char text[80];
    uint64_t e = 0;
    por_equity_class c = por_equity(P->weights, a->balances, P->n, &e, text);
    P->equity[acc] = e;
    if (c == POR_EQUITY_OK) return CL_OK;
    char hex[2 * POR_LEDGER_MAX_USER_HASH + 1];
    hex_encode_to(hex, a->user_hash, a->user_hash_len);
    if (P->unsafe) {
        /* TEST HOOK: keep the account, committing its equity mod r */
        por_scalar t, w, b;
        por_scalar_zero(&P->equity_sc[acc]);
        for (size_t k = 0; k < P->n; k++) {
            por_scalar_from_i128(&w, P->weights[k]);
            por_scalar_from_i64(&b, a->balances[k]);
            por_scalar_mul(&t, &w, &b);
            por_scalar_add(&P->equity_sc[acc], &P->equity_sc[acc], &t);
        }
        P->bad[acc] = 1;
        P->equity[acc] = 0;
        fprintf(stderr, "cloister por: TEST HOOK: proving account %s with equity %s anyway\n", hex,
                text);
        return CL_OK;
    }
    if (c == POR_EQUITY_NEGATIVE)
        return por_fail(
            err, CL_ERR_INVALID,
            "account %s: equity Σ price·balance is negative (%s in units of 10^-%u USDT); "
            "a proof of reserves cannot include it; nothing was written",
            hex, text, P->st.equity_decimals);
    return por_fail(
        err, CL_ERR_INVALID,
        "account %s: equity %s (units of 10^-%u USDT) is not below 2^64, the range-proved "
        "bound; nothing was written",
        hex, text, P->st.equity_decimals);
}

static void grow(por_prover *P, uint64_t need, uint64_t *cap) {
    if (need <= *cap) return;
    uint64_t c = *cap ? *cap * 2 : 1024;
    while (c < need)
        c *= 2;
    P->balances = cl_realloc(P->balances, c * P->n * sizeof *P->balances);
    P->uh_off = cl_realloc(P->uh_off, (c + 1) * sizeof *P->uh_off);
    P->equity = cl_realloc(P->equity, c * sizeof *P->equity);
    if (P->unsafe) {
        P->equity_sc = cl_realloc(P->equity_sc, c * sizeof *P->equity_sc);
        P->bad = cl_realloc(P->bad, c);
    }
    *cap = c;
}

static uint64_t file_size(const char *path) {
    struct stat sb;
    return strcmp(path, "-") != 0 && stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

static cl_err read_ledger(por_prover *P, char err[POR_ERR_LEN]) {
    const por_prove_options *o = P->opt;
    por_ledger *l = NULL;
    cl_err e = por_ledger_open_file(&l, o->ledger_path, o->assets_path);
    if (e == CL_OK) e = por_ledger_begin(l);
    if (e != CL_OK) {
        por_fail(err, e, "%s; nothing was written", por_ledger_error(l));
        por_ledger_free(l);
        return e;
    }
    P->n = por_ledger_asset_count(l);
    const por_asset *as = por_ledger_assets(l);
    P->weights = cl_malloc(P->n * sizeof *P->weights);
    P->st.nassets = P->n;
    P->st.assets = cl_calloc(P->n, sizeof *P->st.assets);
    for (size_t a = 0; a < P->n; a++) {
        por_stmt_asset *s = &P->st.assets[a];
        snprintf(s->symbol, sizeof s->symbol, "%s", as[a].symbol);
        s->usdt_decimals = as[a].usdt_decimals;
        s->balance_decimals = as[a].balance_decimals;
        s->price = as[a].price;
        s->weight = P->weights[a] = as[a].weight;
    }
    P->st.timestamp = (uint64_t)por_ledger_timestamp(l);
    P->st.equity_decimals = por_ledger_equity_decimals(l);
    uint64_t cap = 0, total = file_size(o->ledger_path), last = 0;
    P->uh_off = cl_malloc(sizeof *P->uh_off);
    P->uh_off[0] = 0;
    for (;;) {
        por_account acc;
        bool done = false;
        e = por_ledger_next(l, &acc, &done);
        if (e != CL_OK) {
            por_fail(err, e, "%s; nothing was written", por_ledger_error(l));
            break;
        }
        if (done) break;
        uint64_t i = P->count;
        if (i >= UINT32_MAX - 1) {
            e = por_fail(err, CL_ERR_TOO_LARGE, "more than 2^32 - 2 accounts; nothing was written");
            break;
        }
        grow(P, i + 1, &cap);
        memcpy(&P->balances[i * P->n], acc.balances, P->n * sizeof *acc.balances);
        buf_append(&P->uh, acc.user_hash, acc.user_hash_len);
        P->uh_off[i + 1] = P->uh.len;
        if (P->unsafe) P->bad[i] = 0;
        P->count = i + 1;
        if ((e = equity_of(P, &acc, i, err)) != CL_OK) break;
        if ((P->count & 4095) == 0 && P->pg->fn) {
            uint64_t b = por_ledger_get_stats(l).bytes_read;
            if (b - last > (1u << 22)) {
                por_report(P->pg, "reading ledger", total && b < total ? b : 0, total);
                last = b;
            }
        }
    }
    if (e == CL_OK) {
        const por_i128 *t = por_ledger_totals(l);
        for (size_t a = 0; a < P->n; a++)
            P->st.assets[a].total = t[a];
        por_report(P->pg, "reading ledger", total, total);
    }
    por_ledger_free(l);
    return e;
}

/* ---- 2. padding and shuffle ---- */

typedef struct {
    uint8_t buf[4096];
    size_t pos;
} rng;

static uint64_t rng_u64(rng *r) {
    if (r->pos + 8 > sizeof r->buf) {
        crypto_random(r->buf, sizeof r->buf);
        r->pos = 0;
    }
    uint64_t v;
    memcpy(&v, r->buf + r->pos, 8);
    r->pos += 8;
    return v;
}

/* Uniform in [0, bound) by rejection. */
static uint64_t rng_below(rng *r, uint64_t bound) {
    uint64_t lim = UINT64_MAX - UINT64_MAX % bound;
    for (;;) {
        uint64_t v = rng_u64(r);
        if (v < lim) return v % bound;
    }
}

static void shuffle(por_prover *P) {
    P->acc_of_leaf = cl_malloc(P->N * sizeof *P->acc_of_leaf);
    P->leaf_of_acc = cl_malloc((P->count ? P->count : 1) * sizeof *P->leaf_of_acc);
    for (uint64_t i = 0; i < P->N; i++)
        P->acc_of_leaf[i] = i < P->count ? (uint32_t)i : POR_DUMMY;
    rng r = {.pos = sizeof r.buf};
    for (uint64_t i = P->N - 1; i > 0; i--) {
        uint64_t j = rng_below(&r, i + 1);
        uint32_t t = P->acc_of_leaf[i];
        P->acc_of_leaf[i] = P->acc_of_leaf[j];
        P->acc_of_leaf[j] = t;
    }
    cl_cleanse(&r, sizeof r);
    for (uint64_t i = 0; i < P->N; i++)
        if (P->acc_of_leaf[i] != POR_DUMMY) P->leaf_of_acc[P->acc_of_leaf[i]] = (uint32_t)i;
}

/* ---- 3. leaves ---- */

static void commit_chunk(void *ctx, size_t b, size_t e, unsigned w) {
    por_prover *P = ctx;
    size_t n = P->n, cnt = e - b;
    por_scalar *v = cl_malloc(n * sizeof *v), eta, gamma, rsum;
    por_point *J = cl_malloc(2 * cnt * sizeof *J);
    por_affine *A = cl_malloc(2 * cnt * sizeof *A);
    por_scalar_zero(&rsum);
    for (size_t i = b; i < e; i++) {
        uint32_t acc = P->acc_of_leaf[i];
        const int64_t *bal = acc == POR_DUMMY ? P->zero_balances : &P->balances[(size_t)acc * n];
        crypto_random(P->nonce[i], POR_NONCE_LEN);
        por_leaf_blindings(P->nonce[i], &eta, &gamma);
        for (size_t a = 0; a < n; a++)
            por_scalar_from_u64(&v[a], (uint64_t)bal[a] ^ ((uint64_t)1 << 63));
        por_vector_commit(&J[i - b], P->rows, v, n, 64, &eta);
        por_point_add_affine(&J[i - b], &J[i - b], &P->neg_offset);
        if (acc != POR_DUMMY && P->unsafe && P->bad[acc])
            por_commit(&J[cnt + i - b], &P->equity_sc[acc], &gamma);
        else
            por_commit_u64(&J[cnt + i - b], acc == POR_DUMMY ? 0 : P->equity[acc], &gamma);
        por_scalar_add(&rsum, &rsum, &eta);
        if (acc == POR_DUMMY)
            por_leaf_id(NULL, 0, P->nonce[i], P->id[i]);
        else
            por_leaf_id(P->uh.ptr + P->uh_off[acc], P->uh_off[acc + 1] - P->uh_off[acc],
                        P->nonce[i], P->id[i]);
    }
    por_points_to_affine(A, J, 2 * cnt);
    for (size_t i = b; i < e; i++) {
        P->Laff[i] = A[i - b];
        por_affine_to_bytes(P->Lb[i], &A[i - b]);
        por_affine_to_bytes(P->Vb[i], &A[cnt + i - b]);
        por_leaf_hash(P->id[i], P->Lb[i], P->Vb[i], P->h[i]);
    }
    por_scalar_add(&P->R_part[w], &P->R_part[w], &rsum);
    por_scalars_cleanse(v, n);
    por_scalars_cleanse(&eta, 1);
    por_scalars_cleanse(&gamma, 1);
    por_scalars_cleanse(&rsum, 1);
    free(v);
    free(J);
    free(A);
}

static void setup_generators(por_prover *P) {
    P->rows = cl_malloc(P->n * sizeof *P->rows);
    por_point sum, off;
    por_point_identity(&sum);
    for (size_t a = 0; a < P->n; a++) {
        P->rows[a] = por_asset_row(P->st.assets[a].symbol);
        por_point_add_affine(&sum, &sum, por_asset_generator(P->st.assets[a].symbol));
    }
    por_scalar s;
    por_scalar_from_u64(&s, (uint64_t)1 << 63);
    por_point_mul_vartime(&off, &sum, &s); /* public */
    por_point_neg(&off, &off);
    por_point_to_affine(&P->neg_offset, &off);
    /* warm the range-proof generator tables once, before the threads race for them */
    size_t slots = por_rangeproof_slots(P->batch, POR_RANGE_BITS);
    por_generator_rows(POR_RP_LABEL_G, slots);
    por_generator_rows(POR_RP_LABEL_H, slots);
}

/* ---- 4. the tree ---- */

typedef struct {
    por_prover *P;
    uint32_t j;
    const por_affine *prev;
    por_affine *cur;
} level_job;

static void level_chunk(void *ctx, size_t b, size_t e, unsigned w) {
    (void)w;
    level_job *L = ctx;
    por_prover *P = L->P;
    por_point *J = cl_malloc((e - b) * sizeof *J);
    for (size_t k = b; k < e; k++) {
        por_point_from_affine(&J[k - b], &L->prev[2 * k]);
        por_point_add_affine(&J[k - b], &J[k - b], &L->prev[2 * k + 1]);
    }
    por_points_to_affine(&L->cur[b], J, e - b);
    uint64_t off = por_level_offset(P->N, L->j);
    for (size_t k = b; k < e; k++) {
        por_affine_to_bytes(P->node_C[off + k], &L->cur[k]);
        por_node_hash(por_prover_node_hash(P, L->j - 1, 2 * k),
                      por_prover_node_C(P, L->j - 1, 2 * k),
                      por_prover_node_hash(P, L->j - 1, 2 * k + 1),
                      por_prover_node_C(P, L->j - 1, 2 * k + 1), P->node_hash[off + k]);
    }
    free(J);
}

static void build_tree(por_prover *P) {
    por_affine *prev = P->Laff;
    for (uint32_t j = 1; j <= P->depth; j++) {
        size_t cnt = P->N >> j;
        level_job L = {P, j, prev, cl_malloc(cnt * sizeof(por_affine))};
        por_parallel(P->threads, cnt, 512, level_chunk, &L, j == 1 ? P->pg : NULL, "tree");
        free(prev);
        prev = L.cur;
    }
    free(prev);
    P->Laff = NULL;
    uint64_t root = por_level_offset(P->N, P->depth);
    memcpy(P->st.root_hash, P->node_hash[root], POR_HASH_LEN);
    memcpy(P->st.root_commitment, P->node_C[root], POR_POINT_LEN);
}

/* ---- 5a. the equity link proof ---- */

typedef struct {
    por_prover *P;
    por_scalar rho, *start; /* ρ^(chunk·LINK_CHUNK + 1) */
    por_scalar *part;       /* per worker: n + 2 sums, secret */
} link_job;

static void link_chunk(void *ctx, size_t b, size_t e, unsigned w) {
    link_job *L = ctx;
    por_prover *P = L->P;
    size_t n = P->n;
    por_scalar *x = &L->part[(size_t)w * (n + 2)], rp = L->start[b / LINK_CHUNK], eta, gamma, t;
    for (size_t i = b; i < e; i++) {
        if (i > b) por_scalar_mul(&rp, &rp, &L->rho);
        por_leaf_blindings(P->nonce[i], &eta, &gamma);
        por_scalar_mul(&t, &rp, &eta);
        por_scalar_add(&x[n], &x[n], &t);
        por_scalar_mul(&t, &rp, &gamma);
        por_scalar_add(&x[n + 1], &x[n + 1], &t);
        uint32_t acc = P->acc_of_leaf[i];
        if (acc == POR_DUMMY) continue;
        const int64_t *bal = &P->balances[(size_t)acc * n];
        for (size_t a = 0; a < n; a++) {
            por_scalar_from_i64(&t, bal[a]);
            por_scalar_mul(&t, &t, &rp);
            por_scalar_add(&x[a], &x[a], &t);
        }
    }
    por_scalars_cleanse(&eta, 1);
    por_scalars_cleanse(&gamma, 1);
    por_scalars_cleanse(&t, 1);
}

static void link_proof(por_prover *P) {
    size_t n = P->n;
    link_job L = {.P = P};
    por_link_rho(P->st.digest, &L.rho);
    size_t nchunks = (P->N + LINK_CHUNK - 1) / LINK_CHUNK;
    L.start = cl_malloc(nchunks * sizeof *L.start);
    por_scalar p = L.rho;
    for (uint64_t i = 0; i < P->N; i++) {
        if (i % LINK_CHUNK == 0) L.start[i / LINK_CHUNK] = p;
        por_scalar_mul(&p, &p, &L.rho);
    }
    L.part = cl_calloc((size_t)P->threads * (n + 2), sizeof *L.part);
    for (size_t i = 0; i < (size_t)P->threads * (n + 2); i++)
        por_scalar_zero(&L.part[i]);
    por_parallel(P->threads, P->N, LINK_CHUNK, link_chunk, &L, P->pg, "link proof");
    for (unsigned w = 1; w < P->threads; w++)
        for (size_t a = 0; a < n + 2; a++)
            por_scalar_add(&L.part[a], &L.part[a], &L.part[(size_t)w * (n + 2) + a]);
    P->st.link_proof_len = por_link_proof_size(n);
    P->st.link_proof = cl_malloc(P->st.link_proof_len);
    por_link_prove(P->st.digest, P->st.assets, n, L.part, &L.part[n], &L.part[n + 1],
                   P->st.link_proof);
    por_scalars_cleanse(L.part, (size_t)P->threads * (n + 2));
    free(L.part);
    free(L.start);
}

/* ---- 5b. range proofs ---- */

static void range_chunk(void *ctx, size_t b, size_t e, unsigned w) {
    (void)w;
    por_prover *P = ctx;
    size_t B = P->batch, first;
    uint64_t *vals = cl_malloc(B * sizeof *vals);
    por_scalar *blind = cl_malloc(B * sizeof *blind), *vsc = cl_malloc(B * sizeof *vsc);
    por_point *V = cl_malloc(B * sizeof *V);
    cl_buf proof = CL_BUF_INIT;
    for (size_t j = b; j < e && !P->ferr.failed; j++) {
        bool unchecked = false;
        size_t m = por_range_len(P->N, P->batch, j), size = por_range_size(P->N, P->batch, j);
        first = j * B;
        for (size_t k = 0; k < m; k++) {
            size_t i = first + k;
            uint32_t acc = P->acc_of_leaf[i];
            vals[k] = acc == POR_DUMMY ? 0 : P->equity[acc];
            por_scalar_from_u64(&vsc[k], vals[k]);
            if (acc != POR_DUMMY && P->unsafe && P->bad[acc]) {
                vsc[k] = P->equity_sc[acc];
                unchecked = true;
            }
            por_leaf_blindings(P->nonce[i], NULL, &blind[k]);
        }
        por_transcript t;
        por_range_transcript(&t, P->st.digest, j);
        buf_clear(&proof);
        cl_err err =
            unchecked ? por_rangeproof_prove_unchecked(&t, vsc, blind, m, POR_RANGE_BITS, &proof, V)
                      : por_rangeproof_prove(&t, vals, blind, m, POR_RANGE_BITS, &proof, V);
        if (err == CL_OK && proof.len != size) err = CL_ERR_INTERNAL;
        for (size_t k = 0; err == CL_OK && k < m; k++) {
            uint8_t vb[POR_POINT_LEN];
            por_point_to_bytes(vb, &V[k]);
            if (memcmp(vb, P->Vb[first + k], POR_POINT_LEN) != 0) err = CL_ERR_INTERNAL;
        }
        if (err != CL_OK) {
            por_first_error_set(&P->ferr, j, "range proof of batch %zu failed (%s)", j,
                                cl_err_str(err));
            break;
        }
        memcpy(P->rp + por_range_offset(P->N, P->batch, j), proof.ptr, size);
    }
    cl_cleanse(vals, B * sizeof *vals);
    por_scalars_cleanse(blind, B);
    por_scalars_cleanse(vsc, B);
    free(vals);
    free(blind);
    free(vsc);
    free(V);
    buf_free(&proof);
}

static cl_err range_proofs(por_prover *P, char err[POR_ERR_LEN]) {
    uint64_t count = por_range_count(P->N, P->batch);
    P->rp_total = por_range_total(P->N, P->batch);
    P->rp = cl_malloc(P->rp_total);
    por_parallel(P->threads, count, 1, range_chunk, P, P->pg, "range proofs");
    if (P->ferr.failed) return por_fail(err, CL_ERR_INTERNAL, "%s", P->ferr.msg);
    P->st.range_count = count;
    crypto_sha256(slice_of(P->rp, P->rp_total), P->st.range_sha256);
    return CL_OK;
}

/* ---- the whole run ---- */

static void prover_free(por_prover *P) {
    if (P->balances) cl_cleanse(P->balances, P->count * P->n * sizeof *P->balances);
    if (P->equity) cl_cleanse(P->equity, P->count * sizeof *P->equity);
    if (P->equity_sc) por_scalars_cleanse(P->equity_sc, P->count);
    if (P->nonce) cl_cleanse(P->nonce, P->N * sizeof *P->nonce);
    if (P->R_part) por_scalars_cleanse(P->R_part, P->threads);
    free(P->balances);
    free(P->equity);
    free(P->equity_sc);
    free(P->bad);
    free(P->nonce);
    free(P->R_part);
    buf_free(&P->uh);
    free(P->uh_off);
    free(P->weights);
    free(P->rows);
    free(P->leaf_of_acc);
    free(P->acc_of_leaf);
    free(P->id);
    free(P->Lb);
    free(P->Vb);
    free(P->h);
    free(P->Laff);
    free(P->node_hash);
    free(P->node_C);
    free(P->rp);
    free(P->zero_balances);
    por_statement_free(&P->st);
    por_first_error_free(&P->ferr);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_rf(const char *path) {
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* --out: a directory without a proof in it, or missing (then it is created
 * only once there is something to write, and removed again on failure). */
static cl_err check_out(const char *out, bool *missing, char err[POR_ERR_LEN]) {
    struct stat sb;
    *missing = false;
    if (stat(out, &sb) != 0) {
        if (errno != ENOENT)
            return por_fail(err, CL_ERR_IO, "cannot use --out %s: %s", out, strerror(errno));
        *missing = true;
        return CL_OK;
    }
    if (!S_ISDIR(sb.st_mode))
        return por_fail(err, CL_ERR_INVALID, "--out %s is not a directory", out);
    for (size_t i = 0; i < NOUTPUTS; i++) {
        char *p = cl_sprintf("%s/%s", out, OUTPUTS[i]);
        bool exists = lstat(p, &sb) == 0;
        free(p);
        if (exists)
            return por_fail(err, CL_ERR_EXISTS,
                            "--out %s already holds %s: prove into a new or empty directory", out,
                            OUTPUTS[i]);
    }
    return CL_OK;
}

/* Everything is in tmp: flush it to disk, then move it into out, final_proof.json last
 * (private_nonces.json only when it was written there). */
static cl_err publish(const char *tmp, const char *out, bool nonces, char err[POR_ERR_LEN]) {
    int fd = open(tmp, O_RDONLY | O_DIRECTORY);
    if (fd < 0 || syncfs(fd) != 0) {
        if (fd >= 0) close(fd);
        return por_fail(err, CL_ERR_IO, "cannot flush %s: %s", tmp, strerror(errno));
    }
    close(fd);
    static const char *const order[] = {"user_proofs", "private_nonces.json", "merkle_tree.json",
                                        "proofs.zip", "final_proof.json"};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        if (!nonces && strcmp(order[i], "private_nonces.json") == 0) continue;
        char *a = cl_sprintf("%s/%s", tmp, order[i]), *b = cl_sprintf("%s/%s", out, order[i]);
        int rc = rename(a, b);
        int en = errno;
        free(a);
        free(b);
        if (rc != 0)
            return por_fail(err, CL_ERR_IO, "cannot move %s into %s: %s", order[i], out,
                            strerror(en));
    }
    fd = open(out, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    return CL_OK;
}

static cl_err setup(por_prover *P, const por_prove_options *o, char err[POR_ERR_LEN]) {
    P->opt = o;
    static const por_progress none = {0};
    P->pg = o->progress.fn ? &o->progress : &none;
    P->threads = o->threads ? o->threads : por_default_threads();
    if (P->threads > 256) P->threads = 256;
    P->unsafe = o->unsafe_allow_bad_equity;
    if (P->unsafe && !por_test_hooks_available())
        return por_fail(err, CL_ERR_DENIED,
                        "this build has no test hooks (unsafe_allow_bad_equity)");
    uint32_t B = o->batch ? o->batch : POR_DEFAULT_BATCH;
    if (B > POR_MAX_BATCH)
        return por_fail(err, CL_ERR_INVALID, "--batch must be from 1 to %u (got %u)", POR_MAX_BATCH,
                        B);
    P->batch = B;
    if (o->min_padded > ((uint64_t)1 << POR_MAX_DEPTH))
        return por_fail(err, CL_ERR_INVALID, "--padded-accounts must be at most 2^32");
    if (!o->ledger_path || !o->out_dir)
        return por_fail(err, CL_ERR_INVALID, "ledger and --out needed");
    struct stat sb;
    if (o->nonces_path && o->nonces_path[0] && lstat(o->nonces_path, &sb) == 0)
        return por_fail(err, CL_ERR_EXISTS,
                        "%s already exists: the nonces of each proof go to a new file",
                        o->nonces_path);
    por_first_error_init(&P->ferr);
    return CL_OK;
}

static void size_tree(por_prover *P) {
    uint64_t want = P->opt->min_padded ? P->opt->min_padded : POR_DEFAULT_MIN_PADDED;
    if (want < P->count) want = P->count;
    if (want < 2) want = 2;
    P->N = 2;
    P->depth = 1;
    while (P->N < want) {
        P->N <<= 1;
        P->depth++;
    }
    if (P->batch > P->N) P->batch = (uint32_t)P->N;
    P->st.depth = P->depth;
    P->st.padded = P->N;
    P->st.range_bits = POR_RANGE_BITS;
    P->st.batch = P->batch;
}

static cl_err compute(por_prover *P, por_prove_result *res, char err[POR_ERR_LEN]) {
    uint64_t t = time_mono_ns();
    shuffle(P);
    setup_generators(P);
    size_t N = P->N;
    P->nonce = cl_malloc(N * sizeof *P->nonce);
    P->id = cl_malloc(N * sizeof *P->id);
    P->Lb = cl_malloc(N * sizeof *P->Lb);
    P->Vb = cl_malloc(N * sizeof *P->Vb);
    P->h = cl_malloc(N * sizeof *P->h);
    P->Laff = cl_malloc(N * sizeof *P->Laff);
    P->node_hash = cl_malloc((N - 1) * sizeof *P->node_hash);
    P->node_C = cl_malloc((N - 1) * sizeof *P->node_C);
    P->zero_balances = cl_calloc(P->n, sizeof *P->zero_balances);
    P->R_part = cl_malloc(P->threads * sizeof *P->R_part);
    for (unsigned w = 0; w < P->threads; w++)
        por_scalar_zero(&P->R_part[w]);
    por_parallel(P->threads, N, COMMIT_CHUNK, commit_chunk, P, P->pg, "commitments");
    res->t_commit = por_secs_since(t);
    t = time_mono_ns();
    build_tree(P);
    por_scalar R;
    por_scalar_zero(&R);
    for (unsigned w = 0; w < P->threads; w++)
        por_scalar_add(&R, &R, &P->R_part[w]);
    por_scalar_to_bytes(P->st.total_blinding, &R);
    por_scalars_cleanse(&R, 1);
    por_statement_total_equity(P->st.assets, P->n, P->st.total_equity, NULL);
    por_statement_digest(&P->st, P->st.digest);
    char e2[POR_ERR_LEN];
    if (por_statement_check_opening(&P->st, e2) != CL_OK)
        return por_fail(err, CL_ERR_INTERNAL, "internal error: %s", e2);
    res->t_tree = por_secs_since(t);
    t = time_mono_ns();
    link_proof(P);
    res->t_link = por_secs_since(t);
    t = time_mono_ns();
    CL_TRY(range_proofs(P, err));
    res->t_range = por_secs_since(t);
    return CL_OK;
}

cl_err por_prove(const por_prove_options *o, por_prove_result *res, char err[POR_ERR_LEN]) {
    uint64_t t0 = time_mono_ns();
    memset(res, 0, sizeof *res);
    err[0] = 0;
    por_prover P = {0};
    bool missing = false, created = false;
    char *tmp = NULL;
    cl_err e = setup(&P, o, err);
    if (e == CL_OK) e = check_out(o->out_dir, &missing, err);
    if (e == CL_OK) {
        e = read_ledger(&P, err);
        res->t_read = por_secs_since(t0);
    }
    if (e == CL_OK) {
        size_tree(&P);
        e = compute(&P, res, err);
    }
    if (e == CL_OK) {
        uint64_t t = time_mono_ns();
        if (missing) {
            if (dir_ensure(o->out_dir, 0755) != CL_OK)
                e = por_fail(err, CL_ERR_IO, "cannot create --out %s: %s", o->out_dir,
                             strerror(errno));
            created = e == CL_OK;
        }
        tmp = cl_sprintf("%s/.por-tmp-XXXXXX", o->out_dir);
        if (e == CL_OK && !mkdtemp(tmp))
            e = por_fail(err, CL_ERR_IO, "cannot create a temporary directory in %s: %s",
                         o->out_dir, strerror(errno));
        if (e == CL_OK) e = por_prover_write(&P, tmp, err);
        bool ext = o->nonces_path && o->nonces_path[0];
        if (e == CL_OK && ext) e = por_prover_write_nonces(&P, o->nonces_path, err);
        if (e == CL_OK) e = publish(tmp, o->out_dir, !o->nonces_path, err);
        if (e != CL_OK && ext) unlink(o->nonces_path);
        res->t_write = por_secs_since(t);
    }
    if (tmp && e == CL_OK) rmdir(tmp); /* empty after a successful publish */
    if (tmp && e != CL_OK && !created) rm_rf(tmp);
    if (e != CL_OK && created) rm_rf(o->out_dir);
    free(tmp);
    res->accounts = P.count;
    res->padded = P.N;
    res->assets = P.n;
    res->depth = P.depth;
    res->batch = P.batch;
    res->threads = P.threads;
    res->user_proofs = e == CL_OK ? P.count : 0;
    if (e == CL_OK) hex_encode_to(res->root_hash, P.st.root_hash, sizeof P.st.root_hash);
    if (P.unsafe && P.bad)
        for (uint64_t i = 0; i < P.count; i++)
            res->bad_equity_accounts += P.bad[i];
    prover_free(&P);
    res->t_total = por_secs_since(t0);
    return e;
}

void por_cleanup(void) {
    por_curve_cleanup();
}
