#include "control/ike/ike_config.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace arsec::ike {

Identity Identity::Ipv4(uint32_t a) {
  return Identity{IdType::kIpv4Addr,
                  Bytes{static_cast<uint8_t>(a >> 24), static_cast<uint8_t>(a >> 16),
                        static_cast<uint8_t>(a >> 8), static_cast<uint8_t>(a)}};
}

Identity Identity::FromString(const std::string& s) {
  std::vector<std::string> parts = absl::StrSplit(s, '.');
  if (parts.size() == 4) {
    uint32_t a = 0;
    bool ok = true;
    for (const auto& p : parts) {
      uint32_t v = 0;
      if (p.empty() || p.size() > 3 || !absl::SimpleAtoi(p, &v) || v > 255) ok = false;
      a = a << 8 | v;
    }
    if (ok) return Ipv4(a);
  }
  if (absl::StartsWithIgnoreCase(s, "keyid:")) {
    const std::string v = s.substr(6);
    return Identity{IdType::kKeyId, Bytes(v.begin(), v.end())};
  }
  if (absl::StartsWithIgnoreCase(s, "fqdn:")) {
    const std::string v = s.substr(5);
    return Identity{IdType::kFqdn, Bytes(v.begin(), v.end())};
  }
  if (s.find('@') != std::string::npos) return Identity{IdType::kUserFqdn, Bytes(s.begin(), s.end())};
  return Identity{IdType::kFqdn, Bytes(s.begin(), s.end())};
}

std::string Identity::ToString() const {
  auto text = [&] {
    std::string t;
    for (uint8_t c : data) t += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
    return t;
  };
  switch (type) {
    case IdType::kIpv4Addr:
      if (data.size() == 4) return absl::StrCat(data[0], ".", data[1], ".", data[2], ".", data[3]);
      return "?";
    case IdType::kIpv4Subnet:
      if (data.size() == 8)
        return absl::StrCat(data[0], ".", data[1], ".", data[2], ".", data[3], "/", data[4], ".",
                            data[5], ".", data[6], ".", data[7]);
      return "?";
    case IdType::kFqdn: return text();
    case IdType::kUserFqdn: return text();
    case IdType::kKeyId: return "keyid:" + text();
    case IdType::kDerAsn1Dn: return absl::StrCat("DN (", data.size(), " bytes)");
    default: return absl::StrCat("ID type ", static_cast<int>(type));
  }
}

}  // namespace arsec::ike
