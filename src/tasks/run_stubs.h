/* TEMPORARY (removed at merge): declarations the secrets branch provides. */
#ifndef RUN_STUBS_H
#define RUN_STUBS_H
#include "iam/iam.h"
#include "secrets/secrets.h"
char *secrets_principal_id(const iam_caller *c);
cl_err secrets_for_run(secrets_store *s, const char *account, const char *principal_id,
                       const char *name, bool debug, cl_buf *out);
cl_err secrets_app_for_run(secrets_store *s, const secrets_addr *app, bool debug, cl_buf *out);
#endif
