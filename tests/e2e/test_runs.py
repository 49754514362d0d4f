"""Confidential runs (docs/runs.md, docs/attestation.md): `cloister run` of apps
written for iExec, unmodified, in the sandbox, with the app developer secret and
requester secrets mapped into IEXEC_APP_DEVELOPER_SECRET / IEXEC_REQUESTER_SECRET_N;
results with a receipt that verifies offline; secrets that reach no other app,
no other principal, no debug run and nothing on disk or in logs; a sandbox the
app cannot get out of; computed.json checked as iExec checks it."""
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from conftest import BIN, REGION, new_user, uniq

APPS = Path(__file__).resolve().parent / "apps"
PROBE = APPS / "probe"


def cl(srv, creds, *args, stdin=None, timeout=60):
    """Runs `cloister ARGS --endpoint srv` with creds -> CompletedProcess."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k != "CLOISTER_ENDPOINT"}
    env.update({"AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
                "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
                "AWS_DEFAULT_REGION": REGION, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "CLOISTER_ENDPOINT": srv.endpoint})
    if creds.get("SessionToken"):
        env["AWS_SESSION_TOKEN"] = creds["SessionToken"]
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, env=env,
                          input=stdin, timeout=timeout)


def ok(p):
    assert p.returncode == 0, f"exit {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}"
    return p


def deploy(srv, creds, src, name, entrypoint, manifest=None, tmp=None):
    args = ["app", "deploy", str(src), "--name", name, "--entrypoint", entrypoint]
    if manifest is not None:
        args += ["--manifest", json.dumps(manifest)]
    return json.loads(ok(cl(srv, creds, *args)).stdout)


def run(srv, creds, app, *args):
    """`cloister run APP ARGS --watch` -> (exit code, final summary or None, stdout, stderr)."""
    p = cl(srv, creds, "run", app, *args, "--watch", timeout=120)
    summary = None
    start = p.stdout.find("{")
    if start >= 0:
        summary = json.loads(p.stdout[start:])
    return p.returncode, summary, p.stdout, p.stderr


def result(srv, creds, task, tmp_path):
    out = tmp_path / f"res-{task[:10]}-{uniq('r')}"
    p = ok(cl(srv, creds, "task", "result", task, "--out", str(out)))
    return out, json.loads(p.stdout)


def logs(srv, creds, task):
    p = cl(srv, creds, "task", "logs", task)
    return p.stdout + p.stderr


def show(srv, creds, task):
    return json.loads(ok(cl(srv, creds, "task", "show", task)).stdout)


@pytest.fixture(scope="module")
def rsrv(make_server):
    return make_server("runs")


@pytest.fixture(scope="module")
def owner(rsrv):
    return rsrv.admin_creds()


@pytest.fixture(scope="module")
def poly(rsrv, owner):
    """The tutorial's node app, its developer secret 1;1;1;1, and the owner's x1=2."""
    name = uniq("poly")
    doc = deploy(rsrv, owner, APPS / "secret-function-js", name, "node /app/app.js")
    ok(cl(rsrv, owner, "app", "secret", "push", name, "--value", "1;1;1;1"))
    ok(cl(rsrv, owner, "secret", "push", "x1", "--value", "2"))
    return name, doc


def probe_app(srv, creds, tmp_path, manifest=None):
    name = uniq("probe")
    return name, deploy(srv, creds, PROBE, name, "python3 /app/probe.py", manifest)


def probe_result(srv, creds, task, tmp_path):
    out, _ = result(srv, creds, task, tmp_path)
    return json.loads((out / "result.json").read_text())


# --------------------------------------------------------------------------- the seed workflow
def test_seed_node_app_with_secrets_and_receipt(rsrv, owner, poly, tmp_path):
    name, doc = poly
    rc, summary, out, err = run(rsrv, owner, name, "--secret", "1=x1")
    assert rc == 0, out + err
    states = [line.split()[-1] for line in out.splitlines() if line[:4].isdigit()]
    assert states == ["queued", "leased", "running", "uploading", "done"], out
    assert summary["State"] == "done" and summary["Measurement"] == doc["Measurement"]
    res, info = result(rsrv, owner, summary["TaskId"], tmp_path)
    assert (res / "result.txt").read_text() == '{"x":2,"result":15}'
    assert json.loads((res / "computed.json").read_text()) == {
        "deterministic-output-path": "/iexec_out/result.txt"}
    # iExec's rule for a single-file result: SHA-256 of its bytes
    digest = "0x" + hashlib.sha256(b'{"x":2,"result":15}').hexdigest()
    assert info["ResultDigest"] == digest == summary["ResultDigest"]
    receipt = json.loads((res / "receipt.json").read_text())
    assert receipt["task"] == summary["TaskId"]
    assert receipt["app"]["measurement"] == doc["Measurement"]
    assert receipt["result"]["digest"] == digest
    p = ok(cl(rsrv, owner, "result", "verify", str(res / "receipt.json"),
              "--data", str(rsrv.data_dir)))
    assert summary["TaskId"] in p.stdout and digest in p.stdout
    # the receipt names the app's measurement as PCR0 of its attestation document
    assert doc["Measurement"] in p.stdout


def test_receipt_tampered_or_other_root_fails(rsrv, owner, poly, tmp_path, make_server):
    name, _ = poly
    rc, summary, out, err = run(rsrv, owner, name, "--secret", "1=x1")
    assert rc == 0, out + err
    res, _ = result(rsrv, owner, summary["TaskId"], tmp_path)
    receipt = json.loads((res / "receipt.json").read_text())
    bad = dict(receipt, result=dict(receipt["result"], digest="0x" + "00" * 32))
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    p = cl(rsrv, owner, "result", "verify", str(tmp_path / "bad.json"),
           "--data", str(rsrv.data_dir))
    assert p.returncode == 1 and "does not verify" in p.stderr, p.stdout + p.stderr
    other = make_server("runs-other-root")
    p = cl(rsrv, owner, "result", "verify", str(res / "receipt.json"),
           "--data", str(other.data_dir))
    assert p.returncode == 1 and "does not verify" in p.stderr, p.stdout + p.stderr


def test_python_app(rsrv, owner, tmp_path):
    name = uniq("polypy")
    deploy(rsrv, owner, APPS / "secret-function-py", name, "python3 /app/app.py")
    ok(cl(rsrv, owner, "app", "secret", "push", name, "--value", "1;2;3;4"))
    rc, summary, out, err = run(rsrv, owner, name, "--secret", "1=x1")
    assert rc == 0, out + err
    res, _ = result(rsrv, owner, summary["TaskId"], tmp_path)
    # 1*8 + 2*4 + 3*2 + 4
    assert json.loads((res / "result.txt").read_text()) == {"x": 2.0, "result": 26.0}
    assert "compute" in logs(rsrv, owner, summary["TaskId"])


def test_static_c_app(rsrv, owner, tmp_path):
    gcc = shutil.which("gcc") or shutil.which("cc")
    assert gcc, "a C compiler is needed to build the test's static app"
    src = tmp_path / "capp"
    src.mkdir()
    subprocess.run([gcc, "-static", "-O2", "-o", str(src / "app"),
                    str(APPS / "secret-function-c" / "app.c")], check=True)
    name = uniq("polyc")
    deploy(rsrv, owner, src, name, "/app/app")
    ok(cl(rsrv, owner, "app", "secret", "push", name, "--value", "2;0;0;1"))
    rc, summary, out, err = run(rsrv, owner, name, "--secret", "1=x1")
    assert rc == 0, out + err
    res, _ = result(rsrv, owner, summary["TaskId"], tmp_path)
    assert (res / "result.txt").read_text() == '{"x":2,"result":17}'


def test_no_app_secret_app_prints_missing(rsrv, owner, tmp_path):
    name = uniq("nosecret")
    deploy(rsrv, owner, APPS / "secret-function-js", name, "node /app/app.js")
    rc, summary, out, err = run(rsrv, owner, name)
    assert rc == 0, out + err
    text = logs(rsrv, owner, summary["TaskId"])
    assert "missing IEXEC_APP_DEVELOPER_SECRET" in text
    assert "missing IEXEC_REQUESTER_SECRET_1" in text
    res, _ = result(rsrv, owner, summary["TaskId"], tmp_path)
    assert (res / "result.txt").read_text() == '{"x":1,"result":4}'


def test_unknown_secret_fails_before_the_app_starts(rsrv, owner, poly):
    name, _ = poly
    rc, summary, out, err = run(rsrv, owner, name, "--secret", "1=nosuch")
    assert rc == 1 and summary["State"] == "failed"
    assert "nosuch" in summary["Error"] and "IEXEC_REQUESTER_SECRET_1" in summary["Error"]
    states = [s["State"] for s in show(rsrv, owner, summary["TaskId"])["States"]]
    assert "running" not in states, states
    assert logs(rsrv, owner, summary["TaskId"]) == ""


# --------------------------------------------------------------------------- iExec env contract
def test_env_inputs_args(rsrv, owner, tmp_path):
    s3 = rsrv.boto3_client("s3", owner)
    bucket = uniq("runin")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="dir/in.txt", Body=b"from s3")
    local = tmp_path / "local.txt"
    local.write_bytes(b"from a file")
    name, _ = probe_app(rsrv, owner, tmp_path)
    rc, summary, out, err = run(rsrv, owner, name, "--input", str(local),
                                "--input", f"s3://{bucket}/dir/in.txt",
                                "--arg", "env", "--arg", "two words")
    assert rc == 0, out + err
    r = probe_result(rsrv, owner, summary["TaskId"], tmp_path)
    env, task = r["env"], summary["TaskId"]
    assert r["argv"] == ["env", "two words"]  # the args follow the entrypoint as argv
    assert env["IEXEC_IN"] == "/iexec_in" and env["IEXEC_OUT"] == "/iexec_out"
    assert env["IEXEC_TASK_ID"] == task and env["IEXEC_TASK_INDEX"] == "0"
    assert env["IEXEC_BOT_SIZE"] == "1" and env["IEXEC_BOT_FIRST_INDEX"] == "0"
    assert env["IEXEC_BOT_TASK_INDEX"] == "0"
    assert env["IEXEC_DEAL_ID"].startswith("0x") and len(env["IEXEC_DEAL_ID"]) == 66
    assert env["IEXEC_INPUT_FILES_NUMBER"] == "2"
    assert env["IEXEC_INPUT_FILES_FOLDER"] == "/iexec_in"
    n1 = "0x" + hashlib.sha256(str(local).encode()).hexdigest()
    n2 = "0x" + hashlib.sha256(f"s3://{bucket}/dir/in.txt".encode()).hexdigest()
    assert env["IEXEC_INPUT_FILE_NAME_1"] == n1 and env["IEXEC_INPUT_FILE_NAME_2"] == n2
    assert r["inputs"] == {n1: "from a file", n2: "from s3"}
    assert "IEXEC_APP_DEVELOPER_SECRET" not in env
    assert not any(k.startswith("IEXEC_REQUESTER_SECRET") for k in env)
    assert not any(k.startswith("AWS_") for k in env), env
    # of Cloister's own, only the app's attestation channel (docs/runs.md)
    assert [k for k in env if k.startswith("CLOISTER")] == ["CLOISTER_ATTESTATION_FD"], env
    # the receipt carries the input digests
    res, _ = result(rsrv, owner, task, tmp_path)
    receipt = json.loads((res / "receipt.json").read_text())
    assert {i["name"]: i["sha256"] for i in receipt["inputs"]} == {
        n1: hashlib.sha256(b"from a file").hexdigest(),
        n2: hashlib.sha256(b"from s3").hexdigest()}


def test_secret_mapping_indexes(rsrv, owner, tmp_path):
    ok(cl(rsrv, owner, "secret", "push", "bar", "--value", "bar-value"))
    name, _ = probe_app(rsrv, owner, tmp_path)
    rc, summary, out, err = run(rsrv, owner, name, "--secret", "1=x1", "3=bar", "--arg", "env")
    assert rc == 0, out + err
    env = probe_result(rsrv, owner, summary["TaskId"], tmp_path)["env"]
    assert env["IEXEC_REQUESTER_SECRET_1"] == "2"
    assert env["IEXEC_REQUESTER_SECRET_3"] == "bar-value"
    assert "IEXEC_REQUESTER_SECRET_2" not in env


# --------------------------------------------------------------------------- computed.json
@pytest.mark.parametrize("mode,words", [
    ("missing", "computed.json"), ("malformed", "computed.json"),
    ("outside", "/iexec_out"), ("dotdot", "/iexec_out"), ("symlink", "symbolic link"),
    ("nopath", "deterministic-output-path")])
def test_computed_json_refused(rsrv, owner, tmp_path, mode, words):
    name, _ = probe_app(rsrv, owner, tmp_path)
    rc, summary, out, err = run(rsrv, owner, name, "--arg", "computed", "--arg", mode)
    assert rc == 1 and summary["State"] == "failed", out + err
    assert words in summary["Error"], summary["Error"]
    p = cl(rsrv, owner, "task", "result", summary["TaskId"], "--out", str(tmp_path / "r"))
    assert p.returncode == 1 and "ResourceNotReadyException" in p.stderr


def test_nonzero_exit_fails(rsrv, owner, tmp_path):
    name, _ = probe_app(rsrv, owner, tmp_path)
    rc, summary, out, err = run(rsrv, owner, name, "--arg", "exit", "--arg", "3")
    assert rc == 1 and summary["ExitCode"] == 3 and "status 3" in summary["Error"]
