// The DEBUG=PKT decoder: the seed's Main Mode message 1 prints exactly as the seed shows
// it, every other payload type and the phase 2 transforms print in the same style, blobs
// stop after 64 bytes, and XAUTH credentials never print.
#include <string>
#include <vector>

#include "control/ike/isakmp_dump.h"
#include "gtest/gtest.h"
#include "tests/unit/ike/codec_test_util.h"

namespace arsec::ike {
namespace {

using testing::FromHex;
using testing::SeedSa;
using testing::ToHex;

bool Has(const std::string& dump, const std::string& text) {
  return dump.find(text) != std::string::npos;
}

Header IdProt() {
  Header h;
  h.icookie = 0x5052045c2e566b81ull;
  h.exchange = ExchangeType::kIdProt;
  return h;
}

// /work/shared/seed/ar410-v2-ipsec-reference.ja.txt, the ENABLE ISAKMP DEBUG=PKT example.
constexpr char kSeedDump[] =
    "ISAKMP Tx Message\n"
    "Cookie's: 5052045c2e566b81:0000000000000000\n"
    "Xchg Type: IDPROT(2) Ver: 10 Flags: 00\n"
    "MessageID: 00000000 Total Length: 84\n"
    "Payload #: 0 Length: 56 Type: Security Association (SA)\n"
    "DOI: IPSEC(0) Situation: 00000001\n"
    "Proposal#: 1 Protocol: ISAKMP(1) #Trans: 1 SPI:\n"
    "Transform#: 1\n"
    "Transform Id .................. IKE(1)\n"
    "Encryption Algorithm........... DES(1)\n"
    "Authentication Algorithm....... SHA(2)\n"
    "Authentication Method.......... PRESHARED(1)\n"
    "Group Description.............. 768(1)\n"
    "Group Type..................... MODP\n"
    "Expiry Seconds................. 86400\n";

TEST(Dump, SeedMainModeMessage1) {
  const std::vector<Payload> payloads = {{PayloadType::kSa, BuildSa(SeedSa())}};
  const Bytes wire = BuildMessage(IdProt(), payloads);
  ASSERT_EQ(wire.size(), 84u);
  auto m = ParseMessage(wire);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(DumpMessage(m->header, m->payloads, true), kSeedDump);
}

TEST(Dump, EncryptedFlagsAndRx) {
  Header h = IdProt();
  h.flags = kFlagEncryption | kFlagCommit;
  h.message_id = 0x1234abcd;
  h.length = 92;
  const std::string d = DumpMessage(h, {{PayloadType::kHash, Bytes(20, 0xaa)}}, false);
  EXPECT_TRUE(Has(d, "ISAKMP Rx Message\n")) << d;
  EXPECT_TRUE(Has(d, "Flags: 03 (encrypted commit)\n")) << d;
  EXPECT_TRUE(Has(d, "MessageID: 1234abcd Total Length: 92\n")) << d;
  EXPECT_TRUE(Has(d, "Payload #: 0 Length: 24 Type: Hash (HASH)\nHash Data (20 bytes): " +
                         std::string(40, 'a') + "\n"))
      << d;
}

TEST(Dump, PhaseTwoTransforms) {
  Transform esp;
  esp.id = static_cast<uint8_t>(EspTransform::kAes);
  esp.attrs = {Attribute::Basic(1, 1), Attribute::Basic(2, 3600), Attribute::Basic(1, 2),
               Attribute::Variable(2, {0x00, 0x46, 0x50, 0x00}), Attribute::Basic(4, 3),
               Attribute::Basic(5, 2), Attribute::Basic(6, 128), Attribute::Basic(3, 14),
               Attribute::Basic(11, 1), Attribute::Basic(99, 5)};
  Transform comp;
  comp.id = static_cast<uint8_t>(IpcompTransform::kLzs);
  comp.attrs = {Attribute::Basic(4, 61443)};
  Transform ah;
  ah.id = static_cast<uint8_t>(AhTransform::kSha256);
  ah.attrs = {Attribute::Basic(5, 5)};
  SaPayload sa;
  sa.proposals = {Proposal{1, ProtocolId::kEsp, {0xc0, 0xff, 0xee, 0x01}, {esp}},
                  Proposal{1, ProtocolId::kIpcomp, {0x12, 0x34}, {comp}},
                  Proposal{2, ProtocolId::kAh, {0, 0, 0, 7}, {ah}}};
  Header h = IdProt();
  h.exchange = ExchangeType::kQuick;
  const std::string d = DumpMessage(h, {{PayloadType::kSa, BuildSa(sa)}}, true);
  EXPECT_TRUE(Has(d, "Xchg Type: QUICK(32)")) << d;
  EXPECT_TRUE(Has(d, "Proposal#: 1 Protocol: ESP(3) #Trans: 1 SPI: c0ffee01\n")) << d;
  EXPECT_TRUE(Has(d, "Transform Id .................. AES(12)\n")) << d;
  EXPECT_TRUE(Has(d, "Expiry Seconds................. 3600\n")) << d;
  EXPECT_TRUE(Has(d, "Expiry Kilobytes............... 4608000\n")) << d;
  EXPECT_TRUE(Has(d, "Encapsulation Mode............. UDP_TUNNEL(3)\n")) << d;
  EXPECT_TRUE(Has(d, "Authentication Algorithm....... HMAC_SHA(2)\n")) << d;
  EXPECT_TRUE(Has(d, "Key Length..................... 128\n")) << d;
  EXPECT_TRUE(Has(d, "Group Description.............. 2048(14)\n")) << d;
  EXPECT_TRUE(Has(d, "Extended Sequence Number....... 1\n")) << d;
  EXPECT_TRUE(Has(d, "Attribute 99................... 5\n")) << d;
  EXPECT_TRUE(Has(d, "Proposal#: 1 Protocol: IPCOMP(4) #Trans: 1 SPI: 1234\n")) << d;
  EXPECT_TRUE(Has(d, "Transform Id .................. LZS(3)\n")) << d;
  EXPECT_TRUE(Has(d, "Encapsulation Mode............. UDP_TUNNEL_DRAFT(61443)\n")) << d;
  EXPECT_TRUE(Has(d, "Transform Id .................. SHA2_256(5)\n")) << d;
  EXPECT_TRUE(Has(d, "Authentication Algorithm....... HMAC_SHA2_256(5)\n")) << d;
}

TEST(Dump, PhaseOneVariants) {
  Transform t;
  t.id = kKeyIke;
  t.attrs = {Attribute::Basic(1, 7), Attribute::Basic(14, 256), Attribute::Basic(2, 4),
             Attribute::Basic(3, 65001), Attribute::Basic(4, 2), Attribute::Basic(5, 1),
             Attribute::Basic(11, 2), Attribute::Variable(12, {0x0f, 0x42, 0x40}),
             Attribute::Basic(11, 9), Attribute::Basic(1, 42)};
  SaPayload sa;
  sa.proposals = {Proposal{1, ProtocolId::kIsakmp, {}, {t}}};
  const std::string d = DumpMessage(IdProt(), {{PayloadType::kSa, BuildSa(sa)}}, true);
  EXPECT_TRUE(Has(d, "Encryption Algorithm........... AES(7)\n")) << d;
  EXPECT_TRUE(Has(d, "Key Length..................... 256\n")) << d;
  EXPECT_TRUE(Has(d, "Authentication Algorithm....... SHA2_256(4)\n")) << d;
  EXPECT_TRUE(Has(d, "Authentication Method.......... XAUTH_INIT_PRESHARED(65001)\n")) << d;
  // An explicit group type prints where it is, not derived after the description.
  EXPECT_TRUE(Has(d, "Group Description.............. 1024(2)\nGroup Type..................... MODP\n"))
      << d;
  EXPECT_TRUE(Has(d, "Expiry Kilobytes............... 1000000\n")) << d;
  EXPECT_TRUE(Has(d, "Expiry Type.................... UNKNOWN(9)\n")) << d;
  EXPECT_TRUE(Has(d, "Encryption Algorithm........... UNKNOWN(42)\n")) << d;
}

TEST(Dump, EveryOtherPayloadType) {
  NotifyPayload ic;
  ic.type = static_cast<uint16_t>(NotifyType::kInitialContact);
  ic.spi = Bytes(16, 0x01);
  NotifyPayload dpd;
  dpd.type = static_cast<uint16_t>(NotifyType::kDpdRUThere);
  dpd.spi = Bytes(16, 0x02);
  dpd.data = {0, 0, 1, 0};
  NotifyPayload npc;
  npc.doi = 0;
  npc.protocol = static_cast<ProtocolId>(0);
  npc.type = static_cast<uint16_t>(NotifyType::kNoProposalChosen);
  npc.data = {1, 2, 3};
  NotifyPayload rl;
  rl.protocol = ProtocolId::kEsp;
  rl.type = static_cast<uint16_t>(NotifyType::kResponderLifetime);
  rl.spi = {1, 2, 3, 4};
  AppendAttributes({Attribute::Basic(1, 1), Attribute::Basic(2, 600)}, rl.data);
  DeletePayload del;
  del.protocol = ProtocolId::kEsp;
  del.spi_size = 4;
  for (uint8_t i = 0; i < 20; ++i) del.spis.push_back({0, 0, 0, i});
  const std::vector<Payload> p = {
      {PayloadType::kKe, Bytes(128, 0xab)},
      {PayloadType::kId, BuildId({IdType::kIpv4Subnet, 6, 80, {10, 1, 0, 0, 255, 255, 0, 0}})},
      {PayloadType::kId, BuildId({IdType::kIpv4Range, 0, 0, {10, 0, 0, 1, 10, 0, 0, 9}})},
      {PayloadType::kId, BuildId({IdType::kIpv6Addr, 0, 0,
                                  FromHex("20010db8000000000000000000000001")})},
      {PayloadType::kId, BuildId({IdType::kUserFqdn, 0, 0, {'a', '@', 'b', '.', 'c'}})},
      {PayloadType::kNonce, Bytes(16, 0x10)},
      {PayloadType::kSig, Bytes(4, 0x20)},
      {PayloadType::kCert, FromHex("0430820101")},
      {PayloadType::kCertReq, FromHex("04")},
      {PayloadType::kNotify, BuildNotify(ic)},
      {PayloadType::kNotify, BuildNotify(dpd)},
      {PayloadType::kNotify, BuildNotify(npc)},
      {PayloadType::kNotify, BuildNotify(rl)},
      {PayloadType::kDelete, BuildDelete(del)},
      {PayloadType::kVendorId, Bytes(kVidDpd, kVidDpd + 16)},
      {PayloadType::kVendorId, Bytes(kVidXauth, kVidXauth + 8)},
      {PayloadType::kVendorId, Bytes(kVidNatTDraft03, kVidNatTDraft03 + 16)},
      {PayloadType::kVendorId, FromHex("0102")},
      {PayloadType::kNatD, Bytes(20, 0x30)},
      {PayloadType::kNatOa, FromHex("01000000c0a80102")},
      {PayloadType::kNatOaDraft, FromHex("05000000fe800000000000000000000000000001")},
      {PayloadType::kNatDDraft, Bytes(16, 0x40)},
  };
  const std::string d = DumpMessage(IdProt(), p, false);
  EXPECT_TRUE(Has(d, "Type: Key Exchange (KE)\nKey Exchange Data (128 bytes): " +
                         ToHex(Bytes(64, 0xab)) +
                         "...\n"))
      << d;
  EXPECT_TRUE(Has(d, "ID Type: IPV4_ADDR_SUBNET(4) Protocol: 6 Port: 80\n"
                     "ID Data: 10.1.0.0/255.255.0.0\n"))
      << d;
  EXPECT_TRUE(Has(d, "ID Data: 10.0.0.1-10.0.0.9\n")) << d;
  EXPECT_TRUE(Has(d, "ID Type: IPV6_ADDR(5) Protocol: 0 Port: 0\nID Data: 2001:db8::1\n")) << d;
  EXPECT_TRUE(Has(d, "ID Type: USER_FQDN(3) Protocol: 0 Port: 0\nID Data: a@b.c\n")) << d;
  EXPECT_TRUE(Has(d, "Type: Nonce (NONCE)\nNonce Data (16 bytes): " + ToHex(Bytes(16, 0x10))))
      << d;
  EXPECT_TRUE(Has(d, "Type: Signature (SIG)\nSignature Data (4 bytes): 20202020\n")) << d;
  EXPECT_TRUE(Has(d, "Cert Encoding: X509_SIG(4)\nCert Data (4 bytes): 30820101\n")) << d;
  EXPECT_TRUE(Has(d, "Type: Certificate Request (CR)\nCert Type: X509_SIG(4)\n")) << d;
  EXPECT_TRUE(Has(d, "DOI: IPSEC(0) Protocol: ISAKMP(1) SPI Size: 16 Type: INITIAL-CONTACT(24578)\n"
                     "SPI: " + ToHex(Bytes(16, 1)) + "\n"))
      << d;
  EXPECT_TRUE(Has(d, "Type: R-U-THERE(36136)\nSPI: " + ToHex(Bytes(16, 2)) + "\nSequence: 256\n"))
      << d;
  EXPECT_TRUE(Has(d, "DOI: ISAKMP(0) Protocol: UNKNOWN(0) SPI Size: 0 Type: "
                     "NO-PROPOSAL-CHOSEN(14)\nNotify Data (3 bytes): 010203\n"))
      << d;
  EXPECT_TRUE(Has(d, "Type: RESPONDER-LIFETIME(24576)\nSPI: 01020304\n"
                     "Expiry Seconds................. 600\n"))
      << d;
  EXPECT_TRUE(Has(d, "DOI: IPSEC(0) Protocol: ESP(3) SPI Size: 4 #SPIs: 20\nSPI: 00000000\n"))
      << d;
  EXPECT_TRUE(Has(d, "SPI: 0000000f\n... 4 more SPIs\n")) << d;
  EXPECT_FALSE(Has(d, "SPI: 00000010\n")) << d;
  EXPECT_TRUE(Has(d, "Vendor ID: DPD (RFC 3706) (afcad71368a1f1c96b8696fc77570100)\n")) << d;
  EXPECT_TRUE(Has(d, "Vendor ID: XAUTH (09002689dfd6b712)\n")) << d;
  EXPECT_TRUE(Has(d, "Vendor ID: NAT-T draft-ietf-ipsec-nat-t-ike-03 (")) << d;
  EXPECT_TRUE(Has(d, "Vendor ID: UNKNOWN (0102)\n")) << d;
  EXPECT_TRUE(Has(d, "Type: NAT Discovery (NAT-D)\nNAT-D Hash (20 bytes): ")) << d;
  EXPECT_TRUE(Has(d, "Type: NAT Original Address (NAT-OA)\nNAT-OA: IPV4_ADDR(1) 192.168.1.2\n"))
      << d;
  EXPECT_TRUE(Has(d, "NAT-OA: IPV6_ADDR(5) fe80::1\n")) << d;
  EXPECT_TRUE(Has(d, "Type: NAT Discovery, draft (NAT-D)\n")) << d;
}

TEST(Dump, MalformedBodiesShowTheError) {
  const std::string d = DumpMessage(
      IdProt(),
      {{PayloadType::kSa, FromHex("000000010000000100000009")},
       {PayloadType::kId, FromHex("01000000c0a8")},
       {PayloadType::kNotify, FromHex("0000")},
       {PayloadType::kDelete, FromHex("00000001030400")},
       {PayloadType::kCert, {}},
       {static_cast<PayloadType>(77), FromHex("beef")}},
      false);
  EXPECT_TRUE(Has(d, "Malformed: SA payload proposal: proposal header at offset 8")) << d;
  EXPECT_TRUE(Has(d, "Malformed: ID payload: identification data at offset 4")) << d;
  EXPECT_TRUE(Has(d, "Malformed: Notification payload")) << d;
  EXPECT_TRUE(Has(d, "Malformed: Delete payload")) << d;
  EXPECT_TRUE(Has(d, "Malformed: no certificate encoding")) << d;
  EXPECT_TRUE(Has(d, "Type: UNKNOWN(77)\nData (2 bytes): beef\n")) << d;
}

TEST(Dump, XauthPasswordNeverPrints) {
  const std::string password = "Sup3r-S3cret-Passw0rd";
  const Bytes pw(password.begin(), password.end());
  AttrPayload reply;
  reply.type = CfgType::kReply;
  reply.identifier = 0x1234;
  reply.attrs = {
      Attribute::Basic(static_cast<uint16_t>(CfgAttr::kXauthType), 0),
      Attribute::Variable(static_cast<uint16_t>(CfgAttr::kXauthUserName), {'b', 'o', 'b'}),
      Attribute::Variable(static_cast<uint16_t>(CfgAttr::kXauthUserPassword), pw),
      Attribute::Variable(static_cast<uint16_t>(CfgAttr::kXauthPasscode), pw),
      Attribute::Variable(static_cast<uint16_t>(CfgAttr::kXauthUserPassword), Bytes(200, 'x')),
  };
  AttrPayload request;
  request.attrs = {
      Attribute::Variable(static_cast<uint16_t>(CfgAttr::kXauthUserName), {}),
      Attribute::Variable(static_cast<uint16_t>(CfgAttr::kXauthUserPassword), {})};
  AttrPayload set;
  set.type = CfgType::kSet;
  set.attrs = {Attribute::Basic(static_cast<uint16_t>(CfgAttr::kXauthStatus), 1),
               Attribute::Variable(static_cast<uint16_t>(CfgAttr::kInternalIp4Address),
                                   {10, 0, 0, 5})};
  // A malformed attribute payload (RESERVED set) that carries the password too.
  Bytes bad = BuildAttr(reply);
  bad[1] = 1;
  Header h = IdProt();
  h.exchange = ExchangeType::kTransaction;
  const std::string d = DumpMessage(h,
                                    {{PayloadType::kAttr, BuildAttr(request)},
                                     {PayloadType::kAttr, BuildAttr(reply)},
                                     {PayloadType::kAttr, BuildAttr(set)},
                                     {PayloadType::kAttr, bad}},
                                    false);
  EXPECT_TRUE(Has(d, "Xchg Type: TRANSACTION(6)")) << d;
  EXPECT_TRUE(Has(d, "Type: REQUEST(1) Identifier: 0\n")) << d;
  EXPECT_TRUE(Has(d, "Type: REPLY(2) Identifier: 4660\n")) << d;
  EXPECT_TRUE(Has(d, "XAUTH_TYPE(16520).............. GENERIC(0)\n")) << d;
  EXPECT_TRUE(Has(d, "XAUTH_USER_NAME(16521)......... bob\n")) << d;
  EXPECT_TRUE(Has(d, "XAUTH_USER_PASSWORD(16522)..... ********\n")) << d;
  EXPECT_TRUE(Has(d, "XAUTH_PASSCODE(16523).......... ********\n")) << d;
  EXPECT_TRUE(Has(d, "XAUTH_STATUS(16527)............ OK(1)\n")) << d;
  EXPECT_TRUE(Has(d, "INTERNAL_IP4_ADDRESS(1)........ 10.0.0.5\n")) << d;
  EXPECT_TRUE(Has(d, "Malformed: Attribute payload: RESERVED at offset 1")) << d;
  EXPECT_FALSE(Has(d, password)) << d;
  EXPECT_FALSE(Has(d, ToHex(pw).substr(0, 8))) << d;
  EXPECT_FALSE(Has(d, "xxxx")) << d;
  EXPECT_FALSE(Has(d, "78787878")) << d;
}

TEST(Dump, RawHex) {
  Bytes d(70);
  for (size_t i = 0; i < d.size(); ++i) d[i] = static_cast<uint8_t>(i);
  const std::string s = DumpRaw(d, true);
  EXPECT_EQ(s,
            "ISAKMP Tx Raw Message Length: 70\n" + ToHex(ByteSpan(d).subspan(0, 32)) + "\n" +
                ToHex(ByteSpan(d).subspan(32, 32)) + "\n" + ToHex(ByteSpan(d).subspan(64)) +
                "\n");
  EXPECT_EQ(DumpRaw({}, false), "ISAKMP Rx Raw Message Length: 0\n");
}

TEST(Dump, Names) {
  EXPECT_EQ(ExchangeName(ExchangeType::kAggressive), "AGGRESSIVE");
  EXPECT_EQ(ExchangeName(static_cast<ExchangeType>(99)), "UNKNOWN(99)");
  EXPECT_EQ(PayloadName(PayloadType::kVendorId), "Vendor ID (VID)");
  EXPECT_EQ(NotifyName(14), "NO-PROPOSAL-CHOSEN");
  EXPECT_EQ(NotifyName(36137), "R-U-THERE-ACK");
  EXPECT_EQ(NotifyName(9999), "UNKNOWN(9999)");
  EXPECT_EQ(VendorIdName(Bytes(kVidRfc3947, kVidRfc3947 + 16)), "RFC 3947 NAT-T");
  EXPECT_EQ(VendorIdName(Bytes(kVidRfc3947, kVidRfc3947 + 15)), "");
  EXPECT_EQ(VendorIdName(FromHex("4048b7d56ebce88525e7de7f00d6c2d380000000")), "FRAGMENTATION");
  EXPECT_EQ(VendorIdName(FromHex("12f5f28c457168a9702d9fe274cc0100")), "CISCO-UNITY");
}

}  // namespace
}  // namespace arsec::ike
