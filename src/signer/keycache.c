/* keycache.c — signer_keyring_load_dir: EIP-2335 keystores from a directory
 * (Web3Signer's layout: DIR/<name>.json with its password in
 * PWDIR/<name>.txt, one trailing newline stripped), decrypted in parallel,
 * and the sealed cache that spares a restart the scrypt work.
 *
 * The cache is one file, written atomically (mode 0600):
 *   "CLSKC1" (6 bytes) || iv (12) || AES-256-GCM(cache_key, aad = the magic,
 *                                             n (u32 BE) || n × (hash 32 || sk 32))
 * where hash = sha256(u64 BE length of the keystore file || its bytes || the
 * password as read, its trailing newline stripped):
 * a keystore or password that changed misses the cache and is decrypted again.
 * A cache that does not open (another key, corrupt) is ignored with a warning
 * and rewritten. Secrets are cleansed; only file names are ever logged. */
#include "signer/keys_internal.h"

#include "crypto/crypto.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KC_MAGIC "CLSKC1"
#define KC_MAGIC_LEN 6
#define KC_ENTRY 64
#define KC_MAX_BYTES (64u << 20)

typedef struct {
    char *name; /* file name in keystores_dir */
    char *path;
    uint8_t hash[32];
    uint8_t sk[SIGNER_SK_LEN];
    bool ok, from_cache, disabled, kept; /* kept: the keyring holds kept_pk from this path */
    bool reused; /* the kept key was reused: the password was not checked, so not cached */
    uint8_t kept_pk[SIGNER_PK_LEN];
} kc_job;

typedef struct {
    signer_keyring *k;
    const char *pwdir;
    const uint8_t *cache; /* sorted entries, n × 64 */
    size_t ncache;
    kc_job *jobs;
    size_t njobs;
    atomic_size_t next;
} kc_run;

/* ---- the sealed cache ---- */

static int kc_cmp(const void *a, const void *b) {
    return memcmp(a, b, 32);
}

/* Opens the cache into plain (sorted entries); false if absent or not authentic. */
static bool kc_open(const char *path, const uint8_t key[32], cl_buf *plain, size_t *n) {
    cl_buf f = CL_BUF_INIT;
    cl_err e = file_read_all(path, &f, KC_MAX_BYTES);
    if (e == CL_ERR_NOT_FOUND || (e == CL_ERR_IO && access(path, F_OK) != 0)) {
        buf_free(&f);
        return false;
    }
    size_t hdr = KC_MAGIC_LEN + CRYPTO_GCM_IV_LEN;
    bool ok = e == CL_OK && f.len >= hdr + 4 + CRYPTO_GCM_TAG_LEN &&
              memcmp(f.ptr, KC_MAGIC, KC_MAGIC_LEN) == 0;
    if (ok) {
        size_t plen = f.len - hdr - CRYPTO_GCM_TAG_LEN;
        buf_reserve(plain, plen);
        ok = crypto_gcm_open(key, f.ptr + KC_MAGIC_LEN, slice_of(KC_MAGIC, KC_MAGIC_LEN),
                             slice_of(f.ptr + hdr, f.len - hdr), plain->ptr) == CL_OK;
        if (ok) {
            plain->len = plen;
            uint32_t cnt = (uint32_t)plain->ptr[0] << 24 | (uint32_t)plain->ptr[1] << 16 |
                           (uint32_t)plain->ptr[2] << 8 | plain->ptr[3];
            ok = (size_t)cnt * KC_ENTRY == plen - 4;
            *n = cnt;
        }
    }
    if (!ok) {
        log_warn("signer: key cache %s does not open (another key or corrupt): ignored, "
                 "it will be rewritten",
                 path);
        buf_clear(plain);
        *n = 0;
    }
    buf_free(&f);
    return ok;
}

static cl_err kc_write(const char *path, const uint8_t key[32], const kc_run *r) {
    cl_buf plain = CL_BUF_INIT;
    uint8_t cnt[4] = {0};
    buf_reserve(&plain, 4 + r->njobs * KC_ENTRY); /* never regrown: no stale copy of a key */
    buf_append(&plain, cnt, 4);
    uint32_t n = 0;
    for (size_t i = 0; i < r->njobs; i++) {
        if (!r->jobs[i].ok || r->jobs[i].reused) continue;
        buf_append(&plain, r->jobs[i].hash, 32);
        buf_append(&plain, r->jobs[i].sk, 32);
        n++;
    }
    plain.ptr[0] = (uint8_t)(n >> 24), plain.ptr[1] = (uint8_t)(n >> 16);
    plain.ptr[2] = (uint8_t)(n >> 8), plain.ptr[3] = (uint8_t)n;
    qsort(plain.ptr + 4, n, KC_ENTRY, kc_cmp);
    size_t hdr = KC_MAGIC_LEN + CRYPTO_GCM_IV_LEN;
    cl_buf f = CL_BUF_INIT;
    buf_reserve(&f, hdr + plain.len + CRYPTO_GCM_TAG_LEN);
    memcpy(f.ptr, KC_MAGIC, KC_MAGIC_LEN);
    crypto_random(f.ptr + KC_MAGIC_LEN, CRYPTO_GCM_IV_LEN);
    cl_err e = crypto_gcm_seal(key, f.ptr + KC_MAGIC_LEN, slice_of(KC_MAGIC, KC_MAGIC_LEN),
                               buf_slice(&plain), f.ptr + hdr);
    f.len = hdr + plain.len + CRYPTO_GCM_TAG_LEN;
    buf_free_secret(&plain);
    if (e == CL_OK) e = file_write_atomic(path, buf_slice(&f), 0600);
    buf_free(&f);
    if (e != CL_OK) log_warn("signer: cannot write the key cache %s: %s", path, cl_err_str(e));
    return e;
}

/* ---- one keystore ---- */

static cl_err kc_password(const char *pwdir, const char *name, cl_buf *pw) {
    size_t base = strlen(name) - 5; /* without ".json" */
    char *p = cl_sprintf("%s/%.*s.txt", pwdir, (int)base, name);
    cl_err e = file_read_all(p, pw, 64 * 1024);
    free(p);
    if (e != CL_OK) return e;
    if (pw->len && pw->ptr[pw->len - 1] == '\n') { /* one "\n" or "\r\n" */
        pw->len--;
        if (pw->len && pw->ptr[pw->len - 1] == '\r') pw->len--;
    }
    return CL_OK;
}

static void kc_hash(cl_slice file, cl_slice pw, uint8_t out[32]) {
    uint8_t len[8]; /* the file's length first: no two (file, password) pairs collide */
    for (int i = 0; i < 8; i++)
        len[i] = (uint8_t)((uint64_t)file.len >> (56 - 8 * i));
    crypto_sha256_ctx *c = crypto_sha256_new();
    crypto_sha256_update(c, slice_of(len, sizeof len));
    crypto_sha256_update(c, file);
    crypto_sha256_update(c, pw);
    crypto_sha256_final(c, out);
}

/* A key the keyring already holds from this very file (same pubkey field) is
 * reused without scrypt; otherwise the cache, otherwise decryption. */
static cl_err kc_secret(kc_run *r, kc_job *j, cl_slice file, cl_slice pw, char *err,
                        size_t errlen) {
    const uint8_t *hit = r->ncache ? bsearch(j->hash, r->cache, r->ncache, KC_ENTRY, kc_cmp) : NULL;
    blst_scalar sc; /* a cheap range check; the keyring computes the pubkey once */
    if (hit && signer_bls_scalar(hit + 32, &sc) == CL_OK) {
        cl_cleanse(&sc, sizeof sc);
        memcpy(j->sk, hit + 32, 32);
        j->from_cache = true;
        return CL_OK;
    }
    signer_keystore_parsed ks;
    if (j->kept && signer_keystore_parse(file, &ks, NULL, 0) == CL_OK && ks.has_pubkey &&
        memcmp(ks.pubkey, j->kept_pk, SIGNER_PK_LEN) == 0 &&
        signer_keyring_secret(r->k, j->kept_pk, j->sk) == CL_OK) {
        j->reused = true;
        return CL_OK;
    }
    return signer_keystore_decrypt(file, pw, j->sk, err, errlen);
}

static void kc_one(kc_run *r, kc_job *j) {
    cl_buf file = CL_BUF_INIT, pw = CL_BUF_INIT;
    char err[160] = "";
    cl_err e = file_read_all(j->path, &file, SIGNER_KEYSTORE_MAX_BYTES);
    if (e != CL_OK)
        snprintf(err, sizeof err, "cannot read: %s", cl_err_str(e));
    else if ((e = kc_password(r->pwdir, j->name, &pw)) != CL_OK)
        snprintf(err, sizeof err, "no readable password file (%s)", cl_err_str(e));
    if (e == CL_OK) {
        kc_hash(buf_slice(&file), buf_slice(&pw), j->hash);
        e = kc_secret(r, j, buf_slice(&file), buf_slice(&pw), err, sizeof err);
    }
    buf_free(&file);
    buf_free_secret(&pw);
    if (e == CL_OK) {
        e = signer_keyring_add_active(r->k, j->sk, SIGNER_SRC_KEYSTORE, j->path, NULL);
        j->disabled = e == CL_ERR_DENIED;
        if (j->disabled)
            log_info("signer: keystore %s: key disabled, not reloaded", j->name);
        else if (e != CL_OK)
            snprintf(err, sizeof err, "not a valid BLS key");
    }
    j->ok = e == CL_OK;
    if (e != CL_OK && !j->disabled) log_warn("signer: keystore %s: %s", j->name, err);
    if (!j->ok) cl_cleanse(j->sk, sizeof j->sk);
}

static void *kc_worker(void *arg) {
    kc_run *r = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&r->next, 1);
        if (i >= r->njobs) return NULL;
        kc_one(r, &r->jobs[i]);
    }
}

/* ---- the directory ---- */

static int kc_name_cmp(const void *a, const void *b) {
    return strcmp(((const kc_job *)a)->name, ((const kc_job *)b)->name);
}

static cl_err kc_list(const char *dir, kc_job **jobs, size_t *n) {
    DIR *d = opendir(dir);
    if (!d) return CL_ERR_IO;
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l <= 5 || strcmp(de->d_name + l - 5, ".json") != 0) continue;
        char *path = cl_sprintf("%s/%s", dir, de->d_name);
        struct stat sb;
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            free(path);
            continue;
        }
        if (*n == cap) *jobs = cl_realloc(*jobs, (cap = cap ? cap * 2 : 64) * sizeof **jobs);
        (*jobs)[(*n)++] = (kc_job){.name = cl_strdup(de->d_name), .path = path};
    }
    closedir(d);
    if (*n) qsort(*jobs, *n, sizeof **jobs, kc_name_cmp);
    return CL_OK;
}

typedef struct {
    kc_job *jobs;
    size_t n;
    const char *dir;
    uint8_t (*gone)[SIGNER_PK_LEN]; /* keys from dir whose file is no longer there */
    size_t ngone, capgone;
} kc_kept_ctx;

static bool kc_mark_kept(void *arg, const uint8_t pk[SIGNER_PK_LEN], signer_key_state st,
                         signer_key_source src, const char *origin) {
    kc_kept_ctx *c = arg;
    if (st != SIGNER_KEY_ACTIVE || src != SIGNER_SRC_KEYSTORE || !origin) return true;
    const char *slash = strrchr(origin, '/');
    kc_job probe = {.name = (char *)(slash ? slash + 1 : origin)};
    kc_job *j = c->n ? bsearch(&probe, c->jobs, c->n, sizeof *j, kc_name_cmp) : NULL;
    if (j && strcmp(j->path, origin) == 0) {
        j->kept = true;
        memcpy(j->kept_pk, pk, SIGNER_PK_LEN);
    } else if (!j && slash && (size_t)(slash - origin) == strlen(c->dir) &&
               strncmp(origin, c->dir, (size_t)(slash - origin)) == 0) {
        if (c->ngone == c->capgone)
            c->gone = cl_realloc(c->gone,
                                 (c->capgone = c->capgone ? c->capgone * 2 : 16) * SIGNER_PK_LEN);
        memcpy(c->gone[c->ngone++], pk, SIGNER_PK_LEN);
    }
    return true;
}

static void kc_run_all(kc_run *r, unsigned threads) {
    if (threads == 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        threads = c > 0 ? (unsigned)c : 1;
    }
    if (threads > r->njobs) threads = (unsigned)(r->njobs ? r->njobs : 1);
    pthread_t *t = cl_calloc(threads, sizeof *t);
    unsigned started = 0;
    for (unsigned i = 1; i < threads; i++)
        if (pthread_create(&t[started], NULL, kc_worker, r) == 0) started++;
    kc_worker(r);
    for (unsigned i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    free(t);
}

cl_err signer_keyring_load_dir(signer_keyring *k, const char *keystores_dir,
                               const char *passwords_dir, const char *cache_path,
                               const uint8_t cache_key[32], unsigned threads,
                               signer_load_report *report) {
    signer_load_report rep = {0};
    if (report) *report = rep;
    if (!k || !keystores_dir || !passwords_dir) return CL_ERR_INVALID;
    kc_run r = {.k = k, .pwdir = passwords_dir};
    if (kc_list(keystores_dir, &r.jobs, &r.njobs) != CL_OK) {
        log_error("signer: cannot open the keystores directory %s", keystores_dir);
        return CL_ERR_IO;
    }
    kc_kept_ctx kept = {.jobs = r.jobs, .n = r.njobs, .dir = keystores_dir};
    signer_keyring_each(k, kc_mark_kept, &kept);
    if (kept.ngone)
        rep.removed =
            signer_keyring_drop(k, (const uint8_t(*)[SIGNER_PK_LEN])kept.gone, kept.ngone);
    free(kept.gone);
    bool use_cache = cache_path && cache_key;
    cl_buf plain = CL_BUF_INIT;
    if (use_cache && kc_open(cache_path, cache_key, &plain, &r.ncache)) r.cache = plain.ptr + 4;
    uint64_t t0 = time_mono_ns();
    kc_run_all(&r, threads);
    bool dirty = false;
    for (size_t i = 0; i < r.njobs; i++) {
        kc_job *j = &r.jobs[i];
        rep.loaded += j->ok;
        rep.from_cache += j->ok && j->from_cache;
        rep.failed += !j->ok && !j->disabled;
        dirty |= j->ok && !j->from_cache;
    }
    /* rewrite when something new was decrypted or an entry went stale */
    if (use_cache && (dirty || rep.from_cache != r.ncache)) kc_write(cache_path, cache_key, &r);
    buf_free_secret(&plain);
    for (size_t i = 0; i < r.njobs; i++) {
        free(r.jobs[i].name);
        free(r.jobs[i].path);
    }
    if (r.jobs) cl_cleanse(r.jobs, r.njobs * sizeof *r.jobs);
    free(r.jobs);
    log_info("signer: %zu keystores loaded from %s (%zu from the cache, %zu failed, %zu removed) "
             "in %llu ms",
             rep.loaded, keystores_dir, rep.from_cache, rep.failed, rep.removed,
             (unsigned long long)((time_mono_ns() - t0) / 1000000));
    if (report) *report = rep;
    return CL_OK;
}
