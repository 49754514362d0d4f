"""The proof of reserves as a Cloister app (docs/por.md, "As a Cloister app"):
`cloister por app --out D` packages cloister-por, the printed `cloister app
deploy` command deploys it, `cloister run por --input ledger.json --watch`
proves in the sandbox with the default parameters (N = 1024 leaves: what a
trigger runs), `cloister task result` fetches a proof that `cloister por
verify` accepts, with every user's proof and without private_nonces.json (the
operator's secret is never published). Failures say why in the task's logs: a
malformed ledger (the prover's own message), no input file, --nonces-out
pointing into the published outputs. The manifest's public_outputs field is
checked by CreateApp. On the host, --nonces-out keeps the nonces outside the
published directory."""
import json
import os
import shutil
import subprocess

import pytest

from conftest import BIN, REGION, _clean_env, _creds_env
from test_por import assets_of, gen_accounts, write_ledger
from test_runs import cl, logs, ok, result, run, show

MANIFEST = {"timeout_seconds": 600, "memory_mb": 2048, "public_outputs": ["proofs.zip"]}


def por(*args, timeout=60):
    return subprocess.run([str(BIN), "por", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def shell(srv, creds, cmd):
    """cmd run by sh as printed, `cloister` found on PATH next to the binary under test."""
    env = {**_clean_env(), **_creds_env(creds), "AWS_DEFAULT_REGION": REGION,
           "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "CLOISTER_ENDPOINT": srv.endpoint,
           "PATH": f"{BIN.parent}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    return subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, env=env, timeout=60)


@pytest.fixture(scope="module")
def psrv(make_server):
    return make_server("porapp")


@pytest.fixture(scope="module")
def creds(psrv):
    return psrv.admin_creds()


@pytest.fixture(scope="module")
def app(psrv, creds, tmp_path_factory):
    """`cloister por app --out D`, then the command it prints, run by a shell."""
    d = tmp_path_factory.mktemp("por-app") / "app dir"  # a space: the command quotes it
    p = por("app", "--out", d)
    assert p.returncode == 0, p.stderr
    cmd = p.stdout.strip()
    assert cmd.startswith("cloister app deploy ") and "\n" not in cmd, cmd
    assert sorted(os.listdir(d)) == ["cloister-por", "manifest.json"]
    assert json.loads((d / "manifest.json").read_text()) == MANIFEST
    assert os.access(d / "cloister-por", os.X_OK)
    dep = shell(psrv, creds, cmd)
    return d, dep


def test_package_deploy_prove_verify(psrv, creds, app, tmp_path):
    d, dep = app
    assert dep.returncode == 0, dep.stderr
    assert json.loads(dep.stdout)["Name"] == "por"
    doc = json.loads(ok(cl(psrv, creds, "app", "show", "por")).stdout)["App"]
    assert doc["Entrypoint"] == "/app/cloister-por prove-app"
    assert doc["Manifest"] == MANIFEST  # public_outputs kept in the canonical text
    accts = gen_accounts(3, assets_of(2), seed=11)
    ledger = write_ledger(tmp_path / "private_ledger.json", assets_of(2), accts)
    rc, summary, out, err = run(psrv, creds, "por", "--input", str(ledger))
    assert rc == 0 and summary["State"] == "done", out + err
    res, info = result(psrv, creds, summary["TaskId"], tmp_path)
    assert info["DeterministicOutputPath"] == "/iexec_out/final_proof.json"
    names = sorted(os.listdir(res))
    assert names == ["computed.json", "final_proof.json", "merkle_tree.json", "proofs.zip",
                     "receipt.json", "user_proofs"], names
    assert "private_nonces.json" not in names
    assert sorted(os.listdir(res / "user_proofs")) == sorted(h + ".json" for h in accts)
    v = por("verify", res)
    assert v.returncode == 0, v.stdout + v.stderr
    verified = json.loads(v.stdout)
    assert verified["padded"] == 1024  # the default padding: what a trigger's run proves
    incl = por("verify-inclusion", *sorted((res / "user_proofs").iterdir()), "--root",
               res / "final_proof.json")
    assert incl.returncode == 0, incl.stdout + incl.stderr
    # the app's one-line summary is in the task's stdout log
    line = [l for l in logs(psrv, creds, summary["TaskId"]).splitlines() if l.startswith("{")][0]
    s = json.loads(line)
    assert s["status"] == "ok" and s["accounts"] == 3 and s["root"] == verified["root"]
    assert s["nonces"] == "discarded" and "private_nonces.json" not in s["files"]
    assert isinstance(s["elapsed_ms"], int)


@pytest.mark.parametrize("case", ["malformed", "no-input", "nonces-published"])
def test_failures_say_why(psrv, creds, app, tmp_path, case):
    bad = tmp_path / "private_ledger.json"
    bad.write_text('{"timestamp": 1, "assets": {"USDT": {"usdt_decimals": 2, '
                   '"balance_decimals": 2, "price": 100}}, "accounts": {"ab": {"USDT": 1.5}}}')
    args = {"malformed": ["--input", str(bad)],
            "no-input": [],
            "nonces-published": ["--input", str(bad), "--arg", "--nonces-out",
                                 "--arg", "/iexec_out/n.json"]}[case]
    want = {"malformed": "balance is not an integer",
            "no-input": "no ledger: give it as the run's first input file",
            "nonces-published": "the nonces must not go into IEXEC_OUT"}[case]
    rc, summary, out, err = run(psrv, creds, "por", *args)
    assert rc == 1 and summary["State"] == "failed", out + err
    assert "exited with status 1" in summary["Error"], summary
    text = logs(psrv, creds, summary["TaskId"])
    assert want in text, text
    err_line = [l for l in text.splitlines() if l.startswith("{")][0]
    assert want in json.loads(err_line)["error"]
    assert show(psrv, creds, summary["TaskId"])["State"] == "failed"


def test_package_without_cloister_por(tmp_path):
    lone = tmp_path / "bin"
    lone.mkdir()
    shutil.copy(BIN, lone / "cloister")
    p = subprocess.run([str(lone / "cloister"), "por", "app", "--out", str(tmp_path / "d")],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1 and "no cloister-por next to" in p.stderr, p.stderr
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("outputs", [["../proofs.zip"], ["/iexec_out/proofs.zip"], ["a//b"],
                                     [""], ["x"] * 17, "proofs.zip", ["p" * 256]])
def test_manifest_public_outputs_refused(psrv, creds, app, outputs):
    d, _ = app
    m = json.dumps({"public_outputs": outputs})
    p = cl(psrv, creds, "app", "deploy", str(d), "--name", "por-bad", "--entrypoint",
           "/app/cloister-por prove-app", "--manifest", m)
    assert p.returncode == 1 and "public_outputs" in p.stderr, p.stderr


def test_nonces_out_on_the_host(tmp_path):
    """Where an operator keeps the nonces: --nonces-out FILE (prove and prove-app), never
    in the published directory; an existing FILE is refused before anything is proved."""
    assets = assets_of(2)
    accts = gen_accounts(3, assets, seed=3)
    ledger = write_ledger(tmp_path / "l.json", assets, accts)
    out, nonces = tmp_path / "out", tmp_path / "keep" / "nonces.json"
    nonces.parent.mkdir()
    out.mkdir()
    event = {"Records": [{"eventSource": "aws:s3", "s3": {
        "bucket": {"name": "b1"}, "object": {"key": "proof-runs/2024-01-15/private_ledger.json"}}}]}
    env = {**os.environ, "IEXEC_OUT": str(out), "CLOISTER_EVENT": json.dumps(event)}
    p = subprocess.run([str(BIN), "por", "prove-app", "--ledger", str(ledger), "--nonces-out",
                        str(nonces), "--padded-accounts", "4"], capture_output=True, text=True,
                       env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)
    assert s["nonces"] == str(nonces) and s["padded"] == 4
    assert s["source"] == "s3://b1/proof-runs/2024-01-15/private_ledger.json"  # a trigger's object
    assert sorted(os.listdir(out)) == ["computed.json", "final_proof.json", "merkle_tree.json",
                                       "proofs.zip", "user_proofs"]
    assert os.stat(nonces).st_mode & 0o777 == 0o600
    leaves = json.loads(nonces.read_text())["leaves"]
    assert len(leaves) == 4 and {l["user_hash"] for l in leaves} - {""} == set(accts)
    assert por("verify", out).returncode == 0
    again = por("prove", ledger, "--out", tmp_path / "out2", "--nonces-out", nonces)
    assert again.returncode == 1 and "already exists" in json.loads(again.stdout)["message"]
    assert not (tmp_path / "out2").exists()
    p = por("prove", ledger, "--out", tmp_path / "out3", "--nonces-out", tmp_path / "n3.json",
            "--padded-accounts", 4)
    assert p.returncode == 0 and "private_nonces.json" not in os.listdir(tmp_path / "out3")
    assert "private_nonces.json" not in json.loads(p.stdout)["files"]
