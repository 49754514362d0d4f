"""The authorization matrix: who may call each implemented S3, S3 Control, KMS,
IAM, STS and Cloister operation, as AWS documents it. test_sec_authz_matrix.py
runs every cell against a real server; docs/security/authorization-matrix.md is
rendered from this table
(`python3 tests/e2e/authz_table.py > docs/security/authorization-matrix.md`), and a test
checks that the doc is in sync.

Principals (columns):
- owner           the resource owner account's admin (account A, bootstrap credentials)
- cross_account   another account's admin (account B), granted `*` on the resource by a
                  resource policy (bucket policy `s3:*`, key policy `kms:*`, role trust
                  policy); IAM has no resource policies, so B just names A's resources
- anonymous       unsigned requests, under a public grant (bucket policy Principal "*"
                  with Block Public Access off; key policy / trust policy Principal "*")
- cross_account_no_grant  account B's admin on resources of A that grant it nothing
                  (bucket without policy, default key policy, trust policy naming A only)
- no_policy_user  an IAM user of account A with no policy at all

A row is one operation: its name, the rule it follows (RULES), the call (one
boto3 call built by a lambda from the cell `c` and what `prep` made), and the
expected outcome per principal: OK, or the exact error code AWS answers.
`prep(c)` runs as the owner before the call (fresh resources for calls that
change or delete something); `check(c, resp)` inspects an allowed answer (for
list calls: nothing of account A is shown to account B).
"""
import json
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

OK = "allowed"
PRINCIPALS = ("owner", "cross_account", "cross_account_no_grant", "anonymous",
              "no_policy_user")

# Error codes.
S3_DENIED = "AccessDenied"  # 403
S3_NOT_OWNER = "MethodNotAllowed"  # 405: permitted, but not the bucket owner's account
KMS_DENIED = "AccessDeniedException"
KMS_NOT_FOUND = "NotFoundException"
IAM_DENIED = "AccessDenied"
IAM_NO_ENTITY = "NoSuchEntity"
QUERY_UNSIGNED = "MissingAuthenticationToken"  # IAM/STS (Query protocol), 403
JSON_UNSIGNED = "MissingAuthenticationTokenException"  # KMS/Cloister (JSON protocol)


@dataclass
class Rule:
    title: str
    text: str
    expect: dict


RULES = {
    "s3-resource": Rule(
        "Resource policy grants apply",
        "Allowed to whoever the bucket policy (or, in the owner's account, an identity "
        "policy) allows: other accounts and anonymous callers too. A user with no policy "
        "is refused with 403 AccessDenied.",
        {"owner": OK, "cross_account": OK, "cross_account_no_grant": S3_DENIED,
         "anonymous": OK, "no_policy_user": S3_DENIED}),
    "s3-acl-header-no-acl-grant": Rule(
        "ACL header needs s3:PutObjectAcl (not granted)",
        "An `x-amz-acl` / `x-amz-grant-*` header on PutObject, CopyObject or "
        "CreateMultipartUpload needs s3:PutObjectAcl besides s3:PutObject (PutObject API "
        "reference, Permissions: \"s3:PutObjectAcl - To successfully change the objects ACL "
        "of your PutObject request, you must have the s3:PutObjectAcl\"). In these rows the "
        "callers are granted s3:PutObject and s3:GetObject only: account B and everyone "
        "(anonymous) by bucket policy, and the user column is a user of the owner account "
        "whose identity policy allows exactly those; all are refused with 403 AccessDenied, "
        "the owner is allowed.",
        {"owner": OK, "cross_account": S3_DENIED, "cross_account_no_grant": S3_DENIED,
         "anonymous": S3_DENIED, "no_policy_user": S3_DENIED}),
    "s3-acl-header-acl-grant": Rule(
        "ACL header with s3:PutObjectAcl granted",
        "The same calls when the grants (bucket policy to account B, to everyone, and the "
        "user's identity policy) are s3:PutObject, s3:PutObjectAcl and s3:GetObject: allowed "
        "(ACLs being disabled, only `private` / `bucket-owner-full-control` are accepted). "
        "Account B on a bucket that grants it nothing is refused.",
        {"owner": OK, "cross_account": OK, "cross_account_no_grant": S3_DENIED,
         "anonymous": OK, "no_policy_user": OK}),
    "s3-cond-delete-no-get": Rule(
        "Conditional delete needs s3:GetObject (not granted)",
        "A DeleteObject with `If-Match` (or `x-amz-if-match-size` / "
        "`-last-modified-time`) reads the object's ETag, size or date, so it needs "
        "s3:GetObject besides s3:DeleteObject (AWS user guide, conditional deletes). In "
        "these rows the callers are granted s3:DeleteObject only (account B and everyone by "
        "bucket policy, the user column by its identity policy): 403 AccessDenied, nothing "
        "deleted; the owner is allowed.",
        {"owner": OK, "cross_account": S3_DENIED, "cross_account_no_grant": S3_DENIED,
         "anonymous": S3_DENIED, "no_policy_user": S3_DENIED}),
    "s3-cond-delete-get": Rule(
        "Conditional delete with s3:GetObject granted",
        "The same call when the grants are s3:DeleteObject and s3:GetObject: allowed. "
        "Account B on a bucket that grants it nothing is refused.",
        {"owner": OK, "cross_account": OK, "cross_account_no_grant": S3_DENIED,
         "anonymous": OK, "no_policy_user": OK}),
    "s3-bucket-owner-only": Rule(
        "Bucket owner's account only",
        "Callable only by principals of the bucket owner's account: a caller that the "
        "bucket policy permits but that belongs to another account (or is anonymous) gets "
        "405 MethodNotAllowed; a caller without the permission gets 403 AccessDenied. "
        "AWS documents this for Get/Put/DeleteBucketPolicy (API reference: \"If you have "
        "the correct permissions, but you're not using an identity that belongs to the "
        "bucket owner's account, Amazon S3 returns a 405 Method Not Allowed error\"); "
        "Cloister applies it to every setting that controls who may access the bucket or "
        "how it is protected: policy status, Block Public Access, default encryption "
        "(issue 10, item 2).",
        {"owner": OK, "cross_account": S3_NOT_OWNER, "cross_account_no_grant": S3_DENIED,
         "anonymous": S3_NOT_OWNER,
         "no_policy_user": S3_DENIED}),
    "s3-caller-account": Rule(
        "Caller's own account",
        "Acts on the caller's own account (there is no resource policy to grant it): "
        "another account's admin succeeds on its own account and sees nothing of the "
        "owner's; anonymous callers are refused.",
        {"owner": OK, "cross_account": OK, "cross_account_no_grant": OK,
         "anonymous": S3_DENIED, "no_policy_user": S3_DENIED}),
    "s3control-account-only": Rule(
        "Named account's principals only",
        "An account-level setting (x-amz-account-id): only principals of that account "
        "with the permission may call it; any other account or an anonymous caller gets "
        "403 AccessDenied.",
        {"owner": OK, "cross_account": S3_DENIED, "cross_account_no_grant": S3_DENIED,
         "anonymous": S3_DENIED,
         "no_policy_user": S3_DENIED}),
    "kms-cross-account": Rule(
        "Cross-account use: Yes",
        "The KMS API reference marks the operation \"Cross-account use: Yes\": a principal "
        "of another account may call it on the key (by key ARN) when the key policy allows "
        "it. KMS never accepts unsigned requests.",
        {"owner": OK, "cross_account": OK, "cross_account_no_grant": KMS_DENIED,
         "anonymous": JSON_UNSIGNED,
         "no_policy_user": KMS_DENIED}),
    "kms-same-account": Rule(
        "Cross-account use: No",
        "The KMS API reference marks the operation \"Cross-account use: No\": only "
        "principals of the key's account may call it, whatever the key policy grants to "
        "others (\"if you grant ... kms:ScheduleKeyDeletion on a KMS key in a key policy "
        "to a principal in another account, their attempts to call these operations ... "
        "fail\", KMS developer guide, Allowing users in other accounts to use a KMS key).",
        {"owner": OK, "cross_account": KMS_DENIED, "cross_account_no_grant": KMS_DENIED,
         "anonymous": JSON_UNSIGNED,
         "no_policy_user": KMS_DENIED}),
    "kms-alias-same-account": Rule(
        "Alias in the caller's account",
        "Cross-account use: No. Alias names are resolved in the caller's own account, so "
        "another account naming the owner's alias finds nothing (NotFoundException) and "
        "the owner's alias is untouched.",
        {"owner": OK, "cross_account": KMS_NOT_FOUND, "cross_account_no_grant": KMS_NOT_FOUND,
         "anonymous": JSON_UNSIGNED,
         "no_policy_user": KMS_DENIED}),
    "kms-caller-account": Rule(
        "Caller's own account",
        "Acts on the caller's own account (Cross-account use: No): another account's admin "
        "succeeds on its own account and sees nothing of the owner's.",
        {"owner": OK, "cross_account": OK, "cross_account_no_grant": OK,
         "anonymous": JSON_UNSIGNED,
         "no_policy_user": KMS_DENIED}),
    "kms-retire-grant": Rule(
        "Determined by the grant",
        "RetireGrant (Cross-account use: Yes) is allowed to the grant's retiring principal, "
        "to its grantee when the grant allows RetireGrant, and to the account in which the "
        "grant was created (its principals to whom kms:RetireGrant is delegated by policy). "
        "\"The kms:RetireGrant permission alone does not allow principals to retire a "
        "grant\" (KMS developer guide, Retiring and revoking grants): another account granted "
        "kms:* by the key policy but not named in the grant is refused (issue 10, item 9).",
        {"owner": OK, "cross_account": KMS_DENIED, "cross_account_no_grant": KMS_DENIED,
         "anonymous": JSON_UNSIGNED,
         "no_policy_user": KMS_DENIED}),
    "iam-same-account": Rule(
        "Same account only (by name)",
        "IAM has no resource policies: names are resolved in the caller's own account, so "
        "another account naming the owner's user or role reaches nothing (404 "
        "NoSuchEntity) and the owner's entity is untouched. IAM and STS never accept "
        "unsigned requests (403 MissingAuthenticationToken).",
        {"owner": OK, "cross_account": IAM_NO_ENTITY, "cross_account_no_grant": IAM_NO_ENTITY,
         "anonymous": QUERY_UNSIGNED,
         "no_policy_user": IAM_DENIED}),
    "iam-same-account-arn": Rule(
        "Same account only (by ARN)",
        "The operation names a managed policy by ARN: another account's ARN is refused "
        "with 403 AccessDenied (no resource-based policy can allow it).",
        {"owner": OK, "cross_account": IAM_DENIED, "cross_account_no_grant": IAM_DENIED,
         "anonymous": QUERY_UNSIGNED,
         "no_policy_user": IAM_DENIED}),
    "iam-caller-account": Rule(
        "Caller's own account",
        "Creates in or lists the caller's own account: another account's admin succeeds on "
        "its own account and sees nothing of the owner's.",
        {"owner": OK, "cross_account": OK, "cross_account_no_grant": OK,
         "anonymous": QUERY_UNSIGNED,
         "no_policy_user": IAM_DENIED}),
    "sts-trust-policy": Rule(
        "Role trust policy",
        "AssumeRole is cross-account: the role's trust policy names who may assume it "
        "(an account root delegates to that account's identity policies, so a user with "
        "no policy is refused).",
        {"owner": OK, "cross_account": OK, "cross_account_no_grant": IAM_DENIED,
         "anonymous": QUERY_UNSIGNED,
         "no_policy_user": IAM_DENIED}),
    "sts-no-permission": Rule(
        "No permission needed",
        "Any signed caller may call it; policies do not control it (\"No permissions are "
        "required to perform this operation\", STS API reference). GetSessionToken must be "
        "called with an IAM user's long-term keys.",
        {"owner": OK, "cross_account": OK, "cross_account_no_grant": OK,
         "anonymous": QUERY_UNSIGNED, "no_policy_user": OK}),
    "cloister-first-account": Rule(
        "First account only",
        "Cloister's own API: only principals of the first (bootstrap) account whose "
        "policies allow cloister:<Op> may create accounts, list them, or replace an "
        "account admin's access key (ResetAdminKey, `cloister account reset-admin-key`).",
        {"owner": OK, "cross_account": KMS_DENIED, "cross_account_no_grant": KMS_DENIED,
         "anonymous": JSON_UNSIGNED,
         "no_policy_user": KMS_DENIED}),
    "cloister-app-same-account": Rule(
        "App, same account only",
        "Apps (docs/apps.md) are same-account resources with no resource policy: the "
        "caller's identity policies must allow cloister:<Op> on "
        "arn:aws:cloister:REGION:ACCOUNT:app/NAME, and a principal of another account "
        "naming the app by ARN is always refused.",
        {"owner": OK, "cross_account": KMS_DENIED, "cross_account_no_grant": KMS_DENIED,
         "anonymous": JSON_UNSIGNED, "no_policy_user": KMS_DENIED}),
    "cloister-task-same-account": Rule(
        "Task, caller's own account",
        "Tasks (docs/runs.md) are same-account resources named by TaskId alone: the "
        "caller's identity policies must allow cloister:<Op> on "
        "arn:aws:cloister:REGION:ACCOUNT:task/ID of its own account, where another "
        "account's task does not exist (404 ResourceNotFoundException).",
        {"owner": OK, "cross_account": "ResourceNotFoundException",
         "cross_account_no_grant": "ResourceNotFoundException",
         "anonymous": JSON_UNSIGNED, "no_policy_user": KMS_DENIED}),
    "cloister-task-own-list": Rule(
        "Caller's own tasks",
        "Lists the tasks of the caller's own account: another account's admin succeeds on "
        "its own account and sees nothing of the owner's.",
        {"owner": OK, "cross_account": OK, "cross_account_no_grant": OK,
         "anonymous": JSON_UNSIGNED, "no_policy_user": KMS_DENIED}),
    "cloister-trigger-own": Rule(
        "Caller's own account's triggers",
        "Trigger options (arguments, secret mapping) are stored in the caller's own account "
        "and used only for notifications of buckets that account owns; the secrets mapped "
        "are the caller's own. Another account's admin writes in its own account.",
        {"owner": OK, "cross_account": OK, "cross_account_no_grant": OK,
         "anonymous": JSON_UNSIGNED, "no_policy_user": KMS_DENIED}),
    "cloister-worker": Rule(
        "Workers: any account's principal allowed cloister:LeaseTask",
        "A worker (docs/tasks.md) leases tasks with its own credentials: its own account's "
        "identity policies must allow cloister:LeaseTask (root users always). Which task it "
        "gets is the queue's rule: a session of role R gets tasks requiring R; tasks "
        "requiring no role and holding no secrets go to any worker; tasks with secrets and "
        "tasks sent with their inputs (RunApp) only to the node's own workers.",
        {"owner": OK, "cross_account": OK, "cross_account_no_grant": OK,
         "anonymous": JSON_UNSIGNED, "no_policy_user": KMS_DENIED}),
    "cloister-lease-holder": Rule(
        "The lease holder only",
        "Calls about a leased task carry its LeaseId, and are answered only for the "
        "principal that holds that lease (409 TaskLeaseLostException otherwise, after "
        "the cloister:LeaseTask check): here no principal holds the lease named.",
        {"owner": "TaskLeaseLostException", "cross_account": "TaskLeaseLostException",
         "cross_account_no_grant": "TaskLeaseLostException",
         "anonymous": JSON_UNSIGNED, "no_policy_user": KMS_DENIED}),
    "cloister-app-own-list": Rule(
        "Caller's own apps",
        "Lists the apps of the caller's own account: another account's admin succeeds on "
        "its own account and sees nothing of the owner's.",
        {"owner": OK, "cross_account": OK, "cross_account_no_grant": OK,
         "anonymous": JSON_UNSIGNED, "no_policy_user": KMS_DENIED}),
    "cloister-caller-own": Rule(
        "Caller's own secrets and wallet",
        "Secrets and wallet links (docs/secrets.md) belong to the calling principal: the "
        "request cannot name another one. The caller's identity policies must allow "
        "cloister:<Op> on arn:aws:cloister:REGION:ACCOUNT:secret/NAME or "
        ".../wallet/PRINCIPALID; another account's admin acts on its own.",
        {"owner": OK, "cross_account": OK, "cross_account_no_grant": OK,
         "anonymous": JSON_UNSIGNED, "no_policy_user": KMS_DENIED}),
    "cloister-secret-own": Rule(
        "Caller's own secret",
        "DescribeSecret looks the name up among the calling principal's own secrets: "
        "another account's admin naming the owner's secret finds nothing "
        "(ResourceNotFoundException); no operation returns a value.",
        {"owner": OK, "cross_account": "ResourceNotFoundException",
         "cross_account_no_grant": "ResourceNotFoundException",
         "anonymous": JSON_UNSIGNED, "no_policy_user": KMS_DENIED}),
    "cloister-signer-keys-same-account": Rule(
        "Signer key set, same account only",
        "Signer key sets (docs/signer.md, \"Keys sealed by KMS\") are same-account "
        "resources with no resource policy: the caller's identity policies must allow "
        "cloister:<Op> on arn:aws:cloister:REGION:ACCOUNT:signer-keys/NAME, and a principal "
        "of another account naming the set by ARN is always refused.",
        {"owner": OK, "cross_account": KMS_DENIED, "cross_account_no_grant": KMS_DENIED,
         "anonymous": JSON_UNSIGNED, "no_policy_user": KMS_DENIED}),
    "cloister-signer-keys-own-list": Rule(
        "Caller's own signer key sets",
        "Lists the key sets of the caller's own account: another account's admin succeeds "
        "on its own account and sees nothing of the owner's.",
        {"owner": OK, "cross_account": OK, "cross_account_no_grant": OK,
         "anonymous": JSON_UNSIGNED, "no_policy_user": KMS_DENIED}),
}


@dataclass
class Row:
    service: str
    op: str
    rule: str
    call: Callable
    prep: Optional[Callable] = None
    check: Optional[Callable] = None
    outcome: Optional[Callable] = None  # maps an HTTP-200 answer to an error code (DeleteObjects)
    override: dict = field(default_factory=dict)
    note: str = ""

    @property
    def name(self):
        return f"{self.service}:{self.op}"

    def expect(self, principal):
        return self.override.get(principal, RULES[self.rule].expect[principal])


# --------------------------------------------------------------------------- helpers for calls
def _doc(*stmts):
    return json.dumps({"Version": "2012-10-17", "Statement": list(stmts)})


ALLOW_NOTHING = _doc({"Effect": "Allow", "Action": "s3:GetObject",
                      "Resource": "arn:aws:s3:::authz-matrix-nothing/*"})


def _deleted_errors(resp):
    errs = resp.get("Errors") or []
    return errs[0].get("Code") if errs else None


def _not_listed(getter, needle):
    """The owner sees its resource in the list; another account does not."""
    def check(c, resp):
        values = getter(resp)
        if c.principal == "owner":
            assert needle(c) in values, f"{needle(c)} missing from the owner's list"
        elif c.principal == "cross_account":
            assert needle(c) not in values, f"{needle(c)} of account A listed to account B"
    return check


def _list_buckets_paged(s3):
    """ListBuckets with max-buckets, one page at a time: this python's botocore
    may predate the parameters, so they are added to the request's query."""
    def add(params, **kw):
        params["url"] += ("&" if "?" in params["url"] else "?") + "max-buckets=1000"
    s3.meta.events.register("before-call.s3.ListBuckets", add)
    try:
        return s3.list_buckets()
    finally:
        s3.meta.events.unregister("before-call.s3.ListBuckets", add)


def _s3_obj(c):
    return c.fresh_object()


def _tagged_bucket(c):
    b = c.fresh_bucket()
    c.w.s3.put_bucket_tagging(Bucket=b, Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    return b


def _upload(c, parts=0):
    key = c.uniq_key()
    uid = c.w.s3.create_multipart_upload(Bucket=c.bucket, Key=key)["UploadId"]
    etag = None
    if parts:
        etag = c.w.s3.upload_part(Bucket=c.bucket, Key=key, UploadId=uid, PartNumber=1,
                                  Body=b"part-one")["ETag"]
    return {"key": key, "uid": uid, "etag": etag}


# ACL headers: the grants of the two kinds of rows (rules s3-acl-header-*).
ACL_GRANTS = {"no-acl": ["s3:PutObject", "s3:GetObject"],
              "acl": ["s3:PutObject", "s3:PutObjectAcl", "s3:GetObject"],
              # conditional deletes (rules s3-cond-delete-*) use the same kind of world
              "del": ["s3:DeleteObject"],
              "del+get": ["s3:DeleteObject", "s3:GetObject"]}


def _acl_world(w, grant):
    """Made once per world and grant: a bucket whose policy grants account B the actions,
    one granting them to everyone, and a user of account A allowed them by its identity
    policy (its s3 client)."""
    cache = w.__dict__.setdefault("acl_header_world", {})
    if grant in cache:
        return cache[grant]
    actions, made = ACL_GRANTS[grant], {}
    for kind in ("grant", "public"):
        name = w.uniq("authz-acl")
        w.s3.create_bucket(Bucket=name)
        w.s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=w.PAB_OFF)
        who = "*" if kind == "public" else {"AWS": f"arn:aws:iam::{w.account_b}:root"}
        w.s3.put_bucket_policy(Bucket=name, Policy=_doc({
            "Effect": "Allow", "Principal": who, "Action": actions,
            "Resource": f"arn:aws:s3:::{name}/*"}))
        w.s3.put_object(Bucket=name, Key="obj", Body=b"matrix object")
        made[kind] = name
    user = w.uniq("authz-acl-user")
    w.iam.create_user(UserName=user)
    w.iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=_doc({
        "Effect": "Allow", "Action": actions, "Resource": f"arn:aws:s3:::{made['grant']}/*"}))
    k = w.iam.create_access_key(UserName=user)["AccessKey"]
    made["user_s3"] = w.clients_for({"AccessKeyId": k["AccessKeyId"],
                                     "SecretAccessKey": k["SecretAccessKey"]})["s3"]
    cache[grant] = made
    return made


def _acl_target(c, grant):
    """(s3 client, bucket) of a cell of an ACL-header row: the user column is the user
    allowed the grant's actions; account B without a grant uses the bucket without policy."""
    a = _acl_world(c.w, grant)
    if c.principal == "no_policy_user":
        return a["user_s3"], a["grant"]
    return c.s3, (c.bucket if c.kind == "none" else a[c.kind])


def _acl_put(c, grant):
    s3, bucket = _acl_target(c, grant)
    return s3.put_object(Bucket=bucket, Key=c.uniq_key(), Body=b"matrix", ACL="private")


def _acl_copy(c, grant):
    s3, bucket = _acl_target(c, grant)
    return s3.copy_object(Bucket=bucket, Key=c.uniq_key(), CopySource={"Bucket": bucket,
                                                                       "Key": "obj"},
                          ACL="bucket-owner-full-control")


def _acl_create_upload(c, grant):
    s3, bucket = _acl_target(c, grant)
    return s3.create_multipart_upload(Bucket=bucket, Key=c.uniq_key(), ACL="private")


def _acl_header_rows():
    rows = []
    for grant, rule, label in (("no-acl", "s3-acl-header-no-acl-grant", "granted-PutObject"),
                               ("acl", "s3-acl-header-acl-grant",
                                "granted-PutObject+PutObjectAcl")):
        for op, fn in (("PutObject", _acl_put), ("CopyObject", _acl_copy),
                       ("CreateMultipartUpload", _acl_create_upload)):
            rows.append(Row("s3", f"{op}+x-amz-acl/{label}", rule,
                            lambda c, r, fn=fn, grant=grant: fn(c, grant),
                            note="needs s3:PutObjectAcl too"))
    return rows


def _cond_delete(c, grant):
    """The owner puts an object, the cell's caller deletes it with `If-Match: *`."""
    s3, bucket = _acl_target(c, grant)
    key = c.uniq_key()
    c.w.s3.put_object(Bucket=bucket, Key=key, Body=b"matrix")

    def if_match(request, **_):
        request.headers["If-Match"] = "*"

    s3.meta.events.register("before-sign.s3.DeleteObject", if_match)
    try:
        return s3.delete_object(Bucket=bucket, Key=key)
    finally:
        s3.meta.events.unregister("before-sign.s3.DeleteObject", if_match)


def _cond_delete_rows():
    return [Row("s3", f"DeleteObject+If-Match/{label}", rule,
                lambda c, r, grant=grant: _cond_delete(c, grant),
                note="needs s3:GetObject too")
            for grant, rule, label in (("del", "s3-cond-delete-no-get", "granted-DeleteObject"),
                                       ("del+get", "s3-cond-delete-get",
                                        "granted-DeleteObject+GetObject"))]


# --------------------------------------------------------------------------- S3
S3_ROWS = [
    Row("s3", "ListBuckets", "s3-caller-account", lambda c, r: c.s3.list_buckets(),
        check=_not_listed(lambda resp: [b["Name"] for b in resp["Buckets"]],
                          lambda c: c.w.bucket_x)),
    Row("s3", "CreateBucket", "s3-caller-account",
        lambda c, r: c.s3.create_bucket(Bucket=c.new_bucket_name())),
    Row("s3", "HeadBucket", "s3-resource", lambda c, r: c.s3.head_bucket(Bucket=c.bucket)),
    Row("s3", "ListObjects", "s3-resource", lambda c, r: c.s3.list_objects(Bucket=c.bucket)),
    Row("s3", "ListObjectsV2", "s3-resource", lambda c, r: c.s3.list_objects_v2(Bucket=c.bucket)),
    Row("s3", "GetBucketLocation", "s3-resource",
        lambda c, r: c.s3.get_bucket_location(Bucket=c.bucket)),
    Row("s3", "ListMultipartUploads", "s3-resource",
        lambda c, r: c.s3.list_multipart_uploads(Bucket=c.bucket)),
    Row("s3", "DeleteObjects", "s3-resource",
        lambda c, r: c.s3.delete_objects(Bucket=c.bucket, Delete={"Objects": [{"Key": r}]}),
        prep=_s3_obj, outcome=_deleted_errors),
    Row("s3", "DeleteBucket", "s3-resource", lambda c, r: c.s3.delete_bucket(Bucket=r),
        prep=lambda c: c.fresh_bucket()),
    Row("s3", "PutBucketPolicy", "s3-bucket-owner-only",
        lambda c, r: c.s3.put_bucket_policy(Bucket=r, Policy=c.bucket_policy(r)),
        prep=lambda c: c.fresh_bucket()),
    Row("s3", "GetBucketPolicy", "s3-bucket-owner-only",
        lambda c, r: c.s3.get_bucket_policy(Bucket=c.bucket)),
    Row("s3", "DeleteBucketPolicy", "s3-bucket-owner-only",
        lambda c, r: c.s3.delete_bucket_policy(Bucket=r), prep=lambda c: c.fresh_bucket()),
    Row("s3", "GetBucketPolicyStatus", "s3-bucket-owner-only",
        lambda c, r: c.s3.get_bucket_policy_status(Bucket=c.bucket)),
    Row("s3", "PutPublicAccessBlock", "s3-bucket-owner-only",
        lambda c, r: c.s3.put_public_access_block(
            Bucket=r, PublicAccessBlockConfiguration=c.w.PAB_OFF),
        prep=lambda c: c.fresh_bucket()),
    Row("s3", "GetPublicAccessBlock", "s3-bucket-owner-only",
        lambda c, r: c.s3.get_public_access_block(Bucket=c.bucket)),
    Row("s3", "DeletePublicAccessBlock", "s3-bucket-owner-only",
        lambda c, r: c.s3.delete_public_access_block(Bucket=r), prep=lambda c: c.fresh_bucket()),
    Row("s3", "PutBucketEncryption", "s3-bucket-owner-only",
        lambda c, r: c.s3.put_bucket_encryption(
            Bucket=r, ServerSideEncryptionConfiguration=c.w.SSE_AES),
        prep=lambda c: c.fresh_bucket()),
    Row("s3", "GetBucketEncryption", "s3-bucket-owner-only",
        lambda c, r: c.s3.get_bucket_encryption(Bucket=c.bucket)),
    Row("s3", "DeleteBucketEncryption", "s3-bucket-owner-only",
        lambda c, r: c.s3.delete_bucket_encryption(Bucket=r), prep=lambda c: c.fresh_bucket()),
    Row("s3", "PutBucketNotificationConfiguration", "s3-bucket-owner-only",
        lambda c, r: c.s3.put_bucket_notification_configuration(
            Bucket=r, NotificationConfiguration={}),
        prep=lambda c: c.fresh_bucket()),
    Row("s3", "GetBucketNotificationConfiguration", "s3-bucket-owner-only",
        lambda c, r: c.s3.get_bucket_notification_configuration(Bucket=c.bucket)),
    Row("s3", "GetBucketAcl", "s3-resource", lambda c, r: c.s3.get_bucket_acl(Bucket=c.bucket)),
    Row("s3", "PutBucketAcl", "s3-resource",
        lambda c, r: c.s3.put_bucket_acl(Bucket=c.bucket, ACL="private"),
        note="ACLs are disabled (BucketOwnerEnforced): only an ACL granting the owner "
             "FULL_CONTROL is accepted, without effect"),
    Row("s3", "PutBucketOwnershipControls", "s3-bucket-owner-only",
        lambda c, r: c.s3.put_bucket_ownership_controls(
            Bucket=r, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}),
        prep=lambda c: c.fresh_bucket()),
    Row("s3", "GetBucketOwnershipControls", "s3-bucket-owner-only",
        lambda c, r: c.s3.get_bucket_ownership_controls(Bucket=c.bucket)),
    Row("s3", "DeleteBucketOwnershipControls", "s3-bucket-owner-only",
        lambda c, r: c.s3.delete_bucket_ownership_controls(Bucket=r),
        prep=lambda c: c.fresh_bucket()),
    Row("s3", "PutBucketTagging", "s3-resource",
        lambda c, r: c.s3.put_bucket_tagging(
            Bucket=r, Tagging={"TagSet": [{"Key": "k", "Value": "v"}]}),
        prep=lambda c: c.fresh_bucket(), note="s3:PutBucketTagging"),
    Row("s3", "GetBucketTagging", "s3-resource",
        lambda c, r: c.s3.get_bucket_tagging(Bucket=r), prep=_tagged_bucket,
        note="s3:GetBucketTagging"),
    Row("s3", "DeleteBucketTagging", "s3-resource",
        lambda c, r: c.s3.delete_bucket_tagging(Bucket=r), prep=_tagged_bucket,
        note="s3:PutBucketTagging (AWS has no s3:DeleteBucketTagging)"),
    # objects
    Row("s3", "GetObjectAcl", "s3-resource",
        lambda c, r: c.s3.get_object_acl(Bucket=c.bucket, Key="obj")),
    Row("s3", "GetObjectAttributes", "s3-resource",
        lambda c, r: c.s3.get_object_attributes(Bucket=c.bucket, Key="obj",
                                                ObjectAttributes=["ETag", "ObjectSize"]),
        note="needs s3:GetObject and s3:GetObjectAttributes"),
    Row("s3", "PutObjectAcl", "s3-resource",
        lambda c, r: c.s3.put_object_acl(Bucket=c.bucket, Key="obj", ACL="private")),
    Row("s3", "PutObject", "s3-resource",
        lambda c, r: c.s3.put_object(Bucket=c.bucket, Key=c.uniq_key(), Body=b"matrix")),
    Row("s3", "PostObject", "s3-resource",
        lambda c, r: c.post_object(c.uniq_key())),
    Row("s3", "PostObjectSigV2", "s3-resource",
        lambda c, r: c.post_object(c.uniq_key(), v2=True),
        note="PostObject with a Signature Version 2 form (AWSAccessKeyId, signature)"),
    Row("s3", "GetObject", "s3-resource",
        lambda c, r: c.s3.get_object(Bucket=c.bucket, Key="obj")["Body"].read()),
    Row("s3", "HeadObject", "s3-resource",
        lambda c, r: c.s3.head_object(Bucket=c.bucket, Key="obj")),
    Row("s3", "DeleteObject", "s3-resource",
        lambda c, r: c.s3.delete_object(Bucket=c.bucket, Key=r), prep=_s3_obj),
    Row("s3", "CopyObject", "s3-resource",
        lambda c, r: c.s3.copy_object(Bucket=c.bucket, Key=c.uniq_key(),
                                      CopySource={"Bucket": c.bucket, "Key": "obj"})),
    Row("s3", "PutObjectTagging", "s3-resource",
        lambda c, r: c.s3.put_object_tagging(Bucket=c.bucket, Key=r,
                                             Tagging={"TagSet": [{"Key": "k", "Value": "v"}]}),
        prep=_s3_obj),
    Row("s3", "GetObjectTagging", "s3-resource",
        lambda c, r: c.s3.get_object_tagging(Bucket=c.bucket, Key="obj")),
    Row("s3", "DeleteObjectTagging", "s3-resource",
        lambda c, r: c.s3.delete_object_tagging(Bucket=c.bucket, Key=r), prep=_s3_obj),
    # multipart
    Row("s3", "CreateMultipartUpload", "s3-resource",
        lambda c, r: c.s3.create_multipart_upload(Bucket=c.bucket, Key=c.uniq_key())),
    Row("s3", "UploadPart", "s3-resource",
        lambda c, r: c.s3.upload_part(Bucket=c.bucket, Key=r["key"], UploadId=r["uid"],
                                      PartNumber=1, Body=b"part"),
        prep=_upload),
    Row("s3", "UploadPartCopy", "s3-resource",
        lambda c, r: c.s3.upload_part_copy(Bucket=c.bucket, Key=r["key"], UploadId=r["uid"],
                                           PartNumber=1,
                                           CopySource={"Bucket": c.bucket, "Key": "obj"}),
        prep=_upload),
    Row("s3", "CompleteMultipartUpload", "s3-resource",
        lambda c, r: c.s3.complete_multipart_upload(
            Bucket=c.bucket, Key=r["key"], UploadId=r["uid"],
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": r["etag"]}]}),
        prep=lambda c: _upload(c, parts=1)),
    Row("s3", "AbortMultipartUpload", "s3-resource",
        lambda c, r: c.s3.abort_multipart_upload(Bucket=c.bucket, Key=r["key"], UploadId=r["uid"]),
        prep=_upload),
    Row("s3", "ListParts", "s3-resource",
        lambda c, r: c.s3.list_parts(Bucket=c.bucket, Key=r["key"], UploadId=r["uid"]),
        prep=lambda c: _upload(c, parts=1)),
    # versioning (the matrix buckets are never versioned: their objects are version "null")
    Row("s3", "PutBucketVersioning", "s3-resource",
        lambda c, r: c.s3.put_bucket_versioning(Bucket=r,
                                                VersioningConfiguration={"Status": "Enabled"}),
        prep=lambda c: c.fresh_bucket(), note="s3:PutBucketVersioning"),
    Row("s3", "GetBucketVersioning", "s3-resource",
        lambda c, r: c.s3.get_bucket_versioning(Bucket=c.bucket), note="s3:GetBucketVersioning"),
    Row("s3", "ListObjectVersions", "s3-resource",
        lambda c, r: c.s3.list_object_versions(Bucket=c.bucket), note="s3:ListBucketVersions"),
    Row("s3", "GetObject?versionId", "s3-resource",
        lambda c, r: c.s3.get_object(Bucket=c.bucket, Key="obj", VersionId="null")["Body"].read(),
        note="s3:GetObjectVersion"),
    Row("s3", "HeadObject?versionId", "s3-resource",
        lambda c, r: c.s3.head_object(Bucket=c.bucket, Key="obj", VersionId="null"),
        note="s3:GetObjectVersion"),
    Row("s3", "DeleteObject?versionId", "s3-resource",
        lambda c, r: c.s3.delete_object(Bucket=c.bucket, Key=r, VersionId="null"), prep=_s3_obj,
        note="s3:DeleteObjectVersion"),
    Row("s3", "DeleteObjects+VersionId", "s3-resource",
        lambda c, r: c.s3.delete_objects(Bucket=c.bucket, Delete={
            "Objects": [{"Key": r, "VersionId": "null"}]}),
        prep=_s3_obj, outcome=_deleted_errors, note="s3:DeleteObjectVersion"),
    Row("s3", "CopyObject?versionId", "s3-resource",
        lambda c, r: c.s3.copy_object(Bucket=c.bucket, Key=c.uniq_key(), CopySource={
            "Bucket": c.bucket, "Key": "obj", "VersionId": "null"}),
        note="s3:GetObjectVersion on the source"),
    Row("s3", "GetObjectTagging?versionId", "s3-resource",
        lambda c, r: c.s3.get_object_tagging(Bucket=c.bucket, Key="obj", VersionId="null"),
        note="s3:GetObjectVersionTagging"),
    Row("s3", "PutObjectTagging?versionId", "s3-resource",
        lambda c, r: c.s3.put_object_tagging(Bucket=c.bucket, Key=r, VersionId="null",
                                             Tagging={"TagSet": [{"Key": "k", "Value": "v"}]}),
        prep=_s3_obj, note="s3:PutObjectVersionTagging"),
    Row("s3", "DeleteObjectTagging?versionId", "s3-resource",
        lambda c, r: c.s3.delete_object_tagging(Bucket=c.bucket, Key=r, VersionId="null"),
        prep=_s3_obj, note="s3:DeleteObjectVersionTagging"),
    Row("s3", "GetObjectAcl?versionId", "s3-resource",
        lambda c, r: c.s3.get_object_acl(Bucket=c.bucket, Key="obj", VersionId="null"),
        note="s3:GetObjectVersionAcl"),
    Row("s3", "PutObjectAcl?versionId", "s3-resource",
        lambda c, r: c.s3.put_object_acl(Bucket=c.bucket, Key="obj", VersionId="null",
                                         ACL="private"),
        note="s3:PutObjectVersionAcl"),
    Row("s3", "ListBuckets?max-buckets", "s3-caller-account",
        lambda c, r: _list_buckets_paged(c.s3),
        check=_not_listed(lambda resp: [b["Name"] for b in resp["Buckets"]],
                          lambda c: c.w.bucket_x),
        note="s3:ListAllMyBuckets; paged (max-buckets, continuation-token)"),
    Row("s3", "GetObjectAttributes?versionId", "s3-resource",
        lambda c, r: c.s3.get_object_attributes(Bucket=c.bucket, Key="obj", VersionId="null",
                                                ObjectAttributes=["ETag", "ObjectSize"]),
        note="s3:GetObjectVersion and s3:GetObjectVersionAttributes"),
]
S3_ROWS += _acl_header_rows()
S3_ROWS += _cond_delete_rows()

# --------------------------------------------------------------------------- S3 Control
S3CONTROL_ROWS = [
    Row("s3control", "GetPublicAccessBlock", "s3control-account-only",
        lambda c, r: c.s3control.get_public_access_block(AccountId=c.w.account_a),
        prep=lambda c: c.w.put_account_pab_off()),
    Row("s3control", "PutPublicAccessBlock", "s3control-account-only",
        lambda c, r: c.s3control.put_public_access_block(
            AccountId=c.w.account_a, PublicAccessBlockConfiguration=c.w.PAB_OFF)),
    Row("s3control", "DeletePublicAccessBlock", "s3control-account-only",
        lambda c, r: c.s3control.delete_public_access_block(AccountId=c.w.account_a),
        prep=lambda c: c.w.put_account_pab_off()),
]


# --------------------------------------------------------------------------- KMS
def _ciphertext(c):
    return c.w.kms.encrypt(KeyId=c.key, Plaintext=b"matrix")["CiphertextBlob"]


def _signature(c):
    return c.w.kms.sign(KeyId=c.sign_key, Message=b"matrix", MessageType="RAW",
                        SigningAlgorithm="ECDSA_SHA_256")["Signature"]


def _grant(c):
    return c.w.kms.create_grant(KeyId=c.key, GranteePrincipal=c.w.grantee_arn,
                                Operations=["Decrypt"])["GrantId"]


def _alias(c):
    name = "alias/" + c.w.uniq("authz")
    c.w.kms.create_alias(AliasName=name, TargetKeyId=c.key)
    return name


KMS_ROWS = [
    Row("kms", "CreateKey", "kms-caller-account",
        lambda c, r: c.kms.create_key(Description="authz matrix")),
    Row("kms", "ListKeys", "kms-caller-account", lambda c, r: c.kms.list_keys(Limit=1000),
        check=_not_listed(lambda resp: [k["KeyArn"] for k in resp["Keys"]], lambda c: c.w.key_x)),
    Row("kms", "ListAliases", "kms-caller-account", lambda c, r: c.kms.list_aliases(Limit=100),
        check=_not_listed(lambda resp: [a["AliasName"] for a in resp["Aliases"]],
                          lambda c: c.w.alias_x)),
    Row("kms", "GenerateRandom", "kms-caller-account",
        lambda c, r: c.kms.generate_random(NumberOfBytes=16)),
    Row("kms", "DescribeKey", "kms-cross-account", lambda c, r: c.kms.describe_key(KeyId=c.key)),
    Row("kms", "Encrypt", "kms-cross-account",
        lambda c, r: c.kms.encrypt(KeyId=c.key, Plaintext=b"matrix")),
    Row("kms", "Decrypt", "kms-cross-account",
        lambda c, r: c.kms.decrypt(KeyId=c.key, CiphertextBlob=r), prep=_ciphertext),
    Row("kms", "ReEncrypt", "kms-cross-account",
        lambda c, r: c.kms.re_encrypt(CiphertextBlob=r, SourceKeyId=c.key,
                                      DestinationKeyId=c.key),
        prep=_ciphertext),
    Row("kms", "GenerateDataKey", "kms-cross-account",
        lambda c, r: c.kms.generate_data_key(KeyId=c.key, KeySpec="AES_256")),
    Row("kms", "GenerateDataKeyWithoutPlaintext", "kms-cross-account",
        lambda c, r: c.kms.generate_data_key_without_plaintext(KeyId=c.key, KeySpec="AES_256")),
    Row("kms", "Sign", "kms-cross-account",
        lambda c, r: c.kms.sign(KeyId=c.sign_key, Message=b"matrix", MessageType="RAW",
                                SigningAlgorithm="ECDSA_SHA_256")),
    Row("kms", "Verify", "kms-cross-account",
        lambda c, r: c.kms.verify(KeyId=c.sign_key, Message=b"matrix", MessageType="RAW",
                                  Signature=r, SigningAlgorithm="ECDSA_SHA_256"),
        prep=_signature),
    Row("kms", "GetPublicKey", "kms-cross-account",
        lambda c, r: c.kms.get_public_key(KeyId=c.sign_key)),
    Row("kms", "GetKeyRotationStatus", "kms-cross-account",
        lambda c, r: c.kms.get_key_rotation_status(KeyId=c.key)),
    Row("kms", "CreateGrant", "kms-cross-account",
        lambda c, r: c.kms.create_grant(KeyId=c.key, GranteePrincipal=c.w.grantee_arn,
                                        Operations=["Decrypt"])),
    Row("kms", "ListGrants", "kms-cross-account", lambda c, r: c.kms.list_grants(KeyId=c.key)),
    Row("kms", "RevokeGrant", "kms-cross-account",
        lambda c, r: c.kms.revoke_grant(KeyId=c.key, GrantId=r), prep=_grant),
    Row("kms", "RetireGrant", "kms-retire-grant",
        lambda c, r: c.kms.retire_grant(KeyId=c.key, GrantId=r), prep=_grant),
    Row("kms", "EnableKey", "kms-same-account", lambda c, r: c.kms.enable_key(KeyId=c.key)),
    Row("kms", "DisableKey", "kms-same-account", lambda c, r: c.kms.disable_key(KeyId=r),
        prep=lambda c: c.fresh_key()),
    Row("kms", "ScheduleKeyDeletion", "kms-same-account",
        lambda c, r: c.kms.schedule_key_deletion(KeyId=r, PendingWindowInDays=7),
        prep=lambda c: c.fresh_key()),
    Row("kms", "CancelKeyDeletion", "kms-same-account",
        lambda c, r: c.kms.cancel_key_deletion(KeyId=r),
        prep=lambda c: c.fresh_key(scheduled=True)),
    Row("kms", "UpdateKeyDescription", "kms-same-account",
        lambda c, r: c.kms.update_key_description(KeyId=c.key, Description="authz matrix")),
    Row("kms", "PutKeyPolicy", "kms-same-account",
        lambda c, r: c.kms.put_key_policy(KeyId=c.key, PolicyName="default",
                                          Policy=c.key_policy())),
    Row("kms", "GetKeyPolicy", "kms-same-account",
        lambda c, r: c.kms.get_key_policy(KeyId=c.key, PolicyName="default")),
    Row("kms", "ListKeyPolicies", "kms-same-account",
        lambda c, r: c.kms.list_key_policies(KeyId=c.key)),
    Row("kms", "EnableKeyRotation", "kms-same-account",
        lambda c, r: c.kms.enable_key_rotation(KeyId=c.key)),
    Row("kms", "DisableKeyRotation", "kms-same-account",
        lambda c, r: c.kms.disable_key_rotation(KeyId=c.key)),
    Row("kms", "RotateKeyOnDemand", "kms-same-account",
        lambda c, r: c.kms_raw("RotateKeyOnDemand", {"KeyId": r}), prep=lambda c: c.fresh_key()),
    Row("kms", "CreateAlias", "kms-same-account",
        lambda c, r: c.kms.create_alias(AliasName="alias/" + c.w.uniq("authz"), TargetKeyId=c.key)),
    Row("kms", "UpdateAlias", "kms-alias-same-account",
        lambda c, r: c.kms.update_alias(AliasName=r, TargetKeyId=c.key), prep=_alias),
    Row("kms", "DeleteAlias", "kms-alias-same-account",
        lambda c, r: c.kms.delete_alias(AliasName=r), prep=_alias),
]


# --------------------------------------------------------------------------- IAM
def _fresh_user(c):
    name = c.w.uniq("authz-u")
    c.w.iam.create_user(UserName=name)
    return name


def _fresh_user_key(c):
    name = _fresh_user(c)
    return name, c.w.iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]


def _fresh_role(c):
    name = c.w.uniq("authz-r")
    c.w.iam.create_role(RoleName=name, AssumeRolePolicyDocument=c.w.trust_doc)
    return name


def _fresh_policy(c):
    return c.w.iam.create_policy(PolicyName=c.w.uniq("authz-p"),
                                 PolicyDocument=ALLOW_NOTHING)["Policy"]["Arn"]


def _inline(kind):
    def prep(c):
        name = c.w.uniq("inl")
        if kind == "user":
            c.w.iam.put_user_policy(UserName=c.w.user_t, PolicyName=name,
                                    PolicyDocument=ALLOW_NOTHING)
        else:
            c.w.iam.put_role_policy(RoleName=c.w.role_t, PolicyName=name,
                                    PolicyDocument=ALLOW_NOTHING)
        return name
    return prep


def _attached(kind):
    def prep(c):
        if kind == "user":
            c.w.iam.attach_user_policy(UserName=c.w.user_t, PolicyArn=c.w.policy_arn)
        else:
            c.w.iam.attach_role_policy(RoleName=c.w.role_t, PolicyArn=c.w.policy_arn)
    return prep


def _fresh_group(c):
    name = c.w.uniq("authz-g")
    c.w.iam.create_group(GroupName=name)
    return name


def _group_with(what):
    """A fresh group with a member, an inline policy or the test policy attached."""
    def prep(c):
        g = _fresh_group(c)
        if what == "member":
            c.w.iam.add_user_to_group(GroupName=g, UserName=c.w.user_t)
        elif what == "inline":
            c.w.iam.put_group_policy(GroupName=g, PolicyName="inl", PolicyDocument=ALLOW_NOTHING)
        else:
            c.w.iam.attach_group_policy(GroupName=g, PolicyArn=c.w.policy_arn)
        return g
    return prep


def _groups_not_listed(c, resp):
    """The owner sees its groups (made by prep); another account sees none of them."""
    mine = [x for x in resp["Groups"] if x["GroupName"].startswith("authz-g")]
    assert bool(mine) == (c.principal == "owner") or c.principal == "no_policy_user", resp


IAM_GROUP_ROWS = [
    Row("iam", "CreateGroup", "iam-caller-account",
        lambda c, r: c.iam.create_group(GroupName=c.w.uniq("authz-new"))),
    Row("iam", "GetGroup", "iam-same-account", lambda c, r: c.iam.get_group(GroupName=r),
        prep=_fresh_group),
    Row("iam", "ListGroups", "iam-caller-account", lambda c, r: c.iam.list_groups(),
        prep=_fresh_group, check=_groups_not_listed),
    Row("iam", "DeleteGroup", "iam-same-account", lambda c, r: c.iam.delete_group(GroupName=r),
        prep=_fresh_group),
    Row("iam", "AddUserToGroup", "iam-same-account",
        lambda c, r: c.iam.add_user_to_group(GroupName=r, UserName=c.w.user_t),
        prep=_fresh_group),
    Row("iam", "RemoveUserFromGroup", "iam-same-account",
        lambda c, r: c.iam.remove_user_from_group(GroupName=r, UserName=c.w.user_t),
        prep=_group_with("member")),
    Row("iam", "ListGroupsForUser", "iam-same-account",
        lambda c, r: c.iam.list_groups_for_user(UserName=c.w.user_t)),
    Row("iam", "PutGroupPolicy", "iam-same-account",
        lambda c, r: c.iam.put_group_policy(GroupName=r, PolicyName="authz-inline",
                                            PolicyDocument=ALLOW_NOTHING), prep=_fresh_group),
    Row("iam", "GetGroupPolicy", "iam-same-account",
        lambda c, r: c.iam.get_group_policy(GroupName=r, PolicyName="inl"),
        prep=_group_with("inline")),
    Row("iam", "DeleteGroupPolicy", "iam-same-account",
        lambda c, r: c.iam.delete_group_policy(GroupName=r, PolicyName="inl"),
        prep=_group_with("inline")),
    Row("iam", "ListGroupPolicies", "iam-same-account",
        lambda c, r: c.iam.list_group_policies(GroupName=r), prep=_fresh_group),
    Row("iam", "AttachGroupPolicy", "iam-same-account",
        lambda c, r: c.iam.attach_group_policy(GroupName=r, PolicyArn=c.w.policy_arn),
        prep=_fresh_group),
    Row("iam", "DetachGroupPolicy", "iam-same-account",
        lambda c, r: c.iam.detach_group_policy(GroupName=r, PolicyArn=c.w.policy_arn),
        prep=_group_with("attached")),
    Row("iam", "ListAttachedGroupPolicies", "iam-same-account",
        lambda c, r: c.iam.list_attached_group_policies(GroupName=r), prep=_fresh_group),
    Row("iam", "UpdateUser", "iam-same-account",
        lambda c, r: c.iam.update_user(UserName=r, NewPath="/moved/"), prep=_fresh_user),
    Row("iam", "GetAccountSummary", "iam-caller-account",
        lambda c, r: c.iam.get_account_summary()),
    Row("iam", "ListEntitiesForPolicy", "iam-same-account-arn",
        lambda c, r: c.iam.list_entities_for_policy(PolicyArn=c.w.policy_arn)),
]

IAM_ROWS = [
    Row("iam", "CreateUser", "iam-caller-account",
        lambda c, r: c.iam.create_user(UserName=c.w.uniq("authz-new"))),
    Row("iam", "GetUser", "iam-same-account", lambda c, r: c.iam.get_user(UserName=c.w.user_t)),
    Row("iam", "ListUsers", "iam-caller-account", lambda c, r: c.iam.list_users(),
        check=_not_listed(lambda resp: [u["UserName"] for u in resp["Users"]],
                          lambda c: c.w.user_t)),
    Row("iam", "DeleteUser", "iam-same-account", lambda c, r: c.iam.delete_user(UserName=r),
        prep=_fresh_user),
    Row("iam", "CreateAccessKey", "iam-same-account",
        lambda c, r: c.iam.create_access_key(UserName=r), prep=_fresh_user),
    Row("iam", "ListAccessKeys", "iam-same-account",
        lambda c, r: c.iam.list_access_keys(UserName=c.w.user_t)),
    Row("iam", "UpdateAccessKey", "iam-same-account",
        lambda c, r: c.iam.update_access_key(UserName=r[0], AccessKeyId=r[1], Status="Inactive"),
        prep=_fresh_user_key),
    Row("iam", "DeleteAccessKey", "iam-same-account",
        lambda c, r: c.iam.delete_access_key(UserName=r[0], AccessKeyId=r[1]),
        prep=_fresh_user_key),
    Row("iam", "CreateRole", "iam-caller-account",
        lambda c, r: c.iam.create_role(RoleName=c.w.uniq("authz-new"),
                                       AssumeRolePolicyDocument=c.w.trust_doc)),
    Row("iam", "GetRole", "iam-same-account", lambda c, r: c.iam.get_role(RoleName=c.w.role_t)),
    Row("iam", "ListRoles", "iam-caller-account", lambda c, r: c.iam.list_roles(),
        check=_not_listed(lambda resp: [x["RoleName"] for x in resp["Roles"]],
                          lambda c: c.w.role_t)),
    Row("iam", "UpdateRole", "iam-same-account",
        lambda c, r: c.iam.update_role(RoleName=c.w.role_t, Description="authz matrix")),
    Row("iam", "UpdateAssumeRolePolicy", "iam-same-account",
        lambda c, r: c.iam.update_assume_role_policy(RoleName=c.w.role_t,
                                                     PolicyDocument=c.w.trust_doc)),
    Row("iam", "DeleteRole", "iam-same-account", lambda c, r: c.iam.delete_role(RoleName=r),
        prep=_fresh_role),
    Row("iam", "CreatePolicy", "iam-caller-account",
        lambda c, r: c.iam.create_policy(PolicyName=c.w.uniq("authz-new"),
                                         PolicyDocument=ALLOW_NOTHING)),
    Row("iam", "GetPolicy", "iam-same-account-arn",
        lambda c, r: c.iam.get_policy(PolicyArn=c.w.policy_arn)),
    Row("iam", "GetPolicyVersion", "iam-same-account-arn",
        lambda c, r: c.iam.get_policy_version(PolicyArn=c.w.policy_arn, VersionId="v1")),
    Row("iam", "DeletePolicy", "iam-same-account-arn",
        lambda c, r: c.iam.delete_policy(PolicyArn=r), prep=_fresh_policy),
    Row("iam", "ListPolicies", "iam-caller-account",
        lambda c, r: c.iam.list_policies(Scope="Local"),
        check=_not_listed(lambda resp: [p["Arn"] for p in resp["Policies"]],
                          lambda c: c.w.policy_arn)),
    Row("iam", "PutUserPolicy", "iam-same-account",
        lambda c, r: c.iam.put_user_policy(UserName=c.w.user_t, PolicyName="authz-inline",
                                           PolicyDocument=ALLOW_NOTHING)),
    Row("iam", "GetUserPolicy", "iam-same-account",
        lambda c, r: c.iam.get_user_policy(UserName=c.w.user_t, PolicyName=r),
        prep=_inline("user")),
    Row("iam", "DeleteUserPolicy", "iam-same-account",
        lambda c, r: c.iam.delete_user_policy(UserName=c.w.user_t, PolicyName=r),
        prep=_inline("user")),
    Row("iam", "ListUserPolicies", "iam-same-account",
        lambda c, r: c.iam.list_user_policies(UserName=c.w.user_t)),
    Row("iam", "PutRolePolicy", "iam-same-account",
        lambda c, r: c.iam.put_role_policy(RoleName=c.w.role_t, PolicyName="authz-inline",
                                           PolicyDocument=ALLOW_NOTHING)),
    Row("iam", "GetRolePolicy", "iam-same-account",
        lambda c, r: c.iam.get_role_policy(RoleName=c.w.role_t, PolicyName=r),
        prep=_inline("role")),
    Row("iam", "DeleteRolePolicy", "iam-same-account",
        lambda c, r: c.iam.delete_role_policy(RoleName=c.w.role_t, PolicyName=r),
        prep=_inline("role")),
    Row("iam", "ListRolePolicies", "iam-same-account",
        lambda c, r: c.iam.list_role_policies(RoleName=c.w.role_t)),
    Row("iam", "AttachUserPolicy", "iam-same-account",
        lambda c, r: c.iam.attach_user_policy(UserName=c.w.user_t, PolicyArn=c.w.policy_arn)),
    Row("iam", "DetachUserPolicy", "iam-same-account",
        lambda c, r: c.iam.detach_user_policy(UserName=c.w.user_t, PolicyArn=c.w.policy_arn),
        prep=_attached("user")),
    Row("iam", "ListAttachedUserPolicies", "iam-same-account",
        lambda c, r: c.iam.list_attached_user_policies(UserName=c.w.user_t)),
    Row("iam", "AttachRolePolicy", "iam-same-account",
        lambda c, r: c.iam.attach_role_policy(RoleName=c.w.role_t, PolicyArn=c.w.policy_arn)),
    Row("iam", "DetachRolePolicy", "iam-same-account",
        lambda c, r: c.iam.detach_role_policy(RoleName=c.w.role_t, PolicyArn=c.w.policy_arn),
        prep=_attached("role")),
    Row("iam", "ListAttachedRolePolicies", "iam-same-account",
        lambda c, r: c.iam.list_attached_role_policies(RoleName=c.w.role_t)),
]

# --------------------------------------------------------------------------- STS, Cloister
STS_ROWS = [
    Row("sts", "AssumeRole", "sts-trust-policy",
        lambda c, r: c.sts.assume_role(RoleArn=c.role, RoleSessionName="authz-matrix")),
    Row("sts", "GetCallerIdentity", "sts-no-permission", lambda c, r: c.sts.get_caller_identity()),
    Row("sts", "GetSessionToken", "sts-no-permission", lambda c, r: c.sts.get_session_token()),
]

EMPTY_BUNDLE = "A" * 1366 + "=="  # base64 of the two zero blocks: the canonical empty bundle


def _owner_app_arn(c, name):
    return f"arn:aws:cloister:{c.w.region}:{c.w.account_a}:app/{name}"


def _fresh_account(c):
    """An account created by the first account's admin; -> its name."""
    owner = type(c)(c.w, "owner")
    name = c.w.uniq("authz-reset")
    owner.cloister("CreateAccount", {"AccountName": name})
    return name


def _fresh_app(c):
    """An app of the owner's account, created by its admin; -> its ARN."""
    owner = type(c)(c.w, "owner")
    return owner.cloister("CreateApp", {"Name": c.w.uniq("app"), "Entrypoint": "/app/run",
                                        "Bundle": EMPTY_BUNDLE})["Arn"]


def _fresh_app_proof(c):
    """A fresh app and a valid owner proof for it (docs/apps.md): (ARN, Owner+Signature)."""
    from eth_sign import app_address, owner_proof
    arn = _fresh_app(c)
    acct, name = arn.split(":")[4], arn.split("/")[-1]
    return arn, owner_proof(0x1234567 * 999, app_address(acct, name))


def _fresh_app_secret(c):
    """A fresh app of the owner's account with its app secret set; -> its ARN."""
    arn = _fresh_app(c)
    type(c)(c.w, "owner").cloister("PutAppSecret", {"App": arn, "Value": "v"})
    return arn


def _fresh_secret(c):
    """A secret of the owner account's admin; -> its name."""
    name = c.w.uniq("s")
    type(c)(c.w, "owner").cloister("PutSecret", {"Name": name, "Value": "v"})
    return name


WALLET_KEY = 0x4242 * 21


def _link_wallet(c):
    """Links the test wallet to the cell's principal (docs/secrets.md), as that principal."""
    from eth_sign import address, personal_sign
    addr = address(WALLET_KEY)
    try:
        sig = personal_sign(WALLET_KEY, bytes.fromhex(
            c.cloister("GetWalletChallenge", {"Address": addr})["Challenge"][2:]))
    except Exception:  # a refused caller: LinkWallet's own answer is the outcome
        if c.principal in ("owner", "cross_account", "cross_account_no_grant"):
            raise
        sig = "0x" + "00" * 65
    return c.cloister("LinkWallet", {"Address": addr, "Signature": sig})


def _prep_link(c):
    """A wallet linked for the cell's principal, where it may link one."""
    try:
        return _link_wallet(c)
    except Exception:
        if c.principal in ("owner", "cross_account", "cross_account_no_grant"):
            raise
        return None


def _not_listed_app(c, resp):
    assert all(a["Account"] == c.w.account_b for a in resp["Apps"]) or c.principal == "owner", \
        resp


def _fresh_task(c, wait_done=False):
    """A task of the owner's account: a one-line shell app run by the owner's admin
    (waits until it is done when wait_done); -> its TaskId."""
    import subprocess
    import tempfile
    import time
    from pathlib import Path
    from conftest import BIN, REGION
    owner = type(c)(c.w, "owner")
    creds = c.w.creds["owner"]
    name = c.w.uniq("runapp")
    with tempfile.TemporaryDirectory() as d:
        Path(d, "run").write_text("echo '{\"deterministic-output-path\":\"/iexec_out/r\"}' "
                                  "> /iexec_out/computed.json; echo ok > /iexec_out/r\n")
        env = {"PATH": "/usr/bin:/bin", "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
               "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"], "AWS_DEFAULT_REGION": REGION,
               "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
        subprocess.run([str(BIN), "app", "deploy", d, "--name", name, "--entrypoint",
                        "/bin/sh /app/run", "--endpoint", c.w.srv.endpoint], env=env,
                       check=True, capture_output=True)
    task = owner.cloister("RunApp", {"Name": name})["TaskId"]
    for _ in range(200):
        if not wait_done:
            break
        if owner.cloister("GetTask", {"TaskId": task})["Task"]["State"] in ("done", "failed"):
            break
        time.sleep(0.05)
    return task


def _fresh_done_task(c):
    return _fresh_task(c, wait_done=True)


NOBODY_ROLE = "arn:aws:iam::000000000000:role/no-worker-holds-this"


def _queued_task(c):
    """A task that stays queued: it requires a role no worker holds."""
    owner = type(c)(c.w, "owner")
    app = _fresh_app(c)
    return owner.cloister("SubmitRequest", {"App": app, "RequireRole": NOBODY_ROLE})["TaskId"]


def _cancelled_task(c):
    owner = type(c)(c.w, "owner")
    task = _queued_task(c)
    owner.cloister("CancelTask", {"TaskId": task})
    return task


def _signer_key_set(name):
    import base64
    return {"Name": name, "KmsKeyId": "alias/signer",
            "EncryptedDataKey": base64.b64encode(b"edk").decode(),
            "Keys": [{"Pubkey": "0x" + "01" * 48,
                      "Sealed": base64.b64encode(b"s" * 60).decode()}]}


def _fresh_signer_keys(c):
    """A signer key set of the owner's account (docs/signer.md); -> its ARN."""
    owner = type(c)(c.w, "owner")
    return owner.cloister("PutSignerKeys", _signer_key_set(c.w.uniq("ks")))["Arn"]


def _owner_signer_keys_arn(c):
    return f"arn:aws:cloister:{c.w.region}:{c.w.account_a}:signer-keys/{c.w.uniq('ks')}"


def _not_listed_signer_keys(c, resp):
    owner = type(c)(c.w, "owner")
    if c.principal.startswith("cross_account"):
        mine = {s["Arn"] for s in owner.cloister("ListSignerKeys", {})["SignerKeys"]}
        assert not mine & {s["Arn"] for s in resp["SignerKeys"]}


def _not_listed_task(c, resp):
    owner = type(c)(c.w, "owner")
    if c.principal.startswith("cross_account"):
        mine = {t["TaskId"] for t in owner.cloister("ListTasks", {})["Tasks"]}
        assert not mine & {t["TaskId"] for t in resp["Tasks"]}


def _owner_queue(c):
    """A notification queue of the owner's account (it exists once written to)."""
    return f"arn:aws:sqs:{c.w.region}:{c.w.account_a}:authz-q"


def _owner_queue_message(c):
    """A received message of the owner's queue: (queue, receipt handle). A bucket of
    the owner with a QueueConfiguration gets one object; the owner receives its event."""
    owner = type(c)(c.w, "owner")
    q = _owner_queue(c)
    s3 = c.w.s3
    b = c.w.uniq("authzq")
    s3.create_bucket(Bucket=b)
    s3.put_bucket_notification_configuration(Bucket=b, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": q, "Events": ["s3:ObjectCreated:*"]}]})
    s3.put_object(Bucket=b, Key="k", Body=b"v")
    for _ in range(200):
        msgs = owner.cloister("ReceiveEvents", {"Queue": q, "MaxMessages": 10})["Messages"]
        mine = [m for m in msgs if json.loads(m["Body"])["Records"][0]["s3"]["bucket"]["name"] == b]
        if mine:
            return q, mine[0]["ReceiptHandle"]
        time.sleep(0.02)
    raise AssertionError("no event reached the queue")


BOGUS_LEASE = {"TaskId": "0x" + "00" * 32, "LeaseId": "0" * 32}


CLOISTER_ROWS = [
    Row("cloister", "CreateAccount", "cloister-first-account",
        lambda c, r: c.cloister("CreateAccount", {"AccountName": c.w.uniq("authz-acct")})),
    Row("cloister", "ListAccounts", "cloister-first-account",
        lambda c, r: c.cloister("ListAccounts", {})),
    Row("cloister", "ResetAdminKey", "cloister-first-account",
        lambda c, r: c.cloister("ResetAdminKey", {"Account": r}), prep=_fresh_account),
    Row("cloister", "CreateApp", "cloister-app-same-account",
        lambda c, r: c.cloister("CreateApp", {"Name": _owner_app_arn(c, c.w.uniq("app")),
                                              "Entrypoint": "/app/run",
                                              "Bundle": EMPTY_BUNDLE})),
    Row("cloister", "GetApp", "cloister-app-same-account",
        lambda c, r: c.cloister("GetApp", {"Name": r}), prep=_fresh_app),
    Row("cloister", "ListApps", "cloister-app-own-list",
        lambda c, r: c.cloister("ListApps", {}), prep=_fresh_app, check=_not_listed_app),
    Row("cloister", "DeleteApp", "cloister-app-same-account",
        lambda c, r: c.cloister("DeleteApp", {"Name": r}), prep=_fresh_app),
    Row("cloister", "SetAppOwner", "cloister-app-same-account",
        lambda c, r: c.cloister("SetAppOwner", dict(r[1], Name=r[0])), prep=_fresh_app_proof),
    Row("cloister", "PutAppSecret", "cloister-app-same-account",
        lambda c, r: c.cloister("PutAppSecret", {"App": r, "Value": "v"}), prep=_fresh_app),
    Row("cloister", "DescribeAppSecret", "cloister-app-same-account",
        lambda c, r: c.cloister("DescribeAppSecret", {"App": r}), prep=_fresh_app_secret),
    Row("cloister", "PutSecret", "cloister-caller-own",
        lambda c, r: c.cloister("PutSecret", {"Name": c.w.uniq("s"), "Value": "v"})),
    Row("cloister", "DescribeSecret", "cloister-secret-own",
        lambda c, r: c.cloister("DescribeSecret", {"Name": r}), prep=_fresh_secret),
    Row("cloister", "GetWalletChallenge", "cloister-caller-own",
        lambda c, r: c.cloister("GetWalletChallenge", {"Address": "0x" + "ab" * 20})),
    Row("cloister", "LinkWallet", "cloister-caller-own", lambda c, r: _link_wallet(c)),
    Row("cloister", "GetWallet", "cloister-caller-own",
        lambda c, r: c.cloister("GetWallet", {}), prep=_prep_link),
    Row("cloister", "UnlinkWallet", "cloister-caller-own",
        lambda c, r: c.cloister("UnlinkWallet", {})),
    Row("cloister", "RunApp", "cloister-app-same-account",
        lambda c, r: c.cloister("RunApp", {"Name": r}), prep=_fresh_app),
    Row("cloister", "GetTask", "cloister-task-same-account",
        lambda c, r: c.cloister("GetTask", {"TaskId": r}), prep=_fresh_task),
    Row("cloister", "GetTaskLogs", "cloister-task-same-account",
        lambda c, r: c.cloister("GetTaskLogs", {"TaskId": r}), prep=_fresh_task),
    Row("cloister", "GetTaskResult", "cloister-task-same-account",
        lambda c, r: c.cloister("GetTaskResult", {"TaskId": r}), prep=_fresh_done_task),
    Row("cloister", "ListTasks", "cloister-task-own-list",
        lambda c, r: c.cloister("ListTasks", {}), prep=_fresh_task, check=_not_listed_task),
    Row("cloister", "CancelTask", "cloister-task-same-account",
        lambda c, r: c.cloister("CancelTask", {"TaskId": r}), prep=_queued_task),
    Row("cloister", "RetryTask", "cloister-task-same-account",
        lambda c, r: c.cloister("RetryTask", {"TaskId": r}), prep=_cancelled_task),
    Row("cloister", "SubmitRequest", "cloister-app-same-account",
        lambda c, r: c.cloister("SubmitRequest", {"App": r, "RequireRole": NOBODY_ROLE}),
        prep=_fresh_app),
    Row("cloister", "PutTriggerOptions", "cloister-trigger-own",
        lambda c, r: c.cloister("PutTriggerOptions", {"Bucket": "b", "Id": "t", "Args": ["x"]})),
    Row("cloister", "ReceiveEvents", "cloister-app-same-account",
        lambda c, r: c.cloister("ReceiveEvents", {"Queue": r}), prep=_owner_queue),
    Row("cloister", "DeleteEvent", "cloister-app-same-account",
        lambda c, r: c.cloister("DeleteEvent", {"Queue": r[0], "ReceiptHandle": r[1]}),
        prep=_owner_queue_message),
    Row("cloister", "LeaseTask", "cloister-worker",
        lambda c, r: c.cloister("LeaseTask", {"WaitSeconds": 0})),
    Row("cloister", "HeartbeatTask", "cloister-lease-holder",
        lambda c, r: c.cloister("HeartbeatTask", dict(BOGUS_LEASE, State="running"))),
    Row("cloister", "GetTaskBundle", "cloister-lease-holder",
        lambda c, r: c.cloister("GetTaskBundle", BOGUS_LEASE)),
    Row("cloister", "AttestTask", "cloister-lease-holder",
        lambda c, r: c.cloister("AttestTask", dict(BOGUS_LEASE, PublicKey="AAAA"))),
    Row("cloister", "FinishTask", "cloister-lease-holder",
        lambda c, r: c.cloister("FinishTask", dict(BOGUS_LEASE, Ok=False, Error="x"))),
    Row("cloister", "PutSignerKeys", "cloister-signer-keys-same-account",
        lambda c, r: c.cloister("PutSignerKeys", _signer_key_set(_owner_signer_keys_arn(c)))),
    Row("cloister", "GetSignerKeys", "cloister-signer-keys-same-account",
        lambda c, r: c.cloister("GetSignerKeys", {"Name": r}), prep=_fresh_signer_keys),
    Row("cloister", "ListSignerKeys", "cloister-signer-keys-own-list",
        lambda c, r: c.cloister("ListSignerKeys", {}), prep=_fresh_signer_keys,
        check=_not_listed_signer_keys),
    Row("cloister", "DeleteSignerKeys", "cloister-signer-keys-same-account",
        lambda c, r: c.cloister("DeleteSignerKeys", {"Name": r}), prep=_fresh_signer_keys),
]

ROWS = (S3_ROWS + S3CONTROL_ROWS + KMS_ROWS + IAM_ROWS + IAM_GROUP_ROWS + STS_ROWS
        + CLOISTER_ROWS)

SERVICE_TITLES = {"s3": "S3", "s3control": "S3 Control", "kms": "KMS", "iam": "IAM",
                  "sts": "STS", "cloister": "Cloister API"}
COLUMN_TITLES = {"owner": "owner account", "cross_account": "other account, granted `*`",
                 "cross_account_no_grant": "other account, no grant",
                 "anonymous": "anonymous, public grant", "no_policy_user": "user, no policy"}


# The iExec SMS endpoints are not SigV4 operations and have no IAM principal:
# they are answered on their own listener (`cloister serve --sms-listen`) and
# authorised by an Ethereum signature (tests/e2e/test_secrets_sms.py).
SMS_SECTION = [
    "## iExec SMS endpoints (`--sms-listen`)", "",
    "Not SigV4 operations: these are served only on the listener of `cloister serve "
    "--sms-listen`, for the stock `iexec` CLI, and authorised by an Ethereum signature, "
    "not by IAM (tests/e2e/test_secrets_sms.py; format in docs/secrets.md).", "",
    "| request | who may call | refused |",
    "|---|---|---|",
    "| `HEAD /requesters/{address}/secrets/{name}` | anyone (says only whether the name "
    "is stored: 204 / 404; never returns a value) | 400 bad address or name |",
    "| `POST /requesters/{address}/secrets/{name}` | only with an `Authorization` that is "
    "a personal-sign by `{address}` of the SMS challenge of this name and value | 401 "
    "missing, bad or foreign signature; 409 already stored (write-once); 413 value over "
    "4096 bytes; 400 bad address or name |",
    "| `HEAD /apps/{address}/secrets` | anyone (204 the app secret is stored / 404) | 400 "
    "bad address |",
    "| `POST /apps/{address}/secrets` | only with an `Authorization` that is a personal-sign "
    "by the app's recorded owner address (`cloister app owner`) of the SMS challenge of "
    "(app address, `1`, value) | 401 missing, bad or foreign signature; 404 no app with "
    "that address or no recorded owner; 409 already stored; 413 value over 4096 bytes |",
    "| any other method or path | nobody | 405 / 404 |", ""]


# --------------------------------------------------------------------------- the doc
def render_markdown():
    out = ["# Authorization matrix", "",
           "<!-- Generated from tests/e2e/authz_table.py: edit the table, then run",
           "     python3 tests/e2e/authz_table.py > docs/security/authorization-matrix.md",
           "     (tests/e2e/test_sec_authz_matrix.py checks this file is in sync). -->", "",
           "Who may call each operation Cloister implements, as AWS documents it. Every cell "
           "is an end-to-end test (tests/e2e/test_sec_authz_matrix.py) run against a real "
           "server with stock boto3 clients.", "",
           "Columns (the caller):", ""]
    out += [
        "- **owner account**: the admin of the account that owns the resource.",
        "- **other account, granted `*`**: another account's admin, to whom a resource "
        "policy grants everything on the resource (bucket policy `s3:*` to its root, key "
        "policy `kms:*` to its root, role trust policy naming its root). IAM has no "
        "resource policies: the other account simply names the owner's user, role or "
        "policy. Keys are named by ARN.",
        "- **other account, no grant**: the same admin of another account, on resources of "
        "the owner that grant it nothing (a bucket without policy, a key with the default "
        "key policy, a role whose trust policy names only the owner account).",
        "- **anonymous, public grant**: an unsigned request, the resource being public "
        "(bucket policy `Principal: \"*\"`, `s3:*`, Block Public Access off; key policy "
        "and trust policy `Principal: \"*\"`).",
        "- **user, no policy**: an IAM user of the owner account with no policy at all.",
        "", "A cell is `allowed` or the error code AWS answers.", ""]
    for svc, title in SERVICE_TITLES.items():
        rows = [r for r in ROWS if r.service == svc]
        out += [f"## {title}", "",
                "| operation | rule | " + " | ".join(COLUMN_TITLES[p] for p in PRINCIPALS) + " |",
                "|---|---|" + "---|" * len(PRINCIPALS)]
        for r in rows:
            cells = [r.expect(p) for p in PRINCIPALS]
            out.append(f"| {r.op} | {RULES[r.rule].title} | " + " | ".join(cells) + " |")
        out.append("")
    out += SMS_SECTION
    out += ["## Rules", ""]
    for key, rule in RULES.items():
        out += [f"- **{rule.title}** (`{key}`): {rule.text}"]
    out += ["", "Error codes: S3 `AccessDenied` is HTTP 403 and `MethodNotAllowed` 405; KMS "
            "and Cloister errors are HTTP 400 with the code in `__type`; IAM `AccessDenied` "
            "is 403, `NoSuchEntity` 404; IAM, STS and KMS refuse unsigned requests with "
            "`MissingAuthenticationToken` (Query protocol, 403) or "
            "`MissingAuthenticationTokenException` (JSON protocol).", ""]
    return "\n".join(out)


if __name__ == "__main__":
    print(render_markdown(), end="")
