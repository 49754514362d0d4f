/* iam_root.c — the root user of an account (arn:aws:iam::ACCT:root). As on
 * AWS it has no identity policies and may do everything in its account that
 * no explicit Deny forbids (policy.h rule 8), and the root of a bucket owner's
 * account may always get, put and delete that bucket's policy, even when the
 * policy denies it (s3_core.c): the way out of a policy that locks everyone
 * out. It has no password: the operator mints its access keys from the data
 * directory (`cloister account root-key`), which plays the part of AWS's root
 * sign-in. Root keys are access_key items with "Root": true (no UserName, so
 * the IAM user-key operations never find them), indexed as kind root_key,
 * scope account, name key id. */
#include "iam/iam_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool account_exists(iam *m, const char *id) {
    json_t *a = iam_doc_get(m, "account", "", id);
    json_decref(a);
    return a != NULL;
}

cl_err iam_account_resolve(iam *m, const char *id_or_name, char out[13]) {
    if (strlen(id_or_name) == 12 && strspn(id_or_name, "0123456789") == 12 &&
        account_exists(m, id_or_name)) {
        memcpy(out, id_or_name, 13);
        return CL_OK;
    }
    char *lname = iam_lower(id_or_name);
    json_t *ref = iam_doc_get(m, "account_name", "", lname);
    free(lname);
    const char *id = iam_str(ref, "AccountId");
    cl_err e = strlen(id) == 12 ? CL_OK : CL_ERR_NOT_FOUND;
    if (e == CL_OK) memcpy(out, id, 13);
    json_decref(ref);
    return e;
}

cl_err iam_root_key_create(iam *m, const char *account, char akid[21], char **secret) {
    *secret = NULL;
    if (!account_exists(m, account)) return CL_ERR_NOT_FOUND;
    char ts[21];
    time_format_iso8601(time_now(), ts);
    iam_new_id(akid, 21, "AKIA", 16);
    char *s = iam_new_secret();
    json_t *doc = json_pack("{s:s, s:s, s:b, s:s, s:s}", "AccessKeyId", akid, "Account", account,
                            "Root", 1, "Status", "Active", "CreateDate", ts);
    iam_secret_put(m, doc, akid, s);
    cl_err e = iam_doc_put(m, "access_key", "", akid, doc, true);
    json_decref(doc);
    if (e == CL_OK) e = store_put(m->st, "root_key", account, akid, "{}");
    if (e != CL_OK) {
        store_delete(m->st, "access_key", "", akid);
        cl_free_secret(s);
        return e;
    }
    *secret = s;
    return CL_OK;
}

cl_err iam_root_key_delete(iam *m, const char *account, const char *akid) {
    json_t *k = iam_doc_get(m, "access_key", "", akid);
    bool mine = k && json_is_true(json_object_get(k, "Root")) &&
                strcmp(iam_str(k, "Account"), account) == 0;
    json_decref(k);
    if (!mine) return CL_ERR_NOT_FOUND;
    cl_err e = store_delete(m->st, "access_key", "", akid);
    store_delete(m->st, "root_key", account, akid);
    return e;
}

void iam_caller_root(iam_caller *c, const char *account) {
    memset(c, 0, sizeof *c);
    c->account = cl_strdup(account);
    c->arn = cl_sprintf("arn:aws:iam::%s:root", account);
    c->userid = cl_strdup(account); /* as iam_root_key_load */
    c->p = (policy_principal){
        .type = PRINCIPAL_ROOT, .account = c->account, .arn = c->arn, .userid = c->userid};
}

bool iam_root_key_load(iam *m, json_t *key, iam_key_info *k) {
    const char *account = iam_str(key, "Account");
    if (!account_exists(m, account)) return false;
    k->active = strcmp(iam_str(key, "Status"), "Active") == 0;
    k->secret = iam_secret_get(m, key, iam_str(key, "AccessKeyId"));
    if (!k->secret) { /* sealed under another node key: the key cannot be used */
        k->secret = cl_strdup("");
        k->active = false;
    }
    k->type = PRINCIPAL_ROOT;
    k->account = cl_strdup(account);
    k->arn = cl_sprintf("arn:aws:iam::%s:root", account);
    k->userid = cl_strdup(account); /* AWS: the root user's aws:userid is the account ID */
    return true;
}
