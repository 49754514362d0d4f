"""S3 compatibility fixes found with ceph/s3-tests and a current botocore
(issue 16, s3ck): response checksums describe the bytes sent, conditional deletes.

1. A ranged GET/HEAD answers no x-amz-checksum-* (the stored one is the whole
   object's; AWS and MinIO send none for a range); a full GET, partNumber, the
   response-* overrides and SSE-S3 keep the right one.
2. CopyObject computes the copy's checksum over the bytes it copies (a multipart
   source's COMPOSITE "-N" became the copy's without its parts); UploadPartCopy +
   Complete gives an object whose reads validate.
3. DeleteObject If-Match / x-amz-if-match-last-modified-time / x-amz-if-match-size
   and DeleteObjects <ETag>/<LastModifiedTime>/<Size> are honoured (412
   PreconditionFailed, the object kept) instead of ignored or refused.
Checksums are checked with zlib here (boto3 1.26 is not the validating botocore)."""
import base64
import hashlib
import struct
import zlib

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError

from conftest import client_error, crc64nvme, new_user, uniq

MIB = 1 << 20


def crc32_b64(data):
    return base64.b64encode(struct.pack(">I", zlib.crc32(data))).decode()


def checksum_headers(resp):
    return {k: v for k, v in resp["ResponseMetadata"]["HTTPHeaders"].items()
            if k.startswith("x-amz-checksum-") and k != "x-amz-checksum-type"}


def add_headers(client, op, headers):
    def hook(request, **_):
        for k, v in headers.items():
            request.headers[k] = v
    client.meta.events.register(f"before-sign.s3.{op}", hook)
    return lambda: client.meta.events.unregister(f"before-sign.s3.{op}", hook)


@pytest.fixture(scope="module")
def s3(server):
    return server.boto3_client("s3")


@pytest.fixture(scope="module")
def bucket(s3):
    name = uniq("ck6")
    s3.create_bucket(Bucket=name)
    return name


# --------------------------------------------------------------------- 1. ranged reads
@pytest.mark.parametrize("sse", [None, "AES256"])
def test_ranged_get_sends_no_whole_object_checksum(s3, bucket, sse):
    key = uniq("rng")
    extra = {"ServerSideEncryption": sse} if sse else {}
    s3.put_object(Bucket=bucket, Key=key, Body=b"testcontent", ChecksumAlgorithm="CRC32", **extra)
    g = s3.get_object(Bucket=bucket, Key=key, Range="bytes=4-7", ChecksumMode="ENABLED")
    assert g["Body"].read() == b"cont"
    assert checksum_headers(g) == {}  # used to be the whole object's CRC32
    h = s3.head_object(Bucket=bucket, Key=key, Range="bytes=0-3", ChecksumMode="ENABLED")
    assert checksum_headers(h) == {}
    full = s3.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED",
                         ResponseContentType="text/x-mine")
    assert full["Body"].read() == b"testcontent"
    assert checksum_headers(full) == {"x-amz-checksum-crc32": crc32_b64(b"testcontent")}
    one = s3.get_object(Bucket=bucket, Key=key, PartNumber=1, ChecksumMode="ENABLED")
    assert checksum_headers(one) == {"x-amz-checksum-crc32": crc32_b64(b"testcontent")}


def _multipart(s3, bucket, key, parts, algo="CRC32"):
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm=algo)["UploadId"]
    done = []
    for i, data in enumerate(parts, 1):
        r = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=i, Body=data,
                           ChecksumAlgorithm=algo)
        done.append({"PartNumber": i, "ETag": r["ETag"], "ChecksumCRC32": r["ChecksumCRC32"]})
    return s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid,
                                        MultipartUpload={"Parts": done})


def test_multipart_ranged_and_part_reads(s3, bucket):
    key = uniq("mp")
    parts = [b"a" * 5 * MIB, b"tail-part"]
    _multipart(s3, bucket, key, parts)
    g = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={5 * MIB - 2}-{5 * MIB + 3}",
                      ChecksumMode="ENABLED")
    assert g["Body"].read() == b"aatail"
    assert checksum_headers(g) == {}
    p2 = s3.get_object(Bucket=bucket, Key=key, PartNumber=2, ChecksumMode="ENABLED")
    assert p2["Body"].read() == b"tail-part"
    assert checksum_headers(p2) == {"x-amz-checksum-crc32": crc32_b64(b"tail-part")}


# --------------------------------------------------------------------- 2. copies
def test_copy_of_multipart_object_gets_its_own_checksum(s3, bucket):
    src, dst = uniq("mpsrc"), uniq("cpdst")
    parts = [b"b" * 5 * MIB, b"end"]
    r = _multipart(s3, bucket, src, parts)
    assert r["ChecksumCRC32"].endswith("-2")
    s3.copy_object(Bucket=bucket, Key=dst, CopySource={"Bucket": bucket, "Key": src})
    h = s3.head_object(Bucket=bucket, Key=dst, ChecksumMode="ENABLED")
    # the source's COMPOSITE "-2" described parts the copy does not have
    assert checksum_headers(h) == {"x-amz-checksum-crc32": crc32_b64(b"".join(parts))}
    assert h["ResponseMetadata"]["HTTPHeaders"]["x-amz-checksum-type"] == "FULL_OBJECT"


def test_upload_part_copy_object_reads_validate(s3, bucket):
    """ceph test_multipart_copy_small: UploadPartCopy + Complete, then a full and
    a ranged read of source and copy; every checksum sent matches the bytes."""
    src, dst = uniq("pcsrc"), uniq("pcdst")
    s3.put_object(Bucket=bucket, Key=src, Body=b"0123456789", ChecksumAlgorithm="CRC32")
    uid = s3.create_multipart_upload(Bucket=bucket, Key=dst)["UploadId"]
    r = s3.upload_part_copy(Bucket=bucket, Key=dst, UploadId=uid, PartNumber=1,
                            CopySource={"Bucket": bucket, "Key": src}, CopySourceRange="bytes=0-0")
    s3.complete_multipart_upload(Bucket=bucket, Key=dst, UploadId=uid, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": r["CopyPartResult"]["ETag"]}]})
    # the copy's upload named no algorithm: its parts, and so the object, get the default
    # CRC64NVME (as AWS); the source keeps its CRC32
    for key, rng, want, alg in [(src, "bytes=0-0", b"0", None), (dst, None, b"0", "crc64nvme"),
                                (dst, "bytes=0-0", b"0", None)]:
        kw = {"Range": rng} if rng else {}
        g = s3.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED", **kw)
        assert g["Body"].read() == want
        sent = checksum_headers(g)
        if alg is None:  # a ranged read: no whole-object checksum
            assert sent == {}
        else:
            assert sent == {"x-amz-checksum-" + alg: crc64nvme(want)}


# --------------------------------------------------------------------- 3. conditional deletes
def _gone(s3, bucket, key):
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return False
    except ClientError as e:
        return client_error(e)[1] == 404


def _delete(s3, bucket, key, headers, **kw):
    remove = add_headers(s3, "DeleteObject", headers)
    try:
        return s3.delete_object(Bucket=bucket, Key=key, **kw)
    finally:
        remove()


def _precondition_failed(fn):
    with pytest.raises(ClientError) as e:
        fn()
    assert client_error(e.value)[:2] == ("PreconditionFailed", 412)


def test_delete_object_if_match(s3, bucket):
    key = uniq("dim")
    etag = s3.put_object(Bucket=bucket, Key=key, Body=b"keep")["ETag"]
    _precondition_failed(lambda: _delete(s3, bucket, key, {"If-Match": '"0123"'}))
    assert not _gone(s3, bucket, key)  # used to be deleted: the condition was ignored
    r = _delete(s3, bucket, key, {"If-Match": etag})
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 204 and _gone(s3, bucket, key)
    r = _delete(s3, bucket, key, {"If-Match": '"0123"'})  # no such object: 204, as AWS
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 204
    s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    _delete(s3, bucket, key, {"If-Match": "*"})
    assert _gone(s3, bucket, key)


def test_delete_object_if_match_size_and_time(s3, bucket):
    key = uniq("dsz")
    s3.put_object(Bucket=bucket, Key=key, Body=b"12345")
    mtime = s3.head_object(Bucket=bucket, Key=key)["ResponseMetadata"]["HTTPHeaders"][
        "last-modified"]
    _precondition_failed(lambda: _delete(s3, bucket, key, {"x-amz-if-match-size": "4"}))
    _precondition_failed(lambda: _delete(s3, bucket, key, {
        "x-amz-if-match-last-modified-time": "Thu, 01 Jan 2015 00:00:00 GMT"}))
    _precondition_failed(lambda: _delete(s3, bucket, key, {
        "x-amz-if-match-size": "5", "x-amz-if-match-last-modified-time":
        "Thu, 01 Jan 2015 00:00:00 GMT"}))
    assert not _gone(s3, bucket, key)
    _delete(s3, bucket, key, {"x-amz-if-match-size": "5",
                              "x-amz-if-match-last-modified-time": mtime})
    assert _gone(s3, bucket, key)
    with pytest.raises(ClientError) as e:
        _delete(s3, bucket, key, {"x-amz-if-match-size": "five"})
    assert client_error(e.value)[:2] == ("InvalidArgument", 400)


def test_delete_object_conditions_versioned(s3):
    bucket = uniq("dver")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    key = "obj"
    r = s3.put_object(Bucket=bucket, Key=key, Body=b"v1")
    vid, etag = r["VersionId"], r["ETag"]
    _precondition_failed(lambda: _delete(s3, bucket, key, {"If-Match": '"bad"'}, VersionId=vid))
    _precondition_failed(lambda: _delete(s3, bucket, key, {"If-Match": '"bad"'}))
    r = _delete(s3, bucket, key, {"If-Match": etag})
    assert r["DeleteMarker"]
    # the current version is a delete marker: it has no ETag or size
    _precondition_failed(lambda: _delete(s3, bucket, key, {"If-Match": etag}))
    _precondition_failed(lambda: _delete(s3, bucket, key, {"x-amz-if-match-size": "2"}))
    r = _delete(s3, bucket, key, {"If-Match": etag}, VersionId=vid)
    assert "DeleteMarker" not in r
    assert vid not in [v["VersionId"] for v in
                       s3.list_object_versions(Bucket=bucket).get("Versions", [])]


def _delete_objects(server, s3, bucket, xml):
    url = f"{server.endpoint}/{bucket}?delete"
    body = xml.encode()
    headers = {"Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode(),
               "x-amz-content-sha256": hashlib.sha256(body).hexdigest()}
    req = AWSRequest(method="POST", url=url, data=body, headers=headers)
    SigV4Auth(s3._request_signer._credentials, "s3", "us-east-1").add_auth(req)
    return requests.post(url, data=body, headers=dict(req.headers), timeout=10)


def test_delete_objects_conditions(server, s3, bucket):
    k1, k2, k3 = uniq("do1"), uniq("do2"), uniq("do3")
    e1 = s3.put_object(Bucket=bucket, Key=k1, Body=b"one")["ETag"]
    s3.put_object(Bucket=bucket, Key=k2, Body=b"two2")
    s3.put_object(Bucket=bucket, Key=k3, Body=b"three")
    m3 = s3.head_object(Bucket=bucket, Key=k3)["ResponseMetadata"]["HTTPHeaders"]["last-modified"]
    bad = (f"<Delete><Object><Key>{k1}</Key><ETag>\"bad\"</ETag></Object>"
           f"<Object><Key>{k2}</Key><Size>3</Size></Object>"
           f"<Object><Key>{k3}</Key><LastModifiedTime>Thu, 01 Jan 2015 00:00:00 GMT"
           f"</LastModifiedTime></Object></Delete>")
    r = _delete_objects(server, s3, bucket, bad)
    assert r.status_code == 200, r.text
    assert r.text.count("<Code>PreconditionFailed</Code>") == 3 and "<Deleted>" not in r.text
    assert not any(_gone(s3, bucket, k) for k in (k1, k2, k3))
    good = (f"<Delete><Object><Key>{k1}</Key><ETag>{e1}</ETag></Object>"
            f"<Object><Key>{k2}</Key><Size>4</Size></Object>"
            f"<Object><Key>{k3}</Key><LastModifiedTime>{m3}</LastModifiedTime></Object></Delete>")
    r = _delete_objects(server, s3, bucket, good)
    assert r.status_code == 200 and r.text.count("<Deleted>") == 3, r.text
    assert all(_gone(s3, bucket, k) for k in (k1, k2, k3))
    r = _delete_objects(server, s3, bucket, bad)  # nothing left to delete: reported deleted
    assert r.status_code == 200 and r.text.count("<Deleted>") == 3, r.text


def test_conditional_delete_needs_get_object(server, s3, bucket):
    """AWS: a conditional delete needs s3:GetObject too (its 412 tells about the object)."""
    key = uniq("dperm")
    etag = s3.put_object(Bucket=bucket, Key=key, Body=b"x")["ETag"]
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:DeleteObject"],
         "Resource": f"arn:aws:s3:::{bucket}/*"}]}
    creds, _ = new_user(server, uniq("delonly"), policy)
    c = server.boto3_client("s3", creds)
    with pytest.raises(ClientError) as e:
        _delete(c, bucket, key, {"If-Match": etag})
    assert client_error(e.value)[:2] == ("AccessDenied", 403)
    assert not _gone(s3, bucket, key)
    c.delete_object(Bucket=bucket, Key=key)  # unconditional: DeleteObject suffices
    assert _gone(s3, bucket, key)
