/* s3_versions.c — the versioning API: PutBucketVersioning and
 * GetBucketVersioning (PUT/GET /bucket?versioning), ListObjectVersions
 * (GET /bucket?versions) and reading one version (GET/HEAD ?versionId). How
 * versions are stored is s3_version.c's business.
 *
 * Versioning is Enabled or Suspended; once set it can be suspended but never
 * removed (AWS). A never-versioned bucket answers GetBucketVersioning with an
 * empty VersioningConfiguration, and lists each object as its `null` version.
 * MfaDelete Enabled is refused with 501 NotImplemented: this server has no MFA
 * devices to check an x-amz-mfa header against (MfaDelete Disabled is accepted,
 * it asks for nothing). */
#include "s3/s3_internal.h"

#include "s3/s3_xs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Put/GetBucketVersioning ---- */

typedef struct {
    char *status, *mfa_delete;
} versioning_doc;

static const xs_elem VERSIONING_KIDS[] = {
    LEAF("Status", XS_ONCE, s3_xs_set_str, versioning_doc, status),
    LEAF("MfaDelete", XS_ONCE, s3_xs_set_str, versioning_doc, mfa_delete), END};
static const xs_elem VERSIONING_ROOT = {
    "VersioningConfiguration", VERSIONING_KIDS, 0, NULL, NULL, 0};

typedef struct {
    const char *name, *id, *status;
} set_versioning;

static cl_err set_txn(store *st, void *arg) {
    set_versioning *v = arg;
    json_t *b = NULL;
    CL_TRY(s3_bucket_txn_load(st, v->name, v->id, &b));
    cl_err e = CL_OK;
    if (s3_ver_state_of(b) == S3_VER_NONE) e = s3_ver_migrate_txn(st, v->id); /* null versions */
    json_object_set_new(b, "Versioning", json_string(v->status));
    char *text = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    if (e == CL_OK) e = store_put(st, "bucket", "", v->name, text);
    free(text);
    return e;
}

static void put_versioning(s3_op *op) {
    versioning_doc d = {0};
    s3_xml_error xe = {0};
    cl_err e =
        s3_xs_parse(buf_slice(&op->req->body), S3_XML_MAX_SMALL_BODY, &VERSIONING_ROOT, &d, &xe);
    bool ok = e == CL_OK;
    if (!ok) {
        aws_fault_set(&op->f, 400, xe.code ? xe.code : "MalformedXML", "%s", xe.message);
    } else if ((d.status && strcmp(d.status, "Enabled") != 0 &&
                strcmp(d.status, "Suspended") != 0) ||
               (d.mfa_delete && strcmp(d.mfa_delete, "Enabled") != 0 &&
                strcmp(d.mfa_delete, "Disabled") != 0) ||
               (!d.status && !d.mfa_delete)) {
        aws_fault_set(&op->f, 400, "MalformedXML",
                      "The XML you provided was not well-formed or did not validate against our "
                      "published schema");
        ok = false;
    } else if (d.mfa_delete && strcmp(d.mfa_delete, "Enabled") == 0) {
        aws_fault_set(&op->f, 501, "NotImplemented",
                      "MFA delete is not supported by this server (it has no MFA devices).");
        ok = false;
    }
    if (ok && d.status) {
        set_versioning v = {op->bucket, op->bucket_id, d.status};
        e = store_txn(op->s->st, set_txn, &v);
        if (e == CL_ERR_NOT_FOUND)
            aws_fault_set(&op->f, 404, "NoSuchBucket", "The specified bucket does not exist");
        else if (e != CL_OK)
            aws_fault_set(&op->f, 500, "InternalError", "could not store the versioning state");
        ok = e == CL_OK;
    }
    if (ok) op->resp->status = 200;
    free(d.status);
    free(d.mfa_delete);
}

void s3_bucket_versioning(s3_op *op) {
    const char *m = op->req->method;
    bool put = strcmp(m, "PUT") == 0;
    if (!put && strcmp(m, "GET") != 0) {
        aws_fault_set(&op->f, 405, "MethodNotAllowed",
                      "The specified method is not allowed against this resource.");
        return;
    }
    op->req->op = put ? "PutBucketVersioning" : "GetBucketVersioning";
    char *arn = s3_bucket_arn(op->bucket);
    bool ok =
        s3_load_bucket(op) &&
        s3_authorize(op, put ? "s3:PutBucketVersioning" : "s3:GetBucketVersioning", arn, NULL);
    free(arn);
    if (!ok) return;
    if (put) {
        put_versioning(op);
        return;
    }
    s3_xml_begin(op, "VersioningConfiguration");
    const char *status = json_string_value(json_object_get(op->bucket_doc, "Versioning"));
    if (status) xml_text(&op->resp->body, "Status", status);
    s3_xml_end(op, "VersioningConfiguration");
}

/* ---- one version ---- */

/* AWS GetObject: "If the specified version in the request is a delete marker,
 * the response returns a 405 Method Not Allowed error and the Last-Modified:
 * timestamp response header" (with x-amz-delete-marker: true and the id). */
void s3_ver_marker_fault(s3_op *op, json_t *marker) {
    aws_fault_set(&op->f, 405, "MethodNotAllowed",
                  "The specified method is not allowed against this resource.");
    const char *vid = json_string_value(json_object_get(marker, "VersionId"));
    const char *lm = json_string_value(json_object_get(marker, "LastModified"));
    op->fault_delete_marker = true;
    free(op->fault_version_id);
    free(op->fault_last_modified);
    op->fault_version_id = vid ? cl_strdup(vid) : NULL;
    op->fault_last_modified = lm ? cl_strdup(lm) : NULL;
}

json_t *s3_object_load_version(s3_op *op, const char *vid) {
    if (!s3_ver_id_valid(vid)) {
        aws_fault_set(&op->f, 400, "InvalidArgument", "Invalid version id specified");
        return NULL;
    }
    json_t *d = NULL;
    cl_err e = s3_ver_find(op->s->st, op->bucket_doc, op->bucket_id, op->key, vid, &d, NULL);
    if (e == CL_OK && !json_is_true(json_object_get(d, "DeleteMarker"))) return d;
    if (e == CL_OK) { /* AWS: a GET or HEAD of a delete marker by id is 405 */
        s3_ver_marker_fault(op, d);
        json_decref(d);
        return NULL;
    }
    char *arn = s3_bucket_arn(op->bucket); /* as NoSuchKey: only to who may list */
    if (s3_authorize(op, "s3:ListBucketVersions", arn, NULL))
        aws_fault_set(&op->f, 404, "NoSuchVersion", "The specified version does not exist.");
    free(arn);
    return NULL;
}

/* ---- ListObjectVersions ---- */

typedef struct {
    s3_op *op;
    s3_rollup r;
    const char *key_marker, *vid_marker;
    bool versioned;
    char *prev_key; /* the key of the previous version seen (IsLatest) */
    char *next_key; /* the last key or prefix counted */
    char *next_vid; /* the last version counted (NULL after a prefix) */
    cl_buf entries;
} vlister;

static void owner_xml(cl_buf *b, json_t *d) {
    const char *owner = json_string_value(json_object_get(d, "Owner"));
    xml_open(b, "Owner");
    xml_text(b, "ID", owner ? owner : "");
    xml_text(b, "DisplayName", owner ? owner : "");
    xml_close(b, "Owner");
}

static void entry_xml(vlister *l, const char *key, json_t *d, const char *vid, bool latest) {
    cl_buf *b = &l->entries;
    bool marker = json_is_true(json_object_get(d, "DeleteMarker"));
    xml_open(b, marker ? "DeleteMarker" : "Version");
    s3_xml_key(b, "Key", key, l->r.url);
    xml_text(b, "VersionId", vid);
    xml_text(b, "IsLatest", latest ? "true" : "false");
    xml_text(b, "LastModified", json_string_value(json_object_get(d, "LastModified")));
    if (!marker) {
        xml_text(b, "ETag", json_string_value(json_object_get(d, "ETag")));
        xml_textf(b, "Size", "%lld", (long long)json_integer_value(json_object_get(d, "Size")));
        xml_text(b, "StorageClass", "STANDARD");
    }
    owner_xml(b, d);
    xml_close(b, marker ? "DeleteMarker" : "Version");
}

/* One version (or, unversioned, one object); false to stop. */
static bool list_entry(vlister *l, const char *key, const char *text) {
    size_t plen = l->r.prefix ? strlen(l->r.prefix) : 0;
    if (plen && strncmp(key, l->r.prefix, plen) != 0) return true;
    bool first_of_key = !l->prev_key || strcmp(l->prev_key, key) != 0;
    if (first_of_key) {
        free(l->prev_key);
        l->prev_key = cl_strdup(key);
    }
    s3_rollup_step step = s3_rollup_take(&l->r, key);
    if (step == S3_ROLLUP_SKIP) return true;
    if (step == S3_ROLLUP_FULL) return false;
    free(l->next_key);
    free(l->next_vid);
    l->next_key = cl_strdup(step == S3_ROLLUP_PREFIX ? l->r.last_cp : key);
    l->next_vid = NULL;
    if (step == S3_ROLLUP_PREFIX) return true;
    json_t *d = json_loads(text, 0, NULL);
    const char *vid = l->versioned ? json_string_value(json_object_get(d, "VersionId")) : NULL;
    if (!vid) vid = "null";
    /* the newest of its key, unless the listing resumed inside this key */
    bool resumed_inside =
        l->vid_marker && *l->vid_marker && l->key_marker && strcmp(key, l->key_marker) == 0;
    entry_xml(l, key, d, vid, l->versioned ? first_of_key && !resumed_inside : true);
    l->next_vid = cl_strdup(vid);
    json_decref(d);
    return true;
}

static bool list_version(void *arg, const char *name, const char *text) {
    char *key = s3_ver_key_of(name);
    bool go = !key || list_entry(arg, key, text);
    free(key);
    return go;
}

static bool list_object(void *arg, const char *key, const char *text) {
    return list_entry(arg, key, text);
}

static void write_versions(s3_op *op, vlister *l) {
    cl_buf *o = &op->resp->body;
    s3_xml_begin(op, "ListVersionsResult");
    xml_text(o, "Name", op->bucket);
    s3_xml_key(o, "Prefix", l->r.prefix ? l->r.prefix : "", l->r.url);
    s3_xml_key(o, "KeyMarker", l->key_marker ? l->key_marker : "", l->r.url);
    xml_text(o, "VersionIdMarker", l->vid_marker ? l->vid_marker : "");
    if (l->r.truncated && l->next_key) {
        s3_xml_key(o, "NextKeyMarker", l->next_key, l->r.url);
        if (l->next_vid) xml_text(o, "NextVersionIdMarker", l->next_vid);
    }
    xml_textf(o, "MaxKeys", "%zu", l->r.max);
    if (l->r.delim && *l->r.delim) s3_xml_key(o, "Delimiter", l->r.delim, l->r.url);
    if (l->r.url) xml_text(o, "EncodingType", "url");
    xml_text(o, "IsTruncated", l->r.truncated ? "true" : "false");
    buf_append_slice(o, buf_slice(&l->entries));
    buf_append_slice(o, buf_slice(&l->r.prefixes));
    s3_xml_end(op, "ListVersionsResult");
}

static bool list_args(s3_op *op, vlister *l) {
    const char *enc = kvlist_get(&op->query, "encoding-type");
    l->r.url = enc && strcmp(enc, "url") == 0;
    if (enc && !l->r.url) {
        aws_fault_set(&op->f, 400, "InvalidArgument",
                      "Invalid Encoding Method specified in Request");
        return false;
    }
    if (l->vid_marker && *l->vid_marker && !(l->key_marker && *l->key_marker)) {
        aws_fault_set(&op->f, 400, "InvalidArgument",
                      "A version-id marker cannot be specified without a key marker.");
        return false;
    }
    if (l->vid_marker && *l->vid_marker && !s3_ver_id_valid(l->vid_marker)) {
        aws_fault_set(&op->f, 400, "InvalidArgument", "Invalid version id specified");
        return false;
    }
    return s3_query_max(op, "max-keys", &l->r.max);
}

static bool list_authorized(s3_op *op, vlister *l) {
    policy_ctx *ctx = policy_ctx_new();
    policy_ctx_add(ctx, "s3:prefix", l->r.prefix ? l->r.prefix : "");
    if (l->r.delim) policy_ctx_add(ctx, "s3:delimiter", l->r.delim);
    char mk[24], *arn = s3_bucket_arn(op->bucket);
    snprintf(mk, sizeof mk, "%zu", l->r.max);
    policy_ctx_add(ctx, "s3:max-keys", mk);
    bool ok = s3_authorize(op, "s3:ListBucketVersions", arn, ctx);
    free(arn);
    return ok;
}

/* Where a versioned listing starts (malloc'd; NULL: the beginning). */
static char *versions_start(s3_op *op, vlister *l) {
    if (!l->key_marker || !*l->key_marker) return NULL;
    if (l->vid_marker && *l->vid_marker) {
        json_t *d = NULL;
        char *name = NULL;
        if (s3_ver_find(op->s->st, op->bucket_doc, op->bucket_id, l->key_marker, l->vid_marker, &d,
                        &name) == CL_OK) {
            json_decref(d);
            return name;
        }
    }
    return s3_ver_after_key(l->key_marker);
}

void s3_list_object_versions(s3_op *op) {
    op->req->op = "ListObjectVersions";
    vlister l = {.op = op,
                 .r = {.prefix = kvlist_get(&op->query, "prefix"),
                       .delim = kvlist_get(&op->query, "delimiter")},
                 .key_marker = kvlist_get(&op->query, "key-marker"),
                 .vid_marker = kvlist_get(&op->query, "version-id-marker")};
    if (!list_args(op, &l) || !s3_load_bucket(op) || !list_authorized(op, &l)) return;
    l.versioned = s3_ver_state_of(op->bucket_doc) != S3_VER_NONE;
    if (l.key_marker && *l.key_marker && l.r.delim && *l.r.delim)
        l.r.last_cp = cl_strdup(l.key_marker); /* resume after a listed prefix */
    if (l.r.max > 0 && l.versioned) {
        char *pre = l.r.prefix && *l.r.prefix ? s3_ver_prefix(l.r.prefix) : NULL;
        char *after = versions_start(op, &l);
        store_list(op->s->st, "objver", op->bucket_id, pre, after, 0, list_version, &l, NULL);
        free(pre);
        free(after);
    } else if (l.r.max > 0) { /* never versioned: every object is its null version */
        const char *after = l.key_marker && *l.key_marker ? l.key_marker : NULL;
        store_list(op->s->st, "object", op->bucket_id, l.r.prefix, after, 0, list_object, &l, NULL);
    }
    write_versions(op, &l);
    s3_rollup_free(&l.r);
    free(l.prev_key);
    free(l.next_key);
    free(l.next_vid);
    buf_free(&l.entries);
}
