"""Issue 10, items 5 and 14: no condition key in the aws:, s3:, iam:, sts: or
kms: namespaces is silently unsupported. Keys the server supplies make their
Deny fire (iam:PolicyARN, s3:ExistingObjectTag/*, s3:RequestObjectTag/*,
sts:ExternalId, kms:ScheduleKeyDeletionPendingWindowInDays); keys it never
supplies are refused when the policy is written, naming the key, by IAM, S3
and KMS alike. Block Public Access counts aws:SourceIp CIDRs that together
cover every address as public."""
import json

import pytest
from botocore.exceptions import ClientError

from conftest import boto3_client, client_error, http_get, uniq

ADMIN_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"


def _user(server, iam, name, policy):
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    k = iam.create_access_key(UserName=name)["AccessKey"]
    return {"AccessKeyId": k["AccessKeyId"], "SecretAccessKey": k["SecretAccessKey"]}


def _err(fn, **kw):
    with pytest.raises(ClientError) as ei:
        fn(**kw)
    return client_error(ei.value)


def test_policy_arn_deny_stops_self_escalation(server):
    iam = server.boto3_client("iam")
    name = uniq("escalator")
    creds = _user(server, iam, name, {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:*", "Resource": "*"},
        {"Effect": "Deny", "Action": ["iam:AttachUserPolicy", "iam:AttachRolePolicy"], "Resource": "*",
         "Condition": {"ArnEquals": {"iam:PolicyARN": ADMIN_ARN}}}]})
    me = boto3_client(server.endpoint, "iam", creds)
    code, status, _ = _err(me.attach_user_policy, UserName=name, PolicyArn=ADMIN_ARN)
    assert (code, status) == ("AccessDenied", 403)
    attached = iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]
    assert ADMIN_ARN not in [p["PolicyArn"] for p in attached]
    # another managed policy is not covered by the Deny
    me.attach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    me.detach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")


def _public_bucket(s3, bucket, extra_statements):
    s3.create_bucket(Bucket=bucket)
    try:
        s3.delete_public_access_block(Bucket=bucket)
    except ClientError:
        pass
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{bucket}/*"}] + extra_statements}))


def test_existing_object_tag_deny_hides_secret_object(server):
    s3 = server.boto3_client("s3")
    bucket = uniq("tagged")
    _public_bucket(s3, bucket, [
        {"Sid": "NoSecrets", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{bucket}/*",
         "Condition": {"StringEquals": {"s3:ExistingObjectTag/classification": "secret"}}}])
    s3.put_object(Bucket=bucket, Key="secret.txt", Body=b"launch codes", Tagging="classification=secret")
    s3.put_object(Bucket=bucket, Key="public.txt", Body=b"hello", Tagging="classification=public")
    status, _, body = http_get(f"{server.endpoint}/{bucket}/secret.txt")
    assert status == 403 and b"launch codes" not in body
    status, _, body = http_get(f"{server.endpoint}/{bucket}/public.txt")
    assert status == 200 and body == b"hello"
    # re-tagging the public object makes it secret too
    s3.put_object_tagging(Bucket=bucket, Key="public.txt",
                          Tagging={"TagSet": [{"Key": "classification", "Value": "secret"}]})
    assert http_get(f"{server.endpoint}/{bucket}/public.txt")[0] == 403


def test_request_object_tag_deny(server):
    s3 = server.boto3_client("s3")
    bucket = uniq("reqtag")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": ["s3:PutObject", "s3:PutObjectTagging"],
         "Resource": f"arn:aws:s3:::{bucket}/*",
         "Condition": {"ForAnyValue:StringEquals": {"s3:RequestObjectTagKeys": "forbidden"}}}]}))
    code, status, _ = _err(s3.put_object, Bucket=bucket, Key="k", Body=b"x", Tagging="forbidden=1")
    assert (code, status) == ("AccessDenied", 403)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="allowed=1")
    code, status, _ = _err(s3.put_object_tagging, Bucket=bucket, Key="k",
                           Tagging={"TagSet": [{"Key": "forbidden", "Value": "1"}]})
    assert (code, status) == ("AccessDenied", 403)
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == [{"Key": "allowed", "Value": "1"}]


def _policy_with_key(key, principal=True, resource="*"):
    st = {"Effect": "Deny", "Action": "*", "Resource": resource,
          "Condition": {"StringEquals": {key: "x"}}}
    if principal:
        st["Principal"] = "*"
    return {"Version": "2012-10-17", "Statement": [st]}


@pytest.mark.parametrize("key", ["s3:NoSuchKey", "aws:NoSuchKey", "aws:SomeCustomThing", "s3:TlsVersion"])
def test_unsupported_key_refused_by_put_bucket_policy(server, key):
    s3 = server.boto3_client("s3")
    bucket = uniq("badkey")
    s3.create_bucket(Bucket=bucket)
    code, status, msg = _err(s3.put_bucket_policy, Bucket=bucket,
                             Policy=json.dumps(_policy_with_key(key, resource=f"arn:aws:s3:::{bucket}/*")))
    assert (code, status) == ("MalformedPolicy", 400)
    assert msg.startswith("Policy has an invalid condition key") and key in msg
    assert _err(s3.get_bucket_policy, Bucket=bucket)[0] == "NoSuchBucketPolicy"


@pytest.mark.parametrize("key", ["iam:NoSuchKey", "aws:NoSuchKey", "iam:PassedToService",
                                 "iam:PermissionsBoundary", "sts:SourceIdentity"])
def test_unsupported_key_refused_by_iam(server, key):
    iam = server.boto3_client("iam")
    name = uniq("badkey")
    iam.create_user(UserName=name)
    doc = json.dumps(_policy_with_key(key, principal=False))
    code, status, msg = _err(iam.put_user_policy, UserName=name, PolicyName="p", PolicyDocument=doc)
    assert (code, status) == ("MalformedPolicyDocument", 400) and key in msg
    code, _, msg = _err(iam.create_policy, PolicyName=uniq("badkey"), PolicyDocument=doc)
    assert code == "MalformedPolicyDocument" and key in msg


def test_other_namespaces_and_supported_keys_accepted(server):
    iam = server.boto3_client("iam")
    name = uniq("okkey")
    iam.create_user(UserName=name)
    for key in ("ec2:Region", "myvendor:Anything", "aws:SourceIp", "s3:x-amz-server-side-encryption",
                "iam:PolicyARN", "kms:EncryptionContext:dept"):
        value = "10.0.0.0/8" if key == "aws:SourceIp" else "x"
        op = "IpAddress" if key == "aws:SourceIp" else "StringEquals"
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*",
                                                    "Condition": {op: {key: value}}}]}))


def _key_policy(account, extra):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
         "Action": "kms:*", "Resource": "*"}] + extra})


def test_unsupported_key_refused_by_kms(server):
    kms = server.boto3_client("kms")
    account = server.boto3_client("sts").get_caller_identity()["Account"]
    bad = [{"Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
            "Condition": {"StringEquals": {"kms:NoSuchKey": "x"}}}]
    code, status, msg = _err(kms.create_key, Policy=_key_policy(account, bad))
    assert (code, status) == ("MalformedPolicyDocumentException", 400) and "kms:NoSuchKey" in msg
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    code, _, msg = _err(kms.put_key_policy, KeyId=key, PolicyName="default", Policy=_key_policy(account, bad))
    assert code == "MalformedPolicyDocumentException" and "kms:NoSuchKey" in msg


def test_kms_request_key_deny_fires(server):
    kms = server.boto3_client("kms")
    account = server.boto3_client("sts").get_caller_identity()["Account"]
    key = kms.create_key(Policy=_key_policy(account, [
        {"Sid": "KeepAWeek", "Effect": "Deny", "Principal": "*", "Action": "kms:ScheduleKeyDeletion",
         "Resource": "*",
         "Condition": {"NumericLessThan": {"kms:ScheduleKeyDeletionPendingWindowInDays": "30"}}}]))
    key_id = key["KeyMetadata"]["KeyId"]
    code, _, _ = _err(kms.schedule_key_deletion, KeyId=key_id, PendingWindowInDays=7)
    assert code == "AccessDeniedException"
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=30)
    kms.cancel_key_deletion(KeyId=key_id)


def test_sts_external_id(server):
    iam = server.boto3_client("iam")
    account = server.boto3_client("sts").get_caller_identity()["Account"]
    role = uniq("ext")
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": "tenant-42"},
                          "StringLike": {"sts:RoleSessionName": "job-*"}}}]}))["Role"]["Arn"]
    sts = server.boto3_client("sts")
    sts.assume_role(RoleArn=arn, RoleSessionName="job-1", ExternalId="tenant-42")
    assert _err(sts.assume_role, RoleArn=arn, RoleSessionName="job-1")[0] == "AccessDenied"
    assert _err(sts.assume_role, RoleArn=arn, RoleSessionName="job-1", ExternalId="tenant-43")[0] == "AccessDenied"
    assert _err(sts.assume_role, RoleArn=arn, RoleSessionName="other", ExternalId="tenant-42")[0] == "AccessDenied"


def test_block_public_policy_sees_split_source_ip(server):
    s3 = server.boto3_client("s3")
    bucket = uniq("splitip")
    s3.create_bucket(Bucket=bucket)
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True})

    def policy(cidrs):
        return json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/*", "Condition": {"IpAddress": {"aws:SourceIp": cidrs}}}]})

    for cidrs in (["0.0.0.0/1", "128.0.0.0/1"], ["::/1", "8000::/1", "192.0.2.0/24"]):
        code, status, _ = _err(s3.put_bucket_policy, Bucket=bucket, Policy=policy(cidrs))
        assert (code, status) == ("AccessDenied", 403), cidrs
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(["192.0.2.0/24", "198.51.100.0/24"]))
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is False


def test_kms_request_alias_and_algorithm_keys(server):
    kms = server.boto3_client("kms")
    account = server.boto3_client("sts").get_caller_identity()["Account"]
    alias = f"alias/{uniq('blocked')}"
    key_id = kms.create_key(Policy=_key_policy(account, [
        {"Sid": "NotByThatName", "Effect": "Deny", "Principal": "*", "Action": "kms:Encrypt", "Resource": "*",
         "Condition": {"StringEquals": {"kms:RequestAlias": alias}}},
        {"Sid": "SymmetricOnly", "Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
         "Condition": {"StringNotEquals": {"kms:EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}}}]))["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    assert _err(kms.encrypt, KeyId=alias, Plaintext=b"x")[0] == "AccessDeniedException"
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"  # the key is supplied: not denied
