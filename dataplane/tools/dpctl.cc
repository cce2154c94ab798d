// arsec-dpctl: a debugging client for arsec-dataplane's rings, without arsec-control.
//
// It attaches as a DPDK secondary process (same --file-prefix as the dataplane), sends
// one request per command on the request ring and prints the reply, or reads the stats
// memzone. Port arguments are interface names from the startup config ("ppp0-1" means
// port "ppp0"), resolved the way arsec-control resolves them (index in the port list).
//
//   arsec-dpctl [--config FILE] [--file-prefix P] COMMAND [ARGS] [; COMMAND ...]
//   commands: hello | sync-begin | sync-end | addr-add IF A.B.C.D/LEN | addr-del IF A/LEN
//             route-add PFX/LEN IF NEXTHOP [METRIC] | route-del PFX/LEN [NEXTHOP]
//             neigh-add IF IP MAC | neigh-del IF IP
//             arp | ports | counters | runtime | reset | events [SECONDS]
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_mempool.h>
#include <rte_memzone.h>
#include <rte_ring.h>

#include <arpa/inet.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common/dp_stats.h"
#include "common/ring_msg.h"
#include "common/shm_names.h"
#include "common/startup_config.h"

namespace {

using arsec::msg::Message;
using arsec::msg::Type;

rte_ring *g_req, *g_rep, *g_evt;
rte_mempool* g_pool;
uint32_t g_seq = 1;
arsec::StartupConfig g_cfg;

std::string Ip(uint32_t a) {
  char b[20];
  std::snprintf(b, sizeof b, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
  return b;
}

bool ParseIp(const std::string& s, uint32_t* ip) {
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) return false;
  *ip = ntohl(a.s_addr);
  return true;
}

bool ParsePrefix(const std::string& s, uint32_t* ip, uint8_t* len) {
  auto slash = s.find('/');
  if (!ParseIp(s.substr(0, slash), ip)) return false;
  *len = 32;
  if (slash != std::string::npos) {
    int l = std::atoi(s.c_str() + slash + 1);
    if (l < 0 || l > 32) return false;
    *len = static_cast<uint8_t>(l);
  }
  return true;
}

int PortOf(const std::string& ifname) {
  std::string base = ifname.substr(0, ifname.find('-'));
  for (size_t i = 0; i < g_cfg.ports.size(); ++i) {
    if (g_cfg.ports[i].name == base) return static_cast<int>(i);
  }
  std::fprintf(stderr, "arsec-dpctl: no port named '%s' in %s\n", base.c_str(),
               g_cfg.source.c_str());
  return -1;
}

Message* New(Type t) {
  void* o = nullptr;
  if (rte_mempool_get(g_pool, &o) != 0) return nullptr;
  auto* m = static_cast<Message*>(o);
  std::memset(m, 0, sizeof *m);
  m->type = t;
  m->seq = (static_cast<uint32_t>(getpid()) << 12) + g_seq++;
  return m;
}

// Sends and waits (2 s) for the reply with the same sequence number. Caller frees.
Message* Call(Message* m) {
  uint32_t seq = m->seq;
  if (rte_ring_mp_enqueue(g_req, m) != 0) {
    std::fprintf(stderr, "arsec-dpctl: request ring full\n");
    rte_mempool_put(g_pool, m);
    return nullptr;
  }
  uint64_t deadline = rte_get_timer_cycles() + 2 * rte_get_timer_hz();
  while (rte_get_timer_cycles() < deadline) {
    void* o = nullptr;
    if (rte_ring_mc_dequeue(g_rep, &o) == 0) {
      auto* r = static_cast<Message*>(o);
      if (r->seq == seq) return r;
      rte_mempool_put(g_pool, r);  // a stale reply of an earlier, timed-out client
      continue;
    }
    usleep(200);
  }
  std::fprintf(stderr, "arsec-dpctl: no reply from the dataplane\n");
  return nullptr;
}

int Finish(Message* r, const char* what) {
  if (r == nullptr) return 1;
  int rc = r->result;
  if (rc != 0) {
    std::printf("%s: error %d (%s): %s\n", what, rc, std::strerror(-rc), r->reason);
  } else {
    std::printf("%s: ok%s%s\n", what, r->reason[0] ? ": " : "", r->reason);
  }
  rte_mempool_put(g_pool, r);
  return rc == 0 ? 0 : 1;
}

const char* StateName(uint8_t s) {
  switch (s) {
    case arsec::msg::kNeighIncomplete: return "incomplete";
    case arsec::msg::kNeighReachable: return "reachable";
    case arsec::msg::kNeighStale: return "stale";
    default: return "failed";
  }
}

int Counters(bool runtime) {
  const rte_memzone* mz = rte_memzone_lookup(arsec::shm::kStatsZone);
  if (mz == nullptr) {
    std::fprintf(stderr, "arsec-dpctl: no stats memzone\n");
    return 1;
  }
  const auto* st = static_cast<const arsec::shm::Stats*>(mz->addr);
  if (runtime) {
    std::printf("%-8s %-6s %14s %14s %12s %12s %10s %8s\n", "worker", "lcore", "packets",
                "busy_cycles", "busy_polls", "idle_polls", "cyc/pkt", "pkt/poll");
    for (unsigned w = 0; w < st->n_workers; ++w) {
      const auto& ws = st->worker[w];
      double cpp = ws.vectors ? double(ws.busy_cycles) / double(ws.vectors) : 0;
      double vpp = ws.busy_polls ? double(ws.vectors) / double(ws.busy_polls) : 0;
      std::printf("%-8u %-6u %14lu %14lu %12lu %12lu %10.1f %8.1f\n", w, ws.lcore,
                  (unsigned long)ws.vectors, (unsigned long)ws.busy_cycles,
                  (unsigned long)ws.busy_polls, (unsigned long)ws.idle_polls, cpp, vpp);
    }
    std::printf("tsc_hz %lu\n", (unsigned long)st->tsc_hz);
    return 0;
  }
  for (unsigned c = 0; c < arsec::shm::kNumCounters; ++c) {
    uint64_t sum = st->worker[arsec::shm::kMaxWorkers].counters[c];
    for (unsigned w = 0; w < st->n_workers; ++w) sum += st->worker[w].counters[c];
    if (sum) std::printf("%-22s %lu\n", arsec::shm::kCounterNames[c], (unsigned long)sum);
  }
  return 0;
}

int Run(const std::vector<std::string>& a) {
  const std::string& cmd = a[0];
  auto need = [&](size_t n) {
    if (a.size() < n + 1) {
      std::fprintf(stderr, "arsec-dpctl: %s needs %zu arguments\n", cmd.c_str(), n);
      return false;
    }
    return true;
  };
  if (cmd == "hello") {
    Message* m = New(Type::kHello);
    if (!m) return 1;
    m->body.hello.schema = arsec::msg::kSchemaVersion;
    Message* r = Call(m);
    if (r && r->result == 0) {
      std::printf("dataplane pid %u epoch %lu control_gen %u workers %u\n", r->body.hello.dp_pid,
                  (unsigned long)r->body.hello.dp_epoch, r->body.hello.control_gen,
                  r->body.hello.n_workers);
    }
    return Finish(r, "hello");
  }
  if (cmd == "sync-begin" || cmd == "sync-end" || cmd == "reset") {
    Message* m = New(cmd == "sync-begin" ? Type::kSyncBegin
                     : cmd == "sync-end" ? Type::kSyncEnd : Type::kCountersReset);
    return m ? Finish(Call(m), cmd.c_str()) : 1;
  }
  if (cmd == "addr-add" || cmd == "addr-del") {
    if (!need(2)) return 1;
    int port = PortOf(a[1]);
    uint32_t ip;
    uint8_t len;
    if (port < 0) return 1;
    if (!ParsePrefix(a[2], &ip, &len)) {
      std::fprintf(stderr, "arsec-dpctl: bad address '%s'\n", a[2].c_str());
      return 1;
    }
    Message* m = New(cmd == "addr-add" ? Type::kAddrAdd : Type::kAddrDel);
    if (!m) return 1;
    std::snprintf(m->body.addr.ifname, sizeof m->body.addr.ifname, "%s", a[1].c_str());
    m->body.addr.port = static_cast<uint16_t>(port);
    m->body.addr.addr = ip;
    m->body.addr.prefix_len = len;
    return Finish(Call(m), cmd.c_str());
  }
  if (cmd == "route-add" || cmd == "route-del") {
    bool add = cmd == "route-add";
    if (!need(add ? 3 : 1)) return 1;
    uint32_t pfx, nh = 0;
    uint8_t len;
    if (!ParsePrefix(a[1], &pfx, &len)) {
      std::fprintf(stderr, "arsec-dpctl: bad prefix '%s'\n", a[1].c_str());
      return 1;
    }
    Message* m = New(add ? Type::kRouteAdd : Type::kRouteDel);
    if (!m) return 1;
    m->body.route.prefix = pfx;
    m->body.route.prefix_len = len;
    std::string nhs = add ? a[3] : (a.size() > 2 ? a[2] : "0.0.0.0");
    if (!ParseIp(nhs, &nh)) {
      std::fprintf(stderr, "arsec-dpctl: bad next hop '%s'\n", nhs.c_str());
      rte_mempool_put(g_pool, m);
      return 1;
    }
    m->body.route.nexthop = nh;
    if (add) {
      int port = PortOf(a[2]);
      if (port < 0) {
        rte_mempool_put(g_pool, m);
        return 1;
      }
      std::snprintf(m->body.route.ifname, sizeof m->body.route.ifname, "%s", a[2].c_str());
      m->body.route.port = static_cast<uint16_t>(port);
      m->body.route.metric = a.size() > 4 ? static_cast<uint32_t>(std::atoi(a[4].c_str())) : 1;
    }
    return Finish(Call(m), cmd.c_str());
  }
  if (cmd == "neigh-add" || cmd == "neigh-del") {
    bool add = cmd == "neigh-add";
    if (!need(add ? 3 : 2)) return 1;
    int port = PortOf(a[1]);
    uint32_t ip;
    if (port < 0) return 1;
    if (!ParseIp(a[2], &ip)) {
      std::fprintf(stderr, "arsec-dpctl: bad address '%s'\n", a[2].c_str());
      return 1;
    }
    unsigned b[6] = {};
    if (add && std::sscanf(a[3].c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4],
                           &b[5]) != 6) {
      std::fprintf(stderr, "arsec-dpctl: bad MAC '%s'\n", a[3].c_str());
      return 1;
    }
    Message* m = New(add ? Type::kNeighAdd : Type::kNeighDel);
    if (!m) return 1;
    m->body.arp_entry.port = static_cast<uint16_t>(port);
    m->body.arp_entry.ip = ip;
    for (int i = 0; i < 6; ++i) m->body.arp_entry.mac[i] = static_cast<uint8_t>(b[i]);
    return Finish(Call(m), cmd.c_str());
  }
  if (cmd == "arp" || cmd == "ports") {
    bool arp = cmd == "arp";
    uint32_t start = 0;
    do {
      Message* m = New(arp ? Type::kArpDump : Type::kPortDump);
      if (!m) return 1;
      m->body.dump.start = start;
      Message* r = Call(m);
      if (r == nullptr || r->result != 0) return Finish(r, cmd.c_str());
      if (arp) {
        for (uint32_t i = 0; i < r->body.arp.count; ++i) {
          const auto& e = r->body.arp.entries[i];
          std::printf("%-15s %02x:%02x:%02x:%02x:%02x:%02x %-6s %-10s age %us expires %us\n",
                      Ip(e.ip).c_str(), e.mac[0], e.mac[1], e.mac[2], e.mac[3], e.mac[4],
                      e.mac[5],
                      e.port < g_cfg.ports.size() ? g_cfg.ports[e.port].name.c_str() : "?",
                      StateName(e.state), e.age_s, e.expires_s);
        }
        start = r->body.arp.next;
      } else {
        for (uint32_t i = 0; i < r->body.ports.count; ++i) {
          const auto& e = r->body.ports.entries[i];
          std::printf("%u %-6s %s link %s mtu %u rx %lu tx %lu rx_missed %lu rx_err %lu "
                      "tx_err %lu  %s\n",
                      e.port, e.name, e.link_up ? "UP  " : "DOWN", e.link_up ? "up" : "down",
                      e.mtu, (unsigned long)e.rx_packets, (unsigned long)e.tx_packets,
                      (unsigned long)e.rx_missed, (unsigned long)e.rx_errors,
                      (unsigned long)e.tx_errors, e.device);
        }
        start = r->body.ports.next;
      }
      rte_mempool_put(g_pool, r);
    } while (start != 0);
    return 0;
  }
  if (cmd == "counters") return Counters(false);
  if (cmd == "runtime") return Counters(true);
  if (cmd == "events") {
    unsigned secs = a.size() > 1 ? static_cast<unsigned>(std::atoi(a[1].c_str())) : 5;
    uint64_t deadline = rte_get_timer_cycles() + secs * rte_get_timer_hz();
    while (rte_get_timer_cycles() < deadline) {
      void* o = nullptr;
      if (rte_ring_mc_dequeue(g_evt, &o) != 0) {
        usleep(1000);
        continue;
      }
      auto* e = static_cast<Message*>(o);
      if (e->type == Type::kEvtNeighbour) {
        std::printf("neighbour %s port %u %s\n", Ip(e->body.neigh.ip).c_str(),
                    e->body.neigh.port, StateName(e->body.neigh.state));
      } else if (e->type == Type::kEvtPunt) {
        std::printf("punt port %u %s -> %s proto %u len %u\n", e->body.punt.port,
                    Ip(e->body.punt.src).c_str(), Ip(e->body.punt.dst).c_str(),
                    e->body.punt.proto, e->body.punt.len);
      } else if (e->type == Type::kEvtLink) {
        std::printf("link port %u %s\n", e->body.link.port, e->body.link.up ? "up" : "down");
      }
      rte_mempool_put(g_pool, e);
    }
    return 0;
  }
  std::fprintf(stderr, "arsec-dpctl: unknown command '%s'\n", cmd.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config, prefix;
  int i = 1;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--config" && i + 1 < argc) {
      config = argv[++i];
    } else if (a == "--file-prefix" && i + 1 < argc) {
      prefix = argv[++i];
    } else {
      break;
    }
  }
  if (i >= argc) {
    std::fprintf(stderr,
                 "usage: arsec-dpctl [--config FILE] [--file-prefix P] COMMAND [ARGS] [, ...]\n"
                 "  hello | sync-begin | sync-end | addr-add IF A.B.C.D/LEN | addr-del IF A/LEN\n"
                 "  route-add PFX/LEN IF NEXTHOP [METRIC] | route-del PFX/LEN [NEXTHOP]\n"
                 "  neigh-add IF IP MAC | neigh-del IF IP\n"
                 "  arp | ports | counters | runtime | reset | events [SECONDS]\n");
    return 2;
  }
  g_cfg = arsec::BuiltinStartupConfig();
  if (!config.empty()) {
    auto c = arsec::LoadStartupConfig(config);
    if (!c.ok()) {
      std::fprintf(stderr, "arsec-dpctl: %s\n", std::string(c.status().message()).c_str());
      return 2;
    }
    g_cfg = *c;
  }
  if (prefix.empty()) prefix = g_cfg.file_prefix;
  std::string fp = "--file-prefix=" + prefix;
  // No devices of our own; --no-pci and the log level keep a secondary quiet and light.
  std::vector<std::string> eal = {"arsec-dpctl", "--proc-type=secondary", fp, "--no-pci",
                                  "-l", g_cfg.control_lcores, "--log-level=lib.eal:error",
                                  "--no-telemetry"};
  std::vector<char*> ev;
  for (auto& s : eal) ev.push_back(s.data());
  ev.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(eal.size()), ev.data()) < 0) {
    std::fprintf(stderr, "arsec-dpctl: cannot attach to the dataplane (file prefix %s)\n",
                 prefix.c_str());
    return 2;
  }
  g_req = rte_ring_lookup(arsec::shm::kRequestRing);
  g_rep = rte_ring_lookup(arsec::shm::kReplyRing);
  g_evt = rte_ring_lookup(arsec::shm::kEventRing);
  g_pool = rte_mempool_lookup(arsec::shm::kMessagePool);
  if (!g_req || !g_rep || !g_evt || !g_pool) {
    std::fprintf(stderr, "arsec-dpctl: dataplane rings not found\n");
    rte_eal_cleanup();
    return 2;
  }
  // Commands separated by "," run in order; the exit code is the first failure's.
  int rc = 0;
  std::vector<std::string> cur;
  for (; i <= argc; ++i) {
    if (i == argc || std::string(argv[i]) == ",") {
      if (!cur.empty()) {
        int r = Run(cur);
        if (rc == 0) rc = r;
      }
      cur.clear();
      continue;
    }
    cur.push_back(argv[i]);
  }
  rte_eal_cleanup();
  return rc;
}
