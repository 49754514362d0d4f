/* s3_gc.c — reconciles the blob store with the metadata: a blob that no object,
 * no multipart part and no upload in progress names is garbage (left by a crash
 * between the durable blob and its metadata commit, or after a commit and
 * before the clean-up that followed it) and is deleted once it is older than
 * the grace period, so a write whose metadata commit is still in flight is
 * never touched. Runs at start and hourly. It also drops the records of
 * completed multipart uploads (upload_done) after a day: a retried Complete
 * older than that gets NoSuchUpload.
 *
 * Why the live set is consistent without stopping writers. It is collected
 * per bucket with the PARTS FIRST, then the objects; each store_list call holds
 * the store lock for its whole length, so each is a snapshot. A blob B that is
 * older than the grace period and named by a committed item at any moment
 * during the collection can only be in one of these states:
 *   - named by a part: either the part is still there when its upload's parts
 *     are listed (B is seen), or the upload was completed or aborted before
 *     that. Completion moves B from the part to the object in ONE transaction
 *     (s3_multipart.c), which therefore committed before the objects are
 *     listed: B is seen there, unless the object was replaced or deleted
 *     since, in which case B is garbage indeed (its replacer deletes it too).
 *     Abort leaves B garbage.
 *   - named by an object: objects are listed after the parts in one snapshot;
 *     an object removed before that released B for good.
 * No committed item ever starts naming an old blob: every write (PUT, copy,
 * UploadPart, UploadPartCopy) names a blob it has just finished, younger than
 * the grace period; completion only moves names from parts to the object.
 * Listing objects first (the old order) would break this: a completion between
 * the two listings hides its parts from both. With today's SQLite front
 * (store.c) the outer bucket listing happens to hold the store lock across its
 * nested listings, which made the old order safe by accident; the order above
 * does not depend on it (a backend without one global lock keeps it correct).
 * Versions (objver, s3_version.c) are listed after the objects: a version's
 * blobs are named by its objver item from the commit that wrote it until the
 * one that deletes the version, and the current object's item names the same
 * blobs, so either listing sees every live version's blobs.
 * Blobs a reader has pinned are spared by blob_delete itself (blob.h).
 *
 * Several nodes on one blob directory (serve --blobs, docs/operations.md): the
 * grace period is measured against the blob's mtime, so the nodes' clocks (and
 * the file server's) must agree to well within it; temp files are never
 * collected here (blob_store_open sweeps only those no writer holds an flock
 * on, which NFSv4, CephFS and GlusterFS honour across clients); one node at a
 * time runs GC (serve's housekeeping lease). If any listing fails (the
 * database is unreachable) nothing is collected. */
#include "s3/s3_internal.h"

#include <stdlib.h>
#include <string.h>

#define DONE_KEEP_SECONDS 86400 /* how long a completed upload's result is kept */

typedef struct {
    s3 *s;
    char **ids;
    size_t len, cap;
    const char *bucket_id;
    char **done; /* expired upload_done records of the current bucket */
    size_t done_len, done_cap;
    time_t done_before;
    cl_err err; /* a listing failed (database unreachable): the set is incomplete */
} live_set;

static void note_err(live_set *l, cl_err e) {
    if (e != CL_OK && l->err == CL_OK) l->err = e;
}

static void push(char ***arr, size_t *len, size_t *cap, const char *s) {
    if (*len == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        *arr = cl_realloc(*arr, *cap * sizeof **arr);
    }
    (*arr)[(*len)++] = cl_strdup(s);
}

static void add_id(live_set *l, const char *id) {
    if (id) push(&l->ids, &l->len, &l->cap, id);
}

/* An object or part document: its Blob and the Blobs of its Parts. */
static bool add_doc(void *arg, const char *name, const char *text) {
    (void)name;
    live_set *l = arg;
    json_t *d = json_loads(text, 0, NULL);
    add_id(l, json_string_value(json_object_get(d, "Blob")));
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(d, "Parts"), i, p)
        add_id(l, json_string_value(json_object_get(p, "Blob")));
    json_decref(d);
    return true;
}

static bool add_upload(void *arg, const char *upload_id, const char *text) {
    (void)text;
    live_set *l = arg;
    char *scope = cl_sprintf("%s/%s", l->bucket_id, upload_id);
    note_err(l, store_list(l->s->st, "part", scope, NULL, NULL, 0, add_doc, l, NULL));
    free(scope);
    return true;
}

static bool note_done(void *arg, const char *upload_id, const char *text) {
    live_set *l = arg;
    json_t *d = json_loads(text, 0, NULL);
    time_t t = 0;
    const char *ts = json_string_value(json_object_get(d, "Completed"));
    if (!ts || time_parse_iso8601(slice_cstr(ts), &t) != CL_OK || t < l->done_before) {
        char *both = cl_sprintf("%s/%s", l->bucket_id, upload_id); /* ids hold no '/' */
        push(&l->done, &l->done_len, &l->done_cap, both);
        free(both);
    }
    json_decref(d);
    return true;
}

static bool add_bucket(void *arg, const char *bucket, const char *text) {
    live_set *l = arg;
    json_t *b = json_loads(text, 0, NULL);
    char *id = cl_strdup(s3_bucket_doc_id(b, bucket));
    json_decref(b);
    l->bucket_id = id;
    /* parts before objects: see the header comment */
    note_err(l, store_list(l->s->st, "upload", id, NULL, NULL, 0, add_upload, l, NULL));
    note_err(l, store_list(l->s->st, "object", id, NULL, NULL, 0, add_doc, l, NULL));
    /* every version, current or not (a delete marker names no blob) */
    note_err(l, store_list(l->s->st, "objver", id, NULL, NULL, 0, add_doc, l, NULL));
    note_err(l, store_list(l->s->st, "upload_done", id, NULL, NULL, 0, note_done, l, NULL));
    l->bucket_id = NULL;
    free(id);
    return true;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_live(void *arg, const char *id) {
    live_set *l = arg;
    return l->len && bsearch(&id, l->ids, l->len, sizeof *l->ids, cmp_str) != NULL;
}

cl_err s3_gc(s3 *s, time_t older_than, size_t *removed) {
    live_set l = {.s = s, .done_before = time_now() - DONE_KEEP_SECONDS};
    cl_err e = store_list(s->st, "bucket", "", NULL, NULL, 0, add_bucket, &l, NULL);
    for (size_t i = 0; i < l.done_len; i++) { /* deleted once no listing runs */
        char *slash = strrchr(l.done[i], '/');
        *slash = 0;
        store_delete(s->st, "upload_done", l.done[i], slash + 1);
        free(l.done[i]);
    }
    if (e == CL_OK) e = l.err; /* never collect against an incomplete live set */
    if (e == CL_OK) {
        if (l.len) qsort(l.ids, l.len, sizeof *l.ids, cmp_str);
        e = blob_gc(s->blobs, older_than, is_live, &l, removed);
    }
    for (size_t i = 0; i < l.len; i++)
        free(l.ids[i]);
    free(l.ids);
    free(l.done);
    return e;
}
