/* sms_http.c — the iExec SMS-compatible endpoints on their own listener
 * (`cloister serve --sms-listen`), so the stock `iexec` CLI can push and check
 * requester secrets with a chain.json whose "sms" points here:
 *   HEAD /requesters/{address}/secrets/{name}  204 stored / 404 not
 *   POST /requesters/{address}/secrets/{name}  text/plain value, Authorization
 *        = personal-sign by {address} of the SMS challenge: 204 stored,
 *        401 bad or foreign signature, 400 bad address/name, 413 value over
 *        4096 bytes, 409 already stored (write-once)
 *   HEAD /apps/{address}/secrets  204 the app developer secret is stored / 404
 *   POST /apps/{address}/secrets  text/plain value, Authorization = personal-
 *        sign of the challenge (app address, name "1", value) by the app's
 *        recorded owner address (SetAppOwner; secrets_app_owner): 204 stored,
 *        401 signed by another address, 404 no app with that address or no
 *        recorded owner, 409 already stored, 413 too large
 * Secrets pushed here are production secrets (never given to debug runs).
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

/* The answer to a push once verify gave its verdict. */
static void store_push(secrets_store *s, const secrets_addr *owner, const char *name,
                       cl_slice value, http_response *resp) {
    cl_err e = secrets_store_put(s, owner, name, value);
    if (e == CL_OK)
        answer(resp, 204, NULL);
    else if (e == CL_ERR_EXISTS)
        answer(resp, 409, "secret already exists (secrets are write-once)");
    else
        answer(resp, 500, "cannot store the secret");
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
    store_push(s, &r->addr, r->name, value, resp);
}

/* The app developer secret: signed by the app's recorded owner address. */
static void post_app(secrets_store *s, const secrets_sms_request *r, http_request *req,
                     http_response *resp) {
    cl_slice value = buf_slice(&req->body);
    if (!secrets_value_valid(value)) {
        answer(resp, 413, "secret value too large (at most 4096 bytes)");
        return;
    }
    secrets_addr owner;
    cl_err e = secrets_app_owner(s, &r->addr, &owner);
    if (e == CL_ERR_NOT_FOUND) {
        answer(resp, 404, "no app with this address has a recorded owner (cloister app owner)");
        return;
    }
    if (e != CL_OK) {
        answer(resp, 503, "cannot look up the app: retry later");
        return;
    }
    const char *auth = kvlist_get_ci(&req->headers, "Authorization");
    if (!auth ||
        secrets_sms_verify(slice_cstr(auth), &owner, &r->addr, slice_cstr("1"), value) != CL_OK) {
        answer(resp, 401, "Authorization is not a signature of this secret by the app's owner");
        return;
    }
    store_push(s, &r->addr, "1", value, resp);
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
    bool app = r.kind == SECRETS_SMS_APP;
    if (r.method == SECRETS_SMS_HEAD) {
        req->op = app ? "CheckAppSecret" : "CheckRequesterSecret";
        cl_err e = secrets_store_exists(s, &r.addr, r.name);
        answer(resp, e == CL_OK ? 204 : e == CL_ERR_NOT_FOUND ? 404 : 500, NULL);
        return;
    }
    req->op = app ? "PushAppSecret" : "PushRequesterSecret";
    if (app)
        post_app(s, &r, req, resp);
    else
        post_requester(s, &r, req, resp);
    if (req->body.ptr) cl_cleanse(req->body.ptr, req->body.cap); /* the plaintext value */
}
