/* worker_internal.h — the node side of workers (worker_node.c), the run
 * engine's state (runs.c) and the S3 event dispatcher (dispatch.c); not a
 * public header. */
#ifndef CLOISTER_TASKS_WORKER_INTERNAL_H
#define CLOISTER_TASKS_WORKER_INTERNAL_H

#include "tasks/tasks_internal.h"

#include <pthread.h>

struct runs {
    tasks_run_config cfg;
    char *init_path, *work_dir, *state_dir;
    uint8_t runtime_pcr[48];
    blob_store *outputs; /* DATA/task-outputs: results and inputs sent inline */
    pthread_t *threads;
    unsigned n_threads;
};

typedef struct {
    tasks *t;
    unsigned index;
} node_worker_arg;

/* The spec a lease hands out (tasks.h); local adds the secrets. NULL if the
 * task's app is gone. */
json_t *node_spec(tasks *t, const json_t *doc, bool local);
cl_err node_bundle(tasks *t, const json_t *doc, cl_buf *out, char *msg, size_t msglen);
/* remote_worker_arn: the lease holder of a remote worker (PCR4), NULL locally. */
cl_err node_attest(tasks *t, const json_t *doc, const char *remote_worker_arn, cl_slice spki,
                   cl_slice user_data, cl_slice nonce, cl_buf *out);
/* An input of a leased task as the node reads it (inline copy, or s3:// as
 * the bucket owner). */
cl_err node_read_input(tasks *t, const json_t *doc, const char *url, size_t max, cl_buf *out,
                       char *msg, size_t msglen);
/* Checks and records a worker's outcome (principal NULL: a local worker). */
cl_err node_finish(tasks *t, const char *id, const char *lease_id, const char *principal,
                   const tasks_worker_result *r, const char **state, char *msg, size_t msglen);
void *node_local_worker_main(void *arg); /* node_worker_arg */

/* dispatch.c: turns S3 events (the outbox s3 writes) into tasks, once each. */
size_t dispatch_events(tasks *t);
/* The configuration check s3 calls for notification targets. */
cl_err dispatch_check_target(void *tasks_ctx, const char *type, const char *arn, const char *owner,
                             char *msg, size_t msglen);

#endif
