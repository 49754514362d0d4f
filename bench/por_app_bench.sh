#!/bin/sh
# por_app_bench.sh — the proof of reserves on the host vs. as a Cloister app
# (docs/por.md, "As a Cloister app"): wall time of `cloister por prove` (all
# CPUs, then one thread: a run's CPU quota is one CPU), then of `cloister run por
# --input LEDGER --watch` (RunApp -> done, through the CLI: reading and sending
# the ledger, 100 ms polling) on a fresh local node, and the sizes a run's
# result must hold: the outputs and their canonical tar (what TASKS_OUTPUT_MAX
# bounds). Prints figures, never fails on time; a run refused by the node's
# limits (input or output size) is reported with the task's error.
#
#   bench/por_app_bench.sh                      10k accounts x 1 asset
#   ACCOUNTS=100000 bench/por_app_bench.sh
#
# Environment: CLOISTER_BIN (build/cloister; cloister-por must be beside it),
# ACCOUNTS (10000), ASSETS (1), BENCH_TMP (/var/tmp).
set -eu
BIN=$(readlink -f "${CLOISTER_BIN:-build/cloister}")
ACCOUNTS=${ACCOUNTS:-10000}
ASSETS=${ASSETS:-1}
[ -x "$BIN" ] || { echo "por_app_bench: $BIN not built" >&2; exit 1; }
work=$(mktemp -d "${BENCH_TMP:-/var/tmp}/por-app-bench.XXXXXX")
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
now() { date +%s.%N; }
secs() { echo "$1 $2" | awk '{printf "%.2f", $2 - $1}'; }
# bytes of a tree, and of its canonical tar (512 B a header, data padded to 512, end blocks)
sizes() {
    /usr/bin/python3 - "$1" <<'EOF'
import os, sys
files = tar = 0
for root, dirs, names in os.walk(sys.argv[1]):
    tar += 512 * len(dirs)
    for n in names:
        s = os.path.getsize(os.path.join(root, n))
        files += s
        tar += 512 + (s + 511) // 512 * 512
print(f"{files / 2**20:.1f} MiB of files, {(tar + 1024) / 2**20:.1f} MiB as the result tar")
EOF
}

/usr/bin/python3 "$(dirname "$0")/por_gen_ledger.py" "$ACCOUNTS" "$ASSETS" "$work/ledger.json"
echo "ledger: $ACCOUNTS accounts x $ASSETS assets, $(stat -c %s "$work/ledger.json") bytes; $(nproc) CPUs"
for t in "" 1; do
    t0=$(now)
    "$BIN" por prove "$work/ledger.json" --out "$work/host$t" ${t:+--threads $t} >"$work/host.json" 2>/dev/null
    echo "host: cloister por prove${t:+ --threads $t}: $(secs "$t0" "$(now)") s"
done
rm -f "$work/host1/private_nonces.json"
echo "outputs (without private_nonces.json): $(sizes "$work/host1")"
for f in final_proof.json merkle_tree.json proofs.zip; do
    echo "  $f: $(stat -c %s "$work/host1/$f") bytes"
done

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" serve --data "$work/data" --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
pid=$!
export CLOISTER_ENDPOINT="http://127.0.0.1:$port" AWS_SHARED_CREDENTIALS_FILE="$work/data/credentials"
export AWS_PROFILE=cloister AWS_DEFAULT_REGION=us-east-1
i=0
until [ -s "$work/data/credentials" ] && "$BIN" app list >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -lt 200 ] || { echo "por_app_bench: the node did not start" >&2; exit 1; }
    sleep 0.1
done
"$BIN" por app --out "$work/app" 2>/dev/null | PATH="$(dirname "$BIN"):$PATH" sh >/dev/null
t0=$(now)
if "$BIN" run por --input "$work/ledger.json" --watch >"$work/run.log" 2>"$work/run.err"; then
    echo "app: cloister run por --input ledger --watch (RunApp -> done): $(secs "$t0" "$(now)") s"
else
    echo "app: the run failed after $(secs "$t0" "$(now)") s: $(tail -1 "$work/run.err")"
fi
