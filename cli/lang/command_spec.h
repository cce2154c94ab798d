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
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace arsec::lang {

enum class Module : int;   // messages.h: which module answers (00 lang, 81 IPsec, ...)
struct ParsedCommand;      // parser.h

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
  kAddIpArp,            // ADD IP ARP=ip INTERFACE=if ETHERNET=mac: a static neighbour
  kDeleteIpArp,         // DELETE IP ARP=ip [INTERFACE=if]
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
  // ---- IPsec (module 81) ----
  kEnableIpsec,                  // ENABLE IPSEC
  kDisableIpsec,                 // DISABLE IPSEC
  kShowIpsec,                    // SHOW IPSEC
  kCreateIpsecPolicy,            // CREATE IPSEC POLICY=name ...
  kSetIpsecPolicy,               // SET IPSEC POLICY=name ...
  kDestroyIpsecPolicy,           // DESTROY IPSEC POLICY=name
  kShowIpsecPolicy,              // SHOW IPSEC POLICY[=name] [COUNTERS|SABUNDLE]
  kEnableIpsecPolicyDebug,       // ENABLE IPSEC POLICY=name DEBUG=...
  kDisableIpsecPolicyDebug,      // DISABLE IPSEC POLICY=name DEBUG=...
  kCreateIpsecSaSpec,            // CREATE IPSEC SASPECIFICATION=id ...
  kDestroyIpsecSaSpec,           // DESTROY IPSEC SASPECIFICATION=id
  kShowIpsecSaSpec,              // SHOW IPSEC SASPECIFICATION[=id]
  kCreateIpsecBundleSpec,        // CREATE IPSEC BUNDLESPECIFICATION=id KEYMAN= STRING= ...
  kDestroyIpsecBundleSpec,       // DESTROY IPSEC BUNDLESPECIFICATION=id
  kShowIpsecBundleSpec,          // SHOW IPSEC BUNDLESPECIFICATION[=id]
  kShowIpsecSa,                  // SHOW IPSEC SA[=id] [COUNTERS]
  kShowIpsecCounters,            // SHOW IPSEC COUNTERS[=group]
  kSetIpsec,                     // SET IPSEC UDPPORT=n
  kResetIpsecCounters,           // RESET IPSEC COUNTERS
  kResetIpsecSa,                 // RESET IPSEC SA[=id]: remove established SAs
  kPurgeIpsec,                   // PURGE IPSEC: remove the whole IPsec configuration
  // ---- ISAKMP (module 82) ----
  kEnableIsakmp,                 // ENABLE ISAKMP
  kDisableIsakmp,                // DISABLE ISAKMP
  kShowIsakmp,                   // SHOW ISAKMP
  kCreateIsakmpPolicy,           // CREATE ISAKMP POLICY=name PEER= ...
  kSetIsakmpPolicy,              // SET ISAKMP POLICY=name ...
  kDestroyIsakmpPolicy,          // DESTROY ISAKMP POLICY=name
  kShowIsakmpPolicy,             // SHOW ISAKMP POLICY[=name]
  kShowIsakmpSa,                 // SHOW ISAKMP SA[=id]
  kShowIsakmpExchange,           // SHOW ISAKMP EXCHANGE
  kShowIsakmpCounters,           // SHOW ISAKMP COUNTERS[=group]
  kEnableIsakmpDebug,            // ENABLE ISAKMP DEBUG=...
  kDisableIsakmpDebug,           // DISABLE ISAKMP DEBUG[=...]
  kResetIsakmp,                  // RESET ISAKMP: drop every ISAKMP SA and exchange
  kResetIsakmpCounters,          // RESET ISAKMP COUNTERS
  // ---- ENCO (module 83) and system (30) ----
  kCreateEncoKey,                // CREATE ENCO KEY=n TYPE= VALUE=|RANDOM ...
  kDestroyEncoKey,               // DESTROY ENCO KEY=n
  kShowEncoKey,                  // SHOW ENCO KEY[=n]
  kSetEncoSw,                    // SET ENCO SW STACCHANNELS=n
  kEnableSystemSecurityMode,     // ENABLE SYSTEM SECURITY_MODE
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
  kKeywordOrUint,  // one of `keywords` or a decimal in [min, max] (TRANSPORT=TCP|17,
                   // LPORT=ANY|500); a number spelled in keyword_aliases is stored as
                   // its keyword (TRANSPORT=6 is TCP)
  kKeywordOrIpv4,  // one of `keywords` or a dotted quad (PEERADDRESS=2.2.2.2|DYNAMIC)
  kBundleString,   // an SA bundle string ("5 and 1 and 3, 1"; bundle_string.h), stored
                   // in its canonical spelling; at most max characters
  kMac,            // an Ethernet address: the AR's 00-00-cd-01-02-03 or 00:00:cd:01:02:03;
                   // stored in the AR's form, lower case, dashes
};

struct ParamSpec {
  std::string_view name;                    // canonical, upper-case ("IPADDRESS")
  ValueType type = ValueType::kNone;
  std::vector<std::string_view> keywords;   // for kKeyword, kKeywordOrUint, kKeywordOrIpv4
  // Exact extra spellings of keyword values: {spelling, keyword} (ENCALG=3DES is
  // 3DESOUTER, HASHALG=SHA1 is SHA, TRANSPORT=6 is TCP). Never matched as prefixes.
  std::vector<std::pair<std::string_view, std::string_view>> keyword_aliases;
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

// A condition on one parameter as the user gave it in this command (defaults do not
// count: rules are checked before defaults are filled).
//   {"LPORT"}                          LPORT is given
//   {"PROTOCOL", {"ESP"}}              PROTOCOL is given and is ESP
//   {"ACTION", {"IPSEC"}, true}        ACTION is given and is not IPSEC
//   {"TRANSPORTPROTOCOL", {}, true}    TRANSPORTPROTOCOL is not given
struct ParamCond {
  std::string_view param;
  std::vector<std::string_view> values;  // stored (canonical) values; empty: any value
  bool negate = false;
};

// A rule between the parameters of one command: when every `when` condition holds,
// `then` must hold (kRequires) or must not hold (kForbids). The parser reports the
// first broken rule, in table order, naming the parameter of `then`:
//   kRequires, then {"INSPI"}            Parameter "INSPI" is required with KEYMANAGEMENT=MANUAL
//   kRequires, then {"UDPTUNNEL",{"TRUE"}} Parameter "UDPTUNNEL" must be TRUE with UDPPORT=3456
//   kForbids,  then {"ENCKEY"}           Parameter "ENCKEY" cannot be used with KEYMANAGEMENT=ISAKMP
//   kForbids,  then {"ENCALG",{"NULL"}}  Parameter "ENCALG" cannot be NULL with PROTOCOL=ESP and HASHALG=NULL
struct ParamRule {
  enum class Kind : uint8_t { kRequires, kForbids };
  Kind kind = Kind::kRequires;
  std::vector<ParamCond> when;
  ParamCond then;
};

// A check the declarative rules cannot express (the bundle STRING grammar against
// KEYMANAGEMENT). Returns the full AR error reply as an InvalidArgument status, or OK.
using CommandCheck = absl::Status (*)(const ParsedCommand&);

struct CommandSpec {
  CommandId id;
  std::vector<std::string_view> words;      // {"ADD", "IP", "INTERFACE"}
  // How the last word treats `=value`: the object of the command (INTERFACE=ppp0-1).
  enum class ObjectValue : uint8_t { kNone, kRequired, kOptional } object_value = ObjectValue::kNone;
  ParamSpec object;                         // type/range of the object's value
  std::vector<ParamSpec> params;
  Privilege privilege = Privilege::kManager;
  // The module whose code every error after the command words carries (Error (381006)
  // for a missing IPsec parameter). Module{} is kLang (00): the language's own errors.
  Module module = Module{};
  // Rules between parameters, checked after parsing: each is a list of parameter names
  // of which at most one / at least one may be given.
  std::vector<std::vector<std::string_view>> mutually_exclusive;
  std::vector<std::vector<std::string_view>> one_required;
  // Requires/forbids rules between parameters (ParamRule), checked after the two above.
  std::vector<ParamRule> rules;
  std::vector<CommandCheck> checks;         // checked last
  std::string_view help;
};

// The whole language: every command arsec knows, in one place (command_table.cc).
const std::vector<CommandSpec>& CommandTable();

}  // namespace arsec::lang
