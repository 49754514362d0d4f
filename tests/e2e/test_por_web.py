"""The proof-of-reserves verification page (web/por, docs/por.md §9) and the static
file responder that serves it (`cloister serve` at /por/, src/cli/static.c).

- The page's verifier (web/por/verify.js) under node:test, on proofs built from the
  spec alone by tests/e2e/js/por_fixture.mjs (tests/e2e/js/por_verify.test.mjs).
- Cross-checks with the C implementation when it is built: proofs made by
  `cloister por prove` verified by verify.js, and `cloister por verify-inclusion`
  against the JS fixtures. Skipped (never passed) while those commands do not exist.
- The page itself in headless Chromium (Debian's chromium + puppeteer-core) against
  the real server: a valid pair passes, a tampered balance fails at a named step.
- The static responder: index, content types, HEAD, 404 for traversal (plain and
  percent-encoded), directories, unknown files and symlinks out of the web root;
  the bucket name "por" is kept by the node (CreateBucket answers
  BucketAlreadyExists), so no bucket's anonymous reads are shadowed by the page.
"""
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


def write_fixture(tmp_path, ledger, name="fx"):
    """JS fixture (spec-built proof) -> (final_proof path, {user hash: user proof path})."""
    lp = tmp_path / f"{name}-ledger.json"
    lp.write_text(json.dumps(ledger))
    out = tmp_path / name
    p = node(JS / "por_fixture.mjs", lp, out)
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
    p = node("--test", "--test-reporter=tap", JS / "por_verify.test.mjs", timeout=120)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-8000:]
    assert "# fail 0" in out and "# pass " in out, out[-2000:]
    passed = int(out.split("# pass ")[1].split()[0])
    assert passed >= 15, out[-2000:]


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
        assert verdicts[-1]["ok"] is False and verdicts[-1]["failed"] == "leaf"
        if por_command("verify-inclusion"):
            for path in users:
                c = subprocess.run([str(BIN), "por", "verify-inclusion", str(path), "--root", str(final)],
                                   capture_output=True, text=True, timeout=120)
                assert c.returncode == 0, f"C verify-inclusion rejected {path.name}: {c.stderr}"
            c = subprocess.run([str(BIN), "por", "verify-inclusion", str(bad), "--root", str(final)],
                               capture_output=True, text=True, timeout=120)
            assert c.returncode != 0, "C verify-inclusion accepted a tampered balance"


def test_c_verify_inclusion_agrees_on_js_fixtures(tmp_path):
    """The C verifier on proofs built from the spec in JS: same verdicts as verify.js."""
    if not por_command("verify-inclusion"):
        pytest.skip(f"cross-check not run: `{BIN} por verify-inclusion --help` says it is not built yet")
    require_noble()
    rng = random.Random(7)
    ledger = make_ledger(3, 3, rng)
    final, users = write_fixture(tmp_path, ledger)
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
    neg_final, neg_users = write_fixture(tmp_path, neg, "neg")
    cases += [(p, neg_final, u != bad_user) for u, p in neg_users.items()]

    for user, fin, want in cases:
        js = json_lines(node(JS / "por_verify_cli.mjs", fin, user).stdout)[0]
        c = subprocess.run([str(BIN), "por", "verify-inclusion", str(user), "--root", str(fin)],
                           capture_output=True, text=True, timeout=120)
        assert js["ok"] is want, f"JS on {user.name}: {js}"
        assert (c.returncode == 0) is want, f"C on {user.name}: rc {c.returncode} {c.stdout[-1000:]} {c.stderr[-1000:]}"
        if fin == neg_final and not want:
            assert js["failed"] == "equity" and "negative" in c.stdout + c.stderr, (js, c.stdout, c.stderr)
        if not want:
            assert c.returncode == 1, f"C on {user.name}: rc {c.returncode} (want 1: failed) {c.stderr[-1000:]}"


# --------------------------------------------------------------------------- the page in Chromium
def test_page_in_headless_chromium(server, tmp_path):
    require_noble()
    if not (JS / "node_modules" / "puppeteer-core").is_dir():
        pytest.fail("puppeteer-core is not installed in tests/e2e/js: run `make deps`")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} not found: run `make deps` (Debian package chromium)")
    ledger = make_ledger(3, 3, random.Random(11))
    final, users = write_fixture(tmp_path, ledger)
    user_hash, good = next(iter(users.items()))
    bad = tamper_balance(good, tmp_path / "tampered.json", delta=1)
    p = node(JS / "por_page.mjs", server.endpoint + "/por/", final, good, bad, timeout=120)
    assert p.returncode == 0, p.stderr[-4000:]
    ok, tampered, done = json_lines(p.stdout)
    assert done["problems"] == [], done["problems"]
    assert ok["status"] == "pass", ok
    assert ok["userHash"] == user_hash
    assert [s["status"] for s in ok["steps"]] == ["pass", "info", "pass", "pass", "pass", "pass"], ok["steps"]
    balances = json.loads(good.read_text())["balances"]
    assert all(any(b in row for row in ok["balances"]) for b in balances.values()), ok["balances"]
    assert tampered["status"] == "fail", tampered
    assert tampered["failed"] == "leaf", tampered
    assert [s["id"] for s in tampered["steps"] if s["status"] == "fail"] == ["leaf"], tampered["steps"]
    assert "3b. Your leaf is recomputed" in tampered["summary"], tampered["summary"]
    assert "balance commitment L" in tampered["summary"], tampered["summary"]


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
