#!/usr/bin/env bash
# Smoke test of arsec-dataplane alone (no arsec-control): a LAN host and a WAN host in
# their own network namespaces, the dataplane in a third one on net_af_packet, addresses
# configured with arsec-dpctl over the rings. Checks ping through the gateway, ping to
# the gateway, TTL exceeded, ARP entries and counters. Cleans up on any exit.
#
#   dataplane/tools/netns_smoke.sh [BUILD_DIR]      (root; default BUILD_DIR=build)
set -euo pipefail
BUILD=${1:-build}
DP=$BUILD/dataplane/arsec-dataplane
CTL=$BUILD/dataplane/tools/arsec-dpctl
PFX=arsec-dp-smoke
CFG=$(mktemp /tmp/arsec-dp-smoke.XXXXXX.cfg)
LOG=$(mktemp /tmp/arsec-dp-smoke.XXXXXX.log)
DP_PID=

cleanup() {
  set +e
  [ -n "$DP_PID" ] && kill -TERM "$DP_PID" 2>/dev/null && wait "$DP_PID" 2>/dev/null
  for ns in arsec-t-lan arsec-t-wan arsec-t-gw; do ip netns del $ns 2>/dev/null; done
  rm -f "$CFG"
  rm -rf "/var/run/dpdk/$PFX"
}
trap cleanup EXIT

cleanup
ip netns add arsec-t-lan
ip netns add arsec-t-wan
ip netns add arsec-t-gw
ip link add lan-h netns arsec-t-lan type veth peer name gw-lan netns arsec-t-gw
ip link add wan-h netns arsec-t-wan type veth peer name gw-wan netns arsec-t-gw
for l in gw-lan gw-wan; do
  ip -n arsec-t-gw link set $l up
  ip netns exec arsec-t-gw sysctl -qw net.ipv6.conf.$l.disable_ipv6=1
done
ip -n arsec-t-lan addr add 192.168.10.2/24 dev lan-h
ip -n arsec-t-lan link set lan-h up
ip -n arsec-t-lan route add default via 192.168.10.1
ip -n arsec-t-wan addr add 192.0.2.2/24 dev wan-h
ip -n arsec-t-wan link set wan-h up
ip -n arsec-t-wan route add 192.168.10.0/24 via 192.0.2.1

cat > "$CFG" <<EOF
eal = { lcores = "0,1"; file_prefix = "$PFX"; args = [ "--no-pci", "--no-telemetry" ]; };
ports = ( { name = "vlan1"; device = "net_af_packet0,iface=gw-lan"; },
          { name = "ppp0";  device = "net_af_packet1,iface=gw-wan"; } );
workers = { lcores = [ 1 ]; burst = 32; };
arp = { reachable_s = 5; retry_ms = 300; max_retries = 3; };
EOF

ip netns exec arsec-t-gw "$DP" --config "$CFG" >"$LOG" 2>&1 &
DP_PID=$!
for _ in $(seq 50); do grep -q "ready:" "$LOG" && break; sleep 0.2; done
grep -q "ready:" "$LOG" || { cat "$LOG"; echo "FAIL: dataplane did not start"; exit 1; }

ctl() { ip netns exec arsec-t-gw "$CTL" --config "$CFG" "$@"; }
export -f ctl
export CTL CFG
ctl hello , addr-add vlan1 192.168.10.1/24 , addr-add ppp0 192.0.2.1/24 , \
    addr-add ppp0-1 198.51.100.1/24 , route-add 203.0.113.0/24 ppp0 192.0.2.2

fail=0
check() { if "$@"; then echo "PASS: ${CHECK_NAME}" >&2; else echo "FAIL: ${CHECK_NAME}" >&2; fail=1; fi; }
CHECK_NAME="ping LAN -> gateway"
check ip netns exec arsec-t-lan ping -c 2 -W 1 -i 0.2 192.168.10.1 >/dev/null
CHECK_NAME="ping LAN -> WAN host through the gateway"
check ip netns exec arsec-t-lan ping -c 5 -W 1 -i 0.2 192.0.2.2 >/dev/null
CHECK_NAME="ping LAN -> second WAN address of the gateway (ppp0-1)"
check ip netns exec arsec-t-lan ping -c 2 -W 1 -i 0.2 198.51.100.1 >/dev/null
CHECK_NAME="TTL 1 gets Time Exceeded from 192.168.10.1"
check bash -c "ip netns exec arsec-t-lan ping -c 1 -W 1 -t 1 192.0.2.2 | grep -q 'From 192.168.10.1.*Time to live exceeded'"
CHECK_NAME="no route gets Destination Net Unreachable"
check bash -c "ip netns exec arsec-t-lan ping -c 1 -W 1 10.9.9.9 | grep -q 'Destination Net Unreachable'"
CHECK_NAME="ARP table holds both hosts"
check bash -c "ctl arp | grep -q '192.168.10.2 .* reachable' && ctl arp | grep -q '192.0.2.2 .* reachable'"
CHECK_NAME="forwarded and TTL counters"
check bash -c "ctl counters | grep -q '^forwarded' && ctl counters | grep -q '^dropTtlExceeded'"
CHECK_NAME="malformed frames are counted by reason while good traffic flows"
GWMAC=$(ctl ports | awk '$2=="vlan1"{print $NF}' >/dev/null; ip netns exec arsec-t-lan ip neigh show 192.168.10.1 | awk '{print $5}')
ip netns exec arsec-t-lan /usr/bin/python3 - "$GWMAC" <<'PY' >/dev/null 2>&1
import sys
from scapy.all import Ether, IP, ICMP, Raw, sendp
gw = sys.argv[1]
e = Ether(dst=gw, type=0x0800)
good = IP(src="192.168.10.2", dst="192.0.2.2") / ICMP() / Raw(b"x" * 16)
raw = bytes(good)
frames = [
    e / raw[:12],                                              # truncated IPv4 header
    e / (bytes([0x43]) + raw[1:]),                             # IHL 3
    e / (raw[:10] + bytes([raw[10] ^ 0xff]) + raw[11:]),       # bad header checksum
    e / (raw[:2] + (4000).to_bytes(2, "big") + raw[4:]),       # total length beyond frame
    e / (bytes([0x65]) + raw[1:]),                             # version 6 in an IPv4 frame
]
for f in frames:
    sendp(f, iface="lan-h", count=3, verbose=False)
PY
check bash -c "ctl counters | grep -q '^dropRunt *[1-9]' && ctl counters | grep -q '^dropBadHeaderLength *[1-9]' && ctl counters | grep -q '^dropBadChecksum *[1-9]' && ctl counters | grep -q '^dropBadTotalLength *[1-9]' && ctl counters | grep -q '^dropBadVersion *[1-9]' && ip netns exec arsec-t-lan ping -c 2 -W 1 -i 0.2 192.0.2.2 >/dev/null"
echo "--- arp";      ctl arp
echo "--- counters"; ctl counters
echo "--- runtime";  ctl runtime
echo "--- ports";    ctl ports
CHECK_NAME="neighbour ages out (reachable_s=5, 3 probes of 300 ms)"
ip netns exec arsec-t-wan ip link set wan-h down
sleep 8
check bash -c "! ctl arp | grep -q '192.0.2.2 '"
ip netns exec arsec-t-wan ip link set wan-h up
ip -n arsec-t-wan route replace 192.168.10.0/24 via 192.0.2.1  # admin down flushed it
CHECK_NAME="ping resumes after re-resolution"
check ip netns exec arsec-t-lan ping -c 3 -W 1 -i 0.2 192.0.2.2 >/dev/null
CHECK_NAME="sync sweep removes an address not re-asserted"
ctl sync-begin , addr-add vlan1 192.168.10.1/24 , addr-add ppp0 192.0.2.1/24 , sync-end
check bash -c "! ip netns exec arsec-t-lan ping -c 1 -W 1 198.51.100.1 >/dev/null"
kill -TERM "$DP_PID"
wait "$DP_PID" && echo "PASS: clean shutdown" || { echo "FAIL: exit code $?"; fail=1; }
DP_PID=
grep -q "stopping" "$LOG" || fail=1
exit $fail
