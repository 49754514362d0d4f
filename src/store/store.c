/* store.c — the backend-neutral front of the meta store: picks a backend from
 * the URL and serialises access with one recursive lock, so a transaction
 * (store_txn) sees no interleaved writes from other threads and calls made from
 * inside it join it. One writer at a time is what SQLite allows anyway. */
#include "store/store.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct store {
    const struct store_backend *be;
    void *impl;
    pthread_mutex_t lock;
    int txn_depth;
    uint64_t write_seq; /* read without the lock: atomic */
};

static cl_err bump(store *s, cl_err e) {
    if (e == CL_OK) __atomic_add_fetch(&s->write_seq, 1, __ATOMIC_RELEASE);
    return e;
}

uint64_t store_write_seq(store *s) {
    return __atomic_load_n(&s->write_seq, __ATOMIC_ACQUIRE);
}

cl_err store_open(const char *url, store **out) {
    const struct store_backend *be = &store_sqlite_backend;
    const char *target = url;
    if (strncmp(url, "sqlite:", 7) == 0)
        target = url + 7;
    else if (strstr(url, "://") != NULL)
        return CL_ERR_INVALID; /* postgres:// not built yet */
    store *s = cl_calloc(1, sizeof *s);
    s->be = be;
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&s->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    cl_err e = be->open(target, &s->impl);
    if (e != CL_OK) {
        pthread_mutex_destroy(&s->lock);
        free(s);
        return e;
    }
    *out = s;
    return CL_OK;
}

void store_close(store *s) {
    if (!s) return;
    s->be->close(s->impl);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

#define LOCKED(s, expr)                                                                            \
    do {                                                                                           \
        pthread_mutex_lock(&(s)->lock);                                                            \
        cl_err locked_e_ = (expr);                                                                 \
        pthread_mutex_unlock(&(s)->lock);                                                          \
        return locked_e_;                                                                          \
    } while (0)

int store_schema_version(store *s) {
    pthread_mutex_lock(&s->lock);
    int v = s->be->schema_version(s->impl);
    pthread_mutex_unlock(&s->lock);
    return v;
}

cl_err store_get(store *s, const char *kind, const char *scope, const char *name, char **doc) {
    LOCKED(s, s->be->get(s->impl, kind, scope, name, doc));
}

cl_err store_insert(store *s, const char *kind, const char *scope, const char *name,
                    const char *doc) {
    LOCKED(s, bump(s, s->be->write(s->impl, kind, scope, name, doc, false)));
}

cl_err store_put(store *s, const char *kind, const char *scope, const char *name, const char *doc) {
    LOCKED(s, bump(s, s->be->write(s->impl, kind, scope, name, doc, true)));
}

cl_err store_delete(store *s, const char *kind, const char *scope, const char *name) {
    LOCKED(s, bump(s, s->be->del(s->impl, kind, scope, name)));
}

cl_err store_delete_scope(store *s, const char *kind, const char *scope) {
    LOCKED(s, bump(s, s->be->del_scope(s->impl, kind, scope)));
}

cl_err store_list(store *s, const char *kind, const char *scope, const char *prefix,
                  const char *start_after, size_t limit, store_list_fn fn, void *arg, bool *more) {
    LOCKED(s, s->be->list(s->impl, kind, scope, prefix, start_after, limit, fn, arg, more));
}

cl_err store_count(store *s, const char *kind, const char *scope, size_t *out) {
    LOCKED(s, s->be->count(s->impl, kind, scope, out));
}

cl_err store_txn(store *s, store_txn_fn fn, void *arg) {
    pthread_mutex_lock(&s->lock);
    if (s->txn_depth > 0) { /* nested: join the outer transaction */
        s->txn_depth++;
        cl_err e = fn(s, arg);
        s->txn_depth--;
        pthread_mutex_unlock(&s->lock);
        return e;
    }
    cl_err e = s->be->begin(s->impl);
    if (e == CL_OK) {
        s->txn_depth = 1;
        e = fn(s, arg);
        s->txn_depth = 0;
        if (e == CL_OK)
            e = s->be->commit(s->impl);
        else
            s->be->rollback(s->impl);
    }
    pthread_mutex_unlock(&s->lock);
    return e;
}

typedef struct {
    const char *kind, *scope, *name;
    store_update_fn fn;
    void *arg;
} update_call;

static cl_err update_run(store *s, void *arg) {
    update_call *u = arg;
    char *cur = NULL, *next = NULL;
    cl_err e = s->be->get(s->impl, u->kind, u->scope, u->name, &cur);
    if (e != CL_OK && e != CL_ERR_NOT_FOUND) return e;
    e = u->fn(u->arg, e == CL_OK ? cur : NULL, &next);
    cl_free_secret(cur);
    if (e == CL_OK && next)
        e = bump(s, s->be->write(s->impl, u->kind, u->scope, u->name, next, true));
    cl_free_secret(next);
    return e;
}

cl_err store_update(store *s, const char *kind, const char *scope, const char *name,
                    store_update_fn fn, void *arg) {
    update_call u = {kind, scope, name, fn, arg};
    return store_txn(s, update_run, &u);
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
    if (s->be->claim) {
        cl_err e = s->be->claim(s->impl, c->kind, c->scope, c->scan_max, c->pick, c->arg, &c->name,
                                &c->doc);
        return bump(s, e);
    }
    CL_TRY(s->be->list(s->impl, c->kind, c->scope, NULL, NULL, c->scan_max, claim_scan, c, NULL));
    if (!c->name) return CL_ERR_NOT_FOUND;
    return bump(s, s->be->del(s->impl, c->kind, c->scope, c->name));
}

cl_err store_claim(store *s, const char *kind, const char *scope, size_t scan_max,
                   store_pick_fn pick, void *arg, char **name, char **doc) {
    claim_call c = {kind, scope, scan_max ? scan_max : 256, pick, arg, NULL, NULL};
    cl_err e = store_txn(s, claim_run, &c);
    if (e != CL_OK) {
        free(c.name);
        free(c.doc);
        return e;
    }
    *name = c.name;
    *doc = c.doc;
    return CL_OK;
}
