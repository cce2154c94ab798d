"""The gateway as an IPv4 router: forwarding, ARP, ICMP errors, runtime figures.

The LAN host (192.168.10.10) and the WAN host (192.0.2.2, also owning 198.51.100.1) sit
on either side of the gateway; the gateway is configured from its boot config
(netlab.STANDARD_BOOT) and everything is checked both from the hosts' point of view
(ping output, their neighbour tables) and from the CLI's (SHOW ...).
"""

import re
import time

import pytest

import netlab
from netlab import (FAR_HOST, LAN_GW, LAN_HOST, UNROUTED, WAN_GW, WAN_HOST,
                    parse_table)


def test_ping_through_gateway(lab):
    first = lab.ping_until_ok(WAN_HOST)
    assert first and first.received, f"no reply from the WAN host:\n{first and first.text}"
    r = lab.ping(WAN_HOST, count=5)
    assert r.received == r.transmitted == 5, r.text
    # The router decremented the TTL once: the WAN host's 64 arrives as 63.
    assert re.search(r"ttl=63\b", r.text), r.text

    # A network reached through a next hop, not directly connected.
    assert lab.ping_until_ok(FAR_HOST).received, "no reply from 198.51.100.1 via 192.0.2.2"
    r = lab.ping(FAR_HOST, count=3)
    assert r.received == 3, r.text

    # And the other way round.
    r = lab.ping(LAN_HOST, ns=lab.wan, count=3)
    assert r.received == 3, r.text

    c = lab.counters()
    assert c.get("forwarded", 0) >= 2 * (5 + 3 + 3), c


def test_ping_gateway_addresses(lab):
    # Echo to the gateway's own addresses, the near one and the far one.
    for dst in (LAN_GW, WAN_GW):
        lab.ping_until_ok(dst)
        r = lab.ping(dst, count=3)
        assert r.received == 3, f"{dst}: {r.text}"
    assert lab.counters().get("icmpEchoReplies", 0) >= 6


def test_arp_resolution(lab):
    assert lab.ping_until_ok(WAN_HOST).received
    # The hosts learnt the gateway's ports' MACs (the dataplane answered their ARP).
    neigh = lab.lan.ip("neigh", "show", LAN_GW).stdout
    assert lab.gw_lan_mac in neigh, neigh
    neigh = lab.wan.ip("neigh", "show", WAN_GW).stdout
    assert lab.gw_wan_mac in neigh, neigh

    arp = lab.arp()
    assert WAN_HOST in arp, f"SHOW IP ARP lacks {WAN_HOST}:\n{lab.cli('SHOW IP ARP')}"
    assert LAN_HOST in arp, f"SHOW IP ARP lacks {LAN_HOST}:\n{lab.cli('SHOW IP ARP')}"
    assert arp[WAN_HOST].mac == lab.wan_mac, arp[WAN_HOST].line
    assert arp[LAN_HOST].mac == lab.lan_mac, arp[LAN_HOST].line
    # Each entry names the interface it was learnt on.
    assert re.search(r"ppp0", arp[WAN_HOST].line, re.I), arp[WAN_HOST].line
    assert re.search(r"vlan1", arp[LAN_HOST].line, re.I), arp[LAN_HOST].line
    c = lab.counters()
    # The LAN host asked for the gateway; the gateway asked for the WAN host, which
    # learnt the gateway from that request and so never had to ask.
    assert c.get("arpRepliesSent", 0) >= 1 and c.get("arpRequestsSent", 0) >= 1, c
    assert c.get("arpIn", 0) >= 2, c


AGED = re.compile(r"stale|incomplete|fail|expire|probe|delay", re.I)


def test_arp_ageing(lab_factory, tmp_path):
    """A confirmed entry is re-confirmed after arp.reachable_s (the gateway probes it
    again), and goes away when its host stops answering; new traffic resolves it anew."""
    reachable, retry_ms, retries = 3, 300, 2
    lab = lab_factory(arp={"reachable_s": reachable, "retry_ms": retry_ms,
                           "max_retries": retries}).start()
    assert lab.ping_until_ok(WAN_HOST).received
    row = lab.arp().get(WAN_HOST)
    assert row and row.mac == lab.wan_mac, lab.cli("SHOW IP ARP")

    # Idle for longer than reachable_s: the gateway re-probes the entry (or lets it go).
    sniff = netlab.Sniffer(lab.wan, "eth0", reachable + 3, tmp_path / "arp-idle.log",
                           expr=f"p.haslayer(ARP) and p[ARP].op == 1 and "
                                f"p[ARP].psrc == {WAN_GW!r} and p[ARP].pdst == {WAN_HOST!r}")
    try:
        seen = sniff.result()
    finally:
        sniff.kill()
    row = lab.arp().get(WAN_HOST)
    assert seen["expr"] >= 1 or row is None or AGED.search(row.line), \
        f"no re-probe and no ageing after {reachable}s idle:\n{lab.cli('SHOW IP ARP')}"
    if row is not None and not AGED.search(row.line):
        age = int(re.findall(r"\d+", row.line.split(row.mac.replace(":", "-"))[-1])[0])
        assert age <= reachable + 1, f"entry not re-confirmed: {row.line}"

    # The host stops answering ARP: the entry must go away.
    lab.wan.ip("addr", "del", f"{WAN_HOST}/24", "dev", "eth0")
    lab.wan.ip("neigh", "flush", "all")
    deadline = time.time() + reachable + retries * retry_ms / 1000 + 10
    while time.time() < deadline:
        row = lab.arp().get(WAN_HOST)
        if row is None or row.mac is None or re.search(r"fail", row.line, re.I):
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"{WAN_HOST} stayed in the ARP table after its host went silent:\n"
                    f"{lab.cli('SHOW IP ARP')}")

    # It comes back: traffic resolves it again.
    lab.wan.ip("addr", "add", f"{WAN_HOST}/24", "dev", "eth0")
    lab.wan.ip("route", "replace", "default", "via", WAN_GW)
    assert lab.ping_until_ok(WAN_HOST).received
    row = lab.arp().get(WAN_HOST)
    assert row and row.mac == lab.wan_mac and not AGED.search(row.line), \
        lab.cli("SHOW IP ARP")


def test_ttl_exceeded(lab):
    assert lab.ping_until_ok(WAN_HOST).received
    before = lab.counters()
    for dst in (WAN_HOST, FAR_HOST):
        r = lab.ping(dst, count=1, ttl=1)
        assert r.received == 0, r.text
        # ping prints the ICMP error and who sent it: the gateway's address on the LAN.
        assert re.search(rf"From {re.escape(LAN_GW)}\b.*Time to live exceeded", r.text), r.text
    # TTL 2 is enough to cross one router.
    r = lab.ping(WAN_HOST, count=1, ttl=2)
    assert r.received == 1, r.text
    after = lab.counters()
    assert after.get("dropTtlExceeded", 0) - before.get("dropTtlExceeded", 0) == 2, after
    assert after.get("icmpErrorsSent", 0) - before.get("icmpErrorsSent", 0) >= 2, after


def test_unreachable_without_route(lab):
    assert lab.ping_until_ok(WAN_HOST).received
    before = lab.counters()
    r = lab.ping(UNROUTED, count=2, interval=0.3)
    assert r.received == 0, r.text
    assert re.search(rf"From {re.escape(LAN_GW)}\b.*Unreachable", r.text, re.I), r.text
    after = lab.counters()
    assert after.get("dropNoRoute", 0) - before.get("dropNoRoute", 0) >= 2, after
    assert after.get("icmpErrorsSent", 0) - before.get("icmpErrorsSent", 0) >= 1, after


def _runtime_figures(text):
    """(packets, cycles per packet) of each worker, from a table or `Field ... value`."""
    out = []
    for row in parse_table(text):
        pk = next((v for k, v in row.items() if re.search(r"packet|vector", k, re.I)
                   and not re.search(r"cycle|clock|/|per", k, re.I)), None)
        cpp = next((v for k, v in row.items()
                    if re.search(r"(cycles?|clocks?).*(/|per).*(pkt|packet)|cpp|cyc/pkt", k, re.I)),
                   None)
        if pk is not None and cpp is not None:
            try:
                out.append((float(pk.replace(",", "")), float(cpp.replace(",", ""))))
            except ValueError:
                pass
    if out:
        return out
    pk = re.search(r"packets\b[ .:]*([\d,]+)", text, re.I)
    cpp = re.search(r"cycles?\s*(?:/|per)\s*(?:pkt|packet)\b[ .:]*([\d.,]+)", text, re.I)
    if pk and cpp:
        out.append((float(pk.group(1).replace(",", "")), float(cpp.group(1).replace(",", ""))))
    return out


def test_dataplane_runtime(lab):
    assert lab.ping_until_ok(WAN_HOST).received
    lab.ping(WAN_HOST, count=20, interval=0.01)
    r = lab.cli("SHOW DATAPLANE RUNTIME")
    figures = _runtime_figures(r.stdout)
    assert figures, f"no worker figures found in:\n{r}"
    assert any(p > 0 and c > 0 for p, c in figures), f"{figures}\n{r}"


def test_dataplane_ports(lab):
    assert lab.ping_until_ok(WAN_HOST).received
    r = lab.cli("SHOW DATAPLANE PORTS")
    assert "vlan1" in r.stdout and "ppp0" in r.stdout, r
    assert "net_af_packet0" in r.stdout or "lan0" in r.stdout, r
