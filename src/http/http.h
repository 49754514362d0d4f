/* http.h — the one public header of src/http: the HTTP(S) server Cloister's
 * front door runs on (libmicrohttpd, epoll, thread pool, TLS through GnuTLS),
 * the Prometheus metrics registry, and a small libcurl client for the CLI.
 *
 * The server hands a handler a fully read request (raw path and query exactly as
 * sent, because SigV4 signs them; headers; body up to max_body) and sends the
 * response the handler filled in. Ownership: the server owns request and
 * response; the handler fills resp->body / resp->headers. */
#ifndef CLOISTER_HTTP_H
#define CLOISTER_HTTP_H

#include "base/base.h"

/* Receives one piece of a streamed request body; an error stops the upload. */
typedef cl_err (*http_body_fn)(void *arg, cl_slice piece);

typedef struct {
    const char *method;
    char *path;  /* raw request-target path, still percent-encoded */
    char *query; /* raw query string without '?', "" if none */
    cl_kvlist headers;
    cl_buf body;
    char remote_ip[64];
    bool tls;
    char request_id[21];
    bool body_too_large;
    /* Set by http_config.on_headers when the request's signature was verified
     * from its headers: its buffered body is then bounded by max_body only.
     * Any other body is "pre-auth": bounded by preauth_body_limit and counted in
     * the preauth_memory pool (server_busy when the pool is full). */
    bool body_trusted;
    /* Set by http_config.on_headers to give this request's buffered body
     * another limit than preauth_body_limit / max_body (0: theirs); a pre-auth
     * body still counts in the preauth_memory pool (S3 POST Object forms). */
    size_t body_limit;
    bool server_busy;
    const char *bad_request; /* framing fault found by the server (answer 400), or NULL */
    /* set by the handler, for metrics and logs */
    const char *service;
    const char *op;
    /* Who called, for the access log (malloc'd, freed by the server; NULL:
     * anonymous or not authenticated), and the access key a failed
     * authentication named. */
    char *principal, *account, *access_key_id;
    /* Streaming: http_config.on_headers may set body_sink; then each body piece
     * goes to it (not to `body`, and without the max_body limit), and the
     * handler runs after the last piece. The first error it returns is kept in
     * body_error and the rest of the body is discarded. `state` is the
     * handlers' own per-request data, released with state_free at the end. */
    http_body_fn body_sink;
    void *body_sink_arg;
    cl_err body_error;
    uint64_t body_received;
    void *state;
    void (*state_free)(void *state);
} http_request;

/* Produces response bytes at `pos` into buf (at most max); returns bytes made,
 * 0 at the end, or -1 on error (the connection is then closed). */
typedef long (*http_reader_fn)(void *arg, uint64_t pos, char *buf, size_t max);

typedef struct {
    int status;
    cl_kvlist headers;
    cl_buf body;
    bool body_secret; /* the body holds a secret (a KMS plaintext): zeroised once sent */
    /* Instead of body: a file range sent zero-copy (the server closes fd) ... */
    int fd;
    uint64_t fd_offset, fd_length;
    /* ... or bytes produced on demand (e.g. decrypted segments). */
    http_reader_fn reader;
    void *reader_arg;
    void (*reader_free)(void *arg);
    uint64_t reader_length;
    char error_code[64]; /* the AWS error code of an error response (aws_error), for logs */
} http_response;

typedef void (*http_handler)(void *ctx, http_request *req, http_response *resp);
/* Called once headers are in, before the body: may set req->body_sink to
 * stream, or fill resp (status != 0) to answer at once without reading the body. */
typedef void (*http_headers_fn)(void *ctx, http_request *req, http_response *resp);
/* Called once per request after its response is queued (the access log):
 * resp still has status, headers and error_code; bytes_out is the body's
 * length; nanos the time since the request line arrived. */
typedef void (*http_done_fn)(void *ctx, const http_request *req, const http_response *resp,
                             uint64_t bytes_out, uint64_t nanos);

typedef struct {
    const char *listen;     /* "127.0.0.1:9000"; NULL: HTTPS on tls_listen only */
    const char *tls_listen; /* NULL = no TLS listener */
    const char *tls_cert_pem, *tls_key_pem;
    size_t max_body;  /* bytes; larger bodies get 413 before the handler runs */
    unsigned threads; /* thread pool size */
    /* Limits against unauthenticated exhaustion (0 = none; see guard.c and
     * docs/security/trust-model.md "Resource limits"): connections per
     * listener and per client address; seconds to receive a request's headers
     * (also the grace before min_body_rate, in bytes/s, applies to a body);
     * the largest buffered body and the total buffered bytes of requests whose
     * signature is not verified at their headers. */
    unsigned max_connections, max_connections_per_ip;
    unsigned header_timeout;
    uint64_t min_body_rate;
    size_t preauth_body_limit, preauth_memory;
    http_headers_fn on_headers; /* optional */
    http_done_fn on_done;       /* optional */
} http_config;

typedef struct http_server http_server;
cl_err http_server_start(const http_config *cfg, http_handler h, void *ctx, http_server **out);
void http_server_stop(http_server *s);
/* Port actually bound (useful with port 0). */
uint16_t http_server_port(const http_server *s, bool tls);

void http_set_header(http_response *r, const char *name, const char *value);

/* ---- metrics ---- */
void metrics_observe(const char *service, const char *op, int status, uint64_t nanos);
void metrics_render(cl_buf *out);

/* ---- TLS material: a CA and a server certificate, generated on first start ---- */
/* Creates ca.pem, ca.key, server.pem and server.key in dir if absent
 * (ECDSA P-256, server cert for localhost/127.0.0.1/::1), then loads
 * server cert and key into cert_pem and key_pem (malloc'd). */
cl_err tls_ensure_material(const char *dir, char **cert_pem, char **key_pem);

/* ---- client (libcurl) ---- */
typedef struct {
    long status;
    cl_buf body;
} http_client_response;
cl_err http_client_request(const char *method, const char *url, const cl_kvlist *headers,
                           cl_slice body, const char *ca_file, http_client_response *out);

#endif
