/* run_frame.c — the framed control channel between the host and the init in
 * the sandbox (run_internal.h): a u32 big-endian length, then a JSON object.
 * Both ends are Cloister; the init's end is reachable by the app only if the
 * init leaks it (it closes it before exec), so frames are bounded and checked
 * like any untrusted input all the same. */
#include "tasks/run_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static cl_err write_all(int fd, const uint8_t *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return CL_ERR_IO;
        p += w;
        n -= (size_t)w;
    }
    return CL_OK;
}

cl_err run_frame_write_json(int fd, const json_t *j) {
    char *s = json_dumps(j, JSON_COMPACT);
    if (!s) return CL_ERR_NOMEM;
    size_t n = strlen(s);
    cl_err e = CL_ERR_TOO_LARGE;
    if (n <= RUN_FRAME_MAX) {
        uint8_t hdr[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
        e = write_all(fd, hdr, 4);
        if (e == CL_OK) e = write_all(fd, (const uint8_t *)s, n);
    }
    cl_cleanse(s, n); /* frames may carry sealed secrets: no plaintext, but no copies either */
    free(s);
    return e;
}

static cl_err read_all(int fd, uint8_t *p, size_t n, int timeout_ms, bool *eof_at_start) {
    size_t got = 0;
    uint64_t deadline = timeout_ms < 0 ? 0 : time_mono_ns() + (uint64_t)timeout_ms * 1000000u;
    while (got < n) {
        int wait = -1;
        if (timeout_ms >= 0) {
            uint64_t now = time_mono_ns();
            if (now >= deadline) return CL_ERR_EXPIRED;
            wait = (int)((deadline - now) / 1000000u) + 1;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int pr = poll(&pfd, 1, wait);
        if (pr < 0 && errno == EINTR) continue;
        if (pr < 0) return CL_ERR_IO;
        if (pr == 0) continue; /* the deadline check above ends it */
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (r < 0) return CL_ERR_IO;
        if (r == 0) {
            if (eof_at_start) *eof_at_start = got == 0;
            return got == 0 ? CL_ERR_NOT_FOUND : CL_ERR_IO;
        }
        got += (size_t)r;
    }
    return CL_OK;
}

cl_err run_frame_read_json(int fd, int timeout_ms, json_t **out) {
    *out = NULL;
    uint8_t hdr[4];
    CL_TRY(read_all(fd, hdr, 4, timeout_ms, NULL));
    size_t n = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
    if (n == 0 || n > RUN_FRAME_MAX) return CL_ERR_INVALID;
    uint8_t *p = cl_malloc(n);
    cl_err e = read_all(fd, p, n, timeout_ms, NULL);
    if (e == CL_ERR_NOT_FOUND) e = CL_ERR_IO;
    if (e == CL_OK) {
        *out = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(*out)) {
            json_decref(*out);
            *out = NULL;
            e = CL_ERR_INVALID;
        }
    }
    cl_cleanse(p, n);
    free(p);
    return e;
}
