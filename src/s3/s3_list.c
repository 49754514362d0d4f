/* s3_list.c — ListObjectsV2 and ListObjects (v1): prefix, delimiter (common
 * prefixes), start-after / marker, continuation tokens, max-keys, and
 * encoding-type=url. Keys come from the meta store in byte order, as S3 lists
 * them (UTF-8 binary order). */
#include "s3/s3_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    s3_op *op;
    const char *prefix, *delim;
    bool url, owner;
    size_t max, count;
    char *last_cp;  /* the last common prefix emitted */
    char *last_key; /* the last key or prefix counted (for markers and tokens) */
    bool truncated;
    cl_buf contents, prefixes;
} lister;

static bool list_one(void *arg, const char *key, const char *text) {
    lister *l = arg;
    size_t plen = l->prefix ? strlen(l->prefix) : 0;
    const char *d = l->delim && *l->delim ? strstr(key + plen, l->delim) : NULL;
    char *cp = d ? cl_strndup(key, (size_t)(d - key) + strlen(l->delim)) : NULL;
    if (cp && l->last_cp && strcmp(cp, l->last_cp) == 0) { /* inside a prefix already listed */
        free(cp);
        return true;
    }
    if (l->count == l->max) {
        l->truncated = true;
        free(cp);
        return false;
    }
    l->count++;
    free(l->last_key);
    l->last_key = cl_strdup(cp ? cp : key);
    if (cp) {
        xml_open(&l->prefixes, "CommonPrefixes");
        s3_xml_key(&l->prefixes, "Prefix", cp, l->url);
        xml_close(&l->prefixes, "CommonPrefixes");
        free(l->last_cp);
        l->last_cp = cp;
        return true;
    }
    json_t *o = json_loads(text, 0, NULL);
    cl_buf *b = &l->contents;
    xml_open(b, "Contents");
    s3_xml_key(b, "Key", key, l->url);
    xml_text(b, "LastModified", json_string_value(json_object_get(o, "LastModified")));
    xml_text(b, "ETag", json_string_value(json_object_get(o, "ETag")));
    xml_textf(b, "Size", "%lld", (long long)json_integer_value(json_object_get(o, "Size")));
    if (l->owner) { /* v1 always; v2 with fetch-owner=true */
        const char *owner = json_string_value(json_object_get(o, "Owner"));
        xml_open(b, "Owner");
        xml_text(b, "ID", owner ? owner : "");
        xml_text(b, "DisplayName", owner ? owner : "");
        xml_close(b, "Owner");
    }
    xml_text(b, "StorageClass", "STANDARD");
    xml_close(b, "Contents");
    json_decref(o);
    return true;
}

/* Continuation tokens are opaque to clients: base64 of the last key listed. */
static char *token_encode(const char *key) {
    cl_buf b = CL_BUF_INIT;
    base64_encode(&b, slice_cstr(key));
    return buf_take_cstr(&b);
}

static char *token_decode(s3_op *op, const char *token) {
    cl_buf b = CL_BUF_INIT;
    if (base64_decode(&b, slice_cstr(token)) != CL_OK || slice_find(buf_slice(&b), 0) >= 0) {
        buf_free(&b);
        aws_fault_set(&op->f, 400, "InvalidArgument",
                      "The continuation token provided is incorrect");
        return NULL;
    }
    return buf_take_cstr(&b);
}

static void write_result(s3_op *op, lister *l, bool v2, const char *marker, const char *token,
                         const char *start_after) {
    cl_buf *o = &op->resp->body;
    s3_xml_begin(op, "ListBucketResult");
    xml_text(o, "Name", op->bucket);
    /* v1 returns Prefix as sent, even with encoding-type=url (which botocore adds to
     * every ListObjects and then decodes Delimiter, Marker, NextMarker and the keys
     * only); v2 encodes it. An empty Delimiter is no delimiter: omitted. */
    s3_xml_key(o, "Prefix", l->prefix ? l->prefix : "", l->url && v2);
    if (l->delim && *l->delim) s3_xml_key(o, "Delimiter", l->delim, l->url);
    xml_textf(o, "MaxKeys", "%zu", l->max);
    if (l->url) xml_text(o, "EncodingType", "url");
    xml_text(o, "IsTruncated", l->truncated ? "true" : "false");
    if (v2) {
        xml_textf(o, "KeyCount", "%zu", l->count);
        if (token) xml_text(o, "ContinuationToken", token);
        if (start_after) s3_xml_key(o, "StartAfter", start_after, l->url);
        if (l->truncated && l->last_key) {
            char *next = token_encode(l->last_key);
            xml_text(o, "NextContinuationToken", next);
            free(next);
        }
    } else {
        s3_xml_key(o, "Marker", marker ? marker : "", l->url);
        if (l->truncated && l->delim && l->last_key)
            s3_xml_key(o, "NextMarker", l->last_key, l->url);
    }
    buf_append_slice(o, buf_slice(&l->contents));
    buf_append_slice(o, buf_slice(&l->prefixes));
    s3_xml_end(op, "ListBucketResult");
}

void s3_list_objects(s3_op *op) {
    bool v2 = kvlist_get(&op->query, "list-type") &&
              strcmp(kvlist_get(&op->query, "list-type"), "2") == 0;
    lister l = {.op = op,
                .prefix = kvlist_get(&op->query, "prefix"),
                .delim = kvlist_get(&op->query, "delimiter")};
    const char *fetch = kvlist_get(&op->query, "fetch-owner");
    l.owner = !v2 || (fetch && strcmp(fetch, "true") == 0);
    const char *enc = kvlist_get(&op->query, "encoding-type");
    l.url = enc && strcmp(enc, "url") == 0;
    if (enc && !l.url) {
        aws_fault_set(&op->f, 400, "InvalidArgument",
                      "Invalid Encoding Method specified in Request");
        return;
    }
    if (!s3_query_max(op, "max-keys", &l.max) || !s3_load_bucket(op)) return;
    policy_ctx *ctx = policy_ctx_new();
    policy_ctx_add(ctx, "s3:prefix", l.prefix ? l.prefix : "");
    if (l.delim) policy_ctx_add(ctx, "s3:delimiter", l.delim);
    char mk[24], *arn = s3_bucket_arn(op->bucket);
    snprintf(mk, sizeof mk, "%zu", l.max);
    policy_ctx_add(ctx, "s3:max-keys", mk);
    bool ok = s3_authorize(op, "s3:ListBucket", arn, ctx);
    free(arn);
    if (!ok) return;
    const char *marker = kvlist_get(&op->query, v2 ? "start-after" : "marker");
    const char *token = v2 ? kvlist_get(&op->query, "continuation-token") : NULL;
    char *after = token ? token_decode(op, token) : marker ? cl_strdup(marker) : NULL;
    if (token && !after) return;
    if (after && l.delim && *l.delim)
        l.last_cp = cl_strdup(after); /* resume after a listed prefix */
    if (l.max > 0)
        store_list(op->s->st, "object", op->bucket_id, l.prefix, after, 0, list_one, &l, NULL);
    write_result(op, &l, v2, marker, token, v2 ? marker : NULL);
    free(after);
    free(l.last_cp);
    free(l.last_key);
    buf_free(&l.contents);
    buf_free(&l.prefixes);
}
