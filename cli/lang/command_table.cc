// Every command of the arsec language, as data (types in command_spec.h).
//
// Adding a command: append its CommandId, add one entry here, bind a handler in
// arsec-control. Parsing, completion, `?` help and docs/command-reference.md follow
// from this table. Ranges and defaults follow the AR410 where it documents them.
#include "cli/lang/command_spec.h"

namespace arsec::lang {
namespace {

using VT = ValueType;
using OV = CommandSpec::ObjectValue;

// The parameters several commands share, so their checks and help cannot drift apart.
ParamSpec Interface(bool required, std::string_view help) {
  return {.name = "INTERFACE", .type = VT::kInterface, .max = 15, .required = required,
          .help = help};
}
ParamSpec Address(std::string_view name, bool required, std::string_view help) {
  return {.name = name, .type = VT::kIpv4, .required = required, .help = help};
}
ParamSpec NaturalMask(std::string_view of, std::string_view help) {
  return {.name = "MASK", .type = VT::kMask, .help = help, .default_mask_of = of};
}
ParamSpec Flag(std::string_view name, std::string_view help) {
  return {.name = name, .type = VT::kNone, .help = help};
}
ParamSpec UserName() {
  return {.name = "USER", .type = VT::kName, .min = 1, .max = 64, .help = "user name"};
}
ParamSpec Password(bool required) {
  return {.name = "PASSWORD", .type = VT::kString, .min = 1, .max = 64, .required = required,
          .help = "the user's password (quote it if it holds blanks)", .secret = true};
}
ParamSpec PrivilegeParam(std::string_view def) {
  return {.name = "PRIVILEGE", .type = VT::kKeyword,
          .keywords = {"USER", "MANAGER", "SECURITYOFFICER"}, .default_value = def,
          .help = "USER (SHOW only), MANAGER, or SECURITYOFFICER"};
}
ParamSpec LoginParam(std::string_view def) {
  return {.name = "LOGIN", .type = VT::kBool, .default_value = def,
          .help = "YES: may log in to the CLI; NO: exists only for XAUTH"};
}
ParamSpec Description() {
  return {.name = "DESCRIPTION", .type = VT::kString, .max = 63,
          .aliases = {"DESCRITION"},  // the AR's manuals misspell it; scripts use both
          .help = "free text (quoted if it holds blanks)"};
}
ParamSpec FileName(std::string_view help) {
  return {.name = "CONFIG", .type = VT::kName, .min = 1, .max = 64, .help = help};
}

std::vector<CommandSpec> Build() {
  std::vector<CommandSpec> t;

  // ---- IP ----
  t.push_back({.id = CommandId::kAddIpInterface,
               .words = {"ADD", "IP", "INTERFACE"},
               .object_value = OV::kRequired,
               .object = Interface(true, "interface: eth0, vlan1, ppp0, or a logical one (ppp0-1)"),
               .params = {Address("IPADDRESS", true,
                                  "address; 0.0.0.0 makes the interface unnumbered"),
                          NaturalMask("IPADDRESS",
                                      "netmask; default the natural class mask of IPADDRESS")},
               .help = "Add an IP address to an interface"});
  t.push_back({.id = CommandId::kDeleteIpInterface,
               .words = {"DELETE", "IP", "INTERFACE"},
               .object_value = OV::kRequired,
               .object = Interface(true, "interface"),
               .params = {Address("IPADDRESS", true, "the address to remove")},
               .help = "Remove an IP address from an interface"});
  t.push_back({.id = CommandId::kAddIpRoute,
               .words = {"ADD", "IP", "ROUTE"},
               .object_value = OV::kRequired,
               .object = Address("ROUTE", true, "destination network; 0.0.0.0 is the default route"),
               .params = {NaturalMask("ROUTE", "netmask; default the natural class mask of ROUTE"),
                          Interface(true, "interface the route leaves by"),
                          Address("NEXTHOP", true,
                                  "next-hop router; 0.0.0.0 for a point-to-point interface"),
                          {.name = "METRIC", .type = VT::kUint, .min = 1, .max = 16,
                           .default_value = "1", .help = "route metric, 1..16"}},
               .help = "Add a static route"});
  t.push_back({.id = CommandId::kDeleteIpRoute,
               .words = {"DELETE", "IP", "ROUTE"},
               .object_value = OV::kRequired,
               .object = Address("ROUTE", true, "destination network"),
               .params = {NaturalMask("ROUTE", "netmask; default the natural class mask of ROUTE"),
                          Interface(false, "only the route by this interface"),
                          Address("NEXTHOP", false, "only the route by this next hop")},
               .help = "Delete a static route"});
  t.push_back({.id = CommandId::kShowIpInterface,
               .words = {"SHOW", "IP", "INTERFACE"},
               .object_value = OV::kOptional,
               .object = Interface(false, "only this interface"),
               .privilege = Privilege::kUser,
               .help = "Show IP interfaces and their addresses"});
  t.push_back({.id = CommandId::kShowIpRoute,
               .words = {"SHOW", "IP", "ROUTE"},
               .privilege = Privilege::kUser,
               .help = "Show the routing table"});
  t.push_back({.id = CommandId::kShowIpArp,
               .words = {"SHOW", "IP", "ARP"},
               .privilege = Privilege::kUser,
               .help = "Show the ARP (neighbour) table"});
  t.push_back({.id = CommandId::kEnableIp,
               .words = {"ENABLE", "IP"},
               .params = {Flag("REMOTEASSIGN",
                               "accept an address assigned by the peer (PPP); accepted for "
                               "compatibility")},
               .help = "Enable the IP module (always on; accepted so AR scripts replay)"});

  // ---- Dataplane ----
  t.push_back({.id = CommandId::kShowDataplane,
               .words = {"SHOW", "DATAPLANE"},
               .params = {Flag("PORTS", "per-port packet and error counters"),
                          Flag("COUNTERS", "per-worker counters and drops by reason"),
                          Flag("RUNTIME", "per-worker packets, busy cycles, cycles per packet")},
               .privilege = Privilege::kUser,
               .mutually_exclusive = {{"PORTS", "COUNTERS", "RUNTIME"}},
               .help = "Show the dataplane: summary, ports, counters or runtime"});
  t.push_back({.id = CommandId::kResetDataplane,
               .words = {"RESET", "DATAPLANE", "COUNTERS"},
               .help = "Zero the dataplane counters"});

  // ---- Users ----
  t.push_back({.id = CommandId::kAddUser,
               .words = {"ADD", "USER"},
               .object_value = OV::kRequired,
               .object = UserName(),
               .params = {Password(true), PrivilegeParam("USER"), LoginParam("TRUE"),
                          Description()},
               .help = "Add a user"});
  t.push_back({.id = CommandId::kDeleteUser,
               .words = {"DELETE", "USER"},
               .object_value = OV::kRequired,
               .object = UserName(),
               .help = "Delete a user"});
  t.push_back({.id = CommandId::kSetUser,
               .words = {"SET", "USER"},
               .object_value = OV::kRequired,
               .object = UserName(),
               .params = {Password(false), PrivilegeParam(""), LoginParam(""), Description()},
               .one_required = {{"PASSWORD", "PRIVILEGE", "LOGIN", "DESCRIPTION"}},
               .help = "Change a user's password, privilege, login or description"});
  t.push_back({.id = CommandId::kShowUser,
               .words = {"SHOW", "USER"},
               .object_value = OV::kOptional,
               .object = UserName(),
               .help = "Show users (never their passwords)"});

  // ---- Configuration files ----
  t.push_back({.id = CommandId::kCreateConfig,
               .words = {"CREATE", "CONFIG"},
               .object_value = OV::kRequired,
               .object = FileName("file name, e.g. ipsecvpn.cfg"),
               .help = "Save the running configuration as a command script"});
  t.push_back({.id = CommandId::kSetConfig,
               .words = {"SET", "CONFIG"},
               .object_value = OV::kRequired,
               .object = FileName("file name, or NONE to boot with no configuration"),
               .help = "Choose the configuration replayed at boot"});
  t.push_back({.id = CommandId::kShowConfig,
               .words = {"SHOW", "CONFIG"},
               .params = {{.name = "DYNAMIC", .type = VT::kKeyword,
                           .keywords = {"IP", "IPSEC", "ISAKMP", "USER", "ENCO", "SYSTEM"},
                           .value_optional = true,
                           .help = "the running configuration as commands, all or one module"}},
               .help = "Show the boot configuration file, or the running configuration"});
  t.push_back({.id = CommandId::kShowLog,
               .words = {"SHOW", "LOG"},
               .params = {{.name = "MODULE", .type = VT::kName, .min = 1, .max = 8,
                           .help = "only this module (ISAK, IPSE, IP, USER, ...)"},
                          {.name = "TYPE", .type = VT::kName, .min = 1, .max = 8,
                           .help = "only this type (IKMP, IPSC, ...)"}},
               .help = "Show the log"});

  // ---- Session ----
  t.push_back({.id = CommandId::kLogin,
               .words = {"LOGIN"},
               .object_value = OV::kOptional,
               .object = UserName(),
               .privilege = Privilege::kUser,
               .help = "Log in as another user"});
  t.push_back({.id = CommandId::kLogoff,
               .words = {"LOGOFF"},
               .privilege = Privilege::kUser,
               .help = "End the session"});
  t.push_back({.id = CommandId::kLogoff,
               .words = {"LOGOUT"},
               .privilege = Privilege::kUser,
               .help = "End the session"});
  t.push_back({.id = CommandId::kHelp,
               .words = {"HELP"},
               .privilege = Privilege::kUser,
               .help = "List the commands"});
  return t;
}

}  // namespace

const std::vector<CommandSpec>& CommandTable() {
  static const std::vector<CommandSpec> kTable = Build();
  return kTable;
}

}  // namespace arsec::lang
