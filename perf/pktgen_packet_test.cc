// Unit tests of arsec-pktgen's frame builder and pcap I/O (no DPDK, no hugepages).
#include "perf/pktgen_packet.h"

#include <unistd.h>

#include <cstdio>
#include <string>

#include "gtest/gtest.h"

namespace arsec::perf {
namespace {

uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t Get32(const uint8_t* p) { return uint32_t{Get16(p)} << 16 | Get16(p + 2); }

TEST(Synthetic, HeadersLengthsAndChecksum) {
  SynthSpec s;
  s.frame_size = 64;
  auto fs = BuildSynthetic(s);
  ASSERT_TRUE(fs.ok()) << fs.status();
  ASSERT_EQ(fs->size(), 1u);
  const uint8_t* f = fs->frame(0);
  EXPECT_EQ(fs->len[0], 64);
  EXPECT_EQ(Get16(f + 12), 0x0800);
  EXPECT_EQ(f[14], 0x45);
  EXPECT_EQ(Get16(f + 16), 50);            // IPv4 total length = frame - 14
  EXPECT_EQ(f[23], 17);
  EXPECT_EQ(Get16(f + 24), Ipv4HeaderChecksum(f + 14));
  EXPECT_EQ(Get16(f + 38), 30);            // UDP length
  EXPECT_EQ(Get32(f + 26), 0xc0a80a02u);
}

TEST(Synthetic, FlowsVaryTheChosenFields) {
  SynthSpec s;
  s.frame_size = 128;
  s.flows = 300;
  s.vary = kVaryDstIp | kVaryDstPort;
  auto fs = BuildSynthetic(s);
  ASSERT_TRUE(fs.ok());
  ASSERT_EQ(fs->size(), 300u);
  const uint8_t* f = fs->frame(299);
  EXPECT_EQ(Get32(f + 30), s.dst_ip + 299);
  EXPECT_EQ(Get16(f + 36), s.dst_port + 299);
  EXPECT_EQ(Get16(f + 34), s.src_port);
  EXPECT_EQ(Get32(f + 26), s.src_ip);
  EXPECT_EQ(Get16(f + 24), Ipv4HeaderChecksum(f + 14));
}

TEST(Synthetic, RejectsBadSizes) {
  SynthSpec s;
  s.frame_size = 63;
  EXPECT_FALSE(BuildSynthetic(s).ok());
  s.frame_size = 1515;
  EXPECT_FALSE(BuildSynthetic(s).ok());
  s.frame_size = 1514;
  s.flows = 0;
  EXPECT_FALSE(BuildSynthetic(s).ok());
  s.flows = 2;
  s.vary = 0;
  EXPECT_FALSE(BuildSynthetic(s).ok());
}

TEST(Pcap, RoundTrip) {
  SynthSpec s;
  s.frame_size = 100;
  s.flows = 3;
  auto fs = BuildSynthetic(s);
  ASSERT_TRUE(fs.ok());
  const std::string path = "/tmp/pktgen_test_" + std::to_string(getpid()) + ".pcap";
  ASSERT_TRUE(WritePcap(path, *fs, 2).ok());
  size_t skipped = 99;
  auto back = ReadPcap(path, 1000, 2048, &skipped);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(skipped, 0u);
  ASSERT_EQ(back->size(), 6u);
  EXPECT_EQ(std::string(back->frame(4), back->frame(4) + 100),
            std::string(fs->frame(1), fs->frame(1) + 100));
  auto capped = ReadPcap(path, 4, 2048, nullptr);
  ASSERT_TRUE(capped.ok());
  EXPECT_EQ(capped->size(), 4u);
  auto too_small = ReadPcap(path, 100, 64, &skipped);   // every frame longer than 64
  EXPECT_FALSE(too_small.ok());
  std::remove(path.c_str());
}

TEST(Pcap, RefusesGarbageAndPcapng) {
  const std::string path = "/tmp/pktgen_test_bad_" + std::to_string(getpid()) + ".pcap";
  FILE* f = std::fopen(path.c_str(), "wb");
  const uint32_t ng[8] = {0x0a0d0d0a, 28, 0x1a2b3c4d, 1, 0, 0, 0, 28};
  std::fwrite(ng, sizeof ng, 1, f);
  std::fclose(f);
  auto r = ReadPcap(path, 10, 2048, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("pcapng"), std::string::npos);
  EXPECT_FALSE(ReadPcap("/nonexistent/x.pcap", 10, 2048, nullptr).ok());
  std::remove(path.c_str());
}

TEST(Parse, MacIpRateFields) {
  auto m = ParseMac("02:00:0a:0B:0c:ff");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(FormatMac(*m), "02:00:0a:0b:0c:ff");
  EXPECT_TRUE(ParseMac("02-00-00-00-00-01").ok());
  EXPECT_FALSE(ParseMac("02:00:00:00:00").ok());
  EXPECT_FALSE(ParseMac("02:00:00:00:00:zz").ok());
  EXPECT_EQ(*ParseIpv4("198.51.100.7"), 0xc6336407u);
  EXPECT_FALSE(ParseIpv4("198.51.100").ok());
  EXPECT_EQ(FormatIpv4(0xc0a80a01), "192.168.10.1");
  EXPECT_EQ(*ParseRate("max"), 0.0);
  EXPECT_EQ(*ParseRate("2.5M"), 2.5e6);
  EXPECT_EQ(*ParseRate("800k"), 8e5);
  EXPECT_EQ(*ParseRate("1000"), 1000.0);
  EXPECT_FALSE(ParseRate("-3").ok());
  EXPECT_FALSE(ParseRate("fast").ok());
  EXPECT_EQ(*ParseFlowFields("src-ip,dst-port"), unsigned{kVarySrcIp | kVaryDstPort});
  EXPECT_FALSE(ParseFlowFields("src-mac").ok());
}

}  // namespace
}  // namespace arsec::perf
