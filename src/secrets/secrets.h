/* secrets.h — the one public header of src/secrets: the secret service of
 * confidential runs. The iExec SMS side: the wire pieces (sms_wire.c,
 * sms_sig.c) and the SMS listener (sms_http.c): Ethereum addresses, secret
 * names and values as the SMS accepts them, the challenge the stock `iexec`
 * CLI signs, the `Authorization` signature and the address it recovers to,
 * and the parser of the SMS request paths. The store (secrets_store.c) of
 * secrets owned by an Ethereum address or a Cloister principal, production or
 * debug, with the wallet links and the run engine's look-ups. The Cloister
 * API of secrets and wallet links (secrets_api.c). Format: docs/secrets.md;
 * vectors: ../shared/vectors/iexec-sms.json (tests/unit/test_secrets.c). */
#ifndef CLOISTER_SECRETS_H
#define CLOISTER_SECRETS_H

#include "base/base.h"

#define SECRETS_ADDR_LEN 20
#define SECRETS_ADDR_STR_LEN 42 /* "0x" + 40 hex, without the NUL */
#define SECRETS_NAME_MAX 64
#define SECRETS_VALUE_MAX 4096
#define SECRETS_HASH_LEN 32
#define SECRETS_SIG_LEN 65 /* r || s || v */

typedef struct {
    uint8_t b[SECRETS_ADDR_LEN];
} secrets_addr;

/* "0x" + 40 hex digits, either case, nothing else (EIP-55 checksums are not
 * checked: the SMS does not either). CL_ERR_INVALID otherwise. */
cl_err secrets_addr_parse(cl_slice s, secrets_addr *out);
/* The normalised form: "0x" + 40 lower-case hex, NUL-terminated. */
void secrets_addr_format(const secrets_addr *a, char out[SECRETS_ADDR_STR_LEN + 1]);
bool secrets_addr_eq(const secrets_addr *a, const secrets_addr *b);

/* Names: [A-Za-z0-9_-]{1,64}. Values: at most 4096 bytes (any bytes). */
bool secrets_name_valid(cl_slice name);
bool secrets_value_valid(cl_slice value);

/* challenge = keccak256(keccak256("IEXEC_SMS_DOMAIN") || address(20 bytes) ||
 *                       keccak256(name) || keccak256(value)).
 * App secrets use the app address and the name "1". */
void secrets_challenge(const secrets_addr *a, cl_slice name, cl_slice value,
                       uint8_t out[SECRETS_HASH_LEN]);
/* EIP-191 personal-sign hash of the 32 raw challenge bytes:
 * keccak256("\x19Ethereum Signed Message:\n32" || challenge). */
void secrets_eip191_hash(const uint8_t challenge[SECRETS_HASH_LEN], uint8_t out[SECRETS_HASH_LEN]);

typedef struct {
    uint8_t r[32], s[32];
    int recid; /* 0 or 1 (v = 27/28 or 0/1 on the wire) */
} secrets_sig;

/* The `Authorization` value: "0x" + 130 hex (r || s || v), surrounding
 * spaces allowed. CL_ERR_INVALID for anything else (including v not in
 * {0, 1, 27, 28}). */
cl_err secrets_sig_parse(cl_slice authorization, secrets_sig *out);
/* The address whose key made `sig` over `hash` (ecrecover). CL_ERR_INVALID
 * if r or s is 0 or >= n or no point has x = r; CL_ERR_CRYPTO on a library
 * failure. High s is accepted, as iExec's SMS (web3j) accepts it. */
cl_err secrets_sig_recover(const secrets_sig *sig, const uint8_t hash[SECRETS_HASH_LEN],
                           secrets_addr *out);
/* The whole check of a push: CL_OK when `authorization` is a personal-sign
 * by `signer` of the challenge of (owner, name, value); CL_ERR_INVALID if it
 * cannot be parsed or recovered, CL_ERR_DENIED if it recovers to another
 * address. For requester secrets signer == owner; for app secrets owner is
 * the app address, name "1", and signer the app's recorded owner. */
cl_err secrets_sms_verify(cl_slice authorization, const secrets_addr *signer,
                          const secrets_addr *owner, cl_slice name, cl_slice value);

/* ---- SMS request paths ---- */
typedef enum { SECRETS_SMS_REQUESTER = 1, SECRETS_SMS_APP } secrets_sms_kind;
typedef enum { SECRETS_SMS_HEAD = 1, SECRETS_SMS_POST } secrets_sms_method;

typedef struct {
    secrets_sms_kind kind;
    secrets_sms_method method;
    secrets_addr addr;               /* requester or app address */
    char name[SECRETS_NAME_MAX + 1]; /* requester secrets; "1" for apps */
} secrets_sms_request;

/* Parse METHOD and PATH (a query string is ignored):
 *   HEAD|POST /requesters/{address}/secrets/{name}
 *   HEAD|POST /apps/{address}/secrets
 * CL_OK with *out filled; otherwise *status is the HTTP answer (400 bad
 * address or name, 404 no such path, 405 other method) and *why a static
 * message. Never 5xx: the iexec CLI treats 5xx as fatal. */
cl_err secrets_sms_parse(cl_slice method, cl_slice path, secrets_sms_request *out, int *status,
                         const char **why);

/* ---- the store of secrets (secrets_store.c) ---- */
typedef struct store store;
typedef struct secrets_store secrets_store;
/* The label serve.c derives the store's sealing key with (kms_node_key). */
#define SECRETS_NODE_KEY_PURPOSE "cloister secrets v1"
#define SECRETS_PRINCIPAL_MAX 128 /* bytes of a principal id */

/* key: 32 bytes that seal values at rest (copied; zeroised on close). */
cl_err secrets_store_open(store *st, const uint8_t key[32], secrets_store **out);
void secrets_store_close(secrets_store *s);

/* Who owns a secret: an Ethereum address (iExec SMS pushes, app developer
 * secrets under the app's address) or a Cloister principal (its 12-digit
 * account and its principal id, secrets_principal_id). Set addr, or account
 * and principal. Each secret is production (debug = false) or debug: two
 * separate namespaces (a debug run only ever gets debug secrets). */
typedef struct {
    const secrets_addr *addr;
    const char *account;   /* 12 digits */
    const char *principal; /* [A-Za-z0-9]{1,128} */
} secrets_owner;

/* Write-once: CL_ERR_EXISTS if (owner, name, mode) is stored already,
 * CL_ERR_INVALID for a bad name or owner, CL_ERR_TOO_LARGE for a value over
 * 4096 bytes. */
cl_err secrets_owner_put(secrets_store *s, const secrets_owner *o, const char *name, bool debug,
                         cl_slice value);
/* CL_OK if stored (created, if not NULL, gets its ISO 8601 creation time,
 * "" if unknown), CL_ERR_NOT_FOUND if not, CL_ERR_INVALID for a bad name. */
cl_err secrets_owner_exists(secrets_store *s, const secrets_owner *o, const char *name, bool debug,
                            char created[32]);
/* Never over HTTP: appends the value to out (release with buf_free_secret).
 * CL_ERR_NOT_FOUND, or CL_ERR_CRYPTO when it does not open under this key. */
cl_err secrets_owner_get(secrets_store *s, const secrets_owner *o, const char *name, bool debug,
                         cl_buf *out);

/* Removes a secret (DeleteApp removes the app's); CL_OK whether or not it existed. */
cl_err secrets_owner_delete(secrets_store *s, const secrets_owner *o, const char *name, bool debug);

/* The iExec requester secrets: production secrets of an address owner
 * (what the SMS stores); shorthands of the secrets_owner_* calls. */
cl_err secrets_store_put(secrets_store *s, const secrets_addr *owner, const char *name,
                         cl_slice value);
cl_err secrets_store_exists(secrets_store *s, const secrets_addr *owner, const char *name);
cl_err secrets_store_get(secrets_store *s, const secrets_addr *owner, const char *name,
                         cl_buf *out);

/* ---- wallet links (secrets_store.c): a principal's Ethereum address ---- */
/* challenge = keccak256("cloister-wallet-link" || account (12 ASCII digits) ||
 *                       principal id (ASCII) || address (20 bytes));
 * LinkWallet wants an EIP-191 personal-sign of it by the address. */
void secrets_wallet_challenge(const char *account, const char *principal, const secrets_addr *a,
                              uint8_t out[SECRETS_HASH_LEN]);
/* One address per principal: a new link replaces the old one. */
cl_err secrets_wallet_link(secrets_store *s, const char *account, const char *principal,
                           const secrets_addr *a);
/* CL_ERR_NOT_FOUND if the principal linked none. */
cl_err secrets_wallet_get(secrets_store *s, const char *account, const char *principal,
                          secrets_addr *out);
/* CL_OK whether or not a link existed. */
cl_err secrets_wallet_unlink(secrets_store *s, const char *account, const char *principal);

/* ---- for the run engine ---- */
/* The value of requester secret `name` for a run requested by principal
 * (account, principal_id): the principal's own secret of that name first,
 * else the one pushed (through the SMS) by the Ethereum address the principal
 * linked. debug selects the namespace. CL_ERR_NOT_FOUND if neither exists.
 * Appends to out; the caller frees it with buf_free_secret. */
cl_err secrets_for_run(secrets_store *s, const char *account, const char *principal_id,
                       const char *name, bool debug, cl_buf *out);
/* The app developer secret of the app with this address; CL_ERR_NOT_FOUND if none. */
cl_err secrets_app_for_run(secrets_store *s, const secrets_addr *app, bool debug, cl_buf *out);

/* ---- app owners (for the SMS /apps endpoints) ---- */
/* The Ethereum address recorded as the owner of the app with address `app`
 * (SetAppOwner): CL_ERR_NOT_FOUND if no app has that address or it has no
 * owner. serve.c wires it to tasks_app_owner_by_address (src/secrets does not
 * depend on src/tasks). Without it, app secret pushes answer 404. */
typedef cl_err (*secrets_app_owner_fn)(void *ctx, const secrets_addr *app, secrets_addr *owner);
void secrets_set_app_owner_lookup(secrets_store *s, secrets_app_owner_fn fn, void *ctx);
cl_err secrets_app_owner(secrets_store *s, const secrets_addr *app, secrets_addr *owner);

/* ---- the SMS listener (sms_http.c) ---- */
#include "http/http.h"
/* The http_handler of `cloister serve --sms-listen`; ctx is the secrets_store. */
void secrets_sms_handle(void *ctx, http_request *req, http_response *resp);

/* ---- the Cloister API of secrets (secrets_api.c) ---- */
#include "iam/iam.h"
/* The stable id of a principal: an IAM user's unique id (AIDA...), a role
 * session's role unique id (AROA..., the part of aws:userid before ':'), the
 * account id for the account root. malloc'd; NULL for anonymous callers. */
char *secrets_principal_id(const iam_caller *c);
/* True if the X-Amz-Target names one of PutSecret, DescribeSecret, LinkWallet,
 * GetWallet, GetWalletChallenge, UnlinkWallet. */
bool secrets_api_owns(const char *target);
/* Handles a `cloister` JSON 1.1 request whose target secrets_api_owns. */
void secrets_api_handle(secrets_store *s, iam *m, const iam_caller *c, http_request *req,
                        http_response *resp);

#endif
