"""`make bench`: a full confidential run (`Cloister.RunApp` → done) of a trivial
static C app, p50/p99 over N runs, and "request to the app's first instruction"
(the app stamps CLOCK_REALTIME first thing), next to a plain fork+exec of the
same binary measured the same way in the same run. Figures only: never fails on
time; exits non-zero only if a run does not succeed.

    python3 bench/run_bench.py [N]        (CLOISTER_BIN, default build/cloister)
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(os.environ.get("CLOISTER_BIN", ROOT / "build" / "cloister")).resolve()
N = int(sys.argv[1]) if len(sys.argv) > 1 else 100

APP_C = r"""
#include <stdio.h>
#include <time.h>
int main(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);  /* the app's first instruction, near enough */
    FILE *f = fopen("/iexec_out/t", "w");
    if (!f) f = fopen("t", "w");
    fprintf(f, "%lld", (long long)t.tv_sec * 1000000000LL + t.tv_nsec);
    fclose(f);
    f = fopen("/iexec_out/computed.json", "w");
    if (f) { fputs("{\"deterministic-output-path\":\"/iexec_out/t\"}", f); fclose(f); }
    return 0;
}
"""


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def row(name, v):
    print(f"  {name:<44} p50 {pct(v, 50):8.2f} ms   p99 {pct(v, 99):8.2f} ms   (n={len(v)})")


def call(ep, creds, op, body):
    data = json.dumps(body).encode()
    req = AWSRequest(method="POST", url=ep + "/", data=data,
                     headers={"X-Amz-Target": f"Cloister.{op}",
                              "Content-Type": "application/x-amz-json-1.1"})
    SigV4Auth(Credentials(*creds), "cloister", "us-east-1").add_auth(req)
    r = urllib.request.Request(ep + "/", data=data, method="POST", headers=dict(req.headers))
    with urllib.request.urlopen(r, timeout=30) as resp:
        return json.loads(resp.read())


def start_node(work, *args):
    """`cloister serve` on a free port with its data in work/data -> (process,
    endpoint, (access key, secret) of the bootstrap admin)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    ep = f"http://127.0.0.1:{port}"
    srv = subprocess.Popen([str(BIN), "serve", "--data", str(work / "data"), "--listen",
                            f"127.0.0.1:{port}", *args], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    for _ in range(400):
        if (work / "data" / "credentials").exists():
            try:
                urllib.request.urlopen(ep + "/_cloister/health", timeout=1)
                break
            except OSError:
                pass
        time.sleep(0.05)
    text = (work / "data" / "credentials").read_text().split()
    return srv, ep, (text[text.index("aws_access_key_id") + 2],
                     text[text.index("aws_secret_access_key") + 2])


def main():
    work = Path(tempfile.mkdtemp(prefix="cloister-run-bench-"))
    try:
        app = work / "app"
        app.mkdir()
        (work / "app.c").write_text(APP_C)
        subprocess.run(["gcc", "-static", "-O2", "-o", str(app / "app"), str(work / "app.c")],
                       check=True)
        srv, ep, creds = start_node(work, "--run-workers", "2")
        try:
            env = dict(os.environ, AWS_ACCESS_KEY_ID=creds[0], AWS_SECRET_ACCESS_KEY=creds[1],
                       AWS_DEFAULT_REGION="us-east-1", AWS_SHARED_CREDENTIALS_FILE=os.devnull)
            subprocess.run([str(BIN), "app", "deploy", str(app), "--name", "trivial",
                            "--entrypoint", "/app/app", "--endpoint", ep], env=env, check=True,
                           capture_output=True)
            plain_first, run_first, run_total = [], [], []
            for i in range(N):
                d = work / f"plain{i}"
                d.mkdir()
                t0 = time.time_ns()
                subprocess.run([str(app / "app")], cwd=d, check=True)
                plain_first.append((int((d / "t").read_text()) - t0) / 1e6)
            for i in range(N):
                t0 = time.time_ns()
                task = call(ep, creds, "RunApp", {"Name": "trivial"})["TaskId"]
                while True:
                    st = call(ep, creds, "GetTask", {"TaskId": task})["Task"]["State"]
                    if st in ("done", "failed"):
                        break
                    time.sleep(0.002)
                t1 = time.time_ns()
                if st != "done":
                    sys.exit(f"run {i} failed: {call(ep, creds, 'GetTask', {'TaskId': task})}")
                out = call(ep, creds, "GetTaskResult", {"TaskId": task})
                import base64, io, tarfile
                tar = tarfile.open(fileobj=io.BytesIO(base64.b64decode(out["Output"])))
                stamp = int(tar.extractfile("t").read())
                run_first.append((stamp - t0) / 1e6)
                run_total.append((t1 - t0) / 1e6)
        finally:
            srv.terminate()
            srv.wait(timeout=60)
        print(f"confidential run of a trivial static app, {N} runs each, one node, 2 workers")
        row("baseline: fork+exec, start -> first instruction", plain_first)
        row("cloister run: RunApp -> first instruction", run_first)
        row("cloister run: RunApp -> done (polled every 2 ms)", run_total)
        print(f"  added start latency (p50): {pct(run_first, 50) - pct(plain_first, 50):.2f} ms "
              "(includes the HTTP request, bundle check, key exchange and attestation)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
