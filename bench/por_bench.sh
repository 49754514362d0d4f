#!/usr/bin/env bash
# por_bench.sh — proof of reserves: `cloister por prove`, `verify` and
# `verify-inclusion` on generated ledgers, wall and CPU time, peak RSS, where
# the prover's time goes, and the output sizes; next to blst's own MSM,
# SHA-256 and range-proof figures measured in the same run
# (build/bench/por_curve_bench quick). Prints figures, never fails on time.
#
#   bench/por_bench.sh                    10k accounts x 1, 10, 50 assets
#   BIG=1 bench/por_bench.sh              also 100k and 1M accounts (~25 min on 2 cores)
#   ACCOUNTS="1000 5000" ASSETS="1 50" bench/por_bench.sh
#
# Environment: CLOISTER_BIN (build/cloister), POR_CURVE_BENCH
# (build/bench/por_curve_bench), BENCH_TMP (/var/tmp; the outputs of 1M
# accounts need ~6 GB there), THREADS (prove/verify --threads, default all
# CPUs), INCLUSION (user proofs checked in one verify-inclusion run, 100).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${CLOISTER_BIN:-build/cloister}
CURVE=${POR_CURVE_BENCH:-build/bench/por_curve_bench}
TMP=${BENCH_TMP:-/var/tmp}
INCLUSION=${INCLUSION:-100}
ACCOUNTS=${ACCOUNTS:-10000}
[ "${BIG:-0}" = 1 ] && ACCOUNTS="$ACCOUNTS 100000 1000000"
ASSETS=${ASSETS:-"1 10 50"}
threads=()
[ -n "${THREADS:-}" ] && threads=(--threads "$THREADS")
[ -x "$BIN" ] || { echo "por_bench: $BIN not built (make build)" >&2; exit 1; }
work=$(mktemp -d "$TMP/por-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "machine: $(nproc) online cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
if [ -x "$CURVE" ]; then
    echo "baseline (por_curve_bench quick, same run):"
    "$CURVE" quick | grep -E '^(msm|sha256|pedersen|point decode|rangeproof)' | sed 's/^/  /'
else
    echo "baseline: $CURVE not built, skipped"
fi
echo

# timed LOG CMD... : runs CMD under /usr/bin/time -v, stdout to LOG.out
timed() {
    local log=$1; shift
    /usr/bin/time -v -o "$log.time" "$@" >"$log.out" 2>"$log.err" || {
        echo "por_bench: failed: $*" >&2; tail -5 "$log.err" >&2; tail -3 "$log.out" >&2; return 1; }
}
# field LOG: "wall_s cpu_s rss_mib" from a time -v report
field() {
    awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); w=0; for(i=1;i<=n;i++) w=w*60+a[i]}
                /User time/ {u=$2} /System time/ {s=$2} /Maximum resident/ {r=$2}
                END {printf "%.2f %.2f %.0f", w, u+s, r/1024}' "$1.time"
}

printf '%-9s %-6s | %8s %8s %7s | %6s %7s %6s %6s %7s %6s | %7s %7s %7s | %9s | %8s %8s %8s\n' \
    accounts assets prove_s cpu_s rss_MiB read commit tree link range write \
    verify_s cpu_s rss_MiB incl_ms tree_MB proof_KB users_MB
for n in $ACCOUNTS; do
    for a in $ASSETS; do
        d="$work/$n-$a"
        mkdir -p "$d"
        /usr/bin/python3 bench/por_gen_ledger.py "$n" "$a" "$d/ledger.json"
        timed "$d/prove" "$BIN" por prove "$d/ledger.json" --out "$d/out" "${threads[@]}"
        read -r pw pc pr <<<"$(field "$d/prove")"
        phases=$(/usr/bin/python3 -c 'import json,sys; p=json.loads(open(sys.argv[1]).read())["phases"]
print(" ".join("%.1f" % p[k] for k in ("read","commitments","tree","link_proof","range_proofs","write")))' "$d/prove.out")
        timed "$d/verify" "$BIN" por verify "$d/out" "${threads[@]}"
        read -r vw vc vr <<<"$(field "$d/verify")"
        mapfile -t ups < <(find "$d/out/user_proofs" -name '*.json' | head -n "$INCLUSION")
        timed "$d/incl" "$BIN" por verify-inclusion "${ups[@]}" --root "$d/out/final_proof.json"
        read -r iw _ _ <<<"$(field "$d/incl")"
        incl=$(awk -v w="$iw" -v k="${#ups[@]}" 'BEGIN {printf "%.1f", w * 1000 / k}')
        tree=$(du -m "$d/out/merkle_tree.json" | cut -f1)
        fpk=$(du -k "$d/out/final_proof.json" | cut -f1)
        users=$(du -sm "$d/out/user_proofs" | cut -f1)
        # shellcheck disable=SC2086
        printf '%-9s %-6s | %8s %8s %7s | %6s %7s %6s %6s %7s %6s | %7s %7s %7s | %9s | %8s %8s %8s\n' \
            "$n" "$a" "$pw" "$pc" "$pr" $phases "$vw" "$vc" "$vr" "$incl" "$tree" "$fpk" "$users"
        rm -rf "$d"
    done
done
echo
echo "prove_s/verify_s: wall seconds; cpu_s: user+system over all threads; rss: peak resident."
echo "read..write: the prover's phases in wall seconds (read = streaming ledger parse; commit = nonces,"
echo "blindings, L and V per leaf; tree = node sums and hashes; link = equity link proof;"
echo "range = range proofs (digits + lookup), the dominant cost: compare rangeproof ms/value above; write = all files + syncfs)."
echo "incl_ms: one verify-inclusion per user proof, averaged over $INCLUSION proofs in one run."
