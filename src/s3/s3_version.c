/* s3_version.c — object versions: how they are stored and named, version ids,
 * and the store transactions that write, delete, find and update versions.
 *
 * A bucket's "Versioning" field (its document) is absent (never versioned),
 * "Enabled" or "Suspended"; once set it is never removed. A never-versioned
 * bucket keeps only the "object" items, as before versioning existed: the fast
 * path, untouched. Once versioning is set (s3_ver_migrate_txn copies every
 * object in as its `null` version, in the transaction that sets it), every
 * version of a key, delete markers included, is an item
 *   objver  bucket id / vname(key, seq)  the object document + "VersionId",
 *           or a marker {DeleteMarker: true, VersionId, LastModified, Owner}
 * and the "object" item stays the current version when it is not a delete
 * marker (absent otherwise), so GET and ListObjects read what they read before.
 *
 * vname(key, seq) = key with each 0x01 byte written 0x01 0x02, then the
 * separator 0x01 0x01, then 16 hex digits of (2^64-1 - seq): the escaping keeps
 * byte order and the separator sorts below every key byte that can follow, so
 * one range scan in byte order (the store's) gives the keys in order and each
 * key's versions newest first. seq: nanoseconds since the epoch, strictly
 * increasing within the process (the null version of an object from before
 * versioning: its LastModified in nanoseconds, older than any later write).
 *
 * Version ids are 32 URL-safe characters ([A-Za-z0-9._]): 11 base-64 digits of
 * seq, then 21 random ones. The key of a request and the id's seq name the
 * item; the stored VersionId must equal the id, else NoSuchVersion. "null"
 * names the null version (the one of a never-versioned bucket's object, or
 * written while suspended; at most one per key). */
#include "s3/s3_internal.h"

#include "crypto/crypto.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VID_ALPHABET "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._"
#define VID_SEQ_DIGITS 11

s3_ver_state s3_ver_state_of(json_t *bucket_doc) {
    const char *v = json_string_value(json_object_get(bucket_doc, "Versioning"));
    if (!v) return S3_VER_NONE;
    return strcmp(v, "Enabled") == 0 ? S3_VER_ENABLED : S3_VER_SUSPENDED;
}

/* ---- sequence numbers and names ---- */

static pthread_mutex_t seq_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t seq_last;

static uint64_t next_seq(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    pthread_mutex_lock(&seq_mu);
    if (ns <= seq_last) ns = seq_last + 1;
    seq_last = ns;
    pthread_mutex_unlock(&seq_mu);
    return ns;
}

/* The escaped key and the separator: the prefix of all of key's versions. */
static void key_prefix(cl_buf *b, const char *key) {
    for (const char *p = key; *p; p++) {
        if (*p == 1)
            buf_append(b, "\x01\x02", 2);
        else
            buf_append(b, p, 1);
    }
    buf_append(b, "\x01\x01", 2);
}

static char *vname(const char *key, uint64_t seq) {
    cl_buf b = CL_BUF_INIT;
    key_prefix(&b, key);
    buf_appendf(&b, "%016llx", (unsigned long long)(~seq));
    return buf_take_cstr(&b);
}

char *s3_ver_key_of(const char *name) {
    size_t n = strlen(name);
    if (n < 18) return NULL;
    cl_buf b = CL_BUF_INIT;
    for (size_t i = 0; i < n - 18; i++) {
        buf_append(&b, &name[i], 1);
        if (name[i] == 1) i++; /* 0x01 0x02: one 0x01 of the key */
    }
    return buf_take_cstr(&b);
}

char *s3_ver_prefix(const char *key_prefix_text) {
    cl_buf b = CL_BUF_INIT;
    key_prefix(&b, key_prefix_text);
    b.len -= 2; /* without the separator: a prefix of keys, not one key */
    return buf_take_cstr(&b);
}

char *s3_ver_after_key(const char *key) {
    cl_buf b = CL_BUF_INIT;
    key_prefix(&b, key);
    buf_append_cstr(&b, "g"); /* above every hex digit: after the key's last version */
    return buf_take_cstr(&b);
}

/* ---- version ids ---- */

static char *new_vid(uint64_t seq) {
    char id[33];
    for (int i = VID_SEQ_DIGITS - 1; i >= 0; i--, seq >>= 6)
        id[i] = VID_ALPHABET[seq & 63];
    crypto_random_string(id + VID_SEQ_DIGITS, 32 - VID_SEQ_DIGITS, VID_ALPHABET);
    id[32] = 0;
    return cl_strdup(id);
}

/* seq of a well-formed id; false if malformed. */
static bool vid_seq(const char *vid, uint64_t *seq) {
    if (strlen(vid) != 32) return false;
    uint64_t s = 0;
    for (int i = 0; i < 32; i++) {
        const char *at = vid[i] ? strchr(VID_ALPHABET, vid[i]) : NULL;
        if (!at) return false;
        if (i < VID_SEQ_DIGITS) s = (s << 6) | (uint64_t)(at - VID_ALPHABET);
        if (i == 0 && at - VID_ALPHABET >= 16) return false; /* 66 bits: the top 2 are 0 */
    }
    *seq = s;
    return true;
}

bool s3_ver_id_valid(const char *vid) {
    uint64_t s;
    return strcmp(vid, "null") == 0 || vid_seq(vid, &s);
}

bool s3_ver_query(s3_op *op, const char **vid) {
    *vid = kvlist_get(&op->query, "versionId");
    if (!*vid || s3_ver_id_valid(*vid)) return true;
    aws_fault_set(&op->f, 400, "InvalidArgument", "Invalid version id specified");
    return false;
}

const char *s3_ver_id_of(json_t *bucket_doc, json_t *doc) {
    const char *v = json_string_value(json_object_get(doc, "VersionId"));
    if (v) return v;
    return s3_ver_state_of(bucket_doc) != S3_VER_NONE ? "null" : NULL;
}

void s3_ver_header(s3_op *op, json_t *doc) {
    const char *v = s3_ver_id_of(op->bucket_doc, doc);
    if (v) http_set_header(op->resp, "x-amz-version-id", v);
}

void s3_ver_written_header(s3_op *op, json_t *doc) {
    const char *v = json_string_value(json_object_get(doc, "VersionId"));
    if (v && strcmp(v, "null") != 0) http_set_header(op->resp, "x-amz-version-id", v);
}

/* ---- reading versions (inside or outside a transaction) ---- */

static json_t *get_json(store *st, const char *kind, const char *scope, const char *name) {
    char *text = NULL;
    json_t *d = NULL;
    if (store_get(st, kind, scope, name, &text) == CL_OK) d = json_loads(text, 0, NULL);
    free(text);
    return d;
}

static cl_err write_json(store *st, const char *kind, const char *scope, const char *name,
                         json_t *doc, bool replace) {
    char *text = json_dumps(doc, JSON_COMPACT);
    if (!text) return CL_ERR_INVALID;
    cl_err e = replace ? store_put(st, kind, scope, name, text)
                       : store_insert(st, kind, scope, name, text);
    free(text);
    return e;
}

static cl_err put_json(store *st, const char *kind, const char *scope, const char *name,
                       json_t *doc) {
    return write_json(st, kind, scope, name, doc, true);
}

/* A new version's item: never over another one (two nodes' clocks giving the
 * same nanosecond fail the write rather than lose a version). */
static cl_err insert_version(store *st, const char *bucket_id, const char *name, json_t *doc) {
    return write_json(st, "objver", bucket_id, name, doc, false);
}

typedef struct {
    const char *want; /* a VersionId to find (NULL: the first item) */
    char *name;
    json_t *doc;
} finder;

static bool find_one(void *arg, const char *name, const char *text) {
    finder *f = arg;
    json_t *d = json_loads(text, 0, NULL);
    const char *v = json_string_value(json_object_get(d, "VersionId"));
    if (!f->want || (v && strcmp(v, f->want) == 0)) {
        f->name = cl_strdup(name);
        f->doc = d;
        return false;
    }
    json_decref(d);
    return true;
}

/* The version of key with VersionId vid (NULL: the newest), scanning the key's
 * versions; *name (may be NULL) gets its item name. */
static cl_err scan_key(store *st, const char *bucket_id, const char *key, const char *vid,
                       json_t **doc, char **name) {
    cl_buf pre = CL_BUF_INIT;
    key_prefix(&pre, key);
    finder f = {vid, NULL, NULL};
    cl_err e =
        store_list(st, "objver", bucket_id, buf_cstr(&pre), NULL, vid ? 0 : 1, find_one, &f, NULL);
    buf_free(&pre);
    if (e == CL_OK && !f.doc) e = CL_ERR_NOT_FOUND;
    if (e == CL_OK) {
        *doc = f.doc;
        if (name)
            *name = f.name;
        else
            free(f.name);
    } else {
        json_decref(f.doc);
        free(f.name);
    }
    return e;
}

cl_err s3_ver_find(store *st, json_t *bucket_doc, const char *bucket_id, const char *key,
                   const char *vid, json_t **doc, char **name) {
    *doc = NULL;
    if (name) *name = NULL;
    if (s3_ver_state_of(bucket_doc) == S3_VER_NONE) { /* only null versions */
        if (strcmp(vid, "null") != 0) return CL_ERR_NOT_FOUND;
        *doc = get_json(st, "object", bucket_id, key);
        return *doc ? CL_OK : CL_ERR_NOT_FOUND;
    }
    uint64_t seq;
    if (!vid_seq(vid, &seq)) return scan_key(st, bucket_id, key, vid, doc, name); /* "null" */
    char *n = vname(key, seq);
    json_t *d = get_json(st, "objver", bucket_id, n);
    const char *v = json_string_value(json_object_get(d, "VersionId"));
    if (!v || strcmp(v, vid) != 0) {
        json_decref(d);
        free(n);
        return CL_ERR_NOT_FOUND;
    }
    *doc = d;
    if (name)
        *name = n;
    else
        free(n);
    return CL_OK;
}

cl_err s3_ver_latest(store *st, const char *bucket_id, const char *key, json_t **doc) {
    *doc = NULL;
    return scan_key(st, bucket_id, key, NULL, doc, NULL);
}

/* ---- writing ---- */

static bool collect_object(void *arg, const char *key, const char *text) {
    json_t *d = json_loads(text, 0, NULL);
    if (d) json_object_set_new(arg, key, d);
    return true;
}

/* The objects are read first and written after the listing ends: no write
 * while a scan of the same table is open. */
cl_err s3_ver_migrate_txn(store *st, const char *bucket_id) {
    json_t *all = json_object();
    cl_err e = store_list(st, "object", bucket_id, NULL, NULL, 0, collect_object, all, NULL);
    const char *key;
    json_t *d;
    json_object_foreach(all, key, d) {
        if (e != CL_OK) break;
        time_t t = 0;
        time_parse_iso8601(slice_cstr(json_string_value(json_object_get(d, "LastModified"))), &t);
        json_object_set_new(d, "VersionId", json_string("null"));
        char *n = vname(key, (uint64_t)t * 1000000000ull);
        e = insert_version(st, bucket_id, n, d);
        free(n);
    }
    json_decref(all);
    return e;
}

/* Inside the transaction: removes key's null version, if any (*removed gets it). */
static cl_err drop_null(store *st, const char *bucket_id, const char *key, json_t **removed) {
    char *name = NULL;
    cl_err e = scan_key(st, bucket_id, key, "null", removed, &name);
    if (e == CL_ERR_NOT_FOUND) return CL_OK;
    if (e == CL_OK) e = store_delete(st, "objver", bucket_id, name);
    free(name);
    return e;
}

cl_err s3_ver_put_txn(store *st, json_t *bucket_doc, const char *bucket_id, const char *key,
                      json_t *doc, json_t **old) {
    *old = NULL;
    uint64_t seq = next_seq();
    bool enabled = s3_ver_state_of(bucket_doc) == S3_VER_ENABLED;
    char *vid = enabled ? new_vid(seq) : cl_strdup("null");
    json_object_set_new(doc, "VersionId", json_string(vid));
    free(vid);
    if (!enabled) CL_TRY(drop_null(st, bucket_id, key, old)); /* replaced: its bytes go */
    char *n = vname(key, seq);
    cl_err e = insert_version(st, bucket_id, n, doc);
    free(n);
    if (e == CL_OK) e = put_json(st, "object", bucket_id, key, doc);
    return e;
}

/* After the newest version of key changed: "object" follows it. */
static cl_err follow_latest(store *st, const char *bucket_id, const char *key) {
    json_t *latest = NULL;
    cl_err e = s3_ver_latest(st, bucket_id, key, &latest);
    if (e == CL_OK && !json_is_true(json_object_get(latest, "DeleteMarker"))) {
        e = put_json(st, "object", bucket_id, key, latest);
    } else if (e == CL_OK || e == CL_ERR_NOT_FOUND) {
        e = store_delete(st, "object", bucket_id, key);
        if (e == CL_ERR_NOT_FOUND) e = CL_OK;
    }
    json_decref(latest);
    return e;
}

static cl_err delete_version(store *st, json_t *bucket_doc, const char *bucket_id, const char *key,
                             const char *vid, s3_ver_deletion *r) {
    if (s3_ver_state_of(bucket_doc) == S3_VER_NONE) { /* "null": the object itself */
        if (strcmp(vid, "null") != 0) return CL_OK;
        r->removed = get_json(st, "object", bucket_id, key);
        if (!r->removed) return CL_OK;
        r->version_id = cl_strdup("null");
        return store_delete(st, "object", bucket_id, key);
    }
    json_t *d = NULL, *latest = NULL;
    char *name = NULL;
    cl_err e = s3_ver_find(st, bucket_doc, bucket_id, key, vid, &d, &name);
    if (e == CL_ERR_NOT_FOUND) return CL_OK; /* deleting what is not there succeeds */
    if (e == CL_OK) e = s3_ver_latest(st, bucket_id, key, &latest);
    bool was_latest = e == CL_OK && json_equal(latest, d);
    json_decref(latest);
    if (e == CL_OK) e = store_delete(st, "objver", bucket_id, name);
    if (e == CL_OK && was_latest) e = follow_latest(st, bucket_id, key);
    free(name);
    r->version_id = cl_strdup(vid);
    r->marker = json_is_true(json_object_get(d, "DeleteMarker"));
    if (r->marker)
        json_decref(d);
    else
        r->removed = d;
    return e;
}

cl_err s3_ver_delete_txn(store *st, json_t *bucket_doc, const char *bucket_id, const char *key,
                         const char *vid, const char *owner, s3_ver_deletion *r) {
    json_decref(r->removed); /* a retried transaction starts over */
    free(r->version_id);
    *r = (s3_ver_deletion){0};
    if (vid) return delete_version(st, bucket_doc, bucket_id, key, vid, r);
    /* no version named: a delete marker becomes the newest version */
    uint64_t seq = next_seq();
    bool enabled = s3_ver_state_of(bucket_doc) == S3_VER_ENABLED;
    r->version_id = enabled ? new_vid(seq) : cl_strdup("null");
    r->marker = r->marker_created = true;
    if (!enabled) CL_TRY(drop_null(st, bucket_id, key, &r->removed));
    if (json_is_true(json_object_get(r->removed, "DeleteMarker"))) {
        json_decref(r->removed);
        r->removed = NULL;
    }
    char ts[21];
    time_format_iso8601(time_now(), ts);
    json_t *m = json_pack("{s:b, s:s, s:s, s:s}", "DeleteMarker", 1, "VersionId", r->version_id,
                          "LastModified", ts, "Owner", owner ? owner : "");
    char *n = vname(key, seq);
    cl_err e = insert_version(st, bucket_id, n, m);
    free(n);
    json_decref(m);
    if (e == CL_OK) e = store_delete(st, "object", bucket_id, key);
    return e == CL_ERR_NOT_FOUND ? CL_OK : e;
}

void s3_ver_deletion_free(s3_ver_deletion *r) {
    json_decref(r->removed);
    free(r->version_id);
    *r = (s3_ver_deletion){0};
}

cl_err s3_ver_update_txn(store *st, json_t *bucket_doc, const char *bucket_id, const char *key,
                         const char *vid, s3_ver_edit_fn fn, void *arg) {
    json_t *cur = get_json(st, "object", bucket_id, key), *d = NULL;
    char *name = NULL;
    cl_err e = CL_OK;
    const char *cur_vid = cur ? s3_ver_id_of(bucket_doc, cur) : NULL;
    bool versioned = s3_ver_state_of(bucket_doc) != S3_VER_NONE;
    if (!vid && !cur) e = CL_ERR_NOT_FOUND;
    if (e == CL_OK && versioned)
        e = s3_ver_find(st, bucket_doc, bucket_id, key, vid ? vid : cur_vid, &d, &name);
    else if (e == CL_OK && vid && (!cur || strcmp(vid, "null") != 0))
        e = CL_ERR_NOT_FOUND;
    if (e == CL_OK && json_is_true(json_object_get(d, "DeleteMarker"))) e = CL_ERR_CONFLICT;
    bool is_current = cur && (!vid || (cur_vid && strcmp(vid, cur_vid) == 0));
    if (e == CL_OK && d) {
        fn(arg, d);
        e = put_json(st, "objver", bucket_id, name, d);
    }
    if (e == CL_OK && is_current) {
        fn(arg, cur);
        e = put_json(st, "object", bucket_id, key, cur);
    }
    json_decref(cur);
    json_decref(d);
    free(name);
    return e;
}
