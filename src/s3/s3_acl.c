/* s3_acl.c — object ownership as AWS defaults it since April 2023: Object
 * Ownership "BucketOwnerEnforced", ACLs disabled. The bucket owner's account
 * owns every object; access is decided by policies only.
 *
 *   GetBucketAcl / GetObjectAcl   the owner with FULL_CONTROL, always
 *   PutBucketAcl / PutObjectAcl   accepted (and without effect) only when the
 *                                 ACL grants nothing but the owner's
 *                                 FULL_CONTROL: canned `private` or
 *                                 `bucket-owner-full-control`, an
 *                                 x-amz-grant-full-control naming the owner, or
 *                                 an AccessControlPolicy body saying the same;
 *                                 anything else 400 AccessControlListNotSupported
 *   x-amz-acl / x-amz-grant-*     on PutObject, CopyObject, CreateMultipartUpload
 *                                 and POST uploads: the same rule (s3_check_acl_headers),
 *                                 and an accepted one needs s3:PutObjectAcl too;
 *                                 on CreateBucket InvalidBucketAclWithObjectOwnership
 *                                 (AWS, "Troubleshooting Object Ownership": a
 *                                 CreateBucket with BucketOwnerEnforced and an ACL
 *                                 granting others fails with that code)
 *   Put/Get/DeleteBucketOwnershipControls
 *                                 the bucket document's "Ownership" (absent: the
 *                                 default BucketOwnerEnforced; "" after a Delete,
 *                                 when Get answers 404 OwnershipControlsNotFoundError).
 *                                 Only BucketOwnerEnforced is accepted: the other
 *                                 settings enable ACLs, which this server does not
 *                                 implement (501 NotImplemented). ACLs stay disabled
 *                                 after a Delete too.
 * AWS's sources: "Troubleshooting Object Ownership" (AccessControlListNotSupported,
 * "The bucket does not allow ACLs"), "Controlling ownership of objects and
 * disabling ACLs", API reference PutBucketOwnershipControls (Delete is
 * authorized as s3:PutBucketOwnershipControls). */
#include "s3/s3_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char MSG_NO_ACLS[] = "The bucket does not allow ACLs";

static const char *bucket_owner(const s3_op *op) {
    const char *o = json_string_value(json_object_get(op->bucket_doc, "Owner"));
    return o ? o : "";
}

/* x-amz-grant-full-control: id="OWNER" (one grantee, the owner). */
static bool grant_is_owner(const char *value, const char *owner) {
    cl_slice v = slice_trim(slice_cstr(value));
    if (v.len < 3 || strncasecmp((const char *)v.ptr, "id=", 3) != 0) return false;
    v = slice_trim(slice_sub(v, 3, v.len));
    if (v.len >= 2 && v.ptr[0] == '"' && v.ptr[v.len - 1] == '"') v = slice_sub(v, 1, v.len - 2);
    return slice_eq_cstr(v, owner);
}

/* True if the request's ACL headers grant nothing beyond the owner's FULL_CONTROL. */
static bool headers_owner_only(const s3_op *op, const char *owner, bool *any) {
    *any = false;
    for (size_t i = 0; i < op->req->headers.len; i++) {
        const cl_kv *h = &op->req->headers.items[i];
        if (strcasecmp(h->key, "x-amz-acl") == 0) {
            *any = true;
            if (strcmp(h->value, "private") != 0 &&
                strcmp(h->value, "bucket-owner-full-control") != 0)
                return false;
        } else if (strncasecmp(h->key, "x-amz-grant-", 12) == 0) {
            *any = true;
            if (strcasecmp(h->key, "x-amz-grant-full-control") != 0 ||
                !grant_is_owner(h->value, owner))
                return false;
        }
    }
    return true;
}

/* An accepted ACL header still sets the object's ACL, so it also needs
 * s3:PutObjectAcl on the key (AWS PutObject: "If your operation sets an ACL ...
 * you need the s3:PutObjectAcl permission"; the same for CopyObject and
 * CreateMultipartUpload). */
bool s3_check_acl_headers(s3_op *op) {
    bool any;
    if (!headers_owner_only(op, bucket_owner(op), &any)) {
        aws_fault_set(&op->f, 400, "AccessControlListNotSupported", MSG_NO_ACLS);
        return false;
    }
    if (!any) return true;
    char *arn = s3_object_arn(op->bucket, op->key);
    bool ok = s3_authorize(op, "s3:PutObjectAcl", arn, NULL);
    free(arn);
    return ok;
}

bool s3_check_create_bucket_acl(s3_op *op) {
    bool any;
    const char *own = kvlist_get_ci(&op->req->headers, "x-amz-object-ownership");
    if (own && strcmp(own, "BucketOwnerEnforced") != 0) {
        aws_fault_set(&op->f, 501, "NotImplemented",
                      "Only the BucketOwnerEnforced object ownership is implemented: this "
                      "server does not support ACLs.");
        return false;
    }
    if (headers_owner_only(op, op->c->account ? op->c->account : "", &any)) return true;
    aws_fault_set(&op->f, 400, "InvalidBucketAclWithObjectOwnership",
                  "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting");
    return false;
}

/* An AccessControlPolicy body: accepted only if it grants exactly the owner's FULL_CONTROL. */
static bool body_owner_only(s3_op *op, const char *owner) {
    s3_acl acl;
    s3_xml_error xe = {0};
    if (s3_xml_parse_acl(buf_slice(&op->req->body), &acl, &xe) != CL_OK) {
        aws_fault_set(&op->f, 400, xe.code ? xe.code : "MalformedACLError", "%s", xe.message);
        return false;
    }
    bool ok = acl.len >= 1 && (!acl.owner_id || strcmp(acl.owner_id, owner) == 0);
    for (size_t i = 0; ok && i < acl.len; i++) {
        const s3_acl_grant *g = &acl.grants[i];
        ok = g->id && !g->uri && !g->email && strcmp(g->id, owner) == 0 &&
             strcmp(g->permission, "FULL_CONTROL") == 0;
    }
    s3_acl_free(&acl);
    if (!ok) aws_fault_set(&op->f, 400, "AccessControlListNotSupported", MSG_NO_ACLS);
    return ok;
}

static void respond_acl(s3_op *op, const char *owner) {
    cl_buf *o = &op->resp->body;
    s3_xml_begin(op, "AccessControlPolicy");
    xml_open(o, "Owner");
    xml_text(o, "ID", owner);
    xml_text(o, "DisplayName", owner);
    xml_close(o, "Owner");
    xml_open(o, "AccessControlList");
    xml_open(o, "Grant");
    buf_append_cstr(o, "<Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
                       "xsi:type=\"CanonicalUser\">");
    xml_text(o, "ID", owner);
    xml_text(o, "DisplayName", owner);
    xml_close(o, "Grantee");
    xml_text(o, "Permission", "FULL_CONTROL");
    xml_close(o, "Grant");
    xml_close(o, "AccessControlList");
    s3_xml_end(op, "AccessControlPolicy");
}

/* PUT ?acl: headers, or else a body; either must say only "the owner, FULL_CONTROL". */
static bool put_acl_ok(s3_op *op) {
    const char *owner = bucket_owner(op);
    bool any;
    if (!headers_owner_only(op, owner, &any)) {
        aws_fault_set(&op->f, 400, "AccessControlListNotSupported", MSG_NO_ACLS);
        return false;
    }
    if (any) return true;
    if (slice_trim(buf_slice(&op->req->body)).len == 0) {
        aws_fault_set(&op->f, 400, "MissingSecurityHeader",
                      "Your request was missing a required header");
        return false;
    }
    return body_owner_only(op, owner);
}

static bool authorize(s3_op *op, const char *action, bool object) {
    char *arn = object ? s3_object_arn(op->bucket, op->key) : s3_bucket_arn(op->bucket);
    bool ok = s3_load_bucket(op) && s3_authorize(op, action, arn, NULL);
    free(arn);
    return ok;
}

void s3_bucket_acl(s3_op *op) {
    bool get = strcmp(op->req->method, "GET") == 0;
    if (!get && strcmp(op->req->method, "PUT") != 0) {
        aws_fault_set(&op->f, 405, "MethodNotAllowed",
                      "The specified method is not allowed against this resource.");
        return;
    }
    op->req->op = get ? "GetBucketAcl" : "PutBucketAcl";
    if (!authorize(op, get ? "s3:GetBucketAcl" : "s3:PutBucketAcl", false)) return;
    if (get)
        respond_acl(op, bucket_owner(op));
    else if (put_acl_ok(op))
        op->resp->status = 200;
}

/* The object (or, with ?versionId, that version: NoSuchVersion if unknown,
 * 405 for a delete marker, as GetObject) exists. */
static bool object_exists(s3_op *op, const char *vid) {
    if (vid) {
        json_t *d = s3_object_load_version(op, vid);
        json_decref(d);
        return d != NULL;
    }
    char *text = NULL;
    bool found = store_get(op->s->st, "object", op->bucket_id, op->key, &text) == CL_OK;
    free(text);
    if (!found) aws_fault_set(&op->f, 404, "NoSuchKey", "The specified key does not exist.");
    return found;
}

/* With ?versionId the ACL of that version: authorized as s3:GetObjectVersionAcl /
 * s3:PutObjectVersionAcl (AWS GetObjectAcl, PutObjectAcl). Every version has the
 * owner-only ACL, as the object does. */
void s3_object_acl(s3_op *op) {
    bool get = strcmp(op->req->method, "GET") == 0;
    if (!get && strcmp(op->req->method, "PUT") != 0) {
        aws_fault_set(&op->f, 405, "MethodNotAllowed",
                      "The specified method is not allowed against this resource.");
        return;
    }
    op->req->op = get ? "GetObjectAcl" : "PutObjectAcl";
    const char *vid = NULL;
    if (!s3_ver_query(op, &vid)) return;
    const char *action = get ? (vid ? "s3:GetObjectVersionAcl" : "s3:GetObjectAcl")
                             : (vid ? "s3:PutObjectVersionAcl" : "s3:PutObjectAcl");
    if (!authorize(op, action, true) || !object_exists(op, vid)) return;
    if (get)
        respond_acl(op, bucket_owner(op)); /* the bucket owner owns every object */
    else if (put_acl_ok(op))
        op->resp->status = 200;
}

/* ---- ownership controls ---- */

static void get_ownership(s3_op *op) {
    json_t *v = json_object_get(op->bucket_doc, "Ownership");
    const char *own = v ? json_string_value(v) : "BucketOwnerEnforced";
    if (!own || !*own) {
        aws_fault_set(&op->f, 404, "OwnershipControlsNotFoundError",
                      "The bucket ownership controls were not found");
        return;
    }
    cl_buf *o = &op->resp->body;
    s3_xml_begin(op, "OwnershipControls");
    xml_open(o, "Rule");
    xml_text(o, "ObjectOwnership", own);
    xml_close(o, "Rule");
    s3_xml_end(op, "OwnershipControls");
}

static void put_ownership(s3_op *op) {
    char *own = NULL;
    s3_xml_error xe = {0};
    if (!s3_check_body_digest(op, false)) return;
    if (s3_xml_parse_ownership(buf_slice(&op->req->body), &own, &xe) != CL_OK) {
        aws_fault_set(&op->f, 400, xe.code ? xe.code : "MalformedXML", "%s", xe.message);
        return;
    }
    if (strcmp(own, "BucketOwnerEnforced") != 0)
        aws_fault_set(&op->f, 501, "NotImplemented",
                      "Only the BucketOwnerEnforced object ownership is implemented: this "
                      "server does not support ACLs.");
    else if (s3_bucket_update(op, "Ownership", json_string(own)))
        op->resp->status = 200;
    free(own);
}

void s3_bucket_ownership_controls(s3_op *op) {
    const char *m = op->req->method;
    bool get = strcmp(m, "GET") == 0, put = strcmp(m, "PUT") == 0, del = strcmp(m, "DELETE") == 0;
    if (!get && !put && !del) {
        aws_fault_set(&op->f, 405, "MethodNotAllowed",
                      "The specified method is not allowed against this resource.");
        return;
    }
    op->req->op = get   ? "GetBucketOwnershipControls"
                  : put ? "PutBucketOwnershipControls"
                        : "DeleteBucketOwnershipControls";
    const char *action = get ? "s3:GetBucketOwnershipControls" : "s3:PutBucketOwnershipControls";
    if (!authorize(op, action, false)) return;
    if (get)
        get_ownership(op);
    else if (put)
        put_ownership(op);
    else if (s3_bucket_update(op, "Ownership", json_string("")))
        op->resp->status = 204;
}
