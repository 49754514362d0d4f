/* xml.c — the XML writer for Query-protocol and REST-XML responses. Output is
 * built with escaping at one place (xml_escape), so no handler writes markup by
 * string concatenation of user data. */
#include "aws/aws.h"

void xml_escape(cl_buf *b, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '<': buf_append_cstr(b, "&lt;"); break;
        case '>': buf_append_cstr(b, "&gt;"); break;
        case '&': buf_append_cstr(b, "&amp;"); break;
        case '"': buf_append_cstr(b, "&quot;"); break;
        case '\'': buf_append_cstr(b, "&apos;"); break;
        case '\r': buf_append_cstr(b, "&#13;"); break;
        default: buf_append_byte(b, (uint8_t)*s);
        }
    }
}

void xml_open(cl_buf *b, const char *tag) { buf_appendf(b, "<%s>", tag); }
void xml_close(cl_buf *b, const char *tag) { buf_appendf(b, "</%s>", tag); }

void xml_text(cl_buf *b, const char *tag, const char *text) {
    if (!text) return;
    xml_open(b, tag);
    xml_escape(b, text);
    xml_close(b, tag);
}

void xml_textf(cl_buf *b, const char *tag, const char *fmt, ...) {
    cl_buf t = CL_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vappendf(&t, fmt, ap);
    va_end(ap);
    xml_text(b, tag, buf_cstr(&t));
    buf_free(&t);
}

void aws_query_begin(cl_buf *b, const char *action, const char *xmlns) {
    buf_appendf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<%sResponse xmlns=\"%s\"><%sResult>",
                action, xmlns, action);
}

void aws_query_end(cl_buf *b, const char *action, const char *request_id) {
    buf_appendf(b, "</%sResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>\n",
                action, request_id, action);
}

void aws_query_empty(cl_buf *b, const char *action, const char *xmlns, const char *request_id) {
    buf_appendf(b,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<%sResponse xmlns=\"%s\">"
                "<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>\n",
                action, xmlns, request_id, action);
}
