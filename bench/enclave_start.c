/* enclave_start.c — what the sandbox adds to starting a program: p50/p99 wall
 * time of N sandboxed `/bin/true` runs (src/enclave, bubblewrap backend: new
 * namespaces, seccomp program, per-run cgroups with memory/pids/cpu limits,
 * output capture, teardown) next to N plain fork+exec+wait of the same binary
 * in the same process. Figures only: it exits 1 only if a run fails to start
 * or /bin/true does not exit 0 (then it measured nothing).
 *
 * usage: enclave_start [N]   (default 100) */
#include "enclave/enclave.h"

#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, uint64_t *ns, int n) {
    qsort(ns, (size_t)n, sizeof *ns, cmp_u64);
    printf("  %-44s p50 %7.2f ms   p99 %7.2f ms\n", what, ns[n / 2] / 1e6,
           ns[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] / 1e6);
}

static int plain(void) {
    char *argv[] = {"/bin/true", NULL}, *envp[] = {NULL};
    pid_t pid;
    int st;
    if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, envp) != 0) return -1;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) return -1;
    return WEXITSTATUS(st);
}

static int sandboxed(const char *out, bool limits, bool *applied) {
    const char *argv[] = {"/bin/true", NULL};
    enclave_spec s = {.argv = argv, .out_dir = out};
    if (limits)
        s.limits = (enclave_limits){.memory_bytes = 256u << 20, .pids = 64, .cpu_millis = 1000};
    enclave_result r;
    if (enclave_run(&s, &r) != CL_OK) return -1;
    *applied = r.limits_applied;
    int rc = r.exit_code;
    enclave_result_free(&r);
    return rc;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 100;
    if (n < 1) n = 1;
    char dir[] = "/tmp/cl-bench-enclave-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    uint64_t *a = cl_calloc((size_t)n, sizeof *a), *b = cl_calloc((size_t)n, sizeof *b),
             *c = cl_calloc((size_t)n, sizeof *c);
    bool applied = false;
    int bad = 0;
    for (int i = 0; i < n; i++) { /* interleaved so load changes hit all rows alike */
        uint64_t t = time_mono_ns();
        bad |= plain() != 0;
        a[i] = time_mono_ns() - t;
        t = time_mono_ns();
        bad |= sandboxed(dir, false, &applied) != 0;
        b[i] = time_mono_ns() - t;
        t = time_mono_ns();
        bad |= sandboxed(dir, true, &applied) != 0;
        c[i] = time_mono_ns() - t;
    }
    uint64_t pa = 0, pb = 0, pc = 0;
    printf("enclave start, %d runs each of /bin/true:\n", n);
    report("plain fork+exec+wait", a, n);
    pa = a[n / 2];
    report("sandbox (bwrap, seccomp, cgroups)", b, n);
    pb = b[n / 2];
    report(applied ? "sandbox + mem/pids/cpu limits" : "sandbox + limits (NOT applied here)", c, n);
    pc = c[n / 2];
    printf("  added by the sandbox at p50: %.2f ms (with limits: %.2f ms)\n", (pb - pa) / 1e6,
           (pc - pa) / 1e6);
    rmdir(dir);
    free(a);
    free(b);
    free(c);
    if (bad) fprintf(stderr, "enclave_start: a run did not start or /bin/true failed\n");
    return bad;
}
