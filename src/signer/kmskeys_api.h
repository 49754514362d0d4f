/* kmskeys_api.h — the node side of KMS-sealed signer keys (kmskeys_api.c): the
 * Cloister API operations PutSignerKeys, GetSignerKeys, ListSignerKeys and
 * DeleteSignerKeys, which the front door routes here (src/cli/frontdoor.c).
 * Its own library, cl_signer_node (src/signer/meson.build), so the signer
 * library stays free of IAM. */
#ifndef CLOISTER_SIGNER_KMSKEYS_API_H
#define CLOISTER_SIGNER_KMSKEYS_API_H

#include "iam/iam.h"
#include "signer/signer.h"

/* true for "Cloister.PutSignerKeys" and the three others. */
bool signer_kmskeys_api_owns(const char *target);
/* Answers one of them (JSON 1.1; errors with __type as KMS-style services do). */
void signer_kmskeys_api_handle(store *st, iam *m, const iam_caller *c, http_request *req,
                               http_response *resp);

#endif
