/* policy_parse.c — turns a policy document (JSON) into the flat form of
 * policy_internal.h, and rejects what AWS IAM would reject as a
 * MalformedPolicyDocument, with a message that names the statement and the
 * field to fix.
 *
 * Shape: jansson reads the text (duplicate keys rejected), then one function per
 * element (Effect, Action, Resource, Principal, Condition) validates it and
 * copies what evaluation needs into an arena owned by the policy. Every array is
 * sized from the JSON before it is filled, so the arena never reallocates and
 * policy_free only walks its chunks. Normalisation happens here, once: a bare
 * account id or an account root ARN in Principal becomes an ACCOUNT entry, JSON
 * numbers and booleans in conditions become text, operator names become enums. */
#include "iam/policy_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define POLICY_MAX_BYTES (128 * 1024)

/* ---- arena ---- */
struct policy_chunk {
    policy_chunk *next;
    size_t used, cap;
    max_align_t data[];
};

static void *arena_alloc(policy *p, size_t n) {
    n = (n + 15) & ~(size_t)15;
    policy_chunk *c = p->arena;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > 4096 ? n : 4096;
        c = cl_malloc(sizeof *c + cap);
        c->next = p->arena, c->used = 0, c->cap = cap;
        p->arena = c;
    }
    void *r = (char *)c->data + c->used;
    c->used += n;
    memset(r, 0, n);
    return r;
}

static const char *arena_strdup(policy *p, const char *s) {
    size_t n = strlen(s) + 1;
    char *d = arena_alloc(p, n);
    memcpy(d, s, n);
    return d;
}

void policy_free(policy *p) {
    if (!p) return;
    for (policy_chunk *c = p->arena, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(p);
}

/* ---- errors ---- */
typedef struct {
    policy *p;
    char *err;
    size_t errlen;
    size_t stmt_no; /* 1-based statement being read; 0 at top level */
} parser;

static cl_err fail(parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static cl_err fail(parser *ps, const char *fmt, ...) {
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!ps->err || ps->errlen == 0) return CL_ERR_INVALID;
    if (ps->stmt_no)
        snprintf(ps->err, ps->errlen, "Statement %zu: %s", ps->stmt_no, msg);
    else
        snprintf(ps->err, ps->errlen, "%s", msg);
    return CL_ERR_INVALID;
}

/* ---- small validators ---- */
static bool is_account_id(const char *s) {
    size_t n = 0;
    for (; s[n]; n++)
        if (s[n] < '0' || s[n] > '9') return false;
    return n == 12;
}

static bool has_wildcard(const char *s) {
    return strpbrk(s, "*?") != NULL;
}

static size_t count_char(const char *s, char c) {
    size_t n = 0;
    for (; *s; s++)
        n += *s == c;
    return n;
}

static bool vendor_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

static bool action_char(char c) {
    return vendor_char(c) || c == '*' || c == '?' || c == '_';
}

/* "service:Action" (wildcards in the action part) or "*". */
static cl_err check_action(parser *ps, const char *field, const char *a) {
    if (strcmp(a, "*") == 0) return CL_OK;
    const char *colon = strchr(a, ':');
    if (!colon || colon == a || colon[1] == '\0')
        return fail(ps,
                    "%s \"%.100s\" must look like \"service:ActionName\" or \"*\" (actions must be "
                    "prefaced by a vendor, e.g. s3, iam, sts)",
                    field, a);
    if (strchr(colon + 1, ':'))
        return fail(ps, "%s \"%.100s\" can contain only one colon", field, a);
    for (const char *c = a; c < colon; c++)
        if (!vendor_char(*c))
            return fail(ps,
                        "%s \"%.100s\": the vendor part may contain only letters, digits and '-'",
                        field, a);
    for (const char *c = colon + 1; *c; c++)
        if (!action_char(*c))
            return fail(ps, "%s \"%.100s\" contains an invalid character", field, a);
    return CL_OK;
}

static cl_err check_resource(parser *ps, const char *field, const char *r) {
    if (strcmp(r, "*") == 0) return CL_OK;
    if (strncmp(r, "arn:", 4) != 0 || count_char(r, ':') < 5)
        return fail(ps,
                    "%s \"%.100s\" must be in ARN format (arn:partition:service:region:account:"
                    "resource) or \"*\"",
                    field, r);
    return CL_OK;
}

/* ---- string-or-array elements (Action, Resource and their Not forms) ---- */
typedef cl_err (*item_check)(parser *ps, const char *field, const char *v);

static cl_err str_list(parser *ps, json_t *v, const char *field, item_check check,
                       const char ***out, size_t *n) {
    size_t len = json_is_array(v) ? json_array_size(v) : 1;
    if (!(json_is_string(v) || (json_is_array(v) && len > 0)))
        return fail(ps, "%s must be a string or a non-empty array of strings", field);
    const char **items = arena_alloc(ps->p, len * sizeof *items);
    for (size_t i = 0; i < len; i++) {
        json_t *e = json_is_array(v) ? json_array_get(v, i) : v;
        if (!json_is_string(e))
            return fail(ps, "%s must be a string or a non-empty array of strings", field);
        CL_TRY(check(ps, field, json_string_value(e)));
        items[i] = arena_strdup(ps->p, json_string_value(e));
    }
    *out = items, *n = len;
    return CL_OK;
}

/* ---- Principal / NotPrincipal ---- */
static cl_err bad_principal(parser *ps, const char *type, const char *v) {
    return fail(ps, "Invalid principal in policy: \"%s\":\"%.100s\"", type, v);
}

/* arn:partition:(iam|sts)::ACCT:resource, no wildcards: AWS matches principals exactly. */
static cl_err aws_principal(parser *ps, const char *v, policy_prin *out) {
    if (strcmp(v, "*") == 0) return out->kind = POLICY_PRIN_ANY, CL_OK;
    if (is_account_id(v)) {
        out->kind = POLICY_PRIN_ACCOUNT, out->value = arena_strdup(ps->p, v);
        return CL_OK;
    }
    cl_slice s = slice_cstr(v), part[5];
    if (strncmp(v, "arn:", 4) != 0 || has_wildcard(v) || count_char(v, ':') < 5)
        return bad_principal(ps, "AWS", v);
    for (int i = 0; i < 5; i++)
        slice_split(&s, ':', &part[i]);
    char acct[13] = {0};
    if (part[4].len == 12) memcpy(acct, part[4].ptr, 12);
    bool svc = slice_eq_cstr(part[2], "iam") || slice_eq_cstr(part[2], "sts");
    if (!svc || part[1].len == 0 || !is_account_id(acct) || s.len == 0)
        return bad_principal(ps, "AWS", v);
    if (slice_eq_cstr(part[2], "iam") && slice_eq_cstr(s, "root")) {
        out->kind = POLICY_PRIN_ACCOUNT, out->value = arena_strdup(ps->p, acct);
    } else {
        out->kind = POLICY_PRIN_ARN, out->value = arena_strdup(ps->p, v);
        char *hash = strchr(out->value, '#'); /* stored form "ARN#UNIQUEID" (principals.c) */
        if (hash) *hash = '\0', out->id = hash + 1;
    }
    return CL_OK;
}

static const char *const PRIN_TYPES[] = {"AWS", "Service", "Federated", "CanonicalUser", NULL};

static cl_err principal_entry(parser *ps, const char *type, const char *v, policy_prin *out) {
    if (strcmp(type, "AWS") == 0) return aws_principal(ps, v, out);
    if (v[0] == '\0' || has_wildcard(v)) return bad_principal(ps, type, v);
    out->kind = POLICY_PRIN_OTHER, out->value = arena_strdup(ps->p, v);
    return CL_OK;
}

static cl_err principal_count(parser *ps, json_t *obj, const char *field, size_t *total) {
    const char *type;
    json_t *v;
    *total = 0;
    json_object_foreach(obj, type, v) {
        bool known = false;
        for (int i = 0; PRIN_TYPES[i]; i++)
            known |= strcmp(type, PRIN_TYPES[i]) == 0;
        if (!known)
            return fail(ps,
                        "Invalid principal in policy: unknown principal type \"%.60s\" "
                        "(use AWS, Service, Federated or CanonicalUser)",
                        type);
        size_t n = json_is_array(v) ? json_array_size(v) : 1;
        if (!(json_is_string(v) || (json_is_array(v) && n > 0)))
            return fail(ps, "%s \"%s\" must be a string or a non-empty array of strings", field,
                        type);
        *total += n;
    }
    if (*total == 0) return fail(ps, "%s must be \"*\" or a non-empty object", field);
    return CL_OK;
}

static cl_err parse_principal(parser *ps, json_t *v, const char *field, policy_stmt *s) {
    if (json_is_string(v)) {
        if (strcmp(json_string_value(v), "*") != 0)
            return fail(ps,
                        "Invalid principal in policy: %s must be \"*\" or an object such as "
                        "{\"AWS\": \"arn:aws:iam::111122223333:root\"}",
                        field);
        s->prins = arena_alloc(ps->p, sizeof *s->prins);
        s->prins[0].kind = POLICY_PRIN_ANY, s->n_prins = 1;
        return CL_OK;
    }
    if (!json_is_object(v)) return fail(ps, "%s must be \"*\" or an object", field);
    CL_TRY(principal_count(ps, v, field, &s->n_prins));
    s->prins = arena_alloc(ps->p, s->n_prins * sizeof *s->prins);
    size_t k = 0;
    const char *type;
    json_t *vals;
    json_object_foreach(v, type, vals) {
        size_t n = json_is_array(vals) ? json_array_size(vals) : 1;
        for (size_t i = 0; i < n; i++) {
            json_t *e = json_is_array(vals) ? json_array_get(vals, i) : vals;
            if (!json_is_string(e))
                return fail(ps, "%s \"%s\" must be a string or a non-empty array of strings", field,
                            type);
            CL_TRY(principal_entry(ps, type, json_string_value(e), &s->prins[k++]));
        }
    }
    return CL_OK;
}

/* ---- Condition ---- */
static const char *scalar_text(parser *ps, json_t *v) {
    char tmp[64];
    if (json_is_string(v)) return arena_strdup(ps->p, json_string_value(v));
    if (json_is_true(v)) return "true";
    if (json_is_false(v)) return "false";
    if (json_is_integer(v))
        snprintf(tmp, sizeof tmp, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        snprintf(tmp, sizeof tmp, "%.15g", json_real_value(v));
    else
        return NULL;
    return arena_strdup(ps->p, tmp);
}

static cl_err cond_values(parser *ps, const char *opname, const char *key, json_t *v,
                          policy_cond *c) {
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    if (n == 0)
        return fail(ps, "Condition %s: \"%.100s\" has an empty list of values", opname, key);
    c->values = arena_alloc(ps->p, n * sizeof *c->values);
    c->n_values = n;
    for (size_t i = 0; i < n; i++) {
        const char *t = scalar_text(ps, json_is_array(v) ? json_array_get(v, i) : v);
        if (!t)
            return fail(ps,
                        "Condition %s: values of \"%.100s\" must be strings, numbers or booleans",
                        opname, key);
        if (!policy_value_valid(c->op, t))
            return fail(ps, "Condition %s: \"%.100s\" is not a valid value for this operator",
                        opname, t);
        c->values[i] = t;
    }
    return CL_OK;
}

static cl_err cond_key(parser *ps, const char *opname, const char *key) {
    const char *colon = strchr(key, ':');
    if (!colon || colon == key || colon[1] == '\0')
        return fail(ps,
                    "Condition %s: key \"%.100s\" must be prefaced by a vendor, e.g. aws:SourceIp",
                    opname, key);
    return CL_OK;
}

static cl_err cond_block(parser *ps, const char *opname, json_t *block, policy_cond *out,
                         size_t *k) {
    policy_cond tmpl = {0};
    if (!policy_op_lookup(opname, &tmpl))
        return fail(ps, "Invalid Condition type: %.60s is not a known condition operator", opname);
    const char *key;
    json_t *v;
    json_object_foreach(block, key, v) {
        CL_TRY(cond_key(ps, opname, key));
        policy_cond *c = &out[(*k)++];
        *c = tmpl;
        c->key = arena_strdup(ps->p, key);
        CL_TRY(cond_values(ps, opname, key, v, c));
    }
    return CL_OK;
}

static cl_err parse_condition(parser *ps, json_t *cond, policy_stmt *s) {
    if (!json_is_object(cond)) return fail(ps, "Condition must be an object");
    const char *op;
    json_t *block;
    size_t total = 0, k = 0;
    json_object_foreach(cond, op, block) {
        if (!json_is_object(block) || json_object_size(block) == 0)
            return fail(ps, "Condition %.60s must be a non-empty object of condition keys", op);
        total += json_object_size(block);
    }
    s->conds = arena_alloc(ps->p, total * sizeof *s->conds);
    json_object_foreach(cond, op, block) CL_TRY(cond_block(ps, op, block, s->conds, &k));
    s->n_conds = k;
    return CL_OK;
}

/* ---- statements ---- */
static const char *const STMT_KEYS[] = {"Sid",       "Effect",    "Principal", "NotPrincipal",
                                        "Action",    "NotAction", "Resource",  "NotResource",
                                        "Condition", NULL};

static cl_err known_keys(parser *ps, json_t *obj, const char *const *keys, const char *what) {
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        bool ok = false;
        for (int i = 0; keys[i]; i++)
            ok |= strcmp(k, keys[i]) == 0;
        if (!ok) return fail(ps, "%s has unknown field \"%.60s\"", what, k);
    }
    return CL_OK;
}

/* Picks exactly one of name/not_name; *which = the JSON value, *negated = Not form. */
static cl_err one_of(parser *ps, json_t *st, const char *name, const char *not_name, bool required,
                     json_t **which, bool *negated) {
    json_t *a = json_object_get(st, name), *b = json_object_get(st, not_name);
    if (a && b) return fail(ps, "must contain only one of %s and %s", name, not_name);
    if (!a && !b && required) return fail(ps, "Missing required field %s", name);
    *which = a ? a : b, *negated = b != NULL;
    return CL_OK;
}

static cl_err parse_effect(parser *ps, json_t *st, policy_stmt *s) {
    json_t *e = json_object_get(st, "Effect");
    if (!e) return fail(ps, "Missing required field Effect");
    const char *v = json_is_string(e) ? json_string_value(e) : "";
    if (strcmp(v, "Allow") != 0 && strcmp(v, "Deny") != 0)
        return fail(ps, "Effect must be \"Allow\" or \"Deny\"");
    s->deny = strcmp(v, "Deny") == 0;
    return CL_OK;
}

static cl_err parse_principals(parser *ps, json_t *st, policy_stmt *s) {
    json_t *pv;
    if (ps->p->kind == POLICY_IDENTITY) {
        if (json_object_get(st, "Principal")) return fail(ps, "Has prohibited field Principal");
        if (json_object_get(st, "NotPrincipal"))
            return fail(ps, "Has prohibited field NotPrincipal");
        return CL_OK;
    }
    CL_TRY(one_of(ps, st, "Principal", "NotPrincipal", true, &pv, &s->not_principal));
    return parse_principal(ps, pv, s->not_principal ? "NotPrincipal" : "Principal", s);
}

static cl_err parse_statement(parser *ps, json_t *st, policy_stmt *s) {
    json_t *v;
    if (!json_is_object(st)) return fail(ps, "each statement must be an object");
    CL_TRY(known_keys(ps, st, STMT_KEYS, "Statement"));
    if ((v = json_object_get(st, "Sid"))) {
        if (!json_is_string(v)) return fail(ps, "Sid must be a string");
        s->sid = arena_strdup(ps->p, json_string_value(v));
    }
    CL_TRY(parse_effect(ps, st, s));
    CL_TRY(one_of(ps, st, "Action", "NotAction", true, &v, &s->not_action));
    CL_TRY(str_list(ps, v, s->not_action ? "NotAction" : "Action", check_action, &s->actions,
                    &s->n_actions));
    if (ps->p->kind == POLICY_TRUST) {
        if (json_object_get(st, "Resource")) return fail(ps, "Has prohibited field Resource");
        if (json_object_get(st, "NotResource")) return fail(ps, "Has prohibited field NotResource");
        for (size_t i = 0; i < s->n_actions; i++)
            if (strncasecmp(s->actions[i], "sts:", 4) != 0 && strcmp(s->actions[i], "*") != 0)
                return fail(ps, "AssumeRole policy may only specify STS AssumeRole actions.");
    }
    CL_TRY(one_of(ps, st, "Resource", "NotResource", ps->p->kind == POLICY_IDENTITY, &v,
                  &s->not_resource));
    if (v)
        CL_TRY(str_list(ps, v, s->not_resource ? "NotResource" : "Resource", check_resource,
                        &s->resources, &s->n_resources));
    s->any_resource = v == NULL;
    CL_TRY(parse_principals(ps, st, s));
    if ((v = json_object_get(st, "Condition"))) CL_TRY(parse_condition(ps, v, s));
    return CL_OK;
}

static cl_err unique_sids(parser *ps) {
    const policy *p = ps->p;
    for (size_t i = 0; i < p->n_stmts; i++)
        for (size_t j = i + 1; p->stmts[i].sid && *p->stmts[i].sid && j < p->n_stmts; j++)
            if (p->stmts[j].sid && strcmp(p->stmts[i].sid, p->stmts[j].sid) == 0)
                return fail(ps,
                            "Statement IDs (SID) in a single policy must be unique: \"%.60s\" "
                            "is used twice",
                            p->stmts[i].sid);
    return CL_OK;
}

static cl_err parse_statements(parser *ps, json_t *sv) {
    size_t n = json_is_array(sv) ? json_array_size(sv) : 1;
    if (!json_is_object(sv) && !(json_is_array(sv) && n > 0))
        return fail(ps, "Statement must be an object or a non-empty array of objects");
    ps->p->stmts = arena_alloc(ps->p, n * sizeof *ps->p->stmts);
    ps->p->n_stmts = n;
    for (size_t i = 0; i < n; i++) {
        ps->stmt_no = i + 1;
        CL_TRY(
            parse_statement(ps, json_is_array(sv) ? json_array_get(sv, i) : sv, &ps->p->stmts[i]));
    }
    ps->stmt_no = 0;
    return unique_sids(ps);
}

static const char *const TOP_KEYS[] = {"Version", "Id", "Statement", NULL};

static cl_err parse_document(parser *ps, json_t *root) {
    if (!json_is_object(root)) return fail(ps, "Policy document must be a JSON object");
    CL_TRY(known_keys(ps, root, TOP_KEYS, "Policy"));
    json_t *ver = json_object_get(root, "Version"), *id = json_object_get(root, "Id");
    if (ver) {
        const char *v = json_is_string(ver) ? json_string_value(ver) : "";
        if (strcmp(v, "2012-10-17") != 0 && strcmp(v, "2008-10-17") != 0)
            return fail(ps, "Version must be \"2012-10-17\" or \"2008-10-17\"");
        ps->p->vars = strcmp(v, "2012-10-17") == 0;
    }
    if (id && !json_is_string(id)) return fail(ps, "Id must be a string");
    json_t *sv = json_object_get(root, "Statement");
    if (!sv) return fail(ps, "Missing required field Statement");
    return parse_statements(ps, sv);
}

cl_err policy_parse(cl_slice json, policy_kind kind, policy **out, char *errmsg, size_t errlen) {
    parser ps = {.err = errmsg, .errlen = errlen};
    *out = NULL;
    if (errmsg && errlen) errmsg[0] = '\0';
    if (json.len > POLICY_MAX_BYTES)
        return fail(&ps, "Policy document is larger than %d bytes", POLICY_MAX_BYTES);
    if (json.len == 0) return fail(&ps, "Syntax errors in policy: the document is empty");
    json_error_t je;
    json_t *root = json_loadb((const char *)json.ptr, json.len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return fail(&ps, "Syntax errors in policy: %s (line %d, column %d)", je.text, je.line,
                    je.column);
    ps.p = cl_calloc(1, sizeof *ps.p);
    ps.p->kind = kind;
    cl_err e = parse_document(&ps, root);
    json_decref(root);
    if (e != CL_OK) {
        policy_free(ps.p);
        return e;
    }
    const char *bad = policy_unsupported_key(ps.p);
    if (bad) /* writers refuse it; a stored policy keeps today's meaning: the key is absent */
        log_warn("policy: condition key \"%.100s\" is never supplied by this server; a "
                 "condition on it treats it as absent",
                 bad);
    *out = ps.p;
    return CL_OK;
}
