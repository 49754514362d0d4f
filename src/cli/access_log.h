/* access_log.h — the request log of `serve --access-log` (access_log.c). */
#ifndef CLOISTER_ACCESS_LOG_H
#define CLOISTER_ACCESS_LOG_H

#include "http/http.h"

typedef struct access_log access_log;
/* Opens (appends to) path, or stderr for "-"; a file is reopened on SIGHUP. */
cl_err access_log_open(const char *path, access_log **out);
void access_log_close(access_log *l);
/* One finished request: a JSON line if l is not NULL, and an info line in the
 * normal log if it was denied (403), whether or not l is NULL. vhost_bucket: the
 * bucket an S3 virtual-host-style request names in its Host (s3_host_bucket),
 * NULL for path style: the resource is "bucket/key" either way. */
void access_log_request(access_log *l, const http_request *req, const http_response *resp,
                        const char *vhost_bucket, uint64_t bytes_out, uint64_t nanos);

#endif
