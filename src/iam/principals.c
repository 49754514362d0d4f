/* principals.c — users and roles named in resource policies (bucket policies,
 * KMS key policies, role trust policies) are bound to their unique IDs when the
 * policy is written, as AWS does: "When you save the policy, AWS transforms the
 * ARN to a unique principal ID ... if you delete and recreate a user or role
 * referenced in a Principal element, the policy no longer applies"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html).
 *
 * Stored form: an "AWS" principal "arn:aws:iam::ACCT:role/PATH/NAME" becomes
 * "arn:aws:iam::ACCT:role/PATH/NAME#AROA..." (users: "#AIDA..."). The policy
 * parser reads the suffix as the entry's unique ID and the evaluator then
 * matches only the principal with that ID (policy_eval.c). A name cannot contain
 * '#', so a client cannot write the stored form itself: binding looks up
 * "NAME#ID" as a name and refuses it as a non-existent principal.
 * Read back, a bound principal shows as its ARN while that same principal (same
 * unique ID) exists, and as the bare unique ID once it is gone, as on AWS.
 * Account principals, "*", service principals and assumed-role session ARNs
 * (arn:aws:sts::ACCT:assumed-role/R/S, which AWS keeps as written) are left as
 * they are. Policies stored before binding existed (plain ARNs) keep matching
 * by ARN. */
#include "iam/iam_internal.h"

#include <stdlib.h>
#include <string.h>

/* The stored user/role document an "arn:...:iam::ACCT:(user|role)/..." names,
 * if that exact ARN exists; *id_key is "UserId" or "RoleId". NULL otherwise
 * (and for ARNs that are not user/role ARNs: *is_entity false). */
static json_t *entity_of_arn(iam *m, const char *arn, bool *is_entity, const char **id_key) {
    *is_entity = false;
    aws_arn a;
    if (strncmp(arn, "arn:", 4) != 0 || arn_parse(arn, &a) != CL_OK) return NULL;
    const char *kind = strncmp(a.resource, "user/", 5) == 0   ? "user"
                       : strncmp(a.resource, "role/", 5) == 0 ? "role"
                                                              : NULL;
    json_t *doc = NULL;
    if (kind && strcmp(a.service, "iam") == 0) {
        *is_entity = true;
        *id_key = kind[0] == 'u' ? "UserId" : "RoleId";
        char *key = iam_lower(strrchr(a.resource, '/') + 1);
        doc = iam_doc_get(m, kind, a.account, key);
        free(key);
        if (doc && strcmp(iam_str(doc, "Arn"), arn) != 0) json_decref(doc), doc = NULL;
    }
    arn_free(&a);
    return doc;
}

/* Calls fn on every string of every statement's Principal/NotPrincipal "AWS"
 * value; fn returns a replacement (stolen) or NULL to keep it, and false in
 * *ok to stop with an error. */
typedef json_t *(*prin_fn)(iam *m, const char *v, bool *ok, void *arg);

static bool rewrite_value(iam *m, json_t *holder, const char *field, prin_fn fn, void *arg,
                          bool *changed) {
    json_t *v = json_object_get(holder, field);
    bool ok = true;
    if (json_is_string(v)) {
        json_t *r = fn(m, json_string_value(v), &ok, arg);
        if (r) json_object_set_new(holder, field, r), *changed = true;
        return ok;
    }
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        if (!json_is_string(e)) continue;
        json_t *r = fn(m, json_string_value(e), &ok, arg);
        if (r) json_array_set_new(v, i, r), *changed = true;
        if (!ok) return false;
    }
    return ok;
}

static bool rewrite_statement(iam *m, json_t *st, prin_fn fn, void *arg, bool *changed) {
    static const char *const FIELDS[] = {"Principal", "NotPrincipal"};
    for (size_t i = 0; i < 2; i++) {
        json_t *p = json_object_get(st, FIELDS[i]);
        if (json_is_object(p) && !rewrite_value(m, p, "AWS", fn, arg, changed)) return false;
    }
    return true;
}

/* *out: the rewritten text, or NULL if nothing changed. False if fn refused. */
static bool rewrite(iam *m, const char *text, prin_fn fn, void *arg, char **out) {
    *out = NULL;
    json_t *doc = json_loads(text, 0, NULL);
    if (!doc) return true; /* not JSON: the policy parser has refused it already */
    json_t *sts = json_object_get(doc, "Statement"), *st;
    bool ok = true, changed = false;
    if (json_is_object(sts)) {
        ok = rewrite_statement(m, sts, fn, arg, &changed);
    } else {
        size_t i;
        json_array_foreach(sts, i, st) {
            if (json_is_object(st) && !(ok = rewrite_statement(m, st, fn, arg, &changed))) break;
        }
    }
    if (ok && changed) *out = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return ok;
}

static json_t *bind_one(iam *m, const char *v, bool *ok, void *arg) {
    bool entity;
    const char *id_key = NULL;
    json_t *doc = entity_of_arn(m, v, &entity, &id_key);
    if (!entity) return NULL;
    json_t *r = NULL;
    if (doc)
        r = json_sprintf("%s#%s", v, iam_str(doc, id_key));
    else if (*ok) {
        *ok = false;
        char **bad = arg;
        *bad = cl_strdup(v);
    }
    json_decref(doc);
    return r;
}

cl_err iam_policy_bind_principals(iam *m, const char *doc, char **stored, char **bad) {
    *bad = NULL;
    char *out = NULL;
    if (!rewrite(m, doc, bind_one, bad, &out)) {
        free(out);
        *stored = NULL;
        return CL_ERR_INVALID;
    }
    *stored = out ? out : cl_strdup(doc);
    return CL_OK;
}

static json_t *render_one(iam *m, const char *v, bool *ok, void *arg) {
    (void)ok, (void)arg;
    const char *hash = strchr(v, '#');
    if (!hash || strncmp(v, "arn:", 4) != 0) return NULL;
    char *arn = cl_strndup(v, (size_t)(hash - v));
    bool entity;
    const char *id_key = NULL;
    json_t *doc = entity_of_arn(m, arn, &entity, &id_key);
    bool same = doc && strcmp(iam_str(doc, id_key), hash + 1) == 0;
    json_t *r = json_string(same ? arn : hash + 1);
    json_decref(doc);
    free(arn);
    return r;
}

char *iam_policy_render_principals(iam *m, const char *stored) {
    if (!stored) return NULL;
    char *out = NULL;
    if (strchr(stored, '#')) rewrite(m, stored, render_one, NULL, &out);
    return out ? out : cl_strdup(stored);
}

void iam_role_doc_render(iam *m, json_t *role) {
    const char *t = json_string_value(json_object_get(role, "AssumeRolePolicyDocument"));
    if (!t || !strchr(t, '#')) return;
    char *r = iam_policy_render_principals(m, t);
    json_object_set_new(role, "AssumeRolePolicyDocument", json_string(r));
    free(r);
}
