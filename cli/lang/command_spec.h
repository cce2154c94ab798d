// The AR command language, declared as data.
//
// Every command is one CommandSpec: its fixed words (verb, module, object), whether the
// object word takes `=value` (CREATE IPSEC POLICY=name), and every parameter with its
// type, range, default and the rules between parameters. The same table drives parsing
// (arsec-control), tab completion and `?` help (the arsec client), and the command
// reference in docs/. Handlers live in arsec-control and are bound by CommandId.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace arsec::lang {

enum class Privilege : uint8_t { kUser = 0, kManager = 1, kSecurityOfficer = 2 };

// Identifies a command to the handler table in arsec-control.
enum class CommandId : uint16_t {
  kAddIpInterface,
  kDeleteIpInterface,
  kAddIpRoute,
  kDeleteIpRoute,
  kShowIpInterface,
  kShowIpRoute,
  kShowIpArp,
  kEnableIp,            // ENABLE IP [REMOTEASSIGN]: accepted, as the seed's scripts use it
  kShowDataplane,       // SHOW DATAPLANE [PORTS|COUNTERS|RUNTIME]
  kResetDataplane,      // RESET DATAPLANE COUNTERS
  kAddUser,
  kDeleteUser,
  kSetUser,
  kShowUser,
  kCreateConfig,
  kSetConfig,
  kShowConfig,
  kShowLog,
  kLogin,               // LOGIN / LOGOFF are console-level but go through the same table
  kLogoff,
  kHelp,
};

enum class ValueType : uint8_t {
  kNone,       // a flag: the parameter takes no value (COUNTERS, RANDOM)
  kKeyword,    // one of `keywords` (unique-prefix, case-insensitive); stored upper-case
  kUint,       // decimal, within [min, max]
  kIpv4,       // dotted quad
  kMask,       // dotted quad that must be a contiguous netmask
  kName,       // a name: letters, digits, '-', '_', '.', up to max chars
  kString,     // quoted or bare string, up to max chars
  kBool,       // TRUE/FALSE, YES/NO, ON/OFF; stored "TRUE"/"FALSE"
  kHexOrString, // 0x... hex bytes or a quoted string (ENCO key values)
  kInterface,  // interface name: letters then a unit number, optional -N logical
               // interface (eth0, vlan1, ppp0-1); stored lower-case
};

struct ParamSpec {
  std::string_view name;                    // canonical, upper-case ("IPADDRESS")
  ValueType type = ValueType::kNone;
  std::vector<std::string_view> keywords;   // for kKeyword
  uint64_t min = 0, max = UINT32_MAX;       // kUint range; kName/kString max length
  bool required = false;
  std::string_view default_value;           // "" = no default
  std::vector<std::string_view> aliases;    // exact extra spellings (the seed's "DESCRITION")
  bool value_optional = false;              // NAME alone or NAME=value (SHOW IPSEC POLICY)
  std::string_view help;
  // kMask only: when not given, the default is the natural (classful) mask of this
  // parameter's address, as the AR does (10.x -> 255.0.0.0, 0.0.0.0 -> 0.0.0.0).
  std::string_view default_mask_of;
  // A secret (PASSWORD, keys): kept out of the client's history and of logs; Redacted()
  // prints it as ********.
  bool secret = false;
};

struct CommandSpec {
  CommandId id;
  std::vector<std::string_view> words;      // {"ADD", "IP", "INTERFACE"}
  // How the last word treats `=value`: the object of the command (INTERFACE=ppp0-1).
  enum class ObjectValue : uint8_t { kNone, kRequired, kOptional } object_value = ObjectValue::kNone;
  ParamSpec object;                         // type/range of the object's value
  std::vector<ParamSpec> params;
  Privilege privilege = Privilege::kManager;
  // Rules between parameters, checked after parsing: each is a list of parameter names
  // of which at most one / at least one may be given.
  std::vector<std::vector<std::string_view>> mutually_exclusive;
  std::vector<std::vector<std::string_view>> one_required;
  std::string_view help;
};

// The whole language: every command arsec knows, in one place (command_table.cc).
const std::vector<CommandSpec>& CommandTable();

}  // namespace arsec::lang
