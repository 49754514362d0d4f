/* wire_tasks.c — connects the task engine to S3 (tasks does not depend on s3,
 * DESIGN.md): the node's workers read s3:// inputs as the bucket owner,
 * SubmitRequest checks that the requester may read them, finished tasks
 * publish their outputs as objects in the same transaction that records the
 * outcome, and S3 asks tasks whether a notification's Lambda-style target
 * names an app. */
#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>

static cl_err read_obj(void *ctx, const char *bucket, const char *key, size_t max, cl_buf *out,
                       char *msg, size_t msglen) {
    return s3_read_object_as_owner(ctx, bucket, key, NULL, max, out, NULL, msg, msglen);
}

static cl_err check_read(void *ctx, const iam_caller *c, const http_request *req,
                         const char *bucket, const char *key, char *msg, size_t msglen) {
    return s3_check_read(ctx, c, req, bucket, key, msg, msglen);
}

static cl_err prepare(void *ctx, const char *account, const char *bucket, const json_t *files,
                      const char *origin, void **prep, char *msg, size_t msglen) {
    size_t n = json_array_size(files);
    s3_publish_item *items = cl_calloc(n ? n : 1, sizeof *items);
    for (size_t i = 0; i < n; i++) {
        const json_t *f = json_array_get(files, i);
        items[i].key = json_string_value(json_object_get(f, "Key"));
        items[i].path = json_string_value(json_object_get(f, "Path"));
        items[i].public_read = json_is_true(json_object_get(f, "Public"));
    }
    s3_publish *p = NULL;
    cl_err e = s3_publish_prepare(ctx, account, bucket, items, n, origin, &p, msg, msglen);
    free(items);
    *prep = p;
    return e;
}

static cl_err commit(void *ctx, void *prep) {
    return s3_publish_commit_txn(ctx, prep);
}

static void finish(void *ctx, void *prep, bool committed) {
    s3_publish_finish(ctx, prep, committed);
}

void cli_wire_tasks(tasks *t, s3 *objects) {
    tasks_s3_hooks h = {objects, read_obj, check_read, prepare, commit, finish};
    tasks_set_s3(t, &h);
    s3_set_notify_check(objects, tasks_notify_check, t);
}
