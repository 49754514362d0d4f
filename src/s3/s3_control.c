/* s3_control.c — the part of the S3 Control API (REST-XML, paths under
 * /v20180820/) that Cloister serves: the account-level Block Public Access,
 * Get/Put/DeletePublicAccessBlock on /v20180820/configuration/publicAccessBlock.
 *
 * AWS serves S3 Control on its own host (ACCOUNT.s3-control.REGION...); here
 * it shares the S3 endpoint and SigV4 service name "s3", so a request is
 * recognised by its path and its x-amz-account-id header together (a plain S3
 * request never carries that header, so a bucket named "v20180820" still
 * works), whatever its Host: the SDKs put the account id in front of the
 * endpoint's host, which must not be read as a virtual-host bucket.
 *
 * The setting is stored as kind account_pab, scope "", name the account id,
 * and is read with every bucket document (s3_bucket_cache.c) so the bucket's
 * effective setting, the OR of both levels, needs no extra lookup per request.
 * The XML shapes are the bucket level's (s3_xml.c parses, s3_pab_respond
 * writes), in S3 Control's namespace. */
#include "s3/s3_internal.h"

#include <stdlib.h>
#include <string.h>

#define CONTROL_PREFIX "/v20180820/"
#define PAB_PATH CONTROL_PREFIX "configuration/publicAccessBlock"

bool s3_is_control(const http_request *req) {
    return strncmp(req->path, CONTROL_PREFIX, strlen(CONTROL_PREFIX)) == 0 &&
           kvlist_get_ci(&req->headers, "x-amz-account-id") != NULL;
}

cl_err s3_account_pab_get(s3 *s, const char *account, s3_pab *out) {
    char *text = NULL;
    cl_err e = store_get(s->st, "account_pab", "", account, &text);
    json_t *j = e == CL_OK ? json_loads(text, 0, NULL) : NULL;
    free(text);
    if (e == CL_OK && !j) e = CL_ERR_INVALID;
    if (e == CL_OK) {
        *out = s3_pab_from_json(j);
    } else if (e == CL_ERR_NOT_FOUND) {
        *out = (s3_pab){0};
    } else {
        log_error("s3: account %s: Block Public Access unreadable (%s); blocking public access",
                  account, cl_err_str(e));
        *out = (s3_pab){true, true, true, true};
    }
    json_decref(j);
    return e;
}

static void put_account_pab(s3_op *op, const char *account) {
    s3_pab pab;
    s3_xml_error xe = {0};
    if (!s3_check_body_digest(op, false)) return;
    if (s3_xml_parse_control_public_access_block(buf_slice(&op->req->body), &pab, &xe) != CL_OK) {
        aws_fault_set(&op->f, 400, xe.code ? xe.code : "MalformedXML", "%s", xe.message);
        return;
    }
    json_t *j = s3_pab_to_json(pab);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    cl_err e = store_put(op->s->st, "account_pab", "", account, text);
    free(text);
    if (e != CL_OK) {
        aws_fault_set(&op->f, 500, "InternalError",
                      "could not store the public access block configuration");
        return;
    }
    op->resp->status = 200;
}

static void get_account_pab(s3_op *op, const char *account) {
    s3_pab pab;
    cl_err e = s3_account_pab_get(op->s, account, &pab);
    if (e == CL_ERR_NOT_FOUND)
        aws_fault_set(&op->f, 404, "NoSuchPublicAccessBlockConfiguration",
                      "The public access block configuration was not found");
    else if (e != CL_OK)
        aws_fault_set(&op->f, 500, "InternalError",
                      "could not read the public access block configuration");
    else
        s3_pab_respond(op, pab, S3_CONTROL_XML_NS);
}

static void delete_account_pab(s3_op *op, const char *account) {
    cl_err e = store_delete(op->s->st, "account_pab", "", account);
    if (e != CL_OK && e != CL_ERR_NOT_FOUND) {
        aws_fault_set(&op->f, 500, "InternalError",
                      "could not delete the public access block configuration");
        return;
    }
    op->resp->status = 200; /* S3 Control answers 200, with or without a setting */
}

/* The account named by x-amz-account-id must be the caller's own (AWS answers
 * AccessDenied otherwise), and the caller needs the action on "*" (these
 * actions have no resource type). DeletePublicAccessBlock is authorized as
 * s3:PutAccountPublicAccessBlock, as AWS documents. */
static void account_pab(s3_op *op) {
    const char *m = op->req->method;
    bool get = strcmp(m, "GET") == 0, put = strcmp(m, "PUT") == 0, del = strcmp(m, "DELETE") == 0;
    op->req->op = get   ? "GetAccountPublicAccessBlock"
                  : put ? "PutAccountPublicAccessBlock"
                  : del ? "DeleteAccountPublicAccessBlock"
                        : "AccountPublicAccessBlock";
    if (!get && !put && !del) {
        aws_fault_set(&op->f, 405, "MethodNotAllowed",
                      "The specified method is not allowed against this resource.");
        return;
    }
    const char *account = kvlist_get_ci(&op->req->headers, "x-amz-account-id");
    if (op->c->p.type == PRINCIPAL_ANONYMOUS || !op->c->account ||
        strcmp(account, op->c->account) != 0) {
        aws_fault_set(&op->f, 403, "AccessDenied", "Access Denied");
        return;
    }
    const char *action = get ? "s3:GetAccountPublicAccessBlock" : "s3:PutAccountPublicAccessBlock";
    if (!s3_authorize(op, action, "*", NULL)) return;
    if (get)
        get_account_pab(op, account);
    else if (put)
        put_account_pab(op, account);
    else
        delete_account_pab(op, account);
}

void s3_control_handle(s3 *s, const iam_caller *c, http_request *req, http_response *resp) {
    s3_op op = {.s = s, .c = c, .req = req, .resp = resp}; /* no bucket: nothing to address */
    if (strcmp(req->path, PAB_PATH) == 0) {
        account_pab(&op);
    } else {
        req->op = "S3Control";
        aws_fault_set(&op.f, 501, "NotImplemented",
                      "This S3 Control operation is not implemented; only the account's "
                      "PublicAccessBlock is.");
    }
    if (op.f.code) s3_respond_fault(&op);
    s3_op_free(&op);
}
