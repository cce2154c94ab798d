// The IPsec configuration, its validation, and its dataplane state.
#include "control/ipsec/ipsec_model.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "cli/lang/command_spec.h"
#include "cli/lang/parser.h"
#include "cli/lang/tokenizer.h"

namespace arsec::control {
namespace {

// Parameters that mean something only with ACTION=IPSEC (dropped when SET changes the
// action away from IPSEC, so the policy stays a valid command).
constexpr const char* kIpsecOnly[] = {"BUNDLESPECIFICATION", "KEYMANAGEMENT", "PEERADDRESS",
                                      "UDPTUNNEL", "UDPHEARTBEAT", "UDPPORT", "DFBIT",
                                      "GROUP", "USEPFSKEY", "ISAKMPPOLICY", "SRCINTERFACE",
                                      "RESPONDBADSPI"};
// ISAKMP-only parameters (dropped when SET changes KEYMANAGEMENT to MANUAL).
constexpr const char* kIsakmpOnly[] = {"GROUP", "USEPFSKEY", "ISAKMPPOLICY"};

std::string Lower(absl::string_view s) { return absl::AsciiStrToLower(s); }

absl::Status Invalid(absl::string_view text) { return absl::InvalidArgumentError(text); }

std::string DataplaneRefused(const absl::Status& s) {
  return absl::StrCat("The dataplane refused the change: ", s.message());
}

}  // namespace

IpsecModel::IpsecModel(DataplaneClient* dp, const ConfigModel* ip, const EncoKeyStore* keys)
    : dp_(dp), ip_(ip), keys_(keys) {}

// ---------------------------------------------------------------- module

absl::Status IpsecModel::AssertGlobal() {
  msg::IpsecGlobalBody g{};
  g.enabled = enabled_ ? 1 : 0;
  g.udp_port = udp_port_;
  return dp_->SetIpsecGlobal(g);
}

absl::Status IpsecModel::SetEnabled(bool on) {
  msg::IpsecGlobalBody g{};
  g.enabled = on ? 1 : 0;
  g.udp_port = udp_port_;
  if (absl::Status s = dp_->SetIpsecGlobal(g); !s.ok()) {
    return absl::Status(s.code(), DataplaneRefused(s));
  }
  enabled_ = on;
  return Resync();
}

absl::Status IpsecModel::SetUdpPort(uint32_t port) {
  if (port < 1 || port > 65535) return Invalid("UDPPORT must be 1..65535");
  msg::IpsecGlobalBody g{};
  g.enabled = enabled_ ? 1 : 0;
  g.udp_port = static_cast<uint16_t>(port);
  if (absl::Status s = dp_->SetIpsecGlobal(g); !s.ok()) {
    return absl::Status(s.code(), DataplaneRefused(s));
  }
  udp_port_ = static_cast<uint16_t>(port);
  return Resync();
}

// ---------------------------------------------------------------- specifications

absl::Status IpsecModel::CreateSaSpec(const SaSpec& s) {
  if (s.id > lang::kMaxSaSpecId) {
    return Invalid(absl::StrCat("SASPECIFICATION must be 0..", lang::kMaxSaSpecId));
  }
  if (sa_specs_.count(s.id)) {
    return absl::AlreadyExistsError(absl::StrCat("SA specification ", s.id, " already exists"));
  }
  const bool manual = s.keyman == KeyManagement::kManual;
  switch (s.protocol) {
    case SaProtocol::kEsp:
      if (!s.encalg) return Invalid("ENCALG is required with PROTOCOL=ESP");
      if (IsGcm(*s.encalg)) {
        if (s.hashalg && *s.hashalg != HashAlg::kNull) {
          return Invalid(absl::StrCat("HASHALG must be NULL with ENCALG=", EncAlgName(*s.encalg),
                                      " (GCM authenticates by itself)"));
        }
      } else if (!s.hashalg) {
        return Invalid("HASHALG is required with PROTOCOL=ESP");
      }
      if (*s.encalg == EncAlg::kNull && s.hashalg.value_or(HashAlg::kNull) == HashAlg::kNull) {
        return Invalid("ENCALG and HASHALG cannot both be NULL");
      }
      if (*s.encalg == EncAlg::k3DesInner) {
        return Invalid(
            "ENCALG=3DESINNER (inner-CBC triple DES) is not supported; use 3DES (3DESOUTER)");
      }
      if (s.compalg != CompAlg::kNone) return Invalid("COMPALG is only for PROTOCOL=COMP");
      break;
    case SaProtocol::kAh:
      if (!s.hashalg || *s.hashalg == HashAlg::kNull) {
        return Invalid("HASHALG (not NULL) is required with PROTOCOL=AH");
      }
      if (s.encalg || s.enckey) return Invalid("ENCALG and ENCKEY are only for PROTOCOL=ESP");
      if (s.compalg != CompAlg::kNone) return Invalid("COMPALG is only for PROTOCOL=COMP");
      break;
    case SaProtocol::kComp:
      if (s.compalg == CompAlg::kNone) return Invalid("COMPALG is required with PROTOCOL=COMP");
      if (s.encalg || s.hashalg || s.enckey || s.hashkey || s.inspi || s.outspi ||
          s.antireplay || s.replay_window) {
        return Invalid("PROTOCOL=COMP takes only COMPALG (and MODE)");
      }
      break;
  }
  if (s.replay_window && s.antireplay && !*s.antireplay) {
    return Invalid("REPLAYWINDOWSIZE cannot be used with ANTIREPLAYENABLED=FALSE");
  }
  if (s.replay_window && (*s.replay_window < 32 || *s.replay_window > 1024)) {
    return Invalid("REPLAYWINDOWSIZE must be 32..1024");
  }
  if (!manual) {
    if (s.enckey || s.hashkey || s.inspi || s.outspi) {
      return Invalid("ENCKEY, HASHKEY, INSPI and OUTSPI are only for KEYMANAGEMENT=MANUAL");
    }
  } else if (s.protocol != SaProtocol::kComp) {
    for (auto [name, spi] : {std::pair<const char*, uint32_t>{"INSPI", s.inspi},
                             std::pair<const char*, uint32_t>{"OUTSPI", s.outspi}}) {
      if (spi == 0) return Invalid(absl::StrCat(name, " is required with KEYMANAGEMENT=MANUAL"));
      if (spi < 256) return Invalid(absl::StrCat(name, " must be 256..4294967295"));
    }
    for (const auto& [id, o] : sa_specs_) {
      if (o.keyman == KeyManagement::kManual && o.protocol == s.protocol && o.inspi == s.inspi) {
        return Invalid(absl::StrCat("INSPI ", s.inspi, " is already used by SA specification ",
                                    id, " (", std::string(lang::SaProtocolName(s.protocol)),
                                    "); inbound SPIs must differ"));
      }
    }
    if (absl::Status st = CheckSaSpecKeys(s, *keys_); !st.ok()) return st;
  }
  if (s.protocol == SaProtocol::kEsp && s.encalg && *s.encalg == EncAlg::kNull && s.enckey) {
    return Invalid("ENCKEY cannot be used with ENCALG=NULL");
  }
  if (s.hashalg.value_or(HashAlg::kNull) == HashAlg::kNull && s.hashkey) {
    return Invalid("HASHKEY cannot be used with HASHALG=NULL");
  }
  sa_specs_.emplace(s.id, s);
  return absl::OkStatus();
}

absl::Status IpsecModel::DestroySaSpec(uint32_t id) {
  if (!sa_specs_.count(id)) {
    return absl::NotFoundError(absl::StrCat("SA specification ", id, " does not exist"));
  }
  for (const auto& [bid, b] : bundles_) {
    for (uint32_t sid : lang::BundleSpecIds(b.bundle)) {
      if (sid == id) {
        return absl::FailedPreconditionError(absl::StrCat(
            "SA specification ", id, " is in use by bundle specification ", bid));
      }
    }
  }
  sa_specs_.erase(id);
  return absl::OkStatus();
}

absl::Status IpsecModel::CreateBundleSpec(uint32_t id, KeyManagement keyman,
                                          absl::string_view text,
                                          std::optional<uint32_t> expiry_seconds,
                                          std::optional<uint32_t> expiry_kbytes) {
  if (id > lang::kMaxSaSpecId) {
    return Invalid(absl::StrCat("BUNDLESPECIFICATION must be 0..", lang::kMaxSaSpecId));
  }
  if (bundles_.count(id)) {
    return absl::AlreadyExistsError(
        absl::StrCat("Bundle specification ", id, " already exists"));
  }
  if (keyman == KeyManagement::kManual && (expiry_seconds || expiry_kbytes)) {
    return Invalid("EXPIRYSECONDS and EXPIRYKBYTES are only for KEYMANAGEMENT=ISAKMP "
                   "(manual SAs do not expire)");
  }
  auto parsed = lang::ParseBundleString(std::string_view(text.data(), text.size()));
  if (!parsed.ok()) {
    return Invalid(absl::StrCat("STRING is not a valid bundle string: ", parsed.status().message()));
  }
  auto lookup = [this](uint32_t sid) -> std::optional<lang::SaSpecInfo> {
    auto it = sa_specs_.find(sid);
    if (it == sa_specs_.end()) return std::nullopt;
    return lang::SaSpecInfo{it->second.protocol, it->second.keyman};
  };
  if (absl::Status st = lang::ValidateBundle(*parsed, keyman, lookup); !st.ok()) {
    return Invalid(absl::StrCat("STRING is not a valid bundle string: ", st.message()));
  }
  BundleSpec b;
  b.id = id;
  b.keyman = keyman;
  b.text = lang::FormatBundleString(*parsed);
  b.bundle = std::move(*parsed);
  b.expiry_seconds = expiry_seconds;
  b.expiry_kbytes = expiry_kbytes;
  bundles_.emplace(id, std::move(b));
  return absl::OkStatus();
}

absl::Status IpsecModel::DestroyBundleSpec(uint32_t id) {
  if (!bundles_.count(id)) {
    return absl::NotFoundError(absl::StrCat("Bundle specification ", id, " does not exist"));
  }
  auto users = bundle_users_.find(id);
  if (users != bundle_users_.end() && !users->second.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("Bundle specification ", id, " is in use by policy ",
                     policies_.at(*users->second.begin()).name));
  }
  bundles_.erase(id);
  return absl::OkStatus();
}

std::optional<std::string> IpsecModel::KeyUsedBy(uint32_t key_id) const {
  for (const auto& [id, s] : sa_specs_) {
    if ((s.enckey && *s.enckey == key_id) || (s.hashkey && *s.hashkey == key_id)) {
      return absl::StrCat("SA specification ", id);
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------- policies: reading

const Policy* IpsecModel::FindPolicy(absl::string_view name) const {
  auto it = by_name_.find(Lower(name));
  return it == by_name_.end() ? nullptr : &policies_.at(it->second);
}

const Policy* IpsecModel::PolicyById(uint32_t id) const {
  auto it = policies_.find(id);
  return it == policies_.end() ? nullptr : &it->second;
}

std::vector<const Policy*> IpsecModel::PoliciesInOrder() const {
  std::vector<const Policy*> out;
  out.reserve(order_.size());
  for (uint32_t id : order_) out.push_back(&policies_.at(id));
  return out;
}

unsigned IpsecModel::PositionOf(const Policy& p) const {
  unsigned n = 0;
  for (uint32_t id : order_) {
    const Policy& o = policies_.at(id);
    if (o.port != p.port) continue;
    ++n;
    if (id == p.id) return n;
  }
  return n;
}

const PolicyState* IpsecModel::StateOf(uint32_t policy_id) const {
  auto it = state_.find(policy_id);
  return it == state_.end() ? nullptr : &it->second;
}

absl::StatusOr<PolicyView> IpsecModel::View(const Policy& p) const {
  PolicyView v;
  v.ifname = p.Get("INTERFACE");
  auto id = ParseIfName(v.ifname);
  if (!id.ok()) return id.status();
  auto port = ip_->ports().find(id->base);
  if (port == ip_->ports().end()) {
    return absl::NotFoundError(absl::StrCat(
        "INTERFACE ", v.ifname, ": interface ", id->base,
        " does not exist (no such port in the startup config)"));
  }
  v.port = port->second;
  const std::string action = p.Get("ACTION");
  if (action == "PERMIT") v.action = PolicyAction::kPermit;
  else if (action == "DENY") v.action = PolicyAction::kDeny;
  else if (action == "IPSEC") v.action = PolicyAction::kIpsec;
  else return Invalid("ACTION is required (DENY, IPSEC or PERMIT)");
  if (p.Has("BUNDLESPECIFICATION")) {
    uint32_t b = 0;
    if (!absl::SimpleAtoi(p.Get("BUNDLESPECIFICATION"), &b)) return Invalid("BUNDLESPECIFICATION is not a number");
    v.bundle = b;
  }
  v.keyman = p.Get("KEYMANAGEMENT") == "MANUAL" ? KeyManagement::kManual : KeyManagement::kIsakmp;
  if (p.Has("PEERADDRESS")) {
    const std::string peer = p.Get("PEERADDRESS");
    if (auto a = lang::ParseIpv4(peer)) {
      v.peer = *a;
    } else {
      v.peer_dynamic = true;
    }
  }
  auto addr = [&](const char* a, const char* m, uint32_t* out_a, uint32_t* out_m) -> absl::Status {
    if (!p.Has(a)) {
      if (p.Has(m)) return Invalid(absl::StrCat(m, " cannot be used without ", a));
      *out_a = 0;
      *out_m = 0;
      return absl::OkStatus();
    }
    *out_a = lang::ParseIpv4(p.Get(a)).value_or(0);
    *out_m = p.Has(m) ? lang::ParseIpv4(p.Get(m)).value_or(0xffffffffu) : 0xffffffffu;
    return absl::OkStatus();
  };
  if (absl::Status s = addr("LADDRESS", "LMASK", &v.laddr, &v.lmask); !s.ok()) return s;
  if (absl::Status s = addr("RADDRESS", "RMASK", &v.raddr, &v.rmask); !s.ok()) return s;
  const std::string proto = p.Get("TRANSPORTPROTOCOL");
  if (proto.empty() || proto == "ANY") v.proto = -1;
  else if (proto == "TCP") v.proto = 6;
  else if (proto == "UDP") v.proto = 17;
  else if (proto == "ICMP") v.proto = 1;
  else {
    int n = 0;
    if (!absl::SimpleAtoi(proto, &n) || n < 0 || n > 255) return Invalid("TRANSPORTPROTOCOL is not valid");
    v.proto = static_cast<int16_t>(n);
  }
  auto port_sel = [&](const char* name, uint16_t* lo, uint16_t* hi) -> absl::Status {
    const std::string val = p.Get(name);
    if (val.empty() || val == "ANY") return absl::OkStatus();
    uint32_t n = 0;
    if (!absl::SimpleAtoi(val, &n) || n > 65535) return Invalid(absl::StrCat(name, " must be 0..65535 or ANY"));
    if (v.proto != 6 && v.proto != 17) {
      return Invalid(absl::StrCat(name, " can only be used with TRANSPORTPROTOCOL=TCP or UDP"));
    }
    *lo = *hi = static_cast<uint16_t>(n);
    return absl::OkStatus();
  };
  if (absl::Status s = port_sel("LPORT", &v.lport_lo, &v.lport_hi); !s.ok()) return s;
  if (absl::Status s = port_sel("RPORT", &v.rport_lo, &v.rport_hi); !s.ok()) return s;
  v.udptunnel = p.Get("UDPTUNNEL") == "TRUE";
  v.udpheartbeat = p.Get("UDPHEARTBEAT") == "TRUE";
  if (p.Has("UDPPORT")) {
    uint32_t n = 0;
    if (!absl::SimpleAtoi(p.Get("UDPPORT"), &n) || n < 1 || n > 65535) return Invalid("UDPPORT must be 1..65535");
    v.udpport = static_cast<uint16_t>(n);
  }
  const std::string df = p.Get("DFBIT");
  v.dfbit = df == "SET" ? msg::kDfSet : df == "CLEAR" ? msg::kDfClear : msg::kDfCopy;
  return v;
}

uint32_t IpsecModel::TunnelSource(const PolicyView& v) const {
  auto id = ParseIfName(v.ifname);
  if (!id.ok()) return 0;
  const auto& ifs = ip_->interfaces();
  // The logical interface of this base that the route to the peer leaves by.
  if (v.peer != 0) {
    int best_len = -1;
    uint32_t best = 0;
    auto consider = [&](const std::string& ifname, uint32_t net, uint32_t mask) {
      if ((v.peer & mask) != (net & mask)) return;
      const int len = MaskToPrefix(mask);
      if (len <= best_len) return;
      auto rid = ParseIfName(ifname);
      if (!rid.ok() || rid->base != id->base) return;
      for (const auto& i : ifs) {
        if (i.id.base == rid->base && i.id.logical == rid->logical && !i.unnumbered()) {
          best_len = len;
          best = i.addr;
        }
      }
    };
    for (const auto& i : ifs) {
      if (!i.unnumbered()) consider(i.name, i.addr, i.mask);
    }
    for (const auto& r : ip_->routes()) consider(r.ifname, r.prefix, r.mask);
    if (best != 0) return best;
  }
  for (const auto& i : ifs) {
    if (i.id.base == id->base && i.id.logical == id->logical && !i.unnumbered()) return i.addr;
  }
  bool configured = false;
  for (const auto& i : ifs) {
    if (i.id.base != id->base) continue;
    if (!i.unnumbered()) return i.addr;
    configured = true;
  }
  // An unnumbered interface (IP=0.0.0.0) sends from the first address of another one;
  // an interface with no IP configuration at all has no tunnel source.
  return configured ? ip_->SourceAddressFor(v.ifname) : 0;
}

// ---------------------------------------------------------------- policies: checks

absl::Status IpsecModel::CheckPolicy(const Policy& p, const PolicyView& v) const {
  // The language's own rules on the merged parameters: the policy must stay writable as
  // one CREATE command (that is how CREATE CONFIG saves it).
  auto parsed = lang::Parse(CanonicalPolicy(p));
  if (!parsed.ok()) return Invalid(parsed.status().message());
  if (v.action != PolicyAction::kIpsec) return absl::OkStatus();
  if (!v.bundle) return Invalid("BUNDLESPECIFICATION is required with ACTION=IPSEC");
  if (v.peer == 0 && !v.peer_dynamic) return Invalid("PEERADDRESS is required with ACTION=IPSEC");
  auto b = bundles_.find(*v.bundle);
  if (b == bundles_.end()) {
    return absl::NotFoundError(absl::StrCat("BUNDLESPECIFICATION ", *v.bundle,
                                            ": bundle specification ", *v.bundle,
                                            " does not exist"));
  }
  const char* km = v.keyman == KeyManagement::kManual ? "MANUAL" : "ISAKMP";
  if (b->second.keyman != v.keyman) {
    return Invalid(absl::StrCat("BUNDLESPECIFICATION ", *v.bundle, " is KEYMANAGEMENT=",
                                b->second.keyman == KeyManagement::kManual ? "MANUAL" : "ISAKMP",
                                " but the policy is KEYMANAGEMENT=", km));
  }
  if (v.keyman == KeyManagement::kManual) {
    if (v.peer_dynamic) {
      return Invalid("PEERADDRESS must be a fixed address with KEYMANAGEMENT=MANUAL "
                     "(manual keys need both gateways' addresses fixed)");
    }
    auto users = bundle_users_.find(*v.bundle);
    for (uint32_t oid : users == bundle_users_.end() ? std::set<uint32_t>{} : users->second) {
      if (oid == p.id) continue;
      const Policy& o = policies_.at(oid);
      if (o.Get("KEYMANAGEMENT") == "MANUAL") {
        return Invalid(absl::StrCat("BUNDLESPECIFICATION ", *v.bundle,
                                    " is already used by MANUAL policy ", o.name,
                                    "; manual SAs (fixed SPIs) cannot be shared"));
      }
    }
  }
  if (v.udptunnel) {
    for (const auto& prop : b->second.bundle.proposals) {
      bool esp = false, ah = false;
      for (const auto& slot : prop.slots) {
        for (uint32_t sid : slot.spec_ids) {
          auto s = sa_specs_.find(sid);
          if (s == sa_specs_.end()) continue;
          esp |= s->second.protocol == SaProtocol::kEsp;
          ah |= s->second.protocol == SaProtocol::kAh;
        }
      }
      if (!esp || ah) {
        return Invalid(absl::StrCat(
            "UDPTUNNEL=TRUE needs a bundle with ESP and without AH (AH cannot cross NAT); "
            "bundle specification ", *v.bundle, " is \"", b->second.text, "\""));
      }
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------- policies: changes

uint32_t IpsecModel::AllocatePolicyId() {
  for (uint32_t i = 0; i < policy_id_used_.size(); ++i) {
    if (!policy_id_used_[i]) {
      policy_id_used_[i] = true;
      return i;
    }
  }
  policy_id_used_.push_back(true);
  return static_cast<uint32_t>(policy_id_used_.size() - 1);
}

uint32_t IpsecModel::AllocateSaId() {
  if (sa_id_used_.empty()) sa_id_used_.push_back(true);  // id 0 is never used
  for (uint32_t i = 1; i < sa_id_used_.size(); ++i) {
    if (!sa_id_used_[i]) {
      sa_id_used_[i] = true;
      return i;
    }
  }
  sa_id_used_.push_back(true);
  return static_cast<uint32_t>(sa_id_used_.size() - 1);
}

void IpsecModel::ReleaseSaId(uint32_t id) {
  if (id > 0 && id < sa_id_used_.size()) sa_id_used_[id] = false;
}

void IpsecModel::Insert(uint32_t id, absl::string_view, std::optional<uint32_t> position) {
  const uint16_t port = policies_.at(id).port;
  if (position) {
    unsigned n = 0;
    for (size_t i = 0; i < order_.size(); ++i) {
      if (policies_.at(order_[i]).port != port) continue;
      if (++n == *position) {
        order_.insert(order_.begin() + static_cast<long>(i), id);
        return;
      }
    }
  }
  order_.push_back(id);
}

absl::Status IpsecModel::CreatePolicy(absl::string_view name,
                                      std::map<std::string, std::string> params,
                                      std::optional<uint32_t> position) {
  note_.clear();
  if (name.empty() || name.size() > 32) return Invalid("POLICY must be 1..32 characters");
  if (FindPolicy(name)) {
    return absl::AlreadyExistsError(absl::StrCat("Policy ", name, " already exists"));
  }
  Policy p;
  p.name = std::string(name);
  p.params = std::move(params);
  p.params.erase("POSITION");
  auto v = View(p);
  if (!v.ok()) return v.status();
  p.port = v->port;
  p.ike_keyed = v->action == PolicyAction::kIpsec && v->keyman == KeyManagement::kIsakmp;
  p.id = UINT32_MAX;   // not yet in the model: CheckPolicy must not find it
  if (absl::Status s = CheckPolicy(p, *v); !s.ok()) return s;
  p.id = AllocatePolicyId();
  const uint32_t id = p.id;
  policies_.emplace(id, std::move(p));
  by_name_[Lower(name)] = id;
  Insert(id, "", position);
  if (absl::Status s = SyncPolicy(policies_.at(id)); !s.ok()) {
    order_.erase(std::find(order_.begin(), order_.end(), id));
    by_name_.erase(Lower(name));
    policies_.erase(id);
    state_.erase(id);
    policy_id_used_[id] = false;
    return s;
  }
  IndexBundle(policies_.at(id), true);
  spd_dirty_ = true;
  return absl::OkStatus();
}

void IpsecModel::IndexBundle(const Policy& p, bool add) {
  if (p.Get("ACTION") != "IPSEC" || !p.Has("BUNDLESPECIFICATION")) return;
  uint32_t b = 0;
  if (!absl::SimpleAtoi(p.Get("BUNDLESPECIFICATION"), &b)) return;
  if (add) {
    bundle_users_[b].insert(p.id);
  } else {
    auto it = bundle_users_.find(b);
    if (it == bundle_users_.end()) return;
    it->second.erase(p.id);
    if (it->second.empty()) bundle_users_.erase(it);
  }
}

absl::Status IpsecModel::SetPolicy(absl::string_view name,
                                   const std::map<std::string, std::string>& params,
                                   std::optional<uint32_t> position) {
  note_.clear();
  auto it = by_name_.find(Lower(name));
  if (it == by_name_.end()) {
    return absl::NotFoundError(absl::StrCat("Policy ", name, " does not exist"));
  }
  const uint32_t id = it->second;
  Policy& cur = policies_.at(id);
  Policy next = cur;
  for (const auto& [k, val] : params) {
    if (k != "POSITION") next.params[k] = val;
  }
  // Dependent parameters the command did not repeat go with what they depended on.
  if (next.Get("ACTION") != "IPSEC") {
    for (const char* k : kIpsecOnly) {
      if (!params.count(k)) next.params.erase(k);
    }
  }
  if (next.Get("KEYMANAGEMENT") == "MANUAL") {
    for (const char* k : kIsakmpOnly) {
      if (!params.count(k)) next.params.erase(k);
    }
  }
  if (next.Get("UDPTUNNEL") != "TRUE") {
    for (const char* k : {"UDPHEARTBEAT", "UDPPORT"}) {
      if (!params.count(k) && next.Get(k) != "FALSE") next.params.erase(k);
    }
  }
  if (next.Get("USEPFSKEY") == "FALSE" && !params.count("GROUP")) next.params.erase("GROUP");
  auto v = View(next);
  if (!v.ok()) return v.status();
  next.port = v->port;
  next.ike_keyed = v->action == PolicyAction::kIpsec && v->keyman == KeyManagement::kIsakmp;
  if (absl::Status s = CheckPolicy(next, *v); !s.ok()) return s;
  Policy old = cur;
  const std::vector<uint32_t> old_order = order_;
  cur = next;
  if (position || next.port != old.port) {
    order_.erase(std::find(order_.begin(), order_.end(), id));
    Insert(id, "", position);
  }
  if (absl::Status s = SyncPolicy(cur); !s.ok()) {
    cur = old;
    order_ = old_order;
    (void)SyncPolicy(cur);   // nothing was changed in the dataplane; re-assert anyway
    return s;
  }
  IndexBundle(old, false);
  IndexBundle(cur, true);
  if (order_ != old_order) spd_dirty_ = true;
  return absl::OkStatus();
}

absl::Status IpsecModel::DestroyPolicy(absl::string_view name) {
  note_.clear();
  auto it = by_name_.find(Lower(name));
  if (it == by_name_.end()) {
    return absl::NotFoundError(absl::StrCat("Policy ", name, " does not exist"));
  }
  const uint32_t id = it->second;
  const std::vector<uint32_t> old_order = order_;
  order_.erase(std::find(order_.begin(), order_.end(), id));
  // The SPD must stop naming the policy before the dataplane forgets it.
  spd_dirty_ = true;
  if (absl::Status s = FlushSpd(); !s.ok()) {
    order_ = old_order;
    spd_dirty_ = true;
    return s;
  }
  if (absl::Status s = RemoveDataplaneState(id); !s.ok()) {
    order_ = old_order;
    spd_dirty_ = true;
    return s;
  }
  IndexBundle(policies_.at(id), false);
  policies_.erase(id);
  by_name_.erase(it);
  policy_id_used_[id] = false;
  return absl::OkStatus();
}

absl::Status IpsecModel::RemoveDataplaneState(uint32_t id) {
  auto st = state_.find(id);
  if (st == state_.end()) return absl::OkStatus();
  if (st->second.installed) {
    absl::Status s = dp_->DeletePolicy(id);
    if (!s.ok() && !absl::IsNotFound(s)) return absl::Status(s.code(), DataplaneRefused(s));
  }
  DeleteSas(st->second.sa_ids);
  state_.erase(st);
  return absl::OkStatus();
}

void IpsecModel::DeleteSas(const std::vector<uint32_t>& ids) {
  for (uint32_t sid : ids) {
    // NotFound: the dataplane no longer has it; anything else leaves a stale SA there
    // that the next SyncBegin/SyncEnd sweep removes. Either way the id is free again.
    (void)dp_->DeleteSa(2 * sid);
    (void)dp_->DeleteSa(2 * sid + 1);
    sas_.erase(sid);
    ReleaseSaId(sid);
  }
}

absl::Status IpsecModel::SetPolicyDebug(absl::string_view name, uint8_t bits, bool enable) {
  auto it = by_name_.find(Lower(name));
  if (it == by_name_.end()) {
    return absl::NotFoundError(absl::StrCat("Policy ", name, " does not exist"));
  }
  Policy& p = policies_.at(it->second);
  const uint8_t old = p.debug;
  p.debug = enable ? (old | bits) : (old & ~bits);
  if (absl::Status s = SyncPolicy(p); !s.ok()) {
    p.debug = old;
    return s;
  }
  return absl::OkStatus();
}

const SaRecord* IpsecModel::NoteSaExpiry(uint32_t dp_sa_id, bool hard) {
  auto it = sas_.find(dp_sa_id / 2);
  if (it == sas_.end()) return nullptr;
  (hard ? it->second.hard_expired : it->second.soft_expired) = true;
  return &it->second;
}

absl::Status IpsecModel::Purge() {
  note_.clear();
  const std::vector<uint32_t> old_order = order_;
  order_.clear();
  spd_dirty_ = true;
  if (absl::Status s = FlushSpd(); !s.ok()) {
    order_ = old_order;
    spd_dirty_ = true;
    return s;
  }
  for (uint32_t id : old_order) {
    absl::Status s = RemoveDataplaneState(id);
    if (!s.ok()) state_.erase(id);   // swept by the dataplane at the next sync
  }
  policies_.clear();
  by_name_.clear();
  bundle_users_.clear();
  policy_id_used_.clear();
  bundles_.clear();
  sa_specs_.clear();
  return absl::OkStatus();
}

absl::Status IpsecModel::Resync() {
  absl::Status first;
  for (uint32_t id : order_) {
    absl::Status s = SyncPolicy(policies_.at(id));
    if (!s.ok() && first.ok()) first = s;
  }
  note_.clear();
  return first;
}

absl::Status IpsecModel::SyncPolicy(const Policy& p) {
  auto v = View(p);
  if (!v.ok()) return v.status();
  PolicyState& st = state_[p.id];
  uint32_t local = 0;
  std::vector<SaPair> want;
  std::string reason;
  const BundleSpec* bundle = nullptr;
  bool keep_sas = false;   // negotiated SAs belong to the IKE side
  if (v->action == PolicyAction::kIpsec) {
    local = TunnelSource(*v);
    if (v->bundle) {
      auto b = bundles_.find(*v->bundle);
      if (b != bundles_.end()) bundle = &b->second;
    }
    if (!enabled_) {
      reason = "IPsec is disabled";
    } else if (v->keyman == KeyManagement::kIsakmp) {
      keep_sas = true;
      for (uint32_t sid : st.sa_ids) {
        auto r = sas_.find(sid);
        if (r != sas_.end() && r->second.manual) keep_sas = false;
      }
      reason = "not negotiated yet (ISAKMP)";
    } else if (bundle == nullptr) {
      reason = "bundle specification does not exist";
    } else {
      auto plan = PlanManualBundle(*v, p.id, *bundle, sa_specs_, *keys_, local, udp_port_);
      if (plan.ok()) {
        want = std::move(plan->sas);
      } else {
        reason = std::string(plan.status().message());
      }
    }
  }
  auto wipe = [&want] {
    for (auto& w : want) {
      WipeSaBody(&w.out);
      WipeSaBody(&w.in);
    }
  };
  std::vector<std::string> digests;
  for (const auto& w : want) digests.push_back(SaPairDigest(w));
  const bool same_sas = keep_sas || digests == st.digests;
  std::vector<uint32_t> ids = same_sas ? st.sa_ids : std::vector<uint32_t>{};
  std::vector<uint32_t> added;
  if (!same_sas) {
    for (auto& w : want) {
      const uint32_t sid = AllocateSaId();
      w.out.sa_id = 2 * sid;
      w.in.sa_id = 2 * sid + 1;
      absl::Status s = dp_->AddSa(w.out);
      if (s.ok()) {
        s = dp_->AddSa(w.in);
        if (!s.ok()) (void)dp_->DeleteSa(w.out.sa_id);
      }
      if (!s.ok()) {
        ReleaseSaId(sid);
        for (uint32_t a : added) {
          (void)dp_->DeleteSa(2 * a);
          (void)dp_->DeleteSa(2 * a + 1);
          ReleaseSaId(a);
        }
        wipe();
        return absl::Status(s.code(), DataplaneRefused(s));
      }
      added.push_back(sid);
    }
    ids = added;
  }
  std::vector<std::pair<uint32_t, uint32_t>> dp_ids;
  for (uint32_t sid : ids) dp_ids.push_back({2 * sid, 2 * sid + 1});
  msg::PolicyBody body = MakePolicyBody(p, *v, local, dp_ids);
  if (!st.installed || std::memcmp(&body, &st.body, sizeof(body)) != 0) {
    if (absl::Status s = dp_->SetPolicy(body); !s.ok()) {
      for (uint32_t a : added) {
        (void)dp_->DeleteSa(2 * a);
        (void)dp_->DeleteSa(2 * a + 1);
        ReleaseSaId(a);
      }
      wipe();
      return absl::Status(s.code(), DataplaneRefused(s));
    }
  }
  if (!same_sas) {
    if (!st.sa_ids.empty()) events_.push_back(absl::StrCat("SA bundle deleted: Policy - ", p.name));
    if (!added.empty()) events_.push_back(absl::StrCat("SA bundle created: Policy - ", p.name));
    DeleteSas(st.sa_ids);
    const absl::Time now = absl::Now();
    for (size_t i = 0; i < want.size(); ++i) {
      const SaPair& w = want[i];
      const SaSpec& spec = sa_specs_.at(w.spec_id);
      SaRecord r;
      r.id = added[i];
      r.policy_id = p.id;
      r.bundle_id = bundle ? bundle->id : 0;
      r.spec_id = w.spec_id;
      r.index = static_cast<unsigned>(i);
      r.manual = true;
      r.protocol = spec.protocol;
      r.tunnel = w.out.mode == msg::kSaTunnel;
      r.enc = spec.encalg.value_or(EncAlg::kNull);
      r.hash = spec.hashalg.value_or(HashAlg::kNull);
      r.comp = spec.compalg;
      r.out_spi = w.out.spi;
      r.in_spi = w.in.spi;
      r.local = local;
      r.peer = v->peer;
      r.encap = w.out.encap;
      r.encap_sport = w.out.encap_sport;
      r.encap_dport = w.out.encap_dport;
      r.antireplay = w.in.antireplay != 0;
      r.window = w.in.replay_window;
      r.created = now;
      sas_[r.id] = r;
    }
    st.sa_ids = ids;
    st.digests = digests;
  }
  wipe();
  st.body = body;
  st.installed = true;
  st.no_sa_reason = st.sa_ids.empty() ? reason : "";
  if (v->action == PolicyAction::kIpsec && st.sa_ids.empty() && enabled_ &&
      v->keyman == KeyManagement::kManual) {
    note_ = absl::StrCat("Policy ", p.name, " has no SA yet: ", reason);
  }
  msg::SpdRuleWire rule = RuleFor(p, *v, st);
  if (std::memcmp(&rule, &st.rule, sizeof(rule)) != 0) {
    st.rule = rule;
    spd_dirty_ = true;
  }
  return absl::OkStatus();
}

msg::SpdRuleWire IpsecModel::RuleFor(const Policy& p, const PolicyView& v,
                                     const PolicyState& st) const {
  msg::SpdRuleWire rule = MakeSpdRule(v, p.id);
  if (v.action != PolicyAction::kIpsec || v.keyman != KeyManagement::kIsakmp) return rule;
  if (p.Has("LNAME") && !p.Has("LADDRESS")) {
    const uint32_t l = TunnelSource(v);
    if (l != 0) {
      rule.laddr = l;
      rule.lmask = 0xffffffffu;
    }
  }
  if (p.Has("RNAME") && !p.Has("RADDRESS")) {
    rule.raddr = st.dynamic_remote;
    rule.rmask = 0xffffffffu;
  }
  return rule;
}

void IpsecModel::RefreshRule(uint32_t policy_id) {
  auto pit = policies_.find(policy_id);
  auto st = state_.find(policy_id);
  if (pit == policies_.end() || st == state_.end()) return;
  auto v = View(pit->second);
  if (!v.ok()) return;
  msg::SpdRuleWire rule = RuleFor(pit->second, *v, st->second);
  if (std::memcmp(&rule, &st->second.rule, sizeof(rule)) != 0) {
    st->second.rule = rule;
    spd_dirty_ = true;
  }
}

absl::StatusOr<std::vector<uint32_t>> IpsecModel::InstallNegotiated(
    uint32_t policy_id, std::vector<SaPair> pairs, std::vector<SaRecord> records,
    bool activate) {
  auto wipe = [&pairs] {
    for (auto& w : pairs) {
      WipeSaBody(&w.out);
      WipeSaBody(&w.in);
    }
  };
  auto pit = policies_.find(policy_id);
  if (pit == policies_.end() || pairs.size() != records.size() || pairs.empty() ||
      pairs.size() > msg::kMaxBundle) {
    wipe();
    return absl::NotFoundError(absl::StrCat("policy ", policy_id, " is gone"));
  }
  const Policy& p = pit->second;
  auto v = View(p);
  if (!v.ok() || v->action != PolicyAction::kIpsec || v->keyman != KeyManagement::kIsakmp ||
      !enabled_) {
    wipe();
    return absl::FailedPreconditionError(absl::StrCat("policy ", p.name,
                                                      " no longer takes negotiated SAs"));
  }
  PolicyState& st = state_[policy_id];
  std::vector<uint32_t> added;
  auto undo = [&] {
    for (uint32_t a : added) {
      (void)dp_->DeleteSa(2 * a);
      (void)dp_->DeleteSa(2 * a + 1);
      ReleaseSaId(a);
    }
  };
  for (auto& w : pairs) {
    const uint32_t sid = AllocateSaId();
    w.out.sa_id = 2 * sid;
    w.in.sa_id = 2 * sid + 1;
    absl::Status s = dp_->AddSa(w.in);   // inbound first: the peer may send at once
    if (s.ok()) {
      s = dp_->AddSa(w.out);
      if (!s.ok()) (void)dp_->DeleteSa(w.in.sa_id);
    }
    if (!s.ok()) {
      ReleaseSaId(sid);
      undo();
      wipe();
      return absl::Status(s.code(), DataplaneRefused(s));
    }
    added.push_back(sid);
  }
  wipe();
  if (!activate) {
    // Make-before-break on the initiator of a rekey: the new inbound SAs take traffic at
    // once (inbound lookup is by SPI); the policy keeps sending on the old ones until
    // ActivateNegotiated, when the peer has surely installed the new SAs too.
    const absl::Time now = absl::Now();
    for (size_t i = 0; i < added.size(); ++i) {
      SaRecord r = records[i];
      r.id = added[i];
      r.policy_id = policy_id;
      r.index = static_cast<unsigned>(i);
      r.manual = false;
      r.created = now;
      sas_[r.id] = r;
    }
    return added;
  }
  std::vector<std::pair<uint32_t, uint32_t>> dp_ids;
  for (uint32_t sid : added) dp_ids.push_back({2 * sid, 2 * sid + 1});
  const uint32_t local = TunnelSource(*v);
  msg::PolicyBody body = MakePolicyBody(p, *v, local, dp_ids);
  if (absl::Status s = dp_->SetPolicy(body); !s.ok()) {
    undo();
    return absl::Status(s.code(), DataplaneRefused(s));
  }
  const absl::Time now = absl::Now();
  for (size_t i = 0; i < added.size(); ++i) {
    SaRecord r = records[i];
    r.id = added[i];
    r.policy_id = policy_id;
    r.index = static_cast<unsigned>(i);
    r.manual = false;
    r.created = now;
    sas_[r.id] = r;
  }
  st.sa_ids = added;
  st.digests.clear();
  st.body = body;
  st.installed = true;
  st.no_sa_reason.clear();
  if (p.Has("RNAME") && !p.Has("RADDRESS")) {
    st.dynamic_remote = records.front().peer;
    RefreshRule(policy_id);
  }
  events_.push_back(absl::StrCat("SA bundle created: Policy - ", p.name));
  return added;
}

absl::Status IpsecModel::ActivateNegotiated(const std::vector<uint32_t>& sa_ids) {
  if (sa_ids.empty()) return absl::OkStatus();
  auto r = sas_.find(sa_ids.front());
  if (r == sas_.end()) return absl::NotFoundError("the SAs are gone");
  const uint32_t policy_id = r->second.policy_id;
  auto pit = policies_.find(policy_id);
  if (pit == policies_.end()) return absl::NotFoundError("the policy is gone");
  const Policy& p = pit->second;
  auto v = View(p);
  if (!v.ok()) return v.status();
  PolicyState& st = state_[policy_id];
  if (st.sa_ids == sa_ids) return absl::OkStatus();
  std::vector<std::pair<uint32_t, uint32_t>> dp_ids;
  for (uint32_t sid : sa_ids) dp_ids.push_back({2 * sid, 2 * sid + 1});
  msg::PolicyBody body = MakePolicyBody(p, *v, TunnelSource(*v), dp_ids);
  if (absl::Status s = dp_->SetPolicy(body); !s.ok()) {
    return absl::Status(s.code(), DataplaneRefused(s));
  }
  st.sa_ids = sa_ids;
  st.digests.clear();
  st.body = body;
  st.installed = true;
  st.no_sa_reason.clear();
  if (p.Has("RNAME") && !p.Has("RADDRESS")) {
    st.dynamic_remote = r->second.peer;
    RefreshRule(policy_id);
  }
  events_.push_back(absl::StrCat("SA bundle created: Policy - ", p.name));
  return absl::OkStatus();
}

// ---------------------------------------------------------------- adoption after a restart

namespace {

std::optional<SaProtocol> ProtocolFromNumber(uint8_t n) {
  for (SaProtocol p : {SaProtocol::kEsp, SaProtocol::kAh, SaProtocol::kComp}) {
    if (ProtocolNumber(p) == n) return p;
  }
  return std::nullopt;
}

EncAlg EncFromWire(uint8_t c) {
  for (EncAlg a : {EncAlg::kNull, EncAlg::kDes, EncAlg::k3DesOuter, EncAlg::kAes128,
                   EncAlg::kAes192, EncAlg::kAes256, EncAlg::kAes128Gcm, EncAlg::kAes256Gcm}) {
    if (CipherWire(a) == c) return a;
  }
  return EncAlg::kNull;
}

HashAlg HashFromWire(uint8_t w) {
  for (HashAlg a : {HashAlg::kNull, HashAlg::kMd5, HashAlg::kSha, HashAlg::kSha256,
                    HashAlg::kSha384, HashAlg::kSha512}) {
    if (AuthWire(a) == w) return a;
  }
  return HashAlg::kNull;
}

// One SA pair as the dataplane holds it: 2n outbound, 2n+1 inbound.
struct HeldPair {
  const msg::SaDumpEntry* out = nullptr;
  const msg::SaDumpEntry* in = nullptr;
};

// Pairs by SHOW id, each complete and of one policy, both in that policy's bundle at the
// same position.
std::map<uint32_t, HeldPair> PairsOf(const std::vector<msg::SaDumpEntry>& held) {
  std::map<uint32_t, HeldPair> pairs;
  for (const msg::SaDumpEntry& e : held) {
    HeldPair& p = pairs[e.sa_id / 2];
    const bool out_slot = e.sa_id % 2 == 0;
    if (out_slot != (e.dir == msg::kSaOutbound)) continue;   // not laid out by this control
    (out_slot ? p.out : p.in) = &e;
  }
  for (auto it = pairs.begin(); it != pairs.end();) {
    const HeldPair& p = it->second;
    const bool ok = it->first != 0 && p.out && p.in && p.out->policy_id == p.in->policy_id &&
                    p.out->proto == p.in->proto && p.out->policy_isakmp &&
                    p.out->bundle_pos != msg::kNotInBundle && p.out->bundle_pos == p.in->bundle_pos;
    it = ok ? std::next(it) : pairs.erase(it);
  }
  return pairs;
}

}  // namespace

void IpsecModel::ReserveForAdoption(const std::vector<msg::SaDumpEntry>& held) {
  for (const auto& [sid, pair] : PairsOf(held)) {
    if (sa_id_used_.empty()) sa_id_used_.push_back(true);   // id 0 is never used
    if (sid >= sa_id_used_.size()) sa_id_used_.resize(sid + 1, false);
    if (sa_id_used_[sid]) continue;
    sa_id_used_[sid] = true;
    adoption_reserved_.insert(sid);
  }
}

std::vector<AdoptedBundle> IpsecModel::AdoptNegotiated(const std::vector<msg::SaDumpEntry>& held) {
  std::vector<AdoptedBundle> adopted;
  // The dataplane's bundles: its policy id -> pairs in bundle order.
  std::map<uint32_t, std::map<unsigned, std::pair<uint32_t, HeldPair>>> bundles;
  for (const auto& [sid, pair] : PairsOf(held)) {
    if (!adoption_reserved_.count(sid)) continue;   // taken by the replay after all
    bundles[pair.out->policy_id][pair.out->bundle_pos] = {sid, pair};
  }
  for (const auto& [old_id, slots] : bundles) {
    const HeldPair& first = slots.begin()->second.second;
    const std::string name(first.out->policy_name,
                           strnlen(first.out->policy_name, sizeof first.out->policy_name));
    const Policy* p = FindPolicy(name);
    bool ok = p != nullptr && enabled_ && slots.size() <= msg::kMaxBundle &&
              slots.rbegin()->first == slots.size() - 1;   // positions 0..n-1
    absl::StatusOr<PolicyView> v = ok ? View(*p) : absl::NotFoundError("no policy");
    ok = ok && v.ok() && v->action == PolicyAction::kIpsec &&
         v->keyman == KeyManagement::kIsakmp && v->bundle.has_value() &&
         bundles_.count(*v->bundle) != 0;
    PolicyState* st = ok ? &state_[p->id] : nullptr;
    ok = ok && st->sa_ids.empty();
    // The tunnel must still be the one negotiated: same peer (unless DYNAMIC) and source.
    const uint32_t local = ok ? TunnelSource(*v) : 0;
    const msg::SaDumpEntry& outer = *first.out;
    if (ok && outer.mode == msg::kSaTunnel) {
      ok = (v->peer_dynamic || outer.tun_dst == v->peer) && outer.tun_src == local;
    } else if (ok) {
      ok = v->peer_dynamic || v->peer == 0 || outer.tun_dst == 0 || outer.tun_dst == v->peer;
    }
    if (!ok) continue;
    const BundleSpec& bundle = bundles_.at(*v->bundle);
    AdoptedBundle ab;
    ab.policy_id = p->id;
    ab.local = outer.mode == msg::kSaTunnel ? outer.tun_src : local;
    ab.peer = outer.mode == msg::kSaTunnel ? outer.tun_dst : v->peer;
    std::vector<SaRecord> records;
    bool kept = true;
    std::vector<uint32_t> kept_ids;
    for (const auto& [pos, entry] : slots) {
      const auto& [sid, pair] = entry;
      const uint32_t renumber = old_id == p->id ? msg::kNoSa : p->id;
      absl::Status s = dp_->KeepSa(2 * sid, renumber);
      if (s.ok()) s = dp_->KeepSa(2 * sid + 1, renumber);
      if (!s.ok()) {
        kept = false;
        break;
      }
      kept_ids.push_back(sid);
      const msg::SaDumpEntry& o = *pair.out;
      const msg::SaDumpEntry& i = *pair.in;
      SaRecord r;
      r.id = sid;
      r.policy_id = p->id;
      r.bundle_id = bundle.id;
      r.index = pos;
      r.manual = false;
      r.protocol = ProtocolFromNumber(o.proto).value_or(SaProtocol::kEsp);
      r.tunnel = o.mode == msg::kSaTunnel;
      r.enc = EncFromWire(o.cipher);
      r.hash = HashFromWire(o.auth);
      r.comp = o.comp == CompWire(CompAlg::kDeflate) ? CompAlg::kDeflate : CompAlg::kLzs;
      if (r.protocol != SaProtocol::kComp) r.comp = CompAlg::kNone;
      // The SA specification it was negotiated from: the first of its bundle slot whose
      // protocol and algorithms it has (3DESINNER and 3DESOUTER share a cipher).
      for (const auto& prop : bundle.bundle.proposals) {
        if (pos >= prop.slots.size() || r.spec_id != 0) continue;
        for (uint32_t spec_id : prop.slots[pos].spec_ids) {
          auto sp = sa_specs_.find(spec_id);
          if (sp == sa_specs_.end() || sp->second.protocol != r.protocol) continue;
          const SaSpec& spec = sp->second;
          const bool enc_ok = r.protocol != SaProtocol::kEsp || !spec.encalg ||
                              CipherWire(*spec.encalg) == o.cipher;
          const bool hash_ok = r.protocol == SaProtocol::kComp || !spec.hashalg ||
                               AuthWire(*spec.hashalg) == o.auth;
          const bool comp_ok = r.protocol != SaProtocol::kComp || spec.compalg == r.comp;
          if (!enc_ok || !hash_ok || !comp_ok) continue;
          r.spec_id = spec_id;
          if (r.protocol == SaProtocol::kEsp && spec.encalg) r.enc = *spec.encalg;
          break;
        }
      }
      r.out_spi = o.spi;
      r.in_spi = i.spi;
      r.local = ab.local;
      r.peer = ab.peer;
      r.encap = o.encap;
      r.encap_sport = o.encap_sport;
      r.encap_dport = o.encap_dport;
      r.antireplay = i.antireplay != 0;
      r.window = i.replay_window;
      r.soft_seconds = o.soft_seconds;
      r.hard_seconds = o.hard_seconds;
      r.soft_kbytes = o.soft_kbytes;
      r.hard_kbytes = o.hard_kbytes;
      r.created = absl::Now() - absl::Seconds(std::max(o.age_s, i.age_s));
      for (const msg::SaDumpEntry* e : {&o, &i}) {
        const bool by_time = e->soft_seconds != 0 && e->age_s >= e->soft_seconds;
        const bool by_bytes = e->soft_kbytes != 0 && e->bytes / 1024 >= e->soft_kbytes;
        if (e->state == 2 || by_time || by_bytes) r.soft_expired = true;
        if (e->soft_seconds != 0) {
          const uint32_t left = e->age_s >= e->soft_seconds ? 0 : e->soft_seconds - e->age_s;
          ab.soft_left_s = ab.soft_left_s ? std::min(*ab.soft_left_s, left) : left;
        }
      }
      ab.soft_passed |= r.soft_expired;
      ab.sa_ids.push_back(sid);
      ab.protocols.push_back(r.protocol);
      ab.in_spis.push_back(r.in_spi);
      ab.out_spis.push_back(r.out_spi);
      records.push_back(r);
    }
    std::vector<std::pair<uint32_t, uint32_t>> dp_ids;
    for (uint32_t sid : kept_ids) dp_ids.push_back({2 * sid, 2 * sid + 1});
    msg::PolicyBody body = MakePolicyBody(*p, *v, local, dp_ids);
    if (!kept || !dp_->SetPolicy(body).ok()) {
      // Left to the sweep; the policy waits for IKE like any other without SAs.
      continue;
    }
    for (const SaRecord& r : records) {
      sas_[r.id] = r;
      adoption_reserved_.erase(r.id);
    }
    st->sa_ids = ab.sa_ids;
    st->digests.clear();
    st->body = body;
    st->installed = true;
    st->no_sa_reason.clear();
    events_.push_back(absl::StrCat("SA bundle adopted: Policy - ", p->name));
    adopted.push_back(std::move(ab));
  }
  for (uint32_t sid : adoption_reserved_) ReleaseSaId(sid);
  adoption_reserved_.clear();
  return adopted;
}

void IpsecModel::RemoveNegotiated(const std::vector<uint32_t>& sa_ids) {
  std::set<uint32_t> gone(sa_ids.begin(), sa_ids.end());
  for (auto& [pid, st] : state_) {
    bool hit = false;
    for (uint32_t s : st.sa_ids) hit |= gone.count(s) != 0;
    if (!hit) continue;
    std::vector<uint32_t> keep;
    for (uint32_t s : st.sa_ids)
      if (!gone.count(s)) keep.push_back(s);
    st.sa_ids = keep;
    auto pit = policies_.find(pid);
    if (pit == policies_.end()) continue;
    auto v = View(pit->second);
    if (!v.ok()) continue;
    std::vector<std::pair<uint32_t, uint32_t>> dp_ids;
    for (uint32_t s : keep) dp_ids.push_back({2 * s, 2 * s + 1});
    msg::PolicyBody body = MakePolicyBody(pit->second, *v, TunnelSource(*v), dp_ids);
    if (dp_->SetPolicy(body).ok()) st.body = body;
    if (keep.empty()) {
      st.no_sa_reason = "not negotiated yet (ISAKMP)";
      events_.push_back(absl::StrCat("SA bundle deleted: Policy - ", pit->second.name));
      if (st.dynamic_remote != 0) {
        st.dynamic_remote = 0;
        RefreshRule(pid);
      }
    }
  }
  std::vector<uint32_t> ids;
  for (uint32_t s : gone)
    if (sas_.count(s) && !sas_.at(s).manual) ids.push_back(s);
  DeleteSas(ids);
}

bool IpsecModel::InboundSpiInUse(uint8_t proto, uint32_t spi) const {
  for (const auto& [id, r] : sas_)
    if (ProtocolNumber(r.protocol) == proto && r.in_spi == spi) return true;
  for (const auto& [id, s] : sa_specs_)
    if (ProtocolNumber(s.protocol) == proto && s.inspi == spi) return true;
  return false;
}

absl::Status IpsecModel::ResetSas(std::optional<uint32_t> sa_id) {
  if (sa_id && !sas_.count(*sa_id)) {
    return absl::NotFoundError(absl::StrCat("SA ", *sa_id, " does not exist"));
  }
  absl::Status first;
  for (uint32_t id : order_) {
    PolicyState& st = state_[id];
    bool hit = !sa_id && !st.sa_ids.empty();
    for (uint32_t s : st.sa_ids) hit |= sa_id && s == *sa_id;
    if (!hit) continue;
    const std::vector<std::string> keep = st.digests;
    st.digests.assign(st.digests.size(), std::string());   // forces new SAs
    absl::Status s = SyncPolicy(policies_.at(id));
    if (!s.ok()) {
      st.digests = keep;
      if (first.ok()) first = s;
    }
  }
  return first;
}

// ---------------------------------------------------------------- SPD

std::vector<msg::SpdRuleWire> IpsecModel::SpdRules() const {
  std::vector<msg::SpdRuleWire> rules;
  rules.reserve(order_.size());
  for (uint32_t id : order_) {
    auto st = state_.find(id);
    if (st != state_.end()) rules.push_back(st->second.rule);
  }
  return rules;
}

absl::Status IpsecModel::FlushSpd() {
  if (!spd_dirty_) return absl::OkStatus();
  if (absl::Status s = dp_->ReplaceSpd(SpdRules()); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("The dataplane refused the SPD: ", s.message()));
  }
  spd_dirty_ = false;
  return absl::OkStatus();
}

// ---------------------------------------------------------------- canonical script

std::string IpsecModel::CanonicalPolicy(const Policy& p) const {
  const lang::CommandSpec* spec = lang::FindCommand(lang::CommandId::kCreateIpsecPolicy);
  std::string out = absl::StrCat("CREATE IPSEC POLICY=", p.name);
  for (const auto& ps : spec->params) {
    auto it = p.params.find(std::string(ps.name));
    if (it == p.params.end()) continue;
    const bool text = ps.type == lang::ValueType::kString || ps.type == lang::ValueType::kName;
    absl::StrAppend(&out, " ", std::string(ps.name), "=",
                    text ? lang::QuoteIfNeeded(it->second) : it->second);
  }
  return out;
}

std::string IpsecModel::Canonical() const {
  std::string out;
  if (!enabled_ && udp_port_ == kDefaultUdpPort && sa_specs_.empty() && bundles_.empty() &&
      order_.empty()) {
    return out;
  }
  out += "#\n# IPsec configuration (keys are in the ENCO key store, not here)\n#\n";
  if (udp_port_ != kDefaultUdpPort) absl::StrAppend(&out, "SET IPSEC UDPPORT=", udp_port_, "\n");
  if (enabled_) out += "ENABLE IPSEC\n";
  for (const auto& [id, s] : sa_specs_) {
    absl::StrAppend(&out, "CREATE IPSEC SASPECIFICATION=", id, " KEYMANAGEMENT=",
                    s.keyman == KeyManagement::kManual ? "MANUAL" : "ISAKMP", " PROTOCOL=",
                    s.protocol == SaProtocol::kEsp  ? "ESP"
                    : s.protocol == SaProtocol::kAh ? "AH"
                                                    : "COMP",
                    " MODE=", s.tunnel ? "TUNNEL" : "TRANSPORT");
    if (s.encalg) absl::StrAppend(&out, " ENCALG=", EncAlgName(*s.encalg));
    if (s.hashalg) absl::StrAppend(&out, " HASHALG=", HashAlgName(*s.hashalg));
    if (s.compalg != CompAlg::kNone) absl::StrAppend(&out, " COMPALG=", CompAlgName(s.compalg));
    if (s.enckey) absl::StrAppend(&out, " ENCKEY=", *s.enckey);
    if (s.hashkey) absl::StrAppend(&out, " HASHKEY=", *s.hashkey);
    if (s.inspi) absl::StrAppend(&out, " INSPI=", s.inspi);
    if (s.outspi) absl::StrAppend(&out, " OUTSPI=", s.outspi);
    if (s.antireplay) absl::StrAppend(&out, " ANTIREPLAYENABLED=", *s.antireplay ? "TRUE" : "FALSE");
    if (s.replay_window) absl::StrAppend(&out, " REPLAYWINDOWSIZE=", *s.replay_window);
    out += "\n";
  }
  for (const auto& [id, b] : bundles_) {
    absl::StrAppend(&out, "CREATE IPSEC BUNDLESPECIFICATION=", id, " KEYMANAGEMENT=",
                    b.keyman == KeyManagement::kManual ? "MANUAL" : "ISAKMP", " STRING=",
                    lang::Quote(b.text));
    if (b.expiry_seconds) absl::StrAppend(&out, " EXPIRYSECONDS=", *b.expiry_seconds);
    if (b.expiry_kbytes) absl::StrAppend(&out, " EXPIRYKBYTES=", *b.expiry_kbytes);
    out += "\n";
  }
  for (uint32_t id : order_) absl::StrAppend(&out, CanonicalPolicy(policies_.at(id)), "\n");
  return out;
}

}  // namespace arsec::control
