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

inline constexpr unsigned kRingSize = 1024;
inline constexpr unsigned kMessagePoolSize = 4095;

}  // namespace arsec::shm
