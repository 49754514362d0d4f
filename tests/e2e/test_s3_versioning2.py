"""S3 versioning answers (issue 16, second part), as AWS answers them:
writes to a versioning-SUSPENDED bucket (PutObject, CopyObject,
CompleteMultipartUpload) return no x-amz-version-id although the object is
stored and read back as the `null` version (AWS PutObject API reference,
"versioning suspended" sample); a 405 for a delete marker's versionId carries
Last-Modified, x-amz-delete-marker and x-amz-version-id (AWS GetObject); a HEAD
after a DELETE in an unversioned bucket has no x-amz-delete-marker header (AWS
HeadObject: "If false, this response header does not appear")."""
import json

import pytest
import requests
from botocore.exceptions import ClientError

from conftest import expect_error as expect, uniq


@pytest.fixture(scope="module")
def s3(server):
    return server.boto3_client("s3", server.admin_creds())


def headers(resp):
    return resp["ResponseMetadata"]["HTTPHeaders"]


def bucket(s3, status=None):
    b = uniq("ver2")
    s3.create_bucket(Bucket=b)
    if status:
        s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": status})
    return b


def multipart(s3, b, key):
    up = s3.create_multipart_upload(Bucket=b, Key=key)["UploadId"]
    e = s3.upload_part(Bucket=b, Key=key, UploadId=up, PartNumber=1, Body=b"p" * 10)["ETag"]
    return s3.complete_multipart_upload(Bucket=b, Key=key, UploadId=up,
                                        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e}]})


def writes(s3, b):
    """PutObject, CopyObject and CompleteMultipartUpload into b: their answers."""
    put = s3.put_object(Bucket=b, Key="put", Body=b"data")
    copy = s3.copy_object(Bucket=b, Key="copy", CopySource={"Bucket": b, "Key": "put"})
    return {"put": put, "copy": copy, "mp": multipart(s3, b, "mp")}


def test_suspended_writes_return_no_version_id(s3):
    b = bucket(s3, "Suspended")
    for key, r in writes(s3, b).items():
        assert "VersionId" not in r and "x-amz-version-id" not in headers(r), (key, headers(r))
        # still stored as the null version, which reads name
        h = s3.head_object(Bucket=b, Key=key)
        assert h["VersionId"] == "null", key
        assert s3.get_object(Bucket=b, Key=key, VersionId="null")["VersionId"] == "null"
    vs = s3.list_object_versions(Bucket=b)["Versions"]
    assert sorted((v["Key"], v["VersionId"]) for v in vs) == [
        ("copy", "null"), ("mp", "null"), ("put", "null")]


def test_suspended_after_enabled_keeps_older_ids(s3):
    b = bucket(s3, "Enabled")
    v1 = s3.put_object(Bucket=b, Key="k", Body=b"one")["VersionId"]
    assert len(v1) == 32
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Suspended"})
    r = s3.put_object(Bucket=b, Key="k", Body=b"two")
    assert "VersionId" not in r
    vs = s3.list_object_versions(Bucket=b)["Versions"]
    assert [(v["VersionId"], v["IsLatest"]) for v in vs] == [("null", True), (v1, False)]


def test_unversioned_and_enabled_writes(s3):
    for key, r in writes(s3, bucket(s3)).items():  # never versioned: never an id
        assert "x-amz-version-id" not in headers(r), key
    b = bucket(s3, "Enabled")
    for key, r in writes(s3, b).items():  # enabled: the new version's id
        assert len(r["VersionId"]) == 32, key
        assert s3.head_object(Bucket=b, Key=key)["VersionId"] == r["VersionId"]


def test_aws_cli_put_object_suspended(server, s3, aws_cli, tmp_path):
    b = bucket(s3, "Suspended")
    f = tmp_path / "f.txt"
    f.write_bytes(b"cli")
    rc, out, err = server.aws(aws_cli, ["s3api", "put-object", "--bucket", b, "--key", "f.txt",
                                        "--body", str(f)], creds=server.admin_creds())
    assert rc == 0, err
    assert "VersionId" not in json.loads(out)
    rc, out, err = server.aws(aws_cli, ["s3api", "head-object", "--bucket", b, "--key", "f.txt"],
                              creds=server.admin_creds())
    assert rc == 0 and json.loads(out)["VersionId"] == "null", err


def raw_get(server, s3, b, key, vid, method="GET", sub=""):
    """A signed request through botocore's signer (to read every header of an error)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    url = f"{server.endpoint}/{b}/{key}?{sub}versionId={vid}"
    req = AWSRequest(method=method, url=url)
    req.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD"
    SigV4Auth(s3._request_signer._credentials, "s3", "us-east-1").add_auth(req)
    return requests.request(method, url, headers=dict(req.headers))


def test_delete_marker_405_carries_last_modified(server, s3):
    b = bucket(s3, "Enabled")
    s3.put_object(Bucket=b, Key="k", Body=b"x")
    marker = s3.delete_object(Bucket=b, Key="k")["VersionId"]
    listed = s3.list_object_versions(Bucket=b)["DeleteMarkers"][0]
    assert listed["VersionId"] == marker
    for method, sub in (("GET", ""), ("HEAD", ""), ("GET", "tagging&"), ("GET", "acl&")):
        r = raw_get(server, s3, b, "k", marker, method, sub)
        assert r.status_code == 405, (method, sub, r.status_code, r.text)
        assert r.headers.get("x-amz-delete-marker") == "true", (method, sub)
        assert r.headers.get("x-amz-version-id") == marker, (method, sub)
        lm = r.headers.get("Last-Modified")
        assert lm, (method, sub, dict(r.headers))
        from email.utils import parsedate_to_datetime
        assert parsedate_to_datetime(lm) == listed["LastModified"].replace(microsecond=0)
    # boto3 sees the same: the error's headers
    resp = expect("MethodNotAllowed", 405, s3.get_object, Bucket=b, Key="k", VersionId=marker)
    assert "last-modified" in headers(resp)
    resp = expect("MethodNotAllowed", 405, s3.put_object_tagging, Bucket=b, Key="k",
                  VersionId=marker, Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
    h = headers(resp)
    assert h.get("x-amz-delete-marker") == "true" and "last-modified" in h
    # the latest version being a marker, without versionId: 404 and no Last-Modified
    resp = expect("NoSuchKey", 404, s3.get_object, Bucket=b, Key="k")
    assert headers(resp).get("x-amz-delete-marker") == "true"


def test_head_after_delete_unversioned_has_no_marker_header(server, s3):
    """ceph's test_delete_marker_nonversioned wants `x-amz-delete-marker: false`;
    AWS (HeadObject reference) sends no header when false: AWS wins."""
    b = bucket(s3)
    s3.put_object(Bucket=b, Key="frodo.txt", Body=b"body")
    r = s3.delete_object(Bucket=b, Key="frodo.txt")
    assert "x-amz-delete-marker" not in headers(r)
    with pytest.raises(ClientError) as ei:
        s3.head_object(Bucket=b, Key="frodo.txt")
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert "x-amz-delete-marker" not in ei.value.response["ResponseMetadata"]["HTTPHeaders"]
