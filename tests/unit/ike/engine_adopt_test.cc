// A bundle adopted after a restart of arsec-control (Engine::AdoptBundle): the restarted
// engine has no ISAKMP SA, only the IPsec SAs the dataplane kept. Its soft expiry must
// bring up a fresh phase 1 and a quick mode that installs the new bundle before the
// adopted one is removed (make-before-break); a soft lifetime that passed during the
// outage rekeys at once; a hard expiry removes the adopted bundle through the installer.
//
// Two engines in one process over an in-memory wire with fixed randomness and a manual
// clock, as in engine_test.cc: A is the restarted side, B its peer.
#include <deque>
#include <map>
#include <memory>
#include <random>

#include "absl/strings/str_cat.h"
#include "cli/lang/bundle_string.h"
#include "control/ike/engine.h"
#include "gtest/gtest.h"

namespace arsec::ike {
namespace {

constexpr uint32_t kA = 0xc0000201;   // 192.0.2.1
constexpr uint32_t kB = 0xc6336402;   // 198.51.100.2

class Wire {
 public:
  struct End : DatagramTransport {
    Wire* w = nullptr;
    int side = 0;
    std::deque<Datagram> in;
    absl::Status Send(const Datagram& d) override {
      (side == 0 ? w->b : w->a).in.push_back(d);
      return absl::OkStatus();
    }
    size_t Receive(std::vector<Datagram>& out, size_t max) override {
      size_t n = 0;
      for (; !in.empty() && n < max; ++n) {
        out.push_back(std::move(in.front()));
        in.pop_front();
      }
      return n;
    }
    void Wait(int) override {}
  };
  Wire() {
    a.w = b.w = this;
    b.side = 1;
  }
  End a, b;
};

// Installs bundles under handles from 1000 up (adopted ones use lower handles, as the
// SHOW IPSEC SA ids of the previous process).
class RecordingInstaller : public SaInstaller {
 public:
  explicit RecordingInstaller(uint32_t base) : base_(base) {}
  uint32_t ReserveSpi(control::SaProtocol) override { return base_ + next_++; }
  void ReleaseSpi(control::SaProtocol, uint32_t) override {}
  absl::StatusOr<uint32_t> Install(const NegotiatedBundle& b) override {
    const uint32_t h = ++handle_;
    bundles[h] = b;
    installed.push_back(h);
    return h;
  }
  void Remove(uint32_t handle) override {
    removed.push_back(handle);
    bundles.erase(handle);
  }
  std::map<uint32_t, NegotiatedBundle> bundles;
  std::vector<uint32_t> installed, removed;

 private:
  uint32_t base_;
  uint32_t next_ = 0;
  uint32_t handle_ = 1000;
};

struct Side {
  Side(DatagramTransport* t, uint32_t spi_base, uint32_t seed) : installer(spi_base), rng(seed) {
    EngineEnv env;
    env.transport = t;
    env.installer = &installer;
    env.log = [this](int, const std::string&, const std::string& line) { log.push_back(line); };
    env.now = [this] { return now; };
    env.random = [this](uint8_t* p, size_t n) {
      for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(rng());
    };
    engine = std::make_unique<Engine>(std::move(env));
  }
  bool Logged(const std::string& s) const {
    for (const auto& l : log)
      if (l.find(s) != std::string::npos) return true;
    return false;
  }
  RecordingInstaller installer;
  std::mt19937 rng;
  absl::Time now = absl::FromUnixSeconds(1700000000);
  std::vector<std::string> log;
  std::unique_ptr<Engine> engine;
};

std::shared_ptr<IkeConfig> Config(bool is_a) {
  auto c = std::make_shared<IkeConfig>();
  c->enabled = true;
  const uint32_t me = is_a ? kA : kB, peer = is_a ? kB : kA;
  c->local_addrs = {me};
  PeerConfig pc;
  pc.name = is_a ? "toB" : "toA";
  pc.peer = peer;
  const std::string psk = "adopt-psk";
  pc.psk = SecretBytes(Bytes(psk.begin(), psk.end()));
  Phase1Offer o;
  o.enc = P1Encryption::kAes;
  o.key_bits = 128;
  o.hash = P1Hash::kSha;
  o.auth = AuthMethod::kPsk;
  o.group = 2;
  o.life_seconds = 86400;
  pc.offers.push_back(o);
  pc.msg_timeout_ms = 1000;
  pc.msg_retry_limit = 3;
  pc.send_deletes = true;
  pc.delete_delay_s = 10;
  c->peers.push_back(std::move(pc));
  control::SaSpec s;
  s.id = 1;
  s.keyman = control::KeyManagement::kIsakmp;
  s.protocol = control::SaProtocol::kEsp;
  s.encalg = control::EncAlg::kAes128;
  s.hashalg = control::HashAlg::kSha;
  Phase2Policy p;
  p.policy_id = 7;
  p.name = "vpn";
  p.view.action = control::PolicyAction::kIpsec;
  p.view.keyman = control::KeyManagement::kIsakmp;
  p.view.peer = peer;
  p.view.laddr = is_a ? 0xc0a80a00 : 0xc0a81400;
  p.view.lmask = 0xffffff00;
  p.view.raddr = is_a ? 0xc0a81400 : 0xc0a80a00;
  p.view.rmask = 0xffffff00;
  p.local = me;
  p.bundle.id = 1;
  p.bundle.keyman = control::KeyManagement::kIsakmp;
  p.bundle.bundle = *lang::ParseBundleString("1");
  p.bundle.text = "1";
  p.specs = {{1, s}};
  c->policies.push_back(std::move(p));
  return c;
}

AdoptedSaBundle Adopted(uint32_t handle, uint32_t in_spi, uint32_t out_spi) {
  AdoptedSaBundle a;
  a.handle = handle;
  a.policy_id = 7;
  a.peer = kB;
  a.local = kA;
  a.in_spis = {{control::SaProtocol::kEsp, in_spi}};
  a.out_spis = {{control::SaProtocol::kEsp, out_spi}};
  a.initiator = true;
  a.soft_left_s = 120;
  return a;
}

class EngineAdoptTest : public ::testing::Test {
 protected:
  EngineAdoptTest() : a_(&wire_.a, 0xa0000000, 11), b_(&wire_.b, 0xb0000000, 12) {
    a_.engine->Configure(Config(true));
    b_.engine->Configure(Config(false));
  }
  void Pump() {
    for (int i = 0; i < 50; ++i) {
      std::vector<Datagram> in;
      wire_.a.Receive(in, 64);
      for (auto& d : in) a_.engine->OnDatagram(d);
      in.clear();
      wire_.b.Receive(in, 64);
      for (auto& d : in) b_.engine->OnDatagram(d);
      if (wire_.a.in.empty() && wire_.b.in.empty()) return;
    }
  }
  void Advance(absl::Duration d) {
    a_.now += d;
    b_.now += d;
    a_.engine->Tick();
    b_.engine->Tick();
    Pump();
  }
  Wire wire_;
  Side a_, b_;
};

TEST_F(EngineAdoptTest, AdoptedBundleIsKnownButNothingIsSentUntilItExpires) {
  a_.engine->AdoptBundle(Adopted(3, 0x1111, 0x2222));
  Pump();
  EXPECT_EQ(a_.engine->Bundles(), (std::map<uint32_t, uint32_t>{{3, 7}}));
  EXPECT_TRUE(a_.engine->IsakmpSas().empty());
  EXPECT_TRUE(wire_.b.in.empty());
  EXPECT_EQ(a_.engine->counter(Ctr::kMainStartedInit), 0u);
  EXPECT_TRUE(a_.Logged("IPsec SA bundle of policy vpn with peer 198.51.100.2 adopted after a "
                        "restart: rekeyed in 120 s"));
  // Adopting the same handle twice changes nothing.
  a_.engine->AdoptBundle(Adopted(3, 0x1111, 0x2222));
  EXPECT_EQ(a_.engine->Bundles().size(), 1u);
  // An acquire for its policy is not a reason to negotiate: it has SAs.
  a_.engine->Acquire(7, 0xc0a80a0a, 0xc0a8140a);
  Pump();
  EXPECT_EQ(a_.engine->counter(Ctr::kMainStartedInit), 0u);
}

TEST_F(EngineAdoptTest, SoftExpiryRekeysWithAFreshPhase1MakeBeforeBreak) {
  a_.engine->AdoptBundle(Adopted(3, 0x1111, 0x2222));
  a_.engine->SoftExpired(3);
  Pump();
  // A new ISAKMP SA (there was none) and a quick mode as initiator.
  EXPECT_EQ(a_.engine->counter(Ctr::kQuickRekeys), 1u);
  EXPECT_EQ(a_.engine->counter(Ctr::kMainDone), 1u);
  EXPECT_EQ(a_.engine->counter(Ctr::kQuickDone), 1u);
  ASSERT_EQ(a_.engine->IsakmpSas().size(), 1u);
  ASSERT_EQ(a_.installer.installed.size(), 1u);
  const uint32_t fresh = a_.installer.installed[0];
  const NegotiatedBundle& nb = a_.installer.bundles.at(fresh);
  EXPECT_EQ(nb.policy_id, 7u);
  EXPECT_EQ(nb.peer, kB);
  ASSERT_EQ(nb.sas.size(), 1u);
  EXPECT_NE(nb.sas[0].in_spi, 0x1111u);
  EXPECT_NE(nb.sas[0].out_spi, 0x2222u);
  ASSERT_EQ(b_.installer.bundles.size(), 1u);
  EXPECT_EQ(b_.installer.bundles.begin()->second.sas[0].in_spi, nb.sas[0].out_spi);
  // The adopted bundle stays through the delete delay, then goes (with a DELETE: now
  // there is an ISAKMP SA to carry it).
  EXPECT_TRUE(a_.installer.removed.empty());
  EXPECT_EQ(a_.engine->Bundles().size(), 2u);
  Advance(absl::Seconds(5));
  EXPECT_TRUE(a_.installer.removed.empty());
  const uint64_t deletes = a_.engine->counter(Ctr::kDeletesSent);
  Advance(absl::Seconds(6));
  EXPECT_EQ(a_.installer.removed, std::vector<uint32_t>{3});
  EXPECT_EQ(a_.engine->Bundles(), (std::map<uint32_t, uint32_t>{{fresh, 7}}));
  EXPECT_EQ(a_.engine->counter(Ctr::kDeletesSent), deletes + 1);
  // A second soft expiry of the removed handle is ignored.
  a_.engine->SoftExpired(3);
  Pump();
  EXPECT_EQ(a_.engine->counter(Ctr::kQuickRekeys), 1u);
}

TEST_F(EngineAdoptTest, SoftLifetimePassedDuringTheOutageRekeysAtOnce) {
  AdoptedSaBundle a = Adopted(5, 0x3333, 0x4444);
  a.soft_passed = true;
  a.soft_left_s = 0;
  a_.engine->AdoptBundle(a);
  Pump();
  EXPECT_TRUE(a_.Logged("soft lifetime passed, rekeying now"));
  EXPECT_EQ(a_.engine->counter(Ctr::kQuickRekeys), 1u);
  EXPECT_EQ(a_.engine->counter(Ctr::kQuickDone), 1u);
  EXPECT_EQ(a_.installer.installed.size(), 1u);
  EXPECT_EQ(a_.engine->Bundles().size(), 2u);   // the adopted one until the delay passes
  Advance(absl::Seconds(11));
  EXPECT_EQ(a_.installer.removed, std::vector<uint32_t>{5});
}

TEST_F(EngineAdoptTest, HardExpiryRemovesTheAdoptedBundle) {
  a_.engine->AdoptBundle(Adopted(3, 0x1111, 0x2222));
  a_.engine->HardExpired(3);
  EXPECT_EQ(a_.installer.removed, std::vector<uint32_t>{3});
  EXPECT_TRUE(a_.engine->Bundles().empty());
  EXPECT_EQ(a_.engine->counter(Ctr::kIpsecSasDeleted), 1u);
}

TEST_F(EngineAdoptTest, ResetIsakmpLeavesAdoptedSasToTheirLifetime) {
  a_.engine->AdoptBundle(Adopted(3, 0x1111, 0x2222));
  a_.engine->ResetSas();
  EXPECT_TRUE(a_.installer.removed.empty());
  EXPECT_EQ(a_.engine->Bundles().count(3), 1u);
}

}  // namespace
}  // namespace arsec::ike
