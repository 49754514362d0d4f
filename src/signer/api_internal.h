/* api_internal.h — what the server layer's files share (api.c: the server,
 * routing, health, reload and metrics; api_sign.c: the eth2 signing endpoint;
 * keymanager.c: /eth/v1/keystores). Not part of the public header. */
#ifndef CLOISTER_SIGNER_API_INTERNAL_H
#define CLOISTER_SIGNER_API_INTERNAL_H

#include "http/http.h"
#include "signer/signer.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

#define SIGNER_MAX_BODY (2u << 20)
#define SIGNER_LAT_BUCKETS 12

/* Outcomes a signing request can have (the metrics' `outcome` label). */
typedef enum {
    SIGNER_OUT_OK,
    SIGNER_OUT_SLASHING,
    SIGNER_OUT_NOT_FOUND,
    SIGNER_OUT_DISABLED,
    SIGNER_OUT_INVALID,
    SIGNER_OUT_ERROR,
    SIGNER_OUT_COUNT
} signer_outcome;

typedef enum {
    RELOAD_IDLE,
    RELOAD_RUNNING,
    RELOAD_DONE,
    RELOAD_DONE_ERRORS,
    RELOAD_FAILED
} reload_state;

struct signer_server {
    signer_server_opts o;
    const signer_network *net;
    char *data_dir, *keystores_dir, *passwords_dir, *cache_path;
    uint8_t cache_key[32];
    uint8_t token_hash[32]; /* SHA-256 of the keymanager bearer token */
    store *st;
    signer_slashing *sp;
    signer_keyring *keys;
    http_server *http;
    char *tls_cert, *tls_key;
    /* the background loader: the first load, then each POST /reload */
    pthread_t loader;
    bool loader_started;
    pthread_mutex_t mu; /* guards everything below */
    pthread_cond_t cv;
    bool stop, load_wanted, loaded, pruned_once;
    reload_state reload;
    time_t reload_time;
    size_t load_failed, load_total;
    char load_error[1100]; /* why the last load failed (never a secret), or "" */
    /* keys deleted through the keymanager (kept in the store: a restart keeps them disabled) */
    uint8_t (*disabled)[SIGNER_PK_LEN];
    size_t n_disabled;
    pthread_mutex_t import_mu; /* one keymanager import/delete at a time */
    /* metrics */
    _Atomic uint64_t signings[SIGNER_TYPE_COUNT][SIGNER_OUT_COUNT];
    _Atomic uint64_t lat_buckets[SIGNER_LAT_BUCKETS + 1]; /* + the +Inf bucket */
    _Atomic uint64_t lat_count, lat_sum_ns;
};

/* api.c */
void api_json(http_response *r, int status, json_t *doc); /* takes doc */
void api_error(http_response *r, int status, const char *msg);
bool api_is_disabled(signer_server *s, const uint8_t pk[SIGNER_PK_LEN]);
/* Adds pk to the disabled set and the store; removes it with enable. */
cl_err api_set_disabled(signer_server *s, const uint8_t pk[SIGNER_PK_LEN], bool disabled);
bool api_parse_pubkey(cl_slice hex, uint8_t pk[SIGNER_PK_LEN]); /* "0x" + 96 hex */
void api_pubkey_hex(const uint8_t pk[SIGNER_PK_LEN], char out[2 + 2 * SIGNER_PK_LEN + 1]);

/* api_sign.c */
void api_sign(signer_server *s, http_request *req, http_response *resp, cl_slice id);
void api_metrics_render(signer_server *s, cl_buf *out);

/* keymanager.c */
void keymanager_handle(signer_server *s, http_request *req, http_response *resp);

#endif
