/* secret_cmd.c — the client side of the secret service (src/secrets,
 * docs/secrets.md): `cloister secret push|check`, `cloister app secret
 * push|check` and `cloister wallet challenge|link|show|unlink`, one signed
 * Cloister.<Op> call each (credentials from the standard AWS chain, as for
 * `cloister app`). A value comes from --value or standard input (one trailing
 * newline dropped) and is never printed; copies are zeroised. */
#include "cli/cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int secret_usage_to(FILE *f, int rc) {
    fprintf(f, "usage: cloister secret push NAME [--value V] [--debug]   (no --value: stdin)\n"
               "       cloister secret check NAME [--debug]\n"
               "       cloister app secret push APP [--value V] [--debug]\n"
               "       cloister app secret check APP [--debug]\n"
               "       cloister wallet challenge 0xADDRESS\n"
               "       cloister wallet link 0xADDRESS --signature 0x...\n"
               "       cloister wallet show | unlink\n"
               "  every command also takes [--endpoint URL]. See docs/secrets.md.\n");
    return rc;
}

typedef struct {
    const char *value, *signature, *endpoint;
    bool debug;
} sec_opts;

static bool parse_opts(int argc, char **argv, int first, sec_opts *o) {
    for (int i = first; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--debug") == 0) {
            o->debug = true;
            continue;
        }
        const char **slot = strcmp(a, "--value") == 0       ? &o->value
                            : strcmp(a, "--signature") == 0 ? &o->signature
                            : strcmp(a, "--endpoint") == 0  ? &o->endpoint
                                                            : NULL;
        if (!slot || !v) return false;
        *slot = v;
        i++;
    }
    return true;
}

/* Signs and sends Cloister.<op> with body (consumed). On HTTP 200 returns the
 * answer (caller frees) and sets *status; otherwise prints the error unless it
 * is quiet_code (then *status says what came back) and returns NULL. */
static json_t *call(const char *op, const sec_opts *o, json_t *body, const char *quiet_code,
                    long *status) {
    cli_creds c;
    char err[512];
    *status = 0;
    if (cli_creds_load(&c, err, sizeof err) != CL_OK) {
        fprintf(stderr, "cloister: %s\n", err);
        json_decref(body);
        return NULL;
    }
    char *text = json_dumps(body, JSON_COMPACT), *target = cl_sprintf("Cloister.%s", op);
    json_decref(body);
    http_client_response r = {0};
    cl_err e = cli_call_json(cli_endpoint(o->endpoint), &c, target, text, &r);
    cl_free_secret(text); /* may hold a secret value */
    free(target);
    cli_creds_free(&c);
    json_t *j = NULL;
    if (e != CL_OK) {
        fprintf(stderr, "cloister: cannot reach %s\n", cli_endpoint(o->endpoint));
    } else {
        *status = r.status;
        j = json_loadb((const char *)r.body.ptr, r.body.len, 0, NULL);
        const char *code = json_string_value(json_object_get(j, "__type"));
        const char *msg = json_string_value(json_object_get(j, "message"));
        if (code && strchr(code, '#')) code = strchr(code, '#') + 1;
        if (r.status != 200 || !json_is_object(j)) {
            if (!quiet_code || !code || strcmp(code, quiet_code) != 0)
                fprintf(stderr, "cloister: %s failed (HTTP %ld): %s: %s\n", op, r.status,
                        code ? code : "error", msg ? msg : "(no message)");
            json_decref(j);
            j = NULL;
        }
    }
    buf_free(&r.body);
    return j;
}

static void print_json(json_t *j) {
    char *s = json_dumps(j, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
    printf("%s\n", s);
    free(s);
}

/* The value to push: --value, else standard input (at most 4096 bytes after
 * one trailing "\n" or "\r\n" is dropped). NULL after a message. */
static char *read_value(const sec_opts *o, size_t *len) {
    if (o->value) {
        *len = strlen(o->value);
        return cl_strdup(o->value);
    }
    size_t cap = SECRETS_VALUE_MAX + 3, n = 0;
    char *v = cl_malloc(cap + 1);
    size_t got;
    while (n < cap && (got = fread(v + n, 1, cap - n, stdin)) > 0)
        n += got;
    if (n > 0 && v[n - 1] == '\n') n--;
    if (n > 0 && v[n - 1] == '\r') n--;
    v[n] = 0;
    if (n > SECRETS_VALUE_MAX) {
        fprintf(stderr, "cloister: a secret value is at most %d bytes\n", SECRETS_VALUE_MAX);
        cl_cleanse(v, cap + 1);
        free(v);
        return NULL;
    }
    *len = n;
    return v;
}

/* PutSecret / PutAppSecret: ref_key names the secret or the app. */
static int push(const char *op, const char *ref_key, const char *ref, const sec_opts *o) {
    size_t len = 0;
    char *v = read_value(o, &len);
    if (!v) return 1;
    json_t *body = json_pack("{s:s, s:s%, s:b}", ref_key, ref, "Value", v, len, "Debug", o->debug);
    cl_cleanse(v, len);
    free(v);
    if (!body) {
        fprintf(stderr, "cloister: a secret value sent through the API must be UTF-8 text\n");
        return 1;
    }
    long st;
    json_t *j = call(op, o, body, NULL, &st);
    if (!j) return 1;
    json_decref(j);
    printf("%s: %s secret stored\n", ref, o->debug ? "debug" : "production");
    return 0;
}

/* DescribeSecret / DescribeAppSecret: exit 0 and "exists", or exit 1 "not set". */
static int check(const char *op, const char *ref_key, const char *ref, const sec_opts *o) {
    long st;
    json_t *j = call(op, o, json_pack("{s:s, s:b}", ref_key, ref, "Debug", o->debug),
                     "ResourceNotFoundException", &st);
    const char *mode = o->debug ? "debug" : "production";
    if (j) {
        printf("%s: %s secret exists (created %s)\n", ref, mode,
               json_string_value(json_object_get(j, "Created")));
        json_decref(j);
        return 0;
    }
    if (st == 404) printf("%s: %s secret not set\n", ref, mode);
    return 1;
}

int cmd_secret(int argc, char **argv) {
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
        return secret_usage_to(stdout, 0);
    sec_opts o = {0};
    if (argc < 3 || !parse_opts(argc, argv, 3, &o)) return secret_usage_to(stderr, 2);
    if (!secrets_name_valid(slice_cstr(argv[2]))) {
        fprintf(stderr, "cloister: secret names are 1 to 64 of [A-Za-z0-9_-]\n");
        return 2;
    }
    if (strcmp(argv[1], "push") == 0) return push("PutSecret", "Name", argv[2], &o);
    if (strcmp(argv[1], "check") == 0 && !o.value)
        return check("DescribeSecret", "Name", argv[2], &o);
    return secret_usage_to(stderr, 2);
}

int cli_app_secret(int argc, char **argv) {
    sec_opts o = {0};
    if (argc < 3 || !parse_opts(argc, argv, 3, &o)) return secret_usage_to(stderr, 2);
    if (strcmp(argv[1], "push") == 0) return push("PutAppSecret", "App", argv[2], &o);
    if (strcmp(argv[1], "check") == 0 && !o.value)
        return check("DescribeAppSecret", "App", argv[2], &o);
    return secret_usage_to(stderr, 2);
}

int cmd_wallet(int argc, char **argv) {
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
        return secret_usage_to(stdout, 0);
    if (argc < 2) return secret_usage_to(stderr, 2);
    const char *sub = argv[1];
    bool takes_addr = strcmp(sub, "challenge") == 0 || strcmp(sub, "link") == 0;
    sec_opts o = {0};
    if ((takes_addr && argc < 3) || !parse_opts(argc, argv, takes_addr ? 3 : 2, &o) || o.value ||
        o.debug)
        return secret_usage_to(stderr, 2);
    long st;
    json_t *j = NULL;
    if (strcmp(sub, "challenge") == 0 && !o.signature) {
        j = call("GetWalletChallenge", &o, json_pack("{s:s}", "Address", argv[2]), NULL, &st);
        if (j) printf("%s\n", json_string_value(json_object_get(j, "Challenge")));
        json_decref(j);
        return j ? 0 : 1;
    }
    if (strcmp(sub, "link") == 0 && o.signature)
        j = call("LinkWallet", &o,
                 json_pack("{s:s, s:s}", "Address", argv[2], "Signature", o.signature), NULL, &st);
    else if (strcmp(sub, "show") == 0 && !o.signature)
        j = call("GetWallet", &o, json_object(), NULL, &st);
    else if (strcmp(sub, "unlink") == 0 && !o.signature)
        j = call("UnlinkWallet", &o, json_object(), NULL, &st);
    else
        return secret_usage_to(stderr, 2);
    if (!j) return 1;
    print_json(j);
    json_decref(j);
    return 0;
}
