// The client end of the CLI socket (wire format in common/cli_protocol.h).
//
// A Connection sends request frames and reads reply frames; NOTE frames (unsolicited
// console output such as debug dumps) may arrive before a reply or while the console is
// idle, so reads are buffered and a frame is handed out only when complete. Malformed
// frames from the server end the session with an error rather than a guess.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace arsec::cli {

struct Frame {
  std::string verb;
  std::string body;
};

// The result of one request: ok is true for an OK frame, false for ERR.
struct Reply {
  bool ok = false;
  std::string body;
};

class Connection {
 public:
  static absl::StatusOr<Connection> Open(const std::string& socket_path);
  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  int fd() const { return fd_; }

  absl::Status Send(std::string_view verb, std::string_view body);
  // Reads until one whole frame is buffered (blocking), or returns nullopt at once when
  // wait is false and none is complete yet. End of stream is an UNAVAILABLE error.
  absl::StatusOr<std::optional<Frame>> Read(bool wait);
  // Sends one request and waits for its OK/ERR, passing any NOTE bodies to on_note.
  absl::StatusOr<Reply> Request(std::string_view verb, std::string_view body,
                                const std::function<void(const std::string&)>& on_note);

 private:
  explicit Connection(int fd) : fd_(fd) {}
  // Pops a complete frame from buf_, if there is one; errors on a malformed header.
  absl::StatusOr<std::optional<Frame>> PopFrame();

  int fd_ = -1;
  std::string buf_;
};

// Exposed for unit tests: parses "<VERB> <nbytes>\n"; returns the body length.
absl::StatusOr<size_t> ParseHeader(std::string_view header_line, std::string* verb);

}  // namespace arsec::cli
