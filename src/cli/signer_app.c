/* signer_app.c — the signer as a Cloister app (docs/signer.md, "Keys sealed by
 * KMS"), the seed's operational pieces around the enclave:
 *
 * `cloister signer app --out DIR` writes the folder `cloister app deploy`
 * takes: this cloister executable (the signer is one of its subcommands; the
 * system libraries come read-only from the host's /usr, as for every app) and
 * manifest.json (network access, a state directory kept across runs for the
 * slashing database — /cloister_state — and the longest run a manifest allows).
 *
 * `cloister signer serve --supervise --app NAME [--endpoint URL]
 * [--secret K=NAME ...] -- SERVE ARGS` runs on the host as the seed's
 * watchdog: it starts the app (Cloister RunApp, SERVE ARGS as the run's
 * arguments), watches the task, and when the run ends for any reason (the
 * signer died, the run's maximum duration of 3600 s passed, the node
 * restarted) starts a new one after a backoff (1 s doubling to 60 s, back to
 * 1 s after a run that lasted a minute); every new run unwraps the keys again
 * by KMS Decrypt with Recipient. SIGTERM/SIGINT cancel the current run and exit.
 *
 * `cloister signer status --app NAME [--signer URL]` is the seed's control
 * Lambda, through the Cloister API: the app's running tasks (ListTasks), and
 * with --signer the signer's own /healthcheck (keys loaded, or why not). */
#include "cli/cli.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SIGNER_APP_MANIFEST "{\"network\": true, \"state\": true, \"timeout_seconds\": 3600}"
#define SIGNER_APP_ENTRYPOINT "/app/cloister signer serve --production"
#define BACKOFF_MAX_S 60
#define STABLE_RUN_S 60

/* ---- `signer app --out DIR` ---- */

int cli_signer_app(int argc, char **argv) {
    const char *dir = argc == 3 && strcmp(argv[1], "--out") == 0 ? argv[2] : NULL;
    if (!dir) {
        fprintf(stderr, "usage: cloister signer app --out DIR\n");
        return 2;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    cl_buf bin = CL_BUF_INIT;
    int rc = 1;
    if (n <= 0) {
        fprintf(stderr, "cloister signer app: cannot find this executable\n");
        return 1;
    }
    exe[n] = 0;
    struct stat st;
    if (stat(exe, &st) != 0 || (uint64_t)st.st_size + 8192 > TASKS_BUNDLE_MAX) {
        fprintf(stderr,
                "cloister signer app: %s is %llu bytes: an app bundle holds at most %u (build "
                "without sanitizers, or strip it)\n",
                exe, (unsigned long long)st.st_size, TASKS_BUNDLE_MAX);
        return 1;
    }
    char *p = cl_sprintf("%s/cloister", dir), *m = cl_sprintf("%s/manifest.json", dir);
    if (file_read_all(exe, &bin, TASKS_BUNDLE_MAX) != CL_OK || dir_ensure(dir, 0755) != CL_OK ||
        file_write_atomic(p, buf_slice(&bin), 0755) != CL_OK ||
        file_write_atomic(m, slice_cstr(SIGNER_APP_MANIFEST "\n"), 0644) != CL_OK) {
        fprintf(stderr, "cloister signer app: cannot write %s\n", dir);
    } else {
        printf("cloister app deploy %s --name signer --entrypoint \"%s\" --manifest \"$(cat "
               "%s/manifest.json)\"\n",
               dir, SIGNER_APP_ENTRYPOINT, dir);
        fprintf(stderr,
                "cloister signer app: %s holds the signer app (%zu bytes); deploy it with the "
                "command above, then run it with `cloister signer serve --supervise`\n",
                dir, bin.len);
        rc = 0;
    }
    free(p);
    free(m);
    buf_free(&bin);
    return rc;
}

/* ---- `signer serve --supervise` ---- */

static volatile sig_atomic_t stop_flag;
static void on_stop(int sig) {
    (void)sig;
    stop_flag = 1;
}

typedef struct {
    const char *app, *endpoint;
    json_t *secrets, *args;
} sup_opts;

static int sup_usage(void) {
    fprintf(stderr, "usage: cloister signer serve --supervise --app NAME [--endpoint URL]\n"
                    "         [--secret K=NAME [K=NAME...]] -- SERVE ARGS\n"
                    "  runs the signer app as a Cloister run and restarts it when it ends\n");
    return 2;
}

static bool sup_parse(int argc, char **argv, sup_opts *o) {
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--supervise") == 0) continue;
        if (strcmp(a, "--app") == 0 && i + 1 < argc) {
            o->app = argv[++i];
        } else if (strcmp(a, "--endpoint") == 0 && i + 1 < argc) {
            o->endpoint = argv[++i];
        } else if (strcmp(a, "--secret") == 0) {
            for (; i + 1 < argc && strchr(argv[i + 1], '=') && argv[i + 1][0] != '-'; i++) {
                const char *kv = argv[i + 1], *eq = strchr(kv, '=');
                char *k = cl_strndup(kv, (size_t)(eq - kv));
                json_object_set_new(o->secrets, k, json_string(eq + 1));
                free(k);
            }
        } else {
            return false;
        }
    }
    for (i++; i < argc; i++)
        json_array_append_new(o->args, json_string(argv[i]));
    return o->app != NULL;
}

/* Starts a run; its TaskId (malloc'd) or NULL. */
static char *sup_start(const sup_opts *o) {
    json_t *ans = NULL;
    json_t *body =
        json_pack("{s:s, s:O, s:O}", "Name", o->app, "Secrets", o->secrets, "Args", o->args);
    if (!cli_cloister_call(o->endpoint, "RunApp", body, &ans)) return NULL;
    const char *id = json_string_value(json_object_get(ans, "TaskId"));
    char *out = id ? cl_strdup(id) : NULL;
    json_decref(ans);
    return out;
}

/* The task's state (malloc'd) and, when it ended, its error; NULL if unreachable. */
static char *sup_state(const sup_opts *o, const char *id, char **error) {
    json_t *ans = NULL;
    *error = NULL;
    if (!cli_cloister_call(o->endpoint, "GetTask", json_pack("{s:s}", "TaskId", id), &ans))
        return NULL;
    json_t *t = json_object_get(ans, "Task");
    const char *st = json_string_value(json_object_get(t, "State"));
    const char *err = json_string_value(json_object_get(t, "Error"));
    char *out = st ? cl_strdup(st) : NULL;
    if (err) *error = cl_strdup(err);
    json_decref(ans);
    return out;
}

static bool ended(const char *state) {
    return strcmp(state, "done") == 0 || strcmp(state, "failed") == 0 ||
           strcmp(state, "cancelled") == 0;
}

static void sup_cancel(const sup_opts *o, const char *id) {
    json_t *ans = NULL;
    if (cli_cloister_call(o->endpoint, "CancelTask", json_pack("{s:s}", "TaskId", id), &ans))
        fprintf(stderr, "cloister signer supervise: cancelled task %s\n", id);
    json_decref(ans);
}

/* Sleeps s seconds unless asked to stop. */
static void nap(unsigned s) {
    for (unsigned i = 0; i < s * 10 && !stop_flag; i++)
        usleep(100 * 1000);
}

/* Watches one run until it ends (or we are stopped: then cancels it). */
static void sup_watch(const sup_opts *o, const char *id) {
    while (!stop_flag) {
        char *error = NULL, *state = sup_state(o, id, &error);
        bool over = state && ended(state);
        if (over)
            fprintf(stderr, "cloister signer supervise: task %s ended: %s%s%s\n", id, state,
                    error ? ": " : "", error ? error : "");
        free(state);
        free(error);
        if (over) return;
        nap(1);
    }
    sup_cancel(o, id);
}

int cli_signer_supervise(int argc, char **argv) {
    sup_opts o = {.secrets = json_object(), .args = json_array()};
    if (!sup_parse(argc, argv, &o)) {
        json_decref(o.secrets);
        json_decref(o.args);
        return sup_usage();
    }
    struct sigaction sa = {.sa_handler = on_stop};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    unsigned backoff = 1, runs = 0;
    while (!stop_flag) {
        time_t t0 = time(NULL);
        char *id = sup_start(&o);
        if (id) {
            runs++;
            printf("{\"App\": \"%s\", \"TaskId\": \"%s\", \"Run\": %u}\n", o.app, id, runs);
            fflush(stdout);
            fprintf(stderr, "cloister signer supervise: started %s as task %s (run %u)\n", o.app,
                    id, runs);
            sup_watch(&o, id);
            free(id);
        }
        if (stop_flag) break;
        if (time(NULL) - t0 >= STABLE_RUN_S) backoff = 1;
        fprintf(stderr, "cloister signer supervise: restarting %s in %u s\n", o.app, backoff);
        nap(backoff);
        backoff = backoff * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : backoff * 2;
    }
    json_decref(o.secrets);
    json_decref(o.args);
    return 0;
}

/* ---- `signer status --app NAME [--signer URL]` ---- */

static json_t *healthcheck(const char *url) {
    char *u = cl_sprintf("%s/healthcheck", url);
    http_client_response r = {0};
    cl_kvlist h = CL_KVLIST_INIT;
    cl_err e = http_client_request("GET", u, &h, slice_cstr(""), getenv("AWS_CA_BUNDLE"), &r);
    json_t *j = e == CL_OK ? json_loadb((const char *)r.body.ptr, r.body.len, 0, NULL) : NULL;
    if (!j) j = json_pack("{s:s}", "status", e == CL_OK ? "unreadable" : "unreachable");
    json_object_set_new(j, "http_status", json_integer(r.status));
    buf_free(&r.body);
    kvlist_free(&h);
    free(u);
    return j;
}

int cli_signer_status(int argc, char **argv) {
    const char *app = NULL, *endpoint = NULL, *signer = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--app") == 0)
            app = argv[i + 1];
        else if (strcmp(argv[i], "--endpoint") == 0)
            endpoint = argv[i + 1];
        else if (strcmp(argv[i], "--signer") == 0)
            signer = argv[i + 1];
        else
            app = NULL, i = argc;
    }
    if (!app || argc % 2 == 0) {
        fprintf(stderr, "usage: cloister signer status --app NAME [--endpoint URL] "
                        "[--signer URL]\n");
        return 2;
    }
    json_t *ans = NULL;
    if (!cli_cloister_call(endpoint, "ListTasks",
                           json_pack("{s:s, s:s}", "App", app, "State", "running"), &ans))
        return 1;
    json_t *out = json_pack("{s:s, s:O}", "App", app, "Running", json_object_get(ans, "Tasks"));
    if (signer) json_object_set_new(out, "Health", healthcheck(signer));
    cli_print_json(out);
    json_decref(out);
    json_decref(ans);
    return 0;
}
