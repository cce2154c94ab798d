"""ENABLE IPSEC POLICY=vpn DEBUG=PACKET on a live gateway: the dumps reach the console.

One gateway (netlab.Lab) holds the seed's kind of manual tunnel: policy vpn, ESP DES +
HMAC-SHA1-96 (the algorithms of the seed's example dump), LAN 192.168.10.0/24 <-> remote
LAN 192.168.20.0/24 behind the WAN host, which plays the peer gateway with scapy
(ipsec_peer.PeerSa, the same keys). A CLI session stays connected over the framed socket
protocol (common/cli_protocol.h, spoken here by a small client) and enables the debug;
then the LAN host sends UDP datagrams into the tunnel and the peer sends protected echo
requests out of it (whose answers go back through it). Each packet must show up on that
session as NOTE frames, before and after processing, in the seed's layout:

    IPSEC vpn: 2: OUT: pre processing:
    IP: <IPv4 header>
    UDP: <8 bytes>
    data: <payload, 72 hex digits a line>
    IPSEC vpn: 2: OUT: post processing:
    IP: <outer header>
    ESP: <SPI><sequence number>:<ICV>
    data: <everything after the ESP header, ICV included>

A second session that did not ask sees nothing; DISABLE stops the dumps.
"""

from __future__ import annotations

import json
import re
import select
import socket
import time
from pathlib import Path

import pytest

import ipsec_peer
import netlab
from netlab import LAN_HOST, WAN_GW, WAN_HOST

HERE = Path(__file__).resolve().parent
REMOTE = "192.168.20.5"          # a host of the remote LAN
UDP_PAYLOADS = [f"ARSEC-DEBUG-{i}:".encode() + b"x" * (20 + 7 * i) for i in range(3)]
ECHOES = 2


class Session:
    """A logged-in CLI session on the framed protocol that stays connected and keeps
    the NOTE frames (unsolicited console output) it receives."""

    def __init__(self, path: Path, user: str = netlab.USER, password: str = netlab.PASSWORD):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(str(path))
        self.buf = b""
        self.notes: list[str] = []
        verb, body = self.request("LOGIN", f"{user}\n{password}")
        assert verb == "OK", f"login refused: {body}"

    def _frame(self, timeout: float):
        """The next frame, or None when none arrives within `timeout` seconds."""
        deadline = time.time() + timeout
        while True:
            nl = self.buf.find(b"\n")
            if nl >= 0:
                verb, n = self.buf[:nl].decode().split(" ")
                n = int(n)
                if len(self.buf) >= nl + 1 + n:
                    body = self.buf[nl + 1:nl + 1 + n].decode()
                    self.buf = self.buf[nl + 1 + n:]
                    return verb, body
            left = deadline - time.time()
            if left <= 0:
                return None
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                return None
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the session")
            self.buf += chunk

    def request(self, verb: str, body: str = "", timeout: float = 30) -> tuple[str, str]:
        data = body.encode()
        self.sock.sendall(f"{verb} {len(data)}\n".encode() + data)
        deadline = time.time() + timeout
        while True:
            f = self._frame(max(0.0, deadline - time.time()))
            assert f is not None, f"no reply to {verb} {body!r} in {timeout}s"
            if f[0] == "NOTE":
                self.notes.append(f[1])
                continue
            return f

    def execute(self, line: str) -> str:
        verb, body = self.request("EXEC", line)
        assert verb == "OK", f"{line}: {verb} {body}"
        return body

    def collect(self, quiet: float, limit: float) -> None:
        """Keeps NOTE frames until none came for `quiet` seconds (or `limit` passed)."""
        end = time.time() + limit
        while time.time() < end:
            f = self._frame(min(quiet, max(0.0, end - time.time())))
            if f is None:
                return
            assert f[0] == "NOTE", f"unsolicited {f[0]} frame: {f[1]!r}"
            self.notes.append(f[1])

    def close(self) -> None:
        try:
            self.request("BYE", timeout=5)
        except (AssertionError, OSError):
            pass
        self.sock.close()


HEADER = re.compile(r"^IPSEC (\S+): (\d+): (OUT|IN): (pre|post) processing:$")


def parse_dumps(notes: list[str]) -> list[dict]:
    """The dumps in the notes: header fields, the hex of each header line, and the data
    (its lines joined); every line is checked against the seed's layout on the way."""
    lines = "".join(n if n.endswith("\n") else n + "\n" for n in notes).splitlines()
    dumps, cur = [], None
    for line in lines:
        m = HEADER.match(line)
        if m:
            cur = {"policy": m[1], "sa": int(m[2]), "dir": m[3], "stage": m[4],
                   "headers": [], "data": "", "data_lines": []}
            dumps.append(cur)
            continue
        assert cur is not None, f"console output outside a dump: {line!r}"
        m = re.fullmatch(r"(IP|TCP|UDP|ICMP|AH|IPCOMP|ESP): ([0-9a-f]+(?::[0-9a-f]*)?)", line)
        if m and not cur["data_lines"]:
            cur["headers"].append((m[1], m[2]))
            continue
        if line.startswith("data:"):
            assert line == "data:" or line.startswith("data: "), line
            chunk = line[5:].strip()
        else:
            assert cur["data_lines"], f"unexpected line in a dump: {line!r}"
            chunk = line
        assert re.fullmatch(r"[0-9a-f]*", chunk) and len(chunk) <= 72, \
            f"data line not hex of at most 36 bytes: {line!r}"
        cur["data_lines"].append(chunk)
        cur["data"] += chunk
    for d in dumps:
        assert d["data_lines"], f"dump without a data line: {d}"
        # Only the last data line may be shorter than 36 bytes.
        assert all(len(c) == 72 for c in d["data_lines"][1:-1]), d["data_lines"]
        if len(d["data_lines"]) > 1:
            assert len(d["data_lines"][0]) == 72, d["data_lines"]
    return dumps


def ip_fields(hexhdr: str) -> dict:
    b = bytes.fromhex(hexhdr)
    return {"len": b[2] << 8 | b[3], "proto": b[9], "src": socket.inet_ntoa(b[12:16]),
            "dst": socket.inet_ntoa(b[16:20]), "ihl": (b[0] & 15) * 4}


@pytest.fixture
def vpn(lab_factory, tmp_path):
    lab = lab_factory().start(netlab.STANDARD_BOOT + [
        f"ADD IP ROUTE=192.168.20.0 MASK=255.255.255.0 INTERFACE=ppp0 NEXTHOP={WAN_HOST}"])
    netlab.drop_ipsec_input(lab.wan)
    d = ipsec_peer.random_keys({
        "name": "vpn", "mode": "tunnel", "proto": "ESP", "enc": "DES", "hash": "SHA",
        "comp": None, "udp": None, "spi_to_gw": 1000, "spi_from_gw": 1001,
        "gw": WAN_GW, "peer": WAN_HOST, "lad": "192.168.10.0", "lmask": "255.255.255.0",
        "rad": "192.168.20.0", "rmask": "255.255.255.0"})
    lines = ipsec_peer.gateway_commands(d, 1)
    lines += ["CREATE IPSEC POLICY=inet INT=ppp0 ACTION=PERMIT", "ENABLE IPSEC"]
    r = lab.cli_script(lines, check=False, timeout=60, name="vpn")
    assert r.ok, f"configuration refused:\n{r}"
    assert lab.ping_until_ok(WAN_HOST).received     # no protected packet waits for ARP
    return lab, d


def send_traffic(lab: netlab.Lab, d: dict, tmp: Path) -> None:
    """UDP datagrams LAN -> remote LAN (out through the tunnel), then protected echo
    requests remote LAN -> LAN host from the peer (in; the answers go out again)."""
    lab.lan.python(f"""
        import socket, time
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for p in {UDP_PAYLOADS!r}:
            s.sendto(p, ({REMOTE!r}, 9))
            time.sleep(0.05)
        """)
    spec = tmp / "peer_sa.json"
    spec.write_text(json.dumps(d))
    lab.wan.python(f"""
        import json, sys, time
        sys.path.insert(0, {str(HERE)!r})
        import ipsec_peer
        from scapy.all import Ether, conf
        sa = ipsec_peer.PeerSa(json.load(open({str(spec)!r})))
        s = conf.L2socket(iface="eth0")
        for i in range(1, {ECHOES} + 1):
            pkt = sa.protect(ipsec_peer.echo({REMOTE!r}, {LAN_HOST!r}, 77, i, b"ARSEC-ECHO" * 4))
            s.send(Ether(dst={lab.gw_wan_mac!r}) / pkt)
            time.sleep(0.05)
        """, timeout=60)


def sa_id_of(lab: netlab.Lab, policy: str) -> int:
    for line in lab.cli("SHOW IPSEC SA").stdout.splitlines():
        cols = line.split()
        if len(cols) >= 2 and cols[0].isdigit() and cols[1] == policy:
            return int(cols[0])
    raise AssertionError(f"no SA of policy {policy} in SHOW IPSEC SA")


def test_debug_packet_dumps_reach_the_session(vpn, tmp_path):
    lab, d = vpn
    sa_id = sa_id_of(lab, "vpn")
    watcher = Session(lab.socket)
    bystander = Session(lab.socket)
    try:
        out = watcher.execute("ENABLE IPSEC POLICY=vpn DEBUG=PACKET")
        assert "Info (181057): IPSEC Policy Debugging has been enabled." in out, out
        send_traffic(lab, d, tmp_path)
        watcher.collect(quiet=2.0, limit=20)
        dumps = parse_dumps(watcher.notes)
        print("".join(watcher.notes[:2]))           # shown with pytest -s
        by = {}
        for x in dumps:
            assert x["policy"] == "vpn" and x["sa"] == sa_id, x
            by.setdefault((x["dir"], x["stage"]), []).append(x)

        # OUT, before: the LAN host's datagrams as sent, UDP header and payload.
        pre = [x for x in by.get(("OUT", "pre"), []) if x["headers"][-1][0] == "UDP"]
        assert len(pre) == len(UDP_PAYLOADS), f"OUT pre dumps: {by.get(('OUT', 'pre'))}"
        for x, payload in zip(pre, UDP_PAYLOADS):
            ip = ip_fields(x["headers"][0][1])
            assert x["headers"][0][0] == "IP" and len(x["headers"][0][1]) == 40
            assert (ip["src"], ip["dst"], ip["proto"]) == (LAN_HOST, REMOTE, 17), ip
            assert len(x["headers"][1][1]) == 16
            assert bytes.fromhex(x["data"]) == payload

        # OUT, after: ESP from the gateway to the peer, SPI = OUTSPI, sequence numbers
        # counting up, and after ':' the ICV (HMAC-SHA1-96: 12 bytes), which is also the
        # last 12 bytes of data, as in the seed's example.
        post = by.get(("OUT", "post"), [])
        assert len(post) == len(UDP_PAYLOADS) + ECHOES, f"OUT post dumps: {post}"
        seqs = []
        for x in post:
            (n1, iphex), (n2, esp) = x["headers"]
            ip = ip_fields(iphex)
            assert (n1, n2) == ("IP", "ESP"), x
            assert (ip["src"], ip["dst"], ip["proto"]) == (WAN_GW, WAN_HOST, 50), ip
            head, icv = esp.split(":")
            assert int(head[:8], 16) == d["spi_from_gw"], esp
            seqs.append(int(head[8:], 16))
            assert len(icv) == 24 and x["data"].endswith(icv), x
            # DES-CBC: an 8-byte IV, then whole blocks, then the ICV; all of the packet.
            body = len(x["data"]) // 2
            assert ip["len"] == ip["ihl"] + 8 + body and (body - 8 - 12) % 8 == 0, x
        assert seqs == list(range(1, len(seqs) + 1)), seqs

        # IN, before: the peer's ESP (SPI = INSPI); after: the inner echo request.
        inpre = by.get(("IN", "pre"), [])
        assert len(inpre) == ECHOES, f"IN pre dumps: {inpre}"
        for i, x in enumerate(inpre, 1):
            (_, iphex), (n2, esp) = x["headers"]
            assert n2 == "ESP" and int(esp[:8], 16) == d["spi_to_gw"], esp
            assert int(esp[8:16], 16) == i
            assert ip_fields(iphex)["src"] == WAN_HOST
        inpost = by.get(("IN", "post"), [])
        assert len(inpost) == ECHOES, f"IN post dumps: {inpost}"
        for x in inpost:
            (n1, iphex), (n2, icmp) = x["headers"]
            ip = ip_fields(iphex)
            assert (ip["src"], ip["dst"], n2) == (REMOTE, LAN_HOST, "ICMP"), x
            assert icmp.startswith("08"), icmp            # echo request
            assert bytes.fromhex(x["data"]) == b"ARSEC-ECHO" * 4

        # The other session asked for nothing and got nothing.
        bystander.collect(quiet=0.5, limit=2)
        assert bystander.notes == []

        # DISABLE stops the dumps (the reply may be preceded by the last ones).
        out = watcher.execute("DISABLE IPSEC POLICY=vpn DEBUG=PACKET")
        assert "IPSEC Policy Debugging has been disabled" in out, out
        watcher.notes.clear()
        send_traffic(lab, d, tmp_path)
        watcher.collect(quiet=2.0, limit=10)
        assert watcher.notes == [], watcher.notes[:4]
    finally:
        watcher.close()
        bystander.close()


def test_closed_session_is_forgotten(vpn, tmp_path):
    """A session that enabled the debug and went away: the gateway carries on (the dumps
    have nowhere to go), and a new session that enables it gets them."""
    lab, d = vpn
    gone = Session(lab.socket)
    gone.execute("ENABLE IPSEC POLICY=vpn DEBUG=PACKET")
    gone.sock.close()                       # no BYE: the client just disappears
    send_traffic(lab, d, tmp_path)
    assert lab.cli("SHOW IPSEC POLICY=vpn").ok
    fresh = Session(lab.socket)
    try:
        fresh.execute("ENABLE IPSEC POLICY=vpn DEBUG=PACKET")
        send_traffic(lab, d, tmp_path)
        fresh.collect(quiet=2.0, limit=20)
        dumps = parse_dumps(fresh.notes)
        assert any(x["dir"] == "OUT" and x["stage"] == "post" for x in dumps), fresh.notes[:4]
        assert any(x["dir"] == "IN" and x["stage"] == "pre" for x in dumps), fresh.notes[:4]
    finally:
        fresh.execute("DISABLE IPSEC POLICY=vpn DEBUG=PACKET")
        fresh.close()
