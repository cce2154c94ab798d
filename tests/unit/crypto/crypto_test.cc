// Crypto engine tests, run on every engine (Intel IPsec-MB and the DPDK cryptodev engine
// on crypto_aesni_mb): published known answers (RFC 3602 AES-CBC, FIPS 81 DES-CBC, the
// GCM specification's test cases as used by RFC 4106, RFC 2202 HMAC-MD5/SHA1, RFC 4231
// HMAC-SHA2 truncated per RFC 2404/4868), a randomised cross-check of every cipher x
// integrity pair against OpenSSL's libcrypto in both directions on ESP-shaped buffers,
// tamper detection, and the Enqueue/Dequeue contract (capacity, order, bad ops).
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "dataplane/crypto/cryptodev_engine.h"
#include "dataplane/crypto/engine.h"
#include "dataplane/crypto/ipsec_mb_engine.h"
#include "tests/unit/crypto/test_engines.h"
#include "tests/unit/crypto/test_util.h"

namespace arsec::crypto::testing {
namespace {

// Each suite runs once per engine kind.
class EngineTest : public ::testing::TestWithParam<EngineKind> {
 protected:
  CryptoEngine& E() { return SharedEngine(GetParam()); }
};
std::string KindParamName(const ::testing::TestParamInfo<EngineKind>& i) {
  return KindName(i.param);
}
#define ENGINE_SUITE(name)                                                             \
  INSTANTIATE_TEST_SUITE_P(Engines, name,                                              \
                           ::testing::Values(EngineKind::kIpsecMb, EngineKind::kCryptodev), \
                           KindParamName)

using CryptoKat = EngineTest;
using CryptoSessionTest = EngineTest;
using CryptoCrossCheck = EngineTest;
using CryptoTamper = EngineTest;
ENGINE_SUITE(CryptoKat);
ENGINE_SUITE(CryptoSessionTest);
ENGINE_SUITE(CryptoCrossCheck);
ENGINE_SUITE(CryptoTamper);

// ---------------------------------------------------------------- known answers: ciphers

struct CbcVector {
  const char* name;
  CipherAlg alg;
  Bytes key, iv, pt, ct;
};

std::vector<CbcVector> CbcVectors() {
  return {
      // RFC 3602 section 4, cases 1-4.
      {"rfc3602-1", CipherAlg::kAes128Cbc, Hex("06a9214036b8a15b512e03d534120006"),
       Hex("3dafba429d9eb430b422da802c9fac41"), Str("Single block msg"),
       Hex("e353779c1079aeb82708942dbe77181a")},
      {"rfc3602-2", CipherAlg::kAes128Cbc, Hex("c286696d887c9aa0611bbb3e2025a45a"),
       Hex("562e17996d093d28ddb3ba695a2e6f58"), Seq(0x00, 32),
       Hex("d296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1")},
      {"rfc3602-3", CipherAlg::kAes128Cbc, Hex("6c3ea0477630ce21a2ce334aa746c2cd"),
       Hex("c782dc4c098c66cbd9cd27d825682c81"),
       Str("This is a 48-byte message (exactly 3 AES blocks)"),
       Hex("d0a02b3836451753d493665d33f0e8862dea54cdb293abc7506939276772f8d5"
           "021c19216bad525c8579695d83ba2684")},
      {"rfc3602-4", CipherAlg::kAes128Cbc, Hex("56e47a38c5598974bc46903dba290349"),
       Hex("8ce82eefbea0da3c44699ed7db51b7d9"), Seq(0xa0, 64),
       Hex("c30e32ffedc0774e6aff6af0869f71aa0f3af07a9a31a9c684db207eb0ef8e4e"
           "35907aa632c3ffdf868bb7b29d3d46ad83ce9f9a102ee99d49a53e87f4c3da55")},
      // FIPS 81 appendix C, CBC example ("Now is the time for all ").
      {"fips81-cbc", CipherAlg::kDesCbc, Hex("0123456789abcdef"), Hex("1234567890abcdef"),
       Str("Now is the time for all "),
       Hex("e5c7cdde872bf27c43e934008c389c0f683788499a7c05f6")},
      // 3DES-EDE with K1 = K2 = K3 is single DES (SP 800-67 keying option 3): the same
      // FIPS 81 answer exercises the 3DES key schedule and EDE path.
      {"3des-k1=k2=k3", CipherAlg::k3desCbc,
       Hex("0123456789abcdef0123456789abcdef0123456789abcdef"), Hex("1234567890abcdef"),
       Str("Now is the time for all "),
       Hex("e5c7cdde872bf27c43e934008c389c0f683788499a7c05f6")},
  };
}

TEST_P(CryptoKat, CbcCiphers) {
  CryptoEngine& e = E();
  for (const auto& v : CbcVectors()) {
    SCOPED_TRACE(v.name);
    auto s = MakeSession(e, v.alg, v.key);
    ASSERT_NE(s, nullptr);
    Bytes buf = v.pt;
    CryptoOp op{};
    op.session = s.get();
    op.data = buf.data();
    op.iv = v.iv.data();
    op.cipher_len = static_cast<uint16_t>(buf.size());
    op.dir = CryptoDir::kEncrypt;
    ASSERT_EQ(RunOne(e, &op), CryptoStatus::kOk);
    EXPECT_EQ(ToHex(buf), ToHex(v.ct));
    op.dir = CryptoDir::kDecrypt;
    ASSERT_EQ(RunOne(e, &op), CryptoStatus::kOk);
    EXPECT_EQ(ToHex(buf), ToHex(v.pt));
  }
}

struct GcmVector {
  const char* name;
  CipherAlg alg;
  Bytes key, iv, pt, aad, ct, tag;
};

const char* kGcmP =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
const char* kGcmAad = "feedfacedeadbeeffeedfacedeadbeefabaddad2";

std::vector<GcmVector> GcmVectors() {
  const Bytes p64 = Hex(kGcmP);
  const Bytes p60(p64.begin(), p64.begin() + 60);
  const Bytes k128 = Hex("feffe9928665731c6d6a8f9467308308");
  const Bytes iv = Hex("cafebabefacedbaddecaf888");
  const Bytes ct3 = Hex(
      "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
      "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985");
  const Bytes ct15 = Hex(
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
      "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad");
  // McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 2-4 and 14-16.
  return {
      {"gcm-tc2", CipherAlg::kAes128Gcm, Bytes(16, 0), Bytes(12, 0), Bytes(16, 0), {},
       Hex("0388dace60b6a392f328c2b971b2fe78"), Hex("ab6e47d42cec13bdf53a67b21257bddf")},
      {"gcm-tc3", CipherAlg::kAes128Gcm, k128, iv, p64, {}, ct3,
       Hex("4d5c2af327cd64a62cf35abd2ba6fab4")},
      {"gcm-tc4", CipherAlg::kAes128Gcm, k128, iv, p60, Hex(kGcmAad),
       Bytes(ct3.begin(), ct3.begin() + 60), Hex("5bc94fbc3221a5db94fae95ae7121a47")},
      {"gcm-tc14", CipherAlg::kAes256Gcm, Bytes(32, 0), Bytes(12, 0), Bytes(16, 0), {},
       Hex("cea7403d4d606b6e074ec5d3baf39d18"), Hex("d0d1c8a799996bf0265b98b5d48ab919")},
      {"gcm-tc15", CipherAlg::kAes256Gcm, Cat(k128, k128), iv, p64, {}, ct15,
       Hex("b094dac5d93471bdec1a502270e3cc6c")},
      {"gcm-tc16", CipherAlg::kAes256Gcm, Cat(k128, k128), iv, p60, Hex(kGcmAad),
       Bytes(ct15.begin(), ct15.begin() + 60), Hex("76fc6ece0f4e1768cddf8853bb2d551b")},
  };
}

TEST_P(CryptoKat, AesGcmRfc4106Layout) {
  CryptoEngine& e = E();
  for (const auto& v : GcmVectors()) {
    SCOPED_TRACE(v.name);
    // RFC 4106: the 12-byte nonce is the 4-byte salt (from the key material, after the
    // key) followed by the 8-byte explicit IV carried in the packet.
    const Bytes keymat = Cat(v.key, Bytes(v.iv.begin(), v.iv.begin() + 4));
    const Bytes explicit_iv(v.iv.begin() + 4, v.iv.end());
    auto s = MakeSession(e, v.alg, keymat);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->digest_len(), 16);
    Bytes buf = v.pt;
    uint8_t icv[16];
    CryptoOp op{};
    op.session = s.get();
    op.data = buf.data();
    op.iv = explicit_iv.data();
    op.aad = v.aad.empty() ? nullptr : v.aad.data();
    op.aad_len = static_cast<uint8_t>(v.aad.size());
    op.digest = icv;
    op.cipher_len = static_cast<uint16_t>(buf.size());
    op.dir = CryptoDir::kEncrypt;
    ASSERT_EQ(RunOne(e, &op), CryptoStatus::kOk);
    EXPECT_EQ(ToHex(buf), ToHex(v.ct));
    EXPECT_EQ(ToHex(icv, 16), ToHex(v.tag));
    op.dir = CryptoDir::kDecrypt;
    ASSERT_EQ(RunOne(e, &op), CryptoStatus::kOk);
    EXPECT_EQ(ToHex(buf), ToHex(v.pt));
    // Wrong tag: refused.
    icv[5] ^= 0x10;
    Bytes again = v.ct;
    op.data = again.data();
    EXPECT_EQ(RunOne(e, &op), CryptoStatus::kAuthFailed);
  }
}

// ---------------------------------------------------------------- known answers: HMAC

struct HmacVector {
  const char* name;
  AuthAlg alg;
  Bytes key, data;
  const char* mac;  // the full HMAC output from the RFC (or its truncated value)
};

const char* kLongKeyData = "Test Using Larger Than Block-Size Key - Hash Key First";

std::vector<HmacVector> HmacVectors() {
  const Bytes k25 = Seq(0x01, 25);
  std::vector<HmacVector> v = {
      // RFC 2202 section 2 (HMAC-MD5), test cases 1-7.
      {"2202-md5-1", AuthAlg::kHmacMd5_96, Rep(0x0b, 16), Str("Hi There"),
       "9294727a3638bb1c13f48ef8158bfc9d"},
      {"2202-md5-2", AuthAlg::kHmacMd5_96, Str("Jefe"), Str("what do ya want for nothing?"),
       "750c783e6ab0b503eaa86e310a5db738"},
      {"2202-md5-3", AuthAlg::kHmacMd5_96, Rep(0xaa, 16), Rep(0xdd, 50),
       "56be34521d144c88dbb8c733f0e8b3f6"},
      {"2202-md5-4", AuthAlg::kHmacMd5_96, k25, Rep(0xcd, 50),
       "697eaf0aca3a3aea3a75164746ffaa79"},
      {"2202-md5-5", AuthAlg::kHmacMd5_96, Rep(0x0c, 16), Str("Test With Truncation"),
       "56461ef2342edc00f9bab995690efd4c"},
      {"2202-md5-6", AuthAlg::kHmacMd5_96, Rep(0xaa, 80), Str(kLongKeyData),
       "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd"},
      {"2202-md5-7", AuthAlg::kHmacMd5_96, Rep(0xaa, 80),
       Str("Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data"),
       "6f630fad67cda0ee1fb1f562db3aa53e"},
      // RFC 2202 section 3 (HMAC-SHA-1), test cases 1-7.
      {"2202-sha1-1", AuthAlg::kHmacSha1_96, Rep(0x0b, 20), Str("Hi There"),
       "b617318655057264e28bc0b6fb378c8ef146be00"},
      {"2202-sha1-2", AuthAlg::kHmacSha1_96, Str("Jefe"), Str("what do ya want for nothing?"),
       "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
      {"2202-sha1-3", AuthAlg::kHmacSha1_96, Rep(0xaa, 20), Rep(0xdd, 50),
       "125d7342b9ac11cd91a39af48aa17b4f63f175d3"},
      {"2202-sha1-4", AuthAlg::kHmacSha1_96, k25, Rep(0xcd, 50),
       "4c9007f4026250c6bc8414f9bf50c86c2d7235da"},
      {"2202-sha1-5", AuthAlg::kHmacSha1_96, Rep(0x0c, 20), Str("Test With Truncation"),
       "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04"},
      {"2202-sha1-6", AuthAlg::kHmacSha1_96, Rep(0xaa, 80), Str(kLongKeyData),
       "aa4ae5e15272d00e95705637ce8a3b55ed402112"},
      {"2202-sha1-7", AuthAlg::kHmacSha1_96, Rep(0xaa, 80),
       Str("Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data"),
       "e8e99d0f45237d786d6bbaa7965c7808bbff1a91"},
  };
  // RFC 4231 section 4, test cases 1-7 for SHA-256/384/512 (case 5 is given truncated
  // to 128 bits in the RFC).
  struct Case { Bytes key, data; const char* m256; const char* m384; const char* m512; };
  const Bytes long_data = Str(
      "This is a test using a larger than block-size key and a larger than block-size "
      "data. The key needs to be hashed before being used by the HMAC algorithm.");
  const std::vector<Case> c = {
      {Rep(0x0b, 20), Str("Hi There"),
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
       "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c"
       "faea9ea9076ede7f4af152e8b2fa9cb6",
       "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
       "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"},
      {Str("Jefe"), Str("what do ya want for nothing?"),
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
       "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
       "8e2240ca5e69e2c78b3239ecfab21649",
       "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
       "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
      {Rep(0xaa, 20), Rep(0xdd, 50),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
       "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b"
       "2a5ab39dc13814b94e3ab6e101a34f27",
       "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39"
       "bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb"},
      {k25, Rep(0xcd, 50),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
       "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e"
       "6801dd23c4a7d679ccf8a386c674cffb",
       "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3db"
       "a91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd"},
      {Rep(0x0c, 20), Str("Test With Truncation"), "a3b6167473100ee06e0c796c2955552b",
       "3abf34c3503b2a23a46efc619baef897", "415fad6271580a531d4179bc891d87a6"},
      {Rep(0xaa, 131), Str(kLongKeyData),
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
       "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6"
       "0c2ef6ab4030fe8296248df163f44952",
       "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
       "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"},
      {Rep(0xaa, 131), long_data,
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
       "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5"
       "a678cc31e799176d3860e6110c46523e",
       "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944"
       "b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58"},
  };
  static std::vector<std::string> names;
  names.clear();
  for (size_t i = 0; i < c.size(); ++i)
    for (int h = 0; h < 3; ++h) names.push_back("4231-" + std::to_string(i + 1) + "-" +
                                                (h == 0 ? "sha256" : h == 1 ? "sha384" : "sha512"));
  for (size_t i = 0; i < c.size(); ++i) {
    v.push_back({names[3 * i].c_str(), AuthAlg::kHmacSha256_128, c[i].key, c[i].data, c[i].m256});
    v.push_back({names[3 * i + 1].c_str(), AuthAlg::kHmacSha384_192, c[i].key, c[i].data, c[i].m384});
    v.push_back({names[3 * i + 2].c_str(), AuthAlg::kHmacSha512_256, c[i].key, c[i].data, c[i].m512});
  }
  return v;
}

TEST_P(CryptoKat, HmacRfc2202And4231) {
  CryptoEngine& e = E();
  for (const auto& v : HmacVectors()) {
    SCOPED_TRACE(v.name);
    const Bytes want = Hex(v.mac);
    // The transcribed answer agrees with an independent implementation.
    const Bytes ossl = OsslHmac(v.alg, v.key, v.data.data(), v.data.size());
    ASSERT_EQ(ToHex(Bytes(ossl.begin(), ossl.begin() + want.size())), ToHex(want));
    // Ours at the IPsec length (RFC 2403/2404/4868 truncation) and, where IPsec-MB can,
    // at the full length.
    std::vector<uint8_t> lens = {0};
    if (v.alg != AuthAlg::kHmacMd5_96 && want.size() == ossl.size())
      lens.push_back(static_cast<uint8_t>(want.size()));
    for (uint8_t dl : lens) {
      auto s = MakeSession(e, CipherAlg::kNull, {}, v.alg, v.key, dl);
      ASSERT_NE(s, nullptr);
      // RFC 4231 case 5 publishes only 128 bits; compare what the RFC gives.
      const size_t n = std::min<size_t>(s->digest_len(), want.size());
      Bytes buf = v.data;
      uint8_t icv[64] = {};
      CryptoOp op{};
      op.session = s.get();
      op.data = buf.data();
      op.auth_len = static_cast<uint16_t>(buf.size());
      op.digest = icv;
      op.dir = CryptoDir::kEncrypt;
      ASSERT_EQ(RunOne(e, &op), CryptoStatus::kOk);
      EXPECT_EQ(ToHex(icv, n), ToHex(want.data(), n));
      op.dir = CryptoDir::kDecrypt;
      EXPECT_EQ(RunOne(e, &op), CryptoStatus::kOk);
      icv[s->digest_len() - 1] ^= 1;
      EXPECT_EQ(RunOne(e, &op), CryptoStatus::kAuthFailed);
    }
  }
}

TEST(CryptoAlgTest, IpsecDigestLengths) {
  EXPECT_EQ(DefaultDigestLen(CipherAlg::kAes128Cbc, AuthAlg::kHmacMd5_96), 12u);
  EXPECT_EQ(DefaultDigestLen(CipherAlg::kAes128Cbc, AuthAlg::kHmacSha1_96), 12u);
  EXPECT_EQ(DefaultDigestLen(CipherAlg::kAes128Cbc, AuthAlg::kHmacSha256_128), 16u);
  EXPECT_EQ(DefaultDigestLen(CipherAlg::kAes128Cbc, AuthAlg::kHmacSha384_192), 24u);
  EXPECT_EQ(DefaultDigestLen(CipherAlg::kAes128Cbc, AuthAlg::kHmacSha512_256), 32u);
  EXPECT_EQ(DefaultDigestLen(CipherAlg::kAes256Gcm, AuthAlg::kNull), 16u);
  EXPECT_EQ(DefaultDigestLen(CipherAlg::kDesCbc, AuthAlg::kNull), 0u);
}

// ---------------------------------------------------------------- sessions

TEST_P(CryptoSessionTest, RejectsBadParameters) {
  CryptoEngine& e = E();
  auto bad = [&](CipherAlg c, size_t cklen, AuthAlg a, size_t aklen, uint8_t dl = 0) {
    Bytes ck(cklen, 1), ak(aklen, 2);
    SessionParams p{c, a, ck, ak, dl};
    return e.CreateSession(p).status().code();
  };
  const auto kInv = absl::StatusCode::kInvalidArgument;
  EXPECT_EQ(bad(CipherAlg::kAes128Cbc, 15, AuthAlg::kNull, 0), kInv);
  EXPECT_EQ(bad(CipherAlg::kAes128Gcm, 16, AuthAlg::kNull, 0), kInv);  // salt missing
  EXPECT_EQ(bad(CipherAlg::k3desCbc, 16, AuthAlg::kNull, 0), kInv);
  EXPECT_EQ(bad(CipherAlg::kAes128Gcm, 20, AuthAlg::kHmacSha1_96, 20), kInv);
  EXPECT_EQ(bad(CipherAlg::kNull, 0, AuthAlg::kHmacSha1_96, 0), kInv);  // empty key
  EXPECT_EQ(bad(CipherAlg::kNull, 0, AuthAlg::kNull, 4), kInv);
  EXPECT_EQ(bad(CipherAlg::kNull, 0, AuthAlg::kHmacSha1_96, 20, 16), kInv);
  EXPECT_EQ(bad(CipherAlg::kAes128Gcm, 20, AuthAlg::kNull, 0, 10), kInv);
  EXPECT_EQ(bad(CipherAlg::kAes128Gcm, 20, AuthAlg::kNull, 0, 12), absl::StatusCode::kOk);
  EXPECT_EQ(bad(CipherAlg::kNull, 0, AuthAlg::kHmacSha256_128, 32, 32), absl::StatusCode::kOk);
  EXPECT_FALSE(e.Supports(CipherAlg::kAes128Gcm, AuthAlg::kHmacSha1_96));
  EXPECT_TRUE(e.Supports(CipherAlg::k3desCbc, AuthAlg::kHmacMd5_96));
}

TEST_P(CryptoCrossCheck, EveryPairAgainstOpenSsl) {
  CryptoEngine& e = E();
  std::mt19937 rng(4106);
  constexpr int kBurst = 40;  // not a multiple of anything the engine uses
  for (const Pair p : AllPairs()) {
    SCOPED_TRACE(PairName(p));
    for (int round = 0; round < 4; ++round) {
      SaKeys k(p, rng);
      auto s = MakeSession(e, p.c, k.ck_, p.a, k.ak_);
      ASSERT_NE(s, nullptr);
      // Ours encrypts a burst, OpenSSL decrypts and verifies.
      std::vector<EspBuf> pkts, plain;
      std::vector<CryptoOp> ops(kBurst);
      std::vector<CryptoOp*> ptrs(kBurst);
      for (int i = 0; i < kBurst; ++i) {
        pkts.push_back(MakeEsp(*s, rng));
        plain.push_back(pkts.back());
      }
      for (int i = 0; i < kBurst; ++i) {
        ops[i] = MakeOp(*s, pkts[i], CryptoDir::kEncrypt);
        ptrs[i] = &ops[i];
      }
      ASSERT_EQ(e.Enqueue(ptrs.data(), kBurst), kBurst);
      std::vector<CryptoOp*> done(kBurst);
      ASSERT_EQ(DequeueAll(e, done.data(), kBurst), size_t{kBurst});
      for (int i = 0; i < kBurst; ++i) {
        ASSERT_EQ(done[i], &ops[i]);
        ASSERT_EQ(ops[i].status, CryptoStatus::kOk);
        EspBuf copy = pkts[i];
        ASSERT_TRUE(OsslEsp(k, copy, /*encrypt=*/false)) << "packet " << i;
        ASSERT_EQ(ToHex(Bytes(copy.b.begin() + copy.ct_off, copy.b.begin() + copy.icv_off)),
                  ToHex(Bytes(plain[i].b.begin() + copy.ct_off,
                              plain[i].b.begin() + copy.icv_off)));
      }
      // OpenSSL encrypts, ours verifies and decrypts.
      for (int i = 0; i < kBurst; ++i) {
        pkts[i] = plain[i];
        ASSERT_TRUE(OsslEsp(k, pkts[i], /*encrypt=*/true));
        ops[i] = MakeOp(*s, pkts[i], CryptoDir::kDecrypt);
      }
      ASSERT_EQ(e.Enqueue(ptrs.data(), kBurst), kBurst);
      ASSERT_EQ(DequeueAll(e, done.data(), kBurst), size_t{kBurst});
      for (int i = 0; i < kBurst; ++i) {
        ASSERT_EQ(ops[i].status, CryptoStatus::kOk) << "packet " << i;
        ASSERT_TRUE(std::equal(pkts[i].b.begin(), pkts[i].b.begin() + pkts[i].icv_off,
                               plain[i].b.begin()));
      }
    }
  }
}

// One burst mixing every SA, longer than the engine's internal chunk: every op must come
// back in order with the right answer.
TEST_P(CryptoCrossCheck, MixedSasInOneBurst) {
  CryptoEngine& e = E();
  std::mt19937 rng(2404);
  const auto pairs = AllPairs();
  std::vector<SaKeys> keys;
  std::vector<std::unique_ptr<CryptoSession>> sess;
  for (const Pair p : pairs) {
    keys.emplace_back(p, rng);
    sess.push_back(MakeSession(e, p.c, keys.back().ck_, p.a, keys.back().ak_));
  }
  constexpr int kN = 300;
  std::vector<EspBuf> pkts;
  std::vector<size_t> which;
  std::vector<CryptoOp> ops(kN);
  std::vector<CryptoOp*> ptrs(kN), done(kN);
  for (int i = 0; i < kN; ++i) {
    which.push_back(rng() % pairs.size());
    pkts.push_back(MakeEsp(*sess[which[i]], rng));
  }
  for (int i = 0; i < kN; ++i) {
    ops[i] = MakeOp(*sess[which[i]], pkts[i], CryptoDir::kEncrypt);
    ptrs[i] = &ops[i];
  }
  const std::vector<EspBuf> plain = pkts;
  ASSERT_EQ(e.Enqueue(ptrs.data(), kN), kN);
  ASSERT_EQ(DequeueAll(e, done.data(), kN), size_t{kN});
  for (int i = 0; i < kN; ++i) {
    ASSERT_EQ(done[i], &ops[i]);
    ASSERT_EQ(ops[i].status, CryptoStatus::kOk);
    EspBuf copy = pkts[i];
    ASSERT_TRUE(OsslEsp(keys[which[i]], copy, false)) << PairName(pairs[which[i]]);
    ASSERT_TRUE(std::equal(copy.b.begin(), copy.b.begin() + copy.icv_off, plain[i].b.begin()));
  }
}

// ---------------------------------------------------------------- tamper detection

TEST_P(CryptoTamper, OneFlippedBitFailsTheIcv) {
  CryptoEngine& e = E();
  std::mt19937 rng(4303);
  for (const Pair p : AllPairs()) {
    if (p.a == AuthAlg::kNull && !IsAead(p.c)) continue;
    SCOPED_TRACE(PairName(p));
    SaKeys k(p, rng);
    auto s = MakeSession(e, p.c, k.ck_, p.a, k.ak_);
    ASSERT_NE(s, nullptr);
    for (int t = 0; t < 30; ++t) {
      EspBuf pkt = MakeEsp(*s, rng);
      CryptoOp op = MakeOp(*s, pkt, CryptoDir::kEncrypt);
      ASSERT_EQ(RunOne(e, &op), CryptoStatus::kOk);
      const EspBuf sent = pkt;
      // Untouched: verifies.
      op = MakeOp(*s, pkt, CryptoDir::kDecrypt);
      ASSERT_EQ(RunOne(e, &op), CryptoStatus::kOk);
      // One bit flipped in the covered bytes (header, IV, ciphertext, ICV; for ESN GCM
      // also the out-of-packet high sequence bits).
      pkt = sent;
      const size_t covered = pkt.icv_off + pkt.icv_len;
      const size_t pos = rng() % (covered + (pkt.esn ? 4 : 0));
      if (pos < covered)
        pkt.b[pos] ^= static_cast<uint8_t>(1u << (rng() % 8));
      else
        pkt.esn_aad[4 + (pos - covered)] ^= static_cast<uint8_t>(1u << (rng() % 8));
      op = MakeOp(*s, pkt, CryptoDir::kDecrypt);
      EXPECT_EQ(RunOne(e, &op), CryptoStatus::kAuthFailed) << "bit at byte " << pos;
    }
    if (IsAead(p.c)) {  // the explicit IV feeds the nonce, so changing it fails too
      EspBuf pkt = MakeEsp(*s, rng);
      CryptoOp op = MakeOp(*s, pkt, CryptoDir::kEncrypt);
      ASSERT_EQ(RunOne(e, &op), CryptoStatus::kOk);
      pkt.b[8 + rng() % 8] ^= 0x80;
      op = MakeOp(*s, pkt, CryptoDir::kDecrypt);
      EXPECT_EQ(RunOne(e, &op), CryptoStatus::kAuthFailed);
    }
  }
}


// ---------------------------------------------------------------- engine contract

// A fresh engine holding 128 ops, how to recognise it, and whether it is synchronous.
struct ContractCase {
  const char* name;
  std::function<absl::StatusOr<std::unique_ptr<CryptoEngine>>()> make;
  const char* name_part;
  bool synchronous;
};
std::vector<ContractCase> ContractCases() {
  return {
      {"IpsecMbNoCheck",
       [] {
         IpsecMbOptions o;
         o.capacity = 100;  // rounds up to 128
         return CreateIpsecMbEngine(o);
       },
       "ipsec-mb", true},
      {"IpsecMbLibraryChecks",
       [] {
         IpsecMbOptions o;
         o.capacity = 100;
         o.check_jobs = true;  // a refused burst is rerun job by job
         return CreateIpsecMbEngine(o);
       },
       "ipsec-mb", true},
      {"Cryptodev",
       [] {
         CryptodevEngineOptions o;
         o.capacity = 128;
         return TestDevice().MakeEngine(1, o);
       },
       "cryptodev/crypto_aesni_mb", false},
  };
}

void PrintTo(const ContractCase& c, std::ostream* os) { *os << c.name; }

class ContractTest : public ::testing::TestWithParam<ContractCase> {};

TEST_P(ContractTest, CapacityOrderAndErrors) {
  auto er = GetParam().make();
  ASSERT_TRUE(er.ok()) << er.status();
  CryptoEngine& e = **er;
  EXPECT_EQ(e.IsSynchronous(), GetParam().synchronous);
  EXPECT_EQ(e.Capacity(), 128u);
  EXPECT_NE(e.Name().find(GetParam().name_part), std::string_view::npos) << e.Name();
  std::mt19937 rng(7);
  SaKeys kc({CipherAlg::kAes128Cbc, AuthAlg::kHmacSha1_96}, rng);
  SaKeys kg({CipherAlg::kAes256Gcm, AuthAlg::kNull}, rng);
  auto sc = MakeSession(e, kc.p_.c, kc.ck_, kc.p_.a, kc.ak_);
  auto sg = MakeSession(e, kg.p_.c, kg.ck_, kg.p_.a, kg.ak_);

  constexpr int kN = 300;
  std::vector<EspBuf> pkts;
  std::vector<CryptoOp> ops(kN);
  std::vector<CryptoOp*> ptrs(kN);
  for (int i = 0; i < kN; ++i) pkts.push_back(MakeEsp(i % 3 ? *sc : *sg, rng));
  for (int i = 0; i < kN; ++i) {
    ops[i] = MakeOp(i % 3 ? *sc : *sg, pkts[i], CryptoDir::kEncrypt);
    ptrs[i] = &ops[i];
  }
  // Bad ops in the middle: a CBC length that is not a whole block (the engine's own
  // check), and a GCM op whose AAD pointer is missing (with check_jobs the library
  // refuses the burst and the engine reruns it job by job).
  ops[70].cipher_len -= 4;
  ops[69].aad = nullptr;  // 69 % 3 == 0 -> GCM

  // More than the engine holds: a prefix is accepted.
  ASSERT_EQ(e.Enqueue(ptrs.data(), kN), 128);
  EXPECT_EQ(e.InFlight(), 128u);
  EXPECT_EQ(e.Enqueue(ptrs.data() + 128, kN - 128), 0);
  EXPECT_EQ(ops[128].status, CryptoStatus::kNotProcessed);
  std::vector<CryptoOp*> out;
  CryptoOp* buf[64];
  // Dequeue in small steps, enqueue more as room appears.
  int next = 128;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (out.size() < kN) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no progress";
    const uint16_t k = e.Dequeue(buf, 10);
    ASSERT_LE(k, 10);
    out.insert(out.end(), buf, buf + k);
    if (next < kN) next += e.Enqueue(ptrs.data() + next, static_cast<uint16_t>(kN - next));
    ASSERT_LE(e.InFlight(), e.Capacity());
    if (k == 0 && next == kN && e.InFlight() == 0) break;
  }
  ASSERT_EQ(out.size(), static_cast<size_t>(kN));
  EXPECT_EQ(e.Dequeue(buf, 64), 0);
  for (int i = 0; i < kN; ++i) {
    ASSERT_EQ(out[i], &ops[i]) << "order at " << i;
    const bool bad = i == 69 || i == 70;
    EXPECT_EQ(ops[i].status, bad ? CryptoStatus::kError : CryptoStatus::kOk) << i;
  }
  // The good ones decrypt back.
  for (int i = 0; i < kN; ++i) {
    if (ops[i].status != CryptoStatus::kOk) continue;
    ops[i] = MakeOp(i % 3 ? *sc : *sg, pkts[i], CryptoDir::kDecrypt);
    EXPECT_EQ(RunOne(e, &ops[i]), CryptoStatus::kOk) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, ContractTest, ::testing::ValuesIn(ContractCases()),
                         [](const ::testing::TestParamInfo<ContractCase>& i) {
                           return std::string(i.param.name);
                         });

}  // namespace
}  // namespace arsec::crypto::testing
