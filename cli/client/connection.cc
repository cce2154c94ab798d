// Framing over the CLI's Unix socket (see connection.h).
#include "cli/client/connection.h"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cli_protocol.h"

namespace arsec::cli {

namespace proto = ::arsec::cli_protocol;

absl::StatusOr<size_t> ParseHeader(std::string_view line, std::string* verb) {
  size_t sp = line.find(' ');
  if (sp == std::string_view::npos || sp == 0)
    return absl::DataLossError("protocol error: bad frame header from the server");
  for (size_t i = 0; i < sp; ++i)
    if (line[i] < 'A' || line[i] > 'Z')
      return absl::DataLossError("protocol error: bad frame verb from the server");
  std::string_view num = line.substr(sp + 1);
  if (num.empty() || num.size() > 10)
    return absl::DataLossError("protocol error: bad frame length from the server");
  size_t n = 0;
  for (char c : num) {
    if (c < '0' || c > '9') return absl::DataLossError("protocol error: bad frame length from the server");
    n = n * 10 + static_cast<size_t>(c - '0');
  }
  if (n > proto::kMaxBody) return absl::DataLossError("protocol error: frame too large");
  verb->assign(line.substr(0, sp));
  return n;
}

absl::StatusOr<Connection> Connection::Open(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path))
    return absl::InvalidArgumentError("socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(std::string("socket: ") + std::strerror(errno));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int e = errno;
    ::close(fd);
    return absl::UnavailableError("cannot connect to " + path + ": " + std::strerror(e) +
                                  " (is arsec-control running?)");
  }
  return Connection(fd);
}

Connection::Connection(Connection&& o) noexcept : fd_(o.fd_), buf_(std::move(o.buf_)) { o.fd_ = -1; }

Connection& Connection::operator=(Connection&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    buf_ = std::move(o.buf_);
    o.fd_ = -1;
  }
  return *this;
}

Connection::~Connection() {
  if (fd_ >= 0) ::close(fd_);
}

absl::Status Connection::Send(std::string_view verb, std::string_view body) {
  std::string frame = std::string(verb) + " " + std::to_string(body.size()) + "\n";
  frame.append(body);
  size_t off = 0;
  while (off < frame.size()) {
    ssize_t n = ::send(fd_, frame.data() + off, frame.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(std::string("connection lost: ") + std::strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<Frame>> Connection::PopFrame() {
  size_t nl = buf_.find('\n');
  if (nl == std::string::npos) {
    if (buf_.size() > proto::kMaxHeader)
      return absl::DataLossError("protocol error: frame header too long");
    return std::optional<Frame>();
  }
  if (nl > proto::kMaxHeader) return absl::DataLossError("protocol error: frame header too long");
  Frame f;
  auto n = ParseHeader(std::string_view(buf_).substr(0, nl), &f.verb);
  if (!n.ok()) return n.status();
  if (buf_.size() - nl - 1 < *n) return std::optional<Frame>();
  f.body = buf_.substr(nl + 1, *n);
  buf_.erase(0, nl + 1 + *n);
  return std::optional<Frame>(std::move(f));
}

absl::StatusOr<std::optional<Frame>> Connection::Read(bool wait) {
  while (true) {
    auto f = PopFrame();
    if (!f.ok() || f->has_value()) return f;
    if (!wait) {
      pollfd p{fd_, POLLIN, 0};
      int r = ::poll(&p, 1, 0);
      if (r == 0) return std::optional<Frame>();
      if (r < 0 && errno == EINTR) return std::optional<Frame>();
    }
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(std::string("connection lost: ") + std::strerror(errno));
    }
    if (n == 0) return absl::UnavailableError("the server closed the connection");
    buf_.append(tmp, static_cast<size_t>(n));
  }
}

absl::StatusOr<Reply> Connection::Request(std::string_view verb, std::string_view body,
                                          const std::function<void(const std::string&)>& on_note) {
  if (absl::Status st = Send(verb, body); !st.ok()) return st;
  while (true) {
    auto f = Read(/*wait=*/true);
    if (!f.ok()) return f.status();
    Frame& fr = **f;
    if (fr.verb == proto::kNote) {
      if (on_note) on_note(fr.body);
      continue;
    }
    if (fr.verb == proto::kOk) return Reply{true, std::move(fr.body)};
    if (fr.verb == proto::kErr) return Reply{false, std::move(fr.body)};
    return absl::DataLossError("protocol error: unexpected frame \"" + fr.verb + "\" from the server");
  }
}

}  // namespace arsec::cli
