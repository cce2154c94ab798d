// The IPsec stages of the worker pipeline (DESIGN.md "Dataplane pipeline"):
//
//   admit -> LPM -> IpsecFilter: (a) ESP/AH/ESP-in-UDP to an own address -> IPsec input;
//                                (b) inbound SPD of the arrival interface on clear packets
//                                    (DENY drops; IPSEC drops clear traffic that should
//                                    have been protected);
//                                (c) outbound SPD of the egress interface: PERMIT goes on
//                                    to forwarding, DENY drops, IPSEC -> IPsec output
//                -> forwarding (worker.cc)
//
//   IPsec output: inner TTL, per SA of the bundle in order: IPComp (in place) or ESP/AH
//                 (Prepare over the whole batch, one engine Enqueue/Dequeue, Finish) ->
//                 route the outer packet to the peer -> fragment if over the MTU (or ICMP
//                 fragmentation-needed to the sender when the inner packet has DF) ->
//                 neighbour -> TX.
//   IPsec input:  UDP decapsulation -> SAD lookup by SPI in bulk -> anti-replay Check ->
//                 Prepare / crypto / Finish -> replay Update -> peel the rest of the bundle
//                 -> inbound policy check of the inner packet -> back into ProcessChunk as
//                 decapsulated traffic (routing, outbound SPD).
//
// Every drop is counted by reason (dp_stats.h ipsec_*), per SA and per policy
// (ipsec_stats.h). Nothing here allocates, locks, logs or makes a syscall.
#pragma once

#include <rte_ip_frag.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <memory>

#include "common/ipsec_stats.h"
#include "dataplane/compress/ipcomp.h"
#include "dataplane/crypto/engine.h"
#include "dataplane/ipsec/iv_source.h"

namespace arsec::dp {

struct Worker;

struct IpsecWorker {
  crypto::CryptoEngine* engine = nullptr;
  IvSource* iv = nullptr;
  compress::IpcompContext* ipcomp = nullptr;
  uint8_t* comp_buf = nullptr;       // IPComp scratch, kCompBufLen bytes
  rte_ip_frag_tbl* frag = nullptr;   // inbound reassembly of fragmented ESP/AH
  rte_ip_frag_death_row death_row{};
  shm::SaCounters* sac = nullptr;    // this worker's per-SA counter block
  shm::PolicyCounters* polc = nullptr;
  uint16_t ip_id = 0;
  uint64_t debug_tsc = 0;            // POLICY DEBUG rate limit
  uint64_t debug_left = 0;
  // Owned objects (created at worker start).
  std::unique_ptr<IvSource> iv_owned;
  std::unique_ptr<compress::IpcompContext> ipcomp_owned;
};

inline constexpr size_t kCompBufLen = 16384;

// At worker start / stop (off the packet path).
bool IpsecWorkerInit(Worker& w);
void IpsecWorkerFini(Worker& w);

// Runs (a)-(c) above over the admitted, routed packets of a chunk. Packets it takes over
// (IPsec input/output, drops) leave the arrays; the rest are compacted in place and the
// new count is returned. `hop`: the LPM results.
unsigned IpsecFilter(Worker& w, uint16_t in, rte_mbuf** pkts, uint32_t* dst, uint32_t* hop,
                     unsigned n, bool decapsulated);

// A packet the gateway itself answers (echo reply), as an Ethernet frame ready to leave
// through `port`: returns true when the outbound SPD lets it out in clear; otherwise the
// packet has been protected and sent, or dropped.
bool IpsecLocalOut(Worker& w, rte_mbuf* m, uint16_t port);

// A fragment addressed to the gateway: ESP/AH/UDP fragments are reassembled and, once
// whole, handed to IPsec input. Returns false (the packet untouched) for anything else.
bool IpsecLocalFragment(Worker& w, uint16_t in, rte_mbuf* m);

// Once per poll: frees what reassembly timed out.
void IpsecPoll(Worker& w);

}  // namespace arsec::dp
