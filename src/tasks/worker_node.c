/* worker_node.c — the node's side of every worker: the task spec a lease
 * hands out, the app bundle, attestation documents signed for a leased run,
 * and the outcome, checked and recorded (with the outputs' publication in S3)
 * in one transaction. The local workers of `cloister serve` call these
 * directly through local_ops (bottom); remote workers reach the same functions
 * through the Cloister.*Task operations (worker_api.c). */
#include "tasks/run_internal.h"
#include "tasks/tasks_internal.h"
#include "tasks/worker_internal.h"

#include "crypto/crypto.h"

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *jstr(const json_t *j, const char *k) {
    return json_string_value(json_object_get(j, k));
}

/* The app document a task names (App ARN + AppName). */
static json_t *task_app(tasks *t, const json_t *doc) {
    const char *arn = jstr(doc, "App"), *name = jstr(doc, "AppName");
    const char *acct = arn ? strstr(arn, ":app/") : NULL;
    if (!acct || !name || acct - arn < 12) return NULL;
    char account[13];
    memcpy(account, acct - 12, 12);
    account[12] = 0;
    char *text = NULL;
    if (store_get(t->st, APP_KIND, account, name, &text) != CL_OK) return NULL;
    json_t *j = json_loads(text, 0, NULL);
    free(text);
    return j;
}

json_t *node_spec(tasks *t, const json_t *doc, bool local) {
    json_t *app = task_app(t, doc);
    if (!app) return NULL;
    const json_t *lease = json_object_get(doc, "Lease");
    json_t *inputs = json_array();
    size_t i;
    json_t *in;
    json_array_foreach(json_object_get(doc, "Inputs"), i, in) {
        json_t *x = json_pack("{s:O, s:O}", "Url", json_object_get(in, "Url"), "Name",
                              json_object_get(in, "Name"));
        json_array_append_new(inputs, x);
    }
    json_t *spec = json_pack(
        "{s:O, s:O, s:O, s:O, s:O, s:s, s:s, s:{s:O, s:O, s:O, s:O, s:O, s:O}, s:O, s:o, s:b}",
        "TaskId", json_object_get(doc, "TaskId"), "LeaseId", json_object_get(lease, "Id"),
        "LeaseExpires", json_object_get(lease, "Expires"), "Attempt",
        json_object_get(doc, "Attempt"), "Account", json_object_get(doc, "Account"), "Requester",
        jstr(doc, "Requester") ? jstr(doc, "Requester") : "", "RequesterId",
        jstr(doc, "RequesterId") ? jstr(doc, "RequesterId") : "", "App", "Arn",
        json_object_get(app, "Arn"), "Name", json_object_get(app, "Name"), "Address",
        json_object_get(app, "Address"), "Measurement", json_object_get(app, "Measurement"),
        "Entrypoint", json_object_get(app, "Entrypoint"), "Manifest",
        json_object_get(app, "Manifest"), "Args", json_object_get(doc, "Args"), "Inputs", inputs,
        "Debug", json_is_true(json_object_get(doc, "Debug")));
    json_decref(app);
    if (!spec) return NULL;
    unsigned beat = t->qcfg.lease_s / 3;
    json_object_set_new(spec, "HeartbeatSeconds", json_integer(beat ? beat : 1));
    if (json_object_get(doc, "Event"))
        json_object_set(spec, "Event", json_object_get(doc, "Event"));
    if (local && json_object_get(doc, "Secrets"))
        json_object_set(spec, "Secrets", json_object_get(doc, "Secrets"));
    if (t->runs) {
        cl_buf b64 = CL_BUF_INIT;
        base64_encode(&b64, attest_root_cert_der(t->runs->cfg.attest));
        json_object_set_new(spec, "AttestationRoot", json_string(buf_cstr(&b64)));
        buf_free(&b64);
    }
    return spec;
}

static cl_err blob_read_all(blob_store *bs, const char *id, size_t max, cl_buf *out) {
    blob_reader *r = NULL;
    if (!bs || !id || blob_open(bs, id, &r) != CL_OK) return CL_ERR_NOT_FOUND;
    uint64_t n = blob_size(r);
    cl_err e = n <= max ? CL_OK : CL_ERR_TOO_LARGE;
    if (e == CL_OK) {
        buf_reserve(out, (size_t)n);
        e = blob_read_at(r, 0, out->ptr, (size_t)n);
        if (e == CL_OK) out->len = (size_t)n;
    }
    blob_close(r);
    return e;
}

cl_err node_bundle(tasks *t, const json_t *doc, cl_buf *out, char *msg, size_t msglen) {
    json_t *app = task_app(t, doc);
    cl_err e = app ? blob_read_all(t->blobs, jstr(app, "BundleBlob"), TASKS_BUNDLE_MAX, out)
                   : CL_ERR_NOT_FOUND;
    json_decref(app);
    if (e != CL_OK) snprintf(msg, msglen, "the app's bundle cannot be read: was the app deleted?");
    return e;
}

cl_err node_attest(tasks *t, const json_t *doc, const char *remote_worker_arn, cl_slice spki,
                   cl_slice user_data, cl_slice nonce, cl_buf *out) {
    if (!t->runs) return CL_ERR_NOT_FOUND;
    return run_sign_doc(t->runs->cfg.attest, t->runs->runtime_pcr, jstr(doc, "TaskId"),
                        jstr(doc, "Measurement"), jstr(doc, "Requester"), remote_worker_arn, spki,
                        user_data, nonce, out);
}

/* ---- the outcome ---- */
static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f) {
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

typedef struct {
    const char *root;
    size_t root_len;
    json_t *files; /* [{"Rel", "Path"}] */
} walk_ctx;

static walk_ctx *g_walk; /* nftw has no argument: one walk at a time (walk_mu) */
static pthread_mutex_t walk_mu = PTHREAD_MUTEX_INITIALIZER;

static int walk_one(const char *p, const struct stat *st, int flag, struct FTW *f) {
    (void)f;
    if (flag == FTW_F && S_ISREG(st->st_mode) && strlen(p) > g_walk->root_len + 1)
        json_array_append_new(g_walk->files,
                              json_pack("{s:s, s:s}", "Rel", p + g_walk->root_len + 1, "Path", p));
    return 0;
}

static json_t *files_under(const char *dir) {
    walk_ctx w = {dir, strlen(dir), json_array()};
    pthread_mutex_lock(&walk_mu);
    g_walk = &w;
    nftw(dir, walk_one, 16, FTW_PHYS);
    g_walk = NULL;
    pthread_mutex_unlock(&walk_mu);
    return w.files;
}

static bool rel_public(const json_t *pub, const char *rel) {
    size_t i;
    json_t *v;
    json_array_foreach(pub, i, v) {
        const char *p = json_string_value(v);
        size_t n = p ? strlen(p) : 0;
        if (n && strncmp(rel, p, n) == 0 && (rel[n] == 0 || rel[n] == '/' || p[n - 1] == '/'))
            return true;
    }
    return false;
}

typedef struct {
    tasks *t;
    void *prep;
} publish_arg;

static cl_err publish_commit(void *arg, store *st, json_t *doc) {
    (void)st;
    (void)doc;
    publish_arg *p = arg;
    return p->prep ? p->t->s3.publish_commit(p->t->s3.ctx, p->prep) : CL_OK;
}

/* Checks a reported success: the receipt verifies against this node's root
 * and names this task and app; the output's result digest is the one the
 * receipt signs. Unpacks the output into dir (for publishing). */
static bool check_success(tasks *t, const json_t *doc, const tasks_worker_result *r,
                          const char *dir, json_t **body_out, char *msg, size_t msglen) {
    json_t *body = NULL;
    char err[256] = "";
    cl_slice root = attest_root_cert_der(t->runs->cfg.attest);
    if (!r->receipt ||
        tasks_receipt_verify(slice_cstr(r->receipt), root, &body, NULL, err, sizeof err) != CL_OK) {
        snprintf(msg, msglen, "the receipt does not verify: %s", r->receipt ? err : "missing");
        return false;
    }
    bool ok = strcmp(jstr(body, "task") ? jstr(body, "task") : "", jstr(doc, "TaskId")) == 0 &&
              strcmp(jstr(json_object_get(body, "app"), "measurement")
                         ? jstr(json_object_get(body, "app"), "measurement")
                         : "",
                     jstr(doc, "Measurement")) == 0;
    if (!ok) snprintf(msg, msglen, "the receipt names another task or app");
    char *out = cl_sprintf("%s/out", dir);
    if (ok &&
        (mkdir(out, 0700) != 0 || tasks_bundle_unpack(r->output, out, err, sizeof err) != CL_OK)) {
        snprintf(msg, msglen, "the output is not a canonical tar: %s", err);
        ok = false;
    }
    tasks_result res = {0};
    if (ok && tasks_result_compute(out, &res, err, sizeof err) != CL_OK) {
        snprintf(msg, msglen, "%s", err);
        ok = false;
    }
    json_t *outs = ok ? tasks_outputs_digest(out) : NULL;
    if (ok && !json_equal(outs, json_object_get(body, "outputs"))) {
        snprintf(msg, msglen, "the output files are not the ones the receipt lists");
        ok = false;
    }
    json_decref(outs);
    if (ok && strcmp(res.digest, jstr(json_object_get(body, "result"), "digest")
                                     ? jstr(json_object_get(body, "result"), "digest")
                                     : "") != 0) {
        snprintf(msg, msglen, "the output is not the one the receipt signs");
        ok = false;
    }
    tasks_result_free(&res);
    free(out);
    if (ok)
        *body_out = body;
    else
        json_decref(body);
    return ok;
}

/* Prepares the publication of dir/out under the task's Output. */
static bool prepare_publish(tasks *t, const json_t *doc, const char *dir, publish_arg *pa,
                            json_t *set, char *msg, size_t msglen) {
    const json_t *o = json_object_get(doc, "Output");
    if (!o) return true;
    if (!t->s3.publish_prepare) {
        snprintf(msg, msglen, "publishing to S3 is not available on this node");
        return false;
    }
    char *out = cl_sprintf("%s/out", dir);
    json_t *files = files_under(out);
    json_t *app = task_app(t, doc);
    json_t *pub = app ? tasks_manifest_public_outputs(jstr(app, "Manifest")) : NULL;
    json_t *items = json_array(), *keys = json_array();
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f) {
        const char *rel = jstr(f, "Rel");
        if (strcmp(rel, "computed.json") == 0) continue; /* iExec's, not a result */
        char *key = cl_sprintf("%s%s", jstr(o, "Prefix") ? jstr(o, "Prefix") : "", rel);
        json_array_append_new(items, json_pack("{s:s, s:O, s:b}", "Key", key, "Path",
                                               json_object_get(f, "Path"), "Public",
                                               rel_public(pub, rel)));
        json_array_append_new(keys, json_string(key));
        free(key);
    }
    cl_err e = t->s3.publish_prepare(t->s3.ctx, jstr(doc, "Account"), jstr(o, "Bucket"), items,
                                     jstr(doc, "App"), &pa->prep, msg, msglen);
    if (e == CL_OK)
        json_object_set_new(set, "Published", keys);
    else
        json_decref(keys);
    json_decref(items);
    json_decref(pub);
    json_decref(app);
    json_decref(files);
    free(out);
    return e == CL_OK;
}

static char *scratch_dir(tasks *t) {
    char *tmpl = cl_sprintf("%s/finish-XXXXXX", t->runs->work_dir);
    if (!mkdtemp(tmpl)) {
        free(tmpl);
        return NULL;
    }
    return tmpl;
}

cl_err node_finish(tasks *t, const char *id, const char *lease_id, const char *principal,
                   const tasks_worker_result *r, const char **state, char *msg, size_t msglen) {
    json_t *doc = NULL;
    CL_TRY(queue_lease_doc(t, id, lease_id, principal, &doc));
    bool ok = r->ok;
    char why[384] = "";
    json_t *set = json_pack("{s:o, s:o, s:o, s:I}", "Stdout", tasks_text_json(r->out), "Stderr",
                            tasks_text_json(r->err), "Log", tasks_text_json(r->log), "ExitCode",
                            (json_int_t)r->exit_code);
    char *dir = t->runs ? scratch_dir(t) : NULL;
    publish_arg pa = {t, NULL};
    if (ok && !dir) {
        snprintf(why, sizeof why, "the node cannot make a scratch directory");
        ok = false;
    }
    json_t *body = NULL; /* the verified receipt body */
    if (ok) ok = check_success(t, doc, r, dir, &body, why, sizeof why);
    char blob_id[BLOB_ID_LEN + 1] = "";
    if (ok) {
        blob_writer *w = NULL;
        if (blob_begin(t->runs->outputs, &w) != CL_OK || blob_append(w, r->output) != CL_OK ||
            blob_finish(w, blob_id) != CL_OK) {
            if (w) blob_abort(w);
            snprintf(why, sizeof why, "cannot store the result");
            ok = false;
        }
    }
    if (ok) ok = prepare_publish(t, doc, dir, &pa, set, why, sizeof why);
    if (!ok && blob_id[0]) { /* the result is not kept when it is not published */
        blob_delete(t->runs->outputs, blob_id);
        blob_id[0] = 0;
    }
    if (ok) {
        json_t *res = json_object_get(body, "result");
        json_object_set_new(set, "OutputBlob", json_string(blob_id));
        json_object_set_new(set, "OutputSize", json_integer((json_int_t)r->output.len));
        json_object_set(set, "ResultDigest", json_object_get(res, "digest"));
        if (jstr(res, "path"))
            json_object_set(set, "DeterministicOutputPath", json_object_get(res, "path"));
        json_object_set_new(set, "Receipt", json_string(r->receipt));
        why[0] = 0;
    } else {
        json_object_set_new(set, "Error",
                            json_string(why[0]     ? why
                                        : r->error ? r->error
                                                   : "the run failed"));
    }
    json_t *final = NULL;
    cl_err e = queue_finish(t, id, lease_id, principal, ok, set, publish_commit, &pa, &final);
    if (state) {
        const char *st = jstr(final, "State");
        *state = st && strcmp(st, "cancelled") == 0 ? "cancelled" : ok ? "done" : "failed";
    }
    json_decref(final);
    if (pa.prep) t->s3.publish_finish(t->s3.ctx, pa.prep, e == CL_OK);
    if (e != CL_OK && blob_id[0]) blob_delete(t->runs->outputs, blob_id);
    if (e == CL_ERR_DENIED)
        snprintf(msg, msglen, "the lease was lost");
    else if (e != CL_OK)
        snprintf(msg, msglen, "cannot record the outcome (%s)", cl_err_str(e));
    if (dir) {
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free(dir);
    }
    json_decref(body);
    json_decref(set);
    json_decref(doc);
    return e;
}

/* ---- local workers: the ops as direct calls ---- */
typedef struct {
    tasks *t;
    char name[32];
} local_ctx;

static cl_err local_lease(void *ctx, int wait_ms, json_t **task, char *msg, size_t msglen) {
    local_ctx *l = ctx;
    queue_worker w = {.local = true, .name = l->name};
    *task = NULL;
    json_t *doc = NULL;
    uint64_t gen = queue_gen(l->t);
    cl_err e = queue_lease(l->t, &w, &doc);
    if (e == CL_ERR_NOT_FOUND) {
        queue_wait(l->t, gen, wait_ms);
        e = queue_lease(l->t, &w, &doc);
    }
    if (e == CL_ERR_NOT_FOUND) return CL_OK;
    if (e != CL_OK) {
        snprintf(msg, msglen, "the queue cannot be read (%s)", cl_err_str(e));
        return e;
    }
    *task = node_spec(l->t, doc, true);
    if (!*task) { /* its app is gone: fail it rather than lease it forever */
        tasks_worker_result r = {.error = "the task's app no longer exists", .exit_code = -1};
        char m[64];
        (void)node_finish(l->t, jstr(doc, "TaskId"), jstr(json_object_get(doc, "Lease"), "Id"),
                          NULL, &r, NULL, m, sizeof m);
    }
    json_decref(doc);
    return CL_OK;
}

static cl_err local_heartbeat(void *ctx, const json_t *task, const char *state, bool *cancelled) {
    local_ctx *l = ctx;
    return queue_heartbeat(l->t, jstr(task, "TaskId"), jstr(task, "LeaseId"), NULL, state, NULL,
                           cancelled);
}

static cl_err local_bundle(void *ctx, const json_t *task, cl_buf *out, char *msg, size_t msglen) {
    local_ctx *l = ctx;
    json_t *doc = NULL;
    cl_err e = queue_lease_doc(l->t, jstr(task, "TaskId"), jstr(task, "LeaseId"), NULL, &doc);
    if (e == CL_OK)
        e = node_bundle(l->t, doc, out, msg, msglen);
    else
        snprintf(msg, msglen, "the lease was lost");
    json_decref(doc);
    return e;
}

cl_err node_read_input(tasks *t, const json_t *doc, const char *url, size_t max, cl_buf *out,
                       char *msg, size_t msglen) {
    size_t i;
    json_t *in;
    json_array_foreach(json_object_get(doc, "Inputs"), i, in) {
        if (strcmp(jstr(in, "Url") ? jstr(in, "Url") : "", url) != 0) continue;
        if (jstr(in, "Blob")) {
            cl_err e = blob_read_all(t->runs ? t->runs->outputs : NULL, jstr(in, "Blob"), max, out);
            if (e != CL_OK) snprintf(msg, msglen, "the input's stored copy is gone");
            return e;
        }
        if (strncmp(url, "s3://", 5) == 0 && t->s3.read) {
            const char *b = url + 5, *slash = strchr(b, '/');
            if (!slash) break;
            char *bucket = cl_strndup(b, (size_t)(slash - b));
            cl_buf key = CL_BUF_INIT;
            cl_err e =
                url_decode(&key, slice_cstr(slash + 1), false) == CL_OK ? CL_OK : CL_ERR_INVALID;
            if (e == CL_OK)
                e = t->s3.read(t->s3.ctx, bucket, buf_cstr(&key), max, out, msg, msglen);
            else
                snprintf(msg, msglen, "malformed s3:// URL");
            free(bucket);
            buf_free(&key);
            return e;
        }
        break;
    }
    snprintf(msg, msglen, "the node's workers read only s3:// inputs and inputs sent inline");
    return CL_ERR_INVALID;
}

static cl_err local_fetch(void *ctx, const json_t *task, const char *url, size_t max, cl_buf *out,
                          char *msg, size_t msglen) {
    local_ctx *l = ctx;
    json_t *doc = NULL;
    cl_err e = queue_lease_doc(l->t, jstr(task, "TaskId"), jstr(task, "LeaseId"), NULL, &doc);
    if (e == CL_OK)
        e = node_read_input(l->t, doc, url, max, out, msg, msglen);
    else
        snprintf(msg, msglen, "the lease was lost");
    json_decref(doc);
    return e;
}

static cl_err local_attest(void *ctx, const json_t *task, cl_slice spki, cl_slice user_data,
                           cl_slice nonce, cl_buf *out) {
    local_ctx *l = ctx;
    json_t *doc = NULL;
    cl_err e = queue_lease_doc(l->t, jstr(task, "TaskId"), jstr(task, "LeaseId"), NULL, &doc);
    if (e == CL_OK) e = node_attest(l->t, doc, NULL, spki, user_data, nonce, out);
    json_decref(doc);
    return e;
}

static cl_err local_finish(void *ctx, const json_t *task, const tasks_worker_result *r, char *msg,
                           size_t msglen) {
    local_ctx *l = ctx;
    return node_finish(l->t, jstr(task, "TaskId"), jstr(task, "LeaseId"), NULL, r, NULL, msg,
                       msglen);
}

void *node_local_worker_main(void *arg) {
    node_worker_arg *a = arg;
    local_ctx l = {.t = a->t};
    snprintf(l.name, sizeof l.name, "local-%u", a->index + 1);
    tasks_worker_ops ops = {&l,          local_lease,  local_heartbeat, local_bundle,
                            local_fetch, local_attest, local_finish};
    struct runs *r = a->t->runs;
    char *wd = cl_sprintf("%s/%s", r->work_dir, l.name);
    tasks_worker_config cfg = {.init_path = r->init_path,
                               .work_dir = wd,
                               .state_dir = r->state_dir,
                               .allow_network = r->cfg.allow_network,
                               .secrets = r->cfg.secrets,
                               .heartbeat_s = 1, /* a local store write: cancels act within ~1 s */
                               .name = l.name};
    char msg[256];
    if (tasks_worker_loop(&cfg, &ops, &a->t->worker_stop, msg, sizeof msg) != CL_OK)
        log_error("%s: cannot run: %s", l.name, msg);
    free(wd);
    return NULL;
}
