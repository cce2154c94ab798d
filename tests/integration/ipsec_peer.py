"""An independent IPsec peer for the integration tests, built on scapy's IPsec layer.

The gateway's ESP, AH and IPComp must interoperate with an implementation that is not
ours: scapy's `SecurityAssociation` (scapy.layers.ipsec, on the `cryptography` package)
encrypts and authenticates here, and a small LZS (ANSI X3.241, RFC 2395) and DEFLATE
(zlib, RFC 2394) codec written from the RFCs stands in for IPComp, which scapy lacks.
This file is imported by the tests (to build packets and keys) and run as a script inside
the WAN namespace, where it plays the remote security gateway:

  python3 ipsec_peer.py matrix SPEC.json     one echo request per SA and sequence number,
                                             then decrypt whatever the gateway sends back
  python3 ipsec_peer.py responder SPEC.json  a minimal IPsec host: answers echo requests
                                             that reach it through the tunnel, and sends
                                             the malformed packets SPEC schedules

Both print `READY` once their capture socket is open, and one `RESULT {json}` line at
the end. An SA is described by a dict (see `PeerSa`); the gateway side of the same SA is
configured by the test with the command language, from the same dict.

Two scapy details are worked around: ESP-in-UDP packets get their UDP length fixed after
encryption (scapy 2.5 leaves it at 8), and frames are sent at layer 2 to the gateway's MAC
so that no kernel IPsec (absent in the test kernel) or routing is involved.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import sys
import threading
import time
import zlib
from typing import Optional

logging.getLogger("scapy").setLevel(logging.ERROR)

from scapy.all import (AH, ESP, ICMP, IP, UDP, Ether, Raw, AsyncSniffer,  # noqa: E402
                       conf, defragment, fragment)
from scapy.layers.ipsec import SecurityAssociation, _ESPPlain  # noqa: E402

conf.verb = 0

IPPROTO_IPIP, IPPROTO_ESP, IPPROTO_AH, IPPROTO_COMP = 4, 50, 51, 108
CPI = {"LZS": 3, "DEFLATE": 2}            # RFC 2395 / RFC 2394 well-known CPIs

# Command-language algorithm keyword -> (scapy name, key bytes). GCM keys carry the
# 4-byte salt after the AES key, as RFC 4106 keying material does.
ENC = {
    "NULL": ("NULL", 0),
    "DES": ("DES", 8),
    "3DES": ("3DES", 24),
    "AES128": ("AES-CBC", 16),
    "AES192": ("AES-CBC", 24),
    "AES256": ("AES-CBC", 32),
    "AES128GCM": ("AES-GCM", 20),
    "AES256GCM": ("AES-GCM", 36),
}
HASH = {
    "NULL": ("NULL", 0),
    "MD5": ("HMAC-MD5-96", 16),
    "SHA": ("HMAC-SHA1-96", 20),
    "SHA256": ("SHA2-256-128", 32),
    "SHA384": ("SHA2-384-192", 48),
    "SHA512": ("SHA2-512-256", 64),
}


# --------------------------------------------------------------------------- LZS

class _Bits:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def get(self, n: int) -> int:
        v = 0
        for _ in range(n):
            byte = self.pos >> 3
            if byte >= len(self.data):
                raise ValueError("LZS stream ends without an end marker")
            v = (v << 1) | ((self.data[byte] >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return v


def lzs_decompress(data: bytes, limit: int = 65535) -> bytes:
    """Decodes one LZS stream (history reset, as RFC 2395 requires per datagram)."""
    bits, out = _Bits(data), bytearray()
    while True:
        if bits.get(1) == 0:
            out.append(bits.get(8))
        else:
            if bits.get(1) == 1:
                offset = bits.get(7)
                if offset == 0:
                    return bytes(out)            # end marker
            else:
                offset = bits.get(11)
            n = bits.get(2)
            if n < 3:
                length = n + 2
            else:
                n = bits.get(2)
                if n < 3:
                    length = n + 5
                else:
                    length, nib = 8, 15
                    while nib == 15:
                        nib = bits.get(4)
                        length += nib
            if offset == 0 or offset > len(out):
                raise ValueError(f"LZS offset {offset} beyond {len(out)} bytes of history")
            for _ in range(length):
                out.append(out[-offset])
        if len(out) > limit:
            raise ValueError("LZS output too long")


class _BitWriter:
    def __init__(self):
        self.out, self.acc, self.n = bytearray(), 0, 0

    def put(self, value: int, n: int) -> None:
        for i in range(n - 1, -1, -1):
            self.acc = (self.acc << 1) | ((value >> i) & 1)
            self.n += 1
            if self.n == 8:
                self.out.append(self.acc)
                self.acc = self.n = 0

    def flush(self) -> bytes:
        if self.n:
            self.out.append(self.acc << (8 - self.n))
            self.acc = self.n = 0
        return bytes(self.out)


def lzs_compress(data: bytes) -> bytes:
    """A greedy LZS encoder (longest match in the 2047-byte window), for test traffic."""
    w = _BitWriter()
    i = 0
    while i < len(data):
        best_len, best_off = 0, 0
        for off in range(1, min(i, 2047) + 1):
            n = 0
            while i + n < len(data) and data[i + n - off] == data[i + n]:
                n += 1
            if n > best_len:
                best_len, best_off = n, off
        if best_len < 2:
            w.put(data[i], 9)                      # 0 + the byte
            i += 1
            continue
        if best_off < 128:
            w.put(0b11, 2)
            w.put(best_off, 7)
        else:
            w.put(0b10, 2)
            w.put(best_off, 11)
        n = best_len
        if n <= 4:
            w.put(n - 2, 2)
        elif n <= 7:
            w.put(0b1100 | (n - 5), 4)
        else:
            w.put(0b1111, 4)
            rest = n - 8
            while rest >= 15:
                w.put(15, 4)
                rest -= 15
            w.put(rest, 4)
        i += best_len
    w.put(0b110000000, 9)                          # end marker
    return w.flush()


def ipcomp_wrap(inner: bytes, next_header: int, alg: str) -> bytes:
    """IPComp header + payload of `inner` (RFC 3173 section 3)."""
    body = lzs_compress(inner) if alg == "LZS" else _deflate(inner)
    return struct.pack("!BBH", next_header, 0, CPI[alg]) + body


def _deflate(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def ipcomp_unwrap(payload: bytes, alg: str) -> tuple[int, bytes]:
    """(next header, decompressed bytes) of an IPComp header + payload."""
    nh, flags, cpi = struct.unpack("!BBH", payload[:4])
    if cpi != CPI[alg]:
        raise ValueError(f"IPComp CPI {cpi}, expected {CPI[alg]}")
    if flags != 0:
        raise ValueError(f"IPComp flags {flags:#x}")
    body = payload[4:]
    data = lzs_decompress(body) if alg == "LZS" else zlib.decompress(body, -15)
    return nh, data


# --------------------------------------------------------------------------- SAs

class PeerSa:
    """One manual SA pair as the remote gateway holds it.

    d: name, proto ("ESP"|"AH"), mode ("tunnel"|"transport"), enc/hash (command-language
    keywords), enc_key/hash_key (hex), spi_to_gw (the gateway's INSPI), spi_from_gw (its
    OUTSPI), peer (our outer address), gw (the gateway's), udp (ESP-over-UDP port pair or
    None), comp (None | "LZS" | "DEFLATE": an IPComp SA applied before this one).
    """

    def __init__(self, d: dict):
        self.d = d
        self.name = d["name"]
        self.tunnel = d.get("mode", "tunnel") == "tunnel"
        self.udp = d.get("udp")
        self.comp = d.get("comp")
        self.peer, self.gw = d["peer"], d["gw"]
        self.last_compressed = False      # did the last unprotect() decompress?
        self.lock = threading.Lock()
        self.tx = self._sa(d["spi_to_gw"], IP(src=self.peer, dst=self.gw))
        self.rx = self._sa(d["spi_from_gw"], IP(src=self.gw, dst=self.peer))

    def _sa(self, spi: int, outer) -> SecurityAssociation:
        d = self.d
        # With IPComp in the bundle the ESP/AH SA is transport over the IPComp header,
        # which carries the tunnel itself (RFC 3173 with RFC 4301's bundles).
        tunnel_header = outer if self.tunnel and not self.comp else None
        if d["proto"] == "AH":
            return SecurityAssociation(AH, spi=spi, auth_algo=HASH[d["hash"]][0],
                                       auth_key=bytes.fromhex(d["hash_key"]),
                                       tunnel_header=tunnel_header)
        enc, hsh = ENC[d["enc"]][0], HASH[d.get("hash", "NULL")][0]
        kw = {}
        if enc != "NULL":
            kw.update(crypt_algo=enc, crypt_key=bytes.fromhex(d["enc_key"]))
        else:
            kw.update(crypt_algo="NULL")
        if hsh != "NULL":
            kw.update(auth_algo=hsh, auth_key=bytes.fromhex(d["hash_key"]))
        if self.udp:
            kw.update(nat_t_header=UDP(sport=self.udp[0], dport=self.udp[1]))
        return SecurityAssociation(ESP, spi=spi, tunnel_header=tunnel_header, **kw)

    # ---- outbound (to the gateway)
    def protect(self, inner, seq: Optional[int] = None, compress: bool = True):
        """The IP packet that carries `inner` (an IP packet) to the gateway."""
        pkt = inner
        if self.comp:
            if self.tunnel:
                payload, nh = bytes(inner), IPPROTO_IPIP
                hdr = IP(src=self.peer, dst=self.gw)
            else:
                payload, nh = bytes(inner[IP].payload), inner[IP].proto
                hdr = inner[IP].copy()
                hdr.remove_payload()
            if compress:
                body = ipcomp_wrap(payload, nh, self.comp)
                hdr.proto = IPPROTO_COMP
            else:
                body = payload                         # RFC 3173: sent without IPComp
                hdr.proto = nh
            del hdr.len, hdr.chksum
            pkt = IP(bytes(hdr / Raw(body)))
        with self.lock:                # the responder's threads share the counter
            out = self.tx.encrypt(pkt, seq_num=seq)
        return fix_udp(out)

    # ---- inbound (from the gateway)
    def unprotect(self, outer) -> tuple[int, object]:
        """(sequence number, inner IP packet) of a packet from the gateway; raises when it
        does not decrypt, verify or decompress."""
        ip = outer[IP]
        if self.udp:
            if UDP not in ip or (ip[UDP].sport, ip[UDP].dport) != (self.udp[1], self.udp[0]):
                raise ValueError(f"expected ESP in UDP {self.udp[1]}->{self.udp[0]}: {ip.summary()}")
            if ip[UDP].chksum not in (0, None):
                raise ValueError(f"ESP-in-UDP checksum {ip[UDP].chksum:#x}, RFC 3948 wants 0")
            body = bytes(ip[UDP].payload)
            hdr = ip.copy()
            hdr.remove_payload()
            hdr.proto = IPPROTO_ESP
            del hdr.len, hdr.chksum
            ip = IP(bytes(hdr / Raw(body)))
        if self.d["proto"] == "AH":
            seq = ip[AH].seq
        else:
            seq = ip[ESP].seq
        clear = self.rx.decrypt(ip)
        # scapy leaves what follows AH (and ESP's IP-in-IP) undissected: parse it again.
        clear = IP(bytes(clear))
        if not self.comp:
            return seq, clear
        # Bundle: the ESP/AH SA was transport over IPComp (or over the packet itself when
        # compression did not pay).
        proto = clear.proto
        self.last_compressed = proto == IPPROTO_COMP
        if proto == IPPROTO_COMP:
            nh, data = ipcomp_unwrap(bytes(clear.payload), self.comp)
        else:
            nh, data = proto, bytes(clear.payload)
        if self.tunnel:
            if nh != IPPROTO_IPIP:
                raise ValueError(f"tunnel bundle: next header {nh} inside IPComp")
            return seq, IP(data)
        hdr = clear.copy()
        hdr.remove_payload()
        hdr.proto = nh
        del hdr.len, hdr.chksum
        return seq, IP(bytes(hdr / Raw(data)))


def frame_spi(ip) -> Optional[int]:
    """The SPI of an ESP, AH or ESP-in-UDP packet (None for anything else, and for a
    non-first fragment, which scapy leaves undissected)."""
    if ip.proto == IPPROTO_ESP and ESP in ip:
        return ip[ESP].spi
    if ip.proto == IPPROTO_AH and AH in ip:
        return ip[AH].spi
    if ip.proto == 17 and UDP in ip:
        body = bytes(ip[UDP].payload)
        if len(body) >= 8 and body[:4] != b"\0\0\0\0":
            return struct.unpack("!I", body[:4])[0]
    return None


def fix_udp(pkt):
    """scapy 2.5 leaves an ESP-in-UDP header's length at 8; make it cover the ESP."""
    if UDP in pkt:
        u = pkt[UDP]
        u.len = 8 + len(bytes(u.payload))
        u.chksum = 0
        del pkt[IP].chksum, pkt[IP].len
        pkt = IP(bytes(pkt))
    return pkt


def bad_padding(sa: PeerSa, inner, seq: int, kind: str):
    """An ESP packet whose ICV is good but whose padding is not (RFC 4303 section 2.4):
    `bytes` -- padding bytes other than 1, 2, 3...; `length` -- a pad length longer than
    the payload."""
    s = sa.tx
    algo = s.crypt_algo
    esp = _ESPPlain(spi=s.spi, seq=seq, iv=algo.generate_iv())
    if sa.tunnel:
        esp.data, esp.nh = bytes(inner), IPPROTO_IPIP
    else:
        esp.data, esp.nh = bytes(inner[IP].payload), inner[IP].proto
    esp = algo.pad(esp)
    align = max(algo.block_size, 4)
    if kind == "bytes":
        n = len(esp.padding) or align
        if not esp.padding:                        # make room for wrong padding bytes
            n = align
        esp.padding = bytes([0xA5] * n)
        esp.padlen = n
    elif kind == "length":
        esp.padlen = 255                           # more than the payload holds
    else:
        raise ValueError(kind)
    esp = algo.encrypt(s, esp, s.crypt_key, s.crypt_icv_size)
    s.auth_algo.sign(esp, s.auth_key)
    hdr = IP(src=sa.peer, dst=sa.gw, proto=IPPROTO_ESP)
    return IP(bytes(hdr / esp))


def gateway_commands(d: dict, n: int) -> list[str]:
    """The gateway's side of SA pair `d` in the command language: ENCO keys 2n-1 and 2n,
    SA specification n (and 100+n for IPComp), bundle n, policy d["name"] with the
    selectors d["lad"]/d["lmask"]/d["rad"]/d["rmask"] (masks optional: host)."""
    mode = "TUNNEL" if d.get("mode", "tunnel") == "tunnel" else "TRANSPORT"
    lines = []
    spec = f"CREATE IPSEC SASPEC={n} KEYMAN=MANUAL MODE={mode} PROT={d['proto']}"
    if d["proto"] == "ESP":
        spec += f" ENCALG={d['enc']}"
        if d["enc"] != "NULL":
            lines.append(f"CREATE ENCO KEY={2 * n - 1} TYPE=GENERAL VALUE=0x{d['enc_key']}")
            spec += f" ENCKEY={2 * n - 1}"
    if d["proto"] == "AH" or "GCM" not in d["enc"]:
        spec += f" HASHALG={d['hash']}"
    if d.get("hash", "NULL") != "NULL":
        lines.append(f"CREATE ENCO KEY={2 * n} TYPE=GENERAL VALUE=0x{d['hash_key']}")
        spec += f" HASHKEY={2 * n}"
    spec += f" INSPI={d['spi_to_gw']} OUTSPI={d['spi_from_gw']}"
    if d.get("spec_extra"):
        spec += " " + d["spec_extra"]
    lines.append(spec)
    bundle = f"{n}"
    if d.get("comp"):
        lines.append(f"CREATE IPSEC SASPEC={100 + n} KEYMAN=MANUAL MODE={mode} PROT=COMP "
                     f"COMPALG={d['comp']}")
        bundle = f"{100 + n} and {n}"
    lines += [
        f'CREATE IPSEC BUNDLE={n} KEYMAN=MANUAL STRING="{bundle}"',
        f"CREATE IPSEC POLICY={d['name']} INT=ppp0 ACTION=IPSEC KEYMAN=MANUAL BUNDLE={n} "
        f"PEER={d['peer']}",
    ]
    sel = f"SET IPSEC POLICY={d['name']} LAD={d['lad']}"
    if d.get("lmask"):
        sel += f" LMA={d['lmask']}"
    sel += f" RAD={d['rad']}"
    if d.get("rmask"):
        sel += f" RMA={d['rmask']}"
    lines.append(sel)
    if d.get("udp"):
        lines.append(f"SET IPSEC POLICY={d['name']} UDPTUNNEL=TRUE")
    return lines


def random_keys(d: dict) -> dict:
    """d with fresh random keys of the lengths its algorithms need."""
    d = dict(d)
    if d["proto"] == "ESP" and ENC[d["enc"]][1]:
        d["enc_key"] = os.urandom(ENC[d["enc"]][1]).hex()
    if HASH[d.get("hash", "NULL")][1]:
        d["hash_key"] = os.urandom(HASH[d["hash"]][1]).hex()
    return d


# --------------------------------------------------------------------------- runtime

class Wire:
    """Sends IP packets as Ethernet frames to the gateway's MAC; captures what it sends."""

    def __init__(self, iface: str, gw_mac: str, gw_addr: str):
        self.iface, self.gw_mac, self.gw_addr = iface, gw_mac, gw_addr
        self.sock = conf.L2socket(iface=iface)
        self.lock = threading.Lock()
        self.frames: list = []
        self.on_frame = None
        self.sniffer = AsyncSniffer(iface=iface, store=False, prn=self._see)

    def _see(self, p) -> None:
        if IP not in p or p[IP].src != self.gw_addr or p.dst == self.gw_mac:
            return
        if p[IP].proto not in (IPPROTO_ESP, IPPROTO_AH, 17):
            return
        with self.lock:
            self.frames.append(p)
        if self.on_frame:
            try:
                self.on_frame(p)
            except Exception as e:  # noqa: BLE001 -- reported, never kills the sniffer
                print(f"handler error: {e!r}", flush=True)

    def start(self) -> None:
        self.sniffer.start()
        deadline = time.time() + 10
        while not getattr(self.sniffer, "running", False) and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)

    def stop(self) -> None:
        try:
            self.sniffer.stop()
        except Exception:  # noqa: BLE001
            pass

    def send(self, ip) -> None:
        with self.lock:
            self.sock.send(Ether(dst=self.gw_mac) / ip)


def echo(src: str, dst: str, ident: int, seq: int, payload: bytes):
    return IP(src=src, dst=dst, ttl=64) / ICMP(type=8, id=ident, seq=seq) / Raw(payload)


def payload_for(name: str, seq: int, length: int, compressible: bool) -> bytes:
    head = f"ARSEC:{name}:{seq}:".encode()
    fill = b"arsec ipsec " * 200 if compressible else os.urandom(length)
    return (head + fill)[:max(length, len(head))]


def run_matrix(spec: dict) -> dict:
    """Echo requests through every SA; LAN-initiated datagrams captured and decrypted."""
    sas = [PeerSa(d) for d in spec["sas"]]
    by_spi = {sa.d["spi_from_gw"]: sa for sa in sas}
    count = spec.get("count", 2)
    wire = Wire(spec["iface"], spec["gw_mac"], spec["gw"])
    res = {sa.name: {"replies": [], "lan": [], "seqs": [], "errors": [], "sent": 0}
           for sa in sas}
    expected_lan = {sa.name: spec.get("lan_count", 0) + (1 if sa.d.get("lan_big") else 0)
                    for sa in sas if sa.tunnel}
    wire.start()
    print("READY", flush=True)
    for idx, sa in enumerate(sas):
        for seq in range(1, count + 1):
            body = payload_for(sa.name, seq, sa.d.get("length", 64), bool(sa.comp))
            inner = echo(sa.d["inner_src"], sa.d["inner_dst"], 0x100 + idx, seq, body)
            try:
                # IPComp: the second packet travels uncompressed, as RFC 3173 allows a
                # sender to when compression does not pay; the gateway must take both.
                pkt = sa.protect(inner, compress=seq == 1)
                for part in (fragment(pkt, fragsize=sa.d["frag"]) if sa.d.get("frag") else [pkt]):
                    wire.send(part)
                res[sa.name]["sent"] += 1
            except Exception as e:  # noqa: BLE001
                res[sa.name]["errors"].append(f"cannot build: {e!r}")
        time.sleep(0.002)
    print("SENT", flush=True)

    def done() -> bool:
        with wire.lock:
            frames = list(wire.frames)
        seen: dict = {}
        for f in frames:
            sa = by_spi.get(frame_spi(f[IP]))
            if sa is not None:
                seen[sa.name] = seen.get(sa.name, 0) + 1
        return all(seen.get(sa.name, 0) >= count + expected_lan.get(sa.name, 0) for sa in sas)

    deadline = time.time() + spec.get("listen", 10)
    while time.time() < deadline and not done():
        time.sleep(0.2)
    time.sleep(0.3)
    wire.stop()

    # The gateway fragments what outgrows the MTU after encapsulation: count the first
    # fragments per SA, then reassemble.
    for f in wire.frames:
        ip = f[IP]
        if ip.flags.MF and ip.frag == 0 and frame_spi(ip) in by_spi:
            r = res[by_spi[frame_spi(ip)].name]
            r["fragmented"] = r.get("fragmented", 0) + 1
    ips = []
    for f in wire.frames:
        ip = IP(bytes(f[IP]))
        ip.time = f.time
        ips.append(ip)
    # defragment() puts reassembled packets last: restore the capture order.
    for ip in sorted(defragment(ips), key=lambda p: float(p.time)):
        ip = ip[IP]
        if ip.flags.MF or ip.frag:
            continue                                  # a fragment whose rest never came
        when, size = float(ip.time), len(ip)
        spi = frame_spi(ip)
        sa = by_spi.get(spi)
        if sa is None:
            continue
        r = res[sa.name]
        try:
            seq, clear = sa.unprotect(ip)
        except Exception as e:  # noqa: BLE001
            r["errors"].append(f"{ip.summary()}: {e!r}")
            continue
        r["seqs"].append(seq)
        r["compressed"] = r.get("compressed", 0) + int(sa.last_compressed)
        r.setdefault("arrivals", []).append([seq, round(when, 6), size])
        if ip.dst != sa.peer:
            r["errors"].append(f"outer destination {ip.dst}, expected {sa.peer}")
        if IP not in clear:
            r["errors"].append(f"not IP inside: {clear!r}")
            continue
        inner = clear[IP]
        if ICMP in inner and inner[ICMP].type == 0:
            data = bytes(inner[ICMP].payload)
            want = f"ARSEC:{sa.name}:".encode()
            if not data.startswith(want):
                r["errors"].append(f"echo reply with foreign payload {data[:40]!r}")
                continue
            if inner.src != sa.d["inner_dst"] or inner.dst != sa.d["inner_src"]:
                r["errors"].append(f"echo reply {inner.src} -> {inner.dst}")
            r["replies"].append(inner[ICMP].seq)
        elif UDP in inner and bytes(inner[UDP].payload).startswith(b"ARSEC-LAN:"):
            data = bytes(inner[UDP].payload)
            tag = data.split(b":")[1].decode(errors="replace")
            if tag != sa.name:
                r["errors"].append(f"LAN datagram for {tag} arrived on {sa.name}'s SA")
            r["lan"].append([inner.dst, len(data)])
        else:
            r["errors"].append(f"unexpected inner packet {inner.summary()}")
    return res


# --------------------------------------------------------------------------- responder

def run_responder(spec: dict) -> dict:
    """Answers echo requests that come through the tunnel and sends the bad packets the
    spec schedules: [{"at": seconds, "sa": name, "kind": ..., "count": n}, ...], the
    seconds counted from when the file spec["trigger"] appears (at once without one);
    returns after spec["duration"] seconds from then."""
    sas = {d["name"]: PeerSa(d) for d in spec["sas"]}
    by_spi = {sa.d["spi_from_gw"]: sa for sa in sas.values()}
    wire = Wire(spec["iface"], spec["gw_mac"], spec["gw"])
    stats = {n: {"requests": 0, "answered": 0, "replies_in": [], "errors": []} for n in sas}
    sent: dict = {n: [] for n in sas}             # what we sent, for the replay test
    injected: dict = {}

    def handle(p) -> None:
        ip = p[IP]
        sa = by_spi.get(frame_spi(ip))
        if sa is None:
            return
        st = stats[sa.name]
        try:
            _, clear = sa.unprotect(ip)
        except Exception as e:  # noqa: BLE001
            st["errors"].append(repr(e))
            return
        inner = clear[IP]
        if ICMP in inner and inner[ICMP].type == 8:
            st["requests"] += 1
            reply = IP(src=inner.dst, dst=inner.src, ttl=64) / \
                ICMP(type=0, id=inner[ICMP].id, seq=inner[ICMP].seq) / \
                Raw(bytes(inner[ICMP].payload))
            out = sa.protect(reply)
            wire.send(out)
            sent[sa.name].append(out)
            st["answered"] += 1
        elif ICMP in inner and inner[ICMP].type == 0:
            st["replies_in"].append(inner[ICMP].seq)

    wire.on_frame = handle
    wire.start()
    print("READY", flush=True)
    trigger = spec.get("trigger")
    if trigger:                                   # the schedule starts when the test says
        deadline = time.time() + 120
        while not os.path.exists(trigger) and time.time() < deadline:
            time.sleep(0.02)
    t0 = time.time()
    for step in sorted(spec.get("inject", []), key=lambda s: s["at"]):
        delay = t0 + step["at"] - time.time()
        if delay > 0:
            time.sleep(delay)
        sa = sas[step["sa"]]
        n = 0
        for i in range(step.get("count", 1)):
            for pkt in bad_packets(sa, step, i, sent[sa.name]):
                wire.send(pkt)
                n += 1
            time.sleep(0.01)
        injected[f'{step["sa"]}:{step["kind"]}'] = injected.get(f'{step["sa"]}:{step["kind"]}', 0) + n
    remaining = t0 + spec["duration"] - time.time()
    if remaining > 0:
        time.sleep(remaining)
    wire.stop()
    return {"stats": stats, "injected": injected}


def bad_packets(sa: PeerSa, step: dict, i: int, history: list) -> list:
    """The malformed packets of one injection step (see test_ipsec_badinput.py)."""
    kind = step["kind"]
    seq = step["seq"] + i if "seq" in step else None
    good = kind == "good"
    marker = "ARSEC-GOOD" if good else "ARSEC-BAD"
    # Good packets carry ICMP sequence 1000 + their ESP/AH sequence number (or + i), so
    # the test can tell which of them the gateway accepted.
    inner = echo(sa.d["inner_src"], sa.d["inner_dst"], 0x7777,
                 1000 + (seq if good and seq is not None else i),
                 f"{marker}:{kind}:{i}:".encode() + b"x" * 40)
    far = 0x40000000 + i * 7 + zlib.crc32(kind.encode()) % 1000   # ahead of any real one
    if good:                                       # a valid packet
        return [sa.protect(inner, seq=seq)]
    if kind == "wrong_inner":                      # valid ESP, inner outside the SA's policy
        inner[IP].src = step.get("inner_src", "192.168.20.250")
        del inner[IP].chksum
        # It authenticates, so it moves the replay window (RFC 4303 3.4.3 updates the
        # window before RFC 4301 5.2 checks the selectors): take the next number.
        return [sa.protect(IP(bytes(inner)))]
    if kind == "clear":                            # what the SA protects, sent in clear
        return [IP(bytes(inner))]
    if kind == "truncated_header":                 # ESP shorter than SPI + sequence number
        return [IP(src=sa.peer, dst=sa.gw, proto=IPPROTO_ESP) /
                Raw(struct.pack("!I", sa.d["spi_to_gw"]) + b"\0\x01")]
    if kind == "truncated_body":                   # cipher text cut: not block aligned
        pkt = sa.protect(inner, seq=far)
        raw = bytes(pkt)[:-5]
        ip = IP(raw)
        del ip.len, ip.chksum
        return [IP(bytes(ip))]
    if kind == "unknown_spi":
        d = dict(sa.d, spi_to_gw=0xDEAD0000 + i)
        return [PeerSa(d).protect(inner, seq=far)]
    if kind == "outbound_spi":                     # the gateway's own outbound SPI
        d = dict(sa.d, spi_to_gw=sa.d["spi_from_gw"])
        return [PeerSa(d).protect(inner, seq=far)]
    if kind == "bad_icv":                          # last ICV byte flipped
        raw = bytearray(bytes(sa.protect(inner, seq=far)))
        raw[-1] ^= 0x01
        return [IP(bytes(raw))]
    if kind == "bad_ciphertext":                   # a payload bit flipped: ICV must fail
        raw = bytearray(bytes(sa.protect(inner, seq=far)))
        raw[20 + 8 + 20] ^= 0x80
        return [IP(bytes(raw))]
    if kind == "replay":                           # resend what the gateway accepted
        if not history:
            return []
        return [history[min(i, len(history) - 1)]]
    if kind in ("bad_padding", "bad_pad_length"):
        return [bad_padding(sa, inner, step["seq"] + i,
                            "bytes" if kind == "bad_padding" else "length")]
    if kind in ("ipcomp_garbage", "ipcomp_bad_cpi"):
        # A valid ESP packet whose IPComp payload cannot be decompressed (or names
        # another CPI): RFC 3173 says drop it.
        cpi = CPI[sa.comp] if kind == "ipcomp_garbage" else 0x1234
        body = struct.pack("!BBH", IPPROTO_IPIP, 0, cpi) + b"\xff" * 48
        hdr = IP(src=sa.peer, dst=sa.gw, proto=IPPROTO_COMP)
        pkt = IP(bytes(hdr / Raw(body)))
        return [fix_udp(sa.tx.encrypt(pkt, seq_num=step["seq"] + i))]
    raise ValueError(f"unknown bad packet kind {kind}")


def main(argv: list) -> int:
    mode, path = argv[1], argv[2]
    spec = json.loads(open(path).read())
    if mode == "matrix":
        result = run_matrix(spec)
    elif mode == "responder":
        result = run_responder(spec)
    else:
        print(f"unknown mode {mode}", file=sys.stderr)
        return 2
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
