/* untar.c — unpacking a canonical bundle (bundle.c, docs/apps.md) into the
 * fresh directory a run binds at /app. Only bundles that pass
 * tasks_bundle_check are unpacked, so every entry is a regular file or a
 * directory with a clean relative path (no "..", no absolute path, no link):
 * nothing can be written outside dir. */
#include "tasks/tasks.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLOCK 512

static char *entry_path(const uint8_t *h) {
    char name[101] = "", prefix[156] = "";
    memcpy(name, h, 100);
    memcpy(prefix, h + 345, 155);
    char *p = prefix[0] ? cl_sprintf("%s/%s", prefix, name) : cl_strdup(name);
    size_t n = strlen(p);
    if (n && p[n - 1] == '/') p[n - 1] = 0;
    return p;
}

static cl_err write_file(const char *path, const uint8_t *data, size_t n, bool exec) {
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, exec ? 0755 : 0644);
    if (fd < 0) return CL_ERR_IO;
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, data + off, n - off);
        if (w <= 0) {
            close(fd);
            return CL_ERR_IO;
        }
        off += (size_t)w;
    }
    (void)fchmod(fd, exec ? 0755 : 0644); /* whatever the umask */
    return close(fd) == 0 ? CL_OK : CL_ERR_IO;
}

cl_err tasks_bundle_unpack(cl_slice bundle, const char *dir, char *err, size_t errlen) {
    CL_TRY(tasks_bundle_check(bundle, err, errlen));
    const uint8_t *p = (const uint8_t *)bundle.ptr;
    size_t off = 0;
    cl_err e = CL_OK;
    while (e == CL_OK && off + 2 * BLOCK < bundle.len) {
        const uint8_t *h = p + off;
        char sz[13] = "", mode[9] = "";
        memcpy(sz, h + 124, 12);
        memcpy(mode, h + 100, 8);
        size_t size = (size_t)strtoull(sz, NULL, 8);
        char *rel = entry_path(h), *abs = cl_sprintf("%s/%s", dir, rel);
        off += BLOCK;
        if (h[156] == '5') {
            if (mkdir(abs, 0755) != 0) e = CL_ERR_IO;
        } else {
            e = write_file(abs, p + off, size, strcmp(mode, "0000755") == 0);
            off += (size + BLOCK - 1) / BLOCK * BLOCK;
        }
        if (e != CL_OK) snprintf(err, errlen, "cannot write %s", rel);
        free(rel);
        free(abs);
    }
    return e;
}
