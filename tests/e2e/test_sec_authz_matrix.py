"""The authorization matrix (issue 10): every implemented S3, S3 Control, KMS,
IAM, STS and Cloister operation, called by five principals, against AWS's
documented rule for that operation. The table, its rules and their sources are
in authz_table.py; docs/security/authorization-matrix.md is rendered from it.

One test per cell, id `SERVICE:Operation-principal` (e.g.
`s3:PutBucketPolicy-cross_account`). The world (a private server; account A =
the bootstrap account, account B, a user with no policy, buckets, keys, a role,
a managed policy) is built once for the module; a cell makes fresh resources
(as A) only when its call changes or deletes something, then makes exactly one
call as its principal."""
import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from authz_table import OK, PRINCIPALS, ROWS, RULES, render_markdown
from conftest import REGION, REPO, boto3_client, uniq

DOC = REPO / "docs" / "security" / "authorization-matrix.md"
PAB_OFF = {"BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": False,
           "RestrictPublicBuckets": False}
SSE_AES = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
DUMMY = {"AccessKeyId": "AKIAANONYMOUSANON000", "SecretAccessKey": "anonymous"}


def _doc(*stmts):
    return json.dumps({"Version": "2012-10-17", "Statement": list(stmts)})


class World:
    """Everything the cells share; the owner's clients (self.s3, self.kms, ...) prepare."""
    PAB_OFF = PAB_OFF
    SSE_AES = SSE_AES

    def __init__(self, srv):
        self.srv = srv
        self.uniq = uniq
        self.creds = {"owner": srv.admin_creds()}
        owner = self.clients_for(self.creds["owner"])
        self.s3, self.s3control, self.kms, self.iam, self.sts = (
            owner[k] for k in ("s3", "s3control", "kms", "iam", "sts"))
        ident = self.sts.get_caller_identity()
        self.account_a, self.owner_arn = ident["Account"], ident["Arn"]
        self.region = REGION
        rc, b, out, err = srv.account_create(uniq("authz-b"))
        assert rc == 0 and b, f"account create: {out}{err}"
        self.account_b = b["AccountId"]
        self.creds["cross_account"] = {"AccessKeyId": b["AccessKeyId"],
                                       "SecretAccessKey": b["SecretAccessKey"]}
        self.iam.create_user(UserName="authz-nopolicy")
        k = self.iam.create_access_key(UserName="authz-nopolicy")["AccessKey"]
        self.creds["no_policy_user"] = {"AccessKeyId": k["AccessKeyId"],
                                        "SecretAccessKey": k["SecretAccessKey"]}
        self.creds["cross_account_no_grant"] = self.creds["cross_account"]
        self.clients = {"owner": owner, "anonymous": self.clients_for(DUMMY, anonymous=True)}
        for p in ("cross_account", "no_policy_user"):
            self.clients[p] = self.clients_for(self.creds[p])
        self.clients["cross_account_no_grant"] = self.clients["cross_account"]
        self._iam_world()
        self._s3_world()
        self._kms_world()

    def clients_for(self, creds, anonymous=False):
        extra = {"signature_version": UNSIGNED} if anonymous else {}
        ep = self.srv.endpoint
        control_ep = ep.replace("http://", "http://s3control@", 1)  # see test_s3_account_pab.py
        out = {svc: boto3_client(ep, svc, creds, **extra) for svc in ("s3", "kms", "iam", "sts")}
        out["s3control"] = boto3_client(control_ep, "s3control", creds, **extra)
        return out

    # ---- IAM: a target user, role and managed policy of account A
    def _iam_world(self):
        root_a = f"arn:aws:iam::{self.account_a}:root"
        root_b = f"arn:aws:iam::{self.account_b}:root"
        self.trust_doc = _doc({"Effect": "Allow", "Principal": {"AWS": [root_a, root_b]},
                               "Action": "sts:AssumeRole"})
        self.user_t, self.role_t = "authz-target-user", "authz-target-role"
        self.iam.create_user(UserName=self.user_t)
        self.role_t_arn = self.iam.create_role(
            RoleName=self.role_t, AssumeRolePolicyDocument=self.trust_doc)["Role"]["Arn"]
        self.role_p_arn = self.iam.create_role(
            RoleName="authz-public-role", AssumeRolePolicyDocument=_doc(
                {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}))["Role"]["Arn"]
        self.role_n_arn = self.iam.create_role(
            RoleName="authz-own-account-role", AssumeRolePolicyDocument=_doc(
                {"Effect": "Allow", "Principal": {"AWS": root_a},
                 "Action": "sts:AssumeRole"}))["Role"]["Arn"]
        from authz_table import ALLOW_NOTHING
        self.policy_arn = self.iam.create_policy(
            PolicyName="authz-target-policy", PolicyDocument=ALLOW_NOTHING)["Policy"]["Arn"]
        self.grantee_arn = self.role_t_arn

    # ---- S3: bucket X grants account B s3:*, P grants everyone s3:*, N has no policy.
    # A kind names which: "grant" (X), "public" (P), "none" (N).
    def grant_policy(self, bucket):
        return _doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{self.account_b}:root"},
                     "Action": "s3:*",
                     "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]})

    def public_policy(self, bucket):
        return _doc({"Effect": "Allow", "Principal": "*", "Action": "s3:*",
                     "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]})

    def bucket_policy(self, kind, bucket):
        return (self.public_policy if kind == "public" else self.grant_policy)(bucket)

    def make_bucket(self, kind):
        name = uniq("authz-b")
        self.s3.create_bucket(Bucket=name)
        self.s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=PAB_OFF)
        if kind != "none":
            self.s3.put_bucket_policy(Bucket=name, Policy=self.bucket_policy(kind, name))
        return name

    def put_account_pab_off(self):
        self.s3control.put_public_access_block(AccountId=self.account_a,
                                               PublicAccessBlockConfiguration=PAB_OFF)

    def _s3_world(self):
        self.put_account_pab_off()
        self.buckets = {k: self.make_bucket(k) for k in ("grant", "public", "none")}
        self.bucket_x = self.buckets["grant"]
        for b in self.buckets.values():
            self.s3.put_bucket_encryption(Bucket=b, ServerSideEncryptionConfiguration=SSE_AES)
            self.s3.put_object(Bucket=b, Key="obj", Body=b"matrix object")
            self.s3.put_object_tagging(Bucket=b, Key="obj",
                                       Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})

    # ---- KMS: the key policy of kind "grant" gives account B kms:*, "public" gives "*"
    # kms:*, "none" is the default (account A's root only)
    def key_policy(self, kind):
        stmts = [{"Sid": "owner", "Effect": "Allow",
                  "Principal": {"AWS": f"arn:aws:iam::{self.account_a}:root"},
                  "Action": "kms:*", "Resource": "*"}]
        if kind != "none":
            who = "*" if kind == "public" else {"AWS": f"arn:aws:iam::{self.account_b}:root"}
            stmts.append({"Sid": "grantee", "Effect": "Allow", "Principal": who,
                          "Action": "kms:*", "Resource": "*"})
        return _doc(*stmts)

    def make_key(self, kind, sign=False):
        extra = {"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"} if sign else {}
        return self.kms.create_key(Policy=self.key_policy(kind), Description="authz matrix",
                                   **extra)["KeyMetadata"]["Arn"]

    def _kms_world(self):
        kinds = ("grant", "public", "none")
        self.keys = {k: self.make_key(k) for k in kinds}
        self.sign_keys = {k: self.make_key(k, True) for k in kinds}
        self.key_x = self.keys["grant"]
        self.alias_x = "alias/" + uniq("authz-x")
        self.kms.create_alias(AliasName=self.alias_x, TargetKeyId=self.key_x)


class Cell:
    """One principal's view: its clients and the resources it is pointed at."""

    def __init__(self, w, principal):
        self.w, self.principal = w, principal
        self.anonymous = principal == "anonymous"
        cl = w.clients[principal]
        self.s3, self.s3control, self.kms, self.iam, self.sts = (
            cl[k] for k in ("s3", "s3control", "kms", "iam", "sts"))
        # which resources: granted to account B, public, or granted to nobody outside A
        self.kind = {"anonymous": "public", "cross_account_no_grant": "none"}.get(principal,
                                                                                 "grant")
        self.bucket = w.buckets[self.kind]
        self.key = w.keys[self.kind]
        self.sign_key = w.sign_keys[self.kind]
        self.role = {"public": w.role_p_arn, "none": w.role_n_arn}.get(self.kind, w.role_t_arn)

    def uniq_key(self):
        return uniq("obj")

    def new_bucket_name(self):
        return uniq("authz-new")

    def fresh_bucket(self):
        return self.w.make_bucket(self.kind)

    def fresh_object(self):
        key = uniq("obj")
        self.w.s3.put_object(Bucket=self.bucket, Key=key, Body=b"matrix")
        return key

    def bucket_policy(self, bucket):
        return self.w.bucket_policy(self.kind, bucket)

    def key_policy(self):
        return self.w.key_policy(self.kind)

    def fresh_key(self, scheduled=False):
        arn = self.w.make_key(self.kind)
        if scheduled:
            self.w.kms.schedule_key_deletion(KeyId=arn, PendingWindowInDays=7)
        return arn

    def post_object(self, key, v2=False):
        """POST Object (browser upload): a SigV4 POST policy signed by this cell's
        principal (boto3 generate_presigned_post), or with v2 a SigV2 one (AWSAccessKeyId,
        signature: boto3's default), or an unsigned form if anonymous;
        errors raise ClientError as botocore would."""
        import requests
        fields = {"key": key}
        if not self.anonymous:
            from conftest import presigner
            signer = presigner(self.s3)
            if v2:
                import boto3
                from botocore.config import Config
                cr = self.s3._request_signer._credentials
                signer = boto3.session.Session().client(
                    "s3", endpoint_url=self.s3.meta.endpoint_url, region_name=REGION,
                    config=Config(signature_version="s3"), aws_access_key_id=cr.access_key,
                    aws_secret_access_key=cr.secret_key, aws_session_token=cr.token)
            fields = signer.generate_presigned_post(self.bucket, key)["fields"]
            assert ("AWSAccessKeyId" in fields) == v2, fields
        r = requests.post(f"{self.w.srv.endpoint}/{self.bucket}", data=fields,
                          files={"file": ("f", b"matrix")}, timeout=10)
        if r.status_code >= 300:
            m = re.search(rb"<Code>([^<]+)</Code>", r.content)
            raise ClientError({"Error": {"Code": m.group(1).decode() if m else str(r.status_code),
                                         "Message": r.content[:200]},
                               "ResponseMetadata": {"HTTPStatusCode": r.status_code}},
                              "PostObject")
        return {}

    def cloister(self, op, body):
        """A Cloister JSON API call (no botocore model): SigV4 service "cloister"."""
        return self.json_call("cloister", f"Cloister.{op}", body)

    def kms_raw(self, op, body):
        """A KMS call the installed botocore has no model for (RotateKeyOnDemand)."""
        return self.json_call("kms", f"TrentService.{op}", body)

    def json_call(self, service, target, body):
        """A JSON 1.1 protocol call signed as this cell's principal (unsigned if anonymous);
        errors raise ClientError as botocore would."""
        op = target.split(".", 1)[1]
        url = self.w.srv.endpoint + "/"
        data = json.dumps(body).encode()
        headers = {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"}
        req = AWSRequest(method="POST", url=url, data=data, headers=headers)
        if not self.anonymous:
            cr = self.w.creds[self.principal]
            SigV4Auth(Credentials(cr["AccessKeyId"], cr["SecretAccessKey"]), service,
                      REGION).add_auth(req)
        r = urllib.request.Request(url, data=data, method="POST", headers=dict(req.headers.items()))
        try:
            with urllib.request.urlopen(r, timeout=10) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                code = json.loads(raw).get("__type", "").rsplit("#", 1)[-1]
            except ValueError:
                m = re.search(rb"<Code>([^<]+)</Code>", raw)
                code = m.group(1).decode() if m else ""
            raise ClientError({"Error": {"Code": code or str(e.code), "Message": raw[:200]},
                               "ResponseMetadata": {"HTTPStatusCode": e.code}}, op)


@pytest.fixture(scope="module")
def world(make_server):
    return World(make_server("authz"))


# HEAD answers have no body: botocore reports the status as the code.
STATUS_CODES = {"403": "AccessDenied", "405": "MethodNotAllowed", "404": "NotFound"}


def run_cell(row, c):
    """-> (outcome, response or None, detail): OK or the error code."""
    r = row.prep(c) if row.prep else None
    try:
        resp = row.call(c, r)
    except ClientError as e:
        err = e.response.get("Error", {})
        code = err.get("Code") or ""
        code = STATUS_CODES.get(code, code)
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return code or f"HTTP {status}", None, f"(HTTP {status}: {err.get('Message', '')!r})"
    if row.outcome and isinstance(resp, dict):
        code = row.outcome(resp)
        if code:
            return code, resp, "(in a 200 answer)"
    return OK, resp, ""


CELLS = [(row, p) for row in ROWS for p in PRINCIPALS]


@pytest.mark.parametrize("row,principal", CELLS, ids=[f"{r.name}-{p}" for r, p in CELLS])
def test_cell(world, row, principal):
    c = Cell(world, principal)
    got, resp, detail = run_cell(row, c)
    want = row.expect(principal)
    rule = RULES[row.rule]
    assert got == want, (f"{row.name} called by {principal}: AWS rule \"{rule.title}\" "
                         f"expects {want}, got {got} {detail}")
    if got == OK and row.check:
        row.check(c, resp)


# --------------------------------------------------------------------------- the table itself
def test_doc_matches_table():
    assert DOC.read_text() == render_markdown(), (
        "docs/security/authorization-matrix.md is out of date: run "
        "`python3 tests/e2e/authz_table.py > docs/security/authorization-matrix.md`")


def _dispatch_names(path, pattern):
    return set(re.findall(pattern, (REPO / path).read_text()))


def test_every_operation_has_a_row():
    """The table covers every operation the KMS, IAM, STS and Cloister routers dispatch
    (S3 routes by method and sub-resource; its rows are listed by hand from s3_core.c)."""
    have = {r.name for r in ROWS}
    routed = set()
    for svc, path, pattern in [
            ("kms", "src/kms/kms_api.c", r'\{"([A-Za-z]+)", kms_op_'),
            ("iam", "src/iam/iam_api.c", r'\{"([A-Za-z]+)", (?:iam_)?op_'),
            ("iam", "src/iam/iam_api_groups.c", r'\{"([A-Za-z]+)", (?:iam_)?op_'),
            ("iam", "src/iam/iam_api_account.c", r'\{"([A-Za-z]+)", (?:iam_)?op_'),
            ("sts", "src/iam/sts.c", r'\{"([A-Za-z]+)", op_'),
            ("cloister", "src/iam/account_api.c", r'"(CreateAccount|ListAccounts|ResetAdminKey)"'),
            ("cloister", "src/tasks/apps.c", r'\{"([A-Za-z]+)", (?:app|runs|worker|events)_op_'),
            ("cloister", "src/secrets/secrets_api.c", r'\{"([A-Za-z]+)", sec_op_'),
            ("cloister", "src/signer/kmskeys_api.c", r'\{"([A-Za-z]+)", kk_')]:
        names = _dispatch_names(path, pattern)
        assert names, f"no operations found in {path}"
        routed |= {f"{svc}:{n}" for n in names}
    assert routed - have == set(), f"operations without a row: {sorted(routed - have)}"


def test_get_session_token_needs_long_term_keys(world):
    """GetSessionToken "must be called by using the long-term AWS security credentials of an
    IAM user" (STS API reference): role-session or session-token credentials are refused."""
    s = world.sts.assume_role(RoleArn=world.role_t_arn, RoleSessionName="authz")["Credentials"]
    sts = boto3_client(world.srv.endpoint, "sts", s)
    with pytest.raises(ClientError) as ei:
        sts.get_session_token()
    assert ei.value.response["Error"]["Code"] == "AccessDenied", ei.value.response["Error"]
    t = world.sts.get_session_token()["Credentials"]
    sts = boto3_client(world.srv.endpoint, "sts", t)
    with pytest.raises(ClientError) as ei:
        sts.get_session_token()
    assert ei.value.response["Error"]["Code"] == "AccessDenied", ei.value.response["Error"]


def test_retire_grant_by_principals_named_in_the_grant(world):
    """The other side of kms:RetireGrant-cross_account: a principal of another account that
    the grant names as retiring principal, or as grantee of a grant that includes
    RetireGrant, may retire it (Cross-account use: Yes, "determined by the grant")."""
    b_admin = f"arn:aws:iam::{world.account_b}:user/admin"
    kms_b = world.clients["cross_account"]["kms"]
    g = world.kms.create_grant(KeyId=world.key_x, GranteePrincipal=world.grantee_arn,
                               RetiringPrincipal=b_admin, Operations=["Decrypt"])["GrantId"]
    kms_b.retire_grant(KeyId=world.key_x, GrantId=g)
    g = world.kms.create_grant(KeyId=world.key_x, GranteePrincipal=b_admin,
                               Operations=["Decrypt", "RetireGrant"])["GrantId"]
    kms_b.retire_grant(KeyId=world.key_x, GrantId=g)
    left = {x["GrantId"] for x in world.kms.list_grants(KeyId=world.key_x)["Grants"]}
    assert g not in left


# The S3 router dispatches by method and sub-resource to these handlers (s3_core.c);
# each handler serves these operations. A new handler fails the test below until it is
# mapped here and its operations have rows.
S3_HANDLERS = {
    "s3_bucket_tagging": ["GetBucketTagging", "PutBucketTagging", "DeleteBucketTagging"],
    "s3_list_buckets": ["ListBuckets"], "s3_create_bucket": ["CreateBucket"],
    "s3_head_bucket": ["HeadBucket"], "s3_delete_bucket": ["DeleteBucket"],
    "s3_list_objects": ["ListObjects", "ListObjectsV2"],
    "s3_get_bucket_location": ["GetBucketLocation"],
    "s3_list_multipart_uploads": ["ListMultipartUploads"], "s3_delete_objects": ["DeleteObjects"],
    "s3_bucket_policy": ["PutBucketPolicy", "GetBucketPolicy", "DeleteBucketPolicy"],
    "s3_get_bucket_policy_status": ["GetBucketPolicyStatus"],
    "s3_bucket_public_access_block": ["PutPublicAccessBlock", "GetPublicAccessBlock",
                                      "DeletePublicAccessBlock"],
    "s3_post_object": ["PostObject"],
    "s3_bucket_notification": ["PutBucketNotificationConfiguration",
                               "GetBucketNotificationConfiguration"],
    "s3_bucket_encryption": ["PutBucketEncryption", "GetBucketEncryption",
                             "DeleteBucketEncryption"],
    "s3_object_tagging": ["PutObjectTagging", "GetObjectTagging", "DeleteObjectTagging"],
    "s3_upload_part_copy": ["UploadPartCopy"], "s3_copy_object": ["CopyObject"],
    "s3_create_multipart": ["CreateMultipartUpload"],
    "s3_complete_multipart": ["CompleteMultipartUpload"],
    "s3_abort_multipart": ["AbortMultipartUpload"], "s3_list_parts": ["ListParts"],
    "s3_get_object": ["GetObject", "HeadObject"], "s3_object_delete": ["DeleteObject"],
    "s3_finish_upload": ["PutObject", "UploadPart"],  # streamed bodies (s3_begin_upload)
    "s3_bucket_acl": ["GetBucketAcl", "PutBucketAcl"], "s3_object_acl": ["GetObjectAcl",
                                                                         "PutObjectAcl"],
    "s3_get_object_attributes": ["GetObjectAttributes"],
    "s3_bucket_versioning": ["PutBucketVersioning", "GetBucketVersioning"],
    "s3_list_object_versions": ["ListObjectVersions"],
    "s3_bucket_ownership_controls": ["PutBucketOwnershipControls", "GetBucketOwnershipControls",
                                     "DeleteBucketOwnershipControls"],
}
S3_NOT_HANDLERS = {"s3_op_init", "s3_op_free", "s3_respond_fault", "s3_has_query",
                   "s3_check_region", "s3_check_no_object_lock"}


def test_every_s3_handler_has_rows():
    text = (REPO / "src/s3/s3_core.c").read_text()
    router = text[text.index("static bool route_bucket"):]
    router = router[:router.index("\n}\n", router.index("void s3_handle"))]
    handlers = set(re.findall(r"\b(s3_[a-z_]+)\(&?op\b", router)) - S3_NOT_HANDLERS
    assert handlers, "no S3 handlers found in s3_core.c"
    unmapped = handlers - set(S3_HANDLERS)
    assert not unmapped, f"S3 handlers with no entry in S3_HANDLERS: {sorted(unmapped)}"
    have = {r.name for r in ROWS}
    missing = {f"s3:{op}" for h in handlers for op in S3_HANDLERS[h]} - have
    assert not missing, f"S3 operations without a row: {sorted(missing)}"
    control = (REPO / "src/s3/s3_control.c").read_text()
    assert control.count("static void account_pab(") == 1 and "PAB_PATH" in control
    assert {f"s3control:{v}PublicAccessBlock" for v in ("Get", "Put", "Delete")} <= have
