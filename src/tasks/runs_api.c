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
#include "tasks/worker_internal.h"

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

/* Inline inputs (RunApp's Content) are kept as blobs until the task ends. */
static bool store_inline(app_call *a, const run_job *j, json_t *inputs) {
    for (size_t i = 0; i < j->n_inputs; i++) {
        char hex[65], id[BLOB_ID_LEN + 1];
        crypto_sha256_hex(buf_slice(&j->inputs[i].bytes), hex);
        blob_writer *w = NULL;
        if (blob_begin(runs_outputs(a->t), &w) != CL_OK ||
            blob_append(w, buf_slice(&j->inputs[i].bytes)) != CL_OK ||
            blob_finish(w, id) != CL_OK) {
            if (w) blob_abort(w);
            aws_fault_set(a->f, 500, "InternalFailure", "cannot store the inputs");
            return false;
        }
        json_array_append_new(inputs,
                              json_pack("{s:s, s:s, s:s, s:I, s:s}", "Url", j->inputs[i].url,
                                        "Name", j->inputs[i].name, "Sha256", hex, "Size",
                                        (json_int_t)j->inputs[i].bytes.len, "Blob", id));
    }
    return true;
}

/* A new task document of app (queued), requested by the caller. */
static json_t *task_doc(app_call *a, const run_job *j, const json_t *app, json_t *inputs) {
    char now[21];
    time_format_iso8601(time_now(), now);
    char *arn = cl_sprintf("arn:aws:cloister:%s:%s:task/%s", iam_caller_region(a->c), a->account,
                           j->task_id);
    json_t *doc = json_pack(
        "{s:s, s:s, s:s, s:O, s:O, s:O, s:O, s:s, s:s, s:b, s:O, s:O, s:o, s:i, s:i, s:b, s:s, "
        "s:[{s:s, s:s}], s:s, s:s}",
        "TaskId", j->task_id, "Arn", arn, "Account", a->account, "App", json_object_get(app, "Arn"),
        "AppName", json_object_get(app, "Name"), "AppAddress", json_object_get(app, "Address"),
        "Measurement", json_object_get(app, "Measurement"), "Requester", j->requester_arn,
        "RequesterId", j->principal_id, "Debug", j->debug, "Args", j->args, "Secrets", j->secrets,
        "Inputs", inputs, "Priority", 5, "Attempt", 0, "LocalOnly", true, "State", "queued",
        "States", "State", "queued", "Time", now, "Created", now, "Updated", now);
    free(arn);
    return doc;
}

static json_t *queued_answer(app_call *a, json_t *doc) {
    cl_err e = queue_add(a->t, doc);
    if (e != CL_OK) {
        aws_fault_set(a->f, 500, "InternalFailure", "cannot record the task");
        return NULL;
    }
    log_info("runs: %s queued task %s of %s", a->c->arn,
             json_string_value(json_object_get(doc, "TaskId")), a->arn);
    return json_pack("{s:O, s:O, s:s}", "TaskId", json_object_get(doc, "TaskId"), "Arn",
                     json_object_get(doc, "Arn"), "State", "queued");
}

static bool runs_ready(app_call *a) {
    if (a->t->runs) return true;
    aws_fault_set(a->f, 503, "ServiceUnavailableException", "Runs are not enabled here.");
    return false;
}

static void job_requester(app_call *a, run_job *j) {
    new_task_id(j->task_id);
    j->requester_arn = cl_strdup(a->c->arn ? a->c->arn : "");
    j->account = cl_strdup(a->account);
    j->principal_id = secrets_principal_id(a->c);
}

json_t *runs_op_run(app_call *a) {
    if (!runs_ready(a)) return NULL;
    run_job j = {0};
    json_t *out = NULL, *doc = NULL, *app = NULL;
    json_t *dbg = json_object_get(a->in, "Debug");
    if (dbg && !json_is_boolean(dbg)) {
        invalid(a, "Debug must be a boolean.");
        goto done;
    }
    j.debug = json_is_true(dbg);
    if (!read_secrets(a, &j) || !read_args(a, &j) || !read_inputs(a, &j)) goto done;
    if (!(app = tasks_load_app(a))) goto done;
    job_requester(a, &j);
    json_t *inputs = json_array();
    if (!store_inline(a, &j, inputs)) {
        json_decref(inputs);
        goto done;
    }
    doc = task_doc(a, &j, app, inputs);
    out = queued_answer(a, doc);
done:
    json_decref(app);
    json_decref(doc);
    run_job_free(&j);
    return out;
}

/* ---- SubmitRequest: inputs by URL, fetched by whichever worker leases it ---- */
static bool url_ok(const char *u) {
    return u && strlen(u) <= 2048 &&
           (strncmp(u, "s3://", 5) == 0 || strncmp(u, "https://", 8) == 0 ||
            strncmp(u, "http://", 7) == 0);
}

/* s3://BUCKET/KEY -> bucket and decoded key (malloc'd); false if malformed. */
static bool s3_url_split(const char *u, char **bucket, char **key) {
    const char *b = u + 5, *slash = strchr(b, '/');
    if (!slash || slash == b || !slash[1]) return false;
    cl_buf k = CL_BUF_INIT;
    if (url_decode(&k, slice_cstr(slash + 1), false) != CL_OK) {
        buf_free(&k);
        return false;
    }
    *bucket = cl_strndup(b, (size_t)(slash - b));
    *key = cl_strdup(buf_cstr(&k));
    buf_free(&k);
    return true;
}

static bool submit_inputs(app_call *a, bool local_reads, json_t *inputs) {
    json_t *v = json_object_get(a->in, "Inputs");
    if (v && (!json_is_array(v) || json_array_size(v) > TASKS_INPUTS_MAX))
        return invalid(a, "Inputs must be an array of at most 16 {Url} objects.");
    size_t i;
    json_t *in;
    json_array_foreach(v, i, in) {
        const char *url = json_string_value(json_object_get(in, "Url"));
        if (!url_ok(url))
            return invalid(a, "Inputs: each Url is s3://BUCKET/KEY, https://... or http://... "
                              "(at most 2048 bytes).");
        char name[67] = "0x";
        crypto_sha256_hex(slice_cstr(url), name + 2);
        json_array_append_new(inputs, json_pack("{s:s, s:s}", "Url", url, "Name", name));
        if (strncmp(url, "s3://", 5) != 0 || !local_reads) continue;
        /* the node's own workers read s3:// inputs as the bucket owner: the
         * requester must be allowed to read them itself */
        char *bucket = NULL, *key = NULL, msg[256] = "";
        if (!s3_url_split(url, &bucket, &key)) return invalid(a, "Inputs: malformed s3:// URL.");
        cl_err e = a->t->s3.check_read ? a->t->s3.check_read(a->t->s3.ctx, a->c, a->req, bucket,
                                                             key, msg, sizeof msg)
                                       : CL_ERR_DENIED;
        free(bucket);
        free(key);
        if (e != CL_OK) {
            aws_fault_set(a->f, 403, "AccessDeniedException", "Input %s: %s", url,
                          msg[0] ? msg : "you may not read it");
            return false;
        }
    }
    return true;
}

static bool submit_output(app_call *a, json_t *doc) {
    const char *o = json_string_value(json_object_get(a->in, "Output"));
    if (!o) return true;
    char *bucket = NULL, *prefix = NULL;
    size_t n = strlen(o);
    if (strncmp(o, "s3://", 5) != 0 || n < 7 || o[n - 1] != '/' ||
        !s3_url_split(o, &bucket, &prefix)) {
        free(bucket);
        free(prefix);
        return invalid(a, "Output is s3://BUCKET/PREFIX/ (ending with /).");
    }
    json_object_set_new(doc, "Output", json_pack("{s:s, s:s}", "Bucket", bucket, "Prefix", prefix));
    free(bucket);
    free(prefix);
    return true;
}

json_t *runs_op_submit(app_call *a) {
    if (!runs_ready(a)) return NULL;
    run_job j = {0};
    json_t *out = NULL, *doc = NULL, *app = NULL, *inputs = json_array();
    const char *role = json_string_value(json_object_get(a->in, "RequireRole"));
    json_t *prio = json_object_get(a->in, "Priority");
    if (json_object_get(a->in, "RequireRole") &&
        (!role || strncmp(role, "arn:aws:iam::", 13) != 0 || !strstr(role, ":role/"))) {
        invalid(a, "RequireRole is a role ARN: arn:aws:iam::ACCOUNT:role/NAME.");
        goto done;
    }
    if (prio &&
        (!json_is_integer(prio) || json_integer_value(prio) < 0 || json_integer_value(prio) > 9)) {
        invalid(a, "Priority is an integer from 0 (lowest) to 9 (highest).");
        goto done;
    }
    if (!read_secrets(a, &j) || !read_args(a, &j)) goto done;
    bool local_only = json_object_size(j.secrets) > 0;
    if (local_only && role) {
        invalid(a, "Secrets are released only to the node's own workers: a task with Secrets "
                   "cannot require a worker role.");
        goto done;
    }
    if (!submit_inputs(a, !role, inputs)) goto done;
    if (!(app = tasks_load_app(a))) goto done;
    job_requester(a, &j);
    doc = task_doc(a, &j, app, inputs);
    inputs = NULL;
    json_object_set_new(doc, "LocalOnly", json_boolean(local_only));
    if (role) json_object_set_new(doc, "RequireRole", json_string(role));
    if (prio) json_object_set(doc, "Priority", prio);
    if (!submit_output(a, doc)) goto done;
    out = queued_answer(a, doc);
done:
    json_decref(inputs);
    json_decref(app);
    json_decref(doc);
    run_job_free(&j);
    return out;
}

/* ---- ListTasks, CancelTask, RetryTask ---- */
typedef struct {
    const char *state, *app;
    json_t *out;
    size_t max;
    char last[TASKS_ID_LEN + 1];
} list_ctx;

static bool list_one(void *arg, const char *name, const char *text) {
    list_ctx *l = arg;
    json_t *d = json_loads(text, 0, NULL);
    const char *st = json_string_value(json_object_get(d, "State"));
    const char *app = json_string_value(json_object_get(d, "App"));
    const char *an = json_string_value(json_object_get(d, "AppName"));
    bool keep = d && (!l->state || (st && strcmp(st, l->state) == 0)) &&
                (!l->app || (app && strcmp(app, l->app) == 0) || (an && strcmp(an, l->app) == 0));
    if (keep)
        json_array_append_new(l->out, json_pack("{s:s, s:O, s:O, s:O, s:O, s:O}", "TaskId", name,
                                                "App", json_object_get(d, "App"), "State",
                                                json_object_get(d, "State"), "Attempt",
                                                json_object_get(d, "Attempt"), "Created",
                                                json_object_get(d, "Created"), "Updated",
                                                json_object_get(d, "Updated")));
    json_decref(d);
    snprintf(l->last, sizeof l->last, "%s", name);
    return json_array_size(l->out) < l->max;
}

json_t *runs_op_list(app_call *a) {
    json_t *mr = json_object_get(a->in, "MaxResults");
    const char *token = json_string_value(json_object_get(a->in, "NextToken"));
    list_ctx l = {json_string_value(json_object_get(a->in, "State")),
                  json_string_value(json_object_get(a->in, "App")), json_array(),
                  mr ? (size_t)json_integer_value(mr) : 100, ""};
    if (l.max < 1 || l.max > 1000) {
        json_decref(l.out);
        invalid(a, "MaxResults is 1..1000.");
        return NULL;
    }
    if (token && !runs_task_id_valid(token)) {
        json_decref(l.out);
        invalid(a, "NextToken is not one ListTasks returned.");
        return NULL;
    }
    bool more = false;
    (void)store_list(a->t->st, TASK_KIND, a->account, NULL, token, 0, list_one, &l, &more);
    json_t *out = json_pack("{s:o}", "Tasks", l.out);
    if (json_array_size(l.out) >= l.max && l.last[0])
        json_object_set_new(out, "NextToken", json_string(l.last));
    return out;
}

static json_t *owner_change(app_call *a, bool retry) {
    char msg[200] = "";
    json_t *doc = NULL;
    cl_err e = queue_owner_change(a->t, a->account, a->name, retry, msg, sizeof msg, &doc);
    if (e == CL_ERR_NOT_FOUND) {
        aws_fault_set(a->f, 404, "ResourceNotFoundException", "Task not found: %s", a->name);
        return NULL;
    }
    if (e == CL_ERR_EXISTS) {
        aws_fault_set(a->f, 409, "ConflictException", "%s", msg);
        return NULL;
    }
    if (e != CL_OK) {
        aws_fault_set(a->f, 500, "InternalFailure", "cannot change the task");
        return NULL;
    }
    json_t *out =
        json_pack("{s:s, s:O}", "TaskId", a->name, "State", json_object_get(doc, "State"));
    json_decref(doc);
    return out;
}

json_t *runs_op_cancel(app_call *a) {
    return owner_change(a, false);
}

json_t *runs_op_retry(app_call *a) {
    return owner_change(a, true);
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
    json_object_del(doc, "Log");
    json_object_del(doc, "OutputBlob");
    json_object_del(doc, "Account");
    json_object_del(doc, "Lease");
    size_t i;
    json_t *in;
    json_array_foreach(json_object_get(doc, "Inputs"), i, in) json_object_del(in, "Blob");
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
    json_object_set_new(out, "Log",
                        json_object_get(doc, "Log") ? json_incref(json_object_get(doc, "Log"))
                                                    : json_string(""));
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

/* PutTriggerOptions {Bucket, Id, Args, Secrets}: the arguments and secret
 * mapping of the tasks a bucket notification (configuration Id, a Lambda-style
 * target) starts. Secrets are the caller's own: triggered tasks run with the
 * caller as requester. Options of the caller's account only (the dispatcher
 * reads them in the bucket owner's account). */
json_t *runs_op_trigger_options(app_call *a) {
    const char *bucket = json_string_value(json_object_get(a->in, "Bucket"));
    const char *id = json_string_value(json_object_get(a->in, "Id"));
    if (!bucket || !bucket[0] || strlen(bucket) > 63 || strchr(bucket, '/') || !id || !id[0] ||
        strlen(id) > 255) {
        invalid(a, "Bucket (a bucket name) and Id (the notification configuration's Id) are "
                   "required.");
        return NULL;
    }
    run_job j = {0};
    json_t *out = NULL;
    if (read_secrets(a, &j) && read_args(a, &j)) {
        char *pid = secrets_principal_id(a->c);
        json_t *doc =
            json_pack("{s:O, s:O, s:s, s:s}", "Args", j.args, "Secrets", j.secrets, "Requester",
                      a->c->arn ? a->c->arn : "", "RequesterId", pid ? pid : "");
        free(pid);
        char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
        char *name = cl_sprintf("%s/%s", bucket, id);
        if (store_put(a->t->st, TRIGGER_OPTS_KIND, a->account, name, text) == CL_OK)
            out = json_pack("{s:s, s:s}", "Bucket", bucket, "Id", id);
        else
            aws_fault_set(a->f, 500, "InternalFailure", "cannot store the trigger options");
        free(name);
        free(text);
        json_decref(doc);
    }
    run_job_free(&j);
    return out;
}
