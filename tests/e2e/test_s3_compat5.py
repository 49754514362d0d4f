"""Issue 16 (left16): IAM List* paging as AWS (Marker / MaxItems / IsTruncated,
ListEntitiesForPolicy and ListAccessKeys included), the access log's resource of a
virtual-host-style S3 request (bucket/key, as path style), and S3's default
checksum: a CRC64NVME of every object uploaded without a checksum (AWS since
December 2024), shown with x-amz-checksum-mode: ENABLED and in GetObjectAttributes.
(The ACL-header rows of the authorization matrix are in authz_table.py.)"""
import json
import os
import re
import socket
import time

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import REGION, boto3_client, crc64nvme, uniq

# --------------------------------------------------------------------------- CRC64NVME
def test_crc64nvme_reference():
    # ceph/s3-tests test_object_checksum_crc64nvme: 1024 bytes 'A'
    assert crc64nvme(b"A" * 1024) == "Qeh8oXvGiSo="


def headers(resp):
    return resp["ResponseMetadata"]["HTTPHeaders"]


def raw_body(client, event):
    """Keeps the raw body of the next answer to `event` (botocore 1.29 has no model for
    ChecksumCRC64NVME / ChecksumType, so its parser drops them)."""
    seen = []
    client.meta.events.register(f"after-call.s3.{event}",
                                lambda http_response, **kw: seen.append(http_response.content))
    return seen


# --------------------------------------------------------------------------- checksums
def test_put_object_gets_default_crc64nvme(server):
    s3 = server.boto3_client("s3")
    bucket = uniq("ck5")
    s3.create_bucket(Bucket=bucket)
    body = b"default checksum " * 100
    want = crc64nvme(body)
    put = s3.put_object(Bucket=bucket, Key="k", Body=body)  # Debian's botocore sends none
    assert headers(put).get("x-amz-checksum-crc64nvme") == want
    assert headers(put).get("x-amz-checksum-type") == "FULL_OBJECT"
    # only with x-amz-checksum-mode: ENABLED
    assert "x-amz-checksum-crc64nvme" not in headers(s3.head_object(Bucket=bucket, Key="k"))
    for call in (s3.head_object, s3.get_object):
        h = headers(call(Bucket=bucket, Key="k", ChecksumMode="ENABLED"))
        assert h.get("x-amz-checksum-crc64nvme") == want, h
        assert h.get("x-amz-checksum-type") == "FULL_OBJECT", h
    seen = raw_body(s3, "GetObjectAttributes")
    s3.get_object_attributes(Bucket=bucket, Key="k", ObjectAttributes=["Checksum", "ObjectSize"])
    xml = seen[-1].decode()
    assert f"<ChecksumCRC64NVME>{want}</ChecksumCRC64NVME>" in xml, xml
    assert "<ChecksumType>FULL_OBJECT</ChecksumType>" in xml, xml
    # a checksum the client chose is kept instead (no second one)
    s3.put_object(Bucket=bucket, Key="c", Body=body, ChecksumAlgorithm="CRC32")
    h = headers(s3.head_object(Bucket=bucket, Key="c", ChecksumMode="ENABLED"))
    assert "x-amz-checksum-crc32" in h and "x-amz-checksum-crc64nvme" not in h, h
    # the copy of an object keeps its checksum
    s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "k"})
    h = headers(s3.head_object(Bucket=bucket, Key="copy", ChecksumMode="ENABLED"))
    assert h.get("x-amz-checksum-crc64nvme") == want, h


def test_aws_chunked_upload_without_trailer_gets_default(server):
    """An aws-chunked body (STREAMING-UNSIGNED-PAYLOAD-TRAILER) that carries no checksum
    trailer gets the default too (the decoder computes it)."""
    import requests
    s3 = server.boto3_client("s3")
    bucket = uniq("ck5c")
    s3.create_bucket(Bucket=bucket)
    data = b"chunked body without a trailer"
    body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data)
    url = f"{server.endpoint}/{bucket}/chunked"
    hdrs = {"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            "Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)),
            "Content-Length": str(len(body))}
    req = AWSRequest(method="PUT", url=url, data=body, headers=hdrs)
    cr = server.admin_creds()
    SigV4Auth(Credentials(cr["AccessKeyId"], cr["SecretAccessKey"]), "s3", REGION).add_auth(req)
    r = requests.put(url, data=body, headers=dict(req.headers.items()), timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers.get("x-amz-checksum-crc64nvme") == crc64nvme(data)
    got = s3.get_object(Bucket=bucket, Key="chunked", ChecksumMode="ENABLED")
    assert got["Body"].read() == data
    assert headers(got).get("x-amz-checksum-crc64nvme") == crc64nvme(data)


def test_multipart_without_algorithm_gets_full_object_crc64nvme(server):
    s3 = server.boto3_client("s3")
    bucket = uniq("ck5m")
    s3.create_bucket(Bucket=bucket)
    part1, part2 = b"a" * (5 << 20), b"the last part"
    # the same bytes in one PUT: its checksum is the whole object's (checked above)
    whole = headers(s3.put_object(Bucket=bucket, Key="one", Body=part1 + part2))
    want = whole["x-amz-checksum-crc64nvme"]
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    parts = []
    for n, data in ((1, part1), (2, part2)):
        r = s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=n, Body=data)
        parts.append({"PartNumber": n, "ETag": r["ETag"]})
    assert headers(r).get("x-amz-checksum-crc64nvme") == crc64nvme(part2)
    seen = raw_body(s3, "CompleteMultipartUpload")
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid,
                                 MultipartUpload={"Parts": parts})
    assert f"<ChecksumCRC64NVME>{want}</ChecksumCRC64NVME>" in seen[-1].decode()
    h = headers(s3.head_object(Bucket=bucket, Key="mp", ChecksumMode="ENABLED"))
    assert h.get("x-amz-checksum-crc64nvme") == want, h
    assert h.get("x-amz-checksum-type") == "FULL_OBJECT", h


# --------------------------------------------------------------------------- IAM paging
def pages(call, key, max_items, **kw):
    """Every page of an IAM List call at MaxItems=max_items -> (pages of items)."""
    out, marker = [], None
    for _ in range(50):
        args = dict(kw, MaxItems=max_items, **({"Marker": marker} if marker else {}))
        r = call(**args)
        out.append(r[key] if isinstance(key, str) else key(r))
        assert len(out[-1]) <= max_items, r
        if not r["IsTruncated"]:
            assert "Marker" not in r, r
            return out
        marker = r["Marker"]
    raise AssertionError("no last page")


def test_list_entities_for_policy_pages(server):
    iam = server.boto3_client("iam")
    p = uniq("lefp")
    arn = iam.create_policy(PolicyName=p, PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket",
                                                "Resource": "*"}]}))["Policy"]["Arn"]
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
        "Action": "sts:AssumeRole"}]})
    groups, users, roles = ([f"{p}-{k}{i}" for i in range(n)]
                            for k, n in (("g", 2), ("u", 3), ("r", 2)))
    for g in groups:
        iam.create_group(GroupName=g)
        iam.attach_group_policy(GroupName=g, PolicyArn=arn)
    for u in users:
        iam.create_user(UserName=u)
        iam.attach_user_policy(UserName=u, PolicyArn=arn)
    for r in roles:
        iam.create_role(RoleName=r, AssumeRolePolicyDocument=trust)
        iam.attach_role_policy(RoleName=r, PolicyArn=arn)

    def names(r):
        return ([g["GroupName"] for g in r["PolicyGroups"]] + [u["UserName"] for u in r["PolicyUsers"]]
                + [x["RoleName"] for x in r["PolicyRoles"]])

    got = pages(iam.list_entities_for_policy, names, 2, PolicyArn=arn)
    assert [len(x) for x in got] == [2, 2, 2, 1]
    assert sorted(sum(got, [])) == sorted(groups + users + roles)
    got = pages(iam.list_entities_for_policy, names, 1, PolicyArn=arn, EntityFilter="User")
    assert sum(got, []) == users and len(got) == 3
    one = iam.list_entities_for_policy(PolicyArn=arn, MaxItems=100)
    assert not one["IsTruncated"] and sorted(names(one)) == sorted(groups + users + roles)
    # boto3's paginator follows the Marker
    pg = iam.get_paginator("list_entities_for_policy").paginate(
        PolicyArn=arn, PaginationConfig={"PageSize": 3})
    assert sorted(n for page in pg for n in names(page)) == sorted(groups + users + roles)


def test_list_access_keys_pages(server):
    iam = server.boto3_client("iam")
    u = uniq("lak")
    iam.create_user(UserName=u)
    ids = sorted(iam.create_access_key(UserName=u)["AccessKey"]["AccessKeyId"] for _ in range(2))
    got = pages(iam.list_access_keys, "AccessKeyMetadata", 1, UserName=u)
    assert len(got) == 2 and sorted(k["AccessKeyId"] for k in sum(got, [])) == ids


def test_every_iam_list_pages(server):
    """The other IAM List* calls page the same way (MaxItems=1: one item a page)."""
    iam = server.boto3_client("iam")
    p = uniq("pg")
    path = f"/{p}/"
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                                                              "Action": "s3:ListBucket",
                                                              "Resource": "*"}]})
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
        "Action": "sts:AssumeRole"}]})
    user = f"{p}-u0"
    for i in range(2):
        iam.create_user(UserName=f"{p}-u{i}", Path=path)
        iam.create_group(GroupName=f"{p}-g{i}", Path=path)
        iam.create_role(RoleName=f"{p}-r{i}", Path=path, AssumeRolePolicyDocument=trust)
        arn = iam.create_policy(PolicyName=f"{p}-p{i}", Path=path, PolicyDocument=doc)["Policy"]["Arn"]
        iam.put_user_policy(UserName=user, PolicyName=f"inline{i}", PolicyDocument=doc)
        iam.attach_user_policy(UserName=user, PolicyArn=arn)
        iam.add_user_to_group(GroupName=f"{p}-g{i}", UserName=user)
        iam.add_user_to_group(GroupName=f"{p}-g0", UserName=f"{p}-u{i}")
    cases = [(iam.list_users, "Users", {"PathPrefix": path}),
             (iam.list_groups, "Groups", {"PathPrefix": path}),
             (iam.list_roles, "Roles", {"PathPrefix": path}),
             (iam.list_policies, "Policies", {"Scope": "Local", "PathPrefix": path}),
             (iam.list_user_policies, "PolicyNames", {"UserName": user}),
             (iam.list_attached_user_policies, "AttachedPolicies", {"UserName": user}),
             (iam.list_groups_for_user, "Groups", {"UserName": user}),
             (iam.get_group, "Users", {"GroupName": f"{p}-g0"})]
    for call, key, kw in cases:
        got = pages(call, key, 1, **kw)
        assert len(got) == 2 and all(len(x) == 1 for x in got), (call, got)


# --------------------------------------------------------------------------- access log
def log_lines(path):
    if not os.path.exists(path):
        return []
    return [json.loads(l) for l in open(path, encoding="utf-8").read().splitlines() if l]


def logged_line(path, rid, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = [l for l in log_lines(path) if l["request_id"] == rid]
        if got:
            return got[0]
        time.sleep(0.05)
    raise AssertionError(f"request {rid} not in {path}")


def test_access_log_virtual_host_resource(make_server, tmp_path, monkeypatch):
    """Host: BUCKET.localhost:PORT: the resource is "bucket/key", as for path style."""
    path = str(tmp_path / "access.log")
    srv = make_server("alog5", extra_args=["--access-log", path])
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    port = srv.endpoint.rsplit(":", 1)[1]
    vhost = boto3_client(f"http://localhost:{port}", "s3", srv.admin_creds(),
                         s3={"addressing_style": "virtual"})
    path_style = srv.boto3_client("s3")
    bucket = uniq("alogv")
    path_style.create_bucket(Bucket=bucket)
    sent = []
    vhost.meta.events.register("before-send.s3", lambda request, **kw: sent.append(request.url))
    cases = [(vhost.put_object(Bucket=bucket, Key="dir/a b.txt", Body=b"x"), f"{bucket}/dir/a b.txt"),
             (vhost.get_object(Bucket=bucket, Key="dir/a b.txt"), f"{bucket}/dir/a b.txt"),
             (vhost.list_objects_v2(Bucket=bucket), bucket),
             (path_style.get_object(Bucket=bucket, Key="dir/a b.txt"), f"{bucket}/dir/a b.txt")]
    assert all(u.startswith(f"http://{bucket}.localhost:{port}/") for u in sent), sent
    for resp, want in cases:
        line = logged_line(path, resp["ResponseMetadata"]["RequestId"])
        assert line["resource"] == want, line
    # a denied virtual-host request names bucket/key in the info line of the normal log too
    anon = boto3_client(f"http://localhost:{port}", "s3", {"AccessKeyId": "AKIAX", "SecretAccessKey": "x"},
                        s3={"addressing_style": "virtual"})
    from botocore import UNSIGNED
    anon.meta.events.register("choose-signer.s3.*", lambda **kw: UNSIGNED)
    with pytest.raises(ClientError):
        anon.get_object(Bucket=bucket, Key="dir/secret")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and f"{bucket}/dir/secret" not in srv.stderr_tail():
        time.sleep(0.05)
    assert re.search(rf"denied: GET s3:GetObject {re.escape(bucket)}/dir/secret", srv.stderr_tail())
