/* blob.c — the on-disk blob store (see blob.h for the layout and the durability
 * contract). Shaped around the one rule that makes crash recovery trivial: a
 * blob's final path appears only through an atomic rename of a fully written,
 * fsynced temp file, so after kill -9 every path under DIR/ab/cd is a whole blob
 * and every half-done write is a file in DIR/tmp that open sweeps away.
 *
 * Everything is addressed relative to two directory fds (the root and tmp), so no
 * path is rebuilt from the configured directory after open. Writers hold an flock
 * on their temp file for its whole life: the sweep deletes only files it can lock,
 * so it never races a live writer in this or another process. Fan-out dirs are
 * made durable (parent fsynced) the first time this process uses each one; a bitmap
 * remembers which, so the steady state costs one fsync of the file and one of its
 * directory per blob. */
#include "store/blob.h"

#include "crypto/crypto.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define WBUF_SIZE (128 * 1024) /* coalesces small appends into fewer write()s */
#define FANOUT 256
#define PATH_LEN (2 + 1 + 2 + 1 + BLOB_ID_LEN + 1) /* "ab/cd/<id>" */
#define ID_TRIES 8

#define PIN_SLOTS 64

struct blob_store {
    int root_fd;
    int tmp_fd;
    /* bit n set: fan-out dir n is known durable. 0..255 = "ab", then "ab/cd". */
    uint8_t dir_ok[(FANOUT + FANOUT * FANOUT) / 8];
    pthread_mutex_t pin_lock; /* guards pins and every unlink of a finished blob */
    struct blob_pin *pins[PIN_SLOTS];
};

/* A pinned blob: readers in flight (refs); doomed when deleted meanwhile, so
 * the last unpin unlinks it. */
typedef struct blob_pin {
    char id[BLOB_ID_LEN + 1];
    unsigned refs;
    bool doomed;
    struct blob_pin *next;
} blob_pin;

struct blob_writer {
    blob_store *bs;
    int fd;
    char tmp_name[BLOB_ID_LEN + 1];
    uint64_t size;
    size_t buf_len;
    uint8_t buf[WBUF_SIZE];
};

struct blob_reader {
    int fd;
    uint64_t size;
};

/* ---- small helpers ---- */

static bool is_hex_lower(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static unsigned hex2(const char *s) {
    unsigned v = 0;
    for (int i = 0; i < 2; i++)
        v = v * 16 + (unsigned)(s[i] <= '9' ? s[i] - '0' : s[i] - 'a' + 10);
    return v;
}

bool blob_id_valid(const char *id) {
    if (!id) return false;
    for (size_t i = 0; i < BLOB_ID_LEN; i++)
        if (!is_hex_lower(id[i])) return false;
    return id[BLOB_ID_LEN] == 0;
}

static void random_id(char out[BLOB_ID_LEN + 1]) {
    uint8_t r[BLOB_ID_LEN / 2];
    crypto_random(r, sizeof r);
    hex_encode_to(out, r, sizeof r);
}

static void blob_path(char out[PATH_LEN], const char *id) {
    snprintf(out, PATH_LEN, "%.2s/%.2s/%s", id, id + 2, id);
}

static cl_err write_all(int fd, const uint8_t *p, size_t n) {
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return CL_ERR_IO;
        p += k;
        n -= (size_t)k;
    }
    return CL_OK;
}

static cl_err fsync_dir_at(int dfd, const char *rel) {
    int fd = openat(dfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return CL_ERR_IO;
    int rc = fsync(fd);
    close(fd);
    return rc == 0 ? CL_OK : CL_ERR_IO;
}

/* A fresh directory stream over dfd (its own file offset, dfd left untouched). */
static DIR *dir_stream(int dfd, const char *rel) {
    int fd = openat(dfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return NULL;
    DIR *d = fdopendir(fd);
    if (!d) close(fd);
    return d;
}

/* ---- open / close ---- */

/* Removes temp files no writer holds: a writer keeps an flock for its lifetime. */
static void sweep_tmp(blob_store *bs) {
    DIR *d = dir_stream(bs->tmp_fd, ".");
    if (!d) return;
    size_t removed = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        int fd = openat(bs->tmp_fd, de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) continue;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0 && unlinkat(bs->tmp_fd, de->d_name, 0) == 0)
            removed++;
        close(fd);
    }
    closedir(d);
    if (removed) log_info("blob store: removed %zu unfinished temp file(s)", removed);
}

static cl_err open_dirs(blob_store *bs, const char *dir) {
    CL_TRY(dir_ensure(dir, 0700));
    bs->root_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (bs->root_fd < 0) return CL_ERR_IO;
    if (mkdirat(bs->root_fd, "tmp", 0700) != 0 && errno != EEXIST) return CL_ERR_IO;
    bs->tmp_fd = openat(bs->root_fd, "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (bs->tmp_fd < 0) return CL_ERR_IO;
    /* The root's own entry in its parent must survive a crash too. */
    return fsync_dir_at(bs->root_fd, "..");
}

cl_err blob_store_open(const char *dir, blob_store **out) {
    blob_store *bs = cl_calloc(1, sizeof *bs);
    bs->root_fd = bs->tmp_fd = -1;
    pthread_mutex_init(&bs->pin_lock, NULL);
    cl_err e = open_dirs(bs, dir);
    if (e != CL_OK) {
        blob_store_close(bs);
        return e;
    }
    sweep_tmp(bs);
    *out = bs;
    return CL_OK;
}

void blob_store_close(blob_store *bs) {
    if (!bs) return;
    if (bs->tmp_fd >= 0) close(bs->tmp_fd);
    if (bs->root_fd >= 0) close(bs->root_fd);
    for (size_t i = 0; i < PIN_SLOTS; i++)
        while (bs->pins[i]) { /* every reader should be gone; forget stray pins */
            blob_pin *p = bs->pins[i];
            bs->pins[i] = p->next;
            free(p);
        }
    pthread_mutex_destroy(&bs->pin_lock);
    free(bs);
}

/* ---- writing ---- */

/* Creates and locks a fresh temp file. If the sweep of another open unlinked it
 * between our create and our lock (nlink 0), start over with a new name. */
static cl_err create_tmp(blob_writer *w) {
    for (int i = 0; i < ID_TRIES; i++) {
        random_id(w->tmp_name);
        int fd = openat(w->bs->tmp_fd, w->tmp_name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno == EEXIST) continue;
        if (fd < 0) return CL_ERR_IO;
        struct stat st;
        if (flock(fd, LOCK_EX) == 0 && fstat(fd, &st) == 0 && st.st_nlink > 0) {
            w->fd = fd;
            return CL_OK;
        }
        close(fd);
    }
    return CL_ERR_IO;
}

cl_err blob_begin(blob_store *bs, blob_writer **out) {
    blob_writer *w = cl_malloc(sizeof *w);
    w->bs = bs;
    w->fd = -1;
    w->size = 0;
    w->buf_len = 0;
    cl_err e = create_tmp(w);
    if (e != CL_OK) {
        free(w);
        return e;
    }
    *out = w;
    return CL_OK;
}

static cl_err flush_buf(blob_writer *w) {
    cl_err e = write_all(w->fd, w->buf, w->buf_len);
    w->buf_len = 0;
    return e;
}

cl_err blob_append(blob_writer *w, cl_slice piece) {
    if (piece.len > WBUF_SIZE - w->buf_len) {
        CL_TRY(flush_buf(w));
        if (piece.len >= WBUF_SIZE) {
            CL_TRY(write_all(w->fd, piece.ptr, piece.len));
            w->size += piece.len;
            return CL_OK;
        }
    }
    if (piece.len) memcpy(w->buf + w->buf_len, piece.ptr, piece.len);
    w->buf_len += piece.len;
    w->size += piece.len;
    return CL_OK;
}

uint64_t blob_writer_size(const blob_writer *w) {
    return w->size;
}

/* mkdir rel (under the root) and fsync its parent once per process per dir. */
static cl_err ensure_dir(blob_store *bs, const char *rel, const char *parent, unsigned bit) {
    uint8_t mask = (uint8_t)(1u << (bit % 8));
    if (__atomic_load_n(&bs->dir_ok[bit / 8], __ATOMIC_ACQUIRE) & mask) return CL_OK;
    if (mkdirat(bs->root_fd, rel, 0700) != 0 && errno != EEXIST) return CL_ERR_IO;
    CL_TRY(fsync_dir_at(bs->root_fd, parent));
    __atomic_fetch_or(&bs->dir_ok[bit / 8], mask, __ATOMIC_RELEASE);
    return CL_OK;
}

static cl_err ensure_fanout(blob_store *bs, const char *id) {
    char l1[3], l2[6];
    snprintf(l1, sizeof l1, "%.2s", id);
    snprintf(l2, sizeof l2, "%.2s/%.2s", id, id + 2);
    unsigned a = hex2(id), b = hex2(id + 2);
    CL_TRY(ensure_dir(bs, l1, ".", a));
    return ensure_dir(bs, l2, l1, FANOUT + a * FANOUT + b);
}

/* Renames the temp file to a fresh id without ever replacing an existing blob. */
static cl_err place(blob_writer *w, char id[BLOB_ID_LEN + 1]) {
    blob_store *bs = w->bs;
    for (int i = 0; i < ID_TRIES; i++) {
        random_id(id);
        CL_TRY(ensure_fanout(bs, id));
        char path[PATH_LEN];
        blob_path(path, id);
        int rc = renameat2(bs->tmp_fd, w->tmp_name, bs->root_fd, path, RENAME_NOREPLACE);
        if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) /* fs without NOREPLACE */
            rc = renameat(bs->tmp_fd, w->tmp_name, bs->root_fd, path);
        if (rc == 0) {
            path[5] = 0; /* "ab/cd" */
            return fsync_dir_at(bs->root_fd, path);
        }
        if (errno != EEXIST) return CL_ERR_IO;
    }
    return CL_ERR_IO;
}

cl_err blob_finish(blob_writer *w, char id[BLOB_ID_LEN + 1]) {
    cl_err e = flush_buf(w);
    /* mtime = finish time, which is what blob_gc's grace period measures. */
    if (e == CL_OK && (futimens(w->fd, NULL) != 0 || fsync(w->fd) != 0)) e = CL_ERR_IO;
    if (e == CL_OK) e = place(w, id);
    if (e != CL_OK) {
        unlinkat(w->bs->tmp_fd, w->tmp_name, 0); /* ENOENT if renamed before a dir fsync failed */
        id[0] = 0;
    }
    close(w->fd); /* only now: the lock guarded the temp file until it was renamed */
    free(w);
    return e;
}

void blob_abort(blob_writer *w) {
    if (!w) return;
    unlinkat(w->bs->tmp_fd, w->tmp_name, 0);
    close(w->fd);
    free(w);
}

/* ---- reading ---- */

cl_err blob_open(blob_store *bs, const char *id, blob_reader **out) {
    if (!blob_id_valid(id)) return CL_ERR_INVALID;
    char path[PATH_LEN];
    blob_path(path, id);
    int fd = openat(bs->root_fd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? CL_ERR_NOT_FOUND : CL_ERR_IO;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return CL_ERR_IO;
    }
    blob_reader *r = cl_malloc(sizeof *r);
    r->fd = fd;
    r->size = (uint64_t)st.st_size;
    *out = r;
    return CL_OK;
}

uint64_t blob_size(const blob_reader *r) {
    return r->size;
}

cl_err blob_read_at(blob_reader *r, uint64_t off, void *buf, size_t n) {
    if (r->fd < 0 || off > r->size || n > r->size - off) return CL_ERR_INVALID;
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t k = pread(r->fd, p, n, (off_t)off);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return CL_ERR_IO;
        p += k;
        off += (uint64_t)k;
        n -= (size_t)k;
    }
    return CL_OK;
}

cl_err blob_read_cb(void *reader, uint64_t off, void *buf, size_t n) {
    return blob_read_at(reader, off, buf, n);
}

int blob_fd(const blob_reader *r) {
    return r->fd;
}

int blob_take_fd(blob_reader *r) {
    int fd = r->fd;
    r->fd = -1;
    return fd;
}

void blob_close(blob_reader *r) {
    if (!r) return;
    if (r->fd >= 0) close(r->fd);
    free(r);
}

cl_err blob_stat(blob_store *bs, const char *id, uint64_t *size) {
    if (!blob_id_valid(id)) return CL_ERR_INVALID;
    char path[PATH_LEN];
    blob_path(path, id);
    struct stat st;
    if (fstatat(bs->root_fd, path, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? CL_ERR_NOT_FOUND : CL_ERR_IO;
    *size = (uint64_t)st.st_size;
    return CL_OK;
}

static blob_pin **pin_find(blob_store *bs, const char *id) {
    blob_pin **pp = &bs->pins[((unsigned char)id[0] * 31u + (unsigned char)id[1]) % PIN_SLOTS];
    while (*pp && strcmp((*pp)->id, id) != 0)
        pp = &(*pp)->next;
    return pp;
}

static cl_err unlink_blob(blob_store *bs, const char *id) {
    char path[PATH_LEN];
    blob_path(path, id);
    if (unlinkat(bs->root_fd, path, 0) != 0) return errno == ENOENT ? CL_ERR_NOT_FOUND : CL_ERR_IO;
    return CL_OK;
}

cl_err blob_pin_id(blob_store *bs, const char *id) {
    if (!blob_id_valid(id)) return CL_ERR_INVALID;
    char path[PATH_LEN];
    blob_path(path, id);
    struct stat st;
    pthread_mutex_lock(&bs->pin_lock);
    blob_pin **pp = pin_find(bs, id);
    cl_err e = CL_OK;
    if (*pp) {
        (*pp)->refs++; /* present until its last unpin, even if doomed */
    } else if (fstatat(bs->root_fd, path, &st, 0) != 0) {
        e = errno == ENOENT ? CL_ERR_NOT_FOUND : CL_ERR_IO;
    } else {
        blob_pin *p = cl_calloc(1, sizeof *p);
        memcpy(p->id, id, BLOB_ID_LEN + 1);
        p->refs = 1;
        *pp = p;
    }
    pthread_mutex_unlock(&bs->pin_lock);
    return e;
}

void blob_unpin_id(blob_store *bs, const char *id) {
    if (!blob_id_valid(id)) return;
    pthread_mutex_lock(&bs->pin_lock);
    blob_pin **pp = pin_find(bs, id), *p = *pp;
    if (p && --p->refs == 0) {
        *pp = p->next;
        if (p->doomed) unlink_blob(bs, id);
        free(p);
    }
    pthread_mutex_unlock(&bs->pin_lock);
}

cl_err blob_delete(blob_store *bs, const char *id) {
    if (!blob_id_valid(id)) return CL_ERR_INVALID;
    pthread_mutex_lock(&bs->pin_lock);
    blob_pin *p = *pin_find(bs, id);
    cl_err e = CL_OK;
    if (p)
        p->doomed = true; /* the last reader's unpin unlinks it */
    else
        e = unlink_blob(bs, id);
    pthread_mutex_unlock(&bs->pin_lock);
    return e;
}

/* ---- reconciliation ---- */

typedef struct {
    blob_walk_fn fn;
    void *arg;
    bool stopped;
} walk_state;

static bool is_fanout_name(const char *s) {
    return is_hex_lower(s[0]) && is_hex_lower(s[1]) && s[2] == 0;
}

/* Visits a blob file in a leaf dir; ids filed under the wrong prefix are not
 * reachable by blob_open and are skipped. */
static void visit_leaf(int dfd, const char *name, const char *prefix, walk_state *ws) {
    struct stat st;
    if (!blob_id_valid(name) || strncmp(name, prefix, 4) != 0) return;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) return;
    if (!ws->fn(ws->arg, name, (uint64_t)st.st_size, st.st_mtim.tv_sec)) ws->stopped = true;
}

/* depth 0: DIR/ab, depth 1: DIR/ab/cd, depth 2: blob files. */
static cl_err walk_dir(int dfd, int depth, char prefix[5], walk_state *ws) {
    DIR *d = dir_stream(dfd, ".");
    if (!d) return CL_ERR_IO;
    cl_err e = CL_OK;
    struct dirent *de;
    while (e == CL_OK && !ws->stopped && (de = readdir(d)) != NULL) {
        if (depth == 2) {
            visit_leaf(dirfd(d), de->d_name, prefix, ws);
            continue;
        }
        if (!is_fanout_name(de->d_name)) continue;
        int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0) continue;
        memcpy(prefix + depth * 2, de->d_name, 2);
        e = walk_dir(sub, depth + 1, prefix, ws);
        close(sub);
    }
    closedir(d);
    return e;
}

cl_err blob_walk(blob_store *bs, blob_walk_fn fn, void *arg) {
    walk_state ws = {fn, arg, false};
    char prefix[5] = {0};
    return walk_dir(bs->root_fd, 0, prefix, &ws);
}

typedef struct {
    blob_store *bs;
    time_t older_than;
    blob_live_fn is_live;
    void *arg;
    size_t removed;
} gc_state;

static bool gc_visit(void *arg, const char *id, uint64_t size, time_t mtime) {
    (void)size;
    gc_state *g = arg;
    if (mtime >= g->older_than || g->is_live(g->arg, id)) return true;
    if (blob_delete(g->bs, id) == CL_OK) g->removed++;
    return true;
}

cl_err blob_gc(blob_store *bs, time_t older_than, blob_live_fn is_live, void *arg,
               size_t *removed) {
    gc_state g = {bs, older_than, is_live, arg, 0};
    cl_err e = blob_walk(bs, gc_visit, &g);
    if (removed) *removed = g.removed;
    if (g.removed) log_info("blob store: gc removed %zu unreferenced blob(s)", g.removed);
    return e;
}
