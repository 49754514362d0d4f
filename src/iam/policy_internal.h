/* policy_internal.h — the parsed form of a policy, shared by the three files of
 * the policy engine and by nothing else:
 *   policy_parse.c  JSON -> struct policy (validation, normalisation, arena);
 *   policy_cond.c   request context, condition keys, policy variables, operators;
 *   policy_eval.c   wildcard matching, principals, statements, the decision.
 * A parsed policy is a flat array of statements whose strings live in one arena
 * owned by the policy, so evaluation never touches JSON and policy_free is one
 * walk over the arena's chunks. */
#ifndef CLOISTER_IAM_POLICY_INTERNAL_H
#define CLOISTER_IAM_POLICY_INTERNAL_H

#include "iam/policy.h"

/* ---- principals named in Principal / NotPrincipal ---- */
typedef enum {
    POLICY_PRIN_ANY,     /* "*" or {"AWS": "*"} */
    POLICY_PRIN_ACCOUNT, /* {"AWS": "ACCT"} or arn:...:iam::ACCT:root; value = ACCT */
    POLICY_PRIN_ARN,     /* a user, role or session ARN, matched exactly */
    POLICY_PRIN_OTHER,   /* Service, Federated, CanonicalUser: never a Cloister caller */
} policy_prin_kind;

typedef struct {
    policy_prin_kind kind;
    const char *value;
    const char *id; /* POLICY_PRIN_ARN bound to a unique ID (stored "ARN#ID"), else NULL */
} policy_prin;

/* How a principal entry matched the caller; higher is more specific. */
typedef enum {
    POLICY_MATCH_NONE = 0,
    POLICY_MATCH_ACCOUNT, /* through the account root: delegates to IAM (header rule 2) */
    POLICY_MATCH_ROLE,    /* a session matched through its role ARN: session policies narrow it */
    POLICY_MATCH_DIRECT,  /* "*", the user ARN or the session ARN itself */
} policy_match;

/* ---- conditions ---- */
typedef enum {
    POLICY_OP_STR_EQ,
    POLICY_OP_STR_EQ_CI,
    POLICY_OP_STR_LIKE,
    POLICY_OP_NUM_EQ,
    POLICY_OP_NUM_LT,
    POLICY_OP_NUM_LE,
    POLICY_OP_NUM_GT,
    POLICY_OP_NUM_GE,
    POLICY_OP_DATE_EQ,
    POLICY_OP_DATE_LT,
    POLICY_OP_DATE_LE,
    POLICY_OP_DATE_GT,
    POLICY_OP_DATE_GE,
    POLICY_OP_BOOL,
    POLICY_OP_BINARY,
    POLICY_OP_IP,
    POLICY_OP_ARN,
    POLICY_OP_NULL,
} policy_op;

typedef enum { POLICY_SET_NONE, POLICY_SET_ANY, POLICY_SET_ALL } policy_set;

typedef struct {
    policy_op op;
    bool negate;    /* StringNotEquals, NotIpAddress, ...: the values must match none */
    bool if_exists; /* ...IfExists: true when the key is absent */
    policy_set set; /* ForAnyValue: / ForAllValues: */
    const char *key;
    const char **values; /* JSON strings, numbers and booleans, as text */
    size_t n_values;
} policy_cond;

/* ---- statements and the policy ---- */
typedef struct {
    const char *sid; /* NULL when absent */
    bool deny;
    bool not_action, not_resource, not_principal;
    bool any_resource; /* no Resource/NotResource (trust policies): every resource */
    const char **actions;
    size_t n_actions;
    const char **resources;
    size_t n_resources;
    policy_prin *prins; /* empty for identity policies */
    size_t n_prins;
    policy_cond *conds;
    size_t n_conds;
} policy_stmt;

typedef struct policy_chunk policy_chunk;

struct policy {
    policy_kind kind;
    bool vars; /* Version 2012-10-17: policy variables are substituted */
    policy_stmt *stmts;
    size_t n_stmts;
    policy_chunk *arena;
};

/* ---- shared helpers ---- */
/* Glob match of pat[0..plen) against val[0..vlen): '*' any run, '?' one char. A
 * pattern byte whose lit[i] is non-zero is literal (substituted text, ${*}). */
bool policy_glob(const char *pat, size_t plen, const uint8_t *lit, const char *val, size_t vlen,
                 bool ci);

/* Substitutes policy variables in tmpl (${key}, ${key, 'default'}, ${*}, ${?},
 * ${$}) into out and marks substituted bytes in lit (same length, 1 = literal).
 * Returns false when a variable has no single value and no default. */
bool policy_subst(const char *tmpl, const policy_request *req, cl_buf *out, cl_buf *lit);

/* Values of a condition key: the request context first, then what the
 * principal itself says (aws:PrincipalArn, aws:username, ...) and the clock
 * (aws:CurrentTime, aws:EpochTime). Points into *out: do not copy *out. */
typedef struct {
    const char *const *v;
    size_t n;
    const char *one[1];
    char tmp[32];
} policy_vals;
void policy_key_values(const policy_request *req, const char *key, policy_vals *out);

/* Maps an operator name ("ForAnyValue:StringLikeIfExists") to c->op, negate,
 * if_exists and set. Returns false for an unknown operator. */
bool policy_op_lookup(const char *name, policy_cond *c);
/* True for the string and ARN operators, whose values take policy variables. */
bool policy_op_takes_vars(policy_op op);
/* False when a policy value can never be read by op (a bad CIDR, number or
 * date, a Bool or Null that is not true/false, bad base64): caught at parse. */
bool policy_value_valid(policy_op op, const char *v);

/* All conditions of s hold for req. */
bool policy_conds_hold(const policy *p, const policy_stmt *s, const policy_request *req);

/* Parses "addr" or "addr/len" (IPv4 or IPv6); *prefix_len gets the length
 * (32/128 when absent). */
bool policy_cidr_prefix(const char *s, int *prefix_len);
/* True when the union of the CIDRs covers every IPv4 or every IPv6 address
 * (e.g. ["0.0.0.0/1", "128.0.0.0/1"]): such an aws:SourceIp limits nobody. */
bool policy_cidrs_cover_all(const char *const *values, size_t n);

#endif
