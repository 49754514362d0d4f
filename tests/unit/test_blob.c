/* test_blob.c — the blob store and the segmented AEAD that SSE stores in it.
 * Blob store: streamed round trips at the segment-size edges and past 5 MiB,
 * random ranges, abort, stale temp sweeping (and sparing live writers), delete,
 * walk and GC, pins deferring deletes, and kill -9 durability: every id a child reported finished
 * reads back byte-exact after its SIGKILL, with no temp files left after reopen. crypto_seg: NIST
 * GCM vectors for the primitive, size arithmetic, round trips with random pieces and ranges, and
 * every tampering the format must catch. Randomness is a seeded xorshift (seed printed;
 * CL_TEST_SEED to replay). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "crypto/crypto.h"
#include "store/blob.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB (1024 * 1024)

static char root[64];
static uint64_t rng_state;

/* ---- fixtures and helpers ---- */

static uint64_t rnd(void) {
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static size_t rnd_below(size_t n) {
    return n ? (size_t)(rnd() % n) : 0;
}

static void fill(uint8_t *p, size_t n, uint64_t seed) {
    uint64_t saved = rng_state;
    rng_state = seed | 1;
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(rnd() >> 56);
    rng_state = saved;
}

static int setup(void **s) {
    (void)s;
    strcpy(root, "/tmp/cl-blob-XXXXXX");
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **s) {
    (void)s;
    char *cmd = cl_sprintf("rm -rf %s", root);
    int rc = system(cmd);
    free(cmd);
    return rc;
}

static char *store_dir(const char *name) {
    return cl_sprintf("%s/%s/blobs", root, name);
}

static blob_store *open_store(const char *name) {
    char *d = store_dir(name);
    blob_store *bs = NULL;
    assert_int_equal(blob_store_open(d, &bs), CL_OK);
    free(d);
    return bs;
}

static size_t count_entries(const char *dir) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

static size_t tmp_count(const char *name) {
    char *d = cl_sprintf("%s/%s/blobs/tmp", root, name);
    size_t n = count_entries(d);
    free(d);
    return n;
}

/* A piece size that exercises tiny appends, buffer-sized ones and huge ones. */
static size_t piece_len(void) {
    switch (rnd_below(3)) {
    case 0:
        return 1 + rnd_below(100);
    case 1:
        return 1 + rnd_below(128 * 1024);
    default:
        return 1 + rnd_below(700 * 1024);
    }
}

static void write_blob(blob_store *bs, const uint8_t *data, size_t n, char id[BLOB_ID_LEN + 1]) {
    blob_writer *w = NULL;
    assert_int_equal(blob_begin(bs, &w), CL_OK);
    for (size_t off = 0; off < n;) {
        size_t k = piece_len();
        if (k > n - off) k = n - off;
        assert_int_equal(blob_append(w, slice_of(data + off, k)), CL_OK);
        off += k;
    }
    assert_int_equal(blob_writer_size(w), n);
    assert_int_equal(blob_finish(w, id), CL_OK);
    assert_true(blob_id_valid(id));
}

static void check_ranges(blob_reader *r, const uint8_t *data, size_t n, int count) {
    uint8_t *buf = cl_malloc(n + 1);
    for (int i = 0; i < count; i++) {
        size_t off = rnd_below(n + 1), len = rnd_below(n - off + 1);
        assert_int_equal(blob_read_at(r, off, buf, len), CL_OK);
        assert_memory_equal(buf, data + off, len);
    }
    free(buf);
}

/* ---- blob store ---- */

static void test_roundtrip_sizes(void **s) {
    (void)s;
    static const size_t sizes[] = {0, 1, 65535, 65536, 65537, 5 * MIB + 1};
    blob_store *bs = open_store("rt");
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        size_t n = sizes[i];
        uint8_t *data = cl_malloc(n + 1);
        fill(data, n, rnd());
        char id[BLOB_ID_LEN + 1];
        write_blob(bs, data, n, id);
        uint64_t sz = 99;
        assert_int_equal(blob_stat(bs, id, &sz), CL_OK);
        assert_int_equal(sz, n);
        blob_reader *r = NULL;
        assert_int_equal(blob_open(bs, id, &r), CL_OK);
        assert_int_equal(blob_size(r), n);
        uint8_t *back = cl_malloc(n + 1);
        assert_int_equal(blob_read_at(r, 0, back, n), CL_OK);
        assert_memory_equal(back, data, n);
        check_ranges(r, data, n, 40);
        /* the fd serves pread/sendfile at explicit offsets */
        if (n > 10) assert_int_equal(pread(blob_fd(r), back, 10, (off_t)(n - 10)), 10);
        if (n > 10) assert_memory_equal(back, data + n - 10, 10);
        blob_close(r);
        free(back);
        free(data);
    }
    assert_int_equal(tmp_count("rt"), 0);
    blob_store_close(bs);
}

static void test_layout_and_ids(void **s) {
    (void)s;
    blob_store *bs = open_store("ids");
    char a[BLOB_ID_LEN + 1], b[BLOB_ID_LEN + 1];
    write_blob(bs, (const uint8_t *)"x", 1, a);
    write_blob(bs, (const uint8_t *)"x", 1, b);
    assert_string_not_equal(a, b); /* content-independent */
    char *p = cl_sprintf("%s/ids/blobs/%.2s/%.2s/%s", root, a, a + 2, a);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    free(p);
    assert_false(blob_id_valid("../../../../etc/passwd"));
    assert_false(blob_id_valid("0123456789ABCDEF0123456789abcdef"));
    assert_false(blob_id_valid("0123456789abcdef0123456789abcde"));
    assert_false(blob_id_valid("0123456789abcdef0123456789abcdef0"));
    assert_false(blob_id_valid(NULL));
    assert_true(blob_id_valid("0123456789abcdef0123456789abcdef"));
    blob_reader *r = NULL;
    assert_int_equal(blob_open(bs, "../../../../etc/passwd", &r), CL_ERR_INVALID);
    assert_int_equal(blob_open(bs, "0123456789abcdef0123456789abcdef", &r), CL_ERR_NOT_FOUND);
    blob_store_close(bs);
}

static void test_read_bounds_and_take_fd(void **s) {
    (void)s;
    blob_store *bs = open_store("bounds");
    char id[BLOB_ID_LEN + 1];
    write_blob(bs, (const uint8_t *)"hello", 5, id);
    blob_reader *r = NULL;
    assert_int_equal(blob_open(bs, id, &r), CL_OK);
    uint8_t buf[8];
    assert_int_equal(blob_read_at(r, 5, buf, 0), CL_OK);
    assert_int_equal(blob_read_at(r, 3, buf, 3), CL_ERR_INVALID);
    assert_int_equal(blob_read_at(r, 6, buf, 0), CL_ERR_INVALID);
    assert_int_equal(blob_read_cb(r, 1, buf, 4), CL_OK);
    assert_memory_equal(buf, "ello", 4);
    int fd = blob_take_fd(r);
    assert_true(fd >= 0);
    assert_int_equal(blob_fd(r), -1);
    assert_int_equal(blob_read_at(r, 0, buf, 1), CL_ERR_INVALID);
    blob_close(r); /* must not close the taken fd */
    assert_int_equal(pread(fd, buf, 5, 0), 5);
    assert_memory_equal(buf, "hello", 5);
    close(fd);
    blob_store_close(bs);
}

static void test_abort_leaves_nothing(void **s) {
    (void)s;
    blob_store *bs = open_store("abort");
    blob_writer *w = NULL;
    assert_int_equal(blob_begin(bs, &w), CL_OK);
    uint8_t data[300000];
    fill(data, sizeof data, 7);
    assert_int_equal(blob_append(w, slice_of(data, sizeof data)), CL_OK);
    assert_int_equal(tmp_count("abort"), 1);
    blob_abort(w);
    blob_abort(NULL);
    assert_int_equal(tmp_count("abort"), 0);
    char *d = store_dir("abort");
    assert_int_equal(count_entries(d), 1); /* only tmp/ */
    free(d);
    blob_store_close(bs);
}

static void test_stale_tmp_swept_live_spared(void **s) {
    (void)s;
    blob_store *bs = open_store("stale");
    /* a live writer in this process */
    blob_writer *w = NULL;
    assert_int_equal(blob_begin(bs, &w), CL_OK);
    assert_int_equal(blob_append(w, slice_cstr("still writing")), CL_OK);
    /* a temp file nobody holds, as a crash leaves behind */
    char *stale = cl_sprintf("%s/stale/blobs/tmp/0123456789abcdef0123456789abcdef", root);
    assert_int_equal(file_write_atomic(stale, slice_cstr("half an object"), 0600), CL_OK);
    assert_int_equal(tmp_count("stale"), 2);
    blob_store *again = open_store("stale"); /* sweeps: stale gone, live kept */
    struct stat st;
    assert_int_not_equal(stat(stale, &st), 0);
    assert_int_equal(tmp_count("stale"), 1);
    char id[BLOB_ID_LEN + 1];
    assert_int_equal(blob_finish(w, id), CL_OK);
    blob_reader *r = NULL;
    assert_int_equal(blob_open(again, id, &r), CL_OK);
    char buf[13];
    assert_int_equal(blob_read_at(r, 0, buf, 13), CL_OK);
    assert_memory_equal(buf, "still writing", 13);
    blob_close(r);
    assert_int_equal(tmp_count("stale"), 0);
    free(stale);
    blob_store_close(again);
    blob_store_close(bs);
}

typedef struct {
    char ids[16][BLOB_ID_LEN + 1];
    uint64_t sizes[16];
    int n;
} walked;

static bool collect(void *arg, const char *id, uint64_t size, time_t mtime) {
    walked *w = arg;
    assert_true(mtime > 0);
    snprintf(w->ids[w->n], sizeof w->ids[0], "%s", id);
    w->sizes[w->n++] = size;
    return true;
}

static bool live_if_small(void *arg, const char *id) {
    blob_store *bs = arg;
    uint64_t size = 0;
    assert_int_equal(blob_stat(bs, id, &size), CL_OK);
    return size < 3;
}

static void test_delete_walk_gc(void **s) {
    (void)s;
    blob_store *bs = open_store("gc");
    char ids[5][BLOB_ID_LEN + 1];
    for (int i = 0; i < 5; i++)
        write_blob(bs, (const uint8_t *)"abcde", (size_t)i + 1, ids[i]);
    assert_int_equal(blob_delete(bs, ids[4]), CL_OK);
    assert_int_equal(blob_delete(bs, ids[4]), CL_ERR_NOT_FOUND);
    blob_reader *r = NULL;
    assert_int_equal(blob_open(bs, ids[4], &r), CL_ERR_NOT_FOUND);
    walked w = {.n = 0};
    assert_int_equal(blob_walk(bs, collect, &w), CL_OK);
    assert_int_equal(w.n, 4);
    uint64_t total = 0;
    for (int i = 0; i < w.n; i++)
        total += w.sizes[i];
    assert_int_equal(total, 1 + 2 + 3 + 4);
    size_t removed = 99;
    /* within the grace period nothing goes, live or not */
    assert_int_equal(blob_gc(bs, time(NULL) - 3600, live_if_small, bs, &removed), CL_OK);
    assert_int_equal(removed, 0);
    assert_int_equal(blob_gc(bs, time(NULL) + 10, live_if_small, bs, &removed), CL_OK);
    assert_int_equal(removed, 2); /* sizes 3 and 4 */
    w.n = 0;
    assert_int_equal(blob_walk(bs, collect, &w), CL_OK);
    assert_int_equal(w.n, 2);
    assert_int_equal(blob_open(bs, ids[0], &r), CL_OK);
    blob_close(r);
    blob_store_close(bs);
}

static bool none_live(void *arg, const char *id) {
    (void)arg, (void)id;
    return false;
}

/* Pins: a pinned blob survives blob_delete and blob_gc until its last unpin;
 * pinning a deleted blob fails; pins nest. */
static void test_pins_defer_delete(void **s) {
    (void)s;
    blob_store *bs = open_store("pins");
    char a[BLOB_ID_LEN + 1], b[BLOB_ID_LEN + 1];
    write_blob(bs, (const uint8_t *)"pinned", 6, a);
    write_blob(bs, (const uint8_t *)"free", 4, b);
    assert_int_equal(blob_pin_id(bs, a), CL_OK);
    assert_int_equal(blob_pin_id(bs, a), CL_OK); /* nested */
    assert_int_equal(blob_delete(bs, a), CL_OK); /* only marked */
    uint64_t size = 0;
    assert_int_equal(blob_stat(bs, a, &size), CL_OK);
    assert_int_equal(size, 6);
    assert_int_equal(blob_pin_id(bs, a), CL_OK); /* a marked blob is still there to pin */
    blob_unpin_id(bs, a);
    size_t removed = 99;
    assert_int_equal(blob_gc(bs, time(NULL) + 10, none_live, NULL, &removed), CL_OK);
    assert_int_equal(blob_stat(bs, a, &size), CL_OK); /* GC spares it too */
    assert_int_equal(blob_stat(bs, b, &size), CL_ERR_NOT_FOUND);
    blob_unpin_id(bs, a);
    assert_int_equal(blob_stat(bs, a, &size), CL_OK); /* one pin left */
    blob_unpin_id(bs, a);
    assert_int_equal(blob_stat(bs, a, &size), CL_ERR_NOT_FOUND); /* the last unpin unlinked it */
    assert_int_equal(blob_pin_id(bs, a), CL_ERR_NOT_FOUND);
    assert_int_equal(blob_pin_id(bs, "not-an-id"), CL_ERR_INVALID);
    char c[BLOB_ID_LEN + 1];
    write_blob(bs, (const uint8_t *)"kept", 4, c);
    assert_int_equal(blob_pin_id(bs, c), CL_OK);
    blob_unpin_id(bs, c); /* never deleted: unpinning leaves it */
    assert_int_equal(blob_stat(bs, c, &size), CL_OK);
    blob_store_close(bs);
}

/* ---- kill -9 durability ---- */

typedef struct {
    char id[BLOB_ID_LEN + 1];
    uint64_t size;
    uint8_t sha[CRYPTO_SHA256_LEN];
} report;

/* Child: writes blobs of random sizes in random pieces forever, reporting each
 * one after blob_finish returned. Never returns. */
static void child_writer(int fd) {
    blob_store *bs = NULL;
    char *d = store_dir("kill9");
    if (blob_store_open(d, &bs) != CL_OK) _exit(2);
    static uint8_t data[1100 * 1024];
    for (uint64_t i = 1;; i++) {
        report rep = {.size = rnd_below(sizeof data)};
        blob_writer *w = NULL;
        if (blob_begin(bs, &w) != CL_OK) _exit(3);
        fill(data, rep.size, i * 7919); /* inside the write, so most kills land mid-write */
        crypto_sha256_ctx *h = crypto_sha256_new();
        for (size_t off = 0; off < rep.size;) {
            size_t k = 1 + rnd_below(64 * 1024);
            if (k > rep.size - off) k = rep.size - off;
            crypto_sha256_update(h, slice_of(data + off, k));
            if (blob_append(w, slice_of(data + off, k)) != CL_OK) _exit(4);
            off += k;
        }
        crypto_sha256_final(h, rep.sha);
        if (blob_finish(w, rep.id) != CL_OK) _exit(5);
        if (write(fd, &rep, sizeof rep) != (ssize_t)sizeof rep) _exit(6);
    }
}

static bool read_report(int fd, report *rep) {
    size_t got = 0;
    while (got < sizeof *rep) {
        ssize_t n = read(fd, (uint8_t *)rep + got, sizeof *rep - got);
        if (n <= 0) return false;
        got += (size_t)n;
    }
    return true;
}

static void verify_report(blob_store *bs, const report *rep) {
    blob_reader *r = NULL;
    assert_int_equal(blob_open(bs, rep->id, &r), CL_OK);
    assert_int_equal(blob_size(r), rep->size);
    uint8_t *buf = cl_malloc(rep->size + 1);
    assert_int_equal(blob_read_at(r, 0, buf, rep->size), CL_OK);
    uint8_t sha[CRYPTO_SHA256_LEN];
    crypto_sha256(slice_of(buf, rep->size), sha);
    assert_memory_equal(sha, rep->sha, sizeof sha);
    free(buf);
    blob_close(r);
}

static void test_kill9_durability(void **s) {
    (void)s;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        child_writer(fds[1]);
    }
    close(fds[1]);
    static report reps[4096];
    size_t n = 0;
    while (n < 25 && read_report(fds[0], &reps[n]))
        n++;
    assert_int_equal(n, 25);
    usleep((useconds_t)rnd_below(20000)); /* land the kill at a random point of a write */
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status));
    while (n < sizeof reps / sizeof *reps && read_report(fds[0], &reps[n]))
        n++;
    close(fds[0]);
    size_t left = tmp_count("kill9");
    blob_store *bs = open_store("kill9");
    assert_int_equal(tmp_count("kill9"), 0);
    for (size_t i = 0; i < n; i++)
        verify_report(bs, &reps[i]);
    print_message("kill9: %zu reported blobs intact, %zu temp file(s) swept\n", n, left);
    blob_store_close(bs);
}

/* ---- AES-256-GCM primitive ---- */

static void unhex(const char *h, cl_buf *out) {
    buf_clear(out);
    assert_int_equal(hex_decode(out, slice_cstr(h)), CL_OK);
}

/* McGrew & Viega GCM spec test cases 13, 14 and 16 (AES-256), as in NIST's
 * GCM validation vectors. */
static void test_gcm_vectors(void **s) {
    (void)s;
    static const struct {
        const char *key, *iv, *pt, *aad, *ct_tag;
    } v[] = {
        {"0000000000000000000000000000000000000000000000000000000000000000",
         "000000000000000000000000", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
        {"0000000000000000000000000000000000000000000000000000000000000000",
         "000000000000000000000000", "00000000000000000000000000000000", "",
         "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919"},
        {"feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
         "cafebabefacedbaddecaf888",
         "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
         "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
         "feedfacedeadbeeffeedfacedeadbeefabaddad2",
         "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
         "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
         "76fc6ece0f4e1768cddf8853bb2d551b"},
    };
    cl_buf key = CL_BUF_INIT, iv = CL_BUF_INIT, pt = CL_BUF_INIT, aad = CL_BUF_INIT,
           want = CL_BUF_INIT;
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        unhex(v[i].key, &key);
        unhex(v[i].iv, &iv);
        unhex(v[i].pt, &pt);
        unhex(v[i].aad, &aad);
        unhex(v[i].ct_tag, &want);
        uint8_t out[128], back[128];
        assert_int_equal(crypto_gcm_seal(key.ptr, iv.ptr, buf_slice(&aad), buf_slice(&pt), out),
                         CL_OK);
        assert_memory_equal(out, want.ptr, want.len);
        assert_int_equal(crypto_gcm_open(key.ptr, iv.ptr, buf_slice(&aad), buf_slice(&want), back),
                         CL_OK);
        assert_memory_equal(back, pt.ptr, pt.len);
        want.ptr[want.len - 1] ^= 1; /* a flipped tag bit */
        assert_int_equal(crypto_gcm_open(key.ptr, iv.ptr, buf_slice(&aad), buf_slice(&want), back),
                         CL_ERR_CRYPTO);
    }
    buf_free(&key);
    buf_free(&iv);
    buf_free(&pt);
    buf_free(&aad);
    buf_free(&want);
}

/* ---- segmented streams ---- */

typedef struct {
    const uint8_t *p;
    size_t n;
} memsrc;

static cl_err mem_read(void *arg, uint64_t off, void *buf, size_t n) {
    memsrc *m = arg;
    if (off > m->n || n > m->n - off) return CL_ERR_IO;
    memcpy(buf, m->p + off, n);
    return CL_OK;
}

static const uint8_t key_a[32] = "0123456789abcdef0123456789abcdef";
static const uint8_t key_b[32] = "fedcba9876543210fedcba9876543210";

static void seg_encrypt(const uint8_t *key, const char *ctx, const uint8_t *p, size_t n,
                        cl_buf *out) {
    crypto_seg_enc *e = NULL;
    assert_int_equal(crypto_seg_enc_new(key, slice_cstr(ctx), &e), CL_OK);
    buf_clear(out);
    for (size_t off = 0; off < n;) {
        size_t k = piece_len();
        if (k > n - off) k = n - off;
        assert_int_equal(crypto_seg_enc_update(e, slice_of(p + off, k), out), CL_OK);
        off += k;
    }
    assert_int_equal(crypto_seg_enc_final(e, out), CL_OK);
    assert_int_equal(out->len, crypto_seg_cipher_size(n));
}

/* Decrypts [off, off+len) of the stream in ct; returns the error of open or read. */
static cl_err seg_decrypt(const uint8_t *key, const char *ctx, cl_slice ct, uint64_t off,
                          size_t len, uint8_t *out) {
    memsrc m = {ct.ptr, ct.len};
    crypto_seg_dec *d = NULL;
    cl_err e = crypto_seg_dec_open(key, slice_cstr(ctx), ct.len, mem_read, &m, &d);
    if (e != CL_OK) return e;
    e = crypto_seg_dec_read(d, off, out, len);
    crypto_seg_dec_free(d);
    return e;
}

static void test_seg_sizes(void **s) {
    (void)s;
    const uint64_t H = CRYPTO_SEG_HEADER_LEN, T = CRYPTO_SEG_TAG_LEN, S = CRYPTO_SEG_SIZE;
    assert_int_equal(crypto_seg_cipher_size(0), H + T);
    assert_int_equal(crypto_seg_cipher_size(1), H + 1 + T);
    assert_int_equal(crypto_seg_cipher_size(S), H + S + T);
    assert_int_equal(crypto_seg_cipher_size(S + 1), H + S + 1 + 2 * T);
    for (int i = 0; i < 2000; i++) {
        uint64_t p = i < 1000 ? (uint64_t)i * 331 : rnd() % ((uint64_t)1 << 42);
        uint64_t back = ~0ULL;
        assert_int_equal(crypto_seg_plain_size(crypto_seg_cipher_size(p), &back), CL_OK);
        assert_int_equal(back, p);
    }
    uint64_t p;
    assert_int_equal(crypto_seg_plain_size(0, &p), CL_ERR_INVALID);
    assert_int_equal(crypto_seg_plain_size(H, &p), CL_ERR_INVALID);
    assert_int_equal(crypto_seg_plain_size(H + T - 1, &p), CL_ERR_INVALID);
    assert_int_equal(crypto_seg_plain_size(H + S + T + 5, &p), CL_ERR_INVALID); /* torn tag */
    assert_int_equal(crypto_seg_plain_size(H + S + T + T, &p), CL_ERR_INVALID); /* empty last */
}

static void test_seg_roundtrip(void **s) {
    (void)s;
    static const size_t sizes[] = {0, 1, 15, 16, 65535, 65536, 65537, 131072, 3 * 65536 + 7};
    cl_buf ct = CL_BUF_INIT;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes + 6; i++) {
        size_t n = i < sizeof sizes / sizeof *sizes ? sizes[i] : rnd_below(2 * MIB);
        uint8_t *p = cl_malloc(n + 1), *back = cl_malloc(n + 1);
        fill(p, n, rnd());
        seg_encrypt(key_a, "bucket/key", p, n, &ct);
        assert_int_equal(seg_decrypt(key_a, "bucket/key", buf_slice(&ct), 0, n, back), CL_OK);
        assert_memory_equal(back, p, n);
        memsrc m = {ct.ptr, ct.len};
        crypto_seg_dec *d = NULL;
        assert_int_equal(
            crypto_seg_dec_open(key_a, slice_cstr("bucket/key"), ct.len, mem_read, &m, &d), CL_OK);
        assert_int_equal(crypto_seg_dec_size(d), n);
        for (int r = 0; r < 60; r++) {
            size_t off = rnd_below(n + 1), len = rnd_below(n - off + 1);
            if (r % 3 == 0 && len > 300) len = 300; /* small ranges, often inside one segment */
            assert_int_equal(crypto_seg_dec_read(d, off, back, len), CL_OK);
            assert_memory_equal(back, p + off, len);
        }
        assert_int_equal(crypto_seg_dec_read(d, n, back, 1), CL_ERR_INVALID);
        crypto_seg_dec_free(d);
        free(p);
        free(back);
    }
    /* same plaintext, key and context: fresh salt and prefix, different bytes */
    cl_buf ct2 = CL_BUF_INIT;
    seg_encrypt(key_a, "c", (const uint8_t *)"same", 4, &ct);
    seg_encrypt(key_a, "c", (const uint8_t *)"same", 4, &ct2);
    assert_memory_not_equal(ct.ptr, ct2.ptr, ct.len);
    buf_free(&ct);
    buf_free(&ct2);
}

/* SSE as S3 will do it: encrypt while streaming into a blob, decrypt ranges from it. */
static void test_seg_through_blob(void **s) {
    (void)s;
    blob_store *bs = open_store("sse");
    size_t n = 5 * MIB + 1;
    uint8_t *p = cl_malloc(n), *back = cl_malloc(n);
    fill(p, n, 42);
    crypto_seg_enc *e = NULL;
    assert_int_equal(crypto_seg_enc_new(key_a, slice_cstr("obj"), &e), CL_OK);
    blob_writer *w = NULL;
    assert_int_equal(blob_begin(bs, &w), CL_OK);
    cl_buf out = CL_BUF_INIT;
    for (size_t off = 0; off < n;) {
        size_t k = piece_len();
        if (k > n - off) k = n - off;
        assert_int_equal(crypto_seg_enc_update(e, slice_of(p + off, k), &out), CL_OK);
        assert_int_equal(blob_append(w, buf_slice(&out)), CL_OK);
        buf_clear(&out);
        off += k;
    }
    assert_int_equal(crypto_seg_enc_final(e, &out), CL_OK);
    assert_int_equal(blob_append(w, buf_slice(&out)), CL_OK);
    buf_free(&out);
    char id[BLOB_ID_LEN + 1];
    assert_int_equal(blob_finish(w, id), CL_OK);
    blob_reader *r = NULL;
    assert_int_equal(blob_open(bs, id, &r), CL_OK);
    assert_int_equal(blob_size(r), crypto_seg_cipher_size(n));
    crypto_seg_dec *d = NULL;
    assert_int_equal(
        crypto_seg_dec_open(key_a, slice_cstr("obj"), blob_size(r), blob_read_cb, r, &d), CL_OK);
    assert_int_equal(crypto_seg_dec_read(d, 0, back, n), CL_OK);
    assert_memory_equal(back, p, n);
    for (int i = 0; i < 30; i++) {
        size_t off = rnd_below(n + 1), len = rnd_below(n - off + 1);
        assert_int_equal(crypto_seg_dec_read(d, off, back, len), CL_OK);
        assert_memory_equal(back, p + off, len);
    }
    crypto_seg_dec_free(d);
    blob_close(r);
    free(p);
    free(back);
    blob_store_close(bs);
}

#define SEG_UNIT (CRYPTO_SEG_SIZE + CRYPTO_SEG_TAG_LEN)
#define SEG_OFF(i) (CRYPTO_SEG_HEADER_LEN + (size_t)(i)*SEG_UNIT)

static void expect_fail(const uint8_t *key, const char *ctx, cl_slice ct, uint64_t off,
                        size_t len) {
    uint8_t *buf = cl_malloc(len + 1);
    assert_int_not_equal(seg_decrypt(key, ctx, ct, off, len, buf), CL_OK);
    free(buf);
}

static void test_seg_tamper(void **s) {
    (void)s;
    const size_t n = 3 * CRYPTO_SEG_SIZE + 1000; /* segments 0..2 full, 3 short and final */
    uint8_t *p = cl_malloc(n), *back = cl_malloc(n);
    fill(p, n, 99);
    cl_buf ct = CL_BUF_INIT, other = CL_BUF_INIT;
    seg_encrypt(key_a, "obj-1", p, n, &ct);
    uint8_t *c = cl_malloc(ct.len + SEG_UNIT);
    cl_slice tampered = slice_of(c, ct.len);

    /* wrong key, wrong context */
    expect_fail(key_b, "obj-1", buf_slice(&ct), 0, 10);
    expect_fail(key_a, "obj-2", buf_slice(&ct), 0, 10);
    expect_fail(key_a, "obj-1 ", buf_slice(&ct), n - 10, 10);

    /* a flipped ciphertext byte fails its segment only; a flipped tag too */
    memcpy(c, ct.ptr, ct.len);
    c[SEG_OFF(1) + 500] ^= 0x01;
    expect_fail(key_a, "obj-1", tampered, CRYPTO_SEG_SIZE + 10, 1);
    assert_int_equal(seg_decrypt(key_a, "obj-1", tampered, 0, CRYPTO_SEG_SIZE, back), CL_OK);
    assert_memory_equal(back, p, CRYPTO_SEG_SIZE);
    memcpy(c, ct.ptr, ct.len);
    c[SEG_OFF(1) - 1] ^= 0x80; /* last tag byte of segment 0 */
    expect_fail(key_a, "obj-1", tampered, 0, 1);

    /* header edits: salt/prefix change keys and nonces, version is checked */
    for (size_t i = 0; i < CRYPTO_SEG_HEADER_LEN; i++) {
        memcpy(c, ct.ptr, ct.len);
        c[i] ^= 0x10;
        expect_fail(key_a, "obj-1", tampered, 0, 1);
    }

    /* swap segments 0 and 1 */
    memcpy(c, ct.ptr, ct.len);
    memcpy(c + SEG_OFF(0), ct.ptr + SEG_OFF(1), SEG_UNIT);
    memcpy(c + SEG_OFF(1), ct.ptr + SEG_OFF(0), SEG_UNIT);
    expect_fail(key_a, "obj-1", tampered, 0, 1);
    expect_fail(key_a, "obj-1", tampered, CRYPTO_SEG_SIZE, 1);

    /* drop the final segment: the new last one was sealed as not final */
    memcpy(c, ct.ptr, ct.len);
    expect_fail(key_a, "obj-1", slice_of(c, SEG_OFF(3)), 3 * CRYPTO_SEG_SIZE - 1, 1);
    /* cut the final segment short: the size no longer parses or the tag fails */
    for (size_t cut = 1; cut < 1000 + CRYPTO_SEG_TAG_LEN; cut += 97)
        expect_fail(key_a, "obj-1", slice_of(c, ct.len - cut), 3 * CRYPTO_SEG_SIZE, 1);
    /* append a copy of a full segment after the final one: old final is now not last */
    memcpy(c + ct.len, ct.ptr + SEG_OFF(0), SEG_UNIT);
    expect_fail(key_a, "obj-1", slice_of(c, ct.len + SEG_UNIT), 3 * CRYPTO_SEG_SIZE, 1);

    /* splice a segment from another object: same key, same or other context */
    const char *ctxs[] = {"obj-1", "obj-2"};
    for (int k = 0; k < 2; k++) {
        seg_encrypt(key_a, ctxs[k], p, n, &other);
        memcpy(c, ct.ptr, ct.len);
        memcpy(c + SEG_OFF(2), other.ptr + SEG_OFF(2), SEG_UNIT);
        expect_fail(key_a, "obj-1", tampered, 2 * CRYPTO_SEG_SIZE + 5, 1);
    }

    /* an empty stream is one empty final segment; it cannot be stripped */
    seg_encrypt(key_a, "empty", p, 0, &other);
    assert_int_equal(other.len, CRYPTO_SEG_HEADER_LEN + CRYPTO_SEG_TAG_LEN);
    assert_int_equal(seg_decrypt(key_a, "empty", buf_slice(&other), 0, 0, back), CL_OK);
    expect_fail(key_a, "empty", slice_of(other.ptr, CRYPTO_SEG_HEADER_LEN), 0, 0);

    /* the untouched stream still decrypts */
    assert_int_equal(seg_decrypt(key_a, "obj-1", buf_slice(&ct), 0, n, back), CL_OK);
    assert_memory_equal(back, p, n);
    buf_free(&ct);
    buf_free(&other);
    free(c);
    free(p);
    free(back);
}

static size_t fds_at_start;

static size_t open_fds(void) {
    return count_entries("/proc/self/fd");
}

/* Runs last: every writer, reader, walk and decryptor above closed its fds. */
static void test_no_fd_leaks(void **s) {
    (void)s;
    assert_int_equal(open_fds(), fds_at_start);
}

int main(void) {
    const char *env = getenv("CL_TEST_SEED");
    uint64_t seed =
        env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    rng_state = seed | 1;
    printf("test_blob: seed %llu (CL_TEST_SEED to replay)\n", (unsigned long long)seed);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_sizes),
        cmocka_unit_test(test_layout_and_ids),
        cmocka_unit_test(test_read_bounds_and_take_fd),
        cmocka_unit_test(test_abort_leaves_nothing),
        cmocka_unit_test(test_stale_tmp_swept_live_spared),
        cmocka_unit_test(test_delete_walk_gc),
        cmocka_unit_test(test_pins_defer_delete),
        cmocka_unit_test(test_kill9_durability),
        cmocka_unit_test(test_gcm_vectors),
        cmocka_unit_test(test_seg_sizes),
        cmocka_unit_test(test_seg_roundtrip),
        cmocka_unit_test(test_seg_through_blob),
        cmocka_unit_test(test_seg_tamper),
        cmocka_unit_test(test_no_fd_leaks),
    };
    fds_at_start = open_fds();
    return cmocka_run_group_tests(tests, setup, teardown);
}
