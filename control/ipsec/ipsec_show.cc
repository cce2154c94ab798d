// Layouts of SHOW IPSEC ..., SHOW ENCO KEY.
#include "control/ipsec/ipsec_show.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "cli/lang/parser.h"

namespace arsec::control {
namespace {

constexpr size_t kWidth = 78;
constexpr size_t kValueColumn = 34;

std::string Rule(size_t n = kWidth) { return std::string(n, '-') + "\n"; }

std::string Or(absl::string_view v, absl::string_view dflt) {
  return v.empty() ? std::string(dflt) : std::string(v);
}

std::string KeyManName(KeyManagement k) {
  return k == KeyManagement::kManual ? "MANUAL" : "ISAKMP";
}

std::string ProtoName(SaProtocol p) { return std::string(lang::SaProtocolName(p)); }

std::string StateName(const IpsecCounters& c, const SaRecord& sa) {
  if (sa.hard_expired) return "Expired";   // the dataplane removed it (kEvtSaExpiry)
  auto it = c.runtime.find(sa.dp_out());
  if (it != c.runtime.end() && it->second.state == 3) return "Removing";
  return "Valid";
}

std::string DebugName(uint8_t d) {
  if (d == 0) return "NONE";
  if (d == 7) return "ALL";
  std::vector<std::string> n;
  if (d & 1) n.push_back("FILTER");
  if (d & 2) n.push_back("PACKET");
  if (d & 4) n.push_back("TRACE");
  return absl::StrJoin(n, ",");
}

std::string Limit(uint64_t v) { return v ? absl::StrCat(v) : std::string("-"); }

// Two counters per line, AR style.
std::string CounterPairs(const std::vector<std::pair<std::string, uint64_t>>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); i += 2) {
    auto one = [](const std::pair<std::string, uint64_t>& it) {
      std::string name = it.first + " ";
      const std::string val = absl::StrCat(" ", it.second);
      while (name.size() + val.size() < 37) name += '.';
      return name + val;
    };
    out += "  " + one(items[i]);
    if (i + 1 < items.size()) out += "   " + one(items[i + 1]);
    out += "\n";
  }
  return out;
}

}  // namespace

std::string DottedField(absl::string_view name, absl::string_view value) {
  std::string out = std::string(name) + " ";
  while (out.size() < kValueColumn - 1) out += '.';
  absl::StrAppend(&out, " ", value, "\n");
  return out;
}

std::vector<uint32_t> DataplaneSaIds(const IpsecModel& m) {
  std::vector<uint32_t> ids;
  for (const auto& [id, sa] : m.sas()) {
    ids.push_back(sa.dp_out());
    ids.push_back(sa.dp_in());
  }
  return ids;
}

std::vector<uint32_t> PolicyIds(const IpsecModel& m) {
  std::vector<uint32_t> ids;
  for (const Policy* p : m.PoliciesInOrder()) ids.push_back(p->id);
  return ids;
}

std::string FormatIpsecModule(const IpsecModel& m) {
  std::string out = "IPSEC Module Configuration\n" + Rule();
  out += DottedField("Module Status", m.enabled() ? "ENABLED" : "DISABLED");
  out += DottedField("UDP Tunnel Port", absl::StrCat(m.udp_port()));
  out += DottedField("Policies", absl::StrCat(m.PoliciesInOrder().size()));
  out += DottedField("SA Specifications", absl::StrCat(m.sa_specs().size()));
  out += DottedField("Bundle Specifications", absl::StrCat(m.bundle_specs().size()));
  out += DottedField("SAs", absl::StrCat(m.sas().size()));
  out += Rule();
  return out;
}

std::string FormatIpsecPolicies(const IpsecModel& m) {
  std::string out = "IPSEC Policies\n" + Rule();
  out += absl::StrFormat("%-10s %-4s %-20s %-7s %-7s %-7s %-16s %s\n", "Interface", "Pos",
                         "Name", "Action", "KeyMan", "Bundle", "Peer", "SAs");
  out += Rule();
  for (const Policy* p : m.PoliciesInOrder()) {
    const bool ipsec = p->Get("ACTION") == "IPSEC";
    const PolicyState* st = m.StateOf(p->id);
    std::string sas = "-";
    if (ipsec) {
      std::vector<std::string> ids;
      if (st) {
        for (uint32_t s : st->sa_ids) ids.push_back(absl::StrCat(s));
      }
      sas = ids.empty() ? "none" : absl::StrJoin(ids, ",");
    }
    out += absl::StrFormat("%-10s %-4u %-20s %-7s %-7s %-7s %-16s %s\n", p->Get("INTERFACE"),
                           m.PositionOf(*p), p->name, p->Get("ACTION"),
                           ipsec ? Or(p->Get("KEYMANAGEMENT"), "ISAKMP") : "-",
                           ipsec ? Or(p->Get("BUNDLESPECIFICATION"), "-") : "-",
                           ipsec ? Or(p->Get("PEERADDRESS"), "-") : "-", sas);
  }
  out += Rule();
  return out;
}

std::string FormatIpsecPolicyDetail(const IpsecModel& m, const Policy& p) {
  const bool ipsec = p.Get("ACTION") == "IPSEC";
  std::string out = "IPSEC Policy Information\n" + Rule();
  out += DottedField("Name", p.name);
  out += DottedField("Interface", p.Get("INTERFACE"));
  out += DottedField("Position", absl::StrCat(m.PositionOf(p)));
  out += DottedField("Action", p.Get("ACTION"));
  if (ipsec) {
    out += DottedField("Key Management", Or(p.Get("KEYMANAGEMENT"), "ISAKMP"));
    out += DottedField("Bundle Specification", Or(p.Get("BUNDLESPECIFICATION"), "-"));
    out += DottedField("Peer Address", Or(p.Get("PEERADDRESS"), "-"));
  }
  const bool has_l = p.Has("LADDRESS"), has_r = p.Has("RADDRESS");
  out += DottedField("Local Address", has_l ? p.Get("LADDRESS") : "ANY");
  out += DottedField("Local Mask", has_l ? Or(p.Get("LMASK"), "255.255.255.255") : "-");
  out += DottedField("Local Name", Or(p.Get("LNAME"), "-"));
  out += DottedField("Local Port", Or(p.Get("LPORT"), "ANY"));
  out += DottedField("Remote Address", has_r ? p.Get("RADDRESS") : "ANY");
  out += DottedField("Remote Mask", has_r ? Or(p.Get("RMASK"), "255.255.255.255") : "-");
  out += DottedField("Remote Name", Or(p.Get("RNAME"), "-"));
  out += DottedField("Remote Port", Or(p.Get("RPORT"), "ANY"));
  out += DottedField("Transport Protocol", Or(p.Get("TRANSPORTPROTOCOL"), "ANY"));
  if (p.Has("ICMPTYPE")) out += DottedField("ICMP Type", p.Get("ICMPTYPE"));
  if (ipsec) {
    const bool udp = p.Get("UDPTUNNEL") == "TRUE";
    out += DottedField("UDP Tunnel", udp ? "TRUE" : "FALSE");
    out += DottedField("UDP Heartbeat", p.Get("UDPHEARTBEAT") == "TRUE" ? "TRUE" : "FALSE");
    out += DottedField("UDP Port", Or(p.Get("UDPPORT"), absl::StrCat(kDefaultUdpPort)));
    out += DottedField("DF Bit", Or(p.Get("DFBIT"), "COPY"));
    for (const char* k : {"ISAKMPPOLICY", "USEPFSKEY", "GROUP", "SRCINTERFACE", "RESPONDBADSPI"}) {
      if (p.Has(k)) out += DottedField(absl::AsciiStrToLower(k), p.Get(k));
    }
  }
  out += DottedField("Debug", DebugName(p.debug));
  if (ipsec) {
    const PolicyState* st = m.StateOf(p.id);
    std::string sa = "none";
    if (st && !st->sa_ids.empty()) {
      std::vector<std::string> ids;
      for (uint32_t s : st->sa_ids) ids.push_back(absl::StrCat(s));
      sa = absl::StrCat("SA ", absl::StrJoin(ids, ","), " (Valid)");
    } else if (st && !st->no_sa_reason.empty()) {
      sa = absl::StrCat("none: ", st->no_sa_reason);
    }
    out += DottedField("SA Bundle", sa);
  }
  out += Rule();
  return out;
}

std::string FormatIpsecPolicyCounters(const IpsecModel& m, const Policy* only,
                                      const IpsecCounters& c) {
  std::string out = "IPSEC Policy Counters\n" + Rule();
  if (!c.available) out += "(the dataplane publishes no IPsec counters)\n";
  for (const Policy* p : m.PoliciesInOrder()) {
    if (only && only != p) continue;
    out += absl::StrCat("Policy ..........", p->name, "\n");
    shm::PolicyCounters pc{};
    if (auto it = c.policy.find(p->id); it != c.policy.end()) pc = it->second;
    std::vector<std::pair<std::string, uint64_t>> items;
    for (uint32_t i = 0; i < shm::kNumPolicyCounters; ++i) {
      items.push_back({shm::kPolicyCounterNames[i], pc.c[i]});
    }
    out += CounterPairs(items);
  }
  out += Rule();
  return out;
}

std::string FormatIpsecPolicySaBundles(const IpsecModel& m, const Policy* only,
                                       const IpsecCounters& c) {
  std::string out = "Ipsec Policy SA Bundles\n";
  out += absl::StrFormat("%-6s %-12s %-9s %s\n", "Bundle", "", "",
                         "Expiry Limits - hard/soft/used");
  out += absl::StrFormat("%-6s %-12s %-9s %-24s %s\n", "Index", "SA's", "State", "Bytes",
                         "Seconds");
  out += Rule(72);
  for (const Policy* p : m.PoliciesInOrder()) {
    if (only && only != p) continue;
    if (p->Get("ACTION") != "IPSEC") continue;
    out += absl::StrCat("Policy ..........", p->name, "\n");
    const PolicyState* st = m.StateOf(p->id);
    if (!st || st->sa_ids.empty()) continue;
    std::vector<std::string> ids;
    uint64_t bytes = 0;
    uint32_t age = 0;
    uint64_t hard_kb = 0, soft_kb = 0;
    uint32_t hard_s = 0, soft_s = 0;
    bool removing = false;
    for (uint32_t sid : st->sa_ids) {
      ids.push_back(absl::StrCat(sid));
      auto sa = m.sas().find(sid);
      if (sa == m.sas().end()) continue;
      if (StateName(c, sa->second) == "Removing") removing = true;
      hard_kb = sa->second.hard_kbytes;
      soft_kb = sa->second.soft_kbytes;
      hard_s = sa->second.hard_seconds;
      soft_s = sa->second.soft_seconds;
      for (uint32_t dp : {sa->second.dp_out(), sa->second.dp_in()}) {
        if (auto r = c.runtime.find(dp); r != c.runtime.end()) {
          bytes = std::max<uint64_t>(bytes, r->second.bytes);
          age = std::max(age, r->second.age_s);
        }
      }
      if (age == 0) {
        age = static_cast<uint32_t>(absl::ToInt64Seconds(absl::Now() - sa->second.created));
      }
    }
    const std::string b = absl::StrCat(Limit(hard_kb ? hard_kb * 1024 : 0), "/",
                                       Limit(soft_kb ? soft_kb * 1024 : 0), "/", bytes);
    const std::string s = absl::StrCat(Limit(hard_s), "/", Limit(soft_s), "/", age);
    out += absl::StrFormat("%-6u %-12s %-9s %-24s %s\n", 0, absl::StrJoin(ids, ","),
                           removing ? "REMOVING" : "VALID", b, s);
  }
  out += Rule(72);
  return out;
}

std::string FormatIpsecSaSpecs(const IpsecModel& m, std::optional<uint32_t> only) {
  if (only) {
    auto it = m.sa_specs().find(*only);
    if (it == m.sa_specs().end()) return "";
    const SaSpec& s = it->second;
    std::string out = "IPSEC SA Specification\n" + Rule();
    out += DottedField("SA Specification", absl::StrCat(s.id));
    out += DottedField("Key Management", KeyManName(s.keyman));
    out += DottedField("Protocol", ProtoName(s.protocol));
    out += DottedField("Mode", s.tunnel ? "TUNNEL" : "TRANSPORT");
    if (s.protocol == SaProtocol::kEsp) {
      out += DottedField("Encryption Algorithm", EncAlgName(s.encalg.value_or(EncAlg::kNull)));
    }
    if (s.protocol != SaProtocol::kComp) {
      out += DottedField("Hash Algorithm", HashAlgName(s.hashalg.value_or(HashAlg::kNull)));
    } else {
      out += DottedField("Compression Algorithm", CompAlgName(s.compalg));
    }
    if (s.keyman == KeyManagement::kManual) {
      if (s.protocol == SaProtocol::kEsp) {
        out += DottedField("Encryption Key", s.enckey ? absl::StrCat(*s.enckey) : "-");
      }
      if (s.protocol != SaProtocol::kComp) {
        out += DottedField("Hash Key", s.hashkey ? absl::StrCat(*s.hashkey) : "-");
        out += DottedField("Inbound SPI", absl::StrCat(s.inspi));
        out += DottedField("Outbound SPI", absl::StrCat(s.outspi));
      } else {
        out += DottedField("CPI", s.compalg == CompAlg::kDeflate ? "2" : "3");
      }
    }
    if (s.protocol != SaProtocol::kComp) {
      out += DottedField("Anti-Replay", s.antireplay_on() ? "ENABLED" : "DISABLED");
      if (s.antireplay_on()) out += DottedField("Replay Window Size", absl::StrCat(s.window()));
    }
    out += Rule();
    return out;
  }
  std::string out = "IPSEC SA Specifications\n" + Rule();
  out += absl::StrFormat("%-5s %-7s %-8s %-10s %-10s %-7s %-8s %-11s %s\n", "Id", "KeyMan",
                         "Protocol", "Mode", "EncAlg", "HashAlg", "CompAlg", "InSPI", "OutSPI");
  out += Rule();
  for (const auto& [id, s] : m.sa_specs()) {
    const bool spis = s.keyman == KeyManagement::kManual && s.protocol != SaProtocol::kComp;
    out += absl::StrFormat(
        "%-5u %-7s %-8s %-10s %-10s %-7s %-8s %-11s %s\n", id, KeyManName(s.keyman),
        ProtoName(s.protocol), s.tunnel ? "TUNNEL" : "TRANSPORT",
        s.encalg ? std::string(EncAlgName(*s.encalg)) : "-",
        s.hashalg ? std::string(HashAlgName(*s.hashalg)) : "-", CompAlgName(s.compalg),
        spis ? absl::StrCat(s.inspi) : "-", spis ? absl::StrCat(s.outspi) : "-");
  }
  out += Rule();
  return out;
}

std::string FormatIpsecBundleSpecs(const IpsecModel& m, std::optional<uint32_t> only) {
  if (only) {
    auto it = m.bundle_specs().find(*only);
    if (it == m.bundle_specs().end()) return "";
    const BundleSpec& b = it->second;
    std::string out = "IPSEC Bundle Specification\n" + Rule();
    out += DottedField("Bundle Specification", absl::StrCat(b.id));
    out += DottedField("Key Management", KeyManName(b.keyman));
    out += DottedField("String", absl::StrCat("\"", b.text, "\""));
    out += DottedField("Expiry Seconds",
                       b.keyman == KeyManagement::kManual
                           ? "-"
                           : absl::StrCat(b.expiry_seconds.value_or(28800)));
    out += DottedField("Expiry Kbytes",
                       b.expiry_kbytes ? absl::StrCat(*b.expiry_kbytes) : std::string("-"));
    for (size_t i = 0; i < b.bundle.proposals.size(); ++i) {
      std::vector<std::string> slots;
      for (const auto& slot : b.bundle.proposals[i].slots) {
        std::vector<std::string> alts;
        for (uint32_t sid : slot.spec_ids) {
          auto s = m.sa_specs().find(sid);
          alts.push_back(absl::StrCat(
              sid, s == m.sa_specs().end() ? "" : absl::StrCat("(", ProtoName(s->second.protocol), ")")));
        }
        slots.push_back(absl::StrJoin(alts, " or "));
      }
      out += DottedField(absl::StrCat("Proposal ", i + 1), absl::StrJoin(slots, " and "));
    }
    out += Rule();
    return out;
  }
  std::string out = "IPSEC Bundle Specifications\n" + Rule();
  out += absl::StrFormat("%-5s %-7s %-11s %-11s %s\n", "Id", "KeyMan", "ExpirySecs",
                         "ExpiryKB", "String");
  out += Rule();
  for (const auto& [id, b] : m.bundle_specs()) {
    out += absl::StrFormat(
        "%-5u %-7s %-11s %-11s \"%s\"\n", id, KeyManName(b.keyman),
        b.keyman == KeyManagement::kManual ? "-" : absl::StrCat(b.expiry_seconds.value_or(28800)),
        b.expiry_kbytes ? absl::StrCat(*b.expiry_kbytes) : std::string("-"), b.text);
  }
  out += Rule();
  return out;
}

std::string FormatIpsecSas(const IpsecModel& m, const IpsecCounters& c) {
  std::string out = absl::StrFormat("%-6s %-16s %-7s %-9s %-9s %-11s %s\n", "SA Id", "Policy",
                                    "Bundle", "State", "Protocol", "OutSPI", "InSPI");
  out += Rule(77);
  for (const auto& [id, sa] : m.sas()) {
    const Policy* p = m.PolicyById(sa.policy_id);
    out += absl::StrFormat("%-6u %-16s %-7u %-9s %-9s %-11u %u\n", id, p ? p->name : "?",
                           sa.bundle_id, StateName(c, sa), ProtoName(sa.protocol), sa.out_spi,
                           sa.in_spi);
  }
  return out;
}

std::string FormatIpsecSaDetail(const IpsecModel& m, const SaRecord& sa, const IpsecCounters& c) {
  const Policy* p = m.PolicyById(sa.policy_id);
  std::string out = "IPSEC SA Information\n" + Rule();
  out += DottedField("SA Id", absl::StrCat(sa.id));
  out += DottedField("Policy", p ? p->name : "?");
  out += DottedField("Bundle Specification", absl::StrCat(sa.bundle_id));
  out += DottedField("SA Specification", absl::StrCat(sa.spec_id));
  out += DottedField("Bundle Position", absl::StrCat(sa.index));
  out += DottedField("State", StateName(c, sa));
  out += DottedField("Key Management", sa.manual ? "MANUAL" : "ISAKMP");
  out += DottedField("Protocol", ProtoName(sa.protocol));
  out += DottedField("Mode", sa.tunnel ? "TUNNEL" : "TRANSPORT");
  if (sa.protocol == SaProtocol::kEsp) out += DottedField("Encryption Algorithm", EncAlgName(sa.enc));
  if (sa.protocol != SaProtocol::kComp) out += DottedField("Hash Algorithm", HashAlgName(sa.hash));
  if (sa.protocol == SaProtocol::kComp) out += DottedField("Compression Algorithm", CompAlgName(sa.comp));
  out += DottedField(sa.protocol == SaProtocol::kComp ? "Outbound CPI" : "Outbound SPI",
                     absl::StrCat(sa.out_spi));
  out += DottedField(sa.protocol == SaProtocol::kComp ? "Inbound CPI" : "Inbound SPI",
                     absl::StrCat(sa.in_spi));
  out += DottedField("Local Address", sa.local ? lang::FormatIpv4(sa.local) : "-");
  out += DottedField("Peer Address", sa.peer ? lang::FormatIpv4(sa.peer) : "-");
  out += DottedField("UDP Encapsulation",
                     sa.encap == msg::kEncapEspUdp
                         ? absl::StrCat("ESP over UDP ", sa.encap_sport, " -> ", sa.encap_dport)
                     : sa.encap == msg::kEncapNatT
                         ? absl::StrCat("NAT-T ", sa.encap_sport, " -> ", sa.encap_dport)
                         : std::string("NONE"));
  if (sa.protocol != SaProtocol::kComp) {
    out += DottedField("Anti-Replay", sa.antireplay ? absl::StrCat("ENABLED (window ", sa.window, ")")
                                                    : std::string("DISABLED"));
  }
  out += DottedField("Expiry Seconds (hard/soft)",
                     absl::StrCat(Limit(sa.hard_seconds), "/", Limit(sa.soft_seconds)));
  out += DottedField("Expiry Kbytes (hard/soft)",
                     absl::StrCat(Limit(sa.hard_kbytes), "/", Limit(sa.soft_kbytes)));
  auto rt_out = c.runtime.find(sa.dp_out());
  auto rt_in = c.runtime.find(sa.dp_in());
  const uint64_t age = rt_out != c.runtime.end() && rt_out->second.install_tsc
                           ? rt_out->second.age_s
                           : static_cast<uint64_t>(absl::ToInt64Seconds(absl::Now() - sa.created));
  out += DottedField("Age (seconds)", absl::StrCat(age));
  out += DottedField("Outbound Sequence Number",
                     rt_out != c.runtime.end() ? absl::StrCat(rt_out->second.seq) : "-");
  out += DottedField("Inbound Highest Sequence",
                     rt_in != c.runtime.end() ? absl::StrCat(rt_in->second.seq) : "-");
  out += DottedField("Dataplane SA Ids", absl::StrCat(sa.dp_out(), " (out), ", sa.dp_in(), " (in)"));
  out += Rule();
  return out;
}

std::string FormatIpsecSaCounters(const IpsecModel& m, std::optional<uint32_t> only,
                                  const IpsecCounters& c) {
  std::string out = "IPSEC SA Counters\n" + Rule();
  if (!c.available) out += "(the dataplane publishes no IPsec counters)\n";
  for (const auto& [id, sa] : m.sas()) {
    if (only && *only != id) continue;
    const Policy* p = m.PolicyById(sa.policy_id);
    out += absl::StrFormat("SA Id %u  Policy %s  %s  OutSPI %u  InSPI %u\n", id,
                           p ? p->name : "?", ProtoName(sa.protocol), sa.out_spi, sa.in_spi);
    out += absl::StrFormat("  %-22s %16s %16s\n", "Counter", "Outbound", "Inbound");
    shm::SaCounters o{}, i{};
    if (auto it = c.sa.find(sa.dp_out()); it != c.sa.end()) o = it->second;
    if (auto it = c.sa.find(sa.dp_in()); it != c.sa.end()) i = it->second;
    for (uint32_t k = 0; k < shm::kNumSaCounters; ++k) {
      out += absl::StrFormat("  %-22s %16u %16u\n", shm::kSaCounterNames[k], o.c[k], i.c[k]);
    }
  }
  out += Rule();
  return out;
}

std::string FormatIpsecCounters(const shm::Stats& s, absl::string_view filter) {
  std::vector<std::pair<std::string, uint64_t>> items;
  for (uint32_t k = 0; k < shm::kNumCounters; ++k) {
    const std::string name = shm::kCounterNames[k];
    if (!absl::StartsWith(name, "ipsec")) continue;
    if (!filter.empty() && !absl::StrContains(absl::AsciiStrToLower(name),
                                              absl::AsciiStrToLower(filter))) {
      continue;
    }
    uint64_t total = 0;
    for (unsigned w = 0; w < s.n_workers && w < shm::kMaxWorkers; ++w) total += s.worker[w].counters[k];
    total += s.worker[shm::kMaxWorkers].counters[k];
    items.push_back({name, total});
  }
  std::string out = "IPSEC Counters\n" + Rule();
  out += CounterPairs(items);
  out += Rule();
  return out;
}

std::string FormatEncoKeys(const EncoKeyStore& keys, const IpsecModel& m) {
  std::string out = "ENCO Keys\n" + Rule();
  out += absl::StrFormat("%-6s %-8s %-7s %-7s %-22s %s\n", "Key", "Type", "Length", "Origin",
                         "Used by", "Description");
  out += Rule();
  for (const auto& [id, k] : keys.keys()) {
    out += absl::StrFormat("%-6u %-8s %-7u %-7s %-22s %s\n", id, EncoKeyTypeName(k.type),
                           k.value.size(), k.random ? "random" : "value",
                           m.KeyUsedBy(id).value_or("-"), k.description);
  }
  out += Rule();
  return out;
}

}  // namespace arsec::control
