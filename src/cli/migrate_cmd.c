/* migrate_cmd.c — `cloister migrate --from DATA/meta.db --to postgres://...
 * [--force]`: moves a single node's metadata into a meta store the nodes of a
 * cluster share (docs/operations.md "Moving to PostgreSQL"). Every item is
 * copied in one transaction into an EMPTY target (--force replaces what is
 * there), then both sides are read back: per-kind counts and a SHA-256 over
 * every (kind, scope, name, doc) in byte order must match. Blobs stay where
 * they are; the command prints the options the nodes need. It refuses while
 * a server holds the data directory (DATA/LOCK), and holds that lock itself
 * while it runs, so no server writes the source meanwhile. */
#include "cli/cli.h"

#include "crypto/crypto.h"

#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static const char MIGRATE_USAGE[] =
    "usage: cloister migrate --from DATA/meta.db --to postgres://USER@HOST:PORT/DB [--force]\n"
    "  copies every item of a single node's meta store into an empty PostgreSQL\n"
    "  database in one transaction, then verifies per-kind counts and a SHA-256 over\n"
    "  all items on both sides. --force replaces what the target holds. Stop the\n"
    "  server first (it refuses while DATA/LOCK is held). Blobs are not moved.\n";

/* ---- a digest of a whole store: per-kind counts and one SHA-256 ---- */

typedef struct {
    crypto_sha256_ctx *h;
    json_t *counts; /* {"kind": n} */
    size_t total;
} digest;

static void hash_field(crypto_sha256_ctx *h, const char *s) {
    uint8_t len[8];
    uint64_t n = strlen(s);
    for (int i = 0; i < 8; i++)
        len[i] = (uint8_t)(n >> (56 - 8 * i));
    crypto_sha256_update(h, slice_of(len, sizeof len));
    crypto_sha256_update(h, slice_of(s, n));
}

static bool digest_item(void *arg, const char *kind, const char *scope, const char *name,
                        const char *doc) {
    digest *d = arg;
    hash_field(d->h, kind);
    hash_field(d->h, scope);
    hash_field(d->h, name);
    hash_field(d->h, doc);
    json_int_t n = json_integer_value(json_object_get(d->counts, kind));
    json_object_set_new(d->counts, kind, json_integer(n + 1));
    d->total++;
    return true;
}

static cl_err store_digest(store *st, json_t **counts, size_t *total, char hex[65]) {
    digest d = {crypto_sha256_new(), json_object(), 0};
    cl_err e = store_scan_all(st, digest_item, &d);
    uint8_t out[32];
    crypto_sha256_final(d.h, out);
    hex_encode_to(hex, out, sizeof out);
    *counts = d.counts;
    *total = d.total;
    return e;
}

/* ---- the copy ---- */

typedef struct {
    store *src;
    bool force;
    size_t existing, copied;
    char **scopes; /* "kind\0scope" pairs of the target's items (to clear with --force) */
    size_t n, cap;
    cl_err err;
} copy_job;

static bool note_existing(void *arg, const char *kind, const char *scope, const char *name,
                          const char *doc) {
    (void)name;
    (void)doc;
    copy_job *j = arg;
    j->existing++;
    if (!j->force) return false;
    size_t kl = strlen(kind), sl = strlen(scope);
    if (j->n && strcmp(j->scopes[j->n - 1], kind) == 0 &&
        strcmp(j->scopes[j->n - 1] + kl + 1, scope) == 0)
        return true; /* items come in (kind, scope) order */
    if (j->n == j->cap) {
        j->cap = j->cap ? 2 * j->cap : 32;
        j->scopes = cl_realloc(j->scopes, j->cap * sizeof *j->scopes);
    }
    char *p = cl_malloc(kl + sl + 2);
    memcpy(p, kind, kl + 1);
    memcpy(p + kl + 1, scope, sl + 1);
    j->scopes[j->n++] = p;
    return true;
}

static bool copy_item(void *arg, const char *kind, const char *scope, const char *name,
                      const char *doc) {
    copy_job *j = (copy_job *)((void **)arg)[0];
    store *dst = ((void **)arg)[1];
    j->err = store_insert(dst, kind, scope, name, doc);
    if (j->err == CL_OK) j->copied++;
    return j->err == CL_OK;
}

static cl_err copy_txn(store *dst, void *arg) {
    copy_job *j = arg;
    j->existing = j->copied = 0; /* a retried transaction starts over */
    j->err = CL_OK;
    for (size_t i = 0; i < j->n; i++)
        free(j->scopes[i]);
    j->n = 0;
    cl_err e = store_scan_all(dst, note_existing, j);
    if (e != CL_OK) return e;
    if (j->existing && !j->force) return CL_ERR_EXISTS;
    for (size_t i = 0; i < j->n; i++) {
        const char *kind = j->scopes[i];
        CL_TRY(store_delete_scope(dst, kind, kind + strlen(kind) + 1));
    }
    void *pair[2] = {j, dst};
    e = store_scan_all(j->src, copy_item, pair);
    return e != CL_OK ? e : j->err;
}

/* ---- the command ---- */

static int lock_source(const char *from) {
    char *copy = cl_strdup(from);
    char *path = cl_sprintf("%s/LOCK", dirname(copy));
    free(copy);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0) {
        fprintf(stderr,
                "cloister migrate: %s is held by a running cloister server: stop it first\n", path);
        close(fd);
        fd = -2;
    }
    free(path);
    return fd; /* -1: no LOCK file (no server ever ran there): nothing to hold */
}

static void print_side(const char *label, const char *where, size_t total, const char *hex) {
    printf("%-7s %s: %zu items, sha256 %s\n", label, where, total, hex);
}

static bool verify(store *src, store *dst, const char *from_desc, const char *to_desc) {
    json_t *ca = NULL, *cb = NULL;
    size_t na = 0, nb = 0;
    char ha[65], hb[65];
    cl_err ea = store_digest(src, &ca, &na, ha), eb = store_digest(dst, &cb, &nb, hb);
    print_side("source", from_desc, na, ha);
    print_side("target", to_desc, nb, hb);
    const char *kind;
    json_t *v;
    json_object_foreach(ca, kind, v) {
        json_int_t a = json_integer_value(v), b = json_integer_value(json_object_get(cb, kind));
        printf("  %-24s %6lld %6lld%s\n", kind, (long long)a, (long long)b,
               a == b ? "" : "  DIFFER");
    }
    bool ok = ea == CL_OK && eb == CL_OK && na == nb && strcmp(ha, hb) == 0 && json_equal(ca, cb);
    json_decref(ca);
    json_decref(cb);
    return ok;
}

static int migrate(const char *from, const char *to, bool force) {
    char *from_desc = cli_meta_describe(from), *to_desc = cli_meta_describe(to);
    store *src = NULL, *dst = NULL;
    copy_job j = {.force = force};
    int rc = 1;
    if (store_open(from, &src) != CL_OK) {
        fprintf(stderr, "cloister migrate: cannot open %s\n", from_desc);
        goto out;
    }
    if (store_open(to, &dst) != CL_OK) {
        fprintf(stderr, "cloister migrate: cannot open %s\n", to_desc);
        goto out;
    }
    j.src = src;
    cl_err e = store_txn(dst, copy_txn, &j);
    if (e == CL_ERR_EXISTS && j.existing) {
        fprintf(stderr,
                "cloister migrate: %s is not empty (%zu items or more): give --force to "
                "replace its contents, or use an empty database\n",
                to_desc, j.existing);
        goto out;
    }
    if (e != CL_OK) {
        fprintf(stderr, "cloister migrate: the copy failed (%s); nothing was written to %s\n",
                cl_err_str(e), to_desc);
        goto out;
    }
    printf("copied %zu items from %s to %s%s\n", j.copied, from_desc, to_desc,
           j.existing ? " (its previous contents replaced)" : "");
    if (!verify(src, dst, from_desc, to_desc)) {
        fprintf(stderr, "cloister migrate: verification FAILED: the two sides differ\n");
        goto out;
    }
    char *copy = cl_strdup(from);
    const char *data = dirname(copy);
    printf("verified: counts and checksums match.\n"
           "Blobs stay where they are. Start each node with:\n"
           "  cloister serve --data DATA --meta URL --blobs %s\n"
           "with URL the --to URL (%s), or CLOISTER_META_URL set to it,\n"
           "where %s (its blobs/ and app-bundles/) is on the filesystem every node shares\n"
           "(or copy those two directories there and point --blobs at it), and each node's\n"
           "DATA/keys is a copy of %s/keys (docs/operations.md).\n",
           data, to_desc, data, data);
    free(copy);
    rc = 0;
out:
    for (size_t i = 0; i < j.n; i++)
        free(j.scopes[i]);
    free(j.scopes);
    store_close(src);
    store_close(dst);
    free(from_desc);
    free(to_desc);
    return rc;
}

int cmd_migrate(int argc, char **argv) {
    const char *from = NULL, *to = NULL;
    bool force = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--force") == 0)
            force = true;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(MIGRATE_USAGE, stdout);
            return 0;
        } else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
            from = argv[++i];
        else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
            to = argv[++i];
        else {
            fprintf(stderr, "cloister migrate: unknown option %s\n%s", argv[i], MIGRATE_USAGE);
            return 2;
        }
    }
    if (!from || !to) {
        fputs(MIGRATE_USAGE, stderr);
        return 2;
    }
    struct stat sb;
    if (stat(from, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fprintf(stderr, "cloister migrate: %s is not a meta store file (DATA/meta.db)\n", from);
        return 1;
    }
    int lock = lock_source(from);
    if (lock == -2) return 1;
    int rc = migrate(from, to, force);
    if (lock >= 0) close(lock);
    return rc;
}
