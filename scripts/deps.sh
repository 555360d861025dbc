#!/usr/bin/env bash
# Installs the Debian packages Plue needs to build, run, test and benchmark.
# Idempotent: packages already present are skipped, so `make run` stays fast.
set -euo pipefail

build_pkgs=(
  build-essential pkg-config clang clang-format-19
  libmicrohttpd-dev libpq-dev libgit2-dev libjansson-dev libyaml-dev
  libcurl4-openssl-dev libssl-dev libsecp256k1-dev nettle-dev libsodium-dev
  libjwt-dev libcmark-gfm-dev libcmark-gfm-extensions-dev libcmocka-dev
  libssh-dev
)
run_pkgs=(git postgresql-15 runsc bubblewrap slirp4netns curl ca-certificates)
test_pkgs=(nodejs npm libclang-rt-14-dev openssh-client python3 iproute2 procps
  python3-prometheus-client chromium fonts-dejavu-core openssl)
bench_pkgs=(nginx cgit fcgiwrap wrk python3 openssh-server)

want=("${build_pkgs[@]}" "${run_pkgs[@]}")
case "${1:-run}" in
  run) ;;
  test) want+=("${test_pkgs[@]}") ;;
  bench) want+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "usage: deps.sh [run|test|bench]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  # node may come from outside Debian (a newer nodejs); accept any node on PATH.
  if [ "$p" = nodejs ] || [ "$p" = npm ]; then
    command -v "${p/nodejs/node}" >/dev/null 2>&1 && continue
  fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
