"""Issue 10 item 7: concurrent writers of different settings of one document
(a bucket, a KMS key, an IAM role) must never undo each other's acknowledged
change. Each round starts several writers at once (a barrier), each changing a
different setting; once all have answered, every acknowledged change must be
there. Before the fix each writer saved back its whole cached copy of the
document, so the last one silently reverted the others.

Bounded: a fixed number of rounds, three or four requests each, loopback only.
"""
import json
import threading

import pytest
from botocore.exceptions import ClientError

from conftest import uniq

ROUNDS = int(__import__("os").environ.get("LOST_ROUNDS", "30"))


def run_together(fns):
    """Runs fns at the same instant (one thread each); returns their results
    (an exception instance when one raised)."""
    barrier = threading.Barrier(len(fns))
    out = [None] * len(fns)

    def one(i, fn):
        barrier.wait()
        try:
            out[i] = fn()
        except Exception as e:  # reported, not swallowed: the test checks
            out[i] = e

    threads = [threading.Thread(target=one, args=(i, f)) for i, f in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for r in out:
        if isinstance(r, Exception):
            raise r
    return out


@pytest.fixture(scope="module")
def admin(server):
    return server.admin_creds()


def account_of(server):
    sts = server.boto3_client("sts")
    return sts.get_caller_identity()["Account"]


def test_bucket_settings_concurrent_writers_lose_nothing(server):
    acct = account_of(server)
    clients = [server.boto3_client("s3") for _ in range(4)]
    s3 = clients[0]
    b = uniq("lost-upd")
    s3.create_bucket(Bucket=b)
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{acct}:root"},
        "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{b}/*"}]})
    enc = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
    pab = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False,
           "RestrictPublicBuckets": True}
    for rnd in range(ROUNDS):
        # known start: a policy, no encryption setting, no PAB
        s3.put_bucket_policy(Bucket=b, Policy=policy)
        s3.delete_bucket_encryption(Bucket=b)
        s3.delete_public_access_block(Bucket=b)
        run_together([
            lambda: clients[1].put_bucket_encryption(
                Bucket=b, ServerSideEncryptionConfiguration=enc),
            lambda: clients[2].delete_bucket_policy(Bucket=b),
            lambda: clients[3].put_public_access_block(
                Bucket=b, PublicAccessBlockConfiguration=pab),
        ])
        with pytest.raises(ClientError) as ei:
            s3.get_bucket_policy(Bucket=b)
        assert ei.value.response["Error"]["Code"] == "NoSuchBucketPolicy", \
            f"round {rnd}: the acknowledged DeleteBucketPolicy was undone"
        got = s3.get_bucket_encryption(Bucket=b)["ServerSideEncryptionConfiguration"]
        assert got["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256", rnd
        assert s3.get_public_access_block(Bucket=b)["PublicAccessBlockConfiguration"] == pab, rnd
    s3.delete_bucket(Bucket=b)


def test_kms_key_concurrent_writers_lose_nothing(server):
    acct = account_of(server)
    clients = [server.boto3_client("kms") for _ in range(4)]
    kms = clients[0]
    key = kms.create_key(Description="start")["KeyMetadata"]["KeyId"]

    def policy(sid):
        return json.dumps({"Version": "2012-10-17", "Statement": [{
            "Sid": sid, "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{acct}:root"},
            "Action": "kms:*", "Resource": "*"}]})

    for rnd in range(ROUNDS):
        rotate = rnd % 2 == 0
        if rotate:
            kms.disable_key_rotation(KeyId=key)
        else:
            kms.enable_key_rotation(KeyId=key)
        sid, desc = f"round{rnd}", f"description {rnd}"
        run_together([
            lambda: clients[1].put_key_policy(KeyId=key, PolicyName="default", Policy=policy(sid)),
            lambda: clients[2].update_key_description(KeyId=key, Description=desc),
            lambda: (clients[3].enable_key_rotation(KeyId=key) if rotate
                     else clients[3].disable_key_rotation(KeyId=key)),
        ])
        got = json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
        assert got["Statement"][0]["Sid"] == sid, f"round {rnd}: PutKeyPolicy was undone"
        assert kms.describe_key(KeyId=key)["KeyMetadata"]["Description"] == desc, rnd
        assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] == rotate, rnd


def test_role_concurrent_writers_lose_nothing(server):
    acct = account_of(server)
    clients = [server.boto3_client("iam") for _ in range(4)]
    iam = clients[0]
    role = uniq("lost-upd-role")

    def trust(sid):
        return json.dumps({"Version": "2012-10-17", "Statement": [{
            "Sid": sid, "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{acct}:root"},
            "Action": "sts:AssumeRole"}]})

    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust("start"))
    try:
        for rnd in range(ROUNDS):
            sid, desc, dur = f"round{rnd}", f"description {rnd}", 3600 + 60 * (rnd + 1)
            run_together([
                lambda: clients[1].update_assume_role_policy(RoleName=role,
                                                             PolicyDocument=trust(sid)),
                lambda: clients[2].update_role(RoleName=role, Description=desc),
                lambda: clients[3].update_role(RoleName=role, MaxSessionDuration=dur),
            ])
            r = iam.get_role(RoleName=role)["Role"]
            doc = r["AssumeRolePolicyDocument"]
            if isinstance(doc, str):
                doc = json.loads(doc)
            assert doc["Statement"][0]["Sid"] == sid, f"round {rnd}: trust policy change undone"
            assert r.get("Description") == desc, rnd
            assert r["MaxSessionDuration"] == dur, rnd
    finally:
        iam.delete_role(RoleName=role)


def test_housekeeping_rotation_and_deletion_use_the_same_writes(make_server, monkeypatch):
    """Start-up housekeeping rotates due keys (a read-modify-write of the key
    through kms_key_save) and deletes keys past their window only if, read
    again in the transaction, they are still pending deletion."""
    from test_kms import shift_signing_clock
    srv = make_server("lostupd-kms")
    kms = srv.boto3_client("kms")
    rot = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=rot)  # every 365 days
    blob = kms.encrypt(KeyId=rot, Plaintext=b"before")["CiphertextBlob"]
    gone = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.schedule_key_deletion(KeyId=gone, PendingWindowInDays=7)
    kms.update_key_description(KeyId=rot, Description="kept")
    srv.restart(fake_now_offset=366 * 86400)
    shift_signing_clock(monkeypatch, 366 * 86400)
    kms = srv.boto3_client("kms")
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"before"
    st = kms.get_key_rotation_status(KeyId=rot)
    assert st["KeyRotationEnabled"] is True
    meta = kms.describe_key(KeyId=rot)["KeyMetadata"]
    assert meta["Description"] == "kept"
    new_blob = kms.encrypt(KeyId=rot, Plaintext=b"after")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=new_blob)["Plaintext"] == b"after"
    with pytest.raises(ClientError):
        kms.describe_key(KeyId=gone)
    assert srv.stop() == 0  # flushes the log
    assert "deleted 1 KMS keys, rotated 1" in srv.stderr_tail(20000) + srv.stdout_text
