#include "control/ike/engine.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "control/ike/ike_rsa.h"
#include "control/ike/ike_service.h"
#include "control/ike/isakmp_dump.h"
#include "control/ike/phase1_exchange.h"
#include "control/ike/quick_exchange.h"
#include "control/ike/xauth_exchange.h"

namespace arsec::ike {
namespace {

std::string Ip(uint32_t a) {
  return absl::StrCat(a >> 24, ".", (a >> 16) & 255, ".", (a >> 8) & 255, ".", a & 255);
}

uint32_t Be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

struct CtrName {
  Ctr c;
  const char* group;
  const char* name;
};
constexpr CtrName kCtrNames[] = {
    {Ctr::kRxMessages, "GENERAL", "messagesReceived"},
    {Ctr::kTxMessages, "GENERAL", "messagesSent"},
    {Ctr::kRetransmits, "GENERAL", "retransmissions"},
    {Ctr::kRxDropped, "GENERAL", "messagesDropped"},
    {Ctr::kRxBadHeader, "GENERAL", "badHeader"},
    {Ctr::kRxMalformed, "GENERAL", "malformedPayloads"},
    {Ctr::kRxBadCookie, "GENERAL", "unknownCookies"},
    {Ctr::kRxDecryptFailed, "GENERAL", "decryptFailed"},
    {Ctr::kRxNoExchange, "GENERAL", "noExchange"},
    {Ctr::kRxRetransmitted, "GENERAL", "peerRetransmissions"},
    {Ctr::kHalfOpenRefused, "GENERAL", "halfOpenRefused"},
    {Ctr::kHalfOpenEvicted, "GENERAL", "halfOpenEvicted"},
    {Ctr::kSendFailed, "GENERAL", "sendFailed"},
    {Ctr::kIsakmpSasCreated, "GENERAL", "isakmpSasCreated"},
    {Ctr::kIsakmpSasDeleted, "GENERAL", "isakmpSasDeleted"},
    {Ctr::kIpsecSasInstalled, "GENERAL", "ipsecBundlesInstalled"},
    {Ctr::kIpsecSasDeleted, "GENERAL", "ipsecBundlesDeleted"},
    {Ctr::kAcquires, "GENERAL", "acquires"},
    {Ctr::kAcquiresIgnored, "GENERAL", "acquiresIgnored"},
    {Ctr::kNotifiesSent, "GENERAL", "notifiesSent"},
    {Ctr::kNotifiesReceived, "GENERAL", "notifiesReceived"},
    {Ctr::kDeletesSent, "GENERAL", "deletesSent"},
    {Ctr::kDeletesReceived, "GENERAL", "deletesReceived"},
    {Ctr::kMainStartedInit, "MAIN", "initiatorStarted"},
    {Ctr::kMainStartedResp, "MAIN", "responderStarted"},
    {Ctr::kMainDone, "MAIN", "completed"},
    {Ctr::kMainFailed, "MAIN", "failed"},
    {Ctr::kMainAuthFailed, "MAIN", "authenticationFailed"},
    {Ctr::kMainNoProposal, "MAIN", "noProposalChosen"},
    {Ctr::kMainTimeout, "MAIN", "timeouts"},
    {Ctr::kAggrStartedInit, "AGGRESSIVE", "initiatorStarted"},
    {Ctr::kAggrStartedResp, "AGGRESSIVE", "responderStarted"},
    {Ctr::kAggrDone, "AGGRESSIVE", "completed"},
    {Ctr::kAggrFailed, "AGGRESSIVE", "failed"},
    {Ctr::kAggrAuthFailed, "AGGRESSIVE", "authenticationFailed"},
    {Ctr::kAggrNoProposal, "AGGRESSIVE", "noProposalChosen"},
    {Ctr::kAggrTimeout, "AGGRESSIVE", "timeouts"},
    {Ctr::kQuickStartedInit, "QUICK", "initiatorStarted"},
    {Ctr::kQuickStartedResp, "QUICK", "responderStarted"},
    {Ctr::kQuickDone, "QUICK", "completed"},
    {Ctr::kQuickFailed, "QUICK", "failed"},
    {Ctr::kQuickNoProposal, "QUICK", "noProposalChosen"},
    {Ctr::kQuickBadHash, "QUICK", "badHash"},
    {Ctr::kQuickTimeout, "QUICK", "timeouts"},
    {Ctr::kQuickNoPolicy, "QUICK", "noPolicy"},
    {Ctr::kQuickRekeys, "QUICK", "rekeys"},
    {Ctr::kInfoRx, "INFO", "received"},
    {Ctr::kInfoTx, "INFO", "sent"},
    {Ctr::kInfoBadHash, "INFO", "badHash"},
    {Ctr::kXauthStarted, "XAUTH", "started"},
    {Ctr::kXauthOk, "XAUTH", "succeeded"},
    {Ctr::kXauthFailed, "XAUTH", "failed"},
    {Ctr::kXauthTimeout, "XAUTH", "timeouts"},
    {Ctr::kNatDetectedLocal, "NATT", "localBehindNat"},
    {Ctr::kNatDetectedPeer, "NATT", "peerBehindNat"},
    {Ctr::kNatFloated, "NATT", "floatedTo4500"},
    {Ctr::kNatKeepalivesTx, "NATT", "keepalivesSent"},
    {Ctr::kDpdRequestsTx, "DPD", "requestsSent"},
    {Ctr::kDpdAcksRx, "DPD", "acksReceived"},
    {Ctr::kDpdRequestsRx, "DPD", "requestsReceived"},
    {Ctr::kDpdAcksTx, "DPD", "acksSent"},
    {Ctr::kDpdPeerDead, "DPD", "peersDead"},
};
static_assert(std::size(kCtrNames) == static_cast<size_t>(Ctr::kCount));

// An identity as SHOW prints it; a distinguished name (RSASIG) as its text.
std::string IdText(const Identity& id) {
  if (id.type == IdType::kDerAsn1Dn) {
    auto t = DnToText(id.data);
    if (t.ok()) return *t;
  }
  return id.ToString();
}

const char* EncName(const Phase1Choice& c) {
  switch (c.cipher) {
    case P1Cipher::kDes: return "DES";
    case P1Cipher::k3Des: return "3DES";
    case P1Cipher::kAesCbc:
      return c.key_bits == 256 ? "AES256" : c.key_bits == 192 ? "AES192" : "AES128";
  }
  return "?";
}
const char* HashName(PrfHash h) {
  switch (h) {
    case PrfHash::kMd5: return "MD5";
    case PrfHash::kSha1: return "SHA";
    case PrfHash::kSha256: return "SHA256";
    case PrfHash::kSha384: return "SHA384";
    case PrfHash::kSha512: return "SHA512";
  }
  return "?";
}

}  // namespace

// ---------------------------------------------------------------- Exchange

Exchange::Exchange(Engine& e, IkeSa* sa, ExchangeType type, bool initiator, uint32_t message_id)
    : e_(e), sa_(sa), type_(type), initiator_(initiator), message_id_(message_id),
      id_(e.NextExchangeId()), started_(e.Now()) {
  const uint32_t ms = sa && sa->cfg ? sa->cfg->msg_timeout_ms : 2000;
  retx_timeout_ = absl::Milliseconds(ms);
  // Ids only grow: appending keeps the SA's list in exchange id order.
  e_.xchgs_by_sa_[sa_].push_back(this);
}

Exchange::~Exchange() {
  auto it = e_.xchgs_by_sa_.find(sa_);
  if (it == e_.xchgs_by_sa_.end()) return;
  auto& l = it->second;
  l.erase(std::remove(l.begin(), l.end(), this), l.end());
  if (l.empty()) e_.xchgs_by_sa_.erase(it);
}

void Exchange::OnTimeout() { Finish(false, "no answer from the peer"); }

void Exchange::Send(const std::vector<Payload>& payloads, bool encrypt, bool last, uint8_t flags) {
  Header h;
  h.icookie = sa_->icookie;
  h.rcookie = sa_->rcookie;
  h.exchange = type_;
  h.message_id = message_id_;
  h.flags = flags;
  Bytes wire;
  if (encrypt) {
    auto sealed = e_.Seal(*sa_, h, payloads, iv_);
    if (!sealed.ok()) {
      e_.Count(Ctr::kSendFailed);
      return;
    }
    wire = std::move(*sealed);
  } else {
    wire = BuildMessage(h, payloads);
  }
  h.next = payloads.empty() ? PayloadType::kNone : payloads.front().type;
  h.length = static_cast<uint32_t>(wire.size());
  if (encrypt) h.flags |= kFlagEncryption;
  e_.DebugMessage(true, *sa_, h, payloads, wire);
  last_sent_ = wire;
  e_.SendRaw(*sa_, wire);
  awaiting_reply_ = !last;
  retx_count_ = 0;
  const uint32_t ms = sa_->cfg ? sa_->cfg->msg_timeout_ms : 2000;
  retx_timeout_ = absl::Milliseconds(ms);
  next_retx_ = last ? absl::InfiniteFuture() : e_.Now() + retx_timeout_;
}

void Exchange::Finish(bool ok, const std::string& why) {
  if (finished_) return;
  finished_ = true;
  awaiting_reply_ = false;
  next_retx_ = absl::InfiniteFuture();
  if (ok) {
    e_.Log(3, absl::StrCat("Exchange ", id_, ": Completed successfully"));
  } else {
    e_.Log(4, absl::StrCat("Exchange ", id_, ": Failed - ", why));
  }
}

// ---------------------------------------------------------------- Engine

Engine::Engine(EngineEnv env) : env_(std::move(env)), cfg_(std::make_shared<IkeConfig>()) {}

Engine::~Engine() = default;

Bytes Engine::Random(size_t n) const {
  Bytes b(n);
  env_.random(b.data(), n);
  return b;
}

absl::StatusOr<DhKeyPair> Engine::NewDhKeyPair(int group) const {
  return DhKeyPair::FromPrivate(group, Random(DhLen(group) > 128 ? 64 : 32));
}

uint32_t Engine::RandomU32() const {
  uint8_t b[4];
  env_.random(b, 4);
  return Be32(b);
}

uint32_t Engine::NewMessageId() {
  for (;;) {
    uint32_t m = RandomU32();
    if (m != 0) return m;
  }
}

void Engine::Log(int severity, const std::string& line, const std::string& stype) {
  if (env_.log) env_.log(severity, stype, line);
  if (DebugOn(kDebugTrace) && env_.debug) env_.debug(kDebugTrace, "ISAKMP: " + line);
}

bool Engine::DebugOn(uint32_t flag) const { return (debug_flags_ & flag) != 0; }

void Engine::Debug(uint32_t flag, const std::string& text) {
  if (DebugOn(flag) && env_.debug) env_.debug(flag, text);
}

void Engine::Drive(Exchange* x, const std::function<void()>& step) {
  if (!DebugOn(kDebugState)) return step();
  // DEBUG=STATE: the exchange's state before and after (it may be gone after: an
  // exchange that fails can take its ISAKMP SA with it).
  const uint32_t id = x->id();
  const std::string type = x->TypeName();
  const uint32_t peer = x->sa() ? x->sa()->peer : 0;
  const std::string before = x->StateName();
  step();
  auto it = xchgs_.find(id);
  const std::string after = it == xchgs_.end() ? "DELETED" : it->second->StateName();
  if (after != before)
    Debug(kDebugState, absl::StrCat("ISAKMP State: Exchange ", id, " (", type, ", peer ", Ip(peer),
                                    "): ", before, " -> ", after));
}

void Engine::DebugMessage(bool tx, const IkeSa& sa, const Header& h,
                          const std::vector<Payload>& payloads, ByteSpan raw) {
  if (DebugOn(kDebugTraceMore) && env_.debug) {
    // DEBUG=TRACEMORE: one line per message, the payloads by name (no contents).
    std::string kinds;
    for (const auto& p : payloads) absl::StrAppend(&kinds, kinds.empty() ? "" : ", ", PayloadName(p.type));
    env_.debug(kDebugTraceMore,
               absl::StrCat("ISAKMP Trace: ", tx ? "sent " : "received ", ExchangeName(h.exchange),
                            " message ", absl::Hex(h.message_id, absl::kZeroPad8),
                            tx ? " to " : " from ", Ip(sa.peer), ":", sa.peer_port,
                            (h.flags & kFlagEncryption) ? " (encrypted)" : "", ": ", kinds));
  }
  if (DebugOn(kDebugPkt) && env_.debug) env_.debug(kDebugPkt, DumpMessage(h, payloads, tx));
  if (DebugOn(kDebugPktRaw) && env_.debug) env_.debug(kDebugPktRaw, DumpRaw(raw, tx));
}

void Engine::SendRaw(const IkeSa& sa, const Bytes& data) {
  Datagram d;
  d.src = sa.local;
  d.dst = sa.peer;
  d.sport = sa.local_port;
  d.dport = sa.peer_port;
  d.data = data;
  if (env_.transport->Send(d).ok()) {
    Count(Ctr::kTxMessages);
  } else {
    Count(Ctr::kSendFailed);
  }
}

absl::StatusOr<Bytes> Engine::Seal(IkeSa& sa, Header h, const std::vector<Payload>& payloads,
                                   Bytes& iv) {
  const Bytes area = BuildChain(payloads);
  Bytes next_iv;
  auto ct = CbcEncrypt(sa.choice.cipher, sa.keys.enc_key.span(), iv, area, &next_iv);
  if (!ct.ok()) return ct.status();
  h.flags |= kFlagEncryption;
  h.next = payloads.empty() ? PayloadType::kNone : payloads.front().type;
  h.length = static_cast<uint32_t>(kHeaderLen + ct->size());
  Bytes out;
  out.reserve(h.length);
  AppendHeader(h, out);
  out.insert(out.end(), ct->begin(), ct->end());
  iv = std::move(next_iv);
  // KBYTES lifetimes count whole ISAKMP messages (header and ciphertext) encrypted once;
  // a retransmission sends the same ciphertext again and is not counted.
  Protected(sa, out.size());
  return out;
}

void Engine::Configure(std::shared_ptr<const IkeConfig> cfg) {
  const bool was_enabled = cfg_->enabled;
  cfg_ = std::move(cfg);
  IndexConfig();
  // PeerConfig pointers of live SAs now point into the old snapshot: re-resolve by name
  // (the last policy of that name, as a scan would find it).
  for (auto& [id, sa] : sas_) {
    auto p = peer_by_name_.find(sa->policy);
    sa->cfg = p == peer_by_name_.end() ? nullptr : p->second;
  }
  std::vector<uint32_t> ids;
  for (auto& [id, sa] : sas_) ids.push_back(id);
  for (uint32_t id : ids) {
    auto it = sas_.find(id);
    if (it == sas_.end()) continue;
    IkeSa& sa = *it->second;
    if (sa.cfg == nullptr || !cfg_->enabled) {
      // The ISAKMP policy is gone (or the module off): its SAs go, IPsec SAs stay until
      // they expire.
      DeleteIkeSa(sa, cfg_->enabled || was_enabled, cfg_->enabled ? "ISAKMP policy removed"
                                                                  : "ISAKMP disabled");
    }
  }
  // Policies that no longer exist lose their pending acquires.
  pending_.erase(std::remove_if(pending_.begin(), pending_.end(),
                                [&](const PendingAcquire& a) { return FindPolicy(a.policy_id) == nullptr; }),
                 pending_.end());
  Prenegotiate();
}

void Engine::Prenegotiate() {
  // PRENEGOTIATE=TRUE: the SAs of the policies toward that peer are negotiated without
  // waiting for traffic (and again whenever they are gone), as the AR does.
  if (!cfg_->enabled) return;
  const absl::Time now = Now();
  for (const auto& p : cfg_->policies) {
    if (p.view.peer == 0) continue;
    const PeerConfig* pc = FindPeerByAddress(p.view.peer);
    if (pc == nullptr || pc->any || !pc->prenegotiate) continue;
    bool have = false;
    for (const auto& [h, b] : bundles_) have |= b.policy_id == p.policy_id && !b.remove_at;
    for (const auto& a : pending_) have |= a.policy_id == p.policy_id;
    for (const auto& [id, x] : xchgs_) {
      auto* q = dynamic_cast<const QuickExchange*>(x.get());
      have |= q != nullptr && !x->finished() && q->policy_id() == p.policy_id;
    }
    if (have) continue;
    auto last = prenegotiated_.find(p.policy_id);
    if (last != prenegotiated_.end() && now - last->second < absl::Seconds(10)) continue;
    prenegotiated_[p.policy_id] = now;
    pending_.push_back(PendingAcquire{p.policy_id, p.view.peer, 0, now, 0});
  }
  if (!pending_.empty()) RunPending();
}

void Engine::IndexConfig() {
  peers_by_addr_.clear();
  any_peers_.clear();
  peer_by_name_.clear();
  policy_by_id_.clear();
  local_by_peer_.clear();
  for (const auto& p : cfg_->peers) {
    if (p.any) {
      any_peers_.push_back(&p);
    } else {
      peers_by_addr_[p.peer].push_back(&p);
    }
    peer_by_name_.insert_or_assign(p.name, &p);
  }
  for (const auto& p : cfg_->policies) {
    policy_by_id_.emplace(p.policy_id, &p);
    if (p.local != 0) local_by_peer_.emplace(p.view.peer, p.local);
  }
}

const PeerConfig* Engine::FindPeerByAddress(uint32_t peer) const {
  auto it = peers_by_addr_.find(peer);
  if (it != peers_by_addr_.end()) return it->second.front();
  return any_peers_.empty() ? nullptr : any_peers_.front();
}

const PeerConfig* Engine::FindPeerById(uint32_t peer, const Identity& id) const {
  // A fixed-address policy with no REMOTEID or a matching one, then PEER=ANY policies
  // whose REMOTEID matches, then PEER=ANY ones without REMOTEID.
  auto it = peers_by_addr_.find(peer);
  if (it != peers_by_addr_.end())
    for (const PeerConfig* p : it->second)
      if (!p->remote_id || *p->remote_id == id) return p;
  for (const PeerConfig* p : any_peers_)
    if (p->remote_id && *p->remote_id == id) return p;
  for (const PeerConfig* p : any_peers_)
    if (!p->remote_id) return p;
  return nullptr;
}

const Phase2Policy* Engine::FindPolicy(uint32_t policy_id) const {
  auto it = policy_by_id_.find(policy_id);
  return it == policy_by_id_.end() ? nullptr : it->second;
}

IkeSa* Engine::UsableSa(uint32_t peer) {
  const SaList& sas = SasOf(peer);
  IkeSa* best = nullptr;
  for (IkeSa* sa : sas) {
    if (!sa->established_ok() || sa->soft_done) continue;
    if (best == nullptr || sa->established > best->established) best = sa;
  }
  if (best) return best;
  for (IkeSa* sa : sas)   // an expiring one still carries quick mode
    if (sa->established_ok()) return sa;
  return nullptr;
}

bool Engine::HasBundlesWith(uint32_t peer) const {
  for (uint32_t h : BundlesOf(peer))
    if (!bundles_.at(h).remove_at) return true;
  return false;
}

uint32_t Engine::LocalFor(uint32_t peer) const {
  auto it = local_by_peer_.find(peer);
  if (it != local_by_peer_.end()) return it->second;
  return cfg_->local_addrs.empty() ? 0 : cfg_->local_addrs.front();
}

IkeSa* Engine::NewSa(bool initiator, uint32_t local, uint32_t peer, const PeerConfig* cfg) {
  auto sa = std::make_unique<IkeSa>();
  sa->id = ++next_sa_id_;
  sa->initiator = initiator;
  sa->local = local;
  sa->peer = peer;
  sa->cfg = cfg;
  sa->policy = cfg ? cfg->name : "";
  sa->created = Now();
  sa->last_peer_activity = Now();
  IkeSa* raw = sa.get();
  sas_[raw->id] = std::move(sa);
  IndexSa(raw);
  return raw;
}

void Engine::StartPhase1(const PeerConfig& cfg, uint32_t local, uint32_t peer) {
  IkeSa* sa = NewSa(true, local, peer, &cfg);
  Bytes c = Random(8);
  uint64_t icookie = 0;
  for (int i = 0; i < 8; ++i) icookie = icookie << 8 | c[i];
  SetCookies(*sa, icookie == 0 ? 1 : icookie, 0);
  sa->xauth_done = cfg.xauth == XauthRole::kNone;
  auto x = std::make_unique<Phase1Exchange>(*this, sa, cfg.aggressive, true);
  Phase1Exchange* raw = x.get();
  xchgs_[raw->id()] = std::move(x);
  Drive(raw, [&] { raw->Start(); });
}

absl::Status Engine::Initiate(uint32_t policy_id) {
  const Phase2Policy* p = FindPolicy(policy_id);
  if (p == nullptr) return absl::NotFoundError("no such ISAKMP-keyed IPsec policy");
  if (p->view.peer == 0) return absl::FailedPreconditionError("the policy's peer is DYNAMIC");
  pending_.push_back(PendingAcquire{policy_id, p->view.peer, 0, Now(), 0});
  RunPending();
  return absl::OkStatus();
}

void Engine::Acquire(uint32_t policy_id, uint32_t src, uint32_t dst) {
  (void)src;
  (void)dst;
  Count(Ctr::kAcquires);
  if (!cfg_->enabled) {
    Count(Ctr::kAcquiresIgnored);
    return;
  }
  const Phase2Policy* p = FindPolicy(policy_id);
  if (p == nullptr || p->view.peer == 0) {   // DYNAMIC peers are never initiated to
    Count(Ctr::kAcquiresIgnored);
    return;
  }
  for (const auto& a : pending_)
    if (a.policy_id == policy_id) return;   // already negotiating
  for (const auto& [h, b] : bundles_)
    if (b.policy_id == policy_id && !b.remove_at) return;   // installed meanwhile
  pending_.push_back(PendingAcquire{policy_id, p->view.peer, 0, Now(), 0});
  RunPending();
}

void Engine::SoftExpired(uint32_t handle) {
  auto it = bundles_.find(handle);
  if (it == bundles_.end() || it->second.rekeying || it->second.remove_at) return;
  Bundle& b = it->second;
  const Phase2Policy* p = FindPolicy(b.policy_id);
  if (p == nullptr) return;
  const PeerConfig* pc = FindPeerByAddress(b.peer);
  if (pc && !pc->rekey) return;
  if (p->view.peer == 0 && !b.initiator) return;   // a dynamic peer renews its own SAs
  b.rekeying = true;
  Count(Ctr::kQuickRekeys);
  pending_.push_back(PendingAcquire{b.policy_id, b.peer, 0, Now(), handle});
  RunPending();
}

void Engine::AdoptBundle(const AdoptedSaBundle& a) {
  if (a.handle == 0 || bundles_.count(a.handle) != 0) return;
  Bundle b;
  b.policy_id = a.policy_id;
  b.isakmp_sa = 0;   // the ISAKMP SA that negotiated it died with the old process
  b.peer = a.peer;
  b.initiator = a.initiator;
  b.in_spis = a.in_spis;
  b.out_spis = a.out_spis;
  b.installed = Now();
  b.adopted = true;
  AddBundle(a.handle, std::move(b));
  const Phase2Policy* p = FindPolicy(a.policy_id);
  Log(3, absl::StrCat("IPsec SA bundle of policy ", p ? p->name : absl::StrCat("id ", a.policy_id),
                      " with peer ", Ip(a.peer), " adopted after a restart",
                      a.soft_passed ? ": soft lifetime passed, rekeying now"
                      : a.soft_left_s ? absl::StrCat(": rekeyed in ", *a.soft_left_s, " s")
                                      : std::string()),
      "MSG");
  if (a.soft_passed) SoftExpired(a.handle);
}

void Engine::HardExpired(uint32_t handle) {
  if (!EraseBundle(handle)) return;
  env_.installer->Remove(handle);   // the rest of the bundle goes with the expired SA
  Count(Ctr::kIpsecSasDeleted);
}

void Engine::RunPending() {
  for (auto it = pending_.begin(); it != pending_.end();) {
    PendingAcquire& a = *it;
    IkeSa* sa = UsableSa(a.peer);
    if (sa != nullptr) {
      StartQuick(*sa, a);
      it = pending_.erase(it);
      continue;
    }
    bool negotiating = false;
    for (IkeSa* s : SasOf(a.peer))
      if (s->state == IkeSaState::kNegotiating ||
          (s->state == IkeSaState::kEstablished && !s->xauth_done))
        negotiating = true;
    if (!negotiating) {
      const PeerConfig* pc = FindPeerByAddress(a.peer);
      if (pc == nullptr || pc->any || a.attempts >= (pc ? pc->retry_ike_attempts : 3)) {
        Log(4, absl::StrCat("No ISAKMP policy can reach peer ", Ip(a.peer),
                            pc == nullptr ? " (no ISAKMP policy)" : " (attempts exhausted)"));
        it = pending_.erase(it);
        continue;
      }
      ++a.attempts;
      StartPhase1(*pc, LocalFor(a.peer), a.peer);
    }
    ++it;
  }
}

void Engine::StartQuick(IkeSa& sa, const PendingAcquire& a) {
  const Phase2Policy* p = FindPolicy(a.policy_id);
  if (p == nullptr) return;
  auto x = std::make_unique<QuickExchange>(*this, &sa, true, NewMessageId());
  QuickExchange* raw = x.get();
  xchgs_[raw->id()] = std::move(x);
  Drive(raw, [&] { raw->Start(*p, a.replaces); });
}

void Engine::Phase1Done(IkeSa& sa) {
  SetState(sa, IkeSaState::kEstablished);
  sa.established = Now();
  sa.last_peer_activity = Now();
  Count(Ctr::kIsakmpSasCreated);
  // XAUTH=SERVER: the user's name and password before any quick mode (a client waits
  // for our REQUEST; XauthExchange::Route starts its side).
  if (sa.cfg && sa.cfg->xauth == XauthRole::kServer && !sa.xauth_done) {
    auto x = std::make_unique<XauthExchange>(*this, &sa, true, NewMessageId());
    XauthExchange* raw = x.get();
    xchgs_[raw->id()] = std::move(x);
    Drive(raw, [&] { raw->Start(); });
  }
  // The ISAKMP SA's own lifetime: the policy's EXPIRYSECONDS unless the peer chose less.
  RunPending();
}

void Engine::Phase1Failed(IkeSa& sa, const std::string& why) {
  (void)why;
  SetState(sa, IkeSaState::kDeleted);
}

void Engine::DeleteIkeSa(IkeSa& sa, bool send_delete, const std::string& why) {
  if (send_delete && sa.state == IkeSaState::kEstablished && sa.cfg && sa.cfg->send_deletes)
    SendDelete(sa, ProtocolId::kIsakmp, {sa.cookies()});
  if (sa.state == IkeSaState::kEstablished) {
    Count(Ctr::kIsakmpSasDeleted);
    Log(3, absl::StrCat("ISAKMP SA ", sa.id, " with peer ", Ip(sa.peer), " deleted: ", why), "MSG");
  }
  SetState(sa, IkeSaState::kDeleted);
  EraseExchangesOf(&sa);
  EraseSa(sa.id);
}

absl::StatusOr<uint32_t> Engine::InstallBundle(const NegotiatedBundle& nb_in, bool initiator,
                                               uint32_t replaces) {
  // The initiator of a rekey keeps sending on the old SAs for a moment: the responder
  // installs the new ones only when our HASH(3) reaches it.
  bool has_old = false;
  if (auto r = bundles_.find(replaces); r != bundles_.end() && !r->second.remove_at) has_old = true;
  for (uint32_t oh : BundlesOf(nb_in.peer)) {
    const Bundle& ob = bundles_.at(oh);
    if (!ob.remove_at && ob.policy_id == nb_in.policy_id) has_old = true;
  }
  NegotiatedBundle nb = nb_in;
  nb.defer_outbound = initiator && has_old;
  auto h = env_.installer->Install(nb);
  if (!h.ok()) return h.status();
  Bundle b;
  b.policy_id = nb.policy_id;
  b.isakmp_sa = nb.isakmp_sa;
  b.peer = nb.peer;
  b.initiator = initiator;
  b.installed = Now();
  for (const auto& s : nb.sas) {
    b.in_spis.push_back({s.protocol, s.in_spi});
    b.out_spis.push_back({s.protocol, s.out_spi});
  }
  if (nb.defer_outbound) b.activate_at = Now() + kActivateDelay;
  AddBundle(*h, std::move(b));
  Count(Ctr::kIpsecSasInstalled);   // (the IPsec model logs "SA bundle created")
  // Make-before-break: the bundle this one replaces (rekey), or any older bundle of the
  // same policy with the same peer, leaves after a grace period.
  const PeerConfig* pc = FindPeerByAddress(nb.peer);
  // (never before the new bundle sends: the activation delay plus a second)
  const absl::Duration grace = std::max(absl::Seconds(pc ? pc->delete_delay_s : 30),
                                        kActivateDelay + absl::Seconds(1));
  auto retire = [&](uint32_t oh) {
    Bundle& ob = bundles_.at(oh);
    if (oh != *h && !ob.remove_at) ob.remove_at = Now() + grace;
  };
  if (bundles_.count(replaces) != 0) retire(replaces);
  for (uint32_t oh : BundlesOf(nb.peer))
    if (bundles_.at(oh).policy_id == nb.policy_id) retire(oh);
  return *h;
}

void Engine::SendNotify(IkeSa& sa, NotifyType type, ProtocolId proto, const Bytes& spi,
                        const Bytes& data) {
  NotifyPayload n;
  n.protocol = proto;
  n.type = static_cast<uint16_t>(type);
  n.spi = spi;
  if (proto == ProtocolId::kIsakmp && spi.empty() && sa.rcookie != 0)
    n.spi = sa.cookies();
  n.data = data;
  std::vector<Payload> pl{Payload{PayloadType::kNotify, BuildNotify(n)}};
  Header h;
  h.icookie = sa.icookie;
  h.rcookie = sa.rcookie;
  h.exchange = ExchangeType::kInformational;
  Count(Ctr::kNotifiesSent);
  Count(Ctr::kInfoTx);
  if (sa.keys.skeyid_a.empty() || sa.p1_last_block.empty()) {
    // No phase 1 keys yet: an unprotected notify (RFC 2408 5.4 allows it for errors).
    h.message_id = 0;
    Bytes wire = BuildMessage(h, pl);
    DebugMessage(true, sa, h, pl, wire);
    SendRaw(sa, wire);
    return;
  }
  h.message_id = NewMessageId();
  const Bytes hash = QmHash1(sa.choice.prf, sa.keys.skeyid_a.span(), h.message_id, BuildChain(pl));
  pl.insert(pl.begin(), Payload{PayloadType::kHash, hash});
  Bytes iv = Phase2Iv(sa.choice.prf, sa.choice.cipher, sa.p1_last_block, h.message_id);
  auto wire = Seal(sa, h, pl, iv);
  if (!wire.ok()) return;
  h.flags |= kFlagEncryption;
  DebugMessage(true, sa, h, pl, *wire);
  SendRaw(sa, *wire);
}

void Engine::SendDelete(IkeSa& sa, ProtocolId proto, const std::vector<Bytes>& spis) {
  if (sa.keys.skeyid_a.empty() || sa.p1_last_block.empty()) return;
  DeletePayload d;
  d.protocol = proto;
  d.spi_size = proto == ProtocolId::kIsakmp ? 16 : 4;
  d.spis = spis;
  std::vector<Payload> pl{Payload{PayloadType::kDelete, BuildDelete(d)}};
  Header h;
  h.icookie = sa.icookie;
  h.rcookie = sa.rcookie;
  h.exchange = ExchangeType::kInformational;
  h.message_id = NewMessageId();
  const Bytes hash = QmHash1(sa.choice.prf, sa.keys.skeyid_a.span(), h.message_id, BuildChain(pl));
  pl.insert(pl.begin(), Payload{PayloadType::kHash, hash});
  Bytes iv = Phase2Iv(sa.choice.prf, sa.choice.cipher, sa.p1_last_block, h.message_id);
  auto wire = Seal(sa, h, pl, iv);
  if (!wire.ok()) return;
  h.flags |= kFlagEncryption;
  DebugMessage(true, sa, h, pl, *wire);
  SendRaw(sa, *wire);
  Count(Ctr::kDeletesSent);
  Count(Ctr::kInfoTx);
}

// ---------------------------------------------------------------- receiving

void Engine::OnDatagram(const Datagram& d) {
  Count(Ctr::kRxMessages);
  if (!cfg_->enabled) {
    Count(Ctr::kRxDropped);
    return;
  }
  HandleDatagram(d);
  if (env_.check_indexes) CheckIndexesOrDie("OnDatagram");
}

void Engine::HandleDatagram(const Datagram& d) {
  auto hdr = ParseHeader(d.data);
  if (!hdr.ok()) {
    Count(Ctr::kRxBadHeader);
    Debug(kDebugTrace, absl::StrCat("ISAKMP: dropped a message from ", Ip(d.src), ": ",
                                    hdr.status().message()));
    return;
  }
  const Header& h = *hdr;
  IkeSa* sa = FindSa(d, h);
  if (sa == nullptr) {
    if (h.rcookie == 0 && h.message_id == 0 &&
        (h.exchange == ExchangeType::kIdProt || h.exchange == ExchangeType::kAggressive)) {
      HandlePhase1Start(d, h);
      return;
    }
    if (h.exchange == ExchangeType::kInformational && !(h.flags & kFlagEncryption)) {
      // An unprotected notify about an exchange we do not know: log only.
      Count(Ctr::kNotifiesReceived);
    }
    Count(Ctr::kRxBadCookie);
    return;
  }
  // NAT-T: the peer may have moved to 4500 (or its NAT to another port).
  if (d.dport == kNatTPort && d.sport != 0) {
    if (sa->peer_port != d.sport || sa->local_port != kNatTPort) {
      sa->local_port = kNatTPort;
      sa->peer_port = d.sport;
      sa->floated = true;
    }
  }
  if (h.flags & kFlagEncryption) {
    HandleEncrypted(*sa, d, h);
    return;
  }
  auto msg = ParseMessage(d.data);
  if (!msg.ok()) {
    Count(Ctr::kRxMalformed);
    Debug(kDebugTrace, absl::StrCat("ISAKMP: malformed message from ", Ip(d.src), ": ",
                                    msg.status().message()));
    return;
  }
  DebugMessage(false, *sa, h, msg->payloads, d.data);
  if (h.exchange == ExchangeType::kInformational) {
    HandleInformational(*sa, h, msg->payloads, false);
    return;
  }
  if (h.message_id != 0) {
    Count(Ctr::kRxNoExchange);
    return;
  }
  for (Exchange* x : ExchangesOf(sa)) {
    if (x->message_id() != 0) continue;
    if (x->last_received_ == d.data) {
      Count(Ctr::kRxRetransmitted);
      if (!x->last_sent_.empty()) SendRaw(*sa, x->last_sent_);
      return;
    }
    if (x->finished()) return;
    x->last_received_ = d.data;
    sa->last_peer_activity = Now();
    Drive(x, [&] { x->OnMessage(h, msg->payloads); });
    return;   // (the list may have changed: not iterated further)
  }
  Count(Ctr::kRxNoExchange);
}

IkeSa* Engine::FindSa(const Datagram& d, const Header& h) {
  // A scan of the SAs in id order would take the first whose cookies are the header's,
  // or the first of our own phase 1s still waiting for the responder's cookie that was
  // started with the sender (message id 0). Each index holds its SAs in id order, so the
  // lower id of the two candidates is that first SA.
  IkeSa* exact = nullptr;
  if (auto it = sa_by_cookies_.find(CookiePair{h.icookie, h.rcookie}); it != sa_by_cookies_.end())
    exact = it->second.front();
  IkeSa* waiting = nullptr;
  if (h.message_id == 0) {
    if (auto it = sa_awaiting_rcookie_.find(h.icookie); it != sa_awaiting_rcookie_.end()) {
      for (IkeSa* s : it->second)
        if (s->peer == d.src) {
          waiting = s;
          break;
        }
    }
  }
  if (exact != nullptr && (waiting == nullptr || exact->id <= waiting->id)) {
    // A responder's peer that comes back with our cookie from its own address has
    // shown it receives what we send: its half-open SA is no longer evicted first.
    if (!exact->initiator && h.rcookie != 0 && d.src == exact->peer) exact->peer_answered = true;
    return exact;
  }
  // Our own phase 1 waiting for the responder's cookie takes it.
  if (waiting != nullptr) SetCookies(*waiting, waiting->icookie, h.rcookie);
  return waiting;
}

void Engine::HandlePhase1Start(const Datagram& d, const Header& h) {
  // A retransmitted first message of an exchange we answer already: by the initiator's
  // cookie and its address together (another address with the same cookie is another
  // peer, or someone replaying it).
  if (auto it = responder_sa_by_icookie_.find(CookiePeer{h.icookie, d.src});
      it != responder_sa_by_icookie_.end()) {
    IkeSa* s = it->second.front();
    for (Exchange* x : ExchangesOf(s))
      if (x->message_id() == 0 && !x->last_sent_.empty()) {
        Count(Ctr::kRxRetransmitted);
        SendRaw(*s, x->last_sent_);
      }
    return;
  }
  auto msg = ParseMessage(d.data);
  if (!msg.ok()) {
    Count(Ctr::kRxMalformed);
    return;
  }
  const bool aggressive = h.exchange == ExchangeType::kAggressive;
  // Main mode: the policy by the peer's address; aggressive: by its ID (the exchange
  // looks it up).
  const PeerConfig* cfg = aggressive ? nullptr : FindPeerByAddress(d.src);
  if (!aggressive && cfg == nullptr) {
    // Nobody may start main mode from there: refused before any state is made (a flood
    // from spoofed addresses costs a parse and a counter).
    Count(Ctr::kMainNoProposal);
    RefuseHalfOpen(d, "no ISAKMP policy for the peer");
    return;
  }
  if (!AdmitHalfOpen(d)) return;
  if (!aggressive && cfg && cfg->aggressive && !cfg->any) {
    // The policy wants aggressive mode but the peer started main mode: accept, as the
    // AR does, with the same keys.
  }
  IkeSa* sa = NewSa(false, d.dst, d.src, cfg);
  sa->local_port = d.dport;
  sa->peer_port = d.sport;
  SetCookies(*sa, h.icookie, ResponderCookie(d, h.icookie));
  sa->xauth_done = cfg == nullptr || cfg->xauth == XauthRole::kNone;
  Count(aggressive ? Ctr::kAggrStartedResp : Ctr::kMainStartedResp);
  auto x = std::make_unique<Phase1Exchange>(*this, sa, aggressive, false);
  Phase1Exchange* raw = x.get();
  xchgs_[raw->id()] = std::move(x);
  Log(3, absl::StrCat("Exchange ", raw->id(), ": Phase 1 [resp] started with peer ", Ip(d.src)));
  DebugMessage(false, *sa, h, msg->payloads, d.data);
  raw->last_received_ = d.data;
  Drive(raw, [&] { raw->OnMessage(h, msg->payloads); });
  if (aggressive && sa->cfg) sa->xauth_done = sa->cfg->xauth == XauthRole::kNone;
}

// ---------------------------------------------------------------- half-open SAs
//
// RFC 2408 2.5.3 asks the responder not to commit state or CPU to a first message before
// the peer has shown it receives at its address. IKEv1 cannot quite do without state
// until message 3 (HASH_I and HASH_R cover the initiator's SA payload of message 1, so it
// must be kept), but main mode message 1 costs no Diffie-Hellman work, only this record;
// the records are capped per address and in all, live half_open_timeout_s, and when the
// cap is reached the oldest record whose peer never answered (a spoofed source never
// does) makes room, so a flood cannot keep a real peer, which answers within a round
// trip, from completing.

uint64_t Engine::ResponderCookie(const Datagram& d, uint64_t icookie) {
  const absl::Time now = Now();
  if (cookie_secret_.empty() || now - cookie_secret_born_ > absl::Minutes(5) ||
      now < cookie_secret_born_) {
    cookie_secret_ = Random(32);
    cookie_secret_born_ = now;
  }
  Bytes in;
  auto put = [&](uint64_t v, int bytes) {
    for (int k = bytes - 1; k >= 0; --k) in.push_back(static_cast<uint8_t>(v >> (8 * k)));
  };
  put(icookie, 8);
  put(d.src, 4);
  put(d.sport, 2);
  put(d.dst, 4);
  put(d.dport, 2);
  put(static_cast<uint64_t>(absl::ToUnixNanos(now)), 8);   // a new cookie every time
  const Bytes mac = Prf(PrfHash::kSha256, cookie_secret_, in);
  uint64_t c = 0;
  for (int k = 0; k < 8; ++k) c = c << 8 | mac[k];
  return c == 0 ? 1 : c;
}

size_t Engine::HalfOpenCount() const { return half_open_.size(); }

void Engine::RefuseHalfOpen(const Datagram& d, const char* why) {
  Count(Ctr::kHalfOpenRefused);
  const absl::Time now = Now();
  if (now - last_refusal_log_ < absl::Seconds(1)) {
    ++refusals_unlogged_;
    return;
  }
  last_refusal_log_ = now;
  std::string more;
  if (refusals_unlogged_ > 0)
    more = absl::StrCat(" (and ", refusals_unlogged_, " more not logged)");
  refusals_unlogged_ = 0;
  Log(4, absl::StrCat("Phase 1 from ", Ip(d.src), " refused: ", why, more));
}

void Engine::DropSa(uint32_t id) {
  auto it = sas_.find(id);
  if (it == sas_.end()) return;
  EraseExchangesOf(it->second.get());
  EraseSa(id);
}

bool Engine::AdmitHalfOpen(const Datagram& d) {
  const size_t total = half_open_.size();
  auto per = half_open_by_peer_.find(d.src);
  const size_t from_peer = per == half_open_by_peer_.end() ? 0 : per->second;
  if (from_peer >= std::max<uint32_t>(cfg_->half_open_per_peer, 1)) {
    RefuseHalfOpen(d, "too many half-open exchanges with this address");
    return false;
  }
  if (total < std::max<uint32_t>(cfg_->half_open_limit, 1)) return true;
  // The cap is reached: a victim among the half-open SAs (as many as the cap). The
  // oldest, the lower id first among equally old ones, as a scan in id order finds it.
  auto older = [](const IkeSa* a, const IkeSa* b) {
    return b == nullptr || a->created < b->created || (a->created == b->created && a->id < b->id);
  };
  IkeSa* failed = nullptr;       // oldest failed one, lingering for retransmissions
  IkeSa* silent = nullptr;       // oldest negotiating one whose peer never answered
  for (IkeSa* s : half_open_) {
    if (s->state == IkeSaState::kDeleted) {
      if (older(s, failed)) failed = s;
    } else if (!s->peer_answered) {
      if (older(s, silent)) silent = s;
    }
  }
  IkeSa* victim = failed ? failed : silent;
  if (victim == nullptr) {
    RefuseHalfOpen(d, "too many half-open exchanges");
    return false;
  }
  Count(Ctr::kHalfOpenEvicted);
  DropSa(victim->id);
  return true;
}

void Engine::HandleEncrypted(IkeSa& sa, const Datagram& d, const Header& h) {
  if (sa.keys.enc_key.empty()) {
    Count(Ctr::kRxDecryptFailed);
    return;
  }
  // Which exchange, and so which CBC state?
  Exchange* x = nullptr;
  for (Exchange* ex : ExchangesOf(&sa))   // the newest one of that message id
    if (ex->message_id() == h.message_id) x = ex;
  if (x && x->last_received_ == d.data) {
    Count(Ctr::kRxRetransmitted);
    if (!x->last_sent_.empty()) SendRaw(sa, x->last_sent_);
    return;
  }
  if (x && x->finished()) return;
  Bytes iv;
  if (x != nullptr) {
    iv = x->iv_;
  } else if (h.message_id != 0 && !sa.p1_last_block.empty()) {
    iv = Phase2Iv(sa.choice.prf, sa.choice.cipher, sa.p1_last_block, h.message_id);
  } else {
    Count(Ctr::kRxNoExchange);
    return;
  }
  const size_t len = std::min<size_t>(h.length, d.data.size());
  if (len <= kHeaderLen) {
    Count(Ctr::kRxMalformed);
    return;
  }
  ByteSpan ct(d.data.data() + kHeaderLen, len - kHeaderLen);
  Bytes next_iv;
  auto plain = CbcDecrypt(sa.choice.cipher, sa.keys.enc_key.span(), iv, ct, &next_iv);
  if (!plain.ok()) {
    Count(Ctr::kRxDecryptFailed);
    return;
  }
  auto pl = ParseChain(h.next, *plain);
  if (!pl.ok()) {
    // Usually a wrong key (a wrong pre-shared key shows here in main mode message 5).
    Count(Ctr::kRxDecryptFailed);
    Debug(kDebugTrace, absl::StrCat("ISAKMP: cannot decrypt a message from ", Ip(d.src),
                                    " (wrong key?): ", pl.status().message()));
    if (x && x->Phase() == 1) {
      Log(4, absl::StrCat("Exchange ", x->id(),
                          ": Failed - cannot decrypt the peer's message (check the pre-shared key)"));
      // No error notify: it would need keys we evidently do not share.
      x->Finish(false, "decryption failed");
      Count(static_cast<Phase1Exchange*>(x)->aggressive() ? Ctr::kAggrAuthFailed
                                                          : Ctr::kMainAuthFailed);
      SetState(sa, IkeSaState::kDeleted);
    }
    return;
  }
  DebugMessage(false, sa, h, *pl, d.data);
  sa.last_peer_activity = Now();
  // Only a message that decrypted into a well-formed chain counts toward a KBYTES
  // lifetime (one that does not is someone else's junk, not traffic under our keys).
  Protected(sa, len);
  if (h.exchange == ExchangeType::kInformational) {
    // Its HASH is checked there; the CBC state of informational exchanges is one-shot.
    HandleInformational(sa, h, *pl, true);
    return;
  }
  if (x == nullptr) {
    if (h.exchange == ExchangeType::kQuick) {
      if (!sa.established_ok()) {
        Count(Ctr::kRxNoExchange);
        return;
      }
      auto q = std::make_unique<QuickExchange>(*this, &sa, false, h.message_id);
      x = q.get();
      xchgs_[x->id()] = std::move(q);
    } else if (h.exchange == ExchangeType::kTransaction) {
      // XAUTH / Mode Config: the SA's dialogue moves on, or a client's begins.
      x = XauthExchange::Route(*this, sa, h.message_id);
      if (x == nullptr) {
        Count(Ctr::kRxNoExchange);
        return;
      }
    } else {
      Count(Ctr::kRxNoExchange);
      return;
    }
  }
  x->iv_ = std::move(next_iv);
  x->last_received_ = d.data;
  Drive(x, [&] { x->OnMessage(h, *pl); });
}

void Engine::HandleInformational(IkeSa& sa, const Header& h, const std::vector<Payload>& pl,
                                 bool encrypted) {
  Count(Ctr::kInfoRx);
  if (encrypted) {
    if (pl.empty() || pl[0].type != PayloadType::kHash) {
      Count(Ctr::kInfoBadHash);
      return;
    }
    std::vector<Payload> rest(pl.begin() + 1, pl.end());
    const Bytes want = QmHash1(sa.choice.prf, sa.keys.skeyid_a.span(), h.message_id, BuildChain(rest));
    if (want != pl[0].body) {
      Count(Ctr::kInfoBadHash);
      return;
    }
  }
  for (const auto& p : pl) {
    if (p.type == PayloadType::kNotify) {
      auto n = ParseNotify(p.body);
      if (!n.ok()) continue;
      Count(Ctr::kNotifiesReceived);
      if (n->type == static_cast<uint16_t>(NotifyType::kDpdRUThere) ||
          n->type == static_cast<uint16_t>(NotifyType::kDpdRUThereAck)) {
        if (encrypted) OnDpd(sa, *n);
        continue;
      }
      if (n->type == static_cast<uint16_t>(NotifyType::kInitialContact) && encrypted) {
        PeerInitialContact(sa);
        continue;
      }
      Log(3, absl::StrCat("Exchange ", sa.id, ": Notification Received - ",
                          NotifyName(n->type)));
      // An error notify during phase 1 ends that negotiation.
      if (n->type < 16384 && sa.state == IkeSaState::kNegotiating) {
        const XchgList xs = ExchangesOf(&sa);
        for (Exchange* x : xs)
          if (!x->finished()) x->Finish(false, absl::StrCat("peer says ", NotifyName(n->type)));
        SetState(sa, IkeSaState::kDeleted);
      }
    } else if (p.type == PayloadType::kDelete && encrypted) {
      auto del = ParseDelete(p.body);
      if (!del.ok()) continue;
      Count(Ctr::kDeletesReceived);
      PeerDeleted(sa, *del);
      return;   // `sa` may be gone
    }
  }
}

void Engine::PeerDeleted(IkeSa& sa, const DeletePayload& d) {
  if (d.protocol == ProtocolId::kIsakmp) {
    Log(3, absl::StrCat("ISAKMP SA ", sa.id, " deleted by peer ", Ip(sa.peer)), "MSG");
    DeleteIkeSa(sa, false, "deleted by the peer");
    return;
  }
  std::vector<uint32_t> gone;
  for (const Bytes& spi : d.spis) {
    if (spi.size() != 4) continue;
    const uint32_t v = Be32(spi.data());
    for (uint32_t h : BundlesOf(sa.peer))
      for (const auto& [p, s] : bundles_.at(h).out_spis)
        if (s == v) gone.push_back(h);
  }
  std::sort(gone.begin(), gone.end());
  gone.erase(std::unique(gone.begin(), gone.end()), gone.end());
  for (uint32_t h : gone) {
    env_.installer->Remove(h);
    EraseBundle(h);
    Count(Ctr::kIpsecSasDeleted);
  }
}

void Engine::PeerInitialContact(IkeSa& sa) {
  // RFC 2407 4.6.3.3: the peer rebooted; everything older we had with that system is
  // stale. Behind a NAT several systems share one address (two road warriors in one
  // hotel), so there the identity tells them apart, not the address.
  auto same_system = [&](const IkeSa& s) {
    if (s.peer != sa.peer) return false;
    if (s.peer_behind_nat || sa.peer_behind_nat) return s.remote_id == sa.remote_id;
    return true;
  };
  std::vector<uint32_t> old_sas;
  for (IkeSa* s : SasOf(sa.peer))
    if (s != &sa && same_system(*s) && s->state == IkeSaState::kEstablished)
      old_sas.push_back(s->id);
  // The bundles are judged by the ISAKMP SA that made them, before any is deleted; one
  // whose ISAKMP SA is gone (expired, or adopted after a restart) by its address alone,
  // unless a NAT hides who it was.
  std::vector<uint32_t> gone;
  for (uint32_t h : BundlesOf(sa.peer)) {
    const Bundle& b = bundles_.at(h);
    auto it = sas_.find(b.isakmp_sa);
    if (it != sas_.end() ? (it->second.get() != &sa && same_system(*it->second))
                         : !sa.peer_behind_nat) {
      gone.push_back(h);
    }
  }
  for (uint32_t id : old_sas) {
    auto it = sas_.find(id);
    if (it != sas_.end()) DeleteIkeSa(*it->second, false, "INITIAL-CONTACT from the peer");
  }
  for (uint32_t h : gone) {
    if (!EraseBundle(h)) continue;  // DeleteIkeSa took it already
    env_.installer->Remove(h);
    Count(Ctr::kIpsecSasDeleted);
  }
}

void Engine::OnDpd(IkeSa& sa, const NotifyPayload& n) {
  if (n.data.size() != 4) return;
  const uint32_t seq = Be32(n.data.data());
  if (n.type == static_cast<uint16_t>(NotifyType::kDpdRUThere)) {
    Count(Ctr::kDpdRequestsRx);
    if (sa.cfg && sa.cfg->dpd == DpdMode::kNone) return;
    SendNotify(sa, NotifyType::kDpdRUThereAck, ProtocolId::kIsakmp, {}, n.data);
    Count(Ctr::kDpdAcksTx);
    return;
  }
  Count(Ctr::kDpdAcksRx);
  if (sa.dpd_outstanding && *sa.dpd_outstanding == seq) {
    sa.dpd_outstanding.reset();
    sa.dpd_tries = 0;
  }
}

// ---------------------------------------------------------------- time

void Engine::Retransmit(Exchange& x) {
  const uint32_t limit = x.sa() && x.sa()->cfg ? x.sa()->cfg->msg_retry_limit : 8;
  if (x.retx_count_ >= limit) {
    x.awaiting_reply_ = false;
    x.next_retx_ = absl::InfiniteFuture();
    x.OnTimeout();
    return;
  }
  ++x.retx_count_;
  Count(Ctr::kRetransmits);
  SendRaw(*x.sa(), x.last_sent_);
  if (!x.sa()->cfg || x.sa()->cfg->msg_backoff)
    x.retx_timeout_ = std::min(x.retx_timeout_ * 2, absl::Seconds(30));
  x.next_retx_ = Now() + x.retx_timeout_;
}

void Engine::DpdTick(IkeSa& sa) {
  if (!sa.established_ok() || sa.cfg == nullptr || sa.cfg->dpd != DpdMode::kBoth || !sa.peer_dpd)
    return;
  const absl::Time now = Now();
  if (sa.dpd_outstanding) {
    const absl::Duration wait = absl::Milliseconds(sa.cfg->msg_timeout_ms);
    if (now - sa.dpd_sent < wait) return;
    if (sa.dpd_tries >= std::max<uint32_t>(sa.cfg->msg_retry_limit, 1)) {
      Count(Ctr::kDpdPeerDead);
      Log(4, absl::StrCat("DPD: peer ", Ip(sa.peer), " is dead; its SAs are removed"), "MSG");
      const auto handles = BundlesOf(sa.peer);   // (a copy: they go)
      for (uint32_t h : handles) {
        env_.installer->Remove(h);
        Count(Ctr::kIpsecSasDeleted);
        EraseBundle(h);
      }
      DeleteIkeSa(sa, false, "dead peer (DPD)");
      return;
    }
  } else if (now - sa.last_peer_activity < absl::Seconds(sa.cfg->dpd_idle_s)) {
    return;
  }
  if (!sa.dpd_outstanding) {
    sa.dpd_seq = sa.dpd_seq == 0 ? (RandomU32() & 0x7fffffff) + 1 : sa.dpd_seq + 1;
    sa.dpd_outstanding = sa.dpd_seq;
    sa.dpd_tries = 0;
  }
  ++sa.dpd_tries;
  sa.dpd_sent = now;
  const uint32_t s = *sa.dpd_outstanding;
  Bytes data{static_cast<uint8_t>(s >> 24), static_cast<uint8_t>(s >> 16),
             static_cast<uint8_t>(s >> 8), static_cast<uint8_t>(s)};
  SendNotify(sa, NotifyType::kDpdRUThere, ProtocolId::kIsakmp, {}, data);
  Count(Ctr::kDpdRequestsTx);
}

void Engine::ExpireSas() {
  const absl::Time now = Now();
  struct Ending {
    uint32_t id;
    std::string why;
  };
  std::vector<Ending> expired;
  std::vector<std::pair<uint32_t, bool>> renew;   // SA id, by its kilobytes
  for (auto& [id, sa] : sas_) {
    // A responder's SA that is not established within half_open_timeout_s goes (a peer
    // that means it answers within seconds), failed or not.
    const absl::Duration half_open = absl::Seconds(std::max<uint32_t>(cfg_->half_open_timeout_s, 1));
    if (!sa->initiator && sa->state != IkeSaState::kEstablished && now - sa->created > half_open) {
      expired.push_back({id, ""});
      continue;
    }
    if (sa->state == IkeSaState::kDeleted) {
      bool busy = false;
      for (Exchange* x : ExchangesOf(sa.get()))
        if (!x->finished()) busy = true;
      // A failed negotiation lingers a little so a retransmitted peer message is
      // recognised, then goes.
      if (!busy && now - sa->created > absl::Seconds(30)) expired.push_back({id, ""});
      continue;
    }
    if (sa->state == IkeSaState::kNegotiating) {
      if (now - sa->created > absl::Seconds(120)) expired.push_back({id, ""});
      continue;
    }
    // XAUTH=CLIENT: a server that never asks (or never answers) would leave the SA
    // unusable until its lifetime ends; it goes, so the next acquire starts afresh.
    if (!sa->xauth_done && sa->cfg && sa->cfg->xauth == XauthRole::kClient) {
      std::string late = XauthExchange::ClientOverdue(*this, *sa);
      if (!late.empty()) {
        Count(Ctr::kXauthTimeout);
        Log(4, late);
        expired.push_back({id, "XAUTH timed out"});
        continue;
      }
    }
    // The lifetime in seconds from establishment and in kilobytes of ISAKMP messages
    // protected (IkeSa::bytes, counted by Seal and HandleEncrypted), whichever ends
    // first; 0 is no limit. Checked every tick, so an SA may pass its byte limit by what
    // one tick carries before it goes.
    const uint32_t life = sa->choice.life_seconds;
    const uint64_t limit = sa->choice.life_kbytes * 1024;
    const absl::Duration age = now - sa->established;
    const bool hard_s = life != 0 && age >= absl::Seconds(life);
    const bool hard_b = limit != 0 && sa->bytes >= limit;
    const bool soft_s = life != 0 && age >= absl::Seconds(uint64_t{life} * 95 / 100);
    const bool soft_b = limit != 0 && sa->bytes >= limit * 95 / 100;
    if (!sa->soft_done && (soft_s || soft_b || hard_s || hard_b)) {
      // (a burst can carry an SA past both byte marks in one tick: renewed all the same)
      sa->soft_done = true;   // new quick modes go to a fresh ISAKMP SA from now on
      // Phase 1 is renewed ahead of its end, by the side that started it, while IPsec
      // SAs with the peer need one for their own rekeys, DPD and DELETEs (REKEY=TRUE).
      if (sa->initiator && sa->cfg && sa->cfg->rekey && HasBundlesWith(sa->peer))
        renew.push_back({id, !soft_s && !hard_s});
    }
    if (hard_s || hard_b)
      expired.push_back({id, hard_s ? "lifetime expired" : "lifetime expired (kilobytes)"});
  }
  for (const auto& [id, by_bytes] : renew) {
    auto it = sas_.find(id);
    if (it == sas_.end() || it->second->cfg == nullptr) continue;
    Log(3, absl::StrCat("ISAKMP SA ", id, " with peer ", Ip(it->second->peer), " nearly expired",
                        by_bytes ? " (kilobytes)" : "", ": renewing phase 1"),
        "MSG");
    StartPhase1(*it->second->cfg, it->second->local, it->second->peer);
  }
  for (const Ending& e : expired) {
    auto it = sas_.find(e.id);
    if (it == sas_.end()) continue;
    if (it->second->state == IkeSaState::kEstablished) {
      DeleteIkeSa(*it->second, true, e.why);
    } else {
      EraseExchangesOf(it->second.get());
      EraseSa(e.id);
    }
  }
}

void Engine::Reap() {
  const absl::Time now = Now();
  for (auto it = xchgs_.begin(); it != xchgs_.end();) {
    Exchange& x = *it->second;
    // Finished exchanges stay a while to answer retransmissions of the peer's last
    // message (phase 1 for the SA's lifetime: they hold its last message).
    if (x.finished() && x.Phase() != 1 && now - x.started() > absl::Seconds(60)) {
      it = xchgs_.erase(it);
      continue;
    }
    ++it;
  }
  for (auto& [h, b] : bundles_) {
    if (b.activate_at && now >= *b.activate_at) {
      b.activate_at.reset();
      env_.installer->Activate(h);
    }
  }
  for (auto it = bundles_.begin(); it != bundles_.end();) {
    Bundle& b = it->second;
    if (b.remove_at && now >= *b.remove_at) {
      // Tell the peer, under the newest ISAKMP SA with it, which inbound SAs went.
      IkeSa* sa = UsableSa(b.peer);
      if (sa && sa->cfg && sa->cfg->send_deletes) {
        for (const auto& [p, spi] : b.in_spis) {
          if (p == control::SaProtocol::kComp) continue;
          Bytes s{static_cast<uint8_t>(spi >> 24), static_cast<uint8_t>(spi >> 16),
                  static_cast<uint8_t>(spi >> 8), static_cast<uint8_t>(spi)};
          SendDelete(*sa, p == control::SaProtocol::kAh ? ProtocolId::kAh : ProtocolId::kEsp, {s});
        }
      }
      env_.installer->Remove(it->first);
      Count(Ctr::kIpsecSasDeleted);
      UnindexBundle(it->first, it->second);
      it = bundles_.erase(it);
      continue;
    }
    ++it;
  }
}

void Engine::Tick() {
  const absl::Time now = Now();
  std::vector<uint32_t> due;
  for (auto& [id, x] : xchgs_)
    if (x->awaiting_reply_ && !x->finished() && now >= x->next_retx_) due.push_back(id);
  for (uint32_t id : due) {
    auto it = xchgs_.find(id);
    if (it != xchgs_.end()) Retransmit(*it->second);
  }
  std::vector<uint32_t> ids;
  for (auto& [id, sa] : sas_) ids.push_back(id);
  for (uint32_t id : ids) {
    auto it = sas_.find(id);
    if (it != sas_.end()) DpdTick(*it->second);
  }
  ExpireSas();
  Reap();
  Prenegotiate();
  if (!pending_.empty()) RunPending();
  if (env_.check_indexes) CheckIndexesOrDie("Tick");
}

// ---------------------------------------------------------------- indexes
//
// Each SaList holds its SAs in ascending id order, so its front is what a scan of sas_
// (a std::map by id) would meet first; each exchange list is in exchange id order, as a
// scan of xchgs_ would meet them. Lists are short (one entry but for colliding cookies).

void Engine::ListAdd(SaList& l, IkeSa* sa) {
  auto at = std::upper_bound(l.begin(), l.end(), sa->id,
                             [](uint32_t id, const IkeSa* s) { return id < s->id; });
  l.insert(at, sa);
}

void Engine::ListRemove(SaList& l, const IkeSa* sa) {
  l.erase(std::remove(l.begin(), l.end(), sa), l.end());
}

template <typename Map, typename Key>
void Engine::MapRemove(Map& m, const Key& k, const IkeSa* sa) {
  auto it = m.find(k);
  if (it == m.end()) return;
  ListRemove(it->second, sa);
  if (it->second.empty()) m.erase(it);
}

void Engine::IndexSa(IkeSa* sa) {
  ListAdd(sa_by_cookies_[CookiePair{sa->icookie, sa->rcookie}], sa);
  if (sa->initiator && sa->rcookie == 0) ListAdd(sa_awaiting_rcookie_[sa->icookie], sa);
  if (!sa->initiator) ListAdd(responder_sa_by_icookie_[CookiePeer{sa->icookie, sa->peer}], sa);
  ListAdd(sa_by_peer_[sa->peer], sa);
  if (IsHalfOpen(*sa) && half_open_.insert(sa).second) ++half_open_by_peer_[sa->peer];
}

void Engine::UnindexSa(IkeSa* sa) {
  MapRemove(sa_by_cookies_, CookiePair{sa->icookie, sa->rcookie}, sa);
  if (sa->initiator && sa->rcookie == 0) MapRemove(sa_awaiting_rcookie_, sa->icookie, sa);
  if (!sa->initiator) MapRemove(responder_sa_by_icookie_, CookiePeer{sa->icookie, sa->peer}, sa);
  MapRemove(sa_by_peer_, sa->peer, sa);
  if (half_open_.erase(sa) != 0) {
    auto it = half_open_by_peer_.find(sa->peer);
    if (it != half_open_by_peer_.end() && --it->second == 0) half_open_by_peer_.erase(it);
  }
}

void Engine::SetCookies(IkeSa& sa, uint64_t icookie, uint64_t rcookie) {
  if (sa.icookie == icookie && sa.rcookie == rcookie) return;
  UnindexSa(&sa);
  sa.icookie = icookie;
  sa.rcookie = rcookie;
  IndexSa(&sa);
}

void Engine::SetState(IkeSa& sa, IkeSaState state) {
  const bool was = IsHalfOpen(sa);
  sa.state = state;
  const bool is = IsHalfOpen(sa);
  if (was == is) return;
  if (is) {
    if (half_open_.insert(&sa).second) ++half_open_by_peer_[sa.peer];
  } else if (half_open_.erase(&sa) != 0) {
    auto it = half_open_by_peer_.find(sa.peer);
    if (it != half_open_by_peer_.end() && --it->second == 0) half_open_by_peer_.erase(it);
  }
}

void Engine::EraseSa(uint32_t id) {
  auto it = sas_.find(id);
  if (it == sas_.end()) return;
  UnindexSa(it->second.get());
  sas_.erase(it);
}

void Engine::EraseExchangesOf(const IkeSa* sa) {
  std::vector<uint32_t> ids;
  for (const Exchange* x : ExchangesOf(sa)) ids.push_back(x->id());
  for (uint32_t id : ids) xchgs_.erase(id);   // each leaves xchgs_by_sa_ as it goes
}

const Engine::XchgList& Engine::ExchangesOf(const IkeSa* sa) const {
  static const XchgList kNone;
  auto it = xchgs_by_sa_.find(sa);
  return it == xchgs_by_sa_.end() ? kNone : it->second;
}

void Engine::AddBundle(uint32_t handle, Bundle b) {
  if (auto old = bundles_.find(handle); old != bundles_.end()) UnindexBundle(handle, old->second);
  auto& l = bundles_by_peer_[b.peer];
  l.insert(std::upper_bound(l.begin(), l.end(), handle), handle);
  bundles_[handle] = std::move(b);
}

void Engine::UnindexBundle(uint32_t handle, const Bundle& b) {
  auto it = bundles_by_peer_.find(b.peer);
  if (it == bundles_by_peer_.end()) return;
  auto& l = it->second;
  l.erase(std::remove(l.begin(), l.end(), handle), l.end());
  if (l.empty()) bundles_by_peer_.erase(it);
}

bool Engine::EraseBundle(uint32_t handle) {
  auto it = bundles_.find(handle);
  if (it == bundles_.end()) return false;
  UnindexBundle(handle, it->second);
  bundles_.erase(it);
  return true;
}

const Engine::HandleList& Engine::BundlesOf(uint32_t peer) const {
  static const HandleList kNone;
  auto it = bundles_by_peer_.find(peer);
  return it == bundles_by_peer_.end() ? kNone : it->second;
}

const Engine::SaList& Engine::SasOf(uint32_t peer) const {
  static const SaList kNone;
  auto it = sa_by_peer_.find(peer);
  return it == sa_by_peer_.end() ? kNone : it->second;
}

namespace {

// An index as SA ids per key, for comparison with what a scan builds.
template <typename Map>
std::map<typename Map::key_type, std::vector<uint32_t>> IdsOf(const Map& m) {
  std::map<typename Map::key_type, std::vector<uint32_t>> out;
  for (const auto& [k, l] : m) {
    auto& ids = out[k];
    for (const IkeSa* s : l) ids.push_back(s->id);
  }
  return out;
}

}  // namespace

std::string Engine::CheckIndexes() const {
  // What the indexes must hold, built the slow way from sas_ (in id order).
  std::map<CookiePair, std::vector<uint32_t>> by_cookies;
  std::map<uint64_t, std::vector<uint32_t>> awaiting;
  std::map<CookiePeer, std::vector<uint32_t>> responders;
  std::map<uint32_t, std::vector<uint32_t>> by_peer;
  std::map<uint32_t, uint32_t> half_open_by_peer;
  std::vector<uint32_t> half_open;
  for (const auto& [id, s] : sas_) {
    if (s->id != id) return absl::StrCat("SA ", id, " carries id ", s->id);
    by_cookies[{s->icookie, s->rcookie}].push_back(id);
    if (s->initiator && s->rcookie == 0) awaiting[s->icookie].push_back(id);
    if (!s->initiator) responders[{s->icookie, s->peer}].push_back(id);
    by_peer[s->peer].push_back(id);
    if (IsHalfOpen(*s)) {
      half_open.push_back(id);
      ++half_open_by_peer[s->peer];
    }
  }
  if (IdsOf(sa_by_cookies_) != by_cookies) return "SAs by cookies differ from a scan";
  if (IdsOf(sa_awaiting_rcookie_) != awaiting) return "SAs awaiting the responder cookie differ";
  if (IdsOf(responder_sa_by_icookie_) != responders)
    return "responder SAs by (initiator cookie, peer) differ";
  if (IdsOf(sa_by_peer_) != by_peer) return "SAs by peer differ";
  std::vector<uint32_t> have;
  for (const IkeSa* s : half_open_) have.push_back(s->id);
  std::sort(have.begin(), have.end());
  if (have != half_open)
    return absl::StrCat("half-open SAs: ", have.size(), " indexed, ", half_open.size(), " by scan");
  if (std::map<uint32_t, uint32_t>(half_open_by_peer_.begin(), half_open_by_peer_.end()) !=
      half_open_by_peer)
    return "half-open counts per address differ";
  // Every SA pointer in the indexes is a live SA of sas_ (ids alone could hide a stale one).
  for (const auto& [k, l] : sa_by_peer_)
    for (const IkeSa* s : l) {
      auto it = sas_.find(s->id);
      if (it == sas_.end() || it->second.get() != s) return "a stale SA pointer is indexed";
    }
  // The exchanges of each SA, in id order, as xchgs_ holds them.
  std::map<const IkeSa*, std::vector<const Exchange*>> xs;
  for (const auto& [id, x] : xchgs_) {
    if (x->id() != id) return absl::StrCat("exchange ", id, " carries id ", x->id());
    xs[x->sa()].push_back(x.get());
  }
  size_t lists = 0;
  for (const auto& [sa, l] : xchgs_by_sa_) {
    ++lists;
    auto it = xs.find(sa);
    if (it == xs.end() || !std::equal(l.begin(), l.end(), it->second.begin(), it->second.end()))
      return "exchanges by SA differ from a scan";
  }
  if (lists != xs.size()) return "an SA's exchanges are missing from the index";
  std::map<uint32_t, std::vector<uint32_t>> bundles;
  for (const auto& [h, b] : bundles_) bundles[b.peer].push_back(h);
  std::map<uint32_t, std::vector<uint32_t>> have_bundles;
  for (const auto& [peer, l] : bundles_by_peer_) have_bundles[peer].assign(l.begin(), l.end());
  if (have_bundles != bundles) return "bundles by peer differ from a scan";
  // The configuration lookups against scans of the configuration.
  auto scan_peer = [&](uint32_t a) -> const PeerConfig* {
    for (const auto& p : cfg_->peers)
      if (!p.any && p.peer == a) return &p;
    for (const auto& p : cfg_->peers)
      if (p.any) return &p;
    return nullptr;
  };
  for (const auto& p : cfg_->peers) {
    if (FindPeerByAddress(p.peer) != scan_peer(p.peer)) return "FindPeerByAddress differs";
    const PeerConfig* last = nullptr;
    for (const auto& q : cfg_->peers)
      if (q.name == p.name) last = &q;
    auto it = peer_by_name_.find(p.name);
    if (it == peer_by_name_.end() || it->second != last) return "peers by name differ";
  }
  for (const auto& [id, s] : sas_)
    if (FindPeerByAddress(s->peer) != scan_peer(s->peer)) return "FindPeerByAddress differs";
  for (const auto& p : cfg_->policies) {
    const Phase2Policy* first = nullptr;
    for (const auto& q : cfg_->policies)
      if (q.policy_id == p.policy_id && first == nullptr) first = &q;
    if (FindPolicy(p.policy_id) != first) return "FindPolicy differs";
    uint32_t local = cfg_->local_addrs.empty() ? 0 : cfg_->local_addrs.front();
    for (const auto& q : cfg_->policies)
      if (q.view.peer == p.view.peer && q.local != 0) {
        local = q.local;
        break;
      }
    if (LocalFor(p.view.peer) != local) return "LocalFor differs";
  }
  return "";
}

void Engine::CheckIndexesOrDie(const char* where) const {
  const std::string why = CheckIndexes();
  if (why.empty()) return;
  fprintf(stderr, "arsec IKE engine: lookup index out of step after %s: %s\n", where, why.c_str());
  std::abort();
}

// ---------------------------------------------------------------- status

std::vector<IsakmpSaInfo> Engine::IsakmpSas() const {
  std::vector<IsakmpSaInfo> out;
  const absl::Time now = Now();
  for (const auto& [id, sa] : sas_) {
    if (sa->state != IkeSaState::kEstablished) continue;
    IsakmpSaInfo i;
    i.id = sa->id;
    i.peer = sa->peer;
    i.peer_port = sa->peer_port;
    i.local = sa->local;
    i.policy = sa->policy;
    i.encalg = EncName(sa->choice);
    i.hashalg = HashName(sa->choice.prf);
    i.mode = sa->cfg && sa->cfg->aggressive ? "AGGRESSIVE" : "MAIN";
    for (const Exchange* x : ExchangesOf(sa.get()))
      if (x->Phase() == 1) i.mode = x->TypeName();
    i.auth = BaseAuthMethod(sa->choice.auth) == AuthMethod::kRsaSig ? "RSASIG" : "PRESHARED";
    i.group = sa->choice.group;
    i.hard_kbytes = sa->choice.life_kbytes;
    i.soft_kbytes = sa->choice.life_kbytes * 95 / 100;
    i.used_bytes = sa->bytes;
    i.hard_seconds = sa->choice.life_seconds;
    i.soft_seconds = static_cast<uint32_t>(uint64_t{sa->choice.life_seconds} * 95 / 100);
    i.used_seconds = static_cast<uint32_t>(absl::ToInt64Seconds(now - sa->established));
    i.local_id = IdText(sa->local_id);
    i.remote_id = IdText(sa->remote_id);
    i.nat_t = sa->floated;
    i.local_behind_nat = sa->local_behind_nat;
    i.peer_behind_nat = sa->peer_behind_nat;
    i.dpd = sa->peer_dpd;
    i.state = sa->soft_done ? "EXPIRING" : "ESTABLISHED";
    i.icookie = sa->icookie;
    i.rcookie = sa->rcookie;
    if (!sa->xauth_user.empty())
      i.xauth = (sa->cfg && sa->cfg->xauth == XauthRole::kClient ? "CLIENT " : "SERVER ") +
                sa->xauth_user;
    out.push_back(std::move(i));
  }
  return out;
}

std::vector<ExchangeInfo> Engine::Exchanges() const {
  std::vector<ExchangeInfo> out;
  for (const auto& [id, x] : xchgs_) {
    if (x->finished()) continue;
    ExchangeInfo i;
    i.id = x->id();
    i.phase = x->Phase();
    i.state = x->StateName();
    i.peer = x->sa() ? x->sa()->peer : 0;
    i.type = x->TypeName();
    i.initiator = x->initiator();
    i.retransmits = x->retransmits();
    out.push_back(std::move(i));
  }
  return out;
}

IsakmpCounters Engine::Counters() const {
  IsakmpCounters c;
  for (const auto& n : kCtrNames) {
    if (c.groups.empty() || c.groups.back().name != n.group) c.groups.push_back({n.group, {}});
    c.groups.back().values.push_back({n.name, ctr_[static_cast<size_t>(n.c)]});
  }
  return c;
}

void Engine::ResetSas() {
  std::vector<uint32_t> ids;
  for (auto& [id, sa] : sas_) ids.push_back(id);
  for (uint32_t id : ids) {
    auto it = sas_.find(id);
    if (it != sas_.end()) DeleteIkeSa(*it->second, true, "RESET ISAKMP");
  }
  xchgs_.clear();
  pending_.clear();
}

void Engine::ResetCounters() { std::fill(std::begin(ctr_), std::end(ctr_), 0); }

std::map<uint32_t, uint32_t> Engine::Bundles() const {
  std::map<uint32_t, uint32_t> out;
  for (const auto& [h, b] : bundles_) out[h] = b.policy_id;
  return out;
}

}  // namespace arsec::ike
