/* worker_api.c — the operations remote workers call (`cloister worker`):
 *   LeaseTask {WaitSeconds 0..20}             -> {Task: spec} or {}
 *   HeartbeatTask {TaskId, LeaseId, State}    -> {LeaseExpires, Cancelled}
 *   GetTaskBundle {TaskId, LeaseId}           -> {Bundle: base64}
 *   AttestTask {TaskId, LeaseId, PublicKey, UserData?, Nonce?} -> {Document}
 *   FinishTask {TaskId, LeaseId, Ok, Error?, ExitCode, Receipt?, Output?,
 *               Stdout, Stderr}                -> {State}
 * Who may call: any principal allowed cloister:LeaseTask by its own account
 * (root users always). Which task: LeaseTask hands out a task the caller may
 * run (queue.c: a session of role R gets tasks requiring R; tasks requiring no
 * role and holding no secrets go to any worker); every other call must carry
 * the lease id of a lease held by the same principal, else 409
 * TaskLeaseLostException. Tasks with secrets are never leased here. */
#include "tasks/tasks_internal.h"
#include "tasks/worker_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *in_str(app_call *a, const char *k) {
    return json_string_value(json_object_get(a->in, k));
}

static const char *principal(app_call *a) {
    return a->c->userid ? a->c->userid : a->c->arn ? a->c->arn : "";
}

static bool ready(app_call *a) {
    if (a->t->runs) return true;
    aws_fault_set(a->f, 503, "ServiceUnavailableException", "Runs are not enabled here.");
    return false;
}

/* The leased task's document, or NULL with the fault set. */
static json_t *held_doc(app_call *a) {
    const char *id = in_str(a, "TaskId"), *lease = in_str(a, "LeaseId");
    if (!runs_task_id_valid(id) || !lease) {
        aws_fault_set(a->f, 400, "ValidationException", "TaskId and LeaseId are required.");
        return NULL;
    }
    json_t *doc = NULL;
    if (queue_lease_doc(a->t, id, lease, principal(a), &doc) != CL_OK) {
        aws_fault_set(a->f, 409, "TaskLeaseLostException",
                      "You do not hold a lease %s on task %s (it expired and the task was leased "
                      "again, or it ended).",
                      lease, id);
        return NULL;
    }
    return doc;
}

json_t *worker_op_lease(app_call *a) {
    if (!ready(a)) return NULL;
    json_t *w = json_object_get(a->in, "WaitSeconds");
    json_int_t wait = w ? json_integer_value(w) : 0;
    if (w && (!json_is_integer(w) || wait < 0 || wait > 20)) {
        aws_fault_set(a->f, 400, "ValidationException", "WaitSeconds is 0..20.");
        return NULL;
    }
    queue_worker qw = {.local = false,
                       .principal_id = principal(a),
                       .role_arn = a->c->role_arn,
                       .name = a->c->arn};
    json_t *doc = NULL;
    int64_t until = (int64_t)time(NULL) + wait;
    cl_err e;
    uint64_t gen = queue_gen(a->t);
    while ((e = queue_lease(a->t, &qw, &doc)) == CL_ERR_NOT_FOUND && time(NULL) < until &&
           !a->t->worker_stop) {
        queue_wait(a->t, gen, 1000);
        gen = queue_gen(a->t);
    }
    if (e == CL_ERR_NOT_FOUND) return json_object();
    if (e != CL_OK) {
        aws_fault_set(a->f, 500, "InternalFailure", "cannot read the queue");
        return NULL;
    }
    json_t *spec = node_spec(a->t, doc, false);
    if (!spec) {
        tasks_worker_result r = {.error = "the task's app no longer exists", .exit_code = -1};
        char m[64];
        (void)node_finish(a->t, json_string_value(json_object_get(doc, "TaskId")),
                          json_string_value(json_object_get(json_object_get(doc, "Lease"), "Id")),
                          principal(a), &r, NULL, m, sizeof m);
        json_decref(doc);
        return json_object();
    }
    log_info("tasks: %s leased task %s", a->c->arn,
             json_string_value(json_object_get(doc, "TaskId")));
    json_decref(doc);
    return json_pack("{s:o}", "Task", spec);
}

json_t *worker_op_heartbeat(app_call *a) {
    if (!ready(a)) return NULL;
    const char *st = in_str(a, "State");
    if (st && strcmp(st, "running") != 0 && strcmp(st, "uploading") != 0 &&
        strcmp(st, "leased") != 0) {
        aws_fault_set(a->f, 400, "ValidationException", "State is leased, running or uploading.");
        return NULL;
    }
    int64_t exp = 0;
    bool cancelled = false;
    const char *id = in_str(a, "TaskId"), *lease = in_str(a, "LeaseId");
    if (!runs_task_id_valid(id) || !lease ||
        queue_heartbeat(a->t, id, lease, principal(a), st, &exp, &cancelled) != CL_OK) {
        aws_fault_set(a->f, 409, "TaskLeaseLostException", "You do not hold this lease any more.");
        return NULL;
    }
    return json_pack("{s:I, s:b}", "LeaseExpires", (json_int_t)exp, "Cancelled", cancelled);
}

json_t *worker_op_bundle(app_call *a) {
    if (!ready(a)) return NULL;
    json_t *doc = held_doc(a);
    if (!doc) return NULL;
    cl_buf b = CL_BUF_INIT, b64 = CL_BUF_INIT;
    char msg[160];
    json_t *out = NULL;
    if (node_bundle(a->t, doc, &b, msg, sizeof msg) != CL_OK) {
        aws_fault_set(a->f, 404, "ResourceNotFoundException", "%s", msg);
    } else {
        base64_encode(&b64, buf_slice(&b));
        out = json_pack("{s:s}", "Bundle", buf_cstr(&b64));
    }
    buf_free(&b);
    buf_free(&b64);
    json_decref(doc);
    return out;
}

static bool b64_field(app_call *a, const char *k, bool required, size_t max, cl_buf *out) {
    const char *v = in_str(a, k);
    if (!v && !required) return true;
    if (!v || base64_decode(out, slice_cstr(v)) != CL_OK || out->len > max ||
        (required && !out->len)) {
        aws_fault_set(a->f, 400, "ValidationException", "%s must be base64 (at most %zu bytes).", k,
                      max);
        return false;
    }
    return true;
}

json_t *worker_op_attest(app_call *a) {
    if (!ready(a)) return NULL;
    json_t *doc = held_doc(a);
    if (!doc) return NULL;
    cl_buf pk = CL_BUF_INIT, ud = CL_BUF_INIT, nonce = CL_BUF_INIT, d = CL_BUF_INIT,
           b64 = CL_BUF_INIT;
    json_t *out = NULL;
    if (b64_field(a, "PublicKey", true, 1024, &pk) && b64_field(a, "UserData", false, 1024, &ud) &&
        b64_field(a, "Nonce", false, 1024, &nonce)) {
        if (node_attest(a->t, doc, a->c->arn ? a->c->arn : principal(a), buf_slice(&pk),
                        buf_slice(&ud), buf_slice(&nonce), &d) != CL_OK) {
            aws_fault_set(a->f, 500, "InternalFailure", "cannot sign the document");
        } else {
            base64_encode(&b64, buf_slice(&d));
            out = json_pack("{s:s}", "Document", buf_cstr(&b64));
        }
    }
    buf_free(&pk);
    buf_free(&ud);
    buf_free(&nonce);
    buf_free(&d);
    buf_free(&b64);
    json_decref(doc);
    return out;
}

json_t *worker_op_finish(app_call *a) {
    if (!ready(a)) return NULL;
    const char *id = in_str(a, "TaskId"), *lease = in_str(a, "LeaseId");
    json_t *okv = json_object_get(a->in, "Ok");
    if (!runs_task_id_valid(id) || !lease || !json_is_boolean(okv)) {
        aws_fault_set(a->f, 400, "ValidationException", "TaskId, LeaseId and Ok are required.");
        return NULL;
    }
    cl_buf out = CL_BUF_INIT;
    if (!b64_field(a, "Output", false, TASKS_OUTPUT_MAX, &out)) {
        buf_free(&out);
        return NULL;
    }
    const char *so = in_str(a, "Stdout"), *se = in_str(a, "Stderr"), *lg = in_str(a, "Log");
    tasks_worker_result r = {.ok = json_is_true(okv),
                             .error = in_str(a, "Error"),
                             .exit_code =
                                 (int)json_integer_value(json_object_get(a->in, "ExitCode")),
                             .receipt = in_str(a, "Receipt"),
                             .output = buf_slice(&out),
                             .out = slice_cstr(so ? so : ""),
                             .err = slice_cstr(se ? se : ""),
                             .log = slice_cstr(lg ? lg : "")};
    if (r.out.len > 65536) r.out.len = 65536;
    if (r.err.len > 65536) r.err.len = 65536;
    if (r.log.len > 262144) r.log.len = 262144;
    char msg[256] = "";
    const char *state = "failed";
    cl_err e = node_finish(a->t, id, lease, principal(a), &r, &state, msg, sizeof msg);
    buf_free(&out);
    if (e == CL_ERR_DENIED) {
        aws_fault_set(a->f, 409, "TaskLeaseLostException", "You do not hold this lease any more.");
        return NULL;
    }
    if (e != CL_OK) {
        aws_fault_set(a->f, 500, "InternalFailure", "%s", msg);
        return NULL;
    }
    return json_pack("{s:s}", "State", state);
}
