"""The secret service's Cloister API (docs/secrets.md): `cloister secret push|check`,
`cloister app secret push|check`, `cloister wallet challenge|link|show|unlink`,
against a real server. Secrets are write-once, owned by the calling principal, kept
in two namespaces (production / debug), never returned by any operation and never
logged; app secrets are the app owner account's only; a wallet link needs a
signature by the linked address over a challenge naming the principal."""
import json
import os
import re
import subprocess

import pytest

from conftest import BIN, REGION, new_user, uniq
from eth_sign import address, keccak256, personal_sign
from test_apps import signed_call

EMPTY_BUNDLE = "A" * 1366 + "=="  # the canonical empty bundle, base64
VALUES = ["zq-api-secret-value-4821", "zq-api-debug-value-9917", "zq-api-app-value-3306",
          "zq-api-stdin-value-5150"]


def run_cli(srv, creds, *args, stdin=None):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k != "CLOISTER_ENDPOINT"}
    env.update({"AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
                "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
                "AWS_DEFAULT_REGION": REGION, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    p = subprocess.run([str(BIN), *args, "--endpoint", srv.endpoint], capture_output=True,
                       text=True, env=env, timeout=30, input=stdin)
    return p.returncode, p.stdout, p.stderr


@pytest.fixture(scope="module")
def world(server):
    admin = server.admin_creds()
    rc, b, out, err = server.account_create(uniq("sec-b"))
    assert rc == 0, out + err
    other = {"AccessKeyId": b["AccessKeyId"], "SecretAccessKey": b["SecretAccessKey"]}
    allow = {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Action": "cloister:*", "Resource": "*"}]}
    user, _ = new_user(server, uniq("sec-user"), allow)
    nopol, _ = new_user(server, uniq("sec-nopolicy"))
    return server, admin, other, user, nopol


def test_push_check_write_once_never_returned(world):
    srv, admin, _, _, _ = world
    name = uniq("s").replace("-", "_")
    rc, out, err = run_cli(srv, admin, "secret", "check", name)
    assert rc == 1 and "not set" in out, out + err
    rc, out, err = run_cli(srv, admin, "secret", "push", name, "--value", VALUES[0])
    assert rc == 0 and VALUES[0] not in out + err, out + err
    rc, out, err = run_cli(srv, admin, "secret", "check", name)
    assert rc == 0 and "exists" in out and VALUES[0] not in out, out + err
    rc, out, err = run_cli(srv, admin, "secret", "push", name, "--value", "other")
    assert rc == 1 and "(HTTP 409): ResourceExistsException" in err, err
    st, ans = signed_call(srv, admin, "DescribeSecret", {"Name": name})
    assert st == 200 and set(ans) == {"Name", "Debug", "Created"} and ans["Debug"] is False, ans
    assert VALUES[0] not in json.dumps(ans)
    st, ans = signed_call(srv, admin, "PutSecret", {"Name": name, "Value": "x"})
    assert st == 409 and ans["__type"].endswith("ResourceExistsException"), ans
    # from standard input, one trailing newline dropped
    name2 = uniq("stdin")
    rc, out, err = run_cli(srv, admin, "secret", "push", name2, stdin=VALUES[3] + "\n")
    assert rc == 0 and VALUES[3] not in out + err, out + err
    rc, out, err = run_cli(srv, admin, "secret", "check", name2)
    assert rc == 0, out + err


def test_debug_and_production_are_separate(world):
    srv, admin, _, _, _ = world
    name = uniq("dbg")
    rc, out, err = run_cli(srv, admin, "secret", "push", name, "--value", VALUES[1], "--debug")
    assert rc == 0, err
    rc, out, _ = run_cli(srv, admin, "secret", "check", name)
    assert rc == 1 and "production secret not set" in out, out
    rc, out, _ = run_cli(srv, admin, "secret", "check", name, "--debug")
    assert rc == 0 and "debug secret exists" in out, out
    st, ans = signed_call(srv, admin, "DescribeSecret", {"Name": name, "Debug": True})
    assert st == 200 and ans["Debug"] is True, ans
    rc, _, err = run_cli(srv, admin, "secret", "push", name, "--value", "prod")
    assert rc == 0, err  # the production name is free
    rc, _, err = run_cli(srv, admin, "secret", "push", name, "--value", "again", "--debug")
    assert rc == 1 and "ResourceExistsException" in err, err


def test_validation(world):
    srv, admin, _, _, _ = world
    for body, needle in [({"Name": "bad.name", "Value": "1"}, "[A-Za-z0-9_-]{1,64}"),
                         ({"Name": "x" * 65, "Value": "1"}, "[A-Za-z0-9_-]{1,64}"),
                         ({"Value": "1"}, "Name is required"),
                         ({"Name": uniq("v"), "Value": "v" * 4097}, "4096"),
                         ({"Name": uniq("v")}, "Value is required"),
                         ({"Name": uniq("v"), "Value": "1", "Debug": "yes"}, "boolean")]:
        st, ans = signed_call(srv, admin, "PutSecret", body)
        assert st == 400 and ans["__type"].endswith("ValidationException"), (body, ans)
        assert needle in ans["message"], (body, ans)
    st, ans = signed_call(srv, admin, "PutSecret", {"Name": uniq("v4096"), "Value": "v" * 4096})
    assert st == 200, ans
    st, ans = signed_call(srv, admin, "DescribeSecret", {"Name": "nosuch"})
    assert st == 404 and ans["__type"].endswith("ResourceNotFoundException"), ans
    assert ans["message"] == "Secret not found: nosuch", ans


def test_secrets_belong_to_the_principal(world):
    srv, admin, other, user, nopol = world
    name = uniq("mine")
    st, _ = signed_call(srv, user, "PutSecret", {"Name": name, "Value": "u"})
    assert st == 200
    for creds in (admin, other):  # same account's admin, another account: not theirs
        st, ans = signed_call(srv, creds, "DescribeSecret", {"Name": name})
        assert st == 404 and ans["__type"].endswith("ResourceNotFoundException"), ans
    st, _ = signed_call(srv, other, "PutSecret", {"Name": name, "Value": "b"})
    assert st == 200  # another principal's namespace
    for op in ("PutSecret", "DescribeSecret"):
        st, ans = signed_call(srv, nopol, op, {"Name": name, "Value": "n"})
        assert st == 403 and ans["__type"].endswith("AccessDeniedException"), ans
        assert f"cloister:{op}" in ans["message"] and f":secret/{name}" in ans["message"], ans
    rc, _, err = run_cli(srv, nopol, "secret", "push", uniq("n"), "--value", "1")
    assert rc == 1 and "AccessDeniedException" in err, err


def caller_identity(srv, creds):
    return srv.boto3_client("sts", creds).get_caller_identity()


def test_wallet_link(world):
    srv, _, _, user, nopol = world
    key, other_key = 0x5151 * 13, 0x6161 * 13
    addr = address(key)
    rc, out, err = run_cli(srv, user, "wallet", "show")
    assert rc == 1 and "ResourceNotFoundException" in err, err
    rc, out, err = run_cli(srv, user, "wallet", "challenge", addr.upper().replace("0X", "0x"))
    assert rc == 0, err
    challenge = out.strip()
    rc, _, err = run_cli(srv, user, "wallet", "challenge", "0x1234")
    assert rc == 1 and "ValidationException" in err and "40 hex" in err, err
    ident = caller_identity(srv, user)
    want = keccak256(b"cloister-wallet-link" + ident["Account"].encode() +
                     ident["UserId"].encode() + bytes.fromhex(addr[2:]))
    assert challenge == "0x" + want.hex()  # the documented rule, computed here
    ch = bytes.fromhex(challenge[2:])
    # signed by another key, over another principal's challenge, or malformed: refused
    rc, _, err = run_cli(srv, user, "wallet", "link", addr, "--signature",
                         personal_sign(other_key, ch))
    assert rc == 1 and "another address" in err, err
    admin_ident = caller_identity(srv, world[1])
    foreign = keccak256(b"cloister-wallet-link" + admin_ident["Account"].encode() +
                        admin_ident["UserId"].encode() + bytes.fromhex(addr[2:]))
    rc, _, err = run_cli(srv, user, "wallet", "link", addr, "--signature",
                         personal_sign(key, foreign))
    assert rc == 1 and "another address" in err, err
    rc, _, err = run_cli(srv, user, "wallet", "link", addr, "--signature", "0x1234")
    assert rc == 1 and "malformed" in err, err
    rc, out, err = run_cli(srv, user, "wallet", "show")
    assert rc == 1 and "ResourceNotFoundException" in err, err
    rc, out, err = run_cli(srv, user, "wallet", "link", addr, "--signature",
                           personal_sign(key, ch))
    assert rc == 0 and json.loads(out)["Address"] == addr, out + err
    rc, out, err = run_cli(srv, user, "wallet", "show")
    assert rc == 0 and json.loads(out) == {"Address": addr}, out + err
    # one address per principal: a new link replaces it
    addr2 = address(other_key)
    _, ch2, _ = run_cli(srv, user, "wallet", "challenge", addr2)
    rc, _, err = run_cli(srv, user, "wallet", "link", addr2, "--signature",
                         personal_sign(other_key, bytes.fromhex(ch2.strip()[2:])))
    assert rc == 0, err
    rc, out, _ = run_cli(srv, user, "wallet", "show")
    assert json.loads(out) == {"Address": addr2}
    rc, _, err = run_cli(srv, user, "wallet", "unlink")
    assert rc == 0, err
    rc, _, err = run_cli(srv, user, "wallet", "show")
    assert rc == 1 and "ResourceNotFoundException" in err, err
    for args in (("wallet", "show"), ("wallet", "challenge", addr), ("wallet", "unlink")):
        rc, _, err = run_cli(srv, nopol, *args)
        assert rc == 1 and "AccessDeniedException" in err, (args, err)


def test_app_secret(world):
    srv, admin, other, _, nopol = world
    name = uniq("app")
    st, app = signed_call(srv, admin, "CreateApp",
                          {"Name": name, "Entrypoint": "/app/run", "Bundle": EMPTY_BUNDLE})
    assert st == 200, app
    rc, out, _ = run_cli(srv, admin, "app", "secret", "check", name)
    assert rc == 1 and "not set" in out
    rc, out, err = run_cli(srv, admin, "app", "secret", "push", name, "--value", VALUES[2])
    assert rc == 0 and VALUES[2] not in out + err, out + err
    rc, out, err = run_cli(srv, admin, "app", "secret", "check", app["Arn"])
    assert rc == 0 and "production secret exists" in out, out + err
    rc, _, err = run_cli(srv, admin, "app", "secret", "push", name, "--value", "again")
    assert rc == 1 and "ResourceExistsException" in err, err
    rc, out, _ = run_cli(srv, admin, "app", "secret", "check", name, "--debug")
    assert rc == 1 and "debug secret not set" in out
    rc, _, err = run_cli(srv, admin, "app", "secret", "push", name, "--value", "d", "--debug")
    assert rc == 0, err
    st, ans = signed_call(srv, admin, "DescribeAppSecret", {"App": name})
    assert st == 200 and ans["App"] == app["Arn"] and VALUES[2] not in json.dumps(ans), ans
    # another account (by ARN) and a user without policy: refused, nothing stored
    for creds in (other, nopol):
        for op in ("push", "check"):
            rc, _, err = run_cli(srv, creds, "app", "secret", op, app["Arn"], "--value", "x",
                                 "--debug") if op == "push" else run_cli(
                srv, creds, "app", "secret", op, app["Arn"])
            assert rc == 1 and "AccessDeniedException" in err, (op, err)
    st, ans = signed_call(srv, admin, "PutAppSecret", {"App": uniq("nosuch"), "Value": "1"})
    assert st == 404 and ans["__type"].endswith("ResourceNotFoundException"), ans
    st, ans = signed_call(srv, admin, "PutAppSecret", {"Name": name, "Value": "1"})
    assert st == 400 and "App is required" in ans["message"], ans
    # a deleted app takes its secrets along: a new app of that name starts without one
    st, _ = signed_call(srv, admin, "DeleteApp", {"Name": name})
    assert st == 200
    st, app2 = signed_call(srv, admin, "CreateApp",
                           {"Name": name, "Entrypoint": "/app/run", "Bundle": EMPTY_BUNDLE})
    assert st == 200 and app2["Address"] == app["Address"], app2
    for debug in (False, True):
        st, ans = signed_call(srv, admin, "DescribeAppSecret", {"App": name, "Debug": debug})
        assert st == 404, ans


def test_values_never_logged_nor_in_clear(world):
    srv, *_ = world
    needles = [v.encode() for v in VALUES]
    logs = list(srv.log_dir.glob("serve-*"))
    assert logs
    for f in logs + [p for p in srv.data_dir.rglob("*") if p.is_file()]:
        data = f.read_bytes()
        for n in needles:
            assert n not in data, f"{f} holds a secret value"
