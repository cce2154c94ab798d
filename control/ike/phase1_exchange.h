// Phase 1: Main Mode (RFC 2409 5, identity protection, six messages) and Aggressive
// Mode (three messages), authenticated by pre-shared key or RSA signature, with the
// NAT-T vendor ids and NAT-D payloads of RFC 3947 and the DPD vendor id of RFC 3706.
// One class for both modes: they exchange the same things in different packings.
#pragma once

#include <optional>
#include <string>

#include "control/ike/engine.h"

namespace arsec::ike {

class Phase1Exchange : public Exchange {
 public:
  Phase1Exchange(Engine& e, IkeSa* sa, bool aggressive, bool initiator);
  // Initiator: sends the first message.
  void Start();
  void OnMessage(const Header& h, const std::vector<Payload>& payloads) override;
  std::string StateName() const override;
  int Phase() const override { return 1; }
  const char* TypeName() const override { return aggressive_ ? "AGGRESSIVE" : "MAIN"; }
  void OnTimeout() override;
  bool aggressive() const { return aggressive_; }

 private:
  enum class St : uint8_t {
    kStart, kWaitSa, kWaitKeNonce, kWaitIdHash, kWaitAggrReply, kWaitAggrHash, kDone, kFailed
  };
  // Message handlers per state.
  void InitGotSa(const std::vector<Payload>& pl);           // main 2
  void InitGotKe(const std::vector<Payload>& pl);           // main 4
  void InitGotIdHash(const std::vector<Payload>& pl);       // main 6
  void RespGotSa(const std::vector<Payload>& pl);           // main 1
  void RespGotKe(const std::vector<Payload>& pl);           // main 3
  void RespGotIdHash(const std::vector<Payload>& pl);       // main 5
  void InitGotAggrReply(const std::vector<Payload>& pl);    // aggressive 2
  void RespGotAggrFirst(const std::vector<Payload>& pl);    // aggressive 1
  void RespGotAggrHash(const std::vector<Payload>& pl);     // aggressive 3

  void AddVendorIds(std::vector<Payload>& out) const;
  void ReadVendorIds(const std::vector<Payload>& pl);
  void AddNatD(std::vector<Payload>& out) const;
  bool CheckNatD(const std::vector<Payload>& pl);           // false: malformed
  bool TakeKeNonce(const std::vector<Payload>& pl);
  bool DeriveKeys();
  Payload OwnId();
  Bytes OwnHash() const;
  bool VerifyPeerHash(const std::vector<Payload>& pl, const Bytes& id_body);
  bool CheckPeerId(const IdPayload& id);
  bool NatTActive() const { return sa_->nat_t_vid && sa_->cfg && sa_->cfg->nat_t; }
  void Fail(NotifyType notify, const std::string& why, Ctr counter);
  void Complete();

  bool aggressive_;
  St st_ = St::kStart;
  Bytes sai_b_;                       // the initiator's SA payload body
  std::optional<DhKeyPair> dh_;
  Bytes ni_, nr_, gxi_, gxr_;
  SecretBytes gxy_;
  Bytes peer_id_b_;                  // aggressive responder: IDii_b
  Bytes idi_b_, idr_b_;              // our own ID payload body
};

}  // namespace arsec::ike
