/* enclave.h — the one public header of src/enclave: run one program in a
 * sandbox and report how it ended.
 *
 * A run is described by an enclave_spec (argv, an explicit environment: nothing
 * is inherited from the host, the app bundle bound read-only at /app, inputs
 * read-only at /iexec_in, a fresh output dir read-write at /iexec_out, network
 * or loopback only, limits) and executed by a backend. The one backend today is
 * `bwrap` (bubblewrap: user/mount/pid/net/ipc/uts/cgroup namespaces, read-only
 * host /usr, a seccomp program compiled by libseccomp, cgroup v1/v2 limits
 * written by Cloister, a wall-clock timeout, the whole tree killed at the end).
 * A microVM backend can be added behind enclave_backend without touching
 * callers. What this isolation does and does not protect: docs/enclave.md. */
#ifndef CLOISTER_ENCLAVE_H
#define CLOISTER_ENCLAVE_H

#include "base/base.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct enclave_limits {
    uint64_t memory_bytes;    /* 0 = no memory limit */
    uint32_t pids;            /* max tasks in the run's cgroup; 0 = none */
    uint32_t cpu_millis;      /* CPU quota, 1000 = one CPU; 0 = none */
    uint32_t wall_timeout_ms; /* 0 = ENCLAVE_DEFAULT_TIMEOUT_MS */
} enclave_limits;

#define ENCLAVE_DEFAULT_TIMEOUT_MS 60000u
#define ENCLAVE_DEFAULT_OUTPUT_MAX (1u << 20)

struct enclave_backend;

typedef struct enclave_spec {
    const char *const *argv; /* NULL-terminated; argv[0] is a path inside the sandbox */
    const char *const *env;  /* NULL-terminated "NAME=value" list; NULL = empty */
    const char *app_dir;     /* host dir bound read-only at /app, or NULL */
    const char *in_dir;      /* host dir bound read-only at /iexec_in, or NULL */
    const char *out_dir;     /* host dir bound read-write at /iexec_out; must be empty */
    const char *state_dir;   /* host dir bound read-write at /cloister_state, or NULL */
    bool network;            /* false (default): a private net namespace with only lo */
    enclave_limits limits;
    size_t output_max;       /* bytes kept of stdout and of stderr each */
    int extra_fd;            /* a descriptor (> 2) passed in under the same number; 0 = none.
                              * It may be close-on-exec in the caller (concurrent runs must
                              * not inherit each other's): only this run's child clears it. */
    const char *runtime_bin; /* host file bound read-only at /.cloister/init, or NULL */
    const struct enclave_backend *backend; /* NULL = enclave_backend_default() */
    const int *cancel; /* when it becomes non-zero (another thread), the tree is killed
                        * within a second (result.cancelled); NULL = never */
} enclave_spec;

/* limit_hit bits */
#define ENCLAVE_HIT_MEMORY 1u
#define ENCLAVE_HIT_PIDS 2u

typedef struct enclave_result {
    int exit_code;       /* 128+N when killed by signal N inside; -1 unknown (no exit status) */
    int term_signal;     /* signal that ended the runtime itself (e.g. SIGKILL on timeout), or 0 */
    bool timed_out;      /* the wall-clock timeout fired and the tree was killed */
    bool cancelled;      /* spec.cancel was set: the tree was killed */
    unsigned limit_hit;  /* ENCLAVE_HIT_* seen in the cgroup's counters */
    bool limits_applied; /* false when cgroups could not be written (timeout only) */
    cl_buf out, err;     /* captured stdout / stderr, at most output_max each */
    bool out_truncated, err_truncated;
    cl_buf log; /* both, interleaved as they arrived, each line prefixed with
                 * "TIME out|err " (UTC, ms); at most 2 * output_max bytes */
    bool log_truncated;
    uint64_t wall_ns;
} enclave_result;

typedef struct enclave_backend {
    const char *name;
    /* Why the backend cannot run here (malloc'd), or NULL when it can. */
    char *(*unavailable)(void);
    cl_err (*run)(const enclave_spec *spec, enclave_result *res);
} enclave_backend;

extern const enclave_backend enclave_backend_bwrap;
const enclave_backend *enclave_backend_default(void);

/* Runs spec to completion. CL_OK means the program was started and has ended
 * (however it ended: see res); errors: CL_ERR_INVALID (bad spec: no argv, an
 * env entry without '=', out_dir missing or not empty), CL_ERR_NOT_FOUND (the
 * runtime is not installed), CL_ERR_IO / CL_ERR_INTERNAL (could not start).
 * res is always initialised; free it with enclave_result_free. */
cl_err enclave_run(const enclave_spec *spec, enclave_result *res);
void enclave_result_free(enclave_result *res);

/* For start-up: creates and removes a throw-away run cgroup. false (and the
 * one-time "limits cannot be applied" warning) when runs would get only the
 * timeout. */
bool enclave_limits_probe(void);

/* ---- internals shared by the backend files (not for callers) ---- */
/* A seccomp BPF program in a sealed memfd (default allow, EPERM for the
 * syscalls listed in seccomp.c), offset 0. Returns the fd or -1. */
int enclave_seccomp_fd(void);

typedef struct enclave_cgroup enclave_cgroup;
/* Creates the run's cgroup(s) and writes the limits; NULL (and one warning per
 * process) when cgroups cannot be used. */
enclave_cgroup *enclave_cgroup_create(const enclave_limits *lim);
/* Async-signal-safe: moves the calling process into the cgroup(s). */
int enclave_cgroup_enter(const enclave_cgroup *cg);
/* Kills every process in it, reads limit counters (ENCLAVE_HIT_*), removes it. */
unsigned enclave_cgroup_destroy(enclave_cgroup *cg);

#endif
