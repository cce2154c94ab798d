// The DPDK cryptodev engine beyond the suites every engine runs (crypto_test.cc): the
// device's description and capabilities, ops left in flight across several bursts,
// a device that fills before the engine does, the mbuf path (op->user) against the
// plain-buffer path and the IPsec-MB engine byte for byte, ranges outside the mbuf,
// ICV failures inside a burst, GCM AAD lengths, and the lifetime rules (sessions and
// engines keep the device open; a device probed by Open is removed and can be reopened).
#include <gtest/gtest.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "dataplane/crypto/cryptodev_engine.h"
#include "dataplane/crypto/engine.h"
#include "tests/unit/crypto/test_engines.h"
#include "tests/unit/crypto/test_util.h"

namespace arsec::crypto::testing {
namespace {

rte_mempool* MbufPool() {
  static rte_mempool* p = rte_pktmbuf_pool_create(
      "cdev_test_mb", 1023, 0, 0, 2048 + RTE_PKTMBUF_HEADROOM, SOCKET_ID_ANY);
  return p;
}

struct MbufFree {
  void operator()(rte_mbuf* m) const { rte_pktmbuf_free(m); }
};
using MbufPtr = std::unique_ptr<rte_mbuf, MbufFree>;

// The packet of `e` in an mbuf after `lead` bytes (an outer header).
MbufPtr ToMbuf(const EspBuf& e, size_t lead) {
  rte_mbuf* m = rte_pktmbuf_alloc(MbufPool());
  EXPECT_NE(m, nullptr);
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(lead + e.b.size())));
  EXPECT_NE(p, nullptr);
  std::memset(p, 0x45, lead);
  std::memcpy(p + lead, e.b.data(), e.b.size());
  return MbufPtr(m);
}
uint8_t* EspIn(rte_mbuf* m, size_t lead) { return rte_pktmbuf_mtod(m, uint8_t*) + lead; }

// MakeOp for the packet held in `m` (ESN AAD from `e`); `digest` overrides the ICV
// location (e.g. outside the mbuf).
CryptoOp MbufOp(const CryptoSession& s, EspBuf& e, rte_mbuf* m, size_t lead, CryptoDir dir,
                uint8_t* digest = nullptr) {
  CryptoOp op = MakeOp(s, e, dir);
  uint8_t* base = EspIn(m, lead);
  op.data = base;
  op.iv = base + e.iv_off;
  op.digest = digest != nullptr ? digest : base + e.icv_off;
  if (IsAead(s.cipher()) && !e.esn) op.aad = base;
  op.user = m;
  return op;
}

std::unique_ptr<CryptoEngine> Engine(CryptodevDevice& d, uint16_t qp, uint32_t capacity = 1024) {
  CryptodevEngineOptions o;
  o.capacity = capacity;
  auto e = d.MakeEngine(qp, o);
  EXPECT_TRUE(e.ok()) << e.status();
  return e.ok() ? std::move(*e) : nullptr;
}

// ---------------------------------------------------------------- the device

TEST(CryptodevDevice, DescribesItselfAndItsCapabilities) {
  CryptodevDevice& d = TestDevice();
  EXPECT_EQ(d.name(), "crypto_aesni_mb0");
  EXPECT_EQ(d.driver(), "crypto_aesni_mb");
  EXPECT_EQ(d.queue_pairs(), kTestQueuePairs);
  CryptoEngine& e = SharedEngine(EngineKind::kCryptodev);
  EXPECT_FALSE(e.IsSynchronous());
  EXPECT_EQ(e.Name(), "cryptodev/crypto_aesni_mb/crypto_aesni_mb0/qp0");
  // DPDK 22.11's aesni_mb has every ESP algorithm here, DES included.
  for (const Pair p : AllPairs()) {
    EXPECT_TRUE(d.Supports(p.c, p.a)) << PairName(p);
    EXPECT_EQ(e.Supports(p.c, p.a), d.Supports(p.c, p.a)) << PairName(p);
  }
  EXPECT_FALSE(d.Supports(CipherAlg::kAes128Gcm, AuthAlg::kHmacSha1_96));
  // The PMD takes full-length HMAC-MD5 too (IPsec-MB's engine only the 96-bit one).
  auto s = MakeSession(e, CipherAlg::kNull, {}, AuthAlg::kHmacMd5_96, Rep(1, 16), 16);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->digest_len(), 16);
}

TEST(CryptodevDevice, RefusesWhatItCannotDo) {
  CryptodevDevice& d = TestDevice();
  EXPECT_EQ(d.MakeEngine(kTestQueuePairs).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(d.MakeEngine(0).status().code(), absl::StatusCode::kFailedPrecondition)
      << "queue pair 0 belongs to the shared engine";
  EXPECT_EQ(CryptodevDevice::Open("crypto_nosuchdev0", 1).status().code(),
            absl::StatusCode::kNotFound);
  // Started and owned by the test environment: a second Open must not take it over.
  EXPECT_EQ(CryptodevDevice::Open("crypto_aesni_mb0", 1).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(CryptodevDevice::Open("crypto_aesni_mb0", 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  CryptodevOptions o;
  o.gcm_aad_lengths = {8, 8};
  EXPECT_EQ(CryptodevDevice::Open("crypto_aesni_mb0", 1, -1, o).status().code(),
            absl::StatusCode::kInvalidArgument);
  // The shared engine still works after all that.
  std::mt19937 rng(1);
  CryptoEngine& e = SharedEngine(EngineKind::kCryptodev);
  SaKeys k({CipherAlg::kAes128Cbc, AuthAlg::kHmacSha1_96}, rng);
  auto s = MakeSession(e, k.p_.c, k.ck_, k.p_.a, k.ak_);
  ASSERT_NE(s, nullptr);
  EspBuf pkt = MakeEsp(*s, rng);
  CryptoOp op = MakeOp(*s, pkt, CryptoDir::kEncrypt);
  EXPECT_EQ(RunOne(e, &op), CryptoStatus::kOk);
}

// ---------------------------------------------------------------- asynchronous use

// Several bursts in flight before the first Dequeue, then dequeues of odd sizes
// interleaved with more enqueues: every op comes back once, in enqueue order, right.
TEST(CryptodevEngine, BurstsInFlightComeBackInOrder) {
  auto e = Engine(TestDevice(), 2);
  ASSERT_NE(e, nullptr);
  std::mt19937 rng(3602);
  const Pair pairs[] = {{CipherAlg::kAes128Cbc, AuthAlg::kHmacSha1_96},
                        {CipherAlg::kAes256Gcm, AuthAlg::kNull},
                        {CipherAlg::k3desCbc, AuthAlg::kHmacSha256_128},
                        {CipherAlg::kNull, AuthAlg::kHmacSha512_256},
                        {CipherAlg::kAes128Gcm, AuthAlg::kNull},
                        {CipherAlg::kAes192Cbc, AuthAlg::kNull}};
  std::vector<SaKeys> keys;
  std::vector<std::unique_ptr<CryptoSession>> sess;
  for (const Pair p : pairs) {
    keys.emplace_back(p, rng);
    sess.push_back(MakeSession(*e, p.c, keys.back().ck_, p.a, keys.back().ak_));
    ASSERT_NE(sess.back(), nullptr);
  }
  constexpr int kBursts = 4, kPer = 50, kN = kBursts * kPer;
  std::vector<EspBuf> pkts;
  std::vector<size_t> which;
  for (int i = 0; i < kN; ++i) {
    which.push_back(rng() % std::size(pairs));
    pkts.push_back(MakeEsp(*sess[which[i]], rng));
  }
  const std::vector<EspBuf> plain = pkts;
  std::vector<CryptoOp> ops(kN);
  std::vector<CryptoOp*> ptrs(kN);
  for (int i = 0; i < kN; ++i) {
    ops[i] = MakeOp(*sess[which[i]], pkts[i], CryptoDir::kEncrypt);
    ptrs[i] = &ops[i];
  }
  for (int b = 0; b < kBursts; ++b)
    ASSERT_EQ(e->Enqueue(ptrs.data() + b * kPer, kPer), kPer);
  EXPECT_EQ(e->InFlight(), static_cast<uint32_t>(kN));
  std::vector<CryptoOp*> out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (out.size() < kN && std::chrono::steady_clock::now() < deadline) {
    CryptoOp* buf[7];
    const uint16_t k = e->Dequeue(buf, 7);
    out.insert(out.end(), buf, buf + k);
  }
  ASSERT_EQ(out.size(), static_cast<size_t>(kN));
  EXPECT_EQ(e->InFlight(), 0u);
  for (int i = 0; i < kN; ++i) {
    ASSERT_EQ(out[i], &ops[i]) << "order at " << i;
    ASSERT_EQ(ops[i].status, CryptoStatus::kOk) << i;
    EspBuf copy = pkts[i];
    ASSERT_TRUE(OsslEsp(keys[which[i]], copy, /*encrypt=*/false)) << i;
    ASSERT_TRUE(std::equal(copy.b.begin(), copy.b.begin() + copy.icv_off, plain[i].b.begin()));
  }

  // Inbound, with enqueues between partial dequeues.
  for (int i = 0; i < kN; ++i) ops[i] = MakeOp(*sess[which[i]], pkts[i], CryptoDir::kDecrypt);
  out.clear();
  int next = 0;
  for (int round = 0; out.size() < kN; ++round) {
    ASSERT_LT(round, 100000);
    if (next < kN) {
      const uint16_t want = static_cast<uint16_t>(std::min(kN - next, 33));
      next += e->Enqueue(ptrs.data() + next, want);
    }
    CryptoOp* buf[13];
    const uint16_t k = e->Dequeue(buf, 13);
    out.insert(out.end(), buf, buf + k);
  }
  for (int i = 0; i < kN; ++i) {
    ASSERT_EQ(out[i], &ops[i]) << "order at " << i;
    ASSERT_EQ(ops[i].status, CryptoStatus::kOk) << i;
    ASSERT_TRUE(std::equal(pkts[i].b.begin(), pkts[i].b.begin() + pkts[i].icv_off,
                           plain[i].b.begin()));
  }
}

// The engine may admit more than the device's queue holds (crypto_aesni_mb's ring keeps
// one descriptor free): Enqueue then returns the prefix the device took, leaves the rest
// untouched, and everything still completes in order.
TEST(CryptodevEngine, FullDeviceAcceptsAPrefix) {
  auto e = Engine(SmallDevice(), 0, /*capacity=*/1000);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->Capacity(), kSmallDescriptors);
  std::mt19937 rng(2410);
  SaKeys k({CipherAlg::kAes128Gcm, AuthAlg::kNull}, rng);
  auto s = MakeSession(*e, k.p_.c, k.ck_, k.p_.a, k.ak_);
  ASSERT_NE(s, nullptr);
  constexpr int kN = 150;
  std::vector<EspBuf> pkts;
  for (int i = 0; i < kN; ++i) pkts.push_back(MakeEsp(*s, rng, 64));
  const std::vector<EspBuf> plain = pkts;
  std::vector<CryptoOp> ops(kN);
  std::vector<CryptoOp*> ptrs(kN);
  for (int i = 0; i < kN; ++i) {
    ops[i] = MakeOp(*s, pkts[i], CryptoDir::kEncrypt);
    ptrs[i] = &ops[i];
  }
  const uint16_t first = e->Enqueue(ptrs.data(), kN);
  ::testing::Test::RecordProperty("first_accepted", first);
  ASSERT_GE(first, 1);
  ASSERT_LE(first, kSmallDescriptors);
  EXPECT_EQ(e->InFlight(), first);
  for (int i = first; i < kN; ++i)
    ASSERT_EQ(ops[i].status, CryptoStatus::kNotProcessed) << "op " << i << " was not accepted";
  // Full now: nothing more until a dequeue.
  EXPECT_EQ(e->Enqueue(ptrs.data() + first, kN - first), 0);
  EXPECT_EQ(e->InFlight(), first);

  std::vector<CryptoOp*> out;
  int next = first;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (out.size() < kN) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    CryptoOp* buf[16];
    const uint16_t got = e->Dequeue(buf, 16);
    out.insert(out.end(), buf, buf + got);
    if (next < kN) next += e->Enqueue(ptrs.data() + next, static_cast<uint16_t>(kN - next));
    ASSERT_LE(e->InFlight(), e->Capacity());
  }
  for (int i = 0; i < kN; ++i) {
    ASSERT_EQ(out[i], &ops[i]) << "order at " << i;
    ASSERT_EQ(ops[i].status, CryptoStatus::kOk) << i;
    EspBuf copy = pkts[i];
    ASSERT_TRUE(OsslEsp(k, copy, false)) << i;
    ASSERT_TRUE(std::equal(copy.b.begin(), copy.b.begin() + copy.icv_off, plain[i].b.begin()));
  }
}

// ---------------------------------------------------------------- buffers

// The same packets through the mbuf path (ICV inside the mbuf, and outside it), the
// plain-buffer path and the IPsec-MB engine: the same bytes, and the mbuf path decrypts
// and verifies what it produced.
TEST(CryptodevEngine, MbufAndPlainBuffersGiveTheSameBytes) {
  CryptoEngine& cd = SharedEngine(EngineKind::kCryptodev);
  CryptoEngine& mb = SharedEngine(EngineKind::kIpsecMb);
  std::mt19937 rng(4835);
  const Pair pairs[] = {{CipherAlg::kAes128Cbc, AuthAlg::kHmacSha1_96},
                        {CipherAlg::k3desCbc, AuthAlg::kHmacMd5_96},
                        {CipherAlg::kNull, AuthAlg::kHmacSha256_128},
                        {CipherAlg::kAes256Cbc, AuthAlg::kNull},
                        {CipherAlg::kDesCbc, AuthAlg::kHmacSha384_192},
                        {CipherAlg::kAes128Gcm, AuthAlg::kNull},
                        {CipherAlg::kAes256Gcm, AuthAlg::kNull}};
  constexpr size_t kLead = 20;  // an outer IPv4 header before the ESP header
  for (const Pair p : pairs) {
    SCOPED_TRACE(PairName(p));
    SaKeys k(p, rng);
    auto scd = MakeSession(cd, p.c, k.ck_, p.a, k.ak_);
    auto smb = MakeSession(mb, p.c, k.ck_, p.a, k.ak_);
    ASSERT_NE(scd, nullptr);
    ASSERT_NE(smb, nullptr);
    for (int t = 0; t < 8; ++t) {
      const EspBuf plain = MakeEsp(*scd, rng);
      EspBuf by_plain = plain, by_mb = plain, for_mbuf = plain, for_mbuf2 = plain;
      MbufPtr m = ToMbuf(plain, kLead);
      MbufPtr m2 = ToMbuf(plain, kLead);
      uint8_t icv_outside[64] = {};
      CryptoOp ops[4] = {MakeOp(*scd, by_plain, CryptoDir::kEncrypt),
                         MbufOp(*scd, for_mbuf, m.get(), kLead, CryptoDir::kEncrypt),
                         MbufOp(*scd, for_mbuf2, m2.get(), kLead, CryptoDir::kEncrypt,
                                icv_outside),
                         MakeOp(*smb, by_mb, CryptoDir::kEncrypt)};
      CryptoOp* p0[3] = {&ops[0], &ops[1], &ops[2]};
      ASSERT_EQ(cd.Enqueue(p0, 3), 3);
      CryptoOp* done[3];
      ASSERT_EQ(DequeueAll(cd, done, 3), 3u);
      ASSERT_EQ(RunOne(mb, &ops[3]), CryptoStatus::kOk);
      for (int i = 0; i < 3; ++i) ASSERT_EQ(ops[i].status, CryptoStatus::kOk) << i;
      const size_t n = plain.icv_off + plain.icv_len;
      const std::string want = ToHex(by_mb.b.data(), n);
      EXPECT_EQ(ToHex(by_plain.b.data(), n), want);
      EXPECT_EQ(ToHex(EspIn(m.get(), kLead), n), want);
      EXPECT_EQ(ToHex(EspIn(m2.get(), kLead), plain.icv_off), ToHex(by_mb.b.data(), plain.icv_off));
      EXPECT_EQ(ToHex(icv_outside, plain.icv_len), ToHex(by_mb.b.data() + plain.icv_off, plain.icv_len));
      EXPECT_EQ(ToHex(rte_pktmbuf_mtod(m.get(), uint8_t*), kLead), ToHex(Rep(0x45, kLead)))
          << "bytes before the ESP header untouched";

      // Inbound through the mbuf: verifies and restores the plaintext; a flipped ICV bit
      // fails (ICV in the mbuf and outside it).
      CryptoOp in = MbufOp(*scd, for_mbuf, m.get(), kLead, CryptoDir::kDecrypt);
      ASSERT_EQ(RunOne(cd, &in), CryptoStatus::kOk);
      EXPECT_EQ(ToHex(EspIn(m.get(), kLead), plain.icv_off), ToHex(plain.b.data(), plain.icv_off));
      if (plain.icv_len != 0) {
        icv_outside[plain.icv_len - 1] ^= 1;
        CryptoOp bad = MbufOp(*scd, for_mbuf2, m2.get(), kLead, CryptoDir::kDecrypt, icv_outside);
        EXPECT_EQ(RunOne(cd, &bad), CryptoStatus::kAuthFailed);
      }
    }
  }
}

// Ranges that leave the mbuf's first segment, or data before its start, fail alone: the
// ops around them complete normally and in order.
TEST(CryptodevEngine, RangesOutsideTheMbufFail) {
  CryptoEngine& e = SharedEngine(EngineKind::kCryptodev);
  std::mt19937 rng(1829);
  SaKeys k({CipherAlg::kAes128Cbc, AuthAlg::kHmacSha256_128}, rng);
  auto s = MakeSession(e, k.p_.c, k.ck_, k.p_.a, k.ak_);
  ASSERT_NE(s, nullptr);
  constexpr int kN = 6;
  std::vector<EspBuf> pkts;
  std::vector<MbufPtr> mbufs;
  std::vector<CryptoOp> ops(kN);
  std::vector<CryptoOp*> ptrs(kN);
  for (int i = 0; i < kN; ++i) {
    pkts.push_back(MakeEsp(*s, rng, 100));
    mbufs.push_back(ToMbuf(pkts[i], 0));
  }
  for (int i = 0; i < kN; ++i) {
    ops[i] = MbufOp(*s, pkts[i], mbufs[i].get(), 0, CryptoDir::kEncrypt);
    ptrs[i] = &ops[i];
  }
  ops[1].auth_len = static_cast<uint16_t>(mbufs[1]->data_len + 1);  // past the segment
  ops[3].data -= 1;                                                  // before mtod
  rte_pktmbuf_trim(mbufs[4].get(), static_cast<uint16_t>(pkts[4].icv_len + 1));  // cuts the cipher range
  ASSERT_EQ(e.Enqueue(ptrs.data(), kN), kN);
  std::vector<CryptoOp*> out(kN);
  ASSERT_EQ(DequeueAll(e, out.data(), kN), static_cast<size_t>(kN));
  for (int i = 0; i < kN; ++i) {
    EXPECT_EQ(out[i], &ops[i]);
    const bool bad = i == 1 || i == 3 || i == 4;
    EXPECT_EQ(ops[i].status, bad ? CryptoStatus::kError : CryptoStatus::kOk) << i;
  }
}

// An inbound burst where every third packet was tampered with (ICV, ciphertext, or for
// ESN the high sequence bits outside the packet): exactly those fail.
TEST(CryptodevEngine, IcvFailuresInsideABurst) {
  CryptoEngine& e = SharedEngine(EngineKind::kCryptodev);
  std::mt19937 rng(2404);
  const Pair pairs[] = {{CipherAlg::kAes128Cbc, AuthAlg::kHmacSha1_96},
                        {CipherAlg::kAes256Gcm, AuthAlg::kNull},
                        {CipherAlg::kNull, AuthAlg::kHmacMd5_96}};
  std::vector<SaKeys> keys;
  std::vector<std::unique_ptr<CryptoSession>> sess;
  for (const Pair p : pairs) {
    keys.emplace_back(p, rng);
    sess.push_back(MakeSession(e, p.c, keys.back().ck_, p.a, keys.back().ak_));
    ASSERT_NE(sess.back(), nullptr);
  }
  constexpr int kN = 90;
  std::vector<EspBuf> pkts;
  std::vector<CryptoOp> ops(kN);
  std::vector<CryptoOp*> ptrs(kN), out(kN);
  for (int i = 0; i < kN; ++i) {
    const size_t w = i % std::size(pairs);
    pkts.push_back(MakeEsp(*sess[w], rng));
    ASSERT_TRUE(OsslEsp(keys[w], pkts[i], /*encrypt=*/true));
  }
  for (int i = 0; i < kN; ++i) {
    EspBuf& p = pkts[i];
    if (i % 3 == 2) {
      switch ((i / 3) % 3) {
        case 0: p.b[p.icv_off] ^= 0x01; break;
        case 1: p.b[p.ct_off + rng() % p.ct_len] ^= 0x80; break;
        default:
          if (p.esn)
            p.esn_aad[5] ^= 0x04;
          else
            p.b[1] ^= 0x04;  // the SPI, covered by the ICV/AAD
          break;
      }
    }
    // MakeOp refreshes SPI and low sequence bits of the ESN AAD, not the high bits.
    ops[i] = MakeOp(*sess[i % std::size(pairs)], p, CryptoDir::kDecrypt);
    ptrs[i] = &ops[i];
  }
  ASSERT_EQ(e.Enqueue(ptrs.data(), kN), kN);
  ASSERT_EQ(DequeueAll(e, out.data(), kN), static_cast<size_t>(kN));
  for (int i = 0; i < kN; ++i) {
    ASSERT_EQ(out[i], &ops[i]);
    EXPECT_EQ(ops[i].status, i % 3 == 2 ? CryptoStatus::kAuthFailed : CryptoStatus::kOk) << i;
  }
}

// GCM sessions exist per AAD length the device was opened with; an op with another AAD
// length fails instead of being processed with the wrong one.
TEST(CryptodevEngine, GcmAadLengthMustBePrepared) {
  CryptoEngine& e = SharedEngine(EngineKind::kCryptodev);
  std::mt19937 rng(4106);
  SaKeys k({CipherAlg::kAes128Gcm, AuthAlg::kNull}, rng);
  auto s = MakeSession(e, k.p_.c, k.ck_, k.p_.a, k.ak_);
  ASSERT_NE(s, nullptr);
  EspBuf pkt = MakeEsp(*s, rng, 200);
  uint8_t aad[16] = {};
  CryptoOp op = MakeOp(*s, pkt, CryptoDir::kEncrypt);
  op.aad = aad;
  op.aad_len = 16;  // the test device has 0, 8, 12 and 20
  EXPECT_EQ(RunOne(e, &op), CryptoStatus::kError);
  op.aad_len = 12;
  EXPECT_EQ(RunOne(e, &op), CryptoStatus::kOk);
}

// ---------------------------------------------------------------- lifetime

// A device Open probed itself (crypto_aesni_mb2 is not on the EAL command line): its
// session pool runs out and recovers, the handle can go before its engine and sessions,
// an engine can go with ops in flight, and after the last user the device is removed and
// can be opened again.
TEST(CryptodevDevice, ProbedDeviceLifetime) {
  for (int pass = 0; pass < 2; ++pass) {
    SCOPED_TRACE(pass);
    CryptodevOptions o;
    o.qp_descriptors = 256;
    o.max_sessions = 8;  // 4 SAs: one session per direction
    auto dev = CryptodevDevice::Open("crypto_aesni_mb2", 2, -1, o);
    ASSERT_TRUE(dev.ok()) << dev.status();
    EXPECT_EQ((*dev)->driver(), "crypto_aesni_mb");
    auto e = Engine(**dev, 0);
    ASSERT_NE(e, nullptr);
    std::mt19937 rng(pass);
    SaKeys k({CipherAlg::kAes128Cbc, AuthAlg::kHmacSha1_96}, rng);
    SessionParams p{k.p_.c, k.p_.a, k.ck_, k.ak_, 0};
    std::vector<std::unique_ptr<CryptoSession>> sess;
    for (int i = 0; i < 4; ++i) {
      auto s = e->CreateSession(p);
      ASSERT_TRUE(s.ok()) << s.status();
      sess.push_back(std::move(*s));
    }
    auto full = e->CreateSession(p);
    EXPECT_EQ(full.status().code(), absl::StatusCode::kResourceExhausted) << full.status();
    sess.pop_back();
    auto again = e->CreateSession(p);
    ASSERT_TRUE(again.ok()) << again.status();
    sess.push_back(std::move(*again));

    // Ops in flight when an engine goes: it takes them back from the device first.
    {
      auto e2 = Engine(**dev, 1);
      ASSERT_NE(e2, nullptr);
      std::vector<EspBuf> pkts;
      std::vector<CryptoOp> ops(20);
      std::vector<CryptoOp*> ptrs(20);
      for (int i = 0; i < 20; ++i) pkts.push_back(MakeEsp(*sess[0], rng));
      for (int i = 0; i < 20; ++i) {
        ops[i] = MakeOp(*sess[0], pkts[i], CryptoDir::kEncrypt);
        ptrs[i] = &ops[i];
      }
      ASSERT_EQ(e2->Enqueue(ptrs.data(), 20), 20);
    }
    auto e3 = Engine(**dev, 1);  // the queue pair is free again
    ASSERT_NE(e3, nullptr);

    dev->reset();  // the engines and sessions keep the device open
    EspBuf pkt = MakeEsp(*sess[1], rng);
    const EspBuf plain = pkt;
    CryptoOp op = MakeOp(*sess[1], pkt, CryptoDir::kEncrypt);
    ASSERT_EQ(RunOne(*e, &op), CryptoStatus::kOk);
    ASSERT_TRUE(OsslEsp(k, pkt, false));
    EXPECT_EQ(ToHex(pkt.b.data(), pkt.icv_off), ToHex(plain.b.data(), plain.icv_off));
    op = MakeOp(*sess[1], pkt, CryptoDir::kEncrypt);
    ASSERT_EQ(RunOne(*e3, &op), CryptoStatus::kOk);
  }
}

}  // namespace
}  // namespace arsec::crypto::testing
