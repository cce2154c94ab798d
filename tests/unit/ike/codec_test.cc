// The ISAKMP codec on its own: every payload type and whole messages round-trip through
// build and parse, and every malformed field is rejected with the RFC 2408 notify the
// responder would send, an error naming field and offset, and no crash (every
// truncation, lengths, counts, next-payload fields inside the SA, SPI sizes, attribute
// overruns, version, reserved bytes, unknown payload types).
#include <string>
#include <vector>

#include "control/ike/isakmp_codec.h"
#include "gtest/gtest.h"
#include "tests/unit/ike/codec_test_util.h"

namespace arsec::ike {
namespace {

using testing::FromHex;
using testing::SeedSa;
using testing::ToHex;

Attribute B(P2Attr t, uint16_t v) { return Attribute::Basic(static_cast<uint16_t>(t), v); }

// Phase 2: ESP (AES-CBC 256, HMAC-SHA1, tunnel, seconds and kilobytes) ANDed with IPComp
// (2-byte CPI), or AH; attribute values basic and variable.
SaPayload PhaseTwoSa() {
  Transform esp;
  esp.number = 1;
  esp.id = static_cast<uint8_t>(EspTransform::kAes);
  esp.attrs = {B(P2Attr::kLifeType, 1), B(P2Attr::kLifeDuration, 3600),
               B(P2Attr::kLifeType, 2),
               Attribute::Variable(static_cast<uint16_t>(P2Attr::kLifeDuration),
                                   {0x00, 0x46, 0x50, 0x00}),
               B(P2Attr::kEncapMode, static_cast<uint16_t>(EncapMode::kTunnel)),
               B(P2Attr::kAuthAlg, static_cast<uint16_t>(P2AuthAlg::kHmacSha)),
               B(P2Attr::kKeyLength, 256), B(P2Attr::kGroupDesc, 2)};
  Transform esp2 = esp;
  esp2.number = 2;
  esp2.id = static_cast<uint8_t>(EspTransform::k3Des);
  esp2.attrs.pop_back();
  Transform comp;
  comp.number = 1;
  comp.id = static_cast<uint8_t>(IpcompTransform::kLzs);
  comp.attrs = {B(P2Attr::kEncapMode, 1)};
  Transform ah;
  ah.number = 1;
  ah.id = static_cast<uint8_t>(AhTransform::kSha);
  ah.attrs = {B(P2Attr::kAuthAlg, 2), B(P2Attr::kEncapMode, 2)};
  SaPayload sa;
  sa.proposals = {
      Proposal{1, ProtocolId::kEsp, {0xc0, 0xff, 0xee, 0x01}, {esp, esp2}},
      Proposal{1, ProtocolId::kIpcomp, {0x12, 0x34}, {comp}},
      Proposal{2, ProtocolId::kAh, {0x0b, 0xad, 0xca, 0xfe}, {ah}},
  };
  return sa;
}

void ExpectSameSa(const SaPayload& a, const SaPayload& b) {
  ASSERT_EQ(a.doi, b.doi);
  ASSERT_EQ(a.situation, b.situation);
  ASSERT_EQ(a.proposals.size(), b.proposals.size());
  for (size_t i = 0; i < a.proposals.size(); ++i) {
    const Proposal& p = a.proposals[i];
    const Proposal& q = b.proposals[i];
    EXPECT_EQ(p.number, q.number);
    EXPECT_EQ(p.protocol, q.protocol);
    EXPECT_EQ(p.spi, q.spi);
    ASSERT_EQ(p.transforms.size(), q.transforms.size());
    for (size_t j = 0; j < p.transforms.size(); ++j) {
      EXPECT_EQ(p.transforms[j].number, q.transforms[j].number);
      EXPECT_EQ(p.transforms[j].id, q.transforms[j].id);
      ASSERT_EQ(p.transforms[j].attrs.size(), q.transforms[j].attrs.size());
      for (size_t k = 0; k < p.transforms[j].attrs.size(); ++k) {
        EXPECT_EQ(p.transforms[j].attrs[k].type, q.transforms[j].attrs[k].type);
        EXPECT_EQ(p.transforms[j].attrs[k].basic, q.transforms[j].attrs[k].basic);
        EXPECT_EQ(p.transforms[j].attrs[k].value, q.transforms[j].attrs[k].value);
      }
    }
  }
}

// A message with one payload of every type.
std::vector<Payload> EveryPayload() {
  IdPayload id{IdType::kIpv4Addr, 17, 500, {192, 168, 1, 1}};
  NotifyPayload n;
  n.type = static_cast<uint16_t>(NotifyType::kInitialContact);
  n.spi = Bytes(16, 0xab);
  DeletePayload d;
  d.protocol = ProtocolId::kEsp;
  d.spi_size = 4;
  d.spis = {{1, 2, 3, 4}, {5, 6, 7, 8}};
  AttrPayload a;
  a.type = CfgType::kReply;
  a.identifier = 7;
  a.attrs = {Attribute::Basic(static_cast<uint16_t>(CfgAttr::kXauthType), 0),
             Attribute::Variable(static_cast<uint16_t>(CfgAttr::kXauthUserName),
                                 {'u', 's', 'e', 'r'})};
  return {
      {PayloadType::kSa, BuildSa(SeedSa())},
      {PayloadType::kKe, Bytes(128, 0x11)},
      {PayloadType::kId, BuildId(id)},
      {PayloadType::kCert, FromHex("04308201")},
      {PayloadType::kCertReq, FromHex("04")},
      {PayloadType::kHash, Bytes(20, 0x22)},
      {PayloadType::kSig, Bytes(128, 0x33)},
      {PayloadType::kNonce, Bytes(16, 0x44)},
      {PayloadType::kNotify, BuildNotify(n)},
      {PayloadType::kDelete, BuildDelete(d)},
      {PayloadType::kVendorId, Bytes(kVidRfc3947, kVidRfc3947 + 16)},
      {PayloadType::kAttr, BuildAttr(a)},
      {PayloadType::kNatD, Bytes(20, 0x55)},
      {PayloadType::kNatOa, FromHex("01000000c0a80102")},
      {PayloadType::kNatDDraft, Bytes(16, 0x66)},
      {PayloadType::kNatOaDraft, FromHex("01000000c0a80103")},
  };
}

Header MainModeHeader() {
  Header h;
  h.icookie = 0x5052045c2e566b81ull;
  h.exchange = ExchangeType::kIdProt;
  return h;
}

// ---------------------------------------------------------------- round trips

TEST(CodecRoundTrip, SeedSaBytes) {
  const Bytes b = BuildSa(SeedSa());
  // 8 (DOI, situation) + 8 (proposal) + 8 (transform) + 5 basic + one 4-byte TLV = 52.
  EXPECT_EQ(b.size(), 52u);
  EXPECT_EQ(ToHex(b),
            "00000001000000010000002c01010001000000240101000080010001800200028003000180040001"
            "800b0001000c000400015180");
  auto sa = ParseSa(b);
  ASSERT_TRUE(sa.ok()) << sa.status();
  ExpectSameSa(*sa, SeedSa());
}

TEST(CodecRoundTrip, PhaseTwoSa) {
  const SaPayload in = PhaseTwoSa();
  const Bytes b = BuildSa(in);
  auto sa = ParseSa(b);
  ASSERT_TRUE(sa.ok()) << sa.status();
  ExpectSameSa(*sa, in);
  EXPECT_EQ(BuildSa(*sa), b);
  const Attribute* kl = sa->proposals[0].transforms[0].Find(
      static_cast<uint16_t>(P2Attr::kKeyLength));
  ASSERT_NE(kl, nullptr);
  EXPECT_EQ(kl->AsInt(), 256u);
  EXPECT_EQ(sa->proposals[0].transforms[0].Find(99), nullptr);
}

TEST(CodecRoundTrip, IdEveryType) {
  const std::vector<IdPayload> ids = {
      {IdType::kIpv4Addr, 17, 500, {10, 0, 0, 1}},
      {IdType::kFqdn, 0, 0, {'g', 'w', '.', 'e', 'x'}},
      {IdType::kUserFqdn, 0, 0, {'a', '@', 'b'}},
      {IdType::kIpv4Subnet, 6, 80, {10, 1, 0, 0, 255, 255, 0, 0}},
      {IdType::kIpv6Addr, 0, 0, Bytes(16, 0x20)},
      {IdType::kIpv6Subnet, 0, 0, Bytes(32, 0xff)},
      {IdType::kIpv4Range, 0, 0, {10, 0, 0, 1, 10, 0, 0, 9}},
      {IdType::kIpv6Range, 0, 0, Bytes(32, 0x01)},
      {IdType::kDerAsn1Dn, 0, 0, {0x30, 0x00}},
      {IdType::kDerAsn1Gn, 0, 0, {0x30, 0x00}},
      {IdType::kKeyId, 0, 0, {'k'}},
  };
  for (const IdPayload& in : ids) {
    const Bytes b = BuildId(in);
    auto out = ParseId(b);
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(out->type, in.type);
    EXPECT_EQ(out->protocol, in.protocol);
    EXPECT_EQ(out->port, in.port);
    EXPECT_EQ(out->data, in.data);
    EXPECT_EQ(BuildId(*out), b);
  }
}

TEST(CodecRoundTrip, NotifyDeleteAttr) {
  NotifyPayload n;
  n.protocol = ProtocolId::kIsakmp;
  n.type = static_cast<uint16_t>(NotifyType::kDpdRUThere);
  n.spi = Bytes(16, 0x5a);
  n.data = {0, 0, 0, 9};
  const Bytes nb = BuildNotify(n);
  auto n2 = ParseNotify(nb);
  ASSERT_TRUE(n2.ok()) << n2.status();
  EXPECT_EQ(n2->type, n.type);
  EXPECT_EQ(n2->spi, n.spi);
  EXPECT_EQ(n2->data, n.data);
  EXPECT_EQ(BuildNotify(*n2), nb);

  DeletePayload d;
  d.spis = {Bytes(16, 1)};
  const Bytes db = BuildDelete(d);
  auto d2 = ParseDelete(db);
  ASSERT_TRUE(d2.ok()) << d2.status();
  EXPECT_EQ(d2->spis, d.spis);
  EXPECT_EQ(BuildDelete(*d2), db);

  AttrPayload a;
  a.type = CfgType::kSet;
  a.identifier = 0xbeef;
  a.attrs = {Attribute::Basic(static_cast<uint16_t>(CfgAttr::kXauthStatus), 1),
             Attribute::Variable(static_cast<uint16_t>(CfgAttr::kXauthMessage), {}),
             Attribute::Variable(static_cast<uint16_t>(CfgAttr::kInternalIp4Address),
                                 {10, 9, 8, 7})};
  const Bytes ab = BuildAttr(a);
  auto a2 = ParseAttr(ab);
  ASSERT_TRUE(a2.ok()) << a2.status();
  EXPECT_EQ(a2->type, a.type);
  EXPECT_EQ(a2->identifier, a.identifier);
  ASSERT_EQ(a2->attrs.size(), 3u);
  EXPECT_FALSE(a2->attrs[1].basic);
  EXPECT_TRUE(a2->attrs[1].value.empty());
  EXPECT_EQ(BuildAttr(*a2), ab);
}

TEST(CodecRoundTrip, AttributeValues) {
  EXPECT_EQ(Attribute::Basic(1, 0xabcd).AsInt(), 0xabcdu);
  EXPECT_EQ(Attribute::Variable(1, {}).AsInt(), 0u);
  EXPECT_EQ(Attribute::Variable(1, Bytes(8, 0xff)).AsInt(), ~0ull);
  EXPECT_EQ(Attribute::Variable(1, Bytes(9, 0)).AsInt(), std::nullopt);
  Bytes out;
  AppendAttributes({Attribute::Basic(14, 128), Attribute::Variable(12, {1, 2, 3})}, out);
  EXPECT_EQ(ToHex(out), "800e0080000c0003010203");
  auto back = ParseAttributes(out);
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[1].value, (Bytes{1, 2, 3}));
}

TEST(CodecRoundTrip, WholeMessageEveryPayload) {
  const std::vector<Payload> payloads = EveryPayload();
  Header h = MainModeHeader();
  h.rcookie = 0x0102030405060708ull;
  h.message_id = 0xdeadbeef;
  h.flags = kFlagCommit;
  const Bytes m = BuildMessage(h, payloads);
  auto msg = ParseMessage(m);
  ASSERT_TRUE(msg.ok()) << msg.status();
  EXPECT_EQ(msg->header.icookie, h.icookie);
  EXPECT_EQ(msg->header.rcookie, h.rcookie);
  EXPECT_EQ(msg->header.message_id, h.message_id);
  EXPECT_EQ(msg->header.flags, kFlagCommit);
  EXPECT_EQ(msg->header.exchange, ExchangeType::kIdProt);
  EXPECT_EQ(msg->header.next, PayloadType::kSa);
  EXPECT_EQ(msg->header.length, m.size());
  ASSERT_EQ(msg->payloads.size(), payloads.size());
  for (size_t i = 0; i < payloads.size(); ++i) {
    EXPECT_EQ(msg->payloads[i].type, payloads[i].type) << i;
    EXPECT_EQ(msg->payloads[i].body, payloads[i].body) << i;
  }
  EXPECT_EQ(BuildMessage(msg->header, msg->payloads), m);
  EXPECT_NE(msg->Find(PayloadType::kNatD), nullptr);
  EXPECT_EQ(msg->Find(PayloadType::kNone), nullptr);
  EXPECT_EQ(msg->FindAll(PayloadType::kKe).size(), 1u);
  // Typed bodies parse again.
  EXPECT_TRUE(ParseSa(msg->Find(PayloadType::kSa)->body).ok());
  EXPECT_TRUE(ParseId(msg->Find(PayloadType::kId)->body).ok());
  EXPECT_TRUE(ParseNotify(msg->Find(PayloadType::kNotify)->body).ok());
  EXPECT_TRUE(ParseDelete(msg->Find(PayloadType::kDelete)->body).ok());
  EXPECT_TRUE(ParseAttr(msg->Find(PayloadType::kAttr)->body).ok());
}

TEST(CodecRoundTrip, EmptyChainAndHeaderOnly) {
  Header h = MainModeHeader();
  const Bytes m = BuildMessage(h, {});
  EXPECT_EQ(m.size(), kHeaderLen);
  auto msg = ParseMessage(m);
  ASSERT_TRUE(msg.ok()) << msg.status();
  EXPECT_TRUE(msg->payloads.empty());
  auto hh = ParseHeader(m);
  ASSERT_TRUE(hh.ok());
  Bytes again;
  AppendHeader(*hh, again);
  EXPECT_EQ(again, m);
}

TEST(CodecRoundTrip, ChainIgnoresPaddingAfterLastPayload) {
  const std::vector<Payload> p = {{PayloadType::kHash, Bytes(20, 1)},
                                  {PayloadType::kNonce, Bytes(16, 2)}};
  Bytes area = BuildChain(p);
  area.insert(area.end(), {0, 0, 0, 0, 0, 0, 0, 7});  // CBC padding
  auto out = ParseChain(PayloadType::kHash, area);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ((*out)[1].body, Bytes(16, 2));
}

// ---------------------------------------------------------------- rejections

void ExpectRejected(const absl::Status& s, NotifyType n, const std::string& field) {
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_EQ(NotifyFor(s), n) << s;
  EXPECT_NE(s.message().find(field), std::string::npos) << s;
  EXPECT_NE(s.message().find("offset"), std::string::npos) << s;
}

TEST(CodecReject, EveryTruncationOfAMessage) {
  const Bytes m = BuildMessage(MainModeHeader(), EveryPayload());
  for (size_t n = 0; n < m.size(); ++n) {
    EXPECT_FALSE(ParseMessage(ByteSpan(m.data(), n)).ok()) << n;
  }
  // The same with the header length patched to each truncated size: the chain breaks.
  for (size_t n = kHeaderLen; n < m.size(); ++n) {
    Bytes t(m.begin(), m.begin() + n);
    t[24] = static_cast<uint8_t>(n >> 24);
    t[25] = static_cast<uint8_t>(n >> 16);
    t[26] = static_cast<uint8_t>(n >> 8);
    t[27] = static_cast<uint8_t>(n);
    EXPECT_FALSE(ParseMessage(t).ok()) << n;
  }
  const Bytes area(m.begin() + kHeaderLen, m.end());
  for (size_t n = 0; n < area.size(); ++n) {
    EXPECT_FALSE(ParseChain(PayloadType::kSa, ByteSpan(area.data(), n)).ok()) << n;
  }
}

TEST(CodecReject, EveryTruncationOfTypedBodies) {
  const Bytes sa = BuildSa(PhaseTwoSa());
  for (size_t n = 0; n < sa.size(); ++n) {
    EXPECT_FALSE(ParseSa(ByteSpan(sa.data(), n)).ok()) << n;
  }
  DeletePayload d;
  d.protocol = ProtocolId::kAh;
  d.spi_size = 4;
  d.spis = {{1, 2, 3, 4}, {5, 6, 7, 8}};
  const Bytes db = BuildDelete(d);
  for (size_t n = 0; n < db.size(); ++n) {
    EXPECT_FALSE(ParseDelete(ByteSpan(db.data(), n)).ok()) << n;
  }
  NotifyPayload nt;
  nt.spi = Bytes(16, 1);
  const Bytes nb = BuildNotify(nt);
  for (size_t n = 0; n < nb.size(); ++n) {
    EXPECT_FALSE(ParseNotify(ByteSpan(nb.data(), n)).ok()) << n;
  }
  const Bytes id = BuildId({IdType::kIpv6Subnet, 0, 0, Bytes(32, 1)});
  for (size_t n = 0; n < id.size(); ++n) {
    EXPECT_FALSE(ParseId(ByteSpan(id.data(), n)).ok()) << n;
  }
  AttrPayload a;
  a.attrs = {Attribute::Variable(static_cast<uint16_t>(CfgAttr::kXauthUserName), {'a', 'b'}),
             Attribute::Basic(static_cast<uint16_t>(CfgAttr::kXauthType), 0)};
  const Bytes ab = BuildAttr(a);
  for (size_t n = 0; n < ab.size(); ++n) {
    if (n == 4 || n == 10) continue;  // attribute boundaries: a shorter, valid payload
    EXPECT_FALSE(ParseAttr(ByteSpan(ab.data(), n)).ok()) << n;
  }
}

TEST(CodecReject, HeaderFields) {
  const Bytes good = BuildMessage(MainModeHeader(), {{PayloadType::kNonce, Bytes(16, 1)}});
  Bytes m = good;
  m[17] = 0x20;  // IKEv2
  ExpectRejected(ParseMessage(m).status(), NotifyType::kInvalidMajorVersion, "major version");
  ExpectRejected(ParseHeader(m).status(), NotifyType::kInvalidMajorVersion, "offset 17");
  m[17] = 0x00;
  ExpectRejected(ParseMessage(m).status(), NotifyType::kInvalidMajorVersion, "major version");
  m = good;
  m[17] = 0x11;
  ExpectRejected(ParseMessage(m).status(), NotifyType::kInvalidMinorVersion, "minor version");
  m = good;
  m[19] = 0x08;
  ExpectRejected(ParseMessage(m).status(), NotifyType::kInvalidFlags, "flags");
  m = good;
  m[19] = kFlagEncryption;
  ExpectRejected(ParseMessage(m).status(), NotifyType::kInvalidFlags, "encryption");
  EXPECT_TRUE(ParseHeader(m).ok());  // the header alone is fine: the caller decrypts
  m = good;
  m[27] = static_cast<uint8_t>(good.size() + 1);  // length exceeds the datagram
  ExpectRejected(ParseHeader(m).status(), NotifyType::kUnequalPayloadLengths, "length");
  m[27] = static_cast<uint8_t>(good.size() - 1);  // length shorter than the datagram
  EXPECT_TRUE(ParseHeader(m).ok());
  ExpectRejected(ParseMessage(m).status(), NotifyType::kUnequalPayloadLengths, "length");
  m[27] = 27;
  ExpectRejected(ParseHeader(m).status(), NotifyType::kUnequalPayloadLengths, "length");
  m = good;
  m[24] = 0x80;
  ExpectRejected(ParseMessage(m).status(), NotifyType::kUnequalPayloadLengths, "offset 24");
  ExpectRejected(ParseHeader(ByteSpan(good.data(), 27)).status(),
                 NotifyType::kPayloadMalformed, "header");
}

TEST(CodecReject, ChainFields) {
  const Bytes good = BuildMessage(MainModeHeader(), {{PayloadType::kNonce, Bytes(16, 1)},
                                                     {PayloadType::kHash, Bytes(20, 2)}});
  // Offsets: header 0..27, NONCE generic header 28..31, HASH generic header 48..51.
  Bytes m = good;
  m[28] = 15;  // unknown next payload
  ExpectRejected(ParseMessage(m).status(), NotifyType::kInvalidPayloadType, "offset 48");
  for (uint8_t bad : {2, 3, 15, 19, 22, 127, 128, 129, 132, 255}) {
    m = good;
    m[16] = bad;  // first payload type in the header
    ExpectRejected(ParseMessage(m).status(), NotifyType::kInvalidPayloadType, "payload type");
  }
  for (uint8_t ok : {130, 131}) {
    m = good;
    m[16] = ok;  // the NAT-T draft types are known
    EXPECT_TRUE(ParseMessage(m).ok()) << static_cast<int>(ok);
  }
  m = good;
  m[29] = 1;  // RESERVED
  ExpectRejected(ParseMessage(m).status(), NotifyType::kPayloadMalformed, "RESERVED");
  m = good;
  m[31] = 3;  // payload length < 4
  ExpectRejected(ParseMessage(m).status(), NotifyType::kPayloadMalformed, "offset 30");
  m = good;
  m[31] = 21;  // NONCE longer by one: HASH header misaligned, its length runs past the end
  EXPECT_FALSE(ParseMessage(m).ok());
  m = good;
  m[51] = 25;  // last payload runs past the end
  ExpectRejected(ParseMessage(m).status(), NotifyType::kPayloadMalformed, "payload length");
  m = good;
  m[48] = 0;   // NONCE chain ends early; HASH bytes are left over
  m[28] = 0;
  ExpectRejected(ParseMessage(m).status(), NotifyType::kUnequalPayloadLengths,
                 "payload lengths");
  m = good;
  m.push_back(0);  // trailing byte, header length updated
  m[27] = static_cast<uint8_t>(m.size());
  ExpectRejected(ParseMessage(m).status(), NotifyType::kUnequalPayloadLengths, "follow");
}

// The phase 2 SA body: 0 DOI, 4 situation, 8 proposal 1 (ESP, SPI at 16, transform 1 at
// 20, its attributes at 28).
class SaReject : public ::testing::Test {
 protected:
  void SetUp() override { good_ = BuildSa(PhaseTwoSa()); }
  absl::Status Parse(const Bytes& b) { return ParseSa(b).status(); }
  Bytes good_;
};

TEST_F(SaReject, DoiAndSituation) {
  Bytes b = good_;
  b[3] = 2;
  ExpectRejected(Parse(b), NotifyType::kDoiNotSupported, "DOI");
  b = good_;
  b[7] = 3;  // SIT_IDENTITY_ONLY | SIT_SECRECY
  ExpectRejected(Parse(b), NotifyType::kSituationNotSupported, "situation");
  ExpectRejected(ParseSa(ByteSpan(good_.data(), 8)).status(), NotifyType::kBadProposalSyntax,
                 "proposals");
}

TEST_F(SaReject, ProposalFields) {
  Bytes b = good_;
  b[8] = 3;  // proposal's next payload must be 2 or 0
  ExpectRejected(Parse(b), NotifyType::kBadProposalSyntax, "next payload");
  b = good_;
  b[8] = 0;  // says last, but more proposals follow
  ExpectRejected(Parse(b), NotifyType::kBadProposalSyntax, "next payload");
  b = good_;
  b[9] = 1;
  ExpectRejected(Parse(b), NotifyType::kBadProposalSyntax, "RESERVED");
  b = good_;
  b[11] = 7;  // proposal length < 8
  ExpectRejected(Parse(b), NotifyType::kBadProposalSyntax, "proposal length");
  b = good_;
  b[10] = 0x10;  // proposal length past the SA payload
  ExpectRejected(Parse(b), NotifyType::kBadProposalSyntax, "offset 10");
  b = good_;
  b[13] = 9;
  ExpectRejected(Parse(b), NotifyType::kInvalidProtocolId, "protocol id");
  b = good_;
  b[14] = 3;  // ESP SPI must be 4 bytes
  ExpectRejected(Parse(b), NotifyType::kInvalidSpi, "SPI size");
  b = good_;
  b[14] = 250;  // SPI larger than the proposal
  ExpectRejected(Parse(b), NotifyType::kBadProposalSyntax, "SPI size");
  b = good_;
  b[15] = 0;
  ExpectRejected(Parse(b), NotifyType::kBadProposalSyntax, "number of transforms");
  b = good_;
  b[15] = 3;  // more transforms announced than present
  EXPECT_EQ(NotifyFor(Parse(b)), NotifyType::kBadProposalSyntax);
  b = good_;
  b[15] = 1;  // fewer: the first transform says another follows
  ExpectRejected(Parse(b), NotifyType::kBadProposalSyntax, "next payload");
  // The last proposal announces another one.
  b = good_;
  const size_t last = b.size() - (8 + 4 + 8 + 8);  // AH proposal: header, SPI, transform, 2 attrs
  ASSERT_EQ(b[last + 5], static_cast<uint8_t>(ProtocolId::kAh));
  b[last] = 2;
  ExpectRejected(Parse(b), NotifyType::kBadProposalSyntax, "after the end");
  // Bytes after the last proposal.
  b = good_;
  b.push_back(0);
  ExpectRejected(Parse(b), NotifyType::kBadProposalSyntax, "leaves");
  // Phase 1 SPI must be 0 or 16 bytes.
  Bytes p1 = BuildSa(SeedSa());
  p1[14] = 4;
  ExpectRejected(Parse(p1), NotifyType::kInvalidSpi, "SPI size");
}

TEST_F(SaReject, TransformFields) {
  Bytes b = good_;
  b[20] = 2;  // transform's next payload must be 3 (more) or 0 (last)
  ExpectRejected(Parse(b), NotifyType::kBadProposalSyntax, "next payload");
  b = good_;
  b[20] = 0;  // first of two says last
  ExpectRejected(Parse(b), NotifyType::kBadProposalSyntax, "next payload");
  b = good_;
  b[21] = 1;
  ExpectRejected(Parse(b), NotifyType::kBadProposalSyntax, "RESERVED");
  b = good_;
  b[23] = 4;  // transform length < 8
  ExpectRejected(Parse(b), NotifyType::kBadProposalSyntax, "transform length");
  b = good_;
  b[22] = 1;  // transform length past the proposal
  ExpectRejected(Parse(b), NotifyType::kBadProposalSyntax, "transform length");
  b = good_;
  b[27] = 1;  // RESERVED2
  ExpectRejected(Parse(b), NotifyType::kBadProposalSyntax, "RESERVED2");
  // The fourth attribute (offset 28 + 12) is the TLV life duration: overrun its length.
  b = good_;
  ASSERT_EQ(b[40], 0x00);
  ASSERT_EQ(b[41], static_cast<uint8_t>(P2Attr::kLifeDuration));
  b[43] = 200;
  ExpectRejected(Parse(b), NotifyType::kBadProposalSyntax, "attributes");
  // A transform shorter by 2 bytes cuts an attribute in half.
  b = good_;
  b[23] -= 2;
  EXPECT_FALSE(ParseSa(b).ok());
  // Every single-byte corruption either fails or round-trips exactly.
  for (size_t i = 0; i < good_.size(); ++i) {
    for (uint8_t v : {0x00, 0x01, 0x02, 0x03, 0x7f, 0x80, 0xff}) {
      Bytes c = good_;
      c[i] = v;
      auto sa = ParseSa(c);
      if (sa.ok()) {
        EXPECT_EQ(BuildSa(*sa), c) << i;
      }
    }
  }
}

TEST(CodecReject, AttributeOverrun) {
  ExpectRejected(ParseAttributes(FromHex("000c0005010203")).status(),
                 NotifyType::kPayloadMalformed, "attribute 12 length");
  ExpectRejected(ParseAttributes(FromHex("8001")).status(), NotifyType::kPayloadMalformed,
                 "attribute header");
  EXPECT_TRUE(ParseAttributes({}).ok());
}

TEST(CodecReject, IdNotifyDeleteAttr) {
  ExpectRejected(ParseId(FromHex("01000000c0a801")).status(), NotifyType::kInvalidIdInformation,
                 "identification data");
  ExpectRejected(ParseId(FromHex("0c0000000000")).status(), NotifyType::kInvalidIdInformation,
                 "ID type");
  ExpectRejected(ParseId(FromHex("02000000")).status(), NotifyType::kInvalidIdInformation,
                 "non-empty");
  ExpectRejected(ParseId(FromHex("0100")).status(), NotifyType::kPayloadMalformed, "ID header");

  ExpectRejected(ParseNotify(FromHex("00000001011000180000")).status(),
                 NotifyType::kPayloadMalformed, "SPI size");
  ExpectRejected(ParseNotify(FromHex("00000002010000180000")).status(),
                 NotifyType::kDoiNotSupported, "DOI");
  ExpectRejected(ParseNotify(FromHex("00000001090000180000")).status(),
                 NotifyType::kInvalidProtocolId, "protocol id");
  EXPECT_TRUE(ParseNotify(FromHex("00000000000000180000")).ok());  // DOI 0, protocol 0

  ExpectRejected(ParseDelete(FromHex("0000000103040002c0ffee01")).status(),
                 NotifyType::kPayloadMalformed, "number of SPIs");
  ExpectRejected(ParseDelete(FromHex("0000000103040000")).status(),
                 NotifyType::kPayloadMalformed, "number of SPIs");
  ExpectRejected(ParseDelete(FromHex("0000000103030001c0ffee")).status(),
                 NotifyType::kInvalidSpi, "SPI size");
  ExpectRejected(ParseDelete(FromHex("0000000101040001c0ffee01")).status(),
                 NotifyType::kInvalidSpi, "SPI size");
  ExpectRejected(ParseDelete(FromHex("0000000100040001c0ffee01")).status(),
                 NotifyType::kInvalidProtocolId, "protocol id");
  ExpectRejected(ParseDelete(FromHex("0000000503040001c0ffee01")).status(),
                 NotifyType::kDoiNotSupported, "DOI");

  ExpectRejected(ParseAttr(FromHex("05000000")).status(), NotifyType::kPayloadMalformed, "type");
  ExpectRejected(ParseAttr(FromHex("01010000")).status(), NotifyType::kPayloadMalformed,
                 "RESERVED");
  ExpectRejected(ParseAttr(FromHex("01000000408a0010")).status(),
                 NotifyType::kPayloadMalformed, "attributes");
}

TEST(CodecNotifyFor, DefaultsToPayloadMalformed) {
  EXPECT_EQ(NotifyFor(absl::OkStatus()), NotifyType::kPayloadMalformed);
  EXPECT_EQ(NotifyFor(absl::InvalidArgumentError("x")), NotifyType::kPayloadMalformed);
}

}  // namespace
}  // namespace arsec::ike
