"""S3 Signature Version 2 (issue 16, "SigV2 for old clients"): the aws CLI v1's
`aws s3 presign` and boto3's generate_presigned_url with default settings
download the object and stop working after expiry; boto3 with
signature_version 's3' (the Authorization: AWS header) does PUT/GET/LIST/DELETE;
a bucket policy on s3:signatureversion refuses SigV2 and keeps SigV4;
`serve --sigv2 off`; and every rule that protects SigV4 holds: a tampered
signature, an added sub-resource, an added x-amz-* header, an unknown key, a
skewed clock, an expired URL, each refused with S3's code."""
import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from email.utils import formatdate

import pytest
from botocore.exceptions import ClientError

from conftest import AWS_CLIS, boto3_client, client_error, run_aws, uniq


def call(url, method="GET", data=None, headers=None):
    """(status, body) of a plain HTTP request (no signing of our own)."""
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def code_of(body):
    import re
    m = re.search(rb"<Code>([^<]+)</Code>", body)
    return m.group(1).decode() if m else None


def v2_client(server, creds=None):
    return server.boto3_client("s3", creds, signature_version="s3")


def v4_client(server, creds=None):
    return server.boto3_client("s3", creds, signature_version="s3v4")


def sign_v2(secret, string_to_sign):
    return base64.b64encode(hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha1).digest()).decode()


@pytest.fixture(scope="module")
def setup(server):
    creds = server.admin_creds()
    bucket = uniq("sigv2")
    v4_client(server).create_bucket(Bucket=bucket)
    v4_client(server).put_object(Bucket=bucket, Key="doc.txt", Body=b"hello sigv2")
    return creds, bucket


def v1_cli():
    for cid, path in AWS_CLIS:
        if cid == "awscli-v1":
            return path
    pytest.skip("aws CLI v1 not installed")


def test_cli_v1_presign_downloads_and_expires(server, setup):
    creds, bucket = setup
    cli = v1_cli()
    rc, url, err = run_aws(cli, server.endpoint, ["s3", "presign", f"s3://{bucket}/doc.txt",
                                                  "--expires-in", "300"], creds=creds)
    assert rc == 0, err
    url = url.strip()
    assert "AWSAccessKeyId=" in url and "Signature=" in url, url  # SigV2 by default
    assert call(url) == (200, b"hello sigv2")
    rc, short, err = run_aws(cli, server.endpoint, ["s3", "presign", f"s3://{bucket}/doc.txt",
                                                    "--expires-in", "1"], creds=creds)
    assert rc == 0, err
    time.sleep(2.2)
    status, body = call(short.strip())
    assert status == 403 and code_of(body) == "AccessDenied" and b"Request has expired" in body


def test_boto3_default_presign_downloads_and_expires(server, setup):
    creds, bucket = setup
    s3 = server.boto3_client("s3", creds)  # default config: SigV2 presigning in us-east-1
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "doc.txt"},
                                    ExpiresIn=300)
    assert call(url) == (200, b"hello sigv2")
    v2 = v2_client(server, creds)
    url2 = v2.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "doc.txt"},
                                     ExpiresIn=300)
    assert "AWSAccessKeyId=" in url2
    assert call(url2) == (200, b"hello sigv2")
    # a crafted Expires in the past: signed correctly, but expired
    past = int(time.time()) - 10
    sts = f"GET\n\n\n{past}\n/{bucket}/doc.txt"
    sig = urllib.parse.quote(sign_v2(creds["SecretAccessKey"], sts), safe="")
    status, body = call(f"{server.endpoint}/{bucket}/doc.txt?AWSAccessKeyId={creds['AccessKeyId']}"
                        f"&Expires={past}&Signature={sig}")
    assert status == 403 and code_of(body) == "AccessDenied" and b"Request has expired" in body


def test_boto3_sigv2_header_crud(server, setup):
    creds, _ = setup
    s3 = v2_client(server, creds)
    bucket = uniq("sigv2crud")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a/b c.txt", Body=b"x" * 1000, ContentType="text/plain",
                  Metadata={"reviewed-by": "joe"})
    s3.put_object(Bucket=bucket, Key="a/second", Body=b"2")
    got = s3.get_object(Bucket=bucket, Key="a/b c.txt")
    assert got["Body"].read() == b"x" * 1000 and got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"reviewed-by": "joe"}
    assert s3.get_object(Bucket=bucket, Key="a/b c.txt", Range="bytes=0-1")["Body"].read() == b"xx"
    # ListObjects (v1): botocore's SigV2 signer signs the URI template's query
    # of ListObjectsV2, ?tagging and ?delete operations twice, which S3 cannot match
    keys = [o["Key"] for o in s3.list_objects(Bucket=bucket, Prefix="a/")["Contents"]]
    assert keys == ["a/b c.txt", "a/second"]
    assert len(s3.list_objects(Bucket=bucket, MaxKeys=1)["Contents"]) == 1
    assert s3.head_object(Bucket=bucket, Key="a/second")["ContentLength"] == 1
    s3.delete_object(Bucket=bucket, Key="a/second")
    s3.delete_object(Bucket=bucket, Key="a/b c.txt")
    assert "Contents" not in s3.list_objects(Bucket=bucket)
    s3.delete_bucket(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        s3.head_bucket(Bucket=bucket)
    assert client_error(e.value)[1] == 404


def test_sigv2_virtual_host(server, setup):
    """BUCKET.localhost: the StringToSign's resource names the bucket."""
    creds, bucket = setup
    date = formatdate(usegmt=True)
    sts = f"GET\n\n\n{date}\n/{bucket}/doc.txt"
    auth = f"AWS {creds['AccessKeyId']}:{sign_v2(creds['SecretAccessKey'], sts)}"
    host = f"{bucket}.localhost:{server.port}"
    assert call(f"{server.endpoint}/doc.txt", headers={"Host": host, "Date": date,
                                                       "Authorization": auth}) == (200, b"hello sigv2")
    # the same signature does not hold for path style (resource /doc.txt)
    status, body = call(f"{server.endpoint}/doc.txt", headers={"Date": date, "Authorization": auth})
    assert status == 403 and code_of(body) == "SignatureDoesNotMatch"


def test_temporary_credentials(server, setup):
    creds, bucket = setup
    sts = server.boto3_client("sts", creds)
    t = sts.get_session_token(DurationSeconds=900)["Credentials"]
    tmp = {"AccessKeyId": t["AccessKeyId"], "SecretAccessKey": t["SecretAccessKey"],
           "SessionToken": t["SessionToken"]}
    s3 = v2_client(server, tmp)
    assert s3.get_object(Bucket=bucket, Key="doc.txt")["Body"].read() == b"hello sigv2"
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "doc.txt"})
    assert "x-amz-security-token=" in url
    assert call(url) == (200, b"hello sigv2")
    # without the token the key alone is not enough
    bare = "&".join(p for p in url.split("&") if not p.startswith("x-amz-security-token="))
    status, body = call(bare)
    assert status in (400, 403) and code_of(body) in ("InvalidToken", "SignatureDoesNotMatch")


def test_tampering_refused(server, setup):
    creds, bucket = setup
    s3 = v2_client(server, creds)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "doc.txt"},
                                    ExpiresIn=300)
    # a flipped signature: SignatureDoesNotMatch with the StringToSign shown
    i = url.index("Signature=") + len("Signature=")
    bad = url[:i] + ("A" if url[i] != "A" else "B") + url[i + 1:]
    status, body = call(bad)
    assert status == 403 and code_of(body) == "SignatureDoesNotMatch"
    assert b"<StringToSign>GET\n\n\n" in body and b"<StringToSignBytes>47 45 54 0a" in body
    # a sub-resource added to a signed URL: it is part of the signature
    for sub in ("acl", "tagging", "versionId=null"):
        status, body = call(url + "&" + sub)
        assert status == 403 and code_of(body) == "SignatureDoesNotMatch", (sub, body)
    # a parameter SigV2 cannot sign, that would select another operation
    burl = s3.generate_presigned_url("list_objects", Params={"Bucket": bucket}, ExpiresIn=300)
    status, body = call(burl + "&publicAccessBlock")
    assert status == 400 and code_of(body) == "InvalidRequest" and b"AWS4-HMAC-SHA256" in body
    # an x-amz-* header added to a presigned PUT (would make it a CopyObject)
    put = s3.generate_presigned_url("put_object", ExpiresIn=300, Params={
        "Bucket": bucket, "Key": "copy.txt", "ContentType": "text/plain"})
    ct = {"Content-Type": "text/plain"}
    status, body = call(put, "PUT", b"", {**ct, "x-amz-copy-source": f"/{bucket}/doc.txt"})
    assert status == 403 and code_of(body) == "SignatureDoesNotMatch"
    status, body = call(put, "PUT", b"presigned body", ct)
    assert status == 200, body
    assert v4_client(server).get_object(Bucket=bucket, Key="copy.txt")["Body"].read() == b"presigned body"


def test_header_form_rules(server, setup):
    creds, bucket = setup
    date = formatdate(usegmt=True)
    key, secret = creds["AccessKeyId"], creds["SecretAccessKey"]

    def req(sts_date, extra=None, akid=key, signed_meta=False):
        meta = "x-amz-meta-a:1\n" if signed_meta else ""
        sts = f"PUT\n\ntext/plain\n{sts_date}\n{meta}/{bucket}/hdr.txt"
        h = {"Date": sts_date, "Content-Type": "text/plain",
             "Authorization": f"AWS {akid}:{sign_v2(secret, sts)}"}
        if signed_meta:
            h["x-amz-meta-a"] = "1"
        h.update(extra or {})
        return call(f"{server.endpoint}/{bucket}/hdr.txt", "PUT", b"body", h)

    status, body = req(date, signed_meta=True)
    assert status == 200, body
    assert v4_client(server).head_object(Bucket=bucket, Key="hdr.txt")["Metadata"] == {"a": "1"}
    # an x-amz-meta header that is not in the StringToSign
    status, body = req(date, {"x-amz-meta-evil": "1"})
    assert status == 403 and code_of(body) == "SignatureDoesNotMatch"
    # a clock 20 minutes off
    old = formatdate(time.time() - 1200, usegmt=True)
    status, body = req(old)
    assert status == 403 and code_of(body) == "RequestTimeTooSkewed"
    # an unknown key
    status, body = req(date, akid="AKIAIOSFODNN7EXAMPLE")
    assert status == 403 and code_of(body) == "InvalidAccessKeyId"
    # no date at all
    status, body = call(f"{server.endpoint}/{bucket}/hdr.txt",
                        headers={"Authorization": f"AWS {key}:AAAA"})
    assert status == 403 and code_of(body) == "AccessDenied"


def test_policy_refuses_sigv2(server, setup):
    creds, _ = setup
    bucket = uniq("sigv2pol")
    v4 = v4_client(server, creds)
    v4.create_bucket(Bucket=bucket)
    v4.put_object(Bucket=bucket, Key="k", Body=b"v")
    policy = {"Version": "2012-10-17", "Statement": [{
        "Sid": "NoSigV2", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"StringEquals": {"s3:signatureversion": "AWS"}}}]}
    v4.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    v2 = v2_client(server, creds)
    with pytest.raises(ClientError) as e:
        v2.get_object(Bucket=bucket, Key="k")
    assert client_error(e.value)[:2] == ("AccessDenied", 403)
    url = v2.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    status, body = call(url)
    assert status == 403 and code_of(body) == "AccessDenied"
    assert v4.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"  # SigV4 still allowed
    url4 = v4.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    assert call(url4) == (200, b"v")
    v4.delete_bucket_policy(Bucket=bucket)
    assert v2.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"


def test_sigv2_off(make_server):
    srv = make_server("sigv2off", extra_args=["--sigv2", "off"])
    creds = srv.admin_creds()
    bucket = uniq("off")
    v4 = boto3_client(srv.endpoint, "s3", creds, signature_version="s3v4")
    v4.create_bucket(Bucket=bucket)
    v4.put_object(Bucket=bucket, Key="k", Body=b"v")
    v2 = boto3_client(srv.endpoint, "s3", creds, signature_version="s3")
    with pytest.raises(ClientError) as e:
        v2.get_object(Bucket=bucket, Key="k")
    code, status, msg = client_error(e.value)
    assert (code, status) == ("InvalidRequest", 400) and "AWS4-HMAC-SHA256" in msg
    url = v2.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    status, body = call(url)
    assert status == 400 and code_of(body) == "InvalidRequest"
    assert v4.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"


def test_sigv2_authorized_like_sigv4(server, setup):
    """Same identity, same policies, same answers whatever the signature version."""
    from conftest import new_user
    _, bucket = setup
    reader, _ = new_user(server, uniq("v2reader"), {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]})
    nobody, _ = new_user(server, uniq("v2nobody"))
    time.sleep(0.5)  # a fresh key: let the server see it
    for make in (v2_client, v4_client):
        r, n = make(server, reader), make(server, nobody)
        assert r.get_object(Bucket=bucket, Key="doc.txt")["Body"].read() == b"hello sigv2"
        with pytest.raises(ClientError) as e:
            r.put_object(Bucket=bucket, Key="nope", Body=b"x")
        assert client_error(e.value)[:2] == ("AccessDenied", 403), make
        with pytest.raises(ClientError) as e:
            n.get_object(Bucket=bucket, Key="doc.txt")
        assert client_error(e.value)[:2] == ("AccessDenied", 403), make


def test_query_form_malformed(server, setup):
    creds, bucket = setup
    base = f"{server.endpoint}/{bucket}/doc.txt?AWSAccessKeyId={creds['AccessKeyId']}"
    status, body = call(base + "&Signature=abc%3D")  # no Expires
    assert status == 403 and code_of(body) == "AccessDenied" and b"Query-string authentication" in body
    status, body = call(base + "&Signature=abc%3D&Expires=soon")
    assert status == 403 and code_of(body) == "AccessDenied" and b"seconds since epoch" in body
    far = int(time.time()) + 8 * 86400
    status, body = call(base + f"&Signature=abc%3D&Expires={far}")
    assert status == 400 and code_of(body) == "AuthorizationQueryParametersError"
