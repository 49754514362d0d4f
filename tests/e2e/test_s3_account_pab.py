"""Account-level Block Public Access (S3 Control's Get/Put/DeletePublicAccessBlock)
with the stock clients: the aws CLI (v2, and v1 when present) and boto3.

Every SDK puts the account id in front of the endpoint's host for S3 Control
(`--endpoint-url http://127.0.0.1:PORT` becomes `http://ACCOUNT.127.0.0.1:PORT`,
which does not resolve), and `inject_host_prefix=False` does not stop it: the
prefix comes from the endpoint rules. So these tests give S3 Control the endpoint
`http://s3control@127.0.0.1:PORT`: the prefix lands in the URL's user-info part,
which the clients drop, and the request reaches the server with Host
127.0.0.1:PORT (docs/s3.md). `http://localhost:PORT` works where ACCOUNT.localhost
resolves; that is simulated in-process for boto3.

Covered: put/get/delete of the setting, NoSuchPublicAccessBlockConfiguration,
another account (or an unauthorized user) cannot read or write it, and its
effect on buckets that have no bucket-level setting: BlockPublicPolicy refuses a
public bucket policy, RestrictPublicBuckets turns an anonymous GET allowed by a
`Principal: *` policy into 403, each seen at once and undone by the delete."""
import contextlib
import json
import socket
import urllib.error
import urllib.request

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import REGION, aws_error_code, run_aws
from test_iam_boto3 import _new_account, expect_error

ALL_ON = "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true"
PAB_PATH = "/v20180820/configuration/publicAccessBlock"


@pytest.fixture(scope="module")
def acct(server):
    return _new_account(server, "acctpab")


@pytest.fixture(scope="module")
def other(server):
    return _new_account(server, "acctpabother")


def control_endpoint(srv):
    """The S3 Control endpoint form every client can use (see the module doc)."""
    return srv.endpoint.replace("http://", "http://s3control@", 1)


def control(cli, a, args, creds=None):
    """`aws s3control ARGS` as account a (or creds) -> (rc, stdout, stderr)."""
    return run_aws(cli, control_endpoint(a.srv), ["s3control", *args], creds=creds or a.creds)


def get_pab(cli, a, account=None, creds=None):
    return control(cli, a, ["get-public-access-block", "--account-id", account or a.id], creds)


def put_pab(cli, a, config, account=None, creds=None):
    return control(cli, a, ["put-public-access-block", "--account-id", account or a.id,
                            "--public-access-block-configuration", config], creds)


def delete_pab(cli, a, account=None, creds=None):
    return control(cli, a, ["delete-public-access-block", "--account-id", account or a.id], creds)


def s3(a, creds=None):
    return a.client("s3", creds or a.creds)


def s3control(a, endpoint=None, creds=None):
    from conftest import boto3_client
    return boto3_client(endpoint or control_endpoint(a.srv), "s3control", creds or a.creds)


def http_get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def public_policy(bucket):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{bucket}/*"}]})


def owner_only_policy(bucket, account):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
         "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]})


@contextlib.contextmanager
def no_account_setting(cli, a):
    """Runs the body with no account-level setting, and leaves none behind."""
    rc, _, err = delete_pab(cli, a)
    assert rc == 0, err
    try:
        yield
    finally:
        delete_pab(cli, a)


def signed(srv, creds, method, path, headers=None, body=b""):
    """A SigV4 (service s3) request built by hand -> (status, body)."""
    url = srv.endpoint + path
    req = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    if creds:
        S3SigV4Auth(Credentials(creds["AccessKeyId"], creds["SecretAccessKey"]), "s3",
                    REGION).add_auth(req)
    r = urllib.request.Request(url, data=body or None, method=method, headers=dict(req.headers.items()))
    try:
        with urllib.request.urlopen(r, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


# --------------------------------------------------------------------------- the CLIs
def test_put_get_delete(acct, aws_cli):
    with no_account_setting(aws_cli, acct):
        rc, _, err = get_pab(aws_cli, acct)
        assert rc != 0 and aws_error_code(err) == "NoSuchPublicAccessBlockConfiguration", err
        rc, _, err = put_pab(aws_cli, acct, ALL_ON)
        assert rc == 0, err
        rc, out, err = get_pab(aws_cli, acct)
        assert rc == 0, err
        assert json.loads(out) == {"PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True}}
        # a put replaces the whole setting; flags left out are false
        rc, _, err = put_pab(aws_cli, acct, "BlockPublicPolicy=true")
        assert rc == 0, err
        rc, out, err = get_pab(aws_cli, acct)
        assert rc == 0, err
        assert json.loads(out)["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": False}
        rc, _, err = delete_pab(aws_cli, acct)
        assert rc == 0, err
        rc, _, err = get_pab(aws_cli, acct)
        assert rc != 0 and aws_error_code(err) == "NoSuchPublicAccessBlockConfiguration", err
        rc, _, err = delete_pab(aws_cli, acct)  # deleting nothing succeeds, as on AWS
        assert rc == 0, err


def test_block_public_policy_at_account_level(acct, aws_cli):
    o = s3(acct)
    bucket = "acctpab-bpp-" + aws_cli[0].replace("awscli-", "")
    o.create_bucket(Bucket=bucket)
    o.delete_public_access_block(Bucket=bucket)  # a new bucket blocks public access, as on AWS since 2023
    ep = acct.srv.endpoint
    with no_account_setting(aws_cli, acct):
        rc, _, err = put_pab(aws_cli, acct, "BlockPublicPolicy=true")
        assert rc == 0, err
        # the bucket has no setting of its own ...
        expect_error("NoSuchPublicAccessBlockConfiguration", 404, o.get_public_access_block,
                     Bucket=bucket)
        # ... yet a public policy is refused, at once
        rc, _, err = run_aws(aws_cli, ep, ["s3api", "put-bucket-policy", "--bucket", bucket,
                                           "--policy", public_policy(bucket)], creds=acct.creds)
        assert rc != 0 and aws_error_code(err) == "AccessDenied", err
        expect_error("NoSuchBucketPolicy", 404, o.get_bucket_policy, Bucket=bucket)
        # a policy that is not public is fine
        rc, _, err = run_aws(aws_cli, ep, ["s3api", "put-bucket-policy", "--bucket", bucket,
                                           "--policy", owner_only_policy(bucket, acct.id)],
                             creds=acct.creds)
        assert rc == 0, err
        rc, _, err = delete_pab(aws_cli, acct)
        assert rc == 0, err
        rc, _, err = run_aws(aws_cli, ep, ["s3api", "put-bucket-policy", "--bucket", bucket,
                                           "--policy", public_policy(bucket)], creds=acct.creds)
        assert rc == 0, err
        assert o.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True
    o.delete_bucket_policy(Bucket=bucket)
    o.delete_bucket(Bucket=bucket)


def test_restrict_public_buckets_at_account_level(acct, other, aws_cli):
    o = s3(acct)
    bucket = "acctpab-rpb-" + aws_cli[0].replace("awscli-", "")
    o.create_bucket(Bucket=bucket)
    o.delete_public_access_block(Bucket=bucket)  # a new bucket blocks public access, as on AWS since 2023
    o.put_object(Bucket=bucket, Key="pub.txt", Body=b"public bytes")
    o.put_bucket_policy(Bucket=bucket, Policy=public_policy(bucket))
    url = f"{acct.srv.endpoint}/{bucket}/pub.txt"
    with no_account_setting(aws_cli, acct):
        assert http_get(url) == (200, b"public bytes")  # also warms the bucket cache
        assert s3(other).get_object(Bucket=bucket, Key="pub.txt")["Body"].read() == b"public bytes"
        rc, _, err = put_pab(aws_cli, acct, "RestrictPublicBuckets=true")
        assert rc == 0, err
        status, body = http_get(url)
        assert status == 403 and b"<Code>AccessDenied</Code>" in body, body
        expect_error("AccessDenied", 403, s3(other).get_object, Bucket=bucket, Key="pub.txt")
        # the owner's account keeps its access; the policy itself is still public
        assert o.get_object(Bucket=bucket, Key="pub.txt")["Body"].read() == b"public bytes"
        assert o.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True
        rc, _, err = delete_pab(aws_cli, acct)
        assert rc == 0, err
        assert http_get(url) == (200, b"public bytes")
    o.delete_bucket_policy(Bucket=bucket)
    o.delete_object(Bucket=bucket, Key="pub.txt")
    o.delete_bucket(Bucket=bucket)


def test_other_account_cannot_touch_the_setting(acct, other, aws_cli):
    with no_account_setting(aws_cli, acct):
        rc, _, err = put_pab(aws_cli, acct, "BlockPublicPolicy=true")
        assert rc == 0, err
        # another account naming acct's id: AccessDenied for every operation
        rc, _, err = get_pab(aws_cli, acct, creds=other.creds)
        assert rc != 0 and aws_error_code(err) == "AccessDenied", err
        rc, _, err = put_pab(aws_cli, acct, ALL_ON, creds=other.creds)
        assert rc != 0 and aws_error_code(err) == "AccessDenied", err
        rc, _, err = delete_pab(aws_cli, acct, creds=other.creds)
        assert rc != 0 and aws_error_code(err) == "AccessDenied", err
        # acct's setting is untouched, and other's own is separate
        rc, out, err = get_pab(aws_cli, acct)
        assert rc == 0, err
        assert json.loads(out)["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is False
        rc, _, err = get_pab(aws_cli, other)
        assert rc != 0 and aws_error_code(err) == "NoSuchPublicAccessBlockConfiguration", err


# --------------------------------------------------------------------------- boto3 and the wire
def test_boto3_and_identity_policies(acct):
    c = s3control(acct)
    c.delete_public_access_block(AccountId=acct.id)
    try:
        expect_error("NoSuchPublicAccessBlockConfiguration", 404, c.get_public_access_block,
                     AccountId=acct.id)
        c.put_public_access_block(AccountId=acct.id, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "RestrictPublicBuckets": True})
        got = c.get_public_access_block(AccountId=acct.id)["PublicAccessBlockConfiguration"]
        assert got == {"BlockPublicAcls": True, "IgnorePublicAcls": False,
                       "BlockPublicPolicy": False, "RestrictPublicBuckets": True}
        # a user of the account needs s3:Get/PutAccountPublicAccessBlock (Resource "*")
        user = acct.user_with_key("pabreader")
        uc = s3control(acct, creds=user)
        expect_error("AccessDenied", 403, uc.get_public_access_block, AccountId=acct.id)
        acct.iam.put_user_policy(UserName="pabreader", PolicyName="read", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "s3:GetAccountPublicAccessBlock", "Resource": "*"}]}))
        assert uc.get_public_access_block(AccountId=acct.id)["PublicAccessBlockConfiguration"] == got
        expect_error("AccessDenied", 403, uc.put_public_access_block, AccountId=acct.id,
                     PublicAccessBlockConfiguration={"BlockPublicPolicy": False})
        expect_error("AccessDenied", 403, uc.delete_public_access_block, AccountId=acct.id)
        c.delete_public_access_block(AccountId=acct.id)
        expect_error("NoSuchPublicAccessBlockConfiguration", 404, c.get_public_access_block,
                     AccountId=acct.id)
    finally:
        c.delete_public_access_block(AccountId=acct.id)


def test_account_host_is_not_a_bucket(acct, monkeypatch):
    """With `http://localhost:PORT` the SDK sends Host: ACCOUNT.localhost:PORT,
    which the server must not read as a virtual-host bucket. ACCOUNT.localhost
    resolves on hosts with systemd's resolver; here resolution is patched."""
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    port = acct.srv.endpoint.rsplit(":", 1)[1]
    c = s3control(acct, endpoint=f"http://localhost:{port}")
    try:
        c.put_public_access_block(AccountId=acct.id,
                                  PublicAccessBlockConfiguration={"BlockPublicPolicy": True})
        got = c.get_public_access_block(AccountId=acct.id)
        assert got["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    finally:
        c.delete_public_access_block(AccountId=acct.id)


def test_wire_shapes_and_refusals(acct, server):
    creds, hdr = acct.creds, {"x-amz-account-id": acct.id}
    status, body = signed(server, None, "GET", PAB_PATH, hdr)  # anonymous
    assert status == 403 and b"<Code>AccessDenied</Code>" in body
    good = (b'<PublicAccessBlockConfiguration xmlns="http://awss3control.amazonaws.com/doc/2018-08-20/">'
            b"<BlockPublicPolicy>true</BlockPublicPolicy></PublicAccessBlockConfiguration>")
    try:
        assert signed(server, creds, "PUT", PAB_PATH, hdr, good)[0] == 200
        status, body = signed(server, creds, "GET", PAB_PATH, hdr)
        assert status == 200 and b"awss3control.amazonaws.com/doc/2018-08-20/" in body, body
        assert b"<BlockPublicPolicy>true</BlockPublicPolicy>" in body
        for bad in (b"<PublicAccessBlockConfiguration><BlockPublicPolicy>yes</BlockPublicPolicy>"
                    b"</PublicAccessBlockConfiguration>",
                    b"<Other/>", b"",
                    b'<PublicAccessBlockConfiguration xmlns="urn:elsewhere"/>'):
            status, body = signed(server, creds, "PUT", PAB_PATH, hdr, bad)
            assert status == 400 and b"<Code>MalformedXML</Code>" in body, (bad, body)
        status, body = signed(server, creds, "POST", PAB_PATH, hdr)
        assert status == 405, body
        status, body = signed(server, creds, "GET", "/v20180820/accesspoint", hdr)
        assert status == 501 and b"<Code>NotImplemented</Code>" in body, body
        # the same path without x-amz-account-id is plain S3: a bucket named v20180820
        o = s3(acct)
        o.create_bucket(Bucket="v20180820")
        o.put_object(Bucket="v20180820", Key="configuration/publicAccessBlock", Body=b"an object")
        got = o.get_object(Bucket="v20180820", Key="configuration/publicAccessBlock")["Body"].read()
        assert got == b"an object"
        o.delete_object(Bucket="v20180820", Key="configuration/publicAccessBlock")
        o.delete_bucket(Bucket="v20180820")
    finally:
        assert signed(server, creds, "DELETE", PAB_PATH, hdr)[0] == 200
