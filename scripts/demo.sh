#!/usr/bin/env bash
# The appliance's main job on a laptop: the seed's two-site VPN with automatic keying.
# Two arsec gateways, each with a LAN host behind it, meet across a plain Linux router:
#
#   lanA ---- gwA (arsec) ---- wan (Linux router) ---- gwB (arsec) ---- lanB
#
# Each gateway is an arsec-dataplane (on af_packet veths) with its arsec-control beside
# it, configured through the CLI with the seed's ISAKMP example (pre-shared key
# "jogefoge", DES/SHA). Nothing is keyed by hand: the first ping from lanA to lanB
# raises an acquire and IKE (main mode, then quick mode) brings the tunnel up. `start`
# pings both ways, prints both gateways' view of the SAs and leaves everything running;
# `stop` removes everything `start` made.
#
#   scripts/demo.sh start     (make demo)
#   scripts/demo.sh stop      (make demo-stop)
#
# Only the namespaces below are created or touched; no interface of the demo ever exists
# in the root namespace (each veth is born with its ends inside namespaces), and no
# packet leaves the five namespaces. `stop` kills only processes whose PID files the
# demo wrote, after checking /proc/PID/comm (PIDs are reused).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${ARSEC_BUILD:-$ROOT/build}
DATAPLANE=$BUILD/dataplane/arsec-dataplane
CONTROL=$BUILD/control/arsec-control
CLI=$BUILD/cli/arsec
RUN=/run/arsec/demo
SITES="a b"
ROUTER=arsec-demo-wan

# The seed's figure (netlab.TwoSiteLab uses the same addresses); every mask is /24.
declare -A NAME=(      [a]=A                [b]=B )
declare -A LAN=(       [a]=arsec-demo-lanA  [b]=arsec-demo-lanB )
declare -A GW=(        [a]=arsec-demo-gwA   [b]=arsec-demo-gwB )
declare -A LAN_NET=(   [a]=192.168.10.0     [b]=192.168.20.0 )
declare -A LAN_GW=(    [a]=192.168.10.1     [b]=192.168.20.1 )
declare -A LAN_HOST=(  [a]=192.168.10.10    [b]=192.168.20.10 )
declare -A WAN_IP=(    [a]=192.0.2.1        [b]=198.51.100.2 )
declare -A WAN_NET=(   [a]=192.0.2.0        [b]=198.51.100.0 )
declare -A ROUTER_IP=( [a]=192.0.2.254      [b]=198.51.100.254 )
declare -A ROUTER_IF=( [a]=toA              [b]=toB )
declare -A OTHER=(     [a]=b                [b]=a )
# The two dataplanes poll on different CPUs: A's worker on lcore 1, B's on lcore 0
# (B's main lcore is then 1), as netlab.TwoSiteLab runs them.
declare -A LCORES=(    [a]="0,1"            [b]="1,0" )
declare -A EAL_ARGS=(  [a]='"--no-pci"'     [b]='"--no-pci", "--main-lcore=1"' )
declare -A WORKERS=(   [a]=1                [b]=0 )

# What an earlier, single-gateway version of the demo made; `stop` removes it too.
LEGACY_NAMESPACES="arsec-demo-lan arsec-demo-gw"
LEGACY_PREFIX=arsec-demo

site_dir() { echo "$RUN/$1"; }
prefix()   { echo "arsec-demo-$1"; }
sock()     { echo "$RUN/$1/arsec.sock"; }

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() {
  echo "demo: $*" >&2
  for log in "$RUN"/*/*.log; do
    [ -f "$log" ] || continue
    echo "----- last lines of $log" >&2
    tail -n 30 "$log" >&2
  done
  echo "demo: what was started is left for inspection; 'make demo-stop' removes it" >&2
  exit 1
}

# The CLI of site $1, logged in as the factory manager; the rest are its arguments.
cli() {
  local s=$1
  shift
  ip netns exec "${GW[$s]}" "$CLI" --socket "$(sock "$s")" --user manager --password friend "$@"
}

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

# Hugepage files and the EAL runtime directory outlive a killed DPDK primary; these
# are the demo's own prefixes only.
remove_dpdk_files() {
  rm -f /dev/hugepages/"$1"map_* 2>/dev/null || true
  rm -rf "/var/run/dpdk/$1"
}

stop() {
  local s ns
  # The controls (DPDK secondaries) first, then their primaries.
  for s in $SITES; do stop_pidfile "$(site_dir "$s")/control.pid" arsec-control; done
  stop_pidfile "$RUN/control.pid" arsec-control
  for s in $SITES; do stop_pidfile "$(site_dir "$s")/dataplane.pid" arsec-dataplane; done
  stop_pidfile "$RUN/dataplane.pid" arsec-dataplane
  for ns in "${LAN[@]}" "${GW[@]}" "$ROUTER" $LEGACY_NAMESPACES; do
    ip netns del "$ns" 2>/dev/null || true
  done
  for s in $SITES; do
    remove_dpdk_files "$(prefix "$s")"
    # The socket and its lock, the control's running-config snapshot and its ENCO key
    # store (holding the pre-shared key; a new demo must start without it). Logs stay.
    rm -f "$(sock "$s")" "$(sock "$s").lock" "$(site_dir "$s")/$(prefix "$s").running.cfg" \
          "$(site_dir "$s")/enco.keys"
  done
  remove_dpdk_files "$LEGACY_PREFIX"
  (cd "$RUN" 2>/dev/null && rm -f arsec.sock arsec.sock.lock "$LEGACY_PREFIX.running.cfg" \
                                   arsec.conf setup.cfg dataplane.log control.log) || true
}

quiet_link() {   # af_packet needs complete checksums and no GSO super-frames
  local ns=$1 dev=$2
  if command -v ethtool >/dev/null; then
    ip netns exec "$ns" ethtool -K "$dev" tx off tso off gso off gro off >/dev/null 2>&1 || true
  fi
  ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1" 2>/dev/null || true
}

link_up() {
  quiet_link "$1" "$2"
  ip -n "$1" link set "$2" up
}

add_netns() {
  ip netns add "$1"
  ip -n "$1" link set lo up
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 || true
  ip netns exec "$1" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 || true
}

# Site $1's LAN host, its gateway namespace, and the gateway's cable to the router.
build_site() {
  local s=$1
  add_netns "${LAN[$s]}"
  add_netns "${GW[$s]}"
  ip link add eth0 netns "${LAN[$s]}" type veth peer name lan0 netns "${GW[$s]}"
  ip link add wan0 netns "${GW[$s]}" type veth peer name "${ROUTER_IF[$s]}" netns "$ROUTER"
  link_up "${LAN[$s]}" eth0
  link_up "${GW[$s]}" lan0
  link_up "${GW[$s]}" wan0
  link_up "$ROUTER" "${ROUTER_IF[$s]}"
  ip -n "${LAN[$s]}" addr add "${LAN_HOST[$s]}/24" dev eth0
  ip -n "${LAN[$s]}" route add default via "${LAN_GW[$s]}"
  ip -n "$ROUTER" addr add "${ROUTER_IP[$s]}/24" dev "${ROUTER_IF[$s]}"
}

write_config() {
  local s=$1 d
  d=$(site_dir "$s")
  cat >"$d/arsec.conf" <<EOF
# arsec demo gateway ${NAME[$s]} (scripts/demo.sh). Schema: docs/user-guide.md "Startup config".
eal     = { lcores = "${LCORES[$s]}"; file_prefix = "$(prefix "$s")"; args = [ ${EAL_ARGS[$s]} ]; };
ports   = ( { name = "vlan1"; device = "net_af_packet0,iface=lan0"; },
            { name = "ppp0";  device = "net_af_packet1,iface=wan0"; } );
workers = { lcores = [ ${WORKERS[$s]} ]; burst = 32; };
control = { socket = "$(sock "$s")"; boot_config = "$d/boot.cfg"; };
EOF
}

# Starts a gateway process of site $1 in the background, detached from this terminal,
# and records its PID (setsid, nohup and ip netns exec all exec, so $! is the program).
spawn() {
  local s=$1 name=$2 bin=$3 d
  d=$(site_dir "$s")
  setsid nohup ip netns exec "${GW[$s]}" "$bin" --config "$d/arsec.conf" \
    >"$d/$name.log" 2>&1 </dev/null &
  echo $! >"$d/$name.pid"
}

alive() { [ -f "$(site_dir "$1")/$2.pid" ] && [ -d "/proc/$(cat "$(site_dir "$1")/$2.pid")" ]; }

start_dataplane() {
  local s=$1 mp
  mp=/var/run/dpdk/$(prefix "$s")/mp_socket
  say "Starting arsec-dataplane of gateway ${NAME[$s]} (log $(site_dir "$s")/dataplane.log)"
  spawn "$s" dataplane "$DATAPLANE"
  for _ in $(seq 300); do
    alive "$s" dataplane || die "arsec-dataplane of gateway ${NAME[$s]} exited"
    [ -S "$mp" ] && return 0
    sleep 0.1
  done
  die "arsec-dataplane of gateway ${NAME[$s]} did not come up"
}

start_control() {
  local s=$1 up=no
  say "Starting arsec-control of gateway ${NAME[$s]} (log $(site_dir "$s")/control.log)"
  for _ in 1 2 3 4 5; do
    spawn "$s" control "$CONTROL"
    for _ in $(seq 100); do
      alive "$s" control || break
      if [ -S "$(sock "$s")" ] && cli "$s" -c "SHOW IP INTERFACE" >/dev/null 2>&1; then
        up=yes
        break
      fi
      sleep 0.1
    done
    [ $up = yes ] && return 0
    alive "$s" control && die "arsec-control of gateway ${NAME[$s]} does not answer on $(sock "$s")"
    sleep 1    # the dataplane may still be creating its rings
  done
  die "arsec-control of gateway ${NAME[$s]} did not start"
}

# Site $1's configuration: its IP addresses and routes (the far WAN and the far LAN
# through the router; the far LAN must leave by ppp0, where the SPD is), then the seed's
# automatic-keying example word for word, with the peer's addresses.
setup_commands() {
  local s=$1 o=${OTHER[$1]}
  cat <<EOF
ADD IP INTERFACE=vlan1 IPADDRESS=${LAN_GW[$s]} MASK=255.255.255.0
ADD IP INTERFACE=ppp0 IPADDRESS=${WAN_IP[$s]} MASK=255.255.255.0
ADD IP ROUTE=${WAN_NET[$o]} MASK=255.255.255.0 INTERFACE=ppp0 NEXTHOP=${ROUTER_IP[$s]}
ADD IP ROUTE=${LAN_NET[$o]} MASK=255.255.255.0 INTERFACE=ppp0 NEXTHOP=${ROUTER_IP[$s]}
CREATE ENCO KEY=1 TYPE=GENERAL VALUE="jogefoge"
CREATE ISAKMP POLICY=i PEER=${WAN_IP[$o]} KEY=1 SENDN=TRUE
CREATE IPSEC SASPEC=1 KEYMAN=ISAKMP PROT=ESP ENCALG=DES HASHALG=SHA
CREATE IPSEC BUNDLE=1 KEYMAN=ISAKMP STRING="1"
CREATE IPSEC POLICY=isa INT=ppp0 ACTION=PERMIT LPORT=500 RPORT=500 TRANSPORT=UDP
CREATE IPSEC POLICY=vpn INT=ppp0 ACTION=IPSEC KEYMAN=ISAKMP BUNDLE=1 PEER=${WAN_IP[$o]}
SET IPSEC POLICY=vpn LAD=${LAN_NET[$s]} LMA=255.255.255.0 RAD=${LAN_NET[$o]} RMA=255.255.255.0
CREATE IPSEC POLICY=inet INT=ppp0 ACTION=PERMIT
ENABLE IPSEC
ENABLE ISAKMP
EOF
}

# Types site $1's configuration into its CLI one command at a time, showing each
# command at the prompt and the gateway's reply under it.
configure() {
  local s=$1 line
  say "Configuring gateway ${NAME[$s]} (${GW[$s]}) through its CLI"
  while IFS= read -r line; do
    printf '    Manager > %s\n' "$line"
    cli "$s" -c "$line" </dev/null 2>&1 | sed 's/^/    /' ||
      die "gateway ${NAME[$s]} refused: ${line%% VALUE=*}"
  done < <(setup_commands "$s")
}

# The first packets to the far LAN start the negotiation and may be dropped: ping once
# a second until one answer comes back (or give up after $3 tries).
ping_until_up() {
  local ns=$1 dst=$2 tries=$3 i
  for ((i = 1; i <= tries; i++)); do
    if ip netns exec "$ns" ping -n -c 1 -W 1 "$dst" >/dev/null 2>&1; then
      echo "    the tunnel is up: probe $i of $tries was answered"
      return 0
    fi
  done
  echo "    no answer to $tries probes"
  return 1
}

start() {
  local s o failed=no
  [ "$(id -u)" -eq 0 ] || die "run as root (network namespaces and DPDK need it): sudo make demo"
  for b in "$DATAPLANE" "$CONTROL" "$CLI"; do
    [ -x "$b" ] || die "$b is not built; run 'make build' (make demo does)"
  done
  grep -qs ' hugetlbfs ' /proc/mounts || die "hugetlbfs is not mounted; run scripts/bootstrap.sh"

  say "Removing any previous demo"
  stop
  for s in $SITES; do
    mkdir -p "$(site_dir "$s")"
    rm -f "$(site_dir "$s")"/*.log
  done

  say "Building namespaces ${LAN[a]}, ${GW[a]}, $ROUTER, ${GW[b]}, ${LAN[b]}"
  add_netns "$ROUTER"
  ip netns exec "$ROUTER" sysctl -qw net.ipv4.ip_forward=1
  for s in $SITES; do build_site "$s"; done

  for s in $SITES; do
    write_config "$s"
    start_dataplane "$s"
    start_control "$s"
  done
  for s in $SITES; do configure "$s"; done

  say "Ping from ${LAN[a]} (${LAN_HOST[a]}) to ${LAN[b]} (${LAN_HOST[b]}): the first packet starts IKE"
  ping_until_up "${LAN[a]}" "${LAN_HOST[b]}" 30 || failed=yes
  ip netns exec "${LAN[a]}" ping -n -c 3 -i 0.3 -W 2 "${LAN_HOST[b]}" || failed=yes
  say "Ping from ${LAN[b]} (${LAN_HOST[b]}) to ${LAN[a]} (${LAN_HOST[a]}) through the same tunnel"
  ip netns exec "${LAN[b]}" ping -n -c 3 -i 0.3 -W 2 "${LAN_HOST[a]}" || failed=yes

  for s in $SITES; do
    for cmd in "SHOW ISAKMP SA" "SHOW IPSEC SA" "SHOW IPSEC POLICY=vpn SABUNDLE" \
               "SHOW LOG MODULE=ISAK"; do
      say "Gateway ${NAME[$s]} (${GW[$s]}): $cmd"
      cli "$s" -c "$cmd" || failed=yes
    done
  done
  [ $failed = no ] || die "the VPN between the two LANs did not come up (see above)"

  cat <<EOF

The two-site VPN is up: ${LAN[a]} (${LAN_HOST[a]}) -- ${GW[a]} (${WAN_IP[a]}) -- $ROUTER -- ${GW[b]} (${WAN_IP[b]}) -- ${LAN[b]} (${LAN_HOST[b]}).
  Open the CLI of gateway A or B (login manager, password friend):
    sudo ip netns exec ${GW[a]} $CLI --socket $(sock a)
    sudo ip netns exec ${GW[b]} $CLI --socket $(sock b)
  Ping through the tunnel:
    sudo ip netns exec ${LAN[a]} ping ${LAN_HOST[b]}
    sudo ip netns exec ${LAN[b]} ping ${LAN_HOST[a]}
  Watch the WAN (only ISAKMP and ESP cross it):
    sudo ip netns exec $ROUTER tshark -n -i ${ROUTER_IF[a]}
  Logs: $(site_dir a)/{dataplane,control}.log, $(site_dir b)/{dataplane,control}.log
        (and SHOW LOG MODULE=ISAK in either CLI)
  Stop it and remove the namespaces:
    make demo-stop
EOF
}

case "${1:-}" in
  start) start ;;
  stop)  stop; echo "demo stopped" ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
