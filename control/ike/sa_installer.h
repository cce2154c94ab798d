// Where negotiated IPsec SAs go: the real installer (model_sa_installer.h) registers
// them with arsec-control's IPsec model, which sends them to the dataplane on the ring
// and shows them in SHOW IPSEC SA; the test installer records them.
//
// A bundle is installed make-before-break: the new SAs are added and the policy is
// pointed at them in one step; the SAs of the bundle they replace stay until Remove
// (the engine removes the old inbound SAs a little later, when the peer has switched).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "control/ike/ike_crypto.h"
#include "control/ike/isakmp_wire.h"
#include "control/ipsec/ipsec_types.h"

namespace arsec::ike {

// One protocol of a negotiated bundle, both directions.
struct NegotiatedSa {
  control::SaProtocol protocol = control::SaProtocol::kEsp;
  uint32_t spec_id = 0;               // the SA specification it matched
  control::EncAlg enc = control::EncAlg::kNull;
  control::HashAlg hash = control::HashAlg::kNull;
  control::CompAlg comp = control::CompAlg::kNone;
  bool tunnel = true;
  uint32_t in_spi = 0;                // ours: the peer sends with it (CPI for IPComp)
  uint32_t out_spi = 0;               // the peer's
  // KEYMAT per direction: cipher key (GCM: key | salt) then authentication key.
  SecretBytes in_key, out_key;
  uint32_t hard_seconds = 0, soft_seconds = 0;
  uint64_t hard_kbytes = 0, soft_kbytes = 0;
};

struct NegotiatedBundle {
  uint32_t policy_id = 0;
  uint32_t local = 0, peer = 0;       // the tunnel's outer addresses (host order)
  bool udp_encap = false;             // NAT-T: ESP in UDP
  uint16_t encap_sport = 4500, encap_dport = 4500;
  std::vector<NegotiatedSa> sas;      // apply order (IPComp, ESP, AH)
  uint32_t isakmp_sa = 0;             // the ISAKMP SA that negotiated it
  // Rekey, initiator side: install inbound and outbound SAs, but keep the policy sending
  // on the bundle it replaces until Activate (the peer installs the new SAs only when
  // our last quick mode message reaches it).
  bool defer_outbound = false;
};

class SaInstaller {
 public:
  virtual ~SaInstaller() = default;
  // An unused inbound SPI (>= 256; IPComp: a CPI in 256..61439), reserved until
  // Install or Release.
  virtual uint32_t ReserveSpi(control::SaProtocol p) = 0;
  virtual void ReleaseSpi(control::SaProtocol p, uint32_t spi) = 0;
  // Installs the bundle and points its policy at it. Returns a handle for Remove.
  virtual absl::StatusOr<uint32_t> Install(const NegotiatedBundle& b) = 0;
  // Points the policy at a bundle installed with defer_outbound.
  virtual void Activate(uint32_t handle) { (void)handle; }
  // Removes an installed bundle (a DELETE from the peer, expiry, replacement).
  virtual void Remove(uint32_t handle) = 0;
};

}  // namespace arsec::ike
