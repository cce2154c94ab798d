// Phase 1: Main Mode (RFC 2409 5, identity protection, six messages) and Aggressive
// Mode (three messages), authenticated by pre-shared key or RSA signature, with the
// NAT-T vendor ids and NAT-D payloads of RFC 3947 and the DPD vendor id of RFC 3706.
// One class for both modes: they exchange the same things in different packings.
//
// RSA signatures (RFC 2409 5.1): SKEYID = prf(Ni_b | Nr_b, g^xy); the HASH payload of
// messages 5/6 (aggressive 2/3) becomes [CERT] SIG, the signature over HASH_I/HASH_R
// (ike_rsa.h). The key, our certificate and the CA's name are loaded from the ISAKMP
// policy's files when the exchange knows it signs, so a missing file fails that exchange
// with a log line naming the file. Each side asks for the other's certificate with a
// CERTREQ (messages 3/4, aggressive 1/2) naming CACERTIFICATE's subject; a peer's
// certificate must verify against CACERTIFICATE and carry the peer's ID (its subject DN,
// or a subjectAltName for FQDN/USER_FQDN/IPV4_ADDR IDs). Without a certificate of our
// own we send no CERT and the peer must know our key some other way.
//
// XAUTH: when the ISAKMP policy has XAUTH=SERVER or CLIENT, the offers go out (and are
// matched) with the XAUTH authentication methods of draft-beaulieu-ike-xauth-02: the
// "Init" variant when the phase 1 initiator is the XAUTH client. The XAUTH exchange
// itself follows phase 1 (xauth_exchange.h).
#pragma once

#include <optional>
#include <string>

#include "control/ike/engine.h"
#include "control/ike/ike_rsa.h"

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
  // Main mode messages 5/6: the peer's ID payload, REMOTEID and its HASH or signature;
  // false after failing the exchange.
  bool AuthenticateMainPeer(const std::vector<Payload>& pl);
  // The policy's offers with the authentication method as it goes on the wire (XAUTH).
  std::vector<Phase1Offer> WireOffers() const;
  // The authentication method is known: with signatures, load the key, our certificate
  // and the CA's name. False (after Fail) when something cannot be loaded.
  bool PrepareAuth(AuthMethod wire);
  void AddCertReq(std::vector<Payload>& out) const;
  // HASH (pre-shared key) or [CERT] SIG (signatures) proving our identity. False (after
  // Fail) when signing failed.
  bool AddOwnAuth(std::vector<Payload>& out);
  // Checks the peer's HASH, or its certificate, identity and SIG. An empty string when
  // the peer is authenticated, else why not (`notify` says what to tell it).
  std::string CheckPeerAuth(const std::vector<Payload>& pl, const Bytes& id_body,
                            const IdPayload& id, NotifyType& notify);
  std::string CheckPeerCertificate(const std::vector<Payload>& pl, const IdPayload& id,
                                   std::optional<RsaPublicKey>& key);
  void ReadCertReq(const std::vector<Payload>& pl);
  // The last message of phase 1 (main 5, aggressive 3) tells the peer we rebooted
  // (RFC 2407 4.6.3.3), and the responder acts on it; only when encrypted, since an
  // unencrypted notify is not covered by the peer's HASH or signature.
  void AddInitialContact(std::vector<Payload>& out);
  void ReadInitialContact(const std::vector<Payload>& pl);
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
  IdPayload peer_id_;                // aggressive responder: IDii parsed
  bool sig_ = false;                 // RSA signatures (with or without XAUTH)
  std::optional<RsaPrivateKey> key_; // LOCALRSAKEY
  std::optional<Certificate> cert_;  // LOCALCERTIFICATE (optional)
  Bytes ca_subject_;                 // CACERTIFICATE's subject DN (for CERTREQ)
  bool peer_certreq_ = false;        // the peer asked for our certificate
  bool encrypted_ = false;           // the message being handled came encrypted
};

}  // namespace arsec::ike
