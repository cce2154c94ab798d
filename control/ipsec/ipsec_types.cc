// Keyword and wire-value tables of the IPsec configuration objects.
#include "control/ipsec/ipsec_types.h"

#include "absl/strings/match.h"
#include "dataplane/compress/ipcomp.h"
#include "dataplane/crypto/engine.h"

namespace arsec::control {
namespace {

template <typename E, size_t N>
std::optional<E> FromName(absl::string_view kw, const E (&all)[N],
                          absl::string_view (*name)(E)) {
  for (E e : all) {
    if (absl::EqualsIgnoreCase(kw, name(e))) return e;
  }
  return std::nullopt;
}

constexpr EncAlg kAllEnc[] = {EncAlg::kNull,      EncAlg::kDes,       EncAlg::k3DesOuter,
                              EncAlg::k3DesInner, EncAlg::kAes128,    EncAlg::kAes192,
                              EncAlg::kAes256,    EncAlg::kAes128Gcm, EncAlg::kAes256Gcm};
constexpr HashAlg kAllHash[] = {HashAlg::kNull,   HashAlg::kMd5,    HashAlg::kSha,
                                HashAlg::kSha256, HashAlg::kSha384, HashAlg::kSha512};
constexpr CompAlg kAllComp[] = {CompAlg::kLzs, CompAlg::kDeflate};

}  // namespace

absl::string_view EncAlgName(EncAlg a) {
  switch (a) {
    case EncAlg::kNull: return "NULL";
    case EncAlg::kDes: return "DES";
    case EncAlg::k3DesOuter: return "3DESOUTER";
    case EncAlg::k3DesInner: return "3DESINNER";
    case EncAlg::kAes128: return "AES128";
    case EncAlg::kAes192: return "AES192";
    case EncAlg::kAes256: return "AES256";
    case EncAlg::kAes128Gcm: return "AES128GCM";
    case EncAlg::kAes256Gcm: return "AES256GCM";
  }
  return "NULL";
}

absl::string_view HashAlgName(HashAlg a) {
  switch (a) {
    case HashAlg::kNull: return "NULL";
    case HashAlg::kMd5: return "MD5";
    case HashAlg::kSha: return "SHA";
    case HashAlg::kSha256: return "SHA256";
    case HashAlg::kSha384: return "SHA384";
    case HashAlg::kSha512: return "SHA512";
  }
  return "NULL";
}

absl::string_view CompAlgName(CompAlg a) {
  switch (a) {
    case CompAlg::kNone: return "-";
    case CompAlg::kLzs: return "LZS";
    case CompAlg::kDeflate: return "DEFLATE";
  }
  return "-";
}

std::optional<EncAlg> EncAlgFromKeyword(absl::string_view kw) {
  if (absl::EqualsIgnoreCase(kw, "3DES")) return EncAlg::k3DesOuter;
  return FromName(kw, kAllEnc, &EncAlgName);
}
std::optional<HashAlg> HashAlgFromKeyword(absl::string_view kw) {
  if (absl::EqualsIgnoreCase(kw, "SHA1")) return HashAlg::kSha;
  return FromName(kw, kAllHash, &HashAlgName);
}
std::optional<CompAlg> CompAlgFromKeyword(absl::string_view kw) {
  return FromName(kw, kAllComp, &CompAlgName);
}

bool IsGcm(EncAlg a) { return a == EncAlg::kAes128Gcm || a == EncAlg::kAes256Gcm; }

size_t EncKeyLength(EncAlg a) {
  switch (a) {
    case EncAlg::kNull: return 0;
    case EncAlg::kDes: return 8;
    case EncAlg::k3DesOuter:
    case EncAlg::k3DesInner: return 24;
    case EncAlg::kAes128: return 16;
    case EncAlg::kAes192: return 24;
    case EncAlg::kAes256: return 32;
    case EncAlg::kAes128Gcm: return 16 + 4;
    case EncAlg::kAes256Gcm: return 32 + 4;
  }
  return 0;
}

size_t HashKeyLength(HashAlg a) {
  switch (a) {
    case HashAlg::kNull: return 0;
    case HashAlg::kMd5: return 16;
    case HashAlg::kSha: return 20;
    case HashAlg::kSha256: return 32;
    case HashAlg::kSha384: return 48;
    case HashAlg::kSha512: return 64;
  }
  return 0;
}

uint8_t CipherWire(EncAlg a) {
  using crypto::CipherAlg;
  CipherAlg c = CipherAlg::kNull;
  switch (a) {
    case EncAlg::kNull: c = CipherAlg::kNull; break;
    case EncAlg::kDes: c = CipherAlg::kDesCbc; break;
    case EncAlg::k3DesOuter:
    case EncAlg::k3DesInner: c = CipherAlg::k3desCbc; break;
    case EncAlg::kAes128: c = CipherAlg::kAes128Cbc; break;
    case EncAlg::kAes192: c = CipherAlg::kAes192Cbc; break;
    case EncAlg::kAes256: c = CipherAlg::kAes256Cbc; break;
    case EncAlg::kAes128Gcm: c = CipherAlg::kAes128Gcm; break;
    case EncAlg::kAes256Gcm: c = CipherAlg::kAes256Gcm; break;
  }
  return static_cast<uint8_t>(c);
}

uint8_t AuthWire(HashAlg a) {
  using crypto::AuthAlg;
  AuthAlg x = AuthAlg::kNull;
  switch (a) {
    case HashAlg::kNull: x = AuthAlg::kNull; break;
    case HashAlg::kMd5: x = AuthAlg::kHmacMd5_96; break;
    case HashAlg::kSha: x = AuthAlg::kHmacSha1_96; break;
    case HashAlg::kSha256: x = AuthAlg::kHmacSha256_128; break;
    case HashAlg::kSha384: x = AuthAlg::kHmacSha384_192; break;
    case HashAlg::kSha512: x = AuthAlg::kHmacSha512_256; break;
  }
  return static_cast<uint8_t>(x);
}

uint8_t CompWire(CompAlg a) {
  return static_cast<uint8_t>(a == CompAlg::kDeflate ? compress::IpcompAlg::kDeflate
                                                     : compress::IpcompAlg::kLzs);
}

uint8_t ProtocolNumber(SaProtocol p) {
  switch (p) {
    case SaProtocol::kEsp: return 50;
    case SaProtocol::kAh: return 51;
    case SaProtocol::kComp: return compress::kIpprotoComp;
  }
  return 50;
}

uint8_t DebugBits(absl::string_view kw) {
  if (absl::EqualsIgnoreCase(kw, "FILTER")) return 1;
  if (absl::EqualsIgnoreCase(kw, "PACKET")) return 2;
  if (absl::EqualsIgnoreCase(kw, "TRACE")) return 4;
  if (absl::EqualsIgnoreCase(kw, "ALL")) return 7;
  return 0;
}

}  // namespace arsec::control
