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
  for (auto& [id, p] : policies) {
    bool gone = false;
    for (unsigned i = 0; i < p.n_out; ++i) gone |= !sas.count(p.out_sa[i]) || !sas.count(p.in_sa[i]);
    if (gone) {
      p.n_out = p.n_in = 0;
      calls.push_back(absl::StrCat("policy_cleared ", id));
    }
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
  auto cur = policies.find(p.policy_id);
  if (syncing_ && p.isakmp && p.n_out == 0 && cur != policies.end() && cur->second.isakmp &&
      cur->second.n_out != 0 && cur->second.peer == p.peer &&
      std::strncmp(cur->second.name, p.name, sizeof p.name) == 0) {
    msg::PolicyBody carried = p;
    carried.n_out = cur->second.n_out;
    carried.n_in = cur->second.n_in;
    std::memcpy(carried.out_sa, cur->second.out_sa, sizeof carried.out_sa);
    std::memcpy(carried.in_sa, cur->second.in_sa, sizeof carried.in_sa);
    cur->second = carried;
  } else {
    policies[p.policy_id] = p;
  }
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

absl::StatusOr<std::vector<msg::SaDumpEntry>> FakeDataplane::DumpSas() {
  calls.push_back("sa_dump");
  if (dump_unsupported) return absl::UnimplementedError("unknown request type");
  std::vector<msg::SaDumpEntry> out;
  for (const auto& [id, b] : sas) {
    msg::SaDumpEntry e;
    std::memset(&e, 0, sizeof e);
    e.sa_id = id;
    e.policy_id = b.policy_id;
    e.spi = b.spi;
    e.dir = b.dir;
    e.proto = b.proto;
    e.mode = b.mode;
    e.cipher = b.cipher;
    e.auth = b.auth;
    e.comp = b.comp;
    e.esn = b.esn;
    e.antireplay = b.dir == msg::kSaInbound ? b.antireplay : 0;
    e.replay_window = b.dir == msg::kSaInbound ? b.replay_window : 0;
    e.encap = b.encap;
    e.dfbit = b.dfbit;
    e.encap_sport = b.encap_sport;
    e.encap_dport = b.encap_dport;
    e.tun_src = b.tun_src;
    e.tun_dst = b.tun_dst;
    e.soft_seconds = b.soft_seconds;
    e.hard_seconds = b.hard_seconds;
    e.soft_kbytes = b.soft_kbytes;
    e.hard_kbytes = b.hard_kbytes;
    e.state = 1;
    if (auto rt = sa_runtime.find(id); rt != sa_runtime.end()) {
      e.bytes = rt->second.bytes;
      e.age_s = rt->second.age_s;
      if (rt->second.state != 0) e.state = rt->second.state;
    }
    e.bundle_pos = msg::kNotInBundle;
    if (auto p = policies.find(b.policy_id); p != policies.end()) {
      e.policy_isakmp = p->second.isakmp;
      const msg::PolicyBody& pb = p->second;
      const unsigned n = b.dir == msg::kSaInbound ? pb.n_in : pb.n_out;
      for (unsigned k = 0; k < n; ++k) {
        if ((b.dir == msg::kSaInbound ? pb.in_sa[k] : pb.out_sa[k]) == id) {
          e.bundle_pos = static_cast<uint8_t>(k);
        }
      }
      std::memcpy(e.policy_name, p->second.name, sizeof e.policy_name);
      e.policy_name[sizeof e.policy_name - 1] = '\0';
    }
    out.push_back(e);
  }
  return out;
}

absl::Status FakeDataplane::KeepSa(uint32_t sa_id, uint32_t policy_id) {
  calls.push_back(absl::StrCat("sa_keep ", sa_id, policy_id == msg::kNoSa ? std::string()
                                                                           : absl::StrCat(" policy=", policy_id)));
  if (absl::Status s = Refusal(); !s.ok()) return s;
  if (!syncing_) return absl::FailedPreconditionError("SaKeep outside SyncBegin/SyncEnd");
  auto it = sas.find(sa_id);
  if (it == sas.end()) return absl::NotFoundError("no such SA");
  if (policy_id != msg::kNoSa) it->second.policy_id = policy_id;
  asserted_sas_.insert(sa_id);
  return absl::OkStatus();
}

absl::StatusOr<IpsecCounters> FakeDataplane::ReadIpsecCounters(const std::vector<uint32_t>&,
                                                                const std::vector<uint32_t>&) {
  return ipsec_counters;
}

}  // namespace arsec::control::testing
