/* prove.c — `cloister por prove`: ledger in, cloister-por-v2 proof out
 * (POR2SPEC; the cryptographic phases are in prove_leaves.c, the files of §6
 * in prove_out.c).
 *
 * Phases, each over flat arrays (prover.h) and, where it pays, threads:
 *   1. read the ledger streaming; keep balances (128-bit) and user hashes;
 *   2. choose each asset's range width k_a (64, or 128 when a part needs it,
 *      or as forced) and the net-equity width k_eq, and refuse — naming the
 *      asset or the account — a forced width a part does not fit, parameters
 *      whose net equity cannot be proved, and an account whose net equity is
 *      negative; all before anything is committed or written;
 *   3. pad to N = 2^m, shuffle accounts and dummies into leaves (CSPRNG);
 *   4. commitments, tree, statement, range proofs (prove_leaves.c);
 *   5. outputs into a temporary directory inside --out, renamed into place.
 * Secrets (balances, nonces, blindings, partial sums) are wiped when freed.
 * Test hooks (POR_TEST_HOOKS builds): see por.h's unsafe_hook. */
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

static void grow(por_prover *P, uint64_t need, uint64_t *cap) {
    if (need <= *cap) return;
    uint64_t c = *cap ? *cap * 2 : 1024;
    while (c < need)
        c *= 2;
    por_i128 *nb = cl_malloc(c * P->n * sizeof *nb);
    if (P->balances) {
        memcpy(nb, P->balances, P->count * P->n * sizeof *nb);
        cl_cleanse(P->balances, P->count * P->n * sizeof *nb);
        free(P->balances);
    }
    P->balances = nb;
    P->uh_off = cl_realloc(P->uh_off, (c + 1) * sizeof *P->uh_off);
    *cap = c;
}

static uint64_t file_size(const char *path) {
    struct stat sb;
    return strcmp(path, "-") != 0 && stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

static void take_assets(por_prover *P, por_ledger *l) {
    P->n = por_ledger_asset_count(l);
    const por_asset *as = por_ledger_assets(l);
    P->weights = cl_malloc(P->n * sizeof *P->weights);
    P->st.nassets = P->n;
    P->st.assets = cl_calloc(P->n, sizeof *P->st.assets);
    for (size_t a = 0; a < P->n; a++) {
        por2_asset *s = &P->st.assets[a];
        snprintf(s->symbol, sizeof s->symbol, "%s", as[a].symbol);
        s->usdt_decimals = as[a].usdt_decimals;
        s->balance_decimals = as[a].balance_decimals;
        s->price = as[a].price;
        s->weight = P->weights[a] = as[a].weight;
    }
    P->st.timestamp = (uint64_t)por_ledger_timestamp(l);
    P->st.equity_decimals = por_ledger_equity_decimals(l);
}

/* k_a from the largest parts (64 unless a part needs more), or as forced. */
static void choose_widths(por_prover *P, por_ledger *l) {
    const por_u128 *me = por_ledger_max_equity(l), *md = por_ledger_max_debt(l);
    const por_prove_options *o = P->opt;
    for (size_t a = 0; a < P->n; a++) {
        por2_asset *s = &P->st.assets[a];
        por_u128 big = me[a] > md[a] ? me[a] : md[a];
        s->range_bits = big >> 64 ? POR2_MAX_ASSET_BITS : POR2_DEFAULT_ASSET_BITS;
        if (o->range_bits_all) s->range_bits = o->range_bits_all;
        for (size_t f = 0; f < o->nrange_force; f++)
            if (strcmp(o->range_force[f].symbol, s->symbol) == 0)
                s->range_bits = o->range_force[f].bits;
    }
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
    take_assets(P, l);
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
        P->count = i + 1;
        if ((P->count & 4095) == 0 && P->pg->fn) {
            uint64_t b = por_ledger_get_stats(l).bytes_read;
            if (b - last > (1u << 22)) {
                por_report(P->pg, "reading ledger", total && b < total ? b : 0, total);
                last = b;
            }
        }
    }
    if (e == CL_OK) {
        choose_widths(P, l);
        por_report(P->pg, "reading ledger", total, total);
    }
    por_ledger_free(l);
    return e;
}

/* ---- 2. widths and refusals ---- */

static void account_hex(const por_prover *P, uint64_t acc, char *hex) {
    hex_encode_to(hex, P->uh.ptr + P->uh_off[acc], P->uh_off[acc + 1] - P->uh_off[acc]);
}

/* A forced width every part must fit: the first account (ledger order) that
 * does not is named. */
static cl_err check_forced_widths(por_prover *P, char err[POR_ERR_LEN]) {
    for (uint64_t i = 0; i < P->count; i++)
        for (size_t a = 0; a < P->n; a++) {
            por_i128 b = P->balances[i * P->n + a];
            por_u128 part = b < 0 ? -(por_u128)b : (por_u128)b;
            uint32_t k = P->st.assets[a].range_bits;
            if (k >= 128 || part >> k == 0) continue;
            char hex[2 * POR_LEDGER_MAX_USER_HASH + 1], num[41];
            account_hex(P, i, hex);
            return por_fail(err, CL_ERR_INVALID,
                            "account %s: asset %s: balance %s does not fit the %u-bit range "
                            "(--range-bits); nothing was written",
                            hex, P->st.assets[a].symbol, por_i128_format(b, num), k);
        }
    return CL_OK;
}

/* Each account's net equity v = Σ w_a·b_a must be >= 0 (< 2^k_eq by the
 * choice of k_eq). The negative-net hook proves such accounts anyway. */
static cl_err check_net_equity(por_prover *P, char err[POR_ERR_LEN]) {
    for (uint64_t i = 0; i < P->count; i++) {
        char text[80];
        por_equity_class c =
            por2_net_equity(P->weights, &P->balances[i * P->n], P->n, P->st.net_bits, NULL, text);
        if (c == POR_EQUITY_OK) continue;
        char hex[2 * POR_LEDGER_MAX_USER_HASH + 1];
        account_hex(P, i, hex);
        if (P->hooks & POR_HOOK_NEGATIVE_NET) {
            fprintf(stderr, "cloister por: TEST HOOK: proving account %s with net equity %s\n", hex,
                    text);
            continue;
        }
        if (c == POR_EQUITY_NEGATIVE)
            return por_fail(
                err, CL_ERR_INVALID,
                "account %s: net equity Σ price·balance is negative (%s in units of 10^-%u "
                "USDT); a proof of reserves cannot include it; nothing was written",
                hex, text, P->st.equity_decimals);
        return por_fail(err, CL_ERR_INTERNAL,
                        "account %s: net equity %s does not fit %u bits (internal error)", hex,
                        text, P->st.net_bits);
    }
    return CL_OK;
}

static cl_err choose_parameters(por_prover *P, char err[POR_ERR_LEN]) {
    for (size_t f = 0; f < P->opt->nrange_force; f++) {
        bool found = false;
        for (size_t a = 0; a < P->n && !found; a++)
            found = strcmp(P->opt->range_force[f].symbol, P->st.assets[a].symbol) == 0;
        if (!found)
            return por_fail(err, CL_ERR_INVALID,
                            "--range-bits names asset %s, which the ledger does not have; "
                            "nothing was written",
                            P->opt->range_force[f].symbol);
    }
    CL_TRY(check_forced_widths(P, err));
    char why[POR_ERR_LEN];
    P->st.net_bits = por2_net_equity_bits(P->st.assets, P->n, why);
    if (!P->st.net_bits) return por_fail(err, CL_ERR_INVALID, "%s; nothing was written", why);
    return check_net_equity(P, err);
}

/* With test hooks: how many accounts have a part or a net equity out of range. */
static uint64_t count_bad(por_prover *P) {
    uint64_t bad = 0;
    for (uint64_t i = 0; i < P->N; i++) {
        if (P->acc_of_leaf[i] == POR_DUMMY) continue;
        por_i256 v, e, d;
        por_prover_net(P, i, &v);
        bool out = por_i256_bitlen(&v) > P->st.net_bits;
        for (size_t a = 0; a < P->n && !out; a++) {
            por_prover_parts(P, i, a, &e, &d);
            uint32_t k = P->st.assets[a].range_bits;
            out = por_i256_bitlen(&e) > k || por_i256_bitlen(&d) > k;
        }
        bad += out;
    }
    return bad;
}

/* ---- 3. padding and shuffle ---- */

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
    P->first_dummy = P->N;
    for (uint64_t i = 0; i < P->N; i++) {
        if (P->acc_of_leaf[i] != POR_DUMMY)
            P->leaf_of_acc[P->acc_of_leaf[i]] = (uint32_t)i;
        else if (P->first_dummy == P->N)
            P->first_dummy = i;
    }
}

/* The range-proof generator tables, warmed once before the threads race for them. */
static void setup_generators(por_prover *P) {
    size_t slots = 0;
    for (size_t c = 0; c < por2_columns(P->n); c++) {
        uint32_t bits = por2_column_bits(&P->st, c);
        size_t s = por_rangeproof_slots(por2_column_batch(P->N, P->batch, bits), bits);
        if (s > slots) slots = s;
    }
    por_generator_rows(POR_RP_LABEL_G, slots);
    por_generator_rows(POR_RP_LABEL_H, slots);
}

/* ---- the whole run ---- */

static void prover_free(por_prover *P) {
    if (P->balances) cl_cleanse(P->balances, P->count * P->n * sizeof *P->balances);
    if (P->nonce) cl_cleanse(P->nonce, P->N * sizeof *P->nonce);
    if (P->R_part) por_scalars_cleanse(P->R_part, (size_t)P->threads * 2 * P->n);
    free(P->balances);
    free(P->nonce);
    free(P->R_part);
    free(P->T_part);
    buf_free(&P->uh);
    free(P->uh_off);
    free(P->weights);
    free(P->leaf_of_acc);
    free(P->acc_of_leaf);
    free(P->id);
    free(P->pq);
    free(P->h);
    free(P->node_hash);
    free(P->rp);
    por2_statement_free(&P->st);
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

/* The test hooks of por.h (unsafe_hook, unsafe_allow_bad_equity). */
static cl_err parse_hooks(por_prover *P, char err[POR_ERR_LEN]) {
    const por_prove_options *o = P->opt;
    if (o->unsafe_allow_bad_equity) P->hooks |= POR_HOOK_NEGATIVE_NET;
    const char *s = o->unsafe_hook ? o->unsafe_hook : "";
    while (*s) {
        size_t len = strcspn(s, ",");
        char *h = cl_strndup(s, len);
        if (strcmp(h, "negative-net") == 0) {
            P->hooks |= POR_HOOK_NEGATIVE_NET;
        } else if (strcmp(h, "negative-part") == 0) {
            P->hooks |= POR_HOOK_NEGATIVE_PART;
        } else if (strcmp(h, "overflow-part") == 0) {
            P->hooks |= POR_HOOK_OVERFLOW_PART;
        } else if (strncmp(h, "dummy-debt=", 11) == 0 && strchr(h, ':')) {
            P->hooks |= POR_HOOK_DUMMY_DEBT;
            char *colon = strchr(h, ':');
            *colon = 0;
            snprintf(P->dummy_symbol, sizeof P->dummy_symbol, "%s", h + 11);
            por_i128 max = (por_i128)(((por_u128)1 << 127) - 1);
            if (!por_dec_parse_i128(colon + 1, 1, max, &P->dummy_amount)) P->hooks = ~0u;
        } else if (len) {
            P->hooks = ~0u;
        }
        free(h);
        if (P->hooks == ~0u)
            return por_fail(err, CL_ERR_INVALID,
                            "unknown test hook in %s (negative-net, negative-part, "
                            "overflow-part, dummy-debt=SYM:AMOUNT)",
                            o->unsafe_hook);
        s += len + (s[len] == ',');
    }
    if (P->hooks && !por_test_hooks_available())
        return por_fail(err, CL_ERR_DENIED, "this build has no test hooks (%s)",
                        o->unsafe_hook ? o->unsafe_hook : "unsafe_allow_bad_equity");
    return CL_OK;
}

static cl_err setup(por_prover *P, const por_prove_options *o, char err[POR_ERR_LEN]) {
    P->opt = o;
    static const por_progress none = {0};
    P->pg = o->progress.fn ? &o->progress : &none;
    P->threads = o->threads ? o->threads : por_default_threads();
    if (P->threads > 256) P->threads = 256;
    por_first_error_init(&P->ferr);
    CL_TRY(parse_hooks(P, err));
    uint32_t B = o->batch ? o->batch : POR_DEFAULT_BATCH;
    if (B > POR_MAX_BATCH)
        return por_fail(err, CL_ERR_INVALID, "--batch must be from 1 to %u (got %u)", POR_MAX_BATCH,
                        B);
    P->batch = B;
    if (o->range_bits_all && !por2_range_bits_ok(o->range_bits_all))
        return por_fail(err, CL_ERR_INVALID,
                        "--range-bits must be a multiple of 8 from 8 to 128 (got %u)",
                        o->range_bits_all);
    for (size_t f = 0; f < o->nrange_force; f++)
        if (!por2_range_bits_ok(o->range_force[f].bits))
            return por_fail(err, CL_ERR_INVALID,
                            "--range-bits %s=%u: must be a multiple of 8 from 8 to 128",
                            o->range_force[f].symbol, o->range_force[f].bits);
    if (o->nrange_force > POR_MAX_RANGE_FORCE)
        return por_fail(err, CL_ERR_INVALID, "more than %d --range-bits SYM=BITS options",
                        POR_MAX_RANGE_FORCE);
    if (o->min_padded > ((uint64_t)1 << POR_MAX_DEPTH))
        return por_fail(err, CL_ERR_INVALID, "--padded-accounts must be at most 2^32");
    if (!o->ledger_path || !o->out_dir)
        return por_fail(err, CL_ERR_INVALID, "ledger and --out needed");
    struct stat sb;
    if (o->nonces_path && o->nonces_path[0] && lstat(o->nonces_path, &sb) == 0)
        return por_fail(err, CL_ERR_EXISTS,
                        "%s already exists: the nonces of each proof go to a new file",
                        o->nonces_path);
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
    P->st.depth = P->depth;
    P->st.padded = P->N;
    P->st.batch = P->batch;
}

static cl_err compute(por_prover *P, por_prove_result *res, char err[POR_ERR_LEN]) {
    uint64_t t = time_mono_ns();
    shuffle(P);
    if (P->hooks & POR_HOOK_DUMMY_DEBT) {
        P->dummy_asset = P->n;
        for (size_t a = 0; a < P->n; a++)
            if (strcmp(P->st.assets[a].symbol, P->dummy_symbol) == 0) P->dummy_asset = a;
        if (P->dummy_asset == P->n || P->first_dummy == P->N)
            return por_fail(err, CL_ERR_INVALID, "dummy-debt: no asset %s or no padding leaf",
                            P->dummy_symbol);
    }
    if (P->hooks) res->bad_equity_accounts = count_bad(P);
    setup_generators(P);
    size_t N = P->N;
    P->nonce = cl_malloc(N * sizeof *P->nonce);
    P->id = cl_malloc(N * sizeof *P->id);
    P->pq = cl_malloc(N * 2 * P->n * POR_POINT_LEN);
    P->h = cl_malloc(N * sizeof *P->h);
    P->node_hash = cl_malloc((N - 1) * sizeof *P->node_hash);
    por_prover_leaves(P);
    res->t_commit = por_secs_since(t);
    t = time_mono_ns();
    por_prover_tree(P);
    res->t_tree = por_secs_since(t);
    t = time_mono_ns();
    CL_TRY(por_prover_range_proofs(P, err));
    res->t_range = por_secs_since(t);
    return CL_OK;
}

static void fill_result(const por_prover *P, por_prove_result *res, bool ok) {
    res->version = POR2_VERSION;
    res->accounts = P->count;
    res->padded = P->N;
    res->assets = P->n;
    res->depth = P->depth;
    res->batch = P->batch;
    res->threads = P->threads;
    res->user_proofs = ok ? P->count : 0;
    res->net_bits = P->st.net_bits;
    res->range_proofs = ok ? P->st.range_count : 0;
    if (ok) hex_encode_to(res->root_hash, P->st.root_hash, sizeof P->st.root_hash);
    if (P->n && P->st.assets) {
        res->symbols = cl_calloc(P->n, sizeof *res->symbols);
        res->range_bits = cl_calloc(P->n, sizeof *res->range_bits);
        for (size_t a = 0; a < P->n; a++) {
            snprintf(res->symbols[a], sizeof res->symbols[a], "%s", P->st.assets[a].symbol);
            res->range_bits[a] = P->st.assets[a].range_bits;
        }
    }
}

void por_prove_result_free(por_prove_result *res) {
    free(res->symbols);
    free(res->range_bits);
    res->symbols = NULL;
    res->range_bits = NULL;
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
    if (e == CL_OK) e = read_ledger(&P, err);
    if (e == CL_OK) {
        size_tree(&P);
        e = choose_parameters(&P, err);
        res->t_read = por_secs_since(t0);
    }
    if (e == CL_OK) e = compute(&P, res, err);
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
    fill_result(&P, res, e == CL_OK);
    prover_free(&P);
    res->t_total = por_secs_since(t0);
    return e;
}

void por_cleanup(void) {
    por_curve_cleanup();
}
