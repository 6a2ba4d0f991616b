#!/usr/bin/env bash
# Installs the Debian 12 packages FlowMaster builds, tests and benchmarks with.
# Usage: scripts/deps.sh [build|test|bench]   (default: test, which includes build)
# Installs only what is missing; uses sudo when not root. Safe to run repeatedly.
set -euo pipefail

build=(build-essential pkg-config libcivetweb-dev libcjson-dev libsqlite3-dev
       libsodium-dev libuv1-dev libpcre2-dev libexpat1-dev libcurl4-openssl-dev
       libwebsockets-dev libwebsockets-evlib-uv zlib1g-dev)
test=(libcmocka-dev curl python3 python3-aiosmtpd poppler-utils)
bench=(wrk)

want=("${build[@]}")
case "${1:-test}" in
  build) ;;
  test)  want+=("${test[@]}") ;;
  bench) want+=("${test[@]}" "${bench[@]}") ;;
  *) echo "usage: $0 [build|test|bench]" >&2; exit 2 ;;
esac
# Node runs one test (tests/node: an independent JWT check with the jose package); the
# product never needs it. Debian's nodejs + npm, only when no node is on the PATH (a
# NodeSource or nvm install is fine as it is).
if [ "${1:-test}" != build ] && ! command -v node >/dev/null 2>&1; then
  want+=(nodejs npm)
fi
# Chromium runs the web apps' browser tests (tests/browser, driven by playwright-core from
# npm); Debian's package, never a downloaded browser.
if [ "${1:-test}" != build ]; then want+=(chromium); fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Wait for another apt/dpkg (e.g. unattended upgrades) instead of failing at once.
apt=(apt-get -o DPkg::Lock::Timeout=600)
$sudo "${apt[@]}" update -qq
$sudo "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >&2
