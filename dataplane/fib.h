// The forwarding table the workers read: an rte_lpm whose 24-bit next-hop value indexes
// an array of immutable next-hop records (NhEntry). Only the main lcore writes.
//
// Why it is safe without locks: rte_lpm updates are single-writer/many-reader safe, and
// its tbl8 groups are reclaimed through rte_lpm_rcu_qsbr_add. Next-hop records are never
// changed in place; a record whose last prefix went away is freed only after an RCU
// grace period (every worker reported a quiescent state), so a worker that looked up the
// old index a moment ago still reads valid data.
#pragma once

#include <rte_lpm.h>
#include <rte_rcu_qsbr.h>

#include <cstdint>
#include <deque>
#include <map>
#include <vector>

#include "dataplane/route_table.h"

namespace arsec::dp {

// 8 bytes: a burst's worth of these stays in a couple of cache lines.
struct NhEntry {
  uint32_t gw;      // host order; 0 = the destination itself (connected)
  uint16_t port;    // ethdev port id
  uint8_t type;     // NhType
  uint8_t pad;
};
static_assert(sizeof(NhEntry) == 8);

class LpmFib : public FibSink {
 public:
  static constexpr uint32_t kMaxNh = 1u << 16;

  // `rcu` may be null (no concurrent readers, as in unit tests).
  LpmFib(const char* name, int socket, uint32_t max_rules, uint32_t tbl8s, rte_rcu_qsbr* rcu);
  ~LpmFib() override;
  bool ok() const { return lpm_ != nullptr && nh_ != nullptr; }

  int Set(uint32_t prefix, uint8_t len, const NhKey& nh) override;
  int Clear(uint32_t prefix, uint8_t len) override;

  // Frees next-hop records whose grace period has passed; call from the main loop.
  void Reclaim();

  rte_lpm* lpm() const { return lpm_; }
  // rte_lpm has no depth 0: the default route's record index lives here (0 = none) and
  // workers use it when the LPM misses.
  const uint32_t* default_nh() const { return &default_nh_; }
  const NhEntry* nh_table() const { return nh_; }
  // Single lookup for the slow path and tests; returns false when no route.
  bool Lookup(uint32_t ip, NhEntry* out) const;
  unsigned nh_in_use() const { return static_cast<unsigned>(by_key_.size()); }
  unsigned nh_pending_free() const { return static_cast<unsigned>(deferred_.size()); }

 private:
  int Ref(const NhKey& k);     // index or -ENOSPC
  void Unref(uint32_t idx);

  rte_lpm* lpm_ = nullptr;
  NhEntry* nh_ = nullptr;
  rte_rcu_qsbr* rcu_;
  uint32_t default_nh_ = 0;
  std::map<NhKey, uint32_t> by_key_;
  std::vector<uint32_t> refs_;
  std::vector<NhKey> keys_;
  std::vector<uint32_t> free_;
  std::map<std::pair<uint32_t, uint8_t>, uint32_t> prefix_nh_;
  struct Deferred {
    uint64_t token;
    uint32_t idx;
  };
  std::deque<Deferred> deferred_;
};

}  // namespace arsec::dp
