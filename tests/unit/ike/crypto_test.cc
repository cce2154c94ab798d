// control/ike/ike_crypto against independent answers: crypto_vectors.inc (written by
// make_crypto_vectors.py from Python's hmac/hashlib/pow and the `cryptography` package),
// OpenSSL's own copies of the RFC 2409/3526 primes, published HMAC and DES known answers
// (RFC 2202, RFC 4231, FIPS 81), and the error cases of the DH and CBC entry points.
#include "control/ike/ike_crypto.h"

#include <openssl/bn.h>

#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/unit/ike/crypto_vectors.inc"

namespace arsec::ike {
namespace {

Bytes FromHex(const char* h) {
  Bytes out;
  std::string s(h);
  for (size_t i = 0; i + 1 < s.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(s.substr(i, 2), nullptr, 16)));
  return out;
}

std::string ToHex(ByteSpan b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (uint8_t c : b) {
    s.push_back(d[c >> 4]);
    s.push_back(d[c & 15]);
  }
  return s;
}

Bytes Str(const char* s) { return Bytes(s, s + std::char_traits<char>::length(s)); }

// First in the file so that it runs before anything has loaded the providers: several
// threads race into the one-time provider load and cipher fetch.
TEST(IkeCryptoInit, ConcurrentFirstUseIsSafe) {
  const Bytes key(8, 0x11), iv(8, 0x22), plain(24, 0x33);
  std::vector<std::thread> threads;
  std::vector<std::string> results(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      P1Cipher c = t % 2 == 0 ? P1Cipher::kDes : P1Cipher::k3Des;
      Bytes k = c == P1Cipher::kDes ? key : Bytes(24, 0x11);
      absl::StatusOr<Bytes> ct = CbcEncrypt(c, k, iv, plain, nullptr);
      results[t] = ct.ok() ? ToHex(*ct) : std::string(ct.status().message());
    });
  }
  for (auto& th : threads) th.join();
  // DES with K and 3DES with K|K|K are the same cipher.
  for (const std::string& r : results) EXPECT_EQ(r, results[0]);
  EXPECT_EQ(results[0].size(), 48u);
}

TEST(IkeCrypto, Lengths) {
  EXPECT_EQ(HashLen(PrfHash::kMd5), 16u);
  EXPECT_EQ(HashLen(PrfHash::kSha1), 20u);
  EXPECT_EQ(HashLen(PrfHash::kSha256), 32u);
  EXPECT_EQ(HashLen(PrfHash::kSha384), 48u);
  EXPECT_EQ(HashLen(PrfHash::kSha512), 64u);
  EXPECT_EQ(BlockLen(P1Cipher::kDes), 8u);
  EXPECT_EQ(BlockLen(P1Cipher::k3Des), 8u);
  EXPECT_EQ(BlockLen(P1Cipher::kAesCbc), 16u);
  EXPECT_EQ(CipherKeyLen(P1Cipher::kDes, 0), 8u);
  EXPECT_EQ(CipherKeyLen(P1Cipher::k3Des, 0), 24u);
  EXPECT_EQ(CipherKeyLen(P1Cipher::kAesCbc, 128), 16u);
  EXPECT_EQ(CipherKeyLen(P1Cipher::kAesCbc, 192), 24u);
  EXPECT_EQ(CipherKeyLen(P1Cipher::kAesCbc, 256), 32u);
  EXPECT_EQ(CipherKeyLen(P1Cipher::kAesCbc, 100), 0u);
  EXPECT_EQ(DhLen(1), 96u);
  EXPECT_EQ(DhLen(2), 128u);
  EXPECT_EQ(DhLen(5), 192u);
  EXPECT_EQ(DhLen(14), 256u);
  EXPECT_EQ(DhLen(18), 1024u);
  EXPECT_EQ(DhLen(3), 0u);
}

// Published known answers for the prf and hash (RFC 2202 / RFC 4231 test case 2, FIPS 180).
TEST(IkeCrypto, PrfAndHashKnownAnswers) {
  const Bytes key = Str("Jefe"), data = Str("what do ya want for nothing?");
  EXPECT_EQ(ToHex(Prf(PrfHash::kMd5, key, data)), "750c783e6ab0b503eaa86e310a5db738");
  EXPECT_EQ(ToHex(Prf(PrfHash::kSha1, key, data)),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  EXPECT_EQ(ToHex(Prf(PrfHash::kSha256, key, data)),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(ToHex(Prf(PrfHash::kSha384, key, data)),
            "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
            "8e2240ca5e69e2c78b3239ecfab21649");
  EXPECT_EQ(ToHex(Prf(PrfHash::kSha512, key, data)),
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
            "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737");
  // PrfParts is the prf of the concatenation, however it is split.
  EXPECT_EQ(PrfParts(PrfHash::kSha1, key, {Str("what do "), Str(""), Str("ya want for nothing?")}),
            Prf(PrfHash::kSha1, key, data));
  EXPECT_EQ(ToHex(Hash(PrfHash::kSha1, Str("abc"))), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(ToHex(Hash(PrfHash::kMd5, Str("abc"))), "900150983cd24fb0d6963f7d28e17f72");
}

// FIPS 81 appendix C, CBC mode example.
TEST(IkeCrypto, DesCbcFips81) {
  const Bytes key = FromHex("0123456789abcdef"), iv = FromHex("1234567890abcdef");
  const Bytes plain = Str("Now is the time for all ");
  Bytes next;
  absl::StatusOr<Bytes> ct = CbcEncrypt(P1Cipher::kDes, key, iv, plain, &next);
  ASSERT_TRUE(ct.ok()) << ct.status();
  EXPECT_EQ(ToHex(*ct), "e5c7cdde872bf27c43e934008c389c0f683788499a7c05f6");
  EXPECT_EQ(ToHex(next), "683788499a7c05f6");
}

TEST(IkeCrypto, CbcVectors) {
  for (const auto& v : vectors::kCbc) {
    SCOPED_TRACE(v.name);
    const auto c = static_cast<P1Cipher>(v.cipher);
    const Bytes key = FromHex(v.key), iv = FromHex(v.iv), plain = FromHex(v.plain);
    const Bytes expect = FromHex(v.cipher_text);
    const size_t bl = BlockLen(c);
    Bytes next;
    absl::StatusOr<Bytes> ct = CbcEncrypt(c, key, iv, plain, &next);
    ASSERT_TRUE(ct.ok()) << ct.status();
    EXPECT_EQ(ToHex(*ct), ToHex(expect));
    EXPECT_EQ(next, Bytes(expect.end() - bl, expect.end()));

    Bytes next_d;
    absl::StatusOr<Bytes> pt = CbcDecrypt(c, key, iv, expect, &next_d);
    ASSERT_TRUE(pt.ok()) << pt.status();
    Bytes padded = plain;
    padded.resize(expect.size(), 0);   // Encrypt's zero padding comes back
    EXPECT_EQ(*pt, padded);
    EXPECT_EQ(next_d, next);

    // Chaining: the second half encrypted with the IV from the first half is the same
    // as one pass (the phase 1 IV rule: the next IV is the last ciphertext block).
    if (expect.size() >= 2 * bl) {
      const size_t half = expect.size() / bl / 2 * bl;
      Bytes n1, n2;
      absl::StatusOr<Bytes> a = CbcEncrypt(c, key, iv, ByteSpan(padded).subspan(0, half), &n1);
      ASSERT_TRUE(a.ok());
      absl::StatusOr<Bytes> b = CbcEncrypt(c, key, n1, ByteSpan(padded).subspan(half), &n2);
      ASSERT_TRUE(b.ok());
      a->insert(a->end(), b->begin(), b->end());
      EXPECT_EQ(*a, expect);
      EXPECT_EQ(n2, next);
    }
  }
}

TEST(IkeCrypto, CbcRejectsBadArguments) {
  const Bytes iv8(8), iv16(16), data(16, 1);
  EXPECT_EQ(CbcEncrypt(P1Cipher::kDes, Bytes(7), iv8, data, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CbcEncrypt(P1Cipher::k3Des, Bytes(16), iv8, data, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CbcEncrypt(P1Cipher::kAesCbc, Bytes(20), iv16, data, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CbcEncrypt(P1Cipher::kAesCbc, Bytes(16), iv8, data, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CbcEncrypt(P1Cipher::kAesCbc, Bytes(16), iv16, Bytes(), nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CbcDecrypt(P1Cipher::kAesCbc, Bytes(16), iv16, Bytes(20), nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CbcDecrypt(P1Cipher::kDes, Bytes(8), iv8, Bytes(12), nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(CbcDecrypt(P1Cipher::kDes, Bytes(8), iv8, Bytes(16), nullptr).ok());
}

// Every RFC 2409 derivation of a whole exchange, one vector per hash/cipher/group/auth.
TEST(IkeCrypto, Phase1AndQuickModeVectors) {
  for (const auto& v : vectors::kPhase1) {
    SCOPED_TRACE(v.name);
    const auto h = static_cast<PrfHash>(v.hash);
    const auto c = static_cast<P1Cipher>(v.cipher);

    absl::StatusOr<DhKeyPair> ki = DhKeyPair::FromPrivate(v.group, FromHex(v.xi));
    absl::StatusOr<DhKeyPair> kr = DhKeyPair::FromPrivate(v.group, FromHex(v.xr));
    ASSERT_TRUE(ki.ok() && kr.ok());
    EXPECT_EQ(ToHex(ki->public_value()), ToHex(FromHex(v.gxi)));
    EXPECT_EQ(ToHex(kr->public_value()), ToHex(FromHex(v.gxr)));
    absl::StatusOr<SecretBytes> gxy_i = ki->Shared(kr->public_value());
    absl::StatusOr<SecretBytes> gxy_r = kr->Shared(ki->public_value());
    ASSERT_TRUE(gxy_i.ok() && gxy_r.ok());
    EXPECT_EQ(ToHex(gxy_i->bytes()), ToHex(FromHex(v.gxy)));
    EXPECT_EQ(gxy_i->bytes(), gxy_r->bytes());
    const Bytes gxy = gxy_i->bytes();

    const Bytes ni = FromHex(v.ni), nr = FromHex(v.nr);
    SecretBytes skeyid = v.sig_auth ? SkeyidSig(h, ni, nr, gxy)
                                    : SkeyidPsk(h, FromHex(v.psk), ni, nr);
    EXPECT_EQ(ToHex(skeyid.bytes()), v.skeyid);

    Phase1Keys k = DerivePhase1(h, c, v.key_bits, skeyid, gxy, v.icookie, v.rcookie);
    EXPECT_EQ(ToHex(k.skeyid.bytes()), v.skeyid);
    EXPECT_EQ(ToHex(k.skeyid_d.bytes()), v.skeyid_d);
    EXPECT_EQ(ToHex(k.skeyid_a.bytes()), v.skeyid_a);
    EXPECT_EQ(ToHex(k.skeyid_e.bytes()), v.skeyid_e);
    EXPECT_EQ(ToHex(k.enc_key.bytes()), v.enc_key);
    EXPECT_EQ(k.enc_key.size(), CipherKeyLen(c, v.key_bits));

    const Bytes gxi = FromHex(v.gxi), gxr = FromHex(v.gxr);
    EXPECT_EQ(ToHex(Phase1Iv(h, c, gxi, gxr)), v.iv1);
    EXPECT_EQ(ToHex(Phase2Iv(h, c, FromHex(v.last_block), v.msg_id)), v.iv2);
    EXPECT_EQ(ToHex(HashI(h, k.skeyid.span(), gxi, gxr, v.icookie, v.rcookie,
                          FromHex(v.sai_b), FromHex(v.idii_b))),
              v.hash_i);
    EXPECT_EQ(ToHex(HashR(h, k.skeyid.span(), gxi, gxr, v.icookie, v.rcookie,
                          FromHex(v.sai_b), FromHex(v.idir_b))),
              v.hash_r);

    const Bytes qni = FromHex(v.qm_ni), qnr = FromHex(v.qm_nr);
    EXPECT_EQ(ToHex(QmHash1(h, k.skeyid_a.span(), v.msg_id, FromHex(v.qm_rest1))),
              v.qm_hash1);
    EXPECT_EQ(ToHex(QmHash2(h, k.skeyid_a.span(), v.msg_id, qni, FromHex(v.qm_rest2))),
              v.qm_hash2);
    EXPECT_EQ(ToHex(QmHash3(h, k.skeyid_a.span(), v.msg_id, qni, qnr)), v.qm_hash3);

    const Bytes spi = FromHex(v.spi);
    ASSERT_GT(v.keymat_len, HashLen(h));   // every vector needs K2 at least
    SecretBytes km = Keymat(h, k.skeyid_d.span(), {}, v.protocol, spi, qni, qnr, v.keymat_len);
    EXPECT_EQ(ToHex(km.bytes()), v.keymat);
    // A shorter request is a prefix of the longer one.
    EXPECT_EQ(Keymat(h, k.skeyid_d.span(), {}, v.protocol, spi, qni, qnr, 5).bytes(),
              Bytes(km.bytes().begin(), km.bytes().begin() + 5));

    absl::StatusOr<DhKeyPair> pi = DhKeyPair::FromPrivate(v.group, FromHex(v.pfs_xi));
    absl::StatusOr<DhKeyPair> pr = DhKeyPair::FromPrivate(v.group, FromHex(v.pfs_xr));
    ASSERT_TRUE(pi.ok() && pr.ok());
    absl::StatusOr<SecretBytes> pgxy = pi->Shared(pr->public_value());
    ASSERT_TRUE(pgxy.ok());
    EXPECT_EQ(ToHex(pgxy->bytes()), ToHex(FromHex(v.pfs_gxy)));
    SecretBytes km_pfs =
        Keymat(h, k.skeyid_d.span(), pgxy->span(), v.protocol, spi, qni, qnr, v.keymat_len);
    EXPECT_EQ(ToHex(km_pfs.bytes()), v.keymat_pfs);

    EXPECT_EQ(ToHex(NatD(h, v.icookie, v.rcookie, v.natd_ip, v.natd_port)), v.natd);
  }
}

// One ISAKMP payload of a (decrypted) chain: its type and where its body lies.
struct Payload {
  uint8_t type;
  size_t body, end;   // body: after the generic header; end: past the payload
};

// Walks a payload chain from `first` until next payload 0 (what follows is padding).
std::vector<Payload> Walk(uint8_t first, const Bytes& chain) {
  std::vector<Payload> out;
  size_t off = 0;
  for (uint8_t t = first; t != 0;) {
    if (off + 4 > chain.size()) return {};
    const size_t len = static_cast<size_t>(chain[off + 2]) << 8 | chain[off + 3];
    if (len < 4 || off + len > chain.size()) return {};
    out.push_back({t, off + 4, off + len});
    t = chain[off];
    off += len;
  }
  return out;
}

Bytes Body(const Bytes& chain, const Payload& p) {
  return Bytes(chain.begin() + static_cast<ptrdiff_t>(p.body),
               chain.begin() + static_cast<ptrdiff_t>(p.end));
}

// The payloads after the first (HASH) one, generic headers included: Quick Mode's `rest`.
Bytes RestAfterHash(const Bytes& chain, const std::vector<Payload>& pl) {
  return Bytes(chain.begin() + static_cast<ptrdiff_t>(pl.front().end),
               chain.begin() + static_cast<ptrdiff_t>(pl.back().end));
}

// strongSwan's own exchange: our derivations must reproduce the secrets charon logged,
// decrypt its messages, and compute the hashes it sent.
TEST(IkeCrypto, StrongswanExchange) {
  const auto& v = vectors::kStrongswan;
  const PrfHash h = PrfHash::kSha1;
  const P1Cipher c = P1Cipher::kAesCbc;
  const Bytes gxi = FromHex(v.gxi), gxr = FromHex(v.gxr), gxy = FromHex(v.gxy);
  const Bytes sai_b = FromHex(v.sai_b);

  SecretBytes skeyid = SkeyidPsk(h, FromHex(v.psk), FromHex(v.ni), FromHex(v.nr));
  EXPECT_EQ(ToHex(skeyid.bytes()), v.skeyid);
  Phase1Keys k = DerivePhase1(h, c, 128, skeyid, gxy, v.icookie, v.rcookie);
  EXPECT_EQ(ToHex(k.skeyid_d.bytes()), v.skeyid_d);
  EXPECT_EQ(ToHex(k.skeyid_a.bytes()), v.skeyid_a);
  EXPECT_EQ(ToHex(k.skeyid_e.bytes()), v.skeyid_e);
  EXPECT_EQ(ToHex(k.enc_key.bytes()), v.enc_key);
  const Bytes iv1 = Phase1Iv(h, c, gxi, gxr);
  EXPECT_EQ(ToHex(iv1), v.iv1);

  // Main Mode message 5: [ID HASH_I N(INITIAL_CONTACT)], then 6: [ID HASH_R].
  const Bytes msg5 = FromHex(v.msg5), msg6 = FromHex(v.msg6);
  Bytes iv, iv_after5;
  absl::StatusOr<Bytes> p5 = CbcDecrypt(c, k.enc_key.span(), iv1, msg5, &iv_after5);
  ASSERT_TRUE(p5.ok()) << p5.status();
  std::vector<Payload> pl5 = Walk(static_cast<uint8_t>(v.msg5_next), *p5);
  ASSERT_GE(pl5.size(), 2u);
  ASSERT_EQ(pl5[0].type, 5);   // ID
  ASSERT_EQ(pl5[1].type, 8);   // HASH
  const Bytes hash_i =
      HashI(h, k.skeyid.span(), gxi, gxr, v.icookie, v.rcookie, sai_b, Body(*p5, pl5[0]));
  EXPECT_EQ(ToHex(hash_i), v.hash_i);
  EXPECT_EQ(hash_i, Body(*p5, pl5[1]));
  // Encrypting strongSwan's plaintext (already block-aligned) gives its ciphertext back.
  absl::StatusOr<Bytes> again = CbcEncrypt(c, k.enc_key.span(), iv1, *p5, &iv);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, msg5);
  EXPECT_EQ(iv, iv_after5);

  Bytes last_p1;
  absl::StatusOr<Bytes> p6 = CbcDecrypt(c, k.enc_key.span(), iv_after5, msg6, &last_p1);
  ASSERT_TRUE(p6.ok());
  std::vector<Payload> pl6 = Walk(static_cast<uint8_t>(v.msg6_next), *p6);
  ASSERT_GE(pl6.size(), 2u);
  const Bytes hash_r =
      HashR(h, k.skeyid.span(), gxi, gxr, v.icookie, v.rcookie, sai_b, Body(*p6, pl6[0]));
  EXPECT_EQ(ToHex(hash_r), v.hash_r);
  EXPECT_EQ(hash_r, Body(*p6, pl6[1]));

  // Quick Mode with PFS: [HASH(1) SA Ni KE IDci IDcr], [HASH(2) SA Nr KE IDci IDcr].
  const Bytes qm_iv = Phase2Iv(h, c, last_p1, v.qm_mid);
  EXPECT_EQ(ToHex(qm_iv), v.qm_iv);
  Bytes iv_after_qm1, iv_after_qm2;
  absl::StatusOr<Bytes> q1 = CbcDecrypt(c, k.enc_key.span(), qm_iv, FromHex(v.qm1), &iv_after_qm1);
  ASSERT_TRUE(q1.ok());
  std::vector<Payload> pq1 = Walk(static_cast<uint8_t>(v.qm1_next), *q1);
  ASSERT_GE(pq1.size(), 3u);
  const Bytes hash1 = QmHash1(h, k.skeyid_a.span(), v.qm_mid, RestAfterHash(*q1, pq1));
  EXPECT_EQ(ToHex(hash1), v.qm_hash1);
  EXPECT_EQ(hash1, Body(*q1, pq1[0]));
  Bytes qni, qnr;
  for (const Payload& p : pq1)
    if (p.type == 10) qni = Body(*q1, p);
  absl::StatusOr<Bytes> q2 =
      CbcDecrypt(c, k.enc_key.span(), iv_after_qm1, FromHex(v.qm2), &iv_after_qm2);
  ASSERT_TRUE(q2.ok());
  std::vector<Payload> pq2 = Walk(static_cast<uint8_t>(v.qm2_next), *q2);
  ASSERT_GE(pq2.size(), 3u);
  for (const Payload& p : pq2)
    if (p.type == 10) qnr = Body(*q2, p);
  ASSERT_FALSE(qni.empty() || qnr.empty());
  const Bytes hash2 = QmHash2(h, k.skeyid_a.span(), v.qm_mid, qni, RestAfterHash(*q2, pq2));
  EXPECT_EQ(ToHex(hash2), v.qm_hash2);
  EXPECT_EQ(hash2, Body(*q2, pq2[0]));

  // The informational exchange after it: its IV also starts from the last phase 1 block.
  absl::StatusOr<Bytes> info = CbcDecrypt(c, k.enc_key.span(), Phase2Iv(h, c, last_p1, v.info_mid),
                                          FromHex(v.info), nullptr);
  ASSERT_TRUE(info.ok());
  std::vector<Payload> pi = Walk(static_cast<uint8_t>(v.info_next), *info);
  ASSERT_GE(pi.size(), 2u);
  const Bytes info_hash = QmHash1(h, k.skeyid_a.span(), v.info_mid, RestAfterHash(*info, pi));
  EXPECT_EQ(ToHex(info_hash), v.info_hash);
  EXPECT_EQ(info_hash, Body(*info, pi[0]));

  // KEYMAT with PFS for both SAs: strongSwan's encryption key | integrity key (16 + 20).
  const Bytes pfs = FromHex(v.pfs_gxy);
  EXPECT_EQ(ToHex(Keymat(h, k.skeyid_d.span(), pfs, 3, FromHex(v.spi_i), qni, qnr, 36).bytes()),
            v.keymat_i);
  EXPECT_EQ(ToHex(Keymat(h, k.skeyid_d.span(), pfs, 3, FromHex(v.spi_r), qni, qnr, 36).bytes()),
            v.keymat_r);

  EXPECT_EQ(ToHex(NatD(h, v.icookie, v.rcookie, v.natd_ip, v.natd_port)), v.natd);
}

// The embedded primes against OpenSSL's copies of the RFC constants, and against the
// primes make_crypto_vectors.py derives from pi (through 2^x mod p).
TEST(IkeCryptoDh, PrimesMatchOpenSslAndPi) {
  struct {
    int group;
    BIGNUM* (*get)(BIGNUM*);
  } const builtin[] = {
      {1, BN_get_rfc2409_prime_768},   {2, BN_get_rfc2409_prime_1024},
      {5, BN_get_rfc3526_prime_1536},  {14, BN_get_rfc3526_prime_2048},
      {15, BN_get_rfc3526_prime_3072}, {16, BN_get_rfc3526_prime_4096},
      {17, BN_get_rfc3526_prime_6144}, {18, BN_get_rfc3526_prime_8192},
  };
  BN_CTX* ctx = BN_CTX_new();
  ASSERT_NE(ctx, nullptr);
  for (const auto& v : vectors::kDhGroups) {
    SCOPED_TRACE(v.group);
    ASSERT_TRUE(DhGroupSupported(v.group));
    const Bytes prime = FromHex(v.prime);
    ASSERT_EQ(DhLen(v.group), prime.size());
    BIGNUM* p = nullptr;
    for (const auto& b : builtin)
      if (b.group == v.group) p = b.get(nullptr);
    ASSERT_NE(p, nullptr);
    Bytes ossl(prime.size());
    ASSERT_EQ(BN_bn2binpad(p, ossl.data(), static_cast<int>(ossl.size())),
              static_cast<int>(ossl.size()));
    EXPECT_EQ(ossl, prime) << "pi-derived prime differs from OpenSSL's";

    const Bytes x = FromHex(v.x);
    absl::StatusOr<DhKeyPair> kp = DhKeyPair::FromPrivate(v.group, x);
    ASSERT_TRUE(kp.ok()) << kp.status();
    EXPECT_EQ(ToHex(kp->public_value()), ToHex(FromHex(v.gx)));

    // And 2^x mod p computed by OpenSSL over its own prime.
    BIGNUM *g = BN_new(), *bx = BN_bin2bn(x.data(), static_cast<int>(x.size()), nullptr),
           *r = BN_new();
    ASSERT_TRUE(BN_set_word(g, 2));
    ASSERT_TRUE(BN_mod_exp(r, g, bx, p, ctx));
    Bytes gx(prime.size());
    BN_bn2binpad(r, gx.data(), static_cast<int>(gx.size()));
    EXPECT_EQ(gx, kp->public_value());
    BN_free(g);
    BN_free(bx);
    BN_free(r);
    BN_free(p);
  }
  BN_CTX_free(ctx);
}

TEST(IkeCryptoDh, UnsupportedGroups) {
  for (int g : {0, 3, 4, 6, 13, 19, 24}) {
    EXPECT_FALSE(DhGroupSupported(g));
    EXPECT_FALSE(DhKeyPair::Generate(g).ok());
    EXPECT_FALSE(DhKeyPair::FromPrivate(g, Bytes{5}).ok());
  }
}

TEST(IkeCryptoDh, GeneratedPairsAgree) {
  for (int g : {1, 2, 5, 14, 15}) {
    SCOPED_TRACE(g);
    absl::StatusOr<DhKeyPair> a = DhKeyPair::Generate(g), b = DhKeyPair::Generate(g);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->group(), g);
    EXPECT_EQ(a->public_value().size(), DhLen(g));
    EXPECT_NE(a->public_value(), b->public_value());
    absl::StatusOr<SecretBytes> s1 = a->Shared(b->public_value()), s2 = b->Shared(a->public_value());
    ASSERT_TRUE(s1.ok() && s2.ok());
    EXPECT_EQ(s1->size(), DhLen(g));
    EXPECT_EQ(s1->bytes(), s2->bytes());
  }
}

TEST(IkeCryptoDh, PeerValueRangeAndLength) {
  absl::StatusOr<DhKeyPair> kp = DhKeyPair::Generate(2);
  ASSERT_TRUE(kp.ok());
  const size_t n = DhLen(2);
  const Bytes p = FromHex(vectors::kDhGroups[1].prime);
  ASSERT_EQ(vectors::kDhGroups[1].group, 2);
  Bytes zero(n, 0), one(n, 0), two(n, 0), pm1 = p, pm2 = p;
  one[n - 1] = 1;
  two[n - 1] = 2;
  pm1[n - 1] -= 1;   // p ends in ...ff
  pm2[n - 1] -= 2;
  const Bytes all_ff(n, 0xff);
  for (const Bytes& bad : {zero, one, pm1, p, all_ff})
    EXPECT_EQ(kp->Shared(bad).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(kp->Shared(two).ok());
  EXPECT_TRUE(kp->Shared(pm2).ok());
  // Wrong lengths, even of a good value.
  EXPECT_FALSE(kp->Shared(Bytes(two.begin() + 1, two.end())).ok());
  Bytes longer = two;
  longer.insert(longer.begin(), 0);
  EXPECT_FALSE(kp->Shared(longer).ok());
  // Private values out of range.
  EXPECT_FALSE(DhKeyPair::FromPrivate(2, Bytes{0, 0}).ok());
  EXPECT_FALSE(DhKeyPair::FromPrivate(2, Bytes()).ok());
  EXPECT_FALSE(DhKeyPair::FromPrivate(2, pm1).ok());
  EXPECT_FALSE(DhKeyPair::FromPrivate(2, Bytes(n + 1, 1)).ok());
  EXPECT_FALSE(DhKeyPair().Shared(two).ok());
}

TEST(IkeCrypto, SecretBytesCopyMove) {
  SecretBytes a(Bytes{1, 2, 3});
  SecretBytes b = a;
  EXPECT_EQ(b.bytes(), (Bytes{1, 2, 3}));
  SecretBytes c(Bytes{9});
  c = b;
  EXPECT_EQ(c.bytes(), (Bytes{1, 2, 3}));
  SecretBytes d(std::move(c));
  EXPECT_EQ(d.bytes(), (Bytes{1, 2, 3}));
  EXPECT_TRUE(c.empty());   // NOLINT(bugprone-use-after-move): moved-from is empty
  SecretBytes e(Bytes{7, 7});
  e = std::move(d);
  EXPECT_EQ(e.bytes(), (Bytes{1, 2, 3}));
  EXPECT_TRUE(d.empty());   // NOLINT(bugprone-use-after-move)
  const SecretBytes& alias = e;
  e = alias;   // self-assignment keeps the value
  EXPECT_EQ(e.size(), 3u);
}

TEST(IkeCrypto, RandomBytesDiffer) {
  Bytes a = RandomBytes(32), b = RandomBytes(32);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  EXPECT_TRUE(RandomBytes(0).empty());
}

}  // namespace
}  // namespace arsec::ike
