/* s3_xml.c — the S3 request-body parsers (see s3_xml.h for the documents,
 * the errors and who owns what).
 *
 * Two layers. The bottom one (xs_*) drives expat against a static schema: a
 * tree of xs_elem, each naming the children it allows, which of them may occur
 * once or must occur, and optional hooks called when an element opens and
 * closes. Anything the schema does not list is refused as it is seen, so the
 * parse never builds a tree and memory is bounded by what hooks keep, which is
 * bounded by the body limit. The hostile parts of XML are switched off there
 * too: a DOCTYPE stops the parse when it starts (no entity can be declared,
 * so neither billion-laughs nor XXE is reachable), processing instructions,
 * attributes and non-UTF-8 declarations are refused.
 *
 * The top layer is one schema plus a few hooks per document, and a validate
 * step for the rules S3 checks after the document parses (ranges, order, key
 * and tag rules). Every frame of the parse carries a target (the record being
 * filled: the result, or the Part/Object/Tag being read) and leaf hooks write
 * into it at the offset their schema entry names, so one hook serves all the
 * string or boolean fields of every document. */
#include "s3/s3_xml.h"
#include "s3/s3_xs.h"

#include <expat.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NS_SEP '|' /* cannot occur in an XML name, so the last one splits uri|local */

static const char MSG_MALFORMED[] =
    "The XML you provided was not well-formed or did not validate against our published schema";
static const char MSG_TAG_HEADER[] = "The header 'x-amz-tagging' shall be encoded as UTF-8 then "
                                     "URLEncoded URL query parameters without tag name duplicates.";

/* ---- errors ---- */

static cl_err fail(s3_xml_error *err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static cl_err fail(s3_xml_error *err, const char *code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return CL_ERR_INVALID;
}

static cl_err malformed(s3_xml_error *err) {
    return fail(err, "MalformedXML", "%s", MSG_MALFORMED);
}

static cl_err too_large(s3_xml_error *err) {
    fail(err, "MaxMessageLengthExceeded", "Your request was too big.");
    return CL_ERR_TOO_LARGE;
}

/* ---- small text helpers ---- */

static bool xml_space(uint8_t c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool xml_blank(cl_slice s) {
    for (size_t i = 0; i < s.len; i++)
        if (!xml_space(s.ptr[i])) return false;
    return true;
}

/* XML Schema's whitespace collapse for xs:boolean and xs:int values. */
static cl_slice xml_trim(cl_slice s) {
    while (s.len && xml_space(s.ptr[0]))
        s = slice_sub(s, 1, s.len - 1);
    while (s.len && xml_space(s.ptr[s.len - 1]))
        s.len--;
    return s;
}

static cl_err parse_bool(cl_slice s, bool *out) {
    s = xml_trim(s);
    if (slice_eq_cstr(s, "true"))
        *out = true;
    else if (slice_eq_cstr(s, "false"))
        *out = false;
    else
        return CL_ERR_INVALID;
    return CL_OK;
}

/* xs:int: optional sign, at least one digit, fits in 32 bits. */
static cl_err parse_int32(cl_slice s, int *out) {
    s = xml_trim(s);
    bool neg = s.len && s.ptr[0] == '-';
    if (s.len && (s.ptr[0] == '-' || s.ptr[0] == '+')) s = slice_sub(s, 1, s.len - 1);
    if (s.len == 0) return CL_ERR_INVALID;
    int64_t v = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9') return CL_ERR_INVALID;
        v = v * 10 + (s.ptr[i] - '0');
        if (v > (int64_t)INT_MAX + 1) return CL_ERR_INVALID;
    }
    if (neg) v = -v;
    if (v > INT_MAX || v < INT_MIN) return CL_ERR_INVALID;
    *out = (int)v;
    return CL_OK;
}

/* ---- the schema-driven expat layer ---- */

static void xs_stop(xs_state *x) {
    x->failed = true;
    XML_StopParser(x->parser, XML_FALSE);
}

static void xs_reject(xs_state *x) {
    if (x->failed) return;
    malformed(x->err);
    xs_stop(x);
}

/* Local name of "uri|local" or "local"; false for a namespace other than ns. */
static bool xs_local_name(const char *name, const char *ns, cl_slice *local) {
    const char *sep = strrchr(name, NS_SEP);
    if (!sep) {
        *local = slice_cstr(name);
        return true;
    }
    *local = slice_cstr(sep + 1);
    return slice_eq_cstr(slice_of(name, (size_t)(sep - name)), ns);
}

static const xs_elem *xs_child(xs_frame *top, cl_slice local) {
    const xs_elem *kids = top->el->children;
    if (!kids) return NULL; /* a leaf holds text only */
    for (size_t i = 0; kids[i].name; i++) {
        if (!slice_eq_cstr(local, kids[i].name)) continue;
        uint32_t bit = 1u << i;
        if ((kids[i].flags & XS_ONCE) && (top->seen & bit)) return NULL;
        top->seen |= bit;
        return &kids[i];
    }
    return NULL;
}

static bool xs_required_seen(const xs_frame *f) {
    for (size_t i = 0; f->el->children[i].name; i++)
        if ((f->el->children[i].flags & XS_REQUIRED) && !(f->seen & (1u << i))) return false;
    return true;
}

static cl_err xs_open(xs_state *x, const char *name, const char **atts) {
    cl_slice local;
    if (!xs_local_name(name, x->ns, &local) || x->depth == XS_MAX_DEPTH) return malformed(x->err);
    const xs_elem *el;
    if (x->depth == 0)
        el = slice_eq_cstr(local, x->root->name) ? x->root : NULL;
    else
        el = xs_child(&x->stack[x->depth - 1], local);
    if (!el || (atts[0] && !(el->flags & XS_ATTRS))) return malformed(x->err);
    xs_frame *f = &x->stack[x->depth++];
    *f = (xs_frame){el, 0, x->depth > 1 ? f[-1].target : x->out};
    buf_clear(&x->text);
    return el->on_start ? el->on_start(x, el, &f->target, CL_SLICE_NULL) : CL_OK;
}

static cl_err xs_close(xs_state *x) {
    xs_frame *f = &x->stack[x->depth - 1];
    bool leaf = f->el->children == NULL;
    if (!leaf && !xs_required_seen(f)) return malformed(x->err);
    cl_err e = f->el->on_end
                   ? f->el->on_end(x, f->el, &f->target, leaf ? buf_slice(&x->text) : CL_SLICE_NULL)
                   : CL_OK;
    x->depth--;
    return e;
}

static void XMLCALL xs_on_start(void *ud, const XML_Char *name, const XML_Char **atts) {
    xs_state *x = ud;
    if (!x->failed && xs_open(x, name, atts) != CL_OK) xs_stop(x);
}

static void XMLCALL xs_on_end(void *ud, const XML_Char *name) {
    xs_state *x = ud;
    (void)name; /* expat has already matched it against the start tag */
    if (!x->failed && xs_close(x) != CL_OK) xs_stop(x);
}

static void XMLCALL xs_on_text(void *ud, const XML_Char *s, int len) {
    xs_state *x = ud;
    if (x->failed || x->depth == 0) return;
    cl_slice t = slice_of(s, (size_t)len);
    if (x->stack[x->depth - 1].el->children == NULL)
        buf_append_slice(&x->text, t);
    else if (!xml_blank(t))
        xs_reject(x); /* text between elements */
}

static void XMLCALL xs_on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                                  const XML_Char *pubid, int has_internal_subset) {
    (void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
    xs_reject(ud);
}

static void XMLCALL xs_on_entity(void *ud, const XML_Char *name, int is_param,
                                 const XML_Char *value, int value_len, const XML_Char *base,
                                 const XML_Char *sysid, const XML_Char *pubid,
                                 const XML_Char *notation) {
    (void)name, (void)is_param, (void)value, (void)value_len, (void)base, (void)sysid, (void)pubid,
        (void)notation;
    xs_reject(ud); /* unreachable after the DOCTYPE refusal; a second lock */
}

static void XMLCALL xs_on_pi(void *ud, const XML_Char *target, const XML_Char *data) {
    (void)target, (void)data;
    xs_reject(ud);
}

static void XMLCALL xs_on_xmldecl(void *ud, const XML_Char *version, const XML_Char *encoding,
                                  int standalone) {
    (void)version, (void)standalone;
    if (encoding && strcasecmp(encoding, "UTF-8") != 0) xs_reject(ud);
}

static int XMLCALL xs_on_external(XML_Parser p, const XML_Char *context, const XML_Char *base,
                                  const XML_Char *sysid, const XML_Char *pubid) {
    (void)p, (void)context, (void)base, (void)sysid, (void)pubid;
    return XML_STATUS_ERROR; /* never load anything */
}

static XML_Parser xs_parser_new(xs_state *x) {
    /* The encoding argument overrides any declaration; the body is checked to
     * be UTF-8 before, and a declaration naming another encoding is refused. */
    XML_Parser p = XML_ParserCreateNS("UTF-8", NS_SEP);
    if (!p) {
        log_error("s3_xml: expat could not allocate a parser");
        abort(); /* as cl_malloc does */
    }
    XML_SetUserData(p, x);
    XML_SetElementHandler(p, xs_on_start, xs_on_end);
    XML_SetCharacterDataHandler(p, xs_on_text);
    XML_SetStartDoctypeDeclHandler(p, xs_on_doctype);
    XML_SetEntityDeclHandler(p, xs_on_entity);
    XML_SetProcessingInstructionHandler(p, xs_on_pi);
    XML_SetXmlDeclHandler(p, xs_on_xmldecl);
    XML_SetExternalEntityRefHandler(p, xs_on_external);
    XML_SetParamEntityParsing(p, XML_PARAM_ENTITY_PARSING_NEVER);
    return p;
}

/* Parses body against root, its elements in no namespace or in ns, hooks
 * filling out. On failure *err is set; the caller frees whatever the hooks had
 * put in out. */
static cl_err xs_parse_ns(cl_slice body, size_t max, const xs_elem *root, const char *ns, void *out,
                          s3_xml_error *err) {
    if (body.len > max) return too_large(err);
    if (body.len == 0 || !utf8_valid(body)) return malformed(err);
    xs_state x = {.root = root, .err = err, .ns = ns, .out = out};
    x.parser = xs_parser_new(&x);
    enum XML_Status st = XML_Parse(x.parser, (const char *)body.ptr, (int)body.len, XML_TRUE);
    cl_err e = CL_OK;
    if (x.failed)
        e = CL_ERR_INVALID; /* *err already says why */
    else if (st != XML_STATUS_OK)
        e = malformed(err);
    XML_ParserFree(x.parser);
    buf_free(&x.text);
    return e;
}

/* xs_parse_ns in S3's namespace: every document but S3 Control's. */
static cl_err xs_parse(cl_slice body, size_t max, const xs_elem *root, void *out,
                       s3_xml_error *err) {
    return xs_parse_ns(body, max, root, S3_XML_NS, out, err);
}

/* Makes room for one more element in a result's array (x->cap tracks it). */
static void *xs_grow(xs_state *x, void *arr, size_t len, size_t elem) {
    if (len < x->cap) return arr;
    x->cap = x->cap ? x->cap * 2 : 16;
    return cl_realloc(arr, x->cap * elem);
}

/* ---- hooks shared by all documents ---- */

static void *field(void *target, const xs_elem *el) {
    return (char *)target + el->arg;
}

static cl_err set_str(xs_state *x, const xs_elem *el, void **target, cl_slice text) {
    (void)x;
    char **slot = field(*target, el);
    free(*slot); /* XS_ONCE makes this NULL; kept so a schema slip cannot leak */
    *slot = slice_dup(text);
    return CL_OK;
}

static cl_err set_bool(xs_state *x, const xs_elem *el, void **target, cl_slice text) {
    return parse_bool(text, field(*target, el)) == CL_OK ? CL_OK : malformed(x->err);
}

/* ---- CompleteMultipartUpload ---- */

static cl_err part_start(xs_state *x, const xs_elem *el, void **target, cl_slice text) {
    (void)el, (void)text;
    s3_complete_upload *u = x->out;
    if (u->len == S3_MAX_PARTS) return malformed(x->err);
    u->parts = xs_grow(x, u->parts, u->len, sizeof *u->parts);
    s3_complete_part *p = &u->parts[u->len++];
    memset(p, 0, sizeof *p);
    *target = p;
    return CL_OK;
}

static cl_err part_number(xs_state *x, const xs_elem *el, void **target, cl_slice text) {
    (void)el;
    s3_complete_part *p = *target;
    return parse_int32(text, &p->part_number) == CL_OK ? CL_OK : malformed(x->err);
}

static cl_err part_etag(xs_state *x, const xs_elem *el, void **target, cl_slice text) {
    (void)x, (void)el;
    s3_complete_part *p = *target;
    free(p->etag);
    free(p->etag_bare);
    p->etag = slice_dup(text);
    if (text.len >= 2 && text.ptr[0] == '"' && text.ptr[text.len - 1] == '"')
        text = slice_sub(text, 1, text.len - 2);
    p->etag_bare = slice_dup(text);
    return CL_OK;
}

#define CHECKSUM(n, member)                                                                        \
    {                                                                                              \
        n, NULL, XS_ONCE, NULL, set_str,                                                           \
            offsetof(s3_complete_part, checksums) + offsetof(s3_checksums, member)                 \
    }

static const xs_elem PART_KIDS[] = {
    {"PartNumber", NULL, XS_ONCE | XS_REQUIRED, NULL, part_number, 0},
    {"ETag", NULL, XS_ONCE | XS_REQUIRED, NULL, part_etag, 0},
    CHECKSUM("ChecksumCRC32", crc32),
    CHECKSUM("ChecksumCRC32C", crc32c),
    CHECKSUM("ChecksumCRC64NVME", crc64nvme),
    CHECKSUM("ChecksumSHA1", sha1),
    CHECKSUM("ChecksumSHA256", sha256),
    END,
};
static const xs_elem COMPLETE_KIDS[] = {{"Part", PART_KIDS, 0, part_start, NULL, 0}, END};
static const xs_elem COMPLETE_ROOT = {"CompleteMultipartUpload", COMPLETE_KIDS, 0, NULL, NULL, 0};

static void complete_part_free(s3_complete_part *p) {
    free(p->etag);
    free(p->etag_bare);
    free(p->checksums.crc32);
    free(p->checksums.crc32c);
    free(p->checksums.crc64nvme);
    free(p->checksums.sha1);
    free(p->checksums.sha256);
}

/* Part numbers in 1..10000, ascending. A number listed again right after
 * itself (a part re-uploaded, both answers' ETags collected by the client, as
 * ceph/s3-tests' test_multipart_resend_first_finishes_last does) names the part
 * by its last entry, whose ETag must then match the stored part: the list
 * collapses to strictly ascending numbers. */
static cl_err complete_validate(s3_complete_upload *u, s3_xml_error *err) {
    if (u->len == 0) return malformed(err);
    size_t kept = 0;
    for (size_t i = 0; i < u->len; i++) {
        int n = u->parts[i].part_number;
        if (n < 1 || n > S3_MAX_PARTS)
            return fail(err, "InvalidArgument",
                        "Part number must be an integer between 1 and 10000, inclusive");
        if (kept > 0 && n < u->parts[kept - 1].part_number)
            return fail(err, "InvalidPartOrder",
                        "The list of parts was not in ascending order. The parts list must be "
                        "specified in order by part number.");
        if (kept > 0 && n == u->parts[kept - 1].part_number) complete_part_free(&u->parts[--kept]);
        if (kept != i) {
            u->parts[kept] = u->parts[i];
            memset(&u->parts[i], 0, sizeof u->parts[i]);
        }
        kept++;
    }
    u->len = kept;
    return CL_OK;
}

void s3_complete_upload_free(s3_complete_upload *u) {
    for (size_t i = 0; i < u->len; i++)
        complete_part_free(&u->parts[i]);
    free(u->parts);
    memset(u, 0, sizeof *u);
}

cl_err s3_xml_parse_complete_upload(cl_slice body, s3_complete_upload *out, s3_xml_error *err) {
    memset(out, 0, sizeof *out);
    cl_err e = xs_parse(body, S3_XML_MAX_COMPLETE_BODY, &COMPLETE_ROOT, out, err);
    if (e == CL_OK) e = complete_validate(out, err);
    if (e != CL_OK) s3_complete_upload_free(out);
    return e;
}

/* ---- DeleteObjects ---- */

static cl_err object_start(xs_state *x, const xs_elem *el, void **target, cl_slice text) {
    (void)el, (void)text;
    s3_delete_request *d = x->out;
    if (d->len == S3_MAX_DELETE_OBJECTS) return malformed(x->err);
    d->objects = xs_grow(x, d->objects, d->len, sizeof *d->objects);
    s3_delete_object *o = &d->objects[d->len++];
    memset(o, 0, sizeof *o);
    *target = o;
    return CL_OK;
}

static cl_err object_mtime(xs_state *x, const xs_elem *el, void **target, cl_slice text) {
    (void)el;
    s3_delete_object *o = *target;
    cl_slice t = xml_trim(text); /* SDKs send an HTTP date (the model's rfc822); ISO 8601 too */
    if (time_parse_http(t, &o->last_modified) != CL_OK &&
        time_parse_iso8601(t, &o->last_modified) != CL_OK)
        return malformed(x->err);
    o->has_last_modified = true;
    return CL_OK;
}

static cl_err object_size(xs_state *x, const xs_elem *el, void **target, cl_slice text) {
    (void)el;
    s3_delete_object *o = *target;
    if (slice_to_u64(xml_trim(text), &o->size) != CL_OK || o->size > INT64_MAX)
        return malformed(x->err);
    o->has_size = true;
    return CL_OK;
}

static const xs_elem OBJECT_KIDS[] = {
    LEAF("Key", XS_ONCE | XS_REQUIRED, set_str, s3_delete_object, key),
    LEAF("VersionId", XS_ONCE, set_str, s3_delete_object, version_id),
    LEAF("ETag", XS_ONCE, set_str, s3_delete_object, etag),
    {"LastModifiedTime", NULL, XS_ONCE, NULL, object_mtime, 0},
    {"Size", NULL, XS_ONCE, NULL, object_size, 0},
    END,
};
static const xs_elem DELETE_KIDS[] = {
    {"Object", OBJECT_KIDS, 0, object_start, NULL, 0},
    LEAF("Quiet", XS_ONCE, set_bool, s3_delete_request, quiet),
    END,
};
static const xs_elem DELETE_ROOT = {"Delete", DELETE_KIDS, 0, NULL, NULL, 0};

static cl_err delete_validate(const s3_delete_request *d, s3_xml_error *err) {
    if (d->len == 0) return malformed(err);
    for (size_t i = 0; i < d->len; i++) {
        size_t n = strlen(d->objects[i].key);
        if (n == 0) return malformed(err);
        if (n > S3_MAX_KEY_BYTES) return fail(err, "KeyTooLongError", "Your key is too long");
    }
    return CL_OK;
}

void s3_delete_request_free(s3_delete_request *d) {
    for (size_t i = 0; i < d->len; i++) {
        free(d->objects[i].key);
        free(d->objects[i].version_id);
        free(d->objects[i].etag);
    }
    free(d->objects);
    memset(d, 0, sizeof *d);
}

cl_err s3_xml_parse_delete(cl_slice body, s3_delete_request *out, s3_xml_error *err) {
    memset(out, 0, sizeof *out);
    cl_err e = xs_parse(body, S3_XML_MAX_DELETE_BODY, &DELETE_ROOT, out, err);
    if (e == CL_OK) e = delete_validate(out, err);
    if (e != CL_OK) s3_delete_request_free(out);
    return e;
}

/* ---- PublicAccessBlockConfiguration ---- */

static const xs_elem PAB_KIDS[] = {
    LEAF("BlockPublicAcls", XS_ONCE, set_bool, s3_public_access_block, block_public_acls),
    LEAF("IgnorePublicAcls", XS_ONCE, set_bool, s3_public_access_block, ignore_public_acls),
    LEAF("BlockPublicPolicy", XS_ONCE, set_bool, s3_public_access_block, block_public_policy),
    LEAF("RestrictPublicBuckets", XS_ONCE, set_bool, s3_public_access_block,
         restrict_public_buckets),
    END,
};
static const xs_elem PAB_ROOT = {"PublicAccessBlockConfiguration", PAB_KIDS, 0, NULL, NULL, 0};

static cl_err parse_pab(cl_slice body, const char *ns, s3_public_access_block *out,
                        s3_xml_error *err) {
    memset(out, 0, sizeof *out);
    cl_err e = xs_parse_ns(body, S3_XML_MAX_SMALL_BODY, &PAB_ROOT, ns, out, err);
    if (e != CL_OK) memset(out, 0, sizeof *out);
    return e;
}

cl_err s3_xml_parse_public_access_block(cl_slice body, s3_public_access_block *out,
                                        s3_xml_error *err) {
    return parse_pab(body, S3_XML_NS, out, err);
}

cl_err s3_xml_parse_control_public_access_block(cl_slice body, s3_public_access_block *out,
                                                s3_xml_error *err) {
    return parse_pab(body, S3_CONTROL_XML_NS, out, err);
}

/* ---- tags: the rules both forms share ---- */

static size_t tag_limit(s3_tag_scope scope) {
    return scope == S3_TAGS_BUCKET ? S3_MAX_TAGS_BUCKET : S3_MAX_TAGS_OBJECT;
}

static cl_err tag_count_error(s3_tag_scope scope, s3_xml_error *err) {
    if (scope == S3_TAGS_BUCKET)
        return fail(err, "BadRequest", "Bucket tag count cannot be greater than %d",
                    S3_MAX_TAGS_BUCKET);
    return fail(err, "BadRequest", "Object tags cannot be greater than %d", S3_MAX_TAGS_OBJECT);
}

/* S3 allows letters, digits, space separators and + - = . _ : / @. ASCII is
 * checked exactly; above it only the C1 controls are refused (no Unicode
 * tables here: other symbols S3 would refuse get through). */
static bool tag_char_ok(int32_t cp) {
    if (cp <= 0) return false; /* not UTF-8 (cannot happen after parsing), or NUL */
    if (cp >= 0x80) return cp >= 0xA0;
    if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9'))
        return true;
    return strchr(" +-=._:/@", cp) != NULL;
}

/* Counts the characters of s; SIZE_MAX when one is not allowed. */
static size_t tag_chars(const char *s) {
    cl_slice sl = slice_cstr(s);
    size_t n = 0;
    for (size_t i = 0; i < sl.len; n++)
        if (!tag_char_ok(utf8_next(sl, &i))) return SIZE_MAX;
    return n;
}

static cl_err tag_check(const char *key, const char *value, s3_xml_error *err) {
    size_t k = tag_chars(key), v = tag_chars(value);
    if (k == 0 || k == SIZE_MAX)
        return fail(err, "InvalidTag", "The TagKey you have provided is invalid");
    if (k > S3_MAX_TAG_KEY_CHARS)
        return fail(err, "InvalidTag", "The TagKey you have provided is too long, max %d",
                    S3_MAX_TAG_KEY_CHARS);
    if (strncasecmp(key, "aws:", 4) == 0)
        return fail(err, "InvalidTag", "Your TagKey cannot be prefixed with aws:");
    if (v == SIZE_MAX) return fail(err, "InvalidTag", "The TagValue you have provided is invalid");
    if (v > S3_MAX_TAG_VALUE_CHARS)
        return fail(err, "InvalidTag", "The TagValue you have provided is too long, max %d",
                    S3_MAX_TAG_VALUE_CHARS);
    return CL_OK;
}

static bool tag_seen_before(const cl_kvlist *l, size_t i) {
    for (size_t j = 0; j < i; j++)
        if (strcmp(l->items[j].key, l->items[i].key) == 0) return true;
    return false;
}

/* Per tag in order: its own rules, then whether its key came before. */
static cl_err tags_validate(const cl_kvlist *l, bool from_header, s3_xml_error *err) {
    for (size_t i = 0; i < l->len; i++) {
        CL_TRY(tag_check(l->items[i].key, l->items[i].value, err));
        if (!tag_seen_before(l, i)) continue;
        if (from_header) return fail(err, "InvalidArgument", "%s", MSG_TAG_HEADER);
        return fail(err, "InvalidTag", "Cannot provide multiple Tags with the same key");
    }
    return CL_OK;
}

/* ---- Tagging (XML) ---- */

typedef struct {
    char *key, *value;
} tag_pending;

typedef struct {
    cl_kvlist *list;
    s3_tag_scope scope;
    tag_pending cur;
} tag_ctx;

static cl_err tag_start(xs_state *x, const xs_elem *el, void **target, cl_slice text) {
    (void)el, (void)text;
    tag_ctx *t = x->out;
    if (t->list->len == tag_limit(t->scope)) return tag_count_error(t->scope, x->err);
    *target = &t->cur;
    return CL_OK;
}

static cl_err tag_end(xs_state *x, const xs_elem *el, void **target, cl_slice text) {
    (void)el, (void)target, (void)text;
    tag_ctx *t = x->out;
    kvlist_add(t->list, t->cur.key, t->cur.value);
    free(t->cur.key);
    free(t->cur.value);
    t->cur = (tag_pending){NULL, NULL};
    return CL_OK;
}

static const xs_elem TAG_KIDS[] = {
    LEAF("Key", XS_ONCE | XS_REQUIRED, set_str, tag_pending, key),
    LEAF("Value", XS_ONCE | XS_REQUIRED, set_str, tag_pending, value),
    END,
};
static const xs_elem TAGSET_KIDS[] = {{"Tag", TAG_KIDS, 0, tag_start, tag_end, 0}, END};
static const xs_elem TAGGING_KIDS[] = {
    {"TagSet", TAGSET_KIDS, XS_ONCE | XS_REQUIRED, NULL, NULL, 0},
    END,
};
static const xs_elem TAGGING_ROOT = {"Tagging", TAGGING_KIDS, 0, NULL, NULL, 0};

cl_err s3_xml_parse_tagging(cl_slice body, s3_tag_scope scope, cl_kvlist *out, s3_xml_error *err) {
    *out = CL_KVLIST_INIT;
    tag_ctx t = {.list = out, .scope = scope};
    cl_err e = xs_parse(body, S3_XML_MAX_TAGGING_BODY, &TAGGING_ROOT, &t, err);
    free(t.cur.key); /* a Tag left open by an error */
    free(t.cur.value);
    if (e == CL_OK) e = tags_validate(out, false, err);
    if (e != CL_OK) kvlist_free(out);
    return e;
}

/* ---- x-amz-tagging header ---- */

static bool header_pairs_ok(const cl_kvlist *l) {
    for (size_t i = 0; i < l->len; i++)
        if (l->items[i].key[0] == '\0' || !utf8_valid(slice_cstr(l->items[i].key)) ||
            !utf8_valid(slice_cstr(l->items[i].value)))
            return false;
    return true;
}

cl_err s3_tagging_parse_header(cl_slice header, s3_tag_scope scope, cl_kvlist *out,
                               s3_xml_error *err) {
    *out = CL_KVLIST_INIT;
    if (header.len > S3_TAGGING_MAX_HEADER) {
        fail(err, "InvalidArgument", "%s", MSG_TAG_HEADER);
        return CL_ERR_TOO_LARGE;
    }
    cl_err e = CL_OK;
    if (kvlist_parse_form(out, header) != CL_OK || !header_pairs_ok(out))
        e = fail(err, "InvalidArgument", "%s", MSG_TAG_HEADER);
    else if (out->len > tag_limit(scope))
        e = tag_count_error(scope, err);
    else
        e = tags_validate(out, true, err);
    if (e != CL_OK) kvlist_free(out);
    return e;
}

/* ---- CreateBucketConfiguration ---- */

static const xs_elem CBC_KIDS[] = {
    LEAF("LocationConstraint", XS_ONCE, set_str, s3_create_bucket_config, location_constraint),
    END,
};
static const xs_elem CBC_ROOT = {"CreateBucketConfiguration", CBC_KIDS, 0, NULL, NULL, 0};

static cl_err location_validate(s3_create_bucket_config *c, s3_xml_error *err) {
    const char *s = c->location_constraint;
    if (!s) return CL_OK;
    size_t n = strlen(s);
    if (n == 0) {
        free(c->location_constraint);
        c->location_constraint = NULL; /* <LocationConstraint/>: the default region */
        return CL_OK;
    }
    bool ok = n <= 64;
    for (size_t i = 0; ok && i < n; i++)
        ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
             (s[i] >= '0' && s[i] <= '9') || s[i] == '-';
    if (ok) return CL_OK;
    return fail(err, "InvalidLocationConstraint", "The specified location-constraint is not valid");
}

void s3_create_bucket_config_free(s3_create_bucket_config *c) {
    free(c->location_constraint);
    c->location_constraint = NULL;
}

cl_err s3_xml_parse_create_bucket(cl_slice body, s3_create_bucket_config *out, s3_xml_error *err) {
    memset(out, 0, sizeof *out);
    if (body.len == 0) return CL_OK; /* no configuration: the default region */
    cl_err e = xs_parse(body, S3_XML_MAX_SMALL_BODY, &CBC_ROOT, out, err);
    if (e == CL_OK) e = location_validate(out, err);
    if (e != CL_OK) s3_create_bucket_config_free(out);
    return e;
}

/* ---- ServerSideEncryptionConfiguration ---- */

static const char *const SSE_NAMES[] = {
    [S3_SSE_AES256] = "AES256",
    [S3_SSE_KMS] = "aws:kms",
    [S3_SSE_KMS_DSSE] = "aws:kms:dsse",
};

const char *s3_sse_algorithm_name(s3_sse_algorithm a) {
    return (size_t)a < sizeof SSE_NAMES / sizeof *SSE_NAMES ? SSE_NAMES[a] : "";
}

static cl_err sse_algorithm(xs_state *x, const xs_elem *el, void **target, cl_slice text) {
    (void)el;
    s3_encryption_config *c = *target;
    for (size_t i = 0; i < sizeof SSE_NAMES / sizeof *SSE_NAMES; i++) {
        if (!slice_eq_cstr(text, SSE_NAMES[i])) continue;
        c->algorithm = (s3_sse_algorithm)i;
        return CL_OK;
    }
    return malformed(x->err);
}

static const xs_elem SSE_DEFAULT_KIDS[] = {
    {"SSEAlgorithm", NULL, XS_ONCE | XS_REQUIRED, NULL, sse_algorithm, 0},
    LEAF("KMSMasterKeyID", XS_ONCE, set_str, s3_encryption_config, kms_key_id),
    END,
};
static const xs_elem SSE_RULE_KIDS[] = {
    {"ApplyServerSideEncryptionByDefault", SSE_DEFAULT_KIDS, XS_ONCE | XS_REQUIRED, NULL, NULL, 0},
    LEAF("BucketKeyEnabled", XS_ONCE, set_bool, s3_encryption_config, bucket_key_enabled),
    END,
};
static const xs_elem SSE_KIDS[] = {{"Rule", SSE_RULE_KIDS, XS_ONCE | XS_REQUIRED, NULL, NULL, 0},
                                   END};
static const xs_elem SSE_ROOT = {"ServerSideEncryptionConfiguration", SSE_KIDS, 0, NULL, NULL, 0};

void s3_encryption_config_free(s3_encryption_config *c) {
    free(c->kms_key_id);
    memset(c, 0, sizeof *c);
}

cl_err s3_xml_parse_encryption(cl_slice body, s3_encryption_config *out, s3_xml_error *err) {
    memset(out, 0, sizeof *out);
    cl_err e = xs_parse(body, S3_XML_MAX_SMALL_BODY, &SSE_ROOT, out, err);
    if (e == CL_OK && out->kms_key_id && out->algorithm == S3_SSE_AES256)
        e = fail(err, "InvalidArgument",
                 "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms "
                 "or aws:kms:dsse");
    if (e != CL_OK) s3_encryption_config_free(out);
    return e;
}

/* ---- the schema layer for the other document files (s3_xs.h) ---- */

cl_err s3_xs_parse(cl_slice body, size_t max, const xs_elem *root, void *out, s3_xml_error *err) {
    return xs_parse(body, max, root, out, err);
}

void *s3_xs_grow(xs_state *x, void *arr, size_t len, size_t elem) {
    return xs_grow(x, arr, len, elem);
}

cl_err s3_xs_set_str(xs_state *x, const xs_elem *el, void **target, cl_slice text) {
    return set_str(x, el, target, text);
}

cl_err s3_xs_malformed(s3_xml_error *err) {
    return malformed(err);
}

cl_err s3_xs_fail(s3_xml_error *err, const char *code, const char *message) {
    return fail(err, code, "%s", message);
}
