/* static.c — a small static file responder for the pages under the web
 * directory (`cloister serve --web-dir`, default the source tree's web/):
 * GET/HEAD /por/ and /por/<file> (today the proof-of-reserves verifier).
 *
 * Safe by construction rather than by filtering alone: the decoded path may not
 * hold NUL, backslash, empty, "." or ".." segments or dot-files; the file is
 * then resolved with realpath() and must still lie under the web root's own
 * realpath (so no symlink leads out), must be a regular file, and must have one
 * of a few known extensions (which also give its Content-Type). Anything else
 * is a plain 404: no directory listings, no hint of what exists.
 *
 * Only requests that carry no SigV4 credentials are served here, so a signed
 * S3 request for a bucket named "por" still reaches S3 (path-style anonymous
 * access to such a bucket is shadowed by the page). Files are sent with
 * Cache-Control: no-cache, so an upgraded page is never mixed with old modules. */
#include "cli/cli.h"

#include "aws/sigv4.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATIC_PREFIX "/por"

static const struct {
    const char *ext, *type;
} TYPES[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".map", "application/json"},
};

static const char *content_type(const char *path) {
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    if (!dot || (slash && dot < slash)) return NULL;
    for (size_t i = 0; i < sizeof TYPES / sizeof TYPES[0]; i++)
        if (strcmp(dot, TYPES[i].ext) == 0) return TYPES[i].type;
    return NULL;
}

/* A signed request goes to S3, never to a static page. Decided as
 * authentication decides it (sigv4_parse: Authorization header, or the decoded
 * X-Amz-Algorithm / SigV2 query parameters), not by matching raw query text. */
static bool signed_request(const http_request *req) {
    sigv4_request sr = {req->method, req->path, req->query, &req->headers, NULL, true};
    sigv4_auth a;
    bool is_signed = sigv4_parse(&sr, &a) != SIGV4_MISSING;
    sigv4_auth_free(&a);
    return is_signed;
}

/* Every '/'-separated segment is a plain name: not empty, ".", ".." or a
 * dot-file, and no NUL or backslash anywhere. */
static bool safe_relative(const char *rel, size_t len) {
    if (memchr(rel, '\0', len) || memchr(rel, '\\', len)) return false;
    const char *p = rel, *end = rel + len;
    while (p < end) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        const char *seg_end = slash ? slash : end;
        if (seg_end == p || *p == '.') return false;
        p = seg_end + (slash ? 1 : 0);
        if (slash && p == end) return false; /* trailing slash: a directory */
    }
    return true;
}

static void not_found(http_response *resp) {
    resp->status = 404;
    buf_clear(&resp->body);
    buf_append_cstr(&resp->body, "Not Found\n");
    http_set_header(resp, "Content-Type", "text/plain; charset=utf-8");
    http_set_header(resp, "Cache-Control", "no-cache");
}

/* Opens root/por/rel if it is a regular file under root's realpath with a
 * known type: the fd (caller closes) and its type, or -1. */
static int open_under_root(const char *web_root, const char *rel, const char **type,
                           struct stat *st) {
    char root[PATH_MAX], real[PATH_MAX];
    if (!realpath(web_root, root)) return -1;
    char *full = cl_sprintf("%s%s/%s", root, STATIC_PREFIX, rel);
    bool ok = realpath(full, real) != NULL;
    free(full);
    size_t rl = strlen(root);
    if (!ok || strncmp(real, root, rl) != 0 || real[rl] != '/') return -1;
    if (!(*type = content_type(real))) return -1;
    int fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) return -1;
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return -1;
    }
    return fd;
}

bool cli_static_serve(const char *web_root, http_request *req, http_response *resp) {
    bool head = strcmp(req->method, "HEAD") == 0;
    if (!head && strcmp(req->method, "GET") != 0) return false;
    size_t pl = strlen(STATIC_PREFIX);
    if (strncmp(req->path, STATIC_PREFIX, pl) != 0 || (req->path[pl] && req->path[pl] != '/'))
        return false;
    if (signed_request(req)) return false;
    req->service = "cloister";
    req->op = "StaticFile";
    if (!req->path[pl]) { /* /por -> /por/ so the page's relative URLs resolve */
        resp->status = 301;
        http_set_header(resp, "Location", STATIC_PREFIX "/");
        return true;
    }
    cl_buf rel = CL_BUF_INIT;
    const char *type = NULL;
    struct stat st;
    int fd = -1;
    if (web_root && url_decode(&rel, slice_cstr(req->path + pl + 1), false) == CL_OK) {
        if (rel.len == 0) buf_append_cstr(&rel, "index.html");
        if (safe_relative((const char *)rel.ptr, rel.len))
            fd = open_under_root(web_root, buf_cstr(&rel), &type, &st);
    }
    buf_free(&rel);
    if (fd < 0) {
        not_found(resp);
        return true;
    }
    resp->status = 200;
    resp->fd = fd;
    resp->fd_offset = 0;
    resp->fd_length = (uint64_t)st.st_size;
    http_set_header(resp, "Content-Type", type);
    http_set_header(resp, "Cache-Control", "no-cache");
    http_set_header(resp, "X-Content-Type-Options", "nosniff");
    return true;
}
