// SHOW LOG rendering in the seed's layout: "DD HH:MM:SS S Mod  Type SType Message", long
// messages wrapped onto continuation lines as the AR console does.
#include "control/config/log_buffer.h"

#include <cstdio>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace arsec::control {

namespace {
constexpr char kRule[] =
    "-------------------------------------------------------------------------------\n";
constexpr size_t kMessageWidth = 50;

// Continuation lines as on the AR console: break at a blank when there is one late enough
// in the line, otherwise hard.
std::vector<std::string> Wrap(const std::string& msg) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (msg.size() - pos > kMessageWidth) {
    size_t cut = msg.rfind(' ', pos + kMessageWidth);
    if (cut == std::string::npos || cut < pos + kMessageWidth / 2) {
      out.push_back(msg.substr(pos, kMessageWidth));
      pos += kMessageWidth;
    } else {
      out.push_back(msg.substr(pos, cut - pos));
      pos = cut + 1;
    }
  }
  out.push_back(msg.substr(pos));
  return out;
}
}  // namespace

void LogBuffer::Add(int severity, absl::string_view module, absl::string_view type,
                    absl::string_view subtype, absl::string_view message) {
  LogEntry e{absl::Now(), severity, absl::AsciiStrToUpper(module.substr(0, 4)),
             absl::AsciiStrToUpper(type.substr(0, 4)),
             absl::AsciiStrToUpper(subtype.substr(0, 5)), std::string(message)};
  if (echo_stderr_) {
    std::fprintf(stderr, "arsec-control: %s %s %s: %s\n", e.module.c_str(), e.type.c_str(),
                 e.subtype.c_str(), e.message.c_str());
  }
  absl::MutexLock lock(&mu_);
  entries_.push_back(std::move(e));
  while (entries_.size() > capacity_) entries_.pop_front();
}

std::string LogBuffer::Format(absl::string_view module, absl::string_view type) const {
  std::string out = "Date/Time S Mod  Type SType Message\n";
  out += kRule;
  absl::MutexLock lock(&mu_);
  for (const LogEntry& e : entries_) {
    if (!module.empty() && !absl::StartsWithIgnoreCase(e.module, module)) continue;
    if (!type.empty() && !absl::StartsWithIgnoreCase(e.type, type)) continue;
    std::vector<std::string> parts = Wrap(e.message);
    absl::StrAppend(&out, absl::FormatTime("%d %H:%M:%S", e.when, absl::LocalTimeZone()),
                    absl::StrFormat(" %d %-4s %-4s %-5s ", e.severity, e.module, e.type,
                                    e.subtype),
                    parts[0], "\n");
    for (size_t i = 1; i < parts.size(); ++i) absl::StrAppend(&out, parts[i], "\n");
  }
  out += kRule;
  return out;
}

size_t LogBuffer::size() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

}  // namespace arsec::control
