#!/usr/bin/python3
"""Writes scapy_vectors.inc: ESP and AH packets made by scapy's own IPsec implementation
(scapy.layers.ipsec), an implementation independent of ours, for ipsec_test to decode
and to reproduce byte for byte (the IV is fixed here and fed to our IvSource's test
seam; GCM's explicit IV is the sequence number, as our stage sends it).

Usage: /usr/bin/python3 make_vectors.py > scapy_vectors.inc

Coverage: ESP with NULL, DES, 3DES, AES-CBC 128/192/256 and AES-GCM 128/256 against
NULL, HMAC-MD5-96, HMAC-SHA1-96 and HMAC-SHA2-256/384/512, tunnel and transport mode,
with and without NAT-T UDP encapsulation, with and without ESN; AH with every HMAC,
tunnel and transport, ESN, and IPv4 options (immutable and mutable).

scapy 2.5's ESP does not authenticate the ESN high bits with HMAC (only GCM's AAD gets
them), so for HMAC + ESN the ICV is computed here with Python's hmac over the ESP
packet scapy made with NULL integrity followed by the high 32 bits (RFC 4303 section
2.2.1), and appended; lengths are fixed up through scapy. Its NAT-T UDP length is
also wrong (8, see esp_vector) and is corrected here.
"""
import hashlib
import hmac
import random
import struct
import sys

from scapy.all import IP, UDP, Raw, raw
from scapy.layers.inet import IPOption_Router_Alert, IPOption_RR
from scapy.layers.ipsec import AH, ESP, SecurityAssociation

RNG = random.Random(4303)
TUN_SRC, TUN_DST = "192.0.2.1", "198.51.100.2"
INNER_SRC, INNER_DST = "10.0.0.1", "10.1.0.1"
NATT_PORT = 4500

# scapy name, our enum, key bytes, IV bytes
CIPHERS = {
    "null": ("NULL", "kNull", 0, 0),
    "des": ("DES", "kDesCbc", 8, 8),
    "3des": ("3DES", "k3desCbc", 24, 8),
    "aes128": ("AES-CBC", "kAes128Cbc", 16, 16),
    "aes192": ("AES-CBC", "kAes192Cbc", 24, 16),
    "aes256": ("AES-CBC", "kAes256Cbc", 32, 16),
    "gcm128": ("AES-GCM", "kAes128Gcm", 20, 8),
    "gcm256": ("AES-GCM", "kAes256Gcm", 36, 8),
}
# scapy name, our enum, key bytes, ICV bytes, hashlib name
AUTHS = {
    "null": ("NULL", "kNull", 0, 0, None),
    "md5": ("HMAC-MD5-96", "kHmacMd5_96", 16, 12, "md5"),
    "sha1": ("HMAC-SHA1-96", "kHmacSha1_96", 20, 12, "sha1"),
    "sha256": ("SHA2-256-128", "kHmacSha256_128", 32, 16, "sha256"),
    "sha384": ("SHA2-384-192", "kHmacSha384_192", 48, 24, "sha384"),
    "sha512": ("SHA2-512-256", "kHmacSha512_256", 64, 32, "sha512"),
}


def rbytes(n):
    return bytes(RNG.getrandbits(8) for _ in range(n))


def inner_packet(n, options=None):
    ip = IP(src=INNER_SRC, dst=INNER_DST, tos=RNG.choice([0, 0x10, 0xb8, 0x03]),
            flags=RNG.choice(["", "DF"]), id=RNG.getrandbits(16), ttl=RNG.randint(2, 255))
    if options:
        ip.options = options
    return IP(raw(ip / UDP(sport=RNG.getrandbits(16), dport=53) / Raw(rbytes(n))))


def tunnel_header(inner, ip_id, proto_ah=False):
    # Our outer header: TOS copied, DF copied (SaDfBit::kCopy), TTL 64, the given ID.
    return IP(src=TUN_SRC, dst=TUN_DST, tos=inner.tos, ttl=64, id=ip_id,
              flags="DF" if inner.flags.DF else "")


def esp_vector(name, cname, aname, mode, esn, natt, n):
    sc, cenum, klen, ivlen = CIPHERS[cname]
    sa_name, aenum, aklen, icv, hname = AUTHS[aname]
    ck, ak = rbytes(klen), rbytes(aklen)
    spi = RNG.getrandbits(32) | 0x100
    seq = (RNG.getrandbits(32) << 32 | RNG.getrandbits(32)) if esn else RNG.getrandbits(31) + 1
    seq_hi, seq_lo = seq >> 32, seq & 0xffffffff
    ip_id = RNG.getrandbits(16)
    inner = inner_packet(n)
    iv = struct.pack("!Q", seq) if cname.startswith("gcm") else rbytes(ivlen)
    manual_icv = esn and hname is not None
    kw = dict(crypt_algo=sc, crypt_key=ck,
              auth_algo="NULL" if manual_icv else sa_name, auth_key=None if manual_icv else ak)
    if mode == "tunnel":
        kw["tunnel_header"] = tunnel_header(inner, ip_id)
    if natt:
        kw["nat_t_header"] = UDP(sport=NATT_PORT, dport=NATT_PORT)
    sa = SecurityAssociation(ESP, spi=spi, seq_num=seq_lo, esn_en=esn, esn=seq_hi, **kw)
    out = sa.encrypt(inner, seq_num=seq_lo, iv=iv if ivlen else None, esn_en=esn, esn=seq_hi)
    out = raw(out)
    if natt:
        # scapy 2.5 serialises the IP/UDP header before the ESP payload is attached, so
        # its UDP length is 8; RFC 3948 wants the real length (checksum stays 0).
        ihl = (out[0] & 0xf) * 4
        out = out[:ihl + 4] + struct.pack("!H", len(out) - ihl) + out[ihl + 6:]
    if manual_icv:
        ihl = (out[0] & 0xf) * 4
        esp_at = ihl + (8 if natt else 0)
        tag = hmac.new(ak, out[esp_at:] + struct.pack("!I", seq_hi), hname).digest()[:icv]
        out = bytearray(out + tag)
        if natt:
            struct.pack_into("!H", out, ihl + 4, len(out) - ihl)
        struct.pack_into("!H", out, 2, len(out))
        # scapy recomputes the header checksum when the field is deleted.
        hdr = IP(bytes(out[:ihl]))
        del hdr.chksum
        out = raw(hdr)[:ihl] + bytes(out[ihl:])
    return dict(name=name, proto=50, mode=mode, cipher=cenum, auth=aenum, esn=esn,
                encap="kNatT" if natt else "kNone", ck=ck, ak=ak, spi=spi, seq=seq,
                iv=iv if ivlen and not cname.startswith("gcm") else b"", ip_id=ip_id,
                inner=raw(inner), outer=raw(out))


def ah_vector(name, aname, mode, esn, n, options=None):
    sa_name, aenum, aklen, icv, _ = AUTHS[aname]
    ak = rbytes(aklen)
    spi = RNG.getrandbits(32) | 0x100
    seq = (RNG.getrandbits(32) << 32 | RNG.getrandbits(32)) if esn else RNG.getrandbits(31) + 1
    seq_hi, seq_lo = seq >> 32, seq & 0xffffffff
    ip_id = RNG.getrandbits(16)
    inner = inner_packet(n, options)
    kw = dict(auth_algo=sa_name, auth_key=ak)
    if mode == "tunnel":
        kw["tunnel_header"] = tunnel_header(inner, ip_id, proto_ah=True)
    sa = SecurityAssociation(AH, spi=spi, seq_num=seq_lo, esn_en=esn, esn=seq_hi, **kw)
    out = IP(raw(sa.encrypt(inner, seq_num=seq_lo, esn_en=esn, esn=seq_hi)))
    return dict(name=name, proto=51, mode=mode, cipher="kNull", auth=aenum, esn=esn,
                encap="kNone", ck=b"", ak=ak, spi=spi, seq=seq, iv=b"", ip_id=ip_id,
                inner=raw(inner), outer=raw(out))


def vectors():
    v = []
    sizes = [0, 1, 13, 64, 333, 1400]
    for cname in CIPHERS:
        auths = ["null"] if cname.startswith("gcm") else list(AUTHS)
        for aname in auths:
            if cname == "null" and aname == "null":
                continue
            for mode in ("tunnel", "transport"):
                for esn in (False, True):
                    natt = RNG.random() < 0.35
                    n = RNG.choice(sizes)
                    name = "esp_%s_%s_%s%s%s" % (cname, aname, mode, "_esn" if esn else "",
                                                 "_natt" if natt else "")
                    v.append(esp_vector(name, cname, aname, mode, esn, natt, n))
    for aname in [a for a in AUTHS if a != "null"]:
        for mode in ("tunnel", "transport"):
            for esn in (False, True):
                n = RNG.choice(sizes)
                name = "ah_%s_%s%s" % (aname, mode, "_esn" if esn else "")
                v.append(ah_vector(name, aname, mode, esn, n))
    # Options: Router Alert is immutable (in the ICV), Record Route mutable (zeroed).
    opts = [IPOption_Router_Alert(), IPOption_RR(routers=["10.9.9.9", "10.8.8.8"])]
    v.append(ah_vector("ah_sha256_transport_options", "sha256", "transport", False, 40, opts))
    v.append(ah_vector("ah_sha1_tunnel_inner_options", "sha1", "tunnel", False, 40, opts))
    return v


def cstr(b, indent):
    h = b.hex()
    if not h:
        return '""'
    parts = [h[i:i + 96] for i in range(0, len(h), 96)]
    return ("\n" + " " * indent).join('"%s"' % p for p in parts)


def main():
    import scapy
    out = sys.stdout
    out.write("// Generated by tests/unit/ipsec/make_vectors.py with scapy %s; do not edit.\n"
              % scapy.__version__)
    out.write("// Fields: name, IP protocol, mode, cipher, auth, ESN, encapsulation, cipher key,\n"
              "// auth key, SPI, 64-bit sequence number, CBC IV, outer IP ID, inner, outer.\n")
    for x in vectors():
        out.write('{"%s", %d, SaMode::k%s, CipherAlg::%s, AuthAlg::%s, %s, SaEncap::%s,\n'
                  % (x["name"], x["proto"], x["mode"].capitalize(), x["cipher"], x["auth"],
                     "true" if x["esn"] else "false", x["encap"]))
        out.write(" %s,\n %s,\n 0x%08xu, 0x%016xull, %s, 0x%04x,\n %s,\n %s},\n"
                  % (cstr(x["ck"], 1), cstr(x["ak"], 1), x["spi"], x["seq"],
                     cstr(x["iv"], 1), x["ip_id"], cstr(x["inner"], 1), cstr(x["outer"], 1)))


if __name__ == "__main__":
    main()
