/* runs.c — tasks: the runs of apps on this node. Cloister.RunApp records a
 * task (meta store kind "task", scope = account, name = task id) and queues
 * it; a small pool of worker threads executes queued runs (run_host.c) and
 * records every state change (queued → fetching → running → uploading →
 * done | failed) in the task document, atomically (store_update). Results
 * (the canonical tar of /iexec_out) go to a blob store of their own
 * (DATA/task-outputs); the receipt, the result digest and the app's bounded
 * stdout/stderr go in the document. GetTask, GetTaskLogs and GetTaskResult
 * read them back. Tasks are same-account resources like apps.
 *
 * The queue is in memory: a run that was queued or running when the process
 * stopped is marked failed at the next start (an index kind "task_active"
 * names them). The durable, multi-node queue is issue 12's; it calls
 * run_execute the same way a worker here does. */
#include "tasks/run_internal.h"
#include "tasks/tasks_internal.h"

#include "crypto/crypto.h"
#include "secrets/secrets.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUEUE_MAX 64u
#define ARGS_MAX 64u
#define ARG_MAX 4096u

typedef struct run_item {
    struct run_item *next;
    run_job job;
} run_item;

struct runs {
    tasks_run_config cfg;
    char *init_path, *work_dir;
    uint8_t runtime_pcr[48];
    blob_store *outputs;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    run_item *head, *tail;
    size_t queued;
    bool stopping;
    pthread_t *threads;
    unsigned n_threads;
    tasks *t;
};

bool runs_task_id_valid(const char *id) {
    if (!id || strlen(id) != TASKS_ID_LEN || id[0] != '0' || id[1] != 'x') return false;
    for (int i = 2; i < TASKS_ID_LEN; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f'))) return false;
    return true;
}

/* ---- task documents ---- */
typedef struct {
    const char *state;
    json_t *set; /* members to set (may be NULL) */
} doc_change;

static cl_err apply_change(void *arg, const char *cur, char **next) {
    doc_change *c = arg;
    if (!cur) return CL_ERR_NOT_FOUND;
    json_t *doc = json_loads(cur, 0, NULL);
    if (!doc) return CL_ERR_INTERNAL;
    char now[21];
    time_format_iso8601(time_now(), now);
    if (c->state) {
        json_object_set_new(doc, "State", json_string(c->state));
        json_t *h = json_object_get(doc, "States");
        if (json_is_array(h))
            json_array_append_new(h, json_pack("{s:s, s:s}", "State", c->state, "Time", now));
    }
    if (c->set) json_object_update(doc, c->set);
    json_object_set_new(doc, "Updated", json_string(now));
    *next = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(doc);
    return *next ? CL_OK : CL_ERR_NOMEM;
}

static void task_change(tasks *t, const char *account, const char *id, const char *state,
                        json_t *set) {
    doc_change c = {state, set};
    if (store_update(t->st, TASK_KIND, account, id, apply_change, &c) != CL_OK)
        log_error("runs: cannot record the state of task %s", id);
    json_decref(set);
}

/* Text the app printed, as a JSON string: invalid UTF-8 becomes U+FFFD. */
static json_t *text_json(const cl_buf *b) {
    cl_buf o = CL_BUF_INIT;
    cl_slice s = buf_slice(b);
    size_t i = 0;
    while (i < s.len) {
        size_t start = i;
        int32_t c = utf8_next(s, &i);
        if (c < 0 || c == 0) {
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

/* ---- the workers ---- */
typedef struct {
    tasks *t;
    const run_job *job;
} state_arg;

static void on_state(void *arg, const char *state) {
    state_arg *s = arg;
    task_change(s->t, s->job->account, s->job->task_id, state, NULL);
}

static bool read_bundle(struct runs *r, run_job *j) {
    const char *id = json_string_value(json_object_get(j->app, "BundleBlob"));
    blob_reader *rd = NULL;
    if (!id || blob_open(r->t->blobs, id, &rd) != CL_OK) return false;
    uint64_t n = blob_size(rd);
    bool ok = n <= TASKS_BUNDLE_MAX;
    if (ok) {
        buf_reserve(&j->bundle, (size_t)n);
        ok = blob_read_at(rd, 0, j->bundle.ptr, (size_t)n) == CL_OK;
        if (ok) j->bundle.len = (size_t)n;
    }
    blob_close(rd);
    return ok;
}

static json_t *outcome_fields(struct runs *r, run_outcome *o) {
    json_t *set =
        json_pack("{s:o, s:o}", "Stdout", text_json(&o->out), "Stderr", text_json(&o->err));
    if (o->exit_code >= 0) json_object_set_new(set, "ExitCode", json_integer(o->exit_code));
    if (!o->ok) {
        json_object_set_new(set, "Error", json_string(o->error ? o->error : "the run failed"));
        return set;
    }
    char id[BLOB_ID_LEN + 1];
    blob_writer *w = NULL;
    if (blob_begin(r->outputs, &w) != CL_OK || blob_append(w, buf_slice(&o->output)) != CL_OK ||
        blob_finish(w, id) != CL_OK) {
        if (w) blob_abort(w);
        o->ok = false;
        json_object_set_new(set, "Error", json_string("cannot store the result"));
        return set;
    }
    json_object_set_new(set, "OutputBlob", json_string(id));
    json_object_set_new(set, "OutputSize", json_integer((json_int_t)o->output.len));
    json_object_set_new(set, "ResultDigest", json_string(o->result_digest));
    if (o->det_path) json_object_set_new(set, "DeterministicOutputPath", json_string(o->det_path));
    json_object_set_new(set, "Receipt", json_string(o->receipt));
    return set;
}

static void run_one(struct runs *r, run_item *it) {
    run_job *j = &it->job;
    run_outcome o = {0};
    state_arg sa = {r->t, j};
    if (!read_bundle(r, j)) {
        task_change(r->t, j->account, j->task_id, "fetching", NULL);
        o.exit_code = -1;
        o.error = cl_strdup("the app's bundle cannot be read: was the app deleted?");
    } else {
        run_execute(&r->cfg, r->runtime_pcr, j, on_state, &sa, &o);
    }
    json_t *set = outcome_fields(r, &o);
    task_change(r->t, j->account, j->task_id, o.ok ? "done" : "failed", set);
    (void)store_delete(r->t->st, ACTIVE_KIND, "", j->task_id);
    log_info("runs: task %s %s", j->task_id, o.ok ? "done" : "failed");
    run_outcome_free(&o);
}

static void *worker_main(void *arg) {
    struct runs *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        while (!r->head && !r->stopping)
            pthread_cond_wait(&r->cv, &r->mu);
        run_item *it = r->head;
        if (it) {
            r->head = it->next;
            if (!r->head) r->tail = NULL;
            r->queued--;
        }
        pthread_mutex_unlock(&r->mu);
        if (!it) return NULL; /* stopping and nothing left */
        run_one(r, it);
        run_job_free(&it->job);
        free(it);
    }
}

/* ---- start and stop ---- */
static bool runtime_measure(const char *path, uint8_t out[48]) {
    cl_buf b = CL_BUF_INIT;
    bool ok = file_read_all(path, &b, (size_t)1 << 31) == CL_OK;
    unsigned n = 48;
    if (ok) ok = EVP_Digest(b.ptr, b.len, out, &n, EVP_sha384(), NULL) == 1;
    buf_free(&b);
    return ok;
}

static bool fail_leftover(void *arg, const char *name, const char *doc) {
    tasks *t = arg;
    json_t *j = json_loads(doc, 0, NULL);
    const char *acct = json_string_value(json_object_get(j, "Account"));
    if (acct)
        task_change(t, acct, name, "failed",
                    json_pack("{s:s}", "Error", "the node restarted during the run"));
    json_decref(j);
    (void)store_delete(t->st, ACTIVE_KIND, "", name);
    return true;
}

cl_err tasks_runs_start(tasks *t, const tasks_run_config *cfg) {
    struct runs *r = cl_calloc(1, sizeof *r);
    r->t = t;
    r->cfg = *cfg;
    r->init_path = cl_strdup(cfg->init_path);
    r->work_dir = cl_strdup(cfg->work_dir);
    r->cfg.init_path = r->init_path;
    r->cfg.work_dir = r->work_dir;
    if (!r->cfg.workers) r->cfg.workers = 2;
    char *outdir = cl_sprintf("%s/../task-outputs", cfg->work_dir);
    cl_err e = dir_ensure(cfg->work_dir, 0700);
    if (e == CL_OK) e = blob_store_open(outdir, &r->outputs);
    free(outdir);
    if (e == CL_OK && !runtime_measure(cfg->init_path, r->runtime_pcr)) e = CL_ERR_IO;
    if (e != CL_OK) {
        blob_store_close(r->outputs);
        free(r->init_path);
        free(r->work_dir);
        free(r);
        return e;
    }
    (void)store_list(t->st, ACTIVE_KIND, "", NULL, NULL, 0, fail_leftover, t, NULL);
    run_workdir_clear(r->work_dir);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->threads = cl_calloc(r->cfg.workers, sizeof *r->threads);
    for (unsigned i = 0; i < r->cfg.workers; i++)
        if (pthread_create(&r->threads[r->n_threads], NULL, worker_main, r) == 0) r->n_threads++;
    t->runs = r;
    return CL_OK;
}

void tasks_runs_stop(tasks *t) {
    struct runs *r = t ? t->runs : NULL;
    if (!r) return;
    pthread_mutex_lock(&r->mu);
    r->stopping = true;
    /* queued runs that never started: failed now, not at the next start */
    run_item *it = r->head;
    r->head = r->tail = NULL;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    while (it) {
        run_item *next = it->next;
        task_change(t, it->job.account, it->job.task_id, "failed",
                    json_pack("{s:s}", "Error", "the node stopped before the run started"));
        (void)store_delete(t->st, ACTIVE_KIND, "", it->job.task_id);
        run_job_free(&it->job);
        free(it);
        it = next;
    }
    for (unsigned i = 0; i < r->n_threads; i++)
        pthread_join(r->threads[i], NULL);
    free(r->threads);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    blob_store_close(r->outputs);
    free(r->init_path);
    free(r->work_dir);
    free(r);
    t->runs = NULL;
}

/* ---- for runs_api.c ---- */
cl_err runs_enqueue(tasks *t, run_job *job) {
    struct runs *r = t->runs;
    if (!r) return CL_ERR_NOT_FOUND;
    pthread_mutex_lock(&r->mu);
    cl_err e = r->stopping ? CL_ERR_NOT_FOUND : r->queued >= QUEUE_MAX ? CL_ERR_TOO_LARGE : CL_OK;
    if (e == CL_OK) {
        run_item *it = cl_calloc(1, sizeof *it);
        it->job = *job;
        memset(job, 0, sizeof *job);
        if (r->tail)
            r->tail->next = it;
        else
            r->head = it;
        r->tail = it;
        r->queued++;
        pthread_cond_signal(&r->cv);
    }
    pthread_mutex_unlock(&r->mu);
    return e;
}

blob_store *runs_outputs(tasks *t) {
    return t->runs ? t->runs->outputs : NULL;
}
