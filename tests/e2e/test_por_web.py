"""The proof-of-reserves verification page (web/por, docs/por.md §7) and the static
file responder that serves it (`cloister serve` at /por/, src/cli/static.c).

- The page's verifier (web/por/verify.js) under node:test, on proofs built from the
  spec alone by tests/e2e/js/por_fixture.mjs (tests/e2e/js/por_verify.test.mjs: v1,
  por_verify2.test.mjs: cloister-por-v2).
- Cross-checks with the C implementation: proofs made by `cloister por prove` verified
  by verify.js and by `cloister por verify-inclusion`; the C verifier on the JS fixtures
  (v1, and v2 once the binary reads v2: `cloister por user-hash` exists), same verdicts
  and, for v2, the same failing step; the committed v1 files in tests/data/por_v1/.
- The page itself in headless Chromium (Debian's chromium + puppeteer-core) against
  the real server: a valid pair passes (with the account ID), a tampered balance and a
  wrong account ID fail at the named step, the per-asset equity/debt/net table and the
  warnings are shown.
- The static responder: index, content types, HEAD, 404 for traversal (plain and
  percent-encoded), directories, unknown files and symlinks out of the web root;
  the bucket name "por" is kept by the node (CreateBucket answers
  BucketAlreadyExists), so no bucket's anonymous reads are shadowed by the page.
"""
import hashlib
import http.client
import json
import os
import random
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, REPO

JS = Path(__file__).parent / "js"
WEB = REPO / "web" / "por"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def node(*args, timeout=120):
    return subprocess.run(["node", *map(str, args)], capture_output=True, text=True, cwd=JS,
                          timeout=timeout)


def require_noble():
    if not (WEB / "node_modules" / "@noble" / "curves").is_dir():
        pytest.fail("@noble/curves is not installed in web/por: run `make deps`")


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


# --------------------------------------------------------------------------- ledgers
ASSETS = [("BTC", 8, 3700000), ("ETH", 4, 200040), ("USDT", 6, 100)]


def make_ledger(accounts, nassets, rng):
    """A §7 ledger: every account has non-negative equity, some a debt in one asset."""
    assets = {s: {"usdt_decimals": 2, "balance_decimals": d, "price": p} for s, d, p in ASSETS[:nassets]}
    acc = {}
    for i in range(accounts):
        bal = {s: rng.randrange(0, 10**9) for s in assets}
        if nassets > 1 and i % 2 == 1:  # a debt covered by the other assets
            bal[ASSETS[1][0]] = -rng.randrange(1, 1000)
        acc[secrets.token_hex(32)] = bal
    return {"timestamp": 1700000000000, "assets": assets, "accounts": acc}


def equity(ledger, balances):
    d_max = max(a["balance_decimals"] for a in ledger["assets"].values())
    return sum(a["price"] * 10 ** (d_max - a["balance_decimals"]) * int(balances[s])
               for s, a in ledger["assets"].items())


def write_fixture(tmp_path, ledger, name="fx", *flags):
    """JS fixture (spec-built proof; v2 unless flags has "--v1") ->
    (final_proof path, {user hash: user proof path})."""
    lp = tmp_path / f"{name}-ledger.json"
    lp.write_text(json.dumps(ledger))
    out = tmp_path / name
    p = node(JS / "por_fixture.mjs", lp, out, *flags)
    assert p.returncode == 0, p.stderr
    users = json.loads(p.stdout.strip().splitlines()[-1])["users"]
    return out / "final_proof.json", {u: out / "user_proofs" / f"{u}.json" for u in users}


def tamper_balance(src, dst, delta=1):
    doc = json.loads(Path(src).read_text())
    sym = sorted(doc["balances"])[0]
    doc["balances"][sym] = str(int(doc["balances"][sym]) + delta)
    Path(dst).write_text(json.dumps(doc))
    return dst


def por_command(sub):
    """True when `cloister por SUB` exists in the binary under test."""
    try:
        p = subprocess.run([str(BIN), "por", sub, "--help"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    text = (p.stdout + p.stderr).lower()
    if "unknown command" in text or "unknown subcommand" in text:
        return False
    return p.returncode == 0 or ("usage" in text and sub in text)


# --------------------------------------------------------------------------- verify.js
def test_verify_js_node_unit_tests():
    require_noble()
    p = node("--test", "--test-reporter=tap", JS / "por_verify.test.mjs", JS / "por_verify2.test.mjs",
             timeout=180)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-8000:]
    assert "# fail 0" in out and "# pass " in out, out[-2000:]
    passed = int(out.split("# pass ")[1].split()[0])
    assert passed >= 40, out[-2000:]


def test_c_prover_proofs_verify_in_js(tmp_path):
    """`cloister por prove` output, every user proof verified by the page's verifier."""
    if not por_command("prove"):
        pytest.skip(f"cross-check not run: `{BIN} por prove --help` says the C prover is not built yet")
    require_noble()
    rng = random.Random(5)
    for accounts, nassets in [(1, 1), (2, 3), (3, 1), (3, 3)]:
        ledger = make_ledger(accounts, nassets, rng)
        lp = tmp_path / f"ledger-{accounts}x{nassets}.json"
        lp.write_text(json.dumps(ledger))
        out = tmp_path / f"out-{accounts}x{nassets}"
        # a small padded size keeps this fast (the default pads to 1024 leaves);
        # batches of 3, 3 and 2 values
        p = subprocess.run([str(BIN), "por", "prove", str(lp), "--out", str(out), "--padded-accounts", "8",
                            "--batch", "3"], capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, f"prove {accounts}x{nassets}: {p.stderr[-3000:]}"
        final = out / "final_proof.json"
        users = sorted((out / "user_proofs").glob("*.json"))
        assert len(users) == accounts
        bad = tamper_balance(users[0], tmp_path / f"tampered-{accounts}x{nassets}.json")
        r = node(JS / "por_verify_cli.mjs", final, *users, bad)
        assert r.returncode == 0, r.stderr
        verdicts = json_lines(r.stdout)
        assert len(verdicts) == len(users) + 1, r.stdout
        for v, path in zip(verdicts, users):
            assert v["ok"], f"{accounts}x{nassets}: {path.name} rejected at {v['failed']}: {v['reason']}"
            assert v["user_hash"] == path.stem
            assert int(v["equity"]) == equity(ledger, ledger["accounts"][path.stem])
            if v["version"] == "cloister-por-v2":  # per-asset totals: the ledger's sums
                want = [{"symbol": sym, "equity": str(sum(max(b[sym], 0) for b in ledger["accounts"].values())),
                         "debt": str(sum(max(-b[sym], 0) for b in ledger["accounts"].values())),
                         "net": str(sum(b[sym] for b in ledger["accounts"].values()))}
                        for sym in sorted(ledger["assets"])]
                assert v["assets"] == want, (v["assets"], want)
        assert verdicts[-1]["ok"] is False and verdicts[-1]["failed"] == "leaf"
        if por_command("verify-inclusion"):
            for path in users:
                c = c_verify_inclusion(path, final)
                assert c.returncode == 0, f"C verify-inclusion rejected {path.name}: {c.stderr}"
            c = c_verify_inclusion(bad, final)
            assert c.returncode == 1, "C verify-inclusion accepted a tampered balance"
            if verdicts[0]["version"] == "cloister-por-v2":
                assert c_step(c.stdout + c.stderr) == "leaf", c.stdout + c.stderr
                # the same tamperings the JS fixtures get, on the C prover's proofs
                cases = []
                for name, mutate, step in [
                        ("nonce", lambda d: d.update(nonce="11" * 32), "leaf"),
                        ("index", lambda d: d.update(leaf_index=d["leaf_index"] ^ 1), "path"),
                        ("net", lambda d: d.update(net_equity=str(int(d["net_equity"]) + 1)), "leaf"),
                        ("unknown", lambda d: d.update(note=1), "files")]:
                    doc = json.loads(users[0].read_text())
                    mutate(doc)
                    t = tmp_path / f"c-{name}-{accounts}x{nassets}.json"
                    t.write_text(json.dumps(doc))
                    cases.append((f"C proof {name}", t, final, None, False, step))
                agree(cases)


def test_c_verify_inclusion_agrees_on_js_fixtures(tmp_path):
    """The C verifier on proofs built from the spec in JS: same verdicts as verify.js."""
    if not por_command("verify-inclusion"):
        pytest.skip(f"cross-check not run: `{BIN} por verify-inclusion --help` says it is not built yet")
    require_noble()
    rng = random.Random(7)
    ledger = make_ledger(3, 3, rng)
    final, users = write_fixture(tmp_path, ledger, "fx", "--v1")
    first = next(iter(users.values()))
    cases = [(p, final, True) for p in users.values()]

    def variant(name, mutate, final_path=final):
        doc = json.loads(first.read_text())
        text = mutate(doc)
        path = tmp_path / f"{name}.json"
        path.write_text(text if isinstance(text, str) else json.dumps(doc))
        cases.append((path, final_path, False))

    variant("balance", lambda d: d["balances"].update(BTC=str(int(d["balances"]["BTC"]) + 1)))
    variant("other-hash", lambda d: d.update(user_hash=[u for u in users if u != d["user_hash"]][0]))
    variant("swapped", lambda d: d.update(path=[d["path"][1], d["path"][0], *d["path"][2:]]))
    variant("index", lambda d: d.update(leaf_index=d["leaf_index"] ^ 1))
    variant("nonce", lambda d: d.update(nonce="00" * 32))
    variant("short-path", lambda d: d["path"].pop())
    variant("truncated", lambda d: first.read_text()[:200])
    variant("dup-key", lambda d: json.dumps(d).replace('"balances": {', '"balances": {"BTC": "0", ', 1))
    # a total off by one, with total_equity and the statement digest recomputed as a forger would
    forged = tmp_path / "forged"
    forged.mkdir()
    r = node("--input-type=module", "-e", f"""
        import {{ readFileSync, writeFileSync }} from 'node:fs';
        import {{ restate }} from './por_fixture.mjs';
        const f = JSON.parse(readFileSync({json.dumps(str(final))}, 'utf8'));
        const u = JSON.parse(readFileSync({json.dumps(str(first))}, 'utf8'));
        f.assets[0].total = (BigInt(f.assets[0].total) + 1n).toString();
        restate(f, u);
        writeFileSync({json.dumps(str(forged / "final_proof.json"))}, JSON.stringify(f));
        writeFileSync({json.dumps(str(forged / "user.json"))}, JSON.stringify(u));""")
    assert r.returncode == 0, r.stderr
    cases.append((forged / "user.json", forged / "final_proof.json", False))
    # a negative-equity account in a proof a cheating prover made
    neg = make_ledger(2, 2, rng)
    bad_user = next(iter(neg["accounts"]))
    neg["accounts"][bad_user] = {"BTC": -10**6, "ETH": 3}  # equity < 0
    neg_final, neg_users = write_fixture(tmp_path, neg, "neg", "--v1")
    cases += [(p, neg_final, u != bad_user) for u, p in neg_users.items()]
    # final_proof.json without what the C v1 verifier requires, or with 1.0 for an
    # integer (issue 14: the page used to accept these)
    text = final.read_text()
    depth = json.loads(text)["parameters"]["tree_depth"]
    for name, mutate in [("no-link", lambda f: f.pop("equity_link_proof")),
                         ("no-range", lambda f: f.pop("range_proofs")),
                         ("no-tree", lambda f: f.pop("merkle_tree"))]:
        doc = json.loads(text)
        mutate(doc)
        (tmp_path / f"final-{name}.json").write_text(json.dumps(doc))
        cases.append((first, tmp_path / f"final-{name}.json", False))
    for name, old, new in [("depth-1.0", f'"tree_depth": {depth},', f'"tree_depth": {depth}.0,'),
                           ("bits-6.4e1", '"range_bits": 64,', '"range_bits": 6.4e1,')]:
        assert old in text, old
        (tmp_path / f"final-{name}.json").write_text(text.replace(old, new))
        cases.append((first, tmp_path / f"final-{name}.json", False))

    groups = {}  # one node process per final_proof.json
    for user, fin, _ in cases:
        groups.setdefault(fin, []).append(user)
    verdicts = {(fin, v["file"]): v for fin, us in groups.items() for v in js_verify(fin, us)}
    for user, fin, want in cases:
        js = verdicts[(fin, str(user))]
        c = subprocess.run([str(BIN), "por", "verify-inclusion", str(user), "--root", str(fin)],
                           capture_output=True, text=True, timeout=120)
        assert js["ok"] is want, f"JS on {user.name}: {js}"
        assert (c.returncode == 0) is want, f"C on {user.name}: rc {c.returncode} {c.stdout[-1000:]} {c.stderr[-1000:]}"
        if fin == neg_final and not want:
            assert js["failed"] == "equity" and "negative" in c.stdout + c.stderr, (js, c.stdout, c.stderr)
        if not want:
            assert c.returncode == 1, f"C on {user.name}: rc {c.returncode} (want 1: failed) {c.stderr[-1000:]}"


def c_verify_inclusion(user, final, uid=None):
    args = [str(BIN), "por", "verify-inclusion", str(user), "--root", str(final)]
    if uid is not None:
        args += ["--uid", uid]
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


# The C verifier's message -> the page's step (verify2.js): C checks in the page's order
# (files, uid, equity, leaf, path) and stops at the first failure.
C_STEPS = [("not for account", "uid"), ("does not fit the published", "equity"), ("is negative", "equity"),
           ("not below 2^", "equity"), ("states net_equity", "leaf"), ("leaf id", "leaf"),
           ("leaf hash", "leaf"), ("does not reach the published root", "path")]


def c_step(text):
    msg = text.split("user proof: ", 1)
    if len(msg) == 1 or "names a different" in msg[1][:40]:
        return "files"
    return next((step for key, step in C_STEPS if key in msg[1]), "files")


def js_verify(final, users, uid=None):
    args = [JS / "por_verify_cli.mjs", final] + (["--uid", uid] if uid is not None else []) + list(users)
    p = node(*args)
    assert p.returncode == 0, p.stderr
    return json_lines(p.stdout)


def c_reads_v2():
    """True when the binary under test has the v2 verifier (`por user-hash` derives §9's hash)."""
    try:
        p = subprocess.run([str(BIN), "por", "user-hash", "alice"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return p.returncode == 0 and p.stdout.strip() == user_hash_of("alice")


def require_c_v2():
    if not c_reads_v2():
        pytest.skip(f"C/JS v2 cross-check not run: `{BIN} por user-hash` does not exist (no v2 verifier)")
    require_noble()


def agree(cases):
    """cases: [(name, user, final, uid, want_ok, want_step or None)]: C and JS give the
    verdict wanted and, when it fails, fail at the same step. One node and one C process
    per (final, uid): their start-up dominates."""
    groups = {}
    for case in cases:
        groups.setdefault((case[2], case[3]), []).append(case)
    for (fin, uid), group in groups.items():
        users = [c[1] for c in group]
        js_lines = js_verify(fin, users, uid)
        c = subprocess.run([str(BIN), "por", "verify-inclusion", *map(str, users), "--root", str(fin)] +
                           (["--uid", uid] if uid is not None else []), capture_output=True, text=True, timeout=300)
        c_lines = json_lines(c.stdout)
        assert len(c_lines) == len(group), c.stdout + c.stderr
        assert c.returncode == (0 if all(x[4] for x in group) else 1), c.stdout + c.stderr
        for (name, _, _, _, want, step), js, cl in zip(group, js_lines, c_lines):
            assert js["ok"] is want, f"{name}: JS {js}"
            assert (cl["status"] == "ok") is want, f"{name}: C {cl}"
            if want:
                assert cl["version"] == js["version"] == "cloister-por-v2", name
                assert cl["assets"] == js["assets"] and cl["warnings"] == js["warnings"], (name, cl, js)
                assert cl["net_equity"] == js["equity"], name
            else:
                assert js["failed"] == c_step(cl["message"]), f"{name}: JS failed at {js['failed']} ({js['reason']}), C: {cl}"
                if step:
                    assert js["failed"] == step, f"{name}: {js}"


def test_c_and_js_agree_on_v2_js_fixtures(tmp_path):
    """The C verifier and verify.js on v2 proofs built from the spec in JS: same verdicts,
    same failing step, same per-asset totals and warnings."""
    require_c_v2()
    rng = random.Random(8)
    uids = ["alice", "bob@example.com", "carol"]
    ledger = make_ledger(3, 3, rng)
    ledger["accounts"] = {user_hash_of(u): b for u, b in zip(uids, ledger["accounts"].values())}
    final, users = write_fixture(tmp_path, ledger)
    first = users[user_hash_of("bob@example.com")]  # has an ETH debt
    cases = [(f"user {u}", users[user_hash_of(u)], final, u, True, None) for u in uids]
    cases.append(("no uid", first, final, None, True, None))
    cases.append(("wrong uid", first, final, "alice", False, "uid"))

    def variant(name, mutate, step, fin=final, doc_path=first):
        doc = json.loads(doc_path.read_text())
        text = mutate(doc)
        path = tmp_path / f"{name}.json"
        path.write_text(text if isinstance(text, str) else json.dumps(doc))
        cases.append((name, path, fin, None, False, step))

    other = [u for u in users if u != user_hash_of("bob@example.com")][0]
    variant("balance", lambda d: d["balances"].update(BTC=str(int(d["balances"]["BTC"]) + 1)), "leaf")
    variant("net-equity", lambda d: d.update(net_equity=str(int(d["net_equity"]) + 1)), "leaf")
    variant("other-hash", lambda d: d.update(user_hash=other), "leaf")
    variant("nonce", lambda d: d.update(nonce="00" * 32), "leaf")
    variant("swapped", lambda d: d.update(path=[d["path"][1], d["path"][0], *d["path"][2:]]), "path")
    variant("index", lambda d: d.update(leaf_index=d["leaf_index"] ^ 1), "path")
    variant("short-path", lambda d: d["path"].pop(), "files")
    variant("truncated", lambda d: first.read_text()[:200], "files")
    variant("dup-key", lambda d: json.dumps(d).replace('"balances": {', '"balances": {"BTC": "0", ', 1), "files")
    variant("unknown", lambda d: d.update(note="x"), "files")
    variant("missing", lambda d: d.pop("net_equity"), "files")
    variant("index-1.0", lambda d: json.dumps(d).replace(f'"leaf_index": {d["leaf_index"]}',
                                                         f'"leaf_index": {d["leaf_index"]}.0'), "files")
    variant("balance-number", lambda d: d["balances"].update(BTC=int(d["balances"]["BTC"])), "files")
    variant("balance-2^127", lambda d: d["balances"].update(BTC=str(2**127)), "files")
    variant("bom", lambda d: "\ufeff" + first.read_text(), "files")
    latin1 = tmp_path / "latin1.json"  # not UTF-8
    latin1.write_bytes(first.read_bytes().replace(b'"version"', b'"v\xe9rsion"', 1))
    cases.append(("latin1", latin1, final, None, False, "files"))
    # final_proof.json variants, checked with an honest user proof
    text = final.read_text()
    fdoc = json.loads(text)
    k_eq = fdoc["parameters"]["net_equity_bits"]

    def final_variant(name, mutate):
        doc = json.loads(text)
        t = mutate(doc)
        path = tmp_path / f"final-{name}.json"
        path.write_text(t if isinstance(t, str) else json.dumps(doc))
        cases.append((f"final {name}", first, path, None, False, "files"))

    final_variant("weight", lambda f: f["assets"][0].update(weight=str(int(f["assets"][0]["weight"]) + 1)))
    final_variant("no-range", lambda f: f.pop("range_proofs"))
    final_variant("unknown", lambda f: f["assets"][1].update(note="x"))
    final_variant("k_eq-1.0", lambda f: text.replace(f'"net_equity_bits": {k_eq}', f'"net_equity_bits": {k_eq}.0'))
    final_variant("k_eq", lambda f: f["parameters"].update(net_equity_bits=k_eq + 8))
    final_variant("count", lambda f: f["range_proofs"].update(count=f["range_proofs"]["count"] + 1))
    final_variant("ts-2^53", lambda f: f.update(timestamp=2**53))
    final_variant("debt", lambda f: f["assets"][1].update(debt=str(int(f["assets"][1]["debt"]) + 1)))

    # the hidden-debt ledger: honest (warning) and forged with a negative equity part
    hd = {"timestamp": 1700000000000,
          "assets": {"BTC": {"usdt_decimals": 2, "balance_decimals": 8, "price": 4000000},
                     "JUNK": {"usdt_decimals": 2, "balance_decimals": 0, "price": 10**9}},
          "accounts": {"aa01": {"BTC": 100, "JUNK": 0}, "aa02": {"BTC": 50, "JUNK": 0},
                       "ff99": {"BTC": -150, "JUNK": 1}}}
    hd_final, hd_users = write_fixture(tmp_path, hd, "hd")
    cases += [(f"hidden-debt {u}", p, hd_final, None, True, None) for u, p in hd_users.items()]
    f_final, f_users = write_fixture(tmp_path, hd, "forged", "--forge-negative-part")
    cases += [(f"forged {u}", p, f_final, None, u != "ff99", "leaf") for u, p in f_users.items()]
    # a part outside its published width; a negative net equity; a price of 0
    w = {"timestamp": 1700000000000,
         "assets": {"BTC": {"usdt_decimals": 2, "balance_decimals": 8, "price": 1},
                    "ZERO": {"usdt_decimals": 2, "balance_decimals": 0, "price": 0}},
         "accounts": {"aa01": {"BTC": 255, "ZERO": 1}, "aa02": {"BTC": 256, "ZERO": -1},
                      "aa03": {"BTC": -5, "ZERO": 0}, "aa04": {"BTC": 300, "ZERO": 0}}}
    w_final, w_users = write_fixture(tmp_path, w, "width", "--range-bits", "BTC=8", "--range-bits", "ZERO=8")
    cases += [("width ok", w_users["aa01"], w_final, None, True, None),
              ("width 256", w_users["aa02"], w_final, None, False, "equity"),
              ("negative net", w_users["aa03"], w_final, None, False, "equity")]
    agree(cases)
    js = js_verify(hd_final, [hd_users["aa01"]])[0]
    assert js["warnings"] == ["asset BTC: customers owe the exchange as much BTC as it owes them or more "
                              "(equity 150, debt 150, net 0)"], js


def test_v1_files_from_the_last_v1_prover(tmp_path):
    """tests/data/por_v1/ (made by the last v1 prover): every user proof passes in JS and
    in C; a tampered balance fails in both (at the leaf); a user proof checked against a
    final_proof.json of the other version is refused by both."""
    data = REPO / "tests" / "data" / "por_v1"
    if not (data / "final_proof.json").is_file():
        pytest.skip("tests/data/por_v1/ is not in this tree yet (the verifier helper commits it)")
    require_noble()
    final = data / "final_proof.json"
    users = sorted((data / "user_proofs").glob("*.json"))
    assert users
    bad = tamper_balance(users[0], tmp_path / "tampered.json")
    verdicts = js_verify(final, [*users, bad])
    for v in verdicts[:-1]:
        assert v["ok"] and v["version"] == "cloister-por-v1", v
    assert verdicts[-1]["ok"] is False and verdicts[-1]["failed"] == "leaf", verdicts[-1]
    for u in users:
        assert c_verify_inclusion(u, final).returncode == 0, u
    assert c_verify_inclusion(bad, final).returncode == 1
    if c_reads_v2():  # a v2 final_proof.json with a v1 user proof
        v2_final, _ = write_fixture(tmp_path, make_ledger(2, 2, random.Random(3)), "v2")
        assert js_verify(v2_final, [users[0]])[0]["failed"] == "files"
        assert c_verify_inclusion(users[0], v2_final).returncode == 1


# --------------------------------------------------------------------------- the page in Chromium
def user_hash_of(uid):
    """docs/por.md v2 §9: Ht("cloister-por-v2/user", UTF-8 uid), hex."""
    tag = b"cloister-por-v2/user"
    return hashlib.sha256(bytes([len(tag)]) + tag + uid.encode()).hexdigest()


def page_server(make_server, tmp_path):
    """A server whose /por/ is this tree's web/por (whatever binary runs the tests). In a
    git worktree web/por/node_modules links outside the web root, which the static
    responder rightly refuses to serve: then the page is served from a copy."""
    root = REPO / "web"
    if not (WEB / "node_modules").resolve().is_relative_to(root.resolve()):
        root = tmp_path / "web"
        shutil.copytree(REPO / "web", root)  # follows the link: a real node_modules
    return make_server("page", extra_args=["--web-dir", str(root)])


def test_page_in_headless_chromium(make_server, tmp_path):
    require_noble()
    server = page_server(make_server, tmp_path)
    if not (JS / "node_modules" / "puppeteer-core").is_dir():
        pytest.fail("puppeteer-core is not installed in tests/e2e/js: run `make deps`")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} not found: run `make deps` (Debian package chromium)")
    ledger = make_ledger(3, 3, random.Random(11))
    # account IDs: the user hashes are derived from them (v2 §9)
    uids = ["alice", "bob@example.com", "carol"]
    ledger["accounts"] = {user_hash_of(u): b for u, b in zip(uids, ledger["accounts"].values())}
    final, users = write_fixture(tmp_path, ledger)
    good = users[user_hash_of("alice")]
    bad = tamper_balance(good, tmp_path / "tampered.json", delta=1)
    # the hidden-debt ledger of issue 14, proved honestly: BTC equity 150, debt 150, net 0
    hd_final, hd_users = write_fixture(tmp_path, {
        "timestamp": 1700000000000,
        "assets": {"BTC": {"usdt_decimals": 2, "balance_decimals": 8, "price": 4000000},
                   "JUNK": {"usdt_decimals": 2, "balance_decimals": 0, "price": 10**9}},
        "accounts": {"aa01": {"BTC": 100, "JUNK": 0}, "aa02": {"BTC": 50, "JUNK": 0},
                     "ff99": {"BTC": -150, "JUNK": 1}}}, "hd")
    v1_final, v1_users = write_fixture(tmp_path, make_ledger(2, 2, random.Random(12)), "v1", "--v1")
    p = node(JS / "por_page.mjs", server.endpoint + "/por/", final, f"{good}::alice", bad,
             f"{good}::bob@example.com", good, "--final", hd_final, hd_users["aa01"],
             "--final", v1_final, next(iter(v1_users.values())), timeout=180)
    assert p.returncode == 0, p.stderr[-4000:]
    *out, done = json_lines(p.stdout)
    assert done["problems"] == [], done["problems"]
    ok, tampered, wrong_uid, no_uid, honest_debt, v1 = out

    assert ok["status"] == "pass", ok
    assert ok["version"] == "cloister-por-v2"
    assert ok["userHash"] == user_hash_of("alice")
    assert [s["status"] for s in ok["steps"]] == ["pass", "info", "pass", "pass", "pass", "pass"], ok["steps"]
    doc = json.loads(good.read_text())
    assert ok["summary"] == (
        f"Verified: your balances, as listed, are committed in leaf {doc['leaf_index']} of the tree whose root "
        "and per-asset totals are shown; that those totals are the sums of all leaves, with every balance part "
        "and every account's net equity non-negative, is what `cloister por verify` checks on the public files.")
    assert "covered" not in ok["summary"] and "included in" not in ok["summary"]
    assert all(any(b in row for row in ok["balances"]) for b in doc["balances"].values()), ok["balances"]
    assert ok["totals"][0] == ["asset", "equity (owed to customers)", "debt (owed by customers)", "net",
                            "price (USDT per unit)"]
    assert len(ok["totals"]) == 4 and ok["warnings"] == [], ok
    fp = json.loads(final.read_text())
    for row, a in zip(ok["totals"][1:], fp["assets"]):
        d = a["balance_decimals"]
        fmt = lambda v: f"{'-' if int(v) < 0 else ''}{abs(int(v)) // 10**d}.{abs(int(v)) % 10**d:0{d}d}"
        price = f"{int(a['price']) // 100}.{int(a['price']) % 100:02d}"  # usdt_decimals 2
        assert row == [a["symbol"], fmt(a["equity"]), fmt(a["debt"]), fmt(a["net"]), price], (row, a)
    assert any(r[2] != "0.0000" for r in ok["totals"][1:]), "make_ledger has a debt in ETH"
    assert ok["totalNet"].startswith("Total net equity: ") and ok["totalNet"].endswith(" USDT (Σ price·net over the assets).")

    assert tampered["status"] == "fail" and tampered["failed"] == "leaf", tampered
    assert [s["id"] for s in tampered["steps"] if s["status"] == "fail"] == ["leaf"], tampered["steps"]
    assert "3b. Your leaf is recomputed" in tampered["summary"], tampered["summary"]
    assert "leaf hash" in tampered["summary"], tampered["summary"]

    assert wrong_uid["status"] == "fail" and wrong_uid["failed"] == "uid", wrong_uid
    assert "this proof is not for account bob@example.com" in wrong_uid["summary"]
    assert no_uid["status"] == "pass" and no_uid["steps"][2]["status"] == "info", no_uid

    assert honest_debt["status"] == "pass", honest_debt
    assert honest_debt["warnings"] == ["asset BTC: customers owe the exchange as much BTC as it owes them or more "
                                       "(equity 150, debt 150, net 0)"], honest_debt
    assert honest_debt["totals"][1] == ["BTC", "0.00000150", "0.00000150", "0.00000000", "40000.00"]

    assert v1["status"] == "pass" and v1["version"] == "cloister-por-v1", v1
    assert [s["status"] for s in v1["steps"]] == ["pass", "info", "pass", "pass", "pass", "pass"], v1["steps"]
    assert "v1 does not range-check" in v1["summary"], v1["summary"]


# --------------------------------------------------------------------------- static responder
def raw(port, method, path, headers=None):
    """A request with the target exactly as given (no client-side normalisation)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def test_static_index_types_and_head(server):
    index = (WEB / "index.html").read_bytes()
    for path in ("/por/", "/por/index.html", "/por/?x=1"):
        st, h, body = raw(server.port, "GET", path)
        assert st == 200 and body == index, (path, st)
        assert h["content-type"].startswith("text/html")
        assert h["cache-control"] == "no-cache"
        assert h["x-content-type-options"] == "nosniff"
    st, h, _ = raw(server.port, "GET", "/por")
    assert st == 301 and h["location"] == "/por/"
    for path, ctype in [("/por/verify.js", "text/javascript"), ("/por/app.js", "text/javascript"),
                        ("/por/style.css", "text/css"), ("/por/package.json", "application/json"),
                        ("/por/node_modules/@noble/curves/bls12-381.js", "text/javascript"),
                        ("/por/node_modules/@noble/hashes/sha2.js", "text/javascript")]:
        st, h, body = raw(server.port, "GET", path)
        assert st == 200, path
        assert h["content-type"].startswith(ctype), (path, h["content-type"])
        assert body == (WEB / path[len("/por/"):]).read_bytes()
    st, h, body = raw(server.port, "HEAD", "/por/")
    assert st == 200 and body == b""
    assert int(h["content-length"]) == len(index)
    assert h["content-type"].startswith("text/html")
    st, _, body = raw(server.port, "HEAD", "/por/nope.js")
    assert st == 404 and body == b""


TRAVERSALS = [
    "/por/../credentials", "/por/../../credentials", "/por/%2e%2e/credentials", "/por/%2e%2e/meta.db",
    "/por/%2E%2E/%2E%2E/README.md", "/por/..%2f..%2fmeson.build", "/por/%2e%2e%2f%2e%2e%2fmeson.build",
    "/por/%2e%2e/%2e%2e/tests/e2e/js/package.json", "/por/node_modules/../../../meson.build",
    "/por/node_modules/../index.html", "/por/./index.html", "/por//index.html", "/por/%2fetc%2fpasswd",
    "/por/%00index.html", "/por/index.html%00.js", "/por/%5c..%5cmeta.db", "/por/..\\meta.db",
    "/por/%2", "/por/%zz", "/por/.hidden.js", "/por/node_modules/.package-lock.json",
]


def test_static_traversal_is_404(server):
    for path in TRAVERSALS:
        st, h, body = raw(server.port, "GET", path)
        assert st == 404, (path, st, body[:200])
        assert body == b"Not Found\n", path


def test_static_directories_and_unknown_files_are_404(server):
    for path in ["/por/node_modules", "/por/node_modules/", "/por/node_modules/@noble",
                 "/por/node_modules/@noble/curves/", "/por/nope.html", "/por/nope/",
                 "/por/node_modules/@noble/curves/LICENSE", "/por/node_modules/@noble/curves/index.d.ts",
                 "/por/node_modules/@noble/curves/README.md", "/porx/index.html"]:
        st, _, body = raw(server.port, "GET", path)
        assert st in (403, 404), (path, st)  # /porx/... is S3's (anonymous: refused)
        assert b"<html" not in body.lower(), path


def test_bucket_name_por_is_kept_by_the_node(server, aws_cli):
    """/por/ is the page, so the node keeps the bucket name "por": CreateBucket
    answers BucketAlreadyExists (as for a name another account holds) with boto3
    and the aws CLI, nothing is created, and anonymous /por/ stays the page."""
    from botocore.exceptions import ClientError
    s3 = server.boto3_client("s3")
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket="por")
    assert e.value.response["Error"]["Code"] == "BucketAlreadyExists"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    rc, _, err = server.aws(aws_cli, ["s3api", "create-bucket", "--bucket", "por"],
                            creds=server.admin_creds())
    assert rc != 0 and "BucketAlreadyExists" in err
    assert "por" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.create_bucket(Bucket="porx")  # only the exact name
    s3.delete_bucket(Bucket="porx")
    st, _, body = raw(server.port, "GET", "/por/index.html")  # anonymous: the page
    assert st == 200 and body == (WEB / "index.html").read_bytes()


def test_static_web_dir_option_and_symlinks(make_server, tmp_path):
    root = tmp_path / "web"
    (root / "por" / "sub").mkdir(parents=True)
    (root / "por" / "index.html").write_text("<p>custom root</p>")
    (root / "por" / "sub" / "a.js").write_text("export const a = 1;\n")
    (root / "shared.js").write_text("export const s = 1;\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.js").write_text("secret\n")
    (root / "por" / "inside.js").symlink_to("../shared.js")            # stays in the web root: served
    (root / "por" / "escape.js").symlink_to(outside / "secret.js")     # leads out: 404
    (root / "por" / "escdir").symlink_to(outside)                      # a directory out: 404
    (root / "por" / "dir.js").mkdir()                                   # a directory named *.js
    os.mkfifo(root / "por" / "fifo.js")                                 # not a regular file
    srv = make_server("webdir", extra_args=["--web-dir", str(root)])
    assert raw(srv.port, "GET", "/por/")[2] == b"<p>custom root</p>"
    assert raw(srv.port, "GET", "/por/sub/a.js")[0] == 200
    assert raw(srv.port, "GET", "/por/inside.js")[2] == b"export const s = 1;\n"
    for path in ["/por/escape.js", "/por/escdir/secret.js", "/por/dir.js", "/por/fifo.js",
                 "/por/verify.js", "/por/%2e%2e/shared.js"]:
        st, _, body = raw(srv.port, "GET", path)
        assert st == 404 and b"secret" not in body, (path, st)
    # the web root itself removed: 404, the server keeps running
    shutil.rmtree(root)
    assert raw(srv.port, "GET", "/por/")[0] == 404
    assert srv.healthy()
