/* account.c — `cloister account create NAME`: asks the server (as the first
 * account's admin, through the standard credentials chain) to create an account
 * and prints its ID and its admin user's keys as JSON. */
#include "cli/cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int account_usage(void) {
    fprintf(stderr, "usage: cloister account create NAME [--endpoint URL]\n");
    return 2;
}

static int print_result(const http_client_response *r) {
    json_t *j = json_loadb((const char *)r->body.ptr, r->body.len, 0, NULL);
    if (r->status == 200 && json_is_object(j)) {
        char *s = json_dumps(j, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
        printf("%s\n", s);
        cl_free_secret(s);
        json_decref(j);
        return 0;
    }
    const char *code = json_string_value(json_object_get(j, "__type"));
    const char *msg = json_string_value(json_object_get(j, "message"));
    fprintf(stderr, "cloister: CreateAccount failed (HTTP %ld): %s: %s\n", r->status,
            code ? code : "error", msg ? msg : "(no message)");
    json_decref(j);
    return 1;
}

int cmd_account(int argc, char **argv) {
    if (argc < 3 || strcmp(argv[1], "create") != 0) return account_usage();
    const char *name = argv[2], *endpoint = NULL;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--endpoint") == 0 && i + 1 < argc)
            endpoint = argv[++i];
        else
            return account_usage();
    }
    cli_creds c;
    char err[512];
    if (cli_creds_load(&c, err, sizeof err) != CL_OK) {
        fprintf(stderr, "cloister: %s\n", err);
        return 1;
    }
    json_t *req = json_pack("{s:s}", "AccountName", name);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    http_client_response r = {0};
    cl_err e = cli_call_json(cli_endpoint(endpoint), &c, "Cloister.CreateAccount", body, &r);
    free(body);
    cli_creds_free(&c);
    int rc = 1;
    if (e != CL_OK)
        fprintf(stderr, "cloister: cannot reach %s\n", cli_endpoint(endpoint));
    else
        rc = print_result(&r);
    buf_free_secret(&r.body);
    return rc;
}
