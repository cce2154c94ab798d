"""Malformed and hostile IPsec input: each kind dropped and counted, the tunnel unharmed.

One gateway (netlab.Lab) holds four manual SA pairs with a remote gateway that
ipsec_peer.py plays with scapy in the WAN namespace (see test_ipsec_scapy.py):

  vpn   ESP AES128 + HMAC-SHA1, 192.168.10.0/24 <-> 192.168.20.0/25   (the good flow)
  pad   ESP AES128 + HMAC-SHA1, <-> 192.168.20.200
  ah    AH HMAC-SHA1,           <-> 192.168.20.201
  comp  IPComp LZS + ESP AES128 + HMAC-SHA1, <-> 192.168.20.202

The peer answers every echo request that reaches it through a tunnel, so the LAN host
pings 192.168.20.1 through `vpn` for the whole test. Meanwhile the peer sends, each kind
a different number of times so that a packet counted under the wrong name shows:

  truncated ESP (shorter than SPI + sequence number; cipher text cut mid-block)
                                                  -> ipsecDropBadLength
  an SPI no SA has; the gateway's own outbound SPI -> ipsecDropUnknownSpi
  a flipped ICV byte or cipher text bit (ESP), a flipped payload byte (AH)
                                                  -> ipsecDropAuthFailed
  copies of packets the gateway already accepted   -> ipsecDropReplay
  ESP with a good ICV but padding bytes not 1, 2, 3.. or a pad length beyond the
  payload (RFC 4303 section 2.4)                   -> ipsecDropBadPadding
  ESP with a good ICV carrying an IPComp payload that does not decompress, or an
  IPComp header naming another CPI (RFC 3173)      -> ipsecDropDecompress
  good ESP whose inner packet is not one its SA's policy covers (RFC 4301 5.2)
                                                  -> ipsecDropPolicyMismatch
  in clear, what an IPSEC policy says must arrive protected
                                                  -> ipsecDropClearOnIpsec

Then one good packet on each of `pad`, `ah` and `comp` must still be answered, the ping
must have lost nothing and seen no duplicate, no other IPsec drop counter may move, and
nothing malformed may reach the LAN.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest

import ipsec_peer
import netlab
from netlab import LAN_HOST, WAN_GW, WAN_HOST, parse_ping

HERE = Path(__file__).resolve().parent

SAS = [
    # Manual SAs have no anti-replay unless asked for (RFC 4303 3.3.3): this one asks.
    {"name": "vpn", "proto": "ESP", "enc": "AES128", "hash": "SHA", "spi_to_gw": 2000,
     "spi_from_gw": 2001, "inner_src": "192.168.20.1", "rad": "192.168.20.0",
     "rmask": "255.255.255.128", "spec_extra": "ANTIREPLAYENABLED=TRUE"},
    {"name": "pad", "proto": "ESP", "enc": "AES128", "hash": "SHA", "spi_to_gw": 2010,
     "spi_from_gw": 2011, "inner_src": "192.168.20.200", "rad": "192.168.20.200"},
    {"name": "ah", "proto": "AH", "hash": "SHA", "spi_to_gw": 2020, "spi_from_gw": 2021,
     "inner_src": "192.168.20.201", "rad": "192.168.20.201"},
    {"name": "comp", "proto": "ESP", "enc": "AES128", "hash": "SHA", "comp": "LZS",
     "spi_to_gw": 2030, "spi_from_gw": 2031, "inner_src": "192.168.20.202",
     "rad": "192.168.20.202"},
]
for _d in SAS:
    _d.update(mode="tunnel", peer=WAN_HOST, gw=WAN_GW, inner_dst=LAN_HOST,
              lad="192.168.10.0", lmask="255.255.255.0")

# (seconds after the trigger, SA, kind, times, first ESP sequence number if it matters)
SCHEDULE = [
    (0.3, "vpn", "truncated_header", 2, None),
    (0.5, "vpn", "truncated_body", 3, None),
    (0.7, "vpn", "unknown_spi", 4, None),
    (0.9, "vpn", "outbound_spi", 2, None),
    (1.1, "vpn", "bad_icv", 5, None),
    (1.3, "vpn", "bad_ciphertext", 2, None),
    (1.5, "ah", "bad_icv", 1, None),
    (1.7, "vpn", "replay", 7, None),
    (1.9, "pad", "bad_padding", 3, 1),
    (2.1, "pad", "bad_pad_length", 1, 4),
    (2.3, "pad", "good", 1, 5),          # the SA still works after bad padding
    (2.5, "comp", "ipcomp_garbage", 2, 1),
    (2.7, "comp", "ipcomp_bad_cpi", 1, 3),
    (2.9, "comp", "good", 1, 4),         # ... and after bad IPComp
    (3.1, "ah", "good", 1, None),        # ... and AH after a bad ICV
    (3.3, "vpn", "wrong_inner", 3, None),
    (3.5, "vpn", "clear", 2, None),
]
EXPECTED = {
    "ipsecDropBadLength": 2 + 3,
    "ipsecDropUnknownSpi": 4 + 2,
    "ipsecDropAuthFailed": 5 + 2 + 1,
    "ipsecDropReplay": 7,
    "ipsecDropBadPadding": 3 + 1,
    "ipsecDropDecompress": 2 + 1,
    "ipsecDropPolicyMismatch": 3,
    "ipsecDropClearOnIpsec": 2,
}
GOOD_REPLIES = {"pad": [1005], "comp": [1004], "ah": [1000]}   # ICMP seq 1000 + ESP seq
PING_COUNT = 80


@pytest.fixture
def peer_lab(lab_factory, tmp_path):
    lab = lab_factory().start(netlab.STANDARD_BOOT + [
        f"ADD IP ROUTE=192.168.20.0 MASK=255.255.255.0 INTERFACE=ppp0 NEXTHOP={WAN_HOST}"])
    netlab.drop_ipsec_input(lab.wan)
    sas = [ipsec_peer.random_keys(d) for d in SAS]
    lines = []
    for n, d in enumerate(sas, 1):
        lines += ipsec_peer.gateway_commands(d, n)
    lines += ["CREATE IPSEC POLICY=inet INT=ppp0 ACTION=PERMIT", "ENABLE IPSEC"]
    lab.cli_script(lines, name="badinput")
    return lab, sas


def test_bad_input_dropped_counted_tunnel_survives(peer_lab, tmp_path):
    lab, sas = peer_lab
    trigger = tmp_path / "go"
    spec = {"iface": "eth0", "gw_mac": lab.gw_wan_mac, "gw": WAN_GW, "sas": sas,
            "trigger": str(trigger), "duration": 5,
            "inject": [{"at": at, "sa": sa, "kind": kind, "count": n,
                        **({"seq": seq} if seq is not None else {})}
                       for at, sa, kind, n, seq in SCHEDULE]}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    log = tmp_path / "responder.log"
    peer = lab.wan.popen(netlab.PYTHON, str(HERE / "ipsec_peer.py"), "responder",
                         str(tmp_path / "spec.json"), log=log)
    sniff = None
    ping = None
    try:
        deadline = time.time() + 30
        while "READY" not in log.read_text(errors="replace"):
            assert peer.poll() is None and time.time() < deadline, \
                f"scapy responder did not start:\n{netlab.tail(log)}"
            time.sleep(0.1)
        warm = lab.ping_until_ok("192.168.20.1", timeout=20)
        assert warm and warm.received, \
            f"no answer through the tunnel before the test:\n{warm and warm.text}\n" \
            f"{lab.cli('SHOW IPSEC COUNTERS')}\n{netlab.tail(log)}"
        before = lab.counters()
        sniff = netlab.Sniffer(lab.lan, "eth0", 8, tmp_path / "lan-sniff.log",
                               markers=[b"ARSEC-BAD", b"ARSEC-GOOD"])
        ping = subprocess.Popen(lab.lan.cmd("ping", "-n", "-i", "0.05", "-c", str(PING_COUNT),
                                            "-W", "2", "192.168.20.1"),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(0.5)
        trigger.write_text("go")
        out, _ = ping.communicate(timeout=60)
        seen = sniff.result()
        peer.wait(60)
    finally:
        for p in (ping, peer):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
        if sniff is not None:
            sniff.kill()
    after = lab.counters()
    m = re.search(r"^RESULT (.*)$", log.read_text(errors="replace"), re.M)
    assert m, f"responder gave no result:\n{netlab.tail(log)}"
    res = json.loads(m.group(1))
    stats, injected = res["stats"], res["injected"]

    # Every scheduled bad packet was really sent.
    for at, sa, kind, n, seq in SCHEDULE:
        assert injected.get(f"{sa}:{kind}") == n, f"{sa}:{kind} sent {injected.get(f'{sa}:{kind}')}"

    # Each kind dropped and counted under its own name, and nothing else dropped.
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after if k.startswith("ipsecDrop")}
    moved = {k: v for k, v in delta.items() if v}
    assert moved == EXPECTED, (f"IPsec drop counters moved by {moved},\nexpected {EXPECTED}\n"
                               f"{lab.cli('SHOW IPSEC COUNTERS')}")

    # The good flow never noticed: every echo answered once.
    r = parse_ping(out)
    assert r.transmitted == PING_COUNT and r.received == PING_COUNT, out
    assert "DUP!" not in out, f"a replayed packet reached the LAN host:\n{out}"
    assert not stats["vpn"]["errors"], stats["vpn"]
    # The other SAs still carry traffic after their bad packets.
    for name, want in GOOD_REPLIES.items():
        assert stats[name]["replies_in"] == want, \
            f"SA {name} did not carry its good packet after the bad ones: {stats[name]}"
        assert not stats[name]["errors"], stats[name]
    # Nothing malformed reached the LAN; the three good injected packets did.
    assert seen["ARSEC-BAD"] == 0, f"malformed IPsec payloads delivered to the LAN: {seen}"
    assert seen["ARSEC-GOOD"] == 3, f"good packets after the bad ones: {seen}"
    assert lab.dataplane.alive(), lab.logs()


# --------------------------------------------------------------------------- replay window

WINDOW_SAS = [
    {"name": "win64", "spec_extra": "ANTIREPLAYENABLED=TRUE", "spi_to_gw": 3000,
     "spi_from_gw": 3001, "inner_src": "192.168.20.1"},
    {"name": "win100", "spec_extra": "REPLAYWINDOWSIZE=100", "spi_to_gw": 3010,
     "spi_from_gw": 3011, "inner_src": "192.168.20.2"},
    {"name": "noreplay", "spec_extra": "ANTIREPLAYENABLED=FALSE", "spi_to_gw": 3020,
     "spi_from_gw": 3021, "inner_src": "192.168.20.3"},
]
for _d in WINDOW_SAS:
    _d.update(proto="ESP", enc="AES128", hash="SHA", mode="tunnel", peer=WAN_HOST, gw=WAN_GW,
              inner_dst=LAN_HOST, lad="192.168.10.0", lmask="255.255.255.0",
              rad=_d["inner_src"])

# SA -> ESP sequence numbers sent in this order, and those the gateway must accept. A
# window of W packets under the highest number T so far holds T-W+1 .. T (RFC 4303
# section 3.4.3 and Appendix A); everything left of it, and every number seen, is a replay.
WINDOW_CASES = {
    "win64": ([100, 98, 99, 37, 36, 99], [100, 98, 99, 37]),
    "win100": ([500, 401, 400, 450, 450], [500, 401, 450]),
    "noreplay": ([5, 5, 3], [5, 5, 3]),                 # ANTIREPLAYENABLED=FALSE
}


def test_replay_window_edges(lab_factory, tmp_path):
    lab = lab_factory().start(netlab.STANDARD_BOOT + [
        f"ADD IP ROUTE=192.168.20.0 MASK=255.255.255.0 INTERFACE=ppp0 NEXTHOP={WAN_HOST}"])
    netlab.drop_ipsec_input(lab.wan)
    sas = [ipsec_peer.random_keys(d) for d in WINDOW_SAS]
    lines = []
    for n, d in enumerate(sas, 1):
        lines += ipsec_peer.gateway_commands(d, n)
    lines += ["CREATE IPSEC POLICY=inet INT=ppp0 ACTION=PERMIT", "ENABLE IPSEC"]
    lab.cli_script(lines, name="window")
    assert lab.ping_until_ok(WAN_HOST).received      # ARP settled on both sides

    inject, at = [], 0.2
    for name, (seqs, _) in WINDOW_CASES.items():
        for s in seqs:
            inject.append({"at": at, "sa": name, "kind": "good", "count": 1, "seq": s})
            at += 0.05
    spec = {"iface": "eth0", "gw_mac": lab.gw_wan_mac, "gw": WAN_GW, "sas": sas,
            "duration": at + 1.5, "inject": inject}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    log = tmp_path / "responder.log"
    before = lab.counters()
    peer = lab.wan.popen(netlab.PYTHON, str(HERE / "ipsec_peer.py"), "responder",
                         str(tmp_path / "spec.json"), log=log)
    try:
        peer.wait(60)
    finally:
        if peer.poll() is None:
            peer.kill()
            peer.wait()
    after = lab.counters()
    m = re.search(r"^RESULT (.*)$", log.read_text(errors="replace"), re.M)
    assert m, f"responder gave no result:\n{netlab.tail(log)}"
    stats = json.loads(m.group(1))["stats"]

    for name, (sent, accepted) in WINDOW_CASES.items():
        got = sorted(s - 1000 for s in stats[name]["replies_in"])
        assert got == sorted(accepted), \
            f"{name}: sent ESP sequence numbers {sent}; the gateway accepted {got}, " \
            f"expected {sorted(accepted)}"
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after if k.startswith("ipsecDrop")}
    moved = {k: v for k, v in delta.items() if v}
    replays = sum(len(s) - len(a) for s, a in WINDOW_CASES.values())
    assert moved == {"ipsecDropReplay": replays}, moved
