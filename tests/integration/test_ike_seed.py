"""Two arsec gateways bring up the seed's automatic-keying VPN by themselves.

The seed's figure in namespaces (netlab.TwoSiteLab: lanA - gwA - router - gwB - lanB,
192.168.10.0/24 behind 192.0.2.1 and 192.168.20.0/24 behind 198.51.100.2), each gateway
configured with the seed's ISAKMP example typed verbatim (its addresses replaced by the
lab's): the pre-shared key "jogefoge", CREATE ISAKMP POLICY=i ... SENDN=TRUE, SA and
bundle specifications KEYMAN=ISAKMP, the "isa" PERMIT policy for UDP 500, the "vpn"
IPSEC policy and the "inet" PERMIT, ENABLE IPSEC and ENABLE ISAKMP. Nothing is keyed by
hand: the first packet between the LANs raises an acquire and IKE does the rest.

Checked as a network engineer would: the hosts ping each other and a file crosses
intact; the router sees only ISAKMP (UDP 500, main or aggressive mode then quick mode)
and ESP, never the LAN addresses in clear; SHOW ISAKMP SA and SHOW IPSEC SA agree on
both gateways (A's outbound SPI is B's inbound one); the seed's log lines are there.

Variants: both addresses fixed (main mode), and the seed's "address not fixed" case:
A takes PEER=ANY with REMOTEID="RouterB" in aggressive mode and PEER=DYNAMIC on its
IPsec policy; B names itself with LOCALID="RouterB" and starts the negotiation.
"""

from __future__ import annotations

import os
import re
import time

import pytest

import netlab
from netlab import SITE_A, SITE_B, Capture, parse_table, tcp_transfer


def seed_ike(me: netlab.SiteAddr, peer: netlab.SiteAddr, *, isakmp: str, vpn_peer: str) -> list[str]:
    """The seed's automatic-keying example (its lines 52-84) for one gateway."""
    return [
        'CREATE ENCO KEY=1 TYPE=GENERAL VALUE="jogefoge"',
        isakmp,
        "CREATE IPSEC SASPEC=1 KEYMAN=ISAKMP PROT=ESP ENCALG=DES HASHALG=SHA",
        'CREATE IPSEC BUNDLE=1 KEYMAN=ISAKMP STRING="1"',
        "CREATE IPSEC POLICY=isa INT=ppp0 ACTION=PERMIT LPORT=500 RPORT=500 TRANSPORT=UDP",
        f"CREATE IPSEC POLICY=vpn INT=ppp0 ACTION=IPSEC KEYMAN=ISAKMP BUNDLE=1 PEER={vpn_peer}",
        f"SET IPSEC POLICY=vpn LAD={me.lan_net} LMA=255.255.255.0 RAD={peer.lan_net} RMA=255.255.255.0",
        "CREATE IPSEC POLICY=inet INT=ppp0 ACTION=PERMIT",
        "ENABLE IPSEC",
        "ENABLE ISAKMP",
    ]


FIXED = {
    "A": seed_ike(SITE_A, SITE_B, isakmp=f"CREATE ISAKMP POLICY=i PEER={SITE_B.wan} KEY=1 SENDN=TRUE",
                  vpn_peer=SITE_B.wan),
    "B": seed_ike(SITE_B, SITE_A, isakmp=f"CREATE ISAKMP POLICY=i PEER={SITE_A.wan} KEY=1 SENDN=TRUE",
                  vpn_peer=SITE_A.wan),
}
DYNAMIC = {
    "A": seed_ike(SITE_A, SITE_B, vpn_peer="DYNAMIC",
                  isakmp='CREATE ISAKMP POLICY=i PEER=ANY KEY=1 SENDN=TRUE REMOTEID="RouterB" '
                         'MODE=AGGRESSIVE'),
    "B": seed_ike(SITE_B, SITE_A, vpn_peer=SITE_A.wan,
                  isakmp=f'CREATE ISAKMP POLICY=i PEER={SITE_A.wan} KEY=1 SENDN=TRUE '
                         f'LOCALID="RouterB" MODE=AGGRESSIVE'),
}


@pytest.fixture
def two_sites(request):
    lab = netlab.TwoSiteLab(request.node.name)
    for site in lab.sites:
        request.node.__dict__.setdefault("_arsec_labs", []).append(site)
    try:
        lab.build().start()
        yield lab
    finally:
        reps = request.node.__dict__.get("_arsec_reports", {})
        lab.close(keep_dir=any(r.failed for r in reps.values()))


def flat_log(site) -> str:
    return " ".join(site.cli("SHOW LOG MODULE=ISAK").text.split())


def esp_rows(site) -> list[dict]:
    return [r for r in parse_table(site.cli("SHOW IPSEC SA").text) if r.get("Protocol") == "ESP"]


@pytest.mark.parametrize("variant", ["fixed", "dynamic"])
def test_seed_isakmp_vpn(two_sites, variant, tmp_path):
    lab = two_sites
    a, b = lab.a, lab.b
    cfg = FIXED if variant == "fixed" else DYNAMIC
    for site, name in ((a, "A"), (b, "B")):
        r = site.cli_script(cfg[name], check=False)
        assert r.ok and not r.errors(), f"gateway {name} refused the seed's commands:\n{r}"

    # The dynamic side (B) starts; with fixed addresses either may, A does here.
    starter, other, dst = (b, a, SITE_A.lan_host) if variant == "dynamic" else (a, b, SITE_B.lan_host)
    cap = Capture(lab.router, a.router_if, tmp_path / "wan.pcap")
    try:
        first = starter.ping_until_ok(dst, ns=starter.lan, timeout=30)
        assert first and first.received, f"the VPN did not come up\n{lab.logs()}"
        r = a.ping(SITE_B.lan_host, count=5, interval=0.05)
        assert r.received == 5, r.text
        r = b.ping(SITE_A.lan_host, ns=b.lan, count=5, interval=0.05)
        assert r.received == 5, r.text
        data = os.urandom(150_000)
        sent, got = tcp_transfer(a.lan, b.lan, SITE_B.lan_host, data, tmp_path)
        assert got.get("sha256") == sent.get("sha256") and got.get("bytes") == len(data), (sent, got)
    finally:
        cap.stop()

    # ---- the WAN: ISAKMP and ESP only, the right exchanges, no LAN address in clear
    frames = cap.frames(("frame.protocols", "ip.src", "ip.dst", "isakmp.exchangetype", "esp.spi"),
                        display_filter="ip")
    assert frames, "nothing captured on the WAN"
    exch = set()
    for f in frames:
        protos = f["frame.protocols"][0].split(":")
        assert "isakmp" in protos or "esp" in protos, f"clear traffic on the WAN: {f}"
        assert f["ip.src"][0] in (SITE_A.wan, SITE_B.wan) and f["ip.dst"][0] in (SITE_A.wan, SITE_B.wan), f
        exch.update(x for x in f.get("isakmp.exchangetype", []) if x)
    phase1 = "4" if variant == "dynamic" else "2"
    assert phase1 in exch and "32" in exch, f"exchange types on the wire: {exch}"

    # ---- both gateways agree
    for site, peer in ((a, SITE_B.wan), (b, SITE_A.wan)):
        out = site.cli("SHOW ISAKMP SA").text
        assert re.search(rf"^\s*\d+\s+{re.escape(peer)}\s+DES\s+SHA", out, re.M), out
    ra, rb = esp_rows(a), esp_rows(b)
    assert ra and rb, (a.cli("SHOW IPSEC SA").text, b.cli("SHOW IPSEC SA").text)
    assert {r["OutSPI"] for r in ra} & {r["InSPI"] for r in rb}
    assert {r["InSPI"] for r in ra} & {r["OutSPI"] for r in rb}
    assert all(r["State"].lower() == "valid" for r in ra + rb)
    role = "init" if starter is a else "resp"
    log_a = flat_log(a)
    assert f"Phase 1 [{role}] started with peer {SITE_B.wan}" in log_a, log_a
    assert "Completed successfully" in log_a, log_a
    # The pre-shared key never shows.
    for site in (a, b):
        assert "jogefoge" not in site.cli("SHOW CONFIG").text
        assert "jogefoge" not in site.all_logs_text()


def test_prenegotiate_brings_the_sas_up_without_traffic(two_sites):
    lab = two_sites
    a, b = lab.a, lab.b
    assert b.cli_script(FIXED["B"], check=False).ok
    r = a.cli_script(FIXED["A"] + ["SET ISAKMP POLICY=i PRENEGOTIATE=TRUE"], check=False)
    assert r.ok and not r.errors(), str(r)
    deadline = time.time() + 20
    while time.time() < deadline and not (esp_rows(a) and esp_rows(b)):
        time.sleep(0.5)
    assert esp_rows(a) and esp_rows(b), f"no SA without traffic\n{lab.logs()}"
    assert "Phase 1 [init] started" in flat_log(a)
    # The first packet then crosses at once: no acquire, no loss.
    r = a.ping(SITE_B.lan_host, count=5, interval=0.1)
    assert r.received == 5, r.text


def test_vpn_clients_by_phase2_name(two_sites):
    """The seed's VPN clients: the centre (A) has one IPsec policy per client, PEER=DYNAMIC
    with RNAME=clientN, and ISAKMP policies PEER=ANY by REMOTEID; a client (B, here the
    second of three) names itself with LOCALID (phase 1) and LNAME (phase 2). The centre
    must pick v2 by the name, and only after that does its v2 select B's address."""
    lab = two_sites
    a, b = lab.a, lab.b
    centre = [
        'CREATE ENCO KEY=1 TYPE=GENERAL VALUE="jogefoge"',
        'CREATE ENCO KEY=2 TYPE=GENERAL VALUE="hogehoge"',
        "CREATE ISAKMP POLICY=c1 PEER=ANY KEY=1 REMOTEID=peer1 MODE=AGGRESSIVE SENDN=TRUE",
        "CREATE ISAKMP POLICY=c2 PEER=ANY KEY=2 REMOTEID=peer2 MODE=AGGRESSIVE SENDN=TRUE",
        "CREATE IPSEC SASPEC=1 KEYMAN=ISAKMP PROT=ESP ENCALG=DES HASHALG=SHA",
        'CREATE IPSEC BUNDLE=1 KEYMAN=ISAKMP STRING="1"',
        "CREATE IPSEC POLICY=isa INT=ppp0 ACTION=PERMIT LPORT=500 RPORT=500 TRANSPORT=UDP",
        "CREATE IPSEC POLICY=v1 INT=ppp0 ACTION=IPSEC KEYMAN=ISAKMP BUNDLE=1 PEER=DYNAMIC",
        f"SET IPSEC POLICY=v1 LAD={SITE_A.lan_net} LMA=255.255.255.0 RNAME=client1",
        "CREATE IPSEC POLICY=v2 INT=ppp0 ACTION=IPSEC KEYMAN=ISAKMP BUNDLE=1 PEER=DYNAMIC",
        f"SET IPSEC POLICY=v2 LAD={SITE_A.lan_net} LMA=255.255.255.0 RNAME=client2",
        "CREATE IPSEC POLICY=v3 INT=ppp0 ACTION=IPSEC KEYMAN=ISAKMP BUNDLE=1 PEER=DYNAMIC",
        f"SET IPSEC POLICY=v3 LAD={SITE_A.lan_net} LMA=255.255.255.0 RNAME=client3",
        "CREATE IPSEC POLICY=inet INT=ppp0 ACTION=PERMIT",
        "ENABLE IPSEC",
        "ENABLE ISAKMP",
    ]
    client = [
        'CREATE ENCO KEY=1 TYPE=GENERAL VALUE="hogehoge"',
        f"CREATE ISAKMP POLICY=i PEER={SITE_A.wan} KEY=1 SENDN=TRUE LOCALID=peer2 MODE=AGGRESSIVE",
        "SET ISAKMP POLICY=i PRENEGOTIATE=TRUE",
        "CREATE IPSEC SASPEC=1 KEYMAN=ISAKMP PROT=ESP ENCALG=DES HASHALG=SHA",
        'CREATE IPSEC BUNDLE=1 KEYMAN=ISAKMP STRING="1"',
        "CREATE IPSEC POLICY=isa INT=ppp0 ACTION=PERMIT LPORT=500 RPORT=500 TRANSPORT=UDP",
        f"CREATE IPSEC POLICY=vpncli INT=ppp0 ACTION=IPSEC KEYMAN=ISAKMP BUNDLE=1 PEER={SITE_A.wan}",
        f"SET IPSEC POLICY=vpncli LNAME=client2 RAD={SITE_A.lan_net} RMA=255.255.255.0",
        "CREATE IPSEC POLICY=inet INT=ppp0 ACTION=PERMIT",
        "ENABLE IPSEC",
        "ENABLE ISAKMP",
    ]
    for site, cmds in ((a, centre), (b, client)):
        r = site.cli_script(cmds, check=False)
        assert r.ok and not r.errors(), str(r)
    deadline = time.time() + 25
    while time.time() < deadline and not esp_rows(a):
        time.sleep(0.5)
    rows = esp_rows(a)
    assert rows and all(r["Policy"] == "v2" for r in rows), a.cli("SHOW IPSEC SA").text
    # The centre's LAN reaches the client itself (its phase 2 ID is its own address)
    # through the tunnel; the client's answer leaves through its LNAME policy.
    cap = Capture(lab.router, a.router_if, tmp_path_for(lab) / "wan.pcap")
    try:
        r = a.ping(SITE_B.wan, count=5, interval=0.1)
        assert r.received == 5, f"{r.text}\n{lab.logs()}"
    finally:
        cap.stop()
    frames = cap.frames(("frame.protocols",), display_filter="icmp")
    assert not frames, f"ICMP in clear on the WAN: {frames[:3]}"
    # v1 and v3 (no client of those names) never got SAs.
    assert {r["Policy"] for r in parse_table(a.cli("SHOW IPSEC SA").text) if r} <= {"v2"}


def tmp_path_for(lab) -> "os.PathLike":
    from pathlib import Path
    return Path(lab.a.dir)


@pytest.mark.parametrize("password,works", [("passclie1", True), ("not-it", False)])
def test_xauth_between_two_gateways(two_sites, password, works):
    """The seed's XAUTH example: the fixed side is the XAUTH server for PEER=ANY with
    LOGIN=NO users; the side without a fixed address is the client with its name and
    password, and starts."""
    lab = two_sites
    a, b = lab.a, lab.b
    server = seed_ike(SITE_A, SITE_B, vpn_peer="DYNAMIC",
                      isakmp="CREATE ISAKMP POLICY=i PEER=ANY KEY=1 SENDN=TRUE XAUTH=SERVER")
    server[1:1] = ["ADD USER=client1 PASSWORD=passclie1 LOGIN=NO",
                   "ADD USER=client2 PASSWORD=passclie2 LOGIN=NO"]
    client = seed_ike(SITE_B, SITE_A, vpn_peer=SITE_A.wan,
                      isakmp=f"CREATE ISAKMP POLICY=i PEER={SITE_A.wan} KEY=1 SENDN=TRUE XAUTH=CLIENT")
    client.insert(2, f"SET ISAKMP POLICY=i XAUTHNAME=client1 XAUTHPASS={password}")
    for site, cmds in ((a, server), (b, client)):
        r = site.cli_script(cmds, check=False)
        assert r.ok and not r.errors(), str(r)
    first = b.ping_until_ok(SITE_A.lan_host, ns=b.lan, timeout=15 if works else 8)
    log = flat_log(a)
    if works:
        assert first and first.received, f"no VPN after XAUTH\n{lab.logs()}"
        r = a.ping(SITE_B.lan_host, count=5, interval=0.1)
        assert r.received == 5, r.text
        assert "XAUTH: user client1 authenticated" in log, log
        assert re.search(r"client1", a.cli("SHOW ISAKMP SA=1").text), a.cli("SHOW ISAKMP SA=1").text
    else:
        assert not (first and first.received), "traffic crossed with a wrong XAUTH password"
        assert "not authenticated" in log, log
        assert not esp_rows(a)
    # Neither password shows anywhere on either gateway.
    for site in (a, b):
        text = site.all_logs_text() + site.cli("SHOW CONFIG").text + site.cli("SHOW ISAKMP POLICY=i").text
        assert "passclie1" not in text and "not-it" not in text
