/* fuzz_query_api.c — the AWS Query protocol as a client sends it: a form body
 * parsed into parameters and dispatched to the real IAM and STS handlers, as
 * the first account's admin, over an in-memory meta store. Any input must give
 * a well-formed response (a status and a body), never a crash or a leak. */
#include "iam/iam.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static store *st;
static iam *m;
static iam_caller caller;

static void init(void) {
    if (store_open(":memory:", &st) != CL_OK || iam_open(st, &m) != CL_OK) abort();
    char path[64];
    snprintf(path, sizeof path, "/tmp/cl-fuzz-credentials-%d", (int)getpid());
    bool created;
    if (iam_bootstrap(m, path, &created) != CL_OK) abort();
    unlink(path);
    log_set_level(LOG_ERROR);
    caller.account = cl_strdup(iam_root_account(m));
    caller.arn = cl_sprintf("arn:aws:iam::%s:user/admin", caller.account);
    caller.userid = cl_strdup("AIDAFUZZFUZZFUZZFUZZ");
    caller.username = cl_strdup("admin");
    caller.service = cl_strdup("iam");
    caller.p = (policy_principal){PRINCIPAL_USER, caller.account,  caller.arn,
                                  caller.userid,  caller.username, NULL};
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!st) init();
    cl_kvlist params = CL_KVLIST_INIT;
    if (kvlist_parse_form(&params, slice_of(data, size)) == CL_OK) {
        http_request req = {.method = "POST", .path = "/", .query = ""};
        strcpy(req.remote_ip, "127.0.0.1");
        strcpy(req.request_id, "FUZZREQUEST000000000");
        http_response resp = {0};
        const char *action = kvlist_get(&params, "Action");
        bool sts = action &&
                   (strcmp(action, "AssumeRole") == 0 || strcmp(action, "GetSessionToken") == 0 ||
                    strcmp(action, "GetCallerIdentity") == 0);
        if (sts)
            sts_api_handle(m, &caller, &req, &params, &resp);
        else
            iam_api_handle(m, &caller, &req, &params, &resp);
        if (resp.status < 200 || resp.status > 599 || resp.body.len == 0) abort();
        kvlist_free(&resp.headers);
        buf_free(&resp.body);
    }
    kvlist_free(&params);
    return 0;
}
