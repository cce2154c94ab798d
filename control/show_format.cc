// Table layouts for SHOW IP/USER/DATAPLANE.
#include "control/show_format.h"

#include <cinttypes>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/lang/parser.h"

namespace arsec::control {
namespace {

std::string Rule(size_t n) { return std::string(n, '-') + "\n"; }

std::string Mac(const uint8_t m[6]) {
  return absl::StrFormat("%02x-%02x-%02x-%02x-%02x-%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

std::string PortName(const std::map<std::string, uint16_t>& ports, uint16_t port) {
  for (const auto& [name, id] : ports) {
    if (id == port) return name;
  }
  return absl::StrCat("port", port);
}

// Which worker blocks to print: the active workers, then the main lcore.
std::vector<unsigned> Blocks(const shm::Stats& s) {
  std::vector<unsigned> b;
  for (unsigned w = 0; w < s.n_workers && w < shm::kMaxWorkers; ++w) b.push_back(w);
  b.push_back(shm::kMaxWorkers);
  return b;
}

std::string BlockName(unsigned b) {
  return b == shm::kMaxWorkers ? std::string("main") : absl::StrCat("w", b);
}

}  // namespace

std::string FormatIpInterfaces(const ConfigModel& model, absl::string_view only) {
  std::string out = "IP Interfaces\n";
  out += Rule(78);
  out += absl::StrFormat("%-12s %-8s %-5s %-16s %-16s %s\n", "Interface", "Port", "Id",
                         "IP Address", "Mask", "Source for own packets");
  out += Rule(78);
  for (const auto& i : model.interfaces()) {
    if (!only.empty() && !absl::EqualsIgnoreCase(i.name, only) &&
        !absl::EqualsIgnoreCase(i.id.base, only)) {
      continue;
    }
    const uint32_t src = model.SourceAddressFor(i.name);
    std::string source = src ? lang::FormatIpv4(src) : "none";
    if (i.unnumbered()) source += " (unnumbered)";
    out += absl::StrFormat("%-12s %-8s %-5u %-16s %-16s %s\n", i.name, i.id.base, i.port,
                           i.unnumbered() ? "0.0.0.0" : lang::FormatIpv4(i.addr),
                           i.unnumbered() ? "-" : lang::FormatIpv4(i.mask), source);
  }
  out += Rule(78);
  return out;
}

std::string FormatIpRoutes(const ConfigModel& model) {
  std::string out = "IP Routes\n";
  out += Rule(78);
  out += absl::StrFormat("%-16s %-16s %-16s %-12s %-9s %s\n", "Destination", "Mask", "NextHop",
                         "Interface", "Protocol", "Metric");
  out += Rule(78);
  for (const auto& i : model.interfaces()) {
    if (i.unnumbered()) continue;
    out += absl::StrFormat("%-16s %-16s %-16s %-12s %-9s %u\n", lang::FormatIpv4(i.addr & i.mask),
                           lang::FormatIpv4(i.mask), "0.0.0.0", i.name, "interface", 1);
  }
  for (const auto& r : model.routes()) {
    out += absl::StrFormat("%-16s %-16s %-16s %-12s %-9s %u\n", lang::FormatIpv4(r.prefix),
                           lang::FormatIpv4(r.mask), lang::FormatIpv4(r.nexthop), r.ifname, "static",
                           r.metric);
  }
  out += Rule(78);
  return out;
}

std::string FormatArp(const std::vector<msg::ArpEntry>& arp,
                      const std::map<std::string, uint16_t>& ports,
                      const std::vector<StaticArp>& statics) {
  static const char* kState[] = {"Incomplete", "Reachable", "Stale", "Failed"};
  std::string out = "ARP Cache\n";
  out += Rule(86);
  out += absl::StrFormat("%-10s %-16s %-18s %-8s %-11s %8s %8s\n", "Interface", "IP Address",
                         "Physical Address", "Type", "State", "Age(s)", "Expires");
  out += Rule(86);
  for (const auto& e : arp) {
    const char* st = e.state < 4 ? kState[e.state] : "Unknown";
    const bool have_mac = e.state == msg::kNeighReachable || e.state == msg::kNeighStale;
    bool is_static = e.state == msg::kNeighReachable && e.expires_s == 0;
    for (const auto& s : statics) {
      if (s.ip == e.ip && s.port == e.port) is_static = true;
    }
    out += absl::StrFormat("%-10s %-16s %-18s %-8s %-11s %8u %8s\n", PortName(ports, e.port),
                           lang::FormatIpv4(e.ip), have_mac ? Mac(e.mac) : "-",
                           is_static ? "static" : "dynamic", st, e.age_s,
                           e.expires_s ? absl::StrCat(e.expires_s) : std::string("-"));
  }
  out += Rule(86);
  return out;
}

std::string FormatUsers(const std::vector<User>& users, absl::string_view only) {
  std::string out = "User Authentication Database\n";
  out += Rule(78);
  for (const auto& u : users) {
    if (!only.empty() && !absl::EqualsIgnoreCase(u.name, only)) continue;
    out += absl::StrFormat("Username: %s%s\n", u.name,
                           u.description.empty() ? "" : absl::StrCat(" (", u.description, ")"));
    out += absl::StrFormat("Status: enabled    Privilege: %-16s Login: %s\n",
                           PrivilegeName(u.privilege), u.login ? "yes" : "no");
    out += absl::StrFormat("Logins: %-10u Fails: %-10u Password: (hashed, not shown)\n",
                           u.logins, u.login_fails);
    out += Rule(78);
  }
  return out;
}

std::string FormatPorts(const std::vector<msg::PortEntry>& ports) {
  std::string out = "Dataplane Ports\n";
  out += Rule(100);
  out += absl::StrFormat("%-4s %-8s %-28s %-17s %-9s %12s %12s %10s %10s\n", "Port", "Name",
                         "Device", "MAC", "Link", "RxPackets", "TxPackets", "RxMissed",
                         "Errors");
  out += Rule(100);
  for (const auto& p : ports) {
    std::string link = p.link_up ? (p.speed_mbps ? absl::StrCat("up ", p.speed_mbps, "M")
                                                 : std::string("up"))
                                 : std::string("down");
    std::string dev(p.device, strnlen(p.device, sizeof(p.device)));
    if (dev.size() > 28) dev = dev.substr(0, 27) + "~";
    out += absl::StrFormat("%-4u %-8s %-28s %-17s %-9s %12u %12u %10u %10u\n", p.port,
                           std::string(p.name, strnlen(p.name, sizeof(p.name))), dev, Mac(p.mac),
                           link, p.rx_packets, p.tx_packets, p.rx_missed,
                           p.rx_errors + p.tx_errors);
  }
  out += Rule(100);
  return out;
}

std::string FormatCounters(const shm::Stats& s) {
  const auto blocks = Blocks(s);
  std::string out = "Dataplane Counters\n";
  const size_t width = 22 + 13 * (blocks.size() + 1);
  out += Rule(width);
  out += absl::StrFormat("%-22s", "Counter");
  for (unsigned b : blocks) out += absl::StrFormat(" %12s", BlockName(b));
  out += absl::StrFormat(" %12s\n", "total");
  out += Rule(width);
  for (unsigned c = 0; c < shm::kNumCounters; ++c) {
    uint64_t total = 0;
    out += absl::StrFormat("%-22s", shm::kCounterNames[c]);
    for (unsigned b : blocks) {
      const uint64_t v = s.worker[b].counters[c];
      total += v;
      out += absl::StrFormat(" %12u", v);
    }
    out += absl::StrFormat(" %12u\n", total);
  }
  out += Rule(width);
  return out;
}

std::string FormatRuntime(const shm::Stats& s) {
  std::string out = absl::StrFormat("Dataplane Runtime (TSC %.3f GHz)\n",
                                    static_cast<double>(s.tsc_hz) / 1e9);
  out += Rule(100);
  out += absl::StrFormat("%-6s %-5s %-7s %14s %12s %14s %16s %10s %8s\n", "Worker", "Lcore",
                         "State", "Packets", "Calls", "IdleCalls", "BusyCycles", "Cycles/pkt",
                         "Vec/call");
  out += Rule(100);
  for (unsigned b : Blocks(s)) {
    const auto& w = s.worker[b];
    const double cpp = w.vectors ? static_cast<double>(w.busy_cycles) / w.vectors : 0.0;
    const double vpc = w.busy_polls ? static_cast<double>(w.vectors) / w.busy_polls : 0.0;
    out += absl::StrFormat("%-6s %-5u %-7s %14u %12u %14u %16u %10.1f %8.2f\n", BlockName(b),
                           w.lcore, w.active ? "active" : "idle", w.vectors, w.busy_polls,
                           w.idle_polls, w.busy_cycles, cpp, vpc);
  }
  out += Rule(100);
  return out;
}

std::string FormatDataplaneSummary(const msg::HelloBody& hello, const shm::Stats& s,
                                   size_t n_ports) {
  uint64_t rx = 0, tx = 0, fwd = 0, drops = 0;
  for (unsigned b : Blocks(s)) {
    const auto& c = s.worker[b].counters;
    rx += c[shm::kCtr_rx_packets];
    tx += c[shm::kCtr_tx_packets];
    fwd += c[shm::kCtr_forwarded];
    for (unsigned i = 0; i < shm::kNumCounters; ++i) {
      if (absl::StartsWith(shm::kCounterNames[i], "drop")) drops += c[i];
    }
  }
  std::string out = "Dataplane\n";
  out += Rule(50);
  out += absl::StrFormat("Process id ................ %u\n", hello.dp_pid);
  out += absl::StrFormat("Workers ................... %u\n", s.n_workers);
  out += absl::StrFormat("Ports ..................... %u\n", n_ports);
  out += absl::StrFormat("Control generation ........ %u\n", hello.control_gen);
  out += absl::StrFormat("Packets received .......... %u\n", rx);
  out += absl::StrFormat("Packets sent .............. %u\n", tx);
  out += absl::StrFormat("Packets forwarded ......... %u\n", fwd);
  out += absl::StrFormat("Packets dropped ........... %u\n", drops);
  out += Rule(50);
  return out;
}

}  // namespace arsec::control
