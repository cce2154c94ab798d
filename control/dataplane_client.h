// The control plane's only door to the dataplane, as an interface.
//
// Every change the configuration model makes goes through DataplaneClient first and is
// committed to the model only when the dataplane acknowledges it. The real client
// (ring_dataplane_client.h) carries requests on rte_rings and reads counters from the
// stats memzone; unit tests of the model use a recording fake that can be told to say no.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/dp_stats.h"
#include "common/ring_msg.h"

namespace arsec::control {

// A copy of the dataplane's counters, taken at one moment (plain struct copy of the
// memzone: each 64-bit counter is read atomically on x86, blocks may be a few packets
// apart, which is what a SHOW needs).
struct StatsSnapshot {
  shm::Stats stats{};
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
};

}  // namespace arsec::control
