/* s3_bucket_cache.c — bucket documents, their parsed bucket policies and the
 * owner account's Block Public Access setting, kept in memory: every object
 * request needs all three, and parsing a policy per request was most of a small
 * GET's cost. An entry is used only while the meta store's write sequence
 * equals the one read before it was loaded (every write bumps it, whatever its
 * kind), so a changed policy, Block Public Access setting (bucket or account)
 * or a deleted bucket is seen by the very next request.
 * Entries are shared by reference count; the cached document is never modified
 * (callers get their own copy to edit). */
#include "s3/s3_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 256

struct s3_bucket_entry {
    int refs; /* under the cache lock */
    json_t *doc;
    policy *policy;     /* the bucket policy, parsed; NULL if none or unreadable */
    s3_pab account_pab; /* the owner account's Block Public Access */
};

typedef struct {
    char name[64];
    uint64_t seq;
    s3_bucket_entry *e;
} slot;

struct s3_bucket_cache {
    pthread_mutex_t lock;
    slot slots[SLOTS];
};

s3_bucket_cache *s3_bucket_cache_new(void) {
    s3_bucket_cache *c = cl_calloc(1, sizeof *c);
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

static void unref_locked(s3_bucket_entry *e) {
    if (!e || --e->refs > 0) return;
    json_decref(e->doc);
    if (e->policy) policy_free(e->policy);
    free(e);
}

void s3_bucket_cache_free(s3_bucket_cache *c) {
    if (!c) return;
    for (size_t i = 0; i < SLOTS; i++)
        unref_locked(c->slots[i].e);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static slot *slot_for(s3_bucket_cache *c, const char *name) {
    uint64_t h = 1469598103934665603u;
    for (const char *p = name; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211u;
    return &c->slots[h % SLOTS];
}

static s3_bucket_entry *load(s3 *s, const char *name) {
    char *text = NULL;
    if (store_get(s->st, "bucket", "", name, &text) != CL_OK) return NULL;
    s3_bucket_entry *e = cl_calloc(1, sizeof *e);
    e->doc = json_loads(text, 0, NULL);
    free(text);
    if (!e->doc) {
        free(e);
        return NULL;
    }
    const char *pol = json_string_value(json_object_get(e->doc, "Policy"));
    char err[256];
    if (pol && policy_parse(slice_cstr(pol), POLICY_RESOURCE, &e->policy, err, sizeof err) != CL_OK)
        e->policy = NULL; /* validated when put: unreadable now grants nothing */
    const char *owner = json_string_value(json_object_get(e->doc, "Owner"));
    if (owner) s3_account_pab_get(s, owner, &e->account_pab); /* fails closed */
    return e;
}

s3_bucket_entry *s3_bucket_acquire(s3 *s, const char *name) {
    if (!name || strlen(name) >= sizeof((slot *)0)->name) return NULL;
    s3_bucket_cache *c = s->buckets;
    uint64_t seq = store_write_seq(s->st);
    pthread_mutex_lock(&c->lock);
    slot *sl = slot_for(c, name);
    if (sl->e && sl->seq == seq && strcmp(sl->name, name) == 0) {
        sl->e->refs++;
        s3_bucket_entry *hit = sl->e;
        pthread_mutex_unlock(&c->lock);
        return hit;
    }
    pthread_mutex_unlock(&c->lock);
    s3_bucket_entry *e = load(s, name);
    if (!e) return NULL;
    e->refs = 2; /* the caller's and the slot's */
    pthread_mutex_lock(&c->lock);
    unref_locked(sl->e);
    sl->e = e;
    sl->seq = seq;
    snprintf(sl->name, sizeof sl->name, "%s", name);
    pthread_mutex_unlock(&c->lock);
    return e;
}

void s3_bucket_release(s3 *s, s3_bucket_entry *e) {
    if (!e) return;
    pthread_mutex_lock(&s->buckets->lock);
    unref_locked(e);
    pthread_mutex_unlock(&s->buckets->lock);
}

json_t *s3_bucket_entry_doc_copy(const s3_bucket_entry *e) {
    return json_deep_copy(e->doc);
}
const policy *s3_bucket_entry_policy(const s3_bucket_entry *e) {
    return e ? e->policy : NULL;
}
s3_pab s3_bucket_entry_account_pab(const s3_bucket_entry *e) {
    s3_pab none = {0};
    return e ? e->account_pab : none;
}

/* ---- changing one setting of a bucket document ---- */

typedef struct {
    const json_t *seen; /* the document the op authorized against */
    const char *field;
    json_t *value;     /* NULL: delete the field */
    const char *guard; /* a field the op's checks read: must be unchanged, or NULL */
} bucket_change;

/* The stored document is the same bucket the op loaded (not a bucket deleted
 * and re-created meanwhile): every identity field it had is unchanged. */
static bool same_bucket(const json_t *seen, const json_t *cur) {
    static const char *const ids[] = {"Id", "BucketId", "Owner", "CreationDate"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        const json_t *a = json_object_get(seen, ids[i]);
        if (a && !json_equal(a, json_object_get(cur, ids[i]))) return false;
    }
    return true;
}

static bool json_equal_or_absent(const json_t *a, const json_t *b) {
    return (!a && !b) || (a && b && json_equal(a, b));
}

static cl_err apply_change(void *arg, const char *cur, char **next) {
    bucket_change *c = arg;
    json_t *doc = cur ? json_loads(cur, 0, NULL) : NULL;
    if (!doc || !same_bucket(c->seen, doc)) {
        json_decref(doc);
        return CL_ERR_NOT_FOUND;
    }
    if (c->guard &&
        !json_equal_or_absent(json_object_get(c->seen, c->guard), json_object_get(doc, c->guard))) {
        json_decref(doc);
        return CL_ERR_CONFLICT;
    }
    if (c->value)
        json_object_set(doc, c->field, c->value);
    else
        json_object_del(doc, c->field);
    *next = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return *next ? CL_OK : CL_ERR_INTERNAL;
}

bool s3_bucket_update(s3_op *op, const char *field, json_t *value) {
    return s3_bucket_update_guarded(op, field, value, NULL);
}

bool s3_bucket_update_guarded(s3_op *op, const char *field, json_t *value, const char *guard) {
    bucket_change c = {op->bucket_doc, field, value, guard};
    cl_err e = store_update(op->s->st, "bucket", "", op->bucket, apply_change, &c);
    if (e == CL_OK) { /* the op's copy follows, for anything it answers after */
        if (value)
            json_object_set(op->bucket_doc, field, value);
        else
            json_object_del(op->bucket_doc, field);
    }
    json_decref(value);
    if (e == CL_ERR_NOT_FOUND)
        aws_fault_set(&op->f, 404, "NoSuchBucket", "The specified bucket does not exist");
    else if (e == CL_ERR_CONFLICT) /* S3's answer to racing configuration changes */
        aws_fault_set(&op->f, 409, "OperationAborted",
                      "A conflicting conditional operation is currently in progress against "
                      "this resource. Please try again.");
    else if (e != CL_OK)
        aws_fault_set(&op->f, 500, "InternalError", "could not store the bucket");
    return e == CL_OK;
}
