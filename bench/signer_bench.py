"""`make bench`: the remote signer's ATTESTATION throughput and latency through
HTTP with slashing protection on (SQLite), figures only (never fails on time).

V validators (EIP-2335 keystores made here), C client threads on keep-alive
connections, each signing attestations for its own validators with rising
epochs (every request is checked and recorded by slashing protection):
signatures/s and p50/p99 at peak, then p99 at half of the peak rate (paced).
Baseline in the same run: the raw blst sign loop on the same cores
(build/bench/signer_keys_bench when built, else not shown).

    python3 bench/signer_bench.py [V] [SECONDS]   (CLOISTER_BIN; CLIENTS=8)
"""
import hashlib
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(os.environ.get("CLOISTER_BIN", ROOT / "build" / "cloister")).resolve()
JS = ROOT / "tests" / "e2e" / "js"
V = int(sys.argv[1]) if len(sys.argv) > 1 else 256
SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 5
CLIENTS = int(os.environ.get("CLIENTS", "8"))
BLS_R = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFFFFFFFF00000001
FORK_INFO = {"fork": {"previous_version": "0x05000000", "current_version": "0x05000000",
                      "epoch": "0"},
             "genesis_validators_root": "0x" + "4b" * 32}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def keystore(sk, pk, pw):
    salt, iv = os.urandom(32), os.urandom(16)
    dk = hashlib.pbkdf2_hmac("sha256", pw.encode(), salt, 16, 32)
    enc = Cipher(algorithms.AES(dk[:16]), modes.CTR(iv)).encryptor()
    ct = enc.update(bytes.fromhex(sk[2:])) + enc.finalize()
    return {"crypto": {"kdf": {"function": "pbkdf2", "message": "",
                               "params": {"dklen": 32, "c": 16, "prf": "hmac-sha256",
                                          "salt": salt.hex()}},
                       "checksum": {"function": "sha256", "params": {},
                                    "message": hashlib.sha256(dk[16:32] + ct).hexdigest()},
                       "cipher": {"function": "aes-128-ctr", "params": {"iv": iv.hex()},
                                  "message": ct.hex()}},
            "pubkey": pk[2:], "path": "", "uuid": os.urandom(16).hex(), "version": 4}


def make_keys(n, kdir, pdir):
    sks = ["0x%064x" % (secrets.randbelow(BLS_R - 1) + 1) for _ in range(n)]
    out = subprocess.run(["node", str(JS / "signer_sign.mjs")], cwd=JS, capture_output=True,
                         text=True, check=True,
                         input=json.dumps([{"sk": sk, "root": "0x" + "00" * 32} for sk in sks]))
    pks = [r["pk"] for r in json.loads(out.stdout)]
    for i, (sk, pk) in enumerate(zip(sks, pks)):
        (kdir / f"k{i}.json").write_text(json.dumps(keystore(sk, pk, f"pw{i}")))
        (pdir / f"k{i}.txt").write_text(f"pw{i}")
    return pks


def body(epoch):
    root = "0x%064x" % epoch
    return json.dumps({"type": "ATTESTATION", "fork_info": FORK_INFO, "attestation": {
        "slot": str(epoch * 32), "index": "0", "beacon_block_root": root,
        "source": {"epoch": str(epoch), "root": root},
        "target": {"epoch": str(epoch + 1), "root": root}}})


class Client(threading.Thread):
    """Signs for validators pks[i::CLIENTS] round-robin, epochs rising."""

    def __init__(self, port, pks, until, epoch0, pace=None):
        super().__init__(daemon=True)
        self.port, self.pks, self.until, self.epoch, self.pace = port, pks, until, epoch0, pace
        self.lat, self.errors = [], 0

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        i, next_t = 0, time.monotonic()
        while time.monotonic() < self.until:
            if self.pace:
                next_t += self.pace
                delay = next_t - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            pk = self.pks[i % len(self.pks)]
            if i % len(self.pks) == 0:
                self.epoch += 1
            i += 1
            t0 = time.perf_counter()
            conn.request("POST", f"/api/v1/eth2/sign/{pk}", body(self.epoch),
                         {"Content-Type": "application/json", "Accept": "application/json"})
            r = conn.getresponse()
            r.read()
            self.lat.append(time.perf_counter() - t0)
            if r.status != 200:
                self.errors += 1
        conn.close()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] * 1000 if xs else float("nan")


def phase(port, pks, seconds, epoch0, pace=None):
    until = time.monotonic() + seconds
    cs = [Client(port, pks[i::CLIENTS], until, epoch0, pace) for i in range(CLIENTS)]
    t0 = time.monotonic()
    for c in cs:
        c.start()
    for c in cs:
        c.join()
    lat = [x for c in cs for x in c.lat]
    return len(lat) / (time.monotonic() - t0), lat, sum(c.errors for c in cs)


def raw_blst():
    exe = ROOT / "build" / "bench" / "signer_keys_bench"
    if not exe.exists():
        return None
    env = dict(os.environ, SIGNER_BENCH_KEYS="2", SIGNER_BENCH_SIGN_SECONDS=str(int(SECONDS)))
    out = subprocess.run([str(exe)], capture_output=True, text=True, timeout=600, env=env)
    # only its sign-loop lines (its keystore figures are the keys bench's own)
    return "\n".join(x.strip() for x in out.stdout.splitlines() if "sign loop" in x)


def main():
    tmp = Path(tempfile.mkdtemp(prefix="signer-bench-"))
    kdir, pdir = tmp / "keys", tmp / "passwords"
    kdir.mkdir()
    pdir.mkdir()
    pks = make_keys(V, kdir, pdir)
    port = free_port()
    proc = subprocess.Popen([str(BIN), "signer", "serve", "--listen", f"127.0.0.1:{port}",
                             "--data", str(tmp / "data"), "--keystores-path", str(kdir),
                             "--keystores-passwords-path", str(pdir), "--threads", "8"],
                            stdout=subprocess.DEVNULL, stderr=open(tmp / "stderr", "wb"))
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/healthcheck")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                sys.exit("signer did not become healthy: " + (tmp / "stderr").read_text()[-2000:])
            time.sleep(0.1)
        peak, lat, err = phase(port, pks, SECONDS, 10)
        print(f"  ATTESTATION via HTTP, slashing on (SQLite), {V} validators, {CLIENTS} clients:")
        print(f"    peak    {peak:9.0f} signatures/s   p50 {pct(lat, 0.5):6.2f} ms   "
              f"p99 {pct(lat, 0.99):6.2f} ms   errors {err}")
        rate = peak / 2
        half, lat2, err2 = phase(port, pks, SECONDS, 10 + 2 * len(lat) + 10,
                                 pace=CLIENTS / rate if rate > 0 else None)
        print(f"    at 1/2  {half:9.0f} signatures/s   p50 {pct(lat2, 0.5):6.2f} ms   "
              f"p99 {pct(lat2, 0.99):6.2f} ms   errors {err2}   (target p99 < 10 ms)")
        raw = raw_blst()
        if raw:
            print("  raw blst sign loop, same cores (bench/signer_keys_bench):")
            best = 0.0
            for line in raw.splitlines():
                print("    " + line)
                nums = [float(w) for w in line.split() if w.replace(".", "", 1).isdigit()]
                best = max(best, nums[-1] if nums else 0.0)
            if best:
                print(f"  HTTP peak / raw loop on all cores: {peak / best:.2f}x (target >= 0.8x)")
        else:
            print("  raw blst sign loop: build/bench/signer_keys_bench not built")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
