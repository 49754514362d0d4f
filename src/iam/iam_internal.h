/* iam_internal.h — shared between the files of src/iam, not for other modules.
 * Item kinds in the meta store (scope / name):
 *   account      ""            / account id    {AccountId, AccountName, CreateDate}
 *   account_name ""            / lower(name)   {AccountId}
 *   user         acct          / lower(name)   {UserName, UserId, Arn, Path, CreateDate}
 *   access_key   ""            / AKIA...       {AccessKeyId, Secret, Account, UserName, Status,
 * CreateDate} user_key     acct/lower(u) / AKIA...       {}  (index of a user's keys) role acct /
 * lower(name)   {RoleName, RoleId, Arn, Path, CreateDate, AssumeRolePolicyDocument,
 * MaxSessionDuration, Description} policy       acct          / lower(name)   {PolicyName,
 * PolicyId, Arn, Path, Document, ...} user_policy  acct/lower(u) / policy name   {PolicyName,
 * PolicyDocument} role_policy  acct/lower(r) / policy name   {PolicyName, PolicyDocument}
 *   user_attach  acct/lower(u) / policy ARN    {PolicyArn, PolicyName}
 *   role_attach  acct/lower(r) / policy ARN    {PolicyArn, PolicyName}
 *   access_key   ""            / AKIA...       root keys: {AccessKeyId, Secret, Account, Root:
 * true, Status, CreateDate} (iam_root.c) root_key     acct          / AKIA...       {}  (index of
 * the account root's keys) session      ""            / ASIA...       {Secret, Token, Account,
 * Type, Arn, UserId, ..., Expiration, Policy}
 *   group        acct          / lower(name)   {GroupName, GroupId, Arn, Path, CreateDate}
 *   group_member acct/lower(g) / lower(user)   {UserName}   } both written in one
 *   user_group   acct/lower(u) / lower(group)  {GroupName}  } transaction
 *   group_policy acct/lower(g) / policy name   {PolicyName, PolicyDocument}
 *   group_attach acct/lower(g) / policy ARN    {PolicyArn, PolicyName}
 * IAM names are unique case-insensitively, as in AWS:
 * keys are lower-cased and the display name is kept in the document. */
#ifndef CLOISTER_IAM_INTERNAL_H
#define CLOISTER_IAM_INTERNAL_H

#include "iam/iam.h"

#include <jansson.h>

/* What authentication needs about one access key (long-term or session). */
typedef struct {
    bool temporary;
    bool active;       /* long-term keys: Status == Active */
    char *secret;      /* zeroised on free */
    char *token;       /* sessions: the session token; zeroised on free */
    time_t expiration; /* sessions */
    time_t issued;     /* sessions: when issued (0: not recorded) */
    principal_type type;
    char *account, *arn, *userid, *username;
    char *role_arn, *role_name, *session_name, *session_policy;
} iam_key_info;
void iam_key_info_free(iam_key_info *k);
/* What authentication needs about a root access key ({"Root": true}); false if
 * its account is gone (iam_root.c). */
bool iam_root_key_load(iam *m, json_t *key, iam_key_info *k);
void iam_key_info_copy(iam_key_info *dst, const iam_key_info *src);

/* The in-memory authentication cache (auth_cache.c). */
typedef struct iam_auth_cache iam_auth_cache;
iam_auth_cache *iam_auth_cache_new(void);
void iam_auth_cache_free(iam_auth_cache *c);
/* A copy of the entry if present and loaded at write sequence `seq`; the cached
 * signing key too when it was derived for `kscope` ("date/region/service"). */
bool iam_auth_cache_get(iam_auth_cache *c, const char *akid, uint64_t seq, const char *kscope,
                        iam_key_info *out, uint8_t key[32], bool *has_key);
void iam_auth_cache_put(iam_auth_cache *c, const char *akid, uint64_t seq,
                        const iam_key_info *info);
void iam_auth_cache_put_key(iam_auth_cache *c, const char *akid, uint64_t seq, const char *kscope,
                            const uint8_t key[32]);

/* The caller's parsed identity policies, shared and cached (policy_cache.c). */
typedef struct iam_policy_cache iam_policy_cache;
typedef struct iam_policy_ref iam_policy_ref;
iam_policy_cache *iam_policy_cache_new(void);
void iam_policy_cache_free(iam_policy_cache *c);

struct iam {
    store *st;
    bool seal;            /* iam_set_secret_key was called */
    uint8_t seal_key[32]; /* seals secrets at rest */
    char root_account[13];
    iam_auth_cache *auth_cache;
    iam_policy_cache *policy_cache;
    bool sigv2_off;  /* iam_set_sigv2(m, false): `serve --sigv2 off` */
    char *s3_domain; /* virtual-host S3 requests name BUCKET.s3_domain (SigV2 signs the bucket) */
};

#define IAM_ADMIN_POLICY_ARN "arn:aws:iam::aws:policy/AdministratorAccess"

/* A fresh AWS-style unique ID: prefix + 17 (ids) or 16 (keys) chars of A-Z2-7. */
void iam_new_id(char *out, size_t out_len, const char *prefix, size_t n_random);
/* A fresh 40-character secret access key. */
char *iam_new_secret(void);
/* Puts a secret into a document about to be stored: "SecretSealed" =
 * base64(iv || AES-256-GCM(seal key, aad = "cloister/iam/secret/v1" 0x00 id) ||
 * tag), or "Secret" in the clear without a seal key. */
void iam_secret_put(iam *m, json_t *doc, const char *id, const char *secret);
/* The secret of a stored document (malloc'd; cl_free_secret), NULL if it
 * cannot be read (no secret, or sealed under another key). */
char *iam_secret_get(iam *m, json_t *doc, const char *id);
char *iam_lower(const char *s);
char *iam_scope2(const char *account, const char *name); /* "acct/lower(name)" */

/* Loads a JSON document; NULL if absent or unreadable. */
json_t *iam_doc_get(iam *m, const char *kind, const char *scope, const char *name);
/* Saves a JSON document; insert_only makes an existing item CL_ERR_EXISTS. */
cl_err iam_doc_put(iam *m, const char *kind, const char *scope, const char *name, json_t *doc,
                   bool insert_only);
const char *iam_str(json_t *doc, const char *key); /* "" if missing */
/* Read-modify-write of a stored document in one transaction (store_update):
 * fn changes `doc` in place. CL_ERR_NOT_FOUND if the item is absent. */
typedef cl_err (*iam_doc_fn)(void *arg, json_t *doc);
cl_err iam_doc_update(iam *m, const char *kind, const char *scope, const char *name, iam_doc_fn fn,
                      void *arg);
/* Sets every member of `fields` (stolen) in the stored document, provided its
 * `id_key` member still equals `seen`'s (the entity the op loaded was not
 * deleted and re-created meanwhile); CL_ERR_NOT_FOUND otherwise. */
cl_err iam_doc_merge(iam *m, const char *kind, const char *scope, const char *name,
                     const json_t *seen, const char *id_key, json_t *fields);

/* Replaces a role document's AssumeRolePolicyDocument by its rendered form
 * (iam_policy_render_principals), for responses. */
void iam_role_doc_render(iam *m, json_t *role);

/* Built-in AWS managed policies (arn:aws:iam::aws:policy/...): document or NULL. */
const char *iam_builtin_policy(const char *arn);

/* Creates a user (and nothing else) in `account`; returns its document (owned). */
cl_err iam_user_create(iam *m, const char *account, const char *name, const char *path,
                       json_t **out, aws_fault *f);
/* Creates an access key for an existing user; returns the key document (owned),
 * which includes the secret. */
cl_err iam_key_create(iam *m, const char *account, const char *user, json_t **out, aws_fault *f);

/* The identity policies of a caller (user or role; inline + attached), parsed. */
typedef struct {
    policy **items;
    size_t len;
} iam_policy_set;
cl_err iam_load_identity_policies(iam *m, const iam_caller *c, iam_policy_set *out);
void iam_policy_set_free(iam_policy_set *s);
/* A reference to the caller's policy set (NULL for principals without one);
 * valid until iam_policy_release, even if the cache replaces it meanwhile. */
iam_policy_ref *iam_policy_acquire(iam *m, const iam_caller *c);
void iam_policy_release(iam *m, iam_policy_ref *r);
const iam_policy_set *iam_policy_ref_set(const iam_policy_ref *r);

/* Validates a policy document for the API, filling MalformedPolicyDocument. */
cl_err iam_check_policy(const char *doc, policy_kind kind, aws_fault *f);

/* Query-protocol helpers shared by iam_api*.c and sts.c */
const char *iam_param(const cl_kvlist *params, const char *name);
bool iam_require(const cl_kvlist *params, const char *name, const char **out, aws_fault *f);
void iam_respond_fault(http_response *r, const aws_fault *f, const char *xmlns, const char *rid);

/* One Query-protocol operation in flight: what every handler needs. */
typedef struct {
    iam *m;
    const iam_caller *c;
    http_request *req;
    const cl_kvlist *params;
    cl_buf *out;
    aws_fault *f;
    const char *action; /* "CreateUser" */
    const char *xmlns;
    bool result_open; /* iam_op_begin was called: the dispatcher closes the Result */
} iam_op;
/* Starts <ActionResponse><ActionResult>; the dispatcher writes the end. */
void iam_op_begin(iam_op *op);
/* A complete response without a Result element. */
void iam_op_empty(iam_op *op);
typedef cl_err (*iam_op_fn)(iam_op *op);
typedef struct {
    const char *action;
    iam_op_fn fn;
} iam_op_entry;
/* Finds Action in ops, runs it, and writes the Query-protocol response or error. */
void iam_query_dispatch(iam *m, const iam_caller *c, http_request *req, const cl_kvlist *params,
                        http_response *resp, const iam_op_entry *ops, size_t n_ops,
                        const char *xmlns, const char *version);

/* Authorizes "iam:<action>" (or `full_action` if given) on `resource` within the
 * caller's account; on deny the fault is filled and CL_ERR_DENIED returned. */
cl_err iam_op_authorize(iam_op *op, const char *full_action, const char *resource);
/* Validates an IAM name ([\w+=,.@-], 1..max) for parameter `param`. */
bool iam_valid_name(iam_op *op, const char *param, const char *value, size_t max);
/* Validates free text (Description) as AWS does: tab, LF, CR, printable Latin-1. */
bool iam_valid_text(iam_op *op, const char *param, const char *value, size_t max);
/* Optional MaxItems/Marker paging parameters. */
cl_err iam_paging(iam_op *op, size_t *max_items, const char **marker);
void iam_xml_truncation(cl_buf *b, bool more, const char *last_key);
/* One page of a filtered List* (PathPrefix, OnlyAttached): store_list with no
 * limit, and the callback calls iam_page_take for each item that passes the
 * filter; false: the page is full and that item is the next page's (stop the
 * listing). So a page holds MaxItems items whenever that many remain. */
typedef struct {
    size_t left; /* items still allowed on this page (MaxItems at first) */
    bool more;   /* IsTruncated */
    char *last;  /* the Marker: name of the last item taken (free it) */
} iam_page;
bool iam_page_take(iam_page *pg, const char *name);
/* A List* operation over the account's items of `kind` (users, roles): paging,
 * PathPrefix filter, authorization on `resource`, one <member> per item. */
cl_err iam_list_entities(iam_op *op, const char *kind, const char *list_tag,
                         void (*emit)(cl_buf *, json_t *), const char *resource);
/* PolicyDocument values are URL-encoded in IAM responses, as AWS sends them. */
void iam_xml_policy_doc(cl_buf *b, const char *tag, const char *doc);

/* A managed policy by ARN: this account's customer policy (with its store key in
 * *key_out if asked) or a built-in one as a synthetic document; NoSuchEntity
 * fault otherwise. */
json_t *iam_managed_policy(iam_op *op, const char *arn, char **key_out);

/* Handlers for the operation tables (iam_api_*.c). */
cl_err iam_op_create_role(iam_op *op);
cl_err iam_op_get_role(iam_op *op);
cl_err iam_op_list_roles(iam_op *op);
cl_err iam_op_delete_role(iam_op *op);
cl_err iam_op_update_role(iam_op *op);
cl_err iam_op_update_assume_role_policy(iam_op *op);
cl_err iam_op_create_policy(iam_op *op);
cl_err iam_op_get_policy(iam_op *op);
cl_err iam_op_get_policy_version(iam_op *op);
cl_err iam_op_delete_policy(iam_op *op);
cl_err iam_op_list_policies(iam_op *op);
cl_err iam_op_put_entity_policy(iam_op *op);
cl_err iam_op_get_entity_policy(iam_op *op);
cl_err iam_op_delete_entity_policy(iam_op *op);
cl_err iam_op_list_entity_policies(iam_op *op);
cl_err iam_op_attach_entity_policy(iam_op *op);
cl_err iam_op_detach_entity_policy(iam_op *op);
cl_err iam_op_list_attached_entity_policies(iam_op *op);

/* Further operation tables: groups (iam_api_groups.c); UpdateUser,
 * GetAccountSummary, ListEntitiesForPolicy (iam_api_account.c). */
extern const iam_op_entry IAM_GROUP_OPS[];
extern const size_t IAM_GROUP_OPS_LEN;
extern const iam_op_entry IAM_ACCOUNT_OPS[];
extern const size_t IAM_ACCOUNT_OPS_LEN;

#endif
