#!/usr/bin/env bash
# kms_bench.sh — what KMS Encrypt/Decrypt cost over HTTP, next to the empty-handler floor.
#
# Starts a private `cloister serve` on 127.0.0.1 (temp data dir), creates one
# symmetric key with boto3 (the admin credentials the server writes to
# DATA/credentials, profile cloister), then runs wrk (keep-alive) three times
# against it and prints the figures side by side:
#   (a) GET /_cloister/empty              the HTTP floor: no auth, empty body
#   (b) POST / TrentService.Encrypt       4 KiB of random plaintext under the key
#   (c) POST / TrentService.Decrypt       the ciphertext blob (b) returned
# each as requests/s, p50 and p99 latency (wrk --latency) and the ratio to the
# floor, next to the issue's target (>= 0.7x). Each KMS request is signed once
# with botocore's SigV4Auth just before its row and replayed (a replay is valid
# for the 15-minute skew window); the script checks once that the server answers
# it with 200 (and, for Decrypt, the original plaintext) before measuring.
# Never fails on time; exits non-zero only if it cannot measure (no wrk, the
# server does not start, a signed request is not accepted).
#
# env: CLOISTER_BIN (default build/cloister), DURATION (10s per row), THREADS (wrk, 2),
#      CONNS (16), SERVER_THREADS (server's --threads, default its own),
#      PLAINTEXT_BYTES (4096), PERF_DIR (if set and perf exists: record the server
#      with perf during the Encrypt and Decrypt rows into PERF_DIR/{encrypt,decrypt}.data;
#      the figures of such a run are lower than without it), PERF_ARGS (perf record
#      options, default "-F 499 --call-graph dwarf,8192")
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${CLOISTER_BIN:-$ROOT/build/cloister}"
DURATION="${DURATION:-10s}"
THREADS="${THREADS:-2}"
CONNS="${CONNS:-16}"
PLAINTEXT_BYTES="${PLAINTEXT_BYTES:-4096}"
PERF_DIR="${PERF_DIR:-}"
PERF_ARGS="${PERF_ARGS:--F 499 --call-graph dwarf,8192}"
PY=/usr/bin/python3
TARGET=0.7

die() { echo "kms_bench: $*" >&2; exit 2; }
command -v wrk >/dev/null || die "wrk not found (Debian package wrk; run make deps)"
command -v curl >/dev/null || die "curl not found"
[ -x "$BIN" ] || die "$BIN not built (ninja -C build cloister)"
$PY -c 'import boto3, botocore' 2>/dev/null || die "python3-boto3 / python3-botocore missing"
case "$PLAINTEXT_BYTES" in '' | *[!0-9]*) die "PLAINTEXT_BYTES must be a number" ;; esac
if [ -n "$PERF_DIR" ]; then
    command -v perf >/dev/null || die "PERF_DIR is set but perf is not installed"
    mkdir -p "$PERF_DIR"
fi

DATA="$(mktemp -d -t cloister-kmsbench-XXXXXX)"
PORT="$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
URL="http://127.0.0.1:$PORT"
SERVE_ARGS=(serve --data "$DATA/data" --listen "127.0.0.1:$PORT")
[ -n "${SERVER_THREADS:-}" ] && SERVE_ARGS+=(--threads "$SERVER_THREADS")

"$BIN" "${SERVE_ARGS[@]}" >"$DATA/serve.out" 2>"$DATA/serve.err" &
SERVER_PID=$!
PERF_PID=""
cleanup() {
    if [ -n "$PERF_PID" ] && kill -0 "$PERF_PID" 2>/dev/null; then
        kill -INT "$PERF_PID" 2>/dev/null || true
        wait "$PERF_PID" 2>/dev/null || true
    fi
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$DATA"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for _ in $(seq 100); do
    if curl -sf "$URL/_cloister/health" >/dev/null 2>&1 && [ -f "$DATA/data/credentials" ]; then break; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$DATA/serve.err" >&2; die "cloister serve exited"; }
    sleep 0.1
done
curl -sf "$URL/_cloister/health" >/dev/null || die "server not healthy"

# The helper: `setup` creates the key (boto3) and the plaintext; `sign OP` signs one
# Encrypt or Decrypt request, checks the server accepts it (200; Decrypt must give
# the plaintext back; Encrypt stores its CiphertextBlob for Decrypt) and writes
# $DATA/OP.lua for wrk.
cat >"$DATA/helper.py" <<'PYEOF'
import base64, configparser, json, os, sys, urllib.error, urllib.request
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

mode, url, cred_path, state_dir = sys.argv[1:5]
REGION = "us-east-1"
cp = configparser.ConfigParser()
cp.read(cred_path)
sec = cp["cloister"]
ak, sk = sec["aws_access_key_id"], sec["aws_secret_access_key"]
state_path = os.path.join(state_dir, "state.json")

def die(msg):
    sys.exit(f"kms_bench: {msg}")

if mode == "setup":
    import boto3
    nbytes = int(sys.argv[5])
    kms = boto3.client("kms", endpoint_url=url, region_name=REGION,
                       aws_access_key_id=ak, aws_secret_access_key=sk)
    try:
        meta = kms.create_key(Description="kms_bench")["KeyMetadata"]
    except Exception as e:  # botocore's ClientError, connection errors
        die(f"CreateKey failed: {e}")
    plain = os.urandom(nbytes)
    with open(state_path, "w") as f:
        json.dump({"KeyId": meta["KeyId"], "Arn": meta["Arn"],
                   "Plaintext": base64.b64encode(plain).decode()}, f)
    print(meta["KeyId"])
    sys.exit(0)

op = sys.argv[5]  # Encrypt | Decrypt
with open(state_path) as f:
    st = json.load(f)
if op == "Encrypt":
    payload = {"KeyId": st["KeyId"], "Plaintext": st["Plaintext"]}
elif op == "Decrypt":
    if "CiphertextBlob" not in st:
        die("Decrypt needs the CiphertextBlob of a checked Encrypt first")
    payload = {"CiphertextBlob": st["CiphertextBlob"]}
else:
    die(f"unknown operation {op}")
body = json.dumps(payload, separators=(",", ":"))
req = AWSRequest(method="POST", url=url + "/", data=body,
                 headers={"Content-Type": "application/x-amz-json-1.1",
                          "X-Amz-Target": "TrentService." + op})
SigV4Auth(Credentials(ak, sk), "kms", REGION).add_auth(req)
headers = dict(req.headers.items())
r = urllib.request.Request(url + "/", data=body.encode(), headers=headers, method="POST")
try:
    with urllib.request.urlopen(r, timeout=10) as resp:
        status, text = resp.status, resp.read().decode(errors="replace")
except urllib.error.HTTPError as e:
    status, text = e.code, e.read().decode(errors="replace")
if status != 200:
    die(f"the signed {op} request is not accepted ({status}): {text[:500]}")
try:
    out = json.loads(text)
except ValueError:
    die(f"{op} answered 200 with a body that is not JSON: {text[:200]}")
if op == "Encrypt":
    if not out.get("CiphertextBlob") or out.get("KeyId") != st["Arn"]:
        die(f"Encrypt answered 200 without the expected CiphertextBlob/KeyId: {text[:300]}")
    st["CiphertextBlob"] = out["CiphertextBlob"]
    with open(state_path, "w") as f:
        json.dump(st, f)
elif out.get("Plaintext") != st["Plaintext"] or out.get("KeyId") != st["Arn"]:
    die(f"Decrypt answered 200 but not with the original plaintext and key: {text[:300]}")
q = json.dumps  # JSON string literals are valid Lua string literals for this ASCII content
with open(os.path.join(state_dir, op.lower() + ".lua"), "w") as f:
    f.write(f'wrk.method = "POST"\nwrk.body = {q(body)}\n')
    for k, v in headers.items():
        f.write(f"wrk.headers[{q(k)}] = {q(v)}\n")
print(len(body))
PYEOF
helper() { $PY "$DATA/helper.py" "$1" "$URL" "$DATA/data/credentials" "$DATA" "${@:2}"; }

KEY_ID="$(helper setup "$PLAINTEXT_BYTES")" || exit 2
# Checked once here so nothing is measured unless both requests are accepted.
ENC_BODY="$(helper sign Encrypt)" || exit 2
DEC_BODY="$(helper sign Decrypt)" || exit 2

# server_ticks: CPU time (user+system, all threads) the server has used, in clock ticks
server_ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"; }
CLK_TCK="$(getconf CLK_TCK)"

# run_wrk LABEL ARGS... -> "rps p50_us p99_us non2xx sockerr server_cpu_us_per_request";
# full output in $DATA/LABEL.txt
run_wrk() {
    local label="$1" t0 t1; shift
    t0="$(server_ticks)"
    wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$@" >"$DATA/$label.txt" 2>&1 || true
    t1="$(server_ticks)"
    awk -v ticks=$((t1 - t0)) -v hz="$CLK_TCK" '
        function us(s,   v) {   # wrk latency: 238.00us, 1.55ms, 2.01s, 1.00m
            v = s + 0
            if (s ~ /us$/) return v
            if (s ~ /ms$/) return v * 1000
            if (s ~ /m$/)  return v * 60e6
            if (s ~ /s$/)  return v * 1e6
            return v
        }
        / requests in /              { nreq = $1 }
        /^Requests\/sec:/            { rps = $2 }
        /^ +50%/                     { p50 = us($2) }
        /^ +99%/                     { p99 = us($2) }
        /Non-2xx or 3xx responses:/  { bad = $NF }
        /Socket errors:/             { gsub(/,/, ""); sockerr = $4 + $6 + $8 + $10 }
        END {
            if (rps == "" || nreq + 0 == 0) { print "0 0 0 -1 -1 0"; exit }
            print rps, p50 + 0, p99 + 0, bad + 0, sockerr + 0, ticks / hz * 1e6 / nreq
        }' "$DATA/$label.txt"
}

# kms_row LABEL OP: re-signs OP (a fresh 15-minute window per row), runs wrk on it,
# under perf when PERF_DIR is set; the figures go to $DATA/LABEL.fig.
kms_row() {
    local label="$1" op="$2"
    helper sign "$op" >/dev/null || exit 2
    if [ -n "$PERF_DIR" ]; then
        # shellcheck disable=SC2086  # PERF_ARGS is a list of options
        perf record $PERF_ARGS -p "$SERVER_PID" -o "$PERF_DIR/$label.data" -- sleep "$DURATION" \
            >"$DATA/perf-$label.out" 2>&1 &
        PERF_PID=$!
    fi
    run_wrk "$label" -s "$DATA/${op,,}.lua" "$URL/" >"$DATA/$label.fig"
    if [ -n "$PERF_PID" ]; then
        wait "$PERF_PID" 2>/dev/null || echo "kms_bench: perf record failed for $label (see below)" >&2
        [ -s "$PERF_DIR/$label.data" ] || tail -n 5 "$DATA/perf-$label.out" >&2
        PERF_PID=""
    fi
}

echo "cloister kms_bench: wrk -t$THREADS -c$CONNS -d$DURATION --latency (keep-alive) on $URL, $(nproc) CPUs shared by wrk and server"
echo "key $KEY_ID (SYMMETRIC_DEFAULT, default key policy); Encrypt body $ENC_BODY bytes ($PLAINTEXT_BYTES B plaintext), Decrypt body $DEC_BODY bytes"
[ -n "$PERF_DIR" ] && echo "perf record ($PERF_ARGS) on the server during (b) and (c) -> $PERF_DIR: the figures are lowered by it"
run_wrk floor "$URL/_cloister/empty" >"$DATA/floor.fig"
kms_row encrypt Encrypt
kms_row decrypt Decrypt
FLOOR="$(cat "$DATA/floor.fig")"
ENC="$(cat "$DATA/encrypt.fig")"
DEC="$(cat "$DATA/decrypt.fig")"

BAD=0
$PY - "$TARGET" "$PLAINTEXT_BYTES" "$FLOOR" "$ENC" "$DEC" <<'PYEOF' || BAD=1
import sys
target, nbytes = float(sys.argv[1]), int(sys.argv[2])
rows = [("(a) GET /_cloister/empty (floor)", sys.argv[3]),
        (f"(b) KMS Encrypt, {nbytes} B plaintext", sys.argv[4]),
        (f"(c) KMS Decrypt of (b)'s blob", sys.argv[5])]
vals = []
for name, s in rows:
    rps, p50, p99, bad, sockerr, cpu = s.split()
    vals.append((name, float(rps), float(p50), float(p99), int(bad), int(sockerr), float(cpu)))
floor = vals[0][1]
print(f"\n{'request':<38} {'requests/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'sockerr':>8}"
      f" {'srv µs/req':>10} {'x floor':>8}  target")
for i, (name, rps, p50, p99, bad, sockerr, cpu) in enumerate(vals):
    ratio = rps / floor if floor else float("nan")
    mark = "" if i == 0 else f"  >= {target:.1f}x  {'ok' if ratio >= target else 'BELOW'}"
    print(f"{name:<38} {rps:>11.1f} {p50 / 1000:>8.3f} {p99 / 1000:>8.3f} {bad:>8} {sockerr:>8}"
          f" {cpu:>10.1f} {ratio:>7.3f}x{mark}")
print("srv µs/req: the server's own CPU time (user+system, all threads, /proc/PID/stat) during the row,"
      " per request")
if floor:
    for name, rps, *_, cpu in vals[1:]:
        if rps:
            print(f"  {name[4:]}: +{1e6 / rps - 1e6 / floor:.1f} µs of wall time per request over the "
                  f"floor (1/rps - 1/floor); server CPU {cpu:.1f} µs per request, "
                  f"+{cpu - vals[0][6]:.1f} µs over the floor's")
if any(v[1] == 0 for v in vals):
    print("\nkms_bench: wrk gave no figures for some row (see the warning below)", file=sys.stderr)
    sys.exit(1)
if any(v[4] or v[5] for v in vals):
    sys.exit(1)
PYEOF
if [ "$BAD" != 0 ]; then
    echo "WARNING: some answers were not 2xx or some sockets failed; the figures above do not measure what they claim." >&2
    for label in floor encrypt decrypt; do
        echo "--- wrk $label:" >&2
        tail -n 12 "$DATA/$label.txt" >&2
    done
    tail -n 5 "$DATA/serve.err" >&2
fi
