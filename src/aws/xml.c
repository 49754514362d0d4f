/* xml.c — the XML writer for Query-protocol and REST-XML responses. Output is
 * built with escaping at one place (xml_escape), so no handler writes markup by
 * string concatenation of user data. */
#include "aws/aws.h"

/* Escapes markup and guarantees well-formed XML 1.0 whatever the input: bytes
 * that are not valid UTF-8, and code points XML forbids (controls other than
 * tab/LF/CR, U+FFFE/U+FFFF), become U+FFFD. A client must always be able to
 * parse an error, even one quoting its own bad input. */
void xml_escape(cl_buf *b, const char *s) {
    if (!s) return;
    cl_slice in = slice_cstr(s);
    for (size_t i = 0; i < in.len;) {
        size_t start = i;
        int32_t cp = utf8_next(in, &i);
        bool allowed =
            cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp != 0xFFFE && cp != 0xFFFF);
        if (!allowed)
            buf_append_cstr(b, "\xEF\xBF\xBD");
        else if (cp == '<')
            buf_append_cstr(b, "&lt;");
        else if (cp == '>')
            buf_append_cstr(b, "&gt;");
        else if (cp == '&')
            buf_append_cstr(b, "&amp;");
        else if (cp == '"')
            buf_append_cstr(b, "&quot;");
        else if (cp == '\'')
            buf_append_cstr(b, "&apos;");
        else if (cp == 0xD)
            buf_append_cstr(b, "&#13;");
        else
            buf_append(b, in.ptr + start, i - start);
    }
}

void xml_open(cl_buf *b, const char *tag) {
    buf_appendf(b, "<%s>", tag);
}
void xml_close(cl_buf *b, const char *tag) {
    buf_appendf(b, "</%s>", tag);
}

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
    buf_appendf(b,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<%sResponse xmlns=\"%s\"><%sResult>",
                action, xmlns, action);
}

void aws_query_end(cl_buf *b, const char *action, const char *request_id) {
    buf_appendf(
        b,
        "</%sResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>\n",
        action, request_id, action);
}

void aws_query_empty(cl_buf *b, const char *action, const char *xmlns, const char *request_id) {
    buf_appendf(b,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<%sResponse xmlns=\"%s\">"
                "<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>\n",
                action, xmlns, request_id, action);
}
