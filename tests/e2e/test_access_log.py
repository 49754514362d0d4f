"""Issue 16: `cloister serve --access-log FILE|-`.

One JSON line per request (time, request_id, remote, principal, account,
service, operation, resource, status, error_code, bytes_in, bytes_out,
latency_ms); denials (403) also at info level in the normal log; never a
secret, signature, token or presigned credential; SIGHUP reopens the file."""
import json
import os
import re
import signal
import time
import urllib.request

import pytest
from botocore.exceptions import ClientError

from conftest import new_user, presigner, uniq

FIELDS = ["time", "request_id", "remote", "principal", "account", "service", "operation",
          "resource", "status", "error_code", "bytes_in", "bytes_out", "latency_ms"]


def lines(path):
    if not os.path.exists(path):
        return []
    return [json.loads(l) for l in open(path, encoding="utf-8").read().splitlines() if l]


def wait_for(path, pred, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = [l for l in lines(path) if pred(l)]
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"no matching line in {path}: {open(path).read()[-2000:]}")


@pytest.fixture(scope="module")
def logged(make_server, tmp_path_factory):
    path = tmp_path_factory.mktemp("alog") / "access.log"
    srv = make_server("alog", extra_args=["--access-log", str(path)])
    return srv, str(path)


def test_one_json_line_per_request(logged):
    srv, path = logged
    s3 = srv.boto3_client("s3")
    bucket = uniq("alog")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="dir/obj.txt", Body=b"x" * 1000)
    got = s3.get_object(Bucket=bucket, Key="dir/obj.txt")
    rid = got["ResponseMetadata"]["RequestId"]
    assert got["Body"].read() == b"x" * 1000
    line = wait_for(path, lambda l: l["request_id"] == rid)[0]
    assert list(line)[:len(FIELDS)] == FIELDS or set(FIELDS) <= set(line)
    acct = srv.boto3_client("sts").get_caller_identity()["Account"]
    assert line["principal"] == f"arn:aws:iam::{acct}:user/admin"
    assert line["account"] == acct
    assert (line["service"], line["operation"]) == ("s3", "GetObject")
    assert line["resource"] == f"{bucket}/dir/obj.txt"
    assert line["status"] == 200 and line["error_code"] is None
    assert line["bytes_out"] == 1000 and isinstance(line["latency_ms"], (int, float))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])
    assert line["remote"] == "127.0.0.1"
    put = wait_for(path, lambda l: l["operation"] == "PutObject")[0]
    assert put["bytes_in"] >= 1000 and put["resource"] == f"{bucket}/dir/obj.txt"
    # IAM / STS / KMS name their resources too
    iam = srv.boto3_client("iam")
    user = uniq("alog-u")
    iam.create_user(UserName=user)
    wait_for(path, lambda l: l["operation"] == "CreateUser" and l["resource"] == user)
    kid = srv.boto3_client("kms").create_key()["KeyMetadata"]["KeyId"]
    srv.boto3_client("kms").describe_key(KeyId=kid)
    wait_for(path, lambda l: l["service"] == "kms" and l["operation"] == "DescribeKey"
             and l["resource"] == kid)


def test_denials_and_anonymous(logged):
    srv, path = logged
    s3 = srv.boto3_client("s3")
    bucket = uniq("alog-deny")
    s3.create_bucket(Bucket=bucket)
    creds, arn = new_user(srv, uniq("nopol"))
    with pytest.raises(ClientError) as ei:
        srv.boto3_client("s3", creds).get_object(Bucket=bucket, Key="k")
    rid = ei.value.response["ResponseMetadata"]["RequestId"]
    line = wait_for(path, lambda l: l["request_id"] == rid)[0]
    assert line["status"] == 403 and line["error_code"] == "AccessDenied"
    assert line["principal"] == arn and line["resource"] == f"{bucket}/k"
    # the normal log has the denial at info level, with the request id
    deadline = time.monotonic() + 5
    while rid not in srv.stderr_tail(200000) and time.monotonic() < deadline:
        time.sleep(0.05)
    err = srv.stderr_tail(200000)
    denial = [l for l in err.splitlines() if rid in l]
    assert denial and " info " in denial[0] and "denied" in denial[0] and arn in denial[0]
    # anonymous
    try:
        urllib.request.urlopen(f"{srv.endpoint}/{bucket}/k", timeout=5)
    except urllib.error.HTTPError as e:
        assert e.code == 403
        rid = e.headers["x-amz-request-id"]
    line = wait_for(path, lambda l: l["request_id"] == rid)[0]
    assert line["principal"] == "anonymous" and line["account"] is None
    # a bad signature: the key ID it named, no principal
    bad = dict(creds, SecretAccessKey="0" * 40)
    with pytest.raises(ClientError) as ei:
        srv.boto3_client("s3", bad).list_buckets()
    rid = ei.value.response["ResponseMetadata"]["RequestId"]
    line = wait_for(path, lambda l: l["request_id"] == rid)[0]
    assert line["status"] == 403 and line["error_code"] == "SignatureDoesNotMatch"
    assert line["principal"] is None and line["access_key_id"] == creds["AccessKeyId"]


def test_no_secrets_in_the_log(logged):
    srv, path = logged
    admin = srv.admin_creds()
    s3 = srv.boto3_client("s3")
    bucket = uniq("alog-sec")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="p", Body=b"presigned")
    sts = srv.boto3_client("sts").get_session_token()["Credentials"]
    tmp = {"AccessKeyId": sts["AccessKeyId"], "SecretAccessKey": sts["SecretAccessKey"],
           "SessionToken": sts["SessionToken"]}
    srv.boto3_client("s3", tmp).get_object(Bucket=bucket, Key="p")
    url = presigner(s3).generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "p"})
    sig = re.search(r"X-Amz-Signature=([0-9a-f]+)", url).group(1)
    assert urllib.request.urlopen(url, timeout=5).read() == b"presigned"
    v2 = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "p"})
    assert urllib.request.urlopen(v2, timeout=5).read() == b"presigned"
    v2sig = re.search(r"Signature=([^&]+)", v2).group(1)
    out = srv.boto3_client("iam").create_access_key()["AccessKey"]
    wait_for(path, lambda l: l["operation"] == "CreateAccessKey")
    text = open(path).read() + srv.stderr_tail(1000000)
    for secret in (admin["SecretAccessKey"], sts["SecretAccessKey"], sts["SessionToken"], sig,
                   urllib.parse.unquote(v2sig), v2sig, out["SecretAccessKey"]):
        assert secret not in text
    assert "X-Amz-Signature" not in text and "X-Amz-Credential" not in text


def test_sighup_reopens_the_file(logged):
    srv, path = logged
    os.rename(path, path + ".1")
    srv.proc.send_signal(signal.SIGHUP)
    time.sleep(0.2)
    r = srv.boto3_client("sts").get_caller_identity()
    rid = r["ResponseMetadata"]["RequestId"]
    wait_for(path, lambda l: l["request_id"] == rid)
    assert srv.alive()
    assert lines(path + ".1")


def test_access_log_to_stderr(make_server):
    srv = make_server("alog-stderr", extra_args=["--access-log", "-"])
    rid = srv.boto3_client("sts").get_caller_identity()["ResponseMetadata"]["RequestId"]
    deadline = time.monotonic() + 5
    while rid not in srv.stderr_tail(100000) and time.monotonic() < deadline:
        time.sleep(0.05)
    line = [l for l in srv.stderr_tail(100000).splitlines() if rid in l and l.startswith("{")]
    assert line and json.loads(line[0])["operation"] == "GetCallerIdentity"
