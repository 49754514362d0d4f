/* creds.c — the client side of the CLI: the standard AWS credentials chain
 * (environment, then a profile of the shared credentials file), its strict
 * form for `cloister worker` (every gap named at start), STS AssumeRole, and
 * SigV4-signed calls (JSON 1.1, Query, S3 GET). The INI reader handles what the
 * aws CLI writes: [section] headers, key = value lines, # and ; comments. */
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

/* Reads section `profile` from an INI text into c (only keys not already set). */
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

static char *aws_file(const char *var, const char *name);
static void ini_read_file(const char *path, const char *section, cli_creds *c);

/* ---- the operator's chain (`cloister account`, `cloister creds`) ---- */
/* Profile `profile` from the first of `files` that has both keys. */
static bool profile_from_files(cli_creds *c, const char *profile, char **files, size_t n) {
    for (size_t i = 0; i < n; i++) {
        cli_creds tmp = {0};
        ini_read_file(files[i], profile, &tmp);
        if (tmp.access_key && tmp.secret) {
            c->access_key = tmp.access_key;
            c->secret = tmp.secret;
            c->session_token = tmp.session_token;
            free(tmp.region);
            return true;
        }
        cli_creds_free(&tmp);
    }
    return false;
}

static void no_creds_error(const char *profile, char **files, size_t n, char *err, size_t errlen) {
    cl_buf b = CL_BUF_INIT;
    for (size_t i = 0; i < n; i++)
        buf_appendf(&b, "%s%s", i ? (i + 1 == n ? " and " : ", ") : "", files[i]);
    snprintf(err, errlen,
             "no credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set and no "
             "profile '%s' in %s. Run this where the server's data directory is (or give "
             "--data DIR), or name the file with AWS_SHARED_CREDENTIALS_FILE and the profile "
             "with --profile",
             profile, buf_cstr(&b));
    buf_free(&b);
}

cl_err cli_creds_load_opts(cli_creds *c, const cli_creds_opts *o, char *err, size_t errlen) {
    memset(c, 0, sizeof *c);
    c->region = env_dup("AWS_REGION");
    if (!c->region) c->region = env_dup("AWS_DEFAULT_REGION");
    if (!c->region) c->region = cl_strdup("us-east-1");
    if (!o->profile && getenv("AWS_ACCESS_KEY_ID") && getenv("AWS_SECRET_ACCESS_KEY")) {
        c->access_key = env_dup("AWS_ACCESS_KEY_ID");
        c->secret = env_dup("AWS_SECRET_ACCESS_KEY");
        c->session_token = env_dup("AWS_SESSION_TOKEN");
        if (c->access_key && c->secret) return CL_OK;
        cl_free_secret(c->access_key); /* one of them empty: the profiles decide */
        cl_free_secret(c->secret);
        cl_free_secret(c->session_token);
        c->access_key = c->secret = c->session_token = NULL;
    }
    const char *env_profile =
        getenv("AWS_PROFILE") && *getenv("AWS_PROFILE") ? getenv("AWS_PROFILE") : NULL;
    const char *profile = o->profile ? o->profile : env_profile ? env_profile : o->default_profile;
    char *files[2];
    size_t n = 0;
    if (getenv("AWS_SHARED_CREDENTIALS_FILE") && *getenv("AWS_SHARED_CREDENTIALS_FILE")) {
        files[n++] = cl_strdup(getenv("AWS_SHARED_CREDENTIALS_FILE"));
    } else {
        if (o->default_file) files[n++] = cl_strdup(o->default_file);
        files[n++] = aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
    }
    bool ok = profile_from_files(c, profile, files, n);
    if (!ok && !o->profile && !env_profile && strcmp(profile, "default") != 0)
        ok = profile_from_files(c, "default", files, n); /* the aws CLI's own default */
    if (!ok) no_creds_error(profile, files, n, err, errlen);
    for (size_t i = 0; i < n; i++)
        free(files[i]);
    if (!ok) cli_creds_free(c);
    return ok ? CL_OK : CL_ERR_NOT_FOUND;
}

const char *cli_endpoint_url(const char *flag) {
    if (flag) return flag;
    const char *e = getenv("AWS_ENDPOINT_URL");
    if (e && *e) return e;
    return cli_endpoint(NULL);
}

/* ---- the strict chain (`cloister worker`) ---- */
/* Every variable the chain reads: set but empty is a mistake to name, never a
 * default to fall back on silently. */
static const char *const strict_vars[] = {"CLOISTER_ENDPOINT",     "AWS_REGION",
                                          "AWS_DEFAULT_REGION",    "AWS_ACCESS_KEY_ID",
                                          "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                                          "AWS_PROFILE",           "AWS_ROLE_ARN",
                                          "AWS_ROLE_SESSION_NAME", "AWS_SHARED_CREDENTIALS_FILE",
                                          "AWS_CONFIG_FILE",       "AWS_CA_BUNDLE"};

const char *cli_env_empty(void) {
    for (size_t i = 0; i < sizeof strict_vars / sizeof strict_vars[0]; i++) {
        const char *v = getenv(strict_vars[i]);
        if (v && !*v) return strict_vars[i];
    }
    return NULL;
}

static char *aws_file(const char *var, const char *name) {
    if (getenv(var)) return cl_strdup(getenv(var));
    const char *home = getenv("HOME") ? getenv("HOME") : ".";
    return cl_sprintf("%s/.aws/%s", home, name);
}

/* Reads section `section` of the INI file at path into c (keys not yet set). */
static void ini_read_file(const char *path, const char *section, cli_creds *c) {
    cl_buf text = CL_BUF_INIT;
    if (file_read_all(path, &text, 1 << 20) == CL_OK)
        ini_read_profile(buf_slice(&text), section, c);
    buf_free_secret(&text);
}

static cl_err strict_keys(cli_creds *c, const char *profile, char *err, size_t errlen) {
    bool id = getenv("AWS_ACCESS_KEY_ID"), secret = getenv("AWS_SECRET_ACCESS_KEY");
    if (id != secret) {
        snprintf(err, errlen, "%s is not set (%s is)",
                 id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID",
                 id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY");
        return CL_ERR_NOT_FOUND;
    }
    if (id) {
        c->access_key = env_dup("AWS_ACCESS_KEY_ID");
        c->secret = env_dup("AWS_SECRET_ACCESS_KEY");
        c->session_token = env_dup("AWS_SESSION_TOKEN");
        return CL_OK;
    }
    char *path = aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
    ini_read_file(path, profile, c);
    if (!c->access_key || !c->secret) {
        if (getenv("AWS_PROFILE"))
            snprintf(err, errlen,
                     "AWS_PROFILE=%s: no aws_access_key_id and aws_secret_access_key in "
                     "profile '%s' of %s",
                     profile, profile, path);
        else
            snprintf(err, errlen,
                     "no credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set "
                     "(nor AWS_PROFILE; no profile 'default' in %s)",
                     path);
        free(path);
        return CL_ERR_NOT_FOUND;
    }
    free(path);
    return CL_OK;
}

cl_err cli_creds_load_strict(cli_creds *c, char *err, size_t errlen) {
    memset(c, 0, sizeof *c);
    const char *empty = cli_env_empty();
    if (empty) {
        snprintf(err, errlen, "%s is set but empty", empty);
        return CL_ERR_INVALID;
    }
    const char *profile = getenv("AWS_PROFILE") ? getenv("AWS_PROFILE") : "default";
    c->region = env_dup("AWS_REGION");
    if (!c->region) c->region = env_dup("AWS_DEFAULT_REGION");
    if (!c->region) { /* ~/.aws/config names profiles "[profile NAME]", except default */
        char *path = aws_file("AWS_CONFIG_FILE", "config");
        char *section = strcmp(profile, "default") == 0 ? cl_strdup("default")
                                                        : cl_sprintf("profile %s", profile);
        cli_creds tmp = {0};
        ini_read_file(path, section, &tmp);
        c->region = tmp.region ? cl_strdup(tmp.region) : NULL;
        cli_creds_free(&tmp);
        if (!c->region)
            snprintf(err, errlen,
                     "AWS_REGION is not set (nor AWS_DEFAULT_REGION, nor region in profile "
                     "'%s' of %s)",
                     profile, path);
        free(section);
        free(path);
        if (!c->region) return CL_ERR_NOT_FOUND;
    }
    cl_err e = strict_keys(c, profile, err, errlen);
    if (e != CL_OK) cli_creds_free(c);
    return e;
}

cl_err cli_endpoint_check(const char *url, char *err, size_t errlen) {
    if (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0) {
        const char *host = strstr(url, "://") + 3;
        if (*host && *host != '/') return CL_OK;
    }
    snprintf(err, errlen, "CLOISTER_ENDPOINT must start with http:// or https:// (got %s)", url);
    return CL_ERR_INVALID;
}

const char *cli_endpoint_checked(const char *flag) {
    const char *endpoint = cli_endpoint_url(flag);
    char err[768];
    if (cli_endpoint_check(endpoint, err, sizeof err) == CL_OK) return endpoint;
    fprintf(stderr,
            "cloister: the endpoint must start with http:// or https:// (got %s): "
            "set --endpoint-url or AWS_ENDPOINT_URL\n",
            endpoint);
    return NULL;
}

const char *cli_endpoint(const char *flag) {
    if (flag) return flag;
    const char *e = getenv("CLOISTER_ENDPOINT");
    return e && *e ? e : "http://127.0.0.1:9000";
}

char *cli_url_host(const char *url) {
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t n = strcspn(p, "/?#");
    return cl_strndup(p, n);
}

/* One SigV4-signed request to endpoint + path (already encoded) with h's
 * extra headers (host is added here); the one signer every client call uses. */
static cl_err signed_request(const char *method, const char *endpoint, const char *path,
                             cl_kvlist *h, const cli_creds *c, const char *service, cl_slice body,
                             bool s3_paths, http_client_response *out) {
    char *host = cli_url_host(endpoint);
    kvlist_add(h, "host", host);
    char hash[65];
    crypto_sha256_hex(body, hash);
    sigv4_request r = {method, path, "", h, hash, s3_paths};
    /* x-amz-content-sha256 lets the server verify the signature before it reads
     * the body, so large bodies (app bundles, run inputs) are not held to the
     * pre-authentication limit (serve --preauth-body-limit) */
    sigv4_sign(&r, h, c->access_key, c->secret, c->session_token, c->region, service, time(NULL),
               true);
    size_t n = strlen(endpoint);
    char *url =
        cl_sprintf("%.*s%s", (int)(n && endpoint[n - 1] == '/' ? n - 1 : n), endpoint, path);
    cl_err e = http_client_request(method, url, h, body, getenv("AWS_CA_BUNDLE"), out);
    free(url);
    free(host);
    return e;
}

cl_err cli_call_json(const char *endpoint, const cli_creds *c, const char *target, const char *body,
                     http_client_response *out) {
    cl_kvlist h = CL_KVLIST_INIT;
    kvlist_add(&h, "content-type", "application/x-amz-json-1.1");
    kvlist_add(&h, "x-amz-target", target);
    cl_err e =
        signed_request("POST", endpoint, "/", &h, c, "cloister", slice_cstr(body), false, out);
    kvlist_free(&h);
    return e;
}

cl_err cli_call_service_json(const char *endpoint, const cli_creds *c, const char *service,
                             const char *target, const char *body, http_client_response *out) {
    cl_kvlist h = CL_KVLIST_INIT;
    kvlist_add(&h, "content-type", "application/x-amz-json-1.1");
    kvlist_add(&h, "x-amz-target", target);
    cl_err e = signed_request("POST", endpoint, "/", &h, c, service, slice_cstr(body), false, out);
    kvlist_free(&h);
    return e;
}

cl_err cli_call_query(const char *endpoint, const cli_creds *c, const char *service,
                      const char *form, http_client_response *out) {
    cl_kvlist h = CL_KVLIST_INIT;
    kvlist_add(&h, "content-type", "application/x-www-form-urlencoded; charset=utf-8");
    cl_err e = signed_request("POST", endpoint, "/", &h, c, service, slice_cstr(form), false, out);
    kvlist_free(&h);
    return e;
}

cl_err cli_s3_get(const char *endpoint, const cli_creds *c, const char *bucket, const char *key,
                  http_client_response *out) {
    cl_kvlist h = CL_KVLIST_INIT;
    cl_buf path = CL_BUF_INIT;
    buf_append_cstr(&path, "/");
    url_encode_aws(&path, slice_cstr(bucket), false);
    buf_append_cstr(&path, "/");
    url_encode_aws(&path, slice_cstr(key), true);
    cl_err e =
        signed_request("GET", endpoint, buf_cstr(&path), &h, c, "s3", slice_cstr(""), true, out);
    buf_free(&path);
    kvlist_free(&h);
    return e;
}

char *cli_xml_text(cl_slice xml, const char *tag) {
    char *open = cl_sprintf("<%s>", tag), *close = cl_sprintf("</%s>", tag);
    char *text = slice_dup(xml), *out = NULL; /* may hold credentials (STS) */
    char *a = strstr(text, open), *b = a ? strstr(a, close) : NULL;
    if (b) {
        static const struct {
            const char *ent, ch;
        } ents[] = {
            {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
        cl_buf o = CL_BUF_INIT;
        for (const char *p = a + strlen(open); p < b; p++) {
            size_t i = 0;
            for (; *p == '&' && i < sizeof ents / sizeof ents[0]; i++)
                if (strncmp(p, ents[i].ent, strlen(ents[i].ent)) == 0) break;
            if (*p == '&' && i < sizeof ents / sizeof ents[0]) {
                buf_append_byte(&o, (uint8_t)ents[i].ch);
                p += strlen(ents[i].ent) - 1;
            } else {
                buf_append_byte(&o, (uint8_t)*p);
            }
        }
        out = buf_take_cstr(&o);
    }
    free(open);
    free(close);
    cl_free_secret(text);
    return out;
}

/* ---- STS AssumeRole (Query protocol, POST to the same endpoint) ---- */
static void form_add(cl_buf *b, const char *key, const char *value) {
    buf_appendf(b, "%s%s=", b->len ? "&" : "", key);
    url_encode_aws(b, slice_cstr(value), false);
}

static cl_err assume_answer(http_client_response *r, const cli_creds *base, cli_creds *out,
                            time_t *expires, char *err, size_t errlen) {
    cl_slice body = buf_slice(&r->body);
    if (r->status != 200) {
        char *code = cli_xml_text(body, "Code"), *msg = cli_xml_text(body, "Message");
        snprintf(err, errlen, "%s: %s", code ? code : "HTTP error", msg ? msg : "");
        if (!code) snprintf(err, errlen, "HTTP %ld", r->status);
        free(code);
        free(msg);
        return CL_ERR_DENIED;
    }
    memset(out, 0, sizeof *out);
    out->access_key = cli_xml_text(body, "AccessKeyId");
    out->secret = cli_xml_text(body, "SecretAccessKey");
    out->session_token = cli_xml_text(body, "SessionToken");
    out->region = cl_strdup(base->region);
    char *exp = cli_xml_text(body, "Expiration");
    bool ok = out->access_key && out->secret && out->session_token && exp &&
              time_parse_iso8601(slice_cstr(exp), expires) == CL_OK;
    free(exp);
    if (!ok) {
        snprintf(err, errlen, "AssumeRole: the answer has no credentials");
        cli_creds_free(out);
        return CL_ERR_INVALID;
    }
    return CL_OK;
}

cl_err cli_assume_role(const char *endpoint, const cli_creds *base, const char *role_arn,
                       const char *session_name, unsigned duration_s, cli_creds *out,
                       time_t *expires, char *err, size_t errlen) {
    return cli_assume_role_ext(endpoint, base, role_arn, session_name, duration_s, NULL, out,
                               expires, err, errlen);
}

cl_err cli_assume_role_ext(const char *endpoint, const cli_creds *base, const char *role_arn,
                           const char *session_name, unsigned duration_s, const char *external_id,
                           cli_creds *out, time_t *expires, char *err, size_t errlen) {
    cl_buf form = CL_BUF_INIT;
    char dur[16];
    snprintf(dur, sizeof dur, "%u", duration_s);
    form_add(&form, "Action", "AssumeRole");
    form_add(&form, "Version", "2011-06-15");
    form_add(&form, "RoleArn", role_arn);
    form_add(&form, "RoleSessionName", session_name);
    form_add(&form, "DurationSeconds", dur);
    if (external_id) form_add(&form, "ExternalId", external_id);
    http_client_response r = {0};
    cl_err e = cli_call_query(endpoint, base, "sts", buf_cstr(&form), &r);
    if (e != CL_OK)
        snprintf(err, errlen, "cannot reach %s", endpoint);
    else
        e = assume_answer(&r, base, out, expires, err, errlen);
    buf_free_secret(&r.body);
    buf_free(&form);
    return e;
}
