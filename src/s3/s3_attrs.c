/* s3_attrs.c — GetObjectAttributes (GET /bucket/key?attributes): what HeadObject
 * and ListParts would tell, in one XML answer, for the attributes named in
 * x-amz-object-attributes (ETag, Checksum, ObjectParts, StorageClass,
 * ObjectSize). Authorized as s3:GetObject and s3:GetObjectAttributes (AWS API
 * reference: an unversioned bucket needs both); with ?versionId as
 * s3:GetObjectVersion and s3:GetObjectVersionAttributes. ObjectParts lists a multipart
 * object's parts (PartNumber, Size, per-part checksum when recorded), paged by
 * x-amz-max-parts / x-amz-part-number-marker; a simple object has none. */
#include "s3/s3_internal.h"
#include "s3/s3_mpck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { A_ETAG = 1, A_CHECKSUM = 2, A_PARTS = 4, A_CLASS = 8, A_SIZE = 16 };

static bool parse_attributes(s3_op *op, unsigned *want) {
    static const char *const NAMES[] = {"ETag", "Checksum", "ObjectParts", "StorageClass",
                                        "ObjectSize"};
    const char *h = kvlist_get_ci(&op->req->headers, "x-amz-object-attributes");
    *want = 0;
    cl_slice l = slice_cstr(h ? h : ""), item;
    while (slice_split(&l, ',', &item)) {
        item = slice_trim(item);
        if (item.len == 0) continue;
        unsigned bit = 0;
        for (size_t i = 0; i < 5; i++)
            if (slice_eq_cstr(item, NAMES[i])) bit = 1u << i;
        if (!bit) {
            aws_fault_set(&op->f, 400, "InvalidArgument", "Invalid attribute name specified.");
            return false;
        }
        *want |= bit;
    }
    if (*want) return true;
    aws_fault_set(&op->f, 400, "InvalidRequest",
                  "x-amz-object-attributes header specifying the attributes to be retrieved is "
                  "either missing or empty");
    return false;
}

static bool header_int(s3_op *op, const char *name, uint64_t dflt, uint64_t max, uint64_t *out) {
    const char *v = kvlist_get_ci(&op->req->headers, name);
    *out = dflt;
    if (!v) return true;
    if (slice_to_u64(slice_trim(slice_cstr(v)), out) == CL_OK && *out <= max) return true;
    aws_fault_set(&op->f, 400, "InvalidArgument", "Invalid value for %s", name);
    return false;
}

static void parts_xml(s3_op *op, json_t *parts, uint64_t max, uint64_t marker) {
    cl_buf *o = &op->resp->body;
    size_t n = json_array_size(parts), shown = 0, last = (size_t)marker;
    xml_open(o, "ObjectParts");
    xml_textf(o, "PartsCount", "%zu", n);
    xml_textf(o, "PartNumberMarker", "%llu", (unsigned long long)marker);
    cl_buf list = CL_BUF_INIT;
    for (size_t i = (size_t)marker; i < n && shown < max; i++, shown++) {
        json_t *p = json_array_get(parts, i);
        xml_open(&list, "Part");
        s3_mpck_checksums_xml(&list, json_object_get(p, "Checksum"));
        xml_textf(&list, "PartNumber", "%zu", i + 1);
        xml_textf(&list, "Size", "%lld", (long long)json_integer_value(json_object_get(p, "Size")));
        xml_close(&list, "Part");
        last = i + 1;
    }
    xml_textf(o, "NextPartNumberMarker", "%zu", last);
    xml_textf(o, "MaxParts", "%llu", (unsigned long long)max);
    xml_text(o, "IsTruncated", last < n ? "true" : "false");
    buf_append_slice(o, buf_slice(&list));
    buf_free(&list);
    xml_close(o, "ObjectParts");
}

static void respond(s3_op *op, json_t *obj, unsigned want, uint64_t max, uint64_t marker) {
    cl_buf *o = &op->resp->body;
    s3_xml_begin(op, "GetObjectAttributesOutput");
    if (want & A_ETAG) { /* unquoted here, unlike the ETag header */
        const char *etag = json_string_value(json_object_get(obj, "ETag"));
        size_t len = etag ? strlen(etag) : 0;
        char *bare = len >= 2 ? cl_strndup(etag + 1, len - 2) : cl_strdup("");
        xml_text(o, "ETag", bare);
        free(bare);
    }
    json_t *ck = json_object_get(obj, "Checksum");
    if ((want & A_CHECKSUM) && json_object_size(ck)) {
        xml_open(o, "Checksum");
        s3_mpck_checksums_xml(o, ck);
        xml_text(o, "ChecksumType", s3_mpck_type(obj));
        xml_close(o, "Checksum");
    }
    json_t *parts = json_object_get(obj, "Parts");
    if ((want & A_PARTS) && parts) parts_xml(op, parts, max, marker);
    if (want & A_CLASS) xml_text(o, "StorageClass", "STANDARD");
    if (want & A_SIZE)
        xml_textf(o, "ObjectSize", "%lld",
                  (long long)json_integer_value(json_object_get(obj, "Size")));
    s3_xml_end(op, "GetObjectAttributesOutput");
    s3_set_time_header(op->resp, "Last-Modified",
                       json_string_value(json_object_get(obj, "LastModified")));
}

void s3_get_object_attributes(s3_op *op) {
    op->req->op = "GetObjectAttributes";
    if (strcmp(op->req->method, "GET") != 0) {
        aws_fault_set(&op->f, 405, "MethodNotAllowed",
                      "The specified method is not allowed against this resource.");
        return;
    }
    const char *vid = NULL;
    if (!s3_ver_query(op, &vid)) return;
    unsigned want = 0;
    uint64_t max = 0, marker = 0;
    char *arn = s3_object_arn(op->bucket, op->key);
    bool ok = parse_attributes(op, &want) && header_int(op, "x-amz-max-parts", 1000, 1000, &max) &&
              header_int(op, "x-amz-part-number-marker", 0, S3_MAX_PARTS, &marker) &&
              s3_load_bucket(op) && s3_authorize_get_object(op) &&
              s3_authorize(op, vid ? "s3:GetObjectVersionAttributes" : "s3:GetObjectAttributes",
                           arn, NULL);
    free(arn);
    json_t *obj = ok ? s3_object_load(op) : NULL;
    if (obj && s3_sse_key_check(op, obj)) {
        respond(op, obj, want, max, marker);
        s3_ver_header(op, obj);
    }
    json_decref(obj);
}
