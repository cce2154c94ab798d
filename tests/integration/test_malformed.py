"""Malformed frames are counted by reason and dropped while good traffic keeps flowing.

Frames are built here with scapy and sent from the LAN host to the gateway's MAC, each
kind a different number of times so that a frame counted under the wrong name shows up
as a mismatch. A sniffer on the WAN host checks that none of them came through, while a
good UDP frame carrying the same kind of marker does, and a ping runs alongside.
"""

import subprocess

from scapy.all import IP, UDP, Ether, Raw
from scapy.utils import checksum

import netlab
from netlab import LAN_HOST, WAN_HOST, parse_ping

BAD = b"ARSEC-BAD-FRAME"
GOOD = b"ARSEC-GOOD-FRAME"


def _ip_bytes(marker, **fields):
    return bytearray(bytes(IP(src=LAN_HOST, dst=WAN_HOST, ttl=64, **fields) /
                           UDP(sport=40000, dport=9) / Raw(marker + b"." * 16)))


def _fix_cksum(hdr, hlen=20):
    hdr[10:12] = b"\0\0"
    c = checksum(bytes(hdr[:hlen]))
    hdr[10:12] = c.to_bytes(2, "big")
    return hdr


def _frames(lab):
    eth = bytes(Ether(dst=lab.gw_lan_mac, src=lab.lan_mac, type=0x0800))
    good = _ip_bytes(GOOD)

    truncated = _ip_bytes(BAD)[:12]                       # ends inside the IPv4 header
    ihl_small = _ip_bytes(BAD)
    ihl_small[0] = 0x44                                   # IHL 4: 16 bytes < 20
    _fix_cksum(ihl_small)
    ihl_beyond = _ip_bytes(BAD)
    ihl_beyond[0] = 0x4F                                  # IHL 15: 60 bytes > what is there
    _fix_cksum(ihl_beyond)
    bad_cksum = _ip_bytes(BAD)
    bad_cksum[10] ^= 0x5A
    len_beyond = _ip_bytes(BAD)
    len_beyond[2:4] = (len(len_beyond) + 200).to_bytes(2, "big")
    _fix_cksum(len_beyond)
    len_below = _ip_bytes(BAD)
    len_below[2:4] = (12).to_bytes(2, "big")              # shorter than its own header
    _fix_cksum(len_below)
    bad_version = _ip_bytes(BAD)
    bad_version[0] = 0x65
    _fix_cksum(bad_version)

    # kind -> (frame, times, counter)
    return {
        "truncated": (eth + bytes(truncated), 3, "dropRunt"),
        "ihl_small": (eth + bytes(ihl_small), 4, "dropBadHeaderLength"),
        "ihl_beyond": (eth + bytes(ihl_beyond), 5, "dropBadHeaderLength"),
        "bad_cksum": (eth + bytes(bad_cksum), 6, "dropBadChecksum"),
        "len_beyond": (eth + bytes(len_beyond), 7, "dropBadTotalLength"),
        "len_below": (eth + bytes(len_below), 2, "dropBadTotalLength"),
        "bad_version": (eth + bytes(bad_version), 1, "dropBadVersion"),
    }, eth + bytes(good)


def test_malformed_frames_counted_and_dropped(lab, tmp_path):
    assert lab.ping_until_ok(netlab.WAN_HOST).received
    kinds, good = _frames(lab)
    frames = [f for f, times, _ in kinds.values() for _ in range(times)]
    frames += [good] * 3
    expected = {}
    for _, times, counter in kinds.values():
        expected[counter] = expected.get(counter, 0) + times

    before = lab.counters()
    missing = [c for c in expected if c not in before]
    assert not missing, f"SHOW DATAPLANE COUNTERS lacks {missing}:\n{lab.cli('SHOW DATAPLANE COUNTERS')}"

    sniff = netlab.Sniffer(lab.wan, "eth0", 8, tmp_path / "sniff.log", markers=[BAD, GOOD])
    ping = subprocess.Popen(lab.lan.cmd("ping", "-n", "-q", "-i", "0.05", "-c", "60", "-W", "1",
                                        WAN_HOST),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        netlab.send_frames(lab.lan, "eth0", frames)
        out, _ = ping.communicate(timeout=60)
        seen = sniff.result()
    finally:
        for p in (ping,):
            if p.poll() is None:
                p.kill()
                p.wait()
        sniff.kill()

    after = lab.counters()
    delta = {c: after.get(c, 0) - before.get(c, 0) for c in expected}
    assert delta == expected, (f"drop counters moved by {delta}, expected {expected}\n"
                               f"{lab.cli('SHOW DATAPLANE COUNTERS')}")
    assert seen[BAD.decode()] == 0, f"malformed frames crossed the gateway: {seen}"
    assert seen[GOOD.decode()] == 3, f"good frames did not cross the gateway: {seen}"
    r = parse_ping(out)
    assert r.transmitted == 60 and r.received == 60, out
    assert lab.dataplane.alive(), lab.logs()
