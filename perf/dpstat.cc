// arsec-dpstat: prints arsec-dataplane's per-worker runtime and counters as JSON.
//
// A short-lived DPDK secondary process (same --file-prefix as the dataplane) that looks
// up the arsec::shm::Stats memzone and reads it; it never writes. The benchmark runner
// uses it to get the dataplane's own busy cycles per packet next to the generator's
// packets per second, without going through the control process. With --interval it
// takes two snapshots that far apart and reports the difference, so start-up cost of
// this tool does not enter the figures.
#include <getopt.h>
#include <signal.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_memzone.h>

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/dp_stats.h"
#include "common/shm_names.h"

namespace {

using arsec::shm::kMaxWorkers;
using arsec::shm::kNumCounters;
using arsec::shm::Stats;
using arsec::shm::WorkerStats;

double MonotonicSeconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

// A consistent-enough copy: the workers are single writers of 64-bit fields, which x86
// reads atomically; a snapshot may straddle one burst, which is noise at these windows.
struct Snapshot {
  double t;
  uint64_t tsc;
  Stats s;
};

Snapshot Take(const Stats* z) {
  Snapshot out;
  out.t = MonotonicSeconds();
  out.tsc = rte_rdtsc();
  std::memcpy(&out.s, z, sizeof(Stats));
  return out;
}

std::string WorkerJson(unsigned idx, const WorkerStats& a, const WorkerStats* base,
                       bool is_main) {
  auto d = [&](uint64_t WorkerStats::*f) { return a.*f - (base ? base->*f : 0); };
  const uint64_t busy = d(&WorkerStats::busy_cycles), vec = d(&WorkerStats::vectors);
  const uint64_t bpolls = d(&WorkerStats::busy_polls), ipolls = d(&WorkerStats::idle_polls);
  std::vector<std::string> ctr;
  for (unsigned c = 0; c < kNumCounters; ++c) {
    const uint64_t v = a.counters[c] - (base ? base->counters[c] : 0);
    ctr.push_back(absl::StrFormat("\"%s\":%u", arsec::shm::kCounterNames[c], v));
  }
  return absl::StrFormat(
      "{\"index\":%s,\"lcore\":%u,\"active\":%u,\"busy_cycles\":%u,\"busy_polls\":%u,"
      "\"idle_polls\":%u,\"vectors\":%u,\"cycles_per_packet\":%s,\"packets_per_busy_poll\":%s,"
      "\"counters\":{%s}}",
      is_main ? "\"main\"" : absl::StrCat(idx), a.lcore, a.active, busy, bpolls, ipolls, vec,
      vec ? absl::StrFormat("%.2f", double(busy) / double(vec)) : "null",
      bpolls ? absl::StrFormat("%.2f", double(vec) / double(bpolls)) : "null",
      absl::StrJoin(ctr, ","));
}

void Print(const Snapshot& b, const Snapshot* a, const std::string& prefix) {
  const Stats& s = b.s;
  const unsigned n = std::min<unsigned>(s.n_workers, kMaxWorkers);
  std::vector<std::string> workers;
  uint64_t busy = 0, vec = 0;
  for (unsigned i = 0; i < n; ++i) {
    const WorkerStats* base = a ? &a->s.worker[i] : nullptr;
    workers.push_back(WorkerJson(i, s.worker[i], base, false));
    busy += s.worker[i].busy_cycles - (base ? base->busy_cycles : 0);
    vec += s.worker[i].vectors - (base ? base->vectors : 0);
  }
  const std::string main_json =
      WorkerJson(kMaxWorkers, s.worker[kMaxWorkers], a ? &a->s.worker[kMaxWorkers] : nullptr, true);
  const double interval = a ? b.t - a->t : 0.0;
  // Packets per second of the workers over the interval, from their own rx counters.
  uint64_t rx = 0, tx = 0;
  for (unsigned i = 0; i < n; ++i) {
    rx += s.worker[i].counters[arsec::shm::kCtr_rx_packets] -
          (a ? a->s.worker[i].counters[arsec::shm::kCtr_rx_packets] : 0);
    tx += s.worker[i].counters[arsec::shm::kCtr_tx_packets] -
          (a ? a->s.worker[i].counters[arsec::shm::kCtr_tx_packets] : 0);
  }
  std::printf(
      "{\"tool\":\"arsec-dpstat\",\"file_prefix\":\"%s\",\"tsc_hz\":%" PRIu64
      ",\"n_workers\":%u,\"mono\":%.6f,\"delta\":%s,\"interval_s\":%.4f,\"rx_pps\":%s,\"tx_pps\":%s,"
      "\"busy_cycles\":%" PRIu64 ",\"vectors\":%" PRIu64 ",\"cycles_per_packet\":%s,"
      "\"workers\":[%s],\"main\":%s}\n",
      prefix.c_str(), s.tsc_hz, s.n_workers, b.t, a ? "true" : "false", interval,
      a && interval > 0 ? absl::StrFormat("%.0f", rx / interval).c_str() : "null",
      a && interval > 0 ? absl::StrFormat("%.0f", tx / interval).c_str() : "null", busy, vec,
      vec ? absl::StrFormat("%.2f", double(busy) / double(vec)).c_str() : "null",
      absl::StrJoin(workers, ",").c_str(), main_json.c_str());
  std::fflush(stdout);
}

void Usage(FILE* f) {
  std::fprintf(f,
               "usage: arsec-dpstat --file-prefix PREFIX [--interval S | --every S [--count N]]\n"
               "                    [--lcore N]\n"
               "  Prints arsec-dataplane's per-worker runtime (busy cycles, packets, cycles\n"
               "  per packet) and counters as one JSON line. With --interval, prints the\n"
               "  difference between two snapshots taken that many seconds apart. With\n"
               "  --every, prints an absolute snapshot (with its CLOCK_MONOTONIC time in\n"
               "  \"mono\") every S seconds, N times or until SIGINT/SIGTERM, so a caller can\n"
               "  cut out the window it measured.\n");
}

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

}  // namespace

int main(int argc, char** argv) {
  std::string prefix, lcore = "0";
  double interval = 0, every = 0;
  unsigned count = 0;  // 0 = until a signal
  static const option kLong[] = {{"file-prefix", required_argument, nullptr, 'p'},
                                 {"interval", required_argument, nullptr, 'i'},
                                 {"lcore", required_argument, nullptr, 'l'},
                                 {"every", required_argument, nullptr, 'e'},
                                 {"count", required_argument, nullptr, 'c'},
                                 {"help", no_argument, nullptr, 'h'},
                                 {nullptr, 0, nullptr, 0}};
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "h", kLong, nullptr)) != -1) {
    switch (c) {
      case 'p': prefix = optarg; break;
      case 'l': lcore = optarg; break;
      case 'i':
        if (!absl::SimpleAtod(optarg, &interval) || !std::isfinite(interval) || interval < 0 ||
            interval > 3600) {
          std::fprintf(stderr, "arsec-dpstat: bad --interval '%s'\n", optarg);
          return 2;
        }
        break;
      case 'e':
        if (!absl::SimpleAtod(optarg, &every) || !std::isfinite(every) || every < 0.01 ||
            every > 3600) {
          std::fprintf(stderr, "arsec-dpstat: bad --every '%s' (0.01..3600)\n", optarg);
          return 2;
        }
        break;
      case 'c':
        if (!absl::SimpleAtoi(optarg, &count)) {
          std::fprintf(stderr, "arsec-dpstat: bad --count '%s'\n", optarg);
          return 2;
        }
        break;
      case 'h': Usage(stdout); return 0;
      default: Usage(stderr); return 2;
    }
  }
  if (prefix.empty() || optind < argc || (interval > 0 && every > 0)) {
    Usage(stderr);
    return 2;
  }
  // --no-telemetry: a second telemetry socket would only confuse tools that look for the
  // dataplane's. The log level keeps the secondary's device re-probing quiet.
  std::vector<std::string> eal = {"arsec-dpstat", "--proc-type=secondary", "--file-prefix",
                                  prefix, "-l", lcore, "--no-pci", "--no-telemetry",
                                  "--log-level", "*:error"};
  std::vector<char*> av;
  for (std::string& s : eal) av.push_back(s.data());
  av.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(av.size() - 1), av.data()) < 0) {
    std::fprintf(stderr, "arsec-dpstat: cannot attach to DPDK prefix '%s' (is arsec-dataplane running?)\n",
                 prefix.c_str());
    return 1;
  }
  const rte_memzone* mz = rte_memzone_lookup(arsec::shm::kStatsZone);
  int rc = 0;
  if (!mz || mz->len < sizeof(Stats)) {
    std::fprintf(stderr, "arsec-dpstat: memzone '%s' %s in prefix '%s'\n", arsec::shm::kStatsZone,
                 mz ? "is smaller than arsec::shm::Stats" : "not found", prefix.c_str());
    rc = 1;
  } else {
    const auto* z = static_cast<const Stats*>(mz->addr);
    const Snapshot a = Take(z);
    if (every > 0) {
      signal(SIGINT, OnSignal);
      signal(SIGTERM, OnSignal);
      Print(a, nullptr, prefix);
      for (unsigned i = 1; !g_stop && (count == 0 || i < count); ++i) {
        // Sleep in short steps so a signal ends the loop promptly.
        const double until = MonotonicSeconds() + every;
        while (!g_stop && MonotonicSeconds() < until) rte_delay_us_sleep(10000);
        if (!g_stop) Print(Take(z), nullptr, prefix);
      }
    } else if (interval > 0) {
      rte_delay_us_sleep(static_cast<unsigned>(interval * 1e6));
      const Snapshot b = Take(z);
      Print(b, &a, prefix);
    } else {
      Print(a, nullptr, prefix);
    }
  }
  rte_eal_cleanup();
  return rc;
}
