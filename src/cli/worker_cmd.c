/* worker_cmd.c — `cloister worker`: a remote worker. It runs anywhere that
 * reaches the node, leases the tasks its principal may run, fetches their
 * inputs with its own (or its role's) credentials, runs them in this host's
 * sandbox and reports the outcome (docs/tasks.md "Remote workers"). The loop
 * is the one local workers run (tasks_worker_loop); the calls to the node are
 * in worker_ops.c. Configuration is checked before anything else: a missing
 * or empty variable is named at start, never met as an obscure failure deep in
 * a request (the seed's first troubleshooting row). */
#include "cli/cli.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile int worker_stop;

static void on_signal(int sig) {
    (void)sig;
    if (worker_stop) _exit(130); /* a second signal: stop now */
    worker_stop = 1;
}

static int worker_usage(FILE *f, int rc) {
    fprintf(
        f,
        "usage: cloister worker [--endpoint URL] [--work-dir DIR] [--once] [--max-tasks N]\n"
        "                       [--allow-app-network] [--wait-seconds N] [--heartbeat-seconds N]\n"
        "  --endpoint    the node (else CLOISTER_ENDPOINT; no default)\n"
        "  --work-dir    scratch directories of runs (default ./cloister-worker)\n"
        "  --once        poll once (one LeaseTask), run what it gives, exit\n"
        "  --max-tasks   exit after running N tasks\n"
        "  --allow-app-network  let apps whose manifest asks for it reach the network\n"
        "  --wait-seconds  LeaseTask long-poll (0..20, default 10)\n"
        "  --heartbeat-seconds  between heartbeats of a running task (default: what the\n"
        "                node says, a third of its --task-lease-seconds)\n"
        "credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN or\n"
        "AWS_PROFILE; region: AWS_REGION, AWS_DEFAULT_REGION or the profile's region;\n"
        "AWS_ROLE_ARN (+ AWS_ROLE_SESSION_NAME): assume that role and use it for all.\n"
        "SIGINT/SIGTERM: stop after the current task (twice: now).\n");
    return rc;
}

typedef struct {
    const char *endpoint, *work_dir;
    bool once, allow_network;
    unsigned max_tasks, wait_s, heartbeat_s;
} worker_opts;

static bool parse_uint(const char *s, unsigned max, unsigned *out) {
    char *end;
    errno = 0;
    unsigned long v = s ? strtoul(s, &end, 10) : 0;
    if (!s || !*s || *end || errno || v > max || *s == '-') return false;
    *out = (unsigned)v;
    return true;
}

static bool parse_worker(int argc, char **argv, worker_opts *o) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--once") == 0)
            o->once = true;
        else if (strcmp(a, "--allow-app-network") == 0)
            o->allow_network = true;
        else if (strcmp(a, "--endpoint") == 0 && v)
            o->endpoint = argv[++i];
        else if (strcmp(a, "--work-dir") == 0 && v && *v)
            o->work_dir = argv[++i];
        else if (strcmp(a, "--max-tasks") == 0 && parse_uint(v, 1000000, &o->max_tasks))
            i++;
        else if (strcmp(a, "--wait-seconds") == 0 && parse_uint(v, 20, &o->wait_s))
            i++;
        else if (strcmp(a, "--heartbeat-seconds") == 0 && parse_uint(v, 3600, &o->heartbeat_s) &&
                 o->heartbeat_s)
            i++;
        else {
            fprintf(stderr, "cloister worker: unknown or invalid option %s\n", a);
            return false;
        }
    }
    return true;
}

/* Checks the configuration and fills w; false after one line naming the
 * problem (the caller exits 2). */
static bool worker_configure(const worker_opts *o, cli_worker *w) {
    char err[768];
    const char *empty = cli_env_empty();
    const char *endpoint = o->endpoint ? o->endpoint : getenv("CLOISTER_ENDPOINT");
    if (empty) {
        fprintf(stderr, "cloister worker: %s is set but empty\n", empty);
        return false;
    }
    if (!endpoint || !*endpoint) {
        fprintf(stderr, "cloister worker: %s\n",
                o->endpoint ? "--endpoint is empty"
                            : "CLOISTER_ENDPOINT is not set (nor --endpoint URL): the node to "
                              "work for, e.g. https://node.example:9000");
        return false;
    }
    if (cli_endpoint_check(endpoint, err, sizeof err) != CL_OK ||
        cli_creds_load_strict(&w->base, err, sizeof err) != CL_OK) {
        fprintf(stderr, "cloister worker: %s\n", err);
        return false;
    }
    size_t n = strlen(endpoint);
    while (n && endpoint[n - 1] == '/')
        n--;
    w->endpoint = cl_strndup(endpoint, n);
    w->role_arn = getenv("AWS_ROLE_ARN");
    w->session = getenv("AWS_ROLE_SESSION_NAME")
                     ? cl_strdup(getenv("AWS_ROLE_SESSION_NAME"))
                     : cl_sprintf("cloister-worker-%ld", (long)getpid());
    cl_err e = cli_worker_start(w, err, sizeof err);
    if (e != CL_OK) {
        fprintf(stderr, "cloister worker: AssumeRole of AWS_ROLE_ARN=%s %s: %s\n", w->role_arn,
                e == CL_ERR_DENIED ? "refused" : "failed", err);
        return false;
    }
    return true;
}

/* The cloister-init beside this binary, else this binary (`__enclave-init`). */
static char *init_path(void) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return NULL;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    char *init = cl_sprintf("%.*s/cloister-init", (int)(slash ? slash - exe : 1), exe);
    if (access(init, X_OK) == 0) return init;
    free(init);
    return cl_strdup(exe);
}

static int worker_run(const worker_opts *o, cli_worker *w) {
    char *init = init_path(), msg[512] = "";
    if (!init || (mkdir(o->work_dir, 0700) != 0 && errno != EEXIST)) {
        fprintf(stderr, "cloister worker: %s\n",
                init ? "cannot create the work directory" : "cannot find this binary");
        free(init);
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* apps' state directories (manifest "state"): beside the work dir, which
     * is cleared at every start */
    char *state = cl_sprintf("%s.state", o->work_dir);
    tasks_worker_config cfg = {.init_path = init,
                               .work_dir = o->work_dir,
                               .state_dir = state,
                               .allow_network = o->allow_network,
                               .heartbeat_s = o->heartbeat_s,
                               .name = "worker"};
    tasks_worker_ops ops;
    cli_worker_ops(w, &ops);
    log_info("worker: working for %s as %s (region %s)", w->endpoint,
             w->role_arn ? w->role_arn : w->base.access_key, w->base.region);
    cl_err e = tasks_worker_loop(&cfg, &ops, &worker_stop, msg, sizeof msg);
    if (e != CL_OK) fprintf(stderr, "cloister worker: %s\n", msg[0] ? msg : cl_err_str(e));
    log_info("worker: stopped");
    free(init);
    free(state);
    return e != CL_OK || (o->once && w->poll_failed) ? 1 : 0;
}

int cmd_worker(int argc, char **argv) {
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
        return worker_usage(stdout, 0);
    worker_opts o = {.work_dir = "cloister-worker", .wait_s = 10, .heartbeat_s = 0};
    if (!parse_worker(argc, argv, &o)) return worker_usage(stderr, 2);
    cli_worker w = {
        .wait_s = o.wait_s, .max_tasks = o.max_tasks, .once = o.once, .stop = &worker_stop};
    int rc = worker_configure(&o, &w) ? worker_run(&o, &w) : 2;
    free(w.endpoint);
    free(w.session);
    cli_worker_free(&w);
    return rc;
}
