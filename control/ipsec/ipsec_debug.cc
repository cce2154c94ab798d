// The POLICY DEBUG=PACKET dump: walks the captured headers (IPv4, AH, inner IPv4, then one
// terminal header) and prints each in hex, the rest as wrapped data.
#include "control/ipsec/ipsec_debug.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "control/ipsec/ipsec_model.h"

namespace arsec::control {

namespace {

constexpr size_t kDataBytesPerLine = 36;   // 72 hex digits, as the seed wraps
constexpr uint8_t kProtoIcmp = 1, kProtoIpv4 = 4, kProtoTcp = 6, kProtoUdp = 17,
                  kProtoEsp = 50, kProtoAh = 51, kProtoIpcomp = 108;

std::string Hex(const uint8_t* p, size_t n) {
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(p), n));
}

uint32_t Be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

// The ESP SA whose SPI this packet carries (outbound packets carry out_spi, inbound
// in_spi; the other side is tried too, so a dump is never worse for a mix-up).
const DebugSa* EspSaBySpi(const DebugPolicy& p, uint32_t spi, bool outbound) {
  for (int pass = 0; pass < 2; ++pass) {
    const bool out_side = (pass == 0) == outbound;
    for (const DebugSa& sa : p.sas) {
      if (sa.protocol != SaProtocol::kEsp) continue;
      if ((out_side ? sa.out_spi : sa.in_spi) == spi) return &sa;
    }
  }
  return nullptr;
}

}  // namespace

unsigned EspIcvLength(EncAlg enc, HashAlg hash) {
  if (IsGcm(enc)) return 16;
  switch (hash) {
    case HashAlg::kMd5:
    case HashAlg::kSha: return 12;
    case HashAlg::kSha256: return 16;
    case HashAlg::kSha384: return 24;
    case HashAlg::kSha512: return 32;
    case HashAlg::kNull: return 0;
  }
  return 0;
}

std::optional<DebugPolicy> DescribePolicyForDebug(const IpsecModel& m, uint32_t policy_id) {
  const Policy* pol = m.PolicyById(policy_id);
  if (pol == nullptr) return std::nullopt;
  DebugPolicy d;
  d.name = pol->name;
  if (const PolicyState* st = m.StateOf(policy_id)) {
    for (uint32_t id : st->sa_ids) {
      auto it = m.sas().find(id);
      if (it == m.sas().end()) continue;
      const SaRecord& r = it->second;
      DebugSa s;
      s.show_id = r.id;
      s.protocol = r.protocol;
      s.out_spi = r.out_spi;
      s.in_spi = r.in_spi;
      s.icv_len = r.protocol == SaProtocol::kEsp ? EspIcvLength(r.enc, r.hash) : 0;
      s.udp_encap = r.encap != msg::kEncapNone;
      d.sas.push_back(s);
    }
  }
  return d;
}

std::string FormatDebugData(const uint8_t* bytes, size_t n) {
  std::string out = "data:";
  if (n > 0) out += ' ';
  for (size_t off = 0; off < n; off += kDataBytesPerLine) {
    if (off > 0) out += '\n';
    out += Hex(bytes + off, std::min(kDataBytesPerLine, n - off));
  }
  out += '\n';
  return out;
}

std::string FormatIpsecDebug(const msg::IpsecDebugEvent& e, const DebugPolicy& p) {
  std::string out = absl::StrCat(
      "IPSEC ", p.name, ": ",
      e.sa_id == msg::kNoSa ? std::string("-") : absl::StrCat(e.sa_id / 2), ": ",
      e.outbound ? "OUT" : "IN", ": ", e.post ? "post" : "pre", " processing:\n");
  const uint8_t* d = e.data;
  const size_t cap = std::min<size_t>(e.cap, msg::kDebugBytes);
  size_t end = cap;          // the packet's bytes in the capture (trailing link padding cut)
  bool whole = false;        // the capture holds the packet to its last byte
  bool first_ip = true;
  // ESP in UDP appears only on the wire side: after outbound processing, before inbound.
  const bool wire_side = (e.outbound != 0) == (e.post != 0);
  const bool udp_encap = std::any_of(p.sas.begin(), p.sas.end(),
                                     [](const DebugSa& s) { return s.udp_encap; });
  size_t off = 0;
  uint8_t next = kProtoIpv4;
  // A header is printed only as far as it was captured; then the walk stops.
  auto line = [&](absl::string_view name, size_t want) {
    const size_t n = std::min(want, end - off);
    absl::StrAppend(&out, name, ": ", Hex(d + off, n));
    off += n;
    return n == want;
  };
  for (int depth = 0; depth < 6 && off < end; ++depth) {
    const size_t left = end - off;
    if (next == kProtoIpv4) {
      if (left < 20 || (d[off] >> 4) != 4 || (d[off] & 0xf) < 5) break;
      const uint8_t* ip = d + off;
      const size_t ihl = (ip[0] & 0xfu) * 4;
      if (first_ip) {
        first_ip = false;
        const size_t total = static_cast<size_t>(ip[2]) << 8 | ip[3];
        if (total >= ihl) {
          whole = total <= cap;
          end = std::min(end, total);
        }
      }
      const bool complete = line("IP", ihl);
      out += '\n';
      if (!complete) break;
      const bool later_fragment = ((ip[6] & 0x1f) << 8 | ip[7]) != 0;
      if (later_fragment) break;          // no transport header in this fragment
      next = ip[9];
      continue;
    }
    if (next == kProtoTcp) {
      size_t hl = left >= 13 ? static_cast<size_t>(d[off + 12] >> 4) * 4 : 20;
      if (hl < 20) hl = 20;
      line("TCP", hl);
      out += '\n';
      break;
    }
    if (next == kProtoUdp) {
      const bool complete = line("UDP", 8);
      out += '\n';
      // RFC 3948 / ESP-over-UDP: ESP follows unless it is the non-ESP marker (zero SPI).
      if (complete && wire_side && udp_encap && end - off >= 8 && Be32(d + off) != 0) {
        next = kProtoEsp;
        continue;
      }
      break;
    }
    if (next == kProtoIcmp) {
      line("ICMP", 8);
      out += '\n';
      break;
    }
    if (next == kProtoEsp) {
      const size_t start = off;
      const bool complete = line("ESP", 8);
      if (complete) {
        const DebugSa* sa = EspSaBySpi(p, Be32(d + start), e.outbound != 0);
        // The ICV closes the packet: shown only when the capture reaches the end.
        if (sa != nullptr && sa->icv_len > 0 && whole && end - off >= sa->icv_len) {
          absl::StrAppend(&out, ":", Hex(d + end - sa->icv_len, sa->icv_len));
        }
      }
      out += '\n';
      break;                               // encrypted from here on
    }
    if (next == kProtoAh) {
      if (left < 2) break;
      const uint8_t nh = d[off];
      const size_t len = (static_cast<size_t>(d[off + 1]) + 2) * 4;   // RFC 4302 2.2
      const bool complete = line("AH", len);
      out += '\n';
      if (!complete) break;
      next = nh;
      continue;
    }
    if (next == kProtoIpcomp) {
      line("IPCOMP", 4);
      out += '\n';
      break;                               // compressed from here on
    }
    break;                                 // another protocol: all of it is data
  }
  out += FormatDebugData(d + off, end > off ? end - off : 0);
  return out;
}

}  // namespace arsec::control
