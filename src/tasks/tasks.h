/* tasks.h — the one public header of src/tasks: confidential apps (and, later,
 * runs). Apps: a folder packed into a canonical bundle (bundle.c), its
 * measurement and iExec-style address, and the `cloister` JSON API operations
 * CreateApp, GetApp, ListApps, DeleteApp, SetAppOwner, PutAppSecret and
 * DescribeAppSecret (apps.c). The formats
 * are specified in docs/apps.md. Depends on iam, secrets, store and crypto (downward). */
#ifndef CLOISTER_TASKS_H
#define CLOISTER_TASKS_H

#include "base/base.h"
#include "http/http.h"
#include "iam/iam.h"
#include "secrets/secrets.h"
#include "store/store.h"

#define TASKS_MEASUREMENT_LEN 48    /* SHA-384 */
#define TASKS_ADDRESS_LEN 20        /* bytes of an app address */
#define TASKS_BUNDLE_MAX (6u << 20) /* bundle bytes CreateApp accepts */
#define TASKS_ENTRYPOINT_MAX 1024

/* ---- the canonical bundle (bundle.c) ---- */
/* Packs the tree under dir into a canonical POSIX ustar archive (docs/apps.md:
 * entries sorted by path, uid/gid 0, mtime 0, mode 0644/0755/0755 for dirs, no
 * owner names, regular files and directories only). Symlinks, devices, fifos
 * and sockets are refused (CL_ERR_INVALID, err names the path), as are paths
 * that do not fit ustar's name+prefix fields and bundles over max bytes. */
cl_err tasks_bundle_pack(const char *dir, size_t max, cl_buf *out, char *err, size_t errlen);
/* Checks that bytes are a bundle of that canonical shape (what the server
 * accepts); CL_ERR_INVALID with a reason otherwise. */
cl_err tasks_bundle_check(cl_slice bundle, char *err, size_t errlen);

/* App names: [A-Za-z0-9_-]{1,64}. */
bool tasks_app_name_valid(const char *name);
/* The measurement (PCR0 analogue): SHA-384 over the domain-separated encoding
 * of SHA-384(bundle), the entrypoint and the canonical manifest text. */
void tasks_app_measure(cl_slice bundle, const char *entrypoint, const char *manifest,
                       uint8_t out[TASKS_MEASUREMENT_LEN]);
/* The app address: the last 20 bytes of keccak256("cloister-app" || account || name). */
void tasks_app_address(const char *account, const char *name, uint8_t out[TASKS_ADDRESS_LEN]);
/* Validates a manifest JSON text (NULL/empty = {}) and returns its canonical
 * form (compact, sorted keys; malloc'd), or NULL with err set. */
char *tasks_manifest_canonical(const char *json, char *err, size_t errlen);

/* ---- the apps service (apps.c) ---- */
typedef struct tasks tasks;
/* Opens the app registry: documents in st, bundle bytes in a blob store of
 * their own under data_dir/app-bundles (not S3's, whose GC would take them). */
cl_err tasks_open(store *st, iam *m, const char *data_dir, tasks **out);
void tasks_close(tasks *t); /* NULL is fine */
/* The proof SetAppOwner requires: an EIP-191 personal-sign by the new owner of
 * challenge = keccak256("cloister-app-owner" || app address (20 bytes) ||
 * owner address (20 bytes)). The check itself (secp256k1 recovery) lives with
 * the secret service; whoever wires the server installs it here, so tasks does
 * not depend on src/secrets. fn gets the wire signature ("0x" + 130 hex), the
 * challenge and the owner ("0x" + 40 lower-case hex) and returns CL_OK if it
 * recovers to owner, CL_ERR_DENIED if to another address, CL_ERR_INVALID if
 * malformed. Without a checker SetAppOwner answers NotImplemented. */
typedef cl_err (*tasks_sig_check_fn)(const char *signature, const uint8_t challenge[32],
                                     const char *owner);
void tasks_set_sig_check(tasks *t, tasks_sig_check_fn fn);
void tasks_owner_challenge(const uint8_t app[TASKS_ADDRESS_LEN],
                           const uint8_t owner[TASKS_ADDRESS_LEN], uint8_t out[32]);
/* The secret store PutAppSecret / DescribeAppSecret write to and read from
 * (the app developer secret: owner the app's address, name "1"). Without it
 * they answer NotImplemented. */
void tasks_set_secrets(tasks *t, secrets_store *s);
/* The Ethereum owner address (SetAppOwner) of the app whose address is app:
 * CL_ERR_NOT_FOUND if no app has that address or it has no owner. tasks_ctx
 * is the tasks; the shape of secrets_app_owner_fn, for
 * secrets_set_app_owner_lookup. Apps are found through an index item (kind
 * "app_address", scope "", name "0x" + 40 lower-case hex -> {"Account",
 * "Name"}) written by CreateApp and removed by DeleteApp. */
cl_err tasks_app_owner_by_address(void *tasks_ctx, const secrets_addr *app, secrets_addr *owner);
/* True if the X-Amz-Target names an operation of this module. */
bool tasks_api_owns(const char *target);
/* Handles a `cloister` JSON 1.1 request whose target tasks_api_owns. */
void tasks_api_handle(tasks *t, const iam_caller *c, http_request *req, http_response *resp);

#endif
