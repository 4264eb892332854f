#!/usr/bin/env bash
# Install every Debian 12 package Portico needs to build and test. Idempotent: when everything
# is installed it says so and exits 0 without touching apt. Must run as root.
#
#   scripts/deps.sh            install what is missing
#   scripts/deps.sh --check    only list what is missing (exit 1 if anything is)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/common.sh
. "$here/lib/common.sh"

build_packages=(
  g++ meson ninja-build pkg-config
  libdpdk-dev dpdk libhyperscan-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
  nlohmann-json3-dev libgtest-dev libbenchmark-dev libcurl4-openssl-dev
  protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev
)
test_packages=(
  iproute2 iputils-ping arping ndisc6 tcpdump tshark python3 python3-scapy
  ethtool valgrind procps psmisc clang libclang-rt-14-dev curl wrk nginx-light
  bird2 gobgpd frr python3-prometheus-client openssl python3-cryptography
)
# BGP routers the system tests start themselves, in the testbed's router namespace. Their
# packages enable services that would run them in the root namespace: never wanted here.
router_services=(bird gobgpd frr)

# Print the packages among "$@" that are not installed (one dpkg-query for all of them).
missing_of() {
  local -A ok=()
  local name status
  while read -r name status; do
    [[ $status == installed ]] && ok[${name%%:*}]=1
  done < <(dpkg-query -W -f='${binary:Package} ${db:Status-Status}\n' "$@" 2>/dev/null || true)
  for name in "$@"; do [[ -n ${ok[$name]:-} ]] || printf '%s\n' "$name"; done
}

mapfile -t missing < <(missing_of "${build_packages[@]}" "${test_packages[@]}")

# Stop and disable the routers' services (systemd; without it, Debian's policy-rc.d or the lack
# of an init usually kept them from starting, and a daemon found running anyway is stopped).
quiet_router_services() {
  local s
  if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
    for s in "${router_services[@]}"; do
      if systemctl list-unit-files "$s.service" 2>/dev/null | grep -q "^$s.service"; then
        systemctl disable --now "$s.service" >/dev/null 2>&1 ||
          die "could not stop and disable $s.service"
      fi
    done
  else
    for s in "${router_services[@]}"; do
      [[ -x /etc/init.d/$s ]] && /etc/init.d/"$s" status >/dev/null 2>&1 &&
        { /etc/init.d/"$s" stop >/dev/null 2>&1 || die "could not stop $s"; }
    done
  fi
  return 0
}

if [[ ${1:-} == --check ]]; then
  ((${#missing[@]} == 0)) && { log "all packages installed"; exit 0; }
  printf '%s\n' "${missing[@]}"
  exit 1
fi
[[ $# -eq 0 ]] || die "usage: ${0##*/} [--check]"
require_root

if ((${#missing[@]} == 0)); then
  quiet_router_services
  log "deps: all ${#build_packages[@]} build and ${#test_packages[@]} test packages installed"
  exit 0
fi

command -v apt-get >/dev/null || die "apt-get not found: this script targets Debian 12"
log "deps: installing ${missing[*]}"

export DEBIAN_FRONTEND=noninteractive
# tshark (wireshark-common) asks whether non-root users may capture: answer no, ahead of time.
if printf '%s\n' "${missing[@]}" | grep -qx tshark; then
  echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections ||
    die "debconf-set-selections failed"
fi

apt-get update || die "apt-get update failed"
apt-get install -y --no-install-recommends "${missing[@]}" || die "apt-get install failed: ${missing[*]}"

mapfile -t still < <(missing_of "${missing[@]}")
((${#still[@]} == 0)) || die "still missing after install: ${still[*]}"
quiet_router_services
log "deps: installed ${#missing[@]} package(s)"
