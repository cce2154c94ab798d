// Per-SA and per-policy IPsec counters, shared read-only with arsec-control through the
// memzone kIpsecStatsMemzone. Like dp_stats.h: each worker owns its own block (one writer,
// plain increments) and readers sum the blocks. An SA's counters are one cache line, so
// the worker touching an SA touches one more line at most.
//
// Layout: IpsecStatsHeader, then (n_workers + 1) blocks of max_sa SaCounters, then
// (n_workers + 1) blocks of max_policies PolicyCounters ([n_workers] is the main lcore).
// A reused SA id or policy id starts from the values its previous owner left: the
// dataplane zeroes them on kSaAdd / kPolicySet (readers may see a transient mix).
#pragma once

#include <cstddef>
#include <cstdint>

namespace arsec::shm {

inline constexpr const char* kIpsecStatsMemzone = "arsec_ipsec_stats";

// X(id, "Name printed by SHOW IPSEC SA COUNTERS")
#define ARSEC_SA_COUNTERS(X)       \
  X(packets, "packets")            \
  X(bytes, "bytes")                \
  X(drop_replay, "replayDrops")    \
  X(drop_auth, "authFailures")     \
  X(drop_pad, "badPadding")        \
  X(drop_len, "badLength")         \
  X(drop_policy, "policyMismatch") \
  X(drop_other, "otherDrops")

enum SaCounter : uint32_t {
#define ARSEC_X(id, name) kSa_##id,
  ARSEC_SA_COUNTERS(ARSEC_X)
#undef ARSEC_X
  kNumSaCounters
};
inline constexpr const char* kSaCounterNames[kNumSaCounters] = {
#define ARSEC_X(id, name) name,
    ARSEC_SA_COUNTERS(ARSEC_X)
#undef ARSEC_X
};

// X(id, "Name printed by SHOW IPSEC POLICY COUNTERS")
#define ARSEC_POLICY_COUNTERS(X)             \
  X(out_packets, "outProcessed")             \
  X(out_bytes, "outBytes")                   \
  X(in_packets, "inProcessed")               \
  X(in_bytes, "inBytes")                     \
  X(permitted, "permitted")                  \
  X(denied, "denied")                        \
  X(no_sa, "outNoSa")                        \
  X(in_mismatch, "inPolicyMismatch")

enum PolicyCounter : uint32_t {
#define ARSEC_X(id, name) kPol_##id,
  ARSEC_POLICY_COUNTERS(ARSEC_X)
#undef ARSEC_X
  kNumPolicyCounters
};
inline constexpr const char* kPolicyCounterNames[kNumPolicyCounters] = {
#define ARSEC_X(id, name) name,
    ARSEC_POLICY_COUNTERS(ARSEC_X)
#undef ARSEC_X
};

struct alignas(64) SaCounters {
  uint64_t c[kNumSaCounters];
};
static_assert(sizeof(SaCounters) == 64);

struct alignas(64) PolicyCounters {
  uint64_t c[kNumPolicyCounters];
};
static_assert(sizeof(PolicyCounters) == 64);

// Runtime state of one SA the control plane shows (SHOW IPSEC SA): written by the main
// lcore on its housekeeping tick.
struct SaRuntime {
  uint64_t install_tsc;     // 0 = slot empty
  uint64_t seq;             // outbound: last sequence number sent; inbound: highest seen
  uint64_t bytes;           // total over workers (lifetime accounting)
  uint32_t age_s;
  uint8_t state;            // 0 empty, 1 valid, 2 soft-expired, 3 hard-expired
  uint8_t pad[3];
};

struct IpsecStatsHeader {
  uint32_t max_sa;
  uint32_t max_policies;
  uint32_t n_blocks;        // n_workers + 1
  uint32_t pad;
};

inline constexpr size_t IpsecStatsSize(uint32_t max_sa, uint32_t max_pol, uint32_t blocks) {
  return 64 + size_t{blocks} * max_sa * sizeof(SaCounters) +
         size_t{blocks} * max_pol * sizeof(PolicyCounters) + size_t{max_sa} * sizeof(SaRuntime);
}

// Accessors over the memzone's bytes.
inline SaCounters* SaBlock(void* base, uint32_t block) {
  auto* h = static_cast<IpsecStatsHeader*>(base);
  return reinterpret_cast<SaCounters*>(static_cast<uint8_t*>(base) + 64) +
         size_t{block} * h->max_sa;
}
inline PolicyCounters* PolicyBlock(void* base, uint32_t block) {
  auto* h = static_cast<IpsecStatsHeader*>(base);
  auto* after_sa = static_cast<uint8_t*>(base) + 64 +
                   size_t{h->n_blocks} * h->max_sa * sizeof(SaCounters);
  return reinterpret_cast<PolicyCounters*>(after_sa) + size_t{block} * h->max_policies;
}
inline SaRuntime* SaRuntimeTable(void* base) {
  auto* h = static_cast<IpsecStatsHeader*>(base);
  auto* p = static_cast<uint8_t*>(base) + 64 +
            size_t{h->n_blocks} * h->max_sa * sizeof(SaCounters) +
            size_t{h->n_blocks} * h->max_policies * sizeof(PolicyCounters);
  return reinterpret_cast<SaRuntime*>(p);
}

}  // namespace arsec::shm
