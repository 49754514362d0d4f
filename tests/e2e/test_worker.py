"""Remote workers (`cloister worker`, docs/tasks.md "Remote workers") and
requests from outside (`cloister request submit`): issue 12's must-holds.

- Start-up: a missing or empty variable (endpoint, region, credentials, role)
  is named at start, exit 2; an endpoint without http(s):// gets its own
  message, not a generic "unsupported scheme" deep in a request; AssumeRole
  refused -> exit 2 with STS's code.
- Gated inputs: account A's SSE-KMS bucket whose bucket and key policies admit
  only A's role R (trusted by account B). A worker with B's keys plus
  AWS_ROLE_ARN=R downloads the input and completes; the same worker without the
  role fails the task with AccessDenied.
- --require-role R: a worker without R never leases it; one with R does.
- kill -9 of a worker mid-run: leased again after the lease expires, done once.
- Two workers, fifty tasks: each runs exactly once.

The node runs no local workers (`--workers 0`), so every task here is run by a
`cloister worker` subprocess with credentials in its environment."""
import base64
import io
import json
import re
import os
import signal
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import BIN, REGION, boto3_client, uniq

APP_DIR = Path(__file__).resolve().parent / "apps" / "copy-input"
LEASE_S = 3


def creds_of(doc):
    return {k: doc[k] for k in ("AccessKeyId", "SecretAccessKey", "SessionToken") if doc.get(k)}


def base_env(srv=None, creds=None, region=REGION, tmp=None):
    """A clean environment: no AWS_* or CLOISTER_ENDPOINT but what is given."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k != "CLOISTER_ENDPOINT"}
    home = str(tmp) if tmp else "/nonexistent-home"
    env["HOME"] = home  # no ~/.aws of the machine's user
    if srv is not None:
        env["CLOISTER_ENDPOINT"] = srv.endpoint
    if region is not None:
        env["AWS_REGION"] = region
    if creds is not None:
        env["AWS_ACCESS_KEY_ID"] = creds["AccessKeyId"]
        env["AWS_SECRET_ACCESS_KEY"] = creds["SecretAccessKey"]
        if creds.get("SessionToken"):
            env["AWS_SESSION_TOKEN"] = creds["SessionToken"]
    return env


def cloister(env, *args, timeout=60):
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def ok(p):
    assert p.returncode == 0, f"exit {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}"
    return p


def api(srv, creds, op, body):
    """A SigV4-signed Cloister.<op> JSON 1.1 call -> (HTTP status, JSON answer)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    req = AWSRequest(method="POST", url=srv.endpoint + "/", data=json.dumps(body).encode(),
                     headers={"Content-Type": "application/x-amz-json-1.1",
                              "X-Amz-Target": f"Cloister.{op}"})
    SigV4Auth(Credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds.get("SessionToken")),
              "cloister", REGION).add_auth(req)
    r = urllib.request.Request(req.url, data=req.body, headers=dict(req.headers.items()),
                               method="POST")
    try:
        with urllib.request.urlopen(r, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def call(srv, creds, op, body):
    status, doc = api(srv, creds, op, body)
    assert status == 200, f"{op}: HTTP {status} {doc}"
    return doc


def task_of(srv, creds, task_id):
    return call(srv, creds, "GetTask", {"TaskId": task_id})["Task"]


def wait_state(srv, creds, task_id, states, timeout=40):
    end = time.time() + timeout
    while True:
        t = task_of(srv, creds, task_id)
        if t["State"] in states or time.time() > end:
            return t
        time.sleep(0.1)


class Worker:
    """A `cloister worker` subprocess; its stderr (the log) goes to a file."""

    def __init__(self, srv, creds, tmp, *args, role_arn=None, name=None):
        name = name or uniq("w")
        self.log_path = tmp / f"{name}.log"
        env = base_env(srv, creds, tmp=tmp)
        if role_arn:
            env["AWS_ROLE_ARN"] = role_arn
            env["AWS_ROLE_SESSION_NAME"] = name
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [str(BIN), "worker", "--work-dir", str(tmp / f"{name}-work"), "--wait-seconds", "1",
             *args],
            stdout=subprocess.DEVNULL, stderr=self.log, env=env)

    def wait(self, timeout=60):
        rc = self.proc.wait(timeout=timeout)
        self.log.close()
        return rc

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def text(self):
        return self.log_path.read_text()


# --------------------------------------------------------------------------- start-up refusals
GOOD = {"AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "SecretAccessKey": "x" * 40}


def refusal(env, *args):
    p = cloister(env, "worker", "--work-dir", "/nonexistent/never-created", *args, timeout=20)
    lines = [line for line in p.stderr.splitlines() if line.strip()]
    return p.returncode, lines


class FakeSrv:
    endpoint = "http://127.0.0.1:9"  # nothing listens: the checks come first


@pytest.mark.parametrize("change,named", [
    ({"CLOISTER_ENDPOINT": None}, "CLOISTER_ENDPOINT"),
    ({"CLOISTER_ENDPOINT": ""}, "CLOISTER_ENDPOINT"),
    ({"AWS_REGION": None}, "AWS_REGION"),
    ({"AWS_REGION": ""}, "AWS_REGION"),
    ({"AWS_DEFAULT_REGION": ""}, "AWS_DEFAULT_REGION"),
    ({"AWS_ACCESS_KEY_ID": ""}, "AWS_ACCESS_KEY_ID"),
    ({"AWS_SECRET_ACCESS_KEY": ""}, "AWS_SECRET_ACCESS_KEY"),
    ({"AWS_SECRET_ACCESS_KEY": None}, "AWS_SECRET_ACCESS_KEY"),
    ({"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None}, "AWS_ACCESS_KEY_ID"),
    ({"AWS_SESSION_TOKEN": ""}, "AWS_SESSION_TOKEN"),
    ({"AWS_ROLE_ARN": ""}, "AWS_ROLE_ARN"),
    ({"AWS_PROFILE": ""}, "AWS_PROFILE"),
    ({"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_PROFILE": "nosuch"},
     "AWS_PROFILE"),
], ids=lambda v: json.dumps(v) if isinstance(v, dict) else v)
def test_refuses_to_start_naming_the_variable(change, named, tmp_path):
    env = base_env(FakeSrv, GOOD, tmp=tmp_path)
    for k, v in change.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    rc, lines = refusal(env)
    assert rc == 2, lines
    assert len(lines) == 1 and named in lines[0], lines
    assert "unsupported" not in lines[0].lower(), lines


@pytest.mark.parametrize("endpoint", ["127.0.0.1:9000", "localhost", "ftp://h:21", "http://"])
def test_endpoint_scheme_named(endpoint, tmp_path):
    env = base_env(FakeSrv, GOOD, tmp=tmp_path)
    env["CLOISTER_ENDPOINT"] = endpoint
    rc, lines = refusal(env)
    assert rc == 2 and lines == [
        f"cloister worker: CLOISTER_ENDPOINT must start with http:// or https:// (got {endpoint})"], lines
    rc, lines = refusal(base_env(FakeSrv, GOOD, tmp=tmp_path), "--endpoint", endpoint)
    assert rc == 2 and len(lines) == 1 and "must start with http:// or https://" in lines[0], lines


def test_profile_region_and_assume_role_refused(server, tmp_path):
    """Credentials and region from a profile (~/.aws/credentials and config)
    are accepted; an AssumeRole STS refuses stops the worker with STS's code."""
    aws = tmp_path / ".aws"
    aws.mkdir()
    a = server.admin_creds()
    (aws / "credentials").write_text(
        f"[prover]\naws_access_key_id = {a['AccessKeyId']}\naws_secret_access_key = {a['SecretAccessKey']}\n")
    (aws / "config").write_text(f"[profile prover]\nregion = {REGION}\n")
    env = base_env(server, None, region=None, tmp=tmp_path)
    env["AWS_PROFILE"] = "prover"
    env["AWS_ROLE_ARN"] = "arn:aws:iam::000000000000:role/NoSuchRole"
    rc, lines = refusal(env)
    assert rc == 2 and len(lines) == 1, lines
    assert "AWS_ROLE_ARN" in lines[0] and "AccessDenied" in lines[0], lines
    # without the profile's region the same configuration names AWS_REGION
    (aws / "config").write_text("[profile prover]\n")
    rc, lines = refusal(env)
    assert rc == 2 and len(lines) == 1 and "AWS_REGION" in lines[0], lines


def test_request_submit_usage():
    need = "request submit needs --app APP and at least one --input URL"
    p = cloister(base_env(FakeSrv, GOOD), "request", "submit", "--input", "s3://b/k")
    assert p.returncode == 2 and need in p.stderr, p.stderr
    p = cloister(base_env(FakeSrv, GOOD), "request", "submit", "--program", "x")
    assert p.returncode == 2 and need in p.stderr, p.stderr
    p = cloister(base_env(FakeSrv, GOOD), "request", "submit", "--app", "x", "--input", "u",
                 "--priority", "10")
    assert p.returncode == 2 and "--priority 10" in p.stderr, p.stderr


# --------------------------------------------------------------------------- with the queue
@pytest.fixture(scope="module")
def wsrv(make_server):
    return make_server("worker", extra_args=["--workers", "0", "--task-lease-seconds",
                                             str(LEASE_S)])


@pytest.fixture(scope="module")
def world(wsrv, tmp_path_factory):
    """A's app, A's gated SSE-KMS bucket and input, role R in A trusted by B."""
    a = wsrv.admin_creds()
    tmp = tmp_path_factory.mktemp("world")
    app = uniq("copy")
    ok(cloister(base_env(wsrv, a, tmp=tmp), "app", "deploy", str(APP_DIR), "--name", app,
                "--entrypoint", "python3 /app/copy.py"))
    rc, b, _, err = wsrv.account_create(uniq("workerB"))
    assert rc == 0, err
    iam, kms, s3 = (wsrv.boto3_client(x, a) for x in ("iam", "kms", "s3"))
    role = uniq("Prover")
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{b['AccountId']}:root"},
            "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    iam.put_role_policy(RoleName=role, PolicyName="work", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
            "cloister:LeaseTask", "cloister:HeartbeatTask", "cloister:GetTaskBundle",
            "cloister:AttestTask", "cloister:FinishTask"], "Resource": "*"}]}))
    key = kms.create_key(Description="gated inputs")["KeyMetadata"]
    pol = json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
    pol["Statement"].append({"Sid": "ProverDecrypt", "Effect": "Allow",
                             "Principal": {"AWS": role_arn}, "Action": "kms:Decrypt",
                             "Resource": "*"})
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=json.dumps(pol))
    bucket = uniq("gated")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                               "KMSMasterKeyID": key["Arn"]}}]})
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": role_arn}, "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/*"}]}))
    data = json.dumps({"ledger": os.urandom(8).hex()}).encode()
    s3.put_object(Bucket=bucket, Key="runs/in.json", Body=data)
    assert s3.head_object(Bucket=bucket, Key="runs/in.json")["ServerSideEncryption"] == "aws:kms"
    return {"a": a, "b": creds_of(b), "app": app, "role": role_arn, "bucket": bucket,
            "input": f"s3://{bucket}/runs/in.json", "data": data,
            "path_url": f"{wsrv.endpoint}/{bucket}/runs/in.json"}


def submit(wsrv, world, *args, creds=None):
    env = base_env(wsrv, creds or world["a"])
    p = ok(cloister(env, "request", "submit", "--app", world["app"], *args))
    doc = json.loads(p.stdout)
    assert doc["TaskId"] and doc["State"] == "queued", doc
    return doc["TaskId"]


def outputs(wsrv, creds, task_id):
    res = call(wsrv, creds, "GetTaskResult", {"TaskId": task_id})
    tar = tarfile.open(fileobj=io.BytesIO(base64.b64decode(res["Output"])))
    return {m.name.lstrip("./"): tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def test_role_worker_reads_gated_sse_kms_input(wsrv, world, tmp_path):
    """s3:// input of A's gated bucket, --require-role R: B's own worker never
    leases it (it stays queued after B polled); B's worker with
    AWS_ROLE_ARN=R leases it, downloads the SSE-KMS object and completes."""
    task = submit(wsrv, world, "--input", world["input"], "--require-role", world["role"])
    w = Worker(wsrv, world["b"], tmp_path, "--once")
    assert w.wait() == 0, w.text()
    assert task not in w.text(), w.text()
    assert task_of(wsrv, world["a"], task)["State"] == "queued"
    w = Worker(wsrv, world["b"], tmp_path, "--once", role_arn=world["role"])
    assert w.wait() == 0, w.text()
    t = wait_state(wsrv, world["a"], task, ("done", "failed"))
    assert t["State"] == "done", (t, w.text())
    assert world["data"] in outputs(wsrv, world["a"], task).values()
    assert f"leased task {task}" in w.text() and f"task {task} done" in w.text(), w.text()


@pytest.mark.parametrize("kind", ["input", "path_url"])
def test_worker_without_role_fails_with_access_denied(wsrv, world, tmp_path, kind):
    """The gated object as s3://A-bucket/KEY (A, its owner, submits it) or as
    a path-style endpoint URL, no required role: B's worker leases it and S3
    refuses B's own keys -> AccessDenied in the task's error and log; B's
    worker with the role completes a second such task."""
    url = world[kind]
    task = submit(wsrv, world, "--input", url)
    w = Worker(wsrv, world["b"], tmp_path, "--once")
    assert w.wait() == 0, w.text()
    t = wait_state(wsrv, world["a"], task, ("done", "failed"))
    assert t["State"] == "failed", t
    logs = call(wsrv, world["a"], "GetTaskLogs", {"TaskId": task})
    seen = t.get("Error", "") + logs.get("Stdout", "") + logs.get("Stderr", "")
    assert "AccessDenied" in seen and "AccessDenied" in t.get("Error", ""), (t, logs)
    assert url in t.get("Error", ""), t
    assert f"task {task} failed" in w.text() and "AccessDenied" in w.text(), w.text()
    task = submit(wsrv, world, "--input", url, "--arg", kind)
    w = Worker(wsrv, world["b"], tmp_path, "--once", role_arn=world["role"])
    assert w.wait() == 0, w.text()
    assert wait_state(wsrv, world["a"], task, ("done", "failed"))["State"] == "done", w.text()
    assert world["data"] in outputs(wsrv, world["a"], task).values()
    # the remote worker's log reaches the node line by line, with times
    log = wsrv.cloister_call(world["a"], "GetTaskLogs", {"TaskId": task})["Log"]
    assert re.search(r"^\d{4}-\d\d-\d\dT[\d:.]+Z out copied 1 inputs$", log, re.M), log


def test_presigned_input_fetched_as_is(wsrv, world, tmp_path):
    """A presigned URL (SigV4, as Boundless makes them) is fetched as is:
    whoever presigned it decided. (The node accepts SigV4 only.)"""
    s3 = boto3_client(wsrv.endpoint, "s3", world["a"], signature_version="s3v4")
    presigned = s3.generate_presigned_url("get_object", Params={
        "Bucket": world["bucket"], "Key": "runs/in.json"}, ExpiresIn=600)
    task = submit(wsrv, world, "--input", presigned, "--arg", "presigned")
    w = Worker(wsrv, world["b"], tmp_path, "--once")  # B's own keys: the URL decides
    assert w.wait() == 0, w.text()
    assert wait_state(wsrv, world["a"], task, ("done", "failed"))["State"] == "done", w.text()
    assert world["data"] in outputs(wsrv, world["a"], task).values()


def test_kill_9_mid_run_leased_again_and_done_once(wsrv, world, tmp_path):
    a = world["a"]
    task = submit(wsrv, world, "--input", world["path_url"], "--arg", "sleep", "--arg", "2",
                  "--arg", "killed")
    w1 = Worker(wsrv, a, tmp_path, "--once")
    t = wait_state(wsrv, a, task, ("running",), timeout=30)
    assert t["State"] == "running", (t, w1.text())
    w1.proc.kill()  # SIGKILL: no FinishTask, no heartbeat any more
    w1.wait()
    assert "done" not in task_of(wsrv, a, task)["State"]
    w2 = Worker(wsrv, a, tmp_path, "--max-tasks", "1")
    try:
        t = wait_state(wsrv, a, task, ("done", "failed"), timeout=40)
    finally:
        w2.stop()
    assert t["State"] == "done", (t, w2.text())
    assert t["Attempt"] == 2, t
    assert [s["State"] for s in t["States"]].count("done") == 1, t["States"]
    assert f"leased task {task} (attempt 2)" in w2.text(), w2.text()
    files = outputs(wsrv, a, task)
    assert json.loads(files["args.json"]) == ["killed"], files


def test_two_workers_many_tasks_each_once(wsrv, world, tmp_path):
    """Two workers drain a queue of N tasks: each runs exactly once (first attempt),
    each has its own result, each "done" is logged once."""
    n_tasks = 24
    a = world["a"]
    ids = []
    for i in range(n_tasks):
        doc = call(wsrv, a, "SubmitRequest", {"App": world["app"], "Args": [str(i)],
                                              "Inputs": [{"Url": world["path_url"]}]})
        ids.append(doc["TaskId"])
    workers = [Worker(wsrv, a, tmp_path, name=f"many{n}") for n in range(2)]
    try:
        end = time.time() + 150
        while time.time() < end:
            states = [task_of(wsrv, a, t)["State"] for t in ids]
            if all(s in ("done", "failed") for s in states):
                break
            time.sleep(1)
    finally:
        for w in workers:
            w.stop()
    tasks = [task_of(wsrv, a, t) for t in ids]
    assert [t["State"] for t in tasks] == ["done"] * n_tasks, [(t["TaskId"], t["State"]) for t in tasks]
    assert all(t["Attempt"] == 1 for t in tasks), [t["Attempt"] for t in tasks]
    assert len({t["ResultDigest"] for t in tasks}) == n_tasks
    logs = "".join(w.text() for w in workers)
    assert sum(f"task {t} done" in logs for t in ids) == n_tasks
    assert sum(line.endswith(" done") for line in logs.splitlines()) == n_tasks, logs


def test_request_submit_watch(wsrv, world, tmp_path):
    """`request submit --program … --watch` prints each state as `run --watch`
    does and exits 0 once a worker has done the task."""
    w = Worker(wsrv, world["a"], tmp_path, "--max-tasks", "1")
    try:
        p = cloister(base_env(wsrv, world["a"]), "request", "submit", "--program", world["app"],
                     "--input", world["path_url"], "--arg", "watched", "--priority", "9",
                     "--watch", timeout=60)
    finally:
        w.stop()
    assert p.returncode == 0, (p.stdout, p.stderr, w.text())
    states = [line.split()[-1] for line in p.stdout.splitlines() if line[:4].isdigit()]
    assert states[0] == "queued" and states[-1] == "done", p.stdout
    summary = json.loads(p.stdout[p.stdout.index("{"):])
    assert summary["State"] == "done" and summary["ResultDigest"].startswith("0x"), summary
