/* policy_cond.c — everything a Condition block needs: the request context
 * (policy_ctx: multi-valued, case-insensitive keys), the key lookup that falls
 * back to what the principal and the clock say, policy variables, and the
 * condition operators with AWS's rules for absent keys, IfExists, negation and
 * the ForAnyValue:/ForAllValues: set qualifiers.
 *
 * Shape: an operator is an enum plus flags (negate, if_exists, set), decoded
 * once at parse time by policy_op_lookup. Policy values stay text: string and
 * ARN values may hold policy variables, so they can only be typed after
 * substitution; the typed operators (numbers, dates, CIDRs) parse a value when
 * they compare it, and the parser calls policy_value_valid so a value that can
 * never be read is rejected up front. One comparison function per family
 * answers "does this policy value match this request value"; eval_values then
 * applies the quantifiers:
 *   key absent:      IfExists -> true; ForAllValues -> true; ForAnyValue -> false;
 *                    otherwise false, or true for a negated operator;
 *   no qualifier:    positive -> some request value matches some policy value;
 *                    negated  -> no request value matches any policy value;
 *   ForAnyValue:X    some request value satisfies X;
 *   ForAllValues:X   every request value satisfies X. */
#include "iam/policy_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- request context ---- */
typedef struct {
    char *key;
    char **vals;
    size_t n, cap;
} ctx_entry;

struct policy_ctx {
    ctx_entry *e;
    size_t n, cap;
};

policy_ctx *policy_ctx_new(void) {
    return cl_calloc(1, sizeof(policy_ctx));
}

void policy_ctx_free(policy_ctx *c) {
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) {
        for (size_t j = 0; j < c->e[i].n; j++)
            free(c->e[i].vals[j]);
        free(c->e[i].vals);
        free(c->e[i].key);
    }
    free(c->e);
    free(c);
}

static ctx_entry *ctx_find(const policy_ctx *c, const char *key) {
    for (size_t i = 0; c && key && i < c->n; i++)
        if (strcasecmp(c->e[i].key, key) == 0) return &c->e[i];
    return NULL;
}

void policy_ctx_add(policy_ctx *c, const char *key, const char *value) {
    if (!c || !key || !value) return;
    ctx_entry *e = ctx_find(c, key);
    if (!e) {
        if (c->n == c->cap)
            c->cap = c->cap ? c->cap * 2 : 8, c->e = cl_realloc(c->e, c->cap * sizeof *c->e);
        e = &c->e[c->n++];
        *e = (ctx_entry){.key = cl_strdup(key)};
    }
    if (e->n == e->cap)
        e->cap = e->cap ? e->cap * 2 : 2, e->vals = cl_realloc(e->vals, e->cap * sizeof *e->vals);
    e->vals[e->n++] = cl_strdup(value);
}

size_t policy_ctx_count(const policy_ctx *c, const char *key) {
    const ctx_entry *e = ctx_find(c, key);
    return e ? e->n : 0;
}

const char *policy_ctx_value(const policy_ctx *c, const char *key, size_t i) {
    const ctx_entry *e = ctx_find(c, key);
    return e && i < e->n ? e->vals[i] : NULL;
}

/* ---- keys the principal itself answers ---- */
static const char *const PRINCIPAL_KEYS[] = {"aws:PrincipalType",    "aws:PrincipalArn",
                                             "aws:PrincipalAccount", "aws:userid",
                                             "aws:username",         NULL};

/* For a session, aws:PrincipalArn is the role's ARN, as AWS reports it. */
static const char *principal_key(const policy_principal *p, const char *key) {
    static const char *const TYPES[] = {"Anonymous", "Account", "User", "AssumedRole"};
    if (strcasecmp(key, "aws:PrincipalType") == 0)
        return p->type <= PRINCIPAL_ASSUMED_ROLE ? TYPES[p->type] : NULL;
    if (p->type == PRINCIPAL_ANONYMOUS) return NULL;
    if (strcasecmp(key, "aws:PrincipalArn") == 0)
        return p->type == PRINCIPAL_ASSUMED_ROLE && p->role_arn ? p->role_arn : p->arn;
    if (strcasecmp(key, "aws:PrincipalAccount") == 0) return p->account;
    if (strcasecmp(key, "aws:userid") == 0) return p->userid;
    if (strcasecmp(key, "aws:username") == 0) return p->type == PRINCIPAL_USER ? p->username : NULL;
    return NULL;
}

void policy_ctx_add_principal(policy_ctx *c, const policy_principal *p) {
    if (!c || !p) return;
    for (int i = 0; PRINCIPAL_KEYS[i]; i++)
        policy_ctx_add(c, PRINCIPAL_KEYS[i], principal_key(p, PRINCIPAL_KEYS[i]));
}

static const char *clock_key(const char *key, char tmp[32]) {
    if (strcasecmp(key, "aws:CurrentTime") == 0) {
        time_format_iso8601(time_now(), tmp);
        return tmp;
    }
    if (strcasecmp(key, "aws:EpochTime") == 0) {
        snprintf(tmp, 32, "%lld", (long long)time_now());
        return tmp;
    }
    return NULL;
}

/* Keys every request answers from what policy_request already says. */
static const char *request_key(const policy_request *req, const char *key) {
    if (strcasecmp(key, "aws:PrincipalIsAWSService") == 0) return "false"; /* no service callers */
    if (strcasecmp(key, "aws:ResourceAccount") == 0)
        return req->resource_account ? req->resource_account
               : req->principal      ? req->principal->account
                                     : NULL;
    return NULL;
}

void policy_key_values(const policy_request *req, const char *key, policy_vals *out) {
    const ctx_entry *e = ctx_find(req->ctx, key);
    out->v = NULL, out->n = 0;
    if (e && e->n) {
        out->v = (const char *const *)e->vals, out->n = e->n;
        return;
    }
    const char *d = req->principal ? principal_key(req->principal, key) : NULL;
    if (!d) d = clock_key(key, out->tmp);
    if (!d) d = request_key(req, key);
    if (d) out->one[0] = d, out->v = out->one, out->n = 1;
}

/* ---- policy variables ---- */
static void put(cl_buf *out, cl_buf *lit, const void *s, size_t n, uint8_t literal) {
    buf_append(out, s, n);
    for (size_t i = 0; i < n; i++)
        buf_append_byte(lit, literal);
}

/* Reads "${key}" or "${key, 'default'}" at t. Returns 1 and sets *next past the
 * '}', 0 when there is no closing brace (plain text), -1 when malformed. */
static int read_var(const char *t, cl_slice *key, cl_buf *def, bool *has_def, const char **next) {
    const char *p = t + 2, *k = p;
    while (*p && *p != '}' && *p != ',')
        p++;
    if (!*p) return 0;
    *key = slice_trim(slice_of(k, (size_t)(p - k)));
    *has_def = false;
    if (*p == ',') {
        for (p++; *p == ' '; p++) {
        }
        if (*p != '\'') return -1;
        for (p++; *p != '\'' || p[1] == '\''; p++) {
            if (!*p) return -1;
            if (*p == '\'') p++; /* '' is one quote */
            buf_append_byte(def, (uint8_t)*p);
        }
        for (p++; *p == ' '; p++) {
        }
        if (*p != '}') return -1;
        *has_def = true;
    }
    *next = p + 1;
    return key->len ? 1 : -1;
}

/* Appends the value of one variable; false when it cannot be resolved. */
static bool put_var(cl_slice key, const cl_buf *def, bool has_def, const policy_request *req,
                    cl_buf *out, cl_buf *lit) {
    if (key.len == 1 && strchr("*?$", key.ptr[0])) {
        put(out, lit, key.ptr, 1, 1);
        return true;
    }
    char *k = slice_dup(key);
    policy_vals kv;
    policy_key_values(req, k, &kv);
    free(k);
    if (kv.n == 1)
        put(out, lit, kv.v[0], strlen(kv.v[0]), 1);
    else if (has_def)
        put(out, lit, def->ptr, def->len, 1);
    return kv.n == 1 || has_def;
}

bool policy_subst(const char *t, const policy_request *req, cl_buf *out, cl_buf *lit) {
    cl_buf def = CL_BUF_INIT;
    bool ok = true;
    buf_clear(out), buf_clear(lit);
    while (*t && ok) {
        cl_slice key;
        bool has_def;
        const char *next;
        int r = t[0] == '$' && t[1] == '{' ? read_var(t, &key, &def, &has_def, &next) : 0;
        if (r == 0) {
            put(out, lit, t++, 1, 0);
            continue;
        }
        ok = r > 0 && put_var(key, &def, has_def, req, out, lit);
        buf_clear(&def);
        t = next;
    }
    buf_free(&def);
    buf_cstr(out);
    return ok;
}

/* ---- operator names ---- */
static const struct {
    const char *name;
    policy_op op;
    bool negate;
} OPS[] = {
    {"StringEquals", POLICY_OP_STR_EQ, false},
    {"StringNotEquals", POLICY_OP_STR_EQ, true},
    {"StringEqualsIgnoreCase", POLICY_OP_STR_EQ_CI, false},
    {"StringNotEqualsIgnoreCase", POLICY_OP_STR_EQ_CI, true},
    {"StringLike", POLICY_OP_STR_LIKE, false},
    {"StringNotLike", POLICY_OP_STR_LIKE, true},
    {"NumericEquals", POLICY_OP_NUM_EQ, false},
    {"NumericNotEquals", POLICY_OP_NUM_EQ, true},
    {"NumericLessThan", POLICY_OP_NUM_LT, false},
    {"NumericLessThanEquals", POLICY_OP_NUM_LE, false},
    {"NumericGreaterThan", POLICY_OP_NUM_GT, false},
    {"NumericGreaterThanEquals", POLICY_OP_NUM_GE, false},
    {"DateEquals", POLICY_OP_DATE_EQ, false},
    {"DateNotEquals", POLICY_OP_DATE_EQ, true},
    {"DateLessThan", POLICY_OP_DATE_LT, false},
    {"DateLessThanEquals", POLICY_OP_DATE_LE, false},
    {"DateGreaterThan", POLICY_OP_DATE_GT, false},
    {"DateGreaterThanEquals", POLICY_OP_DATE_GE, false},
    {"Bool", POLICY_OP_BOOL, false},
    {"BinaryEquals", POLICY_OP_BINARY, false},
    {"IpAddress", POLICY_OP_IP, false},
    {"NotIpAddress", POLICY_OP_IP, true},
    {"ArnEquals", POLICY_OP_ARN, false},
    {"ArnLike", POLICY_OP_ARN, false},
    {"ArnNotEquals", POLICY_OP_ARN, true},
    {"ArnNotLike", POLICY_OP_ARN, true},
    {"Null", POLICY_OP_NULL, false},
};

bool policy_op_lookup(const char *name, policy_cond *c) {
    size_t n = strlen(name);
    c->set = POLICY_SET_NONE;
    if (strncasecmp(name, "ForAnyValue:", 12) == 0)
        c->set = POLICY_SET_ANY, name += 12, n -= 12;
    else if (strncasecmp(name, "ForAllValues:", 13) == 0)
        c->set = POLICY_SET_ALL, name += 13, n -= 13;
    c->if_exists = n > 8 && strcasecmp(name + n - 8, "IfExists") == 0;
    if (c->if_exists) n -= 8;
    for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++) {
        if (strlen(OPS[i].name) != n || strncasecmp(OPS[i].name, name, n) != 0) continue;
        c->op = OPS[i].op, c->negate = OPS[i].negate;
        return c->op != POLICY_OP_NULL || (!c->if_exists && c->set == POLICY_SET_NONE);
    }
    return false;
}

bool policy_op_takes_vars(policy_op op) {
    return op == POLICY_OP_STR_EQ || op == POLICY_OP_STR_EQ_CI || op == POLICY_OP_STR_LIKE ||
           op == POLICY_OP_ARN;
}

/* ---- typed values ---- */
typedef struct {
    bool is_int;
    long long i;
    double d;
} number;

static bool parse_number(const char *s, number *out) {
    char *end;
    if (!*s || strspn(s, "0123456789+-.eE") != strlen(s)) return false;
    errno = 0;
    out->i = strtoll(s, &end, 10);
    out->is_int = *end == '\0' && errno == 0;
    if (out->is_int) return out->d = (double)out->i, true;
    errno = 0;
    out->d = strtod(s, &end);
    return *end == '\0' && end != s && errno == 0;
}

static int number_cmp(const number *a, const number *b) {
    if (a->is_int && b->is_int) return (a->i > b->i) - (a->i < b->i);
    return (a->d > b->d) - (a->d < b->d);
}

static bool two_digits(const char *s) {
    return s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9';
}

/* Epoch seconds, YYYY-MM-DD, or ISO 8601 date-time with Z or a +-HH:MM offset. */
static bool parse_date(const char *s, time_t *out) {
    size_t n = strlen(s);
    if (n > 0 && n < 19 && strspn(s, "0123456789") == n)
        return *out = (time_t)strtoll(s, NULL, 10), true;
    if (n == 10) {
        char tmp[24];
        snprintf(tmp, sizeof tmp, "%sT00:00:00Z", s);
        return time_parse_iso8601(slice_cstr(tmp), out) == CL_OK;
    }
    if (n > 25 - 1 && (s[n - 6] == '+' || s[n - 6] == '-') && two_digits(s + n - 5) &&
        s[n - 3] == ':' && two_digits(s + n - 2)) {
        long off = ((s[n - 5] - '0') * 10 + s[n - 4] - '0') * 3600L +
                   ((s[n - 2] - '0') * 10 + s[n - 1] - '0') * 60L;
        if (time_parse_iso8601(slice_of(s, n - 6), out) != CL_OK) return false;
        *out -= s[n - 6] == '+' ? off : -off;
        return true;
    }
    return time_parse_iso8601(slice_of(s, n), out) == CL_OK;
}

typedef struct {
    int bits; /* 32 or 128 */
    int prefix;
    uint8_t a[16];
} cidr;

static bool parse_cidr(const char *s, cidr *out) {
    char host[64];
    const char *slash = strchr(s, '/');
    size_t hl = slash ? (size_t)(slash - s) : strlen(s);
    if (hl == 0 || hl >= sizeof host) return false;
    memcpy(host, s, hl), host[hl] = '\0';
    if (inet_pton(AF_INET, host, out->a) == 1)
        out->bits = 32;
    else if (inet_pton(AF_INET6, host, out->a) == 1)
        out->bits = 128;
    else
        return false;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (out->bits == 128 && !slash && memcmp(out->a, mapped, 12) == 0) /* ::ffff:a.b.c.d */
        memmove(out->a, out->a + 12, 4), out->bits = 32;
    out->prefix = out->bits;
    if (!slash) return true;
    uint64_t len;
    if (slice_to_u64(slice_cstr(slash + 1), &len) != CL_OK || len > (uint64_t)out->bits ||
        strlen(slash + 1) > 3)
        return false;
    out->prefix = (int)len;
    return true;
}

bool policy_cidr_prefix(const char *s, int *prefix_len) {
    cidr c;
    if (!parse_cidr(s, &c)) return false;
    *prefix_len = c.prefix;
    return true;
}

static bool cidr_contains(const cidr *net, const cidr *ip) {
    if (net->bits != ip->bits) return false;
    int full = net->prefix / 8, rest = net->prefix % 8;
    if (memcmp(net->a, ip->a, (size_t)full) != 0) return false;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return rest == 0 || ((net->a[full] ^ ip->a[full]) & mask) == 0;
}

/* Whether the union of the prefixes of one family is the whole space: sizes as
 * fractions of the space in units of 2^-128 (prefixes either nest or are
 * disjoint, so dropping the nested ones leaves a disjoint set whose sizes add
 * up; the sum reaches 2^128, wrapping, exactly when everything is covered). */
static bool family_covered(const cidr *c, size_t n, int bits) {
    unsigned __int128 total = 0;
    for (size_t i = 0; i < n; i++) {
        if (c[i].bits != bits) continue;
        if (c[i].prefix == 0) return true;
        bool nested = false;
        for (size_t j = 0; j < n && !nested; j++)
            nested = j != i && c[j].bits == bits &&
                     (c[j].prefix < c[i].prefix || (c[j].prefix == c[i].prefix && j < i)) &&
                     cidr_contains(&c[j], &c[i]);
        unsigned __int128 add = (unsigned __int128)1 << (128 - c[i].prefix);
        if (!nested && total + add < total) return true; /* reached 2^128: everything */
        if (!nested) total += add;
    }
    return false;
}

bool policy_cidrs_cover_all(const char *const *values, size_t n) {
    cidr *c = cl_calloc(n ? n : 1, sizeof *c);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (parse_cidr(values[i], &c[k])) k++;
    bool all = family_covered(c, k, 32) || family_covered(c, k, 128);
    free(c);
    return all;
}

static bool base64_eq(const char *a, const char *b) {
    cl_buf x = CL_BUF_INIT, y = CL_BUF_INIT;
    bool ok = base64_decode(&x, slice_cstr(a)) == CL_OK &&
              base64_decode(&y, slice_cstr(b)) == CL_OK && slice_eq(buf_slice(&x), buf_slice(&y));
    buf_free(&x), buf_free(&y);
    return ok;
}

bool policy_value_valid(policy_op op, const char *v) {
    number num;
    time_t t;
    cidr c;
    cl_buf b = CL_BUF_INIT;
    switch (op) {
    case POLICY_OP_NUM_EQ:
    case POLICY_OP_NUM_LT:
    case POLICY_OP_NUM_LE:
    case POLICY_OP_NUM_GT:
    case POLICY_OP_NUM_GE:
        return parse_number(v, &num);
    case POLICY_OP_DATE_EQ:
    case POLICY_OP_DATE_LT:
    case POLICY_OP_DATE_LE:
    case POLICY_OP_DATE_GT:
    case POLICY_OP_DATE_GE:
        return parse_date(v, &t);
    case POLICY_OP_IP:
        return parse_cidr(v, &c);
    case POLICY_OP_BOOL:
    case POLICY_OP_NULL:
        return strcasecmp(v, "true") == 0 || strcasecmp(v, "false") == 0;
    case POLICY_OP_BINARY: {
        bool ok = base64_decode(&b, slice_cstr(v)) == CL_OK;
        buf_free(&b);
        return ok;
    }
    default:
        return true;
    }
}

/* ---- one policy value against one request value ---- */
/* ARNs compare by their six colon-separated parts, wildcards within each part;
 * the sixth part (resource) keeps any further colons. */
static bool arn_match(const char *pat, const uint8_t *lit, const char *v) {
    const char *p = pat, *q = v;
    if (strchr(pat, ':') == NULL || strspn(pat, "*") == strlen(pat))
        return policy_glob(pat, strlen(pat), lit, v, strlen(v), false);
    for (int i = 0; i < 6; i++) {
        const char *pe = i < 5 ? strchr(p, ':') : p + strlen(p),
                   *qe = i < 5 ? strchr(q, ':') : q + strlen(q);
        if (!pe || !qe) return false;
        if (!policy_glob(p, (size_t)(pe - p), lit ? lit + (p - pat) : NULL, q, (size_t)(qe - q),
                         false))
            return false;
        p = pe + (i < 5), q = qe + (i < 5);
    }
    return true;
}

static bool ordered(policy_op op, int cmp) {
    switch (op) {
    case POLICY_OP_NUM_EQ:
    case POLICY_OP_DATE_EQ:
        return cmp == 0;
    case POLICY_OP_NUM_LT:
    case POLICY_OP_DATE_LT:
        return cmp < 0;
    case POLICY_OP_NUM_LE:
    case POLICY_OP_DATE_LE:
        return cmp <= 0;
    case POLICY_OP_NUM_GT:
    case POLICY_OP_DATE_GT:
        return cmp > 0;
    case POLICY_OP_NUM_GE:
    case POLICY_OP_DATE_GE:
        return cmp >= 0;
    default:
        return false;
    }
}

/* The request value v compared with the policy value pv (v OP pv). */
static bool typed_match(policy_op op, const char *pv, const char *v) {
    number a, b;
    time_t ta, tb;
    cidr net, ip;
    switch (op) {
    case POLICY_OP_NUM_EQ:
    case POLICY_OP_NUM_LT:
    case POLICY_OP_NUM_LE:
    case POLICY_OP_NUM_GT:
    case POLICY_OP_NUM_GE:
        return parse_number(v, &a) && parse_number(pv, &b) && ordered(op, number_cmp(&a, &b));
    case POLICY_OP_DATE_EQ:
    case POLICY_OP_DATE_LT:
    case POLICY_OP_DATE_LE:
    case POLICY_OP_DATE_GT:
    case POLICY_OP_DATE_GE:
        return parse_date(v, &ta) && parse_date(pv, &tb) && ordered(op, (ta > tb) - (ta < tb));
    case POLICY_OP_IP:
        return parse_cidr(pv, &net) && parse_cidr(v, &ip) && ip.prefix == ip.bits &&
               cidr_contains(&net, &ip);
    case POLICY_OP_BOOL:
        return strcasecmp(pv, v) == 0;
    case POLICY_OP_BINARY:
        return base64_eq(pv, v);
    default:
        return false;
    }
}

static bool value_match(policy_op op, const char *pv, const uint8_t *lit, const char *v) {
    switch (op) {
    case POLICY_OP_STR_EQ:
        return strcmp(pv, v) == 0;
    case POLICY_OP_STR_EQ_CI:
        return strcasecmp(pv, v) == 0;
    case POLICY_OP_STR_LIKE:
        return policy_glob(pv, strlen(pv), lit, v, strlen(v), false);
    case POLICY_OP_ARN:
        return arn_match(pv, lit, v);
    default:
        return typed_match(op, pv, v);
    }
}

/* ---- quantifiers ---- */
typedef struct {
    const char *const *s;
    const uint8_t *const *lit; /* NULL: no literal marks */
    size_t n;
} pvals;

static bool request_value_ok(const policy_cond *c, const pvals *pv, const char *v) {
    bool hit = false;
    for (size_t i = 0; i < pv->n && !hit; i++)
        hit = value_match(c->op, pv->s[i], pv->lit ? pv->lit[i] : NULL, v);
    return hit != c->negate;
}

static bool eval_values(const policy_cond *c, const pvals *pv, const policy_vals *kv) {
    if (kv->n == 0) {
        if (c->if_exists || c->set == POLICY_SET_ALL) return true;
        return c->set == POLICY_SET_NONE && c->negate;
    }
    bool need_all = c->set == POLICY_SET_ALL || (c->set == POLICY_SET_NONE && c->negate);
    for (size_t i = 0; i < kv->n; i++) {
        bool ok = request_value_ok(c, pv, kv->v[i]);
        if (need_all && !ok) return false;
        if (!need_all && ok) return true;
    }
    return need_all;
}

static bool null_holds(const policy_cond *c, const policy_vals *kv) {
    for (size_t i = 0; i < c->n_values; i++)
        if ((strcasecmp(c->values[i], "true") == 0) == (kv->n == 0)) return true;
    return false;
}

/* Substitutes variables in every value; values that cannot be resolved are
 * dropped, and a condition left with no value is false (AWS: the statement
 * becomes invalid). */
static bool eval_with_vars(const policy_cond *c, const policy_request *req, const policy_vals *kv) {
    cl_buf *bufs = cl_calloc(c->n_values * 2, sizeof *bufs);
    const char **s = cl_calloc(c->n_values, sizeof *s);
    const uint8_t **lit = cl_calloc(c->n_values, sizeof *lit);
    size_t n = 0;
    for (size_t i = 0; i < c->n_values; i++) {
        cl_buf *out = &bufs[2 * i], *l = &bufs[2 * i + 1];
        if (!policy_subst(c->values[i], req, out, l)) continue;
        s[n] = buf_cstr(out), lit[n++] = l->ptr;
    }
    pvals pv = {s, lit, n};
    bool r = n > 0 && eval_values(c, &pv, kv);
    for (size_t i = 0; i < c->n_values * 2; i++)
        buf_free(&bufs[i]);
    free(bufs), free(s), free(lit);
    return r;
}

static bool cond_holds(const policy *p, const policy_cond *c, const policy_request *req) {
    policy_vals kv;
    policy_key_values(req, c->key, &kv);
    if (c->op == POLICY_OP_NULL) return null_holds(c, &kv);
    bool vars = p->vars && policy_op_takes_vars(c->op) && kv.n > 0;
    for (size_t i = 0; vars && i < c->n_values; i++)
        if (strstr(c->values[i], "${")) return eval_with_vars(c, req, &kv);
    pvals pv = {c->values, NULL, c->n_values};
    return eval_values(c, &pv, &kv);
}

bool policy_conds_hold(const policy *p, const policy_stmt *s, const policy_request *req) {
    for (size_t i = 0; i < s->n_conds; i++)
        if (!cond_holds(p, &s->conds[i], req)) return false;
    return true;
}
