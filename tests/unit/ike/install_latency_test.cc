// The IKE daemon's install timing (control/ike/ike_daemon.h, InstallLatency): nearest-rank
// percentiles over a window of the last installs, the maximum since reset, and the figures
// the daemon adds to SHOW ISAKMP COUNTERS=GENERAL when an installer is slow.
#include <chrono>
#include <cstdint>
#include <thread>

#include "control/ike/ike_daemon.h"
#include "gtest/gtest.h"

namespace arsec::ike {
namespace {

TEST(InstallLatencyTest, EmptyIsZero) {
  InstallLatency l;
  EXPECT_EQ(l.count(), 0u);
  EXPECT_EQ(l.PercentileUs(50), 0u);
  EXPECT_EQ(l.PercentileUs(99), 0u);
  EXPECT_EQ(l.MaxUs(), 0u);
}

TEST(InstallLatencyTest, NearestRankPercentiles) {
  InstallLatency l;
  // 1..200 us, recorded out of order.
  for (uint64_t i = 0; i < 200; ++i) l.Record(((i * 73) % 200 + 1) * 1000);
  EXPECT_EQ(l.count(), 200u);
  EXPECT_EQ(l.PercentileUs(50), 100u);    // rank ceil(0.5 * 200) = 100
  EXPECT_EQ(l.PercentileUs(99), 198u);    // rank 198
  EXPECT_EQ(l.PercentileUs(100), 200u);
  EXPECT_EQ(l.PercentileUs(0.1), 1u);     // rank 1
  EXPECT_EQ(l.MaxUs(), 200u);
}

TEST(InstallLatencyTest, RoundsUpToMicroseconds) {
  InstallLatency l;
  l.Record(1);
  l.Record(1500);
  EXPECT_EQ(l.PercentileUs(50), 1u);
  EXPECT_EQ(l.PercentileUs(100), 2u);
  EXPECT_EQ(l.MaxUs(), 2u);
}

TEST(InstallLatencyTest, WindowKeepsTheLatestButMaxSinceReset) {
  InstallLatency l;
  l.Record(5'000'000);                    // one slow install, then a full window of fast ones
  for (size_t i = 0; i < InstallLatency::kWindow; ++i) l.Record(10'000);
  EXPECT_EQ(l.count(), InstallLatency::kWindow + 1);
  EXPECT_EQ(l.PercentileUs(100), 10u);    // the slow one left the window
  EXPECT_EQ(l.MaxUs(), 5000u);            // but is still the maximum
  l.Reset();
  EXPECT_EQ(l.count(), 0u);
  EXPECT_EQ(l.MaxUs(), 0u);
  EXPECT_EQ(l.PercentileUs(99), 0u);
}

// An installer that takes a known time; the daemon must report it in GENERAL.
class SlowInstaller : public SaInstaller {
 public:
  uint32_t ReserveSpi(control::SaProtocol) override { return 0x1000; }
  void ReleaseSpi(control::SaProtocol, uint32_t) override {}
  absl::StatusOr<uint32_t> Install(const NegotiatedBundle&) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
    return ++n_;
  }
  void Remove(uint32_t) override {}

 private:
  uint32_t n_ = 0;
};

class NoTransport : public DatagramTransport {
 public:
  absl::Status Send(const Datagram&) override { return absl::OkStatus(); }
  size_t Receive(std::vector<Datagram>&, size_t) override { return 0; }
  void Wait(int ms) override { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }
};

uint64_t General(const IsakmpCounters& c, const std::string& name) {
  for (const auto& g : c.groups) {
    if (g.name != "GENERAL") continue;
    for (const auto& [n, v] : g.values)
      if (n == name) return v;
  }
  return ~0ull;
}

TEST(InstallLatencyTest, DaemonReportsInstallTimesInGeneralCounters) {
  NoTransport t;
  SlowInstaller inst;
  IkeDaemon d(&t, &inst, [](int, const std::string&, const std::string&) {});
  d.Start();
  // The engine's installer is the daemon's timing wrapper: call it as the engine does.
  d.Post([](Engine& e) {
    for (int i = 0; i < 3; ++i) (void)e.env().installer->Install(NegotiatedBundle{});
  });
  IsakmpCounters c;
  for (int i = 0; i < 100; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    c = d.Counters();
    if (General(c, "sasInstalled") == 3) break;
  }
  EXPECT_EQ(General(c, "sasInstalled"), 3u);
  EXPECT_EQ(General(c, "installFailures"), 0u);
  EXPECT_GE(General(c, "installLatencyP50Us"), 3000u);
  EXPECT_GE(General(c, "installLatencyP99Us"), General(c, "installLatencyP50Us"));
  EXPECT_GE(General(c, "installLatencyMaxUs"), General(c, "installLatencyP99Us"));
  d.ResetCounters();
  for (int i = 0; i < 100; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    c = d.Counters();
    if (General(c, "sasInstalled") == 0) break;
  }
  EXPECT_EQ(General(c, "sasInstalled"), 0u);
  EXPECT_EQ(General(c, "installLatencyMaxUs"), 0u);
  d.Stop();
}

}  // namespace
}  // namespace arsec::ike
