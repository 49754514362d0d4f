/* json_in.c — the JSON reader of the JSON 1.1 protocol (KMS and the cloister
 * service): strict RFC 8259 into jansson values, built for request bodies
 * whose bulk is long base64 strings. jansson's own reader takes its input a
 * character at a time through a stream abstraction (~100 MB/s); this one
 * scans string runs with memchr-style loops and validates UTF-8 once per
 * string, so a 5 KB KMS request parses in a few microseconds.
 *
 * It accepts exactly what json_loadb(..., JSON_REJECT_DUPLICATES |
 * JSON_DECODE_ANY) accepts and builds equal values (tests/fuzz/fuzz_json_in.c
 * checks this differentially against jansson): duplicate keys, \u0000, lone
 * surrogates, invalid UTF-8, integers outside int64 and reals that overflow
 * are errors; nesting is limited to AWS_JSON_MAX_DEPTH. */
#include "aws/aws.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const uint8_t *p, *end;
    int depth;
    const char *err;
} reader;

static json_t *value(reader *r);

static void skip_ws(reader *r) {
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static json_t *fail(reader *r, const char *why) {
    if (!r->err) r->err = why;
    return NULL;
}

static int hex4(const uint8_t *p) {
    int v = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

static void put_utf8(cl_buf *b, uint32_t cp) {
    uint8_t o[4];
    size_t n;
    if (cp < 0x80) {
        o[0] = (uint8_t)cp, n = 1;
    } else if (cp < 0x800) {
        o[0] = (uint8_t)(0xc0 | cp >> 6), o[1] = (uint8_t)(0x80 | (cp & 0x3f)), n = 2;
    } else if (cp < 0x10000) {
        o[0] = (uint8_t)(0xe0 | cp >> 12), o[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (uint8_t)(0x80 | (cp & 0x3f)), n = 3;
    } else {
        o[0] = (uint8_t)(0xf0 | cp >> 18), o[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
        o[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f)), o[3] = (uint8_t)(0x80 | (cp & 0x3f)), n = 4;
    }
    buf_append(b, o, n);
}

/* One \u escape (p after the 'u'), with a following low surrogate if needed. */
static bool unicode_escape(reader *r, cl_buf *b) {
    if (r->end - r->p < 4) return fail(r, "truncated \\u escape"), false;
    int hi = hex4(r->p);
    if (hi < 0) return fail(r, "invalid \\u escape"), false;
    r->p += 4;
    uint32_t cp = (uint32_t)hi;
    if (hi >= 0xdc00 && hi <= 0xdfff) return fail(r, "lone low surrogate"), false;
    if (hi >= 0xd800 && hi <= 0xdbff) {
        if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u')
            return fail(r, "lone high surrogate"), false;
        int lo = hex4(r->p + 2);
        if (lo < 0xdc00 || lo > 0xdfff) return fail(r, "invalid surrogate pair"), false;
        r->p += 6;
        cp = 0x10000 + (((uint32_t)hi - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
    }
    if (cp == 0) return fail(r, "\\u0000 is not allowed"), false;
    put_utf8(b, cp);
    return true;
}

/* A string (r->p after the opening quote) into b (NUL-terminated by the caller). */
static bool string_body(reader *r, cl_buf *b) {
    for (;;) {
        const uint8_t *run = r->p;
        while (r->p < r->end && *r->p != '"' && *r->p != '\\' && *r->p >= 0x20)
            r->p++;
        buf_append(b, run, (size_t)(r->p - run));
        if (r->p >= r->end) return fail(r, "unterminated string"), false;
        uint8_t c = *r->p++;
        if (c == '"') break;
        if (c < 0x20) return fail(r, "control character in string"), false;
        if (r->p >= r->end) return fail(r, "unterminated string"), false;
        c = *r->p++;
        const char *esc = strchr("\"\\/bfnrt", c);
        if (c && esc) {
            static const char out[] = "\"\\/\b\f\n\r\t";
            buf_append_byte(b, (uint8_t)out[esc - "\"\\/bfnrt"]);
        } else if (c == 'u') {
            if (!unicode_escape(r, b)) return false;
        } else {
            return fail(r, "invalid escape"), false;
        }
    }
    if (!utf8_valid(buf_slice(b))) return fail(r, "invalid UTF-8 in string"), false;
    return true;
}

static json_t *string_value(reader *r) {
    cl_buf b = CL_BUF_INIT;
    json_t *v = NULL;
    if (string_body(r, &b)) v = json_stringn_nocheck(b.len ? (const char *)b.ptr : "", b.len);
    buf_free_secret(&b); /* strings here may be plaintexts */
    return v;
}

static json_t *number(reader *r) {
    const uint8_t *s = r->p;
    bool real = false;
    if (r->p < r->end && *r->p == '-') r->p++;
    if (r->p >= r->end) return fail(r, "invalid number");
    if (*r->p == '0') {
        r->p++;
    } else if (*r->p >= '1' && *r->p <= '9') {
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
            r->p++;
    } else {
        return fail(r, "invalid number");
    }
    if (r->p < r->end && *r->p == '.') {
        real = true;
        r->p++;
        if (r->p >= r->end || *r->p < '0' || *r->p > '9') return fail(r, "invalid number");
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
            r->p++;
    }
    if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
        real = true;
        r->p++;
        if (r->p < r->end && (*r->p == '+' || *r->p == '-')) r->p++;
        if (r->p >= r->end || *r->p < '0' || *r->p > '9') return fail(r, "invalid number");
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
            r->p++;
    }
    size_t n = (size_t)(r->p - s);
    char tmp[64];
    char *text = n < sizeof tmp ? tmp : cl_malloc(n + 1);
    memcpy(text, s, n);
    text[n] = 0;
    json_t *v = NULL;
    errno = 0;
    if (!real) {
        long long x = strtoll(text, NULL, 10);
        v = errno == ERANGE ? fail(r, "integer out of range") : json_integer(x);
    } else {
        double d = strtod(text, NULL);
        v = (errno == ERANGE && fabs(d) > 1.0) || isinf(d) ? fail(r, "real number overflow")
                                                           : json_real(d);
    }
    if (text != tmp) free(text);
    return v;
}

static bool literal(reader *r, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0) return false;
    r->p += n;
    return true;
}

static json_t *object(reader *r) {
    json_t *o = json_object();
    skip_ws(r);
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        return o;
    }
    for (;;) {
        skip_ws(r);
        if (r->p >= r->end || *r->p != '"') break;
        r->p++;
        cl_buf key = CL_BUF_INIT;
        bool ok = string_body(r, &key);
        const char *k = buf_cstr(&key);
        if (ok && json_object_get(o, k)) ok = fail(r, "duplicate object key") != NULL;
        skip_ws(r);
        if (ok && (r->p >= r->end || *r->p++ != ':')) ok = fail(r, "':' expected") != NULL;
        json_t *v = ok ? value(r) : NULL;
        if (v) json_object_set_new_nocheck(o, k, v);
        buf_free(&key);
        if (!v) break;
        skip_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == '}') {
            r->p++;
            return o;
        }
        break;
    }
    json_decref(o);
    return fail(r, "invalid object");
}

static json_t *array(reader *r) {
    json_t *a = json_array();
    skip_ws(r);
    if (r->p < r->end && *r->p == ']') {
        r->p++;
        return a;
    }
    for (;;) {
        json_t *v = value(r);
        if (!v) break;
        json_array_append_new(a, v);
        skip_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == ']') {
            r->p++;
            return a;
        }
        break;
    }
    json_decref(a);
    return fail(r, "invalid array");
}

static json_t *value(reader *r) {
    skip_ws(r);
    if (r->p >= r->end) return fail(r, "unexpected end of input");
    uint8_t c = *r->p;
    if (c == '{' || c == '[') {
        if (++r->depth > AWS_JSON_MAX_DEPTH) return fail(r, "nesting too deep");
        r->p++;
        json_t *v = c == '{' ? object(r) : array(r);
        r->depth--;
        return v;
    }
    if (c == '"') {
        r->p++;
        return string_value(r);
    }
    if (c == '-' || (c >= '0' && c <= '9')) return number(r);
    if (literal(r, "true")) return json_true();
    if (literal(r, "false")) return json_false();
    if (literal(r, "null")) return json_null();
    return fail(r, "invalid value");
}

json_t *aws_json_parse(cl_slice in, char *err, size_t errlen) {
    reader r = {in.ptr, in.ptr + in.len, 0, NULL};
    if (!in.ptr) r.p = r.end = (const uint8_t *)"";
    json_t *v = value(&r);
    skip_ws(&r);
    if (v && r.p != r.end) {
        json_decref(v);
        v = fail(&r, "trailing characters after the value");
    }
    if (!v && err && errlen) snprintf(err, errlen, "%s", r.err ? r.err : "invalid JSON");
    return v;
}
