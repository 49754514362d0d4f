/* s3_xs.h — the schema-driven expat layer of s3_xml.c, shared with the other
 * request-body parsers of src/s3 (s3_notify_xml.c), so every S3 XML document
 * is read by the one hardened mechanism (see s3_xml.c: no DOCTYPE, entities,
 * processing instructions or attributes; UTF-8 only; bounded depth and size).
 * Internal to src/s3. */
#ifndef CLOISTER_S3_XS_H
#define CLOISTER_S3_XS_H

#include "s3/s3_xml.h"

#include <expat.h>
#include <stddef.h>

#define XS_MAX_DEPTH 8

typedef struct xs_elem xs_elem;
typedef struct xs_state xs_state;
/* on_start gets an empty text and may point *target at a new record for the
 * element's subtree; on_end gets the element's text (leaves only). */
typedef cl_err (*xs_hook)(xs_state *x, const xs_elem *el, void **target, cl_slice text);

/* XS_ATTRS: the element may carry attributes, which are ignored (the ACL's
 * Grantee has xsi:type; its kind is told by the child elements instead). */
enum { XS_ONCE = 1, XS_REQUIRED = 2, XS_ATTRS = 4 };

struct xs_elem {
    const char *name;
    const xs_elem *children; /* {NULL}-terminated, at most 32; NULL: a text leaf */
    unsigned flags;
    xs_hook on_start, on_end;
    size_t arg; /* for the hook: offset of the field it fills */
};

typedef struct {
    const xs_elem *el;
    uint32_t seen; /* which children occurred */
    void *target;
} xs_frame;

struct xs_state {
    XML_Parser parser;
    const xs_elem *root;
    xs_frame stack[XS_MAX_DEPTH];
    size_t depth;
    cl_buf text; /* the open leaf's character data */
    bool failed; /* *err is filled; ignore further callbacks */
    s3_xml_error *err;
    const char *ns; /* the one namespace elements may be in (or none) */
    void *out;
    size_t cap; /* capacity of the result's one growable array */
};

#define LEAF(n, flags, hook, type, member)                                                         \
    { n, NULL, flags, NULL, hook, offsetof(type, member) }
#define END                                                                                        \
    { NULL, NULL, 0, NULL, NULL, 0 }

/* Parses body (at most max bytes) against root, in no namespace or S3_XML_NS. */
cl_err s3_xs_parse(cl_slice body, size_t max, const xs_elem *root, void *out, s3_xml_error *err);
/* Room for one more element in the result's one growable array (x->cap). */
void *s3_xs_grow(xs_state *x, void *arr, size_t len, size_t elem);
/* Leaf hook: a malloc'd copy of the text into the char * at el->arg of the target. */
cl_err s3_xs_set_str(xs_state *x, const xs_elem *el, void **target, cl_slice text);
/* Fill err (MalformedXML, or code/message) and return CL_ERR_INVALID. */
cl_err s3_xs_malformed(s3_xml_error *err);
cl_err s3_xs_fail(s3_xml_error *err, const char *code, const char *message);

#endif
