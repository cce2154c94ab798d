// The IPsec tables the workers read and the main lcore writes: the SAD (SAs by id, and
// the inbound index by SPI and protocol), the policies (what an SPD verdict's policy id
// means: action, SA bundle, UDP heartbeat), the compiled SPD, and the module switch.
//
// Concurrency: one writer (the main lcore, from ring messages and its timers), any number
// of worker readers that take no lock. Pointers are published with release stores and read
// with acquire loads; an object that is replaced or removed is freed only after an RCU
// grace period of the workers (DeferFree). The inbound index is an rte_hash in lock-free
// read/write concurrency mode, whose deleted slots are likewise released after a grace
// period. SAs keep their mutable state (sequence counter, replay window) in place, so an
// SA object is never copied, only replaced whole by a new kSaAdd for the same id.
#pragma once

#include <rte_hash.h>
#include <rte_rcu_qsbr.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "common/ipsec_stats.h"
#include "common/ring_msg.h"
#include "dataplane/crypto/engine.h"
#include "dataplane/ipsec/sa.h"
#include "dataplane/ipsec/spd.h"

namespace arsec::dp {

// A policy as the workers use it (immutable once published).
struct alignas(64) PolicyRt {
  uint32_t policy_id;
  uint16_t port;            // ethdev port id of the policy's interface
  SpdAction action;
  uint8_t n_out, n_in;
  uint8_t debug;
  uint8_t isakmp;
  uint8_t udp_heartbeat;
  uint32_t out_sa[msg::kMaxBundle];  // applied first to last
  uint32_t in_sa[msg::kMaxBundle];   // peeled last to first
  uint32_t peer;            // host order
  uint32_t local;           // host order
  uint16_t udp_port;        // host order
  char name[msg::kPolicyNameLen];
};

// The inbound index key: SPI (network order) and protocol.
inline uint64_t SpiKey(uint32_t spi_be, uint8_t proto) {
  return (uint64_t{proto} << 32) | spi_be;
}

class IpsecTables {
 public:
  struct Options {
    uint32_t max_sa = 65536;
    uint32_t max_policies = 16384;
    int socket = 0;
    unsigned n_workers = 1;
  };
  // `rcu`: the workers' QSBR variable. `sessions`: an engine of the kind the workers run,
  // used only to create sessions (sessions work with every engine of the same kind).
  static absl::StatusOr<std::unique_ptr<IpsecTables>> Create(const Options& opt, rte_rcu_qsbr* rcu,
                                                             crypto::CryptoEngine* sessions);
  ~IpsecTables();

  // ---- worker side (lock-free reads) ----
  bool enabled() const { return enabled_.load(std::memory_order_relaxed); }
  // True when any packet may need IPsec work: enabled and an SPD or an SA exists.
  bool active() const { return active_.load(std::memory_order_relaxed); }
  uint16_t udp_port_be() const { return udp_port_be_.load(std::memory_order_relaxed); }
  const SpdTable* spd() const { return spd_.load(std::memory_order_acquire); }
  Sa* sa(uint32_t id) const {
    return id < opt_.max_sa ? sa_[id].load(std::memory_order_acquire) : nullptr;
  }
  const PolicyRt* policy(uint32_t id) const {
    return id < opt_.max_policies ? pol_[id].load(std::memory_order_acquire) : nullptr;
  }
  // Inbound SA ids for n keys (kNoSa where none), one bulk hash lookup.
  void LookupInbound(const uint64_t* keys, unsigned n, uint32_t* ids) const;
  uint32_t max_sa() const { return opt_.max_sa; }
  uint32_t max_policies() const { return opt_.max_policies; }

  // Per-worker counter blocks in the shared memzone (block n_workers: the main lcore).
  shm::SaCounters* sa_counters(unsigned block) const { return shm::SaBlock(stats_, block); }
  shm::PolicyCounters* policy_counters(unsigned block) const {
    return shm::PolicyBlock(stats_, block);
  }

  // ---- main lcore side (single writer) ----
  void SetGlobal(bool enabled, uint16_t udp_port);
  // `port_id`: ethdev port of cfg port indexes is resolved by the caller for policies.
  absl::Status AddSa(const msg::SaBody& b);
  absl::Status DelSa(uint32_t id);
  absl::Status SetPolicy(const msg::PolicyBody& b, uint16_t port_id);
  absl::Status DelPolicy(uint32_t id);
  // Staging of a whole new SPD; rules' ports are already ethdev port ids.
  void SpdBegin(uint32_t n_rules);
  absl::Status SpdAdd(const SpdRule& r);
  absl::Status SpdCommit();

  // Frees what the workers can no longer see; call often.
  void Reclaim(bool wait = false);

  // Lifetime accounting, once a second: updates the runtime table and reports expiries.
  // `report(sa_id, policy_id, hard, by_bytes, bytes, age_s)`.
  using ExpiryFn = std::function<void(uint32_t, uint32_t, bool, bool, uint64_t, uint32_t)>;
  void Tick(uint64_t now_tsc, const ExpiryFn& report);

  // Policies with UDP heartbeat on (for the main lcore's 30-second timer).
  std::vector<const PolicyRt*> HeartbeatPolicies() const;
  // A new control process re-asserts its SAs and policies between SyncBegin and SyncEnd;
  // SyncEnd removes those it did not (returns how many). An SA re-added unchanged keeps
  // its sequence counter and replay window.
  //
  // Negotiated SAs cannot be re-added (the new process has no keys): it dumps them
  // (DumpSas) and re-asserts the ones it adopts with KeepSa. While a sync runs, a
  // KEYMAN=ISAKMP policy re-set without SAs (the replay knows of none yet) keeps the
  // bundle its predecessor of the same id, name and peer pointed at, so adopted traffic
  // never sees a gap; SyncEnd then clears the bundle of any policy whose SAs it swept.
  void SyncBegin();
  unsigned SyncEnd();
  bool syncing() const { return syncing_; }
  // Fills `page` with the SAs of id >= start (at most kSaDumpEntries), no key bytes.
  void DumpSas(uint32_t start, msg::SaPage* page) const;
  // Marks SA `id` re-asserted in this sync; `policy_id` != kNoSa renumbers its policy.
  absl::Status KeepSa(uint32_t id, uint32_t policy_id);
  // Removes every SA, policy and the SPD.
  void Clear();

 private:
  IpsecTables() = default;
  void DeferFree(std::function<void()> fn);
  void RecomputeActive();
  // Whether a policy re-set during a sync keeps `cur`'s bundle (see SyncBegin).
  bool CarriesBundle(const PolicyRt& cur, const PolicyRt& fresh) const;

  struct SaSlot {
    std::unique_ptr<crypto::CryptoSession> session;
    int32_t hash_pos = -1;
    uint64_t key = 0;
    uint64_t key2 = 0;  // IPComp tunnel: (peer address, IP-in-IP); 0 = none
    uint32_t soft_seconds = 0, hard_seconds = 0;
    uint64_t soft_bytes = 0, hard_bytes = 0;
    bool soft_reported = false;
    bool stale = false;
    uint64_t fingerprint = 0;
  };

  Options opt_;
  rte_rcu_qsbr* rcu_ = nullptr;
  crypto::CryptoEngine* sessions_ = nullptr;
  std::atomic<bool> enabled_{false};
  std::atomic<bool> active_{false};
  std::atomic<uint16_t> udp_port_be_{0};
  std::atomic<const SpdTable*> spd_{nullptr};
  std::unique_ptr<std::atomic<Sa*>[]> sa_;
  std::unique_ptr<std::atomic<const PolicyRt*>[]> pol_;
  std::vector<SaSlot> slots_;
  std::vector<bool> pol_stale_;
  bool syncing_ = false;
  uint32_t n_sa_ = 0, n_pol_ = 0;
  rte_hash* spi_hash_ = nullptr;
  void* stats_ = nullptr;  // the memzone
  std::vector<SpdRule> staged_;
  uint32_t staged_expect_ = 0;
  struct Deferred {
    uint64_t token;
    std::function<void()> fn;
  };
  std::vector<Deferred> deferred_;
};

}  // namespace arsec::dp
