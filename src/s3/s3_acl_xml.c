/* s3_acl_xml.c — the AccessControlPolicy body of PutBucketAcl / PutObjectAcl
 * and the OwnershipControls body of PutBucketOwnershipControls, on the shared
 * hardened expat layer (s3_xs.h). Only the shape is checked here; what an ACL
 * may say is s3_acl.c's business (ACLs are disabled: only the owner's
 * FULL_CONTROL is accepted). See s3_xml.h for the documents. */
#include "s3/s3_xs.h"

#include <stdlib.h>
#include <string.h>

#define S3_MAX_ACL_GRANTS 100

static cl_err grant_start(xs_state *x, const xs_elem *el, void **target, cl_slice text) {
    (void)el, (void)text;
    s3_acl *a = x->out;
    if (a->len == S3_MAX_ACL_GRANTS) return s3_xs_malformed(x->err);
    a->grants = s3_xs_grow(x, a->grants, a->len, sizeof *a->grants);
    s3_acl_grant *g = &a->grants[a->len++];
    memset(g, 0, sizeof *g);
    *target = g;
    return CL_OK;
}

static const xs_elem OWNER_KIDS[] = {LEAF("ID", XS_ONCE, s3_xs_set_str, s3_acl, owner_id),
                                     {"DisplayName", NULL, XS_ONCE, NULL, NULL, 0},
                                     END};
static const xs_elem GRANTEE_KIDS[] = {
    LEAF("ID", XS_ONCE, s3_xs_set_str, s3_acl_grant, id),
    LEAF("URI", XS_ONCE, s3_xs_set_str, s3_acl_grant, uri),
    LEAF("EmailAddress", XS_ONCE, s3_xs_set_str, s3_acl_grant, email),
    {"DisplayName", NULL, XS_ONCE, NULL, NULL, 0},
    {"Type", NULL, XS_ONCE, NULL, NULL, 0},
    END};
static const xs_elem GRANT_KIDS[] = {
    {"Grantee", GRANTEE_KIDS, XS_ONCE | XS_REQUIRED | XS_ATTRS, NULL, NULL, 0},
    LEAF("Permission", XS_ONCE | XS_REQUIRED, s3_xs_set_str, s3_acl_grant, permission),
    END};
static const xs_elem LIST_KIDS[] = {{"Grant", GRANT_KIDS, 0, grant_start, NULL, 0}, END};
static const xs_elem ACL_KIDS[] = {{"Owner", OWNER_KIDS, XS_ONCE, NULL, NULL, 0},
                                   {"AccessControlList", LIST_KIDS, XS_ONCE, NULL, NULL, 0},
                                   END};
static const xs_elem ACL_ROOT = {"AccessControlPolicy", ACL_KIDS, 0, NULL, NULL, 0};

void s3_acl_free(s3_acl *a) {
    free(a->owner_id);
    for (size_t i = 0; i < a->len; i++) {
        free(a->grants[i].id);
        free(a->grants[i].uri);
        free(a->grants[i].email);
        free(a->grants[i].permission);
    }
    free(a->grants);
    memset(a, 0, sizeof *a);
}

cl_err s3_xml_parse_acl(cl_slice body, s3_acl *out, s3_xml_error *err) {
    memset(out, 0, sizeof *out);
    cl_err e = s3_xs_parse(body, S3_XML_MAX_SMALL_BODY, &ACL_ROOT, out, err);
    if (e == CL_ERR_INVALID && err->code && strcmp(err->code, "MalformedXML") == 0)
        e = s3_xs_fail(err, "MalformedACLError",
                       "The XML you provided was not well-formed or did not validate against "
                       "our published schema");
    if (e != CL_OK) s3_acl_free(out);
    return e;
}

/* ---- OwnershipControls ---- */

typedef struct {
    char *ownership;
} ownership_doc;

static const xs_elem RULE_KIDS[] = {
    LEAF("ObjectOwnership", XS_ONCE | XS_REQUIRED, s3_xs_set_str, ownership_doc, ownership), END};
static const xs_elem OWNERSHIP_KIDS[] = {{"Rule", RULE_KIDS, XS_ONCE | XS_REQUIRED, NULL, NULL, 0},
                                         END};
static const xs_elem OWNERSHIP_ROOT = {"OwnershipControls", OWNERSHIP_KIDS, 0, NULL, NULL, 0};

cl_err s3_xml_parse_ownership(cl_slice body, char **out, s3_xml_error *err) {
    ownership_doc d = {0};
    *out = NULL;
    cl_err e = s3_xs_parse(body, S3_XML_MAX_SMALL_BODY, &OWNERSHIP_ROOT, &d, err);
    static const char *const VALUES[] = {"BucketOwnerEnforced", "BucketOwnerPreferred",
                                         "ObjectWriter"};
    bool known = false;
    for (size_t i = 0; e == CL_OK && i < 3; i++)
        known |= strcmp(d.ownership, VALUES[i]) == 0;
    if (e == CL_OK && !known) e = s3_xs_malformed(err);
    if (e == CL_OK)
        *out = d.ownership;
    else
        free(d.ownership);
    return e;
}
