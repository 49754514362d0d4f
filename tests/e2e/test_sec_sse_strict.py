"""Issue 10, items 13 and 10: encryption requests are validated strictly, as
AWS does (400 InvalidArgument), instead of storing an object in plaintext
while the client believes it encrypted; SSE headers on reads and on the parts
of an upload are refused; UploadPartCopy answers with the upload's SSE
headers; aws:s3:arn in a client's SSE-KMS encryption context cannot differ
from the object's ARN; and AWS's standard "deny unencrypted uploads" bucket
policy works end to end with both aws CLI versions (single and multipart
uploads). Extra headers are added in a before-sign hook, so they are signed."""
import base64
import contextlib
import hashlib
import json
import os

import pytest
from botocore.exceptions import ClientError

from conftest import blobs_contain, client_error, run_aws, uniq

SSE = "x-amz-server-side-encryption"


@contextlib.contextmanager
def headers(client, op, extra, drop=()):
    def fn(request, **kw):
        for k in drop:
            if k in request.headers:
                del request.headers[k]
        for k, v in extra.items():
            if k in request.headers:
                del request.headers[k]
            request.headers[k] = v

    event = f"before-sign.s3.{op}"
    client.meta.events.register(event, fn)
    try:
        yield
    finally:
        client.meta.events.unregister(event, fn)


def err(fn, **kw):
    with pytest.raises(ClientError) as ei:
        fn(**kw)
    return client_error(ei.value)


def customer_key_headers():
    key = os.urandom(32)
    return {f"{SSE}-customer-key": base64.b64encode(key).decode(),
            f"{SSE}-customer-key-MD5": base64.b64encode(hashlib.md5(key).digest()).decode()}


@pytest.fixture
def bucket(server):
    s3 = server.boto3_client("s3")
    b = uniq("strict")
    s3.create_bucket(Bucket=b)
    return s3, b


def test_sse_c_key_without_algorithm_is_refused_not_stored_plain(server, bucket):
    s3, b = bucket
    marker = os.urandom(16).hex().encode()
    with headers(s3, "PutObject", customer_key_headers()):
        code, status, msg = err(s3.put_object, Bucket=b, Key="k", Body=marker * 10)
    assert (code, status) == ("InvalidArgument", 400) and "encryption algorithm" in msg
    assert err(s3.head_object, Bucket=b, Key="k")[1] == 404
    assert not blobs_contain(server.data_dir, marker)
    with headers(s3, "CreateMultipartUpload", customer_key_headers()):
        assert err(s3.create_multipart_upload, Bucket=b, Key="m")[:2] == ("InvalidArgument", 400)
    s3.put_object(Bucket=b, Key="src", Body=b"x")
    with headers(s3, "CopyObject", customer_key_headers()):
        assert err(s3.copy_object, Bucket=b, Key="d", CopySource=f"{b}/src")[:2] == ("InvalidArgument", 400)
    # the algorithm without its key is refused too
    with headers(s3, "PutObject", {f"{SSE}-customer-algorithm": "AES256"}):
        assert err(s3.put_object, Bucket=b, Key="k", Body=b"x")[:2] == ("InvalidArgument", 400)


@pytest.mark.parametrize("value", ["AES256", "aws:kms"])
def test_sse_c_with_another_method_is_refused(server, bucket, value):
    """SSE-C headers with x-amz-server-side-encryption (any value) are a conflict: AWS
    answers 400 InvalidArgument; Cloister used to accept AES256 + SSE-C as SSE-C
    (ceph/s3-tests test_put_obj_enc_conflict_c_s3)."""
    s3, b = bucket
    extra = dict(customer_key_headers(), **{f"{SSE}-customer-algorithm": "AES256", SSE: value})
    for op, call in (("PutObject", lambda: s3.put_object(Bucket=b, Key="c", Body=b"x")),
                     ("CreateMultipartUpload", lambda: s3.create_multipart_upload(Bucket=b, Key="c"))):
        with headers(s3, op, extra):
            with pytest.raises(ClientError) as ei:
                call()
        code, status, msg = client_error(ei.value)
        assert (code, status) == ("InvalidArgument", 400) and "incompatible" in msg, (op, msg)
    assert err(s3.head_object, Bucket=b, Key="c")[1] == 404


@pytest.mark.parametrize("algorithm", [None, "AES256"])
def test_kms_key_id_needs_aws_kms(server, bucket, algorithm):
    s3, b = bucket
    extra = {f"{SSE}-aws-kms-key-id": "alias/aws/s3"}
    if algorithm:
        extra[SSE] = algorithm
    for op, call in (("PutObject", lambda: s3.put_object(Bucket=b, Key="k", Body=b"plain")),
                     ("CreateMultipartUpload", lambda: s3.create_multipart_upload(Bucket=b, Key="m"))):
        with headers(s3, op, extra):
            with pytest.raises(ClientError) as ei:
                call()
        code, status, msg = client_error(ei.value)
        assert (code, status) == ("InvalidArgument", 400) and "aws:kms" in msg, op
    assert err(s3.head_object, Bucket=b, Key="k")[1] == 404
    # an encryption context also needs aws:kms
    ctx = base64.b64encode(json.dumps({"dept": "x"}).encode()).decode()
    with headers(s3, "PutObject", {f"{SSE}-context": ctx}):
        assert err(s3.put_object, Bucket=b, Key="k", Body=b"x")[:2] == ("InvalidArgument", 400)


def test_sse_headers_refused_on_get_and_head(server, bucket):
    s3, b = bucket
    s3.put_object(Bucket=b, Key="s3", Body=b"data", ServerSideEncryption="AES256")
    s3.put_object(Bucket=b, Key="kms", Body=b"data", ServerSideEncryption="aws:kms")
    for key in ("s3", "kms"):
        for value in ("AES256", "aws:kms"):
            with headers(s3, "GetObject", {SSE: value}):
                code, status, msg = err(s3.get_object, Bucket=b, Key=key)
            assert (code, status) == ("InvalidArgument", 400) and "not supported" in msg
            with headers(s3, "HeadObject", {SSE: value}):
                assert err(s3.head_object, Bucket=b, Key=key)[1] == 400
        assert s3.get_object(Bucket=b, Key=key)["Body"].read() == b"data"


def test_upload_part_refuses_sse_headers_and_part_copy_answers_them(server, bucket):
    s3, b = bucket
    s3.put_object(Bucket=b, Key="src", Body=b"y" * 1024)
    up = s3.create_multipart_upload(Bucket=b, Key="mp", ServerSideEncryption="AES256")["UploadId"]
    with headers(s3, "UploadPart", {SSE: "AES256"}):
        code, status, _ = err(s3.upload_part, Bucket=b, Key="mp", UploadId=up, PartNumber=1, Body=b"z")
    assert (code, status) == ("InvalidArgument", 400)
    with headers(s3, "UploadPart", customer_key_headers()):
        assert err(s3.upload_part, Bucket=b, Key="mp", UploadId=up, PartNumber=1, Body=b"z")[1] == 400
    p1 = s3.upload_part(Bucket=b, Key="mp", UploadId=up, PartNumber=1, Body=b"z" * (5 << 20))
    assert p1["ServerSideEncryption"] == "AES256"
    p2 = s3.upload_part_copy(Bucket=b, Key="mp", UploadId=up, PartNumber=2, CopySource=f"{b}/src")
    assert p2["ServerSideEncryption"] == "AES256"
    s3.complete_multipart_upload(Bucket=b, Key="mp", UploadId=up, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": p1["ETag"]}, {"PartNumber": 2, "ETag": p2["CopyPartResult"]["ETag"]}]})
    assert s3.head_object(Bucket=b, Key="mp")["ServerSideEncryption"] == "AES256"


def test_kms_context_cannot_change_the_object_arn(server, bucket):
    s3, b = bucket

    def ctx(d):
        return base64.b64encode(json.dumps(d).encode()).decode()

    code, status, _ = err(s3.put_object, Bucket=b, Key="k", Body=b"x", ServerSideEncryption="aws:kms",
                          SSEKMSEncryptionContext=ctx({"aws:s3:arn": f"arn:aws:s3:::{b}/other"}))
    assert (code, status) == ("InvalidArgument", 400)
    assert err(s3.head_object, Bucket=b, Key="k")[1] == 404
    code, _, _ = err(s3.create_multipart_upload, Bucket=b, Key="k", ServerSideEncryption="aws:kms",
                     SSEKMSEncryptionContext=ctx({"aws:s3:arn": "arn:aws:s3:::elsewhere/k"}))
    assert code == "InvalidArgument"
    # the object's own ARN, and other keys, are fine and kept
    s3.put_object(Bucket=b, Key="k", Body=b"x", ServerSideEncryption="aws:kms",
                  SSEKMSEncryptionContext=ctx({"aws:s3:arn": f"arn:aws:s3:::{b}/k", "dept": "r&d"}))
    assert s3.get_object(Bucket=b, Key="k")["Body"].read() == b"x"


DENY_UNENCRYPTED = [
    {"Sid": "DenyIncorrectEncryptionHeader", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
     "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": ["aws:kms", "AES256"]}}},
    {"Sid": "DenyUnEncryptedObjectUploads", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
     "Condition": {"Null": {"s3:x-amz-server-side-encryption": "true"}}},
]


def test_deny_unencrypted_uploads_policy(server, aws_cli, tmp_path):
    creds = server.admin_creds()
    s3 = server.boto3_client("s3")
    b = uniq("encforce")
    s3.create_bucket(Bucket=b)
    stmts = [dict(s, Resource=f"arn:aws:s3:::{b}/*") for s in DENY_UNENCRYPTED]
    s3.put_bucket_policy(Bucket=b, Policy=json.dumps({"Version": "2012-10-17", "Statement": stmts}))
    small = tmp_path / "small"
    small.write_bytes(b"s" * 1000)
    big = tmp_path / "big"  # two parts: above the multipart threshold set below
    big.write_bytes(b"b" * (6 << 20))
    config = tmp_path / "config"
    config.write_text("[default]\ns3 =\n  multipart_threshold = 5MB\n  multipart_chunksize = 5MB\n")

    def cp(path, key, *extra):
        return run_aws(aws_cli, server.endpoint, ["s3", "cp", str(path), f"s3://{b}/{key}", "--no-progress",
                                                  *extra], creds=creds, env_extra={"AWS_CONFIG_FILE": str(config)})

    rc, _, e = cp(small, "plain")
    assert rc != 0 and "AccessDenied" in e, e
    rc, _, e = cp(big, "plain-big")
    assert rc != 0 and "AccessDenied" in e, e
    for path, key, sse in ((small, "enc-AES256", "AES256"), (big, "big-aws:kms", "aws:kms")):
        rc, _, e = cp(path, key, "--sse", sse)
        assert rc == 0, e
        assert s3.head_object(Bucket=b, Key=key)["ServerSideEncryption"] == sse
    # a header with another value is denied too (before the server would refuse it)
    assert err(s3.put_object, Bucket=b, Key="x", Body=b"x", ServerSideEncryption="aws:kms:dsse")[0] == \
        "AccessDenied"
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=b).get("Contents", [])}
    assert keys == {"enc-AES256", "big-aws:kms"}
