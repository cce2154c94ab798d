// The SPD semantics written as plainly as possible, for tests to hold SpdTable against:
// walk the interface's policies in creation order and return the first that matches.
// Linear, slow and obviously correct; never on the packet path.
#pragma once

#include <rte_byteorder.h>

#include <cstdint>
#include <vector>

#include "dataplane/ipsec/spd.h"

namespace arsec::dp {

class SpdReference {
 public:
  explicit SpdReference(std::vector<SpdRule> rules) : rules_(std::move(rules)) {}

  // Host-order packet fields as they appear in the packet (src = the packet's source).
  uint32_t Classify(uint32_t ifindex, SpdDir dir, uint8_t proto, uint32_t src, uint32_t dst,
                    uint16_t sport, uint16_t dport) const {
    // Inbound the packet's destination is the local side.
    bool out = dir == SpdDir::kOutbound;
    uint32_t local = out ? src : dst, remote = out ? dst : src;
    uint16_t lport = out ? sport : dport, rport = out ? dport : sport;
    bool any_policy = false;
    for (const SpdRule& r : rules_) {
      if (r.ifindex != ifindex) continue;
      any_policy = true;
      if ((local & r.lmask) != (r.laddr & r.lmask)) continue;
      if ((remote & r.rmask) != (r.raddr & r.rmask)) continue;
      if (r.proto != kSpdAnyProto && r.proto != proto) continue;
      if (lport < r.lport_lo || lport > r.lport_hi) continue;
      if (rport < r.rport_lo || rport > r.rport_hi) continue;
      return SpdResultMake(r.action, r.policy);
    }
    return any_policy ? kSpdResultImplicitDeny : kSpdResultNoSpd;
  }

  uint32_t Classify(uint32_t ifindex, SpdDir dir, const SpdKey& k) const {
    return Classify(ifindex, dir, k.proto, rte_be_to_cpu_32(k.src), rte_be_to_cpu_32(k.dst),
                    rte_be_to_cpu_16(k.sport), rte_be_to_cpu_16(k.dport));
  }

 private:
  std::vector<SpdRule> rules_;
};

}  // namespace arsec::dp
