/* test_sigv2.c — S3 Signature Version 2 against the worked examples of AWS's
 * "Signing and authenticating REST requests" (RESTAuthentication) page: object
 * GET, object PUT with Content-Type, list with prefix/max-keys/marker, fetch
 * ACL, the upload with x-amz-* headers (repeated, mixed case) and Content-MD5,
 * and the query-string (presigned) GET. For each: the StringToSign, the
 * signature, and the server path (parse + verify) accepting it and rejecting
 * tampered copies. Then the rules: x-amz-date blanks the Date line, every
 * x-amz-* header is signed, sub-resources are signed, unsignable parameters,
 * clock skew and expiry, malformed forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "aws/sigv2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AKID "AKIAIOSFODNN7EXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

typedef struct {
    const char *k, *v;
} hdr;

typedef struct {
    const char *name, *method, *path, *query, *vhost;
    hdr headers[9];
    const char *sts, *signature;
    time_t now;
} vector;

/* The RESTAuthentication page's examples (bucket johnsmith, virtual-host). */
static const vector V[] = {
    {"object GET",
     "GET",
     "/photos/puppy.jpg",
     "",
     "johnsmith",
     {{"Host", "johnsmith.s3.amazonaws.com"}, {"Date", "Tue, 27 Mar 2007 19:36:42 +0000"}},
     "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg",
     "bWq2s1WEIj+Ydj0vQ697zp+IXMU=",
     1175024202},
    {"object PUT",
     "PUT",
     "/photos/puppy.jpg",
     "",
     "johnsmith",
     {{"Content-Type", "image/jpeg"},
      {"Content-Length", "94328"},
      {"Host", "johnsmith.s3.amazonaws.com"},
      {"Date", "Tue, 27 Mar 2007 21:15:45 +0000"}},
     "PUT\n\nimage/jpeg\nTue, 27 Mar 2007 21:15:45 +0000\n/johnsmith/photos/puppy.jpg",
     "MyyxeRY7whkBe+bq8fHCL/2kKUg=",
     1175030145},
    {"list",
     "GET",
     "/",
     "prefix=photos&max-keys=50&marker=puppy",
     "johnsmith",
     {{"User-Agent", "Mozilla/5.0"},
      {"Host", "johnsmith.s3.amazonaws.com"},
      {"Date", "Tue, 27 Mar 2007 19:42:41 +0000"}},
     "GET\n\n\nTue, 27 Mar 2007 19:42:41 +0000\n/johnsmith/",
     "htDYFYduRNen8P9ZfE/s9SuKy0U=",
     1175024561},
    {"fetch ACL",
     "GET",
     "/",
     "acl",
     "johnsmith",
     {{"Host", "johnsmith.s3.amazonaws.com"}, {"Date", "Tue, 27 Mar 2007 19:44:46 +0000"}},
     "GET\n\n\nTue, 27 Mar 2007 19:44:46 +0000\n/johnsmith/?acl",
     "c2WLPFtWHVgbEmeEG93a4cG37dM=",
     1175024686},
    {"upload",
     "PUT",
     "/db-backup.dat.gz",
     "",
     "static.johnsmith.net",
     {{"User-Agent", "curl/7.15.5"},
      {"Host", "static.johnsmith.net:8080"},
      {"Date", "Tue, 27 Mar 2007 21:06:08 +0000"},
      {"x-amz-acl", "public-read"},
      {"content-type", "application/x-download"},
      {"Content-MD5", "4gJE4saaMU4BqNR0kLY+lw=="},
      {"X-Amz-Meta-ReviewedBy", "joe@johnsmith.net"},
      {"X-Amz-Meta-ReviewedBy", "jane@johnsmith.net"},
      {"X-Amz-Meta-FileChecksum", "0x02661779"}},
     NULL,
     NULL,
     1175029568},
    {"query string",
     "GET",
     "/photos/puppy.jpg",
     "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires="
     "1175139620",
     "johnsmith",
     {{"Host", "johnsmith.s3.amazonaws.com"}},
     "GET\n\n\n1175139620\n/johnsmith/photos/puppy.jpg",
     "NpgCjnDzrM+WFzoENXmpNDUsSn8=",
     1175139000},
};

/* The upload example has one more header than hdr[9] holds. */
#define UPLOAD_STS                                                                                 \
    "PUT\n4gJE4saaMU4BqNR0kLY+lw==\napplication/x-download\nTue, 27 Mar 2007 21:06:08 +0000\n"     \
    "x-amz-acl:public-read\nx-amz-meta-checksumalgorithm:crc32\nx-amz-meta-filechecksum:"          \
    "0x02661779\nx-amz-meta-reviewedby:joe@johnsmith.net,jane@johnsmith.net\n"                     \
    "/static.johnsmith.net/db-backup.dat.gz"
#define UPLOAD_SIG "ilyl83RwaSoYIEdixDQcA4OnAnc="

static void headers_of(const vector *v, cl_kvlist *h) {
    for (size_t i = 0; i < 9 && v->headers[i].k; i++)
        kvlist_add(h, v->headers[i].k, v->headers[i].v);
    if (strcmp(v->name, "upload") == 0) kvlist_add(h, "X-Amz-Meta-ChecksumAlgorithm", "crc32");
}

static char *authz(const char *sig) {
    return cl_sprintf("AWS " AKID ":%s", sig);
}

/* Parse + verify of the request as given, at v->now. */
static sigv2_status check(const vector *v, const char *method, const char *path, const char *query,
                          cl_kvlist *h, cl_buf *sts) {
    sigv4_request r = {method, path, query, h, NULL, true};
    sigv2_auth a;
    sigv2_status st = sigv2_parse(&r, &a);
    if (st == SIGV2_OK) st = sigv2_verify(&r, &a, v->vhost, SECRET, v->now, sts);
    sigv2_auth_free(&a);
    return st;
}

static void test_vectors(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof V / sizeof *V; i++) {
        const vector *v = &V[i];
        const char *want_sts = v->sts ? v->sts : UPLOAD_STS,
                   *sig = v->sts ? v->signature : UPLOAD_SIG;
        cl_kvlist h = CL_KVLIST_INIT;
        headers_of(v, &h);
        bool query = strstr(v->query, "Signature=") != NULL;
        char *az = authz(sig);
        if (!query) kvlist_add(&h, "Authorization", az);
        cl_buf sts = CL_BUF_INIT, b64 = CL_BUF_INIT;
        sigv2_status st = check(v, v->method, v->path, v->query, &h, &sts);
        if (strcmp(buf_cstr(&sts), want_sts) != 0)
            fail_msg("%s: StringToSign\n%s\nwant\n%s", v->name, buf_cstr(&sts), want_sts);
        assert_int_equal(st, SIGV2_OK);
        sigv2_signature(SECRET, slice_cstr(want_sts), &b64);
        assert_string_equal(buf_cstr(&b64), sig);
        /* tampered: another method, another path, a sub-resource added */
        assert_int_equal(check(v, "DELETE", v->path, v->query, &h, NULL), SIGV2_SIGNATURE_MISMATCH);
        assert_int_equal(check(v, v->method, "/other", v->query, &h, NULL),
                         SIGV2_SIGNATURE_MISMATCH);
        char *q2 = cl_sprintf("%s%stagging", v->query, *v->query ? "&" : "");
        assert_int_equal(check(v, v->method, v->path, q2, &h, NULL), SIGV2_SIGNATURE_MISMATCH);
        /* an added x-amz-* header is in the StringToSign: no longer matches */
        kvlist_add(&h, "x-amz-copy-source", "/b/k");
        assert_int_equal(check(v, v->method, v->path, v->query, &h, NULL),
                         SIGV2_SIGNATURE_MISMATCH);
        free(q2);
        free(az);
        buf_free(&sts);
        buf_free(&b64);
        kvlist_free(&h);
    }
}

/* x-amz-date: the Date line is empty and x-amz-date is an amz header. */
static void test_amz_date(void **state) {
    (void)state;
    cl_kvlist h = CL_KVLIST_INIT;
    kvlist_add(&h, "Date", "Tue, 27 Mar 2007 21:20:27 +0000");
    kvlist_add(&h, "x-amz-date", "Tue, 27 Mar 2007 21:20:26 +0000");
    sigv4_request r = {"DELETE", "/johnsmith/photos/puppy.jpg", "", &h, NULL, true};
    sigv2_auth a = {.date_line = (char *)""};
    cl_buf sts = CL_BUF_INIT;
    sigv2_string_to_sign(&r, &a, NULL, &sts);
    assert_string_equal(
        buf_cstr(&sts),
        "DELETE\n\n\n\nx-amz-date:Tue, 27 Mar 2007 21:20:26 +0000\n/johnsmith/photos/puppy.jpg");
    buf_clear(&sts);
    sigv2_signature(SECRET,
                    slice_cstr("DELETE\n\n\n\nx-amz-date:Tue, 27 Mar 2007 21:20:26 +0000\n"
                               "/johnsmith/photos/puppy.jpg"),
                    &sts);
    kvlist_add(&h, "Authorization", "AWS " AKID ":R4dJ53KECjStyBO5iTBJZ4XVOaI=");
    assert_string_equal(buf_cstr(&sts), "R4dJ53KECjStyBO5iTBJZ4XVOaI=");
    sigv2_auth p;
    assert_int_equal(sigv2_parse(&r, &p), SIGV2_OK);
    assert_string_equal(p.date_line, "");
    assert_int_equal(sigv2_verify(&r, &p, NULL, SECRET, 1175030426, NULL), SIGV2_OK);
    /* the clock: 15 minutes either way */
    assert_int_equal(sigv2_verify(&r, &p, NULL, SECRET, 1175030426 + 901, NULL), SIGV2_SKEWED);
    assert_int_equal(sigv2_verify(&r, &p, NULL, SECRET, 1175030426 - 901, NULL), SIGV2_SKEWED);
    sigv2_auth_free(&p);
    buf_free(&sts);
    kvlist_free(&h);
}

static sigv2_status parse_only(const char *method, const char *query, const char *authz_value,
                               sigv2_auth *a) {
    cl_kvlist h = CL_KVLIST_INIT;
    kvlist_add(&h, "Host", "b.localhost");
    kvlist_add(&h, "Date", "Tue, 27 Mar 2007 19:36:42 +0000");
    if (authz_value) kvlist_add(&h, "Authorization", authz_value);
    sigv4_request r = {method, "/k", query, &h, NULL, true};
    sigv2_status st = sigv2_parse(&r, a);
    kvlist_free(&h);
    return st;
}

static sigv2_status parse_status(const char *query, const char *authz_value) {
    sigv2_auth a;
    sigv2_status st = parse_only("GET", query, authz_value, &a);
    sigv2_auth_free(&a);
    return st;
}

static void test_parse(void **state) {
    (void)state;
    /* not SigV2 */
    assert_int_equal(parse_status("", NULL), SIGV2_MISSING);
    assert_int_equal(parse_status("", "AWS4-HMAC-SHA256 Credential=x"), SIGV2_MISSING);
    assert_int_equal(parse_status("X-Amz-Algorithm=AWS4-HMAC-SHA256&Signature=x", NULL),
                     SIGV2_MISSING);
    /* header form */
    assert_int_equal(parse_status("", "AWS " AKID ":abc="), SIGV2_OK);
    assert_int_equal(parse_status("", "AWS " AKID), SIGV2_MALFORMED);
    assert_int_equal(parse_status("", "AWS :sig"), SIGV2_MALFORMED);
    assert_int_equal(parse_status("", "AWS " AKID ":"), SIGV2_MALFORMED);
    assert_int_equal(parse_status("AWSAccessKeyId=a&Signature=b&Expires=1", "AWS a:b"),
                     SIGV2_MALFORMED);
    /* query form: all three parts, once */
    assert_int_equal(parse_status("AWSAccessKeyId=a&Signature=b&Expires=1", NULL), SIGV2_OK);
    assert_int_equal(parse_status("AWSAccessKeyId=a&Signature=b", NULL), SIGV2_QUERY_PARTS);
    assert_int_equal(parse_status("Signature=b&Expires=1", NULL), SIGV2_QUERY_PARTS);
    assert_int_equal(parse_status("AWSAccessKeyId=a&AWSAccessKeyId=a&Signature=b&Expires=1", NULL),
                     SIGV2_QUERY_PARTS);
    assert_int_equal(parse_status("AWSAccessKeyId=a&Signature=b&Expires=soon", NULL),
                     SIGV2_MALFORMED);
    /* signed sub-resources and harmless parameters pass; others cannot be signed */
    assert_int_equal(
        parse_status("AWSAccessKeyId=a&Signature=b&Expires=1&versionId=3&prefix=p", NULL),
        SIGV2_OK);
    assert_int_equal(parse_status("publicAccessBlock", "AWS a:b"), SIGV2_UNSIGNABLE);
    assert_int_equal(parse_status("attributes", "AWS a:b"), SIGV2_UNSIGNABLE);
    assert_int_equal(parse_status("response-x=1", "AWS a:b"), SIGV2_UNSIGNABLE);
    assert_int_equal(parse_status("Expires=1", "AWS a:b"), SIGV2_UNSIGNABLE);
    sigv2_auth a;
    assert_int_equal(
        parse_only("PUT",
                   "AWSAccessKeyId=a&Signature=b&Expires=1&x-amz-server-side-encryption=AES256",
                   NULL, &a),
        SIGV2_UNSIGNABLE);
    assert_string_equal(a.unsignable, "x-amz-server-side-encryption");
    sigv2_auth_free(&a);
    /* a '+' in the signature that the URL left raw */
    assert_int_equal(parse_only("GET",
                                "AWSAccessKeyId=a&Signature=b+c&Expires=1&x-amz-security-token=T",
                                NULL, &a),
                     SIGV2_OK);
    assert_string_equal(a.signature, "b+c");
    assert_string_equal(a.security_token, "T");
    assert_true(a.presigned);
    sigv2_auth_free(&a);
    /* header form without a date */
    cl_kvlist h = CL_KVLIST_INIT;
    kvlist_add(&h, "Authorization", "AWS a:b");
    sigv4_request r = {"GET", "/", "", &h, NULL, true};
    assert_int_equal(sigv2_parse(&r, &a), SIGV2_NO_DATE);
    sigv2_auth_free(&a);
    kvlist_free(&h);
}

/* Query form: Expires in the past, or more than a week ahead. */
static void test_expiry(void **state) {
    (void)state;
    const vector *v = &V[5];
    cl_kvlist h = CL_KVLIST_INIT;
    headers_of(v, &h);
    sigv4_request r = {"GET", v->path, v->query, &h, NULL, true};
    sigv2_auth a;
    assert_int_equal(sigv2_parse(&r, &a), SIGV2_OK);
    assert_int_equal(sigv2_verify(&r, &a, v->vhost, SECRET, 1175139620, NULL), SIGV2_OK);
    assert_int_equal(sigv2_verify(&r, &a, v->vhost, SECRET, 1175139621, NULL), SIGV2_EXPIRED);
    assert_int_equal(sigv2_verify(&r, &a, v->vhost, SECRET, 1175139620 - 604801, NULL),
                     SIGV2_EXPIRES_TOO_LONG);
    assert_int_equal(sigv2_verify(&r, &a, v->vhost, "wrong", 1175139000, NULL),
                     SIGV2_SIGNATURE_MISMATCH);
    assert_int_equal(sigv2_verify(&r, &a, NULL, SECRET, 1175139000, NULL), /* path style */
                     SIGV2_SIGNATURE_MISMATCH);
    sigv2_auth_free(&a);
    kvlist_free(&h);
}

static void test_host_bucket(void **state) {
    (void)state;
    char *b = sigv2_host_bucket("my.bucket.localhost:9000", "localhost");
    assert_string_equal(b, "my.bucket");
    free(b);
    assert_null(sigv2_host_bucket("localhost:9000", "localhost"));
    assert_null(sigv2_host_bucket("127.0.0.1:9000", "localhost"));
    assert_null(sigv2_host_bucket(NULL, "localhost"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),     cmocka_unit_test(test_amz_date),
        cmocka_unit_test(test_parse),       cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_host_bucket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
