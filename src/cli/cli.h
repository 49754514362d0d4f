/* cli.h — the one header of src/cli: subcommands of the cloister binary and the
 * pieces they share (the front door that routes every HTTP request, and the
 * client side: credentials chain and signed calls). */
#ifndef CLOISTER_CLI_H
#define CLOISTER_CLI_H

#include <jansson.h>
#include "http/http.h"
#include "attest/attest.h"
#include "iam/iam.h"
#include "kms/kms.h"
#include "s3/s3.h"
#include "tasks/tasks.h"
#include "signer/signer.h"

#include <pthread.h>

int cmd_serve(int argc, char **argv);
int cmd_account(int argc, char **argv);
/* `cloister attest sign|verify`: mint and check attestation documents with the
 * node's attestation root (attest_cmd.c). */
int cmd_attest(int argc, char **argv);
/* `cloister por prove|verify|verify-inclusion`: proof of reserves (por_cmd.c). */
int cmd_por(int argc, char **argv);
/* `cloister app deploy|show|list|delete|owner`: confidential apps (app_cmd.c). */
int cmd_app(int argc, char **argv);
/* `cloister result verify`: check a run's receipt offline (result_cmd.c). */
int cmd_result(int argc, char **argv);
/* A PEM certificate file (an attestation root) -> DER appended to der. */
bool cli_root_der_load(const char *pem_path, cl_buf *der);
/* `cloister secret push|check` and `cloister wallet challenge|link|show|unlink`
 * (secret_cmd.c); `cloister app secret push|check` calls cli_app_secret. */
int cmd_secret(int argc, char **argv);
int cmd_wallet(int argc, char **argv);
int cli_app_secret(int argc, char **argv);
/* SetAppOwner's proof (tasks_sig_check_fn) through src/secrets' secp256k1 recovery. */
cl_err cli_app_owner_sig_check(const char *signature, const uint8_t challenge[32],
                               const char *owner);

/* ---- the front door: one handler for every request ---- */
typedef struct {
    iam *iam;
    store *st;
    s3 *s3;
    kms *kms;
    const char *web_dir;    /* static pages (/por/): `serve --web-dir`, NULL = none */
    bool metrics_elsewhere; /* `serve --metrics-listen`: /metrics is not served here */
    tasks *tasks;           /* apps (Cloister.*App* operations); NULL = not available */
    secrets_store *secrets; /* Cloister.*Secret / *Wallet* operations; NULL = not available */
    struct access_log *access_log; /* `serve --access-log`; NULL = none (denials still logged) */
    size_t post_body_limit;        /* `serve --post-body-limit`: an S3 POST Object form's body */
} frontdoor;
void frontdoor_handle(void *ctx, http_request *req, http_response *resp);
/* http_config.on_done of the front door: the access log (access_log.c). */
void frontdoor_done(void *ctx, const http_request *req, const http_response *resp,
                    uint64_t bytes_out, uint64_t nanos);
/* The handler of the `--metrics-listen` listener: GET /metrics and nothing else. */
void frontdoor_metrics_handle(void *ctx, http_request *req, http_response *resp);
/* Headers are in: authenticates and starts streamed uploads (S3 PutObject). */
void frontdoor_on_headers(void *ctx, http_request *req, http_response *resp);
/* GET/HEAD /por[/...] without SigV4 credentials: answers from web_root/por
 * (static.c) and returns true; false leaves the request to the caller. */
bool cli_static_serve(const char *web_root, http_request *req, http_response *resp);

/* ---- several nodes on one meta store (cluster.c; docs/operations.md) ---- */
#define CLI_VERSION "0.1.0"
/* "sqlite PATH" or "postgres HOST:PORT/DB" (never the user or password). malloc'd. */
char *cli_meta_describe(const char *url);
/* This node's id: "HOSTNAME/LISTEN". malloc'd. */
char *cli_node_id(const char *listen);
/* Upserts this node's "node" item (id, started, last_seen, version). */
cl_err cli_node_beat(store *st, const char *id, const char *started);
void cli_node_leave(store *st, const char *id);
/* The nodes seen in the last minute: [{"id","started","last_seen","version"}]. */
cl_err cli_nodes_list(store *st, json_t **out);
char *cli_nodes_names(store *st); /* "id, id" (malloc'd) */
/* GET /_cloister/health: 200 {"status":"ok","backend","database":"ok","nodes"}
 * or 503 {"status":"unavailable","database":"unreachable"}. */
void cli_health(store *st, http_response *resp);
/* Records the fingerprints of the KMS root key, the SSE-S3 node key and the
 * attestation root in the "cluster" item at first start; afterwards a node
 * whose keys differ gets CL_ERR_DENIED and err says which and what to do. */
cl_err cli_cluster_check(store *st, const char *node_id, kms *keys, s3 *objects, attest_root *ar,
                         char *err, size_t errlen);
/* Housekeeping under the store lease "housekeeping": true if this node holds
 * it and the work is due (at start-up, or an hour after the last run by any
 * node); then cli_housekeeping_done(ran = true) records the run and releases. */
bool cli_housekeeping_take(store *st, const char *node_id, bool startup);
void cli_housekeeping_done(store *st, const char *node_id, bool ran);
/* `cloister migrate --from DATA/meta.db --to postgres://... [--force]` (migrate_cmd.c). */
int cmd_migrate(int argc, char **argv);

/* ---- client side ---- */
typedef struct {
    char *access_key, *secret, *session_token, *region;
} cli_creds;
/* The standard AWS chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN,
 * then profile AWS_PROFILE (default "default") of AWS_SHARED_CREDENTIALS_FILE
 * (default ~/.aws/credentials). Region from AWS_REGION/AWS_DEFAULT_REGION. */
cl_err cli_creds_load(cli_creds *c, char *err, size_t errlen);
void cli_creds_free(cli_creds *c);
/* Endpoint from --endpoint, else CLOISTER_ENDPOINT, else http://127.0.0.1:9000. */
const char *cli_endpoint(const char *flag);
/* The operator's chain (`cloister account`, `cloister creds`): without --profile,
 * AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY first; then profile `profile`
 * (--profile), else AWS_PROFILE, else default_profile (then "default"), read
 * from AWS_SHARED_CREDENTIALS_FILE if set, else from default_file (e.g. the
 * server's DATA/credentials) and ~/.aws/credentials. err says what was tried
 * and how to fix it. */
typedef struct {
    const char *profile, *default_profile, *default_file;
} cli_creds_opts;
cl_err cli_creds_load_opts(cli_creds *c, const cli_creds_opts *o, char *err, size_t errlen);
/* --endpoint-url, else AWS_ENDPOINT_URL, else as cli_endpoint (CLOISTER_ENDPOINT,
 * http://127.0.0.1:9000). */
const char *cli_endpoint_url(const char *flag);
/* cli_endpoint_url, checked: NULL (after saying what to set on stderr) when it
 * is not an http:// or https:// URL. */
const char *cli_endpoint_checked(const char *flag);
/* POSTs a JSON 1.1 request to the `cloister` service, signed with SigV4. */
cl_err cli_call_json(const char *endpoint, const cli_creds *c, const char *target, const char *body,
                     http_client_response *out);
/* The same for another JSON 1.1 service (e.g. "kms", "TrentService.Decrypt"). */
cl_err cli_call_service_json(const char *endpoint, const cli_creds *c, const char *service,
                             const char *target, const char *body, http_client_response *out);

/* GETs s3://bucket/key (path style) signed with SigV4 (service s3). */
cl_err cli_s3_get(const char *endpoint, const cli_creds *c, const char *bucket, const char *key,
                  http_client_response *out);
/* "http://host:port/..." -> "host:port" (what the Host header carries; malloc'd). */
char *cli_url_host(const char *url);
/* Signed Query-protocol POST (form body) to the endpoint, for service (e.g. "sts"). */
cl_err cli_call_query(const char *endpoint, const cli_creds *c, const char *service,
                      const char *form, http_client_response *out);
/* The text of the first <tag>..</tag> in xml, entities decoded (malloc'd), or NULL. */
char *cli_xml_text(cl_slice xml, const char *tag);
/* The strict chain of `cloister worker`: like cli_creds_load, but a variable set
 * to "" is an error naming it, the region must come from AWS_REGION,
 * AWS_DEFAULT_REGION or the profile's region in ~/.aws/config (AWS_CONFIG_FILE)
 * (no default), and err names what is missing. */
cl_err cli_creds_load_strict(cli_creds *c, char *err, size_t errlen);
/* The first configuration variable (CLOISTER_ENDPOINT, AWS_*) set to "", or NULL. */
const char *cli_env_empty(void);
/* CL_OK if url starts with http:// or https:// and names a host; else err is
 * "CLOISTER_ENDPOINT must start with http:// or https:// (got URL)". */
cl_err cli_endpoint_check(const char *url, char *err, size_t errlen);
/* STS AssumeRole with base's credentials (POST to endpoint, service "sts"):
 * out gets the role's credentials (region copied from base), *expires their
 * expiry. CL_ERR_IO: endpoint unreachable; CL_ERR_DENIED: STS refused, err =
 * "Code: Message". */
cl_err cli_assume_role(const char *endpoint, const cli_creds *base, const char *role_arn,
                       const char *session_name, unsigned duration_s, cli_creds *out,
                       time_t *expires, char *err, size_t errlen);
/* The same with an ExternalId (NULL: none). */
cl_err cli_assume_role_ext(const char *endpoint, const cli_creds *base, const char *role_arn,
                           const char *session_name, unsigned duration_s, const char *external_id,
                           cli_creds *out, time_t *expires, char *err, size_t errlen);
/* `cloister creds assume-role`: an AWS credential_process (creds_cmd.c). */
int cmd_creds(int argc, char **argv);

/* `cloister run APP ...` and `cloister task show|logs|result ID` (run_cmd.c). */
int cmd_run(int argc, char **argv);
int cmd_task(int argc, char **argv);
/* Calls Cloister.<op> (takes body); prints errors; *out: the answer. */
bool cli_cloister_call(const char *endpoint, const char *op, json_t *body, json_t **out);
void cli_print_json(const json_t *j);
/* Prints each state of task id until it ends; 0 if done. */
int cli_task_watch(const char *endpoint, const char *id);
/* wire_tasks.c: tasks <-> S3 (inputs, published outputs, notification targets). */
void cli_wire_tasks(tasks *t, s3 *objects);
/* task_cmd.c: `cloister task list|cancel|retry|logs --follow`, `cloister trigger`. */
int cmd_task_more(int argc, char **argv);
int cmd_trigger(int argc, char **argv);
/* `cloister request submit` (request_cmd.c) and `cloister worker` (worker_cmd.c). */
int cmd_request(int argc, char **argv);
int cmd_worker(int argc, char **argv);

/* ---- a remote worker's side of the node (worker_ops.c) ---- */
typedef struct {
    /* set by the caller before cli_worker_start */
    char *endpoint;           /* the node, http(s)://host:port */
    cli_creds base;           /* the standard chain's credentials (owned) */
    char *role_arn, *session; /* AWS_ROLE_ARN (NULL: none), the role session name */
    unsigned wait_s;          /* LeaseTask WaitSeconds (long poll) */
    unsigned max_tasks;       /* stop after leasing this many (0: no limit) */
    bool once;                /* one LeaseTask, then stop */
    volatile int *stop;       /* the loop's stop flag */
    /* private */
    pthread_mutex_t lock; /* role credentials: heartbeats and runs call concurrently */
    cli_creds role;
    time_t role_expires, role_tried;
    unsigned leased;
    bool poll_failed; /* the last LeaseTask failed */
} cli_worker;
/* Assumes the role if role_arn is set (err: "Code: Message" when STS refuses). */
cl_err cli_worker_start(cli_worker *w, char *err, size_t errlen);
/* The tasks_worker_ops whose functions are Cloister.*Task* calls to w's node. */
void cli_worker_ops(cli_worker *w, tasks_worker_ops *ops);
void cli_worker_free(cli_worker *w);

/* ---- the remote signer (signer_*_cmd.c) ---- */
typedef struct store store;
/* The signer's meta store: meta_url if given, else sqlite:<data_dir>/signer.db. */
cl_err signer_cli_store(const char *data_dir, const char *meta_url, store **out);
int cmd_signer(int argc, char **argv);
int cmd_signer_serve(int argc, char **argv);
int cmd_signer_keys(int argc, char **argv);
int cmd_signer_slashing(int argc, char **argv);
int cmd_signer_root(int argc, char **argv);
/* KMS-sealed keys (signer_kms.c, signer_app.c; docs/signer.md "Keys sealed by KMS"):
 * `signer keys seal`, `signer app`, `signer serve --supervise`, `signer status`.
 * cli_signer_kms_take removes `--kms-keys NAME` and `--endpoint URL` from a
 * `signer serve` command line (returns the new argc); cli_signer_kms_apply then
 * sets o->extra_keys to the loader that unwraps that key set inside the sandbox. */
int cli_signer_keys_seal(int argc, char **argv);
int cli_signer_app(int argc, char **argv);
int cli_signer_supervise(int argc, char **argv);
int cli_signer_status(int argc, char **argv);
int cli_signer_kms_take(int argc, char **argv);
bool cli_signer_kms_wanted(void);
/* --tls-key-kms FILE also sets o->tls_key_pem (the PEM, unwrapped by KMS Decrypt
 * with Recipient; err says why not). cli_signer_kms_done frees (zeroises) it. */
cl_err cli_signer_kms_apply(signer_server_opts *o, char *err, size_t errlen);
void cli_signer_kms_done(void);

#endif
