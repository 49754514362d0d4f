/* iam_api_policies.c — inline policies (Put/Get/Delete/List User|Role|GroupPolicy)
 * and managed-policy attachments (Attach/Detach/ListAttached User|Role|GroupPolicy).
 * Users, roles and groups behave the same here, so one implementation serves both: the action
 * name says which entity, and `entity` carries the differences. */
#include "iam/iam_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *param;       /* "UserName" / "RoleName" */
    const char *kind;        /* "user" / "role" */
    const char *inline_kind; /* "user_policy" / "role_policy" */
    const char *attach_kind; /* "user_attach" / "role_attach" */
    const char *label;       /* "user" / "role" in messages */
} entity;

static const entity USER = {"UserName", "user", "user_policy", "user_attach", "user"};
static const entity ROLE = {"RoleName", "role", "role_policy", "role_attach", "role"};
static const entity GROUP = {"GroupName", "group", "group_policy", "group_attach", "group"};

static const entity *entity_of(iam_op *op) {
    return strstr(op->action, "Role") ? &ROLE : strstr(op->action, "Group") ? &GROUP : &USER;
}

/* Authorizes the operation on the entity's ARN and returns its scope key
 * ("acct/lower(name)"), or NULL with the fault filled. */
static char *entity_scope(iam_op *op, const entity *en, const char **name_out) {
    const char *name;
    if (!iam_require(op->params, en->param, &name, op->f) ||
        !iam_valid_name(op, en->param, name, en == &GROUP ? 128 : 64))
        return NULL;
    char *key = iam_lower(name);
    json_t *d = iam_doc_get(op->m, en->kind, op->c->account, key);
    free(key);
    char *arn = d ? cl_strdup(iam_str(d, "Arn"))
                  : cl_sprintf("arn:aws:iam::%s:%s/%s", op->c->account, en->kind, name);
    cl_err e = iam_op_authorize(op, NULL, arn);
    free(arn);
    json_decref(d);
    if (e != CL_OK) return NULL;
    if (!d) {
        aws_fault_set(op->f, 404, "NoSuchEntity", "The %s with name %s cannot be found.", en->label,
                      name);
        return NULL;
    }
    *name_out = name;
    return iam_scope2(op->c->account, name);
}

cl_err iam_op_put_entity_policy(iam_op *op) {
    const entity *en = entity_of(op);
    const char *name, *pname, *doc;
    if (!iam_require(op->params, "PolicyName", &pname, op->f) ||
        !iam_valid_name(op, "PolicyName", pname, 128) ||
        !iam_require(op->params, "PolicyDocument", &doc, op->f))
        return CL_ERR_INVALID;
    CL_TRY(iam_check_policy(doc, POLICY_IDENTITY, op->f));
    char *scope = entity_scope(op, en, &name);
    if (!scope) return CL_ERR_NOT_FOUND;
    json_t *d = json_pack("{s:s, s:s}", "PolicyName", pname, "PolicyDocument", doc);
    cl_err e = iam_doc_put(op->m, en->inline_kind, scope, pname, d, false);
    json_decref(d);
    free(scope);
    if (e == CL_OK) iam_op_empty(op);
    return e;
}

cl_err iam_op_get_entity_policy(iam_op *op) {
    const entity *en = entity_of(op);
    const char *name, *pname;
    if (!iam_require(op->params, "PolicyName", &pname, op->f)) return CL_ERR_INVALID;
    char *scope = entity_scope(op, en, &name);
    if (!scope) return CL_ERR_NOT_FOUND;
    json_t *d = iam_doc_get(op->m, en->inline_kind, scope, pname);
    free(scope);
    if (!d) {
        aws_fault_set(op->f, 404, "NoSuchEntity", "The %s policy with name %.128s cannot be found.",
                      en->label, pname);
        return CL_ERR_NOT_FOUND;
    }
    iam_op_begin(op);
    xml_text(op->out, en->param, name);
    xml_text(op->out, "PolicyName", iam_str(d, "PolicyName"));
    iam_xml_policy_doc(op->out, "PolicyDocument", iam_str(d, "PolicyDocument"));
    json_decref(d);
    return CL_OK;
}

cl_err iam_op_delete_entity_policy(iam_op *op) {
    const entity *en = entity_of(op);
    const char *name, *pname;
    if (!iam_require(op->params, "PolicyName", &pname, op->f)) return CL_ERR_INVALID;
    char *scope = entity_scope(op, en, &name);
    if (!scope) return CL_ERR_NOT_FOUND;
    cl_err e = store_delete(op->m->st, en->inline_kind, scope, pname);
    free(scope);
    if (e == CL_ERR_NOT_FOUND)
        aws_fault_set(op->f, 404, "NoSuchEntity", "The %s policy with name %.128s cannot be found.",
                      en->label, pname);
    if (e == CL_OK) iam_op_empty(op);
    return e;
}

typedef struct {
    cl_buf *out;
    bool attached;
    char *last;
} names_ctx;

static bool emit_name(void *arg, const char *name, const char *text) {
    names_ctx *n = arg;
    if (n->attached) {
        json_t *d = json_loads(text, 0, NULL);
        xml_open(n->out, "member");
        xml_text(n->out, "PolicyName", iam_str(d, "PolicyName"));
        xml_text(n->out, "PolicyArn", iam_str(d, "PolicyArn"));
        xml_close(n->out, "member");
        json_decref(d);
    } else {
        xml_text(n->out, "member", name);
    }
    free(n->last);
    n->last = cl_strdup(name);
    return true;
}

static cl_err list_names(iam_op *op, bool attached) {
    const entity *en = entity_of(op);
    const char *name, *marker;
    size_t max;
    CL_TRY(iam_paging(op, &max, &marker));
    char *scope = entity_scope(op, en, &name);
    if (!scope) return CL_ERR_NOT_FOUND;
    iam_op_begin(op);
    const char *tag = attached ? "AttachedPolicies" : "PolicyNames";
    xml_open(op->out, tag);
    names_ctx n = {op->out, attached, NULL};
    bool more = false;
    cl_err e = store_list(op->m->st, attached ? en->attach_kind : en->inline_kind, scope, NULL,
                          marker, max, emit_name, &n, &more);
    xml_close(op->out, tag);
    iam_xml_truncation(op->out, more, n.last);
    free(n.last);
    free(scope);
    return e;
}

cl_err iam_op_list_entity_policies(iam_op *op) {
    return list_names(op, false);
}
cl_err iam_op_list_attached_entity_policies(iam_op *op) {
    return list_names(op, true);
}

static cl_err add_count(void *arg, json_t *p) {
    json_int_t n = json_integer_value(json_object_get(p, "AttachmentCount")) + *(int *)arg;
    json_object_set_new(p, "AttachmentCount", json_integer(n < 0 ? 0 : n));
    return CL_OK;
}

/* Adjusts a customer managed policy's AttachmentCount (built-ins keep none). */
static void count_attachment(iam_op *op, const char *arn, int delta) {
    char *key = NULL;
    json_t *p = iam_builtin_policy(arn) ? NULL : iam_managed_policy(op, arn, &key);
    if (p && key) iam_doc_update(op->m, "policy", op->c->account, key, add_count, &delta);
    json_decref(p);
    free(key);
}

typedef struct {
    iam_op *op;
    const entity *en;
    const char *arn;
    char *scope;
    bool attach;
} attach_txn;

static cl_err attach_run(store *st, void *arg) {
    attach_txn *t = arg;
    char *existing = NULL;
    bool had = store_get(st, t->en->attach_kind, t->scope, t->arn, &existing) == CL_OK;
    free(existing);
    if (t->attach && !had) {
        json_t *p = iam_managed_policy(t->op, t->arn, NULL);
        if (!p) return CL_ERR_NOT_FOUND;
        json_t *d =
            json_pack("{s:s, s:s}", "PolicyArn", t->arn, "PolicyName", iam_str(p, "PolicyName"));
        json_decref(p);
        cl_err e = iam_doc_put(t->op->m, t->en->attach_kind, t->scope, t->arn, d, false);
        json_decref(d);
        CL_TRY(e);
        count_attachment(t->op, t->arn, +1);
    } else if (!t->attach) {
        if (!had) {
            aws_fault_set(t->op->f, 404, "NoSuchEntity", "Policy %.256s was not found.", t->arn);
            return CL_ERR_NOT_FOUND;
        }
        CL_TRY(store_delete(st, t->en->attach_kind, t->scope, t->arn));
        count_attachment(t->op, t->arn, -1);
    }
    return CL_OK;
}

static cl_err change_attachment(iam_op *op, bool attach) {
    const entity *en = entity_of(op);
    const char *name, *arn;
    if (!iam_require(op->params, "PolicyArn", &arn, op->f)) return CL_ERR_INVALID;
    attach_txn t = {op, en, arn, entity_scope(op, en, &name), attach};
    if (!t.scope) return CL_ERR_NOT_FOUND;
    cl_err e = store_txn(op->m->st, attach_run, &t);
    free(t.scope);
    if (e == CL_OK) iam_op_empty(op);
    return e;
}

cl_err iam_op_attach_entity_policy(iam_op *op) {
    return change_attachment(op, true);
}
cl_err iam_op_detach_entity_policy(iam_op *op) {
    return change_attachment(op, false);
}
