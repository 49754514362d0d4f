/* queue.c — the durable task queue, in the meta store. A task document (kind
 * "task", scope account, name id) carries the task's state; two index kinds
 * make the queue:
 *   "task_queue" (scope ""): one item per runnable task, named
 *       P:SEQ:ID (P = 9 - priority, SEQ = 16 hex of the enqueue time in ns), so
 *       name order is priority, then FIFO; doc {"Account", "TaskId",
 *       "RequireRole"?, "LocalOnly", "NotBefore"};
 *   "task_lease" (scope ""): one item per leased task, named by its id; doc
 *       {"Account", "LeaseId", "Expires", "Principal"}.
 * Leasing claims a queue item (store_claim: the one primitive a PostgreSQL
 * backend implements with FOR UPDATE SKIP LOCKED), writes the lease and moves
 * the task document to "leased" in ONE transaction, so two workers never get
 * the same task. A lease lasts lease_s seconds and is extended by heartbeats;
 * a lease that expires (its worker died) puts the task back in the queue with
 * exponential backoff until max_attempts, then fails it. A worker's outcome
 * is accepted only with the current lease id and is recorded, with the
 * outputs' publication, in one transaction: a retried or stale worker never
 * publishes twice or half. Waiting workers sleep on a condition variable, not
 * in the store. */
#include "tasks/tasks_internal.h"

#include "crypto/crypto.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUEUE_KIND "task_queue"
#define LEASE_KIND "task_lease"
#define RUNNING_KIND "task_running" /* per-account count of leased tasks */

static int64_t now_s(void) {
    return (int64_t)time(NULL);
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static char *dumps(const json_t *j) {
    return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
}

static json_t *load(store *st, const char *kind, const char *scope, const char *name) {
    char *text = NULL;
    if (store_get(st, kind, scope, name, &text) != CL_OK) return NULL;
    json_t *j = json_loads(text, 0, NULL);
    free(text);
    return j;
}

static cl_err save(store *st, const char *kind, const char *scope, const char *name,
                   const json_t *j) {
    char *text = dumps(j);
    cl_err e = text ? store_put(st, kind, scope, name, text) : CL_ERR_NOMEM;
    free(text);
    return e;
}

static const char *jstr(const json_t *j, const char *k) {
    return json_string_value(json_object_get(j, k));
}

/* Sets State (and appends it to States with the time). */
void queue_set_state(json_t *doc, const char *state, const char *note) {
    char now[21];
    time_format_iso8601(time_now(), now);
    json_object_set_new(doc, "State", json_string(state));
    json_t *h = json_object_get(doc, "States");
    if (!json_is_array(h)) {
        h = json_array();
        json_object_set_new(doc, "States", h);
    }
    json_t *e = json_pack("{s:s, s:s}", "State", state, "Time", now);
    if (note) json_object_set_new(e, "Note", json_string(note));
    json_array_append_new(h, e);
    json_object_set_new(doc, "Updated", json_string(now));
}

static void wake(tasks *t) {
    pthread_mutex_lock(&t->qmu);
    t->qgen++;
    pthread_cond_broadcast(&t->qcv);
    pthread_mutex_unlock(&t->qmu);
}

uint64_t queue_gen(tasks *t) {
    pthread_mutex_lock(&t->qmu);
    uint64_t g = t->qgen;
    pthread_mutex_unlock(&t->qmu);
    return g;
}

void queue_wait(tasks *t, uint64_t gen, int ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&t->qmu);
    while (gen == t->qgen && !t->qstop)
        if (pthread_cond_timedwait(&t->qcv, &t->qmu, &ts) != 0) break;
    pthread_mutex_unlock(&t->qmu);
}

void queue_notify(tasks *t) {
    wake(t);
}

/* ---- enqueue ---- */
static cl_err enqueue_txn(store *st, const json_t *doc, int64_t not_before) {
    const char *account = jstr(doc, "Account"), *id = jstr(doc, "TaskId");
    int prio = (int)json_integer_value(json_object_get(doc, "Priority"));
    if (prio < 0 || prio > 9) prio = 5;
    char name[128];
    snprintf(name, sizeof name, "%d:%016llx:%s", 9 - prio, (unsigned long long)now_ns(), id);
    json_t *q = json_pack("{s:s, s:s, s:b, s:I}", "Account", account, "TaskId", id, "LocalOnly",
                          json_is_true(json_object_get(doc, "LocalOnly")), "NotBefore",
                          (json_int_t)not_before);
    if (jstr(doc, "RequireRole"))
        json_object_set_new(q, "RequireRole", json_string(jstr(doc, "RequireRole")));
    char *text = dumps(q);
    json_decref(q);
    cl_err e = store_insert(st, QUEUE_KIND, "", name, text);
    free(text);
    return e;
}

typedef struct {
    json_t *doc;
} add_ctx;

static cl_err add_txn(store *st, void *arg) {
    add_ctx *a = arg;
    char *text = dumps(a->doc);
    cl_err e = store_insert(st, TASK_KIND, jstr(a->doc, "Account"), jstr(a->doc, "TaskId"), text);
    free(text);
    if (e == CL_OK) e = enqueue_txn(st, a->doc, 0);
    return e;
}

cl_err queue_add_txn(store *st, json_t *doc) {
    add_ctx a = {doc};
    return store_txn(st, add_txn, &a);
}

cl_err queue_add(tasks *t, json_t *doc) {
    cl_err e = queue_add_txn(t->st, doc);
    if (e == CL_OK) wake(t);
    return e;
}

/* ---- per-account running counts ---- */
static int64_t running_of(store *st, const char *account) {
    json_t *j = load(st, RUNNING_KIND, "", account);
    int64_t n = json_integer_value(json_object_get(j, "N"));
    json_decref(j);
    return n;
}

static cl_err running_add(store *st, const char *account, int delta) {
    int64_t n = running_of(st, account) + delta;
    if (n <= 0) {
        cl_err e = store_delete(st, RUNNING_KIND, "", account);
        return e == CL_ERR_NOT_FOUND ? CL_OK : e;
    }
    json_t *j = json_pack("{s:I}", "N", (json_int_t)n);
    cl_err e = save(st, RUNNING_KIND, "", account, j);
    json_decref(j);
    return e;
}

/* ---- lease ---- */
typedef struct {
    tasks *t;
    store *st;
    const queue_worker *w;
    int64_t now;
    json_t *running; /* account -> leased tasks (when a per-account limit is set) */
    json_t *doc;     /* out: the leased task */
    char lease_id[33];
} lease_ctx;

static bool collect_running(void *arg, const char *name, const char *text) {
    json_t *j = json_loads(text, 0, NULL);
    json_object_set_new(arg, name, json_integer(json_integer_value(json_object_get(j, "N"))));
    json_decref(j);
    return true;
}

static bool eligible(void *arg, const char *name, const char *text) {
    lease_ctx *l = arg;
    (void)name;
    json_t *q = json_loads(text, 0, NULL);
    bool ok = q != NULL;
    const char *role = jstr(q, "RequireRole");
    if (ok && json_integer_value(json_object_get(q, "NotBefore")) > l->now) ok = false;
    if (ok && l->w->local) ok = !role;
    if (ok && !l->w->local) {
        if (json_is_true(json_object_get(q, "LocalOnly")))
            ok = false;
        else if (role)
            ok = l->w->role_arn && strcmp(role, l->w->role_arn) == 0;
    }
    if (ok && l->running && jstr(q, "Account"))
        ok = json_integer_value(json_object_get(l->running, jstr(q, "Account"))) <
             (json_int_t)l->t->qcfg.account_max;
    json_decref(q);
    return ok;
}

static cl_err lease_txn(store *st, void *arg) {
    lease_ctx *l = arg;
    l->st = st;
    char *name = NULL, *text = NULL;
    if (l->t->qcfg.account_max && !l->running) {
        l->running = json_object();
        CL_TRY(store_list(st, RUNNING_KIND, "", NULL, NULL, 0, collect_running, l->running, NULL));
    }
    CL_TRY(store_claim(st, QUEUE_KIND, "", 256, eligible, l, &name, &text));
    json_t *q = json_loads(text, 0, NULL);
    free(name);
    free(text);
    const char *account = jstr(q, "Account"), *id = jstr(q, "TaskId");
    json_t *doc = account && id ? load(st, TASK_KIND, account, id) : NULL;
    cl_err e = doc ? CL_OK : CL_ERR_INTERNAL;
    if (e == CL_OK) {
        uint8_t r[16];
        crypto_random(r, sizeof r);
        hex_encode_to(l->lease_id, r, sizeof r);
        int64_t expires = l->now + (int64_t)l->t->qcfg.lease_s;
        json_int_t attempt = json_integer_value(json_object_get(doc, "Attempt")) + 1;
        json_object_set_new(doc, "Attempt", json_integer(attempt));
        json_object_set_new(doc, "Lease",
                            json_pack("{s:s, s:s, s:s, s:I, s:I}", "Id", l->lease_id, "Worker",
                                      l->w->name ? l->w->name : "", "Principal",
                                      l->w->principal_id ? l->w->principal_id : "local", "Expires",
                                      (json_int_t)expires, "Since", (json_int_t)l->now));
        char note[96];
        snprintf(note, sizeof note, "attempt %lld by %s", (long long)attempt,
                 l->w->name ? l->w->name : "a worker");
        queue_set_state(doc, "leased", note);
        e = save(st, TASK_KIND, account, id, doc);
        json_t *lease = json_pack("{s:s, s:s, s:I, s:s, s:I}", "Account", account, "LeaseId",
                                  l->lease_id, "Expires", (json_int_t)expires, "Principal",
                                  l->w->principal_id ? l->w->principal_id : "local", "Since",
                                  (json_int_t)l->now);
        if (e == CL_OK) e = save(st, LEASE_KIND, "", id, lease);
        json_decref(lease);
        if (e == CL_OK) e = running_add(st, account, +1);
    }
    json_decref(q);
    if (e == CL_OK)
        l->doc = doc;
    else
        json_decref(doc);
    return e;
}

cl_err queue_lease(tasks *t, const queue_worker *w, json_t **doc) {
    lease_ctx l = {.t = t, .w = w, .now = now_s()};
    *doc = NULL;
    cl_err e = store_txn(t->st, lease_txn, &l);
    json_decref(l.running);
    if (e == CL_OK) *doc = l.doc;
    return e;
}

/* ---- the lease holder's calls ---- */
typedef struct {
    tasks *t;
    const char *id, *lease_id, *principal;
    char account[13];
    json_t *doc;
} held;

/* Inside a transaction: loads the lease and the task and checks the caller
 * holds it. CL_ERR_DENIED: lost (another lease, or none). */
static cl_err hold(store *st, held *h) {
    json_t *lease = load(st, LEASE_KIND, "", h->id);
    const char *acct = jstr(lease, "Account");
    cl_err e = CL_OK;
    if (!lease || !acct ||
        strcmp(jstr(lease, "LeaseId") ? jstr(lease, "LeaseId") : "", h->lease_id) != 0)
        e = CL_ERR_DENIED;
    else if (h->principal &&
             strcmp(jstr(lease, "Principal") ? jstr(lease, "Principal") : "", h->principal) != 0)
        e = CL_ERR_DENIED;
    if (e == CL_OK) {
        snprintf(h->account, sizeof h->account, "%s", acct);
        h->doc = load(st, TASK_KIND, acct, h->id);
        if (!h->doc) e = CL_ERR_DENIED;
    }
    json_decref(lease);
    return e;
}

typedef struct {
    held h;
    const char *state;
    int64_t expires;
    bool cancelled;
} beat_ctx;

static cl_err beat_txn(store *st, void *arg) {
    beat_ctx *b = arg;
    CL_TRY(hold(st, &b->h));
    const char *cur = jstr(b->h.doc, "State");
    b->cancelled = cur && strcmp(cur, "cancelled") == 0;
    if (b->cancelled) return CL_OK;
    b->expires = now_s() + (int64_t)b->h.t->qcfg.lease_s;
    json_t *lease = json_object_get(b->h.doc, "Lease");
    json_object_set_new(lease, "Expires", json_integer((json_int_t)b->expires));
    if (b->state && cur && strcmp(cur, b->state) != 0) queue_set_state(b->h.doc, b->state, NULL);
    CL_TRY(save(st, TASK_KIND, b->h.account, b->h.id, b->h.doc));
    json_t *l = json_pack("{s:s, s:s, s:I, s:s, s:O}", "Account", b->h.account, "LeaseId",
                          b->h.lease_id, "Expires", (json_int_t)b->expires, "Principal",
                          jstr(lease, "Principal") ? jstr(lease, "Principal") : "local", "Since",
                          json_object_get(lease, "Since") ? json_object_get(lease, "Since")
                                                          : json_integer(0));
    cl_err e = save(st, LEASE_KIND, "", b->h.id, l);
    json_decref(l);
    return e;
}

cl_err queue_heartbeat(tasks *t, const char *id, const char *lease_id, const char *principal,
                       const char *state, int64_t *expires, bool *cancelled) {
    beat_ctx b = {.h = {t, id, lease_id, principal, "", NULL}, .state = state};
    cl_err e = store_txn(t->st, beat_txn, &b);
    json_decref(b.h.doc);
    if (expires) *expires = b.expires;
    if (cancelled) *cancelled = b.cancelled;
    return e;
}

cl_err queue_lease_doc(tasks *t, const char *id, const char *lease_id, const char *principal,
                       json_t **doc) {
    held h = {t, id, lease_id, principal, "", NULL};
    cl_err e = hold(t->st, &h); /* reads only: no transaction needed */
    *doc = e == CL_OK ? h.doc : NULL;
    if (e != CL_OK) json_decref(h.doc);
    return e;
}

/* Ends a lease inside a transaction: lease item gone, count down. */
static cl_err end_lease(store *st, const char *account, const char *id) {
    cl_err e = store_delete(st, LEASE_KIND, "", id);
    if (e != CL_OK && e != CL_ERR_NOT_FOUND) return e;
    return running_add(st, account, -1);
}

typedef struct {
    held h;
    json_t *set;
    const char *state;
    queue_commit_fn commit;
    void *commit_arg;
    int64_t since;
    bool cancelled;
} finish_ctx;

static cl_err finish_txn(store *st, void *arg) {
    finish_ctx *f = arg;
    CL_TRY(hold(st, &f->h));
    const char *cur = jstr(f->h.doc, "State");
    bool cancelled = cur && strcmp(cur, "cancelled") == 0;
    if (!cancelled && f->commit) {
        cl_err e = f->commit(f->commit_arg, st, f->h.doc);
        if (e != CL_OK) return e;
    }
    if (f->set && cancelled) { /* the owner's "cancelled by its owner" stays the Error */
        json_t *rest = json_copy(f->set);
        json_object_del(rest, "Error");
        json_object_update(f->h.doc, rest);
        json_decref(rest);
    } else if (f->set) {
        json_object_update(f->h.doc, f->set);
    }
    f->since = json_integer_value(json_object_get(json_object_get(f->h.doc, "Lease"), "Since"));
    f->cancelled = cancelled;
    json_object_del(f->h.doc, "Lease");
    if (!cancelled) queue_set_state(f->h.doc, f->state, NULL);
    CL_TRY(save(st, TASK_KIND, f->h.account, f->h.id, f->h.doc));
    return end_lease(st, f->h.account, f->h.id);
}

cl_err queue_finish(tasks *t, const char *id, const char *lease_id, const char *principal, bool ok,
                    json_t *set, queue_commit_fn commit, void *commit_arg, json_t **doc_out) {
    finish_ctx f = {.h = {t, id, lease_id, principal, "", NULL},
                    .set = set,
                    .state = ok ? "done" : "failed",
                    .commit = commit,
                    .commit_arg = commit_arg};
    cl_err e = store_txn(t->st, finish_txn, &f);
    if (e == CL_OK)
        task_metrics_outcome(
            f.cancelled ? "cancelled"
                        : task_metrics_reason(ok, json_string_value(json_object_get(set, "Error"))),
            f.since ? (double)(now_s() - f.since) : -1);
    if (doc_out) *doc_out = e == CL_OK ? f.h.doc : NULL;
    if (!doc_out || e != CL_OK) json_decref(f.h.doc);
    if (e == CL_OK) wake(t); /* a concurrency slot freed */
    return e;
}

/* ---- expired leases ---- */
typedef struct {
    tasks *t;
    const char *id;
    int64_t now;
} reap_ctx;

static cl_err reap_txn(store *st, void *arg) {
    reap_ctx *r = arg;
    json_t *lease = load(st, LEASE_KIND, "", r->id);
    if (!lease) return CL_OK;
    cl_err e = CL_OK;
    const char *account = jstr(lease, "Account");
    if (json_integer_value(json_object_get(lease, "Expires")) >= r->now || !account) goto out;
    json_t *doc = load(st, TASK_KIND, account, r->id);
    e = end_lease(st, account, r->id);
    if (e != CL_OK || !doc) {
        json_decref(doc);
        goto out;
    }
    json_object_del(doc, "Lease");
    json_int_t attempt = json_integer_value(json_object_get(doc, "Attempt"));
    json_int_t max = json_integer_value(json_object_get(doc, "MaxAttempts"));
    if (max <= 0) max = r->t->qcfg.max_attempts;
    const char *cur = jstr(doc, "State");
    if (cur && strcmp(cur, "cancelled") == 0) {
        /* stays cancelled */
    } else if (attempt >= max) {
        char msg[128];
        snprintf(msg, sizeof msg, "the worker stopped responding (lease expired) %lld time%s",
                 (long long)attempt, attempt == 1 ? "" : "s");
        json_object_set_new(doc, "Error", json_string(msg));
        queue_set_state(doc, "failed", msg);
        task_metrics_outcome("lease_expired", -1);
    } else {
        int64_t backoff = (int64_t)1 << (attempt < 10 ? attempt - 1 : 9); /* 1, 2, 4.. s */
        queue_set_state(doc, "queued", "the lease expired: queued again");
        e = enqueue_txn(st, doc, r->now + backoff - 1);
    }
    if (e == CL_OK) e = save(st, TASK_KIND, account, r->id, doc);
    json_decref(doc);
out:
    json_decref(lease);
    return e;
}

typedef struct {
    int64_t now;
    json_t *ids;
} expired_scan;

static bool collect_expired(void *arg, const char *name, const char *text) {
    expired_scan *s = arg;
    json_t *j = json_loads(text, 0, NULL);
    if (json_integer_value(json_object_get(j, "Expires")) < s->now)
        json_array_append_new(s->ids, json_string(name));
    json_decref(j);
    return json_array_size(s->ids) < 256;
}

size_t queue_reap(tasks *t) {
    expired_scan s = {now_s(), json_array()};
    (void)store_list(t->st, LEASE_KIND, "", NULL, NULL, 0, collect_expired, &s, NULL);
    size_t i, n = 0;
    json_t *v;
    json_array_foreach(s.ids, i, v) {
        reap_ctx r = {t, json_string_value(v), s.now};
        if (store_txn(t->st, reap_txn, &r) == CL_OK) n++;
    }
    json_decref(s.ids);
    if (n) wake(t);
    return n;
}

/* ---- cancel and retry (the owner's) ---- */
typedef struct {
    const char *account, *id;
    bool retry;
    char msg[160];
    json_t *doc;
} ctl_ctx;

typedef struct {
    const char *id;
    char *name;
} find_q;

static bool find_queue_item(void *arg, const char *name, const char *text) {
    find_q *f = arg;
    (void)text;
    const char *last = strrchr(name, ':');
    if (last && strcmp(last + 1, f->id) == 0) {
        f->name = cl_strdup(name);
        return false;
    }
    return true;
}

static cl_err cancel_txn(store *st, ctl_ctx *c, const char *cur) {
    if (strcmp(cur, "done") == 0 || strcmp(cur, "failed") == 0 || strcmp(cur, "cancelled") == 0) {
        snprintf(c->msg, sizeof c->msg, "Task %s is already %s.", c->id, cur);
        return CL_ERR_EXISTS;
    }
    if (strcmp(cur, "queued") == 0) {
        find_q f = {c->id, NULL};
        (void)store_list(st, QUEUE_KIND, "", NULL, NULL, 0, find_queue_item, &f, NULL);
        if (f.name) (void)store_delete(st, QUEUE_KIND, "", f.name);
        free(f.name);
    }
    /* a leased task keeps its lease until the worker notices (heartbeat) or it expires */
    json_object_set_new(c->doc, "Error", json_string("cancelled by its owner"));
    queue_set_state(c->doc, "cancelled", NULL);
    return CL_OK;
}

static cl_err retry_txn(store *st, ctl_ctx *c, const char *cur) {
    if (strcmp(cur, "failed") != 0 && strcmp(cur, "cancelled") != 0) {
        snprintf(c->msg, sizeof c->msg,
                 "Task %s is %s: only failed or cancelled tasks are retried.", c->id, cur);
        return CL_ERR_EXISTS;
    }
    json_t *lease = load(st, LEASE_KIND, "", c->id);
    if (lease) {
        json_decref(lease);
        snprintf(c->msg, sizeof c->msg,
                 "Task %s is still leased by a worker: retry it once the lease ends.", c->id);
        return CL_ERR_EXISTS;
    }
    static const char *const clear[] = {"Error",
                                        "ExitCode",
                                        "OutputBlob",
                                        "OutputSize",
                                        "ResultDigest",
                                        "Receipt",
                                        "DeterministicOutputPath",
                                        "Stdout",
                                        "Stderr",
                                        "Published",
                                        NULL};
    for (int i = 0; clear[i]; i++)
        json_object_del(c->doc, clear[i]);
    json_object_set_new(c->doc, "Attempt", json_integer(0));
    queue_set_state(c->doc, "queued", "retried by its owner");
    return enqueue_txn(st, c->doc, 0);
}

static cl_err owner_txn(store *st, void *arg) {
    ctl_ctx *c = arg;
    c->doc = load(st, TASK_KIND, c->account, c->id);
    if (!c->doc) return CL_ERR_NOT_FOUND;
    const char *cur = jstr(c->doc, "State");
    if (!cur) return CL_ERR_INTERNAL;
    CL_TRY(c->retry ? retry_txn(st, c, cur) : cancel_txn(st, c, cur));
    return save(st, TASK_KIND, c->account, c->id, c->doc);
}

cl_err queue_owner_change(tasks *t, const char *account, const char *id, bool retry, char *msg,
                          size_t msglen, json_t **doc) {
    ctl_ctx c = {.account = account, .id = id, .retry = retry};
    cl_err e = store_txn(t->st, owner_txn, &c);
    snprintf(msg, msglen, "%s", c.msg);
    if (e == CL_OK) {
        wake(t);
        *doc = c.doc;
    } else {
        json_decref(c.doc);
        *doc = NULL;
    }
    return e;
}
