"""The iExec SMS-compatible endpoints (`cloister serve --sms-listen`): the
requester side, first with the exact requests captured from the iexec CLI
(../shared/vectors/iexec-sms.json), then with the stock `iexec` CLI (npm
iexec@8.24.0, tests/e2e/js) against a chain.json whose "sms" points here."""
import http.client
import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import PG_MODE, free_port, meta_query, uniq
from eth_sign import keccak256, owner_proof, personal_sign
from test_apps import signed_call

ROOT = Path(__file__).resolve().parents[2]
JS = ROOT / "tests" / "e2e" / "js"
IEXEC = JS / "node_modules" / ".bin" / "iexec"
VECTORS = Path(os.environ.get("CLOISTER_VECTORS", ROOT.parent / "shared" / "vectors"))
V = json.loads((VECTORS / "iexec-sms.json").read_text())
REQ = V["requester"]
CLI_KEY = "0x" + "22" * 32  # the CLI's wallet: not the vectors' key, so x1 is free
GREP_VALUE = "zq-sms-distinctive-value-7361"
APP_GREP_VALUE = "zq-sms-app-secret-value-2208"
OWNER_KEY, OTHER_KEY = 0x7171 * 11, 0x8181 * 11


@pytest.fixture(scope="module")
def sms(make_server):
    port = free_port()
    srv = make_server("sms", extra_args=["--sms-listen", f"127.0.0.1:{port}"])
    srv.sms_port = port
    return srv


def call(srv, method, path, body=None, auth=None):
    c = http.client.HTTPConnection("127.0.0.1", srv.sms_port, timeout=10)
    headers = {"Content-Type": "text/plain"}
    if auth is not None:
        headers["Authorization"] = auth
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data.decode(errors="replace")


def req_path(name, addr=REQ["address"]):
    return f"/requesters/{addr}/secrets/{name}"


def test_vector_push_check_write_once(sms):
    assert call(sms, "HEAD", req_path("x1"))[0] == 404
    assert call(sms, "POST", req_path("x1"), "1", REQ["authorization"])[0] == 204
    assert call(sms, "HEAD", req_path("x1"))[0] == 204
    assert call(sms, "HEAD", req_path("x1", REQ["address"].lower()))[0] == 204  # either case
    st, body = call(sms, "POST", req_path("x1"), "1", REQ["authorization"])
    assert st == 409 and "already exists" in body
    assert call(sms, "HEAD", req_path("nosuch"))[0] == 404


def test_refused_pushes(sms):
    auth = REQ["authorization"]
    tampered = auth[:10] + ("0" if auth[10] != "0" else "1") + auth[11:]
    assert call(sms, "POST", req_path("t1"), "1", tampered)[0] == 401
    assert call(sms, "POST", req_path("t2"), "1")[0] == 401  # no Authorization
    # the vectors' signature is over name x1 and value 1: any other value or name fails
    assert call(sms, "POST", req_path("t3"), "1", auth)[0] == 401
    assert call(sms, "POST", req_path("x1"), "2", auth)[0] in (401, 409)
    # signed by the key of the vectors, pushed under another address
    other = "0x" + "ab" * 20
    assert call(sms, "POST", req_path("x1", other), "1", auth)[0] == 401
    assert call(sms, "HEAD", req_path("x1", other))[0] == 404
    assert call(sms, "POST", req_path("bad.name"), "1", auth)[0] == 400
    assert call(sms, "POST", req_path("x" * 65), "1", auth)[0] == 400
    assert call(sms, "HEAD", "/requesters/0x1234/secrets/x1")[0] == 400
    st, body = call(sms, "POST", req_path("big"), "v" * 4097, auth)
    assert st == 413 and "4096" in body
    assert call(sms, "POST", req_path("huge"), "v" * 20000, auth)[0] == 413
    assert call(sms, "GET", req_path("x1"))[0] == 405
    assert call(sms, "GET", "/")[0] == 404
    for name in ("t1", "t2", "t3", "bad", "big", "huge"):
        assert call(sms, "HEAD", req_path(name))[0] == 404


def sms_challenge(addr, name, value):
    """docs/secrets.md: the challenge the iexec CLI signs."""
    return keccak256(keccak256(b"IEXEC_SMS_DOMAIN") + bytes.fromhex(addr[2:]) +
                     keccak256(name.encode()) + keccak256(value.encode()))


def deploy_owned_app(srv, key):
    """An app of the server's admin whose recorded owner is address(key) -> its address."""
    creds = srv.admin_creds()
    st, app = signed_call(srv, creds, "CreateApp", {"Name": uniq("smsapp"),
                                                    "Entrypoint": "/app/run",
                                                    "Bundle": "A" * 1366 + "=="})
    assert st == 200, app
    st, ans = signed_call(srv, creds, "SetAppOwner",
                          dict(owner_proof(key, app["Address"]), Name=app["Name"]))
    assert st == 200, ans
    return app


def test_app_endpoints_without_app_or_owner(sms):
    """No app has the vectors' address: 404 (never 5xx), and nothing is stored."""
    app = V["app"]
    path = f"/apps/{app['app_address']}/secrets"
    assert call(sms, "HEAD", path)[0] == 404
    st, body = call(sms, "POST", path, app["value"], app["authorization"])
    assert st == 404 and "owner" in body
    assert call(sms, "HEAD", path)[0] == 404
    creds = sms.admin_creds()  # an app with no recorded owner: 404 too
    st, a = signed_call(sms, creds, "CreateApp", {"Name": uniq("noowner"),
                                                  "Entrypoint": "/app/run",
                                                  "Bundle": "A" * 1366 + "=="})
    assert st == 200, a
    value = "zq-noowner"
    st, body = call(sms, "POST", f"/apps/{a['Address']}/secrets", value,
                    personal_sign(OWNER_KEY, sms_challenge(a["Address"], "1", value)))
    assert st == 404, body


def test_app_secret_signed_by_the_owner(sms):
    app = deploy_owned_app(sms, OWNER_KEY)
    path = f"/apps/{app['Address']}/secrets"
    value = APP_GREP_VALUE
    assert call(sms, "HEAD", path)[0] == 404
    # signed by another key, or over another value: 401, nothing stored
    st, body = call(sms, "POST", path, value,
                    personal_sign(OTHER_KEY, sms_challenge(app["Address"], "1", value)))
    assert st == 401 and "owner" in body, body
    st, _ = call(sms, "POST", path, value,
                 personal_sign(OWNER_KEY, sms_challenge(app["Address"], "1", "other")))
    assert st == 401
    assert call(sms, "POST", path, value)[0] == 401  # no Authorization
    assert call(sms, "HEAD", path)[0] == 404
    auth = personal_sign(OWNER_KEY, sms_challenge(app["Address"], "1", value))
    assert call(sms, "POST", path, value, auth)[0] == 204
    assert call(sms, "HEAD", path)[0] == 204
    assert call(sms, "HEAD", path.replace(app["Address"], app["Address"].upper().replace(
        "0X", "0x")))[0] == 204
    st, body = call(sms, "POST", path, value, auth)
    assert st == 409 and "already exists" in body
    # the same secret seen through the Cloister API: production, not debug
    creds = sms.admin_creds()
    st, ans = signed_call(sms, creds, "DescribeAppSecret", {"App": app["Name"]})
    assert st == 200 and ans["Debug"] is False, ans
    st, ans = signed_call(sms, creds, "DescribeAppSecret", {"App": app["Name"], "Debug": True})
    assert st == 404, ans
    # a deleted app is no longer found by address
    other = deploy_owned_app(sms, OWNER_KEY)
    st, _ = signed_call(sms, creds, "DeleteApp", {"Name": other["Name"]})
    assert st == 200
    opath = f"/apps/{other['Address']}/secrets"
    st, _ = call(sms, "POST", opath, "v",
                 personal_sign(OWNER_KEY, sms_challenge(other["Address"], "1", "v")))
    assert st == 404


def test_not_on_the_s3_listener(sms):
    """/requesters/... on --listen is an ordinary S3 path (a bucket named requesters)."""
    c = http.client.HTTPConnection("127.0.0.1", sms.port, timeout=10)
    c.request("HEAD", req_path("x1"))
    st = c.getresponse().status
    c.close()
    assert st != 204


# --------------------------------------------------------------------------- the stock iexec CLI
def iexec(workdir, *args, timeout=60):
    env = dict(os.environ, HOME=str(workdir), NO_COLOR="1")
    return subprocess.run([str(IEXEC), *args, "--raw"], cwd=workdir, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def cli(sms, tmp_path_factory):
    if not IEXEC.exists():
        pytest.fail("the iexec CLI is not installed in tests/e2e/js: run `make deps`")
    d = tmp_path_factory.mktemp("iexec")
    chain = V["chain_json_example"]
    chain["chains"]["cloister"]["sms"] = f"http://127.0.0.1:{sms.sms_port}"
    (d / "chain.json").write_text(json.dumps(chain))
    p = iexec(d, "wallet", "import", CLI_KEY, "--password", "p", "--keystoredir", str(d / "ks"))
    assert p.returncode == 0, p.stdout + p.stderr
    return d


def wallet_args(d):
    return ["--password", "p", "--keystoredir", str(d / "ks"), "--chain", "cloister"]


def test_iexec_cli_push_and_check(cli, sms):
    p = iexec(cli, "requester", "push-secret", "x1", "--secret-value", "2", *wallet_args(cli))
    assert p.returncode == 0, p.stdout + p.stderr
    p = iexec(cli, "requester", "check-secret", "x1", *wallet_args(cli))
    assert p.returncode == 0 and json.loads(p.stdout)["isSet"] is True, p.stdout + p.stderr
    p = iexec(cli, "requester", "check-secret", "nosuch", *wallet_args(cli))
    assert p.returncode == 0 and json.loads(p.stdout)["isSet"] is False, p.stdout + p.stderr
    p = iexec(cli, "requester", "push-secret", "x1", "--secret-value", "3", *wallet_args(cli))
    assert p.returncode != 0 and "already exists" in (p.stdout + p.stderr), p.stdout + p.stderr


def test_iexec_cli_app_secret(cli, sms, tmp_path):
    """`iexec app push-secret|check-secret --tee-framework scone`: the owner's wallet (the
    CLI's) is accepted, another wallet refused and nothing stored (write-once: the raw
    HTTP test above, to keep this one short). With
    --tee-framework these commands only sign locally and call the SMS."""
    owner_app = deploy_owned_app(sms, int(CLI_KEY, 16))
    p = iexec(cli, "app", "push-secret", owner_app["Address"], "--tee-framework", "scone",
              "--secret-value", "1;1;1;1", *wallet_args(cli))
    assert p.returncode == 0, p.stdout + p.stderr
    p = iexec(cli, "app", "check-secret", owner_app["Address"], "--tee-framework", "scone",
              "--chain", "cloister")
    assert p.returncode == 0 and json.loads(p.stdout)["isSecretSet"] is True, p.stdout + p.stderr
    # another wallet: refused for an app it does not own
    other_app = deploy_owned_app(sms, int(CLI_KEY, 16))
    p = iexec(cli, "wallet", "import", "0x" + "33" * 32, "--password", "p", "--keystoredir",
              str(cli / "ks2"))
    assert p.returncode == 0, p.stdout + p.stderr
    p = iexec(cli, "app", "push-secret", other_app["Address"], "--tee-framework", "scone",
              "--secret-value", "3;3;3;3", "--password", "p", "--keystoredir", str(cli / "ks2"),
              "--chain", "cloister")
    assert p.returncode != 0 and "is not allowed" in p.stdout + p.stderr, p.stdout + p.stderr
    p = iexec(cli, "app", "check-secret", other_app["Address"], "--tee-framework", "scone",
              "--chain", "cloister")
    assert p.returncode == 0 and json.loads(p.stdout)["isSecretSet"] is False, p.stdout + p.stderr


def test_value_not_at_rest_in_clear(cli, sms):
    p = iexec(cli, "requester", "push-secret", "grepme", "--secret-value", GREP_VALUE,
              *wallet_args(cli))
    assert p.returncode == 0, p.stdout + p.stderr
    seen = set()
    for needle in (GREP_VALUE.encode(), APP_GREP_VALUE.encode()):
        for f in sms.data_dir.rglob("*"):
            if f.is_file():
                seen.add(f.name)
                assert needle not in f.read_bytes(), f"{f} holds the secret value in clear"
        for f in sms.log_dir.glob("serve-*"):
            assert needle not in f.read_bytes(), f"{f} logs the secret value"
    if PG_MODE:  # the meta store is in PostgreSQL: its items hold no clear value either
        raw = repr(meta_query(sms.data_dir, "SELECT kind, scope, name, doc FROM items")).encode()
        assert GREP_VALUE.encode() not in raw and APP_GREP_VALUE.encode() not in raw
    else:
        assert "meta.db" in seen, seen


def test_survives_restart(cli, sms):
    """Stored secrets persist (the sealing key is derived, not random per start)."""
    sms.restart()
    assert call(sms, "HEAD", req_path("x1"))[0] == 204
    p = iexec(cli, "requester", "check-secret", "grepme", *wallet_args(cli))
    assert p.returncode == 0 and json.loads(p.stdout)["isSet"] is True, p.stdout + p.stderr
