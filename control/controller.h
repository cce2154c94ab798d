// The command side of arsec-control: one command line in, the AR-style reply out.
//
// Controller owns the configuration model under one mutex (CLI sessions, the boot replay
// and start-up all go through Execute), binds a handler to each lang::CommandId, checks
// privileges, and keeps the running-config snapshot current after every configuration
// change (users included). It also runs the
// start-up reconcile (Hello, SyncBegin, replay, SyncEnd) described in docs/control.md.
//
// Dataplane events that concern the model come in from the event thread: SA expiry
// (under the model's mutex: rare) and POLICY DEBUG=PACKET dumps (up to 50/s per worker).
// The dumps never wait for the model's mutex, which a command may hold across dataplane
// round trips: ENABLE IPSEC POLICY ... DEBUG remembers the session's console in a small
// registry under its own mutex, kept current (policy name, SAs) after every IPsec change,
// and the event thread formats from that and posts to the consoles, which never block.
//
// IPsec and ENCO changes are persisted and compiled in batches: the SPD (compiled whole
// by the dataplane), the ENCO key store and the running-config snapshot are written at
// once after an interactive change, but at most once per flush interval while commands
// pour in (a script of 10,000 policies), by a flusher thread once they stop, before any
// SHOW that reads dataplane state, and at the end of a replay.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cli/lang/command_spec.h"
#include "cli/lang/messages.h"
#include "cli/lang/parser.h"
#include "control/config/config_model.h"
#include "control/config/log_buffer.h"
#include "control/config/persistence.h"
#include "control/console_sink.h"
#include "control/dataplane_client.h"
#include "control/ike/ike_service.h"
#include "control/ike/sa_installer.h"
#include "control/ike_link.h"
#include "control/ipsec/enco_keys.h"
#include "control/ipsec/ipsec_debug.h"
#include "control/ipsec/ipsec_model.h"
#include "control/isakmp/isakmp_model.h"

namespace arsec::control {

struct Session {
  std::string user;
  lang::Privilege privilege = lang::Privilege::kUser;
  bool logged_in = false;
  // The session's console, if it has one (CLI connections; not a replayed script). The
  // controller keeps only weak references: a closed session is forgotten.
  std::shared_ptr<ConsoleSink> console;
};

struct CommandResult {
  bool ok = true;
  std::string output;     // the command's output including its Info/Error line
  bool logoff = false;    // the session ends after this reply
};

// A refused command as its reply line: the status's message with the AR error code its
// kind maps to (not found, exists, in use, dataplane timeout, table full; `internal` for
// internal errors). A message that already is a whole "Error (...)" line is kept.
CommandResult FailureReply(lang::Module m, const absl::Status& s, lang::Msg internal);

struct ControllerOptions {
  std::string config_dir = "/etc/arsec";
  // Boot config when SET CONFIG has chosen none: the startup config's control.boot_config.
  std::string default_boot;
  // --boot-config: wins over SET CONFIG's choice.
  std::string boot_override;
  // Running-config snapshot (next to the socket); "" disables it.
  std::string snapshot_path;
  // The ENCO key store (secret keys, mode 0600); "" = <config_dir>/enco.keys.
  std::string key_store_path;
  // Deferred writes (SPD, key store, snapshot) after IPsec/ENCO changes happen at most
  // this often while commands keep coming (and at least 4x the last flush's duration
  // apart); 0 flushes after every command.
  absl::Duration flush_interval = absl::Milliseconds(250);
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
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Start-up reconcile: Hello, port list, SyncBegin, replay of the snapshot or the boot
  // config, SyncEnd, snapshot. A bad line of the script does not stop it.
  absl::Status Start() ABSL_LOCKS_EXCLUDED(mu_);

  absl::StatusOr<lang::Privilege> Login(absl::string_view user, absl::string_view password)
      ABSL_LOCKS_EXCLUDED(mu_);

  CommandResult Execute(Session& session, absl::string_view line) ABSL_LOCKS_EXCLUDED(mu_);

  // Replays a command script with MANAGER rights; `source` names it in errors.
  ReplayReport Replay(absl::string_view text, absl::string_view source) ABSL_LOCKS_EXCLUDED(mu_);

  std::string RunningConfig() ABSL_LOCKS_EXCLUDED(mu_);
  // Writes whatever a batch left pending (SPD, key store, snapshot) now.
  absl::Status FlushPending() ABSL_LOCKS_EXCLUDED(mu_);
  const std::string& key_store_path() const { return key_store_path_; }
  // The script Start() replays, and why ("snapshot" / "boot config"); for logs and tests.
  std::string BootPath() const;
  const std::string& replayed_from() const { return replayed_from_; }

  // ---- dataplane events (the event thread)
  // kEvtIpsecDebug: the dump goes to the consoles that enabled the policy's PACKET debug.
  void OnIpsecDebug(const msg::IpsecDebugEvent& e) ABSL_LOCKS_EXCLUDED(debug_mu_);
  // kEvtSaExpiry: a log line, and the SA's record shows the expiry.
  void OnSaExpiry(const msg::SaExpiryEvent& e) ABSL_LOCKS_EXCLUDED(mu_);
  // Consoles currently receiving a policy's dumps (tests).
  size_t DebugConsoles(uint32_t policy_id) ABSL_LOCKS_EXCLUDED(debug_mu_);

  // ---- negotiated SAs (controller_ike.cc; the IKE daemon's thread, through IkeLink)
  absl::StatusOr<std::vector<uint32_t>> InstallNegotiatedBundle(const ike::NegotiatedBundle& b)
      ABSL_LOCKS_EXCLUDED(mu_);
  void RemoveNegotiatedSas(const std::vector<uint32_t>& sa_ids) ABSL_LOCKS_EXCLUDED(mu_);
  void ActivateNegotiatedSas(const std::vector<uint32_t>& sa_ids) ABSL_LOCKS_EXCLUDED(mu_);
  bool InboundSpiInUse(uint8_t proto, uint32_t spi) ABSL_LOCKS_EXCLUDED(mu_);
  // kEvtAcquire: traffic for an ISAKMP policy without SAs.
  void OnAcquire(const msg::AcquireEvent& e) ABSL_LOCKS_EXCLUDED(mu_);

  // For tests: the model under the lock.
  template <typename F>
  auto WithModel(F f) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return f(model_);
  }
  template <typename F>
  auto WithIpsec(F f) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return f(ipsec_, keys_);
  }

  // ---- the IKE daemon (controller_isakmp.cc)
  // SHOW ISAKMP SA/EXCHANGE/COUNTERS, RESET ISAKMP [COUNTERS] and ENABLE/DISABLE ISAKMP
  // DEBUG go to `svc` (none set: empty tables, and DEBUG has nobody to tell).
  // The service gets a new configuration snapshot (BuildIkeConfig) after every
  // successful change the daemon's configuration is made from: ENABLE/DISABLE ISAKMP,
  // ISAKMP and IPsec policies, SA and bundle specifications, ENCO keys, users, IP
  // interfaces and routes (once at the end of a replay rather than per line). The
  // service's methods are called with the controller's mutex held and never block.
  // `link` maps negotiated SAs to the daemon's bundles (expiry events).
  void SetIkeService(ike::IkeService* svc, IkeLink* link) ABSL_LOCKS_EXCLUDED(mu_);
  // The daemon's read of the configuration, under the lock:
  // f(const IsakmpModel&, const IpsecModel&, const EncoKeyStore&, const ConfigModel&).
  template <typename F>
  auto WithIsakmp(F f) const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return f(static_cast<const IsakmpModel&>(isakmp_), static_cast<const IpsecModel&>(ipsec_),
             static_cast<const EncoKeyStore&>(keys_), static_cast<const ConfigModel&>(model_));
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

  // IPsec and ENCO commands (controller_ipsec.cc); nullopt: not one of theirs.
  std::optional<CommandResult> DispatchIpsec(Session& s, const lang::ParsedCommand& cmd,
                                             bool replaying) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  CommandResult ShowIpsec(const lang::ParsedCommand& cmd) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // ISAKMP commands (controller_isakmp.cc), and the ENCO key check they need; nullopt:
  // not one of theirs.
  std::optional<CommandResult> DispatchIsakmp(Session& s, const lang::ParsedCommand& cmd,
                                              bool replaying) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // After a change the IKE daemon's configuration depends on: config_changed now, or at
  // the end of the replay.
  void IkeConfigChanged(bool replaying) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // ENABLE/DISABLE ISAKMP DEBUG: this console's flags.
  uint32_t IsakmpDebugOf(const std::shared_ptr<ConsoleSink>& console)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DrainIpsecEvents() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Start(): the negotiated SAs the dataplane kept across a restart of this process are
  // adopted (IpsecModel::AdoptNegotiated) and, once the IKE daemon is there
  // (SetIkeService), handed to it and to IkeLink (controller_ike.cc).
  void AdoptHeldSas(const std::vector<msg::SaDumpEntry>& held) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void HandOverAdopted() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // After an IPsec/ENCO change: flush now, or schedule it when the last flush is recent.
  void ChangedIpsec(bool keys_changed) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status FlushPendingLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status SaveKeyStore() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void LoadKeyStore() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FlusherLoop() ABSL_LOCKS_EXCLUDED(mu_);
  // Brings the debug registry in line with the model (names, SAs; watches of policies
  // gone or no longer debugging PACKET are dropped); `add` also registers a console.
  void RefreshDebugWatches(uint32_t add_policy = 0, std::shared_ptr<ConsoleSink> add = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) ABSL_LOCKS_EXCLUDED(debug_mu_);

  DataplaneClient* const dp_;
  LogBuffer* const log_;
  const ControllerOptions opts_;
  ConfigStore store_;

  mutable absl::Mutex mu_;
  ConfigModel model_ ABSL_GUARDED_BY(mu_);
  EncoKeyStore keys_ ABSL_GUARDED_BY(mu_);
  IpsecModel ipsec_ ABSL_GUARDED_BY(mu_);
  IsakmpModel isakmp_ ABSL_GUARDED_BY(mu_);
  ike::IkeService* ike_ ABSL_GUARDED_BY(mu_) = nullptr;
  IkeLink* ike_link_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::vector<std::string> ike_problems_ ABSL_GUARDED_BY(mu_);   // last said configuration problems
  bool ike_dirty_ ABSL_GUARDED_BY(mu_) = false;   // a change during a replay
  std::vector<AdoptedBundle> adopted_ ABSL_GUARDED_BY(mu_);   // not yet told to IKE
  // ENABLE ISAKMP DEBUG per console (the daemon keeps its own copy through SetDebug).
  std::vector<std::pair<std::weak_ptr<ConsoleSink>, uint32_t>> isakmp_debug_ ABSL_GUARDED_BY(mu_);
  std::string key_store_path_;
  // Deferred flushing.
  bool keys_dirty_ ABSL_GUARDED_BY(mu_) = false;
  bool snapshot_dirty_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<absl::Time> flush_due_ ABSL_GUARDED_BY(mu_);
  absl::Time last_flush_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Duration last_flush_cost_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  absl::CondVar flush_cv_;
  std::thread flusher_;
  msg::HelloBody hello_ ABSL_GUARDED_BY(mu_){};
  bool snapshot_enabled_ ABSL_GUARDED_BY(mu_) = false;
  std::string replayed_from_;

  // POLICY DEBUG=PACKET: policy id -> what the dump needs and who receives it.
  struct DebugWatch {
    DebugPolicy policy;
    std::vector<std::weak_ptr<ConsoleSink>> consoles;
  };
  absl::Mutex debug_mu_ ABSL_ACQUIRED_AFTER(mu_);
  std::map<uint32_t, DebugWatch> debug_watches_ ABSL_GUARDED_BY(debug_mu_);
};

}  // namespace arsec::control
