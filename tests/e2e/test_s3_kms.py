"""SSE-KMS end to end: the issue's sensitive-inputs flow with the stock aws CLI
(v2, and v1 when installed) — the requestor uploads with
`aws s3 cp --sse aws:kms --sse-kms-key-id KEY`, the prover's role (trusted by
another account, allowed by the bucket policy) can read the object only once
the key policy grants it kms:Decrypt; before that S3 answers AccessDenied
naming KMS. Also: the AWS managed key alias/aws/s3, bucket default encryption
with a KMS key, key states seen through S3, anonymous reads, and the bytes on
disk never being the plaintext."""
import json
import os

import pytest
from botocore.exceptions import ClientError

from conftest import blobs_contain, boto3_client, client_error, run_aws, uniq

ROLE = "ProverInputDownloadRole"


def test_sensitive_inputs_flow_with_sse_kms(server, aws_cli, tmp_path):
    a = server.admin_creds()
    kms, s3, iam = (server.boto3_client(x) for x in ("kms", "s3", "iam"))
    rc, b, _, err = server.account_create(uniq("prover"))
    assert rc == 0, err
    B = b["AccountId"]
    b_creds = {"AccessKeyId": b["AccessKeyId"], "SecretAccessKey": b["SecretAccessKey"]}
    role = f"{ROLE}-{aws_cli[0][-2:]}"
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{B}:root"},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    key = kms.create_key(Description="sensitive inputs")["KeyMetadata"]
    bucket = uniq("inputs")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": role_arn},
                                                "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]}))
    marker = os.urandom(16).hex().encode()
    data = b'{"ledger": "' + marker * 1000 + b'"}'
    (tmp_path / "input.json").write_bytes(data)
    rc, _, err = run_aws(aws_cli, server.endpoint, ["s3", "cp", "input.json", f"s3://{bucket}/p/input.json",
                                                    "--sse", "aws:kms", "--sse-kms-key-id", key["KeyId"],
                                                    "--no-progress"], creds=a, cwd=tmp_path)
    assert rc == 0, err
    head = s3.head_object(Bucket=bucket, Key="p/input.json")
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == key["Arn"]
    assert not blobs_contain(server.data_dir, marker), "plaintext found on disk"
    # the requestor (key policy delegates to its account; admin has kms:*) reads it back
    assert s3.get_object(Bucket=bucket, Key="p/input.json")["Body"].read() == data

    # B's user assumes the role in A
    sess = boto3_client(server.endpoint, "sts", b_creds).assume_role(
        RoleArn=role_arn, RoleSessionName="prover")["Credentials"]
    prover = {k: sess[k] for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")}
    out = tmp_path / "downloaded.json"
    rc, _, err = run_aws(aws_cli, server.endpoint, ["s3", "cp", f"s3://{bucket}/p/input.json", str(out),
                                                    "--no-progress"], creds=prover)
    assert rc != 0 and "AccessDenied" in err and "kms:Decrypt" in err and "KMS" in err, err
    assert not out.exists() or out.read_bytes() != data
    # the key policy grants the role kms:Decrypt: now the download works
    pol = json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
    pol["Statement"].append({"Sid": "ProverDecrypt", "Effect": "Allow", "Principal": {"AWS": role_arn},
                             "Action": "kms:Decrypt", "Resource": "*"})
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=json.dumps(pol))
    rc, _, err = run_aws(aws_cli, server.endpoint, ["s3", "cp", f"s3://{bucket}/p/input.json", str(out),
                                                    "--no-progress"], creds=prover)
    assert rc == 0, err
    assert out.read_bytes() == data
    # B's user itself (not the role) is still refused by S3
    rc, _, err = run_aws(aws_cli, server.endpoint, ["s3", "cp", f"s3://{bucket}/p/input.json", str(out)],
                         creds=b_creds)
    assert rc != 0 and ("403" in err or "AccessDenied" in err), err


def test_managed_key_default_encryption_and_states(server):
    a = server.admin_creds()
    s3, kms = boto3_client(server.endpoint, "s3", a), server.boto3_client("kms")
    bucket = uniq("kmsdef")
    s3.create_bucket(Bucket=bucket)
    # no key id: the account's AWS managed key alias/aws/s3, made on first use
    r = s3.put_object(Bucket=bucket, Key="managed", Body=b"m" * 1000, ServerSideEncryption="aws:kms")
    managed = kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]
    assert r["SSEKMSKeyId"] == managed["Arn"] and managed["KeyManager"] == "AWS"
    assert s3.get_object(Bucket=bucket, Key="managed")["Body"].read() == b"m" * 1000
    with pytest.raises(ClientError) as e:
        kms.schedule_key_deletion(KeyId=managed["KeyId"])
    assert client_error(e.value)[0] in ("UnsupportedOperationException", "AccessDeniedException")
    # bucket default encryption with a customer key
    key = kms.create_key()["KeyMetadata"]
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key["Arn"]}}]})
    marker = os.urandom(16)
    data = marker * 8000  # 128 KB: more than one segment
    r = s3.put_object(Bucket=bucket, Key="default", Body=data)
    assert r["ServerSideEncryption"] == "aws:kms" and r["SSEKMSKeyId"] == key["Arn"]
    assert s3.get_object(Bucket=bucket, Key="default", Range="bytes=65530-65545")["Body"].read() == data[65530:65546]
    assert not blobs_contain(server.data_dir, marker)
    # a disabled key makes the object unreadable, with KMS's reason
    kms.disable_key(KeyId=key["KeyId"])
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="default")
    code, status, _ = client_error(e.value)
    assert code == "KMS.DisabledException" and status == 400
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="default2", Body=b"x")
    assert client_error(e.value)[0] == "KMS.DisabledException"
    # HEAD needs no kms:Decrypt (as S3)
    assert s3.head_object(Bucket=bucket, Key="default")["SSEKMSKeyId"] == key["Arn"]
    kms.enable_key(KeyId=key["KeyId"])
    assert s3.get_object(Bucket=bucket, Key="default")["Body"].read() == data
    # an unknown key id: KMS.NotFoundException, nothing stored
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="nokey", Body=b"x", ServerSideEncryption="aws:kms",
                      SSEKMSKeyId="00000000-0000-4000-8000-000000000000")
    assert client_error(e.value)[0] == "KMS.NotFoundException"
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="nokey")
    assert client_error(e.value)[1] == 404


def test_public_sse_kms_object_needs_signed_requests(server):
    import urllib.error
    import urllib.request
    a = server.admin_creds()
    s3 = boto3_client(server.endpoint, "s3", a)
    bucket = uniq("kmspub")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="o", Body=b"secret", ServerSideEncryption="aws:kms")
    s3.put_object(Bucket=bucket, Key="plain", Body=b"open")
    s3.delete_public_access_block(Bucket=bucket)  # a new bucket blocks public access (AWS default)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]}))
    with urllib.request.urlopen(f"{server.endpoint}/{bucket}/plain") as r:
        assert r.read() == b"open"  # the policy makes objects public...
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"{server.endpoint}/{bucket}/o")
    assert e.value.code == 400 and b"Signature Version 4" in e.value.read()  # ...but not SSE-KMS ones
