#!/usr/bin/env bash
# `make test`: unit tests, end-to-end tests against a real server with the real
# aws CLI and boto3, then the unit tests again under ASan+UBSan. Prints one
# closing line "tests: N passed, N failed" and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
passed=0; failed=0
log=$(mktemp -d)

count_meson() { # dir label
    local out="$log/$2.txt"
    meson test -C "$1" --suite unit --print-errorlogs >"$out" 2>&1; local rc=$?
    cat "$out" | grep -E '^ *[0-9]+/[0-9]+ |Ok:|Fail:|FAIL|ERROR' || true
    local ok fail
    ok=$(awk '/^Ok:/ {print $2}' "$out"); fail=$(awk '/^Fail:/ {print $2}' "$out")
    ok=${ok:-0}; fail=${fail:-0}
    [ $rc -ne 0 ] && [ "$fail" = 0 ] && fail=1 && tail -40 "$out"
    passed=$((passed + ok)); failed=$((failed + fail))
}

echo "== unit tests"
count_meson build unit

echo "== end-to-end tests (aws CLI, boto3, real server)"
if ls tests/e2e/test_*.py >/dev/null 2>&1; then
    /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e 2>&1 | tee "$log/e2e.txt"
    rc=${PIPESTATUS[0]}
    p=$(grep -oE '[0-9]+ passed' "$log/e2e.txt" | tail -1 | awk '{print $1}')
    f=$(grep -oE '[0-9]+ (failed|error|errors)' "$log/e2e.txt" | awk '{s+=$1} END {print s+0}')
    p=${p:-0}; f=${f:-0}
    [ $rc -ne 0 ] && [ "$f" = 0 ] && f=1
    passed=$((passed + p)); failed=$((failed + f))
fi

echo "== unit tests under ASan+UBSan"
[ -f build-asan/build.ninja ] || meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
if ninja -j2 -C build-asan >"$log/asan-build.txt" 2>&1; then
    count_meson build-asan asan
else
    tail -30 "$log/asan-build.txt"; failed=$((failed + 1))
fi

rm -rf "$log"
echo
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
