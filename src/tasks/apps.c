/* apps.c — the app registry and its `cloister` JSON 1.1 operations:
 * CreateApp, GetApp, ListApps, DeleteApp, SetAppOwner, and the app developer
 * secret's PutAppSecret and DescribeAppSecret (X-Amz-Target "Cloister.<Op>"). Every call is
 * authorized through iam_authorize with the action cloister:<Op> on
 * arn:aws:cloister:REGION:ACCOUNT:app/NAME; apps are same-account resources (no resource policies),
 * so a principal of another account naming an app by ARN is always denied. Documents live in the
 * meta store (kind "app", scope = account, name = app name), with an index by app address (kind
 * "app_address", scope "", name "0x..." -> Account, Name) for the iExec SMS endpoints; bundle bytes
 * in a blob store of their own. The app secret is stored by src/secrets (owner = the app's address,
 * name "1"). Formats: docs/apps.md. */
#include "tasks/tasks_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tasks_set_secrets(tasks *t, secrets_store *s) {
    t->secrets = s;
}

void tasks_set_sig_check(tasks *t, tasks_sig_check_fn fn) {
    t->sig_check = fn;
}

#define ADDR_KIND "app_address"

cl_err tasks_open(store *st, iam *m, const char *data_dir, tasks **out) {
    char *dir = cl_sprintf("%s/app-bundles", data_dir);
    blob_store *bs = NULL;
    cl_err e = blob_store_open(dir, &bs);
    free(dir);
    if (e != CL_OK) return e;
    tasks *t = cl_calloc(1, sizeof *t);
    t->st = st;
    t->m = m;
    t->blobs = bs;
    pthread_mutex_init(&t->qmu, NULL);
    pthread_cond_init(&t->qcv, NULL);
    *out = t;
    return CL_OK;
}

void tasks_set_s3(tasks *t, const tasks_s3_hooks *h) {
    t->s3 = *h;
}

void tasks_close(tasks *t) {
    if (!t) return;
    tasks_runs_stop(t);
    blob_store_close(t->blobs);
    pthread_mutex_destroy(&t->qmu);
    pthread_cond_destroy(&t->qcv);
    free(t);
}

/* The operations, in one table (tests/e2e/test_sec_authz_matrix.py reads it). */
typedef json_t *(*app_op_fn)(app_call *a);

static json_t *app_op_create(app_call *a);
static json_t *app_op_get(app_call *a);
static json_t *app_op_list(app_call *a);
static json_t *app_op_delete(app_call *a);
static json_t *app_op_owner(app_call *a);
static json_t *app_op_put_secret(app_call *a);
static json_t *app_op_describe_secret(app_call *a);

/* REF_WORKER: a worker's call, authorized as cloister:LeaseTask on the
 * caller's own account (the lease itself decides which task it may touch). */
typedef enum { REF_NONE, REF_APP, REF_TASK, REF_WORKER } op_ref; /* what the request names */

static const struct {
    const char *name;
    app_op_fn fn;
    op_ref ref;
    const char *ref_key; /* the field naming the app (NULL: "Name") */
} OPS[] = {
    {"CreateApp", app_op_create, REF_APP, NULL},
    {"GetApp", app_op_get, REF_APP, NULL},
    {"ListApps", app_op_list, REF_NONE, NULL},
    {"DeleteApp", app_op_delete, REF_APP, NULL},
    {"SetAppOwner", app_op_owner, REF_APP, NULL},
    {"PutAppSecret", app_op_put_secret, REF_APP, "App"},
    {"DescribeAppSecret", app_op_describe_secret, REF_APP, "App"},
    {"RunApp", runs_op_run, REF_APP, NULL},
    {"GetTask", runs_op_get, REF_TASK, NULL},
    {"GetTaskLogs", runs_op_logs, REF_TASK, NULL},
    {"GetTaskResult", runs_op_result, REF_TASK, NULL},
    {"ListTasks", runs_op_list, REF_NONE, NULL},
    {"CancelTask", runs_op_cancel, REF_TASK, NULL},
    {"RetryTask", runs_op_retry, REF_TASK, NULL},
    {"SubmitRequest", runs_op_submit, REF_APP, "App"},
    {"PutTriggerOptions", runs_op_trigger_options, REF_NONE, NULL},
    {"LeaseTask", worker_op_lease, REF_WORKER, NULL},
    {"HeartbeatTask", worker_op_heartbeat, REF_WORKER, NULL},
    {"GetTaskBundle", worker_op_bundle, REF_WORKER, NULL},
    {"AttestTask", worker_op_attest, REF_WORKER, NULL},
    {"FinishTask", worker_op_finish, REF_WORKER, NULL},
};

bool tasks_api_owns(const char *target) {
    if (!target || strncmp(target, "Cloister.", 9) != 0) return false;
    for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++)
        if (strcmp(target + 9, OPS[i].name) == 0) return true;
    return false;
}

/* Name: an app name (the caller's account) or an app ARN
 * arn:aws:cloister:REGION:ACCOUNT:app/NAME (any account; authorization decides). */
static bool parse_app_ref(app_call *a) {
    const char *ref = json_string_value(json_object_get(a->in, a->ref_key));
    if (!ref) {
        aws_fault_set(a->f, 400, "ValidationException", "%s is required.", a->ref_key);
        return false;
    }
    const char *name = ref;
    snprintf(a->account, sizeof a->account, "%s", a->c->account ? a->c->account : "");
    if (strncmp(ref, "arn:aws:cloister:", 17) == 0) {
        const char *r = strchr(ref + 17, ':'); /* after the region */
        const char *acct = r ? r + 1 : NULL;
        const char *slash = acct ? strstr(acct, ":app/") : NULL;
        if (!slash || slash - acct != 12) {
            aws_fault_set(a->f, 400, "ValidationException", "Invalid app ARN.");
            return false;
        }
        memcpy(a->account, acct, 12);
        a->account[12] = 0;
        name = slash + 5;
    }
    if (!tasks_app_name_valid(name)) {
        aws_fault_set(a->f, 400, "ValidationException",
                      "%s must match [A-Za-z0-9_-]{1,64} (or be an app ARN).", a->ref_key);
        return false;
    }
    snprintf(a->name, sizeof a->name, "%s", name);
    return true;
}

/* TaskId: a task of the caller's account (tasks are same-account resources). */
static bool parse_task_ref(app_call *a) {
    const char *id = json_string_value(json_object_get(a->in, "TaskId"));
    if (!runs_task_id_valid(id)) {
        aws_fault_set(a->f, 400, "ValidationException",
                      "TaskId is required: 0x followed by 64 lower-case hex digits.");
        return false;
    }
    snprintf(a->account, sizeof a->account, "%s", a->c->account ? a->c->account : "");
    snprintf(a->name, sizeof a->name, "%s", id);
    return true;
}

static bool authorize(app_call *a, const char *op) {
    char *action = cl_sprintf("cloister:%s", op);
    char *res = a->arn ? cl_strdup(a->arn)
                       : cl_sprintf("arn:aws:cloister:%s:%s:app/*", iam_caller_region(a->c),
                                    a->c->account ? a->c->account : "");
    iam_authz z = {.action = action, .resource = res, .resource_account = a->account};
    policy_decision d = iam_authorize(a->t->m, a->c, a->req, &z, a->f);
    free(action);
    free(res);
    if (d == POLICY_ALLOW) return true;
    a->f->code = "AccessDeniedException";
    return false;
}

json_t *tasks_load_app(app_call *a) {
    char *doc = NULL;
    cl_err e = store_get(a->t->st, APP_KIND, a->account, a->name, &doc);
    json_t *j = e == CL_OK ? json_loads(doc, 0, NULL) : NULL;
    free(doc);
    if (!j) aws_fault_set(a->f, 404, "ResourceNotFoundException", "App not found: %s", a->arn);
    return j;
}

/* The public view of a stored document. */
static json_t *app_view(json_t *doc) {
    json_t *v = json_deep_copy(doc);
    json_object_del(v, "BundleBlob");
    json_t *m = json_loads(json_string_value(json_object_get(doc, "Manifest")), 0, NULL);
    json_object_set_new(v, "Manifest", m ? m : json_object());
    return v;
}

static bool decode_bundle(app_call *a, cl_buf *bundle) {
    const char *b64 = json_string_value(json_object_get(a->in, "Bundle"));
    if (!b64 || strlen(b64) > (TASKS_BUNDLE_MAX / 3 + 1) * 4 ||
        base64_decode(bundle, slice_cstr(b64)) != CL_OK) {
        aws_fault_set(a->f, 400, "ValidationException",
                      "Bundle is required: base64 of a canonical bundle of at most %u bytes.",
                      TASKS_BUNDLE_MAX);
        return false;
    }
    char err[160];
    if (bundle->len > TASKS_BUNDLE_MAX ||
        tasks_bundle_check(buf_slice(bundle), err, sizeof err) != CL_OK) {
        aws_fault_set(a->f, 400, "ValidationException", "Bundle: %s",
                      bundle->len > TASKS_BUNDLE_MAX ? "too large" : err);
        return false;
    }
    return true;
}

static bool read_entrypoint(app_call *a, const char **ep, char **manifest) {
    *ep = json_string_value(json_object_get(a->in, "Entrypoint"));
    if (!*ep || !(*ep)[0] || strlen(*ep) > TASKS_ENTRYPOINT_MAX || !utf8_valid(slice_cstr(*ep))) {
        aws_fault_set(a->f, 400, "ValidationException",
                      "Entrypoint is required: 1 to %d bytes of UTF-8.", TASKS_ENTRYPOINT_MAX);
        return false;
    }
    json_t *mj = json_object_get(a->in, "Manifest");
    if (mj && !json_is_string(mj)) {
        aws_fault_set(a->f, 400, "ValidationException", "Manifest must be a JSON text string.");
        return false;
    }
    char err[160];
    *manifest = tasks_manifest_canonical(json_string_value(mj), err, sizeof err);
    if (!*manifest) aws_fault_set(a->f, 400, "ValidationException", "%s", err);
    return *manifest != NULL;
}

/* store_update callback: the new document keeps Created and Owner of the one it replaces. */
typedef struct {
    json_t *doc;
    char *old_blob;
} put_arg;

static cl_err put_doc(void *arg, const char *cur, char **next) {
    put_arg *p = arg;
    json_t *old = cur ? json_loads(cur, 0, NULL) : NULL, *doc = json_deep_copy(p->doc);
    free(p->old_blob);
    p->old_blob = NULL;
    if (old) {
        json_object_set(doc, "Created", json_object_get(old, "Created"));
        json_t *owner = json_object_get(old, "Owner");
        if (owner) json_object_set(doc, "Owner", owner);
        const char *ob = json_string_value(json_object_get(old, "BundleBlob"));
        p->old_blob = ob ? cl_strdup(ob) : NULL;
        json_decref(old);
    }
    *next = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(doc);
    return *next ? CL_OK : CL_ERR_INTERNAL;
}

static bool store_bundle(app_call *a, cl_slice bundle, char id[BLOB_ID_LEN + 1]) {
    blob_writer *w = NULL;
    if (blob_begin(a->t->blobs, &w) == CL_OK && blob_append(w, bundle) == CL_OK)
        return blob_finish(w, id) == CL_OK;
    blob_abort(w);
    return false;
}

/* The index item that finds an app by its address (the iExec SMS endpoints). */
static void index_address(app_call *a, const char *addr) {
    json_t *j = json_pack("{s:s, s:s}", "Account", a->account, "Name", a->name);
    char *doc = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    if (!addr || !doc || store_put(a->t->st, ADDR_KIND, "", addr, doc) != CL_OK)
        log_warn("apps: cannot index %s by address", a->arn);
    free(doc);
}

static json_t *new_doc(app_call *a, cl_slice bundle, const char *ep, const char *manifest,
                       const char *blob) {
    uint8_t meas[TASKS_MEASUREMENT_LEN], addr[TASKS_ADDRESS_LEN];
    char mhex[2 * TASKS_MEASUREMENT_LEN + 1], ahex[2 + 2 * TASKS_ADDRESS_LEN + 1] = "0x", now[21];
    tasks_app_measure(bundle, ep, manifest, meas);
    tasks_app_address(a->account, a->name, addr);
    hex_encode_to(mhex, meas, sizeof meas);
    hex_encode_to(ahex + 2, addr, sizeof addr);
    time_format_iso8601(time_now(), now);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s}", "Name", a->name,
                     "Arn", a->arn, "Account", a->account, "Address", ahex, "Measurement", mhex,
                     "Entrypoint", ep, "Manifest", manifest, "BundleBlob", blob, "BundleSize",
                     (json_int_t)bundle.len, "Created", now, "Updated", now);
}

static json_t *app_op_create(app_call *a) {
    const char *ep;
    char *manifest = NULL, id[BLOB_ID_LEN + 1];
    cl_buf bundle = {0};
    json_t *out = NULL;
    if (!read_entrypoint(a, &ep, &manifest) || !decode_bundle(a, &bundle)) goto done;
    if (!store_bundle(a, buf_slice(&bundle), id)) {
        aws_fault_set(a->f, 500, "InternalFailure", "cannot store the bundle");
        goto done;
    }
    put_arg p = {new_doc(a, buf_slice(&bundle), ep, manifest, id), NULL};
    if (store_update(a->t->st, APP_KIND, a->account, a->name, put_doc, &p) != CL_OK) {
        blob_delete(a->t->blobs, id); /* never named: the contract's order */
        aws_fault_set(a->f, 500, "InternalFailure", "cannot record the app");
    } else {
        if (p.old_blob && blob_id_valid(p.old_blob)) blob_delete(a->t->blobs, p.old_blob);
        index_address(a, json_string_value(json_object_get(p.doc, "Address")));
        out = json_pack("{s:O, s:O, s:O, s:O}", "Name", json_object_get(p.doc, "Name"), "Arn",
                        json_object_get(p.doc, "Arn"), "Address", json_object_get(p.doc, "Address"),
                        "Measurement", json_object_get(p.doc, "Measurement"));
        log_info("apps: %s deployed %s", a->c->arn, a->arn);
    }
    json_decref(p.doc);
    free(p.old_blob);
done:
    free(manifest);
    buf_free(&bundle);
    return out;
}

static json_t *app_op_get(app_call *a) {
    json_t *doc = tasks_load_app(a);
    if (!doc) return NULL;
    json_t *v = app_view(doc);
    json_decref(doc);
    return json_pack("{s:o}", "App", v);
}

static bool list_one(void *arg, const char *name, const char *text) {
    (void)name;
    json_t *doc = json_loads(text, 0, NULL);
    if (doc) json_array_append_new(arg, app_view(doc));
    json_decref(doc);
    return true;
}

static json_t *app_op_list(app_call *a) {
    json_t *apps = json_array();
    if (store_list(a->t->st, APP_KIND, a->account, NULL, NULL, 0, list_one, apps, NULL) != CL_OK) {
        json_decref(apps);
        aws_fault_set(a->f, 500, "InternalFailure", "cannot list apps");
        return NULL;
    }
    return json_pack("{s:o}", "Apps", apps);
}

/* A deleted app leaves no index item and no app secret behind: a new app of the
 * same name (same address) starts without them. */
static void delete_by_address(app_call *a, const char *addr) {
    store_delete(a->t->st, ADDR_KIND, "", addr);
    secrets_addr sa;
    if (!a->t->secrets || secrets_addr_parse(slice_cstr(addr), &sa) != CL_OK) return;
    for (int debug = 0; debug < 2; debug++)
        if (secrets_owner_delete(a->t->secrets, &(secrets_owner){.addr = &sa}, "1", debug) != CL_OK)
            log_warn("apps: cannot delete the app secret of %s", a->arn);
}

static json_t *app_op_delete(app_call *a) {
    json_t *doc = tasks_load_app(a);
    if (!doc) return NULL;
    char *blob = cl_strdup(json_string_value(json_object_get(doc, "BundleBlob")));
    char *addr = cl_strdup(json_string_value(json_object_get(doc, "Address")));
    json_decref(doc);
    json_t *out = NULL;
    cl_err e = store_delete(a->t->st, APP_KIND, a->account, a->name);
    if (e == CL_ERR_NOT_FOUND) {
        aws_fault_set(a->f, 404, "ResourceNotFoundException", "App not found: %s", a->arn);
    } else if (e != CL_OK) {
        aws_fault_set(a->f, 500, "InternalFailure", "cannot delete the app");
    } else {
        if (blob && blob_id_valid(blob)) blob_delete(a->t->blobs, blob);
        if (addr) delete_by_address(a, addr);
        out = json_object();
        log_info("apps: %s deleted %s", a->c->arn, a->arn);
    }
    free(blob);
    free(addr);
    return out;
}

/* "0x" + 40 hex, returned lower-case; false if malformed. */
static bool eth_address(const char *s, char out[43]) {
    if (!s || strlen(s) != 42 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) return false;
    out[0] = '0';
    out[1] = 'x';
    for (int i = 2; i < 42; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'F') c = (char)(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
        out[i] = c;
    }
    out[42] = 0;
    return true;
}

static cl_err set_owner(void *arg, const char *cur, char **next) {
    if (!cur) return CL_ERR_NOT_FOUND;
    json_t *doc = json_loads(cur, 0, NULL);
    if (!doc) return CL_ERR_INTERNAL;
    json_object_set_new(doc, "Owner", json_string(arg));
    *next = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(doc);
    return CL_OK;
}

/* The signature of the owner over the challenge of (app address, owner). */
static bool owner_proved(app_call *a, const char *owner) {
    uint8_t app[TASKS_ADDRESS_LEN], own[TASKS_ADDRESS_LEN], ch[32];
    char chx[65];
    tasks_app_address(a->account, a->name, app);
    for (int i = 0; i < TASKS_ADDRESS_LEN; i++) {
        unsigned v;
        sscanf(owner + 2 + 2 * i, "%2x", &v);
        own[i] = (uint8_t)v;
    }
    tasks_owner_challenge(app, own, ch);
    hex_encode_to(chx, ch, sizeof ch);
    const char *sig = json_string_value(json_object_get(a->in, "Signature"));
    if (!a->t->sig_check) {
        aws_fault_set(a->f, 501, "NotImplemented", "No signature checker on this server.");
        return false;
    }
    cl_err e = sig ? a->t->sig_check(sig, ch, owner) : CL_ERR_INVALID;
    if (e == CL_OK) return true;
    aws_fault_set(a->f, 400, "ValidationException",
                  "Signature %s: it must be an EIP-191 personal-sign by %s of the 32 bytes "
                  "0x%s (docs/apps.md).",
                  !sig                 ? "is required"
                  : e == CL_ERR_DENIED ? "was made by another address"
                                       : "is malformed",
                  owner, chx);
    return false;
}

static json_t *app_op_owner(app_call *a) {
    char addr[43];
    if (!eth_address(json_string_value(json_object_get(a->in, "Owner")), addr)) {
        aws_fault_set(a->f, 400, "ValidationException",
                      "Owner must be an Ethereum address: 0x and 40 hex digits.");
        return NULL;
    }
    if (!owner_proved(a, addr)) return NULL;
    cl_err e = store_update(a->t->st, APP_KIND, a->account, a->name, set_owner, addr);
    if (e == CL_ERR_NOT_FOUND) {
        aws_fault_set(a->f, 404, "ResourceNotFoundException", "App not found: %s", a->arn);
        return NULL;
    }
    if (e != CL_OK) {
        aws_fault_set(a->f, 500, "InternalFailure", "cannot record the owner");
        return NULL;
    }
    log_info("apps: %s set the owner of %s", a->c->arn, a->arn);
    return json_pack("{s:s, s:s}", "Arn", a->arn, "Owner", addr);
}

/* ---- the app developer secret (stored by src/secrets under the app address) ---- */

/* The app's address, from its document; false with the fault set. */
static bool app_secret_target(app_call *a, secrets_addr *addr, bool *debug) {
    json_t *d = json_object_get(a->in, "Debug");
    if (d && !json_is_boolean(d)) {
        aws_fault_set(a->f, 400, "ValidationException", "Debug must be a boolean.");
        return false;
    }
    *debug = json_is_true(d);
    if (!a->t->secrets) {
        aws_fault_set(a->f, 501, "NotImplemented", "Secrets are not available on this server.");
        return false;
    }
    json_t *doc = tasks_load_app(a);
    if (!doc) return false;
    const char *s = json_string_value(json_object_get(doc, "Address"));
    bool ok = s && secrets_addr_parse(slice_cstr(s), addr) == CL_OK;
    json_decref(doc);
    if (!ok) aws_fault_set(a->f, 500, "InternalFailure", "the app has no address");
    return ok;
}

static json_t *app_op_put_secret(app_call *a) {
    json_t *v = json_object_get(a->in, "Value");
    if (!json_is_string(v) || json_string_length(v) > SECRETS_VALUE_MAX) {
        aws_fault_set(a->f, 400, "ValidationException",
                      "Value is required: a string of at most %d bytes.", SECRETS_VALUE_MAX);
        return NULL;
    }
    secrets_addr addr;
    bool debug;
    if (!app_secret_target(a, &addr, &debug)) return NULL;
    cl_slice value = slice_of(json_string_value(v), json_string_length(v));
    cl_err e = secrets_owner_put(a->t->secrets, &(secrets_owner){.addr = &addr}, "1", debug, value);
    if (e == CL_ERR_EXISTS) {
        aws_fault_set(a->f, 409, "ResourceExistsException",
                      "The app secret of %s is already set (secrets are write-once).", a->arn);
        return NULL;
    }
    if (e != CL_OK) {
        aws_fault_set(a->f, 500, "InternalFailure", "cannot store the app secret");
        return NULL;
    }
    log_info("apps: %s set the %s app secret of %s", a->c->arn, debug ? "debug" : "production",
             a->arn);
    return json_object();
}

static json_t *app_op_describe_secret(app_call *a) {
    secrets_addr addr;
    bool debug;
    char created[32] = "";
    if (!app_secret_target(a, &addr, &debug)) return NULL;
    cl_err e =
        secrets_owner_exists(a->t->secrets, &(secrets_owner){.addr = &addr}, "1", debug, created);
    if (e == CL_ERR_NOT_FOUND) {
        aws_fault_set(a->f, 404, "ResourceNotFoundException", "App secret not found: %s", a->arn);
        return NULL;
    }
    if (e != CL_OK) {
        aws_fault_set(a->f, 500, "InternalFailure", "cannot read the app secret");
        return NULL;
    }
    return json_pack("{s:s, s:b, s:s}", "App", a->arn, "Debug", debug, "Created", created);
}

cl_err tasks_app_owner_by_address(void *tasks_ctx, const secrets_addr *app, secrets_addr *owner) {
    tasks *t = tasks_ctx;
    char addr[SECRETS_ADDR_STR_LEN + 1], *idx = NULL, *doc = NULL;
    secrets_addr_format(app, addr);
    cl_err e = store_get(t->st, ADDR_KIND, "", addr, &idx);
    json_t *ij = e == CL_OK ? json_loads(idx, 0, NULL) : NULL;
    const char *acct = json_string_value(json_object_get(ij, "Account"));
    const char *name = json_string_value(json_object_get(ij, "Name"));
    if (e == CL_OK)
        e = acct && name ? store_get(t->st, APP_KIND, acct, name, &doc) : CL_ERR_INTERNAL;
    json_t *dj = e == CL_OK ? json_loads(doc, 0, NULL) : NULL;
    const char *own = json_string_value(json_object_get(dj, "Owner"));
    const char *got = json_string_value(json_object_get(dj, "Address"));
    if (e == CL_OK) /* the index must agree with the app it names */
        e = !own || !got || strcmp(got, addr) != 0                ? CL_ERR_NOT_FOUND
            : secrets_addr_parse(slice_cstr(own), owner) == CL_OK ? CL_OK
                                                                  : CL_ERR_INTERNAL;
    json_decref(ij);
    json_decref(dj);
    free(idx);
    free(doc);
    return e;
}

static json_t *dispatch(app_call *a, const char *target) {
    for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++) {
        if (strcmp(target + 9, OPS[i].name) != 0) continue;
        a->req->op = OPS[i].name;
        a->ref_key = OPS[i].ref_key ? OPS[i].ref_key : "Name";
        if (OPS[i].ref == REF_APP) {
            if (!parse_app_ref(a)) return NULL;
            a->arn = cl_sprintf("arn:aws:cloister:%s:%s:app/%s", iam_caller_region(a->c),
                                a->account, a->name);
        } else if (OPS[i].ref == REF_TASK) {
            if (!parse_task_ref(a)) return NULL;
            a->arn = cl_sprintf("arn:aws:cloister:%s:%s:task/%s", iam_caller_region(a->c),
                                a->account, a->name);
        } else {
            snprintf(a->account, sizeof a->account, "%s", a->c->account ? a->c->account : "");
        }
        if (!authorize(a, OPS[i].ref == REF_WORKER ? "LeaseTask" : OPS[i].name)) return NULL;
        return OPS[i].fn(a);
    }
    aws_fault_set(a->f, 400, "UnknownOperationException", "Unknown operation");
    return NULL;
}

void tasks_api_handle(tasks *t, const iam_caller *c, http_request *req, http_response *resp) {
    aws_fault f = {0};
    const char *target = kvlist_get_ci(&req->headers, "X-Amz-Target");
    json_t *in = aws_json_parse(buf_slice(&req->body), NULL, 0), *out = NULL;
    app_call a = {.t = t, .c = c, .req = req, .in = in, .f = &f};
    if (!t)
        aws_fault_set(&f, 501, "NotImplemented", "Apps are not available on this server.");
    else if (!json_is_object(in))
        aws_fault_set(&f, 400, "SerializationException", "Request body is not a JSON object");
    else
        out = dispatch(&a, target);
    json_t *v = json_object_get(in, "Value"); /* PutAppSecret's plaintext */
    bool secret = json_is_string(v);
    if (secret) cl_cleanse((void *)json_string_value(v), json_string_length(v));
    json_decref(in);
    if (req->body.ptr && secret) cl_cleanse(req->body.ptr, req->body.cap);
    free(a.arn);
    aws_json_answer(resp, req, out, &f);
}
