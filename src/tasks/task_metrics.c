/* task_metrics.c — Prometheus figures of the task queue, appended to
 * /metrics: queue depth and leased tasks (read from the meta store at scrape
 * time, so every node of a shared store reports the same), the age of the
 * oldest lease, a histogram of run times (lease to outcome), and outcomes
 * counted by reason. Counters are this process's, under one small lock. */
#include "tasks/tasks_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const double BUCKETS[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600};
#define N_BUCKETS (sizeof BUCKETS / sizeof BUCKETS[0])

static const char *const REASONS[] = {"done",    "app_failed",    "input",     "receipt",
                                      "publish", "lease_expired", "cancelled", "other"};
#define N_REASONS (sizeof REASONS / sizeof REASONS[0])

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t buckets[N_BUCKETS], count, outcomes[N_REASONS];
static double sum;

const char *task_metrics_reason(bool ok, const char *error) {
    if (ok) return "done";
    if (!error) return "other";
    if (strstr(error, "cannot fetch input")) return "input";
    if (strstr(error, "receipt") || strstr(error, "the output")) return "receipt";
    if (strstr(error, "public") || strstr(error, "publish") || strstr(error, "bucket"))
        return "publish";
    if (strstr(error, "lease expired")) return "lease_expired";
    if (strstr(error, "cancelled")) return "cancelled";
    return "app_failed";
}

void task_metrics_outcome(const char *reason, double seconds) {
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < N_REASONS; i++)
        if (strcmp(reason, REASONS[i]) == 0) outcomes[i]++;
    if (seconds >= 0) {
        for (size_t b = 0; b < N_BUCKETS; b++)
            if (seconds <= BUCKETS[b]) buckets[b]++;
        count++;
        sum += seconds;
    }
    pthread_mutex_unlock(&mu);
}

typedef struct {
    size_t n;
    int64_t oldest; /* smallest "Since" */
} lease_scan;

static bool scan_lease(void *arg, const char *name, const char *text) {
    (void)name;
    lease_scan *s = arg;
    json_t *j = json_loads(text, 0, NULL);
    int64_t since = json_integer_value(json_object_get(j, "Since"));
    if (since && (!s->oldest || since < s->oldest)) s->oldest = since;
    s->n++;
    json_decref(j);
    return true;
}

static bool count_one(void *arg, const char *name, const char *text) {
    (void)name;
    (void)text;
    (*(size_t *)arg)++;
    return true;
}

void tasks_metrics_render(tasks *t, cl_buf *out) {
    if (!t) return;
    size_t queued = 0;
    lease_scan l = {0, 0};
    (void)store_list(t->st, "task_queue", "", NULL, NULL, 0, count_one, &queued, NULL);
    (void)store_list(t->st, "task_lease", "", NULL, NULL, 0, scan_lease, &l, NULL);
    buf_appendf(out,
                "# HELP cloister_tasks_queued Tasks waiting for a worker.\n"
                "# TYPE cloister_tasks_queued gauge\ncloister_tasks_queued %zu\n"
                "# HELP cloister_tasks_leased Tasks leased by a worker.\n"
                "# TYPE cloister_tasks_leased gauge\ncloister_tasks_leased %zu\n"
                "# HELP cloister_task_lease_age_seconds Age of the oldest lease.\n"
                "# TYPE cloister_task_lease_age_seconds gauge\n"
                "cloister_task_lease_age_seconds %lld\n",
                queued, l.n, (long long)(l.oldest ? (int64_t)time(NULL) - l.oldest : 0));
    pthread_mutex_lock(&mu);
    buf_append_cstr(out, "# HELP cloister_tasks_finished_total Task outcomes by reason.\n"
                         "# TYPE cloister_tasks_finished_total counter\n");
    for (size_t i = 0; i < N_REASONS; i++)
        buf_appendf(out, "cloister_tasks_finished_total{reason=\"%s\"} %llu\n", REASONS[i],
                    (unsigned long long)outcomes[i]);
    buf_append_cstr(out, "# HELP cloister_task_run_seconds Time from lease to outcome.\n"
                         "# TYPE cloister_task_run_seconds histogram\n");
    for (size_t b = 0; b < N_BUCKETS; b++)
        buf_appendf(out, "cloister_task_run_seconds_bucket{le=\"%g\"} %llu\n", BUCKETS[b],
                    (unsigned long long)buckets[b]);
    buf_appendf(out,
                "cloister_task_run_seconds_bucket{le=\"+Inf\"} %llu\n"
                "cloister_task_run_seconds_sum %.3f\ncloister_task_run_seconds_count %llu\n",
                (unsigned long long)count, sum, (unsigned long long)count);
    pthread_mutex_unlock(&mu);
}
