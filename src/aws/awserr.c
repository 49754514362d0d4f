/* awserr.c — renders an error the way the called service's SDK parses it: the
 * Query protocol's ErrorResponse (IAM, STS), S3's bare <Error>, or KMS's JSON
 * with __type. The code string is what SDKs surface to users, so callers pass
 * AWS's exact codes ("AccessDenied", "InvalidClientTokenId", ...). */
#include "aws/aws.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void json_error(http_response *r, const char *code, const char *message) {
    /* a message quoting client bytes may not be UTF-8, which JSON cannot carry */
    if (!message || !utf8_valid(slice_cstr(message)))
        message = "The request contains bytes that are not valid UTF-8.";
    json_t *o = json_pack("{s:s, s:s}", "__type", code, "message", message);
    char *s = json_dumps(o, JSON_COMPACT);
    buf_append_cstr(&r->body, s);
    free(s);
    json_decref(o);
    http_set_header(r, "Content-Type", "application/x-amz-json-1.1");
    http_set_header(r, "x-amzn-ErrorType", code);
}

void aws_error(http_response *r, aws_shape shape, const char *xmlns, int status, const char *code,
               const char *message, const char *request_id) {
    r->status = status;
    snprintf(r->error_code, sizeof r->error_code, "%s", code ? code : "");
    buf_clear(&r->body);
    if (shape == AWS_SHAPE_JSON) {
        json_error(r, code, message);
        return;
    }
    buf_append_cstr(&r->body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    if (shape == AWS_SHAPE_QUERY) {
        buf_appendf(&r->body, "<ErrorResponse xmlns=\"%s\"><Error><Type>%s</Type>", xmlns,
                    status >= 500 ? "Receiver" : "Sender");
        xml_text(&r->body, "Code", code);
        xml_text(&r->body, "Message", message);
        buf_append_cstr(&r->body, "</Error>");
        xml_text(&r->body, "RequestId", request_id);
        buf_append_cstr(&r->body, "</ErrorResponse>\n");
    } else {
        buf_append_cstr(&r->body, "<Error>");
        xml_text(&r->body, "Code", code);
        xml_text(&r->body, "Message", message);
        xml_text(&r->body, "RequestId", request_id);
        buf_append_cstr(&r->body, "</Error>\n");
    }
    http_set_header(r, "Content-Type", shape == AWS_SHAPE_QUERY ? "text/xml" : "application/xml");
}

void aws_error_detail(http_response *r, const char *name, const char *value) {
    static const char TAIL[] = "</Error>\n";
    size_t n = sizeof TAIL - 1, len = r->body.len;
    if (len < n || memcmp(r->body.ptr + len - n, TAIL, n) != 0) return; /* not S3's shape */
    r->body.len = len - n;
    xml_text(&r->body, name, value);
    buf_append_cstr(&r->body, TAIL);
}

void aws_fault_set(aws_fault *f, int status, const char *code, const char *fmt, ...) {
    f->status = status;
    f->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof f->message, fmt, ap);
    va_end(ap);
}

void aws_json_answer(http_response *resp, const http_request *req, json_t *out, aws_fault *f) {
    if (!out) {
        if (!f->code) aws_fault_set(f, 500, "InternalFailure", "internal error");
        aws_error(resp, AWS_SHAPE_JSON, NULL, f->status, f->code, f->message, req->request_id);
        return;
    }
    char *s = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    buf_append_cstr(&resp->body, s ? s : "{}");
    if (s) cl_free_secret(s);
    resp->status = 200;
    http_set_header(resp, "Content-Type", "application/x-amz-json-1.1");
}
