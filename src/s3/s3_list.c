/* s3_list.c — ListObjectsV2 and ListObjects (v1): prefix, delimiter (common
 * prefixes), start-after / marker, continuation tokens, max-keys, and
 * encoding-type=url. Keys come from the meta store in byte order, as S3 lists
 * them (UTF-8 binary order). */
#include "s3/s3_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

s3_rollup_step s3_rollup_take(s3_rollup *r, const char *key) {
    size_t plen = r->prefix ? strlen(r->prefix) : 0;
    const char *d = r->delim && *r->delim ? strstr(key + plen, r->delim) : NULL;
    char *cp = d ? cl_strndup(key, (size_t)(d - key) + strlen(r->delim)) : NULL;
    if (cp && r->last_cp && strcmp(cp, r->last_cp) == 0) {
        free(cp);
        return S3_ROLLUP_SKIP;
    }
    if (r->count == r->max) {
        r->truncated = true;
        free(cp);
        return S3_ROLLUP_FULL;
    }
    r->count++;
    if (!cp) return S3_ROLLUP_KEY;
    xml_open(&r->prefixes, "CommonPrefixes");
    s3_xml_key(&r->prefixes, "Prefix", cp, r->url);
    xml_close(&r->prefixes, "CommonPrefixes");
    free(r->last_cp);
    r->last_cp = cp;
    return S3_ROLLUP_PREFIX;
}

void s3_rollup_free(s3_rollup *r) {
    free(r->last_cp);
    buf_free(&r->prefixes);
}

typedef struct {
    s3_op *op;
    s3_rollup r;
    bool owner;
    char *last_key; /* the last key or prefix counted (for markers and tokens) */
    cl_buf contents;
} lister;

static bool list_one(void *arg, const char *key, const char *text) {
    lister *l = arg;
    s3_rollup_step step = s3_rollup_take(&l->r, key);
    if (step == S3_ROLLUP_SKIP) return true;
    if (step == S3_ROLLUP_FULL) return false;
    free(l->last_key);
    l->last_key = cl_strdup(step == S3_ROLLUP_PREFIX ? l->r.last_cp : key);
    if (step == S3_ROLLUP_PREFIX) return true;
    json_t *o = json_loads(text, 0, NULL);
    cl_buf *b = &l->contents;
    xml_open(b, "Contents");
    s3_xml_key(b, "Key", key, l->r.url);
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
char *s3_list_token_encode(const char *key) {
    cl_buf b = CL_BUF_INIT;
    base64_encode(&b, slice_cstr(key));
    return buf_take_cstr(&b);
}

char *s3_list_token_decode(s3_op *op, const char *token) {
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
    s3_xml_key(o, "Prefix", l->r.prefix ? l->r.prefix : "", l->r.url && v2);
    if (l->r.delim && *l->r.delim) s3_xml_key(o, "Delimiter", l->r.delim, l->r.url);
    xml_textf(o, "MaxKeys", "%zu", l->r.max);
    if (l->r.url) xml_text(o, "EncodingType", "url");
    xml_text(o, "IsTruncated", l->r.truncated ? "true" : "false");
    if (v2) {
        xml_textf(o, "KeyCount", "%zu", l->r.count);
        if (token) xml_text(o, "ContinuationToken", token);
        if (start_after) s3_xml_key(o, "StartAfter", start_after, l->r.url);
        if (l->r.truncated && l->last_key) {
            char *next = s3_list_token_encode(l->last_key);
            xml_text(o, "NextContinuationToken", next);
            free(next);
        }
    } else {
        s3_xml_key(o, "Marker", marker ? marker : "", l->r.url);
        if (l->r.truncated && l->r.delim && l->last_key)
            s3_xml_key(o, "NextMarker", l->last_key, l->r.url);
    }
    buf_append_slice(o, buf_slice(&l->contents));
    buf_append_slice(o, buf_slice(&l->r.prefixes));
    s3_xml_end(op, "ListBucketResult");
}

void s3_list_objects(s3_op *op) {
    bool v2 = kvlist_get(&op->query, "list-type") &&
              strcmp(kvlist_get(&op->query, "list-type"), "2") == 0;
    lister l = {.op = op,
                .r = {.prefix = kvlist_get(&op->query, "prefix"),
                      .delim = kvlist_get(&op->query, "delimiter")}};
    const char *fetch = kvlist_get(&op->query, "fetch-owner");
    l.owner = !v2 || (fetch && strcmp(fetch, "true") == 0);
    const char *enc = kvlist_get(&op->query, "encoding-type");
    l.r.url = enc && strcmp(enc, "url") == 0;
    if (enc && !l.r.url) {
        aws_fault_set(&op->f, 400, "InvalidArgument",
                      "Invalid Encoding Method specified in Request");
        return;
    }
    if (!s3_query_max(op, "max-keys", &l.r.max) || !s3_load_bucket(op)) return;
    policy_ctx *ctx = policy_ctx_new();
    policy_ctx_add(ctx, "s3:prefix", l.r.prefix ? l.r.prefix : "");
    if (l.r.delim) policy_ctx_add(ctx, "s3:delimiter", l.r.delim);
    char mk[24], *arn = s3_bucket_arn(op->bucket);
    snprintf(mk, sizeof mk, "%zu", l.r.max);
    policy_ctx_add(ctx, "s3:max-keys", mk);
    bool ok = s3_authorize(op, "s3:ListBucket", arn, ctx);
    free(arn);
    if (!ok) return;
    const char *marker = kvlist_get(&op->query, v2 ? "start-after" : "marker");
    const char *token = v2 ? kvlist_get(&op->query, "continuation-token") : NULL;
    char *after = token ? s3_list_token_decode(op, token) : marker ? cl_strdup(marker) : NULL;
    if (token && !after) return;
    if (after && l.r.delim && *l.r.delim)
        l.r.last_cp = cl_strdup(after); /* resume after a listed prefix */
    if (l.r.max > 0)
        store_list(op->s->st, "object", op->bucket_id, l.r.prefix, after, 0, list_one, &l, NULL);
    write_result(op, &l, v2, marker, token, v2 ? marker : NULL);
    free(after);
    s3_rollup_free(&l.r);
    free(l.last_key);
    buf_free(&l.contents);
}
