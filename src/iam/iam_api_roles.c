/* iam_api_roles.c — IAM roles (with their trust policies) and customer managed
 * policies. A role's AssumeRolePolicyDocument is validated as a resource policy
 * (it must name a Principal); managed policy documents as identity policies. */
#include "iam/iam_internal.h"

#include <stdlib.h>
#include <string.h>

static char *role_arn(const char *account, const char *path, const char *name) {
    return cl_sprintf("arn:aws:iam::%s:role%s%s", account, path ? path : "/", name);
}

static void xml_role(cl_buf *b, json_t *r) {
    xml_text(b, "Path", iam_str(r, "Path"));
    xml_text(b, "RoleName", iam_str(r, "RoleName"));
    xml_text(b, "RoleId", iam_str(r, "RoleId"));
    xml_text(b, "Arn", iam_str(r, "Arn"));
    xml_text(b, "CreateDate", iam_str(r, "CreateDate"));
    iam_xml_policy_doc(b, "AssumeRolePolicyDocument", iam_str(r, "AssumeRolePolicyDocument"));
    if (*iam_str(r, "Description")) xml_text(b, "Description", iam_str(r, "Description"));
    xml_textf(b, "MaxSessionDuration", "%lld",
              (long long)json_integer_value(json_object_get(r, "MaxSessionDuration")));
}

static bool parse_max_session(iam_op *op, json_int_t *out) {
    const char *v = iam_param(op->params, "MaxSessionDuration");
    uint64_t n = 3600;
    if (v && (slice_to_u64(slice_cstr(v), &n) != CL_OK || n < 3600 || n > 43200)) {
        aws_fault_set(
            op->f, 400, "ValidationError",
            "1 validation error detected: Value '%.20s' at 'maxSessionDuration' failed to "
            "satisfy constraint: Member must have value between 3600 and 43200",
            v);
        return false;
    }
    *out = (json_int_t)n;
    return true;
}

/* The trust policy as stored: users and roles by unique ID (principals.c);
 * MalformedPolicyDocument naming the first one that does not exist. */
static cl_err bind_trust(iam_op *op, const char *trust, char **stored) {
    char *bad = NULL;
    cl_err e = iam_policy_bind_principals(op->m, trust, stored, &bad);
    if (e != CL_OK)
        aws_fault_set(op->f, 400, "MalformedPolicyDocument",
                      "Invalid principal in policy: \"AWS\":\"%.200s\"", bad ? bad : "");
    free(bad);
    return e;
}

cl_err iam_op_create_role(iam_op *op) {
    const char *name, *trust, *path = iam_param(op->params, "Path");
    json_int_t max_session;
    if (!iam_require(op->params, "RoleName", &name, op->f) ||
        !iam_valid_name(op, "RoleName", name, 64) ||
        !iam_require(op->params, "AssumeRolePolicyDocument", &trust, op->f) ||
        !parse_max_session(op, &max_session))
        return CL_ERR_INVALID;
    const char *d = iam_param(op->params, "Description");
    if (d && !iam_valid_text(op, "Description", d, 1000)) return CL_ERR_INVALID;
    if (!path) path = "/";
    char *arn = role_arn(op->c->account, path, name);
    cl_err e = iam_op_authorize(op, NULL, arn);
    char *stored = NULL;
    if (e == CL_OK) e = iam_check_policy(trust, POLICY_TRUST, op->f);
    if (e == CL_OK) e = bind_trust(op, trust, &stored);
    if (e != CL_OK) {
        free(arn);
        return e;
    }
    char id[22], ts[21];
    iam_new_id(id, sizeof id, "AROA", 17);
    time_format_iso8601(time_now(), ts);
    const char *desc = iam_param(op->params, "Description");
    json_t *r =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s}", "RoleName", name, "RoleId", id, "Arn",
                  arn, "Path", path, "CreateDate", ts, "AssumeRolePolicyDocument", stored,
                  "MaxSessionDuration", max_session, "Description", desc ? desc : "");
    free(arn);
    free(stored);
    char *key = iam_lower(name);
    e = iam_doc_put(op->m, "role", op->c->account, key, r, true);
    free(key);
    if (e == CL_ERR_EXISTS)
        aws_fault_set(op->f, 409, "EntityAlreadyExists", "Role with name %s already exists.", name);
    if (e == CL_OK) {
        iam_role_doc_render(op->m, r);
        iam_op_begin(op);
        xml_open(op->out, "Role");
        xml_role(op->out, r);
        xml_close(op->out, "Role");
    }
    json_decref(r);
    return e;
}

/* Loads RoleName's role after authorizing the operation on its ARN. */
static json_t *authorized_role(iam_op *op, const char **name_out) {
    const char *name;
    if (!iam_require(op->params, "RoleName", &name, op->f) ||
        !iam_valid_name(op, "RoleName", name, 64))
        return NULL;
    char *key = iam_lower(name);
    json_t *r = iam_doc_get(op->m, "role", op->c->account, key);
    free(key);
    char *arn = r ? cl_strdup(iam_str(r, "Arn")) : role_arn(op->c->account, "/", name);
    cl_err e = iam_op_authorize(op, NULL, arn);
    free(arn);
    if (e != CL_OK) {
        json_decref(r);
        return NULL;
    }
    if (!r)
        aws_fault_set(op->f, 404, "NoSuchEntity", "The role with name %s cannot be found.", name);
    if (name_out) *name_out = name;
    return r;
}

cl_err iam_op_get_role(iam_op *op) {
    json_t *r = authorized_role(op, NULL);
    if (!r) return CL_ERR_NOT_FOUND;
    iam_role_doc_render(op->m, r);
    iam_op_begin(op);
    xml_open(op->out, "Role");
    xml_role(op->out, r);
    xml_close(op->out, "Role");
    json_decref(r);
    return CL_OK;
}

cl_err iam_op_list_roles(iam_op *op) {
    char *res = cl_sprintf("arn:aws:iam::%s:role/", op->c->account);
    cl_err e = iam_list_entities(op, "role", "Roles", xml_role, res);
    free(res);
    return e;
}

cl_err iam_op_delete_role(iam_op *op) {
    const char *name;
    json_t *r = authorized_role(op, &name);
    if (!r) return CL_ERR_NOT_FOUND;
    json_decref(r);
    char *scope = iam_scope2(op->c->account, name);
    size_t n_inline = 0, n_attached = 0;
    store_count(op->m->st, "role_policy", scope, &n_inline);
    store_count(op->m->st, "role_attach", scope, &n_attached);
    free(scope);
    if (n_inline || n_attached) {
        aws_fault_set(op->f, 409, "DeleteConflict", "Cannot delete entity, must %s first.",
                      n_inline ? "delete policies" : "detach all policies");
        return CL_ERR_CONFLICT;
    }
    char *key = iam_lower(name);
    cl_err e = store_delete(op->m->st, "role", op->c->account, key);
    free(key);
    if (e == CL_OK) iam_op_empty(op);
    return e;
}

/* Sets `fields` (stolen) in the stored role `r` came from (one read-modify-write;
 * a role deleted or re-created meanwhile is NoSuchEntity). Frees r. */
static cl_err save_role(iam_op *op, const char *name, json_t *r, json_t *fields) {
    char *key = iam_lower(name);
    cl_err e = iam_doc_merge(op->m, "role", op->c->account, key, r, "RoleId", fields);
    free(key);
    json_decref(r);
    if (e == CL_ERR_NOT_FOUND)
        aws_fault_set(op->f, 404, "NoSuchEntity", "The role with name %s cannot be found.", name);
    return e;
}

cl_err iam_op_update_role(iam_op *op) {
    const char *name, *desc = iam_param(op->params, "Description");
    json_int_t max_session = 0;
    if (iam_param(op->params, "MaxSessionDuration") && !parse_max_session(op, &max_session))
        return CL_ERR_INVALID;
    if (desc && !iam_valid_text(op, "Description", desc, 1000)) return CL_ERR_INVALID;
    json_t *r = authorized_role(op, &name);
    if (!r) return CL_ERR_NOT_FOUND;
    json_t *fields = json_object();
    if (max_session) json_object_set_new(fields, "MaxSessionDuration", json_integer(max_session));
    if (desc) json_object_set_new(fields, "Description", json_string(desc));
    CL_TRY(save_role(op, name, r, fields));
    iam_op_begin(op); /* UpdateRoleResult is empty */
    return CL_OK;
}

cl_err iam_op_update_assume_role_policy(iam_op *op) {
    const char *name, *doc;
    if (!iam_require(op->params, "PolicyDocument", &doc, op->f)) return CL_ERR_INVALID;
    json_t *r = authorized_role(op, &name);
    if (!r) return CL_ERR_NOT_FOUND;
    char *stored = NULL;
    if (iam_check_policy(doc, POLICY_TRUST, op->f) != CL_OK ||
        bind_trust(op, doc, &stored) != CL_OK) {
        json_decref(r);
        return CL_ERR_INVALID;
    }
    json_t *fields = json_pack("{s:s}", "AssumeRolePolicyDocument", stored);
    free(stored);
    CL_TRY(save_role(op, name, r, fields));
    iam_op_empty(op);
    return CL_OK;
}

/* ---- customer managed policies ---- */

static void xml_policy(cl_buf *b, json_t *p) {
    xml_text(b, "PolicyName", iam_str(p, "PolicyName"));
    xml_text(b, "PolicyId", iam_str(p, "PolicyId"));
    xml_text(b, "Arn", iam_str(p, "Arn"));
    xml_text(b, "Path", iam_str(p, "Path"));
    xml_text(b, "DefaultVersionId", "v1");
    xml_textf(b, "AttachmentCount", "%lld",
              (long long)json_integer_value(json_object_get(p, "AttachmentCount")));
    xml_text(b, "PermissionsBoundaryUsageCount", "0");
    xml_text(b, "IsAttachable", "true");
    if (*iam_str(p, "Description")) xml_text(b, "Description", iam_str(p, "Description"));
    xml_text(b, "CreateDate", iam_str(p, "CreateDate"));
    xml_text(b, "UpdateDate", iam_str(p, "CreateDate"));
}

cl_err iam_op_create_policy(iam_op *op) {
    const char *name, *doc, *path = iam_param(op->params, "Path");
    if (!iam_require(op->params, "PolicyName", &name, op->f) ||
        !iam_valid_name(op, "PolicyName", name, 128) ||
        !iam_require(op->params, "PolicyDocument", &doc, op->f))
        return CL_ERR_INVALID;
    const char *d = iam_param(op->params, "Description");
    if (d && !iam_valid_text(op, "Description", d, 1000)) return CL_ERR_INVALID;
    if (!path) path = "/";
    char *arn = cl_sprintf("arn:aws:iam::%s:policy%s%s", op->c->account, path, name);
    cl_err e = iam_op_authorize(op, NULL, arn);
    if (e == CL_OK) e = iam_check_policy(doc, POLICY_IDENTITY, op->f);
    if (e != CL_OK) {
        free(arn);
        return e;
    }
    char id[22], ts[21];
    iam_new_id(id, sizeof id, "ANPA", 17);
    time_format_iso8601(time_now(), ts);
    const char *desc = iam_param(op->params, "Description");
    json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s}", "PolicyName", name,
                          "PolicyId", id, "Arn", arn, "Path", path, "Document", doc, "CreateDate",
                          ts, "AttachmentCount", 0, "Description", desc ? desc : "");
    free(arn);
    char *key = iam_lower(name);
    e = iam_doc_put(op->m, "policy", op->c->account, key, p, true);
    free(key);
    if (e == CL_ERR_EXISTS)
        aws_fault_set(op->f, 409, "EntityAlreadyExists",
                      "A policy called %s already exists. Duplicate names are not allowed.", name);
    if (e == CL_OK) {
        iam_op_begin(op);
        xml_open(op->out, "Policy");
        xml_policy(op->out, p);
        xml_close(op->out, "Policy");
    }
    json_decref(p);
    return e;
}

json_t *iam_managed_policy(iam_op *op, const char *arn, char **key_out) {
    const char *builtin = iam_builtin_policy(arn);
    if (builtin) {
        const char *name = strrchr(arn, '/') + 1;
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i}", "PolicyName", name, "PolicyId",
                         "ANPAAWSMANAGEDPOLICY", "Arn", arn, "Path", "/", "Document", builtin,
                         "CreateDate", "2015-02-06T18:39:46Z", "AttachmentCount", 0);
    }
    aws_arn a;
    json_t *p = NULL;
    if (arn_parse(arn, &a) == CL_OK) {
        const char *slash = strrchr(a.resource, '/');
        if (strcmp(a.account, op->c->account) == 0 && strncmp(a.resource, "policy/", 7) == 0 &&
            slash) {
            char *key = iam_lower(slash + 1);
            p = iam_doc_get(op->m, "policy", a.account, key);
            if (p && strcmp(iam_str(p, "Arn"), arn) != 0) json_decref(p), p = NULL;
            if (p && key_out)
                *key_out = key;
            else
                free(key);
        }
        arn_free(&a);
    }
    if (!p)
        aws_fault_set(op->f, 404, "NoSuchEntity",
                      "Policy %.256s does not exist or is not attachable.", arn);
    return p;
}

cl_err iam_op_get_policy(iam_op *op) {
    const char *arn;
    if (!iam_require(op->params, "PolicyArn", &arn, op->f)) return CL_ERR_INVALID;
    CL_TRY(iam_op_authorize(op, NULL, arn));
    json_t *p = iam_managed_policy(op, arn, NULL);
    if (!p) return CL_ERR_NOT_FOUND;
    iam_op_begin(op);
    xml_open(op->out, "Policy");
    xml_policy(op->out, p);
    xml_close(op->out, "Policy");
    json_decref(p);
    return CL_OK;
}

cl_err iam_op_get_policy_version(iam_op *op) {
    const char *arn, *version;
    if (!iam_require(op->params, "PolicyArn", &arn, op->f) ||
        !iam_require(op->params, "VersionId", &version, op->f))
        return CL_ERR_INVALID;
    CL_TRY(iam_op_authorize(op, NULL, arn));
    json_t *p = iam_managed_policy(op, arn, NULL);
    if (!p) return CL_ERR_NOT_FOUND;
    if (strcmp(version, "v1") != 0) {
        json_decref(p);
        aws_fault_set(op->f, 404, "NoSuchEntity",
                      "Policy %.256s version %.16s does not exist or is not attachable.", arn,
                      version);
        return CL_ERR_NOT_FOUND;
    }
    iam_op_begin(op);
    xml_open(op->out, "PolicyVersion");
    iam_xml_policy_doc(op->out, "Document", iam_str(p, "Document"));
    xml_text(op->out, "VersionId", "v1");
    xml_text(op->out, "IsDefaultVersion", "true");
    xml_text(op->out, "CreateDate", iam_str(p, "CreateDate"));
    xml_close(op->out, "PolicyVersion");
    json_decref(p);
    return CL_OK;
}

typedef struct {
    iam_op *op;
    const char *key;
} policy_delete;

/* The attachment count is read again inside the transaction, so an attachment
 * that committed meanwhile (attach_run, one transaction too) is seen. */
static cl_err delete_unattached(store *st, void *arg) {
    policy_delete *d = arg;
    json_t *p = iam_doc_get(d->op->m, "policy", d->op->c->account, d->key);
    if (!p) return CL_ERR_NOT_FOUND;
    json_int_t attached = json_integer_value(json_object_get(p, "AttachmentCount"));
    json_decref(p);
    if (attached > 0) return CL_ERR_CONFLICT;
    return store_delete(st, "policy", d->op->c->account, d->key);
}

cl_err iam_op_delete_policy(iam_op *op) {
    const char *arn;
    char *key = NULL;
    if (!iam_require(op->params, "PolicyArn", &arn, op->f)) return CL_ERR_INVALID;
    CL_TRY(iam_op_authorize(op, NULL, arn));
    json_t *p = iam_builtin_policy(arn) ? NULL : iam_managed_policy(op, arn, &key);
    if (!p) {
        if (iam_builtin_policy(arn))
            aws_fault_set(op->f, 400, "InvalidInput", "AWS managed policies cannot be deleted.");
        return CL_ERR_NOT_FOUND;
    }
    json_decref(p);
    policy_delete d = {op, key};
    cl_err e = store_txn(op->m->st, delete_unattached, &d);
    if (e == CL_ERR_CONFLICT)
        aws_fault_set(op->f, 409, "DeleteConflict", "Cannot delete a policy attached to entities.");
    else if (e == CL_ERR_NOT_FOUND)
        aws_fault_set(op->f, 404, "NoSuchEntity",
                      "Policy %.256s does not exist or is not attachable.", arn);
    free(key);
    if (e == CL_OK) iam_op_empty(op);
    return e;
}

typedef struct {
    cl_buf *out;
    bool only_attached;
    const char *path_prefix;
    iam_page page;
} policy_list;

static bool emit_policy(void *arg, const char *name, const char *text) {
    policy_list *l = arg;
    json_t *p = json_loads(text, 0, NULL);
    const char *path = p ? iam_str(p, "Path") : "";
    bool go_on = true;
    if (p && (!l->only_attached || json_integer_value(json_object_get(p, "AttachmentCount")) > 0) &&
        (!l->path_prefix || strncmp(path, l->path_prefix, strlen(l->path_prefix)) == 0) &&
        (go_on = iam_page_take(&l->page, name))) {
        xml_open(l->out, "member");
        xml_policy(l->out, p);
        xml_close(l->out, "member");
    }
    json_decref(p);
    return go_on;
}

cl_err iam_op_list_policies(iam_op *op) {
    size_t max;
    const char *marker, *scope = iam_param(op->params, "Scope");
    CL_TRY(iam_paging(op, &max, &marker));
    char *res = cl_sprintf("arn:aws:iam::%s:policy/", op->c->account);
    cl_err e = iam_op_authorize(op, NULL, res);
    free(res);
    CL_TRY(e);
    const char *oa = iam_param(op->params, "OnlyAttached");
    policy_list l = {op->out,
                     oa && strcmp(oa, "true") == 0,
                     iam_param(op->params, "PathPrefix"),
                     {max, false, NULL}};
    iam_op_begin(op);
    xml_open(op->out, "Policies");
    if (!scope || strcmp(scope, "AWS") != 0)
        e = store_list(op->m->st, "policy", op->c->account, NULL, marker, 0, emit_policy, &l, NULL);
    xml_close(op->out, "Policies");
    iam_xml_truncation(op->out, l.page.more, l.page.last);
    free(l.page.last);
    return e;
}
