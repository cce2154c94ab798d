// A restart of arsec-control with negotiated SAs in the dataplane (the recording fake
// stands for the dataplane that outlives the process): the new process dumps the SAs,
// adopts the current bundle of every ISAKMP policy that is still configured (kSaKeep,
// SHOW IPSEC SA shows it as before, the policy points at it, nothing is re-sent), sweeps
// the rest, and hands the adopted bundles to the IKE daemon and to IkeLink once they are
// attached, so that expiry events reach the daemon and it rekeys when due.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "control/config/persistence.h"
#include "control/controller.h"
#include "control/ike_link.h"
#include "fake_dataplane.h"
#include "test_dir.h"

namespace arsec::control {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::FakeDataplane;
using testing::TempDir;

constexpr uint32_t Ip(int a, int b, int c, int d) {
  return (uint32_t(a) << 24) | (uint32_t(b) << 16) | (uint32_t(c) << 8) | uint32_t(d);
}

// The daemon's side, recorded (only what a restart concerns).
class RecordingIke : public ike::IkeService {
 public:
  void Configure(std::shared_ptr<const ike::IkeConfig>) override { ++configures; }
  void Acquire(uint32_t, uint32_t, uint32_t) override {}
  void SaExpired(uint32_t handle, bool hard) override { expired.emplace_back(handle, hard); }
  void AdoptBundle(const ike::AdoptedSaBundle& b) override {
    // Adoption comes after the daemon's first configuration.
    EXPECT_GT(configures, 0);
    adopted.push_back(b);
  }
  std::vector<ike::IsakmpSaInfo> IsakmpSas() override { return {}; }
  std::vector<ike::ExchangeInfo> Exchanges() override { return {}; }
  ike::IsakmpCounters Counters() override { return {}; }
  void ResetSas() override {}
  void ResetCounters() override {}
  void SetDebug(uint32_t, std::shared_ptr<ConsoleSink>) override {}
  int configures = 0;
  std::vector<ike::AdoptedSaBundle> adopted;
  std::vector<std::pair<uint32_t, bool>> expired;
};

// Gateway A of the seed's automatic-keying example, with a manual policy besides.
const char kConfig[] = R"(ADD IP INT=vlan1 IP=192.168.10.1 MASK=255.255.255.0
ADD IP INT=ppp0 IP=1.1.1.1 MASK=255.255.255.0
ADD IP ROUTE=0.0.0.0 INT=ppp0 NEXT=1.1.1.254
CREATE ENCO KEY=1 TYPE=GENERAL VALUE="jogefoge"
CREATE ENCO KEY=2 TYPE=DES VALUE=0xF888CAC6C66ECF52
CREATE ENCO KEY=3 TYPE=GENERAL VALUE=0x431d62cd3cb76fb8101dacaf43aa4dbfb919e957
CREATE ISAKMP POLICY=i PEER=2.2.2.2 KEY=1 SENDN=TRUE
CREATE IPSEC SASPEC=1 KEYMAN=ISAKMP PROT=ESP ENCALG=3DESOUTER HASHALG=SHA
CREATE IPSEC BUNDLE=1 KEYMAN=ISAKMP STRING="1"
CREATE IPSEC SASPEC=2 KEYMAN=MANUAL PROT=ESP ENCALG=DES ENCKEY=2 HASHALG=SHA HASHKEY=3 INSPI=1000 OUTSPI=1001
CREATE IPSEC BUNDLE=2 KEYMAN=MANUAL STRING="2"
CREATE IPSEC POLICY=isa INT=ppp0 ACTION=PERMIT LPORT=500 RPORT=500 TRANSPORT=UDP
CREATE IPSEC POLICY=vpn INT=ppp0 ACTION=IPSEC KEYMAN=ISAKMP BUNDLE=1 PEER=2.2.2.2
SET IPSEC POLICY=vpn LAD=192.168.10.0 LMA=255.255.255.0 RAD=192.168.20.0 RMA=255.255.255.0
CREATE IPSEC POLICY=man INT=ppp0 ACTION=IPSEC KEYMAN=MANUAL BUNDLE=2 PEER=3.3.3.3
SET IPSEC POLICY=man LAD=192.168.10.0 LMA=255.255.255.0 RAD=192.168.30.0 RMA=255.255.255.0
CREATE IPSEC POLICY=inet INT=ppp0 ACTION=PERMIT
ENABLE IPSEC
ENABLE ISAKMP
)";

ike::NegotiatedBundle Negotiated(uint32_t policy_id, uint32_t in_spi, uint32_t out_spi) {
  ike::NegotiatedBundle nb;
  nb.policy_id = policy_id;
  nb.local = Ip(1, 1, 1, 1);
  nb.peer = Ip(2, 2, 2, 2);
  ike::NegotiatedSa s;
  s.protocol = SaProtocol::kEsp;
  s.spec_id = 1;
  s.enc = EncAlg::k3DesOuter;
  s.hash = HashAlg::kSha;
  s.in_spi = in_spi;
  s.out_spi = out_spi;
  ike::Bytes k(24 + 20, 0x5a);
  s.in_key = SecretBytes(k);
  s.out_key = SecretBytes(ike::Bytes(24 + 20, 0xa5));
  s.soft_seconds = 100;
  s.hard_seconds = 120;
  nb.sas.push_back(std::move(s));
  return nb;
}

// One control process after another on the same (fake) dataplane.
class IkeRestartTest : public ::testing::Test {
 protected:
  ControllerOptions Options() const {
    ControllerOptions o;
    o.config_dir = dir_.path() + "/etc";
    o.default_boot = dir_.path() + "/etc/boot.cfg";
    o.snapshot_path = dir_.path() + "/run/arsec.running.cfg";
    o.flush_interval = absl::ZeroDuration();
    return o;
  }
  std::unique_ptr<Controller> StartControl() {
    auto c = std::make_unique<Controller>(&dp_, &log_, Options());
    EXPECT_TRUE(c->Start().ok());
    return c;
  }
  void Script(Controller& c, absl::string_view text) {
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      if (absl::StripAsciiWhitespace(line).empty()) continue;
      CommandResult r = c.Execute(mgr_, line);
      ASSERT_TRUE(r.ok) << line << "\n" << r.output;
    }
  }
  uint32_t PolicyId(Controller& c, const std::string& name) {
    return c.WithIpsec([&](const IpsecModel& m, const EncoKeyStore&) {
      const Policy* p = m.FindPolicy(name);
      return p ? p->id : 999u;
    });
  }
  std::map<uint32_t, SaRecord> Sas(Controller& c) {
    return c.WithIpsec([](const IpsecModel& m, const EncoKeyStore&) { return m.sas(); });
  }
  // The first process: configured, one bundle negotiated for "vpn". Returns its SA id.
  uint32_t FirstLife(absl::string_view extra = "") {
    auto first = StartControl();
    Script(*first, kConfig);
    if (!extra.empty()) Script(*first, extra);
    auto ids = first->InstallNegotiatedBundle(Negotiated(PolicyId(*first, "vpn"), 0x1111, 0x2222));
    EXPECT_TRUE(ids.ok()) << ids.status();
    return ids.ok() ? ids->front() : 0;
  }
  // The log's text with the SHOW LOG line wrapping undone.
  std::string LogText() {
    return absl::StrJoin(absl::StrSplit(log_.Format("", ""), absl::ByAnyChar(" \n"),
                                        absl::SkipEmpty()),
                         " ");
  }
  bool Called(const std::string& call) const {
    return std::find(dp_.calls.begin(), dp_.calls.end(), call) != dp_.calls.end();
  }

  TempDir dir_;
  FakeDataplane dp_;
  LogBuffer log_;
  Session mgr_{"manager", lang::Privilege::kManager, true};
};

TEST_F(IkeRestartTest, NegotiatedBundleIsAdoptedNotSwept) {
  const uint32_t sid = FirstLife();
  ASSERT_NE(sid, 0u);
  const uint32_t vpn = dp_.sas.at(2 * sid).policy_id;
  const std::map<uint32_t, msg::SaBody> before = dp_.sas;
  dp_.sa_runtime[2 * sid].age_s = 40;
  dp_.sa_runtime[2 * sid + 1].age_s = 40;
  dp_.sa_runtime[2 * sid].bytes = 5000;
  dp_.calls.clear();

  auto second = StartControl();
  // Dumped before the replay, re-asserted without keys, never re-added.
  EXPECT_TRUE(Called("sa_dump"));
  EXPECT_TRUE(Called(absl::StrCat("sa_keep ", 2 * sid)));
  EXPECT_TRUE(Called(absl::StrCat("sa_keep ", 2 * sid + 1)));
  for (const auto& c : dp_.calls) {
    EXPECT_THAT(c, Not(HasSubstr(absl::StrCat("sa_add ", 2 * sid, " "))));
    EXPECT_THAT(c, Not(HasSubstr(absl::StrCat("sa_del ", 2 * sid))));
  }
  // The dataplane still has both, keys untouched (the fake keeps them for this check).
  ASSERT_EQ(dp_.sas.count(2 * sid), 1u);
  ASSERT_EQ(dp_.sas.count(2 * sid + 1), 1u);
  EXPECT_EQ(std::memcmp(&dp_.sas.at(2 * sid), &before.at(2 * sid), sizeof(msg::SaBody)), 0);
  // The manual SA pair was re-asserted by the replay as usual.
  size_t manual = 0;
  for (const auto& [id, b] : dp_.sas) manual += b.spi == 1000 || b.spi == 1001;
  EXPECT_EQ(manual, 2u);
  // The policy points at the adopted SAs.
  const msg::PolicyBody& pb = dp_.policies.at(vpn);
  ASSERT_EQ(pb.n_out, 1);
  EXPECT_EQ(pb.out_sa[0], 2 * sid);
  EXPECT_EQ(pb.in_sa[0], 2 * sid + 1);
  // The model shows it as the negotiated SA it was.
  auto sas = Sas(*second);
  ASSERT_EQ(sas.count(sid), 1u);
  const SaRecord& r = sas.at(sid);
  EXPECT_FALSE(r.manual);
  EXPECT_EQ(r.policy_id, vpn);
  EXPECT_EQ(r.spec_id, 1u);
  EXPECT_EQ(r.bundle_id, 1u);
  EXPECT_EQ(r.enc, EncAlg::k3DesOuter);
  EXPECT_EQ(r.hash, HashAlg::kSha);
  EXPECT_EQ(r.in_spi, 0x1111u);
  EXPECT_EQ(r.out_spi, 0x2222u);
  EXPECT_EQ(r.peer, Ip(2, 2, 2, 2));
  EXPECT_EQ(r.local, Ip(1, 1, 1, 1));
  EXPECT_EQ(r.soft_seconds, 100u);
  EXPECT_EQ(r.hard_seconds, 120u);
  EXPECT_FALSE(r.soft_expired);
  const std::string shown = second->Execute(mgr_, "SHOW IPSEC SA").output;
  EXPECT_THAT(shown, HasSubstr("vpn"));
  EXPECT_THAT(shown, HasSubstr(std::to_string(0x1111)));
  EXPECT_THAT(LogText(), HasSubstr(absl::StrCat("Negotiated SA ", sid, " of policy vpn kept across the restart")));

  // The IKE daemon and IkeLink learn of it when they attach.
  RecordingIke ike;
  IkeLink link(second.get());
  second->SetIkeService(&ike, &link);
  ASSERT_EQ(ike.adopted.size(), 1u);
  const ike::AdoptedSaBundle& a = ike.adopted[0];
  EXPECT_EQ(a.handle, sid);
  EXPECT_EQ(a.policy_id, vpn);
  EXPECT_EQ(a.peer, Ip(2, 2, 2, 2));
  EXPECT_EQ(a.local, Ip(1, 1, 1, 1));
  EXPECT_TRUE(a.initiator);
  ASSERT_EQ(a.in_spis.size(), 1u);
  EXPECT_EQ(a.in_spis[0], std::make_pair(SaProtocol::kEsp, 0x1111u));
  EXPECT_EQ(a.out_spis[0], std::make_pair(SaProtocol::kEsp, 0x2222u));
  EXPECT_EQ(a.soft_left_s, std::optional<uint32_t>(60));
  EXPECT_FALSE(a.soft_passed);
  EXPECT_EQ(link.BundleOfSa(sid), sid);
  // Its soft expiry reaches the daemon; told once only.
  msg::SaExpiryEvent e{};
  e.sa_id = 2 * sid;
  e.policy_id = vpn;
  second->OnSaExpiry(e);
  EXPECT_EQ(ike.expired, (std::vector<std::pair<uint32_t, bool>>{{sid, false}}));
  second->SetIkeService(&ike, &link);
  EXPECT_EQ(ike.adopted.size(), 1u);
  // The daemon removes it once rekeyed: gone from the model and the dataplane.
  link.Remove(sid);
  EXPECT_EQ(Sas(*second).count(sid), 0u);
  EXPECT_EQ(dp_.sas.count(2 * sid), 0u);
  EXPECT_EQ(dp_.sas.count(2 * sid + 1), 0u);
  second->SetIkeService(nullptr, nullptr);
}

TEST_F(IkeRestartTest, ASoftLifetimePassedDuringTheOutageAsksForARekeyAtOnce) {
  const uint32_t sid = FirstLife();
  dp_.sa_runtime[2 * sid].age_s = 105;
  dp_.sa_runtime[2 * sid].state = 2;
  auto second = StartControl();
  EXPECT_TRUE(Sas(*second).at(sid).soft_expired);
  RecordingIke ike;
  IkeLink link(second.get());
  second->SetIkeService(&ike, &link);
  ASSERT_EQ(ike.adopted.size(), 1u);
  EXPECT_TRUE(ike.adopted[0].soft_passed);
  EXPECT_EQ(ike.adopted[0].soft_left_s, std::optional<uint32_t>(0));
  second->SetIkeService(nullptr, nullptr);
}

TEST_F(IkeRestartTest, SasOfAPolicyNoLongerConfiguredAreSwept) {
  const uint32_t sid = FirstLife();
  // The running configuration the new process replays lost the policy meanwhile.
  const std::string snap = *ReadFile(Options().snapshot_path);
  std::string edited;
  for (absl::string_view line : absl::StrSplit(snap, '\n')) {
    if (absl::StrContains(line, "POLICY=vpn")) continue;
    absl::StrAppend(&edited, line, "\n");
  }
  ASSERT_TRUE(WriteFileAtomic(Options().snapshot_path, edited, 0600).ok());
  auto second = StartControl();
  EXPECT_FALSE(Called(absl::StrCat("sa_keep ", 2 * sid)));
  EXPECT_EQ(dp_.sas.count(2 * sid), 0u);
  EXPECT_EQ(dp_.sas.count(2 * sid + 1), 0u);
  EXPECT_EQ(Sas(*second).count(sid), 0u);
  // The id is free again for what comes next.
  EXPECT_EQ(second->WithIpsec([](IpsecModel& m, const EncoKeyStore&) { return m.AllocateSaId(); }),
            sid);
  RecordingIke ike;
  IkeLink link(second.get());
  second->SetIkeService(&ike, &link);
  EXPECT_TRUE(ike.adopted.empty());
  second->SetIkeService(nullptr, nullptr);
}

TEST_F(IkeRestartTest, AChangedPeerMeansTheOldSasAreNotAdopted) {
  const uint32_t sid = FirstLife();
  const std::string snap = *ReadFile(Options().snapshot_path);
  ASSERT_THAT(snap, HasSubstr("PEERADDRESS=2.2.2.2"));
  ASSERT_TRUE(WriteFileAtomic(Options().snapshot_path,
                              absl::StrReplaceAll(snap, {{"PEERADDRESS=2.2.2.2", "PEERADDRESS=2.2.2.9"}}),
                              0600)
                  .ok());
  auto second = StartControl();
  EXPECT_EQ(dp_.sas.count(2 * sid), 0u);
  const uint32_t vpn = PolicyId(*second, "vpn");
  EXPECT_EQ(dp_.policies.at(vpn).n_out, 0);   // the carried bundle cleared by the sweep
}

TEST_F(IkeRestartTest, RenumberedPolicyStillAdoptsItsSas) {
  // Policy ids follow the old process's history: with a policy created before "vpn" and
  // destroyed since, the replay gives "vpn" another id. The SAs follow it by name.
  uint32_t sid = 0, old_id = 0;
  {
    auto first = StartControl();
    Script(*first, "CREATE IPSEC POLICY=tmp INT=vlan1 ACTION=PERMIT");
    Script(*first, kConfig);
    Script(*first, "DESTROY IPSEC POLICY=tmp");
    old_id = PolicyId(*first, "vpn");
    auto ids = first->InstallNegotiatedBundle(Negotiated(old_id, 0x1111, 0x2222));
    ASSERT_TRUE(ids.ok()) << ids.status();
    sid = ids->front();
  }
  auto second = StartControl();
  const uint32_t new_id = PolicyId(*second, "vpn");
  ASSERT_NE(new_id, old_id);
  EXPECT_TRUE(Called(absl::StrCat("sa_keep ", 2 * sid, " policy=", new_id)));
  EXPECT_TRUE(Called(absl::StrCat("sa_keep ", 2 * sid + 1, " policy=", new_id)));
  EXPECT_EQ(dp_.sas.at(2 * sid).policy_id, new_id);
  EXPECT_EQ(dp_.sas.at(2 * sid + 1).policy_id, new_id);
  EXPECT_EQ(dp_.policies.at(new_id).n_out, 1);
  EXPECT_EQ(dp_.policies.at(new_id).out_sa[0], 2 * sid);
  EXPECT_EQ(Sas(*second).at(sid).policy_id, new_id);
}

TEST_F(IkeRestartTest, ManualSasDoNotTakeTheIdsOfSasToAdopt) {
  // The negotiated bundle got id 1 before the manual policy existed; the replay creates
  // the manual policy first, and must not put its SAs on id 1.
  uint32_t sid = 0;
  {
    auto first = StartControl();
    std::string without_manual;
    for (absl::string_view line : absl::StrSplit(kConfig, '\n')) {
      if (absl::StrContains(line, "POLICY=man")) continue;
      absl::StrAppend(&without_manual, line, "\n");
    }
    Script(*first, without_manual);
    auto ids = first->InstallNegotiatedBundle(Negotiated(PolicyId(*first, "vpn"), 0x1111, 0x2222));
    ASSERT_TRUE(ids.ok()) << ids.status();
    sid = ids->front();
    ASSERT_EQ(sid, 1u);
    Script(*first, R"(CREATE IPSEC POLICY=man INT=ppp0 ACTION=IPSEC KEYMAN=MANUAL BUNDLE=2 PEER=3.3.3.3
SET IPSEC POLICY=man LAD=192.168.10.0 LMA=255.255.255.0 RAD=192.168.30.0 RMA=255.255.255.0)");
  }
  auto second = StartControl();
  auto sas = Sas(*second);
  ASSERT_EQ(sas.count(1), 1u);
  EXPECT_FALSE(sas.at(1).manual);
  EXPECT_EQ(sas.at(1).in_spi, 0x1111u);
  size_t manual = 0;
  for (const auto& [id, r] : sas) manual += r.manual;
  EXPECT_EQ(manual, 1u);
  EXPECT_EQ(dp_.sas.at(2).spi, 0x2222u);
}

TEST_F(IkeRestartTest, ADataplaneWithoutTheDumpMeansRenegotiation) {
  const uint32_t sid = FirstLife();
  dp_.dump_unsupported = true;
  auto second = StartControl();
  EXPECT_EQ(dp_.sas.count(2 * sid), 0u);
  EXPECT_THAT(LogText(), HasSubstr("could not be read"));
}

}  // namespace
}  // namespace arsec::control
