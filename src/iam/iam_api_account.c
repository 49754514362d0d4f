/* iam_api_account.c — the account-wide IAM operations that look across
 * entities: UpdateUser (a rename moves the user's keys, policies and group
 * memberships with it, in one transaction), GetAccountSummary (counts and the
 * quotas AWS reports) and ListEntitiesForPolicy (who a managed policy is
 * attached to). */
#include "iam/iam_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- UpdateUser ---- */

typedef struct {
    iam_op *op;
    json_t *user; /* as loaded; updated in place */
    const char *new_name, *new_path;
    char *old_key, *new_key;
} rename_txn;

typedef struct {
    store *st;
    const char *kind, *to_scope;
    cl_err e;
} move_ctx;

static bool move_item(void *arg, const char *name, const char *text) {
    move_ctx *m = arg;
    m->e = store_put(m->st, m->kind, m->to_scope, name, text);
    return m->e == CL_OK;
}

/* Moves every item of (kind, from) to (kind, to). */
static cl_err move_scope(store *st, const char *kind, const char *from, const char *to) {
    move_ctx m = {st, kind, to, CL_OK};
    cl_err e = store_list(st, kind, from, NULL, NULL, 0, move_item, &m, NULL);
    if (e == CL_OK) e = m.e;
    if (e == CL_OK) e = store_delete_scope(st, kind, from);
    return e;
}

typedef struct {
    rename_txn *t;
    cl_err e;
} fix_ctx;

/* An access key of the renamed user: its UserName follows. */
static bool fix_key(void *arg, const char *akid, const char *text) {
    (void)text;
    fix_ctx *f = arg;
    json_t *k = iam_doc_get(f->t->op->m, "access_key", "", akid);
    if (!k) return true;
    json_object_set_new(k, "UserName", json_string(f->t->new_name));
    f->e = iam_doc_put(f->t->op->m, "access_key", "", akid, k, false);
    json_decref(k);
    return f->e == CL_OK;
}

/* A group of the renamed user: its member entry follows. */
static bool fix_group(void *arg, const char *gkey, const char *text) {
    (void)text;
    fix_ctx *f = arg;
    const char *acct = f->t->op->c->account;
    char *scope = cl_sprintf("%s/%s", acct, gkey);
    json_t *m = json_pack("{s:s}", "UserName", f->t->new_name);
    store_delete(f->t->op->m->st, "group_member", scope, f->t->old_key);
    f->e = iam_doc_put(f->t->op->m, "group_member", scope, f->t->new_key, m, false);
    json_decref(m);
    free(scope);
    return f->e == CL_OK;
}

static cl_err rename_run(store *st, void *arg) {
    rename_txn *t = arg;
    const char *acct = t->op->c->account;
    char *cur = NULL;
    if (store_get(st, "user", acct, t->old_key, &cur) != CL_OK) return CL_ERR_NOT_FOUND;
    free(cur);
    char *old_scope = cl_sprintf("%s/%s", acct, t->old_key);
    char *new_scope = cl_sprintf("%s/%s", acct, t->new_key);
    bool same = strcmp(t->old_key, t->new_key) == 0;
    cl_err e = CL_OK;
    if (!same && store_get(st, "user", acct, t->new_key, &cur) == CL_OK) {
        free(cur);
        aws_fault_set(t->op->f, 409, "EntityAlreadyExists", "User with name %s already exists.",
                      t->new_name);
        e = CL_ERR_EXISTS;
    }
    fix_ctx f = {t, CL_OK};
    if (e == CL_OK && !same) { /* before the moves: fix_group needs the old index */
        e = store_list(st, "user_key", old_scope, NULL, NULL, 0, fix_key, &f, NULL);
        if (e == CL_OK) e = f.e;
        if (e == CL_OK)
            e = store_list(st, "user_group", old_scope, NULL, NULL, 0, fix_group, &f, NULL);
        if (e == CL_OK) e = f.e;
        static const char *const KINDS[] = {"user_key", "user_policy", "user_attach", "user_group"};
        for (size_t i = 0; e == CL_OK && i < sizeof KINDS / sizeof KINDS[0]; i++)
            e = move_scope(st, KINDS[i], old_scope, new_scope);
        if (e == CL_OK) e = store_delete(st, "user", acct, t->old_key);
    }
    if (e == CL_OK) {
        char *arn = cl_sprintf("arn:aws:iam::%s:user%s%s", acct, t->new_path, t->new_name);
        json_object_set_new(t->user, "UserName", json_string(t->new_name));
        json_object_set_new(t->user, "Path", json_string(t->new_path));
        json_object_set_new(t->user, "Arn", json_string(arn));
        free(arn);
        e = iam_doc_put(t->op->m, "user", acct, t->new_key, t->user, false);
    }
    free(old_scope);
    free(new_scope);
    return e;
}

static bool valid_path(iam_op *op, const char *path) {
    size_t n = strlen(path);
    if (n >= 1 && n <= 512 && path[0] == '/' && path[n - 1] == '/') return true;
    aws_fault_set(op->f, 400, "ValidationError",
                  "The specified value for path is invalid. It must begin and end with / and "
                  "contain only alphanumeric characters and/or / characters.");
    return false;
}

/* AWS: renaming needs iam:UpdateUser on both the current and the new user. */
static cl_err op_update_user(iam_op *op) {
    const char *name, *new_name = iam_param(op->params, "NewUserName"),
                      *new_path = iam_param(op->params, "NewPath");
    if (!iam_require(op->params, "UserName", &name, op->f) ||
        !iam_valid_name(op, "UserName", name, 64) ||
        (new_name && !iam_valid_name(op, "NewUserName", new_name, 64)) ||
        (new_path && !valid_path(op, new_path)))
        return CL_ERR_INVALID;
    rename_txn t = {op, NULL, NULL, NULL, iam_lower(name), NULL};
    t.user = iam_doc_get(op->m, "user", op->c->account, t.old_key);
    char *arn = t.user ? cl_strdup(iam_str(t.user, "Arn"))
                       : cl_sprintf("arn:aws:iam::%s:user/%s", op->c->account, name);
    cl_err e = iam_op_authorize(op, NULL, arn);
    free(arn);
    if (e == CL_OK && !t.user) {
        aws_fault_set(op->f, 404, "NoSuchEntity", "The user with name %s cannot be found.", name);
        e = CL_ERR_NOT_FOUND;
    }
    if (e == CL_OK) {
        t.new_name = new_name ? new_name : iam_str(t.user, "UserName");
        t.new_path = new_path ? new_path : iam_str(t.user, "Path");
        t.new_key = iam_lower(t.new_name);
        char *new_arn =
            cl_sprintf("arn:aws:iam::%s:user%s%s", op->c->account, t.new_path, t.new_name);
        e = iam_op_authorize(op, NULL, new_arn);
        free(new_arn);
    }
    if (e == CL_OK) e = store_txn(op->m->st, rename_run, &t);
    if (e == CL_ERR_NOT_FOUND && !op->f->code)
        aws_fault_set(op->f, 404, "NoSuchEntity", "The user with name %s cannot be found.", name);
    json_decref(t.user);
    free(t.old_key);
    free(t.new_key);
    if (e == CL_OK) iam_op_empty(op);
    return e;
}

/* ---- GetAccountSummary ---- */

static size_t count_kind(iam_op *op, const char *kind, const char *scope) {
    size_t n = 0;
    store_count(op->m->st, kind, scope, &n);
    return n;
}

static void summary_entry(cl_buf *b, const char *key, size_t value) {
    xml_open(b, "entry");
    xml_text(b, "key", key);
    xml_textf(b, "value", "%zu", value);
    xml_close(b, "entry");
}

/* The SummaryMap entries AWS returns (IAM API reference, GetAccountSummary),
 * with AWS's default quotas; what Cloister has no notion of counts 0. */
static cl_err op_get_account_summary(iam_op *op) {
    CL_TRY(iam_op_authorize(op, NULL, "*"));
    const char *acct = op->c->account;
    const struct {
        const char *key;
        size_t value;
    } entries[] = {
        {"GroupPolicySizeQuota", 5120},
        {"InstanceProfilesQuota", 1000},
        {"Policies", count_kind(op, "policy", acct)},
        {"GroupsPerUserQuota", 10},
        {"InstanceProfiles", 0},
        {"AttachedPoliciesPerUserQuota", 10},
        {"Users", count_kind(op, "user", acct)},
        {"PoliciesQuota", 1500},
        {"Providers", 0},
        {"AccountMFAEnabled", 0},
        {"AccessKeysPerUserQuota", 2},
        {"AssumeRolePolicySizeQuota", 2048},
        {"PolicyVersionsInUseQuota", 10000},
        {"GlobalEndpointTokenVersion", 1},
        {"VersionsPerPolicyQuota", 5},
        {"AttachedPoliciesPerGroupQuota", 10},
        {"PolicySizeQuota", 6144},
        {"Groups", count_kind(op, "group", acct)},
        {"AccountSigningCertificatesPresent", 0},
        {"UsersQuota", 5000},
        {"ServerCertificatesQuota", 20},
        {"MFADevices", 0},
        {"UserPolicySizeQuota", 2048},
        {"PolicyVersionsInUse", 0},
        {"ServerCertificates", 0},
        {"Roles", count_kind(op, "role", acct)},
        {"RolesQuota", 1000},
        {"SigningCertificatesPerUserQuota", 2},
        {"MFADevicesInUse", 0},
        {"RolePolicySizeQuota", 10240},
        {"AttachedPoliciesPerRoleQuota", 10},
        {"AccountAccessKeysPresent", count_kind(op, "root_key", acct) > 0},
        {"GroupsQuota", 300},
    };
    iam_op_begin(op);
    xml_open(op->out, "SummaryMap");
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++)
        summary_entry(op->out, entries[i].key, entries[i].value);
    xml_close(op->out, "SummaryMap");
    return CL_OK;
}

/* ---- ListEntitiesForPolicy ---- */

/* The groups, then users, then roles the policy is attached to, one page of at most
 * MaxItems across the three lists. The Marker is opaque to clients: "KIND/KEY" of the
 * last entity returned (KIND is group, user or role; keys hold no '/'). */
static const struct {
    const char *kind, *filter, *tag, *name_key, *id_key;
} ENTITY_LISTS[] = {
    {"group", "Group", "PolicyGroups", "GroupName", "GroupId"},
    {"user", "User", "PolicyUsers", "UserName", "UserId"},
    {"role", "Role", "PolicyRoles", "RoleName", "RoleId"},
};
#define N_ENTITY_LISTS (sizeof ENTITY_LISTS / sizeof ENTITY_LISTS[0])

typedef struct {
    iam_op *op;
    const char *arn, *path_prefix;
    size_t list; /* ENTITY_LISTS index */
    iam_page page;
} attached_ctx;

static bool emit_if_attached(void *arg, const char *key, const char *text) {
    attached_ctx *a = arg;
    const char *kind = ENTITY_LISTS[a->list].kind;
    char *attach_kind = cl_sprintf("%s_attach", kind);
    char *scope = cl_sprintf("%s/%s", a->op->c->account, key), *att = NULL;
    bool yes = store_get(a->op->m->st, attach_kind, scope, a->arn, &att) == CL_OK;
    free(att);
    free(scope);
    free(attach_kind);
    json_t *d = yes ? json_loads(text, 0, NULL) : NULL;
    char *marker = cl_sprintf("%s/%s", kind, key);
    bool go_on = true;
    if (d &&
        (!a->path_prefix ||
         strncmp(iam_str(d, "Path"), a->path_prefix, strlen(a->path_prefix)) == 0) &&
        (go_on = iam_page_take(&a->page, marker))) {
        xml_open(a->op->out, "member");
        xml_text(a->op->out, ENTITY_LISTS[a->list].name_key,
                 iam_str(d, ENTITY_LISTS[a->list].name_key));
        xml_text(a->op->out, ENTITY_LISTS[a->list].id_key,
                 iam_str(d, ENTITY_LISTS[a->list].id_key));
        xml_close(a->op->out, "member");
    }
    free(marker);
    json_decref(d);
    return go_on;
}

/* Which list a Marker points into (N_ENTITY_LISTS if none) and the key to start after. */
static size_t marker_list(const char *marker, const char **after) {
    const char *slash = marker ? strchr(marker, '/') : NULL;
    for (size_t i = 0; slash && i < N_ENTITY_LISTS; i++)
        if (strlen(ENTITY_LISTS[i].kind) == (size_t)(slash - marker) &&
            strncmp(marker, ENTITY_LISTS[i].kind, (size_t)(slash - marker)) == 0) {
            *after = slash + 1;
            return i;
        }
    return N_ENTITY_LISTS;
}

static cl_err op_list_entities_for_policy(iam_op *op) {
    const char *arn, *filter = iam_param(op->params, "EntityFilter"), *marker, *after = NULL;
    size_t max;
    if (!iam_require(op->params, "PolicyArn", &arn, op->f)) return CL_ERR_INVALID;
    CL_TRY(iam_paging(op, &max, &marker));
    size_t from = marker ? marker_list(marker, &after) : 0;
    if (from == N_ENTITY_LISTS) {
        aws_fault_set(op->f, 400, "ValidationError", "Invalid Marker.");
        return CL_ERR_INVALID;
    }
    CL_TRY(iam_op_authorize(op, NULL, arn));
    json_t *p = iam_managed_policy(op, arn, NULL);
    if (!p) return CL_ERR_NOT_FOUND;
    json_decref(p);
    iam_op_begin(op);
    attached_ctx a = {op, arn, iam_param(op->params, "PathPrefix"), 0, {max, false, NULL}};
    for (a.list = 0; a.list < N_ENTITY_LISTS; a.list++) {
        xml_open(op->out, ENTITY_LISTS[a.list].tag);
        bool wanted = !filter || strcmp(filter, ENTITY_LISTS[a.list].filter) == 0;
        if (wanted && !a.page.more && a.list >= from)
            store_list(op->m->st, ENTITY_LISTS[a.list].kind, op->c->account, NULL,
                       a.list == from ? after : NULL, 0, emit_if_attached, &a, NULL);
        xml_close(op->out, ENTITY_LISTS[a.list].tag);
    }
    iam_xml_truncation(op->out, a.page.more, a.page.last);
    free(a.page.last);
    return CL_OK;
}

const iam_op_entry IAM_ACCOUNT_OPS[] = {
    {"UpdateUser", op_update_user},
    {"GetAccountSummary", op_get_account_summary},
    {"ListEntitiesForPolicy", op_list_entities_for_policy},
};
const size_t IAM_ACCOUNT_OPS_LEN = sizeof IAM_ACCOUNT_OPS / sizeof IAM_ACCOUNT_OPS[0];
