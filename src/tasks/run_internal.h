/* run_internal.h — what the files of a run share inside src/tasks (not a
 * public header): the framed control channel between the host and the
 * in-sandbox init, and the host side of one run.
 *
 * Control channel (a socketpair; the init's end is passed into the sandbox):
 *   frame = u32 big-endian length || bytes (a JSON object)
 *   1. init -> host  {"public_key": base64 DER SPKI of the run's ephemeral P-384 key}
 *   2. host -> init  {"attestation": base64 COSE doc, "sealed": base64 ECIES(env)}
 *                    or {"error": message}
 *      env (sealed to the public key, AAD "cloister-run-env-v1" || task id):
 *        {"task", "argv": [...], "env": ["NAME=value", ...], "app": {...},
 *         "inputs": ["0x…", ...]}
 *   while the app runs, any number (at most RUN_ATTEST_MAX) of
 *      init -> host  {"attest": {"public_key", "user_data"?, "nonce"?}} (base64)
 *      host -> init  {"document": base64} or {"error": message}
 *   3. init -> host  {"receipt": text} after the app exited and its result was
 *                    checked, or {"failed": message, "exit_code": n} */
#ifndef CLOISTER_TASKS_RUN_INTERNAL_H
#define CLOISTER_TASKS_RUN_INTERNAL_H

#include "tasks/tasks.h"

#include <jansson.h>
#include <sys/types.h>

#define RUN_FRAME_MAX (1u << 20)
#define RUN_ENV_AAD "cloister-run-env-v1"
#define RUN_INIT_PATH "/.cloister/init"
#define RUN_ATTEST_MAX 16u /* attestation documents an app may ask for per run */
#define RUN_ATTEST_FIELD_MAX                                                                       \
    1024u /* bytes of public_key, user_data, nonce (Nitro: 1024/512/512)                           \
           */

/* run_attest.c: the init serves the app's attestation requests (over app_fd)
 * until the app (pid) exits, forwarding each to the node over ctl_fd; returns
 * the app's wait status. run_attest_tool: `/.cloister/init attest ...`. */
int run_attest_serve(int ctl_fd, int app_fd, pid_t pid);
int run_attest_tool(int argc, char **argv);

cl_err run_frame_write_json(int fd, const json_t *j);
/* Reads one frame (waiting at most timeout_ms; < 0 = forever) and parses it.
 * CL_ERR_NOT_FOUND on a clean EOF before any byte. */
cl_err run_frame_read_json(int fd, int timeout_ms, json_t **out);

/* One run, as the engine hands it to the host side. */
typedef struct run_job {
    char task_id[TASKS_ID_LEN + 1];
    json_t *app;         /* the app document (Name, Arn, Address, Measurement, Entrypoint, Manifest,
                            BundleBlob) */
    cl_buf bundle;       /* the bundle bytes read from the store */
    char *requester_arn; /* who asked */
    char *account, *principal_id;
    bool debug;
    json_t *args;    /* array of strings */
    json_t *secrets; /* {"1": "x1", ...} */
    char *event;     /* the S3 event (JSON text) of a triggered task, or NULL */
    size_t n_inputs;
    struct {
        char *url, name[67];
        cl_buf bytes;
    } inputs[TASKS_INPUTS_MAX];
} run_job;

/* How the host side reports progress (state names of docs/runs.md). */
typedef void (*run_state_fn)(void *arg, const char *state);

/* What came out of it. */
typedef struct {
    bool ok;
    char *error; /* failed: why (one line, never a secret) */
    int exit_code;
    char result_digest[67];
    char *det_path;
    char *receipt;   /* the receipt text */
    cl_buf output;   /* the canonical tar of /iexec_out */
    cl_buf out, err; /* the app's stdout / stderr (bounded) */
    cl_buf log;      /* both, line by line with times (enclave_result.log) */
} run_outcome;

/* Removes what runs left in work_dir (a process killed mid-run leaves its dirs). */
void run_workdir_clear(const char *work_dir);
void run_job_free(run_job *j);
void run_outcome_free(run_outcome *o);
/* The attestation document of a run (the node signs; see run_host.c). */
struct attest_root;
/* remote_worker_arn: a run on a remote worker (PCR4 = its SHA-384), else NULL. */
cl_err run_sign_doc(struct attest_root *root, const uint8_t runtime_pcr[48], const char *task_id,
                    const char *measurement_hex, const char *requester_arn,
                    const char *remote_worker_arn, cl_slice spki, cl_slice user_data,
                    cl_slice nonce, cl_buf *doc);
/* Runs the job to completion on this node. */
void run_execute(const tasks_run_config *cfg, const uint8_t runtime_pcr[48], run_job *job,
                 run_state_fn state, void *arg, run_outcome *out);

#endif
