// Unsolicited output to one CLI session's console (debug dumps, sent as NOTE frames).
// Post is called from other threads (the dataplane event thread, the IKE daemon) and
// never blocks: a console that cannot keep up drops.
#pragma once

#include <string>

namespace arsec::control {

class ConsoleSink {
 public:
  virtual ~ConsoleSink() = default;
  virtual void Post(std::string text) = 0;
};

}  // namespace arsec::control
