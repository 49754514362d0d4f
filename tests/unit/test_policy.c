/* test_policy.c — table tests for the IAM policy engine (src/iam/policy.h).
 *
 * Four tables, each row its own cmocka test (named after the row):
 *   EVAL      policies + principal + action + resource + context -> decision;
 *             rows cite the AWS document the policy comes from;
 *   MALFORMED documents that must be rejected, with a substring of the message;
 *   PUBLIC    resource policies and whether Block Public Access calls them public;
 *   WILDCARD  policy_wildcard_match.
 * Policies are written with single quotes for readability and turned into JSON
 * by json_of ('\'' -> '"'; a backslash keeps a literal single quote). Every
 * row is built so that it flips if the feature it names breaks: an explicit
 * deny row also has an allow that would otherwise win, an implicit deny row
 * misses an allow by exactly the feature under test. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iam/policy.h"

#define A "111122223333"
#define B "444455556666"

/* ---- principals ---- */
typedef enum { ALICE, DAVID, BOB, CAROL, SESS, SESS_B, ROOT_A, ANON } who;

static const policy_principal PRINCIPALS[] = {
    [ALICE] = {PRINCIPAL_USER, A, "arn:aws:iam::" A ":user/Alice", "AIDAALICEEXAMPLE", "Alice",
               NULL},
    [DAVID] = {PRINCIPAL_USER, A, "arn:aws:iam::" A ":user/David", "AIDADAVIDEXAMPLE", "David",
               NULL},
    [BOB] = {PRINCIPAL_USER, B, "arn:aws:iam::" B ":user/Bob", "AIDABOBEXAMPLE", "Bob", NULL},
    [CAROL] = {PRINCIPAL_USER, B, "arn:aws:iam::" B ":user/Carol", "AIDACAROLEXAMPLE", "Carol",
               NULL},
    [SESS] = {PRINCIPAL_ASSUMED_ROLE, A, "arn:aws:sts::" A ":assumed-role/Auditor/s1",
              "AROAAUDITOR:s1", NULL, "arn:aws:iam::" A ":role/Auditor"},
    [SESS_B] = {PRINCIPAL_ASSUMED_ROLE, B,
                "arn:aws:sts::" B
                ":assumed-role/cross-account-read-only-role/cross-account-audit-app",
                "AROAXAUDIT:cross-account-audit-app", NULL,
                "arn:aws:iam::" B ":role/cross-account-read-only-role"},
    [ROOT_A] = {PRINCIPAL_ROOT, A, "arn:aws:iam::" A ":root", A, NULL, NULL},
    [ANON] = {PRINCIPAL_ANONYMOUS, NULL, NULL, NULL, NULL, NULL},
};

/* ---- policies used by several rows ---- */
/* IAM UG, "Amazon S3: Allows read and write access to objects in an S3 Bucket" */
#define S3_BUCKET_RW                                                                               \
    "{'Version':'2012-10-17','Statement':["                                                        \
    "{'Sid':'ListObjectsInBucket','Effect':'Allow','Action':['s3:ListBucket'],"                    \
    "'Resource':['arn:aws:s3:::amzn-s3-demo-bucket']},"                                            \
    "{'Sid':'AllObjectActions','Effect':'Allow','Action':['s3:PutObject','s3:GetObject','s3:"      \
    "DeleteObject'],"                                                                              \
    "'Resource':['arn:aws:s3:::amzn-s3-demo-bucket/*']}]}"
#define OBJ "arn:aws:s3:::amzn-s3-demo-bucket/photos/cat.jpg"
#define BUCKET "arn:aws:s3:::amzn-s3-demo-bucket"

/* IAM UG, "Policy variables": each user's home directory in mybucket */
#define HOME_DIR(ver)                                                                              \
    "{'Version':'" ver "','Statement':["                                                           \
    "{'Action':['s3:ListBucket'],'Effect':'Allow','Resource':['arn:aws:s3:::mybucket'],"           \
    "'Condition':{'StringLike':{'s3:prefix':['${aws:username}/*']}}},"                             \
    "{'Action':['s3:GetObject','s3:PutObject'],'Effect':'Allow',"                                  \
    "'Resource':['arn:aws:s3:::mybucket/${aws:username}/*']}]}"

/* IAM UG, "IAM: Allows IAM users to manage their own access keys" (${aws:username}) */
#define OWN_KEYS                                                                                   \
    "{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':['iam:CreateAccessKey',"       \
    "'iam:DeleteAccessKey','iam:ListAccessKeys','iam:UpdateAccessKey'],"                           \
    "'Resource':'arn:aws:iam::*:user/${aws:username}'}}"

/* IAM UG, "AWS: Denies access to AWS based on the source IP" */
#define SOURCE_IP_DENY                                                                             \
    "{'Version':'2012-10-17','Statement':[{'Effect':'Allow','Action':'*','Resource':'*'},"         \
    "{'Effect':'Deny','Action':'*','Resource':'*','Condition':{"                                   \
    "'NotIpAddress':{'aws:SourceIp':['192.0.2.0/24','203.0.113.0/24']},"                           \
    "'Bool':{'aws:ViaAWSService':'false'}}}]}"

/* IAM UG, "IAM JSON policy elements: Condition operators", IP address example */
#define SOURCE_IP_V6                                                                               \
    "{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'s3:*','Resource':'*',"        \
    "'Condition':{'IpAddress':{'aws:SourceIp':['203.0.113.0/24','2001:DB8:1234:5678::/64']}}}}"

/* IAM UG, "Configuring MFA-protected API access": Bool aws:MultiFactorAuthPresent */
#define MFA_ALLOW                                                                                  \
    "{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'ec2:*','Resource':'*',"       \
    "'Condition':{'Bool':{'aws:MultiFactorAuthPresent':true}}}}"

/* IAM UG, "AWS: Allows MFA-authenticated IAM users to manage their own MFA device":
 * Deny + NotAction + BoolIfExists */
#define MFA_DENY                                                                                   \
    "{'Version':'2012-10-17','Statement':[{'Effect':'Allow','Action':'iam:*','Resource':'*'},"     \
    "{'Sid':'BlockMostAccessUnlessSignedInWithMFA','Effect':'Deny','NotAction':["                  \
    "'iam:CreateVirtualMFADevice','iam:EnableMFADevice','iam:ListMFADevices','iam:GetUser'],"      \
    "'Resource':'*','Condition':{'BoolIfExists':{'aws:MultiFactorAuthPresent':'false'}}}]}"

/* IAM UG, "AWS: Allows access based on date and time" */
#define DATES                                                                                      \
    "{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'ec2:DescribeInstances',"      \
    "'Resource':'*','Condition':{'DateGreaterThan':{'aws:CurrentTime':'2020-04-01T00:00:00Z'},"    \
    "'DateLessThan':{'aws:CurrentTime':'2020-06-30T23:59:59Z'}}}}"

/* IAM UG, "AWS: Denies access to AWS based on the requested Region" (NotAction + Deny) */
#define REGION_DENY                                                                                \
    "{'Version':'2012-10-17','Statement':[{'Effect':'Allow','Action':'*','Resource':'*'},"         \
    "{'Sid':'DenyAllOutsideRequestedRegions','Effect':'Deny','NotAction':['cloudfront:*','iam:*'," \
    "'route53:*','support:*'],'Resource':'*','Condition':{'StringNotEquals':{"                     \
    "'aws:RequestedRegion':['eu-central-1','eu-west-1']}}}]}"

/* S3 UG, bucket policy examples: "limit the maximum number of keys" (s3:max-keys) */
#define MAX_KEYS                                                                                   \
    "{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'s3:ListBucket',"              \
    "'Resource':'" BUCKET "','Condition':{'NumericLessThanEquals':{'s3:max-keys':'10'}}}}"

/* IAM UG, "Set operators for multivalued context keys": aws:TagKeys */
#define TAGKEYS(setop)                                                                             \
    "{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'ec2:CreateTags','Resource':'" \
    "*',"                                                                                          \
    "'Condition':{'" setop ":StringEquals':{'aws:TagKeys':['environment','cost-center']}}}}"

/* S3 UG, "Enforce encryption in transit": Deny Principal "*" when aws:SecureTransport is false */
#define TLS_ONLY                                                                                   \
    "{'Version':'2012-10-17','Statement':{'Sid':'RestrictToTLSRequestsOnly','Effect':'Deny',"      \
    "'Principal':'*','Action':'s3:*','Resource':['" BUCKET "','" BUCKET "/*'],"                    \
    "'Condition':{'Bool':{'aws:SecureTransport':'false'}}}}"

/* S3 UG, "Granting read-only permission to a public anonymous user" */
#define PUBLIC_READ(prin)                                                                          \
    "{'Version':'2012-10-17','Statement':[{'Sid':'PublicRead','Effect':'Allow','Principal':" prin  \
    ","                                                                                            \
    "'Action':['s3:GetObject','s3:GetObjectVersion'],'Resource':['" BUCKET "/*']}]}"

/* S3 UG, "Bucket owner granting cross-account bucket permissions" (account root as principal) */
#define XACCT_BUCKET(prin)                                                                         \
    "{'Version':'2012-10-17','Statement':{'Sid':'Example permissions','Effect':'Allow',"           \
    "'Principal':{'AWS':'" prin "'},'Action':['s3:GetObject','s3:ListBucket'],"                    \
    "'Resource':['" BUCKET "','" BUCKET "/*']}}"

#define ALLOW_S3_GET                                                                               \
    "{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'s3:GetObject','Resource':'*'" \
    "}}"
#define ALLOW_S3_ALL                                                                               \
    "{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'s3:*','Resource':'*'}}"
#define ALLOW_ASSUME(role)                                                                         \
    "{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'sts:AssumeRole','Resource':"  \
    "'" role "'}}"
#define ROLE_A "arn:aws:iam::" A ":role/Auditor"

/* IAM UG, "How to use trust policies with IAM roles" / "Providing access to an IAM user in
 * another AWS account that you own" */
#define TRUST(prin)                                                                                \
    "{'Version':'2012-10-17','Statement':{'Effect':'Allow','Principal':{'AWS':" prin "},"          \
    "'Action':'sts:AssumeRole'}}"

/* IAM UG, "IAM JSON policy elements: NotPrincipal", examples with Deny */
#define NOTPRIN_DENY(list)                                                                         \
    "{'Version':'2012-10-17','Statement':[{'Effect':'Deny','NotPrincipal':{'AWS':[" list "]},"     \
    "'Action':'s3:*','Resource':['" BUCKET "','" BUCKET "/*']},"                                   \
    "{'Effect':'Allow','Principal':{'AWS':'" B "'},'Action':'s3:*','Resource':['" BUCKET "/*']}]}"

#define SESSION_GET_ONLY                                                                           \
    "{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'s3:GetObject','Resource':'*'" \
    "}}"

/* ---- the evaluation table ---- */
typedef struct {
    const char *name;
    const char *identity[3];
    const char *session;
    const char *resource_policy;
    who principal;
    const char *action;
    const char *resource;
    const char *resource_account; /* NULL: the principal's account */
    const char *ctx[6];           /* "key=value"; a key repeated is multi-valued */
    policy_decision want;
    bool null_ctx; /* pass ctx = NULL: principal keys come from the principal */
} eval_case;

#define ID(...) .identity = {__VA_ARGS__}
#define CTX(...) .ctx = {__VA_ARGS__}
#define ALLOW POLICY_ALLOW
#define IMPLICIT POLICY_DENY_IMPLICIT
#define EXPLICIT POLICY_DENY_EXPLICIT

#define BOUND_GRANT(prin)                                                                          \
    "{'Version':'2012-10-17','Statement':{'Effect':'Allow','Principal':{'AWS':[" prin "]},"        \
    "'Action':'s3:GetObject','Resource':'*'}}"

static const eval_case EVAL[] = {
    /* identity policies, actions and resources */
    {"s3-bucket-rw: ListBucket on the bucket (IAM UG S3 read/write example)", ID(S3_BUCKET_RW),
     .principal = ALICE, .action = "s3:ListBucket", .resource = BUCKET, .want = ALLOW},
    {"s3-bucket-rw: GetObject on an object", ID(S3_BUCKET_RW), .principal = ALICE,
     .action = "s3:GetObject", .resource = OBJ, .want = ALLOW},
    {"s3-bucket-rw: GetObject in another bucket", ID(S3_BUCKET_RW), .principal = ALICE,
     .action = "s3:GetObject", .resource = "arn:aws:s3:::other-bucket/photos/cat.jpg",
     .want = IMPLICIT},
    {"s3-bucket-rw: ListBucket on an object ARN is not the bucket", ID(S3_BUCKET_RW),
     .principal = ALICE, .action = "s3:ListBucket", .resource = OBJ, .want = IMPLICIT},
    {"s3-bucket-rw: action names are case-insensitive", ID(S3_BUCKET_RW), .principal = ALICE,
     .action = "S3:getobject", .resource = OBJ, .want = ALLOW},
    {"s3-bucket-rw: resource ARNs are case-sensitive", ID(S3_BUCKET_RW), .principal = ALICE,
     .action = "s3:GetObject", .resource = "arn:aws:s3:::AMZN-S3-DEMO-BUCKET/photos/cat.jpg",
     .want = IMPLICIT},
    {"s3-bucket-rw: action not listed", ID(S3_BUCKET_RW), .principal = ALICE,
     .action = "s3:PutBucketPolicy", .resource = BUCKET, .want = IMPLICIT},
    {"Action wildcard s3:Get* (IAM UG Action element)",
     ID("{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'s3:Get*','Resource':'*'}"
        "}"),
     .principal = ALICE, .action = "s3:GetObjectVersion", .resource = OBJ, .want = ALLOW},
    {"Action wildcard s3:Get* does not cover PutObject",
     ID("{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'s3:Get*','Resource':'*'}"
        "}"),
     .principal = ALICE, .action = "s3:PutObject", .resource = OBJ, .want = IMPLICIT},
    {"Resource '?' wildcard matches one character (IAM UG Resource element)",
     ID("{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'s3:*','Resource':'arn:aws:"
        "s3:::logs-202?/*'}}"),
     .principal = ALICE, .action = "s3:GetObject", .resource = "arn:aws:s3:::logs-2023/a",
     .want = ALLOW},
    {"Resource '?' wildcard does not match two characters",
     ID("{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'s3:*','Resource':'arn:aws:"
        "s3:::logs-202?/*'}}"),
     .principal = ALICE, .action = "s3:GetObject", .resource = "arn:aws:s3:::logs-20234/a",
     .want = IMPLICIT},
    {"NotResource: allow all but one bucket (IAM UG NotResource element)",
     ID("{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'s3:*',"
        "'NotResource':['arn:aws:s3:::HRBucket/Payroll','arn:aws:s3:::HRBucket/Payroll/*']}}"),
     .principal = ALICE, .action = "s3:GetObject", .resource = "arn:aws:s3:::HRBucket/Public/x",
     .want = ALLOW},
    {"NotResource: the excluded bucket is not allowed",
     ID("{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'s3:*',"
        "'NotResource':['arn:aws:s3:::HRBucket/Payroll','arn:aws:s3:::HRBucket/Payroll/*']}}"),
     .principal = ALICE, .action = "s3:GetObject", .resource = "arn:aws:s3:::HRBucket/Payroll/x",
     .want = IMPLICIT},

    /* policy variables */
    {"home dir: ${aws:username} in Resource (IAM UG policy variables)", ID(HOME_DIR("2012-10-17")),
     .principal = ALICE, .action = "s3:GetObject",
     .resource = "arn:aws:s3:::mybucket/Alice/notes.txt", .want = ALLOW},
    {"home dir: another user's folder", ID(HOME_DIR("2012-10-17")), .principal = ALICE,
     .action = "s3:GetObject", .resource = "arn:aws:s3:::mybucket/David/notes.txt",
     .want = IMPLICIT},
    {"home dir: Version 2008-10-17 takes ${...} literally", ID(HOME_DIR("2008-10-17")),
     .principal = ALICE, .action = "s3:GetObject",
     .resource = "arn:aws:s3:::mybucket/Alice/notes.txt", .want = IMPLICIT},
    {"home dir: a role session has no aws:username, so the Resource matches nothing",
     ID(HOME_DIR("2012-10-17")), .principal = SESS, .action = "s3:GetObject",
     .resource = "arn:aws:s3:::mybucket/Alice/notes.txt", .want = IMPLICIT},
    {"home dir: StringLike s3:prefix ${aws:username}/*", ID(HOME_DIR("2012-10-17")),
     .principal = ALICE, .action = "s3:ListBucket", .resource = "arn:aws:s3:::mybucket",
     CTX("s3:prefix=Alice/photos/"), .want = ALLOW},
    {"home dir: StringLike s3:prefix of another user", ID(HOME_DIR("2012-10-17")),
     .principal = ALICE, .action = "s3:ListBucket", .resource = "arn:aws:s3:::mybucket",
     CTX("s3:prefix=David/"), .want = IMPLICIT},
    {"own access keys: iam:CreateAccessKey on user/${aws:username} (IAM UG)", ID(OWN_KEYS),
     .principal = ALICE, .action = "iam:CreateAccessKey",
     .resource = "arn:aws:iam::" A ":user/Alice", .want = ALLOW},
    {"own access keys: not for another user", ID(OWN_KEYS), .principal = ALICE,
     .action = "iam:CreateAccessKey", .resource = "arn:aws:iam::" A ":user/David",
     .want = IMPLICIT},
    {"SQS queue per user: ${aws:username}-queue (IAM UG policy variables)",
     ID("{'Version':'2012-10-17','Statement':{'Sid':'AllQueueActions','Effect':'Allow','Action':'"
        "sqs:*',"
        "'Resource':'arn:aws:sqs:us-east-2:*:${aws:username}-queue'}}"),
     .principal = ALICE, .action = "sqs:SendMessage",
     .resource = "arn:aws:sqs:us-east-2:" A ":Alice-queue", .want = ALLOW},
    {"default value ${aws:username, 'shared'} when the key is absent (IAM UG default values)",
     ID("{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'s3:GetObject',"
        "'Resource':'arn:aws:s3:::mybucket/${aws:username, \\'shared\\'}/*'}}"),
     .principal = SESS, .action = "s3:GetObject", .resource = "arn:aws:s3:::mybucket/shared/a.txt",
     .want = ALLOW},
    {"${*} is a literal asterisk (IAM UG special characters)",
     ID("{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'s3:GetObject',"
        "'Resource':'arn:aws:s3:::mybucket/literal${*}star'}}"),
     .principal = ALICE, .action = "s3:GetObject", .resource = "arn:aws:s3:::mybucket/literalXstar",
     .want = IMPLICIT},
    {"${*} matches an asterisk in the resource",
     ID("{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'s3:GetObject',"
        "'Resource':'arn:aws:s3:::mybucket/literal${*}star'}}"),
     .principal = ALICE, .action = "s3:GetObject", .resource = "arn:aws:s3:::mybucket/literal*star",
     .want = ALLOW},
    {"a substituted value is literal: a tag value '*' is no wildcard",
     ID("{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'s3:GetObject',"
        "'Resource':'arn:aws:s3:::team-${aws:PrincipalTag/team}/*'}}"),
     .principal = ALICE, .action = "s3:GetObject", .resource = "arn:aws:s3:::team-red/a",
     CTX("aws:PrincipalTag/team=*"), .want = IMPLICIT},
    {"${aws:PrincipalTag/department} in Resource (IAM UG tags as policy variables)",
     ID("{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'s3:GetObject',"
        "'Resource':['arn:aws:s3:::bucket/${aws:PrincipalTag/department}']}}"),
     .principal = ALICE, .action = "s3:GetObject", .resource = "arn:aws:s3:::bucket/finance",
     CTX("aws:PrincipalTag/department=finance"), .want = ALLOW},

    /* condition operators */
    {"source IP deny: inside the allowed range (IAM UG deny by source IP)", ID(SOURCE_IP_DENY),
     .principal = ALICE, .action = "ec2:RunInstances", .resource = "*",
     CTX("aws:SourceIp=192.0.2.10", "aws:ViaAWSService=false"), .want = ALLOW},
    {"source IP deny: outside the ranges", ID(SOURCE_IP_DENY), .principal = ALICE,
     .action = "ec2:RunInstances", .resource = "*",
     CTX("aws:SourceIp=198.51.100.7", "aws:ViaAWSService=false"), .want = EXPLICIT},
    {"source IP deny: operators are ANDed (ViaAWSService true)", ID(SOURCE_IP_DENY),
     .principal = ALICE, .action = "ec2:RunInstances", .resource = "*",
     CTX("aws:SourceIp=198.51.100.7", "aws:ViaAWSService=true"), .want = ALLOW},
    {"IpAddress IPv6 /64 (IAM UG condition operators)", ID(SOURCE_IP_V6), .principal = ALICE,
     .action = "s3:GetObject", .resource = OBJ, CTX("aws:SourceIp=2001:db8:1234:5678::1"),
     .want = ALLOW},
    {"IpAddress IPv6 outside the /64", ID(SOURCE_IP_V6), .principal = ALICE,
     .action = "s3:GetObject", .resource = OBJ, CTX("aws:SourceIp=2001:db8:1234:9999::1"),
     .want = IMPLICIT},
    {"IpAddress IPv4-mapped IPv6 source matches the IPv4 range", ID(SOURCE_IP_V6),
     .principal = ALICE, .action = "s3:GetObject", .resource = OBJ,
     CTX("aws:SourceIp=::ffff:203.0.113.5"), .want = ALLOW},
    {"condition keys are case-insensitive (IAM UG condition keys)",
     ID("{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'s3:*','Resource':'*',"
        "'Condition':{'IpAddress':{'AWS:SOURCEIP':'203.0.113.0/24'}}}}"),
     .principal = ALICE, .action = "s3:GetObject", .resource = OBJ, CTX("aws:sourceip=203.0.113.9"),
     .want = ALLOW},
    {"MFA Bool true (IAM UG MFA-protected API access)", ID(MFA_ALLOW), .principal = ALICE,
     .action = "ec2:StopInstances", .resource = "*", CTX("aws:MultiFactorAuthPresent=true"),
     .want = ALLOW},
    {"MFA Bool: key absent with long-term keys", ID(MFA_ALLOW), .principal = ALICE,
     .action = "ec2:StopInstances", .resource = "*", .want = IMPLICIT},
    {"MFA BoolIfExists deny: key absent means deny (IAM UG manage own MFA)", ID(MFA_DENY),
     .principal = ALICE, .action = "iam:CreateUser", .resource = "*", .want = EXPLICIT},
    {"MFA BoolIfExists deny: signed in with MFA", ID(MFA_DENY), .principal = ALICE,
     .action = "iam:CreateUser", .resource = "*", CTX("aws:MultiFactorAuthPresent=true"),
     .want = ALLOW},
    {"MFA deny NotAction: enabling MFA stays allowed without MFA", ID(MFA_DENY), .principal = ALICE,
     .action = "iam:EnableMFADevice", .resource = "*", .want = ALLOW},
    {"DateGreaterThan/DateLessThan aws:CurrentTime inside (IAM UG date and time)", ID(DATES),
     .principal = ALICE, .action = "ec2:DescribeInstances", .resource = "*",
     CTX("aws:CurrentTime=2020-05-01T12:00:00Z"), .want = ALLOW},
    {"DateLessThan aws:CurrentTime after the window", ID(DATES), .principal = ALICE,
     .action = "ec2:DescribeInstances", .resource = "*",
     CTX("aws:CurrentTime=2020-07-01T00:00:00Z"), .want = IMPLICIT},
    {"DateLessThan with epoch seconds (aws:EpochTime)",
     ID("{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'s3:*','Resource':'*',"
        "'Condition':{'DateLessThan':{'aws:EpochTime':'1609459200'}}}}"),
     .principal = ALICE, .action = "s3:GetObject", .resource = OBJ, CTX("aws:EpochTime=1600000000"),
     .want = ALLOW},
    {"DateEquals across time zone offsets",
     ID("{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'s3:*','Resource':'*',"
        "'Condition':{'DateEquals':{'aws:CurrentTime':'2020-05-01T10:00:00+02:00'}}}}"),
     .principal = ALICE, .action = "s3:GetObject", .resource = OBJ,
     CTX("aws:CurrentTime=2020-05-01T08:00:00Z"), .want = ALLOW},
    {"requested Region deny: us-east-1 is denied (IAM UG deny by Region)", ID(REGION_DENY),
     .principal = ALICE, .action = "ec2:RunInstances", .resource = "*",
     CTX("aws:RequestedRegion=us-east-1"), .want = EXPLICIT},
    {"requested Region deny: eu-west-1 is allowed", ID(REGION_DENY), .principal = ALICE,
     .action = "ec2:RunInstances", .resource = "*", CTX("aws:RequestedRegion=eu-west-1"),
     .want = ALLOW},
    {"requested Region deny: NotAction leaves iam:* out of the Deny", ID(REGION_DENY),
     .principal = ALICE, .action = "iam:CreateUser", .resource = "*",
     CTX("aws:RequestedRegion=us-east-1"), .want = ALLOW},
    {"NumericLessThanEquals s3:max-keys 10 (S3 UG bucket policy examples)", ID(MAX_KEYS),
     .principal = ALICE, .action = "s3:ListBucket", .resource = BUCKET, CTX("s3:max-keys=10"),
     .want = ALLOW},
    {"NumericLessThanEquals s3:max-keys 11", ID(MAX_KEYS), .principal = ALICE,
     .action = "s3:ListBucket", .resource = BUCKET, CTX("s3:max-keys=11"), .want = IMPLICIT},
    {"NumericLessThan with a JSON number (aws:MultiFactorAuthAge 3600)",
     ID("{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'ec2:*','Resource':'*',"
        "'Condition':{'NumericLessThan':{'aws:MultiFactorAuthAge':3600}}}}"),
     .principal = ALICE, .action = "ec2:StopInstances", .resource = "*",
     CTX("aws:MultiFactorAuthAge=300"), .want = ALLOW},
    {"StringEqualsIgnoreCase on a principal tag (IAM UG string operators)",
     ID("{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'iam:*AccessKey*','"
        "Resource':'*',"
        "'Condition':{'StringEqualsIgnoreCase':{'aws:PrincipalTag/"
        "job-category':'IAMUser-Admin'}}}}"),
     .principal = ALICE, .action = "iam:ListAccessKeys", .resource = "*",
     CTX("aws:PrincipalTag/job-category=iamuser-admin"), .want = ALLOW},
    {"StringEquals is case-sensitive",
     ID("{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'iam:*AccessKey*','"
        "Resource':'*',"
        "'Condition':{'StringEquals':{'aws:PrincipalTag/job-category':'IAMUser-Admin'}}}}"),
     .principal = ALICE, .action = "iam:ListAccessKeys", .resource = "*",
     CTX("aws:PrincipalTag/job-category=iamuser-admin"), .want = IMPLICIT},
    {"StringLike with wildcards on aws:UserAgent",
     ID("{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'s3:*','Resource':'*',"
        "'Condition':{'StringLike':{'aws:UserAgent':'*aws-cli/2.*'}}}}"),
     .principal = ALICE, .action = "s3:GetObject", .resource = OBJ,
     CTX("aws:UserAgent=aws-cli/2.13.0 Python/3.11"), .want = ALLOW},
    {"StringLikeIfExists ec2:InstanceType: key absent (IAM UG IfExists)",
     ID("{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'ec2:*','Resource':'*',"
        "'Condition':{'StringLikeIfExists':{'ec2:InstanceType':['t1.*','t2.*','m3.*']}}}}"),
     .principal = ALICE, .action = "ec2:DescribeInstances", .resource = "*", .want = ALLOW},
    {"StringLikeIfExists ec2:InstanceType: a type not listed",
     ID("{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'ec2:*','Resource':'*',"
        "'Condition':{'StringLikeIfExists':{'ec2:InstanceType':['t1.*','t2.*','m3.*']}}}}"),
     .principal = ALICE, .action = "ec2:RunInstances", .resource = "*",
     CTX("ec2:InstanceType=m5.large"), .want = IMPLICIT},
    {"Null true: deny uploads without the encryption header (S3 UG)",
     ID(ALLOW_S3_ALL, "{'Version':'2012-10-17','Statement':{'Effect':'Deny','Action':'s3:PutObject'"
                      ",'Resource':'*',"
                      "'Condition':{'Null':{'s3:x-amz-server-side-encryption':'true'}}}}"),
     .principal = ALICE, .action = "s3:PutObject", .resource = OBJ, .want = EXPLICIT},
    {"Null true: header present, upload allowed",
     ID(ALLOW_S3_ALL, "{'Version':'2012-10-17','Statement':{'Effect':'Deny','Action':'s3:PutObject'"
                      ",'Resource':'*',"
                      "'Condition':{'Null':{'s3:x-amz-server-side-encryption':'true'}}}}"),
     .principal = ALICE, .action = "s3:PutObject", .resource = OBJ,
     CTX("s3:x-amz-server-side-encryption=aws:kms"), .want = ALLOW},
    {"Null false: only temporary credentials (aws:TokenIssueTime present)",
     ID("{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'s3:*','Resource':'*',"
        "'Condition':{'Null':{'aws:TokenIssueTime':'false'}}}}"),
     .principal = ALICE, .action = "s3:GetObject", .resource = OBJ, .want = IMPLICIT},
    {"Null false: a role session has aws:TokenIssueTime",
     ID("{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'s3:*','Resource':'*',"
        "'Condition':{'Null':{'aws:TokenIssueTime':'false'}}}}"),
     .principal = SESS, .action = "s3:GetObject", .resource = OBJ,
     CTX("aws:TokenIssueTime=2020-05-01T08:00:00Z"), .want = ALLOW},
    {"StringNotEquals with the key absent is true (IAM UG condition operators, S3 SSE-KMS deny)",
     ID(ALLOW_S3_ALL,
        "{'Version':'2012-10-17','Statement':{'Effect':'Deny','Action':'s3:PutObject','Resource':'*"
        "',"
        "'Condition':{'StringNotEquals':{'s3:x-amz-server-side-encryption':'aws:kms'}}}}"),
     .principal = ALICE, .action = "s3:PutObject", .resource = OBJ, .want = EXPLICIT},
    {"ForAnyValue:StringEquals aws:TagKeys: one listed key suffices (IAM UG set operators)",
     ID(TAGKEYS("ForAnyValue")), .principal = ALICE, .action = "ec2:CreateTags", .resource = "*",
     CTX("aws:TagKeys=owner", "aws:TagKeys=environment"), .want = ALLOW},
    {"ForAnyValue:StringEquals aws:TagKeys: no listed key", ID(TAGKEYS("ForAnyValue")),
     .principal = ALICE, .action = "ec2:CreateTags", .resource = "*", CTX("aws:TagKeys=owner"),
     .want = IMPLICIT},
    {"ForAnyValue:StringEquals aws:TagKeys: key absent is false", ID(TAGKEYS("ForAnyValue")),
     .principal = ALICE, .action = "ec2:CreateTags", .resource = "*", .want = IMPLICIT},
    {"ForAllValues:StringEquals aws:TagKeys: all keys listed", ID(TAGKEYS("ForAllValues")),
     .principal = ALICE, .action = "ec2:CreateTags", .resource = "*",
     CTX("aws:TagKeys=environment", "aws:TagKeys=cost-center"), .want = ALLOW},
    {"ForAllValues:StringEquals aws:TagKeys: one key not listed", ID(TAGKEYS("ForAllValues")),
     .principal = ALICE, .action = "ec2:CreateTags", .resource = "*",
     CTX("aws:TagKeys=environment", "aws:TagKeys=owner"), .want = IMPLICIT},
    {"ForAllValues:StringEquals aws:TagKeys: key absent is true (IAM UG warning)",
     ID(TAGKEYS("ForAllValues")), .principal = ALICE, .action = "ec2:CreateTags", .resource = "*",
     .want = ALLOW},
    {"multivalued key without qualifier: any value matches a positive operator",
     ID("{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'ec2:*','Resource':'*',"
        "'Condition':{'StringEquals':{'aws:TagKeys':'environment'}}}}"),
     .principal = ALICE, .action = "ec2:CreateTags", .resource = "*",
     CTX("aws:TagKeys=owner", "aws:TagKeys=environment"), .want = ALLOW},
    {"negated operator, several policy values: NOR (IAM UG multiple values)",
     ID(ALLOW_S3_ALL,
        "{'Version':'2012-10-17','Statement':{'Effect':'Deny','Action':'s3:*','Resource':'*',"
        "'Condition':{'StringNotEquals':{'aws:PrincipalTag/team':['red','blue']}}}}"),
     .principal = ALICE, .action = "s3:GetObject", .resource = OBJ,
     CTX("aws:PrincipalTag/team=blue"), .want = ALLOW},
    {"negated operator: a value in neither list is denied",
     ID(ALLOW_S3_ALL,
        "{'Version':'2012-10-17','Statement':{'Effect':'Deny','Action':'s3:*','Resource':'*',"
        "'Condition':{'StringNotEquals':{'aws:PrincipalTag/team':['red','blue']}}}}"),
     .principal = ALICE, .action = "s3:GetObject", .resource = OBJ,
     CTX("aws:PrincipalTag/team=green"), .want = EXPLICIT},
    {"ArnLike aws:SourceArn with wildcards in parts (IAM UG ARN operators)",
     ID("{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'sqs:SendMessage','"
        "Resource':'*',"
        "'Condition':{'ArnLike':{'aws:SourceArn':'arn:aws:sns:*:" A ":topic-*'}}}}"),
     .principal = ALICE, .action = "sqs:SendMessage", .resource = "arn:aws:sqs:us-east-1:" A ":q",
     CTX("aws:SourceArn=arn:aws:sns:us-east-1:" A ":topic-orders"), .want = ALLOW},
    {"ArnLike compares the six parts separately: '*' does not cross into the account",
     ID("{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'sqs:SendMessage','"
        "Resource':'*',"
        "'Condition':{'ArnLike':{'aws:SourceArn':'arn:aws:sns:*:" A ":*'}}}}"),
     .principal = ALICE, .action = "sqs:SendMessage", .resource = "arn:aws:sqs:us-east-1:" A ":q",
     CTX("aws:SourceArn=arn:aws:sns:us-east-1:999999999999:" A ":x"), .want = IMPLICIT},
    {"ArnNotEquals aws:PrincipalArn: a session's PrincipalArn is its role ARN",
     ID(ALLOW_S3_ALL, "{'Version':'2012-10-17','Statement':{'Effect':'Deny','Action':'s3:"
                      "DeleteBucket','Resource':'*',"
                      "'Condition':{'ArnNotEquals':{'aws:PrincipalArn':'" ROLE_A "'}}}}"),
     .principal = SESS, .action = "s3:DeleteBucket", .resource = BUCKET, .want = ALLOW},
    {"ArnNotEquals aws:PrincipalArn: another principal is denied",
     ID(ALLOW_S3_ALL, "{'Version':'2012-10-17','Statement':{'Effect':'Deny','Action':'s3:"
                      "DeleteBucket','Resource':'*',"
                      "'Condition':{'ArnNotEquals':{'aws:PrincipalArn':'" ROLE_A "'}}}}"),
     .principal = ALICE, .action = "s3:DeleteBucket", .resource = BUCKET, .want = EXPLICIT},
    {"BinaryEquals compares base64 values (IAM UG binary operator)",
     ID("{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'s3:*','Resource':'*',"
        "'Condition':{'BinaryEquals':{'key:Name':'QmluYXJ5VmFsdWVJbkJhc2U2NA=='}}}}"),
     .principal = ALICE, .action = "s3:GetObject", .resource = OBJ,
     CTX("key:Name=QmluYXJ5VmFsdWVJbkJhc2U2NA=="), .want = ALLOW},
    {"BinaryEquals: different bytes",
     ID("{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'s3:*','Resource':'*',"
        "'Condition':{'BinaryEquals':{'key:Name':'QmluYXJ5VmFsdWVJbkJhc2U2NA=='}}}}"),
     .principal = ALICE, .action = "s3:GetObject", .resource = OBJ,
     CTX("key:Name=T3RoZXJWYWx1ZQ=="), .want = IMPLICIT},
    {"principal keys without a ctx come from the principal (aws:PrincipalAccount)",
     ID("{'Version':'2012-10-17','Statement':{'Effect':'Allow','Action':'s3:*','Resource':'*',"
        "'Condition':{'StringEquals':{'aws:PrincipalAccount':'" A "'}}}}"),
     .principal = ALICE, .action = "s3:GetObject", .resource = OBJ, .want = ALLOW,
     .null_ctx = true},

    /* resource policies: same account */
    {"same account: bucket policy naming the user suffices (IAM UG evaluation logic)",
     .resource_policy = XACCT_BUCKET("arn:aws:iam::" A ":user/Alice"), .principal = ALICE,
     .action = "s3:GetObject", .resource = OBJ, .resource_account = A, .want = ALLOW},
    {"same account: bucket policy names someone else, no identity policy",
     .resource_policy = XACCT_BUCKET("arn:aws:iam::" A ":user/David"), .principal = ALICE,
     .action = "s3:GetObject", .resource = OBJ, .resource_account = A, .want = IMPLICIT},
    {"same account: identity policy alone suffices", ID(ALLOW_S3_GET),
     .resource_policy = XACCT_BUCKET("arn:aws:iam::" A ":user/David"), .principal = ALICE,
     .action = "s3:GetObject", .resource = OBJ, .resource_account = A, .want = ALLOW},
    {"same account: account root in the bucket policy delegates to IAM (no identity allow)",
     .resource_policy = XACCT_BUCKET("arn:aws:iam::" A ":root"), .principal = ALICE,
     .action = "s3:GetObject", .resource = OBJ, .resource_account = A, .want = IMPLICIT},
    {"same account: role ARN in the bucket policy matches the role's sessions",
     .resource_policy = XACCT_BUCKET(ROLE_A), .principal = SESS, .action = "s3:GetObject",
     .resource = OBJ, .resource_account = A, .want = ALLOW},
    {"explicit deny in the bucket policy beats the identity allow", ID(ALLOW_S3_ALL),
     .resource_policy = "{'Version':'2012-10-17','Statement':{'Effect':'Deny','Principal':'*',"
                        "'Action':'s3:DeleteObject','Resource':'" BUCKET "/*'}}",
     .principal = ALICE, .action = "s3:DeleteObject", .resource = OBJ, .resource_account = A,
     .want = EXPLICIT},
    {"explicit deny in the identity policy beats the bucket policy allow",
     ID("{'Version':'2012-10-17','Statement':{'Effect':'Deny','Action':'s3:GetObject','Resource':'*"
        "'}}"),
     .resource_policy = XACCT_BUCKET("arn:aws:iam::" A ":user/Alice"), .principal = ALICE,
     .action = "s3:GetObject", .resource = OBJ, .resource_account = A, .want = EXPLICIT},
    {"aws:SecureTransport false is denied to everyone (S3 UG TLS only)", ID(ALLOW_S3_ALL),
     .resource_policy = TLS_ONLY, .principal = ALICE, .action = "s3:GetObject", .resource = OBJ,
     .resource_account = A, CTX("aws:SecureTransport=false"), .want = EXPLICIT},
    {"aws:SecureTransport true passes", ID(ALLOW_S3_ALL), .resource_policy = TLS_ONLY,
     .principal = ALICE, .action = "s3:GetObject", .resource = OBJ, .resource_account = A,
     CTX("aws:SecureTransport=true"), .want = ALLOW},
    {"account root needs no identity policy in its own account", .principal = ROOT_A,
     .action = "s3:DeleteBucket", .resource = BUCKET, .resource_account = A, .want = ALLOW},
    {"account root is still bound by an explicit deny in a bucket policy",
     .resource_policy = TLS_ONLY, .principal = ROOT_A, .action = "s3:GetObject", .resource = OBJ,
     .resource_account = A, CTX("aws:SecureTransport=false"), .want = EXPLICIT},

    /* resource policies: cross account */
    {"cross account: bucket grants account B and Bob's identity allows (S3 UG cross-account)",
     ID(ALLOW_S3_GET), .resource_policy = XACCT_BUCKET(B), .principal = BOB,
     .action = "s3:GetObject", .resource = OBJ, .resource_account = A, .want = ALLOW},
    {"cross account: bucket grants account B, no identity allow",
     .resource_policy = XACCT_BUCKET(B), .principal = BOB, .action = "s3:GetObject",
     .resource = OBJ, .resource_account = A, .want = IMPLICIT},
    {"cross account: identity allow without a bucket policy", ID(ALLOW_S3_GET), .principal = BOB,
     .action = "s3:GetObject", .resource = OBJ, .resource_account = A, .want = IMPLICIT},
    {"cross account: bucket names Bob's ARN, still needs Bob's identity allow",
     .resource_policy = XACCT_BUCKET("arn:aws:iam::" B ":user/Bob"), .principal = BOB,
     .action = "s3:GetObject", .resource = OBJ, .resource_account = A, .want = IMPLICIT},
    {"cross account: bucket grants account A only, Bob is not in it", ID(ALLOW_S3_GET),
     .resource_policy = XACCT_BUCKET(A), .principal = BOB, .action = "s3:GetObject",
     .resource = OBJ, .resource_account = A, .want = IMPLICIT},
    {"cross account: aws:PrincipalOrgID condition on Principal '*' (IAM UG global keys)",
     ID(ALLOW_S3_GET),
     .resource_policy =
         "{'Version':'2012-10-17','Statement':{'Effect':'Allow','Principal':'*','Action':'s3:"
         "GetObject',"
         "'Resource':'" BUCKET
         "/*','Condition':{'StringEquals':{'aws:PrincipalOrgID':'o-exampleorgid'}}}}",
     .principal = BOB, .action = "s3:GetObject", .resource = OBJ, .resource_account = A,
     CTX("aws:PrincipalOrgID=o-exampleorgid"), .want = ALLOW},

    /* trust policies */
    {"trust policy names the account root: identity allow needed too (IAM UG roles)",
     .resource_policy = TRUST("'" A "'"), .principal = ALICE, .action = "sts:AssumeRole",
     .resource = ROLE_A, .resource_account = A, .want = IMPLICIT},
    {"trust policy names the account root: with identity allow", ID(ALLOW_ASSUME(ROLE_A)),
     .resource_policy = TRUST("'arn:aws:iam::" A ":root'"), .principal = ALICE,
     .action = "sts:AssumeRole", .resource = ROLE_A, .resource_account = A, .want = ALLOW},
    {"trust policy names the user directly: no identity policy needed",
     .resource_policy = TRUST("'arn:aws:iam::" A ":user/Alice'"), .principal = ALICE,
     .action = "sts:AssumeRole", .resource = ROLE_A, .resource_account = A, .want = ALLOW},
    {"trust policy must match: identity allow alone cannot assume a role", ID(ALLOW_ASSUME(ROLE_A)),
     .resource_policy = TRUST("'" B "'"), .principal = DAVID, .action = "sts:AssumeRole",
     .resource = ROLE_A, .resource_account = A, .want = IMPLICIT},
    {"cross-account role trust: account B trusted and Bob allowed (IAM UG cross-account access)",
     ID(ALLOW_ASSUME(ROLE_A)), .resource_policy = TRUST("'" B "'"), .principal = BOB,
     .action = "sts:AssumeRole", .resource = ROLE_A, .resource_account = A, .want = ALLOW},
    {"cross-account role trust: Bob without identity allow", .resource_policy = TRUST("['" B "']"),
     .principal = BOB, .action = "sts:AssumeRole", .resource = ROLE_A, .resource_account = A,
     .want = IMPLICIT},

    /* session policies */
    {"session policy narrows: PutObject allowed by the role but not the session (IAM UG session "
     "policies)",
     ID(ALLOW_S3_ALL), .session = SESSION_GET_ONLY, .principal = SESS, .action = "s3:PutObject",
     .resource = OBJ, .want = IMPLICIT},
    {"session policy narrows: GetObject allowed by both", ID(ALLOW_S3_ALL),
     .session = SESSION_GET_ONLY, .principal = SESS, .action = "s3:GetObject", .resource = OBJ,
     .want = ALLOW},
    {"session policy cannot grant what the role lacks", ID(ALLOW_S3_GET), .session = ALLOW_S3_ALL,
     .principal = SESS, .action = "s3:PutObject", .resource = OBJ, .want = IMPLICIT},
    {"resource policy naming the session ARN is not narrowed by the session policy",
     .session = SESSION_GET_ONLY,
     .resource_policy =
         "{'Version':'2012-10-17','Statement':{'Effect':'Allow','Principal':{'AWS':"
         "'arn:aws:sts::" A ":assumed-role/Auditor/s1'},'Action':'s3:PutObject','Resource':'" BUCKET
         "/*'}}",
     .principal = SESS, .action = "s3:PutObject", .resource = OBJ, .resource_account = A,
     .want = ALLOW},
    {"resource policy naming the role ARN is narrowed by the session policy",
     .session = SESSION_GET_ONLY,
     .resource_policy =
         "{'Version':'2012-10-17','Statement':{'Effect':'Allow','Principal':{'AWS':'" ROLE_A "'},"
         "'Action':'s3:PutObject','Resource':'" BUCKET "/*'}}",
     .principal = SESS, .action = "s3:PutObject", .resource = OBJ, .resource_account = A,
     .want = IMPLICIT},
    {"explicit deny in a session policy", ID(ALLOW_S3_ALL),
     .session =
         "{'Version':'2012-10-17','Statement':[{'Effect':'Allow','Action':'s3:*','Resource':'*'},"
         "{'Effect':'Deny','Action':'s3:DeleteObject','Resource':'*'}]}",
     .principal = SESS, .action = "s3:DeleteObject", .resource = OBJ, .want = EXPLICIT},

    /* anonymous */
    {"anonymous: Principal '*' public read (S3 UG anonymous read)",
     .resource_policy = PUBLIC_READ("'*'"), .principal = ANON, .action = "s3:GetObject",
     .resource = OBJ, .resource_account = A, .want = ALLOW},
    {"anonymous: Principal {'AWS':'*'} is public too",
     .resource_policy = PUBLIC_READ("{'AWS':'*'}"), .principal = ANON, .action = "s3:GetObject",
     .resource = OBJ, .resource_account = A, .want = ALLOW},
    {"anonymous: an account root principal does not cover anonymous",
     .resource_policy = XACCT_BUCKET(A), .principal = ANON, .action = "s3:GetObject",
     .resource = OBJ, .resource_account = A, .want = IMPLICIT},
    {"anonymous: a NotPrincipal Allow does not allow anonymous",
     .resource_policy =
         "{'Version':'2012-10-17','Statement':{'Effect':'Allow','NotPrincipal':{'AWS':'" B "'},"
         "'Action':'s3:GetObject','Resource':'" BUCKET "/*'}}",
     .principal = ANON, .action = "s3:GetObject", .resource = OBJ, .resource_account = A,
     .want = IMPLICIT},
    {"anonymous: identity policies never apply", ID(ALLOW_S3_ALL), .principal = ANON,
     .action = "s3:GetObject", .resource = OBJ, .resource_account = A, .want = IMPLICIT},
    {"Principal '*' does not spare a cross-account caller its identity allow",
     .resource_policy = PUBLIC_READ("'*'"), .principal = BOB, .action = "s3:GetObject",
     .resource = OBJ, .resource_account = A, .want = IMPLICIT},

    /* NotPrincipal */
    {"NotPrincipal Deny: Bob and his account are excepted (IAM UG NotPrincipal)", ID(ALLOW_S3_ALL),
     .resource_policy = NOTPRIN_DENY("'arn:aws:iam::" B ":user/Bob','arn:aws:iam::" B ":root'"),
     .principal = BOB, .action = "s3:GetObject", .resource = OBJ, .resource_account = A,
     .want = ALLOW},
    {"NotPrincipal Deny: another user of Bob's account is denied", ID(ALLOW_S3_ALL),
     .resource_policy = NOTPRIN_DENY("'arn:aws:iam::" B ":user/Bob','arn:aws:iam::" B ":root'"),
     .principal = CAROL, .action = "s3:GetObject", .resource = OBJ, .resource_account = A,
     .want = EXPLICIT},
    {"NotPrincipal Deny: session, role and account listed (IAM UG NotPrincipal roles)",
     ID(ALLOW_S3_ALL),
     .resource_policy = NOTPRIN_DENY(
         "'arn:aws:sts::" B ":assumed-role/cross-account-read-only-role/cross-account-audit-app',"
         "'arn:aws:iam::" B ":role/cross-account-read-only-role','arn:aws:iam::" B ":root'"),
     .principal = SESS_B, .action = "s3:GetObject", .resource = OBJ, .resource_account = A,
     .want = ALLOW},
    {"NotPrincipal Deny: without the role ARN the session is denied", ID(ALLOW_S3_ALL),
     .resource_policy = NOTPRIN_DENY(
         "'arn:aws:sts::" B ":assumed-role/cross-account-read-only-role/cross-account-audit-app',"
         "'arn:aws:iam::" B ":root'"),
     .principal = SESS_B, .action = "s3:GetObject", .resource = OBJ, .resource_account = A,
     .want = EXPLICIT},
    /* principals bound to unique IDs (stored "ARN#ID", iam/principals.c) */
    {"bound user principal: the user with that UserId", ID(NULL),
     .resource_policy = BOUND_GRANT("'arn:aws:iam::" A ":user/Alice#AIDAALICEEXAMPLE'"),
     .principal = ALICE, .action = "s3:GetObject", .resource = OBJ, .want = ALLOW},
    {"bound user principal: a re-created Alice (other UserId) does not match", ID(NULL),
     .resource_policy = BOUND_GRANT("'arn:aws:iam::" A ":user/Alice#AIDAOLDALICE'"),
     .principal = ALICE, .action = "s3:GetObject", .resource = OBJ, .want = IMPLICIT},
    {"bound role principal: a session of the role with that RoleId", ID(NULL),
     .resource_policy = BOUND_GRANT("'arn:aws:iam::" A ":role/Auditor#AROAAUDITOR'"),
     .principal = SESS, .action = "s3:GetObject", .resource = OBJ, .want = ALLOW},
    {"bound role principal: a re-created role (other RoleId) does not match", ID(NULL),
     .resource_policy = BOUND_GRANT("'arn:aws:iam::" A ":role/Auditor#AROAOLDAUDITOR'"),
     .principal = SESS, .action = "s3:GetObject", .resource = OBJ, .want = IMPLICIT},
    {"bound role principal: an ID that is a prefix of the caller's does not match", ID(NULL),
     .resource_policy = BOUND_GRANT("'arn:aws:iam::" A ":role/Auditor#AROAAUDIT'"),
     .principal = SESS, .action = "s3:GetObject", .resource = OBJ, .want = IMPLICIT},
    {"NotPrincipal Deny bound to an old ID: the successor is not excluded", ID(ALLOW_S3_ALL),
     .resource_policy =
         NOTPRIN_DENY("'arn:aws:iam::" A ":user/Alice#AIDAOLDALICE','arn:aws:iam::" A ":root'"),
     .principal = ALICE, .action = "s3:GetObject", .resource = OBJ, .want = EXPLICIT},
    {"NotPrincipal Deny bound to the caller's ID excludes it", ID(ALLOW_S3_ALL),
     .resource_policy =
         NOTPRIN_DENY("'arn:aws:iam::" A ":user/Alice#AIDAALICEEXAMPLE','arn:aws:iam::" A ":root'"),
     .principal = ALICE, .action = "s3:GetObject", .resource = OBJ, .want = ALLOW},
};

/* Turns the single-quoted notation into JSON: ' -> ", \' -> '. */
static char *json_of(const char *s) {
    char *out = malloc(strlen(s) + 1), *o = out;
    for (; *s; s++) {
        if (s[0] == '\\' && s[1] == '\'')
            *o++ = *++s;
        else
            *o++ = *s == '\'' ? '"' : *s;
    }
    *o = '\0';
    return out;
}

static policy *parse_ok(const char *text, policy_kind kind, const char *row) {
    char err[256] = "", *json = json_of(text);
    policy *p = NULL;
    cl_err e = policy_parse(slice_cstr(json), kind, &p, err, sizeof err);
    if (e != CL_OK) fail_msg("row \"%s\": policy did not parse: %s\n%s", row, err, json);
    free(json);
    return p;
}

static policy_ctx *ctx_of(const eval_case *c) {
    policy_ctx *ctx = policy_ctx_new();
    policy_ctx_add_principal(ctx, &PRINCIPALS[c->principal]);
    for (int i = 0; i < 6 && c->ctx[i]; i++) {
        const char *eq = strchr(c->ctx[i], '=');
        char key[128];
        snprintf(key, sizeof key, "%.*s", (int)(eq - c->ctx[i]), c->ctx[i]);
        policy_ctx_add(ctx, key, eq + 1);
    }
    return ctx;
}

static void test_eval_row(void **state) {
    const eval_case *c = *state;
    policy *ids[3] = {0}, *sess = NULL, *res = NULL;
    size_t n_ids = 0;
    for (; n_ids < 3 && c->identity[n_ids]; n_ids++)
        ids[n_ids] = parse_ok(c->identity[n_ids], POLICY_IDENTITY, c->name);
    if (c->session) sess = parse_ok(c->session, POLICY_IDENTITY, c->name);
    if (c->resource_policy) res = parse_ok(c->resource_policy, POLICY_RESOURCE, c->name);
    policy_ctx *ctx = c->null_ctx ? NULL : ctx_of(c);
    const policy *sess_list[1] = {sess};
    policy_request req = {
        .principal = &PRINCIPALS[c->principal],
        .action = c->action,
        .resource = c->resource,
        .resource_account = c->resource_account,
        .identity = (const policy *const *)ids,
        .n_identity = n_ids,
        .resource_policy = res,
        .session = sess_list,
        .n_session = sess ? 1 : 0,
        .ctx = ctx,
    };
    policy_decision got = policy_evaluate(&req);
    for (size_t i = 0; i < n_ids; i++)
        policy_free(ids[i]);
    policy_free(sess);
    policy_free(res);
    policy_ctx_free(ctx);
    if (got != c->want)
        fail_msg("row \"%s\": got %s, want %s", c->name, policy_decision_str(got),
                 policy_decision_str(c->want));
}

/* ---- malformed documents ---- */
typedef struct {
    const char *name;
    policy_kind kind;
    const char *doc;
    const char *want; /* substring of the error message */
} malformed_case;

#define STMT(body) "{'Version':'2012-10-17','Statement':{" body "}}"
#define AR "'Action':'s3:GetObject','Resource':'*'"

static const malformed_case MALFORMED[] = {
    {"not JSON", POLICY_IDENTITY, "{'Version':", "Syntax errors in policy"},
    {"duplicate key", POLICY_IDENTITY,
     "{'Version':'2012-10-17','Version':'2012-10-17','Statement':[]}", "duplicate object key"},
    {"bad Version", POLICY_IDENTITY,
     "{'Version':'2020-01-01','Statement':{'Effect':'Allow'," AR "}}",
     "Version must be \"2012-10-17\" or \"2008-10-17\""},
    {"no Statement", POLICY_IDENTITY, "{'Version':'2012-10-17'}",
     "Missing required field Statement"},
    {"empty Statement array", POLICY_IDENTITY, "{'Version':'2012-10-17','Statement':[]}",
     "non-empty array"},
    {"Statement is a string", POLICY_IDENTITY, "{'Statement':['x']}",
     "Statement 1: each statement must be an object"},
    {"Effect in lower case", POLICY_IDENTITY, STMT("'Effect':'allow'," AR),
     "Statement 1: Effect must be \"Allow\" or \"Deny\""},
    {"bad Effect in the second statement", POLICY_IDENTITY,
     "{'Statement':[{'Effect':'Allow'," AR "},{'Effect':'Permit'," AR "}]}",
     "Statement 2: Effect must be"},
    {"no Effect", POLICY_IDENTITY, STMT(AR), "Missing required field Effect"},
    {"Action and NotAction", POLICY_IDENTITY, STMT("'Effect':'Allow','NotAction':'s3:*'," AR),
     "only one of Action and NotAction"},
    {"no Action", POLICY_IDENTITY, STMT("'Effect':'Allow','Resource':'*'"),
     "Missing required field Action"},
    {"action without vendor", POLICY_IDENTITY,
     STMT("'Effect':'Allow','Action':'GetObject','Resource':'*'"), "prefaced by a vendor"},
    {"action with two colons", POLICY_IDENTITY,
     STMT("'Effect':'Allow','Action':'s3:Get:Object','Resource':'*'"), "only one colon"},
    {"empty Action array", POLICY_IDENTITY, STMT("'Effect':'Allow','Action':[],'Resource':'*'"),
     "Action must be a string or a non-empty array"},
    {"Principal in an identity policy", POLICY_IDENTITY,
     STMT("'Effect':'Allow','Principal':'*'," AR), "Has prohibited field Principal"},
    {"NotPrincipal in an identity policy", POLICY_IDENTITY,
     STMT("'Effect':'Allow','NotPrincipal':{'AWS':'" A "'}," AR),
     "Has prohibited field NotPrincipal"},
    {"identity policy without Resource", POLICY_IDENTITY, STMT("'Effect':'Allow','Action':'s3:*'"),
     "Missing required field Resource"},
    {"Resource not an ARN", POLICY_IDENTITY,
     STMT("'Effect':'Allow','Action':'s3:*','Resource':'mybucket'"), "must be in ARN format"},
    {"resource policy without Principal", POLICY_RESOURCE, STMT("'Effect':'Allow'," AR),
     "Missing required field Principal"},
    {"Principal and NotPrincipal", POLICY_RESOURCE,
     STMT("'Effect':'Deny','Principal':'*','NotPrincipal':{'AWS':'" A "'}," AR),
     "only one of Principal and NotPrincipal"},
    {"short account id in a principal ARN", POLICY_RESOURCE,
     STMT("'Effect':'Allow','Principal':{'AWS':'arn:aws:iam::12345:user/x'}," AR),
     "Invalid principal in policy"},
    {"wildcard in a principal ARN", POLICY_RESOURCE,
     STMT("'Effect':'Allow','Principal':{'AWS':'arn:aws:iam::" A ":user/*'}," AR),
     "Invalid principal in policy"},
    {"Principal string other than '*'", POLICY_RESOURCE,
     STMT("'Effect':'Allow','Principal':'" A "'," AR), "Invalid principal in policy"},
    {"unknown principal type", POLICY_RESOURCE,
     STMT("'Effect':'Allow','Principal':{'Group':'admins'}," AR),
     "unknown principal type \"Group\""},
    {"unknown condition operator", POLICY_IDENTITY,
     STMT("'Effect':'Allow'," AR ",'Condition':{'StringEqualz':{'aws:username':'a'}}"),
     "Invalid Condition type"},
    {"Null cannot take IfExists", POLICY_IDENTITY,
     STMT("'Effect':'Allow'," AR ",'Condition':{'NullIfExists':{'aws:username':'true'}}"),
     "Invalid Condition type"},
    {"bad CIDR in IpAddress", POLICY_IDENTITY,
     STMT("'Effect':'Allow'," AR ",'Condition':{'IpAddress':{'aws:SourceIp':'300.1.2.3/8'}}"),
     "\"300.1.2.3/8\" is not a valid value"},
    {"bad date in DateLessThan", POLICY_IDENTITY,
     STMT("'Effect':'Allow'," AR
          ",'Condition':{'DateLessThan':{'aws:CurrentTime':'next tuesday'}}"),
     "not a valid value"},
    {"object as a condition value", POLICY_IDENTITY,
     STMT("'Effect':'Allow'," AR ",'Condition':{'StringEquals':{'aws:username':{'a':'b'}}}"),
     "must be strings, numbers or booleans"},
    {"condition key without vendor", POLICY_IDENTITY,
     STMT("'Effect':'Allow'," AR ",'Condition':{'StringEquals':{'username':'a'}}"),
     "prefaced by a vendor"},
    {"duplicate Sid", POLICY_IDENTITY,
     "{'Statement':[{'Sid':'S1','Effect':'Allow'," AR "},{'Sid':'S1','Effect':'Deny'," AR "}]}",
     "must be unique"},
    {"unknown statement field", POLICY_IDENTITY,
     STMT("'Effect':'Allow','Actions':'s3:*','Resource':'*'"), "unknown field \"Actions\""},
    {"unknown top-level field", POLICY_IDENTITY, "{'Statment':{'Effect':'Allow'," AR "}}",
     "Policy has unknown field \"Statment\""},
    /* IAM User Guide, "Role trust policy": no Resource element, STS actions only */
    {"trust policy with Resource", POLICY_TRUST,
     STMT("'Effect':'Allow','Principal':{'AWS':'111122223333'},'Action':'sts:AssumeRole','Resource'"
          ":'*'"),
     "Has prohibited field Resource"},
    {"trust policy with NotResource", POLICY_TRUST,
     STMT("'Effect':'Allow','Principal':{'AWS':'111122223333'},'Action':'sts:AssumeRole','"
          "NotResource':'x'"),
     "Has prohibited field NotResource"},
    {"trust policy with a non-STS action", POLICY_TRUST,
     STMT("'Effect':'Allow','Principal':{'AWS':'111122223333'},'Action':['sts:AssumeRole','s3:"
          "GetObject']"),
     "may only specify STS AssumeRole actions"},
    {"trust policy without Principal", POLICY_TRUST,
     STMT("'Effect':'Allow','Action':'sts:AssumeRole'"), "Missing required field Principal"},
};

static void test_malformed_row(void **state) {
    const malformed_case *c = *state;
    char err[256] = "", *json = json_of(c->doc);
    policy *p = NULL;
    cl_err e = policy_parse(slice_cstr(json), c->kind, &p, err, sizeof err);
    free(json);
    if (e != CL_ERR_INVALID || p)
        fail_msg("row \"%s\": accepted, want error \"%s\"", c->name, c->want);
    if (!strstr(err, c->want))
        fail_msg("row \"%s\": message \"%s\" lacks \"%s\"", c->name, err, c->want);
}

static void test_too_large(void **state) {
    (void)state;
    size_t n = 128 * 1024 + 1;
    char *big = malloc(n + 1), err[128];
    memset(big, ' ', n), big[n] = '\0';
    policy *p = NULL;
    assert_int_equal(policy_parse(slice_of(big, n), POLICY_IDENTITY, &p, err, sizeof err),
                     CL_ERR_INVALID);
    assert_non_null(strstr(err, "larger than"));
    free(big);
}

/* ---- Block Public Access ---- */
typedef struct {
    const char *name;
    const char *doc;
    bool want;
} public_case;

#define PUB(prin, cond)                                                                            \
    "{'Version':'2012-10-17','Statement':{'Effect':'Allow','Principal':" prin                      \
    ",'Action':'s3:GetObject',"                                                                    \
    "'Resource':'arn:aws:s3:::b/*'" cond "}}"

static const public_case PUBLIC[] = {
    {"Principal '*' without condition", PUB("'*'", ""), true},
    {"Principal {'AWS':'*'}", PUB("{'AWS':'*'}", ""), true},
    {"'*' among other principals", PUB("{'AWS':['arn:aws:iam::" A ":root','*']}", ""), true},
    {"an account root is not public", PUB("{'AWS':'" A "'}", ""), false},
    {"Deny with Principal '*' is not public",
     "{'Statement':{'Effect':'Deny','Principal':'*','Action':'s3:*','Resource':'arn:aws:s3:::b/"
     "*'}}",
     false},
    {"fixed aws:SourceIp range",
     PUB("'*'", ",'Condition':{'IpAddress':{'aws:SourceIp':'192.0.2.0/24'}}"), false},
    {"aws:SourceIp 0.0.0.0/0 fixes nothing",
     PUB("'*'", ",'Condition':{'IpAddress':{'aws:SourceIp':'0.0.0.0/0'}}"), true},
    {"aws:SourceIp ::/0 fixes nothing",
     PUB("'*'", ",'Condition':{'IpAddress':{'aws:SourceIp':['192.0.2.0/24','::/0']}}"), true},
    {"aws:SourceIp halves 0.0.0.0/1 + 128.0.0.0/1 cover everything",
     PUB("'*'", ",'Condition':{'IpAddress':{'aws:SourceIp':['0.0.0.0/1','128.0.0.0/1']}}"), true},
    {"aws:SourceIp quarters plus a nested range cover everything",
     PUB("'*'", ",'Condition':{'IpAddress':{'aws:SourceIp':['0.0.0.0/2','64.0.0.0/2',"
                "'128.0.0.0/2','192.0.0.0/2','10.0.0.0/8']}}"),
     true},
    {"aws:SourceIp IPv6 halves cover everything",
     PUB("'*'", ",'Condition':{'IpAddress':{'aws:SourceIp':['::/1','8000::/1']}}"), true},
    {"aws:SourceIp duplicated half does not cover everything",
     PUB("'*'", ",'Condition':{'IpAddress':{'aws:SourceIp':['0.0.0.0/1','0.0.0.0/1']}}"), false},
    {"aws:SourceIp three quarters do not cover everything",
     PUB("'*'", ",'Condition':{'IpAddress':{'aws:SourceIp':['0.0.0.0/2','64.0.0.0/2',"
                "'128.0.0.0/2']}}"),
     false},
    {"aws:SourceIp IPv4 half and IPv6 half cover neither family",
     PUB("'*'", ",'Condition':{'IpAddress':{'aws:SourceIp':['0.0.0.0/1','::/1']}}"), false},
    {"fixed aws:SourceAccount",
     PUB("'*'", ",'Condition':{'StringEquals':{'aws:SourceAccount':'" A "'}}"), false},
    {"fixed aws:PrincipalOrgID",
     PUB("'*'", ",'Condition':{'StringEquals':{'aws:PrincipalOrgID':'o-abc123'}}"), false},
    {"fixed aws:SourceVpce",
     PUB("'*'", ",'Condition':{'StringEquals':{'aws:SourceVpce':'vpce-1a2b3c4d'}}"), false},
    {"wildcard aws:SourceArn",
     PUB("'*'", ",'Condition':{'ArnLike':{'aws:SourceArn':'arn:aws:sns:*:*:*'}}"), true},
    {"negated aws:PrincipalOrgID",
     PUB("'*'", ",'Condition':{'StringNotEquals':{'aws:PrincipalOrgID':'o-abc123'}}"), true},
    {"IfExists does not pin",
     PUB("'*'", ",'Condition':{'StringEqualsIfExists':{'aws:SourceVpce':'vpce-1a2b3c4d'}}"), true},
    {"a condition on another key does not pin",
     PUB("'*'", ",'Condition':{'StringEquals':{'s3:prefix':'home/'}}"), true},
    {"Allow with NotPrincipal grants everyone else",
     "{'Statement':{'Effect':'Allow','NotPrincipal':{'AWS':'" A
     "'},'Action':'s3:*','Resource':'arn:aws:s3:::b/*'}}",
     true},
};

static void test_public_row(void **state) {
    const public_case *c = *state;
    policy *p = parse_ok(c->doc, POLICY_RESOURCE, c->name);
    bool got = policy_is_public(p);
    policy_free(p);
    if (got != c->want) fail_msg("row \"%s\": is_public %d, want %d", c->name, got, c->want);
}

/* ---- wildcards, context, odds and ends ---- */
static void test_wildcard(void **state) {
    (void)state;
    static const struct {
        const char *pat, *val;
        bool ci, want;
    } W[] = {
        {"*", "", false, true},
        {"*", "anything", false, true},
        {"a*c", "abbbc", false, true},
        {"a*c", "abbbd", false, false},
        {"a?c", "abc", false, true},
        {"a?c", "ac", false, false},
        {"s3:Get*", "S3:GETOBJECT", true, true},
        {"s3:Get*", "S3:GETOBJECT", false, false},
        {"*a*b*", "xxaxxbxx", false, true},
        {"*a*b", "ba", false, false},
        {"", "", false, true},
        {"abc", "abcd", false, false},
    };
    for (size_t i = 0; i < sizeof W / sizeof W[0]; i++)
        if (policy_wildcard_match(W[i].pat, W[i].val, W[i].ci) != W[i].want)
            fail_msg("wildcard \"%s\" vs \"%s\" (ci %d): want %d", W[i].pat, W[i].val, W[i].ci,
                     W[i].want);
}

static void test_ctx(void **state) {
    (void)state;
    policy_ctx *c = policy_ctx_new();
    policy_ctx_add(c, "aws:TagKeys", "a");
    policy_ctx_add(c, "AWS:tagkeys", "b");
    assert_int_equal(policy_ctx_count(c, "aws:tagKeys"), 2);
    assert_string_equal(policy_ctx_value(c, "aws:TagKeys", 1), "b");
    assert_null(policy_ctx_value(c, "aws:TagKeys", 2));
    assert_int_equal(policy_ctx_count(c, "aws:SourceIp"), 0);
    policy_ctx_add_principal(c, &PRINCIPALS[SESS]);
    assert_string_equal(policy_ctx_value(c, "aws:PrincipalArn", 0), ROLE_A);
    assert_string_equal(policy_ctx_value(c, "aws:PrincipalType", 0), "AssumedRole");
    assert_int_equal(policy_ctx_count(c, "aws:username"), 0);
    policy_ctx_add_principal(c, &PRINCIPALS[ALICE]);
    assert_string_equal(policy_ctx_value(c, "aws:username", 0), "Alice");
    policy_ctx_free(c);
}

/* ---- condition keys: the allow-list of policy_keys.c ---- */
static void test_condition_keys(void **state) {
    (void)state;
    static const char *const OK[] = {"aws:SourceIp",
                                     "AWS:sourceip",
                                     "s3:ExistingObjectTag/class",
                                     "s3:x-amz-server-side-encryption",
                                     "iam:PolicyARN",
                                     "kms:EncryptionContext:dept",
                                     "sts:ExternalId",
                                     "ec2:Region",
                                     "myvendor:Anything",
                                     NULL};
    static const char *const BAD[] = {"aws:NoSuchKey",           "s3:NoSuchKey",
                                      "kms:NoSuchKey",           "iam:PassedToService",
                                      "iam:PermissionsBoundary", "sts:SourceIdentity",
                                      "s3:ExistingObjectTag/",   "aws:SomeCustomThing",
                                      "s3:TlsVersion",           NULL};
    for (int i = 0; OK[i]; i++)
        if (!policy_key_supported(OK[i])) fail_msg("%s should be supported", OK[i]);
    for (int i = 0; BAD[i]; i++)
        if (policy_key_supported(BAD[i])) fail_msg("%s should be refused", BAD[i]);
    policy *p = parse_ok("{'Statement':{'Effect':'Deny','Action':'*','Resource':'*','Condition':"
                         "{'StringEquals':{'aws:SourceIp':'1.2.3.4','s3:NoSuchKey':'x'}}}}",
                         POLICY_IDENTITY, "unsupported key");
    assert_string_equal(policy_unsupported_key(p), "s3:NoSuchKey");
    policy_free(p);
}

static void test_decision_str(void **state) {
    (void)state;
    assert_string_equal(policy_decision_str(POLICY_ALLOW), "allowed");
    assert_string_equal(policy_decision_str(POLICY_DENY_EXPLICIT), "explicitDeny");
    assert_string_equal(policy_decision_str(POLICY_DENY_IMPLICIT), "implicitDeny");
}

/* A trust policy may omit Resource; an identity policy may not (checked above). */
static void test_trust_without_resource(void **state) {
    (void)state;
    policy *p = parse_ok(TRUST("'" A "'"), POLICY_RESOURCE, "trust without Resource");
    assert_non_null(p);
    policy_free(p);
}

#define COUNT(t) (sizeof(t) / sizeof((t)[0]))

/* One cmocka test per row, named "<table>: <row name>" (every row type starts with its name). */
static void add_rows(struct CMUnitTest *t, size_t *n, const char *prefix, const void *rows,
                     size_t n_rows, size_t row_size, CMUnitTestFunction fn, char **owned) {
    for (size_t i = 0; i < n_rows; i++) {
        const void *row = (const char *)rows + i * row_size;
        const char *name = *(const char *const *)row;
        size_t len = strlen(prefix) + strlen(name) + 4;
        char *full = malloc(len);
        snprintf(full, len, "%s: %s", prefix, name);
        owned[*n] = full;
        t[(*n)++] = (struct CMUnitTest){full, fn, NULL, NULL, (void *)row};
    }
}

int main(void) {
    size_t total = COUNT(EVAL) + COUNT(MALFORMED) + COUNT(PUBLIC) + 6, n = 0;
    struct CMUnitTest *t = calloc(total, sizeof *t);
    char **owned = calloc(total, sizeof *owned);
    add_rows(t, &n, "eval", EVAL, COUNT(EVAL), sizeof EVAL[0], test_eval_row, owned);
    add_rows(t, &n, "malformed", MALFORMED, COUNT(MALFORMED), sizeof MALFORMED[0],
             test_malformed_row, owned);
    add_rows(t, &n, "public", PUBLIC, COUNT(PUBLIC), sizeof PUBLIC[0], test_public_row, owned);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(test_too_large);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(test_wildcard);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(test_ctx);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(test_decision_str);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(test_condition_keys);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(test_trust_without_resource);
    int rc = _cmocka_run_group_tests("policy", t, n, NULL, NULL);
    for (size_t i = 0; i < total; i++)
        free(owned[i]);
    free(owned);
    free(t);
    return rc;
}
