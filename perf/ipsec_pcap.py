#!/usr/bin/python3
"""Traffic files of the IPsec benchmark: plaintext for outbound, ESP for inbound.

Both come from the SAs of perf/ipsec_config.py, so any DUT configured from that module
(arsec's script or ipsec-secgw's config) accepts them:

  plain  Ethernet/IPv4/UDP 192.168.10.2 -> remote host of SA i, as the protected side
         sends it (outbound case)
  esp    the same inner packets (remote host of SA i -> 192.168.10.2), each put in ESP
         tunnel mode with SA i's INSPI and keys, outer 172.16.2.5 -> 172.16.1.5, as the
         peer gateway sends it (inbound case); made with scapy's SecurityAssociation

Sizes are the *plaintext* Ethernet frame without FCS (64 B frame = 50 B IP), in both
directions, so one case keeps one name: the ESP frames of an inbound case are longer by
the tunnel overhead. Frame order: 1 SA = 64 frames with UDP source ports 1024..1087;
N SAs = one frame per SA, round-robin (the worst SA locality). ESP sequence numbers
start at 1 per SA; the DUT runs with anti-replay off because the file is replayed.

usage: ipsec_pcap.py {plain|esp} OUT.pcap --algo gcm|cbc --nsa N --size B
                     [--dst-mac M] [--src-mac M]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ipsec_config as cfg  # noqa: E402

# net_pcap's MAC for the first net_pcap device of a process: the pcap harness's input.
PCAP_PORT_MAC = '02:70:63:61:70:00'


def _inner(src, dst, sport, ip_len):
    from scapy.layers.inet import IP, UDP
    payload = bytes((sport + k) & 0xff for k in range(ip_len - 28))
    return IP(src=src, dst=dst, ttl=64, id=sport & 0xffff) / UDP(sport=sport, dport=cfg.UDP_DPORT) / payload


def _flows(nsa):
    """(SA index, UDP source port) of every frame, in file order."""
    if nsa == 1:
        return [(0, 1024 + j) for j in range(64)]
    return [(i, 1024 + i % 4096) for i in range(nsa)]


def build(kind, algo, nsa, size, dst_mac, src_mac):
    """Returns the list of scapy Ether frames."""
    from scapy.layers.inet import IP
    from scapy.layers.ipsec import ESP, SecurityAssociation
    from scapy.layers.l2 import Ether
    if not 64 <= size <= 1514:
        raise ValueError('frame size must be 64..1514')
    ip_len = size - 14
    all_sas = list(cfg.sas(algo, nsa))
    frames = []
    seq = {}
    assoc = {}
    for i, sport in _flows(nsa):
        s = all_sas[i]
        if kind == 'plain':
            pkt = _inner(cfg.LAN_HOST, s['host'], sport, ip_len)
        else:
            if i not in assoc:
                k = s['keys']
                tunnel = IP(src=cfg.PEER, dst=cfg.WAN_ADDR, ttl=64)
                if algo == 'gcm':
                    assoc[i] = SecurityAssociation(ESP, spi=s['in_spi'], crypt_algo='AES-GCM',
                                                   crypt_key=k['enc'], tunnel_header=tunnel)
                else:
                    assoc[i] = SecurityAssociation(ESP, spi=s['in_spi'], crypt_algo='AES-CBC',
                                                   crypt_key=k['enc'], auth_algo='HMAC-SHA1-96',
                                                   auth_key=k['auth'], tunnel_header=tunnel)
            seq[i] = seq.get(i, 0) + 1
            inner = _inner(s['host'], cfg.LAN_HOST, sport, ip_len)
            pkt = assoc[i].encrypt(inner, seq_num=seq[i])
        frames.append(Ether(dst=dst_mac, src=src_mac) / pkt)
    return frames


def write(path, kind, algo, nsa, size, dst_mac=PCAP_PORT_MAC, src_mac=None):
    """Writes the pcap (atomically); returns (path, frames, ESP size)."""
    from scapy.utils import wrpcap
    if src_mac is None:
        src_mac = cfg.DEFAULT_LAN_HOST_MAC if kind == 'plain' else cfg.DEFAULT_PEER_MAC
    frames = build(kind, algo, nsa, size, dst_mac, src_mac)
    tmp = f'{path}.tmp{os.getpid()}'
    wrpcap(tmp, frames)
    os.replace(tmp, path)
    return path, len(frames), len(frames[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('kind', choices=['plain', 'esp'])
    ap.add_argument('out')
    ap.add_argument('--algo', choices=cfg.ALGOS, default='gcm')
    ap.add_argument('--nsa', type=int, default=1)
    ap.add_argument('--size', type=int, default=64, help='plaintext frame size without FCS')
    ap.add_argument('--dst-mac', default=PCAP_PORT_MAC,
                    help="the DUT port's MAC (default: net_pcap's, for the pcap harness)")
    ap.add_argument('--src-mac', default=None)
    a = ap.parse_args()
    path, n, first = write(a.out, a.kind, a.algo, a.nsa, a.size, a.dst_mac, a.src_mac)
    print(f'wrote {path}: {n} {a.kind} frames, plaintext frame {a.size} B, first frame {first} B')
    return 0


if __name__ == '__main__':
    sys.exit(main())
