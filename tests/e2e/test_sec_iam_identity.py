"""Issue 10 item 3 (IAM side): users and roles are identities, not names.

Resource policies (bucket policies, KMS key policies, role trust policies) store
the users and roles they name by unique ID (AIDA..., AROA...), as AWS does: a
principal that does not exist is refused when the policy is written; a
deleted and re-created user or role (new unique ID) never matches the old
grant, and the policy then shows the old unique ID. Temporary credentials
belong to the role's (user's) unique ID: a session of a deleted role, or
GetSessionToken credentials of a deleted user, never act as a later role or
user of the same name.

Each account used here is made with `cloister account create`, so the tests
own their names.
"""
import json
import re

import pytest
from botocore.exceptions import ClientError

from conftest import client_error, uniq

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


class Acct:
    def __init__(self, srv, d):
        self.srv = srv
        self.id = d["AccountId"]
        self.creds = {"AccessKeyId": d["AccessKeyId"], "SecretAccessKey": d["SecretAccessKey"]}
        self.iam = srv.boto3_client("iam", self.creds)
        self.sts = srv.boto3_client("sts", self.creds)
        self.s3 = srv.boto3_client("s3", self.creds)
        self.kms = srv.boto3_client("kms", self.creds)

    def client(self, service, creds):
        return self.srv.boto3_client(service, creds)

    def trust_account(self):
        return json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{self.id}:root"},
            "Action": "sts:AssumeRole"}]})

    def role(self, name, admin=False):
        r = self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=self.trust_account())
        if admin:
            self.iam.attach_role_policy(RoleName=name, PolicyArn=ADMIN)
        return r["Role"]

    def drop_role(self, name):
        for p in self.iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
            self.iam.detach_role_policy(RoleName=name, PolicyArn=p["PolicyArn"])
        self.iam.delete_role(RoleName=name)

    def assume(self, name):
        c = self.sts.assume_role(RoleArn=f"arn:aws:iam::{self.id}:role/{name}",
                                 RoleSessionName="sess")["Credentials"]
        return {k: c[k] for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")}

    def user(self, name, admin=False):
        self.iam.create_user(UserName=name)
        if admin:
            self.iam.attach_user_policy(UserName=name, PolicyArn=ADMIN)
        k = self.iam.create_access_key(UserName=name)["AccessKey"]
        return {"AccessKeyId": k["AccessKeyId"], "SecretAccessKey": k["SecretAccessKey"]}

    def drop_user(self, name):
        for k in self.iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
            self.iam.delete_access_key(UserName=name, AccessKeyId=k["AccessKeyId"])
        for p in self.iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]:
            self.iam.detach_user_policy(UserName=name, PolicyArn=p["PolicyArn"])
        self.iam.delete_user(UserName=name)


def new_account(srv, name):
    rc, d, out, err = srv.account_create(name)
    assert rc == 0 and d, f"cloister account create failed: {out}{err}"
    return Acct(srv, d)


@pytest.fixture(scope="module")
def a(server):
    return new_account(server, uniq("ida"))


@pytest.fixture(scope="module")
def b(server):
    return new_account(server, uniq("idb"))


def refused(fn, *args, codes=("AccessDenied", "InvalidClientTokenId", "InvalidAccessKeyId"),
            **kw):
    with pytest.raises(ClientError) as ei:
        fn(*args, **kw)
    code = client_error(ei.value)[0]
    assert code in codes, client_error(ei.value)
    return code


def grant_policy(bucket, *arns):
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": list(arns)},
        "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]})


def shown_principals(policy_text):
    p = json.loads(policy_text)
    st = p["Statement"]
    st = st if isinstance(st, list) else [st]
    out = []
    for s in st:
        v = s["Principal"]["AWS"]
        out += v if isinstance(v, list) else [v]
    return out


def test_recreated_role_does_not_inherit_bucket_grant(a):
    name, bucket = uniq("granted"), uniq("idbkt")
    old = a.role(name)
    a.s3.create_bucket(Bucket=bucket)
    a.s3.put_object(Bucket=bucket, Key="k", Body=b"secret")
    arn = f"arn:aws:iam::{a.id}:role/{name}"
    a.s3.put_bucket_policy(Bucket=bucket, Policy=grant_policy(bucket, arn))
    # while the role exists, the policy shows its ARN and grants its sessions
    assert shown_principals(a.s3.get_bucket_policy(Bucket=bucket)["Policy"]) == [arn]
    assert a.client("s3", a.assume(name)).get_object(Bucket=bucket, Key="k")["Body"].read() == b"secret"
    a.drop_role(name)
    new = a.role(name)
    assert new["RoleId"] != old["RoleId"]
    refused(a.client("s3", a.assume(name)).get_object, Bucket=bucket, Key="k")
    # the grant now shows the deleted role's unique ID, as on AWS
    assert shown_principals(a.s3.get_bucket_policy(Bucket=bucket)["Policy"]) == [old["RoleId"]]
    a.drop_role(name)


def test_recreated_user_does_not_inherit_bucket_grant(a):
    name, bucket = uniq("bob"), uniq("idbkt")
    a.s3.create_bucket(Bucket=bucket)
    a.s3.put_object(Bucket=bucket, Key="k", Body=b"secret")
    creds = a.user(name)
    arn = f"arn:aws:iam::{a.id}:user/{name}"
    a.s3.put_bucket_policy(Bucket=bucket, Policy=grant_policy(bucket, arn))
    assert a.client("s3", creds).get_object(Bucket=bucket, Key="k")["Body"].read() == b"secret"
    old_id = a.iam.get_user(UserName=name)["User"]["UserId"]
    a.drop_user(name)
    creds2 = a.user(name)
    refused(a.client("s3", creds2).get_object, Bucket=bucket, Key="k")
    assert shown_principals(a.s3.get_bucket_policy(Bucket=bucket)["Policy"]) == [old_id]
    a.drop_user(name)


def test_session_of_deleted_role_is_refused_after_recreation(a):
    name = uniq("sess")
    a.role(name)
    old = a.assume(name)
    assert a.client("sts", old).get_caller_identity()["Arn"].endswith(f":assumed-role/{name}/sess")
    a.drop_role(name)
    a.role(name, admin=True)  # same name, broad policies
    assert a.client("s3", a.assume(name)).list_buckets() is not None  # the new role's own session
    old_s3 = a.client("s3", old)
    refused(old_s3.list_buckets)
    a.drop_role(name)


def test_session_token_of_deleted_user_is_refused_after_recreation(a):
    name = uniq("alice")
    creds = a.user(name)
    c = a.client("sts", creds).get_session_token()["Credentials"]
    sess = {k: c[k] for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")}
    assert a.client("sts", sess).get_caller_identity()["Arn"].endswith(f":user/{name}")
    a.drop_user(name)
    a.user(name, admin=True)
    refused(a.client("s3", sess).list_buckets)
    refused(a.client("iam", sess).list_users)
    a.drop_user(name)


def test_bucket_policy_naming_missing_principal_is_refused(a):
    bucket = uniq("idbkt")
    a.s3.create_bucket(Bucket=bucket)
    for arn in (f"arn:aws:iam::{a.id}:role/{uniq('nosuch')}",
                f"arn:aws:iam::{a.id}:user/{uniq('nosuch')}",
                f"arn:aws:iam::{a.id}:role/x#AROAAAAAAAAAAAAAAAAAA"):
        with pytest.raises(ClientError) as ei:
            a.s3.put_bucket_policy(Bucket=bucket, Policy=grant_policy(bucket, arn))
        code, status, msg = client_error(ei.value)
        assert (code, status) == ("MalformedPolicy", 400), client_error(ei.value)
        assert msg == "Invalid principal in policy"
    with pytest.raises(ClientError):
        a.s3.get_bucket_policy(Bucket=bucket)  # nothing stored


def test_key_policy_naming_missing_principal_is_refused(a):
    def policy(*arns):
        return json.dumps({"Version": "2012-10-17", "Statement": [
            {"Sid": "owner", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{a.id}:root"},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "use", "Effect": "Allow", "Principal": {"AWS": list(arns)},
             "Action": "kms:Decrypt", "Resource": "*"}]})

    missing = f"arn:aws:iam::{a.id}:role/{uniq('nosuch')}"
    with pytest.raises(ClientError) as ei:
        a.kms.create_key(Policy=policy(missing))
    assert client_error(ei.value)[0] == "MalformedPolicyDocumentException"
    key = a.kms.create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as ei:
        a.kms.put_key_policy(KeyId=key, PolicyName="default", Policy=policy(missing))
    assert client_error(ei.value)[0] == "MalformedPolicyDocumentException"
    # an existing role is accepted, shown by ARN, and by its ID once deleted
    name = uniq("keyuser")
    r = a.role(name)
    a.kms.put_key_policy(KeyId=key, PolicyName="default", Policy=policy(r["Arn"]))
    got = json.loads(a.kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
    assert got["Statement"][1]["Principal"]["AWS"] in (r["Arn"], [r["Arn"]])
    a.drop_role(name)
    got = json.loads(a.kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
    assert got["Statement"][1]["Principal"]["AWS"] in (r["RoleId"], [r["RoleId"]])


def test_trust_policy_naming_missing_principal_is_refused(a):
    def trust(arn):
        return json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": arn}, "Action": "sts:AssumeRole"}]})

    missing = f"arn:aws:iam::{a.id}:user/{uniq('nosuch')}"
    name = uniq("trusting")
    with pytest.raises(ClientError) as ei:
        a.iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(missing))
    code, status, msg = client_error(ei.value)
    assert (code, status) == ("MalformedPolicyDocument", 400)
    assert msg.startswith("Invalid principal in policy"), msg
    a.role(name)
    with pytest.raises(ClientError) as ei:
        a.iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust(missing))
    assert client_error(ei.value)[0] == "MalformedPolicyDocument"
    a.drop_role(name)


def test_recreated_user_does_not_inherit_trust(a):
    """A role trusting user carol: a later carol (new AIDA id) cannot assume it."""
    user, role = uniq("carol"), uniq("trusts-carol")
    creds = a.user(user, admin=True)
    uarn = f"arn:aws:iam::{a.id}:user/{user}"
    old_id = a.iam.get_user(UserName=user)["User"]["UserId"]
    a.iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": uarn},
                                                "Action": "sts:AssumeRole"}]}))
    rarn = f"arn:aws:iam::{a.id}:role/{role}"
    a.client("sts", creds).assume_role(RoleArn=rarn, RoleSessionName="ok")
    assert shown_principals(json.dumps(a.iam.get_role(RoleName=role)["Role"]
                                       ["AssumeRolePolicyDocument"])) == [uarn]
    a.drop_user(user)
    creds2 = a.user(user, admin=True)
    refused(a.client("sts", creds2).assume_role, RoleArn=rarn, RoleSessionName="no")
    shown = a.iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    assert shown_principals(json.dumps(shown)) == [old_id]
    listed = [r for r in a.iam.list_roles()["Roles"] if r["RoleName"] == role][0]
    assert shown_principals(json.dumps(listed["AssumeRolePolicyDocument"])) == [old_id]
    a.drop_user(user)
    a.iam.delete_role(RoleName=role)


def test_same_role_name_in_another_account_never_matches(a, b):
    name, bucket = uniq("twin"), uniq("idbkt")
    a.role(name)
    a.s3.create_bucket(Bucket=bucket)
    a.s3.put_object(Bucket=bucket, Key="k", Body=b"secret")
    a.s3.put_bucket_policy(Bucket=bucket,
                           Policy=grant_policy(bucket, f"arn:aws:iam::{a.id}:role/{name}"))
    b.role(name, admin=True)
    refused(b.client("s3", b.assume(name)).get_object, Bucket=bucket, Key="k")
    assert re.fullmatch(r"AROA[A-Z0-9]+", b.iam.get_role(RoleName=name)["Role"]["RoleId"])
    b.drop_role(name)
    a.drop_role(name)
