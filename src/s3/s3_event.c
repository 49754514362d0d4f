/* s3_event.c — S3 event notifications written to the outbox, in the very
 * store transaction that commits (or deletes) the object, so an event is
 * neither lost nor duplicated by a crash: it exists iff the change committed.
 *
 * For each configuration of the bucket (its document's "Notification", see
 * s3_notify.c) whose events cover the event and whose prefix/suffix match the
 * raw key, one item is inserted:
 *   kind "s3_event", scope "", name = the sequencer: 16 hex digits of
 *   CLOCK_REALTIME nanoseconds (never going back within the process) then 8 of
 *   a process counter, so store_list in name order is commit order (commits
 *   are serialized by the store).
 *   {"Record": AWS's S3 event record (eventVersion 2.1), "Target": {Type, Arn, Id},
 *    "BucketOwner", "Bucket", "BucketId", "Key" (raw), "Size", "ETag", "Origin"?}
 * The consumer (src/tasks) deletes the items it has acted on. */
#include "s3/s3_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t seq_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t seq_last_ns;
static uint32_t seq_count;

/* A fresh sequencer (24 lower-case hex) and its time in ns. */
static uint64_t next_sequencer(char out[25]) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    pthread_mutex_lock(&seq_mu);
    if (ns < seq_last_ns) ns = seq_last_ns; /* the clock stepped back: keep the order */
    seq_last_ns = ns;
    uint32_t n = ++seq_count;
    pthread_mutex_unlock(&seq_mu);
    snprintf(out, 25, "%016llx%08x", (unsigned long long)ns, n);
    return ns;
}

static void event_time(uint64_t ns, char out[32]) {
    char iso[21]; /* 2024-01-15T10:00:00Z */
    time_format_iso8601((time_t)(ns / 1000000000ull), iso);
    snprintf(out, 32, "%.19s.%03uZ", iso, (unsigned)(ns / 1000000ull % 1000));
}

/* AWS's event key: URL-encoded as a form value ('+' for space), '/' kept. */
static json_t *event_key(const char *key) {
    cl_buf enc = CL_BUF_INIT, out = CL_BUF_INIT;
    url_encode_aws(&enc, slice_cstr(key), true);
    const char *p = buf_cstr(&enc);
    while (*p) {
        if (strncmp(p, "%20", 3) == 0) {
            buf_append_cstr(&out, "+");
            p += 3;
        } else {
            buf_append(&out, p++, 1);
        }
    }
    json_t *j = json_string(buf_cstr(&out));
    buf_free(&enc);
    buf_free(&out);
    return j;
}

s3_event s3_op_event(const s3_op *op, const char *name) {
    const iam_caller *c = op->c;
    const char *who = c->userid && *c->userid ? c->userid : c->account;
    return (s3_event){.name = name,
                      .principal = who,
                      .source_ip = op->req->remote_ip,
                      .request_id = op->req->request_id};
}

s3_event *s3_op_notifies(const s3_op *op, s3_event *ev) {
    return json_object_get(op->bucket_doc, "Notification") ? ev : NULL;
}

static bool matches(json_t *config, const char *event, const char *key) {
    const char *prefix = json_string_value(json_object_get(config, "Prefix"));
    const char *suffix = json_string_value(json_object_get(config, "Suffix"));
    size_t kl = strlen(key);
    if (prefix && strncmp(key, prefix, strlen(prefix)) != 0) return false;
    if (suffix && (strlen(suffix) > kl || strcmp(key + kl - strlen(suffix), suffix) != 0))
        return false;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(config, "Events"), i, e) {
        const char *ce = json_string_value(e);
        if (ce && s3_notify_event_covers(ce, event)) return true;
    }
    return false;
}

typedef struct {
    json_t *bucket_doc, *object;
    const char *bucket, *key, *seq, *time;
    const s3_event *ev;
} record_in;

static json_t *s3_part(const record_in *r, json_t *config) {
    const char *owner = json_string_value(json_object_get(r->bucket_doc, "Owner"));
    char *arn = s3_bucket_arn(r->bucket);
    json_t *bucket = json_pack("{s:s, s:{s:s}, s:s}", "name", r->bucket, "ownerIdentity",
                               "principalId", owner ? owner : "", "arn", arn);
    free(arn);
    json_t *object = json_pack("{s:o}", "key", event_key(r->key));
    json_t *vid = json_object_get(r->object, "VersionId");
    if (vid) json_object_set(object, "versionId", vid);
    if (strncmp(r->ev->name, "ObjectCreated:", 14) == 0) {
        const char *etag = json_string_value(json_object_get(r->object, "ETag"));
        size_t n = etag ? strlen(etag) : 0;
        json_object_set(object, "size", json_object_get(r->object, "Size"));
        if (n >= 2 && etag[0] == '"' && etag[n - 1] == '"') /* AWS sends it unquoted */
            json_object_set_new(object, "eTag", json_stringn(etag + 1, n - 2));
    }
    json_object_set_new(object, "sequencer", json_string(r->seq));
    return json_pack("{s:s, s:O, s:o, s:o}", "s3SchemaVersion", "1.0", "configurationId",
                     json_object_get(config, "Id"), "bucket", bucket, "object", object);
}

static json_t *record(const record_in *r, json_t *config) {
    const char *region = json_string_value(json_object_get(r->bucket_doc, "Region"));
    char *principal = cl_sprintf("AWS:%s", r->ev->principal ? r->ev->principal : "Anonymous");
    const char *rid = r->ev->request_id ? r->ev->request_id : "";
    json_t *rec = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:{s:s}, s:{s:s}, s:{s:s, s:s}, s:o}", "eventVersion", "2.1",
        "eventSource", "aws:s3", "awsRegion", region && *region ? region : "us-east-1", "eventTime",
        r->time, "eventName", r->ev->name, "userIdentity", "principalId", principal,
        "requestParameters", "sourceIPAddress", r->ev->source_ip ? r->ev->source_ip : "",
        "responseElements", "x-amz-request-id", rid, "x-amz-id-2", rid, "s3", s3_part(r, config));
    free(principal);
    return rec;
}

static cl_err emit_one(store *st, const record_in *in, json_t *config, const char *bucket_id) {
    char seq[25], when[32];
    event_time(next_sequencer(seq), when);
    record_in r = *in;
    r.seq = seq;
    r.time = when;
    json_t *target = json_pack("{s:O, s:O, s:O}", "Type", json_object_get(config, "Type"), "Arn",
                               json_object_get(config, "Arn"), "Id", json_object_get(config, "Id"));
    json_t *doc = json_pack("{s:o, s:o, s:O, s:s, s:s, s:s}", "Record", record(&r, config),
                            "Target", target, "BucketOwner", json_object_get(r.bucket_doc, "Owner"),
                            "Bucket", r.bucket, "BucketId", bucket_id, "Key", r.key);
    if (!doc) return CL_ERR_INVALID; /* a document field of the wrong type */
    json_t *size = json_object_get(r.object, "Size"), *etag = json_object_get(r.object, "ETag");
    if (size) json_object_set(doc, "Size", size);
    if (etag) json_object_set(doc, "ETag", etag);
    if (r.ev->origin) json_object_set_new(doc, "Origin", json_string(r.ev->origin));
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    cl_err e = store_insert(st, "s3_event", "", seq, text);
    free(text);
    return e;
}

cl_err s3_event_emit_txn(store *st, json_t *bucket_doc, const char *bucket, const char *bucket_id,
                         const char *key, json_t *object, s3_event *ev) {
    json_t *configs =
        json_object_get(json_object_get(bucket_doc, "Notification"), "Configurations");
    if (!ev || !json_array_size(configs)) return CL_OK; /* the common case: nothing to do */
    char *event = cl_sprintf("s3:%s", ev->name);
    record_in in = {
        .bucket_doc = bucket_doc, .object = object, .bucket = bucket, .key = key, .ev = ev};
    cl_err e = CL_OK;
    size_t i;
    json_t *c;
    json_array_foreach(configs, i, c) {
        if (!matches(c, event, key)) continue;
        e = emit_one(st, &in, c, bucket_id);
        if (e != CL_OK) break;
        ev->emitted++;
    }
    free(event);
    return e;
}

void s3_event_after_commit(const s3_event *ev) {
    if (ev && ev->emitted && s3_test_crash_at("event-after-commit")) _exit(9); /* tests only */
}

/* ---- deleting an object ---- */

cl_err s3_object_delete_txn(store *st, const char *bucket, const char *bucket_id, const char *key,
                            const char *vid, s3_event *ev, s3_ver_deletion *r) {
    s3_ver_deletion_free(r); /* a retried transaction starts over */
    if (ev) ev->emitted = 0;
    json_t *bucket_doc = NULL;
    cl_err e = s3_bucket_txn_load(st, bucket, bucket_id, &bucket_doc);
    if (e != CL_OK && e != CL_ERR_NOT_FOUND) return e; /* not found: gone, nobody to notify */
    if (vid || s3_ver_state_of(bucket_doc) != S3_VER_NONE) {
        const char *owner = json_string_value(json_object_get(bucket_doc, "Owner"));
        e = s3_ver_delete_txn(st, bucket_doc, bucket_id, key, vid, owner, r);
    } else {
        char *text = NULL;
        e = store_get(st, "object", bucket_id, key, &text);
        if (e == CL_OK) r->removed = json_loads(text, 0, NULL);
        free(text);
        if (e == CL_OK) e = store_delete(st, "object", bucket_id, key);
        if (e == CL_ERR_NOT_FOUND) e = CL_OK; /* already gone: S3 reports it deleted */
    }
    if (e == CL_OK && ev && bucket_doc && (r->removed || r->version_id)) {
        ev->name = r->marker_created ? "ObjectRemoved:DeleteMarkerCreated" : "ObjectRemoved:Delete";
        json_t *marker = r->removed ? NULL : json_pack("{s:s}", "VersionId", r->version_id);
        e = s3_event_emit_txn(st, bucket_doc, bucket, bucket_id, key,
                              r->removed ? r->removed : marker, ev);
        json_decref(marker);
    }
    json_decref(bucket_doc);
    return e;
}
