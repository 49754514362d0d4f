#!/usr/bin/env bash
# `make fuzz`: runs every libFuzzer target in tests/fuzz for a bounded time.
set -euo pipefail
dir=$1; secs=${2:-60}
cd "$(dirname "$0")/.."
mkdir -p fuzz-corpus
rc=0
for t in "$dir"/tests/fuzz/fuzz_*; do
    [ -f "$t" ] && [ -x "$t" ] || continue
    name=$(basename "$t")
    mkdir -p "fuzz-corpus/$name"
    seeds="tests/fuzz/seeds/$name"; [ -d "$seeds" ] || seeds=""
    echo "== $name for ${secs}s"
    if ! "$t" -max_total_time="$secs" -max_len=65536 -print_final_stats=1 "fuzz-corpus/$name" $seeds 2>"fuzz-corpus/$name.log"; then
        echo "$name: FAILED (see fuzz-corpus/$name.log)"; tail -30 "fuzz-corpus/$name.log"; rc=1
    else
        grep -E 'stat::number_of_executed_units|cov:' "fuzz-corpus/$name.log" | tail -2
    fi
done
exit $rc
