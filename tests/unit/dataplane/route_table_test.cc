// The routing model: local vs connected vs static precedence, longest prefix match on
// the installed result, deletes that promote the next candidate, and the mark & sweep
// reconciliation a restarted arsec-control relies on. A map stands in for the LPM here;
// fib_test.cc runs the same model on rte_lpm.
#include "dataplane/route_table.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <map>

namespace arsec::dp {
namespace {

constexpr uint32_t Ip(unsigned a, unsigned b, unsigned c, unsigned d) {
  return (a << 24) | (b << 16) | (c << 8) | d;
}

class MapSink : public FibSink {
 public:
  int Set(uint32_t p, uint8_t l, const NhKey& nh) override {
    if (fail_next) {
      fail_next = false;
      return -ENOSPC;
    }
    t[{p, l}] = nh;
    ++sets;
    return 0;
  }
  int Clear(uint32_t p, uint8_t l) override { return t.erase({p, l}) ? 0 : -ENOENT; }
  // Longest prefix match over the installed entries.
  bool Lookup(uint32_t ip, NhKey* out) const {
    for (int len = 32; len >= 0; --len) {
      auto it = t.find({ip & MaskOf(static_cast<uint8_t>(len)), static_cast<uint8_t>(len)});
      if (it != t.end()) {
        *out = it->second;
        return true;
      }
    }
    return false;
  }
  std::map<std::pair<uint32_t, uint8_t>, NhKey> t;
  int sets = 0;
  bool fail_next = false;
};

class RouteTableTest : public ::testing::Test {
 protected:
  MapSink sink;
  RouteTable rt{&sink};
  NhKey Nh(uint32_t ip) {
    NhKey k{};
    EXPECT_TRUE(sink.Lookup(ip, &k)) << ip;
    return k;
  }
};

TEST_F(RouteTableTest, AddressInstallsLocalAndConnected) {
  ASSERT_TRUE(rt.AddAddr("vlan1", 0, Ip(192, 168, 10, 1), 24).ok());
  EXPECT_EQ(Nh(Ip(192, 168, 10, 1)), (NhKey{NhType::kLocal, 0, 0}));
  EXPECT_EQ(Nh(Ip(192, 168, 10, 77)), (NhKey{NhType::kConnected, 0, 0}));
  NhKey k;
  EXPECT_FALSE(sink.Lookup(Ip(10, 0, 0, 1), &k));
  EXPECT_TRUE(rt.IsLocal(Ip(192, 168, 10, 1)));
  EXPECT_EQ(rt.SourceFor(0, Ip(192, 168, 10, 9)), Ip(192, 168, 10, 1));
}

TEST_F(RouteTableTest, LongestPrefixWins) {
  ASSERT_TRUE(rt.AddAddr("ppp0", 1, Ip(192, 0, 2, 1), 24).ok());
  ASSERT_TRUE(rt.AddRoute(0, 0, Ip(192, 0, 2, 254), 1, "ppp0", 1).ok());
  ASSERT_TRUE(rt.AddRoute(Ip(10, 0, 0, 0), 8, Ip(192, 0, 2, 2), 1, "ppp0", 1).ok());
  ASSERT_TRUE(rt.AddRoute(Ip(10, 1, 0, 0), 16, Ip(192, 0, 2, 3), 1, "ppp0", 1).ok());
  EXPECT_EQ(Nh(Ip(10, 1, 2, 3)).gw, Ip(192, 0, 2, 3));
  EXPECT_EQ(Nh(Ip(10, 2, 2, 3)).gw, Ip(192, 0, 2, 2));
  EXPECT_EQ(Nh(Ip(8, 8, 8, 8)).gw, Ip(192, 0, 2, 254));
  EXPECT_EQ(Nh(Ip(192, 0, 2, 9)).type, NhType::kConnected);
}

TEST_F(RouteTableTest, LocalBeatsConnectedBeatsStatic) {
  ASSERT_TRUE(rt.AddRoute(Ip(192, 168, 10, 0), 24, Ip(192, 0, 2, 2), 1, "ppp0", 1).ok());
  EXPECT_EQ(Nh(Ip(192, 168, 10, 5)).type, NhType::kVia);
  ASSERT_TRUE(rt.AddAddr("vlan1", 0, Ip(192, 168, 10, 1), 24).ok());
  EXPECT_EQ(Nh(Ip(192, 168, 10, 5)).type, NhType::kConnected);
  ASSERT_TRUE(rt.AddRoute(Ip(192, 168, 10, 1), 32, Ip(192, 0, 2, 2), 1, "ppp0", 1).ok());
  EXPECT_EQ(Nh(Ip(192, 168, 10, 1)).type, NhType::kLocal);
  // Removing the address brings the static route back.
  ASSERT_TRUE(rt.DelAddr("vlan1", 0, Ip(192, 168, 10, 1), 24).ok());
  EXPECT_EQ(Nh(Ip(192, 168, 10, 5)).type, NhType::kVia);
  EXPECT_EQ(Nh(Ip(192, 168, 10, 1)).type, NhType::kVia);
}

TEST_F(RouteTableTest, LowerMetricStaticWinsAndDeletePromotes) {
  ASSERT_TRUE(rt.AddRoute(Ip(10, 0, 0, 0), 8, Ip(192, 0, 2, 2), 1, "ppp0", 5).ok());
  ASSERT_TRUE(rt.AddRoute(Ip(10, 0, 0, 0), 8, Ip(192, 0, 2, 3), 1, "ppp0", 2).ok());
  EXPECT_EQ(Nh(Ip(10, 9, 9, 9)).gw, Ip(192, 0, 2, 3));
  ASSERT_TRUE(rt.DelRoute(Ip(10, 0, 0, 0), 8, Ip(192, 0, 2, 3)).ok());
  EXPECT_EQ(Nh(Ip(10, 9, 9, 9)).gw, Ip(192, 0, 2, 2));
  // Without a next hop the delete is unambiguous now.
  ASSERT_TRUE(rt.DelRoute(Ip(10, 0, 0, 0), 8, 0).ok());
  NhKey k;
  EXPECT_FALSE(sink.Lookup(Ip(10, 9, 9, 9), &k));
  EXPECT_EQ(rt.DelRoute(Ip(10, 0, 0, 0), 8, 0).code, -ENOENT);
}

TEST_F(RouteTableTest, ConnectedStaticRouteUsesDestination) {
  ASSERT_TRUE(rt.AddRoute(Ip(203, 0, 113, 0), 24, 0, 1, "ppp0", 1).ok());
  EXPECT_EQ(Nh(Ip(203, 0, 113, 7)), (NhKey{NhType::kConnected, 1, 0}));
}

TEST_F(RouteTableTest, SeveralAddressesPerPort) {
  ASSERT_TRUE(rt.AddAddr("ppp0-0", 1, Ip(192, 0, 2, 1), 24).ok());
  ASSERT_TRUE(rt.AddAddr("ppp0-1", 1, Ip(198, 51, 100, 1), 24).ok());
  EXPECT_EQ(Nh(Ip(198, 51, 100, 1)).type, NhType::kLocal);
  EXPECT_EQ(Nh(Ip(198, 51, 100, 20)).port, 1);
  EXPECT_EQ(rt.SourceFor(1, Ip(198, 51, 100, 20)), Ip(198, 51, 100, 1));
  EXPECT_EQ(rt.SourceFor(1, Ip(8, 8, 8, 8)), Ip(192, 0, 2, 1));
}

TEST_F(RouteTableTest, IdenticalAddIsNoOpConflictsAreErrors) {
  ASSERT_TRUE(rt.AddAddr("vlan1", 0, Ip(192, 168, 10, 1), 24).ok());
  int sets = sink.sets;
  EXPECT_TRUE(rt.AddAddr("vlan1", 0, Ip(192, 168, 10, 1), 24).ok());
  EXPECT_EQ(sink.sets, sets);
  EXPECT_EQ(rt.AddAddr("vlan1", 0, Ip(192, 168, 10, 1), 16).code, -EEXIST);
  EXPECT_EQ(rt.AddAddr("ppp0", 1, Ip(192, 168, 10, 1), 24).code, -EEXIST);
  ASSERT_TRUE(rt.AddRoute(Ip(10, 0, 0, 0), 8, Ip(192, 168, 10, 2), 0, "vlan1", 1).ok());
  EXPECT_TRUE(rt.AddRoute(Ip(10, 0, 0, 0), 8, Ip(192, 168, 10, 2), 0, "vlan1", 1).ok());
  EXPECT_EQ(rt.AddRoute(Ip(10, 0, 0, 0), 8, Ip(192, 168, 10, 2), 0, "vlan1", 7).code, -EEXIST);
  EXPECT_EQ(rt.statics().size(), 1u);
}

TEST_F(RouteTableTest, BadInputIsRejected) {
  EXPECT_EQ(rt.AddAddr("vlan1", 0, Ip(192, 168, 10, 0), 24).code, -EINVAL);
  EXPECT_EQ(rt.AddAddr("vlan1", 0, Ip(192, 168, 10, 255), 24).code, -EINVAL);
  EXPECT_EQ(rt.AddAddr("vlan1", 0, Ip(127, 0, 0, 1), 8).code, -EINVAL);
  EXPECT_EQ(rt.AddAddr("vlan1", 0, Ip(224, 0, 0, 1), 24).code, -EINVAL);
  EXPECT_EQ(rt.AddAddr("vlan1", 0, Ip(1, 2, 3, 4), 33).code, -EINVAL);
  EXPECT_EQ(rt.AddRoute(Ip(10, 0, 0, 1), 8, Ip(192, 0, 2, 2), 1, "ppp0", 1).code, -EINVAL);
  EXPECT_EQ(rt.AddRoute(Ip(10, 0, 0, 0), 8, Ip(224, 0, 0, 2), 1, "ppp0", 1).code, -EINVAL);
  ASSERT_TRUE(rt.AddAddr("vlan1", 0, Ip(192, 168, 10, 1), 24).ok());
  EXPECT_EQ(rt.AddRoute(Ip(10, 0, 0, 0), 8, Ip(192, 168, 10, 1), 0, "vlan1", 1).code, -EINVAL);
  EXPECT_EQ(rt.DelAddr("vlan1", 0, Ip(192, 168, 10, 9), 24).code, -ENOENT);
  EXPECT_TRUE(sink.t.size() == 2);
}

TEST_F(RouteTableTest, UnnumberedInterfaceHasNoRoutes) {
  ASSERT_TRUE(rt.AddAddr("ppp0", 1, 0, 0).ok());
  EXPECT_TRUE(sink.t.empty());
  EXPECT_EQ(rt.SourceFor(1, Ip(1, 1, 1, 1)), 0u);
  EXPECT_EQ(rt.AddAddr("ppp0", 1, Ip(192, 0, 2, 1), 24).code, -EEXIST);
  ASSERT_TRUE(rt.AddRoute(0, 0, 0, 1, "ppp0", 1).ok());  // default out of the unnumbered link
  EXPECT_EQ(Nh(Ip(8, 8, 8, 8)), (NhKey{NhType::kConnected, 1, 0}));
}

TEST_F(RouteTableTest, SinkFailureIsReportedAndRolledBack) {
  sink.fail_next = true;
  EXPECT_EQ(rt.AddRoute(Ip(10, 0, 0, 0), 8, Ip(192, 0, 2, 2), 1, "ppp0", 1).code, -ENOSPC);
  EXPECT_TRUE(rt.statics().empty());
}

TEST_F(RouteTableTest, SyncSweepRemovesWhatWasNotReasserted) {
  ASSERT_TRUE(rt.AddAddr("vlan1", 0, Ip(192, 168, 10, 1), 24).ok());
  ASSERT_TRUE(rt.AddAddr("ppp0-1", 1, Ip(198, 51, 100, 1), 24).ok());
  ASSERT_TRUE(rt.AddRoute(Ip(10, 0, 0, 0), 8, Ip(192, 168, 10, 2), 0, "vlan1", 1).ok());
  ASSERT_TRUE(rt.AddRoute(Ip(172, 16, 0, 0), 12, Ip(192, 168, 10, 3), 0, "vlan1", 1).ok());
  int sets = sink.sets;

  rt.SyncBegin();
  // The restarted control plane replays part of the configuration: identical adds are
  // no-ops (nothing is reinstalled, so forwarding never blinks) ...
  ASSERT_TRUE(rt.AddAddr("vlan1", 0, Ip(192, 168, 10, 1), 24).ok());
  ASSERT_TRUE(rt.AddRoute(Ip(10, 0, 0, 0), 8, Ip(192, 168, 10, 2), 0, "vlan1", 1).ok());
  EXPECT_EQ(sink.sets, sets);
  EXPECT_EQ(Nh(Ip(172, 16, 1, 1)).gw, Ip(192, 168, 10, 3));  // still forwarding mid-sync
  // ... and what it did not replay goes at SyncEnd.
  EXPECT_EQ(rt.SyncEnd(), 2u);
  NhKey k;
  EXPECT_FALSE(sink.Lookup(Ip(172, 16, 1, 1), &k));
  EXPECT_FALSE(sink.Lookup(Ip(198, 51, 100, 1), &k));
  EXPECT_EQ(Nh(Ip(10, 1, 1, 1)).gw, Ip(192, 168, 10, 2));
  EXPECT_EQ(Nh(Ip(192, 168, 10, 1)).type, NhType::kLocal);
  EXPECT_EQ(rt.SyncEnd(), 0u);  // no sync open: nothing happens
}

TEST_F(RouteTableTest, RoutesViewNamesSources) {
  ASSERT_TRUE(rt.AddAddr("vlan1", 0, Ip(192, 168, 10, 1), 24).ok());
  ASSERT_TRUE(rt.AddRoute(Ip(10, 0, 0, 0), 8, Ip(192, 168, 10, 2), 0, "vlan1", 1).ok());
  auto v = rt.Routes();
  ASSERT_EQ(v.size(), 3u);
  std::map<uint8_t, std::string> by_len;
  for (auto& r : v) by_len[r.len] = r.source;
  EXPECT_EQ(by_len[8], "static");
  EXPECT_EQ(by_len[24], "connected");
  EXPECT_EQ(by_len[32], "local");
}

}  // namespace
}  // namespace arsec::dp
