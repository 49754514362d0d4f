"""Proof of reserves end to end, protocol cloister-por-v2 (docs/por.md):
`cloister por prove | verify | verify-inclusion | user-hash` on generated
ledgers, through the real binary, no server; the page's verifier
(web/por/verify.js under node, tests/e2e/js/por_verify_cli.mjs) where a user
check matters.

* Round trips: 1, 2, 3 and 1000 accounts x 1 and 20 assets: prove -> verify ->
  verify-inclusion of every account's proof; the published numbers (per-asset
  equity, debt, net, widths, proof count) and the digests, leaf and node
  hashes are recomputed here from the spec alone, and for a small tree every
  commitment too (G and H recovered from the nonces).
* Issue 14, the hidden short position: aa01 BTC=100, aa02 BTC=50, ff99
  BTC=-150 + JUNK=1 (JUNK priced high). The honest prover publishes BTC
  equity 150, debt 150, net 0 and verify warns; every forgery the prover's
  debug-build hooks (CLOISTER_POR_UNSAFE_HOOK) force through — the debt as a
  negative equity part, debt in a padding leaf, a debt split as -1 over many
  accounts, parts >= 2^k, a negative net equity — fails `verify` naming the
  column, and ff99's own proof fails verify-inclusion in C and in JS.
* Real decimals: an 18-decimal asset at its maximum (2^127 - 1, -2^127, 10^21;
  128-bit range) round trips; a price/decimals/width combination whose net
  equity cannot fit 216 bits, or a value that does not fit a forced width, is
  refused naming the asset; a balance of 2^127 is refused.
* Tampering: totals off by one, user-proof fields, a leaf reused for two users
  (every hash, total, blinding and digest fixed up, so only the distinct-ids
  check is left), strict JSON (missing and unknown fields, 1.0, duplicate
  keys) in C and JS, truncated and bit-flipped files.
* Privacy: two ledgers with the same per-asset equity and debt and padded size
  but different balances and account counts give public files that differ
  only in random-looking hex values.
* Ledger faults and usage.

Recomputing commitments needs G1 arithmetic; a few lines of BLS12-381 affine
arithmetic below do it (decompress, add, multiply, compress — no subgroup
checks: only for building and checking test inputs).
"""
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from conftest import BIN, REPO

P_MOD = 0x1A0111EA397FE69A4B1BA7B6434BACD764774B84F38512BF6730D2A0F6B0F6241EABFFFEB153FFFFB9FEFFFFFFFFAAAB
R_ORD = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
V2 = "cloister-por-v2"
JS_CLI = Path(__file__).parent / "js" / "por_verify_cli.mjs"
NOBLE = REPO / "web" / "por" / "node_modules" / "@noble" / "curves"
HOOK_ENV = ("CLOISTER_POR_UNSAFE_ALLOW_NEGATIVE", "CLOISTER_POR_UNSAFE_HOOK")


# --------------------------------------------------------------------------- running the binary
def run(*args, env_extra=None, timeout=600):
    env = dict(os.environ)
    for k in HOOK_ENV:
        env.pop(k, None)
    if env_extra:
        env.update(env_extra)
    p = subprocess.run([str(BIN), "por", *map(str, args)], capture_output=True, text=True,
                       env=env, timeout=timeout)
    lines = [json.loads(l) for l in p.stdout.splitlines() if l.strip().startswith("{")]
    assert "\r" not in p.stderr, "progress bars must only go to a terminal"
    return p.returncode, lines, p.stderr


def prove(ledger, out, *extra, env_extra=None):
    rc, lines, err = run("prove", ledger, "--out", out, *extra, env_extra=env_extra)
    assert len(lines) == 1, (rc, lines, err)
    return rc, lines[0], err


def prove_hooked(ledger, out, hook, *extra):
    """A forged proof made by the prover's test hook; skips on a release build."""
    rc, res, err = prove(ledger, out, *extra, env_extra={"CLOISTER_POR_UNSAFE_HOOK": hook})
    if rc != 0 and "test hook" in res.get("message", ""):
        pytest.skip("release build: no test hooks")
    assert rc == 0, (hook, res, err)
    assert hook.split("=")[0] in json.dumps(res.get("unsafe_hook")), res
    return res


def verify(d):
    rc, lines, err = run("verify", d)
    assert len(lines) == 1, (rc, lines, err)
    return rc, lines[0], err


def inclusion(proofs, final, *extra):
    rc, lines, err = run("verify-inclusion", *proofs, "--root", final, *extra)
    assert len(lines) == len(proofs), (rc, lines, err)
    return rc, lines, err


def js_inclusion(final, proofs):
    """The page's verifier on the same files: [{ok, failed, reason, ...}]."""
    if not NOBLE.is_dir():
        pytest.skip("web/por/node_modules is not linked here")
    p = subprocess.run(["node", str(JS_CLI), str(final), *map(str, proofs)], capture_output=True,
                       text=True, cwd=JS_CLI.parent, timeout=300)
    assert p.returncode == 0, p.stderr
    out = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    assert len(out) == len(proofs), p.stdout
    return out


def js_pairs(pairs):
    """verifyInclusion of web/por/verify.js on many (final, user proof) pairs
    in one node process: [ok, ...]."""
    if not NOBLE.is_dir():
        pytest.skip("web/por/node_modules is not linked here")
    script = """
import { readFileSync } from 'node:fs';
import { verifyInclusion } from '%s';
for (const [f, u] of JSON.parse(process.argv[1])) {
  let ok;
  try { ok = verifyInclusion(readFileSync(u, 'utf8'), readFileSync(f, 'utf8')).ok; } catch (e) { ok = 'threw: ' + e; }
  console.log(JSON.stringify(ok));
}""" % (REPO / "web" / "por" / "verify.js").as_uri()
    p = subprocess.run(["node", "--input-type=module", "-e", script,
                        json.dumps([[str(f), str(u)] for f, u in pairs])],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    out = [json.loads(l) for l in p.stdout.splitlines()]
    assert len(out) == len(pairs), p.stdout
    return out


def assert_verify_fails(d, *needles):
    """verify refuses d; its message names every needle (case-insensitive)."""
    rc, res, err = verify(d)
    assert rc == 1 and res["status"] == "error", res
    msg = res["message"].lower()
    for n in needles:
        alts = n if isinstance(n, tuple) else (n,)
        assert any(a.lower() in msg for a in alts), (needles, res["message"])
    return res["message"]


# --------------------------------------------------------------------------- ledgers
ASSET_TABLE = [("BTC", 8, 3500000), ("ETH", 4, 200040), ("USDT", 2, 100)]


def assets_of(n):
    out = {}
    for a in range(n):
        sym, d, p = ASSET_TABLE[a] if a < len(ASSET_TABLE) else ("X%02d" % a, (2, 4, 6, 8)[a % 4], 17 + 31 * a)
        out[sym] = {"usdt_decimals": 2, "balance_decimals": d, "price": p}
    return out


def weights(assets):
    D = max(v["balance_decimals"] for v in assets.values())
    return {s: v["price"] * 10 ** (D - v["balance_decimals"]) for s, v in assets.items()}


def gen_accounts(count, assets, seed, small=False):
    """{user hash hex: {symbol: balance}}, every net equity >= 0, parts < 2^64
    (small: parts < 2^8; a debt in the lightest asset, covered by the heaviest)."""
    rng = random.Random(seed)
    w = weights(assets)
    syms = sorted(assets)
    accts = {}
    light, heavy = min(syms, key=w.get), max(syms, key=w.get)
    for i in range(count):
        if small:
            bal = {s: rng.randrange(0, 256) for s in syms}
            if i % 7 == 3 and w[heavy] >= 255 * w[light]:
                bal[light], bal[heavy] = -rng.randrange(1, 256), max(bal[heavy], 1)
            assert sum(w[s] * b for s, b in bal.items()) >= 0
            accts["%064x" % rng.getrandbits(256)] = bal
            continue
        bal = {s: rng.randrange(0, 2 ** 60 // (len(syms) * w[s]) + 1) for s in syms}
        if len(syms) > 1 and i % 7 == 3:  # a debt covered by another asset
            bal[syms[1]] = -rng.randrange(1, 2 ** 56 // w[syms[1]] + 2)
            need = -bal[syms[1]] * w[syms[1]] - sum(bal[s] * w[s] for s in syms[2:])
            bal[syms[0]] = max(bal[syms[0]], need // w[syms[0]] + 1)
        accts["%064x" % rng.getrandbits(256)] = bal
    return accts


def write_ledger(path, assets, accounts, timestamp=1700000000000):
    with open(path, "w") as f:
        json.dump({"timestamp": timestamp, "assets": assets, "accounts": accounts}, f)
    return path


def load(path):
    with open(path) as f:
        return json.load(f)


def dump(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)


def user_proofs(out):
    d = os.path.join(out, "user_proofs")
    return sorted(os.path.join(d, f) for f in os.listdir(d))


def proof_of(out, uh):
    return Path(out) / "user_proofs" / (uh + ".json")


def copy_out(src, dst):
    shutil.copytree(src, dst)
    return dst


def net_of(fp_or_res, sym):
    for a in fp_or_res["assets"]:
        if a["symbol"] == sym:
            return int(a["equity"]), int(a["debt"]), int(a["net"])
    raise KeyError(sym)


# --------------------------------------------------------------------------- BLS12-381 G1 (test inputs only)
def g1_decompress(h):
    b = bytes.fromhex(h)
    if b[0] & 0x40:
        return None
    x = int.from_bytes(bytes([b[0] & 0x1F]) + b[1:], "big")
    y2 = (pow(x, 3, P_MOD) + 4) % P_MOD
    y = pow(y2, (P_MOD + 1) // 4, P_MOD)
    assert y * y % P_MOD == y2
    if (y > P_MOD - y) != bool(b[0] & 0x20):
        y = P_MOD - y
    return (x, y)


def g1_compress(pt):
    if pt is None:
        return "c0" + "00" * 47
    x, y = pt
    b = bytearray(x.to_bytes(48, "big"))
    b[0] |= 0x80 | (0x20 if y > P_MOD - y else 0)
    return b.hex()


def g1_add(p, q):
    if p is None:
        return q
    if q is None:
        return p
    if p[0] == q[0]:
        if (p[1] + q[1]) % P_MOD == 0:
            return None
        lam = 3 * p[0] * p[0] * pow(2 * p[1], -1, P_MOD) % P_MOD
    else:
        lam = (q[1] - p[1]) * pow(q[0] - p[0], -1, P_MOD) % P_MOD
    x = (lam * lam - p[0] - q[0]) % P_MOD
    return (x, (lam * (p[0] - x) - p[1]) % P_MOD)


def g1_neg(p):
    return None if p is None else (p[0], (P_MOD - p[1]) % P_MOD)


def g1_mul(p, k):
    k %= R_ORD
    acc = None
    while k:
        if k & 1:
            acc = g1_add(acc, p)
        p = g1_add(p, p)
        k >>= 1
    return acc


# --------------------------------------------------------------------------- the protocol (docs/por.md §2-§6)
def Ht(tag, *parts):
    t = tag.encode()
    return hashlib.sha256(bytes([len(t)]) + t + b"".join(parts)).digest()


def Hs(tag, x):
    return int.from_bytes(Ht(tag, x, b"\x00") + Ht(tag, x, b"\x01"), "big") % R_ORD


def blinding(nonce_hex, a, part):
    return Hs(V2 + "/blinding", bytes.fromhex(nonce_hex) + a.to_bytes(2, "big") + bytes([part]))


def leaf_id(uh_hex, nonce_hex):
    u = bytes.fromhex(uh_hex)
    return Ht(V2 + "/leaf-id", bytes([len(u)]), u, bytes.fromhex(nonce_hex)).hex()


def leaf_hash(id_hex, commitments_hex):
    return Ht(V2 + "/leaf", bytes.fromhex(id_hex), bytes.fromhex(commitments_hex)).hex()


def node_hash(l, r):
    return Ht(V2 + "/node", bytes.fromhex(l), bytes.fromhex(r)).hex()


def user_hash(uid):
    return Ht(V2 + "/user", uid.encode()).hex()


def statement_digest(fp):
    par = fp["parameters"]
    b = fp["timestamp"].to_bytes(8, "big") + bytes([par["tree_depth"]])
    b += par["batch_size"].to_bytes(2, "big") + par["net_equity_bits"].to_bytes(2, "big")
    b += len(fp["assets"]).to_bytes(2, "big")
    for a in fp["assets"]:
        s = a["symbol"].encode()
        b += bytes([len(s)]) + s + bytes([a["usdt_decimals"], a["balance_decimals"]])
        b += int(a["price"]).to_bytes(8, "big") + a["range_bits"].to_bytes(2, "big")
        b += int(a["equity"]).to_bytes(32, "big") + int(a["debt"]).to_bytes(32, "big")
        b += bytes.fromhex(a["equity_blinding"]) + bytes.fromhex(a["debt_blinding"])
    b += bytes.fromhex(fp["root"]["hash"])
    return Ht(V2 + "/statement", b).hex()


def net_equity_bits(assets_fp):
    W = sum(int(a["weight"]) * (2 ** a["range_bits"] - 1) for a in assets_fp)
    return max(8, 8 * -(-W.bit_length() // 8))


def column_batches(N, B, bits):
    Bc = min(N, 1024, max(1, 64 * B // bits))
    return Bc, -(-N // Bc)


def range_count(fp):
    par = fp["parameters"]
    N, B = par["padded_accounts"], par["batch_size"]
    widths = [par["net_equity_bits"]] + [a["range_bits"] for a in fp["assets"] for _ in (0, 1)]
    return sum(column_batches(N, B, k)[1] for k in widths)


def refresh_final(fp):
    """net, total_net_equity and statement_digest recomputed from the rest."""
    for a in fp["assets"]:
        a["net"] = str(int(a["equity"]) - int(a["debt"]))
    fp["total_net_equity"] = str(sum(int(a["weight"]) * int(a["net"]) for a in fp["assets"]))
    fp["statement_digest"] = statement_digest(fp)


def rebuild_tree(tree):
    """Every level recomputed from the leaf hashes; returns the root hash."""
    level = [l["hash"] for l in tree["leaves"]]
    for j in range(tree["tree_depth"]):
        level = [node_hash(level[k], level[k + 1]) for k in range(0, len(level), 2)]
        tree["levels"][j] = level
    return level[0]


def write_tree(out, tree, fp):
    data = json.dumps(tree).encode()
    (Path(out) / "merkle_tree.json").write_bytes(data)
    fp["merkle_tree"] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def path_of(tree, idx):
    return [(tree["leaves"][(idx >> j) ^ 1]["hash"] if j == 0 else tree["levels"][j - 1][(idx >> j) ^ 1])
            for j in range(tree["tree_depth"])]


def check_public_files(out, assets, accts, forced=None):
    """Everything in final_proof.json / merkle_tree.json recomputed from the
    spec and the ledger (not the commitments: see test_commitments_follow_spec)."""
    fp = load(out / "final_proof.json")
    raw = (out / "merkle_tree.json").read_bytes()
    tree = json.loads(raw)
    assert fp["version"] == V2 and tree["version"] == V2
    assert list(tree) == ["version", "tree_depth", "leaves", "levels", "range_proofs"]
    par = fp["parameters"]
    N, m = par["padded_accounts"], par["tree_depth"]
    assert N == 2 ** m == len(tree["leaves"]) and tree["tree_depth"] == m
    w = weights(assets)
    D = max(v["balance_decimals"] for v in assets.values())
    assert par["equity_decimals"] == D + 2
    assert [a["symbol"] for a in fp["assets"]] == sorted(assets)
    for a in fp["assets"]:
        s = a["symbol"]
        assert int(a["weight"]) == w[s] and int(a["price"]) == assets[s]["price"]
        eq = sum(max(b[s], 0) for b in accts.values())
        de = sum(max(-b[s], 0) for b in accts.values())
        assert (int(a["equity"]), int(a["debt"]), int(a["net"])) == (eq, de, eq - de), s
        big = max([max(abs(b[s]), 0) for b in accts.values()] + [0])
        assert a["range_bits"] == (forced or (64 if big < 2 ** 64 else 128)), s
    assert par["net_equity_bits"] == net_equity_bits(fp["assets"])
    tot = sum(w[s] * b for bal in accts.values() for s, b in bal.items())
    assert int(fp["total_net_equity"]) == tot
    assert fp["statement_digest"] == statement_digest(fp)
    assert fp["merkle_tree"] == {"bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}
    assert fp["range_proofs"]["count"] == range_count(fp) == len(tree["range_proofs"])
    allp = b"".join(bytes.fromhex(p) for p in tree["range_proofs"])
    assert fp["range_proofs"]["sha256"] == hashlib.sha256(allp).hexdigest()
    n = len(assets)
    for leaf in tree["leaves"]:
        assert len(leaf["commitments"]) == 2 * n * 96
        assert leaf["hash"] == leaf_hash(leaf["id"], leaf["commitments"])
    assert len({l["id"] for l in tree["leaves"]}) == N
    levels = [list(x) for x in tree["levels"]]
    assert rebuild_tree(tree) == fp["root"]["hash"] and tree["levels"] == levels
    return fp, tree


# --------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("count,nassets", [(1, 1), (2, 1), (3, 1), (1000, 1),
                                           (1, 20), (2, 20), (3, 20), (1000, 20)])
def test_prove_verify_every_account(tmp_path, count, nassets):
    assets = assets_of(nassets)
    # 1000 x 20 is 41 columns of 1024 values: at 64 bits that takes minutes on
    # a shared 2-core machine, so its widths are forced to 8 bits (8x fewer
    # digits) with balances below 2^8; 1000 x 1 and 3 x 20 run at 64 bits
    narrow = count == 1000 and nassets == 20
    accts = gen_accounts(count, assets, seed=count * 100 + nassets, small=narrow)
    ledger = write_ledger(tmp_path / "ledger.json", assets, accts)
    out = tmp_path / "out"
    # small trees for small ledgers; 1000 accounts pads to 1024 with the
    # default batch (480 values at 64 bits). One asset: 3 accounts in batches
    # of 3 and 1, else 2 and 2 (the net-equity column, wider, in batches of 1
    # or 2); 20 assets: the default batch, one proof a column (41 columns)
    batch = [] if count > 3 or nassets > 1 else ["--batch", 3 if count == 3 else 2]
    if narrow:
        batch = ["--range-bits", 8]
    rc, summ, err = prove(ledger, out, "--padded-accounts", 4, *batch)
    assert rc == 0, err
    assert summ["status"] == "ok" and summ["accounts"] == count and summ["user_proofs"] == count
    N = 1024 if count == 1000 else 4
    assert summ["padded"] == N and summ["assets"] == nassets and summ["version"] == V2
    assert summ["batch"] == (2 if count < 3 and nassets == 1 else 3 if count == 3 and nassets == 1 else 480)
    for f in ("final_proof.json", "merkle_tree.json", "proofs.zip", "private_nonces.json"):
        assert (out / f).is_file()
    assert not [p for p in os.listdir(out) if p.startswith(".por-tmp")]
    assert len(os.listdir(out / "user_proofs")) == count

    fp, _ = check_public_files(out, assets, accts, forced=8 if narrow else None)
    assert summ["range_bits"] == {a["symbol"]: a["range_bits"] for a in fp["assets"]}
    assert summ["net_equity_bits"] == fp["parameters"]["net_equity_bits"]
    assert summ["range_proofs"] == fp["range_proofs"]["count"]

    rc, res, err = verify(out)
    assert rc == 0, err
    assert res["status"] == "ok" and res["padded"] == N and res["version"] == V2
    assert [(a["symbol"], int(a["equity"]), int(a["debt"]), int(a["net"])) for a in res["assets"]] == \
        [(a["symbol"], int(a["equity"]), int(a["debt"]), int(a["net"])) for a in fp["assets"]]
    assert int(res["total_net_equity"]) == int(fp["total_net_equity"])
    nets = {a["symbol"]: int(a["net"]) for a in fp["assets"]}
    assert bool(res["warnings"]) == any(v <= 0 for v in nets.values()), res["warnings"]

    w = weights(assets)
    rc, lines, err = inclusion(user_proofs(out), out / "final_proof.json")
    assert rc == 0, err
    seen = set()
    for line in lines:
        assert line["status"] == "ok"
        uh = line["user_hash"]
        assert uh in accts and uh not in seen
        seen.add(uh)
        assert int(line["net_equity"]) == sum(w[s] * b for s, b in accts[uh].items())
    assert seen == set(accts)
    if count <= 3:  # the user proofs, field by field
        for p in user_proofs(out):
            u = load(p)
            assert set(u) == {"version", "user_hash", "nonce", "leaf_index", "balances", "net_equity",
                              "leaf", "path", "root", "statement_digest"}
            assert {s: int(v) for s, v in u["balances"].items()} == accts[u["user_hash"]]
            assert u["leaf"]["id"] == leaf_id(u["user_hash"], u["nonce"])
            h, i = u["leaf"]["hash"], u["leaf_index"]
            for j, sib in enumerate(u["path"]):
                h = node_hash(h, sib) if not (i >> j) & 1 else node_hash(sib, h)
            assert h == u["root"]["hash"] == fp["root"]["hash"]
            assert os.stat(p).st_mode & 0o777 == 0o600
    # the zip holds exactly the two public files
    with zipfile.ZipFile(out / "proofs.zip") as z:
        assert sorted(z.namelist()) == ["final_proof.json", "merkle_tree.json"]
        assert z.read("final_proof.json") == (out / "final_proof.json").read_bytes()
    # private_nonces.json: every leaf, dummies with an empty user hash
    pn = load(out / "private_nonces.json")
    assert pn["version"] == V2 and len(pn["leaves"]) == N
    assert sum(1 for l in pn["leaves"] if l["user_hash"] == "") == N - count


def test_csv_ledger(tmp_path):
    assets = assets_of(3)
    accts = gen_accounts(5, assets, seed=7)
    syms = sorted(assets)
    (tmp_path / "assets.json").write_text(json.dumps({"timestamp": 5, "assets": assets}))
    rows = ["id," + ",".join(reversed(syms))]
    rows += [uh + "," + ",".join(str(b[s]) for s in reversed(syms)) for uh, b in accts.items()]
    (tmp_path / "ledger.csv").write_text("\r\n".join(rows) + "\r\n")
    rc, summ, err = prove(tmp_path / "ledger.csv", tmp_path / "out", "--assets",
                          tmp_path / "assets.json", "--padded-accounts", 8, "--threads", 1)
    assert rc == 0, err
    assert summ["padded"] == 8 and summ["threads"] == 1
    assert verify(tmp_path / "out")[0] == 0
    rc, lines, _ = inclusion(user_proofs(tmp_path / "out"), tmp_path / "out" / "final_proof.json")
    assert rc == 0 and len(lines) == 5


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A proved ledger of 3 accounts x 2 assets (N = 4, B = 2) to forge from."""
    base = tmp_path_factory.mktemp("por-small")
    assets = assets_of(2)
    accts = gen_accounts(3, assets, seed=42)
    accts[next(iter(accts))]["ETH"] = -12345  # one debt part at least
    ledger = write_ledger(base / "ledger.json", assets, accts)
    rc, _, err = prove(ledger, base / "out", "--padded-accounts", 4, "--batch", 2)
    assert rc == 0, err
    return base / "out", accts, assets


def test_commitments_follow_spec(small):
    """Every P, Q of the small tree is e·G + π·H / d·G + π'·H with π from the
    leaf's nonce (§4). H is recovered from a dummy's zero part, G from a
    non-zero one; then every other commitment must agree."""
    out, accts, assets = small
    tree = load(out / "merkle_tree.json")
    nonces = load(out / "private_nonces.json")["leaves"]
    syms = sorted(assets)
    pts = {}
    for l in nonces:
        c = tree["leaves"][l["leaf_index"]]["commitments"]
        for a in range(len(syms)):
            for part in (0, 1):
                pts[(l["leaf_index"], a, part)] = c[(2 * a + part) * 96:(2 * a + part + 1) * 96]
    dummy = next(l for l in nonces if l["user_hash"] == "")
    H = g1_mul(g1_decompress(pts[(dummy["leaf_index"], 0, 0)]), pow(blinding(dummy["nonce"], 0, 0), -1, R_ORD))
    G = None
    for l in nonces:
        i, bal = l["leaf_index"], accts.get(l["user_hash"])
        assert tree["leaves"][i]["id"] == leaf_id(l["user_hash"], l["nonce"])
        for a, s in enumerate(syms):
            b = bal[s] if bal else 0
            for part, v in ((0, max(b, 0)), (1, max(-b, 0))):
                pi = blinding(l["nonce"], a, part)
                P = g1_decompress(pts[(i, a, part)])
                if G is None and v:
                    G = g1_mul(g1_add(P, g1_neg(g1_mul(H, pi))), pow(v, -1, R_ORD))
                    continue
                expect = g1_add(g1_mul(G, v) if v else None, g1_mul(H, pi))
                assert g1_compress(expect) == pts[(i, a, part)], (i, s, part)
    assert G is not None


# --------------------------------------------------------------------------- issue 14: the hidden short position
HD_ASSETS = {"BTC": {"usdt_decimals": 2, "balance_decimals": 8, "price": 3500000},
             "JUNK": {"usdt_decimals": 2, "balance_decimals": 0, "price": 10 ** 12}}
HD_ACCTS = {"aa01": {"BTC": 100, "JUNK": 0}, "aa02": {"BTC": 50, "JUNK": 0},
            "ff99": {"BTC": -150, "JUNK": 1}}


@pytest.fixture(scope="module")
def hidden_debt(tmp_path_factory):
    base = tmp_path_factory.mktemp("por-hd")
    return write_ledger(base / "ledger.json", HD_ASSETS, HD_ACCTS), base


def test_hidden_debt_honest_prover_publishes_the_debt(hidden_debt):
    ledger, base = hidden_debt
    out = base / "honest"
    rc, summ, err = prove(ledger, out, "--padded-accounts", 4)
    assert rc == 0, err
    fp, _ = check_public_files(out, HD_ASSETS, HD_ACCTS)
    assert net_of(fp, "BTC") == (150, 150, 0)
    assert net_of(fp, "JUNK") == (1, 0, 1)
    rc, res, err = verify(out)
    assert rc == 0, err
    assert net_of(res, "BTC") == (150, 150, 0)
    want = ("asset BTC: customers owe the exchange as much BTC as it owes them or more "
            "(equity 150, debt 150, net 0)")
    assert res["warnings"] == [want], res["warnings"]
    assert "BTC" in err and "150" in err  # the human line shows equity/debt/net
    ups = [proof_of(out, u) for u in HD_ACCTS]
    rc, lines, _ = inclusion(ups, out / "final_proof.json")
    assert rc == 0 and all(l["status"] == "ok" for l in lines)
    assert all(r["ok"] for r in js_inclusion(out / "final_proof.json", ups))


def check_forged(out, column_needles, bad_users, good_users=()):
    """verify fails naming the column; each bad user's proof fails
    verify-inclusion in C and JS; good users' proofs still pass both."""
    assert_verify_fails(out, *column_needles)
    final = out / "final_proof.json"
    for u in bad_users:
        rc, lines, _ = inclusion([proof_of(out, u)], final)
        assert rc == 1 and lines[0]["status"] == "error", (u, lines)
    if good_users:
        rc, lines, _ = inclusion([proof_of(out, u) for u in good_users], final)
        assert rc == 0, lines
    js = js_inclusion(final, [proof_of(out, u) for u in (*bad_users, *good_users)])
    assert [r["ok"] for r in js] == [False] * len(bad_users) + [True] * len(good_users), js


def test_hidden_debt_as_negative_equity_part_fails_verify(hidden_debt):
    """Issue 14's attack: ff99's −150 BTC committed as an equity part
    r − 150, no debt part. Published BTC debt 0; every sum and the net
    equities check out mod r; the BTC equity column's range proof cannot."""
    ledger, base = hidden_debt
    out = base / "negpart"
    prove_hooked(ledger, out, "negative-part", "--padded-accounts", 4)
    fp = load(out / "final_proof.json")
    eq, debt, net = net_of(fp, "BTC")
    assert debt == 0 and fp["statement_digest"] == statement_digest(fp)
    check_forged(out, ["BTC", "equity"], ["ff99"], ["aa01", "aa02"])


def test_hidden_debt_split_over_many_leaves_fails_verify(tmp_path):
    accts = {"aa01": {"BTC": 1000, "JUNK": 0}}
    for i in range(6):
        accts["bb%02x" % i] = {"BTC": -1, "JUNK": 1}
    ledger = write_ledger(tmp_path / "l.json", HD_ASSETS, accts)
    rc, _, err = prove(ledger, tmp_path / "honest", "--padded-accounts", 8)
    assert rc == 0, err
    rc, res, _ = verify(tmp_path / "honest")
    assert rc == 0 and net_of(res, "BTC") == (1000, 6, 994) and res["warnings"] == []
    prove_hooked(ledger, tmp_path / "forged", "negative-part", "--padded-accounts", 8)
    assert net_of(load(tmp_path / "forged" / "final_proof.json"), "BTC")[1] == 0
    check_forged(tmp_path / "forged", ["BTC", "equity"], ["bb00", "bb05"], ["aa01"])


def test_hidden_debt_in_a_padding_leaf_fails_verify(tmp_path):
    """ff99 left out, its 150 BTC of debt put in a dummy leaf instead (as an
    equity part r − 150): the published BTC total drops by 150."""
    accts = {k: v for k, v in HD_ACCTS.items() if k != "ff99"}
    ledger = write_ledger(tmp_path / "l.json", HD_ASSETS, accts)
    prove_hooked(ledger, tmp_path / "forged", "dummy-debt=BTC:150", "--padded-accounts", 4)
    fp = load(tmp_path / "forged" / "final_proof.json")
    assert net_of(fp, "BTC")[1] == 0
    # the dummy's BTC equity part is out of range and its net equity negative:
    # either column may be the first verify names
    check_forged(tmp_path / "forged", [("BTC", "net equity")], [], ["aa01", "aa02"])


def test_parts_out_of_range_fail_verify(hidden_debt):
    """Every nonzero balance committed with 2^k added to both parts: nets and
    net equities unchanged, parts out of [0, 2^k)."""
    ledger, base = hidden_debt
    out = base / "overflow"
    prove_hooked(ledger, out, "overflow-part", "--padded-accounts", 4)
    check_forged(out, [("BTC", "JUNK"), ("equity", "debt")], ["aa01", "ff99"])


@pytest.mark.parametrize("batch", [2, 3])  # 3: batches of 3, 3 and 2 values (N = 8)
def test_negative_net_equity_refused_and_forged(tmp_path, batch):
    assets = assets_of(2)
    accts = gen_accounts(3, assets, seed=5)
    bad = "ee" * 32
    accts[bad] = {"BTC": 10, "ETH": -10 ** 6}  # 10 sat vs a large ETH debt
    ledger = write_ledger(tmp_path / "ledger.json", assets, accts)
    pad = 4 if batch == 2 else 8
    rc, res, err = prove(ledger, tmp_path / "out", "--padded-accounts", pad, "--batch", batch)
    assert rc == 1 and res["status"] == "error"
    assert "account " + bad in res["message"] and "negative" in res["message"]
    assert not (tmp_path / "out").exists()
    # the refusal bypassed (the hook, and v1's variable, which means the same)
    prove_hooked(ledger, tmp_path / "forged", "negative-net", "--padded-accounts", pad, "--batch", batch)
    check_forged(tmp_path / "forged", ["net equity"], [bad], [u for u in accts if u != bad][:1])
    if batch != 2:
        return
    rc, res, _ = prove(ledger, tmp_path / "legacy", "--padded-accounts", pad, "--batch", batch,
                       env_extra={"CLOISTER_POR_UNSAFE_ALLOW_NEGATIVE": "1"})
    assert rc == 0, res
    assert_verify_fails(tmp_path / "legacy", "net equity")
    rc, lines, _ = inclusion([proof_of(tmp_path / "legacy", bad)], tmp_path / "legacy" / "final_proof.json")
    assert rc == 1 and "negative" in lines[0]["message"]


# --------------------------------------------------------------------------- real decimals and widths
ETH18 = {"BTC": {"usdt_decimals": 2, "balance_decimals": 8, "price": 3500000},
         "ETH": {"usdt_decimals": 2, "balance_decimals": 18, "price": 200040}}
I128_MAX = 2 ** 127 - 1


def test_18_decimal_asset_at_its_maximum(tmp_path):
    w = weights(ETH18)
    accts = {"01" * 32: {"BTC": 0, "ETH": I128_MAX},
             "02" * 32: {"BTC": 5, "ETH": 10 ** 21},
             # owes 2^127 wei, covered by BTC at the published prices
             "03" * 32: {"BTC": (2 ** 127 * w["ETH"]) // w["BTC"] + 1, "ETH": -2 ** 127},
             "04" * 32: {"BTC": 1, "ETH": 0}}
    ledger = write_ledger(tmp_path / "l.json", ETH18, accts)
    rc, summ, err = prove(ledger, tmp_path / "out", "--padded-accounts", 8)
    assert rc == 0, err
    assert summ["range_bits"] == {"BTC": 128, "ETH": 128}, summ
    fp, _ = check_public_files(tmp_path / "out", ETH18, accts)
    assert net_of(fp, "ETH") == (I128_MAX + 10 ** 21, 2 ** 127, I128_MAX + 10 ** 21 - 2 ** 127)
    rc, res, err = verify(tmp_path / "out")
    assert rc == 0, err
    ups = [proof_of(tmp_path / "out", u) for u in accts]
    rc, lines, _ = inclusion(ups, tmp_path / "out" / "final_proof.json")
    assert rc == 0, lines
    assert {l["user_hash"]: int(l["net_equity"]) for l in lines} == \
        {u: sum(w[s] * b for s, b in bal.items()) for u, bal in accts.items()}
    assert all(r["ok"] for r in js_inclusion(tmp_path / "out" / "final_proof.json", ups))
    # the width chosen from the data: 10^21 wei needs 128 bits, 10^18 does not
    small = {"01" * 32: {"BTC": 0, "ETH": 10 ** 18}, "02" * 32: {"BTC": 7, "ETH": 0}}
    rc, summ, err = prove(write_ledger(tmp_path / "s.json", ETH18, small), tmp_path / "s",
                          "--padded-accounts", 4)
    assert rc == 0 and summ["range_bits"] == {"BTC": 64, "ETH": 64}, (summ, err)
    # forced widths: all assets, or one; a value that does not fit is refused
    rc, summ, err = prove(tmp_path / "s.json", tmp_path / "s128", "--padded-accounts", 4,
                          "--range-bits", 128)
    assert rc == 0 and summ["range_bits"] == {"BTC": 128, "ETH": 128}, (summ, err)
    assert verify(tmp_path / "s128")[0] == 0
    rc, summ, err = prove(tmp_path / "s.json", tmp_path / "s72", "--padded-accounts", 4,
                          "--range-bits", "ETH=72")
    assert rc == 0 and summ["range_bits"] == {"BTC": 64, "ETH": 72}, (summ, err)
    assert verify(tmp_path / "s72")[0] == 0
    rc, res, _ = prove(ledger, tmp_path / "no", "--range-bits", "ETH=64")
    assert rc == 1 and "ETH" in res["message"], res
    assert any(u in res["message"] for u in ("01" * 32, "02" * 32, "03" * 32)), res
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize("how", ["data", "forced"])
def test_net_equity_that_cannot_fit_is_refused_naming_the_asset(tmp_path, how):
    """w_BIG = 2^62 · 10^18 ≈ 2^121.8: with 128-bit balances its net equity
    needs 250 bits, more than 216."""
    assets = {"BIG": {"usdt_decimals": 2, "balance_decimals": 0, "price": 2 ** 62},
              "ETH": {"usdt_decimals": 2, "balance_decimals": 18, "price": 1}}
    big = 2 ** 64 if how == "data" else 1
    accts = {"01" * 32: {"BIG": big, "ETH": 0}, "02" * 32: {"BIG": 0, "ETH": 5}}
    ledger = write_ledger(tmp_path / "l.json", assets, accts)
    extra = ["--range-bits", "BIG=128"] if how == "forced" else []
    os.mkdir(tmp_path / "out")
    rc, res, _ = prove(ledger, tmp_path / "out", *extra)
    assert rc == 1 and res["status"] == "error"
    assert "asset BIG" in res["message"] and "216" in res["message"], res
    assert os.listdir(tmp_path / "out") == []
    # the same table at 64 bits proves
    if how == "forced":
        rc, _, err = prove(ledger, tmp_path / "ok", "--padded-accounts", 4)
        assert rc == 0, err


# --------------------------------------------------------------------------- user hashes
def test_user_hash_rule_and_uid_check(tmp_path):
    uids = ["alice@example.com", "bob", "Zoë 42"]
    p = subprocess.run([str(BIN), "por", "user-hash", uids[2]], capture_output=True, text=True)
    assert p.returncode == 0 and user_hash(uids[2]) in p.stdout, (p.stdout, p.stderr)
    assert user_hash("bob") != user_hash("bob ")
    assets = assets_of(1)
    accts = {user_hash(u): {"BTC": 10 + i} for i, u in enumerate(uids)}
    accts[user_hash("carol")] = {"BTC": 10}  # same balance as alice: still her own leaf
    ledger = write_ledger(tmp_path / "l.json", assets, accts)
    rc, _, err = prove(ledger, tmp_path / "out", "--padded-accounts", 8)
    assert rc == 0, err
    final = tmp_path / "out" / "final_proof.json"
    alice = proof_of(tmp_path / "out", user_hash("alice@example.com"))
    rc, lines, _ = inclusion([alice], final, "--uid", "alice@example.com")
    assert rc == 0 and lines[0]["status"] == "ok"
    rc, lines, _ = inclusion([alice], final, "--uid", "carol")
    assert rc == 1 and "not for account carol" in lines[0]["message"], lines
    rc, lines, _ = inclusion([proof_of(tmp_path / "out", user_hash("Zoë 42"))], final, "--uid", "Zoë 42")
    assert rc == 0, lines


# --------------------------------------------------------------------------- tampering
def test_totals_off_by_one(small, tmp_path):
    out, _, _ = small
    orig = user_proofs(out)[0]
    for field in ("equity", "debt"):
        for delta in (1, -1):
            d = copy_out(out, tmp_path / ("%s%d" % (field, delta)))
            fp = load(d / "final_proof.json")
            a = next(x for x in fp["assets"] if int(x[field]) + delta >= 0)
            a[field] = str(int(a[field]) + delta)
            refresh_final(fp)  # every number and the digest consistent: only the sums object
            dump(d / "final_proof.json", fp)
            assert_verify_fails(d, a["symbol"])
            # a user proof names the old digest
            rc, lines, _ = inclusion([orig], d / "final_proof.json")
            assert rc == 1, lines


def test_final_proof_strictness_c_and_js(small, tmp_path):
    """Missing and unknown fields, 1.0 and 1e0 for integers, a duplicate key,
    a wrong weight / net / total / count / k_eq (digest refreshed): verify,
    verify-inclusion and the JS verifier all refuse."""
    out, _, _ = small
    text = (out / "final_proof.json").read_text()
    fp = json.loads(text)
    cases = {}

    def mut(name, f, refresh=True):
        x = json.loads(text)
        f(x)
        if refresh:
            x["statement_digest"] = statement_digest(x)
        cases[name] = json.dumps(x, indent=1)

    mut("no range_proofs", lambda x: x.pop("range_proofs"), False)
    mut("no merkle_tree", lambda x: x.pop("merkle_tree"), False)
    mut("no debt_blinding", lambda x: x["assets"][0].pop("debt_blinding"), False)
    mut("no net", lambda x: x["assets"][1].pop("net"), False)
    mut("no total_net_equity", lambda x: x.pop("total_net_equity"), False)
    mut("unknown top field", lambda x: x.update(extra=1), False)
    mut("unknown asset field", lambda x: x["assets"][0].update(total="0"), False)
    mut("v1 field", lambda x: x["parameters"].update(range_bits=64), False)
    mut("weight", lambda x: x["assets"][0].update(weight=str(int(x["assets"][0]["weight"]) + 1)))
    mut("net", lambda x: x["assets"][0].update(net=str(int(x["assets"][0]["net"]) + 1)))
    mut("total_net_equity", lambda x: x.update(total_net_equity=str(int(x["total_net_equity"]) - 1)))
    mut("count", lambda x: x["range_proofs"].update(count=x["range_proofs"]["count"] + 1))
    mut("k_eq", lambda x: x["parameters"].update(net_equity_bits=x["parameters"]["net_equity_bits"] + 8))
    mut("range_bits", lambda x: x["assets"][0].update(range_bits=60))
    mut("unsorted", lambda x: x.update(assets=x["assets"][::-1]))
    mut("digest", lambda x: x.update(statement_digest="00" * 32), False)
    mut("equity as number", lambda x: x["assets"][0].update(equity=int(x["assets"][0]["equity"])))
    mut("padded", lambda x: x["parameters"].update(padded_accounts=8))
    cases["1.0"] = re.sub(r'("tree_depth":\s*)(\d+)', r'\g<1>\g<2>.0', text)
    cases["1e0"] = re.sub(r'("batch_size":\s*)(\d+)', r'\g<1>\g<2>e0', text)
    cases["duplicate key"] = text.replace('"timestamp"', '"timestamp": 1, "timestamp"', 1)
    cases["upper-case hex"] = text.replace(fp["root"]["hash"], fp["root"]["hash"].upper())
    up = user_proofs(out)[0]
    finals = []
    for i, (name, body) in enumerate(cases.items()):
        assert body != text, name
        d = copy_out(out, tmp_path / ("c%d" % i))
        (d / "final_proof.json").write_text(body)
        rc, res, _ = verify(d)
        assert rc == 1 and res["status"] == "error", (name, res)
        rc, lines, _ = inclusion([up], d / "final_proof.json")
        assert rc == 1, (name, lines)
        finals.append(d / "final_proof.json")
    js = js_pairs([(f, up) for f in finals] + [(out / "final_proof.json", up)])
    assert js[-1] is True, js  # the untouched pair passes...
    for name, ok in zip(cases, js):
        assert ok is False, (name, ok)  # ...and every changed one is refused


def test_user_proof_tampering(small, tmp_path):
    out, _, _ = small
    final = out / "final_proof.json"
    ups = user_proofs(out)
    a, b = load(ups[0]), load(ups[1])
    dup = lambda x: json.loads(json.dumps(x))
    cases = {}
    x = dup(a)
    sym = sorted(x["balances"])[0]
    x["balances"][sym] = str(int(x["balances"][sym]) + 1)
    cases["balance"] = x
    x = dup(a)
    x["balances"][sym] = str(-int(x["balances"][sym]) - 1)  # equity moved to debt
    cases["balance sign"] = x
    x = dup(a)
    x["user_hash"] = b["user_hash"]
    cases["other user hash"] = x
    x = dup(a)
    x["path"][0], x["path"][1] = x["path"][1], x["path"][0]
    cases["swapped siblings"] = x
    x = dup(a)
    other = b["leaf"]["hash"] if b["leaf"]["hash"] != a["path"][0] else a["leaf"]["hash"]
    x["path"][0] = other
    cases["sibling replaced"] = x
    x = dup(a)
    x["leaf_index"] ^= 1
    cases["other side"] = x
    x = dup(a)  # two users pointing at one leaf: a's data with b's leaf, index and path
    for k in ("leaf", "leaf_index", "path"):
        x[k] = b[k]
    cases["b's leaf"] = x
    x = dup(b)
    x["user_hash"], x["nonce"] = a["user_hash"], a["nonce"]
    cases["b's leaf with a's hash and nonce"] = x
    x = dup(a)
    x["net_equity"] = str(int(x["net_equity"]) + 1)
    cases["net equity"] = x
    x = dup(a)
    x["balances"]["ZZZ"] = "0"
    cases["extra asset"] = x
    x = dup(a)
    del x["balances"][sym]
    cases["missing asset"] = x
    x = dup(a)
    x["balances"][sym] = str(2 ** 127)
    cases["balance out of range"] = x
    x = dup(a)
    x["extra"] = 1
    cases["unknown field"] = x
    x = dup(a)
    del x["statement_digest"]
    cases["missing field"] = x
    x = dup(a)
    x["path"] = x["path"][:-1]
    cases["short path"] = x
    x = dup(a)
    x["leaf_index"] = 4
    cases["index out of tree"] = x
    x = dup(a)
    x["version"] = "cloister-por-v1"
    cases["version"] = x
    paths = []
    for i, (name, doc) in enumerate(cases.items()):
        p = tmp_path / ("case%d.json" % i)
        dump(p, doc)
        paths.append(p)
    p = tmp_path / "float.json"
    p.write_text(re.sub(r'("leaf_index":\s*)(\d+)', r'\g<1>\g<2>.0', json.dumps(a)))
    paths.append(p)
    names = list(cases) + ["1.0"]
    rc, lines, _ = inclusion(paths, final)
    assert rc == 1
    for name, line in zip(names, lines):
        assert line["status"] == "error", name
    for name, r in zip(names, js_inclusion(final, paths)):
        assert not r["ok"], (name, r)
    # and the untouched ones still pass
    assert inclusion(ups, final)[0] == 0


def test_leaf_reused(small, tmp_path):
    """Leaf k copied over leaf j; every node, E_a, D_a, R^E_a, R^D_a, net,
    total, digest and file hash fixed up: only the distinct-ids check is left
    to object (the range proofs absorb the new digest too, so verify must
    check ids first to say so)."""
    out, _, assets = small
    d = copy_out(out, tmp_path / "d")
    tree, fp = load(d / "merkle_tree.json"), load(d / "final_proof.json")
    nonces = {l["leaf_index"]: l["nonce"] for l in load(d / "private_nonces.json")["leaves"]}
    ups = [load(p) for p in user_proofs(d)]
    victim, dup = ups[0], ups[1]
    j, k = victim["leaf_index"], dup["leaf_index"]
    tree["leaves"][j] = dict(tree["leaves"][k])
    root = rebuild_tree(tree)
    for a_idx, a in enumerate(fp["assets"]):
        s = a["symbol"]
        vb, db = int(victim["balances"][s]), int(dup["balances"][s])
        a["equity"] = str(int(a["equity"]) - max(vb, 0) + max(db, 0))
        a["debt"] = str(int(a["debt"]) - max(-vb, 0) + max(-db, 0))
        for part, key in ((0, "equity_blinding"), (1, "debt_blinding")):
            R = (int(a[key], 16) - blinding(nonces[j], a_idx, part) + blinding(nonces[k], a_idx, part)) % R_ORD
            a[key] = "%064x" % R
    fp["root"] = {"hash": root}
    write_tree(d, tree, fp)
    refresh_final(fp)
    dump(d / "final_proof.json", fp)
    assert_verify_fails(d, "distinct")
    # the duplicated user's proof, re-pointed at the copy, passes inclusion
    # alone — which is why verify checks distinct ids; the victim's fails
    x = dict(dup, statement_digest=fp["statement_digest"], root={"hash": root}, leaf_index=j,
             path=path_of(tree, j))
    dump(tmp_path / "dup.json", x)
    rc, lines, _ = inclusion([tmp_path / "dup.json"], d / "final_proof.json")
    assert rc == 0, lines
    dump(tmp_path / "victim.json", dict(victim, statement_digest=fp["statement_digest"],
                                        root={"hash": root}, path=path_of(tree, j)))
    rc, lines, _ = inclusion([tmp_path / "victim.json"], d / "final_proof.json")
    assert rc == 1


def test_tree_file_tampering(small, tmp_path):
    """merkle_tree.json changed and its size/sha256 in final_proof.json fixed
    up (digest unchanged: the file hash is not in it), so the tree checks
    themselves must object."""
    out, _, _ = small
    base_tree, base_fp = load(out / "merkle_tree.json"), load(out / "final_proof.json")
    n = len(base_fp["assets"])

    def case(name, f, fix=False):
        """fix: leaf hashes, levels, root and digest recomputed after f, so
        only the check f is aimed at (or the range proofs) can object."""
        d = copy_out(out, tmp_path / name)
        tree, fp = json.loads(json.dumps(base_tree)), json.loads(json.dumps(base_fp))
        f(tree)
        if fix:
            for leaf in tree["leaves"]:
                leaf["hash"] = leaf_hash(leaf["id"], leaf["commitments"])
            fp["root"] = {"hash": rebuild_tree(tree)}
            refresh_final(fp)
        write_tree(d, tree, fp)
        dump(d / "final_proof.json", fp)
        assert_verify_fails(d)

    def commitment(leaf, k, hexpt):
        def f(t):
            c = t["leaves"][leaf]["commitments"]
            t["leaves"][leaf]["commitments"] = c[:96 * k] + hexpt + c[96 * (k + 1):]
        return f

    def swap_parts(t):  # leaf 0's first equity and debt commitments exchanged
        c = t["leaves"][0]["commitments"]
        t["leaves"][0]["commitments"] = c[96:192] + c[:96] + c[192:]

    case("leaf hash", lambda t: t["leaves"][1].update(hash=t["leaves"][0]["hash"]))
    case("node", lambda t: t["levels"][0].__setitem__(0, t["levels"][0][1]))
    case("identity point", commitment(2, 1, "c0" + "00" * 47), fix=True)
    case("not on curve", commitment(2, 3, "80" + "00" * 46 + "05"), fix=True)
    case("non-canonical", commitment(1, 0, "%096x" % (int(base_tree["leaves"][1]["commitments"][:96], 16)
                                                     & ~(1 << 383))), fix=True)
    case("parts swapped", swap_parts, fix=True)
    case("proof dropped", lambda t: t["range_proofs"].pop())
    case("proofs reordered", lambda t: t["range_proofs"].reverse())
    case("short commitments", lambda t: t["leaves"][0].update(
        commitments=t["leaves"][0]["commitments"][:-96]))
    case("unknown field", lambda t: t["leaves"][0].update(x=1))
    case("depth", lambda t: t.update(tree_depth=3))
    assert n == 2


def flips(data, count, seed):
    rng = random.Random(seed)
    for _ in range(count):
        pos = rng.randrange(len(data))
        b = bytearray(data)
        b[pos] ^= 1 << rng.randrange(8)
        yield pos, bytes(b)


def test_truncated_and_flipped_files(small, tmp_path):
    out, _, _ = small
    fpb = (out / "final_proof.json").read_bytes()
    mtb = (out / "merkle_tree.json").read_bytes()
    d = copy_out(out, tmp_path / "d")
    assert verify(d)[0] == 0
    for name, data, n in (("final_proof.json", fpb, 16), ("merkle_tree.json", mtb, 6)):
        variants = [(-1, data[:cut]) for cut in (0, 1, len(data) // 2, len(data) - 2)]
        variants += list(flips(data, n, seed=len(data)))
        for pos, v in variants:
            (d / name).write_bytes(v)
            rc, res, _ = verify(d)
            assert rc == 1 and res["status"] == "error", (name, pos)
        (d / name).write_bytes(data)
    up = user_proofs(out)[0]
    ub = open(up, "rb").read()
    paths = []
    variants = [ub[:cut] for cut in (0, 10, len(ub) // 2, len(ub) - 3)]
    variants += [v for _, v in flips(ub, 24, seed=3)]
    for i, v in enumerate(variants):
        p = tmp_path / ("u%d.json" % i)
        p.write_bytes(v)
        paths.append(p)
    rc, lines, _ = inclusion(paths, out / "final_proof.json")
    assert rc == 1
    assert all(l["status"] == "error" for l in lines)
    (d / "final_proof.json").write_bytes(next(flips(fpb, 1, seed=9))[1])
    assert inclusion([up], d / "final_proof.json")[0] == 1


# --------------------------------------------------------------------------- privacy
HEX_STR = re.compile(r'"[0-9a-f]{32,}"')


def skeleton(text):
    return HEX_STR.sub('"<hex>"', text)


def test_privacy_same_totals(tmp_path):
    """Same per-asset equity E_a and debt D_a, same padded size; different
    balances, debtors and account counts (5 vs 6)."""
    assets = assets_of(2)
    a = {"%064x" % (i + 1): b for i, b in enumerate([
        {"BTC": 123456789, "ETH": 5555555}, {"BTC": 987654, "ETH": 7777777},
        {"BTC": 3133700100, "ETH": -4242424}, {"BTC": 2020202, "ETH": 9191919},
        {"BTC": 424242, "ETH": 88888}])}
    eq = {s: sum(max(x[s], 0) for x in a.values()) for s in ("BTC", "ETH")}
    de = {s: sum(max(-x[s], 0) for x in a.values()) for s in ("BTC", "ETH")}
    bb = [{"BTC": 60000007, "ETH": 1234567}, {"BTC": 40000003, "ETH": 2345678},
          {"BTC": 13131313, "ETH": 3456789}, {"BTC": 999999000, "ETH": -1212121},
          {"BTC": 2000000000, "ETH": -3030303}]
    rest = {s: eq[s] - sum(max(x[s], 0) for x in bb) for s in eq}
    bb.append(rest)
    b = {"%064x" % (100 + i): x for i, x in enumerate(bb)}
    w = weights(assets)
    for led in (a, b):
        assert {s: sum(max(x[s], 0) for x in led.values()) for s in eq} == eq
        assert {s: sum(max(-x[s], 0) for x in led.values()) for s in eq} == de
        for bal in led.values():
            assert sum(w[s] * v for s, v in bal.items()) >= 0
    outs = []
    for name, led in (("a", a), ("b", b)):
        ledger = write_ledger(tmp_path / (name + ".json"), assets, led)
        rc, _, err = prove(ledger, tmp_path / name, "--padded-accounts", 16)
        assert rc == 0, err
        outs.append(tmp_path / name)
    secrets = {str(v) for led in (a, b) for bal in led.values() for v in bal.values()}
    secrets |= {str(abs(int(s))) for s in secrets}
    public = {str(v) for v in (*eq.values(), *de.values())} | {str(eq[s] - de[s]) for s in eq}
    for f in ("final_proof.json", "merkle_tree.json"):
        ta, tb = [(o / f).read_text() for o in outs]
        assert len(ta) == len(tb), f  # sizes depend only on public data
        sa, sb = skeleton(ta), skeleton(tb)
        assert sa == sb, f  # same keys, same public numbers: identical apart from hex values...
        ha, hb = HEX_STR.findall(ta), HEX_STR.findall(tb)
        assert [len(x) for x in ha] == [len(x) for x in hb]
        assert all(x != y for x, y in zip(ha, hb))  # ...which are all fresh randomness
        # (sa == sb already says no number depends on the account count, 5 vs 6)
        numbers = set(re.findall(r"-?\d+", sa))
        assert not (numbers & (secrets - public)), (f, numbers & secrets)
        assert '""' not in ta  # dummies carry no empty user hash in public files
    for o in outs:
        assert verify(o)[0] == 0


# --------------------------------------------------------------------------- ledger faults and usage
LEDGER_FAULTS = [
    ('{"BTC": 1.5, "ETH": 1}', "not an integer"),
    ('{"BTC": 1}', "ETH"),
    ('{"BTC": 1, "ETH": 1, "XRP": 1}', "XRP"),
    ('{"BTC": "12", "ETH": 1}', "BTC"),
    ('{"BTC": 1, "ETH": 1.0}', "ETH"),
    ('{"BTC": %d, "ETH": 1}' % 2 ** 127, "BTC"),
    ('{"BTC": 1, "ETH": %d}' % (-2 ** 127 - 1), "ETH"),
    ('{"BTC": 1, "ETH": 1e3}', "ETH"),
]


@pytest.mark.parametrize("body,needle", LEDGER_FAULTS)
def test_ledger_faults_write_nothing(tmp_path, body, needle):
    assets = assets_of(2)
    text = json.dumps({"timestamp": 1, "assets": assets, "accounts": {"ab" * 32: {"BTC": 1, "ETH": 1}}})
    text = text[:-2] + ', "cd01": %s}}' % body
    (tmp_path / "l.json").write_text(text)
    os.mkdir(tmp_path / "out")
    rc, res, err = prove(tmp_path / "l.json", tmp_path / "out")
    assert rc == 1 and res["status"] == "error"
    assert "cd01" in res["message"] and needle in res["message"], res
    assert os.listdir(tmp_path / "out") == []
    rc, res, _ = prove(tmp_path / "l.json", tmp_path / "new")
    assert rc == 1 and not (tmp_path / "new").exists()


def test_balances_beyond_int64_and_price_zero_accepted(tmp_path):
    """v1 refused 2^63; v2 takes [-2^127, 2^127). A price of 0 proves, and
    both verifiers warn about it."""
    assets = {"BTC": {"usdt_decimals": 2, "balance_decimals": 8, "price": 3500000},
              "FREE": {"usdt_decimals": 2, "balance_decimals": 0, "price": 0}}
    accts = {"cd01": {"BTC": 2 ** 63, "FREE": -(2 ** 70)}, "cd02": {"BTC": 0, "FREE": 2 ** 71}}
    ledger = write_ledger(tmp_path / "l.json", assets, accts)
    rc, summ, err = prove(ledger, tmp_path / "out", "--padded-accounts", 4)
    assert rc == 0, err
    check_public_files(tmp_path / "out", assets, accts)
    rc, res, err = verify(tmp_path / "out")
    assert rc == 0, err
    assert any("FREE" in x and "price 0" in x for x in res["warnings"]), res["warnings"]


@pytest.mark.parametrize("text,needle", [
    ('{"timestamp": 1, "assets": {"BTC": {"usdt_decimals": 2, "balance_decimals": 8, "price": 1}}, '
     '"accounts": {"ab": {"BTC": 1}, "AB": {"BTC": 2}}}', "duplicate"),
    ('{"timestamp": 1, "assets": {"BTC": {"usdt_decimals": 2, "balance_decimals": 8, "price": 1}}, '
     '"accounts": {"xyz1": {"BTC": 1}}}', "xyz1"),
    ('{"timestamp": 1, "assets": {"BTC": {"usdt_decimals": 2, "balance_decimals": 8, "price": 1}, '
     '"ETH": {"usdt_decimals": 3, "balance_decimals": 8, "price": 1}}, "accounts": {}}', "usdt_decimals"),
    ('{"timestamp": 1, "assets": {"BTC": {"usdt_decimals": 2, "balance_decimals": 8, "price": -1}}, '
     '"accounts": {"ab": {"BTC": 1}}}', "price"),
    ('{"timestamp": 1, "assets": {"BTC": {"usdt_decimals": 2, "balance_decimals": 8, "price": 1}}, '
     '"accounts": {"ab": {"BTC": 1}', ""),
])
def test_ledger_faults_more(tmp_path, text, needle):
    (tmp_path / "l.json").write_text(text)
    rc, res, _ = prove(tmp_path / "l.json", tmp_path / "out")
    assert rc == 1 and needle in res["message"], res
    assert not (tmp_path / "out").exists()


def test_usage_and_existing_output(small, tmp_path):
    out, _, _ = small
    p = subprocess.run([str(BIN), "por", "prove"], capture_output=True, text=True)
    assert p.returncode == 2
    for b in ("0", "1025", "x"):
        p = subprocess.run([str(BIN), "por", "prove", "x.json", "--out", "o", "--batch", b],
                           capture_output=True, text=True)
        assert p.returncode == 2 and "--batch takes 1..1024" in p.stderr
    for rb in ("0", "12", "136", "BTC=", "BTC=7", "=64", "x"):
        p = subprocess.run([str(BIN), "por", "prove", "x.json", "--out", "o", "--range-bits", rb],
                           capture_output=True, text=True)
        assert p.returncode != 0 and "range-bits" in p.stderr + p.stdout, (rb, p.stdout, p.stderr)
    p = subprocess.run([str(BIN), "por", "verify-inclusion", "x.json"], capture_output=True, text=True)
    assert p.returncode == 2
    p = subprocess.run([str(BIN), "por", "user-hash"], capture_output=True, text=True)
    assert p.returncode == 2
    # proving into a directory that already holds a proof is refused, nothing changes
    before = (out / "final_proof.json").read_bytes()
    ledger = write_ledger(tmp_path / "l.json", assets_of(1), gen_accounts(2, assets_of(1), 1))
    rc, res, _ = prove(ledger, out)
    assert rc == 1 and "already holds" in res["message"]
    assert (out / "final_proof.json").read_bytes() == before
    rc, res, _ = verify(tmp_path / "nonexistent")
    assert rc == 1 and "final_proof.json" in res["message"]
