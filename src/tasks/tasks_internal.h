/* tasks_internal.h — what apps.c (the registry and the API dispatch) and
 * runs.c (tasks) share inside src/tasks; not a public header. */
#ifndef CLOISTER_TASKS_INTERNAL_H
#define CLOISTER_TASKS_INTERNAL_H

#include "tasks/tasks.h"

#include "aws/aws.h"
#include "store/blob.h"

#include <jansson.h>

struct runs;

struct tasks {
    store *st;
    iam *m;
    blob_store *blobs;
    tasks_sig_check_fn sig_check;
    struct secrets_store *secrets; /* app developer secrets (tasks_set_secrets) */
    struct runs *runs;             /* NULL until tasks_runs_start */
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
struct run_job;
/* Queues a recorded task (takes job's contents). CL_ERR_NOT_FOUND when runs
 * are not started, CL_ERR_TOO_LARGE when the queue is full. */
cl_err runs_enqueue(tasks *t, struct run_job *job);
blob_store *runs_outputs(tasks *t); /* NULL when runs are not started */
#define ACTIVE_KIND "task_active"
/* TaskId: "0x" + 64 lower-case hex. */
bool runs_task_id_valid(const char *id);

#endif
