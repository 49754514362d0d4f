/* access_log.c — `serve --access-log FILE|-`: one JSON line per request (time,
 * request id, remote address, principal, account, service, operation,
 * resource, status, error code, bytes in and out, latency), written under a
 * mutex and flushed per line; SIGHUP reopens FILE (log rotation). Every
 * denial (403) is also logged at info level to the normal log, with or
 * without an access log. Never logged: secrets, signatures, session tokens,
 * query strings (presigned credentials live there), bodies; the resource is
 * only the bucket/key of the path or an identifier parameter the request
 * names (docs/access-log.md). */
#include "cli/access_log.h"

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct access_log {
    pthread_mutex_t lock;
    FILE *f;
    char *path; /* NULL: stderr */
};

static volatile sig_atomic_t reopen_wanted;

static void on_sighup(int sig) {
    (void)sig;
    reopen_wanted = 1;
}

cl_err access_log_open(const char *path, access_log **out) {
    access_log *l = cl_calloc(1, sizeof *l);
    pthread_mutex_init(&l->lock, NULL);
    if (strcmp(path, "-") == 0) {
        l->f = stderr;
    } else {
        l->path = cl_strdup(path);
        l->f = fopen(path, "ae");
        if (!l->f) {
            access_log_close(l);
            return CL_ERR_IO;
        }
        setvbuf(l->f, NULL, _IOLBF, 0);
        struct sigaction sa = {.sa_handler = on_sighup};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGHUP, &sa, NULL);
    }
    *out = l;
    return CL_OK;
}

void access_log_close(access_log *l) {
    if (!l) return;
    if (l->path) signal(SIGHUP, SIG_DFL);
    if (l->f && l->f != stderr) fclose(l->f);
    pthread_mutex_destroy(&l->lock);
    free(l->path);
    free(l);
}

/* A JSON string of s; bytes that are not UTF-8 become '?'. */
static json_t *jstr(const char *s) {
    if (!s) return json_null();
    if (utf8_valid(slice_cstr(s))) return json_string(s);
    char *c = cl_strdup(s);
    for (char *p = c; *p; p++)
        if ((unsigned char)*p >= 0x80) *p = '?';
    json_t *j = json_string(c);
    free(c);
    return j;
}

/* S3: "bucket/key" (percent-decoded) of a path-style request, or of a
 * virtual-host-style one whose Host names vhost_bucket; NULL for the service root. */
static char *s3_resource(const http_request *req, const char *vhost_bucket) {
    const char *path = req->path && req->path[0] == '/' ? req->path + 1 : req->path;
    if (!vhost_bucket && (!path || !*path)) return NULL;
    cl_buf b = CL_BUF_INIT;
    if (vhost_bucket) {
        buf_append_cstr(&b, vhost_bucket);
        if (path && *path) buf_append_cstr(&b, "/");
    }
    size_t mark = b.len;
    if (path && url_decode(&b, slice_cstr(path), false) != CL_OK) {
        b.len = mark; /* not percent-encoded as it should be: as received */
        buf_append_cstr(&b, path);
    }
    return buf_take_cstr(&b);
}

/* The first identifier parameter (never a secret) among names, from a lookup. */
static const char *const ID_PARAMS[] = {"RoleArn",  "PolicyArn", "SerialNumber", "UserName",
                                        "RoleName", "GroupName", "KeyId",        "AccountName",
                                        "Account",  "Name",      "App",          "TaskId"};

static char *query_resource(const http_request *req) {
    cl_kvlist p = CL_KVLIST_INIT;
    kvlist_parse_form(&p, slice_cstr(req->query)); /* a partial parse is fine */
    const char *ct = kvlist_get_ci(&req->headers, "Content-Type");
    if (ct && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0)
        kvlist_parse_form(&p, buf_slice(&req->body));
    char *out = NULL;
    for (size_t i = 0; !out && i < sizeof ID_PARAMS / sizeof ID_PARAMS[0]; i++) {
        const char *v = kvlist_get(&p, ID_PARAMS[i]);
        if (v && *v) out = cl_strdup(v);
    }
    kvlist_free(&p);
    return out;
}

static char *json_resource(const http_request *req) {
    if (req->body.len == 0 || req->body.len > (64u << 10)) return NULL;
    json_t *in = json_loadb((const char *)req->body.ptr, req->body.len, 0, NULL);
    char *out = NULL;
    for (size_t i = 0; json_is_object(in) && !out && i < sizeof ID_PARAMS / sizeof ID_PARAMS[0];
         i++) {
        const char *v = json_string_value(json_object_get(in, ID_PARAMS[i]));
        if (v && *v) out = cl_strdup(v);
    }
    json_decref(in);
    return out;
}

static char *resource_of(const http_request *req, const char *vhost_bucket) {
    const char *svc = req->service ? req->service : "";
    if (strcmp(svc, "s3") == 0) return s3_resource(req, vhost_bucket);
    if (strcmp(svc, "iam") == 0 || strcmp(svc, "sts") == 0) return query_resource(req);
    if (strcmp(svc, "kms") == 0 || strcmp(svc, "cloister") == 0) return json_resource(req);
    return NULL;
}

static void now_rfc3339_ms(char out[48]) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char base[24];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 48, "%s.%03dZ", base, (int)(ts.tv_nsec / 1000000) % 1000);
}

static void write_line(access_log *l, const char *line) {
    pthread_mutex_lock(&l->lock);
    if (reopen_wanted && l->path) {
        reopen_wanted = 0;
        FILE *f = fopen(l->path, "ae");
        if (f) {
            setvbuf(f, NULL, _IOLBF, 0);
            fclose(l->f);
            l->f = f;
        } else {
            log_warn("access log: cannot reopen %s; still writing the old file", l->path);
        }
    }
    fputs(line, l->f);
    fputc('\n', l->f);
    fflush(l->f);
    pthread_mutex_unlock(&l->lock);
}

void access_log_request(access_log *l, const http_request *req, const http_response *resp,
                        const char *vhost_bucket, uint64_t bytes_out, uint64_t nanos) {
    bool denied = resp->status == 403;
    if (!l && !denied) return;
    char *resource = resource_of(req, vhost_bucket);
    bool auth_failed = req->service && strcmp(req->service, "auth") == 0;
    const char *principal = req->principal ? req->principal : auth_failed ? NULL : "anonymous";
    const char *code = resp->error_code[0] ? resp->error_code : NULL;
    if (denied)
        log_info("denied: %s %s:%s %s by %s%s (%s, request %s, from %s)", req->method,
                 req->service ? req->service : "-", req->op ? req->op : "-",
                 resource ? resource : "-", principal ? "" : "access key ",
                 principal            ? principal
                 : req->access_key_id ? req->access_key_id
                                      : "-",
                 code ? code : "403", req->request_id, req->remote_ip);
    if (l) {
        char ts[48];
        now_rfc3339_ms(ts);
        json_t *o = json_object();
        json_object_set_new(o, "time", json_string(ts));
        json_object_set_new(o, "request_id", json_string(req->request_id));
        json_object_set_new(o, "remote", jstr(req->remote_ip));
        json_object_set_new(o, "principal", jstr(principal));
        if (auth_failed && req->access_key_id)
            json_object_set_new(o, "access_key_id", jstr(req->access_key_id));
        json_object_set_new(o, "account", jstr(req->account));
        json_object_set_new(o, "service", jstr(req->service));
        json_object_set_new(o, "operation", jstr(req->op));
        json_object_set_new(o, "method", jstr(req->method));
        json_object_set_new(o, "resource", jstr(resource));
        json_object_set_new(o, "status", json_integer(resp->status));
        json_object_set_new(o, "error_code", jstr(code));
        json_object_set_new(o, "bytes_in", json_integer((json_int_t)req->body_received));
        json_object_set_new(o, "bytes_out", json_integer((json_int_t)bytes_out));
        json_object_set_new(o, "latency_ms", json_real((double)(nanos / 1000) / 1000.0));
        char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
        if (line) write_line(l, line);
        free(line);
        json_decref(o);
    }
    free(resource);
}
