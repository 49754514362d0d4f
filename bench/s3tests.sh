#!/usr/bin/env bash
# s3tests.sh — runs the public ceph/s3-tests suite (s3tests/functional/test_s3.py,
# unmodified) against a private `cloister serve` and prints the counts
# (passed / failed / errors / skipped). Measurement only: not part of `make test`,
# fetches nothing; the s3-tests checkout is the first argument.
#
#   bench/s3tests.sh /path/to/s3-tests [pytest args...]
#
# The "main" user is the bootstrap account's admin, "alt" (and "iam alt root") a
# second account made with `cloister account create`; "tenant" and "iam" reuse
# main's keys (Cloister has no tenants). Each test gets a timeout when
# pytest-timeout is installed (PER_TEST_TIMEOUT, default 60 s).
#
# Needs Debian's python3 with the suite's requirements: python3-pytest,
# python3-boto3, python3-munch, python3-isodate, python3-gevent, python3-lxml,
# python3-tz, python3-httplib2, python3-requests, python3-yaml (and optionally
# python3-pytest-timeout).
#
# Debian's botocore (1.29) predates parameters the suite sends (IfNoneMatch on PutObject,
# ChecksumType, conditional deletes...), so botocore refuses those tests before any
# request. When the `python3` on PATH is the same Python minor version with a newer
# boto3 (this machine's pyenv Python), the suite runs on it, with Debian's
# dist-packages appended after its own site-packages for the rest (pytest, munch...).
# PYTHON=/usr/bin/python3 forces Debian's Python and botocore.
#
# The conf names two KMS keys made on the server (kms_keyid, kms_keyid2) for the
# SSE-KMS tests.
#
# env: CLOISTER_BIN (default build/cloister), PYTHON (default: see above),
#      PER_TEST_TIMEOUT (60), OUT (where the junit XML and logs go, default a temp dir),
#      TLS=1 (the suite talks HTTPS to `serve --tls-listen`: SSE-C is refused over HTTP, as on AWS),
#      CLEANUP_SHIM=1 (triage only, not the stock count: bench/s3tests_cleanup_shim.py
#      lets the suite's bucket cleanup work without ListObjectVersions)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SUITE="${1:?usage: bench/s3tests.sh S3TESTS_DIR [pytest args...]}"
shift
SUITE="$(cd "$SUITE" && pwd)"
BIN="${CLOISTER_BIN:-$ROOT/build/cloister}"
SITE=""
PY="${PYTHON:-/usr/bin/python3}"
if [ -z "${PYTHON:-}" ] && command -v python3 >/dev/null; then
    v_deb="$(/usr/bin/python3 -c 'import sys, botocore; print(sys.version_info[:2], botocore.__version__)' 2>/dev/null || true)"
    v_path="$(python3 -c 'import sys, botocore; print(sys.version_info[:2], botocore.__version__)' 2>/dev/null || true)"
    if [ -n "$v_path" ] && [ "${v_path%% *}" = "${v_deb%% *}" ] &&
       [ "$(printf '%s\n%s\n' "${v_deb##* }" "${v_path##* }" | sort -V | tail -1)" != "${v_deb##* }" ]; then
        PY="$(command -v python3)"
        SITE="$(mktemp -d /tmp/s3tests-site.XXXXXX)"
        echo 'import sys; sys.path.append("/usr/lib/python3/dist-packages")' >"$SITE/sitecustomize.py"
        export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
        echo "s3-tests: $PY (botocore ${v_path##* }; Debian's is ${v_deb##* })"
    fi
fi
TIMEOUT="${PER_TEST_TIMEOUT:-60}"
OUT="${OUT:-$(mktemp -d /tmp/s3tests-run.XXXXXX)}"
mkdir -p "$OUT"
DATA="$(mktemp -d /tmp/s3tests-data.XXXXXX)"
PORT="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
EP="http://127.0.0.1:$PORT"

TLS_ARGS=()
SUITE_HOST=127.0.0.1 SUITE_PORT=$PORT SUITE_SECURE=False
if [ "${TLS:-0}" = 1 ]; then  # the suite talks HTTPS (SSE-C needs it, as on AWS)
    SUITE_PORT="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
    TLS_ARGS=(--tls-listen "127.0.0.1:$SUITE_PORT")
    SUITE_HOST=localhost SUITE_SECURE=True
fi
"$BIN" serve --data "$DATA" --listen "127.0.0.1:$PORT" "${TLS_ARGS[@]}" >"$OUT/serve.stdout" 2>"$OUT/serve.stderr" &
SERVER=$!
cleanup() {
    kill "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
    rm -rf "$DATA" ${SITE:+"$SITE"}
}
trap cleanup EXIT
for _ in $(seq 1 300); do
    if [ -f "$DATA/credentials" ] && curl -fs "$EP/_cloister/health" >/dev/null 2>&1; then break; fi
    sleep 0.1
done

ALT_JSON="$(AWS_SHARED_CREDENTIALS_FILE="$DATA/credentials" AWS_PROFILE=cloister \
    AWS_DEFAULT_REGION=us-east-1 "$BIN" account create "s3tests-alt-$$" --endpoint "$EP")"

CONF="$OUT/s3tests.conf"
"$PY" - "$DATA/credentials" "$ALT_JSON" "$EP" "$SUITE_PORT" "$SUITE_HOST" "$SUITE_SECURE" >"$CONF" <<'EOF'
import configparser, json, sys
import boto3
cp = configparser.ConfigParser()
cp.read(sys.argv[1])
main = (cp["cloister"]["aws_access_key_id"], cp["cloister"]["aws_secret_access_key"])
alt_doc = json.loads(sys.argv[2])
alt = (alt_doc["AccessKeyId"], alt_doc["SecretAccessKey"])
def owner(keys):
    s3 = boto3.client("s3", endpoint_url=sys.argv[3], region_name="us-east-1",
                      aws_access_key_id=keys[0], aws_secret_access_key=keys[1])
    return s3.list_buckets()["Owner"]
mo, ao = owner(main), owner(alt)
def section(name, keys, o, extra=""):
    return (f"[{name}]\ndisplay_name = {o.get('DisplayName', o['ID'])}\nuser_id = {o['ID']}\n"
            f"email = {o['ID']}@example.com\naccess_key = {keys[0]}\nsecret_key = {keys[1]}\n{extra}\n")
print(f"[DEFAULT]\nhost = {sys.argv[5]}\nport = {sys.argv[4]}\nis_secure = {sys.argv[6]}\nssl_verify = False\n")
print("[fixtures]\nbucket prefix = s3t-{random}-\n")
kms = boto3.client("kms", endpoint_url=sys.argv[3], region_name="us-east-1",
                   aws_access_key_id=main[0], aws_secret_access_key=main[1])
kid = [kms.create_key(Description="s3-tests %d" % i)["KeyMetadata"]["KeyId"] for i in (1, 2)]
print(section("s3 main", main, mo, f"api_name = \nkms_keyid = {kid[0]}\nkms_keyid2 = {kid[1]}\n"))
print(section("s3 alt", alt, ao))
print(section("s3 tenant", main, mo, "tenant = testx\n"))
print(section("iam", main, mo))
print(section("iam root", main, mo))
print(section("iam alt root", alt, ao))
EOF

TARGS=()
if [ "${CLEANUP_SHIM:-0}" = 1 ]; then
    export PYTHONPATH="$ROOT/bench${PYTHONPATH:+:$PYTHONPATH}"
    TARGS+=(-p s3tests_cleanup_shim)
fi
if "$PY" -c 'import pytest_timeout' 2>/dev/null; then TARGS+=(--timeout "$TIMEOUT"); fi
cd "$SUITE"
set +e
S3TEST_CONF="$CONF" "$PY" -m pytest -q -p no:cacheprovider -rN "${TARGS[@]}" \
    --junitxml "$OUT/junit.xml" s3tests/functional/test_s3.py "$@" >"$OUT/pytest.log" 2>&1
set -e
tail -n 1 "$OUT/pytest.log"
"$PY" - "$OUT/junit.xml" <<'EOF'
import sys, xml.etree.ElementTree as ET
s = ET.parse(sys.argv[1]).getroot()
s = s if s.tag == "testsuite" else s.find("testsuite")
t, f, e, k = (int(s.get(a, 0)) for a in ("tests", "failures", "errors", "skipped"))
print(f"s3-tests: {t} tests, {t - f - e - k} passed, {f} failed, {e} errors, {k} skipped")
EOF
echo "junit: $OUT/junit.xml  log: $OUT/pytest.log"
