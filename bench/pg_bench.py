#!/usr/bin/env python3
"""pg_bench.py — the meta store backends side by side, in the same run:

  sqlite   one node, SQLite (the default)
  pg-1     one node, PostgreSQL (a throwaway cluster from tests/pgtmp.py)
  pg-2     two nodes on that PostgreSQL and one shared blob directory, clients
           split evenly across the nodes

For each: signed (presigned SigV4) GET of a 4 KiB object with wrk (keep-alive,
ops/s and p99), and signed PUTs of 1 MiB from concurrent clients (presigned,
keep-alive; MiB/s and p99). Then the cross-node cache-invalidation latency: a
bucket policy changed on node 1 (Deny, then removed), node 2 polled every 2 ms
until its answer changes (p50/p99 over ROUNDS changes).

Figures only: never fails on time; exits non-zero only when it cannot measure.
env: CLOISTER_BIN (build/cloister), DURATION (wrk seconds, 8), CONNS (wrk, 16),
     PUT_CLIENTS (8), PUT_COUNT (per client, 24), ROUNDS (invalidation, 50),
     BENCH_TMP (/var/tmp)
"""
import configparser
import hashlib
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import pgtmp  # noqa: E402

BIN = os.environ.get("CLOISTER_BIN", os.path.join(ROOT, "build", "cloister"))
DURATION = int(os.environ.get("DURATION", "8"))
CONNS = int(os.environ.get("CONNS", "16"))
PUT_CLIENTS = int(os.environ.get("PUT_CLIENTS", "8"))
PUT_COUNT = int(os.environ.get("PUT_COUNT", "24"))
ROUNDS = int(os.environ.get("ROUNDS", "50"))
TMP = os.environ.get("BENCH_TMP", "/var/tmp")


def die(msg):
    sys.exit(f"pg_bench: {msg}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    def __init__(self, data, meta=None, blobs=None):
        self.data, self.port = data, free_port()
        args = [BIN, "serve", "--data", data, "--listen", f"127.0.0.1:{self.port}"]
        if meta:
            args += ["--meta", meta]
        if blobs:
            args += ["--blobs", blobs]
        self.log = open(os.path.join(os.path.dirname(data), os.path.basename(data) + ".log"), "w")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/_cloister/health")
                if c.getresponse().status == 200:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                die(f"node on {self.port} exited; log: {self.log.name}")
            time.sleep(0.1)
        die(f"node on {self.port} did not start; log: {self.log.name}")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)
        self.log.close()


def s3(url, cred):
    import boto3
    from botocore.config import Config
    cp = configparser.ConfigParser()
    cp.read(cred)
    sec = cp["cloister"]
    return boto3.session.Session().client(
        "s3", endpoint_url=url, region_name="us-east-1",
        aws_access_key_id=sec["aws_access_key_id"],
        aws_secret_access_key=sec["aws_secret_access_key"],
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                      retries={"total_max_attempts": 1}))


def wrk(urls):
    """wrk against each URL at once (CONNS split evenly); (ops/s total, worst p99 ms)."""
    procs = []
    for u in urls:
        c = max(1, CONNS // len(urls))
        procs.append(subprocess.Popen(
            ["wrk", "-t", "1", "-c", str(c), "-d", f"{DURATION}s", "--latency", u],
            stdout=subprocess.PIPE, text=True))
    ops, p99 = 0.0, 0.0
    for p in procs:
        out = p.communicate()[0]
        m = re.search(r"Requests/sec:\s+([\d.]+)", out)
        if not m or "Non-2xx" in out:
            die(f"wrk failed or got errors:\n{out}")
        ops += float(m.group(1))
        m = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
        v = float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
        p99 = max(p99, v)
    return ops, p99


def puts(clients_by_node, bucket, tag):
    """PUT_CLIENTS threads, each PUT_COUNT presigned 1 MiB PUTs on its node."""
    data = os.urandom(1 << 20)
    etag = '"' + hashlib.md5(data).hexdigest() + '"'
    lat, errors = [], []
    lock = threading.Lock()

    def one(ci):
        c = clients_by_node[ci % len(clients_by_node)]
        urls = [urllib.parse.urlsplit(c.generate_presigned_url(
            "put_object", Params={"Bucket": bucket, "Key": f"{tag}/{ci}/{i}"}, ExpiresIn=3600))
            for i in range(PUT_COUNT)]
        conn = http.client.HTTPConnection(urls[0].netloc, timeout=120)
        mine = []
        for u in urls:
            t = time.perf_counter()
            conn.request("PUT", u.path + "?" + u.query, body=data)
            r = conn.getresponse()
            r.read()
            mine.append(time.perf_counter() - t)
            if r.status != 200 or r.getheader("ETag") != etag:
                errors.append(f"{r.status} {r.getheader('ETag')}")
        with lock:
            lat.extend(mine)

    t0 = time.perf_counter()
    ths = [threading.Thread(target=one, args=(i,)) for i in range(PUT_CLIENTS)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        die(f"PUT errors: {errors[:3]}")
    lat.sort()
    return len(lat) / wall, lat[int(len(lat) * 0.99) - 1] * 1000


def measure(label, nodes, cred):
    clients = [s3(n.url, cred) for n in nodes]
    b = "bench-" + label
    clients[0].create_bucket(Bucket=b)
    clients[0].put_object(Bucket=b, Key="obj-4k", Body=os.urandom(4096))
    urls = [c.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "obj-4k"},
                                     ExpiresIn=3600) for c in clients]
    gops, gp99 = wrk(urls)
    pops, pp99 = puts(clients, b, label)
    print(f"  {label:7s} GET 4 KiB {gops:9.0f} ops/s  p99 {gp99:7.2f} ms   "
          f"PUT 1 MiB {pops:6.1f} ops/s ({pops:6.1f} MiB/s)  p99 {pp99:7.1f} ms", flush=True)


def invalidation(n1, n2, cred):
    c1, c2 = s3(n1.url, cred), s3(n2.url, cred)
    b = "bench-inval"
    c1.create_bucket(Bucket=b)
    c1.put_object(Bucket=b, Key="k", Body=b"x")
    deny = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{b}/k"}]})
    url = c2.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "k"},
                                    ExpiresIn=3600)
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.netloc, timeout=10)

    def status():
        conn.request("GET", u.path + "?" + u.query)
        r = conn.getresponse()
        r.read()
        return r.status

    lat = []
    for i in range(ROUNDS):
        want = 403 if i % 2 == 0 else 200
        if status() == want:
            die("node 2 already shows the change before it is made")
        if want == 403:
            c1.put_bucket_policy(Bucket=b, Policy=deny)
        else:
            c1.delete_bucket_policy(Bucket=b)
        t = time.perf_counter()  # after node 1 acknowledged the change
        while status() != want:
            if time.perf_counter() - t > 10:
                die("node 2 did not see the change within 10 s")
            time.sleep(0.002)
        lat.append((time.perf_counter() - t) * 1000)
    lat.sort()
    print(f"  node 1 change -> node 2 honours it: p50 {statistics.median(lat):.1f} ms, "
          f"p99 {lat[max(0, int(len(lat) * 0.99) - 1)]:.1f} ms, max {lat[-1]:.1f} ms "
          f"({ROUNDS} changes; polled every 2 ms, so figures include up to ~2 ms of polling)")


def main():
    for tool in ("wrk",):
        if not shutil.which(tool):
            die(f"{tool} not found (make deps)")
    if not os.access(BIN, os.X_OK):
        die(f"{BIN} not built")
    d = tempfile.mkdtemp(prefix="cloister-pgbench-", dir=TMP)
    os.chmod(d, 0o711)  # the cluster runs as the postgres user (pgtmp.py)
    pg = pgtmp.PgCluster(os.path.join(d, "pg"))
    nodes = []
    try:
        pg.start()
        print(f"pg_bench: {os.cpu_count()} cores; wrk {DURATION}s x {CONNS} connections; "
              f"PUT {PUT_CLIENTS} clients x {PUT_COUNT}", flush=True)
        n = Node(os.path.join(d, "sqlite"))
        nodes.append(n)
        measure("sqlite", [n], os.path.join(n.data, "credentials"))
        n.stop()
        nodes.clear()
        url = pg.create_db("bench")
        blobs = os.path.join(d, "shared-blobs")
        n1 = Node(os.path.join(d, "pg1"), url, blobs)
        nodes.append(n1)
        cred = os.path.join(n1.data, "credentials")
        measure("pg-1", [n1], cred)
        os.makedirs(os.path.join(d, "pg2"), mode=0o700)
        shutil.copytree(os.path.join(n1.data, "keys"), os.path.join(d, "pg2", "keys"))
        n2 = Node(os.path.join(d, "pg2"), url, blobs)
        nodes.append(n2)
        measure("pg-2", [n1, n2], cred)
        print("cache invalidation across nodes (PostgreSQL LISTEN/NOTIFY):", flush=True)
        invalidation(n1, n2, cred)
    finally:
        for n in nodes:
            n.stop()
        pg.destroy()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
