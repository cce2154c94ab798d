// The command side of arsec-control: one command line in, the AR-style reply out.
//
// Controller owns the configuration model under one mutex (CLI sessions, the boot replay
// and start-up all go through Execute), binds a handler to each lang::CommandId, checks
// privileges, and keeps the running-config snapshot current after every configuration
// change (users included). It also runs the
// start-up reconcile (Hello, SyncBegin, replay, SyncEnd) described in docs/control.md.
#pragma once

#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "cli/lang/command_spec.h"
#include "cli/lang/parser.h"
#include "control/config/config_model.h"
#include "control/config/log_buffer.h"
#include "control/config/persistence.h"
#include "control/dataplane_client.h"

namespace arsec::control {

struct Session {
  std::string user;
  lang::Privilege privilege = lang::Privilege::kUser;
  bool logged_in = false;
};

struct CommandResult {
  bool ok = true;
  std::string output;     // the command's output including its Info/Error line
  bool logoff = false;    // the session ends after this reply
};

struct ControllerOptions {
  std::string config_dir = "/etc/arsec";
  // Boot config when SET CONFIG has chosen none: the startup config's control.boot_config.
  std::string default_boot;
  // --boot-config: wins over SET CONFIG's choice.
  std::string boot_override;
  // Running-config snapshot (next to the socket); "" disables it.
  std::string snapshot_path;
};

struct ReplayReport {
  int commands = 0;
  int failed = 0;
  std::vector<std::string> errors;   // "file:line: Error (...): ..."
};

// The prompt word for a privilege: "User", "Manager", "SecOff".
absl::string_view PromptFor(lang::Privilege p);

class Controller {
 public:
  Controller(DataplaneClient* dp, LogBuffer* log, ControllerOptions opts);

  // Start-up reconcile: Hello, port list, SyncBegin, replay of the snapshot or the boot
  // config, SyncEnd, snapshot. A bad line of the script does not stop it.
  absl::Status Start() ABSL_LOCKS_EXCLUDED(mu_);

  absl::StatusOr<lang::Privilege> Login(absl::string_view user, absl::string_view password)
      ABSL_LOCKS_EXCLUDED(mu_);

  CommandResult Execute(Session& session, absl::string_view line) ABSL_LOCKS_EXCLUDED(mu_);

  // Replays a command script with MANAGER rights; `source` names it in errors.
  ReplayReport Replay(absl::string_view text, absl::string_view source) ABSL_LOCKS_EXCLUDED(mu_);

  std::string RunningConfig() ABSL_LOCKS_EXCLUDED(mu_);
  // The script Start() replays, and why ("snapshot" / "boot config"); for logs and tests.
  std::string BootPath() const;
  const std::string& replayed_from() const { return replayed_from_; }

  // For tests: the model under the lock.
  template <typename F>
  auto WithModel(F f) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return f(model_);
  }

 private:
  CommandResult Dispatch(Session& s, const lang::ParsedCommand& cmd, bool replaying)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  CommandResult ExecuteLocked(Session& s, absl::string_view line, bool replaying)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SaveSnapshot() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string RunningConfigLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  CommandResult ShowDataplane(const lang::ParsedCommand& cmd) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  CommandResult CreateConfig(const lang::ParsedCommand& cmd) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  CommandResult SetConfig(const lang::ParsedCommand& cmd) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  CommandResult ShowConfig(const lang::ParsedCommand& cmd) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  CommandResult Help() const;

  DataplaneClient* const dp_;
  LogBuffer* const log_;
  const ControllerOptions opts_;
  ConfigStore store_;

  mutable absl::Mutex mu_;
  ConfigModel model_ ABSL_GUARDED_BY(mu_);
  msg::HelloBody hello_ ABSL_GUARDED_BY(mu_){};
  bool snapshot_enabled_ ABSL_GUARDED_BY(mu_) = false;
  std::string replayed_from_;
};

}  // namespace arsec::control
