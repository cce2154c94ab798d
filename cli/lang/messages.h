// The AR-style reply lines, all in one table.
//
// Every reply the appliance prints is `Info (CODE): text.` or `Error (CODE): text.`, as on
// the AR410 (the seed shows `Info (182057): ISAKMP Debugging has been enabled.`). CODE is
// six digits, S MM NNN:
//   S   severity: 1 = Info, 3 = Error
//   MM  module that answers: 00 command language, 05 IP, 07 users, 11 config files,
//       12 log, 20 dataplane, 30 system, 81 IPsec, 82 ISAKMP, 83 ENCO (81/82 as in the seed)
//   NNN the message, the same number in every module (003 is always "Operation
//       successful", 057 always "... Debugging has been enabled").
// So `Error (305030): Interface "vlan9" does not exist.` is the IP module's "not found".
// Messages are absl::Substitute templates ($0, $1...); arsec-control uses the same table
// for its own replies, and docs/command-reference.md is generated from it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/substitute.h"

namespace arsec::lang {

enum class Module : int {
  kLang = 0,
  kIp = 5,
  kUser = 7,
  kConfig = 11,
  kLog = 12,
  kDataplane = 20,
  kSystem = 30,
  kIpsec = 81,
  kIsakmp = 82,
  kEnco = 83,
};

// X(enum name, NNN, template). Numbers are stable: append, never renumber.
#define ARSEC_LANG_MESSAGES(X)                                                         \
  X(kUnknownCommand, 1, "Unknown command \"$0\"")                                      \
  X(kAmbiguous, 2, "\"$0\" is ambiguous: it could be $1")                              \
  X(kOperationSuccessful, 3, "Operation successful")                                   \
  X(kIncomplete, 4, "Command incomplete: expected $0")                                 \
  X(kUnknownParameter, 5, "Parameter \"$0\" is not valid for this command")            \
  X(kMissingParameter, 6, "Required parameter \"$0\" is missing")                      \
  X(kDuplicateParameter, 7, "Parameter \"$0\" is given more than once")                \
  X(kValueRequired, 8, "Parameter \"$0\" requires a value")                            \
  X(kValueNotAllowed, 9, "Parameter \"$0\" does not take a value")                     \
  X(kOutOfRange, 10, "Value of parameter \"$0\" is out of range ($1..$2)")             \
  X(kNotNumber, 11, "Parameter \"$0\" must be a decimal number")                       \
  X(kBadIpv4, 12, "Parameter \"$0\" is not a valid IP address")                        \
  X(kBadMask, 13, "Parameter \"$0\" is not a valid mask")                              \
  X(kBadKeyword, 14, "Value \"$1\" is not valid for parameter \"$0\" (one of $2)")     \
  X(kAmbiguousValue, 15, "Value \"$1\" of parameter \"$0\" is ambiguous: it could be $2") \
  X(kBadName, 16, "Parameter \"$0\" is not a valid name (letters, digits, - _ .)")     \
  X(kTooLong, 17, "Value of parameter \"$0\" is too long (at most $1 characters)")     \
  X(kBadBool, 18, "Parameter \"$0\" must be TRUE or FALSE (YES/NO, ON/OFF)")           \
  X(kBadHex, 19, "Parameter \"$0\" must be 0x followed by pairs of hex digits or a quoted string") \
  X(kUnterminatedQuote, 20, "Unterminated quoted string")                              \
  X(kUnexpectedToken, 21, "Unexpected \"$0\"")                                         \
  X(kMutuallyExclusive, 22, "Parameters $0 cannot be used together")                   \
  X(kOneRequired, 23, "One of the parameters $0 must be given")                        \
  X(kBadInterface, 24, "Parameter \"$0\" is not a valid interface name (e.g. eth0, vlan1, ppp0-1)") \
  X(kLineTooLong, 25, "Command line is too long (at most $0 characters)")              \
  X(kInsufficientPrivilege, 26, "Insufficient privilege for this command")             \
  X(kNotLoggedIn, 27, "Not logged in")                                                 \
  X(kTooShort, 28, "Value of parameter \"$0\" is too short (minimum length $1)")\
  X(kNotFound, 30, "$0 \"$1\" does not exist")                                         \
  X(kAlreadyExists, 31, "$0 \"$1\" already exists")                                    \
  X(kInUse, 32, "$0 \"$1\" is in use: $2")                                             \
  X(kDataplaneRejected, 33, "The dataplane rejected the change: $0")                   \
  X(kDataplaneTimeout, 34, "The dataplane did not acknowledge the change")             \
  X(kFileError, 35, "File \"$0\": $1")                                                 \
  X(kInvalidValue, 36, "$0")                                                           \
  X(kLoginFailed, 37, "Login incorrect")                                               \
  X(kLastManager, 38, "The last user with MANAGER privilege cannot be removed")        \
  X(kTableFull, 39, "$0 table is full")                                                \
  X(kAddressConflict, 40, "$0")                                                        \
  X(kNotSupported, 41, "$0 is not supported")                                          \
  X(kScriptLineError, 42, "$0, line $1: $2")                                           \
  X(kInternalError, 43, "Internal error: $0")                                          \
  X(kRequiredWith, 44, "Parameter \"$0\" is required with $1")                          \
  X(kMustBeWith, 45, "Parameter \"$0\" must be $1 with $2")                             \
  X(kNotAllowedWith, 46, "Parameter \"$0\" cannot be used with $1")                     \
  X(kCannotBeWith, 47, "Parameter \"$0\" cannot be $1 with $2")                         \
  X(kBadBundleString, 48, "Parameter \"$0\" is not a valid bundle string: $1")          \
  X(kBadMac, 49, "Parameter \"$0\" is not a valid Ethernet address (xx-xx-xx-xx-xx-xx)") \
  X(kDebugEnabled, 57, "$0 Debugging has been enabled")                                \
  X(kDebugDisabled, 58, "$0 Debugging has been disabled")                              \
  X(kModuleEnabled, 59, "$0 has been enabled")                                         \
  X(kModuleDisabled, 60, "$0 has been disabled")

enum class Msg : int {
#define ARSEC_LANG_MSG_ENUM(name, num, text) name = num,
  ARSEC_LANG_MESSAGES(ARSEC_LANG_MSG_ENUM)
#undef ARSEC_LANG_MSG_ENUM
};

struct MessageInfo {
  Msg msg;
  std::string_view name;   // "kNotFound"
  std::string_view text;   // the template
};
const std::vector<MessageInfo>& AllMessages();
std::string_view MessageTemplate(Msg msg);

// S MM NNN as an int: Code(true, Module::kIp, Msg::kNotFound) == 305030.
int MessageCode(bool error, Module module, Msg msg);

// Defined in parser.cc; repeated here so this header stands alone.
std::string InfoLine(int code, std::string_view text);
std::string ErrorLine(int code, std::string_view text);

namespace internal {
// Debian's Abseil keeps its own absl::string_view (not std::string_view), so
// Substitute() cannot take std::string_view arguments; convert them on the way in.
inline absl::string_view SubArg(std::string_view s) { return absl::string_view(s.data(), s.size()); }
template <typename T>
const T& SubArg(const T& v) { return v; }
inline std::string Format(Msg msg) { auto t = MessageTemplate(msg); return absl::Substitute(absl::string_view(t.data(), t.size())); }
template <typename... Args>
std::string Format(Msg msg, const Args&... args) {
  auto t = MessageTemplate(msg);
  return absl::Substitute(absl::string_view(t.data(), t.size()), SubArg(args)...);
}
}  // namespace internal

// The message text with its arguments, without the "Info (...): " frame.
template <typename... Args>
std::string MessageText(Msg msg, const Args&... args) { return internal::Format(msg, args...); }

template <typename... Args>
std::string Info(Module module, Msg msg, const Args&... args) {
  return InfoLine(MessageCode(false, module, msg), internal::Format(msg, args...));
}
template <typename... Args>
std::string Error(Module module, Msg msg, const Args&... args) {
  return ErrorLine(MessageCode(true, module, msg), internal::Format(msg, args...));
}
// An error reply as a Status whose message is the whole reply line.
template <typename... Args>
absl::Status ErrorStatus(Module module, Msg msg, const Args&... args) {
  return absl::InvalidArgumentError(Error(module, msg, args...));
}
inline std::string Success(Module module) { return Info(module, Msg::kOperationSuccessful); }

}  // namespace arsec::lang
