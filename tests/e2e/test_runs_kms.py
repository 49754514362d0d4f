"""KMS from inside a run (docs/runs.md "KMS from inside a run"): an app makes its
own key in the sandbox, gets an attestation document of the run over it from the
init, and KMS Decrypt with that Recipient returns the plaintext encrypted to the
app's key only when the key policy's kms:RecipientAttestation:ImageSha384 names
this app's measurement. Another app (another measurement) is refused."""
import base64
import hashlib
import json
import os
import shutil
import subprocess

import pytest

from conftest import BIN, new_user, uniq
from test_runs import APPS, cl, deploy, ok, result, run


@pytest.fixture(scope="module")
def ksrv(make_server):
    return make_server("runs-kms", extra_args=["--allow-app-network"])


def test_app_unwraps_a_kms_secret_by_attestation(ksrv, tmp_path):
    owner = ksrv.admin_creds()
    name = uniq("kmsapp")
    app = deploy(ksrv, owner, APPS / "kms-client", name, "python3 /app/app.py", {"network": True})
    other_src = tmp_path / "other"
    shutil.copytree(APPS / "kms-client", other_src)
    (other_src / "extra.txt").write_text("another measurement")
    other = deploy(ksrv, owner, other_src, uniq("kmsother"), "python3 /app/app.py",
                   {"network": True})
    assert other["Measurement"] != app["Measurement"]
    kms = ksrv.boto3_client("kms", owner)
    admin_arn = ksrv.boto3_client("sts", owner).get_caller_identity()["Arn"]
    creds, user_arn = new_user(ksrv, uniq("enclave"), admin_creds=owner)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": admin_arn}, "Action": "kms:*",
             "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "kms:Decrypt",
             "Resource": "*", "Condition": {"StringEqualsIgnoreCase": {
                 "kms:RecipientAttestation:ImageSha384": app["Measurement"]}}}]}))
    secret = b"validator key " + os.urandom(8)
    blob = base64.b64encode(kms.encrypt(KeyId=key, Plaintext=secret)["CiphertextBlob"]).decode()
    ok(cl(ksrv, owner, "secret", "push", "kms-akid", "--value", creds["AccessKeyId"]))
    ok(cl(ksrv, owner, "secret", "push", "kms-sk", "--value", creds["SecretAccessKey"]))
    args = ["--secret", "1=kms-akid", "2=kms-sk", "--arg", ksrv.endpoint, "--arg", blob]

    rc, s, out, err = run(ksrv, owner, name, *args)
    assert rc == 0, out + err
    res, _ = result(ksrv, owner, s["TaskId"], tmp_path)
    r = json.loads((res / "result.json").read_text())
    assert r == {"plaintext_sha256": hashlib.sha256(secret).hexdigest(),
                 "answer_had_plaintext": False}, r
    # the document the app got: this node's root, this run, this app's measurement, its nonce
    p = ok(subprocess.run([str(BIN), "attest", "verify", "--data", str(ksrv.data_dir),
                           str(res / "doc.cbor")], capture_output=True, text=True))
    doc = json.loads(p.stdout)
    assert doc["module_id"] == s["TaskId"] and doc["pcrs"]["0"] == app["Measurement"], doc
    assert base64.b64decode(doc["nonce"]) == bytes.fromhex("00112233"), doc

    rc, s, out, err = run(ksrv, owner, other["Name"], *args)
    assert rc == 0, out + err
    res, _ = result(ksrv, owner, s["TaskId"], tmp_path)
    assert json.loads((res / "result.json").read_text()) == {
        "error": "AccessDeniedException", "status": 400}


def test_attestation_channel_checks_requests(ksrv, tmp_path):
    """Bad keys and oversized fields are refused; at most 16 documents per run."""
    from test_runs import PROBE, probe_result
    owner = ksrv.admin_creds()
    name = uniq("probe")
    app = deploy(ksrv, owner, PROBE, name, "python3 /app/probe.py")
    rc, s, out, err = run(ksrv, owner, name, "--arg", "attest")
    assert rc == 0, out + err
    kinds = probe_result(ksrv, owner, s["TaskId"], tmp_path)["kinds"]
    assert kinds[0].startswith("error: public_key must be"), kinds
    assert kinds[1].startswith("error: user_data and nonce"), kinds
    assert kinds[2:16] == ["document"] * 14, kinds
    assert kinds[16:] == ["error: at most 16 attestation documents per run"] * 2, kinds
    res, _ = result(ksrv, owner, s["TaskId"], tmp_path)
    p = ok(subprocess.run([str(BIN), "attest", "verify", "--data", str(ksrv.data_dir),
                           str(res / "doc.cbor")], capture_output=True, text=True))
    doc = json.loads(p.stdout)
    assert doc["pcrs"]["0"] == app["Measurement"] and doc["module_id"] == s["TaskId"]
    assert base64.b64decode(doc["user_data"]) == b"user"


def test_attest_tool_outside_a_run():
    p = subprocess.run([str(BIN.parent / "cloister-init"), "attest", "--public-key", "/dev/null",
                        "--out", "/dev/null"], capture_output=True, text=True,
                       env={"PATH": "/usr/bin:/bin"})
    assert p.returncode == 1 and "not inside a run" in p.stderr
