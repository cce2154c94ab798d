-- pktgen-dpdk Lua script: arsec IPsec benchmark, OUTBOUND size sweep, 1 SA.
-- Sends clear UDP 192.168.10.2 -> 10.100.0.1 on port 0 (to arsec vlan1) at line rate for
-- each size and counts what arsec sends out of ppp0 on port 1; prints one CSV line per size
-- (frame size without FCS, Mpps and Gbps received on the ESP side, Mpps offered).
-- Environment: ARSEC_MAC = arsec vlan1's MAC (required); SWEEP_SECONDS (default 10).
-- Run: pktgen <EAL args> -- -P -m "[1:2].0, [3:4].1" -f perf/pktgen/ipsec-sweep.lua
-- (docs/benchmarks.md, "Running pktgen-dpdk against an arsec appliance").
package.path = package.path .. ";?.lua;test/?.lua;app/?.lua;"
require "Pktgen"

local dut_mac = os.getenv("ARSEC_MAC")
if dut_mac == nil then
    print("set ARSEC_MAC to arsec vlan1's MAC address")
    return
end
local seconds = tonumber(os.getenv("SWEEP_SECONDS") or "10")
-- Frame sizes without FCS, as the arsec runner and docs/benchmarks.md count them;
-- pktgen's size includes the 4-byte FCS.
local sizes = {64, 128, 256, 512, 1024, 1400}

pktgen.stop("all")
pktgen.set_type("0", "ipv4")
pktgen.set_proto("0", "udp")
pktgen.set_ipaddr("0", "src", "192.168.10.2/24")
pktgen.set_ipaddr("0", "dst", "10.100.0.1")
pktgen.set_ipaddr("1", "src", "172.16.2.5/16")
pktgen.set_mac("0", "dst", dut_mac)
pktgen.set("0", "sport", 1024)
pktgen.set("0", "dport", 5001)
pktgen.set("0", "rate", 100)
pktgen.set("0", "count", 0)
pktgen.process("0,1", "on")

print("frame_bytes,rx_mpps,rx_gbps_clear_l2,tx_mpps")
for _, size in ipairs(sizes) do
    pktgen.set("0", "size", size + 4)
    pktgen.clr()
    pktgen.delay(500)
    local tx0 = pktgen.portStats("0", "port")[0].opackets
    local rx0 = pktgen.portStats("1", "port")[1].ipackets
    pktgen.start("0")
    pktgen.sleep(seconds)
    pktgen.stop("0")
    local tx1 = pktgen.portStats("0", "port")[0].opackets
    local rx1 = pktgen.portStats("1", "port")[1].ipackets
    local rx_pps = (rx1 - rx0) / seconds
    local tx_pps = (tx1 - tx0) / seconds
    print(string.format("%d,%.3f,%.3f,%.3f", size, rx_pps / 1e6, rx_pps * size * 8 / 1e9,
                        tx_pps / 1e6))
    pktgen.delay(1000)
end
