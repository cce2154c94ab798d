#!/usr/bin/env bash
# The appliance's main job on a laptop: a LAN host and a WAN host in network namespaces
# of their own, and between them the arsec gateway (arsec-dataplane on af_packet veths,
# arsec-control beside it), configured through the CLI. `start` pings across it, prints
# the CLI's view and leaves it running; `stop` removes everything `start` made.
#
#   scripts/demo.sh start     (make demo)
#   scripts/demo.sh stop      (make demo-stop)
#
# Only the namespaces below are created or touched; no interface of the demo ever exists
# in the root namespace, and no packet leaves the three namespaces.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${ARSEC_BUILD:-$ROOT/build}
DATAPLANE=$BUILD/dataplane/arsec-dataplane
CONTROL=$BUILD/control/arsec-control
CLI=$BUILD/cli/arsec
RUN=/run/arsec/demo
CONF=$RUN/arsec.conf
SOCK=$RUN/arsec.sock
PREFIX=arsec-demo
LAN=arsec-demo-lan
GW=arsec-demo-gw
WAN=arsec-demo-wan

LAN_HOST=192.168.10.10 LAN_GW=192.168.10.1
WAN_HOST=192.0.2.2     WAN_GW=192.0.2.1
FAR_NET=198.51.100.0   FAR_HOST=198.51.100.1

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() {
  echo "demo: $*" >&2
  for log in "$RUN"/*.log; do
    [ -f "$log" ] || continue
    echo "----- last lines of $log" >&2
    tail -n 30 "$log" >&2
  done
  echo "demo: what was started is left for inspection; 'make demo-stop' removes it" >&2
  exit 1
}

cli() { ip netns exec "$GW" "$CLI" --socket "$SOCK" --user manager --password friend "$@"; }

# Stops a process whose PID file the demo wrote, after checking that the PID still
# belongs to the program it was started as (PIDs are reused).
stop_pidfile() {
  local file=$1 prog=$2 pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  if [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "${prog:0:15}" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
      [ -d "/proc/$pid" ] || break
      sleep 0.1
    done
    if [ -d "/proc/$pid" ]; then
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    fi
  fi
  rm -f "$file"
}

stop() {
  stop_pidfile "$RUN/control.pid" arsec-control
  stop_pidfile "$RUN/dataplane.pid" arsec-dataplane
  for ns in "$LAN" "$GW" "$WAN"; do
    ip netns del "$ns" 2>/dev/null || true
  done
  # Hugepage files outlive a killed DPDK primary; these are the demo's own prefix only.
  rm -f /dev/hugepages/${PREFIX}map_* 2>/dev/null || true
  rm -rf "/var/run/dpdk/$PREFIX"
  rm -f "$SOCK"
}

quiet_link() {   # af_packet needs complete checksums and no GSO super-frames
  local ns=$1 dev=$2
  if command -v ethtool >/dev/null; then
    ip netns exec "$ns" ethtool -K "$dev" tx off tso off gso off gro off >/dev/null 2>&1 || true
  fi
  ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1" 2>/dev/null || true
}

# Starts a gateway process in the background, detached from this terminal, and records
# its PID (setsid, nohup and ip netns exec all exec, so $! is the program itself).
spawn() {
  local name=$1 bin=$2
  setsid nohup ip netns exec "$GW" "$bin" --config "$CONF" >"$RUN/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
}

alive() { [ -f "$RUN/$1.pid" ] && [ -d "/proc/$(cat "$RUN/$1.pid")" ]; }

start() {
  [ "$(id -u)" -eq 0 ] || die "run as root (network namespaces and DPDK need it): sudo make demo"
  for b in "$DATAPLANE" "$CONTROL" "$CLI"; do
    [ -x "$b" ] || die "$b is not built; run 'make build' (make demo does)"
  done
  grep -qs ' hugetlbfs ' /proc/mounts || die "hugetlbfs is not mounted; run scripts/bootstrap.sh"

  say "Removing any previous demo"
  stop
  mkdir -p "$RUN"
  rm -f "$RUN"/*.log

  say "Building namespaces $LAN, $GW, $WAN"
  for ns in "$LAN" "$GW" "$WAN"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 || true
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 || true
  done
  ip link add eth0 netns "$LAN" type veth peer name lan0 netns "$GW"
  ip link add eth0 netns "$WAN" type veth peer name wan0 netns "$GW"
  for pair in "$LAN eth0" "$WAN eth0" "$GW lan0" "$GW wan0"; do
    set -- $pair
    quiet_link "$1" "$2"
    ip -n "$1" link set "$2" up
  done
  ip -n "$LAN" addr add "$LAN_HOST/24" dev eth0
  ip -n "$LAN" route add default via "$LAN_GW"
  ip -n "$WAN" addr add "$WAN_HOST/24" dev eth0
  ip -n "$WAN" addr add "$FAR_HOST/32" dev lo        # the far network behind the WAN host
  ip -n "$WAN" route add default via "$WAN_GW"

  say "Writing the startup config $CONF"
  cat >"$CONF" <<EOF
# arsec demo gateway (scripts/demo.sh). Schema: docs/user-guide.md "Startup config".
eal     = { lcores = "0,1"; file_prefix = "$PREFIX"; args = [ "--no-pci" ]; };
ports   = ( { name = "vlan1"; device = "net_af_packet0,iface=lan0"; },
            { name = "ppp0";  device = "net_af_packet1,iface=wan0"; } );
workers = { lcores = [ 1 ]; burst = 32; };
control = { socket = "$SOCK"; boot_config = "$RUN/boot.cfg"; };
EOF

  say "Starting arsec-dataplane (log $RUN/dataplane.log)"
  spawn dataplane "$DATAPLANE"
  for _ in $(seq 300); do
    alive dataplane || die "arsec-dataplane exited"
    [ -S "/var/run/dpdk/$PREFIX/mp_socket" ] && break
    sleep 0.1
  done
  [ -S "/var/run/dpdk/$PREFIX/mp_socket" ] || die "arsec-dataplane did not come up"

  say "Starting arsec-control (log $RUN/control.log)"
  local up=no
  for attempt in 1 2 3 4 5; do
    spawn control "$CONTROL"
    for _ in $(seq 100); do
      alive control || break
      if [ -S "$SOCK" ] && cli -c "SHOW IP INTERFACE" >/dev/null 2>&1; then up=yes; break; fi
      sleep 0.1
    done
    [ $up = yes ] && break
    alive control && die "arsec-control is running but does not answer on $SOCK"
    sleep 1    # the dataplane may still be creating its rings
  done
  [ $up = yes ] || die "arsec-control did not start"

  say "Configuring the gateway through the CLI"
  cat >"$RUN/setup.cfg" <<EOF
ADD IP INTERFACE=vlan1 IPADDRESS=$LAN_GW MASK=255.255.255.0
ADD IP INTERFACE=ppp0 IPADDRESS=$WAN_GW MASK=255.255.255.0
ADD IP ROUTE=$FAR_NET MASK=255.255.255.0 INTERFACE=ppp0 NEXTHOP=$WAN_HOST
EOF
  sed 's/^/    Manager > /' "$RUN/setup.cfg"
  cli -f "$RUN/setup.cfg" || die "configuring the gateway failed"

  local failed=no
  for dst in "$WAN_HOST" "$FAR_HOST"; do
    say "Ping from the LAN host ($LAN_HOST) to $dst through the gateway"
    ip netns exec "$LAN" ping -n -c 3 -i 0.3 -W 2 "$dst" || failed=yes
  done

  for cmd in "SHOW IP ROUTE" "SHOW IP ARP" "SHOW DATAPLANE COUNTERS"; do
    say "$cmd"
    cli -c "$cmd" || failed=yes
  done
  [ $failed = no ] || die "pings through the gateway failed (see above)"

  cat <<EOF

The arsec gateway is running between $LAN ($LAN_HOST) and $WAN ($WAN_HOST, $FAR_HOST).
  Open its CLI (login manager, password friend):
    sudo ip netns exec $GW $CLI --socket $SOCK
  Ping through it:
    sudo ip netns exec $LAN ping $FAR_HOST
  Logs: $RUN/dataplane.log, $RUN/control.log
  Stop it and remove the namespaces:
    make demo-stop
EOF
}

case "${1:-}" in
  start) start ;;
  stop)  stop; echo "demo stopped" ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
