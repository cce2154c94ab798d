// The SA bundle STRING of CREATE IPSEC BUNDLESPECIFICATION (pure code, no state).
//
//   "1"                          one SA spec
//   "5 and 1 and 3"              AND: SA specs of different protocols, applied in the
//                                order written (IPComp must come first; normally
//                                IPComp, ESP, AH)
//   "3 or 4"                     OR: alternatives of the same protocol (ISAKMP only)
//   "5 and 1 and 3, 1 and 3, 1"  comma: whole proposals in preference order (ISAKMP only)
//
// Grammar (keywords case-insensitive, blanks anywhere between tokens):
//   string   := proposal { "," proposal }
//   proposal := slot { "and" slot }
//   slot     := id { "or" id }
//   id       := decimal 0..kMaxSaSpecId
// Errors carry the 1-based column in the string: `expected "and", "or", "," or the end
// at column 3`. ParseBundleString checks the grammar (and that no id repeats inside one
// proposal); CheckBundleShape adds the KEYMANAGEMENT=MANUAL restriction; ValidateBundle
// checks the ids against the SA specs (through a lookup callback) for arsec-control.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace arsec::lang {

// The AR410 numbers SA and bundle specifications 0..255; arsec allows 0..65535 so that
// a manually keyed gateway can carry as many SAs as its dataplane (thousands of
// tunnels, the benchmark configuration).
inline constexpr uint32_t kMaxSaSpecId = 65535;  // SASPECIFICATION=0..65535

enum class SaProtocol : uint8_t { kAh, kEsp, kComp };
enum class KeyManagement : uint8_t { kIsakmp, kManual };

// One AND-ed position of a proposal: the SA specs that may fill it (OR), in the order
// written; all of one protocol once validated.
struct BundleSlot {
  std::vector<uint32_t> spec_ids;
  std::vector<size_t> columns;   // 1-based column of each id in the string
};

// One proposal: its slots in the order they are applied to an outgoing packet.
struct BundleProposal {
  std::vector<BundleSlot> slots;
  size_t column = 0;             // 1-based column where the proposal starts
};

struct BundleString {
  std::vector<BundleProposal> proposals;   // in preference order, at least one
};

// Errors are InvalidArgument with a message like
// `SA specification 300 is out of range (0..65535) at column 7` (no reply frame: callers
// put it into Msg::kBadBundleString).
absl::StatusOr<BundleString> ParseBundleString(std::string_view text);

// Canonical spelling: "5 and 1 and 3, 1 and 3, 1" (lower-case keywords, one blank
// around "and"/"or", ", " between proposals). Parsing it gives the same BundleString.
std::string FormatBundleString(const BundleString& b);

// KEYMANAGEMENT=MANUAL allows exactly one proposal without OR (manual SAs are not
// negotiated). ISAKMP allows everything the grammar does.
absl::Status CheckBundleShape(const BundleString& b, KeyManagement keyman);

struct SaSpecInfo {
  SaProtocol protocol;
  KeyManagement keyman;
};
// Returns the SA spec with this id, or nullopt when there is none.
using SaSpecLookup = std::function<std::optional<SaSpecInfo>(uint32_t id)>;

// Everything about a bundle that needs the SA specs, in this order: the shape
// (CheckBundleShape); every id exists and has the bundle's KEYMANAGEMENT; an OR list
// holds one protocol only; the slots of a proposal have different protocols; IPComp
// comes first in its proposal.
absl::Status ValidateBundle(const BundleString& b, KeyManagement keyman,
                            const SaSpecLookup& lookup);

// Every SA spec id the bundle names, ascending, each once (for "in use" checks).
std::vector<uint32_t> BundleSpecIds(const BundleString& b);

// Keyword helpers for the stored values of KEYMANAGEMENT and PROTOCOL.
std::optional<KeyManagement> KeyManagementFromKeyword(std::string_view kw);  // ISAKMP|MANUAL
std::optional<SaProtocol> SaProtocolFromKeyword(std::string_view kw);        // AH|ESP|COMP
std::string_view SaProtocolName(SaProtocol p);                                // "AH", "ESP", "IPComp"

}  // namespace arsec::lang
