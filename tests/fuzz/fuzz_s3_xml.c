/* fuzz_s3_xml.c — libFuzzer target for the S3 request-body parsers
 * (src/s3/s3_xml.c). The first byte picks the parser (CompleteMultipartUpload,
 * Delete, PublicAccessBlockConfiguration, Tagging for objects and buckets, the
 * x-amz-tagging header, CreateBucketConfiguration, ServerSideEncryption-
 * Configuration); the rest is the body. Must never crash, read out of bounds
 * or leak, and every result must keep the promises s3_xml.h makes: a failure
 * names an S3 error code, a success respects the limits and orders. */
#include "s3/s3_xml.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) abort();                                                                      \
    } while (0)

static void check_complete(cl_slice body) {
    s3_complete_upload u;
    s3_xml_error err = {0};
    if (s3_xml_parse_complete_upload(body, &u, &err) != CL_OK) {
        CHECK(err.code && u.len == 0 && u.parts == NULL);
        return;
    }
    CHECK(u.len >= 1 && u.len <= S3_MAX_PARTS);
    for (size_t i = 0; i < u.len; i++) {
        const s3_complete_part *p = &u.parts[i];
        CHECK(p->part_number >= 1 && p->part_number <= S3_MAX_PARTS);
        CHECK(i == 0 || p->part_number > u.parts[i - 1].part_number);
        CHECK(p->etag && p->etag_bare && strlen(p->etag_bare) <= strlen(p->etag));
    }
    s3_complete_upload_free(&u);
}

static void check_delete(cl_slice body) {
    s3_delete_request d;
    s3_xml_error err = {0};
    if (s3_xml_parse_delete(body, &d, &err) != CL_OK) {
        CHECK(err.code && d.len == 0 && d.objects == NULL);
        return;
    }
    CHECK(d.len >= 1 && d.len <= S3_MAX_DELETE_OBJECTS);
    for (size_t i = 0; i < d.len; i++) {
        size_t n = strlen(d.objects[i].key);
        CHECK(n >= 1 && n <= S3_MAX_KEY_BYTES && utf8_valid(slice_cstr(d.objects[i].key)));
    }
    s3_delete_request_free(&d);
}

static void check_tags(cl_slice body, int how) {
    cl_kvlist l;
    s3_xml_error err = {0};
    s3_tag_scope scope = how == 1 ? S3_TAGS_BUCKET : S3_TAGS_OBJECT;
    cl_err e = how == 2 ? s3_tagging_parse_header(body, scope, &l, &err)
                        : s3_xml_parse_tagging(body, scope, &l, &err);
    if (e != CL_OK) {
        CHECK(err.code && l.len == 0);
        return;
    }
    CHECK(l.len <= (scope == S3_TAGS_BUCKET ? S3_MAX_TAGS_BUCKET : S3_MAX_TAGS_OBJECT));
    for (size_t i = 0; i < l.len; i++) {
        CHECK(l.items[i].key[0] != '\0' && strncmp(l.items[i].key, "aws:", 4) != 0);
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(l.items[i].key, l.items[j].key) != 0);
    }
    kvlist_free(&l);
}

static void check_small(cl_slice body, int which) {
    s3_xml_error err = {0};
    cl_err e;
    if (which == 0) { /* bucket level, and S3 Control's account level (other namespace) */
        s3_public_access_block p;
        e = s3_xml_parse_public_access_block(body, &p, &err);
        s3_xml_error err2 = {0};
        cl_err e2 = s3_xml_parse_control_public_access_block(body, &p, &err2);
        CHECK(e2 == CL_OK || err2.code);
    } else if (which == 1) {
        s3_create_bucket_config c;
        e = s3_xml_parse_create_bucket(body, &c, &err);
        CHECK(e == CL_OK || c.location_constraint == NULL);
        s3_create_bucket_config_free(&c);
    } else {
        s3_encryption_config c;
        e = s3_xml_parse_encryption(body, &c, &err);
        CHECK(e != CL_OK || c.algorithm != S3_SSE_AES256 || c.kms_key_id == NULL);
        s3_encryption_config_free(&c);
    }
    CHECK(e == CL_OK || err.code);
}

/* AccessControlPolicy and OwnershipControls (s3_acl_xml.c). */
static void check_acl(cl_slice body) {
    s3_acl a;
    s3_xml_error err = {0};
    if (s3_xml_parse_acl(body, &a, &err) != CL_OK) {
        CHECK(err.code && a.grants == NULL && a.owner_id == NULL);
    } else {
        CHECK(a.len <= 100);
        for (size_t i = 0; i < a.len; i++)
            CHECK(a.grants[i].permission != NULL);
        s3_acl_free(&a);
    }
    char *own = NULL;
    s3_xml_error err2 = {0};
    if (s3_xml_parse_ownership(body, &own, &err2) == CL_OK)
        CHECK(own &&
              (strcmp(own, "BucketOwnerEnforced") == 0 ||
               strcmp(own, "BucketOwnerPreferred") == 0 || strcmp(own, "ObjectWriter") == 0));
    else
        CHECK(err2.code && own == NULL);
    free(own);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    cl_slice body = slice_of(data + 1, size - 1);
    switch (data[0] % 9) {
    case 0:
        check_complete(body);
        break;
    case 1:
        check_delete(body);
        break;
    case 2:
        check_small(body, 0);
        break;
    case 3:
        check_tags(body, 0);
        break;
    case 4:
        check_tags(body, 1);
        break;
    case 5:
        check_tags(body, 2);
        break;
    case 6:
        check_small(body, 1);
        break;
    case 8:
        check_acl(body);
        break;
    default:
        check_small(body, 2);
        break;
    }
    return 0;
}
