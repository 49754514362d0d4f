"""`make bench`: triggers and the task queue, figures only (never fails on time).

1. Upload -> app running -> output listable: a bucket notification bound to a
   trivial static C app that stamps CLOCK_REALTIME first thing; for each of N
   uploads, from the end of PutObject to (a) the app's first instruction and
   (b) its output listable beside the object (ListObjectsV2 polled every 2 ms).
   Baselines measured in the same run: fork+exec of the same binary (start ->
   first instruction) and PutObject + ListObjectsV2 of a plain object (the S3
   floor of "listable").
2. Throughput: M RunApp tasks of the same app drained by the node's 2 local
   workers (tasks/s), next to fork+exec of the app M times in a row.
3. The proof-of-reserves pipeline: `cloister por app` deployed, a trigger on
   suffix private_ledger.json, one upload of a ledger of ACCOUNTS accounts
   (default 10000; 0 skips) -> final_proof.json listable; baseline `cloister
   por prove` of the same ledger on the host, one thread (a run's CPU quota).

    python3 bench/trigger_bench.py [N] [M]   (CLOISTER_BIN; ACCOUNTS=10000)
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_bench import APP_C, call, row, start_node  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(os.environ.get("CLOISTER_BIN", ROOT / "build" / "cloister")).resolve()
N = int(sys.argv[1]) if len(sys.argv) > 1 else 50
M = int(sys.argv[2]) if len(sys.argv) > 2 else 40
ACCOUNTS = int(os.environ.get("ACCOUNTS", "10000"))


def wait_key(s3, bucket, key, timeout=600, every=0.002):
    end = time.time() + timeout
    while time.time() < end:
        if s3.list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount", 0):
            return time.time_ns()
        time.sleep(every)
    sys.exit(f"s3://{bucket}/{key} never appeared")


def notify(s3, bucket, account, app, suffix):
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "LambdaFunctionConfigurations": [{
            "Id": app, "Events": ["s3:ObjectCreated:*"],
            "LambdaFunctionArn": f"arn:aws:lambda:us-east-1:{account}:function:{app}",
            "Filter": {"Key": {"FilterRules": [{"Name": "suffix", "Value": suffix}]}}}]})


def latency(s3, bucket, app_bin, work):
    plain, floor, running, listable = [], [], [], []
    for i in range(N):
        d = work / f"plain{i}"
        d.mkdir()
        t0 = time.time_ns()
        subprocess.run([str(app_bin)], cwd=d, check=True)
        plain.append((int((d / "t").read_text()) - t0) / 1e6)
    for i in range(N):
        t0 = time.time_ns()
        s3.put_object(Bucket=bucket, Key=f"floor/{i}", Body=b"x")
        floor.append((wait_key(s3, bucket, f"floor/{i}") - t0) / 1e6)
    for i in range(N):
        s3.put_object(Bucket=bucket, Key=f"up/{i}/in.trigger", Body=b"x")
        t0 = time.time_ns()  # the end of the upload: PutObject answered
        t1 = wait_key(s3, bucket, f"up/{i}/t")
        stamp = int(s3.get_object(Bucket=bucket, Key=f"up/{i}/t")["Body"].read())
        running.append((stamp - t0) / 1e6)
        listable.append((t1 - t0) / 1e6)
    print(f"upload -> trigger -> app, {N} uploads, one node, 2 local workers")
    row("baseline: fork+exec, start -> first instruction", plain)
    row("baseline: PutObject -> listable (S3 floor)", floor)
    row("trigger: upload end -> app's first instruction", running)
    row("trigger: upload end -> output listable", listable)


def throughput(ep, creds, app_bin, work):
    t0 = time.time()
    for i in range(M):
        d = work / f"tp{i}"
        d.mkdir()
        subprocess.run([str(app_bin)], cwd=d, check=True)
    plain = M / (time.time() - t0)
    t0 = time.time()
    ids = [call(ep, creds, "RunApp", {"Name": "trivial"})["TaskId"] for _ in range(M)]
    for t in ids:
        while call(ep, creds, "GetTask", {"TaskId": t})["Task"]["State"] not in ("done", "failed"):
            time.sleep(0.005)
    rate = M / (time.time() - t0)
    print(f"throughput, {M} trivial tasks")
    print(f"  {'baseline: fork+exec in a row':<44} {plain:8.1f} /s")
    print(f"  {'RunApp, 2 local workers, submit -> all done':<44} {rate:8.1f} tasks/s")


def por_pipeline(s3, bucket, account, env, work):
    ledger = work / "ledger.json"
    subprocess.run(["/usr/bin/python3", str(ROOT / "bench" / "por_gen_ledger.py"), str(ACCOUNTS),
                    "1", str(ledger)], check=True, capture_output=True)
    t0 = time.time()
    subprocess.run([str(BIN), "por", "prove", str(ledger), "--out", str(work / "host"),
                    "--threads", "1"], check=True, capture_output=True)
    host = time.time() - t0
    p = subprocess.run([str(BIN), "por", "app", "--out", str(work / "por-app")], check=True,
                       capture_output=True, text=True, env=env)
    subprocess.run(["sh", "-c", p.stdout.strip()], check=True, capture_output=True, env=env)
    notify(s3, bucket, account, "por", "private_ledger.json")
    body = ledger.read_bytes()
    s3.put_object(Bucket=bucket, Key="proof-runs/2024-01-15/private_ledger.json", Body=body)
    t0 = time.time_ns()
    t1 = wait_key(s3, bucket, "proof-runs/2024-01-15/final_proof.json", every=0.05)
    print(f"proof of reserves on upload, {ACCOUNTS} accounts x 1 asset")
    print(f"  {'baseline: cloister por prove on the host, 1 thread':<44} {host:8.1f} s")
    print(f"  {'trigger: upload end -> final_proof.json listable':<44} {(t1 - t0) / 1e9:8.1f} s")


def main():
    work = Path(tempfile.mkdtemp(prefix="cloister-trigger-bench-"))
    srv = None
    try:
        app = work / "app"
        app.mkdir()
        (work / "app.c").write_text(APP_C)
        subprocess.run(["gcc", "-static", "-O2", "-o", str(app / "app"), str(work / "app.c")],
                       check=True)
        srv, ep, creds = start_node(work, "--workers", "2")
        env = dict(os.environ, AWS_ACCESS_KEY_ID=creds[0], AWS_SECRET_ACCESS_KEY=creds[1],
                   AWS_DEFAULT_REGION="us-east-1", AWS_SHARED_CREDENTIALS_FILE=os.devnull,
                   CLOISTER_ENDPOINT=ep, PATH=f"{BIN.parent}:{os.environ.get('PATH', '')}")
        subprocess.run([str(BIN), "app", "deploy", str(app), "--name", "trivial", "--entrypoint",
                        "/app/app"], env=env, check=True, capture_output=True)
        s3 = boto3.client("s3", endpoint_url=ep, aws_access_key_id=creds[0],
                          aws_secret_access_key=creds[1], region_name="us-east-1",
                          config=Config(s3={"addressing_style": "path"},
                                        retries={"max_attempts": 0}))
        account = boto3.client("sts", endpoint_url=ep, aws_access_key_id=creds[0],
                               aws_secret_access_key=creds[1],
                               region_name="us-east-1").get_caller_identity()["Account"]
        s3.create_bucket(Bucket="bench")
        notify(s3, "bench", account, "trivial", ".trigger")
        latency(s3, "bench", app / "app", work)
        print()
        throughput(ep, creds, app / "app", work)
        if ACCOUNTS:
            print()
            s3.create_bucket(Bucket="reserves")
            por_pipeline(s3, "reserves", account, env, work)
    finally:
        if srv:
            srv.terminate()
            srv.wait(timeout=120)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
