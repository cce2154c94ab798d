#!/usr/bin/python3
"""Writes the seed corpus of inbound_fuzz (tests/unit/ipsec/fuzz_corpus/).

The layout of an input is in inbound_fuzz.cc. Valid-mode seeds are a few parameter
bytes from which the harness builds a genuine packet with the outbound stages (so one
seed per SA exercises the whole decapsulation); raw-mode seeds are whole IPv4 packets
for the paths a genuine packet never takes (NAT-T keepalive, IKE marker, truncation).
Usage: make_fuzz_corpus.py [OUTDIR]
"""
import os
import struct
import sys

VALID, TAIL_RX, ADVANCE, FIX, TWICE = 0x01, 0x04, 0x10, 0x40, 0x80
CONFIGS = ['esp-cbc-sha1-tunnel', 'esp-gcm-transport-esn', 'esp-null-sha256-tunnel',
           'ah-sha1-tunnel', 'ah-sha256-transport-esn', 'ipcomp-lzs-tunnel',
           'ipcomp-lzs-transport', 'ipcomp-deflate-tunnel', 'ipcomp-deflate-transport',
           'esp-natt-cbc-sha256-tunnel', 'esp-udp2746-gcm-tunnel-esn', 'esp-ipcomp-bundle']


def valid(cfg, top, hi, step, len7, content, hdr, muts=(), flags=0):
    """cfg index, window top (low 32 bits, ESN high selector), signed step, inner payload
    length / 7, content byte (period / random), header byte, (op, pos, val) mutations."""
    b = bytes([cfg, VALID | TAIL_RX | ADVANCE | flags]) + struct.pack('>IBbBBB', top, hi, step,
                                                                      len7, content, hdr)
    for op, pos, val in muts:
        b += struct.pack('>BHB', op, pos, val)
    return b


def ipv4_udp(dport, body, sport=4500):
    udp = struct.pack('>HHHH', sport, dport, 8 + len(body), 0) + body
    ip = struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                     bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2]))
    return ip + udp


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__),
                                                             'fuzz_corpus')
    os.makedirs(out, exist_ok=True)
    seeds = {}
    for i, name in enumerate(CONFIGS):
        comp = 'ipcomp' in name or 'bundle' in name
        seeds[name] = valid(i, 0x1000 + i, i % 3, 1, 40 if comp else 20, 0x07 if comp else 0x45,
                            0x0c if name.startswith('ah') else 0x11)
    seeds['esp-cbc-mutated'] = valid(0, 0x2000, 0, 3, 30, 0x45, 0x01,
                                     [(0, 48, 0x80), (6, 5, 0x01), (4, 0, 0)])
    seeds['esp-gcm-esn-duplicate'] = valid(1, 0xfffffff0, 1, 0x20, 8, 0x43, 0x11, flags=TWICE)
    seeds['ah-truncated'] = valid(3, 0x10, 0, 1, 10, 0x45, 0x0c, [(2, 30, 0), (4, 0, 0)])
    seeds['natt-keepalive'] = bytes([9, FIX | TAIL_RX]) + ipv4_udp(4500, b'\xff')
    seeds['natt-non-esp'] = bytes([9, FIX | TAIL_RX]) + ipv4_udp(4500, bytes(4) + bytes(range(28)))
    seeds['raw-esp-short'] = bytes([0, FIX]) + struct.pack(
        '>BBHHHBBH4s4s', 0x45, 0, 26, 1, 0, 64, 50, 0, bytes([192, 0, 2, 1]),
        bytes([192, 0, 2, 2])) + struct.pack('>IH', 0x1000, 7)
    for name, data in seeds.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
