/* runs_api.c — the task operations of the `cloister` JSON API:
 *   RunApp {Name, Secrets {"1": "x1", ...}, Inputs [{Url, Content (base64)}],
 *           Args [...], Debug}                       -> {TaskId, Arn, State}
 *   GetTask {TaskId}        -> {Task: the document without logs and blob ids}
 *   GetTaskLogs {TaskId}    -> {TaskId, State, Stdout, Stderr}
 *   GetTaskResult {TaskId}  -> {TaskId, ResultDigest, DeterministicOutputPath,
 *                               Receipt, Output (base64 canonical tar)}
 * RunApp is authorized as cloister:RunApp on the app's ARN, the others as
 * cloister:<Op> on arn:aws:cloister:REGION:ACCOUNT:task/ID (apps.c dispatch).
 * Secret values never pass here: RunApp names secrets, the run engine reads
 * them from the secret store inside the run. Format: docs/runs.md. */
#include "tasks/run_internal.h"
#include "tasks/tasks_internal.h"

#include "crypto/crypto.h"
#include "secrets/secrets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool invalid(app_call *a, const char *msg) {
    aws_fault_set(a->f, 400, "ValidationException", "%s", msg);
    return false;
}

static bool read_secrets(app_call *a, run_job *j) {
    json_t *m = json_object_get(a->in, "Secrets");
    j->secrets = json_object();
    if (!m) return true;
    if (!json_is_object(m) || json_object_size(m) > TASKS_SECRET_INDEX_MAX)
        return invalid(a, "Secrets must be an object of at most 64 \"index\": \"name\" pairs.");
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v) {
        char *end = NULL;
        long idx = strtol(k, &end, 10);
        if (!k[0] || *end || k[0] == '0' || idx < 1 || idx > TASKS_SECRET_INDEX_MAX)
            return invalid(a, "Secrets: each index must be a number from 1 to 64 (1=x1 maps "
                              "secret x1 to IEXEC_REQUESTER_SECRET_1).");
        if (!json_is_string(v) || !secrets_name_valid(slice_cstr(json_string_value(v))))
            return invalid(a, "Secrets: each name must match [A-Za-z0-9_-]{1,64}.");
        json_object_set(j->secrets, k, v);
    }
    return true;
}

static bool read_args(app_call *a, run_job *j) {
    json_t *v = json_object_get(a->in, "Args");
    j->args = json_array();
    if (!v) return true;
    if (!json_is_array(v) || json_array_size(v) > 64)
        return invalid(a, "Args must be an array of at most 64 strings.");
    size_t i;
    json_t *s;
    json_array_foreach(v, i, s) {
        if (!json_is_string(s) || json_string_length(s) > 4096 ||
            strlen(json_string_value(s)) != json_string_length(s))
            return invalid(a, "Args: each argument is a string of at most 4096 bytes, no NUL.");
        json_array_append(j->args, s);
    }
    return true;
}

/* iExec names each input file 0x + SHA-256 of its URL. */
static bool read_inputs(app_call *a, run_job *j) {
    json_t *v = json_object_get(a->in, "Inputs");
    if (!v) return true;
    if (!json_is_array(v) || json_array_size(v) > TASKS_INPUTS_MAX)
        return invalid(a, "Inputs must be an array of at most 16 {Url, Content} objects.");
    size_t total = 0, i;
    json_t *in;
    json_array_foreach(v, i, in) {
        const char *url = json_string_value(json_object_get(in, "Url"));
        const char *b64 = json_string_value(json_object_get(in, "Content"));
        if (!url || !url[0] || strlen(url) > 2048 || !b64)
            return invalid(a, "Inputs: each input needs Url (1..2048 bytes) and Content (base64).");
        cl_buf *bytes = &j->inputs[j->n_inputs].bytes;
        if (base64_decode(bytes, slice_cstr(b64)) != CL_OK)
            return invalid(a, "Inputs: Content is not valid base64.");
        total += bytes->len;
        j->inputs[j->n_inputs].url = cl_strdup(url);
        char *name = j->inputs[j->n_inputs].name;
        memcpy(name, "0x", 2);
        crypto_sha256_hex(slice_cstr(url), name + 2);
        for (size_t k = 0; k < j->n_inputs; k++)
            if (strcmp(j->inputs[k].name, name) == 0) {
                j->n_inputs++;
                return invalid(a, "Inputs: the same Url is given twice.");
            }
        j->n_inputs++;
        if (total > TASKS_INPUT_MAX) return invalid(a, "Inputs: at most 4 MiB in all.");
    }
    return true;
}

static void new_task_id(char out[TASKS_ID_LEN + 1]) {
    uint8_t r[32];
    crypto_random(r, sizeof r);
    memcpy(out, "0x", 2);
    hex_encode_to(out + 2, r, sizeof r);
}

static json_t *task_doc(app_call *a, const run_job *j, const char *arn) {
    char now[21];
    time_format_iso8601(time_now(), now);
    json_t *inputs = json_array();
    for (size_t i = 0; i < j->n_inputs; i++) {
        char hex[65];
        crypto_sha256_hex(buf_slice(&j->inputs[i].bytes), hex);
        json_array_append_new(inputs, json_pack("{s:s, s:s, s:s, s:I}", "Url", j->inputs[i].url,
                                                "Name", j->inputs[i].name, "Sha256", hex, "Size",
                                                (json_int_t)j->inputs[i].bytes.len));
    }
    return json_pack("{s:s, s:s, s:s, s:O, s:O, s:O, s:s, s:s, s:b, s:O, s:O, s:o, s:s, s:[{s:s, "
                     "s:s}], s:s, s:s}",
                     "TaskId", j->task_id, "Arn", arn, "Account", a->account, "App",
                     json_object_get(j->app, "Arn"), "AppAddress",
                     json_object_get(j->app, "Address"), "Measurement",
                     json_object_get(j->app, "Measurement"), "Requester", j->requester_arn,
                     "RequesterId", j->principal_id, "Debug", j->debug, "Args", j->args, "Secrets",
                     j->secrets, "Inputs", inputs, "State", "queued", "States", "State", "queued",
                     "Time", now, "Created", now, "Updated", now);
}

json_t *runs_op_run(app_call *a) {
    if (!a->t->runs) {
        aws_fault_set(a->f, 503, "ServiceUnavailableException", "Runs are not enabled here.");
        return NULL;
    }
    run_job j = {0};
    json_t *out = NULL, *doc = NULL;
    json_t *dbg = json_object_get(a->in, "Debug");
    if (dbg && !json_is_boolean(dbg)) {
        invalid(a, "Debug must be a boolean.");
        goto done;
    }
    j.debug = json_is_true(dbg);
    if (!read_secrets(a, &j) || !read_args(a, &j) || !read_inputs(a, &j)) goto done;
    if (!(j.app = tasks_load_app(a))) goto done;
    new_task_id(j.task_id);
    j.requester_arn = cl_strdup(a->c->arn ? a->c->arn : "");
    j.account = cl_strdup(a->account);
    j.principal_id = secrets_principal_id(a->c);
    char *arn = cl_sprintf("arn:aws:cloister:%s:%s:task/%s", iam_caller_region(a->c), a->account,
                           j.task_id);
    doc = task_doc(a, &j, arn);
    char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    char *active = cl_sprintf("{\"Account\":\"%s\"}", a->account); /* 12 digits */
    cl_err e = store_insert(a->t->st, TASK_KIND, a->account, j.task_id, text);
    if (e == CL_OK) e = store_put(a->t->st, ACTIVE_KIND, "", j.task_id, active);
    if (e == CL_OK) e = runs_enqueue(a->t, &j);
    if (e == CL_OK) {
        out = json_pack("{s:s, s:s, s:s}", "TaskId",
                        json_string_value(json_object_get(doc, "TaskId")), "Arn", arn, "State",
                        "queued");
        log_info("runs: %s queued task %s of %s", a->c->arn,
                 json_string_value(json_object_get(doc, "TaskId")), a->arn);
    } else {
        (void)store_delete(a->t->st, TASK_KIND, a->account,
                           json_string_value(json_object_get(doc, "TaskId")));
        (void)store_delete(a->t->st, ACTIVE_KIND, "",
                           json_string_value(json_object_get(doc, "TaskId")));
        if (e == CL_ERR_TOO_LARGE)
            aws_fault_set(a->f, 429, "ThrottlingException",
                          "Too many runs are queued on this node: retry later.");
        else
            aws_fault_set(a->f, 500, "InternalFailure", "cannot record the task");
    }
    free(text);
    free(active);
    free(arn);
done:
    json_decref(doc);
    run_job_free(&j);
    return out;
}

static json_t *load_task(app_call *a) {
    char *text = NULL;
    cl_err e = store_get(a->t->st, TASK_KIND, a->account, a->name, &text);
    json_t *j = e == CL_OK ? json_loads(text, 0, NULL) : NULL;
    free(text);
    if (!j) aws_fault_set(a->f, 404, "ResourceNotFoundException", "Task not found: %s", a->name);
    return j;
}

json_t *runs_op_get(app_call *a) {
    json_t *doc = load_task(a);
    if (!doc) return NULL;
    json_object_del(doc, "Stdout");
    json_object_del(doc, "Stderr");
    json_object_del(doc, "OutputBlob");
    json_object_del(doc, "Account");
    return json_pack("{s:o}", "Task", doc);
}

json_t *runs_op_logs(app_call *a) {
    json_t *doc = load_task(a);
    if (!doc) return NULL;
    json_t *out = json_pack("{s:O, s:O, s:s, s:s}", "TaskId", json_object_get(doc, "TaskId"),
                            "State", json_object_get(doc, "State"), "Stdout", "", "Stderr", "");
    if (json_object_get(doc, "Stdout"))
        json_object_set(out, "Stdout", json_object_get(doc, "Stdout"));
    if (json_object_get(doc, "Stderr"))
        json_object_set(out, "Stderr", json_object_get(doc, "Stderr"));
    json_decref(doc);
    return out;
}

static bool read_output(app_call *a, const char *id, cl_buf *out) {
    blob_store *bs = runs_outputs(a->t);
    blob_reader *r = NULL;
    if (!bs || !id || blob_open(bs, id, &r) != CL_OK) return false;
    uint64_t n = blob_size(r);
    bool ok = n <= TASKS_OUTPUT_MAX;
    if (ok) {
        buf_reserve(out, (size_t)n);
        ok = blob_read_at(r, 0, out->ptr, (size_t)n) == CL_OK;
        if (ok) out->len = (size_t)n;
    }
    blob_close(r);
    return ok;
}

json_t *runs_op_result(app_call *a) {
    json_t *doc = load_task(a);
    if (!doc) return NULL;
    const char *state = json_string_value(json_object_get(doc, "State"));
    json_t *out = NULL;
    cl_buf tar = CL_BUF_INIT, b64 = CL_BUF_INIT;
    if (!state || strcmp(state, "done") != 0) {
        aws_fault_set(a->f, 409, "ResourceNotReadyException", "Task %s is %s: it has no result%s",
                      a->name, state ? state : "unknown",
                      state && strcmp(state, "failed") == 0 ? " (see GetTask's Error)" : " yet");
    } else if (!read_output(a, json_string_value(json_object_get(doc, "OutputBlob")), &tar)) {
        aws_fault_set(a->f, 500, "InternalFailure", "cannot read the result of %s", a->name);
    } else {
        base64_encode(&b64, buf_slice(&tar));
        out = json_pack("{s:O, s:O, s:O, s:O, s:s}", "TaskId", json_object_get(doc, "TaskId"),
                        "ResultDigest", json_object_get(doc, "ResultDigest"),
                        "DeterministicOutputPath",
                        json_object_get(doc, "DeterministicOutputPath")
                            ? json_object_get(doc, "DeterministicOutputPath")
                            : json_null(),
                        "Receipt", json_object_get(doc, "Receipt"), "Output", buf_cstr(&b64));
    }
    buf_free(&tar);
    buf_free(&b64);
    json_decref(doc);
    return out;
}
