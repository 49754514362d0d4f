"""Issue 10 items 4, 11 and 14: multipart completion is atomic and idempotent,
a part never outlives its upload, and a GET that has started delivers the whole
object it started with.

* CompleteMultipartUpload twice (a retry), or several at once, answers 200 with
  the same ETag each time (S3 keeps a completed upload's result) and the object
  reads back intact.
* A crash right after the completion's commit (test hook
  CLOISTER_TEST_CRASH_AT=complete-after-commit: the server _exit(9)s there),
  then a restart and the client's retry: same 200 and ETag, object intact.
* An UploadPart whose body is still arriving when the upload is completed gets
  NoSuchUpload and cannot touch the completed object's bytes.
* A GET of a multipart object (plain and SSE-S3) read slowly while the key is
  overwritten and then deleted delivers the original bytes whole."""
import hashlib
import http.client
import os
import socket
import threading
import time
import urllib.parse

import pytest
from botocore.exceptions import ClientError

from conftest import client_error, presigner, uniq

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def s3(server):
    return server.boto3_client("s3")


@pytest.fixture(scope="module")
def bucket(s3):
    name = uniq("secmp")
    s3.create_bucket(Bucket=name)
    return name


def upload(s3, bucket, key, sizes, **create):
    up = s3.create_multipart_upload(Bucket=bucket, Key=key, **create)["UploadId"]
    parts, data = [], b""
    for n, size in enumerate(sizes, 1):
        body = os.urandom(size)
        etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=up, PartNumber=n, Body=body)["ETag"]
        parts.append({"PartNumber": n, "ETag": etag})
        data += body
    return up, parts, data


def complete(s3, bucket, key, up, parts):
    return s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up,
                                        MultipartUpload={"Parts": parts})


def sha(b):
    return hashlib.sha256(b).hexdigest()


def read_back(s3, bucket, key):
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def test_complete_twice_same_result(s3, bucket):
    key = "twice"
    s3.put_object(Bucket=bucket, Key=key, Body=b"an older object the completion replaces")
    up, parts, data = upload(s3, bucket, key, [5 * MIB, 1000])
    first = complete(s3, bucket, key, up, parts)
    second = complete(s3, bucket, key, up, parts)
    assert first["ETag"] == second["ETag"] and first["ETag"].endswith('-2"')
    assert sha(read_back(s3, bucket, key)) == sha(data)
    # the upload itself is gone: not listed, no parts, cannot be aborted
    assert up not in [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]
    with pytest.raises(ClientError) as e:
        s3.list_parts(Bucket=bucket, Key=key, UploadId=up)
    assert client_error(e.value)[:2] == ("NoSuchUpload", 404)
    # another key cannot claim the completed upload's result
    with pytest.raises(ClientError) as e:
        complete(s3, bucket, "other-key", up, parts)
    assert client_error(e.value)[:2] == ("NoSuchUpload", 404)


def test_concurrent_completes(server, bucket):
    for trial in range(3):
        key = f"race-{trial}"
        s3 = server.boto3_client("s3")
        up, parts, data = upload(s3, bucket, key, [5 * MIB, 5 * MIB, 777])
        results, errors = [], []

        def go():
            try:
                results.append(complete(server.boto3_client("s3"), bucket, key, up, parts)["ETag"])
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(repr(exc))

        threads = [threading.Thread(target=go) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors
        assert len(results) == 6 and len(set(results)) == 1, results
        assert sha(read_back(s3, bucket, key)) == sha(data), f"trial {trial}: object damaged"


def test_crash_after_commit_then_retry(make_server, monkeypatch):
    monkeypatch.setenv("CLOISTER_TEST_CRASH_AT", "complete-after-commit")
    srv = make_server("mpcrash")
    s3 = srv.boto3_client("s3")
    bucket = "crash"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"old bytes")
    up, parts, data = upload(s3, bucket, "k", [5 * MIB, 5 * MIB, 10])
    with pytest.raises(Exception):
        complete(s3, bucket, "k", up, parts)  # the server dies after its commit
    srv.proc.wait(10)
    assert srv.proc.returncode == 9, srv.stderr_tail()
    srv.kill()
    monkeypatch.delenv("CLOISTER_TEST_CRASH_AT")
    srv.start()
    s3 = srv.boto3_client("s3")
    again = complete(s3, bucket, "k", up, parts)  # the client's retry
    assert again["ETag"].endswith('-3"')
    head = s3.head_object(Bucket=bucket, Key="k")
    assert head["ETag"] == again["ETag"] and head["ContentLength"] == len(data)
    assert sha(read_back(s3, bucket, "k")) == sha(data)


def _presigned_conn(url, method, length=None, rcvbuf=None):
    u = urllib.parse.urlsplit(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(60)
    sock.connect((u.hostname, u.port))
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    conn.sock = sock
    conn.putrequest(method, u.path + "?" + u.query, skip_accept_encoding=True)
    if length is not None:
        conn.putheader("Content-Length", str(length))
    conn.endheaders()
    return conn


def test_upload_part_in_flight_during_complete(s3, bucket):
    key = "part-race"
    up, parts, data = upload(s3, bucket, key, [5 * MIB, 100])
    url = presigner(s3).generate_presigned_url("upload_part", ExpiresIn=300, Params={
        "Bucket": bucket, "Key": key, "UploadId": up, "PartNumber": 1})
    body = os.urandom(64 * 1024)
    conn = _presigned_conn(url, "PUT", len(body))
    conn.send(body[:100])
    time.sleep(1.0)  # the part's upload has begun (upload checked at header time)
    done = complete(s3, bucket, key, up, parts)
    conn.send(body[100:])
    resp = conn.getresponse()
    text = resp.read().decode(errors="replace")
    conn.close()
    assert resp.status == 404 and "NoSuchUpload" in text, (resp.status, text)
    assert s3.head_object(Bucket=bucket, Key=key)["ETag"] == done["ETag"]
    assert sha(read_back(s3, bucket, key)) == sha(data)


def test_upload_part_racing_complete_many(server, bucket):
    """Re-uploads of part 1 racing the completion, bounded in time: whatever wins,
    a completed object reads back whole."""
    s3 = server.boto3_client("s3")
    deadline = time.monotonic() + 8
    rounds = 0
    while time.monotonic() < deadline and rounds < 6:
        rounds += 1
        key = f"part-race-{rounds}"
        up, parts, data = upload(s3, bucket, key, [5 * MIB, 100])
        stop = threading.Event()

        def reupload():
            c = server.boto3_client("s3")
            while not stop.is_set():
                try:
                    c.upload_part(Bucket=bucket, Key=key, UploadId=up, PartNumber=1,
                                  Body=b"y" * 1000)
                except ClientError:
                    return

        t = threading.Thread(target=reupload)
        t.start()
        try:
            complete(s3, bucket, key, up, parts)
            completed = True
        except ClientError as e:
            assert client_error(e)[0] == "InvalidPart", e
            completed = False
        stop.set()
        t.join(30)
        if completed:
            assert sha(read_back(s3, bucket, key)) == sha(data), f"round {rounds}: object damaged"


@pytest.mark.parametrize("sse", [None, "AES256"])
def test_get_is_a_snapshot(s3, bucket, sse):
    key = f"snap-{sse}"
    extra = {"ServerSideEncryption": sse} if sse else {}
    up, parts, data = upload(s3, bucket, key, [5 * MIB, 5 * MIB, 3 * MIB], **extra)
    complete(s3, bucket, key, up, parts)
    url = presigner(s3).generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key},
                                    ExpiresIn=300)
    conn = _presigned_conn(url, "GET", rcvbuf=32 * 1024)
    resp = conn.getresponse()
    assert resp.status == 200
    got = resp.read(64 * 1024)  # the response has started: the rest is in the server's hands
    s3.put_object(Bucket=bucket, Key=key, Body=b"replacement")
    # a new multipart object over it, then a delete
    up2, parts2, _ = upload(s3, bucket, key, [5 * MIB, 10], **extra)
    complete(s3, bucket, key, up2, parts2)
    s3.delete_object(Bucket=bucket, Key=key)
    while True:
        chunk = resp.read(256 * 1024)
        if not chunk:
            break
        got += chunk
        time.sleep(0.01)
    conn.close()
    assert len(got) == len(data) and sha(got) == sha(data), \
        f"read {len(got)} of {len(data)} bytes, or different bytes"


def _age_blobs(data_dir, seconds):
    old = time.time() - seconds
    for root, _, files in os.walk(os.path.join(data_dir, "blobs")):
        if os.path.basename(root) == "tmp":
            continue
        for f in files:
            os.utime(os.path.join(root, f), (old, old))


def test_gc_keeps_what_items_name_and_drops_the_rest(make_server):
    """The start-up clean-up, with every blob older than its grace period: the
    bytes of objects, multipart objects and in-progress parts (all stored under
    the bucket's Id) stay; a blob nothing names goes. Completion records go
    after a day (then a retry is NoSuchUpload)."""
    srv = make_server("mpgc")
    s3 = srv.boto3_client("s3")
    s3.create_bucket(Bucket="gc-bucket")
    s3.put_object(Bucket="gc-bucket", Key="plain", Body=b"plain bytes")
    up, parts, data = upload(s3, "gc-bucket", "mp", [5 * MIB, 10])
    done = complete(s3, "gc-bucket", "mp", up, parts)
    open_up, open_parts, open_data = upload(s3, "gc-bucket", "open", [5 * MIB])
    orphan = os.path.join(srv.data_dir, "blobs", "ab", "cd", "abcd" + "0" * 28)
    os.makedirs(os.path.dirname(orphan), exist_ok=True)
    with open(orphan, "wb") as f:
        f.write(b"nobody names me")
    _age_blobs(srv.data_dir, 7200)
    srv.restart()
    assert not os.path.exists(orphan)
    s3 = srv.boto3_client("s3")
    assert read_back(s3, "gc-bucket", "plain") == b"plain bytes"
    assert sha(read_back(s3, "gc-bucket", "mp")) == sha(data)
    assert complete(s3, "gc-bucket", "mp", up, parts)["ETag"] == done["ETag"]  # record kept
    complete(s3, "gc-bucket", "open", open_up, open_parts)
    assert sha(read_back(s3, "gc-bucket", "open")) == sha(open_data)
    srv.restart(fake_now_offset=2 * 86400)  # housekeeping a day later
    srv.restart()
    s3 = srv.boto3_client("s3")
    with pytest.raises(ClientError) as e:
        complete(s3, "gc-bucket", "mp", up, parts)
    assert client_error(e.value)[:2] == ("NoSuchUpload", 404)
    assert sha(read_back(s3, "gc-bucket", "mp")) == sha(data)
