/* s3_tagging.c — object tags: PutObjectTagging, GetObjectTagging and
 * DeleteObjectTagging (?tagging on a key), and the x-amz-tagging header that
 * PutObject, CreateMultipartUpload and CopyObject (tagging directive REPLACE) carry;
 * bucket tags: Get/Put/DeleteBucketTagging (?tagging on a bucket, at the end).
 *
 * Tags live in the object document as "Tags": {key: value} (absent when there
 * are none); an upload document carries them until CompleteMultipartUpload.
 * Changing the tags of a stored object is a read-modify-write of its document,
 * done inside one store transaction: a concurrent PUT of the same key is either
 * wholly before or wholly after it, so the document written back never names a
 * blob the PUT already deleted. The header is checked (and s3:PutObjectTagging
 * authorized) before any byte of an upload is accepted, so a bad tag set stores
 * nothing. */
#include "s3/s3_internal.h"

#include "s3/s3_xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *tags_object(const cl_kvlist *kv) {
    if (kv->len == 0) return NULL;
    json_t *t = json_object();
    for (size_t i = 0; i < kv->len; i++)
        json_object_set_new(t, kv->items[i].key, json_string(kv->items[i].value));
    return t;
}

json_t *s3_header_tags(const http_request *req) {
    const char *h = kvlist_get_ci(&req->headers, "x-amz-tagging");
    if (!h) return NULL;
    cl_kvlist kv = CL_KVLIST_INIT;
    s3_xml_error xe = {0};
    json_t *t = NULL;
    if (s3_tagging_parse_header(slice_cstr(h), S3_TAGS_OBJECT, &kv, &xe) == CL_OK)
        t = tags_object(&kv);
    kvlist_free(&kv);
    return t;
}

bool s3_check_request_tags(s3_op *op) {
    const char *h = kvlist_get_ci(&op->req->headers, "x-amz-tagging");
    if (!h) return true;
    cl_kvlist kv = CL_KVLIST_INIT;
    s3_xml_error xe = {0};
    cl_err e = s3_tagging_parse_header(slice_cstr(h), S3_TAGS_OBJECT, &kv, &xe);
    size_t n = kv.len;
    kvlist_free(&kv);
    if (e != CL_OK) {
        aws_fault_set(&op->f, 400, xe.code ? xe.code : "InvalidArgument", "%s", xe.message);
        return false;
    }
    if (n == 0) return true; /* an empty header sets no tags */
    char *arn = s3_object_arn(op->bucket, op->key);
    bool ok = s3_authorize(op, "s3:PutObjectTagging", arn, NULL);
    free(arn);
    return ok;
}

void s3_tagging_count_header(http_response *r, json_t *object) {
    size_t n = json_object_size(json_object_get(object, "Tags"));
    if (n == 0) return;
    char count[24];
    snprintf(count, sizeof count, "%zu", n);
    http_set_header(r, "x-amz-tagging-count", count);
}

/* ---- Put/DeleteObjectTagging: read-modify-write in one transaction ---- */

typedef struct {
    const char *bucket, *bucket_id, *key, *vid; /* vid: NULL for the current version */
    json_t *tags;                               /* borrowed; NULL removes the tags */
    char *version_id;                           /* out: the version changed */
} tag_update;

static void set_tags(void *arg, json_t *o) {
    tag_update *u = arg;
    if (u->tags)
        json_object_set(o, "Tags", u->tags);
    else
        json_object_del(o, "Tags");
    free(u->version_id);
    const char *v = json_string_value(json_object_get(o, "VersionId"));
    u->version_id = v ? cl_strdup(v) : NULL;
}

/* Every copy of the version (its version item and, if current, the object). */
static cl_err update_tags(store *st, void *arg) {
    tag_update *u = arg;
    json_t *b = NULL;
    CL_TRY(s3_bucket_txn_load(st, u->bucket, u->bucket_id, &b));
    cl_err e = s3_ver_update_txn(st, b, u->bucket_id, u->key, u->vid, set_tags, u);
    json_decref(b);
    return e;
}

static void marker_fault(s3_op *op, const char *vid) {
    json_t *m = NULL;
    if (vid) s3_ver_find(op->s->st, op->bucket_doc, op->bucket_id, op->key, vid, &m, NULL);
    s3_ver_marker_fault(op, m);
    json_decref(m);
}

static bool store_tags(s3_op *op, json_t *tags) {
    tag_update u = {op->bucket, op->bucket_id, op->key, kvlist_get(&op->query, "versionId"),
                    tags,       NULL};
    cl_err e = store_txn(op->s->st, update_tags, &u);
    if (e == CL_ERR_NOT_FOUND && u.vid)
        aws_fault_set(&op->f, 404, "NoSuchVersion", "The specified version does not exist.");
    else if (e == CL_ERR_NOT_FOUND)
        aws_fault_set(&op->f, 404, "NoSuchKey", "The specified key does not exist.");
    else if (e == CL_ERR_CONFLICT) /* a delete marker (named by its id) has no tags */
        marker_fault(op, u.vid);
    else if (e != CL_OK)
        aws_fault_set(&op->f, 500, "InternalError", "could not store the object's tags");
    const char *vid = u.version_id ? u.version_id : u.vid;
    if (e == CL_OK && !vid && s3_ver_state_of(op->bucket_doc) != S3_VER_NONE) vid = "null";
    if (e == CL_OK && vid) http_set_header(op->resp, "x-amz-version-id", vid);
    free(u.version_id);
    return e == CL_OK;
}

static void put_tagging(s3_op *op) {
    if (!s3_check_body_digest(op, false)) return;
    cl_kvlist kv = CL_KVLIST_INIT;
    s3_xml_error xe = {0};
    if (s3_xml_parse_tagging(buf_slice(&op->req->body), S3_TAGS_OBJECT, &kv, &xe) != CL_OK) {
        aws_fault_set(&op->f, 400, xe.code ? xe.code : "MalformedXML", "%s", xe.message);
        kvlist_free(&kv);
        return;
    }
    json_t *tags = tags_object(&kv);
    kvlist_free(&kv);
    if (store_tags(op, tags)) op->resp->status = 200;
    json_decref(tags);
}

static int by_key(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* <Tagging><TagSet><Tag>... of tags ({k: v}), sorted by key as S3 answers. */
static void respond_tag_set(s3_op *op, json_t *tags) {
    cl_buf *b = &op->resp->body;
    s3_xml_begin(op, "Tagging");
    xml_open(b, "TagSet");
    size_t n = json_object_size(tags), i = 0;
    const char **keys = cl_calloc(n + 1, sizeof *keys), *k;
    json_t *v;
    json_object_foreach(tags, k, v) keys[i++] = k;
    qsort(keys, n, sizeof *keys, by_key);
    for (i = 0; i < n; i++) {
        xml_open(b, "Tag");
        xml_text(b, "Key", keys[i]);
        xml_text(b, "Value", json_string_value(json_object_get(tags, keys[i])));
        xml_close(b, "Tag");
    }
    free(keys);
    xml_close(b, "TagSet");
    s3_xml_end(op, "Tagging");
}

static void get_tagging(s3_op *op) {
    const char *vid = kvlist_get(&op->query, "versionId");
    char *text = NULL;
    json_t *o = NULL;
    if (vid) {
        if (!(o = s3_object_load_version(op, vid))) return;
    } else if (store_get(op->s->st, "object", op->bucket_id, op->key, &text) == CL_OK) {
        o = json_loads(text, 0, NULL);
    }
    free(text);
    if (!o) {
        aws_fault_set(&op->f, 404, "NoSuchKey", "The specified key does not exist.");
        return;
    }
    s3_ver_header(op, o);
    respond_tag_set(op, json_object_get(o, "Tags"));
    json_decref(o);
}

void s3_object_tagging(s3_op *op) {
    const char *m = op->req->method;
    const char *action = strcmp(m, "GET") == 0      ? "s3:GetObjectTagging"
                         : strcmp(m, "PUT") == 0    ? "s3:PutObjectTagging"
                         : strcmp(m, "DELETE") == 0 ? "s3:DeleteObjectTagging"
                                                    : NULL;
    if (!action) {
        aws_fault_set(&op->f, 405, "MethodNotAllowed",
                      "The specified method is not allowed against this resource.");
        return;
    }
    const char *vid = NULL;
    if (!s3_ver_query(op, &vid)) return;
    if (vid) /* a version's tags: s3:{Get,Put,Delete}ObjectVersionTagging */
        action = m[0] == 'G'   ? "s3:GetObjectVersionTagging"
                 : m[0] == 'P' ? "s3:PutObjectVersionTagging"
                               : "s3:DeleteObjectVersionTagging";
    op->req->op = m[0] == 'G'   ? "GetObjectTagging"
                  : m[0] == 'P' ? "PutObjectTagging"
                                : "DeleteObjectTagging";
    char *arn = s3_object_arn(op->bucket, op->key);
    bool ok = s3_load_bucket(op) && s3_authorize(op, action, arn, NULL);
    free(arn);
    if (!ok) return;
    if (m[0] == 'G') {
        get_tagging(op);
    } else if (m[0] == 'P') {
        put_tagging(op);
    } else if (store_tags(op, NULL)) {
        op->resp->status = 204;
    }
}

/* ---- bucket tags: Get/Put/DeleteBucketTagging (?tagging on a bucket) ----
 * Stored as the bucket document's "Tags" ({k: v}, absent when there are none),
 * changed in one read-modify-write (s3_bucket_update). As AWS: at most 50 tags,
 * the same key/value rules as object tags (InvalidTag), Content-MD5 (or an
 * x-amz-checksum-*) required on PUT, 404 NoSuchTagSet when the bucket has none,
 * and DeleteBucketTagging authorized as s3:PutBucketTagging (AWS has no
 * s3:DeleteBucketTagging action). */

static void put_bucket_tagging(s3_op *op) {
    if (!s3_check_body_digest(op, true)) return;
    cl_kvlist kv = CL_KVLIST_INIT;
    s3_xml_error xe = {0};
    if (s3_xml_parse_tagging(buf_slice(&op->req->body), S3_TAGS_BUCKET, &kv, &xe) != CL_OK) {
        aws_fault_set(&op->f, 400, xe.code ? xe.code : "MalformedXML", "%s", xe.message);
        kvlist_free(&kv);
        return;
    }
    json_t *tags = tags_object(&kv); /* NULL (no tags stored) for an empty TagSet */
    kvlist_free(&kv);
    if (s3_bucket_update(op, "Tags", tags)) op->resp->status = 204;
}

void s3_bucket_tagging(s3_op *op) {
    const char *m = op->req->method;
    bool get = strcmp(m, "GET") == 0, put = strcmp(m, "PUT") == 0;
    if (!get && !put && strcmp(m, "DELETE") != 0) {
        aws_fault_set(&op->f, 405, "MethodNotAllowed",
                      "The specified method is not allowed against this resource.");
        return;
    }
    op->req->op = get ? "GetBucketTagging" : put ? "PutBucketTagging" : "DeleteBucketTagging";
    char *arn = s3_bucket_arn(op->bucket);
    bool ok = s3_load_bucket(op) &&
              s3_authorize(op, get ? "s3:GetBucketTagging" : "s3:PutBucketTagging", arn, NULL);
    free(arn);
    if (!ok) return;
    json_t *tags = json_object_get(op->bucket_doc, "Tags");
    if (put) {
        put_bucket_tagging(op);
    } else if (!get) {
        if (s3_bucket_update(op, "Tags", NULL)) op->resp->status = 204;
    } else if (json_object_size(tags) == 0) {
        aws_fault_set(&op->f, 404, "NoSuchTagSet", "The TagSet does not exist");
    } else {
        respond_tag_set(op, tags);
    }
}
