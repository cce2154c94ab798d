// Kernel UDP sockets for IKE: bind, IP_PKTINFO both ways, the RFC 3948 marker rules.
#include "control/ike/udp_transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace arsec::ike {
namespace {

constexpr uint8_t kMarker[4] = {0, 0, 0, 0};  // RFC 3948 2.2 non-ESP marker
constexpr uint8_t kKeepalive = 0xff;          // RFC 3948 2.3
constexpr size_t kMaxDatagram = 65535;

std::string Addr(uint32_t a, uint16_t port) {
  return absl::StrCat(a >> 24, ".", (a >> 16) & 255, ".", (a >> 8) & 255, ".", a & 255, ":",
                      port);
}

absl::StatusOr<int> OpenSocket(uint32_t local, uint16_t port, uint16_t* bound) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  const int on = 1;
  if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on) != 0) {
    const int e = errno;
    close(fd);
    return absl::InternalError(absl::StrCat("IP_PKTINFO: ", strerror(e)));
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(local);
  sa.sin_port = htons(port);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
    const int e = errno;
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot bind UDP ", Addr(local, port), ": ", strerror(e)));
  }
  socklen_t len = sizeof sa;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    const int e = errno;
    close(fd);
    return absl::InternalError(absl::StrCat("getsockname: ", strerror(e)));
  }
  *bound = ntohs(sa.sin_port);
  return fd;
}

}  // namespace

absl::StatusOr<std::unique_ptr<UdpTransport>> UdpTransport::Open(const Options& o) {
  std::unique_ptr<UdpTransport> t(new UdpTransport());
  t->local_ = o.local;
  absl::StatusOr<int> fd = OpenSocket(o.local, o.ike_port, &t->ports_[0]);
  if (!fd.ok()) return fd.status();
  t->fds_[0] = *fd;
  if (o.natt) {
    fd = OpenSocket(o.local, o.natt_port, &t->ports_[1]);
    if (!fd.ok()) return fd.status();  // the destructor closes the first
    t->fds_[1] = *fd;
  }
  return t;
}

UdpTransport::~UdpTransport() {
  for (int fd : fds_) {
    if (fd >= 0) close(fd);
  }
}

absl::Status UdpTransport::Send(const Datagram& d) {
  int i;
  if (d.sport == ports_[0]) {
    i = 0;
  } else if (fds_[1] >= 0 && d.sport == ports_[1]) {
    i = 1;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("no IKE socket on local port ", d.sport));
  }
  if (d.keepalive && i != 1) {
    return absl::InvalidArgumentError("NAT-T keepalives leave from the NAT-T port");
  }
  iovec iov[2];
  int niov = 0;
  if (d.keepalive) {
    iov[niov++] = {const_cast<uint8_t*>(&kKeepalive), 1};
  } else {
    if (i == 1) iov[niov++] = {const_cast<uint8_t*>(kMarker), sizeof kMarker};
    iov[niov++] = {const_cast<uint8_t*>(d.data.data()), d.data.size()};
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(d.dst);
  to.sin_port = htons(d.dport);
  msghdr mh{};
  mh.msg_name = &to;
  mh.msg_namelen = sizeof to;
  mh.msg_iov = iov;
  mh.msg_iovlen = niov;
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(in_pktinfo))];
  if (d.src != 0 && d.src != local_) {
    // Leave from the address the peer knows (a socket bound to INADDR_ANY would pick the
    // route's preferred source otherwise).
    std::memset(ctl, 0, sizeof ctl);
    mh.msg_control = ctl;
    mh.msg_controllen = sizeof ctl;
    cmsghdr* c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
    in_pktinfo pi{};
    pi.ipi_spec_dst.s_addr = htonl(d.src);
    std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
  }
  if (sendmsg(fds_[i], &mh, MSG_DONTWAIT) < 0) {
    const int e = errno;
    stats_.tx_errors++;
    // Full buffers and unreachable peers alike: IKE retransmits, the caller counts.
    return absl::UnavailableError(
        absl::StrCat("send to ", Addr(d.dst, d.dport), ": ", strerror(e)));
  }
  stats_.tx++;
  return absl::OkStatus();
}

size_t UdpTransport::Drain(int i, std::vector<Datagram>& out, size_t max) {
  size_t n = 0;
  uint8_t buf[kMaxDatagram];
  while (n < max) {
    sockaddr_in from{};
    iovec iov = {buf, sizeof buf};
    alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(in_pktinfo))];
    msghdr mh{};
    mh.msg_name = &from;
    mh.msg_namelen = sizeof from;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl;
    mh.msg_controllen = sizeof ctl;
    const ssize_t r = recvmsg(fds_[i], &mh, MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;  // EAGAIN, or an ICMP error reported on the socket: nothing (more) to read
    }
    uint32_t dst = local_;
    for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c != nullptr; c = CMSG_NXTHDR(&mh, c)) {
      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        in_pktinfo pi;
        std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
        dst = ntohl(pi.ipi_addr.s_addr);
      }
    }
    const uint8_t* body = buf;
    size_t len = static_cast<size_t>(r);
    if (i == 1) {
      if (len == 1 && body[0] == kKeepalive) {
        stats_.rx_keepalive++;
        continue;
      }
      if (len < sizeof kMarker || std::memcmp(body, kMarker, sizeof kMarker) != 0) {
        stats_.rx_not_ike++;
        continue;
      }
      body += sizeof kMarker;
      len -= sizeof kMarker;
    }
    Datagram d;
    d.src = ntohl(from.sin_addr.s_addr);
    d.sport = ntohs(from.sin_port);
    d.dst = dst;
    d.dport = ports_[i];
    d.data.assign(body, body + len);
    out.push_back(std::move(d));
    stats_.rx++;
    ++n;
  }
  return n;
}

size_t UdpTransport::Receive(std::vector<Datagram>& out, size_t max) {
  size_t n = Drain(0, out, max);
  if (fds_[1] >= 0 && n < max) n += Drain(1, out, max - n);
  return n;
}

void UdpTransport::Wait(int timeout_ms) {
  pollfd p[2];
  nfds_t n = 0;
  for (int fd : fds_) {
    if (fd >= 0) p[n++] = {fd, POLLIN, 0};
  }
  while (poll(p, n, timeout_ms) < 0 && errno == EINTR) {
  }
}

}  // namespace arsec::ike
