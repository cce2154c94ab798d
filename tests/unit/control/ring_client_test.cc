// RingDataplaneClient and DataplaneEvents against an in-process stand-in for the
// dataplane: the real rings, pool and memzone of common/shm_names.h on a no-hugepage
// EAL with no shared config, and a responder thread that answers like the dataplane's main lcore.
#include "control/ring_dataplane_client.h"

#include <rte_eal.h>
#include <rte_mempool.h>
#include <rte_memzone.h>
#include <rte_ring.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>

#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/doorbell.h"
#include "common/shm_names.h"
#include "control/config/log_buffer.h"
#include "control/dp_events.h"

namespace arsec::control {
namespace {

using ::testing::HasSubstr;

struct Shared {
  rte_ring* req = nullptr;
  rte_ring* rep = nullptr;
  rte_ring* evt = nullptr;
  rte_mempool* pool = nullptr;
  shm::Stats* stats = nullptr;
  shm::Bells* bells = nullptr;
};

// EAL leaves its runtime directory behind; this test binary's is removed at exit.
class EalCleanup : public ::testing::Environment {
 public:
  void TearDown() override {
    if (!eal_started) return;
    rte_eal_cleanup();
    std::filesystem::remove_all("/var/run/dpdk/arsec-ctl-unit-" + std::to_string(getpid()));
  }
  static inline bool eal_started = false;
};
const auto* const kEalCleanup = ::testing::AddGlobalTestEnvironment(new EalCleanup);

Shared* Eal() {
  static Shared* shared = [] {
    // --no-shconf and a per-process prefix: nothing shared with any real dataplane.
    std::vector<std::string> args = {"control_test", "--no-huge", "-m", "128", "--no-shconf",
                                     "--file-prefix", "arsec-ctl-unit-" + std::to_string(getpid()),
                                     "--no-pci", "--no-telemetry", "-l", "0",
                                     "--log-level=lib.eal:error"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) return (Shared*)nullptr;
    EalCleanup::eal_started = true;
    auto* s = new Shared;
    s->req = rte_ring_create(shm::kRequestRing, shm::kRingSize, SOCKET_ID_ANY, RING_F_SC_DEQ);
    s->rep = rte_ring_create(shm::kReplyRing, shm::kRingSize, SOCKET_ID_ANY,
                             RING_F_SP_ENQ | RING_F_SC_DEQ);
    s->evt = rte_ring_create(shm::kEventRing, shm::kRingSize, SOCKET_ID_ANY,
                             RING_F_SP_ENQ | RING_F_SC_DEQ);
    s->pool = rte_mempool_create(shm::kMessagePool, shm::kMessagePoolSize, sizeof(msg::Message),
                                 0, 0, nullptr, nullptr, nullptr, nullptr, SOCKET_ID_ANY, 0);
    const rte_memzone* mz =
        rte_memzone_reserve(shm::kStatsZone, sizeof(shm::Stats), SOCKET_ID_ANY, 0);
    const rte_memzone* bz =
        rte_memzone_reserve(shm::kBellsZone, sizeof(shm::Bells), SOCKET_ID_ANY, 0);
    if (!s->req || !s->rep || !s->evt || !s->pool || !mz || !bz) return (Shared*)nullptr;
    s->bells = static_cast<shm::Bells*>(bz->addr);
    std::memset(s->bells, 0, sizeof(*s->bells));
    s->stats = static_cast<shm::Stats*>(mz->addr);
    std::memset(s->stats, 0, sizeof(*s->stats));
    return s;
  }();
  return shared;
}

// Answers like the dataplane: ARP table of 70 entries, 10 ports, an address 10.0.0.1 that
// already exists, and a switch that makes it sit on requests for a while.
class Responder {
 public:
  explicit Responder(Shared* s) : s_(s), thread_([this] { Loop(); }) {}
  ~Responder() {
    stop_ = true;
    thread_.join();
  }
  std::atomic<int> delay_ms{0};
  std::atomic<int> handled{0};
  std::atomic<int> spd_msgs{0}, spd_rules{0}, spd_commits{0};
  std::atomic<int> sa_key_bytes{0};   // cipher key length of the last kSaAdd seen
  std::atomic<int> fail_spd_rules_at{-1};  // the kSpdRules message (0-based) to refuse
  std::atomic<uint32_t> max_backlog{0};    // most requests seen waiting at once
  std::atomic<bool> seq_in_order{true};    // every request's seq one above the last
 private:
  void Loop() {
    while (!stop_) {
      void* obj;
      const uint32_t backlog = rte_ring_count(s_->req);
      if (rte_ring_dequeue(s_->req, &obj) != 0) {
        std::this_thread::yield();
        continue;
      }
      if (backlog > max_backlog) max_backlog = backlog;
      if (int d = delay_ms.load()) std::this_thread::sleep_for(std::chrono::milliseconds(d));
      auto* m = static_cast<msg::Message*>(obj);
      if (last_seq_ != 0 && m->seq != last_seq_ + 1) seq_in_order = false;
      last_seq_ = m->seq;
      Handle(m);
      ++handled;
      while (rte_ring_enqueue(s_->rep, m) != 0) std::this_thread::yield();
      shm::Ring(s_->bells->reply);
    }
  }
  void Handle(msg::Message* m) {
    m->result = 0;
    switch (m->type) {
      case msg::Type::kHello:
        m->body.hello.control_gen = 2;
        m->body.hello.n_workers = 1;
        m->body.hello.dp_pid = 99;
        break;
      case msg::Type::kAddrAdd:
        if (m->body.addr.addr == 0x0a000001) {
          m->result = -EEXIST;
          std::snprintf(m->reason, sizeof(m->reason), "10.0.0.1 is already assigned to vlan1");
        }
        break;
      case msg::Type::kArpDump: {
        const uint32_t total = 70, start = m->body.dump.start;
        auto& pg = m->body.arp;
        pg.count = 0;
        for (uint32_t i = start; i < total && pg.count < msg::kMaxEntries; ++i) {
          pg.entries[pg.count] = {};
          pg.entries[pg.count++].ip = 0xc0a80000 + i;
        }
        pg.next = start + pg.count < total ? start + pg.count : 0;
        break;
      }
      case msg::Type::kPortDump: {
        const uint32_t total = 10, start = m->body.dump.start;
        auto& pg = m->body.ports;
        pg.count = 0;
        for (uint32_t i = start; i < total && pg.count < 8; ++i) {
          auto& e = pg.entries[pg.count++];
          e = {};
          std::snprintf(e.name, sizeof(e.name), "eth%u", i);
          e.port = static_cast<uint16_t>(i);
        }
        pg.next = start + pg.count < total ? start + pg.count : 0;
        break;
      }
      case msg::Type::kSpdBegin:
        spd_msgs = 0;
        spd_rules = 0;
        break;
      case msg::Type::kSpdRules:
        if (spd_msgs.load() == fail_spd_rules_at.load()) {
          m->result = -EINVAL;
          std::snprintf(m->reason, sizeof(m->reason), "SPD rule names port 99");
          spd_failed_ = true;
          break;
        }
        ++spd_msgs;
        spd_rules += static_cast<int>(m->body.spd_rules.count);
        break;
      case msg::Type::kSpdCommit:
        // As the dataplane: a staged SPD short of its rules is not committed.
        if (spd_failed_) {
          m->result = -EPERM;
          std::snprintf(m->reason, sizeof(m->reason), "SPD has fewer rules than announced");
          spd_failed_ = false;
          break;
        }
        ++spd_commits;
        break;
      case msg::Type::kSaAdd:
        sa_key_bytes = m->body.sa.cipher_key_len;
        break;
      default:
        break;
    }
  }
  Shared* s_;
  uint32_t last_seq_ = 0;
  bool spd_failed_ = false;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class RingClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    shared = Eal();
    ASSERT_NE(shared, nullptr) << "EAL (no-huge, in-memory) did not start";
    auto c = RingDataplaneClient::Attach(absl::Seconds(1));
    ASSERT_TRUE(c.ok()) << c.status();
    client = std::move(*c);
    client->set_timeout(absl::Milliseconds(300));
  }
  void TearDown() override {
    // Every message went back to the pool: nothing leaks on any path.
    if (shared) {
      EXPECT_EQ(rte_mempool_avail_count(shared->pool), shm::kMessagePoolSize);
    }
  }
  Shared* shared = nullptr;
  std::unique_ptr<RingDataplaneClient> client;
};

TEST_F(RingClientTest, HelloAndErrorsCarryTheReason) {
  Responder r(shared);
  auto h = client->Hello();
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->control_gen, 2u);
  EXPECT_EQ(h->schema, msg::kSchemaVersion);
  msg::AddrBody a{};
  a.addr = 0x0a000001;
  absl::Status s = client->AddAddress(a);
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(s.message()), HasSubstr("already assigned to vlan1"));
  a.addr = 0x0a000002;
  EXPECT_TRUE(client->AddAddress(a).ok());
}

TEST_F(RingClientTest, PagedDumps) {
  Responder r(shared);
  auto arp = client->DumpArp();
  ASSERT_TRUE(arp.ok());
  ASSERT_EQ(arp->size(), 70u);
  for (uint32_t i = 0; i < 70; ++i) EXPECT_EQ((*arp)[i].ip, 0xc0a80000 + i);
  auto ports = client->DumpPorts();
  ASSERT_TRUE(ports.ok());
  ASSERT_EQ(ports->size(), 10u);
  EXPECT_STREQ((*ports)[9].name, "eth9");
}

TEST_F(RingClientTest, TimeoutIsHonestAndLateRepliesAreDropped) {
  Responder r(shared);
  r.delay_ms = 600;
  absl::Status s = client->SyncBegin();
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(std::string(s.message()), HasSubstr("dataplane did not answer"));
  r.delay_ms = 0;
  // The late reply to SyncBegin arrives first and must not be taken for this one.
  auto h = client->Hello();
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->dp_pid, 99u);
}

TEST_F(RingClientTest, NoDataplaneNoAnswer) {
  absl::Status s = client->ResetCounters();   // no responder running
  EXPECT_THAT(std::string(s.message()), HasSubstr("dataplane did not answer"));
  void* obj = nullptr;
  ASSERT_EQ(rte_ring_dequeue(shared->req, &obj), 0);   // what the dataplane would have got
  rte_mempool_put(shared->pool, obj);
}

TEST_F(RingClientTest, IpsecSpdInChunksAndNoKeyLeftInThePool) {
  Responder r(shared);
  std::vector<msg::SpdRuleWire> rules(70);
  for (uint32_t i = 0; i < rules.size(); ++i) rules[i].policy_id = i;
  ASSERT_TRUE(client->ReplaceSpd(rules).ok());
  EXPECT_EQ(r.spd_msgs.load(), 3);   // 32 + 32 + 6
  EXPECT_EQ(r.spd_rules.load(), 70);
  EXPECT_EQ(r.spd_commits.load(), 1);
  msg::SaBody sa{};
  sa.sa_id = 2;
  sa.cipher_key_len = 16;
  std::memset(sa.cipher_key, 0xA5, 16);
  ASSERT_TRUE(client->AddSa(sa).ok());
  EXPECT_EQ(r.sa_key_bytes.load(), 16);
  // No message buffer keeps the key once it is back in the pool.
  int leaks = 0;
  rte_mempool_obj_iter(
      shared->pool,
      [](rte_mempool*, void* arg, void* obj, unsigned) {
        const auto* m = static_cast<const msg::Message*>(obj);
        if (m->type == msg::Type::kSaAdd && m->body.sa.cipher_key[0] == 0xA5) {
          ++*static_cast<int*>(arg);
        }
      },
      &leaks);
  EXPECT_EQ(leaks, 0);
  auto c = client->ReadIpsecCounters({2, 3}, {0});
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->available);   // this fake dataplane publishes no IPsec memzone
}

// A whole SPD goes as one pipelined batch: the requests queue up behind each other rather
// than waiting a round trip each, and they still arrive in order.
TEST_F(RingClientTest, LargeSpdIsPipelinedInOrder) {
  Responder r(shared);
  r.delay_ms = 0;
  std::vector<msg::SpdRuleWire> rules(10000);
  for (uint32_t i = 0; i < rules.size(); ++i) rules[i].policy_id = i;
  ASSERT_TRUE(client->ReplaceSpd(rules).ok());
  EXPECT_EQ(r.spd_msgs.load(), 313);   // ceil(10000 / 32)
  EXPECT_EQ(r.spd_rules.load(), 10000);
  EXPECT_EQ(r.spd_commits.load(), 1);
  EXPECT_TRUE(r.seq_in_order.load());
  EXPECT_GT(r.max_backlog.load(), 1u);  // more than one request was in flight
  EXPECT_LE(r.max_backlog.load(), 256u);
  // The client is in step afterwards: a plain request gets its own answer.
  auto h = client->Hello();
  ASSERT_TRUE(h.ok()) << h.status();
}

// A rules message refused in the middle of the batch: the error is the caller's, the
// dataplane's commit refuses the short SPD, and every reply is still collected (the
// next request is not answered with a stale reply of the batch).
TEST_F(RingClientTest, RefusedSpdChunkFailsTheWholeReplace) {
  Responder r(shared);
  r.fail_spd_rules_at = 5;
  std::vector<msg::SpdRuleWire> rules(1000);
  absl::Status s = client->ReplaceSpd(rules);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("port 99"));
  EXPECT_EQ(r.spd_commits.load(), 0);
  r.fail_spd_rules_at = -1;
  msg::AddrBody a{};
  a.addr = 0x0a000001;
  EXPECT_EQ(client->AddAddress(a).code(), absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(client->ReplaceSpd(rules).ok());
  EXPECT_EQ(r.spd_commits.load(), 1);
}

TEST_F(RingClientTest, StatsFromTheMemzone) {
  shared->stats->n_workers = 1;
  shared->stats->worker[0].counters[shm::kCtr_rx_packets] = 1234;
  auto st = client->ReadStats();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->stats.worker[0].counters[shm::kCtr_rx_packets], 1234u);
}

TEST_F(RingClientTest, EventsReachTheLogAndBuffersReturn) {
  LogBuffer log;
  DataplaneEvents events(shared->evt, shared->pool, &log, {{1, "ppp0"}});
  events.Start();
  auto post = [&](msg::Type t, auto fill) {
    void* obj;
    ASSERT_EQ(rte_mempool_get(shared->pool, &obj), 0);
    auto* m = static_cast<msg::Message*>(obj);
    std::memset(m, 0, sizeof(*m));
    m->type = t;
    fill(*m);
    ASSERT_EQ(rte_ring_enqueue(shared->evt, m), 0);
  };
  post(msg::Type::kEvtLink, [](msg::Message& m) {
    m.body.link.port = 1;
    m.body.link.up = 1;
    m.body.link.speed_mbps = 1000;
  });
  post(msg::Type::kEvtNeighbour, [](msg::Message& m) {
    m.body.neigh.ip = 0xc0000202;
    m.body.neigh.port = 1;
    m.body.neigh.state = msg::kNeighReachable;
  });
  for (int i = 0; i < 30; ++i) {
    post(msg::Type::kEvtPunt, [](msg::Message& m) { m.body.punt.proto = 17; });
  }
  // The IPsec events are known types (without a Controller: logged / dropped).
  post(msg::Type::kEvtSaExpiry, [](msg::Message& m) {
    m.body.sa_expiry.sa_id = 6;
    m.body.sa_expiry.policy_id = 3;
    m.body.sa_expiry.hard = 1;
  });
  post(msg::Type::kEvtIpsecDebug, [](msg::Message& m) { m.body.ipsec_debug.cap = 20; });
  for (int i = 0; i < 100 && events.handled() < 34; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  events.Stop();
  EXPECT_EQ(events.handled(), 34u);
  std::string text = log.Format("", "");
  EXPECT_THAT(text, HasSubstr("Link ppp0 is up at 1000 Mb/s"));
  EXPECT_THAT(text, HasSubstr("ARP 192.0.2.2 on ppp0 is reachable"));
  EXPECT_THAT(text, HasSubstr("IPsec SA 3 (policy id 3) hard lifetime expired"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("Unexpected message type")));
  EXPECT_LE(log.size(), 3u + 10u);   // punts are rate limited in the log
}

}  // namespace
}  // namespace arsec::control
