#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build, run and test arsec, and gives
# DPDK its hugepages. Idempotent: a second run changes nothing and takes a second.
set -euo pipefail

PACKAGES=(
  # build
  build-essential pkg-config meson ninja-build
  libdpdk-dev dpdk libipsec-mb-dev libconfig++-dev libabsl-dev
  libgtest-dev libgmock-dev googletest libssl-dev libedit-dev libpcap-dev zlib1g-dev
  # run and test
  iproute2 iputils-ping nftables tshark python3-scapy python3-pytest tmux ethtool
  strongswan-charon strongswan-swanctl libcharon-extra-plugins libcharon-extauth-plugins libstrongswan-standard-plugins
  # benchmarks (perf/): dpdk-test-crypto-perf, the IPsec result plot
  dpdk-dev python3-matplotlib
)
HUGEPAGES_2M=${ARSEC_HUGEPAGES:-1024}   # 2 GiB: room for a few dataplanes side by side

if [ "$(id -u)" -ne 0 ]; then
  echo "bootstrap: run as root (apt-get, hugepages and network namespaces need it)" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; answer for it.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Hugepages: DPDK's primary/secondary processes share memory through hugetlbfs.
nr=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
if [ "$(cat $nr)" -lt "$HUGEPAGES_2M" ]; then
  echo "$HUGEPAGES_2M" > "$nr"
  echo "bootstrap: reserved $(cat $nr) hugepages of 2 MiB"
fi
if ! grep -qs ' /dev/hugepages hugetlbfs ' /proc/mounts; then
  mkdir -p /dev/hugepages
  mount -t hugetlbfs nodev /dev/hugepages
  echo "bootstrap: mounted hugetlbfs on /dev/hugepages"
fi
mkdir -p /run/arsec
