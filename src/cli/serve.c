/* serve.c — `cloister serve`: opens the data directory (meta store, TLS
 * material, credentials), bootstraps the first account on first start, runs
 * the front door until SIGTERM/SIGINT, then shuts down cleanly. A lock file
 * keeps two servers off one data directory. */
#include "cli/cli.h"
#include "cli/access_log.h"
#include "enclave/enclave.h"
#include "secrets/secrets.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

typedef struct {
    const char *data, *listen, *tls_listen;
    unsigned threads;
    bool verbose;
    const char *passphrase_file; /* --root-key-passphrase-file */
    const char *s3_domain;       /* --s3-domain: virtual-host addressing BUCKET.domain */
    const char *web_dir;         /* --web-dir: static pages (/por/) */
    /* resource limits (docs/security/trust-model.md "Resource limits") */
    uint64_t max_conns, max_conns_per_ip, header_timeout, min_body_rate;
    uint64_t preauth_body_limit, preauth_memory, post_body_limit;
    const char *metrics_listen;   /* --metrics-listen: /metrics on its own listener */
    const char *sms_listen;       /* --sms-listen: the iExec SMS endpoints (docs/secrets.md) */
    bool allow_app_network;       /* --allow-app-network: apps whose manifest asks get a network */
    bool sigv2_off;               /* --sigv2 off: S3 refuses Signature Version 2 */
    const char *meta_url, *blobs; /* --meta (CLOISTER_META_URL), --blobs */
    unsigned meta_pool, meta_timeout; /* --meta-pool, --meta-timeout (ms) */
    int run_workers;                  /* --workers (--run-workers): local workers; -1 = default 1 */
    unsigned lease_s, max_attempts, account_max; /* --task-lease-seconds ... */
    const char *access_log; /* --access-log FILE|-: one JSON line per request */
} serve_opts;

static const char SERVE_USAGE[] =
    "usage: cloister serve [options]\n"
    "  --data DIR                  data directory (default ./var)\n"
    "  --meta URL                  the meta store: postgres://USER@HOST:PORT/DB to run\n"
    "                              several nodes on one PostgreSQL (docs/operations.md);\n"
    "                              default env CLOISTER_META_URL, else sqlite DIR/meta.db\n"
    "  --meta-pool N               meta store connections (default 8)\n"
    "  --meta-timeout MS           PostgreSQL connect and statement deadline (default 5000)\n"
    "  --blobs DIR                 object bytes in DIR/blobs and app bundles in\n"
    "                              DIR/app-bundles: a directory all nodes share\n"
    "                              (default: the data directory)\n"
    "  --listen HOST:PORT          HTTP listener (default 127.0.0.1:9000)\n"
    "  --tls-listen HOST:PORT      also serve HTTPS (CA in DIR/tls/ca.pem)\n"
    "  --threads N                 request threads (default 4)\n"
    "  --root-key-passphrase-file FILE   derive the KMS root key from a passphrase\n"
    "  --s3-domain DOMAIN          virtual-host addressing BUCKET.DOMAIN (default localhost)\n"
    "  --web-dir DIR               the pages at /por/ (default the source web/)\n"
    "  --metrics-listen HOST:PORT  serve GET /metrics on this address only (then\n"
    "                              /metrics on --listen is an ordinary S3 path);\n"
    "                              without it /metrics is on --listen, unauthenticated.\n"
    "                              Metrics carry service, operation and status labels\n"
    "                              only, never account, user, bucket or key names.\n"
    "  --sms-listen HOST:PORT      serve the iExec SMS-compatible secret endpoints\n"
    "                              (/requesters/{address}/secrets/{name}) on this\n"
    "                              address, for the stock iexec CLI (chain.json \"sms\");\n"
    "                              off without it (docs/secrets.md)\n"
    "  --sigv2 on|off              accept S3 Signature Version 2 (aws CLI v1 and\n"
    "                              boto3 presigned URLs; default on; docs/s3.md)\n"
    "  --allow-app-network         let apps whose manifest asks for the network have\n"
    "                              it (default: every run gets loopback only)\n"
    "  --workers N                 local workers running tasks (default 1; 0: only\n"
    "                              remote `cloister worker`s run them; docs/tasks.md)\n"
    "  --task-lease-seconds N      a worker's lease on a task without heartbeat (30)\n"
    "  --task-max-attempts N       leases before a task whose worker died fails (3)\n"
    "  --account-max-running N     tasks of one account running at once (0: no limit)\n"
    "  --access-log FILE|-         one JSON line per request to FILE (appended;\n"
    "                              reopened on SIGHUP) or - for stderr\n"
    "                              (docs/access-log.md)\n"
    "  --verbose                   debug logging\n"
    "resource limits (0 = no limit; sizes take K, M or G):\n"
    "  --max-connections N         open connections per listener (default 4096;\n"
    "                              0: libmicrohttpd's own, about 1000)\n"
    "  --max-connections-per-ip N  open connections from one client address (default 128)\n"
    "  --header-timeout S          seconds to send a request's headers (default 10)\n"
    "  --min-body-rate BYTES       a body's least average rate per second, after\n"
    "                              --header-timeout seconds of grace (default 1K)\n"
    "  --preauth-body-limit SIZE   largest body buffered before its signature is\n"
    "                              verified (anonymous, IAM/STS/KMS) (default 1M)\n"
    "  --preauth-memory SIZE       all such bodies together; over it: 503 SlowDown\n"
    "                              (default 32M)\n"
    "  --post-body-limit SIZE      largest S3 POST Object (browser form) body, also\n"
    "                              read before its policy is verified and counted\n"
    "                              in --preauth-memory (default 16M)\n";

/* "1048576", "1024K", "1M", "1G" */
static bool parse_size(const char *v, uint64_t *out) {
    char *end = NULL;
    unsigned long long n = strtoull(v, &end, 10);
    if (end == v || v[0] == '-') return false;
    unsigned shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : 0;
    if (shift) end++;
    if (*end || n > (UINT64_MAX >> 30)) return false;
    *out = (uint64_t)n << shift;
    return true;
}

/* The numeric options; -1: not one of them, 2: a bad value. */
static int parse_limit(const char *a, const char *v, serve_opts *o) {
    static const struct {
        const char *name;
        size_t off;
    } L[] = {
        {"--max-connections", offsetof(serve_opts, max_conns)},
        {"--max-connections-per-ip", offsetof(serve_opts, max_conns_per_ip)},
        {"--header-timeout", offsetof(serve_opts, header_timeout)},
        {"--min-body-rate", offsetof(serve_opts, min_body_rate)},
        {"--preauth-body-limit", offsetof(serve_opts, preauth_body_limit)},
        {"--preauth-memory", offsetof(serve_opts, preauth_memory)},
        {"--post-body-limit", offsetof(serve_opts, post_body_limit)},
    };
    for (size_t i = 0; i < sizeof L / sizeof L[0]; i++) {
        if (strcmp(a, L[i].name) != 0) continue;
        uint64_t *dst = (uint64_t *)((char *)o + L[i].off);
        bool count = i < 3; /* connections and seconds: no size suffix, 32-bit */
        if (!parse_size(v, dst) || (count && *dst > 1000000)) {
            fprintf(stderr, "cloister serve: bad value for %s: %s\n", a, v);
            return 2;
        }
        return 0;
    }
    return -1;
}

static int parse_opts(int argc, char **argv, serve_opts *o) {
    *o = (serve_opts){"./var", "127.0.0.1:9000", NULL, 4, false, NULL, "localhost"};
    o->run_workers = -1;
    const char *env_meta = getenv("CLOISTER_META_URL");
    o->meta_url = env_meta && *env_meta ? env_meta : NULL;
    o->web_dir = CLOISTER_WEB_DIR; /* the source tree's web/ (meson.build) */
    o->max_conns = 4096;
    o->max_conns_per_ip = 128;
    o->header_timeout = 10;
    o->min_body_rate = 1024;
    o->preauth_body_limit = 1u << 20;
    o->preauth_memory = 32u << 20;
    o->post_body_limit = 16u << 20;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--verbose") == 0) {
            o->verbose = true;
            continue;
        }
        if (strcmp(a, "--allow-app-network") == 0) {
            o->allow_app_network = true;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(SERVE_USAGE, stdout);
            return -1;
        }
        if (!v) {
            fprintf(stderr, "cloister serve: %s needs a value\n", a);
            return 2;
        }
        if (strcmp(a, "--data") == 0)
            o->data = v;
        else if (strcmp(a, "--meta") == 0)
            o->meta_url = v;
        else if (strcmp(a, "--blobs") == 0)
            o->blobs = v;
        else if (strcmp(a, "--meta-pool") == 0)
            o->meta_pool = (unsigned)atoi(v);
        else if (strcmp(a, "--meta-timeout") == 0)
            o->meta_timeout = (unsigned)atoi(v);
        else if (strcmp(a, "--listen") == 0)
            o->listen = v;
        else if (strcmp(a, "--tls-listen") == 0)
            o->tls_listen = v;
        else if (strcmp(a, "--s3-domain") == 0)
            o->s3_domain = v;
        else if (strcmp(a, "--sigv2") == 0 && (strcmp(v, "on") == 0 || strcmp(v, "off") == 0))
            o->sigv2_off = strcmp(v, "off") == 0;
        else if (strcmp(a, "--web-dir") == 0)
            o->web_dir = v;
        else if (strcmp(a, "--access-log") == 0)
            o->access_log = v;
        else if (strcmp(a, "--metrics-listen") == 0)
            o->metrics_listen = v;
        else if (strcmp(a, "--sms-listen") == 0)
            o->sms_listen = v;
        else if (strcmp(a, "--root-key-passphrase-file") == 0)
            o->passphrase_file = v;
        else if (strcmp(a, "--threads") == 0)
            o->threads = (unsigned)atoi(v);
        else if (strcmp(a, "--run-workers") == 0 || strcmp(a, "--workers") == 0)
            o->run_workers = atoi(v) < 0 ? 0 : atoi(v) > 64 ? 64 : atoi(v);
        else if (strcmp(a, "--task-lease-seconds") == 0)
            o->lease_s = (unsigned)atoi(v);
        else if (strcmp(a, "--task-max-attempts") == 0)
            o->max_attempts = (unsigned)atoi(v);
        else if (strcmp(a, "--account-max-running") == 0)
            o->account_max = (unsigned)atoi(v);
        else {
            int rc = parse_limit(a, v, o);
            if (rc > 0) return rc;
            if (rc < 0) {
                fprintf(stderr, "cloister serve: unknown option %s\n%s", a, SERVE_USAGE);
                return 2;
            }
        }
        i++;
    }
    if (o->threads < 1 || o->threads > 256) o->threads = 4;
    return 0;
}

static int lock_data_dir(const char *dir) {
    char *path = cl_sprintf("%s/LOCK", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    free(path);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
        fprintf(stderr, "cloister serve: %s is in use by another cloister server\n", dir);
        if (fd >= 0) close(fd);
        return -1;
    }
    return fd;
}

/* The meta store (never its password), the nodes on it, and the blob directory. */
static void print_cluster(const serve_opts *o, store *st, const char *meta) {
    char *where = cli_meta_describe(meta), *nodes = cli_nodes_names(st);
    printf("Meta store: %s; nodes: %s\n", where, nodes);
    if (o->blobs) printf("Blobs: %s/blobs and %s/app-bundles\n", o->blobs, o->blobs);
    free(where);
    free(nodes);
}

static void print_banner(const serve_opts *o, const char *cred_path, bool created,
                         const char *account) {
    printf("Cloister is listening on http://%s", o->listen);
    if (o->tls_listen) printf(" and https://%s (CA: %s/tls/ca.pem)", o->tls_listen, o->data);
    printf("\n");
    if (o->metrics_listen) printf("Metrics: http://%s/metrics\n", o->metrics_listen);
    if (o->sms_listen) printf("iExec SMS endpoints: http://%s\n", o->sms_listen);
    if (created) printf("First start: created account %s with user admin.\n", account);
    printf("The admin's keys are in %s (profile cloister). Try:\n"
           "  AWS_SHARED_CREDENTIALS_FILE=%s aws --profile cloister --region us-east-1 "
           "--endpoint-url http://%s sts get-caller-identity\n",
           cred_path, cred_path, o->listen);
    fflush(stdout);
}

/* `--metrics-listen`: GET /metrics alone on its own (operator-only) address. */
static bool start_metrics(const serve_opts *o, frontdoor *fd, http_server **out) {
    *out = NULL;
    if (!o->metrics_listen) return true;
    http_config cfg = {.listen = o->metrics_listen, .max_body = 4096, .threads = 1};
    if (http_server_start(&cfg, frontdoor_metrics_handle, fd, out) == CL_OK) return true;
    fprintf(stderr, "cloister serve: cannot listen on %s for metrics\n", o->metrics_listen);
    return false;
}

/* `--sms-listen`: the iExec SMS endpoints on their own address (apps and
 * requesters are valid bucket names, so never on --listen). Bodies are secret
 * values of at most 4 KiB, read before any signature is checked. */
static bool start_sms(const serve_opts *o, secrets_store *ss, http_server **out) {
    *out = NULL;
    if (!o->sms_listen) return true;
    http_config cfg = {.listen = o->sms_listen,
                       .max_body = 8192,
                       .threads = 2,
                       .max_connections = (unsigned)o->max_conns,
                       .max_connections_per_ip = (unsigned)o->max_conns_per_ip,
                       .header_timeout = (unsigned)o->header_timeout,
                       .min_body_rate = o->min_body_rate,
                       .preauth_body_limit = 8192,
                       .preauth_memory = 4u << 20};
    if (http_server_start(&cfg, secrets_sms_handle, ss, out) == CL_OK) return true;
    fprintf(stderr, "cloister serve: cannot listen on %s for the SMS endpoints\n", o->sms_listen);
    return false;
}

static http_server *start_http(const serve_opts *o, frontdoor *fd, char **cert, char **key) {
    http_config cfg = {.listen = o->listen,
                       .tls_listen = o->tls_listen,
                       .max_body = 8u << 20,
                       .threads = o->threads,
                       .on_headers = frontdoor_on_headers,
                       .on_done = frontdoor_done,
                       .max_connections = (unsigned)o->max_conns,
                       .max_connections_per_ip = (unsigned)o->max_conns_per_ip,
                       .header_timeout = (unsigned)o->header_timeout,
                       .min_body_rate = o->min_body_rate,
                       .preauth_body_limit = (size_t)o->preauth_body_limit,
                       .preauth_memory = (size_t)o->preauth_memory};
    if (o->tls_listen) {
        char *dir = cl_sprintf("%s/tls", o->data);
        cl_err e = tls_ensure_material(dir, cert, key);
        free(dir);
        if (e != CL_OK) {
            fprintf(stderr, "cloister serve: cannot prepare TLS material: %s\n", cl_err_str(e));
            return NULL;
        }
        cfg.tls_cert_pem = *cert;
        cfg.tls_key_pem = *key;
    }
    http_server *srv = NULL;
    if (http_server_start(&cfg, frontdoor_handle, fd, &srv) != CL_OK) return NULL;
    return srv;
}

/* Housekeeping: expired sessions, object bytes no metadata names, KMS keys
 * past their deletion date or due for rotation. */
static void housekeeping(iam *m, s3 *objects, kms *keys) {
    size_t n = 0, r = 0;
    if (kms_housekeeping(keys, &n, &r) == CL_OK && (n || r))
        log_info("serve: deleted %zu KMS keys, rotated %zu", n, r);
    n = 0;
    if (iam_gc_sessions(m, time_now() - 86400, &n) == CL_OK && n)
        log_info("serve: removed %zu sessions expired over a day ago", n);
    n = 0;
    if (s3_gc(objects, time(NULL) - 3600, &n) == CL_OK && n)
        log_info("serve: removed %zu orphaned object blobs", n);
}

typedef struct {
    iam *m;
    s3 *objects;
    kms *keys;
    store *st;
    const char *node, *started;
} node_ctx;

#define NODE_BEAT_S 10 /* the node registry's refresh */

/* Waits for SIGTERM/SIGINT. Meanwhile: this node's registry entry every 10 s;
 * housekeeping at start-up and hourly, by one node at a time (the lease; on a
 * shared meta store every node asks each minute, so the work goes on when the
 * node that did it stops). */
static int wait_for_signal(const node_ctx *n) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    bool shared = strcmp(store_backend_name(n->st), "sqlite") != 0;
    uint64_t every_ns = (shared ? 60ull : 3600ull) * 1000000000ull, next = 0;
    for (bool first = true;; first = false) {
        if (!first) cli_node_beat(n->st, n->node, n->started);
        if (first || time_mono_ns() >= next) {
            next = time_mono_ns() + every_ns;
            if (cli_housekeeping_take(n->st, n->node, first)) {
                housekeeping(n->m, n->objects, n->keys);
                cli_housekeeping_done(n->st, n->node, true);
            }
        }
        if (first) log_info("serve: start-up housekeeping done");
        struct timespec beat = {NODE_BEAT_S, 0};
        int sig = sigtimedwait(&set, NULL, &beat);
        if (sig > 0) return sig;
    }
}

/* S3's SSE-KMS key service: KMS on the caller's behalf, via s3.<region>. */
static char *via_s3(const iam_caller *c) {
    return cl_sprintf("s3.%s.amazonaws.com", c->region ? c->region : "us-east-1");
}

static cl_err s3_data_key(void *ctx, const iam_caller *c, const http_request *req,
                          const char *key_id, const json_t *enc_ctx, uint8_t key[32], cl_buf *blob,
                          char **key_arn, aws_fault *f) {
    char *via = via_s3(c);
    cl_err e = kms_data_key_for(ctx, c, req, key_id, via, enc_ctx, key, blob, key_arn, f);
    free(via);
    return e;
}

static cl_err s3_decrypt(void *ctx, const iam_caller *c, const http_request *req,
                         const json_t *enc_ctx, cl_slice blob, uint8_t key[32], char **key_arn,
                         aws_fault *f) {
    char *via = via_s3(c);
    cl_err e = kms_decrypt_for(ctx, c, req, via, enc_ctx, blob, key, key_arn, f);
    free(via);
    return e;
}

/* The attestation root (Recipient documents chain to it) and KMS with the
 * node root key. */
static bool open_kms(const serve_opts *o, store *st, iam *m, attest_root **ar, kms **keys) {
    char *dir = cl_sprintf("%s/keys", o->data), err[256] = "";
    cl_err e = attest_root_open(dir, ar);
    free(dir);
    if (e != CL_OK) {
        fprintf(stderr, "cloister serve: cannot open the attestation root: %s\n", cl_err_str(e));
        return false;
    }
    kms_options ko = {.data_dir = o->data,
                      .passphrase_file = o->passphrase_file,
                      .attest_root_der = attest_root_cert_der(*ar)};
    if (kms_open(st, m, &ko, keys, err, sizeof err) != CL_OK) {
        fprintf(stderr, "cloister serve: cannot open KMS: %s\n", err[0] ? err : "root key");
        return false;
    }
    return true;
}

/* The run engine: runs execute in DATA/runs with this binary as their init. */
static bool start_runs(const serve_opts *o, tasks *apps, attest_root *ar, secrets_store *ss) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        fprintf(stderr, "cloister serve: cannot find this binary (/proc/self/exe)\n");
        return false;
    }
    exe[n] = 0;
    /* cloister-init beside this binary; else this binary (`cloister __enclave-init`) */
    char *slash = strrchr(exe, '/');
    char *init = cl_sprintf("%.*s/cloister-init", (int)(slash ? slash - exe : 1), exe);
    if (access(init, X_OK) != 0) {
        free(init);
        init = cl_strdup(exe);
    }
    char *work = cl_sprintf("%s/runs", o->data);
    char *state = cl_sprintf("%s/app-state", o->data);
    tasks_run_config rc = {.attest = ar,
                           .secrets = ss,
                           .init_path = init,
                           .work_dir = work,
                           .state_dir = state,
                           .allow_network = o->allow_app_network,
                           .workers = o->run_workers < 0 ? 1u : (unsigned)o->run_workers,
                           .queue = {o->lease_s, o->max_attempts, o->account_max}};
    cl_err e = tasks_runs_start(apps, &rc);
    free(work);
    free(state);
    free(init);
    if (e != CL_OK) {
        fprintf(stderr, "cloister serve: cannot start the run engine in %s/runs: %s\n", o->data,
                cl_err_str(e));
        return false;
    }
    if (enclave_backend_bwrap.unavailable) {
        char *why = enclave_backend_bwrap.unavailable();
        if (why) fprintf(stderr, "cloister serve: app runs will fail: %s\n", why);
        free(why);
    }
    if (!enclave_limits_probe())
        fprintf(stderr, "cloister serve: cgroup limits cannot be applied here: app runs get "
                        "only their wall-clock timeout (docs/enclave.md)\n");
    return true;
}

static int run(const serve_opts *o) {
    store *st = NULL;
    iam *m = NULL;
    s3 *objects = NULL;
    tasks *apps = NULL;
    attest_root *ar = NULL;
    kms *keys = NULL;
    secrets_store *secrets = NULL;
    access_log *alog = NULL;
    char *db = o->meta_url ? cl_strdup(o->meta_url) : cl_sprintf("%s/meta.db", o->data);
    char *cred = cl_sprintf("%s/credentials", o->data), *where = cli_meta_describe(db);
    char *cert = NULL, *key = NULL, *node = cli_node_id(o->listen), started[21];
    const char *blobs = o->blobs ? o->blobs : o->data;
    int rc = 1;
    bool created = false;
    time_format_iso8601(time_now(), started);
    store_options so = {.pool_size = o->meta_pool, .timeout_ms = o->meta_timeout};
    if (store_open_opts(db, &so, &st) != CL_OK || iam_open(st, &m) != CL_OK) {
        fprintf(stderr, "cloister serve: cannot open the meta store (%s)\n", where);
        goto out;
    }
    if (!open_kms(o, st, m, &ar, &keys)) goto out;
    uint8_t seal[32]; /* IAM's secrets at rest are sealed under the root key */
    kms_node_key(keys, "iam-secrets", seal);
    iam_set_secret_key(m, seal);
    cl_cleanse(seal, sizeof seal);
    uint8_t sse_seal[32]; /* the SSE-S3 node key at rest is sealed under the root key too */
    kms_node_key(keys, "sse-s3-node-key", sse_seal);
    cl_err se = s3_open_at(st, m, o->data, blobs, sse_seal, &objects);
    cl_cleanse(sse_seal, sizeof sse_seal);
    if (se != CL_OK) {
        fprintf(stderr,
                "cloister serve: cannot open the object store (%s/blobs or "
                "%s/keys/sse-s3.key: %s)\n",
                blobs, o->data, cl_err_str(se));
        goto out;
    }
    char why[512] = ""; /* every node holds the same keys (docs/operations.md) */
    if (cli_cluster_check(st, node, keys, objects, ar, why, sizeof why) != CL_OK) {
        fprintf(stderr, "cloister serve: %s\n", why);
        goto out;
    }
    if (iam_bootstrap(m, cred, &created) != CL_OK) {
        fprintf(stderr, "cloister serve: cannot create the first account\n");
        goto out;
    }
    s3_set_domain(objects, o->s3_domain);
    iam_set_s3_domain(m, o->s3_domain); /* SigV2 signs the bucket of BUCKET.DOMAIN */
    iam_set_sigv2(m, !o->sigv2_off);
    s3_reserve_bucket_name(objects, "por"); /* anonymous GET /por/ is the PoR page */
    s3_set_key_service(objects, &(s3_key_service){keys, s3_data_key, s3_decrypt});
    uint8_t sms_seal[32]; /* requester secrets at rest, under the root key */
    kms_node_key(keys, SECRETS_NODE_KEY_PURPOSE, sms_seal);
    cl_err sse = secrets_store_open(st, sms_seal, &secrets);
    cl_cleanse(sms_seal, sizeof sms_seal);
    if (sse != CL_OK) {
        fprintf(stderr, "cloister serve: cannot open the secret store\n");
        goto out;
    }
    if (tasks_open(st, m, blobs, &apps) != CL_OK) {
        fprintf(stderr, "cloister serve: cannot open the app store in %s/app-bundles\n", blobs);
        goto out;
    }
    tasks_set_sig_check(apps, cli_app_owner_sig_check);
    tasks_set_secrets(apps, secrets); /* app developer secrets */
    secrets_set_app_owner_lookup(secrets, tasks_app_owner_by_address, apps); /* SMS /apps */
    cli_wire_tasks(apps, objects); /* inputs, outputs and notifications in S3 */
    if (!start_runs(o, apps, ar, secrets)) goto out;
    frontdoor fd = {m, st, objects, keys, o->web_dir, o->metrics_listen != NULL, apps, secrets};
    if (o->access_log && access_log_open(o->access_log, &alog) != CL_OK) {
        fprintf(stderr, "cloister serve: cannot open the access log %s\n", o->access_log);
        goto out;
    }
    fd.access_log = alog;
    fd.post_body_limit = (size_t)o->post_body_limit;
    http_server *msrv = NULL, *ssrv = NULL;
    if (!start_metrics(o, &fd, &msrv)) goto out;
    if (!start_sms(o, secrets, &ssrv)) {
        http_server_stop(msrv);
        goto out;
    }
    http_server *srv = start_http(o, &fd, &cert, &key);
    if (!srv) {
        http_server_stop(msrv);
        http_server_stop(ssrv);
        goto out;
    }
    cli_node_beat(st, node, started);
    print_cluster(o, st, db);
    print_banner(o, cred, created, iam_root_account(m));
    int sig = wait_for_signal(&(node_ctx){m, objects, keys, st, node, started});
    log_info("serve: %s received, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    http_server_stop(srv);
    http_server_stop(msrv);
    http_server_stop(ssrv);
    cli_node_leave(st, node);
    rc = 0;
out:
    access_log_close(alog); /* after the listeners: no request writes to it any more */
    tasks_close(apps);      /* first: its run workers use the secret store and the root */
    secrets_store_close(secrets);
    kms_close(keys);
    attest_root_close(ar);
    s3_close(objects);
    iam_close(m);
    store_close(st);
    cl_free_secret(key);
    free(cert);
    free(db);
    free(cred);
    free(where);
    free(node);
    return rc;
}

/* Room for --max-connections sockets (both listeners) besides the data files:
 * the soft descriptor limit is raised toward the hard one. */
static void raise_fd_limit(const serve_opts *o) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    rlim_t want = (rlim_t)(o->max_conns ? o->max_conns : 1024) * (o->tls_listen ? 2 : 1) + 256;
    if (rl.rlim_cur >= want) return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
        log_warn("serve: the open-files limit (%llu) is below what --max-connections needs (%llu)",
                 (unsigned long long)rl.rlim_cur, (unsigned long long)want);
}

int cmd_serve(int argc, char **argv) {
    serve_opts o;
    int rc = parse_opts(argc, argv, &o);
    if (rc < 0) return 0; /* --help */
    if (rc) return rc;
    raise_fd_limit(&o);
    if (o.verbose) log_set_level(LOG_DEBUG);
    /* Block the stop signals in every thread; the main thread takes them with sigwait. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (dir_ensure(o.data, 0700) != CL_OK) {
        fprintf(stderr, "cloister serve: cannot create data directory %s\n", o.data);
        return 1;
    }
    if (o.blobs && dir_ensure(o.blobs, 0700) != CL_OK) {
        fprintf(stderr, "cloister serve: cannot create the blob directory %s\n", o.blobs);
        return 1;
    }
    int lock = lock_data_dir(o.data);
    if (lock < 0) return 1;
    rc = run(&o);
    close(lock);
    return rc;
}
