/* signer_keys_cmd.c — `cloister signer keys generate|list`: new validator keys
 * derived from one seed (EIP-2333, paths m/12381/3600/i/0/0 per EIP-2334),
 * written as EIP-2335 keystores with a random password each in Web3Signer's
 * layout (DIR/keystore-m_12381_3600_i_0_0-<ts>.json, PWDIR/<same name>.txt),
 * in parallel on all cores; and a listing of the keys a keystore directory
 * holds. A new seed goes to DIR/seed.hex (mode 0600): it is the only backup. */
#include "cli/cli.h"
#include "crypto/crypto.h"
#include "signer/keys_internal.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SK_MAX_COUNT 100000

typedef struct {
    const char *count, *ks_dir, *pw_dir, *start, *seed_file, *kdf, *cost;
} keys_opts;

static int keys_usage(FILE *f, int rc) {
    fprintf(f,
            "usage: cloister signer keys generate --count N --keystores-path DIR\n"
            "           --keystores-passwords-path DIR [--start-index I] [--seed-file FILE]\n"
            "           [--kdf scrypt|pbkdf2] [--kdf-cost LOG2 (18; lower only for tests)]\n"
            "       cloister signer keys list --keystores-path DIR --keystores-passwords-path DIR\n"
            "  generate prints the new public keys as a JSON array; without --seed-file a\n"
            "  new seed is written to DIR/seed.hex (mode 0600), the only backup of the keys.\n"
            "  see docs/signer.md\n");
    return rc;
}

static bool keys_parse(int argc, char **argv, keys_opts *o) {
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char **slot = strcmp(a, "--count") == 0                      ? &o->count
                            : strcmp(a, "--keystores-path") == 0           ? &o->ks_dir
                            : strcmp(a, "--keystores-passwords-path") == 0 ? &o->pw_dir
                            : strcmp(a, "--start-index") == 0              ? &o->start
                            : strcmp(a, "--seed-file") == 0                ? &o->seed_file
                            : strcmp(a, "--kdf") == 0                      ? &o->kdf
                            : strcmp(a, "--kdf-cost") == 0                 ? &o->cost
                                                                           : NULL;
        if (!slot || !v) return false;
        *slot = v;
        i++;
    }
    return o->ks_dir && o->pw_dir;
}

static bool keys_num(const char *s, uint64_t min, uint64_t max, uint64_t *out) {
    return s && slice_to_u64(slice_cstr(s), out) == CL_OK && *out >= min && *out <= max;
}

/* ---- the seed ---- */

static cl_err keys_read_seed(const char *path, cl_buf *seed) {
    cl_buf txt = CL_BUF_INIT;
    cl_err e = file_read_all(path, &txt, 4096);
    if (e == CL_OK) {
        cl_slice s = buf_slice(&txt);
        while (s.len &&
               (s.ptr[s.len - 1] == '\n' || s.ptr[s.len - 1] == '\r' || s.ptr[s.len - 1] == ' '))
            s.len--;
        if (slice_starts_with(s, "0x")) s = slice_sub(s, 2, s.len - 2);
        e = hex_decode(seed, s);
        if (e == CL_OK && (seed->len < 32 || seed->len > 64)) e = CL_ERR_INVALID;
    }
    buf_free_secret(&txt);
    return e;
}

static cl_err keys_new_seed(const char *ks_dir, cl_buf *seed) {
    char *path = cl_sprintf("%s/seed.hex", ks_dir);
    if (access(path, F_OK) == 0) {
        fprintf(stderr,
                "cloister signer keys: %s exists: pass it as --seed-file to derive more keys "
                "(never overwritten)\n",
                path);
        free(path);
        return CL_ERR_EXISTS;
    }
    uint8_t raw[32];
    crypto_random(raw, sizeof raw);
    buf_append(seed, raw, sizeof raw);
    cl_buf txt = CL_BUF_INIT;
    hex_encode(&txt, slice_of(raw, sizeof raw));
    buf_append_byte(&txt, '\n');
    cl_cleanse(raw, sizeof raw);
    cl_err e = file_write_atomic(path, buf_slice(&txt), 0600);
    buf_free_secret(&txt);
    if (e == CL_OK)
        fprintf(stderr,
                "cloister signer keys: a new seed was written to %s (mode 0600): it is the only "
                "backup of these keys; copy it somewhere safe and offline\n",
                path);
    free(path);
    return e;
}

/* ---- generation, one job per key ---- */

typedef struct {
    cl_slice seed;
    const char *ks_dir, *pw_dir;
    signer_kdf kdf;
    unsigned cost;
    uint64_t start, count;
    time_t ts;
    uint8_t (*pks)[SIGNER_PK_LEN];
    cl_err *errs;
    atomic_uint_fast64_t next;
} gen_run;

static cl_err gen_one(gen_run *g, uint64_t idx) {
    char path[64], name[96];
    snprintf(path, sizeof path, "m/12381/3600/%llu/0/0", (unsigned long long)idx);
    snprintf(name, sizeof name, "keystore-m_12381_3600_%llu_0_0-%lld", (unsigned long long)idx,
             (long long)g->ts);
    char *ks = cl_sprintf("%s/%s.json", g->ks_dir, name),
         *pw = cl_sprintf("%s/%s.txt", g->pw_dir, name);
    uint8_t sk[SIGNER_SK_LEN];
    char password[33];
    cl_buf json = CL_BUF_INIT;
    cl_err e = access(ks, F_OK) == 0 ? CL_ERR_EXISTS : CL_OK;
    if (e == CL_OK) e = signer_derive_path(g->seed, path, sk);
    if (e == CL_OK) e = signer_bls_pubkey(sk, g->pks[idx - g->start]);
    if (e == CL_OK) {
        crypto_random_string(password, 32,
                             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
        e = signer_keystore_encrypt_cost(sk, slice_cstr(password), g->kdf, g->cost, path, &json);
    }
    /* the password first: a keystore never exists without its password */
    if (e == CL_OK) e = file_write_atomic(pw, slice_cstr(password), 0600);
    if (e == CL_OK) e = file_write_atomic(ks, buf_slice(&json), 0600);
    cl_cleanse(sk, sizeof sk);
    cl_cleanse(password, sizeof password);
    buf_free(&json);
    if (e != CL_OK) fprintf(stderr, "cloister signer keys: %s: %s\n", ks, cl_err_str(e));
    free(ks);
    free(pw);
    return e;
}

static void *gen_worker(void *arg) {
    gen_run *g = arg;
    for (;;) {
        uint64_t i = atomic_fetch_add(&g->next, 1);
        if (i >= g->count) return NULL;
        g->errs[i] = gen_one(g, g->start + i);
    }
}

static int gen_all(gen_run *g) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t threads = cores > 0 ? (size_t)cores : 1;
    if (threads > g->count) threads = (size_t)g->count;
    pthread_t *t = cl_calloc(threads, sizeof *t);
    size_t started = 0;
    for (size_t i = 1; i < threads; i++)
        if (pthread_create(&t[started], NULL, gen_worker, g) == 0) started++;
    gen_worker(g);
    for (size_t i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    free(t);
    json_t *arr = json_array();
    int rc = 0;
    for (uint64_t i = 0; i < g->count; i++) {
        if (g->errs[i] != CL_OK) {
            rc = 1;
            continue;
        }
        char hex[2 * SIGNER_PK_LEN + 3] = "0x";
        hex_encode_to(hex + 2, g->pks[i], SIGNER_PK_LEN);
        json_array_append_new(arr, json_string(hex));
    }
    char *s = json_dumps(arr, JSON_INDENT(2));
    printf("%s\n", s);
    free(s);
    json_decref(arr);
    return rc;
}

static int keys_generate(const keys_opts *o) {
    uint64_t count, start = 0, cost = 18;
    if (!keys_num(o->count, 1, SK_MAX_COUNT, &count) ||
        (o->start && !keys_num(o->start, 0, UINT32_MAX - count + 1, &start)) ||
        (o->cost && !keys_num(o->cost, 1, 18, &cost)) ||
        (o->kdf && strcmp(o->kdf, "scrypt") != 0 && strcmp(o->kdf, "pbkdf2") != 0))
        return keys_usage(stderr, 2);
    if (cost < 18)
        fprintf(stderr,
                "cloister signer keys: --kdf-cost %llu is below the standard 18: "
                "for tests only\n",
                (unsigned long long)cost);
    if (dir_ensure(o->ks_dir, 0700) != CL_OK || dir_ensure(o->pw_dir, 0700) != CL_OK) {
        fprintf(stderr, "cloister signer keys: cannot create %s or %s\n", o->ks_dir, o->pw_dir);
        return 1;
    }
    cl_buf seed = CL_BUF_INIT;
    cl_err e = o->seed_file ? keys_read_seed(o->seed_file, &seed) : keys_new_seed(o->ks_dir, &seed);
    if (e != CL_OK) {
        if (o->seed_file)
            fprintf(stderr, "cloister signer keys: %s: not a seed (32 to 64 bytes of hex): %s\n",
                    o->seed_file, cl_err_str(e));
        buf_free_secret(&seed);
        return 1;
    }
    gen_run g = {.seed = buf_slice(&seed),
                 .ks_dir = o->ks_dir,
                 .pw_dir = o->pw_dir,
                 .kdf = o->kdf && strcmp(o->kdf, "pbkdf2") == 0 ? SIGNER_KDF_PBKDF2
                                                                : SIGNER_KDF_SCRYPT,
                 .cost = (unsigned)cost,
                 .start = start,
                 .count = count,
                 .ts = time(NULL)};
    g.pks = cl_calloc(count, SIGNER_PK_LEN);
    g.errs = cl_calloc(count, sizeof *g.errs);
    atomic_init(&g.next, 0);
    int rc = gen_all(&g);
    free(g.pks);
    free(g.errs);
    buf_free_secret(&seed);
    return rc;
}

/* ---- list ---- */

static bool list_fn(void *arg, const uint8_t pk[SIGNER_PK_LEN], signer_key_state st,
                    signer_key_source src, const char *origin) {
    (void)st, (void)src, (void)origin;
    char hex[2 * SIGNER_PK_LEN + 3] = "0x";
    hex_encode_to(hex + 2, pk, SIGNER_PK_LEN);
    json_array_append_new(arg, json_string(hex));
    return true;
}

static int keys_list(const keys_opts *o) {
    signer_keyring *k = signer_keyring_new();
    signer_load_report r;
    cl_err e = signer_keyring_load_dir(k, o->ks_dir, o->pw_dir, NULL, NULL, 0, &r);
    json_t *arr = json_array();
    signer_keyring_each(k, list_fn, arr);
    signer_keyring_free(k);
    char *s = json_dumps(arr, JSON_INDENT(2));
    if (e == CL_OK) printf("%s\n", s);
    free(s);
    json_decref(arr);
    return e != CL_OK || r.failed ? 1 : 0;
}

int cmd_signer_keys(int argc, char **argv) {
    const char *sub = argc > 1 ? argv[1] : NULL;
    if (!sub) return keys_usage(stderr, 2);
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) return keys_usage(stdout, 0);
    keys_opts o = {0};
    if (!keys_parse(argc, argv, &o)) return keys_usage(stderr, 2);
    if (strcmp(sub, "generate") == 0) return keys_generate(&o);
    if (strcmp(sub, "list") == 0 && !o.count && !o.start && !o.seed_file && !o.kdf && !o.cost)
        return keys_list(&o);
    return keys_usage(stderr, 2);
}
