/* api.c — the remote signer's HTTP server (signer.h, section "server"): opens
 * the store and slashing protection, listens at once, loads keys in a
 * background thread (the first load, then each POST /reload), routes requests
 * (eth2 signing in api_sign.c, the keymanager API in keymanager.c) and answers
 * /upcheck, /healthcheck, /reload, publicKeys and highWatermark itself.
 * Web3Signer's OpenAPI spec is the reference for paths and shapes. */
#include "signer/api_internal.h"

#include "crypto/crypto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DISABLED_KIND "signer_disabled_key"
#define PRUNE_EVERY_S 3600

/* ---- small shared helpers ---- */

void api_json(http_response *r, int status, json_t *doc) {
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (!text) abort(); /* jansson only fails on allocation */
    r->status = status;
    buf_clear(&r->body);
    buf_append_cstr(&r->body, text);
    free(text);
    http_set_header(r, "Content-Type", "application/json");
}

void api_error(http_response *r, int status, const char *msg) {
    api_json(r, status, json_pack("{s:i,s:s}", "code", status, "message", msg));
}

static void api_text(http_response *r, int status, const char *text) {
    r->status = status;
    buf_clear(&r->body);
    buf_append_cstr(&r->body, text);
    http_set_header(r, "Content-Type", "text/plain; charset=utf-8");
}

/* ---- the disabled set (keymanager DELETE), mirrored in the store ---- */

bool api_is_disabled(signer_server *s, const uint8_t pk[SIGNER_PK_LEN]) {
    pthread_mutex_lock(&s->mu);
    bool found = false;
    for (size_t i = 0; i < s->n_disabled && !found; i++)
        found = memcmp(s->disabled[i], pk, SIGNER_PK_LEN) == 0;
    pthread_mutex_unlock(&s->mu);
    return found;
}

cl_err api_set_disabled(signer_server *s, const uint8_t pk[SIGNER_PK_LEN], bool disabled) {
    char name[2 + 2 * SIGNER_PK_LEN + 1];
    api_pubkey_hex(pk, name);
    cl_err e = disabled ? store_put(s->st, DISABLED_KIND, "", name, "{}")
                        : store_delete(s->st, DISABLED_KIND, "", name);
    if (e == CL_ERR_NOT_FOUND) e = CL_OK;
    if (e != CL_OK) return e;
    pthread_mutex_lock(&s->mu);
    size_t i = 0;
    while (i < s->n_disabled && memcmp(s->disabled[i], pk, SIGNER_PK_LEN) != 0)
        i++;
    if (disabled && i == s->n_disabled) {
        s->disabled = cl_realloc(s->disabled, (s->n_disabled + 1) * sizeof *s->disabled);
        memcpy(s->disabled[s->n_disabled++], pk, SIGNER_PK_LEN);
    } else if (!disabled && i < s->n_disabled) {
        memmove(s->disabled[i], s->disabled[i + 1], (s->n_disabled - i - 1) * sizeof *s->disabled);
        s->n_disabled--;
    }
    pthread_mutex_unlock(&s->mu);
    return CL_OK;
}

static bool load_disabled_one(void *arg, const char *name, const char *doc) {
    (void)doc;
    signer_server *s = arg;
    uint8_t pk[SIGNER_PK_LEN];
    if (!api_parse_pubkey(slice_cstr(name), pk)) return true;
    s->disabled = cl_realloc(s->disabled, (s->n_disabled + 1) * sizeof *s->disabled);
    memcpy(s->disabled[s->n_disabled++], pk, SIGNER_PK_LEN);
    return true;
}

/* Disables in the keyring every key of the disabled set (after each load). */
static void apply_disabled(signer_server *s) {
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n_disabled; i++)
        if (signer_keyring_state(s->keys, s->disabled[i]) == SIGNER_KEY_ACTIVE)
            signer_keyring_disable(s->keys, s->disabled[i]);
    pthread_mutex_unlock(&s->mu);
}

/* ---- the background loader ---- */

static bool dir_exists(const char *p) {
    struct stat sb;
    return p && stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* One load: keystores (when configured and not in production), then the extra
 * source (KMS-sealed keys). Returns the number of failures. */
static size_t load_keys(signer_server *s, size_t *total, char *why, size_t whylen) {
    size_t failed = 0;
    *total = 0;
    why[0] = 0;
    if (!s->o.production && dir_exists(s->keystores_dir)) {
        /* the keys layer adds new files, drops the keys of removed ones, and
         * logs the counts and the time */
        signer_load_report rep = {0};
        cl_err e = signer_keyring_load_dir(s->keys, s->keystores_dir, s->passwords_dir,
                                           s->cache_path, s->cache_key, s->o.load_threads, &rep);
        if (e != CL_OK) {
            log_error("signer: cannot load keystores from %s: %s", s->keystores_dir, cl_err_str(e));
            snprintf(why, whylen, "cannot load keystores from %s: %s", s->keystores_dir,
                     cl_err_str(e));
            failed++;
        }
        failed += rep.failed;
        *total += rep.loaded + rep.failed;
    }
    if (s->o.extra_keys) {
        char err[1024] = "";
        size_t before = signer_keyring_count(s->keys, false);
        if (s->o.extra_keys(s->o.extra_keys_arg, s->keys, err, sizeof err) != CL_OK) {
            log_error("signer: the attestation-gated keys did not load: %s",
                      err[0] ? err : "unknown error");
            snprintf(why, whylen, "the attestation-gated keys did not load: %s",
                     err[0] ? err : "unknown error");
            failed++;
        }
        *total += signer_keyring_count(s->keys, false) - before;
    }
    apply_disabled(s);
    return failed;
}

/* Slashing history older than the window goes (watermarks keep protecting):
 * after the first load, then hourly. */
static void prune(signer_server *s) {
    size_t n = 0;
    cl_err e = signer_slashing_prune(s->sp, &n);
    if (e != CL_OK)
        log_warn("signer: slashing history pruning failed: %s", cl_err_str(e));
    else if (n)
        log_info("signer: pruned %zu slashing protection records", n);
}

static void *loader_main(void *arg) {
    signer_server *s = arg;
    pthread_mutex_lock(&s->mu);
    bool prune_due = false;
    for (;;) {
        while (!s->stop && !s->load_wanted && !prune_due) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += PRUNE_EVERY_S;
            prune_due = pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT;
        }
        if (s->stop) break;
        if (prune_due) {
            pthread_mutex_unlock(&s->mu);
            prune(s);
            pthread_mutex_lock(&s->mu);
            prune_due = false;
            continue;
        }
        s->load_wanted = false;
        s->reload = RELOAD_RUNNING;
        pthread_mutex_unlock(&s->mu);
        char why[sizeof s->load_error];
        size_t total = 0, failed = load_keys(s, &total, why, sizeof why);
        if (failed && !why[0])
            snprintf(why, sizeof why, "%zu keystores did not load (see the log)", failed);
        pthread_mutex_lock(&s->mu);
        memcpy(s->load_error, why, sizeof why);
        s->loaded = true;
        s->load_failed = failed;
        s->load_total = total;
        s->reload = failed ? RELOAD_DONE_ERRORS : RELOAD_DONE;
        s->reload_time = time(NULL);
        log_info("signer: %zu keys active", signer_keyring_count(s->keys, true));
        prune_due = !s->pruned_once;
        s->pruned_once = true;
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void request_load(signer_server *s) {
    pthread_mutex_lock(&s->mu);
    s->load_wanted = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* ---- endpoints answered here ---- */

static bool add_active(void *arg, const uint8_t pk[SIGNER_PK_LEN], signer_key_state st,
                       signer_key_source src, const char *origin) {
    (void)src;
    (void)origin;
    if (st != SIGNER_KEY_ACTIVE) return true;
    signer_server *s = ((void **)arg)[1];
    if (api_is_disabled(s, pk)) return true;
    char hex[2 + 2 * SIGNER_PK_LEN + 1];
    api_pubkey_hex(pk, hex);
    json_array_append_new(((void **)arg)[0], json_string(hex));
    return true;
}

static void public_keys(signer_server *s, http_response *resp) {
    json_t *arr = json_array();
    void *args[2] = {arr, s};
    signer_keyring_each(s->keys, add_active, args);
    api_json(resp, 200, arr);
}

/* Web3Signer's health shape: {status, checks: [{id, status, checks?, data?}], outcome};
 * DOWN (503) until the first load is done (without failures) and the slashing
 * database answers: a load balancer sends no duty to a signer without its keys. */
static void healthcheck(signer_server *s, http_response *resp) {
    pthread_mutex_lock(&s->mu);
    bool loaded = s->loaded;
    size_t failed = s->load_failed, total = s->load_total;
    char why[sizeof s->load_error];
    memcpy(why, s->load_error, sizeof why);
    pthread_mutex_unlock(&s->mu);
    bool db = signer_slashing_healthy(s->sp);
    size_t active = signer_keyring_count(s->keys, true);
    /* as Web3Signer: a key that failed to load makes the keys check DOWN */
    bool keys_up = loaded && !failed, up = keys_up && db;
    const char *keys_st = keys_up ? "UP" : "DOWN";
    json_t *keys = json_pack(
        "{s:s,s:s,s:[{s:s,s:s,s:{s:I,s:I,s:I,s:b}}]}", "id", "keys-check", "status", keys_st,
        "checks", "id", "keys-loading", "status", keys_st, "data", "keys-check-total-count",
        (json_int_t)total, "keys-check-error-count", (json_int_t)failed, "keys-check-active-count",
        (json_int_t)active, "keys-check-loading", !loaded);
    if (why[0]) /* e.g. KMS refused the sandbox's measurement: say why, never a secret */
        json_object_set_new(
            json_object_get(json_array_get(json_object_get(keys, "checks"), 0), "data"),
            "keys-check-error", json_string(why));
    json_t *doc = json_pack("{s:s,s:[{s:s,s:s},o,{s:s,s:s}],s:s}", "status", up ? "UP" : "DOWN",
                            "checks", "id", "default-check", "status", "UP", keys, "id",
                            "slashing-protection-db-health-check", "status", db ? "UP" : "DOWN",
                            "outcome", up ? "UP" : "DOWN");
    api_json(resp, up ? 200 : 503, doc);
}

static void reload_status(signer_server *s, http_response *resp) {
    static const char *NAMES[] = {"idle", "running", "completed", "completed_with_errors",
                                  "failed"};
    pthread_mutex_lock(&s->mu);
    reload_state st = s->load_wanted ? RELOAD_RUNNING : s->reload;
    time_t t = s->reload_time;
    size_t failed = s->load_failed;
    pthread_mutex_unlock(&s->mu);
    json_t *doc = json_pack("{s:s,s:I}", "status", NAMES[st], "errorCount", (json_int_t)failed);
    if (t) {
        char iso[21];
        time_format_iso8601(t, iso);
        json_object_set_new(doc, "lastOperationTime", json_string(iso));
    }
    api_json(resp, 200, doc);
}

/* Web3Signer's GET /api/v1/eth2/highWatermark: the global high watermark set
 * by the operator (`cloister signer slashing set-high-watermark`), as
 * {"slot": "…", "epoch": "…"}; {} when none is set. */
static void high_watermark(signer_server *s, http_response *resp) {
    uint64_t slot = 0, epoch = 0;
    cl_err e = signer_slashing_get_high_watermark(s->sp, &slot, &epoch);
    if (e != CL_OK && e != CL_ERR_NOT_FOUND)
        return api_error(resp, 500, "the slashing database did not answer");
    json_t *doc = json_object();
    if (e == CL_OK) {
        char n[24];
        snprintf(n, sizeof n, "%llu", (unsigned long long)slot);
        json_object_set_new(doc, "slot", json_string(n));
        snprintf(n, sizeof n, "%llu", (unsigned long long)epoch);
        json_object_set_new(doc, "epoch", json_string(n));
    }
    api_json(resp, 200, doc);
}

static bool method_is(const http_request *req, const char *m) {
    return strcmp(req->method, m) == 0;
}

static void route(signer_server *s, http_request *req, http_response *resp) {
    static const char SIGN[] = "/api/v1/eth2/sign/";
    cl_slice path = slice_cstr(req->path);
    if (slice_starts_with(path, SIGN)) {
        if (!method_is(req, "POST")) return api_error(resp, 405, "Method Not Allowed");
        return api_sign(s, req, resp, slice_sub(path, sizeof SIGN - 1, path.len));
    }
    if (slice_starts_with(path, "/eth/v1/keystores")) return keymanager_handle(s, req, resp);
    bool get = method_is(req, "GET");
    if (slice_eq_cstr(path, "/upcheck") && get) return api_text(resp, 200, "OK");
    if (slice_eq_cstr(path, "/healthcheck") && get) return healthcheck(s, resp);
    if (slice_eq_cstr(path, "/api/v1/eth2/publicKeys") && get) return public_keys(s, resp);
    if (slice_eq_cstr(path, "/api/v1/eth2/highWatermark") && get) return high_watermark(s, resp);
    if (slice_eq_cstr(path, "/reload") && get) return reload_status(s, resp);
    if (slice_eq_cstr(path, "/reload") && method_is(req, "POST")) {
        request_load(s);
        return api_text(resp, 202, "");
    }
    if (slice_eq_cstr(path, "/metrics") && get) {
        resp->status = 200;
        api_metrics_render(s, &resp->body);
        http_set_header(resp, "Content-Type", "text/plain; version=0.0.4");
        return;
    }
    api_error(resp, 404, "Resource not found");
}

static void handle(void *ctx, http_request *req, http_response *resp) {
    signer_server *s = ctx;
    req->service = "signer";
    if (req->bad_request) return api_error(resp, 400, req->bad_request);
    if (req->body_too_large) return api_error(resp, 413, "Request body too large");
    if (req->server_busy) return api_error(resp, 503, "Server busy");
    route(s, req, resp);
}

/* ---- start-up files: the node key, the keymanager token ---- */

/* Reads a secret file of n bytes, or creates it (0600) with random bytes. */
static cl_err node_secret(const char *path, uint8_t *out, size_t n) {
    if (access(path, F_OK) != 0) {
        crypto_random(out, n);
        return file_write_atomic(path, slice_of(out, n), 0600);
    }
    cl_buf b = CL_BUF_INIT;
    cl_err e = file_read_all(path, &b, 4096);
    if (e == CL_OK && b.len != n) e = CL_ERR_INVALID;
    if (e == CL_OK) memcpy(out, b.ptr, n);
    buf_free_secret(&b);
    return e;
}

/* The keymanager API token (the standard's convention: a file written at
 * first start). Only its hash is kept in memory. */
static cl_err api_token(signer_server *s) {
    char *path = cl_sprintf("%s/api-token.txt", s->data_dir);
    cl_buf b = CL_BUF_INIT;
    cl_err e = CL_OK;
    if (access(path, F_OK) == 0) {
        e = file_read_all(path, &b, 4096);
    } else {
        static const char HEX[] = "0123456789abcdef";
        char tok[65];
        crypto_random_string(tok, 64, HEX);
        tok[64] = 0;
        buf_clear(&b);
        buf_append_cstr(&b, tok);
        cl_cleanse(tok, sizeof tok);
        e = file_write_atomic(path, buf_slice(&b), 0600);
    }
    if (e == CL_OK) {
        cl_slice t = slice_trim(buf_slice(&b));
        while (t.len && (t.ptr[t.len - 1] == '\n' || t.ptr[t.len - 1] == '\r'))
            t.len--;
        if (t.len == 0)
            e = CL_ERR_INVALID;
        else
            crypto_sha256(t, s->token_hash);
        log_info("signer: the keymanager API token is in %s", path);
    }
    buf_free_secret(&b);
    free(path);
    return e;
}

static cl_err open_state(signer_server *s, char *err, size_t errlen) {
    if (dir_ensure(s->data_dir, 0700) != CL_OK) {
        snprintf(err, errlen, "cannot create the data directory %s", s->data_dir);
        return CL_ERR_IO;
    }
    char *url =
        s->o.meta_url ? cl_strdup(s->o.meta_url) : cl_sprintf("sqlite:%s/signer.db", s->data_dir);
    cl_err e = store_open(url, &s->st);
    free(url);
    if (e != CL_OK) {
        snprintf(err, errlen, "cannot open the meta store: %s", cl_err_str(e));
        return e;
    }
    if ((e = signer_slashing_open(s->st, &s->o.slashing, &s->sp)) != CL_OK) {
        snprintf(err, errlen, "cannot open slashing protection: %s", cl_err_str(e));
        return e;
    }
    store_list(s->st, DISABLED_KIND, "", NULL, NULL, 0, load_disabled_one, s, NULL);
    char *nk = cl_sprintf("%s/node.key", s->data_dir);
    uint8_t node[32];
    e = node_secret(nk, node, sizeof node);
    free(nk);
    if (e != CL_OK) {
        snprintf(err, errlen, "cannot read or create %s/node.key: %s", s->data_dir, cl_err_str(e));
        return e;
    }
    crypto_hmac_sha256(slice_of(node, sizeof node), slice_cstr("cloister-signer keystore-cache v1"),
                       s->cache_key);
    cl_cleanse(node, sizeof node);
    if ((e = api_token(s)) != CL_OK) {
        snprintf(err, errlen, "cannot read or create %s/api-token.txt: %s", s->data_dir,
                 cl_err_str(e));
        return e;
    }
    return CL_OK;
}

static cl_err check_mode(const signer_server_opts *o, char *err, size_t errlen) {
    if (!o->production) return CL_OK;
    if (o->keystores_path) {
        snprintf(err, errlen,
                 "production mode refuses plain EIP-2335 keystores "
                 "(--keystores-path): only attestation-gated (KMS-sealed) keys");
        return CL_ERR_DENIED;
    }
    if (!o->extra_keys) {
        snprintf(err, errlen,
                 "production mode needs attestation-gated (KMS-sealed) keys; none "
                 "are configured");
        return CL_ERR_DENIED;
    }
    return CL_OK;
}

static cl_err start_http(signer_server *s, char *err, size_t errlen) {
    const signer_server_opts *o = &s->o;
    http_config cfg = {.listen = o->listen ? o->listen : "127.0.0.1:9000",
                       .max_body = SIGNER_MAX_BODY,
                       .threads = o->http_threads ? o->http_threads : 4,
                       .max_connections = 4096,
                       .max_connections_per_ip = 1024,
                       .header_timeout = 10};
    if (o->tls_cert_pem && o->tls_key_pem) {
        cfg.tls_listen = cfg.listen;
        cfg.listen = NULL; /* HTTPS only */
        cfg.tls_cert_pem = o->tls_cert_pem;
        cfg.tls_key_pem = o->tls_key_pem;
    }
    if (http_server_start(&cfg, handle, s, &s->http) != CL_OK) {
        snprintf(err, errlen, "cannot listen on %s", o->listen ? o->listen : "127.0.0.1:9000");
        return CL_ERR_IO;
    }
    return CL_OK;
}

cl_err signer_server_start(const signer_server_opts *o, signer_server **out, char *err,
                           size_t errlen) {
    *out = NULL;
    if (!o->data_dir || (!o->tls_cert_pem) != (!o->tls_key_pem)) {
        snprintf(err, errlen,
                 "a data directory is required; TLS needs both a certificate and a key");
        return CL_ERR_INVALID;
    }
    CL_TRY(check_mode(o, err, errlen));
    signer_server *s = cl_calloc(1, sizeof *s);
    s->o = *o;
    s->net = o->network ? o->network : signer_network_find("mainnet");
    s->data_dir = cl_strdup(o->data_dir);
    s->keystores_dir =
        o->keystores_path ? cl_strdup(o->keystores_path) : cl_sprintf("%s/keystores", o->data_dir);
    s->passwords_dir = o->passwords_path   ? cl_strdup(o->passwords_path)
                       : o->keystores_path ? cl_strdup(o->keystores_path)
                                           : cl_sprintf("%s/keystore-passwords", o->data_dir);
    s->cache_path = cl_sprintf("%s/keystore-cache.bin", o->data_dir);
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->import_mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->keys = signer_keyring_new();
    cl_err e = s->net ? CL_OK : CL_ERR_INVALID;
    if (e != CL_OK) snprintf(err, errlen, "unknown network");
    if (e == CL_OK) e = open_state(s, err, errlen);
    if (e == CL_OK) e = start_http(s, err, errlen);
    if (e == CL_OK) {
        s->load_wanted = true;
        if (pthread_create(&s->loader, NULL, loader_main, s) != 0) {
            snprintf(err, errlen, "cannot start the key loader");
            e = CL_ERR_INTERNAL;
        } else {
            s->loader_started = true;
        }
    }
    if (e != CL_OK) {
        signer_server_stop(s);
        return e;
    }
    *out = s;
    return CL_OK;
}

uint16_t signer_server_port(const signer_server *s) {
    if (!s || !s->http) return 0;
    return http_server_port(s->http, s->o.tls_cert_pem != NULL);
}

void signer_server_stop(signer_server *s) {
    if (!s) return;
    http_server_stop(s->http); /* no request runs after this */
    if (s->loader_started) {
        pthread_mutex_lock(&s->mu);
        s->stop = true;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->loader, NULL);
    }
    signer_keyring_free(s->keys);
    signer_slashing_close(s->sp);
    store_close(s->st);
    cl_cleanse(s->cache_key, sizeof s->cache_key);
    cl_cleanse(s->token_hash, sizeof s->token_hash);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->import_mu);
    pthread_cond_destroy(&s->cv);
    free(s->disabled);
    free(s->data_dir);
    free(s->keystores_dir);
    free(s->passwords_dir);
    free(s->cache_path);
    free(s);
}
