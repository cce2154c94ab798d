// The CLI server: a Unix stream socket speaking common/cli_protocol.h.
//
// One thread per connection (a handful of administrators, never thousands; each command
// may wait on the dataplane, and threads keep that simple). Bad frames get ERR and the
// connection is closed; nothing a client sends can crash the server. A failed LOGIN costs
// the connection a growing delay, and the third failure closes it.
#pragma once

#include <atomic>

#include "absl/strings/string_view.h"
#include <memory>
#include <vector>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "control/controller.h"

namespace arsec::control {

class CliServer {
 public:
  CliServer(Controller* controller, LogBuffer* log) : controller_(controller), log_(log) {}
  ~CliServer();

  // Creates the socket's directory, removes a stale socket (only if nobody answers on it),
  // binds with mode 0660 and starts accepting.
  absl::Status Start(const std::string& path);
  // Stops accepting, shuts down open sessions and waits for their threads.
  void Stop();

  int active_sessions() const { return active_.load(); }

  // Failed-login delay; tests shorten it.
  void set_login_delay_ms(int ms) { login_delay_ms_ = ms; }

 private:
  void AcceptLoop();
  void Serve(int fd);

  Controller* controller_;
  LogBuffer* log_;
  std::string path_;
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<int> active_{0};
  std::thread acceptor_;
  int login_delay_ms_ = 1000;

  absl::Mutex mu_;
  std::vector<int> fds_ ABSL_GUARDED_BY(mu_);
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<Worker> threads_ ABSL_GUARDED_BY(mu_);
};

// Frame I/O, shared with the tests. ReadFrame returns false on EOF, a bad header or an
// oversized body (`*error` says which).
bool ReadFrame(int fd, std::string* verb, std::string* body, size_t max_body, std::string* error);
bool WriteFrame(int fd, absl::string_view verb, absl::string_view body);

}  // namespace arsec::control
