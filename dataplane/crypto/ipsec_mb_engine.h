// The Intel IPsec-MB engine: calls the library's burst API (IMB_GET_NEXT_BURST /
// IMB_SUBMIT_BURST / IMB_FLUSH_BURST, libipsec-mb 1.3) directly, with no DPDK cryptodev
// layer between. Synchronous: each Enqueue submits the whole burst (chunks of up to 64
// jobs), flushes the manager, and leaves the completed ops on a ring for Dequeue.
//
// One engine per worker (the IMB_MGR job queue is single-threaded). CreateSession only
// uses the manager's stateless key-expansion and hash functions, so the control path
// may call it while the worker processes packets. Sessions from one IpsecMbEngine are
// valid in every other IpsecMbEngine.
#pragma once

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "dataplane/crypto/engine.h"

namespace arsec::crypto {

struct IpsecMbOptions {
  // Completed ops that may wait for Dequeue; rounded up to a power of two.
  uint32_t capacity = 1024;
  // false (default): IMB_SUBMIT_BURST_NOCHECK. Sessions are validated once at
  // creation and the engine checks each op's lengths and pointers itself, which is all
  // the library's per-job validation would catch for the jobs this engine builds; the
  // library's check costs 55-75 TSC cycles per op (25% of a 64-byte AES-GCM op, see
  // perf/micro/crypto_bench.cc). true: IMB_SUBMIT_BURST, the library validates every
  // job, and a refused burst is rerun job by job so only the bad ops fail.
  bool check_jobs = false;
};

absl::StatusOr<std::unique_ptr<CryptoEngine>> CreateIpsecMbEngine(
    const IpsecMbOptions& options = {});

}  // namespace arsec::crypto
