/* s3_bucket_id.c — bucket identity and the commit rules that depend on it.
 *
 * Every bucket has a unique Id (s3_internal.h says its format); objects,
 * uploads and parts are stored under it, so a name deleted and re-created is
 * a different bucket with nothing in it. A write that began before the bucket
 * was deleted checks, in the very transaction that commits it, that the name
 * still has the Id it started with (s3_bucket_txn_check), and fails with
 * NoSuchBucket otherwise.
 *
 * DeleteBucket is one transaction: the BucketNotEmpty check (objects only, as
 * S3: a general purpose bucket may be deleted with multipart uploads in
 * progress, which are discarded with it — AWS, "Emptying a general purpose
 * bucket": only objects, versions and delete markers must be deleted first),
 * the removal of the uploads, their parts and completion records, and of the
 * bucket document. The part blobs are deleted after the commit.
 *
 * Blob lifetime: a blob is deleted only after the commit that removed the last
 * document naming it (s3_delete_replaced_blobs never deletes a blob the new
 * document still names), and readers pin the blobs of the object they stream
 * (s3_object_pin) so a delete meanwhile is deferred to the last reader. */
#include "s3/s3_internal.h"

#include "crypto/crypto.h"

#include <stdlib.h>
#include <string.h>

const char *s3_bucket_doc_id(json_t *bucket_doc, const char *name) {
    const char *id = json_string_value(json_object_get(bucket_doc, "Id"));
    return id && *id ? id : name;
}

char *s3_bucket_new_id(void) {
    uint8_t raw[16];
    char hex[33];
    crypto_random(raw, sizeof raw);
    hex_encode_to(hex, raw, sizeof raw);
    for (char *c = hex; *c; c++)
        if (*c >= 'a' && *c <= 'f') *c = (char)(*c - 32);
    return cl_sprintf("B%s", hex); /* upper case: never a bucket name */
}

cl_err s3_bucket_txn_load(store *st, const char *name, const char *id, json_t **doc) {
    *doc = NULL;
    char *text = NULL;
    cl_err e = store_get(st, "bucket", "", name, &text);
    if (e != CL_OK) return e;
    json_t *d = json_loads(text, 0, NULL);
    free(text);
    e = d && id && strcmp(s3_bucket_doc_id(d, name), id) == 0 ? CL_OK : CL_ERR_NOT_FOUND;
    if (e == CL_OK)
        *doc = d;
    else
        json_decref(d);
    return e;
}

cl_err s3_bucket_txn_check(store *st, const char *name, const char *id) {
    json_t *d = NULL;
    cl_err e = s3_bucket_txn_load(st, name, id, &d);
    json_decref(d);
    return e;
}

/* ---- migration of buckets from before Ids ---- */

typedef struct {
    char **names;
    size_t len, cap;
} name_list;

static void names_add(name_list *l, const char *name) {
    if (l->len == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->names = cl_realloc(l->names, l->cap * sizeof *l->names);
    }
    l->names[l->len++] = cl_strdup(name);
}

static void names_free(name_list *l) {
    for (size_t i = 0; i < l->len; i++)
        free(l->names[i]);
    free(l->names);
}

static bool collect_name(void *arg, const char *name, const char *text) {
    (void)text;
    names_add(arg, name);
    return true;
}

static cl_err migrate_txn(store *st, void *arg) {
    name_list *l = arg;
    for (size_t i = 0; i < l->len; i++) {
        char *text = NULL;
        if (store_get(st, "bucket", "", l->names[i], &text) != CL_OK) continue;
        json_t *d = json_loads(text, 0, NULL);
        free(text);
        cl_err e = CL_OK;
        if (d && !json_object_get(d, "Id")) { /* its items stay under its name */
            json_object_set_new(d, "Id", json_string(l->names[i]));
            char *out = json_dumps(d, JSON_COMPACT);
            e = store_put(st, "bucket", "", l->names[i], out);
            free(out);
        }
        json_decref(d);
        if (e != CL_OK) return e;
    }
    return CL_OK;
}

cl_err s3_bucket_ids_migrate(s3 *s) {
    name_list l = {0};
    cl_err e = store_list(s->st, "bucket", "", NULL, NULL, 0, collect_name, &l, NULL);
    if (e == CL_OK && l.len) e = store_txn(s->st, migrate_txn, &l);
    names_free(&l);
    return e;
}

/* ---- DeleteBucket ---- */

typedef struct {
    const char *name, *id;
    json_t *blobs; /* part blobs to delete after the commit */
    bool not_empty;
} drop_ctx;

static bool collect_blob(void *arg, const char *name, const char *text) {
    (void)name;
    drop_ctx *d = arg;
    json_t *p = json_loads(text, 0, NULL);
    const char *b = json_string_value(json_object_get(p, "Blob"));
    if (b) json_array_append_new(d->blobs, json_string(b));
    json_decref(p);
    return true;
}

static cl_err drop_txn(store *st, void *arg) {
    drop_ctx *d = arg;
    CL_TRY(s3_bucket_txn_check(st, d->name, d->id));
    size_t n = 0, versions = 0;
    CL_TRY(store_count(st, "object", d->id, &n));
    CL_TRY(store_count(st, "objver", d->id, &versions)); /* versions and delete markers */
    if (n + versions > 0) {
        d->not_empty = true;
        return CL_ERR_EXISTS;
    }
    name_list uploads = {0};
    cl_err e = store_list(st, "upload", d->id, NULL, NULL, 0, collect_name, &uploads, NULL);
    for (size_t i = 0; e == CL_OK && i < uploads.len; i++) {
        char *scope = cl_sprintf("%s/%s", d->id, uploads.names[i]);
        e = store_list(st, "part", scope, NULL, NULL, 0, collect_blob, d, NULL);
        if (e == CL_OK) e = store_delete_scope(st, "part", scope);
        free(scope);
    }
    names_free(&uploads);
    if (e == CL_OK) e = store_delete_scope(st, "upload", d->id);
    if (e == CL_OK) e = store_delete_scope(st, "upload_done", d->id);
    if (e == CL_OK) e = store_delete(st, "bucket", "", d->name);
    return e;
}

bool s3_bucket_drop(s3_op *op) {
    drop_ctx d = {op->bucket, op->bucket_id, json_array(), false};
    cl_err e = store_txn(op->s->st, drop_txn, &d);
    if (e == CL_OK) {
        size_t i;
        json_t *b;
        json_array_foreach(d.blobs, i, b) blob_delete(op->s->blobs, json_string_value(b));
    } else if (d.not_empty) {
        aws_fault_set(&op->f, 409, "BucketNotEmpty", "The bucket you tried to delete is not empty");
    } else if (e == CL_ERR_NOT_FOUND) {
        aws_fault_set(&op->f, 404, "NoSuchBucket", "The specified bucket does not exist");
    } else {
        aws_fault_set(&op->f, 500, "InternalError", "could not delete the bucket");
    }
    json_decref(d.blobs);
    return e == CL_OK;
}

/* ---- committing objects ---- */

cl_err s3_object_put_txn(store *st, const char *bucket, const char *bucket_id, const char *key,
                         json_t *doc, s3_event *ev, json_t **old) {
    *old = NULL;
    if (ev) ev->emitted = 0;
    json_t *bucket_doc = NULL;
    CL_TRY(s3_bucket_txn_load(st, bucket, bucket_id, &bucket_doc));
    cl_err e = CL_OK;
    if (s3_ver_state_of(bucket_doc) != S3_VER_NONE) { /* the old version stays */
        e = s3_ver_put_txn(st, bucket_doc, bucket_id, key, doc, old);
    } else {
        char *text = NULL;
        if (store_get(st, "object", bucket_id, key, &text) == CL_OK)
            *old = json_loads(text, 0, NULL);
        free(text);
        text = json_dumps(doc, JSON_COMPACT);
        e = store_put(st, "object", bucket_id, key, text);
        free(text);
    }
    if (e == CL_OK) e = s3_event_emit_txn(st, bucket_doc, bucket, bucket_id, key, doc, ev);
    json_decref(bucket_doc);
    return e;
}

/* ---- conditional writes ---- */

bool s3_write_cond_valid(s3_op *op) {
    const char *inm = kvlist_get_ci(&op->req->headers, "If-None-Match");
    if (!inm || slice_eq_cstr(slice_trim(slice_cstr(inm)), "*")) return true;
    /* AWS accepts only "*" (PutObject, CompleteMultipartUpload: "Expects the '*'
     * (asterisk) character") */
    aws_fault_set(&op->f, 501, "NotImplemented",
                  "A header you provided implies functionality that is not implemented");
    return false;
}

cl_err s3_write_cond_txn(s3_op *op, store *st, const char *bucket_id, const char *key) {
    const char *im = kvlist_get_ci(&op->req->headers, "If-Match");
    const char *inm = kvlist_get_ci(&op->req->headers, "If-None-Match");
    if (!im && !inm) return CL_OK;
    char *text = NULL;
    json_t *cur = NULL;
    if (store_get(st, "object", bucket_id, key, &text) == CL_OK) cur = json_loads(text, 0, NULL);
    free(text);
    const char *etag = json_string_value(json_object_get(cur, "ETag"));
    cl_err e = CL_OK;
    if (im && !cur) {
        aws_fault_set(&op->f, 404, "NoSuchKey", "The specified key does not exist.");
        e = CL_ERR_CONFLICT;
    } else if ((im && !s3_etag_listed(im, etag ? etag : "")) || (inm && cur)) {
        aws_fault_set(&op->f, 412, "PreconditionFailed",
                      "At least one of the pre-conditions you specified did not hold");
        e = CL_ERR_CONFLICT;
    }
    json_decref(cur);
    return e;
}

typedef struct {
    s3_op *op;
    const char *bucket, *bucket_id, *key;
    json_t *doc, *old;
    s3_event *ev;
} put_ctx;

static cl_err put_txn(store *st, void *arg) {
    put_ctx *p = arg;
    json_decref(p->old); /* a retried transaction starts over */
    p->old = NULL;
    p->op->f = (aws_fault){0};
    CL_TRY(s3_write_cond_txn(p->op, st, p->bucket_id, p->key)); /* checked where written */
    return s3_object_put_txn(st, p->bucket, p->bucket_id, p->key, p->doc, p->ev, &p->old);
}

bool s3_commit_object_doc(s3_op *op, const char *bucket, const char *bucket_id, const char *key,
                          json_t *doc, s3_event *ev) {
    put_ctx p = {op, bucket, bucket_id, key, doc, NULL, ev};
    cl_err e = store_txn(op->s->st, put_txn, &p);
    if (e == CL_OK) s3_event_after_commit(p.ev);
    if (e != CL_OK) {
        json_decref(p.old);
        s3_delete_object_blobs(op->s, doc); /* never committed: nothing names them */
        bool precondition = e == CL_ERR_CONFLICT && op->f.code; /* op->f says which */
        if (!precondition && e == CL_ERR_NOT_FOUND)
            aws_fault_set(&op->f, 404, "NoSuchBucket", "The specified bucket does not exist");
        else if (!precondition)
            aws_fault_set(&op->f, 500, "InternalError", "could not store the object's metadata");
        return false;
    }
    s3_delete_replaced_blobs(op->s, p.old, doc); /* replaced bytes go last */
    json_decref(p.old);
    return true;
}

/* ---- blobs of object documents ---- */

/* Calls fn for the blob id of every part (a single-blob object: its Blob). */
static bool each_blob(json_t *object, bool (*fn)(void *, const char *), void *arg) {
    const char *blob = json_string_value(json_object_get(object, "Blob"));
    if (blob && !fn(arg, blob)) return false;
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(object, "Parts"), i, p) {
        const char *b = json_string_value(json_object_get(p, "Blob"));
        if (b && !fn(arg, b)) return false;
    }
    return true;
}

static bool names_blob(void *arg, const char *id) {
    return strcmp(arg, id) != 0; /* stops (false) when found */
}

typedef struct {
    s3 *s;
    json_t *now;
} replaced;

static bool delete_unless_kept(void *arg, const char *id) {
    replaced *r = arg;
    if (!r->now || each_blob(r->now, names_blob, (void *)id)) blob_delete(r->s->blobs, id);
    return true;
}

void s3_delete_replaced_blobs(s3 *s, json_t *old, json_t *now) {
    if (!old) return;
    replaced r = {s, now};
    each_blob(old, delete_unless_kept, &r);
}

typedef struct {
    s3 *s;
    size_t pinned;
} pinning;

static bool pin_one(void *arg, const char *id) {
    pinning *p = arg;
    if (blob_pin_id(p->s->blobs, id) != CL_OK) return false;
    p->pinned++;
    return true;
}

typedef struct {
    s3 *s;
    size_t left;
} unpinning;

static bool unpin_one(void *arg, const char *id) {
    unpinning *u = arg;
    if (u->left == 0) return false;
    u->left--;
    blob_unpin_id(u->s->blobs, id);
    return true;
}

bool s3_object_pin(s3 *s, json_t *object) {
    pinning p = {s, 0};
    if (each_blob(object, pin_one, &p)) return true;
    unpinning u = {s, p.pinned}; /* undo the pins taken before the missing blob */
    each_blob(object, unpin_one, &u);
    return false;
}

void s3_object_unpin(s3 *s, json_t *object) {
    unpinning u = {s, (size_t)-1};
    each_blob(object, unpin_one, &u);
}

bool s3_test_crash_at(const char *point) {
    const char *at = getenv("CLOISTER_TEST_CRASH_AT");
    return at && strcmp(at, point) == 0;
}
