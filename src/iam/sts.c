/* sts.c — the STS Query API: AssumeRole, GetSessionToken, GetCallerIdentity.
 * Temporary credentials are real: an ASIA key, a secret and a session token
 * stored as a `session` item with its expiry, which auth.c checks on every
 * request. AssumeRole's decision is the policy engine's: the role's trust
 * policy is the resource policy, the caller's own policies the identity side. */
#include "iam/iam_internal.h"

#include "crypto/crypto.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define STS_TOKEN_LEN 192

static bool parse_duration(iam_op *op, uint64_t lo, uint64_t hi, uint64_t dflt, uint64_t *out) {
    const char *v = iam_param(op->params, "DurationSeconds");
    *out = dflt;
    if (!v) return true;
    uint64_t n = 0;
    bool numeric = slice_to_u64(slice_cstr(v), &n) == CL_OK;
    if (numeric && n >= lo && n <= hi) {
        *out = n;
        return true;
    }
    bool too_big = numeric && n > hi;
    aws_fault_set(
        op->f, 400, "ValidationError",
        "1 validation error detected: Value '%.20s' at 'durationSeconds' failed to satisfy "
        "constraint: Member must have value %s %llu",
        v, too_big ? "less than or equal to" : "greater than or equal to",
        (unsigned long long)(too_big ? hi : lo));
    return false;
}

static bool valid_session_name(iam_op *op, const char *s) {
    size_t n = strlen(s);
    bool ok = n >= 2 && n <= 64;
    for (size_t i = 0; ok && i < n; i++)
        ok = isalnum((unsigned char)s[i]) || strchr("_+=,.@-", s[i]);
    if (!ok)
        aws_fault_set(
            op->f, 400, "ValidationError",
            "1 validation error detected: Value '%.64s' at 'roleSessionName' failed to "
            "satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]* "
            "and have length between 2 and 64",
            s);
    return ok;
}

static bool valid_role_arn(iam_op *op, const char *arn) {
    aws_arn a;
    size_t n = strlen(arn);
    if (n < 20 || n > 2048) {
        aws_fault_set(op->f, 400, "ValidationError",
                      "1 validation error detected: Value '%.64s' at 'roleArn' failed to satisfy "
                      "constraint: Member must have length %s",
                      arn, n < 20 ? "greater than or equal to 20" : "less than or equal to 2048");
        return false;
    }
    if (arn_parse(arn, &a) != CL_OK) {
        aws_fault_set(op->f, 400, "ValidationError", "%.64s is invalid", arn);
        return false;
    }
    arn_free(&a);
    return true;
}

/* Creates and stores a session; fills key id, secret, token (caller frees the
 * latter two with cl_free_secret) and the expiry text. */
typedef struct {
    char akid[21];
    char *secret, *token;
    char expiration[21];
} sts_creds;

static cl_err new_session(iam *m, json_t *doc, uint64_t duration, sts_creds *c) {
    iam_new_id(c->akid, sizeof c->akid, "ASIA", 16);
    c->secret = iam_new_secret();
    c->token = cl_malloc(STS_TOKEN_LEN + 1);
    crypto_random_string(c->token, STS_TOKEN_LEN,
                         "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
    time_t now = time_now();
    char issued[21];
    time_format_iso8601(now, issued);
    time_format_iso8601(now + (time_t)duration, c->expiration);
    iam_secret_put(m, doc, c->akid, c->secret);
    /* aws:TokenIssueTime (AWS's session-revocation recipe denies sessions issued before a time) */
    json_object_set_new(doc, "IssueTime", json_string(issued));
    json_object_set_new(doc, "DurationSeconds", json_integer((json_int_t)duration));
    json_object_set_new(doc, "Token", json_string(c->token));
    json_object_set_new(doc, "Expiration", json_string(c->expiration));
    return iam_doc_put(m, "session", "", c->akid, doc, true);
}

static void xml_credentials(cl_buf *b, const sts_creds *c) {
    xml_open(b, "Credentials");
    xml_text(b, "AccessKeyId", c->akid);
    xml_text(b, "SecretAccessKey", c->secret);
    xml_text(b, "SessionToken", c->token);
    xml_text(b, "Expiration", c->expiration);
    xml_close(b, "Credentials");
}

static void creds_free(sts_creds *c) {
    cl_free_secret(c->secret);
    cl_free_secret(c->token);
}

/* The role named by RoleArn: its document and parsed trust policy, or NULL. */
static json_t *load_role(iam *m, const char *role_arn, char **account_out) {
    aws_arn a;
    if (arn_parse(role_arn, &a) != CL_OK) return NULL;
    json_t *r = NULL;
    const char *slash = strrchr(a.resource, '/');
    if (strcmp(a.service, "iam") == 0 && strncmp(a.resource, "role/", 5) == 0 && slash) {
        char *key = iam_lower(slash + 1);
        r = iam_doc_get(m, "role", a.account, key);
        free(key);
        if (r && strcmp(iam_str(r, "Arn"), role_arn) != 0) json_decref(r), r = NULL;
        if (r) *account_out = cl_strdup(a.account);
    }
    arn_free(&a);
    return r;
}

static bool check_session_policy(iam_op *op, const char *policy_doc) {
    if (!policy_doc) return true;
    if (strlen(policy_doc) > 2048) {
        aws_fault_set(op->f, 400, "PackedPolicyTooLarge",
                      "Packed size of the session policy exceeds the 2048 characters allowed.");
        return false;
    }
    return iam_check_policy(policy_doc, POLICY_IDENTITY, op->f) == CL_OK;
}

/* Authorizes sts:AssumeRole: trust policy as resource policy, caller's policies as identity. */
static cl_err authorize_assume(iam_op *op, const char *role_arn, json_t *role,
                               const char *account) {
    policy *trust = NULL;
    char err[256];
    /* STS's condition keys: what AssumeRole accepts (sts:SourceIdentity and
     * sts:TransitiveTagKeys are refused in policies: those parameters are not) */
    policy_ctx *ctx = policy_ctx_new();
    policy_ctx_add(ctx, "sts:RoleSessionName", iam_param(op->params, "RoleSessionName"));
    policy_ctx_add(ctx, "sts:ExternalId", iam_param(op->params, "ExternalId"));
    iam_authz a = {
        .action = "sts:AssumeRole", .resource = role_arn, .resource_account = account, .ctx = ctx};
    if (role && policy_parse(slice_cstr(iam_str(role, "AssumeRolePolicyDocument")), POLICY_TRUST,
                             &trust, err, sizeof err) == CL_OK)
        a.resource_policy = trust;
    policy_decision d = POLICY_DENY_IMPLICIT;
    if (trust)
        d = iam_authorize(op->m, op->c, op->req, &a, op->f);
    else
        aws_fault_set(op->f, 403, "AccessDenied",
                      "User: %s is not authorized to perform: sts:AssumeRole on resource: %s",
                      op->c->arn ? op->c->arn : "anonymous", role_arn);
    if (trust) policy_free(trust);
    policy_ctx_free(ctx);
    return d == POLICY_ALLOW ? CL_OK : CL_ERR_DENIED;
}

static bool check_duration_limits(iam_op *op, json_t *role, uint64_t duration) {
    if (op->c->p.type == PRINCIPAL_ASSUMED_ROLE && duration > 3600) {
        aws_fault_set(op->f, 400, "ValidationError",
                      "The requested DurationSeconds exceeds the 1 hour session limit for roles "
                      "assumed by role chaining.");
        return false;
    }
    json_int_t max = json_integer_value(json_object_get(role, "MaxSessionDuration"));
    if (duration > (uint64_t)(max ? max : 3600)) {
        aws_fault_set(
            op->f, 400, "ValidationError",
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");
        return false;
    }
    return true;
}

static cl_err op_assume_role(iam_op *op) {
    const char *role_arn, *session_name, *policy_doc = iam_param(op->params, "Policy");
    uint64_t duration;
    if (!iam_require(op->params, "RoleArn", &role_arn, op->f) ||
        !iam_require(op->params, "RoleSessionName", &session_name, op->f) ||
        !valid_session_name(op, session_name) || !parse_duration(op, 900, 43200, 3600, &duration) ||
        !check_session_policy(op, policy_doc) || !valid_role_arn(op, role_arn))
        return CL_ERR_INVALID;
    char *account = NULL;
    json_t *role = load_role(op->m, role_arn, &account);
    cl_err e = authorize_assume(op, role_arn, role, account);
    if (e == CL_OK && !check_duration_limits(op, role, duration)) e = CL_ERR_INVALID;
    if (e != CL_OK) {
        json_decref(role);
        free(account);
        return e;
    }
    const char *role_name = iam_str(role, "RoleName");
    char *arn = cl_sprintf("arn:aws:sts::%s:assumed-role/%s/%s", account, role_name, session_name);
    char *userid = cl_sprintf("%s:%s", iam_str(role, "RoleId"), session_name);
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Type", "assumed-role",
                            "Account", account, "Arn", arn, "UserId", userid, "RoleArn", role_arn,
                            "RoleName", role_name, "SessionName", session_name, "SourceArn",
                            op->c->arn, "Policy", policy_doc ? policy_doc : "");
    sts_creds c = {0};
    e = new_session(op->m, doc, duration, &c);
    if (e == CL_OK) {
        iam_op_begin(op);
        xml_credentials(op->out, &c);
        xml_open(op->out, "AssumedRoleUser");
        xml_text(op->out, "AssumedRoleId", userid);
        xml_text(op->out, "Arn", arn);
        xml_close(op->out, "AssumedRoleUser");
        if (policy_doc)
            xml_textf(op->out, "PackedPolicySize", "%zu", strlen(policy_doc) * 100 / 2048);
        log_info("sts: %s assumed %s as session %s", op->c->arn, role_arn, session_name);
    }
    creds_free(&c);
    json_decref(doc);
    json_decref(role);
    free(arn);
    free(userid);
    free(account);
    return e;
}

static cl_err op_get_session_token(iam_op *op) {
    uint64_t duration;
    if (!parse_duration(op, 900, 129600, 43200, &duration)) return CL_ERR_INVALID;
    if (op->c->temporary || op->c->p.type != PRINCIPAL_USER) {
        aws_fault_set(op->f, 403, "AccessDenied",
                      "Cannot call GetSessionToken with session credentials");
        return CL_ERR_DENIED;
    }
    json_t *doc =
        json_pack("{s:s, s:s, s:s, s:s, s:s}", "Type", "user", "Account", op->c->account, "Arn",
                  op->c->arn, "UserId", op->c->userid, "UserName", op->c->username);
    sts_creds c = {0};
    cl_err e = new_session(op->m, doc, duration, &c);
    if (e == CL_OK) {
        iam_op_begin(op);
        xml_credentials(op->out, &c);
    }
    creds_free(&c);
    json_decref(doc);
    return e;
}

static cl_err op_get_caller_identity(iam_op *op) {
    /* needs no permission, as in AWS */
    iam_op_begin(op);
    xml_text(op->out, "Arn", op->c->arn);
    xml_text(op->out, "UserId", op->c->userid);
    xml_text(op->out, "Account", op->c->account);
    return CL_OK;
}

static const iam_op_entry OPS[] = {
    {"AssumeRole", op_assume_role},
    {"GetSessionToken", op_get_session_token},
    {"GetCallerIdentity", op_get_caller_identity},
};

void sts_api_handle(iam *m, const iam_caller *c, http_request *req, const cl_kvlist *params,
                    http_response *resp) {
    iam_query_dispatch(m, c, req, params, resp, OPS, sizeof OPS / sizeof OPS[0], AWS_XMLNS_STS,
                       "2011-06-15");
}
