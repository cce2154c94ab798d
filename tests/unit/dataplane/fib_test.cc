// The rte_lpm FIB on a no-hugepage EAL: bulk longest-prefix lookups through the route
// model, the default route (rte_lpm has no depth 0), next-hop record sharing, and the
// RCU rule that a record is reused only after every reader reported a quiescent state.
#include "dataplane/fib.h"

#include <rte_eal.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lpm.h>
#include <rte_malloc.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dataplane/route_table.h"

namespace arsec::dp {
namespace {

class EalEnv : public ::testing::Environment {
 public:
  void SetUp() override {
    std::vector<std::string> a = {"dataplane_test", "--no-huge", "-m", "256", "--no-pci",
                                  "-l", "0", "--no-telemetry",
                                  "--log-level=lib.eal:error", "--file-prefix=arsec-dp-unit"};
    std::vector<char*> v;
    for (auto& s : a) v.push_back(s.data());
    ASSERT_GE(rte_eal_init(static_cast<int>(v.size()), v.data()), 0);
  }
  void TearDown() override { rte_eal_cleanup(); }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new EalEnv);

constexpr uint32_t Ip(unsigned a, unsigned b, unsigned c, unsigned d) {
  return (a << 24) | (b << 16) | (c << 8) | d;
}

struct Rcu {
  Rcu() {
    v = static_cast<rte_rcu_qsbr*>(rte_zmalloc(nullptr, rte_rcu_qsbr_get_memsize(1), 64));
    rte_rcu_qsbr_init(v, 1);
    rte_rcu_qsbr_thread_register(v, 0);
    rte_rcu_qsbr_thread_online(v, 0);
  }
  ~Rcu() {
    rte_rcu_qsbr_thread_offline(v, 0);
    rte_rcu_qsbr_thread_unregister(v, 0);
    rte_free(v);
  }
  rte_rcu_qsbr* v;
};

// Lookup as the workers do it: bulk, then the default record on a miss.
std::vector<NhEntry> Bulk(const LpmFib& fib, std::vector<uint32_t> ips, std::vector<bool>* hit) {
  std::vector<uint32_t> hop(ips.size());
  rte_lpm_lookup_bulk(fib.lpm(), ips.data(), hop.data(), static_cast<unsigned>(ips.size()));
  std::vector<NhEntry> out;
  hit->clear();
  for (uint32_t h : hop) {
    uint32_t idx = (h & RTE_LPM_LOOKUP_SUCCESS) ? (h & 0xffffff) : *fib.default_nh();
    hit->push_back(idx != 0);
    out.push_back(idx ? fib.nh_table()[idx] : NhEntry{});
  }
  return out;
}

TEST(LpmFib, RouteModelOnRealLpm) {
  Rcu rcu;
  LpmFib fib("t_fib1", SOCKET_ID_ANY, 1024, 256, rcu.v);
  ASSERT_TRUE(fib.ok());
  RouteTable rt(&fib);
  ASSERT_TRUE(rt.AddAddr("vlan1", 0, Ip(192, 168, 10, 1), 24).ok());
  ASSERT_TRUE(rt.AddAddr("ppp0", 1, Ip(192, 0, 2, 1), 24).ok());
  ASSERT_TRUE(rt.AddRoute(Ip(10, 0, 0, 0), 8, Ip(192, 0, 2, 2), 1, "ppp0", 1).ok());
  ASSERT_TRUE(rt.AddRoute(Ip(10, 1, 2, 0), 24, Ip(192, 0, 2, 3), 1, "ppp0", 1).ok());
  std::vector<bool> hit;
  auto nh = Bulk(fib, {Ip(192, 168, 10, 1), Ip(192, 168, 10, 9), Ip(10, 1, 2, 3), Ip(10, 9, 9, 9),
                       Ip(8, 8, 8, 8)},
                 &hit);
  EXPECT_EQ(nh[0].type, uint8_t(NhType::kLocal));
  EXPECT_EQ(nh[1].type, uint8_t(NhType::kConnected));
  EXPECT_EQ(nh[1].port, 0);
  EXPECT_EQ(nh[2].gw, Ip(192, 0, 2, 3));  // /24 beats /8 (a tbl8 entry)
  EXPECT_EQ(nh[3].gw, Ip(192, 0, 2, 2));
  EXPECT_FALSE(hit[4]);

  ASSERT_TRUE(rt.AddRoute(0, 0, Ip(192, 0, 2, 254), 1, "ppp0", 1).ok());
  nh = Bulk(fib, {Ip(8, 8, 8, 8)}, &hit);
  ASSERT_TRUE(hit[0]);
  EXPECT_EQ(nh[0].gw, Ip(192, 0, 2, 254));
  ASSERT_TRUE(rt.DelRoute(0, 0, Ip(192, 0, 2, 254)).ok());
  nh = Bulk(fib, {Ip(8, 8, 8, 8)}, &hit);
  EXPECT_FALSE(hit[0]);

  ASSERT_TRUE(rt.DelRoute(Ip(10, 1, 2, 0), 24, Ip(192, 0, 2, 3)).ok());
  NhEntry e;
  ASSERT_TRUE(fib.Lookup(Ip(10, 1, 2, 3), &e));
  EXPECT_EQ(e.gw, Ip(192, 0, 2, 2));
}

TEST(LpmFib, RecordsAreSharedAndFreedAfterGracePeriod) {
  Rcu rcu;
  LpmFib fib("t_fib2", SOCKET_ID_ANY, 1024, 256, rcu.v);
  ASSERT_TRUE(fib.ok());
  NhKey via{NhType::kVia, 1, Ip(192, 0, 2, 2)};
  ASSERT_EQ(fib.Set(Ip(10, 0, 0, 0), 8, via), 0);
  ASSERT_EQ(fib.Set(Ip(172, 16, 0, 0), 12, via), 0);
  EXPECT_EQ(fib.nh_in_use(), 1u);  // one record for both prefixes
  ASSERT_EQ(fib.Clear(Ip(10, 0, 0, 0), 8), 0);
  EXPECT_EQ(fib.nh_pending_free(), 0u);
  ASSERT_EQ(fib.Clear(Ip(172, 16, 0, 0), 12), 0);
  EXPECT_EQ(fib.nh_in_use(), 0u);
  EXPECT_EQ(fib.nh_pending_free(), 1u);
  fib.Reclaim();
  EXPECT_EQ(fib.nh_pending_free(), 1u) << "freed while a reader may still hold it";
  rte_rcu_qsbr_quiescent(rcu.v, 0);
  fib.Reclaim();
  EXPECT_EQ(fib.nh_pending_free(), 0u);
  EXPECT_EQ(fib.Clear(Ip(10, 0, 0, 0), 8), -ENOENT);
}

TEST(LpmFib, ReplacingNextHopKeepsOldRecordUntilQuiescent) {
  Rcu rcu;
  LpmFib fib("t_fib3", SOCKET_ID_ANY, 1024, 256, rcu.v);
  ASSERT_EQ(fib.Set(Ip(10, 0, 0, 0), 8, {NhType::kVia, 1, Ip(192, 0, 2, 2)}), 0);
  uint32_t old_idx = 0;
  ASSERT_EQ(rte_lpm_lookup(fib.lpm(), Ip(10, 0, 0, 1), &old_idx), 0);
  ASSERT_EQ(fib.Set(Ip(10, 0, 0, 0), 8, {NhType::kVia, 1, Ip(192, 0, 2, 3)}), 0);
  // A worker that read old_idx before the swap still sees the old, intact record.
  EXPECT_EQ(fib.nh_table()[old_idx].gw, Ip(192, 0, 2, 2));
  NhEntry e;
  ASSERT_TRUE(fib.Lookup(Ip(10, 0, 0, 1), &e));
  EXPECT_EQ(e.gw, Ip(192, 0, 2, 3));
}

TEST(NeighHash, LockFreeDataReplaceAndDelete) {
  Rcu rcu;
  rte_hash_parameters hp{};
  hp.name = "t_neigh";
  hp.entries = 1024;
  hp.key_len = sizeof(uint64_t);
  hp.hash_func = rte_hash_crc;
  hp.socket_id = SOCKET_ID_ANY;
  hp.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF;
  rte_hash* h = rte_hash_create(&hp);
  ASSERT_NE(h, nullptr);
  rte_hash_rcu_config rc{};
  rc.v = rcu.v;
  rc.mode = RTE_HASH_QSBR_MODE_DQ;
  ASSERT_EQ(rte_hash_rcu_qsbr_add(h, &rc), 0);
  uint64_t k1 = (uint64_t{1} << 32) | Ip(192, 0, 2, 2), k2 = Ip(192, 168, 10, 2);
  ASSERT_GE(rte_hash_add_key_data(h, &k1, reinterpret_cast<void*>(uintptr_t{0x112233445566})), 0);
  ASSERT_GE(rte_hash_add_key_data(h, &k1, reinterpret_cast<void*>(uintptr_t{0xaabbccddeeff})), 0);
  const void* keys[2] = {&k1, &k2};
  void* data[2];
  uint64_t hit = 0;
  EXPECT_EQ(rte_hash_lookup_bulk_data(h, keys, 2, &hit, data), 1);
  EXPECT_EQ(hit, 1u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(data[0]), uintptr_t{0xaabbccddeeff});
  EXPECT_GE(rte_hash_del_key(h, &k1), 0);
  EXPECT_EQ(rte_hash_lookup_bulk_data(h, keys, 2, &hit, data), 0);
  rte_hash_free(h);
}

}  // namespace
}  // namespace arsec::dp
