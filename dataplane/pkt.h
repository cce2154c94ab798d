// Small header-editing helpers shared by the worker pipeline and the main lcore's slow
// path: incremental checksum update, ICMP error construction, ARP frame layout.
#pragma once

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <cstring>

namespace arsec::dp {

inline constexpr uint8_t kIcmpDestUnreach = 3;
inline constexpr uint8_t kIcmpTimeExceeded = 11;

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), all one's-complement 16-bit words taken as
// they lie in memory (the arithmetic is byte-order neutral).
static inline uint16_t CksumAdjust(uint16_t hc, uint16_t old_w, uint16_t new_w) {
  uint32_t s = static_cast<uint16_t>(~hc) + static_cast<uint16_t>(~old_w) + uint32_t{new_w};
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(~s);
}

// True when an IPv4 header of `ihl_words` 32-bit words sums to 0xffff (checksum right).
// Sums whole 32-bit words in 64 bits and folds once: DPDK's generic rte_raw_cksum walks
// 16-bit words and was the worker's single biggest cost.
static inline bool Ipv4CksumOk(const rte_ipv4_hdr* ip, unsigned ihl_words) {
  const auto* p = reinterpret_cast<const uint8_t*>(ip);
  uint64_t s = 0;
  for (unsigned i = 0; i < ihl_words; ++i) {
    uint32_t w;
    std::memcpy(&w, p + 4 * i, 4);
    s += w;
  }
  s = (s & 0xffffffffu) + (s >> 32);
  s = (s & 0xffffffffu) + (s >> 32);
  uint32_t t = static_cast<uint32_t>(s);
  t = (t & 0xffff) + (t >> 16);
  t = (t & 0xffff) + (t >> 16);
  return t == 0xffff;
}

// TTL-1 with the RFC 1624 checksum update. TTL and protocol share one 16-bit word; it is
// updated as a word (the caller guarantees TTL > 1, so nothing borrows from the protocol
// byte) rather than storing a byte and re-reading the word, which stalls on store
// forwarding.
static inline void DecrementTtl(rte_ipv4_hdr* ip) {
  uint16_t old_w;
  std::memcpy(&old_w, &ip->time_to_live, 2);
  uint16_t new_w = rte_cpu_to_be_16(static_cast<uint16_t>(rte_be_to_cpu_16(old_w) - 0x100));
  std::memcpy(&ip->time_to_live, &new_w, 2);
  ip->hdr_checksum = CksumAdjust(ip->hdr_checksum, old_w, new_w);
}

static inline bool IsMartianDst(uint32_t dst) {
  // 0/8, 127/8, 224/4 multicast, 240/4 reserved and the limited broadcast.
  uint32_t top = dst >> 24;
  return top == 0 || top == 127 || top >= 224;
}

static inline bool IsMartianSrc(uint32_t src) {
  uint32_t top = src >> 24;
  return top == 127 || top >= 224 || src == 0;
}

// Builds an ICMP error (type/code, with `extra` in the 4 "unused" bytes, e.g. the
// next-hop MTU) quoting the original IPv4 header plus 8 bytes, addressed back to the
// original sender through the port it arrived on. Returns null when no mbuf is free.
static inline rte_mbuf* MakeIcmpError(rte_mempool* pool, const rte_ether_hdr* oeth,
                                      const rte_ipv4_hdr* oip, uint32_t ip_avail,
                                      const rte_ether_addr& src_mac, uint32_t src_ip,
                                      uint8_t type, uint8_t code, uint32_t extra) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (m == nullptr) return nullptr;
  uint32_t ihl = (oip->version_ihl & 0xf) * 4u;
  uint32_t quote = ihl + 8;
  if (quote > ip_avail) quote = ip_avail;
  uint32_t len = sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_icmp_hdr) + quote;
  char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(len));
  if (p == nullptr) {
    rte_pktmbuf_free(m);
    return nullptr;
  }
  auto* eth = reinterpret_cast<rte_ether_hdr*>(p);
  eth->dst_addr = oeth->src_addr;
  eth->src_addr = src_mac;
  eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->type_of_service = 0xc0;  // internetwork control, as routers mark their own errors
  ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(len - sizeof(rte_ether_hdr)));
  ip->packet_id = 0;
  ip->fragment_offset = 0;
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_ICMP;
  ip->src_addr = rte_cpu_to_be_32(src_ip);
  ip->dst_addr = oip->src_addr;
  ip->hdr_checksum = 0;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  auto* icmp = reinterpret_cast<rte_icmp_hdr*>(ip + 1);
  icmp->icmp_type = type;
  icmp->icmp_code = code;
  icmp->icmp_cksum = 0;
  uint32_t be_extra = rte_cpu_to_be_32(extra);
  std::memcpy(&icmp->icmp_ident, &be_extra, 4);
  std::memcpy(icmp + 1, oip, quote);
  icmp->icmp_cksum = static_cast<uint16_t>(~rte_raw_cksum(icmp, sizeof(*icmp) + quote));
  return m;
}

// An ARP frame (request or reply) in a fresh mbuf, padded to the Ethernet minimum.
static inline rte_mbuf* MakeArp(rte_mempool* pool, uint16_t op, const rte_ether_addr& eth_dst,
                                const rte_ether_addr& sha, uint32_t sip,
                                const rte_ether_addr& tha, uint32_t tip) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (m == nullptr) return nullptr;
  char* p = rte_pktmbuf_append(m, RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN);
  if (p == nullptr) {
    rte_pktmbuf_free(m);
    return nullptr;
  }
  std::memset(p, 0, RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN);
  auto* eth = reinterpret_cast<rte_ether_hdr*>(p);
  eth->dst_addr = eth_dst;
  eth->src_addr = sha;
  eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
  auto* a = reinterpret_cast<rte_arp_hdr*>(eth + 1);
  a->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
  a->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
  a->arp_hlen = RTE_ETHER_ADDR_LEN;
  a->arp_plen = 4;
  a->arp_opcode = rte_cpu_to_be_16(op);
  a->arp_data.arp_sha = sha;
  a->arp_data.arp_sip = rte_cpu_to_be_32(sip);
  a->arp_data.arp_tha = tha;
  a->arp_data.arp_tip = rte_cpu_to_be_32(tip);
  return m;
}

}  // namespace arsec::dp
