// DatagramTransport over kernel UDP sockets: how unit tests (and a daemon run outside the
// dataplane) exchange IKE messages over loopback or inside a network namespace.
//
// Two sockets bound to one local address: the IKE port (500) and the NAT-T port (4500),
// either of which may be another port for tests (0 = let the kernel choose; ike_port()
// and natt_port() say which it chose). The NAT-T socket follows RFC 3948: the non-ESP
// marker is stripped on receive and added on send, a keepalive (one 0xFF byte) is counted
// and never returned; a datagram there without the marker is ESP, which has no business
// on a kernel socket of this process, and is counted and dropped.
//
// The destination address of each received datagram comes from IP_PKTINFO, so a socket
// bound to INADDR_ANY still reports which own address a peer used; a Datagram to send
// with a non-zero src leaves from that address (IP_PKTINFO on sendmsg). Sending chooses
// the socket by the datagram's source port.
//
// Thread safety: Receive and Wait from one thread; Send from any (the kernel serialises).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "control/ike/transport.h"

namespace arsec::ike {

class UdpTransport : public DatagramTransport {
 public:
  struct Options {
    uint32_t local = 0;        // host order; 0 = every local address
    uint16_t ike_port = 500;   // 0 = ephemeral
    uint16_t natt_port = 4500; // 0 = ephemeral
    bool natt = true;          // false: no NAT-T socket at all
  };
  struct Stats {
    std::atomic<uint64_t> rx{0}, tx{0};
    std::atomic<uint64_t> rx_keepalive{0};  // NAT-T keepalives received
    std::atomic<uint64_t> rx_not_ike{0};    // on the NAT-T port without the marker
    std::atomic<uint64_t> tx_errors{0};
  };

  static absl::StatusOr<std::unique_ptr<UdpTransport>> Open(const Options& o);
  ~UdpTransport() override;

  absl::Status Send(const Datagram& d) override;
  size_t Receive(std::vector<Datagram>& out, size_t max) override;
  void Wait(int timeout_ms) override;

  uint16_t ike_port() const { return ports_[0]; }
  uint16_t natt_port() const { return ports_[1]; }  // 0 when Options::natt is false
  const Stats& stats() const { return stats_; }

 private:
  UdpTransport() = default;
  // Reads datagrams of socket `i` (0 IKE, 1 NAT-T) until it has none or `out` is full.
  size_t Drain(int i, std::vector<Datagram>& out, size_t max);

  int fds_[2] = {-1, -1};
  uint16_t ports_[2] = {0, 0};
  uint32_t local_ = 0;
  Stats stats_;
};

}  // namespace arsec::ike
