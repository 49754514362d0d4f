/* store_pg.h — private to the PostgreSQL backend (store_pg.c, store_pg_conn.c,
 * store_pg_watch.c): one pooled connection and the statement runner. */
#ifndef CLOISTER_STORE_PG_H
#define CLOISTER_STORE_PG_H

#include "store/store.h"

#include <libpq-fe.h>

/* Advisory locks, two-int form: (PG_LOCK_CLASS, 0) is the global writer lock,
 * (PG_LOCK_CLASS, 1) the migration lock (session), (PG_LOCK_CLASS + 1,
 * hashtext(key)) the per-key locks. */
#define PG_LOCK_CLASS 0x436c6f69 /* "Cloi" */
#define PG_CHANNEL "cloister_meta"

typedef struct {
    PGconn *c; /* NULL: broken, re-established by the next call */
    char *url;
    unsigned timeout_ms;
    unsigned prepared; /* bit per statement id prepared on c */
    int64_t failed_at; /* ms of the last failed connect (0: none) */
    bool in_txn, txn_lost, txn_wrote, timed_out;
    store_lock mode;
} pg_conn;

/* A connection within timeout_ms (NULL if none). */
PGconn *pgc_connect(const char *url, unsigned timeout_ms);
/* Drops p's connection (a later call reconnects; a transaction is lost). */
void pgc_drop(pg_conn *p);
/* Runs sql (prepared as statement `id` on first use if id >= 0; else a
 * one-off, simple protocol when n == 0) with n text parameters; the result in
 * *out (may be NULL) on CL_OK. */
cl_err pgc_run(pg_conn *p, int id, const char *sql, int n, const char *const *params,
               PGresult **out);
cl_err pgc_exec(pg_conn *p, const char *sql);
cl_err pgc_exec_result(pg_conn *p, const char *sql, PGresult **out);

/* The change feed (store_pg_watch.c): LISTEN on its own connection. */
cl_err pg_watch(const char *url, const store_options *o, const store_feed *feed, void **out);
void pg_unwatch(void *w);

#endif
