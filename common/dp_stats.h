// Dataplane counters shared read-only with arsec-control through a memzone.
//
// One X-macro table declares every counter: it feeds the enum the workers index, the
// names SHOW DATAPLANE COUNTERS prints, and the help text. Each worker owns one cache-
// aligned block and is its only writer (plain increments, no atomics); readers sum the
// blocks. Drops are counted by reason, never silently.
#pragma once

#include <cstdint>

namespace arsec::shm {

// X(identifier, "Name printed by SHOW DATAPLANE COUNTERS", "what it means")
#define ARSEC_DP_COUNTERS(X)                                                           \
  X(rx_packets, "rxPackets", "frames received by the worker")                          \
  X(tx_packets, "txPackets", "frames sent by the worker")                              \
  X(forwarded, "forwarded", "IPv4 packets routed to another interface")               \
  X(local_in, "localIn", "packets addressed to the gateway itself")                   \
  X(arp_in, "arpIn", "ARP frames received")                                            \
  X(arp_replies_sent, "arpRepliesSent", "ARP replies for own addresses")              \
  X(icmp_echo_replies, "icmpEchoReplies", "ICMP echo replies sent")                    \
  X(icmp_errors_sent, "icmpErrorsSent", "ICMP errors sent (TTL exceeded, unreachable)") \
  X(punted, "punted", "packets handed to the main lcore or control plane")            \
  X(neigh_miss, "neighMiss", "packets held while the next hop is resolved")            \
  X(drop_runt, "dropRunt", "frame shorter than its Ethernet and IPv4 headers")         \
  X(drop_bad_version, "dropBadVersion", "IP version is not 4")                        \
  X(drop_bad_hlen, "dropBadHeaderLength", "IPv4 IHL below 5 or beyond the frame")     \
  X(drop_bad_len, "dropBadTotalLength", "IPv4 total length below IHL or beyond frame") \
  X(drop_bad_cksum, "dropBadChecksum", "IPv4 header checksum wrong")                  \
  X(drop_bad_src, "dropBadSource", "martian source (multicast, broadcast, loopback)")  \
  X(drop_fragment_local, "dropLocalFragment", "fragment addressed to the gateway")    \
  X(drop_ttl, "dropTtlExceeded", "TTL expired in transit")                            \
  X(drop_no_route, "dropNoRoute", "no route to the destination")                      \
  X(drop_neigh_fail, "dropNeighFailed", "next hop did not answer ARP")                \
  X(drop_neigh_queue, "dropNeighQueueFull", "too many packets waiting for one ARP")   \
  X(drop_not_ip, "dropNotIp", "Ethertype neither IPv4 nor ARP")                       \
  X(drop_bad_arp, "dropBadArp", "malformed or foreign ARP")                           \
  X(drop_unhandled_local, "dropUnhandledLocal", "local packet for no local service")  \
  X(drop_tx_full, "dropTxFull", "transmit queue full")                                \
  X(drop_no_mbuf, "dropNoMbuf", "no buffer for a generated packet")                  \
  X(drop_punt_full, "dropPuntFull", "punt ring to the main lcore full")              \
  X(drop_other_host, "dropOtherHost", "unicast frame for another MAC address")        \
  X(drop_martian_dst, "dropMartianDest", "zero, loopback, multicast or broadcast destination") \
  X(drop_too_big, "dropTooBig", "packet larger than the egress MTU (no fragmentation)") \
  X(drop_icmp_ratelimit, "dropIcmpRateLimit", "ICMP error suppressed by the rate limit") \
  X(drop_punt_ratelimit, "dropPuntRateLimit", "punt event suppressed by the rate limit") \
  X(drop_event_full, "dropEventFull", "event ring to the control plane full")         \
  X(drop_neigh_table_full, "dropNeighTableFull", "neighbour table full")               \
  X(arp_requests_sent, "arpRequestsSent", "ARP requests sent to resolve next hops")      \
  X(ike_rx, "ikeRx", "IKE datagrams (UDP 500/4500) handed to the IKE daemon")           \
  X(ike_tx, "ikeTx", "IKE datagrams from the IKE daemon sent on")                       \
  X(drop_ike_rx_full, "dropIkeRxFull", "IKE ring to the control plane full")           \
  X(drop_ike_ratelimit, "dropIkeRateLimit", "IKE datagram over the rate limit to the control plane") \
  X(drop_ike_tx_noroute, "dropIkeTxNoRoute", "IKE datagram from the control plane with no route") \
  X(drop_ike_tx_bad, "dropIkeTxBad", "malformed IKE datagram from the control plane")  \
  ARSEC_IPSEC_COUNTERS(X)

// The IPsec module's counters (SHOW IPSEC COUNTERS prints these; names start "ipsec").
#define ARSEC_IPSEC_COUNTERS(X)                                                        \
  X(ipsec_out_packets, "ipsecOutPackets", "packets protected (bundle applied)")         \
  X(ipsec_in_packets, "ipsecInPackets", "packets unprotected and accepted")             \
  X(ipsec_spd_permit, "ipsecSpdPermit", "packets passed in clear by a PERMIT policy")   \
  X(ipsec_spd_deny, "ipsecSpdDeny", "packets dropped by a DENY policy")                 \
  X(ipsec_spd_implicit_deny, "ipsecSpdImplicitDeny", "packets matching no policy of an interface with an SPD") \
  X(ipsec_drop_no_sa, "ipsecDropNoSa", "IPSEC policy has no SA (yet)")                  \
  X(ipsec_drop_unknown_spi, "ipsecDropUnknownSpi", "inbound ESP/AH/IPComp with an SPI of no SA") \
  X(ipsec_drop_replay, "ipsecDropReplay", "inbound sequence number replayed or too old") \
  X(ipsec_drop_auth, "ipsecDropAuthFailed", "inbound ICV verification failed")          \
  X(ipsec_drop_bad_pad, "ipsecDropBadPadding", "inbound ESP padding or trailer invalid")  \
  X(ipsec_drop_bad_len, "ipsecDropBadLength", "inbound packet too short or not block aligned") \
  X(ipsec_drop_bad_inner, "ipsecDropBadInner", "decapsulated packet is not a valid IPv4 packet") \
  X(ipsec_drop_policy, "ipsecDropPolicyMismatch", "decapsulated packet does not match its SA's policy") \
  X(ipsec_drop_clear, "ipsecDropClearOnIpsec", "clear packet arrived where an IPSEC policy requires protection") \
  X(ipsec_drop_bundle, "ipsecDropBundleMismatch", "inbound protocols do not follow the SA bundle") \
  X(ipsec_drop_comp, "ipsecDropDecompress", "IPComp payload failed to decompress")      \
  X(ipsec_drop_crypto, "ipsecDropCryptoError", "crypto engine error or queue full")      \
  X(ipsec_drop_seq_overflow, "ipsecDropSeqOverflow", "outbound sequence number exhausted") \
  X(ipsec_drop_no_room, "ipsecDropNoRoom", "no headroom/tailroom or buffer for the encapsulation") \
  X(ipsec_drop_expired, "ipsecDropSaExpired", "SA past its hard lifetime")              \
  X(ipsec_drop_disabled, "ipsecDropDisabled", "IPsec packet while the module is disabled") \
  X(ipsec_drop_frag, "ipsecDropFragment", "fragmentation or reassembly failed")          \
  X(ipsec_comp_uncompressed, "ipsecCompSentUncompressed", "IPComp skipped: the packet did not shrink") \
  X(ipsec_fragments_out, "ipsecFragmentsOut", "fragments made of protected packets over the MTU") \
  X(ipsec_reassembled, "ipsecReassembled", "inbound ESP/AH packets reassembled from fragments") \
  X(ipsec_heartbeats_out, "ipsecUdpHeartbeatsOut", "ESP-over-UDP heartbeats sent")        \
  X(ipsec_heartbeats_in, "ipsecUdpHeartbeatsIn", "ESP-over-UDP heartbeats received")      \
  X(ipsec_natt_keepalive_in, "ipsecNattKeepaliveIn", "NAT-T keepalives received (RFC 3948)") \
  X(ipsec_acquires, "ipsecAcquires", "acquire events raised for policies without SAs")

enum Counter : uint32_t {
#define ARSEC_X(id, name, help) kCtr_##id,
  ARSEC_DP_COUNTERS(ARSEC_X)
#undef ARSEC_X
  kNumCounters
};

inline constexpr const char* kCounterNames[kNumCounters] = {
#define ARSEC_X(id, name, help) name,
    ARSEC_DP_COUNTERS(ARSEC_X)
#undef ARSEC_X
};

inline constexpr const char* kCounterHelp[kNumCounters] = {
#define ARSEC_X(id, name, help) help,
    ARSEC_DP_COUNTERS(ARSEC_X)
#undef ARSEC_X
};

inline constexpr unsigned kMaxWorkers = 16;

// One per worker (and one for the main lcore at index kMaxWorkers).
struct alignas(64) WorkerStats {
  uint64_t counters[kNumCounters];
  // Runtime, like VPP's `show runtime`: cycles spent in polls that returned packets.
  uint64_t busy_cycles;
  uint64_t busy_polls;      // polls that returned at least one packet
  uint64_t idle_polls;
  uint64_t vectors;         // packets processed in busy polls (== sum of burst sizes)
  uint32_t lcore;
  uint32_t active;          // 1 while the worker runs
};

struct Stats {
  uint64_t tsc_hz;
  uint32_t n_workers;
  uint32_t pad;
  WorkerStats worker[kMaxWorkers + 1];  // [kMaxWorkers] is the main lcore
};

}  // namespace arsec::shm
