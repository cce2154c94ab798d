#include "control/ike/phase1_exchange.h"

#include <openssl/crypto.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "control/ike/isakmp_wire.h"

namespace arsec::ike {
namespace {

Payload Raw(PayloadType t, Bytes body) { return Payload{t, std::move(body)}; }

Bytes VidBytes(const uint8_t* p, size_t n) { return Bytes(p, p + n); }

const Payload* First(const std::vector<Payload>& pl, PayloadType t) {
  for (const auto& p : pl)
    if (p.type == t) return &p;
  return nullptr;
}

std::string Ip(uint32_t a) {
  return absl::StrCat(a >> 24, ".", (a >> 16) & 255, ".", (a >> 8) & 255, ".", a & 255);
}

// An identity for a log line: a DN as its text ("C=JP, O=..., CN=gw-b").
std::string IdText(const Identity& id) {
  if (id.type == IdType::kDerAsn1Dn) {
    auto t = DnToText(id.data);
    if (t.ok()) return *t;
  }
  return id.ToString();
}

// Whether the (already verified) certificate names the identity the peer claimed.
bool CertificateCarries(const Certificate& c, const IdPayload& id) {
  const std::string text(id.data.begin(), id.data.end());
  switch (id.type) {
    case IdType::kDerAsn1Dn: return DnEqual(id.data, c.subject_der());
    case IdType::kFqdn: return c.HasFqdn(text);
    case IdType::kUserFqdn: return c.HasEmail(text);
    case IdType::kIpv4Addr:
      return id.data.size() == 4 &&
             c.HasIpv4(uint32_t{id.data[0]} << 24 | uint32_t{id.data[1]} << 16 |
                       uint32_t{id.data[2]} << 8 | id.data[3]);
    default: return false;
  }
}

}  // namespace

Phase1Exchange::Phase1Exchange(Engine& e, IkeSa* sa, bool aggressive, bool initiator)
    : Exchange(e, sa, aggressive ? ExchangeType::kAggressive : ExchangeType::kIdProt,
               initiator, 0),
      aggressive_(aggressive) {}

std::string Phase1Exchange::StateName() const {
  switch (st_) {
    case St::kStart: return "START";
    case St::kWaitSa: return "WAIT_SA";
    case St::kWaitKeNonce: return "WAIT_KE_NONCE";
    case St::kWaitIdHash: return "WAIT_ID_HASH";
    case St::kWaitAggrReply: return "WAIT_SA_KE_NONCE_ID_HASH";
    case St::kWaitAggrHash: return "WAIT_HASH";
    case St::kDone: return "DONE";
    case St::kFailed: return "FAILED";
  }
  return "?";
}

void Phase1Exchange::AddVendorIds(std::vector<Payload>& out) const {
  const PeerConfig* c = sa_->cfg;
  if (c == nullptr || c->nat_t) {
    out.push_back(Raw(PayloadType::kVendorId, VidBytes(kVidRfc3947, 16)));
    out.push_back(Raw(PayloadType::kVendorId, VidBytes(kVidNatTDraft03, 16)));
    out.push_back(Raw(PayloadType::kVendorId, VidBytes(kVidNatTDraft02n, 16)));
  }
  if (c == nullptr || c->dpd != DpdMode::kNone)
    out.push_back(Raw(PayloadType::kVendorId, VidBytes(kVidDpd, 16)));
  if (c != nullptr && c->xauth != XauthRole::kNone)
    out.push_back(Raw(PayloadType::kVendorId, VidBytes(kVidXauth, 8)));
}

void Phase1Exchange::ReadVendorIds(const std::vector<Payload>& pl) {
  for (const auto& p : pl) {
    if (p.type != PayloadType::kVendorId) continue;
    const Bytes& v = p.body;
    auto is = [&](const uint8_t* id, size_t n) {
      return v.size() >= n && std::memcmp(v.data(), id, n) == 0;
    };
    if (is(kVidRfc3947, 16)) {
      sa_->nat_t_vid = true;
      sa_->nat_t_rfc = true;
    } else if (is(kVidNatTDraft03, 16) || is(kVidNatTDraft02n, 16)) {
      if (!sa_->nat_t_vid) sa_->nat_t_rfc = false;
      sa_->nat_t_vid = true;
    } else if (is(kVidDpd, 16)) {
      sa_->peer_dpd = true;
    } else if (is(kVidXauth, 8)) {
      sa_->peer_xauth = true;
    }
  }
  // RFC 3947 wins over the drafts whatever the order of the payloads.
  for (const auto& p : pl)
    if (p.type == PayloadType::kVendorId && p.body.size() >= 16 &&
        std::memcmp(p.body.data(), kVidRfc3947, 16) == 0)
      sa_->nat_t_rfc = true;
}

void Phase1Exchange::AddNatD(std::vector<Payload>& out) const {
  if (!NatTActive()) return;
  const PayloadType t = sa_->nat_t_rfc ? PayloadType::kNatD : PayloadType::kNatDDraft;
  const PrfHash h = sa_->choice.prf;
  // RFC 3947 3.2: the first is the peer's address and port as we send to them, then ours.
  out.push_back(Raw(t, NatD(h, sa_->icookie, sa_->rcookie, sa_->peer, sa_->peer_port)));
  out.push_back(Raw(t, NatD(h, sa_->icookie, sa_->rcookie, sa_->local, sa_->local_port)));
}

bool Phase1Exchange::CheckNatD(const std::vector<Payload>& pl) {
  if (!NatTActive()) return true;
  std::vector<const Payload*> d;
  for (const auto& p : pl)
    if (p.type == PayloadType::kNatD || p.type == PayloadType::kNatDDraft) d.push_back(&p);
  if (d.empty()) return true;        // the peer does not do NAT-T after all
  if (d.size() < 2) return false;
  const PrfHash h = sa_->choice.prf;
  // The first NAT-D is what the peer believes our address is.
  const Bytes me = NatD(h, sa_->icookie, sa_->rcookie, sa_->local, sa_->local_port);
  sa_->local_behind_nat = d[0]->body != me;
  const Bytes them = NatD(h, sa_->icookie, sa_->rcookie, sa_->peer, sa_->peer_port);
  bool found = false;
  for (size_t i = 1; i < d.size(); ++i) found |= d[i]->body == them;
  sa_->peer_behind_nat = !found;
  if (sa_->local_behind_nat) e_.Count(Ctr::kNatDetectedLocal);
  if (sa_->peer_behind_nat) e_.Count(Ctr::kNatDetectedPeer);
  if (sa_->local_behind_nat || sa_->peer_behind_nat)
    e_.Log(3, absl::StrCat("Exchange ", id_, ": NAT detected (",
                           sa_->local_behind_nat ? "local" : "", 
                           sa_->local_behind_nat && sa_->peer_behind_nat ? ", " : "",
                           sa_->peer_behind_nat ? "peer" : "", ")"));
  return true;
}

bool Phase1Exchange::TakeKeNonce(const std::vector<Payload>& pl) {
  const Payload* ke = First(pl, PayloadType::kKe);
  const Payload* no = First(pl, PayloadType::kNonce);
  if (ke == nullptr || no == nullptr) return false;
  if (no->body.size() < 8 || no->body.size() > 256) return false;   // RFC 2409 5: 8..256
  if (ke->body.size() != DhLen(sa_->choice.group)) return false;
  if (initiator_) {
    gxr_ = ke->body;
    nr_ = no->body;
  } else {
    gxi_ = ke->body;
    ni_ = no->body;
  }
  return true;
}

bool Phase1Exchange::DeriveKeys() {
  auto shared = dh_->Shared(initiator_ ? gxr_ : gxi_);
  if (!shared.ok()) return false;
  gxy_ = std::move(*shared);
  const Phase1Choice& c = sa_->choice;
  SecretBytes skeyid;
  if (c.auth == AuthMethod::kRsaSig || c.auth == AuthMethod::kXauthInitRsa ||
      c.auth == AuthMethod::kXauthRespRsa) {
    skeyid = SkeyidSig(c.prf, ni_, nr_, gxy_.span());
  } else {
    skeyid = SkeyidPsk(c.prf, sa_->cfg->psk.span(), ni_, nr_);
  }
  sa_->keys = DerivePhase1(c.prf, c.cipher, c.key_bits, std::move(skeyid), gxy_.span(),
                           sa_->icookie, sa_->rcookie);
  iv_ = Phase1Iv(c.prf, c.cipher, gxi_, gxr_);
  return true;
}

std::vector<Phase1Offer> Phase1Exchange::WireOffers() const {
  std::vector<Phase1Offer> out = sa_->cfg->offers;
  const XauthRole role = sa_->cfg->xauth;
  if (role == XauthRole::kNone) return out;
  // The "Init" methods when the phase 1 initiator is the XAUTH client.
  const bool initiator_is_client = initiator_ == (role == XauthRole::kClient);
  for (Phase1Offer& o : out) o.auth = XauthAuthMethod(o.auth, initiator_is_client);
  return out;
}

bool Phase1Exchange::PrepareAuth(AuthMethod wire) {
  sig_ = BaseAuthMethod(wire) == AuthMethod::kRsaSig;
  if (!sig_ || key_) return true;
  const PeerConfig& c = *sa_->cfg;
  const Ctr failed = aggressive_ ? Ctr::kAggrFailed : Ctr::kMainFailed;
  // Local configuration problems: nothing the peer could act on, so no notify.
  if (c.rsa_key_file.empty()) {
    Fail(NotifyType{0}, "RSASIG: the ISAKMP policy has no LOCALRSAKEY", failed);
    return false;
  }
  auto key = RsaPrivateKey::LoadPemFile(c.rsa_key_file);
  if (!key.ok()) {
    Fail(NotifyType{0},
         absl::StrCat("RSASIG: cannot load the LOCALRSAKEY key: ", key.status().message()), failed);
    return false;
  }
  if (!c.cert_file.empty()) {
    auto cert = Certificate::LoadFile(c.cert_file);
    if (!cert.ok()) {
      Fail(NotifyType{0},
           absl::StrCat("RSASIG: cannot load LOCALCERTIFICATE: ", cert.status().message()), failed);
      return false;
    }
    if (!cert->MatchesKey(*key)) {
      Fail(NotifyType{0},
           absl::StrCat("RSASIG: LOCALCERTIFICATE ", c.cert_file,
                        " does not certify the LOCALRSAKEY key ", c.rsa_key_file),
           failed);
      return false;
    }
    cert_ = *std::move(cert);
  }
  if (c.ca_file.empty()) {
    Fail(NotifyType{0},
         "RSASIG: the ISAKMP policy has no CACERTIFICATE to verify the peer's certificate with",
         failed);
    return false;
  }
  auto ca = Certificate::LoadFile(c.ca_file);
  if (!ca.ok()) {
    Fail(NotifyType{0}, absl::StrCat("RSASIG: cannot load CACERTIFICATE: ", ca.status().message()),
         failed);
    return false;
  }
  ca_subject_ = ca->subject_der();
  key_ = *std::move(key);
  return true;
}

void Phase1Exchange::AddCertReq(std::vector<Payload>& out) const {
  if (!sig_) return;
  // RFC 2408 3.10: certificate type, then the acceptable CA's distinguished name.
  Bytes body{static_cast<uint8_t>(CertEncoding::kX509Sig)};
  body.insert(body.end(), ca_subject_.begin(), ca_subject_.end());
  out.push_back(Raw(PayloadType::kCertReq, std::move(body)));
}

void Phase1Exchange::ReadCertReq(const std::vector<Payload>& pl) {
  if (First(pl, PayloadType::kCertReq) != nullptr) peer_certreq_ = true;
}

bool Phase1Exchange::AddOwnAuth(std::vector<Payload>& out) {
  if (!sig_) {
    out.push_back(Raw(PayloadType::kHash, OwnHash()));
    return true;
  }
  if (cert_) {
    Bytes body{static_cast<uint8_t>(CertEncoding::kX509Sig)};
    body.insert(body.end(), cert_->der().begin(), cert_->der().end());
    out.push_back(Raw(PayloadType::kCert, std::move(body)));
  } else if (peer_certreq_) {
    e_.Log(4, absl::StrCat("Exchange ", id_, ": the peer asked for a certificate but the "
                           "ISAKMP policy has no LOCALCERTIFICATE"));
  }
  auto sig = key_->Sign(OwnHash());
  if (!sig.ok()) {
    Fail(NotifyType{0}, absl::StrCat("RSASIG: signing failed: ", sig.status().message()),
         aggressive_ ? Ctr::kAggrFailed : Ctr::kMainFailed);
    return false;
  }
  out.push_back(Raw(PayloadType::kSig, *std::move(sig)));
  return true;
}

std::string Phase1Exchange::CheckPeerCertificate(const std::vector<Payload>& pl,
                                                 const IdPayload& id,
                                                 std::optional<RsaPublicKey>& key) {
  // The first X.509 CERT is the peer's own; any others may be intermediate CAs.
  std::vector<Certificate> certs;
  for (const auto& p : pl) {
    if (p.type != PayloadType::kCert || p.body.empty() ||
        p.body[0] != static_cast<uint8_t>(CertEncoding::kX509Sig))
      continue;
    auto c = Certificate::FromDer(ByteSpan(p.body).subspan(1));
    if (!c.ok()) return absl::StrCat("the peer's certificate cannot be read: ", c.status().message());
    certs.push_back(*std::move(c));
  }
  if (certs.empty())
    return "the peer sent no certificate (CERT payload): RSASIG needs it to check the peer's "
           "signature";
  const Certificate& cert = certs.front();
  absl::Span<const Certificate> chain(certs.data() + 1, certs.size() - 1);
  if (absl::Status s = VerifyCertificate(cert, sa_->cfg->ca_file, chain); !s.ok())
    return absl::StrCat("the peer's certificate \"", cert.SubjectText(),
                        "\" does not verify against CACERTIFICATE: ", s.message());
  if (!CertificateCarries(cert, id))
    return absl::StrCat("the peer's identity ", IdText(Identity{id.type, id.data}),
                        " is not the subject or a subjectAltName of its certificate \"",
                        cert.SubjectText(), "\"");
  auto k = cert.PublicKey();
  if (!k.ok()) return absl::StrCat("the peer's certificate: ", k.status().message());
  key = *std::move(k);
  e_.Log(3, absl::StrCat("Exchange ", id_, ": peer certificate \"", cert.SubjectText(),
                         "\" (issuer \"", cert.IssuerText(), "\") verified"));
  return "";
}

std::string Phase1Exchange::CheckPeerAuth(const std::vector<Payload>& pl, const Bytes& id_body,
                                          const IdPayload& id, NotifyType& notify) {
  notify = NotifyType::kAuthenticationFailed;
  if (!sig_) {
    if (VerifyPeerHash(pl, id_body)) return "";
    return initiator_ ? "authentication failed (HASH_R mismatch: check the pre-shared key)"
                      : "authentication failed (HASH_I mismatch: check the pre-shared key)";
  }
  std::optional<RsaPublicKey> key;
  std::string why = CheckPeerCertificate(pl, id, key);
  if (!why.empty()) {
    notify = First(pl, PayloadType::kCert) ? NotifyType::kInvalidCertificate
                                           : NotifyType::kCertificateUnavailable;
    return why;
  }
  const Payload* sp = First(pl, PayloadType::kSig);
  if (sp == nullptr) {
    notify = NotifyType::kPayloadMalformed;
    return "no SIG payload";
  }
  const Phase1Choice& c = sa_->choice;
  const Bytes want = initiator_ ? HashR(c.prf, sa_->keys.skeyid.span(), gxi_, gxr_, sa_->icookie,
                                        sa_->rcookie, sai_b_, id_body)
                                : HashI(c.prf, sa_->keys.skeyid.span(), gxi_, gxr_, sa_->icookie,
                                        sa_->rcookie, sai_b_, id_body);
  if (!key->Verify(want, sp->body).ok()) {
    notify = NotifyType::kInvalidSignature;
    return absl::StrCat("authentication failed (the peer's signature does not verify: ",
                        initiator_ ? "HASH_R" : "HASH_I", " or the key differ)");
  }
  return "";
}

Payload Phase1Exchange::OwnId() {
  const PeerConfig* c = sa_->cfg;
  // LOCALID, else our certificate's subject when we sign with one, else our address.
  Identity id = c && c->local_id ? *c->local_id
                : sig_ && cert_  ? Identity{IdType::kDerAsn1Dn, cert_->subject_der()}
                                 : Identity::Ipv4(sa_->local);
  sa_->local_id = id;
  IdPayload p;
  p.type = id.type;
  p.protocol = 0;
  p.port = 0;
  p.data = id.data;
  return Raw(PayloadType::kId, BuildId(p));
}

Bytes Phase1Exchange::OwnHash() const {
  const Phase1Choice& c = sa_->choice;
  const Bytes& own_id = initiator_ ? idi_b_ : idr_b_;
  return initiator_ ? HashI(c.prf, sa_->keys.skeyid.span(), gxi_, gxr_, sa_->icookie,
                            sa_->rcookie, sai_b_, own_id)
                    : HashR(c.prf, sa_->keys.skeyid.span(), gxi_, gxr_, sa_->icookie,
                            sa_->rcookie, sai_b_, own_id);
}

bool Phase1Exchange::CheckPeerId(const IdPayload& id) {
  Identity got{id.type, id.data};
  sa_->remote_id = got;
  const PeerConfig* c = sa_->cfg;
  if (c == nullptr || !c->remote_id) return true;
  if (c->remote_id->type == IdType::kDerAsn1Dn && got.type == IdType::kDerAsn1Dn)
    return DnEqual(c->remote_id->data, got.data);
  return *c->remote_id == got;
}

bool Phase1Exchange::VerifyPeerHash(const std::vector<Payload>& pl, const Bytes& id_body) {
  const Payload* hp = First(pl, PayloadType::kHash);
  if (hp == nullptr) return false;
  const Phase1Choice& c = sa_->choice;
  Bytes want = initiator_ ? HashR(c.prf, sa_->keys.skeyid.span(), gxi_, gxr_, sa_->icookie,
                                  sa_->rcookie, sai_b_, id_body)
                          : HashI(c.prf, sa_->keys.skeyid.span(), gxi_, gxr_, sa_->icookie,
                                  sa_->rcookie, sai_b_, id_body);
  return hp->body.size() == want.size() &&
         CRYPTO_memcmp(hp->body.data(), want.data(), want.size()) == 0;
}

void Phase1Exchange::Fail(NotifyType notify, const std::string& why, Ctr counter) {
  if (st_ == St::kFailed || st_ == St::kDone) return;
  st_ = St::kFailed;
  const Ctr failed = aggressive_ ? Ctr::kAggrFailed : Ctr::kMainFailed;
  if (counter != failed) e_.Count(counter);
  e_.Count(failed);
  if (sa_->cfg == nullptr || sa_->cfg->send_notify) {
    if (notify != NotifyType{0}) {
      Bytes spi;
      e_.SendNotify(*sa_, notify, ProtocolId::kIsakmp, spi);
    }
  }
  Finish(false, why);
  e_.Phase1Failed(*sa_, why);
}

void Phase1Exchange::OnTimeout() {
  e_.Count(aggressive_ ? Ctr::kAggrTimeout : Ctr::kMainTimeout);
  Fail(NotifyType{0}, "no answer from the peer (retransmissions exhausted)",
       aggressive_ ? Ctr::kAggrFailed : Ctr::kMainFailed);
}

void Phase1Exchange::Complete() {
  st_ = St::kDone;
  sa_->p1_last_block = iv_;
  e_.Count(aggressive_ ? Ctr::kAggrDone : Ctr::kMainDone);
  Finish(true);
  e_.Phase1Done(*sa_);
}

// ---------------------------------------------------------------- initiator

void Phase1Exchange::Start() {
  const std::vector<Phase1Offer> offers = WireOffers();
  SaPayload sa = BuildPhase1Sa(offers);
  sai_b_ = BuildSa(sa);
  std::vector<Payload> out;
  out.push_back(Raw(PayloadType::kSa, sai_b_));
  e_.Count(aggressive_ ? Ctr::kAggrStartedInit : Ctr::kMainStartedInit);
  e_.Log(3, absl::StrCat("Exchange ", id_, ": Phase 1 [init] started with peer ", Ip(sa_->peer)));
  if (!aggressive_) {
    AddVendorIds(out);
    st_ = St::kWaitSa;
    Send(out, false, false);
    return;
  }
  // Aggressive: SA, KE, Ni, IDii in the first message, so the group is the first offer's.
  const Phase1Offer& o = offers.front();
  if (!PrepareAuth(o.auth)) return;
  auto dh = e_.NewDhKeyPair(o.group);
  if (!dh.ok()) {
    Fail(NotifyType{0}, std::string(dh.status().message()), Ctr::kAggrFailed);
    return;
  }
  dh_ = std::move(*dh);
  gxi_ = dh_->public_value();
  ni_ = e_.Random(32);
  out.push_back(Raw(PayloadType::kKe, gxi_));
  out.push_back(Raw(PayloadType::kNonce, ni_));
  Payload id = OwnId();
  idi_b_ = id.body;
  out.push_back(std::move(id));
  AddCertReq(out);
  AddVendorIds(out);
  st_ = St::kWaitAggrReply;
  Send(out, false, false);
}

void Phase1Exchange::InitGotSa(const std::vector<Payload>& pl) {
  const Payload* sp = First(pl, PayloadType::kSa);
  if (sp == nullptr) return Fail(NotifyType::kPayloadMalformed, "no SA payload", Ctr::kMainFailed);
  auto sa = ParseSa(sp->body);
  if (!sa.ok()) return Fail(NotifyFor(sa.status()), std::string(sa.status().message()), Ctr::kMainFailed);
  auto choice = CheckPhase1Reply(*sa, WireOffers());
  if (!choice.ok())
    return Fail(NotifyType::kNoProposalChosen, std::string(choice.status().message()),
                Ctr::kMainNoProposal);
  sa_->choice = *choice;
  if (!PrepareAuth(sa_->choice.auth)) return;
  ReadVendorIds(pl);
  auto dh = e_.NewDhKeyPair(sa_->choice.group);
  if (!dh.ok()) return Fail(NotifyType{0}, std::string(dh.status().message()), Ctr::kMainFailed);
  dh_ = std::move(*dh);
  gxi_ = dh_->public_value();
  ni_ = e_.Random(32);
  std::vector<Payload> out;
  out.push_back(Raw(PayloadType::kKe, gxi_));
  out.push_back(Raw(PayloadType::kNonce, ni_));
  AddCertReq(out);
  AddNatD(out);
  st_ = St::kWaitKeNonce;
  Send(out, false, false);
}

void Phase1Exchange::InitGotKe(const std::vector<Payload>& pl) {
  if (!TakeKeNonce(pl))
    return Fail(NotifyType::kPayloadMalformed, "bad or missing KE/NONCE", Ctr::kMainFailed);
  if (!CheckNatD(pl)) return Fail(NotifyType::kPayloadMalformed, "bad NAT-D", Ctr::kMainFailed);
  if (!DeriveKeys())
    return Fail(NotifyType::kInvalidKeyInformation, "bad Diffie-Hellman value", Ctr::kMainFailed);
  ReadCertReq(pl);
  // RFC 3947 4: with a NAT in between, the initiator moves to port 4500 now.
  if (sa_->local_behind_nat || sa_->peer_behind_nat) {
    sa_->local_port = kNatTPort;
    sa_->peer_port = kNatTPort;
    sa_->floated = true;
    e_.Count(Ctr::kNatFloated);
  }
  std::vector<Payload> out;
  Payload id = OwnId();
  idi_b_ = id.body;
  out.push_back(std::move(id));
  if (!AddOwnAuth(out)) return;
  AddInitialContact(out);
  st_ = St::kWaitIdHash;
  Send(out, true, false);
}

void Phase1Exchange::AddInitialContact(std::vector<Payload>& out) {
  // Only when we truly hold nothing with the peer: not while SAs made before (an ISAKMP
  // SA expiring, or bundles adopted after a restart) still carry traffic, which the peer
  // would otherwise delete.
  if (sa_->initial_contact_sent || e_.UsableSa(sa_->peer) != nullptr ||
      e_.HasBundlesWith(sa_->peer)) {
    return;
  }
  NotifyPayload n;
  n.protocol = ProtocolId::kIsakmp;
  n.type = static_cast<uint16_t>(NotifyType::kInitialContact);
  n.spi = sa_->cookies();
  out.push_back(Raw(PayloadType::kNotify, BuildNotify(n)));
  sa_->initial_contact_sent = true;
}

void Phase1Exchange::ReadInitialContact(const std::vector<Payload>& pl) {
  if (!encrypted_) return;
  for (const auto& p : pl) {
    if (p.type != PayloadType::kNotify) continue;
    auto n = ParseNotify(p.body);
    if (n.ok() && n->type == static_cast<uint16_t>(NotifyType::kInitialContact)) {
      e_.PeerInitialContact(*sa_);
      return;
    }
  }
}

bool Phase1Exchange::AuthenticateMainPeer(const std::vector<Payload>& pl) {
  const Payload* ip = First(pl, PayloadType::kId);
  if (ip == nullptr) {
    Fail(NotifyType::kPayloadMalformed, "no ID payload", Ctr::kMainFailed);
    return false;
  }
  auto id = ParseId(ip->body);
  if (!id.ok()) {
    Fail(NotifyType::kPayloadMalformed, "bad ID payload", Ctr::kMainFailed);
    return false;
  }
  if (!CheckPeerId(*id)) {
    Fail(NotifyType::kInvalidIdInformation,
         absl::StrCat("peer identity ", Identity{id->type, id->data}.ToString(),
                      " is not REMOTEID"),
         Ctr::kMainAuthFailed);
    return false;
  }
  NotifyType notify;
  if (std::string why = CheckPeerAuth(pl, ip->body, *id, notify); !why.empty()) {
    Fail(notify, why, Ctr::kMainAuthFailed);
    return false;
  }
  return true;
}

void Phase1Exchange::InitGotIdHash(const std::vector<Payload>& pl) {
  if (!AuthenticateMainPeer(pl)) return;
  Complete();
}

void Phase1Exchange::InitGotAggrReply(const std::vector<Payload>& pl) {
  const Payload* sp = First(pl, PayloadType::kSa);
  if (sp == nullptr) return Fail(NotifyType::kPayloadMalformed, "no SA payload", Ctr::kAggrFailed);
  auto sa = ParseSa(sp->body);
  if (!sa.ok()) return Fail(NotifyFor(sa.status()), std::string(sa.status().message()), Ctr::kAggrFailed);
  auto choice = CheckPhase1Reply(*sa, WireOffers());
  if (!choice.ok())
    return Fail(NotifyType::kNoProposalChosen, std::string(choice.status().message()),
                Ctr::kAggrNoProposal);
  if (choice->group != dh_->group())
    return Fail(NotifyType::kNoProposalChosen, "responder chose another DH group",
                Ctr::kAggrNoProposal);
  if ((BaseAuthMethod(choice->auth) == AuthMethod::kRsaSig) != sig_)
    return Fail(NotifyType::kNoProposalChosen,
                "responder chose another authentication method than our ID was sent for",
                Ctr::kAggrNoProposal);
  sa_->choice = *choice;
  ReadVendorIds(pl);
  ReadCertReq(pl);
  if (!TakeKeNonce(pl))
    return Fail(NotifyType::kPayloadMalformed, "bad or missing KE/NONCE", Ctr::kAggrFailed);
  if (!DeriveKeys())
    return Fail(NotifyType::kInvalidKeyInformation, "bad Diffie-Hellman value", Ctr::kAggrFailed);
  if (!CheckNatD(pl)) return Fail(NotifyType::kPayloadMalformed, "bad NAT-D", Ctr::kAggrFailed);
  const Payload* ip = First(pl, PayloadType::kId);
  if (ip == nullptr) return Fail(NotifyType::kPayloadMalformed, "no ID payload", Ctr::kAggrFailed);
  auto id = ParseId(ip->body);
  if (!id.ok()) return Fail(NotifyType::kPayloadMalformed, "bad ID payload", Ctr::kAggrFailed);
  if (!CheckPeerId(*id))
    return Fail(NotifyType::kInvalidIdInformation, "peer identity is not REMOTEID",
                Ctr::kAggrAuthFailed);
  NotifyType notify;
  if (std::string why = CheckPeerAuth(pl, ip->body, *id, notify); !why.empty())
    return Fail(notify, why, Ctr::kAggrAuthFailed);
  const bool nat = sa_->local_behind_nat || sa_->peer_behind_nat;
  if (nat) {
    sa_->local_port = kNatTPort;
    sa_->peer_port = kNatTPort;
    sa_->floated = true;
    e_.Count(Ctr::kNatFloated);
  }
  std::vector<Payload> out;
  if (!AddOwnAuth(out)) return;
  AddNatD(out);
  AddInitialContact(out);
  // The third message goes encrypted, as most implementations send it (RFC 2409 allows
  // either); the responder must take both.
  st_ = St::kDone;
  Send(out, true, true);
  Complete();
}

// ---------------------------------------------------------------- responder

void Phase1Exchange::RespGotSa(const std::vector<Payload>& pl) {
  const Payload* sp = First(pl, PayloadType::kSa);
  if (sp == nullptr) return Fail(NotifyType::kPayloadMalformed, "no SA payload", Ctr::kMainFailed);
  auto sa = ParseSa(sp->body);
  if (!sa.ok()) return Fail(NotifyFor(sa.status()), std::string(sa.status().message()), Ctr::kMainFailed);
  sai_b_ = sp->body;
  if (sa_->cfg == nullptr)
    return Fail(NotifyType::kNoProposalChosen,
                absl::StrCat("no ISAKMP policy for peer ", Ip(sa_->peer)), Ctr::kMainNoProposal);
  auto sel = SelectPhase1(*sa, WireOffers());
  if (!sel.ok())
    return Fail(NotifyType::kNoProposalChosen, std::string(sel.status().message()),
                Ctr::kMainNoProposal);
  sa_->choice = sel->choice;
  if (!PrepareAuth(sa_->choice.auth)) return;
  ReadVendorIds(pl);
  SaPayload reply;
  reply.doi = sa->doi;
  reply.situation = sa->situation;
  reply.proposals.push_back(sel->reply);
  std::vector<Payload> out;
  out.push_back(Raw(PayloadType::kSa, BuildSa(reply)));
  AddVendorIds(out);
  st_ = St::kWaitKeNonce;
  Send(out, false, false);
}

void Phase1Exchange::RespGotKe(const std::vector<Payload>& pl) {
  if (!TakeKeNonce(pl))
    return Fail(NotifyType::kPayloadMalformed, "bad or missing KE/NONCE", Ctr::kMainFailed);
  auto dh = e_.NewDhKeyPair(sa_->choice.group);
  if (!dh.ok()) return Fail(NotifyType{0}, std::string(dh.status().message()), Ctr::kMainFailed);
  dh_ = std::move(*dh);
  gxr_ = dh_->public_value();
  nr_ = e_.Random(32);
  if (!CheckNatD(pl)) return Fail(NotifyType::kPayloadMalformed, "bad NAT-D", Ctr::kMainFailed);
  if (!DeriveKeys())
    return Fail(NotifyType::kInvalidKeyInformation, "bad Diffie-Hellman value", Ctr::kMainFailed);
  ReadCertReq(pl);
  std::vector<Payload> out;
  out.push_back(Raw(PayloadType::kKe, gxr_));
  out.push_back(Raw(PayloadType::kNonce, nr_));
  AddCertReq(out);
  AddNatD(out);
  st_ = St::kWaitIdHash;
  Send(out, false, false);
}

void Phase1Exchange::RespGotIdHash(const std::vector<Payload>& pl) {
  if (!AuthenticateMainPeer(pl)) return;
  ReadInitialContact(pl);
  std::vector<Payload> out;
  Payload own = OwnId();
  idr_b_ = own.body;
  out.push_back(std::move(own));
  if (!AddOwnAuth(out)) return;
  st_ = St::kDone;
  Send(out, true, true);
  Complete();
}

void Phase1Exchange::RespGotAggrFirst(const std::vector<Payload>& pl) {
  const Payload* sp = First(pl, PayloadType::kSa);
  const Payload* ip = First(pl, PayloadType::kId);
  if (sp == nullptr || ip == nullptr)
    return Fail(NotifyType::kPayloadMalformed, "no SA or ID payload", Ctr::kAggrFailed);
  auto sa = ParseSa(sp->body);
  if (!sa.ok()) return Fail(NotifyFor(sa.status()), std::string(sa.status().message()), Ctr::kAggrFailed);
  auto id = ParseId(ip->body);
  if (!id.ok()) return Fail(NotifyType::kPayloadMalformed, "bad ID payload", Ctr::kAggrFailed);
  sai_b_ = sp->body;
  peer_id_b_ = ip->body;
  peer_id_ = *id;
  // Aggressive mode names the peer by its ID: PEER=ANY policies with REMOTEID.
  const PeerConfig* cfg = e_.FindPeerById(sa_->peer, Identity{id->type, id->data});
  if (cfg == nullptr)
    return Fail(NotifyType::kInvalidIdInformation,
                absl::StrCat("no ISAKMP policy for peer ", Ip(sa_->peer), " with ID ",
                             Identity{id->type, id->data}.ToString()),
                Ctr::kAggrNoProposal);
  sa_->cfg = cfg;
  sa_->policy = cfg->name;
  if (!CheckPeerId(*id))
    return Fail(NotifyType::kInvalidIdInformation, "peer identity is not REMOTEID",
                Ctr::kAggrAuthFailed);
  auto sel = SelectPhase1(*sa, WireOffers());
  if (!sel.ok())
    return Fail(NotifyType::kNoProposalChosen, std::string(sel.status().message()),
                Ctr::kAggrNoProposal);
  sa_->choice = sel->choice;
  if (!PrepareAuth(sa_->choice.auth)) return;
  ReadVendorIds(pl);
  ReadCertReq(pl);
  if (!TakeKeNonce(pl))
    return Fail(NotifyType::kPayloadMalformed, "bad or missing KE/NONCE", Ctr::kAggrFailed);
  auto dh = e_.NewDhKeyPair(sa_->choice.group);
  if (!dh.ok()) return Fail(NotifyType{0}, std::string(dh.status().message()), Ctr::kAggrFailed);
  dh_ = std::move(*dh);
  gxr_ = dh_->public_value();
  nr_ = e_.Random(32);
  if (!DeriveKeys())
    return Fail(NotifyType::kInvalidKeyInformation, "bad Diffie-Hellman value", Ctr::kAggrFailed);
  SaPayload reply;
  reply.doi = sa->doi;
  reply.situation = sa->situation;
  reply.proposals.push_back(sel->reply);
  std::vector<Payload> out;
  out.push_back(Raw(PayloadType::kSa, BuildSa(reply)));
  out.push_back(Raw(PayloadType::kKe, gxr_));
  out.push_back(Raw(PayloadType::kNonce, nr_));
  Payload own = OwnId();
  idr_b_ = own.body;
  out.push_back(std::move(own));
  if (!AddOwnAuth(out)) return;
  AddCertReq(out);
  AddVendorIds(out);
  AddNatD(out);
  st_ = St::kWaitAggrHash;
  Send(out, false, false);
}

void Phase1Exchange::RespGotAggrHash(const std::vector<Payload>& pl) {
  if (!CheckNatD(pl)) return Fail(NotifyType::kPayloadMalformed, "bad NAT-D", Ctr::kAggrFailed);
  NotifyType notify;
  if (std::string why = CheckPeerAuth(pl, peer_id_b_, peer_id_, notify); !why.empty())
    return Fail(notify, why, Ctr::kAggrAuthFailed);
  ReadInitialContact(pl);
  awaiting_reply_ = false;
  Complete();
}

void Phase1Exchange::OnMessage(const Header& h, const std::vector<Payload>& pl) {
  encrypted_ = (h.flags & kFlagEncryption) != 0;
  switch (st_) {
    case St::kWaitSa: return InitGotSa(pl);
    case St::kWaitKeNonce: return initiator_ ? InitGotKe(pl) : RespGotKe(pl);
    case St::kWaitIdHash: return initiator_ ? InitGotIdHash(pl) : RespGotIdHash(pl);
    case St::kWaitAggrReply: return InitGotAggrReply(pl);
    case St::kWaitAggrHash: return RespGotAggrHash(pl);
    case St::kStart:
      if (!initiator_) return aggressive_ ? RespGotAggrFirst(pl) : RespGotSa(pl);
      return;
    case St::kDone:
    case St::kFailed:
      return;
  }
}

}  // namespace arsec::ike
