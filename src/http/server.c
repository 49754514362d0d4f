/* server.c — the HTTP(S) listener on libmicrohttpd. It does only transport:
 * capture the raw request target (before MHD unescapes it: SigV4 signs the raw
 * form), collect headers and a bounded body, call the one handler, send what it
 * built, and record metrics. Everything about AWS lives above this file.
 * A body is buffered under one of two bounds: max_body once on_headers has
 * verified the request's signature (body_trusted), else the pre-auth limits
 * (per request, and a pool shared by all connections: guard.c). */
#include "http/guard.h"
#include "http/http.h"

#include "crypto/crypto.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct http_server {
    struct MHD_Daemon *plain, *tls;
    http_handler handler;
    http_headers_fn on_headers;
    http_done_fn on_done;
    void *ctx;
    size_t max_body, preauth_limit;
    http_guard *guard;
};

typedef struct {
    http_request req;
    bool started;
    uint64_t t0;
    guard_conn *gc;
    bool preauth;    /* the body is buffered before its signature is verified */
    size_t reserved; /* bytes taken from the pre-auth pool */
    bool has_length; /* Content-Length was sent ... */
    uint64_t length; /* ... with this value */
} req_state;

static guard_conn *conn_guard(struct MHD_Connection *con) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(con, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* MHD's connection start and end: the guard's deadlines follow each connection. */
static void on_connection(void *cls, struct MHD_Connection *con, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
    http_server *srv = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = ci ? guard_conn_open(srv->guard, ci->connect_fd) : NULL;
    } else {
        guard_conn_close(srv->guard, *socket_context);
        *socket_context = NULL;
    }
}

/* Called by MHD with the raw URI before any parsing: the start of a request. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *con) {
    (void)cls;
    req_state *st = cl_calloc(1, sizeof *st);
    st->gc = conn_guard(con);
    const char *q = strchr(uri, '?');
    st->req.path = q ? cl_strndup(uri, (size_t)(q - uri)) : cl_strdup(uri);
    st->req.query = cl_strdup(q ? q + 1 : "");
    st->t0 = time_mono_ns();
    return st;
}

static void on_completed(void *cls, struct MHD_Connection *con, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    (void)con;
    (void)toe;
    http_server *srv = cls;
    req_state *st = *con_cls;
    if (!st) return;
    guard_release(srv->guard, st->reserved);
    guard_conn_idle(srv->guard, st->gc);
    if (st->req.state_free) st->req.state_free(st->req.state);
    free(st->req.path);
    free(st->req.query);
    free(st->req.principal);
    free(st->req.account);
    free(st->req.access_key_id);
    kvlist_free(&st->req.headers);
    buf_free(&st->req.body);
    free(st);
    *con_cls = NULL;
}

/* Collects headers with their real lengths: a NUL inside a name or value would
 * be silently cut by C strings, so such a request is refused instead. */
static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      size_t key_size, const char *value, size_t value_size) {
    (void)kind;
    http_request *req = cls;
    if (strlen(key) != key_size || (value && strlen(value) != value_size))
        req->bad_request = "A header contains a NUL byte.";
    kvlist_add(&req->headers, key, value ? value : "");
    return MHD_YES;
}

/* Refuses ambiguous framing (RFC 9112 section 6.3): differing Content-Length
 * values, or Content-Length together with Transfer-Encoding. Behind a proxy,
 * either lets a client smuggle a second request. */
static void check_framing(http_request *req) {
    const char *first = NULL;
    bool te = false;
    for (size_t i = 0; i < req->headers.len; i++) {
        const cl_kv *h = &req->headers.items[i];
        if (strcasecmp(h->key, "Transfer-Encoding") == 0) te = true;
        if (strcasecmp(h->key, "Content-Length") != 0) continue;
        if (first && strcmp(first, h->value) != 0)
            req->bad_request = "Conflicting Content-Length headers.";
        first = h->value;
    }
    if (first && te) req->bad_request = "Content-Length and Transfer-Encoding together.";
}

static void fill_remote(struct MHD_Connection *con, http_request *req) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    strcpy(req->remote_ip, "0.0.0.0");
    if (!ci || !ci->client_addr) return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, req->remote_ip,
                  sizeof req->remote_ip);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, req->remote_ip,
                  sizeof req->remote_ip);
}

typedef struct {
    http_reader_fn fn;
    void *arg;
    void (*release)(void *arg);
} reader_box;

static ssize_t read_cb(void *cls, uint64_t pos, char *buf, size_t max) {
    reader_box *b = cls;
    long n = b->fn(b->arg, pos, buf, max);
    return n > 0    ? (ssize_t)n
           : n == 0 ? MHD_CONTENT_READER_END_OF_STREAM
                    : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void read_free(void *cls) {
    reader_box *b = cls;
    if (b->release) b->release(b->arg);
    free(b);
}

/* A body that held a secret: zeroised (its whole allocation) before it is freed. */
static void free_secret(void *p) {
    if (!p) return;
    cl_cleanse(p, malloc_usable_size(p));
    free(p);
}

static struct MHD_Response *make_response(http_response *r) {
    if (r->fd >= 0) {
        struct MHD_Response *mr =
            MHD_create_response_from_fd_at_offset64(r->fd_length, r->fd, r->fd_offset);
        if (!mr) close(r->fd);
        r->fd = -1; /* MHD owns it now */
        return mr;
    }
    if (r->reader) {
        reader_box *b = cl_malloc(sizeof *b);
        *b = (reader_box){r->reader, r->reader_arg, r->reader_free};
        r->reader = NULL;
        return MHD_create_response_from_callback(r->reader_length, 64 * 1024, read_cb, b,
                                                 read_free);
    }
    size_t len = r->body.len;
    void *data = r->body.ptr;
    r->body = CL_BUF_INIT;
    MHD_ContentReaderFreeCallback release = r->body_secret ? free_secret : free;
    struct MHD_Response *mr =
        MHD_create_response_from_buffer_with_free_callback(len, data, release);
    if (!mr) release(data);
    return mr;
}

static enum MHD_Result send_response(struct MHD_Connection *con, http_response *r) {
    struct MHD_Response *mr = make_response(r);
    if (!mr) return MHD_NO;
    for (size_t i = 0; i < r->headers.len; i++) {
        /* libmicrohttpd refuses an empty value; a lone space is the same header to
         * every client (RFC 9110 5.5: surrounding whitespace is not part of the
         * value), e.g. an S3 x-amz-meta-* stored empty */
        const char *v = r->headers.items[i].value;
        MHD_add_response_header(mr, r->headers.items[i].key, v[0] ? v : " ");
    }
    enum MHD_Result rc = MHD_queue_response(con, (unsigned)r->status, mr);
    MHD_destroy_response(mr);
    return rc;
}

static void response_release(http_response *r) {
    if (r->fd >= 0) close(r->fd);
    if (r->reader && r->reader_free) r->reader_free(r->reader_arg);
    kvlist_free(&r->headers);
    if (r->body_secret)
        buf_free_secret(&r->body);
    else
        buf_free(&r->body);
}

static uint64_t body_length(const http_response *r) {
    return r->fd >= 0 ? r->fd_length : r->reader ? r->reader_length : r->body.len;
}

static enum MHD_Result finish(http_server *srv, struct MHD_Connection *con, req_state *st,
                              http_response *resp) {
    guard_conn_busy(st->gc);
    http_set_header(resp, "x-amz-request-id", st->req.request_id);
    http_set_header(resp, "x-amzn-RequestId", st->req.request_id);
    http_set_header(resp, "Server", "Cloister");
    uint64_t bytes_out =
        strcmp(st->req.method ? st->req.method : "", "HEAD") == 0 ? 0 : body_length(resp);
    enum MHD_Result rc = send_response(con, resp);
    uint64_t nanos = time_mono_ns() - st->t0;
    metrics_observe(st->req.service ? st->req.service : "none", st->req.op ? st->req.op : "none",
                    resp->status, nanos);
    if (srv->on_done) srv->on_done(srv->ctx, &st->req, resp, bytes_out, nanos);
    response_release(resp);
    return rc;
}

static enum MHD_Result dispatch(http_server *srv, struct MHD_Connection *con, req_state *st) {
    guard_conn_busy(st->gc);
    http_response resp = {.status = 200, .fd = -1};
    srv->handler(srv->ctx, &st->req, &resp);
    return finish(srv, con, st, &resp);
}

static void start_request(http_server *srv, struct MHD_Connection *con, req_state *st,
                          const char *method) {
    st->started = true;
    st->req.method = method;
    MHD_get_connection_values_n(con, MHD_HEADER_KIND, collect_header, &st->req);
    check_framing(&st->req);
    const union MHD_ConnectionInfo *tls =
        MHD_get_connection_info(con, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    st->req.tls =
        tls != NULL && tls->tls_session != NULL; /* the connection itself, not its daemon */
    fill_remote(con, &st->req);
    static const char ALNUM[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    crypto_random_string(st->req.request_id, 20, ALNUM);
    const char *cl = kvlist_get_ci(&st->req.headers, "Content-Length");
    st->has_length = cl && slice_to_u64(slice_cstr(cl), &st->length) == CL_OK;
    if (st->has_length && st->length > srv->max_body) st->req.body_too_large = true;
}

/* A body too large or over the pool: what was buffered is let go, the rest
 * of the body is read and discarded, and the handler answers the error. */
static void drop_body(http_server *srv, req_state *st) {
    buf_free(&st->req.body);
    guard_release(srv->guard, st->reserved);
    st->reserved = 0;
}

/* The headers are in and the body will be buffered without a verified
 * signature: false when it must be refused before it is read. */
static bool preauth_admit(http_server *srv, req_state *st) {
    st->preauth = true;
    if (!st->has_length || st->length == 0) return true;
    size_t limit = st->req.body_limit ? st->req.body_limit : srv->preauth_limit;
    if (limit && st->length > limit) {
        st->req.body_too_large = true;
        return false;
    }
    if (!guard_reserve(srv->guard, (size_t)st->length)) {
        st->req.server_busy = true;
        return false;
    }
    st->reserved = (size_t)st->length;
    buf_reserve(&st->req.body, st->reserved);
    return true;
}

/* Appends a piece to a buffered body, within its limit and (pre-auth) the pool. */
static void buffer_piece(http_server *srv, req_state *st, cl_slice piece) {
    http_request *r = &st->req;
    if (r->body_too_large || r->server_busy) return; /* discarding */
    size_t limit = st->preauth && srv->preauth_limit ? srv->preauth_limit : srv->max_body;
    if (r->body_limit) limit = r->body_limit;
    if (r->body.len + piece.len > limit) {
        r->body_too_large = true;
        drop_body(srv, st);
        return;
    }
    buf_reserve(&r->body, piece.len);
    if (st->preauth && r->body.cap > st->reserved) { /* a body without Content-Length */
        if (!guard_reserve(srv->guard, r->body.cap - st->reserved)) {
            r->server_busy = true;
            drop_body(srv, st);
            return;
        }
        st->reserved = r->body.cap;
    }
    buf_append_slice(&r->body, piece);
}

static void take_piece(http_server *srv, req_state *st, cl_slice piece) {
    http_request *r = &st->req;
    r->body_received += piece.len;
    guard_conn_body_bytes(st->gc, piece.len);
    if (r->body_sink) {
        if (r->body_error == CL_OK) r->body_error = r->body_sink(r->body_sink_arg, piece);
    } else {
        buffer_piece(srv, st, piece);
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls) {
    (void)url;
    (void)version;
    http_server *srv = cls;
    req_state *st = *con_cls;
    if (!st) return MHD_NO;
    if (!st->started) {
        guard_conn_body_start(st->gc);
        start_request(srv, con, st, method);
        if (st->req.bad_request) return dispatch(srv, con, st); /* 400 without reading the body */
        if (srv->on_headers) {
            http_response early = {.status = 0, .fd = -1};
            srv->on_headers(srv->ctx, &st->req, &early);
            if (early.status) return finish(srv, con, st, &early);
            response_release(&early);
        }
        if (st->req.body_too_large && !st->req.body_sink) return dispatch(srv, con, st); /* 413 */
        st->req.body_too_large = false;
        if (!st->req.body_sink && !st->req.body_trusted && !preauth_admit(srv, st))
            return dispatch(srv, con, st); /* 413 or 503 before reading the body */
        return MHD_YES;
    }
    if (*upload_size) {
        take_piece(srv, st, slice_of(upload, *upload_size));
        *upload_size = 0;
        return MHD_YES;
    }
    return dispatch(srv, con, st);
}

static cl_err parse_listen(const char *spec, struct sockaddr_storage *ss, bool *v6) {
    memset(ss, 0, sizeof *ss);
    const char *colon = strrchr(spec, ':');
    if (!colon) return CL_ERR_INVALID;
    uint64_t port;
    if (slice_to_u64(slice_cstr(colon + 1), &port) != CL_OK || port > 65535) return CL_ERR_INVALID;
    char host[64] = "";
    size_t hl = (size_t)(colon - spec);
    if (hl >= sizeof host) return CL_ERR_INVALID;
    memcpy(host, spec, hl);
    host[hl] = 0;
    if (host[0] == '[') {
        size_t n = strlen(host);
        if (n < 2 || host[n - 1] != ']') return CL_ERR_INVALID;
        host[n - 1] = 0;
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        *v6 = true;
        return inet_pton(AF_INET6, host + 1, &a->sin6_addr) == 1 ? CL_OK : CL_ERR_INVALID;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    *v6 = false;
    if (host[0] == 0 || strcmp(host, "0.0.0.0") == 0) return CL_OK;
    if (strcmp(host, "localhost") == 0) strcpy(host, "127.0.0.1");
    return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? CL_OK : CL_ERR_INVALID;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    cl_buf b = CL_BUF_INIT;
    buf_vappendf(&b, fmt, ap);
    while (b.len && (b.ptr[b.len - 1] == '\n'))
        b.len--;
    log_debug("http: %s", buf_cstr(&b));
    buf_free(&b);
}

static struct MHD_Daemon *start_daemon(http_server *srv, const http_config *cfg, const char *listen,
                                       bool tls) {
    struct sockaddr_storage ss;
    bool v6 = false;
    if (parse_listen(listen, &ss, &v6) != CL_OK) {
        log_error("http: bad listen address '%s' (want HOST:PORT)", listen);
        return NULL;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                     (v6 ? MHD_USE_IPv6 : 0) | (tls ? MHD_USE_TLS : 0);
    /* epoll + a thread pool: an idle or slow connection holds no thread, only a
     * slot (counted by the two connection limits) until guard.c's deadlines. */
    struct MHD_OptionItem opts[16] = {
        {MHD_OPTION_SOCK_ADDR, 0, &ss},
        {MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, srv},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, srv},
        {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, srv},
        {MHD_OPTION_THREAD_POOL_SIZE, cfg->threads ? cfg->threads : 4, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, 20, NULL}, /* idle seconds, as S3's RequestTimeout */
        /* MHD zeroes this pool on every keep-alive request: keep it small (S3 caps
         * request headers at 8 KB) */
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, 32 * 1024, NULL},
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL},
    };
    size_t n = 8;
    if (cfg->max_connections)
        opts[n++] =
            (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections, NULL};
    if (cfg->max_connections_per_ip)
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                            cfg->max_connections_per_ip, NULL};
    if (tls) {
        opts[n++] =
            (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)cfg->tls_cert_pem};
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)cfg->tls_key_pem};
    }
    opts[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    struct MHD_Daemon *d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_ARRAY,
                                            opts, MHD_OPTION_END);
    if (!d) log_error("http: cannot listen on %s%s", listen, tls ? " (TLS)" : "");
    return d;
}

cl_err http_server_start(const http_config *cfg, http_handler h, void *ctx, http_server **out) {
    http_server *srv = cl_calloc(1, sizeof *srv);
    srv->handler = h;
    srv->on_headers = cfg->on_headers;
    srv->on_done = cfg->on_done;
    srv->ctx = ctx;
    srv->max_body = cfg->max_body ? cfg->max_body : 1 << 20;
    srv->preauth_limit = cfg->preauth_body_limit;
    srv->guard = guard_new(cfg);
    /* listen may be NULL for an HTTPS-only server (the remote signer) */
    if (cfg->listen) srv->plain = start_daemon(srv, cfg, cfg->listen, false);
    if ((srv->plain || !cfg->listen) && cfg->tls_listen)
        srv->tls = start_daemon(srv, cfg, cfg->tls_listen, true);
    if ((cfg->listen && !srv->plain) || (cfg->tls_listen && !srv->tls) ||
        (!srv->plain && !srv->tls)) {
        http_server_stop(srv);
        return CL_ERR_IO;
    }
    *out = srv;
    return CL_OK;
}

void http_server_stop(http_server *s) {
    if (!s) return;
    if (s->plain) MHD_stop_daemon(s->plain);
    if (s->tls) MHD_stop_daemon(s->tls);
    guard_free(s->guard);
    free(s);
}

uint16_t http_server_port(const http_server *s, bool tls) {
    struct MHD_Daemon *d = tls ? s->tls : s->plain;
    if (!d) return 0;
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    return i ? i->port : 0;
}

void http_set_header(http_response *r, const char *name, const char *value) {
    kvlist_add(&r->headers, name, value);
}
