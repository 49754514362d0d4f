/* policy.h — the IAM policy language and the one function that decides every
 * request (policy_evaluate). Every service (iam, sts, s3, kms, cloister) builds a
 * policy_request — principal, action, resource, the applicable policies and the
 * request context — and asks policy_evaluate. No handler decides access itself.
 *
 * Evaluation follows AWS's documented logic:
 *   1. an explicit Deny in any applicable policy wins;
 *   2. same account (principal account == resource account): allowed if an identity
 *      policy allows OR the resource policy allows — except that a resource-policy
 *      statement that matched the principal only through its account (Principal
 *      "AWS": "arn:aws:iam::ACCT:root" or "ACCT") delegates to IAM, so then an
 *      identity allow is still needed;
 *   3. cross account: an identity allow AND a resource-policy allow are both needed;
 *   4. session policies (AssumeRole Policy parameter) narrow: when present, the
 *      identity side counts only for what both identity and session policies allow
 *      (a resource-policy allow naming the session ARN itself is not narrowed);
 *   5. anonymous principals are allowed only by a resource-policy statement whose
 *      Principal is "*" (or {"AWS": "*"});
 *   6. otherwise implicit deny.
 *   7. trust policies (sts:AssumeRole*) and KMS key policies (kms:*) must themselves
 *      match the caller, directly or by delegating to the account root: an identity
 *      allow alone never suffices for them, as in AWS;
 *   8. a PRINCIPAL_ROOT caller's identity side allows everything (explicit denies
 *      still apply), like AWS's root user.
 * Trust policies (the role's AssumeRolePolicyDocument) are the role's resource
 * policy for sts:AssumeRole: policy_request.resource_policy = trust policy.
 *
 * Ownership: policy_parse returns a policy the caller frees with policy_free;
 * policy_request only borrows. */
#ifndef CLOISTER_IAM_POLICY_H
#define CLOISTER_IAM_POLICY_H

#include "base/base.h"

typedef enum {
    POLICY_IDENTITY, /* user/role/group/managed/session policy: Principal not allowed */
    POLICY_RESOURCE, /* bucket/key policy: Principal or NotPrincipal required */
    POLICY_TRUST,    /* role trust policy: Principal required, Resource prohibited, sts: actions */
} policy_kind;

typedef struct policy policy;

/* Parse and validate a policy document (JSON text, at most 128 KiB).
 * On failure returns CL_ERR_INVALID and writes a message for the
 * MalformedPolicyDocument error into errmsg that says what is wrong, e.g.
 * "Statement 1: Effect must be \"Allow\" or \"Deny\"" or
 * "Has prohibited field Principal". Validation includes: Version (if present)
 * is "2012-10-17" or "2008-10-17"; Statement is an object or non-empty array;
 * each statement has Effect, exactly one of Action/NotAction, exactly one of
 * Resource/NotResource (optional for POLICY_RESOURCE trust policies),
 * Principal/NotPrincipal per kind; actions look like "service:Action"
 * (wildcards allowed) or "*"; unknown top-level or statement keys rejected;
 * Sid values unique; Condition operators known. */
cl_err policy_parse(cl_slice json, policy_kind kind, policy **out, char *errmsg, size_t errlen);
void policy_free(policy *p);

/* Condition keys (policy_keys.c). A key in the aws:, s3:, iam:, sts: or kms:
 * namespace is supported when the server supplies it wherever AWS does (or it
 * can never be present here, as in AWS for the same request); any other key of
 * these namespaces must be refused when a policy is written, because a key that
 * is never supplied counts as absent and a Deny on it would never fire. Keys of
 * other namespaces are accepted, as AWS does. policy_parse itself accepts every
 * key (stored policies that predate the check still load, with a warning);
 * writers call policy_unsupported_key and refuse the policy naming the key. */
bool policy_key_supported(const char *key);
/* The first unsupported condition key of p, or NULL; points into p. */
const char *policy_unsupported_key(const policy *p);

/* True if the policy (a resource policy) grants access to a non-fixed principal
 * as AWS defines "public" for Block Public Access: an Allow statement whose
 * principal is "*" (or {"AWS":"*"}) that is not narrowed by a condition on a
 * set of aws:SourceIp CIDRs that does not cover every IPv4 or IPv6
 * address, or a fixed value of aws:SourceArn, aws:SourceVpc,
 * aws:SourceVpce, aws:SourceAccount, aws:SourceOwner, aws:PrincipalOrgID,
 * aws:PrincipalAccount, aws:PrincipalArn, aws:userid, s3:DataAccessPointArn or
 * s3:DataAccessPointAccount (without wildcards). */
bool policy_is_public(const policy *p);

/* ---- request context: multi-valued condition keys (case-insensitive keys) ---- */
typedef struct policy_ctx policy_ctx;
policy_ctx *policy_ctx_new(void);
void policy_ctx_free(policy_ctx *c);
/* Adds a value; calling twice with the same key makes it multi-valued. */
void policy_ctx_add(policy_ctx *c, const char *key, const char *value);
/* Number of values (0 = key absent) and the i-th value. */
size_t policy_ctx_count(const policy_ctx *c, const char *key);
const char *policy_ctx_value(const policy_ctx *c, const char *key, size_t i);

/* ---- the principal making the request ---- */
typedef enum {
    PRINCIPAL_ANONYMOUS,
    PRINCIPAL_ROOT,         /* account root: arn:aws:iam::ACCT:root */
    PRINCIPAL_USER,         /* arn:aws:iam::ACCT:user/PATH/NAME */
    PRINCIPAL_ASSUMED_ROLE, /* arn:aws:sts::ACCT:assumed-role/ROLE/SESSION */
} principal_type;

typedef struct {
    principal_type type;
    const char *account;  /* 12 digits; NULL for anonymous */
    const char *arn;      /* principal ARN as above; NULL for anonymous */
    const char *userid;   /* AIDA... for users, AROA...:SESSION for sessions, ACCT for root */
    const char *username; /* users only (aws:username) */
    const char *role_arn; /* assumed roles: arn:aws:iam::ACCT:role/PATH/ROLE */
} policy_principal;

/* Adds aws:PrincipalArn, aws:PrincipalAccount, aws:userid, aws:username (users
 * only) and aws:PrincipalType from p to c. */
void policy_ctx_add_principal(policy_ctx *c, const policy_principal *p);

typedef struct {
    const policy_principal *principal;
    const char *action;            /* "sts:AssumeRole", "s3:GetObject" */
    const char *resource;          /* full ARN */
    const char *resource_account;  /* owner of the resource; NULL = principal's account */
    const policy *const *identity; /* identity policies of the principal (inline + managed) */
    size_t n_identity;
    const policy *resource_policy; /* bucket/key/trust policy, or NULL */
    const policy *const *session;  /* session policies; n_session == 0 means none */
    size_t n_session;
    const policy_ctx *ctx; /* condition keys; may be NULL */
} policy_request;

typedef enum {
    POLICY_DENY_IMPLICIT = 0, /* nothing allowed it */
    POLICY_DENY_EXPLICIT,     /* a Deny statement matched */
    POLICY_ALLOW,
} policy_decision;

policy_decision policy_evaluate(const policy_request *req);
const char *policy_decision_str(policy_decision d);

/* Wildcard match used by the engine, exported for tests and for services that
 * match names the same way: '*' any run, '?' one char; case-insensitive if asked. */
bool policy_wildcard_match(const char *pattern, const char *value, bool case_insensitive);

#endif
