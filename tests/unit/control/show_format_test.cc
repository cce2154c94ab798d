// SHOW layouts: the seed's log table, every named counter, runtime arithmetic.
#include "control/show_format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_split.h"
#include "control/config/log_buffer.h"

namespace arsec::control {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

TEST(ShowLog, SeedFormatAndFilters) {
  LogBuffer log;
  log.Add(3, "ISAK", "IKMP", "MSG", "ISAKMP has been enabled");
  log.Add(3, "IPSE", "IPSC", "MSG", "SA bundle created: Policy - v1");
  log.Add(3, "IP", "CONF", "MSG", std::string(70, 'x'));
  std::string all = log.Format("", "");
  std::vector<std::string> lines = absl::StrSplit(all, '\n');
  EXPECT_EQ(lines[0], "Date/Time S Mod  Type SType Message");
  EXPECT_EQ(lines[1], std::string(79, '-'));
  EXPECT_THAT(lines[2], MatchesRegex("[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9] 3 ISAK IKMP "
                                     "MSG   ISAKMP has been enabled"));
  // A long message continues on the next line.
  EXPECT_EQ(lines[5], std::string(20, 'x'));
  std::string isak = log.Format("isak", "");
  EXPECT_THAT(isak, HasSubstr("ISAKMP has been enabled"));
  EXPECT_THAT(isak, Not(HasSubstr("SA bundle")));
  std::string ipsc = log.Format("", "IPSC");
  EXPECT_THAT(ipsc, HasSubstr("SA bundle created"));
  EXPECT_THAT(ipsc, Not(HasSubstr("ISAKMP has")));
}

TEST(ShowLog, Bounded) {
  LogBuffer log(10);
  for (int i = 0; i < 100; ++i) log.Add(3, "IP", "CONF", "MSG", "m");
  EXPECT_EQ(log.size(), 10u);
}

shm::Stats TwoWorkers() {
  shm::Stats s{};
  s.tsc_hz = 2500000000ull;
  s.n_workers = 2;
  s.worker[0].lcore = 1;
  s.worker[0].active = 1;
  s.worker[0].vectors = 1000;
  s.worker[0].busy_polls = 40;
  s.worker[0].busy_cycles = 85000;
  s.worker[0].counters[shm::kCtr_rx_packets] = 1000;
  s.worker[0].counters[shm::kCtr_drop_bad_cksum] = 7;
  s.worker[1].lcore = 2;
  s.worker[1].counters[shm::kCtr_rx_packets] = 500;
  s.worker[shm::kMaxWorkers].counters[shm::kCtr_arp_in] = 3;
  return s;
}

TEST(ShowDataplane, CountersListEveryNameWithTotals) {
  std::string out = FormatCounters(TwoWorkers());
  for (unsigned c = 0; c < shm::kNumCounters; ++c) {
    EXPECT_THAT(out, HasSubstr(shm::kCounterNames[c]));
  }
  EXPECT_THAT(out, MatchesRegex("(.|\n)*rxPackets +1000 +500 +0 +1500\n(.|\n)*"));
  EXPECT_THAT(out, MatchesRegex("(.|\n)*dropBadChecksum +7 +0 +0 +7\n(.|\n)*"));
  EXPECT_THAT(out, MatchesRegex("(.|\n)*arpIn +0 +0 +3 +3\n(.|\n)*"));
  EXPECT_THAT(out, HasSubstr("w0"));
  EXPECT_THAT(out, HasSubstr("main"));
}

TEST(ShowDataplane, RuntimeCyclesPerPacketAndVectorsPerCall) {
  std::string out = FormatRuntime(TwoWorkers());
  EXPECT_THAT(out, HasSubstr("TSC 2.500 GHz"));
  // 85000 cycles / 1000 packets = 85.0; 1000 vectors / 40 calls = 25.00
  EXPECT_THAT(out, MatchesRegex("(.|\n)*w0 +1 +active +1000 +40 +0 +85000 +85.0 +25.00\n(.|\n)*"));
  EXPECT_THAT(out, MatchesRegex("(.|\n)*w1 +2 +idle +0 +0 +0 +0 +0.0 +0.00\n(.|\n)*"));
}

TEST(ShowDataplane, SummaryCountsDrops) {
  msg::HelloBody h{};
  h.dp_pid = 77;
  std::string out = FormatDataplaneSummary(h, TwoWorkers(), 2);
  EXPECT_THAT(out, HasSubstr("Packets dropped ........... 7"));
  EXPECT_THAT(out, HasSubstr("Packets received .......... 1500"));
}

}  // namespace
}  // namespace arsec::control
