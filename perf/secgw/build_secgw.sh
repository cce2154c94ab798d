#!/bin/bash
# build_secgw.sh: builds DPDK's examples/ipsec-secgw from Debian's source package of the
# *installed* DPDK, so that arsec can be benchmarked side by side with it on the same
# harness (perf/run_bench.py --suite ipsec, docs/benchmarks.md "IPsec (issue 3)").
#
# Why this way: the reference figures (shared/PERF.md) were taken with exactly this build,
# and a source package of the same version guarantees the example matches the installed
# librte_* ABI. Nothing lands in the repository: sources and binary live in a cache dir
# (${ARSEC_PERF_CACHE:-/var/cache/arsec-perf}). Idempotent: a second run only prints the
# path of the binary.
#
# Steps: (1) the installed version from dpkg; (2) if apt knows no source for it, a scratch
# deb-src entry (/etc/apt/sources.list.d/arsec-perf-src.sources) and apt-get update;
# (3) apt-get source --download-only + dpkg-source -x (Debian's own patches applied);
# (4) our rx-checksum fix (below) on a copy of examples/ipsec-secgw; (5) make against the
# installed libdpdk (pkg-config). Prints the binary's path as the last line of stdout.
#
# The rx-checksum fix: ipsec-secgw always requests RTE_ETH_RX_OFFLOAD_CHECKSUM when the
# SAs want it and refuses ports that lack it; virtual PMDs (net_memif, net_pcap,
# net_null) have no checksum offload. The app never reads the Rx checksum flags, so the
# fix drops the request where the device does not offer it.
#
# Also reports where dpdk-test-crypto-perf is (Debian package dpdk-dev), used for the
# raw IPsec-MB throughput figures.
#
# usage: perf/secgw/build_secgw.sh [--quiet]     env: ARSEC_PERF_CACHE, MAKE_JOBS (2)
set -euo pipefail

quiet=0
[ "${1:-}" = "--quiet" ] && quiet=1
say() { [ $quiet = 1 ] || echo "build_secgw: $*" >&2; }
die() { echo "build_secgw: $*" >&2; exit 1; }

cache=${ARSEC_PERF_CACHE:-/var/cache/arsec-perf}
ver=$(dpkg-query -W -f='${Version}' libdpdk-dev 2>/dev/null) ||
  die "libdpdk-dev is not installed (apt-get install libdpdk-dev)"
upstream=${ver%%-*}                       # 22.11.11-0+deb12u1 -> 22.11.11
build=$cache/secgw-$ver
bin=$build/build/ipsec-secgw-shared
marker='arsec-perf: rx checksum offload only where the port has it'

if [ -x "$bin" ] && [ -f "$build/.arsec-built" ] && [ "$(cat "$build/.arsec-built")" = "$ver" ]; then
  say "up to date ($ver)"
  command -v dpdk-test-crypto-perf >/dev/null ||
    say "note: dpdk-test-crypto-perf missing (apt-get install dpdk-dev)"
  echo "$bin"
  exit 0
fi

mkdir -p "$cache/src"
src=$(find "$cache/src" -maxdepth 1 -type d -name "dpdk*-$upstream" | head -1)
if [ -z "$src" ]; then
  if ! apt-cache showsrc "dpdk=$ver" 2>/dev/null | grep -q "^Version: $ver\$"; then
    [ "$(id -u)" = 0 ] || die "no deb-src entry for dpdk $ver and not root: add one, or run as root"
    codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
    say "adding deb-src entries for $codename (/etc/apt/sources.list.d/arsec-perf-src.sources)"
    cat > /etc/apt/sources.list.d/arsec-perf-src.sources <<SRC
# written by arsec perf/secgw/build_secgw.sh: source packages for the benchmark build
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $codename $codename-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: $codename-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    apt-get update -qq >&2
  fi
  say "downloading Debian source package dpdk=$ver into $cache/src"
  rm -rf "$cache/src/dl" && mkdir -p "$cache/src/dl"
  (cd "$cache/src/dl" && apt-get source --download-only -qq "dpdk=$ver" >&2) ||
    die "apt-get source dpdk=$ver failed"
  dsc=$(ls "$cache/src/dl"/dpdk_*.dsc | head -1)
  # -x applies Debian's patches; --skip-debianization is not wanted (the patches are
  # part of what is installed).
  (cd "$cache/src" && dpkg-source --no-check -x "$dsc" "dpdk-$upstream" >&2) ||
    die "dpkg-source -x $dsc failed"
  src=$cache/src/dpdk-$upstream
fi
[ -f "$src/examples/ipsec-secgw/ipsec-secgw.c" ] || die "$src has no examples/ipsec-secgw"

say "building $build from $src/examples/ipsec-secgw"
rm -rf "$build"
cp -r "$src/examples/ipsec-secgw" "$build"

# The rx-checksum fix, as a scripted edit: insert the masking right after the line that
# merges the requested tx offloads into the port configuration in port_init().
f=$build/ipsec-secgw.c
anchor='local_port_conf.txmode.offloads |= req_tx_offloads;'
[ "$(grep -c -F "$anchor" "$f")" = 1 ] || die "cannot find the port_init() anchor in $f (DPDK changed?)"
python3 - "$f" "$anchor" "$marker" <<'PY'
import sys
path, anchor, marker = sys.argv[1:]
text = open(path).read()
fix = (anchor + '\n\n'
       f'\t/* {marker}: virtual PMDs (memif, pcap, null)\n'
       '\t * offer no rx checksum offload and the app never reads the rx checksum flags. */\n'
       '\tlocal_port_conf.rxmode.offloads &=\n'
       '\t\t~(RTE_ETH_RX_OFFLOAD_CHECKSUM & ~dev_info.rx_offload_capa);\n')
if marker not in text:
    text = text.replace(anchor, fix, 1)
    open(path, 'w').write(text)
PY
grep -q "$marker" "$f" || die "rx-checksum fix not applied"

pkg-config --exists libdpdk || die "pkg-config finds no libdpdk"
make -C "$build" -j"${MAKE_JOBS:-2}" shared >&2 || die "make failed in $build"
[ -x "$bin" ] || die "make produced no $bin"
echo "$ver" > "$build/.arsec-built"
if command -v dpdk-test-crypto-perf >/dev/null; then
  say "dpdk-test-crypto-perf: $(command -v dpdk-test-crypto-perf)"
else
  say "note: dpdk-test-crypto-perf missing (apt-get install dpdk-dev)"
fi
echo "$bin"
