/* request_cmd.c — `cloister request submit`: a task asked for from outside
 * the node (docs/tasks.md "Requests from outside"). Unlike `cloister run`,
 * nothing is downloaded here: inputs are URLs (s3://BUCKET/KEY, presigned
 * https:// URLs, path-style endpoint URLs) that the worker fetches with its
 * own credentials, so the bucket and key policies decide who can run it.
 * --watch is `cloister run --watch` (cli_task_watch). */
#include "cli/cli.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int request_usage(FILE *f, int rc) {
    fprintf(f, "usage: cloister request submit --app APP --input URL [--input URL]...\n"
               "                [--arg A]... [--secret K=NAME]... [--require-role ARN]\n"
               "                [--output s3://BUCKET/PREFIX/] [--priority 0..9] [--watch]\n"
               "                [--endpoint URL]\n"
               "  --app       an app name (your account) or app ARN (--program is a synonym)\n"
               "  --input     s3://BUCKET/KEY, a presigned https:// URL or a path-style\n"
               "              endpoint URL: the worker downloads it with its own credentials\n"
               "  --secret    maps your secret NAME to IEXEC_REQUESTER_SECRET_K (such tasks\n"
               "              run on the node's own workers only)\n"
               "  --require-role  only workers holding this role (a session of it) lease it\n"
               "  --output    where the outputs go (default: beside the first input)\n"
               "  --watch     wait, printing each state; exit 1 if the task failed\n");
    return rc;
}

/* "K=NAME" with K a number. */
static bool secret_mapping(const char *s, json_t *secrets) {
    const char *eq = strchr(s, '=');
    if (!eq || eq == s || !eq[1]) return false;
    for (const char *p = s; p < eq; p++)
        if (!isdigit((unsigned char)*p)) return false;
    char *k = cl_strndup(s, (size_t)(eq - s));
    json_object_set_new(secrets, k, json_string(eq + 1));
    free(k);
    return true;
}

/* Parses `submit`'s options into body; false (after a message) on a bad one. */
static bool parse_submit(int argc, char **argv, json_t *body, const char **endpoint, bool *watch) {
    json_t *inputs = json_object_get(body, "Inputs"), *args = json_object_get(body, "Args");
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--watch") == 0) {
            *watch = true;
            continue;
        }
        if (!v) {
            fprintf(stderr, "cloister: request submit: %s needs a value\n", a);
            return false;
        }
        i++;
        if (strcmp(a, "--app") == 0 || strcmp(a, "--program") == 0)
            json_object_set_new(body, "App", json_string(v));
        else if (strcmp(a, "--input") == 0)
            json_array_append_new(inputs, json_pack("{s:s}", "Url", v));
        else if (strcmp(a, "--arg") == 0)
            json_array_append_new(args, json_string(v));
        else if (strcmp(a, "--secret") == 0) {
            if (!secret_mapping(v, json_object_get(body, "Secrets"))) {
                fprintf(stderr, "cloister: --secret takes K=NAME (e.g. 1=x1)\n");
                return false;
            }
        } else if (strcmp(a, "--require-role") == 0)
            json_object_set_new(body, "RequireRole", json_string(v));
        else if (strcmp(a, "--output") == 0)
            json_object_set_new(body, "Output", json_string(v));
        else if (strcmp(a, "--priority") == 0 && strlen(v) == 1 && isdigit((unsigned char)*v))
            json_object_set_new(body, "Priority", json_integer(*v - '0'));
        else if (strcmp(a, "--endpoint") == 0)
            *endpoint = v;
        else {
            fprintf(stderr, "cloister: request submit: unknown or invalid option %s %s\n", a, v);
            return false;
        }
    }
    if (!json_object_get(body, "App") || json_array_size(inputs) == 0) {
        fprintf(stderr, "cloister: request submit needs --app APP and at least one --input URL\n");
        return false;
    }
    return true;
}

int cmd_request(int argc, char **argv) {
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
        return request_usage(stdout, 0);
    if (argc < 2 || strcmp(argv[1], "submit") != 0) return request_usage(stderr, 2);
    json_t *body = json_pack("{s:[], s:[], s:{}}", "Inputs", "Args", "Secrets");
    const char *endpoint = NULL;
    bool watch = false;
    if (!parse_submit(argc, argv, body, &endpoint, &watch)) {
        json_decref(body);
        return request_usage(stderr, 2);
    }
    json_t *ans = NULL;
    if (!cli_cloister_call(endpoint, "SubmitRequest", body, &ans)) return 1;
    int rc = 0;
    const char *id = json_string_value(json_object_get(ans, "TaskId"));
    if (watch && id) {
        printf("task %s\n", id);
        fflush(stdout);
        rc = cli_task_watch(endpoint, id);
    } else {
        cli_print_json(ans);
    }
    json_decref(ans);
    return rc;
}
