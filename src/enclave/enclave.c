/* enclave.c — the backend-independent part of src/enclave: checking a spec,
 * choosing the backend, freeing results. */
#include "enclave/enclave.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const enclave_backend *enclave_backend_default(void) {
    return &enclave_backend_bwrap;
}

static bool is_dir(const char *p) {
    struct stat st;
    return p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A fresh output dir: exists, is a directory, holds nothing. */
static bool dir_empty(const char *p) {
    DIR *d = opendir(p);
    if (!d) return false;
    struct dirent *e;
    bool empty = true;
    while (empty && (e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) empty = false;
    closedir(d);
    return empty;
}

static cl_err check_spec(const enclave_spec *s) {
    if (!s->argv || !s->argv[0] || s->argv[0][0] != '/') return CL_ERR_INVALID;
    for (const char *const *e = s->env; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq || eq == *e) return CL_ERR_INVALID;
    }
    if ((s->app_dir && !is_dir(s->app_dir)) || (s->in_dir && !is_dir(s->in_dir)))
        return CL_ERR_INVALID;
    if (!s->out_dir || !is_dir(s->out_dir) || !dir_empty(s->out_dir)) return CL_ERR_INVALID;
    return CL_OK;
}

cl_err enclave_run(const enclave_spec *spec, enclave_result *res) {
    *res = (enclave_result){.exit_code = -1, .out = CL_BUF_INIT, .err = CL_BUF_INIT};
    CL_TRY(check_spec(spec));
    const enclave_backend *b = spec->backend ? spec->backend : enclave_backend_default();
    char *why = b->unavailable();
    if (why) {
        log_error("enclave: backend %s unavailable: %s", b->name, why);
        free(why);
        return CL_ERR_NOT_FOUND;
    }
    return b->run(spec, res);
}

void enclave_result_free(enclave_result *res) {
    buf_free(&res->out);
    buf_free(&res->err);
    buf_free(&res->log);
}

bool enclave_limits_probe(void) {
    enclave_limits none = {0};
    enclave_cgroup *cg = enclave_cgroup_create(&none);
    (void)enclave_cgroup_destroy(cg);
    return cg != NULL;
}
