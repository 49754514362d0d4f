/* por_app.c — the proof of reserves as a Cloister (iExec-style) app
 * (docs/por.md, "As a Cloister app"):
 *
 * `prove-app` runs unattended inside a run's sandbox: the ledger is the run's
 * first input file (IEXEC_IN/IEXEC_INPUT_FILE_NAME_1) unless --ledger names
 * one; the proof goes to IEXEC_OUT with computed.json naming final_proof.json
 * as the deterministic output. private_nonces.json is never written there:
 * everything in /iexec_out is published to whoever may read the output
 * prefix, and the nonces are the operator's secret (with them and the ledger
 * anyone can tell the dummy leaves from the real ones). They are discarded
 * unless --nonces-out names a file outside IEXEC_OUT. stdout gets one line of
 * JSON (the summary, or {"status":"error","error":...} and exit 1; with the
 * S3 event record of a trigger in CLOISTER_EVENT, the summary names the
 * object as "source"); stderr a human line, which the run keeps in the
 * task's logs.
 *
 * `app --out DIR` writes the folder `cloister app deploy` takes: the
 * cloister-por executable found next to the running binary (por_main.c), and
 * manifest.json. */
#include "cli/por_cli.h"
#include "tasks/tasks.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define APP_THREADS_MAX 4
/* The bundle bytes CreateApp accepts (a constant only: nothing of src/tasks is linked). */
#define APP_BUNDLE_MAX TASKS_BUNDLE_MAX
#define APP_MANIFEST                                                                               \
    "{\"timeout_seconds\": 600, \"memory_mb\": 2048, \"public_outputs\": [\"proofs.zip\"]}"

static int app_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int app_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    cl_buf b = CL_BUF_INIT;
    buf_vappendf(&b, fmt, ap);
    va_end(ap);
    por_cli_print_json(json_pack("{s:s, s:s}", "status", "error", "error", buf_cstr(&b)));
    fprintf(stderr, "cloister-por prove-app: %s\n", buf_cstr(&b));
    buf_free(&b);
    return 1;
}

/* The CPUs this process may run on (a sandbox may see fewer than the host has). */
static unsigned visible_cpus(void) {
    cpu_set_t set;
    int n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
    if (n < 1) n = 1;
    return n > APP_THREADS_MAX ? APP_THREADS_MAX : (unsigned)n;
}

/* The first input file of the run, or NULL. malloc'd. */
static char *first_input(void) {
    const char *in = getenv("IEXEC_IN"), *name = getenv("IEXEC_INPUT_FILE_NAME_1");
    const char *count = getenv("IEXEC_INPUT_FILES_NUMBER");
    if (!count || atoi(count) < 1 || !name || !name[0] || strchr(name, '/')) return NULL;
    return cl_sprintf("%s/%s", in && in[0] ? in : "/iexec_in", name);
}

/* Whether path would land in dir or under it (its parent directory resolved;
 * a parent that cannot be resolved counts as inside: refused too). */
static bool inside(const char *path, const char *dir) {
    char *parent = cl_strdup(path), *slash = strrchr(parent, '/');
    if (!slash) {
        free(parent);
        parent = cl_strdup(".");
    } else {
        slash[slash == parent ? 1 : 0] = 0; /* "/x" -> "/", "a/b" -> "a" */
    }
    char rp[PATH_MAX], rd[PATH_MAX];
    bool in = true;
    if (realpath(parent, rp) && realpath(dir, rd)) {
        size_t n = strlen(rd);
        in = strncmp(rp, rd, n) == 0 && (rp[n] == 0 || rp[n] == '/' || n == 1);
    }
    free(parent);
    return in;
}

/* "s3://BUCKET/KEY" of the object a trigger's S3 event record (CLOISTER_EVENT)
 * names, key URL-encoded as in the record; NULL without one. malloc'd. */
static char *event_source(void) {
    const char *text = getenv("CLOISTER_EVENT");
    json_t *ev = text ? json_loads(text, 0, NULL) : NULL;
    json_t *s3 = json_object_get(json_array_get(json_object_get(ev, "Records"), 0), "s3");
    const char *b = json_string_value(json_object_get(json_object_get(s3, "bucket"), "name"));
    const char *k = json_string_value(json_object_get(json_object_get(s3, "object"), "key"));
    char *out = b && k ? cl_sprintf("s3://%s/%s", b, k) : NULL;
    json_decref(ev);
    return out;
}

int por_prove_app(int argc, char **argv) {
    por_prove_options o = {.nonces_path = ""};
    const char *ledger = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *why = NULL;
        por_opt k = por_cli_prove_option(argc, argv, &i, &o, &why);
        if (k == POR_OPT_BAD)
            return app_fail("%s (got %s)", why, i + 1 < argc ? argv[i + 1] : "nothing");
        if (k == POR_OPT_OK) continue;
        if (strcmp(a, "--ledger") == 0 && i + 1 < argc)
            ledger = argv[++i];
        else
            return app_fail("unknown option or missing value: %s (cloister por --help)", a);
    }
    const char *out = getenv("IEXEC_OUT");
    if (!out || !out[0])
        return app_fail("IEXEC_OUT is not set: prove-app runs as an app (cloister run), or "
                        "set IEXEC_OUT to an empty directory");
    char *input = ledger ? cl_strdup(ledger) : first_input();
    if (!input)
        return app_fail("no ledger: give it as the run's first input file (cloister run APP "
                        "--input private_ledger.json, or a trigger's uploaded object) or "
                        "--ledger PATH");
    if (o.nonces_path[0] && inside(o.nonces_path, out)) {
        free(input);
        return app_fail("--nonces-out %s: the nonces must not go into IEXEC_OUT (%s), whose "
                        "files are published, nor into a directory that does not exist",
                        o.nonces_path, out);
    }
    o.ledger_path = input;
    o.out_dir = out;
    if (!o.threads) o.threads = visible_cpus();
    por_prove_result r;
    char err[POR_ERR_LEN];
    cl_err e = por_prove(&o, &r, err);
    por_cleanup();
    free(input);
    if (e != CL_OK) {
        por_prove_result_free(&r);
        return app_fail("%s", err);
    }
    char *computed = cl_sprintf("%s/computed.json", out);
    e = file_write_atomic(computed,
                          slice_cstr("{\"deterministic-output-path\":"
                                     "\"/iexec_out/final_proof.json\"}\n"),
                          0644);
    free(computed);
    if (e != CL_OK) {
        por_prove_result_free(&r);
        return app_fail("cannot write %s/computed.json: %s", out, cl_err_str(e));
    }
    json_t *j = por_cli_prove_summary(&o, &r);
    json_array_append_new(json_object_get(j, "files"), json_string("computed.json"));
    json_object_set_new(j, "nonces", json_string(o.nonces_path[0] ? o.nonces_path : "discarded"));
    char *source = event_source();
    if (source) json_object_set_new(j, "source", json_string(source));
    free(source);
    por_cli_print_json(j);
    fprintf(stderr,
            "cloister-por prove-app: %llu accounts (padded to %llu), root %.16s…, "
            "proof written to %s in %.2f s\n",
            (unsigned long long)r.accounts, (unsigned long long)r.padded, r.root_hash, out,
            r.t_total);
    por_prove_result_free(&r);
    return 0;
}

/* ---- `app --out DIR` ---- */

/* s quoted for a POSIX shell when it needs to be. malloc'd. */
static char *shell_quote(const char *s) {
    if (s[0] &&
        strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./-+:@") ==
            strlen(s))
        return cl_strdup(s);
    cl_buf b = CL_BUF_INIT;
    buf_append_cstr(&b, "'");
    for (const char *p = s; *p; p++)
        buf_append_cstr(&b, *p == '\'' ? "'\\''" : (char[]){*p, 0});
    buf_append_cstr(&b, "'");
    return buf_take_cstr(&b);
}

/* cloister-por beside the running executable. malloc'd, NULL if none. */
static char *sibling_exe(char **self) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return NULL;
    exe[n] = 0;
    *self = cl_strdup(exe);
    char *slash = strrchr(exe, '/');
    return cl_sprintf("%.*s/cloister-por", (int)(slash ? slash - exe : 1), slash ? exe : ".");
}

static int package_fail(const char *msg, const char *arg) {
    fprintf(stderr, "cloister por app: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    return 1;
}

int por_app_package(int argc, char **argv) {
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else {
            fprintf(stderr, "usage: cloister por app --out DIR\n");
            return 2;
        }
    }
    if (!dir) {
        fprintf(stderr, "usage: cloister por app --out DIR\n");
        return 2;
    }
    char *self = NULL, *src = sibling_exe(&self);
    struct stat st;
    cl_buf exe = CL_BUF_INIT;
    int rc = 1;
    if (!src || stat(src, &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr,
                "cloister por app: no cloister-por next to %s: build it (ninja -C BUILD "
                "cloister-por) or install it beside cloister\n",
                self ? self : "this binary");
    } else if ((uint64_t)st.st_size + 8192 > APP_BUNDLE_MAX) {
        fprintf(stderr, "cloister por app: %s is %llu bytes: an app bundle holds at most %u\n", src,
                (unsigned long long)st.st_size, APP_BUNDLE_MAX);
    } else if (file_read_all(src, &exe, APP_BUNDLE_MAX) != CL_OK) {
        package_fail("cannot read", src);
    } else if (dir_ensure(dir, 0755) != CL_OK) {
        package_fail("cannot create", dir);
    } else {
        char *p = cl_sprintf("%s/cloister-por", dir), *m = cl_sprintf("%s/manifest.json", dir);
        if (file_write_atomic(p, buf_slice(&exe), 0755) != CL_OK)
            package_fail("cannot write", p);
        else if (file_write_atomic(m, slice_cstr(APP_MANIFEST "\n"), 0644) != CL_OK)
            package_fail("cannot write", m);
        else
            rc = 0;
        free(p);
        free(m);
    }
    if (rc == 0) {
        char *q = shell_quote(dir);
        printf("cloister app deploy %s --name por --entrypoint \"/app/cloister-por prove-app\" "
               "--manifest \"$(cat %s/manifest.json)\"\n",
               q, q);
        fflush(stdout);
        fprintf(stderr,
                "cloister por app: %s holds the proof-of-reserves app (%zu bytes); "
                "deploy it with the command above\n",
                dir, exe.len);
        free(q);
    }
    buf_free(&exe);
    free(src);
    free(self);
    return rc;
}
