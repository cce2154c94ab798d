// The ISAKMP (module 82) commands of the Controller: the policies and module state in
// IsakmpModel, and what the running IKE daemon answers through ike::IkeService (SAs,
// exchanges, counters, resets, per-console debugging). Configuration changes are
// persisted like the IPsec ones (the snapshot, and the key store for XAUTHPASS), and
// every change the daemon's configuration depends on is signalled to it
// (IkeConfigChanged, from ExecuteLocked).
#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/lang/messages.h"
#include "control/controller.h"
#include "control/isakmp/isakmp_show.h"

namespace arsec::control {

using lang::CommandId;
using lang::Module;
using lang::Msg;

namespace {

CommandResult Failure(Module m, const absl::Status& s) {
  return FailureReply(m, s, Msg::kInternalError);
}

CommandResult Done(Module m) { return {true, lang::Success(m) + "\n"}; }

CommandResult Text(std::string body) { return {true, std::move(body)}; }

// The parameters the user typed (defaults left out: they are the model's defaults too).
std::map<std::string, std::string> TypedParams(const lang::ParsedCommand& cmd) {
  std::map<std::string, std::string> out;
  for (const auto& g : cmd.given) {
    auto it = cmd.params.find(g);
    if (it != cmd.params.end()) out[g] = it->second;
  }
  return out;
}

}  // namespace

void Controller::SetIkeService(ike::IkeService* svc, IkeLink* link) {
  absl::MutexLock lock(&mu_);
  ike_ = svc;
  ike_link_ = link;
  if (ike_ == nullptr) return;
  // Consoles that enabled debugging before the daemon was there.
  for (const auto& [w, flags] : isakmp_debug_) {
    if (auto console = w.lock()) ike_->SetDebug(flags, console);
  }
  IkeConfigChanged(false);
  HandOverAdopted();   // bundles adopted at start-up, after the daemon has a configuration
}

void Controller::IkeConfigChanged(bool replaying) {
  if (replaying) {
    ike_dirty_ = true;
    return;
  }
  ike_dirty_ = false;
  if (ike_ == nullptr) return;
  std::vector<std::string> problems;
  auto cfg = BuildIkeConfig(isakmp_, ipsec_, keys_, model_, &problems);
  // Said once, not after every command while it stays so.
  if (problems != ike_problems_) {
    for (const auto& p : problems) log_->Add(4, "ISAK", "IKMP", "ERR", p);
    ike_problems_ = problems;
  }
  ike_->Configure(std::move(cfg));
}

uint32_t Controller::IsakmpDebugOf(const std::shared_ptr<ConsoleSink>& console) {
  if (console == nullptr) return 0;
  for (const auto& [w, flags] : isakmp_debug_) {
    if (w.lock() == console) return flags;
  }
  return 0;
}

std::optional<CommandResult> Controller::DispatchIsakmp(Session& s,
                                                        const lang::ParsedCommand& cmd,
                                                        bool replaying) {
  const Module m = Module::kIsakmp;
  const std::string object = cmd.object.value_or("");
  // A configuration change: log line, the key store when a secret changed, the
  // snapshot; flushed now or soon (a replay flushes once at its end).
  auto changed = [&](const absl::Status& st, const std::string& what) -> CommandResult {
    const bool secrets = isakmp_.TakeSecretsChanged();
    if (secrets) keys_dirty_ = true;
    if (!st.ok()) return Failure(m, st);
    log_->Add(3, "ISAK", "IKMP", "MSG", what);
    snapshot_dirty_ = snapshot_enabled_;
    if (!replaying) ChangedIpsec(secrets);
    return Done(m);
  };
  switch (cmd.spec->id) {
    // ---- module
    case CommandId::kEnableIsakmp:
    case CommandId::kDisableIsakmp: {
      const bool on = cmd.spec->id == CommandId::kEnableIsakmp;
      isakmp_.SetEnabled(on);
      log_->Add(3, "ISAK", "IKMP", "MSG", on ? "ISAKMP has been enabled" : "ISAKMP has been disabled");
      snapshot_dirty_ = snapshot_enabled_;
      if (!replaying) ChangedIpsec(false);
      return CommandResult{true, lang::Info(m, on ? Msg::kModuleEnabled : Msg::kModuleDisabled,
                                            "ISAKMP") + "\n"};
    }
    case CommandId::kShowIsakmp: {
      size_t sas = 0, exchanges = 0;
      if (ike_ != nullptr) {
        sas = ike_->IsakmpSas().size();
        exchanges = ike_->Exchanges().size();
      }
      return Text(FormatIsakmpModule(isakmp_, sas, exchanges, IsakmpDebugOf(s.console)));
    }

    // ---- policies
    case CommandId::kCreateIsakmpPolicy:
      return changed(isakmp_.CreatePolicy(object, TypedParams(cmd), replaying),
                     absl::StrCat("ISAKMP policy ", object, " created by ", s.user));
    case CommandId::kSetIsakmpPolicy:
      return changed(isakmp_.SetPolicy(object, TypedParams(cmd)),
                     absl::StrCat("ISAKMP policy ", object, " changed by ", s.user));
    case CommandId::kDestroyIsakmpPolicy:
      return changed(isakmp_.DestroyPolicy(object),
                     absl::StrCat("ISAKMP policy ", object, " destroyed by ", s.user));
    case CommandId::kShowIsakmpPolicy: {
      if (!cmd.object) return Text(FormatIsakmpPolicies(isakmp_));
      const IsakmpPolicy* p = isakmp_.FindPolicy(object);
      if (p == nullptr) {
        return Failure(m, absl::NotFoundError(absl::StrCat("ISAKMP policy ", object,
                                                           " does not exist")));
      }
      return Text(FormatIsakmpPolicyDetail(isakmp_, *p));
    }

    // ---- what the daemon holds
    case CommandId::kShowIsakmpSa: {
      std::vector<ike::IsakmpSaInfo> sas;
      if (ike_ != nullptr) sas = ike_->IsakmpSas();
      std::sort(sas.begin(), sas.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
      if (!cmd.object) return Text(FormatIsakmpSas(sas));
      uint32_t id = 0;
      (void)absl::SimpleAtoi(object, &id);
      for (const auto& sa : sas) {
        if (sa.id == id) return Text(FormatIsakmpSaDetail(sa));
      }
      return Failure(m, absl::NotFoundError(absl::StrCat("ISAKMP SA ", object, " does not exist")));
    }
    case CommandId::kShowIsakmpExchange: {
      std::vector<ike::ExchangeInfo> x;
      if (ike_ != nullptr) x = ike_->Exchanges();
      std::sort(x.begin(), x.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
      return Text(FormatIsakmpExchanges(x));
    }
    case CommandId::kShowIsakmpCounters: {
      ike::IsakmpCounters c;
      if (ike_ != nullptr) c = ike_->Counters();
      return Text(FormatIsakmpCounters(c, object));
    }
    case CommandId::kResetIsakmp:
      if (ike_ != nullptr) ike_->ResetSas();
      log_->Add(3, "ISAK", "IKMP", "MSG", absl::StrCat("ISAKMP SAs reset by ", s.user));
      return Done(m);
    case CommandId::kResetIsakmpCounters:
      if (ike_ != nullptr) ike_->ResetCounters();
      log_->Add(3, "ISAK", "IKMP", "MSG", absl::StrCat("ISAKMP counters reset by ", s.user));
      return Done(m);
    case CommandId::kEnableIsakmpDebug:
    case CommandId::kDisableIsakmpDebug: {
      const bool on = cmd.spec->id == CommandId::kEnableIsakmpDebug;
      const uint32_t bits = IsakmpDebugFlags(cmd.object.value_or("ALL"));
      // Debug output goes to the console that asked for it (the AR's behaviour); closed
      // consoles are forgotten here, and by the daemon when it next posts to them.
      isakmp_debug_.erase(std::remove_if(isakmp_debug_.begin(), isakmp_debug_.end(),
                                         [](const auto& e) { return e.first.expired(); }),
                          isakmp_debug_.end());
      if (s.console != nullptr) {
        const uint32_t flags = on ? (IsakmpDebugOf(s.console) | bits)
                                  : (IsakmpDebugOf(s.console) & ~bits);
        auto it = std::find_if(isakmp_debug_.begin(), isakmp_debug_.end(),
                               [&](const auto& e) { return e.first.lock() == s.console; });
        if (flags == 0) {
          if (it != isakmp_debug_.end()) isakmp_debug_.erase(it);
        } else if (it != isakmp_debug_.end()) {
          it->second = flags;
        } else {
          isakmp_debug_.emplace_back(s.console, flags);
        }
        if (ike_ != nullptr) ike_->SetDebug(flags, s.console);
      }
      return CommandResult{true, lang::Info(m, on ? Msg::kDebugEnabled : Msg::kDebugDisabled,
                                            "ISAKMP") + "\n"};
    }

    // ---- ENCO: a pre-shared key in use by an ISAKMP policy stays (the rest of DESTROY
    // ENCO KEY is the IPsec module's, controller_ipsec.cc).
    case CommandId::kDestroyEncoKey: {
      uint32_t id = 0;
      if (!absl::SimpleAtoi(object, &id)) return std::nullopt;
      if (auto user = isakmp_.KeyUsedBy(id)) {
        return Failure(cmd.spec->module, absl::FailedPreconditionError(absl::StrCat(
                                             "ENCO key ", id, " is in use by ", *user)));
      }
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

}  // namespace arsec::control
