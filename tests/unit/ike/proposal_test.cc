// SA negotiation (control/ike/proposal.h): our SA payloads built from configuration and
// chosen back by our own responder for every algorithm an SA specification allows; the
// seed's bundle strings (AND / OR / comma); each mismatch with its exact reason and
// notify; lifetimes and the RESPONDER-LIFETIME decision; NAT-T encapsulation modes (RFC
// 3947 and draft values); and proposals made by an independent implementation:
// strongSwan 5.9.8's Main Mode SAs (codec_strongswan.inc, captured by the codec's tests)
// and its Quick Mode SAs as initiator and as responder (proposal_vectors.inc, from
// proposal_capture_strongswan.sh and make_proposal_vectors.py).
#include "control/ike/proposal.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <string_view>

#include "cli/lang/bundle_string.h"
#include "control/ike/isakmp_codec.h"

namespace arsec::ike {
namespace {

using control::BundleSpec;
using control::CompAlg;
using control::EncAlg;
using control::HashAlg;
using control::SaProtocol;
using control::SaSpec;

struct Capture {
  const char* name;
  const char* hex;
};
const Capture kMainModeCaptures[] = {
#include "tests/unit/ike/codec_strongswan.inc"
};
struct QmCapture {
  const char* name;
  const char* request;   // strongSwan as initiator: its Quick Mode SA payload body
  const char* reply;     // strongSwan as responder: the SA payload body it answered
};
const QmCapture kQuickModeCaptures[] = {
#include "tests/unit/ike/proposal_vectors.inc"
};

Bytes FromHex(std::string_view hex) {
  Bytes out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

SaPayload CapturedMainModeSa(std::string_view name) {
  for (const Capture& c : kMainModeCaptures) {
    if (name != c.name) continue;
    auto m = ParseMessage(FromHex(c.hex));
    EXPECT_TRUE(m.ok()) << m.status();
    const Payload* p = m->Find(PayloadType::kSa);
    EXPECT_NE(p, nullptr);
    auto sa = ParseSa(p->body);
    EXPECT_TRUE(sa.ok()) << sa.status();
    return *sa;
  }
  ADD_FAILURE() << "no capture " << name;
  return {};
}

const QmCapture& QuickModeCapture(std::string_view name) {
  for (const QmCapture& c : kQuickModeCaptures)
    if (name == c.name) return c;
  ADD_FAILURE() << "no capture " << name;
  return kQuickModeCaptures[0];
}

SaPayload MustParseSa(const char* hex) {
  auto sa = ParseSa(FromHex(hex));
  EXPECT_TRUE(sa.ok()) << sa.status();
  return sa.ok() ? *sa : SaPayload{};
}

uint16_t AttrValue(const Transform& t, uint16_t type) {
  const Attribute* a = t.Find(type);
  return a == nullptr ? 0 : static_cast<uint16_t>(*a->AsInt());
}

// ---------------------------------------------------------------- phase 1

Phase1Offer Offer(P1Encryption enc, uint16_t bits, P1Hash hash, int group,
                  AuthMethod auth = AuthMethod::kPsk) {
  Phase1Offer o;
  o.enc = enc;
  o.key_bits = bits;
  o.hash = hash;
  o.group = group;
  o.auth = auth;
  return o;
}

TEST(Phase1Build, AttributesInTheUsualOrder) {
  Phase1Offer aes = Offer(P1Encryption::kAes, 256, P1Hash::kSha256, 14);
  aes.life_seconds = 86400;     // above 65535: a variable-length attribute
  aes.life_kbytes = 1000;
  Phase1Offer des = Offer(P1Encryption::kDes, 0, P1Hash::kSha, 1);
  des.life_seconds = 3600;
  const Phase1Offer offers[] = {aes, des};
  SaPayload sa = BuildPhase1Sa(offers);
  ASSERT_EQ(sa.proposals.size(), 1u);
  const Proposal& p = sa.proposals[0];
  EXPECT_EQ(p.number, 1);
  EXPECT_EQ(p.protocol, ProtocolId::kIsakmp);
  EXPECT_TRUE(p.spi.empty());
  ASSERT_EQ(p.transforms.size(), 2u);
  const Transform& t = p.transforms[0];
  EXPECT_EQ(t.number, 1);
  EXPECT_EQ(t.id, kKeyIke);
  std::vector<uint16_t> types;
  for (const Attribute& a : t.attrs) types.push_back(a.type);
  EXPECT_EQ(types, (std::vector<uint16_t>{1, 14, 2, 3, 4, 11, 12, 11, 12}));
  EXPECT_EQ(AttrValue(t, 1), 7);
  EXPECT_EQ(AttrValue(t, 14), 256);
  EXPECT_EQ(AttrValue(t, 2), 4);
  EXPECT_EQ(AttrValue(t, 3), 1);
  EXPECT_EQ(AttrValue(t, 4), 14);
  EXPECT_FALSE(t.attrs[6].basic);
  EXPECT_EQ(t.attrs[6].value, (Bytes{0x00, 0x01, 0x51, 0x80}));   // 86400
  EXPECT_TRUE(t.attrs[8].basic);
  EXPECT_EQ(*t.attrs[8].AsInt(), 1000u);
  const Transform& t2 = p.transforms[1];
  EXPECT_EQ(t2.number, 2);
  types.clear();
  for (const Attribute& a : t2.attrs) types.push_back(a.type);
  EXPECT_EQ(types, (std::vector<uint16_t>{1, 2, 3, 4, 11, 12}));
  // What we build, we parse back the same.
  auto back = ParseSa(BuildSa(sa));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(BuildSa(*back), BuildSa(sa));
}

TEST(Phase1Select, RoundTripEveryCipherHashAndGroup) {
  const std::pair<P1Encryption, uint16_t> ciphers[] = {
      {P1Encryption::kDes, 0}, {P1Encryption::k3Des, 0}, {P1Encryption::kAes, 128},
      {P1Encryption::kAes, 192}, {P1Encryption::kAes, 256}};
  for (auto [enc, bits] : ciphers) {
    for (P1Hash h : {P1Hash::kMd5, P1Hash::kSha, P1Hash::kSha256}) {
      for (int g : {1, 2, 5, 14, 15, 16}) {
        const Phase1Offer o = Offer(enc, bits, h, g);
        SaPayload sa = BuildPhase1Sa({&o, 1});
        auto sel = SelectPhase1(sa, {&o, 1});
        ASSERT_TRUE(sel.ok()) << sel.status();
        EXPECT_EQ(sel->choice.enc, enc);
        EXPECT_EQ(sel->choice.key_bits, bits);
        EXPECT_EQ(sel->choice.hash, h);
        EXPECT_EQ(sel->choice.group, g);
        EXPECT_EQ(sel->choice.life_seconds, 86400u);
        EXPECT_FALSE(sel->choice.lifetime_lowered);
        // The initiator reads the reply back.
        SaPayload reply;
        reply.proposals.push_back(sel->reply);
        auto back = CheckPhase1Reply(reply, {&o, 1});
        ASSERT_TRUE(back.ok()) << back.status();
        EXPECT_EQ(back->cipher, enc == P1Encryption::kDes    ? P1Cipher::kDes
                                : enc == P1Encryption::k3Des ? P1Cipher::k3Des
                                                             : P1Cipher::kAesCbc);
        EXPECT_EQ(back->prf, h == P1Hash::kMd5   ? PrfHash::kMd5
                             : h == P1Hash::kSha ? PrfHash::kSha1
                                                 : PrfHash::kSha256);
      }
    }
  }
}

TEST(Phase1Select, StrongswanMainModeTransformsInTheirOrder) {
  // strongSwan proposed aes128-sha1-modp1024 then 3des-md5-modp768, lifetime 15840 s.
  SaPayload sa = CapturedMainModeSa("main1");
  ASSERT_EQ(sa.proposals.size(), 1u);
  ASSERT_EQ(sa.proposals[0].transforms.size(), 2u);
  // Only the second is ours: it is chosen and echoed verbatim.
  const Phase1Offer des3 = Offer(P1Encryption::k3Des, 0, P1Hash::kMd5, 1);
  auto sel = SelectPhase1(sa, {&des3, 1});
  ASSERT_TRUE(sel.ok()) << sel.status();
  EXPECT_EQ(sel->choice.enc, P1Encryption::k3Des);
  EXPECT_EQ(sel->choice.group, 1);
  EXPECT_EQ(sel->choice.life_seconds, 15840u);
  EXPECT_FALSE(sel->choice.lifetime_lowered);
  ASSERT_EQ(sel->reply.transforms.size(), 1u);
  EXPECT_EQ(sel->reply.number, sa.proposals[0].number);
  EXPECT_EQ(sel->reply.transforms[0].number, 2);
  EXPECT_EQ(sel->reply.transforms[0].attrs.size(), sa.proposals[0].transforms[1].attrs.size());
  // Both ours: the peer's first wins, whatever our order.
  const Phase1Offer both[] = {des3, Offer(P1Encryption::kAes, 128, P1Hash::kSha, 2)};
  sel = SelectPhase1(sa, both);
  ASSERT_TRUE(sel.ok());
  EXPECT_EQ(sel->choice.enc, P1Encryption::kAes);
  EXPECT_EQ(sel->choice.key_bits, 128);
  EXPECT_EQ(sel->choice.offer, 1u);
  // Our lifetime shorter: ours is used and the peer must be told.
  Phase1Offer short_life = both[1];
  short_life.life_seconds = 3600;
  sel = SelectPhase1(sa, {&short_life, 1});
  ASSERT_TRUE(sel.ok());
  EXPECT_EQ(sel->choice.life_seconds, 3600u);
  EXPECT_TRUE(sel->choice.lifetime_lowered);
}

TEST(Phase1Check, StrongswanResponderReply) {
  // strongSwan answered with the AES transform (main2).
  SaPayload reply = CapturedMainModeSa("main2");
  const Phase1Offer ours[] = {Offer(P1Encryption::kAes, 128, P1Hash::kSha, 2),
                              Offer(P1Encryption::k3Des, 0, P1Hash::kMd5, 1)};
  auto c = CheckPhase1Reply(reply, ours);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->offer, 0u);
  EXPECT_EQ(c->life_seconds, 15840u);   // the reply's, shorter than our 86400
  // A reply we did not offer.
  const Phase1Offer des = Offer(P1Encryption::kDes, 0, P1Hash::kSha, 1);
  c = CheckPhase1Reply(reply, {&des, 1});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(NotifyFor(c.status()), NotifyType::kNoProposalChosen);
  EXPECT_EQ(c.status().message(),
            "the responder chose a transform we did not offer: cipher AES128, group 2 (we "
            "offer DES/SHA/PRESHARED/group 1)");
}

TEST(Phase1Check, ReplyMustHoldOneTransform) {
  const Phase1Offer o[] = {Offer(P1Encryption::kDes, 0, P1Hash::kSha, 1),
                           Offer(P1Encryption::kDes, 0, P1Hash::kMd5, 1)};
  SaPayload two = BuildPhase1Sa(o);
  auto c = CheckPhase1Reply(two, o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(NotifyFor(c.status()), NotifyType::kBadProposalSyntax);
  EXPECT_EQ(c.status().message(), "the responder returned 2 transforms, not one");
}

TEST(Phase1Select, MismatchesSayWhat) {
  const Phase1Offer ours = Offer(P1Encryption::kAes, 256, P1Hash::kSha256, 14);
  const Phase1Offer theirs[] = {Offer(P1Encryption::kAes, 128, P1Hash::kSha256, 14),
                                Offer(P1Encryption::k3Des, 0, P1Hash::kSha, 2),
                                Offer(P1Encryption::kAes, 256, P1Hash::kSha256, 14,
                                      AuthMethod::kRsaSig)};
  auto sel = SelectPhase1(BuildPhase1Sa(theirs), {&ours, 1});
  ASSERT_FALSE(sel.ok());
  EXPECT_EQ(NotifyFor(sel.status()), NotifyType::kNoProposalChosen);
  EXPECT_EQ(sel.status().message(),
            "no acceptable ISAKMP transform: transform 1: AES key length 128 (we offer "
            "AES256/SHA256/PRESHARED/group 14); transform 2: cipher 3DES, hash SHA, group 2 "
            "(we offer AES256/SHA256/PRESHARED/group 14); transform 3: authentication RSASIG "
            "(we offer AES256/SHA256/PRESHARED/group 14)");
}

TEST(Phase1Select, UnsupportedAttributesAndBadSyntax) {
  const Phase1Offer ours = Offer(P1Encryption::kDes, 0, P1Hash::kSha, 1);
  SaPayload sa = BuildPhase1Sa({&ours, 1});
  // A private group (group prime): ATTRIBUTES-NOT-SUPPORTED.
  SaPayload priv = sa;
  priv.proposals[0].transforms[0].attrs.push_back(
      Attribute::Variable(static_cast<uint16_t>(P1Attr::kGroupPrime), Bytes(96, 0xff)));
  auto sel = SelectPhase1(priv, {&ours, 1});
  ASSERT_FALSE(sel.ok());
  EXPECT_EQ(NotifyFor(sel.status()), NotifyType::kAttributesNotSupported);
  EXPECT_EQ(sel.status().message(),
            "no acceptable ISAKMP transform: transform 1 (DES/SHA/PRESHARED/group 1): "
            "attribute 6 not supported");
  // The same attribute twice: BAD-PROPOSAL-SYNTAX.
  SaPayload dup = sa;
  dup.proposals[0].transforms[0].attrs.push_back(Attribute::Basic(2, 2));
  sel = SelectPhase1(dup, {&ours, 1});
  ASSERT_FALSE(sel.ok());
  EXPECT_EQ(NotifyFor(sel.status()), NotifyType::kBadProposalSyntax);
  EXPECT_EQ(sel.status().message(), "proposal 1 transform 1: attribute 2 given twice");
  // A life duration with no life type before it.
  SaPayload orphan = sa;
  auto& attrs = orphan.proposals[0].transforms[0].attrs;
  attrs.erase(attrs.end() - 2);
  sel = SelectPhase1(orphan, {&ours, 1});
  ASSERT_FALSE(sel.ok());
  EXPECT_EQ(NotifyFor(sel.status()), NotifyType::kBadProposalSyntax);
  EXPECT_EQ(sel.status().message(),
            "proposal 1 transform 1: life duration without a life type");
  // Not the IPsec DOI.
  SaPayload doi = sa;
  doi.doi = 2;
  sel = SelectPhase1(doi, {&ours, 1});
  ASSERT_FALSE(sel.ok());
  EXPECT_EQ(NotifyFor(sel.status()), NotifyType::kDoiNotSupported);
}

TEST(Phase1Select, Lifetimes) {
  Phase1Offer ours = Offer(P1Encryption::kDes, 0, P1Hash::kSha, 1);
  Phase1Offer peer = ours;
  // The peer's shorter lifetime is taken as it is.
  ours.life_seconds = 86400;
  peer.life_seconds = 600;
  auto sel = SelectPhase1(BuildPhase1Sa({&peer, 1}), {&ours, 1});
  ASSERT_TRUE(sel.ok());
  EXPECT_EQ(sel->choice.life_seconds, 600u);
  EXPECT_FALSE(sel->choice.lifetime_lowered);
  // Kilobytes: we have a limit, the peer proposed none: ours, and RESPONDER-LIFETIME.
  ours.life_kbytes = 100000;
  sel = SelectPhase1(BuildPhase1Sa({&peer, 1}), {&ours, 1});
  ASSERT_TRUE(sel.ok());
  EXPECT_EQ(sel->choice.life_seconds, 600u);
  EXPECT_EQ(sel->choice.life_kbytes, 100000u);
  EXPECT_TRUE(sel->choice.lifetime_lowered);
  // The notify's data says what we chose; the initiator reads it back.
  std::vector<Attribute> data = LifetimeAttributes(false, 600, 100000);
  Bytes raw;
  AppendAttributes(data, raw);
  auto parsed = ParseAttributes(raw);
  ASSERT_TRUE(parsed.ok());
  auto life = ReadLifetimes(false, *parsed);
  ASSERT_TRUE(life.ok());
  EXPECT_EQ(life->seconds, 600u);
  EXPECT_EQ(life->kbytes, 100000u);
  // No lifetime in the proposal: ours.
  peer.life_seconds = 0;
  ours.life_kbytes = 0;
  sel = SelectPhase1(BuildPhase1Sa({&peer, 1}), {&ours, 1});
  ASSERT_TRUE(sel.ok());
  EXPECT_EQ(sel->choice.life_seconds, 86400u);
}

TEST(Phase1Select, XauthMethods) {
  // A client dialling in with XAUTH=CLIENT proposes XAUTHInitPreShared; the XAUTH=SERVER
  // responder offers the same value for its role.
  const AuthMethod client = XauthAuthMethod(AuthMethod::kPsk, /*initiator_is_xauth_client=*/true);
  EXPECT_EQ(client, AuthMethod::kXauthInitPsk);
  EXPECT_EQ(static_cast<uint16_t>(client), 65001);
  EXPECT_EQ(XauthAuthMethod(AuthMethod::kPsk, false), AuthMethod::kXauthRespPsk);
  EXPECT_EQ(XauthAuthMethod(AuthMethod::kRsaSig, true), AuthMethod::kXauthInitRsa);
  EXPECT_EQ(BaseAuthMethod(AuthMethod::kXauthRespRsa), AuthMethod::kRsaSig);
  EXPECT_TRUE(IsXauthMethod(AuthMethod::kXauthInitPsk));
  EXPECT_FALSE(IsXauthMethod(AuthMethod::kPsk));
  const Phase1Offer theirs = Offer(P1Encryption::k3Des, 0, P1Hash::kSha, 2, client);
  const Phase1Offer server = Offer(P1Encryption::k3Des, 0, P1Hash::kSha, 2, client);
  auto sel = SelectPhase1(BuildPhase1Sa({&theirs, 1}), {&server, 1});
  ASSERT_TRUE(sel.ok());
  EXPECT_EQ(sel->choice.auth, AuthMethod::kXauthInitPsk);
  // A responder without XAUTH refuses it, naming the method.
  const Phase1Offer plain = Offer(P1Encryption::k3Des, 0, P1Hash::kSha, 2);
  sel = SelectPhase1(BuildPhase1Sa({&theirs, 1}), {&plain, 1});
  ASSERT_FALSE(sel.ok());
  EXPECT_EQ(sel.status().message(),
            "no acceptable ISAKMP transform: transform 1: authentication XAUTH-PRESHARED-I "
            "(we offer 3DES/SHA/PRESHARED/group 2)");
}

// ---------------------------------------------------------------- phase 2

SaSpec Esp(uint32_t id, EncAlg enc, HashAlg hash, bool tunnel = true) {
  SaSpec s;
  s.id = id;
  s.protocol = SaProtocol::kEsp;
  s.encalg = enc;
  s.hashalg = hash;
  s.tunnel = tunnel;
  return s;
}
SaSpec Ah(uint32_t id, HashAlg hash) {
  SaSpec s;
  s.id = id;
  s.protocol = SaProtocol::kAh;
  s.hashalg = hash;
  return s;
}
SaSpec Comp(uint32_t id, CompAlg c) {
  SaSpec s;
  s.id = id;
  s.protocol = SaProtocol::kComp;
  s.compalg = c;
  return s;
}

BundleSpec Bundle(std::string_view text, uint32_t id = 1) {
  BundleSpec b;
  b.id = id;
  auto parsed = lang::ParseBundleString(text);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  b.bundle = *parsed;
  b.text = std::string(text);
  return b;
}

// The seed's table 5: 1 ESP DES+SHA1, 2 ESP DES+MD5, 3 AH SHA1, 4 AH MD5, 5 IPComp LZS.
std::map<uint32_t, SaSpec> SeedSpecs() {
  return {{1, Esp(1, EncAlg::kDes, HashAlg::kSha)},
          {2, Esp(2, EncAlg::kDes, HashAlg::kMd5)},
          {3, Ah(3, HashAlg::kSha)},
          {4, Ah(4, HashAlg::kMd5)},
          {5, Comp(5, CompAlg::kLzs)}};
}

const Phase2Spis kSpis{0x11111111, 0x22222222, 0x3333};

TEST(Phase2Build, SeedBundleStringAndOrComma) {
  const auto specs = SeedSpecs();
  auto sa = BuildPhase2Sa(Bundle("5 and 1 and 3, 1 and 3, 1"), FinderFor(specs), {}, kSpis);
  ASSERT_TRUE(sa.ok()) << sa.status();
  // Suite 1: IPComp, ESP, AH (apply order); suite 2: ESP, AH; suite 3: ESP.
  std::vector<std::pair<int, ProtocolId>> shape;
  for (const Proposal& p : sa->proposals) shape.emplace_back(p.number, p.protocol);
  EXPECT_EQ(shape, (std::vector<std::pair<int, ProtocolId>>{
                       {1, ProtocolId::kIpcomp}, {1, ProtocolId::kEsp}, {1, ProtocolId::kAh},
                       {2, ProtocolId::kEsp}, {2, ProtocolId::kAh}, {3, ProtocolId::kEsp}}));
  EXPECT_EQ(sa->proposals[0].spi, (Bytes{0x33, 0x33}));   // 2-byte CPI
  EXPECT_EQ(sa->proposals[1].spi, (Bytes{0x11, 0x11, 0x11, 0x11}));
  EXPECT_EQ(sa->proposals[2].spi, (Bytes{0x22, 0x22, 0x22, 0x22}));
  const Transform& lzs = sa->proposals[0].transforms[0];
  EXPECT_EQ(lzs.id, static_cast<uint8_t>(IpcompTransform::kLzs));
  const Transform& esp = sa->proposals[1].transforms[0];
  EXPECT_EQ(esp.id, static_cast<uint8_t>(EspTransform::kDes));
  std::vector<uint16_t> types;
  for (const Attribute& a : esp.attrs) types.push_back(a.type);
  EXPECT_EQ(types, (std::vector<uint16_t>{1, 2, 4, 5}));   // life type, duration, mode, auth
  EXPECT_EQ(AttrValue(esp, 2), 28800);
  EXPECT_EQ(AttrValue(esp, 4), 1);
  EXPECT_EQ(AttrValue(esp, 5), 2);
  const Transform& ah = sa->proposals[2].transforms[0];
  EXPECT_EQ(ah.id, static_cast<uint8_t>(AhTransform::kSha));
  EXPECT_EQ(AttrValue(ah, 5), 2);

  // "3 or 4": one AH proposal, two transforms.
  auto orsa = BuildPhase2Sa(Bundle("1 and 3 or 4"), FinderFor(specs), {}, kSpis);
  ASSERT_TRUE(orsa.ok());
  ASSERT_EQ(orsa->proposals.size(), 2u);
  ASSERT_EQ(orsa->proposals[1].transforms.size(), 2u);
  EXPECT_EQ(orsa->proposals[1].transforms[0].number, 1);
  EXPECT_EQ(orsa->proposals[1].transforms[1].number, 2);
  EXPECT_EQ(orsa->proposals[1].transforms[1].id, static_cast<uint8_t>(AhTransform::kMd5));
  // What we build, the codec writes and reads back unchanged.
  auto back = ParseSa(BuildSa(*sa));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(BuildSa(*back), BuildSa(*sa));
}

TEST(Phase2Select, SeedBundleAlternativesInPreferenceOrder) {
  const auto specs = SeedSpecs();
  auto offer = BuildPhase2Sa(Bundle("5 and 1 and 3, 1 and 3, 1"), FinderFor(specs), {}, kSpis);
  ASSERT_TRUE(offer.ok());
  // A responder with the same bundle takes the first suite.
  auto c = SelectPhase2(*offer, Bundle("5 and 1 and 3, 1 and 3, 1"), FinderFor(specs), {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->proposal_number, 1);
  ASSERT_EQ(c->sas.size(), 3u);
  EXPECT_EQ(c->sas[0].protocol, SaProtocol::kComp);
  EXPECT_EQ(c->sas[0].comp, CompAlg::kLzs);
  EXPECT_EQ(c->sas[0].peer_spi, 0x3333u);
  EXPECT_EQ(c->sas[1].protocol, SaProtocol::kEsp);
  EXPECT_EQ(c->sas[1].enc, EncAlg::kDes);
  EXPECT_EQ(c->sas[1].hash, HashAlg::kSha);
  EXPECT_EQ(c->sas[1].peer_spi, 0x11111111u);
  EXPECT_EQ(c->sas[2].protocol, SaProtocol::kAh);
  EXPECT_EQ(c->sas[2].spec_id, 3u);
  EXPECT_EQ(c->life_seconds, 28800u);
  EXPECT_EQ(KeymatLength(c->sas[0]), 0u);
  EXPECT_EQ(KeymatLength(c->sas[1]), 8u + 20u);
  EXPECT_EQ(KeymatLength(c->sas[2]), 20u);
  // One that only does "1 and 3" takes suite 2; one that only does "1", suite 3.
  c = SelectPhase2(*offer, Bundle("1 and 3"), FinderFor(specs), {});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->proposal_number, 2);
  c = SelectPhase2(*offer, Bundle("1"), FinderFor(specs), {});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->proposal_number, 3);
  ASSERT_EQ(c->sas.size(), 1u);
  // The responder's own order of alternatives does not beat the initiator's order.
  c = SelectPhase2(*offer, Bundle("1, 1 and 3"), FinderFor(specs), {});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->proposal_number, 2);
  EXPECT_EQ(c->alternative, 1u);

  // The reply: the chosen suite, one transform per protocol, our SPIs; the initiator
  // checks it.
  c = SelectPhase2(*offer, Bundle("5 and 1 and 3"), FinderFor(specs), {});
  ASSERT_TRUE(c.ok());
  SaPayload reply = BuildPhase2Reply(*c, Phase2Spis{0xaaaaaaaa, 0xbbbbbbbb, 0xcccc});
  ASSERT_EQ(reply.proposals.size(), 3u);
  EXPECT_EQ(reply.proposals[0].spi, (Bytes{0xcc, 0xcc}));
  EXPECT_EQ(reply.proposals[1].spi, (Bytes{0xaa, 0xaa, 0xaa, 0xaa}));
  auto back = ParseSa(BuildSa(reply));
  ASSERT_TRUE(back.ok());
  auto init = CheckPhase2Reply(*back, Bundle("5 and 1 and 3, 1 and 3, 1"), FinderFor(specs), {});
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->alternative, 0u);
  EXPECT_EQ(init->sas[1].peer_spi, 0xaaaaaaaau);
  EXPECT_EQ(init->sas[0].peer_spi, 0xccccu);
}

TEST(Phase2Select, OrAlternatives) {
  const auto specs = SeedSpecs();
  // We propose AH SHA1 or MD5; a responder with only MD5 ("4") picks the second transform.
  auto offer = BuildPhase2Sa(Bundle("1 and 3 or 4"), FinderFor(specs), {}, kSpis);
  ASSERT_TRUE(offer.ok());
  auto c = SelectPhase2(*offer, Bundle("1 and 4"), FinderFor(specs), {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->sas[1].spec_id, 4u);
  EXPECT_EQ(c->sas[1].hash, HashAlg::kMd5);
  EXPECT_EQ(c->sas[1].transform.number, 2);
  // A responder with "3 or 4" takes the peer's first.
  c = SelectPhase2(*offer, Bundle("1 and 4 or 3"), FinderFor(specs), {});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->sas[1].spec_id, 3u);
}

TEST(Phase2Select, RoundTripEveryAlgorithm) {
  const EncAlg encs[] = {EncAlg::kNull,   EncAlg::kDes,    EncAlg::k3DesOuter,
                         EncAlg::kAes128, EncAlg::kAes192, EncAlg::kAes256,
                         EncAlg::kAes128Gcm, EncAlg::kAes256Gcm};
  const HashAlg hashes[] = {HashAlg::kNull,   HashAlg::kMd5,    HashAlg::kSha,
                            HashAlg::kSha256, HashAlg::kSha384, HashAlg::kSha512};
  const size_t enc_bytes[] = {0, 8, 24, 16, 24, 32, 20, 36};
  const size_t hash_bytes[] = {0, 16, 20, 32, 48, 64};
  for (size_t e = 0; e < std::size(encs); ++e) {
    for (size_t h = 0; h < std::size(hashes); ++h) {
      const bool gcm = encs[e] == EncAlg::kAes128Gcm || encs[e] == EncAlg::kAes256Gcm;
      if (encs[e] == EncAlg::kNull && hashes[h] == HashAlg::kNull) continue;
      if (gcm && hashes[h] != HashAlg::kNull) continue;
      for (bool tunnel : {true, false}) {
        std::map<uint32_t, SaSpec> specs{{7, Esp(7, encs[e], hashes[h], tunnel)}};
        Phase2Params params;
        params.pfs_group = 14;
        auto offer = BuildPhase2Sa(Bundle("7"), FinderFor(specs), params, kSpis);
        ASSERT_TRUE(offer.ok()) << offer.status();
        const Transform& t = offer->proposals[0].transforms[0];
        EXPECT_EQ(t.Find(static_cast<uint16_t>(P2Attr::kAuthAlg)) != nullptr,
                  hashes[h] != HashAlg::kNull);
        EXPECT_EQ(AttrValue(t, static_cast<uint16_t>(P2Attr::kGroupDesc)), 14);
        auto c = SelectPhase2(*offer, Bundle("7"), FinderFor(specs), params);
        ASSERT_TRUE(c.ok()) << c.status();
        ASSERT_EQ(c->sas.size(), 1u);
        EXPECT_EQ(c->sas[0].enc, encs[e]);
        EXPECT_EQ(c->sas[0].hash, hashes[h]);
        EXPECT_EQ(c->sas[0].tunnel, tunnel);
        EXPECT_EQ(c->pfs_group, 14);
        EXPECT_EQ(KeymatLength(c->sas[0]), enc_bytes[e] + hash_bytes[h]);
      }
    }
  }
  // AH with every hash, IPComp with both algorithms.
  for (size_t h = 1; h < std::size(hashes); ++h) {
    std::map<uint32_t, SaSpec> specs{{2, Ah(2, hashes[h])}};
    auto offer = BuildPhase2Sa(Bundle("2"), FinderFor(specs), {}, kSpis);
    ASSERT_TRUE(offer.ok());
    auto c = SelectPhase2(*offer, Bundle("2"), FinderFor(specs), {});
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->sas[0].hash, hashes[h]);
    EXPECT_EQ(KeymatLength(c->sas[0]), hash_bytes[h]);
  }
  for (CompAlg comp : {CompAlg::kLzs, CompAlg::kDeflate}) {
    std::map<uint32_t, SaSpec> specs{{5, Comp(5, comp)}, {1, Esp(1, EncAlg::kAes128, HashAlg::kSha)}};
    auto offer = BuildPhase2Sa(Bundle("5 and 1"), FinderFor(specs), {}, kSpis);
    ASSERT_TRUE(offer.ok());
    EXPECT_EQ(offer->proposals[0].transforms[0].id,
              comp == CompAlg::kLzs ? 3 : 2);
    auto c = SelectPhase2(*offer, Bundle("5 and 1"), FinderFor(specs), {});
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->sas[0].comp, comp);
  }
  // Inner-CBC triple DES has no IKE transform id.
  std::map<uint32_t, SaSpec> inner{{1, Esp(1, EncAlg::k3DesInner, HashAlg::kSha)}};
  auto bad = BuildPhase2Sa(Bundle("1"), FinderFor(inner), {}, kSpis);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "SA specification 1: ENCALG=3DESINNER cannot be negotiated");
}

TEST(Phase2Select, MismatchesSayWhat) {
  std::map<uint32_t, SaSpec> ours{{1, Esp(1, EncAlg::kAes256, HashAlg::kSha)}};
  std::map<uint32_t, SaSpec> theirs{{1, Esp(1, EncAlg::k3DesOuter, HashAlg::kSha)},
                                    {2, Esp(2, EncAlg::kAes256, HashAlg::kMd5)},
                                    {3, Ah(3, HashAlg::kSha)}};
  auto offer = BuildPhase2Sa(Bundle("1 or 2, 1 and 3"), FinderFor(theirs), {}, kSpis);
  ASSERT_TRUE(offer.ok());
  auto c = SelectPhase2(*offer, Bundle("1", 9), FinderFor(ours), {});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(NotifyFor(c.status()), NotifyType::kNoProposalChosen);
  EXPECT_EQ(c.status().message(),
            "no acceptable IPsec proposal for bundle 9: proposal 1 (ESP) vs alternative 1: ESP "
            "transform 1: cipher 3DES (SA specification 1: AES256); proposal 2 (ESP+AH) vs "
            "alternative 1: we need ESP");
  // PFS: policy wants group 2, the peer proposes none.
  std::map<uint32_t, SaSpec> same{{1, Esp(1, EncAlg::kAes256, HashAlg::kSha)}};
  offer = BuildPhase2Sa(Bundle("1"), FinderFor(same), {}, kSpis);
  Phase2Params pfs;
  pfs.pfs_group = 2;
  c = SelectPhase2(*offer, Bundle("1"), FinderFor(same), pfs);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "no acceptable IPsec proposal for bundle 1: proposal 1 (ESP) vs alternative 1: ESP "
            "transform 1: no PFS (policy: group 2)");
  // Transport against tunnel.
  std::map<uint32_t, SaSpec> transport{{1, Esp(1, EncAlg::kAes256, HashAlg::kSha, false)}};
  c = SelectPhase2(*offer, Bundle("1"), FinderFor(transport), {});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "no acceptable IPsec proposal for bundle 1: proposal 1 (ESP) vs alternative 1: ESP "
            "transform 1: tunnel mode (SA specification 1: transport)");
  // ESN (RFC 4304) is an attribute our SAs do not have: ATTRIBUTES-NOT-SUPPORTED.
  SaPayload esn = *offer;
  esn.proposals[0].transforms[0].attrs.push_back(
      Attribute::Basic(static_cast<uint16_t>(P2Attr::kEsnFlag), 1));
  c = SelectPhase2(esn, Bundle("1"), FinderFor(same), {});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(NotifyFor(c.status()), NotifyType::kAttributesNotSupported);
  // Two proposals of one protocol in a suite, and decreasing numbers: BAD-PROPOSAL-SYNTAX.
  SaPayload twice = *offer;
  twice.proposals.push_back(twice.proposals[0]);
  c = SelectPhase2(twice, Bundle("1"), FinderFor(same), {});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(NotifyFor(c.status()), NotifyType::kBadProposalSyntax);
  EXPECT_EQ(c.status().message(), "proposal 1 carries ESP twice");
  SaPayload down = *offer;
  down.proposals[0].number = 2;
  down.proposals.push_back(offer->proposals[0]);
  c = SelectPhase2(down, Bundle("1"), FinderFor(same), {});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(NotifyFor(c.status()), NotifyType::kBadProposalSyntax);
  EXPECT_EQ(c.status().message(), "proposal number 1 after 2");
}

TEST(Phase2Select, LifetimesAndResponderLifetime) {
  std::map<uint32_t, SaSpec> specs{{1, Esp(1, EncAlg::kAes128, HashAlg::kSha)}};
  BundleSpec peer_bundle = Bundle("1");
  peer_bundle.expiry_seconds = 86400;
  auto offer = BuildPhase2Sa(peer_bundle, FinderFor(specs), {}, kSpis);
  ASSERT_TRUE(offer.ok());
  const Transform& t = offer->proposals[0].transforms[0];
  ASSERT_NE(t.Find(2), nullptr);
  EXPECT_FALSE(t.Find(2)->basic);   // 86400 > 65535
  // Our bundle: the default 28800 s and 50000 KB: both lower, so RESPONDER-LIFETIME.
  BundleSpec ours = Bundle("1");
  ours.expiry_kbytes = 50000;
  auto c = SelectPhase2(*offer, ours, FinderFor(specs), {});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->life_seconds, 28800u);
  EXPECT_EQ(c->life_kbytes, 50000u);
  EXPECT_TRUE(c->lifetime_lowered);
  EXPECT_EQ(c->sas[0].life_seconds, 86400u);   // as proposed
  // The reply still echoes the proposed transform (86400 s) verbatim.
  SaPayload reply = BuildPhase2Reply(*c, kSpis);
  EXPECT_EQ(BuildSa(SaPayload{kDoiIpsec, kSituationIdentityOnly, {reply.proposals[0]}}),
            BuildSa(reply));
  EXPECT_EQ(*reply.proposals[0].transforms[0].Find(2)->AsInt(), 86400u);
  // A longer bundle lifetime: the peer's shorter one, nothing to tell.
  ours.expiry_seconds = 100000;
  ours.expiry_kbytes.reset();
  c = SelectPhase2(*offer, ours, FinderFor(specs), {});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->life_seconds, 86400u);
  EXPECT_EQ(c->life_kbytes, 0u);
  EXPECT_FALSE(c->lifetime_lowered);
  // No lifetime attribute at all: RFC 2407's 28800 s.
  SaPayload bare = *offer;
  bare.proposals[0].transforms[0].attrs.erase(bare.proposals[0].transforms[0].attrs.begin(),
                                              bare.proposals[0].transforms[0].attrs.begin() + 2);
  c = SelectPhase2(bare, ours, FinderFor(specs), {});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->sas[0].life_seconds, 28800u);
  // RESPONDER-LIFETIME data (phase 2 attribute types 1/2).
  std::vector<Attribute> data = LifetimeAttributes(true, 3600, 0);
  ASSERT_EQ(data.size(), 2u);
  EXPECT_EQ(data[0].type, 1);
  EXPECT_EQ(data[1].type, 2);
  auto life = ReadLifetimes(true, data);
  ASSERT_TRUE(life.ok());
  EXPECT_EQ(life->seconds, 3600u);
}

TEST(Phase2Select, NatTraversalModes) {
  std::map<uint32_t, SaSpec> specs{{1, Esp(1, EncAlg::kAes128, HashAlg::kSha)},
                                   {2, Esp(2, EncAlg::kAes128, HashAlg::kSha, false)}};
  for (auto [udp, tunnel_mode, transport_mode] :
       {std::tuple{UdpEncap::kRfc3947, 3, 4}, std::tuple{UdpEncap::kDraft, 61443, 61444},
        std::tuple{UdpEncap::kNone, 1, 2}}) {
    Phase2Params p;
    p.udp = udp;
    auto offer = BuildPhase2Sa(Bundle("1, 2"), FinderFor(specs), p, kSpis);
    ASSERT_TRUE(offer.ok());
    EXPECT_EQ(AttrValue(offer->proposals[0].transforms[0], 4), tunnel_mode);
    EXPECT_EQ(AttrValue(offer->proposals[1].transforms[0], 4), transport_mode);
    // A NAT-T responder accepts either set of UDP values.
    Phase2Params resp;
    resp.udp = UdpEncap::kRfc3947;
    auto c = SelectPhase2(*offer, Bundle("2"), FinderFor(specs), resp);
    if (udp == UdpEncap::kNone) {
      ASSERT_FALSE(c.ok());
      EXPECT_EQ(c.status().message(),
                "no acceptable IPsec proposal for bundle 1: proposal 1 (ESP) vs alternative 1: "
                "ESP transform 1: tunnel mode but NAT-T is in use; proposal 2 (ESP) vs "
                "alternative 1: ESP transform 1: transport mode but NAT-T is in use");
      continue;
    }
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->proposal_number, 2);
    EXPECT_TRUE(c->sas[0].udp_encap);
    EXPECT_FALSE(c->sas[0].tunnel);
    EXPECT_EQ(static_cast<int>(c->sas[0].encap), transport_mode);
    // Without NAT the UDP modes are refused.
    c = SelectPhase2(*offer, Bundle("1"), FinderFor(specs), {});
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(NotifyFor(c.status()), NotifyType::kNoProposalChosen);
  }
}

// strongSwan 5.9.8's Quick Mode, as initiator and as responder (kernel-libipsec always
// encapsulates in UDP, so its modes are RFC 3947's UDP tunnel).
TEST(Phase2Strongswan, PfsTwoTransforms) {
  const QmCapture& cap = QuickModeCapture("pfs");
  SaPayload req = MustParseSa(cap.request);   // aes128-sha1-modp1024, 3des-md5-modp1024
  ASSERT_EQ(req.proposals.size(), 1u);
  ASSERT_EQ(req.proposals[0].transforms.size(), 2u);
  Phase2Params p;
  p.pfs_group = 2;
  p.udp = UdpEncap::kRfc3947;
  // We do 3DES+MD5 only: strongSwan's second transform.
  std::map<uint32_t, SaSpec> specs{{1, Esp(1, EncAlg::k3DesOuter, HashAlg::kMd5)}};
  auto c = SelectPhase2(req, Bundle("1"), FinderFor(specs), p);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->sas[0].enc, EncAlg::k3DesOuter);
  EXPECT_EQ(c->sas[0].hash, HashAlg::kMd5);
  EXPECT_EQ(c->sas[0].transform.number, 2);
  EXPECT_EQ(c->sas[0].encap, EncapMode::kUdpTunnel);
  EXPECT_EQ(c->sas[0].life_seconds, 3960u);
  EXPECT_EQ(c->life_seconds, 3960u);
  EXPECT_FALSE(c->lifetime_lowered);
  // The SPI: bytes 16..19 of the SA body (after DOI, situation and the proposal header).
  const Bytes raw = FromHex(cap.request);
  EXPECT_EQ(c->sas[0].peer_spi, static_cast<uint32_t>(raw[16]) << 24 |
                                    static_cast<uint32_t>(raw[17]) << 16 |
                                    static_cast<uint32_t>(raw[18]) << 8 | raw[19]);
  EXPECT_EQ(KeymatLength(c->sas[0]), 24u + 16u);
  // The AES transform when we do AES-128 + SHA1: what strongSwan itself answered.
  specs = {{1, Esp(1, EncAlg::kAes128, HashAlg::kSha)}};
  c = SelectPhase2(req, Bundle("1"), FinderFor(specs), p);
  ASSERT_TRUE(c.ok()) << c.status();
  SaPayload theirs = MustParseSa(cap.reply);
  SaPayload mine = BuildPhase2Reply(*c, Phase2Spis{0x01020304, 0, 0});
  ASSERT_EQ(mine.proposals.size(), 1u);
  ASSERT_EQ(theirs.proposals.size(), 1u);
  EXPECT_EQ(mine.proposals[0].number, theirs.proposals[0].number);
  // Same transform bytes as strongSwan's reply, SPI apart.
  mine.proposals[0].spi = theirs.proposals[0].spi;
  EXPECT_EQ(BuildSa(mine), BuildSa(theirs));
  // Our initiator accepts strongSwan's reply to what we would have proposed.
  auto ours = CheckPhase2Reply(theirs, Bundle("1"), FinderFor(specs), p);
  ASSERT_TRUE(ours.ok()) << ours.status();
  EXPECT_EQ(ours->sas[0].enc, EncAlg::kAes128);
  EXPECT_EQ(ours->life_seconds, 3960u);
  // Without PFS in our policy, strongSwan's proposal is refused.
  p.pfs_group = 0;
  c = SelectPhase2(req, Bundle("1"), FinderFor(specs), p);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "no acceptable IPsec proposal for bundle 1: proposal 1 (ESP) vs alternative 1: ESP "
            "transform 1: PFS group 2 (policy: no PFS)");
}

TEST(Phase2Strongswan, GcmAndSha2) {
  const QmCapture& gcm = QuickModeCapture("gcm");
  SaPayload req = MustParseSa(gcm.request);   // aes256gcm16, aes128-sha256; no PFS
  Phase2Params p;
  p.udp = UdpEncap::kRfc3947;
  std::map<uint32_t, SaSpec> specs{{1, Esp(1, EncAlg::kAes256Gcm, HashAlg::kNull)},
                                   {2, Esp(2, EncAlg::kAes128, HashAlg::kSha256)}};
  auto c = SelectPhase2(req, Bundle("2 or 1"), FinderFor(specs), p);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->sas[0].spec_id, 1u);   // strongSwan's first transform, not our first spec
  EXPECT_EQ(c->sas[0].enc, EncAlg::kAes256Gcm);
  EXPECT_EQ(c->sas[0].key_bits, 256);
  EXPECT_EQ(KeymatLength(c->sas[0]), 36u);
  SaPayload mine = BuildPhase2Reply(*c, Phase2Spis{7, 0, 0});
  SaPayload theirs = MustParseSa(gcm.reply);
  mine.proposals[0].spi = theirs.proposals[0].spi;
  EXPECT_EQ(BuildSa(mine), BuildSa(theirs));
  c = SelectPhase2(req, Bundle("2"), FinderFor(specs), p);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->sas[0].hash, HashAlg::kSha256);
  EXPECT_EQ(KeymatLength(c->sas[0]), 16u + 32u);

  const QmCapture& sha2 = QuickModeCapture("sha2");
  req = MustParseSa(sha2.request);   // aes192-sha384-modp2048, aes256-sha512-modp2048
  p.pfs_group = 14;
  specs = {{3, Esp(3, EncAlg::kAes256, HashAlg::kSha512)}};
  c = SelectPhase2(req, Bundle("3"), FinderFor(specs), p);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->sas[0].transform.number, 2);
  EXPECT_EQ(KeymatLength(c->sas[0]), 32u + 64u);
  // strongSwan's own answer chose AES-192/SHA-384; our initiator with both accepts it.
  specs = {{3, Esp(3, EncAlg::kAes256, HashAlg::kSha512)},
           {4, Esp(4, EncAlg::kAes192, HashAlg::kSha384)}};
  auto r = CheckPhase2Reply(MustParseSa(sha2.reply), Bundle("3 or 4"), FinderFor(specs), p);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->sas[0].spec_id, 4u);
  EXPECT_EQ(r->pfs_group, 14);
}

TEST(Phase2Check, ReplyToleratesStrongswansExtraSuiteButNotTwoTransforms) {
  std::map<uint32_t, SaSpec> specs{{5, Comp(5, CompAlg::kDeflate)},
                                   {1, Esp(1, EncAlg::kAes128, HashAlg::kSha)}};
  auto offer = BuildPhase2Sa(Bundle("5 and 1, 1"), FinderFor(specs), {}, kSpis);
  ASSERT_TRUE(offer.ok());
  // strongSwan answers ESP+IPComp as ESP #1, IPCOMP #1, then ESP #2 again.
  SaPayload reply;
  reply.proposals = {offer->proposals[1], offer->proposals[0], offer->proposals[2]};
  auto c = CheckPhase2Reply(reply, Bundle("5 and 1, 1"), FinderFor(specs), {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->proposal_number, 1);
  ASSERT_EQ(c->sas.size(), 2u);
  EXPECT_EQ(c->sas[0].protocol, SaProtocol::kComp);   // our apply order, not the wire's
  EXPECT_EQ(c->sas[0].wire_index, 1u);
  // Two transforms in a reply is not a choice.
  SaPayload two;
  two.proposals = {offer->proposals[2]};
  two.proposals[0].transforms.push_back(two.proposals[0].transforms[0]);
  two.proposals[0].transforms[1].number = 2;
  c = CheckPhase2Reply(two, Bundle("5 and 1, 1"), FinderFor(specs), {});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(NotifyFor(c.status()), NotifyType::kBadProposalSyntax);
  EXPECT_EQ(c.status().message(), "the responder returned 2 ESP transforms, not one");
}

}  // namespace
}  // namespace arsec::ike
