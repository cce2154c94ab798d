// ike_setup_bench: IKEv1 tunnel set-up rate of arsec's IKE daemon on one core.
//
// Why: issue 4 asks for phase 1 + phase 2 completions per second with one control-plane
// core, side by side with strongSwan in the same network namespaces. perf/ike_bench.py
// creates the namespaces (an initiator side with one address per simulated peer, a
// responder side with one address, a veth between them), runs this binary for arsec
// and two charon processes for strongSwan, and prints the table.
//
// How:
//   responder (the DUT)  the production IkeDaemon (control/ike/ike_daemon.h: its thread,
//                        100 ms ticks, SHOW snapshots) over a kernel UdpTransport bound to
//                        port 500 in the responder namespace; its thread is pinned to
//                        --resp-cpu. One ISAKMP policy and one IPsec policy per peer, as a
//                        gateway configured for N fixed peers would have. SAs go to a
//                        recording SaInstaller (no dataplane: the install through the
//                        rings is measured separately: perf/ike/ike_install_bench.py).
//   initiators (load)    N Engines (one per peer address) on the main thread, pinned to
//                        --init-cpu, sharing one UdpTransport bound to port 500 in the
//                        initiator namespace (IP_PKTINFO picks each engine's source
//                        address and tells which engine a reply is for). At most
//                        --window set-ups are in flight; each completed quick mode
//                        starts the next peer.
//   measure              the window runs from the first Initiate to the responder's N-th
//                        installed bundle. The responder thread's CPU time comes from its
//                        thread CPU clock (pthread_getcpuclockid), read at the start and by
//                        the installer at each install, so the figure "CPU per set-up"
//                        does not depend on how fast the initiators are or on other load.
//
// Main mode, PSK (one key per peer), AES-128-CBC/SHA1, MODP group --group; quick mode
// ESP AES-128-CBC + HMAC-SHA1, tunnel, no PFS. Output: one JSON line on stdout.
#include <pthread.h>
#include <sched.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "cli/lang/bundle_string.h"
#include "control/ike/engine.h"
#include "control/ike/ike_daemon.h"
#include "control/ike/udp_transport.h"

namespace arsec::ike {
namespace {

struct Args {
  int peers = 500;
  int group = 2;
  int window = 32;
  int resp_cpu = 1, init_cpu = 0;
  double timeout_s = 120;
  uint32_t resp_addr = 0;
  uint32_t init_first = 0;
  std::string resp_netns, init_netns;
};

uint64_t NowNs(clockid_t c) {
  timespec ts;
  clock_gettime(c, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

bool ParseAddr(const char* s, uint32_t* out) {
  unsigned a, b, c, d;
  char tail;
  if (sscanf(s, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) != 4 || a > 255 || b > 255 || c > 255 ||
      d > 255)
    return false;
  *out = (a << 24) | (b << 16) | (c << 8) | d;
  return true;
}

void Pin(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

// Opens a UdpTransport inside the network namespace at `netns` (a /run/netns path; empty =
// the current one). The socket keeps the namespace it was created in.
std::unique_ptr<UdpTransport> OpenIn(const std::string& netns) {
  int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  int target = netns.empty() ? -1 : open(netns.c_str(), O_RDONLY | O_CLOEXEC);
  if (self < 0 || (!netns.empty() && target < 0)) {
    fprintf(stderr, "ike_setup_bench: cannot open %s: %s\n", netns.c_str(), strerror(errno));
    std::exit(2);
  }
  if (target >= 0 && setns(target, CLONE_NEWNET) != 0) {
    fprintf(stderr, "ike_setup_bench: setns %s: %s\n", netns.c_str(), strerror(errno));
    std::exit(2);
  }
  UdpTransport::Options o;
  o.local = 0;   // every address: the engines' sources and the peers' targets vary
  o.ike_port = 500;
  o.natt = false;
  auto t = UdpTransport::Open(o);
  if (target >= 0) {
    setns(self, CLONE_NEWNET);
    close(target);
  }
  close(self);
  if (!t.ok()) {
    fprintf(stderr, "ike_setup_bench: %s\n", std::string(t.status().message()).c_str());
    std::exit(2);
  }
  return std::move(*t);
}

control::SaSpec EspSpec() {
  control::SaSpec s;
  s.id = 1;
  s.keyman = control::KeyManagement::kIsakmp;
  s.protocol = control::SaProtocol::kEsp;
  s.encalg = control::EncAlg::kAes128;
  s.hashalg = control::HashAlg::kSha;
  return s;
}

// The protected networks of peer k: 172.16.0.0/12 behind the initiators, 10.64.0.0/10
// behind the responder, one /24 each (perf/ike_bench.py uses the same for strongSwan).
uint32_t InitNet(int k) { return 0xac100000u + (static_cast<uint32_t>(k) << 8); }
uint32_t RespNet(int k) { return 0x0a400000u + (static_cast<uint32_t>(k) << 8); }

PeerConfig Peer(int k, uint32_t peer, int group) {
  PeerConfig c;
  c.name = absl::StrCat("peer", k);
  c.peer = peer;
  const std::string psk = absl::StrCat("bench-psk-", k);
  c.psk = SecretBytes(Bytes(psk.begin(), psk.end()));
  Phase1Offer o;
  o.enc = P1Encryption::kAes;
  o.key_bits = 128;
  o.hash = P1Hash::kSha;
  o.auth = AuthMethod::kPsk;
  o.group = group;
  c.offers.push_back(o);
  c.dpd = DpdMode::kNone;
  c.msg_timeout_ms = 10000;   // no spurious retransmissions while queues are long
  c.msg_retry_limit = 3;
  return c;
}

Phase2Policy Policy(int k, uint32_t local, uint32_t peer, uint32_t lnet, uint32_t rnet) {
  Phase2Policy p;
  p.policy_id = static_cast<uint32_t>(k + 1);
  p.name = absl::StrCat("vpn", k);
  p.view.action = control::PolicyAction::kIpsec;
  p.view.keyman = control::KeyManagement::kIsakmp;
  p.view.peer = peer;
  p.view.laddr = lnet;
  p.view.lmask = 0xffffff00;
  p.view.raddr = rnet;
  p.view.rmask = 0xffffff00;
  p.local = local;
  p.bundle.id = 1;
  p.bundle.keyman = control::KeyManagement::kIsakmp;
  p.bundle.bundle = *lang::ParseBundleString("1");
  p.bundle.text = "1";
  p.specs = {{1, EspSpec()}};
  return p;
}

// The responder's SaInstaller: keeps every bundle (as the IPsec model would) and stamps
// each install with the wall clock and the calling (daemon) thread's CPU clock.
class RecordingInstaller : public SaInstaller {
 public:
  explicit RecordingInstaller(size_t n) {
    wall_ns_.reserve(n);
    cpu_ns_.reserve(n);
  }
  uint32_t ReserveSpi(control::SaProtocol) override { return 0x1000 + next_spi_++; }
  void ReleaseSpi(control::SaProtocol, uint32_t) override {}
  absl::StatusOr<uint32_t> Install(const NegotiatedBundle& b) override {
    const uint64_t cpu = NowNs(CLOCK_THREAD_CPUTIME_ID);
    const uint64_t wall = NowNs(CLOCK_MONOTONIC);
    const uint32_t h = ++handle_;
    bundles_.emplace(h, b);
    {
      std::lock_guard<std::mutex> l(mu_);
      wall_ns_.push_back(wall);
      cpu_ns_.push_back(cpu);
    }
    installed_.fetch_add(1, std::memory_order_release);
    return h;
  }
  void Remove(uint32_t handle) override { bundles_.erase(handle); }

  size_t installed() const { return installed_.load(std::memory_order_acquire); }
  void Stamps(std::vector<uint64_t>* wall, std::vector<uint64_t>* cpu) {
    std::lock_guard<std::mutex> l(mu_);
    *wall = wall_ns_;
    *cpu = cpu_ns_;
  }

 private:
  uint32_t next_spi_ = 0;
  uint32_t handle_ = 0;
  absl::flat_hash_map<uint32_t, NegotiatedBundle> bundles_;   // daemon thread only
  std::mutex mu_;
  std::vector<uint64_t> wall_ns_, cpu_ns_;
  std::atomic<size_t> installed_{0};
};

// What an initiator engine sends goes out of the shared socket.
class SharedOut : public DatagramTransport {
 public:
  explicit SharedOut(UdpTransport* t) : t_(t) {}
  absl::Status Send(const Datagram& d) override { return t_->Send(d); }
  size_t Receive(std::vector<Datagram>&, size_t) override { return 0; }
  void Wait(int) override {}

 private:
  UdpTransport* t_;
};

// Initiators do not install anything anywhere.
class NullInstaller : public SaInstaller {
 public:
  uint32_t ReserveSpi(control::SaProtocol) override { return 0x1000 + next_++; }
  void ReleaseSpi(control::SaProtocol, uint32_t) override {}
  absl::StatusOr<uint32_t> Install(const NegotiatedBundle&) override { return ++next_; }
  void Remove(uint32_t) override {}

 private:
  uint32_t next_ = 0;
};

void Usage() {
  fprintf(stderr,
          "usage: ike_setup_bench --resp-addr A --init-first A [--peers N] [--group 2|14]\n"
          "         [--window W] [--resp-netns PATH] [--init-netns PATH] [--resp-cpu C]\n"
          "         [--init-cpu C] [--timeout S]\n");
  std::exit(2);
}

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (i + 1 >= argc) Usage();
    const char* v = argv[++i];
    bool ok = true;
    if (k == "--peers") ok = absl::SimpleAtoi(v, &a.peers) && a.peers > 0;
    else if (k == "--group") ok = absl::SimpleAtoi(v, &a.group);
    else if (k == "--window") ok = absl::SimpleAtoi(v, &a.window) && a.window > 0;
    else if (k == "--resp-cpu") ok = absl::SimpleAtoi(v, &a.resp_cpu);
    else if (k == "--init-cpu") ok = absl::SimpleAtoi(v, &a.init_cpu);
    else if (k == "--timeout") ok = absl::SimpleAtod(v, &a.timeout_s);
    else if (k == "--resp-addr") ok = ParseAddr(v, &a.resp_addr);
    else if (k == "--init-first") ok = ParseAddr(v, &a.init_first);
    else if (k == "--resp-netns") a.resp_netns = v;
    else if (k == "--init-netns") a.init_netns = v;
    else Usage();
    if (!ok) {
      fprintf(stderr, "ike_setup_bench: bad value for %s: %s\n", k.c_str(), v);
      std::exit(2);
    }
  }
  if (a.resp_addr == 0 || a.init_first == 0) Usage();
  return a;
}

int Run(const Args& a) {
  const int n = a.peers;
  auto resp_tr = OpenIn(a.resp_netns);
  auto init_tr = OpenIn(a.init_netns);
  const auto init_addr = [&](int k) { return a.init_first + static_cast<uint32_t>(k); };

  // ---- the responder: the production daemon thread
  auto rcfg = std::make_shared<IkeConfig>();
  rcfg->enabled = true;
  rcfg->local_addrs = {a.resp_addr};
  for (int k = 0; k < n; ++k) {
    rcfg->peers.push_back(Peer(k, init_addr(k), a.group));
    rcfg->policies.push_back(Policy(k, a.resp_addr, init_addr(k), RespNet(k), InitNet(k)));
  }
  RecordingInstaller rinst(static_cast<size_t>(n));
  std::atomic<uint64_t> resp_log_lines{0};
  IkeDaemon daemon(resp_tr.get(), &rinst,
                   [&](int, const std::string&, const std::string& line) {
                     // arsec-control appends each line to its log store; here it is only
                     // counted (its string is built by the engine either way).
                     if (!line.empty()) resp_log_lines.fetch_add(1, std::memory_order_relaxed);
                   });
  daemon.Configure(rcfg);
  daemon.Start();
  std::promise<pthread_t> thread_p;
  daemon.Post([&, cpu = a.resp_cpu](Engine&) {
    Pin(cpu);
    thread_p.set_value(pthread_self());
  });
  const pthread_t resp_thread = thread_p.get_future().get();
  clockid_t resp_clock;
  if (pthread_getcpuclockid(resp_thread, &resp_clock) != 0) {
    fprintf(stderr, "ike_setup_bench: no CPU clock for the daemon thread\n");
    return 1;
  }

  // ---- the initiators: N engines on this thread
  Pin(a.init_cpu);
  SharedOut out(init_tr.get());
  NullInstaller null_inst;
  std::vector<std::unique_ptr<Engine>> engines;
  absl::flat_hash_map<uint32_t, int> by_addr;
  engines.reserve(n);
  for (int k = 0; k < n; ++k) {
    EngineEnv env;
    env.transport = &out;
    env.installer = &null_inst;
    env.log = [](int, const std::string&, const std::string&) {};
    env.debug = [](uint32_t, const std::string&) {};
    env.now = [] { return absl::Now(); };
    env.random = [](uint8_t* p, size_t len) {
      if (RAND_bytes(p, static_cast<int>(len)) != 1) std::abort();
    };
    auto e = std::make_unique<Engine>(std::move(env));
    auto c = std::make_shared<IkeConfig>();
    c->enabled = true;
    c->local_addrs = {init_addr(k)};
    c->peers.push_back(Peer(k, a.resp_addr, a.group));
    c->policies.push_back(Policy(0, init_addr(k), a.resp_addr, InitNet(k), RespNet(k)));
    e->Configure(c);
    by_addr[init_addr(k)] = k;
    engines.push_back(std::move(e));
  }
  // Let the daemon take its configuration before the clock starts.
  absl::SleepFor(absl::Milliseconds(200));

  std::vector<char> done(static_cast<size_t>(n), 0);
  int next = 0, init_done = 0, in_flight = 0;
  const uint64_t t0 = NowNs(CLOCK_MONOTONIC);
  const uint64_t c0 = NowNs(resp_clock);
  const uint64_t deadline = t0 + static_cast<uint64_t>(a.timeout_s * 1e9);
  auto start_next = [&] {
    while (in_flight < a.window && next < n) {
      (void)engines[next]->Initiate(1);
      ++next;
      ++in_flight;
    }
  };
  start_next();
  std::vector<Datagram> in;
  uint64_t next_tick = t0 + 100000000ull;
  uint64_t unknown_rx = 0;
  while (rinst.installed() < static_cast<size_t>(n)) {
    const uint64_t now = NowNs(CLOCK_MONOTONIC);
    if (now > deadline) break;
    init_tr->Wait(2);
    in.clear();
    init_tr->Receive(in, 256);
    for (const auto& d : in) {
      auto it = by_addr.find(d.dst);
      if (it == by_addr.end()) {
        ++unknown_rx;
        continue;
      }
      Engine& e = *engines[it->second];
      e.OnDatagram(d);
      if (!done[it->second] && e.counter(Ctr::kQuickDone) > 0) {
        done[it->second] = 1;
        ++init_done;
        --in_flight;
      }
    }
    start_next();
    if (now >= next_tick) {
      for (int k = 0; k < next; ++k) engines[k]->Tick();
      next_tick = now + 100000000ull;
    }
  }
  const uint64_t t_end = NowNs(CLOCK_MONOTONIC);
  const uint64_t c_end = NowNs(resp_clock);
  // The responder's own counters, read on its thread.
  struct RespCounters {
    uint64_t main_done, quick_done, retx, rx_retx, half_open_refused;
  };
  std::promise<RespCounters> rc_p;
  daemon.Post([&](Engine& e) {
    rc_p.set_value({e.counter(Ctr::kMainDone), e.counter(Ctr::kQuickDone),
                    e.counter(Ctr::kRetransmits), e.counter(Ctr::kRxRetransmitted),
                    e.counter(Ctr::kHalfOpenRefused)});
  });
  const RespCounters rc = rc_p.get_future().get();
  std::vector<uint64_t> wall, cpu;
  rinst.Stamps(&wall, &cpu);
  daemon.Stop();

  uint64_t init_retx = 0;
  for (auto& e : engines) init_retx += e->counter(Ctr::kRetransmits);
  const size_t got = wall.size();
  const bool complete = got == static_cast<size_t>(n);
  // Whole window: first Initiate to the N-th install on the responder.
  const double win_s = complete ? (wall.back() - t0) / 1e9 : (t_end - t0) / 1e9;
  const double resp_cpu_s = complete ? (cpu.back() - c0) / 1e9 : (c_end - c0) / 1e9;
  // Steady state: the middle 80% of the installs (no ramp-up, no tail).
  double steady_rate = 0, steady_cpu_ms = 0;
  if (got >= 10) {
    const size_t i0 = got / 10, i1 = got - 1 - got / 10;
    const double dt = (wall[i1] - wall[i0]) / 1e9;
    const double dc = (cpu[i1] - cpu[i0]) / 1e9;
    steady_rate = dt > 0 ? static_cast<double>(i1 - i0) / dt : 0;
    steady_cpu_ms = 1e3 * dc / static_cast<double>(i1 - i0);
  }
  printf("%s\n",
         absl::StrFormat(
             "{\"impl\": \"arsec\", \"group\": %d, \"peers\": %d, \"window\": %d, "
             "\"completed\": %d, \"initiator_completed\": %d, \"window_s\": %.4f, "
             "\"setups_per_s\": %.2f, \"resp_cpu_s\": %.4f, \"resp_cpu_share\": %.3f, "
             "\"resp_cpu_ms_per_setup\": %.4f, \"setups_per_cpu_s\": %.2f, "
             "\"steady_setups_per_s\": %.2f, \"steady_cpu_ms_per_setup\": %.4f, "
             "\"resp_main_done\": %d, \"resp_quick_done\": %d, \"resp_retransmits\": %d, "
             "\"resp_rx_retransmitted\": %d, \"resp_half_open_refused\": %d, "
             "\"init_retransmits\": %d, \"resp_log_lines\": %d, \"unknown_rx\": %d, "
             "\"resp_cpu\": %d, \"init_cpu\": %d}",
             a.group, n, a.window, static_cast<int>(got), init_done, win_s,
             win_s > 0 ? got / win_s : 0.0, resp_cpu_s, win_s > 0 ? resp_cpu_s / win_s : 0.0,
             got ? 1e3 * resp_cpu_s / got : 0.0, resp_cpu_s > 0 ? got / resp_cpu_s : 0.0,
             steady_rate, steady_cpu_ms, static_cast<int>(rc.main_done),
             static_cast<int>(rc.quick_done), static_cast<int>(rc.retx), static_cast<int>(rc.rx_retx),
             static_cast<int>(rc.half_open_refused), static_cast<int>(init_retx),
             static_cast<int>(resp_log_lines.load()), static_cast<int>(unknown_rx),
             a.resp_cpu, a.init_cpu)
             .c_str());
  return complete ? 0 : 1;
}

}  // namespace
}  // namespace arsec::ike

int main(int argc, char** argv) { return arsec::ike::Run(arsec::ike::Parse(argc, argv)); }
