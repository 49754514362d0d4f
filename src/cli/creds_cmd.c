/* creds_cmd.c — `cloister creds assume-role`: STS AssumeRole at a Cloister
 * endpoint with a profile's keys, printed as an AWS `credential_process` must
 * print it ({"Version": 1, "AccessKeyId", "SecretAccessKey", "SessionToken",
 * "Expiration"}). A config profile with
 *   credential_process = cloister creds assume-role --role-arn ARN --profile P
 * gives role credentials to clients that cannot send STS to a custom endpoint
 * for role profiles (Debian's aws CLI v2 2.9), and to boto3 and the SDKs. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int creds_usage(FILE *f, int rc) {
    fprintf(f, "usage: cloister creds assume-role --role-arn ARN [--role-session-name NAME]\n"
               "         [--duration-seconds S] [--external-id ID] [--profile P]\n"
               "         [--endpoint-url URL]\n"
               "  Prints the role's temporary credentials as an AWS credential_process does\n"
               "  (JSON, Version 1). The role is assumed with the keys of profile P (else the\n"
               "  environment's AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, else AWS_PROFILE,\n"
               "  else profile default) of AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials),\n"
               "  at --endpoint-url (else AWS_ENDPOINT_URL, CLOISTER_ENDPOINT,\n"
               "  http://127.0.0.1:9000). Defaults: session name cloister-creds, 3600 s.\n");
    return rc;
}

typedef struct {
    const char *role_arn, *session, *external_id, *profile, *endpoint;
    unsigned duration;
} assume_opts;

static bool assume_parse(int argc, char **argv, assume_opts *o) {
    *o = (assume_opts){.session = "cloister-creds", .duration = 3600};
    for (int i = 2; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) return false;
        if (strcmp(a, "--role-arn") == 0)
            o->role_arn = v;
        else if (strcmp(a, "--role-session-name") == 0)
            o->session = v;
        else if (strcmp(a, "--external-id") == 0)
            o->external_id = v;
        else if (strcmp(a, "--profile") == 0)
            o->profile = v;
        else if (strcmp(a, "--endpoint-url") == 0 || strcmp(a, "--endpoint") == 0)
            o->endpoint = v;
        else if (strcmp(a, "--duration-seconds") == 0) {
            char *end = NULL;
            unsigned long d = strtoul(v, &end, 10);
            if (!*v || *end || d < 900 || d > 43200) {
                fprintf(stderr, "cloister: --duration-seconds must be 900 to 43200\n");
                return false;
            }
            o->duration = (unsigned)d;
        } else
            return false;
    }
    return o->role_arn != NULL;
}

static void print_process_json(const cli_creds *rc, time_t expires) {
    char exp[21];
    time_format_iso8601(expires, exp);
    json_t *out = json_pack("{s:i, s:s, s:s, s:s, s:s}", "Version", 1, "AccessKeyId",
                            rc->access_key, "SecretAccessKey", rc->secret, "SessionToken",
                            rc->session_token, "Expiration", exp);
    char *text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("%s\n", text);
    cl_free_secret(text);
    json_decref(out);
}

static int assume_role(const assume_opts *o) {
    const char *endpoint = cli_endpoint_checked(o->endpoint);
    if (!endpoint) return 1;
    char err[768];
    cli_creds base, role;
    cli_creds_opts co = {.profile = o->profile, .default_profile = "default"};
    if (cli_creds_load_opts(&base, &co, err, sizeof err) != CL_OK) {
        fprintf(stderr, "cloister: %s\n", err);
        return 1;
    }
    time_t expires = 0;
    cl_err e = cli_assume_role_ext(endpoint, &base, o->role_arn, o->session, o->duration,
                                   o->external_id, &role, &expires, err, sizeof err);
    cli_creds_free(&base);
    if (e != CL_OK) {
        fprintf(stderr, "cloister: AssumeRole %s at %s failed: %s\n", o->role_arn, endpoint, err);
        return 1;
    }
    print_process_json(&role, expires);
    cli_creds_free(&role);
    return 0;
}

int cmd_creds(int argc, char **argv) {
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
        return creds_usage(stdout, 0);
    assume_opts o;
    if (argc < 2 || strcmp(argv[1], "assume-role") != 0 || !assume_parse(argc, argv, &o))
        return creds_usage(stderr, 2);
    return assume_role(&o);
}
