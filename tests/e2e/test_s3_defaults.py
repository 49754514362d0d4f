"""S3 defaults and semantics as AWS has them today (issue 16), with boto3 and
both aws CLIs: a new bucket has all four Block Public Access settings on, so a
public ("Principal": "*") bucket policy is refused until the owner deletes the
setting (or puts it with false); CreateBucket of a bucket one already owns
answers 200 in us-east-1 and BucketAlreadyOwnedByYou elsewhere; a bucket
remembers its region (GetBucketLocation), and a request signed for another
region, or with an empty region in its credential scope, gets 400
AuthorizationHeaderMalformed naming the region expected."""
import json
import urllib.request
import urllib.error
import xml.etree.ElementTree as ET

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import aws_error_code, boto3_client, client_error, uniq

ALL_TRUE = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True}


def public_policy(bucket):
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*"}]})


def expect(code, status, fn, *a, **kw):
    with pytest.raises(ClientError) as ei:
        fn(*a, **kw)
    got = client_error(ei.value)
    assert got[0] == code and (status is None or got[1] == status), got
    return got


@pytest.fixture(scope="module")
def s3(server):
    return server.boto3_client("s3", server.admin_creds())


def anon_get(server, bucket, key):
    try:
        with urllib.request.urlopen(f"{server.endpoint}/{bucket}/{key}", timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_new_bucket_blocks_public_access(server, s3):
    b = uniq("bpa")
    s3.create_bucket(Bucket=b)
    assert s3.get_public_access_block(Bucket=b)["PublicAccessBlockConfiguration"] == ALL_TRUE
    e = expect("AccessDenied", 403, s3.put_bucket_policy, Bucket=b, Policy=public_policy(b))
    assert "BlockPublicPolicy" in e[2]
    s3.put_object(Bucket=b, Key="k", Body=b"x")
    assert anon_get(server, b, "k") == 403
    # turning it off, as the docs say: delete the bucket's setting
    s3.delete_public_access_block(Bucket=b)
    expect("NoSuchPublicAccessBlockConfiguration", 404, s3.get_public_access_block, Bucket=b)
    s3.put_bucket_policy(Bucket=b, Policy=public_policy(b))
    assert anon_get(server, b, "k") == 200
    s3.delete_bucket_policy(Bucket=b)
    s3.delete_object(Bucket=b, Key="k")
    s3.delete_bucket(Bucket=b)


def test_put_pab_false_allows_public_policy(s3):
    b = uniq("bpa")
    s3.create_bucket(Bucket=b)
    off = {k: False for k in ALL_TRUE}
    s3.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration=off)
    s3.put_bucket_policy(Bucket=b, Policy=public_policy(b))
    assert s3.get_bucket_policy_status(Bucket=b)["PolicyStatus"]["IsPublic"] is True
    s3.delete_bucket_policy(Bucket=b)
    s3.delete_bucket(Bucket=b)


def test_bpa_defaults_with_aws_cli(server, aws_cli):
    """Two CLI calls (each costs seconds): the setting as the CLI shows it, and the
    documented way to turn it off."""
    b = uniq("bpacli")
    creds = server.admin_creds()
    o = server.boto3_client("s3", creds)
    o.create_bucket(Bucket=b)
    run = lambda *a: server.aws(aws_cli, list(a), creds=creds)  # noqa: E731
    rc, out, err = run("s3api", "get-public-access-block", "--bucket", b)
    assert rc == 0 and json.loads(out)["PublicAccessBlockConfiguration"] == ALL_TRUE, err
    expect("AccessDenied", 403, o.put_bucket_policy, Bucket=b, Policy=public_policy(b))
    assert run("s3api", "delete-public-access-block", "--bucket", b)[0] == 0
    o.put_bucket_policy(Bucket=b, Policy=public_policy(b))
    o.delete_bucket_policy(Bucket=b)
    o.delete_bucket(Bucket=b)


def test_create_owned_bucket_us_east_1_is_200(server, s3):
    b = uniq("again")
    s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=b, Key="keep", Body=b"1")
    r = s3.create_bucket(Bucket=b)  # AWS's legacy us-east-1 behaviour
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert s3.get_object(Bucket=b, Key="keep")["Body"].read() == b"1"  # unchanged
    other = server.account_create(uniq("againo"))[1]
    o = server.boto3_client("s3", {"AccessKeyId": other["AccessKeyId"],
                                   "SecretAccessKey": other["SecretAccessKey"]})
    expect("BucketAlreadyExists", 409, o.create_bucket, Bucket=b)
    s3.delete_object(Bucket=b, Key="keep")
    s3.delete_bucket(Bucket=b)


def test_bucket_region_and_wrong_region(server):
    creds = server.admin_creds()
    west = boto3_client(server.endpoint, "s3", creds)  # configured for us-east-1
    eu = _client_in(server, creds, "eu-west-1")
    b = uniq("euw")
    eu.create_bucket(Bucket=b, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert eu.get_bucket_location(Bucket=b)["LocationConstraint"] == "eu-west-1"
    expect("BucketAlreadyOwnedByYou", 409, eu.create_bucket, Bucket=b,
           CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    eu.put_object(Bucket=b, Key="k", Body=b"v")
    # signed for us-east-1: refused, naming the region expected
    status, body = _raw(server, creds, "us-east-1", f"/{b}/k")
    assert status == 400, body
    err = ET.fromstring(body)
    assert err.findtext("Code") == "AuthorizationHeaderMalformed"
    assert err.findtext("Message") == ("The authorization header is malformed; the region "
                                       "'us-east-1' is wrong; expecting 'eu-west-1'")
    assert err.findtext("Region") == "eu-west-1"
    # boto3 follows the <Region> as it does with AWS, and reads the object
    assert west.get_object(Bucket=b, Key="k")["Body"].read() == b"v"
    eu.delete_object(Bucket=b, Key="k")
    eu.delete_bucket(Bucket=b)


def test_empty_region_in_scope_refused(server):
    creds = server.admin_creds()
    b = uniq("noreg")
    server.boto3_client("s3", creds).create_bucket(Bucket=b)
    for path in (f"/{b}", "/"):
        status, body = _raw(server, creds, "", path)
        assert status == 400, body
        err = ET.fromstring(body)
        assert err.findtext("Code") == "AuthorizationHeaderMalformed"
        assert "the region '' is wrong; expecting 'us-east-1'" in err.findtext("Message")
        assert err.findtext("Region") == "us-east-1"
    status, _ = _raw(server, creds, "us-east-1", f"/{b}")
    assert status == 200
    server.boto3_client("s3", creds).delete_bucket(Bucket=b)


def test_region_with_aws_cli(server, aws_cli):
    b = uniq("euwcli")
    creds = server.admin_creds()
    eu = _client_in(server, creds, "eu-west-1")
    eu.create_bucket(Bucket=b, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    rc, out, err = server.aws(aws_cli, ["s3api", "get-bucket-location", "--bucket", b],
                              creds=creds, env_extra={"AWS_DEFAULT_REGION": "eu-west-1",
                                                      "AWS_REGION": "eu-west-1"})
    assert rc == 0 and json.loads(out)["LocationConstraint"] == "eu-west-1", err
    eu.delete_bucket(Bucket=b)


def _client_in(server, creds, region):
    import boto3
    from botocore.config import Config
    return boto3.session.Session().client(
        "s3", endpoint_url=server.endpoint, region_name=region,
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"])


def _raw(server, creds, region, path):
    """A GET signed with SigV4 for `region` (possibly empty) -> (status, body)."""
    url = server.endpoint + path
    req = AWSRequest(method="GET", url=url)
    S3SigV4Auth(Credentials(creds["AccessKeyId"], creds["SecretAccessKey"]), "s3", region).add_auth(req)
    r = urllib.request.Request(url, headers=dict(req.headers.items()), method="GET")
    try:
        with urllib.request.urlopen(r, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
