/* runs.c — the run engine of the node: opens the store of results and inline
 * inputs (DATA/task-outputs), measures the init (PCR1), and starts the
 * background threads that make tasks move: the local workers (worker.c with
 * the direct ops of worker_node.c), the reaper that requeues or fails tasks
 * whose lease expired (queue.c), and the dispatcher that turns S3 events into
 * tasks (dispatch.c). Tasks themselves live in the meta store (queue.c), so a
 * restart loses nothing: a task leased by a worker that died is leased again
 * once its lease expires. */
#include "tasks/run_internal.h"
#include "tasks/tasks_internal.h"
#include "tasks/worker_internal.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool runs_task_id_valid(const char *id) {
    if (!id || strlen(id) != TASKS_ID_LEN || id[0] != '0' || id[1] != 'x') return false;
    for (int i = 2; i < TASKS_ID_LEN; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f'))) return false;
    return true;
}

static bool runtime_measure(const char *path, uint8_t out[48]) {
    cl_buf b = CL_BUF_INIT;
    bool ok = file_read_all(path, &b, (size_t)1 << 31) == CL_OK;
    unsigned n = 48;
    if (ok) ok = EVP_Digest(b.ptr, b.len, out, &n, EVP_sha384(), NULL) == 1;
    buf_free(&b);
    return ok;
}

/* Expired leases once a second; S3 events as soon as they are committed
 * (polled every 5 ms: one indexed range read when there is nothing). */
static void *housekeeping_main(void *arg) {
    tasks *t = arg;
    unsigned ticks = 0;
    while (!t->worker_stop) {
        if (ticks++ % 200 == 0) (void)queue_reap(t);
        if (dispatch_events(t) == 0) usleep(5000);
    }
    return NULL;
}

static void free_runs(struct runs *r) {
    blob_store_close(r->outputs);
    free(r->init_path);
    free(r->work_dir);
    free(r->state_dir);
    free(r->threads);
    free(r);
}

cl_err tasks_runs_start(tasks *t, const tasks_run_config *cfg) {
    struct runs *r = cl_calloc(1, sizeof *r);
    r->cfg = *cfg;
    r->init_path = cl_strdup(cfg->init_path);
    r->work_dir = cl_strdup(cfg->work_dir);
    r->cfg.init_path = r->init_path;
    r->cfg.work_dir = r->work_dir;
    r->state_dir = cfg->state_dir ? cl_strdup(cfg->state_dir) : NULL;
    r->cfg.state_dir = r->state_dir;
    t->qcfg = cfg->queue;
    if (!t->qcfg.lease_s) t->qcfg.lease_s = 30;
    if (t->qcfg.lease_s < 2) t->qcfg.lease_s = 2; /* local heartbeats come every second */
    if (!t->qcfg.max_attempts) t->qcfg.max_attempts = 3;
    char *outdir = cl_sprintf("%s/../task-outputs", cfg->work_dir);
    cl_err e = dir_ensure(cfg->work_dir, 0700);
    if (e == CL_OK) e = blob_store_open(outdir, &r->outputs);
    free(outdir);
    if (e == CL_OK && !runtime_measure(cfg->init_path, r->runtime_pcr)) e = CL_ERR_IO;
    if (e != CL_OK) {
        free_runs(r);
        return e;
    }
    run_workdir_clear(r->work_dir);
    t->runs = r;
    t->worker_stop = 0;
    t->qstop = false;
    r->threads = cl_calloc(cfg->workers + 1, sizeof *r->threads);
    static node_worker_arg args[64];
    unsigned n = cfg->workers > 64 ? 64 : cfg->workers;
    for (unsigned i = 0; i < n; i++) {
        args[i] = (node_worker_arg){t, i};
        if (pthread_create(&r->threads[r->n_threads], NULL, node_local_worker_main, &args[i]) == 0)
            r->n_threads++;
    }
    if (pthread_create(&r->threads[r->n_threads], NULL, housekeeping_main, t) == 0) r->n_threads++;
    return CL_OK;
}

void tasks_runs_stop(tasks *t) {
    struct runs *r = t ? t->runs : NULL;
    if (!r) return;
    t->worker_stop = 1;
    pthread_mutex_lock(&t->qmu);
    t->qstop = true;
    pthread_cond_broadcast(&t->qcv);
    pthread_mutex_unlock(&t->qmu);
    for (unsigned i = 0; i < r->n_threads; i++)
        pthread_join(r->threads[i], NULL);
    t->runs = NULL;
    free_runs(r);
}

blob_store *runs_outputs(tasks *t) {
    return t->runs ? t->runs->outputs : NULL;
}
