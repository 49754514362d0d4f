/* run_cmd.c — `cloister run APP ...` and `cloister task show|logs|result ID`:
 * the client side of the task operations (docs/runs.md). Inputs given as
 * local files are read here; inputs given as s3://BUCKET/KEY are downloaded
 * here with the caller's own credentials (so the caller's S3 permissions
 * decide), then sent with the request. --watch polls GetTask and prints each
 * state as it is reached. Secret values never pass through this command:
 * --secret maps names already pushed to the secret service. */
#include "cli/cli.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int run_usage(FILE *f, int rc) {
    fprintf(
        f, "usage: cloister run APP [--secret K=NAME [K=NAME...]]... [--input FILE|s3://B/KEY]...\n"
           "                    [--arg ARG]... [--debug] [--watch] [--endpoint URL]\n"
           "  APP       an app name (your account) or app ARN\n"
           "  --secret  maps your secret NAME to IEXEC_REQUESTER_SECRET_K (1..64)\n"
           "  --input   a file given to the app in IEXEC_IN (named 0x + SHA-256 of its URL)\n"
           "  --arg     an argument for the app (after its entrypoint)\n"
           "  --debug   a debug run: it sees debug secrets only\n"
           "  --watch   wait, printing each state (queued, leased, running, uploading,\n"
           "            done/failed); exit 1 if the run failed\n"
           "       cloister task show ID | logs ID | result ID [--out DIR]\n"
           "  result    writes the result files and receipt.json into DIR (default ./ID)\n");
    return rc;
}

/* Calls Cloister.<op>; on success *out gets the answer. Prints errors. */
static bool call(const char *endpoint, const char *op, json_t *body, json_t **out) {
    *out = NULL;
    cli_creds c;
    char err[512];
    if (cli_creds_load(&c, err, sizeof err) != CL_OK) {
        fprintf(stderr, "cloister: %s\n", err);
        json_decref(body);
        return false;
    }
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    char *target = cl_sprintf("Cloister.%s", op);
    http_client_response r = {0};
    cl_err e = cli_call_json(cli_endpoint(endpoint), &c, target, text, &r);
    free(target);
    free(text);
    cli_creds_free(&c);
    json_t *j = e == CL_OK ? json_loadb((const char *)r.body.ptr, r.body.len, 0, NULL) : NULL;
    if (e != CL_OK) {
        fprintf(stderr, "cloister: cannot reach %s\n", cli_endpoint(endpoint));
    } else if (r.status != 200 || !json_is_object(j)) {
        const char *code = json_string_value(json_object_get(j, "__type"));
        const char *msg = json_string_value(json_object_get(j, "message"));
        fprintf(stderr, "cloister: %s failed (HTTP %ld): %s: %s\n", op, r.status,
                code ? code : "error", msg ? msg : "");
    } else {
        *out = j;
        j = NULL;
    }
    json_decref(j);
    buf_free(&r.body);
    return *out != NULL;
}

static void print_json(const json_t *j) {
    char *s = json_dumps(j, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
    printf("%s\n", s);
    free(s);
    fflush(stdout);
}

/* ---- inputs ---- */
static bool load_s3(const char *endpoint, const char *url, cl_buf *out) {
    const char *b = url + 5, *slash = strchr(b, '/');
    if (!slash || slash == b || !slash[1]) {
        fprintf(stderr, "cloister: --input %s: expected s3://BUCKET/KEY\n", url);
        return false;
    }
    char *bucket = cl_strndup(b, (size_t)(slash - b));
    cli_creds c;
    char err[512];
    bool ok = false;
    if (cli_creds_load(&c, err, sizeof err) != CL_OK) {
        fprintf(stderr, "cloister: %s\n", err);
        free(bucket);
        return false;
    }
    http_client_response r = {0};
    if (cli_s3_get(cli_endpoint(endpoint), &c, bucket, slash + 1, &r) != CL_OK)
        fprintf(stderr, "cloister: cannot reach %s\n", cli_endpoint(endpoint));
    else if (r.status != 200)
        fprintf(stderr, "cloister: --input %s: GetObject answered HTTP %ld\n", url, r.status);
    else {
        buf_append_slice(out, buf_slice(&r.body));
        ok = true;
    }
    buf_free(&r.body);
    cli_creds_free(&c);
    free(bucket);
    return ok;
}

static bool add_input(const char *endpoint, const char *arg, json_t *inputs) {
    cl_buf bytes = CL_BUF_INIT, b64 = CL_BUF_INIT;
    bool ok;
    if (strncmp(arg, "s3://", 5) == 0) {
        ok = load_s3(endpoint, arg, &bytes);
    } else {
        ok = file_read_all(arg, &bytes, TASKS_INPUT_MAX) == CL_OK;
        if (!ok) fprintf(stderr, "cloister: --input %s: cannot read it (at most 4 MiB)\n", arg);
    }
    if (ok) {
        base64_encode(&b64, buf_slice(&bytes));
        json_array_append_new(inputs,
                              json_pack("{s:s, s:s}", "Url", arg, "Content", buf_cstr(&b64)));
    }
    buf_free(&bytes);
    buf_free(&b64);
    return ok;
}

/* "K=NAME" with K a number. */
static bool is_mapping(const char *s) {
    const char *eq = strchr(s, '=');
    if (!eq || eq == s || !eq[1]) return false;
    for (const char *p = s; p < eq; p++)
        if (!isdigit((unsigned char)*p)) return false;
    return true;
}

typedef struct {
    const char *app, *endpoint;
    bool watch, debug;
    json_t *secrets, *inputs, *args;
} run_opts;

static bool parse_run(int argc, char **argv, run_opts *o) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--watch") == 0)
            o->watch = true;
        else if (strcmp(a, "--debug") == 0)
            o->debug = true;
        else if (strcmp(a, "--secret") == 0) {
            if (!v || !is_mapping(v)) {
                fprintf(stderr, "cloister: --secret takes K=NAME (e.g. 1=x1)\n");
                return false;
            }
            while (i + 1 < argc && is_mapping(argv[i + 1])) {
                const char *m = argv[++i], *eq = strchr(m, '=');
                char *k = cl_strndup(m, (size_t)(eq - m));
                json_object_set_new(o->secrets, k, json_string(eq + 1));
                free(k);
            }
        } else if (strcmp(a, "--input") == 0 && v) {
            if (!add_input(o->endpoint, v, o->inputs)) return false;
            i++;
        } else if (strcmp(a, "--arg") == 0 && v) {
            json_array_append_new(o->args, json_string(v));
            i++;
        } else if (strcmp(a, "--endpoint") == 0 && v) {
            i++;
        } else if (a[0] != '-' && !o->app) {
            o->app = a;
        } else {
            fprintf(stderr, "cloister: run: unknown or incomplete option %s\n", a);
            return false;
        }
    }
    return o->app != NULL;
}

static const char *endpoint_flag(int argc, char **argv) {
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--endpoint") == 0) return argv[i + 1];
    return NULL;
}

static int watch(const char *endpoint, const char *id) {
    size_t shown = 0;
    for (;;) {
        json_t *t = NULL;
        if (!call(endpoint, "GetTask", json_pack("{s:s}", "TaskId", id), &t)) return 1;
        json_t *task = json_object_get(t, "Task"), *h = json_object_get(task, "States");
        for (; shown < json_array_size(h); shown++) {
            json_t *s = json_array_get(h, shown);
            printf("%s  %s\n", json_string_value(json_object_get(s, "Time")),
                   json_string_value(json_object_get(s, "State")));
            fflush(stdout);
        }
        const char *state = json_string_value(json_object_get(task, "State"));
        if (state && (strcmp(state, "done") == 0 || strcmp(state, "failed") == 0 ||
                      strcmp(state, "cancelled") == 0)) {
            json_t *sum = json_pack("{s:s, s:s}", "TaskId", id, "State", state);
            const char *keys[] = {"App", "Measurement", "ResultDigest", "ExitCode", "Error"};
            for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
                if (json_object_get(task, keys[i]))
                    json_object_set(sum, keys[i], json_object_get(task, keys[i]));
            print_json(sum);
            json_decref(sum);
            int rc = strcmp(state, "done") == 0 ? 0 : 1;
            if (rc)
                fprintf(stderr, "cloister: task %s failed: %s\n", id,
                        json_string_value(json_object_get(task, "Error")));
            json_decref(t);
            return rc;
        }
        json_decref(t);
        usleep(100 * 1000);
    }
}

int cmd_run(int argc, char **argv) {
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
        return run_usage(stdout, 0);
    run_opts o = {.endpoint = endpoint_flag(argc, argv),
                  .secrets = json_object(),
                  .inputs = json_array(),
                  .args = json_array()};
    int rc = 2;
    if (!parse_run(argc, argv, &o)) {
        run_usage(stderr, 2);
        goto out;
    }
    json_t *body = json_pack("{s:s, s:O, s:O, s:O, s:b}", "Name", o.app, "Secrets", o.secrets,
                             "Inputs", o.inputs, "Args", o.args, "Debug", o.debug);
    json_t *ans = NULL;
    rc = 1;
    if (!call(o.endpoint, "RunApp", body, &ans)) goto out;
    const char *id = json_string_value(json_object_get(ans, "TaskId"));
    if (o.watch) {
        printf("task %s\n", id);
        rc = watch(o.endpoint, id);
    } else {
        print_json(ans);
        rc = 0;
    }
    json_decref(ans);
out:
    json_decref(o.secrets);
    json_decref(o.inputs);
    json_decref(o.args);
    return rc;
}

/* ---- cloister task ---- */
static int task_result(const char *endpoint, const char *id, const char *dir) {
    json_t *ans = NULL;
    if (!call(endpoint, "GetTaskResult", json_pack("{s:s}", "TaskId", id), &ans)) return 1;
    cl_buf tar = CL_BUF_INIT;
    char err[256] = "";
    int rc = 1;
    const char *out = json_string_value(json_object_get(ans, "Output"));
    const char *receipt = json_string_value(json_object_get(ans, "Receipt"));
    char *rpath = cl_sprintf("%s/receipt.json", dir);
    if (!out || !receipt || base64_decode(&tar, slice_cstr(out)) != CL_OK)
        fprintf(stderr, "cloister: the server's answer has no result\n");
    else if (mkdir(dir, 0755) != 0)
        fprintf(stderr, "cloister: cannot create %s (it must not exist yet)\n", dir);
    else if (tasks_bundle_unpack(buf_slice(&tar), dir, err, sizeof err) != CL_OK)
        fprintf(stderr, "cloister: cannot unpack the result: %s\n", err);
    else if (file_write_atomic(rpath, slice_cstr(receipt), 0644) != CL_OK)
        fprintf(stderr, "cloister: cannot write %s\n", rpath);
    else {
        json_t *sum = json_pack("{s:s, s:O, s:O, s:s, s:s}", "TaskId", id, "ResultDigest",
                                json_object_get(ans, "ResultDigest"), "DeterministicOutputPath",
                                json_object_get(ans, "DeterministicOutputPath"), "Dir", dir,
                                "Receipt", rpath);
        print_json(sum);
        json_decref(sum);
        rc = 0;
    }
    free(rpath);
    buf_free(&tar);
    json_decref(ans);
    return rc;
}

int cmd_task(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "list") == 0) return cmd_task_more(argc, argv);
    if (argc < 3)
        return run_usage(argc == 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr,
                         argc == 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2);
    const char *sub = argv[1], *id = argv[2], *endpoint = endpoint_flag(argc, argv), *dir = id;
    for (int i = 3; i + 1 < argc; i++)
        if (strcmp(argv[i], "--out") == 0) dir = argv[i + 1];
    json_t *ans = NULL;
    bool log_opts = false;
    for (int i = 3; i < argc; i++)
        log_opts |= strcmp(argv[i], "--follow") == 0 || strcmp(argv[i], "--timestamps") == 0;
    if (strcmp(sub, "list") == 0 || (strcmp(sub, "logs") == 0 && log_opts))
        return cmd_task_more(argc, argv);
    if (strcmp(sub, "show") == 0) {
        if (!call(endpoint, "GetTask", json_pack("{s:s}", "TaskId", id), &ans)) return 1;
        print_json(json_object_get(ans, "Task"));
    } else if (strcmp(sub, "logs") == 0) {
        if (!call(endpoint, "GetTaskLogs", json_pack("{s:s}", "TaskId", id), &ans)) return 1;
        fputs(json_string_value(json_object_get(ans, "Stdout")), stdout);
        fputs(json_string_value(json_object_get(ans, "Stderr")), stderr);
    } else if (strcmp(sub, "result") == 0) {
        return task_result(endpoint, id, dir);
    } else {
        return cmd_task_more(argc, argv); /* task_cmd.c: list, cancel, retry, logs --follow */
    }
    json_decref(ans);
    return 0;
}

/* ---- shared with the other task commands (task_cmd.c) ---- */
bool cli_cloister_call(const char *endpoint, const char *op, json_t *body, json_t **out) {
    return call(endpoint, op, body, out);
}

void cli_print_json(const json_t *j) {
    print_json(j);
}

int cli_task_watch(const char *endpoint, const char *id) {
    return watch(endpoint, id);
}
