/* account.c — `cloister account create NAME`: asks the server (as the first
 * account's admin, through the standard credentials chain) to create an account
 * and prints its ID and its admin user's keys as JSON.
 * `cloister account root-key ACCOUNT`: the operator's way to act as an
 * account's root user (arn:aws:iam::ACCT:root), like AWS's root sign-in: it
 * opens the data directory itself (the meta store, and the KMS root key that
 * seals secrets), so it needs no credentials, only access to the directory;
 * it works whether or not the server is running. */
#include "cli/cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int account_usage_to(FILE *f, int rc) {
    fprintf(
        f,
        "usage: cloister account create NAME [--endpoint URL]\n"
        "       cloister account root-key ACCOUNT [--data DIR] [--root-key-passphrase-file F]\n"
        "                                 [--meta URL] [--delete ACCESS_KEY_ID]\n"
        "  root-key: prints a new access key of the account's root user (ACCOUNT: ID or\n"
        "  name), read from the data directory (default ./var) and its meta store\n"
        "  (--meta: the one `serve --meta` names, e.g. postgres://...); --delete removes one.\n");
    return rc;
}

static int account_usage(void) {
    return account_usage_to(stderr, 2);
}

typedef struct {
    const char *account, *data, *passphrase_file, *delete_key, *meta;
} root_opts;

static int root_key_run(const root_opts *o, iam *m) {
    char acct[13], akid[21], *secret = NULL;
    if (iam_account_resolve(m, o->account, acct) != CL_OK) {
        fprintf(stderr, "cloister: no account %s in %s\n", o->account, o->data);
        return 1;
    }
    if (o->delete_key) {
        if (iam_root_key_delete(m, acct, o->delete_key) == CL_OK) return 0;
        fprintf(stderr, "cloister: %s is not a root access key of account %s\n", o->delete_key,
                acct);
        return 1;
    }
    if (iam_root_key_create(m, acct, akid, &secret) != CL_OK) {
        fprintf(stderr, "cloister: could not create a root access key\n");
        return 1;
    }
    char *arn = cl_sprintf("arn:aws:iam::%s:root", acct);
    json_t *out = json_pack("{s:s, s:s, s:s, s:s}", "AccountId", acct, "Arn", arn, "AccessKeyId",
                            akid, "SecretAccessKey", secret);
    char *text = json_dumps(out, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
    printf("%s\n", text);
    cl_free_secret(text);
    cl_free_secret(secret);
    json_decref(out);
    free(arn);
    return 0;
}

/* Opens the meta store and the KMS root key of an existing data directory
 * (never creates one) and runs the root-key command. */
static int cmd_root_key(const root_opts *o) {
    char *db = o->meta ? cl_strdup(o->meta) : cl_sprintf("%s/meta.db", o->data);
    store *st = NULL;
    iam *m = NULL;
    kms *keys = NULL;
    char err[256] = "";
    int rc = 1;
    if (!o->meta && access(db, R_OK | W_OK) != 0) {
        fprintf(stderr, "cloister: %s is not a cloister data directory (no meta.db)\n", o->data);
    } else if (store_open(db, &st) != CL_OK || iam_open(st, &m) != CL_OK) {
        fprintf(stderr, "cloister: cannot open the meta store %s\n", o->meta ? "(--meta)" : db);
    } else if (kms_open(st, m,
                        &(kms_options){.data_dir = o->data, .passphrase_file = o->passphrase_file},
                        &keys, err, sizeof err) != CL_OK) {
        fprintf(stderr, "cloister: cannot open the KMS root key: %s\n", err[0] ? err : "?");
    } else {
        uint8_t seal[32]; /* the key IAM seals secrets under, as serve derives it */
        kms_node_key(keys, "iam-secrets", seal);
        iam_set_secret_key(m, seal);
        cl_cleanse(seal, sizeof seal);
        rc = root_key_run(o, m);
    }
    kms_close(keys);
    iam_close(m);
    store_close(st);
    free(db);
    return rc;
}

static int root_key(int argc, char **argv) {
    root_opts o = {.account = argv[2], .data = "./var"};
    for (int i = 3; i < argc; i += 2) { /* every option takes a value */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) return account_usage();
        if (strcmp(a, "--data") == 0)
            o.data = v;
        else if (strcmp(a, "--root-key-passphrase-file") == 0)
            o.passphrase_file = v;
        else if (strcmp(a, "--delete") == 0)
            o.delete_key = v;
        else if (strcmp(a, "--meta") == 0)
            o.meta = v;
        else
            return account_usage();
    }
    return cmd_root_key(&o);
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
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
        return account_usage_to(stdout, 0);
    if (argc >= 3 && strcmp(argv[1], "root-key") == 0) return root_key(argc, argv);
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
