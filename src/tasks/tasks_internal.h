/* tasks_internal.h — what apps.c (the registry and the API dispatch) and
 * runs.c (tasks) share inside src/tasks; not a public header. */
#ifndef CLOISTER_TASKS_INTERNAL_H
#define CLOISTER_TASKS_INTERNAL_H

#include "tasks/tasks.h"

#include "aws/aws.h"
#include "store/blob.h"

#include <jansson.h>
#include <pthread.h>

struct runs;

struct tasks {
    store *st;
    iam *m;
    blob_store *blobs;
    tasks_sig_check_fn sig_check;
    struct secrets_store *secrets; /* app developer secrets (tasks_set_secrets) */
    struct runs *runs;             /* NULL until tasks_runs_start */
    /* the queue (queue.c) */
    queue_limits_cfg qcfg;
    pthread_mutex_t qmu;
    pthread_cond_t qcv;
    uint64_t qgen; /* bumped by every enqueue and freed slot */
    bool qstop;
    volatile int worker_stop; /* local workers, reaper, dispatcher */
    tasks_s3_hooks s3;
};

/* One API call. */
typedef struct {
    tasks *t;
    const iam_caller *c;
    http_request *req;
    json_t *in;
    aws_fault *f;
    char account[13], name[TASKS_ID_LEN + 1],
        *arn;            /* the app (or task: name = its id) the request names */
    const char *ref_key; /* the request field naming the app: "Name" or "App" */
} app_call;

#define APP_KIND "app"
#define TASK_KIND "task"

/* The app document (a->account, a->name), or NULL with a 404 fault. */
json_t *tasks_load_app(app_call *a);

/* runs.c: Cloister.RunApp (names an app) and the task operations (name a task). */
json_t *runs_op_run(app_call *a);
json_t *runs_op_get(app_call *a);
json_t *runs_op_logs(app_call *a);
json_t *runs_op_result(app_call *a);
json_t *runs_op_list(app_call *a);
json_t *runs_op_cancel(app_call *a);
json_t *runs_op_retry(app_call *a);
json_t *runs_op_submit(app_call *a);
json_t *runs_op_trigger_options(app_call *a);
/* Trigger options (PutTriggerOptions): kind "trigger_opts", scope account,
 * name BUCKET "/" configuration Id -> {Args, Secrets, Requester, RequesterId}. */
#define TRIGGER_OPTS_KIND "trigger_opts"
/* worker_api.c: the remote workers' operations */
json_t *worker_op_lease(app_call *a);
json_t *worker_op_heartbeat(app_call *a);
json_t *worker_op_bundle(app_call *a);
json_t *worker_op_attest(app_call *a);
json_t *worker_op_finish(app_call *a);
blob_store *runs_outputs(tasks *t); /* NULL when runs are not started */
/* TaskId: "0x" + 64 lower-case hex. */
bool runs_task_id_valid(const char *id);

/* ---- queue.c ---- */
typedef struct {
    bool local;               /* a worker of this node */
    const char *principal_id; /* remote: the caller's unique id (lease holder) */
    const char *role_arn;     /* remote: the role of its session, NULL if none */
    const char *name;         /* for the task's history */
} queue_worker;
/* Called inside finish's transaction (after the lease is checked) to publish
 * outputs with the task's state change: an error aborts both. */
typedef cl_err (*queue_commit_fn)(void *arg, store *st, json_t *doc);
void queue_set_state(json_t *doc, const char *state, const char *note);
/* Records a new task document (State "queued") and its queue item at once. */
cl_err queue_add(tasks *t, json_t *doc);
cl_err queue_add_txn(store *st, json_t *doc); /* same, no wake-up (inside a txn) */
/* CL_ERR_NOT_FOUND: nothing this worker may run now. *doc: the leased task. */
cl_err queue_lease(tasks *t, const queue_worker *w, json_t **doc);
/* principal NULL: a local worker (no principal check). CL_ERR_DENIED: lost. */
cl_err queue_heartbeat(tasks *t, const char *id, const char *lease_id, const char *principal,
                       const char *state, int64_t *expires, bool *cancelled);
cl_err queue_lease_doc(tasks *t, const char *id, const char *lease_id, const char *principal,
                       json_t **doc);
cl_err queue_finish(tasks *t, const char *id, const char *lease_id, const char *principal, bool ok,
                    json_t *set, queue_commit_fn commit, void *commit_arg, json_t **doc_out);
size_t queue_reap(tasks *t); /* expired leases: requeued or failed */
/* Owner's cancel (retry false) / retry. CL_ERR_EXISTS (msg): not in a state
 * that allows it; CL_ERR_NOT_FOUND: no such task. */
cl_err queue_owner_change(tasks *t, const char *account, const char *id, bool retry, char *msg,
                          size_t msglen, json_t **doc);
/* The wake-up generation: read it BEFORE looking at the queue, then
 * queue_wait(t, gen, ms) returns at once if anything was queued since. */
uint64_t queue_gen(tasks *t);
void queue_wait(tasks *t, uint64_t gen, int ms); /* until woken (after gen) or ms pass */
void queue_notify(tasks *t);
/* task_metrics.c */
const char *task_metrics_reason(bool ok, const char *error);
void task_metrics_outcome(const char *reason, double seconds); /* seconds < 0: not timed */

#endif
