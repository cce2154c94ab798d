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

The seed's VPN clients run on netlab.HubLab, the centre (SITE_A) and three client
gateways on one router: the centre's ISAKMP policies c1..c3 (PEER=ANY, REMOTEID=peerN,
one key each) and IPsec policies v1..v3 (PEER=DYNAMIC, RNAME=clientN), each client
naming itself with LOCALID=peerN and LNAME=clientN; the three come up at once, each
binds its own policy, and one client rebooting leaves the other two alone.
"""

from __future__ import annotations

import os
import re
import time
from concurrent.futures import ThreadPoolExecutor

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


def test_vpn_clients_by_phase2_name(two_sites, tmp_path):
    """The seed's VPN clients: the centre (A) has one IPsec policy per client, PEER=DYNAMIC
    with RNAME=clientN, and ISAKMP policies PEER=ANY by REMOTEID; a client (B, here the
    second of three) names itself with LOCALID (phase 1) and LNAME (phase 2). The centre
    must pick v2 by the name, and only after that does its v2 select B's address; v1 and
    v3, whose clients never come, stay without SAs (test_seed_vpn_clients_at_once has
    all three clients)."""
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
    cap = Capture(lab.router, a.router_if, tmp_path / "wan.pcap")
    try:
        r = a.ping(SITE_B.wan, count=5, interval=0.1)
        assert r.received == 5, f"{r.text}\n{lab.logs()}"
    finally:
        cap.stop()
    frames = cap.frames(("frame.protocols",), display_filter="icmp")
    assert not frames, f"ICMP in clear on the WAN: {frames[:3]}"
    # v1 and v3 (no client of those names) never got SAs.
    assert {r["Policy"] for r in parse_table(a.cli("SHOW IPSEC SA").text) if r} <= {"v2"}


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


# --------------------------------------------------------------------------- VPN clients

# One pre-shared key per client (the seed's peer1 uses key 1, peer2 key 2, ...).
CLIENT_KEYS = {1: "pobaetrpnjkakdf", 2: "hogehoge", 3: "fugafuga"}


def seed_centre(n: int) -> list[str]:
    """The seed's VPN centre for clients 1..n: its ISAKMP policies for peers whose
    address is not fixed (c1, c2, ... by REMOTEID, lines 384-386) and one IPsec policy
    per client selected by the client's phase 2 name (v1, v2, v3, lines 241-247)."""
    lines = [f'CREATE ENCO KEY={k} TYPE=GENERAL VALUE="{CLIENT_KEYS[k]}"' for k in range(1, n + 1)]
    lines += [f"CREATE ISAKMP POLICY=c{k} PEER=ANY KEY={k} REMOTEID=peer{k} MODE=AGGRESSIVE SENDN=TRUE"
              for k in range(1, n + 1)]
    lines += [
        "CREATE IPSEC SASPEC=1 KEYMAN=ISAKMP PROT=ESP ENCALG=DES HASHALG=SHA",
        'CREATE IPSEC BUNDLE=1 KEYMAN=ISAKMP STRING="1"',
        "CREATE IPSEC POLICY=isa INT=ppp0 ACTION=PERMIT LPORT=500 RPORT=500 TRANSPORT=UDP",
    ]
    for k in range(1, n + 1):
        lines += [
            f"CREATE IPSEC POLICY=v{k} INT=ppp0 ACTION=IPSEC KEYMAN=ISAKMP BUNDLE=1 PEER=DYNAMIC",
            f"SET IPSEC POLICY=v{k} LAD={SITE_A.lan_net} LMA=255.255.255.0 RNAME=client{k}",
        ]
    return lines + ["CREATE IPSEC POLICY=inet INT=ppp0 ACTION=PERMIT", "ENABLE IPSEC", "ENABLE ISAKMP"]


def seed_client(k: int) -> list[str]:
    """The seed's VPN client k: aggressive mode to the centre's fixed address with
    LOCALID (line 378), and the "vpncli" policy with LNAME instead of a local address
    (line 238). It has no host of its own to send the first packet, so it brings the
    tunnel up by itself (PRENEGOTIATE)."""
    return [
        f'CREATE ENCO KEY=1 TYPE=GENERAL VALUE="{CLIENT_KEYS[k]}"',
        f"CREATE ISAKMP POLICY=i PEER={SITE_A.wan} KEY=1 LOCALID=peer{k} MODE=AGGRESSIVE SENDN=TRUE",
        "SET ISAKMP POLICY=i PRENEGOTIATE=TRUE",
        "CREATE IPSEC SASPEC=1 KEYMAN=ISAKMP PROT=ESP ENCALG=DES HASHALG=SHA",
        'CREATE IPSEC BUNDLE=1 KEYMAN=ISAKMP STRING="1"',
        "CREATE IPSEC POLICY=isa INT=ppp0 ACTION=PERMIT LPORT=500 RPORT=500 TRANSPORT=UDP",
        f"CREATE IPSEC POLICY=vpncli INT=ppp0 ACTION=IPSEC KEYMAN=ISAKMP BUNDLE=1 PEER={SITE_A.wan}",
        f"SET IPSEC POLICY=vpncli LNAME=client{k} RAD={SITE_A.lan_net} RMA=255.255.255.0",
        "CREATE IPSEC POLICY=inet INT=ppp0 ACTION=PERMIT",
        "ENABLE IPSEC",
        "ENABLE ISAKMP",
    ]




def detail(text: str) -> dict[str, str]:
    """`Name ..... value` lines of a SHOW ... SA=n block."""
    return {m.group(1).strip(): m.group(2).strip()
            for m in re.finditer(r"^(\S[^.\n]*?)\s*\.{2,}\s*(.*)$", text, re.M)}


def wait_for(what, cond, timeout: float, lab) -> None:
    deadline = time.time() + timeout
    while not cond():
        if time.time() > deadline:
            raise AssertionError(f"{what} after {timeout} s\n{lab.logs()}")
        time.sleep(0.3)


def test_seed_vpn_clients_at_once(hub, tmp_path):
    """Three VPN clients of the seed's centre, all at once: each lands on its own
    ISAKMP policy (by ID) and its own IPsec policy (by phase 2 name), the centre's LAN
    reaches each through its tunnel, and client 3 rebooting disturbs neither of the
    others."""
    lab = hub
    centre, clients = lab.centre, lab.clients
    addrs = {k: a.wan for k, a in enumerate(lab.client_addrs, 1)}
    r = centre.cli_script(seed_centre(3), check=False)
    assert r.ok and not r.errors(), f"the centre refused the seed's commands:\n{r}"

    cap = Capture(lab.router, centre.router_if, tmp_path / "wan.pcap")
    try:
        # The three clients are configured (and negotiate) at the same time; in reverse
        # order, so that a centre handing out its policies first come, first served
        # (rather than by name) would give client 3 policy v1.
        with ThreadPoolExecutor(3) as pool:
            done = {k: pool.submit(clients[k - 1].cli_script, seed_client(k), check=False)
                    for k in (3, 2, 1)}
        for k, f in done.items():
            r = f.result()
            assert r.ok and not r.errors(), f"client {k} refused the seed's commands:\n{r}"

        def bound() -> dict[str, list[dict]]:
            rows = esp_rows(centre)
            return {p: [r for r in rows if r["Policy"] == p] for p in ("v1", "v2", "v3")}
        wait_for("not every client has its SAs on the centre",
                 lambda: all(len(v) == 1 for v in bound().values()), 30, lab)

        for k, addr in addrs.items():
            r = centre.ping(addr, count=5, interval=0.1)
            assert r.received == 5, f"centre LAN -> client {k} ({addr}): {r.text}\n{lab.logs()}"
    finally:
        cap.stop()

    # ---- phase 1: three SAs, each found by its own ID under its own policy
    table = parse_table(centre.cli("SHOW ISAKMP SA").text)
    assert len(table) == 3, centre.cli("SHOW ISAKMP SA").text
    isakmp = {}
    for row in table:
        d = detail(centre.cli(f"SHOW ISAKMP SA={row['SA Id']}").text)
        m = re.fullmatch(r"peer(\d)", d.get("Remote ID", ""))
        assert m, d
        k = int(m.group(1))
        assert d["Policy"] == f"c{k}" and d["Peer Address"] == addrs[k], d
        assert d["State"] == "ESTABLISHED" and d["Mode"] == "AGGRESSIVE", d
        isakmp[k] = (row["SA Id"], d["Initiator Cookie"], d["Responder Cookie"])
    assert sorted(isakmp) == [1, 2, 3], table

    # ---- phase 2: v<k> is bound to client k's address, and its SPIs are client k's
    spis = {}
    for k, addr in addrs.items():
        (row,) = [r for r in esp_rows(centre) if r["Policy"] == f"v{k}"]
        d = detail(centre.cli(f"SHOW IPSEC SA={row['SA Id']}").text)
        assert d["Peer Address"] == addr and d["State"] == "Valid", d
        (mine,) = esp_rows(clients[k - 1])
        assert mine["Policy"] == "vpncli", mine
        assert (mine["OutSPI"], mine["InSPI"]) == (row["InSPI"], row["OutSPI"]), (k, row, mine)
        spis[k] = (int(row["OutSPI"]), int(row["InSPI"]))

    # ---- the WAN: aggressive and quick mode, then each client's ESP on its own SPIs,
    # nothing in clear
    frames = cap.frames(("frame.protocols", "ip.src", "ip.dst", "isakmp.exchangetype", "esp.spi"),
                        display_filter="ip")
    exch, esp = set(), {}
    for f in frames:
        protos = f["frame.protocols"][0].split(":")
        assert "isakmp" in protos or "esp" in protos, f"clear traffic on the WAN: {f}"
        exch.update(x for x in f.get("isakmp.exchangetype", []) if x)
        for spi in f.get("esp.spi", []):
            esp.setdefault(int(spi, 0), set()).add((f["ip.src"][0], f["ip.dst"][0]))
    assert {"4", "32"} <= exch and "2" not in exch, f"exchange types on the wire: {exch}"
    for k, (out_spi, in_spi) in spis.items():
        assert esp.get(out_spi) == {(SITE_A.wan, addrs[k])}, (k, esp)
        assert esp.get(in_spi) == {(addrs[k], SITE_A.wan)}, (k, esp)

    # ---- client 3 reboots (its configuration in its boot script) while the centre's
    # LAN keeps pinging clients 1 and 2
    def phase1s(log: str) -> dict[int, int]:
        return {k: log.count(f"Phase 1 [resp] started with peer {a}") for k, a in addrs.items()}
    phase1s_before = phase1s(flat_log(centre))
    pings = {k: centre.lan.popen("ping", "-n", "-q", "-c", "50", "-i", "0.1", addrs[k],
                                 log=tmp_path / f"ping{k}.log") for k in (1, 2)}
    try:
        c3 = clients[2]
        c3.boot_config.write_text("\n".join(lab.boot(c3) + seed_client(3)) + "\n")
        c3.restart_gateway()

        def new_v3() -> bool:
            mine = esp_rows(c3)
            return bool(mine) and any((r["InSPI"], r["OutSPI"]) == (mine[0]["OutSPI"], mine[0]["InSPI"])
                                      for r in esp_rows(centre) if r["Policy"] == "v3")
        wait_for("rebooted client 3 has no SAs with the centre", new_v3, 30, lab)
        r = centre.ping(addrs[3], count=5, interval=0.1)
        assert r.received == 5, f"centre LAN -> rebooted client 3: {r.text}\n{lab.logs()}"
    finally:
        for p in pings.values():
            p.wait(60)
    for k in (1, 2):
        res = netlab.parse_ping((tmp_path / f"ping{k}.log").read_text())
        assert res.transmitted == 50 and res.lost == 0, f"client {k} during client 3's reboot: {res.text}"

    # Clients 1 and 2 kept their SAs, phase 1 and phase 2 alike, and were never
    # renegotiated. The rebooted client 3 said INITIAL-CONTACT in its third aggressive
    # mode message, so the centre dropped its old ISAKMP SA and old bundle at once.
    for k in (1, 2):
        (row,) = [r for r in esp_rows(centre) if r["Policy"] == f"v{k}"]
        assert (int(row["OutSPI"]), int(row["InSPI"])) == spis[k], (k, row)
        d = detail(centre.cli(f"SHOW ISAKMP SA={isakmp[k][0]}").text)
        assert (d.get("Remote ID"), d.get("Initiator Cookie"), d.get("Responder Cookie")) == \
            (f"peer{k}", *isakmp[k][1:]), d
    wait_for("client 3's old SAs are still on the centre",
             lambda: len([r for r in esp_rows(centre) if r["Policy"] == "v3"]) == 1, 15, lab)
    remote_ids = [detail(centre.cli(f"SHOW ISAKMP SA={r['SA Id']}").text).get("Remote ID")
                  for r in parse_table(centre.cli("SHOW ISAKMP SA").text)]
    assert sorted(remote_ids) == ["peer1", "peer2", "peer3"], centre.cli("SHOW ISAKMP SA").text
    log = flat_log(centre)
    assert "INITIAL-CONTACT from the peer" in log, log
    assert phase1s(log) == {**phase1s_before, 3: phase1s(log)[3]}, log
    assert phase1s(log)[3] > phase1s_before[3], log
    for site in lab.sites:
        text = site.cli("SHOW CONFIG").text + site.all_logs_text()
        assert not any(key in text for key in CLIENT_KEYS.values()), site.addr.name
