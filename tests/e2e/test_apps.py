"""Confidential apps (docs/apps.md): `cloister app deploy|show|list|delete|owner`
against a real server. The measurement is stable for an unchanged folder and
changes with a byte, a name or an exec bit; apps are same-account resources
(another account's principal naming one by ARN is denied); a user with no policy
is denied; the server accepts only canonical bundles."""
import base64
import io
import json
import os
import re
import subprocess
import tarfile
import urllib.error
import urllib.request

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import BIN, REGION, boto3_client, uniq
from eth_sign import address, app_address, owner_proof


def run_app(srv, creds, *args):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k != "CLOISTER_ENDPOINT"}
    env.update({"AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
                "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
                "AWS_DEFAULT_REGION": REGION, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    p = subprocess.run([str(BIN), "app", *args, "--endpoint", srv.endpoint],
                       capture_output=True, text=True, env=env, timeout=30)
    doc = json.loads(p.stdout) if p.returncode == 0 else None
    return p.returncode, doc, p.stderr


def signed_call(srv, creds, op, body):
    url = srv.endpoint + "/"
    data = json.dumps(body).encode()
    headers = {"X-Amz-Target": f"Cloister.{op}", "Content-Type": "application/x-amz-json-1.1"}
    req = AWSRequest(method="POST", url=url, data=data, headers=headers)
    SigV4Auth(Credentials(creds["AccessKeyId"], creds["SecretAccessKey"]), "cloister",
              REGION).add_auth(req)
    r = urllib.request.Request(url, data=data, method="POST", headers=dict(req.headers.items()))
    try:
        with urllib.request.urlopen(r, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.fixture(scope="module")
def world(server):
    owner = server.admin_creds()
    rc, b, out, err = server.account_create(uniq("apps-b"))
    assert rc == 0, out + err
    other = {"AccessKeyId": b["AccessKeyId"], "SecretAccessKey": b["SecretAccessKey"]}
    iam = boto3_client(server.endpoint, "iam", owner)
    user = uniq("apps-nopolicy")
    iam.create_user(UserName=user)
    k = iam.create_access_key(UserName=user)["AccessKey"]
    nopol = {"AccessKeyId": k["AccessKeyId"], "SecretAccessKey": k["SecretAccessKey"]}
    return server, owner, other, nopol


def bundle_blobs(srv):
    root = srv.data_dir / "app-bundles"
    return [f for f in root.rglob("*") if f.is_file() and f.relative_to(root).parts[0] != "tmp"]


def make_app(path):
    (path / "src").mkdir(parents=True)
    (path / "run").write_text("#!/bin/sh\necho hello\n")
    (path / "run").chmod(0o755)
    (path / "src" / "app.js").write_text("console.log('hi')\n")
    (path / "data.txt").write_bytes(b"\x00\x01payload")
    return path


def test_deploy_measure_show_list_delete(world, tmp_path):
    srv, owner, _, _ = world
    d = make_app(tmp_path / "app")
    name = uniq("app")
    rc, a, err = run_app(srv, owner, "deploy", str(d), "--name", name)
    assert rc == 0, err
    assert re.fullmatch(rf"arn:aws:cloister:{REGION}:\d{{12}}:app/{name}", a["Arn"]), a
    assert re.fullmatch(r"0x[0-9a-f]{40}", a["Address"]), a
    assert re.fullmatch(r"[0-9a-f]{96}", a["Measurement"]), a
    # unchanged folder (touched, different mtime) -> same measurement and address
    os.utime(d / "data.txt", (1, 1))
    rc, a2, err = run_app(srv, owner, "deploy", str(d), "--name", name)
    assert rc == 0 and a2 == a, err
    seen = {a["Measurement"]}
    (d / "data.txt").write_bytes(b"\x00\x01paylo4d")  # one byte
    rc, a3, err = run_app(srv, owner, "deploy", str(d), "--name", name)
    assert rc == 0 and a3["Measurement"] not in seen and a3["Address"] == a["Address"], err
    seen.add(a3["Measurement"])
    (d / "run").chmod(0o644)  # exec bit
    rc, a4, err = run_app(srv, owner, "deploy", str(d), "--name", name)
    assert rc == 0 and a4["Measurement"] not in seen, err
    seen.add(a4["Measurement"])
    rc, a5, err = run_app(srv, owner, "deploy", str(d), "--name", name, "--entrypoint",
                          "node /app/src/app.js", "--manifest", '{"network": false}')
    assert rc == 0 and a5["Measurement"] not in seen, err
    rc, shown, err = run_app(srv, owner, "show", name)
    assert rc == 0, err
    app = shown["App"]
    assert app["Measurement"] == a5["Measurement"] and app["Entrypoint"] == "node /app/src/app.js"
    assert app["Manifest"] == {"network": False} and "BundleBlob" not in app
    rc, listed, err = run_app(srv, owner, "list")
    assert rc == 0 and name in [x["Name"] for x in listed["Apps"]], err
    # one bundle blob stored for the app (replaced ones are deleted)
    blobs = bundle_blobs(srv)
    rc, _, err = run_app(srv, owner, "delete", name)
    assert rc == 0, err
    after = bundle_blobs(srv)
    assert len(after) == len(blobs) - 1
    rc, _, err = run_app(srv, owner, "show", name)
    assert rc == 1 and "ResourceNotFoundException" in err


def test_other_account_and_no_policy_user_are_denied(world, tmp_path):
    srv, owner, other, nopol = world
    d = make_app(tmp_path / "app")
    name = uniq("app")
    rc, a, err = run_app(srv, owner, "deploy", str(d), "--name", name)
    assert rc == 0, err
    for op in ("show", "delete"):
        rc, _, err = run_app(srv, other, op, a["Arn"])
        assert rc == 1 and "AccessDeniedException" in err, err
    rc, _, err = run_app(srv, other, "owner", a["Arn"], "--address", "0x" + "ab" * 20,
                         "--signature", "0x" + "00" * 65)
    assert rc == 1 and "AccessDeniedException" in err, err
    rc, _, err = run_app(srv, other, "show", name)  # the name in its own account: none
    assert rc == 1 and "ResourceNotFoundException" in err, err
    rc, listed, err = run_app(srv, other, "list")
    assert rc == 0 and all(x["Name"] != name for x in listed["Apps"]), err
    for args in (("deploy", str(d), "--name", uniq("app")), ("show", name), ("list",),
                 ("delete", name)):
        rc, _, err = run_app(srv, nopol, *args)
        assert rc == 1 and "AccessDeniedException" in err, (args, err)
    rc, shown, err = run_app(srv, owner, "show", name)
    assert rc == 0 and shown["App"]["Measurement"] == a["Measurement"], err


def test_owner_proved_by_signature(world, tmp_path):
    srv, owner, _, _ = world
    name = uniq("app")
    rc, a, err = run_app(srv, owner, "deploy", str(make_app(tmp_path / "a")), "--name", name)
    assert rc == 0, err
    acct = a["Arn"].split(":")[4]
    assert a["Address"] == app_address(acct, name)  # the documented rule, computed here
    key, other_key = 0x1111 * 17, 0x2222 * 17
    proof = owner_proof(key, a["Address"])
    addr_mixed = "0x" + proof["Owner"][2:].upper()
    # without a signature, or signed by another key, or for another app: refused
    rc, _, err = run_app(srv, owner, "owner", name, "--address", addr_mixed)
    assert rc == 1 and "ValidationException" in err and "is required" in err, err
    bad = owner_proof(other_key, a["Address"])["Signature"]
    rc, _, err = run_app(srv, owner, "owner", name, "--address", addr_mixed, "--signature", bad)
    assert rc == 1 and "another address" in err, err
    other_app = owner_proof(key, app_address(acct, name + "x"))["Signature"]
    rc, _, err = run_app(srv, owner, "owner", name, "--address", addr_mixed, "--signature",
                         other_app)
    assert rc == 1 and "another address" in err, err
    rc, _, err = run_app(srv, owner, "owner", name, "--address", "0x1234", "--signature", bad)
    assert rc == 1 and "ValidationException" in err
    rc, out, err = run_app(srv, owner, "owner", name, "--address", addr_mixed, "--signature",
                           proof["Signature"])
    assert rc == 0 and out["Owner"] == address(key), err
    rc, shown, _ = run_app(srv, owner, "show", name)
    assert shown["App"]["Owner"] == address(key)
    # a re-deploy keeps the recorded owner
    rc, _, err = run_app(srv, owner, "deploy", str(tmp_path / "a"), "--name", name)
    rc, shown, _ = run_app(srv, owner, "show", name)
    assert shown["App"]["Owner"] == address(key)


def test_refused_inputs(world, tmp_path):
    srv, owner, _, _ = world
    d = make_app(tmp_path / "app")
    os.symlink("/etc/passwd", d / "link")
    rc, _, err = run_app(srv, owner, "deploy", str(d), "--name", uniq("app"))
    assert rc == 1 and "symbolic links are refused" in err, err
    os.unlink(d / "link")
    rc, _, err = run_app(srv, owner, "deploy", str(d), "--name", "bad/name")
    assert rc == 2
    # a bundle that is a valid tar but not canonical (real uid, mtime) is refused
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.USTAR_FORMAT) as t:
        t.add(d / "run", arcname="run")
    body = {"Name": uniq("app"), "Entrypoint": "/app/run",
            "Bundle": base64.b64encode(bio.getvalue()).decode()}
    st, ans = signed_call(srv, owner, "CreateApp", body)
    assert st == 400 and ans["__type"].endswith("ValidationException"), ans
    body["Bundle"] = base64.b64encode(b"\0" * 1024).decode()  # empty canonical bundle
    st, ans = signed_call(srv, owner, "CreateApp", dict(body, Manifest='{"gpu": true}'))
    assert st == 400 and "unknown field" in ans["message"], ans
    st, ans = signed_call(srv, owner, "CreateApp", dict(body, Name="x" * 65))
    assert st == 400 and ans["__type"].endswith("ValidationException"), ans
    st, ans = signed_call(srv, owner, "CreateApp", body)
    assert st == 200 and re.fullmatch(r"[0-9a-f]{96}", ans["Measurement"]), ans


def test_large_unsigned_body_hash_gets_a_json_413(world):
    """A JSON-protocol body over the pre-authentication limit (1 MiB) whose signature does
    not cover x-amz-content-sha256 is refused before it is read; the answer is a JSON
    error that says how to send it (the cloister CLI signs the header, so it deploys large
    bundles: test_runs.py::test_static_c_app)."""
    import socket
    srv, owner, _, _ = world
    big = base64.b64encode(b"\0" * (1100 * 1024)).decode()
    data = json.dumps({"Name": uniq("big"), "Entrypoint": "/app/run", "Bundle": big}).encode()
    req = AWSRequest(method="POST", url=srv.endpoint + "/", data=data,
                     headers={"X-Amz-Target": "Cloister.CreateApp",
                              "Content-Type": "application/x-amz-json-1.1"})
    SigV4Auth(Credentials(owner["AccessKeyId"], owner["SecretAccessKey"]), "cloister",
              REGION).add_auth(req)
    head = "POST / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: %d\r\n" % (
        srv.port, len(data))
    head += "".join(f"{k}: {v}\r\n" for k, v in req.headers.items() if k.lower() != "host")
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    s.sendall((head + "\r\n").encode())
    try:
        s.sendall(data)  # the server may answer and close before reading it
    except OSError:
        pass
    resp = b""
    try:
        while chunk := s.recv(65536):
            resp += chunk
    except OSError:
        pass
    s.close()
    status = int(resp.split(b" ", 2)[1])
    body = json.loads(resp.partition(b"\r\n\r\n")[2])
    assert status == 413 and body["__type"] == "EntityTooLarge", resp[:400]
    assert "x-amz-content-sha256" in body["message"], body
