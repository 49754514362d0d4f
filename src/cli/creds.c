/* creds.c — the client side of the CLI: the standard AWS credentials chain
 * (environment, then a profile of the shared credentials file) and a SigV4-signed
 * JSON 1.1 call. The INI reader handles what the aws CLI writes: [section]
 * headers, key = value lines, # and ; comments. */
#include "cli/cli.h"

#include "crypto/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_creds_free(cli_creds *c) {
    cl_free_secret(c->access_key);
    cl_free_secret(c->secret);
    cl_free_secret(c->session_token);
    free(c->region);
    memset(c, 0, sizeof *c);
}

static char *env_dup(const char *name) {
    const char *v = getenv(name);
    return v && *v ? cl_strdup(v) : NULL;
}

/* Reads `profile` from an INI text into c (only keys not already set). */
static void ini_read_profile(cl_slice text, const char *profile, cli_creds *c) {
    cl_slice line;
    bool in_section = false;
    while (slice_split(&text, '\n', &line)) {
        line = slice_trim(line);
        if (line.len && line.ptr[line.len - 1] == '\r') line.len--;
        if (line.len == 0 || line.ptr[0] == '#' || line.ptr[0] == ';') continue;
        if (line.ptr[0] == '[') {
            cl_slice name = slice_trim(slice_sub(line, 1, line.len >= 2 ? line.len - 2 : 0));
            in_section = slice_eq_cstr(name, profile);
            continue;
        }
        if (!in_section) continue;
        cl_slice key;
        slice_split(&line, '=', &key);
        key = slice_trim(key);
        cl_slice value = slice_trim(line);
        char **dst = slice_eq_cstr(key, "aws_access_key_id")       ? &c->access_key
                     : slice_eq_cstr(key, "aws_secret_access_key") ? &c->secret
                     : slice_eq_cstr(key, "aws_session_token")     ? &c->session_token
                     : slice_eq_cstr(key, "region")                ? &c->region
                                                                   : NULL;
        if (dst && !*dst) *dst = slice_dup(value);
    }
}

cl_err cli_creds_load(cli_creds *c, char *err, size_t errlen) {
    memset(c, 0, sizeof *c);
    c->region = env_dup("AWS_REGION");
    if (!c->region) c->region = env_dup("AWS_DEFAULT_REGION");
    c->access_key = env_dup("AWS_ACCESS_KEY_ID");
    c->secret = env_dup("AWS_SECRET_ACCESS_KEY");
    if (c->access_key && c->secret) {
        c->session_token = env_dup("AWS_SESSION_TOKEN");
    } else {
        cl_free_secret(c->access_key);
        cl_free_secret(c->secret);
        c->access_key = c->secret = NULL;
        const char *profile = getenv("AWS_PROFILE") ? getenv("AWS_PROFILE") : "default";
        const char *home = getenv("HOME") ? getenv("HOME") : ".";
        char *path = getenv("AWS_SHARED_CREDENTIALS_FILE")
                         ? cl_strdup(getenv("AWS_SHARED_CREDENTIALS_FILE"))
                         : cl_sprintf("%s/.aws/credentials", home);
        cl_buf text = CL_BUF_INIT;
        if (file_read_all(path, &text, 1 << 20) == CL_OK)
            ini_read_profile(buf_slice(&text), profile, c);
        buf_free_secret(&text);
        if (!c->access_key || !c->secret) {
            snprintf(err, errlen,
                     "no credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or "
                     "profile '%s' in %s",
                     profile, path);
            free(path);
            cli_creds_free(c);
            return CL_ERR_NOT_FOUND;
        }
        free(path);
    }
    if (!c->region) c->region = cl_strdup("us-east-1");
    return CL_OK;
}

const char *cli_endpoint(const char *flag) {
    if (flag) return flag;
    const char *e = getenv("CLOISTER_ENDPOINT");
    return e && *e ? e : "http://127.0.0.1:9000";
}

/* "http://host:port/..." -> "host:port" (what the Host header carries). */
static char *host_of(const char *url) {
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t n = strcspn(p, "/?#");
    return cl_strndup(p, n);
}

cl_err cli_call_json(const char *endpoint, const cli_creds *c, const char *target, const char *body,
                     http_client_response *out) {
    cl_kvlist h = CL_KVLIST_INIT;
    char *host = host_of(endpoint);
    kvlist_add(&h, "host", host);
    kvlist_add(&h, "content-type", "application/x-amz-json-1.1");
    kvlist_add(&h, "x-amz-target", target);
    char hash[65];
    crypto_sha256_hex(slice_cstr(body), hash);
    sigv4_request r = {"POST", "/", "", &h, hash, false};
    /* x-amz-content-sha256 lets the server verify the signature before it reads
     * the body, so large bodies (app bundles, run inputs) are not held to the
     * pre-authentication limit (serve --preauth-body-limit) */
    sigv4_sign(&r, &h, c->access_key, c->secret, c->session_token, c->region, "cloister",
               time(NULL), true);
    char *url = cl_sprintf("%s%s", endpoint, endpoint[strlen(endpoint) - 1] == '/' ? "" : "/");
    const char *ca = getenv("AWS_CA_BUNDLE");
    cl_err e = http_client_request("POST", url, &h, slice_cstr(body), ca, out);
    free(url);
    free(host);
    kvlist_free(&h);
    return e;
}

cl_err cli_s3_get(const char *endpoint, const cli_creds *c, const char *bucket, const char *key,
                  http_client_response *out) {
    cl_kvlist h = CL_KVLIST_INIT;
    char *host = host_of(endpoint);
    kvlist_add(&h, "host", host);
    cl_buf path = CL_BUF_INIT;
    buf_append_cstr(&path, "/");
    url_encode_aws(&path, slice_cstr(bucket), false);
    buf_append_cstr(&path, "/");
    url_encode_aws(&path, slice_cstr(key), true);
    static const char empty_sha[] =
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    sigv4_request r = {"GET", buf_cstr(&path), "", &h, empty_sha, true};
    sigv4_sign(&r, &h, c->access_key, c->secret, c->session_token, c->region, "s3", time(NULL),
               true);
    size_t n = strlen(endpoint);
    char *url = cl_sprintf("%.*s%s", (int)(n && endpoint[n - 1] == '/' ? n - 1 : n), endpoint,
                           buf_cstr(&path));
    cl_err e = http_client_request("GET", url, &h, slice_cstr(""), getenv("AWS_CA_BUNDLE"), out);
    free(url);
    free(host);
    buf_free(&path);
    kvlist_free(&h);
    return e;
}
