/* guard.h — private to src/http: the limits that keep clients who have not
 * (yet) proved who they are from exhausting the server. See guard.c. */
#ifndef CLOISTER_HTTP_GUARD_H
#define CLOISTER_HTTP_GUARD_H

#include "http/http.h"

typedef struct http_guard http_guard;
typedef struct guard_conn guard_conn;

/* Starts the sweeper thread (when a deadline is configured). */
http_guard *guard_new(const http_config *cfg);
/* Stops the sweeper; every connection must already be closed. */
void guard_free(http_guard *g);

/* A connection opened (fd: its socket) / closed (before MHD closes the socket). */
guard_conn *guard_conn_open(http_guard *g, int fd);
void guard_conn_close(http_guard *g, guard_conn *c);
/* Its request's headers are in: the body clock starts. */
void guard_conn_body_start(guard_conn *c);
void guard_conn_body_bytes(guard_conn *c, size_t n);
/* The request is being handled or answered: no deadline but MHD's idle timeout. */
void guard_conn_busy(guard_conn *c);
/* The response is sent: the next request's headers are awaited (keep-alive). */
void guard_conn_idle(http_guard *g, guard_conn *c);

/* The pool of bytes buffered for requests whose signature is not verified:
 * false (nothing taken) when n more would exceed the configured total. */
bool guard_reserve(http_guard *g, size_t n);
void guard_release(http_guard *g, size_t n);

#endif
