// Quick Mode (RFC 2409 5.5): phase 2 under an established ISAKMP SA. Three messages,
// HASH(1..3) authenticated, optional PFS (KE), the phase 2 identities from the IPsec
// policy's selectors, the bundle's proposals (proposal.h), KEYMAT for every SA of the
// bundle, and the bundle installed through the SaInstaller when both sides committed.
#pragma once

#include <optional>
#include <string>

#include "control/ike/engine.h"
#include "control/ike/proposal.h"
#include "control/ike/traffic_selector.h"

namespace arsec::ike {

class QuickExchange : public Exchange {
 public:
  QuickExchange(Engine& e, IkeSa* sa, bool initiator, uint32_t message_id);
  ~QuickExchange() override;
  // Initiator: negotiate SAs for `policy` (replacing bundle `replaces`, 0 if none).
  void Start(const Phase2Policy& policy, uint32_t replaces);
  void OnMessage(const Header& h, const std::vector<Payload>& payloads) override;
  std::string StateName() const override;
  const char* TypeName() const override { return "QUICK"; }
  void OnTimeout() override;
  uint32_t policy_id() const { return policy_id_; }

 private:
  enum class St : uint8_t { kStart, kWaitHashSaNonce, kWaitHash3, kWaitConnected, kDone, kFailed };
  void RespFirst(const Header& h, const std::vector<Payload>& pl);
  void InitReply(const Header& h, const std::vector<Payload>& pl);
  void RespHash3(const std::vector<Payload>& pl);
  void InitConnected(const std::vector<Payload>& pl);   // commit bit: the responder's N(CONNECTED)
  void Installed();
  bool Install();
  void Fail(NotifyType notify, const std::string& why, Ctr counter);
  void ReleaseSpis();
  std::vector<Payload> WithHash(std::vector<Payload> rest, const Bytes& hash) const;
  Bytes RestOf(const std::vector<Payload>& pl) const;   // the chain after the HASH payload

  St st_ = St::kStart;
  uint32_t policy_id_ = 0;
  uint32_t replaces_ = 0;
  const Phase2Policy* policy_ = nullptr;
  std::vector<std::pair<control::SaProtocol, uint32_t>> our_spis_;
  Phase2Spis Spis() const;
  Phase2Params Params(int pfs_group) const;
  std::optional<QuickModeIds> sent_ids_;
  Bytes ni_, nr_;
  std::optional<DhKeyPair> dh_;
  Bytes peer_ke_;
  SecretBytes gxy_;
  std::optional<Phase2Choice> choice_;
  bool installed_ = false;
  bool commit_ = false;   // the responder set the commit bit (RFC 2408 3.1, RFC 2409 5.5)
};

}  // namespace arsec::ike
