// Micro benchmark of the ESP stages (dataplane/ipsec/esp.h) around the IPsec-MB engine:
// TSC cycles per packet for ESP tunnel mode, outbound and inbound, AES-128-GCM and
// AES-128-CBC + HMAC-SHA1-96, inner IPv4 packets of 50 and 1400 bytes, bursts of 32,
// split the way the worker runs a burst (ipsec_worker.cc IpsecOutput / IpsecInput):
//   outbound: seq.Next + EspOutboundPrepare | engine Enqueue/Dequeue | EspOutboundFinish
//   inbound:  EspParse + replay Check | EspInboundPrepare | engine | EspInboundFinish |
//             replay Update
// so what the stages cost beside the crypto is visible. Each sample is kBursts bursts;
// every variant runs kRuns samples, interleaved, and each phase keeps its fastest sample
// (the VM is shared: the minimum drops preempted samples). Between bursts the packets
// are put back (outside the timed phases): outbound the clear packet, inbound the
// encrypted one, and the window is reset to just below the burst's numbers.
//   ninja -C build perf/micro/esp_bench && ./build/perf/micro/esp_bench
#include <rte_eal.h>
#include <rte_mbuf.h>
#include <unistd.h>
#include <x86intrin.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "dataplane/crypto/engine.h"
#include "dataplane/crypto/ipsec_mb_engine.h"
#include "dataplane/ipsec/esp.h"
#include "dataplane/ipsec/iv_source.h"
#include "dataplane/ipsec/sa.h"

using namespace arsec::dp;
using arsec::crypto::AuthAlg;
using arsec::crypto::CipherAlg;
using arsec::crypto::CryptoEngine;
using arsec::crypto::CryptoOp;
using arsec::crypto::CryptoSession;
using arsec::crypto::CryptoStatus;

namespace {

constexpr unsigned kBurst = 32;
constexpr int kBursts = 20;
constexpr int kRuns = 301;
constexpr uint16_t kRxHeadroom = RTE_PKTMBUF_HEADROOM + 14;  // Ethernet header removed

enum Phase { kCheck, kPrepare, kEngine, kFinish, kUpdate, kTotal, kPhases };

struct Variant {
  const char* name;
  bool outbound;
  uint32_t len;
  Sa* sa;
  std::vector<std::vector<uint8_t>> pkts;  // what each burst starts from
  rte_mbuf* ms[kBurst];
  uint64_t base_seq = 0;                   // inbound: the burst's first number
  double best[kPhases];
};

void Die(const char* what) {
  fprintf(stderr, "esp_bench: %s\n", what);
  exit(1);
}

void Reset(Variant& v) {
  for (unsigned i = 0; i < kBurst; ++i) {
    rte_mbuf* m = v.ms[i];
    m->data_off = kRxHeadroom;
    m->data_len = static_cast<uint16_t>(v.pkts[i].size());
    m->pkt_len = m->data_len;
    std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), v.pkts[i].data(), v.pkts[i].size());
  }
  if (!v.outbound) {
    if (!v.sa->replay.Init(1024, v.sa->esn, true)) Die("replay init");
    v.sa->replay.Update(v.base_seq - 1);
  }
}

void RunCrypto(CryptoEngine& e, CryptoOp* ops, unsigned n) {
  CryptoOp* ptr[kBurst];
  CryptoOp* out[kBurst];
  for (unsigned i = 0; i < n; ++i) ptr[i] = &ops[i];
  unsigned accepted = 0, done = 0;
  while (done < n) {
    if (accepted < n) accepted += e.Enqueue(ptr + accepted, static_cast<uint16_t>(n - accepted));
    done += e.Dequeue(out, kBurst);
  }
}

// One burst; adds each phase's cycles to t[]. Returns the packets that came through.
unsigned Burst(Variant& v, CryptoEngine& e, IvSource& ivs, uint16_t* ip_id, uint64_t* t) {
  alignas(64) CryptoOp ops[kBurst];
  OpScratch sc[kBurst];
  uint64_t seq64[kBurst];
  Sa& sa = *v.sa;
  unsigned ok = 0;
  uint64_t t0 = __rdtsc();
  if (v.outbound) {
    for (unsigned i = 0; i < kBurst; ++i) {
      const SeqAlloc a = sa.seq.Next();
      EspOutboundPrepare(sa, v.ms[i], a.first, ivs, (*ip_id)++, &ops[i], &sc[i]);
    }
    const uint64_t t1 = __rdtsc();
    RunCrypto(e, ops, kBurst);
    const uint64_t t2 = __rdtsc();
    for (unsigned i = 0; i < kBurst; ++i)
      ok += EspOutboundFinish(sa, v.ms[i], &ops[i], &sc[i]) == StageVerdict::kOk;
    const uint64_t t3 = __rdtsc();
    t[kPrepare] += t1 - t0;
    t[kEngine] += t2 - t1;
    t[kFinish] += t3 - t2;
    t[kTotal] += t3 - t0;
    return ok;
  }
  for (unsigned i = 0; i < kBurst; ++i) {
    uint32_t spi_be, seq_low;
    EspParse(v.ms[i], &spi_be, &seq_low);
    seq64[i] = sa.replay.Check(seq_low).seq64;
  }
  const uint64_t t1 = __rdtsc();
  for (unsigned i = 0; i < kBurst; ++i) EspInboundPrepare(sa, v.ms[i], seq64[i], &ops[i], &sc[i]);
  const uint64_t t2 = __rdtsc();
  RunCrypto(e, ops, kBurst);
  const uint64_t t3 = __rdtsc();
  uint8_t next[kBurst];
  bool good[kBurst];
  for (unsigned i = 0; i < kBurst; ++i)
    good[i] = EspInboundFinish(sa, v.ms[i], &ops[i], &sc[i], &next[i]) == StageVerdict::kOk;
  const uint64_t t4 = __rdtsc();
  for (unsigned i = 0; i < kBurst; ++i)
    ok += good[i] && sa.replay.Update(seq64[i]) == ReplayVerdict::kOk;
  const uint64_t t5 = __rdtsc();
  t[kCheck] += t1 - t0;
  t[kPrepare] += t2 - t1;
  t[kEngine] += t3 - t2;
  t[kFinish] += t4 - t3;
  t[kUpdate] += t5 - t4;
  t[kTotal] += t5 - t0;
  return ok;
}

struct OwnedSa {
  std::unique_ptr<CryptoSession> session;
  std::unique_ptr<Sa> sa;
};

OwnedSa MakeSa(CryptoEngine& e, CipherAlg c, AuthAlg a, std::mt19937& rng) {
  std::vector<uint8_t> ck(arsec::crypto::CipherKeyLen(c)), ak(arsec::crypto::AuthKeyLen(a));
  for (auto& x : ck) x = static_cast<uint8_t>(rng());
  for (auto& x : ak) x = static_cast<uint8_t>(rng());
  arsec::crypto::SessionParams p;
  p.cipher = c;
  p.auth = a;
  p.cipher_key = ck;
  p.auth_key = ak;
  auto s = e.CreateSession(p);
  if (!s.ok()) Die("session");
  OwnedSa o;
  o.session = std::move(*s);
  o.sa = std::make_unique<Sa>();
  Sa& sa = *o.sa;
  sa.session = o.session.get();
  sa.spi_be = rte_cpu_to_be_32(0x1001);
  sa.tun_src_be = rte_cpu_to_be_32(0xc0000201);
  sa.tun_dst_be = rte_cpu_to_be_32(0xc0000202);
  sa.proto = kProtoEsp;
  sa.mode = SaMode::kTunnel;
  sa.iv_len = o.session->iv_len();
  sa.block_len = std::max<uint8_t>(4, o.session->block_len());
  sa.digest_len = o.session->digest_len();
  sa.aead = arsec::crypto::IsAead(c);
  sa.state = static_cast<uint8_t>(SaState::kValid);
  sa.seq.Init(false);
  return o;
}

std::vector<uint8_t> InnerPacket(uint32_t len, std::mt19937& rng) {
  std::vector<uint8_t> b(len);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  b[0] = 0x45;
  b[1] = 0;
  StoreBe16(&b[2], static_cast<uint16_t>(len));
  b[6] = b[7] = 0;
  b[8] = 63;
  b[9] = 17;
  StoreBe32(&b[12], 0x0a010001);
  StoreBe32(&b[16], 0x0a020001);
  SetIpv4Cksum(b.data(), 20);
  return b;
}

}  // namespace

int main() {
  const std::string prefix = "esp-bench-" + std::to_string(getpid());
  const char* eal[] = {"esp_bench", "--no-huge", "-m", "64", "--no-pci", "--no-telemetry",
                       "--file-prefix", prefix.c_str(), "--log-level=error"};
  if (rte_eal_init(static_cast<int>(sizeof(eal) / sizeof(eal[0])), const_cast<char**>(eal)) < 0)
    Die("rte_eal_init");
  const std::string run_dir = rte_eal_get_runtime_dir();
  {
    rte_mempool* pool = rte_pktmbuf_pool_create("esp_bench", 511, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                                SOCKET_ID_ANY);
    if (pool == nullptr) Die("mbuf pool");
    auto er = arsec::crypto::CreateIpsecMbEngine();
    if (!er.ok()) Die("engine");
    CryptoEngine& eng = **er;
    auto ivr = IvSource::Create();
    if (!ivr.ok()) Die("iv source");
    IvSource& ivs = **ivr;
    std::mt19937 rng(1);
    OwnedSa gcm = MakeSa(eng, CipherAlg::kAes128Gcm, AuthAlg::kNull, rng);
    OwnedSa cbc = MakeSa(eng, CipherAlg::kAes128Cbc, AuthAlg::kHmacSha1_96, rng);
    uint16_t ip_id = 0;

    std::vector<std::unique_ptr<Variant>> vs;
    for (OwnedSa* s : {&gcm, &cbc}) {
      for (const uint32_t len : {50u, 1400u}) {
        for (const bool out : {true, false}) {
          auto v = std::make_unique<Variant>();
          v->name = s == &gcm ? "AES-128-GCM" : "AES-128-CBC+SHA1-96";
          v->outbound = out;
          v->len = len;
          v->sa = s->sa.get();
          for (unsigned i = 0; i < kBurst; ++i) {
            v->ms[i] = rte_pktmbuf_alloc(pool);
            if (v->ms[i] == nullptr) Die("mbuf alloc");
            v->pkts.push_back(InnerPacket(len, rng));
          }
          if (!out) {
            // The encrypted packets, made by the outbound stage with numbers base..base+31.
            Variant enc = *v;
            enc.outbound = true;
            v->base_seq = s->sa->seq.last() + 1;
            Reset(enc);
            uint64_t t[kPhases] = {};
            if (Burst(enc, eng, ivs, &ip_id, t) != kBurst) Die("outbound burst failed");
            for (unsigned i = 0; i < kBurst; ++i) {
              const auto* p = rte_pktmbuf_mtod(v->ms[i], const uint8_t*);
              v->pkts[i].assign(p, p + rte_pktmbuf_data_len(v->ms[i]));
            }
          }
          std::fill(std::begin(v->best), std::end(v->best), 1e30);
          vs.push_back(std::move(v));
        }
      }
    }
    for (auto& v : vs) {  // warm up, and check that every packet comes through
      for (int i = 0; i < 50; ++i) {
        Reset(*v);
        uint64_t t[kPhases] = {};
        if (Burst(*v, eng, ivs, &ip_id, t) != kBurst) Die("a burst failed");
      }
    }
    for (int r = 0; r < kRuns; ++r) {
      for (auto& v : vs) {
        uint64_t t[kPhases] = {};
        for (int b = 0; b < kBursts; ++b) {
          Reset(*v);
          Burst(*v, eng, ivs, &ip_id, t);
        }
        for (int p = 0; p < kPhases; ++p)
          v->best[p] = std::min(v->best[p], static_cast<double>(t[p]) / (kBursts * kBurst));
      }
    }

    printf("esp_bench: ESP tunnel through %s, burst %u, TSC cycles per packet (fastest of %d "
           "samples of %d bursts, per phase)\n",
           std::string(eng.Name()).c_str(), kBurst, kRuns, kBursts);
    printf("%-20s %-3s %5s  %6s %8s %8s %7s %7s  %7s %7s\n", "case", "dir", "bytes", "check",
           "prepare", "engine", "finish", "update", "stages", "total");
    for (auto& v : vs) {
      const double* b = v->best;
      const double stages = b[kCheck] + b[kPrepare] + b[kFinish] + b[kUpdate];
      if (v->outbound) {
        printf("%-20s %-3s %5u  %6s %8.1f %8.1f %7.1f %7s  %7.1f %7.1f\n", v->name, "out", v->len,
               "-", b[kPrepare], b[kEngine], b[kFinish], "-", stages, b[kTotal]);
      } else {
        printf("%-20s %-3s %5u  %6.1f %8.1f %8.1f %7.1f %7.1f  %7.1f %7.1f\n", v->name, "in",
               v->len, b[kCheck], b[kPrepare], b[kEngine], b[kFinish], b[kUpdate], stages,
               b[kTotal]);
      }
      for (rte_mbuf* m : v->ms) rte_pktmbuf_free(m);
    }
    rte_mempool_free(pool);
  }
  rte_eal_cleanup();
  std::error_code ec;
  std::filesystem::remove_all(run_dir, ec);
  return 0;
}
