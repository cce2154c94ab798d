// ESP stage tests: round trips for every cipher x integrity pair in tunnel and transport
// mode, with and without ESN and UDP encapsulation, payloads 0..1500 bytes, in bursts
// through the IPsec-MB engine; the outer header fields; and every malformed input the
// inbound side must reject with the right verdict (truncation, ICV, padding, length,
// dummy packets, inner header, garbage), plus no-room and UDP-encapsulation cases.
#include <gtest/gtest.h>
#include <rte_ip.h>

#include <array>
#include <cstring>
#include <set>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "dataplane/ipsec/esp.h"
#include "dataplane/ipsec/iv_source.h"
#include "tests/unit/ipsec/test_util.h"

namespace arsec::dp::test {
namespace {

using crypto::AuthAlg;
using crypto::CipherAlg;
using crypto::CryptoOp;

constexpr uint32_t kInnerSrc = 0x0a000001, kInnerDst = 0x0a010001;

IvSource& Ivs() {
  static std::unique_ptr<IvSource> s = [] {
    auto r = IvSource::Create();
    if (!r.ok()) abort();
    return std::move(*r);
  }();
  return *s;
}

StageVerdict Encrypt(const Sa& sa, rte_mbuf* m, uint64_t seq, uint16_t ip_id = 7) {
  CryptoOp op{};
  OpScratch sc{};
  const StageVerdict v = EspOutboundPrepare(sa, m, seq, Ivs(), ip_id, &op, &sc);
  if (v != StageVerdict::kOk) return v;
  RunOp(&op);
  return EspOutboundFinish(sa, m, &op, &sc);
}

// As the pipeline: UDP strip (when encapsulated), parse, prepare, crypto, finish.
// `tamper` runs between Prepare and the crypto op.
template <typename F>
StageVerdict DecryptT(const Sa& sa, rte_mbuf* m, uint64_t seq64, uint8_t* nh, F tamper) {
  if (sa.encap != SaEncap::kNone) {
    const StageVerdict v = UdpEncapStrip(m);
    if (v != StageVerdict::kOk) return v;
  }
  uint32_t spi_be, seq_low;
  if (!EspParse(m, &spi_be, &seq_low)) return StageVerdict::kBadLength;
  if (spi_be != sa.spi_be || seq_low != static_cast<uint32_t>(seq64))
    return StageVerdict::kBadHeader;
  CryptoOp op{};
  OpScratch sc{};
  const StageVerdict v = EspInboundPrepare(sa, m, seq64, &op, &sc);
  if (v != StageVerdict::kOk) return v;
  tamper(&op);
  RunOp(&op);
  return EspInboundFinish(sa, m, &op, &sc, nh);
}
StageVerdict Decrypt(const Sa& sa, rte_mbuf* m, uint64_t seq64, uint8_t* nh) {
  return DecryptT(sa, m, seq64, nh, [](CryptoOp*) {});
}

struct Pair {
  CipherAlg c;
  AuthAlg a;
};
void PrintTo(const Pair& p, std::ostream* os) {
  *os << crypto::CipherName(p.c) << "/" << crypto::AuthName(p.a);
}

std::vector<Pair> AllPairs() {
  std::vector<Pair> v;
  for (CipherAlg c : {CipherAlg::kNull, CipherAlg::kDesCbc, CipherAlg::k3desCbc,
                      CipherAlg::kAes128Cbc, CipherAlg::kAes192Cbc, CipherAlg::kAes256Cbc})
    for (AuthAlg a : {AuthAlg::kNull, AuthAlg::kHmacMd5_96, AuthAlg::kHmacSha1_96,
                      AuthAlg::kHmacSha256_128, AuthAlg::kHmacSha384_192,
                      AuthAlg::kHmacSha512_256})
      v.push_back({c, a});
  for (CipherAlg c : {CipherAlg::kAes128Gcm, CipherAlg::kAes192Gcm, CipherAlg::kAes256Gcm})
    v.push_back({c, AuthAlg::kNull});
  return v;
}

std::vector<uint32_t> Sizes() {
  std::vector<uint32_t> s;
  for (uint32_t n = 0; n <= 40; ++n) s.push_back(n);
  for (uint32_t n = 41; n < 1500; n += 41) s.push_back(n);
  s.push_back(1499);
  s.push_back(1500);
  return s;
}

// The outbound packet's headers, as a receiver would check them.
void CheckOutbound(const Sa& sa, const SaSpec& spec, const Bytes& inner, const Bytes& out,
                   uint64_t seq) {
  ASSERT_GE(out.size(), 20u);
  const unsigned ihl = (out[0] & 0xf) * 4u;
  EXPECT_TRUE(Ipv4ChecksumOk(out.data()));
  EXPECT_EQ(LoadBe16(&out[2]), out.size());
  const bool udp = spec.encap != SaEncap::kNone;
  EXPECT_EQ(out[9], udp ? kProtoUdp : kProtoEsp);
  if (spec.mode == SaMode::kTunnel) {
    EXPECT_EQ(ihl, 20u);
    EXPECT_EQ(out[8], 64);
    EXPECT_EQ(out[1], inner[1]);  // TOS copied
    EXPECT_EQ(LoadBe32(&out[12]), spec.tun_src);
    EXPECT_EQ(LoadBe32(&out[16]), spec.tun_dst);
    EXPECT_EQ(LoadBe16(&out[6]), LoadBe16(&inner[6]) & kIpv4Df);  // kCopy
  } else {
    EXPECT_EQ(ihl, (inner[0] & 0xfu) * 4u);
    EXPECT_EQ(out[8], inner[8]);
  }
  size_t esp = ihl;
  if (udp) {
    EXPECT_EQ(LoadBe16(&out[ihl]), spec.sport);
    EXPECT_EQ(LoadBe16(&out[ihl + 2]), spec.dport);
    EXPECT_EQ(LoadBe16(&out[ihl + 4]), out.size() - ihl);
    EXPECT_EQ(LoadBe16(&out[ihl + 6]), 0);
    esp += 8;
  }
  EXPECT_EQ(LoadBe32(&out[esp]), spec.spi);
  EXPECT_EQ(LoadBe32(&out[esp + 4]), static_cast<uint32_t>(seq));
  const size_t cipher = out.size() - esp - 8 - sa.iv_len - sa.digest_len;
  EXPECT_EQ(cipher % sa.block_len, 0u);
  EXPECT_EQ((out.size() - esp) % 4, 0u);
  if (sa.aead) {
    EXPECT_EQ(LoadBe32(&out[esp + 8]), static_cast<uint32_t>(seq >> 32));
    EXPECT_EQ(LoadBe32(&out[esp + 12]), static_cast<uint32_t>(seq));
  }
}

struct Variant {
  SaMode mode;
  bool esn;
  SaEncap encap;
};

class EspRoundTrip : public ::testing::TestWithParam<Pair> {};

// Every size of a variant goes through the engine as one burst, both directions.
TEST_P(EspRoundTrip, AllModesSizes) {
  const Pair pr = GetParam();
  std::mt19937 rng(static_cast<uint32_t>(pr.c) * 31 + static_cast<uint32_t>(pr.a));
  const std::vector<uint32_t> sizes = Sizes();
  for (SaMode mode : {SaMode::kTunnel, SaMode::kTransport})
    for (bool esn : {false, true})
      for (SaEncap encap : {SaEncap::kNone, SaEncap::kNatT}) {
        SCOPED_TRACE(::testing::Message() << "mode " << int(mode) << " esn " << esn << " encap "
                                          << int(encap));
        SaSpec spec;
        spec.cipher = pr.c;
        spec.auth = pr.a;
        spec.mode = mode;
        spec.esn = esn;
        spec.encap = encap;
        spec.spi = rng();
        TestSa out = MakeSa(spec, &rng);
        ASSERT_NE(out.session, nullptr);
        TestSa in = MakeSa(out.spec);  // same keys, its own session
        const size_t n = sizes.size();
        std::vector<Bytes> inner(n);
        std::vector<MbufPtr> m(n);
        std::vector<CryptoOp> ops(n);
        std::vector<OpScratch> sc(n);
        std::vector<CryptoOp*> op_ptrs(n);
        const uint64_t seq0 = esn ? 0x00000003fffffff0ull : 1;
        for (size_t i = 0; i < n; ++i) {
          const uint16_t frag = rng() & 1 ? kIpv4Df : 0;
          inner[i] = Ipv4(kInnerSrc, kInnerDst, 17, Random(sizes[i], rng),
                          static_cast<uint8_t>(rng()), frag);
          m[i].reset(MbufFrom(inner[i]));
          ASSERT_NE(m[i], nullptr);
          ASSERT_EQ(EspOutboundPrepare(*out.sa, m[i].get(), seq0 + i, Ivs(), 7, &ops[i], &sc[i]),
                    StageVerdict::kOk);
          EXPECT_EQ(ops[i].user, m[i].get());
          op_ptrs[i] = &ops[i];
        }
        ASSERT_EQ(Engine().Enqueue(op_ptrs.data(), static_cast<uint16_t>(n)), n);
        std::vector<CryptoOp*> done(n);
        ASSERT_EQ(Engine().Dequeue(done.data(), static_cast<uint16_t>(n)), n);
        for (size_t i = 0; i < n; ++i) {
          auto* mb = static_cast<rte_mbuf*>(done[i]->user);
          ASSERT_EQ(mb, m[i].get());
          ASSERT_EQ(EspOutboundFinish(*out.sa, mb, done[i], &sc[i]), StageVerdict::kOk);
          CheckOutbound(*out.sa, out.spec, inner[i], MbufBytes(mb), seq0 + i);
        }
        // Inbound, again as one burst.
        for (size_t i = 0; i < n; ++i) {
          if (encap != SaEncap::kNone) {
            ASSERT_EQ(UdpEncapStrip(m[i].get()), StageVerdict::kOk);
          }
          uint32_t spi_be, seq_low;
          ASSERT_TRUE(EspParse(m[i].get(), &spi_be, &seq_low));
          EXPECT_EQ(spi_be, in.sa->spi_be);
          EXPECT_EQ(seq_low, static_cast<uint32_t>(seq0 + i));
          ASSERT_EQ(EspInboundPrepare(*in.sa, m[i].get(), seq0 + i, &ops[i], &sc[i]),
                    StageVerdict::kOk);
        }
        ASSERT_EQ(Engine().Enqueue(op_ptrs.data(), static_cast<uint16_t>(n)), n);
        ASSERT_EQ(Engine().Dequeue(done.data(), static_cast<uint16_t>(n)), n);
        for (size_t i = 0; i < n; ++i) {
          uint8_t nh = 0;
          ASSERT_EQ(EspInboundFinish(*in.sa, m[i].get(), done[i], &sc[i], &nh), StageVerdict::kOk)
              << "size " << sizes[i];
          EXPECT_EQ(nh, mode == SaMode::kTunnel ? kProtoIpip : 17);
          ASSERT_EQ(MbufBytes(m[i].get()), inner[i]) << "size " << sizes[i];
        }
      }
}

std::string PairName(const ::testing::TestParamInfo<Pair>& i) {
  std::string s = std::string(crypto::CipherName(i.param.c)) + "_" +
                  std::string(crypto::AuthName(i.param.a));
  for (char& c : s)
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

INSTANTIATE_TEST_SUITE_P(AllPairs, EspRoundTrip, ::testing::ValuesIn(AllPairs()), PairName);

TestSa Sa1(SaMode mode = SaMode::kTunnel, CipherAlg c = CipherAlg::kAes128Cbc,
           AuthAlg a = AuthAlg::kHmacSha1_96, bool esn = false, SaEncap encap = SaEncap::kNone) {
  SaSpec s;
  s.cipher = c;
  s.auth = a;
  s.mode = mode;
  s.esn = esn;
  s.encap = encap;
  return MakeSa(s);
}

Bytes Inner(size_t n = 100, uint16_t frag = 0, uint8_t tos = 0x28) {
  std::mt19937 rng(7);
  return Ipv4(kInnerSrc, kInnerDst, 6, Random(n, rng), tos, frag);
}

Bytes EncryptBytes(const TestSa& t, const Bytes& inner, uint64_t seq) {
  MbufPtr m(MbufFrom(inner));
  EXPECT_EQ(Encrypt(*t.sa, m.get(), seq), StageVerdict::kOk);
  return MbufBytes(m.get());
}

TEST(EspOutbound, DfBitCopySetClear) {
  for (SaDfBit df : {SaDfBit::kCopy, SaDfBit::kSet, SaDfBit::kClear})
    for (uint16_t inner_frag : {uint16_t{0}, kIpv4Df}) {
      SaSpec s;
      s.cipher = CipherAlg::kAes128Gcm;
      s.dfbit = df;
      TestSa t = MakeSa(s);
      const Bytes out = EncryptBytes(t, Inner(50, inner_frag), 1);
      const uint16_t want = df == SaDfBit::kSet    ? kIpv4Df
                            : df == SaDfBit::kCopy ? inner_frag
                                                   : 0;
      EXPECT_EQ(LoadBe16(&out[6]), want);
      EXPECT_EQ(LoadBe16(&out[4]), 7);  // the ID passed in
      EXPECT_TRUE(Ipv4ChecksumOk(out.data()));
    }
}

TEST(EspOutbound, CbcIvsDifferPerPacket) {
  TestSa t = Sa1();
  const Bytes inner = Inner();
  const Bytes a = EncryptBytes(t, inner, 1);
  const Bytes b = EncryptBytes(t, inner, 1);
  EXPECT_NE(Bytes(a.begin() + 28, a.begin() + 44), Bytes(b.begin() + 28, b.begin() + 44));
  EXPECT_NE(a, b);
}

TEST(EspOutbound, TransportKeepsOptions) {
  const Bytes opts = {0x94, 0x04, 0x00, 0x00};  // Router Alert
  std::mt19937 rng(3);
  const Bytes inner = Ipv4(kInnerSrc, kInnerDst, 17, Random(77, rng), 0, 0, 0x4321, 12, opts);
  TestSa out = Sa1(SaMode::kTransport);
  TestSa in = MakeSa(out.spec);
  MbufPtr m(MbufFrom(inner));
  ASSERT_EQ(Encrypt(*out.sa, m.get(), 9), StageVerdict::kOk);
  const Bytes enc = MbufBytes(m.get());
  EXPECT_EQ(enc[0], 0x46);
  EXPECT_EQ(Bytes(enc.begin() + 20, enc.begin() + 24), opts);
  EXPECT_EQ(LoadBe16(&enc[4]), 0x4321);
  EXPECT_EQ(enc[8], 12);
  EXPECT_EQ(LoadBe32(&enc[24]), 0x1000u);  // ESP right after the options
  uint8_t nh;
  ASSERT_EQ(Decrypt(*in.sa, m.get(), 9, &nh), StageVerdict::kOk);
  EXPECT_EQ(MbufBytes(m.get()), inner);
}

TEST(EspOutbound, EspOverUdpPorts) {
  SaSpec s;
  s.cipher = CipherAlg::kAes256Cbc;
  s.auth = AuthAlg::kHmacSha256_128;
  s.encap = SaEncap::kEspUdp;
  s.sport = kEspUdpPort;
  s.dport = kEspUdpPort;
  TestSa t = MakeSa(s);
  const Bytes out = EncryptBytes(t, Inner(), 1);
  EXPECT_EQ(out[9], kProtoUdp);
  EXPECT_EQ(LoadBe16(&out[20]), 2746);
  EXPECT_EQ(LoadBe16(&out[22]), 2746);
}

TEST(EspOutbound, NoRoomLeavesPacketUnchanged) {
  TestSa t = Sa1(SaMode::kTunnel, CipherAlg::kAes128Cbc, AuthAlg::kHmacSha512_256, true,
                 SaEncap::kNatT);
  const Bytes inner = Inner(200);
  // Headroom too small for outer IP + UDP + ESP + IV (52 bytes).
  MbufPtr m(rte_pktmbuf_alloc(Pool()));
  m->data_off = 40;
  std::memcpy(rte_pktmbuf_append(m.get(), static_cast<uint16_t>(inner.size())), inner.data(),
              inner.size());
  CryptoOp op{};
  OpScratch sc{};
  EXPECT_EQ(EspOutboundPrepare(*t.sa, m.get(), 1, Ivs(), 1, &op, &sc), StageVerdict::kNoRoom);
  EXPECT_EQ(MbufBytes(m.get()), inner);
  EXPECT_EQ(m->data_off, 40);
  // Tailroom too small for padding + trailer + 32-byte ICV.
  MbufPtr m2(rte_pktmbuf_alloc(Pool()));
  const uint16_t fill = static_cast<uint16_t>(rte_pktmbuf_tailroom(m2.get()) - 10);
  uint8_t* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m2.get(), fill));
  const Bytes big = Ipv4(kInnerSrc, kInnerDst, 17, Bytes(fill - 20, 0xab));
  std::memcpy(p, big.data(), big.size());
  EXPECT_EQ(EspOutboundPrepare(*t.sa, m2.get(), 1, Ivs(), 1, &op, &sc), StageVerdict::kNoRoom);
  EXPECT_EQ(MbufBytes(m2.get()), big);
  // Transport mode with a header that is not IPv4.
  TestSa tr = Sa1(SaMode::kTransport);
  Bytes junk = inner;
  junk[0] = 0x65;
  MbufPtr m3(MbufFrom(junk));
  EXPECT_EQ(EspOutboundPrepare(*tr.sa, m3.get(), 1, Ivs(), 1, &op, &sc), StageVerdict::kBadInner);
}

TEST(EspOutbound, GcmExplicitIvIsSequence) {
  SaSpec s;
  s.cipher = CipherAlg::kAes256Gcm;
  s.esn = true;
  TestSa t = MakeSa(s);
  const Bytes out = EncryptBytes(t, Inner(), 0x123456789abcdef0ull);
  EXPECT_EQ(LoadBe32(&out[24]), 0x9abcdef0u);  // only the low half is sent
  EXPECT_EQ(LoadBe32(&out[28]), 0x12345678u);
  EXPECT_EQ(LoadBe32(&out[32]), 0x9abcdef0u);
}

// ---- inbound: malformed packets ----

TEST(EspInbound, EsnHighBitsAreAuthenticated) {
  for (CipherAlg c : {CipherAlg::kAes128Cbc, CipherAlg::kAes128Gcm}) {
    TestSa out = Sa1(SaMode::kTunnel, c,
                     crypto::IsAead(c) ? AuthAlg::kNull : AuthAlg::kHmacSha256_128, true);
    TestSa in = MakeSa(out.spec);
    const uint64_t seq = 0x0000000700000010ull;
    const Bytes enc = EncryptBytes(out, Inner(), seq);
    uint8_t nh;
    MbufPtr good(MbufFrom(enc));
    EXPECT_EQ(Decrypt(*in.sa, good.get(), seq, &nh), StageVerdict::kOk);
    MbufPtr bad(MbufFrom(enc));
    EXPECT_EQ(Decrypt(*in.sa, bad.get(), seq + (uint64_t{1} << 32), &nh),
              StageVerdict::kAuthFailed);
    // Without ESN on the receiver the ICV differs too.
    TestSa no_esn = MakeSa([&] {
      SaSpec s = out.spec;
      s.esn = false;
      return s;
    }());
    MbufPtr bad2(MbufFrom(enc));
    EXPECT_EQ(Decrypt(*no_esn.sa, bad2.get(), static_cast<uint32_t>(seq), &nh),
              StageVerdict::kAuthFailed);
  }
}

TEST(EspInbound, EveryFlippedByteFailsTheIcv) {
  for (CipherAlg c : {CipherAlg::kNull, CipherAlg::k3desCbc, CipherAlg::kAes128Gcm}) {
    TestSa out = Sa1(SaMode::kTunnel, c,
                     crypto::IsAead(c) ? AuthAlg::kNull : AuthAlg::kHmacMd5_96, c == CipherAlg::kNull);
    TestSa in = MakeSa(out.spec);
    const Bytes enc = EncryptBytes(out, Inner(33), 77);
    for (size_t i = 20; i < enc.size(); ++i) {
      Bytes b = enc;
      b[i] ^= 0x10;
      MbufPtr m(MbufFrom(b));
      uint8_t nh;
      StageVerdict want = StageVerdict::kAuthFailed;
      if (i < 28) want = StageVerdict::kBadHeader;  // SPI/seq no longer what Parse expects
      EXPECT_EQ(Decrypt(*in.sa, m.get(), 77, &nh), want) << "byte " << i;
    }
  }
}

TEST(EspInbound, TruncatedAtEveryLength) {
  for (bool fix_length : {false, true}) {
    TestSa out = Sa1(SaMode::kTunnel, CipherAlg::kAes128Cbc, AuthAlg::kHmacSha1_96);
    TestSa in = MakeSa(out.spec);
    const Bytes enc = EncryptBytes(out, Inner(61), 5);
    for (size_t len = 0; len < enc.size(); ++len) {
      Bytes b(enc.begin(), enc.begin() + len);
      if (fix_length && len >= 20) {
        StoreBe16(&b[2], static_cast<uint16_t>(len));
        SetIpv4Cksum(b.data(), 20);
      }
      MbufPtr m(MbufFrom(b));
      uint32_t spi, seq;
      const bool parsed = EspParse(m.get(), &spi, &seq);
      EXPECT_EQ(parsed, len >= 28) << len;
      CryptoOp op{};
      OpScratch sc{};
      StageVerdict v = EspInboundPrepare(*in.sa, m.get(), 5, &op, &sc);
      if (v == StageVerdict::kOk) {
        RunOp(&op);
        uint8_t nh;
        v = EspInboundFinish(*in.sa, m.get(), &op, &sc, &nh);
        EXPECT_EQ(v, StageVerdict::kAuthFailed) << len;
      } else {
        EXPECT_EQ(v, StageVerdict::kBadLength) << len;
      }
    }
  }
}

// Edits the plaintext between Prepare and the crypto op of the sender, so that the ICV
// is valid over the malformed content.
template <typename F>
StageVerdict SendTampered(const TestSa& out, const TestSa& in, const Bytes& inner, F edit) {
  MbufPtr m(MbufFrom(inner));
  CryptoOp op{};
  OpScratch sc{};
  EXPECT_EQ(EspOutboundPrepare(*out.sa, m.get(), 3, Ivs(), 1, &op, &sc), StageVerdict::kOk);
  edit(op.data + op.cipher_offset, op.cipher_len);  // payload .. next header
  RunOp(&op);
  EXPECT_EQ(EspOutboundFinish(*out.sa, m.get(), &op, &sc), StageVerdict::kOk);
  uint8_t nh;
  return Decrypt(*in.sa, m.get(), 3, &nh);
}

TEST(EspInbound, PaddingTrailerDummyInner) {
  for (CipherAlg c : {CipherAlg::kNull, CipherAlg::kAes192Cbc, CipherAlg::kAes256Gcm}) {
    SCOPED_TRACE(std::string(crypto::CipherName(c)));
    const AuthAlg a = crypto::IsAead(c) ? AuthAlg::kNull : AuthAlg::kHmacSha384_192;
    TestSa out = Sa1(SaMode::kTunnel, c, a);
    TestSa in = MakeSa(out.spec);
    const Bytes inner = Inner(41);  // 61 + 2 bytes: padding to 4 or 16 is never empty
    EXPECT_EQ(SendTampered(out, in, inner, [](uint8_t*, uint32_t) {}), StageVerdict::kOk);
    // A padding byte off its 1, 2, 3, ... value.
    EXPECT_EQ(SendTampered(out, in, inner,
                           [](uint8_t* p, uint32_t n) { p[n - 2 - p[n - 2]] ^= 1; }),
              StageVerdict::kBadTrailer);
    // Pad length beyond the cipher text.
    EXPECT_EQ(SendTampered(out, in, inner, [](uint8_t* p, uint32_t n) { p[n - 2] = 255; }),
              StageVerdict::kBadTrailer);
    // Pad length claiming more padding (the extra bytes are payload, not 1, 2, 3...).
    EXPECT_EQ(SendTampered(out, in, inner, [](uint8_t* p, uint32_t n) { p[n - 2] += 2; }),
              StageVerdict::kBadTrailer);
    // Next header 59: a dummy packet.
    EXPECT_EQ(SendTampered(out, in, inner, [](uint8_t* p, uint32_t n) { p[n - 1] = 59; }),
              StageVerdict::kDummy);
    // Tunnel mode carrying TCP: not an inner IPv4 packet.
    EXPECT_EQ(SendTampered(out, in, inner, [](uint8_t* p, uint32_t n) { p[n - 1] = 6; }),
              StageVerdict::kBadInner);
    // Inner header broken: checksum, version, length beyond the payload.
    EXPECT_EQ(SendTampered(out, in, inner, [](uint8_t* p, uint32_t) { p[8] ^= 1; }),
              StageVerdict::kBadInner);
    EXPECT_EQ(SendTampered(out, in, inner, [](uint8_t* p, uint32_t) { p[0] = 0x65; }),
              StageVerdict::kBadInner);
    EXPECT_EQ(SendTampered(out, in, inner,
                           [](uint8_t* p, uint32_t) {
                             StoreBe16(p + 2, 200);
                             SetIpv4Cksum(p, 20);
                           }),
              StageVerdict::kBadInner);
  }
}

TEST(EspInbound, TfcPaddingAfterInnerIsTrimmed) {
  TestSa out = Sa1();
  TestSa in = MakeSa(out.spec);
  const Bytes inner = Inner(30);
  Bytes padded = inner;
  padded.insert(padded.end(), 23, 0);  // RFC 4303 section 2.7 TFC padding
  MbufPtr m(MbufFrom(padded));
  ASSERT_EQ(Encrypt(*out.sa, m.get(), 4), StageVerdict::kOk);
  uint8_t nh;
  ASSERT_EQ(Decrypt(*in.sa, m.get(), 4, &nh), StageVerdict::kOk);
  EXPECT_EQ(MbufBytes(m.get()), inner);
}

TEST(EspInbound, NotBlockAlignedAndWrongLengths) {
  TestSa out = Sa1();
  TestSa in = MakeSa(out.spec);
  const Bytes enc = EncryptBytes(out, Inner(), 2);
  CryptoOp op{};
  OpScratch sc{};
  // One byte less of cipher text (lengths consistent): not a multiple of 16.
  Bytes b = enc;
  b.erase(b.begin() + 50);
  StoreBe16(&b[2], static_cast<uint16_t>(b.size()));
  SetIpv4Cksum(b.data(), 20);
  MbufPtr m(MbufFrom(b));
  EXPECT_EQ(EspInboundPrepare(*in.sa, m.get(), 2, &op, &sc), StageVerdict::kBadLength);
  // Total length beyond the data.
  b = enc;
  StoreBe16(&b[2], static_cast<uint16_t>(b.size() + 4));
  MbufPtr m2(MbufFrom(b));
  EXPECT_EQ(EspInboundPrepare(*in.sa, m2.get(), 2, &op, &sc), StageVerdict::kBadLength);
  // Ethernet padding after the IP packet is trimmed, not decrypted.
  b = enc;
  b.insert(b.end(), 6, 0);
  MbufPtr m3(MbufFrom(b));
  uint8_t nh;
  EXPECT_EQ(Decrypt(*in.sa, m3.get(), 2, &nh), StageVerdict::kOk);
  // Not ESP.
  b = enc;
  b[9] = 51;
  MbufPtr m4(MbufFrom(b));
  EXPECT_EQ(EspInboundPrepare(*in.sa, m4.get(), 2, &op, &sc), StageVerdict::kBadHeader);
  uint32_t spi, seq;
  EXPECT_FALSE(EspParse(m4.get(), &spi, &seq));
}

TEST(EspInbound, GarbageNeverCrashes) {
  std::mt19937 rng(99);
  std::vector<TestSa> sas;
  for (const Pair& p : AllPairs())
    for (SaMode mode : {SaMode::kTunnel, SaMode::kTransport})
      for (bool esn : {false, true}) sas.push_back(Sa1(mode, p.c, p.a, esn));
  int ok = 0;
  for (int iter = 0; iter < 6000; ++iter) {
    const TestSa& t = sas[rng() % sas.size()];
    const size_t len = rng() % 200;
    Bytes b = Random(len, rng);
    if (len >= 20 && rng() % 4 != 0) {  // mostly a plausible IPv4/ESP header
      b[0] = 0x45;
      b[9] = kProtoEsp;
      StoreBe16(&b[2], static_cast<uint16_t>(rng() % 8 == 0 ? rng() : len));
      SetIpv4Cksum(b.data(), 20);
    }
    MbufPtr m(MbufFrom(b));
    CryptoOp op{};
    OpScratch sc{};
    StageVerdict v = EspInboundPrepare(*t.sa, m.get(), rng(), &op, &sc);
    if (v == StageVerdict::kOk) {
      RunOp(&op);
      uint8_t nh;
      v = EspInboundFinish(*t.sa, m.get(), &op, &sc, &nh);
    }
    // Only unauthenticated SAs can accept garbage, and then only a well-formed result.
    if (v == StageVerdict::kOk) {
      ++ok;
      EXPECT_EQ(t.sa->digest_len, 0);
      if (t.sa->mode == SaMode::kTunnel) {
        EXPECT_NE(CheckInnerIpv4(rte_pktmbuf_mtod(m.get(), uint8_t*),
                                 rte_pktmbuf_data_len(m.get())), 0u);
      }
    }
  }
  RecordProperty("accepted_unauthenticated", ok);
}

TEST(UdpEncap, KeepaliveMarkerEspAndJunk) {
  auto udp = [](const Bytes& body, uint16_t len_adjust = 0) {
    Bytes u(8 + body.size());
    StoreBe16(&u[0], 4500);
    StoreBe16(&u[2], 4500);
    StoreBe16(&u[4], static_cast<uint16_t>(8 + body.size() + len_adjust));
    std::copy(body.begin(), body.end(), u.begin() + 8);
    return Ipv4(0x01020304, 0x05060708, kProtoUdp, u);
  };
  MbufPtr ka(MbufFrom(udp({0xff})));
  EXPECT_EQ(UdpEncapStrip(ka.get()), StageVerdict::kKeepalive);
  const Bytes ike = udp({0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8});
  MbufPtr mk(MbufFrom(ike));
  EXPECT_EQ(UdpEncapStrip(mk.get()), StageVerdict::kNonEsp);
  EXPECT_EQ(MbufBytes(mk.get()), ike);  // punted as it came
  MbufPtr sh(MbufFrom(udp({1, 2, 3, 4, 5})));
  EXPECT_EQ(UdpEncapStrip(sh.get()), StageVerdict::kBadLength);
  MbufPtr bl(MbufFrom(udp({1, 2, 3, 4, 5, 6, 7, 8, 9}, 3)));
  EXPECT_EQ(UdpEncapStrip(bl.get()), StageVerdict::kBadLength);
  MbufPtr ok(MbufFrom(udp({0, 0, 0x10, 0, 0, 0, 0, 1, 0xaa})));
  EXPECT_EQ(UdpEncapStrip(ok.get()), StageVerdict::kOk);
  const Bytes s = MbufBytes(ok.get());
  EXPECT_EQ(s.size(), 29u);
  EXPECT_EQ(s[9], kProtoEsp);
  EXPECT_EQ(LoadBe16(&s[2]), 29);
  EXPECT_TRUE(Ipv4ChecksumOk(s.data()));
  uint32_t spi, seq;
  ASSERT_TRUE(EspParse(ok.get(), &spi, &seq));
  EXPECT_EQ(rte_be_to_cpu_32(spi), 0x1000u);
  EXPECT_EQ(seq, 1u);
  Bytes tcp = udp({1, 2, 3, 4, 5, 6, 7, 8});
  tcp[9] = 6;
  SetIpv4Cksum(tcp.data(), 20);
  MbufPtr mt(MbufFrom(tcp));
  EXPECT_EQ(UdpEncapStrip(mt.get()), StageVerdict::kBadHeader);
}

// RFC 3948 section 3.1.2: a transport-mode packet through a NAT. The sender summed its
// TCP/UDP checksum over its own address; the NAT rewrote the (unprotected) IP header, so
// after decapsulation the checksum is wrong until NatTTransportFixChecksum recomputes it
// over the addresses the packet has now. Nothing else of the packet changes.
TEST(UdpEncap, TransportNatTChecksumFollowsTheNat) {
  auto l4_ok = [](const Bytes& b) {
    return rte_ipv4_udptcp_cksum_verify(reinterpret_cast<const rte_ipv4_hdr*>(b.data()),
                                        b.data() + 20) == 0;
  };
  constexpr uint32_t kNatted = 0xcb007163;  // 203.0.113.99: the NAT's public address
  for (const uint8_t proto : {uint8_t{6}, uint8_t{17}}) {
    for (const bool udp_none : {false, true}) {
      if (proto == 6 && udp_none) continue;
      SCOPED_TRACE(::testing::Message() << "proto " << int(proto) << " none " << udp_none);
      const TestSa out = Sa1(SaMode::kTransport, CipherAlg::kAes128Cbc, AuthAlg::kHmacSha1_96,
                             false, SaEncap::kNatT);
      const TestSa in = MakeSa(out.spec);
      std::mt19937 rng(proto);
      Bytes l4 = Random(proto == 6 ? 60 : 48, rng);
      if (proto == 17) StoreBe16(&l4[4], static_cast<uint16_t>(l4.size()));
      Bytes inner = Ipv4(kInnerSrc, kInnerDst, proto, l4);
      const unsigned ck = 20 + (proto == 6 ? 16 : 6);
      inner[ck] = inner[ck + 1] = 0;
      if (!udp_none) {
        const uint16_t c = rte_ipv4_udptcp_cksum(
            reinterpret_cast<const rte_ipv4_hdr*>(inner.data()), inner.data() + 20);
        std::memcpy(&inner[ck], &c, 2);
        ASSERT_TRUE(l4_ok(inner));
      }
      Bytes wire = EncryptBytes(out, inner, 1);
      ASSERT_EQ(wire[9], kProtoUdp);
      // The NAT: a new source address and UDP source port, the header checksum fixed.
      StoreBe32(&wire[12], kNatted);
      StoreBe16(&wire[20], 31337);
      SetIpv4Cksum(wire.data(), 20);
      MbufPtr m(MbufFrom(wire));
      uint8_t nh = 0;
      ASSERT_EQ(Decrypt(*in.sa, m.get(), 1, &nh), StageVerdict::kOk);
      EXPECT_EQ(nh, proto);
      Bytes got = MbufBytes(m.get());
      ASSERT_EQ(got.size(), inner.size());
      EXPECT_EQ(LoadBe32(&got[12]), kNatted);
      if (!udp_none) {
        EXPECT_FALSE(l4_ok(got)) << "still summed over the pre-NAT source";
      }

      NatTTransportFixChecksum(m.get());
      const Bytes fixed = MbufBytes(m.get());
      if (udp_none) {
        EXPECT_EQ(fixed, got);  // no checksum stays none
        continue;
      }
      EXPECT_TRUE(l4_ok(fixed));
      EXPECT_TRUE(Ipv4ChecksumOk(fixed.data()));
      Bytes a = fixed, b = got;
      a[ck] = a[ck + 1] = b[ck] = b[ck + 1] = 0;
      EXPECT_EQ(a, b) << "only the checksum may change";
    }
  }
  // Not TCP/UDP, too short, or a fragment: left alone.
  for (const Bytes& p : {Ipv4(kNatted, kInnerDst, 1, Bytes(40, 9)),
                         Ipv4(kNatted, kInnerDst, 6, Bytes(12, 9)),
                         Ipv4(kNatted, kInnerDst, 17, Bytes(30, 9), 0, 0x2001)}) {
    MbufPtr m(MbufFrom(p));
    NatTTransportFixChecksum(m.get());
    EXPECT_EQ(MbufBytes(m.get()), p);
  }
}

TEST(IvSourceTest, DeterministicStreamAndRefill) {
  const Bytes pattern = {1, 2, 3, 4, 5, 6, 7};
  auto s = IvSource::CreateDeterministic(pattern);
  Bytes got;
  for (int i = 0; i < 1000; ++i) {
    uint8_t iv[16];
    s->Fill(iv, sizeof(iv));
    got.insert(got.end(), iv, iv + 16);
  }
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], pattern[i % 7]) << i;
  EXPECT_GE(s->refills(), 3u);
}

TEST(IvSourceTest, RandomAcrossRefillsAndInstances) {
  auto a = IvSource::Create();
  auto b = IvSource::Create();
  ASSERT_TRUE(a.ok() && b.ok());
  std::set<Bytes> seen;
  for (int i = 0; i < 2000; ++i) {
    Bytes iv(16);
    ((i & 1) ? **a : **b).Fill(iv.data(), iv.size());
    EXPECT_TRUE(seen.insert(iv).second) << "repeated IV at " << i;
  }
  EXPECT_GE((*a)->refills(), 3u);
  // Byte values are spread out (a broken keystream tends to be zeros).
  std::array<int, 256> hist{};
  for (const Bytes& iv : seen)
    for (uint8_t x : iv) ++hist[x];
  for (int h : hist) EXPECT_GT(h, 40);
}

}  // namespace
}  // namespace arsec::dp::test
