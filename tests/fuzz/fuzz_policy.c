/* fuzz_policy.c — libFuzzer target for the policy engine: the input is parsed as
 * an identity policy and as a resource policy; whatever parses is evaluated in
 * every slot (identity, session, resource) for a few fixed callers and a
 * context that exercises variables, multi-valued keys, IPs and dates, and is
 * asked policy_is_public. Nothing may crash, leak or trip a sanitizer. */
#include <stddef.h>
#include <stdint.h>

#include "iam/policy.h"

#define ACCT "111122223333"

static const policy_principal CALLERS[] = {
    {PRINCIPAL_USER, ACCT, "arn:aws:iam::" ACCT ":user/Alice", "AIDAALICE", "Alice", NULL},
    {PRINCIPAL_ASSUMED_ROLE, "444455556666", "arn:aws:sts::444455556666:assumed-role/R/s",
     "AROAR:s", NULL, "arn:aws:iam::444455556666:role/R"},
    {PRINCIPAL_ROOT, ACCT, "arn:aws:iam::" ACCT ":root", ACCT, NULL, NULL},
    {PRINCIPAL_ANONYMOUS, NULL, NULL, NULL, NULL, NULL},
};

static policy_ctx *make_ctx(const policy_principal *p) {
    policy_ctx *c = policy_ctx_new();
    policy_ctx_add_principal(c, p);
    policy_ctx_add(c, "aws:SourceIp", "203.0.113.7");
    policy_ctx_add(c, "aws:CurrentTime", "2024-05-01T12:00:00Z");
    policy_ctx_add(c, "aws:EpochTime", "1714564800");
    policy_ctx_add(c, "aws:SecureTransport", "true");
    policy_ctx_add(c, "aws:TagKeys", "environment");
    policy_ctx_add(c, "aws:TagKeys", "owner");
    policy_ctx_add(c, "s3:prefix", "Alice/*?${x}");
    policy_ctx_add(c, "s3:max-keys", "10");
    policy_ctx_add(c, "aws:SourceArn", "arn:aws:sns:us-east-1:" ACCT ":topic:a:b");
    policy_ctx_add(c, "key:Bin", "QmluYXJ5");
    return c;
}

static void evaluate_all(const policy *p, policy_kind kind) {
    const policy *list[1] = {p};
    for (size_t i = 0; i < sizeof CALLERS / sizeof CALLERS[0]; i++) {
        policy_ctx *ctx = make_ctx(&CALLERS[i]);
        policy_request r = {
            .principal = &CALLERS[i],
            .action = i % 2 ? "sts:AssumeRole" : "s3:GetObject",
            .resource = "arn:aws:s3:::bucket/Alice/photo*.jpg",
            .resource_account = ACCT,
            .ctx = i == 2 ? NULL : ctx,
        };
        if (kind == POLICY_IDENTITY) {
            r.identity = list, r.n_identity = 1;
            (void)policy_evaluate(&r);
            r.session = list, r.n_session = 1;
        } else {
            r.resource_policy = p;
        }
        (void)policy_evaluate(&r);
        policy_ctx_free(ctx);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const policy_kind KINDS[] = {POLICY_IDENTITY, POLICY_RESOURCE};
    log_set_level(LOG_ERROR); /* unsupported condition keys are warned about: not here */
    for (size_t k = 0; k < 2; k++) {
        policy *p = NULL;
        char err[256];
        if (policy_parse(slice_of(data, size), KINDS[k], &p, err, sizeof err) != CL_OK) continue;
        evaluate_all(p, KINDS[k]);
        (void)policy_is_public(p);
        policy_free(p);
    }
    return 0;
}
