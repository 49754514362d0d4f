/* metrics.c — Prometheus counters and a latency histogram for every request,
 * labelled by service, operation and status. A small fixed table under one lock:
 * the label space is tens of operations, and the lock is held for nanoseconds. */
#include "http/http.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define METRICS_MAX_SERIES 512
#define METRICS_MAX_SERVICES 16

static const double BUCKETS[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                 0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};
#define N_BUCKETS (sizeof BUCKETS / sizeof BUCKETS[0])

typedef struct {
    char service[24], op[48];
    int status;
    uint64_t count;
} series;

typedef struct {
    char service[24];
    uint64_t buckets[N_BUCKETS];
    uint64_t count;
    double sum;
} histogram;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static series table[METRICS_MAX_SERIES];
static size_t n_series;
static histogram hists[METRICS_MAX_SERVICES];
static size_t n_hists;

static series *find_series(const char *service, const char *op, int status) {
    for (size_t i = 0; i < n_series; i++)
        if (table[i].status == status && strcmp(table[i].op, op) == 0 &&
            strcmp(table[i].service, service) == 0)
            return &table[i];
    if (n_series == METRICS_MAX_SERIES) return NULL;
    series *s = &table[n_series++];
    snprintf(s->service, sizeof s->service, "%s", service);
    snprintf(s->op, sizeof s->op, "%s", op);
    s->status = status;
    return s;
}

static histogram *find_hist(const char *service) {
    for (size_t i = 0; i < n_hists; i++)
        if (strcmp(hists[i].service, service) == 0) return &hists[i];
    if (n_hists == METRICS_MAX_SERVICES) return NULL;
    histogram *h = &hists[n_hists++];
    snprintf(h->service, sizeof h->service, "%s", service);
    return h;
}

void metrics_observe(const char *service, const char *op, int status, uint64_t nanos) {
    double secs = (double)nanos / 1e9;
    pthread_mutex_lock(&lock);
    series *s = find_series(service, op, status);
    if (s) s->count++;
    histogram *h = find_hist(service);
    if (h) {
        for (size_t i = 0; i < N_BUCKETS; i++)
            if (secs <= BUCKETS[i]) h->buckets[i]++;
        h->count++;
        h->sum += secs;
    }
    pthread_mutex_unlock(&lock);
}

void metrics_render(cl_buf *out) {
    pthread_mutex_lock(&lock);
    buf_append_cstr(out,
                    "# HELP cloister_requests_total Requests by service, operation and status.\n"
                    "# TYPE cloister_requests_total counter\n");
    for (size_t i = 0; i < n_series; i++)
        buf_appendf(out, "cloister_requests_total{service=\"%s\",op=\"%s\",status=\"%d\"} %llu\n",
                    table[i].service, table[i].op, table[i].status,
                    (unsigned long long)table[i].count);
    buf_append_cstr(out, "# HELP cloister_request_duration_seconds Request latency by service.\n"
                         "# TYPE cloister_request_duration_seconds histogram\n");
    for (size_t i = 0; i < n_hists; i++) {
        const histogram *h = &hists[i];
        for (size_t b = 0; b < N_BUCKETS; b++)
            buf_appendf(out,
                        "cloister_request_duration_seconds_bucket{service=\"%s\",le=\"%g\"} %llu\n",
                        h->service, BUCKETS[b], (unsigned long long)h->buckets[b]);
        buf_appendf(out,
                    "cloister_request_duration_seconds_bucket{service=\"%s\",le=\"+Inf\"} %llu\n",
                    h->service, (unsigned long long)h->count);
        buf_appendf(out, "cloister_request_duration_seconds_sum{service=\"%s\"} %.9f\n", h->service,
                    h->sum);
        buf_appendf(out, "cloister_request_duration_seconds_count{service=\"%s\"} %llu\n",
                    h->service, (unsigned long long)h->count);
    }
    pthread_mutex_unlock(&lock);
}
