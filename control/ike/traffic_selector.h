// Phase 2 identities (RFC 2409 5.5, RFC 2407 4.6.2): an IPsec policy's selectors as the
// IDci/IDcr payloads of Quick Mode, and the reverse: which of our policies a peer's
// identities belong to. Pure data, no exchange state.
//
// Our IDs: an address selector with a host mask is IPV4_ADDR, any other mask
// IPV4_SUBNET (no LADDRESS: 0.0.0.0/0); the protocol and a single port go into the ID's
// protocol and port fields (IKEv1 IDs carry one port, so a port range other than "any"
// cannot be proposed). LNAME/RNAME replace the address with a name (FQDN, or USER_FQDN for
// "user@host"): the seed's VPN client with an unknown address sends LNAME as its IDci,
// and the gateway's PEER=DYNAMIC policy names it with RNAME. The traffic such a name
// stands for is the ISAKMP peer's own address.
//
// The responder looks for the first policy in creation order with ACTION=IPSEC
// KEYMAN=ISAKMP whose PEERADDRESS is the peer (or DYNAMIC) and whose selectors contain
// what the peer proposed: IKEv1 has no narrowing (RFC 2409 says nothing of it; strongSwan
// and racoon's default require the proposal to lie within their policy), so a proposal
// wider than the policy is refused with INVALID-ID-INFORMATION rather than cut down. The
// AR documentation does not describe narrowing either. The SA then protects exactly what
// the peer proposed. Without IDs the selectors are the two peers' addresses (RFC 2409
// 5.5).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "control/ike/ike_config.h"
#include "control/ike/isakmp_codec.h"
#include "control/ipsec/ipsec_types.h"

namespace arsec::ike {

// One side of a phase 2 selector, host order.
struct Selector {
  uint32_t lo = 0, hi = 0xffffffff;        // address range
  uint8_t protocol = 0;                    // 0: any
  uint16_t port_lo = 0, port_hi = 0xffff;  // 0..65535: any
  std::optional<Identity> name;            // a name ID; lo == hi is then the peer's address

  bool operator==(const Selector& o) const;
  bool any_port() const { return port_lo == 0 && port_hi == 0xffff; }
  // "192.168.10.0/24", "10.0.0.1", "10.0.0.1-10.0.0.9", "fqdn client1 (1.2.3.4)", with
  // " proto 17 port 1701" when they are not "any".
  std::string ToString() const;
};

// Everything `inner` selects is selected by `outer` (names must be equal: FQDNs compared
// without case).
bool SelectorWithin(const Selector& inner, const Selector& outer);

// The selectors of one SA bundle, from our side: local (the source of what we send) and
// remote.
struct AgreedSelectors {
  Selector local, remote;
};

// IDci and IDcr as we send them when we initiate Quick Mode for a policy.
struct QuickModeIds {
  IdPayload idci;   // our local side
  IdPayload idcr;   // our remote side
};
absl::StatusOr<QuickModeIds> IdsForPolicy(const control::PolicyView& v,
                                          const std::optional<Identity>& lname,
                                          const std::optional<Identity>& rname);
absl::StatusOr<QuickModeIds> IdsForPolicy(const Phase2Policy& p);

// A received ID as a selector; a name ID selects `name_addr` (the address of the side
// that sent it). IPv6 and DN IDs are INVALID-ID-INFORMATION.
absl::StatusOr<Selector> SelectorFromId(const IdPayload& id, uint32_t name_addr);
// A host selector: one address, any protocol and port.
Selector HostSelector(uint32_t addr);

// A policy's own selectors, from our side; a name side selects `name_addr`.
AgreedSelectors PolicySelectors(const Phase2Policy& p, uint32_t local_addr,
                                uint32_t peer_addr);

struct PolicyMatch {
  const Phase2Policy* policy = nullptr;
  AgreedSelectors selectors;   // the peer's IDs, from our side (IDcr local, IDci remote)
};

// Responder: the first policy (creation order) for a Quick Mode from `peer` to `local`
// with these IDs (both absent: the two addresses). `isakmp_policy`: the ISAKMP SA's
// policy, checked against a policy's ISAKMPPOLICY (empty: not checked). Errors carry
// INVALID-ID-INFORMATION (NotifyFor) and say why each candidate did not fit.
absl::StatusOr<PolicyMatch> FindPolicyForIds(absl::Span<const Phase2Policy> policies,
                                             const std::optional<IdPayload>& idci,
                                             const std::optional<IdPayload>& idcr,
                                             uint32_t peer, uint32_t local,
                                             absl::string_view isakmp_policy);

// Initiator: the responder's IDs (absent: the two addresses, as strongSwan does) must lie
// within the ones we sent; the result is what the SA protects.
absl::StatusOr<AgreedSelectors> CheckReplyIds(const QuickModeIds& sent,
                                              const std::optional<IdPayload>& idci,
                                              const std::optional<IdPayload>& idcr,
                                              uint32_t local, uint32_t peer);

}  // namespace arsec::ike
