/* s3_gc.c — reconciles the blob store with the metadata: a blob that no object,
 * no multipart part and no upload in progress names is garbage (left by a crash
 * between the durable blob and its metadata commit, or by two PUTs racing on one
 * key) and is deleted once it is older than the grace period, so a write whose
 * metadata commit is still in flight is never touched. Runs at start and hourly. */
#include "s3/s3_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    s3 *s;
    char **ids;
    size_t len, cap;
    const char *bucket;
} live_set;

static void add_id(live_set *l, const char *id) {
    if (!id) return;
    if (l->len == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->ids = cl_realloc(l->ids, l->cap * sizeof *l->ids);
    }
    l->ids[l->len++] = cl_strdup(id);
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
    char *scope = cl_sprintf("%s/%s", l->bucket, upload_id);
    store_list(l->s->st, "part", scope, NULL, NULL, 0, add_doc, l, NULL);
    free(scope);
    return true;
}

static bool add_bucket(void *arg, const char *bucket, const char *text) {
    (void)text;
    live_set *l = arg;
    l->bucket = bucket;
    store_list(l->s->st, "object", bucket, NULL, NULL, 0, add_doc, l, NULL);
    store_list(l->s->st, "upload", bucket, NULL, NULL, 0, add_upload, l, NULL);
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
    live_set l = {.s = s};
    cl_err e = store_list(s->st, "bucket", "", NULL, NULL, 0, add_bucket, &l, NULL);
    if (e == CL_OK) {
        if (l.len) qsort(l.ids, l.len, sizeof *l.ids, cmp_str);
        e = blob_gc(s->blobs, older_than, is_live, &l, removed);
    }
    for (size_t i = 0; i < l.len; i++)
        free(l.ids[i]);
    free(l.ids);
    return e;
}
