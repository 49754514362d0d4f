/* tasks.h — the one public header of src/tasks: confidential apps and their
 * runs. Apps: a folder packed into a canonical bundle (bundle.c), its
 * measurement and iExec-style address, and the `cloister` JSON API operations
 * CreateApp, GetApp, ListApps, DeleteApp, SetAppOwner, PutAppSecret and
 * DescribeAppSecret (apps.c), and runs (runs.c, below). The formats are
 * specified in docs/apps.md and docs/runs.md; results (computed.c) and receipts
 * (receipt.c) in docs/attestation.md. Depends on iam, secrets, store, crypto,
 * attest and enclave (downward). */
#ifndef CLOISTER_TASKS_H
#define CLOISTER_TASKS_H

#include "base/base.h"
#include "attest/attest.h"
#include "http/http.h"
#include "iam/iam.h"
#include "secrets/secrets.h"
#include "store/store.h"

#include <jansson.h>
#include <openssl/types.h> /* EVP_PKEY */

#define TASKS_MEASUREMENT_LEN 48    /* SHA-384 */
#define TASKS_ADDRESS_LEN 20        /* bytes of an app address */
#define TASKS_BUNDLE_MAX (6u << 20) /* bundle bytes CreateApp accepts */
#define TASKS_ENTRYPOINT_MAX 1024

/* ---- the canonical bundle (bundle.c) ---- */
/* Packs the tree under dir into a canonical POSIX ustar archive (docs/apps.md:
 * entries sorted by path, uid/gid 0, mtime 0, mode 0644/0755/0755 for dirs, no
 * owner names, regular files and directories only). Symlinks, devices, fifos
 * and sockets are refused (CL_ERR_INVALID, err names the path), as are paths
 * that do not fit ustar's name+prefix fields and bundles over max bytes. */
cl_err tasks_bundle_pack(const char *dir, size_t max, cl_buf *out, char *err, size_t errlen);
/* Checks that bytes are a bundle of that canonical shape (what the server
 * accepts); CL_ERR_INVALID with a reason otherwise. */
cl_err tasks_bundle_check(cl_slice bundle, char *err, size_t errlen);

/* App names: [A-Za-z0-9_-]{1,64}. */
bool tasks_app_name_valid(const char *name);
/* The measurement (PCR0 analogue): SHA-384 over the domain-separated encoding
 * of SHA-384(bundle), the entrypoint and the canonical manifest text. */
void tasks_app_measure(cl_slice bundle, const char *entrypoint, const char *manifest,
                       uint8_t out[TASKS_MEASUREMENT_LEN]);
/* The app address: the last 20 bytes of keccak256("cloister-app" || account || name). */
void tasks_app_address(const char *account, const char *name, uint8_t out[TASKS_ADDRESS_LEN]);
/* Validates a manifest JSON text (NULL/empty = {}) and returns its canonical
 * form (compact, sorted keys; malloc'd), or NULL with err set. */
char *tasks_manifest_canonical(const char *json, char *err, size_t errlen);
/* The public_outputs of a canonical manifest text (NULL if none): a JSON array (caller decrefs). */
json_t *tasks_manifest_public_outputs(const char *manifest);

/* ---- the apps service (apps.c) ---- */
typedef struct tasks tasks;
/* Opens the app registry: documents in st, bundle bytes in a blob store of
 * their own under data_dir/app-bundles (not S3's, whose GC would take them). */
cl_err tasks_open(store *st, iam *m, const char *data_dir, tasks **out);
void tasks_close(tasks *t); /* NULL is fine */
/* The proof SetAppOwner requires: an EIP-191 personal-sign by the new owner of
 * challenge = keccak256("cloister-app-owner" || app address (20 bytes) ||
 * owner address (20 bytes)). The check itself (secp256k1 recovery) lives with
 * the secret service; whoever wires the server installs it here, so tasks does
 * not depend on src/secrets. fn gets the wire signature ("0x" + 130 hex), the
 * challenge and the owner ("0x" + 40 lower-case hex) and returns CL_OK if it
 * recovers to owner, CL_ERR_DENIED if to another address, CL_ERR_INVALID if
 * malformed. Without a checker SetAppOwner answers NotImplemented. */
typedef cl_err (*tasks_sig_check_fn)(const char *signature, const uint8_t challenge[32],
                                     const char *owner);
void tasks_set_sig_check(tasks *t, tasks_sig_check_fn fn);
void tasks_owner_challenge(const uint8_t app[TASKS_ADDRESS_LEN],
                           const uint8_t owner[TASKS_ADDRESS_LEN], uint8_t out[32]);
/* The secret store PutAppSecret / DescribeAppSecret write to and read from
 * (the app developer secret: owner the app's address, name "1"). Without it
 * they answer NotImplemented. */
void tasks_set_secrets(tasks *t, secrets_store *s);
/* The Ethereum owner address (SetAppOwner) of the app whose address is app:
 * CL_ERR_NOT_FOUND if no app has that address or it has no owner. tasks_ctx
 * is the tasks; the shape of secrets_app_owner_fn, for
 * secrets_set_app_owner_lookup. Apps are found through an index item (kind
 * "app_address", scope "", name "0x" + 40 lower-case hex -> {"Account",
 * "Name"}) written by CreateApp and removed by DeleteApp. */
cl_err tasks_app_owner_by_address(void *tasks_ctx, const secrets_addr *app, secrets_addr *owner);
/* True if the X-Amz-Target names an operation of this module. */
bool tasks_api_owns(const char *target);
/* Handles a `cloister` JSON 1.1 request whose target tasks_api_owns. */
void tasks_api_handle(tasks *t, const iam_caller *c, http_request *req, http_response *resp);

/* ---- results (computed.c): iExec's computed.json and result digest ---- */
#define TASKS_COMPUTED_MAX (64 * 1024) /* bytes of computed.json */
#define TASKS_DIGEST_HEX_LEN 66        /* "0x" + 64 lower-case hex */
/* Parses computed.json text: a JSON object with "deterministic-output-path"
 * (string, /iexec_out or under it, no "..": required unless "callback-data" is
 * given) and optional "callback-data" ("0x" + hex bytes, at least one); other
 * members are ignored (iExec's ComputedFile has more). At most 64 KiB.
 * CL_ERR_INVALID with a message naming what is wrong. Outputs malloc'd (NULL
 * when absent). */
cl_err tasks_computed_parse(cl_slice json, char **det_path, char **callback_hex, char *err,
                            size_t errlen);
typedef struct {
    char digest[TASKS_DIGEST_HEX_LEN + 1]; /* "0x" + 64 lower hex */
    char *det_path;                        /* as computed.json names it; NULL if none */
    bool callback;                         /* digest is keccak256(callback-data) */
} tasks_result;
/* Reads out_dir/computed.json (out_dir is the host directory mounted at
 * /iexec_out, so "/iexec_out/x" means out_dir/x), validates it and computes the
 * result digest as iExec does (computed.c cites the rule): callback-data ->
 * keccak256 of its bytes; else the deterministic output path: a regular file
 * -> SHA-256 of its bytes; a directory -> keccak256 of the concatenated SHA-256
 * of its direct regular files in Java's name order (subdirectories add
 * nothing). A det path given with callback-data must resolve too. Refuses
 * (CL_ERR_INVALID, err says which): computed.json missing ("computed.json is
 * missing from /iexec_out"), a link, not a regular file, over 64 KiB,
 * malformed; a path outside /iexec_out or with ".."; a path that does not
 * exist; any symbolic link on the path or among a result folder's entries;
 * entries that are neither files nor directories. */
cl_err tasks_result_compute(const char *out_dir, tasks_result *r, char *err, size_t errlen);
void tasks_result_free(tasks_result *r); /* NULL is fine */

/* The "outputs" of a receipt (outputs.c): digests of the files under dir
 * (the run's /iexec_out), sorted by path: {"path", "sha256", "size"} per file
 * at the top, {"path": "DIR/", "sha256", "files"} per subdirectory, whose
 * sha256 covers the lines "REL\tSHA256\n" of every file below it. NULL if
 * dir cannot be read. */
json_t *tasks_outputs_digest(const char *dir);

/* ---- receipts (receipt.c) ---- */
#define TASKS_RECEIPT_VERSION "cloister-receipt-v1"
#define TASKS_RECEIPT_MAX (1 << 20) /* bytes tasks_receipt_verify reads */
/* body: a JSON object made by the in-sandbox init, e.g. {"version":
 * "cloister-receipt-v1", "task": ID, "app": {"arn", "address", "measurement"},
 * "inputs": [{"name", "sha256"}], "result": {"digest", "path"}, "exit_code": N}.
 * "version" is added when absent; "task" (= the document's module_id) and
 * "app"."measurement" (96 lower hex = PCR0) are required; "attestation" and
 * "signature" must be absent. Returns the receipt text (malloc'd, compact JSON,
 * sorted keys): body's members plus "attestation": base64(doc) and
 * "signature": base64(DER ECDSA P-384 over SHA-384 of the canonical (compact,
 * sorted keys) JSON of body + attestation). NULL on failure (bad body, key not
 * P-384). */
char *tasks_receipt_seal(const json_t *body, cl_slice attestation_doc, EVP_PKEY *enclave_key);
/* Offline verification against the node's attestation root (DER): parses
 * (JSON object, at most 1 MiB, no duplicate keys, no floating-point numbers,
 * version); verifies the attestation document with attest_verify_at_doc_time;
 * its public_key (P-384 SPKI) must verify "signature"; its module_id must equal
 * "task" and its PCR0 hex "app"."measurement". On success *body_out (if not NULL) gets the verified
 * receipt object (caller json_decref) and *doc_out (if not NULL) the document
 * (caller attest_doc_free; zeroed on failure). CL_ERR_INVALID (malformed) or
 * CL_ERR_CRYPTO (a check failed) with a one-line reason saying which. */
cl_err tasks_receipt_verify(cl_slice receipt, cl_slice root_der, json_t **body_out,
                            attest_doc *doc_out, char *err, size_t errlen);

/* ---- runs (runs.c: tasks and their API; run_host.c: one run on this node;
 * run_init.c: the init inside the sandbox; untar.c: unpacking bundles) ---- */
#define TASKS_ID_LEN 66             /* "0x" + 64 hex, like iExec task ids */
#define TASKS_INPUTS_MAX 16         /* input files per run */
#define TASKS_INPUT_MAX (4u << 20)  /* bytes of all inputs sent with a RunApp */
#define TASKS_FETCH_MAX (64u << 20) /* bytes of all inputs a worker fetches (s3://, URLs) */
#define TASKS_OUTPUT_MAX                                                                           \
    (256u << 20)                  /* bytes of /iexec_out kept as the result (its tar):             \
                                   * a 10k-account proof of reserves is ~58 MiB */
#define TASKS_SECRET_INDEX_MAX 64 /* IEXEC_REQUESTER_SECRET_1.._64 */

/* Unpacks a bundle that passed tasks_bundle_check into the existing empty
 * directory dir (files 0644/0755 as recorded, dirs 0755). */
cl_err tasks_bundle_unpack(cl_slice bundle, const char *dir, char *err, size_t errlen);

/* The limits a manifest asks for (0 = the node's default). */
typedef struct {
    bool network;
    bool state; /* "state": true — a directory kept across the app's runs */
    uint32_t timeout_seconds, memory_mb, pids;
} tasks_manifest_limits;
/* From a canonical manifest text. */
void tasks_manifest_limits_of(const char *manifest, tasks_manifest_limits *out);

struct attest_root;
struct secrets_store;
typedef struct {
    unsigned lease_s;      /* `serve --task-lease-seconds` (30) */
    unsigned max_attempts; /* `serve --task-max-attempts` (3) */
    unsigned account_max;  /* `serve --account-max-running` (0 = no limit) */
} queue_limits_cfg;
/* What the run engine needs from the node (serve.c sets it once). */
typedef struct {
    struct attest_root *attest;    /* signs each run's attestation document */
    struct secrets_store *secrets; /* requester and app developer secrets */
    const char *init_path;         /* host path of the cloister binary (the init) */
    const char *work_dir;          /* DATA/runs: per-run scratch directories */
    /* DATA/app-state: one directory per app whose manifest says "state": true,
     * bound read-write at /cloister_state in each of its runs and kept across
     * them (the signer's slashing database); NULL: no such directories. */
    const char *state_dir;
    bool allow_network; /* `serve --allow-app-network` */
    unsigned workers;   /* local workers (default 1; 0 = none) */
    /* Where no attestation root is held (attest NULL: a remote worker), the
     * run's documents are signed through attest_fn and receipts checked
     * against root_der. */
    cl_err (*attest_fn)(void *ctx, cl_slice spki, cl_slice user_data, cl_slice nonce, cl_buf *doc);
    void *attest_ctx;
    cl_slice root_der;
    const int *cancel;      /* set (by another thread) to stop the run: the sandbox is killed */
    queue_limits_cfg queue; /* lease seconds, attempts, per-account limit */
} tasks_run_config;
/* Starts the run workers; the Cloister.RunApp/GetTask/... operations answer
 * ServiceUnavailable until this is called. Tasks left unfinished by a previous
 * process are marked failed ("the node restarted during the run"). */
cl_err tasks_runs_start(tasks *t, const tasks_run_config *cfg);
/* Stops accepting runs and waits for the workers (called by tasks_close too). */
void tasks_runs_stop(tasks *t);

/* The in-sandbox init: `cloister __enclave-init` (never run by hand). Talks
 * to the host over the descriptor named by CLOISTER_CTL_FD: makes the
 * ephemeral key, receives the attestation document and the sealed
 * environment, runs the app as its child, checks computed.json, computes the
 * result digest and signs the receipt. Returns the process exit status. */
int tasks_init_main(void);
/* `/.cloister/init attest --public-key FILE [--user-data-hex H] [--nonce-hex H]
 * --out FILE`, run by an app inside a run: an attestation document of the run
 * over the app's key (docs/runs.md "KMS from inside a run"). */
int tasks_attest_tool(int argc, char **argv);

/* What the node installs so tasks can read inputs and publish outputs in S3
 * (tasks does not depend on s3: serve.c wires these to s3_read_object_as_owner
 * and s3_publish_*). NULL members: the feature answers NotImplemented. */
typedef struct {
    void *ctx;
    cl_err (*read)(void *ctx, const char *bucket, const char *key, size_t max, cl_buf *out,
                   char *msg, size_t msglen);
    cl_err (*check_read)(void *ctx, const iam_caller *c, const http_request *req,
                         const char *bucket, const char *key, char *msg, size_t msglen);
    /* files: [{"Key", "Path", "Public"}]; prepare outside, commit inside the
     * caller's transaction, finish after it */
    cl_err (*publish_prepare)(void *ctx, const char *account, const char *bucket,
                              const json_t *files, const char *origin, void **prep, char *msg,
                              size_t msglen);
    cl_err (*publish_commit)(void *ctx, void *prep);
    void (*publish_finish)(void *ctx, void *prep, bool committed);
} tasks_s3_hooks;
void tasks_set_s3(tasks *t, const tasks_s3_hooks *h);
/* The check s3 calls for a notification target (s3_notify_check_fn's shape,
 * tasks_ctx = the tasks): an arn:aws:lambda:REGION:ACCOUNT:function:APP must
 * name an app of the bucket owner's account. */
cl_err tasks_notify_check(void *tasks_ctx, const char *type, const char *arn, const char *owner,
                          char *msg, size_t msglen);

/* Appends the task queue's Prometheus figures (task_metrics.c) to out. */
void tasks_metrics_render(tasks *t, cl_buf *out);

/* ---- workers (worker.c): the loop every worker runs, in `cloister serve`
 * (local workers, worker_local.c) or in `cloister worker` (remote: the ops
 * are calls to the node's Cloister.*Task* operations, docs/tasks.md) ----
 * A worker leases one task at a time, fetches its bundle and inputs, runs it
 * with run_execute in the sandbox, heartbeats while it runs, and reports the
 * outcome. The task spec a lease returns (JSON object, docs/tasks.md;
 * "HeartbeatSeconds": how often to heartbeat):
 *   {"TaskId", "LeaseId", "LeaseExpires" (unix s), "Attempt", "Account",
 *    "Requester" (ARN), "App": {"Arn", "Name", "Address", "Measurement",
 *    "Entrypoint", "Manifest"}, "Args": [..], "Inputs": [{"Url", "Name"}],
 *    "Event": {AWS S3 event: {"Records": [..]}} (triggered tasks), "Debug",
 *    "Secrets": {"1": "x1"} (local workers only), "AttestationRoot": base64
 *    DER of the node's attestation root certificate} */
typedef struct {
    bool ok;
    const char *error; /* !ok: why (one line) */
    int exit_code;     /* -1: the app never exited normally */
    const char *receipt;
    cl_slice output;   /* the canonical tar of /iexec_out */
    cl_slice out, err; /* the app's stdout / stderr (bounded) */
    cl_slice log;      /* both, one line each with its time and stream (bounded) */
} tasks_worker_result;

typedef struct {
    void *ctx;
    /* The next task this worker may run, waiting at most wait_ms: *task = NULL
     * when none (CL_OK). Errors: the node cannot be reached or refused (msg). */
    cl_err (*lease)(void *ctx, int wait_ms, json_t **task, char *msg, size_t msglen);
    /* Extends the lease and records state ("running", "uploading"). *cancelled
     * is set when the task was cancelled. CL_ERR_DENIED: the lease is lost
     * (expired and leased again): stop working on it. */
    cl_err (*heartbeat)(void *ctx, const json_t *task, const char *state, bool *cancelled);
    /* The app's bundle bytes (at most TASKS_BUNDLE_MAX). */
    cl_err (*bundle)(void *ctx, const json_t *task, cl_buf *out, char *msg, size_t msglen);
    /* One input: s3://BUCKET/KEY, https:// or http:// (a presigned URL or a
     * path-style endpoint URL), with the worker's own credentials; at most max
     * bytes. msg: what went wrong, with the S3 error code (e.g. "AccessDenied:
     * ...") when S3 refused. */
    cl_err (*fetch)(void *ctx, const json_t *task, const char *url, size_t max, cl_buf *out,
                    char *msg, size_t msglen);
    /* An attestation document of the run over spki (the node signs it: PCR0 =
     * the app's measurement, module_id = the task id). */
    cl_err (*attest)(void *ctx, const json_t *task, cl_slice spki, cl_slice user_data,
                     cl_slice nonce, cl_buf *doc);
    /* Reports the outcome (idempotent for one lease). CL_ERR_DENIED: the lease
     * was lost, the outcome is discarded. */
    cl_err (*finish)(void *ctx, const json_t *task, const tasks_worker_result *r, char *msg,
                     size_t msglen);
} tasks_worker_ops;

typedef struct {
    const char *init_path;         /* the cloister-init binary */
    const char *work_dir;          /* per-run scratch directories (cleared at start) */
    const char *state_dir;         /* apps' state directories (tasks_run_config), or NULL */
    bool allow_network;            /* what `--allow-app-network` says on this host */
    struct secrets_store *secrets; /* local workers only; NULL: tasks get no secrets */
    unsigned heartbeat_s;          /* seconds between heartbeats (default 5) */
    const char *name;              /* for logs ("local-1", "worker 0x…") */
} tasks_worker_config;

/* What an app printed, as a JSON string: invalid UTF-8 (and NUL) becomes U+FFFD. */
json_t *tasks_text_json(cl_slice s);

/* Runs tasks until *stop becomes true (checked between leases and at each
 * heartbeat). Returns CL_OK when stopped, an error if the worker cannot run
 * at all (init binary missing, work dir not writable: msg says which). */
cl_err tasks_worker_loop(const tasks_worker_config *cfg, const tasks_worker_ops *ops,
                         volatile int *stop, char *msg, size_t msglen);

#endif
