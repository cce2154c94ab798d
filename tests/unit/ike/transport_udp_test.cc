// UdpTransport over loopback: two transports on kernel-chosen ports exchange IKE on the
// IKE pair and on the NAT-T pair (marker added on send, stripped on receive, keepalives
// counted and never returned), and plain sockets look at what is really on the wire.
// IP_PKTINFO: the own address a datagram was sent to, and the source chosen for a reply.
#include "control/ike/udp_transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

namespace arsec::ike {
namespace {

constexpr uint32_t kLo = 0x7f000001;  // 127.0.0.1

std::vector<uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }

std::unique_ptr<UdpTransport> OpenOn(uint32_t local) {
  UdpTransport::Options o;
  o.local = local;
  o.ike_port = 0;
  o.natt_port = 0;
  auto t = UdpTransport::Open(o);
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? std::move(*t) : nullptr;
}

// Everything `t` receives within a second, or until `want` datagrams arrived.
std::vector<Datagram> ReceiveSome(UdpTransport& t, size_t want = 1) {
  std::vector<Datagram> out;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (out.size() < want && std::chrono::steady_clock::now() < end) {
    t.Wait(100);
    t.Receive(out, 16);
  }
  return out;
}

// A plain UDP socket on 127.0.0.1: the other end of the wire.
class Plain {
 public:
  Plain() {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(kLo);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    socklen_t len = sizeof sa;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    timeval tv{1, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Plain() { close(fd_); }
  uint16_t port() const { return port_; }
  void SendTo(uint16_t port, const std::vector<uint8_t>& b) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(kLo);
    to.sin_port = htons(port);
    ASSERT_EQ(sendto(fd_, b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
              static_cast<ssize_t>(b.size()));
  }
  std::vector<uint8_t> Recv(uint16_t* from_port = nullptr) {
    std::vector<uint8_t> b(65536);
    sockaddr_in from{};
    socklen_t len = sizeof from;
    const ssize_t r = recvfrom(fd_, b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
    b.resize(r < 0 ? 0 : r);
    if (from_port) *from_port = ntohs(from.sin_port);
    return b;
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

TEST(UdpTransport, IkePortRoundTrip) {
  auto a = OpenOn(kLo), b = OpenOn(kLo);
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->ike_port(), 0);
  EXPECT_NE(a->natt_port(), 0);
  EXPECT_NE(a->ike_port(), b->ike_port());
  Datagram d;
  d.src = kLo;
  d.dst = kLo;
  d.sport = a->ike_port();
  d.dport = b->ike_port();
  d.data = Bytes("an ISAKMP message");
  ASSERT_TRUE(a->Send(d).ok());
  auto got = ReceiveSome(*b);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].src, kLo);
  EXPECT_EQ(got[0].dst, kLo);
  EXPECT_EQ(got[0].sport, a->ike_port());
  EXPECT_EQ(got[0].dport, b->ike_port());
  EXPECT_EQ(got[0].data, d.data);
  EXPECT_FALSE(got[0].keepalive);
  EXPECT_EQ(a->stats().tx.load(), 1u);
  EXPECT_EQ(b->stats().rx.load(), 1u);

  // And back, the way a responder answers: addresses and ports swapped.
  Datagram r = got[0];
  std::swap(r.src, r.dst);
  std::swap(r.sport, r.dport);
  r.data = Bytes("the answer");
  ASSERT_TRUE(b->Send(r).ok());
  got = ReceiveSome(*a);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].data, r.data);
  EXPECT_EQ(got[0].sport, b->ike_port());
}

TEST(UdpTransport, NattPortAddsAndStripsTheMarker) {
  auto a = OpenOn(kLo), b = OpenOn(kLo);
  ASSERT_TRUE(a && b);
  Datagram d;
  d.src = d.dst = kLo;
  d.sport = a->natt_port();
  d.dport = b->natt_port();
  d.data = Bytes("ISAKMP on 4500");
  ASSERT_TRUE(a->Send(d).ok());
  auto got = ReceiveSome(*b);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].data, d.data);  // no marker left
  EXPECT_EQ(got[0].dport, b->natt_port());

  // On the wire: four zero bytes, then the message.
  Plain wire;
  d.dport = wire.port();
  ASSERT_TRUE(a->Send(d).ok());
  std::vector<uint8_t> want = {0, 0, 0, 0};
  want.insert(want.end(), d.data.begin(), d.data.end());
  uint16_t from = 0;
  EXPECT_EQ(wire.Recv(&from), want);
  EXPECT_EQ(from, a->natt_port());

  // From the wire: marked IKE is delivered without its marker; a datagram without the
  // marker (ESP) is not IKE and is only counted. The IKE port has no marker at all.
  wire.SendTo(a->natt_port(), want);
  wire.SendTo(a->natt_port(), {0x12, 0x34, 0x56, 0x78, 0, 0, 0, 1});
  wire.SendTo(a->ike_port(), d.data);
  got = ReceiveSome(*a, 2);
  ASSERT_EQ(got.size(), 2u);
  for (const Datagram& g : got) {
    EXPECT_EQ(g.data, d.data);
    EXPECT_EQ(g.sport, wire.port());
  }
  EXPECT_EQ(a->stats().rx_not_ike.load(), 1u);
}

TEST(UdpTransport, KeepalivesAreOneByteAndNeverDelivered) {
  auto a = OpenOn(kLo), b = OpenOn(kLo);
  ASSERT_TRUE(a && b);
  Datagram k;
  k.src = k.dst = kLo;
  k.sport = a->natt_port();
  k.dport = b->natt_port();
  k.keepalive = true;
  k.data = Bytes("ignored");
  ASSERT_TRUE(a->Send(k).ok());
  // Something to wait for behind it, so the keepalive has surely been read.
  Datagram d = k;
  d.keepalive = false;
  d.data = Bytes("after the keepalive");
  ASSERT_TRUE(a->Send(d).ok());
  auto got = ReceiveSome(*b);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].data, d.data);
  EXPECT_EQ(b->stats().rx_keepalive.load(), 1u);

  Plain wire;
  k.dport = wire.port();
  ASSERT_TRUE(a->Send(k).ok());
  EXPECT_EQ(wire.Recv(), std::vector<uint8_t>{0xff});

  k.sport = a->ike_port();  // keepalives belong to NAT-T
  EXPECT_EQ(a->Send(k).code(), absl::StatusCode::kInvalidArgument);
  k.sport = 1;  // no socket there
  k.keepalive = false;
  EXPECT_EQ(a->Send(k).code(), absl::StatusCode::kInvalidArgument);
}

TEST(UdpTransport, PktinfoGivesTheOwnAddressAndChoosesTheSource) {
  // Bound to every address: which one the peer used comes from IP_PKTINFO. All of
  // 127.0.0.0/8 is local on loopback.
  auto any = OpenOn(0), a = OpenOn(0);
  ASSERT_TRUE(any && a);
  Datagram d;
  d.src = 0x7f000003;  // 127.0.0.3
  d.dst = 0x7f000002;  // 127.0.0.2
  d.sport = a->ike_port();
  d.dport = any->ike_port();
  d.data = Bytes("to 127.0.0.2 from 127.0.0.3");
  ASSERT_TRUE(a->Send(d).ok());
  auto got = ReceiveSome(*any);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].dst, 0x7f000002u);
  EXPECT_EQ(got[0].src, 0x7f000003u);
  // The same on the NAT-T socket.
  d.sport = a->natt_port();
  d.dport = any->natt_port();
  d.dst = 0x7f000004;
  ASSERT_TRUE(a->Send(d).ok());
  got = ReceiveSome(*any);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].dst, 0x7f000004u);
  EXPECT_EQ(got[0].dport, any->natt_port());
}

TEST(UdpTransport, WaitTimesOutAndBindConflictsFail) {
  auto a = OpenOn(kLo);
  ASSERT_TRUE(a);
  const auto t0 = std::chrono::steady_clock::now();
  a->Wait(50);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(ms, 45);
  std::vector<Datagram> out;
  EXPECT_EQ(a->Receive(out, 8), 0u);

  UdpTransport::Options o;
  o.local = kLo;
  o.ike_port = a->ike_port();  // taken
  o.natt_port = 0;
  auto b = UdpTransport::Open(o);
  EXPECT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), absl::StatusCode::kUnavailable);

  o.ike_port = 0;
  o.natt = false;
  auto c = UdpTransport::Open(o);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)->natt_port(), 0);
}

}  // namespace
}  // namespace arsec::ike
