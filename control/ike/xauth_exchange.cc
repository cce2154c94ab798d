#include "control/ike/xauth_exchange.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "control/ike/ike_crypto.h"
#include "control/ike/isakmp_wire.h"

namespace arsec::ike {
namespace {

std::string Ip(uint32_t a) {
  return absl::StrCat(a >> 24, ".", (a >> 16) & 255, ".", (a >> 8) & 255, ".", a & 255);
}

uint16_t Attr(CfgAttr a) { return static_cast<uint16_t>(a); }

bool IsXauthAttr(uint16_t t) {
  return t >= Attr(CfgAttr::kXauthType) && t <= Attr(CfgAttr::kXauthStatus);
}

const Attribute* FindAttr(const AttrPayload& a, CfgAttr t) {
  for (const auto& x : a.attrs)
    if (x.type == Attr(t)) return &x;
  return nullptr;
}

std::string Text(const Bytes& b) { return std::string(b.begin(), b.end()); }

// A user name for a log line: printable characters only.
std::string Printable(const std::string& s) {
  std::string out;
  for (char c : s) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out;
}

void Wipe(Bytes& b) {
  if (!b.empty()) OPENSSL_cleanse(b.data(), b.size());
}

}  // namespace

XauthExchange::XauthExchange(Engine& e, IkeSa* sa, bool server, uint32_t message_id)
    : Exchange(e, sa, ExchangeType::kTransaction, server, message_id),
      server_(server),
      st_(server ? St::kStart : St::kWaitRequest) {
  iv_ = Phase2Iv(sa->choice.prf, sa->choice.cipher, sa->p1_last_block, message_id);
}

std::string XauthExchange::StateName() const {
  switch (st_) {
    case St::kStart: return "START";
    case St::kWaitReply: return "WAIT_REPLY";
    case St::kWaitAck: return "WAIT_ACK";
    case St::kWaitRequest: return "WAIT_REQUEST";
    case St::kWaitSet: return "WAIT_SET";
    case St::kDone: return "DONE";
    case St::kFailed: return "FAILED";
  }
  return "?";
}

void XauthExchange::MoveTo(uint32_t message_id) {
  used_ids_.push_back(message_id_);
  message_id_ = message_id;
}

void XauthExchange::SendAttr(const AttrPayload& a, bool last) {
  std::vector<Payload> pl{Payload{PayloadType::kAttr, BuildAttr(a)}};
  const Bytes hash =
      QmHash1(sa_->choice.prf, sa_->keys.skeyid_a.span(), message_id_, BuildChain(pl));
  pl.insert(pl.begin(), Payload{PayloadType::kHash, hash});
  Send(pl, true, last);
  Wipe(pl[1].body);   // a REPLY's body holds the password
}

// ---------------------------------------------------------------- server

void XauthExchange::Start() {
  e_.Count(Ctr::kXauthStarted);
  e_.Log(3, absl::StrCat("Exchange ", id_, ": XAUTH started with peer ", Ip(sa_->peer),
                         " (server)"));
  identifier_ = static_cast<uint16_t>(e_.RandomU32());
  AttrPayload req;
  req.type = CfgType::kRequest;
  req.identifier = identifier_;
  req.attrs.push_back(Attribute::Basic(Attr(CfgAttr::kXauthType), 0));   // generic
  req.attrs.push_back(Attribute::Variable(Attr(CfgAttr::kXauthUserName), {}));
  req.attrs.push_back(Attribute::Variable(Attr(CfgAttr::kXauthUserPassword), {}));
  st_ = St::kWaitReply;
  SendAttr(req, false);
}

void XauthExchange::ServerGotReply(const AttrPayload& a) {
  if (a.type != CfgType::kReply) return;   // not the answer to our REQUEST
  const Attribute* name = FindAttr(a, CfgAttr::kXauthUserName);
  const Attribute* pass = FindAttr(a, CfgAttr::kXauthUserPassword);
  user_ = name ? Text(name->value) : "";
  bool ok = false;
  std::string why;
  if (name == nullptr || pass == nullptr || user_.empty()) {
    why = "the client sent no user name or password";
  } else if (!e_.config().verify_user) {
    why = "no user database";
  } else {
    std::string password = Text(pass->value);
    ok = e_.config().verify_user(user_, password);
    if (!password.empty()) OPENSSL_cleanse(password.data(), password.size());
    if (!ok) why = "wrong user name or password";
  }
  status_ok_ = ok;
  if (!ok) {
    e_.Count(Ctr::kXauthFailed);
    e_.Log(4, absl::StrCat("XAUTH: user ", Printable(user_), " from peer ", Ip(sa_->peer),
                           " not authenticated: ", why));
  }
  // The verdict goes in a new transaction of its own.
  MoveTo(e_.NewMessageId());
  iv_ = Phase2Iv(sa_->choice.prf, sa_->choice.cipher, sa_->p1_last_block, message_id_);
  identifier_ = static_cast<uint16_t>(e_.RandomU32());
  AttrPayload set;
  set.type = CfgType::kSet;
  set.identifier = identifier_;
  set.attrs.push_back(Attribute::Basic(Attr(CfgAttr::kXauthStatus), ok ? 1 : 0));
  st_ = St::kWaitAck;
  SendAttr(set, false);
}

void XauthExchange::ServerGotAck(const AttrPayload& a) {
  if (a.type != CfgType::kAck) return;
  if (status_ok_) return Succeed();
  Failed(absl::StrCat("XAUTH: user ", Printable(user_), " refused"));
}

// ---------------------------------------------------------------- client

void XauthExchange::ClientGotRequest(const AttrPayload& a) {
  identifier_ = a.identifier;
  AttrPayload reply;
  reply.type = CfgType::kReply;
  reply.identifier = a.identifier;
  const bool xauth = std::any_of(a.attrs.begin(), a.attrs.end(),
                                 [](const Attribute& x) { return IsXauthAttr(x.type); });
  if (!xauth) {
    // Mode Config asking for settings we do not take: an empty REPLY.
    st_ = St::kDone;
    SendAttr(reply, true);
    Finish(true);
    return;
  }
  const PeerConfig* c = sa_->cfg;
  if (st_ == St::kWaitRequest) {
    e_.Count(Ctr::kXauthStarted);
    e_.Log(3, absl::StrCat("Exchange ", id_, ": XAUTH started with peer ", Ip(sa_->peer),
                           " (client)"));
  }
  if (const Attribute* m = FindAttr(a, CfgAttr::kXauthMessage))
    e_.Debug(kDebugTrace, absl::StrCat("ISAKMP: XAUTH message from ", Ip(sa_->peer), ": ",
                                       Printable(Text(m->value))));
  if (c == nullptr || c->xauth != XauthRole::kClient || c->xauth_name.empty() ||
      c->xauth_pass.empty()) {
    // Answer empty so the server decides (as it will: no).
    e_.Log(4, absl::StrCat("XAUTH: peer ", Ip(sa_->peer), " asks for a user name and password"
                           " but the ISAKMP policy has no XAUTHNAME/XAUTHPASS"));
    st_ = St::kWaitSet;
    replied_ = e_.Now();
    SendAttr(reply, true);
    return;
  }
  for (const Attribute& x : a.attrs) {
    switch (static_cast<CfgAttr>(x.type)) {
      case CfgAttr::kXauthType:
        reply.attrs.push_back(Attribute::Basic(x.type, 0));   // generic is all we do
        break;
      case CfgAttr::kXauthUserName:
        reply.attrs.push_back(Attribute::Variable(x.type, Bytes(c->xauth_name.begin(),
                                                                c->xauth_name.end())));
        break;
      case CfgAttr::kXauthUserPassword:
        reply.attrs.push_back(Attribute::Variable(x.type, c->xauth_pass.bytes()));
        break;
      default:
        break;   // MESSAGE, DOMAIN ...: nothing to send back
    }
  }
  st_ = St::kWaitSet;
  replied_ = e_.Now();
  SendAttr(reply, true);
  for (Attribute& x : reply.attrs) Wipe(x.value);
}

void XauthExchange::ClientGotSet(const AttrPayload& a) {
  AttrPayload ack;
  ack.type = CfgType::kAck;
  ack.identifier = a.identifier;
  const Attribute* status = FindAttr(a, CfgAttr::kXauthStatus);
  if (status == nullptr) {
    // Mode Config pushing settings: acknowledged by type, not applied.
    for (const Attribute& x : a.attrs) ack.attrs.push_back(Attribute::Variable(x.type, {}));
    SendAttr(ack, true);
    if (st_ == St::kWaitRequest) {
      st_ = St::kDone;
      Finish(true);
    }
    return;
  }
  ack.attrs.push_back(Attribute::Variable(Attr(CfgAttr::kXauthStatus), {}));
  SendAttr(ack, true);
  const std::optional<uint64_t> v = status->AsInt();
  if (v && *v == 1) return Succeed();
  e_.Count(Ctr::kXauthFailed);
  const std::string name = sa_->cfg ? Printable(sa_->cfg->xauth_name) : "";
  Failed(absl::StrCat("XAUTH: peer ", Ip(sa_->peer), " refused user ", name));
}

// ---------------------------------------------------------------- both

void XauthExchange::Succeed() {
  st_ = St::kDone;
  awaiting_reply_ = false;
  sa_->xauth_done = true;
  e_.Count(Ctr::kXauthOk);
  if (server_) {
    sa_->xauth_user = user_;
    e_.Log(3, absl::StrCat("XAUTH: user ", Printable(user_), " authenticated (peer ",
                           Ip(sa_->peer), ")"));
  } else {
    sa_->xauth_user = sa_->cfg ? sa_->cfg->xauth_name : "";
    e_.Log(3, absl::StrCat("XAUTH: authenticated to peer ", Ip(sa_->peer), " as user ",
                           Printable(sa_->xauth_user)));
  }
  Finish(true);
  e_.RunPending();   // quick modes that waited for XAUTH
}

void XauthExchange::Failed(const std::string& why) {
  st_ = St::kFailed;
  Finish(false, why);
  // The server removes the ISAKMP SA (and tells the client); the client drops its side.
  // This object goes with it: nothing after this line.
  e_.DeleteIkeSa(*sa_, server_, "XAUTH failed");
}

void XauthExchange::OnTimeout() {
  if (!server_ || st_ == St::kDone || st_ == St::kFailed) return Exchange::OnTimeout();
  if (st_ == St::kWaitReply) e_.Count(Ctr::kXauthFailed);
  Failed(absl::StrCat("XAUTH: no answer from peer ", Ip(sa_->peer)));
}

void XauthExchange::OnMessage(const Header& h, const std::vector<Payload>& pl) {
  // HASH(1) = prf(SKEYID_a, M-ID | the rest of the message).
  if (pl.empty() || pl[0].type != PayloadType::kHash) {
    e_.Count(Ctr::kRxMalformed);
    return;
  }
  const std::vector<Payload> rest(pl.begin() + 1, pl.end());
  const Bytes want =
      QmHash1(sa_->choice.prf, sa_->keys.skeyid_a.span(), h.message_id, BuildChain(rest));
  if (pl[0].body.size() != want.size() ||
      CRYPTO_memcmp(pl[0].body.data(), want.data(), want.size()) != 0) {
    e_.Count(Ctr::kRxMalformed);
    e_.Debug(kDebugTrace, absl::StrCat("ISAKMP: XAUTH message from ", Ip(sa_->peer),
                                       " with a bad HASH dropped"));
    return;
  }
  const Payload* ap = nullptr;
  for (const auto& p : rest)
    if (p.type == PayloadType::kAttr) ap = &p;
  if (ap == nullptr) {
    e_.Count(Ctr::kRxMalformed);
    return;
  }
  auto a = ParseAttr(ap->body);
  if (!a.ok()) {
    e_.Count(Ctr::kRxMalformed);
    return;
  }
  switch (st_) {
    case St::kWaitReply: return ServerGotReply(*a);
    case St::kWaitAck: return ServerGotAck(*a);
    case St::kWaitRequest:
    case St::kWaitSet:
      if (a->type == CfgType::kRequest) return ClientGotRequest(*a);
      if (a->type == CfgType::kSet) return ClientGotSet(*a);
      return;
    case St::kStart:
    case St::kDone:
    case St::kFailed:
      return;
  }
}

std::string XauthExchange::ClientOverdue(const Engine& e, const IkeSa& sa) {
  const absl::Time now = e.Now();
  const int64_t wait_s = absl::ToInt64Seconds(kClientWait);
  for (const auto& [id, x] : e.xchgs_) {
    if (x->sa() != &sa || x->type() != ExchangeType::kTransaction || x->finished()) continue;
    const auto* xa = static_cast<const XauthExchange*>(x.get());
    if (xa->server_ || xa->st_ != St::kWaitSet) continue;
    // We answered a REQUEST: the verdict is due.
    if (now - xa->replied_ < kClientWait) return "";
    return absl::StrCat("XAUTH: no status from peer ", Ip(sa.peer), " within ", wait_s,
                        " s of our reply");
  }
  if (now - sa.established < kClientWait) return "";
  return absl::StrCat("XAUTH: no request from peer ", Ip(sa.peer), " within ", wait_s, " s");
}

Exchange* XauthExchange::Route(Engine& e, IkeSa& sa, uint32_t message_id) {
  if (sa.state != IkeSaState::kEstablished) return nullptr;   // only after phase 1
  XauthExchange* open = nullptr;
  for (auto& [id, x] : e.xchgs_) {
    if (x->sa() != &sa || x->type() != ExchangeType::kTransaction) continue;
    auto* xa = static_cast<XauthExchange*>(x.get());
    // A message id this SA's dialogue has already left: a late repeat.
    if (std::find(xa->used_ids_.begin(), xa->used_ids_.end(), message_id) != xa->used_ids_.end())
      return nullptr;
    if (!xa->finished()) open = xa;
  }
  if (open != nullptr) {
    // Only a client moves on by the peer's choice: to the server's SET.
    if (open->server_ || open->st_ != St::kWaitSet) return nullptr;
    open->MoveTo(message_id);
    open->last_received_.clear();
    return open;
  }
  if (sa.cfg == nullptr || sa.cfg->xauth != XauthRole::kClient) return nullptr;
  auto x = std::make_unique<XauthExchange>(e, &sa, false, message_id);
  XauthExchange* raw = x.get();
  e.xchgs_[raw->id()] = std::move(x);
  return raw;
}

}  // namespace arsec::ike
