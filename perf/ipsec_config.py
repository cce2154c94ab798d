#!/usr/bin/python3
"""The IPsec benchmark's test network, written out for each device under test.

One description of the SAs (SPIs, keys, selectors, tunnel endpoints) and the addresses of
the two ports, rendered three ways so that every DUT and every traffic file agrees:

  secgw   an examples/ipsec-secgw config file (sp / sa / rt lines)
  arsec   an arsec command script in the AR command language, applied with
          `arsec --socket S --user manager --password P -f FILE`
  (perf/ipsec_pcap.py imports this module to make the plaintext and ESP pcaps)

Topology (port 0 = protected side, port 1 = ESP side, as ipsec-secgw's `-u 0x2`):

  generator 192.168.10.2 --- port 0 / vlan1 192.168.10.1/24  [DUT]  port 1 / ppp0 172.16.1.5/16 --- peer 172.16.2.5
  protected remote hosts behind the peer: SA i covers 10.100.0.0/16 (1 SA) or the /32
  10.100.0.0 + i + 1 (N SAs), local side 192.168.10.0/24.

  outbound: UDP 192.168.10.2 -> remote host i, encrypted with OUTSPI(i), tunnel
            172.16.1.5 -> 172.16.2.5, out of port 1
  inbound:  ESP 172.16.2.5 -> 172.16.1.5 with INSPI(i) carrying remote host i ->
            192.168.10.2, decrypted, out of port 0

SPIs follow the AR example: INSPI = 1000 + 2i, OUTSPI = 1001 + 2i. Keys are derived from
the SA index with SHA-256 (benchmark keys, published here on purpose); as on the AR, one
manual SA specification has one key for both directions, so ipsec-secgw's `sa in` and
`sa out` of SA i share it. Anti-replay is off on both DUTs: the inbound pcap is replayed
in a loop, so sequence numbers repeat.

AR's command language numbers SA and bundle specifications 0..255 and policy positions
up to 1000; the 10,000-SA script uses numbers 1..N and needs arsec's ranges widened
(the script's header says so).

usage: ipsec_config.py {secgw|arsec} --algo {gcm|cbc} --nsa N [--peer-mac M] [--lan-mac M]
"""
import argparse
import hashlib
import ipaddress
import sys

LAN_IF, WAN_IF = 'vlan1', 'ppp0'
LAN_GW, LAN_MASK, LAN_NET = '192.168.10.1', '255.255.255.0', '192.168.10.0'
LAN_HOST = '192.168.10.2'
WAN_ADDR, WAN_MASK = '172.16.1.5', '255.255.0.0'
PEER = '172.16.2.5'
REMOTE_BASE = ipaddress.IPv4Address('10.100.0.0')
UDP_DPORT = 5001
ALGOS = ('gcm', 'cbc')
# The generator's MACs when the runner knows nothing better (pcap harness).
DEFAULT_LAN_HOST_MAC = '02:00:00:00:0a:02'
DEFAULT_PEER_MAC = '02:00:00:00:02:05'


def in_spi(i):
    return 1000 + 2 * i


def out_spi(i):
    return 1001 + 2 * i


def remote(i, nsa):
    """(network address, prefix length) of SA i's remote selector."""
    if nsa == 1:
        return str(REMOTE_BASE), 16
    return str(REMOTE_BASE + i + 1), 32


def remote_host(i, nsa):
    """The address traffic of SA i goes to (outbound) / comes from (inbound)."""
    return str(REMOTE_BASE + i + 1)


def _bytes(label, i, n):
    out = b''
    k = 0
    while len(out) < n:
        out += hashlib.sha256(f'arsec-perf {label} {i} {k}'.encode()).digest()
        k += 1
    return out[:n]


def keys(algo, i):
    """{'enc': bytes, 'auth': bytes or None} for SA i. GCM: 16 B key + 4 B salt."""
    if algo == 'gcm':
        return {'enc': _bytes('gcm', i, 20), 'auth': None}
    if algo == 'cbc':
        return {'enc': _bytes('aes', i, 16), 'auth': _bytes('sha1', i, 20)}
    raise ValueError(f'unknown algorithm {algo}')


def sas(algo, nsa):
    """Every SA as a dict: index, in_spi, out_spi, remote (net, len), host, keys."""
    for i in range(nsa):
        yield {'index': i, 'in_spi': in_spi(i), 'out_spi': out_spi(i),
               'remote': remote(i, nsa), 'host': remote_host(i, nsa), 'keys': keys(algo, i)}


def _colon(b):
    return ':'.join(f'{x:02x}' for x in b)


def secgw_config(algo, nsa):
    """examples/ipsec-secgw config: port 0 protected, port 1 unprotected (-u 0x2)."""
    ports = 'sport 0:65535 dport 0:65535'
    lines = [f'# perf/ipsec_config.py secgw --algo {algo} --nsa {nsa}']
    all_sas = list(sas(algo, nsa))
    for s in all_sas:
        net, plen = s['remote']
        lines.append(f"sp ipv4 out esp protect {s['out_spi']} pri 1 src {LAN_NET}/24 "
                     f"dst {net}/{plen} {ports}")
    for s in all_sas:
        net, plen = s['remote']
        lines.append(f"sp ipv4 in esp protect {s['in_spi']} pri 1 src {net}/{plen} "
                     f"dst {LAN_NET}/24 {ports}")
    for direction, spi_key, src, dst in (('out', 'out_spi', WAN_ADDR, PEER),
                                         ('in', 'in_spi', PEER, WAN_ADDR)):
        for s in all_sas:
            k = s['keys']
            if algo == 'gcm':
                crypto = f"aead_algo aes-128-gcm aead_key {_colon(k['enc'])}"
            else:
                crypto = (f"cipher_algo aes-128-cbc cipher_key {_colon(k['enc'])} "
                          f"auth_algo sha1-hmac auth_key {_colon(k['auth'])}")
            lines.append(f"sa {direction} {s[spi_key]} {crypto} mode ipv4-tunnel "
                         f"src {src} dst {dst}")
    lines.append('rt ipv4 dst 172.16.0.0/16 port 1')
    lines.append(f'rt ipv4 dst {LAN_NET}/24 port 0')
    return '\n'.join(lines) + '\n'


def _dashes(mac):
    return mac.replace(':', '-').lower()


def arsec_script(algo, nsa, lan_host_mac=DEFAULT_LAN_HOST_MAC, peer_mac=DEFAULT_PEER_MAC):
    """arsec command script (AR command language) for the same SAs as secgw_config."""
    lines = [f'# perf/ipsec_config.py arsec --algo {algo} --nsa {nsa}',
             '# Benchmark keys (public on purpose). Port 0 = vlan1 (protected), port 1 = ppp0 (ESP).']
    if nsa > 255:
        lines.append('# NOTE: SA/bundle specification numbers above 255 need arsec\'s ranges widened '
                     'beyond the AR410\'s 0..255.')
    lines += [f'ADD IP INTERFACE={LAN_IF} IPADDRESS={LAN_GW} MASK={LAN_MASK}',
              f'ADD IP INTERFACE={WAN_IF} IPADDRESS={WAN_ADDR} MASK={WAN_MASK}',
              f'ADD IP ARP={LAN_HOST} INTERFACE={LAN_IF} ETHERNET={_dashes(lan_host_mac)}',
              f'ADD IP ARP={PEER} INTERFACE={WAN_IF} ETHERNET={_dashes(peer_mac)}',
              f'ADD IP ROUTE={REMOTE_BASE} MASK=255.255.0.0 INTERFACE={WAN_IF} NEXTHOP={PEER}',
              'ENABLE IPSEC']
    for s in sas(algo, nsa):
        n = s['index'] + 1
        k = s['keys']
        if algo == 'gcm':
            lines.append(f"CREATE ENCO KEY={n} TYPE=GENERAL VALUE=0x{k['enc'].hex()}")
            alg = f'ENCALG=AES128GCM HASHALG=NULL ENCKEY={n}'
        else:
            ek, hk = 2 * n - 1, 2 * n
            lines.append(f"CREATE ENCO KEY={ek} TYPE=GENERAL VALUE=0x{k['enc'].hex()}")
            lines.append(f"CREATE ENCO KEY={hk} TYPE=GENERAL VALUE=0x{k['auth'].hex()}")
            alg = f'ENCALG=AES128 HASHALG=SHA ENCKEY={ek} HASHKEY={hk}'
        net, plen = s['remote']
        rmask = str(ipaddress.IPv4Network(f'0.0.0.0/{plen}').netmask)
        lines += [
            f"CREATE IPSEC SASPEC={n} KEYMAN=MANUAL PROTO=ESP MODE=TUNNEL {alg} "
            f"INSPI={s['in_spi']} OUTSPI={s['out_spi']} ANTIREPLAYENABLED=FALSE",
            f'CREATE IPSEC BUNDLE={n} KEYMAN=MANUAL STRING="{n}"',
            f'CREATE IPSEC POLICY=p{n} INT={WAN_IF} ACTION=IPSEC KEYMAN=MANUAL BUNDLE={n} PEER={PEER}',
            f'SET IPSEC POLICY=p{n} LAD={LAN_NET} LMA={LAN_MASK} RAD={net} RMA={rmask}',
        ]
    return '\n'.join(lines) + '\n'


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('what', choices=['secgw', 'arsec'])
    ap.add_argument('--algo', choices=ALGOS, required=True)
    ap.add_argument('--nsa', type=int, default=1)
    ap.add_argument('--lan-mac', default=DEFAULT_LAN_HOST_MAC,
                    help='MAC of the protected-side host (static ARP in the arsec script)')
    ap.add_argument('--peer-mac', default=DEFAULT_PEER_MAC,
                    help='MAC of the peer gateway (static ARP in the arsec script)')
    a = ap.parse_args()
    if not 1 <= a.nsa <= 65535:
        ap.error('--nsa wants 1..65535')
    if a.what == 'secgw':
        sys.stdout.write(secgw_config(a.algo, a.nsa))
    else:
        sys.stdout.write(arsec_script(a.algo, a.nsa, a.lan_mac, a.peer_mac))
    return 0


if __name__ == '__main__':
    sys.exit(main())
