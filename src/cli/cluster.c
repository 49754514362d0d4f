/* cluster.c — what makes `cloister serve` one node among several on a shared
 * meta store (docs/operations.md): the node registry (a "node" item per node,
 * refreshed every CLI_NODE_BEAT_S seconds), the cluster identity (fingerprints
 * of the keys every node must share, in one "cluster" item written by the first
 * node), the health answer (/_cloister/health), housekeeping run by one node
 * at a time under a store lease, and how a meta store URL is shown (never its
 * password). On SQLite the same code runs with one node. */
#include "cli/cli.h"

#include "crypto/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CLUSTER_KIND "cluster"
#define CLUSTER_SCOPE "cluster"
#define NODE_KIND "node"
#define NODE_STALE_S 60 /* a node not seen for this long is not listed */
#define HK_LEASE "housekeeping"
#define HK_LEASE_TTL_S 900 /* a run longer than this may overlap another node's */
#define HK_EVERY_S 3600    /* hourly work stays hourly across the cluster */

/* ---- showing a meta store URL ---- */

char *cli_meta_describe(const char *url) {
    const char *p = NULL;
    if (strncmp(url, "postgres://", 11) == 0) p = url + 11;
    if (strncmp(url, "postgresql://", 13) == 0) p = url + 13;
    if (!p) return cl_sprintf("sqlite %s", strncmp(url, "sqlite:", 7) == 0 ? url + 7 : url);
    size_t auth_len = strcspn(p, "/?");
    const char *at = NULL; /* user:password@ is never shown */
    for (const char *q = p; q < p + auth_len; q++)
        if (*q == '@') at = q;
    const char *host = at ? at + 1 : p;
    int host_len = (int)(p + auth_len - host);
    const char *db = p[auth_len] == '/' ? p + auth_len + 1 : "";
    int db_len = (int)strcspn(db, "?");
    return cl_sprintf("postgres %.*s/%.*s", host_len ? host_len : 5, host_len ? host : "local",
                      db_len, db);
}

/* ---- node registry ---- */

char *cli_node_id(const char *listen) {
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0 || !host[0]) snprintf(host, sizeof host, "node");
    return cl_sprintf("%s/%s", host, listen);
}

static char *iso_now(void) {
    char t[21];
    time_format_iso8601(time_now(), t);
    return cl_strdup(t);
}

cl_err cli_node_beat(store *st, const char *id, const char *started) {
    char *now = iso_now();
    json_t *d = json_pack("{s:s, s:s, s:s, s:s, s:I}", "id", id, "started", started, "last_seen",
                          now, "version", CLI_VERSION, "last_seen_epoch", (json_int_t)time_now());
    char *text = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
    cl_err e = store_put(st, NODE_KIND, CLUSTER_SCOPE, id, text);
    free(text);
    json_decref(d);
    free(now);
    return e;
}

void cli_node_leave(store *st, const char *id) {
    store_delete(st, NODE_KIND, CLUSTER_SCOPE, id);
}

typedef struct {
    json_t *nodes;
    time_t since;
} node_list;

static bool add_node(void *arg, const char *name, const char *text) {
    (void)name;
    node_list *l = arg;
    json_t *d = json_loads(text, 0, NULL);
    json_int_t seen = json_integer_value(json_object_get(d, "last_seen_epoch"));
    if (d && seen >= l->since) {
        json_object_del(d, "last_seen_epoch");
        json_array_append(l->nodes, d);
    }
    json_decref(d);
    return true;
}

cl_err cli_nodes_list(store *st, json_t **out) {
    node_list l = {json_array(), time_now() - NODE_STALE_S};
    cl_err e = store_list(st, NODE_KIND, CLUSTER_SCOPE, NULL, NULL, 0, add_node, &l, NULL);
    if (e != CL_OK) {
        json_decref(l.nodes);
        return e;
    }
    *out = l.nodes;
    return CL_OK;
}

/* "a/x:1, b/y:2" */
char *cli_nodes_names(store *st) {
    json_t *nodes = NULL;
    if (cli_nodes_list(st, &nodes) != CL_OK)
        return cl_strdup("(unknown: the database is unreachable)");
    cl_buf b = CL_BUF_INIT;
    size_t i;
    json_t *n;
    json_array_foreach(nodes, i, n)
        buf_appendf(&b, "%s%s", i ? ", " : "", json_string_value(json_object_get(n, "id")));
    json_decref(nodes);
    return buf_take_cstr(&b);
}

/* ---- health ---- */

void cli_health(store *st, http_response *resp) {
    json_t *nodes = NULL;
    json_t *out;
    if (store_ping(st) != CL_OK || cli_nodes_list(st, &nodes) != CL_OK) {
        resp->status = 503;
        out = json_pack("{s:s, s:s, s:s}", "status", "unavailable", "backend",
                        store_backend_name(st), "database", "unreachable");
        http_set_header(resp, "Retry-After", "1");
    } else {
        resp->status = 200;
        out = json_pack("{s:s, s:s, s:s, s:o}", "status", "ok", "backend", store_backend_name(st),
                        "database", "ok", "nodes", nodes);
    }
    char *text = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
    buf_append_cstr(&resp->body, text);
    buf_append_byte(&resp->body, '\n');
    http_set_header(resp, "Content-Type", "application/json");
    free(text);
    json_decref(out);
}

/* ---- cluster identity ---- */

static void hex32(const uint8_t in[32], char out[65]) {
    hex_encode_to(out, in, 32);
}

/* SHA-256 of values derived from the keys, never the keys themselves. */
static json_t *fingerprints(kms *keys, s3 *objects, attest_root *ar) {
    uint8_t k[32], h[32];
    char kms_fp[65], sse_fp[65], att_fp[65];
    kms_node_key(keys, "cluster-id", k);
    crypto_sha256(slice_of(k, sizeof k), h);
    cl_cleanse(k, sizeof k);
    hex32(h, kms_fp);
    s3_sse_key_fingerprint(objects, h);
    hex32(h, sse_fp);
    crypto_sha256(attest_root_cert_der(ar), h);
    hex32(h, att_fp);
    return json_pack("{s:s, s:s, s:s}", "kms_root_key", kms_fp, "sse_s3_node_key", sse_fp,
                     "attestation_root", att_fp);
}

static const struct {
    const char *field, *what;
} FP[] = {
    {"kms_root_key", "KMS root key"},
    {"sse_s3_node_key", "SSE-S3 node key"},
    {"attestation_root", "attestation root"},
};

cl_err cli_cluster_check(store *st, const char *node_id, kms *keys, s3 *objects, attest_root *ar,
                         char *err, size_t errlen) {
    json_t *mine = fingerprints(keys, objects, ar);
    char *now = iso_now();
    json_object_set_new(mine, "set_by", json_string(node_id));
    json_object_set_new(mine, "set_at", json_string(now));
    free(now);
    char *text = json_dumps(mine, JSON_COMPACT | JSON_SORT_KEYS), *cur = NULL;
    cl_err e = store_insert(st, CLUSTER_KIND, CLUSTER_SCOPE, "identity", text);
    free(text);
    if (e == CL_ERR_EXISTS) e = store_get(st, CLUSTER_KIND, CLUSTER_SCOPE, "identity", &cur);
    json_t *theirs = cur ? json_loads(cur, 0, NULL) : NULL;
    free(cur);
    if (e != CL_OK)
        snprintf(err, errlen, "cannot read the cluster identity from the meta store: %s",
                 cl_err_str(e));
    for (size_t i = 0; e == CL_OK && theirs && i < sizeof FP / sizeof FP[0]; i++) {
        const char *a = json_string_value(json_object_get(mine, FP[i].field));
        const char *b = json_string_value(json_object_get(theirs, FP[i].field));
        if (b && strcmp(a, b) == 0) continue;
        snprintf(err, errlen,
                 "this node's %s differs from the cluster's (set by %s at %s): copy DATA/keys "
                 "from a running node (docs/operations.md)",
                 FP[i].what, json_string_value(json_object_get(theirs, "set_by")),
                 json_string_value(json_object_get(theirs, "set_at")));
        e = CL_ERR_DENIED;
    }
    json_decref(theirs);
    json_decref(mine);
    return e;
}

/* ---- housekeeping, one node at a time ---- */

static time_t hk_last_run(store *st) {
    char *text = NULL;
    if (store_get(st, CLUSTER_KIND, CLUSTER_SCOPE, HK_LEASE, &text) != CL_OK) return 0;
    json_t *d = json_loads(text, 0, NULL);
    time_t t = (time_t)json_integer_value(json_object_get(d, "last_run"));
    json_decref(d);
    free(text);
    return t;
}

bool cli_housekeeping_take(store *st, const char *node_id, bool startup) {
    bool held = false;
    if (store_lease(st, HK_LEASE, node_id, HK_LEASE_TTL_S, &held) != CL_OK || !held) return false;
    /* a little early is on time: the loop's own period is not exact */
    if (startup || time_now() - hk_last_run(st) >= HK_EVERY_S - 90) return true;
    cli_housekeeping_done(st, node_id, false);
    return false;
}

void cli_housekeeping_done(store *st, const char *node_id, bool ran) {
    if (ran) {
        char *now = iso_now();
        json_t *d = json_pack("{s:I, s:s, s:s}", "last_run", (json_int_t)time_now(), "at", now,
                              "node", node_id);
        char *text = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
        store_put(st, CLUSTER_KIND, CLUSTER_SCOPE, HK_LEASE, text);
        free(text);
        json_decref(d);
        free(now);
    }
    bool held = false; /* a renewal for 0 s releases it */
    store_lease(st, HK_LEASE, node_id, 0, &held);
}
