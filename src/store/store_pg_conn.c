/* store_pg_conn.c — the PostgreSQL connection layer under store_pg.c: connect
 * and run statements with a deadline (libpq's asynchronous API polled on
 * PQsocket), so a stopped or unreachable database gives CL_ERR_UNAVAILABLE
 * within timeout_ms instead of hanging; a statement that overruns is cancelled
 * and its connection dropped. A broken connection is re-established by a later
 * call (at most one attempt per call, none within PGC_RETRY_MS of a failed one).
 * SQLSTATEs map to cl_err; errors are logged by SQLSTATE and primary message
 * only, never with parameters (documents can hold sealed secrets). */
#include "store/store_pg.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PGC_RETRY_MS 250

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void quiet_notice(void *arg, const char *msg) {
    (void)arg, (void)msg; /* "there is no transaction in progress" and the like */
}

/* Waits until the socket is ready for `events` or the deadline passes: 1 ready,
 * 0 timed out, -1 error. */
static int wait_sock(PGconn *c, short events, int64_t deadline) {
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0) return 0;
        struct pollfd pfd = {PQsocket(c), events, 0};
        int rc = poll(&pfd, 1, (int)(left > 100 ? 100 : left));
        if (rc > 0) return 1;
        if (rc < 0 && errno != EINTR) return -1;
    }
}

PGconn *pgc_connect(const char *url, unsigned timeout_ms) {
    const char *keys[] = {"dbname",
                          "application_name",
                          "keepalives",
                          "keepalives_idle",
                          "keepalives_interval",
                          "keepalives_count",
                          NULL};
    const char *vals[] = {url, "cloister", "1", "5", "2", "3", NULL};
    PGconn *c = PQconnectStartParams(keys, vals, 1);
    if (!c) return NULL;
    int64_t deadline = now_ms() + timeout_ms;
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (PQstatus(c) != CONNECTION_BAD && st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
        short ev = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
        if (wait_sock(c, ev, deadline) != 1) break;
        st = PQconnectPoll(c);
    }
    if (PQstatus(c) != CONNECTION_OK) {
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, quiet_notice, NULL);
    return c;
}

void pgc_drop(pg_conn *p) {
    if (p->c) PQfinish(p->c);
    p->c = NULL;
    p->prepared = 0;
    if (p->in_txn) p->txn_lost = true; /* never continue a transaction elsewhere */
}

/* A connection to run on: the current one, or a new one (one attempt). */
static cl_err ensure(pg_conn *p) {
    if (p->txn_lost) return CL_ERR_UNAVAILABLE;
    if (p->c && PQstatus(p->c) == CONNECTION_OK) return CL_OK;
    pgc_drop(p);
    if (p->txn_lost) return CL_ERR_UNAVAILABLE;
    int64_t t = now_ms();
    if (p->failed_at && t - p->failed_at < PGC_RETRY_MS) return CL_ERR_UNAVAILABLE;
    p->c = pgc_connect(p->url, p->timeout_ms);
    p->failed_at = p->c ? 0 : (t ? t : 1);
    return p->c ? CL_OK : CL_ERR_UNAVAILABLE;
}

static bool conn_class(const char *state) {
    return !state || strncmp(state, "08", 2) == 0 || strncmp(state, "57P0", 4) == 0 ||
           strcmp(state, "53300") == 0;
}

static cl_err map_error(pg_conn *p, PGresult *r) {
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (state && strcmp(state, "23505") == 0) return CL_ERR_EXISTS;
    if (conn_class(state) || PQstatus(p->c) != CONNECTION_OK) {
        log_warn("store: postgres: connection lost (%s)", state ? state : "no SQLSTATE");
        pgc_drop(p);
        return CL_ERR_UNAVAILABLE;
    }
    const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    log_error("store: postgres: %s %s", state, msg ? msg : "?");
    if (strcmp(state, "40P01") == 0 || strcmp(state, "40001") == 0) return CL_ERR_CONFLICT;
    return CL_ERR_IO;
}

/* Collects the results of the query sent last, until the deadline; the last
 * one in *out (or its error mapped). */
static cl_err collect(pg_conn *p, int64_t deadline, PGresult **out) {
    PGresult *last = NULL;
    cl_err e = CL_OK;
    for (;;) {
        while (PQisBusy(p->c)) {
            int w = wait_sock(p->c, POLLIN, deadline);
            if (w == 0) {
                log_warn("store: postgres: statement overran %u ms; cancelled", p->timeout_ms);
                p->timed_out = true;
                PGcancel *cn = PQgetCancel(p->c);
                char buf[256];
                if (cn) PQcancel(cn, buf, sizeof buf);
                PQfreeCancel(cn);
                PQclear(last);
                pgc_drop(p);
                return CL_ERR_UNAVAILABLE;
            }
            if (w < 0 || !PQconsumeInput(p->c)) {
                PQclear(last);
                pgc_drop(p);
                return CL_ERR_UNAVAILABLE;
            }
        }
        PGresult *r = PQgetResult(p->c);
        if (!r) break;
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_FATAL_ERROR && e == CL_OK) e = map_error(p, r);
        if (!p->c) { /* dropped by map_error */
            PQclear(r);
            break;
        }
        PQclear(last);
        last = r;
    }
    if (e == CL_OK && !last) e = CL_ERR_UNAVAILABLE;
    if (e != CL_OK || !out)
        PQclear(last);
    else
        *out = last;
    return e;
}

/* Every parameter is text (a statement casts where it needs another type). */
static cl_err prepare(pg_conn *p, int id, const char *sql, int n, int64_t deadline) {
    if (p->prepared & (1u << id)) return CL_OK;
    char name[16];
    snprintf(name, sizeof name, "s%d", id);
    Oid types[8] = {25, 25, 25, 25, 25, 25, 25, 25}; /* text */
    if (n > 8) return CL_ERR_INTERNAL;
    if (!PQsendPrepare(p->c, name, sql, n, types)) {
        pgc_drop(p);
        return CL_ERR_UNAVAILABLE;
    }
    CL_TRY(collect(p, deadline, NULL));
    p->prepared |= 1u << id;
    return CL_OK;
}

/* One send and its results; CL_ERR_UNAVAILABLE with p->c dropped when the
 * connection failed. */
static cl_err run_once(pg_conn *p, int id, const char *sql, int n, const char *const *params,
                       PGresult **out) {
    CL_TRY(ensure(p));
    int64_t deadline = now_ms() + p->timeout_ms;
    int ok;
    if (id >= 0) {
        cl_err e = prepare(p, id, sql, n, deadline);
        if (e != CL_OK) return e;
        char name[16];
        snprintf(name, sizeof name, "s%d", id);
        ok = PQsendQueryPrepared(p->c, name, n, params, NULL, NULL, 0);
    } else if (n > 0) {
        ok = PQsendQueryParams(p->c, sql, n, NULL, params, NULL, NULL, 0);
    } else {
        ok = PQsendQuery(p->c, sql);
    }
    if (!ok) {
        pgc_drop(p);
        return CL_ERR_UNAVAILABLE;
    }
    return collect(p, deadline, out);
}

cl_err pgc_run(pg_conn *p, int id, const char *sql, int n, const char *const *params,
               PGresult **out) {
    bool had = p->c != NULL;
    p->timed_out = false;
    cl_err e = run_once(p, id, sql, n, params, out);
    /* A connection that died while idle (the server restarted): outside a
     * transaction nothing of this statement ran, so try once on a new one.
     * Only the first statement of a unit (a read, BEGIN) is run with retry. */
    if (e == CL_ERR_UNAVAILABLE && had && !p->c && !p->in_txn && !p->txn_lost && !p->timed_out) {
        p->failed_at = 0;
        e = run_once(p, id, sql, n, params, out);
    }
    return e;
}

cl_err pgc_exec(pg_conn *p, const char *sql) {
    return pgc_run(p, -1, sql, 0, NULL, NULL);
}

cl_err pgc_exec_result(pg_conn *p, const char *sql, PGresult **out) {
    return pgc_run(p, -1, sql, 0, NULL, out);
}
