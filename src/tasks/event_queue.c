/* event_queue.c — the Cloister queues that S3 notifications with a
 * QueueConfiguration (arn:aws:sqs:REGION:ACCOUNT:NAME) deliver to, for
 * consumers outside Cloister. dispatch.c writes one message per event (kind
 * "queue_msg", scope the queue ARN, named by the event's sequencer, so
 * receiving is in commit order); consumers poll with SQS's visibility model:
 *   ReceiveEvents {Queue, MaxMessages 1..10 (1), VisibilityTimeout 0..43200 (30)}
 *       -> {Messages: [{MessageId, ReceiptHandle, Body}]}  (Body: {"Records": [...]})
 *   DeleteEvent {Queue, ReceiptHandle} -> {}
 * A received message is invisible for VisibilityTimeout seconds, then given
 * again (at-least-once, as SQS) until deleted with its latest receipt handle.
 * Queues are same-account resources: only the queue's own account reads them. */
#include "tasks/tasks_internal.h"

#include "crypto/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUEUE_MSG_KIND "queue_msg"

/* The queue ARN, checked to be the caller's own; NULL with the fault set. */
static const char *queue_of(app_call *a) {
    const char *q = json_string_value(json_object_get(a->in, "Queue"));
    const char *acct = q && strncmp(q, "arn:aws:sqs:", 12) == 0 ? strchr(q + 12, ':') : NULL;
    if (!acct || strlen(acct) < 15 || acct[13] != ':' || !acct[14] || strlen(q) > 256) {
        aws_fault_set(a->f, 400, "ValidationException",
                      "Queue is the ARN of a notification queue: arn:aws:sqs:REGION:ACCOUNT:NAME.");
        return NULL;
    }
    if (strncmp(acct + 1, a->account, 12) != 0) {
        aws_fault_set(a->f, 403, "AccessDeniedException",
                      "Queue %s belongs to another account: only its own account reads it.", q);
        return NULL;
    }
    return q;
}

typedef struct {
    const char *queue;
    size_t max;
    int64_t now, visibility;
    json_t *names; /* visible messages, in order */
    json_t *out;
} recv_ctx;

static bool visible(void *arg, const char *name, const char *text) {
    recv_ctx *r = arg;
    json_t *d = json_loads(text, 0, NULL);
    if (json_integer_value(json_object_get(d, "InvisibleUntil")) <= r->now)
        json_array_append_new(r->names, json_string(name));
    json_decref(d);
    return json_array_size(r->names) < r->max;
}

static cl_err recv_txn(store *st, void *arg) {
    recv_ctx *r = arg;
    CL_TRY(store_list(st, QUEUE_MSG_KIND, r->queue, NULL, NULL, 1000, visible, r, NULL));
    size_t i;
    json_t *n;
    json_array_foreach(r->names, i, n) {
        char *text = NULL;
        CL_TRY(store_get(st, QUEUE_MSG_KIND, r->queue, json_string_value(n), &text));
        json_t *d = json_loads(text, 0, NULL);
        free(text);
        if (!d) return CL_ERR_INTERNAL;
        uint8_t rnd[16];
        char handle[33];
        crypto_random(rnd, sizeof rnd);
        hex_encode_to(handle, rnd, sizeof rnd);
        json_object_set_new(d, "InvisibleUntil",
                            json_integer((json_int_t)(r->now + r->visibility)));
        json_object_set_new(d, "ReceiptHandle", json_string(handle));
        json_t *body = json_deep_copy(d);
        json_object_del(body, "InvisibleUntil");
        json_object_del(body, "ReceiptHandle");
        char *btext = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        json_array_append_new(r->out, json_pack("{s:O, s:s, s:s}", "MessageId", n, "ReceiptHandle",
                                                handle, "Body", btext ? btext : "{}"));
        free(btext);
        char *next = json_dumps(d, JSON_COMPACT);
        json_decref(d);
        cl_err e = store_put(st, QUEUE_MSG_KIND, r->queue, json_string_value(n), next);
        free(next);
        CL_TRY(e);
    }
    return CL_OK;
}

json_t *events_op_receive(app_call *a) {
    const char *q = queue_of(a);
    if (!q) return NULL;
    json_t *mm = json_object_get(a->in, "MaxMessages"),
           *vt = json_object_get(a->in, "VisibilityTimeout");
    json_int_t max = mm ? json_integer_value(mm) : 1, vis = vt ? json_integer_value(vt) : 30;
    if ((mm && !json_is_integer(mm)) || max < 1 || max > 10 || (vt && !json_is_integer(vt)) ||
        vis < 0 || vis > 43200) {
        aws_fault_set(a->f, 400, "ValidationException",
                      "MaxMessages is 1..10 and VisibilityTimeout 0..43200 seconds.");
        return NULL;
    }
    recv_ctx r = {q, (size_t)max, (int64_t)time(NULL), (int64_t)vis, json_array(), json_array()};
    cl_err e = store_txn(a->t->st, recv_txn, &r);
    json_decref(r.names);
    if (e != CL_OK) {
        json_decref(r.out);
        aws_fault_set(a->f, 500, "InternalFailure", "cannot read the queue");
        return NULL;
    }
    return json_pack("{s:o}", "Messages", r.out);
}

typedef struct {
    const char *queue, *handle;
    bool found;
} del_ctx;

static bool by_handle(void *arg, const char *name, const char *text) {
    del_ctx *d = arg;
    json_t *j = json_loads(text, 0, NULL);
    const char *h = json_string_value(json_object_get(j, "ReceiptHandle"));
    (void)name;
    bool hit = h && strcmp(h, d->handle) == 0;
    json_decref(j);
    return hit;
}

json_t *events_op_delete(app_call *a) {
    const char *q = queue_of(a);
    if (!q) return NULL;
    const char *h = json_string_value(json_object_get(a->in, "ReceiptHandle"));
    if (!h || strlen(h) != 32) {
        aws_fault_set(a->f, 400, "ValidationException",
                      "ReceiptHandle is the one ReceiveEvents returned.");
        return NULL;
    }
    del_ctx d = {q, h, false};
    char *name = NULL, *doc = NULL;
    cl_err e = store_claim(a->t->st, QUEUE_MSG_KIND, q, 100000, by_handle, &d, &name, &doc);
    free(name);
    free(doc);
    if (e == CL_ERR_NOT_FOUND) {
        aws_fault_set(a->f, 400, "ReceiptHandleIsInvalidException",
                      "The receipt handle is not valid (the message was deleted, or received "
                      "again since).");
        return NULL;
    }
    if (e != CL_OK) {
        aws_fault_set(a->f, 500, "InternalFailure", "cannot delete the message");
        return NULL;
    }
    return json_object();
}
