"""Proof of reserves end to end: `cloister por prove | verify | verify-inclusion`
(docs/por.md) on generated ledgers, through the real binary, no server.

* Round trips: 1, 2, 3 and 1000 accounts x 1 and 20 assets: prove -> verify ->
  verify-inclusion of every account's proof (one invocation for all of them).
* Soundness: each forgery must be rejected by a verifier — negative equity
  (prove refuses naming the account; a proof forced through the debug-build
  test hook CLOISTER_POR_UNSAFE_ALLOW_NEGATIVE=1 fails `verify`), a total off
  by one (with total_equity and the statement digest recomputed so only the
  opening can catch it), a changed balance, another user's hash, a swapped
  sibling, a leaf reused for two users (copied over another leaf in
  merkle_tree.json with every node, total, digest and hash fixed up, so only
  the distinct-ids check can catch it; and a user proof pointing at another
  user's leaf), truncated and bit-flipped files.
* Privacy: two ledgers with the same totals and padded size but different
  balances and account counts give public files of identical size and shape
  whose only differences are random-looking hex values.
* Ledger faults: an error naming the account and field, and nothing in --out.

Recomputing digests for the forgeries needs G1 point addition; a few lines of
BLS12-381 affine arithmetic below do it (decompress, add, compress — no
subgroup checks: only for building test inputs).
"""
import hashlib
import json
import os
import random
import re
import shutil
import subprocess

import pytest

from conftest import BIN

P_MOD = 0x1A0111EA397FE69A4B1BA7B6434BACD764774B84F38512BF6730D2A0F6B0F6241EABFFFEB153FFFFB9FEFFFFFFFFAAAB
R_ORD = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001


# --------------------------------------------------------------------------- helpers
def run(*args, env_extra=None, timeout=600):
    env = dict(os.environ)
    env.pop("CLOISTER_POR_UNSAFE_ALLOW_NEGATIVE", None)
    if env_extra:
        env.update(env_extra)
    p = subprocess.run([str(BIN), "por", *map(str, args)], capture_output=True, text=True,
                       env=env, timeout=timeout)
    lines = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    assert "\r" not in p.stderr, "progress bars must only go to a terminal"
    return p.returncode, lines, p.stderr


def prove(ledger, out, *extra, env_extra=None):
    rc, lines, err = run("prove", ledger, "--out", out, *extra, env_extra=env_extra)
    assert len(lines) == 1, (rc, lines, err)
    return rc, lines[0], err


def verify(d):
    rc, lines, err = run("verify", d)
    assert len(lines) == 1, (rc, lines, err)
    return rc, lines[0], err


def inclusion(proofs, final):
    rc, lines, err = run("verify-inclusion", *proofs, "--root", final)
    assert len(lines) == len(proofs), (rc, lines, err)
    return rc, lines, err


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


def gen_accounts(count, assets, seed):
    """{user hash hex: {symbol: balance}}, every equity in [0, 2^64)."""
    rng = random.Random(seed)
    w = weights(assets)
    syms = sorted(assets)
    accts = {}
    for i in range(count):
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


# --------------------------------------------------------------------------- the protocol's hashes (docs/por.md §2, §4)
def Ht(tag, *parts):
    t = tag.encode()
    return hashlib.sha256(bytes([len(t)]) + t + b"".join(parts)).digest()


def Hs(tag, x):
    return int.from_bytes(Ht(tag, x, b"\x00") + Ht(tag, x, b"\x01"), "big") % R_ORD


def node_hash(hl, cl, hr, cr):
    return Ht("cloister-por-v1/node", bytes.fromhex(hl), bytes.fromhex(cl), bytes.fromhex(hr),
              bytes.fromhex(cr)).hex()


def statement_digest(fp):
    par = fp["parameters"]
    b = fp["timestamp"].to_bytes(8, "big") + bytes([par["tree_depth"]])
    b += par["range_bits"].to_bytes(2, "big") + par["batch_size"].to_bytes(2, "big")
    b += len(fp["assets"]).to_bytes(2, "big")
    for a in fp["assets"]:
        s = a["symbol"].encode()
        b += bytes([len(s)]) + s + bytes([a["usdt_decimals"], a["balance_decimals"]])
        b += int(a["price"]).to_bytes(8, "big") + (int(a["total"]) % 2 ** 128).to_bytes(16, "big")
    b += bytes.fromhex(fp["total_blinding"]) + bytes.fromhex(fp["root"]["hash"])
    b += bytes.fromhex(fp["root"]["commitment"])
    return Ht("cloister-por-v1/statement", b).hex()


def refresh_final(fp):
    """total_equity and statement_digest recomputed from the other fields."""
    fp["total_equity"] = str(sum(int(a["weight"]) * int(a["total"]) for a in fp["assets"]))
    fp["statement_digest"] = statement_digest(fp)


def rebuild_tree(tree):
    """Every inner node recomputed from the leaves; returns the root."""
    level = [{"hash": l["hash"], "commitment": l["commitment"]} for l in tree["leaves"]]
    for j in range(tree["tree_depth"]):
        nxt = []
        for k in range(0, len(level), 2):
            l, r = level[k], level[k + 1]
            c = g1_compress(g1_add(g1_decompress(l["commitment"]), g1_decompress(r["commitment"])))
            nxt.append({"hash": node_hash(l["hash"], l["commitment"], r["hash"], r["commitment"]),
                        "commitment": c})
        tree["levels"][j] = nxt
        level = nxt
    return level[0]


def write_tree(out, tree, fp):
    path = os.path.join(out, "merkle_tree.json")
    data = json.dumps(tree).encode()
    with open(path, "wb") as f:
        f.write(data)
    fp["merkle_tree"] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def path_of(tree, idx):
    path = []
    for j in range(tree["tree_depth"]):
        sib = (idx >> j) ^ 1
        node = tree["leaves"][sib] if j == 0 else tree["levels"][j - 1][sib]
        path.append({"hash": node["hash"], "commitment": node["commitment"]})
    return path


def user_proofs(out):
    d = os.path.join(out, "user_proofs")
    return sorted(os.path.join(d, f) for f in os.listdir(d))


# --------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("count,nassets", [(1, 1), (2, 1), (3, 1), (1000, 1),
                                           (1, 20), (2, 20), (3, 20), (1000, 20)])
def test_prove_verify_every_account(tmp_path, count, nassets):
    assets = assets_of(nassets)
    accts = gen_accounts(count, assets, seed=count * 100 + nassets)
    ledger = write_ledger(tmp_path / "ledger.json", assets, accts)
    out = tmp_path / "out"
    # small trees for small ledgers; 1000 accounts pads to 1024 (smallest power of two)
    # with the default batch (480, 480, 64 values); 3 accounts in batches of 3 and 1
    batch = [] if count > 3 else ["--batch", 3 if count == 3 else 2]
    rc, summ, err = prove(ledger, out, "--padded-accounts", 4, *batch)
    assert rc == 0, err
    assert summ["status"] == "ok" and summ["accounts"] == count and summ["user_proofs"] == count
    N = 1024 if count == 1000 else 4
    assert summ["padded"] == N and summ["assets"] == nassets
    assert summ["batch"] == (480 if count > 3 else 3 if count == 3 else 2)
    for f in ("final_proof.json", "merkle_tree.json", "proofs.zip", "private_nonces.json"):
        assert (out / f).is_file()
    assert not [p for p in os.listdir(out) if p.startswith(".por-tmp")]
    assert len(os.listdir(out / "user_proofs")) == count

    rc, res, err = verify(out)
    assert rc == 0, err
    assert res["status"] == "ok" and res["padded"] == N

    fp = load(out / "final_proof.json")
    w = weights(assets)
    assert [a["symbol"] for a in fp["assets"]] == sorted(assets)
    for a in fp["assets"]:
        assert int(a["total"]) == sum(b[a["symbol"]] for b in accts.values())
        assert int(a["weight"]) == w[a["symbol"]]
    rc, lines, err = inclusion(user_proofs(out), out / "final_proof.json")
    assert rc == 0, err
    seen = set()
    for line in lines:
        assert line["status"] == "ok"
        uh = line["user_hash"]
        assert uh in accts and uh not in seen
        seen.add(uh)
        assert int(line["equity"]) == sum(w[s] * b for s, b in accts[uh].items())
    assert seen == set(accts)
    # the zip holds exactly the two public files
    import zipfile
    with zipfile.ZipFile(out / "proofs.zip") as z:
        assert sorted(z.namelist()) == ["final_proof.json", "merkle_tree.json"]
        assert z.read("final_proof.json") == (out / "final_proof.json").read_bytes()
    # private_nonces.json: every leaf, dummies with an empty user hash
    pn = load(out / "private_nonces.json")
    assert len(pn["leaves"]) == N
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


# --------------------------------------------------------------------------- soundness
@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A proved ledger of 3 accounts (N = 4, B = 2) to forge from."""
    base = tmp_path_factory.mktemp("por-small")
    assets = assets_of(2)
    accts = gen_accounts(3, assets, seed=42)
    ledger = write_ledger(base / "ledger.json", assets, accts)
    rc, _, err = prove(ledger, base / "out", "--padded-accounts", 4, "--batch", 2)
    assert rc == 0, err
    return base / "out", accts


def copy_out(src, dst):
    shutil.copytree(src, dst)
    return dst


@pytest.mark.parametrize("batch", [2, 3])  # 3: batches of 3, 3 and 2 values (N = 8)
def test_negative_equity_refused_and_forged(tmp_path, batch):
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
    # the refusal bypassed: a proof that includes the account must not verify
    rc, res, err = prove(ledger, tmp_path / "forged", "--padded-accounts", pad, "--batch", batch,
                         env_extra={"CLOISTER_POR_UNSAFE_ALLOW_NEGATIVE": "1"})
    if rc != 0 and "no test hooks" in res.get("message", ""):
        pytest.skip("release build: no test hook")
    assert rc == 0, err
    assert res["unsafe_bad_equity_accounts"] == 1
    rc, res, _ = verify(tmp_path / "forged")
    assert rc == 1 and res["status"] == "error"
    assert "range proof" in res["message"]
    final = tmp_path / "forged" / "final_proof.json"
    rc, lines, _ = inclusion([tmp_path / "forged" / "user_proofs" / (bad + ".json")], final)
    assert rc == 1 and "negative" in lines[0]["message"]


def test_total_off_by_one(small, tmp_path):
    out, _ = small
    for delta in (1, -1):
        d = copy_out(out, tmp_path / ("d%d" % delta))
        fp = load(d / "final_proof.json")
        fp["assets"][0]["total"] = str(int(fp["assets"][0]["total"]) + delta)
        refresh_final(fp)  # digest and total_equity consistent: only the opening can object
        dump(d / "final_proof.json", fp)
        rc, res, _ = verify(d)
        assert rc == 1 and "root commitment is not" in res["message"], res
        up = user_proofs(d)[0]
        u = load(up)
        u["statement_digest"] = fp["statement_digest"]
        dump(up, u)
        rc, lines, _ = inclusion([up], d / "final_proof.json")
        assert rc == 1 and "root commitment is not" in lines[0]["message"], lines


def test_user_proof_tampering(small, tmp_path):
    out, accts = small
    final = out / "final_proof.json"
    ups = user_proofs(out)
    a, b = load(ups[0]), load(ups[1])
    cases = {}
    x = json.loads(json.dumps(a))
    sym = sorted(x["balances"])[0]
    x["balances"][sym] = str(int(x["balances"][sym]) + 1)
    cases["balance"] = x
    x = json.loads(json.dumps(a))
    x["user_hash"] = b["user_hash"]
    cases["other user hash"] = x
    x = json.loads(json.dumps(a))
    x["path"][0], x["path"][1] = x["path"][1], x["path"][0]
    cases["swapped siblings"] = x
    x = json.loads(json.dumps(a))
    # another node's hash (b's leaf, unless b is a's sibling: then a's own leaf)
    other = b["leaf"]["hash"] if b["leaf"]["hash"] != a["path"][0]["hash"] else a["leaf"]["hash"]
    x["path"][0]["hash"] = other
    cases["sibling replaced"] = x
    x = json.loads(json.dumps(a))
    x["leaf_index"] ^= 1
    cases["other side"] = x
    # two users pointing at one leaf: a's data with b's leaf, index and path
    x = json.loads(json.dumps(a))
    for k in ("leaf", "leaf_index", "path"):
        x[k] = b[k]
    cases["b's leaf"] = x
    x = json.loads(json.dumps(b))
    x["user_hash"], x["nonce"] = a["user_hash"], a["nonce"]
    cases["b's leaf with a's hash and nonce"] = x
    x = json.loads(json.dumps(a))
    x["equity"] = str(int(x["equity"]) + 1)
    cases["equity"] = x
    paths = []
    for i, (name, doc) in enumerate(cases.items()):
        p = tmp_path / ("case%d.json" % i)
        dump(p, doc)
        paths.append(p)
    rc, lines, _ = inclusion(paths, final)
    assert rc == 1
    for name, line in zip(cases, lines):
        assert line["status"] == "error", name
    # and the untouched ones still pass
    assert inclusion(ups, final)[0] == 0


def test_leaf_reused(small, tmp_path):
    """Leaf k copied over leaf j; nodes, totals, R, total_equity, digest and
    file hashes fixed up: only the distinct-ids check is left to object."""
    out, accts = small
    d = copy_out(out, tmp_path / "d")
    tree, fp = load(d / "merkle_tree.json"), load(d / "final_proof.json")
    nonces = {l["leaf_index"]: l for l in load(d / "private_nonces.json")["leaves"]}
    ups = [load(p) for p in user_proofs(d)]
    victim, dup = ups[0], ups[1]
    j, k = victim["leaf_index"], dup["leaf_index"]
    tree["leaves"][j] = dict(tree["leaves"][k])
    root = rebuild_tree(tree)
    for a in fp["assets"]:
        s = a["symbol"]
        a["total"] = str(int(a["total"]) - int(victim["balances"][s]) + int(dup["balances"][s]))
    eta = lambda i: Hs("cloister-por-v1/blinding", bytes.fromhex(nonces[i]["nonce"]))
    R = (int(fp["total_blinding"], 16) - eta(j) + eta(k)) % R_ORD
    fp["total_blinding"] = "%064x" % R
    fp["root"] = root
    write_tree(d, tree, fp)
    refresh_final(fp)
    dump(d / "final_proof.json", fp)
    rc, res, _ = verify(d)
    assert rc == 1
    assert "not distinct" in res["message"], res
    # the duplicated user's proof, re-pointed at the copy, passes inclusion
    # alone — which is why verify checks distinct ids; the victim's fails
    up = tmp_path / "dup.json"
    x = dict(dup, statement_digest=fp["statement_digest"], root=root, leaf_index=j,
             path=path_of(tree, j))
    dump(up, x)
    rc, lines, _ = inclusion([up], d / "final_proof.json")
    assert rc == 0, lines
    vp = tmp_path / "victim.json"
    dump(vp, dict(victim, statement_digest=fp["statement_digest"], root=root,
                  path=path_of(tree, j)))
    rc, lines, _ = inclusion([vp], d / "final_proof.json")
    assert rc == 1


def flips(data, count, seed):
    rng = random.Random(seed)
    for _ in range(count):
        pos = rng.randrange(len(data))
        bit = 1 << rng.randrange(8)
        b = bytearray(data)
        b[pos] ^= bit
        yield pos, bytes(b)


def test_truncated_and_flipped_files(small, tmp_path):
    out, _ = small
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
    # user proofs: flipped and truncated, all in one verify-inclusion run
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
    # a flipped final_proof.json fails inclusion too
    (d / "final_proof.json").write_bytes(next(flips(fpb, 1, seed=9))[1])
    assert inclusion([up], d / "final_proof.json")[0] == 1


# --------------------------------------------------------------------------- privacy
HEX_STR = re.compile(r'"[0-9a-f]{32,}"')


def skeleton(text):
    return HEX_STR.sub('"<hex>"', text)


def test_privacy_same_totals(tmp_path):
    assets = assets_of(2)
    # same per-asset totals, different balances and account counts (5 vs 6)
    a = {"%064x" % (i + 1): b for i, b in enumerate([
        {"BTC": 123456789, "ETH": 5555555}, {"BTC": 987654, "ETH": 7777777},
        {"BTC": 3133700100, "ETH": -4242424}, {"BTC": 2020202, "ETH": 9191919},
        {"BTC": 424242, "ETH": 88888}])}
    tot = {s: sum(b[s] for b in a.values()) for s in ("BTC", "ETH")}
    bb = [{"BTC": 60000007, "ETH": 1234567}, {"BTC": 40000003, "ETH": 2345678},
          {"BTC": 13131313, "ETH": 3456789}, {"BTC": 999999, "ETH": 4567891},
          {"BTC": 1111111111, "ETH": -1212121}]
    bb.append({s: tot[s] - sum(x[s] for x in bb) for s in tot})
    b = {"%064x" % (100 + i): x for i, x in enumerate(bb)}
    w = weights(assets)
    for led in (a, b):
        for bal in led.values():
            assert sum(w[s] * v for s, v in bal.items()) >= 0
    outs = []
    for name, led in (("a", a), ("b", b)):
        ledger = write_ledger(tmp_path / (name + ".json"), assets, led)
        rc, _, err = prove(ledger, tmp_path / name, "--padded-accounts", 16, "--batch", 4)
        assert rc == 0, err
        outs.append(tmp_path / name)
    secrets = {str(v) for led in (a, b) for bal in led.values() for v in bal.values()}
    secrets |= {str(abs(int(s))) for s in secrets}
    totals = {str(v) for v in tot.values()}
    for f in ("final_proof.json", "merkle_tree.json"):
        ta, tb = [(o / f).read_text() for o in outs]
        assert len(ta) == len(tb), f  # sizes depend only on N, k, B and the public table
        sa, sb = skeleton(ta), skeleton(tb)
        assert sa == sb, f  # identical apart from hex values...
        ha, hb = HEX_STR.findall(ta), HEX_STR.findall(tb)
        assert [len(x) for x in ha] == [len(x) for x in hb]
        assert all(x != y for x, y in zip(ha, hb))  # ...which are all fresh randomness
        # no balance and no account count in anything that is not such a value
        numbers = set(re.findall(r"-?\d+", sa))
        assert not (numbers & (secrets - totals)), (f, numbers & secrets)
        assert not ({"5", "6"} & numbers), (f, numbers)
        # dummies and real leaves look alike: no empty user hash, no count field
        assert '""' not in ta and "count\": 5" not in ta and "count\": 6" not in ta
    for o in outs:
        assert verify(o)[0] == 0


# --------------------------------------------------------------------------- ledger faults and usage
LEDGER_FAULTS = [
    ('{"BTC": 1.5, "ETH": 1}', "not an integer"),
    ('{"BTC": 1}', "ETH"),
    ('{"BTC": 1, "ETH": 1, "XRP": 1}', "XRP"),
    ('{"BTC": "12", "ETH": 1}', "BTC"),
    ('{"BTC": 9223372036854775808, "ETH": 1}', "BTC"),
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
    # a missing --out is not even created
    rc, res, _ = prove(tmp_path / "l.json", tmp_path / "new")
    assert rc == 1 and not (tmp_path / "new").exists()


@pytest.mark.parametrize("text,needle", [
    ('{"timestamp": 1, "assets": {"BTC": {"usdt_decimals": 2, "balance_decimals": 8, "price": 1}}, '
     '"accounts": {"ab": {"BTC": 1}, "AB": {"BTC": 2}}}', "duplicate"),
    ('{"timestamp": 1, "assets": {"BTC": {"usdt_decimals": 2, "balance_decimals": 8, "price": 1}}, '
     '"accounts": {"xyz1": {"BTC": 1}}}', "xyz1"),
    ('{"timestamp": 1, "assets": {"BTC": {"usdt_decimals": 2, "balance_decimals": 8, "price": 1}, '
     '"ETH": {"usdt_decimals": 3, "balance_decimals": 8, "price": 1}}, "accounts": {}}', "usdt_decimals"),
    ('{"timestamp": 1, "assets": {"BTC": {"usdt_decimals": 2, "balance_decimals": 8, "price": 1}}, '
     '"accounts": {"ab": {"BTC": 1}', ""),
])
def test_ledger_faults_more(tmp_path, text, needle):
    (tmp_path / "l.json").write_text(text)
    rc, res, _ = prove(tmp_path / "l.json", tmp_path / "out")
    assert rc == 1 and needle in res["message"], res
    assert not (tmp_path / "out").exists()


def test_usage_and_existing_output(small, tmp_path):
    out, _ = small
    p = subprocess.run([str(BIN), "por", "prove"], capture_output=True, text=True)
    assert p.returncode == 2
    for b in ("0", "1025", "x"):
        p = subprocess.run([str(BIN), "por", "prove", "x.json", "--out", "o", "--batch", b],
                           capture_output=True, text=True)
        assert p.returncode == 2 and "--batch takes 1..1024" in p.stderr
    p = subprocess.run([str(BIN), "por", "verify-inclusion", "x.json"], capture_output=True, text=True)
    assert p.returncode == 2
    # proving into a directory that already holds a proof is refused, nothing changes
    before = (out / "final_proof.json").read_bytes()
    ledger = write_ledger(tmp_path / "l.json", assets_of(1), gen_accounts(2, assets_of(1), 1))
    rc, res, _ = prove(ledger, out)
    assert rc == 1 and "already holds" in res["message"]
    assert (out / "final_proof.json").read_bytes() == before
    rc, res, _ = verify(tmp_path / "nonexistent")
    assert rc == 1 and "final_proof.json" in res["message"]
