// RingTransport against the test playing the dataplane: the real rings and packet pool
// of common/shm_names.h (the pool with per-lcore caches, as arsec-dataplane makes it) on
// a no-hugepage EAL with no shared config. Frames RingTransport builds are checked byte
// by byte (headers, checksums, the marker), fed back as received frames (round trip),
// and the dataplane's fix-up of a zero source address is applied to show the UDP
// checksum stays right. Keepalives, ESP and broken frames, received chains, datagrams
// larger than a buffer sent as chains (checksummed over every segment), a full ring, the
// size limit (64 KB), running out of buffers mid-chain and the buffer accounting
// (nothing leaks) follow.
#include "control/ike/ring_transport.h"

#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_memzone.h>
#include <rte_ring.h>
#include <rte_udp.h>

#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "common/doorbell.h"
#include "common/shm_names.h"
#include "dataplane/pkt.h"

namespace arsec::ike {
namespace {

struct Dataplane {
  rte_ring* rx = nullptr;  // what the dataplane enqueues (kIkeRxRing)
  rte_ring* tx = nullptr;  // what it dequeues (kIkeTxRing)
  rte_mempool* pool = nullptr;
  shm::Bells* bells = nullptr;
};

std::string Prefix() { return "arsec-ike-unit-" + std::to_string(getpid()); }

class EalCleanup : public ::testing::Environment {
 public:
  void TearDown() override {
    if (!started) return;
    rte_eal_cleanup();
    std::filesystem::remove_all("/var/run/dpdk/" + Prefix());
  }
  static inline bool started = false;
};
const auto* const kEalCleanup = ::testing::AddGlobalTestEnvironment(new EalCleanup);

Dataplane* Dp() {
  static Dataplane* dp = []() -> Dataplane* {
    std::vector<std::string> args = {"ike_transport_test", "--no-huge", "-m", "64",
                                     "--no-shconf", "--file-prefix", Prefix(), "--no-pci",
                                     "--no-telemetry", "-l", "0", "--log-level=lib.eal:error"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) return nullptr;
    EalCleanup::started = true;
    auto* d = new Dataplane;
    d->rx = rte_ring_create(shm::kIkeRxRing, shm::kIkeRingSize, SOCKET_ID_ANY,
                            RING_F_SP_ENQ | RING_F_SC_DEQ);
    d->tx = rte_ring_create(shm::kIkeTxRing, shm::kIkeRingSize, SOCKET_ID_ANY,
                            RING_F_SP_ENQ | RING_F_SC_DEQ);
    // As arsec-dataplane makes it: a cache per lcore, the default buffer size.
    d->pool = rte_pktmbuf_pool_create(shm::kPacketPool, 2047, 64, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                      SOCKET_ID_ANY);
    // The doorbells (common/doorbell.h); nobody rings ike_rx here, so Wait sleeps out
    // its timeout unless a test rings it.
    const rte_memzone* bz =
        rte_memzone_reserve(shm::kBellsZone, sizeof(shm::Bells), SOCKET_ID_ANY, 0);
    if (!d->rx || !d->tx || !d->pool || !bz) return nullptr;
    d->bells = static_cast<shm::Bells*>(bz->addr);
    std::memset(d->bells, 0, sizeof(*d->bells));
    return d;
  }();
  return dp;
}

class RingTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dp_ = Dp();
    ASSERT_NE(dp_, nullptr) << "EAL (no-huge, in-memory) did not start";
    auto t = RingTransport::Attach();
    ASSERT_TRUE(t.ok()) << t.status();
    t_ = std::move(*t);
    avail_ = rte_mempool_avail_count(dp_->pool);
  }
  void TearDown() override {
    if (dp_ == nullptr) return;
    // Whatever a test left on the rings goes back, and no buffer went missing.
    void* obj;
    while (rte_ring_dequeue(dp_->tx, &obj) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
    while (rte_ring_dequeue(dp_->rx, &obj) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
    EXPECT_EQ(rte_mempool_avail_count(dp_->pool), avail_);
  }

  rte_mbuf* TakeSent() {
    void* obj = nullptr;
    if (rte_ring_dequeue(dp_->tx, &obj) != 0) return nullptr;
    return static_cast<rte_mbuf*>(obj);
  }
  // A received frame, as the dataplane's main lcore enqueues it.
  void Deliver(rte_mbuf* m) { ASSERT_EQ(rte_ring_enqueue(dp_->rx, m), 0); }
  std::vector<Datagram> ReceiveAll() {
    std::vector<Datagram> out;
    t_->Receive(out, 64);
    return out;
  }

  Dataplane* dp_ = nullptr;
  std::unique_ptr<RingTransport> t_;
  unsigned avail_ = 0;
};

Datagram Dg(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, size_t n) {
  Datagram d;
  d.src = src;
  d.dst = dst;
  d.sport = sport;
  d.dport = dport;
  for (size_t i = 0; i < n; ++i) d.data.push_back(static_cast<uint8_t>(i * 7 + 1));
  return d;
}

const rte_ipv4_hdr* Ip(const rte_mbuf* m) {
  return rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, sizeof(rte_ether_hdr));
}
const uint8_t* Udp(const rte_mbuf* m) { return reinterpret_cast<const uint8_t*>(Ip(m) + 1); }

TEST_F(RingTransportTest, BuildsAFrameTheDataplaneCanSend) {
  const Datagram d = Dg(0xc0000201, 0xc6336402, 500, 500, 300);
  ASSERT_TRUE(t_->Send(d).ok());
  rte_mbuf* m = TakeSent();
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->nb_segs, 1);
  ASSERT_EQ(rte_pktmbuf_data_len(m), 14u + 20 + 8 + 300);
  const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
  EXPECT_EQ(eth->ether_type, rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4));
  const rte_ipv4_hdr* ip = Ip(m);
  EXPECT_EQ(ip->version_ihl, 0x45);
  EXPECT_EQ(rte_be_to_cpu_16(ip->total_length), 20 + 8 + 300);
  EXPECT_EQ(ip->next_proto_id, IPPROTO_UDP);
  EXPECT_EQ(ip->time_to_live, 64);
  EXPECT_EQ(ip->fragment_offset, 0);  // no DF: the dataplane may fragment
  EXPECT_EQ(rte_be_to_cpu_32(ip->src_addr), d.src);
  EXPECT_EQ(rte_be_to_cpu_32(ip->dst_addr), d.dst);
  EXPECT_EQ(rte_ipv4_cksum(ip), 0) << "header checksum";  // sums to 0xffff
  const uint8_t* u = Udp(m);
  EXPECT_EQ(u[0] << 8 | u[1], 500);
  EXPECT_EQ(u[2] << 8 | u[3], 500);
  EXPECT_EQ(u[4] << 8 | u[5], 8 + 300);
  EXPECT_EQ(rte_ipv4_udptcp_cksum_verify(ip, u), 0);
  EXPECT_EQ(std::vector<uint8_t>(u + 8, u + 8 + 300), d.data);

  // Round trip: the same frame, received, gives the datagram back.
  Deliver(m);
  auto got = ReceiveAll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].src, d.src);
  EXPECT_EQ(got[0].dst, d.dst);
  EXPECT_EQ(got[0].sport, 500);
  EXPECT_EQ(got[0].dport, 500);
  EXPECT_EQ(got[0].data, d.data);
  EXPECT_EQ(t_->stats().rx.load(), 1u);
  EXPECT_EQ(t_->stats().tx.load(), 1u);
}

TEST_F(RingTransportTest, NattMarkerOnBothWays) {
  const Datagram d = Dg(0xc0000201, 0xc6336402, 4500, 61234, 100);
  ASSERT_TRUE(t_->Send(d).ok());
  rte_mbuf* m = TakeSent();
  ASSERT_NE(m, nullptr);
  const uint8_t* u = Udp(m);
  EXPECT_EQ(u[4] << 8 | u[5], 8 + 4 + 100);
  EXPECT_EQ(std::vector<uint8_t>(u + 8, u + 12), std::vector<uint8_t>(4, 0));
  EXPECT_EQ(std::vector<uint8_t>(u + 12, u + 112), d.data);
  EXPECT_EQ(rte_ipv4_udptcp_cksum_verify(Ip(m), u), 0);
  // The peer's answer arrives on our 4500 with the marker, which goes.
  auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, sizeof(rte_ether_hdr));
  const rte_be32_t a = ip->src_addr;
  ip->src_addr = ip->dst_addr;
  ip->dst_addr = a;
  auto* uh = reinterpret_cast<rte_udp_hdr*>(ip + 1);
  const rte_be16_t p = uh->src_port;  // the checksum does not change
  uh->src_port = uh->dst_port;
  uh->dst_port = p;
  Deliver(m);
  auto got = ReceiveAll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].dport, 4500);
  EXPECT_EQ(got[0].sport, 61234);
  EXPECT_EQ(got[0].src, d.dst);
  EXPECT_EQ(got[0].data, d.data);
}

TEST_F(RingTransportTest, KeepaliveAndEspAreNotDelivered) {
  Datagram k = Dg(0xc0000201, 0xc6336402, 4500, 4500, 10);
  k.keepalive = true;
  ASSERT_TRUE(t_->Send(k).ok());
  rte_mbuf* m = TakeSent();
  ASSERT_NE(m, nullptr);
  const uint8_t* u = Udp(m);
  EXPECT_EQ(u[4] << 8 | u[5], 9);
  EXPECT_EQ(u[8], 0xff);
  EXPECT_EQ(rte_ipv4_udptcp_cksum_verify(Ip(m), u), 0);
  Deliver(m);
  EXPECT_TRUE(ReceiveAll().empty());
  EXPECT_EQ(t_->stats().rx_keepalive.load(), 1u);

  // ESP in UDP (a non-zero SPI where the marker would be) is not the daemon's.
  ASSERT_TRUE(t_->Send(Dg(0xc0000201, 0xc6336402, 500, 4500, 40)).ok());
  m = TakeSent();
  ASSERT_NE(m, nullptr);
  auto* uh = rte_pktmbuf_mtod_offset(m, rte_udp_hdr*, sizeof(rte_ether_hdr) + 20);
  uh->dgram_cksum = 0;  // "none": only the payload test rejects it
  Deliver(m);
  EXPECT_TRUE(ReceiveAll().empty());
  EXPECT_EQ(t_->stats().rx_bad.load(), 1u);

  k.sport = 500;  // keepalives belong to NAT-T
  EXPECT_EQ(t_->Send(k).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(RingTransportTest, BrokenFramesAreCountedAndFreed) {
  auto sent = [&](auto edit) {
    EXPECT_TRUE(t_->Send(Dg(0xc0000201, 0xc6336402, 500, 500, 64)).ok());
    rte_mbuf* m = TakeSent();
    EXPECT_NE(m, nullptr);
    if (m != nullptr) {
      edit(m);
      Deliver(m);
    }
  };
  auto ip = [](rte_mbuf* m) {
    return rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, sizeof(rte_ether_hdr));
  };
  sent([&](rte_mbuf* m) { rte_pktmbuf_mtod_offset(m, uint8_t*, 14 + 28)[5] ^= 1; });  // UDP checksum
  sent([&](rte_mbuf* m) { ip(m)->next_proto_id = IPPROTO_TCP; });
  sent([&](rte_mbuf* m) { ip(m)->total_length = rte_cpu_to_be_16(2000); });
  sent([&](rte_mbuf* m) { ip(m)->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG); });
  sent([&](rte_mbuf* m) { rte_pktmbuf_trim(m, rte_pktmbuf_data_len(m) - 30); });
  sent([&](rte_mbuf* m) { rte_pktmbuf_mtod(m, rte_ether_hdr*)->ether_type = 0xdd86; });
  EXPECT_TRUE(ReceiveAll().empty());
  EXPECT_EQ(t_->stats().rx_bad.load(), 6u);
}

TEST_F(RingTransportTest, ChainOfReassembledFragmentsIsRead) {
  const Datagram d = Dg(0xc0000201, 0xc6336402, 500, 500, 1500);
  ASSERT_TRUE(t_->Send(d).ok());
  rte_mbuf* whole = TakeSent();
  ASSERT_NE(whole, nullptr);
  // Split it as reassembly leaves it: the headers and some payload, then the rest.
  rte_mbuf* tail = rte_pktmbuf_alloc(dp_->pool);
  ASSERT_NE(tail, nullptr);
  const uint16_t cut = 14 + 20 + 8 + 700;
  const uint16_t rest = rte_pktmbuf_data_len(whole) - cut;
  std::memcpy(rte_pktmbuf_append(tail, rest), rte_pktmbuf_mtod_offset(whole, uint8_t*, cut), rest);
  rte_pktmbuf_trim(whole, rest);
  ASSERT_EQ(rte_pktmbuf_chain(whole, tail), 0);
  ASSERT_EQ(whole->nb_segs, 2);
  Deliver(whole);
  auto got = ReceiveAll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].data, d.data);
}

TEST_F(RingTransportTest, ZeroSourceIsFilledInByTheDataplane) {
  const Datagram d = Dg(0, 0xc6336402, 500, 500, 77);
  ASSERT_TRUE(t_->Send(d).ok());
  rte_mbuf* m = TakeSent();
  ASSERT_NE(m, nullptr);
  auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, sizeof(rte_ether_hdr));
  auto* u = reinterpret_cast<rte_udp_hdr*>(ip + 1);
  EXPECT_EQ(ip->src_addr, 0u);
  EXPECT_EQ(rte_ipv4_udptcp_cksum_verify(ip, u), 0);
  // What the main lcore does (main_loop.cc IkeTx): the egress port's address, the UDP
  // checksum adjusted by its two words (RFC 1624), the header checksum recomputed.
  const rte_be32_t src = rte_cpu_to_be_32(0xc0000201);
  ip->src_addr = src;
  uint16_t w[2];
  std::memcpy(w, &src, 4);
  uint16_t ck = dp::CksumAdjust(u->dgram_cksum, 0, w[0]);
  ck = dp::CksumAdjust(ck, 0, w[1]);
  u->dgram_cksum = ck == 0 ? 0xffff : ck;
  ip->hdr_checksum = 0;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  EXPECT_EQ(rte_ipv4_udptcp_cksum_verify(ip, u), 0);
  Deliver(m);
  auto got = ReceiveAll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].src, 0xc0000201u);
  EXPECT_EQ(got[0].data, d.data);
}

TEST_F(RingTransportTest, FullRingAndTooBigAreErrorsThatLeakNothing) {
  const Datagram d = Dg(0xc0000201, 0xc6336402, 500, 500, 200);
  unsigned sent = 0;
  absl::Status st;
  while ((st = t_->Send(d)).ok()) ++sent;
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable) << st;
  EXPECT_EQ(sent, rte_ring_get_capacity(dp_->tx));
  EXPECT_EQ(t_->stats().tx_full.load(), 1u);
  EXPECT_EQ(rte_mempool_avail_count(dp_->pool), avail_ - sent);  // the failed one went back

  void* obj;
  while (rte_ring_dequeue(dp_->tx, &obj) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));

  // The size limit: what one IPv4 datagram carries (65535 less the IP and UDP headers),
  // sent as a chain of buffers.
  const size_t max = t_->max_message();
  EXPECT_EQ(max, 65535u - 20 - 8);
  EXPECT_TRUE(t_->Send(Dg(0xc0000201, 0xc6336402, 500, 500, max)).ok());
  EXPECT_EQ(t_->Send(Dg(0xc0000201, 0xc6336402, 500, 500, max + 1)).code(),
            absl::StatusCode::kOutOfRange);
  // On 4500 the marker takes four of those bytes.
  EXPECT_EQ(t_->Send(Dg(0xc0000201, 0xc6336402, 4500, 4500, max - 3)).code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(t_->Send(Dg(0xc0000201, 0xc6336402, 4500, 4500, max - 4)).ok());
  EXPECT_EQ(t_->stats().tx_too_big.load(), 2u);
  for (rte_mbuf* m; (m = TakeSent()) != nullptr;) {
    EXPECT_EQ(rte_pktmbuf_pkt_len(m), 14u + 65535);
    EXPECT_EQ(rte_be_to_cpu_16(Ip(m)->total_length), 65535);
    EXPECT_EQ(rte_ipv4_udptcp_cksum_mbuf_verify(m, Ip(m), 14 + 20), 0);
    rte_pktmbuf_free(m);
  }
}

// The datagram's bytes from a chain, whatever its segments.
std::vector<uint8_t> Bytes(const rte_mbuf* m, uint32_t off, uint32_t len) {
  std::vector<uint8_t> out(len);
  const auto* p = static_cast<const uint8_t*>(rte_pktmbuf_read(m, off, len, out.data()));
  if (p == nullptr) return {};
  if (p != out.data()) std::memcpy(out.data(), p, len);
  return out;
}

TEST_F(RingTransportTest, ADatagramLargerThanABufferIsAChain) {
  // A certificate payload's worth: more than one 2 KB buffer holds.
  const Datagram d = Dg(0xc0000201, 0xc6336402, 500, 500, 5000);
  ASSERT_TRUE(t_->Send(d).ok());
  rte_mbuf* m = TakeSent();
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(rte_mbuf_check(m, 1, nullptr), 0);
  ASSERT_EQ(rte_pktmbuf_pkt_len(m), 14u + 20 + 8 + 5000);
  // 2048 bytes after the headroom in the first, whole buffers after it: three segments,
  // each but the last full, the headers in the first.
  EXPECT_EQ(m->nb_segs, 3);
  uint32_t sum = 0;
  for (const rte_mbuf* s = m; s != nullptr; s = s->next) {
    if (s->next != nullptr) {
      EXPECT_EQ(rte_pktmbuf_tailroom(s), 0u);
    }
    if (s != m) {
      EXPECT_EQ(s->data_off, 0);
    }
    EXPECT_EQ(s->pool, dp_->pool);
    sum += s->data_len;
  }
  EXPECT_EQ(sum, rte_pktmbuf_pkt_len(m));
  EXPECT_EQ(rte_pktmbuf_data_len(m), RTE_MBUF_DEFAULT_DATAROOM);
  const rte_ipv4_hdr* ip = Ip(m);
  EXPECT_EQ(rte_be_to_cpu_16(ip->total_length), 20 + 8 + 5000);
  EXPECT_EQ(ip->fragment_offset, 0);  // the dataplane fragments it
  EXPECT_EQ(rte_ipv4_cksum(ip), 0);
  const uint8_t* u = Udp(m);
  EXPECT_EQ(u[4] << 8 | u[5], 8 + 5000);
  // The UDP checksum covers every segment.
  EXPECT_EQ(rte_ipv4_udptcp_cksum_mbuf_verify(m, ip, 14 + 20), 0);
  EXPECT_EQ(Bytes(m, 14 + 28, 5000), d.data);
  // Round trip: received as a chain (the way reassembly hands one over), it comes back.
  Deliver(m);
  auto got = ReceiveAll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].data, d.data);
}

TEST_F(RingTransportTest, ChainsOnNattWithAZeroSourceAndOddLengths) {
  for (size_t n : {2006u, 2007u, 2049u, 4091u, 9999u}) {
    SCOPED_TRACE(n);
    const Datagram d = Dg(0, 0xc6336402, 4500, 4500, n);
    ASSERT_TRUE(t_->Send(d).ok());
    rte_mbuf* m = TakeSent();
    ASSERT_NE(m, nullptr);
    EXPECT_GT(m->nb_segs, 1);
    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, sizeof(rte_ether_hdr));
    auto* u = reinterpret_cast<rte_udp_hdr*>(ip + 1);
    EXPECT_EQ(rte_be_to_cpu_16(u->dgram_len), 8 + 4 + n);
    EXPECT_EQ(Bytes(m, 14 + 28, 4), std::vector<uint8_t>(4, 0));
    EXPECT_EQ(Bytes(m, 14 + 32, static_cast<uint32_t>(n)), d.data);
    EXPECT_EQ(rte_ipv4_udptcp_cksum_mbuf_verify(m, ip, 14 + 20), 0);
    // The dataplane's fix-up of the source (main_loop.cc IkeTx) touches the first
    // segment only, and the checksum over the chain stays right.
    const rte_be32_t src = rte_cpu_to_be_32(0xc0000201);
    ip->src_addr = src;
    uint16_t w[2];
    std::memcpy(w, &src, 4);
    uint16_t ck = dp::CksumAdjust(u->dgram_cksum, 0, w[0]);
    ck = dp::CksumAdjust(ck, 0, w[1]);
    u->dgram_cksum = ck == 0 ? 0xffff : ck;
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    EXPECT_EQ(rte_ipv4_udptcp_cksum_mbuf_verify(m, ip, 14 + 20), 0);
    Deliver(m);
    auto got = ReceiveAll();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].src, 0xc0000201u);
    EXPECT_EQ(got[0].data, d.data);
  }
}

TEST_F(RingTransportTest, RunningOutOfBuffersMidChainLeaksNothing) {
  // Leave the pool ten buffers, fewer than a 30 KB datagram needs. RingTransport takes
  // from the pool's ring only: what this lcore's cache holds goes back to it first.
  rte_mempool_cache_flush(rte_mempool_default_cache(dp_->pool, rte_lcore_id()), dp_->pool);
  std::vector<void*> held(rte_mempool_avail_count(dp_->pool) - 10);
  ASSERT_EQ(rte_mempool_generic_get(dp_->pool, held.data(), static_cast<unsigned>(held.size()),
                                    nullptr), 0);
  const absl::Status st = t_->Send(Dg(0xc0000201, 0xc6336402, 500, 500, 30000));
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable) << st;
  EXPECT_EQ(t_->stats().tx_full.load(), 1u);
  EXPECT_EQ(rte_mempool_avail_count(dp_->pool), 10u) << "the partial chain went back";
  EXPECT_EQ(rte_ring_count(dp_->tx), 0u);
  // A small one still fits.
  EXPECT_TRUE(t_->Send(Dg(0xc0000201, 0xc6336402, 500, 500, 100)).ok());
  rte_mempool_generic_put(dp_->pool, held.data(), static_cast<unsigned>(held.size()), nullptr);
}

TEST_F(RingTransportTest, SendFromANonEalThreadAndWait) {
  // The IKE daemon's own thread has no lcore id: buffers come without any cache.
  std::thread th([&] {
    EXPECT_EQ(rte_lcore_id(), LCORE_ID_ANY);
    for (int i = 0; i < 50; ++i) {
      EXPECT_TRUE(t_->Send(Dg(0xc0000201, 0xc6336402, 500, 500, 50 + i)).ok());
    }
  });
  th.join();
  EXPECT_EQ(rte_ring_count(dp_->tx), 50u);

  // Wait: sleeps out its time on an empty ring, returns at once when something is there.
  auto t0 = std::chrono::steady_clock::now();
  t_->Wait(30);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(ms, 29);
  EXPECT_LT(ms, 500);
  Deliver(TakeSent());
  t0 = std::chrono::steady_clock::now();
  t_->Wait(5000);
  ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(ms, 100);
  // A datagram arriving while waiting ends the wait at once: the main lcore rings the
  // ike_rx bell after queueing it.
  ASSERT_EQ(ReceiveAll().size(), 1u);
  std::thread late([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    rte_mbuf* m = TakeSent();
    if (m != nullptr) rte_ring_enqueue(dp_->rx, m);
    shm::Ring(dp_->bells->ike_rx);
  });
  t0 = std::chrono::steady_clock::now();
  t_->Wait(5000);
  ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - t0).count();
  late.join();
  EXPECT_LT(ms, 1000);
  EXPECT_EQ(ReceiveAll().size(), 1u);
}

// Send wakes the main lcore: every datagram queued rings its bell.
TEST_F(RingTransportTest, SendRingsTheMainLcoresBell) {
  const uint32_t before = shm::Peek(dp_->bells->main);
  Datagram d;
  d.src = 0xc0000201;
  d.dst = 0xc6336402;
  d.sport = 500;
  d.dport = 500;
  d.data.assign(100, 0x5a);
  ASSERT_TRUE(t_->Send(d).ok());
  ASSERT_TRUE(t_->Send(d).ok());
  EXPECT_EQ(shm::Peek(dp_->bells->main) - before, 2u);
  rte_mbuf* m;
  while ((m = TakeSent()) != nullptr) rte_pktmbuf_free(m);
}

}  // namespace
}  // namespace arsec::ike
