// The configuration arsec-control owns (IP interfaces, static routes, static ARP entries,
// users, the ENABLE IP flags), and the rule that keeps it honest: a change is sent to the
// dataplane first and committed here only when the dataplane acknowledges it. A refused
// or unanswered change leaves the model exactly as it was.
//
// Not thread-safe: the Controller serialises access under its mutex.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cli/lang/command_spec.h"
#include "control/dataplane_client.h"

namespace arsec::control {

// "vlan1-0" -> {"vlan1", 0}; "ppp0" -> {"ppp0", 0}. Lower-cased.
struct IfName {
  std::string base;
  unsigned logical = 0;
};
absl::StatusOr<IfName> ParseIfName(absl::string_view name);

struct IpInterface {
  std::string name;       // as configured, lower case ("ppp0-1")
  IfName id;
  uint16_t port = 0;      // dataplane port of id.base
  uint32_t addr = 0;      // host order; 0 = unnumbered (the seed's IP=0.0.0.0)
  uint32_t mask = 0;
  bool unnumbered() const { return addr == 0; }
};

struct StaticRoute {
  uint32_t prefix = 0;    // host order
  uint32_t mask = 0;
  std::string ifname;     // logical interface as configured
  uint16_t port = 0;
  uint32_t nexthop = 0;   // 0 = directly connected
  uint32_t metric = 1;
};

// A static neighbour (ADD IP ARP): never ages out, never asked for.
struct StaticArp {
  uint32_t ip = 0;        // host order
  std::string ifname;     // as configured, lower case ("ppp0")
  uint16_t port = 0;      // dataplane port of the interface's base
  std::array<uint8_t, 6> mac{};
};

struct User {
  std::string name;
  std::string password_hash;   // control/config/password.h form; never the cleartext
  // The factory password ("friend") is still in effect: CREATE CONFIG need not save it.
  bool factory_password = false;
  lang::Privilege privilege = lang::Privilege::kUser;
  bool login = true;           // LOGIN=NO: exists only for XAUTH
  std::string description;
  // Runtime statistics (not saved).
  unsigned logins = 0, login_fails = 0;
};

// Mask helpers (addresses are printed with lang::FormatIpv4).
int MaskToPrefix(uint32_t mask);       // -1 when not contiguous
uint32_t PrefixToMask(int prefix_len);
uint32_t ClassfulMask(uint32_t addr);  // the AR default when MASK is omitted
absl::string_view PrivilegeName(lang::Privilege p);   // "USER", "MANAGER", "SECURITYOFFICER"

class ConfigModel {
 public:
  explicit ConfigModel(DataplaneClient* dp);

  // Base port names ("vlan1", "ppp0") and their dataplane port ids, from kPortDump.
  void SetPorts(const std::vector<msg::PortEntry>& ports);
  const std::map<std::string, uint16_t>& ports() const { return ports_; }

  // --- IP
  absl::Status AddInterface(absl::string_view name, uint32_t addr,
                            std::optional<uint32_t> mask);
  // `addr` given: must match the configured address.
  absl::Status DeleteInterface(absl::string_view name, std::optional<uint32_t> addr);
  absl::Status AddRoute(uint32_t prefix, std::optional<uint32_t> mask, absl::string_view ifname,
                        uint32_t nexthop, uint32_t metric);
  // Unset optionals match anything; exactly one route must match.
  absl::Status DeleteRoute(uint32_t prefix, std::optional<uint32_t> mask,
                           std::optional<std::string> ifname, std::optional<uint32_t> nexthop);
  void EnableIp(bool remote_assign);
  // Static ARP: the interface's base must be a port; one entry per (port, address).
  absl::Status AddStaticArp(uint32_t ip, absl::string_view ifname,
                            const std::array<uint8_t, 6>& mac);
  // Without `ifname`, exactly one static entry for `ip` must exist.
  absl::Status DeleteStaticArp(uint32_t ip, std::optional<std::string> ifname);
  const std::vector<StaticArp>& static_arp() const { return static_arp_; }

  const std::vector<IpInterface>& interfaces() const { return interfaces_; }
  const std::vector<StaticRoute>& routes() const { return routes_; }
  bool ip_enabled() const { return ip_enabled_; }
  bool remote_assign() const { return remote_assign_; }

  // The seed's unnumbered rule: packets the gateway itself sends from an unnumbered
  // interface take the first address configured (in creation order) on any other
  // interface. 0 when there is none.
  uint32_t SourceAddressFor(absl::string_view ifname) const;

  // --- users
  // Users are configuration like the rest: they start as the factory list, change by
  // command, and are saved by CREATE CONFIG (as hashes, SECRET=) and the running-config
  // snapshot. There is no separate user database.
  // Replaces the user list wholesale (tests).
  void LoadUsers(std::vector<User> users) { users_ = std::move(users); }
  absl::Status AddUser(absl::string_view name, absl::string_view password,
                       lang::Privilege privilege, bool login, absl::string_view description);
  // ADD USER ... SECRET=: the stored hash as CREATE CONFIG wrote it (IsPasswordHash).
  absl::Status AddUserWithHash(absl::string_view name, absl::string_view hash,
                               lang::Privilege privilege, bool login,
                               absl::string_view description);
  absl::Status DeleteUser(absl::string_view name);
  // `password` (cleartext, hashed here) and `hash` (SECRET=) are alternatives.
  absl::Status SetUser(absl::string_view name, std::optional<absl::string_view> password,
                       std::optional<lang::Privilege> privilege, std::optional<bool> login,
                       std::optional<absl::string_view> description,
                       std::optional<absl::string_view> hash = std::nullopt);
  // Checks a login; counts successes and failures. The error never says which part was
  // wrong.
  absl::StatusOr<lang::Privilege> Authenticate(absl::string_view name, absl::string_view password);
  const std::vector<User>& users() const { return users_; }
  const User* FindUser(absl::string_view name) const;

  // The factory user database: manager / friend, privilege MANAGER.
  static std::vector<User> FactoryUsers();

  // The running configuration as a command script that replays to the same model,
  // starting from the factory users: IP, static ARP, then the users (hashes only; the
  // factory manager only when changed).
  std::string Canonical() const;
  // Only the users part of Canonical() (SHOW CONFIG DYNAMIC=USER).
  std::string CanonicalUsers() const;

 private:
  int FindInterface(const IfName& id) const;
  absl::Status CheckName(absl::string_view name, IfName* id, uint16_t* port) const;
  absl::Status CommitUsers(std::vector<User> next);
  absl::Status AddUserEntry(User u);

  DataplaneClient* dp_;
  std::map<std::string, uint16_t> ports_;
  std::vector<IpInterface> interfaces_;  // creation order matters (unnumbered rule)
  std::vector<StaticRoute> routes_;
  bool ip_enabled_ = false;
  bool remote_assign_ = false;
  std::vector<StaticArp> static_arp_;
  std::vector<User> users_;
};

}  // namespace arsec::control
