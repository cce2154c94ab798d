// Micro benchmark of the SPD classifier (dataplane/ipsec/spd.h): TSC cycles per packet
// to classify bursts of 32 keys on one interface, outbound, for 1, 100 and 10,000
// site-to-site policies (and 8 / 100 / 10,000 random overlapping ones, the trie's hard
// case), with every rte_acl implementation this CPU allows, and the linear scan for
// small SPDs (2..32 rules locate the crossover). Best and median of 21 runs
// of 8,192 bursts over 8,192 distinct keys (half of them inside some policy's selectors),
// single thread, no-hugepage EAL. On a shared machine read the best column (the run
// least disturbed by other load).
//   spd_bench [--quick]
#include <rte_cycles.h>
#include <rte_eal.h>
#include <unistd.h>
#include <x86intrin.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "dataplane/ipsec/spd.h"

using namespace arsec::dp;

namespace {

constexpr uint32_t kBurst = 32;
constexpr uint32_t kKeys = 8192;

constexpr uint32_t Ip(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  return a << 24 | b << 16 | c << 8 | d;
}
constexpr uint32_t Mask(int len) { return len == 0 ? 0 : ~0u << (32 - len); }

std::vector<SpdRule> SiteToSite(uint32_t n, std::mt19937_64& rng) {
  std::vector<SpdRule> rules;
  for (uint32_t i = 0; i < n; ++i) {
    SpdRule r;
    r.action = i % 10 == 9 ? SpdAction::kDeny : SpdAction::kIpsec;
    r.policy = i;
    r.laddr = Ip(10, (i >> 8) & 0xff, i & 0xff, 0);
    r.lmask = Mask(rng() % 5 ? 24 : 28);
    r.raddr = Ip(172, 16 + (i & 0xf), static_cast<uint32_t>(rng() % 256), 0);
    r.rmask = Mask(rng() % 2 ? 24 : 32);
    if (rng() % 5 == 0) {
      r.proto = rng() % 2 ? kSpdProtoTcp : kSpdProtoUdp;
      r.rport_lo = r.rport_hi = static_cast<uint16_t>(rng() % 2 ? 443 : rng());
    }
    rules.push_back(r);
  }
  return rules;
}

std::vector<SpdRule> RandomOverlapping(uint32_t n, std::mt19937_64& rng) {
  static const uint32_t kBases[] = {Ip(10, 0, 0, 0), Ip(10, 1, 0, 0), Ip(10, 1, 2, 0),
                                    Ip(192, 168, 10, 0), Ip(192, 168, 20, 0)};
  static const int kLens[] = {0, 8, 16, 20, 24, 28, 32};
  auto addr = [&] { return kBases[rng() % 5] ^ static_cast<uint32_t>(rng() & 0xffff); };
  auto ports = [&](uint16_t* lo, uint16_t* hi) {
    switch (rng() % 3) {
      case 0: break;
      case 1: *lo = *hi = static_cast<uint16_t>(rng()); break;
      default: {
        uint16_t a = static_cast<uint16_t>(rng()), b = static_cast<uint16_t>(rng());
        *lo = std::min(a, b), *hi = std::max(a, b);
      }
    }
  };
  std::vector<SpdRule> rules;
  for (uint32_t i = 0; i < n; ++i) {
    SpdRule r;
    r.action = static_cast<SpdAction>(1 + rng() % 3);
    r.policy = i;
    r.laddr = addr();
    r.lmask = Mask(kLens[rng() % 7]);
    r.raddr = addr();
    r.rmask = Mask(kLens[rng() % 7]);
    uint32_t k = rng() % 4;
    r.proto = k == 0 ? kSpdAnyProto : k == 1 ? 6 : k == 2 ? 17 : 50;
    if (r.proto == 6 || r.proto == 17) {
      ports(&r.lport_lo, &r.lport_hi);
      ports(&r.rport_lo, &r.rport_hi);
    }
    rules.push_back(r);
  }
  return rules;
}

std::vector<SpdKey> Keys(const std::vector<SpdRule>& rules, std::mt19937_64& rng) {
  std::vector<SpdKey> keys(kKeys);
  for (SpdKey& k : keys) {
    uint32_t src = static_cast<uint32_t>(rng()), dst = static_cast<uint32_t>(rng());
    uint8_t proto = rng() % 2 ? 6 : 17;
    uint16_t sport = static_cast<uint16_t>(rng()), dport = static_cast<uint16_t>(rng());
    if (rng() % 2) {
      const SpdRule& r = rules[rng() % rules.size()];
      src = (r.laddr & r.lmask) | (static_cast<uint32_t>(rng()) & ~r.lmask);
      dst = (r.raddr & r.rmask) | (static_cast<uint32_t>(rng()) & ~r.rmask);
      if (r.proto != kSpdAnyProto) proto = static_cast<uint8_t>(r.proto);
      sport = static_cast<uint16_t>(r.lport_lo + rng() % (r.lport_hi - r.lport_lo + 1u));
      dport = static_cast<uint16_t>(r.rport_lo + rng() % (r.rport_hi - r.rport_lo + 1u));
    }
    SpdKeyFill(&k, proto, __builtin_bswap32(src), __builtin_bswap32(dst),
               __builtin_bswap16(sport), __builtin_bswap16(dport));
  }
  return keys;
}

struct Result {
  double best, median;
};

Result Measure(const SpdTable& t, const std::vector<SpdKey>& keys, uint32_t bursts) {
  std::vector<const uint8_t*> ptrs(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) ptrs[i] = reinterpret_cast<const uint8_t*>(&keys[i]);
  alignas(64) uint32_t res[kBurst];
  uint64_t sink = 0;
  std::vector<double> runs;
  for (int run = 0; run < 21; ++run) {
    uint64_t c0 = __rdtsc();
    uint32_t off = 0;
    for (uint32_t b = 0; b < bursts; ++b) {
      t.Classify(0, SpdDir::kOutbound, ptrs.data() + off, kBurst, res);
      sink += res[b & (kBurst - 1)];
      off = (off + kBurst) & (kKeys - 1);
    }
    uint64_t c1 = __rdtsc();
    runs.push_back(static_cast<double>(c1 - c0) / (double{1} * bursts * kBurst));
  }
  if (sink == 42) puts("");  // keeps the results alive
  std::sort(runs.begin(), runs.end());
  return {runs.front(), runs[runs.size() / 2]};
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
  std::string prefix = "spd-bench-" + std::to_string(getpid());
  const char* eal[] = {"spd_bench", "--no-huge", "-m", "512", "--no-pci", "--file-prefix",
                       prefix.c_str(), "--log-level=error", "--force-max-simd-bitwidth=512"};
  if (rte_eal_init(static_cast<int>(std::size(eal)), const_cast<char**>(eal)) < 0) {
    fprintf(stderr, "rte_eal_init failed\n");
    return 1;
  }
  const uint32_t bursts = quick ? 1024 : 8192;
  printf("SPD classify, bursts of %u, TSC %.2f GHz, cycles/packet best (median) of 21 runs\n",
         kBurst, static_cast<double>(rte_get_tsc_hz()) / 1e9);
  const std::pair<enum rte_acl_classify_alg, const char*> algs[] = {
      {RTE_ACL_CLASSIFY_SCALAR, "scalar"}, {RTE_ACL_CLASSIFY_SSE, "sse"},
      {RTE_ACL_CLASSIFY_AVX2, "avx2"},     {RTE_ACL_CLASSIFY_AVX512X16, "avx512x16"},
      {RTE_ACL_CLASSIFY_AVX512X32, "avx512x32"}};
  printf("%-24s %8s", "rule set", "build ms");
  for (auto& a : algs) printf(" %17s", a.second);
  printf(" %17s %17s\n", "linear", "default opts");
  struct Case {
    const char* name;
    bool random;
    uint32_t n;
  };
  const Case cases[] = {{"site-to-site 1", false, 1},       {"site-to-site 2", false, 2},
                        {"site-to-site 4", false, 4},       {"site-to-site 8", false, 8},
                        {"site-to-site 16", false, 16},     {"site-to-site 32", false, 32},
                        {"site-to-site 100", false, 100},   {"site-to-site 10000", false, 10000},
                        {"random overlap 8", true, 8},      {"random overlap 100", true, 100},
                        {"random overlap 10000", true, 10000}};
  for (const Case& c : cases) {
    std::mt19937_64 rng(c.n * 7 + c.random);
    auto rules = c.random ? RandomOverlapping(c.n, rng) : SiteToSite(c.n, rng);
    auto keys = Keys(rules, rng);
    printf("%-24s", c.name);
    bool first = true;
    for (auto& a : algs) {
      SpdBuildOptions opt;
      opt.inbound = false;
      opt.alg = a.first;
      opt.alg_strict = true;
      opt.large_min_rules = UINT32_MAX;
      opt.linear_max_rules = 0;
      auto t0 = std::chrono::steady_clock::now();
      auto t = SpdTable::Build(rules, opt);
      double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                      .count();
      if (first) printf(" %8.1f", ms);
      first = false;
      if (!t.ok()) {
        printf(" %17s", "n/a");
        continue;
      }
      Result r = Measure(**t, keys, bursts);
      printf(" %8.1f (%6.1f)", r.best, r.median);
      fflush(stdout);
    }
    if (c.n <= 100) {
      SpdBuildOptions opt;
      opt.inbound = false;
      opt.linear_max_rules = c.n;
      auto t = SpdTable::Build(rules, opt);
      Result r = Measure(**t, keys, bursts);
      printf(" %8.1f (%6.1f)", r.best, r.median);
    } else {
      printf(" %17s", "-");
    }
    {  // what the dataplane gets with the default SpdBuildOptions
      SpdBuildOptions opt;
      opt.inbound = false;
      auto t = SpdTable::Build(rules, opt);
      Result r = Measure(**t, keys, bursts);
      printf(" %8.1f (%6.1f)", r.best, r.median);
    }
    printf("\n");
  }
  // EAL leaves its runtime directory (config, fbarray files) behind; it is ours alone.
  std::string run_dir = rte_eal_get_runtime_dir();
  rte_eal_cleanup();
  std::filesystem::remove_all(run_dir);
  return 0;
}
