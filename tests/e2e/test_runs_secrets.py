"""Secrets reach only the runs they are for (docs/runs.md "Secrets"): not another
app, not a run requested by another principal, not a tampered bundle, not a
debug run asking for production secrets; and no secret value is ever found in
logs, task outputs, receipts, metrics or the data directory. Then the stock
iexec CLI's secrets (pushed through the SMS endpoints) used by a Cloister run
through a linked wallet."""
import json
import os
import subprocess

import pytest

from conftest import free_port, new_user, uniq
from eth_sign import address, personal_sign
from test_runs import APPS, PROBE, cl, deploy, logs, ok, probe_result, result, run

PROD_REQ = "918273645"            # the owner's production requester secret x9
PROD_APP = "SPYSECRET-4242-prod"  # the spy app's production developer secret
DEBUG_REQ = "debug-x9-value-77"   # the owner's debug requester secret x9
ALL_PROD = (PROD_REQ, PROD_APP)


@pytest.fixture(scope="module")
def world(make_server):
    port = free_port()
    srv = make_server("runs-secrets", extra_args=["--sms-listen", f"127.0.0.1:{port}"])
    srv.sms_port = port
    owner = srv.admin_creds()
    spy = uniq("spy")
    deploy(srv, owner, PROBE, spy, "python3 /app/probe.py")
    ok(cl(srv, owner, "app", "secret", "push", spy, "--value", PROD_APP))
    ok(cl(srv, owner, "secret", "push", "x9", "--value", PROD_REQ))
    ok(cl(srv, owner, "secret", "push", "x9", "--debug", "--value", DEBUG_REQ))
    policy = {"Version": "2012-10-17",
              "Statement": [{"Effect": "Allow", "Action": "cloister:*", "Resource": "*"}]}
    other, _ = new_user(srv, uniq("runner"), policy, admin_creds=owner)
    return srv, owner, other, spy


def env_of(srv, creds, task, tmp_path):
    return probe_result(srv, creds, task, tmp_path)["env"]


def test_other_app_gets_no_developer_secret(world, tmp_path):
    srv, owner, _, _ = world
    other_app = uniq("spy2")  # the same code under another name: another address
    deploy(srv, owner, PROBE, other_app, "python3 /app/probe.py")
    rc, s, out, err = run(srv, owner, other_app, "--arg", "env")
    assert rc == 0, out + err
    env = env_of(srv, owner, s["TaskId"], tmp_path)
    assert "IEXEC_APP_DEVELOPER_SECRET" not in env and "IEXEC_APP_DEVELOPER_SECRET_1" not in env


def test_other_principal_gets_no_requester_secret(world):
    srv, _, other, spy = world
    rc, s, out, err = run(srv, other, spy, "--secret", "1=x9", "--arg", "env")
    assert rc == 1 and s["State"] == "failed", out + err
    assert "x9" in s["Error"] and "does not exist" in s["Error"]
    assert logs(srv, other, s["TaskId"]) == ""  # the app never started


def test_debug_run_gets_debug_secrets_only(world, tmp_path):
    srv, owner, _, spy = world
    rc, s, out, err = run(srv, owner, spy, "--debug", "--secret", "1=x9", "--arg", "env")
    assert rc == 0, out + err
    env = env_of(srv, owner, s["TaskId"], tmp_path)
    assert env["IEXEC_REQUESTER_SECRET_1"] == DEBUG_REQ
    assert "IEXEC_APP_DEVELOPER_SECRET" not in env  # the app's secret is a production one
    rc, s, out, err = run(srv, owner, spy, "--debug", "--secret", "1=nodebug", "--arg", "env")
    assert rc == 1 and "debug" in s["Error"]


def test_tampered_bundle_gets_nothing(world, tmp_path):
    srv, owner, _, _ = world
    name = uniq("tamper")
    deploy(srv, owner, PROBE, name, "python3 /app/probe.py")
    ok(cl(srv, owner, "app", "secret", "push", name, "--value", PROD_APP + "-t"))
    blob_root = srv.data_dir / "app-bundles"
    before = {f: f.read_bytes() for f in blob_root.rglob("*") if f.is_file()}
    # the newest bundle is this app's: flip a byte of probe.py's text in it
    newest = max((f for f in before if f.relative_to(blob_root).parts[0] != "tmp"),
                 key=lambda f: f.stat().st_mtime)
    data = bytearray(before[newest])
    i = data.find(b"hostile app")
    assert i > 0
    data[i] ^= 0x20
    newest.write_bytes(bytes(data))
    rc, s, out, err = run(srv, owner, name, "--secret", "1=x9", "--arg", "env")
    assert rc == 1 and "measurement" in s["Error"], out + err
    assert logs(srv, owner, s["TaskId"]) == ""


def test_no_secret_value_anywhere(world, tmp_path):
    """After the runs above (and a legitimate run whose app prints nothing secret),
    grep everything the node keeps or shows for the production values. (The debug
    value did reach the spy's debug run, which printed it: that is its log.)"""
    srv, owner, _, _ = world
    poly = uniq("poly")
    deploy(srv, owner, APPS / "secret-function-js", poly, "node /app/app.js")
    ok(cl(srv, owner, "app", "secret", "push", poly, "--value", "3;1;4;1"))
    ok(cl(srv, owner, "secret", "push", "x8", "--value", "7"))
    rc, s, out, err = run(srv, owner, poly, "--secret", "1=x8")
    assert rc == 0, out + err
    res, _ = result(srv, owner, s["TaskId"], tmp_path)
    assert json.loads((res / "result.txt").read_text()) == {"x": 7, "result": 3 * 343 + 49 + 28 + 1}
    texts = [out, err, logs(srv, owner, s["TaskId"]), (res / "receipt.json").read_text()]
    texts += [p.read_text(errors="replace") for p in srv.log_dir.glob("serve-*")]
    import urllib.request
    with urllib.request.urlopen(srv.endpoint + "/metrics", timeout=5) as r:
        texts.append(r.read().decode(errors="replace"))
    for t in texts:
        for v in ALL_PROD + ("3;1;4;1",):
            assert v not in t, f"secret value {v!r} found"
    for f in srv.data_dir.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            for v in ALL_PROD + ("3;1;4;1",):
                assert v.encode() not in data, f"secret value {v!r} in {f}"


# --------------------------------------------------------------------------- the stock iexec CLI
def test_iexec_cli_secrets_used_by_a_run(world, tmp_path):
    from test_secrets_sms import IEXEC, V, iexec
    srv, owner, _, _ = world
    if not IEXEC.exists():
        pytest.fail("the iexec CLI is not installed in tests/e2e/js: run `make deps`")
    key = int("33" * 32, 16)
    wallet = address(key)
    d = tmp_path / "iexec"
    d.mkdir()
    chain = json.loads(json.dumps(V["chain_json_example"]))
    chain["chains"]["cloister"]["sms"] = f"http://127.0.0.1:{srv.sms_port}"
    (d / "chain.json").write_text(json.dumps(chain))
    p = iexec(d, "wallet", "import", "0x" + "33" * 32, "--password", "p", "--keystoredir",
              str(d / "ks"))
    assert p.returncode == 0, p.stdout + p.stderr
    wargs = ["--password", "p", "--keystoredir", str(d / "ks"), "--chain", "cloister"]
    p = iexec(d, "requester", "push-secret", "x1", "--secret-value", "2", *wargs)
    assert p.returncode == 0, p.stdout + p.stderr
    # the app, its owner proved by the same wallet, its secret pushed with the iexec CLI
    from eth_sign import owner_proof
    name = uniq("polyiexec")
    doc = deploy(srv, owner, APPS / "secret-function-js", name, "node /app/app.js")
    proof = owner_proof(key, doc["Address"])
    ok(cl(srv, owner, "app", "owner", name, "--address", proof["Owner"],
          "--signature", proof["Signature"]))
    p = iexec(d, "app", "push-secret", doc["Address"], "--tee-framework", "scone",
              "--secret-value", "1;1;1;1", *wargs)
    assert p.returncode == 0, p.stdout + p.stderr
    # before the wallet is linked, x1 is not the owner's
    rc, s, out, err = run(srv, owner, name, "--secret", "1=x1")
    assert rc == 1 and "x1" in s["Error"]
    # link it: the wallet signs the challenge the server names
    ch = ok(cl(srv, owner, "wallet", "challenge", wallet)).stdout.strip()
    sig = personal_sign(key, bytes.fromhex(ch[2:] if ch.startswith("0x") else ch))
    ok(cl(srv, owner, "wallet", "link", wallet, "--signature", sig))
    rc, s, out, err = run(srv, owner, name, "--secret", "1=x1")
    assert rc == 0, out + err
    res, _ = result(srv, owner, s["TaskId"], tmp_path)
    assert (res / "result.txt").read_text() == '{"x":2,"result":15}'
    ok(cl(srv, owner, "result", "verify", str(res / "receipt.json"), "--data", str(srv.data_dir)))
