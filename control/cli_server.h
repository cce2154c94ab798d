// The CLI server: a Unix stream socket speaking common/cli_protocol.h.
//
// One thread per connection (a handful of administrators, never thousands; each command
// may wait on the dataplane, and threads keep that simple). Bad frames get ERR and the
// connection is closed; nothing a client sends can crash the server. A failed LOGIN costs
// the connection a growing delay, and the third failure closes it.
//
// Unsolicited output (NOTE frames: debug dumps) reaches a session through its
// SessionConsole: other threads Post() into a bounded queue and wake the session thread
// through an eventfd; only the session thread writes to its socket, between requests, so
// a NOTE never splits a reply and a slow or dead client only ever stalls its own thread.
// What does not fit the queue is dropped, counted, and the count reported to the console.
#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "control/controller.h"

namespace arsec::control {

// One session's console: a bounded queue of notes, drained by the session thread.
class SessionConsole : public ConsoleSink {
 public:
  static constexpr size_t kMaxNotes = 256;
  static constexpr size_t kMaxBytes = 256 * 1024;

  SessionConsole();
  ~SessionConsole() override;
  SessionConsole(const SessionConsole&) = delete;
  SessionConsole& operator=(const SessionConsole&) = delete;

  // Any thread; never blocks on the client: queues the note or drops and counts it.
  void Post(std::string text) override ABSL_LOCKS_EXCLUDED(mu_);
  // Session thread: readable when notes are waiting (an eventfd; -1 if none could be made,
  // then the session polls the queue between requests only).
  int wake_fd() const { return wake_fd_; }
  // Session thread: the queued notes, and the drops since the last call.
  std::vector<std::string> Take(uint64_t* dropped) ABSL_LOCKS_EXCLUDED(mu_);
  uint64_t dropped_total() const { return dropped_total_.load(); }

 private:
  const int wake_fd_;
  absl::Mutex mu_;
  std::deque<std::string> notes_ ABSL_GUARDED_BY(mu_);
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<uint64_t> dropped_total_{0};
};

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
  // Notes dropped over all sessions because a console did not keep up (tests, stats).
  uint64_t notes_dropped() const { return notes_dropped_.load(); }

  // Failed-login delay; tests shorten it.
  void set_login_delay_ms(int ms) { login_delay_ms_ = ms; }

 private:
  void AcceptLoop();
  void Serve(int fd);
  // Writes the console's queued notes as NOTE frames; false when the client is gone.
  bool FlushNotes(int fd, SessionConsole& console);

  Controller* controller_;
  LogBuffer* log_;
  std::string path_;
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<int> active_{0};
  std::atomic<uint64_t> notes_dropped_{0};
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
