"""Issue 10, items 1 and 6 and the request-fact condition keys.

Item 1: a signed request (Authorization header or presigned query) may carry
only x-amz-* headers its signature covers. S3 answers AccessDenied "There were
headers present in the request which were not signed" with HeadersNotSigned;
otherwise a presigned PutObject URL plus an unsigned x-amz-copy-source becomes a
CopyObject of anything the signer can read. The sweep sends every x-amz-*
header the server reads, unsigned, both ways.

Item 6: s3:authType comes from the verified signature, so X-Amz-%53ignature
(which verifies) is still a presigned request for a bucket policy.

Keys: s3:signatureAge, aws:TokenIssueTime (AWS's session-revocation recipe),
aws:MultiFactorAuthPresent (false for sessions, absent for long-term keys).

Raw `requests` is used only where no stock client sends the attack; signing is
botocore's own (SigV4Auth, generate_presigned_url).
"""
import datetime as dt
import json
import time
from unittest import mock

import botocore.auth
import pytest
import requests
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import REGION, client_error, uniq

NOT_SIGNED = "There were headers present in the request which were not signed"


@pytest.fixture(scope="module")
def env(server):
    s3 = server.boto3_client("s3", signature_version="s3v4")
    bucket = uniq("unsigned")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="secret", Body=b"the signer may read this")
    return {"s3": s3, "bucket": bucket, "creds": server.admin_creds(), "endpoint": server.endpoint}


def signed_request(env, method, url, headers=None, body=b""):
    """Header-signed with botocore's SigV4Auth: the returned headers are what it signed."""
    c = env["creds"]
    req = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    req.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD"
    botocore.auth.S3SigV4Auth(Credentials(c["AccessKeyId"], c["SecretAccessKey"]), "s3",
                              REGION).add_auth(req)
    return dict(req.headers.items())


def error_of(resp):
    import xml.etree.ElementTree as ET
    root = ET.fromstring(resp.content)
    return {child.tag: child.text for child in root}


def assert_refused(resp, header):
    assert resp.status_code == 403, (resp.status_code, resp.text)
    e = error_of(resp)
    assert e["Code"] == "AccessDenied" and e["Message"] == NOT_SIGNED, e
    assert header.lower() in e["HeadersNotSigned"].split(","), e


def body_of(env, key):
    return env["s3"].get_object(Bucket=env["bucket"], Key=key)["Body"].read()


# ---------------------------------------------------------------- item 1 regressions
def test_presigned_put_plus_copy_source_is_refused(env):
    s3, b = env["s3"], env["bucket"]
    s3.put_object(Bucket=b, Key="dst-existing", Body=b"original")
    for key in ("dst-new", "dst-existing"):
        url = s3.generate_presigned_url("put_object", Params={"Bucket": b, "Key": key},
                                        ExpiresIn=300)
        r = requests.put(url, data=b"", headers={"x-amz-copy-source": f"/{b}/secret"}, timeout=10)
        assert_refused(r, "x-amz-copy-source")
    with pytest.raises(ClientError) as ei:
        s3.head_object(Bucket=b, Key="dst-new")
    assert client_error(ei.value)[1] == 404
    assert body_of(env, "dst-existing") == b"original"
    # the same URL, used as meant, still works
    url = s3.generate_presigned_url("put_object", Params={"Bucket": b, "Key": "dst-new"},
                                    ExpiresIn=300)
    assert requests.put(url, data=b"honest", timeout=10).status_code == 200
    assert body_of(env, "dst-new") == b"honest"


def test_presigned_upload_part_plus_copy_source_is_refused(env):
    s3, b = env["s3"], env["bucket"]
    up = s3.create_multipart_upload(Bucket=b, Key="mp")["UploadId"]
    url = s3.generate_presigned_url(
        "upload_part", Params={"Bucket": b, "Key": "mp", "UploadId": up, "PartNumber": 1},
        ExpiresIn=300)
    r = requests.put(url, data=b"", headers={"x-amz-copy-source": f"/{b}/secret"}, timeout=10)
    assert_refused(r, "x-amz-copy-source")
    assert s3.list_parts(Bucket=b, Key="mp", UploadId=up).get("Parts", []) == []
    assert requests.put(url, data=b"part one", timeout=10).status_code == 200
    assert len(s3.list_parts(Bucket=b, Key="mp", UploadId=up)["Parts"]) == 1
    s3.abort_multipart_upload(Bucket=b, Key="mp", UploadId=up)


def test_header_signed_put_plus_header_added_after_signing(env, server):
    b = env["bucket"]
    s3 = server.boto3_client("s3")

    def add_after_signing(request, **_):
        request.headers["x-amz-copy-source"] = f"/{b}/secret"
        request.headers["x-amz-metadata-directive"] = "REPLACE"

    s3.meta.events.register("before-send.s3.PutObject", add_after_signing)
    with pytest.raises(ClientError) as ei:
        s3.put_object(Bucket=b, Key="hdr-dst", Body=b"")
    code, status, msg = client_error(ei.value)
    assert (code, status, msg) == ("AccessDenied", 403, NOT_SIGNED)
    nsigned = ei.value.response["Error"].get("HeadersNotSigned", "")
    assert set(nsigned.split(",")) == {"x-amz-copy-source", "x-amz-metadata-directive"}
    with pytest.raises(ClientError):
        env["s3"].head_object(Bucket=b, Key="hdr-dst")
    # signed x-amz-* headers are fine: boto3 signs the metadata it sends
    env["s3"].put_object(Bucket=b, Key="hdr-ok", Body=b"x", Metadata={"a": "b"},
                         Tagging="k=v")
    assert env["s3"].head_object(Bucket=b, Key="hdr-ok")["Metadata"] == {"a": "b"}


def test_other_services_refuse_unsigned_amz_headers_too(server):
    iam = server.boto3_client("iam")
    iam.meta.events.register("before-send.iam.ListUsers",
                             lambda request, **_: request.headers.__setitem__("x-amz-foo", "1"))
    with pytest.raises(ClientError) as ei:
        iam.list_users()
    assert client_error(ei.value)[:3] == ("AccessDenied", 403, NOT_SIGNED)


def test_anonymous_requests_are_not_concerned(env):
    # no signature at all: the header check does not apply (the request is
    # judged as anonymous: here the bucket does not exist)
    r = requests.put(f"{env['endpoint']}/{uniq('nobucket')}/k", data=b"",
                     headers={"x-amz-copy-source": f"/{env['bucket']}/secret"}, timeout=10)
    assert r.status_code == 404 and error_of(r)["Code"] == "NoSuchBucket", r.text


def test_streamed_upload_checked_at_headers(env):
    """A large presigned PUT is authenticated when its headers arrive (the
    streaming path): it gets the same refusal."""
    s3, b = env["s3"], env["bucket"]
    url = s3.generate_presigned_url("put_object", Params={"Bucket": b, "Key": "big"},
                                    ExpiresIn=300)
    r = requests.put(url, data=b"z" * (1 << 20), headers={"x-amz-meta-owner": "mallory"},
                     timeout=20)
    assert_refused(r, "x-amz-meta-owner")
    with pytest.raises(ClientError):
        s3.head_object(Bucket=b, Key="big")


# ---------------------------------------------------------------- the sweep
# Every x-amz-* request header the server reads (grep -o '"x-amz-' src), plus
# the ones AWS defines for the implemented operations that policies may test.
SWEEP = [
    ("x-amz-copy-source", "/{bucket}/secret"),
    ("x-amz-copy-source-if-match", '"abc"'),
    ("x-amz-copy-source-if-none-match", '"abc"'),
    ("x-amz-copy-source-if-modified-since", "Wed, 21 Oct 2015 07:28:00 GMT"),
    ("x-amz-copy-source-if-unmodified-since", "Wed, 21 Oct 2015 07:28:00 GMT"),
    ("x-amz-copy-source-range", "bytes=0-1"),
    ("x-amz-copy-source-server-side-encryption-customer-algorithm", "AES256"),
    ("x-amz-copy-source-server-side-encryption-customer-key", "a2V5"),
    ("x-amz-copy-source-server-side-encryption-customer-key-MD5", "bWQ1"),
    ("x-amz-metadata-directive", "REPLACE"),
    ("x-amz-tagging", "k=v"),
    ("x-amz-tagging-directive", "REPLACE"),
    ("x-amz-server-side-encryption", "aws:kms"),
    ("x-amz-server-side-encryption-aws-kms-key-id", "alias/x"),
    ("x-amz-server-side-encryption-context", "e30="),
    ("x-amz-server-side-encryption-bucket-key-enabled", "true"),
    ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
    ("x-amz-server-side-encryption-customer-key", "a2V5"),
    ("x-amz-server-side-encryption-customer-key-MD5", "bWQ1"),
    ("x-amz-acl", "public-read"),
    ("x-amz-grant-read", "uri=http://acs.amazonaws.com/groups/global/AllUsers"),
    ("x-amz-grant-full-control", "id=abc"),
    ("x-amz-storage-class", "STANDARD"),
    ("x-amz-website-redirect-location", "/elsewhere"),
    ("x-amz-meta-owner", "mallory"),
    ("x-amz-checksum-crc32", "AAAAAA=="),
    ("x-amz-checksum-crc32c", "AAAAAA=="),
    ("x-amz-checksum-sha256", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
    ("x-amz-checksum-algorithm", "CRC32"),
    ("x-amz-checksum-mode", "ENABLED"),
    ("x-amz-sdk-checksum-algorithm", "CRC32"),
    ("x-amz-decoded-content-length", "0"),
    ("x-amz-trailer", "x-amz-checksum-crc32"),
    ("x-amz-if-match-size", "1"),  # conditional deletes (s3_delcond.c)
    ("x-amz-if-match-last-modified-time", "Wed, 01 Jan 2020 00:00:00 GMT"),
    ("x-amz-object-lock-mode", "GOVERNANCE"),
    ("x-amz-object-lock-retain-until-date", "2030-01-01T00:00:00Z"),
    ("x-amz-object-lock-legal-hold", "ON"),
    ("x-amz-expected-bucket-owner", "000000000000"),
    ("x-amz-request-payer", "requester"),
    ("x-amz-bucket-region", "us-east-1"),
    ("x-amz-account-id", "000000000000"),
    # (x-amz-security-token is not in the list: with long-term keys any token is
    # refused before this check, InvalidToken, as AWS does)
    ("x-amz-date", "20200101T000000Z"),
]


@pytest.mark.parametrize("how", ["header", "presigned"])
@pytest.mark.parametrize("name,value", SWEEP, ids=[n for n, _ in SWEEP])
def test_sweep_unsigned_header_is_refused(env, how, name, value):
    b = env["bucket"]
    key = f"sweep-{how}-{name}"
    url = f"{env['endpoint']}/{b}/{key}"
    value = value.format(bucket=b)
    if how == "header":
        if name == "x-amz-date":
            pytest.skip("x-amz-date carries the signed request time: always signed with header auth")
        headers = signed_request(env, "PUT", url)
    else:
        url = env["s3"].generate_presigned_url("put_object", Params={"Bucket": b, "Key": key},
                                               ExpiresIn=300)
        headers = {}
    headers[name] = value
    r = requests.put(url, data=b"", headers=headers, timeout=10)
    assert_refused(r, name)


def test_sweep_control_signed_headers_pass(env):
    """The sweep's signing is sound: the same request with nothing added succeeds."""
    url = f"{env['endpoint']}/{env['bucket']}/sweep-control"
    r = requests.put(url, data=b"", headers=signed_request(env, "PUT", url), timeout=10)
    assert r.status_code == 200, r.text
    signed = signed_request(env, "PUT", url, headers={"x-amz-meta-owner": "alice"})
    assert requests.put(url, data=b"", headers=signed, timeout=10).status_code == 200
    assert env["s3"].head_object(Bucket=env["bucket"], Key="sweep-control")["Metadata"] == {
        "owner": "alice"}


def test_content_sha256_is_exempt(env):
    """x-amz-content-sha256 need not be listed: its value is the payload-hash line
    of the canonical request, so the signature covers it anyway (a wrong value
    fails the signature)."""
    s3, b = env["s3"], env["bucket"]
    url = s3.generate_presigned_url("put_object", Params={"Bucket": b, "Key": "sha-exempt"},
                                    ExpiresIn=300)
    r = requests.put(url, data=b"abc", headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"},
                     timeout=10)
    assert r.status_code == 200, r.text
    digest = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # sha256("abc")
    r = requests.put(url, data=b"abc", headers={"x-amz-content-sha256": digest}, timeout=10)
    assert r.status_code == 403 and error_of(r)["Code"] == "SignatureDoesNotMatch", r.text


# ---------------------------------------------------------------- item 6: s3:authType
def put_policy(env, statement):
    env["s3"].put_bucket_policy(Bucket=env["bucket"], Policy=json.dumps(
        {"Version": "2012-10-17", "Statement": [statement]}))


def deny(condition, action="s3:GetObject"):
    return {"Effect": "Deny", "Principal": "*", "Action": action,
            "Resource": "arn:aws:s3:::*", "Condition": condition}


def encoded_signature_name(url):
    assert "&X-Amz-Signature=" in url
    return url.replace("&X-Amz-Signature=", "&X-Amz-%53ignature=")


def presigned_get(env, key="secret"):
    return env["s3"].generate_presigned_url("get_object",
                                            Params={"Bucket": env["bucket"], "Key": key},
                                            ExpiresIn=300)


def raw_get(url):
    """GET with the URL's bytes as they are (requests would re-quote %53 to S)."""
    s = requests.Session()
    prepared = s.prepare_request(requests.Request("GET", url))
    prepared.url = url
    return s.send(prepared, timeout=10)


def test_auth_type_from_verified_signature(env):
    url = encoded_signature_name(presigned_get(env))
    assert raw_get(url).status_code == 200  # it verifies; allowed by default
    put_policy(env, deny({"StringEquals": {"s3:authType": "REST-QUERY-STRING"}}))
    try:
        for u in (url, presigned_get(env)):
            r = raw_get(u)
            assert r.status_code == 403 and error_of(r)["Code"] == "AccessDenied", (u, r.text)
        assert body_of(env, "secret") == b"the signer may read this"  # REST-HEADER is allowed
    finally:
        env["s3"].delete_bucket_policy(Bucket=env["bucket"])


def test_auth_type_header_requests(env):
    put_policy(env, deny({"StringEquals": {"s3:authType": "REST-HEADER"}}))
    try:
        with pytest.raises(ClientError) as ei:
            body_of(env, "secret")
        assert client_error(ei.value)[0] == "AccessDenied"
        assert requests.get(presigned_get(env), timeout=10).status_code == 200
    finally:
        env["s3"].delete_bucket_policy(Bucket=env["bucket"])


# ---------------------------------------------------------------- s3:signatureAge
def signing_clock(when):
    """botocore's signing time set to `when` (naive UTC), whichever way this
    botocore reads the clock."""
    if hasattr(botocore.auth, "get_current_datetime"):
        return mock.patch.object(botocore.auth, "get_current_datetime", return_value=when)

    class Clock(dt.datetime):
        @classmethod
        def utcnow(cls):
            return when

    # botocore.auth and botocore.crt.auth both read datetime.datetime.utcnow()
    return mock.patch.object(dt, "datetime", Clock)


def test_signature_age(env):
    put_policy(env, deny({"NumericGreaterThan": {"s3:signatureAge": "60000"}}))
    try:
        old = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(minutes=5)
        with signing_clock(old):
            stale = presigned_get(env)
        r = requests.get(stale, timeout=10)
        assert r.status_code == 403 and error_of(r)["Code"] == "AccessDenied", r.text
        assert requests.get(presigned_get(env), timeout=10).status_code == 200
    finally:
        env["s3"].delete_bucket_policy(Bucket=env["bucket"])


# ---------------------------------------------------------------- session keys
def make_role(server, name, policy):
    iam = server.boto3_client("iam")
    acct = server.boto3_client("sts").get_caller_identity()["Account"]
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{acct}:root"},
        "Action": "sts:AssumeRole"}]}
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    return arn


def session_s3(server, role_arn):
    c = server.boto3_client("sts").assume_role(RoleArn=role_arn,
                                               RoleSessionName="sess")["Credentials"]
    return server.boto3_client("s3", creds=c)


ALLOW_S3 = {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}


def test_token_issue_time_revokes_older_sessions(env, server):
    """AWS's recipe ("Revoking IAM role temporary security credentials"): a role
    policy denying everything to sessions issued before a time."""
    name = uniq("revoke")
    arn = make_role(server, name, {"Version": "2012-10-17", "Statement": [ALLOW_S3]})
    leaked = session_s3(server, arn)
    leaked.head_bucket(Bucket=env["bucket"])
    time.sleep(1.2)
    cutoff = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    server.boto3_client("iam").put_role_policy(
        RoleName=name, PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [ALLOW_S3, {
                "Effect": "Deny", "Action": "*", "Resource": "*",
                "Condition": {"DateLessThan": {"aws:TokenIssueTime": cutoff}}}]}))
    with pytest.raises(ClientError) as ei:
        leaked.get_object(Bucket=env["bucket"], Key="secret")
    assert client_error(ei.value)[0] == "AccessDenied"
    fresh = session_s3(server, arn)
    assert fresh.get_object(Bucket=env["bucket"], Key="secret")["Body"].read()


def test_mfa_present_false_for_sessions_absent_for_keys(env, server):
    arn = make_role(server, uniq("mfa"), {"Version": "2012-10-17", "Statement": [ALLOW_S3]})
    sess = session_s3(server, arn)
    put_policy(env, deny({"Bool": {"aws:MultiFactorAuthPresent": "false"}}))
    try:
        with pytest.raises(ClientError) as ei:
            sess.get_object(Bucket=env["bucket"], Key="secret")
        assert client_error(ei.value)[0] == "AccessDenied"
        assert body_of(env, "secret")  # long-term keys: the key is absent, Bool does not match
    finally:
        env["s3"].delete_bucket_policy(Bucket=env["bucket"])
    put_policy(env, deny({"Null": {"aws:MultiFactorAuthPresent": "true"}}))
    try:  # absent for long-term keys, present for sessions
        with pytest.raises(ClientError):
            body_of(env, "secret")
        assert sess.get_object(Bucket=env["bucket"], Key="secret")["Body"].read()
    finally:
        env["s3"].delete_bucket_policy(Bucket=env["bucket"])
