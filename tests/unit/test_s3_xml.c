/* test_s3_xml.c — the S3 request-body parsers (src/s3/s3_xml.c).
 *
 * Valid documents are written the way botocore (boto3, aws CLI v2) serializes
 * them: no XML declaration, xmlns on the root, members in the service model's
 * order (ETag before PartNumber, Quiet after the Objects), no whitespace; plus
 * the same documents pretty-printed, with an XML declaration, without xmlns and
 * with a namespace prefix. Then each S3 error with its exact code and message,
 * the limits at and one past the edge, the hostile inputs (DOCTYPE with
 * billion-laughs and external entities, parameter entities, processing
 * instructions, foreign encodings, invalid UTF-8, every truncation of a valid
 * document, oversized bodies) against every parser, and a seeded mutation
 * loop over valid documents that must never crash or leak. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "s3/s3_xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS " xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""
#define MALFORMED                                                                                  \
    "The XML you provided was not well-formed or did not validate against our published schema"
#define TAG_HEADER_MSG                                                                             \
    "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters "   \
    "without tag name duplicates."

static cl_slice S(const char *s) {
    return slice_cstr(s);
}

static void assert_error(const s3_xml_error *err, const char *code, const char *msg) {
    assert_non_null(err->code);
    assert_string_equal(err->code, code);
    if (msg) assert_string_equal(err->message, msg);
}

/* ---- every parser behind one switch, for the hostile-input tests ---- */

enum { P_COMPLETE, P_DELETE, P_PAB, P_TAG_OBJECT, P_TAG_BUCKET, P_HEADER, P_BUCKET, P_SSE, P_N };

static cl_err run(int which, cl_slice body, s3_xml_error *err) {
    cl_err e;
    switch (which) {
    case P_COMPLETE: {
        s3_complete_upload u;
        e = s3_xml_parse_complete_upload(body, &u, err);
        s3_complete_upload_free(&u);
        return e;
    }
    case P_DELETE: {
        s3_delete_request d;
        e = s3_xml_parse_delete(body, &d, err);
        s3_delete_request_free(&d);
        return e;
    }
    case P_PAB: {
        s3_public_access_block p;
        return s3_xml_parse_public_access_block(body, &p, err);
    }
    case P_TAG_OBJECT:
    case P_TAG_BUCKET:
    case P_HEADER: {
        cl_kvlist l;
        s3_tag_scope sc = which == P_TAG_BUCKET ? S3_TAGS_BUCKET : S3_TAGS_OBJECT;
        e = which == P_HEADER ? s3_tagging_parse_header(body, sc, &l, err)
                              : s3_xml_parse_tagging(body, sc, &l, err);
        kvlist_free(&l);
        return e;
    }
    case P_BUCKET: {
        s3_create_bucket_config c;
        e = s3_xml_parse_create_bucket(body, &c, err);
        s3_create_bucket_config_free(&c);
        return e;
    }
    default: {
        s3_encryption_config c;
        e = s3_xml_parse_encryption(body, &c, err);
        s3_encryption_config_free(&c);
        return e;
    }
    }
}

/* One valid document per XML parser, as botocore sends it. */
static const char *const VALID[P_N] = {
    [P_COMPLETE] = "<CompleteMultipartUpload" NS "><Part><ETag>\"a54357aff0632cce46d942af68356b38\""
                   "</ETag><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>",
    [P_DELETE] = "<Delete" NS "><Object><Key>a.txt</Key></Object><Quiet>true</Quiet></Delete>",
    [P_PAB] = "<PublicAccessBlockConfiguration" NS "><BlockPublicAcls>true</BlockPublicAcls>"
              "</PublicAccessBlockConfiguration>",
    [P_TAG_OBJECT] = "<Tagging" NS "><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet>"
                     "</Tagging>",
    [P_TAG_BUCKET] = "<Tagging" NS "><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet>"
                     "</Tagging>",
    [P_HEADER] = "k1=v1&k2=v2",
    [P_BUCKET] = "<CreateBucketConfiguration" NS "><LocationConstraint>eu-west-1"
                 "</LocationConstraint></CreateBucketConfiguration>",
    [P_SSE] = "<ServerSideEncryptionConfiguration" NS "><Rule><ApplyServerSideEncryptionByDefault>"
              "<SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule>"
              "</ServerSideEncryptionConfiguration>",
};

static const char *const ROOTS[P_N] = {
    [P_COMPLETE] = "CompleteMultipartUpload",
    [P_DELETE] = "Delete",
    [P_PAB] = "PublicAccessBlockConfiguration",
    [P_TAG_OBJECT] = "Tagging",
    [P_TAG_BUCKET] = "Tagging",
    [P_BUCKET] = "CreateBucketConfiguration",
    [P_SSE] = "ServerSideEncryptionConfiguration",
};

static void expect_malformed(int which, const char *body) {
    s3_xml_error err = {0};
    assert_int_equal(run(which, S(body), &err), CL_ERR_INVALID);
    assert_error(&err, "MalformedXML", MALFORMED);
}

/* ---- CompleteMultipartUpload ---- */

static void test_complete_boto3(void **state) {
    (void)state;
    const char *body =
        "<CompleteMultipartUpload" NS "><Part><ETag>\"a54357aff0632cce46d942af68356b38\"</ETag>"
        "<PartNumber>1</PartNumber></Part><Part><ETag>\"0c78aef83f66abc1fa1e8477f296d394\"</ETag>"
        "<PartNumber>2</PartNumber></Part><Part><ETag>\"acbd18db4cc2f85cedef654fccc4a4d8\"</ETag>"
        "<PartNumber>7</PartNumber></Part></CompleteMultipartUpload>";
    s3_complete_upload u;
    s3_xml_error err = {0};
    assert_int_equal(s3_xml_parse_complete_upload(S(body), &u, &err), CL_OK);
    assert_int_equal(u.len, 3);
    assert_int_equal(u.parts[0].part_number, 1);
    assert_int_equal(u.parts[2].part_number, 7);
    assert_string_equal(u.parts[1].etag, "\"0c78aef83f66abc1fa1e8477f296d394\"");
    assert_string_equal(u.parts[1].etag_bare, "0c78aef83f66abc1fa1e8477f296d394");
    assert_null(u.parts[0].checksums.crc32);
    s3_complete_upload_free(&u);
    assert_null(u.parts);
    assert_int_equal(u.len, 0);
}

static void test_complete_pretty_checksums(void **state) {
    (void)state;
    const char *body =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<CompleteMultipartUpload>\n"
        "  <!-- written by hand -->\n"
        "  <Part>\n"
        "    <PartNumber> 1 </PartNumber>\n"
        "    <ETag>&quot;7e10e7d25dc4581d89b9285be5f384fd&quot;</ETag>\n"
        "    <ChecksumCRC32>i9aeUg==</ChecksumCRC32>\n"
        "    <ChecksumCRC32C>sOO8/Q==</ChecksumCRC32C>\n"
        "    <ChecksumCRC64NVME>AAAAAAAAAAA=</ChecksumCRC64NVME>\n"
        "    <ChecksumSHA1>2jmj7l5rSw0yVb/vlWAYkK/YBwk=</ChecksumSHA1>\n"
        "    <ChecksumSHA256>47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=</ChecksumSHA256>\n"
        "  </Part>\n"
        "  <Part><PartNumber>2</PartNumber><ETag>unquoted</ETag></Part>\n"
        "</CompleteMultipartUpload>\n";
    s3_complete_upload u;
    s3_xml_error err = {0};
    assert_int_equal(s3_xml_parse_complete_upload(S(body), &u, &err), CL_OK);
    assert_int_equal(u.len, 2);
    assert_string_equal(u.parts[0].etag, "\"7e10e7d25dc4581d89b9285be5f384fd\"");
    assert_string_equal(u.parts[0].etag_bare, "7e10e7d25dc4581d89b9285be5f384fd");
    assert_string_equal(u.parts[0].checksums.crc32, "i9aeUg==");
    assert_string_equal(u.parts[0].checksums.crc32c, "sOO8/Q==");
    assert_string_equal(u.parts[0].checksums.crc64nvme, "AAAAAAAAAAA=");
    assert_string_equal(u.parts[0].checksums.sha1, "2jmj7l5rSw0yVb/vlWAYkK/YBwk=");
    assert_string_equal(u.parts[0].checksums.sha256,
                        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    assert_string_equal(u.parts[1].etag, "unquoted");
    assert_string_equal(u.parts[1].etag_bare, "unquoted");
    s3_complete_upload_free(&u);
}

static void test_complete_prefixed_namespace(void **state) {
    (void)state;
    const char *body = "<s3:CompleteMultipartUpload xmlns:s3=\"http://s3.amazonaws.com/doc/"
                       "2006-03-01/\"><s3:Part><s3:PartNumber>3</s3:PartNumber><s3:ETag>\"e\""
                       "</s3:ETag></s3:Part></s3:CompleteMultipartUpload>";
    s3_complete_upload u;
    s3_xml_error err = {0};
    assert_int_equal(s3_xml_parse_complete_upload(S(body), &u, &err), CL_OK);
    assert_int_equal(u.parts[0].part_number, 3);
    assert_string_equal(u.parts[0].etag_bare, "e");
    s3_complete_upload_free(&u);
}

/* A part number listed again right after itself (a re-uploaded part, both
 * answers' ETags collected) is kept once, as its last entry. */
static void test_complete_repeated_part(void **state) {
    (void)state;
    const char *body = "<CompleteMultipartUpload>"
                       "<Part><PartNumber>1</PartNumber><ETag>\"b\"</ETag></Part>"
                       "<Part><PartNumber>1</PartNumber><ETag>\"a\"</ETag></Part>"
                       "<Part><PartNumber>2</PartNumber><ETag>\"c\"</ETag></Part>"
                       "<Part><PartNumber>2</PartNumber><ETag>\"d\"</ETag></Part>"
                       "<Part><PartNumber>2</PartNumber><ETag>\"e\"</ETag></Part>"
                       "<Part><PartNumber>7</PartNumber><ETag>\"f\"</ETag></Part>"
                       "</CompleteMultipartUpload>";
    s3_complete_upload u;
    s3_xml_error err = {0};
    assert_int_equal(s3_xml_parse_complete_upload(S(body), &u, &err), CL_OK);
    assert_int_equal(u.len, 3);
    assert_int_equal(u.parts[0].part_number, 1);
    assert_string_equal(u.parts[0].etag_bare, "a");
    assert_int_equal(u.parts[1].part_number, 2);
    assert_string_equal(u.parts[1].etag_bare, "e");
    assert_int_equal(u.parts[2].part_number, 7);
    assert_string_equal(u.parts[2].etag_bare, "f");
    s3_complete_upload_free(&u);
}

static void expect_complete(const char *parts, const char *code, const char *msg) {
    char body[1024];
    snprintf(body, sizeof body, "<CompleteMultipartUpload>%s</CompleteMultipartUpload>", parts);
    s3_complete_upload u = {(void *)1, 99};
    s3_xml_error err = {0};
    assert_int_equal(s3_xml_parse_complete_upload(S(body), &u, &err), CL_ERR_INVALID);
    assert_error(&err, code, msg);
    assert_null(u.parts); /* emptied on failure */
    assert_int_equal(u.len, 0);
    s3_complete_upload_free(&u);
}

#define RANGE_MSG "Part number must be an integer between 1 and 10000, inclusive"
#define ORDER_MSG                                                                                  \
    "The list of parts was not in ascending order. The parts list must be specified in order by "  \
    "part number."
#define P(n) "<Part><PartNumber>" n "</PartNumber><ETag>\"x\"</ETag></Part>"

static void test_complete_errors(void **state) {
    (void)state;
    expect_complete("", "MalformedXML", MALFORMED);
    expect_complete("  \n ", "MalformedXML", MALFORMED);
    expect_complete(P("0"), "InvalidArgument", RANGE_MSG);
    expect_complete(P("10001"), "InvalidArgument", RANGE_MSG);
    expect_complete(P("-1"), "InvalidArgument", RANGE_MSG);
    expect_complete(P("1") P("2147483647"), "InvalidArgument", RANGE_MSG);
    expect_complete(P("1") P("2147483648"), "MalformedXML", MALFORMED); /* not an xs:int */
    expect_complete(P("abc"), "MalformedXML", MALFORMED);
    expect_complete(P("1.0"), "MalformedXML", MALFORMED);
    expect_complete(P(""), "MalformedXML", MALFORMED);
    expect_complete(P("2") P("1"), "InvalidPartOrder", ORDER_MSG);
    expect_complete(P("1") P("1") P("0"), "InvalidArgument", RANGE_MSG);
    expect_complete(P("1") P("2") P("2") P("1"), "InvalidPartOrder", ORDER_MSG);
    expect_complete(P("1") P("3") P("2"), "InvalidPartOrder", ORDER_MSG);
    expect_complete("<Part><PartNumber>1</PartNumber></Part>", "MalformedXML", MALFORMED);
    expect_complete("<Part><ETag>x</ETag></Part>", "MalformedXML", MALFORMED);
    expect_complete("<Part><PartNumber>1</PartNumber><PartNumber>2</PartNumber><ETag>x</ETag>"
                    "</Part>",
                    "MalformedXML", MALFORMED);
    expect_complete("<Part><PartNumber>1</PartNumber><ETag>x</ETag><Size>5</Size></Part>",
                    "MalformedXML", MALFORMED);
    expect_complete(P("1") "<Foo/>", "MalformedXML", MALFORMED);
    expect_complete(P("1") "stray", "MalformedXML", MALFORMED);
    expect_complete("<Part><PartNumber>1<b/></PartNumber><ETag>x</ETag></Part>", "MalformedXML",
                    MALFORMED);
    expect_complete("<Part id=\"1\"><PartNumber>1</PartNumber><ETag>x</ETag></Part>",
                    "MalformedXML", MALFORMED);
    /* the schema is checked before the numbers: a bad element after a bad number */
    expect_complete(P("0") "<Foo/>", "MalformedXML", MALFORMED);
    /* an element in another namespace */
    expect_complete("<Part xmlns=\"urn:x\"><PartNumber>1</PartNumber><ETag>x</ETag></Part>",
                    "MalformedXML", MALFORMED);
}

static void test_complete_root_and_namespace(void **state) {
    (void)state;
    expect_malformed(P_COMPLETE, "<CompleteMultipartUploadX>" P("1") "</CompleteMultipartUploadX>");
    expect_malformed(P_COMPLETE, "<Delete>" P("1") "</Delete>");
    expect_malformed(P_COMPLETE, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/"
                                 "2006-03-01\">" P("1") "</CompleteMultipartUpload>");
    expect_malformed(P_COMPLETE, "<CompleteMultipartUpload>" P("1") "</CompleteMultipartUpload>"
                                                                    "<CompleteMultipartUpload/>");
    expect_malformed(P_COMPLETE, "<completemultipartupload>" P("1") "</completemultipartupload>");
}

static cl_buf many_parts(int n) {
    cl_buf b = CL_BUF_INIT;
    buf_append_cstr(&b, "<CompleteMultipartUpload" NS ">");
    for (int i = 1; i <= n; i++)
        buf_appendf(&b,
                    "<Part><ETag>\"%032x\"</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32>"
                    "<PartNumber>%d</PartNumber></Part>",
                    i, i);
    buf_append_cstr(&b, "</CompleteMultipartUpload>");
    return b;
}

static void test_complete_limits(void **state) {
    (void)state;
    cl_buf b = many_parts(S3_MAX_PARTS);
    s3_complete_upload u;
    s3_xml_error err = {0};
    assert_int_equal(s3_xml_parse_complete_upload(buf_slice(&b), &u, &err), CL_OK);
    assert_int_equal(u.len, S3_MAX_PARTS);
    assert_int_equal(u.parts[S3_MAX_PARTS - 1].part_number, S3_MAX_PARTS);
    s3_complete_upload_free(&u);
    buf_free(&b);
    b = many_parts(S3_MAX_PARTS + 1);
    assert_int_equal(s3_xml_parse_complete_upload(buf_slice(&b), &u, &err), CL_ERR_INVALID);
    assert_error(&err, "MalformedXML", MALFORMED);
    buf_free(&b);
    /* over the body limit, however valid */
    buf_reserve(&b, S3_XML_MAX_COMPLETE_BODY + 1);
    memset(b.ptr, ' ', S3_XML_MAX_COMPLETE_BODY + 1);
    b.len = S3_XML_MAX_COMPLETE_BODY + 1;
    assert_int_equal(s3_xml_parse_complete_upload(buf_slice(&b), &u, &err), CL_ERR_TOO_LARGE);
    assert_error(&err, "MaxMessageLengthExceeded", "Your request was too big.");
    buf_free(&b);
}

/* ---- DeleteObjects ---- */

static void test_delete_boto3(void **state) {
    (void)state;
    const char *body =
        "<Delete" NS "><Object><Key>photos/2006/a.jpg</Key></Object><Object><Key>"
        "b &amp; c &lt;d&gt;</Key><VersionId>3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRC"
        "xf3vjVBH40Nr8X8gdRQBpUMLUo</VersionId></Object><Quiet>true</Quiet></Delete>";
    s3_delete_request d;
    s3_xml_error err = {0};
    assert_int_equal(s3_xml_parse_delete(S(body), &d, &err), CL_OK);
    assert_true(d.quiet);
    assert_int_equal(d.len, 2);
    assert_string_equal(d.objects[0].key, "photos/2006/a.jpg");
    assert_null(d.objects[0].version_id);
    assert_string_equal(d.objects[1].key, "b & c <d>");
    assert_string_equal(d.objects[1].version_id,
                        "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo");
    assert_false(d.objects[1].has_size);
    s3_delete_request_free(&d);
}

static void test_delete_pretty_and_keys_verbatim(void **state) {
    (void)state;
    const char *body = "<?xml version='1.0' encoding='utf-8'?>\n<Delete>\n  <Quiet>false</Quiet>\n"
                       "  <Object>\n    <Key>  spaced  </Key>\n  </Object>\n"
                       "  <Object><Key>line&#13;\nbreak</Key></Object>\n"
                       "  <Object><Key><![CDATA[<raw>&]]></Key></Object>\n"
                       "  <Object><Key>caf\xc3\xa9/\xe2\x82\xac</Key></Object>\n</Delete>";
    s3_delete_request d;
    s3_xml_error err = {0};
    assert_int_equal(s3_xml_parse_delete(S(body), &d, &err), CL_OK);
    assert_false(d.quiet);
    assert_int_equal(d.len, 4);
    assert_string_equal(d.objects[0].key, "  spaced  ");
    assert_string_equal(d.objects[1].key, "line\r\nbreak");
    assert_string_equal(d.objects[2].key, "<raw>&");
    assert_string_equal(d.objects[3].key, "caf\xc3\xa9/\xe2\x82\xac");
    s3_delete_request_free(&d);
}

static void test_delete_conditional_fields(void **state) {
    (void)state;
    const char *body = "<Delete><Object><Key>k</Key><ETag>\"abc\"</ETag>"
                       "<LastModifiedTime>2024-11-19T12:00:00.000Z</LastModifiedTime>"
                       "<Size>1048576</Size></Object></Delete>";
    s3_delete_request d;
    s3_xml_error err = {0};
    assert_int_equal(s3_xml_parse_delete(S(body), &d, &err), CL_OK);
    assert_false(d.quiet);
    assert_string_equal(d.objects[0].etag, "\"abc\"");
    assert_true(d.objects[0].has_last_modified);
    assert_int_equal(d.objects[0].last_modified, 1732017600);
    assert_true(d.objects[0].has_size);
    assert_int_equal(d.objects[0].size, 1048576);
    s3_delete_request_free(&d);
    /* what SDKs send: the model's rfc822 timestamp */
    const char *http = "<Delete><Object><Key>k</Key>"
                       "<LastModifiedTime>Tue, 19 Nov 2024 12:00:00 GMT</LastModifiedTime>"
                       "</Object></Delete>";
    assert_int_equal(s3_xml_parse_delete(S(http), &d, &err), CL_OK);
    assert_int_equal(d.objects[0].last_modified, 1732017600);
    s3_delete_request_free(&d);
    expect_malformed(P_DELETE, "<Delete><Object><Key>k</Key><Size>-1</Size></Object></Delete>");
    expect_malformed(P_DELETE, "<Delete><Object><Key>k</Key><LastModifiedTime>yesterday"
                               "</LastModifiedTime></Object></Delete>");
}

static cl_buf delete_doc(int n, size_t key_len) {
    cl_buf b = CL_BUF_INIT;
    buf_append_cstr(&b, "<Delete>");
    for (int i = 0; i < n; i++) {
        buf_append_cstr(&b, "<Object><Key>");
        for (size_t k = 0; k < key_len; k++)
            buf_append_byte(&b, 'a' + (k + i) % 26);
        buf_append_cstr(&b, "</Key></Object>");
    }
    buf_append_cstr(&b, "</Delete>");
    return b;
}

static void expect_delete_doc(int n, size_t key_len, cl_err want, const char *code) {
    cl_buf b = delete_doc(n, key_len);
    s3_delete_request d;
    s3_xml_error err = {0};
    assert_int_equal(s3_xml_parse_delete(buf_slice(&b), &d, &err), want);
    if (want == CL_OK) assert_int_equal(d.len, n);
    if (code) assert_string_equal(err.code, code);
    s3_delete_request_free(&d);
    buf_free(&b);
}

static void test_delete_limits(void **state) {
    (void)state;
    expect_delete_doc(S3_MAX_DELETE_OBJECTS, 8, CL_OK, NULL);
    expect_delete_doc(S3_MAX_DELETE_OBJECTS + 1, 8, CL_ERR_INVALID, "MalformedXML");
    expect_delete_doc(0, 8, CL_ERR_INVALID, "MalformedXML");
    expect_delete_doc(3, S3_MAX_KEY_BYTES, CL_OK, NULL);
    expect_delete_doc(3, S3_MAX_KEY_BYTES + 1, CL_ERR_INVALID, "KeyTooLongError");
    expect_delete_doc(S3_MAX_DELETE_OBJECTS, S3_MAX_KEY_BYTES, CL_OK, NULL);
    s3_xml_error err = {0};
    /* the limit is in bytes: 342 euro signs are 1026 bytes */
    cl_buf b = CL_BUF_INIT;
    buf_append_cstr(&b, "<Delete><Object><Key>");
    for (int i = 0; i < 342; i++)
        buf_append_cstr(&b, "\xe2\x82\xac");
    buf_append_cstr(&b, "</Key></Object></Delete>");
    assert_int_equal(run(P_DELETE, buf_slice(&b), &err), CL_ERR_INVALID);
    assert_error(&err, "KeyTooLongError", "Your key is too long");
    buf_free(&b);
}

static void test_delete_errors(void **state) {
    (void)state;
    expect_malformed(P_DELETE, "<Delete><Quiet>true</Quiet></Delete>");
    expect_malformed(P_DELETE, "<Delete/>");
    expect_malformed(P_DELETE, "<Delete><Object><Key></Key></Object></Delete>");
    expect_malformed(P_DELETE, "<Delete><Object><Key/></Object></Delete>");
    expect_malformed(P_DELETE, "<Delete><Object><VersionId>v</VersionId></Object></Delete>");
    expect_malformed(P_DELETE, "<Delete><Object><Key>a</Key><Key>b</Key></Object></Delete>");
    expect_malformed(P_DELETE, "<Delete><Object><Key>a</Key></Object><Quiet>yes</Quiet></Delete>");
    expect_malformed(P_DELETE, "<Delete><Object><Key>a</Key></Object><Quiet>true</Quiet>"
                               "<Quiet>true</Quiet></Delete>");
    expect_malformed(P_DELETE, "<Delete><Object><Key>a</Key><Owner/></Object></Delete>");
    expect_malformed(P_DELETE, "<Delete><Object><Key>a<i>b</i></Key></Object></Delete>");
    expect_malformed(P_DELETE, "<DeleteObjects><Object><Key>a</Key></Object></DeleteObjects>");
    expect_malformed(P_DELETE, "<Delete><Object><Key>a</Key></Object><Quiet/></Delete>");
}

/* ---- PublicAccessBlockConfiguration ---- */

static void test_pab(void **state) {
    (void)state;
    const char *all =
        "<PublicAccessBlockConfiguration" NS "><BlockPublicAcls>true</BlockPublicAcls>"
        "<IgnorePublicAcls>true</IgnorePublicAcls><BlockPublicPolicy>true"
        "</BlockPublicPolicy><RestrictPublicBuckets>true</RestrictPublicBuckets>"
        "</PublicAccessBlockConfiguration>";
    s3_public_access_block p;
    s3_xml_error err = {0};
    assert_int_equal(s3_xml_parse_public_access_block(S(all), &p, &err), CL_OK);
    assert_true(p.block_public_acls && p.ignore_public_acls && p.block_public_policy &&
                p.restrict_public_buckets);
    const char *some = "<PublicAccessBlockConfiguration>\n  <IgnorePublicAcls> true\n"
                       "</IgnorePublicAcls>\n  <BlockPublicAcls>false</BlockPublicAcls>\n"
                       "</PublicAccessBlockConfiguration>";
    assert_int_equal(s3_xml_parse_public_access_block(S(some), &p, &err), CL_OK);
    assert_true(p.ignore_public_acls);
    assert_false(p.block_public_acls || p.block_public_policy || p.restrict_public_buckets);
    assert_int_equal(
        s3_xml_parse_public_access_block(S("<PublicAccessBlockConfiguration/>"), &p, &err), CL_OK);
    assert_false(p.block_public_acls || p.ignore_public_acls || p.block_public_policy ||
                 p.restrict_public_buckets);
}

static void test_pab_errors(void **state) {
    (void)state;
    static const char *const bad[] = {
        "<PublicAccessBlockConfiguration><BlockPublicAcls>TRUE</BlockPublicAcls>"
        "</PublicAccessBlockConfiguration>",
        "<PublicAccessBlockConfiguration><BlockPublicAcls>1</BlockPublicAcls>"
        "</PublicAccessBlockConfiguration>",
        "<PublicAccessBlockConfiguration><BlockPublicAcls></BlockPublicAcls>"
        "</PublicAccessBlockConfiguration>",
        "<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls>"
        "<BlockPublicAcls>true</BlockPublicAcls></PublicAccessBlockConfiguration>",
        "<PublicAccessBlockConfiguration><BlockPublicAccess>true</BlockPublicAccess>"
        "</PublicAccessBlockConfiguration>",
        "<PublicAccessBlock><BlockPublicAcls>true</BlockPublicAcls></PublicAccessBlock>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        s3_public_access_block p = {true, true, true, true};
        s3_xml_error err = {0};
        assert_int_equal(s3_xml_parse_public_access_block(S(bad[i]), &p, &err), CL_ERR_INVALID);
        assert_error(&err, "MalformedXML", MALFORMED);
        assert_false(p.block_public_acls || p.ignore_public_acls); /* zeroed */
    }
}

/* ---- Tagging ---- */

static void test_tagging_boto3(void **state) {
    (void)state;
    const char *body = "<Tagging" NS "><TagSet><Tag><Key>project</Key><Value>blue</Value></Tag>"
                       "<Tag><Key>cost-center</Key><Value></Value></Tag><Tag><Key>a b+c=d.e_f:g/"
                       "h@i</Key><Value>caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac</Value></Tag></TagSet>"
                       "</Tagging>";
    cl_kvlist l;
    s3_xml_error err = {0};
    assert_int_equal(s3_xml_parse_tagging(S(body), S3_TAGS_OBJECT, &l, &err), CL_OK);
    assert_int_equal(l.len, 3);
    assert_string_equal(l.items[0].key, "project");
    assert_string_equal(l.items[0].value, "blue");
    assert_string_equal(kvlist_get(&l, "cost-center"), "");
    assert_string_equal(kvlist_get(&l, "a b+c=d.e_f:g/h@i"),
                        "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac");
    kvlist_free(&l);
    const char *empty = "<Tagging>\n  <TagSet/>\n</Tagging>";
    assert_int_equal(s3_xml_parse_tagging(S(empty), S3_TAGS_BUCKET, &l, &err), CL_OK);
    assert_int_equal(l.len, 0);
    kvlist_free(&l);
}

static cl_buf tag_doc(int n, const char *key_fmt, const char *value) {
    cl_buf b = CL_BUF_INIT;
    buf_append_cstr(&b, "<Tagging><TagSet>");
    for (int i = 0; i < n; i++) {
        buf_append_cstr(&b, "<Tag><Key>");
        buf_appendf(&b, key_fmt, i);
        buf_appendf(&b, "</Key><Value>%s</Value></Tag>", value);
    }
    buf_append_cstr(&b, "</TagSet></Tagging>");
    return b;
}

static void expect_tags(cl_buf b, s3_tag_scope scope, const char *code, const char *msg) {
    cl_kvlist l;
    s3_xml_error err = {0};
    cl_err e = s3_xml_parse_tagging(buf_slice(&b), scope, &l, &err);
    if (code) {
        assert_int_equal(e, CL_ERR_INVALID);
        assert_error(&err, code, msg);
        assert_int_equal(l.len, 0);
        assert_null(l.items);
    } else {
        assert_int_equal(e, CL_OK);
    }
    kvlist_free(&l);
    buf_free(&b);
}

static void test_tagging_counts(void **state) {
    (void)state;
    expect_tags(tag_doc(10, "k%d", "v"), S3_TAGS_OBJECT, NULL, NULL);
    expect_tags(tag_doc(11, "k%d", "v"), S3_TAGS_OBJECT, "BadRequest",
                "Object tags cannot be greater than 10");
    expect_tags(tag_doc(50, "k%d", "v"), S3_TAGS_BUCKET, NULL, NULL);
    expect_tags(tag_doc(51, "k%d", "v"), S3_TAGS_BUCKET, "BadRequest",
                "Bucket tag count cannot be greater than 50");
    expect_tags(tag_doc(5000, "k%d", "v"), S3_TAGS_BUCKET, "BadRequest",
                "Bucket tag count cannot be greater than 50");
}

static char *repeat(const char *unit, int n) {
    cl_buf b = CL_BUF_INIT;
    for (int i = 0; i < n; i++)
        buf_append_cstr(&b, unit);
    buf_append_cstr(&b, "%d"); /* tag_doc's format slot; the index is appended */
    return buf_take_cstr(&b);
}

static void test_tagging_lengths(void **state) {
    (void)state;
    /* 127 characters + one index digit = 128; counted in characters, not bytes */
    char *k128 = repeat("\xc3\xa9", 127), *k129 = repeat("k", 128);
    expect_tags(tag_doc(1, k128, "v"), S3_TAGS_OBJECT, NULL, NULL);
    expect_tags(tag_doc(1, k129, "v"), S3_TAGS_OBJECT, "InvalidTag",
                "The TagKey you have provided is too long, max 128");
    free(k128);
    free(k129);
    char *v256 = repeat("\xe6\x97\xa5", 256), *v257 = repeat("v", 257);
    v256[strlen(v256) - 2] = '\0'; /* drop the %d: values are not formatted */
    v257[strlen(v257) - 2] = '\0';
    expect_tags(tag_doc(1, "k%d", v256), S3_TAGS_OBJECT, NULL, NULL);
    expect_tags(tag_doc(1, "k%d", v257), S3_TAGS_OBJECT, "InvalidTag",
                "The TagValue you have provided is too long, max 256");
    free(v256);
    free(v257);
}

static void expect_tag_xml(const char *tags, const char *code, const char *msg) {
    char body[2048];
    snprintf(body, sizeof body, "<Tagging><TagSet>%s</TagSet></Tagging>", tags);
    cl_buf b = CL_BUF_INIT;
    buf_append_cstr(&b, body);
    expect_tags(b, S3_TAGS_BUCKET, code, msg);
}

#define TAG(k, v) "<Tag><Key>" k "</Key><Value>" v "</Value></Tag>"

static void test_tagging_rules(void **state) {
    (void)state;
    const char *key_bad = "The TagKey you have provided is invalid";
    const char *val_bad = "The TagValue you have provided is invalid";
    expect_tag_xml(TAG("", "v"), "InvalidTag", key_bad);
    expect_tag_xml(TAG("a!", "v"), "InvalidTag", key_bad);
    expect_tag_xml(TAG("a\tb", "v"), "InvalidTag", key_bad);
    expect_tag_xml(TAG("a&amp;b", "v"), "InvalidTag", key_bad);
    expect_tag_xml(TAG("k", "v?"), "InvalidTag", val_bad);
    expect_tag_xml(TAG("k", "a\nb"), "InvalidTag", val_bad);
    expect_tag_xml(TAG("k", "\xc2\x85"), "InvalidTag", val_bad); /* U+0085, a C1 control */
    expect_tag_xml(TAG("aws:cloudformation:stack", "v"), "InvalidTag",
                   "Your TagKey cannot be prefixed with aws:");
    expect_tag_xml(TAG("AWS:x", "v"), "InvalidTag", "Your TagKey cannot be prefixed with aws:");
    expect_tag_xml(TAG("awsx", "v") TAG("aws", "v"), NULL, NULL);
    expect_tag_xml(TAG("k", "1") TAG("K", "2"), NULL, NULL); /* case-sensitive */
    expect_tag_xml(TAG("k", "1") TAG("j", "2") TAG("k", "3"), "InvalidTag",
                   "Cannot provide multiple Tags with the same key");
    /* in order: the bad second tag is reported before the duplicate third */
    expect_tag_xml(TAG("k", "1") TAG("x", "!") TAG("k", "3"), "InvalidTag", val_bad);
    expect_tag_xml("<Tag><Key>k</Key></Tag>", "MalformedXML", MALFORMED);
    expect_tag_xml("<Tag><Value>v</Value></Tag>", "MalformedXML", MALFORMED);
    expect_tag_xml("<Tag><Key>k</Key><Value>v</Value><Value>w</Value></Tag>", "MalformedXML",
                   MALFORMED);
    expect_tag_xml("<Tag><Key>k</Key><Value>v</Value></Tag><Extra/>", "MalformedXML", MALFORMED);
    expect_malformed(P_TAG_OBJECT, "<Tagging/>");
    expect_malformed(P_TAG_OBJECT, "<Tagging><TagSet/><TagSet/></Tagging>");
    expect_malformed(P_TAG_OBJECT, "<TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet>");
}

/* ---- x-amz-tagging header ---- */

static void test_tag_header(void **state) {
    (void)state;
    cl_kvlist l;
    s3_xml_error err = {0};
    assert_int_equal(s3_tagging_parse_header(S("project=blue&a%20b=c%2Fd+e&empty=&bare"),
                                             S3_TAGS_OBJECT, &l, &err),
                     CL_OK);
    assert_int_equal(l.len, 4);
    assert_string_equal(kvlist_get(&l, "project"), "blue");
    assert_string_equal(kvlist_get(&l, "a b"), "c/d e");
    assert_string_equal(kvlist_get(&l, "empty"), "");
    assert_string_equal(kvlist_get(&l, "bare"), "");
    kvlist_free(&l);
    assert_int_equal(s3_tagging_parse_header(S(""), S3_TAGS_OBJECT, &l, &err), CL_OK);
    assert_int_equal(l.len, 0);
    assert_int_equal(s3_tagging_parse_header(S("k=caf%C3%A9"), S3_TAGS_OBJECT, &l, &err), CL_OK);
    assert_string_equal(kvlist_get(&l, "k"), "caf\xc3\xa9");
    kvlist_free(&l);
}

static void expect_header(const char *h, s3_tag_scope scope, const char *code, const char *msg) {
    cl_kvlist l;
    s3_xml_error err = {0};
    assert_int_equal(s3_tagging_parse_header(S(h), scope, &l, &err), CL_ERR_INVALID);
    assert_error(&err, code, msg);
    assert_int_equal(l.len, 0);
    kvlist_free(&l);
}

static void test_tag_header_errors(void **state) {
    (void)state;
    expect_header("=", S3_TAGS_OBJECT, "InvalidArgument", TAG_HEADER_MSG);
    expect_header("=v", S3_TAGS_OBJECT, "InvalidArgument", TAG_HEADER_MSG);
    expect_header("a=&a=", S3_TAGS_OBJECT, "InvalidArgument", TAG_HEADER_MSG);
    expect_header("key=value&key=value2", S3_TAGS_OBJECT, "InvalidArgument", TAG_HEADER_MSG);
    expect_header("k=%zz", S3_TAGS_OBJECT, "InvalidArgument", TAG_HEADER_MSG);
    expect_header("k=%", S3_TAGS_OBJECT, "InvalidArgument", TAG_HEADER_MSG);
    expect_header("k=%FF", S3_TAGS_OBJECT, "InvalidArgument", TAG_HEADER_MSG);
    expect_header("k=%00", S3_TAGS_OBJECT, "InvalidArgument", TAG_HEADER_MSG);
    expect_header("a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10&k=11", S3_TAGS_OBJECT, "BadRequest",
                  "Object tags cannot be greater than 10");
    expect_header("k=v%21", S3_TAGS_OBJECT, "InvalidTag",
                  "The TagValue you have provided is invalid");
    expect_header("aws%3Ax=1", S3_TAGS_OBJECT, "InvalidTag",
                  "Your TagKey cannot be prefixed with aws:");
    cl_kvlist l;
    s3_xml_error err = {0};
    assert_int_equal(s3_tagging_parse_header(S("a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10&k=11"),
                                             S3_TAGS_BUCKET, &l, &err),
                     CL_OK);
    assert_int_equal(l.len, 11);
    kvlist_free(&l);
    char *big = malloc(S3_TAGGING_MAX_HEADER + 2);
    memset(big, 'a', S3_TAGGING_MAX_HEADER + 1);
    big[S3_TAGGING_MAX_HEADER + 1] = '\0';
    assert_int_equal(s3_tagging_parse_header(S(big), S3_TAGS_OBJECT, &l, &err), CL_ERR_TOO_LARGE);
    assert_error(&err, "InvalidArgument", TAG_HEADER_MSG);
    free(big);
}

/* ---- CreateBucketConfiguration ---- */

static void test_create_bucket(void **state) {
    (void)state;
    s3_create_bucket_config c;
    s3_xml_error err = {0};
    assert_int_equal(s3_xml_parse_create_bucket(CL_SLICE_NULL, &c, &err), CL_OK);
    assert_null(c.location_constraint);
    assert_int_equal(s3_xml_parse_create_bucket(S(VALID[P_BUCKET]), &c, &err), CL_OK);
    assert_string_equal(c.location_constraint, "eu-west-1");
    s3_create_bucket_config_free(&c);
    assert_null(c.location_constraint);
    const char *pretty = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CreateBucketConfiguration" NS
                         ">\n   <LocationConstraint>EU</LocationConstraint>\n"
                         "</CreateBucketConfiguration>\n";
    assert_int_equal(s3_xml_parse_create_bucket(S(pretty), &c, &err), CL_OK);
    assert_string_equal(c.location_constraint, "EU");
    s3_create_bucket_config_free(&c);
    const char *empties[] = {"<CreateBucketConfiguration/>",
                             "<CreateBucketConfiguration><LocationConstraint/>"
                             "</CreateBucketConfiguration>",
                             "<CreateBucketConfiguration" NS "><LocationConstraint>"
                             "</LocationConstraint></CreateBucketConfiguration>"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(s3_xml_parse_create_bucket(S(empties[i]), &c, &err), CL_OK);
        assert_null(c.location_constraint);
    }
}

static void test_create_bucket_errors(void **state) {
    (void)state;
    s3_create_bucket_config c;
    s3_xml_error err = {0};
    const char *bad = "<CreateBucketConfiguration><LocationConstraint>eu west</LocationConstraint>"
                      "</CreateBucketConfiguration>";
    assert_int_equal(s3_xml_parse_create_bucket(S(bad), &c, &err), CL_ERR_INVALID);
    assert_error(&err, "InvalidLocationConstraint",
                 "The specified location-constraint is not valid");
    assert_null(c.location_constraint);
    expect_malformed(P_BUCKET, "<CreateBucketConfiguration><LocationConstraint>a"
                               "</LocationConstraint><LocationConstraint>b</LocationConstraint>"
                               "</CreateBucketConfiguration>");
    expect_malformed(P_BUCKET, "<CreateBucketConfiguration><Bucket><Type>Directory</Type>"
                               "</Bucket></CreateBucketConfiguration>");
    expect_malformed(P_BUCKET, "<CreateBucket><LocationConstraint>eu-west-1</LocationConstraint>"
                               "</CreateBucket>");
    expect_malformed(P_BUCKET, " ");
}

/* ---- ServerSideEncryptionConfiguration ---- */

static void test_encryption(void **state) {
    (void)state;
    s3_encryption_config c;
    s3_xml_error err = {0};
    assert_int_equal(s3_xml_parse_encryption(S(VALID[P_SSE]), &c, &err), CL_OK);
    assert_int_equal(c.algorithm, S3_SSE_AES256);
    assert_null(c.kms_key_id);
    assert_false(c.bucket_key_enabled);
    s3_encryption_config_free(&c);
    const char *kms =
        "<ServerSideEncryptionConfiguration" NS "><Rule><ApplyServerSideEncryptionByDefault>"
        "<SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>arn:aws:kms:us-east-1:123456789012:"
        "key/1234abcd-12ab-34cd-56ef-1234567890ab</KMSMasterKeyID>"
        "</ApplyServerSideEncryptionByDefault><BucketKeyEnabled>true</BucketKeyEnabled></Rule>"
        "</ServerSideEncryptionConfiguration>";
    assert_int_equal(s3_xml_parse_encryption(S(kms), &c, &err), CL_OK);
    assert_int_equal(c.algorithm, S3_SSE_KMS);
    assert_string_equal(
        c.kms_key_id,
        "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab");
    assert_true(c.bucket_key_enabled);
    s3_encryption_config_free(&c);
    const char *dsse = "<ServerSideEncryptionConfiguration>\n <Rule>\n  "
                       "<BucketKeyEnabled>false</BucketKeyEnabled>\n  "
                       "<ApplyServerSideEncryptionByDefault>\n   <SSEAlgorithm>aws:kms:dsse"
                       "</SSEAlgorithm>\n  </ApplyServerSideEncryptionByDefault>\n </Rule>\n"
                       "</ServerSideEncryptionConfiguration>";
    assert_int_equal(s3_xml_parse_encryption(S(dsse), &c, &err), CL_OK);
    assert_int_equal(c.algorithm, S3_SSE_KMS_DSSE);
    assert_string_equal(s3_sse_algorithm_name(c.algorithm), "aws:kms:dsse");
    assert_string_equal(s3_sse_algorithm_name(S3_SSE_AES256), "AES256");
    s3_encryption_config_free(&c);
}

#define SSE(rule) "<ServerSideEncryptionConfiguration>" rule "</ServerSideEncryptionConfiguration>"
#define DEF(alg) "<ApplyServerSideEncryptionByDefault>" alg "</ApplyServerSideEncryptionByDefault>"
#define ALG(a) "<SSEAlgorithm>" a "</SSEAlgorithm>"

static void test_encryption_errors(void **state) {
    (void)state;
    expect_malformed(P_SSE, SSE("<Rule>" DEF(ALG("aes256")) "</Rule>"));
    expect_malformed(P_SSE, SSE("<Rule>" DEF(ALG("aws:kms:x")) "</Rule>"));
    expect_malformed(P_SSE, SSE("<Rule>" DEF(ALG(" AES256")) "</Rule>"));
    expect_malformed(P_SSE, SSE("<Rule>" DEF(ALG("")) "</Rule>"));
    expect_malformed(P_SSE, SSE("<Rule>" DEF("") "</Rule>"));
    expect_malformed(P_SSE, SSE("<Rule><BucketKeyEnabled>true</BucketKeyEnabled></Rule>"));
    expect_malformed(P_SSE, SSE(""));
    expect_malformed(P_SSE,
                     SSE("<Rule>" DEF(ALG("AES256")) "</Rule><Rule>" DEF(ALG("AES256")) "</Rule>"));
    expect_malformed(P_SSE, SSE("<Rule>" DEF(ALG("AES256") ALG("AES256")) "</Rule>"));
    expect_malformed(P_SSE, SSE("<Rule>" DEF(ALG("AES256")) "<BucketKeyEnabled>maybe"
                                                            "</BucketKeyEnabled></Rule>"));
    expect_malformed(P_SSE, SSE("<Rule>" DEF(ALG("AES256") "<KMSKeyId>x</KMSKeyId>") "</Rule>"));
    const char *cases[] = {
        SSE("<Rule>" DEF(ALG("AES256") "<KMSMasterKeyID>alias/x</KMSMasterKeyID>") "</Rule>"),
        SSE("<Rule>" DEF(ALG("AES256") "<KMSMasterKeyID/>") "</Rule>"),
    };
    for (size_t i = 0; i < 2; i++) {
        s3_encryption_config c;
        s3_xml_error err = {0};
        assert_int_equal(s3_xml_parse_encryption(S(cases[i]), &c, &err), CL_ERR_INVALID);
        assert_error(&err, "InvalidArgument",
                     "a KMSMasterKeyID is not applicable if the default sse algorithm is not "
                     "aws:kms or aws:kms:dsse");
        assert_null(c.kms_key_id);
    }
}

/* ---- hostile input, against every XML parser ---- */

/* Wraps `inner` in a document whose root is the parser's own, so the attack
 * is the only thing wrong with it. */
static void expect_attack(const char *prolog, const char *inner) {
    for (int p = 0; p < P_N; p++) {
        if (p == P_HEADER) continue;
        char body[4096];
        snprintf(body, sizeof body, "%s<%s>%s</%s>", prolog, ROOTS[p], inner, ROOTS[p]);
        s3_xml_error err = {0};
        assert_int_equal(run(p, S(body), &err), CL_ERR_INVALID);
        assert_error(&err, "MalformedXML", MALFORMED);
    }
}

static void test_doctype_attacks(void **state) {
    (void)state;
    /* billion laughs */
    expect_attack("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n"
                  " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
                  " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
                  " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
                  "]>\n",
                  "&lol3;");
    /* XXE: external general entity, external DTD, parameter entity */
    expect_attack("<!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>", "&xxe;");
    expect_attack("<!DOCTYPE x SYSTEM \"http://127.0.0.1:1/evil.dtd\">", "");
    expect_attack("<!DOCTYPE x [<!ENTITY % p SYSTEM \"file:///etc/passwd\"> %p;]>", "");
    expect_attack("<!DOCTYPE x PUBLIC \"-//X//EN\" \"x.dtd\">", "");
    /* an empty DOCTYPE declares nothing but is still refused */
    expect_attack("<!DOCTYPE x>", "");
    /* a reference to an entity never declared */
    expect_attack("", "&xxe;");
    /* processing instructions, foreign encodings */
    expect_attack("<?xml-stylesheet href=\"x.xsl\"?>", "");
    expect_attack("", "<?php echo 1; ?>");
    expect_attack("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>", "");
    expect_attack("<?xml version=\"1.0\" encoding=\"UTF-16\"?>", "");
}

static void test_not_utf8(void **state) {
    (void)state;
    expect_attack("", "\xff");
    expect_attack("", "\xc0\xaf");      /* overlong '/' */
    expect_attack("", "\xed\xa0\x80");  /* a surrogate */
    expect_attack("<!-- \xe9 -->", ""); /* Latin-1 in a comment */
    expect_attack("\xef\xbb", "");      /* half a BOM */
    expect_attack("", "&#0;");          /* NUL by reference */
    expect_attack("", "&#xD800;");      /* surrogate by reference */
    /* UTF-16LE with its BOM, and without */
    static const char u16[] = "\xff\xfe<\0D\0/\0>\0";
    static const char u16nobom[] = "<\0D\0/\0>\0";
    for (int p = 0; p < P_N; p++) {
        if (p == P_HEADER) continue;
        s3_xml_error err = {0};
        assert_int_equal(run(p, slice_of(u16, sizeof u16 - 1), &err), CL_ERR_INVALID);
        assert_int_equal(run(p, slice_of(u16nobom, sizeof u16nobom - 1), &err), CL_ERR_INVALID);
        char nul[256]; /* a NUL byte inside the right root */
        int n = snprintf(nul, sizeof nul, "<%s>@</%s>", ROOTS[p], ROOTS[p]);
        *strchr(nul, '@') = '\0';
        assert_int_equal(run(p, slice_of(nul, (size_t)n), &err), CL_ERR_INVALID);
    }
    /* a UTF-8 BOM is fine */
    cl_buf b = CL_BUF_INIT;
    buf_append_cstr(&b, "\xef\xbb\xbf");
    buf_append_cstr(&b, VALID[P_DELETE]);
    s3_xml_error err = {0};
    assert_int_equal(run(P_DELETE, buf_slice(&b), &err), CL_OK);
    buf_free(&b);
}

static void test_truncated_everywhere(void **state) {
    (void)state;
    for (int p = 0; p < P_N; p++) {
        if (p == P_HEADER) continue;
        cl_slice doc = S(VALID[p]);
        s3_xml_error err = {0};
        assert_int_equal(run(p, doc, &err), CL_OK);
        for (size_t n = p == P_BUCKET ? 1 : 0; n < doc.len; n++) {
            err = (s3_xml_error){0};
            assert_int_equal(run(p, slice_sub(doc, 0, n), &err), CL_ERR_INVALID);
            assert_string_equal(err.code, "MalformedXML");
        }
    }
}

static void test_well_formedness(void **state) {
    (void)state;
    expect_attack("", "<A></B>");
    expect_attack("", "<");
    expect_attack("", "&amp");
    expect_attack("", "]]>");
    expect_attack("junk", "");
    expect_attack("<x:y/>", "");   /* unbound prefix, and a second root */
    expect_attack("", "<x:Foo/>"); /* unbound prefix */
    for (int p = 0; p < P_N; p++) {
        if (p == P_HEADER || p == P_BUCKET) continue;
        expect_malformed(p, "");
        expect_malformed(p, "   ");
    }
    /* nesting far deeper than any schema is refused at its first element */
    cl_buf b = CL_BUF_INIT;
    buf_append_cstr(&b, "<Tagging>");
    for (int i = 0; i < 20000; i++)
        buf_append_cstr(&b, "<TagSet>");
    s3_xml_error err = {0};
    assert_int_equal(run(P_TAG_OBJECT, buf_slice(&b), &err), CL_ERR_INVALID);
    assert_string_equal(err.code, "MalformedXML");
    buf_free(&b);
    /* comments and CDATA are fine */
    const char *ok = "<!-- hi --><Delete><!-- a --><Object><Key>a<!-- b -->b<![CDATA[c]]></Key>"
                     "</Object></Delete><!-- bye -->";
    s3_delete_request d;
    assert_int_equal(s3_xml_parse_delete(S(ok), &d, &err), CL_OK);
    assert_string_equal(d.objects[0].key, "abc");
    s3_delete_request_free(&d);
}

static void test_body_limits(void **state) {
    (void)state;
    static const size_t limits[P_N] = {
        [P_COMPLETE] = S3_XML_MAX_COMPLETE_BODY,  [P_DELETE] = S3_XML_MAX_DELETE_BODY,
        [P_PAB] = S3_XML_MAX_SMALL_BODY,          [P_TAG_OBJECT] = S3_XML_MAX_TAGGING_BODY,
        [P_TAG_BUCKET] = S3_XML_MAX_TAGGING_BODY, [P_BUCKET] = S3_XML_MAX_SMALL_BODY,
        [P_SSE] = S3_XML_MAX_SMALL_BODY,
    };
    for (int p = 0; p < P_N; p++) {
        if (p == P_HEADER) continue;
        /* a valid document padded with whitespace to exactly the limit, then one past it */
        cl_buf b = CL_BUF_INIT;
        buf_append_cstr(&b, VALID[p]);
        while (b.len < limits[p])
            buf_append_byte(&b, '\n');
        s3_xml_error err = {0};
        assert_int_equal(run(p, buf_slice(&b), &err), CL_OK);
        buf_append_byte(&b, '\n');
        assert_int_equal(run(p, buf_slice(&b), &err), CL_ERR_TOO_LARGE);
        assert_error(&err, "MaxMessageLengthExceeded", "Your request was too big.");
        buf_free(&b);
    }
}

static void test_null_err_is_allowed(void **state) {
    (void)state;
    for (int p = 0; p < P_N; p++)
        assert_int_equal(run(p, S("<Nope/>="), NULL), CL_ERR_INVALID);
}

/* Seeded mutations of every valid document: flips, inserts of XML-significant
 * bytes, deletions and splices. Nothing may crash or leak (ASan), a failure
 * always carries a code, and a success must satisfy the documented invariants. */
static uint64_t rng_state;
static uint64_t rng(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static void mutate(cl_buf *b) {
    static const char bits[] = "<>/&;\"'=!?[]- \n\xc3\xa9\xff"
                               "0123456789";
    size_t at = b->len ? rng() % b->len : 0;
    switch (rng() % 4) {
    case 0:
        if (b->len) b->ptr[at] = bits[rng() % (sizeof bits - 1)];
        break;
    case 1:
        if (b->len) memmove(b->ptr + at, b->ptr + at + 1, b->len - at - 1), b->len--;
        break;
    case 2: {
        buf_append_byte(b, 0);
        memmove(b->ptr + at + 1, b->ptr + at, b->len - at - 1);
        b->ptr[at] = bits[rng() % (sizeof bits - 1)];
        break;
    }
    default: { /* duplicate a span: repeats elements */
        size_t n = 1 + rng() % 40;
        if (at + n > b->len) n = b->len - at;
        cl_buf span = CL_BUF_INIT;
        buf_append(&span, b->ptr + at, n);
        buf_append(b, span.ptr, span.len);
        buf_free(&span);
    }
    }
}

static void check_complete(cl_slice body) {
    s3_complete_upload u;
    s3_xml_error err = {0};
    if (s3_xml_parse_complete_upload(body, &u, &err) == CL_OK) {
        assert_true(u.len >= 1 && u.len <= S3_MAX_PARTS);
        for (size_t i = 0; i < u.len; i++) {
            assert_true(u.parts[i].part_number >= 1 && u.parts[i].part_number <= S3_MAX_PARTS);
            assert_true(i == 0 || u.parts[i].part_number > u.parts[i - 1].part_number);
            assert_non_null(u.parts[i].etag);
        }
    } else {
        assert_non_null(err.code);
    }
    s3_complete_upload_free(&u);
}

static void test_mutations(void **state) {
    (void)state;
    rng_state = 0x5eed;
    for (int round = 0; round < 4000; round++) {
        int p = (int)(rng() % P_N);
        cl_buf b = CL_BUF_INIT;
        buf_append_cstr(&b, VALID[p]);
        for (int m = 1 + (int)(rng() % 4); m > 0; m--)
            mutate(&b);
        s3_xml_error err = {0};
        if (p == P_COMPLETE)
            check_complete(buf_slice(&b));
        else if (run(p, buf_slice(&b), &err) != CL_OK)
            assert_non_null(err.code);
        buf_free(&b);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_complete_boto3),
        cmocka_unit_test(test_complete_pretty_checksums),
        cmocka_unit_test(test_complete_prefixed_namespace),
        cmocka_unit_test(test_complete_repeated_part),
        cmocka_unit_test(test_complete_errors),
        cmocka_unit_test(test_complete_root_and_namespace),
        cmocka_unit_test(test_complete_limits),
        cmocka_unit_test(test_delete_boto3),
        cmocka_unit_test(test_delete_pretty_and_keys_verbatim),
        cmocka_unit_test(test_delete_conditional_fields),
        cmocka_unit_test(test_delete_limits),
        cmocka_unit_test(test_delete_errors),
        cmocka_unit_test(test_pab),
        cmocka_unit_test(test_pab_errors),
        cmocka_unit_test(test_tagging_boto3),
        cmocka_unit_test(test_tagging_counts),
        cmocka_unit_test(test_tagging_lengths),
        cmocka_unit_test(test_tagging_rules),
        cmocka_unit_test(test_tag_header),
        cmocka_unit_test(test_tag_header_errors),
        cmocka_unit_test(test_create_bucket),
        cmocka_unit_test(test_create_bucket_errors),
        cmocka_unit_test(test_encryption),
        cmocka_unit_test(test_encryption_errors),
        cmocka_unit_test(test_doctype_attacks),
        cmocka_unit_test(test_not_utf8),
        cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_well_formedness),
        cmocka_unit_test(test_body_limits),
        cmocka_unit_test(test_null_err_is_allowed),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
