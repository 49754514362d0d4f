/* s3_form.c — multipart/form-data for POST Object (see s3_form.h). RFC 7578:
 * parts between "--boundary" delimiters (each after a CRLF but the first),
 * each with headers, a blank line and content; Content-Disposition: form-data;
 * name="..."[; filename="..."]. */
#include "s3/s3_form.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void s3_post_form_free(s3_post_form *f) {
    kvlist_free(&f->fields);
    free(f->filename);
    memset(f, 0, sizeof *f);
}

/* The value of param (e.g. name="key") in a Content-Disposition, or NULL. */
static char *disposition_param(cl_slice h, const char *param) {
    size_t n = strlen(param);
    for (size_t i = 0; i + n + 2 <= h.len; i++) {
        if (strncasecmp((const char *)h.ptr + i, param, n) != 0 || h.ptr[i + n] != '=') continue;
        if (i > 0 && h.ptr[i - 1] != ' ' && h.ptr[i - 1] != ';') continue;
        size_t at = i + n + 1;
        if (at < h.len && h.ptr[at] == '"') {
            const uint8_t *end = memchr(h.ptr + at + 1, '"', h.len - at - 1);
            if (!end) return NULL;
            return cl_strndup((const char *)h.ptr + at + 1, (size_t)(end - h.ptr - at - 1));
        }
        size_t e = at;
        while (e < h.len && h.ptr[e] != ';' && h.ptr[e] != '\r')
            e++;
        return cl_strndup((const char *)h.ptr + at, e - at);
    }
    return NULL;
}

/* One part: its headers (up to the blank line) and content. */
static bool form_part(s3_post_form *f, cl_slice part) {
    const uint8_t *sep = memmem(part.ptr, part.len, "\r\n\r\n", 4);
    if (!sep) return false;
    cl_slice headers = slice_of(part.ptr, (size_t)(sep - part.ptr) + 2);
    cl_slice content = slice_sub(part, (size_t)(sep - part.ptr) + 4, part.len);
    const uint8_t *cd = NULL;
    for (size_t i = 0; i + 20 <= headers.len && !cd; i++)
        if ((i == 0 || headers.ptr[i - 1] == '\n') &&
            strncasecmp((const char *)headers.ptr + i, "content-disposition:", 20) == 0)
            cd = headers.ptr + i;
    if (!cd) return false;
    const uint8_t *eol = memchr(cd, '\r', headers.len - (size_t)(cd - headers.ptr));
    cl_slice line = slice_of(cd, (size_t)(eol - cd));
    char *name = disposition_param(line, "name");
    if (!name) return false;
    for (char *c = name; *c; c++)
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
    if (strcmp(name, "file") == 0) {
        if (f->has_file) { /* S3 takes the first file; the rest is ignored */
            free(name);
            return true;
        }
        f->has_file = true;
        f->file = content;
        f->filename = disposition_param(line, "filename");
    } else if (!f->has_file) { /* S3 ignores fields after the file */
        kvlist_addn(&f->fields, slice_cstr(name), content);
    }
    free(name);
    return true;
}

bool s3_post_form_parse(const char *content_type, cl_slice body, s3_post_form *f) {
    memset(f, 0, sizeof *f);
    char *boundary = content_type ? disposition_param(slice_cstr(content_type), "boundary") : NULL;
    if (!boundary || !*boundary || strlen(boundary) > 70 || body.len == 0) {
        free(boundary);
        return false;
    }
    char *delim = cl_sprintf("\r\n--%s", boundary);
    free(boundary);
    size_t dl = strlen(delim);
    /* the first delimiter may open the body without its CRLF */
    const uint8_t *at = NULL;
    if (body.len >= dl - 2 && memcmp(body.ptr, delim + 2, dl - 2) == 0) {
        at = body.ptr + dl - 2;
    } else {
        at = memmem(body.ptr, body.len, delim, dl);
        if (at) at += dl;
    }
    bool ok = at != NULL;
    while (ok) {
        size_t left = body.len - (size_t)(at - body.ptr);
        if (left >= 2 && at[0] == '-' && at[1] == '-') break; /* the closing delimiter */
        if (left < 2 || at[0] != '\r' || at[1] != '\n') {
            ok = false;
            break;
        }
        at += 2;
        left -= 2;
        const uint8_t *next = left ? memmem(at, left, delim, dl) : NULL;
        if (!next || !form_part(f, slice_of(at, (size_t)(next - at)))) ok = false;
        if (ok) at = next + dl;
    }
    free(delim);
    if (!ok) s3_post_form_free(f);
    return ok;
}
