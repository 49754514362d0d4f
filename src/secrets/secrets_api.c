/* secrets_api.c — the `cloister` JSON 1.1 operations of the secret service
 * (X-Amz-Target "Cloister.<Op>", SigV4 service "cloister"): a principal's own
 * requester secrets (PutSecret, DescribeSecret) and the Ethereum address it
 * links (GetWalletChallenge, LinkWallet, GetWallet, UnlinkWallet). Every call
 * acts on the calling principal only (there is no way to name another one)
 * and is authorized through iam_authorize with the action cloister:<Op> on
 * arn:aws:cloister:REGION:ACCOUNT:secret/NAME (secrets) or
 * arn:aws:cloister:REGION:ACCOUNT:wallet/PRINCIPALID (wallet). No operation
 * returns a value; none is logged. The app developer secret operations live
 * with the apps (src/tasks/apps.c). Format: docs/secrets.md. */
#include "secrets/secrets.h"

#include "aws/aws.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *secrets_principal_id(const iam_caller *c) {
    if (!c || !c->account || !c->account[0]) return NULL;
    const char *u = c->userid && c->userid[0] ? c->userid : c->account;
    const char *colon = strchr(u, ':'); /* AROA...:SESSION: the role's unique id */
    return colon ? cl_strndup(u, (size_t)(colon - u)) : cl_strdup(u);
}

typedef struct {
    secrets_store *s;
    iam *m;
    const iam_caller *c;
    http_request *req;
    json_t *in;
    aws_fault *f;
    char *principal; /* secrets_principal_id */
    bool debug;
} sec_call;
typedef json_t *(*sec_op_fn)(sec_call *a);

static json_t *sec_op_put(sec_call *a);
static json_t *sec_op_describe(sec_call *a);
static json_t *sec_op_challenge(sec_call *a);
static json_t *sec_op_link(sec_call *a);
static json_t *sec_op_get_wallet(sec_call *a);
static json_t *sec_op_unlink(sec_call *a);

/* The operations, in one table (tests/e2e/test_sec_authz_matrix.py reads it). */
static const struct {
    const char *name;
    sec_op_fn fn;
    bool names_secret; /* resource secret/NAME (else wallet/PRINCIPALID) */
} OPS[] = {
    {"PutSecret", sec_op_put, true},
    {"DescribeSecret", sec_op_describe, true},
    {"GetWalletChallenge", sec_op_challenge, false},
    {"LinkWallet", sec_op_link, false},
    {"GetWallet", sec_op_get_wallet, false},
    {"UnlinkWallet", sec_op_unlink, false},
};

bool secrets_api_owns(const char *target) {
    if (!target || strncmp(target, "Cloister.", 9) != 0) return false;
    for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++)
        if (strcmp(target + 9, OPS[i].name) == 0) return true;
    return false;
}

static const char *str_in(sec_call *a, const char *key) {
    return json_string_value(json_object_get(a->in, key));
}

static bool read_name(sec_call *a, const char **name) {
    *name = str_in(a, "Name");
    if (*name && secrets_name_valid(slice_cstr(*name))) return true;
    aws_fault_set(a->f, 400, "ValidationException",
                  "Name is required and must match [A-Za-z0-9_-]{1,64}.");
    return false;
}

static bool read_debug(sec_call *a) {
    json_t *d = json_object_get(a->in, "Debug");
    if (d && !json_is_boolean(d)) {
        aws_fault_set(a->f, 400, "ValidationException", "Debug must be a boolean.");
        return false;
    }
    a->debug = json_is_true(d);
    return true;
}

static bool authorize(sec_call *a, const char *op, const char *resource) {
    char *action = cl_sprintf("cloister:%s", op);
    iam_authz z = {.action = action, .resource = resource, .resource_account = a->c->account};
    policy_decision d = iam_authorize(a->m, a->c, a->req, &z, a->f);
    free(action);
    if (d == POLICY_ALLOW) return true;
    a->f->code = "AccessDeniedException";
    return false;
}

static secrets_owner own(sec_call *a) {
    return (secrets_owner){.account = a->c->account, .principal = a->principal};
}

static json_t *sec_op_put(sec_call *a) {
    const char *name = str_in(a, "Name");
    json_t *v = json_object_get(a->in, "Value");
    if (!json_is_string(v) || json_string_length(v) > SECRETS_VALUE_MAX) {
        aws_fault_set(a->f, 400, "ValidationException",
                      "Value is required: a string of at most %d bytes.", SECRETS_VALUE_MAX);
        return NULL;
    }
    secrets_owner o = own(a);
    cl_slice value = slice_of(json_string_value(v), json_string_length(v));
    cl_err e = secrets_owner_put(a->s, &o, name, a->debug, value);
    if (e == CL_ERR_EXISTS) {
        aws_fault_set(a->f, 409, "ResourceExistsException",
                      "Secret already exists: %s (secrets are write-once).", name);
        return NULL;
    }
    if (e != CL_OK) {
        aws_fault_set(a->f, 500, "InternalFailure", "cannot store the secret");
        return NULL;
    }
    log_info("secrets: %s stored %s secret %s", a->c->arn, a->debug ? "debug" : "production", name);
    return json_object();
}

static json_t *sec_op_describe(sec_call *a) {
    const char *name = str_in(a, "Name");
    char created[32] = "";
    secrets_owner o = own(a);
    cl_err e = secrets_owner_exists(a->s, &o, name, a->debug, created);
    if (e == CL_ERR_NOT_FOUND) {
        aws_fault_set(a->f, 404, "ResourceNotFoundException", "Secret not found: %s", name);
        return NULL;
    }
    if (e != CL_OK) {
        aws_fault_set(a->f, 500, "InternalFailure", "cannot read the secret");
        return NULL;
    }
    return json_pack("{s:s, s:b, s:s}", "Name", name, "Debug", a->debug, "Created", created);
}

static bool read_address(sec_call *a, secrets_addr *out) {
    const char *s = str_in(a, "Address");
    if (s && secrets_addr_parse(slice_cstr(s), out) == CL_OK) return true;
    aws_fault_set(a->f, 400, "ValidationException",
                  "Address is required: an Ethereum address, 0x and 40 hex digits.");
    return false;
}

static json_t *challenge_answer(sec_call *a, const secrets_addr *addr, char hex[67]) {
    uint8_t ch[SECRETS_HASH_LEN];
    char as[SECRETS_ADDR_STR_LEN + 1];
    secrets_wallet_challenge(a->c->account, a->principal, addr, ch);
    hex[0] = '0';
    hex[1] = 'x';
    hex_encode_to(hex + 2, ch, sizeof ch);
    secrets_addr_format(addr, as);
    return json_pack("{s:s, s:s, s:s, s:s}", "Challenge", hex, "Account", a->c->account,
                     "PrincipalId", a->principal, "Address", as);
}

static json_t *sec_op_challenge(sec_call *a) {
    secrets_addr addr;
    char hex[67];
    return read_address(a, &addr) ? challenge_answer(a, &addr, hex) : NULL;
}

static json_t *sec_op_link(sec_call *a) {
    secrets_addr addr;
    char hex[67];
    if (!read_address(a, &addr)) return NULL;
    json_t *out = challenge_answer(a, &addr, hex);
    uint8_t ch[SECRETS_HASH_LEN], h[SECRETS_HASH_LEN];
    secrets_wallet_challenge(a->c->account, a->principal, &addr, ch);
    secrets_eip191_hash(ch, h);
    const char *sig = str_in(a, "Signature");
    secrets_sig parsed;
    secrets_addr got;
    cl_err e = !sig ? CL_ERR_INVALID : secrets_sig_parse(slice_cstr(sig), &parsed);
    if (e == CL_OK) e = secrets_sig_recover(&parsed, h, &got);
    if (e == CL_OK && !secrets_addr_eq(&got, &addr)) e = CL_ERR_DENIED;
    if (e != CL_OK) {
        aws_fault_set(a->f, 400, "ValidationException",
                      "Signature %s: it must be an EIP-191 personal-sign by %s of the 32 bytes "
                      "%s (docs/secrets.md).",
                      !sig                 ? "is required"
                      : e == CL_ERR_DENIED ? "was made by another address"
                                           : "is malformed",
                      json_string_value(json_object_get(out, "Address")), hex);
        json_decref(out);
        return NULL;
    }
    if (secrets_wallet_link(a->s, a->c->account, a->principal, &addr) != CL_OK) {
        aws_fault_set(a->f, 500, "InternalFailure", "cannot record the link");
        json_decref(out);
        return NULL;
    }
    log_info("secrets: %s linked %s", a->c->arn,
             json_string_value(json_object_get(out, "Address")));
    json_t *ans = json_pack("{s:O}", "Address", json_object_get(out, "Address"));
    json_decref(out);
    return ans;
}

static json_t *sec_op_get_wallet(sec_call *a) {
    secrets_addr addr;
    char as[SECRETS_ADDR_STR_LEN + 1];
    cl_err e = secrets_wallet_get(a->s, a->c->account, a->principal, &addr);
    if (e == CL_ERR_NOT_FOUND) {
        aws_fault_set(a->f, 404, "ResourceNotFoundException", "No wallet is linked to %s",
                      a->c->arn);
        return NULL;
    }
    if (e != CL_OK) {
        aws_fault_set(a->f, 500, "InternalFailure", "cannot read the link");
        return NULL;
    }
    secrets_addr_format(&addr, as);
    return json_pack("{s:s}", "Address", as);
}

static json_t *sec_op_unlink(sec_call *a) {
    if (secrets_wallet_unlink(a->s, a->c->account, a->principal) != CL_OK) {
        aws_fault_set(a->f, 500, "InternalFailure", "cannot remove the link");
        return NULL;
    }
    log_info("secrets: %s unlinked its wallet", a->c->arn);
    return json_object();
}

static json_t *dispatch(sec_call *a, const char *target) {
    for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++) {
        if (strcmp(target + 9, OPS[i].name) != 0) continue;
        a->req->op = OPS[i].name;
        const char *name = NULL;
        if (OPS[i].names_secret && (!read_name(a, &name) || !read_debug(a))) return NULL;
        char *res = name ? cl_sprintf("arn:aws:cloister:%s:%s:secret/%s", iam_caller_region(a->c),
                                      a->c->account, name)
                         : cl_sprintf("arn:aws:cloister:%s:%s:wallet/%s", iam_caller_region(a->c),
                                      a->c->account, a->principal);
        bool ok = authorize(a, OPS[i].name, res);
        free(res);
        return ok ? OPS[i].fn(a) : NULL;
    }
    aws_fault_set(a->f, 400, "UnknownOperationException", "Unknown operation");
    return NULL;
}

void secrets_api_handle(secrets_store *s, iam *m, const iam_caller *c, http_request *req,
                        http_response *resp) {
    aws_fault f = {0};
    const char *target = kvlist_get_ci(&req->headers, "X-Amz-Target");
    json_t *in = aws_json_parse(buf_slice(&req->body), NULL, 0), *out = NULL;
    sec_call a = {.s = s, .m = m, .c = c, .req = req, .in = in, .f = &f};
    a.principal = secrets_principal_id(c);
    if (!s)
        aws_fault_set(&f, 501, "NotImplemented", "Secrets are not available on this server.");
    else if (!a.principal)
        aws_fault_set(&f, 400, "MissingAuthenticationTokenException",
                      "Request is missing Authentication Token");
    else if (!json_is_object(in))
        aws_fault_set(&f, 400, "SerializationException", "Request body is not a JSON object");
    else
        out = dispatch(&a, target);
    /* the request body holds the plaintext value of PutSecret */
    json_t *v = json_object_get(in, "Value");
    if (json_is_string(v)) cl_cleanse((void *)json_string_value(v), json_string_length(v));
    json_decref(in);
    if (req->body.ptr) cl_cleanse(req->body.ptr, req->body.cap);
    free(a.principal);
    aws_json_answer(resp, req, out, &f);
}
