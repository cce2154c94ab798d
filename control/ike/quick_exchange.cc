#include "control/ike/quick_exchange.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace arsec::ike {
namespace {

Payload Raw(PayloadType t, Bytes body) { return Payload{t, std::move(body)}; }

const Payload* First(const std::vector<Payload>& pl, PayloadType t) {
  for (const auto& p : pl)
    if (p.type == t) return &p;
  return nullptr;
}

std::string Ip(uint32_t a) {
  return absl::StrCat(a >> 24, ".", (a >> 16) & 255, ".", (a >> 8) & 255, ".", a & 255);
}

uint8_t ProtoId(control::SaProtocol p) {
  switch (p) {
    case control::SaProtocol::kAh: return static_cast<uint8_t>(ProtocolId::kAh);
    case control::SaProtocol::kEsp: return static_cast<uint8_t>(ProtocolId::kEsp);
    case control::SaProtocol::kComp: return static_cast<uint8_t>(ProtocolId::kIpcomp);
  }
  return 0;
}

Bytes Spi4(uint32_t spi) {
  return Bytes{static_cast<uint8_t>(spi >> 24), static_cast<uint8_t>(spi >> 16),
               static_cast<uint8_t>(spi >> 8), static_cast<uint8_t>(spi)};
}

bool SameBytes(const Bytes& a, const Bytes& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

QuickExchange::QuickExchange(Engine& e, IkeSa* sa, bool initiator, uint32_t message_id)
    : Exchange(e, sa, ExchangeType::kQuick, initiator, message_id) {
  iv_ = Phase2Iv(sa->choice.prf, sa->choice.cipher, sa->p1_last_block, message_id);
}

QuickExchange::~QuickExchange() {
  if (!installed_) ReleaseSpis();
}

std::string QuickExchange::StateName() const {
  switch (st_) {
    case St::kWaitConnected: return "WAIT_CONNECTED";
    case St::kStart: return "START";
    case St::kWaitHashSaNonce: return "WAIT_HASH_SA_NONCE";
    case St::kWaitHash3: return "WAIT_HASH";
    case St::kDone: return "DONE";
    case St::kFailed: return "FAILED";
  }
  return "?";
}

Phase2Spis QuickExchange::Spis() const {
  Phase2Spis s;
  for (const auto& [p, spi] : our_spis_) {
    if (p == control::SaProtocol::kEsp) s.esp = spi;
    if (p == control::SaProtocol::kAh) s.ah = spi;
    if (p == control::SaProtocol::kComp) s.cpi = static_cast<uint16_t>(spi);
  }
  return s;
}

Phase2Params QuickExchange::Params(int pfs_group) const {
  Phase2Params p;
  p.pfs_group = pfs_group;
  if (sa_->local_behind_nat || sa_->peer_behind_nat)
    p.udp = sa_->nat_t_rfc ? UdpEncap::kRfc3947 : UdpEncap::kDraft;
  return p;
}

void QuickExchange::ReleaseSpis() {
  for (const auto& [p, spi] : our_spis_) e_.env().installer->ReleaseSpi(p, spi);
  our_spis_.clear();
}

std::vector<Payload> QuickExchange::WithHash(std::vector<Payload> rest, const Bytes& hash) const {
  std::vector<Payload> out;
  out.reserve(rest.size() + 1);
  out.push_back(Raw(PayloadType::kHash, hash));
  for (auto& p : rest) out.push_back(std::move(p));
  return out;
}

Bytes QuickExchange::RestOf(const std::vector<Payload>& pl) const {
  std::vector<Payload> rest(pl.begin() + 1, pl.end());
  return BuildChain(rest);
}

void QuickExchange::Fail(NotifyType notify, const std::string& why, Ctr counter) {
  if (st_ == St::kFailed || st_ == St::kDone) return;
  st_ = St::kFailed;
  e_.Count(counter);
  if (counter != Ctr::kQuickFailed) e_.Count(Ctr::kQuickFailed);
  if (notify != NotifyType{0} && sa_->cfg && sa_->cfg->send_notify)
    e_.SendNotify(*sa_, notify, ProtocolId::kIsakmp, {});
  ReleaseSpis();
  Finish(false, why);
}

void QuickExchange::OnTimeout() {
  if (st_ == St::kWaitConnected) {
    // The responder committed but its CONNECTED never came: the SAs are agreed, so use
    // them rather than throw them away (and say so).
    e_.Log(4, absl::StrCat("Exchange ", id_, ": no CONNECTED from the peer; SAs used anyway"));
    return Installed();
  }
  e_.Count(Ctr::kQuickTimeout);
  Fail(NotifyType{0}, "no answer from the peer (retransmissions exhausted)", Ctr::kQuickFailed);
}

// ---------------------------------------------------------------- initiator

void QuickExchange::Start(const Phase2Policy& policy, uint32_t replaces) {
  policy_ = &policy;
  policy_id_ = policy.policy_id;
  replaces_ = replaces;
  e_.Count(Ctr::kQuickStartedInit);
  e_.Log(3, absl::StrCat("Exchange ", id_, ": Phase 2 [init] started with peer ", Ip(sa_->peer)));
  // One inbound SPI per protocol the bundle names (alternatives share it).
  std::vector<control::SaProtocol> protos;
  for (const auto& alt : policy.bundle.bundle.proposals)
    for (const auto& slot : alt.slots)
      for (uint32_t sid : slot.spec_ids) {
        auto it = policy.specs.find(sid);
        if (it == policy.specs.end()) continue;
        if (std::find(protos.begin(), protos.end(), it->second.protocol) == protos.end())
          protos.push_back(it->second.protocol);
      }
  for (control::SaProtocol p : protos)
    our_spis_.push_back({p, e_.env().installer->ReserveSpi(p)});
  auto sa = BuildPhase2Sa(policy.bundle, FinderFor(policy.specs), Params(policy.pfs_group), Spis());
  if (!sa.ok()) return Fail(NotifyType{0}, std::string(sa.status().message()), Ctr::kQuickFailed);
  auto ids = IdsForPolicy(policy);
  if (!ids.ok()) return Fail(NotifyType{0}, std::string(ids.status().message()), Ctr::kQuickFailed);
  sent_ids_ = *ids;
  ni_ = e_.Random(32);
  std::vector<Payload> rest;
  rest.push_back(Raw(PayloadType::kSa, BuildSa(*sa)));
  rest.push_back(Raw(PayloadType::kNonce, ni_));
  if (policy.pfs_group != 0) {
    auto dh = e_.NewDhKeyPair(policy.pfs_group);
    if (!dh.ok()) return Fail(NotifyType{0}, std::string(dh.status().message()), Ctr::kQuickFailed);
    dh_ = std::move(*dh);
    rest.push_back(Raw(PayloadType::kKe, dh_->public_value()));
  }
  rest.push_back(Raw(PayloadType::kId, BuildId(sent_ids_->idci)));
  rest.push_back(Raw(PayloadType::kId, BuildId(sent_ids_->idcr)));
  const Bytes hash = QmHash1(sa_->choice.prf, sa_->keys.skeyid_a.span(), message_id_,
                             BuildChain(rest));
  st_ = St::kWaitHashSaNonce;
  Send(WithHash(std::move(rest), hash), true, false);
}

void QuickExchange::InitReply(const Header& h, const std::vector<Payload>& pl) {
  (void)h;
  if (pl.empty() || pl[0].type != PayloadType::kHash)
    return Fail(NotifyType::kInvalidHashInformation, "quick mode reply without HASH(2)",
                Ctr::kQuickBadHash);
  const Payload* no = First(pl, PayloadType::kNonce);
  if (no == nullptr || no->body.size() < 8)
    return Fail(NotifyType::kPayloadMalformed, "no NONCE", Ctr::kQuickFailed);
  nr_ = no->body;
  const Bytes want = QmHash2(sa_->choice.prf, sa_->keys.skeyid_a.span(), message_id_, ni_,
                             RestOf(pl));
  if (!SameBytes(pl[0].body, want))
    return Fail(NotifyType::kInvalidHashInformation, "HASH(2) mismatch", Ctr::kQuickBadHash);
  const Payload* sp = First(pl, PayloadType::kSa);
  if (sp == nullptr) return Fail(NotifyType::kPayloadMalformed, "no SA payload", Ctr::kQuickFailed);
  auto reply = ParseSa(sp->body);
  if (!reply.ok())
    return Fail(NotifyFor(reply.status()), std::string(reply.status().message()), Ctr::kQuickFailed);
  auto choice = CheckPhase2Reply(*reply, policy_->bundle, FinderFor(policy_->specs),
                                 Params(policy_->pfs_group));
  if (!choice.ok())
    return Fail(NotifyType::kNoProposalChosen, std::string(choice.status().message()),
                Ctr::kQuickNoProposal);
  choice_ = *choice;
  {
    std::vector<IdPayload> ids;
    for (const auto& p : pl) {
      if (p.type != PayloadType::kId) continue;
      auto id = ParseId(p.body);
      if (!id.ok()) return Fail(NotifyType::kInvalidIdInformation, "bad ID payload", Ctr::kQuickFailed);
      ids.push_back(*id);
    }
    std::optional<IdPayload> ci, cr;
    if (ids.size() == 2) {
      ci = ids[0];
      cr = ids[1];
    }
    auto agreed = CheckReplyIds(*sent_ids_, ci, cr, sa_->local, sa_->peer);
    if (!agreed.ok())
      return Fail(NotifyType::kInvalidIdInformation, std::string(agreed.status().message()),
                  Ctr::kQuickFailed);
  }
  if (dh_) {
    const Payload* ke = First(pl, PayloadType::kKe);
    if (ke == nullptr) return Fail(NotifyType::kPayloadMalformed, "PFS: no KE", Ctr::kQuickFailed);
    auto s = dh_->Shared(ke->body);
    if (!s.ok()) return Fail(NotifyType::kInvalidKeyInformation, "PFS: bad KE", Ctr::kQuickFailed);
    gxy_ = std::move(*s);
  }
  // RESPONDER-LIFETIME (RFC 2407 4.6.3.1): the responder's shorter lifetimes.
  for (const auto& p : pl) {
    if (p.type != PayloadType::kNotify) continue;
    auto n = ParseNotify(p.body);
    if (!n.ok() || n->type != static_cast<uint16_t>(NotifyType::kResponderLifetime)) continue;
    auto attrs = ParseAttributes(n->data);
    if (!attrs.ok()) continue;
    uint16_t type = 0;
    for (const auto& a : *attrs) {
      auto v = a.AsInt();
      if (!v) continue;
      if (a.type == static_cast<uint16_t>(P2Attr::kLifeType)) type = static_cast<uint16_t>(*v);
      if (a.type == static_cast<uint16_t>(P2Attr::kLifeDuration)) {
        if (type == static_cast<uint16_t>(LifeType::kSeconds) &&
            (choice_->life_seconds == 0 || *v < choice_->life_seconds))
          choice_->life_seconds = static_cast<uint32_t>(*v);
        if (type == static_cast<uint16_t>(LifeType::kKilobytes) &&
            (choice_->life_kbytes == 0 || *v < choice_->life_kbytes))
          choice_->life_kbytes = *v;
      }
    }
  }
  const Bytes h3 = QmHash3(sa_->choice.prf, sa_->keys.skeyid_a.span(), message_id_, ni_, nr_);
  commit_ = (h.flags & kFlagCommit) != 0;
  if (commit_) {
    // The responder set the commit bit: the SAs are used only after its CONNECTED
    // notify (HASH(3) is retransmitted until it comes).
    st_ = St::kWaitConnected;
    Send({Raw(PayloadType::kHash, h3)}, true, false, kFlagCommit);
    return;
  }
  st_ = St::kDone;
  Send({Raw(PayloadType::kHash, h3)}, true, true);
  Installed();
}

void QuickExchange::Installed() {
  st_ = St::kDone;
  awaiting_reply_ = false;
  if (Install()) {
    e_.Count(Ctr::kQuickDone);
    Finish(true);
  } else {
    st_ = St::kFailed;
    Finish(false, "the dataplane refused the SAs");
  }
}

void QuickExchange::InitConnected(const std::vector<Payload>& pl) {
  if (pl.empty() || pl[0].type != PayloadType::kHash) return;
  const Bytes want = QmHash1(sa_->choice.prf, sa_->keys.skeyid_a.span(), message_id_, RestOf(pl));
  if (!SameBytes(pl[0].body, want)) {
    e_.Count(Ctr::kQuickBadHash);
    return;
  }
  for (const auto& p : pl) {
    if (p.type != PayloadType::kNotify) continue;
    auto n = ParseNotify(p.body);
    if (n.ok() && n->type == static_cast<uint16_t>(NotifyType::kConnected)) return Installed();
  }
}

// ---------------------------------------------------------------- responder

void QuickExchange::RespFirst(const Header& h, const std::vector<Payload>& pl) {
  (void)h;
  e_.Count(Ctr::kQuickStartedResp);
  e_.Log(3, absl::StrCat("Exchange ", id_, ": Phase 2 [resp] started with peer ", Ip(sa_->peer)));
  if (pl.empty() || pl[0].type != PayloadType::kHash)
    return Fail(NotifyType::kInvalidHashInformation, "quick mode without HASH(1)",
                Ctr::kQuickBadHash);
  const Bytes want = QmHash1(sa_->choice.prf, sa_->keys.skeyid_a.span(), message_id_, RestOf(pl));
  if (!SameBytes(pl[0].body, want))
    return Fail(NotifyType::kInvalidHashInformation, "HASH(1) mismatch", Ctr::kQuickBadHash);
  const Payload* sp = First(pl, PayloadType::kSa);
  const Payload* no = First(pl, PayloadType::kNonce);
  if (sp == nullptr || no == nullptr || no->body.size() < 8)
    return Fail(NotifyType::kPayloadMalformed, "no SA or NONCE", Ctr::kQuickFailed);
  ni_ = no->body;
  auto peer_sa = ParseSa(sp->body);
  if (!peer_sa.ok())
    return Fail(NotifyFor(peer_sa.status()), std::string(peer_sa.status().message()),
                Ctr::kQuickFailed);
  std::vector<IdPayload> ids;
  for (const auto& p : pl) {
    if (p.type != PayloadType::kId) continue;
    auto id = ParseId(p.body);
    if (!id.ok()) return Fail(NotifyType::kInvalidIdInformation, "bad ID payload", Ctr::kQuickFailed);
    ids.push_back(*id);
  }
  if (ids.size() != 0 && ids.size() != 2)
    return Fail(NotifyType::kInvalidIdInformation, "quick mode needs none or two IDs",
                Ctr::kQuickFailed);
  // The peer's IDci is its side (our remote), IDcr ours (our local).
  std::optional<IdPayload> idci, idcr;
  if (ids.size() == 2) {
    idci = ids[0];
    idcr = ids[1];
  }
  auto match = FindPolicyForIds(e_.config().policies, idci, idcr, sa_->peer, sa_->local,
                                sa_->policy);
  if (!match.ok()) {
    return Fail(NotifyType::kInvalidIdInformation,
                absl::StrCat("no IPsec policy for peer ", Ip(sa_->peer), ": ",
                             match.status().message()),
                Ctr::kQuickNoPolicy);
  }
  const Phase2Policy* pol = match->policy;
  policy_ = pol;
  policy_id_ = pol->policy_id;
  auto sel = SelectPhase2(*peer_sa, pol->bundle, FinderFor(pol->specs), Params(pol->pfs_group));
  if (!sel.ok())
    return Fail(NotifyFor(sel.status()), std::string(sel.status().message()),
                Ctr::kQuickNoProposal);
  choice_ = *sel;
  const Payload* ke = First(pl, PayloadType::kKe);
  const int group = choice_->pfs_group;
  if (group != 0) {
    if (ke == nullptr) return Fail(NotifyType::kNoProposalChosen, "PFS: no KE", Ctr::kQuickFailed);
    auto dh = e_.NewDhKeyPair(group);
    if (!dh.ok()) return Fail(NotifyType{0}, std::string(dh.status().message()), Ctr::kQuickFailed);
    dh_ = std::move(*dh);
    auto s = dh_->Shared(ke->body);
    if (!s.ok()) return Fail(NotifyType::kInvalidKeyInformation, "PFS: bad KE", Ctr::kQuickFailed);
    gxy_ = std::move(*s);
  }
  for (const auto& pc : choice_->sas)
    our_spis_.push_back({pc.protocol, e_.env().installer->ReserveSpi(pc.protocol)});
  nr_ = e_.Random(32);
  std::vector<Payload> rest;
  rest.push_back(Raw(PayloadType::kSa, BuildSa(BuildPhase2Reply(*choice_, Spis()))));
  rest.push_back(Raw(PayloadType::kNonce, nr_));
  if (dh_) rest.push_back(Raw(PayloadType::kKe, dh_->public_value()));
  if (idci) {
    rest.push_back(Raw(PayloadType::kId, BuildId(*idci)));
    rest.push_back(Raw(PayloadType::kId, BuildId(*idcr)));
  }
  if (choice_->lifetime_lowered) {
    // RESPONDER-LIFETIME (RFC 2407 4.6.3.1): the shorter lifetime we will use.
    NotifyPayload n;
    n.protocol = ProtocolIdOf(choice_->sas.back().protocol);
    n.type = static_cast<uint16_t>(NotifyType::kResponderLifetime);
    const uint32_t spi = our_spis_.back().second;
    n.spi = Spi4(spi);
    Bytes data;
    AppendAttributes(LifetimeAttributes(true, choice_->life_seconds, choice_->life_kbytes), data);
    n.data = data;
    rest.push_back(Raw(PayloadType::kNotify, BuildNotify(n)));
  }
  const Bytes hash = QmHash2(sa_->choice.prf, sa_->keys.skeyid_a.span(), message_id_, ni_,
                             BuildChain(rest));
  st_ = St::kWaitHash3;
  commit_ = sa_->cfg != nullptr && sa_->cfg->set_commit;   // SETCOMMITBIT
  Send(WithHash(std::move(rest), hash), true, false, commit_ ? kFlagCommit : 0);
}

void QuickExchange::RespHash3(const std::vector<Payload>& pl) {
  if (pl.empty() || pl[0].type != PayloadType::kHash)
    return Fail(NotifyType::kInvalidHashInformation, "no HASH(3)", Ctr::kQuickBadHash);
  const Bytes want = QmHash3(sa_->choice.prf, sa_->keys.skeyid_a.span(), message_id_, ni_, nr_);
  if (!SameBytes(pl[0].body, want))
    return Fail(NotifyType::kInvalidHashInformation, "HASH(3) mismatch", Ctr::kQuickBadHash);
  awaiting_reply_ = false;
  st_ = St::kDone;
  if (!Install()) {
    st_ = St::kFailed;
    Finish(false, "the dataplane refused the SAs");
    return;
  }
  if (commit_) {
    // Our SAs are in: tell the initiator it may use its own (RFC 2409 5.5 with the
    // commit bit: HDR*, HASH(4) = prf(SKEYID_a, M-ID | N), N(CONNECTED)).
    NotifyPayload n;
    n.protocol = ProtocolIdOf(choice_->sas.back().protocol);
    n.type = static_cast<uint16_t>(NotifyType::kConnected);
    n.spi = Spi4(choice_->sas.back().peer_spi);
    std::vector<Payload> rest{Raw(PayloadType::kNotify, BuildNotify(n))};
    const Bytes h4 = QmHash1(sa_->choice.prf, sa_->keys.skeyid_a.span(), message_id_, BuildChain(rest));
    Send(WithHash(std::move(rest), h4), true, true, kFlagCommit);
  }
  e_.Count(Ctr::kQuickDone);
  Finish(true);
}

bool QuickExchange::Install() {
  NegotiatedBundle b;
  b.policy_id = policy_id_;
  b.local = sa_->local;
  b.peer = sa_->peer;
  b.udp_encap = sa_->local_behind_nat || sa_->peer_behind_nat;
  b.encap_sport = sa_->local_port;
  b.encap_dport = sa_->peer_port;
  b.isakmp_sa = sa_->id;
  const uint32_t hard_s = choice_->life_seconds;
  const uint64_t hard_kb = choice_->life_kbytes;
  for (const auto& pc : choice_->sas) {
    NegotiatedSa s;
    s.protocol = pc.protocol;
    s.spec_id = pc.spec_id;
    s.enc = pc.enc;
    s.hash = pc.hash;
    s.comp = pc.comp;
    s.tunnel = pc.tunnel;
    s.out_spi = pc.peer_spi;
    for (const auto& [p, spi] : our_spis_)
      if (p == pc.protocol) s.in_spi = spi;
    const size_t klen = KeymatLength(pc);
    if (klen > 0) {
      const Bytes in_spi = Spi4(s.in_spi), out_spi = Spi4(s.out_spi);
      s.in_key = Keymat(sa_->choice.prf, sa_->keys.skeyid_d.span(), gxy_.span(), ProtoId(pc.protocol),
                        in_spi, ni_, nr_, klen);
      s.out_key = Keymat(sa_->choice.prf, sa_->keys.skeyid_d.span(), gxy_.span(), ProtoId(pc.protocol),
                         out_spi, ni_, nr_, klen);
    }
    // Soft lifetimes: the initiator rekeys at 90%, the responder at 95% (the seed's
    // 28800/27360), so the initiator normally renews first.
    s.hard_seconds = hard_s;
    s.soft_seconds = hard_s ? static_cast<uint32_t>(uint64_t{hard_s} * (initiator_ ? 90 : 95) / 100) : 0;
    s.hard_kbytes = hard_kb;
    s.soft_kbytes = hard_kb ? hard_kb * (initiator_ ? 90 : 95) / 100 : 0;
    b.sas.push_back(std::move(s));
  }
  auto h = e_.InstallBundle(b, initiator_, replaces_);
  if (!h.ok()) {
    e_.Log(4, absl::StrCat("Exchange ", id_, ": SA installation failed: ", h.status().message()));
    return false;
  }
  installed_ = true;
  our_spis_.clear();
  return true;
}

void QuickExchange::OnMessage(const Header& h, const std::vector<Payload>& pl) {
  switch (st_) {
    case St::kStart:
      if (!initiator_) RespFirst(h, pl);
      return;
    case St::kWaitHashSaNonce: return InitReply(h, pl);
    case St::kWaitHash3: return RespHash3(pl);
    case St::kWaitConnected: return InitConnected(pl);
    case St::kDone:
    case St::kFailed:
      return;
  }
}

}  // namespace arsec::ike
