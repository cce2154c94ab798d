// DataplaneClient over the shared rings of common/shm_names.h (arsec-control is a DPDK
// secondary process; the dataplane created the rings, the message pool and the stats zone).
//
// One caller at a time: the reply ring has a single consumer, and the dataplane answers in
// order, so a mutex around send-and-wait is both simple and enough. A caller may pipeline
// several requests (Transact: a whole SPD), matched to their replies by sequence number.
// A reply whose sequence number is not the one awaited belongs to a request that already
// timed out; it is freed and ignored. Neither side polls with sleeps: a request rings the
// main lcore's doorbell, and the reply rings ours (common/doorbell.h), so a round trip
// costs two wake-ups, not two sleep periods.
#pragma once

#include <cstdint>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "control/dataplane_client.h"

struct rte_ring;
struct rte_mempool;
namespace arsec::shm {
struct Bells;
}

namespace arsec::control {

class RingDataplaneClient final : public DataplaneClient {
 public:
  // Looks up the rings, pool and stats zone, retrying until `wait` has passed (the
  // dataplane may still be starting). EAL must be initialised.
  static absl::StatusOr<std::unique_ptr<RingDataplaneClient>> Attach(absl::Duration wait);

  absl::StatusOr<msg::HelloBody> Hello() override;
  absl::Status SyncBegin() override;
  absl::Status SyncEnd() override;
  absl::Status AddAddress(const msg::AddrBody& addr) override;
  absl::Status DeleteAddress(const msg::AddrBody& addr) override;
  absl::Status AddRoute(const msg::RouteBody& route) override;
  absl::Status DeleteRoute(const msg::RouteBody& route) override;
  absl::Status AddNeighbour(const msg::ArpEntry& entry) override;
  absl::Status DeleteNeighbour(const msg::ArpEntry& entry) override;
  absl::StatusOr<std::vector<msg::ArpEntry>> DumpArp() override;
  absl::StatusOr<std::vector<msg::PortEntry>> DumpPorts() override;
  absl::Status ResetCounters() override;
  absl::StatusOr<StatsSnapshot> ReadStats() override;
  absl::Status SetIpsecGlobal(const msg::IpsecGlobalBody& g) override;
  absl::Status AddSa(const msg::SaBody& sa) override;
  absl::Status DeleteSa(uint32_t sa_id) override;
  absl::Status SetPolicy(const msg::PolicyBody& policy) override;
  absl::Status DeletePolicy(uint32_t policy_id) override;
  absl::Status ReplaceSpd(const std::vector<msg::SpdRuleWire>& rules) override;
  absl::StatusOr<std::vector<msg::SaDumpEntry>> DumpSas() override;
  absl::Status KeepSa(uint32_t sa_id, uint32_t policy_id) override;
  absl::StatusOr<IpsecCounters> ReadIpsecCounters(
      const std::vector<uint32_t>& sa_ids, const std::vector<uint32_t>& policy_ids) override;

  rte_ring* event_ring() const { return events_; }
  rte_mempool* pool() const { return pool_; }
  void set_timeout(absl::Duration d) { timeout_ = d; }

 private:
  RingDataplaneClient() = default;
  // Sends `req` (type and body filled by the caller) and copies the reply into `*reply`.
  // A negative result from the dataplane becomes a status carrying its reason.
  absl::Status Call(const msg::Message& req, msg::Message* reply) ABSL_LOCKS_EXCLUDED(mu_);
  // Sends `reqs` in order, up to kWindow in flight, and waits for every reply. Returns the
  // first error (the requests after it were still carried out); `last_reply` (if not
  // null) gets the last request's reply.
  absl::Status Transact(absl::Span<const msg::Message> reqs, msg::Message* last_reply)
      ABSL_LOCKS_EXCLUDED(mu_);
  static constexpr size_t kWindow = 256;  // of the ring's 1024 and the pool's 4095

  rte_ring* requests_ = nullptr;
  rte_ring* replies_ = nullptr;
  rte_ring* events_ = nullptr;
  rte_mempool* pool_ = nullptr;
  const shm::Stats* stats_ = nullptr;
  shm::Bells* bells_ = nullptr;
  absl::Duration timeout_ = absl::Seconds(3);

  absl::Mutex mu_;
  uint32_t next_seq_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace arsec::control
