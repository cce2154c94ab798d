// One ISAKMP (phase 1) SA as the engine keeps it: who the peer is, the algorithms and
// keys phase 1 agreed, the CBC state phase 2 starts from, NAT-T and DPD state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "control/ike/ike_config.h"
#include "control/ike/ike_crypto.h"
#include "control/ike/proposal.h"

namespace arsec::ike {

enum class IkeSaState : uint8_t { kNegotiating, kEstablished, kDeleted };

struct IkeSa {
  uint32_t id = 0;                   // SHOW ISAKMP SA id
  uint64_t icookie = 0, rcookie = 0;
  bool initiator = true;             // we sent the first message of phase 1
  IkeSaState state = IkeSaState::kNegotiating;
  std::string policy;                // ISAKMP policy name
  const PeerConfig* cfg = nullptr;   // valid until the next Configure (re-resolved then)

  // Addresses and ports as the datagrams carry them (after NAT-T floating: 4500).
  uint32_t local = 0, peer = 0;
  uint16_t local_port = 500, peer_port = 500;
  bool nat_t_vid = false;            // the peer sent an RFC 3947 / draft vendor id
  bool nat_t_rfc = true;             // RFC 3947 payload numbers (else the draft's)
  bool local_behind_nat = false, peer_behind_nat = false;
  bool floated = false;              // moved to port 4500
  bool peer_dpd = false;             // the peer sent the RFC 3706 vendor id
  bool peer_xauth = false;

  Phase1Choice choice;               // negotiated algorithms
  Phase1Keys keys;
  Bytes p1_last_block;               // the last CBC block of phase 1 (phase 2 IVs)
  Identity local_id, remote_id;

  absl::Time created;
  absl::Time established;
  absl::Time last_peer_activity;     // DPD: any valid message from the peer
  // Bytes protected, for EXPIRYKBYTES (RFC 2407 4.5 "kilobytes of traffic protected"):
  // the whole length (header and ciphertext) of every encrypted ISAKMP message under
  // this SA, each counted once: when Engine::Seal encrypts it (retransmissions resend
  // the same ciphertext and are not counted) and when Engine::HandleEncrypted decrypts
  // one into a well-formed payload chain. Phase 1's own encrypted messages count too.
  uint64_t bytes = 0;
  bool soft_done = false;            // the soft lifetime (seconds or kilobytes) acted on
  uint32_t dpd_seq = 0;              // our next R-U-THERE sequence number
  std::optional<uint32_t> dpd_outstanding;   // sequence number awaiting its ACK
  absl::Time dpd_sent;
  uint32_t dpd_tries = 0;
  bool xauth_done = true;            // XAUTH pending (server or client) blocks phase 2
  std::string xauth_user;            // the user XAUTH authenticated (server side)
  bool initial_contact_sent = false;
  bool peer_answered = false;        // responder: the peer came back with our cookie

  bool established_ok() const { return state == IkeSaState::kEstablished && xauth_done; }
  // CKY-I | CKY-R as on the wire: the SPI of ISAKMP notifies and DELETEs.
  Bytes cookies() const {
    Bytes b(16);
    for (int k = 0; k < 8; ++k) {
      b[k] = static_cast<uint8_t>(icookie >> (56 - 8 * k));
      b[8 + k] = static_cast<uint8_t>(rcookie >> (56 - 8 * k));
    }
    return b;
  }
};

}  // namespace arsec::ike
