/* bwrap.c — the bubblewrap backend of src/enclave. Builds bwrap's argv (no
 * shell), forks a child that enters the run's cgroup, puts itself in its own
 * process group and execs bwrap with an empty environment; the parent captures
 * stdout/stderr (bounded), enforces the wall-clock timeout and kills the whole
 * tree at the end (bwrap --die-with-parent kills the pid namespace's init, and
 * the cgroup is emptied by enclave_cgroup_destroy).
 *
 * Sandbox: new user (uid/gid 65534, no capabilities), mount, pid, ipc, uts,
 * cgroup and (unless spec->network) net namespaces; host /usr read-only, the
 * merged-/usr symlinks (/bin, /lib, ...) recreated as on the host, /etc/ssl,
 * /etc/alternatives and /etc/ld.so.cache read-only, fresh /proc, /dev and
 * /tmp, the root read-only; /app and /iexec_in read-only, /iexec_out read-write; the seccomp
 * program of seccomp.c loaded right before the program's exec. */
#include "enclave/enclave.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const bwrap_paths[] = {"/usr/bin/bwrap", "/usr/local/bin/bwrap"};

static const char *bwrap_path(void) {
    for (size_t i = 0; i < sizeof bwrap_paths / sizeof bwrap_paths[0]; i++)
        if (access(bwrap_paths[i], X_OK) == 0) return bwrap_paths[i];
    return NULL;
}

static char *bwrap_unavailable(void) {
    return bwrap_path() ? NULL
                        : cl_strdup("bubblewrap (bwrap) is not installed: run scripts/deps.sh "
                                    "or apt-get install bubblewrap");
}

typedef struct {
    char **v;
    size_t n, cap;
} argv_t;

static void push(argv_t *a, const char *s) {
    if (a->n + 2 > a->cap) {
        a->cap = a->cap ? a->cap * 2 : 64;
        a->v = cl_realloc(a->v, a->cap * sizeof *a->v);
    }
    a->v[a->n++] = s ? cl_strdup(s) : NULL;
    a->v[a->n] = NULL;
}

static void push3(argv_t *a, const char *x, const char *y, const char *z) {
    push(a, x);
    push(a, y);
    if (z) push(a, z);
}

static void argv_free(argv_t *a) {
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
}

/* /bin, /lib, ... : a symlink on merged-/usr hosts (recreated), else a dir (bound). */
static void push_top_dir(argv_t *a, const char *p) {
    struct stat st;
    if (lstat(p, &st) != 0) return;
    if (S_ISLNK(st.st_mode)) {
        char t[256];
        ssize_t n = readlink(p, t, sizeof t - 1);
        if (n <= 0) return;
        t[n] = 0;
        push3(a, "--symlink", t, p);
    } else if (S_ISDIR(st.st_mode)) {
        push3(a, "--ro-bind", p, p);
    }
}

static void build_argv(argv_t *a, const char *bwrap, const enclave_spec *s, int seccomp_fd) {
    static const char *const tops[] = {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"};
    static const char *const etc[] = {"/etc/ssl", "/etc/alternatives", "/etc/ld.so.cache"};
    push(a, bwrap);
    push(a, "--unshare-user");
    push(a, "--unshare-pid");
    push(a, "--unshare-ipc");
    push(a, "--unshare-uts");
    push(a, "--unshare-cgroup-try");
    if (!s->network) push(a, "--unshare-net");
    push(a, "--die-with-parent");
    push(a, "--new-session");
    push(a, "--clearenv");
    push3(a, "--uid", "65534", NULL);
    push3(a, "--gid", "65534", NULL);
    push3(a, "--cap-drop", "ALL", NULL);
    push3(a, "--hostname", "enclave", NULL);
    push3(a, "--ro-bind", "/usr", "/usr");
    for (size_t i = 0; i < sizeof tops / sizeof tops[0]; i++)
        push_top_dir(a, tops[i]);
    for (size_t i = 0; i < sizeof etc / sizeof etc[0]; i++)
        push3(a, "--ro-bind-try", etc[i], etc[i]);
    push3(a, "--proc", "/proc", NULL);
    push3(a, "--dev", "/dev", NULL);
    push3(a, "--tmpfs", "/tmp", NULL);
    if (s->app_dir) push3(a, "--ro-bind", s->app_dir, "/app");
    if (s->in_dir) push3(a, "--ro-bind", s->in_dir, "/iexec_in");
    push3(a, "--bind", s->out_dir, "/iexec_out");
    if (s->state_dir) push3(a, "--bind", s->state_dir, "/cloister_state");
    if (s->runtime_bin) push3(a, "--ro-bind", s->runtime_bin, "/.cloister/init");
    push3(a, "--remount-ro", "/",
          NULL); /* the root tmpfs itself: only /tmp, /iexec_out (and /cloister_state) rw */
    push3(a, "--chdir", "/", NULL);
    for (const char *const *e = s->env; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        char *name = cl_strndup(*e, (size_t)(eq - *e));
        push3(a, "--setenv", name, eq + 1);
        free(name);
    }
    char fd[16];
    snprintf(fd, sizeof fd, "%d", seccomp_fd);
    push3(a, "--seccomp", fd, NULL);
    push(a, "--");
    for (const char *const *p = s->argv; *p; p++)
        push(a, *p);
}

/* fd moved to 3 or above (close-on-exec), so the child's dup2 onto 0..2 can
 * neither clobber it nor be a no-op that keeps close-on-exec; -1 on error. */
static int high_fd(int fd) {
    if (fd < 0 || fd > 2) return fd;
    int h = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    return h;
}

/* Child side of fork: only async-signal-safe calls. */
static void child_exec(const char *bwrap, char **argv, const enclave_cgroup *cg, int out_w,
                       int err_w, int seccomp_fd, int extra_fd) {
    static char *const no_env[] = {NULL};
    /* Ignored signals and the signal mask survive exec: give bwrap a clean slate
     * (a host that ignores SIGCHLD would otherwise leave bwrap's init unable to wait). */
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    for (int sig = 1; sig < NSIG; sig++)
        (void)sigaction(sig, &dfl, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    setpgid(0, 0);
    if (cg && enclave_cgroup_enter(cg) != 0) _exit(125);
    int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (nul < 0 || dup2(nul, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0) _exit(126);
    if (fcntl(seccomp_fd, F_SETFD, 0) < 0) _exit(126);
    if (extra_fd > 2 && fcntl(extra_fd, F_SETFD, 0) < 0) _exit(126);
    execve(bwrap, argv, no_env);
    _exit(127);
}

typedef struct {
    int fd;
    cl_buf *buf;
    bool *truncated;
    const char *tag; /* "out" / "err" in the timestamped log */
    bool mid_line;   /* the log's last line from this stream is not finished */
    enclave_result *res;
} stream;

/* Appends a chunk to the interleaved log, each line stamped with the time it
 * arrived (UTC, milliseconds) and its stream: "2026-12-06T02:55:33.123Z out hi". */
static void log_lines(stream *s, const char *p, size_t n, size_t max) {
    cl_buf *log = &s->res->log;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[80];
    snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (long)(ts.tv_nsec / 1000000L) % 1000, s->tag);
    for (size_t i = 0; i < n; i++) {
        if (log->len + sizeof stamp + 1 > max) {
            s->res->log_truncated = true;
            return;
        }
        if (!s->mid_line) buf_append_cstr(log, stamp);
        buf_append(log, p + i, 1);
        s->mid_line = p[i] != '\n';
    }
}

static void drain(stream *s, size_t max) {
    char chunk[16384];
    ssize_t n = read(s->fd, chunk, sizeof chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {
        close(s->fd);
        s->fd = -1;
        return;
    }
    size_t room = s->buf->len < max ? max - s->buf->len : 0;
    size_t take = (size_t)n < room ? (size_t)n : room;
    buf_append(s->buf, chunk, take);
    if (take < (size_t)n) *s->truncated = true;
    log_lines(s, chunk, (size_t)n, 2 * max);
}

/* Waits for the child, capturing output until the deadline; kills on expiry. */
static void supervise(pid_t pid, stream st[2], const enclave_spec *s, uint64_t t0,
                      enclave_result *res) {
    uint32_t tmo =
        s->limits.wall_timeout_ms ? s->limits.wall_timeout_ms : ENCLAVE_DEFAULT_TIMEOUT_MS;
    size_t max = s->output_max ? s->output_max : ENCLAVE_DEFAULT_OUTPUT_MAX;
    uint64_t deadline = t0 + (uint64_t)tmo * 1000000u, exited_at = 0;
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    int status = 0;
    bool exited = false;
    for (;;) {
        pid_t w = exited ? 0 : waitpid(pid, &status, WNOHANG);
        if (w == pid || (w < 0 && errno == ECHILD)) { /* ECHILD: SIGCHLD ignored, status lost */
            if (w < 0) status = -1;
            exited = true;
            exited_at = time_mono_ns();
        }
        uint64_t now = time_mono_ns();
        if (exited && (st[0].fd < 0 && st[1].fd < 0)) break;
        if (exited && now > exited_at + 200000000u) break; /* a leftover holds the pipes */
        bool stop = s->cancel && __atomic_load_n(s->cancel, __ATOMIC_ACQUIRE);
        if (!exited && (now >= deadline || stop)) {
            if (stop)
                res->cancelled = true;
            else
                res->timed_out = true;
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            if (waitpid(pid, &status, 0) != pid) status = -1;
            exited = true;
            break;
        }
        uint64_t left_ms = exited ? 20 : (deadline - now) / 1000000u + 1;
        if (!exited && pidfd < 0 && left_ms > 5) left_ms = 5; /* no pidfd: poll waitpid */
        struct pollfd p[3] = {{.fd = st[0].fd, .events = POLLIN},
                              {.fd = st[1].fd, .events = POLLIN},
                              {.fd = exited ? -1 : pidfd, .events = POLLIN}};
        int r = poll(p, 3, (int)(left_ms > 1000 ? 1000 : left_ms));
        if (r < 0 && errno != EINTR) break;
        for (int i = 0; i < 2; i++)
            if (p[i].fd >= 0 && (p[i].revents & (POLLIN | POLLHUP | POLLERR))) drain(&st[i], max);
    }
    if (!exited) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        if (waitpid(pid, &status, 0) != pid) status = -1;
    }
    if (pidfd >= 0) close(pidfd);
    if (status != -1 && WIFEXITED(status)) res->exit_code = WEXITSTATUS(status);
    if (status != -1 && WIFSIGNALED(status)) res->term_signal = WTERMSIG(status);
}

static cl_err bwrap_run(const enclave_spec *s, enclave_result *res) {
    uint64_t t0 = time_mono_ns();
    const char *bwrap = bwrap_path();
    if (!bwrap) return CL_ERR_NOT_FOUND;
    int sfd = high_fd(enclave_seccomp_fd());
    if (sfd < 0) {
        log_error("enclave: cannot build the seccomp program");
        return CL_ERR_INTERNAL;
    }
    int po[2] = {-1, -1}, pe[2] = {-1, -1};
    bool piped = pipe2(po, O_CLOEXEC) == 0 && pipe2(pe, O_CLOEXEC) == 0;
    for (int i = 0; piped && i < 2; i++) {
        po[i] = high_fd(po[i]);
        pe[i] = high_fd(pe[i]);
        piped = po[i] >= 0 && pe[i] >= 0;
    }
    if (!piped) {
        for (int i = 0; i < 2; i++) {
            if (po[i] >= 0) close(po[i]);
            if (pe[i] >= 0) close(pe[i]);
        }
        close(sfd);
        return CL_ERR_IO;
    }
    argv_t a = {0};
    build_argv(&a, bwrap, s, sfd);
    enclave_cgroup *cg = enclave_cgroup_create(&s->limits);
    res->limits_applied = cg != NULL;
    pid_t pid = fork();
    if (pid == 0) child_exec(bwrap, a.v, cg, po[1], pe[1], sfd, s->extra_fd);
    close(po[1]);
    close(pe[1]);
    close(sfd);
    argv_free(&a);
    cl_err e = CL_OK;
    if (pid < 0) {
        close(po[0]);
        close(pe[0]);
        e = CL_ERR_IO;
    } else {
        setpgid(pid, pid); /* both sides set it: no race with an early kill */
        stream st[2] = {{po[0], &res->out, &res->out_truncated, "out", false, res},
                        {pe[0], &res->err, &res->err_truncated, "err", false, res}};
        supervise(pid, st, s, t0, res);
        for (int i = 0; i < 2; i++)
            if (st[i].fd >= 0) close(st[i].fd);
    }
    res->limit_hit = enclave_cgroup_destroy(cg);
    res->wall_ns = time_mono_ns() - t0;
    return e;
}

const enclave_backend enclave_backend_bwrap = {
    .name = "bwrap",
    .unavailable = bwrap_unavailable,
    .run = bwrap_run,
};
