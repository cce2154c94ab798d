// Names of the DPDK objects shared by arsec-dataplane (primary) and arsec-control
// (secondary). Both processes run with the same --file-prefix; these names are the only
// rendezvous between them besides the startup config file.
#pragma once

namespace arsec::shm {

// control -> dataplane: configuration requests (MP/SC: any control thread, main lcore).
inline constexpr char kRequestRing[] = "arsec_req";
// dataplane -> control: acknowledgements of requests, matched by sequence number.
inline constexpr char kReplyRing[] = "arsec_rep";
// dataplane -> control: unsolicited events (neighbour changes, punted packets, ...).
inline constexpr char kEventRing[] = "arsec_evt";
// Pool of arsec::msg::Message buffers carried by the three rings (cache size 0, so
// either process may allocate and free regardless of its lcore id).
inline constexpr char kMessagePool[] = "arsec_msg";
// arsec::shm::Stats: per-worker counters and runtime, written by the dataplane only.
inline constexpr char kStatsZone[] = "arsec_stats";
// arsec::shm::Bells (common/doorbell.h): futex words that wake the main lcore when control
// has put work on its rings, and control when the main lcore has answered.
inline constexpr char kBellsZone[] = "arsec_bells";
// The dataplane's packet mbuf pool. arsec-control allocates from it (IKE datagrams to
// send) and frees into it (IKE datagrams received); it has per-lcore caches, which two
// processes must never share, so control gets and puts with no cache (ring_transport.cc).
inline constexpr char kPacketPool[] = "arsec_mbuf";
// dataplane -> control: IKE datagrams (UDP 500, and 4500 with the non-ESP marker or a
// NAT-T keepalive, to an own address) as whole mbufs: Ethernet frames, possibly chained
// when reassembled from fragments. SP (main lcore) / SC (the IKE daemon).
inline constexpr char kIkeRxRing[] = "arsec_ike_rx";
// control -> dataplane: IKE datagrams to send, single-segment mbufs of kPacketPool laid
// out [14 bytes of Ethernet header space][IPv4][UDP][payload]; the main lcore routes
// them, fills in the source address if it is 0 and the MACs. SP/SC.
inline constexpr char kIkeTxRing[] = "arsec_ike_tx";

inline constexpr unsigned kRingSize = 1024;
inline constexpr unsigned kMessagePoolSize = 4095;
// IKE rings: room for a burst of exchanges; while nobody drains arsec_ike_rx (control
// restarting) at most this many packet buffers wait in it.
inline constexpr unsigned kIkeRingSize = 512;

}  // namespace arsec::shm
