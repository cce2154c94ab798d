// Header helpers: the incremental TTL/checksum update must equal a full recomputation
// for every TTL and checksum, including the 0x0000/0xffff edge RFC 1624 is about; ICMP
// errors must quote the header plus 8 bytes and carry valid checksums.
#include "dataplane/pkt.h"

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <gtest/gtest.h>

namespace arsec::dp {
namespace {

rte_ipv4_hdr Hdr(uint8_t ttl, uint16_t id) {
  rte_ipv4_hdr ip{};
  ip.version_ihl = RTE_IPV4_VHL_DEF;
  ip.total_length = rte_cpu_to_be_16(84);
  ip.packet_id = rte_cpu_to_be_16(id);
  ip.time_to_live = ttl;
  ip.next_proto_id = IPPROTO_UDP;
  ip.src_addr = rte_cpu_to_be_32(0xc0a80a02);
  ip.dst_addr = rte_cpu_to_be_32(0xc6336401);
  ip.hdr_checksum = rte_ipv4_cksum(&ip);
  return ip;
}

TEST(Pkt, DecrementTtlMatchesFullChecksum) {
  for (unsigned ttl = 2; ttl < 256; ++ttl) {
    for (unsigned id = 0; id < 65536; id += 251) {
      rte_ipv4_hdr ip = Hdr(static_cast<uint8_t>(ttl), static_cast<uint16_t>(id));
      DecrementTtl(&ip);
      ASSERT_EQ(ip.time_to_live, ttl - 1);
      ASSERT_EQ(ip.next_proto_id, IPPROTO_UDP);
      ASSERT_EQ(rte_raw_cksum(&ip, sizeof ip), 0xffff) << "ttl " << ttl << " id " << id;
    }
  }
}

TEST(Pkt, Martians) {
  EXPECT_TRUE(IsMartianDst(0xffffffff));
  EXPECT_TRUE(IsMartianDst(0xe0000001));
  EXPECT_TRUE(IsMartianDst(0x7f000001));
  EXPECT_TRUE(IsMartianDst(0));
  EXPECT_FALSE(IsMartianDst(0xc0000202));
  EXPECT_TRUE(IsMartianSrc(0));
  EXPECT_FALSE(IsMartianSrc(0x0a000001));
}

TEST(Pkt, IcmpErrorQuotesHeaderPlusEight) {
  rte_mempool* mp = rte_pktmbuf_pool_create("t_pkt", 63, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                            SOCKET_ID_ANY);
  ASSERT_NE(mp, nullptr);
  uint8_t frame[14 + 84] = {};
  auto* eth = reinterpret_cast<rte_ether_hdr*>(frame);
  eth->src_addr = {{2, 0, 0, 0, 0, 2}};
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  *ip = Hdr(1, 7);
  for (unsigned i = 20; i < 84; ++i) reinterpret_cast<uint8_t*>(ip)[i] = static_cast<uint8_t>(i);
  rte_ether_addr me = {{2, 0, 0, 0, 0, 1}};
  rte_mbuf* m = MakeIcmpError(mp, eth, ip, 84, me, 0xc0a80a01, kIcmpTimeExceeded, 0, 0);
  ASSERT_NE(m, nullptr);
  ASSERT_EQ(rte_pktmbuf_data_len(m), 14u + 20 + 8 + 28);
  auto* oeth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  EXPECT_TRUE(rte_is_same_ether_addr(&oeth->dst_addr, &eth->src_addr));
  auto* oip = reinterpret_cast<rte_ipv4_hdr*>(oeth + 1);
  EXPECT_EQ(rte_raw_cksum(oip, 20), 0xffff);
  EXPECT_EQ(oip->dst_addr, ip->src_addr);
  EXPECT_EQ(rte_be_to_cpu_32(oip->src_addr), 0xc0a80a01u);
  auto* ic = reinterpret_cast<uint8_t*>(oip + 1);
  EXPECT_EQ(ic[0], 11);
  EXPECT_EQ(rte_raw_cksum(ic, 8 + 28), 0xffff);
  EXPECT_EQ(std::memcmp(ic + 8, ip, 28), 0);
  rte_pktmbuf_free(m);
  rte_mempool_free(mp);
}

}  // namespace
}  // namespace arsec::dp

namespace arsec::dp {
namespace {

TEST(Pkt, FastChecksumAgreesWithDpdk) {
  uint8_t buf[60];
  uint32_t seed = 12345;
  for (int iter = 0; iter < 20000; ++iter) {
    for (auto& b : buf) {
      seed = seed * 1103515245 + 12345;
      b = static_cast<uint8_t>(seed >> 16);
    }
    unsigned words = 5 + iter % 11;
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(buf);
    bool want = rte_raw_cksum(buf, words * 4) == 0xffff;
    ASSERT_EQ(Ipv4CksumOk(ip, words), want);
    // Make it valid and check again.
    ip->hdr_checksum = 0;
    ip->hdr_checksum = static_cast<uint16_t>(~rte_raw_cksum(buf, words * 4));
    ASSERT_TRUE(Ipv4CksumOk(ip, words)) << iter;
    buf[iter % (words * 4)] ^= 0x10;
    ASSERT_FALSE(Ipv4CksumOk(ip, words)) << iter;
  }
}

}  // namespace
}  // namespace arsec::dp
