// The control plane's only door to the dataplane, as an interface.
//
// Every change the configuration model makes goes through DataplaneClient first and is
// committed to the model only when the dataplane acknowledges it. The real client
// (ring_dataplane_client.h) carries requests on rte_rings and reads counters from the
// stats memzone; unit tests of the model use a recording fake that can be told to say no.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/dp_stats.h"
#include "common/ipsec_stats.h"
#include "common/ring_msg.h"

namespace arsec::control {

// A copy of the dataplane's counters, taken at one moment (plain struct copy of the
// memzone: each 64-bit counter is read atomically on x86, blocks may be a few packets
// apart, which is what a SHOW needs).
struct StatsSnapshot {
  shm::Stats stats{};
};

// Per-SA and per-policy IPsec counters from the memzone of common/ipsec_stats.h, summed
// over the worker blocks, for the ids asked for (ids beyond the zone's capacity are
// left out). `available` is false when the dataplane has no such memzone.
struct IpsecCounters {
  bool available = false;
  uint32_t max_sa = 0, max_policies = 0;
  std::map<uint32_t, shm::SaCounters> sa;          // dataplane SA id -> counters
  std::map<uint32_t, shm::PolicyCounters> policy;  // policy id -> counters
  std::map<uint32_t, shm::SaRuntime> runtime;      // dataplane SA id -> runtime state
};

class DataplaneClient {
 public:
  virtual ~DataplaneClient() = default;

  // Handshake: schema check; tells whether a previous control process synced with this
  // dataplane (control_gen > 0), which decides what configuration control replays.
  virtual absl::StatusOr<msg::HelloBody> Hello() = 0;
  virtual absl::Status SyncBegin() = 0;
  virtual absl::Status SyncEnd() = 0;

  virtual absl::Status AddAddress(const msg::AddrBody& addr) = 0;
  virtual absl::Status DeleteAddress(const msg::AddrBody& addr) = 0;
  virtual absl::Status AddRoute(const msg::RouteBody& route) = 0;
  virtual absl::Status DeleteRoute(const msg::RouteBody& route) = 0;

  // Static neighbours (ADD/DELETE IP ARP): kNeighAdd / kNeighDel with ip, mac and port
  // (the startup config's port index) of body.arp_entry.
  virtual absl::Status AddNeighbour(const msg::ArpEntry& entry) = 0;
  virtual absl::Status DeleteNeighbour(const msg::ArpEntry& entry) = 0;

  virtual absl::StatusOr<std::vector<msg::ArpEntry>> DumpArp() = 0;
  virtual absl::StatusOr<std::vector<msg::PortEntry>> DumpPorts() = 0;
  virtual absl::Status ResetCounters() = 0;
  virtual absl::StatusOr<StatsSnapshot> ReadStats() = 0;

  // ---- IPsec (common/ring_msg.h, docs/control.md "IPsec") ----
  // kIpsecGlobal: module on/off and the local ESP-over-UDP port.
  virtual absl::Status SetIpsecGlobal(const msg::IpsecGlobalBody& g) = 0;
  // kSaAdd: install or replace one SA. The body holds key bytes: implementations wipe
  // every copy they make once it is sent.
  virtual absl::Status AddSa(const msg::SaBody& sa) = 0;
  virtual absl::Status DeleteSa(uint32_t sa_id) = 0;                  // kSaDel
  virtual absl::Status SetPolicy(const msg::PolicyBody& policy) = 0;  // kPolicySet
  virtual absl::Status DeletePolicy(uint32_t policy_id) = 0;          // kPolicyDel
  // The whole SPD in creation order: kSpdBegin, kSpdRules in chunks of
  // kMaxSpdRulesPerMsg, kSpdCommit (the dataplane compiles and swaps it in then).
  virtual absl::Status ReplaceSpd(const std::vector<msg::SpdRuleWire>& rules) = 0;
  // kSaDump, every page: the SAs the dataplane holds, never their keys (a restarted
  // control plane adopts the negotiated ones it finds; docs/control.md).
  virtual absl::StatusOr<std::vector<msg::SaDumpEntry>> DumpSas() = 0;
  // kSaKeep, between SyncBegin and SyncEnd: SA `sa_id` stays as it is (SyncEnd does not
  // sweep it); `policy_id` != msg::kNoSa is the id of the policy it belongs to from now on.
  virtual absl::Status KeepSa(uint32_t sa_id, uint32_t policy_id) = 0;
  virtual absl::StatusOr<IpsecCounters> ReadIpsecCounters(
      const std::vector<uint32_t>& sa_ids, const std::vector<uint32_t>& policy_ids) = 0;
};

}  // namespace arsec::control
