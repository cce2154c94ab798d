// Two arsec IKE engines in one process: Main, Aggressive and Quick Mode (with and
// without PFS), NAT-T through a simulated NAT, wrong keys, proposal mismatches, lost
// messages, DPD, DELETE and rekeying, over an in-memory transport with fixed randomness
// and a manual clock. The SAs both sides install must mirror each other: A's outbound
// SPI and keys are B's inbound ones and vice versa.
#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "cli/lang/bundle_string.h"
#include "control/ike/engine.h"
#include "gtest/gtest.h"

namespace arsec::ike {
namespace {

constexpr uint32_t kA = 0xc0000201;       // 192.0.2.1
constexpr uint32_t kB = 0xc6336402;       // 198.51.100.2
constexpr uint32_t kNatOutside = 0xcb007107;   // 203.0.113.7: A's NAT

// The wire between the two engines: datagrams queue until Pump delivers them. A NAT in
// front of A rewrites A's source (and B's replies back) when enabled.
class Wire {
 public:
  struct End : DatagramTransport {
    Wire* w = nullptr;
    int side = 0;
    std::deque<Datagram> in;
    absl::Status Send(const Datagram& d) override {
      w->Deliver(side, d);
      return absl::OkStatus();
    }
    size_t Receive(std::vector<Datagram>& out, size_t max) override {
      size_t n = 0;
      while (!in.empty() && n < max) {
        out.push_back(std::move(in.front()));
        in.pop_front();
        ++n;
      }
      return n;
    }
    void Wait(int) override {}
  };
  Wire() {
    a.w = b.w = this;
    a.side = 0;
    b.side = 1;
  }
  void Deliver(int from, Datagram d) {
    ++sent[from];
    if (drop_next[from] > 0) {
      --drop_next[from];
      return;
    }
    if (nat) {
      if (from == 0) {   // A -> B: source rewritten
        nat_inside_port[d.sport] = d.sport;
        d.src = kNatOutside;
        d.sport = static_cast<uint16_t>(d.sport == 500 ? 31000 : 31001);
      } else {           // B -> NAT -> A
        if (d.dst != kNatOutside) return;
        d.dst = kA;
        d.dport = d.dport == 31000 ? 500 : 4500;
      }
    }
    (from == 0 ? b : a).in.push_back(std::move(d));
  }
  End a, b;
  bool nat = false;
  int drop_next[2] = {0, 0};
  int sent[2] = {0, 0};
  std::map<uint16_t, uint16_t> nat_inside_port;
};

// Records installed bundles.
class RecordingInstaller : public SaInstaller {
 public:
  uint32_t ReserveSpi(control::SaProtocol p) override {
    return p == control::SaProtocol::kComp ? 0x1000 + next_++ : base_ + next_++;
  }
  void ReleaseSpi(control::SaProtocol, uint32_t) override {}
  absl::StatusOr<uint32_t> Install(const NegotiatedBundle& b) override {
    const uint32_t h = ++handle_;
    bundles[h] = b;
    return h;
  }
  void Remove(uint32_t handle) override {
    removed.push_back(handle);
    bundles.erase(handle);
  }
  explicit RecordingInstaller(uint32_t base) : base_(base) {}
  std::map<uint32_t, NegotiatedBundle> bundles;
  std::vector<uint32_t> removed;

 private:
  uint32_t base_;
  uint32_t next_ = 0;
  uint32_t handle_ = 0;
};

struct Side {
  explicit Side(DatagramTransport* t, uint32_t spi_base, uint32_t seed)
      : installer(spi_base), rng(seed), seed(seed), transport(t) {
    Reboot();
  }
  // A fresh engine on the same wire (the first, or as after a reboot: nothing of the old
  // one is kept, its installed bundles are forgotten).
  void Reboot() {
    installer.bundles.clear();
    EngineEnv env;
    env.transport = transport;
    env.installer = &installer;
    env.log = [this](int, const std::string&, const std::string& line) { log.push_back(line); };
    env.debug = [this](uint32_t flag, const std::string& text) { debug.emplace_back(flag, text); };
    env.now = [this] { return now; };
    env.random = [this](uint8_t* p, size_t n) {
      if (same_random_every_call) rng.seed(seed);
      for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(rng());
    };
    env.check_indexes = true;   // every datagram and tick: the lookup indexes vs scans
    engine = std::make_unique<Engine>(std::move(env));
  }
  RecordingInstaller installer;
  std::mt19937 rng;
  uint32_t seed;
  // Every call for randomness yields the same bytes (cookies that collide).
  bool same_random_every_call = false;
  DatagramTransport* transport;
  absl::Time now = absl::FromUnixSeconds(1700000000);
  std::vector<std::string> log;
  std::vector<std::pair<uint32_t, std::string>> debug;
  std::unique_ptr<Engine> engine;
  bool Logged(const std::string& s) const {
    for (const auto& l : log)
      if (l.find(s) != std::string::npos) return true;
    return false;
  }
};

control::SaSpec EspSpec(uint32_t id, control::EncAlg enc, control::HashAlg hash) {
  control::SaSpec s;
  s.id = id;
  s.keyman = control::KeyManagement::kIsakmp;
  s.protocol = control::SaProtocol::kEsp;
  s.encalg = enc;
  s.hashalg = hash;
  return s;
}

Phase2Policy MakePolicy(uint32_t id, uint32_t local, uint32_t peer, uint32_t lnet, uint32_t rnet,
                        const std::string& bundle, std::map<uint32_t, control::SaSpec> specs,
                        int pfs) {
  Phase2Policy p;
  p.policy_id = id;
  p.name = absl::StrCat("vpn", id);
  p.view.action = control::PolicyAction::kIpsec;
  p.view.keyman = control::KeyManagement::kIsakmp;
  p.view.peer = peer;
  p.view.laddr = lnet;
  p.view.lmask = 0xffffff00;
  p.view.raddr = rnet;
  p.view.rmask = 0xffffff00;
  p.local = local;
  p.bundle.id = 1;
  p.bundle.keyman = control::KeyManagement::kIsakmp;
  p.bundle.bundle = *lang::ParseBundleString(bundle);
  p.bundle.text = bundle;
  p.specs = std::move(specs);
  p.pfs_group = pfs;
  return p;
}

PeerConfig MakePeer(const std::string& name, uint32_t peer, const std::string& psk, int group) {
  PeerConfig c;
  c.name = name;
  c.peer = peer;
  c.psk = SecretBytes(Bytes(psk.begin(), psk.end()));
  Phase1Offer o;
  o.enc = P1Encryption::kAes;
  o.key_bits = 128;
  o.hash = P1Hash::kSha;
  o.auth = AuthMethod::kPsk;
  o.group = group;
  o.life_seconds = 86400;
  o.life_kbytes = 0;
  c.offers.push_back(o);
  c.msg_timeout_ms = 1000;
  c.msg_retry_limit = 3;
  return c;
}

class EngineTest : public ::testing::Test {
 protected:
  EngineTest() : a_(&wire_.a, 0xa0000000, 1), b_(&wire_.b, 0xb0000000, 2) {}

  void Configure(std::shared_ptr<IkeConfig> ca, std::shared_ptr<IkeConfig> cb) {
    cfg_a_ = ca;
    cfg_b_ = cb;
    a_.engine->Configure(ca);
    b_.engine->Configure(cb);
  }
  std::shared_ptr<IkeConfig> Basic(bool is_a, const std::string& psk, int group, int pfs,
                                   const std::string& bundle = "1") {
    auto c = std::make_shared<IkeConfig>();
    c->enabled = true;
    const uint32_t me = is_a ? kA : kB, peer = is_a ? kB : kA;
    c->local_addrs = {me};
    c->peers.push_back(MakePeer(is_a ? "toB" : "toA", peer, psk, group));
    std::map<uint32_t, control::SaSpec> specs{
        {1, EspSpec(1, control::EncAlg::kAes128, control::HashAlg::kSha)}};
    c->policies.push_back(MakePolicy(7, me, peer, is_a ? 0xc0a80a00 : 0xc0a81400,
                                     is_a ? 0xc0a81400 : 0xc0a80a00, bundle, specs, pfs));
    return c;
  }
  // The seed's VPN client (A) in aggressive mode, naming itself by `id`.
  std::shared_ptr<IkeConfig> AggressiveClient(const std::string& id) {
    auto c = Basic(true, "k", 2, 0);
    c->peers[0].aggressive = true;
    c->peers[0].local_id = Identity::FromString(id);
    return c;
  }
  // The centre (B): PEER=ANY found by REMOTEID in aggressive mode, and a PEER=DYNAMIC
  // IPsec policy.
  std::shared_ptr<IkeConfig> AggressiveCentre(const std::string& remote_id) {
    auto c = Basic(false, "k", 2, 0);
    c->peers[0].peer = 0;
    c->peers[0].any = true;
    c->peers[0].aggressive = true;
    c->peers[0].remote_id = Identity::FromString(remote_id);
    c->policies[0].view.peer = 0;
    c->policies[0].view.peer_dynamic = true;
    return c;
  }
  // Delivers queued datagrams both ways until the wire is quiet.
  void Pump(int rounds = 50) {
    for (int i = 0; i < rounds; ++i) {
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
  static void ExpectMirrored(const NegotiatedBundle& x, const NegotiatedBundle& y) {
    ASSERT_EQ(x.sas.size(), y.sas.size());
    for (size_t i = 0; i < x.sas.size(); ++i) {
      EXPECT_EQ(x.sas[i].out_spi, y.sas[i].in_spi);
      EXPECT_EQ(x.sas[i].in_spi, y.sas[i].out_spi);
      EXPECT_EQ(x.sas[i].out_key.bytes(), y.sas[i].in_key.bytes());
      EXPECT_EQ(x.sas[i].in_key.bytes(), y.sas[i].out_key.bytes());
      EXPECT_NE(x.sas[i].in_key.bytes(), x.sas[i].out_key.bytes());
      EXPECT_EQ(x.sas[i].enc, y.sas[i].enc);
      EXPECT_EQ(x.sas[i].hash, y.sas[i].hash);
    }
  }

  Wire wire_;
  Side a_, b_;
  std::shared_ptr<IkeConfig> cfg_a_, cfg_b_;
};

TEST_F(EngineTest, MainModeAndQuickModeInstallMirroredSas) {
  Configure(Basic(true, "s3cret", 2, 0), Basic(false, "s3cret", 2, 0));
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  Pump();
  ASSERT_EQ(a_.engine->IsakmpSas().size(), 1u);
  ASSERT_EQ(b_.engine->IsakmpSas().size(), 1u);
  EXPECT_EQ(a_.engine->IsakmpSas()[0].encalg, "AES128");
  EXPECT_EQ(a_.engine->IsakmpSas()[0].mode, "MAIN");
  ASSERT_EQ(a_.installer.bundles.size(), 1u);
  ASSERT_EQ(b_.installer.bundles.size(), 1u);
  const auto& x = a_.installer.bundles.begin()->second;
  const auto& y = b_.installer.bundles.begin()->second;
  ExpectMirrored(x, y);
  EXPECT_EQ(x.sas[0].in_key.size(), 16u + 20u);   // AES-128 key + HMAC-SHA1 key
  EXPECT_FALSE(x.udp_encap);
  EXPECT_EQ(x.peer, kB);
  EXPECT_EQ(y.peer, kA);
  EXPECT_EQ(a_.engine->counter(Ctr::kMainDone), 1u);
  EXPECT_EQ(b_.engine->counter(Ctr::kQuickDone), 1u);
  EXPECT_TRUE(a_.Logged("Phase 1 [init] started with peer 198.51.100.2"));
  EXPECT_TRUE(a_.Logged("Completed successfully"));
  EXPECT_TRUE(a_.engine->Exchanges().empty());
}

TEST_F(EngineTest, QuickModeWithPfs) {
  Configure(Basic(true, "k", 1, 2), Basic(false, "k", 1, 2));
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  Pump();
  ASSERT_EQ(a_.installer.bundles.size(), 1u);
  ASSERT_EQ(b_.installer.bundles.size(), 1u);
  ExpectMirrored(a_.installer.bundles.begin()->second, b_.installer.bundles.begin()->second);
}

TEST_F(EngineTest, WrongPreSharedKeyFailsBothSides) {
  Configure(Basic(true, "right", 2, 0), Basic(false, "wrong", 2, 0));
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  Pump();
  EXPECT_TRUE(a_.installer.bundles.empty());
  EXPECT_TRUE(b_.installer.bundles.empty());
  EXPECT_TRUE(a_.engine->IsakmpSas().empty());
  EXPECT_TRUE(b_.engine->IsakmpSas().empty());
  EXPECT_GE(b_.engine->counter(Ctr::kMainAuthFailed) + a_.engine->counter(Ctr::kMainAuthFailed), 1u);
}

TEST_F(EngineTest, Phase1ProposalMismatch) {
  auto cb = Basic(false, "k", 2, 0);
  cb->peers[0].offers[0].group = 14;
  Configure(Basic(true, "k", 2, 0), cb);
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  Pump();
  EXPECT_EQ(b_.engine->counter(Ctr::kMainNoProposal), 1u);
  EXPECT_TRUE(b_.Logged("Failed"));
  EXPECT_TRUE(a_.installer.bundles.empty());
}

TEST_F(EngineTest, Phase2ProposalMismatch) {
  auto cb = Basic(false, "k", 2, 0);
  cb->policies[0].specs[1] = EspSpec(1, control::EncAlg::k3DesOuter, control::HashAlg::kMd5);
  Configure(Basic(true, "k", 2, 0), cb);
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  Pump();
  EXPECT_EQ(a_.engine->IsakmpSas().size(), 1u);   // phase 1 fine
  EXPECT_EQ(b_.engine->counter(Ctr::kQuickNoProposal), 1u);
  EXPECT_TRUE(a_.installer.bundles.empty());
  EXPECT_TRUE(b_.installer.bundles.empty());
}

TEST_F(EngineTest, AggressiveModeByIdentity) {
  Configure(AggressiveClient("client1"), AggressiveCentre("client1"));
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  Pump();
  ASSERT_EQ(a_.engine->IsakmpSas().size(), 1u);
  EXPECT_EQ(a_.engine->IsakmpSas()[0].mode, "AGGRESSIVE");
  EXPECT_EQ(b_.engine->IsakmpSas()[0].remote_id, "client1");
  ASSERT_EQ(b_.installer.bundles.size(), 1u);
  EXPECT_EQ(b_.installer.bundles.begin()->second.peer, kA);
  ExpectMirrored(a_.installer.bundles.begin()->second, b_.installer.bundles.begin()->second);
}

TEST_F(EngineTest, AggressiveModeUnknownIdentityRefused) {
  Configure(AggressiveClient("intruder"), AggressiveCentre("client1"));
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  Pump();
  EXPECT_TRUE(b_.engine->IsakmpSas().empty());
  EXPECT_TRUE(b_.installer.bundles.empty());
}

TEST_F(EngineTest, NatTraversalFloatsAndEncapsulates) {
  auto ca = Basic(true, "k", 2, 0);
  auto cb = Basic(false, "k", 2, 0);
  ca->peers[0].nat_t = true;
  cb->peers[0].nat_t = true;
  cb->peers[0].peer = 0;       // B sees A's NAT address: A is a PEER=ANY client for it
  cb->peers[0].any = true;
  cb->policies[0].view.peer = 0;
  cb->policies[0].view.peer_dynamic = true;
  wire_.nat = true;
  Configure(ca, cb);
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  Pump();
  ASSERT_EQ(a_.installer.bundles.size(), 1u);
  ASSERT_EQ(b_.installer.bundles.size(), 1u);
  const auto& x = a_.installer.bundles.begin()->second;
  const auto& y = b_.installer.bundles.begin()->second;
  EXPECT_TRUE(x.udp_encap);
  EXPECT_TRUE(y.udp_encap);
  EXPECT_EQ(x.encap_sport, 4500);
  EXPECT_EQ(x.encap_dport, 4500);
  EXPECT_EQ(y.peer, kNatOutside);
  EXPECT_EQ(y.encap_dport, 31001);   // the NAT's port for A's 4500
  EXPECT_TRUE(a_.engine->IsakmpSas()[0].local_behind_nat);
  EXPECT_TRUE(b_.engine->IsakmpSas()[0].peer_behind_nat);
  ExpectMirrored(x, y);
}

TEST_F(EngineTest, LostMessageIsRetransmitted) {
  Configure(Basic(true, "k", 2, 0), Basic(false, "k", 2, 0));
  wire_.drop_next[1] = 1;   // B's first answer is lost
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  Pump();
  EXPECT_TRUE(a_.installer.bundles.empty());
  Advance(absl::Milliseconds(1100));
  EXPECT_GE(a_.engine->counter(Ctr::kRetransmits), 1u);
  EXPECT_GE(b_.engine->counter(Ctr::kRxRetransmitted), 1u);
  ASSERT_EQ(a_.installer.bundles.size(), 1u);
  ASSERT_EQ(b_.installer.bundles.size(), 1u);
}

TEST_F(EngineTest, DeadPeerDetected) {
  auto ca = Basic(true, "k", 2, 0);
  ca->peers[0].dpd_idle_s = 5;
  Configure(ca, Basic(false, "k", 2, 0));
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  Pump();
  ASSERT_EQ(a_.installer.bundles.size(), 1u);
  // The peer answers DPD while alive.
  Advance(absl::Seconds(6));
  EXPECT_GE(a_.engine->counter(Ctr::kDpdAcksRx), 1u);
  EXPECT_EQ(a_.installer.bundles.size(), 1u);
  // Then dies: everything toward it is dropped.
  wire_.drop_next[0] = 1000;
  for (int i = 0; i < 20; ++i) Advance(absl::Seconds(2));
  EXPECT_EQ(a_.engine->counter(Ctr::kDpdPeerDead), 1u);
  EXPECT_TRUE(a_.installer.bundles.empty());
  EXPECT_TRUE(a_.engine->IsakmpSas().empty());
}

TEST_F(EngineTest, ResetSendsDeleteToThePeer) {
  Configure(Basic(true, "k", 2, 0), Basic(false, "k", 2, 0));
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  Pump();
  ASSERT_EQ(b_.engine->IsakmpSas().size(), 1u);
  a_.engine->ResetSas();
  Pump();
  EXPECT_TRUE(a_.engine->IsakmpSas().empty());
  EXPECT_TRUE(b_.engine->IsakmpSas().empty());
  EXPECT_EQ(b_.engine->counter(Ctr::kDeletesReceived), 1u);
}

TEST_F(EngineTest, RekeyIsMakeBeforeBreak) {
  Configure(Basic(true, "k", 2, 0), Basic(false, "k", 2, 0));
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  Pump();
  ASSERT_EQ(a_.installer.bundles.size(), 1u);
  const uint32_t old_a = a_.installer.bundles.begin()->first;
  const uint32_t old_spi = a_.installer.bundles.begin()->second.sas[0].in_spi;
  a_.engine->SoftExpired(old_a);
  Pump();
  // Both bundles live until the delete delay has passed.
  EXPECT_EQ(a_.installer.bundles.size(), 2u);
  EXPECT_EQ(b_.installer.bundles.size(), 2u);
  Advance(absl::Seconds(31));
  ASSERT_EQ(a_.installer.bundles.size(), 1u);
  EXPECT_NE(a_.installer.bundles.begin()->second.sas[0].in_spi, old_spi);
  EXPECT_EQ(a_.installer.removed.size(), 1u);
  EXPECT_EQ(b_.installer.bundles.size(), 1u);   // removed on the DELETE or its own timer
  ExpectMirrored(a_.installer.bundles.begin()->second, b_.installer.bundles.begin()->second);
}

TEST_F(EngineTest, GarbageNeverCrashesAndIsCounted) {
  Configure(Basic(true, "k", 2, 0), Basic(false, "k", 2, 0));
  std::mt19937 r(7);
  for (int i = 0; i < 2000; ++i) {
    Datagram d;
    d.src = kA;
    d.dst = kB;
    d.sport = d.dport = 500;
    d.data.resize(r() % 200);
    for (auto& c : d.data) c = static_cast<uint8_t>(r());
    if (d.data.size() >= 28 && (i & 1)) {
      d.data[16] = 1;        // a plausible header: SA payload first, version 1.0
      d.data[17] = 0x10;
      d.data[18] = 2;
    }
    b_.engine->OnDatagram(d);
  }
  b_.engine->Tick();
  EXPECT_EQ(b_.engine->counter(Ctr::kRxMessages), 2000u);
  // The responder still works afterwards.
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  Pump();
  EXPECT_EQ(b_.installer.bundles.size(), 1u);
}

// ---------------------------------------------------------------- many peers
//
// One engine and many others on a hub: each datagram goes to the engine owning its
// destination address (one address per engine); what goes elsewhere is kept aside. The
// engines index their SAs by cookies, by (initiator cookie, peer) and by peer, and their
// exchanges by SA (Side turns EngineEnv::check_indexes on: every datagram and tick
// compares the indexes with full scans); these tests make the cookies collide.

class Hub : public DatagramTransport {
 public:
  absl::Status Send(const Datagram& d) override {
    queue.push_back(d);
    sent.push_back(d);
    return absl::OkStatus();
  }
  size_t Receive(std::vector<Datagram>&, size_t) override { return 0; }
  void Wait(int) override {}
  // Delivers until the hub is quiet.
  void Pump() {
    for (int n = 0; !queue.empty() && n < 200000; ++n) {
      Datagram d = std::move(queue.front());
      queue.pop_front();
      auto it = engines.find(d.dst);
      if (it == engines.end()) {
        stray.push_back(std::move(d));
        continue;
      }
      it->second->OnDatagram(d);
    }
  }
  std::map<uint32_t, Engine*> engines;   // by address
  std::deque<Datagram> queue;
  std::vector<Datagram> sent, stray;
};

uint64_t Cookie(const Bytes& wire, size_t at) {
  uint64_t c = 0;
  for (size_t k = 0; k < 8; ++k) c = c << 8 | wire[at + k];
  return c;
}

// A gateway configuration with one PSK peer and one policy per remote address.
std::shared_ptr<IkeConfig> Gateway(uint32_t me, const std::vector<uint32_t>& remotes) {
  auto c = std::make_shared<IkeConfig>();
  c->enabled = true;
  c->local_addrs = {me};
  c->half_open_limit = 4 * static_cast<uint32_t>(remotes.size()) + 16;
  std::map<uint32_t, control::SaSpec> specs{
      {1, EspSpec(1, control::EncAlg::kAes128, control::HashAlg::kSha)}};
  for (size_t k = 0; k < remotes.size(); ++k) {
    const uint32_t r = remotes[k];
    // Both ends name the same key and networks: the lower address's net first.
    const uint32_t lo = std::min(me, r), hi = std::max(me, r);
    c->peers.push_back(MakePeer(absl::StrCat("p", r), r, absl::StrCat("psk-", lo, "-", hi), 2));
    const uint32_t net_lo = 0x0a400000u | ((lo & 0x3ff) << 8);
    const uint32_t net_hi = 0xac100000u | ((hi & 0x3ff) << 8);
    c->policies.push_back(MakePolicy(static_cast<uint32_t>(100 + k), me, r,
                                     me == lo ? net_lo : net_hi, me == lo ? net_hi : net_lo, "1",
                                     specs, 0));
  }
  return c;
}

TEST_F(EngineTest, ManyPeersSharingOneInitiatorCookieEachFindTheirOwnSa) {
  constexpr int kPeers = 200;
  constexpr uint32_t kResp = 0x0a000001;                       // 10.0.0.1
  auto addr = [](int k) { return 0x0a010000u + static_cast<uint32_t>(k); };   // 10.1.0.k
  Hub hub;
  // The responder knows one more peer (addr(kPeers)) than there are initiators: the
  // forger below speaks from it.
  std::vector<uint32_t> remotes;
  for (int k = 0; k <= kPeers; ++k) remotes.push_back(addr(k));
  Side resp(&hub, 0xb0000000, 2);
  resp.engine->Configure(Gateway(kResp, remotes));
  hub.engines[kResp] = resp.engine.get();
  // Every initiator draws the same random bytes: one initiator cookie for all of them.
  std::vector<std::unique_ptr<Side>> peers;
  for (int k = 0; k < kPeers; ++k) {
    peers.push_back(std::make_unique<Side>(&hub, 0xa0000000u + (static_cast<uint32_t>(k) << 8), 1));
    peers.back()->engine->Configure(Gateway(addr(k), {kResp}));
    hub.engines[addr(k)] = peers.back()->engine.get();
  }
  for (auto& p : peers) ASSERT_TRUE(p->engine->Initiate(100).ok());
  hub.Pump();

  EXPECT_EQ(resp.engine->counter(Ctr::kMainDone), static_cast<uint64_t>(kPeers));
  EXPECT_EQ(resp.engine->counter(Ctr::kQuickDone), static_cast<uint64_t>(kPeers));
  EXPECT_EQ(resp.engine->counter(Ctr::kRxBadCookie), 0u);
  EXPECT_EQ(resp.engine->HalfOpenCount(), 0u);
  EXPECT_EQ(resp.engine->CheckIndexes(), "");
  const auto sas = resp.engine->IsakmpSas();
  ASSERT_EQ(sas.size(), static_cast<size_t>(kPeers));
  std::map<uint32_t, IsakmpSaInfo> by_peer;
  std::set<uint64_t> rcookies;
  for (const auto& i : sas) {
    EXPECT_EQ(i.icookie, sas[0].icookie);   // they all collide
    rcookies.insert(i.rcookie);
    by_peer[i.peer] = i;
  }
  EXPECT_EQ(rcookies.size(), static_cast<size_t>(kPeers));
  ASSERT_EQ(by_peer.size(), static_cast<size_t>(kPeers));
  // Each peer's bundle mirrors the responder's bundle with that peer.
  std::map<uint32_t, const NegotiatedBundle*> resp_bundles;
  for (const auto& [h, b] : resp.installer.bundles) resp_bundles[b.peer] = &b;
  ASSERT_EQ(resp_bundles.size(), static_cast<size_t>(kPeers));
  for (int k = 0; k < kPeers; ++k) {
    ASSERT_EQ(peers[k]->installer.bundles.size(), 1u) << k;
    const NegotiatedBundle& mine = peers[k]->installer.bundles.begin()->second;
    ASSERT_TRUE(resp_bundles.count(addr(k))) << k;
    ExpectMirrored(mine, *resp_bundles[addr(k)]);
    const auto theirs = peers[k]->engine->IsakmpSas();
    ASSERT_EQ(theirs.size(), 1u);
    EXPECT_EQ(theirs[0].rcookie, by_peer[addr(k)].rcookie) << k;
  }

  // Peer 5's first message again, from peer 5: a retransmission, answered with what its
  // own SA sent last (its cookies), nothing new made.
  const int k5 = 5;
  std::optional<Datagram> first;
  for (const auto& d : hub.sent)
    if (d.src == addr(k5) && d.dst == kResp && d.data.size() > 28 && Cookie(d.data, 8) == 0)
      first = d;
  ASSERT_TRUE(first.has_value());
  const size_t sent_before = hub.sent.size();
  resp.engine->OnDatagram(*first);
  EXPECT_EQ(resp.engine->counter(Ctr::kRxRetransmitted), 1u);
  EXPECT_EQ(resp.engine->SaCount(), static_cast<size_t>(kPeers));
  ASSERT_EQ(hub.sent.size(), sent_before + 1);
  EXPECT_EQ(hub.sent.back().dst, addr(k5));
  EXPECT_EQ(Cookie(hub.sent.back().data, 0), sas[0].icookie);
  EXPECT_EQ(Cookie(hub.sent.back().data, 8), by_peer[addr(k5)].rcookie);
  hub.queue.clear();

  // The same message from another address (a known peer's, which never negotiated): not
  // peer 5's retransmission but a new phase 1 with its own responder cookie.
  Datagram forged = *first;
  forged.src = addr(kPeers);
  resp.engine->OnDatagram(forged);
  EXPECT_EQ(resp.engine->counter(Ctr::kRxRetransmitted), 1u);
  EXPECT_EQ(resp.engine->counter(Ctr::kMainStartedResp), static_cast<uint64_t>(kPeers) + 1);
  EXPECT_EQ(resp.engine->SaCount(), static_cast<size_t>(kPeers) + 1);
  EXPECT_EQ(resp.engine->HalfOpenCount(), 1u);
  ASSERT_EQ(hub.sent.size(), sent_before + 2);
  const Datagram reply = hub.sent.back();
  EXPECT_EQ(reply.dst, addr(kPeers));
  EXPECT_EQ(Cookie(reply.data, 0), sas[0].icookie);
  EXPECT_EQ(rcookies.count(Cookie(reply.data, 8)), 0u);   // not any established SA's
  // Its own retransmission is answered from its own SA.
  resp.engine->OnDatagram(forged);
  EXPECT_EQ(resp.engine->counter(Ctr::kRxRetransmitted), 2u);
  EXPECT_EQ(hub.sent.back().dst, addr(kPeers));
  EXPECT_EQ(hub.sent.back().data, reply.data);
  hub.queue.clear();
  // Peer 5 is untouched and still works: a new quick mode over its SA.
  EXPECT_EQ(resp.engine->IsakmpSas().size(), static_cast<size_t>(kPeers));
  const uint64_t quick_before = resp.engine->counter(Ctr::kQuickDone);
  peers[k5]->installer.bundles.clear();
  ASSERT_TRUE(peers[k5]->engine->Initiate(100).ok());
  hub.Pump();
  EXPECT_EQ(resp.engine->counter(Ctr::kQuickDone), quick_before + 1);
  EXPECT_EQ(peers[k5]->installer.bundles.size(), 1u);
  EXPECT_EQ(peers[k5]->engine->IsakmpSas().size(), 1u);
  EXPECT_EQ(resp.engine->CheckIndexes(), "");

  // The half-open one goes after half_open_timeout_s; RESET ISAKMP empties every index.
  resp.now += absl::Seconds(31);
  resp.engine->Tick();
  EXPECT_EQ(resp.engine->HalfOpenCount(), 0u);
  EXPECT_EQ(resp.engine->SaCount(), static_cast<size_t>(kPeers));
  resp.engine->ResetSas();
  EXPECT_EQ(resp.engine->SaCount(), 0u);
  EXPECT_EQ(resp.engine->ExchangeCount(), 0u);
  EXPECT_EQ(resp.engine->CheckIndexes(), "");
}

TEST_F(EngineTest, OurPhase1sWithOneCookieTakeEachResponderCookieFromTheirOwnPeer) {
  // One initiator whose two phase 1s (to two responders) draw the same cookie: each
  // waits for the responder cookie from its own peer.
  constexpr uint32_t kMe = 0x0a000001, kR1 = 0x0a000002, kR2 = 0x0a000003;
  Hub hub;
  Side me(&hub, 0xa0000000, 1), r1(&hub, 0xb0000000, 2), r2(&hub, 0xc0000000, 3);
  me.same_random_every_call = true;
  me.engine->Configure(Gateway(kMe, {kR1, kR2}));
  r1.engine->Configure(Gateway(kR1, {kMe}));
  r2.engine->Configure(Gateway(kR2, {kMe}));
  hub.engines = {{kMe, me.engine.get()}, {kR1, r1.engine.get()}, {kR2, r2.engine.get()}};
  ASSERT_TRUE(me.engine->Initiate(100).ok());
  ASSERT_TRUE(me.engine->Initiate(101).ok());
  // R2 answers first.
  std::reverse(hub.queue.begin(), hub.queue.end());
  hub.Pump();
  const auto sas = me.engine->IsakmpSas();
  ASSERT_EQ(sas.size(), 2u);
  EXPECT_EQ(sas[0].icookie, sas[1].icookie);
  EXPECT_NE(sas[0].rcookie, sas[1].rcookie);
  for (const Side* r : {&r1, &r2}) {
    const auto theirs = r->engine->IsakmpSas();
    ASSERT_EQ(theirs.size(), 1u);
    const auto& mine = sas[0].peer == theirs[0].local ? sas[0] : sas[1];
    EXPECT_EQ(mine.peer, theirs[0].local);
    EXPECT_EQ(mine.rcookie, theirs[0].rcookie);
    ASSERT_EQ(r->installer.bundles.size(), 1u);
  }
  ASSERT_EQ(me.installer.bundles.size(), 2u);
  for (const auto& [h, b] : me.installer.bundles) {
    const Side& r = b.peer == kR1 ? r1 : r2;
    ExpectMirrored(b, r.installer.bundles.begin()->second);
  }
  EXPECT_EQ(me.engine->counter(Ctr::kRxBadCookie), 0u);
  EXPECT_EQ(me.engine->CheckIndexes(), "");
}

// ---------------------------------------------------------------- RSA signatures, XAUTH

// RSASIG between gw-a (A: data/rsa-peer-*) and gw-b (B: data/rsa-peer2-*), both certified
// by the test CA (data/rsa-ca-cert.pem).
std::string TestData(const std::string& name) {
  return std::string(ARSEC_IKE_TEST_DATA) + "/" + name;
}

constexpr char kDnA[] = "C=JP, O=arsec test, OU=vpn, CN=gw-a";
constexpr char kDnB[] = "C=JP, O=arsec test, OU=vpn, CN=gw-b";

void UseRsa(PeerConfig& p, bool is_a) {
  p.auth = AuthMethod::kRsaSig;
  p.psk = SecretBytes();
  for (auto& o : p.offers) o.auth = AuthMethod::kRsaSig;
  p.rsa_key_file = TestData(is_a ? "rsa-peer-key.pem" : "rsa-peer2-key.pem");
  p.cert_file = TestData(is_a ? "rsa-peer-cert.pem" : "rsa-peer2-cert.pem");
  p.ca_file = TestData("rsa-ca-cert.pem");
}

class RsaEngineTest : public EngineTest {
 protected:
  std::shared_ptr<IkeConfig> Rsa(bool is_a) {
    auto c = Basic(is_a, "unused", 2, 0);
    UseRsa(c->peers[0], is_a);
    return c;
  }
  // No key bytes, PEM armour or passwords in any log line.
  void ExpectNoSecretsLogged() {
    for (const Side* s : {&a_, &b_})
      for (const auto& l : s->log) {
        EXPECT_EQ(l.find("PRIVATE KEY"), std::string::npos) << l;
        EXPECT_EQ(l.find("passclie1"), std::string::npos) << l;
        EXPECT_EQ(l.find("wrongpass"), std::string::npos) << l;
      }
  }
};

TEST_F(RsaEngineTest, MainModeWithCertificates) {
  Configure(Rsa(true), Rsa(false));
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  Pump();
  ASSERT_EQ(a_.engine->IsakmpSas().size(), 1u);
  ASSERT_EQ(b_.engine->IsakmpSas().size(), 1u);
  const IsakmpSaInfo ia = a_.engine->IsakmpSas()[0], ib = b_.engine->IsakmpSas()[0];
  EXPECT_EQ(ia.auth, "RSASIG");
  EXPECT_EQ(ia.mode, "MAIN");
  // Without LOCALID each side is known by its certificate's subject.
  EXPECT_EQ(ia.local_id, kDnA);
  EXPECT_EQ(ia.remote_id, kDnB);
  EXPECT_EQ(ib.remote_id, kDnA);
  ASSERT_EQ(a_.installer.bundles.size(), 1u);
  ASSERT_EQ(b_.installer.bundles.size(), 1u);
  ExpectMirrored(a_.installer.bundles.begin()->second, b_.installer.bundles.begin()->second);
  EXPECT_TRUE(b_.Logged(std::string("peer certificate \"") + kDnA + "\""));
  EXPECT_TRUE(a_.Logged(std::string("peer certificate \"") + kDnB + "\""));
  ExpectNoSecretsLogged();
}

TEST_F(RsaEngineTest, AggressiveModePeerAnyWithFqdnFromSubjectAltName) {
  auto ca = Rsa(true);
  ca->peers[0].aggressive = true;
  ca->peers[0].local_id = Identity::FromString("fqdn:gw-a.example.test");
  auto cb = Rsa(false);
  cb->peers[0].peer = 0;
  cb->peers[0].any = true;
  cb->peers[0].aggressive = true;
  cb->policies[0].view.peer = 0;
  cb->policies[0].view.peer_dynamic = true;
  Configure(ca, cb);
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  Pump();
  ASSERT_EQ(b_.engine->IsakmpSas().size(), 1u);
  EXPECT_EQ(b_.engine->IsakmpSas()[0].mode, "AGGRESSIVE");
  EXPECT_EQ(b_.engine->IsakmpSas()[0].remote_id, "gw-a.example.test");
  EXPECT_EQ(a_.engine->IsakmpSas()[0].remote_id, kDnB);
  ASSERT_EQ(b_.installer.bundles.size(), 1u);
  ExpectMirrored(a_.installer.bundles.begin()->second, b_.installer.bundles.begin()->second);
}

TEST_F(RsaEngineTest, CertificateFromAnotherCaIsRefused) {
  auto cb = Rsa(false);
  cb->peers[0].ca_file = TestData("rsa-self-cert.pem");   // B trusts another CA only
  Configure(Rsa(true), cb);
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  Pump();
  EXPECT_TRUE(b_.engine->IsakmpSas().empty());
  EXPECT_TRUE(b_.installer.bundles.empty());
  EXPECT_EQ(b_.engine->counter(Ctr::kMainAuthFailed), 1u);
  EXPECT_TRUE(b_.Logged("does not verify against CACERTIFICATE"));
}

TEST_F(RsaEngineTest, IdentityNotInTheCertificateIsRefused) {
  auto ca = Rsa(true);
  ca->peers[0].local_id = Identity::FromString("fqdn:somebody-else.example.test");
  Configure(ca, Rsa(false));
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  Pump();
  EXPECT_TRUE(b_.engine->IsakmpSas().empty());
  EXPECT_EQ(b_.engine->counter(Ctr::kMainAuthFailed), 1u);
  EXPECT_TRUE(b_.Logged("is not the subject or a subjectAltName of its certificate"));
}

TEST_F(RsaEngineTest, PeerWithoutCertificateIsRefused) {
  auto ca = Rsa(true);
  ca->peers[0].cert_file.clear();     // A signs, but sends no CERT
  ca->peers[0].local_id = Identity::FromString("fqdn:gw-a.example.test");
  Configure(ca, Rsa(false));
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  Pump();
  EXPECT_TRUE(b_.engine->IsakmpSas().empty());
  EXPECT_TRUE(b_.Logged("the peer sent no certificate (CERT payload)"));
  // B asked (CERTREQ), A has none to give: said on A's side.
  EXPECT_TRUE(a_.Logged("the peer asked for a certificate"));
}

TEST_F(RsaEngineTest, MissingKeyFileFailsTheExchangeWithALogLine) {
  auto ca = Rsa(true);
  ca->peers[0].rsa_key_file = TestData("no-such-rsa7.key");
  Configure(ca, Rsa(false));
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  Pump();
  EXPECT_TRUE(a_.engine->IsakmpSas().empty());
  EXPECT_TRUE(a_.Logged("cannot load the LOCALRSAKEY key"));
  EXPECT_TRUE(a_.Logged("no-such-rsa7.key"));
  EXPECT_EQ(a_.engine->counter(Ctr::kMainFailed), 1u);
}

TEST_F(RsaEngineTest, CertificateNotMatchingTheKeyIsRefusedLocally) {
  auto ca = Rsa(true);
  ca->peers[0].cert_file = TestData("rsa-peer2-cert.pem");   // gw-b's, with gw-a's key
  Configure(ca, Rsa(false));
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  Pump();
  EXPECT_TRUE(a_.engine->IsakmpSas().empty());
  EXPECT_TRUE(a_.Logged("does not certify the LOCALRSAKEY key"));
  ExpectNoSecretsLogged();
}

// XAUTH: B is the server (users client1/passclie1), A the client dialling in.
class XauthEngineTest : public RsaEngineTest {
 protected:
  void Setup(const std::string& client_pass, bool rsa = false) {
    auto ca = rsa ? Rsa(true) : Basic(true, "k", 2, 0);
    ca->peers[0].xauth = XauthRole::kClient;
    ca->peers[0].xauth_name = "client1";
    ca->peers[0].xauth_pass = SecretBytes(Bytes(client_pass.begin(), client_pass.end()));
    auto cb = rsa ? Rsa(false) : Basic(false, "k", 2, 0);
    cb->peers[0].xauth = XauthRole::kServer;
    cb->verify_user = [this](const std::string& u, const std::string& p) {
      ++verifications_;
      return u == "client1" && p == "passclie1";
    };
    Configure(ca, cb);
  }
  int verifications_ = 0;
};

TEST_F(XauthEngineTest, ClientAuthenticatesThenQuickModeRuns) {
  Setup("passclie1");
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  Pump();
  EXPECT_EQ(verifications_, 1);
  ASSERT_EQ(a_.engine->IsakmpSas().size(), 1u);
  ASSERT_EQ(b_.engine->IsakmpSas().size(), 1u);
  EXPECT_EQ(b_.engine->IsakmpSas()[0].xauth, "SERVER client1");
  EXPECT_EQ(a_.engine->IsakmpSas()[0].xauth, "CLIENT client1");
  EXPECT_EQ(a_.engine->IsakmpSas()[0].auth, "PRESHARED");
  EXPECT_EQ(b_.engine->counter(Ctr::kXauthOk), 1u);
  EXPECT_EQ(a_.engine->counter(Ctr::kXauthOk), 1u);
  EXPECT_TRUE(b_.Logged("XAUTH: user client1 authenticated"));
  EXPECT_TRUE(a_.Logged("XAUTH: authenticated to peer 198.51.100.2 as user client1"));
  ASSERT_EQ(a_.installer.bundles.size(), 1u);
  ASSERT_EQ(b_.installer.bundles.size(), 1u);
  ExpectMirrored(a_.installer.bundles.begin()->second, b_.installer.bundles.begin()->second);
  ExpectNoSecretsLogged();
}

TEST_F(XauthEngineTest, WithRsaSignatures) {
  Setup("passclie1", true);
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  Pump();
  ASSERT_EQ(b_.engine->IsakmpSas().size(), 1u);
  EXPECT_EQ(b_.engine->IsakmpSas()[0].auth, "RSASIG");
  EXPECT_EQ(b_.engine->IsakmpSas()[0].xauth, "SERVER client1");
  EXPECT_EQ(b_.installer.bundles.size(), 1u);
}

TEST_F(XauthEngineTest, WrongPasswordDeletesTheIsakmpSa) {
  Setup("wrongpass");
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  Pump();
  EXPECT_EQ(verifications_, 1);
  EXPECT_TRUE(a_.installer.bundles.empty());
  EXPECT_TRUE(b_.installer.bundles.empty());
  EXPECT_TRUE(b_.engine->IsakmpSas().empty());
  EXPECT_TRUE(a_.engine->IsakmpSas().empty());
  EXPECT_EQ(b_.engine->counter(Ctr::kXauthFailed), 1u);
  EXPECT_EQ(a_.engine->counter(Ctr::kXauthFailed), 1u);
  EXPECT_EQ(a_.engine->counter(Ctr::kQuickStartedInit), 0u);
  EXPECT_TRUE(b_.Logged("XAUTH: user client1 from peer 192.0.2.1 not authenticated"));
  ExpectNoSecretsLogged();
}

TEST_F(XauthEngineTest, QuickModeWaitsForXauth) {
  Setup("passclie1");
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  // Main mode's six messages take three rounds; B's last round also sends the REQUEST.
  Pump(3);
  ASSERT_EQ(wire_.a.in.size(), 2u);   // main mode message 6, then the XAUTH REQUEST
  wire_.a.in.pop_back();              // which is lost
  Pump();
  ASSERT_EQ(a_.engine->IsakmpSas().size(), 1u);   // phase 1 is up ...
  EXPECT_EQ(a_.engine->counter(Ctr::kQuickStartedInit), 0u);   // ... but no quick mode
  EXPECT_TRUE(a_.installer.bundles.empty());
  // B retransmits the REQUEST; XAUTH completes and the waiting quick mode runs.
  Advance(absl::Milliseconds(1100));
  EXPECT_EQ(a_.engine->counter(Ctr::kXauthOk), 1u);
  EXPECT_EQ(a_.engine->counter(Ctr::kQuickStartedInit), 1u);
  ASSERT_EQ(a_.installer.bundles.size(), 1u);
  ASSERT_EQ(b_.installer.bundles.size(), 1u);
}

TEST_F(XauthEngineTest, ServerRefusesQuickModeBeforeXauth) {
  Setup("passclie1");
  // A believes it needs no XAUTH: it starts quick mode straight after phase 1, which B
  // must not answer before its own XAUTH with A succeeded.
  auto ca = std::make_shared<IkeConfig>(*cfg_a_);
  ca->peers[0].xauth = XauthRole::kNone;
  // B proposes/accepts only the XAUTH method: give A the same wire method by hand.
  ca->peers[0].offers[0].auth = AuthMethod::kXauthInitPsk;
  Configure(ca, cfg_b_);
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  Pump();
  EXPECT_GE(a_.engine->counter(Ctr::kQuickStartedInit), 1u);
  EXPECT_EQ(b_.engine->counter(Ctr::kQuickStartedResp), 0u);
  EXPECT_TRUE(b_.installer.bundles.empty());
}

}  // namespace
}  // namespace arsec::ike

namespace arsec::ike {
namespace {

TEST_F(EngineTest, Phase1IsRenewedBeforeItExpires) {
  auto ca = Basic(true, "k", 2, 0);
  auto cb = Basic(false, "k", 2, 0);
  ca->peers[0].offers[0].life_seconds = 1000;
  cb->peers[0].offers[0].life_seconds = 1000;
  ca->peers[0].dpd = DpdMode::kNone;
  Configure(ca, cb);
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  Pump();
  ASSERT_EQ(a_.engine->IsakmpSas().size(), 1u);
  const uint32_t first = a_.engine->IsakmpSas()[0].id;
  // At 95% of the lifetime the initiator makes a new ISAKMP SA while the old one lives.
  for (int i = 0; i < 96; ++i) Advance(absl::Seconds(10));
  auto sas = a_.engine->IsakmpSas();
  ASSERT_FALSE(sas.empty());
  bool fresh = false;
  for (const auto& s : sas) fresh |= s.id != first;
  EXPECT_TRUE(fresh) << "no new ISAKMP SA";
  EXPECT_TRUE(a_.Logged("renewing phase 1"));
  // After the old one's end only the new one is left, on both sides; the IPsec SAs
  // were untouched and the new ISAKMP SA can negotiate (a rekey of the bundle).
  for (int i = 0; i < 6; ++i) Advance(absl::Seconds(10));
  ASSERT_EQ(a_.engine->IsakmpSas().size(), 1u);
  EXPECT_NE(a_.engine->IsakmpSas()[0].id, first);
  EXPECT_EQ(b_.engine->IsakmpSas().size(), 1u);
  ASSERT_EQ(a_.installer.bundles.size(), 1u);
  a_.engine->SoftExpired(a_.installer.bundles.begin()->first);
  Pump();
  Advance(absl::Seconds(35));
  ASSERT_EQ(a_.installer.bundles.size(), 1u);
  ExpectMirrored(a_.installer.bundles.begin()->second, b_.installer.bundles.begin()->second);
}

// The seed's VPN client in aggressive mode reboots: its new phase 1 carries
// INITIAL-CONTACT (in the encrypted third message), and the centre drops the ISAKMP SA
// and the bundle the client had before instead of keeping them until they expire.
TEST_F(EngineTest, AggressiveModeClientRebootsWithInitialContact) {
  auto ca = AggressiveClient("client1");
  Configure(ca, AggressiveCentre("client1"));
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  Pump();
  ASSERT_EQ(b_.engine->IsakmpSas().size(), 1u);
  ASSERT_EQ(b_.installer.bundles.size(), 1u);
  const uint32_t old_bundle = b_.installer.bundles.begin()->first;
  const uint32_t old_sa = b_.engine->IsakmpSas()[0].id;

  a_.Reboot();
  a_.engine->Configure(ca);
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  Pump();
  ASSERT_EQ(b_.engine->IsakmpSas().size(), 1u);
  EXPECT_NE(b_.engine->IsakmpSas()[0].id, old_sa);
  EXPECT_EQ(b_.installer.removed, std::vector<uint32_t>{old_bundle});
  EXPECT_EQ(b_.installer.bundles.size(), 1u);
  EXPECT_TRUE(b_.Logged("INITIAL-CONTACT from the peer"));
}

// Two clients behind one NAT share its address. The second one's INITIAL-CONTACT says
// that *it* rebooted; the first one's ISAKMP SA and bundle stay.
TEST_F(EngineTest, InitialContactBehindNatSparesOtherIdentities) {
  auto client = [&](const std::string& id, uint32_t lan) {
    auto c = AggressiveClient(id);
    c->peers[0].nat_t = true;
    c->policies[0].view.laddr = lan;
    return c;
  };
  auto cb = AggressiveCentre("client1");
  cb->peers[0].nat_t = true;
  PeerConfig second = cb->peers[0];
  second.name = "toClient2";
  second.remote_id = Identity::FromString("client2");
  cb->peers.push_back(second);
  Phase2Policy v2 = cb->policies[0];
  v2.policy_id = 8;
  v2.name = "vpn8";
  v2.view.raddr = 0xc0a80b00;   // client2's LAN, 192.168.11.0/24
  cb->policies.push_back(v2);
  wire_.nat = true;
  Configure(client("client1", 0xc0a80a00), cb);
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  Pump();
  ASSERT_EQ(b_.installer.bundles.size(), 1u);
  const uint32_t first_bundle = b_.installer.bundles.begin()->first;

  // The second laptop comes up behind the same NAT, same outside address.
  a_.Reboot();
  a_.engine->Configure(client("client2", 0xc0a80b00));
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  Pump();
  auto sas = b_.engine->IsakmpSas();
  ASSERT_EQ(sas.size(), 2u);
  EXPECT_NE(sas[0].remote_id, sas[1].remote_id);
  EXPECT_TRUE(b_.installer.removed.empty());
  ASSERT_EQ(b_.installer.bundles.size(), 2u);
  EXPECT_TRUE(b_.installer.bundles.count(first_bundle));
  EXPECT_EQ(b_.installer.bundles.rbegin()->second.policy_id, 8u);
}

TEST_F(EngineTest, NoInitialContactWhileBundlesWithThePeerLive) {
  Configure(Basic(true, "k", 2, 0), Basic(false, "k", 2, 0));
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  Pump();
  ASSERT_EQ(b_.installer.bundles.size(), 1u);
  // A's ISAKMP SA goes (as after a restart, or RESET), its bundles stay; a new phase 1
  // must not make B delete them.
  a_.engine->ResetSas();
  Pump();
  ASSERT_EQ(b_.installer.bundles.size(), 1u);
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  Pump();
  EXPECT_TRUE(b_.installer.removed.empty());
}

}  // namespace
}  // namespace arsec::ike

namespace arsec::ike {
namespace {

TEST_F(EngineTest, CommitBitMakesTheInitiatorWaitForConnected) {
  auto cb = Basic(false, "k", 2, 0);
  cb->peers[0].set_commit = true;   // SETCOMMITBIT on the responder
  Configure(Basic(true, "k", 2, 0), cb);
  wire_.drop_next[1] = 0;
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  // Deliver until B has sent its answer with the commit bit, and hold back B's last
  // message (the CONNECTED): A must not use its SAs yet.
  Pump();
  ASSERT_EQ(a_.installer.bundles.size(), 1u);   // CONNECTED arrived in the pump
  ASSERT_EQ(b_.installer.bundles.size(), 1u);
  ExpectMirrored(a_.installer.bundles.begin()->second, b_.installer.bundles.begin()->second);
}

TEST_F(EngineTest, CommitBitWithoutConnectedStillEndsInstalled) {
  auto cb = Basic(false, "k", 2, 0);
  cb->peers[0].set_commit = true;
  Configure(Basic(true, "k", 2, 0), cb);
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  // Everything from B after its quick mode answer is lost: A waits (no SAs), retransmits
  // HASH(3), and in the end uses the SAs it agreed.
  for (int i = 0; i < 50 && b_.engine->counter(Ctr::kQuickStartedResp) == 0; ++i) {
    std::vector<Datagram> in;
    wire_.a.Receive(in, 64);
    for (auto& d : in) a_.engine->OnDatagram(d);
    in.clear();
    wire_.b.Receive(in, 64);
    for (auto& d : in) b_.engine->OnDatagram(d);
  }
  // B's quick mode answer is queued for A; deliver it, then drop what B sends next.
  std::vector<Datagram> in;
  wire_.a.Receive(in, 64);
  for (auto& d : in) a_.engine->OnDatagram(d);
  wire_.drop_next[1] = 1000;
  Pump();
  EXPECT_EQ(b_.installer.bundles.size(), 1u);
  EXPECT_TRUE(a_.installer.bundles.empty());
  EXPECT_FALSE(a_.engine->Exchanges().empty());
  EXPECT_EQ(a_.engine->Exchanges()[0].state, "WAIT_CONNECTED");
  for (int i = 0; i < 40 && a_.installer.bundles.empty(); ++i) Advance(absl::Seconds(1));
  EXPECT_EQ(a_.installer.bundles.size(), 1u);
  EXPECT_TRUE(a_.Logged("no CONNECTED from the peer"));
}

}  // namespace
}  // namespace arsec::ike

namespace arsec::ike {
namespace {

TEST_F(EngineTest, DebugStateTraceAndPacketsNeverShowTheKey) {
  Configure(Basic(true, "sup3r-secret-psk", 2, 2), Basic(false, "sup3r-secret-psk", 2, 2));
  a_.engine->SetDebugFlags(kDebugState | kDebugTrace | kDebugTraceMore | kDebugPkt | kDebugPktRaw);
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  Pump();
  ASSERT_EQ(a_.installer.bundles.size(), 1u);
  auto has = [&](uint32_t flag, const std::string& needle) {
    for (const auto& [f, t] : a_.debug)
      if (f == flag && t.find(needle) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(has(kDebugState, "WAIT_SA -> WAIT_KE_NONCE"));
  EXPECT_TRUE(has(kDebugState, "WAIT_KE_NONCE -> WAIT_ID_HASH"));
  EXPECT_TRUE(has(kDebugState, "(QUICK, peer 198.51.100.2): START -> WAIT_HASH_SA_NONCE"));
  EXPECT_TRUE(has(kDebugTraceMore, "sent IDPROT message 00000000 to 198.51.100.2:500"));
  EXPECT_TRUE(has(kDebugTraceMore, "(encrypted)"));
  EXPECT_TRUE(has(kDebugTrace, "Completed successfully"));
  EXPECT_TRUE(has(kDebugPkt, "ISAKMP Tx Message"));
  for (const auto& [f, t] : a_.debug) EXPECT_EQ(t.find("sup3r-secret-psk"), std::string::npos);
}

}  // namespace
}  // namespace arsec::ike

// ---------------------------------------------------------------- KBYTES lifetimes, XAUTH wait

namespace arsec::ike {
namespace {

std::optional<IsakmpSaInfo> SaInfo(const Side& s, uint32_t id) {
  for (const auto& i : s.engine->IsakmpSas())
    if (i.id == id) return i;
  return std::nullopt;
}

// An ISAKMP SA with EXPIRYKBYTES: every encrypted ISAKMP message it protects counts
// (both sides count the same bytes); at 95% the initiator renews phase 1, at 100% the SA
// goes. A sends DPD R-U-THERE every 6 s (B only answers), about 180 bytes a round.
TEST_F(EngineTest, IsakmpKbytesLifetimeRenewsAtSoftAndExpiresAtHard) {
  constexpr uint64_t kLimit = 8 * 1024, kSoft = kLimit * 95 / 100;
  auto ca = Basic(true, "k", 2, 0);
  auto cb = Basic(false, "k", 2, 0);
  ca->peers[0].offers[0].life_kbytes = 8;
  cb->peers[0].offers[0].life_kbytes = 8;
  ca->peers[0].dpd_idle_s = 5;
  cb->peers[0].dpd = DpdMode::kReceive;
  Configure(ca, cb);
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  Pump();
  ASSERT_EQ(a_.engine->IsakmpSas().size(), 1u);
  ASSERT_EQ(a_.installer.bundles.size(), 1u);
  const uint32_t first = a_.engine->IsakmpSas()[0].id;
  const uint32_t first_b = b_.engine->IsakmpSas()[0].id;
  {
    // SHOW ISAKMP SA: limit and use (phase 1 messages 5 and 6, the quick mode).
    const IsakmpSaInfo i = *SaInfo(a_, first);
    EXPECT_EQ(i.hard_kbytes, 8u);
    EXPECT_GT(i.used_bytes, 200u);
    EXPECT_LT(i.used_bytes, kSoft);
    EXPECT_EQ(i.used_bytes, SaInfo(b_, first_b)->used_bytes);
  }
  // Up to the soft mark: no renewal; at the tick that finds it passed: renewal.
  bool renewed = false;
  for (int i = 0; i < 60 && !renewed; ++i) {
    const uint64_t before = SaInfo(a_, first)->used_bytes;
    Advance(absl::Seconds(6));
    renewed = a_.Logged("nearly expired (kilobytes): renewing phase 1");
    if (!renewed) {
      ASSERT_LT(before, kSoft) << "passed the soft mark without a renewal";
    }
  }
  ASSERT_TRUE(renewed);
  ASSERT_TRUE(SaInfo(a_, first).has_value()) << "the old SA went with the renewal";
  EXPECT_GE(SaInfo(a_, first)->used_bytes, kSoft);
  EXPECT_EQ(SaInfo(a_, first)->state, "EXPIRING");
  EXPECT_EQ(a_.engine->counter(Ctr::kMainStartedInit), 2u);
  ASSERT_EQ(a_.engine->IsakmpSas().size(), 2u);   // the new one is up beside it
  EXPECT_EQ(a_.engine->counter(Ctr::kIsakmpSasDeleted), 0u);
  // DPD goes on under the old SA until its bytes run out: then it goes, on both sides.
  bool gone = false;
  for (int i = 0; i < 20 && !gone; ++i) {
    const uint64_t before = SaInfo(a_, first)->used_bytes;
    Advance(absl::Seconds(6));
    gone = !SaInfo(a_, first).has_value();
    if (!gone) {
      ASSERT_LT(before, kLimit) << "passed the hard mark and still there";
    }
  }
  ASSERT_TRUE(gone);
  EXPECT_TRUE(a_.Logged(absl::StrCat("ISAKMP SA ", first,
                                     " with peer 198.51.100.2 deleted: lifetime expired (kilobytes)")));
  EXPECT_EQ(a_.engine->counter(Ctr::kIsakmpSasDeleted), 1u);
  EXPECT_FALSE(SaInfo(b_, first_b).has_value());   // on our DELETE
  EXPECT_EQ(b_.engine->counter(Ctr::kDeletesReceived), 1u);
  // The renewed SA carries on, the IPsec SAs were untouched.
  ASSERT_EQ(a_.engine->IsakmpSas().size(), 1u);
  EXPECT_EQ(a_.engine->counter(Ctr::kMainStartedInit), 2u);
  EXPECT_EQ(a_.installer.bundles.size(), 1u);
  EXPECT_TRUE(a_.installer.removed.empty());
  a_.engine->SoftExpired(a_.installer.bundles.begin()->first);
  Pump();
  EXPECT_EQ(a_.engine->counter(Ctr::kQuickDone), 2u);
}

// A lifetime in seconds only: however much the SA carries, it is not renewed for it.
TEST_F(EngineTest, IsakmpSecondsOnlyLifetimeIgnoresBytes) {
  auto ca = Basic(true, "k", 2, 0);
  auto cb = Basic(false, "k", 2, 0);
  ca->peers[0].dpd_idle_s = 5;
  cb->peers[0].dpd = DpdMode::kReceive;
  Configure(ca, cb);
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  Pump();
  ASSERT_EQ(a_.engine->IsakmpSas().size(), 1u);
  const uint32_t first = a_.engine->IsakmpSas()[0].id;
  for (int i = 0; i < 40; ++i) Advance(absl::Seconds(6));
  ASSERT_EQ(a_.engine->IsakmpSas().size(), 1u);
  const IsakmpSaInfo i = *SaInfo(a_, first);
  EXPECT_EQ(i.hard_kbytes, 0u);
  EXPECT_GT(i.used_bytes, 4096u);
  EXPECT_EQ(i.state, "ESTABLISHED");
  EXPECT_FALSE(a_.Logged("renewing phase 1"));
  EXPECT_EQ(a_.engine->counter(Ctr::kMainStartedInit), 1u);
}

// XAUTH=CLIENT against a server that never asks (B accepts the XAUTH method with XAUTH
// off): A gives up after XauthExchange::kClientWait, deletes the SA with a DELETE, and
// the pending acquire starts phase 1 again.
TEST_F(EngineTest, XauthClientGivesUpWhenTheServerNeverAsks) {
  auto ca = Basic(true, "k", 2, 0);
  ca->peers[0].xauth = XauthRole::kClient;
  ca->peers[0].xauth_name = "client1";
  const std::string pass = "passclie1";
  ca->peers[0].xauth_pass = SecretBytes(Bytes(pass.begin(), pass.end()));
  ca->peers[0].dpd = DpdMode::kNone;
  auto cb = Basic(false, "k", 2, 0);
  cb->peers[0].offers[0].auth = AuthMethod::kXauthInitPsk;
  Configure(ca, cb);
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  Pump();
  ASSERT_EQ(a_.engine->IsakmpSas().size(), 1u);
  ASSERT_EQ(b_.engine->IsakmpSas().size(), 1u);
  const uint32_t first = a_.engine->IsakmpSas()[0].id;
  const uint32_t first_b = b_.engine->IsakmpSas()[0].id;
  EXPECT_EQ(a_.engine->counter(Ctr::kQuickStartedInit), 0u);   // waiting for XAUTH
  Advance(absl::Seconds(29));
  EXPECT_TRUE(SaInfo(a_, first).has_value());
  EXPECT_EQ(a_.engine->counter(Ctr::kXauthTimeout), 0u);
  Advance(absl::Seconds(2));
  EXPECT_TRUE(a_.Logged("XAUTH: no request from peer 198.51.100.2 within 30 s"));
  EXPECT_TRUE(a_.Logged(absl::StrCat("ISAKMP SA ", first,
                                     " with peer 198.51.100.2 deleted: XAUTH timed out")));
  EXPECT_EQ(a_.engine->counter(Ctr::kXauthTimeout), 1u);
  EXPECT_EQ(a_.engine->counter(Ctr::kXauthFailed), 0u);
  EXPECT_FALSE(SaInfo(a_, first).has_value());
  EXPECT_FALSE(SaInfo(b_, first_b).has_value());   // SENDDELETES: B was told
  EXPECT_EQ(b_.engine->counter(Ctr::kDeletesReceived), 1u);
  EXPECT_EQ(a_.engine->counter(Ctr::kMainStartedInit), 2u);   // the acquire tries again
  EXPECT_EQ(a_.engine->counter(Ctr::kQuickStartedInit), 0u);
  EXPECT_TRUE(a_.installer.bundles.empty());
  // Each new attempt meets the same silence; the acquire's attempts run out.
  for (int i = 0; i < 4; ++i) Advance(absl::Seconds(31));
  EXPECT_EQ(a_.engine->counter(Ctr::kXauthTimeout), 3u);
  EXPECT_TRUE(a_.Logged("attempts exhausted"));
  EXPECT_TRUE(a_.engine->IsakmpSas().empty());
}

}  // namespace
}  // namespace arsec::ike
