/* iam_api.c — the IAM Query API: request dispatch, the helpers every operation
 * shares (authorization, name validation, paging, XML pieces) and the user and
 * access-key operations. Roles and managed policies are in iam_api_roles.c,
 * inline and attached policies of users and roles in iam_api_policies.c. */
#include "iam/iam_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- shared helpers ---- */

const char *iam_param(const cl_kvlist *params, const char *name) {
    return kvlist_get(params, name);
}

bool iam_require(const cl_kvlist *params, const char *name, const char **out, aws_fault *f) {
    *out = kvlist_get(params, name);
    if (*out) return true;
    aws_fault_set(f, 400, "ValidationError",
                  "1 validation error detected: Value null at '%c%s' failed to satisfy constraint: "
                  "Member must not be null",
                  tolower((unsigned char)name[0]), name + 1);
    return false;
}

void iam_respond_fault(http_response *r, const aws_fault *f, const char *xmlns, const char *rid) {
    aws_error(r, AWS_SHAPE_QUERY, xmlns, f->status, f->code, f->message, rid);
}

/* IAM's own condition keys, from the request's parameters: iam:PolicyARN for
 * the operations that attach or detach a managed policy (AWS's service
 * authorization reference lists it for exactly those). */
static void add_iam_keys(iam_op *op, const char *action, policy_ctx *ctx) {
    static const char *const POLICY_ARN_OPS[] = {"iam:AttachUserPolicy",
                                                 "iam:DetachUserPolicy",
                                                 "iam:AttachRolePolicy",
                                                 "iam:DetachRolePolicy",
                                                 "iam:AttachGroupPolicy",
                                                 "iam:DetachGroupPolicy",
                                                 NULL};
    const char *arn = iam_param(op->params, "PolicyArn");
    for (int i = 0; arn && POLICY_ARN_OPS[i]; i++)
        if (strcasecmp(action, POLICY_ARN_OPS[i]) == 0) policy_ctx_add(ctx, "iam:PolicyARN", arn);
}

static char *resource_account_of(const char *resource, const char *caller_account) {
    aws_arn a;
    char *acct = NULL;
    if (resource && arn_parse(resource, &a) == CL_OK) {
        if (strlen(a.account) == 12 && strspn(a.account, "0123456789") == 12)
            acct = cl_strdup(a.account);
        arn_free(&a);
    }
    return acct ? acct : cl_strdup(caller_account);
}

cl_err iam_op_authorize(iam_op *op, const char *full_action, const char *resource) {
    char *action = full_action ? cl_strdup(full_action) : cl_sprintf("iam:%s", op->action);
    policy_ctx *ctx = policy_ctx_new();
    add_iam_keys(op, action, ctx);
    /* The resource's own account: IAM has no resource policies, so a resource of
     * another account (a customer policy ARN of account B) is never allowed, as on
     * AWS (AccessDenied before any lookup). AWS-managed policies ("aws") and
     * non-ARN resources ("*") belong to the caller's view. */
    char *res_account = resource_account_of(resource, op->c->account);
    iam_authz a = {
        .action = action, .resource = resource, .resource_account = res_account, .ctx = ctx};
    policy_decision d = iam_authorize(op->m, op->c, op->req, &a, op->f);
    policy_ctx_free(ctx);
    free(action);
    free(res_account);
    return d == POLICY_ALLOW ? CL_OK : CL_ERR_DENIED;
}

bool iam_valid_name(iam_op *op, const char *param, const char *value, size_t max) {
    size_t n = strlen(value);
    bool ok = n >= 1 && n <= max;
    for (size_t i = 0; ok && i < n; i++)
        ok = isalnum((unsigned char)value[i]) || strchr("_+=,.@-", value[i]) != NULL;
    if (!ok)
        aws_fault_set(op->f, 400, "ValidationError",
                      "1 validation error detected: Value '%.64s' at '%c%s' failed to satisfy "
                      "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+ "
                      "and have length between 1 and %zu",
                      value, tolower((unsigned char)param[0]), param + 1, max);
    return ok;
}

bool iam_valid_text(iam_op *op, const char *param, const char *value, size_t max) {
    cl_slice s = slice_cstr(value);
    size_t n = 0;
    bool ok = true;
    for (size_t i = 0; ok && i < s.len; n++) {
        int32_t cp = utf8_next(s, &i);
        ok = cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0x7E) ||
             (cp >= 0xA1 && cp <= 0xFF);
    }
    if (ok && n <= max) return true;
    aws_fault_set(
        op->f, 400, "ValidationError",
        "1 validation error detected: Value at '%c%s' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: "
        "[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]* and have length at most %zu",
        tolower((unsigned char)param[0]), param + 1, max);
    return false;
}

cl_err iam_paging(iam_op *op, size_t *max_items, const char **marker) {
    const char *mi = iam_param(op->params, "MaxItems");
    uint64_t v = 100;
    if (mi && (slice_to_u64(slice_cstr(mi), &v) != CL_OK || v < 1 || v > 1000)) {
        aws_fault_set(op->f, 400, "ValidationError",
                      "1 validation error detected: Value '%.20s' at 'maxItems' failed to satisfy "
                      "constraint: Member must have value between 1 and 1000",
                      mi);
        return CL_ERR_INVALID;
    }
    *max_items = (size_t)v;
    *marker = iam_param(op->params, "Marker");
    return CL_OK;
}

bool iam_page_take(iam_page *pg, const char *name) {
    if (pg->left == 0) {
        pg->more = true;
        return false;
    }
    pg->left--;
    free(pg->last);
    pg->last = cl_strdup(name);
    return true;
}

void iam_xml_truncation(cl_buf *b, bool more, const char *last_key) {
    xml_text(b, "IsTruncated", more ? "true" : "false");
    if (more && last_key) xml_text(b, "Marker", last_key);
}

void iam_xml_policy_doc(cl_buf *b, const char *tag, const char *doc) {
    cl_buf enc = CL_BUF_INIT;
    url_encode_aws(&enc, slice_cstr(doc), false);
    xml_text(b, tag, buf_cstr(&enc));
    buf_free(&enc);
}

/* A document that is a bare file name ("./p.json", "policy.json", "/tmp/x.json"):
 * the aws CLI sends the argument as is unless it says file://. */
static bool looks_like_path(const char *doc) {
    while (*doc == ' ' || *doc == '\t' || *doc == '\n' || *doc == '\r')
        doc++;
    size_t n = strlen(doc);
    if (n == 0 || n > 1024 || doc[0] == '{' || strpbrk(doc, " \t\r\n\"{}:") != NULL) return false;
    return doc[0] == '.' || doc[0] == '/' || doc[0] == '~' || strchr(doc, '/') != NULL ||
           (n > 5 && strcasecmp(doc + n - 5, ".json") == 0);
}

cl_err iam_check_policy(const char *doc, policy_kind kind, aws_fault *f) {
    if (looks_like_path(doc)) {
        const char *d = doc + strspn(doc, " \t\r\n");
        aws_fault_set(f, 400, "MalformedPolicyDocument",
                      "Syntax errors in policy. The policy document is a file name, not JSON: "
                      "did you mean file://%.256s?",
                      d);
        return CL_ERR_INVALID;
    }
    policy *p = NULL;
    char err[384] = "";
    if (policy_parse(slice_cstr(doc), kind, &p, err, sizeof err) != CL_OK) {
        aws_fault_set(f, 400, "MalformedPolicyDocument", "%s",
                      err[0] ? err : "Syntax errors in policy.");
        return CL_ERR_INVALID;
    }
    /* a key the server never supplies would make a Deny on it silently inert */
    const char *bad = policy_unsupported_key(p);
    if (bad)
        aws_fault_set(f, 400, "MalformedPolicyDocument", "Policy has an invalid condition key: %s",
                      bad);
    policy_free(p);
    return bad ? CL_ERR_INVALID : CL_OK;
}

void iam_op_begin(iam_op *op) {
    aws_query_begin(op->out, op->action, op->xmlns);
    op->result_open = true;
}

void iam_op_empty(iam_op *op) {
    aws_query_empty(op->out, op->action, op->xmlns, op->req->request_id);
}

/* ---- users ---- */

static void xml_user(cl_buf *b, json_t *u) {
    xml_text(b, "Path", iam_str(u, "Path"));
    xml_text(b, "UserName", iam_str(u, "UserName"));
    xml_text(b, "UserId", iam_str(u, "UserId"));
    xml_text(b, "Arn", iam_str(u, "Arn"));
    xml_text(b, "CreateDate", iam_str(u, "CreateDate"));
}

/* The user an operation is about: UserName, or the calling user when omitted. */
static const char *target_user(iam_op *op) {
    const char *name = iam_param(op->params, "UserName");
    if (name) return iam_valid_name(op, "UserName", name, 64) ? name : NULL;
    if (op->c->p.type == PRINCIPAL_USER && op->c->username) return op->c->username;
    aws_fault_set(op->f, 400, "ValidationError",
                  "Must specify userName when calling with non-User credentials");
    return NULL;
}

static char *user_arn(iam_op *op, const char *name, const char *path) {
    return cl_sprintf("arn:aws:iam::%s:user%s%s", op->c->account, path ? path : "/", name);
}

static bool valid_path(iam_op *op, const char *path) {
    size_t n = strlen(path);
    if (n >= 1 && n <= 512 && path[0] == '/' && path[n - 1] == '/') return true;
    aws_fault_set(op->f, 400, "ValidationError",
                  "The specified value for path is invalid. It must begin and end with / and "
                  "contain only alphanumeric characters and/or / characters.");
    return false;
}

static cl_err op_create_user(iam_op *op) {
    const char *name, *path = iam_param(op->params, "Path");
    if (!iam_require(op->params, "UserName", &name, op->f) ||
        !iam_valid_name(op, "UserName", name, 64))
        return CL_ERR_INVALID;
    if (path && !valid_path(op, path)) return CL_ERR_INVALID;
    char *arn = user_arn(op, name, path);
    cl_err e = iam_op_authorize(op, NULL, arn);
    free(arn);
    CL_TRY(e);
    json_t *u = NULL;
    CL_TRY(iam_user_create(op->m, op->c->account, name, path ? path : "/", &u, op->f));
    iam_op_begin(op);
    xml_open(op->out, "User");
    xml_user(op->out, u);
    xml_close(op->out, "User");
    json_decref(u);
    return CL_OK;
}

/* Loads the target user and authorizes the operation on its ARN. */
static json_t *authorized_user(iam_op *op, const char *name) {
    json_t *u = NULL;
    char *key = iam_lower(name);
    u = iam_doc_get(op->m, "user", op->c->account, key);
    free(key);
    char *arn = u ? cl_strdup(iam_str(u, "Arn")) : user_arn(op, name, "/");
    cl_err e = iam_op_authorize(op, NULL, arn); /* authorize first: no existence oracle */
    free(arn);
    if (e != CL_OK) {
        json_decref(u);
        return NULL;
    }
    if (!u)
        aws_fault_set(op->f, 404, "NoSuchEntity", "The user with name %s cannot be found.", name);
    return u;
}

static cl_err op_get_user(iam_op *op) {
    const char *name = target_user(op);
    if (!name) return CL_ERR_INVALID;
    json_t *u = authorized_user(op, name);
    if (!u) return CL_ERR_NOT_FOUND;
    iam_op_begin(op);
    xml_open(op->out, "User");
    xml_user(op->out, u);
    xml_close(op->out, "User");
    json_decref(u);
    return CL_OK;
}

typedef struct {
    cl_buf *out;
    const char *path_prefix;
    iam_page page;
    void (*emit)(cl_buf *, json_t *);
    iam *m;
} list_ctx;

static bool list_emit(void *arg, const char *name, const char *text) {
    list_ctx *l = arg;
    json_t *d = json_loads(text, 0, NULL);
    bool go_on = true;
    if (d &&
        (!l->path_prefix ||
         strncmp(iam_str(d, "Path"), l->path_prefix, strlen(l->path_prefix)) == 0) &&
        (go_on = iam_page_take(&l->page, name))) {
        xml_open(l->out, "member");
        iam_role_doc_render(l->m, d); /* roles: the trust policy as AWS shows it */
        l->emit(l->out, d);
        xml_close(l->out, "member");
    }
    json_decref(d);
    return go_on;
}

cl_err iam_list_entities(iam_op *op, const char *kind, const char *list_tag,
                         void (*emit)(cl_buf *, json_t *), const char *resource) {
    size_t max;
    const char *marker;
    CL_TRY(iam_paging(op, &max, &marker));
    CL_TRY(iam_op_authorize(op, NULL, resource));
    iam_op_begin(op);
    xml_open(op->out, list_tag);
    list_ctx l = {op->out, iam_param(op->params, "PathPrefix"), {max, false, NULL}, emit, op->m};
    cl_err e = store_list(op->m->st, kind, op->c->account, NULL, marker, 0, list_emit, &l, NULL);
    xml_close(op->out, list_tag);
    iam_xml_truncation(op->out, l.page.more, l.page.last);
    free(l.page.last);
    return e;
}

static cl_err op_list_users(iam_op *op) {
    char *res = cl_sprintf("arn:aws:iam::%s:user/", op->c->account);
    cl_err e = iam_list_entities(op, "user", "Users", xml_user, res);
    free(res);
    return e;
}

static bool scope_has_items(iam *m, const char *kind, const char *scope) {
    size_t n = 0;
    return store_count(m->st, kind, scope, &n) == CL_OK && n > 0;
}

static cl_err op_delete_user(iam_op *op) {
    const char *name;
    if (!iam_require(op->params, "UserName", &name, op->f) ||
        !iam_valid_name(op, "UserName", name, 64))
        return CL_ERR_INVALID;
    json_t *u = authorized_user(op, name);
    if (!u) return CL_ERR_NOT_FOUND;
    json_decref(u);
    char *scope = iam_scope2(op->c->account, name);
    /* AWS refuses DeleteUser while the user is in a group, has keys or policies */
    const char *what = scope_has_items(op->m, "user_group", scope) ? "remove user from all groups"
                       : scope_has_items(op->m, "user_key", scope) ? "delete access keys"
                       : scope_has_items(op->m, "user_policy", scope) ? "delete policies"
                       : scope_has_items(op->m, "user_attach", scope) ? "detach all policies"
                                                                      : NULL;
    free(scope);
    if (what) {
        aws_fault_set(op->f, 409, "DeleteConflict", "Cannot delete entity, must %s first.", what);
        return CL_ERR_CONFLICT;
    }
    char *key = iam_lower(name);
    cl_err e = store_delete(op->m->st, "user", op->c->account, key);
    free(key);
    if (e == CL_OK) iam_op_empty(op);
    return e;
}

/* ---- access keys ---- */

static void xml_key_meta(cl_buf *b, json_t *k) {
    xml_text(b, "UserName", iam_str(k, "UserName"));
    xml_text(b, "AccessKeyId", iam_str(k, "AccessKeyId"));
    xml_text(b, "Status", iam_str(k, "Status"));
    xml_text(b, "CreateDate", iam_str(k, "CreateDate"));
}

static cl_err op_create_access_key(iam_op *op) {
    const char *name = target_user(op);
    if (!name) return CL_ERR_INVALID;
    json_t *u = authorized_user(op, name);
    if (!u) return CL_ERR_NOT_FOUND;
    char *scope = iam_scope2(op->c->account, name);
    size_t n = 0;
    store_count(op->m->st, "user_key", scope, &n);
    free(scope);
    if (n >= 2) {
        json_decref(u);
        aws_fault_set(op->f, 409, "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2");
        return CL_ERR_TOO_LARGE;
    }
    json_t *k = NULL;
    cl_err e = iam_key_create(op->m, op->c->account, iam_str(u, "UserName"), &k, op->f);
    json_decref(u);
    CL_TRY(e);
    iam_op_begin(op);
    xml_open(op->out, "AccessKey");
    xml_key_meta(op->out, k);
    xml_text(op->out, "SecretAccessKey", iam_str(k, "Secret"));
    xml_close(op->out, "AccessKey");
    json_decref(k);
    return CL_OK;
}

typedef struct {
    iam *m;
    cl_buf *out;
    char *last;
} keys_ctx;

static bool emit_key(void *arg, const char *akid, const char *text) {
    (void)text;
    keys_ctx *k = arg;
    json_t *d = iam_doc_get(k->m, "access_key", "", akid);
    if (d) {
        xml_open(k->out, "member");
        xml_key_meta(k->out, d);
        xml_close(k->out, "member");
    }
    json_decref(d);
    free(k->last);
    k->last = cl_strdup(akid);
    return true;
}

static cl_err op_list_access_keys(iam_op *op) {
    size_t max;
    const char *marker, *name = target_user(op);
    if (!name) return CL_ERR_INVALID;
    CL_TRY(iam_paging(op, &max, &marker));
    json_t *u = authorized_user(op, name);
    if (!u) return CL_ERR_NOT_FOUND;
    char *scope = iam_scope2(op->c->account, name);
    iam_op_begin(op);
    xml_text(op->out, "UserName", iam_str(u, "UserName"));
    xml_open(op->out, "AccessKeyMetadata");
    keys_ctx k = {op->m, op->out, NULL};
    bool more = false;
    cl_err e = store_list(op->m->st, "user_key", scope, NULL, marker, max, emit_key, &k, &more);
    xml_close(op->out, "AccessKeyMetadata");
    iam_xml_truncation(op->out, more, k.last);
    free(k.last);
    free(scope);
    json_decref(u);
    return e;
}

/* The key named by AccessKeyId, if it belongs to the target user. */
static json_t *user_key(iam_op *op, const char **akid_out, char **scope_out) {
    const char *name = target_user(op), *akid;
    if (!name || !iam_require(op->params, "AccessKeyId", &akid, op->f)) return NULL;
    json_t *u = authorized_user(op, name);
    if (!u) return NULL;
    json_t *k = iam_doc_get(op->m, "access_key", "", akid);
    if (k && (strcmp(iam_str(k, "Account"), op->c->account) != 0 ||
              strcasecmp(iam_str(k, "UserName"), iam_str(u, "UserName")) != 0)) {
        json_decref(k);
        k = NULL;
    }
    json_decref(u);
    if (!k) {
        aws_fault_set(op->f, 404, "NoSuchEntity", "The Access Key with id %.40s cannot be found",
                      akid);
        return NULL;
    }
    *akid_out = akid;
    *scope_out = iam_scope2(op->c->account, name);
    return k;
}

static cl_err op_delete_access_key(iam_op *op) {
    const char *akid;
    char *scope = NULL;
    json_t *k = user_key(op, &akid, &scope);
    if (!k) return CL_ERR_NOT_FOUND;
    json_decref(k);
    cl_err e = store_delete(op->m->st, "access_key", "", akid);
    if (e == CL_OK) store_delete(op->m->st, "user_key", scope, akid);
    free(scope);
    if (e == CL_OK) iam_op_empty(op);
    return e;
}

static cl_err op_update_access_key(iam_op *op) {
    const char *status, *akid;
    if (!iam_require(op->params, "Status", &status, op->f)) return CL_ERR_INVALID;
    if (strcmp(status, "Active") != 0 && strcmp(status, "Inactive") != 0) {
        aws_fault_set(op->f, 400, "ValidationError",
                      "1 validation error detected: Value '%.20s' at 'status' failed to satisfy "
                      "constraint: Member must satisfy enum value set: [Active, Inactive]",
                      status);
        return CL_ERR_INVALID;
    }
    char *scope = NULL;
    json_t *k = user_key(op, &akid, &scope);
    free(scope);
    if (!k) return CL_ERR_NOT_FOUND;
    cl_err e = iam_doc_merge(op->m, "access_key", "", akid, k, "AccessKeyId",
                             json_pack("{s:s}", "Status", status));
    json_decref(k);
    if (e == CL_ERR_NOT_FOUND)
        aws_fault_set(op->f, 404, "NoSuchEntity", "The Access Key with id %.40s cannot be found",
                      akid);
    if (e == CL_OK) iam_op_empty(op);
    return e;
}

/* ---- dispatch ---- */

static const iam_op_entry OPS[] = {
    {"CreateUser", op_create_user},
    {"GetUser", op_get_user},
    {"ListUsers", op_list_users},
    {"DeleteUser", op_delete_user},
    {"CreateAccessKey", op_create_access_key},
    {"ListAccessKeys", op_list_access_keys},
    {"DeleteAccessKey", op_delete_access_key},
    {"UpdateAccessKey", op_update_access_key},
    {"CreateRole", iam_op_create_role},
    {"GetRole", iam_op_get_role},
    {"ListRoles", iam_op_list_roles},
    {"DeleteRole", iam_op_delete_role},
    {"UpdateRole", iam_op_update_role},
    {"UpdateAssumeRolePolicy", iam_op_update_assume_role_policy},
    {"CreatePolicy", iam_op_create_policy},
    {"GetPolicy", iam_op_get_policy},
    {"GetPolicyVersion", iam_op_get_policy_version},
    {"DeletePolicy", iam_op_delete_policy},
    {"ListPolicies", iam_op_list_policies},
    {"PutUserPolicy", iam_op_put_entity_policy},
    {"GetUserPolicy", iam_op_get_entity_policy},
    {"DeleteUserPolicy", iam_op_delete_entity_policy},
    {"ListUserPolicies", iam_op_list_entity_policies},
    {"PutRolePolicy", iam_op_put_entity_policy},
    {"GetRolePolicy", iam_op_get_entity_policy},
    {"DeleteRolePolicy", iam_op_delete_entity_policy},
    {"ListRolePolicies", iam_op_list_entity_policies},
    {"AttachUserPolicy", iam_op_attach_entity_policy},
    {"DetachUserPolicy", iam_op_detach_entity_policy},
    {"ListAttachedUserPolicies", iam_op_list_attached_entity_policies},
    {"AttachRolePolicy", iam_op_attach_entity_policy},
    {"DetachRolePolicy", iam_op_detach_entity_policy},
    {"ListAttachedRolePolicies", iam_op_list_attached_entity_policies},
};

void iam_query_dispatch(iam *m, const iam_caller *c, http_request *req, const cl_kvlist *params,
                        http_response *resp, const iam_op_entry *ops, size_t n_ops,
                        const char *xmlns, const char *version) {
    aws_fault f = {0};
    const char *action = kvlist_get(params, "Action");
    iam_op_fn fn = NULL;
    for (size_t i = 0; action && i < n_ops; i++)
        if (strcmp(ops[i].action, action) == 0) fn = ops[i].fn, req->op = ops[i].action;
    if (!fn) {
        if (action)
            aws_fault_set(&f, 400, "InvalidAction", "Could not find operation %.64s for version %s",
                          action, version);
        else
            aws_fault_set(&f, 400, "MissingAction", "Missing Action");
        iam_respond_fault(resp, &f, xmlns, req->request_id);
        return;
    }
    for (size_t i = 0; i < params->len; i++) {
        if (utf8_valid(slice_cstr(params->items[i].value))) continue;
        aws_fault_set(&f, 400, "ValidationError", "Parameter %.64s is not valid UTF-8.",
                      params->items[i].key);
        iam_respond_fault(resp, &f, xmlns, req->request_id);
        return;
    }
    iam_op op = {m, c, req, params, &resp->body, &f, req->op, xmlns, false};
    cl_err e = fn(&op);
    if (e == CL_OK) {
        if (op.result_open) aws_query_end(&resp->body, op.action, req->request_id);
        resp->status = 200;
        http_set_header(resp, "Content-Type", "text/xml");
        return;
    }
    buf_clear(&resp->body);
    if (!f.code) aws_fault_set(&f, 500, "ServiceFailure", "internal error: %s", cl_err_str(e));
    iam_respond_fault(resp, &f, xmlns, req->request_id);
}

static bool table_has(const iam_op_entry *ops, size_t n, const char *action) {
    for (size_t i = 0; action && i < n; i++)
        if (strcmp(ops[i].action, action) == 0) return true;
    return false;
}

void iam_api_handle(iam *m, const iam_caller *c, http_request *req, const cl_kvlist *params,
                    http_response *resp) {
    const char *action = kvlist_get(params, "Action");
    const iam_op_entry *ops = OPS;
    size_t n = sizeof OPS / sizeof OPS[0];
    if (table_has(IAM_GROUP_OPS, IAM_GROUP_OPS_LEN, action))
        ops = IAM_GROUP_OPS, n = IAM_GROUP_OPS_LEN;
    else if (table_has(IAM_ACCOUNT_OPS, IAM_ACCOUNT_OPS_LEN, action))
        ops = IAM_ACCOUNT_OPS, n = IAM_ACCOUNT_OPS_LEN;
    iam_query_dispatch(m, c, req, params, resp, ops, n, AWS_XMLNS_IAM, "2010-05-08");
}
