/* worker.c — the loop every worker runs, local (a thread of `cloister
 * serve`) or remote (`cloister worker`): lease a task, fetch its bundle and
 * inputs through the ops (a remote worker with its own credentials, so bucket
 * and key policies decide what it can read), run it in the sandbox
 * (run_execute), heartbeat while it runs, report the outcome. The ops hide
 * where the node is: direct calls (worker_local.c) or HTTP (src/cli). */
#include "tasks/run_internal.h"
#include "tasks/tasks_internal.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    const tasks_worker_config *cfg;
    const tasks_worker_ops *ops;
    const json_t *task;
    volatile int *stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done, lost, cancelled;
    int stop_run; /* read by the sandbox supervisor */
    const char *state;
    const char *pending[4]; /* state changes not sent yet, in order */
    unsigned n_pending;
} beat;

/* One heartbeat (with b->mu held on entry and exit). */
static void beat_once(beat *b, const char *st) {
    pthread_mutex_unlock(&b->mu);
    bool cancelled = false;
    cl_err e = b->ops->heartbeat(b->ops->ctx, b->task, st, &cancelled);
    pthread_mutex_lock(&b->mu);
    if (e == CL_ERR_DENIED) b->lost = true;
    if (cancelled) b->cancelled = true;
    if (b->lost || b->cancelled) __atomic_store_n(&b->stop_run, 1, __ATOMIC_RELEASE);
}

/* Heartbeats every few seconds, and at once (in order) for each state change,
 * so the run never waits for the node to record one; the changes still
 * pending when the run ends are sent before the outcome. */
static void *beat_main(void *arg) {
    beat *b = arg;
    json_int_t hs = json_integer_value(json_object_get(b->task, "HeartbeatSeconds"));
    unsigned every = b->cfg->heartbeat_s   ? b->cfg->heartbeat_s
                     : hs > 0 && hs < 3600 ? (unsigned)hs
                                           : 5;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        if (b->n_pending) {
            const char *st = b->pending[0];
            memmove(b->pending, b->pending + 1, --b->n_pending * sizeof b->pending[0]);
            beat_once(b, st);
            continue;
        }
        if (b->done) break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += every;
        if (pthread_cond_timedwait(&b->cv, &b->mu, &ts) != 0 && !b->done && !b->n_pending)
            beat_once(b, b->state);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

static void on_state(void *arg, const char *state) {
    beat *b = arg;
    if (strcmp(state, "fetching") == 0) return; /* part of "leased" here */
    pthread_mutex_lock(&b->mu);
    b->state = state;
    if (b->n_pending < sizeof b->pending / sizeof b->pending[0]) b->pending[b->n_pending++] = state;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

typedef struct {
    const tasks_worker_ops *ops;
    const json_t *task;
} attest_hook;

static cl_err attest_via_ops(void *ctx, cl_slice spki, cl_slice user_data, cl_slice nonce,
                             cl_buf *doc) {
    attest_hook *h = ctx;
    return h->ops->attest(h->ops->ctx, h->task, spki, user_data, nonce, doc);
}

static char *dup_or_null(const json_t *j, const char *k) {
    const char *s = json_string_value(json_object_get(j, k));
    return s ? cl_strdup(s) : NULL;
}

/* The job from the spec; false with msg when an input cannot be fetched. */
static bool job_of(const tasks_worker_ops *ops, const json_t *task, run_job *j, char *msg,
                   size_t msglen) {
    snprintf(j->task_id, sizeof j->task_id, "%s",
             json_string_value(json_object_get(task, "TaskId")));
    j->app = json_deep_copy(json_object_get(task, "App"));
    j->requester_arn = dup_or_null(task, "Requester");
    if (!j->requester_arn) j->requester_arn = cl_strdup("");
    j->account = dup_or_null(task, "Account");
    j->principal_id = dup_or_null(task, "RequesterId");
    j->debug = json_is_true(json_object_get(task, "Debug"));
    j->args = json_is_array(json_object_get(task, "Args"))
                  ? json_deep_copy(json_object_get(task, "Args"))
                  : json_array();
    j->secrets = json_is_object(json_object_get(task, "Secrets"))
                     ? json_deep_copy(json_object_get(task, "Secrets"))
                     : json_object();
    json_t *ev = json_object_get(task, "Event");
    if (ev) j->event = json_dumps(ev, JSON_COMPACT);
    if (!json_is_object(j->app) || !j->account) {
        snprintf(msg, msglen, "the task spec is malformed");
        return false;
    }
    char m2[384];
    if (ops->bundle(ops->ctx, task, &j->bundle, m2, sizeof m2) != CL_OK) {
        snprintf(msg, msglen, "cannot fetch the app's bundle: %s", m2);
        return false;
    }
    json_t *ins = json_object_get(task, "Inputs");
    size_t i, total = 0;
    json_t *in;
    json_array_foreach(ins, i, in) {
        const char *url = json_string_value(json_object_get(in, "Url"));
        const char *name = json_string_value(json_object_get(in, "Name"));
        if (!url || !name || i >= TASKS_INPUTS_MAX || strlen(name) >= sizeof j->inputs[0].name) {
            snprintf(msg, msglen, "the task spec's inputs are malformed");
            return false;
        }
        j->inputs[i].url = cl_strdup(url);
        snprintf(j->inputs[i].name, sizeof j->inputs[i].name, "%s", name);
        j->n_inputs = i + 1;
        if (ops->fetch(ops->ctx, task, url, TASKS_FETCH_MAX - total, &j->inputs[i].bytes, m2,
                       sizeof m2) != CL_OK) {
            snprintf(msg, msglen, "cannot fetch input %s: %s", url, m2);
            return false;
        }
        total += j->inputs[i].bytes.len;
    }
    return true;
}

static void report(const tasks_worker_config *cfg, const tasks_worker_ops *ops, const json_t *task,
                   const run_outcome *o, const char *error) {
    tasks_worker_result r = {.ok = o && o->ok && !error,
                             .error = error ? error
                                      : o   ? o->error
                                            : "the run failed",
                             .exit_code = o ? o->exit_code : -1};
    if (o) {
        r.receipt = o->receipt;
        r.output = buf_slice(&o->output);
        r.out = buf_slice(&o->out);
        r.err = buf_slice(&o->err);
        r.log = buf_slice(&o->log);
    }
    if (error && !r.err.len) r.err = slice_cstr(error);
    char msg[256] = "";
    const char *id = json_string_value(json_object_get(task, "TaskId"));
    cl_err e = ops->finish(ops->ctx, task, &r, msg, sizeof msg);
    if (e == CL_ERR_DENIED)
        log_warn("%s: task %s: the lease was lost; the outcome was discarded", cfg->name, id);
    else if (e != CL_OK)
        log_warn("%s: task %s: cannot report the outcome: %s", cfg->name, id, msg);
    else
        log_info("%s: task %s %s%s%s", cfg->name, id, r.ok ? "done" : "failed", r.ok ? "" : ": ",
                 r.ok ? "" : (r.error ? r.error : ""));
}

static void run_task(const tasks_worker_config *cfg, const tasks_worker_ops *ops,
                     const uint8_t runtime_pcr[48], json_t *task, volatile int *stop) {
    run_job j = {0};
    char msg[512];
    if (!job_of(ops, task, &j, msg, sizeof msg)) {
        report(cfg, ops, task, NULL, msg);
        run_job_free(&j);
        return;
    }
    beat b = {.cfg = cfg, .ops = ops, .task = task, .stop = stop, .state = "leased"};
    pthread_mutex_init(&b.mu, NULL);
    pthread_cond_init(&b.cv, NULL);
    pthread_t th;
    bool threaded = pthread_create(&th, NULL, beat_main, &b) == 0;
    attest_hook h = {ops, task};
    cl_buf root = CL_BUF_INIT;
    (void)base64_decode(&root,
                        slice_cstr(json_string_value(json_object_get(task, "AttestationRoot"))));
    tasks_run_config rc = {.secrets = cfg->secrets,
                           .init_path = cfg->init_path,
                           .work_dir = cfg->work_dir,
                           .state_dir = cfg->state_dir,
                           .allow_network = cfg->allow_network,
                           .attest_fn = attest_via_ops,
                           .attest_ctx = &h,
                           .root_der = buf_slice(&root),
                           .cancel = &b.stop_run};
    run_outcome o;
    run_execute(&rc, runtime_pcr, &j, on_state, &b, &o);
    pthread_mutex_lock(&b.mu);
    b.done = true;
    pthread_cond_broadcast(&b.cv);
    pthread_mutex_unlock(&b.mu);
    if (threaded) pthread_join(th, NULL);
    if (b.lost)
        log_warn("%s: task %s: the lease was lost during the run", cfg->name, j.task_id);
    else
        report(cfg, ops, task, &o, NULL);
    pthread_mutex_destroy(&b.mu);
    pthread_cond_destroy(&b.cv);
    buf_free(&root);
    run_outcome_free(&o);
    run_job_free(&j);
}

json_t *tasks_text_json(cl_slice s) {
    cl_buf o = CL_BUF_INIT;
    size_t i = 0;
    while (i < s.len) {
        size_t start = i;
        int32_t c = utf8_next(s, &i);
        if (c <= 0) {
            buf_append_cstr(&o, "\xEF\xBF\xBD");
            if (i == start) i++;
        } else {
            buf_append(&o, s.ptr + start, i - start);
        }
    }
    json_t *j = json_stringn((const char *)o.ptr, o.len);
    buf_free(&o);
    return j ? j : json_string("");
}

cl_err tasks_worker_loop(const tasks_worker_config *cfg, const tasks_worker_ops *ops,
                         volatile int *stop, char *msg, size_t msglen) {
    if (access(cfg->init_path, X_OK) != 0) {
        snprintf(msg, msglen, "the init %s is missing or not executable", cfg->init_path);
        return CL_ERR_NOT_FOUND;
    }
    if (dir_ensure(cfg->work_dir, 0700) != CL_OK) {
        snprintf(msg, msglen, "cannot make the work directory %s", cfg->work_dir);
        return CL_ERR_IO;
    }
    run_workdir_clear(cfg->work_dir);
    uint8_t pcr[48] = {0}; /* the node measures the init itself when it signs */
    unsigned backoff = 0;
    while (!*stop) {
        json_t *task = NULL;
        char m[256] = "";
        cl_err e = ops->lease(ops->ctx, 2000, &task, m, sizeof m);
        if (e != CL_OK) {
            backoff = backoff ? (backoff * 2 > 30 ? 30 : backoff * 2) : 1;
            log_warn("%s: cannot lease a task: %s (retrying in %u s)", cfg->name, m, backoff);
            for (unsigned i = 0; i < backoff * 10 && !*stop; i++)
                usleep(100000);
            continue;
        }
        backoff = 0;
        if (!task) continue;
        log_info("%s: leased task %s (attempt %lld)", cfg->name,
                 json_string_value(json_object_get(task, "TaskId")),
                 (long long)json_integer_value(json_object_get(task, "Attempt")));
        run_task(cfg, ops, pcr, task, stop);
        json_decref(task);
    }
    return CL_OK;
}
