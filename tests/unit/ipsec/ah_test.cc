// AH stage tests: round trips for every HMAC in tunnel and transport mode, with and
// without ESN, payloads 0..1500, in bursts; the mutable-field rules (changing TOS, DF,
// TTL or a mutable option in transit keeps the ICV valid, changing anything else does
// not); and malformed input (truncation, AH length, inner header, no room).
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "dataplane/ipsec/ah.h"
#include "tests/unit/ipsec/test_util.h"

namespace arsec::dp::test {
namespace {

using crypto::AuthAlg;
using crypto::CryptoOp;

constexpr AuthAlg kAuths[] = {AuthAlg::kHmacMd5_96, AuthAlg::kHmacSha1_96,
                              AuthAlg::kHmacSha256_128, AuthAlg::kHmacSha384_192,
                              AuthAlg::kHmacSha512_256};

TestSa AhSa(AuthAlg a, SaMode mode, bool esn = false) {
  SaSpec s;
  s.proto = kProtoAh;
  s.auth = a;
  s.mode = mode;
  s.esn = esn;
  s.spi = 0xa0a0;
  return MakeSa(s);
}

StageVerdict Protect(const Sa& sa, rte_mbuf* m, uint64_t seq) {
  CryptoOp op{};
  OpScratch sc{};
  const StageVerdict v = AhOutboundPrepare(sa, m, seq, 9, &op, &sc);
  if (v != StageVerdict::kOk) return v;
  RunOp(&op);
  return AhOutboundFinish(sa, m, &op, &sc);
}

template <typename F>
StageVerdict VerifyT(const Sa& sa, rte_mbuf* m, uint64_t seq, uint8_t* nh, F tamper) {
  CryptoOp op{};
  OpScratch sc{};
  const StageVerdict v = AhInboundPrepare(sa, m, seq, &op, &sc);
  if (v != StageVerdict::kOk) return v;
  tamper(&op);
  RunOp(&op);
  return AhInboundFinish(sa, m, &op, &sc, nh);
}
StageVerdict Verify(const Sa& sa, rte_mbuf* m, uint64_t seq, uint8_t* nh) {
  return VerifyT(sa, m, seq, nh, [](CryptoOp*) {});
}

TEST(AhRoundTrip, EveryAuthModeEsnSize) {
  std::mt19937 rng(4302);
  std::vector<uint32_t> sizes;
  for (uint32_t n = 0; n <= 24; ++n) sizes.push_back(n);
  for (uint32_t n = 25; n <= 1500; n += 53) sizes.push_back(n);
  sizes.push_back(1500);
  for (AuthAlg a : kAuths)
    for (SaMode mode : {SaMode::kTunnel, SaMode::kTransport})
      for (bool esn : {false, true}) {
        SCOPED_TRACE(::testing::Message() << crypto::AuthName(a) << " mode " << int(mode)
                                          << " esn " << esn);
        TestSa out = AhSa(a, mode, esn);
        TestSa in = MakeSa(out.spec);
        const size_t n = sizes.size();
        std::vector<Bytes> inner(n);
        std::vector<MbufPtr> m(n);
        std::vector<CryptoOp> ops(n);
        std::vector<OpScratch> sc(n);
        std::vector<CryptoOp*> ptrs(n), done(n);
        const uint64_t seq0 = esn ? 0x0000000100000000ull - 5 : 100;
        for (size_t i = 0; i < n; ++i) {
          inner[i] = Ipv4(0x0a000001, 0x0a010001, 17, Random(sizes[i], rng),
                          static_cast<uint8_t>(rng()), rng() & 1 ? kIpv4Df : 0);
          m[i].reset(MbufFrom(inner[i]));
          ASSERT_EQ(AhOutboundPrepare(*out.sa, m[i].get(), seq0 + i, 9, &ops[i], &sc[i]),
                    StageVerdict::kOk);
          ptrs[i] = &ops[i];
        }
        ASSERT_EQ(Engine().Enqueue(ptrs.data(), static_cast<uint16_t>(n)), n);
        ASSERT_EQ(Engine().Dequeue(done.data(), static_cast<uint16_t>(n)), n);
        for (size_t i = 0; i < n; ++i) {
          ASSERT_EQ(AhOutboundFinish(*out.sa, m[i].get(), done[i], &sc[i]), StageVerdict::kOk);
          const Bytes b = MbufBytes(m[i].get());
          const uint32_t ah_len = AhHeaderLen(out.sa->digest_len);
          EXPECT_EQ(b.size(), inner[i].size() + ah_len + (mode == SaMode::kTunnel ? 20 : 0));
          EXPECT_TRUE(Ipv4ChecksumOk(b.data()));
          EXPECT_EQ(LoadBe16(&b[2]), b.size());
          EXPECT_EQ(b[9], kProtoAh);
          EXPECT_EQ(b[1], inner[i][1]);  // real TOS back after the ICV
          EXPECT_EQ(b[8], mode == SaMode::kTunnel ? 64 : inner[i][8]);
          EXPECT_EQ(b[20], mode == SaMode::kTunnel ? kProtoIpip : 17);
          EXPECT_EQ(b[21], ah_len / 4 - 2);
          EXPECT_EQ(LoadBe32(&b[28]), static_cast<uint32_t>(seq0 + i));
        }
        for (size_t i = 0; i < n; ++i)
          ASSERT_EQ(AhInboundPrepare(*in.sa, m[i].get(), seq0 + i, &ops[i], &sc[i]),
                    StageVerdict::kOk);
        ASSERT_EQ(Engine().Enqueue(ptrs.data(), static_cast<uint16_t>(n)), n);
        ASSERT_EQ(Engine().Dequeue(done.data(), static_cast<uint16_t>(n)), n);
        for (size_t i = 0; i < n; ++i) {
          uint8_t nh = 0;
          ASSERT_EQ(AhInboundFinish(*in.sa, m[i].get(), done[i], &sc[i], &nh), StageVerdict::kOk)
              << sizes[i];
          EXPECT_EQ(nh, mode == SaMode::kTunnel ? kProtoIpip : 17);
          ASSERT_EQ(MbufBytes(m[i].get()), inner[i]) << sizes[i];
        }
      }
}

Bytes Protected(const TestSa& t, const Bytes& inner, uint64_t seq) {
  MbufPtr m(MbufFrom(inner));
  EXPECT_EQ(Protect(*t.sa, m.get(), seq), StageVerdict::kOk);
  return MbufBytes(m.get());
}

// Options of the transport-mode packet: Record Route (mutable, zeroed) then Router
// Alert (immutable, authenticated), 12 bytes.
const Bytes kOpts = {0x07, 0x07, 0x04, 0, 0, 0, 0, 0x94, 0x04, 0x00, 0x00, 0x00};

TEST(AhMutable, InTransitChangesOfMutableFieldsKeepTheIcv) {
  for (bool esn : {false, true}) {
    TestSa out = AhSa(AuthAlg::kHmacSha256_128, SaMode::kTransport, esn);
    TestSa in = MakeSa(out.spec);
    std::mt19937 rng(1);
    const Bytes inner = Ipv4(0x0a000001, 0x0a010001, 6, Random(80, rng), 0x10, kIpv4Df, 77,
                             30, kOpts);
    const Bytes wire = Protected(out, inner, 5);
    auto verify = [&](Bytes b) {
      SetIpv4Cksum(b.data(), 32);
      MbufPtr m(MbufFrom(b));
      uint8_t nh;
      return Verify(*in.sa, m.get(), 5, &nh);
    };
    Bytes b = wire;
    EXPECT_EQ(verify(b), StageVerdict::kOk);
    b[1] = 0xb8;  // DSCP/ECN remarked
    b[8] = 3;     // TTL decremented
    StoreBe16(&b[6], 0);  // DF cleared
    b[23] = 10;  b[24] = 9; b[25] = 9; b[26] = 9;  // a router recorded itself
    EXPECT_EQ(verify(b), StageVerdict::kOk);
    for (size_t i : {size_t{4}, size_t{12}, size_t{16}, size_t{28}, size_t{30}, size_t{40},
                     b.size() - 1}) {  // ID, addresses, Router Alert, AH, payload
      Bytes c = wire;
      c[i] ^= 1;
      EXPECT_EQ(verify(c), StageVerdict::kAuthFailed) << i;
    }
    // The received packet, decapsulated, is the sent one (its real mutable fields).
    MbufPtr m(MbufFrom(wire));
    uint8_t nh;
    ASSERT_EQ(Verify(*in.sa, m.get(), 5, &nh), StageVerdict::kOk);
    EXPECT_EQ(MbufBytes(m.get()), inner);
  }
}

TEST(AhMutable, ZeroMutableFieldsAndSourceRoute) {
  // LSRR with two addresses (final 10.2.2.2), then NOP, then Security (immutable).
  const Bytes opts = {131, 11, 4, 10, 1, 1, 1, 10, 2, 2, 2, 1, 130, 4, 0xaa, 0xbb};
  Bytes ip = Ipv4(0x0a000001, 0x0a090909, 6, {}, 0xff, 0x4000 | 5, 1, 9, opts);
  Bytes snd = ip;
  AhZeroMutable(snd.data(), 36, /*sender=*/true);
  EXPECT_EQ(snd[1], 0);
  EXPECT_EQ(LoadBe16(&snd[6]), 0);
  EXPECT_EQ(snd[8], 0);
  EXPECT_EQ(LoadBe16(&snd[10]), 0);
  EXPECT_EQ(LoadBe32(&snd[16]), 0x0a020202u);  // the route's final address
  EXPECT_EQ(Bytes(snd.begin() + 20, snd.begin() + 31), Bytes(11, 0));
  EXPECT_EQ(snd[31], 1);
  EXPECT_EQ(Bytes(snd.begin() + 32, snd.end()), Bytes(opts.begin() + 12, opts.end()));
  Bytes rcv = ip;
  AhZeroMutable(rcv.data(), 36, /*sender=*/false);
  EXPECT_EQ(LoadBe32(&rcv[16]), 0x0a090909u);  // as received
  // A malformed option length zeroes the rest without reading past the header.
  Bytes bad = Ipv4(1, 2, 6, {}, 0, 0, 1, 9, {7, 200, 0, 0});
  AhZeroMutable(bad.data(), 24, true);
  EXPECT_EQ(Bytes(bad.begin() + 20, bad.end()), Bytes(4, 0));
}

TEST(AhInbound, MalformedInput) {
  TestSa out = AhSa(AuthAlg::kHmacSha1_96, SaMode::kTunnel);
  TestSa in = MakeSa(out.spec);
  std::mt19937 rng(5);
  const Bytes inner = Ipv4(0x0a000001, 0x0a010001, 17, Random(40, rng));
  const Bytes wire = Protected(out, inner, 1);
  uint8_t nh;
  CryptoOp op{};
  OpScratch sc{};
  // Truncated at every length, with and without a consistent total length.
  for (bool fix : {false, true})
    for (size_t len = 0; len < wire.size(); ++len) {
      Bytes b(wire.begin(), wire.begin() + len);
      if (fix && len >= 20) {
        StoreBe16(&b[2], static_cast<uint16_t>(len));
        SetIpv4Cksum(b.data(), 20);
      }
      MbufPtr m(MbufFrom(b));
      const StageVerdict v = Verify(*in.sa, m.get(), 1, &nh);
      EXPECT_TRUE(v == StageVerdict::kBadLength || v == StageVerdict::kAuthFailed ||
                  v == StageVerdict::kBadInner)
          << len << " " << StageVerdictName(v);
      EXPECT_NE(v, StageVerdict::kOk);
    }
  // AH length that does not match the SA's ICV.
  Bytes b = wire;
  b[21] = 5;
  MbufPtr m1(MbufFrom(b));
  EXPECT_EQ(Verify(*in.sa, m1.get(), 1, &nh), StageVerdict::kBadHeader);
  // Not AH.
  b = wire;
  b[9] = kProtoEsp;
  SetIpv4Cksum(b.data(), 20);
  MbufPtr m2(MbufFrom(b));
  EXPECT_EQ(Verify(*in.sa, m2.get(), 1, &nh), StageVerdict::kBadHeader);
  // Wrong sequence number (the ICV covers it via the header; here via ESN on a second SA).
  TestSa esn_out = AhSa(AuthAlg::kHmacSha1_96, SaMode::kTunnel, true);
  TestSa esn_in = MakeSa(esn_out.spec);
  const Bytes e = Protected(esn_out, inner, 0x500000001ull);
  MbufPtr m3(MbufFrom(e));
  EXPECT_EQ(Verify(*esn_in.sa, m3.get(), 0x400000001ull, &nh), StageVerdict::kAuthFailed);
  EXPECT_EQ(MbufBytes(m3.get()), e);  // a failed packet is left as received
  MbufPtr m4(MbufFrom(e));
  EXPECT_EQ(Verify(*esn_in.sa, m4.get(), 0x500000001ull, &nh), StageVerdict::kOk);
  // Inner packet that is not IPv4 / next header not 4 (authenticated by the sender).
  for (int which = 0; which < 2; ++which) {
    MbufPtr m(MbufFrom(inner));
    ASSERT_EQ(AhOutboundPrepare(*out.sa, m.get(), 2, 1, &op, &sc), StageVerdict::kOk);
    uint8_t* p = rte_pktmbuf_mtod(m.get(), uint8_t*);
    if (which == 0) p[20] = 6; else p[20 + 24] = 0x55;
    RunOp(&op);
    ASSERT_EQ(AhOutboundFinish(*out.sa, m.get(), &op, &sc), StageVerdict::kOk);
    EXPECT_EQ(Verify(*in.sa, m.get(), 2, &nh), StageVerdict::kBadInner);
  }
}

TEST(AhOutbound, NoRoom) {
  TestSa t = AhSa(AuthAlg::kHmacSha512_256, SaMode::kTunnel, true);
  MbufPtr m(rte_pktmbuf_alloc(Pool()));
  m->data_off = 30;  // < 20 + 44
  const Bytes inner = Ipv4(1, 2, 17, Bytes(10, 1));
  std::memcpy(rte_pktmbuf_append(m.get(), static_cast<uint16_t>(inner.size())), inner.data(),
              inner.size());
  CryptoOp op{};
  OpScratch sc{};
  EXPECT_EQ(AhOutboundPrepare(*t.sa, m.get(), 1, 1, &op, &sc), StageVerdict::kNoRoom);
  EXPECT_EQ(MbufBytes(m.get()), inner);
  // ESN needs 4 bytes of tailroom for the high sequence bits.
  MbufPtr m2(rte_pktmbuf_alloc(Pool()));
  const uint16_t fill = static_cast<uint16_t>(rte_pktmbuf_tailroom(m2.get()) - 2);
  const Bytes big = Ipv4(1, 2, 17, Bytes(fill - 20, 3));
  std::memcpy(rte_pktmbuf_append(m2.get(), fill), big.data(), big.size());
  EXPECT_EQ(AhOutboundPrepare(*t.sa, m2.get(), 1, 1, &op, &sc), StageVerdict::kNoRoom);
  EXPECT_EQ(MbufBytes(m2.get()), big);
}

}  // namespace
}  // namespace arsec::dp::test
