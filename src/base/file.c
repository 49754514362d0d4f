/* file.c — durable whole-file writes (temp, fsync, rename, fsync dir) and
 * bounded reads. Used for credentials, TLS material and anything small that
 * must never be seen half-written after a crash. */
#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static cl_err fsync_dir_of(const char *path) {
    char *copy = cl_strdup(path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    free(copy);
    if (fd < 0) return CL_ERR_IO;
    int rc = fsync(fd);
    close(fd);
    return rc == 0 ? CL_OK : CL_ERR_IO;
}

cl_err file_write_atomic(const char *path, cl_slice data, int mode) {
    char *tmp = cl_sprintf("%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        free(tmp);
        return CL_ERR_IO;
    }
    size_t off = 0;
    while (off < data.len) {
        ssize_t n = write(fd, data.ptr + off, data.len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        off += (size_t)n;
    }
    bool ok = off == data.len && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    ok = ok && rename(tmp, path) == 0;
    if (!ok) unlink(tmp);
    free(tmp);
    return ok ? fsync_dir_of(path) : CL_ERR_IO;
}

cl_err file_read_all(const char *path, cl_buf *out, size_t max) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? CL_ERR_NOT_FOUND : CL_ERR_IO;
    cl_err e = CL_OK;
    for (;;) {
        buf_reserve(out, 4096);
        ssize_t n = read(fd, out->ptr + out->len, 4096);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            e = CL_ERR_IO;
            break;
        }
        if (n == 0) break;
        out->len += (size_t)n;
        if (out->len > max) {
            e = CL_ERR_TOO_LARGE;
            break;
        }
    }
    close(fd);
    return e;
}

cl_err dir_ensure(const char *path, int mode) {
    char *p = cl_strdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(p, (mode_t)mode) != 0 && errno != EEXIST) {
            free(p);
            return CL_ERR_IO;
        }
        *s = '/';
    }
    int rc = mkdir(p, (mode_t)mode);
    free(p);
    return rc == 0 || errno == EEXIST ? CL_OK : CL_ERR_IO;
}
