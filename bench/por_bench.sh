#!/usr/bin/env bash
# por_bench.sh — proof of reserves (cloister-por-v2): `cloister por prove`,
# `verify` and one `verify-inclusion` on generated ledgers: wall and CPU time,
# peak RSS, where the prover's time goes (the "phases" of its result line),
# output sizes, and CPU microseconds per account-asset next to the seed's
# prover (~5,600 core-seconds for 750k accounts x 53 assets = 141 us); next to
# blst's own MSM, SHA-256, commitment and range-proof figures measured in the
# same run (build/bench/por_curve_bench quick). Prints figures, never fails on
# time.
#
#   bench/por_bench.sh                    10k accounts x 1, 10, 50 assets
#   BIG=1 bench/por_bench.sh              also 100k x 1, 10, 50 and 1M x 1 (hours on 2 cores)
#   ACCOUNTS="1000 5000" ASSETS="1 50" bench/por_bench.sh
#
# The last line extrapolates 1M x 50 from the largest measured x 50 row by the
# padded leaf count (prove and verify are linear in N·(2n+1) range-proof
# values and 2n commitments per leaf); it says which row it used.
#
# Environment: CLOISTER_BIN (build/cloister), POR_CURVE_BENCH
# (build/bench/por_curve_bench), BENCH_TMP (/var/tmp; v2 outputs of 100k x 50
# need ~1.5 GB there, 1M x 1 ~2 GB), THREADS (prove/verify --threads, default
# all CPUs), INCLUSION (user proofs checked in one verify-inclusion run, 100).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${CLOISTER_BIN:-build/cloister}
CURVE=${POR_CURVE_BENCH:-build/bench/por_curve_bench}
TMP=${BENCH_TMP:-/var/tmp}
INCLUSION=${INCLUSION:-100}
ASSETS=${ASSETS:-"1 10 50"}
RUNS=()
for n in ${ACCOUNTS:-10000}; do for a in $ASSETS; do RUNS+=("$n:$a"); done; done
if [ "${BIG:-0}" = 1 ]; then
    for a in $ASSETS; do RUNS+=("100000:$a"); done
    RUNS+=("1000000:1")
fi
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
# phases OUT: the prover's phase timings (seconds), "-" for a phase it does not report
phases() {
    /usr/bin/python3 -c 'import json,sys
p = json.loads(open(sys.argv[1]).read()).get("phases", {})
print(" ".join(("%.1f" % p[k]) if k in p else "-" for k in ("read","commitments","tree","range_proofs","write")))' "$1"
}

fmt='%-8s %-4s %-7s | %8s %8s %7s | %5s %7s %5s %7s %6s | %8s %8s %7s | %7s | %8s %8s | %7s %7s\n'
# shellcheck disable=SC2059
printf "$fmt" accounts asts padded prove_s cpu_s rss_MiB read commit tree range write \
    verify_s cpu_s rss_MiB incl_ms tree_MB users_MB p_us/aa v_us/aa
last50=""
for run in "${RUNS[@]}"; do
    n=${run%%:*} a=${run##*:}
    d="$work/$n-$a"
    mkdir -p "$d"
    /usr/bin/python3 bench/por_gen_ledger.py "$n" "$a" "$d/ledger.json"
    timed "$d/prove" "$BIN" por prove "$d/ledger.json" --out "$d/out" "${threads[@]}"
    read -r pw pc pr <<<"$(field "$d/prove")"
    ph=$(phases "$d/prove.out")
    padded=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read())["padded"])' "$d/prove.out")
    timed "$d/verify" "$BIN" por verify "$d/out" "${threads[@]}"
    read -r vw vc vr <<<"$(field "$d/verify")"
    mapfile -t ups < <(find "$d/out/user_proofs" -name '*.json' | head -n "$INCLUSION")
    timed "$d/incl" "$BIN" por verify-inclusion "${ups[@]}" --root "$d/out/final_proof.json"
    read -r iw _ _ <<<"$(field "$d/incl")"
    incl=$(awk -v w="$iw" -v k="${#ups[@]}" 'BEGIN {printf "%.1f", w * 1000 / k}')
    tree=$(du -m "$d/out/merkle_tree.json" | cut -f1)
    users=$(du -sm "$d/out/user_proofs" | cut -f1)
    # CPU microseconds per account-asset (real accounts, as the seed's figure counts them)
    pua=$(awk -v c="$pc" -v n="$n" -v a="$a" 'BEGIN {printf "%.0f", c * 1e6 / (n * a)}')
    vua=$(awk -v c="$vc" -v n="$n" -v a="$a" 'BEGIN {printf "%.0f", c * 1e6 / (n * a)}')
    # shellcheck disable=SC2086,SC2059
    printf "$fmt" "$n" "$a" "$padded" "$pw" "$pc" "$pr" $ph "$vw" "$vc" "$vr" "$incl" "$tree" "$users" "$pua" "$vua"
    [ "$a" = 50 ] && last50="$n $padded $pw $pc $pr $vw $vc $tree"
    rm -rf "$d"
done
echo
if [ -n "$last50" ]; then
    read -r n50 p50 pw50 pc50 pr50 vw50 vc50 t50 <<<"$last50"
    awk -v n="$n50" -v p="$p50" -v pw="$pw50" -v pc="$pc50" -v pr="$pr50" -v vw="$vw50" -v vc="$vc50" -v t="$t50" \
        'BEGIN { f = 1048576 / p;
                 printf "1M x 50 EXTRAPOLATED from %s x 50 (padded %s) by the padded leaf count (x%.1f):\n", n, p, f;
                 printf "  prove ~%.0f s wall, ~%.0f core-s (%.0f us per account-asset; the seed: 141), verify ~%.0f s wall, ~%.0f core-s,\n",
                        pw * f, pc * f, pc * f * 1e6 / 5e7, vw * f, vc * f;
                 printf "  merkle_tree.json ~%.1f GB; peak RSS grows with N too (measured %s MiB).\n", t * f / 1000, pr }'
fi
echo "prove_s/verify_s: wall seconds; cpu_s: user+system over all threads; rss: peak resident."
echo "read..write: the prover's phases in wall seconds (read = streaming ledger parse; commit = nonces,"
echo "blindings and the 2n part commitments P, Q per leaf; tree = leaf and node hashes; range = the"
echo "2n+1 columns of range proofs (digits + lookup), the dominant cost; write = all files + syncfs)."
echo "incl_ms: one verify-inclusion per user proof, averaged over $INCLUSION proofs in one run."
echo "p_us/aa, v_us/aa: prove and verify CPU microseconds per (account x asset); the seed's prover"
echo "took ~5,600 core-seconds for 750k x 53, 141 us, without range checks it could be shown to enforce."
