/* kmskeys_api.c — the node side of KMS-sealed signer keys: the `cloister` JSON
 * 1.1 operations PutSignerKeys, GetSignerKeys, ListSignerKeys and
 * DeleteSignerKeys (X-Amz-Target "Cloister.<Op>", SigV4 service "cloister";
 * docs/signer.md, "Keys sealed by KMS"). A key set is a same-account resource
 * with no resource policy, arn:aws:cloister:REGION:ACCOUNT:signer-keys/NAME,
 * authorized through iam_authorize with cloister:<Op> (ListSignerKeys on
 * the ARN signer-keys/ followed by a star); naming another account's set by ARN is refused. The
 * node stores and returns ciphertexts only (the data key as KMS ciphertext, each validator key
 * sealed under the data key by the operator's machine), in the meta store: kind "signer_keys",
 * scope the account, name the set's name. Built as its own library (cl_signer_node) so the signer
 * library itself never depends on IAM. */
#include "signer/kmskeys_api.h"

#include "aws/aws.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KMSKEYS_KIND "signer_keys"

typedef struct {
    store *st;
    iam *m;
    const iam_caller *c;
    http_request *req;
    json_t *in;
    aws_fault *f;
    char account[16];
    char name[72];
    char *arn;
} kk_call;
typedef json_t *(*kk_op_fn)(kk_call *a);

static json_t *kk_put(kk_call *a);
static json_t *kk_get(kk_call *a);
static json_t *kk_list(kk_call *a);
static json_t *kk_delete(kk_call *a);

static const struct {
    const char *name;
    kk_op_fn fn;
    bool names_set; /* Name required (else the account's sets: the ARN signer-keys/ followed by a
                       star) */
} OPS[] = {
    {"PutSignerKeys", kk_put, true},
    {"GetSignerKeys", kk_get, true},
    {"ListSignerKeys", kk_list, false},
    {"DeleteSignerKeys", kk_delete, true},
};

bool signer_kmskeys_api_owns(const char *target) {
    if (!target || strncmp(target, "Cloister.", 9) != 0) return false;
    for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++)
        if (strcmp(target + 9, OPS[i].name) == 0) return true;
    return false;
}

/* Name: a set name (the caller's account) or its ARN (any account; authorization decides). */
static bool parse_ref(kk_call *a) {
    const char *ref = json_string_value(json_object_get(a->in, "Name")), *name = ref;
    snprintf(a->account, sizeof a->account, "%s", a->c->account ? a->c->account : "");
    if (ref && strncmp(ref, "arn:aws:cloister:", 17) == 0) {
        const char *r = strchr(ref + 17, ':');
        const char *acct = r ? r + 1 : NULL;
        const char *slash = acct ? strstr(acct, ":signer-keys/") : NULL;
        if (!slash || slash - acct != 12) {
            aws_fault_set(a->f, 400, "ValidationException", "Invalid signer key set ARN.");
            return false;
        }
        memcpy(a->account, acct, 12);
        a->account[12] = 0;
        name = slash + 13;
    }
    if (!signer_kms_name_valid(name)) {
        aws_fault_set(a->f, 400, "ValidationException",
                      "Name is required and must match [A-Za-z0-9_-]{1,64} (or be an ARN).");
        return false;
    }
    snprintf(a->name, sizeof a->name, "%s", name);
    return true;
}

static bool authorize(kk_call *a, const char *op) {
    char *action = cl_sprintf("cloister:%s", op);
    iam_authz z = {.action = action, .resource = a->arn, .resource_account = a->account};
    policy_decision d = iam_authorize(a->m, a->c, a->req, &z, a->f);
    free(action);
    if (d == POLICY_ALLOW) return true;
    a->f->code = "AccessDeniedException";
    return false;
}

static json_t *stored_doc(kk_call *a) {
    char *doc = NULL;
    cl_err e = store_get(a->st, KMSKEYS_KIND, a->account, a->name, &doc);
    json_t *j = e == CL_OK ? json_loads(doc, 0, NULL) : NULL;
    free(doc);
    if (!j && e == CL_ERR_NOT_FOUND)
        aws_fault_set(a->f, 404, "ResourceNotFoundException", "Signer key set not found: %s",
                      a->arn);
    else if (!j)
        aws_fault_set(a->f, 500, "InternalFailure", "cannot read the signer key set");
    return j;
}

static json_t *kk_put(kk_call *a) {
    signer_kms_set s;
    char err[200];
    json_object_set_new(a->in, "Name", json_string(a->name)); /* an ARN names it too */
    char *text = json_dumps(a->in, JSON_COMPACT);
    cl_err e = signer_kms_set_parse(slice_cstr(text), &s, err, sizeof err);
    free(text);
    if (e != CL_OK) {
        aws_fault_set(a->f, 400, "ValidationException", "%s.", err);
        return NULL;
    }
    cl_buf doc = CL_BUF_INIT;
    signer_kms_set_json(&s, &doc);
    json_t *j = json_loads(buf_cstr(&doc), 0, NULL);
    char created[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_object_set_new(j, "Created", json_string(created));
    json_object_set_new(j, "Arn", json_string(a->arn));
    char *stored = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    e = store_put(a->st, KMSKEYS_KIND, a->account, a->name, stored);
    free(stored);
    json_decref(j);
    buf_free(&doc);
    size_t n = s.n;
    signer_kms_set_free(&s);
    if (e != CL_OK) {
        aws_fault_set(a->f, 500, "InternalFailure", "cannot store the signer key set");
        return NULL;
    }
    log_info("signer keys: %s stored key set %s (%zu sealed keys)", a->c->arn, a->name, n);
    return json_pack("{s:s, s:s, s:I}", "Name", a->name, "Arn", a->arn, "KeyCount", (json_int_t)n);
}

static json_t *kk_get(kk_call *a) {
    json_t *j = stored_doc(a);
    return j ? json_pack("{s:o}", "SignerKeys", j) : NULL;
}

/* The listing view: everything but the keys themselves. */
static bool list_one(void *arg, const char *name, const char *doc) {
    (void)name;
    json_t *j = json_loads(doc, 0, NULL);
    if (!j) return true;
    json_object_set_new(j, "KeyCount",
                        json_integer((json_int_t)json_array_size(json_object_get(j, "Keys"))));
    json_object_del(j, "Keys");
    json_object_del(j, "EncryptedDataKey");
    json_array_append_new((json_t *)arg, j);
    return true;
}

static json_t *kk_list(kk_call *a) {
    json_t *arr = json_array();
    if (store_list(a->st, KMSKEYS_KIND, a->account, NULL, NULL, 0, list_one, arr, NULL) != CL_OK) {
        json_decref(arr);
        aws_fault_set(a->f, 500, "InternalFailure", "cannot list the signer key sets");
        return NULL;
    }
    return json_pack("{s:o}", "SignerKeys", arr);
}

static json_t *kk_delete(kk_call *a) {
    cl_err e = store_delete(a->st, KMSKEYS_KIND, a->account, a->name);
    if (e == CL_ERR_NOT_FOUND) {
        aws_fault_set(a->f, 404, "ResourceNotFoundException", "Signer key set not found: %s",
                      a->arn);
        return NULL;
    }
    if (e != CL_OK) {
        aws_fault_set(a->f, 500, "InternalFailure", "cannot delete the signer key set");
        return NULL;
    }
    log_info("signer keys: %s deleted key set %s", a->c->arn, a->name);
    return json_object();
}

static json_t *dispatch(kk_call *a, const char *target) {
    for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++) {
        if (strcmp(target + 9, OPS[i].name) != 0) continue;
        a->req->op = OPS[i].name;
        if (OPS[i].names_set && !parse_ref(a)) return NULL;
        if (!OPS[i].names_set)
            snprintf(a->account, sizeof a->account, "%s", a->c->account ? a->c->account : "");
        a->arn = cl_sprintf("arn:aws:cloister:%s:%s:signer-keys/%s", iam_caller_region(a->c),
                            a->account, OPS[i].names_set ? a->name : "*");
        return authorize(a, OPS[i].name) ? OPS[i].fn(a) : NULL;
    }
    aws_fault_set(a->f, 400, "UnknownOperationException", "Unknown operation");
    return NULL;
}

void signer_kmskeys_api_handle(store *st, iam *m, const iam_caller *c, http_request *req,
                               http_response *resp) {
    aws_fault f = {0};
    const char *target = kvlist_get_ci(&req->headers, "X-Amz-Target");
    json_t *in = aws_json_parse(buf_slice(&req->body), NULL, 0), *out = NULL;
    kk_call a = {.st = st, .m = m, .c = c, .req = req, .in = in, .f = &f};
    if (!c->account || !c->account[0])
        aws_fault_set(&f, 400, "MissingAuthenticationTokenException",
                      "Request is missing Authentication Token");
    else if (!json_is_object(in))
        aws_fault_set(&f, 400, "SerializationException", "Request body is not a JSON object");
    else
        out = dispatch(&a, target);
    json_decref(in);
    free(a.arn);
    aws_json_answer(resp, req, out, &f);
}
