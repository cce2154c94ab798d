// The worker's fast path (dataplane/pkt.h): the admission test must never accept a frame
// the full validation would reject, the straight-line checksum and the first-octet table
// must agree with the general helpers, the constant-folded TTL update must equal RFC 1624
// eqn. 3 computed from the old and new words, and the neighbour cache must write exactly
// the 12 address bytes.
#include <rte_ether.h>
#include <rte_ip.h>

#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "dataplane/dp.h"
#include "dataplane/pkt.h"

namespace arsec::dp {
namespace {

constexpr uint8_t kOurMac[6] = {0x02, 0x70, 0x63, 0x61, 0x70, 0x00};

struct Frame {
  uint8_t b[128] = {};
  uint32_t len = 64;
  uint16_t segs = 1;
  rte_ipv4_hdr* ip() { return reinterpret_cast<rte_ipv4_hdr*>(b + 14); }
  void Cksum() {
    ip()->hdr_checksum = 0;
    ip()->hdr_checksum = rte_ipv4_cksum(ip());
  }
};

// A 64-byte UDP frame 192.168.10.2 -> 198.51.100.1 to our MAC, as the benchmarks send.
Frame Good() {
  Frame f;
  std::memcpy(f.b, kOurMac, 6);
  const uint8_t src[6] = {0x02, 0, 0, 0, 0, 0x01};
  std::memcpy(f.b + 6, src, 6);
  f.b[12] = 0x08;
  f.b[13] = 0x00;
  rte_ipv4_hdr* ip = f.ip();
  ip->version_ihl = 0x45;
  ip->total_length = rte_cpu_to_be_16(50);
  ip->packet_id = rte_cpu_to_be_16(7);
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_UDP;
  ip->src_addr = rte_cpu_to_be_32(0xc0a80a02);
  ip->dst_addr = rte_cpu_to_be_32(0xc6336401);
  f.Cksum();
  return f;
}

uint64_t OurMac48() {
  rte_ether_addr a;
  std::memcpy(a.addr_bytes, kOurMac, 6);
  return Mac48(a);
}

bool Fast(Frame& f, uint32_t* dst = nullptr) {
  uint32_t d = 0;
  bool ok = FastIpv4Ok(f.b, f.len, f.segs, OurMac48(), &d);
  if (dst) *dst = d;
  return ok;
}

// The worker's full validation (worker.cc Validate) restated: true = routable IPv4.
bool Reference(const Frame& f) {
  if (f.len < 14) return false;
  rte_ether_addr dmac;
  std::memcpy(dmac.addr_bytes, f.b, 6);
  bool ours = std::memcmp(f.b, kOurMac, 6) == 0;
  if (!ours && !rte_is_multicast_ether_addr(&dmac)) return false;
  if (f.b[12] != 0x08 || f.b[13] != 0x00) return false;
  if (f.len < 34) return false;
  const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(f.b + 14);
  if ((ip->version_ihl >> 4) != 4) return false;
  uint32_t ihl = (ip->version_ihl & 0xf) * 4u, avail = f.len - 14;
  if (ihl < 20 || ihl > avail) return false;
  uint32_t tlen = rte_be_to_cpu_16(ip->total_length);
  if (tlen < ihl || tlen > avail || f.segs != 1) return false;
  if (rte_raw_cksum(ip, ihl) != 0xffff) return false;
  if (IsMartianSrc(rte_be_to_cpu_32(ip->src_addr))) return false;
  if (IsMartianDst(rte_be_to_cpu_32(ip->dst_addr))) return false;
  return true;
}

TEST(FastPath, AcceptsTheCommonFrame) {
  Frame f = Good();
  uint32_t d = 0;
  EXPECT_TRUE(Fast(f, &d));
  EXPECT_EQ(d, 0xc6336401u);
  EXPECT_TRUE(Reference(f));
}

TEST(FastPath, EachDefectSendsTheFrameToFullValidation) {
  struct Case {
    const char* what;
    void (*mut)(Frame&);
  };
  const Case cases[] = {
      {"other host", [](Frame& f) { f.b[5] ^= 1; }},
      {"multicast MAC", [](Frame& f) { f.b[0] = 0x01; }},
      {"ARP", [](Frame& f) { f.b[13] = 0x06; }},
      {"VLAN", [](Frame& f) { f.b[12] = 0x81; }},
      {"version 6", [](Frame& f) { f.ip()->version_ihl = 0x65; f.Cksum(); }},
      {"IHL 6", [](Frame& f) { f.ip()->version_ihl = 0x46; f.Cksum(); }},
      {"IHL 4", [](Frame& f) { f.ip()->version_ihl = 0x44; f.Cksum(); }},
      {"total length 19", [](Frame& f) { f.ip()->total_length = rte_cpu_to_be_16(19); f.Cksum(); }},
      {"padding", [](Frame& f) { f.ip()->total_length = rte_cpu_to_be_16(46); f.Cksum(); }},
      {"truncated", [](Frame& f) { f.len = 60; }},
      {"runt", [](Frame& f) { f.len = 20; }},
      {"two segments", [](Frame& f) { f.segs = 2; }},
      {"bad checksum", [](Frame& f) { f.ip()->hdr_checksum ^= 0x0100; }},
      {"source 0", [](Frame& f) { f.ip()->src_addr = 0; f.Cksum(); }},
      {"source loopback", [](Frame& f) { f.ip()->src_addr = rte_cpu_to_be_32(0x7f000001); f.Cksum(); }},
      {"source multicast", [](Frame& f) { f.ip()->src_addr = rte_cpu_to_be_32(0xe0000001); f.Cksum(); }},
      {"source broadcast", [](Frame& f) { f.ip()->src_addr = 0xffffffff; f.Cksum(); }},
      {"dest 0/8", [](Frame& f) { f.ip()->dst_addr = rte_cpu_to_be_32(0x00010203); f.Cksum(); }},
      {"dest loopback", [](Frame& f) { f.ip()->dst_addr = rte_cpu_to_be_32(0x7f000001); f.Cksum(); }},
      {"dest multicast", [](Frame& f) { f.ip()->dst_addr = rte_cpu_to_be_32(0xe0000001); f.Cksum(); }},
      {"dest reserved", [](Frame& f) { f.ip()->dst_addr = rte_cpu_to_be_32(0xf0000001); f.Cksum(); }},
  };
  for (const Case& c : cases) {
    Frame f = Good();
    c.mut(f);
    EXPECT_FALSE(Fast(f)) << c.what;
  }
}

// Random single-byte/word corruptions of good frames: whenever the fast test accepts,
// the full validation must accept too.
TEST(FastPath, NeverAcceptsWhatFullValidationRejects) {
  std::mt19937 rng(42);
  unsigned fast_ok = 0, ref_ok = 0;
  for (int iter = 0; iter < 200000; ++iter) {
    Frame f = Good();
    unsigned muts = 1 + rng() % 3;
    for (unsigned j = 0; j < muts; ++j) {
      switch (rng() % 4) {
        case 0: f.b[rng() % 40] = static_cast<uint8_t>(rng()); break;
        case 1: f.len = 10 + rng() % 100; break;
        case 2: f.segs = static_cast<uint16_t>(1 + (rng() % 8 == 0)); break;
        case 3: f.b[14 + rng() % 20] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
      }
    }
    if (rng() % 2) f.Cksum();  // half with a valid checksum, so later checks are reached
    bool fast = Fast(f), ref = Reference(f);
    fast_ok += fast;
    ref_ok += ref;
    ASSERT_TRUE(!fast || ref) << "iteration " << iter;
  }
  EXPECT_GT(fast_ok, 1000u);  // the generator does reach accepted frames
  EXPECT_GE(ref_ok, fast_ok);
}

TEST(FastPath, Cksum5AgreesWithGeneralCheck) {
  std::mt19937 rng(7);
  uint8_t buf[20];
  for (int iter = 0; iter < 200000; ++iter) {
    for (auto& b : buf) b = static_cast<uint8_t>(rng());
    if (iter % 3 == 0) {  // valid ones too
      auto* ip = reinterpret_cast<rte_ipv4_hdr*>(buf);
      ip->hdr_checksum = 0;
      ip->hdr_checksum = static_cast<uint16_t>(~rte_raw_cksum(buf, 20));
    }
    ASSERT_EQ(Ipv4Cksum5Ok(buf), rte_raw_cksum(buf, 20) == 0xffff) << iter;
    ASSERT_EQ(Ipv4Cksum5Ok(buf), Ipv4CksumOk(reinterpret_cast<rte_ipv4_hdr*>(buf), 5)) << iter;
  }
  std::memset(buf, 0xff, sizeof buf);
  EXPECT_EQ(Ipv4Cksum5Ok(buf), rte_raw_cksum(buf, 20) == 0xffff);
  std::memset(buf, 0, sizeof buf);
  EXPECT_FALSE(Ipv4Cksum5Ok(buf));
}

TEST(FastPath, FirstOctetTableMatchesMartianChecks) {
  for (uint32_t top = 0; top < 256; ++top) {
    for (uint32_t rest : {0u, 0x010203u, 0xffffffu}) {
      uint32_t a = top << 24 | rest;
      if (a != 0) {
        EXPECT_EQ((kBadFirstOctet[top] & 1) != 0, IsMartianSrc(a)) << a;
      }
      EXPECT_EQ((kBadFirstOctet[top] & 2) != 0, IsMartianDst(a)) << a;
    }
  }
}

// RFC 1624 eqn. 3 from the old and new TTL/protocol words, as the worker used to compute it.
uint16_t Rfc1624(uint16_t hc, uint16_t old_w, uint16_t new_w) {
  uint32_t s = static_cast<uint16_t>(~hc) + static_cast<uint16_t>(~old_w) + uint32_t{new_w};
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(~s);
}

TEST(FastPath, ConstantTtlUpdateEqualsRfc1624) {
  rte_ipv4_hdr ip{};
  for (unsigned ttl = 2; ttl < 256; ++ttl) {
    for (unsigned proto : {1u, 6u, 17u, 50u, 255u}) {
      for (uint32_t hc = 0; hc < 65536; hc += 97) {
        for (uint32_t h : {hc, 0u, 0xffffu, 0xfeffu, 0x0100u}) {
          ip.time_to_live = static_cast<uint8_t>(ttl);
          ip.next_proto_id = static_cast<uint8_t>(proto);
          ip.hdr_checksum = static_cast<uint16_t>(h);
          uint16_t old_w;
          std::memcpy(&old_w, &ip.time_to_live, 2);
          DecrementTtl(&ip);
          uint16_t new_w;
          std::memcpy(&new_w, &ip.time_to_live, 2);
          ASSERT_EQ(ip.time_to_live, ttl - 1);
          ASSERT_EQ(ip.next_proto_id, proto);
          ASSERT_EQ(ip.hdr_checksum, Rfc1624(static_cast<uint16_t>(h), old_w, new_w))
              << "ttl " << ttl << " cksum " << h;
        }
      }
    }
  }
}

TEST(FastPath, NeighCacheWritesTheTwelveAddressBytes) {
  NeighCache nc;
  nc.Clear();
  const uint64_t key = NeighKey(1, 0xc0000202);
  EXPECT_EQ(nc.Find(key), nullptr);
  rte_ether_addr ours = {{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}};
  const uint8_t nh[6] = {0x02, 0, 0, 0, 0, 0x02};
  uint64_t nh48 = 0;
  std::memcpy(&nh48, nh, 6);
  const NeighCache::Entry* e = nc.Put(key, nh48 | 0xabcd000000000000ull, ours);
  ASSERT_EQ(nc.Find(key), e);
  EXPECT_EQ(nc.Find(NeighKey(2, 0xc0000202)), nullptr);
  uint8_t frame[16];
  std::memset(frame, 0xee, sizeof frame);
  NeighCache::Write(frame, e);
  EXPECT_EQ(std::memcmp(frame, nh, 6), 0);
  EXPECT_EQ(std::memcmp(frame + 6, ours.addr_bytes, 6), 0);
  for (unsigned i = 12; i < 16; ++i) EXPECT_EQ(frame[i], 0xee) << i;  // ethertype untouched
  // A key landing in the same slot replaces the entry; Clear forgets everything.
  uint64_t other = key;
  do {
    ++other;
  } while (NeighCache::Slot(other) != NeighCache::Slot(key));
  nc.Put(other, nh48, ours);
  EXPECT_EQ(nc.Find(key), nullptr);
  EXPECT_NE(nc.Find(other), nullptr);
  nc.Clear();
  EXPECT_EQ(nc.Find(other), nullptr);
}

}  // namespace
}  // namespace arsec::dp
