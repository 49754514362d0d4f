/* policy_keys.c — the one list of condition keys Cloister understands in the
 * namespaces it implements (aws:, s3:, iam:, sts:, kms:). A key in one of these
 * namespaces that is not listed here is refused when a policy is written
 * (policy_unsupported_key), because a key the server never supplies counts as
 * absent and a Deny on it would silently never fire. Keys of other namespaces
 * (other services, custom keys of other vendors) are accepted, as AWS does.
 *
 * Each entry says where the value comes from; "absent" entries are keys that
 * AWS itself supplies only in situations that cannot occur here (no VPC
 * endpoints, organizations, service principals, MFA devices or access
 * points), so treating them as absent is exactly AWS's answer for an
 * equivalent request. docs/iam.md ("Condition keys") lists the same table for
 * users; keep the two in step.
 *
 * Matching is case-insensitive (condition key names are, in AWS). A prefix
 * entry ("s3:ExistingObjectTag/") matches the prefix followed by at least one
 * character. */
#include "iam/policy_internal.h"

#include <string.h>
#include <strings.h>

typedef struct {
    const char *name;
    bool prefix; /* name is a prefix: the rest is a tag key, context key, ... */
    bool multi;  /* may carry several values (use ForAnyValue:/ForAllValues:) */
    const char *source;
} key_info;

static const key_info KEYS[] = {
    /* ---- global keys ---- */
    {"aws:CurrentTime", false, false, "every request (clock)"},
    {"aws:EpochTime", false, false, "every request (clock)"},
    {"aws:SourceIp", false, false, "every request (peer address)"},
    {"aws:SecureTransport", false, false, "every request"},
    {"aws:UserAgent", false, false, "every request carrying User-Agent"},
    {"aws:Referer", false, false, "S3 requests carrying Referer"},
    {"aws:RequestedRegion", false, false, "signed requests (credential scope)"},
    {"aws:PrincipalArn", false, false, "authenticated requests"},
    {"aws:PrincipalAccount", false, false, "authenticated requests"},
    {"aws:PrincipalType", false, false, "every request"},
    {"aws:PrincipalIsAWSService", false, false, "every request (always false)"},
    {"aws:userid", false, false, "authenticated requests"},
    {"aws:username", false, false, "IAM users"},
    {"aws:TokenIssueTime", false, false, "temporary credentials"},
    {"aws:MultiFactorAuthPresent", false, false, "temporary credentials (false)"},
    {"aws:ViaAWSService", false, false, "authenticated requests (false)"},
    {"aws:ResourceAccount", false, false, "every request (the resource's account)"},
    /* absent here as in AWS for a request without VPC endpoint, organization,
     * service principal, MFA, federation or source identity */
    {"aws:SourceVpc", false, false, "absent"},
    {"aws:SourceVpce", false, false, "absent"},
    {"aws:SourceVpcArn", false, false, "absent"},
    {"aws:VpcSourceIp", false, false, "absent"},
    {"aws:SourceArn", false, false, "absent (service principals only)"},
    {"aws:SourceAccount", false, false, "absent (service principals only)"},
    {"aws:SourceOwner", false, false, "absent (service principals only)"},
    {"aws:SourceOrgID", false, false, "absent (service principals only)"},
    {"aws:SourceOrgPaths", false, true, "absent (service principals only)"},
    {"aws:PrincipalOrgID", false, false, "absent (no organizations)"},
    {"aws:PrincipalOrgPaths", false, true, "absent (no organizations)"},
    {"aws:ResourceOrgID", false, false, "absent (no organizations)"},
    {"aws:ResourceOrgPaths", false, true, "absent (no organizations)"},
    {"aws:PrincipalServiceName", false, false, "absent (no service principals)"},
    {"aws:PrincipalServiceNamesList", false, true, "absent (no service principals)"},
    {"aws:CalledVia", false, true, "absent (no forward access sessions)"},
    {"aws:CalledViaFirst", false, false, "absent (no forward access sessions)"},
    {"aws:CalledViaLast", false, false, "absent (no forward access sessions)"},
    {"aws:FederatedProvider", false, false, "absent (no federation)"},
    {"aws:MultiFactorAuthAge", false, false, "absent (no MFA)"},
    {"aws:Ec2InstanceSourceVpc", false, false, "absent (no EC2)"},
    {"aws:Ec2InstanceSourcePrivateIPv4", false, false, "absent (no EC2)"},
    {"aws:SourceIdentity", false, false, "absent (AssumeRole takes no SourceIdentity)"},
    /* ---- S3 ---- */
    {"s3:authType", false, false, "every S3 request"},
    {"s3:signatureversion", false, false, "signed S3 requests"},
    {"s3:signatureAge", false, false, "signed S3 requests"},
    {"s3:x-amz-content-sha256", false, false, "S3 requests carrying the header"},
    {"s3:ResourceAccount", false, false, "S3 requests on a bucket or object"},
    {"s3:prefix", false, false, "ListBucket"},
    {"s3:delimiter", false, false, "ListBucket"},
    {"s3:max-keys", false, false, "ListBucket"},
    {"s3:ExistingObjectTag/", true, false,
     "GetObject, GetObjectAcl, PutObjectAcl, Get/Put/DeleteObjectTagging"},
    {"s3:RequestObjectTag/", true, false, "PutObject (x-amz-tagging), PutObjectTagging"},
    {"s3:RequestObjectTagKeys", false, true, "PutObject (x-amz-tagging), PutObjectTagging"},
    {"s3:x-amz-server-side-encryption", false, false, "PutObject (header)"},
    {"s3:x-amz-server-side-encryption-aws-kms-key-id", false, false, "PutObject (header)"},
    {"s3:x-amz-server-side-encryption-customer-algorithm", false, false, "PutObject (header)"},
    {"s3:x-amz-copy-source", false, false, "PutObject (CopyObject)"},
    {"s3:x-amz-metadata-directive", false, false, "PutObject (CopyObject)"},
    {"s3:x-amz-storage-class", false, false, "PutObject (header)"},
    {"s3:x-amz-acl", false, false, "PutObject, PutObjectAcl, CreateBucket, PutBucketAcl"},
    {"s3:x-amz-grant-read", false, false, "PutObject, PutObjectAcl, CreateBucket, PutBucketAcl"},
    {"s3:x-amz-grant-write", false, false, "PutObject, PutObjectAcl, CreateBucket, PutBucketAcl"},
    {"s3:x-amz-grant-read-acp", false, false,
     "PutObject, PutObjectAcl, CreateBucket, PutBucketAcl"},
    {"s3:x-amz-grant-write-acp", false, false,
     "PutObject, PutObjectAcl, CreateBucket, PutBucketAcl"},
    {"s3:x-amz-grant-full-control", false, false,
     "PutObject, PutObjectAcl, CreateBucket, PutBucketAcl"},
    {"s3:DataAccessPointArn", false, false, "absent (no access points)"},
    {"s3:DataAccessPointAccount", false, false, "absent (no access points)"},
    {"s3:AccessPointNetworkOrigin", false, false, "absent (no access points)"},
    /* ---- IAM and STS ---- */
    {"iam:PolicyARN", false, false, "Attach/DetachUserPolicy, Attach/DetachRolePolicy"},
    {"sts:RoleSessionName", false, false, "AssumeRole"},
    {"sts:ExternalId", false, false, "AssumeRole with ExternalId"},
    /* ---- KMS ---- */
    {"kms:CallerAccount", false, false, "authenticated KMS requests"},
    {"kms:ViaService", false, false, "KMS calls S3 makes for SSE-KMS"},
    {"kms:EncryptionContext:", true, false, "Encrypt, Decrypt, ReEncrypt, GenerateDataKey*"},
    {"kms:EncryptionContextKeys", false, true, "Encrypt, Decrypt, ReEncrypt, GenerateDataKey*"},
    {"kms:RecipientAttestation:ImageSha384", false, false, "requests with a Recipient"},
    {"kms:RecipientAttestation:PCR", true, false, "requests with a Recipient"},
    {"kms:KeySpec", false, false, "CreateKey and every operation on a key"},
    {"kms:KeyUsage", false, false, "CreateKey and every operation on a key"},
    {"kms:KeyOrigin", false, false, "CreateKey and every operation on a key"},
    {"kms:EncryptionAlgorithm", false, false, "Encrypt, Decrypt, ReEncrypt, GenerateDataKey*"},
    {"kms:SigningAlgorithm", false, false, "Sign, Verify"},
    {"kms:GrantOperations", false, true, "CreateGrant"},
    {"kms:GranteePrincipal", false, false, "CreateGrant"},
    {"kms:RetiringPrincipal", false, false, "CreateGrant"},
    {"kms:GrantConstraintType", false, false, "CreateGrant with Constraints"},
    {"kms:GrantIsForAWSResource", false, false, "CreateGrant, ListGrants, RevokeGrant (false)"},
    {"kms:BypassPolicyLockoutSafetyCheck", false, false, "CreateKey, PutKeyPolicy"},
    {"kms:ScheduleKeyDeletionPendingWindowInDays", false, false, "ScheduleKeyDeletion"},
    {"kms:RotationPeriodInDays", false, false, "EnableKeyRotation"},
    {"kms:RequestAlias", false, false, "operations whose KeyId is an alias"},
};

static const char *const NAMESPACES[] = {"aws:", "s3:", "iam:", "sts:", "kms:", NULL};

bool policy_key_supported(const char *key) {
    bool ours = false;
    for (int i = 0; NAMESPACES[i]; i++)
        ours |= strncasecmp(key, NAMESPACES[i], strlen(NAMESPACES[i])) == 0;
    if (!ours) return true;
    for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++) {
        size_t n = strlen(KEYS[i].name);
        if (KEYS[i].prefix ? strncasecmp(key, KEYS[i].name, n) == 0 && key[n] != '\0'
                           : strcasecmp(key, KEYS[i].name) == 0)
            return true;
    }
    return false;
}

const char *policy_unsupported_key(const policy *p) {
    for (size_t i = 0; p && i < p->n_stmts; i++)
        for (size_t j = 0; j < p->stmts[i].n_conds; j++)
            if (!policy_key_supported(p->stmts[i].conds[j].key)) return p->stmts[i].conds[j].key;
    return NULL;
}
