/* account.c — `cloister account create NAME | list | reset-admin-key ACCOUNT`:
 * asks the server, as the first account's admin, to create an account (prints
 * its ID and its admin user's keys as JSON), list the accounts, or give an
 * account's admin user a new key (printed once; the old keys are deleted).
 * Credentials: the operator's chain (cli_creds_load_opts), which finds the
 * server's DATA/credentials, profile cloister, by default.
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
    fprintf(f,
            "usage: cloister account create NAME [CONNECTION]\n"
            "       cloister account list [--json] [CONNECTION]\n"
            "       cloister account reset-admin-key ACCOUNT [CONNECTION]\n"
            "       cloister account root-key ACCOUNT [--data DIR] [--root-key-passphrase-file F]\n"
            "                                 [--meta URL] [--delete ACCESS_KEY_ID]\n"
            "  root-key: prints a new access key of the account's root user (ACCOUNT: ID or\n"
            "  name), read from the data directory (default ./var) and its meta store\n"
            "  (--meta: the one `serve --meta` names, e.g. postgres://...); --delete removes one.\n"
            "CONNECTION (create, list, reset-admin-key; callable by the first account's admin):\n"
            "  --endpoint-url URL  the server (else AWS_ENDPOINT_URL, CLOISTER_ENDPOINT,\n"
            "                      http://127.0.0.1:9000); --endpoint is the same\n"
            "  --profile P         credentials profile (else AWS_PROFILE, else cloister)\n"
            "  --data DIR          the server's data directory, whose credentials file\n"
            "                      is read first (default ./var); AWS_SHARED_CREDENTIALS_FILE\n"
            "                      replaces it and ~/.aws/credentials\n"
            "  Without --profile, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY win if set.\n");
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

/* The JSON answer, or the error in words; 0 on success. */
static int answer(const char *op, const http_client_response *r, json_t **out) {
    json_t *j = json_loadb((const char *)r->body.ptr, r->body.len, 0, NULL);
    if (r->status == 200 && json_is_object(j)) {
        *out = j;
        return 0;
    }
    const char *code = json_string_value(json_object_get(j, "__type"));
    const char *msg = json_string_value(json_object_get(j, "message"));
    fprintf(stderr, "cloister: %s failed (HTTP %ld): %s: %s\n", op, r->status,
            code ? code : "error", msg ? msg : "(no message)");
    if (r->status == 403 && code && strstr(code, "AccessDenied"))
        fprintf(stderr, "cloister: only the first account's admin may call it: use the keys "
                        "the server wrote to DATA/credentials (profile cloister)\n");
    json_decref(j);
    return 1;
}

static void print_secret_json(json_t *j) {
    char *s = json_dumps(j, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
    printf("%s\n", s);
    cl_free_secret(s);
}

typedef struct {
    const char *endpoint, *profile, *data;
    bool json;
} conn_opts;

/* Parses the connection options from argv[first..]; false on a bad one. */
static bool conn_parse(int argc, char **argv, int first, conn_opts *o) {
    *o = (conn_opts){.data = "./var"};
    for (int i = first; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0) {
            o->json = true;
            continue;
        }
        if (!v) return false;
        if (strcmp(a, "--endpoint-url") == 0 || strcmp(a, "--endpoint") == 0)
            o->endpoint = v;
        else if (strcmp(a, "--profile") == 0)
            o->profile = v;
        else if (strcmp(a, "--data") == 0)
            o->data = v;
        else
            return false;
        i++;
    }
    return true;
}

/* Calls Cloister.<op> with body as the operator; *out: the JSON answer. */
static int operator_call(const conn_opts *o, const char *op, json_t *body, json_t **out) {
    const char *endpoint = cli_endpoint_checked(o->endpoint);
    if (!endpoint) return 1;
    char err[768];
    cli_creds c;
    char *file = cl_sprintf("%s/credentials", o->data);
    cli_creds_opts co = {
        .profile = o->profile, .default_profile = "cloister", .default_file = file};
    cl_err e = cli_creds_load_opts(&c, &co, err, sizeof err);
    free(file);
    if (e != CL_OK) {
        fprintf(stderr, "cloister: %s\n", err);
        return 1;
    }
    char *text = json_dumps(body, JSON_COMPACT);
    http_client_response r = {0};
    char *target = cl_sprintf("Cloister.%s", op);
    e = cli_call_json(endpoint, &c, target, text, &r);
    free(target);
    free(text);
    cli_creds_free(&c);
    int rc = 1;
    if (e != CL_OK)
        fprintf(stderr,
                "cloister: cannot reach %s: is `cloister serve` running there? Set "
                "--endpoint-url URL or AWS_ENDPOINT_URL to the server's address\n",
                endpoint);
    else
        rc = answer(op, &r, out);
    buf_free_secret(&r.body);
    return rc;
}

static int account_list(const conn_opts *o) {
    json_t *body = json_object(), *out = NULL;
    int rc = operator_call(o, "ListAccounts", body, &out);
    json_decref(body);
    if (rc) return rc;
    json_t *list = json_object_get(out, "Accounts"), *a;
    size_t i;
    if (o->json) {
        print_secret_json(out);
    } else {
        printf("%-12s  %-24s  %-10s  %s\n", "ACCOUNT_ID", "NAME", "ADMIN_USER", "CREATED");
        json_array_foreach(list, i, a) {
            const char *admin = json_string_value(json_object_get(a, "AdminUser"));
            printf("%-12s  %-24s  %-10s  %s\n", json_string_value(json_object_get(a, "AccountId")),
                   json_string_value(json_object_get(a, "AccountName")), admin ? admin : "-",
                   json_string_value(json_object_get(a, "CreateDate")));
        }
    }
    json_decref(out);
    return 0;
}

/* create NAME / reset-admin-key ACCOUNT: prints the answer with its secret once. */
static int account_keys(const conn_opts *o, const char *op, const char *field, const char *v) {
    json_t *body = json_pack("{s:s}", field, v), *out = NULL;
    int rc = operator_call(o, op, body, &out);
    json_decref(body);
    if (rc) return rc;
    print_secret_json(out);
    json_decref(out);
    return 0;
}

int cmd_account(int argc, char **argv) {
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
        return account_usage_to(stdout, 0);
    if (argc >= 3 && strcmp(argv[1], "root-key") == 0) return root_key(argc, argv);
    conn_opts o;
    if (argc >= 2 && strcmp(argv[1], "list") == 0)
        return conn_parse(argc, argv, 2, &o) ? account_list(&o) : account_usage();
    if (argc < 3 || !conn_parse(argc, argv, 3, &o) || o.json) return account_usage();
    if (strcmp(argv[1], "create") == 0)
        return account_keys(&o, "CreateAccount", "AccountName", argv[2]);
    if (strcmp(argv[1], "reset-admin-key") == 0)
        return account_keys(&o, "ResetAdminKey", "Account", argv[2]);
    return account_usage();
}
