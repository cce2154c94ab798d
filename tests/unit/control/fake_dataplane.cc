// The fake's bookkeeping.
#include "fake_dataplane.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/lang/parser.h"
#include "control/config/config_model.h"

namespace arsec::control::testing {

FakeDataplane::FakeDataplane() {
  stats.stats.tsc_hz = 2000000000ull;
  stats.stats.n_workers = 1;
}

absl::StatusOr<msg::HelloBody> FakeDataplane::Hello() {
  calls.push_back("hello");
  msg::HelloBody h{};
  h.schema = msg::kSchemaVersion;
  h.dp_pid = 4242;
  h.control_gen = control_gen;
  h.n_workers = 1;
  return h;
}

absl::Status FakeDataplane::SyncBegin() {
  calls.push_back("sync_begin");
  syncing_ = true;
  asserted_.clear();
  return absl::OkStatus();
}

absl::Status FakeDataplane::SyncEnd() {
  calls.push_back("sync_end");
  for (auto it = sas.begin(); it != sas.end();) {
    it = asserted_sas_.count(it->first) ? std::next(it) : sas.erase(it);
  }
  for (auto it = policies.begin(); it != policies.end();) {
    it = asserted_policies_.count(it->first) ? std::next(it) : policies.erase(it);
  }
  asserted_sas_.clear();
  asserted_policies_.clear();
  for (auto it = state.begin(); it != state.end();) {
    it = asserted_.count(*it) ? std::next(it) : state.erase(it);
  }
  syncing_ = false;
  ++control_gen;
  return absl::OkStatus();
}

absl::Status FakeDataplane::Change(std::string call, const std::string& key, bool add) {
  calls.push_back(call);
  if (!refuse_next.ok()) {
    absl::Status s = refuse_next;
    refuse_next = absl::OkStatus();
    return s;
  }
  if (!refuse_all.ok()) return refuse_all;
  if (add) {
    // During a sync a re-asserted entry is accepted as is, like the real dataplane.
    if (state.count(key) && !syncing_) return absl::AlreadyExistsError("exists in dataplane");
    state.insert(key);
    if (syncing_) asserted_.insert(key);
  } else {
    if (!state.erase(key)) return absl::NotFoundError("not in dataplane");
  }
  return absl::OkStatus();
}

absl::Status FakeDataplane::AddAddress(const msg::AddrBody& a) {
  std::string key = absl::StrCat("addr ", a.ifname, " ", lang::FormatIpv4(a.addr), "/", a.prefix_len);
  return Change(absl::StrCat("addr_add ", a.ifname, " ", lang::FormatIpv4(a.addr), "/", a.prefix_len,
                             " port=", a.port),
                key, true);
}

absl::Status FakeDataplane::DeleteAddress(const msg::AddrBody& a) {
  std::string key = absl::StrCat("addr ", a.ifname, " ", lang::FormatIpv4(a.addr), "/", a.prefix_len);
  return Change(absl::StrCat("addr_del ", a.ifname, " ", lang::FormatIpv4(a.addr), "/", a.prefix_len,
                             " port=", a.port),
                key, false);
}

absl::Status FakeDataplane::AddRoute(const msg::RouteBody& r) {
  std::string key = absl::StrCat("route ", lang::FormatIpv4(r.prefix), "/", r.prefix_len, " ",
                                 lang::FormatIpv4(r.nexthop), " ", r.ifname);
  return Change(absl::StrCat("route_add ", lang::FormatIpv4(r.prefix), "/", r.prefix_len, " via ",
                             lang::FormatIpv4(r.nexthop), " ", r.ifname, " port=", r.port,
                             " metric=", r.metric),
                key, true);
}

absl::Status FakeDataplane::DeleteRoute(const msg::RouteBody& r) {
  std::string key = absl::StrCat("route ", lang::FormatIpv4(r.prefix), "/", r.prefix_len, " ",
                                 lang::FormatIpv4(r.nexthop), " ", r.ifname);
  return Change(absl::StrCat("route_del ", lang::FormatIpv4(r.prefix), "/", r.prefix_len, " via ",
                             lang::FormatIpv4(r.nexthop), " ", r.ifname, " port=", r.port),
                key, false);
}

namespace {
std::string MacText(const uint8_t* m) {
  return absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}
}  // namespace

absl::Status FakeDataplane::AddNeighbour(const msg::ArpEntry& e) {
  calls.push_back(absl::StrCat("neigh_add ", lang::FormatIpv4(e.ip), " ", MacText(e.mac),
                               " port=", e.port));
  if (!refuse_next.ok()) {
    absl::Status s = refuse_next;
    refuse_next = absl::OkStatus();
    return s;
  }
  if (!refuse_all.ok()) return refuse_all;
  for (auto& a : arp) {
    if (a.ip == e.ip && a.port == e.port) {   // replaces whatever was learnt
      std::memcpy(a.mac, e.mac, 6);
      a.state = msg::kNeighReachable;
      a.expires_s = 0;
      return absl::OkStatus();
    }
  }
  msg::ArpEntry n{};
  n.ip = e.ip;
  n.port = e.port;
  std::memcpy(n.mac, e.mac, 6);
  n.state = msg::kNeighReachable;
  arp.push_back(n);
  return absl::OkStatus();
}

absl::Status FakeDataplane::DeleteNeighbour(const msg::ArpEntry& e) {
  calls.push_back(absl::StrCat("neigh_del ", lang::FormatIpv4(e.ip), " port=", e.port));
  if (!refuse_next.ok()) {
    absl::Status s = refuse_next;
    refuse_next = absl::OkStatus();
    return s;
  }
  if (!refuse_all.ok()) return refuse_all;
  for (auto it = arp.begin(); it != arp.end(); ++it) {
    if (it->ip == e.ip && it->port == e.port) {
      arp.erase(it);
      return absl::OkStatus();
    }
  }
  return absl::NotFoundError("no neighbour on that port");
}

absl::StatusOr<std::vector<msg::ArpEntry>> FakeDataplane::DumpArp() {
  calls.push_back("arp_dump");
  return arp;
}

absl::StatusOr<std::vector<msg::PortEntry>> FakeDataplane::DumpPorts() {
  calls.push_back("port_dump");
  std::vector<msg::PortEntry> out;
  const char* names[] = {"vlan1", "ppp0", "eth0"};
  for (uint16_t i = 0; i < 3; ++i) {
    msg::PortEntry e;
    std::memset(&e, 0, sizeof(e));
    std::snprintf(e.name, sizeof(e.name), "%s", names[i]);
    std::snprintf(e.device, sizeof(e.device), "net_null%u", i);
    e.port = i;
    e.mac[0] = 0x02;
    e.mac[5] = static_cast<uint8_t>(i + 1);
    e.link_up = 1;
    e.speed_mbps = 10000;
    e.rx_packets = 100 * (i + 1);
    e.tx_packets = 50 * (i + 1);
    out.push_back(e);
  }
  return out;
}

absl::Status FakeDataplane::ResetCounters() {
  calls.push_back("counters_reset");
  ++resets;
  return absl::OkStatus();
}

absl::StatusOr<StatsSnapshot> FakeDataplane::ReadStats() { return stats; }

absl::Status FakeDataplane::Refusal() {
  if (!refuse_next.ok()) {
    absl::Status s = refuse_next;
    refuse_next = absl::OkStatus();
    return s;
  }
  return refuse_all;
}

absl::Status FakeDataplane::SetIpsecGlobal(const msg::IpsecGlobalBody& g) {
  calls.push_back(absl::StrCat("ipsec_global ", g.enabled ? "on" : "off", " port=", g.udp_port));
  if (absl::Status s = Refusal(); !s.ok()) return s;
  ipsec_global = g;
  return absl::OkStatus();
}

absl::Status FakeDataplane::AddSa(const msg::SaBody& sa) {
  calls.push_back(absl::StrCat("sa_add ", sa.sa_id, " ", sa.dir == msg::kSaOutbound ? "out" : "in",
                               " proto=", sa.proto, " spi=", sa.spi, " policy=", sa.policy_id));
  if (absl::Status s = Refusal(); !s.ok()) return s;
  sas[sa.sa_id] = sa;
  if (syncing_) asserted_sas_.insert(sa.sa_id);
  return absl::OkStatus();
}

absl::Status FakeDataplane::DeleteSa(uint32_t sa_id) {
  calls.push_back(absl::StrCat("sa_del ", sa_id));
  if (absl::Status s = Refusal(); !s.ok()) return s;
  if (!sas.erase(sa_id)) return absl::NotFoundError("no such SA");
  return absl::OkStatus();
}

absl::Status FakeDataplane::SetPolicy(const msg::PolicyBody& p) {
  std::string sa;
  for (unsigned i = 0; i < p.n_out; ++i) absl::StrAppend(&sa, i ? "," : "", p.out_sa[i], "/", p.in_sa[i]);
  calls.push_back(absl::StrCat("policy_set ", p.policy_id, " ", p.name, " action=", p.action,
                               " port=", p.port, " sa=", sa.empty() ? "-" : sa));
  if (absl::Status s = Refusal(); !s.ok()) return s;
  policies[p.policy_id] = p;
  if (syncing_) asserted_policies_.insert(p.policy_id);
  return absl::OkStatus();
}

absl::Status FakeDataplane::DeletePolicy(uint32_t policy_id) {
  calls.push_back(absl::StrCat("policy_del ", policy_id));
  if (absl::Status s = Refusal(); !s.ok()) return s;
  if (!policies.erase(policy_id)) return absl::NotFoundError("no such policy");
  return absl::OkStatus();
}

absl::Status FakeDataplane::ReplaceSpd(const std::vector<msg::SpdRuleWire>& rules) {
  calls.push_back(absl::StrCat("spd ", rules.size(), " rules"));
  if (absl::Status s = Refusal(); !s.ok()) return s;
  spd = rules;
  ++spd_commits;
  return absl::OkStatus();
}

absl::StatusOr<IpsecCounters> FakeDataplane::ReadIpsecCounters(const std::vector<uint32_t>&,
                                                                const std::vector<uint32_t>&) {
  return ipsec_counters;
}

}  // namespace arsec::control::testing
