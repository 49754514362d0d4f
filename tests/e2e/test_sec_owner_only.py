"""Owner-only operations (issue 10, items 2, 9 and 12), with boto3.

S3: the bucket policy, its status, Block Public Access and default encryption of
a bucket are the bucket owner's account's alone. AWS's API reference for
Get/Put/DeleteBucketPolicy: without the permission 403 AccessDenied; with it but
from another account 405 MethodNotAllowed; the owner account's root may always
get, put and delete the policy, even when it denies the root.

KMS: the key operations AWS marks "Cross-account use: No" are refused to a
principal of another account, whatever the key policy grants
(AccessDeniedException); the cross-account ones still work.

Grants: RetireGrant only by the grant's retiring principal, its grantee when the
grant includes RetireGrant, or the account that created the grant; RevokeGrant
needs kms:RevokeGrant on the key.

Root: `cloister account root-key ACCOUNT --data DIR` gives the account root's
keys; the root lifts a bucket policy that locks out everyone."""
import json
import os
import subprocess

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import BIN, REGION, client_error, meta_args, new_user, sqlite_only, uniq

ENC = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
PAB = {"BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": False,
       "RestrictPublicBuckets": False}


def creds_of(doc):
    return {"AccessKeyId": doc["AccessKeyId"], "SecretAccessKey": doc["SecretAccessKey"]}


def expect(code, status, fn, **kw):
    with pytest.raises(ClientError) as e:
        fn(**kw)
    got = client_error(e.value)
    assert got[0] == code and (status is None or got[1] == status), f"want {code}/{status}, got {got}"


def account_id(server, creds=None):
    return server.boto3_client("sts", creds).get_caller_identity()["Account"]


@pytest.fixture(scope="module")
def b_acct(server):
    rc, doc, out, err = server.account_create(uniq("ownerB"))
    assert rc == 0, out + err
    return doc


def root_key(server, account, *extra):
    p = subprocess.run([str(BIN), "account", "root-key", account, "--data", str(server.data_dir),
                        *meta_args(server.data_dir), *extra], capture_output=True, text=True,
                       timeout=60)
    return p.returncode, p.stdout, p.stderr


# --------------------------------------------------------------------------- S3
def grant_all_to(bucket, principal):
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": principal, "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]}]}


def bucket_settings_calls(bucket, policy):
    """Every owner-only bucket-settings operation, as (name, fn name, kwargs)."""
    b = {"Bucket": bucket}
    return [
        ("GetBucketPolicy", "get_bucket_policy", b),
        ("PutBucketPolicy", "put_bucket_policy", {**b, "Policy": json.dumps(policy)}),
        ("GetBucketPolicyStatus", "get_bucket_policy_status", b),
        ("PutPublicAccessBlock", "put_public_access_block",
         {**b, "PublicAccessBlockConfiguration": PAB}),
        ("GetPublicAccessBlock", "get_public_access_block", b),
        ("DeletePublicAccessBlock", "delete_public_access_block", b),
        ("PutBucketEncryption", "put_bucket_encryption",
         {**b, "ServerSideEncryptionConfiguration": ENC}),
        ("GetBucketEncryption", "get_bucket_encryption", b),
        ("DeleteBucketEncryption", "delete_bucket_encryption", b),
        ("DeleteBucketPolicy", "delete_bucket_policy", b),
    ]


def test_other_account_granted_s3_star_cannot_touch_bucket_settings(server, b_acct):
    s3 = server.boto3_client("s3")
    bucket = uniq("owner-only")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    policy = grant_all_to(bucket, {"AWS": f"arn:aws:iam::{b_acct['AccountId']}:root"})
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    b_s3 = server.boto3_client("s3", creds_of(b_acct))
    # the grant works for data: B (AdministratorAccess in B) reads the object
    assert b_s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"data"
    # B's user without any identity policy: not permitted -> 403
    nobody, _ = new_user(server, uniq("nopol"), admin_creds=creds_of(b_acct))
    nb_s3 = server.boto3_client("s3", nobody)
    for name, fn, kw in bucket_settings_calls(bucket, policy):
        expect("MethodNotAllowed", 405, getattr(b_s3, fn), **kw)
        expect("AccessDenied", 403, getattr(nb_s3, fn), **kw)
    # nothing changed, and the owner still does all of it
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == policy
    for name, fn, kw in bucket_settings_calls(bucket, policy):
        getattr(s3, fn)(**kw)
    expect("NoSuchBucketPolicy", 404, s3.get_bucket_policy, Bucket=bucket)
    s3.delete_object(Bucket=bucket, Key="k")
    s3.delete_bucket(Bucket=bucket)


def test_anonymous_public_grant_cannot_read_or_delete_policy(server):
    s3 = server.boto3_client("s3")
    bucket = uniq("owner-anon")
    s3.create_bucket(Bucket=bucket)
    s3.delete_public_access_block(Bucket=bucket)  # a new bucket blocks public access, as on AWS since 2023
    policy = grant_all_to(bucket, "*")
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    anon = boto3.session.Session().client(
        "s3", endpoint_url=server.endpoint, region_name=REGION,
        config=Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1}))
    expect("MethodNotAllowed", 405, anon.get_bucket_policy, Bucket=bucket)
    expect("MethodNotAllowed", 405, anon.delete_bucket_policy, Bucket=bucket)
    expect("MethodNotAllowed", 405, anon.put_public_access_block, Bucket=bucket,
           PublicAccessBlockConfiguration=PAB)
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == policy
    s3.delete_bucket_policy(Bucket=bucket)
    s3.delete_bucket(Bucket=bucket)


# --------------------------------------------------------------------------- KMS
def test_other_account_granted_kms_star_cannot_administer_key(server, b_acct):
    kms = server.boto3_client("kms")
    a_id = account_id(server)
    key = kms.create_key(Description="owner")["KeyMetadata"]
    arn = key["Arn"]
    pol = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{a_id}:root"}, "Action": "kms:*",
         "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{b_acct['AccountId']}:root"},
         "Action": "kms:*", "Resource": "*"}]}
    kms.put_key_policy(KeyId=arn, PolicyName="default", Policy=json.dumps(pol))
    b = server.boto3_client("kms", creds_of(b_acct))
    # cross-account use: Yes -> works
    blob = b.encrypt(KeyId=arn, Plaintext=b"x")["CiphertextBlob"]
    assert b.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"
    assert b.describe_key(KeyId=arn)["KeyMetadata"]["Arn"] == arn
    assert "KeyRotationEnabled" in b.get_key_rotation_status(KeyId=arn)
    b.list_grants(KeyId=arn)
    # cross-account use: No -> refused whatever the key policy says
    refused = [
        ("put_key_policy", {"PolicyName": "default", "Policy": json.dumps(pol)}),
        ("get_key_policy", {"PolicyName": "default"}),
        ("list_key_policies", {}),
        ("schedule_key_deletion", {"PendingWindowInDays": 7}),
        ("cancel_key_deletion", {}),
        ("disable_key", {}),
        ("enable_key", {}),
        ("update_key_description", {"Description": "pwned"}),
        ("enable_key_rotation", {}),
        ("disable_key_rotation", {}),
    ]
    for fn, kw in refused:
        with pytest.raises(ClientError) as e:
            getattr(b, fn)(KeyId=arn, **kw)
        assert client_error(e.value)[0] == "AccessDeniedException", (fn, client_error(e.value))
    for fn in ("create_alias", "update_alias"):
        with pytest.raises(ClientError) as e:
            getattr(b, fn)(AliasName="alias/" + uniq("steal"), TargetKeyId=arn)
        assert client_error(e.value)[0] in ("AccessDeniedException", "NotFoundException"), fn
    meta = kms.describe_key(KeyId=arn)["KeyMetadata"]
    assert meta["KeyState"] == "Enabled" and meta["Description"] == "owner"
    # the owner account does all of it
    kms.disable_key(KeyId=arn)
    kms.enable_key(KeyId=arn)
    kms.update_key_description(KeyId=arn, Description="mine")
    kms.create_alias(AliasName="alias/" + uniq("own"), TargetKeyId=arn)
    assert kms.list_key_policies(KeyId=arn)["PolicyNames"] == ["default"]
    kms.schedule_key_deletion(KeyId=arn, PendingWindowInDays=7)
    kms.cancel_key_deletion(KeyId=arn)


# --------------------------------------------------------------------------- grants
def test_retire_grant_only_by_the_grants_principals(server):
    kms = server.boto3_client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    grantee_creds, grantee = new_user(server, uniq("grantee"), admin_creds=server.admin_creds())
    other_creds, other = new_user(server, uniq("bystander"), admin_creds=server.admin_creds())
    g_kms = server.boto3_client("kms", grantee_creds)
    o_kms = server.boto3_client("kms", other_creds)
    # a grant without RetireGrant: its grantee cannot retire it, nor can a
    # principal of the key's account that the grant does not name
    g1 = kms.create_grant(KeyId=key, GranteePrincipal=grantee, Operations=["Decrypt"])
    for c, kw in ((g_kms, {"GrantToken": g1["GrantToken"]}),
                  (g_kms, {"KeyId": key, "GrantId": g1["GrantId"]}),
                  (o_kms, {"GrantToken": g1["GrantToken"]})):
        expect("AccessDeniedException", None, c.retire_grant, **kw)
    assert [g["GrantId"] for g in kms.list_grants(KeyId=key)["Grants"]] == [g1["GrantId"]]
    # the account that created the grant (its admin, kms:RetireGrant via IAM) may
    kms.retire_grant(KeyId=key, GrantId=g1["GrantId"])
    # the grantee when the grant includes RetireGrant
    g2 = kms.create_grant(KeyId=key, GranteePrincipal=grantee, Operations=["Decrypt", "RetireGrant"])
    g_kms.retire_grant(GrantToken=g2["GrantToken"])
    # the retiring principal
    g3 = kms.create_grant(KeyId=key, GranteePrincipal=grantee, Operations=["Decrypt"],
                          RetiringPrincipal=other)
    expect("AccessDeniedException", None, g_kms.retire_grant, GrantToken=g3["GrantToken"])
    o_kms.retire_grant(KeyId=key, GrantId=g3["GrantId"])
    assert kms.list_grants(KeyId=key)["Grants"] == []


def test_revoke_grant_needs_kms_revoke_grant(server, b_acct):
    kms = server.boto3_client("kms")
    a_id = account_id(server)
    key = kms.create_key()["KeyMetadata"]
    grantee_creds, grantee = new_user(server, uniq("revokee"), admin_creds=server.admin_creds())
    g = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee,
                         Operations=["Decrypt", "RetireGrant"])
    g_kms = server.boto3_client("kms", grantee_creds)
    # the grantee has no kms:RevokeGrant (no IAM policy): refused, grant kept
    expect("AccessDeniedException", None, g_kms.revoke_grant, KeyId=key["KeyId"],
           GrantId=g["GrantId"])
    # another account's admin without kms:RevokeGrant in the key policy: refused
    b = server.boto3_client("kms", creds_of(b_acct))
    expect("AccessDeniedException", None, b.revoke_grant, KeyId=key["Arn"], GrantId=g["GrantId"])
    assert len(kms.list_grants(KeyId=key["KeyId"])["Grants"]) == 1
    # granted kms:RevokeGrant by the key policy, the other account may (cross-account: Yes)
    pol = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{a_id}:root"}, "Action": "kms:*",
         "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{b_acct['AccountId']}:root"},
         "Action": "kms:RevokeGrant", "Resource": "*"}]}
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=json.dumps(pol))
    b.revoke_grant(KeyId=key["Arn"], GrantId=g["GrantId"])
    assert kms.list_grants(KeyId=key["KeyId"])["Grants"] == []


# --------------------------------------------------------------------------- root
def test_root_lifts_a_policy_that_locks_everyone_out(server, b_acct):
    a_id = account_id(server)
    s3 = server.boto3_client("s3")
    bucket = uniq("lockout")
    s3.create_bucket(Bucket=bucket)
    deny_all = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]}]}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(deny_all))
    expect("AccessDenied", 403, s3.put_object, Bucket=bucket, Key="k", Body=b"x")
    expect("AccessDenied", 403, s3.delete_bucket_policy, Bucket=bucket)
    expect("AccessDenied", 403, s3.get_bucket_policy, Bucket=bucket)

    rc, out, err = root_key(server, a_id)
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["AccountId"] == a_id and doc["Arn"] == f"arn:aws:iam::{a_id}:root"
    root = creds_of(doc)
    who = server.boto3_client("sts", root).get_caller_identity()
    assert who["Arn"] == f"arn:aws:iam::{a_id}:root" and who["Account"] == a_id
    r_s3 = server.boto3_client("s3", root)
    # the deny still binds the root for everything else
    expect("AccessDenied", 403, r_s3.put_object, Bucket=bucket, Key="k", Body=b"x")
    # ... but not for the bucket policy itself
    assert json.loads(r_s3.get_bucket_policy(Bucket=bucket)["Policy"]) == deny_all
    r_s3.delete_bucket_policy(Bucket=bucket)
    # the admin has its access back
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    expect("NoSuchBucketPolicy", 404, s3.get_bucket_policy, Bucket=bucket)

    # another account's root gets no such bypass: denied, or 405 when granted
    rc, out, err = root_key(server, b_acct["AccountName"])  # by name
    assert rc == 0, err
    b_root = server.boto3_client("s3", creds_of(json.loads(out)))
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(deny_all))
    expect("AccessDenied", 403, b_root.delete_bucket_policy, Bucket=bucket)
    r_s3.put_bucket_policy(Bucket=bucket,
                           Policy=json.dumps(grant_all_to(bucket, {"AWS": f"arn:aws:iam::{b_acct['AccountId']}:root"})))
    expect("MethodNotAllowed", 405, b_root.delete_bucket_policy, Bucket=bucket)
    s3.delete_bucket_policy(Bucket=bucket)

    # a deleted root key stops working at once
    rc, _, err = root_key(server, a_id, "--delete", root["AccessKeyId"])
    assert rc == 0, err
    expect("InvalidAccessKeyId", 403, r_s3.list_buckets)
    rc, _, _ = root_key(server, a_id, "--delete", server.admin_creds()["AccessKeyId"])
    assert rc != 0  # a user's key is not a root key
    s3.delete_object(Bucket=bucket, Key="k")
    s3.delete_bucket(Bucket=bucket)


def test_root_key_cli_refuses_unknown_account_and_missing_data_dir(server, tmp_path):
    rc, _, err = root_key(server, "999999999999")
    assert rc != 0 and "no account" in err
    p = subprocess.run([str(BIN), "account", "root-key", "x", "--data", str(tmp_path / "none")],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "not a cloister data directory" in p.stderr
    assert not (tmp_path / "none").exists()


# --------------------------------------------------------------------------- files
@sqlite_only
def test_meta_db_is_private_whatever_the_umask(tmp_path_factory):
    from conftest import CloisterServer
    base = tmp_path_factory.mktemp("modes")
    data = base / "data"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)
    old = os.umask(0o022)
    try:
        srv = CloisterServer(data, base)
        srv.start()
    finally:
        os.umask(old)
    try:
        srv.boto3_client("s3").create_bucket(Bucket=uniq("modes"))  # some WAL traffic
        for name in ("meta.db", "meta.db-wal", "meta.db-shm", "credentials"):
            mode = os.stat(data / name).st_mode & 0o777
            assert mode == 0o600, f"{name} has mode {oct(mode)}"
    finally:
        assert srv.stop() == 0
