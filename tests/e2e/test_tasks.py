"""The durable task queue (docs/tasks.md): tasks survive restarts and wait for
a worker (`serve --workers 0` runs nothing; the next start with a worker runs
them); `cloister task list|cancel|retry|logs --follow`; the receipt lists the
outputs' digests; /metrics counts queue depth and outcomes; remote workers
never lease tasks sent with their inputs (node-only)."""
import json
import re
import time
import urllib.request

import pytest

from conftest import uniq
from test_runs import PROBE, cl, deploy, ok, show


def wait_state(srv, creds, task, states=("done", "failed", "cancelled"), timeout=60):
    doc = {}
    end = time.time() + timeout
    while time.time() < end:
        doc = show(srv, creds, task)
        if doc["State"] in states:
            return doc
        time.sleep(0.05)
    raise AssertionError(f"task {task} still {doc.get('State')}")


def submit(srv, creds, app, *args):
    return json.loads(ok(cl(srv, creds, "run", app, *args)).stdout)["TaskId"]


def test_queued_tasks_survive_a_restart_and_wait_for_a_worker(make_server):
    srv = make_server("tasks-noworker", extra_args=["--workers", "0"])
    owner = srv.admin_creds()
    app = uniq("probe")
    deploy(srv, owner, PROBE, app, "python3 /app/probe.py")
    ids = [submit(srv, owner, app, "--arg", "env") for _ in range(3)]
    time.sleep(0.5)
    assert all(show(srv, owner, t)["State"] == "queued" for t in ids)  # no worker here
    srv.kill()  # kill -9: nothing acknowledged is lost
    srv.extra_args = ["--workers", "2"]
    srv.start()
    for t in ids:
        doc = wait_state(srv, owner, t)
        assert doc["State"] == "done" and doc["Attempt"] == 1, doc


def test_list_cancel_retry_follow(server, tmp_path):
    owner = server.admin_creds()
    app = uniq("probe")
    deploy(server, owner, PROBE, app, "python3 /app/probe.py", {"timeout_seconds": 30})
    slow = submit(server, owner, app, "--arg", "sleep", "--arg", "20")
    queued = wait_state(server, owner, slow, states=("running",))
    assert queued["State"] == "running"
    p = ok(cl(server, owner, "task", "list", "--app", app))
    assert slow in p.stdout and "running" in p.stdout
    assert slow not in ok(cl(server, owner, "task", "list", "--state", "done")).stdout
    ok(cl(server, owner, "task", "cancel", slow))
    doc = wait_state(server, owner, slow, states=("cancelled",))
    assert doc["Error"] == "cancelled by its owner"
    again = cl(server, owner, "task", "cancel", slow)
    assert again.returncode == 1 and "ConflictException" in again.stderr
    # a cancelled task can be retried; it runs from the start (a fast variant: sleep 0)
    quick = submit(server, owner, app, "--arg", "sleep", "--arg", "0")
    wait_state(server, owner, quick)
    bad = cl(server, owner, "task", "retry", quick)
    assert bad.returncode == 1 and "only failed or cancelled" in bad.stderr
    ok(cl(server, owner, "task", "retry", slow))
    assert show(server, owner, slow)["State"] in ("queued", "leased", "running")
    ok(cl(server, owner, "task", "cancel", slow))
    # logs --follow waits for the end and prints what the app printed
    env_task = submit(server, owner, app, "--arg", "env")
    p = ok(cl(server, owner, "task", "logs", env_task, "--follow"))
    assert re.search(r"\d{4}-\d\d-\d\dT.*done", p.stdout) and "IEXEC_TASK_ID" in p.stdout
    # --timestamps: the log line by line, each with its time (ms) and stream
    p = ok(cl(server, owner, "task", "logs", env_task, "--timestamps"))
    assert re.search(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z out \{.*IEXEC_TASK_ID", p.stdout,
                     re.M), p.stdout[:300]


def test_receipt_lists_output_digests(server, tmp_path):
    import hashlib
    owner = server.admin_creds()
    app = uniq("probe")
    deploy(server, owner, PROBE, app, "python3 /app/probe.py")
    t = submit(server, owner, app, "--arg", "env")
    wait_state(server, owner, t)
    out = tmp_path / "r"
    ok(cl(server, owner, "task", "result", t, "--out", str(out)))
    receipt = json.loads((out / "receipt.json").read_text())
    outs = {o["path"]: o for o in receipt["outputs"]}
    for name in ("result.json", "computed.json"):
        assert outs[name]["sha256"] == hashlib.sha256((out / name).read_bytes()).hexdigest()


def test_metrics_count_the_queue(server):
    owner = server.admin_creds()
    app = uniq("probe")
    deploy(server, owner, PROBE, app, "python3 /app/probe.py")
    wait_state(server, owner, submit(server, owner, app, "--arg", "env"))
    text = urllib.request.urlopen(server.endpoint + "/metrics").read().decode()
    assert re.search(r"^cloister_tasks_queued \d+$", text, re.M)
    assert re.search(r"^cloister_tasks_leased \d+$", text, re.M)
    done = re.search(r'^cloister_tasks_finished_total\{reason="done"\} (\d+)$', text, re.M)
    assert done and int(done.group(1)) >= 1
    count = re.search(r"^cloister_task_run_seconds_count (\d+)$", text, re.M)
    assert count and int(count.group(1)) >= 1


def test_remote_workers_never_get_node_only_tasks(make_server):
    """A task sent with its inputs (RunApp) runs on the node's workers only: an
    admin of another account polling LeaseTask gets nothing."""
    srv = make_server("tasks-nodeonly", extra_args=["--workers", "0"])
    owner = srv.admin_creds()
    rc, b, out, err = srv.account_create(uniq("workerB"))
    assert rc == 0, out + err
    app = uniq("probe")
    deploy(srv, owner, PROBE, app, "python3 /app/probe.py")
    submit(srv, owner, app, "--arg", "env")
    for creds in (owner, {"AccessKeyId": b["AccessKeyId"],
                          "SecretAccessKey": b["SecretAccessKey"]}):
        ans = srv.cloister_call(creds, "LeaseTask", {"WaitSeconds": 1})
        assert ans == {}, ans


def test_a_lying_worker_cannot_finish_a_task(make_server):
    """A remote worker reports success with a made-up receipt and output: the node
    checks the receipt against its attestation root and the output against it, and
    records the task failed; a second report on the same lease, or a report by
    another principal, is refused (409 TaskLeaseLostException)."""
    import base64
    import io
    import tarfile
    from botocore.exceptions import ClientError
    srv = make_server("tasks-liar", extra_args=["--workers", "0"])
    owner = srv.admin_creds()
    rc, b, out, err = srv.account_create(uniq("liar"))
    assert rc == 0, out + err
    liar = {"AccessKeyId": b["AccessKeyId"], "SecretAccessKey": b["SecretAccessKey"]}
    app = uniq("probe")
    deploy(srv, owner, PROBE, app, "python3 /app/probe.py")
    task = srv.cloister_call(owner, "SubmitRequest", {"App": app})["TaskId"]
    leased = srv.cloister_call(liar, "LeaseTask", {"WaitSeconds": 5})["Task"]
    assert leased["TaskId"] == task and "Secrets" not in leased
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        data = b'{"deterministic-output-path":"/iexec_out/r"}'
        info = tarfile.TarInfo("computed.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    fake = {"TaskId": task, "LeaseId": leased["LeaseId"], "Ok": True, "ExitCode": 0,
            "Receipt": json.dumps({"version": "cloister-receipt-v1", "task": task}),
            "Output": base64.b64encode(buf.getvalue()).decode(), "Stdout": "", "Stderr": ""}
    with pytest.raises(ClientError) as e:  # not the lease holder
        srv.cloister_call(owner, "FinishTask", fake)
    assert e.value.response["Error"]["Code"] == "TaskLeaseLostException"
    assert srv.cloister_call(liar, "FinishTask", fake) == {"State": "failed"}
    doc = show(srv, owner, task)
    assert doc["State"] == "failed" and "receipt does not verify" in doc["Error"], doc
    with pytest.raises(ClientError) as e:
        srv.cloister_call(liar, "FinishTask", fake)
    assert e.value.response["Error"]["Code"] == "TaskLeaseLostException"


def test_a_remote_workers_document_cannot_unwrap_keys(make_server):
    """AttestTask signs documents for a remote worker's run with PCR4 = SHA-384 of the
    worker's ARN: such a host is not this node's enclave runtime, so KMS refuses the
    document as a Recipient even where the key policy matches the app's measurement
    (otherwise any account allowed to lease an open task could unwrap keys bound to
    the app)."""
    import base64
    import subprocess
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from test_kms import raw_kms
    from conftest import BIN
    srv = make_server("tasks-remote-doc", extra_args=["--workers", "0"])
    owner = srv.admin_creds()
    rc, b, out, err = srv.account_create(uniq("remote"))
    assert rc == 0, out + err
    worker = {"AccessKeyId": b["AccessKeyId"], "SecretAccessKey": b["SecretAccessKey"]}
    app = uniq("probe")
    measurement = deploy(srv, owner, PROBE, app, "python3 /app/probe.py")["Measurement"]
    task = srv.cloister_call(owner, "SubmitRequest", {"App": app})["TaskId"]
    leased = srv.cloister_call(worker, "LeaseTask", {"WaitSeconds": 5})["Task"]
    assert leased["TaskId"] == task
    spki = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key() \
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    doc = srv.cloister_call(worker, "AttestTask", {
        "TaskId": task, "LeaseId": leased["LeaseId"],
        "PublicKey": base64.b64encode(spki).decode()})["Document"]
    path = srv.data_dir.parent / "remote-doc.cbor"
    path.write_bytes(base64.b64decode(doc))
    shown = json.loads(subprocess.run([str(BIN), "attest", "verify", "--data", str(srv.data_dir),
                                       str(path)], capture_output=True, text=True,
                                      check=True).stdout)
    assert shown["pcrs"]["0"] == measurement and "4" in shown["pcrs"], shown
    kms = srv.boto3_client("kms", owner)
    key = kms.create_key()["KeyMetadata"]["KeyId"]  # the owner may do anything with it
    blob = base64.b64encode(kms.encrypt(KeyId=key, Plaintext=b"validator key")["CiphertextBlob"])
    status, ans = raw_kms(srv, owner, "TrentService.Decrypt", json.dumps({
        "CiphertextBlob": blob.decode(), "Recipient": {
            "AttestationDocument": doc,
            "KeyEncryptionAlgorithm": "RSAES_OAEP_SHA_256"}}).encode())
    assert status == 400 and ans["__type"] == "AccessDeniedException", ans
    assert "remote worker" in ans["message"], ans
