#!/usr/bin/env bash
# s3_bench.sh — the object store against plain baselines, in the same run.
#
#   GET  wrk (keep-alive) on 127.0.0.1 against a private `cloister serve` (anonymous
#        GETs allowed by a public-read bucket policy, and one presigned row) next to
#        a private nginx serving the same bytes from files on the same disk:
#        4 KiB ops/s, 1 MiB and 64 MiB MiB/s.
#   PUT  sequential presigned PUTs (fully durable: the server answers only after
#        fsync, rename, directory fsync and the meta store commit) next to a plain
#        write+fsync of the same bytes into a new file on the same filesystem:
#        1 MiB and 64 MiB MiB/s.
#   RSS  the server's peak RSS (VmHWM, fresh process) after a SIZE_GB GiB upload and
#        after downloading it again.
# and the ratios against the baselines with the issue's targets. Never fails on
# time; exits non-zero only if it cannot measure (a tool missing, a server that
# does not start, an answer that is not the expected 200 and bytes).
#
# env: CLOISTER_BIN (default build/cloister), DURATION (wrk, 10s), THREADS (wrk, 2),
#      CONNS_SMALL (4 KiB GETs, 16), CONNS_LARGE (1 MiB / 64 MiB GETs, 4),
#      PUT_COUNT_1M (64), PUT_COUNT_64M (8), SIZE_GB (1; 4 for the issue's figure),
#      SERVER_THREADS (server's --threads, default its own), NGINX_WORKERS (auto),
#      BENCH_TMP (where the temp dir goes, default /var/tmp: a disk, not tmpfs)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${CLOISTER_BIN:-$ROOT/build/cloister}"
DURATION="${DURATION:-10s}"
THREADS="${THREADS:-2}"
CONNS_SMALL="${CONNS_SMALL:-16}"
CONNS_LARGE="${CONNS_LARGE:-4}"
PUT_COUNT_1M="${PUT_COUNT_1M:-64}"
PUT_COUNT_64M="${PUT_COUNT_64M:-8}"
SIZE_GB="${SIZE_GB:-1}"
NGINX_WORKERS="${NGINX_WORKERS:-auto}"
BENCH_TMP="${BENCH_TMP:-/var/tmp}"
PY=/usr/bin/python3
HELPER="$ROOT/bench/s3_helper.py"
LUA="$ROOT/bench/s3_get.lua"
BUCKET=bench
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

die() { echo "s3_bench: $*" >&2; exit 2; }
command -v wrk >/dev/null || die "wrk not found (Debian package wrk; run make deps)"
[ -x "$NGINX" ] || die "nginx not found (Debian package nginx; run make deps)"
command -v curl >/dev/null || die "curl not found"
[ -x "$BIN" ] || die "$BIN not built (ninja -C build cloister)"
$PY -c 'import boto3' 2>/dev/null || die "python3-boto3 missing"
case "$SIZE_GB" in '' | *[!0-9]*) die "SIZE_GB must be a whole number of GiB" ;; esac

D="$(mktemp -d -p "$BENCH_TMP" cloister-s3bench-XXXXXX)"
SERVER_PID=""
NGINX_PID=""
stop_server() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}
cleanup() {
    stop_server
    if [ -n "$NGINX_PID" ] && kill -0 "$NGINX_PID" 2>/dev/null; then
        kill -TERM "$NGINX_PID" 2>/dev/null || true
        wait "$NGINX_PID" 2>/dev/null || true
    fi
    rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_server: a `cloister serve` on the data dir $D/data, on a fresh port -> $URL, $SERVER_PID
start_server() {
    local port args
    port="$(free_port)"
    URL="http://127.0.0.1:$port"
    args=(serve --data "$D/data" --listen "127.0.0.1:$port")
    [ -n "${SERVER_THREADS:-}" ] && args+=(--threads "$SERVER_THREADS")
    "$BIN" "${args[@]}" >>"$D/serve.out" 2>>"$D/serve.err" &
    SERVER_PID=$!
    for _ in $(seq 200); do
        if curl -sf "$URL/_cloister/health" >/dev/null 2>&1 && [ -f "$D/data/credentials" ]; then return 0; fi
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$D/serve.err" >&2; die "cloister serve exited"; }
        sleep 0.1
    done
    die "cloister serve not healthy"
}

hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$SERVER_PID/status"; }

# ---- Cloister, objects, nginx over the same bytes
start_server
CREDS="$D/data/credentials"
PRESIGNED_4K="$($PY "$HELPER" setup "$URL" "$CREDS" "$BUCKET" "$D/www")" || die "set-up failed"

NPORT="$(free_port)"
NURL="http://127.0.0.1:$NPORT"
mkdir -p "$D/nginx/tmp"
{
    [ "$(id -u)" = 0 ] && echo "user root;"   # workers must read files in a 0700 temp dir
    cat <<EOF
worker_processes $NGINX_WORKERS;
daemon off;
pid $D/nginx/nginx.pid;
error_log $D/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 120s;
    keepalive_requests 100000000;
    default_type application/octet-stream;
    client_body_temp_path $D/nginx/tmp/body;
    proxy_temp_path $D/nginx/tmp/proxy;
    fastcgi_temp_path $D/nginx/tmp/fastcgi;
    uwsgi_temp_path $D/nginx/tmp/uwsgi;
    scgi_temp_path $D/nginx/tmp/scgi;
    server {
        listen 127.0.0.1:$NPORT;
        root $D/www;
        location / { }
    }
}
EOF
} >"$D/nginx/nginx.conf"
"$NGINX" -p "$D/nginx" -c "$D/nginx/nginx.conf" -e "$D/nginx/error.log" >"$D/nginx/out" 2>&1 &
NGINX_PID=$!
for _ in $(seq 100); do
    curl -sf "$NURL/obj-4k" -o /dev/null 2>/dev/null && break
    kill -0 "$NGINX_PID" 2>/dev/null || { cat "$D/nginx/out" "$D/nginx/error.log" >&2 2>/dev/null; die "nginx exited"; }
    sleep 0.1
done
for f in obj-4k obj-1m obj-64m; do
    cmp -s <(curl -sf "$NURL/$f") "$D/www/$f" || die "nginx does not serve $f byte-exact"
done

# run_wrk LABEL CONNS URL -> "requests seconds rps p50_us p99_us non2xx sockerr"
run_wrk() {
    local label="$1" conns="$2" url="$3"
    wrk -t"$THREADS" -c"$conns" -d"$DURATION" --timeout 60s -s "$LUA" "$url" >"$D/wrk-$label.txt" 2>&1 || true
    awk '/^S3BENCH/ {
            for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
            print v["requests"], v["seconds"], v["rps"], v["p50_us"], v["p99_us"], v["non2xx"], v["sockerr"]; found = 1 }
         END { if (!found) print "0 1 0 0 0 -1 -1" }' "$D/wrk-$label.txt"
}

BAD=0
declare -A R
# get_row LABEL CONNS URL: stores R[LABEL]="rps p50 p99" and notes bad answers
get_row() {
    local label="$1" rps p50 p99 non2xx sockerr
    read -r _ _ rps p50 p99 non2xx sockerr < <(run_wrk "$@")
    if [ "$non2xx" != 0 ] || [ "$sockerr" != 0 ]; then
        echo "WARNING: $label: $non2xx non-2xx answers, $sockerr socket errors (see below)" >&2
        tail -n 15 "$D/wrk-$label.txt" >&2
        BAD=1
    fi
    R[$label]="$rps $p50 $p99"
}

echo "cloister s3_bench: $(nproc) CPUs shared by wrk, the servers and the clients; data in $D"
echo "GET: wrk -t$THREADS -d$DURATION keep-alive; 4 KiB with $CONNS_SMALL connections, 1 MiB and 64 MiB with $CONNS_LARGE"
echo "  nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///') (worker_processes $NGINX_WORKERS, sendfile) on $NURL; cloister on $URL"
get_row n4k "$CONNS_SMALL" "$NURL/obj-4k"
get_row c4k "$CONNS_SMALL" "$URL/$BUCKET/obj-4k"
get_row p4k "$CONNS_SMALL" "$PRESIGNED_4K"
get_row n1m "$CONNS_LARGE" "$NURL/obj-1m"
get_row c1m "$CONNS_LARGE" "$URL/$BUCKET/obj-1m"
get_row n64m "$CONNS_LARGE" "$NURL/obj-64m"
get_row c64m "$CONNS_LARGE" "$URL/$BUCKET/obj-64m"

# ---- PUT, durable, next to write+fsync
read -r PUT1_S FS1_S < <($PY "$HELPER" put "$URL" "$CREDS" "$BUCKET" "$D/fsync" $((1 << 20)) "$PUT_COUNT_1M") || die "PUT 1 MiB failed"
read -r PUT64_S FS64_S < <($PY "$HELPER" put "$URL" "$CREDS" "$BUCKET" "$D/fsync" $((64 << 20)) "$PUT_COUNT_64M") || die "PUT 64 MiB failed"

# ---- peak RSS of a fresh server process across a SIZE_GB GiB upload and download
stop_server
start_server
BIG="$D/big.bin"
head -c $((SIZE_GB << 30)) /dev/urandom >"$BIG"
BIG_MD5="$(md5sum "$BIG" | cut -d' ' -f1)"
HWM_IDLE="$(hwm_kib)"
PUT_URL="$($PY "$HELPER" presign "$URL" "$CREDS" "$BUCKET" big.bin PUT)"
BIG_PUT="$(curl -s -o "$D/bigput.out" -D "$D/bigput.hdr" -H 'Expect:' -T "$BIG" -w '%{http_code} %{time_total}' "$PUT_URL")"
grep -qi "^etag: \"$BIG_MD5\"" "$D/bigput.hdr" || { cat "$D/bigput.hdr" "$D/bigput.out" >&2; die "the $SIZE_GB GiB PUT was not stored (${BIG_PUT%% *})"; }
HWM_PUT="$(hwm_kib)"
rm -f "$BIG"
BIG_GET="$(curl -s -o /dev/null -w '%{http_code} %{time_total} %{size_download}' "$URL/$BUCKET/big.bin")"
[ "$(echo "$BIG_GET" | cut -d' ' -f3)" = $((SIZE_GB << 30)) ] || die "the $SIZE_GB GiB GET was short: $BIG_GET"
HWM_GET="$(hwm_kib)"

# ---- the table
$PY - "$SIZE_GB" "$PUT_COUNT_1M" "$PUT_COUNT_64M" "$PUT1_S" "$FS1_S" "$PUT64_S" "$FS64_S" \
    "$HWM_IDLE" "$HWM_PUT" "$HWM_GET" "$BIG_PUT" "$BIG_GET" \
    "${R[n4k]}" "${R[c4k]}" "${R[p4k]}" "${R[n1m]}" "${R[c1m]}" "${R[n64m]}" "${R[c64m]}" <<'PYEOF'
import sys
a = sys.argv[1:]
size_gb, n1, n64 = int(a[0]), int(a[1]), int(a[2])
put1, fs1, put64, fs64 = map(float, a[3:7])
hwm_idle, hwm_put, hwm_get = (int(x) / 1024 for x in a[7:10])
big_put, big_get = a[10].split(), a[11].split()
rows = {k: [float(x) for x in v.split()] for k, v in
        zip(["n4k", "c4k", "p4k", "n1m", "c1m", "n64m", "c64m"], a[12:19])}
MiB = 1 << 20

def rate(k, size=None):
    rps = rows[k][0]
    return rps if size is None else rps * size / MiB

def lat(k):
    return f"p50 {rows[k][1] / 1000:.2f} / p99 {rows[k][2] / 1000:.2f} ms"

def line(what, base, val, unit, target):
    r = val / base if base else float("nan")
    mark = "ok" if r >= target else "BELOW"
    print(f"{what:<38} {base:>12.1f} {val:>12.1f}  {unit:<6} {r:>6.2f}x  >= {target:.1f}x  {mark}")

print(f"\n{'GET':<38} {'nginx':>12} {'cloister':>12}  {'unit':<6} {'ratio':>7}  target")
line("4 KiB, anonymous (public policy)", rate("n4k"), rate("c4k"), "ops/s", 0.7)
line("4 KiB, presigned (SigV4 query)", rate("n4k"), rate("p4k"), "ops/s", 0.7)
line("1 MiB, anonymous", rate("n1m", MiB), rate("c1m", MiB), "MiB/s", 0.9)
line("64 MiB, anonymous", rate("n64m", 64 * MiB), rate("c64m", 64 * MiB), "MiB/s", 0.9)
print("  latency  4 KiB: nginx " + lat("n4k") + ", cloister " + lat("c4k") + ", presigned " + lat("p4k"))
print("           1 MiB: nginx " + lat("n1m") + ", cloister " + lat("c1m"))
print("          64 MiB: nginx " + lat("n64m") + ", cloister " + lat("c64m"))

print(f"\n{'PUT (sequential, one client)':<38} {'write+fsync':>12} {'cloister':>12}  {'unit':<6} {'ratio':>7}  target")
line(f"1 MiB x {n1}", n1 / fs1, n1 / put1, "MiB/s", 0.8)
line(f"64 MiB x {n64}", n64 * 64 / fs64, n64 * 64 / put64, "MiB/s", 0.8)
print(f"  per object: 1 MiB {1000 * put1 / n1:.1f} ms (write+fsync {1000 * fs1 / n1:.1f} ms), "
      f"64 MiB {1000 * put64 / n64:.0f} ms (write+fsync {1000 * fs64 / n64:.0f} ms)")

print(f"\nserver peak RSS (VmHWM of a fresh process), {size_gb} GiB object      target < 64 MiB")
print(f"  idle {hwm_idle:.1f} MiB; after the upload {hwm_put:.1f} MiB "
      f"({size_gb * 1024 / float(big_put[1]):.0f} MiB/s, presigned curl -T); after the download "
      f"{hwm_get:.1f} MiB ({size_gb * 1024 / float(big_get[1]):.0f} MiB/s)  "
      f"{'ok' if hwm_get < 64 else 'ABOVE'}")
PYEOF
if [ "$BAD" != 0 ]; then
    echo "WARNING: some GET answers were not 2xx; the GET figures above do not measure what they claim." >&2
fi
