/* test_s3_acl_xml.c — the AccessControlPolicy and OwnershipControls parsers
 * (src/s3/s3_acl_xml.c): the documents botocore writes (Grantee with xmlns:xsi
 * and xsi:type, the only attributes the schema layer lets through, and only on
 * Grantee), grants of each grantee kind, and what is refused: attributes
 * elsewhere, unknown elements, a DOCTYPE, an unknown ownership value, more than
 * one rule, more than 100 grants. */
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
#define XSI "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""

static cl_slice S(const char *s) {
    return slice_cstr(s);
}

static void test_acl_boto3(void **state) {
    (void)state;
    const char *doc =
        "<AccessControlPolicy" NS "><AccessControlList><Grant><Grantee " XSI
        " xsi:type=\"CanonicalUser\"><ID>111122223333</ID></Grantee><Permission>FULL_CONTROL"
        "</Permission></Grant><Grant><Grantee " XSI " xsi:type=\"Group\"><URI>http://acs."
        "amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission>"
        "</Grant></AccessControlList><Owner><ID>111122223333</ID><DisplayName>me</DisplayName>"
        "</Owner></AccessControlPolicy>";
    s3_acl a;
    s3_xml_error err = {0};
    assert_int_equal(s3_xml_parse_acl(S(doc), &a, &err), CL_OK);
    assert_string_equal(a.owner_id, "111122223333");
    assert_int_equal(a.len, 2);
    assert_string_equal(a.grants[0].id, "111122223333");
    assert_null(a.grants[0].uri);
    assert_string_equal(a.grants[0].permission, "FULL_CONTROL");
    assert_null(a.grants[1].id);
    assert_string_equal(a.grants[1].uri, "http://acs.amazonaws.com/groups/global/AllUsers");
    assert_string_equal(a.grants[1].permission, "READ");
    s3_acl_free(&a);
}

static void test_acl_refused(void **state) {
    (void)state;
    const char *bad[] = {
        /* an attribute where the schema allows none */
        "<AccessControlPolicy" NS " a=\"1\"><AccessControlList/></AccessControlPolicy>",
        "<AccessControlPolicy" NS "><AccessControlList><Grant x=\"1\"><Grantee><ID>1</ID>"
        "</Grantee><Permission>READ</Permission></Grant></AccessControlList>"
        "</AccessControlPolicy>",
        /* a grant without permission, an unknown element, two owners */
        "<AccessControlPolicy" NS "><AccessControlList><Grant><Grantee><ID>1</ID></Grantee>"
        "</Grant></AccessControlList></AccessControlPolicy>",
        "<AccessControlPolicy" NS "><Bogus/></AccessControlPolicy>",
        "<AccessControlPolicy" NS "><Owner><ID>1</ID></Owner><Owner><ID>2</ID></Owner>"
        "</AccessControlPolicy>",
        "<!DOCTYPE x [<!ENTITY e \"e\">]><AccessControlPolicy" NS "/>",
        "<Wrong" NS "/>",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s3_acl a;
        s3_xml_error err = {0};
        assert_int_equal(s3_xml_parse_acl(S(bad[i]), &a, &err), CL_ERR_INVALID);
        assert_string_equal(err.code, "MalformedACLError");
        assert_null(a.grants);
        assert_null(a.owner_id);
    }
}

static void test_acl_grant_limit(void **state) {
    (void)state;
    cl_buf b = CL_BUF_INIT;
    buf_append_cstr(&b, "<AccessControlPolicy" NS "><AccessControlList>");
    for (int i = 0; i < 101; i++)
        buf_append_cstr(&b, "<Grant><Grantee><ID>1</ID></Grantee><Permission>READ</Permission>"
                            "</Grant>");
    buf_append_cstr(&b, "</AccessControlList></AccessControlPolicy>");
    s3_acl a;
    s3_xml_error err = {0};
    assert_int_equal(s3_xml_parse_acl(buf_slice(&b), &a, &err), CL_ERR_INVALID);
    buf_free(&b);
}

static void test_ownership(void **state) {
    (void)state;
    const char *vals[] = {"BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter"};
    for (size_t i = 0; i < 3; i++) {
        char doc[256];
        snprintf(doc, sizeof doc,
                 "<OwnershipControls" NS "><Rule><ObjectOwnership>%s</ObjectOwnership></Rule>"
                 "</OwnershipControls>",
                 vals[i]);
        char *out = NULL;
        s3_xml_error err = {0};
        assert_int_equal(s3_xml_parse_ownership(S(doc), &out, &err), CL_OK);
        assert_string_equal(out, vals[i]);
        free(out);
    }
    const char *bad[] = {
        "<OwnershipControls" NS "><Rule><ObjectOwnership>Other</ObjectOwnership></Rule>"
        "</OwnershipControls>",
        "<OwnershipControls" NS "><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule>"
        "<Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule></OwnershipControls>",
        "<OwnershipControls" NS "><Rule/></OwnershipControls>",
        "<OwnershipControls" NS "/>",
        "<OwnershipControls" NS "><Rule><ObjectOwnership a=\"b\">ObjectWriter</ObjectOwnership>"
        "</Rule></OwnershipControls>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *out = NULL;
        s3_xml_error err = {0};
        assert_int_equal(s3_xml_parse_ownership(S(bad[i]), &out, &err), CL_ERR_INVALID);
        assert_string_equal(err.code, "MalformedXML");
        assert_null(out);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acl_boto3),
        cmocka_unit_test(test_acl_refused),
        cmocka_unit_test(test_acl_grant_limit),
        cmocka_unit_test(test_ownership),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
