/* run_host.c — one confidential run on this node, the host side: checks the
 * app's bundle against its recorded measurement, lays out the run's
 * directories (app, inputs, a fresh output dir), resolves the secrets the run
 * may see (failing before the app starts when one is missing), starts the
 * sandbox with the init (run_init.c) and serves its control channel: signs
 * the attestation document over the init's ephemeral key and sends it the
 * environment sealed to that key. After the sandbox is gone it checks the
 * receipt against the node's attestation root, recomputes the result digest
 * from what is on disk and packs /iexec_out as the result. Secret values live
 * only in the sealed frame and in buffers wiped right after sealing; they are
 * never logged, stored or returned. */
#include "tasks/run_internal.h"

#include "attest/attest.h"
#include "crypto/crypto.h"
#include "enclave/enclave.h"
#include "secrets/secrets.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_MEMORY_MB 512u
#define DEFAULT_PIDS 256u
#define DEFAULT_TIMEOUT_S 60u
#define RUN_LOG_MAX (64u << 10)

void run_job_free(run_job *j) {
    json_decref(j->app);
    buf_free(&j->bundle);
    free(j->requester_arn);
    free(j->account);
    free(j->principal_id);
    json_decref(j->args);
    json_decref(j->secrets);
    free(j->event);
    for (size_t i = 0; i < j->n_inputs; i++) {
        free(j->inputs[i].url);
        buf_free(&j->inputs[i].bytes);
    }
    memset(j, 0, sizeof *j);
}

void run_outcome_free(run_outcome *o) {
    free(o->error);
    free(o->det_path);
    free(o->receipt);
    buf_free(&o->output);
    buf_free(&o->out);
    buf_free(&o->err);
    buf_free(&o->log);
    memset(o, 0, sizeof *o);
}

static void fail(run_outcome *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(run_outcome *o, const char *fmt, ...) {
    if (o->error) return; /* the first reason is the one that matters */
    va_list ap;
    va_start(ap, fmt);
    cl_buf b = CL_BUF_INIT;
    buf_vappendf(&b, fmt, ap);
    va_end(ap);
    o->error = buf_take_cstr(&b);
    o->ok = false;
}

static const char *jstr(const json_t *j, const char *k) {
    const char *s = json_string_value(json_object_get(j, k));
    return s ? s : "";
}

/* ---- directories ---- */
static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f) {
    (void)st;
    (void)f;
    if (flag == FTW_DP || flag == FTW_D) return rmdir(p) == 0 || errno == ENOENT ? 0 : 0;
    (void)unlink(p);
    return 0;
}

static int chmod_dirs(const char *p, const struct stat *st, int flag, struct FTW *f) {
    (void)f;
    if (flag == FTW_D || flag == FTW_DNR) (void)chmod(p, 0700 | (st->st_mode & 0777));
    return 0;
}

static void rm_tree(const char *dir) {
    (void)nftw(dir, chmod_dirs, 16, FTW_PHYS); /* an app may leave a dir we cannot list */
    (void)nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void run_workdir_clear(const char *work_dir) {
    DIR *d = opendir(work_dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char *p = cl_sprintf("%s/%s", work_dir, e->d_name);
        rm_tree(p);
        free(p);
    }
    if (d) closedir(d);
}

typedef struct {
    char *root, *app, *in, *out;
} run_dirs;

static bool dirs_make(const tasks_run_config *cfg, const char *task, run_dirs *d) {
    d->root = cl_sprintf("%s/%s", cfg->work_dir, task);
    d->app = cl_sprintf("%s/app", d->root);
    d->in = cl_sprintf("%s/in", d->root);
    d->out = cl_sprintf("%s/out", d->root);
    return dir_ensure(d->app, 0700) == CL_OK && dir_ensure(d->in, 0700) == CL_OK &&
           dir_ensure(d->out, 0700) == CL_OK && chmod(d->root, 0700) == 0;
}

static void dirs_free(run_dirs *d) {
    if (d->root) rm_tree(d->root);
    free(d->root);
    free(d->app);
    free(d->in);
    free(d->out);
}

/* ---- the bundle and the inputs ---- */
static bool check_bundle(const run_job *j, run_outcome *o) {
    json_t *app = j->app;
    uint8_t m[TASKS_MEASUREMENT_LEN];
    char hex[2 * TASKS_MEASUREMENT_LEN + 1], err[160];
    if (tasks_bundle_check(buf_slice(&j->bundle), err, sizeof err) != CL_OK) {
        fail(o, "the app bundle is damaged (%s): refusing to run it", err);
        return false;
    }
    tasks_app_measure(buf_slice(&j->bundle), jstr(app, "Entrypoint"), jstr(app, "Manifest"), m);
    hex_encode_to(hex, m, sizeof m);
    if (strcmp(hex, jstr(app, "Measurement")) != 0) {
        fail(o, "the app bundle does not match its recorded measurement (tampered?): refusing "
                "to run it");
        return false;
    }
    return true;
}

static bool write_inputs(const run_job *j, const run_dirs *d, run_outcome *o) {
    if (j->event) {
        char *p = cl_sprintf("%s/event.json", d->in);
        cl_err e = file_write_atomic(p, slice_cstr(j->event), 0644);
        free(p);
        if (e != CL_OK) {
            fail(o, "cannot write the event file");
            return false;
        }
    }
    for (size_t i = 0; i < j->n_inputs; i++) {
        char *p = cl_sprintf("%s/%s", d->in, j->inputs[i].name);
        cl_err e = file_write_atomic(p, buf_slice(&j->inputs[i].bytes), 0644);
        free(p);
        if (e != CL_OK) {
            fail(o, "cannot write input file %zu", i + 1);
            return false;
        }
    }
    return true;
}

/* ---- the environment ---- */
static void env_add(json_t *env, const char *name, const char *value) {
    char *s = cl_sprintf("%s=%s", name, value);
    json_array_append_new(env, json_string(s));
    cl_free_secret(s);
}

static void env_add_secret(json_t *env, const char *name, const cl_buf *v) {
    cl_buf s = CL_BUF_INIT;
    buf_appendf(&s, "%s=", name);
    buf_append(&s, v->ptr, strnlen((const char *)v->ptr, v->len)); /* env strings end at NUL */
    json_array_append_new(env, json_stringn((const char *)s.ptr, s.len));
    buf_free_secret(&s);
}

static void env_public(const run_job *j, json_t *env) {
    char n[48], dealhex[67] = "0x";
    uint8_t deal[32];
    crypto_keccak256(slice_cstr(j->task_id), deal); /* one task per deal here */
    hex_encode_to(dealhex + 2, deal, sizeof deal);
    env_add(env, "PATH", "/usr/local/bin:/usr/bin:/bin");
    env_add(env, "HOME", "/tmp");
    env_add(env, "LANG", "C.UTF-8");
    env_add(env, "IEXEC_IN", "/iexec_in");
    env_add(env, "IEXEC_OUT", "/iexec_out");
    env_add(env, "IEXEC_TASK_ID", j->task_id);
    env_add(env, "IEXEC_DEAL_ID", dealhex);
    env_add(env, "IEXEC_TASK_INDEX", "0");
    env_add(env, "IEXEC_BOT_SIZE", "1");
    env_add(env, "IEXEC_BOT_FIRST_INDEX", "0");
    env_add(env, "IEXEC_BOT_TASK_INDEX", "0");
    env_add(env, "IEXEC_DATASET_ADDRESS", "0x0000000000000000000000000000000000000000");
    env_add(env, "IEXEC_DATASET_FILENAME", "");
    snprintf(n, sizeof n, "%zu", j->n_inputs);
    env_add(env, "IEXEC_INPUT_FILES_NUMBER", n);
    env_add(env, "IEXEC_INPUT_FILES_FOLDER", "/iexec_in");
    for (size_t i = 0; i < j->n_inputs; i++) {
        snprintf(n, sizeof n, "IEXEC_INPUT_FILE_NAME_%zu", i + 1);
        env_add(env, n, j->inputs[i].name);
    }
    if (j->event) env_add(env, "CLOISTER_EVENT", j->event);
}

/* Adds the secret variables; false (the run fails before the app starts)
 * when a mapped requester secret does not exist for this requester. */
static bool env_secrets(const run_job *j, secrets_store *ss, json_t *env, run_outcome *o) {
    secrets_addr app;
    cl_buf v = CL_BUF_INIT;
    if (!ss) { /* a remote worker: tasks with secrets are never leased to it */
        if (json_object_size(j->secrets) == 0) return true;
        fail(o, "this worker holds no secrets: tasks with requester secrets run on the node");
        return false;
    }
    if (secrets_addr_parse(slice_cstr(jstr(j->app, "Address")), &app) == CL_OK &&
        secrets_app_for_run(ss, &app, j->debug, &v) == CL_OK) {
        env_add_secret(env, "IEXEC_APP_DEVELOPER_SECRET", &v);
        env_add_secret(env, "IEXEC_APP_DEVELOPER_SECRET_1", &v);
    }
    buf_free_secret(&v);
    const char *k;
    json_t *name;
    json_object_foreach(j->secrets, k, name) {
        cl_err e =
            secrets_for_run(ss, j->account, j->principal_id, json_string_value(name), j->debug, &v);
        if (e != CL_OK) {
            buf_free_secret(&v);
            fail(o,
                 "%s secret %s (mapped to IEXEC_REQUESTER_SECRET_%s) does not exist for %s: "
                 "push it first (cloister secret push%s, or iexec requester push-secret)",
                 j->debug ? "debug requester" : "requester", json_string_value(name), k,
                 j->requester_arn, j->debug ? " --debug" : "");
            return false;
        }
        char *var = cl_sprintf("IEXEC_REQUESTER_SECRET_%s", k);
        env_add_secret(env, var, &v);
        free(var);
        buf_free_secret(&v);
    }
    return true;
}

static json_t *argv_of(const run_job *j) {
    json_t *a = json_array();
    char *ep = cl_strdup(jstr(j->app, "Entrypoint"));
    for (char *save = NULL, *t = strtok_r(ep, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
        json_array_append_new(a, json_string(t));
    free(ep);
    size_t i;
    json_t *v;
    json_array_foreach(j->args, i, v) json_array_append(a, v);
    return a;
}

/* ---- the control channel ---- */
typedef struct {
    const tasks_run_config *cfg;
    const run_job *job;
    const uint8_t *runtime_pcr;
    int fd;
    json_t *env;       /* the sealed payload's plaintext; wiped by the thread */
    char *receipt;     /* from the init */
    char *failed;      /* the init's reason */
    bool started;      /* the init asked for its document */
    unsigned attested; /* documents signed for the app */
} ctl_ctx;

static void sha384(cl_slice s, uint8_t out[48]) {
    unsigned n = 48;
    EVP_Digest(s.ptr, s.len, out, &n, EVP_sha384(), NULL);
}

/* A document of a run (PCR0 = app measurement, PCR1 = runtime, PCR3 =
 * SHA-384 of the requester's ARN, module_id = task id) over spki. An empty
 * nonce gets 16 random bytes. */
cl_err run_sign_doc(struct attest_root *root, const uint8_t runtime_pcr[48], const char *task_id,
                    const char *measurement_hex, const char *requester_arn,
                    const char *remote_worker_arn, cl_slice spki, cl_slice user_data,
                    cl_slice nonce, cl_buf *doc) {
    attest_doc d = {0};
    snprintf(d.module_id, sizeof d.module_id, "%s", task_id);
    cl_buf m = CL_BUF_INIT;
    if (!measurement_hex || hex_decode(&m, slice_cstr(measurement_hex)) != CL_OK || m.len != 48) {
        buf_free(&m);
        return CL_ERR_INVALID;
    }
    memcpy(d.pcrs[0], m.ptr, 48);
    buf_free(&m);
    memcpy(d.pcrs[1], runtime_pcr, 48);
    sha384(slice_cstr(requester_arn ? requester_arn : ""), d.pcrs[3]);
    d.pcr_present = 1u << 0 | 1u << 1 | 1u << 3;
    if (remote_worker_arn) {
        sha384(slice_cstr(remote_worker_arn), d.pcrs[ATTEST_PCR_REMOTE_WORKER]);
        d.pcr_present |= 1u << ATTEST_PCR_REMOTE_WORKER;
    }
    buf_append_slice(&d.public_key, spki);
    buf_append_slice(&d.user_data, user_data);
    if (nonce.len) {
        buf_append_slice(&d.nonce, nonce);
    } else {
        uint8_t r[16];
        crypto_random(r, sizeof r);
        buf_append(&d.nonce, r, sizeof r);
    }
    cl_err e = attest_sign(root, &d, doc);
    attest_doc_free(&d);
    return e;
}

static cl_err sign_doc(ctl_ctx *c, cl_slice spki, cl_slice user_data, cl_slice nonce, cl_buf *doc) {
    if (c->cfg->attest_fn)
        return c->cfg->attest_fn(c->cfg->attest_ctx, spki, user_data, nonce, doc);
    return run_sign_doc(c->cfg->attest, c->runtime_pcr, c->job->task_id,
                        jstr(c->job->app, "Measurement"), c->job->requester_arn, NULL, spki,
                        user_data, nonce, doc);
}

/* The app's key: RSA 2048..4096 (what KMS Recipient takes) or EC P-256/P-384. */
static bool app_key_ok(cl_slice spki) {
    const unsigned char *p = (const unsigned char *)spki.ptr;
    EVP_PKEY *k = spki.len <= RUN_ATTEST_FIELD_MAX ? d2i_PUBKEY(NULL, &p, (long)spki.len) : NULL;
    bool ok = k && p == (const unsigned char *)spki.ptr + spki.len;
    if (ok && EVP_PKEY_is_a(k, "RSA"))
        ok = EVP_PKEY_get_bits(k) >= 2048 && EVP_PKEY_get_bits(k) <= 4096;
    else if (ok)
        ok = EVP_PKEY_is_a(k, "EC") && (EVP_PKEY_get_bits(k) == 256 || EVP_PKEY_get_bits(k) == 384);
    EVP_PKEY_free(k);
    return ok;
}

static bool b64_member(const json_t *j, const char *k, cl_buf *out) {
    const char *s = json_string_value(json_object_get(j, k));
    if (!s) return !json_object_get(j, k); /* absent is fine, another type is not */
    return base64_decode(out, slice_cstr(s)) == CL_OK && out->len <= RUN_ATTEST_FIELD_MAX;
}

/* An attestation request of the app, forwarded by the init. */
static json_t *answer_attest(ctl_ctx *c, const json_t *req) {
    cl_buf spki = CL_BUF_INIT, ud = CL_BUF_INIT, nonce = CL_BUF_INIT, doc = CL_BUF_INIT;
    json_t *ans = NULL;
    if (++c->attested > RUN_ATTEST_MAX)
        ans = json_pack("{s:s}", "error", "at most 16 attestation documents per run");
    else if (!b64_member(req, "public_key", &spki) || !spki.len || !app_key_ok(buf_slice(&spki)))
        ans = json_pack("{s:s}", "error",
                        "public_key must be a DER SubjectPublicKeyInfo: RSA 2048..4096 bits "
                        "(KMS Recipient) or EC P-256/P-384, base64");
    else if (!b64_member(req, "user_data", &ud) || !b64_member(req, "nonce", &nonce))
        ans = json_pack("{s:s}", "error", "user_data and nonce: base64, at most 1024 bytes each");
    else if (sign_doc(c, buf_slice(&spki), buf_slice(&ud), buf_slice(&nonce), &doc) != CL_OK)
        ans = json_pack("{s:s}", "error", "the node could not sign the document");
    else {
        cl_buf b64 = CL_BUF_INIT;
        base64_encode(&b64, buf_slice(&doc));
        ans = json_pack("{s:s}", "document", buf_cstr(&b64));
        buf_free(&b64);
    }
    buf_free(&spki);
    buf_free(&ud);
    buf_free(&nonce);
    buf_free(&doc);
    return ans;
}

static cl_err send_env(ctl_ctx *c, json_t *hello) {
    cl_buf spki = CL_BUF_INIT, doc = CL_BUF_INIT, sealed = CL_BUF_INIT, aad = CL_BUF_INIT;
    cl_buf b1 = CL_BUF_INIT, b2 = CL_BUF_INIT;
    const char *pk = json_string_value(json_object_get(hello, "public_key"));
    cl_err e = pk ? base64_decode(&spki, slice_cstr(pk)) : CL_ERR_INVALID;
    if (e == CL_OK) e = sign_doc(c, buf_slice(&spki), slice_cstr(""), slice_cstr(""), &doc);
    char *plain = e == CL_OK ? json_dumps(c->env, JSON_COMPACT) : NULL;
    buf_append_cstr(&aad, RUN_ENV_AAD);
    if (e == CL_OK)
        e = plain ? crypto_ecies_seal(buf_slice(&spki), buf_slice(&aad), slice_cstr(plain), &sealed)
                  : CL_ERR_NOMEM;
    if (plain) cl_free_secret(plain);
    if (e == CL_OK) {
        base64_encode(&b1, buf_slice(&doc));
        base64_encode(&b2, buf_slice(&sealed));
        json_t *m = json_pack("{s:s, s:s}", "attestation", buf_cstr(&b1), "sealed", buf_cstr(&b2));
        e = run_frame_write_json(c->fd, m);
        json_decref(m);
    }
    buf_free(&spki);
    buf_free(&doc);
    buf_free(&sealed);
    buf_free(&aad);
    buf_free(&b1);
    buf_free(&b2);
    return e;
}

static void *ctl_main(void *arg) {
    ctl_ctx *c = arg;
    json_t *m = NULL;
    if (run_frame_read_json(c->fd, 30000, &m) == CL_OK && json_object_get(m, "public_key")) {
        c->started = true;
        if (send_env(c, m) != CL_OK) c->failed = cl_strdup("cannot seal the run's environment");
    } else if (m && json_object_get(m, "failed")) {
        c->failed = cl_strdup(jstr(m, "failed"));
    }
    json_decref(m);
    m = NULL;
    while (c->started && !c->failed && run_frame_read_json(c->fd, -1, &m) == CL_OK) {
        json_t *req = json_object_get(m, "attest");
        if (json_is_object(req)) { /* the app asks for a document over its key */
            json_t *ans = answer_attest(c, req);
            cl_err e = run_frame_write_json(c->fd, ans);
            json_decref(ans);
            json_decref(m);
            m = NULL;
            if (e == CL_OK) continue;
            break;
        }
        if (json_is_string(json_object_get(m, "receipt")))
            c->receipt = cl_strdup(jstr(m, "receipt"));
        else if (json_is_string(json_object_get(m, "failed")))
            c->failed = cl_strdup(jstr(m, "failed"));
        break;
    }
    json_decref(m);
    return NULL;
}

/* ---- the sandbox ---- */
/* The app's persistent directory (manifest "state": true): state_dir/<hex
 * SHA-256 of the app's ARN>, so it follows the app (its owner's account and
 * name) across runs and code updates; malloc'd, or NULL when the app has none
 * or it cannot be made (the run then fails: the app relies on it). */
static char *state_dir_of(const run_job *j, const tasks_run_config *cfg, bool *failed) {
    tasks_manifest_limits ml;
    tasks_manifest_limits_of(jstr(j->app, "Manifest"), &ml);
    *failed = false;
    if (!ml.state) return NULL;
    char hex[65];
    crypto_sha256_hex(slice_cstr(jstr(j->app, "Arn")), hex);
    char *dir = cfg->state_dir ? cl_sprintf("%s/%s", cfg->state_dir, hex) : NULL;
    if (!dir || dir_ensure(dir, 0700) != CL_OK) {
        free(dir);
        *failed = true;
        return NULL;
    }
    return dir;
}

static void limits_of(const run_job *j, const tasks_run_config *cfg, enclave_spec *s) {
    tasks_manifest_limits ml;
    tasks_manifest_limits_of(jstr(j->app, "Manifest"), &ml);
    s->network = ml.network && cfg->allow_network;
    s->limits.memory_bytes = (uint64_t)(ml.memory_mb ? ml.memory_mb : DEFAULT_MEMORY_MB) << 20;
    s->limits.pids = ml.pids ? ml.pids : DEFAULT_PIDS;
    s->limits.cpu_millis = 1000;
    s->limits.wall_timeout_ms =
        (ml.timeout_seconds ? ml.timeout_seconds : DEFAULT_TIMEOUT_S) * 1000u;
}

static void take_log(cl_buf *dst, const cl_buf *src, bool truncated) {
    buf_append(dst, src->ptr, src->len < RUN_LOG_MAX ? src->len : RUN_LOG_MAX);
    if (truncated || src->len > RUN_LOG_MAX)
        buf_append_cstr(dst, "\n[cloister: output truncated]\n");
}

static void judge(const enclave_result *r, const enclave_spec *s, ctl_ctx *c, run_outcome *o) {
    take_log(&o->out, &r->out, r->out_truncated);
    take_log(&o->err, &r->err, r->err_truncated);
    take_log(&o->log, &r->log, r->log_truncated);
    o->exit_code = r->exit_code;
    if (r->cancelled) fail(o, "the task was cancelled: the run was killed");
    if (r->timed_out)
        fail(o, "the app did not finish within its %u s timeout: the run was killed",
             s->limits.wall_timeout_ms / 1000u);
    if (r->limit_hit & ENCLAVE_HIT_MEMORY)
        fail(o, "the app exceeded its memory limit (%llu MiB) and was killed",
             (unsigned long long)(s->limits.memory_bytes >> 20));
    if (c->failed) {
        if (r->limit_hit & ENCLAVE_HIT_PIDS)
            fail(o, "%s (the app reached its limit of %u processes)", c->failed, s->limits.pids);
        fail(o, "%s", c->failed);
    }
    if (!c->started) fail(o, "the sandbox did not start (exit status %d)", r->exit_code);
    if (!c->receipt) fail(o, "the run ended without a receipt (exit status %d)", r->exit_code);
}

/* The receipt must verify against this node's root and name what is on disk. */
static void check_result(const tasks_run_config *cfg, const run_dirs *d, ctl_ctx *c,
                         run_outcome *o) {
    json_t *body = NULL;
    char err[256] = "";
    cl_slice root = cfg->attest ? attest_root_cert_der(cfg->attest) : cfg->root_der;
    if (tasks_receipt_verify(slice_cstr(c->receipt), root, &body, NULL, err, sizeof err) != CL_OK) {
        fail(o, "the run's receipt does not verify: %s", err);
        return;
    }
    tasks_result r = {0};
    if (tasks_result_compute(d->out, &r, err, sizeof err) != CL_OK)
        fail(o, "%s", err);
    else if (strcmp(r.digest, jstr(json_object_get(body, "result"), "digest")) != 0)
        fail(o, "the output changed after the enclave signed its digest");
    else {
        memcpy(o->result_digest, r.digest, sizeof o->result_digest);
        o->det_path = r.det_path ? cl_strdup(r.det_path) : NULL;
    }
    tasks_result_free(&r);
    json_decref(body);
}

static void sandbox(const tasks_run_config *cfg, const uint8_t *runtime_pcr, run_job *j,
                    const run_dirs *d, json_t *env, run_state_fn state, void *arg, run_outcome *o) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        fail(o, "cannot make the control channel: %s", strerror(errno));
        return;
    }
    ctl_ctx c = {.cfg = cfg, .job = j, .runtime_pcr = runtime_pcr, .fd = sv[0], .env = env};
    char fdv[32];
    snprintf(fdv, sizeof fdv, "CLOISTER_CTL_FD=%d", sv[1]);
    const char *argv[] = {RUN_INIT_PATH, "__enclave-init", NULL};
    const char *envp[] = {fdv, "ASAN_OPTIONS=detect_leaks=0", NULL}; /* LSan needs ptrace */
    enclave_spec s = {.argv = argv,
                      .env = envp,
                      .app_dir = d->app,
                      .in_dir = d->in,
                      .out_dir = d->out,
                      .extra_fd = sv[1],
                      .runtime_bin = cfg->init_path,
                      .output_max = ENCLAVE_DEFAULT_OUTPUT_MAX};
    limits_of(j, cfg, &s);
    s.cancel = cfg->cancel;
    bool no_state;
    char *state_dir = state_dir_of(j, cfg, &no_state);
    if (no_state) {
        fail(o, "the app asks for a state directory (manifest \"state\") and this host "
                "cannot give it one");
        close(sv[0]);
        close(sv[1]);
        return;
    }
    s.state_dir = state_dir;
    pthread_t th;
    bool threaded = pthread_create(&th, NULL, ctl_main, &c) == 0;
    state(arg, "running");
    enclave_result r;
    cl_err e = threaded ? enclave_run(&s, &r) : CL_ERR_INTERNAL;
    close(sv[1]); /* the init's end: the thread now sees EOF once the sandbox is gone */
    if (threaded) pthread_join(th, NULL);
    close(sv[0]);
    if (e != CL_OK)
        fail(o, "cannot start the sandbox: %s",
             e == CL_ERR_NOT_FOUND ? "bubblewrap is not installed" : cl_err_str(e));
    else
        judge(&r, &s, &c, o);
    if (!o->error) check_result(cfg, d, &c, o);
    if (!o->error) {
        o->receipt = c.receipt;
        c.receipt = NULL;
    }
    enclave_result_free(&r);
    free(state_dir);
    free(c.receipt);
    free(c.failed);
}

void run_execute(const tasks_run_config *cfg, const uint8_t runtime_pcr[48], run_job *j,
                 run_state_fn state, void *arg, run_outcome *o) {
    memset(o, 0, sizeof *o);
    o->exit_code = -1;
    state(arg, "fetching");
    run_dirs d = {0};
    json_t *env = json_array();
    char err[256];
    if (!check_bundle(j, o)) goto out;
    if (!dirs_make(cfg, j->task_id, &d)) {
        fail(o, "cannot make the run's directories under %s", cfg->work_dir);
        goto out;
    }
    if (tasks_bundle_unpack(buf_slice(&j->bundle), d.app, err, sizeof err) != CL_OK) {
        fail(o, "cannot unpack the app bundle: %s", err);
        goto out;
    }
    if (!write_inputs(j, &d, o)) goto out;
    env_public(j, env);
    if (!env_secrets(j, cfg->secrets, env, o)) goto out;
    json_t *inputs = json_array();
    for (size_t i = 0; i < j->n_inputs; i++)
        json_array_append_new(inputs, json_string(j->inputs[i].name));
    json_t *payload =
        json_pack("{s:s, s:o, s:O, s:{s:s, s:s, s:s}, s:o}", "task", j->task_id, "argv", argv_of(j),
                  "env", env, "app", "arn", jstr(j->app, "Arn"), "address", jstr(j->app, "Address"),
                  "measurement", jstr(j->app, "Measurement"), "inputs", inputs);
    sandbox(cfg, runtime_pcr, j, &d, payload, state, arg, o);
    json_t *penv = json_object_get(payload, "env");
    for (size_t i = 0; i < json_array_size(penv); i++) {
        json_t *v = json_array_get(penv, i);
        cl_cleanse((char *)json_string_value(v), json_string_length(v));
    }
    json_decref(payload);
    if (o->error) goto out;
    state(arg, "uploading");
    if (tasks_bundle_pack(d.out, TASKS_OUTPUT_MAX, &o->output, err, sizeof err) != CL_OK) {
        fail(o, "cannot keep the result: %s", err);
        goto out;
    }
    o->ok = true;
out:
    for (size_t i = 0; i < json_array_size(env); i++) {
        json_t *v = json_array_get(env, i);
        cl_cleanse((char *)json_string_value(v), json_string_length(v));
    }
    json_decref(env);
    dirs_free(&d);
}
