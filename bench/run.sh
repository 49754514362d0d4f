#!/usr/bin/env bash
# `make bench`: every benchmark, figures printed next to their baselines in the
# same run. Never fails on time; fails only if a benchmark cannot measure.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== SigV4 verification in C (bench/sigv4_verify)"
./build/bench/sigv4_verify
echo
echo "== authentication over HTTP vs the empty-handler floor (bench/auth_http.sh)"
CLOISTER_BIN=./build/cloister bash bench/auth_http.sh
echo
echo "== S3 GET/PUT next to nginx and write+fsync, peak RSS (bench/s3_bench.sh)"
CLOISTER_BIN=./build/cloister bash bench/s3_bench.sh
echo
echo "== KMS Encrypt/Decrypt of 4 KiB vs the empty-handler floor (bench/kms_bench.sh)"
CLOISTER_BIN=./build/cloister bash bench/kms_bench.sh
echo
echo "== sandbox start: bwrap + seccomp + cgroups vs plain fork+exec (bench/enclave_start)"
./build/bench/enclave_start
echo
echo "== proof of reserves: prove, verify, verify-inclusion (bench/por_bench.sh)"
CLOISTER_BIN=./build/cloister bash bench/por_bench.sh
echo
echo "== confidential run: RunApp -> first instruction / done vs fork+exec (bench/run_bench.py)"
CLOISTER_BIN=./build/cloister /usr/bin/python3 bench/run_bench.py 100
echo
echo "== triggers and the task queue: upload -> app -> output listable, tasks/s, PoR on upload (bench/trigger_bench.py)"
CLOISTER_BIN=./build/cloister /usr/bin/python3 bench/trigger_bench.py 50 40
echo
echo "== remote signer: ATTESTATION signatures/s and p50/p99 via HTTP, slashing on, vs raw blst (bench/signer_bench.py)"
CLOISTER_BIN=./build/cloister /usr/bin/python3 bench/signer_bench.py 256 5
echo
echo "== remote signer: keystores on all cores vs raw scrypt, the sealed-cache restart, raw blst signing (bench/signer_keys_bench)"
./build/bench/signer_keys_bench
echo
echo "== remote signer: slashing checks at 10,000 validators vs 1, and the in-memory part (bench/signer_slashing_bench)"
./build/bench/signer_slashing_bench
echo
echo "== remote signer: start-up with 10,000 KMS-sealed keys vs deriving their public keys (bench/signer_kms_bench)"
./build/bench/signer_kms_bench
echo
echo "== meta store: SQLite vs PostgreSQL vs two PostgreSQL nodes, and cross-node cache invalidation (bench/pg_bench.py)"
CLOISTER_BIN=./build/cloister /usr/bin/python3 bench/pg_bench.py
