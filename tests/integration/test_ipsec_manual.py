"""Two arsec gateways, manual keys, the seed's VPN: 192.168.10.0/24 <-> 192.168.20.0/24.

Each test builds the seed's figure in namespaces (lanA - gwA - router - gwB - lanB, see
netlab.TwoSiteLab), configures both gateways through the CLI with the seed's manual-key
example -- the commands verbatim, the peers' addresses ours, SPIs swapped on B -- and
then checks what a network engineer would:

  * the hosts ping each other both ways and a file crosses intact (sha256 at both ends);
  * tshark on the router's interface toward gwA sees nothing but ESP / AH (or ESP in
    UDP 2746 with UDPTUNNEL=TRUE): no ICMP or TCP in clear, and no private address
    outside a tunnel;
  * given the keys, tshark decrypts the ESP (ICV good, ICMP and TCP inside, IPComp
    inside for the IPComp bundle), with the SPIs each side was given and no sequence
    number out of order;
  * both gateways count the packets they protected and unprotected, and no drop.

Variants: ESP DES+SHA (the seed's own keys), ESP AES128+SHA, ESP AES256+SHA, ESP
AES128-GCM, AH SHA, an IPComp(LZS)+ESP bundle, and ESP with UDPTUNNEL=TRUE.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from typing import Optional

import pytest

import netlab
from netlab import SITE_A, SITE_B, Capture, parse_table, tcp_transfer

# The seed's keys (its SHOW ENCO KEY output) and stand-ins of the right length for the
# other algorithms.
DES_KEY = "F888CAC6C66ECF52"
SHA_KEY = "431d62cd3cb76fb8101dacaf43aa4dbfb919e957"
AES128_KEY = "8b3ad1e9f4c2a76d05e1b9c3d7f2a418"
AES256_KEY = "5c0e93d24b7fa1e86d3c20b9f47a1e5dd2c8a7b3e01f64c9a5b7d3e2f1c0a9b8"
GCM128_KEY = "7e3f1a9c2b6d4e8f0a1c3e5b7d9f2a4c" + "c0ffee01"   # key || salt (RFC 4106)
SPI_A_IN, SPI_A_OUT = 1000, 1001       # the seed's; gateway B has them swapped

# Wireshark's names of the algorithms (its esp_sa table).
WS_ENC = {"DES": "DES-CBC [RFC2405]", "AES128": "AES-CBC [RFC3602]",
          "AES256": "AES-CBC [RFC3602]", "AES128GCM": "AES-GCM with 16 octet ICV [RFC4106]"}
WS_AUTH = {"SHA": "HMAC-SHA-1-96 [RFC2404]", "NULL": "NULL"}


@dataclass
class Variant:
    name: str
    enc: Optional[str] = None          # ESP ENCALG; None: AH
    hash: str = "SHA"
    enc_key: str = ""
    enc_type: str = "GENERAL"          # ENCO key TYPE of the encryption key
    ipcomp: bool = False
    udptunnel: bool = False
    extra: list = field(default_factory=list)

    @property
    def ah(self) -> bool:
        return self.enc is None


VARIANTS = [
    Variant("esp-des-sha", "DES", enc_key=DES_KEY, enc_type="DES"),
    Variant("esp-aes128-sha", "AES128", enc_key=AES128_KEY, enc_type="AES128"),
    Variant("esp-aes256-sha", "AES256", enc_key=AES256_KEY, enc_type="AES256"),
    Variant("esp-aes128gcm", "AES128GCM", hash="NULL", enc_key=GCM128_KEY),
    Variant("ah-sha"),
    Variant("ipcomp-lzs-esp-des-sha", "DES", enc_key=DES_KEY, enc_type="DES", ipcomp=True),
    Variant("esp-des-sha-udptunnel", "DES", enc_key=DES_KEY, enc_type="DES", udptunnel=True),
]


def seed_commands(v: Variant, me: netlab.SiteAddr, peer: netlab.SiteAddr,
                  inspi: int, outspi: int) -> list[str]:
    """The seed's manual-key example (its lines 95-140) for one gateway."""
    lines = []
    if v.enc == "DES" and v.enc_key == DES_KEY:
        # Verbatim, the seed's spelling mistake included.
        lines += [
            f'CREATE ENCO KEY=1 TYPE=DES VALUE=0x{DES_KEY} DESCRIPTION="IPsec DES key"',
            f'CREATE ENCO KEY=2 TYPE=GENERAL VALUE=0x{SHA_KEY} DESCRITION="IPsec SHA-1 key"',
        ]
    else:
        if v.enc:
            lines.append(f'CREATE ENCO KEY=1 TYPE={v.enc_type} VALUE=0x{v.enc_key} '
                         f'DESCRIPTION="IPsec {v.enc} key"')
        if v.hash != "NULL":
            lines.append(f'CREATE ENCO KEY=2 TYPE=GENERAL VALUE=0x{SHA_KEY} '
                         f'DESCRIPTION="IPsec SHA-1 key"')
    spec = 1
    bundle = "1"
    if v.ipcomp:
        lines.append("CREATE IPSEC SASPEC=1 KEYMAN=MANUAL PROT=COMP COMPALG=LZS")
        spec, bundle = 2, "1 and 2"
    if v.ah:
        lines.append(f"CREATE IPSEC SASPEC={spec} KEYMAN=MANUAL PROT=AH HASHALG={v.hash} "
                     f"HASHKEY=2 INSPI={inspi} OUTSPI={outspi}")
    else:
        keys = f"ENCALG={v.enc} ENCKEY=1 HASHALG={v.hash}"
        if v.hash != "NULL":
            keys += " HASHKEY=2"
        lines.append(f"CREATE IPSEC SASPEC={spec} KEYMAN=MANUAL PROT=ESP {keys} "
                     f"INSPI={inspi} OUTSPI={outspi}")
    lines.append(f'CREATE IPSEC BUNDLE=1 KEYMAN=MANUAL STRING="{bundle}"')
    if v.udptunnel:
        # The seed: let ESP over UDP through, ahead of the IPSEC policy.
        lines.append("CREATE IPSEC POLICY=udp INT=ppp0 ACTION=PERMIT LPORT=2746 TRANSPORT=UDP")
    lines += [
        f"CREATE IPSEC POLICY=vpn INT=ppp0 ACTION=IPSEC KEYMAN=MANUAL BUNDLE=1 PEER={peer.wan}",
        f"SET IPSEC POLICY=vpn LAD={me.lan_net} LMA=255.255.255.0 RAD={peer.lan_net} RMA=255.255.255.0",
    ]
    if v.udptunnel:
        lines.append("SET IPSEC POLICY=vpn UDPTUNNEL=TRUE")
    lines += [
        "CREATE IPSEC POLICY=inet INT=ppp0 ACTION=PERMIT",
        "ENABLE IPSEC",
    ]
    return lines


def esp_sa_options(v: Variant) -> list[str]:
    """tshark options that decrypt both directions of the variant's ESP."""
    opts = ["-o", "esp.enable_encryption_decode:TRUE",
            "-o", "esp.enable_authentication_check:TRUE"]
    if v.udptunnel:
        opts += ["-d", "udp.port==2746,udpencap"]
    key = "0x" + v.enc_key
    auth_key = "0x" + SHA_KEY if v.hash != "NULL" else ""
    for src, dst, spi in ((SITE_A.wan, SITE_B.wan, SPI_A_OUT), (SITE_B.wan, SITE_A.wan, SPI_A_IN)):
        opts += ["-o", f'uat:esp_sa:"IPv4","{src}","{dst}","0x{spi:08x}","{WS_ENC[v.enc]}",'
                       f'"{key}","{WS_AUTH[v.hash]}","{auth_key}"']
    return opts




def _payload(v: Variant) -> bytes:
    if v.ipcomp:   # text compresses: the bundle must shrink it on the wire
        return "".join(f"{i:06d} the quick brown fox crosses the arsec tunnel\n"
                       for i in range(4000)).encode()
    return os.urandom(200_000)


# What the WAN checks read of each frame (one tshark pass with keys, one without).
FIELDS = ("frame.number", "frame.len", "frame.protocols", "ip.src", "ip.dst",
          "udp.srcport", "udp.dstport", "esp.spi", "esp.sequence", "ah.spi", "ah.sequence",
          "esp.icv_good")

IPSEC_DROPS = [n for n in netlab.counter_names() if n.startswith("ipsecDrop")]


@pytest.mark.parametrize("v", VARIANTS, ids=[v.name for v in VARIANTS])
def test_seed_vpn(two_sites, v, tmp_path):
    lab = two_sites
    a, b = lab.a, lab.b
    ra = a.cli_script(seed_commands(v, SITE_A, SITE_B, SPI_A_IN, SPI_A_OUT), check=False)
    rb = b.cli_script(seed_commands(v, SITE_B, SITE_A, SPI_A_OUT, SPI_A_IN), check=False)
    assert ra.ok and not ra.errors(), f"gateway A refused the seed's commands:\n{ra}"
    assert rb.ok and not rb.errors(), f"gateway B refused the seed's commands:\n{rb}"

    before = {s.addr.name: s.counters() for s in lab.sites}
    cap = Capture(lab.router, a.router_if, tmp_path / "wan.pcap")
    try:
        first = a.ping_until_ok(SITE_B.lan_host, timeout=20)
        assert first and first.received, \
            f"no echo reply across the tunnel:\n{first and first.text}\n" \
            f"A: {a.cli('SHOW IPSEC COUNTERS')}\nB: {b.cli('SHOW IPSEC COUNTERS')}"
        r = a.ping(SITE_B.lan_host, count=5, interval=0.05)
        assert r.received == 5, r.text
        r = b.ping(SITE_A.lan_host, ns=b.lan, count=5, interval=0.05)
        assert r.received == 5, r.text
        data = _payload(v)
        sent, got = tcp_transfer(a.lan, b.lan, SITE_B.lan_host, data, tmp_path)
        assert "error" not in sent and "error" not in got, f"transfer failed: {sent} {got}"
        assert got["bytes"] == len(data) and got["sha256"] == sent["sha256"], (sent, got)
        assert got["peer"] == SITE_A.lan_host, got     # no NAT, the LAN address crossed
    finally:
        cap.stop()

    # ---- the WAN carries only IPsec (read without keys)
    udpencap = ["-d", "udp.port==2746,udpencap"] if v.udptunnel else []
    plain = cap.frames(FIELDS, options=udpencap, display_filter="ip")
    assert len(plain) >= 20, f"only {len(plain)} IP packets on the WAN"
    for f in plain:
        layers = f["frame.protocols"][0].split(":")
        where = f"frame {f['frame.number']}: {f['frame.protocols']} {f['ip.src']} -> {f['ip.dst']}"
        # Private addresses never outside a tunnel: the outer header is gateway to gateway.
        assert {f["ip.src"][0], f["ip.dst"][0]} == {SITE_A.wan, SITE_B.wan}, where
        if v.udptunnel:
            assert layers[3] == "udp" and f["udp.srcport"] == ["2746"] and \
                f["udp.dstport"] == ["2746"], f"not ESP in UDP 2746: {where}"
            assert "esp" in layers, where
        else:
            assert layers[3] == ("ah" if v.ah else "esp"), f"not {'AH' if v.ah else 'ESP'}: {where}"
        if not v.ah:
            assert not {"icmp", "tcp", "ipcomp"} & set(layers), f"readable without keys: {where}"

    # ---- each side uses the SPI the other expects, in order
    spi_field = "ah.spi" if v.ah else "esp.spi"
    by_src: dict = {}
    for f in plain:
        by_src.setdefault(f["ip.src"][0], set()).update(int(x, 16) for x in f[spi_field])
    assert by_src.get(SITE_A.wan) == {SPI_A_OUT}, by_src
    assert by_src.get(SITE_B.wan) == {SPI_A_IN}, by_src
    seqs: dict = {}
    for f in plain:
        seqs.setdefault(f["ip.src"][0], []).append(int(f["ah.sequence" if v.ah else "esp.sequence"][0]))
    for src, got in seqs.items():
        assert got == list(range(1, len(got) + 1)), \
            f"{src} sent sequence numbers {got[:10]}...{got[-5:]}, not 1, 2, 3..."

    # ---- with the keys, tshark sees the traffic inside
    if v.ah:
        inside = plain
    else:
        inside = cap.frames(FIELDS, options=esp_sa_options(v), display_filter="esp")
        undecoded = [f for f in inside if not re.search(r":esp:(ip|ipcomp)\b",
                                                         f["frame.protocols"][0])]
        assert not undecoded, f"tshark could not decrypt {len(undecoded)} of {len(inside)} " \
                              f"ESP frames with the keys: {undecoded[:3]}"
        if v.hash != "NULL":
            bad = [f for f in inside if f["esp.icv_good"] != ["1"]]
            assert not bad, f"ICV not good in tshark for {len(bad)} frames: {bad[:3]}"
    protos = [f["frame.protocols"][0] for f in inside]
    assert sum(":icmp" in p for p in protos) >= 20, "ICMP inside the tunnel: " + str(protos[:5])
    assert any(":tcp" in p for p in protos), "no TCP inside the tunnel"
    if v.ipcomp:
        comp = [f for f in inside if ":ipcomp" in f["frame.protocols"][0]]
        assert comp, "the IPComp bundle sent nothing compressed"
        sent_bytes = sum(int(f["frame.len"][0]) for f in plain if f["ip.src"][0] == SITE_A.wan)
        assert sent_bytes < 0.75 * len(data), \
            f"{sent_bytes} bytes on the wire for a {len(data)}-byte compressible file"

    # ---- the gateways' own view
    for s in lab.sites:
        c = s.counters()
        b0 = before[s.addr.name]
        out = c.get("ipsecOutPackets", 0) - b0.get("ipsecOutPackets", 0)
        inn = c.get("ipsecInPackets", 0) - b0.get("ipsecInPackets", 0)
        assert out >= 10 and inn >= 10, f"site {s.addr.name}: out {out} in {inn}\n" \
                                        f"{s.cli('SHOW IPSEC COUNTERS')}"
        drops = {n: c.get(n, 0) - b0.get(n, 0) for n in IPSEC_DROPS if c.get(n, 0) != b0.get(n, 0)}
        assert not drops, f"site {s.addr.name} dropped IPsec packets: {drops}\n" \
                          f"{s.cli('SHOW IPSEC COUNTERS')}"
        # SHOW IPSEC SA: the seed's columns, one row per SA specification of the bundle.
        sa = s.cli("SHOW IPSEC SA")
        rows = parse_table(sa.stdout)
        out_spi, in_spi = (SPI_A_OUT, SPI_A_IN) if s is a else (SPI_A_IN, SPI_A_OUT)
        want = [("AH" if v.ah else "ESP", str(out_spi), str(in_spi))]
        if v.ipcomp:
            want.insert(0, ("IPComp", "3", "3"))          # the LZS CPI (RFC 2395)
        got = [(r.get("Protocol"), r.get("OutSPI"), r.get("InSPI")) for r in rows]
        assert got == want, f"site {s.addr.name}: SHOW IPSEC SA rows {got}, expected {want}\n{sa}"
        assert all(r.get("Policy") == "vpn" and r.get("Bundle") == "1" and
                   r.get("State", "").lower() == "valid" for r in rows), sa
        # The policy's own counters saw the traffic both ways.
        pc = dict((k, int(n)) for k, n in re.findall(
            r"(\w+) \.{3,}\s*(\d+)", s.cli("SHOW IPSEC POLICY=vpn COUNTERS").stdout))
        assert pc.get("outProcessed", 0) >= 10 and pc.get("inProcessed", 0) >= 10, pc
        assert s.dataplane.alive() and s.control.alive(), s.logs()


def _ping_until(site, dst: str, timeout: float) -> tuple[bool, float]:
    """Pings once every 0.2 s until a reply; (answered, seconds it took)."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        if site.ping(dst, count=1, wait=1).received:
            return True, time.time() - t0
        time.sleep(0.2)
    return False, time.time() - t0


def _seed_saved(lab) -> None:
    """Both gateways configured with the seed's ESP DES+SHA, saved the seed's way
    (CREATE CONFIG=ipsecvpn.cfg, SET CONFIG=ipsecvpn.cfg), the tunnel up, and B's inbound
    SA some way past its first 64 sequence numbers."""
    a, b = lab.a, lab.b
    for site, me, peer, inspi, outspi in ((a, SITE_A, SITE_B, SPI_A_IN, SPI_A_OUT),
                                          (b, SITE_B, SITE_A, SPI_A_OUT, SPI_A_IN)):
        r = site.cli_script(seed_commands(VARIANTS[0], me, peer, inspi, outspi) +
                            ["CREATE CONFIG=ipsecvpn.cfg", "SET CONFIG=ipsecvpn.cfg"], check=False)
        assert r.ok and not r.errors(), r
    saved = (a.dir / "ipsecvpn.cfg").read_text()
    for line in (r"CREATE IPSEC SASPEC\w*=1 ", r"CREATE IPSEC BUNDLE\w*=1 ",
                 r"CREATE IPSEC POLICY=vpn .*PEER\w*=198\.51\.100\.2", r"ENABLE IPSEC"):
        assert re.search(line, saved, re.I), f"{line!r} not saved:\n{saved}"
    for key in (DES_KEY, SHA_KEY):
        assert key.lower() not in saved.lower(), f"key {key} written into ipsecvpn.cfg"
    assert a.ping_until_ok(SITE_B.lan_host, timeout=20).received
    r = a.ping(SITE_B.lan_host, count=150, interval=0.01, wait=1, timeout=60)
    assert r.received >= 145, r.text


def test_control_restart_keeps_the_tunnel(two_sites):
    """Restarting arsec-control under traffic: the dataplane keeps the SAs (DESIGN.md),
    the new control process shows them again."""
    lab = two_sites
    a = lab.a
    _seed_saved(lab)
    ping = subprocess.Popen(a.lan.cmd("ping", "-n", "-q", "-i", "0.02", "-c", "200", "-W", "1",
                                      SITE_B.lan_host),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(1)
        a.restart_control()
        out, _ = ping.communicate(timeout=60)
    finally:
        if ping.poll() is None:
            ping.kill()
            ping.wait()
    r = netlab.parse_ping(out)
    assert r.transmitted >= 195 and r.lost <= 50, f"the tunnel stalled while control restarted:\n{out}"
    rows = parse_table(a.cli("SHOW IPSEC SA").stdout)
    assert [(x.get("OutSPI"), x.get("InSPI")) for x in rows] == [(str(SPI_A_OUT), str(SPI_A_IN))], \
        f"SAs after a control restart: {rows}"
    logs = a.all_logs_text() + lab.b.all_logs_text() + a.cli("SHOW LOG").stdout
    for key in (DES_KEY, SHA_KEY):
        assert key.lower() not in logs.lower(), f"key {key} in a log"


def test_gateway_reboot_restores_the_tunnel(two_sites):
    """Gateway A reboots (both processes) from ipsecvpn.cfg and its ENCO key store while
    B keeps running: the tunnel must come back by itself. A manually keyed SA starts
    again from sequence number 1 after the reboot, so B must not hold A's old numbers
    against it (RFC 4303 section 3.3.3: with manually distributed keys anti-replay SHOULD
    NOT be provided, or else the sender's counter MUST survive reboots)."""
    lab = two_sites
    a, b = lab.a, lab.b
    _seed_saved(lab)
    a.boot_config.unlink()
    a.restart_gateway()
    rows = parse_table(a.cli("SHOW IPSEC SA").stdout)
    assert [(x.get("OutSPI"), x.get("InSPI")) for x in rows] == [(str(SPI_A_OUT), str(SPI_A_IN))], \
        f"SAs after booting from ipsecvpn.cfg: {rows}\n{a.cli('SHOW LOG').stdout[-3000:]}"
    before_b = b.counters()
    ok, took = _ping_until(a, SITE_B.lan_host, timeout=10)
    after_b = b.counters()
    drops = {k: after_b.get(k, 0) - before_b.get(k, 0) for k in IPSEC_DROPS
             if after_b.get(k, 0) != before_b.get(k, 0)}
    assert ok, (f"the tunnel did not come back within {took:.0f}s after gateway A rebooted; "
                f"meanwhile B dropped {drops} (A's SAs start again from sequence number 1, "
                f"B's replay window still stands at A's old numbers)")
