// The codec against messages other implementations made:
//  - scapy (codec_vectors.inc, make_codec_vectors.py): our parser must read the same
//    header fields and the same per-payload summary as scapy's dissector, and rebuild the
//    bytes exactly;
//  - strongSwan 5.9.8 (codec_strongswan.inc, data/strongswan/): Main Mode 1-4 and
//    Aggressive Mode 1-2 between two charon peers; every payload is checked against what
//    the peers were configured with, and BuildMessage(ParseMessage(x)) == x.
// Every message is also mutated byte by byte: a mutant either fails to parse or
// round-trips exactly (no crash, no silent normalisation).
#include <string>
#include <vector>

#include "control/ike/isakmp_codec.h"
#include "control/ike/isakmp_dump.h"
#include "gtest/gtest.h"
#include "tests/unit/ike/codec_test_util.h"

namespace arsec::ike {
namespace {

using testing::FromHex;
using testing::Summary;
using testing::ToHex;

struct ScapyVector {
  const char* name;
  const char* hex;
  const char* icookie;
  const char* rcookie;
  int exchange;
  int version;
  uint32_t message_id;
  uint32_t length;
  std::vector<std::string> payloads;
};

const ScapyVector kScapy[] = {
#include "tests/unit/ike/codec_vectors.inc"
};

struct Capture {
  const char* name;
  const char* hex;
};

const Capture kStrongswan[] = {
#include "tests/unit/ike/codec_strongswan.inc"
};

Message MustParse(const Bytes& b) {
  auto m = ParseMessage(b);
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *std::move(m) : Message{};
}

// Every single-byte mutation of `b` fails or round-trips; typed parsers never crash.
void MutationsFailOrRoundTrip(const Bytes& b) {
  for (size_t i = 0; i < b.size(); ++i) {
    for (uint8_t delta : {0x01, 0x80, 0xff}) {
      Bytes c = b;
      c[i] = static_cast<uint8_t>(c[i] + delta);
      auto m = ParseMessage(c);
      if (!m.ok()) continue;
      ASSERT_EQ(BuildMessage(m->header, m->payloads), c) << "byte " << i;
      for (const Payload& p : m->payloads) {
        if (p.type == PayloadType::kSa) {
          auto sa = ParseSa(p.body);
          if (sa.ok()) {
            ASSERT_EQ(BuildSa(*sa), p.body) << "byte " << i;
          }
        }
      }
      (void)DumpMessage(m->header, m->payloads, false);
    }
  }
}

TEST(CodecScapy, SameFieldsAsScapy) {
  ASSERT_GE(std::size(kScapy), 8u);
  for (const ScapyVector& v : kScapy) {
    SCOPED_TRACE(v.name);
    const Bytes b = FromHex(v.hex);
    const Message m = MustParse(b);
    EXPECT_EQ(absl::StrFormat("%016x", m.header.icookie), v.icookie);
    EXPECT_EQ(absl::StrFormat("%016x", m.header.rcookie), v.rcookie);
    EXPECT_EQ(static_cast<int>(m.header.exchange), v.exchange);
    EXPECT_EQ(m.header.version, v.version);
    EXPECT_EQ(m.header.message_id, v.message_id);
    EXPECT_EQ(m.header.length, v.length);
    ASSERT_EQ(m.payloads.size(), v.payloads.size());
    for (size_t i = 0; i < v.payloads.size(); ++i) {
      EXPECT_EQ(Summary(m.payloads[i]), v.payloads[i]) << "payload " << i;
    }
    EXPECT_EQ(BuildMessage(m.header, m.payloads), b);
  }
}

TEST(CodecScapy, TypedPayloadsScapyHasNoClassFor) {
  for (const ScapyVector& v : kScapy) {
    SCOPED_TRACE(v.name);
    const Message m = MustParse(FromHex(v.hex));
    for (const Payload& p : m.payloads) {
      switch (p.type) {
        case PayloadType::kNotify: {
          auto n = ParseNotify(p.body);
          ASSERT_TRUE(n.ok()) << n.status();
          EXPECT_EQ(BuildNotify(*n), p.body);
          EXPECT_EQ(n->spi.size(), 16u);
          break;
        }
        case PayloadType::kDelete: {
          auto d = ParseDelete(p.body);
          ASSERT_TRUE(d.ok()) << d.status();
          EXPECT_EQ(d->protocol, ProtocolId::kEsp);
          ASSERT_EQ(d->spis.size(), 2u);
          EXPECT_EQ(ToHex(d->spis[1]), "deadbeef");
          break;
        }
        case PayloadType::kAttr: {
          auto a = ParseAttr(p.body);
          ASSERT_TRUE(a.ok()) << a.status();
          EXPECT_EQ(a->type, CfgType::kReply);
          EXPECT_EQ(a->identifier, 0x4242);
          ASSERT_EQ(a->attrs.size(), 3u);
          EXPECT_EQ(a->attrs[2].type, static_cast<uint16_t>(CfgAttr::kXauthUserPassword));
          EXPECT_EQ(BuildAttr(*a), p.body);
          break;
        }
        default: break;
      }
    }
  }
}

TEST(CodecScapy, MutationsFailOrRoundTrip) {
  for (const ScapyVector& v : kScapy) {
    SCOPED_TRACE(v.name);
    MutationsFailOrRoundTrip(FromHex(v.hex));
  }
}

// ---------------------------------------------------------------- strongSwan

const Capture& Find(const std::string& name) {
  for (const Capture& c : kStrongswan) {
    if (name == c.name) return c;
  }
  ADD_FAILURE() << name;
  return kStrongswan[0];
}

std::vector<std::string> VidNames(const Message& m) {
  std::vector<std::string> out;
  for (const Payload* p : m.FindAll(PayloadType::kVendorId)) out.push_back(VendorIdName(p->body));
  return out;
}

TEST(CodecStrongswan, EveryCaptureRoundTripsByteForByte) {
  ASSERT_EQ(std::size(kStrongswan), 6u);
  for (const Capture& c : kStrongswan) {
    SCOPED_TRACE(c.name);
    const Bytes b = FromHex(c.hex);
    const Message m = MustParse(b);
    EXPECT_EQ(BuildMessage(m.header, m.payloads), b);
    for (const Payload& p : m.payloads) {
      if (p.type == PayloadType::kSa) {
        auto sa = ParseSa(p.body);
        ASSERT_TRUE(sa.ok()) << sa.status();
        EXPECT_EQ(BuildSa(*sa), p.body);
      }
      if (p.type == PayloadType::kId) {
        auto id = ParseId(p.body);
        ASSERT_TRUE(id.ok()) << id.status();
        EXPECT_EQ(BuildId(*id), p.body);
      }
    }
  }
}

TEST(CodecStrongswan, MainModeMessage1) {
  const Message m = MustParse(FromHex(Find("main1").hex));
  EXPECT_EQ(m.header.exchange, ExchangeType::kIdProt);
  EXPECT_EQ(m.header.rcookie, 0u);
  ASSERT_FALSE(m.payloads.empty());
  ASSERT_EQ(m.payloads[0].type, PayloadType::kSa);
  auto sa = ParseSa(m.payloads[0].body);
  ASSERT_TRUE(sa.ok()) << sa.status();
  ASSERT_EQ(sa->proposals.size(), 1u);
  const Proposal& p = sa->proposals[0];
  EXPECT_EQ(p.protocol, ProtocolId::kIsakmp);
  EXPECT_TRUE(p.spi.empty());
  // --ike-proposal aes128-sha1-modp1024,3des-md5-modp768
  ASSERT_EQ(p.transforms.size(), 2u);
  const Transform& t1 = p.transforms[0];
  const Transform& t2 = p.transforms[1];
  EXPECT_EQ(t1.id, kKeyIke);
  auto val = [](const Transform& t, P1Attr a) {
    const Attribute* at = t.Find(static_cast<uint16_t>(a));
    return at != nullptr ? at->AsInt().value_or(0) : 0;
  };
  EXPECT_EQ(val(t1, P1Attr::kEncryption), static_cast<uint64_t>(P1Encryption::kAes));
  EXPECT_EQ(val(t1, P1Attr::kKeyLength), 128u);
  EXPECT_EQ(val(t1, P1Attr::kHash), static_cast<uint64_t>(P1Hash::kSha));
  EXPECT_EQ(val(t1, P1Attr::kAuthMethod), static_cast<uint64_t>(AuthMethod::kPsk));
  EXPECT_EQ(val(t1, P1Attr::kGroupDesc), 2u);
  EXPECT_EQ(val(t1, P1Attr::kLifeType), static_cast<uint64_t>(LifeType::kSeconds));
  EXPECT_GT(val(t1, P1Attr::kLifeDuration), 0u);
  EXPECT_EQ(val(t2, P1Attr::kEncryption), static_cast<uint64_t>(P1Encryption::k3Des));
  EXPECT_EQ(val(t2, P1Attr::kHash), static_cast<uint64_t>(P1Hash::kMd5));
  EXPECT_EQ(val(t2, P1Attr::kGroupDesc), 1u);
  EXPECT_EQ(VidNames(m), (std::vector<std::string>{"XAUTH", "DPD (RFC 3706)", "FRAGMENTATION",
                                                   "RFC 3947 NAT-T",
                                                   "NAT-T draft-ietf-ipsec-nat-t-ike-02\\n"}));
}

TEST(CodecStrongswan, MainModeMessage2ChoosesOneTransform) {
  const Message m1 = MustParse(FromHex(Find("main1").hex));
  const Message m = MustParse(FromHex(Find("main2").hex));
  EXPECT_EQ(m.header.icookie, m1.header.icookie);
  EXPECT_NE(m.header.rcookie, 0u);
  auto sa = ParseSa(m.Find(PayloadType::kSa)->body);
  ASSERT_TRUE(sa.ok()) << sa.status();
  ASSERT_EQ(sa->proposals.size(), 1u);
  ASSERT_EQ(sa->proposals[0].transforms.size(), 1u);
  EXPECT_EQ(sa->proposals[0].transforms[0].Find(static_cast<uint16_t>(P1Attr::kEncryption))
                ->AsInt(),
            static_cast<uint64_t>(P1Encryption::kAes));
  EXPECT_EQ(VidNames(m).size(), 4u);
}

TEST(CodecStrongswan, MainModeMessages3And4) {
  for (const char* name : {"main3", "main4"}) {
    SCOPED_TRACE(name);
    const Message m = MustParse(FromHex(Find(name).hex));
    ASSERT_EQ(m.payloads.size(), 4u);
    EXPECT_EQ(m.payloads[0].type, PayloadType::kKe);
    EXPECT_EQ(m.payloads[0].body.size(), 128u);  // MODP-1024
    EXPECT_EQ(m.payloads[1].type, PayloadType::kNonce);
    EXPECT_EQ(m.payloads[1].body.size(), 32u);
    const auto natd = m.FindAll(PayloadType::kNatD);
    ASSERT_EQ(natd.size(), 2u);
    EXPECT_EQ(natd[0]->body.size(), 20u);  // SHA-1, the negotiated hash
    EXPECT_NE(natd[0]->body, natd[1]->body);
  }
}

TEST(CodecStrongswan, AggressiveMode) {
  const Message m1 = MustParse(FromHex(Find("aggr1").hex));
  EXPECT_EQ(m1.header.exchange, ExchangeType::kAggressive);
  auto sa = ParseSa(m1.Find(PayloadType::kSa)->body);
  ASSERT_TRUE(sa.ok()) << sa.status();
  const Transform& t = sa->proposals.at(0).transforms.at(0);
  EXPECT_EQ(t.Find(static_cast<uint16_t>(P1Attr::kKeyLength))->AsInt(), 256u);
  EXPECT_EQ(t.Find(static_cast<uint16_t>(P1Attr::kHash))->AsInt(),
            static_cast<uint64_t>(P1Hash::kSha256));
  EXPECT_EQ(t.Find(static_cast<uint16_t>(P1Attr::kGroupDesc))->AsInt(), 14u);
  EXPECT_EQ(m1.Find(PayloadType::kKe)->body.size(), 256u);  // MODP-2048
  auto id = ParseId(m1.Find(PayloadType::kId)->body);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->type, IdType::kFqdn);
  EXPECT_EQ(std::string(id->data.begin(), id->data.end()), "left.example.test");
  EXPECT_EQ(VidNames(m1).size(), 5u);

  const Message m2 = MustParse(FromHex(Find("aggr2").hex));
  auto id2 = ParseId(m2.Find(PayloadType::kId)->body);
  ASSERT_TRUE(id2.ok()) << id2.status();
  EXPECT_EQ(id2->type, IdType::kKeyId);
  EXPECT_EQ(std::string(id2->data.begin(), id2->data.end()), "right-gw-key");
  ASSERT_NE(m2.Find(PayloadType::kHash), nullptr);
  EXPECT_EQ(m2.Find(PayloadType::kHash)->body.size(), 32u);  // HMAC-SHA256
  EXPECT_EQ(m2.FindAll(PayloadType::kNatD).size(), 2u);
  EXPECT_EQ(m2.FindAll(PayloadType::kNatD)[0]->body.size(), 32u);
}

TEST(CodecStrongswan, MutationsFailOrRoundTrip) {
  for (const char* name : {"main1", "aggr2"}) {
    SCOPED_TRACE(name);
    MutationsFailOrRoundTrip(FromHex(Find(name).hex));
  }
}

TEST(CodecStrongswan, DumpsEveryPayload) {
  const Message m = MustParse(FromHex(Find("aggr2").hex));
  const std::string d = DumpMessage(m.header, m.payloads, false);
  EXPECT_NE(d.find("ISAKMP Rx Message\n"), std::string::npos) << d;
  EXPECT_NE(d.find("Xchg Type: AGGRESSIVE(4) Ver: 10 Flags: 00\n"), std::string::npos) << d;
  EXPECT_NE(d.find("Encryption Algorithm........... AES(7)\n"), std::string::npos) << d;
  EXPECT_NE(d.find("Key Length..................... 256\n"), std::string::npos) << d;
  EXPECT_NE(d.find("Group Description.............. 2048(14)\n"), std::string::npos) << d;
  EXPECT_NE(d.find("ID Type: KEY_ID(11) Protocol: 0 Port: 0\nID Data: right-gw-key\n"),
            std::string::npos)
      << d;
  EXPECT_NE(d.find("Vendor ID: RFC 3947 NAT-T (4a131c81070358455c5728f20e95452f)\n"),
            std::string::npos)
      << d;
  EXPECT_NE(d.find("Type: NAT Discovery (NAT-D)\nNAT-D Hash (32 bytes): "), std::string::npos)
      << d;
  EXPECT_NE(d.find("Key Exchange Data (256 bytes): "), std::string::npos) << d;
}

}  // namespace
}  // namespace arsec::ike
