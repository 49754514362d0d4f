#!/usr/bin/env bash
# Installs what Cloister needs to build and test: Debian packages (apt) and blst,
# built from the npm source package @chainsafe/blst@0.2.11 into .deps/blst.
# Idempotent: when everything is present it only checks and exits in well under a second.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS="build-essential meson ninja-build pkg-config clang libclang-rt-14-dev
libssl-dev libmicrohttpd-dev libjansson-dev libexpat1-dev libsqlite3-dev sqlite3
libcurl4-openssl-dev libcmocka-dev libcbor-dev libseccomp-dev bubblewrap libzip-dev libpq-dev
libsecp256k1-dev libutf8proc-dev postgresql
awscli python3-boto3 python3-pytest nodejs curl wrk chromium"

# `scripts/deps.sh bench` also installs what only the benchmarks use (nginx as the
# baseline web server), so `make test` never installs a service it does not need.
[ "${1:-}" = bench ] && PKGS="$PKGS nginx"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "deps: installing Debian packages:$missing"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

# npm ships with nodejs (Debian or NodeSource); a separate Debian npm package conflicts with the latter.
command -v npm >/dev/null || { SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo; $SUDO apt-get install -y -qq npm >/dev/null; }

BLST_VER=0.2.11
if [ ! -f .deps/blst/libblst.a ] || [ "$(cat .deps/blst/VERSION 2>/dev/null)" != "$BLST_VER" ]; then
    echo "deps: building blst from @chainsafe/blst@$BLST_VER"
    rm -rf .deps/blst .deps/blst-src && mkdir -p .deps/blst-src .deps/blst
    (cd .deps/blst-src && npm pack --silent "@chainsafe/blst@$BLST_VER" >/dev/null && tar xzf chainsafe-blst-*.tgz)
    (cd .deps/blst-src/package/blst && sh build.sh >/dev/null)
    cp .deps/blst-src/package/blst/libblst.a .deps/blst/
    mkdir -p .deps/blst/include && cp .deps/blst-src/package/blst/bindings/blst.h .deps/blst-src/package/blst/bindings/blst_aux.h .deps/blst/include/
    echo "$BLST_VER" > .deps/blst/VERSION
    rm -rf .deps/blst-src
fi

# The AWS SDK for JavaScript v3, puppeteer-core (drives Debian's chromium) and the
# stock iexec CLI (iexec@8.24.0, against --sms-listen), and @lodestar/types,
# @chainsafe/ssz and @noble/curves (the signer's independent cross-check) for the end-to-end tests
# (versions pinned by package-lock.json).
if [ ! -d tests/e2e/js/node_modules/@aws-sdk/client-s3 ] || [ ! -d tests/e2e/js/node_modules/puppeteer-core ] ||
    [ ! -x tests/e2e/js/node_modules/.bin/iexec ] || [ ! -d tests/e2e/js/node_modules/@lodestar/types ]; then
    echo "deps: installing npm packages for tests/e2e/js"
    (cd tests/e2e/js && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

# @noble/curves and @noble/hashes for the proof-of-reserves page: web/por/index.html
# loads them from web/por/node_modules (served by `cloister serve` at /por/).
if [ ! -d web/por/node_modules/@noble/curves ] || [ ! -d web/por/node_modules/@noble/hashes ]; then
    echo "deps: installing npm packages for web/por"
    (cd web/por && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
