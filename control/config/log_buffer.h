// The appliance log as SHOW LOG prints it: a bounded in-memory buffer of AR-style
// entries (Date/Time, Severity, Module, Type, SubType, Message), also echoed to stderr.
//
// Thread-safe on its own lock: the event loop, CLI sessions and start-up all write to it.
// Callers must never pass secrets; nothing here can tell a password from a message.
#pragma once

#include <deque>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace arsec::control {

struct LogEntry {
  absl::Time when;
  int severity = 3;        // AR: 0 emergency .. 7 debug; 3 = notice-level events
  std::string module;      // 4 letters at most: SYST, IP, USER, DP, CONF
  std::string type;        // REST, CONF, USER, NEIG, PUNT, LINK
  std::string subtype;     // MSG, ERR, ...
  std::string message;
};

class LogBuffer {
 public:
  explicit LogBuffer(size_t capacity = 2000, bool echo_stderr = false)
      : capacity_(capacity), echo_stderr_(echo_stderr) {}

  void Add(int severity, absl::string_view module, absl::string_view type,
           absl::string_view subtype, absl::string_view message) ABSL_LOCKS_EXCLUDED(mu_);

  // SHOW LOG: the seed's table; module/type filter by case-insensitive prefix ("" = all).
  std::string Format(absl::string_view module, absl::string_view type) const
      ABSL_LOCKS_EXCLUDED(mu_);

  size_t size() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const size_t capacity_;
  const bool echo_stderr_;
  mutable absl::Mutex mu_;
  std::deque<LogEntry> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace arsec::control
