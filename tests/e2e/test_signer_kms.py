"""Validator keys sealed by KMS, the enclave path (docs/signer.md, "Keys sealed by
KMS"): `cloister signer keys seal` stores a key set on the node (ciphertexts only,
through PutSignerKeys); the signer app, run in Cloister's sandbox under
`cloister signer serve --supervise`, fetches it and unwraps its data key by KMS
Decrypt with a Recipient, which the key policy allows only for the signer app's
measurement (kms:RecipientAttestation:ImageSha384). A modified app gets no key and
says why; no plaintext key reaches the node's data dir, the logs or /metrics.
The four key set operations are same-account only (authz_table.py has their rows)."""
import base64
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import BIN, REGION, free_port, new_user, uniq
from test_runs import cl, deploy, ok

VECTORS = Path(os.environ.get("CLOISTER_VECTORS",
                              Path(__file__).resolve().parents[3] / "shared" / "vectors"))
BUNDLE_MAX = 6 << 20  # TASKS_BUNDLE_MAX


def fake_set(name, n=2, edk=b"not a real kms ciphertext"):
    return {"Name": name, "KmsKeyId": "alias/signer", "EncryptedDataKey": base64.b64encode(edk).decode(),
            "Keys": [{"Pubkey": "0x" + f"{i + 1:02x}" * 48,
                      "Sealed": base64.b64encode(bytes([i]) * 60).decode()} for i in range(n)]}


def code_of(exc):
    return exc.value.response["Error"]["Code"]


# ---------------- the node's API ----------------

def test_key_set_api(server):
    owner = server.admin_creds()
    name = uniq("ks")
    ans = server.cloister_call(owner, "PutSignerKeys", fake_set(name))
    assert ans["Name"] == name and ans["KeyCount"] == 2
    assert ans["Arn"].endswith(f":signer-keys/{name}") and ans["Arn"].startswith(
        f"arn:aws:cloister:{REGION}:")
    got = server.cloister_call(owner, "GetSignerKeys", {"Name": name})["SignerKeys"]
    assert got["Name"] == name and got["KmsKeyId"] == "alias/signer"
    assert [k["Pubkey"] for k in got["Keys"]] == ["0x" + "01" * 48, "0x" + "02" * 48]
    assert base64.b64decode(got["EncryptedDataKey"]) == b"not a real kms ciphertext"
    # by ARN too
    assert server.cloister_call(owner, "GetSignerKeys", {"Name": ans["Arn"]})["SignerKeys"][
        "Name"] == name
    listed = server.cloister_call(owner, "ListSignerKeys", {})["SignerKeys"]
    mine = [s for s in listed if s["Name"] == name]
    assert mine and mine[0]["KeyCount"] == 2 and "Keys" not in mine[0] \
        and "EncryptedDataKey" not in mine[0]
    # replace (PutSignerKeys is idempotent by name)
    server.cloister_call(owner, "PutSignerKeys", fake_set(name, n=3))
    assert len(server.cloister_call(owner, "GetSignerKeys", {"Name": name})["SignerKeys"][
        "Keys"]) == 3
    assert server.cloister_call(owner, "DeleteSignerKeys", {"Name": name}) == {}
    with pytest.raises(ClientError) as e:
        server.cloister_call(owner, "GetSignerKeys", {"Name": name})
    assert code_of(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        server.cloister_call(owner, "DeleteSignerKeys", {"Name": name})
    assert code_of(e) == "ResourceNotFoundException"


@pytest.mark.parametrize("body,why", [
    ({"Name": "bad name"}, "Name"),
    ({"KmsKeyId": ""}, "KmsKeyId"),
    ({"EncryptedDataKey": "***"}, "EncryptedDataKey"),
    ({"Keys": [{"Pubkey": "0x12", "Sealed": "AAAA"}]}, "Keys[0].Pubkey"),
    ({"Keys": [{"Pubkey": "0x" + "01" * 48, "Sealed": "AAAA"}]}, "Keys[0].Sealed"),
    ({"Keys": [{"Pubkey": "0x" + "01" * 48, "Sealed": base64.b64encode(b"x" * 60).decode()}] * 2},
     "twice"),
])
def test_key_set_refused(server, body, why):
    doc = fake_set(uniq("ks"))
    doc.update(body)
    with pytest.raises(ClientError) as e:
        server.cloister_call(server.admin_creds(), "PutSignerKeys", doc)
    assert code_of(e) == "ValidationException" and why in e.value.response["Error"]["Message"]


def test_key_set_same_account_only(server):
    owner = server.admin_creds()
    name = uniq("ks")
    arn = server.cloister_call(owner, "PutSignerKeys", fake_set(name))["Arn"]
    rc, b, out, err = server.account_create(uniq("signer-b"))
    assert rc == 0, out + err
    other = {"AccessKeyId": b["AccessKeyId"], "SecretAccessKey": b["SecretAccessKey"]}
    for op, body in [("GetSignerKeys", {"Name": arn}), ("DeleteSignerKeys", {"Name": arn}),
                     ("PutSignerKeys", dict(fake_set(name), Name=arn))]:
        with pytest.raises(ClientError) as e:
            server.cloister_call(other, op, body)
        assert code_of(e) == "AccessDeniedException", op
    # by name, the other account only sees its own (nothing)
    with pytest.raises(ClientError) as e:
        server.cloister_call(other, "GetSignerKeys", {"Name": name})
    assert code_of(e) == "ResourceNotFoundException"
    assert all(s["Name"] != name for s in
               server.cloister_call(other, "ListSignerKeys", {})["SignerKeys"])
    # an IAM user without the actions; then one allowed only GetSignerKeys
    nobody, _ = new_user(server, uniq("signer-nopolicy"))
    for op, body in [("GetSignerKeys", {"Name": name}), ("ListSignerKeys", {}),
                     ("PutSignerKeys", fake_set(uniq("ks"))), ("DeleteSignerKeys", {"Name": name})]:
        with pytest.raises(ClientError) as e:
            server.cloister_call(nobody, op, body)
        assert code_of(e) == "AccessDeniedException", op
    reader, _ = new_user(server, uniq("signer-reader"), policy={
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "cloister:GetSignerKeys", "Resource": arn}]})
    assert server.cloister_call(reader, "GetSignerKeys", {"Name": name})["SignerKeys"]["Name"] == name
    with pytest.raises(ClientError) as e:
        server.cloister_call(reader, "DeleteSignerKeys", {"Name": name})
    assert code_of(e) == "AccessDeniedException"


# ---------------- sealing, and the signer app in the sandbox ----------------

EXAMPLES = json.loads((VECTORS / "web3signer-sign-examples.json").read_text())
PUBKEY = EXAMPLES["identifier"]
SECRET = bytes.fromhex(EXAMPLES["identifier_secret_key"][2:])
RANDAO = next(e for e in EXAMPLES["examples"] if e["name"] == "RANDAO_REVEAL")
PASSWORD = "kms-sealed test password"


def write_keystore(ks_dir, pw_dir, secret, password, name="keystore-0"):
    """An EIP-2335 keystore (pbkdf2, few rounds: a test) written by an independent
    implementation (Python `cryptography`), and its password file."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
    import hashlib
    salt, iv = os.urandom(32), os.urandom(16)
    dk = PBKDF2HMAC(hashes.SHA256(), 32, salt, 1024).derive(password.encode())
    enc = Cipher(algorithms.AES(dk[:16]), modes.CTR(iv)).encryptor()
    ct = enc.update(secret) + enc.finalize()
    ks = {"version": 4, "uuid": "1d85ae20-35c5-4611-98e8-aa14a633906f", "path": "",
          "pubkey": PUBKEY[2:], "description": "test",
          "crypto": {"kdf": {"function": "pbkdf2", "message": "", "params": {
              "dklen": 32, "c": 1024, "prf": "hmac-sha256", "salt": salt.hex()}},
              "checksum": {"function": "sha256", "params": {},
                           "message": hashlib.sha256(dk[16:32] + ct).hexdigest()},
              "cipher": {"function": "aes-128-ctr", "params": {"iv": iv.hex()},
                         "message": ct.hex()}}}
    Path(ks_dir).mkdir(exist_ok=True)
    Path(pw_dir).mkdir(exist_ok=True)
    (Path(ks_dir) / f"{name}.json").write_text(json.dumps(ks))
    (Path(pw_dir) / f"{name}.txt").write_text(password + "\n")


def http(method, url, body=None, headers=None, timeout=5):
    """-> (status, body bytes); (0, b"") when nothing answers."""
    data = json.dumps(body).encode() if body is not None else None
    r = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(r, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return 0, b""


def wait_health(url, want, timeout=40):
    """Polls /healthcheck until its status is `want` (UP/DOWN) -> (status, json)."""
    deadline = time.time() + timeout
    last = (0, b"")
    while time.time() < deadline:
        last = http("GET", url + "/healthcheck")
        if last[0]:
            try:
                doc = json.loads(last[1])
            except ValueError:
                doc = {}
            if doc.get("status") == want and (want != "DOWN" or "measurement" in last[1].decode()):
                return last[0], doc
        time.sleep(0.2)
    raise AssertionError(f"healthcheck never {want}: {last}")


def cl_env(srv, creds):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k != "CLOISTER_ENDPOINT"}
    env.update({"AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
                "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
                "AWS_DEFAULT_REGION": REGION, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "CLOISTER_ENDPOINT": srv.endpoint})
    return env


class Supervisor:
    """`cloister signer serve --supervise` as a child process (stopped with SIGTERM)."""

    def __init__(self, srv, creds, app, port, key_set, log):
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(log, "w+")
        self.proc = subprocess.Popen(
            [str(BIN), "signer", "serve", "--supervise", "--app", app, "--endpoint", srv.endpoint,
             "--secret", "1=signer-akid", "2=signer-sk", "--",
             "--listen", f"127.0.0.1:{port}", "--data", "/cloister_state/signer",
             "--kms-keys", key_set, "--endpoint", srv.endpoint],
            stdout=subprocess.PIPE, stderr=self.log, text=True, env=cl_env(srv, creds))

    def next_run(self, timeout=30):
        """The next {"App", "TaskId", "Run"} line the supervisor prints."""
        import select
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        assert ready, "the supervisor started no run"
        return json.loads(self.proc.stdout.readline())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.log.seek(0)
        text = self.log.read()
        self.log.close()
        return text


def attestation(block_root_byte):
    """An ATTESTATION (source 0, target 1) under the RANDAO example's fork_info;
    two of them with different block roots are a double vote."""
    req = RANDAO["request"]
    req = json.loads(req) if isinstance(req, (str, bytes)) else req
    root = "0x" + block_root_byte * 32
    return {"type": "ATTESTATION", "fork_info": req["fork_info"], "attestation": {
        "slot": "32", "index": "0", "beacon_block_root": root,
        "source": {"epoch": "0", "root": "0x" + "00" * 32},
        "target": {"epoch": "1", "root": root}}}


def signer_pids(port):
    """The processes whose command line is this test's signer on port (to kill one: the
    watchdog test)."""
    pids = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            cmd = (p / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"signer" in cmd and b"serve" in cmd and f"127.0.0.1:{port}".encode() in cmd \
                and b"--supervise" not in cmd:
            pids.append(int(p.name))
    return pids


@pytest.fixture(scope="module")
def ksrv(make_server):
    return make_server("signer-kms", extra_args=["--allow-app-network", "--workers", "2"])


def files_contain(root, needles):
    """The files under root that contain any of needles."""
    hits = []
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            try:
                data = open(p, "rb").read()
            except OSError:
                continue
            if any(n in data for n in needles):
                hits.append(p)
    return hits


def test_signer_app_unwraps_sealed_keys_by_attestation(ksrv, tmp_path):
    owner = ksrv.admin_creds()
    kms = ksrv.boto3_client("kms", owner)
    admin_arn = ksrv.boto3_client("sts", owner).get_caller_identity()["Arn"]
    key_set = uniq("validators")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    # seal on the operator's side: the node gets ciphertexts only
    write_keystore(tmp_path / "ks", tmp_path / "pw", SECRET, PASSWORD)
    p = ok(cl(ksrv, owner, "signer", "keys", "seal", "--name", key_set, "--kms-key-id", key,
              "--keystores-path", str(tmp_path / "ks"),
              "--keystores-passwords-path", str(tmp_path / "pw")))
    assert json.loads(p.stdout) == {"Name": key_set, "KeyCount": 1}
    stored = ksrv.cloister_call(owner, "GetSignerKeys", {"Name": key_set})["SignerKeys"]
    assert [k["Pubkey"] for k in stored["Keys"]] == [PUBKEY]
    needles = [SECRET, SECRET.hex().encode(), base64.b64encode(SECRET)]
    assert not any(n in json.dumps(stored).encode() for n in needles)

    app_dir = tmp_path / "signer-app"
    p = subprocess.run([str(BIN), "signer", "app", "--out", str(app_dir)], capture_output=True,
                       text=True)
    if p.returncode != 0 and "an app bundle holds at most" in p.stderr:
        pytest.skip("this cloister binary (a sanitizer build?) is larger than an app bundle "
                    "may be: " + p.stderr.strip())
    ok(p)
    assert "cloister app deploy" in p.stdout
    manifest = json.loads((app_dir / "manifest.json").read_text())
    assert manifest["network"] is True and manifest["state"] is True
    name = uniq("signer")
    app = deploy(ksrv, owner, app_dir, name, "/app/cloister signer serve --production",
                 manifest)
    other_dir = tmp_path / "signer-other"
    shutil.copytree(app_dir, other_dir)
    (other_dir / "extra.txt").write_text("a modified signer app")
    other = deploy(ksrv, owner, other_dir, uniq("signer-mod"),
                   "/app/cloister signer serve --production", manifest)
    assert other["Measurement"] != app["Measurement"]

    # the KMS key: the admin manages it; the signer's identity may Decrypt only into a
    # sandbox whose measurement is the signer app's
    creds, user_arn = new_user(ksrv, uniq("signer-id"), admin_creds=owner, policy={
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "cloister:GetSignerKeys",
            "Resource": f"arn:aws:cloister:{REGION}:*:signer-keys/{key_set}"}]})
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": admin_arn}, "Action": "kms:*",
             "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "kms:Decrypt",
             "Resource": "*", "Condition": {"StringEqualsIgnoreCase": {
                 "kms:RecipientAttestation:ImageSha384": app["Measurement"]}}}]}))
    ok(cl(ksrv, owner, "secret", "push", "signer-akid", "--value", creds["AccessKeyId"]))
    ok(cl(ksrv, owner, "secret", "push", "signer-sk", "--value", creds["SecretAccessKey"]))
    # the signer's identity cannot decrypt the data key outside a sandbox
    with pytest.raises(ClientError) as e:
        ksrv.boto3_client("kms", creds).decrypt(
            CiphertextBlob=base64.b64decode(stored["EncryptedDataKey"]),
            EncryptionContext={"cloister:signer-keys": key_set})
    assert code_of(e) == "AccessDeniedException"

    # the supervised signer app: keys loaded, healthy, signs
    port = free_port()
    sup = Supervisor(ksrv, owner, name, port, key_set, tmp_path / "sup.log")
    try:
        first = sup.next_run()
        assert first["App"] == name and first["Run"] == 1
        wait_health(sup.url, "UP")
        st, body = http("GET", sup.url + "/api/v1/eth2/publicKeys")
        assert st == 200 and json.loads(body) == [PUBKEY], body
        st, body = http("POST", f"{sup.url}/api/v1/eth2/sign/{PUBKEY}", RANDAO["request"],
                        {"Content-Type": "application/json", "Accept": "application/json"})
        assert st == 200 and json.loads(body) == {"signature": RANDAO["expected_signature"]}, body
        # the control: the app's running task and the signer's health
        p = ok(cl(ksrv, owner, "signer", "status", "--app", name, "--signer", sup.url))
        status = json.loads(p.stdout)
        assert [t["TaskId"] for t in status["Running"]] == [first["TaskId"]], status
        assert status["Health"]["status"] == "UP", status
        # no plaintext key anywhere on the node (its data dir holds the run's
        # /iexec_out, the signer's own data dir), in its logs, or in /metrics
        assert files_contain(ksrv.data_dir, needles) == []
        assert files_contain(ksrv.log_dir, needles) == []
        for url in (ksrv.endpoint + "/metrics", sup.url + "/metrics"):
            assert not any(n in http("GET", url)[1] for n in needles), url

        # an attestation signed before the signer dies ...
        st, body = http("POST", f"{sup.url}/api/v1/eth2/sign/{PUBKEY}", attestation("aa"),
                        {"Content-Type": "application/json", "Accept": "application/json"})
        assert st == 200, body

        # the watchdog: the signer dies, a new run unwraps the keys again
        pids = signer_pids(port)
        assert pids, "the signer's process was not found"
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        second = sup.next_run(timeout=40)
        assert second["Run"] == 2 and second["TaskId"] != first["TaskId"]
        wait_health(sup.url, "UP")
        # ... is still on record in the new run (the slashing database lives in the
        # app's state directory, not in the run's fresh /iexec_out): a double vote is
        # refused, the identical vote signed again
        st, body = http("POST", f"{sup.url}/api/v1/eth2/sign/{PUBKEY}", attestation("bb"),
                        {"Content-Type": "application/json", "Accept": "application/json"})
        assert st == 412, body
        st, body = http("POST", f"{sup.url}/api/v1/eth2/sign/{PUBKEY}", attestation("aa"),
                        {"Content-Type": "application/json", "Accept": "application/json"})
        assert st == 200, body
    finally:
        log = sup.stop()
    assert "restarting" in log, log
    assert not any(n.decode(errors="ignore") in log for n in needles[1:])

    # a modified signer app (another measurement) gets no key and says why
    port = free_port()
    sup = Supervisor(ksrv, owner, other["Name"], port, key_set, tmp_path / "sup2.log")
    try:
        sup.next_run()
        st, health = wait_health(sup.url, "DOWN")
        assert st == 503, (st, health)
        text = json.dumps(health)
        assert "AccessDeniedException" in text and "ImageSha384" in text, text
        assert http("GET", sup.url + "/api/v1/eth2/publicKeys")[1] in (b"[]", b"[ ]")
    finally:
        sup.stop()
    assert files_contain(ksrv.log_dir, needles) == []


def test_kms_keys_outside_a_sandbox_load_nothing(ksrv, tmp_path):
    """A signer started on the host with --kms-keys has no attestation to offer: it
    stays DOWN and says so (the enclave path cannot be bypassed by running the binary)."""
    owner = ksrv.admin_creds()
    port = free_port()
    env = cl_env(ksrv, owner)
    proc = subprocess.Popen([str(BIN), "signer", "serve", "--listen", f"127.0.0.1:{port}",
                             "--data", str(tmp_path / "d"), "--kms-keys", "nothing",
                             "--endpoint", ksrv.endpoint],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.time() + 20
        text = ""
        while time.time() < deadline:
            st, body = http("GET", f"http://127.0.0.1:{port}/healthcheck")
            text = body.decode(errors="replace")
            if st and "DOWN" in text and ("GetSignerKeys" in text or "Cloister run" in text):
                break
            time.sleep(0.2)
        assert st == 503 and ("GetSignerKeys" in text or "Cloister run" in text), (st, text)
    finally:
        proc.terminate()
        proc.communicate(timeout=20)
