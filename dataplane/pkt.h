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

// FastIpv4Ok, Mac48 and NeighCache read header bytes as little-endian words.
static_assert(RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN);

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

// Checksum check for the common 20-byte header (IHL 5), straight-line and without folds.
// The one's-complement sum R of the header's 16-bit words is 0xffff exactly when their
// plain sum S is a non-zero multiple of 0xffff (end-around carry keeps R = S mod 0xffff,
// and R = 0 only for S = 0); S mod 0xffff is also the sum of the five 32-bit words mod
// 0xffff, since 2^16 = 1 (mod 0xffff), and byte order does not matter (RFC 1071).
// Divisibility by the odd 0xffff is one multiplication by its inverse mod 2^64 and a
// compare (x * inv <= (2^64 - 1) / 0xffff). Same result as Ipv4CksumOk(ip, 5).
static inline bool Ipv4Cksum5Ok(const uint8_t* ip) {
  uint32_t a, b, c, d, e;
  std::memcpy(&a, ip, 4);
  std::memcpy(&b, ip + 4, 4);
  std::memcpy(&c, ip + 8, 4);
  std::memcpy(&d, ip + 12, 4);
  std::memcpy(&e, ip + 16, 4);
  uint64_t s = uint64_t{a} + b + c + d + e;  // < 2^35
  constexpr uint64_t kInv = 0xfffefffefffeffffull;   // 0xffff * kInv = 1 (mod 2^64)
  constexpr uint64_t kMaxQ = 0x0001000100010001ull;  // (2^64 - 1) / 0xffff
  static_assert(uint64_t{0xffff} * kInv == 1 && kMaxQ == ~uint64_t{0} / 0xffff);
  return (s * kInv <= kMaxQ) & (s != 0);
}

// By first octet: bit 0 set where IsMartianSrc holds for every address (127, 224-255),
// bit 1 where IsMartianDst does (0, 127, 224-255). IsMartianSrc's 0.0.0.0 is the one
// case not decided by the first octet.
inline constexpr struct BadFirstOctet {
  uint8_t v[256];
  constexpr BadFirstOctet() : v{} {
    for (unsigned i = 0; i < 256; ++i) {
      v[i] = static_cast<uint8_t>(((i == 127 || i >= 224) ? 1 : 0) |
                                  ((i == 0 || i == 127 || i >= 224) ? 2 : 0));
    }
  }
  constexpr uint8_t operator[](unsigned i) const { return v[i]; }
} kBadFirstOctet;

// The worker's fast-path admission test, the whole of its validation for the common
// packet, evaluated without early exits: an untagged IPv4 frame addressed to the port's
// own MAC (`port_mac48`: the 6 bytes as a little-endian word), version 4, IHL 5, total
// length >= 20 and exactly filling the single-segment frame (no padding to trim), a good
// header checksum, and neither a martian source nor a martian destination. True means
// every check of the full validation would pass; false means "take the full validation",
// which then finds the reason (or accepts a packet outside the fast case: a multicast
// destination MAC, IP options, Ethernet padding). `p` must have at least 34 readable
// bytes even when `data_len` is smaller (any mbuf data room does). Writes the destination
// address (host order) to `*dst`.
static inline bool FastIpv4Ok(const uint8_t* p, uint32_t data_len, uint16_t nb_segs,
                              uint64_t port_mac48, uint32_t* dst) {
  uint64_t dmac;
  std::memcpy(&dmac, p, 8);
  uint32_t et_vhl;  // ethertype (2), version/IHL, TOS
  std::memcpy(&et_vhl, p + 12, 4);
  const uint8_t* ip = p + sizeof(rte_ether_hdr);
  uint16_t tlen_be;
  std::memcpy(&tlen_be, ip + 2, 2);
  uint32_t tlen = rte_be_to_cpu_16(tlen_be);
  uint32_t src_be, dst_be;
  std::memcpy(&src_be, ip + 12, 4);
  std::memcpy(&dst_be, ip + 16, 4);
  uint32_t bad_top = kBadFirstOctet[src_be & 0xff] & 1;      // first octets
  bad_top |= kBadFirstOctet[dst_be & 0xff] & 2;
  bool ok = ((dmac ^ port_mac48) & 0xffffffffffffull) == 0;
  ok &= (et_vhl & 0xffffff) == 0x450008;  // 08 00 45: IPv4, version 4, IHL 5
  ok &= tlen >= sizeof(rte_ipv4_hdr);
  ok &= tlen + sizeof(rte_ether_hdr) == data_len;
  ok &= nb_segs == 1;
  ok &= bad_top == 0;
  ok &= src_be != 0;
  *dst = rte_be_to_cpu_32(dst_be);
  return ok && Ipv4Cksum5Ok(ip);
}

// A port's MAC as the little-endian word FastIpv4Ok compares against.
static inline uint64_t Mac48(const rte_ether_addr& a) {
  uint64_t v = 0;
  std::memcpy(&v, a.addr_bytes, 6);
  return v;
}

// A worker's private copy of neighbour results: key (port << 32 | next hop) -> the
// 12 bytes of Ethernet addresses to write (next hop's MAC, then the egress port's), as an
// 8-byte and a 4-byte word. Direct-mapped; the owner clears it whenever the main lcore
// publishes a change to the shared neighbour hash (a generation number), so it never
// serves a MAC older than one poll of the worker's loop. Only hits are cached.
struct NeighCache {
  static constexpr unsigned kSize = 64;
  static constexpr uint64_t kEmpty = ~uint64_t{0};  // never a key: ports are 16-bit
  struct Entry {
    uint64_t key;
    uint64_t w0;  // next hop MAC (6) + our MAC bytes 0-1
    uint32_t w1;  // our MAC bytes 2-5
    uint32_t pad;
  };
  Entry e[kSize];

  void Clear() {
    for (Entry& x : e) x.key = kEmpty;
  }
  static unsigned Slot(uint64_t key) {
    return static_cast<unsigned>((key * 0x9e3779b97f4a7c15ull) >> 58);
  }
  const Entry* Find(uint64_t key) const {
    const Entry& x = e[Slot(key)];
    return x.key == key ? &x : nullptr;
  }
  // `nh_mac48`: the next hop's MAC in the low 48 bits (the neighbour hash's data word).
  const Entry* Put(uint64_t key, uint64_t nh_mac48, const rte_ether_addr& our_mac) {
    Entry& x = e[Slot(key)];
    uint16_t lo;
    std::memcpy(&lo, our_mac.addr_bytes, 2);
    std::memcpy(&x.w1, our_mac.addr_bytes + 2, 4);
    x.w0 = (nh_mac48 & 0xffffffffffffull) | (uint64_t{lo} << 48);
    x.key = key;
    return &x;
  }
  // Destination and source MAC of the frame at `eth`, two stores.
  static void Write(uint8_t* eth, const Entry* x) {
    std::memcpy(eth, &x->w0, 8);
    std::memcpy(eth + 8, &x->w1, 4);
  }
};

// TTL-1 with the RFC 1624 (eqn. 3) checksum update: HC' = ~(~HC + ~m + m'), where m is
// the TTL/protocol word. The caller guarantees TTL > 1, so m' = m - 0x100 (network order)
// and ~m + m' is the constant 0xfeff whatever the word holds: the update needs neither
// the old word nor the protocol byte, only the checksum. Computed on the words as they
// lie in memory (one's-complement sums are byte-order neutral), so 0xfeff is taken in
// network order too.
static inline void DecrementTtl(rte_ipv4_hdr* ip) {
  ip->time_to_live = static_cast<uint8_t>(ip->time_to_live - 1);
  uint32_t s = static_cast<uint16_t>(~ip->hdr_checksum) + uint32_t{RTE_BE16(0xfeff)};
  s = (s & 0xffff) + (s >> 16);  // <= 0xfffe + 1: one fold suffices
  ip->hdr_checksum = static_cast<uint16_t>(~s);
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
