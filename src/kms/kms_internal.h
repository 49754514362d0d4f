/* kms_internal.h — what the files of src/kms share: the service struct, the
 * per-request call context, key documents and the helpers every operation uses.
 *
 * Store kinds (all JSON):
 *   kms_key   scope ACCOUNT, name KEY-UUID: {KeyId, Arn, AccountId, Region,
 *             CreationDate, Description, KeySpec, KeyUsage, KeyState,
 *             DeletionDate?, PendingWindowInDays?, KeyManager, Policy (text),
 *             Material: [{Version, Wrapped (b64), Created}], CurrentVersion,
 *             RotationEnabled, RotationPeriodInDays, NextRotationDate?, Tags}
 *   kms_alias scope ACCOUNT, name "alias/NAME": {AliasName, AliasArn,
 *             TargetKeyId, CreationDate, LastUpdatedDate}
 *   kms_grant scope ACCOUNT/KEY-UUID, name GRANT-ID: {GrantId, KeyId (ARN),
 *             GranteePrincipal, RetiringPrincipal?, Operations, Constraints?,
 *             Name?, IssuingAccount, CreationDate, GrantToken} */
#ifndef CLOISTER_KMS_INTERNAL_H
#define CLOISTER_KMS_INTERNAL_H

#include "attest/attest.h"
#include "kms/kms.h"
#include "kms/kms_crypto.h"

#include <pthread.h>

struct kms {
    store *st;
    iam *m;
    kms_root_key root;
    cl_buf attest_root;
    pthread_mutex_t lock; /* serialises read-modify-write of key documents */
};

/* One request. */
typedef struct {
    kms *k;
    const iam_caller *c;
    const http_request *req;
    json_t *in;
    json_t *out;  /* response object, set by the operation */
    cl_buf blobs; /* ,"Name":"base64" members added to out when responding */
    aws_fault f;
    const char *via_service; /* S3 acting for the caller, else NULL */
} kms_call;

/* The parsed key policy of a cached key document (kms_cache.c). */
typedef struct kms_policy_ref kms_policy_ref;
const policy *kms_policy_ref_get(const kms_policy_ref *r);
void kms_policy_ref_release(kms_policy_ref *r);

/* A loaded key. doc may be shared with the cache: change it only through
 * kms_key_set / kms_key_del (or after kms_key_own). */
typedef struct {
    json_t *doc;
    const char *account, *key_id, *arn; /* point into doc */
    kms_key_spec spec;
    bool shared;
    kms_policy_ref *pol; /* the parsed key policy, when loaded through the cache */
    json_t *base;        /* the document as loaded, kept once it is changed */
    json_t *changes;     /* fields set since (JSON null: deleted), for kms_key_save */
} kms_key;

bool kms_cache_get(kms *k, const char *uuid, json_t **doc, kms_policy_ref **pol);
kms_policy_ref *kms_cache_put(kms *k, const char *uuid, json_t *doc, uint64_t seq);
void kms_cache_clear(void);
void kms_key_own(kms_key *key);
void kms_key_set(kms_key *key, const char *name, json_t *value); /* steals value */
void kms_key_del(kms_key *key, const char *name);

void kms_key_free(kms_key *key);

/* ---- errors ---- */
bool kms_fail(kms_call *call, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define kms_invalid(call, ...) kms_fail(call, 400, "ValidationException", __VA_ARGS__)

/* ---- request fields ---- */
/* A string member; NULL (and no fault) if absent; fault if present and not a
 * string (returns NULL and sets *bad). */
const char *kms_in_str(kms_call *call, const char *name, bool required, bool *bad);
/* A base64 blob member decoded into out (1..max bytes); false with a fault. */
bool kms_in_blob(kms_call *call, const char *name, size_t max, cl_buf *out);
/* The EncryptionContext-style member: NULL if absent; false + fault if not an
 * object of strings. */
bool kms_in_context(kms_call *call, const char *name, const json_t **out);
/* A binary response member (Plaintext, CiphertextBlob...): base64 written
 * straight into the response, not through a JSON string. */
void kms_out_blob(kms_call *call, const char *name, cl_slice bytes);
double kms_epoch(time_t t);

/* ---- keys (kms_keys.c) ---- */
/* Resolves a KeyId parameter (UUID, key ARN, alias name, alias ARN) for the
 * caller. NotFoundException on failure. */
bool kms_key_resolve(kms_call *call, const char *key_id, kms_key *out);
bool kms_key_load(kms *k, const char *account, const char *uuid, kms_key *out);
/* Writes the fields changed through kms_key_set/kms_key_del onto the stored
 * document in one read-modify-write (store_update), so concurrent changes of
 * other fields are kept. A change of KeyState or of the key material fails
 * with CL_ERR_CONFLICT if another writer changed that field since the load
 * (the state checks the op made no longer hold); CL_ERR_NOT_FOUND if the key
 * is gone. */
cl_err kms_key_save(kms *k, kms_key *key);
/* A key policy as stored: users and roles bound to their unique IDs
 * (iam_policy_bind_principals; malloc'd), or NULL with
 * MalformedPolicyDocumentException if one of them does not exist. */
char *kms_policy_bind(kms_call *call, const char *text);
/* The key the request's KeyId names, with `action` authorized on it. */
bool kms_key_for(kms_call *call, const char *action, kms_key *key);
/* Checks the state allows cryptographic use (DisabledException,
 * KMSInvalidStateException). */
bool kms_key_usable(kms_call *call, const kms_key *key);
/* Material of a version (0 = current), unwrapped; buf_free_secret after use. */
bool kms_key_material(kms_call *call, const kms_key *key, uint32_t version, cl_buf *out);
uint32_t kms_key_current_version(const kms_key *key);
/* Adds a new material version (rotation). */
cl_err kms_key_rotate(kms *k, kms_key *key);
json_t *kms_key_metadata(const kms_key *key);
/* Creates a key document (material version 1) for account; policy text NULL =
 * the default key policy. */
cl_err kms_key_create(kms *k, const char *account, const char *region, kms_key_spec spec,
                      const char *usage, const char *description, const char *policy,
                      const char *key_manager, kms_key *out);
char *kms_default_policy(const char *account);

/* ---- authorization (kms_authz.c) ---- */
typedef struct {
    const json_t *context;       /* encryption context, or NULL */
    const attest_doc *recipient; /* verified Recipient document, or NULL */
    const char *grant_op;        /* the grant operation name ("Decrypt"), NULL = not grantable */
} kms_authz_extra;
/* kms:ACTION on the key: key policy (resource policy, must allow), identity
 * policies, grants. AccessDeniedException on deny, and always for a caller
 * outside the key's account when the action is same-account only. */
bool kms_authorize_key(kms_call *call, const kms_key *key, const char *action,
                       const kms_authz_extra *x);
/* True for the key actions AWS marks "Cross-account use: No" (kms_authz.c). */
bool kms_action_same_account_only(const char *action);
/* Actions without a key (CreateKey, ListKeys, ListAliases, GenerateRandom):
 * identity policies on resource "*". */
bool kms_authorize_account(kms_call *call, const char *action, const kms_authz_extra *x);
/* Parses a new key policy; false (MalformedPolicyDocumentException) when it does
 * not parse or names a condition key the server never supplies. */
bool kms_policy_valid(kms_call *call, const char *text);
/* Would `policy_text` let the caller call kms:PutKeyPolicy on key? (lockout check) */
bool kms_policy_keeps_caller(kms_call *call, const kms_key *key, const char *policy_text);

/* The account that owns a key id (index kind "kms_key_index", scope "",
 * name KEY-UUID, doc {"AccountId"}), so a ciphertext blob finds its key. */
cl_err kms_key_index_put(kms *k, const char *uuid, const char *account);
bool kms_key_index_get(kms *k, const char *uuid, char account[13]);

/* Writes an alias document (insert unless replace). created 0 = now. */
cl_err kms_alias_write(kms *k, const char *account, const char *name, const char *arn,
                       const char *target, double created, bool replace);

/* The symmetric cores (kms_ops_crypto.c), shared with kms_service.c: seal
 * under the key's current material; find, authorize (action, with the
 * context and Recipient as condition keys), check and open a blob. */
bool kms_call_seal(kms_call *call, const kms_key *key, const json_t *ctx, cl_slice plain,
                   cl_buf *blob);
bool kms_call_open_blob(kms_call *call, cl_slice bytes, const json_t *ctx, const char *key_param,
                        const char *action, const attest_doc *recip, kms_key *key, cl_buf *plain);

/* ---- operations ---- */
typedef bool (*kms_op_fn)(kms_call *call);
bool kms_op_create_key(kms_call *call);
bool kms_op_describe_key(kms_call *call);
bool kms_op_list_keys(kms_call *call);
bool kms_op_enable_key(kms_call *call);
bool kms_op_disable_key(kms_call *call);
bool kms_op_schedule_key_deletion(kms_call *call);
bool kms_op_cancel_key_deletion(kms_call *call);
bool kms_op_update_key_description(kms_call *call);
bool kms_op_encrypt(kms_call *call);
bool kms_op_decrypt(kms_call *call);
bool kms_op_re_encrypt(kms_call *call);
bool kms_op_generate_data_key(kms_call *call);
bool kms_op_generate_data_key_without_plaintext(kms_call *call);
bool kms_op_generate_random(kms_call *call);
bool kms_op_sign(kms_call *call);
bool kms_op_verify(kms_call *call);
bool kms_op_get_public_key(kms_call *call);
bool kms_op_create_alias(kms_call *call);
bool kms_op_list_aliases(kms_call *call);
bool kms_op_delete_alias(kms_call *call);
bool kms_op_update_alias(kms_call *call);
bool kms_op_put_key_policy(kms_call *call);
bool kms_op_get_key_policy(kms_call *call);
bool kms_op_list_key_policies(kms_call *call);
bool kms_op_create_grant(kms_call *call);
bool kms_op_list_grants(kms_call *call);
bool kms_op_retire_grant(kms_call *call);
bool kms_op_revoke_grant(kms_call *call);
bool kms_op_enable_key_rotation(kms_call *call);
bool kms_op_disable_key_rotation(kms_call *call);
bool kms_op_get_key_rotation_status(kms_call *call);
bool kms_op_rotate_key_on_demand(kms_call *call);

/* Grants of a key that give `op` to the caller under `context` (kms_grants.c). */
bool kms_grant_allows(kms_call *call, const kms_key *key, const char *op, const json_t *context);

#endif
