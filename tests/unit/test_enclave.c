/* test_enclave.c — the sandbox (src/enclave, bubblewrap backend). Each test
 * runs /bin/sh or Debian's /usr/bin/python3 inside a sandbox and checks one
 * property: exit code and captured output; the environment is only the spec's;
 * /app and /iexec_in read-only, /iexec_out writable and visible on the host; no
 * network (a host listener on 127.0.0.1 is unreachable, reachable with
 * network=true); host dirs, /root and host processes invisible; no
 * capabilities; seccomp denies unshare/mount/ptrace; pids and memory limits
 * enforced and reported; the wall-clock timeout kills the tree and leaves no
 * process; bad specs refused. bwrap missing = failure (scripts/deps.sh
 * installs it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "enclave/enclave.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp[64];
static int seq;

static void write_file(const char *path, const char *s) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(s, f);
    fclose(f);
}

static char *fresh_dir(const char *name) {
    char *p = cl_sprintf("%s/%s-%d", tmp, name, seq++);
    assert_int_equal(mkdir(p, 0755), 0);
    return p;
}

static const char *out_str(enclave_result *r) {
    return buf_cstr(&r->out);
}

/* Runs argv with env and limits; out_dir made fresh; asserts it started. */
static void run(const char *const *argv, const char *const *env, enclave_spec *tmpl,
                enclave_result *r) {
    enclave_spec s = tmpl ? *tmpl : (enclave_spec){0};
    s.argv = argv;
    s.env = env;
    char *out = NULL;
    if (!s.out_dir) s.out_dir = out = fresh_dir("out");
    if (!s.limits.wall_timeout_ms) s.limits.wall_timeout_ms = 10000;
    assert_int_equal(enclave_run(&s, r), CL_OK);
    free(out);
}

static void sh(const char *script, enclave_spec *tmpl, enclave_result *r) {
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    run(argv, NULL, tmpl, r);
}

static void py(const char *code, enclave_spec *tmpl, enclave_result *r) {
    const char *argv[] = {"/usr/bin/python3", "-c", code, NULL};
    run(argv, NULL, tmpl, r);
}

static int setup(void **state) {
    (void)state;
    if (access("/usr/bin/bwrap", X_OK) != 0) {
        fprintf(stderr, "test_enclave: bubblewrap (/usr/bin/bwrap) is not installed; "
                        "run scripts/deps.sh\n");
        return -1;
    }
    strcpy(tmp, "/tmp/cl-enclave-XXXXXX");
    return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    char *cmd = cl_sprintf("rm -rf '%s'", tmp);
    int rc = system(cmd);
    free(cmd);
    return rc == 0 ? 0 : -1;
}

static void test_exit_code_and_output(void **state) {
    (void)state;
    enclave_result r;
    sh("echo hello; echo oops >&2; exit 7", NULL, &r);
    assert_int_equal(r.exit_code, 7);
    assert_int_equal(r.term_signal, 0);
    assert_false(r.timed_out);
    assert_string_equal(out_str(&r), "hello\n");
    assert_string_equal(buf_cstr(&r.err), "oops\n");
    enclave_result_free(&r);
}

static void test_output_bounded(void **state) {
    (void)state;
    enclave_spec s = {.output_max = 1000};
    enclave_result r;
    sh("i=0; while [ $i -lt 500 ]; do echo 0123456789; i=$((i+1)); done; exit 3", &s, &r);
    assert_int_equal(r.exit_code, 3);
    assert_int_equal(r.out.len, 1000);
    assert_true(r.out_truncated);
    enclave_result_free(&r);
}

static void test_env_only_spec(void **state) {
    (void)state;
    setenv("CLOISTER_HOST_LEAK", "leaked", 1);
    const char *argv[] = {"/usr/bin/env", NULL};
    const char *env[] = {"IEXEC_OUT=/iexec_out", "FOO=a b=c", NULL};
    enclave_result r;
    run(argv, env, NULL, &r);
    assert_int_equal(r.exit_code, 0);
    const char *o = out_str(&r);
    assert_non_null(strstr(o, "IEXEC_OUT=/iexec_out\n"));
    assert_non_null(strstr(o, "FOO=a b=c\n"));
    assert_null(strstr(o, "CLOISTER_HOST_LEAK"));
    assert_null(strstr(o, "HOME="));
    assert_null(strstr(o, "PATH="));
    /* exactly the two variables, plus the PWD=/ bwrap sets for the working dir */
    assert_non_null(strstr(o, "PWD=/\n"));
    int lines = 0;
    for (const char *p = o; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 3);
    enclave_result_free(&r);
    unsetenv("CLOISTER_HOST_LEAK");
}

/* Debian's node runs (the seed app is a node program), sees its variables and /app. */
static void test_node_runs(void **state) {
    (void)state;
    if (access("/usr/bin/node", X_OK) != 0) skip();
    const char *argv[] = {"/usr/bin/node", "-e",
                          "console.log(require('os').hostname(), process.env.IEXEC_OUT,"
                          " Object.keys(process.env).length)",
                          NULL};
    const char *env[] = {"IEXEC_OUT=/iexec_out", NULL};
    enclave_result r;
    run(argv, env, NULL, &r);
    assert_int_equal(r.exit_code, 0);
    assert_string_equal(out_str(&r), "enclave /iexec_out 2\n");
    enclave_result_free(&r);
}

static void test_dirs(void **state) {
    (void)state;
    char *app = fresh_dir("app"), *in = fresh_dir("in"), *out = fresh_dir("out");
    char *p = cl_sprintf("%s/app.sh", app);
    write_file(p, "APPCODE\n");
    free(p);
    p = cl_sprintf("%s/input.txt", in);
    write_file(p, "INPUT\n");
    free(p);
    enclave_spec s = {.app_dir = app, .in_dir = in, .out_dir = out};
    enclave_result r;
    sh("cat /app/app.sh /iexec_in/input.txt;"
       "touch /app/x 2>/dev/null && echo APP-WRITABLE;"
       "touch /iexec_in/x 2>/dev/null && echo IN-WRITABLE;"
       "touch /usr/x 2>/dev/null && echo USR-WRITABLE;"
       "touch /x 2>/dev/null && echo ROOT-WRITABLE;"
       "echo result > /iexec_out/result.txt && echo OUT-OK",
       &s, &r);
    assert_int_equal(r.exit_code, 0);
    assert_string_equal(out_str(&r), "APPCODE\nINPUT\nOUT-OK\n");
    cl_buf b = CL_BUF_INIT;
    p = cl_sprintf("%s/result.txt", out);
    assert_int_equal(file_read_all(p, &b, 100), CL_OK);
    assert_string_equal(buf_cstr(&b), "result\n");
    buf_free(&b);
    free(p);
    p = cl_sprintf("%s/x", app);
    assert_int_not_equal(access(p, F_OK), 0);
    free(p);
    enclave_result_free(&r);
    /* out_dir must be fresh: now it holds result.txt */
    const char *argv[] = {"/bin/true", NULL};
    enclave_spec s2 = {.argv = argv, .out_dir = out};
    assert_int_equal(enclave_run(&s2, &r), CL_ERR_INVALID);
    enclave_result_free(&r);
    free(app);
    free(in);
    free(out);
}

/* A listener on 127.0.0.1 in the host's network namespace; returns its port. */
static int host_listener(int *fd) {
    *fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(*fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(*fd, 4), 0);
    socklen_t l = sizeof a;
    assert_int_equal(getsockname(*fd, (struct sockaddr *)&a, &l), 0);
    return ntohs(a.sin_port);
}

static void test_no_network(void **state) {
    (void)state;
    int lfd, port = host_listener(&lfd);
    char *code = cl_sprintf("import socket\n"
                            "s=socket.socket(); s.settimeout(2)\n"
                            "try:\n s.connect(('127.0.0.1',%d)); print('CONNECTED')\n"
                            "except OSError as e: print('FAILED', e.errno)\n"
                            "import os; print(sorted(os.listdir('/proc/sys/net/ipv4/conf')))\n",
                            port);
    enclave_result r;
    py(code, NULL, &r);
    assert_int_equal(r.exit_code, 0);
    assert_non_null(strstr(out_str(&r), "FAILED"));
    assert_null(strstr(out_str(&r), "CONNECTED"));
    enclave_result_free(&r);
    /* the same program with network allowed reaches the listener */
    enclave_spec s = {.network = true};
    py(code, &s, &r);
    assert_non_null(strstr(out_str(&r), "CONNECTED"));
    enclave_result_free(&r);
    free(code);
    close(lfd);
}

static void test_host_hidden(void **state) {
    (void)state;
    char *data = fresh_dir("datadir");
    char *p = cl_sprintf("%s/secret.db", data);
    write_file(p, "TOPSECRET\n");
    free(p);
    char *script =
        cl_sprintf("cat %s/secret.db 2>/dev/null; ls /root 2>/dev/null && echo ROOT-VISIBLE;"
                   "ls /work 2>/dev/null && echo WORK-VISIBLE;"
                   "echo procs=$(ls /proc | grep -c '^[0-9]');"
                   "grep CapEff /proc/self/status; id -u",
                   data);
    enclave_result r;
    sh(script, NULL, &r);
    const char *o = out_str(&r);
    assert_null(strstr(o, "TOPSECRET"));
    assert_null(strstr(o, "ROOT-VISIBLE"));
    assert_null(strstr(o, "WORK-VISIBLE"));
    /* bwrap's init, sh, ls/grep and the subshell: a handful, not the host's */
    const char *pc = strstr(o, "procs=");
    assert_non_null(pc);
    assert_true(atoi(pc + 6) <= 6);
    assert_non_null(strstr(o, "CapEff:\t0000000000000000"));
    assert_non_null(strstr(o, "65534\n"));
    enclave_result_free(&r);
    free(script);
    free(data);
}

static void test_seccomp(void **state) {
    (void)state;
    const char *code =
        "import ctypes, os\n"
        "c = ctypes.CDLL(None, use_errno=True)\n"
        "def t(name, rc):\n"
        "  print(name, rc, ctypes.get_errno())\n"
        "t('unshare', c.unshare(0x00020000))\n"
        "t('unshare_user', c.unshare(0x10000000))\n"
        "t('mount', c.mount(b'none', b'/tmp', b'tmpfs', 0, None))\n"
        "t('ptrace', c.ptrace(0, 0, None, None))\n"
        "t('bpf', c.syscall(321, 0, None, 0))\n"
        "t('getpid', 0 if c.getpid() > 0 else -1)\n"
        "print([l for l in open('/proc/self/status') if l.startswith('Seccomp:')][0])\n";
    enclave_result r;
    py(code, NULL, &r);
    assert_int_equal(r.exit_code, 0);
    const char *o = out_str(&r);
    assert_non_null(strstr(o, "unshare -1 1\n")); /* EPERM = 1 */
    assert_non_null(strstr(o, "unshare_user -1 1\n"));
    assert_non_null(strstr(o, "mount -1 1\n"));
    assert_non_null(strstr(o, "ptrace -1 1\n"));
    assert_non_null(strstr(o, "bpf -1 1\n"));
    assert_non_null(strstr(o, "getpid 0"));
    assert_non_null(strstr(o, "Seccomp:\t2"));
    enclave_result_free(&r);
}

static void test_pids_limit(void **state) {
    (void)state;
    /* the start-up probe agrees with what runs get */
    bool probe = enclave_limits_probe();
    enclave_spec s = {.limits = {.pids = 16}};
    enclave_result r;
    py("import os, time\n"
       "ok = fail = 0\n"
       "for i in range(60):\n"
       "  try:\n"
       "    if os.fork() == 0:\n"
       "      time.sleep(5); os._exit(0)\n"
       "    ok += 1\n"
       "  except OSError: fail += 1\n"
       "print('ok', ok, 'fail', fail)\n",
       &s, &r);
    if (!r.limits_applied) {
        enclave_result_free(&r);
        skip();
    }
    assert_true(probe);
    assert_int_equal(r.exit_code, 0);
    assert_true(r.wall_ns < 4000000000ull); /* the sleepers died with the run */
    int ok = -1, fail = -1;
    const char *o = strstr(out_str(&r), "ok ");
    assert_non_null(o);
    assert_int_equal(sscanf(o, "ok %d fail %d", &ok, &fail), 2);
    assert_true(ok < 16);
    assert_true(fail > 40);
    assert_true(r.limit_hit & ENCLAVE_HIT_PIDS);
    enclave_result_free(&r);
}

static void test_memory_limit(void **state) {
    (void)state;
    enclave_spec s = {.limits = {.memory_bytes = 64u << 20}};
    enclave_result r;
    py("b = bytearray(160 << 20)\n"
       "for i in range(0, len(b), 4096): b[i] = 1\n"
       "print('ALLOCATED')\n",
       &s, &r);
    if (!r.limits_applied) {
        enclave_result_free(&r);
        skip();
    }
    assert_null(strstr(out_str(&r), "ALLOCATED"));
    assert_int_not_equal(r.exit_code, 0);
    assert_true(r.limit_hit & ENCLAVE_HIT_MEMORY);
    enclave_result_free(&r);
    /* under the limit the same program runs */
    py("b = bytearray(8 << 20)\nprint('ALLOCATED')\n", &s, &r);
    assert_string_equal(out_str(&r), "ALLOCATED\n");
    assert_int_equal(r.limit_hit, 0);
    enclave_result_free(&r);
}

static void test_cpu_limit(void **state) {
    (void)state;
    enclave_spec s = {.limits = {.cpu_millis = 100}}; /* a tenth of one CPU */
    enclave_result r;
    py("import time\n"
       "t = time.time()\n"
       "while time.time() - t < 1.0: pass\n"
       "print('cpu', time.process_time())\n",
       &s, &r);
    if (!r.limits_applied) {
        enclave_result_free(&r);
        skip();
    }
    const char *o = strstr(out_str(&r), "cpu ");
    assert_non_null(o);
    /* one busy second of wall time gets about 0.1 s of CPU (python start included) */
    assert_true(atof(o + 4) < 0.5);
    enclave_result_free(&r);
}

/* Any process on the host whose command line holds marker. */
static bool process_with(const char *marker) {
    DIR *d = opendir("/proc");
    struct dirent *e;
    bool found = false;
    while (!found && d && (e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char *p = cl_sprintf("/proc/%s/cmdline", e->d_name);
        cl_buf b = CL_BUF_INIT;
        if (file_read_all(p, &b, 4096) == CL_OK) {
            for (size_t i = 0; i < b.len; i++)
                if (b.ptr[i] == 0) b.ptr[i] = ' ';
            if (strstr(buf_cstr(&b), marker)) found = true;
        }
        buf_free(&b);
        free(p);
    }
    if (d) closedir(d);
    return found;
}

/* run-* cgroups of this process left under the v1 pids or v2 hierarchy. */
static int run_cgroups_left(void) {
    static const char *const tops[] = {"/sys/fs/cgroup/pids/cloister", "/sys/fs/cgroup/cloister"};
    char prefix[32];
    snprintf(prefix, sizeof prefix, "run-%d-", (int)getpid());
    int n = 0;
    for (size_t t = 0; t < 2; t++) {
        DIR *d = opendir(tops[t]);
        struct dirent *e;
        while (d && (e = readdir(d)))
            if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) n++;
        if (d) closedir(d);
    }
    return n;
}

static void test_timeout_kills_tree(void **state) {
    (void)state;
    enclave_spec s = {.limits = {.wall_timeout_ms = 500}};
    enclave_result r;
    sh("sleep 31.4159 & sleep 31.4159; echo NOT-REACHED", &s, &r);
    assert_true(r.timed_out);
    assert_null(strstr(out_str(&r), "NOT-REACHED"));
    assert_true(r.wall_ns < 2000000000ull);
    enclave_result_free(&r);
    for (int i = 0; i < 50 && process_with("31.4159"); i++)
        usleep(20000);
    assert_false(process_with("31.4159"));
    assert_int_equal(run_cgroups_left(), 0); /* every per-run cgroup removed */
}

/* A host process that ignores SIGCHLD loses the exit status: the run still ends
 * promptly (not at the timeout) and says it does not know the exit code. */
static void test_sigchld_ignored(void **state) {
    (void)state;
    void (*old)(int) = signal(SIGCHLD, SIG_IGN);
    enclave_spec s = {.limits = {.wall_timeout_ms = 5000}};
    enclave_result r;
    sh("echo hi", &s, &r);
    signal(SIGCHLD, old);
    assert_false(r.timed_out);
    assert_true(r.wall_ns < 3000000000ull);
    assert_int_equal(r.exit_code, -1);
    assert_string_equal(out_str(&r), "hi\n");
    enclave_result_free(&r);
}

static void test_bad_spec(void **state) {
    (void)state;
    char *out = fresh_dir("out");
    enclave_result r;
    const char *argv[] = {"/bin/true", NULL};
    const char *bad_env[] = {"NOEQUALS", NULL};
    enclave_spec s = {.argv = argv, .env = bad_env, .out_dir = out};
    assert_int_equal(enclave_run(&s, &r), CL_ERR_INVALID);
    s.env = NULL;
    s.out_dir = "/nonexistent-cloister";
    assert_int_equal(enclave_run(&s, &r), CL_ERR_INVALID);
    const char *rel[] = {"true", NULL};
    s.argv = rel;
    s.out_dir = out;
    assert_int_equal(enclave_run(&s, &r), CL_ERR_INVALID);
    enclave_result_free(&r);
    free(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_code_and_output),
        cmocka_unit_test(test_output_bounded),
        cmocka_unit_test(test_env_only_spec),
        cmocka_unit_test(test_node_runs),
        cmocka_unit_test(test_dirs),
        cmocka_unit_test(test_no_network),
        cmocka_unit_test(test_host_hidden),
        cmocka_unit_test(test_seccomp),
        cmocka_unit_test(test_pids_limit),
        cmocka_unit_test(test_memory_limit),
        cmocka_unit_test(test_cpu_limit),
        cmocka_unit_test(test_timeout_kills_tree),
        cmocka_unit_test(test_sigchld_ignored),
        cmocka_unit_test(test_bad_spec),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
