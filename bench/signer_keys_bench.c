/* signer_keys_bench.c — the figures of the signer's key loading and of raw
 * BLS signing (src/signer keys layer). Prints one line per figure and never
 * fails on time:
 *   1. one standard EIP-2335 scrypt keystore (n=2^18, r=8, p=1) decrypted on
 *      one core: the raw cost t1, and the ideal K·t1/cores;
 *   2. signer_keyring_load_dir on K such keystores (all cores): wall time and
 *      its ratio to the ideal (target ≈ 1.0);
 *   3. the restart with the sealed cache (no scrypt): wall time, keys from the cache;
 *   4. a raw blst sign loop (32-byte messages, a key per thread) on 1 core and on
 *      all cores: signatures/s — the baseline the server's bench compares with.
 *
 * usage: signer_keys_bench            (or: meson test -C build --benchmark signer_keys -v)
 * env:   SIGNER_BENCH_KEYS=K (64)  SIGNER_BENCH_SIGN_SECONDS=S (2)  BENCH_TMP=DIR (/var/tmp)
 *        SIGNER_BENCH_KDF_COST=LOG2 (18: scrypt n = 2^18; lower only to time the cached
 *        restart at 10,000 keys quickly, e.g. SIGNER_BENCH_KEYS=10000 SIGNER_BENCH_KDF_COST=1
 *        BENCH_TMP=/dev/shm)
 * Making the K keystores costs K scrypts spread over all cores before the figures. */
#include "signer/keys_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static unsigned cores(void) {
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c > 0 ? (unsigned)c : 1;
}

static void sk_of(uint32_t i, uint8_t sk[32]) {
    memset(sk, 0, 32);
    sk[0] = 0x2a;
    sk[28] = (uint8_t)(i >> 24), sk[29] = (uint8_t)(i >> 16), sk[30] = (uint8_t)(i >> 8);
    sk[31] = (uint8_t)i;
}

/* ---- making K standard keystores in parallel ---- */

typedef struct {
    const char *ks, *pw;
    size_t k;
    unsigned cost;
    atomic_size_t next;
} make_run;

static void *make_worker(void *arg) {
    make_run *m = arg;
    for (size_t i; (i = atomic_fetch_add(&m->next, 1)) < m->k;) {
        uint8_t sk[32];
        sk_of((uint32_t)i + 1, sk);
        cl_buf js = CL_BUF_INIT;
        if (signer_keystore_encrypt_cost(sk, slice_cstr("bench password"), SIGNER_KDF_SCRYPT,
                                         m->cost, "", &js) != CL_OK)
            abort();
        char *p = cl_sprintf("%s/k%05zu.json", m->ks, i);
        char *q = cl_sprintf("%s/k%05zu.txt", m->pw, i);
        if (file_write_atomic(p, buf_slice(&js), 0600) != CL_OK ||
            file_write_atomic(q, slice_cstr("bench password\n"), 0600) != CL_OK)
            abort();
        free(p), free(q);
        buf_free(&js);
    }
    return NULL;
}

static void run_threads(unsigned n, void *(*fn)(void *), void *arg) {
    pthread_t *t = calloc(n, sizeof *t);
    for (unsigned i = 0; i < n; i++)
        pthread_create(&t[i], NULL, fn, arg);
    for (unsigned i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    free(t);
}

static void bench_load(const char *tmp, size_t k, unsigned cost) {
    char dir[256];
    snprintf(dir, sizeof dir, "%s/signer_keys_bench.XXXXXX", tmp);
    if (!mkdtemp(dir)) {
        perror(dir);
        return;
    }
    char *ks = cl_sprintf("%s/ks", dir), *pw = cl_sprintf("%s/pw", dir),
         *cache = cl_sprintf("%s/cache", dir);
    dir_ensure(ks, 0700), dir_ensure(pw, 0700);
    make_run m = {.ks = ks, .pw = pw, .k = k, .cost = cost};
    atomic_init(&m.next, 0);
    double t0 = now();
    run_threads(cores(), make_worker, &m);
    printf("made %zu scrypt keystores in %.1f s (setup)\n", k, now() - t0);

    /* 1. raw cost of one keystore on one core */
    char *one = cl_sprintf("%s/k00000.json", ks);
    cl_buf js = CL_BUF_INIT;
    file_read_all(one, &js, 1 << 20);
    uint8_t sk[32];
    char err[160];
    t0 = now();
    if (signer_keystore_decrypt(buf_slice(&js), slice_cstr("bench password"), sk, err,
                                sizeof err) != CL_OK)
        printf("decrypt failed: %s\n", err);
    double t1 = now() - t0, ideal = t1 * (double)k / cores();
    cl_cleanse(sk, sizeof sk);
    buf_free(&js);
    free(one);
    printf("scrypt keystore (n=2^%-2u r=8 p=1), 1 core   %9.3f s\n", cost, t1);
    printf("ideal for %zu keys on %u cores (K*t1/cores) %9.3f s\n", k, cores(), ideal);

    /* 2. load_dir on all cores, writing the cache */
    uint8_t key[32];
    memset(key, 0x5c, sizeof key);
    signer_keyring *kr = signer_keyring_new();
    signer_load_report r;
    t0 = now();
    signer_keyring_load_dir(kr, ks, pw, cache, key, 0, &r);
    double tl = now() - t0;
    signer_keyring_free(kr);
    printf("load_dir %zu keystores, %u threads         %9.3f s  (%.2fx the ideal; %zu loaded, %zu "
           "failed)\n",
           k, cores(), tl, tl / ideal, r.loaded, r.failed);

    /* 3. the restart from the sealed cache */
    kr = signer_keyring_new();
    t0 = now();
    signer_keyring_load_dir(kr, ks, pw, cache, key, 0, &r);
    double tc = now() - t0;
    signer_keyring_free(kr);
    printf("restart with the sealed cache              %9.3f s  (%zu of %zu from the cache; "
           "%.1f us a key)\n",
           tc, r.from_cache, k, tc / (double)k * 1e6);
    char *rm = cl_sprintf("rm -rf '%s'", dir);
    if (system(rm) != 0) printf("could not remove %s\n", dir);
    free(rm), free(ks), free(pw), free(cache);
}

/* ---- raw signing ---- */

typedef struct {
    double seconds;
    atomic_uint_fast64_t total;
    atomic_uint seq;
} sign_run;

static void *sign_worker(void *arg) {
    sign_run *s = arg;
    uint8_t sk[32], msg[32], sig[96];
    sk_of(1000 + atomic_fetch_add(&s->seq, 1), sk);
    memset(msg, 0x11, sizeof msg);
    uint64_t n = 0;
    double end = now() + s->seconds;
    while (now() < end) {
        for (int i = 0; i < 16; i++, n++) {
            msg[0] = (uint8_t)n, msg[1] = (uint8_t)(n >> 8);
            signer_bls_sign(sk, slice_of(msg, sizeof msg), sig);
        }
    }
    atomic_fetch_add(&s->total, n);
    return NULL;
}

static void bench_sign(double seconds) {
    unsigned counts[2] = {1, cores()};
    for (int i = 0; i < (counts[1] > 1 ? 2 : 1); i++) {
        sign_run s = {.seconds = seconds};
        atomic_init(&s.total, 0);
        atomic_init(&s.seq, 0);
        double t0 = now();
        run_threads(counts[i], sign_worker, &s);
        double dt = now() - t0;
        printf("raw blst sign loop, %u thread%s            %9.0f signatures/s\n", counts[i],
               counts[i] > 1 ? "s" : " ", (double)atomic_load(&s.total) / dt);
    }
}

int main(void) {
    const char *kenv = getenv("SIGNER_BENCH_KEYS"), *senv = getenv("SIGNER_BENCH_SIGN_SECONDS");
    const char *tmp = getenv("BENCH_TMP"), *cenv = getenv("SIGNER_BENCH_KDF_COST");
    unsigned cost = cenv ? (unsigned)strtoul(cenv, NULL, 10) : 18;
    if (cost < 1 || cost > 18) cost = 18;
    size_t k = kenv ? (size_t)strtoul(kenv, NULL, 10) : 64;
    double secs = senv ? strtod(senv, NULL) : 2.0;
    if (k < 1) k = 1;
    if (secs <= 0) secs = 2.0;
    log_set_level(LOG_WARN);
    printf("signer keys bench: %u online cores, K = %zu keystores\n", cores(), k);
    bench_sign(secs);
    bench_load(tmp ? tmp : "/var/tmp", k, cost);
    return 0;
}
