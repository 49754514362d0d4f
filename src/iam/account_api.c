/* account_api.c — the `cloister` service (JSON 1.1 protocol, X-Amz-Target
 * "Cloister.<Operation>"): operations AWS has no API for. CreateAccount makes a
 * new account with an admin user, ListAccounts lists them, ResetAdminKey gives
 * an account's admin user a new access key and deletes its old ones; only
 * principals of the first (operator) account whose policies allow
 * cloister:<Operation> may call them. */
#include "iam/iam_internal.h"

#include <stdlib.h>
#include <string.h>

static void json_respond(http_response *r, json_t *body) {
    char *s = json_dumps(body, JSON_COMPACT);
    buf_append_cstr(&r->body, s);
    cl_free_secret(s);
    r->status = 200;
    http_set_header(r, "Content-Type", "application/x-amz-json-1.1");
}

static bool valid_account_name(const char *s) {
    size_t n = strlen(s);
    if (n < 1 || n > 50) return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return false;
    return true;
}

/* The operator's operations: a principal of the first account whose policies
 * allow `action` on arn:aws:cloister::FIRST:account/<what>. */
static cl_err operator_authorize(iam *m, const iam_caller *c, http_request *req, const char *action,
                                 const char *what, aws_fault *f) {
    if (!m->root_account[0] || !c->account || strcmp(c->account, m->root_account) != 0) {
        aws_fault_set(f, 403, "AccessDeniedException",
                      "Only principals of the first account (%s) may manage accounts.",
                      m->root_account);
        return CL_ERR_DENIED;
    }
    char *res = cl_sprintf("arn:aws:cloister::%s:account/%s", m->root_account, what);
    iam_authz a = {.action = action, .resource = res, .resource_account = c->account};
    policy_decision d = iam_authorize(m, c, req, &a, f);
    free(res);
    if (d == POLICY_ALLOW) return CL_OK;
    f->code = "AccessDeniedException";
    return CL_ERR_DENIED;
}

static cl_err create_account(iam *m, const iam_caller *c, http_request *req, json_t *in,
                             http_response *resp, aws_fault *f) {
    const char *name = json_string_value(json_object_get(in, "AccountName"));
    if (!name || !valid_account_name(name)) {
        aws_fault_set(f, 400, "ValidationException",
                      "AccountName is required: 1 to 50 printable characters.");
        return CL_ERR_INVALID;
    }
    CL_TRY(operator_authorize(m, c, req, "cloister:CreateAccount", name, f));
    iam_new_account na;
    CL_TRY(iam_create_account(m, name, &na, f));
    json_t *out = json_pack("{s:s, s:s, s:s, s:s, s:s}", "AccountId", na.account_id, "AccountName",
                            name, "UserName", "admin", "AccessKeyId", na.access_key_id,
                            "SecretAccessKey", na.secret);
    cl_free_secret(na.secret);
    json_respond(resp, out);
    json_decref(out);
    log_info("account: %s created account %s (%s)", c->arn, na.account_id, name);
    return CL_OK;
}

static cl_err list_accounts(iam *m, const iam_caller *c, http_request *req, http_response *resp,
                            aws_fault *f) {
    CL_TRY(operator_authorize(m, c, req, "cloister:ListAccounts", "*", f));
    json_t *list = NULL;
    CL_TRY(iam_list_accounts(m, &list));
    json_t *out = json_pack("{s:o}", "Accounts", list);
    json_respond(resp, out);
    json_decref(out);
    return CL_OK;
}

/* Account (ID or name) -> a new key for its admin user; the old keys are deleted. */
static cl_err reset_admin_key(iam *m, const iam_caller *c, http_request *req, json_t *in,
                              http_response *resp, aws_fault *f) {
    const char *name = json_string_value(json_object_get(in, "Account"));
    if (!name || !valid_account_name(name)) {
        aws_fault_set(f, 400, "ValidationException",
                      "Account is required: the account's 12-digit ID or its name.");
        return CL_ERR_INVALID;
    }
    char acct[13] = "";
    bool found = iam_account_resolve(m, name, acct) == CL_OK;
    CL_TRY(operator_authorize(m, c, req, "cloister:ResetAdminKey", found ? acct : name, f));
    if (!found) {
        aws_fault_set(f, 404, "ResourceNotFoundException", "No account %.50s.", name);
        return CL_ERR_NOT_FOUND;
    }
    iam_new_account na;
    size_t deleted = 0;
    CL_TRY(iam_reset_admin_key(m, acct, &na, &deleted, f));
    json_t *out = json_pack("{s:s, s:s, s:s, s:s, s:i}", "AccountId", acct, "UserName", "admin",
                            "AccessKeyId", na.access_key_id, "SecretAccessKey", na.secret,
                            "DeletedAccessKeys", (json_int_t)deleted);
    cl_free_secret(na.secret);
    json_respond(resp, out);
    json_decref(out);
    log_info("account: %s reset the admin key of account %s (%zu old keys deleted)", c->arn, acct,
             deleted);
    return CL_OK;
}

void cloister_api_handle(iam *m, const iam_caller *c, http_request *req, http_response *resp) {
    aws_fault f = {0};
    const char *target = kvlist_get_ci(&req->headers, "X-Amz-Target");
    json_t *in = aws_json_parse(buf_slice(&req->body), NULL, 0);
    cl_err e = CL_ERR_INVALID;
    if (!target || strncmp(target, "Cloister.", 9) != 0) {
        aws_fault_set(&f, 400, "UnknownOperationException", "Missing or unknown X-Amz-Target");
    } else if (!json_is_object(in)) {
        aws_fault_set(&f, 400, "SerializationException", "Request body is not a JSON object");
    } else if (strcmp(target + 9, "CreateAccount") == 0) {
        req->op = "CreateAccount";
        e = create_account(m, c, req, in, resp, &f);
    } else if (strcmp(target + 9, "ListAccounts") == 0) {
        req->op = "ListAccounts";
        e = list_accounts(m, c, req, resp, &f);
    } else if (strcmp(target + 9, "ResetAdminKey") == 0) {
        req->op = "ResetAdminKey";
        e = reset_admin_key(m, c, req, in, resp, &f);
    } else {
        aws_fault_set(&f, 400, "UnknownOperationException", "Unknown operation %.64s", target + 9);
    }
    json_decref(in);
    if (e != CL_OK) {
        if (!f.code) aws_fault_set(&f, 500, "InternalFailure", "internal error: %s", cl_err_str(e));
        aws_error(resp, AWS_SHAPE_JSON, NULL, f.status, f.code, f.message, req->request_id);
    }
}
