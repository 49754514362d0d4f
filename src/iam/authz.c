/* authz.c — the single authorization entry point. Services describe a request
 * (action, resource, resource owner, resource policy, extra condition keys);
 * this file adds what every request carries (principal, source IP, transport,
 * time), loads the caller's identity and session policies, and asks
 * policy_evaluate. No service makes an access decision of its own. */
#include "iam/iam_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void iam_policy_set_free(iam_policy_set *s) {
    for (size_t i = 0; i < s->len; i++)
        policy_free(s->items[i]);
    free(s->items);
    memset(s, 0, sizeof *s);
}

static void set_add(iam_policy_set *s, const char *doc) {
    policy *p = NULL;
    char err[256];
    if (!doc || policy_parse(slice_cstr(doc), POLICY_IDENTITY, &p, err, sizeof err) != CL_OK) {
        log_warn("iam: a stored identity policy no longer parses: %s", err);
        return; /* a policy that cannot be read grants nothing */
    }
    s->items = cl_realloc(s->items, (s->len + 1) * sizeof *s->items);
    s->items[s->len++] = p;
}

typedef struct {
    iam *m;
    iam_policy_set *set;
    bool attached;
} collect_ctx;

/* The document of a managed policy: built-in, or a customer policy of an account. */
static char *managed_doc(iam *m, const char *arn) {
    const char *builtin = iam_builtin_policy(arn);
    if (builtin) return cl_strdup(builtin);
    aws_arn a;
    if (arn_parse(arn, &a) != CL_OK) return NULL;
    const char *slash = strrchr(a.resource, '/');
    char *doc = NULL;
    if (slash && strncmp(a.resource, "policy/", 7) == 0) {
        char *key = iam_lower(slash + 1);
        json_t *p = iam_doc_get(m, "policy", a.account, key);
        free(key);
        if (p) doc = cl_strdup(iam_str(p, "Document"));
        json_decref(p);
    }
    arn_free(&a);
    return doc;
}

static bool collect(void *arg, const char *name, const char *text) {
    (void)name;
    collect_ctx *c = arg;
    json_t *d = json_loads(text, 0, NULL);
    if (!d) return true;
    if (c->attached) {
        char *doc = managed_doc(c->m, iam_str(d, "PolicyArn"));
        set_add(c->set, doc);
        free(doc);
    } else {
        set_add(c->set, iam_str(d, "PolicyDocument"));
    }
    json_decref(d);
    return true;
}

/* A user's groups: each group's inline and attached policies join the set
 * (AWS evaluates them as the user's own identity policies, allow and deny). */
typedef struct {
    collect_ctx *cc;
    const char *account;
    cl_err e;
} groups_ctx;

static bool collect_group(void *arg, const char *gkey, const char *text) {
    (void)text;
    groups_ctx *g = arg;
    char *scope = cl_sprintf("%s/%s", g->account, gkey);
    g->cc->attached = false;
    g->e = store_list(g->cc->m->st, "group_policy", scope, NULL, NULL, 0, collect, g->cc, NULL);
    g->cc->attached = true;
    if (g->e == CL_OK)
        g->e = store_list(g->cc->m->st, "group_attach", scope, NULL, NULL, 0, collect, g->cc, NULL);
    free(scope);
    return g->e == CL_OK;
}

cl_err iam_load_identity_policies(iam *m, const iam_caller *c, iam_policy_set *out) {
    memset(out, 0, sizeof *out);
    const char *inline_kind, *attach_kind, *name;
    if (c->p.type == PRINCIPAL_USER && c->username) {
        inline_kind = "user_policy", attach_kind = "user_attach", name = c->username;
    } else if (c->p.type == PRINCIPAL_ASSUMED_ROLE && c->role_name) {
        inline_kind = "role_policy", attach_kind = "role_attach", name = c->role_name;
    } else {
        return CL_OK;
    }
    char *scope = iam_scope2(c->account, name);
    collect_ctx cc = {m, out, false};
    cl_err e = store_list(m->st, inline_kind, scope, NULL, NULL, 0, collect, &cc, NULL);
    cc.attached = true;
    if (e == CL_OK) e = store_list(m->st, attach_kind, scope, NULL, NULL, 0, collect, &cc, NULL);
    if (e == CL_OK && c->p.type == PRINCIPAL_USER) {
        groups_ctx g = {&cc, c->account, CL_OK};
        e = store_list(m->st, "user_group", scope, NULL, NULL, 0, collect_group, &g, NULL);
        if (e == CL_OK) e = g.e;
    }
    free(scope);
    return e;
}

/* Facts of the credentials, from the verified caller. AWS: aws:TokenIssueTime
 * and aws:MultiFactorAuthPresent are in the request context only for temporary
 * credentials (absent for long-term access keys and anonymous requests);
 * sessions here are never MFA-authenticated, so the latter is "false". A
 * session whose issue time was not recorded gets no aws:TokenIssueTime.
 * (AWS Knowledge Center "mfa-iam-user-aws-cli": "the aws:MultiFactorAuthPresent
 * key is not present in requests made with long-term credentials".) */
static void add_credential_keys(policy_ctx *ctx, const iam_caller *c) {
    if (!c->temporary) return;
    policy_ctx_add(ctx, "aws:MultiFactorAuthPresent", "false");
    if (c->token_issue_time) {
        char issued[21];
        time_format_iso8601(c->token_issue_time, issued);
        policy_ctx_add(ctx, "aws:TokenIssueTime", issued);
    }
}

static void add_request_keys(policy_ctx *ctx, const iam_caller *c, const http_request *req) {
    char now[21], epoch[24];
    time_t t = time_now();
    time_format_iso8601(t, now);
    snprintf(epoch, sizeof epoch, "%lld", (long long)t);
    policy_ctx_add_principal(ctx, &c->p);
    if (req) {
        policy_ctx_add(ctx, "aws:SourceIp", req->remote_ip);
        policy_ctx_add(ctx, "aws:SecureTransport", req->tls ? "true" : "false");
        const char *ua = kvlist_get_ci(&req->headers, "User-Agent");
        if (ua) policy_ctx_add(ctx, "aws:UserAgent", ua);
    }
    policy_ctx_add(ctx, "aws:CurrentTime", now);
    policy_ctx_add(ctx, "aws:EpochTime", epoch);
    if (c->region) policy_ctx_add(ctx, "aws:RequestedRegion", c->region);
    if (c->p.type != PRINCIPAL_ANONYMOUS) policy_ctx_add(ctx, "aws:ViaAWSService", "false");
    add_credential_keys(ctx, c);
}

static void deny_message(aws_fault *f, const iam_caller *c, const iam_authz *a, policy_decision d) {
    const char *who = c->arn ? c->arn : "anonymous";
    aws_fault_set(f, 403, "AccessDenied",
                  "User: %s is not authorized to perform: %s on resource: %s%s", who, a->action,
                  a->resource, d == POLICY_DENY_EXPLICIT ? " with an explicit deny" : "");
}

policy_decision iam_authorize(iam *m, const iam_caller *c, const http_request *req,
                              const iam_authz *a, aws_fault *f) {
    iam_policy_ref *ids_ref = c->p.type != PRINCIPAL_ANONYMOUS ? iam_policy_acquire(m, c) : NULL;
    const iam_policy_set *ids = iam_policy_ref_set(ids_ref);
    policy *session = NULL;
    policy_ctx *own = a->ctx ? NULL : policy_ctx_new();
    policy_ctx *ctx = a->ctx ? a->ctx : own;
    char err[256];
    if (c->session_policy && policy_parse(slice_cstr(c->session_policy), POLICY_IDENTITY, &session,
                                          err, sizeof err) != CL_OK)
        session = NULL; /* validated at AssumeRole; unreadable now means nothing is allowed */
    add_request_keys(ctx, c, req);
    const policy *sess_list[1] = {session};
    policy_request pr = {
        .principal = &c->p,
        .action = a->action,
        .resource = a->resource,
        .resource_account = a->resource_account,
        .identity = ids ? (const policy *const *)ids->items : NULL,
        .n_identity = ids ? ids->len : 0,
        .resource_policy = a->resource_policy,
        .session = sess_list,
        .n_session = c->session_policy ? 1 : 0,
        .ctx = ctx,
    };
    /* a session policy that no longer parses allows nothing */
    policy_decision d = c->session_policy && !session ? POLICY_DENY_IMPLICIT : policy_evaluate(&pr);
    if (d != POLICY_ALLOW) deny_message(f, c, a, d);
    if (session) policy_free(session);
    iam_policy_release(m, ids_ref);
    policy_ctx_free(own);
    return d;
}
