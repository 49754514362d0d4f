/* store_pg.c — the PostgreSQL backend of the meta store (libpq): the items
 * table (kind, scope, name COLLATE "C", so names order bytewise as on SQLite),
 * migrations, transactions with advisory locks, listing, claiming.
 *
 * Concurrency: every writer holds the global advisory lock — store_txn
 * exclusively, every other writer (keyed transactions, store_update, claims,
 * single writes) shared plus an exclusive lock on its key — so while a
 * store_txn runs no other write commits and READ COMMITTED (the default
 * isolation) gives it a stable state; writers of different keys run in
 * parallel on every node. Single writes outside a transaction are their own
 * short transaction with their item's key lock (the key store_update uses), so
 * they serialise with read-modify-writes of the same item. Inside a keyed
 * transaction reads take the row lock too (FOR UPDATE): a concurrent
 * delete_scope cannot be overwritten by a stale read-modify-write.
 *
 * A transaction that wrote sends NOTIFY cloister_meta before COMMIT (delivered
 * at commit): store_pg_watch.c turns it into other nodes' write_seq bumps.
 * Migrations run under a session advisory lock, so several nodes starting at
 * once apply each one once; a database newer than the binary is refused.
 * Connection handling, deadlines and error mapping: store_pg_conn.c. */
#include "store/store_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const MIGRATIONS[] = {
    /* 1: the document table */
    "CREATE TABLE items (kind text COLLATE \"C\" NOT NULL, scope text COLLATE \"C\" NOT NULL,"
    " name text COLLATE \"C\" NOT NULL, doc text NOT NULL, PRIMARY KEY (kind, scope, name))",
};
#define N_MIGRATIONS (int)(sizeof MIGRATIONS / sizeof MIGRATIONS[0])

enum { /* prepared statements */
       S_GET,
       S_GET_LOCK,
       S_INSERT,
       S_UPSERT,
       S_DEL,
       S_DEL_SCOPE,
       S_COUNT,
       S_LIST, /* + 0..3: strict lower bound 1, upper bound 2 */
       S_SCAN = S_LIST + 4,
       S_CLAIM,
       S_LOCK_KEY,
};

static const char *const SQL[] = {
    [S_GET] = "SELECT doc FROM items WHERE kind=$1 AND scope=$2 AND name=$3",
    [S_GET_LOCK] = "SELECT doc FROM items WHERE kind=$1 AND scope=$2 AND name=$3 FOR UPDATE",
    [S_INSERT] = "INSERT INTO items(kind,scope,name,doc) VALUES($1,$2,$3,$4)"
                 " ON CONFLICT DO NOTHING",
    [S_UPSERT] = "INSERT INTO items(kind,scope,name,doc) VALUES($1,$2,$3,$4)"
                 " ON CONFLICT (kind,scope,name) DO UPDATE SET doc=EXCLUDED.doc",
    [S_DEL] = "DELETE FROM items WHERE kind=$1 AND scope=$2 AND name=$3",
    [S_DEL_SCOPE] = "DELETE FROM items WHERE kind=$1 AND scope=$2",
    [S_COUNT] = "SELECT count(*) FROM items WHERE kind=$1 AND scope=$2",
    [S_LIST] = "SELECT name, doc FROM items WHERE kind=$1 AND scope=$2 AND name >= $3"
               " ORDER BY name LIMIT $5::bigint",
    [S_LIST + 1] = "SELECT name, doc FROM items WHERE kind=$1 AND scope=$2 AND name > $3"
                   " ORDER BY name LIMIT $5::bigint",
    [S_LIST + 2] = "SELECT name, doc FROM items WHERE kind=$1 AND scope=$2 AND name >= $3"
                   " AND name < $4 ORDER BY name LIMIT $5::bigint",
    [S_LIST + 3] = "SELECT name, doc FROM items WHERE kind=$1 AND scope=$2 AND name > $3"
                   " AND name < $4 ORDER BY name LIMIT $5::bigint",
    [S_SCAN] = "SELECT kind, scope, name, doc FROM items WHERE (kind, scope, name) > ($1,$2,$3)"
               " ORDER BY kind, scope, name LIMIT 500",
    [S_CLAIM] =
        "SELECT name, doc FROM items WHERE kind=$1 AND scope=$2 ORDER BY name LIMIT $3::bigint"
        " FOR UPDATE SKIP LOCKED",
    [S_LOCK_KEY] = "SELECT pg_advisory_xact_lock_shared($1::int, 0),"
                   " pg_advisory_xact_lock($1::int + 1, hashtext($2))",
};

static cl_err run(pg_conn *p, int id, int n, const char *const *params, PGresult **out) {
    return pgc_run(p, id, SQL[id], n, params, out);
}

static const char *nz(const char *s) {
    return s ? s : "";
}

/* ---- transactions ---- */
static const char lock_class[] = "1131179881"; /* PG_LOCK_CLASS in decimal */

static cl_err pg_begin(void *conn, store_lock mode, const char *key) {
    pg_conn *p = conn;
    p->txn_lost = false;
    CL_TRY(pgc_exec(p, "BEGIN"));
    p->in_txn = true;
    p->txn_wrote = false;
    p->mode = mode;
    cl_err e;
    if (mode == STORE_LOCK_KEY) {
        const char *params[] = {lock_class, nz(key)};
        e = run(p, S_LOCK_KEY, 2, params, NULL);
    } else {
        char sql[96];
        snprintf(sql, sizeof sql, "SELECT pg_advisory_xact_lock%s(%d, 0)",
                 mode == STORE_LOCK_ALL ? "" : "_shared", PG_LOCK_CLASS);
        e = pgc_exec(p, sql);
    }
    if (e != CL_OK) {
        if (p->c) pgc_exec(p, "ROLLBACK");
        p->in_txn = p->txn_lost = false;
    }
    return e;
}

static cl_err pg_commit(void *conn) {
    pg_conn *p = conn;
    cl_err e = p->txn_lost ? CL_ERR_UNAVAILABLE
                           : pgc_exec(p, p->txn_wrote ? "NOTIFY " PG_CHANNEL "; COMMIT" : "COMMIT");
    if (e != CL_OK && p->c) pgc_exec(p, "ROLLBACK");
    p->in_txn = p->txn_lost = false;
    return e;
}

static void pg_rollback(void *conn) {
    pg_conn *p = conn;
    if (!p->txn_lost && p->c) pgc_exec(p, "ROLLBACK");
    p->in_txn = p->txn_lost = false;
}

/* A single write outside a transaction: BEGIN, its key's locks, the write,
 * COMMIT (with NOTIFY); inside one, just the write. */
static cl_err write_stmt(pg_conn *p, int id, const char *kind, const char *scope, const char *name,
                         const char *doc, PGresult **out) {
    const char *params[] = {kind, nz(scope), nz(name), doc};
    int n = id == S_DEL_SCOPE ? 2 : id == S_DEL ? 3 : 4;
    if (p->in_txn) {
        cl_err e = run(p, id, n, params, out);
        if (e == CL_OK) p->txn_wrote = true;
        return e;
    }
    char *key = name ? cl_sprintf("u/%s/%s/%s", kind, nz(scope), name) : NULL;
    cl_err e = pg_begin(p, name ? STORE_LOCK_KEY : STORE_LOCK_SHARED, key);
    free(key);
    CL_TRY(e);
    e = run(p, id, n, params, out);
    if (e != CL_OK) {
        pg_rollback(p);
        return e;
    }
    p->txn_wrote = true;
    e = pg_commit(p);
    if (e != CL_OK && out) {
        PQclear(*out);
        *out = NULL;
    }
    return e;
}

static bool changed_rows(PGresult *r) {
    const char *t = PQcmdTuples(r);
    return t && *t && strcmp(t, "0") != 0;
}

static cl_err pg_write(void *conn, const char *kind, const char *scope, const char *name,
                       const char *doc, bool replace) {
    PGresult *r = NULL;
    CL_TRY(write_stmt(conn, replace ? S_UPSERT : S_INSERT, kind, scope, name, doc, &r));
    bool done = changed_rows(r);
    PQclear(r);
    return done ? CL_OK : CL_ERR_EXISTS;
}

static cl_err pg_del(void *conn, const char *kind, const char *scope, const char *name) {
    PGresult *r = NULL;
    CL_TRY(write_stmt(conn, S_DEL, kind, scope, name, NULL, &r));
    bool done = changed_rows(r);
    PQclear(r);
    return done ? CL_OK : CL_ERR_NOT_FOUND;
}

static cl_err pg_del_scope(void *conn, const char *kind, const char *scope) {
    return write_stmt(conn, S_DEL_SCOPE, kind, scope, NULL, NULL, NULL);
}

/* ---- reads ---- */
static cl_err pg_get(void *conn, const char *kind, const char *scope, const char *name,
                     char **doc) {
    pg_conn *p = conn;
    const char *params[] = {kind, nz(scope), name};
    PGresult *r = NULL;
    int id = p->in_txn && p->mode == STORE_LOCK_KEY ? S_GET_LOCK : S_GET;
    CL_TRY(run(p, id, 3, params, &r));
    cl_err e = CL_ERR_NOT_FOUND;
    if (PQntuples(r) > 0) {
        *doc = cl_strdup(PQgetvalue(r, 0, 0));
        e = CL_OK;
    }
    PQclear(r);
    return e;
}

static cl_err pg_count(void *conn, const char *kind, const char *scope, size_t *out) {
    const char *params[] = {kind, nz(scope)};
    PGresult *r = NULL;
    CL_TRY(run(conn, S_COUNT, 2, params, &r));
    *out = PQntuples(r) ? (size_t)strtoull(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    return CL_OK;
}

/* Decodes the UTF-8 character at s (n bytes), leniently. */
static uint32_t utf8_dec(const unsigned char *s, size_t n) {
    uint32_t cp = n == 1 ? s[0] : s[0] & (0xff >> (n + 1));
    for (size_t i = 1; i < n; i++)
        cp = cp << 6 | (s[i] & 0x3f);
    return cp;
}

static size_t utf8_enc(uint32_t cp, char *o) {
    if (cp < 0x80) return o[0] = (char)cp, 1;
    if (cp < 0x800) return o[0] = (char)(0xc0 | cp >> 6), o[1] = (char)(0x80 | (cp & 0x3f)), 2;
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12), o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18), o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* The smallest valid UTF-8 string greater than every string with this prefix
 * (its last character that is not U+10FFFF, plus one), or NULL. UTF-8 byte
 * order is code point order, so this is an exact bound under COLLATE "C". */
static char *prefix_upper(const char *prefix) {
    size_t n = strlen(prefix);
    char *u = cl_malloc(n + 5);
    memcpy(u, prefix, n + 1);
    while (n > 0) {
        size_t st = n - 1;
        while (st > 0 && ((unsigned char)u[st] & 0xc0) == 0x80)
            st--;
        uint32_t cp = utf8_dec((unsigned char *)u + st, n - st);
        if (cp < 0x10ffff) {
            cp = cp + 1 == 0xd800 ? 0xe000 : cp + 1;
            u[st + utf8_enc(cp, u + st)] = 0;
            return u;
        }
        n = st;
    }
    free(u);
    return NULL;
}

static cl_err pg_list(void *conn, const char *kind, const char *scope, const char *prefix,
                      const char *start_after, size_t limit, store_list_fn fn, void *arg,
                      bool *more) {
    char *upper = prefix && *prefix ? prefix_upper(prefix) : NULL;
    const char *lower = prefix ? prefix : "";
    bool strict = start_after && strcmp(start_after, lower) >= 0;
    if (strict) lower = start_after;
    char lim[24] = "ALL";
    if (limit) snprintf(lim, sizeof lim, "%zu", limit + 1);
    const char *params[] = {kind, nz(scope), lower, upper ? upper : "", limit ? lim : NULL};
    PGresult *r = NULL;
    cl_err e = run(conn, S_LIST + (strict ? 1 : 0) + (upper ? 2 : 0), 5, params, &r);
    free(upper);
    CL_TRY(e);
    size_t n = (size_t)PQntuples(r);
    if (more) *more = limit && n > limit;
    if (limit && n > limit) n = limit;
    for (size_t i = 0; i < n; i++)
        if (!fn(arg, PQgetvalue(r, (int)i, 0), PQgetvalue(r, (int)i, 1))) break;
    PQclear(r);
    return CL_OK;
}

static cl_err pg_scan_all(void *conn, store_scan_fn fn, void *arg) {
    char *last[3] = {cl_strdup(""), cl_strdup(""), cl_strdup("")};
    cl_err e = CL_OK;
    for (bool full = true, stop = false; e == CL_OK && full && !stop;) {
        PGresult *r = NULL;
        e = run(conn, S_SCAN, 3, (const char *const *)last, &r);
        if (e != CL_OK) break;
        int n = PQntuples(r);
        full = n == 500;
        for (int i = 0; i < n && !stop; i++)
            stop = !fn(arg, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
                       PQgetvalue(r, i, 3));
        for (int c = 0; n && c < 3; c++) {
            free(last[c]);
            last[c] = cl_strdup(PQgetvalue(r, n - 1, c));
        }
        PQclear(r);
    }
    for (int c = 0; c < 3; c++)
        free(last[c]);
    return e;
}

/* Row locks: claimers skip each other's rows instead of waiting. */
static cl_err pg_claim(void *conn, const char *kind, const char *scope, size_t scan_max,
                       store_pick_fn pick, void *arg, char **name, char **doc) {
    char lim[24];
    snprintf(lim, sizeof lim, "%zu", scan_max);
    const char *params[] = {kind, nz(scope), lim};
    PGresult *r = NULL;
    CL_TRY(run(conn, S_CLAIM, 3, params, &r));
    int n = PQntuples(r), i = 0;
    while (i < n && !pick(arg, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1)))
        i++;
    cl_err e = CL_ERR_NOT_FOUND;
    if (i < n) {
        e = pg_del(conn, kind, scope, PQgetvalue(r, i, 0));
        if (e == CL_OK) {
            *name = cl_strdup(PQgetvalue(r, i, 0));
            *doc = cl_strdup(PQgetvalue(r, i, 1));
        }
    }
    PQclear(r);
    return e;
}

static cl_err pg_ping(void *conn) {
    return pgc_exec(conn, "SELECT 1");
}

/* ---- open, migrations ---- */
/* 0 when there is no schema_version table yet (without an error logged). */
static int pg_version(void *conn) {
    pg_conn *p = conn;
    PGresult *r = NULL;
    int v = 0;
    if (pgc_exec_result(p, "SELECT to_regclass('schema_version') IS NOT NULL", &r) != CL_OK)
        return 0;
    bool exists = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (exists &&
        pgc_exec_result(p, "SELECT coalesce(max(version), 0) FROM schema_version", &r) == CL_OK) {
        v = atoi(PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    return v;
}

static cl_err too_new(int have) {
    log_error("store: database schema version %d is newer than this binary (%d)", have,
              N_MIGRATIONS);
    return CL_ERR_INVALID;
}

static cl_err apply(pg_conn *p, int v) {
    char *sql = cl_sprintf("BEGIN; %s; INSERT INTO schema_version(version) VALUES (%d); COMMIT",
                           MIGRATIONS[v - 1], v);
    cl_err e = pgc_exec(p, sql);
    free(sql);
    if (e != CL_OK) {
        if (p->c) pgc_exec(p, "ROLLBACK");
        return e;
    }
    log_info("store: applied schema migration %d", v);
    return CL_OK;
}

/* Under the session migration lock: nodes starting together apply each once. */
static cl_err pg_migrate(pg_conn *p) {
    int have = pg_version(p);
    if (have == N_MIGRATIONS) return CL_OK;
    if (have > N_MIGRATIONS) return too_new(have);
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_advisory_lock(%d, 1)", PG_LOCK_CLASS);
    CL_TRY(pgc_exec(p, sql));
    cl_err e = pgc_exec(p, "CREATE TABLE IF NOT EXISTS schema_version (version int NOT NULL,"
                           " applied_at timestamptz NOT NULL DEFAULT now())");
    have = pg_version(p); /* again, under the lock */
    if (e == CL_OK && have > N_MIGRATIONS) e = too_new(have);
    for (int v = have + 1; e == CL_OK && v <= N_MIGRATIONS; v++)
        e = apply(p, v);
    snprintf(sql, sizeof sql, "SELECT pg_advisory_unlock(%d, 1)", PG_LOCK_CLASS);
    if (p->c) pgc_exec(p, sql);
    return e;
}

/* Logs where the store is, never the password. */
static void log_target(const char *url) {
    static int logged;
    if (__atomic_exchange_n(&logged, 1, __ATOMIC_ACQ_REL)) return;
    PQconninfoOption *opts = PQconninfoParse(url, NULL);
    const char *host = NULL, *port = NULL, *db = NULL;
    for (PQconninfoOption *o = opts; o && o->keyword; o++) {
        if (strcmp(o->keyword, "host") == 0) host = o->val;
        if (strcmp(o->keyword, "port") == 0) port = o->val;
        if (strcmp(o->keyword, "dbname") == 0) db = o->val;
    }
    log_info("store: postgres at %s:%s, database %s", host ? host : "(default)",
             port ? port : "5432", db ? db : "(default)");
    PQconninfoFree(opts);
}

static void pg_close(void *conn) {
    pg_conn *p = conn;
    if (!p) return;
    if (p->c) PQfinish(p->c);
    free(p->url);
    free(p);
}

static cl_err pg_open(const char *url, const store_options *o, void **out) {
    log_target(url);
    pg_conn *p = cl_calloc(1, sizeof *p);
    p->url = cl_strdup(url);
    p->timeout_ms = o && o->timeout_ms ? o->timeout_ms : 5000;
    p->c = pgc_connect(url, p->timeout_ms);
    if (!p->c) {
        log_error("store: cannot connect to postgres");
        pg_close(p);
        return CL_ERR_UNAVAILABLE;
    }
    cl_err e = pg_migrate(p);
    if (e != CL_OK) {
        pg_close(p);
        return e;
    }
    *out = p;
    return CL_OK;
}

const struct store_backend store_pg_backend = {
    .name = "postgres",
    .open = pg_open,
    .close = pg_close,
    .schema_version = pg_version,
    .ping = pg_ping,
    .get = pg_get,
    .write = pg_write,
    .del = pg_del,
    .del_scope = pg_del_scope,
    .list = pg_list,
    .count = pg_count,
    .scan_all = pg_scan_all,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .claim = pg_claim,
    .watch = pg_watch,
    .unwatch = pg_unwatch,
};
