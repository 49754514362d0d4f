/* iam_accounts.c — the operator's view of accounts: listing them, and giving
 * an account's admin user a new access key when its key is lost (`cloister
 * account list`, `cloister account reset-admin-key`). The admin user is the
 * one iam_create_account makes ("admin", AdministratorAccess); a reset deletes
 * every access key it had, so the lost key stops working at once. */
#include "iam/iam_internal.h"

#include <stdlib.h>
#include <string.h>

static bool collect_account(void *arg, const char *name, const char *text) {
    (void)name;
    json_t *doc = json_loads(text, 0, NULL);
    if (doc) json_array_append_new(arg, doc);
    return true;
}

cl_err iam_list_accounts(iam *m, json_t **out) {
    json_t *docs = json_array();
    cl_err e = store_list(m->st, "account", "", NULL, NULL, 0, collect_account, docs, NULL);
    if (e != CL_OK) {
        json_decref(docs);
        return e;
    }
    json_t *list = json_array(), *doc;
    size_t i;
    json_array_foreach(docs, i, doc) {
        const char *id = iam_str(doc, "AccountId");
        json_t *admin = iam_doc_get(m, "user", id, "admin");
        json_array_append_new(
            list, json_pack("{s:s, s:s, s:o, s:s}", "AccountId", id, "AccountName",
                            iam_str(doc, "AccountName"), "AdminUser",
                            admin ? json_string(iam_str(admin, "UserName")) : json_null(),
                            "CreateDate", iam_str(doc, "CreateDate")));
        json_decref(admin);
    }
    json_decref(docs);
    *out = list;
    return CL_OK;
}

typedef struct {
    iam *m;
    const char *account;
    iam_new_account *out;
    aws_fault *f;
    size_t deleted;
} reset_txn;

static bool collect_key(void *arg, const char *name, const char *text) {
    (void)text;
    kvlist_add(arg, name, "");
    return true;
}

/* The admin user again if it was deleted: AdministratorAccess, as at creation. */
static cl_err ensure_admin(reset_txn *t) {
    json_t *u = iam_doc_get(t->m, "user", t->account, "admin");
    if (u) {
        json_decref(u);
        return CL_OK;
    }
    CL_TRY(iam_user_create(t->m, t->account, "admin", "/", &u, t->f));
    json_decref(u);
    char *scope = iam_scope2(t->account, "admin");
    json_t *att = json_pack("{s:s, s:s}", "PolicyArn", IAM_ADMIN_POLICY_ARN, "PolicyName",
                            "AdministratorAccess");
    cl_err e = iam_doc_put(t->m, "user_attach", scope, IAM_ADMIN_POLICY_ARN, att, false);
    json_decref(att);
    free(scope);
    return e;
}

static cl_err reset_txn_run(store *st, void *arg) {
    reset_txn *t = arg;
    cl_free_secret(t->out->secret); /* a retried transaction starts over */
    t->out->secret = NULL;
    CL_TRY(ensure_admin(t));
    char *scope = iam_scope2(t->account, "admin");
    cl_kvlist old = CL_KVLIST_INIT;
    cl_err e = store_list(st, "user_key", scope, NULL, NULL, 0, collect_key, &old, NULL);
    for (size_t i = 0; e == CL_OK && i < old.len; i++) {
        e = store_delete(st, "access_key", "", old.items[i].key);
        if (e == CL_ERR_NOT_FOUND) e = CL_OK;
        if (e == CL_OK) e = store_delete(st, "user_key", scope, old.items[i].key);
        if (e == CL_ERR_NOT_FOUND) e = CL_OK;
    }
    t->deleted = old.len;
    kvlist_free(&old);
    free(scope);
    CL_TRY(e);
    json_t *key = NULL;
    CL_TRY(iam_key_create(t->m, t->account, "admin", &key, t->f));
    snprintf(t->out->access_key_id, sizeof t->out->access_key_id, "%s",
             iam_str(key, "AccessKeyId"));
    t->out->secret = cl_strdup(iam_str(key, "Secret"));
    json_decref(key);
    return CL_OK;
}

cl_err iam_reset_admin_key(iam *m, const char *account, iam_new_account *out, size_t *deleted,
                           aws_fault *f) {
    memset(out, 0, sizeof *out);
    *deleted = 0;
    json_t *a = iam_doc_get(m, "account", "", account);
    if (!a) {
        aws_fault_set(f, 404, "ResourceNotFoundException", "No account %.40s.", account);
        return CL_ERR_NOT_FOUND;
    }
    json_decref(a);
    snprintf(out->account_id, sizeof out->account_id, "%s", account);
    reset_txn t = {m, account, out, f, 0};
    cl_err e = store_txn(m->st, reset_txn_run, &t);
    if (e != CL_OK) {
        if (!f->code) aws_fault_set(f, 500, "ServiceFailure", "could not reset the admin key");
        cl_free_secret(out->secret);
        out->secret = NULL;
        return e;
    }
    *deleted = t.deleted;
    return CL_OK;
}
