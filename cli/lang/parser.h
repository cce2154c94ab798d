// Parsing one command line of the AR language against the command table.
//
// Tokenising (PARAM=value, quoted strings, `#` comments), case-insensitive unique-prefix
// matching of words and parameter names (an exact match wins over prefixes), value
// checking, defaults, and the cross-parameter rules. On failure the status message is the
// full AR-style reply line, e.g. `Error (3035011): Parameter "MASK" is not a valid mask.`
#pragma once

#include <cstdint>
#include <map>
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/lang/command_spec.h"

namespace arsec::lang {

struct ParsedCommand {
  const CommandSpec* spec = nullptr;
  std::optional<std::string> object;            // value of the object word, if given
  std::map<std::string, std::string> params;    // canonical name -> value (defaults filled)
  std::vector<std::string> given;               // names the user actually typed, in order

  bool Has(std::string_view name) const;
  // Value of a parameter or "" if absent. Typed accessors for checked values.
  std::string Get(std::string_view name) const;
  uint64_t GetUint(std::string_view name, uint64_t fallback = 0) const;
  uint32_t GetIpv4(std::string_view name, uint32_t fallback = 0) const;  // host order
  bool GetBool(std::string_view name, bool fallback = false) const;
};

// Returns nullopt for an empty or comment-only line.
absl::StatusOr<std::optional<ParsedCommand>> Parse(std::string_view line,
                                                   const std::vector<CommandSpec>& table = CommandTable());

// For tab completion: what may come next after `line_prefix` (words, NAME= forms, or
// keyword values), filtered by the partial token under the cursor.
// `text` replaces the partial word under the cursor: everything after the last blank or
// '=' of line_prefix (so a keyword value is offered as "TRUE", not "LOGIN=TRUE").
// Candidates come upper-case, in table order; empty when nothing may follow or the
// prefix cannot be parsed.
struct Candidate {
  std::string text;   // e.g. "INTERFACE", "IPADDRESS=", "TRUE"
  std::string help;
};
std::vector<Candidate> Complete(std::string_view line_prefix,
                                const std::vector<CommandSpec>& table = CommandTable());

// AR-style reply lines.
std::string InfoLine(int code, std::string_view text);   // "Info (NNNNNN): text."
std::string ErrorLine(int code, std::string_view text);  // "Error (NNNNNN): text."

// Canonical text of a parsed command (upper-case words, canonical parameter names,
// quoting where needed) as CREATE CONFIG writes it.
std::string Canonical(const ParsedCommand& cmd);

// ---- additions (lang helper) ----

// Longest command line Parse accepts.
inline constexpr size_t kMaxLineLength = 4096;

// The first table entry with this id (LOGOFF has a second spelling, LOGOUT).
const CommandSpec* FindCommand(CommandId id, const std::vector<CommandSpec>& table = CommandTable());

// The natural (classful) mask of a host-order address, as the AR defaults MASK:
// 0.0.0.0 -> 0.0.0.0, class A -> /8, B -> /16, C -> /24, D/E -> /32.
uint32_t NaturalMask(uint32_t addr);
// Dotted quad <-> host-order address; ParseIpv4 is strict (four decimal octets).
std::optional<uint32_t> ParseIpv4(std::string_view text);
std::string FormatIpv4(uint32_t addr);
// Ethernet addresses: ParseMac takes six pairs of hex digits joined all by '-' (the
// AR's form) or all by ':'; FormatMac writes the AR's form, lower case
// ("00-00-cd-01-02-03").
std::optional<std::array<uint8_t, 6>> ParseMac(std::string_view text);
std::string FormatMac(const std::array<uint8_t, 6>& mac);
// The command's words joined by blanks ("ADD IP INTERFACE").
std::string CommandName(const CommandSpec& spec);
// Canonical() with every secret parameter's value shown as ******** (for logs, echo).
std::string Redacted(const ParsedCommand& cmd);
// True when the command was given a secret parameter (PASSWORD=...).
bool HasSecret(const ParsedCommand& cmd);
// For lines that do not parse: true when any NAME=value in it could name a secret
// parameter of some command, so callers keep the line out of history and logs.
bool MayHoldSecret(std::string_view line, const std::vector<CommandSpec>& table = CommandTable());
// How the value of a parameter is written in help and docs ("1..16", "a.b.c.d",
// "USER|MANAGER|SECURITYOFFICER").
std::string ValueSyntax(const ParamSpec& p);
// A rule in words, for help and docs: "With PROTOCOL=ESP: HASHALG is required",
// "With KEYMANAGEMENT=MANUAL: PEERADDRESS cannot be DYNAMIC|ANY".
std::string RuleText(const ParamRule& r);

}  // namespace arsec::lang
