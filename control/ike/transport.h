// How the IKE engine sends and receives datagrams, and nothing else.
//
// In arsec-control the real implementation is RingTransport (ring_transport.h): IKE
// packets the dataplane punts (UDP 500 and 4500 to the gateway's own addresses) arrive
// as mbufs on a ring, and replies leave the same way. Unit tests drive the engine over
// UdpTransport (kernel sockets on loopback or in a namespace) or an in-memory pair.
//
// On port 4500 every IKE message carries the 4-byte non-ESP marker (RFC 3948 2.2): the
// transport strips it on receive and adds it on send, so the engine only ever sees
// ISAKMP messages. NAT-T keepalives (one 0xFF byte, RFC 3948 2.3) are received as
// nothing (counted by the transport) and sent with `keepalive = true`.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/status.h"

namespace arsec::ike {

struct Datagram {
  uint32_t src = 0, dst = 0;   // IPv4, host order
  uint16_t sport = 0, dport = 0;
  std::vector<uint8_t> data;   // the ISAKMP message (no non-ESP marker)
  bool keepalive = false;      // send: a NAT-T keepalive instead of `data`
};

class DatagramTransport {
 public:
  virtual ~DatagramTransport() = default;
  // Queues one datagram. Fails (Unavailable) when the way out is full or down; IKE
  // retransmits, so the caller only counts it.
  virtual absl::Status Send(const Datagram& d) = 0;
  // Up to `max` received datagrams appended to `out`; never blocks. Returns how many.
  virtual size_t Receive(std::vector<Datagram>& out, size_t max) = 0;
  // Blocks up to `timeout_ms` until Receive may return something (or returns at once if
  // something is pending). Implementations without a descriptor to wait on may sleep in
  // short steps.
  virtual void Wait(int timeout_ms) = 0;
};

}  // namespace arsec::ike
