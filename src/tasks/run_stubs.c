/* TEMPORARY stubs (removed at merge). */
#include "tasks/run_stubs.h"
#include <string.h>
char *secrets_principal_id(const iam_caller *c) {
    return cl_strdup(c->userid ? c->userid : "");
}
cl_err secrets_for_run(secrets_store *s, const char *account, const char *principal_id,
                       const char *name, bool debug, cl_buf *out) {
    (void)s;
    (void)account;
    (void)principal_id;
    (void)debug;
    (void)out;
    if (strcmp(name, "x1") == 0) {
        buf_append_cstr(out, "2");
        return CL_OK;
    }
    return CL_ERR_NOT_FOUND;
}
cl_err secrets_app_for_run(secrets_store *s, const secrets_addr *app, bool debug, cl_buf *out) {
    (void)s;
    (void)app;
    (void)debug;
    buf_append_cstr(out, "1;1;1;1");
    return CL_OK;
}
