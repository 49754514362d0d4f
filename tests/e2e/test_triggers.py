"""Triggers (docs/tasks.md): S3 event notifications bound to an app. An upload
whose key matches runs the app once, without further action, with the object as
its input file and the S3 event record (AWS's shape) in CLOISTER_EVENT and
IEXEC_IN/event.json; the outputs appear beside the object, each listed with its
digest in the receipt, the app's public outputs readable anonymously (unless
Block Public Access says no). `cloister trigger add` and `aws s3api
put-bucket-notification-configuration` behave the same. Exactly once: a crash
right after the object's commit still gives one task after the restart."""
import hashlib
import json
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import AWS_CLIS, uniq
from test_runs import APPS, cl, deploy, ok, show

ECHO = APPS / "trigger-echo"
MANIFEST = {"public_outputs": ["public.txt"]}


def wait_object(s3, bucket, key, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        try:
            return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except s3.exceptions.NoSuchKey:
            time.sleep(0.05)
    raise AssertionError(f"s3://{bucket}/{key} never appeared")


def tasks_of(srv, creds, app):
    out = ok(cl(srv, creds, "task", "list", "--app", app)).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith("0x")]


def wait_done(srv, creds, task, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        doc = show(srv, creds, task)
        if doc["State"] in ("done", "failed"):
            return doc
        time.sleep(0.05)
    raise AssertionError(f"{task} not finished")


@pytest.fixture(scope="module")
def tsrv(make_server):
    return make_server("triggers")


@pytest.fixture(scope="module")
def owner(tsrv):
    return tsrv.admin_creds()


@pytest.fixture(scope="module")
def echo_app(tsrv, owner):
    name = uniq("echo")
    deploy(tsrv, owner, ECHO, name, "python3 /app/app.py", MANIFEST)
    return name


def test_trigger_add_runs_the_app_once_per_matching_upload(tsrv, owner, echo_app, tmp_path):
    s3 = tsrv.boto3_client("s3", owner)
    bucket = uniq("trig")
    s3.create_bucket(Bucket=bucket)
    s3.delete_public_access_block(Bucket=bucket)  # public outputs: new buckets block them (AWS default)
    ok(cl(tsrv, owner, "trigger", "add", "--bucket", bucket, "--suffix", "private_ledger.json",
          "--app", echo_app, "--arg", "hello"))
    src = tmp_path / "private_ledger.json"
    src.write_text('{"accounts": 1}')
    key = "proof runs/2024-01-15/private_ledger.json"
    rc, _, err = tsrv.aws(AWS_CLIS[0], ["s3", "cp", str(src), f"s3://{bucket}/{key}"], creds=owner)
    assert rc == 0, err
    result = json.loads(wait_object(s3, bucket, "proof runs/2024-01-15/result.json"))
    assert result["input"] == '{"accounts": 1}' and result["argv"] == ["hello"]
    assert result["same_event"]
    rec = result["event"]["Records"][0]
    assert rec["eventSource"] == "aws:s3" and rec["eventName"] == "ObjectCreated:Put"
    assert rec["s3"]["bucket"]["name"] == bucket
    assert rec["s3"]["object"]["key"] == "proof+runs/2024-01-15/private_ledger.json"
    assert rec["s3"]["object"]["size"] == len('{"accounts": 1}')
    assert wait_object(s3, bucket, "proof runs/2024-01-15/sub/n.txt") == b"nested\n"
    [task] = tasks_of(tsrv, owner, echo_app)
    doc = wait_done(tsrv, owner, task)
    assert doc["State"] == "done", doc
    assert sorted(doc["Published"]) == sorted(
        f"proof runs/2024-01-15/{n}" for n in ("result.json", "public.txt", "sub/n.txt"))
    # each published file is the one the receipt lists
    out = tmp_path / "res"
    ok(cl(tsrv, owner, "task", "result", task, "--out", str(out)))
    outs = {o["path"]: o for o in json.loads((out / "receipt.json").read_text())["outputs"]}
    body = s3.get_object(Bucket=bucket, Key="proof runs/2024-01-15/public.txt")["Body"].read()
    assert outs["public.txt"]["sha256"] == hashlib.sha256(body).hexdigest()
    # the public output is readable by anyone; the others are not
    base = f"{tsrv.endpoint}/{bucket}/" + urllib.parse.quote("proof runs/2024-01-15/")
    assert urllib.request.urlopen(base + "public.txt").read() == b"hello world\n"
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(base + "result.json")
    assert e.value.code == 403
    # a key that does not match starts nothing; outputs never trigger their own app
    s3.put_object(Bucket=bucket, Key="proof runs/2024-01-15/other.json", Body=b"{}")
    time.sleep(1)
    assert tasks_of(tsrv, owner, echo_app) == [task]


def test_s3api_configuration_behaves_the_same(tsrv, owner, echo_app, tmp_path):
    s3 = tsrv.boto3_client("s3", owner)
    account = tsrv.boto3_client("sts", owner).get_caller_identity()["Account"]
    for cli in AWS_CLIS:  # v2, and v1 when installed
        bucket = uniq(f"trig{cli[0][-2:]}")
        s3.create_bucket(Bucket=bucket)
        s3.delete_public_access_block(Bucket=bucket)  # public outputs: new buckets block them (AWS default)
        conf = {"LambdaFunctionConfigurations": [{
            "Id": "por", "Events": ["s3:ObjectCreated:*"],
            "LambdaFunctionArn": f"arn:aws:lambda:us-east-1:{account}:function:{echo_app}",
            "Filter": {"Key": {"FilterRules": [{"Name": "suffix",
                                                "Value": "private_ledger.json"}]}}}]}
        n = tmp_path / f"n-{cli[0]}.json"
        n.write_text(json.dumps(conf))
        rc, _, err = tsrv.aws(cli, ["s3api", "put-bucket-notification-configuration", "--bucket",
                                    bucket, "--notification-configuration", f"file://{n}"],
                              creds=owner)
        assert rc == 0, err
        before = set(tasks_of(tsrv, owner, echo_app))
        s3.put_object(Bucket=bucket, Key="x/private_ledger.json", Body=b"v")
        assert json.loads(wait_object(s3, bucket, "x/result.json"))["input"] == "v"
        new = set(tasks_of(tsrv, owner, echo_app)) - before
        assert len(new) == 1
        s3.put_object(Bucket=bucket, Key="x/other.json", Body=b"v")
        time.sleep(0.5)
        assert set(tasks_of(tsrv, owner, echo_app)) - before == new


def test_a_target_that_is_not_an_app_is_refused(tsrv, owner):
    s3 = tsrv.boto3_client("s3", owner)
    account = tsrv.boto3_client("sts", owner).get_caller_identity()["Account"]
    bucket = uniq("trigbad")
    s3.create_bucket(Bucket=bucket)
    with pytest.raises(Exception) as e:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
            "LambdaFunctionConfigurations": [{
                "LambdaFunctionArn": f"arn:aws:lambda:us-east-1:{account}:function:nope",
                "Events": ["s3:ObjectCreated:*"]}]})
    err = e.value.response["Error"]
    assert err["Code"] == "InvalidArgument", err
    assert "no app named nope" in err.get("ArgumentValue", ""), err  # AWS's detail element


def test_block_public_access_refuses_public_outputs(tsrv, owner, echo_app):
    s3 = tsrv.boto3_client("s3", owner)
    bucket = uniq("trigbpa")
    s3.create_bucket(Bucket=bucket)
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True})
    ok(cl(tsrv, owner, "trigger", "add", "--bucket", bucket, "--prefix", "in/", "--app",
          echo_app))
    before = set(tasks_of(tsrv, owner, echo_app))
    s3.put_object(Bucket=bucket, Key="in/x", Body=b"v")
    task = None
    for _ in range(100):
        new = set(tasks_of(tsrv, owner, echo_app)) - before
        if new:
            task = new.pop()
            break
        time.sleep(0.05)
    doc = wait_done(tsrv, owner, task)
    assert doc["State"] == "failed" and "BlockPublicAcls" in doc["Error"], doc
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="in/result")


def test_crash_between_upload_and_enqueue_gives_one_task(make_server, monkeypatch):
    """The event is written in the object's own transaction: the server dying
    right after that commit (fault point event-after-commit) neither loses it nor
    runs it twice."""
    monkeypatch.setenv("CLOISTER_TEST_CRASH_AT", "event-after-commit")
    srv = make_server("trigcrash")
    creds = srv.admin_creds()
    app = uniq("echo")
    deploy(srv, creds, ECHO, app, "python3 /app/app.py", MANIFEST)
    s3 = srv.boto3_client("s3", creds)
    bucket = "crash"
    s3.create_bucket(Bucket=bucket)
    s3.delete_public_access_block(Bucket=bucket)  # public outputs: new buckets block them (AWS default)
    ok(cl(srv, creds, "trigger", "add", "--bucket", bucket, "--suffix", ".json", "--app", app))
    with pytest.raises(Exception):
        s3.put_object(Bucket=bucket, Key="a/private_ledger.json", Body=b"crash")
    srv.proc.wait(10)
    assert srv.proc.returncode == 9, srv.stderr_tail()
    srv.kill()
    monkeypatch.delenv("CLOISTER_TEST_CRASH_AT")
    srv.start()
    s3 = srv.boto3_client("s3", creds)
    assert json.loads(wait_object(s3, bucket, "a/result.json"))["input"] == "crash"
    time.sleep(0.5)
    tasks = tasks_of(srv, creds, app)
    assert len(tasks) == 1, tasks
    assert wait_done(srv, creds, tasks[0])["State"] == "done"


def test_queue_configuration_delivers_to_a_queue(tsrv, owner):
    """QueueConfiguration: events wait in a Cloister queue for an external consumer
    (ReceiveEvents / DeleteEvent, SQS's visibility model); another account's queue
    is refused as a destination."""
    s3 = tsrv.boto3_client("s3", owner)
    account = tsrv.boto3_client("sts", owner).get_caller_identity()["Account"]
    bucket = uniq("trigq")
    s3.create_bucket(Bucket=bucket)
    q = f"arn:aws:sqs:us-east-1:{account}:{uniq('q')}"
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [{"Id": "ext", "QueueArn": q, "Events": ["s3:ObjectCreated:*"],
                                 "Filter": {"Key": {"FilterRules": [
                                     {"Name": "prefix", "Value": "in/"}]}}}]})
    s3.put_object(Bucket=bucket, Key="in/a b.json", Body=b"12345")
    s3.put_object(Bucket=bucket, Key="out/x", Body=b"1")
    msgs = []
    for _ in range(200):
        msgs = tsrv.cloister_call(owner, "ReceiveEvents",
                                  {"Queue": q, "MaxMessages": 10, "VisibilityTimeout": 2})["Messages"]
        if msgs:
            break
        time.sleep(0.02)
    assert len(msgs) == 1, msgs
    rec = json.loads(msgs[0]["Body"])["Records"][0]
    assert rec["eventName"] == "ObjectCreated:Put" and rec["s3"]["object"]["key"] == "in/a+b.json"
    assert rec["s3"]["configurationId"] == "ext" and rec["s3"]["object"]["size"] == 5
    # invisible while being handled, then given again (at least once)
    assert tsrv.cloister_call(owner, "ReceiveEvents", {"Queue": q})["Messages"] == []
    time.sleep(2.2)
    again = tsrv.cloister_call(owner, "ReceiveEvents", {"Queue": q})["Messages"]
    assert [m["MessageId"] for m in again] == [msgs[0]["MessageId"]]
    with pytest.raises(Exception) as e:  # the first handle is stale now
        tsrv.cloister_call(owner, "DeleteEvent", {"Queue": q,
                                                  "ReceiptHandle": msgs[0]["ReceiptHandle"]})
    assert "ReceiptHandleIsInvalid" in str(e.value)
    tsrv.cloister_call(owner, "DeleteEvent", {"Queue": q, "ReceiptHandle": again[0]["ReceiptHandle"]})
    time.sleep(0.1)
    assert tsrv.cloister_call(owner, "ReceiveEvents", {"Queue": q, "VisibilityTimeout": 0})[
        "Messages"] == []
    with pytest.raises(Exception) as e:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": "arn:aws:sqs:us-east-1:000000000000:theirs",
                                     "Events": ["s3:ObjectCreated:*"]}]})
    assert e.value.response["Error"]["Code"] == "InvalidArgument"
