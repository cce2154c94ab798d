// DatagramTransport over the dataplane's IKE rings: how the IKE daemon in arsec-control
// (a DPDK secondary process) talks to the wire.
//
// Receive: arsec-dataplane's main lcore puts every IKE datagram that reached an own
// address (UDP 500; UDP 4500 with the non-ESP marker, or a NAT-T keepalive) on
// shm::kIkeRxRing as the mbuf itself — an Ethernet frame, a chain when it was reassembled
// from IP fragments. Receive parses Ethernet/IPv4/UDP, checks the lengths and a non-zero
// UDP checksum, strips the marker on 4500, counts keepalives, copies the ISAKMP message
// out and frees the mbuf.
//
// Send: buffers from the dataplane's packet pool (shm::kPacketPool) laid out as
// [14 bytes of Ethernet space][IPv4][UDP][marker on 4500][message], UDP checksum computed
// over the pseudo-header with the datagram's source (0 lets the dataplane choose the
// egress port's address and fix the checksum up), onto shm::kIkeTxRing. A datagram that
// does not fit one buffer (a certificate or two: a buffer holds about 2 KB) becomes a
// chain: the headers and the first bytes in the first segment, the rest in as many full
// segments as it takes. The main lcore routes it, sets the MACs and sends it through its
// neighbour path; it fragments what exceeds the egress MTU or one buffer. The limit is
// what one IPv4 datagram carries: max_message() = 65507 bytes of ISAKMP on port 500.
//
// The packet pool keeps per-lcore caches for the dataplane's lcores. This process's
// threads may carry the same lcore ids (the EAL main thread of a secondary is an lcore
// too), so every get and put here bypasses the caches: two processes must never share
// one. Rings have no descriptor to poll: Send rings the main lcore's doorbell and Wait
// sleeps on the ike_rx doorbell (common/doorbell.h), which the main lcore rings after
// queueing datagrams.
//
// Thread safety: Receive and Wait from one thread (the rx ring has a single consumer);
// Send from any (serialised here: the tx ring has a single producer).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "control/ike/transport.h"

struct rte_ring;
struct rte_mempool;
namespace arsec::shm {
struct Bells;
}

namespace arsec::ike {

class RingTransport : public DatagramTransport {
 public:
  struct Stats {
    std::atomic<uint64_t> rx{0}, tx{0};
    std::atomic<uint64_t> rx_keepalive{0};  // NAT-T keepalives received (and dropped)
    std::atomic<uint64_t> rx_bad{0};        // not a well-formed IKE datagram
    std::atomic<uint64_t> tx_full{0};       // the tx ring was full (or no buffers)
    std::atomic<uint64_t> tx_too_big{0};    // more than one IPv4 datagram carries
  };

  // Looks up the rings and the pool of the dataplane (the EAL must be initialised),
  // retrying for up to `wait` while the primary is still creating them.
  static absl::StatusOr<std::unique_ptr<RingTransport>> Attach(
      absl::Duration wait = absl::ZeroDuration());

  absl::Status Send(const Datagram& d) override;
  size_t Receive(std::vector<Datagram>& out, size_t max) override;
  void Wait(int timeout_ms) override;

  // The largest ISAKMP message Send accepts on port 500 (4 bytes less on 4500): an IPv4
  // datagram's 65535 bytes less the IP and UDP headers.
  size_t max_message() const;
  const Stats& stats() const { return stats_; }

 private:
  RingTransport() = default;

  rte_ring* rx_ = nullptr;
  rte_ring* tx_ = nullptr;
  rte_mempool* pool_ = nullptr;
  shm::Bells* bells_ = nullptr;  // common/doorbell.h: wake the main lcore, wait for datagrams
  absl::Mutex send_mu_;
  uint16_t ip_id_ ABSL_GUARDED_BY(send_mu_) = 0;
  Stats stats_;
};

}  // namespace arsec::ike
