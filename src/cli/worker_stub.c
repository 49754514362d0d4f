/* worker_stub.c — TEMPORARY (branch h-worker only): a weak stand-in for
 * tasks_worker_loop until the lead's src/tasks/worker.c is on main; removed
 * when main is merged. A strong definition, if linked, replaces it. */
#include "tasks/tasks.h"

#include <stdio.h>

__attribute__((weak)) cl_err tasks_worker_loop(const tasks_worker_config *cfg,
                                               const tasks_worker_ops *ops, volatile int *stop,
                                               char *msg, size_t msglen) {
    (void)cfg, (void)ops, (void)stop;
    snprintf(msg, msglen, "this build has no worker loop yet");
    return CL_ERR_INTERNAL;
}
