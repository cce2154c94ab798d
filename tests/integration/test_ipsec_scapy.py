"""The gateway against an independent IPsec implementation: scapy's, for every algorithm
combination both support, in tunnel and in transport mode.

One gateway (netlab.Lab: LAN host 192.168.10.10, gateway 192.168.10.1 / 192.0.2.1, WAN
host 192.0.2.2) holds one manual SA pair per combination, each under its own policy, all
configured at once with the command language. In the WAN namespace, ipsec_peer.py plays
the remote security gateway with scapy's SecurityAssociation and the same keys:

  tunnel     scapy sends ESP/AH-protected echo requests from 192.168.20.<n> (the remote
             LAN) to the LAN host; the gateway must decrypt them and deliver the inner
             packet, which the LAN host answers; the answer comes back protected and scapy
             must decrypt and verify it. The LAN host also sends a clear UDP datagram to
             192.168.20.<n>, which scapy must find, protected, on the WAN.
  transport  scapy (from its own address 192.0.2.<100+n>) sends protected echo requests to
             the gateway itself (192.0.2.1), which answers them protected.

Combinations: ESP with NULL, DES, 3DES, AES-CBC 128/192/256 x NULL, HMAC-MD5-96,
HMAC-SHA1-96, HMAC-SHA2-256/384/512 (not NULL with NULL), ESP AES-GCM 128/256, AH with each
HMAC; IPComp (LZS and DEFLATE, decoded here by ipsec_peer's own codecs) bundled with ESP;
ESP in UDP 2746 (UDPTUNNEL=TRUE); and ESP that arrives in IP fragments or must leave in
them. Every packet the gateway sends must decrypt, carry the SPI the peer expects, and
count its sequence numbers up from 1. IPComp SAs get one compressed and one uncompressed
request (RFC 3173 lets a sender skip compression), and must compress their answers.

The whole matrix runs in one exchange (one scapy process, one LAN sender); each
combination is then checked by its own test, so a failure names its algorithms.
"""

from __future__ import annotations

import json
import re
import textwrap
import time
from pathlib import Path

import pytest

import ipsec_peer
import netlab
from netlab import LAN_HOST, WAN_GW, WAN_HOST

HERE = Path(__file__).resolve().parent
COUNT = 2                        # echo requests per combination
LAN_BIG = 1472                   # UDP payload of the LAN host's full-size datagram

ENCS = ["NULL", "DES", "3DES", "AES128", "AES192", "AES256"]
HASHES = ["NULL", "MD5", "SHA", "SHA256", "SHA384", "SHA512"]


def _algorithms() -> list[dict]:
    out = []
    for enc in ENCS:
        for h in HASHES:
            if enc == "NULL" and h == "NULL":
                continue
            out.append({"proto": "ESP", "enc": enc, "hash": h})
    for enc in ("AES128GCM", "AES256GCM"):
        out.append({"proto": "ESP", "enc": enc, "hash": "NULL"})
    for h in HASHES[1:]:
        out.append({"proto": "AH", "hash": h})
    for comp in ("LZS", "DEFLATE"):
        out.append({"proto": "ESP", "enc": "AES128", "hash": "SHA", "comp": comp})
    return out


def _label(a: dict) -> str:
    s = a["proto"].lower()
    if a.get("comp"):
        s = f"ipcomp-{a['comp'].lower()}-" + s
    if a["proto"] == "ESP":
        s += "-" + a["enc"].lower()
    if a.get("hash", "NULL") != "NULL" or a["proto"] == "AH":
        s += "-" + a["hash"].lower()
    return s


def combinations() -> list[dict]:
    """Every SA of the matrix, gateway side and peer side in one dict."""
    out = []
    n = 0
    for mode in ("tunnel", "transport"):
        extra = [{"proto": "ESP", "enc": "AES128", "hash": "SHA", "udp": True},
                 {"proto": "ESP", "enc": "AES128", "hash": "SHA", "frag": True}]
        for a in _algorithms() + (extra if mode == "tunnel" else []):
            n += 1
            name = ("t-" if mode == "tunnel" else "x-") + _label(a) + \
                ("-udp" if a.get("udp") else "") + ("-frag" if a.get("frag") else "")
            d = {"name": name, "mode": mode, "proto": a["proto"], "enc": a.get("enc", "NULL"),
                 "hash": a.get("hash", "NULL"), "comp": a.get("comp"),
                 "udp": [2746, 2746] if a.get("udp") else None,
                 "spi_to_gw": 10000 + 2 * n, "spi_from_gw": 10001 + 2 * n,
                 "gw": WAN_GW, "length": 600 if a.get("comp") else 20 + (n * 7) % 61}
            if a.get("frag"):
                # In: 1400-byte echo requests reach the gateway as two IP fragments of the
                # ESP packet (reassembled by the kernel under net_af_packet, see below).
                # Out: the LAN host's 1500-byte datagram (DF clear) no longer fits once
                # encapsulated, so the gateway must fragment the ESP packet.
                d.update(frag=800, length=1400, lan_big=True)
            if mode == "tunnel":
                d.update(peer=WAN_HOST, inner_src=f"192.168.20.{n}", inner_dst=LAN_HOST,
                         lad="192.168.10.0", lmask="255.255.255.0", rad=f"192.168.20.{n}")
            else:
                d.update(peer=f"192.0.2.{100 + n}", inner_src=f"192.0.2.{100 + n}",
                         inner_dst=WAN_GW, lad=WAN_GW, rad=f"192.0.2.{100 + n}")
            out.append(d)
    return out


COMBOS = combinations()


def _lan_sender(targets: list) -> str:
    """A script sending one datagram to each (address, name[, size]) target, DF clear."""
    return textwrap.dedent(f"""
        import socket, time
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.IPPROTO_IP, 10, 0)      # IP_MTU_DISCOVER = IP_PMTUDISC_DONT
        for t in {targets!r}:
            dst, name, size = (list(t) + [None])[:3]
            head = ("ARSEC-LAN:" + name + ":").encode()
            s.sendto(head + b"." * (size - len(head) if size else 24), (dst, 9))
            time.sleep(0.003)
        print("sent", len({targets!r}))
        """)


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    """Configures the gateway with every combination and runs the exchange once. Yields
    the lab, the CLI result of the configuration, the peer's results by SA name, the
    combinations with their keys, and the counters before and after the exchange."""
    work = tmp_path_factory.mktemp("scapy-matrix")
    lab = netlab.Lab("scapy-matrix")
    failed = False
    peer = None
    try:
        lab.build().start(netlab.STANDARD_BOOT + [
            f"ADD IP ROUTE=192.168.20.0 MASK=255.255.255.0 INTERFACE=ppp0 NEXTHOP={WAN_HOST}"])
        netlab.drop_ipsec_input(lab.wan)
        for d in COMBOS:
            if d["mode"] == "transport":
                lab.wan.ip("addr", "add", f"{d['peer']}/24", "dev", "eth0")
        # The gateway resolves every peer address now, forwarding clear datagrams from
        # the LAN to them, so that no protected packet waits for ARP: the order of the
        # gateway's sequence numbers is checked below, and a packet held for ARP can be
        # overtaken by the next one to the same neighbour (the main lcore installs the
        # entry before it hands the queue over, and the worker handles its RX burst before
        # the handoff ring).
        assert lab.ping_until_ok(WAN_HOST).received
        lab.lan.python(_lan_sender([(d["peer"], "warm-up") for d in COMBOS
                                    if d["mode"] == "transport"]))
        time.sleep(0.5)
        combos = [ipsec_peer.random_keys(d) for d in COMBOS]
        lines = ["CREATE IPSEC POLICY=udp INT=ppp0 ACTION=PERMIT LPORT=2746 TRANSPORT=UDP"]
        for n, d in enumerate(combos, 1):
            lines += ipsec_peer.gateway_commands(d, n)
        lines += ["CREATE IPSEC POLICY=inet INT=ppp0 ACTION=PERMIT", "ENABLE IPSEC"]
        r = lab.cli_script(lines, check=False, timeout=120, name="matrix")
        before = lab.counters()

        spec = {"iface": "eth0", "gw_mac": lab.gw_wan_mac, "gw": WAN_GW, "sas": combos,
                "count": COUNT, "lan_count": 1, "listen": 20}
        spec_path = work / "spec.json"
        spec_path.write_text(json.dumps(spec))
        log = work / "peer.log"
        peer = lab.wan.popen(netlab.PYTHON, str(HERE / "ipsec_peer.py"), "matrix",
                             str(spec_path), log=log)
        deadline = time.time() + 30
        while "READY" not in log.read_text(errors="replace"):
            assert peer.poll() is None and time.time() < deadline, \
                f"scapy peer did not start:\n{netlab.tail(log)}"
            time.sleep(0.1)
        targets = [(d["inner_src"], d["name"]) for d in combos if d["mode"] == "tunnel"]
        targets += [(d["inner_src"], d["name"], LAN_BIG) for d in combos if d.get("lan_big")]
        lab.lan.python(_lan_sender(targets))
        peer.wait(90)
        text = log.read_text(errors="replace")
        m = re.search(r"^RESULT (.*)$", text, re.M)
        assert m, f"scapy peer gave no result:\n{netlab.tail(log)}"
        results = json.loads(m.group(1))
        after = lab.counters()
        yield {"lab": lab, "results": results, "config": r,
               "before": before, "after": after, "combos": {d["name"]: d for d in combos}}
    except BaseException:
        failed = True
        raise
    finally:
        if peer is not None and peer.poll() is None:
            peer.kill()
            peer.wait()
        lab.close(keep_dir=failed)


@pytest.fixture(autouse=True)
def _matrix_logs(request):
    """conftest attaches the logs of a failed test's labs; the module's lab is one."""
    if "matrix" in request.fixturenames:
        lab = request.getfixturevalue("matrix")["lab"]
        request.node.__dict__.setdefault("_arsec_labs", []).append(lab)


def test_matrix_configured(matrix):
    """The command language accepts every combination (each SA spec, key and policy)."""
    r = matrix["config"]
    assert r.ok, f"configuration refused:\n{r}"
    lab = matrix["lab"]
    show = lab.cli("SHOW IPSEC SA").stdout
    for d in COMBOS:
        assert str(d["spi_from_gw"]) in show and str(d["spi_to_gw"]) in show, \
            f"{d['name']}: SPIs not in SHOW IPSEC SA:\n{show}"


def test_matrix_counters(matrix):
    """The exchange moved the module counters and dropped nothing."""
    b, a = matrix["before"], matrix["after"]
    delta = {k: a.get(k, 0) - b.get(k, 0) for k in a if k.startswith("ipsec")}
    n_tunnel = sum(d["mode"] == "tunnel" for d in COMBOS)
    assert delta.get("ipsecInPackets", 0) >= COUNT * len(COMBOS), delta
    assert delta.get("ipsecOutPackets", 0) >= COUNT * len(COMBOS) + n_tunnel, delta
    # ipsecReassembled is not checked: net_af_packet joins its socket to a fanout group
    # with PACKET_FANOUT_FLAG_DEFRAG, so the kernel reassembles inbound fragments before
    # the dataplane sees them (a NIC would hand them over as they are).
    n_frag = sum(bool(d.get("frag")) for d in COMBOS)
    assert delta.get("ipsecFragmentsOut", 0) >= 2 * n_frag, delta
    drops = {k: v for k, v in delta.items() if k.startswith("ipsecDrop") and v}
    assert not drops, f"drops during the matrix exchange: {drops}\n" \
                      f"{matrix['lab'].cli('SHOW IPSEC COUNTERS')}"


@pytest.mark.parametrize("name", [d["name"] for d in COMBOS])
def test_interop(matrix, name):
    d = matrix["combos"][name]
    r = matrix["results"][name]
    assert r["sent"] == COUNT, f"scapy could not build the packets: {r['errors']}"
    assert not r["errors"], f"{name}: {len(r['errors'])} problems, first: {r['errors'][:3]}"
    # Our echo requests were decrypted and delivered (answered), and the answers decrypt.
    assert sorted(r["replies"]) == list(range(1, COUNT + 1)), \
        f"{name}: echo replies for sequence numbers {r['replies']}, expected 1..{COUNT}"
    if d.get("comp"):
        # The echo replies carry our compressible payload: the gateway must have
        # compressed them, and ipsec_peer's own codec must have restored them.
        assert r.get("compressed", 0) >= COUNT, \
            f"{name}: only {r.get('compressed', 0)} packets from the gateway were compressed"
    if d["mode"] == "tunnel":
        small = len(f"ARSEC-LAN:{name}:") + 24
        want = [[d["inner_src"], small]] + ([[d["inner_src"], LAN_BIG]] if d.get("lan_big") else [])
        assert sorted(r["lan"]) == sorted(want), \
            f"{name}: the LAN host's datagrams (address, bytes) {want} seen protected as {r['lan']}"
    if d.get("lan_big"):
        assert r.get("fragmented", 0) >= 1, f"{name}: the big datagram's ESP was not fragmented"
    # The gateway's sequence numbers start at 1 and count up.
    assert r["seqs"] == list(range(1, len(r["seqs"]) + 1)), \
        f"{name}: sequence numbers {r['seqs']} (seq, capture time, frame length: " \
        f"{r.get('arrivals')})"
