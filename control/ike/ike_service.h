// The controller's handle on the IKE daemon (ike_daemon.h): what the ISAKMP commands
// read and do at run time. The configuration itself reaches the daemon as a snapshot
// (Apply) after every change that concerns it; the SHOW commands take snapshots of the
// daemon's state, never references into it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "control/console_sink.h"
#include "control/ike/ike_config.h"
#include "control/ike/ike_status.h"
#include "control/ipsec/ipsec_types.h"

namespace arsec::ike {

// ENABLE ISAKMP DEBUG=... flags. The keywords map to sets of them: PKT/PACKET = kDebugPkt,
// PKTRAW = kDebugPktRaw, STATE, TRACE, TRACEMORE = kDebugTrace|kDebugTraceMore,
// DEFAULT = kDebugState|kDebugTrace, ALL = all of them.
inline constexpr uint32_t kDebugPkt = 1;        // decode every message sent and received
inline constexpr uint32_t kDebugPktRaw = 2;     // hex of every message
inline constexpr uint32_t kDebugState = 4;      // exchange state changes
inline constexpr uint32_t kDebugTrace = 8;      // exchange events
inline constexpr uint32_t kDebugTraceMore = 16; // and their details (never keys)

// An IPsec SA bundle a restarted arsec-control found still installed in the dataplane
// and adopted (docs/control.md): no ISAKMP SA is left for it, so the engine tracks it
// like one it negotiated as initiator, and its soft expiry (raised by the dataplane,
// whose lifetime counters survived the restart) starts a new phase 1 and quick mode.
struct AdoptedSaBundle {
  uint32_t handle = 0;               // the SaInstaller's handle for it (IkeLink knows its SAs)
  uint32_t policy_id = 0;
  uint32_t peer = 0, local = 0;
  std::vector<std::pair<control::SaProtocol, uint32_t>> in_spis, out_spis;
  bool initiator = true;
  std::optional<uint32_t> soft_left_s;   // seconds to its soft lifetime (nullopt: none by time)
  bool soft_passed = false;              // the soft lifetime ran out already: rekey at once
};

class IkeService {
 public:
  virtual ~IkeService() = default;
  // A new configuration snapshot (after every change IKE depends on).
  virtual void Configure(std::shared_ptr<const IkeConfig> cfg) = 0;
  // The dataplane had traffic for an IPSEC KEYMAN=ISAKMP policy without SAs.
  virtual void Acquire(uint32_t policy_id, uint32_t src, uint32_t dst) = 0;
  // An SA of a negotiated bundle passed its soft (rekey) or hard lifetime.
  virtual void SaExpired(uint32_t bundle_handle, bool hard) = 0;
  // A bundle adopted after a restart of arsec-control (after the first Configure).
  // A service without rekeying leaves adopted bundles to their hard lifetime.
  virtual void AdoptBundle(const AdoptedSaBundle& b) { (void)b; }
  virtual std::vector<IsakmpSaInfo> IsakmpSas() = 0;
  virtual std::vector<ExchangeInfo> Exchanges() = 0;
  virtual IsakmpCounters Counters() = 0;
  // RESET ISAKMP: every ISAKMP SA and exchange is dropped (DELETEs sent where the
  // policy says SENDDELETES); IPsec SAs stay until they expire.
  virtual void ResetSas() = 0;
  // RESET ISAKMP COUNTERS.
  virtual void ResetCounters() = 0;
  // ENABLE/DISABLE ISAKMP DEBUG: `flags` for this console (0 = off). Debug output goes
  // only to the consoles that asked for it.
  virtual void SetDebug(uint32_t flags, std::shared_ptr<control::ConsoleSink> console) = 0;
};

}  // namespace arsec::ike
