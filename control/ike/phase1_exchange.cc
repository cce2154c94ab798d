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

Payload Phase1Exchange::OwnId() {
  Identity id = sa_->cfg && sa_->cfg->local_id ? *sa_->cfg->local_id : Identity::Ipv4(sa_->local);
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
  if (c && c->remote_id && !(*c->remote_id == got)) return false;
  return true;
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
  e_.Count(counter);
  e_.Count(aggressive_ ? Ctr::kAggrFailed : Ctr::kMainFailed);
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
  const PeerConfig& c = *sa_->cfg;
  SaPayload sa = BuildPhase1Sa(c.offers);
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
  const Phase1Offer& o = c.offers.front();
  auto dh = DhKeyPair::FromPrivate(o.group, e_.Random(DhLen(o.group) > 128 ? 64 : 32));
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
  AddVendorIds(out);
  st_ = St::kWaitAggrReply;
  Send(out, false, false);
}

void Phase1Exchange::InitGotSa(const std::vector<Payload>& pl) {
  const Payload* sp = First(pl, PayloadType::kSa);
  if (sp == nullptr) return Fail(NotifyType::kPayloadMalformed, "no SA payload", Ctr::kMainFailed);
  auto sa = ParseSa(sp->body);
  if (!sa.ok()) return Fail(NotifyFor(sa.status()), std::string(sa.status().message()), Ctr::kMainFailed);
  auto choice = CheckPhase1Reply(*sa, sa_->cfg->offers);
  if (!choice.ok())
    return Fail(NotifyType::kNoProposalChosen, std::string(choice.status().message()),
                Ctr::kMainNoProposal);
  sa_->choice = *choice;
  ReadVendorIds(pl);
  auto dh = DhKeyPair::FromPrivate(sa_->choice.group, e_.Random(DhLen(sa_->choice.group) > 128 ? 64 : 32));
  if (!dh.ok()) return Fail(NotifyType{0}, std::string(dh.status().message()), Ctr::kMainFailed);
  dh_ = std::move(*dh);
  gxi_ = dh_->public_value();
  ni_ = e_.Random(32);
  std::vector<Payload> out;
  out.push_back(Raw(PayloadType::kKe, gxi_));
  out.push_back(Raw(PayloadType::kNonce, ni_));
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
  out.push_back(Raw(PayloadType::kHash, OwnHash()));
  if (!sa_->initial_contact_sent && e_.UsableSa(sa_->peer) == nullptr) {
    NotifyPayload n;
    n.protocol = ProtocolId::kIsakmp;
    n.type = static_cast<uint16_t>(NotifyType::kInitialContact);
    Bytes spi(16);
    for (int i = 0; i < 8; ++i) {
      spi[i] = static_cast<uint8_t>(sa_->icookie >> (56 - 8 * i));
      spi[8 + i] = static_cast<uint8_t>(sa_->rcookie >> (56 - 8 * i));
    }
    n.spi = spi;
    out.push_back(Raw(PayloadType::kNotify, BuildNotify(n)));
    sa_->initial_contact_sent = true;
  }
  st_ = St::kWaitIdHash;
  Send(out, true, false);
}

void Phase1Exchange::InitGotIdHash(const std::vector<Payload>& pl) {
  const Payload* ip = First(pl, PayloadType::kId);
  if (ip == nullptr) return Fail(NotifyType::kPayloadMalformed, "no ID payload", Ctr::kMainFailed);
  auto id = ParseId(ip->body);
  if (!id.ok()) return Fail(NotifyType::kPayloadMalformed, "bad ID payload", Ctr::kMainFailed);
  if (!CheckPeerId(*id))
    return Fail(NotifyType::kInvalidIdInformation,
                absl::StrCat("peer identity ", Identity{id->type, id->data}.ToString(),
                             " is not REMOTEID"),
                Ctr::kMainAuthFailed);
  if (!VerifyPeerHash(pl, ip->body))
    return Fail(NotifyType::kAuthenticationFailed,
                "authentication failed (HASH_R mismatch: check the pre-shared key)",
                Ctr::kMainAuthFailed);
  Complete();
}

void Phase1Exchange::InitGotAggrReply(const std::vector<Payload>& pl) {
  const Payload* sp = First(pl, PayloadType::kSa);
  if (sp == nullptr) return Fail(NotifyType::kPayloadMalformed, "no SA payload", Ctr::kAggrFailed);
  auto sa = ParseSa(sp->body);
  if (!sa.ok()) return Fail(NotifyFor(sa.status()), std::string(sa.status().message()), Ctr::kAggrFailed);
  auto choice = CheckPhase1Reply(*sa, sa_->cfg->offers);
  if (!choice.ok())
    return Fail(NotifyType::kNoProposalChosen, std::string(choice.status().message()),
                Ctr::kAggrNoProposal);
  if (choice->group != dh_->group())
    return Fail(NotifyType::kNoProposalChosen, "responder chose another DH group",
                Ctr::kAggrNoProposal);
  sa_->choice = *choice;
  ReadVendorIds(pl);
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
  if (!VerifyPeerHash(pl, ip->body))
    return Fail(NotifyType::kAuthenticationFailed,
                "authentication failed (HASH_R mismatch: check the pre-shared key)",
                Ctr::kAggrAuthFailed);
  const bool nat = sa_->local_behind_nat || sa_->peer_behind_nat;
  if (nat) {
    sa_->local_port = kNatTPort;
    sa_->peer_port = kNatTPort;
    sa_->floated = true;
    e_.Count(Ctr::kNatFloated);
  }
  std::vector<Payload> out;
  out.push_back(Raw(PayloadType::kHash, OwnHash()));
  AddNatD(out);
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
  auto sel = SelectPhase1(*sa, sa_->cfg->offers);
  if (!sel.ok())
    return Fail(NotifyType::kNoProposalChosen, std::string(sel.status().message()),
                Ctr::kMainNoProposal);
  sa_->choice = sel->choice;
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
  auto dh = DhKeyPair::FromPrivate(sa_->choice.group, e_.Random(DhLen(sa_->choice.group) > 128 ? 64 : 32));
  if (!dh.ok()) return Fail(NotifyType{0}, std::string(dh.status().message()), Ctr::kMainFailed);
  dh_ = std::move(*dh);
  gxr_ = dh_->public_value();
  nr_ = e_.Random(32);
  if (!CheckNatD(pl)) return Fail(NotifyType::kPayloadMalformed, "bad NAT-D", Ctr::kMainFailed);
  if (!DeriveKeys())
    return Fail(NotifyType::kInvalidKeyInformation, "bad Diffie-Hellman value", Ctr::kMainFailed);
  std::vector<Payload> out;
  out.push_back(Raw(PayloadType::kKe, gxr_));
  out.push_back(Raw(PayloadType::kNonce, nr_));
  AddNatD(out);
  st_ = St::kWaitIdHash;
  Send(out, false, false);
}

void Phase1Exchange::RespGotIdHash(const std::vector<Payload>& pl) {
  const Payload* ip = First(pl, PayloadType::kId);
  if (ip == nullptr) return Fail(NotifyType::kPayloadMalformed, "no ID payload", Ctr::kMainFailed);
  auto id = ParseId(ip->body);
  if (!id.ok()) return Fail(NotifyType::kPayloadMalformed, "bad ID payload", Ctr::kMainFailed);
  if (!CheckPeerId(*id))
    return Fail(NotifyType::kInvalidIdInformation,
                absl::StrCat("peer identity ", Identity{id->type, id->data}.ToString(),
                             " is not REMOTEID"),
                Ctr::kMainAuthFailed);
  if (!VerifyPeerHash(pl, ip->body))
    return Fail(NotifyType::kAuthenticationFailed,
                "authentication failed (HASH_I mismatch: check the pre-shared key)",
                Ctr::kMainAuthFailed);
  for (const auto& p : pl) {
    if (p.type != PayloadType::kNotify) continue;
    auto n = ParseNotify(p.body);
    if (n.ok() && n->type == static_cast<uint16_t>(NotifyType::kInitialContact))
      e_.PeerInitialContact(*sa_);
  }
  std::vector<Payload> out;
  Payload own = OwnId();
  idr_b_ = own.body;
  out.push_back(std::move(own));
  out.push_back(Raw(PayloadType::kHash, OwnHash()));
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
  auto sel = SelectPhase1(*sa, cfg->offers);
  if (!sel.ok())
    return Fail(NotifyType::kNoProposalChosen, std::string(sel.status().message()),
                Ctr::kAggrNoProposal);
  sa_->choice = sel->choice;
  ReadVendorIds(pl);
  if (!TakeKeNonce(pl))
    return Fail(NotifyType::kPayloadMalformed, "bad or missing KE/NONCE", Ctr::kAggrFailed);
  auto dh = DhKeyPair::FromPrivate(sa_->choice.group, e_.Random(DhLen(sa_->choice.group) > 128 ? 64 : 32));
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
  out.push_back(Raw(PayloadType::kHash, OwnHash()));
  AddVendorIds(out);
  AddNatD(out);
  st_ = St::kWaitAggrHash;
  Send(out, false, false);
}

void Phase1Exchange::RespGotAggrHash(const std::vector<Payload>& pl) {
  if (!CheckNatD(pl)) return Fail(NotifyType::kPayloadMalformed, "bad NAT-D", Ctr::kAggrFailed);
  if (!VerifyPeerHash(pl, peer_id_b_))
    return Fail(NotifyType::kAuthenticationFailed,
                "authentication failed (HASH_I mismatch: check the pre-shared key)",
                Ctr::kAggrAuthFailed);
  awaiting_reply_ = false;
  Complete();
}

void Phase1Exchange::OnMessage(const Header& h, const std::vector<Payload>& pl) {
  (void)h;
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
