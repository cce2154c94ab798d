// A recording DataplaneClient for unit tests: remembers every request as one line of
// text, holds the state a real dataplane would (addresses, routes) so SyncEnd sweeps can
// be checked, and can be told to refuse the next request or every request.
#pragma once

#include <map>
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
  // IPsec: the state a real dataplane would hold (SAs with their keys, for assertions;
  // `calls` never shows key bytes). SyncEnd drops SAs and policies not re-asserted.
  absl::Status SetIpsecGlobal(const msg::IpsecGlobalBody& g) override;
  absl::Status AddSa(const msg::SaBody& sa) override;
  absl::Status DeleteSa(uint32_t sa_id) override;
  absl::Status SetPolicy(const msg::PolicyBody& policy) override;
  absl::Status DeletePolicy(uint32_t policy_id) override;
  absl::Status ReplaceSpd(const std::vector<msg::SpdRuleWire>& rules) override;
  // The SAs of `sas` without keys; lifetimes so far from `sa_runtime` (age, bytes,
  // state), policy fields from `policies`. Like the real dataplane, an ISAKMP policy
  // re-set without SAs during a sync keeps the bundle of its predecessor (same id, name
  // and peer), and SyncEnd clears the bundle of a policy whose SAs it swept.
  absl::StatusOr<std::vector<msg::SaDumpEntry>> DumpSas() override;
  absl::Status KeepSa(uint32_t sa_id, uint32_t policy_id) override;
  absl::StatusOr<IpsecCounters> ReadIpsecCounters(
      const std::vector<uint32_t>& sa_ids, const std::vector<uint32_t>& policy_ids) override;

  msg::IpsecGlobalBody ipsec_global{};
  std::map<uint32_t, msg::SaBody> sas;            // by dataplane SA id
  std::map<uint32_t, msg::PolicyBody> policies;   // by policy id
  std::vector<msg::SpdRuleWire> spd;              // the committed SPD
  int spd_commits = 0;
  IpsecCounters ipsec_counters;                   // what ReadIpsecCounters returns
  std::map<uint32_t, shm::SaRuntime> sa_runtime;  // what DumpSas reports (age, bytes, state)
  bool dump_unsupported = false;                  // DumpSas answers Unimplemented

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
  absl::Status Refusal();
  bool syncing_ = false;
  std::set<std::string> asserted_;
  std::set<uint32_t> asserted_sas_, asserted_policies_;
};

}  // namespace arsec::control::testing
