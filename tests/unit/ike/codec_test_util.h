// Helpers shared by the codec tests: hex conversion, the seed's phase 1 SA, and a
// summary line per payload in the format make_codec_vectors.py writes from scapy's
// dissection, so the two parsers can be compared line by line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "control/ike/isakmp_codec.h"

namespace arsec::ike::testing {

inline Bytes FromHex(std::string_view hex) {
  Bytes out;
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(nib(hex[i]) << 4 | nib(hex[i + 1])));
  }
  return out;
}

inline std::string ToHex(ByteSpan b) {
  std::string s;
  for (uint8_t c : b) absl::StrAppendFormat(&s, "%02x", c);
  return s;
}

// The seed's Main Mode message 1 transform: DES, SHA, pre-shared key, group 1, 86400 s.
inline SaPayload SeedSa() {
  Transform t;
  t.number = 1;
  t.id = kKeyIke;
  t.attrs = {Attribute::Basic(static_cast<uint16_t>(P1Attr::kEncryption), 1),
             Attribute::Basic(static_cast<uint16_t>(P1Attr::kHash), 2),
             Attribute::Basic(static_cast<uint16_t>(P1Attr::kAuthMethod), 1),
             Attribute::Basic(static_cast<uint16_t>(P1Attr::kGroupDesc), 1),
             Attribute::Basic(static_cast<uint16_t>(P1Attr::kLifeType), 1),
             Attribute::Variable(static_cast<uint16_t>(P1Attr::kLifeDuration),
                                 {0x00, 0x01, 0x51, 0x80})};
  Proposal p;
  p.number = 1;
  p.protocol = ProtocolId::kIsakmp;
  p.transforms = {t};
  SaPayload sa;
  sa.proposals = {p};
  return sa;
}

// One line per payload, as make_codec_vectors.py prints scapy's view of it.
inline std::string Summary(const Payload& p) {
  switch (p.type) {
    case PayloadType::kSa: {
      auto sa = ParseSa(p.body);
      if (!sa.ok()) return absl::StrCat("SA error: ", sa.status().message());
      std::string s = absl::StrFormat("SA doi=%d sit=%d", sa->doi, sa->situation);
      for (const Proposal& pr : sa->proposals) {
        absl::StrAppendFormat(&s, " | P#%d proto=%d spi=%s nt=%d", pr.number,
                              static_cast<int>(pr.protocol), ToHex(pr.spi),
                              pr.transforms.size());
        for (const Transform& t : pr.transforms) {
          absl::StrAppendFormat(&s, " T#%d id=%d", t.number, t.id);
          for (const Attribute& a : t.attrs) {
            absl::StrAppendFormat(&s, " a%d=%d", a.type, a.AsInt().value_or(~0ull));
          }
        }
      }
      return s;
    }
    case PayloadType::kId: {
      auto id = ParseId(p.body);
      if (!id.ok()) return absl::StrCat("ID error: ", id.status().message());
      return absl::StrFormat("ID type=%d proto=%d port=%d data=%s",
                             static_cast<int>(id->type), id->protocol, id->port,
                             ToHex(id->data));
    }
    case PayloadType::kKe: return "KE " + ToHex(p.body);
    case PayloadType::kNonce: return "NONCE " + ToHex(p.body);
    case PayloadType::kHash: return "HASH " + ToHex(p.body);
    case PayloadType::kVendorId: return "VID " + ToHex(p.body);
    default: return absl::StrCat("P", static_cast<int>(p.type), " ", ToHex(p.body));
  }
}

}  // namespace arsec::ike::testing
