// Helpers shared by the crypto engine tests. See test_util.h.
#include "tests/unit/crypto/test_util.h"

#include <gtest/gtest.h>
#include <openssl/des.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <chrono>
#include <cstring>

namespace arsec::crypto::testing {

Bytes Hex(std::string_view h) {
  Bytes out;
  auto nib = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(nib(h[i]) << 4 | nib(h[i + 1]));
  return out;
}
Bytes Str(std::string_view s) { return Bytes(s.begin(), s.end()); }
Bytes Rep(uint8_t b, size_t n) { return Bytes(n, b); }
Bytes Seq(uint8_t from, size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(from + i);
  return b;
}
Bytes Cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
std::string ToHex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) { s += d[p[i] >> 4]; s += d[p[i] & 15]; }
  return s;
}
std::string ToHex(const Bytes& b) { return ToHex(b.data(), b.size()); }

std::unique_ptr<CryptoSession> MakeSession(CryptoEngine& e, CipherAlg c, const Bytes& ck,
                                           AuthAlg a, const Bytes& ak, uint8_t digest_len) {
  SessionParams p;
  p.cipher = c;
  p.auth = a;
  p.cipher_key = ck;
  p.auth_key = ak;
  p.digest_len = digest_len;
  auto s = e.CreateSession(p);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? std::move(*s) : nullptr;
}

size_t DequeueAll(CryptoEngine& e, CryptoOp** out, size_t n) {
  size_t got = 0;
  auto last_progress = std::chrono::steady_clock::now();
  while (got < n) {
    const uint16_t k =
        e.Dequeue(out + got, static_cast<uint16_t>(std::min<size_t>(n - got, UINT16_MAX)));
    got += k;
    if (k != 0) {
      last_progress = std::chrono::steady_clock::now();
    } else if (e.InFlight() == 0 ||
               std::chrono::steady_clock::now() - last_progress > std::chrono::seconds(2)) {
      break;
    }
  }
  return got;
}

CryptoStatus RunOne(CryptoEngine& e, CryptoOp* op) {
  op->status = CryptoStatus::kNotProcessed;
  EXPECT_EQ(e.Enqueue(&op, 1), 1);
  CryptoOp* out = nullptr;
  EXPECT_EQ(DequeueAll(e, &out, 1), 1u);
  EXPECT_EQ(out, op);
  return op->status;
}

namespace {
const CipherAlg kCiphers[] = {CipherAlg::kNull,      CipherAlg::kDesCbc,     CipherAlg::k3desCbc,
                              CipherAlg::kAes128Cbc, CipherAlg::kAes192Cbc, CipherAlg::kAes256Cbc};
const CipherAlg kAeads[] = {CipherAlg::kAes128Gcm, CipherAlg::kAes192Gcm, CipherAlg::kAes256Gcm};
const AuthAlg kAuths[] = {AuthAlg::kNull,          AuthAlg::kHmacMd5_96,
                          AuthAlg::kHmacSha1_96,   AuthAlg::kHmacSha256_128,
                          AuthAlg::kHmacSha384_192, AuthAlg::kHmacSha512_256};

const EVP_MD* Md(AuthAlg a) {
  switch (a) {
    case AuthAlg::kHmacMd5_96: return EVP_md5();
    case AuthAlg::kHmacSha1_96: return EVP_sha1();
    case AuthAlg::kHmacSha256_128: return EVP_sha256();
    case AuthAlg::kHmacSha384_192: return EVP_sha384();
    case AuthAlg::kHmacSha512_256: return EVP_sha512();
    default: return nullptr;
  }
}

const EVP_CIPHER* EvpCipher(CipherAlg c) {
  switch (c) {
    case CipherAlg::k3desCbc: return EVP_des_ede3_cbc();
    case CipherAlg::kAes128Cbc: return EVP_aes_128_cbc();
    case CipherAlg::kAes192Cbc: return EVP_aes_192_cbc();
    case CipherAlg::kAes256Cbc: return EVP_aes_256_cbc();
    case CipherAlg::kAes128Gcm: return EVP_aes_128_gcm();
    case CipherAlg::kAes192Gcm: return EVP_aes_192_gcm();
    case CipherAlg::kAes256Gcm: return EVP_aes_256_gcm();
    default: return nullptr;
  }
}
}  // namespace

std::vector<Pair> AllPairs() {
  std::vector<Pair> v;
  for (CipherAlg c : kCiphers)
    for (AuthAlg a : kAuths) v.push_back({c, a});
  for (CipherAlg c : kAeads) v.push_back({c, AuthAlg::kNull});
  return v;
}
std::string PairName(Pair p) {
  return std::string(CipherName(p.c)) + "+" + std::string(AuthName(p.a));
}

SaKeys::SaKeys(Pair p, std::mt19937& rng) : p_(p) {
  ck_ = Rand(CipherKeyLen(p.c), rng);
  if (p.c == CipherAlg::k3desCbc) {  // keep the three DES keys distinct
    ck_[0] ^= 0x10;
    ck_[8] ^= 0x20;
  }
  // Random HMAC key lengths, including longer than the hash block.
  if (p.a != AuthAlg::kNull) {
    const size_t lens[] = {AuthKeyLen(p.a), AuthKeyLen(p.a), 1 + rng() % 200};
    ak_ = Rand(lens[rng() % 3], rng);
  }
}
Bytes SaKeys::Rand(size_t n, std::mt19937& rng) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

EspBuf MakeEsp(const CryptoSession& s, std::mt19937& rng, int payload_len) {
  EspBuf e;
  const size_t iv = s.iv_len();
  const size_t blk = std::max<size_t>(4, s.block_len());
  const size_t payload = payload_len >= 0 ? static_cast<size_t>(payload_len) : rng() % 1500;
  e.ct_off = 8 + iv;
  e.ct_len = (payload + 2 + blk - 1) / blk * blk;
  e.icv_off = e.ct_off + e.ct_len;
  e.icv_len = s.digest_len();
  e.b = SaKeys::Rand(e.icv_off + e.icv_len, rng);
  e.esn = IsAead(s.cipher()) && (rng() & 1);
  if (e.esn) {
    e.esn_aad = SaKeys::Rand(12, rng);
    std::memcpy(e.esn_aad.data(), e.b.data(), 4);  // SPI
    std::memcpy(e.esn_aad.data() + 8, e.b.data() + 4, 4);  // seq low
  }
  return e;
}

CryptoOp MakeOp(const CryptoSession& s, EspBuf& e, CryptoDir dir) {
  CryptoOp op{};
  op.session = &s;
  op.data = e.b.data();
  op.iv = e.b.data() + e.iv_off;
  op.cipher_offset = static_cast<uint16_t>(e.ct_off);
  op.cipher_len = static_cast<uint16_t>(e.ct_len);
  op.auth_offset = 0;
  op.auth_len = static_cast<uint16_t>(e.icv_off);
  op.digest = e.b.data() + e.icv_off;
  if (IsAead(s.cipher())) {
    if (e.esn) {  // as the ESP stage does: SPI and low sequence bits from the packet
      std::memcpy(e.esn_aad.data(), e.b.data(), 4);
      std::memcpy(e.esn_aad.data() + 8, e.b.data() + 4, 4);
    }
    op.aad = e.esn ? e.esn_aad.data() : e.b.data();
    op.aad_len = e.esn ? 12 : 8;
  }
  op.dir = dir;
  op.status = CryptoStatus::kNotProcessed;
  return op;
}

Bytes OsslHmac(AuthAlg a, const Bytes& key, const uint8_t* d, size_t n) {
  uint8_t out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(Md(a), key.data(), static_cast<int>(key.size()), d, n, out, &len);
  return Bytes(out, out + len);
}

bool OsslEsp(const SaKeys& k, EspBuf& e, bool encrypt) {
  uint8_t* ct = e.b.data() + e.ct_off;
  const uint8_t* iv = e.b.data() + e.iv_off;
  uint8_t* icv = e.b.data() + e.icv_off;
  if (IsAead(k.p_.c)) {
    const size_t klen = k.ck_.size() - 4;
    uint8_t nonce[12];
    std::memcpy(nonce, k.ck_.data() + klen, 4);
    std::memcpy(nonce + 4, iv, 8);
    EVP_CIPHER_CTX* x = EVP_CIPHER_CTX_new();
    int len = 0;
    EVP_CipherInit_ex(x, EvpCipher(k.p_.c), nullptr, nullptr, nullptr, encrypt);
    EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_IVLEN, 12, nullptr);
    EVP_CipherInit_ex(x, nullptr, nullptr, k.ck_.data(), nonce, encrypt);
    const uint8_t* aad = e.esn ? e.esn_aad.data() : e.b.data();
    EVP_CipherUpdate(x, nullptr, &len, aad, e.esn ? 12 : 8);
    EVP_CipherUpdate(x, ct, &len, ct, static_cast<int>(e.ct_len));
    if (!encrypt) EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, 16, icv);
    const bool ok = EVP_CipherFinal_ex(x, ct + len, &len) == 1;
    if (encrypt) EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, 16, icv);
    EVP_CIPHER_CTX_free(x);
    return ok;
  }
  auto hmac = [&] {
    if (k.p_.a == AuthAlg::kNull) return true;
    const Bytes m = OsslHmac(k.p_.a, k.ak_, e.b.data(), e.icv_off);
    if (encrypt) {
      std::memcpy(icv, m.data(), e.icv_len);
      return true;
    }
    return std::memcmp(icv, m.data(), e.icv_len) == 0;
  };
  bool ok = true;
  if (!encrypt) ok = hmac();
  if (k.p_.c == CipherAlg::kDesCbc) {
    DES_key_schedule ks;
    DES_cblock key;
    std::memcpy(key, k.ck_.data(), 8);
    DES_set_key_unchecked(&key, &ks);
    DES_cblock ivb;
    std::memcpy(ivb, iv, 8);
    Bytes out(e.ct_len);
    DES_ncbc_encrypt(ct, out.data(), static_cast<long>(e.ct_len), &ks, &ivb,
                     encrypt ? DES_ENCRYPT : DES_DECRYPT);
    std::memcpy(ct, out.data(), e.ct_len);
  } else if (k.p_.c != CipherAlg::kNull) {
    EVP_CIPHER_CTX* x = EVP_CIPHER_CTX_new();
    int len = 0, len2 = 0;
    EVP_CipherInit_ex(x, EvpCipher(k.p_.c), nullptr, k.ck_.data(), iv, encrypt);
    EVP_CIPHER_CTX_set_padding(x, 0);
    Bytes out(e.ct_len + 32);
    EVP_CipherUpdate(x, out.data(), &len, ct, static_cast<int>(e.ct_len));
    EVP_CipherFinal_ex(x, out.data() + len, &len2);
    EXPECT_EQ(static_cast<size_t>(len + len2), e.ct_len);
    std::memcpy(ct, out.data(), e.ct_len);
    EVP_CIPHER_CTX_free(x);
  }
  if (encrypt) ok = hmac();
  return ok;
}

}  // namespace arsec::crypto::testing
