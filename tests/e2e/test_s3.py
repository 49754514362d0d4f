"""The object store with the stock clients: the aws CLI (v2, and v1 when present)
and boto3. Covers the sensitive-inputs flow of issue 3 (a bucket policy granting
another account's role, assume-role, download; everyone else refused; public
policies and BlockPublicPolicy), byte-exact round trips with ranges and
conditionals, listing, presigned URLs, and S3's error codes."""
import hashlib
import json
import os
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from conftest import aws_error_code, boto3_client, client_error, run_aws
from test_iam_boto3 import expect_error, _new_account


@pytest.fixture(scope="module")
def owner(server):
    return _new_account(server, "s3owner")


@pytest.fixture(scope="module")
def prover(server):
    return _new_account(server, "s3prover")


def s3(acct, creds=None):
    return acct.client("s3", creds or acct.creds)


def http_get(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_cli_mb_cp_ls_sync_rm_presign(server, aws_cli, tmp_path):
    creds = server.admin_creds()
    ep = server.endpoint
    bucket = "cli-" + aws_cli[0].replace("awscli-", "")
    rc, out, err = run_aws(aws_cli, ep, ["s3", "mb", f"s3://{bucket}"], creds=creds)
    assert rc == 0, err
    data = os.urandom(3 * 1024 * 1024 + 17)
    (tmp_path / "in.bin").write_bytes(data)
    rc, _, err = run_aws(aws_cli, ep, ["s3", "cp", str(tmp_path / "in.bin"), f"s3://{bucket}/d/in.bin",
                                       "--no-progress"], creds=creds)
    assert rc == 0, err
    rc, _, err = run_aws(aws_cli, ep, ["s3", "cp", f"s3://{bucket}/d/in.bin", str(tmp_path / "out.bin"),
                                       "--no-progress"], creds=creds)
    assert rc == 0, err
    assert (tmp_path / "out.bin").read_bytes() == data
    rc, out, err = run_aws(aws_cli, ep, ["s3", "ls", f"s3://{bucket}/d/"], creds=creds)
    assert rc == 0 and "in.bin" in out and str(len(data)) in out, out + err
    # sync a small tree, then list it recursively
    src = tmp_path / "tree"
    (src / "a").mkdir(parents=True)
    for name, size in (("a/x.txt", 10), ("a/y.txt", 0), ("z.json", 1000)):
        (src / name).write_bytes(os.urandom(size))
    rc, _, err = run_aws(aws_cli, ep, ["s3", "sync", str(src), f"s3://{bucket}/tree", "--no-progress"], creds=creds)
    assert rc == 0, err
    rc, out, err = run_aws(aws_cli, ep, ["s3", "ls", f"s3://{bucket}/tree/", "--recursive"], creds=creds)
    assert rc == 0 and all(k in out for k in ("tree/a/x.txt", "tree/a/y.txt", "tree/z.json")), out + err
    # a presigned GET works without credentials, and expires
    rc, url, err = run_aws(aws_cli, ep, ["s3", "presign", f"s3://{bucket}/d/in.bin", "--expires-in", "300"],
                           creds=creds)
    assert rc == 0, err
    url = url.strip()
    status, body = http_get(url)  # CLI v1 presigns with SigV2 by default: served too
    assert status == 200 and body == data
    if "X-Amz-Signature" in url:
        flipped = url[:-1] + ("0" if url[-1] != "0" else "1")  # the signature is last
    else:
        i = url.index("Signature=") + len("Signature=")
        flipped = url[:i] + ("A" if url[i] != "A" else "B") + url[i + 1:]
    status, body = http_get(flipped)
    assert status == 403 and b"SignatureDoesNotMatch" in body
    rc, _, err = run_aws(aws_cli, ep, ["s3", "rm", f"s3://{bucket}", "--recursive"], creds=creds)
    assert rc == 0, err
    rc, _, err = run_aws(aws_cli, ep, ["s3", "rb", f"s3://{bucket}"], creds=creds)
    assert rc == 0, err


def test_sensitive_inputs_flow(owner, prover, tmp_path, aws_cli):
    """Issue 3: the prover's role, and only it, reads the requestor's inputs."""
    tag = aws_cli[0].replace("awscli-", "")
    bucket, role = f"inputs-{tag}", f"ProverInputDownloadRole-{tag}"
    o = s3(owner)
    o.create_bucket(Bucket=bucket)
    data = os.urandom(70000)
    o.put_object(Bucket=bucket, Key="p/input.json", Body=data)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{prover.id}:root"}, "Action": "sts:AssumeRole"}]}
    owner.iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))
    role_arn = f"arn:aws:iam::{owner.id}:role/{role}"
    policy = {"Version": "2012-10-17", "Statement": [{"Sid": "ProverReads", "Effect": "Allow",
              "Principal": {"AWS": role_arn}, "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]}
    (tmp_path / "prover_policy.json").write_text(json.dumps(policy))
    rc, _, err = run_aws(aws_cli, owner.srv.endpoint, ["s3api", "put-bucket-policy", "--bucket", bucket,
                         "--policy", "file://" + str(tmp_path / "prover_policy.json")], creds=owner.creds)
    assert rc == 0, err
    assert json.loads(o.get_bucket_policy(Bucket=bucket)["Policy"]) == policy
    # B's admin assumes the role in A and downloads
    c = prover.sts.assume_role(RoleArn=role_arn, RoleSessionName="testProverSession")["Credentials"]
    rcreds = {"AccessKeyId": c["AccessKeyId"], "SecretAccessKey": c["SecretAccessKey"],
              "SessionToken": c["SessionToken"]}
    rc, _, err = run_aws(aws_cli, owner.srv.endpoint, ["s3", "cp", f"s3://{bucket}/p/input.json",
                         str(tmp_path / "got.json"), "--no-progress"], creds=rcreds)
    assert rc == 0, err
    assert (tmp_path / "got.json").read_bytes() == data
    # the role may read, not write or list
    expect_error("AccessDenied", 403, s3(prover, rcreds).put_object, Bucket=bucket, Key="x", Body=b"1")
    expect_error("AccessDenied", 403, s3(prover, rcreds).list_objects_v2, Bucket=bucket)
    # B's own user, without the role, is refused; so is an anonymous request
    rc, _, err = run_aws(aws_cli, owner.srv.endpoint, ["s3", "cp", f"s3://{bucket}/p/input.json",
                         str(tmp_path / "no.json")], creds=prover.creds)
    assert rc != 0 and ("403" in err or "AccessDenied" in err), err
    status, body = http_get(f"{owner.srv.endpoint}/{bucket}/p/input.json")
    assert status == 403 and b"<Code>AccessDenied</Code>" in body
    # a public policy lets everyone read ...
    public = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
              "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]}
    o.delete_public_access_block(Bucket=bucket)  # a new bucket blocks public access, as on AWS since 2023
    o.put_bucket_policy(Bucket=bucket, Policy=json.dumps(public))
    assert o.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True
    status, body = http_get(f"{owner.srv.endpoint}/{bucket}/p/input.json")
    assert status == 200 and body == data
    # ... RestrictPublicBuckets cuts it to the owner's account, BlockPublicPolicy refuses it
    rc, _, err = run_aws(aws_cli, owner.srv.endpoint, ["s3api", "put-public-access-block", "--bucket", bucket,
                         "--public-access-block-configuration",
                         "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true"],
                         creds=owner.creds)
    assert rc == 0, err
    pab = o.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert pab == {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                   "RestrictPublicBuckets": True}
    status, _ = http_get(f"{owner.srv.endpoint}/{bucket}/p/input.json")
    assert status == 403
    expect_error("AccessDenied", 403, o.put_bucket_policy, Bucket=bucket, Policy=json.dumps(public))
    o.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))  # not public: accepted


@pytest.mark.parametrize("sse", [None, "AES256", "aws:kms"])
def test_round_trips_sizes_ranges(owner, sse):
    """Issue 3: byte-exact round trips at 0 B, 1 B, 5 MiB-1, 5 MiB, 5 MiB+1 and 64 MiB with
    random ranges, encrypted and not (segment edges at 64 KiB included)."""
    import random
    rnd = random.Random(7)
    o = s3(owner)
    bucket = "sizes-" + {None: "plain", "AES256": "enc", "aws:kms": "kms"}[sse]
    o.create_bucket(Bucket=bucket)
    extra = {"ServerSideEncryption": sse} if sse else {}
    for size in (0, 1, 65535, 65536, 65537, 5 * 1024 * 1024 - 1, 5 * 1024 * 1024, 5 * 1024 * 1024 + 1,
                 64 * 1024 * 1024):
        data = os.urandom(size)
        r = o.put_object(Bucket=bucket, Key=f"k{size}", Body=data, ContentType="application/x-test",
                         Metadata={"origin": "test"}, **extra)
        assert r["ETag"] == '"%s"' % hashlib.md5(data).hexdigest()
        got = o.get_object(Bucket=bucket, Key=f"k{size}")
        assert got["Body"].read() == data
        assert got["ContentType"] == "application/x-test" and got["Metadata"] == {"origin": "test"}
        assert got.get("ServerSideEncryption") == sse
        ranges = [(0, 0), (max(size - 10, 0), size + 100)] if size else []
        ranges += [tuple(sorted((rnd.randrange(size), rnd.randrange(size)))) for _ in range(5)] if size else []
        for a, b in ranges:
            part = o.get_object(Bucket=bucket, Key=f"k{size}", Range=f"bytes={a}-{b}")
            assert part["Body"].read() == data[a:b + 1] and part["ResponseMetadata"]["HTTPStatusCode"] == 206
        o.delete_object(Bucket=bucket, Key=f"k{size}")


def test_ranges_conditionals_digests(owner):
    o = s3(owner)
    o.create_bucket(Bucket="roundtrip")
    data = os.urandom(1000)
    etag = o.put_object(Bucket="roundtrip", Key="c", Body=data)["ETag"]
    assert o.get_object(Bucket="roundtrip", Key="c", Range="bytes=-10")["Body"].read() == data[-10:]
    expect_error("InvalidRange", 416, o.get_object, Bucket="roundtrip", Key="c", Range="bytes=5000-")
    assert o.get_object(Bucket="roundtrip", Key="c", IfMatch=etag)["Body"].read() == data
    expect_error("PreconditionFailed", 412, o.get_object, Bucket="roundtrip", Key="c", IfMatch='"0000"')
    with pytest.raises(ClientError) as ei:
        o.get_object(Bucket="roundtrip", Key="c", IfNoneMatch=etag)
    assert client_error(ei.value)[1] == 304
    # a wrong Content-MD5 stores nothing
    expect_error("BadDigest", 400, o.put_object, Bucket="roundtrip", Key="bad", Body=b"abc",
                 ContentMD5="AAAAAAAAAAAAAAAAAAAAAA==")
    expect_error("NoSuchKey", 404, o.get_object, Bucket="roundtrip", Key="bad")
    o.delete_object(Bucket="roundtrip", Key="c")
    expect_error("NoSuchKey", 404, o.get_object, Bucket="roundtrip", Key="c")


def test_listing(owner):
    o = s3(owner)
    o.create_bucket(Bucket="listing")
    keys = ["a/1", "a/2", "a/b/3", "b", "c/4", "c/5", "d"]
    for k in keys:
        o.put_object(Bucket="listing", Key=k, Body=k.encode())
    r = o.list_objects_v2(Bucket="listing", Delimiter="/")
    assert [c["Key"] for c in r["Contents"]] == ["b", "d"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["a/", "c/"]
    r = o.list_objects_v2(Bucket="listing", Prefix="a/", Delimiter="/")
    assert [c["Key"] for c in r["Contents"]] == ["a/1", "a/2"] and r["CommonPrefixes"] == [{"Prefix": "a/b/"}]
    pages = o.get_paginator("list_objects_v2").paginate(Bucket="listing", PaginationConfig={"PageSize": 2})
    assert [c["Key"] for p in pages for c in p.get("Contents", [])] == keys
    assert [c["Key"] for c in o.list_objects_v2(Bucket="listing", StartAfter="c/4")["Contents"]] == ["c/5", "d"]
    v1 = o.list_objects(Bucket="listing", Marker="a/b/3", MaxKeys=2)
    assert [c["Key"] for c in v1["Contents"]] == ["b", "c/4"] and v1["IsTruncated"] is True


def test_bucket_errors(owner, prover):
    o = s3(owner)
    expect_error("InvalidBucketName", 400, o.create_bucket, Bucket="Bad_Name")
    expect_error("InvalidBucketName", 400, o.create_bucket, Bucket="192.168.1.1")
    o.create_bucket(Bucket="taken-name")
    # AWS's legacy us-east-1 answer (BucketAlreadyOwnedByYou elsewhere: test_s3_defaults.py)
    assert o.create_bucket(Bucket="taken-name")["ResponseMetadata"]["HTTPStatusCode"] == 200
    expect_error("BucketAlreadyExists", 409, s3(prover).create_bucket, Bucket="taken-name")
    o.put_object(Bucket="taken-name", Key="k", Body=b"x")
    expect_error("BucketNotEmpty", 409, o.delete_bucket, Bucket="taken-name")
    expect_error("NoSuchBucket", 404, o.get_object, Bucket="no-such-bucket-here", Key="k")
    expect_error("AccessDenied", 403, s3(prover).get_object, Bucket="taken-name", Key="k")
    assert "taken-name" in [b["Name"] for b in o.list_buckets()["Buckets"]]
    assert "taken-name" not in [b["Name"] for b in s3(prover).list_buckets()["Buckets"]]
    o.delete_object(Bucket="taken-name", Key="k")
    o.delete_bucket(Bucket="taken-name")
    with pytest.raises(ClientError) as ei:
        o.head_bucket(Bucket="taken-name")
    assert client_error(ei.value)[1] == 404


def test_multipart_cli_100mib(server, aws_cli, tmp_path):
    """Issue 3: `aws s3 cp` up and down at 100 MiB (the CLI uses multipart above 8 MiB)."""
    creds = server.admin_creds()
    bucket = "mp-" + aws_cli[0].replace("awscli-", "")
    rc, _, err = run_aws(aws_cli, server.endpoint, ["s3", "mb", f"s3://{bucket}"], creds=creds)
    assert rc == 0, err
    data = os.urandom(100 * 1024 * 1024)
    (tmp_path / "big").write_bytes(data)
    for args in (["s3", "cp", str(tmp_path / "big"), f"s3://{bucket}/big", "--no-progress"],
                 ["s3", "cp", f"s3://{bucket}/big", str(tmp_path / "back"), "--no-progress"]):
        rc, _, err = run_aws(aws_cli, server.endpoint, args, creds=creds, timeout=300)
        assert rc == 0, err
    assert (tmp_path / "back").read_bytes() == data
    rc, out, err = run_aws(aws_cli, server.endpoint, ["s3api", "head-object", "--bucket", bucket, "--key", "big"],
                           creds=creds)
    assert rc == 0 and json.loads(out)["ContentLength"] == len(data), err
    assert "-" in json.loads(out)["ETag"], out  # a multipart ETag: md5-of-md5s "-N"


def test_multipart_boto3(owner):
    o = s3(owner)
    o.create_bucket(Bucket="multipart")
    parts_data = [os.urandom(5 * 1024 * 1024), os.urandom(5 * 1024 * 1024 + 3), os.urandom(1234)]
    up = o.create_multipart_upload(Bucket="multipart", Key="obj", ContentType="text/x-mp",
                                   Metadata={"k": "v"})["UploadId"]
    etags = []
    for n, d in enumerate(parts_data, start=1):
        etags.append(o.upload_part(Bucket="multipart", Key="obj", UploadId=up, PartNumber=n, Body=d)["ETag"])
        assert etags[-1] == '"%s"' % hashlib.md5(d).hexdigest()
    listed = o.list_parts(Bucket="multipart", Key="obj", UploadId=up)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in listed] == [(1, len(parts_data[0])), (2, len(parts_data[1])),
                                                               (3, 1234)]
    parts = [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, start=1)]
    # wrong ETag, wrong order, unknown upload: refused, nothing stored
    bad = [dict(parts[0], ETag='"00000000000000000000000000000000"')] + parts[1:]
    expect_error("InvalidPart", 400, o.complete_multipart_upload, Bucket="multipart", Key="obj", UploadId=up,
                 MultipartUpload={"Parts": bad})
    expect_error("InvalidPartOrder", 400, o.complete_multipart_upload, Bucket="multipart", Key="obj",
                 UploadId=up, MultipartUpload={"Parts": [parts[1], parts[0]]})
    expect_error("NoSuchUpload", 404, o.complete_multipart_upload, Bucket="multipart", Key="obj",
                 UploadId="nope", MultipartUpload={"Parts": parts})
    expect_error("NoSuchKey", 404, o.get_object, Bucket="multipart", Key="obj")
    r = o.complete_multipart_upload(Bucket="multipart", Key="obj", UploadId=up, MultipartUpload={"Parts": parts})
    whole = b"".join(parts_data)
    md5s = b"".join(hashlib.md5(d).digest() for d in parts_data)
    assert r["ETag"] == '"%s-3"' % hashlib.md5(md5s).hexdigest()
    got = o.get_object(Bucket="multipart", Key="obj")
    assert got["Body"].read() == whole and got["ContentType"] == "text/x-mp" and got["Metadata"] == {"k": "v"}
    a = len(parts_data[0]) - 7  # a range across the part boundary
    assert o.get_object(Bucket="multipart", Key="obj", Range=f"bytes={a}-{a + 20}")["Body"].read() == whole[a:a + 21]
    expect_error("NoSuchUpload", 404, o.list_parts, Bucket="multipart", Key="obj", UploadId=up)
    # a small non-final part is refused at completion
    up2 = o.create_multipart_upload(Bucket="multipart", Key="small")["UploadId"]
    e1 = o.upload_part(Bucket="multipart", Key="small", UploadId=up2, PartNumber=1, Body=b"a" * 100)["ETag"]
    e2 = o.upload_part(Bucket="multipart", Key="small", UploadId=up2, PartNumber=2, Body=b"b")["ETag"]
    expect_error("EntityTooSmall", 400, o.complete_multipart_upload, Bucket="multipart", Key="small",
                 UploadId=up2, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1},
                                                          {"PartNumber": 2, "ETag": e2}]})
    o.abort_multipart_upload(Bucket="multipart", Key="small", UploadId=up2)
    expect_error("NoSuchUpload", 404, o.upload_part, Bucket="multipart", Key="small", UploadId=up2,
                 PartNumber=3, Body=b"c")
    expect_error("InvalidArgument", 400, o.upload_part, Bucket="multipart", Key="obj", UploadId=up,
                 PartNumber=10001, Body=b"c")


def test_multipart_parts_survive_restart(make_server):
    """Issue 3: parts of an unfinished multipart upload survive a server restart."""
    srv = make_server("mprestart")
    o = srv.boto3_client("s3", srv.admin_creds())
    o.create_bucket(Bucket="durable")
    p1, p2 = os.urandom(5 * 1024 * 1024), os.urandom(100)
    up = o.create_multipart_upload(Bucket="durable", Key="k")["UploadId"]
    e1 = o.upload_part(Bucket="durable", Key="k", UploadId=up, PartNumber=1, Body=p1)["ETag"]
    assert srv.stop() == 0
    srv.start()
    o = srv.boto3_client("s3", srv.admin_creds())
    e2 = o.upload_part(Bucket="durable", Key="k", UploadId=up, PartNumber=2, Body=p2)["ETag"]
    o.complete_multipart_upload(Bucket="durable", Key="k", UploadId=up, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    assert o.get_object(Bucket="durable", Key="k")["Body"].read() == p1 + p2


def test_orphan_blobs_collected(make_server):
    """Bytes no metadata names (a crash between the durable blob and its metadata
    commit) are removed by the server's housekeeping once older than an hour;
    live objects, and young orphans (writes in flight), are left alone."""
    import time as _time
    srv = make_server("gc")
    o = srv.boto3_client("s3", srv.admin_creds())
    o.create_bucket(Bucket="gc-test")
    data = os.urandom(1000)
    o.put_object(Bucket="gc-test", Key="live", Body=data)
    assert srv.stop() == 0
    blobs = srv.data_dir / "blobs"
    old_id, young_id = "ab" * 16, "cd" * 16
    for bid, age in ((old_id, 7200), (young_id, 60)):
        d = blobs / bid[:2] / bid[2:4]
        d.mkdir(parents=True, exist_ok=True)
        (d / bid).write_bytes(b"orphan")
        t = _time.time() - age
        os.utime(d / bid, (t, t))
    srv.start()
    o = srv.boto3_client("s3", srv.admin_creds())
    assert not (blobs / old_id[:2] / old_id[2:4] / old_id).exists(), "old orphan not collected"
    assert (blobs / young_id[:2] / young_id[2:4] / young_id).exists(), "a young blob must be spared"
    assert o.get_object(Bucket="gc-test", Key="live")["Body"].read() == data


def test_virtual_host_addressing(owner):
    """Virtual-host style: Host: <bucket>.localhost:<port> names the bucket; the path is the key."""
    import http.client
    o = s3(owner)
    o.create_bucket(Bucket="vhost-bucket")
    o.put_object(Bucket="vhost-bucket", Key="dir/obj.txt", Body=b"virtual")
    public = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
              "Action": "s3:GetObject", "Resource": "arn:aws:s3:::vhost-bucket/*"}]}
    o.delete_public_access_block(Bucket="vhost-bucket")  # a new bucket blocks public access, as on AWS since 2023
    o.put_bucket_policy(Bucket="vhost-bucket", Policy=json.dumps(public))
    port = int(owner.srv.endpoint.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/dir/obj.txt", headers={"Host": f"vhost-bucket.localhost:{port}"})
    r = conn.getresponse()
    assert r.status == 200 and r.read() == b"virtual"
    conn.request("GET", "/dir/missing", headers={"Host": f"vhost-bucket.localhost:{port}"})
    r = conn.getresponse()
    body = r.read()
    # a missing key is NoSuchKey only for callers who may list the bucket; others: AccessDenied
    assert r.status == 403 and b"<Code>AccessDenied</Code>" in body
    conn.close()


def test_put_over_5gib_refused_at_headers(owner):
    """S3 refuses a single PUT over 5 GiB (EntityTooLarge) — answered from the
    headers, before a byte of the body is read; nothing is stored."""
    import socket
    import urllib.parse
    o = owner.client("s3", owner.creds, signature_version="s3v4")  # Debian's boto3 presigns SigV2 by default
    o.create_bucket(Bucket="too-large")
    url = o.generate_presigned_url("put_object", Params={"Bucket": "too-large", "Key": "big"}, ExpiresIn=300)
    u = urllib.parse.urlsplit(url)
    req = (f"PUT {u.path}?{u.query} HTTP/1.1\r\nHost: {u.netloc}\r\nContent-Length: {6 << 30}\r\n"
           "Connection: close\r\n\r\n").encode()
    with socket.create_connection((u.hostname, u.port), timeout=10) as sock:
        sock.sendall(req)
        resp = b""
        while chunk := sock.recv(65536):
            resp += chunk
    assert resp.startswith(b"HTTP/1.1 400") and b"<Code>EntityTooLarge</Code>" in resp, resp[:300]
    expect_error("NoSuchKey", 404, o.get_object, Bucket="too-large", Key="big")


def test_s3_domain_virtual_host_with_boto3(make_server, monkeypatch):
    """`cloister serve --s3-domain s3.cloister.test`: boto3 in virtual-host mode
    (Host: BUCKET.s3.cloister.test) does PUT (streamed), GET, LIST and multipart,
    including a bucket name with dots. Name resolution is patched in-process."""
    import socket
    from botocore.config import Config
    srv = make_server("s3domain", extra_args=["--s3-domain", "s3.cloister.test"])
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        if isinstance(host, str) and host.endswith("s3.cloister.test"):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    port = srv.endpoint.rsplit(":", 1)[1]
    c = boto3_client(f"http://s3.cloister.test:{port}", "s3", srv.admin_creds(),
                     s3={"addressing_style": "virtual"})
    seen = []
    c.meta.events.register("before-send.s3", lambda request, **kw: seen.append(request.url))
    for bucket in ("vdomain", "v.dotted.name"):
        c.create_bucket(Bucket=bucket)
        c.put_object(Bucket=bucket, Key="a/b.txt", Body=b"hello")
        assert c.get_object(Bucket=bucket, Key="a/b.txt")["Body"].read() == b"hello"
        assert [o["Key"] for o in c.list_objects_v2(Bucket=bucket)["Contents"]] == ["a/b.txt"]
    assert any(u.startswith(f"http://vdomain.s3.cloister.test:{port}/a/b.txt") for u in seen), seen
    # botocore sends dotted names path-style; the server reads them from Host as well
    import http.client
    c.delete_public_access_block(Bucket="v.dotted.name")  # a new bucket blocks public access, as on AWS since 2023
    c.put_bucket_policy(Bucket="v.dotted.name", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                                "Resource": "arn:aws:s3:::v.dotted.name/*"}]}))
    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
    conn.request("GET", "/a/b.txt", headers={"Host": f"v.dotted.name.s3.cloister.test:{port}"})
    r = conn.getresponse()
    assert r.status == 200 and r.read() == b"hello"
    conn.close()
    # path style keeps working on the same server
    p = boto3_client(srv.endpoint, "s3", srv.admin_creds())
    assert p.get_object(Bucket="vdomain", Key="a/b.txt")["Body"].read() == b"hello"
