// The neighbour state machine with a fake clock and recorded actions: resolution with
// queued packets, retries and failure, queue limits, table capacity, ageing to STALE,
// re-probing while forwarding continues, and withdrawal when probes go unanswered.
#include "dataplane/neigh.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace arsec::dp {
namespace {

struct Rec : NeighActions {
  void SendRequest(uint16_t port, uint32_t ip) override { log.push_back("req " + S(port, ip)); }
  void Install(uint16_t port, uint32_t ip, const Mac& m) override {
    log.push_back("install " + S(port, ip) + " " + std::to_string(m[5]));
  }
  void Withdraw(uint16_t port, uint32_t ip) override { log.push_back("withdraw " + S(port, ip)); }
  void Transmit(void* p, uint16_t port, const Mac& m) override {
    log.push_back("tx " + std::to_string(reinterpret_cast<uintptr_t>(p)) + " " +
                  S(port, 0) + " " + std::to_string(m[5]));
  }
  void Drop(void* p, DropReason why) override {
    log.push_back("drop " + std::to_string(reinterpret_cast<uintptr_t>(p)) + " " +
                  (why == kQueueFull ? "queue" : why == kFailed ? "failed" : "table"));
  }
  void Event(uint16_t port, uint32_t ip, const Mac&, msg::NeighState s) override {
    log.push_back("event " + S(port, ip) + " " + std::to_string(s));
  }
  static std::string S(uint16_t port, uint32_t ip) {
    return std::to_string(port) + "/" + std::to_string(ip & 0xff);
  }
  std::vector<std::string> Take() {
    auto v = std::move(log);
    log.clear();
    return v;
  }
  std::vector<std::string> log;
};

void* P(uintptr_t n) { return reinterpret_cast<void*>(n); }
constexpr uint32_t kIp = 0xc0000202;  // 192.0.2.2
const Mac kMac{2, 0, 0, 0, 0, 7};

NeighTable::Params Params() {
  NeighTable::Params p;
  p.reachable_ms = 10000;
  p.retry_ms = 1000;
  p.max_retries = 3;
  p.queue_len = 2;
  p.capacity = 2;
  return p;
}

using V = std::vector<std::string>;

TEST(Neigh, MissQueuesResolvesAndFlushes) {
  Rec r;
  NeighTable t(Params(), &r);
  t.OnMiss(1, kIp, P(1), 0);
  t.OnMiss(1, kIp, P(2), 10);
  t.OnMiss(1, kIp, P(3), 20);  // queue_len 2
  EXPECT_EQ(r.Take(), (V{"req 1/2", "drop 3 queue"}));
  EXPECT_EQ(t.entries().at(NeighTable::KeyOf(1, kIp)).state, msg::kNeighIncomplete);
  t.OnArp(1, kIp, kMac, false, 30);
  // The held packets leave before the entry is published (later ones must not overtake).
  EXPECT_EQ(r.Take(), (V{"tx 1 1/0 7", "tx 2 1/0 7", "install 1/2 7", "event 1/2 1"}));
  // A miss that raced the install is sent straight away.
  t.OnMiss(1, kIp, P(4), 40);
  EXPECT_EQ(r.Take(), (V{"tx 4 1/0 7"}));
}

TEST(Neigh, RetriesThenFailsAndDropsQueue) {
  Rec r;
  NeighTable t(Params(), &r);
  t.OnMiss(0, kIp, P(1), 0);
  t.Tick(999);
  EXPECT_EQ(r.Take(), (V{"req 0/2"}));
  t.Tick(1000);
  t.Tick(2000);
  EXPECT_EQ(r.Take(), (V{"req 0/2", "req 0/2"}));
  t.Tick(3000);
  EXPECT_EQ(r.Take(), (V{"drop 1 failed", "event 0/2 3"}));
  EXPECT_TRUE(t.entries().empty());
  // A later packet starts a fresh resolution.
  t.OnMiss(0, kIp, P(2), 4000);
  EXPECT_EQ(r.Take(), (V{"req 0/2"}));
}

TEST(Neigh, AgesToStaleReprobesAndRecovers) {
  Rec r;
  NeighTable t(Params(), &r);
  t.OnArp(0, kIp, kMac, true, 0);  // learnt from a request aimed at us
  EXPECT_EQ(r.Take(), (V{"install 0/2 7", "event 0/2 1"}));
  t.Tick(9999);
  EXPECT_TRUE(r.Take().empty());
  t.Tick(10000);
  EXPECT_EQ(r.Take(), (V{"req 0/2"}));
  EXPECT_EQ(t.entries().begin()->second.state, msg::kNeighStale);
  t.OnArp(0, kIp, kMac, false, 10500);  // same MAC: no reinstall, state back to reachable
  EXPECT_EQ(r.Take(), (V{"event 0/2 1"}));
  EXPECT_EQ(t.entries().begin()->second.state, msg::kNeighReachable);
}

TEST(Neigh, StaleWithoutAnswerIsWithdrawn) {
  Rec r;
  NeighTable t(Params(), &r);
  t.OnArp(0, kIp, kMac, true, 0);
  r.Take();
  t.Tick(10000);
  t.Tick(11000);
  t.Tick(12000);
  EXPECT_EQ(r.Take(), (V{"req 0/2", "req 0/2", "req 0/2"}));
  t.Tick(13000);
  EXPECT_EQ(r.Take(), (V{"withdraw 0/2", "event 0/2 3"}));
  EXPECT_TRUE(t.entries().empty());
}

TEST(Neigh, UnsolicitedArpIsIgnoredUnlessForUs) {
  Rec r;
  NeighTable t(Params(), &r);
  t.OnArp(0, kIp, kMac, false, 0);
  EXPECT_TRUE(r.Take().empty());
  EXPECT_TRUE(t.entries().empty());
}

TEST(Neigh, MacChangeReinstalls) {
  Rec r;
  NeighTable t(Params(), &r);
  t.OnArp(0, kIp, kMac, true, 0);
  r.Take();
  Mac other{2, 0, 0, 0, 0, 9};
  t.OnArp(0, kIp, other, false, 100);
  EXPECT_EQ(r.Take(), (V{"install 0/2 9", "event 0/2 1"}));
}

TEST(Neigh, TableCapacityIsEnforced) {
  Rec r;
  NeighTable t(Params(), &r);  // capacity 2
  t.OnMiss(0, kIp, P(1), 0);
  t.OnMiss(0, kIp + 1, P(2), 0);
  t.OnMiss(0, kIp + 2, P(3), 0);
  EXPECT_EQ(r.Take(), (V{"req 0/2", "req 0/3", "drop 3 table"}));
  t.OnArp(0, kIp + 3, kMac, true, 0);  // not learnt: full
  EXPECT_EQ(t.entries().size(), 2u);
}

TEST(Neigh, SamePortDifferentIpAndSameIpDifferentPortAreDistinct) {
  Rec r;
  NeighTable t(Params(), &r);
  t.OnArp(0, kIp, kMac, true, 0);
  t.OnArp(1, kIp, kMac, true, 0);
  EXPECT_EQ(t.entries().size(), 2u);
  t.Clear();
  EXPECT_TRUE(t.entries().empty());
}

}  // namespace
}  // namespace arsec::dp

namespace arsec::dp {
namespace {

TEST(Neigh, StaticEntryFlushesQueueNeverAgesAndIgnoresTheWire) {
  Rec r;
  NeighTable t(Params(), &r);
  t.OnMiss(0, kIp, P(1), 0);
  r.Take();
  ASSERT_TRUE(t.AddStatic(0, kIp, kMac, 5));
  EXPECT_EQ(r.Take(), (V{"tx 1 0/0 7", "install 0/2 7"}));
  t.Tick(1000000);
  EXPECT_TRUE(r.Take().empty());
  t.OnArp(0, kIp, Mac{2, 0, 0, 0, 0, 9}, true, 1000001);
  EXPECT_TRUE(r.Take().empty());
  EXPECT_TRUE(t.entries().begin()->second.is_static);
}

}  // namespace
}  // namespace arsec::dp
