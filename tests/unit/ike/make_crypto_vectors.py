#!/usr/bin/python3
"""Writes crypto_vectors.inc: known answers for control/ike/ike_crypto and ike_rsa.

The values come from an implementation independent of ours: Python's hmac/hashlib for
every prf and hash, Python's pow() for Diffie-Hellman over MODP primes derived here from
pi (RFC 2409 6.1/6.2, RFC 3526: p = 2^n - 2^(n-64) - 1 + 2^64 * (floor(2^(n-130) pi) + k)),
the `cryptography` package for CBC, and textbook RSA (pow with the private exponent over
the PKCS#1 v1.5 type 1 block) for IKEv1 signatures, cross-checked with `openssl pkeyutl`
and verified with cryptography's recover_data_from_signature.

The RFC 2409 formulas are written out below from the RFC text, one function each.
The test keys and certificates under data/ are made with the openssl CLI the first time
(they are committed; delete them to make new ones, then rerun this script).

Usage: /usr/bin/python3 tests/unit/ike/make_crypto_vectors.py   (from anywhere)
"""

import hashlib
import hmac
import os
import subprocess
import sys
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
OUT = os.path.join(HERE, "crypto_vectors.inc")

# ---------------------------------------------------------------- MODP groups from pi


def pi_fixed(bits):
    """floor(pi * 2^bits), by Machin's formula with guard bits."""
    guard = 64
    one = 1 << (bits + guard)

    def atan_inv(x):
        total = term = one // x
        x2, n, sign = x * x, 1, -1
        while term:
            term //= x2
            total += sign * (term // (2 * n + 1))
            sign, n = -sign, n + 1
        return total

    return (16 * atan_inv(5) - 4 * atan_inv(239)) >> guard


# group: (bits, k) from RFC 2409 6.1/6.2 and RFC 3526 sections 2-7
MODP_DEF = {1: (768, 149686), 2: (1024, 129093), 5: (1536, 741804), 14: (2048, 124476),
            15: (3072, 1690314), 16: (4096, 240904), 17: (6144, 929484),
            18: (8192, 4743158)}


def modp_prime(group):
    n, k = MODP_DEF[group]
    return 2**n - 2**(n - 64) - 1 + 2**64 * (pi_fixed(n - 130) + k)


PRIMES = {g: modp_prime(g) for g in MODP_DEF}
# RFC 3526 first and last 64 bits are all ones; spot-check the well-known 768-bit value.
assert hex(PRIMES[1]).startswith("0xffffffffffffffffc90fdaa22168c234")
assert hex(PRIMES[1]).endswith("a63a3620ffffffffffffffff")


def dh_len(group):
    return MODP_DEF[group][0] // 8


def dh_pub(group, x):
    return pow(2, int.from_bytes(x, "big"), PRIMES[group]).to_bytes(dh_len(group), "big")


def dh_shared(group, x, peer):
    y = int.from_bytes(peer, "big")
    return pow(y, int.from_bytes(x, "big"), PRIMES[group]).to_bytes(dh_len(group), "big")


# ---------------------------------------------------------------- RFC 2409 formulas

HASHES = ["md5", "sha1", "sha256", "sha384", "sha512"]   # order of PrfHash
CIPHERS = ["des", "3des", "aes"]                          # order of P1Cipher


def H(h, data):
    return hashlib.new(h, data).digest()


def prf(h, key, data):
    return hmac.new(key, data, h).digest()


def cky(v):
    return v.to_bytes(8, "big")


def key_len(cipher, key_bits):
    return {"des": 8, "3des": 24}.get(cipher, key_bits // 8)


def block_len(cipher):
    return 16 if cipher == "aes" else 8


def phase1(h, cipher, key_bits, skeyid, gxy, ci, cr):
    d = prf(h, skeyid, gxy + cky(ci) + cky(cr) + b"\x00")
    a = prf(h, skeyid, d + gxy + cky(ci) + cky(cr) + b"\x01")
    e = prf(h, skeyid, a + gxy + cky(ci) + cky(cr) + b"\x02")
    need = key_len(cipher, key_bits)
    if len(e) >= need:
        enc = e[:need]
    else:   # appendix B: K1 = prf(SKEYID_e, 0), Kn = prf(SKEYID_e, Kn-1)
        k = prf(h, e, b"\x00")
        enc = k
        while len(enc) < need:
            k = prf(h, e, k)
            enc += k
        enc = enc[:need]
    return d, a, e, enc


def keymat(h, skeyid_d, gxy_qm, proto, spi, ni, nr, n):
    seed = gxy_qm + bytes([proto]) + spi + ni + nr
    k = prf(h, skeyid_d, seed)
    out = k
    while len(out) < n:
        k = prf(h, skeyid_d, k + seed)
        out += k
    return out[:n]


def cbc_encrypt(cipher, key, iv, plain):
    bl = block_len(cipher)
    padded = plain + b"\x00" * (-len(plain) % bl)
    if cipher == "aes":
        alg = algorithms.AES(key)
    else:   # single DES is TripleDES with K1 = K2 = K3
        alg = algorithms.TripleDES(key * 3 if len(key) == 8 else key)
    enc = Cipher(alg, modes.CBC(iv)).encryptor()
    return enc.update(padded) + enc.finalize()


# ---------------------------------------------------------------- fixed inputs


def fixed(label, n):
    """Deterministic, arbitrary-looking bytes: SHA-512 in counter mode over a label."""
    out, i = b"", 0
    while len(out) < n:
        out += hashlib.sha512(f"arsec-ike-vector:{label}:{i}".encode()).digest()
        i += 1
    return out[:n]


def priv_value(label, bits):
    x = bytearray(fixed(label, (bits + 7) // 8))
    x[0] |= 0x80
    return bytes(x)


PHASE1_CASES = [
    # name, hash, cipher, key_bits, group, auth, keymat length
    ("md5_des_g1_psk", "md5", "des", 0, 1, "psk", 36),
    ("sha1_3des_g2_psk", "sha1", "3des", 0, 2, "psk", 52),        # 3DES key needs appendix B
    ("sha1_aes256_g14_psk", "sha1", "aes", 256, 14, "psk", 52),   # two expansion rounds
    ("md5_aes256_g2_psk", "md5", "aes", 256, 2, "psk", 40),
    ("sha256_aes128_g14_sig", "sha256", "aes", 128, 14, "sig", 52),
    ("sha1_aes128_g2_sig", "sha1", "aes", 128, 2, "sig", 36),
    ("sha512_aes192_g5_psk", "sha512", "aes", 192, 5, "psk", 96),
    ("sha384_3des_g1_psk", "sha384", "3des", 0, 1, "psk", 72),
]


def make_phase1(case):
    name, h, cipher, key_bits, group, auth, km_len = case
    f = lambda what, n: fixed(f"{name}:{what}", n)
    v = {"name": name, "hash": HASHES.index(h), "cipher": CIPHERS.index(cipher),
         "key_bits": key_bits, "group": group, "sig_auth": auth == "sig"}
    psk = f"psk-{name}".encode() if auth == "psk" else b""
    ni, nr = f("ni", 16), f("nr", 20)
    xi, xr = priv_value(f"{name}:xi", 256), priv_value(f"{name}:xr", 256)
    ci = int.from_bytes(f("ci", 8), "big")
    cr = int.from_bytes(f("cr", 8), "big")
    sai_b = bytes.fromhex("00000001000000010000002c01010001") + f("sa", 36)
    idii_b = bytes.fromhex("01000000c0000201")    # ID_IPV4_ADDR 192.0.2.1
    idir_b = bytes.fromhex("01000000c6336402")    # ID_IPV4_ADDR 198.51.100.2
    gxi, gxr = dh_pub(group, xi), dh_pub(group, xr)
    gxy = dh_shared(group, xi, gxr)
    assert gxy == dh_shared(group, xr, gxi)
    if auth == "psk":
        skeyid = prf(h, psk, ni + nr)
    else:
        skeyid = prf(h, ni + nr, gxy)
    d, a, e, enc = phase1(h, cipher, key_bits, skeyid, gxy, ci, cr)
    bl = block_len(cipher)
    iv1 = H(h, gxi + gxr)[:bl]
    hash_i = prf(h, skeyid, gxi + gxr + cky(ci) + cky(cr) + sai_b + idii_b)
    hash_r = prf(h, skeyid, gxr + gxi + cky(cr) + cky(ci) + sai_b + idir_b)
    last_block = f("last", bl)
    mid = int.from_bytes(f("mid", 4), "big")
    iv2 = H(h, last_block + mid.to_bytes(4, "big"))[:bl]
    # Quick Mode: payload chains after the HASH payload (any bytes will do for a prf).
    qni, qnr = f("qni", 16), f("qnr", 24)
    rest1, rest2 = f("rest1", 120), f("rest2", 100)
    mid_b = mid.to_bytes(4, "big")
    qm1 = prf(h, a, mid_b + rest1)
    qm2 = prf(h, a, mid_b + qni + rest2)
    qm3 = prf(h, a, b"\x00" + mid_b + qni + qnr)
    spi = f("spi", 4)
    km = keymat(h, d, b"", 3, spi, qni, qnr, km_len)
    pxi, pxr = priv_value(f"{name}:pxi", 256), priv_value(f"{name}:pxr", 256)
    pgxy = dh_shared(group, pxi, dh_pub(group, pxr))
    km_pfs = keymat(h, d, pgxy, 3, spi, qni, qnr, km_len)
    nat_ip, nat_port = 0xC0000201, 4500
    natd = H(h, cky(ci) + cky(cr) + nat_ip.to_bytes(4, "big") + nat_port.to_bytes(2, "big"))
    v.update(psk=psk, ni=ni, nr=nr, xi=xi, xr=xr, icookie=ci, rcookie=cr, sai_b=sai_b,
             idii_b=idii_b, idir_b=idir_b, gxi=gxi, gxr=gxr, gxy=gxy, skeyid=skeyid,
             skeyid_d=d, skeyid_a=a, skeyid_e=e, enc_key=enc, iv1=iv1, hash_i=hash_i,
             hash_r=hash_r, last_block=last_block, msg_id=mid, iv2=iv2, qm_ni=qni,
             qm_nr=qnr, qm_rest1=rest1, qm_rest2=rest2, qm_hash1=qm1, qm_hash2=qm2,
             qm_hash3=qm3, protocol=3, spi=spi, keymat_len=km_len, keymat=km,
             pfs_xi=pxi, pfs_xr=pxr, pfs_gxy=pgxy, keymat_pfs=km_pfs, natd_ip=nat_ip,
             natd_port=nat_port, natd=natd)
    return v


def make_cbc():
    out = []
    for name, cipher, klen, plen in [("des_pad", "des", 8, 37), ("des_exact", "des", 8, 48),
                                     ("3des_pad", "3des", 24, 61),
                                     ("aes128_pad", "aes", 16, 70),
                                     ("aes192_exact", "aes", 24, 64),
                                     ("aes256_pad", "aes", 32, 1)]:
        key, iv, plain = fixed(f"cbc:{name}:key", klen), fixed(f"cbc:{name}:iv",
                                                                block_len(cipher)), fixed(
            f"cbc:{name}:plain", plen)
        out.append({"name": name, "cipher": CIPHERS.index(cipher), "key": key, "iv": iv,
                    "plain": plain, "cipher_text": cbc_encrypt(cipher, key, iv, plain)})
    return out


def make_dh_groups():
    out = []
    for g in sorted(MODP_DEF):
        x = priv_value(f"group{g}:x", 320)
        out.append({"group": g, "prime": PRIMES[g].to_bytes(dh_len(g), "big"), "x": x,
                    "gx": dh_pub(g, x)})
    return out


# ---------------------------------------------------------------- RSA test data


def openssl(*args):
    r = subprocess.run(["openssl", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed: {r.stderr}")


def ensure_rsa_files():
    """Test-only keys and certificates (committed). Made once; kept stable afterwards."""
    os.makedirs(DATA, exist_ok=True)
    p = lambda n: os.path.join(DATA, n)
    if os.path.exists(p("rsa-peer-cert.pem")):
        return
    days = "36500"
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
            "-out", p("rsa-ca-key.pem"))
    openssl("req", "-x509", "-new", "-key", p("rsa-ca-key.pem"), "-days", days,
            "-subj", "/C=JP/O=arsec test/CN=arsec test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", p("rsa-ca-cert.pem"))
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
            "-out", p("rsa-peer-key.pem"))
    with tempfile.TemporaryDirectory() as tmp:
        csr, ext = os.path.join(tmp, "peer.csr"), os.path.join(tmp, "ext.cnf")
        with open(ext, "w") as fh:
            fh.write("basicConstraints=CA:FALSE\n"
                     "keyUsage=critical,digitalSignature,keyEncipherment\n"
                     "subjectAltName=DNS:gw-a.example.test,email:gw-a@example.test,"
                     "IP:192.0.2.1\n")
        openssl("req", "-new", "-key", p("rsa-peer-key.pem"),
                "-subj", "/C=JP/O=arsec test/OU=vpn/CN=gw-a", "-out", csr)
        openssl("x509", "-req", "-in", csr, "-CA", p("rsa-ca-cert.pem"), "-CAkey",
                p("rsa-ca-key.pem"), "-set_serial", "2", "-days", days, "-extfile", ext,
                "-out", p("rsa-peer-cert.pem"))
    openssl("x509", "-in", p("rsa-peer-cert.pem"), "-outform", "DER",
            "-out", p("rsa-peer-cert.der"))
    # A self-signed certificate that the test CA did not issue.
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
            p("rsa-self-key.pem"), "-days", days, "-subj", "/C=JP/O=other/CN=self-signed",
            "-out", p("rsa-self-cert.pem"))
    # The peer key under a passphrase (refused: the daemon never prompts), and a key
    # below the 1024-bit minimum.
    openssl("pkey", "-in", p("rsa-peer-key.pem"), "-aes256", "-passout", "pass:test",
            "-out", p("rsa-peer-key-encrypted.pem"))
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:768",
            "-out", p("rsa-small-key.pem"))


def emsa_type1(h, k):
    return b"\x00\x01" + b"\xff" * (k - 3 - len(h)) + b"\x00" + h


def rsa_sign_raw(key, h):
    n = key.private_numbers()
    k = (n.public_numbers.n.bit_length() + 7) // 8
    m = int.from_bytes(emsa_type1(h, k), "big")
    return pow(m, n.d, n.public_numbers.n).to_bytes(k, "big")


def make_rsa():
    ensure_rsa_files()
    p = lambda n: os.path.join(DATA, n)
    with open(p("rsa-peer-key.pem"), "rb") as fh:
        key = serialization.load_pem_private_key(fh.read(), None)
    with open(p("rsa-peer-cert.pem"), "rb") as fh:
        cert = x509.load_pem_x509_certificate(fh.read())
    with open(p("rsa-peer-cert.der"), "rb") as fh:
        assert fh.read() == cert.public_bytes(serialization.Encoding.DER)
    pub = cert.public_key()
    assert pub.public_numbers() == key.public_key().public_numbers()
    out = {"hashes": [], "subject_der": cert.subject.public_bytes(),
           "subject_text": ", ".join(f"{a.rfc4514_attribute_name}={a.value}"
                                     for a in cert.subject),
           "spki": pub.public_bytes(serialization.Encoding.DER,
                                    serialization.PublicFormat.SubjectPublicKeyInfo)}
    for label, n in [("md5", 16), ("sha1", 20), ("sha256", 32), ("sha512", 64)]:
        h = fixed(f"rsa:{label}", n)
        sig = rsa_sign_raw(key, h)
        # Independent checks: cryptography recovers exactly h (PKCS#1 v1.5, no DigestInfo),
        # and `openssl pkeyutl -sign` without a digest makes the same bytes.
        assert pub.recover_data_from_signature(sig, padding.PKCS1v15(), None) == h
        with tempfile.TemporaryDirectory() as tmp:
            hin, sout = os.path.join(tmp, "h"), os.path.join(tmp, "s")
            with open(hin, "wb") as fh:
                fh.write(h)
            openssl("pkeyutl", "-sign", "-inkey", p("rsa-peer-key.pem"), "-pkeyopt",
                    "rsa_padding_mode:pkcs1", "-in", hin, "-out", sout)
            with open(sout, "rb") as fh:
                assert fh.read() == sig, "openssl pkeyutl disagrees"
        out["hashes"].append({"hash": h, "sig": sig})
    return out


# ---------------------------------------------------------------- strongSwan capture
#
# crypto_strongswan_capture.txt: two strongSwan 5.9.8 peers (shared/peers harness,
# --debug 4) ran IKEv1 Main Mode with PSK "ikc-s3cret", AES-128-CBC, SHA1, MODP 1024 and
# Quick Mode with PFS (MODP 1024). It holds the initiator's level-4 dumps (g^xy, SKEYID*,
# Ka, IVs, HASH_I/HASH_R, Hash(1)/(2), the QM DH secret and SA seeds, the ESP keys) and the
# nine UDP payloads. The nonces and KE values come from the packets; everything below is
# recomputed here and must equal strongSwan's numbers before it becomes a vector.

CAPTURE = os.path.join(HERE, "crypto_strongswan_capture.txt")
SS_PSK = b"ikc-s3cret"


def parse_capture():
    dumps, packets, cur = [], [], None
    for line in open(CAPTURE):
        line = line.rstrip("\n")
        if line.startswith("packet "):
            packets.append(bytes.fromhex(line.split()[2]))
        elif " => " in line:
            cur = [line.split("> ", 1)[1].split(" => ")[0], b""]
            dumps.append(cur)
        elif cur is not None and ": " in line and not line.startswith("#"):
            hexpart = line.split(": ", 1)[1][:48]
            cur[1] += bytes.fromhex(hexpart.replace(" ", ""))
    return dumps, packets


def dump(dumps, label, nth=0):
    return [d for l, d in dumps if l == label][nth]


def payloads(first, chain):
    """(type, body) for each payload of an ISAKMP chain; stops at next payload 0."""
    out, t, off = [], first, 0
    while t != 0:
        nxt, length = chain[off], int.from_bytes(chain[off + 2:off + 4], "big")
        out.append((t, chain[off + 4:off + length], off, off + length))
        t, off = nxt, off + length
    return out


def aes_cbc_decrypt(key, iv, data):
    d = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return d.update(data) + d.finalize()


def make_strongswan():
    dumps, pk = parse_capture()
    pk = [p[4:] if p[:4] == b"\0\0\0\0" else p for p in pk]   # non-ESP marker on 4500
    h = "sha1"
    ci, cr = int.from_bytes(pk[0][0:8], "big"), int.from_bytes(pk[1][8:16], "big")
    sa = dict((t, b) for t, b, *_ in payloads(pk[0][16], pk[0][28:]))
    sai_b = sa[1]
    m3 = dict((t, b) for t, b, *_ in payloads(pk[2][16], pk[2][28:]))
    m4 = dict((t, b) for t, b, *_ in payloads(pk[3][16], pk[3][28:]))
    gxi, ni, gxr, nr = m3[4], m3[10], m4[4], m4[10]
    gxy = dump(dumps, "shared Diffie Hellman secret")
    skeyid = prf(h, SS_PSK, ni + nr)
    d, a, e, ka = phase1(h, "aes", 128, skeyid, gxy, ci, cr)
    assert skeyid == dump(dumps, "SKEYID") and d == dump(dumps, "SKEYID_d")
    assert a == dump(dumps, "SKEYID_a") and e == dump(dumps, "SKEYID_e")
    assert ka == dump(dumps, "encryption key Ka")
    iv1 = H(h, gxi + gxr)[:16]
    assert iv1 == dump(dumps, "initial IV")
    # Message 5 (ID, HASH_I, N) and 6 (ID, HASH_R), encrypted.
    body5, body6 = pk[4][28:], pk[5][28:]
    pl5 = payloads(pk[4][16], aes_cbc_decrypt(ka, iv1, body5))
    pl6 = payloads(pk[5][16], aes_cbc_decrypt(ka, body5[-16:], body6))
    idii_b, idir_b = pl5[0][1], pl6[0][1]
    hash_i = prf(h, skeyid, gxi + gxr + cky(ci) + cky(cr) + sai_b + idii_b)
    hash_r = prf(h, skeyid, gxr + gxi + cky(cr) + cky(ci) + sai_b + idir_b)
    assert hash_i == dump(dumps, "HASH_I") == pl5[1][1]
    assert hash_r == dump(dumps, "HASH_R") == pl6[1][1]
    last_p1 = body6[-16:]
    # Quick Mode message 1 (HASH SA No KE ID ID) and 2, and the informational after it.
    mid7 = int.from_bytes(pk[6][20:24], "big")
    iv_qm = H(h, last_p1 + mid7.to_bytes(4, "big"))[:16]
    assert iv_qm == dump(dumps, f"next IV for MID {mid7}", 0)
    body7, body8 = pk[6][28:], pk[7][28:]
    assert body7[-16:] == dump(dumps, f"next IV for MID {mid7}", 1)
    p7 = aes_cbc_decrypt(ka, iv_qm, body7)
    pl7 = payloads(pk[6][16], p7)
    rest7 = p7[pl7[0][3]:pl7[-1][3]]
    qni = [b for t, b, *_ in pl7 if t == 10][0]
    mid_b = mid7.to_bytes(4, "big")
    hash1 = prf(h, a, mid_b + rest7)
    assert hash1 == dump(dumps, "Hash(1)") == pl7[0][1]
    p8 = aes_cbc_decrypt(ka, body7[-16:], body8)
    pl8 = payloads(pk[7][16], p8)
    rest8 = p8[pl8[0][3]:pl8[-1][3]]
    qnr = [b for t, b, *_ in pl8 if t == 10][0]
    hash2 = prf(h, a, mid_b + qni + rest8)
    assert hash2 == dump(dumps, "Hash(2)") == pl8[0][1]
    assert body8[-16:] == dump(dumps, f"next IV for MID {mid7}", 2)
    mid9 = int.from_bytes(pk[8][20:24], "big")
    body9 = pk[8][28:]
    p9 = aes_cbc_decrypt(ka, H(h, last_p1 + mid9.to_bytes(4, "big"))[:16], body9)
    pl9 = payloads(pk[8][16], p9)
    hash9 = prf(h, a, mid9.to_bytes(4, "big") + p9[pl9[0][3]:pl9[-1][3]])
    assert hash9 == dump(dumps, "Hash") == pl9[0][1]
    # KEYMAT with PFS: the seed strongSwan logs is g(qm)^xy | protocol | SPI | Ni_b | Nr_b.
    gxy_qm = dump(dumps, "DH secret")
    seed_i, seed_r = dump(dumps, "initiator SA seed"), dump(dumps, "responder SA seed")
    spi_i, spi_r = seed_i[len(gxy_qm) + 1:len(gxy_qm) + 5], seed_r[len(gxy_qm) + 1:len(gxy_qm) + 5]
    assert seed_i == gxy_qm + b"\x03" + spi_i + qni + qnr
    km_i = keymat(h, d, gxy_qm, 3, spi_i, qni, qnr, 36)
    km_r = keymat(h, d, gxy_qm, 3, spi_r, qni, qnr, 36)
    assert km_i == dump(dumps, "encryption initiator key") + dump(dumps, "integrity initiator key")
    assert km_r == dump(dumps, "encryption responder key") + dump(dumps, "integrity responder key")
    # NAT-D: strongSwan logs the hashed chunk (CKY-I | CKY-R | IP | port) and the hash.
    natd = []
    for i in range(len([l for l, _ in dumps if l == "natd_chunk"])):
        chunk, hsh = dump(dumps, "natd_chunk", i), dump(dumps, "natd_hash", i)
        assert H(h, chunk) == hsh and chunk[:16] == cky(ci) + cky(cr)
        natd.append((int.from_bytes(chunk[16:20], "big"), int.from_bytes(chunk[20:22], "big"),
                     hsh))
    return {"psk": SS_PSK, "icookie": ci, "rcookie": cr, "sai_b": sai_b, "ni": ni, "nr": nr,
            "gxi": gxi, "gxr": gxr, "gxy": gxy, "skeyid": skeyid, "skeyid_d": d,
            "skeyid_a": a, "skeyid_e": e, "enc_key": ka, "iv1": iv1,
            "msg5_next": pk[4][16], "msg5": body5, "msg6_next": pk[5][16], "msg6": body6,
            "hash_i": hash_i, "hash_r": hash_r, "qm_mid": mid7, "qm_iv": iv_qm,
            "qm1_next": pk[6][16], "qm1": body7, "qm2_next": pk[7][16], "qm2": body8,
            "qm_hash1": hash1, "qm_hash2": hash2, "info_mid": mid9,
            "info_next": pk[8][16], "info": body9, "info_hash": hash9, "pfs_gxy": gxy_qm,
            "spi_i": spi_i, "spi_r": spi_r, "keymat_i": km_i, "keymat_r": km_r,
            "natd_ip": natd[0][0], "natd_port": natd[0][1], "natd": natd[0][2]}


# ---------------------------------------------------------------- output


def hexs(b, indent=8):
    """A C string literal of hex, split into adjacent literals of 96 digits."""
    h = b.hex()
    parts = [h[i:i + 96] for i in range(0, len(h), 96)] or [""]
    return ("\n" + " " * indent).join(f'"{x}"' for x in parts)


def field(k, v):
    if isinstance(v, bool):
        return f".{k} = {'true' if v else 'false'}"
    if isinstance(v, int):
        return f".{k} = {v:#x}u" if k in ("icookie", "rcookie", "msg_id", "natd_ip", "qm_mid",
                                                       "info_mid") else \
            f".{k} = {v}"
    if isinstance(v, bytes):
        return f".{k} = {hexs(v)}"
    return f'.{k} = "{v}"'


def main():
    p1 = [make_phase1(c) for c in PHASE1_CASES]
    cbc = make_cbc()
    groups = make_dh_groups()
    rsa = make_rsa()
    ss = make_strongswan()
    L = []
    w = L.append
    w("// Generated by tests/unit/ike/make_crypto_vectors.py: do not edit; rerun it.")
    w("// Independent known answers for control/ike/ike_crypto and ike_rsa (hex strings).")
    w("#pragma once")
    w("")
    w("#include <cstddef>")
    w("#include <cstdint>")
    w("")
    w("namespace arsec::ike::vectors {")
    w("")
    w("struct Phase1Vector {")
    w("  const char* name;")
    w("  int hash, cipher, key_bits, group;   // PrfHash, P1Cipher as integers")
    w("  bool sig_auth;                      // SKEYID for signatures, else pre-shared key")
    for k in ["psk", "ni", "nr", "xi", "xr"]:
        w(f"  const char* {k};")
    w("  uint64_t icookie, rcookie;")
    for k in ["sai_b", "idii_b", "idir_b", "gxi", "gxr", "gxy", "skeyid", "skeyid_d",
              "skeyid_a", "skeyid_e", "enc_key", "iv1", "hash_i", "hash_r", "last_block"]:
        w(f"  const char* {k};")
    w("  uint32_t msg_id;")
    for k in ["iv2", "qm_ni", "qm_nr", "qm_rest1", "qm_rest2", "qm_hash1", "qm_hash2",
              "qm_hash3"]:
        w(f"  const char* {k};")
    w("  uint8_t protocol;")
    w("  const char* spi;")
    w("  size_t keymat_len;")
    for k in ["keymat", "pfs_xi", "pfs_xr", "pfs_gxy", "keymat_pfs"]:
        w(f"  const char* {k};")
    w("  uint32_t natd_ip;")
    w("  uint16_t natd_port;")
    w("  const char* natd;")
    w("};")
    w("")
    w("inline const Phase1Vector kPhase1[] = {")
    for v in p1:
        w("    {" + ",\n     ".join(field(k, x) for k, x in v.items()) + "},")
    w("};")
    w("")
    w("struct CbcVector {")
    w("  const char* name;")
    w("  int cipher;")
    w("  const char *key, *iv, *plain, *cipher_text;   // plain before zero padding")
    w("};")
    w("inline const CbcVector kCbc[] = {")
    for v in cbc:
        w("    {" + ",\n     ".join(field(k, x) for k, x in v.items()) + "},")
    w("};")
    w("")
    w("// The MODP primes as derived from pi, and 2^x mod p for a 320-bit x.")
    w("struct DhGroupVector {")
    w("  int group;")
    w("  const char *prime, *x, *gx;")
    w("};")
    w("inline const DhGroupVector kDhGroups[] = {")
    for v in groups:
        w("    {" + ",\n     ".join(field(k, x) for k, x in v.items()) + "},")
    w("};")
    w("")
    w("// RSA: data/rsa-peer-key.pem signs `hash` as IKEv1 does (type 1, no DigestInfo).")
    w("struct RsaVector {")
    w("  const char *hash, *sig;")
    w("};")
    w("inline const RsaVector kRsaSigs[] = {")
    for v in rsa["hashes"]:
        w(f"    {{{hexs(v['hash'])},\n     {hexs(v['sig'])}}},")
    w("};")
    w(f"inline constexpr char kRsaPeerSubjectDer[] = {hexs(rsa['subject_der'])};")
    w(f"inline constexpr char kRsaPeerSubjectText[] = \"{rsa['subject_text']}\";")
    w(f"inline constexpr char kRsaPeerSpki[] = {hexs(rsa['spki'])};")
    w("")
    w("// strongSwan 5.9.8's own IKEv1 exchange (crypto_strongswan_capture.txt): AES-128,")
    w("// SHA1, MODP 1024, PSK; Quick Mode with PFS. Expected values are strongSwan's.")
    w("// msgN: the encrypted body after the ISAKMP header; *_next: its first payload type.")
    w("struct StrongswanVector {")
    for k, x in ss.items():
        t = "uint64_t" if k in ("icookie", "rcookie") else "uint32_t" if k in (
            "qm_mid", "info_mid", "natd_ip") else "int" if isinstance(x, int) else "const char*"
        w(f"  {t} {k};")
    w("};")
    w("inline const StrongswanVector kStrongswan = {")
    w("    " + ",\n    ".join(field(k, x) for k, x in ss.items()) + "};")
    w("")
    w("}  // namespace arsec::ike::vectors")
    with open(OUT, "w") as fh:
        fh.write("\n".join(L) + "\n")
    print(f"wrote {OUT}: {len(p1)} phase 1 cases, {len(cbc)} CBC, {len(groups)} groups, "
          f"{len(rsa['hashes'])} RSA signatures")


if __name__ == "__main__":
    sys.exit(main())
