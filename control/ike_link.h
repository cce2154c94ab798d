// The link between arsec-control's models and its IKE daemon:
//  - IkeLink is the daemon's SaInstaller: negotiated bundles go into the IPsec model
//    through the Controller (SHOW IPSEC SA ids, dataplane SA ids 2n / 2n+1), SPIs are
//    chosen at random among the free ones;
//  - it maps dataplane SA expiry events back to the daemon's bundles (soft: rekey;
//    hard: forget), those it installed and those a restarted control plane adopted
//    from the dataplane (Adopt);
//  - BuildIkeConfig turns the ISAKMP, IPsec, ENCO and user models into the daemon's
//    configuration snapshot (ike_config.h).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "control/config/config_model.h"
#include "control/ike/ike_config.h"
#include "control/ike/sa_installer.h"
#include "control/ipsec/enco_keys.h"
#include "control/ipsec/ipsec_model.h"
#include "control/isakmp/isakmp_model.h"

namespace arsec::control {

class Controller;

// The daemon's configuration from the models (called under the controller's lock).
// ISAKMP policies whose key is missing are left out, with the reason in `problems`.
std::shared_ptr<ike::IkeConfig> BuildIkeConfig(const IsakmpModel& isakmp, const IpsecModel& ipsec,
                                               const EncoKeyStore& keys, const ConfigModel& ip,
                                               std::vector<std::string>* problems);

class IkeLink : public ike::SaInstaller {
 public:
  explicit IkeLink(Controller* c) : c_(c) {}
  uint32_t ReserveSpi(SaProtocol p) override;
  void ReleaseSpi(SaProtocol p, uint32_t spi) override;
  absl::StatusOr<uint32_t> Install(const ike::NegotiatedBundle& b) override;
  void Remove(uint32_t handle) override;
  void Activate(uint32_t handle) override;
  // The bundle a SHOW IPSEC SA id belongs to (0 if none): expiry events name SAs.
  uint32_t BundleOfSa(uint32_t sa_id) const;
  // A bundle adopted after a restart (its SAs already in the IPsec model): known from now
  // on under `handle` (its first SA id, as Install hands out), so that its expiry events
  // reach the daemon and Remove takes it away.
  void Adopt(uint32_t handle, const std::vector<uint32_t>& sa_ids);

 private:
  Controller* c_;
  mutable std::mutex mu_;
  std::set<std::pair<uint8_t, uint32_t>> reserved_;
  std::map<uint32_t, std::vector<uint32_t>> bundles_;   // handle -> SA ids
};

}  // namespace arsec::control
