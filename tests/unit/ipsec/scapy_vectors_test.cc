// Packets made by scapy's IPsec implementation (make_vectors.py -> scapy_vectors.inc):
// ESP over every cipher and integrity algorithm, tunnel and transport, NAT-T, ESN, and
// AH over every HMAC with options. For each: our inbound stage must recover scapy's
// inner packet, and our outbound stage, given the same keys, sequence number, IP ID and
// (through IvSource's deterministic seam) IV, must produce scapy's bytes exactly.
#include <gtest/gtest.h>

#include "dataplane/ipsec/ah.h"
#include "dataplane/ipsec/esp.h"
#include "tests/unit/ipsec/test_util.h"

namespace arsec::dp::test {
namespace {

using crypto::AuthAlg;
using crypto::CipherAlg;

struct ScapyVector {
  const char* name;
  uint8_t proto;
  SaMode mode;
  CipherAlg cipher;
  AuthAlg auth;
  bool esn;
  SaEncap encap;
  const char* cipher_key;
  const char* auth_key;
  uint32_t spi;
  uint64_t seq;
  const char* iv;
  uint16_t ip_id;
  const char* inner;
  const char* outer;
};

void PrintTo(const ScapyVector& v, std::ostream* os) { *os << v.name; }

const ScapyVector kVectors[] = {
#include "tests/unit/ipsec/scapy_vectors.inc"
};

TestSa SaFor(const ScapyVector& v) {
  SaSpec s;
  s.proto = v.proto;
  s.cipher = v.cipher;
  s.auth = v.auth;
  s.cipher_key = Hex(v.cipher_key);
  s.auth_key = Hex(v.auth_key);
  s.mode = v.mode;
  s.esn = v.esn;
  s.encap = v.encap;
  s.spi = v.spi;
  s.tun_src = 0xc0000201;  // 192.0.2.1 -> 198.51.100.2, as make_vectors.py
  s.tun_dst = 0xc6336402;
  s.sport = s.dport = 4500;
  return MakeSa(s);
}

class ScapyVectors : public ::testing::TestWithParam<ScapyVector> {};

TEST_P(ScapyVectors, DecodeAndReproduce) {
  const ScapyVector& v = GetParam();
  const TestSa t = SaFor(v);
  ASSERT_NE(t.session, nullptr);
  const Bytes inner = Hex(v.inner), outer = Hex(v.outer);
  crypto::CryptoOp op{};
  OpScratch sc{};
  uint8_t nh = 0;

  // Inbound: scapy's packet -> the inner packet.
  MbufPtr m(MbufFrom(outer));
  uint32_t spi_be = 0, seq_low = 0;
  if (v.proto == kProtoEsp) {
    if (v.encap != SaEncap::kNone) {
      ASSERT_EQ(UdpEncapStrip(m.get()), StageVerdict::kOk);
    }
    ASSERT_TRUE(EspParse(m.get(), &spi_be, &seq_low));
    ASSERT_EQ(EspInboundPrepare(*t.sa, m.get(), v.seq, &op, &sc), StageVerdict::kOk);
    RunOp(&op);
    ASSERT_EQ(EspInboundFinish(*t.sa, m.get(), &op, &sc, &nh), StageVerdict::kOk);
  } else {
    ASSERT_TRUE(AhParse(m.get(), &spi_be, &seq_low));
    ASSERT_EQ(AhInboundPrepare(*t.sa, m.get(), v.seq, &op, &sc), StageVerdict::kOk);
    RunOp(&op);
    ASSERT_EQ(AhInboundFinish(*t.sa, m.get(), &op, &sc, &nh), StageVerdict::kOk);
  }
  EXPECT_EQ(rte_be_to_cpu_32(spi_be), v.spi);
  EXPECT_EQ(seq_low, static_cast<uint32_t>(v.seq));
  EXPECT_EQ(nh, v.mode == SaMode::kTunnel ? kProtoIpip : kProtoUdp);
  EXPECT_EQ(ToHex(MbufBytes(m.get())), ToHex(inner));

  // Outbound: the inner packet -> scapy's packet.
  MbufPtr o(MbufFrom(inner));
  if (v.proto == kProtoEsp) {
    auto ivs = IvSource::CreateDeterministic(Hex(v.iv));
    ASSERT_EQ(EspOutboundPrepare(*t.sa, o.get(), v.seq, *ivs, v.ip_id, &op, &sc),
              StageVerdict::kOk);
    RunOp(&op);
    ASSERT_EQ(EspOutboundFinish(*t.sa, o.get(), &op, &sc), StageVerdict::kOk);
  } else {
    ASSERT_EQ(AhOutboundPrepare(*t.sa, o.get(), v.seq, v.ip_id, &op, &sc), StageVerdict::kOk);
    RunOp(&op);
    ASSERT_EQ(AhOutboundFinish(*t.sa, o.get(), &op, &sc), StageVerdict::kOk);
  }
  EXPECT_EQ(ToHex(MbufBytes(o.get())), ToHex(outer));

  // A flipped ICV bit is refused (every vector has integrity).
  if (v.auth != AuthAlg::kNull || crypto::IsAead(v.cipher)) {
    Bytes bad = outer;
    const size_t at = v.proto == kProtoEsp ? bad.size() - 1 : ((bad[0] & 0xf) * 4u) + 12;
    bad[at] ^= 1;
    MbufPtr mb(MbufFrom(bad));
    StageVerdict fin;
    if (v.proto == kProtoEsp) {
      if (v.encap != SaEncap::kNone) {
        ASSERT_EQ(UdpEncapStrip(mb.get()), StageVerdict::kOk);
      }
      ASSERT_EQ(EspInboundPrepare(*t.sa, mb.get(), v.seq, &op, &sc), StageVerdict::kOk);
      RunOp(&op);
      fin = EspInboundFinish(*t.sa, mb.get(), &op, &sc, &nh);
    } else {
      ASSERT_EQ(AhInboundPrepare(*t.sa, mb.get(), v.seq, &op, &sc), StageVerdict::kOk);
      RunOp(&op);
      fin = AhInboundFinish(*t.sa, mb.get(), &op, &sc, &nh);
    }
    EXPECT_EQ(fin, StageVerdict::kAuthFailed);
  }
}

INSTANTIATE_TEST_SUITE_P(Scapy, ScapyVectors, ::testing::ValuesIn(kVectors),
                         [](const ::testing::TestParamInfo<ScapyVector>& i) {
                           return std::string(i.param.name);
                         });

}  // namespace
}  // namespace arsec::dp::test
