/* task_cmd.c — the queue's commands: `cloister task list|cancel|retry`,
 * `cloister task logs ID --follow`, and `cloister trigger add|list`, the
 * short form of S3 event notifications bound to an app (docs/tasks.md).
 * `trigger add` reads the bucket's notification configuration, adds one
 * CloudFunctionConfiguration and writes it back with the S3 API (as `aws
 * s3api put-bucket-notification-configuration` would: like AWS, two
 * concurrent writers can overwrite each other), then records the trigger's
 * arguments and secret mapping with Cloister.PutTriggerOptions. */
#include "aws/aws.h"
#include "aws/sigv4.h"
#include "cli/cli.h"
#include "crypto/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *flag(int argc, char **argv, const char *name) {
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) return argv[i + 1];
    return NULL;
}

static bool has(int argc, char **argv, const char *name) {
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0) return true;
    return false;
}

static int task_list(int argc, char **argv, const char *endpoint) {
    json_t *body = json_object();
    const char *st = flag(argc, argv, "--state"), *app = flag(argc, argv, "--app");
    if (st) json_object_set_new(body, "State", json_string(st));
    if (app) json_object_set_new(body, "App", json_string(app));
    json_t *ans = NULL;
    if (!cli_cloister_call(endpoint, "ListTasks", body, &ans)) return 1;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(ans, "Tasks"), i, t) {
        const char *arn = json_string_value(json_object_get(t, "App"));
        const char *slash = arn ? strrchr(arn, '/') : NULL;
        printf("%s  %-9s  %s  attempt %lld  %s\n", json_string_value(json_object_get(t, "TaskId")),
               json_string_value(json_object_get(t, "State")),
               json_string_value(json_object_get(t, "Updated")),
               (long long)json_integer_value(json_object_get(t, "Attempt")),
               slash ? slash + 1 : "");
    }
    json_decref(ans);
    return 0;
}

static int task_change(const char *op, const char *id, const char *endpoint) {
    json_t *ans = NULL;
    if (!cli_cloister_call(endpoint, op, json_pack("{s:s}", "TaskId", id), &ans)) return 1;
    cli_print_json(ans);
    json_decref(ans);
    return 0;
}

/* Follows the task until it ends, then prints what the app printed. */
static int task_follow(const char *id, const char *endpoint) {
    int rc = cli_task_watch(endpoint, id);
    json_t *ans = NULL;
    if (!cli_cloister_call(endpoint, "GetTaskLogs", json_pack("{s:s}", "TaskId", id), &ans))
        return 1;
    fputs(json_string_value(json_object_get(ans, "Stdout")), stdout);
    fputs(json_string_value(json_object_get(ans, "Stderr")), stderr);
    json_decref(ans);
    return rc;
}

/* The interleaved log, each line with its time and stream. */
static int task_log(const char *id, const char *endpoint, bool follow) {
    int rc = follow ? cli_task_watch(endpoint, id) : 0;
    json_t *ans = NULL;
    if (!cli_cloister_call(endpoint, "GetTaskLogs", json_pack("{s:s}", "TaskId", id), &ans))
        return 1;
    fputs(json_string_value(json_object_get(ans, "Log")), stdout);
    json_decref(ans);
    return rc;
}

int cmd_task_more(int argc, char **argv) {
    const char *endpoint = flag(argc, argv, "--endpoint"), *sub = argv[1];
    if (strcmp(sub, "list") == 0) return task_list(argc, argv, endpoint);
    if (argc < 3) {
        fprintf(stderr, "usage: cloister task list|cancel|retry|logs ...\n");
        return 2;
    }
    if (strcmp(sub, "cancel") == 0) return task_change("CancelTask", argv[2], endpoint);
    if (strcmp(sub, "retry") == 0) return task_change("RetryTask", argv[2], endpoint);
    if (strcmp(sub, "logs") == 0 && has(argc, argv, "--timestamps"))
        return task_log(argv[2], endpoint, has(argc, argv, "--follow"));
    if (strcmp(sub, "logs") == 0 && has(argc, argv, "--follow"))
        return task_follow(argv[2], endpoint);
    fprintf(stderr,
            "cloister task: unknown command %s (show, logs [--follow], result, list, "
            "cancel, retry)\n",
            sub);
    return 2;
}

/* ---- trigger ---- */
/* A signed S3 request on BUCKET?notification (path style). */
static bool s3_notification(const char *endpoint, const cli_creds *c, const char *method,
                            const char *bucket, const char *body, http_client_response *out) {
    cl_kvlist h = CL_KVLIST_INIT;
    const char *p = strstr(endpoint, "://");
    p = p ? p + 3 : endpoint;
    char *host = cl_strndup(p, strcspn(p, "/?#"));
    kvlist_add(&h, "host", host);
    if (body) kvlist_add(&h, "content-type", "application/xml");
    cl_buf path = CL_BUF_INIT;
    buf_append_cstr(&path, "/");
    url_encode_aws(&path, slice_cstr(bucket), false);
    char sha[65];
    crypto_sha256_hex(slice_cstr(body ? body : ""), sha);
    kvlist_add(&h, "x-amz-content-sha256", sha);
    sigv4_request r = {method, buf_cstr(&path), "notification", &h, sha, true};
    sigv4_sign(&r, &h, c->access_key, c->secret, c->session_token, c->region, "s3", time(NULL),
               true);
    size_t n = strlen(endpoint);
    char *url = cl_sprintf("%.*s%s?notification", (int)(n && endpoint[n - 1] == '/' ? n - 1 : n),
                           endpoint, buf_cstr(&path));
    cl_err e = http_client_request(method, url, &h, slice_cstr(body ? body : ""),
                                   getenv("AWS_CA_BUNDLE"), out);
    free(url);
    free(host);
    buf_free(&path);
    kvlist_free(&h);
    return e == CL_OK;
}

static void xml_escaped(cl_buf *b, const char *s) {
    for (; *s; s++) {
        if (*s == '&')
            buf_append_cstr(b, "&amp;");
        else if (*s == '<')
            buf_append_cstr(b, "&lt;");
        else if (*s == '>')
            buf_append_cstr(b, "&gt;");
        else
            buf_append(b, s, 1);
    }
}

static void filter_rule(cl_buf *b, const char *name, const char *value) {
    buf_append_cstr(b, "<FilterRule><Name>");
    buf_append_cstr(b, name);
    buf_append_cstr(b, "</Name><Value>");
    xml_escaped(b, value);
    buf_append_cstr(b, "</Value></FilterRule>");
}

/* The configuration with one more CloudFunctionConfiguration. */
static char *config_with(const char *cur, const char *id, const char *arn, const char *prefix,
                         const char *suffix) {
    cl_buf b = CL_BUF_INIT;
    const char *end = cur ? strstr(cur, "</NotificationConfiguration>") : NULL;
    const char *open = cur ? strstr(cur, "<NotificationConfiguration") : NULL;
    const char *gt = open ? strchr(open, '>') : NULL;
    if (end && gt && gt[-1] != '/') {
        buf_append(&b, open, (size_t)(end - open));
    } else {
        buf_append_cstr(&b, "<NotificationConfiguration "
                            "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    }
    buf_append_cstr(&b, "<CloudFunctionConfiguration><Id>");
    xml_escaped(&b, id);
    buf_append_cstr(&b, "</Id><CloudFunction>");
    xml_escaped(&b, arn);
    buf_append_cstr(&b, "</CloudFunction><Event>s3:ObjectCreated:*</Event>");
    if (prefix || suffix) {
        buf_append_cstr(&b, "<Filter><S3Key>");
        if (prefix) filter_rule(&b, "prefix", prefix);
        if (suffix) filter_rule(&b, "suffix", suffix);
        buf_append_cstr(&b, "</S3Key></Filter>");
    }
    buf_append_cstr(&b, "</CloudFunctionConfiguration></NotificationConfiguration>");
    char *s = cl_strdup(buf_cstr(&b));
    buf_free(&b);
    return s;
}

static void s3_error(const char *what, const http_client_response *r) {
    fprintf(stderr, "cloister trigger: %s failed (HTTP %ld): %.*s\n", what, r->status,
            (int)(r->body.len > 600 ? 600 : r->body.len), (const char *)r->body.ptr);
}

typedef struct {
    const char *bucket, *prefix, *suffix, *app, *id, *endpoint;
    json_t *args, *secrets;
} trigger_opts;

static bool parse_trigger(int argc, char **argv, trigger_opts *o) {
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) return false;
        i++;
        if (strcmp(a, "--bucket") == 0)
            o->bucket = v;
        else if (strcmp(a, "--prefix") == 0)
            o->prefix = v;
        else if (strcmp(a, "--suffix") == 0)
            o->suffix = v;
        else if (strcmp(a, "--app") == 0)
            o->app = v;
        else if (strcmp(a, "--id") == 0)
            o->id = v;
        else if (strcmp(a, "--endpoint") == 0)
            o->endpoint = v;
        else if (strcmp(a, "--arg") == 0)
            json_array_append_new(o->args, json_string(v));
        else if (strcmp(a, "--secret") == 0) {
            const char *eq = strchr(v, '=');
            if (!eq || eq == v) return false;
            char *k = cl_strndup(v, (size_t)(eq - v));
            json_object_set_new(o->secrets, k, json_string(eq + 1));
            free(k);
        } else
            return false;
    }
    return o->bucket != NULL;
}

static int trigger_usage(void) {
    fprintf(stderr, "usage: cloister trigger add --bucket B [--prefix P] [--suffix S] --app APP\n"
                    "                            [--id ID] [--arg A]... [--secret K=NAME]...\n"
                    "       cloister trigger list --bucket B\n");
    return 2;
}

/* The app's Lambda-style ARN, from its Cloister ARN (GetApp). */
static char *lambda_arn_of(const char *endpoint, const char *app) {
    json_t *ans = NULL;
    if (!cli_cloister_call(endpoint, "GetApp", json_pack("{s:s}", "Name", app), &ans)) return NULL;
    const char *arn = json_string_value(json_object_get(json_object_get(ans, "App"), "Arn"));
    if (!arn) arn = json_string_value(json_object_get(ans, "Arn"));
    char *out = NULL;
    /* arn:aws:cloister:REGION:ACCOUNT:app/NAME -> arn:aws:lambda:REGION:ACCOUNT:function:NAME */
    const char *rest = arn && strncmp(arn, "arn:aws:cloister:", 17) == 0 ? arn + 17 : NULL;
    const char *app_part = rest ? strstr(rest, ":app/") : NULL;
    if (app_part)
        out = cl_sprintf("arn:aws:lambda:%.*s:function:%s", (int)(app_part - rest), rest,
                         app_part + 5);
    else
        fprintf(stderr, "cloister trigger: cannot read the ARN of app %s\n", app);
    json_decref(ans);
    return out;
}

static int trigger_add(trigger_opts *o, const cli_creds *c) {
    const char *endpoint = cli_endpoint(o->endpoint);
    char *arn = lambda_arn_of(o->endpoint, o->app);
    if (!arn) return 1;
    char idbuf[40];
    if (!o->id) {
        uint8_t r[8];
        crypto_random(r, sizeof r);
        memcpy(idbuf, "trigger-", 8);
        hex_encode_to(idbuf + 8, r, sizeof r);
        o->id = idbuf;
    }
    http_client_response g = {0}, p = {0};
    int rc = 1;
    char *cfg = NULL;
    if (!s3_notification(endpoint, c, "GET", o->bucket, NULL, &g) || g.status != 200) {
        s3_error("GetBucketNotificationConfiguration", &g);
        goto out;
    }
    cfg = config_with(buf_cstr(&g.body), o->id, arn, o->prefix, o->suffix);
    if (!s3_notification(endpoint, c, "PUT", o->bucket, cfg, &p) || p.status != 200) {
        s3_error("PutBucketNotificationConfiguration", &p);
        goto out;
    }
    json_t *ans = NULL;
    if (json_array_size(o->args) || json_object_size(o->secrets)) {
        if (!cli_cloister_call(o->endpoint, "PutTriggerOptions",
                               json_pack("{s:s, s:s, s:O, s:O}", "Bucket", o->bucket, "Id", o->id,
                                         "Args", o->args, "Secrets", o->secrets),
                               &ans))
            goto out;
        json_decref(ans);
    }
    json_t *sum = json_pack("{s:s, s:s, s:s, s:s?, s:s?}", "Bucket", o->bucket, "Id", o->id,
                            "CloudFunction", arn, "Prefix", o->prefix, "Suffix", o->suffix);
    cli_print_json(sum);
    json_decref(sum);
    rc = 0;
out:
    free(cfg);
    free(arn);
    buf_free(&g.body);
    buf_free(&p.body);
    return rc;
}

int cmd_trigger(int argc, char **argv) {
    if (argc < 2) return trigger_usage();
    trigger_opts o = {.args = json_array(), .secrets = json_object()};
    int rc = 2;
    cli_creds c = {0};
    char err[512];
    if (!parse_trigger(argc, argv, &o)) {
        rc = trigger_usage();
        goto out;
    }
    if (cli_creds_load(&c, err, sizeof err) != CL_OK) {
        fprintf(stderr, "cloister: %s\n", err);
        rc = 1;
        goto out;
    }
    if (strcmp(argv[1], "add") == 0 && o.app) {
        rc = trigger_add(&o, &c);
    } else if (strcmp(argv[1], "list") == 0) {
        http_client_response g = {0};
        rc = 1;
        if (s3_notification(cli_endpoint(o.endpoint), &c, "GET", o.bucket, NULL, &g) &&
            g.status == 200) {
            printf("%s\n", buf_cstr(&g.body));
            rc = 0;
        } else {
            s3_error("GetBucketNotificationConfiguration", &g);
        }
        buf_free(&g.body);
    } else {
        rc = trigger_usage();
    }
    cli_creds_free(&c);
out:
    json_decref(o.args);
    json_decref(o.secrets);
    return rc;
}
