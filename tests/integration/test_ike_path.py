"""The way IKE takes through arsec-dataplane, and acquires, on a real gateway.

The standard lab (netlab.Lab: LAN host 192.168.10.10, gateway 192.168.10.1 / 192.0.2.1,
WAN host 192.0.2.2 which also owns 198.51.100.1) with IPsec as the seed writes it for
ISAKMP: the PERMIT policy for UDP 500 first, an ACTION=IPSEC KEYMAN=ISAKMP policy for
192.168.10.0/24 <-> 198.51.100.0/24 whose SAs IKE would negotiate, and PERMIT for the rest.

  IKE in   scapy on the WAN host sends UDP 500 datagrams (and UDP 4500 ones with the
           non-ESP marker) to the gateway: they must land on the arsec_ike_rx ring
           (ikeRx), and arsec-control's IKE daemon counts each one it takes. A flood is
           all accounted for (taken, or dropped and counted) and the gateway still
           answers pings. A NAT-T keepalive and ESP-in-UDP on 4500 are the
           IPsec input's, not IKE's.
  IKE out  ike_ring_probe (RingTransport in a DPDK secondary of its own, standing in
           for the IKE daemon, which is stopped meanwhile: both would read arsec_ike_rx)
           sends through arsec_ike_tx: with no source address (the
           dataplane fills in ppp0's and fixes the checksums), on 4500 with the marker,
           and one larger than ppp0's MTU (the dataplane fragments it); the WAN host's
           kernel must accept all of them. What the WAN host sends back arrives through
           arsec_ike_rx, parsed. Datagrams larger than one buffer (chains) up to
           the 64 KB limit leave in fragments of ppp0's MTU that the WAN host's
           kernel reassembles byte for byte.
  acquire  pings from the LAN host to 198.51.100.1 hit the KEYMAN=ISAKMP policy that has
           no SA: dropped (ipsecDropNoSa), and at most one acquire per second
           (ipsecAcquires) reaches arsec-control's IKE daemon (SHOW ISAKMP COUNTERS).
"""

from __future__ import annotations

import os
import re
import subprocess
import time

import pytest

import netlab
from netlab import FAR_HOST, LAN_HOST, WAN_GW, WAN_HOST


IPSEC_ISAKMP = [
    "ENABLE IPSEC",
    "CREATE IPSEC SASPEC=1 KEYMAN=ISAKMP PROT=ESP ENCALG=DES HASHALG=SHA",
    'CREATE IPSEC BUNDLE=1 KEYMAN=ISAKMP STRING="1"',
    "CREATE IPSEC POLICY=isa INT=ppp0 ACTION=PERMIT LPORT=500 RPORT=500 TRANSPORT=UDP",
    "CREATE IPSEC POLICY=natt INT=ppp0 ACTION=PERMIT LPORT=4500 TRANSPORT=UDP",
    f"CREATE IPSEC POLICY=vpn INT=ppp0 ACTION=IPSEC KEYMAN=ISAKMP BUNDLE=1 PEER={WAN_HOST}",
    "SET IPSEC POLICY=vpn LAD=192.168.10.0 LMA=255.255.255.0 RAD=198.51.100.0 "
    "RMA=255.255.255.0",
    "CREATE IPSEC POLICY=inet INT=ppp0 ACTION=PERMIT",
]


@pytest.fixture
def gw(lab_factory):
    lab = lab_factory().start()
    r = lab.cli_script(IPSEC_ISAKMP, check=False)
    assert r.ok and not r.errors(), f"IPsec configuration refused:\n{r}"
    # The WAN host must be a known neighbour before scapy sends (its frames carry our MAC).
    assert lab.ping_until_ok(WAN_GW, ns=lab.wan).received, "gateway does not answer the WAN"
    # arsec-control flushes policy changes to the dataplane shortly after the commands:
    # wait until the SPD is in force (traffic to the far LAN meets the SA-less policy),
    # then for that traffic's acquire second to pass.
    end = time.time() + 10
    while lab.counters().get("ipsecDropNoSa", 0) == 0 and time.time() < end:
        lab.ping(FAR_HOST, count=1, wait=0.3)
    assert lab.counters().get("ipsecDropNoSa", 0) > 0, "the SPD did not come into force"
    time.sleep(1.1)
    return lab


def _send_udp(lab: netlab.Lab, specs: list) -> None:
    """scapy on the WAN host: one datagram per (dport, payload hex, count), to WAN_GW."""
    lab.wan.python(f"""
        from scapy.all import IP, UDP, Raw, conf, send
        conf.verb = 0
        for dport, hexload, count in {specs!r}:
            p = IP(src="{WAN_HOST}", dst="{WAN_GW}") / UDP(sport=500 if dport == 500 else 4500,
                                                        dport=dport) / Raw(bytes.fromhex(hexload))
            send(p, count=count, inter=0)
        """, timeout=60)


def _wait_counters(lab: netlab.Lab, done, timeout: float = 10) -> dict:
    end = time.time() + timeout
    c = lab.counters()
    while not done(c) and time.time() < end:
        time.sleep(0.3)
        c = lab.counters()
    return c


# An ISAKMP header (RFC 2408 3.1) of a Main Mode first message, as far as the path cares:
# any bytes do; these look right in a capture.
ISAKMP_HDR = "1122334455667788" + "0000000000000000" + "01100200" + "00000000" + "0000001c"


def test_ike_datagrams_reach_the_ike_ring(gw):
    lab = gw
    before = lab.counters()
    _send_udp(lab, [(500, ISAKMP_HDR, 1), (4500, "00000000" + ISAKMP_HDR, 1)])
    c = _wait_counters(lab, lambda c: c.get("ikeRx", 0) >= before.get("ikeRx", 0) + 2)
    assert c.get("ikeRx", 0) - before.get("ikeRx", 0) == 2, c
    assert c.get("dropIkeRxFull", 0) == 0 and c.get("dropIkeRateLimit", 0) == 0, c
    # Not a punt event: IKE has its own ring.
    assert c.get("dropUnhandledLocal", 0) == before.get("dropUnhandledLocal", 0), c

    # On 4500, a keepalive is counted by IPsec input, and ESP (a non-zero SPI) for which
    # there is no SA is dropped there: neither is IKE.
    _send_udp(lab, [(4500, "ff", 1), (4500, "00001234" + "00000001" + "00" * 32, 1)])
    c2 = _wait_counters(lab, lambda c: c.get("ipsecNattKeepaliveIn", 0) >= 1 and
                        c.get("ipsecDropUnknownSpi", 0) >= 1)
    assert c2.get("ipsecNattKeepaliveIn", 0) == 1, c2
    assert c2.get("ipsecDropUnknownSpi", 0) == 1, c2
    assert c2.get("ikeRx", 0) == c.get("ikeRx", 0), c2

    # A flood: arsec-control's IKE daemon drains the ring as fast as it can; whatever
    # does not fit is dropped and counted, nothing is lost uncounted, and the daemon
    # counts what it took (these are headers without payloads: malformed to it).
    flood = 600
    sent_before = c2.get("ikeRx", 0) + c2.get("dropIkeRxFull", 0) + c2.get("dropIkeRateLimit", 0)
    _send_udp(lab, [(500, ISAKMP_HDR, flood)])
    total = lambda c: c.get("ikeRx", 0) + c.get("dropIkeRxFull", 0) + c.get("dropIkeRateLimit", 0)
    c3 = _wait_counters(lab, lambda c: total(c) >= sent_before + flood)
    assert total(c3) == sent_before + flood, f"IKE datagrams lost uncounted: {c3}"
    deadline = time.time() + 10
    while True:
        out = " ".join(lab.cli("SHOW ISAKMP COUNTERS=GENERAL").stdout.split())
        m = re.search(r"\bmessagesReceived\b\D*?(\d+)", out)
        if (m and int(m.group(1)) >= c3.get("ikeRx", 0)) or time.time() > deadline:
            break
        time.sleep(0.3)
    assert m and int(m.group(1)) == c3.get("ikeRx", 0), (out, c3)
    # The gateway is none the worse for it.
    r = lab.ping(WAN_GW, ns=lab.wan, count=2, interval=0.2)
    assert r.received == 2, r.text


PROBE = netlab.BUILD / "tests" / "unit" / "ike" / "ike_ring_probe"

WAN_LISTENER = f"""
import select, socket, sys, time
socks = []
for port in (500, 4500):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("{WAN_HOST}", port))
    socks.append(s)
print("ready", flush=True)
end = time.time() + 15
got = 0
while got < 3 and time.time() < end:
    r, _, _ = select.select(socks, [], [], 0.2)
    for s in r:
        data, (src, sport) = s.recvfrom(65535)
        print(src, sport, s.getsockname()[1], data.hex(), flush=True)
        got += 1
"""


@pytest.mark.skipif(not os.access(PROBE, os.X_OK), reason=f"{PROBE} is not built")
def test_ike_leaves_and_arrives_through_the_rings(gw):
    lab = gw
    # The probe stands in for arsec-control's IKE daemon: one reader per ring.
    lab.stop_control()
    listener = lab.wan.popen(netlab.PYTHON, "-u", "-c", WAN_LISTENER)
    try:
        assert listener.stdout.readline().strip() == b"ready"
        small, natt, big = ISAKMP_HDR + "aa" * 60, ISAKMP_HDR + "bb" * 20, "cc" * 1800
        # The WAN host answers a little later, so the probe is listening.
        answer = subprocess.Popen(lab.wan.cmd(netlab.PYTHON, "-c", f"""
import socket, time
time.sleep(1.0)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("{WAN_HOST}", 0))
s.sendto(bytes.fromhex("{ISAKMP_HDR}dd"), ("{WAN_GW}", 500))
"""))
        probe = lab.gw.run(str(PROBE), lab.file_prefix, "3000",
                           "0.0.0.0", WAN_HOST, "500", "500", small,
                           WAN_GW, WAN_HOST, "4500", "4500", natt,
                           "0.0.0.0", WAN_HOST, "500", "500", big, timeout=30, check=False)
        answer.wait(10)
        assert probe.returncode == 0, probe.stderr
        out, _ = listener.communicate(timeout=20)
    finally:
        if listener.poll() is None:
            listener.kill()
            listener.wait()
    # "src sport dport payload" per datagram the WAN host's kernel accepted (so with
    # right checksums): the source the dataplane chose for the first and the last.
    lab.start_control()
    got = sorted(tuple(l.split()) for l in out.decode().splitlines())
    assert got == sorted([(WAN_GW, "500", "500", small), (WAN_GW, "500", "500", big),
                          (WAN_GW, "4500", "4500", "00000000" + natt)]), got
    c = lab.counters()
    assert c.get("ikeTx", 0) == 3, c
    assert c.get("dropIkeTxNoRoute", 0) == 0 and c.get("dropIkeTxBad", 0) == 0, c
    # And the way in: the WAN host's datagram, parsed by RingTransport.
    rx = [l for l in probe.stdout.splitlines() if ">" in l]
    assert any(re.match(rf"{re.escape(WAN_HOST)}:\d+ > {re.escape(WAN_GW)}:500 "
                        rf"{ISAKMP_HDR}dd$", l) for l in rx), probe.stdout


def test_acquire_per_policy_per_second(gw):
    lab = gw
    before = lab.counters()
    start = time.time()
    r = lab.ping(FAR_HOST, count=15, interval=0.2, wait=1)   # about 3 seconds
    elapsed = time.time() - start
    assert r.received == 0, f"no SA, yet replies came back:\n{r.text}"
    c = _wait_counters(lab, lambda c: c.get("ipsecAcquires", 0) > before.get("ipsecAcquires", 0))
    no_sa = c.get("ipsecDropNoSa", 0) - before.get("ipsecDropNoSa", 0)
    acquires = c.get("ipsecAcquires", 0) - before.get("ipsecAcquires", 0)
    assert no_sa >= 15, c
    assert 1 <= acquires <= int(elapsed) + 1, f"{acquires} acquires in {elapsed:.1f} s: {c}"
    assert acquires >= 2, f"one acquire a second while the traffic lasts: {c}"

    # arsec-control's IKE daemon received them (ISAKMP is off here: it ignores them).
    deadline = time.time() + 5
    while True:
        out = " ".join(lab.cli("SHOW ISAKMP COUNTERS=GENERAL").stdout.split())
        got = re.search(r"\bacquires\b\D*?(\d+)", out)
        ignored = re.search(r"\bacquiresIgnored\b\D*?(\d+)", out)
        if got and int(got.group(1)) >= acquires or time.time() > deadline:
            break
        time.sleep(0.3)
    assert got and int(got.group(1)) >= acquires, out
    assert ignored and int(ignored.group(1)) >= acquires, out

    # Traffic the PERMIT policy lets through raises none.
    assert lab.ping_until_ok(WAN_HOST).received
    c2 = lab.counters()
    time.sleep(1.2)
    assert lab.counters().get("ipsecAcquires", 0) == c2.get("ipsecAcquires", 0)


def _ip_stats(ns: netlab.Netns) -> dict[str, int]:
    """The namespace's IPv4 counters (/proc/net/snmp "Ip:"), for reassembly."""
    lines = [l.split() for l in ns.run("cat", "/proc/net/snmp").stdout.splitlines()
             if l.startswith("Ip:")]
    return {k: int(v) for k, v in zip(lines[0][1:], lines[1][1:])}


BIG_LISTENER = """
import select, socket, sys, time
want = int(sys.argv[1])
socks = []
for port in (500, 4500):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((sys.argv[2], port))
    socks.append(s)
print("ready", flush=True)
end = time.time() + 20
got = 0
while got < want and time.time() < end:
    r, _, _ = select.select(socks, [], [], 0.2)
    for s in r:
        data, (src, sport) = s.recvfrom(65535)
        print(src, sport, s.getsockname()[1], len(data), data.hex(), flush=True)
        got += 1
"""


@pytest.mark.skipif(not os.access(PROBE, os.X_OK), reason=f"{PROBE} is not built")
def test_ike_larger_than_a_buffer_leaves_in_fragments(gw):
    """Datagrams RingTransport has to chain (more than a 2 KB buffer holds; certificates)
    up to the largest an IPv4 datagram carries: the dataplane fragments each chain to
    ppp0's MTU of 1500 and the WAN host's kernel reassembles every byte (checksums right,
    the source the dataplane filled in included)."""
    lab = gw
    before, ip_before = lab.counters(), _ip_stats(lab.wan)
    lab.stop_control()
    # (src, dport, payload): a two-buffer chain, a ten-buffer one, the 64 KB limit (on
    # 500, with the source left to the dataplane), and one on 4500 with the marker.
    pat = bytes(range(256)).hex()
    specs = [("0.0.0.0", 500, ISAKMP_HDR + "ab" * 2972),
             (WAN_GW, 500, ISAKMP_HDR + (pat * 79)[:2 * 19972]),
             ("0.0.0.0", 500, ISAKMP_HDR + (pat * 256)[:2 * (65507 - 28)]),
             (WAN_GW, 4500, ISAKMP_HDR + "5a" * 8972)]
    listener = lab.wan.popen(netlab.PYTHON, "-u", "-c", BIG_LISTENER, str(len(specs)), WAN_HOST)
    try:
        assert listener.stdout.readline().strip() == b"ready"
        args = []
        for src, dport, hexload in specs:
            args += [src, WAN_HOST, str(dport), str(dport), hexload]
        probe = lab.gw.run(str(PROBE), lab.file_prefix, "500", *args, timeout=30, check=False)
        assert probe.returncode == 0, probe.stderr
        out, _ = listener.communicate(timeout=30)
    finally:
        if listener.poll() is None:
            listener.kill()
            listener.wait()
    lab.start_control()
    got = sorted(tuple(l.split()) for l in out.decode().splitlines())
    marker = {500: "", 4500: "00000000"}
    want = sorted((WAN_GW, str(p), str(p), str(len(h) // 2 + len(marker[p]) // 2), marker[p] + h)
                  for _, p, h in specs)
    assert [g[:4] for g in got] == [w[:4] for w in want], [g[:4] for g in got]
    assert got == want, "a datagram arrived with other bytes than were sent"

    c = lab.counters()
    assert c.get("ikeTx", 0) - before.get("ikeTx", 0) == len(specs), c
    for k in ("dropIkeTxBad", "dropIkeTxNoRoute", "ipsecDropFragment", "dropTooBig", "dropNoMbuf"):
        assert c.get(k, 0) == before.get(k, 0), (k, c)
    # On the wire: IP fragments of at most 1500 bytes, ceil((length - 20) / 1480) of each
    # datagram, put together again by the WAN host's kernel.
    ip = _ip_stats(lab.wan)
    frags = sum(-(-(20 + 8 + len(marker[p]) // 2 + len(h) // 2 - 20) // 1480) for _, p, h in specs)
    assert ip["ReasmOKs"] - ip_before["ReasmOKs"] == len(specs), (ip_before, ip)
    assert ip["ReasmReqds"] - ip_before["ReasmReqds"] == frags, (frags, ip_before, ip)
    assert ip["ReasmFails"] == ip_before["ReasmFails"], (ip_before, ip)
