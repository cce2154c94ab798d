// The neighbour (ARP) state machine of the main lcore, in plain C++ so that unit tests
// can drive it with a fake clock.
//
// Workers only read a lock-free rte_hash of resolved neighbours (port, ip) -> MAC. When
// they miss, they hand the packet to the main lcore, which calls OnMiss: the packet is
// queued on an INCOMPLETE entry (a few per next hop) and ARP requests go out every
// retry_ms up to max_retries; on an answer the entry becomes REACHABLE, is published
// to the workers' hash and its queue is transmitted; on no answer the queue is dropped
// and counted. A REACHABLE entry turns STALE after reachable_ms and is re-probed while
// it keeps forwarding; if the probes go unanswered it is withdrawn from the workers.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <vector>

#include "common/ring_msg.h"

namespace arsec::dp {

using Mac = std::array<uint8_t, 6>;

class NeighActions {
 public:
  virtual ~NeighActions() = default;
  virtual void SendRequest(uint16_t port, uint32_t ip) = 0;
  // Publish (or withdraw) a resolved neighbour to the workers.
  virtual void Install(uint16_t port, uint32_t ip, const Mac& mac) = 0;
  virtual void Withdraw(uint16_t port, uint32_t ip) = 0;
  virtual void Transmit(void* pkt, uint16_t port, const Mac& mac) = 0;
  enum DropReason { kQueueFull, kFailed, kTableFull };
  virtual void Drop(void* pkt, DropReason why) = 0;
  virtual void Event(uint16_t port, uint32_t ip, const Mac& mac, msg::NeighState state) = 0;
};

class NeighTable {
 public:
  struct Params {
    uint64_t reachable_ms = 300000;
    uint64_t retry_ms = 1000;
    unsigned max_retries = 3;
    unsigned queue_len = 4;     // packets held per unresolved next hop (<= kMaxQueue)
    unsigned capacity = 4096;
  };
  static constexpr unsigned kMaxQueue = 16;

  struct Entry {
    Mac mac{};
    msg::NeighState state = msg::kNeighIncomplete;
    uint64_t confirmed_ms = 0;  // last time an ARP from it was seen
    uint64_t next_ms = 0;       // when to (re)send a request
    unsigned probes = 0;        // requests sent in the current resolution/probe round
    bool is_static = false;     // configured: never ages, never re-probed
    unsigned qlen = 0;
    std::array<void*, kMaxQueue> queue{};
  };

  NeighTable(const Params& p, NeighActions* act) : p_(p), act_(act) {
    if (p_.queue_len > kMaxQueue) p_.queue_len = kMaxQueue;
  }

  // A worker had no neighbour for (port, ip) while forwarding `pkt`.
  void OnMiss(uint16_t port, uint32_t ip, void* pkt, uint64_t now_ms);
  // An ARP packet from (ip, mac) arrived on port; `for_us` when its target is ours, in
  // which case an unknown sender is learnt (RFC 826 merge rule).
  void OnArp(uint16_t port, uint32_t ip, const Mac& mac, bool for_us, uint64_t now_ms);
  // Timers: retries, ageing. Call every few milliseconds.
  void Tick(uint64_t now_ms);
  // A configured entry: replaces whatever was learnt, flushes a waiting queue.
  bool AddStatic(uint16_t port, uint32_t ip, const Mac& mac, uint64_t now_ms);
  // Forget one entry (e.g. the control plane cleared it); queued packets are dropped.
  void Remove(uint16_t port, uint32_t ip);
  void Clear();

  using Key = uint64_t;  // (port << 32) | ip
  static Key KeyOf(uint16_t port, uint32_t ip) { return (uint64_t{port} << 32) | ip; }
  const std::map<Key, Entry>& entries() const { return t_; }
  const Params& params() const { return p_; }

 private:
  void Fail(std::map<Key, Entry>::iterator it);

  Params p_;
  NeighActions* act_;
  std::map<Key, Entry> t_;
};

}  // namespace arsec::dp
