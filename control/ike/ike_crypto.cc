// IKEv1 cryptography (RFC 2409) on OpenSSL 3 libcrypto: see ike_crypto.h for the formulas.
//
// How it is built:
// - Providers: OpenSSL 3 keeps single DES in the "legacy" provider. The first use of a
//   cipher loads "default" and "legacy" into the default library context exactly once
//   (a function-local static, so thread-safe) and fetches every cipher and digest we use.
//   If "legacy" is missing, DES alone fails with FAILED_PRECONDITION; all else works.
// - PRF: HMAC through EVP_MAC, fed part by part so that no concatenation of secrets is
//   ever built in a temporary buffer.
// - Diffie-Hellman: plain BIGNUM arithmetic over the MODP primes embedded below (the RFC
//   text; the unit test checks them against OpenSSL's BN_get_rfc* built-ins and against
//   primes derived from pi in tests/unit/ike/make_crypto_vectors.py). Plain BN rather than
//   EVP_PKEY so that a fixed private value (tests) and a random one take the same path.
//   The exponentiation is constant-time (BN_FLG_CONSTTIME, BN_mod_exp_mont_consttime).
//   Private exponents are random with their top bit set, of the length RFC 3526 section 8
//   gives as the upper end for each group (320 bits for group 14 up to 620 bits for group
//   18) and 256 bits for the smaller groups 1, 2 and 5, i.e. at least twice the group's
//   security strength.
// - CBC: EVP with padding off; Encrypt zero-pads the area to the block length itself.
// - Anything libcrypto does not do on valid arguments (allocation failures) is fatal:
//   a key schedule that silently produced nothing would be worse than stopping.
#include "control/ike/ike_crypto.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/status/status.h"

namespace arsec::ike {

namespace {

// ---- the MODP primes, most significant hex digit first; generator 2 for all groups.
// Group 1: RFC 2409 6.1, 768 bits.
constexpr char kModp1[] =
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A63A3620FFFFFFFFFFFFFFFF";
// Group 2: RFC 2409 6.2, 1024 bits.
constexpr char kModp2[] =
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF";
// Group 5: RFC 3526 section 2, 1536 bits.
constexpr char kModp5[] =
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
    "9ED529077096966D670C354E4ABC9804F1746C08CA237327FFFFFFFFFFFFFFFF";
// Group 14: RFC 3526 section 3, 2048 bits.
constexpr char kModp14[] =
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718"
    "3995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF";
// Group 15: RFC 3526 section 4, 3072 bits.
constexpr char kModp15[] =
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718"
    "3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33"
    "A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864"
    "D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2"
    "08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF";
// Group 16: RFC 3526 section 5, 4096 bits.
constexpr char kModp16[] =
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718"
    "3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33"
    "A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864"
    "D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2"
    "08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A92108011A723C12A787E6D7"
    "88719A10BDBA5B2699C327186AF4E23C1A946834B6150BDA2583E9CA2AD44CE8"
    "DBBBC2DB04DE8EF92E8EFC141FBECAA6287C59474E6BC05D99B2964FA090C3A2"
    "233BA186515BE7ED1F612970CEE2D7AFB81BDD762170481CD0069127D5B05AA9"
    "93B4EA988D8FDDC186FFB7DC90A6C08F4DF435C934063199FFFFFFFFFFFFFFFF";
// Group 17: RFC 3526 section 6, 6144 bits.
constexpr char kModp17[] =
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718"
    "3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33"
    "A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864"
    "D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2"
    "08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A92108011A723C12A787E6D7"
    "88719A10BDBA5B2699C327186AF4E23C1A946834B6150BDA2583E9CA2AD44CE8"
    "DBBBC2DB04DE8EF92E8EFC141FBECAA6287C59474E6BC05D99B2964FA090C3A2"
    "233BA186515BE7ED1F612970CEE2D7AFB81BDD762170481CD0069127D5B05AA9"
    "93B4EA988D8FDDC186FFB7DC90A6C08F4DF435C93402849236C3FAB4D27C7026"
    "C1D4DCB2602646DEC9751E763DBA37BDF8FF9406AD9E530EE5DB382F413001AE"
    "B06A53ED9027D831179727B0865A8918DA3EDBEBCF9B14ED44CE6CBACED4BB1B"
    "DB7F1447E6CC254B332051512BD7AF426FB8F401378CD2BF5983CA01C64B92EC"
    "F032EA15D1721D03F482D7CE6E74FEF6D55E702F46980C82B5A84031900B1C9E"
    "59E7C97FBEC7E8F323A97A7E36CC88BE0F1D45B7FF585AC54BD407B22B4154AA"
    "CC8F6D7EBF48E1D814CC5ED20F8037E0A79715EEF29BE32806A1D58BB7C5DA76"
    "F550AA3D8A1FBFF0EB19CCB1A313D55CDA56C9EC2EF29632387FE8D76E3C0468"
    "043E8F663F4860EE12BF2D5B0B7474D6E694F91E6DCC4024FFFFFFFFFFFFFFFF";
// Group 18: RFC 3526 section 7, 8192 bits.
constexpr char kModp18[] =
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718"
    "3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33"
    "A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864"
    "D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2"
    "08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A92108011A723C12A787E6D7"
    "88719A10BDBA5B2699C327186AF4E23C1A946834B6150BDA2583E9CA2AD44CE8"
    "DBBBC2DB04DE8EF92E8EFC141FBECAA6287C59474E6BC05D99B2964FA090C3A2"
    "233BA186515BE7ED1F612970CEE2D7AFB81BDD762170481CD0069127D5B05AA9"
    "93B4EA988D8FDDC186FFB7DC90A6C08F4DF435C93402849236C3FAB4D27C7026"
    "C1D4DCB2602646DEC9751E763DBA37BDF8FF9406AD9E530EE5DB382F413001AE"
    "B06A53ED9027D831179727B0865A8918DA3EDBEBCF9B14ED44CE6CBACED4BB1B"
    "DB7F1447E6CC254B332051512BD7AF426FB8F401378CD2BF5983CA01C64B92EC"
    "F032EA15D1721D03F482D7CE6E74FEF6D55E702F46980C82B5A84031900B1C9E"
    "59E7C97FBEC7E8F323A97A7E36CC88BE0F1D45B7FF585AC54BD407B22B4154AA"
    "CC8F6D7EBF48E1D814CC5ED20F8037E0A79715EEF29BE32806A1D58BB7C5DA76"
    "F550AA3D8A1FBFF0EB19CCB1A313D55CDA56C9EC2EF29632387FE8D76E3C0468"
    "043E8F663F4860EE12BF2D5B0B7474D6E694F91E6DBE115974A3926F12FEE5E4"
    "38777CB6A932DF8CD8BEC4D073B931BA3BC832B68D9DD300741FA7BF8AFC47ED"
    "2576F6936BA424663AAB639C5AE4F5683423B4742BF1C978238F16CBE39D652D"
    "E3FDB8BEFC848AD922222E04A4037C0713EB57A81A23F0C73473FC646CEA306B"
    "4BCBC8862F8385DDFA9D4B7FA2C087E879683303ED5BDD3A062B3CF5B3A278A6"
    "6D2A13F83F44F82DDF310EE074AB6A364597E899A0255DC164F31CC50846851D"
    "F9AB48195DED7EA1B1D510BD7EE74D73FAF36BC31ECFA268359046F4EB879F92"
    "4009438B481C6CD7889A002ED5EE382BC9190DA6FC026E479558E4475677E9AA"
    "9E3050E2765694DFC81F56E880B96E7160C980DD98EDD3DFFFFFFFFFFFFFFFFF";

struct ModpGroup {
  int group;
  const char* prime_hex;
  int exponent_bits;   // private exponent length, see the file comment
};

constexpr ModpGroup kGroups[] = {
    {1, kModp1, 256},   {2, kModp2, 256},   {5, kModp5, 256},   {14, kModp14, 320},
    {15, kModp15, 420}, {16, kModp16, 480}, {17, kModp17, 540}, {18, kModp18, 620},
};

const ModpGroup* FindGroup(int group) {
  for (const ModpGroup& g : kGroups)
    if (g.group == group) return &g;
  return nullptr;
}

[[noreturn]] void Fatal(const char* what) {
  // No key material ever reaches here; only the name of the failing operation.
  fprintf(stderr, "arsec ike_crypto: libcrypto failure in %s\n", what);
  std::abort();
}

struct BnFree {
  void operator()(BIGNUM* b) const { BN_clear_free(b); }
};
struct BnCtxFree {
  void operator()(BN_CTX* c) const { BN_CTX_free(c); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
using BnCtxPtr = std::unique_ptr<BN_CTX, BnCtxFree>;

// The parsed primes, p - 1 and a Montgomery context per group, built once.
struct GroupParams {
  BIGNUM* p = nullptr;
  BIGNUM* p_minus_1 = nullptr;
  BN_MONT_CTX* mont = nullptr;
};

const GroupParams& Params(const ModpGroup& g) {
  static const std::array<GroupParams, std::size(kGroups)>* all = [] {
    auto* a = new std::array<GroupParams, std::size(kGroups)>();
    BnCtxPtr ctx(BN_CTX_new());
    if (!ctx) Fatal("BN_CTX_new");
    for (size_t i = 0; i < std::size(kGroups); ++i) {
      GroupParams& gp = (*a)[i];
      if (BN_hex2bn(&gp.p, kGroups[i].prime_hex) == 0) Fatal("BN_hex2bn");
      gp.p_minus_1 = BN_dup(gp.p);
      if (gp.p_minus_1 == nullptr || !BN_sub_word(gp.p_minus_1, 1)) Fatal("BN_sub_word");
      gp.mont = BN_MONT_CTX_new();
      if (gp.mont == nullptr || !BN_MONT_CTX_set(gp.mont, gp.p, ctx.get()))
        Fatal("BN_MONT_CTX_set");
    }
    return a;
  }();
  return (*all)[static_cast<size_t>(&g - kGroups)];
}

// ---- providers, ciphers and digests, fetched once.
struct Algorithms {
  bool legacy = false;
  EVP_CIPHER* des = nullptr;
  EVP_CIPHER* des3 = nullptr;
  EVP_CIPHER* aes128 = nullptr;
  EVP_CIPHER* aes192 = nullptr;
  EVP_CIPHER* aes256 = nullptr;
  EVP_MD* md[5] = {};
  EVP_MAC* hmac = nullptr;
};

constexpr const char* kDigestNames[5] = {"MD5", "SHA1", "SHA256", "SHA384", "SHA512"};

const Algorithms& Algs() {
  static const Algorithms* algs = [] {
    auto* a = new Algorithms();
    // Loading a provider explicitly stops the implicit load of "default", so load both.
    // They stay loaded for the life of the process.
    if (OSSL_PROVIDER_load(nullptr, "default") == nullptr) Fatal("OSSL_PROVIDER_load(default)");
    a->legacy = OSSL_PROVIDER_load(nullptr, "legacy") != nullptr;
    if (a->legacy) a->des = EVP_CIPHER_fetch(nullptr, "DES-CBC", nullptr);
    a->des3 = EVP_CIPHER_fetch(nullptr, "DES-EDE3-CBC", nullptr);
    a->aes128 = EVP_CIPHER_fetch(nullptr, "AES-128-CBC", nullptr);
    a->aes192 = EVP_CIPHER_fetch(nullptr, "AES-192-CBC", nullptr);
    a->aes256 = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
    if (!a->des3 || !a->aes128 || !a->aes192 || !a->aes256) Fatal("EVP_CIPHER_fetch");
    for (int i = 0; i < 5; ++i) {
      a->md[i] = EVP_MD_fetch(nullptr, kDigestNames[i], nullptr);
      if (a->md[i] == nullptr) Fatal("EVP_MD_fetch");
    }
    a->hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (a->hmac == nullptr) Fatal("EVP_MAC_fetch");
    return a;
  }();
  return *algs;
}

void PutBe64(uint8_t* p, uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<uint8_t>(v);
}
void PutBe32(uint8_t* p, uint32_t v) {
  for (int i = 3; i >= 0; --i, v >>= 8) p[i] = static_cast<uint8_t>(v);
}

void Cleanse(Bytes& b) {
  if (!b.empty()) OPENSSL_cleanse(b.data(), b.size());
}

Bytes HashParts(PrfHash h, std::initializer_list<ByteSpan> parts) {
  const Algorithms& a = Algs();
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr || !EVP_DigestInit_ex2(ctx, a.md[static_cast<int>(h)], nullptr))
    Fatal("EVP_DigestInit_ex2");
  for (ByteSpan p : parts)
    if (!p.empty() && !EVP_DigestUpdate(ctx, p.data(), p.size())) Fatal("EVP_DigestUpdate");
  Bytes out(HashLen(h));
  unsigned int n = 0;
  if (!EVP_DigestFinal_ex(ctx, out.data(), &n) || n != out.size()) Fatal("EVP_DigestFinal_ex");
  EVP_MD_CTX_free(ctx);
  return out;
}

const EVP_CIPHER* CipherFor(P1Cipher c, size_t key_len, absl::Status* st) {
  const Algorithms& a = Algs();
  switch (c) {
    case P1Cipher::kDes:
      if (key_len != 8) break;
      if (a.des == nullptr) {
        *st = absl::FailedPreconditionError(
            "DES-CBC is unavailable: the OpenSSL legacy provider could not be loaded");
        return nullptr;
      }
      return a.des;
    case P1Cipher::k3Des:
      if (key_len != 24) break;
      return a.des3;
    case P1Cipher::kAesCbc:
      if (key_len == 16) return a.aes128;
      if (key_len == 24) return a.aes192;
      if (key_len == 32) return a.aes256;
      break;
  }
  *st = absl::InvalidArgumentError("CBC: key length does not fit the cipher");
  return nullptr;
}

absl::StatusOr<Bytes> Cbc(bool encrypt, P1Cipher c, ByteSpan key, ByteSpan iv, ByteSpan in,
                          Bytes* next_iv) {
  absl::Status st;
  const EVP_CIPHER* cipher = CipherFor(c, key.size(), &st);
  if (cipher == nullptr) return st;
  const size_t bl = BlockLen(c);
  if (iv.size() != bl) return absl::InvalidArgumentError("CBC: IV is not one block");
  if (in.empty()) return absl::InvalidArgumentError("CBC: nothing to process");
  if (!encrypt && in.size() % bl != 0)
    return absl::InvalidArgumentError("CBC: ciphertext is not a whole number of blocks");

  Bytes buf(in.begin(), in.end());
  buf.resize((in.size() + bl - 1) / bl * bl, 0);   // zero padding (encrypt only)
  Bytes out(buf.size());
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr) Fatal("EVP_CIPHER_CTX_new");
  int n1 = 0, n2 = 0;
  bool ok = EVP_CipherInit_ex2(ctx, cipher, key.data(), iv.data(), encrypt ? 1 : 0, nullptr) &&
            EVP_CIPHER_CTX_set_padding(ctx, 0) &&
            EVP_CipherUpdate(ctx, out.data(), &n1, buf.data(), static_cast<int>(buf.size())) &&
            EVP_CipherFinal_ex(ctx, out.data() + n1, &n2);
  EVP_CIPHER_CTX_free(ctx);
  Cleanse(buf);
  if (!ok || static_cast<size_t>(n1 + n2) != out.size()) {
    Cleanse(out);
    return absl::InternalError("CBC: the cipher operation failed");
  }
  if (next_iv != nullptr) {
    const ByteSpan ct = encrypt ? ByteSpan(out) : in;
    next_iv->assign(ct.end() - bl, ct.end());
  }
  return out;
}

// prf(SKEYID, x | g^xy | CKY-I | CKY-R | n): the SKEYID_d/a/e step.
Bytes DeriveStep(PrfHash h, ByteSpan skeyid, ByteSpan prev, ByteSpan gxy, uint64_t icookie,
                 uint64_t rcookie, uint8_t n) {
  uint8_t cky[17];
  PutBe64(cky, icookie);
  PutBe64(cky + 8, rcookie);
  cky[16] = n;
  return PrfParts(h, skeyid, {prev, gxy, ByteSpan(cky, sizeof(cky))});
}

Bytes AuthHash(PrfHash h, ByteSpan skeyid, ByteSpan g_first, ByteSpan g_second,
               uint64_t cky_first, uint64_t cky_second, ByteSpan sai_b, ByteSpan id_b) {
  uint8_t cky[16];
  PutBe64(cky, cky_first);
  PutBe64(cky + 8, cky_second);
  return PrfParts(h, skeyid, {g_first, g_second, ByteSpan(cky, sizeof(cky)), sai_b, id_b});
}

}  // namespace

// ---- hashes and prf
size_t HashLen(PrfHash h) {
  switch (h) {
    case PrfHash::kMd5: return 16;
    case PrfHash::kSha1: return 20;
    case PrfHash::kSha256: return 32;
    case PrfHash::kSha384: return 48;
    case PrfHash::kSha512: return 64;
  }
  return 0;
}

Bytes Hash(PrfHash h, ByteSpan data) { return HashParts(h, {data}); }

Bytes Prf(PrfHash h, ByteSpan key, ByteSpan data) { return PrfParts(h, key, {data}); }

Bytes PrfParts(PrfHash h, ByteSpan key, std::initializer_list<ByteSpan> parts) {
  const Algorithms& a = Algs();
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(a.hmac);
  if (ctx == nullptr) Fatal("EVP_MAC_CTX_new");
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                       const_cast<char*>(kDigestNames[static_cast<int>(h)]), 0),
      OSSL_PARAM_construct_end()};
  // A null key pointer means "keep the previous key" to EVP_MAC_init; an empty key is a
  // valid (if useless) HMAC key, so always pass a real pointer.
  static const uint8_t kNoKey = 0;
  const uint8_t* k = key.empty() ? &kNoKey : key.data();
  if (!EVP_MAC_init(ctx, k, key.size(), params)) Fatal("EVP_MAC_init");
  for (ByteSpan p : parts)
    if (!p.empty() && !EVP_MAC_update(ctx, p.data(), p.size())) Fatal("EVP_MAC_update");
  Bytes out(HashLen(h));
  size_t n = 0;
  if (!EVP_MAC_final(ctx, out.data(), &n, out.size()) || n != out.size()) Fatal("EVP_MAC_final");
  EVP_MAC_CTX_free(ctx);
  return out;
}

size_t BlockLen(P1Cipher c) { return c == P1Cipher::kAesCbc ? 16 : 8; }

size_t CipherKeyLen(P1Cipher c, int key_bits) {
  switch (c) {
    case P1Cipher::kDes: return 8;
    case P1Cipher::k3Des: return 24;
    case P1Cipher::kAesCbc:
      return (key_bits == 128 || key_bits == 192 || key_bits == 256)
                 ? static_cast<size_t>(key_bits) / 8
                 : 0;
  }
  return 0;
}

void RandomBytes(uint8_t* out, size_t n) {
  // Nonces, cookies and exponents: a failing DRBG must not yield predictable values.
  if (n > 0 && RAND_bytes(out, static_cast<int>(n)) != 1) Fatal("RAND_bytes");
}

Bytes RandomBytes(size_t n) {
  Bytes b(n);
  RandomBytes(b.data(), n);
  return b;
}

// ---- Diffie-Hellman
bool DhGroupSupported(int group) { return FindGroup(group) != nullptr; }

size_t DhLen(int group) {
  const ModpGroup* g = FindGroup(group);
  return g == nullptr ? 0 : std::strlen(g->prime_hex) / 2;
}

namespace {

// g^x mod p, or peer^x mod p, left-padded to the group's length.
absl::StatusOr<Bytes> ModExp(const ModpGroup& g, const BIGNUM* base, ByteSpan priv) {
  const GroupParams& gp = Params(g);
  BnCtxPtr ctx(BN_CTX_secure_new());
  BnPtr x(BN_secure_new());
  BnPtr r(BN_secure_new());
  if (!ctx || !x || !r) Fatal("BN_new");
  if (BN_bin2bn(priv.data(), static_cast<int>(priv.size()), x.get()) == nullptr)
    Fatal("BN_bin2bn");
  BN_set_flags(x.get(), BN_FLG_CONSTTIME);
  if (!BN_mod_exp_mont_consttime(r.get(), base, x.get(), gp.p, ctx.get(), gp.mont))
    return absl::InternalError("DH: modular exponentiation failed");
  Bytes out(DhLen(g.group));
  if (BN_bn2binpad(r.get(), out.data(), static_cast<int>(out.size())) < 0)
    Fatal("BN_bn2binpad");
  return out;
}

}  // namespace

absl::StatusOr<DhKeyPair> DhKeyPair::Generate(int group) {
  const ModpGroup* g = FindGroup(group);
  if (g == nullptr) return absl::InvalidArgumentError("DH: unsupported MODP group");
  BnPtr x(BN_secure_new());
  if (!x) Fatal("BN_secure_new");
  // Top bit set: the exponent has exactly exponent_bits bits, far below p - 1.
  if (!BN_priv_rand_ex(x.get(), g->exponent_bits, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY, 0,
                       nullptr))
    return absl::InternalError("DH: random private value failed");
  Bytes priv(static_cast<size_t>(g->exponent_bits + 7) / 8);
  if (BN_bn2binpad(x.get(), priv.data(), static_cast<int>(priv.size())) < 0)
    Fatal("BN_bn2binpad");
  absl::StatusOr<DhKeyPair> kp = FromPrivate(group, priv);
  Cleanse(priv);
  return kp;
}

absl::StatusOr<DhKeyPair> DhKeyPair::FromPrivate(int group, ByteSpan priv) {
  const ModpGroup* g = FindGroup(group);
  if (g == nullptr) return absl::InvalidArgumentError("DH: unsupported MODP group");
  if (priv.empty() || priv.size() > DhLen(group))
    return absl::InvalidArgumentError("DH: private value of a wrong length");
  {
    // 1 <= x < p - 1
    BnPtr x(BN_secure_new());
    if (!x || BN_bin2bn(priv.data(), static_cast<int>(priv.size()), x.get()) == nullptr)
      Fatal("BN_bin2bn");
    if (BN_is_zero(x.get()) || BN_cmp(x.get(), Params(*g).p_minus_1) >= 0)
      return absl::InvalidArgumentError("DH: private value out of range");
  }
  BnPtr two(BN_new());
  if (!two || !BN_set_word(two.get(), 2)) Fatal("BN_set_word");
  absl::StatusOr<Bytes> pub = ModExp(*g, two.get(), priv);
  if (!pub.ok()) return pub.status();
  DhKeyPair kp;
  kp.group_ = group;
  kp.priv_ = SecretBytes(Bytes(priv.begin(), priv.end()));
  kp.pub_ = std::move(*pub);
  return kp;
}

absl::StatusOr<SecretBytes> DhKeyPair::Shared(ByteSpan peer_public) const {
  const ModpGroup* g = FindGroup(group_);
  if (g == nullptr || priv_.empty())
    return absl::FailedPreconditionError("DH: no key pair");
  if (peer_public.size() != DhLen(group_))
    return absl::InvalidArgumentError("DH: peer public value of a wrong length");
  const GroupParams& gp = Params(*g);
  BnPtr y(BN_bin2bn(peer_public.data(), static_cast<int>(peer_public.size()), nullptr));
  if (!y) Fatal("BN_bin2bn");
  // 1 < y < p - 1: rejects 0, 1, p - 1 (the small subgroup) and anything >= p.
  if (BN_cmp(y.get(), BN_value_one()) <= 0 || BN_cmp(y.get(), gp.p_minus_1) >= 0)
    return absl::InvalidArgumentError("DH: peer public value out of range");
  absl::StatusOr<Bytes> z = ModExp(*g, y.get(), priv_.span());
  if (!z.ok()) return z.status();
  return SecretBytes(std::move(*z));
}

// ---- phase 1 keys
SecretBytes SkeyidPsk(PrfHash h, ByteSpan psk, ByteSpan ni_b, ByteSpan nr_b) {
  return SecretBytes(PrfParts(h, psk, {ni_b, nr_b}));
}

SecretBytes SkeyidSig(PrfHash h, ByteSpan ni_b, ByteSpan nr_b, ByteSpan gxy) {
  Bytes key;
  key.reserve(ni_b.size() + nr_b.size());
  key.insert(key.end(), ni_b.begin(), ni_b.end());
  key.insert(key.end(), nr_b.begin(), nr_b.end());
  SecretBytes out(Prf(h, key, gxy));
  Cleanse(key);
  return out;
}

Phase1Keys DerivePhase1(PrfHash h, P1Cipher c, int key_bits, SecretBytes skeyid,
                        ByteSpan gxy, uint64_t icookie, uint64_t rcookie) {
  Phase1Keys k;
  k.skeyid = std::move(skeyid);
  const ByteSpan s = k.skeyid.span();
  k.skeyid_d = SecretBytes(DeriveStep(h, s, {}, gxy, icookie, rcookie, 0));
  k.skeyid_a = SecretBytes(DeriveStep(h, s, k.skeyid_d.span(), gxy, icookie, rcookie, 1));
  k.skeyid_e = SecretBytes(DeriveStep(h, s, k.skeyid_a.span(), gxy, icookie, rcookie, 2));

  const size_t need = CipherKeyLen(c, key_bits);
  const Bytes& e = k.skeyid_e.bytes();
  if (need <= e.size()) {
    k.enc_key = SecretBytes(Bytes(e.begin(), e.begin() + static_cast<ptrdiff_t>(need)));
    return k;
  }
  // Appendix B: K1 = prf(SKEYID_e, 0), Kn = prf(SKEYID_e, Kn-1); Ka = K1 | K2 | ...
  Bytes out;
  out.reserve(need + HashLen(h));
  static const uint8_t kZero = 0;
  Bytes kn = Prf(h, e, ByteSpan(&kZero, 1));
  while (true) {
    out.insert(out.end(), kn.begin(), kn.end());
    if (out.size() >= need) break;
    Bytes next = Prf(h, e, kn);
    Cleanse(kn);
    kn = std::move(next);
  }
  Cleanse(kn);
  k.enc_key = SecretBytes(Bytes(out.begin(), out.begin() + static_cast<ptrdiff_t>(need)));
  Cleanse(out);
  return k;
}

Bytes Phase1Iv(PrfHash h, P1Cipher c, ByteSpan gxi, ByteSpan gxr) {
  Bytes iv = HashParts(h, {gxi, gxr});
  iv.resize(std::min(iv.size(), BlockLen(c)));
  return iv;
}

Bytes Phase2Iv(PrfHash h, P1Cipher c, ByteSpan last_phase1_block, uint32_t message_id) {
  uint8_t mid[4];
  PutBe32(mid, message_id);
  Bytes iv = HashParts(h, {last_phase1_block, ByteSpan(mid, sizeof(mid))});
  iv.resize(std::min(iv.size(), BlockLen(c)));
  return iv;
}

absl::StatusOr<Bytes> CbcEncrypt(P1Cipher c, ByteSpan key, ByteSpan iv, ByteSpan plain,
                                 Bytes* next_iv) {
  return Cbc(true, c, key, iv, plain, next_iv);
}

absl::StatusOr<Bytes> CbcDecrypt(P1Cipher c, ByteSpan key, ByteSpan iv, ByteSpan cipher,
                                 Bytes* next_iv) {
  return Cbc(false, c, key, iv, cipher, next_iv);
}

// ---- authentication hashes
Bytes HashI(PrfHash h, ByteSpan skeyid, ByteSpan gxi, ByteSpan gxr, uint64_t icookie,
            uint64_t rcookie, ByteSpan sai_b, ByteSpan idii_b) {
  return AuthHash(h, skeyid, gxi, gxr, icookie, rcookie, sai_b, idii_b);
}

Bytes HashR(PrfHash h, ByteSpan skeyid, ByteSpan gxi, ByteSpan gxr, uint64_t icookie,
            uint64_t rcookie, ByteSpan sai_b, ByteSpan idir_b) {
  return AuthHash(h, skeyid, gxr, gxi, rcookie, icookie, sai_b, idir_b);
}

Bytes QmHash1(PrfHash h, ByteSpan skeyid_a, uint32_t message_id, ByteSpan rest) {
  uint8_t mid[4];
  PutBe32(mid, message_id);
  return PrfParts(h, skeyid_a, {ByteSpan(mid, sizeof(mid)), rest});
}

Bytes QmHash2(PrfHash h, ByteSpan skeyid_a, uint32_t message_id, ByteSpan ni_b, ByteSpan rest) {
  uint8_t mid[4];
  PutBe32(mid, message_id);
  return PrfParts(h, skeyid_a, {ByteSpan(mid, sizeof(mid)), ni_b, rest});
}

Bytes QmHash3(PrfHash h, ByteSpan skeyid_a, uint32_t message_id, ByteSpan ni_b, ByteSpan nr_b) {
  uint8_t zmid[5];
  zmid[0] = 0;
  PutBe32(zmid + 1, message_id);
  return PrfParts(h, skeyid_a, {ByteSpan(zmid, sizeof(zmid)), ni_b, nr_b});
}

// ---- KEYMAT
SecretBytes Keymat(PrfHash h, ByteSpan skeyid_d, ByteSpan gxy_qm, uint8_t protocol,
                   ByteSpan spi, ByteSpan ni_b, ByteSpan nr_b, size_t len) {
  const ByteSpan proto(&protocol, 1);
  Bytes out;
  out.reserve(len + HashLen(h));
  Bytes kn;   // K(n-1); empty for K1
  while (out.size() < len) {
    Bytes next = PrfParts(h, skeyid_d, {kn, gxy_qm, proto, spi, ni_b, nr_b});
    Cleanse(kn);
    kn = std::move(next);
    out.insert(out.end(), kn.begin(), kn.end());
  }
  Cleanse(kn);
  SecretBytes km(Bytes(out.begin(), out.begin() + static_cast<ptrdiff_t>(len)));
  Cleanse(out);
  return km;
}

// ---- NAT-D (RFC 3947 section 3.2)
Bytes NatD(PrfHash h, uint64_t icookie, uint64_t rcookie, uint32_t ip, uint16_t port) {
  uint8_t buf[22];
  PutBe64(buf, icookie);
  PutBe64(buf + 8, rcookie);
  PutBe32(buf + 16, ip);
  buf[20] = static_cast<uint8_t>(port >> 8);
  buf[21] = static_cast<uint8_t>(port);
  return HashParts(h, {ByteSpan(buf, sizeof(buf))});
}

}  // namespace arsec::ike
