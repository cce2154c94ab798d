// From configuration to dataplane messages, as pure functions: the manual-keyed SAs of a
// policy's bundle (msg::SaBody, keys inside), the policy's msg::PolicyBody, and its SPD
// rule (msg::SpdRuleWire). No state, no I/O, so every mapping is unit-tested directly.
//
// Manual keying (KEYMAN=MANUAL): each SA specification of the bundle's one proposal
// becomes one outbound SA (OUTSPI) and one inbound SA (INSPI), both with the spec's keys.
// Applied outbound in the order the bundle string gives (IPComp first); the FIRST SA of
// the bundle carries the spec's MODE (in tunnel mode it adds the outer header: source =
// the policy interface's address, destination = PEER) and every later one is sent as
// transport, since they share that outer header. IPComp's CPI is the well-known transform
// id (2 DEFLATE, 3 LZS). UDPTUNNEL=TRUE puts the ESP SA into ESP-over-UDP (the seed's
// port 2746: source = SET IPSEC UDPPORT, destination = the policy's UDPPORT; inbound SAs
// carry the same pair as the packets arrive, peer -> us). Manual SAs have no lifetime.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/ring_msg.h"
#include "control/ipsec/enco_keys.h"
#include "control/ipsec/ipsec_types.h"

namespace arsec::control {

// One SA specification of a bundle, as its two dataplane SAs (sa_id left 0).
struct SaPair {
  uint32_t spec_id = 0;
  msg::SaBody out{};
  msg::SaBody in{};
};

struct BundlePlan {
  std::vector<SaPair> sas;   // bundle order
  uint32_t local = 0, peer = 0;
};

// Checks that the ENCO keys of a MANUAL SA specification exist and fit its algorithms
// (type and length). The messages name key numbers and lengths, never key bytes.
absl::Status CheckSaSpecKeys(const SaSpec& spec, const EncoKeyStore& keys);

// The SAs of a MANUAL policy. `local` is the tunnel source (0: the interface has no
// address, which is an error here), `local_udp_port` SET IPSEC UDPPORT. Errors say why
// the policy cannot have SAs (shown by SHOW IPSEC POLICY). The caller wipes the plan's
// key bytes (WipeSaBody) once sent.
absl::StatusOr<BundlePlan> PlanManualBundle(const PolicyView& p, uint32_t policy_id,
                                            const BundleSpec& bundle,
                                            const std::map<uint32_t, SaSpec>& specs,
                                            const EncoKeyStore& keys, uint32_t local,
                                            uint16_t local_udp_port);

// One SA negotiated by IKE, for MakeNegotiatedPair. Keys are KEYMAT per direction: the
// cipher key (GCM: key | 4-byte salt) first, then the integrity key (RFC 2409 5.5).
struct NegotiatedSaInput {
  SaProtocol protocol = SaProtocol::kEsp;
  EncAlg enc = EncAlg::kNull;
  HashAlg hash = HashAlg::kNull;
  CompAlg comp = CompAlg::kNone;
  bool tunnel = true;
  uint32_t in_spi = 0, out_spi = 0;
  const uint8_t* in_key = nullptr;
  const uint8_t* out_key = nullptr;
  size_t key_len = 0;                // bytes of each of in_key / out_key
  uint32_t soft_seconds = 0, hard_seconds = 0;
  uint64_t soft_kbytes = 0, hard_kbytes = 0;
  bool antireplay = true;
  uint32_t window = kDefaultReplayWindow;
};

// The two dataplane SAs of a negotiated SA at position `index` of its bundle (the first
// one carries the tunnel; `udp_encap`: RFC 3948 ESP in UDP, sport/dport as we send).
absl::StatusOr<SaPair> MakeNegotiatedPair(const PolicyView& p, uint32_t policy_id,
                                          size_t index, const NegotiatedSaInput& in,
                                          uint32_t local, uint32_t peer, bool udp_encap,
                                          uint16_t sport, uint16_t dport);

// The policy as the workers see it; out_sa/in_sa filled from `sa_ids` (dataplane ids of
// the bundle's SAs in bundle order: out, in pairs).
msg::PolicyBody MakePolicyBody(const Policy& pol, const PolicyView& v, uint32_t local,
                               const std::vector<std::pair<uint32_t, uint32_t>>& sa_ids);

// The policy's selectors as one SPD rule (mask 0 = any, proto -1 = any).
msg::SpdRuleWire MakeSpdRule(const PolicyView& v, uint32_t policy_id);

// Overwrites the key bytes of an SaBody (OPENSSL_cleanse).
void WipeSaBody(msg::SaBody* sa);

// A digest of an SA pair with its ids cleared, to tell whether installed SAs must be
// replaced (SHA-256: it covers key bytes, so it is not a plain checksum).
std::string SaPairDigest(const SaPair& p);

}  // namespace arsec::control
