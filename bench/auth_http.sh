#!/usr/bin/env bash
# auth_http.sh — what SigV4 authentication costs over HTTP, end to end.
#
# Starts a private `cloister serve` on 127.0.0.1 (temp data dir), then runs wrk
# (keep-alive) twice against it and prints the two figures side by side:
#   (a) GET /_cloister/empty          the HTTP floor: no auth, empty body
#   (b) POST / sts GetCallerIdentity  one request signed once with botocore's
#       SigV4Auth and replayed (valid for the 15-minute skew window)
# and the ratio b/a. Never fails on time; exits non-zero only if it cannot run
# (no wrk, server does not start, the signed request is not accepted).
#
# env: CLOISTER_BIN (default build/cloister), DURATION (10s), THREADS (2),
#      CONNS (16), SERVER_THREADS (server thread pool, default the server's own)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${CLOISTER_BIN:-$ROOT/build/cloister}"
DURATION="${DURATION:-10s}"
THREADS="${THREADS:-2}"
CONNS="${CONNS:-16}"
PY=/usr/bin/python3

command -v wrk >/dev/null || { echo "auth_http: wrk not found (Debian package wrk; run make deps)" >&2; exit 2; }
[ -x "$BIN" ] || { echo "auth_http: $BIN not built (ninja -C build cloister)" >&2; exit 2; }
$PY -c 'import botocore' 2>/dev/null || { echo "auth_http: python3-botocore missing" >&2; exit 2; }

DATA="$(mktemp -d -t cloister-bench-XXXXXX)"
PORT="$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
URL="http://127.0.0.1:$PORT"
SERVE_ARGS=(serve --data "$DATA/data" --listen "127.0.0.1:$PORT")
[ -n "${SERVER_THREADS:-}" ] && SERVE_ARGS+=(--threads "$SERVER_THREADS")

"$BIN" "${SERVE_ARGS[@]}" >"$DATA/serve.out" 2>"$DATA/serve.err" &
SERVER_PID=$!
cleanup() {
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$DATA"
}
trap cleanup EXIT

for _ in $(seq 100); do
    if curl -sf "$URL/_cloister/health" >/dev/null 2>&1 && [ -f "$DATA/data/credentials" ]; then break; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "auth_http: server exited:" >&2; cat "$DATA/serve.err" >&2; exit 1; }
    sleep 0.1
done
curl -sf "$URL/_cloister/health" >/dev/null || { echo "auth_http: server not healthy" >&2; exit 1; }

# Sign one GetCallerIdentity with botocore, check the server accepts it, write a wrk script.
$PY - "$URL" "$DATA/data/credentials" "$DATA/gci.lua" <<'PYEOF'
import configparser, json, sys, urllib.request
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

url, cred_path, lua_path = sys.argv[1:4]
cp = configparser.ConfigParser()
cp.read(cred_path)
sec = cp["cloister"]
body = "Action=GetCallerIdentity&Version=2011-06-15"
req = AWSRequest(method="POST", url=url + "/", data=body,
                 headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
SigV4Auth(Credentials(sec["aws_access_key_id"], sec["aws_secret_access_key"]), "sts", "us-east-1").add_auth(req)
headers = dict(req.headers.items())
r = urllib.request.Request(url + "/", data=body.encode(), headers=headers, method="POST")
try:
    with urllib.request.urlopen(r, timeout=10) as resp:
        status, text = resp.status, resp.read().decode(errors="replace")
except urllib.error.HTTPError as e:
    status, text = e.code, e.read().decode(errors="replace")
if status != 200 or "GetCallerIdentityResponse" not in text:
    sys.exit(f"auth_http: the signed request is not accepted ({status}): {text[:500]}")
q = json.dumps  # JSON string literals are valid Lua string literals for this ASCII content
with open(lua_path, "w") as f:
    f.write(f'wrk.method = "POST"\nwrk.body = {q(body)}\n')
    for k, v in headers.items():
        f.write(f"wrk.headers[{q(k)}] = {q(v)}\n")
PYEOF

# run_wrk LABEL ARGS... -> prints "rps p50 p99 non2xx" to stdout, full output to $DATA/LABEL.txt
run_wrk() {
    local label="$1"; shift
    wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$@" >"$DATA/$label.txt" 2>&1
    awk '
        /^Requests\/sec:/            { rps = $2 }
        /^ +50%/                     { p50 = $2 }
        /^ +99%/                     { p99 = $2 }
        /Non-2xx or 3xx responses:/  { bad = $NF }
        /Socket errors:/             { sockerr = $0 }
        END { if (bad == "") bad = 0; print rps, p50, p99, bad }' "$DATA/$label.txt"
}

echo "cloister auth_http: wrk -t$THREADS -c$CONNS -d$DURATION (keep-alive) on $URL, $(nproc) CPUs shared by wrk and server"
read -r FLOOR_RPS FLOOR_P50 FLOOR_P99 FLOOR_BAD < <(run_wrk floor "$URL/_cloister/empty")
read -r AUTH_RPS AUTH_P50 AUTH_P99 AUTH_BAD < <(run_wrk sts -s "$DATA/gci.lua" "$URL/")

printf '\n%-40s %14s %10s %10s %9s\n' "request" "requests/s" "p50" "p99" "non-2xx"
printf '%-40s %14s %10s %10s %9s\n' "(a) GET /_cloister/empty (floor)" "$FLOOR_RPS" "$FLOOR_P50" "$FLOOR_P99" "$FLOOR_BAD"
printf '%-40s %14s %10s %10s %9s\n' "(b) POST / sts GetCallerIdentity SigV4" "$AUTH_RPS" "$AUTH_P50" "$AUTH_P99" "$AUTH_BAD"
$PY - "$FLOOR_RPS" "$AUTH_RPS" <<'PYEOF'
import sys
try:
    a, b = float(sys.argv[1]), float(sys.argv[2])
except ValueError:
    sys.exit("\nauth_http: could not read wrk's figures (see the wrk output above)")
print(f"\nratio b/a: {b / a:.3f}   (authenticated requests run at {100 * b / a:.1f}% of the floor rate)")
print(f"added cost per request: {1e6 / b - 1e6 / a:.1f} µs of the machine's time (1/b - 1/a: SigV4 "
      f"parse+verify, key and policy lookup, handler, XML; compare bench/sigv4_verify)")
PYEOF
if [ "$AUTH_BAD" != "0" ] || [ "$FLOOR_BAD" != "0" ]; then
    echo "WARNING: some responses were not 2xx; the figures above do not measure what they claim." >&2
    tail -n 20 "$DATA/sts.txt" >&2
fi
