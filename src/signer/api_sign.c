/* api_sign.c — `POST /api/v1/eth2/sign/{identifier}` (Web3Signer's eth2
 * signing endpoint) and the signer's Prometheus metrics: the key is looked up
 * (404 unknown, 412 disabled), the body parsed and its signing root computed
 * (400), blocks and attestations checked and recorded by slashing protection
 * (412), then signed. The answer is JSON {"signature": "0x…"} when Accept
 * names application/json or any type, else the bare hex as text/plain (what
 * Web3Signer sends without an Accept header; Lodestar asks for JSON). */
#include "signer/api_internal.h"

#include <ctype.h>
#include <string.h>

static const double LAT_BOUNDS[SIGNER_LAT_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1,    2.5};

static void observe(signer_server *s, signer_type t, signer_outcome out, uint64_t t0) {
    if (t < SIGNER_TYPE_COUNT) atomic_fetch_add(&s->signings[t][out], 1); /* else: no type */
    uint64_t ns = time_mono_ns() - t0;
    double sec = (double)ns / 1e9;
    size_t b = 0;
    while (b < SIGNER_LAT_BUCKETS && sec > LAT_BOUNDS[b])
        b++;
    atomic_fetch_add(&s->lat_buckets[b], 1);
    atomic_fetch_add(&s->lat_count, 1);
    atomic_fetch_add(&s->lat_sum_ns, ns);
}

/* true when Accept lists application/json, application/(any) or (any)/(any). */
static bool wants_json(const http_request *req) {
    const char *acc = kvlist_get_ci(&req->headers, "Accept");
    if (!acc) return false;
    cl_slice s = slice_cstr(acc), item;
    while (slice_split(&s, ',', &item)) {
        cl_slice type = item;
        ptrdiff_t semi = slice_find(item, ';');
        if (semi >= 0) type = slice_sub(item, 0, (size_t)semi);
        type = slice_trim(type);
        if (slice_case_eq_cstr(type, "application/json") ||
            slice_case_eq_cstr(type, "application/*") || slice_case_eq_cstr(type, "*/*"))
            return true;
    }
    return false;
}

static void answer_signature(http_request *req, http_response *resp,
                             const uint8_t sig[SIGNER_SIG_LEN]) {
    char hex[2 + 2 * SIGNER_SIG_LEN + 1] = "0x";
    hex_encode_to(hex + 2, sig, SIGNER_SIG_LEN);
    if (wants_json(req)) return api_json(resp, 200, json_pack("{s:s}", "signature", hex));
    resp->status = 200;
    buf_append_cstr(&resp->body, hex);
    http_set_header(resp, "Content-Type", "text/plain; charset=utf-8");
}

/* Blocks and attestations through slashing protection; other types pass. */
static signer_outcome slashing_check(signer_server *s, const uint8_t pk[SIGNER_PK_LEN],
                                     const signer_request *r, char *why, size_t whylen) {
    cl_err e = CL_OK;
    if (r->is_block)
        e = signer_slashing_check_block(s->sp, pk, r->genesis_validators_root, r->slot,
                                        r->signing_root, why, whylen);
    else if (r->is_attestation)
        e = signer_slashing_check_attestation(s->sp, pk, r->genesis_validators_root,
                                              r->source_epoch, r->target_epoch, r->signing_root,
                                              why, whylen);
    if (e == CL_OK) return SIGNER_OUT_OK;
    if (e == CL_ERR_DENIED || e == CL_ERR_CONFLICT) return SIGNER_OUT_SLASHING;
    if (!why[0]) snprintf(why, whylen, "slashing protection failed: %s", cl_err_str(e));
    return SIGNER_OUT_ERROR;
}

static signer_outcome sign_parsed(signer_server *s, const uint8_t pk[SIGNER_PK_LEN],
                                  const signer_request *r, uint8_t sig[SIGNER_SIG_LEN], char *why,
                                  size_t whylen) {
    signer_outcome out = slashing_check(s, pk, r, why, whylen);
    if (out != SIGNER_OUT_OK) return out;
    cl_err e = signer_keyring_sign(s->keys, pk, slice_of(r->signing_root, SIGNER_ROOT_LEN), sig);
    if (e == CL_OK) return SIGNER_OUT_OK;
    if (e == CL_ERR_NOT_FOUND) return SIGNER_OUT_NOT_FOUND;
    if (e == CL_ERR_DENIED) return SIGNER_OUT_DISABLED;
    snprintf(why, whylen, "signing failed");
    return SIGNER_OUT_ERROR;
}

static void answer_failure(http_response *resp, signer_outcome out, const char *why) {
    switch (out) {
    case SIGNER_OUT_NOT_FOUND:
        return api_error(resp, 404, "Public Key not found");
    case SIGNER_OUT_DISABLED:
        return api_error(resp, 412, "Signing not allowed: the key is disabled");
    case SIGNER_OUT_SLASHING:
        return api_error(resp, 412, why[0] ? why : "Signing refused by slashing protection");
    case SIGNER_OUT_INVALID:
        return api_error(resp, 400, why[0] ? why : "Bad request");
    default:
        return api_error(resp, 500, why[0] ? why : "Internal error");
    }
}

void api_sign(signer_server *s, http_request *req, http_response *resp, cl_slice id) {
    uint64_t t0 = time_mono_ns();
    uint8_t pk[SIGNER_PK_LEN], sig[SIGNER_SIG_LEN];
    char why[256] = "";
    signer_request r = {.type = SIGNER_TYPE_COUNT};
    signer_outcome out = SIGNER_OUT_OK;
    signer_key_state st = SIGNER_KEY_UNKNOWN;
    if (api_parse_pubkey(id, pk)) st = signer_keyring_state(s->keys, pk);
    if (st == SIGNER_KEY_UNKNOWN)
        out = SIGNER_OUT_NOT_FOUND;
    else if (st == SIGNER_KEY_DISABLED || api_is_disabled(s, pk))
        out = SIGNER_OUT_DISABLED;
    if (out == SIGNER_OUT_OK) {
        cl_err e = signer_request_parse(s->net, buf_slice(&req->body), &r, why, sizeof why);
        if (e == CL_ERR_NOT_FOUND && !why[0]) snprintf(why, sizeof why, "unknown type");
        if (e != CL_OK) out = SIGNER_OUT_INVALID;
        if (e != CL_OK && e != CL_ERR_INVALID && e != CL_ERR_NOT_FOUND) out = SIGNER_OUT_ERROR;
    }
    if (out == SIGNER_OUT_OK) out = sign_parsed(s, pk, &r, sig, why, sizeof why);
    req->op = r.type < SIGNER_TYPE_COUNT ? signer_type_name(r.type) : "sign";
    observe(s, r.type, out, t0);
    if (out == SIGNER_OUT_OK)
        answer_signature(req, resp, sig);
    else
        answer_failure(resp, out, why);
    cl_cleanse(&r, sizeof r);
}

/* ---- /metrics: never a secret, never a key; counts and durations only ---- */

static const char *OUTCOME_NAMES[SIGNER_OUT_COUNT] = {
    "ok", "slashing_refused", "unknown_key", "disabled_key", "invalid", "error"};

static void render_signings(signer_server *s, cl_buf *out) {
    buf_append_cstr(out,
                    "# HELP cloister_signer_signings_total Sign requests by type and outcome.\n"
                    "# TYPE cloister_signer_signings_total counter\n");
    for (int t = 0; t < SIGNER_TYPE_COUNT; t++)
        for (int o = 0; o < SIGNER_OUT_COUNT; o++) {
            uint64_t n = atomic_load(&s->signings[t][o]);
            if (n)
                buf_appendf(
                    out, "cloister_signer_signings_total{type=\"%s\",outcome=\"%s\"} %llu\n",
                    signer_type_name((signer_type)t), OUTCOME_NAMES[o], (unsigned long long)n);
        }
    buf_append_cstr(out, "# HELP cloister_signer_slashing_refusals_total Sign requests refused by "
                         "slashing protection.\n"
                         "# TYPE cloister_signer_slashing_refusals_total counter\n");
    uint64_t refused = 0;
    for (int t = 0; t < SIGNER_TYPE_COUNT; t++)
        refused += atomic_load(&s->signings[t][SIGNER_OUT_SLASHING]);
    buf_appendf(out, "cloister_signer_slashing_refusals_total %llu\n", (unsigned long long)refused);
}

static void render_latency(signer_server *s, cl_buf *out) {
    buf_append_cstr(out, "# HELP cloister_signer_signing_duration_seconds Sign request latency.\n"
                         "# TYPE cloister_signer_signing_duration_seconds histogram\n");
    uint64_t cum = 0;
    for (size_t b = 0; b < SIGNER_LAT_BUCKETS; b++) {
        cum += atomic_load(&s->lat_buckets[b]);
        buf_appendf(out, "cloister_signer_signing_duration_seconds_bucket{le=\"%g\"} %llu\n",
                    LAT_BOUNDS[b], (unsigned long long)cum);
    }
    uint64_t count = atomic_load(&s->lat_count);
    buf_appendf(out, "cloister_signer_signing_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                (unsigned long long)count);
    buf_appendf(out, "cloister_signer_signing_duration_seconds_sum %.9f\n",
                (double)atomic_load(&s->lat_sum_ns) / 1e9);
    buf_appendf(out, "cloister_signer_signing_duration_seconds_count %llu\n",
                (unsigned long long)count);
}

void api_metrics_render(signer_server *s, cl_buf *out) {
    render_signings(s, out);
    render_latency(s, out);
    size_t all = signer_keyring_count(s->keys, false), active = signer_keyring_count(s->keys, true);
    pthread_mutex_lock(&s->mu);
    size_t failed = s->load_failed;
    bool loaded = s->loaded;
    pthread_mutex_unlock(&s->mu);
    buf_appendf(out,
                "# HELP cloister_signer_keys Validator keys in the keyring by state.\n"
                "# TYPE cloister_signer_keys gauge\n"
                "cloister_signer_keys{state=\"active\"} %zu\n"
                "cloister_signer_keys{state=\"disabled\"} %zu\n"
                "# HELP cloister_signer_keys_load_errors Keys that failed at the last load.\n"
                "# TYPE cloister_signer_keys_load_errors gauge\n"
                "cloister_signer_keys_load_errors %zu\n"
                "# HELP cloister_signer_keys_loaded 1 once the first key load is done.\n"
                "# TYPE cloister_signer_keys_loaded gauge\n"
                "cloister_signer_keys_loaded %d\n",
                active, all - active, failed, loaded ? 1 : 0);
}
