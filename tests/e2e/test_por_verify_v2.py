"""The cloister-por-v2 verifier's command line (docs/por.md v2 §7–§9), through
the real binary, no server: `user-hash UID`; `verify`'s JSON line (version,
per-asset equity/debt/net, total_net_equity, warnings) and human lines;
`verify-inclusion` with and without `--uid`, and what it says it establishes;
and the prover's test hooks (debug builds): every forged proof fails `verify`
with a message naming the column (asset and part) or the asset.

The attack suite proper (hidden-debt variants, privacy, round trips) is
tests/e2e/test_por.py's; this file covers the verifier's own interface.
"""
import hashlib
import json
import os
import subprocess

import pytest

from conftest import BIN


def run(*args, env_extra=None):
    env = dict(os.environ)
    env.pop("CLOISTER_POR_UNSAFE_ALLOW_NEGATIVE", None)
    env.pop("CLOISTER_POR_UNSAFE_HOOK", None)
    env.update(env_extra or {})
    p = subprocess.run([str(BIN), "por", *map(str, args)], capture_output=True, text=True,
                       env=env, timeout=300)
    return p.returncode, [json.loads(l) for l in p.stdout.splitlines() if l.strip()], p.stderr


def tagged(tag, data):
    t = tag.encode()
    return hashlib.sha256(bytes([len(t)]) + t + data).hexdigest()


def user_hash(uid):
    return tagged("cloister-por-v2/user", uid.encode())


def test_user_hash_cli():
    for uid in ("alice@example.com", "42", "Zoë ✓"):
        p = subprocess.run([str(BIN), "por", "user-hash", uid], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        assert p.stdout == user_hash(uid) + "\n"
    p = subprocess.run([str(BIN), "por", "user-hash"], capture_output=True, text=True)
    assert p.returncode == 2


ASSETS = {"BTC": {"usdt_decimals": 2, "balance_decimals": 8, "price": 4000000},
          "JUNK": {"usdt_decimals": 2, "balance_decimals": 0, "price": 90000}}
UIDS = ["alice", "bob", "mallory"]
BALANCES = [{"BTC": 100, "JUNK": 0}, {"BTC": 50, "JUNK": 0}, {"BTC": -150, "JUNK": 1}]


def prove(tmp_path, name="out", hook=None, ledger=None):
    led = tmp_path / (name + ".json")
    accounts = ledger or {user_hash(u): b for u, b in zip(UIDS, BALANCES)}
    led.write_text(json.dumps({"timestamp": 1700000000000, "assets": ASSETS,
                               "accounts": accounts}))
    env = {"CLOISTER_POR_UNSAFE_HOOK": hook} if hook else None
    out = tmp_path / name
    rc, lines, err = run("prove", led, "--out", out, "--padded-accounts", 4, "--batch", 2,
                         "--threads", 1, env_extra=env)
    return rc, lines, err, out


@pytest.fixture(scope="module")
def honest(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("por2v")
    rc, lines, err, out = prove(tmp)
    assert rc == 0, err
    fp = json.loads((out / "final_proof.json").read_text())
    if fp.get("version") != "cloister-por-v2":
        pytest.skip("this binary's prover still makes cloister-por-v1")
    return out


def test_verify_output(honest):
    rc, lines, err = run("verify", honest, "--threads", 1)
    assert rc == 0, err
    r = lines[0]
    assert r["status"] == "ok" and r["version"] == "cloister-por-v2"
    btc = [a for a in r["assets"] if a["symbol"] == "BTC"][0]
    assert (btc["equity"], btc["debt"], btc["net"]) == ("150", "150", "0")
    assert r["total_net_equity"] == str(90000 * 10 ** 8)
    assert r["warnings"] == ["asset BTC: customers owe the exchange as much BTC as it owes them "
                             "or more (equity 150, debt 150, net 0)"]
    assert "equity 150, debt 150, net 0" in err and "WARNING: asset BTC" in err


def test_inclusion_uid(honest):
    final = honest / "final_proof.json"
    for uid in UIDS:
        proof = honest / "user_proofs" / (user_hash(uid) + ".json")
        rc, lines, err = run("verify-inclusion", proof, "--root", final, "--uid", uid)
        assert rc == 0, err
        r = lines[0]
        assert r["uid_checked"] is True and r["version"] == "cloister-por-v2"
        assert r["established"].startswith("your balances, as listed, are committed in leaf %d "
                                           "of the tree whose root and per-asset totals are "
                                           "shown" % r["leaf_index"])
        assert [a["symbol"] for a in r["assets"]] == ["BTC", "JUNK"]
    proof = honest / "user_proofs" / (user_hash("alice") + ".json")
    rc, lines, _ = run("verify-inclusion", proof, "--root", final, "--uid", "bob")
    assert rc == 1 and "this proof is not for account bob" in lines[0]["message"]
    rc, lines, _ = run("verify-inclusion", proof, "--root", final)
    assert rc == 0 and lines[0]["uid_checked"] is False


def test_uid_refused_for_v1():
    data = os.path.join(os.path.dirname(__file__), "..", "data", "por_v1")
    rc, lines, _ = run("verify-inclusion", os.path.join(data, "user_proofs", "aa01.json"),
                       "--root", os.path.join(data, "final_proof.json"), "--uid", "aa01")
    assert rc == 1 and "cloister-por-v1" in lines[0]["message"]


@pytest.mark.parametrize("hook,want", [
    ("negative-part", "column 1 (BTC equity parts"),
    ("overflow-part", "parts, "),
    ("negative-net", "column 0 (net equity"),
    ("dummy-debt=BTC:150", "column 1 (BTC equity parts"),
])
def test_hooks_fail_verify(tmp_path, honest, hook, want):
    ledger = None
    if hook == "negative-net":
        ledger = {user_hash("alice"): {"BTC": 1000, "JUNK": 0},
                  user_hash("mallory"): {"BTC": -150, "JUNK": 0}}
    rc, lines, err, out = prove(tmp_path, hook=hook, ledger=ledger)
    if rc != 0 and "hook" in (lines[0].get("message", "") if lines else err):
        pytest.skip("this build has no test hooks")
    assert rc == 0, err
    rc, lines, err = run("verify", out, "--threads", 1)
    assert rc == 1, lines
    assert want in lines[0]["message"], lines[0]["message"]
