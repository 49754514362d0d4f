/* sms_http.c — the iExec SMS-compatible endpoints on their own listener
 * (`cloister serve --sms-listen`), so the stock `iexec` CLI can push and check
 * requester secrets with a chain.json whose "sms" points here:
 *   HEAD /requesters/{address}/secrets/{name}  204 stored / 404 not
 *   POST /requesters/{address}/secrets/{name}  text/plain value, Authorization
 *        = personal-sign by {address} of the SMS challenge: 204 stored,
 *        401 bad or foreign signature, 400 bad address/name, 413 value over
 *        4096 bytes, 409 already stored (write-once)
 *   HEAD /apps/{address}/secrets  404 (no app owners are recorded yet)
 *   POST /apps/{address}/secrets  403 with a message saying so
 * Never 5xx for "not found": the CLI treats 5xx as fatal. Values are never
 * logged or returned. Format: docs/secrets.md. */
#include "secrets/secrets.h"

#include "http/http.h"

#include <string.h>

static void answer(http_response *resp, int status, const char *msg) {
    resp->status = status;
    if (!msg) return;
    buf_append_cstr(&resp->body, msg);
    buf_append_cstr(&resp->body, "\n");
    http_set_header(resp, "Content-Type", "text/plain");
}

static void post_requester(secrets_store *s, const secrets_sms_request *r, http_request *req,
                           http_response *resp) {
    cl_slice value = buf_slice(&req->body);
    if (!secrets_value_valid(value)) {
        answer(resp, 413, "secret value too large (at most 4096 bytes)");
        return;
    }
    const char *auth = kvlist_get_ci(&req->headers, "Authorization");
    if (!auth || secrets_sms_verify(slice_cstr(auth), &r->addr, &r->addr, slice_cstr(r->name),
                                    value) != CL_OK) {
        answer(resp, 401, "Authorization is not a signature of this secret by the requester");
        return;
    }
    cl_err e = secrets_store_put(s, &r->addr, r->name, value);
    if (e == CL_OK)
        answer(resp, 204, NULL);
    else if (e == CL_ERR_EXISTS)
        answer(resp, 409, "secret already exists (secrets are write-once)");
    else
        answer(resp, 500, "cannot store the secret");
}

void secrets_sms_handle(void *ctx, http_request *req, http_response *resp) {
    secrets_store *s = ctx;
    secrets_sms_request r;
    int status = 0;
    const char *why = NULL;
    req->service = "sms";
    if (secrets_sms_parse(slice_cstr(req->method), slice_cstr(req->path), &r, &status, &why) !=
        CL_OK) {
        req->op = "Invalid";
        answer(resp, status, why);
        return;
    }
    if (req->bad_request) {
        answer(resp, 400, req->bad_request);
        return;
    }
    if (req->body_too_large) { /* over the listener's max_body */
        answer(resp, 413, "secret value too large (at most 4096 bytes)");
        return;
    }
    if (req->server_busy) {
        answer(resp, 503, "busy: retry later");
        return;
    }
    if (r.kind == SECRETS_SMS_APP) {
        req->op = r.method == SECRETS_SMS_HEAD ? "CheckAppSecret" : "PushAppSecret";
        if (r.method == SECRETS_SMS_HEAD)
            answer(resp, 404, NULL);
        else
            answer(resp, 403,
                   "app secrets are not accepted yet: Cloister records no app owner "
                   "address (cloister app owner comes with apps)");
        return;
    }
    if (r.method == SECRETS_SMS_HEAD) {
        req->op = "CheckRequesterSecret";
        cl_err e = secrets_store_exists(s, &r.addr, r.name);
        answer(resp, e == CL_OK ? 204 : e == CL_ERR_NOT_FOUND ? 404 : 500, NULL);
        return;
    }
    req->op = "PushRequesterSecret";
    post_requester(s, &r, req, resp);
    if (req->body.ptr) cl_cleanse(req->body.ptr, req->body.cap); /* the plaintext value */
}
