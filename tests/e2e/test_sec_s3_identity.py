"""Issue 10 item 3 (S3 side): a bucket is an identity, not a name.

Objects, multipart uploads and parts belong to the bucket's unique Id, so a name
deleted and re-created (by another account or the same one) starts empty: no
in-progress upload of the old bucket can be listed, continued or completed, and
a streamed PUT that began before the delete does not land in the new bucket
(NoSuchBucket). DeleteBucket still refuses a bucket with objects (BucketNotEmpty)
and, as S3 does for general purpose buckets, discards in-progress uploads.
Buckets made by a server from before Ids keep their objects and uploads."""
import hashlib
import http.client
import json
import os
import time
import urllib.parse
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

import conftest
from conftest import client_error, presigner, sqlite_only, uniq

MIB = 1024 * 1024


def second_account(srv):
    rc, doc, out, err = srv.account_create(uniq("acct").replace("-", ""))
    assert rc == 0, f"account create: {out}\n{err}"
    return {"AccessKeyId": doc["AccessKeyId"], "SecretAccessKey": doc["SecretAccessKey"]}


def test_reused_name_does_not_inherit_uploads(server):
    a = server.boto3_client("s3")
    b = server.boto3_client("s3", creds=second_account(server))
    bucket = uniq("reuse")
    a.create_bucket(Bucket=bucket)
    secret = os.urandom(MIB)
    up = a.create_multipart_upload(Bucket=bucket, Key="victim")["UploadId"]
    etag = a.upload_part(Bucket=bucket, Key="victim", UploadId=up, PartNumber=1,
                         Body=secret)["ETag"]
    a.delete_bucket(Bucket=bucket)  # in-progress uploads do not keep a bucket alive (S3)
    b.create_bucket(Bucket=bucket)
    assert b.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    with pytest.raises(ClientError) as e:
        b.list_parts(Bucket=bucket, Key="victim", UploadId=up)
    assert client_error(e.value)[:2] == ("NoSuchUpload", 404)
    with pytest.raises(ClientError) as e:
        b.complete_multipart_upload(Bucket=bucket, Key="victim", UploadId=up, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert client_error(e.value)[:2] == ("NoSuchUpload", 404)
    with pytest.raises(ClientError) as e:
        b.upload_part(Bucket=bucket, Key="victim", UploadId=up, PartNumber=2, Body=b"x")
    assert client_error(e.value)[:2] == ("NoSuchUpload", 404)
    assert b.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    assert not conftest.blobs_contain(server.data_dir, secret[:4096]), \
        "the deleted bucket's part bytes are still stored"
    b.delete_bucket(Bucket=bucket)


def test_same_account_recreate_starts_empty(server):
    a = server.boto3_client("s3")
    bucket = uniq("recreate")
    a.create_bucket(Bucket=bucket)
    a.create_multipart_upload(Bucket=bucket, Key="k")
    a.put_object(Bucket=bucket, Key="obj", Body=b"1")
    with pytest.raises(ClientError) as e:
        a.delete_bucket(Bucket=bucket)
    assert client_error(e.value)[:2] == ("BucketNotEmpty", 409)
    a.delete_object(Bucket=bucket, Key="obj")
    a.delete_bucket(Bucket=bucket)
    a.create_bucket(Bucket=bucket)
    assert a.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    a.delete_bucket(Bucket=bucket)


def _raw_put_start(url, length):
    """Sends a presigned PUT's headers and no body yet; returns the connection."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.putrequest("PUT", u.path + "?" + u.query, skip_accept_encoding=True)
    conn.putheader("Content-Length", str(length))
    conn.endheaders()
    return conn


def test_streaming_put_does_not_land_in_recreated_bucket(server):
    a = server.boto3_client("s3")
    b = server.boto3_client("s3", creds=second_account(server))
    bucket = uniq("inflight")
    a.create_bucket(Bucket=bucket)
    url = presigner(a).generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "late"},
                                   ExpiresIn=300)
    body = os.urandom(256 * 1024)
    conn = _raw_put_start(url, len(body))
    conn.send(body[:1000])
    time.sleep(1.0)  # the server has started the upload (headers checked, bucket loaded)
    a.delete_bucket(Bucket=bucket)
    b.create_bucket(Bucket=bucket)
    conn.send(body[1000:])
    resp = conn.getresponse()
    text = resp.read().decode(errors="replace")
    conn.close()
    assert resp.status == 404 and "NoSuchBucket" in text, (resp.status, text)
    assert b.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    b.delete_bucket(Bucket=bucket)


def _make_legacy(data_dir, bucket):
    """Rewrites a stopped server's meta store into the layout of the versions
    before bucket Ids: the bucket document without "Id", its objects and uploads
    scoped by the bucket's name, its parts by "NAME/UPLOADID"."""
    import sqlite3
    db = sqlite3.connect(str(Path(data_dir) / "meta.db"))
    try:
        (text,) = db.execute("SELECT doc FROM items WHERE kind='bucket' AND scope='' AND name=?",
                             (bucket,)).fetchone()
        doc = json.loads(text)
        bid = doc.pop("Id")
        with db:
            db.execute("UPDATE items SET doc=? WHERE kind='bucket' AND scope='' AND name=?",
                       (json.dumps(doc), bucket))
            db.execute("UPDATE items SET scope=? WHERE kind IN ('object','upload') AND scope=?",
                       (bucket, bid))
            db.execute("UPDATE items SET scope=? || substr(scope, ?) WHERE kind='part' "
                       "AND substr(scope, 1, ?) = ?", (bucket, len(bid) + 1, len(bid) + 1, bid + "/"))
        left = db.execute("SELECT count(*) FROM items WHERE scope=? OR scope LIKE ?",
                          (bid, bid + "/%")).fetchone()[0]
        assert left == 0
    finally:
        db.close()


@sqlite_only
def test_buckets_from_before_ids_keep_their_items(make_server):
    """A data directory from before bucket Ids (bucket documents without "Id",
    items scoped by the bucket name) is served unchanged after the upgrade."""
    srv = make_server("s3legacy")
    s3 = srv.boto3_client("s3")
    s3.create_bucket(Bucket="legacy")
    data = os.urandom(5 * MIB)
    s3.put_object(Bucket="legacy", Key="plain", Body=b"hello")
    up = s3.create_multipart_upload(Bucket="legacy", Key="mp")["UploadId"]
    e1 = s3.upload_part(Bucket="legacy", Key="mp", UploadId=up, PartNumber=1, Body=data)["ETag"]
    assert srv.stop() == 0
    _make_legacy(srv.data_dir, "legacy")
    srv.start()
    s3 = srv.boto3_client("s3")
    assert s3.get_object(Bucket="legacy", Key="plain")["Body"].read() == b"hello"
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket="legacy")["Uploads"]] == [up]
    e2 = s3.upload_part(Bucket="legacy", Key="mp", UploadId=up, PartNumber=2, Body=b"tail")["ETag"]
    s3.complete_multipart_upload(Bucket="legacy", Key="mp", UploadId=up, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    got = s3.get_object(Bucket="legacy", Key="mp")["Body"].read()
    assert hashlib.sha256(got).digest() == hashlib.sha256(data + b"tail").digest()
    # a re-created name after a delete is a new bucket
    s3.delete_object(Bucket="legacy", Key="plain")
    s3.delete_object(Bucket="legacy", Key="mp")
    s3.create_multipart_upload(Bucket="legacy", Key="left")
    s3.delete_bucket(Bucket="legacy")
    s3.create_bucket(Bucket="legacy")
    assert s3.list_multipart_uploads(Bucket="legacy").get("Uploads", []) == []
