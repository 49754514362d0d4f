/* store_pg.c — the PostgreSQL backend of the meta store (not built yet: step 2). */
#include "store/store.h"

static cl_err pg_open(const char *target, const store_options *o, void **conn) {
    (void)target, (void)o, (void)conn;
    log_error("store: the PostgreSQL backend is not built yet");
    return CL_ERR_INVALID;
}

const struct store_backend store_pg_backend = {
    .name = "postgres",
    .open = pg_open,
};
