/* policy_eval.c — the decision: which statements of which policies apply to a
 * request, and how their Allows and Denies combine (the rules in policy.h).
 *
 * Shape: every statement is tested cheapest test first (action, resource,
 * principal, conditions). A statement's match carries how specific the
 * principal match was (policy_match): "*", a user or session ARN are DIRECT; a
 * session matched through its role ARN is ROLE (session policies narrow it, as
 * AWS narrows permissions granted to the role); a principal matched through its
 * account root is ACCOUNT (delegation to IAM: an identity allow is still
 * needed). Each policy is scanned once into {deny, best allow level}; the
 * decision is then a few lines of boolean algebra over the three sides.
 *
 * Choices where AWS leaves room:
 *   - Resource patterns are matched as one glob over the whole ARN (a '*' may
 *     span colons, as AWS documents for a '*' ending a segment); the ArnLike
 *     family in conditions compares the six ARN parts one by one.
 *   - NotPrincipal excludes a caller only if every identity of its chain is
 *     listed (account; account + user; account + role + session), which is
 *     what AWS's NotPrincipal page tells authors to write; "*" excludes all.
 *     A NotPrincipal Allow never allows anonymous callers (rule 5).
 *   - The account root has no identity policies; like AWS's root user, its
 *     identity side allows everything, and explicit denies still apply.
 *   - A resource allow through Principal "*" is not narrowed by session
 *     policies: a session never has less than an anonymous caller.
 *   - sts:AssumeRole* and kms:* with a resource policy: that policy must
 *     match the caller (resource_policy_required). */
#include "iam/policy_internal.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* ---- wildcards ---- */
static bool char_eq(char a, char b, bool ci) {
    return a == b || (ci && tolower((unsigned char)a) == tolower((unsigned char)b));
}

/* Greedy match with one backtrack point: on a mismatch, the last '*' takes one
 * more character. Linear in practice, O(plen * vlen) at worst. */
bool policy_glob(const char *pat, size_t plen, const uint8_t *lit, const char *val, size_t vlen,
                 bool ci) {
    size_t p = 0, v = 0, star = SIZE_MAX, star_v = 0;
    while (v < vlen) {
        bool wild = p < plen && !(lit && lit[p]);
        if (wild && pat[p] == '*') {
            star = p++, star_v = v;
        } else if (p < plen && ((wild && pat[p] == '?') || char_eq(pat[p], val[v], ci))) {
            p++, v++;
        } else if (star != SIZE_MAX) {
            p = star + 1, v = ++star_v;
        } else {
            return false;
        }
    }
    while (p < plen && pat[p] == '*' && !(lit && lit[p]))
        p++;
    return p == plen;
}

bool policy_wildcard_match(const char *pattern, const char *value, bool case_insensitive) {
    if (!pattern || !value) return false;
    return policy_glob(pattern, strlen(pattern), NULL, value, strlen(value), case_insensitive);
}

/* ---- principals ---- */
static const policy_principal ANONYMOUS = {.type = PRINCIPAL_ANONYMOUS};

static bool str_is(const char *a, const char *b) {
    return a && b && strcmp(a, b) == 0;
}

/* The unique ID a bound entry (policy_prin.id) must equal for this ARN of the
 * caller: a user's UserId for its user ARN; for an assumed role's role ARN,
 * the role's RoleId, which is aws:userid up to the ':' ("AROA...:session"). */
static bool same_id(const policy_prin *e, const policy_principal *p, bool role) {
    if (!e->id) return true; /* stored before binding: matched by ARN alone */
    if (!p->userid) return false;
    if (!role) return p->type == PRINCIPAL_USER && strcmp(e->id, p->userid) == 0;
    size_t n = strlen(e->id);
    return strncmp(e->id, p->userid, n) == 0 && p->userid[n] == ':';
}

static policy_match prin_entry(const policy_prin *e, const policy_principal *p) {
    bool known = p->type != PRINCIPAL_ANONYMOUS;
    switch (e->kind) {
    case POLICY_PRIN_ANY:
        return POLICY_MATCH_DIRECT;
    case POLICY_PRIN_ACCOUNT:
        return known && str_is(e->value, p->account) ? POLICY_MATCH_ACCOUNT : POLICY_MATCH_NONE;
    case POLICY_PRIN_ARN:
        if (known && str_is(e->value, p->arn) && same_id(e, p, false)) return POLICY_MATCH_DIRECT;
        if (p->type == PRINCIPAL_ASSUMED_ROLE && str_is(e->value, p->role_arn) &&
            same_id(e, p, true))
            return POLICY_MATCH_ROLE;
        return POLICY_MATCH_NONE;
    default:
        return POLICY_MATCH_NONE;
    }
}

static bool listed(const policy_stmt *s, policy_prin_kind kind, const char *v) {
    for (size_t i = 0; i < s->n_prins; i++)
        if (s->prins[i].kind == kind && str_is(s->prins[i].value, v)) return true;
    return false;
}

/* A NotPrincipal entry naming this ARN of the caller (bound entries: with the
 * caller's unique ID; a successor of a deleted principal is not excluded). */
static bool listed_arn(const policy_stmt *s, const policy_principal *p, const char *arn,
                       bool role) {
    for (size_t i = 0; i < s->n_prins; i++)
        if (s->prins[i].kind == POLICY_PRIN_ARN && str_is(s->prins[i].value, arn) &&
            same_id(&s->prins[i], p, role))
            return true;
    return false;
}

static policy_match not_principal_match(const policy_stmt *s, const policy_principal *p) {
    for (size_t i = 0; i < s->n_prins; i++)
        if (s->prins[i].kind == POLICY_PRIN_ANY) return POLICY_MATCH_NONE;
    if (p->type == PRINCIPAL_ANONYMOUS) return s->deny ? POLICY_MATCH_DIRECT : POLICY_MATCH_NONE;
    bool excluded = listed(s, POLICY_PRIN_ACCOUNT, p->account);
    if (p->type == PRINCIPAL_USER) excluded = excluded && listed_arn(s, p, p->arn, false);
    if (p->type == PRINCIPAL_ASSUMED_ROLE)
        excluded =
            excluded && listed_arn(s, p, p->role_arn, true) && listed_arn(s, p, p->arn, false);
    return excluded ? POLICY_MATCH_NONE : POLICY_MATCH_DIRECT;
}

static policy_match principal_match(const policy_stmt *s, const policy_principal *p) {
    if (s->not_principal) return not_principal_match(s, p);
    policy_match best = POLICY_MATCH_NONE;
    for (size_t i = 0; i < s->n_prins; i++) {
        policy_match m = prin_entry(&s->prins[i], p);
        if (m > best) best = m;
    }
    return best;
}

/* ---- statements ---- */
static bool action_match(const policy_stmt *s, const char *action) {
    size_t alen = strlen(action);
    bool hit = false;
    for (size_t i = 0; i < s->n_actions && !hit; i++)
        hit = policy_glob(s->actions[i], strlen(s->actions[i]), NULL, action, alen, true);
    return hit != s->not_action;
}

/* A Resource entry whose variable cannot be resolved matches nothing. */
static bool resource_match(const policy *p, const policy_stmt *s, const policy_request *req) {
    if (s->any_resource) return true;
    cl_buf out = CL_BUF_INIT, lit = CL_BUF_INIT;
    size_t rlen = strlen(req->resource);
    bool hit = false;
    for (size_t i = 0; i < s->n_resources && !hit; i++) {
        const char *r = s->resources[i];
        if (!p->vars || !strstr(r, "${"))
            hit = policy_glob(r, strlen(r), NULL, req->resource, rlen, false);
        else if (policy_subst(r, req, &out, &lit))
            hit = policy_glob((const char *)out.ptr, out.len, lit.ptr, req->resource, rlen, false);
    }
    buf_free(&out), buf_free(&lit);
    return hit != s->not_resource;
}

static policy_match stmt_match(const policy *p, const policy_stmt *s, const policy_request *req,
                               bool resource_side) {
    if (!action_match(s, req->action) || !resource_match(p, s, req)) return POLICY_MATCH_NONE;
    policy_match m = resource_side ? principal_match(s, req->principal) : POLICY_MATCH_DIRECT;
    if (m == POLICY_MATCH_NONE || !policy_conds_hold(p, s, req)) return POLICY_MATCH_NONE;
    return m;
}

typedef struct {
    bool deny;
    policy_match allow; /* the most specific matching Allow */
} scan_result;

static void scan(const policy *p, const policy_request *req, bool resource_side, scan_result *r) {
    for (size_t i = 0; p && i < p->n_stmts && !r->deny; i++) {
        const policy_stmt *s = &p->stmts[i];
        policy_match m = stmt_match(p, s, req, resource_side);
        if (m == POLICY_MATCH_NONE) continue;
        if (s->deny)
            r->deny = true;
        else if (m > r->allow)
            r->allow = m;
    }
}

/* ---- the decision ---- */
/* Role trust policies and KMS key policies are authoritative, as in AWS: an
 * identity allow alone never assumes a role or uses a key; the trust or key
 * policy must match the caller too (by name, or through the account root when
 * it delegates to IAM). S3 bucket policies are not: rule 2 applies as is. */
static bool resource_policy_required(const char *action) {
    return strncasecmp(action, "sts:AssumeRole", 14) == 0 || strncasecmp(action, "kms:", 4) == 0;
}

static policy_decision decide(const policy_request *req, const scan_result *id,
                              const scan_result *sess, const scan_result *res) {
    const policy_principal *p = req->principal;
    if (id->deny || sess->deny || res->deny) return POLICY_DENY_EXPLICIT;
    if (p->type == PRINCIPAL_ANONYMOUS) /* only a Principal "*" statement can match here */
        return res->allow != POLICY_MATCH_NONE ? POLICY_ALLOW : POLICY_DENY_IMPLICIT;
    bool session_ok = req->n_session == 0 || sess->allow != POLICY_MATCH_NONE;
    bool id_ok = p->type == PRINCIPAL_ROOT || (id->allow != POLICY_MATCH_NONE && session_ok);
    bool res_ok =
        res->allow == POLICY_MATCH_DIRECT || (res->allow == POLICY_MATCH_ROLE && session_ok);
    bool res_any = res->allow != POLICY_MATCH_NONE;
    bool same = !req->resource_account || str_is(req->resource_account, p->account);
    bool allowed = same ? id_ok || res_ok : id_ok && res_any;
    if (req->resource_policy && resource_policy_required(req->action)) allowed = allowed && res_any;
    return allowed ? POLICY_ALLOW : POLICY_DENY_IMPLICIT;
}

policy_decision policy_evaluate(const policy_request *req) {
    policy_request r = *req;
    if (!r.principal) r.principal = &ANONYMOUS;
    if (!r.action) r.action = "";
    if (!r.resource) r.resource = "";
    scan_result id = {0}, sess = {0}, res = {0};
    for (size_t i = 0; i < r.n_identity; i++)
        scan(r.identity[i], &r, false, &id);
    for (size_t i = 0; i < r.n_session; i++)
        scan(r.session[i], &r, false, &sess);
    scan(r.resource_policy, &r, true, &res);
    return decide(&r, &id, &sess, &res);
}

const char *policy_decision_str(policy_decision d) {
    switch (d) {
    case POLICY_ALLOW:
        return "allowed";
    case POLICY_DENY_EXPLICIT:
        return "explicitDeny";
    default:
        return "implicitDeny";
    }
}

/* ---- Block Public Access ---- */
static const char *const FIXING_KEYS[] = {
    "aws:SourceIp",
    "aws:SourceArn",
    "aws:SourceVpc",
    "aws:SourceVpce",
    "aws:SourceAccount",
    "aws:SourceOwner",
    "aws:PrincipalOrgID",
    "aws:PrincipalAccount",
    "aws:PrincipalArn",
    "aws:userid",
    "s3:DataAccessPointArn",
    "s3:DataAccessPointAccount",
    NULL,
};

static bool fixed_value(const char *v) {
    return !strpbrk(v, "*?") && !strstr(v, "${");
}

/* A condition that pins the caller to fixed values: positive operator, key
 * present (no IfExists, no ForAllValues), every value free of wildcards. */
static bool pins_caller(const policy_cond *c) {
    bool known = false;
    if (c->negate || c->if_exists || c->set == POLICY_SET_ALL) return false;
    for (int i = 0; FIXING_KEYS[i]; i++)
        known |= strcasecmp(c->key, FIXING_KEYS[i]) == 0;
    bool is_ip_key = strcasecmp(c->key, "aws:SourceIp") == 0;
    bool op_ok = is_ip_key ? c->op == POLICY_OP_IP
                           : c->op == POLICY_OP_STR_EQ || c->op == POLICY_OP_STR_EQ_CI ||
                                 c->op == POLICY_OP_STR_LIKE || c->op == POLICY_OP_ARN;
    if (!known || !op_ok) return false;
    /* AWS: "limits access to a set of CIDRs" — not when together they cover
     * every address of a family, however they are split (0.0.0.0/1 + 128.0.0.0/1) */
    if (is_ip_key) return !policy_cidrs_cover_all(c->values, c->n_values);
    for (size_t i = 0; i < c->n_values; i++)
        if (!fixed_value(c->values[i])) return false;
    return true;
}

static bool stmt_public(const policy_stmt *s) {
    bool star = false;
    if (s->deny) return false;
    for (size_t i = 0; i < s->n_prins; i++)
        star |= s->prins[i].kind == POLICY_PRIN_ANY;
    /* NotPrincipal grants everyone but the listed, unless it lists "*" */
    bool anyone = s->not_principal ? !star : star;
    for (size_t i = 0; anyone && i < s->n_conds; i++)
        if (pins_caller(&s->conds[i])) return false;
    return anyone;
}

bool policy_is_public(const policy *p) {
    for (size_t i = 0; p && i < p->n_stmts; i++)
        if (stmt_public(&p->stmts[i])) return true;
    return false;
}
