// The engine under abuse: floods of phase 1 first messages from spoofed sources (RFC 2408
// 2.5.3 anti-clogging: a cap per address and in all, eviction of the half-open SAs whose
// peer never answered, early expiry, refusals counted), first messages nobody may send,
// and the responder cookie's dependence on the peer's address. A real peer must complete
// main mode and quick mode through all of it. Engines talk over an in-memory network that
// routes by destination address and loses what goes to addresses nobody has (the replies
// to spoofed sources).
#include <algorithm>
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

constexpr uint32_t kA = 0xc0000201;       // 192.0.2.1: the real initiator
constexpr uint32_t kB = 0xc6336402;       // 198.51.100.2: the responder under attack

class Net;

class Port : public DatagramTransport {
 public:
  explicit Port(Net* net) : net_(net) {}
  absl::Status Send(const Datagram& d) override;
  size_t Receive(std::vector<Datagram>& out, size_t max) override {
    size_t n = 0;
    for (; n < max && !in.empty(); ++n) {
      out.push_back(std::move(in.front()));
      in.pop_front();
    }
    return n;
  }
  void Wait(int) override {}
  std::deque<Datagram> in;

 private:
  Net* net_;
};

class Installer : public SaInstaller {
 public:
  uint32_t ReserveSpi(control::SaProtocol) override { return 0x1000 + next_++; }
  void ReleaseSpi(control::SaProtocol, uint32_t) override {}
  absl::StatusOr<uint32_t> Install(const NegotiatedBundle& b) override {
    bundles[++handle_] = b;
    return handle_;
  }
  void Remove(uint32_t h) override { bundles.erase(h); }
  std::map<uint32_t, NegotiatedBundle> bundles;

 private:
  uint32_t next_ = 0, handle_ = 0;
};

struct Node {
  Node(Net* net, uint32_t addr, uint32_t seed, absl::Time* clock)
      : port(net), addr(addr), rng(seed) {
    EngineEnv env;
    env.transport = &port;
    env.installer = &installer;
    env.log = [this](int, const std::string&, const std::string& l) { log.push_back(l); };
    env.now = [clock] { return *clock; };
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
  Port port;
  uint32_t addr;
  Installer installer;
  std::mt19937 rng;
  std::vector<std::string> log;
  std::unique_ptr<Engine> engine;
};

class Net {
 public:
  void Add(Node* n) { nodes_[n->addr] = n; }
  void Route(const Datagram& d) {
    auto it = nodes_.find(d.dst);
    if (it == nodes_.end()) {
      ++lost;
      if (unrouted.size() < 16) unrouted.push_back(d);
      return;
    }
    it->second->port.in.push_back(d);
  }
  // Delivers one queued datagram to each node per round, until quiet.
  void Pump(int rounds = 100) {
    for (int r = 0; r < rounds; ++r) {
      bool any = false;
      for (auto& [a, n] : nodes_) {
        std::vector<Datagram> in;
        if (n->port.Receive(in, 64) == 0) continue;
        any = true;
        for (auto& d : in) n->engine->OnDatagram(d);
      }
      if (!any) return;
    }
  }
  uint64_t lost = 0;
  std::vector<Datagram> unrouted;   // the first few

 private:
  std::map<uint32_t, Node*> nodes_;
};

absl::Status Port::Send(const Datagram& d) {
  net_->Route(d);
  return absl::OkStatus();
}

Phase2Policy Policy(uint32_t local, uint32_t peer, uint32_t lnet, uint32_t rnet) {
  Phase2Policy p;
  p.policy_id = 7;
  p.name = "vpn";
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
  p.bundle.bundle = *lang::ParseBundleString("1");
  p.bundle.text = "1";
  control::SaSpec s;
  s.id = 1;
  s.keyman = control::KeyManagement::kIsakmp;
  s.protocol = control::SaProtocol::kEsp;
  s.encalg = control::EncAlg::kAes128;
  s.hashalg = control::HashAlg::kSha;
  p.specs = {{1, s}};
  return p;
}

PeerConfig Peer(const std::string& name, uint32_t addr) {
  PeerConfig c;
  c.name = name;
  c.peer = addr;
  c.any = addr == 0;
  c.psk = SecretBytes(Bytes{'k', 'e', 'y'});
  Phase1Offer o;
  o.enc = P1Encryption::kAes;
  o.key_bits = 128;
  o.hash = P1Hash::kSha;
  o.auth = AuthMethod::kPsk;
  o.group = 2;
  o.life_seconds = 3600;
  c.offers.push_back(o);
  c.msg_timeout_ms = 1000;
  c.msg_retry_limit = 3;
  return c;
}

class EngineRobustTest : public ::testing::Test {
 protected:
  EngineRobustTest() : a_(&net_, kA, 1, &now_), b_(&net_, kB, 2, &now_) {
    net_.Add(&a_);
    net_.Add(&b_);
    auto ca = std::make_shared<IkeConfig>();
    ca->enabled = true;
    ca->local_addrs = {kA};
    ca->peers.push_back(Peer("toB", kB));
    ca->policies.push_back(Policy(kA, kB, 0xc0a80a00, 0xc0a81400));
    a_.engine->Configure(ca);
  }
  // B: a fixed policy for A, and (any = true) a PEER=ANY one that lets anyone start
  // main mode, as a gateway with road warriors has.
  void ConfigureB(bool any, uint32_t limit, uint32_t per_peer) {
    auto cb = std::make_shared<IkeConfig>();
    cb->enabled = true;
    cb->local_addrs = {kB};
    cb->half_open_limit = limit;
    cb->half_open_per_peer = per_peer;
    cb->peers.push_back(Peer("toA", kA));
    if (any) cb->peers.push_back(Peer("anyone", 0));
    cb->policies.push_back(Policy(kB, kA, 0xc0a81400, 0xc0a80a00));
    b_.engine->Configure(cb);
  }
  // A's first main mode message, taken off the wire once, is the flood's template.
  Datagram FirstMessageTemplate() {
    Node f(&net_, 0x0a0a0a0a, 99, &now_);
    auto cf = std::make_shared<IkeConfig>();
    cf->enabled = true;
    cf->local_addrs = {f.addr};
    cf->peers.push_back(Peer("toB", kB));
    cf->policies.push_back(Policy(f.addr, kB, 0xc0a81e00, 0xc0a80a00));
    f.engine->Configure(cf);
    EXPECT_TRUE(f.engine->Initiate(7).ok());
    EXPECT_EQ(b_.port.in.size(), 1u);
    Datagram d = b_.port.in.back();
    b_.port.in.pop_back();
    return d;
  }
  // `n` first messages to B from random spoofed sources (or from `src`), new cookies.
  void Flood(const Datagram& tmpl, int n, uint32_t src = 0) {
    for (int i = 0; i < n; ++i) {
      Datagram d = tmpl;
      for (int k = 0; k < 8; ++k) d.data[k] = static_cast<uint8_t>(flood_rng_());
      d.src = src ? src : 0x64000000u | (flood_rng_() & 0x00ffffff);   // 100.x.y.z
      d.sport = static_cast<uint16_t>(1024 + flood_rng_() % 60000);
      b_.engine->OnDatagram(d);
    }
  }
  // Delivers what waits for B (one round), then for A.
  void DeliverTo(Node& n) {
    std::vector<Datagram> in;
    n.port.Receive(in, 1000);
    for (auto& d : in) n.engine->OnDatagram(d);
  }

  absl::Time now_ = absl::FromUnixSeconds(1700000000);
  Net net_;
  Node a_, b_;
  std::mt19937 flood_rng_{12345};
};

TEST_F(EngineRobustTest, RealPeerCompletesThroughASpoofedFlood) {
  ConfigureB(true, 64, 16);
  const Datagram tmpl = FirstMessageTemplate();
  Flood(tmpl, 2000);
  EXPECT_EQ(b_.engine->HalfOpenCount(), 64u);
  EXPECT_GE(b_.engine->counter(Ctr::kHalfOpenEvicted), 2000u - 64u);
  // A starts while the flood goes on: its first message evicts a silent spoofed SA...
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  DeliverTo(b_);
  Flood(tmpl, 40);              // ...and survives fewer than `limit` newer ones
  DeliverTo(a_);                // message 2
  DeliverTo(b_);                // message 3: A has answered, its SA is no longer evictable
  Flood(tmpl, 2000);
  net_.Pump();
  Flood(tmpl, 500);
  net_.Pump();
  ASSERT_EQ(a_.engine->IsakmpSas().size(), 1u);
  ASSERT_EQ(b_.engine->IsakmpSas().size(), 1u);
  EXPECT_EQ(a_.installer.bundles.size(), 1u);
  EXPECT_EQ(b_.installer.bundles.size(), 1u);
  // Memory stays bounded by the cap: the established SA plus 64 half-open ones.
  EXPECT_LE(b_.engine->HalfOpenCount(), 64u);
  EXPECT_LE(b_.engine->SaCount(), 65u);
  EXPECT_LE(b_.engine->ExchangeCount(), 2u * 65u);
}

TEST_F(EngineRobustTest, EvictionPrefersSilentPeers) {
  ConfigureB(true, 8, 16);
  const Datagram tmpl = FirstMessageTemplate();
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  DeliverTo(b_);
  DeliverTo(a_);
  DeliverTo(b_);                // A is at message 4 with B: answered
  Flood(tmpl, 100);             // A is the oldest half-open SA, yet is kept
  EXPECT_EQ(b_.engine->HalfOpenCount(), 8u);
  net_.Pump();
  EXPECT_EQ(b_.engine->IsakmpSas().size(), 1u);
  EXPECT_EQ(b_.installer.bundles.size(), 1u);
}

TEST_F(EngineRobustTest, PerAddressCapRefusesAndCounts) {
  ConfigureB(true, 64, 4);
  const Datagram tmpl = FirstMessageTemplate();
  Flood(tmpl, 100, 0x64000001);
  EXPECT_EQ(b_.engine->HalfOpenCount(), 4u);
  EXPECT_EQ(b_.engine->counter(Ctr::kHalfOpenRefused), 96u);
  EXPECT_EQ(b_.engine->counter(Ctr::kHalfOpenEvicted), 0u);
  // Logged, but not once per message.
  int lines = 0;
  for (const auto& l : b_.log) lines += l.find("refused") != std::string::npos;
  EXPECT_EQ(lines, 1);
  EXPECT_TRUE(b_.Logged("Phase 1 from 100.0.0.1 refused: too many half-open exchanges"));
  // Another address is served.
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  net_.Pump();
  EXPECT_EQ(b_.installer.bundles.size(), 1u);
}

TEST_F(EngineRobustTest, HalfOpenSasExpireAfterThirtySeconds) {
  ConfigureB(true, 64, 16);
  Flood(FirstMessageTemplate(), 50);
  EXPECT_EQ(b_.engine->HalfOpenCount(), 50u);
  now_ += absl::Seconds(29);
  b_.engine->Tick();
  EXPECT_EQ(b_.engine->HalfOpenCount(), 50u);
  now_ += absl::Seconds(2);
  b_.engine->Tick();
  EXPECT_EQ(b_.engine->HalfOpenCount(), 0u);
  EXPECT_EQ(b_.engine->SaCount(), 0u);
  EXPECT_EQ(b_.engine->ExchangeCount(), 0u);
}

TEST_F(EngineRobustTest, MainModeFromAnUnknownAddressMakesNoState) {
  ConfigureB(false, 64, 16);
  Flood(FirstMessageTemplate(), 300);
  EXPECT_EQ(b_.engine->SaCount(), 0u);
  EXPECT_EQ(b_.engine->ExchangeCount(), 0u);
  EXPECT_EQ(b_.engine->counter(Ctr::kHalfOpenRefused), 300u);
  EXPECT_EQ(b_.engine->counter(Ctr::kMainNoProposal), 300u);
  EXPECT_EQ(net_.lost, 0u);     // nothing sent back to the spoofed addresses
  EXPECT_TRUE(b_.Logged("refused: no ISAKMP policy for the peer"));
  ASSERT_TRUE(a_.engine->Initiate(7).ok());
  net_.Pump();
  EXPECT_EQ(b_.installer.bundles.size(), 1u);
}

TEST_F(EngineRobustTest, ResponderCookieDependsOnThePeersAddress) {
  ConfigureB(true, 64, 16);
  Datagram d = FirstMessageTemplate();
  d.src = 0x64000001;
  b_.engine->OnDatagram(d);
  d.src = 0x64000002;
  b_.engine->OnDatagram(d);     // same initiator cookie, another address
  EXPECT_EQ(b_.engine->HalfOpenCount(), 2u);
  // Both answers (message 2) went to addresses nobody has: their responder cookies differ.
  ASSERT_EQ(net_.unrouted.size(), 2u);
  const auto& r1 = net_.unrouted[0].data;
  const auto& r2 = net_.unrouted[1].data;
  ASSERT_GE(r1.size(), 16u);
  ASSERT_GE(r2.size(), 16u);
  EXPECT_TRUE(std::equal(r1.begin(), r1.begin() + 8, r2.begin()));    // their cookie
  EXPECT_FALSE(std::equal(r1.begin() + 8, r1.begin() + 16, r2.begin() + 8));
  // A retransmitted first message takes no second slot.
  b_.engine->OnDatagram(d);
  EXPECT_EQ(b_.engine->HalfOpenCount(), 2u);
  EXPECT_EQ(b_.engine->counter(Ctr::kRxRetransmitted), 1u);
}

}  // namespace
}  // namespace arsec::ike
