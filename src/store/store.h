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

/* url: "sqlite:PATH" or a plain path (SQLite). */
cl_err store_open(const char *url, store **out);
void store_close(store *s);
int store_schema_version(store *s);

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

/* A counter bumped by every write through this handle (insert, put, delete).
 * In-process caches of store data stay valid while it is unchanged. (A shared
 * backend with several servers will need its own invalidation.) */
uint64_t store_write_seq(store *s);

/* Runs fn inside a transaction: committed if fn returns CL_OK, else rolled back
 * and fn's error returned. Other threads' calls wait until it ends. */
typedef cl_err (*store_txn_fn)(store *s, void *arg);
cl_err store_txn(store *s, store_txn_fn fn, void *arg);

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

/* ---- backend interface ---- */
struct store_backend {
    const char *name;
    cl_err (*open)(const char *target, void **impl);
    void (*close)(void *impl);
    int (*schema_version)(void *impl);
    cl_err (*get)(void *impl, const char *kind, const char *scope, const char *name, char **doc);
    cl_err (*write)(void *impl, const char *kind, const char *scope, const char *name,
                    const char *doc, bool replace);
    cl_err (*del)(void *impl, const char *kind, const char *scope, const char *name);
    cl_err (*del_scope)(void *impl, const char *kind, const char *scope);
    cl_err (*list)(void *impl, const char *kind, const char *scope, const char *prefix,
                   const char *start_after, size_t limit, store_list_fn fn, void *arg, bool *more);
    cl_err (*count)(void *impl, const char *kind, const char *scope, size_t *out);
    cl_err (*begin)(void *impl);
    cl_err (*commit)(void *impl);
    void (*rollback)(void *impl);
    /* optional (NULL: the generic list-then-delete): as store_claim, called
     * inside a transaction */
    cl_err (*claim)(void *impl, const char *kind, const char *scope, size_t scan_max,
                    store_pick_fn pick, void *arg, char **name, char **doc);
};

extern const struct store_backend store_sqlite_backend;

#endif
