/* signer_slashing_bench.c — slashing-protection checks per second and p50/p99
 * per check (src/signer/slashing.c) on SQLite, with 10,000 validators each
 * holding a full pruning window of attestations (250, with signing roots),
 * next to 1 validator, and the in-memory part of a check alone (parse the
 * document, apply the rules, prune, serialise) to show what bounds it: the
 * SQLite commit (WAL + synchronous=FULL: one fsync per check).
 * Figures only; never fails on time. SLASHING_BENCH_VALIDATORS and
 * SLASHING_BENCH_CHECKS override the sizes; SLASHING_BENCH_DIR the directory. */
#include "signer/slashing_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WINDOW 250

static const uint8_t GVR[32] = {0x4b, 0x36, 0x3d};

static void pk_of(uint8_t pk[48], unsigned i) {
    memset(pk, 0x11, 48);
    memcpy(pk + 44, &i, sizeof i);
}

static void root_of(uint8_t r[32], uint64_t a, uint64_t b) {
    memset(r, 0x22, 32);
    memcpy(r, &a, 8);
    memcpy(r + 8, &b, 8);
}

static char *full_window_doc(unsigned v) {
    slp_hist h = {0};
    for (uint64_t t = 1; t <= WINDOW; t++) {
        uint8_t r[32];
        root_of(r, v, t);
        slp_hist_add_att(&h, t - 1, t, r);
    }
    h.has_le = true, h.lsrc = 0, h.ltgt = 1;
    char *doc = slp_hist_dump(&h);
    slp_hist_free(&h);
    return doc;
}

typedef struct {
    unsigned from, to;
} fill_range;

static cl_err fill_txn(store *st, void *arg) {
    fill_range *r = arg;
    for (unsigned v = r->from; v < r->to; v++) {
        uint8_t pk[48];
        char name[97];
        pk_of(pk, v);
        slp_pk_hex(pk, name);
        char *doc = full_window_doc(v);
        cl_err e = store_put(st, SLP_KIND, "", name, doc);
        free(doc);
        CL_TRY(e);
    }
    return CL_OK;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, uint64_t *ns, size_t n, uint64_t total_ns) {
    qsort(ns, n, sizeof *ns, cmp_u64);
    printf("%-44s %8.0f checks/s   p50 %7.1f us   p99 %7.1f us\n", what,
           (double)n * 1e9 / (double)total_ns, ns[n / 2] / 1e3, ns[n * 99 / 100] / 1e3);
}

/* n checks, each a new attestation (the next epoch) of a validator in turn */
static void run_checks(signer_slashing *sp, unsigned validators, size_t n, const char *what) {
    uint64_t *ns = cl_calloc(n, sizeof *ns);
    uint64_t t0 = time_mono_ns();
    size_t denied = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned v = (unsigned)((i * 7919) % validators);
        uint64_t epoch = WINDOW + 1 + i / validators;
        uint8_t pk[48], r[32];
        char why[256];
        pk_of(pk, v);
        root_of(r, v, epoch);
        uint64_t a = time_mono_ns();
        if (signer_slashing_check_attestation(sp, pk, GVR, epoch - 1, epoch, r, why, sizeof why) !=
            CL_OK)
            denied++;
        ns[i] = time_mono_ns() - a;
    }
    report(what, ns, n, time_mono_ns() - t0);
    if (denied) printf("  (%zu refused: unexpected)\n", denied);
    free(ns);
}

/* the in-memory part of one check: parse, rules (a linear scan), prune, dump */
static void run_cpu_only(size_t n) {
    char *doc = full_window_doc(1);
    uint64_t *ns = cl_calloc(n, sizeof *ns);
    uint64_t t0 = time_mono_ns();
    for (size_t i = 0; i < n; i++) {
        uint64_t a = time_mono_ns();
        slp_hist h;
        if (slp_hist_parse(doc, &h) != CL_OK) abort();
        uint8_t r[32];
        root_of(r, 1, WINDOW + 1);
        bool surround = false;
        for (size_t k = 0; k < h.na; k++)
            surround |= h.a[k].src > WINDOW || h.a[k].tgt > WINDOW + 1;
        if (surround) abort();
        slp_hist_add_att(&h, WINDOW, WINDOW + 1, r);
        slp_hist_prune(&h, WINDOW, 32);
        free(slp_hist_dump(&h));
        slp_hist_free(&h);
        ns[i] = time_mono_ns() - a;
    }
    report("in-memory part only (no store)", ns, n, time_mono_ns() - t0);
    printf("  document size: %zu bytes (%d attestations with roots)\n", strlen(doc), WINDOW);
    free(ns);
    free(doc);
}

static signer_slashing *open_db(const char *dir, const char *name, store **st) {
    char *url = cl_sprintf("sqlite:%s/%s", dir, name);
    signer_slashing *sp = NULL;
    if (store_open(url, st) != CL_OK || signer_slashing_open(*st, NULL, &sp) != CL_OK) {
        fprintf(stderr, "cannot open %s\n", url);
        exit(1);
    }
    free(url);
    char err[256];
    signer_slashing_pin_genesis_root(sp, GVR, err, sizeof err);
    return sp;
}

static void cleanup(const char *dir, const char *name) {
    const char *sfx[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char *p = cl_sprintf("%s/%s%s", dir, name, sfx[i]);
        unlink(p);
        free(p);
    }
}

int main(void) {
    log_set_level(LOG_WARN);
    const char *e;
    unsigned validators = (e = getenv("SLASHING_BENCH_VALIDATORS")) ? (unsigned)atoi(e) : 10000;
    size_t checks = (e = getenv("SLASHING_BENCH_CHECKS")) ? (size_t)atoi(e) : 2000;
    char tmpl[] = "/tmp/cl_slashing_bench_XXXXXX";
    const char *dir = getenv("SLASHING_BENCH_DIR");
    if (!dir && !(dir = mkdtemp(tmpl))) return 1;
    if (!validators || !checks) return 1;
    printf("slashing protection: SQLite (WAL, synchronous=FULL) in %s, window %d epochs\n", dir,
           WINDOW);

    store *st;
    signer_slashing *sp = open_db(dir, "many.db", &st);
    uint64_t t0 = time_mono_ns();
    for (unsigned v = 0; v < validators; v += 1000) {
        fill_range r = {v, v + 1000 < validators ? v + 1000 : validators};
        if (store_txn(st, fill_txn, &r) != CL_OK) return 1;
    }
    printf("filled %u validators x %d attestations in %.1f s\n", validators, WINDOW,
           (time_mono_ns() - t0) / 1e9);
    char what[64];
    snprintf(what, sizeof what, "ATTESTATION check, %u validators", validators);
    run_checks(sp, validators, checks, what);
    signer_slashing_close(sp);
    store_close(st);
    cleanup(dir, "many.db");

    sp = open_db(dir, "one.db", &st);
    fill_range one = {0, 1};
    if (store_txn(st, fill_txn, &one) != CL_OK) return 1;
    run_checks(sp, 1, checks, "ATTESTATION check, 1 validator");
    signer_slashing_close(sp);
    store_close(st);
    cleanup(dir, "one.db");

    run_cpu_only(checks);
    if (!getenv("SLASHING_BENCH_DIR")) rmdir(dir);
    return 0;
}
