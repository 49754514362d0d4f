/* app_cmd.c — `cloister app deploy|show|list|delete|owner`: the client side of
 * the app operations (src/tasks). deploy packs the folder into the canonical
 * bundle locally (tasks_bundle_pack) and uploads it base64 in a signed
 * Cloister.CreateApp call; the others are one signed call each. Credentials
 * come from the standard AWS chain, as for `cloister account create`. */
#include "cli/cli.h"

#include "secrets/secrets.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int app_usage_to(FILE *f, int rc) {
    fprintf(f, "usage: cloister app deploy DIR --name NAME [--entrypoint CMD] [--manifest JSON]\n"
               "       cloister app show NAME\n"
               "       cloister app list\n"
               "       cloister app delete NAME\n"
               "       cloister app owner NAME --address 0x... --signature 0x...\n"
               "       cloister app secret push|check NAME [--value V] [--debug]\n"
               "  every command also takes [--endpoint URL]; --entrypoint defaults to /app/run.\n"
               "  See docs/apps.md.\n");
    return rc;
}

typedef struct {
    const char *dir, *name, *entrypoint, *manifest, *address, *signature, *endpoint;
} app_opts;

cl_err cli_app_owner_sig_check(const char *signature, const uint8_t challenge[32],
                               const char *owner) {
    secrets_sig sig;
    secrets_addr want, got;
    uint8_t h[SECRETS_HASH_LEN];
    if (secrets_sig_parse(slice_cstr(signature), &sig) != CL_OK ||
        secrets_addr_parse(slice_cstr(owner), &want) != CL_OK)
        return CL_ERR_INVALID;
    secrets_eip191_hash(challenge, h);
    if (secrets_sig_recover(&sig, h, &got) != CL_OK) return CL_ERR_INVALID;
    return secrets_addr_eq(&got, &want) ? CL_OK : CL_ERR_DENIED;
}

static bool parse_opts(int argc, char **argv, int first, app_opts *o) {
    for (int i = first; i < argc; i += 2) { /* every option takes a value */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char **slot = strcmp(a, "--name") == 0         ? &o->name
                            : strcmp(a, "--entrypoint") == 0 ? &o->entrypoint
                            : strcmp(a, "--manifest") == 0   ? &o->manifest
                            : strcmp(a, "--address") == 0    ? &o->address
                            : strcmp(a, "--signature") == 0  ? &o->signature
                            : strcmp(a, "--endpoint") == 0   ? &o->endpoint
                                                             : NULL;
        if (!slot || !v) return false;
        *slot = v;
    }
    return true;
}

static int print_answer(const char *op, const http_client_response *r) {
    json_t *j = json_loadb((const char *)r->body.ptr, r->body.len, 0, NULL);
    int rc = 1;
    if (r->status == 200 && json_is_object(j)) {
        char *s = json_dumps(j, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
        printf("%s\n", s);
        free(s);
        rc = 0;
    } else {
        const char *code = json_string_value(json_object_get(j, "__type"));
        const char *msg = json_string_value(json_object_get(j, "message"));
        fprintf(stderr, "cloister: %s failed (HTTP %ld): %s: %s\n", op, r->status,
                code ? code : "error", msg ? msg : "(no message)");
    }
    json_decref(j);
    return rc;
}

/* Signs and sends Cloister.<op> with body (consumed) and prints the answer. */
static int call(const char *op, const app_opts *o, json_t *body) {
    cli_creds c;
    char err[512];
    if (cli_creds_load(&c, err, sizeof err) != CL_OK) {
        fprintf(stderr, "cloister: %s\n", err);
        json_decref(body);
        return 1;
    }
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    char *target = cl_sprintf("Cloister.%s", op);
    http_client_response r = {0};
    cl_err e = cli_call_json(cli_endpoint(o->endpoint), &c, target, text, &r);
    free(target);
    free(text);
    cli_creds_free(&c);
    int rc = 1;
    if (e != CL_OK)
        fprintf(stderr, "cloister: cannot reach %s\n", cli_endpoint(o->endpoint));
    else
        rc = print_answer(op, &r);
    buf_free(&r.body);
    return rc;
}

static int deploy(const app_opts *o) {
    if (!o->name) return app_usage_to(stderr, 2);
    if (!tasks_app_name_valid(o->name)) {
        fprintf(stderr, "cloister: app names are 1 to 64 of [A-Za-z0-9_-]\n");
        return 2;
    }
    cl_buf bundle = {0}, b64 = {0};
    char err[512];
    if (tasks_bundle_pack(o->dir, TASKS_BUNDLE_MAX, &bundle, err, sizeof err) != CL_OK) {
        fprintf(stderr, "cloister: cannot pack %s: %s\n", o->dir, err);
        buf_free(&bundle);
        return 1;
    }
    base64_encode(&b64, buf_slice(&bundle));
    buf_free(&bundle);
    json_t *body = json_pack("{s:s, s:s, s:s%}", "Name", o->name, "Entrypoint",
                             o->entrypoint ? o->entrypoint : "/app/run", "Bundle",
                             (const char *)b64.ptr, b64.len);
    buf_free(&b64);
    if (o->manifest) json_object_set_new(body, "Manifest", json_string(o->manifest));
    return call("CreateApp", o, body);
}

int cmd_app(int argc, char **argv) {
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
        return app_usage_to(stdout, 0);
    if (argc < 2) return app_usage_to(stderr, 2);
    const char *sub = argv[1];
    if (strcmp(sub, "secret") == 0) return cli_app_secret(argc - 1, argv + 1);
    bool list = strcmp(sub, "list") == 0;
    app_opts o = {0};
    if ((!list && argc < 3) || !parse_opts(argc, argv, list ? 2 : 3, &o))
        return app_usage_to(stderr, 2);
    const char *arg = list ? NULL : argv[2];
    if (strcmp(sub, "deploy") == 0) {
        o.dir = arg;
        return deploy(&o);
    }
    if (list) return call("ListApps", &o, json_object());
    if (strcmp(sub, "show") == 0) return call("GetApp", &o, json_pack("{s:s}", "Name", arg));
    if (strcmp(sub, "delete") == 0) return call("DeleteApp", &o, json_pack("{s:s}", "Name", arg));
    if (strcmp(sub, "owner") == 0 && o.address) {
        json_t *b = json_pack("{s:s, s:s}", "Name", arg, "Owner", o.address);
        if (o.signature) json_object_set_new(b, "Signature", json_string(o.signature));
        return call("SetAppOwner", &o, b);
    }
    return app_usage_to(stderr, 2);
}
