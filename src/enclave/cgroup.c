/* cgroup.c — per-run cgroups that Cloister writes itself (bubblewrap does not
 * set limits): cgroup v2 (one unified dir) or v1 (one dir per controller:
 * memory, pids, cpu). The run's dir is <own cgroup>/cloister/run-<pid>-<n>
 * under each hierarchy, so a node's own limits still bound its runs. The
 * runtime's child enters it before exec; at the end every process in it is
 * killed (cgroup.kill where the kernel has it, else SIGKILL over cgroup.procs
 * until empty), the OOM / pids-max counters are read, and the dir removed.
 * When cgroups cannot be written (no permission, v2 with processes in our own
 * cgroup, ...) runs go ahead with only the wall-clock timeout, and the first
 * such run says so once in the log. */
#include "enclave/enclave.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CG_ROOT "/sys/fs/cgroup"
#define CG_MAX 3

struct enclave_cgroup {
    bool v2;
    int n;
    char *dir[CG_MAX];   /* run dirs; v2: dir[0] only */
    char *procs[CG_MAX]; /* their cgroup.procs */
    char *ctrl[CG_MAX];  /* v1 controller name of each dir */
};

static atomic_int warned;
static atomic_uint run_seq;

static void warn_once(const char *why) {
    if (atomic_exchange(&warned, 1) == 0)
        log_warn("enclave: limits cannot be applied (%s); runs have only the wall-clock timeout",
                 why);
}

static bool write_str(const char *dir, const char *file, const char *val) {
    char *p = cl_sprintf("%s/%s", dir, file);
    int fd = open(p, O_WRONLY | O_CLOEXEC);
    free(p);
    if (fd < 0) return false;
    size_t n = strlen(val);
    bool ok = write(fd, val, n) == (ssize_t)n;
    close(fd);
    return ok;
}

/* The value of "key N" in a flat-keyed file, or 0. */
static uint64_t read_key(const char *dir, const char *file, const char *key) {
    char *p = cl_sprintf("%s/%s", dir, file);
    FILE *f = fopen(p, "re");
    free(p);
    if (!f) return 0;
    char line[256];
    uint64_t v = 0;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ' ') v = strtoull(line + kl + 1, NULL, 10);
    fclose(f);
    return v;
}

/* Our own cgroup path in the hierarchy whose /proc/self/cgroup entry names ctrl
 * ("" = the v2 "0::" line). Malloc'd; "/" when not found. */
static char *own_path(const char *ctrl) {
    FILE *f = fopen("/proc/self/cgroup", "re");
    char line[512];
    char *res = NULL;
    while (f && !res && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2) continue;
        *c2 = 0;
        const char *list = c1 + 1;
        if (!*ctrl) {
            if (!*list && strncmp(line, "0", 1) == 0) res = cl_strdup(c2 + 1);
            continue;
        }
        for (char *save = NULL, *t = strtok_r((char *)list, ",", &save); t;
             t = strtok_r(NULL, ",", &save))
            if (strcmp(t, ctrl) == 0) res = cl_strdup(c2 + 1);
    }
    if (f) fclose(f);
    return res ? res : cl_strdup("/");
}

/* mount/<own>/cloister/<run>, created; malloc'd or NULL. */
static char *make_run_dir(const char *mount, const char *own, const char *run) {
    char *base = cl_sprintf("%s%s", mount, strcmp(own, "/") == 0 ? "" : own);
    struct stat st;
    if (stat(base, &st) != 0) { /* our cgroup is not visible under this mount */
        free(base);
        base = cl_strdup(mount);
    }
    char *top = cl_sprintf("%s/cloister", base);
    free(base);
    char *dir = NULL;
    if (mkdir(top, 0755) == 0 || errno == EEXIST) {
        dir = cl_sprintf("%s/%s", top, run);
        if (mkdir(dir, 0755) != 0) {
            free(dir);
            dir = NULL;
        }
    }
    free(top);
    return dir;
}

static void add_dir(enclave_cgroup *cg, char *dir, const char *ctrl) {
    cg->dir[cg->n] = dir;
    cg->procs[cg->n] = cl_sprintf("%s/cgroup.procs", dir);
    cg->ctrl[cg->n] = cl_strdup(ctrl);
    cg->n++;
}

static bool limits_v2(enclave_cgroup *cg, const enclave_limits *lim) {
    const char *d = cg->dir[0];
    char v[64];
    if (lim->memory_bytes) {
        snprintf(v, sizeof v, "%llu", (unsigned long long)lim->memory_bytes);
        if (!write_str(d, "memory.max", v)) return false;
        (void)write_str(d, "memory.swap.max", "0");
    }
    if (lim->pids) {
        snprintf(v, sizeof v, "%u", lim->pids);
        if (!write_str(d, "pids.max", v)) return false;
    }
    if (lim->cpu_millis) {
        snprintf(v, sizeof v, "%llu 100000", (unsigned long long)lim->cpu_millis * 100);
        if (!write_str(d, "cpu.max", v)) return false;
    }
    return true;
}

static bool create_v2(enclave_cgroup *cg, const enclave_limits *lim, const char *run) {
    char *own = own_path("");
    char *parent = cl_sprintf(CG_ROOT "%s", strcmp(own, "/") == 0 ? "" : own);
    /* Controllers must be enabled down to the run's dir; fails (EBUSY) when our
     * own cgroup holds processes and is not the root: then no limits. */
    static const char *const ctrls[] = {"+memory", "+pids", "+cpu"};
    for (int i = 0; i < 3; i++)
        (void)write_str(parent, "cgroup.subtree_control", ctrls[i]);
    char *top = cl_sprintf("%s/cloister", parent);
    bool ok = mkdir(top, 0755) == 0 || errno == EEXIST;
    for (int i = 0; ok && i < 3; i++) /* a missing one fails below only if its limit is asked */
        (void)write_str(top, "cgroup.subtree_control", ctrls[i]);
    free(top);
    free(parent);
    char *dir = ok ? make_run_dir(CG_ROOT, own, run) : NULL;
    free(own);
    if (!dir) return false;
    cg->v2 = true;
    add_dir(cg, dir, "");
    return limits_v2(cg, lim);
}

static bool limit_v1(const char *ctrl, const char *d, const enclave_limits *lim) {
    char v[64];
    if (strcmp(ctrl, "memory") == 0 && lim->memory_bytes) {
        snprintf(v, sizeof v, "%llu", (unsigned long long)lim->memory_bytes);
        if (!write_str(d, "memory.limit_in_bytes", v)) return false;
        (void)write_str(d, "memory.memsw.limit_in_bytes", v); /* no swap beyond it */
    }
    if (strcmp(ctrl, "pids") == 0 && lim->pids) {
        snprintf(v, sizeof v, "%u", lim->pids);
        if (!write_str(d, "pids.max", v)) return false;
    }
    if (strcmp(ctrl, "cpu") == 0 && lim->cpu_millis) {
        snprintf(v, sizeof v, "%llu", (unsigned long long)lim->cpu_millis * 100);
        if (!write_str(d, "cpu.cfs_period_us", "100000") || !write_str(d, "cpu.cfs_quota_us", v))
            return false;
    }
    return true;
}

static bool create_v1(enclave_cgroup *cg, const enclave_limits *lim, const char *run) {
    static const char *const ctrls[] = {"pids", "memory", "cpu"};
    for (int i = 0; i < CG_MAX; i++) {
        char *mount = cl_sprintf(CG_ROOT "/%s", ctrls[i]);
        struct stat st;
        bool wanted = i == 0 || (i == 1 && lim->memory_bytes) || (i == 2 && lim->cpu_millis);
        if (stat(mount, &st) != 0 && !wanted) { /* pids (to kill the tree) is always needed */
            free(mount);
            continue;
        }
        char *own = own_path(ctrls[i]);
        char *dir = make_run_dir(mount, own, run);
        free(mount);
        free(own);
        if (!dir) return false;
        add_dir(cg, dir, ctrls[i]);
        if (!limit_v1(ctrls[i], dir, lim)) return false;
    }
    return true;
}

enclave_cgroup *enclave_cgroup_create(const enclave_limits *lim) {
    struct stat st;
    bool v2 = stat(CG_ROOT "/cgroup.controllers", &st) == 0;
    if (!v2 && stat(CG_ROOT "/pids/cgroup.procs", &st) != 0) {
        warn_once("no cgroup v2 or v1 pids/memory/cpu hierarchy under " CG_ROOT);
        return NULL;
    }
    char run[64];
    snprintf(run, sizeof run, "run-%d-%u", (int)getpid(), atomic_fetch_add(&run_seq, 1));
    enclave_cgroup *cg = cl_calloc(1, sizeof *cg);
    if (!(v2 ? create_v2(cg, lim, run) : create_v1(cg, lim, run))) {
        char *why =
            cl_sprintf("cannot create or write a cgroup under " CG_ROOT ": %s", strerror(errno));
        warn_once(why);
        free(why);
        (void)enclave_cgroup_destroy(cg);
        return NULL;
    }
    return cg;
}

int enclave_cgroup_enter(const enclave_cgroup *cg) {
    char num[24];
    int i = sizeof num;
    num[--i] = 0;
    for (unsigned long p = (unsigned long)getpid(); p || i == (int)sizeof num - 1; p /= 10)
        num[--i] = (char)('0' + p % 10);
    size_t len = sizeof num - 1 - (size_t)i;
    for (int k = 0; k < cg->n; k++) {
        int fd = open(cg->procs[k], O_WRONLY | O_CLOEXEC);
        if (fd < 0) return -1;
        ssize_t w = write(fd, num + i, len);
        close(fd);
        if (w != (ssize_t)len) return -1;
    }
    return 0;
}

/* SIGKILLs every pid listed; returns how many were listed. */
static int kill_listed(const char *procs) {
    FILE *f = fopen(procs, "re");
    if (!f) return 0;
    int n = 0;
    long pid;
    while (fscanf(f, "%ld", &pid) == 1) {
        if (pid > 0) kill((pid_t)pid, SIGKILL);
        n++;
    }
    fclose(f);
    return n;
}

static void kill_all(enclave_cgroup *cg, int k) {
    if (cg->v2) (void)write_str(cg->dir[k], "cgroup.kill", "1");
    for (int tries = 0; tries < 400 && kill_listed(cg->procs[k]) > 0; tries++)
        usleep(5000); /* killed tasks leave the list once reaped by their parent */
}

unsigned enclave_cgroup_destroy(enclave_cgroup *cg) {
    if (!cg) return 0;
    unsigned hit = 0;
    for (int k = 0; k < cg->n; k++) {
        kill_all(cg, k);
        const char *d = cg->dir[k], *c = cg->ctrl[k];
        if (cg->v2 || strcmp(c, "memory") == 0) {
            if (read_key(d, cg->v2 ? "memory.events" : "memory.oom_control", "oom_kill") > 0)
                hit |= ENCLAVE_HIT_MEMORY;
        }
        if (cg->v2 || strcmp(c, "pids") == 0) {
            if (read_key(d, "pids.events", "max") > 0) hit |= ENCLAVE_HIT_PIDS;
        }
        for (int tries = 0; tries < 100 && rmdir(d) != 0 && errno == EBUSY; tries++)
            usleep(5000);
        free(cg->dir[k]);
        free(cg->procs[k]);
        free(cg->ctrl[k]);
    }
    free(cg);
    return hit;
}
