// A recording DataplaneClient for unit tests: remembers every request as one line of
// text, holds the state a real dataplane would (addresses, routes) so SyncEnd sweeps can
// be checked, and can be told to refuse the next request or every request.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "control/dataplane_client.h"

namespace arsec::control::testing {

class FakeDataplane : public DataplaneClient {
 public:
  FakeDataplane();

  absl::StatusOr<msg::HelloBody> Hello() override;
  absl::Status SyncBegin() override;
  absl::Status SyncEnd() override;
  absl::Status AddAddress(const msg::AddrBody& addr) override;
  absl::Status DeleteAddress(const msg::AddrBody& addr) override;
  absl::Status AddRoute(const msg::RouteBody& route) override;
  absl::Status DeleteRoute(const msg::RouteBody& route) override;
  // Static neighbours also appear in `arp` (Reachable, no expiry), as the real
  // dataplane's dump shows them; SyncEnd does not sweep them (the real one does not).
  absl::Status AddNeighbour(const msg::ArpEntry& entry) override;
  absl::Status DeleteNeighbour(const msg::ArpEntry& entry) override;
  absl::StatusOr<std::vector<msg::ArpEntry>> DumpArp() override;
  absl::StatusOr<std::vector<msg::PortEntry>> DumpPorts() override;
  absl::Status ResetCounters() override;
  absl::StatusOr<StatsSnapshot> ReadStats() override;

  std::vector<std::string> calls;      // "addr_add vlan1-0 4.4.4.1/29 port=0", ...
  absl::Status refuse_next;            // returned (once) by the next change request
  absl::Status refuse_all;             // returned by every change request while not OK
  uint32_t control_gen = 0;            // what Hello reports
  std::vector<msg::ArpEntry> arp;
  StatsSnapshot stats;
  std::set<std::string> state;         // the "dataplane's" addresses and routes
  int resets = 0;

 private:
  absl::Status Change(std::string call, const std::string& key, bool add);
  bool syncing_ = false;
  std::set<std::string> asserted_;
};

}  // namespace arsec::control::testing
