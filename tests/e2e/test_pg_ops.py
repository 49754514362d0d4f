"""Operating on PostgreSQL (docs/operations.md), with a throwaway cluster of
the test's own (tests/pgtmp.py): `cloister migrate` moves a SQLite
installation (users, roles, policies, buckets, SSE-KMS and SSE-S3 objects, KMS
keys) into PostgreSQL, verified on both sides; two nodes then serve it with
--blobs pointing at the old blobs: every object decrypts on both, a role made
before the move is assumed on one node and used on the other. With the
database stopped, health and requests answer 503 fast (not 403: an access key
that cannot be looked up is not an unknown key), and service resumes by itself
when it is back. Skipped when the binary has no PostgreSQL backend."""
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import BIN, CloisterServer, boto3_client, client_error, http_get, uniq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pgtmp import PgCluster  # noqa: E402


@pytest.fixture(scope="module")
def pg():
    try:  # in a directory of its own under /tmp (the postgres user must reach it)
        c = PgCluster().start()
    except Exception as e:  # noqa: BLE001 - no PostgreSQL here
        pytest.skip(f"cannot start a PostgreSQL cluster: {e}")
    probe = Path(c.root) / "probe.db"
    probe.write_bytes(b"")
    p = subprocess.run([str(BIN), "migrate", "--from", str(probe), "--to", c.create_db("probe")],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        c.destroy()
        pytest.skip(f"this cloister has no PostgreSQL backend yet: {p.stderr.strip()[:200]}")
    yield c
    c.destroy()


def node(base, name, meta, blobs, keys_from=None):
    """A server on `meta`; keys_from: a data dir whose keys/ and credentials it copies."""
    srv = CloisterServer(base / name / "data", base / name)
    srv.data_dir.mkdir(parents=True, exist_ok=True)
    if keys_from is not None:
        shutil.copytree(keys_from / "keys", srv.data_dir / "keys")
        shutil.copy(keys_from / "credentials", srv.data_dir / "credentials")
    srv.extra_args = ["--meta", meta, "--blobs", str(blobs)]
    return srv


def seed(srv):
    """Users, a role, policies, a bucket, KMS keys and encrypted objects."""
    iam, s3, kms = (srv.boto3_client(s) for s in ("iam", "s3", "kms"))
    user = uniq("pgmig")
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="all", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["sts:AssumeRole", "s3:*", "kms:*"],
                       "Resource": "*"}]}))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    account = srv.boto3_client("sts").get_caller_identity()["Account"]
    role = iam.create_role(RoleName=uniq("pgrole"), AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                       "Action": "sts:AssumeRole"}]}))["Role"]
    iam.put_role_policy(RoleName=role["RoleName"], PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "kms:*"],
                       "Resource": "*"}]}))
    kid = kms.create_key()["KeyMetadata"]["KeyId"]
    bucket = uniq("pgmig")
    s3.create_bucket(Bucket=bucket)
    objects = {}
    for i in range(4):
        body = os.urandom(3000 + i * 70_000)
        s3.put_object(Bucket=bucket, Key=f"kms/{i}", Body=body, ServerSideEncryption="aws:kms",
                      SSEKMSKeyId=kid)
        objects[f"kms/{i}"] = body
    objects["s3"] = os.urandom(5000)
    s3.put_object(Bucket=bucket, Key="s3", Body=objects["s3"], ServerSideEncryption="AES256")
    blob = kms.encrypt(KeyId=kid, Plaintext=b"sealed before the move")["CiphertextBlob"]
    creds = {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}
    return {"user": user, "creds": creds, "role": role["Arn"], "bucket": bucket,
            "objects": objects, "blob": blob, "key": kid}


def test_migrate_round_trip_then_two_nodes(pg, tmp_path):
    src = CloisterServer(tmp_path / "old" / "data", tmp_path / "old")
    src.data_dir.parent.mkdir(parents=True)
    src.extra_args = ["--meta", f"sqlite:{src.data_dir}/meta.db"]
    src.start()
    try:
        w = seed(src)
    finally:
        assert src.stop() == 0
    url = pg.create_db("migrated")
    p = subprocess.run([str(BIN), "migrate", "--from", str(src.data_dir / "meta.db"), "--to", url],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    a = re.search(r"^source .*: (\d+) items, sha256 ([0-9a-f]{64})$", p.stdout, re.M)
    b = re.search(r"^target\s+postgres 127\.0\.0\.1:\d+/migrated: (\d+) items, sha256 ([0-9a-f]{64})$",
                  p.stdout, re.M)
    assert a and b and a.groups() == b.groups(), p.stdout
    assert "postgres@" not in p.stdout  # the URL's user part is never printed
    # node 1 on the old data dir, node 2 fresh with copied keys; blobs where they were
    n1 = node(tmp_path, "n1", url, src.data_dir)
    n1.data_dir = src.data_dir
    n2 = node(tmp_path, "n2", url, src.data_dir, keys_from=src.data_dir)
    n1.start()
    try:
        n2.start()
        try:
            for srv in (n1, n2):
                h = json.loads(http_get(srv.endpoint + "/_cloister/health")[2])
                assert h["backend"] == "postgres" and h["database"] == "ok", h
                for k, body in w["objects"].items():
                    got = srv.boto3_client("s3").get_object(Bucket=w["bucket"], Key=k)
                    assert got["Body"].read() == body, (srv.endpoint, k)
                kms = srv.boto3_client("kms")
                assert kms.decrypt(CiphertextBlob=w["blob"])["Plaintext"] == b"sealed before the move"
            ids = {n["id"] for n in json.loads(http_get(n1.endpoint + "/_cloister/health")[2])["nodes"]}
            assert any(i.endswith(f"127.0.0.1:{n2.port}") for i in ids), ids
            # the seed flow across nodes: role assumed on node 2, used on node 1, read on node 2
            sts = boto3_client(n2.endpoint, "sts", w["creds"])
            rc = sts.assume_role(RoleArn=w["role"], RoleSessionName="moved")["Credentials"]
            sess = {"AccessKeyId": rc["AccessKeyId"], "SecretAccessKey": rc["SecretAccessKey"],
                    "SessionToken": rc["SessionToken"]}
            boto3_client(n1.endpoint, "s3", sess).put_object(
                Bucket=w["bucket"], Key="after", Body=b"after the move", ServerSideEncryption="aws:kms",
                SSEKMSKeyId=w["key"])
            got = boto3_client(n2.endpoint, "s3", sess).get_object(Bucket=w["bucket"], Key="after")
            assert got["Body"].read() == b"after the move"
        finally:
            assert n2.stop() == 0
    finally:
        assert n1.stop() == 0


def test_database_down_is_503_and_service_resumes(pg, tmp_path):
    url = pg.create_db("outage")
    srv = node(tmp_path, "solo", url, tmp_path / "solo" / "blobs")
    srv.extra_args += ["--meta-timeout", "2000"]
    srv.start()
    try:
        s3 = srv.boto3_client("s3", read_timeout=30)
        bucket = uniq("outage")
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="k", Body=b"kept")
        pg.stop()
        try:
            t = time.monotonic()
            status, headers, body = http_get(srv.endpoint + "/_cloister/health", timeout=15)
            assert status == 503 and headers.get("Retry-After") == "1", (status, body)
            h = json.loads(body)
            assert h["status"] == "unavailable" and h["database"] == "unreachable", h
            assert time.monotonic() - t < 10
            calls = [(lambda: s3.get_object(Bucket=bucket, Key="k"), "s3"),
                     (lambda: s3.put_object(Bucket=bucket, Key="new", Body=b"x"), "s3"),
                     (lambda: srv.boto3_client("iam", read_timeout=30).list_users(), "iam"),
                     (lambda: srv.boto3_client("kms", read_timeout=30).list_keys(), "kms")]
            for call, svc in calls:
                t = time.monotonic()
                with pytest.raises(ClientError) as e:
                    call()
                code, status, _ = client_error(e.value)
                assert (code, status) == ("ServiceUnavailable", 503), (svc, code, status)
                assert time.monotonic() - t < 15, svc
        finally:
            pg.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if http_get(srv.endpoint + "/_cloister/health", timeout=10)[0] == 200:
                break
            time.sleep(0.2)
        assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"kept"
        with pytest.raises(ClientError) as e:  # nothing of the refused PUT was kept
            s3.head_object(Bucket=bucket, Key="new")
        assert client_error(e.value)[1] == 404
    finally:
        assert srv.stop() == 0
