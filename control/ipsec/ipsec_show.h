// The SHOW views of the IPsec and ENCO modules, as pure functions of the model, the key
// store and the counters read from the dataplane (so their layouts are unit-tested
// without one). Layouts follow the seed's: a title, rules of dashes, aligned columns for
// lists (`show ipsec sa`: SA Id, Policy, Bundle, State, Protocol, OutSPI, InSPI), the
// SA-bundle view of `show ipsec policy sabundle` with its "Policy ..........name"
// headings and hard/soft/used limits, and dotted `Field ....... value` lines for the
// detail of one object. No key byte is ever formatted here: specifications show key
// numbers, SHOW ENCO KEY=n's value comes from EncoKeyStore::ValueText.
#pragma once

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "common/dp_stats.h"
#include "control/dataplane_client.h"
#include "control/ipsec/enco_keys.h"
#include "control/ipsec/ipsec_model.h"

namespace arsec::control {

// `Name ............ value` with the value starting at a fixed column.
std::string DottedField(absl::string_view name, absl::string_view value);

std::string FormatIpsecModule(const IpsecModel& m);
std::string FormatIpsecPolicies(const IpsecModel& m);
std::string FormatIpsecPolicyDetail(const IpsecModel& m, const Policy& p);
// `only` null: every policy.
std::string FormatIpsecPolicyCounters(const IpsecModel& m, const Policy* only,
                                      const IpsecCounters& c);
std::string FormatIpsecPolicySaBundles(const IpsecModel& m, const Policy* only,
                                       const IpsecCounters& c);
std::string FormatIpsecSaSpecs(const IpsecModel& m, std::optional<uint32_t> only);
std::string FormatIpsecBundleSpecs(const IpsecModel& m, std::optional<uint32_t> only);
std::string FormatIpsecSas(const IpsecModel& m, const IpsecCounters& c);
std::string FormatIpsecSaDetail(const IpsecModel& m, const SaRecord& sa, const IpsecCounters& c);
// `only` nullopt: every SA.
std::string FormatIpsecSaCounters(const IpsecModel& m, std::optional<uint32_t> only,
                                  const IpsecCounters& c);
// The ipsec* counters of the dataplane (dp_stats.h), summed over workers; `filter`
// (case-insensitive substring of the name) keeps only some, "" keeps all.
std::string FormatIpsecCounters(const shm::Stats& s, absl::string_view filter);

std::string FormatEncoKeys(const EncoKeyStore& keys, const IpsecModel& m);

// The ids whose counters the views above need.
std::vector<uint32_t> DataplaneSaIds(const IpsecModel& m);
std::vector<uint32_t> PolicyIds(const IpsecModel& m);

}  // namespace arsec::control
