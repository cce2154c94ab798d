// Apply-then-commit for every change; canonical script output for CREATE CONFIG.
#include "control/config/config_model.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/lang/parser.h"
#include "cli/lang/tokenizer.h"
#include "control/config/password.h"

namespace arsec::control {

int MaskToPrefix(uint32_t mask) {
  int n = 0;
  while (n < 32 && (mask & (0x80000000u >> n))) ++n;
  return PrefixToMask(n) == mask ? n : -1;
}

uint32_t PrefixToMask(int p) {
  if (p <= 0) return 0;
  if (p >= 32) return 0xffffffffu;
  return ~((1u << (32 - p)) - 1);
}

uint32_t ClassfulMask(uint32_t addr) {
  if (addr == 0) return 0;
  if ((addr >> 31) == 0) return 0xff000000u;      // class A
  if ((addr >> 30) == 2) return 0xffff0000u;      // class B
  return 0xffffff00u;                             // class C (and beyond)
}

absl::string_view PrivilegeName(lang::Privilege p) {
  switch (p) {
    case lang::Privilege::kUser: return "USER";
    case lang::Privilege::kManager: return "MANAGER";
    case lang::Privilege::kSecurityOfficer: return "SECURITYOFFICER";
  }
  return "USER";
}

absl::StatusOr<IfName> ParseIfName(absl::string_view raw) {
  std::string name = absl::AsciiStrToLower(raw);
  // base = letters then digits; optional "-<logical>".
  size_t i = 0;
  while (i < name.size() && absl::ascii_isalpha(static_cast<unsigned char>(name[i]))) ++i;
  size_t letters = i;
  while (i < name.size() && absl::ascii_isdigit(static_cast<unsigned char>(name[i]))) ++i;
  if (letters == 0 || i == letters || name.size() >= msg::kIfNameLen) {
    return absl::InvalidArgumentError(absl::StrCat("Interface \"", raw, "\" is not a valid interface name"));
  }
  IfName id;
  id.base = name.substr(0, i);
  if (i < name.size()) {
    if (name[i] != '-' || !absl::SimpleAtoi(name.substr(i + 1), &id.logical) ||
        id.logical > 15 || name.size() == i + 1) {
      return absl::InvalidArgumentError(absl::StrCat("Interface \"", raw, "\" is not a valid interface name"));
    }
  }
  return id;
}

namespace {
constexpr char kFactoryUser[] = "manager";
constexpr char kFactoryDescription[] = "Manager Account";
}  // namespace

ConfigModel::ConfigModel(DataplaneClient* dp) : dp_(dp), users_(FactoryUsers()) {}

std::vector<User> ConfigModel::FactoryUsers() {
  User u;
  u.name = kFactoryUser;
  u.password_hash = HashPassword("friend").value_or("");
  u.factory_password = true;
  u.privilege = lang::Privilege::kManager;
  u.description = kFactoryDescription;
  return {u};
}

void ConfigModel::SetPorts(const std::vector<msg::PortEntry>& ports) {
  ports_.clear();
  for (const auto& p : ports) {
    std::string name(p.name, strnlen(p.name, sizeof(p.name)));
    ports_[absl::AsciiStrToLower(name)] = p.port;
  }
}

int ConfigModel::FindInterface(const IfName& id) const {
  for (size_t i = 0; i < interfaces_.size(); ++i) {
    if (interfaces_[i].id.base == id.base && interfaces_[i].id.logical == id.logical) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

absl::Status ConfigModel::CheckName(absl::string_view name, IfName* id, uint16_t* port) const {
  auto parsed = ParseIfName(name);
  if (!parsed.ok()) return parsed.status();
  auto it = ports_.find(parsed->base);
  if (it == ports_.end()) {
    return absl::NotFoundError(absl::StrCat("Interface ", parsed->base,
                                            " does not exist (no such port in the startup config)"));
  }
  *id = *parsed;
  *port = it->second;
  return absl::OkStatus();
}

namespace {
msg::AddrBody AddrMsg(const IpInterface& i) {
  msg::AddrBody b;
  std::memset(&b, 0, sizeof(b));
  std::snprintf(b.ifname, sizeof(b.ifname), "%s", i.name.c_str());
  b.port = i.port;
  b.prefix_len = static_cast<uint8_t>(i.unnumbered() ? 0 : MaskToPrefix(i.mask));
  b.addr = i.addr;
  return b;
}

msg::RouteBody RouteMsg(const StaticRoute& r) {
  msg::RouteBody b;
  std::memset(&b, 0, sizeof(b));
  std::snprintf(b.ifname, sizeof(b.ifname), "%s", r.ifname.c_str());
  b.port = r.port;
  b.prefix_len = static_cast<uint8_t>(MaskToPrefix(r.mask));
  b.prefix = r.prefix;
  b.nexthop = r.nexthop;
  b.metric = r.metric;
  return b;
}

std::string DataplaneRefused(const absl::Status& s) {
  return absl::StrCat("The dataplane refused the change: ", s.message());
}
}  // namespace

absl::Status ConfigModel::AddInterface(absl::string_view name, uint32_t addr,
                                       std::optional<uint32_t> mask_opt) {
  IpInterface i;
  if (absl::Status s = CheckName(name, &i.id, &i.port); !s.ok()) return s;
  i.name = absl::AsciiStrToLower(name);
  i.addr = addr;
  i.mask = addr == 0 ? 0 : mask_opt.value_or(ClassfulMask(addr));
  if (i.addr != 0) {
    if (MaskToPrefix(i.mask) < 0) return absl::InvalidArgumentError("MASK is not a valid mask");
    if (i.mask == 0) return absl::InvalidArgumentError("MASK 0.0.0.0 is only for an unnumbered interface");
    const uint32_t host = i.addr & ~i.mask;
    if (i.mask != 0xffffffffu && (host == 0 || host == ~i.mask)) {
      return absl::InvalidArgumentError(absl::StrCat("IPADDRESS ", lang::FormatIpv4(addr),
                                                     " is a network or broadcast address for that MASK"));
    }
    if ((addr >> 28) >= 14 || (addr >> 24) == 127) {
      return absl::InvalidArgumentError(absl::StrCat("IPADDRESS ", lang::FormatIpv4(addr),
                                                     " is not a unicast address"));
    }
  }
  if (int idx = FindInterface(i.id); idx >= 0) {
    return absl::AlreadyExistsError(absl::StrCat("Interface ", interfaces_[idx].name,
                                                 " already has an IP address"));
  }
  for (const auto& other : interfaces_) {
    if (addr != 0 && other.addr == addr) {
      return absl::AlreadyExistsError(absl::StrCat("IP address ", lang::FormatIpv4(addr),
                                                   " is already assigned to ", other.name));
    }
  }
  if (absl::Status s = dp_->AddAddress(AddrMsg(i)); !s.ok()) {
    return absl::Status(s.code(), DataplaneRefused(s));
  }
  interfaces_.push_back(std::move(i));
  return absl::OkStatus();
}

absl::Status ConfigModel::DeleteInterface(absl::string_view name, std::optional<uint32_t> addr) {
  auto id = ParseIfName(name);
  if (!id.ok()) return id.status();
  int idx = FindInterface(*id);
  if (idx < 0) {
    return absl::NotFoundError(absl::StrCat("Interface ", absl::AsciiStrToLower(name),
                                            " has no IP address"));
  }
  const IpInterface& i = interfaces_[idx];
  if (addr && *addr != i.addr) {
    return absl::NotFoundError(absl::StrCat("IP address ", lang::FormatIpv4(*addr),
                                            " is not assigned to ", i.name));
  }
  for (const auto& r : routes_) {
    auto rid = ParseIfName(r.ifname);
    if (rid.ok() && rid->base == i.id.base && rid->logical == i.id.logical) {
      return absl::FailedPreconditionError(absl::StrCat(
          "Interface ", i.name, " is used by the route to ", lang::FormatIpv4(r.prefix),
          "; delete the route first"));
    }
  }
  if (absl::Status s = dp_->DeleteAddress(AddrMsg(i)); !s.ok()) {
    return absl::Status(s.code(), DataplaneRefused(s));
  }
  interfaces_.erase(interfaces_.begin() + idx);
  return absl::OkStatus();
}

absl::Status ConfigModel::AddRoute(uint32_t prefix, std::optional<uint32_t> mask_opt,
                                   absl::string_view ifname, uint32_t nexthop, uint32_t metric) {
  StaticRoute r;
  r.prefix = prefix;
  r.mask = mask_opt.value_or(ClassfulMask(prefix));
  if (MaskToPrefix(r.mask) < 0) return absl::InvalidArgumentError("MASK is not a valid mask");
  if ((prefix & ~r.mask) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("ROUTE ", lang::FormatIpv4(prefix),
                                                   " has host bits set for MASK ",
                                                   lang::FormatIpv4(r.mask)));
  }
  if (metric < 1 || metric > 16) return absl::InvalidArgumentError("METRIC must be 1..16");
  r.metric = metric;
  r.nexthop = nexthop;
  IfName id;
  if (absl::Status s = CheckName(ifname, &id, &r.port); !s.ok()) return s;
  if (FindInterface(id) < 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Interface ", absl::AsciiStrToLower(ifname), " has no IP configuration; add it first"));
  }
  r.ifname = absl::AsciiStrToLower(ifname);
  for (const auto& o : routes_) {
    if (o.prefix == r.prefix && o.mask == r.mask && o.nexthop == r.nexthop && o.ifname == r.ifname) {
      return absl::AlreadyExistsError(absl::StrCat("The route to ", lang::FormatIpv4(prefix), "/",
                                                   MaskToPrefix(r.mask), " via ",
                                                   lang::FormatIpv4(nexthop), " already exists"));
    }
  }
  if (absl::Status s = dp_->AddRoute(RouteMsg(r)); !s.ok()) {
    return absl::Status(s.code(), DataplaneRefused(s));
  }
  routes_.push_back(std::move(r));
  return absl::OkStatus();
}

absl::Status ConfigModel::DeleteRoute(uint32_t prefix, std::optional<uint32_t> mask,
                                      std::optional<std::string> ifname,
                                      std::optional<uint32_t> nexthop) {
  std::string ifl = ifname ? absl::AsciiStrToLower(*ifname) : "";
  std::vector<size_t> hits;
  for (size_t i = 0; i < routes_.size(); ++i) {
    const auto& r = routes_[i];
    if (r.prefix != prefix) continue;
    if (mask && r.mask != *mask) continue;
    if (!mask && r.mask != ClassfulMask(prefix)) continue;
    if (ifname && r.ifname != ifl) continue;
    if (nexthop && r.nexthop != *nexthop) continue;
    hits.push_back(i);
  }
  if (hits.empty()) {
    return absl::NotFoundError(absl::StrCat("No static route to ", lang::FormatIpv4(prefix),
                                            " matches"));
  }
  if (hits.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        hits.size(), " routes to ", lang::FormatIpv4(prefix),
        " match; give INTERFACE and NEXTHOP to choose one"));
  }
  const StaticRoute& r = routes_[hits[0]];
  if (absl::Status s = dp_->DeleteRoute(RouteMsg(r)); !s.ok()) {
    return absl::Status(s.code(), DataplaneRefused(s));
  }
  routes_.erase(routes_.begin() + hits[0]);
  return absl::OkStatus();
}

void ConfigModel::EnableIp(bool remote_assign) {
  ip_enabled_ = true;
  if (remote_assign) remote_assign_ = true;
}

namespace {
msg::ArpEntry NeighMsg(const StaticArp& a) {
  msg::ArpEntry e;
  std::memset(&e, 0, sizeof(e));
  e.ip = a.ip;
  std::memcpy(e.mac, a.mac.data(), 6);
  e.port = a.port;
  e.state = msg::kNeighReachable;
  return e;
}
}  // namespace

absl::Status ConfigModel::AddStaticArp(uint32_t ip, absl::string_view ifname,
                                       const std::array<uint8_t, 6>& mac) {
  StaticArp a;
  IfName id;
  if (absl::Status s = CheckName(ifname, &id, &a.port); !s.ok()) return s;
  if (ip == 0 || (ip >> 28) >= 14 || (ip >> 24) == 127 || (ip >> 24) == 0) {
    return absl::InvalidArgumentError(absl::StrCat("ARP ", lang::FormatIpv4(ip),
                                                   " is not a unicast host address"));
  }
  if ((mac[0] & 1) != 0 || mac == std::array<uint8_t, 6>{}) {
    return absl::InvalidArgumentError(
        "ETHERNET must be a unicast address (not 00-00-00-00-00-00, not multicast)");
  }
  a.ip = ip;
  a.ifname = absl::AsciiStrToLower(ifname);
  a.mac = mac;
  for (const auto& o : static_arp_) {
    if (o.ip == ip && o.port == a.port) {
      return absl::AlreadyExistsError(absl::StrCat("A static ARP entry for ", lang::FormatIpv4(ip),
                                                   " on ", o.ifname, " already exists"));
    }
  }
  if (absl::Status s = dp_->AddNeighbour(NeighMsg(a)); !s.ok()) {
    return absl::Status(s.code(), DataplaneRefused(s));
  }
  static_arp_.push_back(std::move(a));
  return absl::OkStatus();
}

absl::Status ConfigModel::DeleteStaticArp(uint32_t ip, std::optional<std::string> ifname) {
  std::optional<uint16_t> port;
  if (ifname) {
    IfName id;
    uint16_t p = 0;
    if (absl::Status s = CheckName(*ifname, &id, &p); !s.ok()) return s;
    port = p;
  }
  std::vector<size_t> hits;
  for (size_t i = 0; i < static_arp_.size(); ++i) {
    if (static_arp_[i].ip == ip && (!port || static_arp_[i].port == *port)) hits.push_back(i);
  }
  if (hits.empty()) {
    return absl::NotFoundError(absl::StrCat("No static ARP entry for ", lang::FormatIpv4(ip),
                                            ifname ? absl::StrCat(" on ", *ifname) : ""));
  }
  if (hits.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        hits.size(), " static ARP entries for ", lang::FormatIpv4(ip),
        " exist; give INTERFACE to choose one"));
  }
  const StaticArp& a = static_arp_[hits[0]];
  absl::Status s = dp_->DeleteNeighbour(NeighMsg(a));
  // NotFound: the dataplane no longer has it (e.g. it restarted); the goal is reached.
  if (!s.ok() && !absl::IsNotFound(s)) return absl::Status(s.code(), DataplaneRefused(s));
  static_arp_.erase(static_arp_.begin() + hits[0]);
  return absl::OkStatus();
}

uint32_t ConfigModel::SourceAddressFor(absl::string_view ifname) const {
  auto id = ParseIfName(ifname);
  if (!id.ok()) return 0;
  int idx = FindInterface(*id);
  if (idx >= 0 && !interfaces_[idx].unnumbered()) return interfaces_[idx].addr;
  for (const auto& i : interfaces_) {
    if (!i.unnumbered() && i.id.base != id->base) return i.addr;
  }
  return 0;
}

// ----- users

const User* ConfigModel::FindUser(absl::string_view name) const {
  for (const auto& u : users_) {
    if (absl::EqualsIgnoreCase(u.name, name)) return &u;
  }
  return nullptr;
}

absl::Status ConfigModel::CommitUsers(std::vector<User> next) {
  // Someone must still be able to log in and manage the appliance.
  bool admin = false;
  for (const auto& u : next) {
    if (u.login && u.privilege != lang::Privilege::kUser) admin = true;
  }
  if (!admin) {
    return absl::FailedPreconditionError(
        "At least one user with MANAGER or SECURITYOFFICER privilege and LOGIN=YES must remain");
  }
  users_ = std::move(next);
  return absl::OkStatus();
}

namespace {
absl::Status CheckUserName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return absl::InvalidArgumentError("USER must be 1..64 characters");
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return absl::InvalidArgumentError("USER may only contain letters, digits, '-', '_' and '.'");
    }
  }
  return absl::OkStatus();
}
absl::Status CheckPassword(absl::string_view pw) {
  if (pw.empty() || pw.size() > 128) return absl::InvalidArgumentError("PASSWORD must be 1..128 characters");
  return absl::OkStatus();
}
absl::Status CheckDescription(absl::string_view d) {
  if (d.size() > 80) return absl::InvalidArgumentError("DESCRIPTION is longer than 80 characters");
  for (char c : d) {
    if (c == '\n' || c == '\r' || c == '"' || c == '\t') {
      return absl::InvalidArgumentError("DESCRIPTION may not contain quotes, tabs or line breaks");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckSecret(absl::string_view hash) {
  if (!IsPasswordHash(hash)) {
    return absl::InvalidArgumentError(
        "SECRET is not a password hash (pbkdf2-sha256$iterations$salt$hash, as CREATE CONFIG "
        "writes it)");
  }
  return absl::OkStatus();
}
}  // namespace

absl::Status ConfigModel::AddUserEntry(User u) {
  if (absl::Status s = CheckUserName(u.name); !s.ok()) return s;
  if (absl::Status s = CheckDescription(u.description); !s.ok()) return s;
  if (FindUser(u.name)) {
    return absl::AlreadyExistsError(absl::StrCat("User ", u.name, " already exists"));
  }
  std::vector<User> next = users_;
  next.push_back(std::move(u));
  return CommitUsers(std::move(next));
}

absl::Status ConfigModel::AddUser(absl::string_view name, absl::string_view password,
                                  lang::Privilege privilege, bool login,
                                  absl::string_view description) {
  if (absl::Status s = CheckUserName(name); !s.ok()) return s;
  if (absl::Status s = CheckPassword(password); !s.ok()) return s;
  if (FindUser(name)) return absl::AlreadyExistsError(absl::StrCat("User ", name, " already exists"));
  auto hash = HashPassword(password);
  if (!hash.ok()) return hash.status();
  User u;
  u.name = std::string(name);
  u.password_hash = *hash;
  u.privilege = privilege;
  u.login = login;
  u.description = std::string(description);
  return AddUserEntry(std::move(u));
}

absl::Status ConfigModel::AddUserWithHash(absl::string_view name, absl::string_view hash,
                                          lang::Privilege privilege, bool login,
                                          absl::string_view description) {
  if (absl::Status s = CheckSecret(hash); !s.ok()) return s;
  User u;
  u.name = std::string(name);
  u.password_hash = std::string(hash);
  u.privilege = privilege;
  u.login = login;
  u.description = std::string(description);
  return AddUserEntry(std::move(u));
}

absl::Status ConfigModel::DeleteUser(absl::string_view name) {
  std::vector<User> next;
  bool found = false;
  for (const auto& u : users_) {
    if (absl::EqualsIgnoreCase(u.name, name)) {
      found = true;
    } else {
      next.push_back(u);
    }
  }
  if (!found) return absl::NotFoundError(absl::StrCat("User ", name, " does not exist"));
  return CommitUsers(std::move(next));
}

absl::Status ConfigModel::SetUser(absl::string_view name, std::optional<absl::string_view> password,
                                  std::optional<lang::Privilege> privilege,
                                  std::optional<bool> login,
                                  std::optional<absl::string_view> description,
                                  std::optional<absl::string_view> hash) {
  if (password && hash) {
    return absl::InvalidArgumentError("PASSWORD and SECRET cannot be used together");
  }
  std::vector<User> next = users_;
  User* u = nullptr;
  for (auto& x : next) {
    if (absl::EqualsIgnoreCase(x.name, name)) u = &x;
  }
  if (!u) return absl::NotFoundError(absl::StrCat("User ", name, " does not exist"));
  if (password) {
    if (absl::Status s = CheckPassword(*password); !s.ok()) return s;
    auto h = HashPassword(*password);
    if (!h.ok()) return h.status();
    u->password_hash = *h;
    u->factory_password = false;
  }
  if (hash) {
    if (absl::Status s = CheckSecret(*hash); !s.ok()) return s;
    u->password_hash = std::string(*hash);
    u->factory_password = false;
  }
  if (privilege) u->privilege = *privilege;
  if (login) u->login = *login;
  if (description) {
    if (absl::Status s = CheckDescription(*description); !s.ok()) return s;
    u->description = std::string(*description);
  }
  return CommitUsers(std::move(next));
}

absl::StatusOr<lang::Privilege> ConfigModel::Authenticate(absl::string_view name,
                                                          absl::string_view password) {
  for (auto& u : users_) {
    if (!absl::EqualsIgnoreCase(u.name, name)) continue;
    if (u.login && VerifyPassword(password, u.password_hash)) {
      ++u.logins;
      return u.privilege;
    }
    ++u.login_fails;
    break;
  }
  if (!FindUser(name)) {
    // Same cost as a real check, so the timing does not reveal which names exist.
    (void)VerifyPassword(password, users_.empty() ? "" : users_.front().password_hash);
  }
  return absl::PermissionDeniedError("Login incorrect");
}

// ----- canonical output

std::string ConfigModel::Canonical() const {
  std::string out;
  if (ip_enabled_ || remote_assign_ || !interfaces_.empty() || !routes_.empty()) {
    out += "#\n# IP configuration\n#\n";
  }
  if (ip_enabled_) out += "ENABLE IP\n";
  if (remote_assign_) out += "ENABLE IP REMOTEASSIGN\n";
  for (const auto& i : interfaces_) {
    if (i.unnumbered()) {
      absl::StrAppend(&out, "ADD IP INTERFACE=", i.name, " IPADDRESS=0.0.0.0\n");
    } else {
      absl::StrAppend(&out, "ADD IP INTERFACE=", i.name, " IPADDRESS=", lang::FormatIpv4(i.addr),
                      " MASK=", lang::FormatIpv4(i.mask), "\n");
    }
  }
  for (const auto& r : routes_) {
    absl::StrAppend(&out, "ADD IP ROUTE=", lang::FormatIpv4(r.prefix), " MASK=", lang::FormatIpv4(r.mask),
                    " INTERFACE=", r.ifname, " NEXTHOP=", lang::FormatIpv4(r.nexthop));
    if (r.metric != 1) absl::StrAppend(&out, " METRIC=", r.metric);
    out += "\n";
  }
  if (!static_arp_.empty()) out += "#\n# Static ARP entries\n#\n";
  for (const auto& a : static_arp_) {
    absl::StrAppend(&out, "ADD IP ARP=", lang::FormatIpv4(a.ip), " INTERFACE=", a.ifname,
                    " ETHERNET=", lang::FormatMac(a.mac), "\n");
  }
  out += CanonicalUsers();
  return out;
}

std::string ConfigModel::CanonicalUsers() const {
  // Replayed on top of the factory list: every other user is added; the factory manager
  // is changed (or deleted) last, once the users that keep the appliance manageable exist.
  std::string adds, manager;
  bool have_manager = false;
  auto common = [](const User& u) {
    return absl::StrCat(" PRIVILEGE=", PrivilegeName(u.privilege), " LOGIN=",
                        u.login ? "YES" : "NO");
  };
  auto secret = [](const User& u) {
    return absl::StrCat(" SECRET=", lang::Quote(u.password_hash));
  };
  for (const auto& u : users_) {
    if (absl::EqualsIgnoreCase(u.name, kFactoryUser)) {
      have_manager = true;
      const bool unchanged = u.factory_password && u.privilege == lang::Privilege::kManager &&
                             u.login && u.description == kFactoryDescription;
      if (unchanged) continue;
      absl::StrAppend(&manager, "SET USER=", kFactoryUser,
                      u.factory_password ? "" : secret(u), common(u),
                      " DESCRIPTION=", lang::Quote(u.description), "\n");
      continue;
    }
    absl::StrAppend(&adds, "ADD USER=", u.name, secret(u), common(u));
    if (!u.description.empty()) absl::StrAppend(&adds, " DESCRIPTION=", lang::Quote(u.description));
    adds += "\n";
  }
  if (!have_manager) absl::StrAppend(&manager, "DELETE USER=", kFactoryUser, "\n");
  if (adds.empty() && manager.empty()) return "";
  return absl::StrCat("#\n# Users (passwords as salted hashes, never in clear)\n#\n", adds,
                      manager);
}

}  // namespace arsec::control
