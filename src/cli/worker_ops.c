/* worker_ops.c — the tasks_worker_ops of a remote worker (`cloister worker`):
 * each op is one SigV4-signed call to the node's Cloister.*Task* operations
 * (docs/tasks.md "Remote workers"), and inputs are downloaded through the
 * ordinary S3 API with the worker's own credentials, so bucket and key
 * policies decide what it can read. With AWS_ROLE_ARN every call (lease,
 * fetch, finish) uses the role's session credentials, renewed through STS
 * before they expire; the lock guards them, since heartbeats and the run call
 * in from other threads. */
#include "cli/cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define ROLE_DURATION_S 3600u
#define ROLE_REFRESH_S 300 /* renew when fewer seconds remain */
#define ROLE_RETRY_S 15    /* between attempts when renewing fails */

static void creds_copy(const cli_creds *from, cli_creds *to) {
    to->access_key = cl_strdup(from->access_key);
    to->secret = cl_strdup(from->secret);
    to->session_token = from->session_token ? cl_strdup(from->session_token) : NULL;
    to->region = cl_strdup(from->region);
}

/* Under w->lock. */
static cl_err role_renew(cli_worker *w, char *err, size_t errlen) {
    cli_creds fresh;
    time_t expires;
    cl_err e = cli_assume_role(w->endpoint, &w->base, w->role_arn, w->session, ROLE_DURATION_S,
                               &fresh, &expires, err, errlen);
    if (e != CL_OK) return e;
    cli_creds_free(&w->role);
    w->role = fresh;
    w->role_expires = expires;
    return CL_OK;
}

cl_err cli_worker_start(cli_worker *w, char *err, size_t errlen) {
    pthread_mutex_init(&w->lock, NULL);
    if (!w->role_arn) return CL_OK;
    return role_renew(w, err, errlen);
}

void cli_worker_free(cli_worker *w) {
    cli_creds_free(&w->base);
    cli_creds_free(&w->role);
    pthread_mutex_destroy(&w->lock);
}

/* The credentials to sign with now (a copy: free it): the role's, renewed
 * when they are about to expire, else the base ones. */
static void creds_now(cli_worker *w, cli_creds *out) {
    pthread_mutex_lock(&w->lock);
    time_t now = time(NULL);
    if (w->role_arn && now + ROLE_REFRESH_S >= w->role_expires &&
        now - w->role_tried >= ROLE_RETRY_S) {
        char err[512];
        w->role_tried = now;
        if (role_renew(w, err, sizeof err) != CL_OK)
            log_warn("worker: renewing the credentials of %s failed: %s", w->role_arn, err);
    }
    creds_copy(w->role_arn ? &w->role : &w->base, out);
    pthread_mutex_unlock(&w->lock);
}

/* Calls Cloister.<op> (body consumed). CL_OK: *out is the answer. CL_ERR_IO:
 * the node cannot be reached; CL_ERR_DENIED: 409 TaskLeaseLostException;
 * CL_ERR_INVALID: any other refusal. msg says which ("Code: message"). */
static cl_err node_call(cli_worker *w, const char *op, json_t *body, json_t **out, char *msg,
                        size_t msglen) {
    *out = NULL;
    cli_creds c;
    creds_now(w, &c);
    char *text = json_dumps(body, JSON_COMPACT), *target = cl_sprintf("Cloister.%s", op);
    json_decref(body);
    http_client_response r = {0};
    cl_err e = cli_call_json(w->endpoint, &c, target, text, &r);
    cli_creds_free(&c);
    free(target);
    free(text);
    json_t *j = e == CL_OK ? json_loadb((const char *)r.body.ptr, r.body.len, 0, NULL) : NULL;
    buf_free(&r.body);
    if (e != CL_OK) {
        snprintf(msg, msglen, "%s: cannot reach %s", op, w->endpoint);
        return CL_ERR_IO;
    }
    if (r.status == 200 && json_is_object(j)) {
        *out = j;
        return CL_OK;
    }
    const char *code = json_string_value(json_object_get(j, "__type"));
    const char *m = json_string_value(json_object_get(j, "message"));
    if (!m) m = json_string_value(json_object_get(j, "Message"));
    snprintf(msg, msglen, "%s: %s: %s", op, code ? code : "HTTP error", m ? m : "");
    if (!code) snprintf(msg, msglen, "%s: HTTP %ld", op, r.status);
    e = r.status == 409 && code && strstr(code, "TaskLeaseLost") ? CL_ERR_DENIED : CL_ERR_INVALID;
    json_decref(j);
    return e;
}

static json_t *task_body(const json_t *task) {
    return json_pack("{s:O?, s:O?}", "TaskId", json_object_get(task, "TaskId"), "LeaseId",
                     json_object_get(task, "LeaseId"));
}

static const char *task_id(const json_t *task) {
    const char *id = json_string_value(json_object_get(task, "TaskId"));
    return id ? id : "?";
}

/* Sleeps s seconds, waking early when the loop is asked to stop. */
static void nap(cli_worker *w, unsigned s) {
    for (unsigned i = 0; i < s * 10 && !*w->stop; i++)
        usleep(100 * 1000);
}

/* Errors (node unreachable or refusing) go back to the loop, which logs them
 * and backs off (1, 2, 4.. 30 s); it logs each lease and outcome too. */
static cl_err op_lease(void *ctx, int wait_ms, json_t **task, char *msg, size_t msglen) {
    cli_worker *w = ctx;
    (void)wait_ms; /* a remote worker long-polls for w->wait_s (the node bounds it) */
    *task = NULL;
    json_t *ans = NULL;
    time_t t0 = time(NULL);
    cl_err e = node_call(w, "LeaseTask", json_pack("{s:i}", "WaitSeconds", (int)w->wait_s), &ans,
                         msg, msglen);
    w->poll_failed = e != CL_OK;
    if (w->once) *w->stop = 1;
    if (e != CL_OK) return e;
    json_t *t = json_object_get(ans, "Task");
    if (json_is_object(t)) {
        *task = json_incref(t);
        if (w->max_tasks && ++w->leased >= w->max_tasks) *w->stop = 1;
    } else if (w->wait_s && time(NULL) - t0 < 1) {
        nap(w, 1); /* a node that does not long-poll: do not spin */
    }
    json_decref(ans);
    return CL_OK;
}

static cl_err op_heartbeat(void *ctx, const json_t *task, const char *state, bool *cancelled) {
    cli_worker *w = ctx;
    json_t *body = task_body(task), *ans = NULL;
    json_object_set_new(body, "State", json_string(state));
    char msg[512];
    cl_err e = node_call(w, "HeartbeatTask", body, &ans, msg, sizeof msg);
    if (e == CL_OK)
        *cancelled = json_is_true(json_object_get(ans, "Cancelled"));
    else
        log_warn("worker: %s %s", task_id(task), msg);
    json_decref(ans);
    return e;
}

/* Decodes the base64 member key of ans into out (at most max bytes). */
static cl_err b64_member(json_t *ans, const char *key, size_t max, cl_buf *out, char *msg,
                         size_t msglen) {
    const char *s = json_string_value(json_object_get(ans, key));
    if (!s || base64_decode(out, slice_cstr(s)) != CL_OK) {
        snprintf(msg, msglen, "the node's answer has no %s", key);
        return CL_ERR_INVALID;
    }
    if (out->len > max) {
        snprintf(msg, msglen, "%s is larger than %zu bytes", key, max);
        return CL_ERR_TOO_LARGE;
    }
    return CL_OK;
}

static cl_err op_bundle(void *ctx, const json_t *task, cl_buf *out, char *msg, size_t msglen) {
    json_t *ans = NULL;
    cl_err e = node_call(ctx, "GetTaskBundle", task_body(task), &ans, msg, msglen);
    if (e == CL_OK) e = b64_member(ans, "Bundle", TASKS_BUNDLE_MAX, out, msg, msglen);
    json_decref(ans);
    return e;
}

static cl_err op_attest(void *ctx, const json_t *task, cl_slice spki, cl_slice user_data,
                        cl_slice nonce, cl_buf *doc) {
    json_t *body = task_body(task), *ans = NULL;
    const struct {
        const char *key;
        cl_slice v;
    } parts[] = {{"PublicKey", spki}, {"UserData", user_data}, {"Nonce", nonce}};
    for (size_t i = 0; i < 3; i++) {
        if (i && !parts[i].v.len) continue;
        cl_buf b = CL_BUF_INIT;
        base64_encode(&b, parts[i].v);
        json_object_set_new(body, parts[i].key, json_string(buf_cstr(&b)));
        buf_free(&b);
    }
    char msg[512];
    cl_err e = node_call(ctx, "AttestTask", body, &ans, msg, sizeof msg);
    if (e == CL_OK) e = b64_member(ans, "Document", 1 << 20, doc, msg, sizeof msg);
    if (e != CL_OK) log_warn("worker: %s %s", task_id(task), msg);
    json_decref(ans);
    return e;
}

static cl_err op_finish(void *ctx, const json_t *task, const tasks_worker_result *r, char *msg,
                        size_t msglen) {
    json_t *body = task_body(task), *ans = NULL;
    json_object_set_new(body, "Ok", json_boolean(r->ok));
    json_object_set_new(body, "ExitCode", json_integer(r->exit_code));
    if (!r->ok) json_object_set_new(body, "Error", json_string(r->error ? r->error : "failed"));
    if (r->receipt) json_object_set_new(body, "Receipt", json_string(r->receipt));
    if (r->output.len) {
        cl_buf b = CL_BUF_INIT;
        base64_encode(&b, r->output);
        json_object_set_new(body, "Output", json_string(buf_cstr(&b)));
        buf_free(&b);
    }
    json_object_set_new(body, "Stdout", tasks_text_json(r->out));
    json_object_set_new(body, "Stderr", tasks_text_json(r->err));
    json_object_set_new(body, "Log", tasks_text_json(r->log));
    cl_err e = node_call(ctx, "FinishTask", body, &ans, msg, msglen);
    json_decref(ans);
    return e;
}

static cl_err op_fetch(void *ctx, const json_t *task, const char *url, size_t max, cl_buf *out,
                       char *msg, size_t msglen);

void cli_worker_ops(cli_worker *w, tasks_worker_ops *ops) {
    *ops = (tasks_worker_ops){.ctx = w,
                              .lease = op_lease,
                              .heartbeat = op_heartbeat,
                              .bundle = op_bundle,
                              .fetch = op_fetch,
                              .attest = op_attest,
                              .finish = op_finish};
}

/* ---- inputs ---- */
/* A URL shown in messages: without its query (a presigned URL's signature). */
static int url_shown_len(const char *url) {
    return (int)strcspn(url, "?#");
}

/* The S3 error of a non-200 answer as "Code: Message (url)". */
static void s3_error(const http_client_response *r, const char *url, char *msg, size_t msglen) {
    char *code = cli_xml_text(buf_slice(&r->body), "Code");
    char *m = cli_xml_text(buf_slice(&r->body), "Message");
    if (code)
        snprintf(msg, msglen, "%s: %s (%.*s)", code, m ? m : "", url_shown_len(url), url);
    else
        snprintf(msg, msglen, "HTTP %ld (%.*s)", r->status, url_shown_len(url), url);
    free(code);
    free(m);
}

/* path = "/BUCKET/KEY" (percent-encoded) -> bucket and key, decoded. */
static bool split_path(const char *path, size_t n, cl_buf *bucket, cl_buf *key) {
    cl_slice p = slice_of(path, n), b;
    if (!slice_split(&p, '/', &b) || b.len) return false; /* leading '/' */
    if (!slice_split(&p, '/', &b) || !b.len || !p.len) return false;
    return url_decode(bucket, b, false) == CL_OK && url_decode(key, p, false) == CL_OK;
}

/* Whether an http(s) URL is a path-style URL of the node itself without a
 * presigned signature: those are signed with the worker's credentials (a
 * query other than a signature is not sent). */
static bool node_url(const cli_worker *w, const char *url) {
    char *a = cli_url_host(url), *b = cli_url_host(w->endpoint);
    bool same = strcasecmp(a, b) == 0;
    free(a);
    free(b);
    const char *q = strchr(url, '?');
    return same && !(q && strstr(q, "Signature=")); /* X-Amz-Signature (V4), Signature (V2) */
}

static cl_err op_fetch(void *ctx, const json_t *task, const char *url, size_t max, cl_buf *out,
                       char *msg, size_t msglen) {
    cli_worker *w = ctx;
    (void)task;
    cl_buf bucket = CL_BUF_INIT, key = CL_BUF_INIT;
    http_client_response r = {0};
    cl_err e = CL_OK;
    bool s3 = strncmp(url, "s3://", 5) == 0;
    bool http = strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0;
    if (s3) {
        const char *b = url + 5, *slash = strchr(b, '/');
        /* the key percent-decoded, as the node's own workers read it (worker_node.c) */
        if (!slash || slash == b || !slash[1] ||
            url_decode(&key, slice_cstr(slash + 1), false) != CL_OK)
            e = CL_ERR_INVALID;
        else
            buf_append(&bucket, b, (size_t)(slash - b));
    } else if (http && node_url(w, url)) {
        const char *path = strchr(strstr(url, "://") + 3, '/');
        s3 = path && split_path(path, strcspn(path, "?#"), &bucket, &key);
        if (!s3) e = CL_ERR_INVALID;
    } else if (!http) {
        e = CL_ERR_INVALID;
    }
    if (e != CL_OK) {
        snprintf(msg, msglen, "unsupported input URL %.*s (s3://BUCKET/KEY, https:// or http://)",
                 url_shown_len(url), url);
    } else if (s3) {
        cli_creds c;
        creds_now(w, &c);
        e = cli_s3_get(w->endpoint, &c, buf_cstr(&bucket), buf_cstr(&key), &r);
        cli_creds_free(&c);
    } else {
        cl_kvlist h = CL_KVLIST_INIT;
        e = http_client_request("GET", url, &h, slice_cstr(""), getenv("AWS_CA_BUNDLE"), &r);
        kvlist_free(&h);
    }
    if (e == CL_OK && r.status != 200) {
        s3_error(&r, url, msg, msglen);
        e = CL_ERR_DENIED;
    } else if (e == CL_OK && r.body.len > max) {
        snprintf(msg, msglen, "%.*s is larger than %zu bytes", url_shown_len(url), url, max);
        e = CL_ERR_TOO_LARGE;
    } else if (e == CL_OK) {
        buf_append_slice(out, buf_slice(&r.body));
    } else if (e != CL_ERR_INVALID) {
        snprintf(msg, msglen, "cannot download %.*s", url_shown_len(url), url);
    }
    buf_free_secret(&r.body);
    buf_free(&bucket);
    buf_free(&key);
    return e;
}
