"""Several nodes on one PostgreSQL (issue 15's must-holds, docs/operations.md):
three `cloister serve --meta postgres://… --blobs SHARED` nodes on one database
and one blob directory, each with its own --data (DATA/keys copied from node 1,
as the operations guide says, so the cluster identity check lets them join).

- the seed-000 flow with each step on another node (role and policies on node 1,
  AssumeRole on node 2, objects uploaded on node 3 (SSE-KMS too), downloaded on
  node 1);
- caches across nodes: a deleted access key, a deleted user, a bucket policy
  and a key policy changed to Deny on node 1 are refused by node 2 (its caches
  warm) within 1 s; the latency is measured (polled every 10 ms) and printed;
- concurrent PUTs on the three nodes while one is SIGKILLed: every acknowledged
  object reads back byte-exact from the survivors and from the killed node once
  restarted;
- a node restarted while the others serve: no request to the others fails;
- PostgreSQL stopped (pg_ctl stop -m fast) while requests run: 503 within 6 s,
  none hangs, nothing acknowledged is lost, service resumes by itself;
- task leasing: tasks queued once, leased from two nodes at once: each exactly
  once.

The nodes run on a cluster of this module's own (tests/pgtmp.py), so stopping
PostgreSQL never disturbs the session's other servers. Runs in the PostgreSQL
pass only (CLOISTER_TEST_META=postgres); skipped when the binary has no
PostgreSQL backend."""
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from conftest import BIN, PG_MODE, REPO, CloisterServer, boto3_client, client_error, uniq

pytestmark = pytest.mark.skipif(not PG_MODE, reason="multi-node tests run in the PostgreSQL "
                                "pass (CLOISTER_TEST_META=postgres)")

BOUND_S = 1.0   # issue 15: a change on one node is honoured nowhere past this
POLL_S = 0.01


class Node(CloisterServer):
    """A node of the cluster: healthy and holding the bootstrap credentials is
    enough (start-up housekeeping runs on the one node holding its lease)."""

    def _housekept(self):
        return True


@pytest.fixture(scope="module")
def pg(pg_cluster):
    sys.path.insert(0, str(REPO / "tests"))
    from pgtmp import PgCluster
    c = PgCluster()  # its own temporary directory, which the postgres user can enter
    try:
        c.start()
    except BaseException:
        c.destroy()
        raise
    yield c
    c.destroy()


@pytest.fixture(scope="module")
def nodes(pg, tmp_path_factory):
    url = pg.create_db("nodes")
    base = tmp_path_factory.mktemp("pgnodes")
    blobs = base / "shared-blobs"
    blobs.mkdir()
    made = []

    def node(i):
        d = base / f"node{i}"
        d.mkdir()
        n = Node(d / "data", d)
        n.extra_args = ["--meta", url, "--blobs", str(blobs), "--workers", "0"]
        made.append(n)
        return n

    first = node(1)
    try:
        first.start(timeout=60)
    except pytest.fail.Exception as e:
        msg = str(e).lower()
        if any(w in msg for w in ("not built", "usage:", "unknown", "unsupported")):
            pytest.skip(f"this cloister cannot serve on PostgreSQL: {str(e)[-300:]}")
        raise
    for i in (2, 3):
        n = node(i)
        n.data_dir.mkdir(mode=0o700)
        shutil.copytree(first.data_dir / "keys", n.data_dir / "keys")
        shutil.copy2(first.credentials_path, n.credentials_path)
        n.start(timeout=60)
    yield made
    bad = []
    for n in made:
        if n.proc is not None:
            rc = n.stop()
            if rc != 0:
                bad.append(f"{n.data_dir}: exit {rc}\n{n.stderr_tail()}")
    assert not bad, "nodes did not stop cleanly on SIGTERM:\n" + "\n".join(bad)


def client(node, service, creds, **cfg):
    return boto3_client(node.endpoint, service, creds, **cfg)


def allow(actions, resource="*"):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": actions, "Resource": resource}]})


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


# --------------------------------------------------------------------------- the seed flow
def test_seed_flow_each_step_on_another_node(nodes):
    n1, n2, n3 = nodes
    a = n1.admin_creds()
    rc, b, _, err = n1.account_create(uniq("acctB"))
    assert rc == 0, err
    b_admin = {"AccessKeyId": b["AccessKeyId"], "SecretAccessKey": b["SecretAccessKey"]}
    a_id = client(n1, "sts", a).get_caller_identity()["Account"]
    bucket = uniq("seed")
    # node 1: A's bucket, KMS key, the role trusted by B; B's user who may assume it
    s3a = client(n1, "s3", a)
    s3a.create_bucket(Bucket=bucket)
    key = client(n1, "kms", a).create_key(Description="seed")["KeyMetadata"]["Arn"]
    iam_a = client(n1, "iam", a)
    role = uniq("ProverInputDownloadRole")
    role_arn = iam_a.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{b['AccountId']}:root"},
            "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    iam_a.put_role_policy(RoleName=role, PolicyName="io", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
             "Resource": f"arn:aws:s3:::{bucket}/*"},
            {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": key}]}))
    iam_b = client(n1, "iam", b_admin)
    iam_b.create_user(UserName="prover")
    iam_b.put_user_policy(UserName="prover", PolicyName="assume",
                          PolicyDocument=allow("sts:AssumeRole", role_arn))
    k = iam_b.create_access_key(UserName="prover")["AccessKey"]
    prover = {"AccessKeyId": k["AccessKeyId"], "SecretAccessKey": k["SecretAccessKey"]}
    # node 2: AssumeRole
    sess = client(n2, "sts", prover).assume_role(RoleArn=role_arn, RoleSessionName="seed")
    c = sess["Credentials"]
    tmp = {"AccessKeyId": c["AccessKeyId"], "SecretAccessKey": c["SecretAccessKey"],
           "SessionToken": c["SessionToken"]}
    assert sess["AssumedRoleUser"]["Arn"].startswith(f"arn:aws:sts::{a_id}:assumed-role/{role}/")
    # node 3: upload, plain and SSE-KMS
    plain, sealed = b"prover input " * 1000, b"sealed input " * 1000
    s3t = client(n3, "s3", tmp)
    s3t.put_object(Bucket=bucket, Key="in/plain", Body=plain)
    r = s3t.put_object(Bucket=bucket, Key="in/kms", Body=sealed, ServerSideEncryption="aws:kms",
                       SSEKMSKeyId=key)
    assert r["ServerSideEncryption"] == "aws:kms" and r["SSEKMSKeyId"] == key, r
    # node 1: download with the role's session, and as A's admin
    for creds in (tmp, a):
        s3 = client(n1, "s3", creds)
        assert s3.get_object(Bucket=bucket, Key="in/plain")["Body"].read() == plain
        got = s3.get_object(Bucket=bucket, Key="in/kms")
        assert got["ServerSideEncryption"] == "aws:kms" and got["Body"].read() == sealed
    # the prover's own keys (account B) get nothing from A's bucket, on any node
    for n in nodes:
        with pytest.raises(ClientError) as e:
            client(n, "s3", prover).get_object(Bucket=bucket, Key="in/plain")
        assert client_error(e.value)[:2] == ("AccessDenied", 403)


# --------------------------------------------------------------------------- caches
def refused_within(call, t0, bound=3.0):
    """Polls call() every 10 ms from t0 until it raises a ClientError with 403
    (or InvalidAccessKeyId/InvalidClientTokenId): the latency in seconds, or
    None if it was still honoured after `bound`."""
    while True:
        try:
            call()
        except ClientError as e:
            code, status, _ = client_error(e)
            assert status in (400, 403), (code, status)
            return time.monotonic() - t0
        if time.monotonic() - t0 > bound:
            return None
        time.sleep(POLL_S)


def test_changes_on_node1_are_honoured_on_node2_within_a_second(nodes):
    n1, n2, _ = nodes
    a = n1.admin_creds()
    iam = client(n1, "iam", a)
    s3a = client(n1, "s3", a)
    kms = client(n1, "kms", a)
    bucket = uniq("cache")
    s3a.create_bucket(Bucket=bucket)
    key_arn = kms.create_key(Description="cache")["KeyMetadata"]["Arn"]
    s3a.put_object(Bucket=bucket, Key="plain", Body=b"p")
    s3a.put_object(Bucket=bucket, Key="kms", Body=b"k", ServerSideEncryption="aws:kms",
                   SSEKMSKeyId=key_arn)

    def user(policy_actions=("s3:GetObject",), resource="*"):
        name = uniq("cu")
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="p",
                            PolicyDocument=allow(list(policy_actions), resource))
        k = iam.create_access_key(UserName=name)["AccessKey"]
        arn = iam.get_user(UserName=name)["User"]["Arn"]
        return name, {"AccessKeyId": k["AccessKeyId"], "SecretAccessKey": k["SecretAccessKey"]}, arn

    lat = {}
    # 1. deleted access keys (several, for the distribution)
    keys = []
    for _ in range(8):
        name, creds, _ = user()
        get = client(n2, "s3", creds).get_object
        get(Bucket=bucket, Key="plain")  # warm node 2's caches
        keys.append((name, creds, get))
    for name, creds, get in keys:
        iam.delete_access_key(UserName=name, AccessKeyId=creds["AccessKeyId"])
        lat.setdefault("access key deleted", []).append(
            refused_within(lambda: get(Bucket=bucket, Key="plain"), time.monotonic()))
    # 2. a deleted user: its GetSessionToken session (GetCallerIdentity needs no policy)
    name, creds, _ = user()
    c = client(n1, "sts", creds).get_session_token()["Credentials"]
    sess = {"AccessKeyId": c["AccessKeyId"], "SecretAccessKey": c["SecretAccessKey"],
            "SessionToken": c["SessionToken"]}
    who = client(n2, "sts", sess).get_caller_identity
    who()
    iam.delete_access_key(UserName=name, AccessKeyId=creds["AccessKeyId"])
    iam.delete_user_policy(UserName=name, PolicyName="p")
    who()  # the session outlives its user's keys and policies: only the user matters
    iam.delete_user(UserName=name)
    lat["user deleted"] = [refused_within(who, time.monotonic())]
    # 3. the bucket policy turned to Deny (and back: Allow again, several times)
    _, creds, arn = user()
    get = client(n2, "s3", creds).get_object
    deny = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": {"AWS": arn}, "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*"}]})
    for _ in range(6):
        get(Bucket=bucket, Key="plain")
        s3a.put_bucket_policy(Bucket=bucket, Policy=deny)
        lat.setdefault("bucket policy Deny", []).append(
            refused_within(lambda: get(Bucket=bucket, Key="plain"), time.monotonic()))
        s3a.delete_bucket_policy(Bucket=bucket)
        t0 = time.monotonic()
        while True:  # and honoured again once the policy is gone
            try:
                get(Bucket=bucket, Key="plain")
                break
            except ClientError:
                assert time.monotonic() - t0 < BOUND_S, "the deleted Deny is still applied"
                time.sleep(POLL_S)
    # 4. the key policy denies Decrypt
    _, creds, arn = user(("s3:GetObject", "kms:Decrypt"))
    get = client(n2, "s3", creds).get_object
    assert get(Bucket=bucket, Key="kms")["Body"].read() == b"k"
    pol = json.loads(kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"])
    pol["Statement"].append({"Sid": "NoDecrypt", "Effect": "Deny", "Principal": {"AWS": arn},
                             "Action": "kms:Decrypt", "Resource": "*"})
    kms.put_key_policy(KeyId=key_arn, PolicyName="default", Policy=json.dumps(pol))
    lat["key policy Deny Decrypt"] = [
        refused_within(lambda: get(Bucket=bucket, Key="kms")["Body"].read(), time.monotonic())]

    report = []
    for what, xs in lat.items():
        report.append(f"{what}: " + ", ".join("never" if x is None else f"{x * 1000:.0f}" for x in xs))
    every = [x for xs in lat.values() for x in xs if x is not None]
    print("\ncache invalidation node 1 -> node 2 (ms): " + "; ".join(report))
    if every:
        print(f"cache invalidation: n={len(every)} p50 {pct(every, 50) * 1000:.0f} ms, "
              f"p99 {pct(every, 99) * 1000:.0f} ms, max {max(every) * 1000:.0f} ms")
    late = {w: xs for w, xs in lat.items() if any(x is None or x > BOUND_S for x in xs)}
    assert not late, f"honoured on node 2 past {BOUND_S}s (s, None = never): {late}"


# --------------------------------------------------------------------------- S3 crash
MAX_SIZE = 256 * 1024
SEED = random.SystemRandom().randrange(1 << 32)


def content(key):
    h = hashlib.sha256(f"{SEED}/{key}".encode()).digest()
    rng = random.Random(int.from_bytes(h[:8], "big"))
    return rng.randbytes(0 if rng.random() < 0.05 else rng.randint(1, MAX_SIZE))


def etag_of(data):
    return '"' + hashlib.md5(data).hexdigest() + '"'


def writer(s3, bucket, prefix, stop, tried, acked, lock):
    n = 0
    while not stop.is_set():
        key = f"{prefix}/{n:05d}"
        n += 1
        data = content(key)
        with lock:
            tried[key] = (len(data), etag_of(data))
        try:
            r = s3.put_object(Bucket=bucket, Key=key, Body=data)
        except (BotoCoreError, ClientError, OSError):
            time.sleep(0.02)
            continue
        if r["ResponseMetadata"]["HTTPStatusCode"] == 200 and r["ETag"] == etag_of(data):
            with lock:
                acked[key] = r["ETag"]


def listing(s3, bucket):
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            out[o["Key"]] = (o["Size"], o["ETag"])
    return out


def read_back(node, creds, bucket, keys):
    s3 = client(node, "s3", creds, read_timeout=60)
    bad = []
    for key in keys:
        data = content(key)
        try:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except (BotoCoreError, ClientError) as e:
            bad.append((key, str(e)[:80]))
            continue
        if body != data:
            bad.append((key, len(body), len(data)))
    return bad


def test_sigkill_one_node_during_puts_on_all_three(nodes):
    n1, n2, n3 = nodes
    a = n1.admin_creds()
    bucket = uniq("crash")
    client(n1, "s3", a).create_bucket(Bucket=bucket)
    tried, acked, lock, stop = {}, {}, threading.Lock(), threading.Event()
    threads = [threading.Thread(target=writer, daemon=True, args=(
        client(n, "s3", a, connect_timeout=2, read_timeout=20), bucket, f"n{i + 1}t{t}", stop,
        tried, acked, lock)) for i, n in enumerate(nodes) for t in range(2)]
    for t in threads:
        t.start()
    time.sleep(random.uniform(1.0, 2.0))
    with lock:
        before_kill = len(acked)
    n3.kill()  # SIGKILL mid-PUT
    time.sleep(1.0)  # the survivors keep taking PUTs
    stop.set()
    for t in threads:
        t.join(timeout=30)
        assert not t.is_alive(), "a writer hung"
    for n in (n1, n2):
        listed = listing(client(n, "s3", a), bucket)
        lost = sorted(set(acked) - set(listed))
        assert not lost, f"{n.endpoint}: acknowledged objects missing (seed {SEED}): {lost[:10]}"
        wrong = [k for k in listed if listed[k] != tried.get(k)]
        assert not wrong, f"{n.endpoint}: listed objects not whole or never PUT: {wrong[:10]}"
        bad = read_back(n, a, bucket, sorted(acked))
        assert not bad, f"{n.endpoint}: not read back byte-exact (seed {SEED}): {bad[:10]}"
    n3.start(timeout=60)
    bad = read_back(n3, a, bucket, sorted(acked))
    assert not bad, f"restarted node: not read back byte-exact (seed {SEED}): {bad[:10]}"
    by_node = {f"n{i}": sum(k.startswith(f"n{i}") for k in acked) for i in (1, 2, 3)}
    assert all(by_node.values()) and len(acked) > before_kill, (by_node, before_kill)
    print(f"\nmulti-node crash: seed {SEED}, {len(acked)} acknowledged PUTs {by_node} "
          f"({before_kill} before the kill), {len(set(tried) - set(acked))} cut or refused; "
          f"all read back byte-exact from the 2 survivors and the restarted node")


# --------------------------------------------------------------------------- restart
def hammer(nodes_, creds, bucket, stop, out, lock):
    s3s = [client(n, "s3", creds, connect_timeout=2, read_timeout=10) for n in nodes_]
    i = 0
    while not stop.is_set():
        s3 = s3s[i % len(s3s)]
        key = f"h/{threading.get_ident()}/{i}"
        i += 1
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
            ok = s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
            with lock:
                out.append(("ok" if ok else "wrong", key))
        except (BotoCoreError, ClientError, OSError) as e:
            with lock:
                out.append((f"{type(e).__name__}: {e}"[:200], key))


def test_a_node_restarts_while_the_others_serve(nodes):
    n1, n2, n3 = nodes
    a = n1.admin_creds()
    bucket = uniq("restart")
    client(n1, "s3", a).create_bucket(Bucket=bucket)
    stop, out, lock = threading.Event(), [], threading.Lock()
    threads = [threading.Thread(target=hammer, args=((n1, n3), a, bucket, stop, out, lock),
                                daemon=True) for _ in range(3)]
    for t in threads:
        t.start()

    def served(n, timeout=30):  # n more request pairs answered
        with lock:
            want = len(out) + n
        end = time.monotonic() + timeout
        while time.monotonic() < end and len(out) < want:
            time.sleep(0.02)

    served(6)
    before = len(out)
    rc = n2.stop()
    assert rc == 0, n2.stderr_tail()
    served(3)
    n2.start(timeout=60)
    served(6)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    failed = [o for o in out if o[0] != "ok"]
    assert len(out) > before > 0 and not failed, \
        f"{len(failed)} of {len(out)} requests to the other nodes failed: {failed[:5]}"
    s3 = client(n2, "s3", a)
    key = out[-1][1]
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    print(f"\nnode restart: {len(out)} PUT+GET pairs on the 2 other nodes, none failed")


# --------------------------------------------------------------------------- PostgreSQL down
def timed_requests(node, creds, bucket, stop, log, lock, tag):
    """PUT then GET in a loop; each request's (tag, start, seconds, status, key)."""
    s3 = client(node, "s3", creds, connect_timeout=2, read_timeout=15)
    i = 0
    while not stop.is_set():
        key = f"{tag}/{i:05d}"
        i += 1
        for op in ("put", "get"):
            t0 = time.monotonic()
            try:
                if op == "put":
                    s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
                else:
                    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
                status = 200
            except ClientError as e:
                status = client_error(e)[1]
            except (BotoCoreError, OSError) as e:
                status = type(e).__name__
            with lock:
                log.append((tag, op, t0, time.monotonic() - t0, status, key))
            if status != 200:
                time.sleep(0.05)
                break


def health(node):
    try:
        with urllib.request.urlopen(node.endpoint + "/_cloister/health", timeout=6) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def test_postgres_stopped_then_back(nodes, pg):
    n1, n2, _ = nodes
    a = n1.admin_creds()
    bucket = uniq("pgdown")
    client(n1, "s3", a).create_bucket(Bucket=bucket)
    stop, log, lock = threading.Event(), [], threading.Lock()
    threads = [threading.Thread(target=timed_requests, daemon=True,
                                args=(n, a, bucket, stop, log, lock, f"n{i}t{t}"))
               for i, n in ((1, n1), (2, n2)) for t in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.7)
    pg.stop("fast")  # returns once the server is down (pg_ctl -w)
    t_down = time.monotonic()
    time.sleep(3.0)
    assert health(n1) == 503
    t_start = time.monotonic()
    pg.start()
    t_up = time.monotonic()
    # service resumes by itself: the first 200 after the database is back
    resumed = None
    while time.monotonic() - t_up < 20:
        with lock:
            ok_after = [t0 + d for _, _, t0, d, s, _ in log if s == 200 and t0 >= t_up]
        if ok_after and health(n1) == 200 and health(n2) == 200:
            resumed = min(ok_after) - t_up
            break
        time.sleep(0.05)
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join(timeout=30)
        assert not t.is_alive(), "a client hung"
    slow = [r for r in log if r[3] >= 6.0]
    assert not slow, f"requests that took 6 s or more: {slow[:5]}"
    # answered while it was down (a request still waiting when it came back may succeed)
    during = [r for r in log if t_down <= r[2] and r[2] + r[3] <= t_start]
    codes = sorted({r[4] for r in during}, key=str)
    assert during and set(codes) <= {503}, \
        f"while PostgreSQL was down: {codes}: {[r for r in during if r[4] != 503][:5]}"
    assert resumed is not None, "no request succeeded within 20 s of PostgreSQL's return"
    acked = sorted({r[5] for r in log if r[1] == "put" and r[4] == 200})
    s3 = client(n2, "s3", a)
    lost = [k for k in acked if s3.get_object(Bucket=bucket, Key=k)["Body"].read() != k.encode()]
    assert not lost, lost[:10]
    lat = [r[3] for r in during]
    print(f"\nPostgreSQL down {t_start - t_down:.1f}s (+{t_up - t_start:.1f}s to start): "
          f"{len(during)} requests answered 503 "
          f"(p50 {statistics.median(lat) * 1000:.0f} ms, max {max(lat) * 1000:.0f} ms); "
          f"resumed {resumed:.2f}s after it returned; {len(acked)} acknowledged PUTs all read back")


# --------------------------------------------------------------------------- task leasing
def api(node, creds, op, body):
    """A signed Cloister.<op> call -> (HTTP status, JSON)."""
    try:
        return 200, node.cloister_call(creds, op, body)
    except ClientError as e:
        return client_error(e)[1], e.response["Error"]


def test_tasks_leased_from_two_nodes_each_once(nodes, tmp_path):
    n1, n2, n3 = nodes
    a = n1.admin_creds()
    app = uniq("copy")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"CLOISTER_ENDPOINT": n1.endpoint, "AWS_REGION": "us-east-1", "HOME": str(tmp_path),
                "AWS_ACCESS_KEY_ID": a["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": a["SecretAccessKey"]})
    p = subprocess.run([str(BIN), "app", "deploy", str(REPO / "tests/e2e/apps/copy-input"), "--name",
                        app, "--entrypoint", "python3 /app/copy.py"], capture_output=True,
                       text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    n_tasks = 40
    ids = set()
    for i in range(n_tasks):
        st, doc = api(n1, a, "SubmitRequest", {"App": app, "Args": [str(i)],
                                                "Inputs": [{"Url": f"{n1.endpoint}/x/{i}"}]})
        assert st == 200, doc
        ids.add(doc["TaskId"])
    leased, lock = [], threading.Lock()

    end = time.monotonic() + 60

    def lease(node):
        while time.monotonic() < end:
            st, doc = api(node, a, "LeaseTask", {"WaitSeconds": 0})
            assert st == 200, doc
            t = doc.get("Task")
            with lock:
                if t:
                    leased.append((node.endpoint, t["TaskId"]))
                if len(leased) >= n_tasks:
                    return
            if not t:
                time.sleep(0.02)

    threads = [threading.Thread(target=lease, args=(n,)) for n in (n2, n3) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    got = [tid for _, tid in leased]
    dup = sorted({t for t in got if got.count(t) > 1})
    assert not dup, f"tasks leased twice: {dup}"
    assert set(got) == ids, f"{len(ids - set(got))} tasks never leased"
    per = {ep: sum(1 for e, _ in leased if e == ep) for ep in (n2.endpoint, n3.endpoint)}
    assert all(per.values()), per
    print(f"\ntask leasing: {n_tasks} tasks, leased once each from 2 nodes x 3 pollers: {per}")
