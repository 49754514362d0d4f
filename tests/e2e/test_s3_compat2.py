"""S3 compatibility fixes found with ceph/s3-tests (issue 16), second file:
an x-amz-acl / x-amz-grant-* header on PutObject, CopyObject or
CreateMultipartUpload also needs s3:PutObjectAcl (AWS PutObject: setting an ACL
needs s3:PutObjectAcl)."""
import pytest
from botocore.exceptions import ClientError

from conftest import client_error, new_user, uniq


def test_acl_header_needs_put_object_acl(server):
    admin = server.boto3_client("s3")
    bucket = uniq("aclperm")
    admin.create_bucket(Bucket=bucket)
    admin.put_object(Bucket=bucket, Key="src", Body=b"x")
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
         "Resource": f"arn:aws:s3:::{bucket}/*"}]}
    creds, _ = new_user(server, uniq("noacl"), policy)
    c = server.boto3_client("s3", creds)
    c.put_object(Bucket=bucket, Key="plain", Body=b"ok")  # no ACL header: PutObject suffices
    calls = [
        lambda: c.put_object(Bucket=bucket, Key="a", Body=b"x", ACL="private"),
        lambda: c.copy_object(Bucket=bucket, Key="b", CopySource={"Bucket": bucket, "Key": "src"},
                              ACL="bucket-owner-full-control"),
        lambda: c.create_multipart_upload(Bucket=bucket, Key="c", ACL="private"),
    ]
    for call in calls:
        with pytest.raises(ClientError) as e:
            call()
        assert client_error(e.value)[:2] == ("AccessDenied", 403)
    admin.put_object(Bucket=bucket, Key="a", Body=b"x", ACL="private")  # the owner may
