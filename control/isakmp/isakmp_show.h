// The SHOW views of the ISAKMP module, as pure functions of the model and of the plain
// snapshots the IKE daemon hands out (control/ike/ike_status.h), so their layouts are
// unit-tested without a daemon. Layouts follow the seed's: `show isakmp sa` with its
// "Expiry Limits - hard/soft/used" heading over "SA Id PeerAddress EncA. HashA. Bytes
// Seconds", `show isakmp exchange` with "Id Phase State PeerAddress Type", and the AR
// family's dotted `Field ....... value` lines for the detail of one object.
// XAUTHPASS and pre-shared key values are never formatted: a policy shows its KEY
// number and whether an XAUTH password is set.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "control/ike/ike_status.h"
#include "control/isakmp/isakmp_model.h"

namespace arsec::control {

// ENABLE/DISABLE ISAKMP DEBUG=keyword -> ike::kDebug* flags (ike_service.h); 0 unknown.
uint32_t IsakmpDebugFlags(absl::string_view keyword);
// "PKT, STATE" for a set of flags; "NONE" for 0.
std::string IsakmpDebugName(uint32_t flags);

// SHOW ISAKMP: module status and totals; `debug`: this console's debug flags.
std::string FormatIsakmpModule(const IsakmpModel& m, size_t sas, size_t exchanges,
                               uint32_t debug);
std::string FormatIsakmpPolicies(const IsakmpModel& m);
std::string FormatIsakmpPolicyDetail(const IsakmpModel& m, const IsakmpPolicy& p);
std::string FormatIsakmpSas(const std::vector<ike::IsakmpSaInfo>& sas);
std::string FormatIsakmpSaDetail(const ike::IsakmpSaInfo& sa);
std::string FormatIsakmpExchanges(const std::vector<ike::ExchangeInfo>& x);
// `group`: "" for every group, else one group's name (GENERAL, MAIN, ...).
std::string FormatIsakmpCounters(const ike::IsakmpCounters& c, absl::string_view group);

}  // namespace arsec::control
