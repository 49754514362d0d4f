/* s3_uploads.c — ListMultipartUploads (GET /bucket?uploads): the uploads of a
 * bucket that were created and neither completed nor aborted, with prefix,
 * delimiter (common prefixes), key-marker / upload-id-marker, max-uploads and
 * encoding-type=url.
 *
 * Upload items are stored under their (random) upload ids, not their keys, so
 * the bucket's uploads are read, filtered by prefix and sorted here, as S3
 * orders them: by key, then by initiation time (ties by upload id, which is what
 * the upload-id-marker names). Memory is proportional to the number of uploads
 * in progress in the bucket, which stays small in practice (abandoned uploads
 * are what a lifecycle rule would clean up). */
#include "s3/s3_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *key, *id, *initiated, *owner;
} upload_row;

typedef struct {
    const char *prefix;
    upload_row *rows;
    size_t len, cap;
} upload_rows;

static bool collect(void *arg, const char *id, const char *text) {
    upload_rows *l = arg;
    json_t *u = json_loads(text, 0, NULL);
    const char *key = json_string_value(json_object_get(u, "Key"));
    if (key && (!l->prefix || strncmp(key, l->prefix, strlen(l->prefix)) == 0)) {
        if (l->len == l->cap) {
            l->cap = l->cap ? 2 * l->cap : 16;
            l->rows = cl_realloc(l->rows, l->cap * sizeof *l->rows);
        }
        const char *init = json_string_value(json_object_get(u, "Initiated"));
        const char *owner = json_string_value(json_object_get(u, "Owner"));
        l->rows[l->len++] = (upload_row){cl_strdup(key), cl_strdup(id), cl_strdup(init ? init : ""),
                                         cl_strdup(owner ? owner : "")};
    }
    json_decref(u);
    return true;
}

static int row_cmp(const void *a, const void *b) {
    const upload_row *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c == 0) c = strcmp(x->initiated, y->initiated);
    return c ? c : strcmp(x->id, y->id);
}

typedef struct {
    s3_op *op;
    bool url;
    const char *prefix, *delim;
    cl_buf uploads, prefixes;
} lister;

static void emit_upload(lister *l, const upload_row *r) {
    cl_buf *b = &l->uploads;
    xml_open(b, "Upload");
    s3_xml_key(b, "Key", r->key, l->url);
    xml_text(b, "UploadId", r->id);
    xml_open(b, "Initiator");
    xml_text(b, "ID", r->owner);
    xml_text(b, "DisplayName", r->owner);
    xml_close(b, "Initiator");
    xml_open(b, "Owner");
    xml_text(b, "ID", r->owner);
    xml_text(b, "DisplayName", r->owner);
    xml_close(b, "Owner");
    xml_text(b, "StorageClass", "STANDARD");
    xml_text(b, "Initiated", r->initiated);
    xml_close(b, "Upload");
}

/* Index of the first row to list, from key-marker and upload-id-marker. */
static size_t first_row(const upload_rows *l, const char *key_marker, const char *id_marker) {
    size_t i = 0;
    if (!key_marker) return 0;
    while (i < l->len && strcmp(l->rows[i].key, key_marker) < 0)
        i++;
    if (!id_marker) { /* every upload of key_marker itself is skipped */
        while (i < l->len && strcmp(l->rows[i].key, key_marker) == 0)
            i++;
        return i;
    }
    for (size_t j = i; j < l->len && strcmp(l->rows[j].key, key_marker) == 0; j++)
        if (strcmp(l->rows[j].id, id_marker) == 0) return j + 1;
    return i; /* an unknown upload id: from the marker key on */
}

static void write_result(s3_op *op, lister *l, const char *key_marker, const char *id_marker,
                         size_t max, bool truncated, const char *next_key, const char *next_id) {
    cl_buf *o = &op->resp->body;
    s3_xml_begin(op, "ListMultipartUploadsResult");
    xml_text(o, "Bucket", op->bucket);
    s3_xml_key(o, "KeyMarker", key_marker ? key_marker : "", l->url);
    xml_text(o, "UploadIdMarker", id_marker ? id_marker : "");
    if (truncated) {
        s3_xml_key(o, "NextKeyMarker", next_key ? next_key : "", l->url);
        xml_text(o, "NextUploadIdMarker", next_id ? next_id : "");
    }
    if (l->delim) s3_xml_key(o, "Delimiter", l->delim, l->url);
    if (l->prefix) s3_xml_key(o, "Prefix", l->prefix, l->url);
    xml_textf(o, "MaxUploads", "%zu", max);
    if (l->url) xml_text(o, "EncodingType", "url");
    xml_text(o, "IsTruncated", truncated ? "true" : "false");
    buf_append_slice(o, buf_slice(&l->uploads));
    buf_append_slice(o, buf_slice(&l->prefixes));
    s3_xml_end(op, "ListMultipartUploadsResult");
}

static void list_rows(s3_op *op, lister *l, upload_rows *rows, size_t max) {
    const char *key_marker = kvlist_get(&op->query, "key-marker");
    const char *id_marker = key_marker ? kvlist_get(&op->query, "upload-id-marker") : NULL;
    size_t count = 0, plen = l->prefix ? strlen(l->prefix) : 0;
    char *last_cp = NULL;
    const char *next_key = NULL, *next_id = NULL;
    bool truncated = false;
    for (size_t i = first_row(rows, key_marker, id_marker); i < rows->len; i++) {
        const upload_row *r = &rows->rows[i];
        const char *d = l->delim && *l->delim ? strstr(r->key + plen, l->delim) : NULL;
        size_t cp_len = d ? (size_t)(d - r->key) + strlen(l->delim) : 0;
        if (d && last_cp && strlen(last_cp) == cp_len && strncmp(last_cp, r->key, cp_len) == 0)
            continue; /* inside a common prefix already listed */
        if (count == max) {
            truncated = true;
            break;
        }
        count++;
        if (d) {
            free(last_cp);
            last_cp = cl_strndup(r->key, cp_len);
            xml_open(&l->prefixes, "CommonPrefixes");
            s3_xml_key(&l->prefixes, "Prefix", last_cp, l->url);
            xml_close(&l->prefixes, "CommonPrefixes");
            next_key = last_cp, next_id = NULL;
        } else {
            emit_upload(l, r);
            next_key = r->key, next_id = r->id;
        }
    }
    write_result(op, l, key_marker, id_marker, max, truncated, next_key, next_id);
    free(last_cp);
}

void s3_list_multipart_uploads(s3_op *op) {
    op->req->op = "ListMultipartUploads";
    const char *enc = kvlist_get(&op->query, "encoding-type");
    lister l = {.op = op,
                .url = enc && strcmp(enc, "url") == 0,
                .prefix = kvlist_get(&op->query, "prefix"),
                .delim = kvlist_get(&op->query, "delimiter")};
    size_t max = 0;
    if (enc && !l.url) {
        aws_fault_set(&op->f, 400, "InvalidArgument",
                      "Invalid Encoding Method specified in Request");
        return;
    }
    char *arn = s3_bucket_arn(op->bucket);
    bool ok = s3_query_max(op, "max-uploads", &max) && s3_load_bucket(op) &&
              s3_authorize(op, "s3:ListBucketMultipartUploads", arn, NULL);
    free(arn);
    if (!ok) return;
    upload_rows rows = {.prefix = l.prefix};
    store_list(op->s->st, "upload", op->bucket_id, NULL, NULL, 0, collect, &rows, NULL);
    if (rows.len) qsort(rows.rows, rows.len, sizeof *rows.rows, row_cmp);
    list_rows(op, &l, &rows, max);
    for (size_t i = 0; i < rows.len; i++) {
        free(rows.rows[i].key);
        free(rows.rows[i].id);
        free(rows.rows[i].initiated);
        free(rows.rows[i].owner);
    }
    free(rows.rows);
    buf_free(&l.uploads);
    buf_free(&l.prefixes);
}
