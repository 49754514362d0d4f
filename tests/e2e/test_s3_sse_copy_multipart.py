"""Server-side encryption across multipart uploads and copies: `aws s3 cp` of a
multipart-sized file with --sse AES256 and --sse aws:kms (both CLIs), bucket
default encryption for low-level multipart uploads, UploadPartCopy, and
CopyObject from and to encrypted objects (decrypted with the source's key,
re-encrypted as a PUT would be). Every read is byte-exact, ranges cross part
boundaries, and the plaintext is never on disk."""
import json
import os

import pytest
from botocore.exceptions import ClientError

from conftest import blobs_contain, boto3_client, client_error, run_aws, uniq


def patterned(marker, size):
    return (marker * (size // len(marker) + 1))[:size]


@pytest.mark.parametrize("sse", ["AES256", "aws:kms"])
def test_cli_multipart_upload_encrypted(server, aws_cli, tmp_path, sse):
    a = server.admin_creds()
    s3 = boto3_client(server.endpoint, "s3", a)
    bucket = uniq("ssemp")
    s3.create_bucket(Bucket=bucket)
    marker = os.urandom(16)
    data = patterned(marker, (12 << 20) + 12345)  # > the CLI's 8 MiB multipart threshold
    (tmp_path / "big").write_bytes(data)
    args = ["s3", "cp", str(tmp_path / "big"), f"s3://{bucket}/big", "--sse", sse, "--no-progress"]
    key_arn = None
    if sse == "aws:kms":
        key = server.boto3_client("kms").create_key()["KeyMetadata"]
        key_arn = key["Arn"]
        args += ["--sse-kms-key-id", key["KeyId"]]
    rc, _, err = run_aws(aws_cli, server.endpoint, args, creds=a)
    assert rc == 0, err
    head = s3.head_object(Bucket=bucket, Key="big")
    assert head["ETag"].endswith('-2"'), head["ETag"]  # really multipart
    assert head["ServerSideEncryption"] == sse and head["ContentLength"] == len(data)
    if key_arn:
        assert head["SSEKMSKeyId"] == key_arn
    assert not blobs_contain(server.data_dir, marker), "plaintext found on disk"
    out = tmp_path / "back"
    rc, _, err = run_aws(aws_cli, server.endpoint, ["s3", "cp", f"s3://{bucket}/big", str(out), "--no-progress"],
                         creds=a)
    assert rc == 0, err
    assert out.read_bytes() == data
    cut = 8 << 20  # the CLI's part size: read across the boundary
    for lo, hi in ((cut - 70000, cut + 70000), (0, 0), (len(data) - 1, len(data) - 1)):
        got = s3.get_object(Bucket=bucket, Key="big", Range=f"bytes={lo}-{hi}")["Body"].read()
        assert got == data[lo:hi + 1]


def test_bucket_default_multipart_and_part_copy(server):
    a = server.admin_creds()
    s3 = boto3_client(server.endpoint, "s3", a)
    kms = server.boto3_client("kms")
    key = kms.create_key()["KeyMetadata"]
    bucket = uniq("ssedef")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key["Arn"]}}]})
    marker = os.urandom(16)
    src = patterned(marker, 6 << 20)
    s3.put_object(Bucket=bucket, Key="src", Body=src, ServerSideEncryption="AES256")  # SSE-S3 source
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp")
    assert up["ServerSideEncryption"] == "aws:kms" and up["SSEKMSKeyId"] == key["Arn"]
    uid = up["UploadId"]
    p1 = s3.upload_part_copy(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=1,
                             CopySource=f"{bucket}/src")["CopyPartResult"]["ETag"]
    tail = patterned(marker[::-1], 5 << 20)
    p2 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=2, Body=tail)["ETag"]
    p3 = s3.upload_part_copy(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=3, CopySource=f"{bucket}/src",
                             CopySourceRange="bytes=100-199")["CopyPartResult"]["ETag"]
    done = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": p1}, {"PartNumber": 2, "ETag": p2}, {"PartNumber": 3, "ETag": p3}]})
    assert done["ServerSideEncryption"] == "aws:kms"
    got = s3.get_object(Bucket=bucket, Key="mp")
    assert got["Body"].read() == src + tail + src[100:200]
    assert got["SSEKMSKeyId"] == key["Arn"]
    assert not blobs_contain(server.data_dir, marker)
    assert not blobs_contain(server.data_dir, marker[::-1])
    # the key disabled: neither the object nor a copy of it can be read
    kms.disable_key(KeyId=key["KeyId"])
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="mp", Range="bytes=0-10")
    assert client_error(e.value)[0] == "KMS.DisabledException"
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="cp", CopySource=f"{bucket}/mp", ServerSideEncryption="AES256")
    assert client_error(e.value)[0] == "KMS.DisabledException"
    kms.enable_key(KeyId=key["KeyId"])


def test_copy_object_between_encryptions(server):
    a = server.admin_creds()
    s3 = boto3_client(server.endpoint, "s3", a)
    kms = server.boto3_client("kms")
    bucket, plain_bucket = uniq("ssecp"), uniq("plaincp")
    s3.create_bucket(Bucket=bucket)
    s3.create_bucket(Bucket=plain_bucket)
    marker = os.urandom(16)
    body = patterned(marker, 200000)
    s3.put_object(Bucket=bucket, Key="s3", Body=body, ServerSideEncryption="AES256")
    # encrypted -> plain (no SSE headers, no bucket default): readable, stored as given
    r = s3.copy_object(Bucket=plain_bucket, Key="p", CopySource=f"{bucket}/s3")
    assert "ServerSideEncryption" not in r
    assert s3.get_object(Bucket=plain_bucket, Key="p")["Body"].read() == body
    assert blobs_contain(server.data_dir, marker)  # the unencrypted copy: the check can fail
    s3.delete_object(Bucket=plain_bucket, Key="p")
    assert not blobs_contain(server.data_dir, marker)
    # SSE-S3 -> SSE-KMS under a customer key
    key = kms.create_key()["KeyMetadata"]
    r = s3.copy_object(Bucket=bucket, Key="kms", CopySource=f"{bucket}/s3", ServerSideEncryption="aws:kms",
                       SSEKMSKeyId=key["KeyId"])
    assert r["ServerSideEncryption"] == "aws:kms" and r["SSEKMSKeyId"] == key["Arn"]
    got = s3.get_object(Bucket=bucket, Key="kms")
    assert got["Body"].read() == body and got["SSEKMSKeyId"] == key["Arn"]
    # in place, to change the encryption (metadata REPLACE, as S3 requires)
    s3.copy_object(Bucket=bucket, Key="kms", CopySource=f"{bucket}/kms", MetadataDirective="REPLACE",
                   ServerSideEncryption="AES256")
    got = s3.get_object(Bucket=bucket, Key="kms")
    assert got["Body"].read() == body and got["ServerSideEncryption"] == "AES256"
    assert not blobs_contain(server.data_dir, marker)


def test_copy_needs_decrypt_on_the_source_key(server):
    """A reader of an SSE-KMS source without kms:Decrypt cannot copy it out."""
    a = server.admin_creds()
    s3 = boto3_client(server.endpoint, "s3", a)
    iam, kms = server.boto3_client("iam"), server.boto3_client("kms")
    key = kms.create_key()["KeyMetadata"]
    bucket = uniq("ssecpdeny")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="src", Body=b"secret input", ServerSideEncryption="aws:kms",
                  SSEKMSKeyId=key["KeyId"])
    name = uniq("copier")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="s3", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    k = iam.create_access_key(UserName=name)["AccessKey"]
    user = boto3_client(server.endpoint, "s3", {"AccessKeyId": k["AccessKeyId"], "SecretAccessKey": k["SecretAccessKey"]})
    with pytest.raises(ClientError) as e:
        user.copy_object(Bucket=bucket, Key="dst", CopySource=f"{bucket}/src")
    code, status, msg = client_error(e.value)
    assert code == "AccessDenied" and status == 403 and "kms:Decrypt" in msg
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="dst")
    assert client_error(e.value)[1] == 404
