/* store_pg_watch.c — the PostgreSQL change feed: a thread with its own
 * connection LISTENs on cloister_meta (every commit that wrote NOTIFYs it) and
 * calls feed->changed per notification. When that connection is lost it calls
 * feed->state(false) (the front then trusts no cache), reconnects every
 * ~250 ms, LISTENs again and calls feed->state(true). It polls its socket with
 * a short timeout so unwatch (a stop flag) ends it promptly. */
#include "store/store_pg.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char *url;
    unsigned timeout_ms;
    store_feed feed;
    pthread_t th;
    int stop; /* atomic */
    PGconn *c;
} pg_watcher;

static bool stopping(pg_watcher *w) {
    return __atomic_load_n(&w->stop, __ATOMIC_ACQUIRE);
}

/* Connects and LISTENs; false if either failed. */
static bool listen_up(pg_watcher *w) {
    w->c = pgc_connect(w->url, w->timeout_ms);
    if (!w->c) return false;
    PGresult *r = PQexec(w->c, "LISTEN " PG_CHANNEL);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
        PQfinish(w->c);
        w->c = NULL;
    }
    return ok;
}

/* Delivers what arrived; false when the connection is lost. */
static bool drain(pg_watcher *w) {
    if (!PQconsumeInput(w->c) || PQstatus(w->c) != CONNECTION_OK) return false;
    PGnotify *n;
    while ((n = PQnotifies(w->c))) {
        PQfreemem(n);
        w->feed.changed(w->feed.ctx);
    }
    return true;
}

static void *watch_main(void *arg) {
    pg_watcher *w = arg;
    while (!stopping(w)) {
        if (!w->c) {
            usleep(250 * 1000);
            if (stopping(w) || !listen_up(w)) continue;
            log_info("store: postgres change feed is back");
            w->feed.state(w->feed.ctx, true);
        }
        struct pollfd pfd = {PQsocket(w->c), POLLIN, 0};
        int rc = poll(&pfd, 1, 100);
        if (rc == 0 || (rc < 0 && errno == EINTR)) continue;
        if (rc > 0 && drain(w)) continue;
        log_warn("store: postgres change feed lost; caches are bypassed until it is back");
        w->feed.state(w->feed.ctx, false);
        PQfinish(w->c);
        w->c = NULL;
    }
    if (w->c) PQfinish(w->c);
    w->c = NULL;
    return NULL;
}

cl_err pg_watch(const char *url, const store_options *o, const store_feed *feed, void **out) {
    pg_watcher *w = cl_calloc(1, sizeof *w);
    w->url = cl_strdup(url);
    w->timeout_ms = o && o->timeout_ms ? o->timeout_ms : 5000;
    w->feed = *feed;
    if (!listen_up(w)) w->feed.state(w->feed.ctx, false); /* the thread retries */
    if (pthread_create(&w->th, NULL, watch_main, w) != 0) {
        if (w->c) PQfinish(w->c);
        free(w->url);
        free(w);
        return CL_ERR_INTERNAL;
    }
    *out = w;
    return CL_OK;
}

void pg_unwatch(void *arg) {
    pg_watcher *w = arg;
    if (!w) return;
    __atomic_store_n(&w->stop, 1, __ATOMIC_RELEASE);
    pthread_join(w->th, NULL);
    free(w->url);
    free(w);
}
