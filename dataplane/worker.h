// The worker's state and the small helpers its stages share (transmit, drop, ICMP errors,
// hand-off to the main lcore, neighbour lookup). The stages themselves live in worker.cc
// (admission, routing, forwarding) and ipsec_worker.cc (SPD, ESP/AH/IPComp in and out).
#pragma once

#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_hash.h>
#include <rte_ring.h>

#include "dataplane/dp.h"
#include "dataplane/ipsec_worker.h"
#include "dataplane/pkt.h"

namespace arsec::dp {

using shm::WorkerStats;

struct Worker {
  Context* ctx;
  unsigned idx;
  uint16_t queue;
  WorkerStats* st;
  uint64_t* c;  // st->counters
  rte_eth_dev_tx_buffer* txb[RTE_MAX_ETHPORTS];
  uint64_t mac48[RTE_MAX_ETHPORTS];  // port MACs as FastIpv4Ok compares them
  uint32_t neigh_gen;                // ctx->neigh_gen the cache below reflects
  NeighCache ncache;
  uint32_t reset_seen;
  // ICMP error rate limit (RFC 1812 4.3.2.8): a token bucket refilled from the TSC.
  uint64_t icmp_tokens;
  uint64_t icmp_last_tsc;
  uint64_t icmp_tsc_per_token;
  IpsecWorker ipsec;  // IPsec stage state (ipsec_worker.h)
  // Acquire rate limit (ipsec_worker.cc): a small direct-mapped table of the last
  // acquire each policy raised from this worker, so a flow without an SA costs at most
  // one hand-off per policy per second here; the main lcore dedups across workers.
  struct AcquireSlot {
    uint32_t policy_id;
    uint64_t tsc;
  };
  static constexpr unsigned kAcquireSlots = 64;
  AcquireSlot acquire[kAcquireSlots];
};

constexpr uint64_t kIcmpBurst = 100;
constexpr unsigned kIdleYieldAfter = 256;
constexpr uint64_t kIcmpPerSecond = 1000;

inline void TxDropped(rte_mbuf** pkts, uint16_t unsent, void* userdata) {
  auto* c = static_cast<uint64_t*>(userdata);
  c[shm::kCtr_drop_tx_full] += unsent;
  rte_pktmbuf_free_bulk(pkts, unsent);
}

inline void Tx(Worker& w, uint16_t port, rte_mbuf* m) {
  w.c[shm::kCtr_tx_packets] += rte_eth_tx_buffer(port, w.queue, w.txb[port], m);
}

// Several packets for one port: straight to the PMD when nothing is buffered for it
// (what is not accepted is dropped, as a buffer flush would), else through the buffer so
// that earlier frames leave first. Returns the packets the PMD took.
inline uint64_t TxBulk(Worker& w, uint16_t port, rte_mbuf** pkts, unsigned n) {
  rte_eth_dev_tx_buffer* b = w.txb[port];
  if (likely(b->length == 0)) {
    uint16_t sent = rte_eth_tx_burst(port, w.queue, pkts, static_cast<uint16_t>(n));
    if (unlikely(sent < n)) TxDropped(pkts + sent, static_cast<uint16_t>(n - sent), w.c);
    return sent;
  }
  uint64_t sent = 0;
  for (unsigned i = 0; i < n; ++i) sent += rte_eth_tx_buffer(port, w.queue, b, pkts[i]);
  return sent;
}

inline bool IcmpAllowed(Worker& w) {
  if (w.icmp_tokens == 0) {
    uint64_t now = rte_rdtsc();
    uint64_t add = (now - w.icmp_last_tsc) / w.icmp_tsc_per_token;
    if (add == 0) return false;
    w.icmp_tokens = add > kIcmpBurst ? kIcmpBurst : add;
    w.icmp_last_tsc = now;
  }
  --w.icmp_tokens;
  return true;
}

// Sends an ICMP error about `m` (an Ethernet frame) back out of the port it came in on;
// `m` is not freed. Rate-limited.
void IcmpError(Worker& w, rte_mbuf* m, uint8_t type, uint8_t code, uint32_t extra);

inline void ToSlow(Worker& w, rte_mbuf* m, uint8_t kind, uint32_t nexthop) {
  SlowMeta* meta = Meta(m, w.ctx->meta_off);
  meta->kind = kind;
  meta->nexthop = nexthop;
  if (unlikely(rte_ring_mp_enqueue(w.ctx->slow, m) != 0)) {
    w.c[shm::kCtr_drop_punt_full]++;
    rte_pktmbuf_free(m);
  }
}


// Frees `m` and counts why.
inline void Drop(Worker& w, rte_mbuf* m, shm::Counter why) {
  w.c[why]++;
  rte_pktmbuf_free(m);
}

// The neighbour for `key` from the worker's cache, else from the shared hash (and then
// cached); null when the hash has none.
inline const NeighCache::Entry* Resolve(Worker& w, uint64_t key, uint16_t port) {
  const NeighCache::Entry* e = w.ncache.Find(key);
  if (likely(e != nullptr)) return e;
  void* data = nullptr;
  if (rte_hash_lookup_data(w.ctx->neigh, &key, &data) < 0) return nullptr;
  return w.ncache.Put(key, reinterpret_cast<uintptr_t>(data), w.ctx->port_mac[port]);
}

// The routing pipeline over one chunk of frames received on `in` (worker.cc).
// `decapsulated`: the frames came out of an IPsec tunnel (ipsec_worker.cc), their inbound
// policy is already checked.
void ProcessChunk(Worker& w, uint16_t in, rte_mbuf** pkts, unsigned n, bool decapsulated);

}  // namespace arsec::dp
