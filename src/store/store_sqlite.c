/* store_sqlite.c — the SQLite backend of the meta store. One table of documents
 * keyed (kind, scope, name), WITHOUT ROWID so items of one scope sit together in
 * name order, which makes prefix listing a range scan. WAL mode with
 * synchronous=FULL: a commit that returned survives kill -9 and power loss.
 * Migrations run in order at open and are recorded in schema_version. The
 * database file and its -wal/-shm are created 0600 (make_private).
 *
 * One sq_impl is one connection of the front's pool: readers on different
 * connections run concurrently (WAL); the front lets one writer of the process
 * at a time in (serial_writes), and BEGIN IMMEDIATE takes SQLite's write lock
 * (busy_timeout waits for another process), so every lock mode is the same
 * here. list and scan_all fetch their rows before calling back, so a callback
 * may write on the same connection without upgrading a stale read snapshot. */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    sqlite3 *db;
    sqlite3_stmt *get, *insert, *upsert, *del, *del_scope, *count, *list, *scan;
} sq_impl;

static const char *const MIGRATIONS[] = {
    /* 1: the document table */
    "CREATE TABLE items (kind TEXT NOT NULL, scope TEXT NOT NULL, name TEXT NOT NULL,"
    " doc TEXT NOT NULL, PRIMARY KEY (kind, scope, name)) WITHOUT ROWID;",
};
#define N_MIGRATIONS (sizeof MIGRATIONS / sizeof MIGRATIONS[0])

static cl_err sq_exec(sqlite3 *db, const char *sql) {
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK) return CL_OK;
    log_error("store: sqlite: %s", msg ? msg : "?");
    sqlite3_free(msg);
    return CL_ERR_IO;
}

static int sq_version(void *impl) {
    sq_impl *q = impl;
    sqlite3_stmt *st;
    int v = 0;
    if (sqlite3_prepare_v2(q->db, "SELECT max(version) FROM schema_version", -1, &st, NULL) !=
        SQLITE_OK)
        return 0;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static cl_err sq_too_new(int have) {
    log_error("store: database schema version %d is newer than this binary (%d)", have,
              (int)N_MIGRATIONS);
    return CL_ERR_INVALID;
}

static cl_err sq_migrate(sq_impl *q) {
    int have = sq_version(q);
    if (have == (int)N_MIGRATIONS) return CL_OK; /* the usual case: no write */
    if (have > (int)N_MIGRATIONS) return sq_too_new(have);
    CL_TRY(sq_exec(q->db, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL,"
                          " applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"));
    for (;;) {
        CL_TRY(sq_exec(q->db, "BEGIN IMMEDIATE"));
        int v = sq_version(q) + 1; /* again, under the write lock */
        if (v > (int)N_MIGRATIONS) {
            CL_TRY(sq_exec(q->db, "COMMIT"));
            return v - 1 > (int)N_MIGRATIONS ? sq_too_new(v - 1) : CL_OK;
        }
        char ins[80];
        snprintf(ins, sizeof ins, "INSERT INTO schema_version(version) VALUES (%d)", v);
        if (sq_exec(q->db, MIGRATIONS[v - 1]) != CL_OK || sq_exec(q->db, ins) != CL_OK) {
            sq_exec(q->db, "ROLLBACK");
            return CL_ERR_IO;
        }
        CL_TRY(sq_exec(q->db, "COMMIT"));
        log_info("store: applied schema migration %d", v);
    }
}

static cl_err sq_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st) {
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) == SQLITE_OK)
        return CL_OK;
    log_error("store: prepare failed: %s", sqlite3_errmsg(db));
    return CL_ERR_INTERNAL;
}

static void sq_close(void *impl) {
    sq_impl *q = impl;
    if (!q) return;
    sqlite3_finalize(q->get);
    sqlite3_finalize(q->insert);
    sqlite3_finalize(q->upsert);
    sqlite3_finalize(q->del);
    sqlite3_finalize(q->del_scope);
    sqlite3_finalize(q->count);
    sqlite3_finalize(q->list);
    sqlite3_finalize(q->scan);
    sqlite3_close(q->db);
    free(q);
}

/* The meta store holds identities, policies and (sealed) secrets: the file and
 * its -wal and -shm companions are the owner's alone (0600), whatever the
 * umask or the data directory's mode. The file is made (or fixed) before
 * SQLite opens it; SQLite gives the -wal and -shm files it creates the
 * database file's mode, and ones left by an older version are fixed here. */
static cl_err make_private(const char *path) {
    if (!*path || *path == ':') return CL_OK; /* ":memory:" */
    /* Never open()+close() an existing database file here: this runs for every
     * pool connection, and closing any descriptor of the file drops every POSIX
     * lock this process holds on it, so another process (the CLI) would think
     * it is alone, checkpoint and delete the WAL under our open connections. */
    struct stat st;
    int rc = 0;
    if (lstat(path, &st) == 0) {
        if (S_ISLNK(st.st_mode)) {
            log_error("store: %s is a symbolic link; refusing it", path);
            return CL_ERR_IO;
        }
        if ((st.st_mode & 07777) != 0600) rc = chmod(path, 0600);
    } else {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
            log_error("store: cannot open %s: %s", path, strerror(errno));
            return CL_ERR_IO;
        }
        rc = fchmod(fd, 0600);
        close(fd); /* the file is new: this process holds no lock on it yet */
    }
    for (int i = 0; rc == 0 && i < 2; i++) {
        char *side = cl_sprintf("%s%s", path, i ? "-shm" : "-wal");
        if (chmod(side, 0600) != 0 && errno != ENOENT) rc = -1;
        free(side);
    }
    if (rc != 0) log_error("store: cannot make %s private (0600): %s", path, strerror(errno));
    return rc == 0 ? CL_OK : CL_ERR_IO;
}

static cl_err sq_open(const char *path, const store_options *o, void **out) {
    (void)o;
    sq_impl *q = cl_calloc(1, sizeof *q);
    cl_err e = make_private(path);
    if (e != CL_OK) goto fail;
    e = CL_ERR_IO;
    if (sqlite3_open_v2(path, &q->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK) {
        log_error("store: cannot open %s: %s", path, q->db ? sqlite3_errmsg(q->db) : "?");
        goto fail;
    }
    sqlite3_busy_timeout(q->db, 10000);
    if ((e = sq_exec(q->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")) != CL_OK)
        goto fail;
    if ((e = sq_migrate(q)) != CL_OK) goto fail;
    if ((e = sq_prepare(q->db, "SELECT doc FROM items WHERE kind=?1 AND scope=?2 AND name=?3",
                        &q->get)) ||
        (e = sq_prepare(q->db, "INSERT INTO items(kind,scope,name,doc) VALUES(?1,?2,?3,?4)",
                        &q->insert)) ||
        (e = sq_prepare(q->db,
                        "INSERT OR REPLACE INTO items(kind,scope,name,doc) VALUES(?1,?2,?3,?4)",
                        &q->upsert)) ||
        (e = sq_prepare(q->db, "DELETE FROM items WHERE kind=?1 AND scope=?2 AND name=?3",
                        &q->del)) ||
        (e = sq_prepare(q->db, "DELETE FROM items WHERE kind=?1 AND scope=?2", &q->del_scope)) ||
        (e = sq_prepare(q->db, "SELECT count(*) FROM items WHERE kind=?1 AND scope=?2",
                        &q->count)) ||
        (e = sq_prepare(q->db,
                        "SELECT name, doc FROM items WHERE kind=?1 AND scope=?2"
                        " AND (?3 IS NULL OR name >= ?3) AND (?4 IS NULL OR name > ?4)"
                        " AND (?5 IS NULL OR name < ?5) ORDER BY name LIMIT ?6",
                        &q->list)) ||
        (e = sq_prepare(q->db,
                        "SELECT kind, scope, name, doc FROM items WHERE (kind, scope, name) >"
                        " (?1, ?2, ?3) ORDER BY kind, scope, name LIMIT ?4",
                        &q->scan)))
        goto fail;
    *out = q;
    return CL_OK;
fail:
    sq_close(q);
    return e;
}

static void bind_key(sqlite3_stmt *st, const char *kind, const char *scope, const char *name) {
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, scope ? scope : "", -1, SQLITE_STATIC);
    if (name) sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
}

static cl_err sq_get(void *impl, const char *kind, const char *scope, const char *name,
                     char **doc) {
    sq_impl *q = impl;
    bind_key(q->get, kind, scope, name);
    int rc = sqlite3_step(q->get);
    cl_err e = CL_ERR_NOT_FOUND;
    if (rc == SQLITE_ROW) {
        *doc = cl_strdup((const char *)sqlite3_column_text(q->get, 0));
        e = CL_OK;
    } else if (rc != SQLITE_DONE) {
        e = CL_ERR_IO;
    }
    sqlite3_reset(q->get);
    return e;
}

static cl_err sq_write(void *impl, const char *kind, const char *scope, const char *name,
                       const char *doc, bool replace) {
    sq_impl *q = impl;
    sqlite3_stmt *st = replace ? q->upsert : q->insert;
    bind_key(st, kind, scope, name);
    sqlite3_bind_text(st, 4, doc, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) return CL_OK;
    if (rc == SQLITE_CONSTRAINT) return CL_ERR_EXISTS;
    log_error("store: write failed: %s", sqlite3_errmsg(q->db));
    return CL_ERR_IO;
}

static cl_err sq_del(void *impl, const char *kind, const char *scope, const char *name) {
    sq_impl *q = impl;
    bind_key(q->del, kind, scope, name);
    int rc = sqlite3_step(q->del);
    sqlite3_reset(q->del);
    if (rc != SQLITE_DONE) return CL_ERR_IO;
    return sqlite3_changes(q->db) ? CL_OK : CL_ERR_NOT_FOUND;
}

static cl_err sq_del_scope(void *impl, const char *kind, const char *scope) {
    sq_impl *q = impl;
    bind_key(q->del_scope, kind, scope, NULL);
    int rc = sqlite3_step(q->del_scope);
    sqlite3_reset(q->del_scope);
    return rc == SQLITE_DONE ? CL_OK : CL_ERR_IO;
}

/* The smallest string greater than every string with this prefix, or NULL. */
static char *prefix_upper_bound(const char *prefix) {
    size_t n = strlen(prefix);
    char *u = cl_strdup(prefix);
    while (n > 0 && (unsigned char)u[n - 1] == 0xFF)
        n--;
    if (n == 0) {
        free(u);
        return NULL;
    }
    u[n - 1] = (char)((unsigned char)u[n - 1] + 1);
    u[n] = 0;
    return u;
}

/* Rows fetched before the callbacks run (4 columns at most). */
typedef struct {
    char **v;
    size_t n, cap, cols;
} rows;

static void rows_add(rows *r, sqlite3_stmt *st) {
    if (r->n + r->cols > r->cap) {
        r->cap = r->cap ? 2 * r->cap : 64;
        r->v = cl_realloc(r->v, r->cap * sizeof *r->v);
    }
    for (size_t c = 0; c < r->cols; c++)
        r->v[r->n++] = cl_strdup((const char *)sqlite3_column_text(st, (int)c));
}

static void rows_free(rows *r) {
    for (size_t i = 0; i < r->n; i++)
        cl_free_secret(r->v[i]);
    free(r->v);
}

/* Steps st to the end (or max rows) into r; CL_OK or CL_ERR_IO. */
static cl_err rows_fetch(sqlite3 *db, sqlite3_stmt *st, rows *r) {
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        rows_add(r, st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) return CL_OK;
    log_error("store: read failed: %s", sqlite3_errmsg(db));
    return CL_ERR_IO;
}

static cl_err sq_list(void *impl, const char *kind, const char *scope, const char *prefix,
                      const char *start_after, size_t limit, store_list_fn fn, void *arg,
                      bool *more) {
    sq_impl *q = impl;
    char *upper = prefix && *prefix ? prefix_upper_bound(prefix) : NULL;
    const char *lower = prefix ? prefix : "";
    if (start_after && strcmp(start_after, lower) >= 0) lower = NULL; /* use start_after */
    sqlite3_stmt *st = q->list;
    bind_key(st, kind, scope, NULL);
    if (lower) sqlite3_bind_text(st, 3, lower, -1, SQLITE_STATIC);
    if (start_after) sqlite3_bind_text(st, 4, start_after, -1, SQLITE_STATIC);
    if (upper) sqlite3_bind_text(st, 5, upper, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, limit ? (sqlite3_int64)limit + 1 : -1);
    rows r = {.cols = 2};
    cl_err e = rows_fetch(q->db, st, &r);
    free(upper);
    size_t n = r.n / 2;
    if (more) *more = e == CL_OK && limit && n > limit;
    if (limit && n > limit) n = limit;
    for (size_t i = 0; e == CL_OK && i < n; i++)
        if (!fn(arg, r.v[2 * i], r.v[2 * i + 1])) break;
    rows_free(&r);
    return e;
}

/* In (kind, scope, name) order, in batches, so fn may call the store. */
#define SCAN_BATCH 500
static cl_err sq_scan_all(void *impl, store_scan_fn fn, void *arg) {
    sq_impl *q = impl;
    char *last[3] = {cl_strdup(""), cl_strdup(""), cl_strdup("")};
    cl_err e = CL_OK;
    for (bool full = true, stop = false; e == CL_OK && full && !stop;) {
        sqlite3_stmt *st = q->scan;
        bind_key(st, last[0], last[1], last[2]);
        sqlite3_bind_int(st, 4, SCAN_BATCH);
        rows r = {.cols = 4};
        e = rows_fetch(q->db, st, &r);
        full = r.n == 4 * SCAN_BATCH;
        for (size_t i = 0; e == CL_OK && !stop && i < r.n; i += 4)
            stop = !fn(arg, r.v[i], r.v[i + 1], r.v[i + 2], r.v[i + 3]);
        for (int c = 0; r.n && c < 3; c++) {
            free(last[c]);
            last[c] = cl_strdup(r.v[r.n - 4 + c]);
        }
        rows_free(&r);
    }
    for (int c = 0; c < 3; c++)
        free(last[c]);
    return e;
}

static cl_err sq_count(void *impl, const char *kind, const char *scope, size_t *out) {
    sq_impl *q = impl;
    bind_key(q->count, kind, scope, NULL);
    int rc = sqlite3_step(q->count);
    if (rc == SQLITE_ROW) *out = (size_t)sqlite3_column_int64(q->count, 0);
    sqlite3_reset(q->count);
    return rc == SQLITE_ROW ? CL_OK : CL_ERR_IO;
}

static cl_err sq_begin(void *impl, store_lock mode, const char *key) {
    (void)mode, (void)key; /* one writer at a time anyway */
    return sq_exec(((sq_impl *)impl)->db, "BEGIN IMMEDIATE");
}

static cl_err sq_ping(void *impl) {
    return sq_exec(((sq_impl *)impl)->db, "SELECT 1");
}
static cl_err sq_commit(void *impl) {
    return sq_exec(((sq_impl *)impl)->db, "COMMIT");
}
static void sq_rollback(void *impl) {
    sq_exec(((sq_impl *)impl)->db, "ROLLBACK");
}

const struct store_backend store_sqlite_backend = {
    .name = "sqlite",
    .serial_writes = true,
    .ping = sq_ping,
    .scan_all = sq_scan_all,
    .open = sq_open,
    .close = sq_close,
    .schema_version = sq_version,
    .get = sq_get,
    .write = sq_write,
    .del = sq_del,
    .del_scope = sq_del_scope,
    .list = sq_list,
    .count = sq_count,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
};
