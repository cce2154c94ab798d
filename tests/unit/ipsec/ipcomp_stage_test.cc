// IPComp stage tests: tunnel and transport round trips with DEFLATE and LZS, the
// uncompressed fall-backs (incompressible or small packets: plain IP-in-IP in tunnel
// mode, untouched in transport mode), a COMP(tunnel) + ESP(transport) bundle, and
// inbound errors (CPI, flags, corrupt data, inner header, no room).
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <vector>

#include "dataplane/compress/ipcomp.h"
#include "dataplane/ipsec/esp.h"
#include "dataplane/ipsec/ipcomp_stage.h"
#include "tests/unit/ipsec/test_util.h"

namespace arsec::dp::test {
namespace {

using compress::IpcompAlg;

compress::IpcompContext& Ctx() {
  static auto* c = new compress::IpcompContext();
  return *c;
}
std::vector<uint8_t>& Scratch() {
  static std::vector<uint8_t> s(kIpcompScratchBytes);
  return s;
}

TestSa CompSa(IpcompAlg alg, SaMode mode, uint16_t cpi = 0) {
  SaSpec s;
  s.proto = kProtoComp;
  s.comp = alg;
  s.mode = mode;
  s.cpi = cpi;
  s.spi = cpi;
  return MakeSa(s);
}

Bytes Text(size_t n) {  // compressible
  static const char kWords[] = "the quick brown fox jumps over the lazy dog; ";
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(kWords[i % (sizeof(kWords) - 1)]);
  return b;
}

StageVerdict Out(const Sa& sa, rte_mbuf* m) {
  return IpcompOutbound(sa, m, Ctx(), 0x99, Scratch().data(), Scratch().size());
}
StageVerdict In(const Sa& sa, rte_mbuf* m, uint8_t* nh) {
  return IpcompInbound(sa, m, Ctx(), Scratch().data(), Scratch().size(), nh);
}

TEST(IpcompStage, RoundTripsBothAlgorithmsBothModes) {
  ASSERT_TRUE(Ctx().ok());
  std::mt19937 rng(3173);
  for (IpcompAlg alg : {IpcompAlg::kDeflate, IpcompAlg::kLzs})
    for (SaMode mode : {SaMode::kTunnel, SaMode::kTransport})
      for (uint16_t cpi : {uint16_t{0}, uint16_t{0x4242}})
        for (size_t n : {0, 10, 60, 100, 200, 700, 1400, 1480}) {
          SCOPED_TRACE(::testing::Message() << int(alg) << " mode " << int(mode) << " cpi "
                                            << cpi << " n " << n);
          TestSa t = CompSa(alg, mode, cpi);
          for (bool compressible : {true, false}) {
            const Bytes inner = Ipv4(0x0a000001, 0x0a010001, 6,
                                     compressible ? Text(n) : Random(n, rng), 0x20, kIpv4Df);
            MbufPtr m(MbufFrom(inner));
            const StageVerdict v = Out(*t.sa, m.get());
            const Bytes wire = MbufBytes(m.get());
            EXPECT_TRUE(Ipv4ChecksumOk(wire.data()));
            EXPECT_EQ(LoadBe16(&wire[2]), wire.size());
            const size_t hdr = 20;  // IPComp header after the (outer) IPv4 header
            if (compressible && n >= 200) {
              ASSERT_EQ(v, StageVerdict::kOk);
              EXPECT_EQ(wire[9], kProtoComp);
              EXPECT_LT(wire.size(), inner.size() + (mode == SaMode::kTunnel ? 20u : 0u));
              EXPECT_EQ(wire[hdr], mode == SaMode::kTunnel ? kProtoIpip : 6);
              EXPECT_EQ(wire[hdr + 1], 0);
              EXPECT_EQ(LoadBe16(&wire[hdr + 2]), cpi ? cpi : IpcompWellKnownCpi(alg));
            } else if (!compressible || n < 60) {
              ASSERT_EQ(v, StageVerdict::kNotCompressed);
              if (mode == SaMode::kTunnel) {
                EXPECT_EQ(wire[9], kProtoIpip);
                EXPECT_EQ(Bytes(wire.begin() + 20, wire.end()), inner);
              } else {
                EXPECT_EQ(wire, inner);
              }
            }
            if (mode == SaMode::kTunnel) {
              EXPECT_EQ(wire[8], 64);
              EXPECT_EQ(wire[1], 0x20);
              EXPECT_EQ(LoadBe16(&wire[6]), kIpv4Df);
              EXPECT_EQ(LoadBe16(&wire[4]), 0x99);
            }
            uint8_t nh = 0;
            const StageVerdict r = In(*t.sa, m.get(), &nh);
            EXPECT_EQ(r, v == StageVerdict::kOk ? StageVerdict::kOk : StageVerdict::kNotCompressed);
            EXPECT_EQ(nh, mode == SaMode::kTunnel ? kProtoIpip : 6);
            EXPECT_EQ(MbufBytes(m.get()), inner);
          }
        }
}

TEST(IpcompStage, BundleCompTunnelThenEspTransport) {
  TestSa comp = CompSa(IpcompAlg::kLzs, SaMode::kTunnel);
  SaSpec s;
  s.cipher = crypto::CipherAlg::kAes128Gcm;
  s.mode = SaMode::kTransport;
  TestSa esp = MakeSa(s);
  TestSa esp_in = MakeSa(esp.spec);
  auto ivs = IvSource::CreateDeterministic(Bytes{1});
  for (bool compressible : {true, false}) {
    std::mt19937 rng(8);
    const Bytes inner = Ipv4(0x0a000001, 0x0a010001, 17, compressible ? Text(900) : Random(900, rng));
    MbufPtr m(MbufFrom(inner));
    ASSERT_EQ(Out(*comp.sa, m.get()),
              compressible ? StageVerdict::kOk : StageVerdict::kNotCompressed);
    crypto::CryptoOp op{};
    OpScratch sc{};
    ASSERT_EQ(EspOutboundPrepare(*esp.sa, m.get(), 1, *ivs, 0, &op, &sc), StageVerdict::kOk);
    RunOp(&op);
    ASSERT_EQ(EspOutboundFinish(*esp.sa, m.get(), &op, &sc), StageVerdict::kOk);
    const Bytes wire = MbufBytes(m.get());
    EXPECT_EQ(wire[9], kProtoEsp);  // outer IP | ESP | IPComp | inner
    EXPECT_EQ(LoadBe32(&wire[12]), comp.spec.tun_src);

    ASSERT_EQ(EspInboundPrepare(*esp_in.sa, m.get(), 1, &op, &sc), StageVerdict::kOk);
    RunOp(&op);
    uint8_t nh = 0;
    ASSERT_EQ(EspInboundFinish(*esp_in.sa, m.get(), &op, &sc, &nh), StageVerdict::kOk);
    EXPECT_EQ(nh, compressible ? kProtoComp : kProtoIpip);
    ASSERT_EQ(In(*comp.sa, m.get(), &nh),
              compressible ? StageVerdict::kOk : StageVerdict::kNotCompressed);
    EXPECT_EQ(nh, kProtoIpip);
    EXPECT_EQ(MbufBytes(m.get()), inner);
  }
}

Bytes CompressedWire(const TestSa& t, size_t n = 600) {
  MbufPtr m(MbufFrom(Ipv4(0x0a000001, 0x0a010001, 6, Text(n))));
  EXPECT_EQ(Out(*t.sa, m.get()), StageVerdict::kOk);
  return MbufBytes(m.get());
}

TEST(IpcompStage, InboundErrors) {
  TestSa t = CompSa(IpcompAlg::kDeflate, SaMode::kTunnel);
  const Bytes wire = CompressedWire(t);
  uint8_t nh;
  auto run = [&](Bytes b, bool fix_cksum = true) {
    if (fix_cksum) SetIpv4Cksum(b.data(), 20);
    MbufPtr m(MbufFrom(b));
    return In(*t.sa, m.get(), &nh);
  };
  EXPECT_EQ(run(wire), StageVerdict::kOk);
  Bytes b = wire;
  b[23] ^= 1;  // CPI
  EXPECT_EQ(run(b), StageVerdict::kBadCpi);
  b = wire;
  b[21] = 1;  // flags
  EXPECT_EQ(run(b), StageVerdict::kBadHeader);
  b = wire;
  b[20] = kProtoComp;  // IPComp in IPComp
  EXPECT_EQ(run(b), StageVerdict::kBadHeader);
  b = wire;
  b[20] = 6;  // tunnel SA, but not IP-in-IP inside
  EXPECT_EQ(run(b), StageVerdict::kBadInner);
  b = wire;
  for (size_t i = 30; i < b.size(); i += 7) b[i] ^= 0x5a;
  const StageVerdict corrupt = run(b);
  EXPECT_TRUE(corrupt == StageVerdict::kDecompressFailed || corrupt == StageVerdict::kBadInner)
      << StageVerdictName(corrupt);
  b = wire;
  b.resize(b.size() - 5);  // truncated stream, consistent lengths
  StoreBe16(&b[2], static_cast<uint16_t>(b.size()));
  EXPECT_EQ(run(b), StageVerdict::kDecompressFailed);
  b = wire;
  StoreBe16(&b[2], static_cast<uint16_t>(b.size() + 1));
  EXPECT_EQ(run(b), StageVerdict::kBadLength);
  b = wire;
  b[9] = 6;  // tunnel SA, neither IPComp nor IP-in-IP
  EXPECT_EQ(run(b), StageVerdict::kBadHeader);
  // IP-in-IP whose inner header is broken.
  Bytes ipip = Ipv4(0xc0a80001, 0xc0a80002, kProtoIpip, Bytes(30, 0x45));
  EXPECT_EQ(run(ipip), StageVerdict::kBadInner);
  // Garbage after a valid header never crashes.
  std::mt19937 rng(2);
  for (int i = 0; i < 3000; ++i) {
    Bytes g = Ipv4(0xc0a80001, 0xc0a80002, kProtoComp, Random(rng() % 300, rng));
    if (g.size() >= 24 && (rng() & 1)) {
      g[20] = kProtoIpip;
      g[21] = 0;
      g[22] = 0;
      g[23] = compress::kCpiDeflate;
    }
    (void)run(g, false);  // any verdict; ASan runs check that nothing is overrun
  }
}

TEST(IpcompStage, TransportSaLeavesUncompressedPacketsAlone) {
  TestSa t = CompSa(IpcompAlg::kLzs, SaMode::kTransport);
  const Bytes plain = Ipv4(1, 2, 17, Bytes(20, 9));
  MbufPtr m(MbufFrom(plain));
  uint8_t nh = 0;
  EXPECT_EQ(In(*t.sa, m.get(), &nh), StageVerdict::kNotCompressed);
  EXPECT_EQ(nh, 17);
  EXPECT_EQ(MbufBytes(m.get()), plain);
}

TEST(IpcompStage, DecompressedPacketThatDoesNotFitIsNoRoom) {
  TestSa t = CompSa(IpcompAlg::kDeflate, SaMode::kTunnel);
  // 1900 bytes of text compress well; our mbufs hold 2048 from the default headroom.
  const Bytes wire = CompressedWire(t, 1900);
  MbufPtr m(rte_pktmbuf_alloc(Pool()));
  m->data_off = 400;  // leaves 1776 bytes of room: the 1920-byte inner packet cannot fit
  std::memcpy(rte_pktmbuf_append(m.get(), static_cast<uint16_t>(wire.size())), wire.data(),
              wire.size());
  uint8_t nh;
  EXPECT_EQ(In(*t.sa, m.get(), &nh), StageVerdict::kNoRoom);
  // A scratch smaller than the result is no room either.
  MbufPtr m2(MbufFrom(wire));
  std::vector<uint8_t> small(512);
  EXPECT_EQ(IpcompInbound(*t.sa, m2.get(), Ctx(), small.data(), small.size(), &nh),
            StageVerdict::kNoRoom);
  // Outbound tunnel without headroom for the outer header.
  MbufPtr m3(rte_pktmbuf_alloc(Pool()));
  m3->data_off = 10;
  const Bytes inner = Ipv4(1, 2, 6, Text(300));
  std::memcpy(rte_pktmbuf_append(m3.get(), static_cast<uint16_t>(inner.size())), inner.data(),
              inner.size());
  EXPECT_EQ(Out(*t.sa, m3.get()), StageVerdict::kNoRoom);
  EXPECT_EQ(MbufBytes(m3.get()), inner);
}

}  // namespace
}  // namespace arsec::dp::test
