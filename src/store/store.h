/* store.h — the meta store: a small, ordered document store that every service
 * keeps its metadata in (accounts, users, keys, roles, policies, sessions; later
 * buckets, objects, keys). Items are JSON text addressed by (kind, scope, name):
 * `kind` is the item type ("user"), `scope` its container ("111122223333"), `name`
 * its key within the scope ("alice"). Listing is ordered by name, with prefix and
 * start-after, which is what S3/IAM pagination needs.
 *
 * Backends implement struct store_backend; SQLite (WAL) is the default and a
 * PostgreSQL backend can be added without touching callers. Schema changes are
 * migrations applied in order and recorded in a version table.
 *
 * Thread safety: all calls may come from any thread. store_txn runs a function
 * inside one transaction; calls the function makes on the same store join it.
 * Ownership: docs returned through char ** are malloc'd; the caller frees. */
#ifndef CLOISTER_STORE_H
#define CLOISTER_STORE_H

#include "base/base.h"

typedef struct store store;

typedef struct {
    unsigned pool_size;  /* connections (0: 8); SQLite readers run on them concurrently */
    unsigned timeout_ms; /* PostgreSQL: connect and per-statement deadline (0: 5000) */
} store_options;

/* url: "sqlite:PATH" or a plain path (SQLite, the default), or
 * "postgres://..." / "postgresql://..." (libpq connection URI; PostgreSQL).
 * The first node to open a database applies the migrations (under a lock);
 * the others wait for it and find the same version. */
cl_err store_open(const char *url, store **out);
cl_err store_open_opts(const char *url, const store_options *o, store **out);
void store_close(store *s);
int store_schema_version(store *s);
/* "sqlite" or "postgres". */
const char *store_backend_name(store *s);
/* One round trip to the database: CL_OK, or CL_ERR_UNAVAILABLE. */
cl_err store_ping(store *s);

/* Unavailability. Any call may fail with CL_ERR_UNAVAILABLE when the database
 * cannot be reached (or a statement overran timeout_ms); nothing of a failed
 * transaction is kept. The store also records it in a per-thread flag, so a
 * request handler that turned the error into a generic one can still be
 * answered 503: store_unavailable_clear() before the request,
 * store_unavailable_seen() after it. Service resumes by itself: a broken
 * connection is re-established by the next call that needs it. */
void store_unavailable_clear(void);
bool store_unavailable_seen(void);

cl_err store_get(store *s, const char *kind, const char *scope, const char *name, char **doc);
/* Insert, failing with CL_ERR_EXISTS if the item exists. */
cl_err store_insert(store *s, const char *kind, const char *scope, const char *name,
                    const char *doc);
/* Insert or replace. */
cl_err store_put(store *s, const char *kind, const char *scope, const char *name, const char *doc);
/* CL_ERR_NOT_FOUND if absent. */
cl_err store_delete(store *s, const char *kind, const char *scope, const char *name);
/* Delete every item of a kind in a scope (e.g. a user's inline policies). */
cl_err store_delete_scope(store *s, const char *kind, const char *scope);

/* Called per item in name order; return false to stop early. */
typedef bool (*store_list_fn)(void *arg, const char *name, const char *doc);
/* Items of (kind, scope) whose name starts with prefix (NULL = all) and is
 * greater than start_after (NULL = from the start), at most limit (0 = no limit).
 * *more (may be NULL) is set when further items exist beyond limit. */
cl_err store_list(store *s, const char *kind, const char *scope, const char *prefix,
                  const char *start_after, size_t limit, store_list_fn fn, void *arg, bool *more);
cl_err store_count(store *s, const char *kind, const char *scope, size_t *out);

/* A counter that changes whenever the stored data may have changed: bumped by
 * every write through this handle and, on a shared backend (PostgreSQL), by
 * every commit of another node (LISTEN/NOTIFY), typically within milliseconds.
 * While the change feed is down (its connection lost) every call returns a new
 * value, so nothing cached is trusted until the feed is back. In-process caches
 * read it BEFORE loading from the store, tag the entry with it, and trust the
 * entry only while it is unchanged. */
uint64_t store_write_seq(store *s);

/* Runs fn inside a transaction: committed if fn returns CL_OK, else rolled back
 * and fn's error returned. Calls fn makes on the same store from the same thread
 * join it. It is serialised against every other writer (all nodes): no other
 * write commits while it runs, so fn sees a stable state. Readers on other
 * threads are not blocked; they see the state before it commits. */
typedef cl_err (*store_txn_fn)(store *s, void *arg);
cl_err store_txn(store *s, store_txn_fn fn, void *arg);
/* As store_txn, but serialised only against transactions naming the same key
 * (and against store_txn): on PostgreSQL an advisory lock on the key, so
 * writers of different keys (validators, tasks) run in parallel on all nodes.
 * fn must only touch items the key stands for. */
cl_err store_txn_keyed(store *s, const char *key, store_txn_fn fn, void *arg);

/* Read-modify-write of one item, atomically: fn gets the item's current text
 * (NULL if absent) and sets *next to the new text (malloc'd; the store frees
 * it), or leaves it NULL to keep the item unchanged. The read and the write run
 * in one transaction, so no other writer's change lands in between (no lost
 * update). If fn returns an error, nothing is written and that error is
 * returned. Every read-modify-write of a document must go through this (or
 * store_txn), never store_get followed by store_put.
 *
 * Contract for backends (and for a future PostgreSQL backend): the item must be
 * read with a write lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: SELECT ... FOR
 * UPDATE, or SERIALIZABLE with retry). fn may therefore be called more than
 * once if the backend retries a serialization failure: it must depend only on
 * `cur` and `arg`, and reset anything it reports through `arg` on each call.
 * fn must not call back into the store for other items that could deadlock
 * (calls on the same store join the transaction). */
typedef cl_err (*store_update_fn)(void *arg, const char *cur, char **next);
cl_err store_update(store *s, const char *kind, const char *scope, const char *name,
                    store_update_fn fn, void *arg);

/* Claims one item of a queue-like kind: scans (kind, scope) in name order (at
 * most scan_max items, 0 = 256), calls pick for each until it returns true,
 * then deletes that item and returns its name and text (malloc'd) in *name and
 * *doc. CL_ERR_NOT_FOUND when pick accepted none. Runs in a transaction (or
 * joins the caller's), so two claimers never get the same item: this is the
 * queue primitive task leasing is built on. A backend with row locks (the
 * PostgreSQL one: SELECT ... ORDER BY name FOR UPDATE SKIP LOCKED) provides
 * `claim` so claimers do not wait for each other; without it the generic
 * version (list, then delete, inside the transaction) is used. pick must not
 * call the store. */
typedef bool (*store_pick_fn)(void *arg, const char *name, const char *doc);
cl_err store_claim(store *s, const char *kind, const char *scope, size_t scan_max,
                   store_pick_fn pick, void *arg, char **name, char **doc);

/* Every item, in (kind, scope, name) order (byte order), for migration and
 * verification. Return false to stop. */
typedef bool (*store_scan_fn)(void *arg, const char *kind, const char *scope, const char *name,
                              const char *doc);
cl_err store_scan_all(store *s, store_scan_fn fn, void *arg);

/* A lease: one holder at a time across all nodes. Takes or renews the lease
 * `name` for `holder` for ttl_s seconds when it is free, expired, or already
 * held by holder; *held says whether holder has it now. Used so background
 * housekeeping runs on one node at a time. */
cl_err store_lease(store *s, const char *name, const char *holder, unsigned ttl_s, bool *held);

/* ---- backend interface ----
 * A backend implements one connection; the front (store.c) keeps a pool of
 * them, binds one to a thread for the length of a call or a transaction (so a
 * list callback or a transaction body calling the store reuses it), and, when
 * serial_writes is set, lets one thread of this process write at a time.
 * Items' names (and kinds and scopes) order bytewise (memcmp), on every backend.
 * Every call returns CL_ERR_UNAVAILABLE when the database cannot be reached or
 * a statement overran its deadline; after that the connection re-establishes
 * itself on a later call. */
typedef enum {
    STORE_LOCK_ALL,    /* store_txn: exclusive against every writer */
    STORE_LOCK_KEY,    /* store_txn_keyed / store_update: exclusive on key, shared otherwise */
    STORE_LOCK_SHARED, /* store_claim: shared; rows claimed with row locks */
} store_lock;

typedef struct {
    void (*changed)(void *ctx);          /* another node (or this one) committed a write */
    void (*state)(void *ctx, bool up);   /* the feed connection is (re)established or lost */
    void *ctx;
} store_feed;

struct store_backend {
    const char *name;
    bool serial_writes; /* one writer per process at a time (SQLite) */
    /* One connection to target. The first open in a process applies migrations. */
    cl_err (*open)(const char *target, const store_options *o, void **conn);
    void (*close)(void *conn);
    int (*schema_version)(void *conn);
    cl_err (*ping)(void *conn);
    cl_err (*get)(void *conn, const char *kind, const char *scope, const char *name, char **doc);
    /* write/del/del_scope outside a transaction are made atomic and serialised
     * on their key by the backend itself (PostgreSQL: a short transaction with
     * the STORE_LOCK_KEY locks); inside one they join it. */
    cl_err (*write)(void *conn, const char *kind, const char *scope, const char *name,
                    const char *doc, bool replace);
    cl_err (*del)(void *conn, const char *kind, const char *scope, const char *name);
    cl_err (*del_scope)(void *conn, const char *kind, const char *scope);
    /* fn may call the store again (on this connection): rows are fetched first. */
    cl_err (*list)(void *conn, const char *kind, const char *scope, const char *prefix,
                   const char *start_after, size_t limit, store_list_fn fn, void *arg, bool *more);
    cl_err (*count)(void *conn, const char *kind, const char *scope, size_t *out);
    cl_err (*scan_all)(void *conn, store_scan_fn fn, void *arg);
    /* key is NULL except for STORE_LOCK_KEY */
    cl_err (*begin)(void *conn, store_lock mode, const char *key);
    /* A shared backend announces a commit that wrote (NOTIFY) here. */
    cl_err (*commit)(void *conn);
    void (*rollback)(void *conn);
    /* optional (NULL: the generic list-then-delete): as store_claim, called
     * inside a transaction */
    cl_err (*claim)(void *conn, const char *kind, const char *scope, size_t scan_max,
                    store_pick_fn pick, void *arg, char **name, char **doc);
    /* optional change feed (NULL: single process): starts a thread that calls
     * feed->changed on every commit by any node and feed->state when its own
     * connection is lost (false) or back (true; then changed is implied). */
    cl_err (*watch)(const char *target, const store_options *o, const store_feed *feed,
                    void **watcher);
    void (*unwatch)(void *watcher);
};

extern const struct store_backend store_sqlite_backend;
extern const struct store_backend store_pg_backend;

#endif
