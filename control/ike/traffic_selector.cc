// Phase 2 identities (see traffic_selector.h): address/mask/port selectors <-> ID
// payloads, containment, and the responder's policy lookup.
#include "control/ike/traffic_selector.h"

#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "control/ike/proposal.h"

namespace arsec::ike {
namespace {

using control::PolicyAction;
using control::PolicyView;

constexpr size_t kMaxReasons = 6;

std::string Ip(uint32_t a) {
  return absl::StrCat(a >> 24, ".", (a >> 16) & 255, ".", (a >> 8) & 255, ".", a & 255);
}

Bytes Be32(uint32_t v) {
  return {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
          static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}

uint32_t Get32(const Bytes& b, size_t off) {
  return (static_cast<uint32_t>(b[off]) << 24) | (static_cast<uint32_t>(b[off + 1]) << 16) |
         (static_cast<uint32_t>(b[off + 2]) << 8) | b[off + 3];
}

// The prefix length of a contiguous mask, or -1.
int PrefixLen(uint32_t mask) {
  const uint32_t inv = ~mask;
  if ((inv & (inv + 1)) != 0) return -1;
  int n = 0;
  while (n < 32 && (mask & (0x80000000u >> n))) ++n;
  return n;
}

absl::string_view IdTypeName(IdType t) {
  switch (t) {
    case IdType::kFqdn: return "fqdn";
    case IdType::kUserFqdn: return "user-fqdn";
    case IdType::kKeyId: return "key-id";
    case IdType::kDerAsn1Dn: return "dn";
    case IdType::kDerAsn1Gn: return "gn";
    default: return "id";
  }
}

bool SameName(const Identity& a, const Identity& b) {
  if (a.type != b.type) return false;
  if (a.type == IdType::kFqdn || a.type == IdType::kUserFqdn) {
    return absl::EqualsIgnoreCase(
        absl::string_view(reinterpret_cast<const char*>(a.data.data()), a.data.size()),
        absl::string_view(reinterpret_cast<const char*>(b.data.data()), b.data.size()));
  }
  return a.data == b.data;
}

absl::Status IdError(std::string reason) {
  return NegotiationError(NotifyType::kInvalidIdInformation, std::move(reason));
}

// One side of a policy as an ID: the name, or the address and mask; protocol and port.
absl::StatusOr<IdPayload> SideId(uint32_t addr, uint32_t mask, const std::optional<Identity>& name,
                                 int16_t proto, uint16_t port_lo, uint16_t port_hi,
                                 absl::string_view side) {
  IdPayload id;
  id.protocol = proto < 0 ? 0 : static_cast<uint8_t>(proto);
  if (port_lo == 0 && port_hi == 0xffff) {
    id.port = 0;
  } else if (port_lo == port_hi) {
    id.port = port_lo;
  } else {
    return absl::FailedPreconditionError(
        absl::StrCat(side, " port range ", port_lo, "-", port_hi,
                     " cannot be a phase 2 ID (IKEv1 IDs carry one port)"));
  }
  if (name) {
    id.type = name->type;
    id.data = name->data;
    return id;
  }
  if (PrefixLen(mask) < 0)
    return absl::FailedPreconditionError(absl::StrCat(side, " mask ", Ip(mask),
                                                      " is not contiguous"));
  if (mask == 0xffffffffu) {
    id.type = IdType::kIpv4Addr;
    id.data = Be32(addr);
  } else {
    id.type = IdType::kIpv4Subnet;
    id.data = Be32(addr & mask);
    Bytes m = Be32(mask);
    id.data.insert(id.data.end(), m.begin(), m.end());
  }
  return id;
}

Selector RangeSelector(uint32_t addr, uint32_t mask, int16_t proto, uint16_t port_lo,
                       uint16_t port_hi) {
  Selector s;
  s.lo = addr & mask;
  s.hi = s.lo | ~mask;
  s.protocol = proto < 0 ? 0 : static_cast<uint8_t>(proto);
  s.port_lo = port_lo;
  s.port_hi = port_hi;
  return s;
}

// What a policy accepts on one side: with a name, the name at `name_addr`.
Selector PolicySide(uint32_t addr, uint32_t mask, const std::optional<Identity>& name,
                    int16_t proto, uint16_t port_lo, uint16_t port_hi, uint32_t name_addr) {
  Selector s = RangeSelector(addr, mask, proto, port_lo, port_hi);
  if (name) {
    s.lo = s.hi = name_addr;
    s.name = name;
  }
  return s;
}

}  // namespace

bool Selector::operator==(const Selector& o) const {
  const bool names_equal = name.has_value() == o.name.has_value() && (!name || *name == *o.name);
  return lo == o.lo && hi == o.hi && protocol == o.protocol && port_lo == o.port_lo &&
         port_hi == o.port_hi && names_equal;
}

std::string Selector::ToString() const {
  std::string s;
  if (name) {
    const bool text = name->type == IdType::kFqdn || name->type == IdType::kUserFqdn;
    s = absl::StrCat(IdTypeName(name->type),
                     text ? absl::StrCat(" ", absl::string_view(
                                                  reinterpret_cast<const char*>(name->data.data()),
                                                  name->data.size()))
                          : std::string(),
                     " (", Ip(lo), ")");
  } else if (lo == hi) {
    s = Ip(lo);
  } else {
    const uint32_t mask = ~(lo ^ hi);
    const int len = PrefixLen(mask);
    if (len >= 0 && (lo & ~mask) == 0 && (hi | mask) == 0xffffffffu)
      s = absl::StrCat(Ip(lo), "/", len);
    else
      s = absl::StrCat(Ip(lo), "-", Ip(hi));
  }
  if (protocol != 0) absl::StrAppend(&s, " proto ", protocol);
  if (!any_port()) {
    if (port_lo == port_hi) absl::StrAppend(&s, " port ", port_lo);
    else absl::StrAppend(&s, " ports ", port_lo, "-", port_hi);
  }
  return s;
}

bool SelectorWithin(const Selector& inner, const Selector& outer) {
  if (outer.name) {
    if (!inner.name || !SameName(*inner.name, *outer.name)) return false;
  } else if (inner.name) {
    return false;
  }
  if (inner.lo < outer.lo || inner.hi > outer.hi) return false;
  if (outer.protocol != 0 && inner.protocol != outer.protocol) return false;
  if (inner.port_lo < outer.port_lo || inner.port_hi > outer.port_hi) return false;
  return true;
}

Selector HostSelector(uint32_t addr) {
  Selector s;
  s.lo = s.hi = addr;
  return s;
}

absl::StatusOr<QuickModeIds> IdsForPolicy(const PolicyView& v,
                                          const std::optional<Identity>& lname,
                                          const std::optional<Identity>& rname) {
  QuickModeIds ids;
  absl::StatusOr<IdPayload> l =
      SideId(v.laddr, v.lmask, lname, v.proto, v.lport_lo, v.lport_hi, "local");
  if (!l.ok()) return l.status();
  absl::StatusOr<IdPayload> r =
      SideId(v.raddr, v.rmask, rname, v.proto, v.rport_lo, v.rport_hi, "remote");
  if (!r.ok()) return r.status();
  ids.idci = std::move(*l);
  ids.idcr = std::move(*r);
  return ids;
}

absl::StatusOr<QuickModeIds> IdsForPolicy(const Phase2Policy& p) {
  return IdsForPolicy(p.view, p.lname, p.rname);
}

absl::StatusOr<Selector> SelectorFromId(const IdPayload& id, uint32_t name_addr) {
  Selector s;
  s.protocol = id.protocol;
  if (id.port != 0) s.port_lo = s.port_hi = id.port;
  switch (id.type) {
    case IdType::kIpv4Addr:
      if (id.data.size() != 4)
        return IdError(absl::StrCat("IPV4_ADDR ID of ", id.data.size(), " bytes"));
      s.lo = s.hi = Get32(id.data, 0);
      return s;
    case IdType::kIpv4Subnet: {
      if (id.data.size() != 8)
        return IdError(absl::StrCat("IPV4_ADDR_SUBNET ID of ", id.data.size(), " bytes"));
      const uint32_t mask = Get32(id.data, 4);
      if (PrefixLen(mask) < 0)
        return IdError(absl::StrCat("IPV4_ADDR_SUBNET ID with mask ", Ip(mask)));
      s.lo = Get32(id.data, 0) & mask;
      s.hi = s.lo | ~mask;
      return s;
    }
    case IdType::kIpv4Range:
      if (id.data.size() != 8)
        return IdError(absl::StrCat("IPV4_ADDR_RANGE ID of ", id.data.size(), " bytes"));
      s.lo = Get32(id.data, 0);
      s.hi = Get32(id.data, 4);
      if (s.lo > s.hi) return IdError(absl::StrCat("IPV4_ADDR_RANGE ID ", Ip(s.lo), "-", Ip(s.hi)));
      return s;
    case IdType::kFqdn:
    case IdType::kUserFqdn:
    case IdType::kKeyId:
      if (id.data.empty()) return IdError("empty name ID");
      s.lo = s.hi = name_addr;
      s.name = Identity{id.type, id.data};
      return s;
    default:
      break;
  }
  return IdError(absl::StrCat("phase 2 ID type ", static_cast<int>(id.type), " not supported"));
}

AgreedSelectors PolicySelectors(const Phase2Policy& p, uint32_t local_addr, uint32_t peer_addr) {
  const PolicyView& v = p.view;
  AgreedSelectors a;
  a.local = PolicySide(v.laddr, v.lmask, p.lname, v.proto, v.lport_lo, v.lport_hi, local_addr);
  a.remote = PolicySide(v.raddr, v.rmask, p.rname, v.proto, v.rport_lo, v.rport_hi, peer_addr);
  return a;
}

absl::StatusOr<PolicyMatch> FindPolicyForIds(absl::Span<const Phase2Policy> policies,
                                             const std::optional<IdPayload>& idci,
                                             const std::optional<IdPayload>& idcr,
                                             uint32_t peer, uint32_t local,
                                             absl::string_view isakmp_policy) {
  if (idci.has_value() != idcr.has_value())
    return IdError("Quick Mode with only one of IDci and IDcr");
  // The peer initiated: IDci is its side (our remote), IDcr ours.
  Selector remote = HostSelector(peer), own = HostSelector(local);
  if (idci) {
    absl::StatusOr<Selector> r = SelectorFromId(*idci, peer);
    if (!r.ok()) return r.status();
    absl::StatusOr<Selector> l = SelectorFromId(*idcr, local);
    if (!l.ok()) return l.status();
    remote = std::move(*r);
    own = std::move(*l);
  }
  std::vector<std::string> reasons;
  bool more = false;
  auto note = [&](std::string r) {
    if (reasons.size() < kMaxReasons) reasons.push_back(std::move(r));
    else more = true;
  };
  bool peer_known = false;
  for (const Phase2Policy& p : policies) {
    const PolicyView& v = p.view;
    if (v.action != PolicyAction::kIpsec || v.keyman != control::KeyManagement::kIsakmp) continue;
    if (!v.peer_dynamic && v.peer != peer) continue;
    peer_known = true;
    if (!isakmp_policy.empty() && !p.isakmp_policy.empty() &&
        !absl::EqualsIgnoreCase(isakmp_policy, p.isakmp_policy)) {
      note(absl::StrCat("policy ", p.name, ": ISAKMPPOLICY ", p.isakmp_policy));
      continue;
    }
    const AgreedSelectors ours = PolicySelectors(p, local, peer);
    if (!SelectorWithin(remote, ours.remote)) {
      note(absl::StrCat("policy ", p.name, ": remote ", remote.ToString(), " not within ",
                        ours.remote.ToString()));
      continue;
    }
    if (!SelectorWithin(own, ours.local)) {
      note(absl::StrCat("policy ", p.name, ": local ", own.ToString(), " not within ",
                        ours.local.ToString()));
      continue;
    }
    return PolicyMatch{&p, AgreedSelectors{own, remote}};
  }
  std::string why = absl::StrCat("no IPsec policy for ", remote.ToString(), " to ",
                                 own.ToString(), " from peer ", Ip(peer));
  if (!peer_known) {
    absl::StrAppend(&why, ": no ISAKMP policy names this peer");
  } else {
    absl::StrAppend(&why, ": ", absl::StrJoin(reasons, "; "), more ? "; ..." : "");
  }
  return IdError(std::move(why));
}

absl::StatusOr<AgreedSelectors> CheckReplyIds(const QuickModeIds& sent,
                                              const std::optional<IdPayload>& idci,
                                              const std::optional<IdPayload>& idcr,
                                              uint32_t local, uint32_t peer) {
  if (idci.has_value() != idcr.has_value())
    return IdError("the responder returned only one of IDci and IDcr");
  absl::StatusOr<Selector> want_l = SelectorFromId(sent.idci, local);
  if (!want_l.ok()) return want_l.status();
  absl::StatusOr<Selector> want_r = SelectorFromId(sent.idcr, peer);
  if (!want_r.ok()) return want_r.status();
  AgreedSelectors got{HostSelector(local), HostSelector(peer)};
  if (idci) {
    absl::StatusOr<Selector> l = SelectorFromId(*idci, local);
    if (!l.ok()) return l.status();
    absl::StatusOr<Selector> r = SelectorFromId(*idcr, peer);
    if (!r.ok()) return r.status();
    got = AgreedSelectors{std::move(*l), std::move(*r)};
  }
  if (!SelectorWithin(got.local, *want_l) || !SelectorWithin(got.remote, *want_r))
    return IdError(absl::StrCat("the responder returned IDs ", got.local.ToString(), " / ",
                                got.remote.ToString(), " outside ", want_l->ToString(), " / ",
                                want_r->ToString()));
  return got;
}

}  // namespace arsec::ike
