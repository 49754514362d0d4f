/* store.c — the backend-neutral front of the meta store: picks a backend from
 * the URL, keeps a pool of its connections and binds one to the calling thread
 * for the length of a call or a transaction (a thread-local list of bindings,
 * one per store handle), so calls made from a list callback or a transaction
 * body reuse it and join the transaction. There is no lock around reads: each
 * call runs on its own pooled connection. A serial_writes backend (SQLite)
 * gets one process-wide write mutex around writes and transactions, so writers
 * queue here instead of failing SQLITE_BUSY while readers on other connections
 * run concurrently (WAL) and see the last commit.
 *
 * write_seq: bumped by every local write (at the write, for the writer's own
 * reads inside its transaction, and again after the commit, so an entry a
 * concurrent reader loaded before the commit is never trusted), by the
 * backend's change feed (other nodes' commits), and on every read while that
 * feed is down. The lease and the generic claim are built here on top. */
#include "store/store.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct store {
    const struct store_backend *be;
    char *target;
    store_options o;
    pthread_mutex_t pool_mu;
    pthread_cond_t pool_cv;
    void **idle; /* pool_size slots */
    unsigned n_idle, n_open;
    void *watcher;
    uint64_t write_seq; /* atomic */
    int feed_down;      /* atomic */
};

/* One thread's use of one store: lives on the stack of the outermost call. */
typedef struct binding {
    store *s;
    void *conn;
    int txn_depth;
    bool wrote; /* the running transaction wrote */
    struct binding *next;
} binding;

static _Thread_local binding *bindings;
static _Thread_local bool unavailable_seen;
/* serial_writes: one writer per process; wlock_depth makes it re-entrant per
 * thread (a transaction on one handle writing through another) */
static pthread_mutex_t write_mu = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local int wlock_depth;

void store_unavailable_clear(void) {
    unavailable_seen = false;
}

bool store_unavailable_seen(void) {
    return unavailable_seen;
}

static cl_err note(cl_err e) {
    if (e == CL_ERR_UNAVAILABLE) unavailable_seen = true;
    return e;
}

static void bump(store *s) {
    __atomic_add_fetch(&s->write_seq, 1, __ATOMIC_ACQ_REL);
}

uint64_t store_write_seq(store *s) {
    if (__atomic_load_n(&s->feed_down, __ATOMIC_ACQUIRE))
        return __atomic_add_fetch(&s->write_seq, 1, __ATOMIC_ACQ_REL);
    return __atomic_load_n(&s->write_seq, __ATOMIC_ACQUIRE);
}

static void feed_changed(void *ctx) {
    bump(ctx);
}

static void feed_state(void *ctx, bool up) {
    store *s = ctx;
    __atomic_store_n(&s->feed_down, up ? 0 : 1, __ATOMIC_RELEASE);
    bump(s);
}

/* ---- the pool and the per-thread binding ---- */
static cl_err pool_get(store *s, void **conn) {
    pthread_mutex_lock(&s->pool_mu);
    while (s->n_idle == 0 && s->n_open >= s->o.pool_size)
        pthread_cond_wait(&s->pool_cv, &s->pool_mu);
    if (s->n_idle > 0) {
        *conn = s->idle[--s->n_idle];
        pthread_mutex_unlock(&s->pool_mu);
        return CL_OK;
    }
    s->n_open++;
    pthread_mutex_unlock(&s->pool_mu);
    cl_err e = s->be->open(s->target, &s->o, conn);
    if (e != CL_OK) {
        pthread_mutex_lock(&s->pool_mu);
        s->n_open--;
        pthread_cond_signal(&s->pool_cv);
        pthread_mutex_unlock(&s->pool_mu);
    }
    return note(e);
}

static void pool_put(store *s, void *conn) {
    pthread_mutex_lock(&s->pool_mu);
    s->idle[s->n_idle++] = conn;
    pthread_cond_signal(&s->pool_cv);
    pthread_mutex_unlock(&s->pool_mu);
}

static binding *bound(store *s) {
    for (binding *b = bindings; b; b = b->next)
        if (b->s == s) return b;
    return NULL;
}

/* Binds a connection to this thread: the existing binding if a call of this
 * thread is already running on s (*out = it), else a pooled one in *fresh. */
static cl_err enter(store *s, binding *fresh, binding **out) {
    binding *b = bound(s);
    if (b) {
        *out = b;
        return CL_OK;
    }
    memset(fresh, 0, sizeof *fresh);
    CL_TRY(pool_get(s, &fresh->conn));
    fresh->s = s;
    fresh->next = bindings;
    bindings = fresh;
    *out = fresh;
    return CL_OK;
}

static void leave(binding *fresh, binding *b) {
    if (b != fresh) return; /* nested: the outer call keeps it */
    binding **p = &bindings;
    while (*p != b)
        p = &(*p)->next;
    *p = b->next;
    pool_put(b->s, b->conn);
}

static void wlock(store *s) {
    if (s->be->serial_writes && wlock_depth++ == 0) pthread_mutex_lock(&write_mu);
}

static void wunlock(store *s) {
    if (s->be->serial_writes && --wlock_depth == 0) pthread_mutex_unlock(&write_mu);
}

/* ---- open and close ---- */
cl_err store_open(const char *url, store **out) {
    return store_open_opts(url, NULL, out);
}

static const struct store_backend *pick_backend(const char *url, const char **target) {
    *target = url;
    if (strncmp(url, "sqlite:", 7) == 0) {
        *target = url + 7;
        return &store_sqlite_backend;
    }
    if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0)
        return &store_pg_backend;
    if (strstr(url, "://")) return NULL;
    return &store_sqlite_backend;
}

cl_err store_open_opts(const char *url, const store_options *o, store **out) {
    const char *target;
    const struct store_backend *be = pick_backend(url, &target);
    if (!be) {
        log_error("store: unknown meta store URL scheme (sqlite:PATH or postgres://...)");
        return CL_ERR_INVALID;
    }
    store *s = cl_calloc(1, sizeof *s);
    s->be = be;
    s->target = cl_strdup(target);
    if (o) s->o = *o;
    if (!s->o.pool_size) s->o.pool_size = 8;
    if (!s->o.timeout_ms) s->o.timeout_ms = 5000;
    s->idle = cl_calloc(s->o.pool_size, sizeof *s->idle);
    pthread_mutex_init(&s->pool_mu, NULL);
    pthread_cond_init(&s->pool_cv, NULL);
    void *conn = NULL;
    cl_err e = pool_get(s, &conn); /* the first connection applies migrations */
    if (e == CL_OK) {
        pool_put(s, conn);
        if (be->watch) {
            store_feed feed = {feed_changed, feed_state, s};
            e = be->watch(s->target, &s->o, &feed, &s->watcher);
        }
    }
    if (e != CL_OK) {
        store_close(s);
        return e;
    }
    *out = s;
    return CL_OK;
}

void store_close(store *s) {
    if (!s) return;
    if (s->watcher) s->be->unwatch(s->watcher);
    for (unsigned i = 0; i < s->n_idle; i++)
        s->be->close(s->idle[i]);
    pthread_mutex_destroy(&s->pool_mu);
    pthread_cond_destroy(&s->pool_cv);
    free(s->idle);
    free(s->target);
    free(s);
}

const char *store_backend_name(store *s) {
    return s->be->name;
}

/* ---- single calls ---- */
/* Runs one backend call on this thread's bound connection (CONN inside). */
#define ON_CONN(s, e, call)                                                                        \
    do {                                                                                           \
        binding fresh_, *b_;                                                                       \
        (e) = enter((s), &fresh_, &b_);                                                            \
        if ((e) == CL_OK) {                                                                        \
            void *CONN = b_->conn;                                                                 \
            (e) = note(call);                                                                      \
            leave(&fresh_, b_);                                                                    \
        }                                                                                          \
    } while (0)

int store_schema_version(store *s) {
    binding fresh, *b;
    if (enter(s, &fresh, &b) != CL_OK) return 0;
    int v = s->be->schema_version(b->conn);
    leave(&fresh, b);
    return v;
}

cl_err store_ping(store *s) {
    cl_err e;
    ON_CONN(s, e, s->be->ping(CONN));
    return e;
}

cl_err store_get(store *s, const char *kind, const char *scope, const char *name, char **doc) {
    cl_err e;
    ON_CONN(s, e, s->be->get(CONN, kind, scope, name, doc));
    return e;
}

typedef enum { W_INSERT, W_PUT, W_DEL, W_DEL_SCOPE } write_op;

static cl_err write_call(store *s, write_op op, const char *kind, const char *scope,
                         const char *name, const char *doc) {
    binding fresh, *b;
    CL_TRY(note(enter(s, &fresh, &b)));
    bool own_lock = b->txn_depth == 0; /* inside a transaction it holds the lock */
    if (own_lock) wlock(s);
    cl_err e;
    switch (op) {
    case W_INSERT:
    case W_PUT:
        e = s->be->write(b->conn, kind, scope, name, doc, op == W_PUT);
        break;
    case W_DEL:
        e = s->be->del(b->conn, kind, scope, name);
        break;
    default:
        e = s->be->del_scope(b->conn, kind, scope);
        break;
    }
    if (own_lock) wunlock(s);
    if (e == CL_OK) {
        bump(s);
        b->wrote = true;
    }
    leave(&fresh, b);
    return note(e);
}

cl_err store_insert(store *s, const char *kind, const char *scope, const char *name,
                    const char *doc) {
    return write_call(s, W_INSERT, kind, scope, name, doc);
}

cl_err store_put(store *s, const char *kind, const char *scope, const char *name, const char *doc) {
    return write_call(s, W_PUT, kind, scope, name, doc);
}

cl_err store_delete(store *s, const char *kind, const char *scope, const char *name) {
    return write_call(s, W_DEL, kind, scope, name, NULL);
}

cl_err store_delete_scope(store *s, const char *kind, const char *scope) {
    return write_call(s, W_DEL_SCOPE, kind, scope, NULL, NULL);
}

cl_err store_list(store *s, const char *kind, const char *scope, const char *prefix,
                  const char *start_after, size_t limit, store_list_fn fn, void *arg, bool *more) {
    cl_err e;
    ON_CONN(s, e, s->be->list(CONN, kind, scope, prefix, start_after, limit, fn, arg, more));
    return e;
}

cl_err store_count(store *s, const char *kind, const char *scope, size_t *out) {
    cl_err e;
    ON_CONN(s, e, s->be->count(CONN, kind, scope, out));
    return e;
}

cl_err store_scan_all(store *s, store_scan_fn fn, void *arg) {
    cl_err e;
    ON_CONN(s, e, s->be->scan_all(CONN, fn, arg));
    return e;
}

/* ---- transactions ---- */
static cl_err txn_run(store *s, store_lock mode, const char *key, store_txn_fn fn, void *arg) {
    binding fresh, *b;
    CL_TRY(note(enter(s, &fresh, &b)));
    cl_err e;
    if (b->txn_depth > 0) { /* nested: join the running transaction */
        b->txn_depth++;
        e = fn(s, arg);
        b->txn_depth--;
        leave(&fresh, b);
        return e;
    }
    wlock(s);
    e = note(s->be->begin(b->conn, mode, key));
    if (e == CL_OK) {
        b->txn_depth = 1;
        b->wrote = false;
        e = fn(s, arg);
        b->txn_depth = 0;
        if (e == CL_OK)
            e = note(s->be->commit(b->conn));
        else
            s->be->rollback(b->conn);
        if (b->wrote) bump(s); /* after the commit (or the rollback) */
        b->wrote = false;
    }
    wunlock(s);
    leave(&fresh, b);
    return e;
}

cl_err store_txn(store *s, store_txn_fn fn, void *arg) {
    return txn_run(s, STORE_LOCK_ALL, NULL, fn, arg);
}

cl_err store_txn_keyed(store *s, const char *key, store_txn_fn fn, void *arg) {
    return txn_run(s, STORE_LOCK_KEY, key, fn, arg);
}

typedef struct {
    const char *kind, *scope, *name;
    store_update_fn fn;
    void *arg;
} update_call;

static cl_err update_run(store *s, void *arg) {
    update_call *u = arg;
    char *cur = NULL, *next = NULL;
    cl_err e = store_get(s, u->kind, u->scope, u->name, &cur);
    if (e != CL_OK && e != CL_ERR_NOT_FOUND) return e;
    e = u->fn(u->arg, e == CL_OK ? cur : NULL, &next);
    cl_free_secret(cur);
    if (e == CL_OK && next) e = store_put(s, u->kind, u->scope, u->name, next);
    cl_free_secret(next);
    return e;
}

cl_err store_update(store *s, const char *kind, const char *scope, const char *name,
                    store_update_fn fn, void *arg) {
    update_call u = {kind, scope, name, fn, arg};
    char *key = cl_sprintf("u/%s/%s/%s", kind, scope ? scope : "", name);
    cl_err e = txn_run(s, STORE_LOCK_KEY, key, update_run, &u);
    free(key);
    return e;
}

/* ---- claiming (the queue primitive) ---- */
typedef struct {
    const char *kind, *scope;
    size_t scan_max;
    store_pick_fn pick;
    void *arg;
    char *name, *doc;
} claim_call;

static bool claim_scan(void *arg, const char *name, const char *doc) {
    claim_call *c = arg;
    if (!c->pick(c->arg, name, doc)) return true;
    c->name = cl_strdup(name);
    c->doc = cl_strdup(doc);
    return false;
}

static cl_err claim_run(store *s, void *arg) {
    claim_call *c = arg;
    binding *b = bound(s);
    cl_err e;
    if (s->be->claim) {
        e = note(s->be->claim(b->conn, c->kind, c->scope, c->scan_max, c->pick, c->arg, &c->name,
                              &c->doc));
        if (e == CL_OK) {
            bump(s);
            b->wrote = true;
        }
        return e;
    }
    CL_TRY(store_list(s, c->kind, c->scope, NULL, NULL, c->scan_max, claim_scan, c, NULL));
    if (!c->name) return CL_ERR_NOT_FOUND;
    return store_delete(s, c->kind, c->scope, c->name);
}

cl_err store_claim(store *s, const char *kind, const char *scope, size_t scan_max,
                   store_pick_fn pick, void *arg, char **name, char **doc) {
    claim_call c = {kind, scope, scan_max ? scan_max : 256, pick, arg, NULL, NULL};
    cl_err e = txn_run(s, STORE_LOCK_SHARED, NULL, claim_run, &c);
    if (e != CL_OK) {
        free(c.name);
        cl_free_secret(c.doc);
        return e;
    }
    *name = c.name;
    *doc = c.doc;
    return CL_OK;
}

/* ---- leases ---- */
typedef struct {
    const char *holder;
    unsigned ttl_s;
    bool held;
} lease_call;

static cl_err lease_fn(void *arg, const char *cur, char **next) {
    lease_call *l = arg;
    long long now = (long long)time(NULL);
    l->held = false;
    if (cur) {
        json_t *j = json_loads(cur, 0, NULL);
        const char *h = json_string_value(json_object_get(j, "holder"));
        long long exp = (long long)json_integer_value(json_object_get(j, "expires"));
        bool free_ = !h || exp <= now || strcmp(h, l->holder) == 0;
        json_decref(j);
        if (!free_) return CL_OK; /* someone else holds it: unchanged */
    }
    json_t *d = json_pack("{s:s, s:I}", "holder", l->holder, "expires",
                          (json_int_t)(now + (long long)l->ttl_s));
    *next = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(d);
    l->held = *next != NULL;
    return *next ? CL_OK : CL_ERR_NOMEM;
}

cl_err store_lease(store *s, const char *name, const char *holder, unsigned ttl_s, bool *held) {
    lease_call l = {holder, ttl_s, false};
    cl_err e = store_update(s, "lease", "", name, lease_fn, &l);
    *held = e == CL_OK && l.held;
    return e;
}
