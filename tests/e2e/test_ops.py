"""Operating Cloister (docs/operations.md), on whichever meta store the pass
uses: /_cloister/health's shape (backend, database, the nodes it sees); a node
whose keys differ from the cluster's is refused and told why; `serve --blobs`
puts object bytes and app bundles in the shared directory; `cloister migrate`
refuses a data dir a server holds and a non-empty target, and its copy
verifies (counts and SHA-256 on both sides) — the SQLite -> SQLite case here,
PostgreSQL in test_pg_ops.py."""
import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import BIN, CloisterServer, free_port, http_get, uniq
from test_apps import make_app, run_app

try:  # PostgreSQL mode (conftest): a data dir's own database
    from conftest import meta_args
except ImportError:  # pragma: no cover - before the PostgreSQL mode exists
    def meta_args(data_dir):
        return []


def health(srv):
    status, headers, body = http_get(srv.endpoint + "/_cloister/health")
    return status, headers, json.loads(body)


def test_health_shape(server):
    status, headers, h = health(server)
    assert status == 200 and headers.get("Content-Type") == "application/json", (status, headers)
    assert h["status"] == "ok" and h["database"] == "ok", h
    assert h["backend"] in ("sqlite", "postgres"), h
    me = [n for n in h["nodes"] if n["id"].endswith(f"/127.0.0.1:{server.port}")]
    assert len(me) == 1, h
    assert set(me[0]) == {"id", "started", "last_seen", "version"}, me
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", me[0]["last_seen"]), me
    # the banner names the backend and the nodes it sees
    banner = server._out_path.read_text()
    assert re.search(r"^Meta store: (sqlite|postgres) .*; nodes: .*127\.0\.0\.1:%d" % server.port,
                     banner, re.M), banner


def serve_refused(srv):
    """Starts `cloister serve` on srv's data dir; returns (exit code, stderr)."""
    p = subprocess.run([str(BIN), "serve", "--data", str(srv.data_dir), "--listen",
                        f"127.0.0.1:{free_port()}", *meta_args(srv.data_dir), *srv.extra_args],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    return p.returncode, p.stderr


def test_node_with_other_keys_is_refused(make_server):
    a = make_server("ida")
    b = make_server("idb")
    assert a.stop() == 0 and b.stop() == 0
    keys = a.data_dir / "keys"
    mine = a.data_dir / "keys.mine"
    keys.rename(mine)
    try:
        # every key another installation's: the KMS root key is the first named
        shutil.copytree(b.data_dir / "keys", keys)
        rc, err = serve_refused(a)
        assert rc != 0 and "this node's KMS root key differs from the cluster's (set by " in err, err
        assert "copy DATA/keys from a running node (docs/operations.md)" in err, err
        # only the attestation root differs
        shutil.rmtree(keys)
        shutil.copytree(mine, keys)
        for f in ("attest-root.key", "attest-root.pem"):
            shutil.copy(b.data_dir / "keys" / f, keys / f)
        rc, err = serve_refused(a)
        assert rc != 0 and "attestation root differs from the cluster's" in err, err
        shutil.rmtree(keys)
    finally:
        if keys.exists():
            shutil.rmtree(keys)
        mine.rename(keys)
    a.start()  # its own keys again
    assert health(a)[0] == 200


def files_under(d):
    return [f for f in d.rglob("*") if f.is_file() and "tmp" not in f.relative_to(d).parts]


def test_serve_blobs_elsewhere(make_server, tmp_path):
    shared = tmp_path / "shared"
    srv = make_server("blobsdir", extra_args=["--blobs", str(shared)])
    o = srv.boto3_client("s3")
    bucket = uniq("blobs")
    o.create_bucket(Bucket=bucket)
    body = os.urandom(100_000)
    o.put_object(Bucket=bucket, Key="k", Body=body)
    assert files_under(shared / "blobs"), "no object bytes in --blobs DIR/blobs"
    assert not (srv.data_dir / "blobs").exists() or not files_under(srv.data_dir / "blobs")
    rc, a, err = run_app(srv, srv.admin_creds(), "deploy", str(make_app(tmp_path / "app")),
                         "--name", uniq("app"))
    assert rc == 0, err
    assert files_under(shared / "app-bundles"), "no app bundle in --blobs DIR/app-bundles"
    assert not (srv.data_dir / "app-bundles").exists() or not files_under(srv.data_dir / "app-bundles")
    srv.restart()
    assert srv.boto3_client("s3").get_object(Bucket=bucket, Key="k")["Body"].read() == body


def migrate(*args):
    p = subprocess.run([str(BIN), "migrate", *map(str, args)], capture_output=True, text=True,
                       timeout=120, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


@pytest.fixture
def sqlite_node(tmp_path):
    """A server whose meta store is SQLite whatever the pass (migrate's source)."""
    srv = CloisterServer(tmp_path / "src" / "data", tmp_path / "src")
    srv.data_dir.parent.mkdir(parents=True)
    srv.extra_args = ["--meta", f"sqlite:{srv.data_dir}/meta.db"]
    srv.start()
    yield srv
    assert srv.stop() in (0, None)


def test_migrate_refuses_a_held_data_dir(sqlite_node, tmp_path):
    rc, out, err = migrate("--from", sqlite_node.data_dir / "meta.db", "--to",
                           f"sqlite:{tmp_path}/target.db")
    assert rc != 0 and "held by a running cloister server: stop it first" in err, (out, err)
    assert not (tmp_path / "target.db").exists()


def test_migrate_copies_verifies_and_refuses_a_non_empty_target(sqlite_node, tmp_path):
    srv = sqlite_node
    iam = srv.boto3_client("iam")
    user = uniq("mig")
    iam.create_user(UserName=user)
    bucket = uniq("mig")
    srv.boto3_client("s3").create_bucket(Bucket=bucket)
    srv.boto3_client("s3").put_object(Bucket=bucket, Key="k", Body=b"migrated bytes")
    assert srv.stop() == 0
    target = tmp_path / "target.db"
    rc, out, err = migrate("--from", srv.data_dir / "meta.db", "--to", f"sqlite:{target}")
    assert rc == 0, (out, err)
    src = re.search(r"^source .*: (\d+) items, sha256 ([0-9a-f]{64})$", out, re.M)
    dst = re.search(r"^target .*: (\d+) items, sha256 ([0-9a-f]{64})$", out, re.M)
    assert src and dst and src.groups() == dst.groups() and int(src.group(1)) > 5, out
    assert re.search(r"^\s+user\s+(\d+)\s+\1$", out, re.M), out  # per-kind counts, both sides
    assert "verified" in out and f"--blobs {srv.data_dir}" in out, out
    # a second copy into the now non-empty target is refused; --force replaces
    rc, out2, err = migrate("--from", srv.data_dir / "meta.db", "--to", f"sqlite:{target}")
    assert rc != 0 and "is not empty" in err and "--force" in err, (out2, err)
    rc, out3, err = migrate("--from", srv.data_dir / "meta.db", "--to", f"sqlite:{target}",
                            "--force")
    assert rc == 0 and "replaced" in out3, (out3, err)
    # a node on the copy (blobs where they were) serves the same data
    srv.extra_args = ["--meta", f"sqlite:{target}", "--blobs", str(srv.data_dir)]
    srv.start()
    assert srv.boto3_client("iam").get_user(UserName=user)["User"]["UserName"] == user
    got = srv.boto3_client("s3").get_object(Bucket=bucket, Key="k")["Body"].read()
    assert got == b"migrated bytes"
