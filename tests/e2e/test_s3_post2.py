"""POST Object (browser-form uploads) as AWS answers them (issue 16): Signature
Version 2 forms (AWSAccessKeyId, policy, signature = base64(HMAC-SHA1(secret,
base64 policy))) as boto3's default generate_presigned_post and ceph/s3-tests
send them, refused with `serve --sigv2 off` and by an s3:signatureversion
condition; the policy's 403 answers (SignatureDoesNotMatch, InvalidAccessKeyId,
AccessDenied); ${filename}, case-insensitive field names, x-ignore-*,
x-amz-meta-*, tagging and x-amz-checksum-* fields; bodies over 1 MiB (within
serve --post-body-limit); x-amz-version-id only on a versioning-Enabled bucket.
Forms are sent with `requests` (what a browser sends)."""
import base64
import datetime
import hashlib
import hmac
import json
import re

import pytest
import requests

from conftest import uniq

TEXT = "text/plain"


def code_of(r):
    m = re.search(rb"<Code>([^<]+)</Code>", r.content)
    return m.group(1).decode() if m else None


def v2_form(creds, bucket, key="foo.txt", conditions=None, extra=(), expires_in=600,
            secret=None, akid=None):
    """A ceph/s3-tests style SigV2 form: [(name, value)] in order, before the file."""
    exp = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=expires_in)
    conds = conditions if conditions is not None else [
        {"bucket": bucket}, ["starts-with", "$key", "foo"], {"acl": "private"},
        ["starts-with", "$Content-Type", TEXT], ["content-length-range", 0, 1024]]
    policy = base64.b64encode(json.dumps({"expiration": exp.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                          "conditions": conds}).encode())
    sk = (secret or creds["SecretAccessKey"]).encode()
    sig = base64.b64encode(hmac.new(sk, policy, hashlib.sha1).digest())
    return [("key", key), ("AWSAccessKeyId", akid or creds["AccessKeyId"]), ("acl", "private"),
            ("signature", sig), ("policy", policy), ("Content-Type", TEXT)] + list(extra)


def post(srv, bucket, fields, body=b"bar", filename=None):
    file = (filename, body) if filename else body
    return requests.post(f"{srv.endpoint}/{bucket}", files=fields + [("file", file)], timeout=30)


@pytest.fixture(scope="module")
def creds(server):
    return server.admin_creds()


@pytest.fixture(scope="module")
def s3(server):
    return server.boto3_client("s3")


@pytest.fixture
def bucket(s3):
    b = uniq("post2")
    s3.create_bucket(Bucket=b)
    return b


# --------------------------------------------------------------------------- SigV2 forms
def test_boto3_default_presigned_post_is_sigv2_and_accepted(server, s3, bucket):
    p = s3.generate_presigned_post(bucket, "boto/${filename}",
                                   Conditions=[["starts-with", "$key", "boto/"]])
    assert "AWSAccessKeyId" in p["fields"] and "signature" in p["fields"]
    r = requests.post(p["url"], data=p["fields"], files={"file": ("a.bin", b"v2 body")},
                      timeout=10)
    assert r.status_code == 204, r.content
    assert s3.get_object(Bucket=bucket, Key="boto/a.bin")["Body"].read() == b"v2 body"


def test_sigv2_form_fields_as_ceph_sends_them(server, s3, creds, bucket):
    """${filename} (the policy sees the key with it replaced), mixed-case names and
    condition operators, x-ignore-*, x-amz-meta-*, escaped values."""
    r = post(server, bucket, v2_form(creds, bucket, key="${filename}"), filename="foo1.txt")
    assert r.status_code == 204, r.content
    assert s3.get_object(Bucket=bucket, Key="foo1.txt")["Body"].read() == b"bar"
    conds = [{"bUcKeT": bucket}, ["StArTs-WiTh", "$KeY", "foo"], {"AcL": "private"},
             ["StArTs-WiTh", "$CoNtEnT-TyPe", TEXT], ["content-length-range", 0, 1024],
             ["starts-with", "$x-amz-meta-foo", "bar"]]
    f = [(k if k != "key" else "kEy", v) for k, v in v2_form(creds, bucket, conditions=conds)]
    f = [(k if k != "policy" else "pOLICy", v) for k, v in f]
    r = post(server, bucket, f + [("x-ignore-foo", "x"), ("x-amz-meta-foo", "barclamp")])
    assert r.status_code == 204, r.content
    assert s3.head_object(Bucket=bucket, Key="foo.txt")["Metadata"] == {"foo": "barclamp"}
    conds = [{"bucket": bucket}, ["starts-with", "$key", r"\$foo"], {"acl": "private"},
             ["starts-with", "$Content-Type", TEXT]]
    r = post(server, bucket, v2_form(creds, bucket, key=r"\$foo.txt", conditions=conds))
    assert r.status_code == 204, r.content
    assert s3.get_object(Bucket=bucket, Key=r"\$foo.txt")["Body"].read() == b"bar"


@pytest.mark.parametrize("case,status,code", [
    ("bad_signature", 403, "SignatureDoesNotMatch"),
    ("bad_access_key", 403, "InvalidAccessKeyId"),
    ("expired", 403, "AccessDenied"),
    ("condition_fails", 403, "AccessDenied"),
    ("field_not_in_policy", 403, "AccessDenied"),
    ("policy_field_missing", 403, "AccessDenied"),
    ("wrong_bucket", 403, "AccessDenied"),
])
def test_sigv2_form_refusals(server, s3, creds, bucket, case, status, code):
    form = v2_form(creds, bucket)
    target = bucket
    if case == "bad_signature":
        form = v2_form(creds, bucket, secret="not-the-secret")
    elif case == "bad_access_key":
        form = v2_form(creds, bucket, akid="AKIAIOSFODNN7EXAMPLE")
    elif case == "expired":
        form = v2_form(creds, bucket, expires_in=-60)
    elif case == "condition_fails":  # ["eq", "$x-amz-meta-foo", ""] against "barclamp"
        conds = [{"bucket": bucket}, ["starts-with", "$key", "foo"], {"acl": "private"},
                 ["starts-with", "$Content-Type", TEXT], ["eq", "$x-amz-meta-foo", ""]]
        form = v2_form(creds, bucket, conditions=conds, extra=[("x-amz-meta-foo", "barclamp")])
    elif case == "field_not_in_policy":
        form = v2_form(creds, bucket, extra=[("x-amz-meta-foo", "bar")])
    elif case == "policy_field_missing":  # the policy names x-amz-meta-foo, the form lacks it
        conds = [{"bucket": bucket}, ["starts-with", "$key", "foo"], {"acl": "private"},
                 ["starts-with", "$Content-Type", TEXT], ["eq", "$x-amz-meta-foo", "bar"]]
        form = v2_form(creds, bucket, conditions=conds)
    elif case == "wrong_bucket":
        target = uniq("post2-other")
        s3.create_bucket(Bucket=target)
    r = post(server, target, form)
    assert (r.status_code, code_of(r)) == (status, code), r.content
    assert s3.list_objects_v2(Bucket=target).get("KeyCount") == 0


def _base(bucket):
    return [{"bucket": bucket}, ["starts-with", "$key", "foo"], {"acl": "private"},
            ["starts-with", "$Content-Type", TEXT]]


@pytest.mark.parametrize("case,doc,status,code", [
    ("date_format", lambda b, e: {"expiration": "2030-01-01 00:00:00+00:00",
                                  "conditions": _base(b)}, 400, "InvalidPolicyDocument"),
    ("CONDITIONS", lambda b, e: {"expiration": e, "CONDITIONS": _base(b)},
     400, "InvalidPolicyDocument"),
    ("EXPIRATION", lambda b, e: {"EXPIRATION": e, "conditions": _base(b)},
     400, "InvalidPolicyDocument"),
    ("no_expiration", lambda b, e: {"conditions": _base(b)}, 400, "InvalidPolicyDocument"),
    ("no_conditions", lambda b, e: {"expiration": e}, 400, "InvalidPolicyDocument"),
    ("empty_condition", lambda b, e: {"expiration": e, "conditions": [{}]},
     400, "InvalidPolicyDocument"),
    ("range_one_arg", lambda b, e: {"expiration": e, "conditions": _base(b) + [
        ["content-length-range", 0]]}, 400, "InvalidPolicyDocument"),
    ("range_negative", lambda b, e: {"expiration": e, "conditions": _base(b) + [
        ["content-length-range", -1, 0]]}, 400, "InvalidPolicyDocument"),
    ("too_large", lambda b, e: {"expiration": e, "conditions": _base(b) + [
        ["content-length-range", 0, 0]]}, 400, "EntityTooLarge"),
    ("too_small", lambda b, e: {"expiration": e, "conditions": _base(b) + [
        ["content-length-range", 512, 1000]]}, 400, "EntityTooSmall"),
])
def test_policy_document_errors(server, s3, creds, bucket, case, doc, status, code):
    """A malformed policy is 400 InvalidPolicyDocument; content-length-range is 400
    EntityTooLarge / EntityTooSmall (AWS; ceph/s3-tests test_post_object_*)."""
    exp = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=10))
    policy = base64.b64encode(json.dumps(doc(bucket, exp.strftime("%Y-%m-%dT%H:%M:%SZ")))
                              .encode())
    sig = base64.b64encode(hmac.new(creds["SecretAccessKey"].encode(), policy,
                                    hashlib.sha1).digest())
    form = [("key", "foo.txt"), ("AWSAccessKeyId", creds["AccessKeyId"]), ("acl", "private"),
            ("signature", sig), ("policy", policy), ("Content-Type", TEXT)]
    r = post(server, bucket, form)
    assert (r.status_code, code_of(r)) == (status, code), r.content


def test_sigv2_form_refused_when_sigv2_off(make_server):
    srv = make_server("post2-nov2", extra_args=["--sigv2", "off"])
    s3 = srv.boto3_client("s3")
    b = uniq("post2")
    s3.create_bucket(Bucket=b)
    r = post(srv, b, v2_form(srv.admin_creds(), b))
    assert (r.status_code, code_of(r)) == (400, "InvalidRequest"), r.content
    assert b"AWS4-HMAC-SHA256" in r.content


def test_signatureversion_condition_sees_aws_for_sigv2_forms(server, s3, creds, bucket):
    from conftest import presigner
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
            "Condition": {"StringEquals": {"s3:signatureversion": "AWS"}}}]}))
    r = post(server, bucket, v2_form(creds, bucket))
    assert (r.status_code, code_of(r)) == (403, "AccessDenied"), r.content
    p = presigner(s3).generate_presigned_post(bucket, "v4.txt")
    r = requests.post(p["url"], data=p["fields"], files={"file": b"v4"}, timeout=10)
    assert r.status_code == 204, r.content


# --------------------------------------------------------------------------- fields
def test_tagging_field_sets_tags(server, s3, creds, bucket):
    xml = ("<Tagging><TagSet><Tag><Key>0</Key><Value>0</Value></Tag>"
           "<Tag><Key>1</Key><Value>1</Value></Tag></TagSet></Tagging>")
    conds = [{"bucket": bucket}, ["starts-with", "$key", "foo"], {"acl": "private"},
             ["starts-with", "$Content-Type", TEXT], ["starts-with", "$tagging", ""]]
    r = post(server, bucket, v2_form(creds, bucket, conditions=conds, extra=[("tagging", xml)]))
    assert r.status_code == 204, r.content
    tags = s3.get_object_tagging(Bucket=bucket, Key="foo.txt")["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("0", "0"), ("1", "1")]
    r = post(server, bucket, v2_form(creds, bucket, conditions=conds,
                                     extra=[("tagging", "<Tagging><TagSet>")]))
    assert (r.status_code, code_of(r)) == (400, "MalformedXML"), r.content


def test_checksum_field_is_checked(server, s3, creds, bucket):
    body = b"x" * 2048
    good = base64.b64encode(hashlib.sha256(body).digest()).decode()
    conds = [{"bucket": bucket}, ["starts-with", "$key", "foo"], {"acl": "private"},
             ["starts-with", "$Content-Type", TEXT]]
    r = post(server, bucket, v2_form(creds, bucket, conditions=conds,
                                     extra=[("x-amz-checksum-sha256", good)]), body=body)
    assert r.status_code == 204, r.content
    got = s3.head_object(Bucket=bucket, Key="foo.txt", ChecksumMode="ENABLED")
    assert got.get("ChecksumSHA256") == good
    r = post(server, bucket, v2_form(creds, bucket, conditions=conds,
                                     extra=[("x-amz-checksum-sha256", "sailorjerry")]), body=body)
    assert (r.status_code, code_of(r)) == (400, "InvalidRequest"), r.content
    other = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    r = post(server, bucket, v2_form(creds, bucket, conditions=conds,
                                     extra=[("x-amz-checksum-sha256", other)]), body=body)
    assert (r.status_code, code_of(r)) == (400, "BadDigest"), r.content


def test_body_over_one_mib(server, s3, creds, bucket):
    body = b"foo" * (1 << 20)  # 3 MiB: over the 1 MiB pre-auth limit of other requests
    conds = [{"bucket": bucket}, ["starts-with", "$key", "foo"], {"acl": "private"},
             ["starts-with", "$Content-Type", TEXT], ["content-length-range", 0, 5 << 20]]
    r = post(server, bucket, v2_form(creds, bucket, conditions=conds), body=body)
    assert r.status_code == 204, r.content
    got = s3.get_object(Bucket=bucket, Key="foo.txt")["Body"].read()
    assert got == body


def test_body_over_post_body_limit_refused(make_server):
    srv = make_server("post2-limit", extra_args=["--post-body-limit", "64K"])
    s3 = srv.boto3_client("s3")
    b = uniq("post2")
    s3.create_bucket(Bucket=b)
    r = post(srv, b, v2_form(srv.admin_creds(), b), body=b"x" * (128 << 10))
    assert (r.status_code, code_of(r)) == (413, "EntityTooLarge"), r.content
    r = post(srv, b, v2_form(srv.admin_creds(), b), body=b"x" * 512)
    assert r.status_code == 204, r.content


# --------------------------------------------------------------------------- encryption
def test_encryption_fields(server, s3, creds, bucket):
    """x-amz-server-side-encryption* form fields choose the encryption as a PUT's headers do
    (ceph/s3-tests test_sse_kms_post_object_authenticated_request); the POST request's own
    such headers, which no policy signs, are ignored."""
    key_id = server.boto3_client("kms").create_key()["KeyMetadata"]["KeyId"]
    conds = _base(bucket) + [["starts-with", "$x-amz-server-side-encryption", ""],
                             ["starts-with", "$x-amz-server-side-encryption-aws-kms-key-id", ""]]
    r = post(server, bucket, v2_form(creds, bucket, conditions=conds, extra=[
        ("x-amz-server-side-encryption", "aws:kms"),
        ("x-amz-server-side-encryption-aws-kms-key-id", key_id)]))
    assert r.status_code == 204, r.content
    assert r.headers.get("x-amz-server-side-encryption") == "aws:kms"
    got = s3.get_object(Bucket=bucket, Key="foo.txt")
    assert got["ServerSideEncryption"] == "aws:kms" and key_id in got["SSEKMSKeyId"]
    assert got["Body"].read() == b"bar"
    r = requests.post(f"{server.endpoint}/{bucket}", timeout=10,
                      headers={"x-amz-server-side-encryption": "aws:kms",
                               "x-amz-server-side-encryption-aws-kms-key-id": key_id},
                      files=v2_form(creds, bucket) + [("file", b"plain")])
    assert r.status_code == 204, r.content
    assert s3.head_object(Bucket=bucket, Key="foo.txt").get("ServerSideEncryption") != "aws:kms"
    conds = _base(bucket) + [["starts-with", "$x-amz-server-side-encryption-customer-algorithm",
                              ""], ["starts-with", "$x-amz-server-side-encryption-customer-key",
                                    ""],
                             ["starts-with", "$x-amz-server-side-encryption-customer-key-md5", ""]]
    k = bytes(range(32))
    r = post(server, bucket, v2_form(creds, bucket, conditions=conds, extra=[
        ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
        ("x-amz-server-side-encryption-customer-key", base64.b64encode(k).decode()),
        ("x-amz-server-side-encryption-customer-key-md5",
         base64.b64encode(hashlib.md5(k).digest()).decode())]))
    # SSE-C only over HTTPS, as on AWS (ceph's test posts it over plain HTTP)
    assert (r.status_code, code_of(r)) == (400, "InvalidRequest"), r.content


# --------------------------------------------------------------------------- version id
@pytest.mark.parametrize("state", ["Enabled", "Suspended", None])
def test_version_id_only_when_enabled(server, s3, creds, bucket, state):
    if state:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": state})
    r = post(server, bucket, v2_form(creds, bucket))
    assert r.status_code == 204, r.content
    if state == "Enabled":
        vid = r.headers.get("x-amz-version-id")
        assert vid and vid != "null"
        assert s3.head_object(Bucket=bucket, Key="foo.txt")["VersionId"] == vid
    else:
        assert "x-amz-version-id" not in r.headers
