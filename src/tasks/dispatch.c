/* dispatch.c — S3 event notifications to tasks. s3 writes one outbox item
 * (kind "s3_event", scope "", named by the event's sequencer) per matching
 * notification configuration, in the same transaction as the object's
 * metadata. Here each item becomes a task of the app its Lambda-style target
 * names (arn:aws:lambda:REGION:ACCOUNT:function:APP) in ONE transaction that
 * also deletes the item: a crash before it leaves the item for the next
 * start, a crash after leaves the task: never lost, never twice. The task's
 * input is the object itself (read by the node's workers as the bucket
 * owner), its event the AWS record, and its outputs are published under the
 * object's prefix. Objects published by a task do not trigger the same app
 * again (the event's Origin), so a prefix-only trigger cannot loop. Queue
 * targets are kept for external consumers (kind "queue_msg"). */
#include "tasks/tasks_internal.h"
#include "tasks/worker_internal.h"

#include "crypto/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENT_KIND "s3_event"
#define QUEUE_MSG_KIND "queue_msg"

static const char *jstr(const json_t *j, const char *k) {
    return json_string_value(json_object_get(j, k));
}

/* arn:aws:lambda:REGION:ACCOUNT:function:NAME -> account, name. */
static bool lambda_arn(const char *arn, char account[13], char name[65]) {
    if (!arn || strncmp(arn, "arn:aws:lambda:", 15) != 0) return false;
    const char *r = strchr(arn + 15, ':');
    if (!r || strlen(r + 1) < 13 || r[13] != ':') return false;
    memcpy(account, r + 1, 12);
    account[12] = 0;
    const char *fn = r + 14;
    if (strncmp(fn, "function:", 9) != 0) return false;
    fn += 9;
    size_t n = strcspn(fn, ":"); /* a :qualifier is ignored */
    if (n == 0 || n > 64) return false;
    memcpy(name, fn, n);
    name[n] = 0;
    return tasks_app_name_valid(name);
}

cl_err tasks_notify_check(void *tasks_ctx, const char *type, const char *arn, const char *owner,
                          char *msg, size_t msglen) {
    tasks *t = tasks_ctx;
    if (strcmp(type, "queue") == 0) return CL_OK; /* queues exist once written to */
    char account[13], name[65];
    if (!lambda_arn(arn, account, name)) {
        snprintf(msg, msglen, "%s is not arn:aws:lambda:REGION:ACCOUNT:function:APP", arn);
        return CL_ERR_INVALID;
    }
    if (strcmp(account, owner) != 0) {
        snprintf(msg, msglen, "%s: the app must belong to the bucket owner's account %s", arn,
                 owner);
        return CL_ERR_INVALID;
    }
    char *doc = NULL;
    cl_err e = store_get(t->st, APP_KIND, account, name, &doc);
    free(doc);
    if (e != CL_OK) {
        snprintf(msg, msglen, "%s: no app named %s in account %s (cloister app deploy it first)",
                 arn, name, account);
        return CL_ERR_NOT_FOUND;
    }
    return CL_OK;
}

typedef struct {
    tasks *t;
    const char *name;
    bool made;
} one_ctx;

static json_t *app_doc(store *st, const char *account, const char *name) {
    char *text = NULL;
    if (store_get(st, APP_KIND, account, name, &text) != CL_OK) return NULL;
    json_t *j = json_loads(text, 0, NULL);
    free(text);
    return j;
}

/* `cloister trigger add --arg/--secret`: the options of this configuration. */
static void apply_options(store *st, const json_t *ev, const char *account, json_t *doc) {
    const char *id = jstr(json_object_get(ev, "Target"), "Id");
    if (!id || !jstr(ev, "Bucket")) return;
    char *name = cl_sprintf("%s/%s", jstr(ev, "Bucket"), id), *text = NULL;
    json_t *o = store_get(st, TRIGGER_OPTS_KIND, account, name, &text) == CL_OK
                    ? json_loads(text, 0, NULL)
                    : NULL;
    free(name);
    free(text);
    if (!o) return;
    const char *keys[] = {"Args", "Secrets", "Requester", "RequesterId"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (json_object_get(o, keys[i])) json_object_set(doc, keys[i], json_object_get(o, keys[i]));
    json_decref(o);
}

/* The task of one event (State queued), or NULL if its app is gone. */
static json_t *event_task(store *st, const json_t *ev, const char *account, const char *name) {
    json_t *app = app_doc(st, account, name);
    if (!app) return NULL;
    const char *bucket = jstr(ev, "Bucket"), *key = jstr(ev, "Key");
    const char *region = "us-east-1";
    const json_t *rec = json_object_get(ev, "Record");
    if (jstr(rec, "awsRegion")) region = jstr(rec, "awsRegion");
    char id[TASKS_ID_LEN + 1] = "0x", now[21];
    uint8_t r[32];
    crypto_random(r, sizeof r);
    hex_encode_to(id + 2, r, sizeof r);
    time_format_iso8601(time_now(), now);
    cl_buf url = CL_BUF_INIT;
    buf_append_cstr(&url, "s3://");
    buf_append_cstr(&url, bucket);
    buf_append_cstr(&url, "/");
    url_encode_aws(&url, slice_cstr(key), true);
    char iname[67] = "0x";
    crypto_sha256_hex(buf_slice(&url), iname + 2);
    const char *slash = strrchr(key, '/');
    char *prefix = slash ? cl_strndup(key, (size_t)(slash - key + 1)) : cl_strdup("");
    char *arn = cl_sprintf("arn:aws:cloister:%s:%s:task/%s", region, account, id);
    char *requester = cl_sprintf("arn:aws:iam::%s:root", account);
    json_t *doc = json_pack(
        "{s:s, s:s, s:s, s:O, s:O, s:O, s:O, s:s, s:s, s:b, s:[], s:{}, s:[{s:s, s:s}], s:i, "
        "s:i, s:b, s:{s:s, s:s}, s:{s:[O]}, s:s, s:s, s:[{s:s, s:s, s:s}], s:s, s:s}",
        "TaskId", id, "Arn", arn, "Account", account, "App", json_object_get(app, "Arn"), "AppName",
        json_object_get(app, "Name"), "AppAddress", json_object_get(app, "Address"), "Measurement",
        json_object_get(app, "Measurement"), "Requester", requester, "RequesterId", account,
        "Debug", false, "Args", "Secrets", "Inputs", "Url", buf_cstr(&url), "Name", iname,
        "Priority", 5, "Attempt", 0, "LocalOnly", true, "Output", "Bucket", bucket, "Prefix",
        prefix, "Event", "Records", rec, "Trigger",
        jstr(json_object_get(ev, "Target"), "Id") ? jstr(json_object_get(ev, "Target"), "Id") : "",
        "State", "queued", "States", "State", "queued", "Time", now, "Note", "an S3 event",
        "Created", now, "Updated", now);
    buf_free(&url);
    free(prefix);
    free(arn);
    free(requester);
    json_decref(app);
    apply_options(st, ev, account, doc);
    return doc;
}

static cl_err one_txn(store *st, void *arg) {
    one_ctx *c = arg;
    char *text = NULL;
    cl_err e = store_get(st, EVENT_KIND, "", c->name, &text);
    if (e == CL_ERR_NOT_FOUND) return CL_OK; /* another dispatcher took it */
    CL_TRY(e);
    json_t *ev = json_loads(text, 0, NULL);
    free(text);
    const json_t *target = json_object_get(ev, "Target");
    const char *type = jstr(target, "Type"), *tarn = jstr(target, "Arn");
    char account[13], name[65];
    if (type && strcmp(type, "lambda") == 0 && lambda_arn(tarn, account, name)) {
        const char *origin = jstr(ev, "Origin");
        char *app_arn = NULL;
        json_t *doc = NULL;
        json_t *app = app_doc(st, account, name);
        if (app) app_arn = cl_strdup(jstr(app, "Arn") ? jstr(app, "Arn") : "");
        json_decref(app);
        if (origin && app_arn && strcmp(origin, app_arn) == 0) {
            log_info("dispatch: %s was published by %s itself: not triggering it again",
                     jstr(ev, "Key"), app_arn);
        } else if ((doc = event_task(st, ev, account, name)) != NULL) {
            e = queue_add_txn(st, doc);
            c->made = e == CL_OK;
            if (c->made)
                log_info("dispatch: s3://%s/%s -> task %s of %s", jstr(ev, "Bucket"),
                         jstr(ev, "Key"), jstr(doc, "TaskId"), tarn);
        } else {
            log_warn("dispatch: the target %s of an event on s3://%s/%s no longer exists", tarn,
                     jstr(ev, "Bucket"), jstr(ev, "Key"));
        }
        free(app_arn);
        json_decref(doc);
    } else if (type && strcmp(type, "queue") == 0 && tarn) {
        char *body = json_dumps(json_pack("{s:[O]}", "Records", json_object_get(ev, "Record")),
                                JSON_COMPACT);
        e = store_insert(st, QUEUE_MSG_KIND, tarn, c->name, body ? body : "{}");
        free(body);
    }
    json_decref(ev);
    if (e == CL_OK) e = store_delete(st, EVENT_KIND, "", c->name);
    return e;
}

typedef struct {
    json_t *names;
} scan_ctx;

static bool collect(void *arg, const char *name, const char *doc) {
    (void)doc;
    json_array_append_new(((scan_ctx *)arg)->names, json_string(name));
    return true;
}

size_t dispatch_events(tasks *t) {
    scan_ctx s = {json_array()};
    (void)store_list(t->st, EVENT_KIND, "", NULL, NULL, 64, collect, &s, NULL);
    size_t i, made = 0, n = json_array_size(s.names);
    json_t *v;
    json_array_foreach(s.names, i, v) {
        one_ctx c = {t, json_string_value(v), false};
        if (store_txn(t->st, one_txn, &c) != CL_OK)
            log_error("dispatch: cannot turn event %s into a task", c.name);
        if (c.made) made++;
    }
    json_decref(s.names);
    if (made) queue_notify(t);
    return n;
}
