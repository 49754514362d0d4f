"""`cloister por prove` making cloister-por-v2 (POR2SPEC): the result line
(version, range_bits per asset, net_equity_bits, range_proofs, phases), the
range widths chosen by the data (an 18-decimal asset at 10^21 units gets 128
bits) or forced by --range-bits (all assets, or SYM=BITS, repeatable), the
refusals (a forced width a balance does not fit, naming the account and the
asset; parameters whose net equity cannot be proved, naming the asset;
negative net equity, naming the account; bad --range-bits values as usage
errors), issue 14's hidden-debt ledger proved honestly with its BTC debt
published, and the test hook CLOISTER_POR_UNSAFE_HOOK reported in the result.
The proofs themselves are checked by `cloister por verify` in test_por*.py;
here only the prover's side. Small trees (4 leaves, one proof per column)."""
import json
import subprocess

from conftest import BIN

SMALL = ["--padded-accounts", "4", "--batch", "64", "--threads", "2"]


def asset(d, price, q=2):
    return {"usdt_decimals": q, "balance_decimals": d, "price": price}


def ledger(tmp_path, accounts, assets):
    p = tmp_path / "ledger.json"
    # balances may exceed 2^64: written as JSON integers
    p.write_text(json.dumps({"timestamp": 1700000000000, "assets": assets, "accounts": accounts}))
    return p


def prove(ledger_path, out, *extra, env=None):
    import os
    e = {k: v for k, v in os.environ.items() if not k.startswith("CLOISTER_POR_UNSAFE")}
    e.update(env or {})
    p = subprocess.run([str(BIN), "por", "prove", str(ledger_path), "--out", str(out), *SMALL,
                        *map(str, extra)], capture_output=True, text=True, timeout=120, env=e)
    line = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else "{}"
    return p.returncode, json.loads(line), p.stderr


ASSETS = {"BTC": asset(8, 4000000), "ETH": asset(18, 400000)}


def test_result_and_widths_by_data(tmp_path):
    led = ledger(tmp_path, {"aa01": {"BTC": 100, "ETH": 10**21},
                            "aa02": {"BTC": 50, "ETH": -5}}, ASSETS)
    rc, r, err = prove(led, tmp_path / "out")
    assert rc == 0, err
    assert r["version"] == "cloister-por-v2"
    assert r["range_bits"] == {"BTC": 64, "ETH": 128}
    assert r["net_equity_bits"] % 8 == 0 and 128 < r["net_equity_bits"] <= 216
    assert r["range_proofs"] == 5  # 2n + 1 columns, one batch each
    assert set(r["phases"]) == {"read", "commitments", "tree", "range_proofs", "write"}
    fp = json.loads((tmp_path / "out" / "final_proof.json").read_text())
    assert fp["version"] == "cloister-por-v2"
    eth = [a for a in fp["assets"] if a["symbol"] == "ETH"][0]
    assert (eth["equity"], eth["debt"], eth["range_bits"]) == (str(10**21), "5", 128)
    up = json.loads((tmp_path / "out" / "user_proofs" / "aa01.json").read_text())
    assert up["balances"] == {"BTC": "100", "ETH": str(10**21)}
    assert up["net_equity"] == str(100 * 4000000 * 10**10 + 10**21 * 400000)
    tree = json.loads((tmp_path / "out" / "merkle_tree.json").read_text())
    assert list(tree) == ["version", "tree_depth", "leaves", "levels", "range_proofs"]
    assert len(tree["leaves"][0]["commitments"]) == 2 * 2 * 48 * 2


def test_range_bits_forced(tmp_path):
    led = ledger(tmp_path, {"aa01": {"BTC": 300, "ETH": 7}, "bb02": {"BTC": 1, "ETH": 0}}, ASSETS)
    rc, r, err = prove(led, tmp_path / "o1", "--range-bits", "128", "--range-bits", "ETH=8")
    assert rc == 0, err
    assert r["range_bits"] == {"BTC": 128, "ETH": 8}
    rc, r, err = prove(led, tmp_path / "o2", "--range-bits", "BTC=8")
    assert rc == 1
    assert "account aa01" in r["message"] and "asset BTC" in r["message"], r
    assert "8-bit" in r["message"]
    assert not (tmp_path / "o2").exists()
    for bad in ("12", "136", "0", "ETH=", "=64", "ETH=x", "ETH=256"):
        p = subprocess.run([str(BIN), "por", "prove", str(led), "--out", str(tmp_path / "o3"),
                            "--range-bits", bad], capture_output=True, text=True, timeout=30)
        assert p.returncode == 2, (bad, p.stderr)
        assert "--range-bits" in p.stderr
    rc, r, err = prove(led, tmp_path / "o4", "--range-bits", "DOGE=64")
    assert rc == 1 and "DOGE" in r["message"]


def test_refusals(tmp_path):
    # net equity beyond 216 bits: named by the asset, before anything is written
    big = {"ETH": asset(0, 9 * 10**18, q=18), "SHIB": asset(18, 1, q=18)}
    led = ledger(tmp_path, {"aa01": {"ETH": 2**64, "SHIB": 5}}, big)
    rc, r, err = prove(led, tmp_path / "o1")
    assert rc == 1 and "asset ETH" in r["message"] and "216" in r["message"], r
    assert not (tmp_path / "o1").exists()
    # negative net equity: named by the account
    led = ledger(tmp_path, {"aa01": {"BTC": 1, "ETH": 0},
                            "cc03": {"BTC": 1, "ETH": -10**12}}, ASSETS)
    rc, r, err = prove(led, tmp_path / "o2")
    assert rc == 1 and "account cc03" in r["message"] and "negative" in r["message"], r
    assert not (tmp_path / "o2").exists()


ATTACK_ASSETS = {"BTC": asset(8, 4000000), "JUNK": asset(0, 10**12)}
ATTACK = {"aa01": {"BTC": 100, "JUNK": 0}, "aa02": {"BTC": 50, "JUNK": 0},
          "ff99": {"BTC": -150, "JUNK": 1}}


def btc(out):
    fp = json.loads((out / "final_proof.json").read_text())
    a = [x for x in fp["assets"] if x["symbol"] == "BTC"][0]
    return a["equity"], a["debt"], a["net"]


def test_hidden_debt_published_and_hook(tmp_path):
    led = ledger(tmp_path, ATTACK, ATTACK_ASSETS)
    rc, r, err = prove(led, tmp_path / "honest")
    assert rc == 0, err
    assert "unsafe_hook" not in r
    assert btc(tmp_path / "honest") == ("150", "150", "0")  # the debt is in the open
    rc, r, err = prove(led, tmp_path / "forged", env={"CLOISTER_POR_UNSAFE_HOOK": "negative-part"})
    assert rc == 0, err
    assert r["unsafe_hook"] == "negative-part" and r["unsafe_bad_equity_accounts"] == 1
    assert btc(tmp_path / "forged") == ("0", "0", "0")  # what verify must refuse
    rc, r, err = prove(led, tmp_path / "bad", env={"CLOISTER_POR_UNSAFE_HOOK": "nope"})
    assert rc == 1 and "unknown test hook" in r["message"]
