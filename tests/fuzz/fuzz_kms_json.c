/* fuzz_kms_json.c — the KMS JSON 1.1 protocol as a client sends it: the input
 * is split into an X-Amz-Target operation name (up to the first newline) and a
 * body, and dispatched to the real KMS handler as the first account's admin,
 * over an in-memory meta store with a root key in a temp dir ("KEY!" in a
 * body stands for the id of a real key made at start). Any input must
 * give a well-formed response (a status and a JSON body), never a crash, a
 * leak or a 5xx. */
#include "attest/attest.h"
#include "kms/kms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static store *st;
static iam *m;
static kms *k;
static attest_root *ar;
static iam_caller caller;
static char key_id[64];

static void init(void) {
    char dir[] = "/tmp/cl-fuzz-kms-XXXXXX";
    if (!mkdtemp(dir)) abort();
    if (store_open(":memory:", &st) != CL_OK || iam_open(st, &m) != CL_OK) abort();
    char *cred = cl_sprintf("%s/credentials", dir), *keys = cl_sprintf("%s/keys", dir), err[256];
    bool created;
    if (iam_bootstrap(m, cred, &created) != CL_OK || attest_root_open(keys, &ar) != CL_OK) abort();
    kms_options o = {.data_dir = dir, .attest_root_der = attest_root_cert_der(ar)};
    if (kms_open(st, m, &o, &k, err, sizeof err) != CL_OK) abort();
    free(cred);
    free(keys);
    log_set_level(LOG_ERROR);
    caller.account = cl_strdup(iam_root_account(m));
    caller.arn = cl_sprintf("arn:aws:iam::%s:user/admin", caller.account);
    caller.userid = cl_strdup("AIDAFUZZFUZZFUZZFUZZ");
    caller.username = cl_strdup("admin");
    caller.service = cl_strdup("kms");
    caller.region = cl_strdup("us-east-1");
    caller.p = (policy_principal){PRINCIPAL_USER, caller.account,  caller.arn,
                                  caller.userid,  caller.username, NULL};
}

static void call(const char *target, cl_slice body, http_response *resp) {
    http_request req = {.method = "POST", .path = "/", .query = ""};
    strcpy(req.remote_ip, "127.0.0.1");
    strcpy(req.request_id, "FUZZREQUEST000000000");
    kvlist_add(&req.headers, "X-Amz-Target", target);
    buf_append_slice(&req.body, body);
    *resp = (http_response){.status = 200};
    kms_api_handle(k, &caller, &req, resp);
    kvlist_free(&req.headers);
    buf_free(&req.body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!st) {
        init();
        http_response r;
        call("TrentService.CreateKey", slice_cstr("{}"), &r);
        json_t *j = json_loadb((const char *)r.body.ptr, r.body.len, 0, NULL);
        snprintf(key_id, sizeof key_id, "%s",
                 json_string_value(json_object_get(json_object_get(j, "KeyMetadata"), "KeyId")));
        json_decref(j);
        kvlist_free(&r.headers);
        buf_free(&r.body);
    }
    cl_slice in = slice_of(data, size), op;
    if (!slice_split(&in, '\n', &op)) return 0;
    char *name = slice_dup(op);
    if (strchr(name, 0) != name + op.len) { /* a NUL in the name */
        free(name);
        return 0;
    }
    /* CreateKey with any input would fill the store: keep the state small. */
    if (strcmp(name, "CreateKey") == 0 || strcmp(name, "ScheduleKeyDeletion") == 0 ||
        strcmp(name, "DisableKey") == 0 || strcmp(name, "PutKeyPolicy") == 0) {
        free(name);
        return 0;
    }
    /* "KEY!" in the body stands for the fuzzer's real key id, so inputs reach
     * the paths behind a found key. */
    cl_buf body = CL_BUF_INIT;
    for (size_t i = 0; i < in.len; i++) {
        if (i + 4 <= in.len && memcmp(in.ptr + i, "KEY!", 4) == 0) {
            buf_append_cstr(&body, key_id);
            i += 3;
        } else {
            buf_append_byte(&body, in.ptr[i]);
        }
    }
    char *target = cl_sprintf("TrentService.%s", name);
    http_response r;
    call(target, buf_slice(&body), &r);
    buf_free(&body);
    if (r.status < 200 || r.status >= 500 || r.body.len == 0) abort();
    json_t *j = json_loadb((const char *)r.body.ptr, r.body.len, 0, NULL);
    if (!json_is_object(j)) abort();
    json_decref(j);
    kvlist_free(&r.headers);
    buf_free(&r.body);
    free(target);
    free(name);
    return 0;
}
