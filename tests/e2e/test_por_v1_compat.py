"""cloister-por-v1 files stay verifiable after v2 (issue 14).

tests/data/por_v1/ holds a proof made by the last v1 prover (3 accounts × 2
assets, padded to 4, batch 2; ledger.json is its input): final_proof.json,
merkle_tree.json and two user proofs. `verify` and `verify-inclusion` must
accept them unchanged (they dispatch on "version") and reject tampered copies.
The JS verifier uses the same fixtures.
"""
import json
import os
import shutil
import subprocess
from pathlib import Path

from conftest import BIN

DATA = Path(__file__).resolve().parent.parent / "data" / "por_v1"
ROOT = "9ecd302cd77f5c62d9590794f8bbfe20719c5a87a4e6b0b6e5acc16c2304595a"


def run(*args):
    p = subprocess.run([str(BIN), "por", *map(str, args)], capture_output=True, text=True,
                       timeout=120)
    return p.returncode, [json.loads(l) for l in p.stdout.splitlines() if l.strip()], p.stderr


def copy_fixture(tmp_path):
    d = tmp_path / "v1"
    shutil.copytree(DATA, d)
    return d


def test_v1_verify_accepts():
    rc, lines, err = run("verify", DATA, "--threads", 1)
    assert rc == 0, (lines, err)
    assert lines[0]["status"] == "ok" and lines[0]["root"] == ROOT
    assert lines[0]["total_equity"] == "481508800000000"
    assert lines[0].get("version", "cloister-por-v1") == "cloister-por-v1"


def test_v1_inclusion_accepts():
    proofs = sorted((DATA / "user_proofs").glob("*.json"))
    rc, lines, err = run("verify-inclusion", *proofs, "--root", DATA / "final_proof.json")
    assert rc == 0, (lines, err)
    assert [l["status"] for l in lines] == ["ok", "ok"]
    assert {l["user_hash"] for l in lines} == {"aa01", "aa03"}


def test_v1_tampered_tree_rejected(tmp_path):
    d = copy_fixture(tmp_path)
    t = json.loads((d / "merkle_tree.json").read_text())
    h = t["leaves"][0]["hash"]
    t["leaves"][0]["hash"] = ("0" if h[0] != "0" else "1") + h[1:]
    (d / "merkle_tree.json").write_text(json.dumps(t))
    rc, lines, _ = run("verify", d, "--threads", 1)
    assert rc == 1 and lines[0]["status"] == "error"


def test_v1_tampered_total_rejected(tmp_path):
    d = copy_fixture(tmp_path)
    fp = json.loads((d / "final_proof.json").read_text())
    fp["assets"][0]["total"] = str(int(fp["assets"][0]["total"]) + 1)
    (d / "final_proof.json").write_text(json.dumps(fp, indent=2))
    rc, lines, _ = run("verify", d, "--threads", 1)
    assert rc == 1 and lines[0]["status"] == "error"
    proof = d / "user_proofs" / "aa01.json"
    rc, lines, _ = run("verify-inclusion", proof, "--root", d / "final_proof.json")
    assert rc == 1 and lines[0]["status"] == "error"


def test_v1_tampered_user_balance_rejected(tmp_path):
    d = copy_fixture(tmp_path)
    proof = d / "user_proofs" / "aa01.json"
    up = json.loads(proof.read_text())
    up["balances"]["BTC"] = str(int(up["balances"]["BTC"]) + 1)
    proof.write_text(json.dumps(up))
    rc, lines, _ = run("verify-inclusion", proof, "--root", d / "final_proof.json")
    assert rc == 1 and lines[0]["status"] == "error"
    assert "balance commitment" in lines[0]["message"] or "equity" in lines[0]["message"]
