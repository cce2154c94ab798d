// IKE datagrams as mbufs on the dataplane's rings: frame parsing and building (a chain of
// segments when one buffer is too small), and the cache-less buffer handling a second
// process on the same pool needs (ring_transport.h).
#include "control/ike/ring_transport.h"

#include <rte_mbuf.h>
#include <rte_memzone.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/doorbell.h"
#include "common/shm_names.h"

namespace arsec::ike {
namespace {

constexpr uint16_t kNatTPort = 4500;
constexpr uint32_t kEth = 14, kIp = 20, kUdp = 8, kMarkerLen = 4;
constexpr uint8_t kProtoUdp = 17;
constexpr uint32_t kMaxIpLen = 65535;  // IPv4 total length

uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t Be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
void Put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void Put32(uint8_t* p, uint32_t v) {
  Put16(p, static_cast<uint16_t>(v >> 16));
  Put16(p + 2, static_cast<uint16_t>(v));
}

// One's-complement sum of big-endian 16-bit words (an odd last byte padded with zero).
uint64_t Sum(const uint8_t* p, size_t n, uint64_t s = 0) {
  size_t i = 0;
  for (; i + 1 < n; i += 2) s += Be16(p + i);
  if (i < n) s += uint32_t{p[i]} << 8;
  return s;
}
uint16_t Fold(uint64_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(s);
}
// The UDP pseudo-header (RFC 768): addresses, protocol, UDP length.
uint64_t PseudoSum(uint32_t src, uint32_t dst, uint32_t udp_len) {
  return uint64_t{src >> 16} + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + kProtoUdp + udp_len;
}

// The dataplane's pool has per-lcore caches that this process must not touch (its
// threads may share lcore ids with the primary's): buffers come and go through the
// pool's backing ring directly.
rte_mbuf* AllocNoCache(rte_mempool* mp) {
  void* obj = nullptr;
  if (rte_mempool_generic_get(mp, &obj, 1, nullptr) != 0) return nullptr;
  auto* m = static_cast<rte_mbuf*>(obj);
  rte_pktmbuf_reset(m);  // a buffer in the pool has its reference count at 1 already
  return m;
}
// The dataplane hands over direct mbufs (received frames, chains of reassembled
// fragments), so releasing a segment never detaches anything.
void FreeNoCache(rte_mbuf* m) {
  while (m != nullptr) {
    rte_mbuf* next = m->next;
    rte_mbuf* seg = rte_pktmbuf_prefree_seg(m);
    if (seg != nullptr) {
      void* obj = seg;
      rte_mempool_generic_put(seg->pool, &obj, 1, nullptr);
    }
    m = next;
  }
}

// Bytes into a chain of buffers from `mp`: each segment filled before the next is taken.
// The first keeps the pool's headroom (the dataplane prepends nothing, but the frame
// starts where a received one would); the others use their whole buffer. release()
// hands the chain over (nullptr if nothing was written).
class ChainWriter {
 public:
  explicit ChainWriter(rte_mempool* mp) : mp_(mp) {}
  ~ChainWriter() { FreeNoCache(head_); }
  ChainWriter(const ChainWriter&) = delete;
  ChainWriter& operator=(const ChainWriter&) = delete;

  // False when the pool ran out; what was written stays in the chain.
  bool Write(const uint8_t* p, size_t n) {
    while (n > 0) {
      if (last_ == nullptr || rte_pktmbuf_tailroom(last_) == 0) {
        if (!Grow()) return false;
      }
      const size_t k = std::min<size_t>(n, rte_pktmbuf_tailroom(last_));
      std::memcpy(rte_pktmbuf_mtod_offset(last_, uint8_t*, last_->data_len), p, k);
      last_->data_len = static_cast<uint16_t>(last_->data_len + k);
      head_->pkt_len += static_cast<uint32_t>(k);
      p += k;
      n -= k;
    }
    return true;
  }
  rte_mbuf* release() {
    rte_mbuf* h = head_;
    head_ = last_ = nullptr;
    return h;
  }

 private:
  bool Grow() {
    rte_mbuf* s = AllocNoCache(mp_);
    if (s == nullptr) return false;
    if (head_ == nullptr) {
      head_ = s;
    } else {
      s->data_off = 0;  // no headroom needed behind the headers
      last_->next = s;
      head_->nb_segs++;
    }
    last_ = s;
    return true;
  }

  rte_mempool* mp_;
  rte_mbuf* head_ = nullptr;
  rte_mbuf* last_ = nullptr;
};

enum class Parsed { kIke, kKeepalive, kBad };

// An Ethernet frame of `len` contiguous bytes: IPv4, UDP, the IKE payload.
Parsed Parse(const uint8_t* f, size_t len, Datagram* d) {
  if (len < kEth + kIp + kUdp || Be16(f + 12) != 0x0800) return Parsed::kBad;
  const uint8_t* ip = f + kEth;
  const uint32_t ihl = (ip[0] & 0xfu) * 4u;
  const uint32_t tl = Be16(ip + 2);
  if ((ip[0] >> 4) != 4 || ihl < kIp || tl < ihl + kUdp || kEth + tl > len ||
      ip[9] != kProtoUdp || (Be16(ip + 6) & 0x3fff) != 0) {
    return Parsed::kBad;
  }
  const uint8_t* udp = ip + ihl;
  const uint32_t ulen = Be16(udp + 4);
  if (ulen < kUdp || ulen > tl - ihl) return Parsed::kBad;
  const uint32_t src = Be32(ip + 12), dst = Be32(ip + 16);
  if (Be16(udp + 6) != 0 && Fold(Sum(udp, ulen, PseudoSum(src, dst, ulen))) != 0xffff) {
    return Parsed::kBad;
  }
  const uint8_t* body = udp + kUdp;
  uint32_t blen = ulen - kUdp;
  const uint16_t dport = Be16(udp + 2);
  if (dport == kNatTPort) {
    if (blen == 1 && body[0] == 0xff) return Parsed::kKeepalive;
    if (blen < kMarkerLen || Be32(body) != 0) return Parsed::kBad;  // ESP: not ours
    body += kMarkerLen;
    blen -= kMarkerLen;
  }
  d->src = src;
  d->dst = dst;
  d->sport = Be16(udp);
  d->dport = dport;
  d->keepalive = false;
  d->data.assign(body, body + blen);
  return Parsed::kIke;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RingTransport>> RingTransport::Attach(absl::Duration wait) {
  std::unique_ptr<RingTransport> t(new RingTransport());
  const absl::Time deadline = absl::Now() + wait;
  for (;;) {
    t->rx_ = rte_ring_lookup(shm::kIkeRxRing);
    t->tx_ = rte_ring_lookup(shm::kIkeTxRing);
    t->pool_ = rte_mempool_lookup(shm::kPacketPool);
    const rte_memzone* bz = rte_memzone_lookup(shm::kBellsZone);
    if (bz != nullptr && bz->len >= sizeof(shm::Bells)) t->bells_ = static_cast<shm::Bells*>(bz->addr);
    if (t->rx_ && t->tx_ && t->pool_ && t->bells_) break;
    if (absl::Now() >= deadline) {
      std::string missing;
      if (!t->rx_) absl::StrAppend(&missing, " ", shm::kIkeRxRing);
      if (!t->tx_) absl::StrAppend(&missing, " ", shm::kIkeTxRing);
      if (!t->pool_) absl::StrAppend(&missing, " ", shm::kPacketPool);
      if (!t->bells_) absl::StrAppend(&missing, " ", shm::kBellsZone);
      return absl::UnavailableError(
          absl::StrCat("the dataplane's IKE rings are not there (missing:", missing,
                       "); is arsec-dataplane running with the same file prefix?"));
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  if (rte_pktmbuf_data_room_size(t->pool_) < RTE_PKTMBUF_HEADROOM + kEth + kIp + kUdp + 512) {
    return absl::FailedPreconditionError(
        absl::StrCat(shm::kPacketPool, " is not a packet pool with room for IKE"));
  }
  t->ip_id_ = static_cast<uint16_t>(absl::ToUnixNanos(absl::Now()));
  return t;
}

size_t RingTransport::max_message() const { return kMaxIpLen - kIp - kUdp; }

absl::Status RingTransport::Send(const Datagram& d) {
  const bool natt = d.sport == kNatTPort;
  if (d.keepalive && !natt) {
    return absl::InvalidArgumentError("NAT-T keepalives leave from port 4500");
  }
  const size_t blen = d.keepalive ? 1 : d.data.size() + (natt ? kMarkerLen : 0);
  if (blen > max_message()) {
    stats_.tx_too_big++;
    return absl::OutOfRangeError(absl::StrCat(
        "IKE datagram of ", blen, " bytes is more than one IPv4 datagram carries (at most ",
        max_message(), " bytes of UDP payload)"));
  }
  const uint32_t ulen = kUdp + static_cast<uint32_t>(blen);
  const uint32_t tl = kIp + ulen;
  // The headers (and the marker) first, on the stack: the checksum runs over them and
  // the message where they are contiguous, then everything is copied into the buffers.
  uint8_t hdr[kEth + kIp + kUdp + kMarkerLen] = {};
  // Ethernet: MACs are the dataplane's to fill; the type already says IPv4.
  Put16(hdr + 12, 0x0800);
  uint8_t* ip = hdr + kEth;
  uint8_t* udp = ip + kIp;
  size_t hlen = kEth + kIp + kUdp;
  static constexpr uint8_t kKeepalive = 0xff;
  const uint8_t* payload = d.data.data();
  size_t plen = d.data.size();
  if (d.keepalive) {
    payload = &kKeepalive;
    plen = 1;
  } else if (natt) {
    hlen += kMarkerLen;  // four zero bytes, already there
  }
  Put16(udp, d.sport);
  Put16(udp + 2, d.dport);
  Put16(udp + 4, static_cast<uint16_t>(ulen));
  // With a zero source the dataplane adds its chosen address to this sum (RFC 1624).
  // The UDP header and the marker are of even length, so the message's words line up.
  const uint64_t sum =
      Sum(payload, plen, Sum(udp, hlen - kEth - kIp, PseudoSum(d.src, d.dst, ulen)));
  const uint16_t ck = static_cast<uint16_t>(~Fold(sum));
  Put16(udp + 6, ck == 0 ? 0xffff : ck);
  ip[0] = 0x45;
  Put16(ip + 2, static_cast<uint16_t>(tl));
  Put16(ip + 6, 0);  // no DF: the dataplane fragments what exceeds the egress MTU
  ip[8] = 64;
  ip[9] = kProtoUdp;
  Put32(ip + 12, d.src);
  Put32(ip + 16, d.dst);

  ChainWriter w(pool_);
  if (!w.Write(hdr, hlen) || !w.Write(payload, plen)) {
    stats_.tx_full++;  // the writer gives back what it took
    return absl::UnavailableError(
        absl::StrCat("no dataplane packet buffers for an IKE datagram of ", blen, " bytes"));
  }
  rte_mbuf* m = w.release();
  // The IPv4 header is in the first segment (Attach checked the room).
  uint8_t* mip = rte_pktmbuf_mtod_offset(m, uint8_t*, kEth);
  absl::MutexLock lock(&send_mu_);
  Put16(mip + 4, ip_id_++);
  Put16(mip + 10, 0);
  Put16(mip + 10, static_cast<uint16_t>(~Fold(Sum(mip, kIp))));
  if (rte_ring_sp_enqueue(tx_, m) != 0) {
    FreeNoCache(m);
    stats_.tx_full++;
    return absl::UnavailableError("the dataplane's IKE transmit ring is full");
  }
  shm::Ring(bells_->main);  // the main lcore may be asleep
  stats_.tx++;
  return absl::OkStatus();
}

size_t RingTransport::Receive(std::vector<Datagram>& out, size_t max) {
  constexpr unsigned kBurst = 32;
  void* objs[kBurst];
  size_t got = 0;
  std::vector<uint8_t> scratch;
  while (got < max) {
    const unsigned want = static_cast<unsigned>(std::min<size_t>(kBurst, max - got));
    const unsigned n = rte_ring_sc_dequeue_burst(rx_, objs, want, nullptr);
    if (n == 0) break;
    for (unsigned i = 0; i < n; ++i) {
      auto* m = static_cast<rte_mbuf*>(objs[i]);
      const uint32_t len = rte_pktmbuf_pkt_len(m);
      // Contiguous in the common case; a chain (reassembled fragments) is copied out.
      scratch.resize(len);
      const auto* f = static_cast<const uint8_t*>(rte_pktmbuf_read(m, 0, len, scratch.data()));
      Datagram d;
      const Parsed p = f != nullptr ? Parse(f, len, &d) : Parsed::kBad;
      FreeNoCache(m);
      if (p == Parsed::kKeepalive) {
        stats_.rx_keepalive++;
      } else if (p == Parsed::kBad) {
        stats_.rx_bad++;
      } else {
        out.push_back(std::move(d));
        stats_.rx++;
        ++got;
      }
    }
  }
  return got;
}

void RingTransport::Wait(int timeout_ms) {
  if (timeout_ms <= 0) return;
  // The main lcore rings the ike_rx bell after queueing datagrams: sleep on it, noting
  // it before each look at the ring so that a datagram queued after the look wakes us.
  const absl::Time deadline = absl::Now() + absl::Milliseconds(timeout_ms);
  for (;;) {
    const uint32_t bell = shm::Peek(bells_->ike_rx);
    if (rte_ring_count(rx_) != 0) return;
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return;
    shm::Wait(bells_->ike_rx, bell, absl::ToInt64Nanoseconds(left));
  }
}

}  // namespace arsec::ike
