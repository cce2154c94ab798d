// The IPsec module's configuration (module state, SA specifications, bundle
// specifications, policies in creation order) and the dataplane state made from it.
//
// Rules, as in the rest of the model (config_model.h): a command is validated whole
// first (every rule the seed states, each a clear error naming the parameter); then the
// dataplane is changed; the model commits only when the dataplane acknowledged. A refused
// change is rolled back on both sides.
//
// Dataplane state per policy (PolicyState): its kPolicySet body, its SPD rule and, for a
// MANUAL policy while IPsec is enabled, the SAs of its bundle (sa_builder.h). Each SA
// specification of a bundle becomes one SA pair with a SHOW IPSEC SA id n, installed as
// dataplane SA ids 2n (outbound) and 2n+1 (inbound). A change installs the new SAs under
// new ids, points the policy at them, then removes the old ones, so traffic never sees a
// policy naming a missing SA. An unchanged SA (same digest) is left alone.
//
// The SPD is one table compiled whole by the dataplane, so it is not rebuilt for every
// command: changes mark it dirty and FlushSpd() sends it (the controller decides when:
// after an interactive command, at most every few hundred milliseconds while a script
// pours in, before a SHOW, at the end of a replay). A policy leaves the SPD (flushed at
// once) before its dataplane state is removed.
//
// Not thread-safe: the Controller serialises access under its mutex.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "control/config/config_model.h"
#include "control/dataplane_client.h"
#include "control/ipsec/enco_keys.h"
#include "control/ipsec/ipsec_types.h"
#include "control/ipsec/sa_builder.h"

namespace arsec::control {

// One established SA pair (SHOW IPSEC SA). Manual SAs are made here; negotiated ones
// will be registered by the IKE side through the same ids.
struct SaRecord {
  uint32_t id = 0;                 // SHOW id n; dataplane ids 2n (out), 2n+1 (in)
  uint32_t policy_id = 0;
  uint32_t bundle_id = 0;          // bundle specification
  uint32_t spec_id = 0;            // SA specification
  unsigned index = 0;              // position in the bundle (0 = applied first)
  bool manual = true;
  SaProtocol protocol = SaProtocol::kEsp;
  bool tunnel = true;
  EncAlg enc = EncAlg::kNull;
  HashAlg hash = HashAlg::kNull;
  CompAlg comp = CompAlg::kNone;
  uint32_t out_spi = 0, in_spi = 0;
  uint32_t local = 0, peer = 0;
  uint8_t encap = 0;               // msg::SaEncap
  uint16_t encap_sport = 0, encap_dport = 0;
  bool antireplay = false;
  uint32_t window = 0;
  uint32_t soft_seconds = 0, hard_seconds = 0;
  uint64_t soft_kbytes = 0, hard_kbytes = 0;
  absl::Time created;
  // The dataplane reported a lifetime passed (kEvtSaExpiry, either direction): soft asks
  // for a rekey, hard means the dataplane removed the SA (SHOW IPSEC SA: "Expired").
  bool soft_expired = false, hard_expired = false;

  uint32_t dp_out() const { return 2 * id; }
  uint32_t dp_in() const { return 2 * id + 1; }
};

// A negotiated bundle a restarted control plane found in the dataplane and adopted
// (IpsecModel::AdoptNegotiated): what the IKE side needs to rekey it in time.
struct AdoptedBundle {
  uint32_t policy_id = 0;
  std::vector<uint32_t> sa_ids;      // SHOW IPSEC SA ids, bundle order
  uint32_t local = 0, peer = 0;
  std::vector<SaProtocol> protocols; // bundle order, with the SPIs of each
  std::vector<uint32_t> in_spis, out_spis;
  // Whole seconds until the first soft lifetime of the bundle by time (nullopt: none);
  // `soft_passed`: a soft lifetime (time or kilobytes) ran out already, rekey at once.
  std::optional<uint32_t> soft_left_s;
  bool soft_passed = false;
};

// What the dataplane holds for one policy.
struct PolicyState {
  bool installed = false;            // kPolicySet acknowledged
  msg::PolicyBody body{};            // as last acknowledged (no keys in it)
  std::vector<uint32_t> sa_ids;      // SaRecord ids, bundle order
  std::vector<std::string> digests;  // SaPairDigest of each (manual SAs)
  std::string no_sa_reason;          // why an IPSEC policy has no SA ("" when it has)
  msg::SpdRuleWire rule{};
  // RNAME without RADDRESS (the seed's VPN clients): the remote selector is the address
  // of the peer that negotiated under that name; 0 until one has (the rule then matches
  // nothing, 0.0.0.0/32).
  uint32_t dynamic_remote = 0;
};

class IpsecModel {
 public:
  IpsecModel(DataplaneClient* dp, const ConfigModel* ip, const EncoKeyStore* keys);

  // ---- module
  absl::Status SetEnabled(bool on);
  absl::Status SetUdpPort(uint32_t port);
  bool enabled() const { return enabled_; }
  uint16_t udp_port() const { return udp_port_; }
  // Sends kIpsecGlobal as the model has it (start-up reconcile).
  absl::Status AssertGlobal();

  // ---- SA and bundle specifications
  absl::Status CreateSaSpec(const SaSpec& spec);
  absl::Status DestroySaSpec(uint32_t id);
  absl::Status CreateBundleSpec(uint32_t id, KeyManagement keyman, absl::string_view text,
                                std::optional<uint32_t> expiry_seconds,
                                std::optional<uint32_t> expiry_kbytes);
  absl::Status DestroyBundleSpec(uint32_t id);

  // ---- policies. `params`: canonical parameter name -> stored value, as the command
  // gave them (POSITION excluded). Errors that are whole reply lines (the language's
  // own rules, checked on the merged parameters) start with "Error (".
  absl::Status CreatePolicy(absl::string_view name, std::map<std::string, std::string> params,
                            std::optional<uint32_t> position);
  absl::Status SetPolicy(absl::string_view name, const std::map<std::string, std::string>& params,
                         std::optional<uint32_t> position);
  absl::Status DestroyPolicy(absl::string_view name);
  absl::Status SetPolicyDebug(absl::string_view name, uint8_t bits, bool enable);
  // Removes every policy, bundle and SA specification (PURGE IPSEC); module state stays.
  absl::Status Purge();

  // Re-derives every policy's dataplane state (after IP address changes, ENABLE/DISABLE,
  // UDPPORT, a key change): only what differs is sent.
  absl::Status Resync();

  // ---- the SPD
  bool spd_dirty() const { return spd_dirty_; }
  void MarkSpdDirty() { spd_dirty_ = true; }
  absl::Status FlushSpd();           // sends the SPD if dirty
  std::vector<msg::SpdRuleWire> SpdRules() const;

  // ---- reads
  const Policy* FindPolicy(absl::string_view name) const;
  const Policy* PolicyById(uint32_t id) const;
  std::vector<const Policy*> PoliciesInOrder() const;
  // 1-based position of a policy among its interface's policies.
  unsigned PositionOf(const Policy& p) const;
  const std::map<uint32_t, SaSpec>& sa_specs() const { return sa_specs_; }
  const std::map<uint32_t, BundleSpec>& bundle_specs() const { return bundles_; }
  const std::map<uint32_t, SaRecord>& sas() const { return sas_; }
  const PolicyState* StateOf(uint32_t policy_id) const;
  absl::StatusOr<PolicyView> View(const Policy& p) const;
  // "SA specification 1" when an SA specification names this ENCO key; nullopt if none.
  std::optional<std::string> KeyUsedBy(uint32_t key_id) const;
  // The tunnel source of a policy: the address of its interface, or of the logical
  // interface of its base the route to the peer leaves by, or the seed's unnumbered rule.
  uint32_t TunnelSource(const PolicyView& v) const;
  // A note for the reply to the last policy change ("no SA yet: ..."), cleared by each.
  const std::string& note() const { return note_; }
  // Log lines since the last call, in the seed's words ("SA bundle created: Policy - v1").
  std::vector<std::string> TakeEvents() { return std::move(events_); }
  // RESET IPSEC SA[=id]: reinstalls manual SAs (fresh sequence numbers, new ids); nullopt
  // resets every SA.
  absl::Status ResetSas(std::optional<uint32_t> sa_id);
  // kEvtSaExpiry for dataplane SA id `dp_sa_id`: marks its record soft or hard expired.
  // nullptr (nothing changed) when no SA has that id, e.g. one already replaced.
  const SaRecord* NoteSaExpiry(uint32_t dp_sa_id, bool hard);

  // The IPsec part of the running configuration as commands (no key material).
  std::string Canonical() const;

  // ---- SAs negotiated by IKE (the daemon, through the controller)
  // Installs a negotiated bundle of an ISAKMP policy (pairs in bundle order, keys inside:
  // wiped here; records describe them for SHOW IPSEC SA). Each pair gets an SA id, then
  // the policy is pointed at the new SAs. The SAs it pointed at before stay installed
  // (make-before-break: the IKE side removes them once the peer has switched). Returns
  // the new SA ids, bundle order.
  // With `activate` false the SAs are installed but the policy is not repointed yet
  // (the initiator of a rekey: ActivateNegotiated does it a moment later).
  absl::StatusOr<std::vector<uint32_t>> InstallNegotiated(uint32_t policy_id,
                                                          std::vector<SaPair> pairs,
                                                          std::vector<SaRecord> records,
                                                          bool activate = true);
  // Points the SAs' policy at them (after InstallNegotiated(..., false)).
  absl::Status ActivateNegotiated(const std::vector<uint32_t>& sa_ids);
  // Removes negotiated SAs; a policy that pointed at them is left without SAs.
  void RemoveNegotiated(const std::vector<uint32_t>& sa_ids);
  // Whether an inbound SPI (or IPComp CPI) of `proto` (50, 51, 108) is taken.
  bool InboundSpiInUse(uint8_t proto, uint32_t spi) const;

  // ---- a restarted control plane (Controller::Start, between SyncBegin and SyncEnd)
  // Before the replay: the SA ids of pairs the dataplane holds for ISAKMP policies are
  // set aside, so manual SAs of the replay do not take the ids of SAs still to adopt.
  void ReserveForAdoption(const std::vector<msg::SaDumpEntry>& held);
  // After the replay: each current bundle of a policy the dataplane held (pairs 2n/2n+1
  // in the policy's bundle) whose policy is, by name, still an IPSEC KEYMAN=ISAKMP
  // policy without SAs, with the same peer and tunnel source, is adopted: re-asserted
  // (kSaKeep, renumbered to the replayed policy's id if that changed), recorded as
  // negotiated SAs (SHOW IPSEC SA) and the policy pointed at it. Ids set aside and not
  // adopted are freed; the SAs left over are swept by SyncEnd. No key bytes involved.
  std::vector<AdoptedBundle> AdoptNegotiated(const std::vector<msg::SaDumpEntry>& held);

  // SA ids shared with the IKE side: the smallest free id >= 1.
  uint32_t AllocateSaId();
  void ReleaseSaId(uint32_t id);

 private:
  absl::Status CheckPolicy(const Policy& p, const PolicyView& v) const;
  // The policy's SPD rule: its selectors, with LNAME standing for the tunnel source and
  // RNAME for the negotiated peer (st.dynamic_remote) where no address is given.
  msg::SpdRuleWire RuleFor(const Policy& p, const PolicyView& v, const PolicyState& st) const;
  // Recomputes a policy's rule after its dynamic remote changed; marks the SPD dirty.
  void RefreshRule(uint32_t policy_id);
  // Brings the dataplane in line with the policy; on error nothing changed there.
  absl::Status SyncPolicy(const Policy& p);
  absl::Status RemoveDataplaneState(uint32_t policy_id);
  void DeleteSas(const std::vector<uint32_t>& ids);
  std::string CanonicalPolicy(const Policy& p) const;
  uint32_t AllocatePolicyId();
  // bundle_users_: which IPSEC policies name each bundle specification.
  void IndexBundle(const Policy& p, bool add);
  void Insert(uint32_t id, absl::string_view ifname_base, std::optional<uint32_t> position);

  DataplaneClient* dp_;
  const ConfigModel* ip_;
  const EncoKeyStore* keys_;
  bool enabled_ = false;
  uint16_t udp_port_ = kDefaultUdpPort;
  std::map<uint32_t, SaSpec> sa_specs_;
  std::map<uint32_t, BundleSpec> bundles_;
  std::map<uint32_t, Policy> policies_;             // by id
  std::vector<uint32_t> order_;                     // creation order (POSITION-adjusted)
  absl::flat_hash_map<std::string, uint32_t> by_name_;  // lower-case name -> id
  std::map<uint32_t, PolicyState> state_;
  std::map<uint32_t, SaRecord> sas_;
  std::map<uint32_t, std::set<uint32_t>> bundle_users_;
  std::vector<bool> policy_id_used_;
  std::vector<bool> sa_id_used_;                    // index = SA id; 0 never used
  std::set<uint32_t> adoption_reserved_;            // ReserveForAdoption, until adopted
  bool spd_dirty_ = false;
  std::string note_;
  std::vector<std::string> events_;
};

}  // namespace arsec::control
