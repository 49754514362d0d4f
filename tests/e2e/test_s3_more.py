"""CopyObject, UploadPartCopy, DeleteObjects, object tagging and
ListMultipartUploads with the stock clients: boto3 for every operation and
error, the aws CLI (v2, and v1 when present) for `s3 cp` between keys (CopyObject,
and UploadPartCopy above the CLI's 8 MiB threshold), `s3 rm --recursive` (which,
in both CLIs, deletes key by key with DeleteObject), and `s3api delete-objects`
(DeleteObjects: v2 sends Content-MD5, v1 with a current botocore a CRC32). Success paths are checked byte-exact; every error the
handlers promise is provoked (request bodies and headers botocore would never
send wrong are altered in a before-sign hook, so the request is still signed)."""
import base64
import contextlib
import datetime
import hashlib
import json
import os
import zlib

import pytest
from botocore.exceptions import ClientError

from conftest import client_error, run_aws
from test_iam_boto3 import expect_error, _new_account

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def acct(server):
    return _new_account(server, "s3more")


@pytest.fixture(scope="module")
def other(server):
    return _new_account(server, "s3moreother")


def s3(a, creds=None):
    return a.client("s3", creds or a.creds)


def md5_etag(data):
    return '"%s"' % hashlib.md5(data).hexdigest()


def get(c, bucket, key, **kw):
    return c.get_object(Bucket=bucket, Key=key, **kw)["Body"].read()


@contextlib.contextmanager
def hook(client, event, fn):
    client.meta.events.register(event, fn)
    try:
        yield
    finally:
        client.meta.events.unregister(event, fn)


def b64md5(body):
    return base64.b64encode(hashlib.md5(body).digest()).decode()


def b64crc32(body):
    return base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()


def set_header(request, name, value):
    del request.headers[name]
    if value is not None:
        request.headers[name] = value


def set_body(request, body):
    request.data = body
    set_header(request, "Content-MD5", b64md5(body))


def user_with_policy(a, name, statements):
    creds = a.user_with_key(name)
    doc = {"Version": "2012-10-17", "Statement": statements}
    a.iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(doc))
    return creds


# ----------------------------------------------------------------------------- CopyObject
def test_copy_object(acct):
    c = s3(acct)
    c.create_bucket(Bucket="more-copy")
    data = os.urandom(300000)
    c.put_object(Bucket="more-copy", Key="src", Body=data, ContentType="text/x-src",
                 Metadata={"m": "1"}, CacheControl="max-age=5", Tagging="t1=v1&t2=v%202")
    r = c.copy_object(Bucket="more-copy", Key="dst", CopySource="more-copy/src")
    assert r["CopyObjectResult"]["ETag"] == md5_etag(data)
    assert isinstance(r["CopyObjectResult"]["LastModified"], datetime.datetime)
    got = c.get_object(Bucket="more-copy", Key="dst")
    assert got["Body"].read() == data
    assert got["ContentType"] == "text/x-src" and got["Metadata"] == {"m": "1"}
    assert got["CacheControl"] == "max-age=5" and got["TagCount"] == 2 and got["ETag"] == md5_etag(data)
    assert c.get_object_tagging(Bucket="more-copy", Key="dst")["TagSet"] == [
        {"Key": "t1", "Value": "v1"}, {"Key": "t2", "Value": "v 2"}]
    # REPLACE: metadata and tags from the request; a leading slash is accepted
    c.copy_object(Bucket="more-copy", Key="dst2", CopySource="/more-copy/src", MetadataDirective="REPLACE",
                  ContentType="application/x-new", Metadata={"n": "2"}, TaggingDirective="REPLACE",
                  Tagging="x=y")
    got = c.get_object(Bucket="more-copy", Key="dst2")
    assert got["Body"].read() == data and got["ContentType"] == "application/x-new"
    assert got["Metadata"] == {"n": "2"} and "CacheControl" not in got and got["TagCount"] == 1
    assert c.get_object_tagging(Bucket="more-copy", Key="dst2")["TagSet"] == [{"Key": "x", "Value": "y"}]
    c.copy_object(Bucket="more-copy", Key="dst3", CopySource="more-copy/src", TaggingDirective="REPLACE")
    assert "TagCount" not in c.get_object(Bucket="more-copy", Key="dst3")
    # independent copies: the source's deletion and the copy's overwrite touch nothing else
    c.delete_object(Bucket="more-copy", Key="src")
    assert get(c, "more-copy", "dst") == data and get(c, "more-copy", "dst2") == data
    c.put_object(Bucket="more-copy", Key="dst", Body=b"new")
    assert get(c, "more-copy", "dst2") == data and get(c, "more-copy", "dst") == b"new"
    # an object onto itself: only with REPLACE
    msg = expect_error("InvalidRequest", 400, c.copy_object, Bucket="more-copy", Key="dst2",
                       CopySource="more-copy/dst2")[2]
    assert "copy an object to itself without changing the object's metadata" in msg
    c.copy_object(Bucket="more-copy", Key="dst2", CopySource="more-copy/dst2", MetadataDirective="REPLACE",
                  Metadata={"again": "yes"})
    got = c.get_object(Bucket="more-copy", Key="dst2")
    assert got["Body"].read() == data and got["Metadata"] == {"again": "yes"}
    # a key that needs URL-encoding, an empty object, into another bucket
    c.create_bucket(Bucket="more-copy-2")
    odd = "dir/a b+c%d?é.txt"
    c.put_object(Bucket="more-copy", Key=odd, Body=b"odd")
    c.put_object(Bucket="more-copy", Key="empty", Body=b"")
    c.copy_object(Bucket="more-copy-2", Key=odd, CopySource={"Bucket": "more-copy", "Key": odd})
    r = c.copy_object(Bucket="more-copy-2", Key="e", CopySource={"Bucket": "more-copy", "Key": "empty"})
    assert r["CopyObjectResult"]["ETag"] == md5_etag(b"")
    assert get(c, "more-copy-2", odd) == b"odd" and get(c, "more-copy-2", "e") == b""


def test_copy_object_errors(acct):
    c = s3(acct)
    c.create_bucket(Bucket="more-copy-err")
    data = os.urandom(1000)
    etag = c.put_object(Bucket="more-copy-err", Key="s", Body=data)["ETag"]
    b, src = "more-copy-err", "more-copy-err/s"
    expect_error("NoSuchKey", 404, c.copy_object, Bucket=b, Key="d", CopySource="more-copy-err/missing")
    expect_error("NoSuchBucket", 404, c.copy_object, Bucket=b, Key="d", CopySource="no-such-bkt-more/s")
    expect_error("NoSuchBucket", 404, c.copy_object, Bucket="no-such-bkt-more", Key="d", CopySource=src)
    expect_error("InvalidArgument", 400, c.copy_object, Bucket=b, Key="d", CopySource="just-a-bucket")
    expect_error("InvalidArgument", 400, c.copy_object, Bucket=b, Key="d", CopySource="more-copy-err/")
    with hook(c, "before-sign.s3.CopyObject",
              lambda request, **kw: set_header(request, "x-amz-copy-source", "more-copy-err/%ZZ")):
        expect_error("InvalidArgument", 400, c.copy_object, Bucket=b, Key="d", CopySource=src)
    expect_error("InvalidArgument", 400, c.copy_object, Bucket=b, Key="d",  # a malformed id
                 CopySource={"Bucket": b, "Key": "s", "VersionId": "v1"})
    expect_error("InvalidArgument", 400, c.copy_object, Bucket=b, Key="d", CopySource=src,
                 MetadataDirective="MERGE")
    expect_error("InvalidArgument", 400, c.copy_object, Bucket=b, Key="d", CopySource=src,
                 TaggingDirective="MERGE")
    expect_error("InvalidTag", 400, c.copy_object, Bucket=b, Key="d", CopySource=src,
                 TaggingDirective="REPLACE", Tagging="aws:x=1")
    # copy-source conditionals
    past = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
    future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=2)
    for kw in ({"CopySourceIfMatch": '"00000000000000000000000000000000"'},
               {"CopySourceIfNoneMatch": etag},
               {"CopySourceIfNoneMatch": "*"},
               {"CopySourceIfModifiedSince": future},
               {"CopySourceIfUnmodifiedSince": past},
               {"CopySourceIfNoneMatch": '"0000"', "CopySourceIfModifiedSince": future}):
        expect_error("PreconditionFailed", 412, c.copy_object, Bucket=b, Key="d", CopySource=src, **kw)
    expect_error("NoSuchKey", 404, c.get_object, Bucket=b, Key="d")  # nothing was stored
    for kw in ({"CopySourceIfMatch": etag}, {"CopySourceIfNoneMatch": '"0000"'},
               {"CopySourceIfModifiedSince": past}, {"CopySourceIfUnmodifiedSince": future},
               {"CopySourceIfMatch": etag, "CopySourceIfUnmodifiedSince": past}):  # if-match wins
        c.copy_object(Bucket=b, Key="d", CopySource=src, **kw)
        assert get(c, b, "d") == data


def test_copy_object_authorization(acct, other):
    """The source is read with the source bucket's policy, the destination written with its own."""
    c, o = s3(acct), s3(other)
    c.create_bucket(Bucket="more-copy-auth")
    o.create_bucket(Bucket="more-copy-theirs")
    data = os.urandom(5000)
    c.put_object(Bucket="more-copy-auth", Key="shared/x", Body=data)
    c.put_object(Bucket="more-copy-auth", Key="private/x", Body=b"p")
    expect_error("AccessDenied", 403, o.copy_object, Bucket="more-copy-theirs", Key="x",
                 CopySource="more-copy-auth/shared/x")
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
              "Principal": {"AWS": f"arn:aws:iam::{other.id}:root"}, "Action": "s3:GetObject",
              "Resource": "arn:aws:s3:::more-copy-auth/shared/*"}]}
    c.put_bucket_policy(Bucket="more-copy-auth", Policy=json.dumps(policy))
    o.copy_object(Bucket="more-copy-theirs", Key="x", CopySource="more-copy-auth/shared/x")
    assert get(o, "more-copy-theirs", "x") == data
    expect_error("AccessDenied", 403, o.copy_object, Bucket="more-copy-theirs", Key="y",
                 CopySource="more-copy-auth/private/x")
    # reading the source is not writing the destination
    expect_error("AccessDenied", 403, o.copy_object, Bucket="more-copy-auth", Key="shared/y",
                 CopySource="more-copy-auth/shared/x")
    # a user who may read but not write, and one who may write but not read
    reader = user_with_policy(acct, "more-reader", [{"Effect": "Allow", "Action": "s3:GetObject",
                                                      "Resource": "*"}])
    writer = user_with_policy(acct, "more-writer", [{"Effect": "Allow", "Action": "s3:PutObject",
                                                      "Resource": "*"}])
    for creds in (reader, writer):
        expect_error("AccessDenied", 403, s3(acct, creds).copy_object, Bucket="more-copy-auth",
                     Key="z", CopySource="more-copy-auth/shared/x")
    both = user_with_policy(acct, "more-both", [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                                                  "Resource": "*"}])
    s3(acct, both).copy_object(Bucket="more-copy-auth", Key="z", CopySource="more-copy-auth/shared/x")
    assert get(c, "more-copy-auth", "z") == data
    # tags on the copy need s3:PutObjectTagging
    expect_error("AccessDenied", 403, s3(acct, both).copy_object, Bucket="more-copy-auth", Key="z2",
                 CopySource="more-copy-auth/shared/x", TaggingDirective="REPLACE", Tagging="a=b")


def make_multipart(c, bucket, key, parts):
    up = c.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    done = [{"PartNumber": n, "ETag": c.upload_part(Bucket=bucket, Key=key, UploadId=up, PartNumber=n,
                                                     Body=d)["ETag"]} for n, d in enumerate(parts, 1)]
    c.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up, MultipartUpload={"Parts": done})
    return b"".join(parts)


def test_copy_multipart_source(acct):
    c = s3(acct)
    c.create_bucket(Bucket="more-copy-mp")
    whole = make_multipart(c, "more-copy-mp", "mp", [os.urandom(5 * MiB), os.urandom(5 * MiB + 1),
                                                     os.urandom(777)])
    assert "-3" in c.head_object(Bucket="more-copy-mp", Key="mp")["ETag"]
    r = c.copy_object(Bucket="more-copy-mp", Key="copy", CopySource="more-copy-mp/mp")
    assert r["CopyObjectResult"]["ETag"] == md5_etag(whole)  # a single-part object now
    c.delete_object(Bucket="more-copy-mp", Key="mp")
    assert get(c, "more-copy-mp", "copy") == whole


# ----------------------------------------------------------------------------- UploadPartCopy
def test_upload_part_copy(acct):
    c = s3(acct)
    c.create_bucket(Bucket="more-upc")
    src = os.urandom(6 * MiB + 11)
    c.put_object(Bucket="more-upc", Key="src", Body=src)
    mp = make_multipart(c, "more-upc", "mpsrc", [os.urandom(5 * MiB), os.urandom(100)])
    up = c.create_multipart_upload(Bucket="more-upc", Key="dst", ContentType="text/x-upc")["UploadId"]
    a = 5 * MiB
    pieces = [(1, "more-upc/src", f"bytes=0-{a - 1}", src[:a]),
              (2, "more-upc/mpsrc", f"bytes={a - 50}-{a + 49}", mp[a - 50:a + 50]),  # across parts
              (3, "more-upc/src", None, src)]
    parts = []
    for n, source, rng, want in pieces:
        kw = {"CopySourceRange": rng} if rng else {}
        r = c.upload_part_copy(Bucket="more-upc", Key="dst", UploadId=up, PartNumber=n, CopySource=source, **kw)
        assert r["CopyPartResult"]["ETag"] == md5_etag(want)
        parts.append({"PartNumber": n, "ETag": r["CopyPartResult"]["ETag"]})
    # part 2 is too small to be a non-final part: copy a bigger range over it
    expect_error("EntityTooSmall", 400, c.complete_multipart_upload, Bucket="more-upc", Key="dst", UploadId=up,
                 MultipartUpload={"Parts": parts})
    r = c.upload_part_copy(Bucket="more-upc", Key="dst", UploadId=up, PartNumber=2, CopySource="more-upc/mpsrc",
                           CopySourceRange=f"bytes=1-{a}")
    parts[1] = {"PartNumber": 2, "ETag": r["CopyPartResult"]["ETag"]}
    listed = c.list_parts(Bucket="more-upc", Key="dst", UploadId=up)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in listed] == [(1, a), (2, a), (3, len(src))]
    c.complete_multipart_upload(Bucket="more-upc", Key="dst", UploadId=up, MultipartUpload={"Parts": parts})
    got = c.get_object(Bucket="more-upc", Key="dst")
    assert got["Body"].read() == src[:a] + mp[1:a + 1] + src and got["ContentType"] == "text/x-upc"


def test_upload_part_copy_errors(acct):
    c = s3(acct)
    c.create_bucket(Bucket="more-upc-err")
    c.put_object(Bucket="more-upc-err", Key="src", Body=b"0123456789")
    up = c.create_multipart_upload(Bucket="more-upc-err", Key="dst")["UploadId"]
    kw = {"Bucket": "more-upc-err", "Key": "dst", "UploadId": up, "PartNumber": 1, "CopySource": "more-upc-err/src"}
    for rng in ("bytes=5-2", "bytes=-3", "bytes=3-", "items=0-1", "bytes=a-b"):
        expect_error("InvalidArgument", 400, c.upload_part_copy, CopySourceRange=rng, **kw)
    for rng in ("bytes=0-10", "bytes=10-10"):  # beyond the source: InvalidRange (issue 16)
        expect_error("InvalidRange", 416, c.upload_part_copy, CopySourceRange=rng, **kw)
    expect_error("NoSuchKey", 404, c.upload_part_copy, **dict(kw, CopySource="more-upc-err/nope"))
    expect_error("InvalidArgument", 400, c.upload_part_copy, **dict(kw, CopySource="more-upc-err"))
    expect_error("NoSuchUpload", 404, c.upload_part_copy, **dict(kw, UploadId="nope"))
    expect_error("InvalidArgument", 400, c.upload_part_copy, **dict(kw, PartNumber=10001))
    expect_error("PreconditionFailed", 412, c.upload_part_copy, CopySourceIfMatch='"00"', **kw)
    assert c.list_parts(Bucket="more-upc-err", Key="dst", UploadId=up).get("Parts", []) == []
    r = c.upload_part_copy(CopySourceRange="bytes=9-9", **kw)
    assert r["CopyPartResult"]["ETag"] == md5_etag(b"9")
    c.abort_multipart_upload(Bucket="more-upc-err", Key="dst", UploadId=up)


# ----------------------------------------------------------------------------- CLI: cp between keys, rm
def test_cli_copy_and_rm(server, aws_cli, tmp_path):
    creds = server.admin_creds()
    ep = server.endpoint
    tag = aws_cli[0].replace("awscli-", "")
    bucket = f"more-cli-{tag}"
    c = server.boto3_client("s3")
    c.create_bucket(Bucket=bucket)
    small, big = os.urandom(100000), os.urandom(20 * MiB + 5)  # big: multipart copy (UploadPartCopy)
    c.put_object(Bucket=bucket, Key="small", Body=small, ContentType="text/x-small", Metadata={"a": "b"})
    c.put_object(Bucket=bucket, Key="big", Body=big, ContentType="text/x-big", Tagging="k=v")
    for key in ("small", "big"):
        rc, _, err = run_aws(aws_cli, ep, ["s3", "cp", f"s3://{bucket}/{key}", f"s3://{bucket}/copy/{key}",
                                           "--no-progress"], creds=creds, timeout=300)
        assert rc == 0, err
    got = c.get_object(Bucket=bucket, Key="copy/small")
    assert got["Body"].read() == small and got["ContentType"] == "text/x-small" and got["Metadata"] == {"a": "b"}
    got = c.get_object(Bucket=bucket, Key="copy/big")
    assert got["Body"].read() == big
    if tag == "v2":  # v2's --copy-props default carries them (HeadObject, GetObjectTagging); v1 sends none
        assert got["ContentType"] == "text/x-big"
        assert c.get_object_tagging(Bucket=bucket, Key="copy/big")["TagSet"] == [{"Key": "k", "Value": "v"}]
    rc, _, err = run_aws(aws_cli, ep, ["s3", "cp", f"s3://{bucket}/copy/big", str(tmp_path / "big"),
                                       "--no-progress"], creds=creds, timeout=300)
    assert rc == 0 and (tmp_path / "big").read_bytes() == big, err
    # s3api delete-objects: DeleteObjects from the CLI (Content-MD5 or a CRC, per version)
    for i in range(3):
        c.put_object(Bucket=bucket, Key=f"api/{i}", Body=b"x")
    spec = {"Objects": [{"Key": f"api/{i}"} for i in range(3)] + [{"Key": "api/none"}]}
    (tmp_path / "del.json").write_text(json.dumps(spec))
    rc, out, err = run_aws(aws_cli, ep, ["s3api", "delete-objects", "--bucket", bucket, "--delete",
                                         "file://" + str(tmp_path / "del.json")], creds=creds)
    assert rc == 0, err
    assert sorted(d["Key"] for d in json.loads(out)["Deleted"]) == ["api/0", "api/1", "api/2", "api/none"]
    # s3 rm --recursive over many keys (one DeleteObject each)
    for i in range(40):
        c.put_object(Bucket=bucket, Key=f"many/{i:03d}", Body=b"%d" % i)
    rc, out, err = run_aws(aws_cli, ep, ["s3", "rm", f"s3://{bucket}/many/", "--recursive"], creds=creds)
    assert rc == 0 and out.count("delete:") == 40, out + err
    assert c.list_objects_v2(Bucket=bucket, Prefix="many/")["KeyCount"] == 0
    rc, _, err = run_aws(aws_cli, ep, ["s3", "rm", f"s3://{bucket}", "--recursive"], creds=creds)
    assert rc == 0, err
    assert c.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    c.delete_bucket(Bucket=bucket)


# ----------------------------------------------------------------------------- DeleteObjects
def test_delete_objects(acct):
    c = s3(acct)
    c.create_bucket(Bucket="more-del")
    keys = [f"k/{i}" for i in range(6)]
    for k in keys:
        c.put_object(Bucket="more-del", Key=k, Body=k.encode())
    make_multipart(c, "more-del", "k/mp", [os.urandom(5 * MiB), b"tail"])
    r = c.delete_objects(Bucket="more-del", Delete={"Objects": [{"Key": k} for k in keys[:3] + ["k/mp", "nope"]]})
    assert sorted(d["Key"] for d in r["Deleted"]) == sorted(keys[:3] + ["k/mp", "nope"]) and "Errors" not in r
    left = [o["Key"] for o in c.list_objects_v2(Bucket="more-del")["Contents"]]
    assert left == keys[3:]
    r = c.delete_objects(Bucket="more-del", Delete={"Objects": [{"Key": keys[3]}], "Quiet": True})
    assert "Deleted" not in r and "Errors" not in r
    expect_error("NoSuchKey", 404, c.get_object, Bucket="more-del", Key=keys[3])
    expect_error("NoSuchBucket", 404, c.delete_objects, Bucket="more-del-none", Delete={"Objects": [{"Key": "a"}]})


def test_delete_objects_per_key_authorization(acct):
    c = s3(acct)
    c.create_bucket(Bucket="more-del-auth")
    for k in ("ok/1", "ok/2", "no/1"):
        c.put_object(Bucket="more-del-auth", Key=k, Body=b"1")
    creds = user_with_policy(acct, "more-deleter", [{"Effect": "Allow", "Action": "s3:DeleteObject",
                                                     "Resource": "arn:aws:s3:::more-del-auth/ok/*"}])
    for quiet in (False, True):
        r = s3(acct, creds).delete_objects(Bucket="more-del-auth", Delete={
            "Objects": [{"Key": "ok/1"}, {"Key": "no/1"}, {"Key": "ok/2"}], "Quiet": quiet})
        assert r["Errors"] == [{"Key": "no/1", "Code": "AccessDenied", "Message": "Access Denied"}]
        assert ("Deleted" in r) != quiet
        if not quiet:
            assert sorted(d["Key"] for d in r["Deleted"]) == ["ok/1", "ok/2"]
    assert [o["Key"] for o in c.list_objects_v2(Bucket="more-del-auth")["Contents"]] == ["no/1"]


def test_delete_objects_errors(acct):
    c = s3(acct)
    c.create_bucket(Bucket="more-del-err")
    c.put_object(Bucket="more-del-err", Key="a", Body=b"a")
    one = {"Objects": [{"Key": "a"}]}

    def alter(body=None, md5="keep", crc=None):
        def fn(request, **kwargs):
            if body is not None:
                set_body(request, body)
            if md5 != "keep":
                set_header(request, "Content-MD5", md5)
            if crc is not None:
                set_header(request, "x-amz-checksum-crc32", crc)
        return fn

    ev = "before-sign.s3.DeleteObjects"
    cases = [("BadDigest", alter(md5=b64md5(b"other"))),
             ("InvalidDigest", alter(md5="not-base64!")),
             ("InvalidRequest", alter(md5=None)),
             ("BadDigest", alter(md5=None, crc=b64crc32(b"other"))),
             ("MalformedXML", alter(body=b"<Delete><Object></Object></Delete>")),
             ("MalformedXML", alter(body=b"<Delete>"))]
    for code, fn in cases:
        with hook(c, ev, fn):
            expect_error(code, None, c.delete_objects, Bucket="more-del-err", Delete=one)
        assert get(c, "more-del-err", "a") == b"a", code  # nothing deleted
    # conditional deletes are honoured now (were refused, 501): a mismatch is that key's error
    for body in [b"<Delete><Object><Key>a</Key><ETag>\"x\"</ETag></Object></Delete>",
                 b"<Delete><Object><Key>a</Key><Size>2</Size></Object></Delete>",
                 b"<Delete><Object><Key>a</Key>"
                 b"<LastModifiedTime>2020-01-01T00:00:00Z</LastModifiedTime></Object></Delete>"]:
        with hook(c, ev, alter(body=body)):
            r = c.delete_objects(Bucket="more-del-err", Delete=one)
        assert [e["Code"] for e in r["Errors"]] == ["PreconditionFailed"] and not r.get("Deleted")
        assert get(c, "more-del-err", "a") == b"a", body  # nothing deleted
    r = c.delete_objects(Bucket="more-del-err",  # versions exist now: a malformed id, per key
                         Delete={"Objects": [{"Key": "a", "VersionId": "v"}]})
    assert [e["Code"] for e in r["Errors"]] == ["NoSuchVersion"] and not r.get("Deleted")
    # a CRC32 instead of Content-MD5 is accepted, as S3 does
    with hook(c, ev, lambda request, **kw: (set_header(request, "Content-MD5", None),
                                            set_header(request, "x-amz-checksum-crc32", b64crc32(request.body)))):
        r = c.delete_objects(Bucket="more-del-err", Delete=one)
    assert [d["Key"] for d in r["Deleted"]] == ["a"]
    expect_error("NoSuchKey", 404, c.get_object, Bucket="more-del-err", Key="a")


# ----------------------------------------------------------------------------- tagging
def test_object_tagging(acct):
    c = s3(acct)
    c.create_bucket(Bucket="more-tags")
    data = os.urandom(1234)
    c.put_object(Bucket="more-tags", Key="o", Body=data, Tagging="b=2&a=one%20two&empty=")
    assert c.get_object_tagging(Bucket="more-tags", Key="o")["TagSet"] == [  # sorted by key
        {"Key": "a", "Value": "one two"}, {"Key": "b", "Value": "2"}, {"Key": "empty", "Value": ""}]
    got = c.get_object(Bucket="more-tags", Key="o")
    assert got["TagCount"] == 3 and got["Body"].read() == data
    tagset = [{"Key": f"k{i}", "Value": f"v{i}"} for i in range(10)]
    c.put_object_tagging(Bucket="more-tags", Key="o", Tagging={"TagSet": tagset})
    assert c.get_object_tagging(Bucket="more-tags", Key="o")["TagSet"] == tagset
    assert get(c, "more-tags", "o") == data  # the bytes are untouched
    c.delete_object_tagging(Bucket="more-tags", Key="o")
    assert c.get_object_tagging(Bucket="more-tags", Key="o")["TagSet"] == []
    assert "TagCount" not in c.get_object(Bucket="more-tags", Key="o")
    c.put_object_tagging(Bucket="more-tags", Key="o", Tagging={"TagSet": [{"Key": "x", "Value": "1"}]})
    c.put_object_tagging(Bucket="more-tags", Key="o", Tagging={"TagSet": []})
    assert c.get_object_tagging(Bucket="more-tags", Key="o")["TagSet"] == []
    c.put_object(Bucket="more-tags", Key="plain", Body=b"p")
    assert c.get_object_tagging(Bucket="more-tags", Key="plain")["TagSet"] == []
    # an overwrite without the header drops the tags, as S3 does
    c.put_object(Bucket="more-tags", Key="o", Body=b"v2", Tagging="z=1")
    c.put_object(Bucket="more-tags", Key="o", Body=b"v3")
    assert c.get_object_tagging(Bucket="more-tags", Key="o")["TagSet"] == []
    # multipart uploads carry the header's tags to the object
    up = c.create_multipart_upload(Bucket="more-tags", Key="mp", Tagging="mp=yes")["UploadId"]
    e = c.upload_part(Bucket="more-tags", Key="mp", UploadId=up, PartNumber=1, Body=b"mp")["ETag"]
    c.complete_multipart_upload(Bucket="more-tags", Key="mp", UploadId=up,
                                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e}]})
    assert c.get_object_tagging(Bucket="more-tags", Key="mp")["TagSet"] == [{"Key": "mp", "Value": "yes"}]
    assert c.get_object(Bucket="more-tags", Key="mp")["TagCount"] == 1


def test_object_tagging_errors(acct):
    c = s3(acct)
    c.create_bucket(Bucket="more-tags-err")
    c.put_object(Bucket="more-tags-err", Key="o", Body=b"o", Tagging="keep=1")
    # a bad header stores nothing, streamed PUT or multipart
    for tagging, code in (("aws:k=1", "InvalidTag"), ("a=1&a=2", "InvalidArgument"), ("a=%ZZ", "InvalidArgument"),
                          ("&".join(f"k{i}=v" for i in range(11)), "BadRequest"), ("k=" + "v" * 257, "InvalidTag")):
        expect_error(code, 400, c.put_object, Bucket="more-tags-err", Key="new", Body=b"x" * 100000,
                     Tagging=tagging)
        expect_error(code, 400, c.create_multipart_upload, Bucket="more-tags-err", Key="new", Tagging=tagging)
    expect_error("NoSuchKey", 404, c.get_object, Bucket="more-tags-err", Key="new")
    assert c.list_multipart_uploads(Bucket="more-tags-err").get("Uploads", []) == []
    too_many = [{"Key": f"k{i}", "Value": "v"} for i in range(11)]
    expect_error("BadRequest", 400, c.put_object_tagging, Bucket="more-tags-err", Key="o",
                 Tagging={"TagSet": too_many})
    expect_error("InvalidTag", 400, c.put_object_tagging, Bucket="more-tags-err", Key="o",
                 Tagging={"TagSet": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]})
    with hook(c, "before-sign.s3.PutObjectTagging",
              lambda request, **kw: set_header(request, "Content-MD5", b64md5(b"other"))):
        expect_error("BadDigest", 400, c.put_object_tagging, Bucket="more-tags-err", Key="o",
                     Tagging={"TagSet": [{"Key": "n", "Value": "1"}]})

    def malformed(request, **kw):
        set_body(request, b"<Tagging><TagSet><Tag><Key>a</Key></Tag>")
    with hook(c, "before-sign.s3.PutObjectTagging", malformed):
        expect_error("MalformedXML", 400, c.put_object_tagging, Bucket="more-tags-err", Key="o",
                     Tagging={"TagSet": [{"Key": "n", "Value": "1"}]})
    assert c.get_object_tagging(Bucket="more-tags-err", Key="o")["TagSet"] == [{"Key": "keep", "Value": "1"}]
    for fn, kw in ((c.get_object_tagging, {}), (c.delete_object_tagging, {}),
                   (c.put_object_tagging, {"Tagging": {"TagSet": []}})):
        expect_error("NoSuchKey", 404, fn, Bucket="more-tags-err", Key="missing", **kw)
        expect_error("NoSuchBucket", 404, fn, Bucket="more-tags-none", Key="o", **kw)
    # bucket-level tagging (issue 16): none yet is NoSuchTagSet (test_s3_compat4.py covers it)
    expect_error("NoSuchTagSet", 404, c.get_bucket_tagging, Bucket="more-tags-err")


def test_object_tagging_authorization(acct, other):
    c = s3(acct)
    c.create_bucket(Bucket="more-tags-auth")
    c.put_object(Bucket="more-tags-auth", Key="o", Body=b"o", Tagging="a=1")
    putter = user_with_policy(acct, "more-putter", [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}])
    p = s3(acct, putter)
    p.put_object(Bucket="more-tags-auth", Key="untagged", Body=b"u")  # no tags: s3:PutObject is enough
    expect_error("AccessDenied", 403, p.put_object, Bucket="more-tags-auth", Key="tagged", Body=b"t", Tagging="a=1")
    expect_error("AccessDenied", 403, p.create_multipart_upload, Bucket="more-tags-auth", Key="tagged",
                 Tagging="a=1")
    expect_error("NoSuchKey", 404, c.get_object, Bucket="more-tags-auth", Key="tagged")
    for fn, kw in ((p.get_object_tagging, {}), (p.delete_object_tagging, {}),
                   (p.put_object_tagging, {"Tagging": {"TagSet": []}})):
        expect_error("AccessDenied", 403, fn, Bucket="more-tags-auth", Key="o", **kw)
        expect_error("AccessDenied", 403, getattr(s3(other), fn.__name__), Bucket="more-tags-auth", Key="o", **kw)
    tagger = user_with_policy(acct, "more-tagger", [{"Effect": "Allow", "Action": [
        "s3:GetObjectTagging", "s3:PutObjectTagging", "s3:DeleteObjectTagging"], "Resource": "*"}])
    t = s3(acct, tagger)
    t.put_object_tagging(Bucket="more-tags-auth", Key="o", Tagging={"TagSet": [{"Key": "b", "Value": "2"}]})
    assert t.get_object_tagging(Bucket="more-tags-auth", Key="o")["TagSet"] == [{"Key": "b", "Value": "2"}]
    t.delete_object_tagging(Bucket="more-tags-auth", Key="o")
    expect_error("AccessDenied", 403, t.get_object, Bucket="more-tags-auth", Key="o")


# ----------------------------------------------------------------------------- ListMultipartUploads
def test_list_multipart_uploads(acct):
    c = s3(acct)
    c.create_bucket(Bucket="more-uploads")
    assert c.list_multipart_uploads(Bucket="more-uploads").get("Uploads", []) == []
    ids = {}
    for key in ("b/1", "a/2", "a/1", "c", "a/1"):
        ids.setdefault(key, []).append(c.create_multipart_upload(Bucket="more-uploads", Key=key)["UploadId"])
    r = c.list_multipart_uploads(Bucket="more-uploads")
    assert r["Bucket"] == "more-uploads" and r["MaxUploads"] == 1000 and r["IsTruncated"] is False
    listed = [(u["Key"], u["UploadId"]) for u in r["Uploads"]]
    assert [k for k, _ in listed] == ["a/1", "a/1", "a/2", "b/1", "c"]
    assert sorted(i for k, i in listed if k == "a/1") == sorted(ids["a/1"])
    assert all(isinstance(u["Initiated"], datetime.datetime) for u in r["Uploads"])
    r = c.list_multipart_uploads(Bucket="more-uploads", Prefix="a/")
    assert [u["Key"] for u in r["Uploads"]] == ["a/1", "a/1", "a/2"] and r["Prefix"] == "a/"
    r = c.list_multipart_uploads(Bucket="more-uploads", Delimiter="/")
    assert [u["Key"] for u in r["Uploads"]] == ["c"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["a/", "b/"]
    # pages of two, through the markers
    r = c.list_multipart_uploads(Bucket="more-uploads", MaxUploads=2)
    assert r["IsTruncated"] is True and len(r["Uploads"]) == 2 and r["NextKeyMarker"] == "a/1"
    pages = c.get_paginator("list_multipart_uploads").paginate(Bucket="more-uploads",
                                                                PaginationConfig={"PageSize": 2})
    assert [(u["Key"], u["UploadId"]) for p in pages for u in p.get("Uploads", [])] == listed
    r = c.list_multipart_uploads(Bucket="more-uploads", KeyMarker="a/2")
    assert [u["Key"] for u in r["Uploads"]] == ["b/1", "c"]
    # completed and aborted uploads leave the list
    c.abort_multipart_upload(Bucket="more-uploads", Key="c", UploadId=ids["c"][0])
    e = c.upload_part(Bucket="more-uploads", Key="b/1", UploadId=ids["b/1"][0], PartNumber=1, Body=b"x")["ETag"]
    c.complete_multipart_upload(Bucket="more-uploads", Key="b/1", UploadId=ids["b/1"][0],
                                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e}]})
    assert [u["Key"] for u in c.list_multipart_uploads(Bucket="more-uploads")["Uploads"]] == ["a/1", "a/1", "a/2"]
    expect_error("NoSuchBucket", 404, c.list_multipart_uploads, Bucket="more-uploads-none")
    nolist = user_with_policy(acct, "more-nolist", [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}])
    expect_error("AccessDenied", 403, s3(acct, nolist).list_multipart_uploads, Bucket="more-uploads")
    lister = user_with_policy(acct, "more-lister", [{"Effect": "Allow", "Action": "s3:ListBucketMultipartUploads",
                                                     "Resource": "arn:aws:s3:::more-uploads"}])
    assert len(s3(acct, lister).list_multipart_uploads(Bucket="more-uploads")["Uploads"]) == 3
