"""Bucket notifications (issue 12, S3 side): PutBucketNotificationConfiguration /
GetBucketNotificationConfiguration with both aws CLIs and boto3, AWS's
validation errors, owner-only access, and the event outbox: every object
commit (PUT, copy, multipart completion) and delete that matches a
configuration writes exactly one "s3_event" item in the same meta-store
transaction (read here straight from the meta store, on a server started with
the test hook CLOISTER_TEST_HOLD_EVENTS so that no dispatcher consumes them),
and a crash right after that commit loses nothing and duplicates nothing.
Lambda targets here name no app: the configurations are written with
SkipDestinationValidation, as on AWS (test_triggers.py checks the validation)."""
import json
import os
import time

import pytest
from botocore.exceptions import ClientError

from conftest import REGION, aws_error_code, client_error, meta_query, uniq

ACCOUNT_RE = r"\d{12}"


def lambda_arn(name="app"):
    return f"arn:aws:lambda:{REGION}:111122223333:function:{name}"


def queue_arn(name="q"):
    return f"arn:aws:sqs:{REGION}:111122223333:{name}"


def events_in(data_dir, bucket=None):
    """The s3_event outbox items (name order = commit order) -> [(name, doc)]."""
    rows = meta_query(data_dir, "SELECT name, doc FROM items WHERE kind = 's3_event' AND scope = '' "
                      "ORDER BY name")
    out = [(n, json.loads(d)) for n, d in rows]
    return [(n, d) for n, d in out if bucket is None or d["Bucket"] == bucket]


@pytest.fixture(scope="module")
def server(make_server):
    """This module's own server: its outbox is left as S3 writes it."""
    os.environ["CLOISTER_TEST_HOLD_EVENTS"] = "1"
    try:
        return make_server("notify-held")
    finally:
        del os.environ["CLOISTER_TEST_HOLD_EVENTS"]


@pytest.fixture(scope="module")
def s3(server):
    return server.boto3_client("s3")


@pytest.fixture()
def bucket(s3):
    b = uniq("notify")
    s3.create_bucket(Bucket=b)
    return b


def expect_error(fn, code, status=400, msg=None, **kw):
    with pytest.raises(ClientError) as e:
        fn(**kw)
    got = client_error(e.value)
    assert got[0] == code and got[1] == status, got
    if msg is not None:
        assert got[2] == msg, got
    return e.value


# --------------------------------------------------------------------------- configuration
def test_round_trip_boto3(s3, bucket):
    cfg = {
        "LambdaFunctionConfigurations": [{
            "Id": "por", "LambdaFunctionArn": lambda_arn("por"),
            "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "suffix",
                                                "Value": "private_ledger.json"}]}}}],
        "QueueConfigurations": [{
            "QueueArn": queue_arn(), "Events": ["s3:ObjectRemoved:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "PREFIX", "Value": "logs/"}]}}}],
        "EventBridgeConfiguration": {},
    }
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=cfg,
                                             SkipDestinationValidation=True)
    got = s3.get_bucket_notification_configuration(Bucket=bucket)
    lam = got["LambdaFunctionConfigurations"]
    assert lam == [{"Id": "por", "LambdaFunctionArn": lambda_arn("por"),
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "Suffix",
                                                        "Value": "private_ledger.json"}]}}}]
    q = got["QueueConfigurations"]
    assert len(q) == 1 and q[0]["QueueArn"] == queue_arn()
    assert len(q[0]["Id"]) >= 16  # generated, as AWS does
    assert q[0]["Filter"]["Key"]["FilterRules"] == [{"Name": "Prefix", "Value": "logs/"}]
    assert "EventBridgeConfiguration" in got
    # an empty configuration clears it
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})
    got = s3.get_bucket_notification_configuration(Bucket=bucket)
    assert not got.get("LambdaFunctionConfigurations") and not got.get("QueueConfigurations")


def test_round_trip_cli(server, aws_cli, bucket, tmp_path):
    n = {"LambdaFunctionConfigurations": [{
        "Id": "t1", "LambdaFunctionArn": lambda_arn("por"), "Events": ["s3:ObjectCreated:Put"],
        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "proof-runs/"},
                                           {"Name": "suffix", "Value": ".json"}]}}}]}
    (tmp_path / "n.json").write_text(json.dumps(n))
    rc, out, err = server.aws(aws_cli, ["s3api", "put-bucket-notification-configuration",
                                        "--bucket", bucket, "--notification-configuration",
                                        "file://n.json", "--skip-destination-validation"],
                              profile=True, cwd=tmp_path)
    assert rc == 0, err
    rc, out, err = server.aws(aws_cli, ["s3api", "get-bucket-notification-configuration",
                                        "--bucket", bucket], profile=True)
    assert rc == 0, err
    got = json.loads(out)["LambdaFunctionConfigurations"][0]
    assert got["Id"] == "t1" and got["LambdaFunctionArn"] == lambda_arn("por")
    assert got["Events"] == ["s3:ObjectCreated:Put"]
    assert got["Filter"]["Key"]["FilterRules"] == [{"Name": "Prefix", "Value": "proof-runs/"},
                                                   {"Name": "Suffix", "Value": ".json"}]


def test_get_unset_is_empty(s3, bucket):
    got = s3.get_bucket_notification_configuration(Bucket=bucket)
    assert not any(k.endswith("Configurations") for k in got)


def rule(name, value):
    return {"Name": name, "Value": value}


def lam(events, rules=None, arn=None, id=None):
    c = {"LambdaFunctionArn": arn or lambda_arn(), "Events": events}
    if rules is not None:
        c["Filter"] = {"Key": {"FilterRules": rules}}
    if id:
        c["Id"] = id
    return c


OVERLAP = ("Configurations overlap. Configurations on the same bucket cannot share a common "
           "event type.")


@pytest.mark.parametrize("cfg,msg", [
    ({"LambdaFunctionConfigurations": [lam(["s3:ObjectCreated:Nope"])]},
     "The event is not supported for notifications"),
    ({"LambdaFunctionConfigurations": [lam(["s3:ObjectCreated:*"],
                                           [rule("prefix", "a"), rule("prefix", "b")])]},
     "Cannot specify more than one prefix rule in a filter."),
    ({"LambdaFunctionConfigurations": [lam(["s3:ObjectCreated:*"],
                                           [rule("suffix", "a"), rule("Suffix", "b")])]},
     "Cannot specify more than one suffix rule in a filter."),
    ({"LambdaFunctionConfigurations": [lam(["s3:ObjectCreated:*"], [rule("middle", "a")])]},
     "filter rule name must be either prefix or suffix"),
    ({"LambdaFunctionConfigurations": [lam(["s3:ObjectCreated:*"],
                                           arn="arn:aws:lambda:us-east-1:1:function:x")]},
     "The ARN is not well formed"),
    ({"TopicConfigurations": [{"TopicArn": "arn:aws:sns:us-east-1:111122223333:t",
                               "Events": ["s3:ObjectCreated:*"]}]},
     "Unable to validate the following destination configurations"),
    # overlap: same event type, prefixes one a prefix of the other, no suffixes
    ({"LambdaFunctionConfigurations": [
        lam(["s3:ObjectCreated:*"], [rule("prefix", "images/")], id="a"),
        lam(["s3:ObjectCreated:Put"], [rule("prefix", "images/2024/")], id="b")]}, OVERLAP),
    ({"QueueConfigurations": [{"QueueArn": queue_arn(), "Events": ["s3:ObjectCreated:Put"]}],
      "LambdaFunctionConfigurations": [lam(["s3:ObjectCreated:Put"], [rule("suffix", ".jpg")])]},
     OVERLAP),
])
def test_validation_errors(s3, bucket, cfg, msg):
    expect_error(s3.put_bucket_notification_configuration, "InvalidArgument", 400, msg,
                 Bucket=bucket, NotificationConfiguration=cfg)
    got = s3.get_bucket_notification_configuration(Bucket=bucket)
    assert not got.get("LambdaFunctionConfigurations")  # nothing stored


def test_non_overlapping_accepted(s3, bucket):
    cfg = {"LambdaFunctionConfigurations": [
        lam(["s3:ObjectCreated:*"], [rule("prefix", "images/")], id="a"),
        lam(["s3:ObjectCreated:*"], [rule("prefix", "logs/")], id="b"),
        lam(["s3:ObjectRemoved:*"], [rule("prefix", "images/")], id="c"),
        lam(["s3:ObjectCreated:*"], [rule("prefix", "docs/"), rule("suffix", ".jpg")], id="d"),
        lam(["s3:ObjectCreated:*"], [rule("prefix", "docs/"), rule("suffix", ".png")], id="e")]}
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=cfg,
                                             SkipDestinationValidation=True)
    got = s3.get_bucket_notification_configuration(Bucket=bucket)
    assert [c["Id"] for c in got["LambdaFunctionConfigurations"]] == ["a", "b", "c", "d", "e"]


def test_malformed_xml(server, bucket):
    import requests
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    c = server.admin_creds()
    for body in (b"<NotificationConfiguration><QueueConfiguration><Event>s3:ObjectCreated:*"
                 b"</Event></QueueConfiguration></NotificationConfiguration>",  # no Queue
                 b"<NotificationConfiguration><Bogus/></NotificationConfiguration>"):
        url = f"{server.endpoint}/{bucket}?notification"
        req = AWSRequest(method="PUT", url=url, data=body)
        SigV4Auth(Credentials(c["AccessKeyId"], c["SecretAccessKey"]), "s3", REGION).add_auth(req)
        r = requests.put(url, data=body, headers=dict(req.headers), timeout=10)
        assert r.status_code == 400 and b"<Code>MalformedXML</Code>" in r.content, r.content


def test_other_account_refused(server, s3, bucket):
    rc, doc, out, err = server.account_create(uniq("notifyB"))
    assert rc == 0, out + err
    b_creds = {"AccessKeyId": doc["AccessKeyId"], "SecretAccessKey": doc["SecretAccessKey"]}
    b_acct = server.boto3_client("sts", b_creds).get_caller_identity()["Account"]
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{b_acct}:root"},
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]}]}))
    other = server.boto3_client("s3", b_creds)
    expect_error(other.put_bucket_notification_configuration, "MethodNotAllowed", 405,
                 Bucket=bucket, NotificationConfiguration={
                     "LambdaFunctionConfigurations": [lam(["s3:ObjectCreated:*"])]})
    expect_error(other.get_bucket_notification_configuration, "MethodNotAllowed", 405,
                 Bucket=bucket)
    # without the grant: 403
    s3.delete_bucket_policy(Bucket=bucket)
    expect_error(other.get_bucket_notification_configuration, "AccessDenied", 403, Bucket=bucket)


# --------------------------------------------------------------------------- events
def configure(s3, bucket, **filters):
    rules = [rule(k, v) for k, v in filters.items()]
    cfg = {"LambdaFunctionConfigurations": [lam(["s3:ObjectCreated:*"], rules or None,
                                                arn=lambda_arn("por"), id="created")],
           "QueueConfigurations": [{"Id": "removed", "QueueArn": queue_arn(),
                                    "Events": ["s3:ObjectRemoved:*"]}]}
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=cfg,
                                             SkipDestinationValidation=True)


def test_put_event_record(server, s3, bucket):
    configure(s3, bucket)
    key = "proof runs/2024-01-15/private_ledger.json"
    put = s3.put_object(Bucket=bucket, Key=key, Body=b"ledger")
    ev = events_in(server.data_dir, bucket)
    assert len(ev) == 1
    name, d = ev[0]
    assert len(name) == 24 and all(ch in "0123456789abcdef" for ch in name)
    acct = server.boto3_client("sts").get_caller_identity()
    assert d["Target"] == {"Type": "lambda", "Arn": lambda_arn("por"), "Id": "created"}
    assert d["Bucket"] == bucket and d["Key"] == key and d["Size"] == 6
    assert d["ETag"] == put["ETag"] and d["BucketOwner"] == acct["Account"]
    assert d["BucketId"] and "Origin" not in d
    r = d["Record"]
    assert r["eventVersion"] == "2.1" and r["eventSource"] == "aws:s3"
    assert r["awsRegion"] == REGION and r["eventName"] == "ObjectCreated:Put"
    assert r["eventTime"].endswith("Z") and len(r["eventTime"]) == 24  # ms precision
    assert r["userIdentity"]["principalId"] == "AWS:" + acct["UserId"]
    assert r["requestParameters"]["sourceIPAddress"] == "127.0.0.1"
    assert r["responseElements"]["x-amz-request-id"]
    o = r["s3"]
    assert o["s3SchemaVersion"] == "1.0" and o["configurationId"] == "created"
    assert o["bucket"] == {"name": bucket, "ownerIdentity": {"principalId": acct["Account"]},
                           "arn": f"arn:aws:s3:::{bucket}"}
    assert o["object"] == {"key": "proof+runs/2024-01-15/private_ledger.json", "size": 6,
                           "eTag": put["ETag"].strip('"'), "sequencer": name}


def test_each_operation_one_event(server, s3, bucket):
    configure(s3, bucket)
    s3.put_object(Bucket=bucket, Key="a.json", Body=b"1")
    s3.copy_object(Bucket=bucket, Key="b.json", CopySource={"Bucket": bucket, "Key": "a.json"})
    mp = s3.create_multipart_upload(Bucket=bucket, Key="c.json")
    part = s3.upload_part(Bucket=bucket, Key="c.json", UploadId=mp["UploadId"], PartNumber=1,
                          Body=b"x" * 100)
    s3.complete_multipart_upload(Bucket=bucket, Key="c.json", UploadId=mp["UploadId"],
                                 MultipartUpload={"Parts": [{"PartNumber": 1,
                                                             "ETag": part["ETag"]}]})
    s3.delete_object(Bucket=bucket, Key="a.json")
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "b.json"}]})
    ev = events_in(server.data_dir, bucket)
    got = [(d["Record"]["eventName"], d["Key"], d["Target"]["Id"]) for _, d in ev]
    assert got == [("ObjectCreated:Put", "a.json", "created"),
                   ("ObjectCreated:Copy", "b.json", "created"),
                   ("ObjectCreated:CompleteMultipartUpload", "c.json", "created"),
                   ("ObjectRemoved:Delete", "a.json", "removed"),
                   ("ObjectRemoved:Delete", "b.json", "removed")]
    assert [n for n, _ in ev] == sorted(n for n, _ in ev)
    assert ev[2][1]["Size"] == 100
    assert "size" not in ev[3][1]["Record"]["s3"]["object"]
    # deleting a key that does not exist removes nothing and notifies nothing
    s3.delete_object(Bucket=bucket, Key="never-was")
    assert len(events_in(server.data_dir, bucket)) == 5


def test_filter_and_no_configuration(server, s3, bucket):
    configure(s3, bucket, prefix="proof-runs/", suffix="private_ledger.json")
    s3.put_object(Bucket=bucket, Key="proof-runs/2024-01-15/other.json", Body=b"1")
    s3.put_object(Bucket=bucket, Key="elsewhere/private_ledger.json", Body=b"1")
    assert events_in(server.data_dir, bucket) == []
    s3.put_object(Bucket=bucket, Key="proof-runs/2024-01-15/private_ledger.json", Body=b"1")
    assert len(events_in(server.data_dir, bucket)) == 1
    plain = uniq("plain")
    s3.create_bucket(Bucket=plain)
    s3.put_object(Bucket=plain, Key="proof-runs/x/private_ledger.json", Body=b"1")
    s3.delete_object(Bucket=plain, Key="proof-runs/x/private_ledger.json")
    assert events_in(server.data_dir, plain) == []


def test_configuration_dropped_with_bucket(server, s3):
    b = uniq("notifydrop")
    s3.create_bucket(Bucket=b)
    configure(s3, b)
    s3.delete_bucket(Bucket=b)
    s3.create_bucket(Bucket=b)
    got = s3.get_bucket_notification_configuration(Bucket=b)
    assert not got.get("LambdaFunctionConfigurations")
    s3.put_object(Bucket=b, Key="k", Body=b"1")
    assert events_in(server.data_dir, b) == []


def test_crash_after_commit_exactly_one_event(make_server, monkeypatch):
    monkeypatch.setenv("CLOISTER_TEST_HOLD_EVENTS", "1")
    monkeypatch.setenv("CLOISTER_TEST_CRASH_AT", "event-after-commit")
    srv = make_server("notifycrash")
    monkeypatch.delenv("CLOISTER_TEST_CRASH_AT")
    s3 = srv.boto3_client("s3")
    b = uniq("crash")
    s3.create_bucket(Bucket=b)
    configure(s3, b)
    with pytest.raises(Exception):
        s3.put_object(Bucket=b, Key="proof-runs/private_ledger.json", Body=b"ledger")
    deadline = time.monotonic() + 10
    while srv.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.proc.poll() == 9, "the fault point did not fire"
    srv.kill()  # already dead: closes its logs
    srv.start()
    s3 = srv.boto3_client("s3")
    assert s3.get_object(Bucket=b, Key="proof-runs/private_ledger.json")["Body"].read() == b"ledger"
    ev = events_in(srv.data_dir, b)
    assert len(ev) == 1 and ev[0][1]["Key"] == "proof-runs/private_ledger.json"


# --------------------------------------------------------------------------- POST uploads
def post_form(s3, bucket, key, **kw):
    from conftest import presigner
    return presigner(s3).generate_presigned_post(bucket, key, **kw)


def test_presigned_post_emits_post_event(server, s3, bucket):
    import requests
    configure(s3, bucket)
    p = post_form(s3, bucket, "uploads/${filename}",
                  Fields={"Content-Type": "application/json"},
                  Conditions=[["starts-with", "$key", "uploads/"],
                              {"Content-Type": "application/json"},
                              ["content-length-range", 1, 1000]])
    r = requests.post(p["url"], data=p["fields"],
                      files={"file": ("ledger.json", b'{"a":1}')}, timeout=10)
    assert r.status_code == 204, r.content
    got = s3.get_object(Bucket=bucket, Key="uploads/ledger.json")
    assert got["Body"].read() == b'{"a":1}' and got["ContentType"] == "application/json"
    ev = events_in(server.data_dir, bucket)
    assert len(ev) == 1
    d = ev[0][1]
    assert d["Record"]["eventName"] == "ObjectCreated:Post" and d["Key"] == "uploads/ledger.json"
    acct = server.boto3_client("sts").get_caller_identity()
    assert d["Record"]["userIdentity"]["principalId"] == "AWS:" + acct["UserId"]
    # 201 with the PostResponse document
    p = post_form(s3, bucket, "k201", Fields={"success_action_status": "201"},
                  Conditions=[{"success_action_status": "201"}])
    r = requests.post(p["url"], data=p["fields"], files={"file": ("x", b"x")}, timeout=10)
    assert r.status_code == 201 and b"<Key>k201</Key>" in r.content, r.content


def test_presigned_post_refusals(server, s3, bucket):
    import requests
    p = post_form(s3, bucket, "small", Conditions=[["content-length-range", 1, 3]])
    r = requests.post(p["url"], data=p["fields"], files={"file": ("x", b"too long")}, timeout=10)
    # AWS: content-length-range is 400 EntityTooLarge, not 403 (issue 16)
    assert r.status_code == 400 and b"<Code>EntityTooLarge</Code>" in r.content, r.content
    p = post_form(s3, bucket, "k")
    bad = dict(p["fields"], **{"x-amz-meta-extra": "1"})  # not in the policy
    r = requests.post(p["url"], data=bad, files={"file": ("x", b"x")}, timeout=10)
    assert r.status_code == 403 and b"Extra input fields" in r.content, r.content
    bad = dict(p["fields"], key="other")  # the policy names key k
    r = requests.post(p["url"], data=bad, files={"file": ("x", b"x")}, timeout=10)
    assert r.status_code == 403 and b"Policy Condition failed" in r.content, r.content
    sig = p["fields"]["x-amz-signature"]
    bad = dict(p["fields"], **{"x-amz-signature": ("0" if sig[0] != "0" else "1") + sig[1:]})
    r = requests.post(p["url"], data=bad, files={"file": ("x", b"x")}, timeout=10)
    assert r.status_code == 403 and b"SignatureDoesNotMatch" in r.content, r.content
    # unsigned: anonymous, and the bucket is not public
    r = requests.post(p["url"], data={"key": "anon"}, files={"file": ("x", b"x")}, timeout=10)
    assert r.status_code == 403 and b"AccessDenied" in r.content, r.content
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
