// XAUTH (draft-beaulieu-ike-xauth-02): a user name and password checked after phase 1
// and before any quick mode, carried by the Transaction exchange (type 6) and attribute
// payloads of draft-dukes-ike-mode-cfg-02.
//
// The server (ISAKMP policy XAUTH=SERVER) starts as soon as phase 1 is up:
//   server REQUEST(XAUTH-TYPE generic, USER-NAME, USER-PASSWORD)   message id m1
//   client REPLY(USER-NAME=client1, USER-PASSWORD=...)              m1
//   server SET(STATUS=1 or 0)                                       m2
//   client ACK(STATUS)                                              m2
// Every message is HASH(1)-protected (prf(SKEYID_a, M-ID | attribute payload), the form
// of informational exchanges) and encrypted with a CBC state that starts at
// Phase2Iv(M-ID), so each request/answer pair is a small exchange of its own. One object
// holds one side of the whole dialogue and moves from m1 to m2 (Route); message ids it
// has left behind are ignored.
//
// Success sets IkeSa::xauth_done (quick mode may run: Engine::RunPending) and logs
// "XAUTH: user client1 authenticated"; a wrong password makes the server send STATUS=0,
// log, and delete the ISAKMP SA once the client acknowledged (or stopped answering).
// The password never appears in a log line or in any output but the encrypted REPLY.
//
// A client (XAUTH=CLIENT) waits at most kClientWait after phase 1 for the server's
// REQUEST, and as long again after its REPLY for the verdict (SET): a server that never
// asks would otherwise hold the SA, unusable for quick mode, until its lifetime ends. The
// engine then logs "XAUTH: no request from peer 2.2.2.2 within 30 s", counts an XAUTH
// timeout and deletes the ISAKMP SA (with a DELETE when SENDDELETES), so that the next
// acquire starts again (Engine::ExpireSas asks ClientOverdue every tick).
//
// A client also answers what a Mode Config peer (strongSwan with address pools) may send
// in the same exchange: a REQUEST without XAUTH attributes gets an empty REPLY, a SET
// without XAUTH-STATUS an ACK naming the attributes it took (none are applied).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "control/ike/engine.h"

namespace arsec::ike {

class XauthExchange : public Exchange {
 public:
  // `server`: we ask for the password (we send the first message, with a new message
  // id); else we are the client answering the server's REQUEST of `message_id`.
  XauthExchange(Engine& e, IkeSa* sa, bool server, uint32_t message_id);
  // Server: sends the REQUEST.
  void Start();
  void OnMessage(const Header& h, const std::vector<Payload>& payloads) override;
  std::string StateName() const override;
  const char* TypeName() const override { return "XAUTH"; }
  void OnTimeout() override;

  // The engine calls this for an encrypted Transaction message of `sa` whose message id
  // no exchange holds: the SA's unfinished XAUTH exchange moves to that id (the server's
  // SET after the REPLY, the client's ACK after the SET), or, on a client policy, a new
  // client exchange starts for the server's REQUEST. nullptr: drop the message.
  static Exchange* Route(Engine& e, IkeSa& sa, uint32_t message_id);

  // How long a client waits for the server's REQUEST after phase 1, and for its SET
  // after the REPLY.
  static constexpr absl::Duration kClientWait = absl::Seconds(30);
  // For an established SA whose client side of XAUTH is not done: the log line saying
  // what the server failed to send in time, or "" while it still may.
  static std::string ClientOverdue(const Engine& e, const IkeSa& sa);

 private:
  enum class St : uint8_t { kStart, kWaitReply, kWaitAck, kWaitRequest, kWaitSet, kDone, kFailed };
  void ServerGotReply(const AttrPayload& a);
  void ServerGotAck(const AttrPayload& a);
  void ClientGotRequest(const AttrPayload& a);
  void ClientGotSet(const AttrPayload& a);
  // Sends HASH | ATTR under the current message id (new CBC state when `fresh`).
  void SendAttr(const AttrPayload& a, bool last);
  void MoveTo(uint32_t message_id);
  void Succeed();
  // Ends the dialogue; the server then deletes the ISAKMP SA (this object with it), so
  // nothing may touch members after calling it.
  void Failed(const std::string& why);
  bool server_;
  St st_;
  uint16_t identifier_ = 0;
  bool status_ok_ = false;            // server: the verdict sent in SET
  std::string user_;                  // the user name (never the password)
  std::vector<uint32_t> used_ids_;    // message ids this dialogue has left
  absl::Time replied_ = absl::InfinitePast();   // client: when the REPLY went
};

}  // namespace arsec::ike
