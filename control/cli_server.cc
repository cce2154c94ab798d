// Socket handling and the per-connection session loop.
#include "control/cli_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/cli_protocol.h"
#include "control/config/persistence.h"

namespace arsec::control {
namespace cp = arsec::cli_protocol;

namespace {

constexpr size_t kMaxRequestBody = 64 * 1024;   // a command line or a login, never more
constexpr int kMaxSessions = 32;
constexpr int kMaxLoginFailures = 3;

bool ReadExact(int fd, char* buf, size_t n) {
  while (n > 0) {
    ssize_t r = ::recv(fd, buf, n, 0);
    if (r == 0) return false;
    if (r < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    buf += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

}  // namespace

bool ReadFrame(int fd, std::string* verb, std::string* body, size_t max_body,
               std::string* error) {
  std::string header;
  for (;;) {
    char c;
    if (!ReadExact(fd, &c, 1)) {
      *error = header.empty() ? "" : "connection closed inside a header";
      return false;
    }
    if (c == '\n') break;
    header.push_back(c);
    if (header.size() > cp::kMaxHeader) {
      *error = "header too long";
      return false;
    }
  }
  std::vector<std::string> parts = absl::StrSplit(header, ' ');
  size_t n = 0;
  if (parts.size() != 2 || parts[0].empty() || !absl::SimpleAtoi(parts[1], &n) ||
      parts[1].find_first_not_of("0123456789") != std::string::npos) {
    *error = "malformed header (expected \"VERB nbytes\")";
    return false;
  }
  if (n > max_body) {
    *error = absl::StrCat("body of ", n, " bytes is larger than ", max_body);
    return false;
  }
  *verb = parts[0];
  body->assign(n, '\0');
  if (n > 0 && !ReadExact(fd, body->data(), n)) {
    *error = "connection closed inside a body";
    return false;
  }
  return true;
}

bool WriteFrame(int fd, absl::string_view verb, absl::string_view body) {
  std::string frame = absl::StrCat(verb, " ", body.size(), "\n", body);
  absl::string_view rest = frame;
  while (!rest.empty()) {
    ssize_t w = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    rest.remove_prefix(static_cast<size_t>(w));
  }
  return true;
}

SessionConsole::SessionConsole() : wake_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

SessionConsole::~SessionConsole() {
  // The eventfd lives as long as the console: a thread still posting through a reference
  // it took before the session ended writes to this fd, never to a reused number.
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void SessionConsole::Post(std::string text) {
  {
    absl::MutexLock lock(&mu_);
    if (notes_.size() >= kMaxNotes || bytes_ + text.size() > kMaxBytes) {
      ++dropped_;
      ++dropped_total_;
      return;
    }
    bytes_ += text.size();
    notes_.push_back(std::move(text));
  }
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    // Non-blocking; a full counter (never in practice) already means "wake up".
    [[maybe_unused]] ssize_t w = ::write(wake_fd_, &one, sizeof(one));
  }
}

std::vector<std::string> SessionConsole::Take(uint64_t* dropped) {
  if (wake_fd_ >= 0) {
    uint64_t v;
    [[maybe_unused]] ssize_t r = ::read(wake_fd_, &v, sizeof(v));
  }
  absl::MutexLock lock(&mu_);
  std::vector<std::string> out(std::make_move_iterator(notes_.begin()),
                               std::make_move_iterator(notes_.end()));
  notes_.clear();
  bytes_ = 0;
  *dropped = dropped_;
  dropped_ = 0;
  return out;
}

CliServer::~CliServer() { Stop(); }

absl::Status CliServer::Start(const std::string& path) {
  path_ = path;
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("socket path too long: ", path));
  }
  if (absl::Status s = MakeDirs(DirName(path), 0755); !s.ok()) return s;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);

  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return absl::FailedPreconditionError(absl::StrCat(path, " exists and is not a socket"));
    }
    // A live server answers a connect; only a dead one's socket is removed.
    int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool alive =
        probe >= 0 && ::connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    if (probe >= 0) ::close(probe);
    if (alive) {
      return absl::AlreadyExistsError(absl::StrCat(
          "another arsec-control is serving ", path, "; refusing to take its socket"));
    }
    ::unlink(path.c_str());
  }
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  const mode_t old = ::umask(0117);   // the socket is created 0660
  int rc = ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::umask(old);
  if (rc != 0) {
    absl::Status s = absl::InternalError(absl::StrCat("bind ", path, ": ", std::strerror(errno)));
    ::close(listen_fd_);
    listen_fd_ = -1;
    return s;
  }
  ::chmod(path.c_str(), 0660);
  if (::listen(listen_fd_, 16) != 0) {
    return absl::InternalError(absl::StrCat("listen: ", std::strerror(errno)));
  }
  acceptor_ = std::thread([this] { AcceptLoop(); });
  return absl::OkStatus();
}

void CliServer::AcceptLoop() {
  while (!stopping_.load()) {
    pollfd p{listen_fd_, POLLIN, 0};
    int rc = ::poll(&p, 1, 200);
    if (rc <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    if (active_.load() >= kMaxSessions) {
      WriteFrame(fd, cp::kErr, "too many sessions\n");
      ::close(fd);
      continue;
    }
    // A client that stops reading must not wedge its session thread forever.
    timeval tv{30, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    absl::MutexLock lock(&mu_);
    // Join the threads of sessions that ended, so a long-lived server does not pile them up.
    for (auto it = threads_.begin(); it != threads_.end();) {
      if (it->done->load()) {
        it->thread.join();
        it = threads_.erase(it);
      } else {
        ++it;
      }
    }
    ++active_;
    fds_.push_back(fd);
    auto done = std::make_shared<std::atomic<bool>>(false);
    threads_.push_back({std::thread([this, fd, done] {
                          Serve(fd);
                          done->store(true);
                        }),
                        done});
  }
}

bool CliServer::FlushNotes(int fd, SessionConsole& console) {
  uint64_t dropped = 0;
  std::vector<std::string> notes = console.Take(&dropped);
  if (dropped > 0) {
    notes_dropped_ += dropped;
    notes.push_back(absl::StrCat("(", dropped, " debug message", dropped == 1 ? "" : "s",
                                 " dropped: the console is not keeping up)\n"));
  }
  for (const std::string& n : notes) {
    if (!WriteFrame(fd, cp::kNote, n)) return false;
  }
  return true;
}

void CliServer::Serve(int fd) {
  Session session;
  auto console = std::make_shared<SessionConsole>();
  session.console = console;
  int failures = 0;
  for (;;) {
    // Wait for a request or for notes; notes are written only here, between requests.
    pollfd p[2] = {{fd, POLLIN, 0}, {console->wake_fd(), POLLIN, 0}};
    const bool wake = console->wake_fd() >= 0;   // without an eventfd: look every 200 ms
    const int rc = ::poll(p, wake ? 2 : 1, wake ? -1 : 200);
    if (rc < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if ((!wake || p[1].revents != 0) && !FlushNotes(fd, *console)) break;
    if (p[0].revents == 0) continue;
    std::string verb, body, error;
    if (!ReadFrame(fd, &verb, &body, kMaxRequestBody, &error)) {
      if (!error.empty()) WriteFrame(fd, cp::kErr, absl::StrCat("bad frame: ", error, "\n"));
      break;
    }
    if (verb == cp::kBye) {
      WriteFrame(fd, cp::kOk, "");
      break;
    }
    if (verb == cp::kLogin) {
      size_t nl = body.find('\n');
      if (nl == std::string::npos) {
        WriteFrame(fd, cp::kErr, "LOGIN body must be \"user\\npassword\"\n");
        break;
      }
      std::string user = body.substr(0, nl);
      std::string password = body.substr(nl + 1);
      if (!password.empty() && password.back() == '\n') password.pop_back();
      auto priv = controller_->Login(user, password);
      std::fill(password.begin(), password.end(), '\0');
      std::fill(body.begin(), body.end(), '\0');
      if (!priv.ok()) {
        ++failures;
        // Slows down guessing; the delay grows with each failure on this connection.
        std::this_thread::sleep_for(std::chrono::milliseconds(login_delay_ms_ * failures));
        WriteFrame(fd, cp::kErr, "Login incorrect\n");
        if (failures >= kMaxLoginFailures) break;
        continue;
      }
      session.user = user;
      session.privilege = *priv;
      session.logged_in = true;
      WriteFrame(fd, cp::kOk, PromptFor(*priv));
      continue;
    }
    if (verb == cp::kExec) {
      if (!session.logged_in) {
        WriteFrame(fd, cp::kErr, "Not logged in: send LOGIN first\n");
        continue;
      }
      while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
      if (body.find('\n') != std::string::npos) {
        WriteFrame(fd, cp::kErr, "EXEC takes one command line\n");
        continue;
      }
      CommandResult r = controller_->Execute(session, body);
      if (!WriteFrame(fd, r.ok ? cp::kOk : cp::kErr, r.output)) break;
      if (r.logoff) break;
      continue;
    }
    WriteFrame(fd, cp::kErr, absl::StrCat("unknown verb \"", verb.substr(0, 16), "\"\n"));
    break;
  }
  {
    absl::MutexLock lock(&mu_);
    fds_.erase(std::remove(fds_.begin(), fds_.end(), fd), fds_.end());
  }
  ::close(fd);
  --active_;
}

void CliServer::Stop() {
  if (stopping_.exchange(true)) return;
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<Worker> threads;
  {
    absl::MutexLock lock(&mu_);
    for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    threads.swap(threads_);
  }
  for (auto& w : threads) w.thread.join();
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
    ::unlink(path_.c_str());
  }
}

}  // namespace arsec::control
