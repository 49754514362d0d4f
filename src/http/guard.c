/* guard.c — resource limits against clients that have not proved who they are:
 *   - deadlines per connection, not only an idle timeout: a request's headers
 *     must be complete within header_timeout of the connection's start (or,
 *     on a keep-alive connection, of the previous response + the idle
 *     timeout); once the headers are in, the body must average at least
 *     min_body_rate bytes/s after a grace of header_timeout. A sweeper thread
 *     checks every connection four times a second and shuts an overdue
 *     socket down; libmicrohttpd then sees the EOF and closes the connection
 *     as if the client had gone (MHD notifies guard_conn_close before it closes
 *     the socket, and both sides hold the lock, so a reused fd is never hit);
 *   - the pool of bytes held for bodies buffered before their signature is
 *     verified, shared by all connections (server.c reserves and releases).
 * Connection counts (total, per client address) are libmicrohttpd's own. */
#include "http/guard.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#define SWEEP_NS 250000000ull
#define IDLE_SECONDS 20 /* MHD_OPTION_CONNECTION_TIMEOUT (server.c), as S3's RequestTimeout */

typedef enum { PHASE_HEADERS, PHASE_BODY, PHASE_BUSY } conn_phase;

struct guard_conn {
    int fd;
    bool cut;
    _Atomic int phase;
    _Atomic uint64_t since;    /* mono ns: start of the phase */
    _Atomic uint64_t deadline; /* mono ns: PHASE_HEADERS must end by then */
    _Atomic uint64_t bytes;    /* body bytes received in PHASE_BODY */
    guard_conn *prev, *next;
};

struct http_guard {
    uint64_t header_ns, keepalive_ns, min_rate;
    size_t pool_cap;
    _Atomic size_t pool_used;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    guard_conn *head;
    bool stop, sweeping;
    pthread_t thread;
};

static bool overdue(const http_guard *g, guard_conn *c, uint64_t now) {
    int phase = atomic_load(&c->phase);
    if (phase == PHASE_HEADERS) return g->header_ns && now > atomic_load(&c->deadline);
    if (phase != PHASE_BODY || !g->min_rate || !g->header_ns) return false;
    uint64_t elapsed = now - atomic_load(&c->since);
    if (elapsed <= g->header_ns) return false;
    /* bytes / seconds < min_rate, without floating point */
    return (double)atomic_load(&c->bytes) * 1e9 < (double)g->min_rate * (double)elapsed;
}

static void sweep(http_guard *g) {
    uint64_t now = time_mono_ns();
    size_t n = 0;
    for (guard_conn *c = g->head; c; c = c->next) {
        if (c->cut || !overdue(g, c, now)) continue;
        c->cut = true;
        shutdown(c->fd, SHUT_RDWR);
        n++;
    }
    if (n) log_debug("http: closed %zu connections past their header or body deadline", n);
}

static void *sweeper(void *arg) {
    http_guard *g = arg;
    pthread_mutex_lock(&g->mu);
    while (!g->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)SWEEP_NS;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&g->cv, &g->mu, &ts);
        if (!g->stop) sweep(g);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

http_guard *guard_new(const http_config *cfg) {
    http_guard *g = cl_calloc(1, sizeof *g);
    g->header_ns = (uint64_t)cfg->header_timeout * 1000000000ull;
    unsigned keep = cfg->header_timeout > IDLE_SECONDS ? cfg->header_timeout : IDLE_SECONDS;
    g->keepalive_ns = (uint64_t)keep * 1000000000ull;
    g->min_rate = cfg->min_body_rate;
    g->pool_cap = cfg->preauth_memory;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    if (g->header_ns) g->sweeping = pthread_create(&g->thread, NULL, sweeper, g) == 0;
    return g;
}

void guard_free(http_guard *g) {
    if (!g) return;
    pthread_mutex_lock(&g->mu);
    g->stop = true;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
    if (g->sweeping) pthread_join(g->thread, NULL);
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

guard_conn *guard_conn_open(http_guard *g, int fd) {
    guard_conn *c = cl_calloc(1, sizeof *c);
    c->fd = fd;
    uint64_t now = time_mono_ns();
    atomic_store(&c->phase, PHASE_HEADERS);
    atomic_store(&c->since, now);
    atomic_store(&c->deadline, now + g->header_ns);
    pthread_mutex_lock(&g->mu);
    c->next = g->head;
    if (g->head) g->head->prev = c;
    g->head = c;
    pthread_mutex_unlock(&g->mu);
    return c;
}

void guard_conn_close(http_guard *g, guard_conn *c) {
    if (!c) return;
    pthread_mutex_lock(&g->mu);
    if (c->prev)
        c->prev->next = c->next;
    else
        g->head = c->next;
    if (c->next) c->next->prev = c->prev;
    pthread_mutex_unlock(&g->mu);
    free(c);
}

void guard_conn_body_start(guard_conn *c) {
    if (!c) return;
    atomic_store(&c->bytes, 0);
    atomic_store(&c->since, time_mono_ns());
    atomic_store(&c->phase, PHASE_BODY);
}

void guard_conn_body_bytes(guard_conn *c, size_t n) {
    if (c) atomic_fetch_add(&c->bytes, n);
}

void guard_conn_busy(guard_conn *c) {
    if (c) atomic_store(&c->phase, PHASE_BUSY);
}

void guard_conn_idle(http_guard *g, guard_conn *c) {
    if (!c) return;
    uint64_t now = time_mono_ns();
    atomic_store(&c->since, now);
    atomic_store(&c->deadline, now + g->keepalive_ns);
    atomic_store(&c->phase, PHASE_HEADERS);
}

bool guard_reserve(http_guard *g, size_t n) {
    if (!g->pool_cap) return true;
    size_t before = atomic_fetch_add(&g->pool_used, n);
    if (before + n <= g->pool_cap) return true;
    atomic_fetch_sub(&g->pool_used, n);
    return false;
}

void guard_release(http_guard *g, size_t n) {
    if (g->pool_cap && n) atomic_fetch_sub(&g->pool_used, n);
}
