// Layouts of SHOW ISAKMP ...
#include "control/isakmp/isakmp_show.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/lang/parser.h"
#include "control/ike/ike_service.h"
#include "control/ipsec/ipsec_show.h"

namespace arsec::control {
namespace {

constexpr size_t kWidth = 78;

std::string Rule(size_t n = kWidth) { return std::string(n, '-') + "\n"; }

std::string Or(absl::string_view v, absl::string_view dflt) {
  return v.empty() ? std::string(dflt) : std::string(v);
}

std::string TrueFalse(bool b) { return b ? "TRUE" : "FALSE"; }

std::string IdText(const std::optional<IsakmpId>& id, absl::string_view none) {
  if (!id) return std::string(none);
  return absl::StrCat(id->text, " (", id->TypeName(), ")");
}

// "hard/soft/used", "-" for a limit that is not set.
std::string Limits(uint64_t hard, uint64_t soft, std::string used) {
  auto n = [](uint64_t v) { return v ? absl::StrCat(v) : std::string("-"); };
  return absl::StrCat(n(hard), "/", n(soft), "/", used);
}

std::string BytesLimits(const ike::IsakmpSaInfo& sa) {
  // As the seed: with no kilobyte limit the byte column is -/-/-.
  const std::string used = sa.hard_kbytes == 0 ? std::string("-") : absl::StrCat(sa.used_bytes);
  return Limits(sa.hard_kbytes * 1024, sa.soft_kbytes * 1024, used);
}

std::string SecondsLimits(const ike::IsakmpSaInfo& sa) {
  return Limits(sa.hard_seconds, sa.soft_seconds, absl::StrCat(sa.used_seconds));
}

}  // namespace

uint32_t IsakmpDebugFlags(absl::string_view kw) {
  using namespace ike;  // NOLINT: the kDebug* flags
  if (kw == "PKT" || kw == "PACKET") return kDebugPkt;
  if (kw == "PKTRAW") return kDebugPktRaw;
  if (kw == "STATE") return kDebugState;
  if (kw == "TRACE") return kDebugTrace;
  if (kw == "TRACEMORE") return kDebugTrace | kDebugTraceMore;
  if (kw == "DEFAULT") return kDebugState | kDebugTrace;
  if (kw == "ALL") return kDebugPkt | kDebugPktRaw | kDebugState | kDebugTrace | kDebugTraceMore;
  return 0;
}

std::string IsakmpDebugName(uint32_t flags) {
  std::vector<std::string> names;
  if (flags & ike::kDebugPkt) names.push_back("PKT");
  if (flags & ike::kDebugPktRaw) names.push_back("PKTRAW");
  if (flags & ike::kDebugState) names.push_back("STATE");
  if (flags & ike::kDebugTrace) names.push_back("TRACE");
  if (flags & ike::kDebugTraceMore) names.push_back("TRACEMORE");
  return names.empty() ? "NONE" : absl::StrJoin(names, ", ");
}

std::string FormatIsakmpModule(const IsakmpModel& m, size_t sas, size_t exchanges,
                               uint32_t debug) {
  std::string out = "ISAKMP Module Configuration\n" + Rule();
  out += DottedField("Module Status", m.enabled() ? "ENABLED" : "DISABLED");
  out += DottedField("Policies", absl::StrCat(m.size()));
  out += DottedField("ISAKMP SAs", absl::StrCat(sas));
  out += DottedField("Exchanges in Progress", absl::StrCat(exchanges));
  out += DottedField("Debug (this console)", IsakmpDebugName(debug));
  out += Rule();
  return out;
}

std::string FormatIsakmpPolicies(const IsakmpModel& m) {
  std::string out = "ISAKMP Policies\n" + Rule();
  const char* kRow = "%-16s %-15s %-10s %-9s %-5s %-13s %-12s %s\n";
  out += absl::StrFormat(kRow, "Name", "Peer", "Mode", "Auth", "Key", "Enc/Hash", "Remote ID",
                         "XAUTH");
  out += Rule();
  for (const IsakmpPolicy* p : m.PoliciesInOrder()) {
    auto v = m.View(*p);
    if (!v.ok()) continue;
    std::string key = "-";
    if (v->key) key = absl::StrCat(*v->key);
    if (v->local_rsa_key) key = absl::StrCat("rsa", *v->local_rsa_key);
    out += absl::StrFormat(kRow, p->name, v->peer_any ? "ANY" : lang::FormatIpv4(v->peer),
                           v->aggressive ? "AGGRESSIVE" : "MAIN", IsakmpAuthName(v->auth), key,
                           absl::StrCat(EncAlgName(v->encalg), "/", HashAlgName(v->hashalg)),
                           v->remote_id ? v->remote_id->text : "-", IsakmpXauthName(v->xauth));
  }
  out += Rule();
  return out;
}

std::string FormatIsakmpPolicyDetail(const IsakmpModel& m, const IsakmpPolicy& p) {
  auto v = m.View(p);
  if (!v.ok()) return absl::StrCat("ISAKMP policy ", p.name, ": ", v.status().message(), "\n");
  const bool rsa = v->auth == IsakmpAuth::kRsaSig;
  const bool client = v->xauth == IsakmpXauth::kClient;
  std::string out = "ISAKMP Policy Information\n" + Rule();
  out += DottedField("Name", p.name);
  out += DottedField("Peer Address", v->peer_any ? "ANY" : lang::FormatIpv4(v->peer));
  out += DottedField("Mode", v->aggressive ? "AGGRESSIVE" : "MAIN");
  out += DottedField("Authentication Type", IsakmpAuthName(v->auth));
  out += DottedField("Pre-shared Key", v->key ? absl::StrCat(*v->key) : "-");
  if (rsa) {
    out += DottedField("Local RSA Key",
                       v->local_rsa_key ? absl::StrCat(*v->local_rsa_key, " (",
                                                       v->local_rsa_key_file, ")")
                                        : "-");
    out += DottedField("Local Certificate", Or(v->local_certificate, "-"));
    out += DottedField("CA Certificate", Or(v->ca_certificate, "-"));
  }
  out += DottedField("Local ID", IdText(v->local_id, "(local address)"));
  out += DottedField("Remote ID", IdText(v->remote_id, "(peer address)"));
  out += DottedField("Send Notify", TrueFalse(v->send_notify));
  out += DottedField("Encryption Algorithm", EncAlgName(v->encalg));
  out += DottedField("Hash Algorithm", HashAlgName(v->hashalg));
  out += DottedField("Group", absl::StrCat(v->group, " (", IsakmpGroupName(v->group), ")"));
  out += DottedField("Expiry Seconds", absl::StrCat(v->expiry_seconds));
  out += DottedField("Expiry Kbytes", v->expiry_kbytes ? absl::StrCat(*v->expiry_kbytes) : "-");
  out += DottedField("NAT Traversal", TrueFalse(v->nat_traversal));
  out += DottedField("XAUTH", IsakmpXauthName(v->xauth));
  if (client) {
    out += DottedField("XAUTH User Name", Or(v->xauth_name, "-"));
    out += DottedField("XAUTH Password", v->has_xauth_pass ? "(set)" : "(not set)");
  }
  out += DottedField("DPD Mode", IsakmpDpdName(v->dpd));
  if (v->dpd == IsakmpDpd::kBoth) out += DottedField("DPD Idle Timeout", absl::StrCat(v->dpd_idle_s));
  out += DottedField("Phase 2 Exchange Limit",
                     v->phase2_xchg_limit ? absl::StrCat(*v->phase2_xchg_limit) : "NONE");
  out += DottedField("Send Deletes", TrueFalse(v->send_deletes));
  out += DottedField("Send ID Always", TrueFalse(v->send_id_always));
  out += DottedField("Set Commit Bit", TrueFalse(v->set_commit_bit));
  out += DottedField("Prenegotiate", TrueFalse(v->prenegotiate));
  out += DottedField("Rekey", TrueFalse(v->rekey));
  out += DottedField("Retry IKE Attempts",
                     v->retry_continuous ? "CONTINUOUS" : absl::StrCat(v->retry_ike_attempts));
  out += DottedField("Message Retry Limit", absl::StrCat(v->msg_retry_limit));
  out += DottedField("Message Timeout", absl::StrCat(v->msg_timeout_s));
  out += DottedField("Message Back-off", v->msg_backoff_incremental ? "INCREMENTAL" : "NONE");
  out += DottedField("Delete Delay", absl::StrCat(v->delete_delay_s));
  out += Rule();
  return out;
}

std::string FormatIsakmpSas(const std::vector<ike::IsakmpSaInfo>& sas) {
  const char* kRow = "%-6s %-16s %-7s %-7s %-20s %s\n";
  // The heading stands over the Bytes and Seconds columns, as in the seed.
  std::string out = absl::StrCat(std::string(40, ' '), "Expiry Limits - hard/soft/used\n");
  out += absl::StrFormat(kRow, "SA Id", "PeerAddress", "EncA.", "HashA.", "Bytes", "Seconds");
  out += Rule(77);
  for (const auto& sa : sas) {
    out += absl::StrFormat(kRow, absl::StrCat(sa.id), lang::FormatIpv4(sa.peer), sa.encalg,
                           sa.hashalg, BytesLimits(sa), SecondsLimits(sa));
  }
  return out;
}

std::string FormatIsakmpSaDetail(const ike::IsakmpSaInfo& sa) {
  std::string out = "ISAKMP SA Information\n" + Rule();
  out += DottedField("SA Id", absl::StrCat(sa.id));
  out += DottedField("Policy", Or(sa.policy, "-"));
  out += DottedField("State", Or(sa.state, "-"));
  out += DottedField("Local Address", lang::FormatIpv4(sa.local));
  out += DottedField("Peer Address", lang::FormatIpv4(sa.peer));
  out += DottedField("Peer Port", absl::StrCat(sa.peer_port));
  out += DottedField("Mode", Or(sa.mode, "-"));
  out += DottedField("Authentication Type", Or(sa.auth, "-"));
  out += DottedField("Encryption Algorithm", Or(sa.encalg, "-"));
  out += DottedField("Hash Algorithm", Or(sa.hashalg, "-"));
  out += DottedField("Group", absl::StrCat(sa.group, " (", IsakmpGroupName(sa.group), ")"));
  out += DottedField("Local ID", Or(sa.local_id, "-"));
  out += DottedField("Remote ID", Or(sa.remote_id, "-"));
  out += DottedField("Initiator Cookie", absl::StrFormat("%016x", sa.icookie));
  out += DottedField("Responder Cookie", absl::StrFormat("%016x", sa.rcookie));
  out += DottedField("NAT Traversal", sa.nat_t ? "TRUE (UDP 4500)" : "FALSE");
  if (sa.nat_t) {
    out += DottedField("Local Behind NAT", TrueFalse(sa.local_behind_nat));
    out += DottedField("Peer Behind NAT", TrueFalse(sa.peer_behind_nat));
  }
  out += DottedField("Dead Peer Detection", sa.dpd ? "supported by the peer" : "not used");
  out += DottedField("XAUTH", Or(sa.xauth, "-"));
  out += DottedField("Expiry Bytes (hard/soft/used)", BytesLimits(sa));
  out += DottedField("Expiry Seconds (hard/soft/used)", SecondsLimits(sa));
  out += Rule();
  return out;
}

std::string FormatIsakmpExchanges(const std::vector<ike::ExchangeInfo>& x) {
  const char* kRow = "%-6s %-6s %-24s %-16s %s\n";
  std::string out = "ISAKMP Exchanges\n";
  out += absl::StrFormat(kRow, "Id", "Phase", "State", "PeerAddress", "Type");
  out += Rule(65);
  for (const auto& e : x) {
    out += absl::StrFormat(kRow, absl::StrCat(e.id), absl::StrCat(e.phase), e.state,
                           lang::FormatIpv4(e.peer), e.type);
  }
  return out;
}

std::string FormatIsakmpCounters(const ike::IsakmpCounters& c, absl::string_view group) {
  std::string out;
  bool any = false;
  for (const auto& g : c.groups) {
    if (!group.empty() && !absl::EqualsIgnoreCase(g.name, group)) continue;
    any = true;
    out += absl::StrCat("ISAKMP ", g.name, " Counters\n", Rule());
    for (size_t i = 0; i < g.values.size(); i += 2) {
      std::string line = absl::StrFormat("%-26s %10u", g.values[i].first, g.values[i].second);
      if (i + 1 < g.values.size()) {
        absl::StrAppend(&line, absl::StrFormat("    %-26s %10u", g.values[i + 1].first,
                                               g.values[i + 1].second));
      }
      out += line + "\n";
    }
    out += Rule() + "\n";
  }
  if (!any) {
    // No daemon, or a group it has not reported: the heading alone.
    out = absl::StrCat("ISAKMP ", group.empty() ? std::string("") : absl::StrCat(group, " "),
                       "Counters\n", Rule(), Rule());
  }
  return out;
}

}  // namespace arsec::control
