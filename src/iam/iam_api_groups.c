/* iam_api_groups.c — IAM groups: Create/Get/List/DeleteGroup, AddUserToGroup,
 * RemoveUserFromGroup, ListGroupsForUser. A group's inline and attached
 * policies are served by iam_api_policies.c (the GROUP entity) and count in
 * the evaluation of its members' requests (authz.c). Membership is stored
 * twice, as an index each way, and both are written in one transaction:
 *   group_member acct/lower(g) / lower(u)  {UserName}
 *   user_group   acct/lower(u) / lower(g)  {GroupName}
 * The policy cache is keyed on the store's write sequence, so a membership or
 * group-policy change is seen by the members' next request. */
#include "iam/iam_internal.h"

#include <stdlib.h>
#include <string.h>

static void xml_group(cl_buf *b, json_t *g) {
    xml_text(b, "Path", iam_str(g, "Path"));
    xml_text(b, "GroupName", iam_str(g, "GroupName"));
    xml_text(b, "GroupId", iam_str(g, "GroupId"));
    xml_text(b, "Arn", iam_str(g, "Arn"));
    xml_text(b, "CreateDate", iam_str(g, "CreateDate"));
}

static char *group_arn(const char *account, const char *path, const char *name) {
    return cl_sprintf("arn:aws:iam::%s:group%s%s", account, path ? path : "/", name);
}

static bool group_name_param(iam_op *op, const char **name) {
    return iam_require(op->params, "GroupName", name, op->f) &&
           iam_valid_name(op, "GroupName", *name, 128);
}

/* Loads GroupName's group after authorizing the operation on its ARN. */
static json_t *authorized_group(iam_op *op, const char **name_out) {
    const char *name;
    if (!group_name_param(op, &name)) return NULL;
    char *key = iam_lower(name);
    json_t *g = iam_doc_get(op->m, "group", op->c->account, key);
    free(key);
    char *arn = g ? cl_strdup(iam_str(g, "Arn")) : group_arn(op->c->account, "/", name);
    cl_err e = iam_op_authorize(op, NULL, arn); /* authorize first: no existence oracle */
    free(arn);
    if (e != CL_OK) {
        json_decref(g);
        return NULL;
    }
    if (!g)
        aws_fault_set(op->f, 404, "NoSuchEntity", "The group with name %s cannot be found.", name);
    *name_out = name;
    return g;
}

static json_t *load_user(iam_op *op, const char *name) {
    char *key = iam_lower(name);
    json_t *u = iam_doc_get(op->m, "user", op->c->account, key);
    free(key);
    if (!u)
        aws_fault_set(op->f, 404, "NoSuchEntity", "The user with name %s cannot be found.", name);
    return u;
}

static cl_err op_create_group(iam_op *op) {
    const char *name, *path = iam_param(op->params, "Path");
    if (!group_name_param(op, &name)) return CL_ERR_INVALID;
    size_t pn = path ? strlen(path) : 0;
    if (path && (pn < 1 || pn > 512 || path[0] != '/' || path[pn - 1] != '/')) {
        aws_fault_set(op->f, 400, "ValidationError",
                      "The specified value for path is invalid. It must begin and end with / and "
                      "contain only alphanumeric characters and/or / characters.");
        return CL_ERR_INVALID;
    }
    if (!path) path = "/";
    char *arn = group_arn(op->c->account, path, name);
    cl_err e = iam_op_authorize(op, NULL, arn);
    if (e != CL_OK) {
        free(arn);
        return e;
    }
    char id[22], ts[21];
    iam_new_id(id, sizeof id, "AGPA", 17);
    time_format_iso8601(time_now(), ts);
    json_t *g = json_pack("{s:s, s:s, s:s, s:s, s:s}", "GroupName", name, "GroupId", id, "Arn", arn,
                          "Path", path, "CreateDate", ts);
    free(arn);
    char *key = iam_lower(name);
    e = iam_doc_put(op->m, "group", op->c->account, key, g, true);
    free(key);
    if (e == CL_ERR_EXISTS)
        aws_fault_set(op->f, 409, "EntityAlreadyExists", "Group with name %s already exists.",
                      name);
    if (e == CL_OK) {
        iam_op_begin(op);
        xml_open(op->out, "Group");
        xml_group(op->out, g);
        xml_close(op->out, "Group");
    }
    json_decref(g);
    return e;
}

typedef struct {
    iam *m;
    const char *account;
    cl_buf *out;
    char *last;
} members_ctx;

/* One <member> per user of the group, with the user's current document. */
static bool emit_member(void *arg, const char *name, const char *text) {
    (void)text;
    members_ctx *c = arg;
    json_t *u = iam_doc_get(c->m, "user", c->account, name);
    if (u) {
        xml_open(c->out, "member");
        xml_text(c->out, "Path", iam_str(u, "Path"));
        xml_text(c->out, "UserName", iam_str(u, "UserName"));
        xml_text(c->out, "UserId", iam_str(u, "UserId"));
        xml_text(c->out, "Arn", iam_str(u, "Arn"));
        xml_text(c->out, "CreateDate", iam_str(u, "CreateDate"));
        xml_close(c->out, "member");
    }
    json_decref(u);
    free(c->last);
    c->last = cl_strdup(name);
    return true;
}

static cl_err op_get_group(iam_op *op) {
    size_t max;
    const char *marker, *name;
    CL_TRY(iam_paging(op, &max, &marker));
    json_t *g = authorized_group(op, &name);
    if (!g) return CL_ERR_NOT_FOUND;
    char *scope = iam_scope2(op->c->account, name);
    iam_op_begin(op);
    xml_open(op->out, "Group");
    xml_group(op->out, g);
    xml_close(op->out, "Group");
    xml_open(op->out, "Users");
    members_ctx mc = {op->m, op->c->account, op->out, NULL};
    bool more = false;
    cl_err e =
        store_list(op->m->st, "group_member", scope, NULL, marker, max, emit_member, &mc, &more);
    xml_close(op->out, "Users");
    iam_xml_truncation(op->out, more, mc.last);
    free(mc.last);
    free(scope);
    json_decref(g);
    return e;
}

static cl_err op_list_groups(iam_op *op) {
    char *res = cl_sprintf("arn:aws:iam::%s:group/", op->c->account);
    cl_err e = iam_list_entities(op, "group", "Groups", xml_group, res);
    free(res);
    return e;
}

static cl_err op_delete_group(iam_op *op) {
    const char *name;
    json_t *g = authorized_group(op, &name);
    if (!g) return CL_ERR_NOT_FOUND;
    json_decref(g);
    char *scope = iam_scope2(op->c->account, name);
    size_t n_users = 0, n_inline = 0, n_attached = 0;
    store_count(op->m->st, "group_member", scope, &n_users);
    store_count(op->m->st, "group_policy", scope, &n_inline);
    store_count(op->m->st, "group_attach", scope, &n_attached);
    free(scope);
    if (n_users || n_inline || n_attached) {
        aws_fault_set(op->f, 409, "DeleteConflict", "Cannot delete entity, must %s first.",
                      n_users    ? "remove users from group"
                      : n_inline ? "delete policies"
                                 : "detach all policies");
        return CL_ERR_CONFLICT;
    }
    char *key = iam_lower(name);
    cl_err e = store_delete(op->m->st, "group", op->c->account, key);
    free(key);
    if (e == CL_OK) iam_op_empty(op);
    return e;
}

typedef struct {
    iam_op *op;
    json_t *group, *user;
    bool add;
} member_txn;

static cl_err member_run(store *st, void *arg) {
    member_txn *t = arg;
    const char *acct = t->op->c->account;
    const char *gname = iam_str(t->group, "GroupName"), *uname = iam_str(t->user, "UserName");
    char *gscope = iam_scope2(acct, gname), *uscope = iam_scope2(acct, uname);
    char *gkey = iam_lower(gname), *ukey = iam_lower(uname);
    cl_err e;
    /* the group and the user must still exist in this transaction */
    char *cur = NULL;
    e = store_get(st, "group", acct, gkey, &cur);
    free(cur), cur = NULL;
    if (e == CL_OK) e = store_get(st, "user", acct, ukey, &cur);
    free(cur);
    if (e == CL_OK && t->add) {
        json_t *m = json_pack("{s:s}", "UserName", uname),
               *ug = json_pack("{s:s}", "GroupName", gname);
        e = iam_doc_put(t->op->m, "group_member", gscope, ukey, m, false);
        if (e == CL_OK) e = iam_doc_put(t->op->m, "user_group", uscope, gkey, ug, false);
        json_decref(m);
        json_decref(ug);
    } else if (e == CL_OK) {
        e = store_delete(st, "group_member", gscope, ukey);
        if (e == CL_OK) e = store_delete(st, "user_group", uscope, gkey);
    }
    if (e == CL_ERR_NOT_FOUND)
        aws_fault_set(t->op->f, 404, "NoSuchEntity", "The user with name %s cannot be found.",
                      uname);
    free(gscope), free(uscope), free(gkey), free(ukey);
    return e;
}

static cl_err change_membership(iam_op *op, bool add) {
    const char *gname, *uname;
    if (!iam_require(op->params, "UserName", &uname, op->f) ||
        !iam_valid_name(op, "UserName", uname, 64))
        return CL_ERR_INVALID;
    json_t *g = authorized_group(op, &gname); /* iam:AddUserToGroup acts on the group */
    if (!g) return CL_ERR_NOT_FOUND;
    json_t *u = load_user(op, uname);
    if (!u) {
        json_decref(g);
        return CL_ERR_NOT_FOUND;
    }
    member_txn t = {op, g, u, add};
    cl_err e = store_txn(op->m->st, member_run, &t);
    json_decref(g);
    json_decref(u);
    if (e == CL_OK) iam_op_empty(op);
    return e;
}

static cl_err op_add_user_to_group(iam_op *op) {
    return change_membership(op, true);
}
static cl_err op_remove_user_from_group(iam_op *op) {
    return change_membership(op, false);
}

static bool emit_user_group(void *arg, const char *name, const char *text) {
    (void)text;
    members_ctx *c = arg;
    json_t *g = iam_doc_get(c->m, "group", c->account, name);
    if (g) {
        xml_open(c->out, "member");
        xml_group(c->out, g);
        xml_close(c->out, "member");
    }
    json_decref(g);
    free(c->last);
    c->last = cl_strdup(name);
    return true;
}

static cl_err op_list_groups_for_user(iam_op *op) {
    size_t max;
    const char *marker, *uname;
    CL_TRY(iam_paging(op, &max, &marker));
    if (!iam_require(op->params, "UserName", &uname, op->f) ||
        !iam_valid_name(op, "UserName", uname, 64))
        return CL_ERR_INVALID;
    char *key = iam_lower(uname);
    json_t *u = iam_doc_get(op->m, "user", op->c->account, key);
    free(key);
    char *arn = u ? cl_strdup(iam_str(u, "Arn"))
                  : cl_sprintf("arn:aws:iam::%s:user/%s", op->c->account, uname);
    cl_err e = iam_op_authorize(op, NULL, arn);
    free(arn);
    if (e == CL_OK && !u) {
        aws_fault_set(op->f, 404, "NoSuchEntity", "The user with name %s cannot be found.", uname);
        e = CL_ERR_NOT_FOUND;
    }
    json_decref(u);
    CL_TRY(e);
    char *scope = iam_scope2(op->c->account, uname);
    iam_op_begin(op);
    xml_open(op->out, "Groups");
    members_ctx mc = {op->m, op->c->account, op->out, NULL};
    bool more = false;
    e = store_list(op->m->st, "user_group", scope, NULL, marker, max, emit_user_group, &mc, &more);
    xml_close(op->out, "Groups");
    iam_xml_truncation(op->out, more, mc.last);
    free(mc.last);
    free(scope);
    return e;
}

const iam_op_entry IAM_GROUP_OPS[] = {
    {"CreateGroup", op_create_group},
    {"GetGroup", op_get_group},
    {"ListGroups", op_list_groups},
    {"DeleteGroup", op_delete_group},
    {"AddUserToGroup", op_add_user_to_group},
    {"RemoveUserFromGroup", op_remove_user_from_group},
    {"ListGroupsForUser", op_list_groups_for_user},
    {"PutGroupPolicy", iam_op_put_entity_policy},
    {"GetGroupPolicy", iam_op_get_entity_policy},
    {"DeleteGroupPolicy", iam_op_delete_entity_policy},
    {"ListGroupPolicies", iam_op_list_entity_policies},
    {"AttachGroupPolicy", iam_op_attach_entity_policy},
    {"DetachGroupPolicy", iam_op_detach_entity_policy},
    {"ListAttachedGroupPolicies", iam_op_list_attached_entity_policies},
};
const size_t IAM_GROUP_OPS_LEN = sizeof IAM_GROUP_OPS / sizeof IAM_GROUP_OPS[0];
