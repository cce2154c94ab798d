#!/usr/bin/python3
"""Writes codec_vectors.inc: ISAKMP messages built by scapy (an ISAKMP implementation
independent of ours) and, for each, what scapy itself reads back from the bytes.

    /usr/bin/python3 tests/unit/ike/make_codec_vectors.py > tests/unit/ike/codec_vectors.inc

scapy 2.5 (scapy.layers.isakmp) has classes for the header, SA, proposal, transform, KE,
ID, HASH, NONCE and VID payloads; the remaining payloads (N, D, ATTR, NAT-D, NAT-OA,
CERT, CR, SIG) go through its generic ISAKMP_payload with bodies packed here from the
RFC layouts. The expected fields are taken from scapy's dissection of the final bytes,
not from the values passed in, and written as one summary line per payload in a fixed
format that codec_scapy_test.cc produces from our parser:

    SA doi=1 sit=1 | P#1 proto=1 spi= nt=1 T#1 id=1 a1=1 a2=2 ...
    KE <hex>   NONCE <hex>   HASH <hex>   VID <hex>
    ID type=1 proto=17 port=500 data=<hex>
    P<type> <hex>      (payloads scapy only knows as generic)

Transform attributes are listed as a<type>=<integer value> in wire order, which is how
scapy's ISAKMPTransformSetField decodes them (basic or TLV alike).

scapy 2.5 leaves the SPI out of a proposal's length (its FieldLenField counts only the
transforms), in building and in dissecting alike. The generator corrects the built bytes
(fix_proposal_lengths), and summarize() hands each proposal to scapy with the length in
scapy's convention (wire length minus SPI size), so scapy still does the decoding.
"""
import struct
import sys

from scapy.layers.isakmp import (ISAKMP, ISAKMP_payload, ISAKMP_payload_Hash,
                                 ISAKMP_payload_ID, ISAKMP_payload_KE,
                                 ISAKMP_payload_Nonce, ISAKMP_payload_Proposal,
                                 ISAKMP_payload_SA, ISAKMP_payload_Transform,
                                 ISAKMP_payload_VendorID, ISAKMPTransformTypes)
from scapy.packet import Raw

# Payload type numbers (RFC 2408 3.1, RFC 3947, the Mode Config draft).
SA, P, T, KE, ID, CERT, CR, HASH, SIG, NONCE, N, D, VID, ATTR = range(1, 15)
NATD, NATOA = 20, 21

VID_RFC3947 = bytes.fromhex("4a131c81070358455c5728f20e95452f")
VID_DPD = bytes.fromhex("afcad71368a1f1c96b8696fc77570100")
VID_XAUTH = bytes.fromhex("09002689dfd6b712")
VID_DRAFT02N = bytes.fromhex("90cb80913ebb696e086381b5ec427b1f")


def pattern(n, seed):
    """n deterministic bytes (the generator must write the same file every run)."""
    return bytes((seed * 31 + i * 7 + (i >> 3)) & 0xff for i in range(n))


def transforms(specs, nums=None):
    """A chain of transforms; specs = [(transform id, [(attr, value)...]), ...]."""
    chain = None
    for i, (tid, attrs) in enumerate(specs):
        t = ISAKMP_payload_Transform(next_payload=T if i + 1 < len(specs) else 0,
                                     num=(nums[i] if nums else i + 1), id=tid,
                                     transforms=attrs)
        chain = t if chain is None else chain / t
    return chain


def proposals(specs):
    """specs = [(number, protocol, spi, [transform specs]), ...]."""
    chain = None
    for i, (num, proto, spi, ts) in enumerate(specs):
        p = ISAKMP_payload_Proposal(next_payload=P if i + 1 < len(specs) else 0,
                                    proposal=num, proto=proto, SPI=spi,
                                    trans_nb=len(ts), trans=transforms(ts))
        chain = p if chain is None else chain / p
    return chain


def sa(props):
    return ISAKMP_payload_SA(DOI=1, situation=1, prop=proposals(props))


def generic(body):
    return ISAKMP_payload(load=body)


def message(icookie, rcookie, exch, msgid, payloads):
    """payloads = [(type, scapy payload layer)...]; next-payload fields set explicitly."""
    hdr = ISAKMP(init_cookie=icookie, resp_cookie=rcookie,
                 next_payload=payloads[0][0] if payloads else 0,
                 exch_type=exch, flags=0, id=msgid)
    pkt = hdr
    for i, (_, layer) in enumerate(payloads):
        layer.next_payload = payloads[i + 1][0] if i + 1 < len(payloads) else 0
        pkt = pkt / layer
    return pkt


def get16(b, o):
    return struct.unpack("!H", bytes(b[o:o + 2]))[0]


def sa_bodies(data):
    """(offset, length) of each SA payload in a plaintext message."""
    out = []
    ptype, off = data[16], 28
    while ptype != 0 and off + 4 <= len(data):
        length = get16(data, off + 2)
        if ptype == SA:
            out.append((off, length))
        ptype, off = data[off], off + length
    return out


def fix_proposal_lengths(data):
    """Adds each proposal's SPI size to its length field (scapy omits it)."""
    b = bytearray(data)
    for off, length in sa_bodies(b):
        o, end = off + 12, off + length
        while o + 8 <= end:
            real = get16(b, o + 2) + b[o + 6]
            b[o + 2:o + 4] = struct.pack("!H", real)
            last = b[o] == 0
            o += real
            if last:
                break
    return bytes(b)


def scapy_proposals(sa_body):
    """scapy's dissection of each proposal of an SA payload (the bytes after DOI and
    situation), each handed over with its length in scapy's convention."""
    out, o = [], 0
    while o + 8 <= len(sa_body):
        length, spi_size = get16(sa_body, o + 2), sa_body[o + 6]
        raw_p = bytearray(sa_body[o:o + length])
        raw_p[2:4] = struct.pack("!H", length - spi_size)
        out.append(ISAKMP_payload_Proposal(bytes(raw_p)))
        last = sa_body[o] == 0
        o += length
        if last:
            break
    return out


def attr_num(name):
    return ISAKMPTransformTypes[name][0] if name in ISAKMPTransformTypes else int(name)


def attr_val(name, val):
    if isinstance(val, int):
        return val
    return ISAKMPTransformTypes[name][1][val]


def summarize(data):
    """What scapy reads from `data`: header fields and one line per payload."""
    pkt = ISAKMP(data)
    head = dict(icookie=pkt.init_cookie.hex(), rcookie=pkt.resp_cookie.hex(),
                exchange=pkt.exch_type, msgid=pkt.id, length=pkt.length,
                version=pkt.version)
    lines = []
    layer = pkt.payload
    ptype = pkt.next_payload
    while ptype != 0 and not isinstance(layer, Raw) and layer is not None and len(layer):
        if isinstance(layer, ISAKMP_payload_SA):
            s = "SA doi=%d sit=%d" % (layer.DOI, layer.situation)
            for prop in scapy_proposals(bytes(layer)[12:layer.length]):
                s += " | P#%d proto=%d spi=%s nt=%d" % (prop.proposal, prop.proto,
                                                       prop.SPI.hex(), prop.trans_nb)
                tr = prop.trans
                while isinstance(tr, ISAKMP_payload_Transform):
                    s += " T#%d id=%d" % (tr.num, tr.id)
                    for name, val in tr.transforms:
                        s += " a%d=%d" % (attr_num(name), attr_val(name, val))
                    tr = tr.payload if tr.next_payload == T else None
        elif isinstance(layer, ISAKMP_payload_ID):
            s = "ID type=%d proto=%d port=%d data=%s" % (layer.IDtype, layer.ProtoID,
                                                          layer.Port, layer.load.hex())
        elif isinstance(layer, ISAKMP_payload_KE):
            s = "KE " + layer.load.hex()
        elif isinstance(layer, ISAKMP_payload_Nonce):
            s = "NONCE " + layer.load.hex()
        elif isinstance(layer, ISAKMP_payload_Hash):
            s = "HASH " + layer.load.hex()
        elif isinstance(layer, ISAKMP_payload_VendorID):
            s = "VID " + layer.load.hex()
        else:
            s = "P%d %s" % (ptype, layer.load.hex())
        lines.append(s)
        ptype = layer.next_payload
        layer = layer.payload
    return head, lines


def p1_transform(enc, keylen, hash_, auth, group, life):
    attrs = [("Encryption", enc)]
    if keylen:
        attrs.append(("KeyLength", keylen))
    attrs += [("Hash", hash_), ("Authentication", auth), ("GroupDesc", group),
              ("LifeType", "Seconds"), ("LifeDuration", life)]
    return (1, attrs)


def main():
    vectors = []
    ic, rc = bytes.fromhex("5052045c2e566b81"), bytes(8)

    # Main Mode message 1 as in the seed: DES/SHA/PSK/group 1/86400 s.
    vectors.append(("seed_main1", message(ic, rc, 2, 0, [
        (SA, sa([(1, 1, b"", [p1_transform("DES-CBC", 0, "SHA", "PSK", "768MODPgr", 86400)])]))])))

    # Main Mode message 1 with two proposals, several transforms, kilobyte lifetime
    # and the vendor ids of NAT-T, DPD and XAUTH.
    t_aes = p1_transform("AES-CBC", 256, "SHA2-256", "PSK", "2048MODPgr", 28800)
    t_3des = (1, [("Encryption", "3DES-CBC"), ("Hash", "MD5"),
                  ("Authentication", "XAUTHInitPreShared"), ("GroupDesc", "1024MODPgr"),
                  ("GroupType", "MODP"), ("LifeType", "Kilobytes"), ("LifeDuration", 1000000),
                  ("LifeType", "Seconds"), ("LifeDuration", 3600)])
    t_rsa = (1, [("Encryption", "AES-CBC"), ("KeyLength", 128), ("Hash", "SHA"),
                 ("Authentication", "RSA Sig"), ("GroupDesc", "1536MODPgr")])
    vectors.append(("main1_multi", message(bytes.fromhex("0102030405060708"), rc, 2, 0, [
        (SA, sa([(1, 1, b"", [t_aes, t_3des]), (2, 1, b"", [t_rsa])])),
        (VID, ISAKMP_payload_VendorID(load=VID_RFC3947)),
        (VID, ISAKMP_payload_VendorID(load=VID_DRAFT02N)),
        (VID, ISAKMP_payload_VendorID(load=VID_DPD)),
        (VID, ISAKMP_payload_VendorID(load=VID_XAUTH))])))

    # Main Mode message 3: KE (group 2), NONCE, two NAT-D hashes.
    ic3, rc3 = bytes.fromhex("a1a2a3a4a5a6a7a8"), bytes.fromhex("b1b2b3b4b5b6b7b8")
    vectors.append(("main3_ke_nonce_natd", message(ic3, rc3, 2, 0, [
        (KE, ISAKMP_payload_KE(load=pattern(128, 1))),
        (NONCE, ISAKMP_payload_Nonce(load=pattern(32, 2))),
        (NATD, generic(pattern(20, 3))),
        (NATD, generic(pattern(20, 4)))])))

    # Aggressive Mode message 1: SA, KE, NONCE, ID (FQDN), VID.
    vectors.append(("aggr1_fqdn", message(bytes.fromhex("c1c2c3c4c5c6c7c8"), rc, 4, 0, [
        (SA, sa([(1, 1, b"", [p1_transform("AES-CBC", 128, "SHA", "PSK", "1024MODPgr", 86400)])])),
        (KE, ISAKMP_payload_KE(load=pattern(128, 5))),
        (NONCE, ISAKMP_payload_Nonce(load=pattern(16, 6))),
        (ID, ISAKMP_payload_ID(IDtype=2, ProtoID=17, Port=500, load=b"left.example.test")),
        (VID, ISAKMP_payload_VendorID(load=VID_RFC3947))])))

    # A Quick Mode body (as the crypto layer hands it over, decrypted): HASH, an SA with
    # an ESP proposal ANDed with IPComp (same proposal number), an AH alternative, NONCE,
    # KE (PFS), and the two phase-2 IDs (IPv4 subnets). Phase-2 attribute types are
    # numbers here (scapy's names are phase 1's).
    esp = (12, [(1, 1), (2, 3600), (1, 2), (2, 4608000), (4, 1), (5, 2), (6, 128), (3, 2)])
    esp_udp = (3, [(4, 3), (5, 1)])
    ipcomp = (3, [(1, 1), (2, 28800), (4, 1)])
    ah = (3, [(5, 2), (4, 2)])
    qm = message(ic3, rc3, 32, 0x11223344, [
        (HASH, ISAKMP_payload_Hash(load=pattern(20, 7))),
        (SA, sa([(1, 3, bytes.fromhex("c0ffee01"), [esp, esp_udp]),
                 (1, 4, bytes.fromhex("1234"), [ipcomp]),
                 (2, 2, bytes.fromhex("0badcafe"), [ah])])),
        (NONCE, ISAKMP_payload_Nonce(load=pattern(20, 8))),
        (KE, ISAKMP_payload_KE(load=pattern(96, 9))),
        (ID, ISAKMP_payload_ID(IDtype=4, load=bytes([10, 1, 0, 0, 255, 255, 255, 0]))),
        (ID, ISAKMP_payload_ID(IDtype=4, ProtoID=6, Port=80,
                               load=bytes([10, 2, 0, 0, 255, 255, 0, 0])))])
    vectors.append(("quick1_esp_ipcomp_ah", qm))

    # An Informational body: HASH, INITIAL-CONTACT (SPI = the cookies), DPD R-U-THERE,
    # a Delete of two ESP SPIs (RFC 2408 3.14, 3.15; RFC 3706).
    def notify(doi, proto, ntype, spi, data=b""):
        return struct.pack("!IBBH", doi, proto, len(spi), ntype) + spi + data
    cookies = ic3 + rc3
    vectors.append(("info_notify_delete", message(ic3, rc3, 5, 0x0a0b0c0d, [
        (HASH, ISAKMP_payload_Hash(load=pattern(20, 10))),
        (N, generic(notify(1, 1, 24578, cookies))),
        (N, generic(notify(1, 1, 36136, cookies, struct.pack("!I", 7)))),
        (D, generic(struct.pack("!IBBH", 1, 3, 4, 2) + bytes.fromhex("c0ffee01deadbeef")))])))

    # A Transaction (XAUTH) body: HASH and an attribute payload (REPLY) with the user
    # name, the password and the type (draft-beaulieu-ike-xauth-02 section 6).
    def attr_tlv(t, v):
        return struct.pack("!HH", t, len(v)) + v
    def attr_tv(t, v):
        return struct.pack("!HH", 0x8000 | t, v)
    cfg = struct.pack("!BBH", 2, 0, 0x4242) + attr_tv(16520, 0) + \
        attr_tlv(16521, b"user1") + attr_tlv(16522, b"pass-word-1")
    vectors.append(("xauth_reply", message(ic3, rc3, 6, 0x55667788, [
        (HASH, ISAKMP_payload_Hash(load=pattern(20, 11))),
        (ATTR, generic(cfg))])))

    # Main Mode message 5 body with certificates: ID (DER DN), CERT, CR, SIG, NAT-OA.
    vectors.append(("main5_cert_sig", message(ic3, rc3, 2, 0, [
        (ID, ISAKMP_payload_ID(IDtype=9, load=pattern(40, 12))),
        (CERT, generic(b"\x04" + pattern(300, 13))),
        (CR, generic(b"\x04")),
        (SIG, generic(pattern(128, 14))),
        (NATOA, generic(bytes([1, 0, 0, 0, 192, 168, 1, 2])))])))

    out = sys.stdout
    out.write("// Generated by tests/unit/ike/make_codec_vectors.py (scapy %s); do not edit.\n"
              % __import__("scapy").__version__)
    out.write("// ISAKMP messages built by scapy and the fields scapy dissects from them.\n")
    out.write("// clang-format off\n")
    for name, pkt in vectors:
        data = fix_proposal_lengths(bytes(pkt))
        head, lines = summarize(data)
        out.write("{\"%s\",\n" % name)
        out.write("  \"%s\",\n" % data.hex())
        out.write("  \"%s\", \"%s\", %d, 0x%02x, 0x%08xu, %du,\n" % (
            head["icookie"], head["rcookie"], head["exchange"], head["version"],
            head["msgid"], head["length"]))
        out.write("  {\n")
        for l in lines:
            out.write("    \"%s\",\n" % l)
        out.write("  }},\n")
    out.write("// clang-format on\n")


if __name__ == "__main__":
    main()
