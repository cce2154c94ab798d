// The IPsec (module 81) and ENCO (module 83) commands of the Controller, and the batched
// flushing of what they change (SPD, ENCO key store, running-config snapshot).
#include <openssl/crypto.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/lang/messages.h"
#include "control/controller.h"
#include "control/ipsec/ipsec_show.h"

namespace arsec::control {

using lang::CommandId;
using lang::Module;
using lang::Msg;

namespace {

CommandResult Failure(Module m, const absl::Status& s) {
  return FailureReply(m, s, Msg::kInternalError);
}

CommandResult Done(Module m, const std::string& note = "") {
  return {true, (note.empty() ? "" : note + ".\n") + lang::Success(m) + "\n"};
}

CommandResult Text(std::string body) { return {true, std::move(body)}; }

std::optional<uint32_t> ObjectId(const lang::ParsedCommand& cmd) {
  uint32_t id = 0;
  if (!cmd.object || !absl::SimpleAtoi(*cmd.object, &id)) return std::nullopt;
  return id;
}

std::optional<uint32_t> OptUint(const lang::ParsedCommand& cmd, const char* p) {
  if (!cmd.Has(p)) return std::nullopt;
  return static_cast<uint32_t>(cmd.GetUint(p));
}

bool Given(const lang::ParsedCommand& cmd, const char* p) {
  for (const auto& g : cmd.given) {
    if (g == p) return true;
  }
  return false;
}

// The parameters the user typed (defaults left out: they are the model's defaults too).
std::map<std::string, std::string> GivenParams(const lang::ParsedCommand& cmd) {
  std::map<std::string, std::string> out;
  for (const auto& g : cmd.given) {
    auto it = cmd.params.find(g);
    if (it != cmd.params.end()) out[g] = it->second;
  }
  return out;
}

}  // namespace

void Controller::DrainIpsecEvents() {
  for (const std::string& e : ipsec_.TakeEvents()) log_->Add(3, "IPSE", "IPSC", "MSG", e);
  // Every IPsec change passes here: the debug registry follows the SAs and names.
  RefreshDebugWatches();
}

// ---------------------------------------------------------------- debug and expiry events

void Controller::RefreshDebugWatches(uint32_t add_policy, std::shared_ptr<ConsoleSink> add) {
  absl::MutexLock lock(&debug_mu_);
  if (add != nullptr) {
    auto& consoles = debug_watches_[add_policy].consoles;
    const bool known = std::any_of(consoles.begin(), consoles.end(),
                                   [&](const auto& w) { return w.lock() == add; });
    if (!known) consoles.push_back(add);
  }
  for (auto it = debug_watches_.begin(); it != debug_watches_.end();) {
    const Policy* p = ipsec_.PolicyById(it->first);
    std::optional<DebugPolicy> d;
    if (p != nullptr && (p->debug & msg::kPolicyDebugPacket) != 0) {
      d = DescribePolicyForDebug(ipsec_, it->first);
    }
    auto& consoles = it->second.consoles;
    consoles.erase(std::remove_if(consoles.begin(), consoles.end(),
                                  [](const auto& w) { return w.expired(); }),
                   consoles.end());
    if (!d || consoles.empty()) {
      it = debug_watches_.erase(it);
      continue;
    }
    it->second.policy = std::move(*d);
    ++it;
  }
}

void Controller::OnIpsecDebug(const msg::IpsecDebugEvent& e) {
  std::vector<std::shared_ptr<ConsoleSink>> to;
  std::string text;
  {
    absl::MutexLock lock(&debug_mu_);
    auto it = debug_watches_.find(e.policy_id);
    if (it == debug_watches_.end()) return;   // nobody asked (or the session closed)
    auto& consoles = it->second.consoles;
    for (auto c = consoles.begin(); c != consoles.end();) {
      if (auto sp = c->lock()) {
        to.push_back(std::move(sp));
        ++c;
      } else {
        c = consoles.erase(c);
      }
    }
    if (to.empty()) {
      debug_watches_.erase(it);
      return;
    }
    text = FormatIpsecDebug(e, it->second.policy);
  }
  for (auto& c : to) c->Post(text);
}

size_t Controller::DebugConsoles(uint32_t policy_id) {
  absl::MutexLock lock(&debug_mu_);
  auto it = debug_watches_.find(policy_id);
  if (it == debug_watches_.end()) return 0;
  return std::count_if(it->second.consoles.begin(), it->second.consoles.end(),
                       [](const auto& w) { return !w.expired(); });
}

void Controller::OnSaExpiry(const msg::SaExpiryEvent& e) {
  absl::MutexLock lock(&mu_);
  const SaRecord* sa = ipsec_.NoteSaExpiry(e.sa_id, e.hard != 0);
  const Policy* p = ipsec_.PolicyById(sa ? sa->policy_id : e.policy_id);
  // "IPsec SA 2 (policy vpn) soft lifetime expired after 4096 kbytes / 120 s (outbound,
  // kbytes limit)"; the hard one adds ": SA removed" (the dataplane has dropped it).
  std::string line = absl::StrCat(
      "IPsec SA ", e.sa_id / 2, " (policy ", p ? p->name : absl::StrCat("id ", e.policy_id),
      ") ", e.hard ? "hard" : "soft", " lifetime expired after ", e.bytes / 1024, " kbytes / ",
      e.age_s, " s (", e.sa_id % 2 ? "inbound" : "outbound", ", ",
      e.by_bytes ? "kbytes" : "seconds", " limit)");
  if (sa == nullptr) {
    // Replaced or removed since (a reset, a new bundle): nothing in the model to mark.
    log_->Add(5, "IPSE", "IPSC", "MSG", line + ": SA no longer configured");
    return;
  }
  log_->Add(3, "IPSE", "IPSC", "MSG", e.hard ? line + ": SA removed" : line);
  // A negotiated SA: soft asks the IKE daemon to rekey its bundle, hard to drop it.
  if (!sa->manual && ike_ != nullptr && ike_link_ != nullptr) {
    if (const uint32_t h = ike_link_->BundleOfSa(sa->id); h != 0) ike_->SaExpired(h, e.hard != 0);
  }
}

std::optional<CommandResult> Controller::DispatchIpsec(Session& s, const lang::ParsedCommand& cmd,
                                                       bool replaying) {
  const Module m = cmd.spec->module;
  const std::string object = cmd.object.value_or("");
  // Every change: events into the log, then flush now or soon (not during a replay,
  // which flushes once at its end).
  auto changed = [&](const absl::Status& st, bool keys, const std::string& what,
                     const std::string& note = "") -> CommandResult {
    DrainIpsecEvents();
    if (!st.ok()) return Failure(m, st);
    if (!what.empty()) log_->Add(3, m == Module::kEnco ? "ENCO" : "IPSE",
                                 m == Module::kEnco ? "ENCO" : "IPSC", "MSG", what);
    if (keys) keys_dirty_ = true;
    snapshot_dirty_ = snapshot_enabled_;
    if (!replaying) ChangedIpsec(keys);
    return Done(m, note);
  };
  switch (cmd.spec->id) {
    // ---- module
    case CommandId::kEnableIpsec:
    case CommandId::kDisableIpsec: {
      const bool on = cmd.spec->id == CommandId::kEnableIpsec;
      absl::Status st = ipsec_.SetEnabled(on);
      DrainIpsecEvents();
      if (!st.ok()) return Failure(m, st);
      log_->Add(3, "IPSE", "IPSC", "MSG", on ? "IPSEC has been enabled" : "IPSEC has been disabled");
      snapshot_dirty_ = snapshot_enabled_;
      if (!replaying) ChangedIpsec(false);
      return CommandResult{true, lang::Info(m, on ? Msg::kModuleEnabled : Msg::kModuleDisabled,
                                            "IPSEC") + "\n"};
    }
    case CommandId::kSetIpsec:
      return changed(ipsec_.SetUdpPort(static_cast<uint32_t>(cmd.GetUint("UDPPORT"))), false,
                     absl::StrCat("ESP-over-UDP port set to ", cmd.GetUint("UDPPORT")));
    case CommandId::kShowIpsec:
      return Text(FormatIpsecModule(ipsec_));

    // ---- SA specifications
    case CommandId::kCreateIpsecSaSpec: {
      SaSpec spec;
      spec.id = ObjectId(cmd).value_or(UINT32_MAX);
      spec.keyman = cmd.Get("KEYMANAGEMENT") == "MANUAL" ? KeyManagement::kManual
                                                         : KeyManagement::kIsakmp;
      spec.protocol = lang::SaProtocolFromKeyword(cmd.Get("PROTOCOL")).value_or(SaProtocol::kEsp);
      spec.tunnel = cmd.Get("MODE") != "TRANSPORT";
      if (cmd.Has("ENCALG")) spec.encalg = EncAlgFromKeyword(cmd.Get("ENCALG"));
      if (cmd.Has("HASHALG")) spec.hashalg = HashAlgFromKeyword(cmd.Get("HASHALG"));
      if (cmd.Has("COMPALG")) spec.compalg = CompAlgFromKeyword(cmd.Get("COMPALG")).value_or(CompAlg::kNone);
      spec.enckey = OptUint(cmd, "ENCKEY");
      spec.hashkey = OptUint(cmd, "HASHKEY");
      spec.inspi = static_cast<uint32_t>(cmd.GetUint("INSPI"));
      spec.outspi = static_cast<uint32_t>(cmd.GetUint("OUTSPI"));
      if (Given(cmd, "ANTIREPLAYENABLED")) spec.antireplay = cmd.GetBool("ANTIREPLAYENABLED", true);
      if (Given(cmd, "REPLAYWINDOWSIZE")) spec.replay_window = OptUint(cmd, "REPLAYWINDOWSIZE");
      return changed(ipsec_.CreateSaSpec(spec), false,
                     absl::StrCat("SA specification ", spec.id, " created by ", s.user));
    }
    case CommandId::kDestroyIpsecSaSpec:
      return changed(ipsec_.DestroySaSpec(ObjectId(cmd).value_or(UINT32_MAX)), false,
                     absl::StrCat("SA specification ", object, " destroyed by ", s.user));
    case CommandId::kShowIpsecSaSpec: {
      auto id = ObjectId(cmd);
      if (id && !ipsec_.sa_specs().count(*id)) {
        return Failure(m, absl::NotFoundError(absl::StrCat("SA specification ", *id, " does not exist")));
      }
      return Text(FormatIpsecSaSpecs(ipsec_, id));
    }

    // ---- bundle specifications
    case CommandId::kCreateIpsecBundleSpec: {
      const uint32_t id = ObjectId(cmd).value_or(UINT32_MAX);
      return changed(ipsec_.CreateBundleSpec(
                         id,
                         cmd.Get("KEYMANAGEMENT") == "MANUAL" ? KeyManagement::kManual
                                                              : KeyManagement::kIsakmp,
                         cmd.Get("STRING"), OptUint(cmd, "EXPIRYSECONDS"),
                         OptUint(cmd, "EXPIRYKBYTES")),
                     false, absl::StrCat("Bundle specification ", id, " created by ", s.user));
    }
    case CommandId::kDestroyIpsecBundleSpec:
      return changed(ipsec_.DestroyBundleSpec(ObjectId(cmd).value_or(UINT32_MAX)), false,
                     absl::StrCat("Bundle specification ", object, " destroyed by ", s.user));
    case CommandId::kShowIpsecBundleSpec: {
      auto id = ObjectId(cmd);
      if (id && !ipsec_.bundle_specs().count(*id)) {
        return Failure(m, absl::NotFoundError(absl::StrCat("Bundle specification ", *id, " does not exist")));
      }
      return Text(FormatIpsecBundleSpecs(ipsec_, id));
    }

    // ---- policies
    case CommandId::kCreateIpsecPolicy: {
      absl::Status st = ipsec_.CreatePolicy(object, GivenParams(cmd), OptUint(cmd, "POSITION"));
      return changed(st, false, absl::StrCat("Policy ", object, " created by ", s.user),
                     ipsec_.note());
    }
    case CommandId::kSetIpsecPolicy: {
      absl::Status st = ipsec_.SetPolicy(object, GivenParams(cmd), OptUint(cmd, "POSITION"));
      return changed(st, false, absl::StrCat("Policy ", object, " changed by ", s.user),
                     ipsec_.note());
    }
    case CommandId::kDestroyIpsecPolicy:
      return changed(ipsec_.DestroyPolicy(object), false,
                     absl::StrCat("Policy ", object, " destroyed by ", s.user));
    case CommandId::kEnableIpsecPolicyDebug:
    case CommandId::kDisableIpsecPolicyDebug: {
      const bool on = cmd.spec->id == CommandId::kEnableIpsecPolicyDebug;
      absl::Status st = ipsec_.SetPolicyDebug(object, DebugBits(cmd.Get("DEBUG")), on);
      if (!st.ok()) return Failure(m, st);
      // PACKET dumps go to the console of the session that asked for them (the AR's
      // behaviour); DISABLE of PACKET stops them for every console.
      const Policy* p = ipsec_.FindPolicy(object);
      if (on && p != nullptr && (p->debug & msg::kPolicyDebugPacket) != 0 && s.console) {
        RefreshDebugWatches(p->id, s.console);
      } else {
        RefreshDebugWatches();
      }
      return CommandResult{true, lang::Info(m, on ? Msg::kDebugEnabled : Msg::kDebugDisabled,
                                            "IPSEC Policy") + "\n"};
    }
    case CommandId::kShowIpsecPolicy:
    case CommandId::kShowIpsecSa:
    case CommandId::kShowIpsecCounters:
      return ShowIpsec(cmd);

    case CommandId::kResetIpsecCounters: {
      absl::Status st = dp_->ResetCounters();
      if (!st.ok()) return Failure(m, st);
      log_->Add(3, "IPSE", "IPSC", "MSG", absl::StrCat("Counters reset by ", s.user));
      return Done(m);
    }
    case CommandId::kResetIpsecSa: {
      std::optional<uint32_t> id = ObjectId(cmd);
      absl::Status st = ipsec_.ResetSas(id);
      DrainIpsecEvents();
      if (!st.ok()) return Failure(m, st);
      if (!replaying) ChangedIpsec(false);
      return Done(m);
    }
    case CommandId::kPurgeIpsec:
      return changed(ipsec_.Purge(), false, absl::StrCat("IPsec configuration purged by ", s.user));

    // ---- ENCO
    case CommandId::kCreateEncoKey: {
      const uint32_t id = ObjectId(cmd).value_or(UINT32_MAX);
      auto type = EncoKeyTypeFromKeyword(cmd.Get("TYPE"));
      if (!type) return Failure(m, absl::InvalidArgumentError("TYPE is not valid"));
      std::optional<std::string> value;
      if (cmd.Has("VALUE")) {
        // The parsed line is this command's own scratch copy: wipe its key bytes after use.
        auto& v = const_cast<std::string&>(cmd.params.at("VALUE"));
        value = v;
        OPENSSL_cleanse(v.data(), v.size());
      }
      if (replaying && keys_.Find(id)) {
        // A script that creates a key the key store already holds (a hand-written boot
        // config): the same key again is a no-op, a different one is an error.
        EncoKeyStore scratch;
        absl::Status st = scratch.Create(id, *type, std::move(value), cmd.Has("RANDOM"),
                                         OptUint(cmd, "LENGTH"), cmd.Get("DESCRIPTION"));
        if (!st.ok()) return Failure(m, st);
        const EncoKey* have = keys_.Find(id);
        if (cmd.Has("RANDOM") ||
            (have->type == *type && have->value == scratch.Find(id)->value)) {
          return Done(m);
        }
        return Failure(m, absl::AlreadyExistsError(absl::StrCat(
                              "ENCO key ", id, " already exists with a different value")));
      }
      absl::Status st = keys_.Create(id, *type, std::move(value), cmd.Has("RANDOM"),
                                     OptUint(cmd, "LENGTH"), cmd.Get("DESCRIPTION"));
      if (!st.ok()) return Failure(m, st);
      return changed(st, true,
                     absl::StrCat("ENCO key ", id, " (", EncoKeyTypeName(*type), ", ",
                                  keys_.Find(id)->value.size(), " bytes) created by ", s.user));
    }
    case CommandId::kDestroyEncoKey: {
      const uint32_t id = ObjectId(cmd).value_or(UINT32_MAX);
      if (auto user = ipsec_.KeyUsedBy(id)) {
        return Failure(m, absl::FailedPreconditionError(
                              absl::StrCat("ENCO key ", id, " is in use by ", *user)));
      }
      return changed(keys_.Destroy(id), true,
                     absl::StrCat("ENCO key ", id, " destroyed by ", s.user));
    }
    case CommandId::kShowEncoKey: {
      auto id = ObjectId(cmd);
      if (!id) return Text(FormatEncoKeys(keys_, ipsec_));
      const EncoKey* k = keys_.Find(*id);
      if (!k) {
        return Failure(m, absl::NotFoundError(absl::StrCat("ENCO key ", *id, " does not exist")));
      }
      if (s.privilege < lang::Privilege::kManager) {
        return CommandResult{false, lang::Error(Module::kLang, Msg::kInsufficientPrivilege) + "\n"};
      }
      log_->Add(3, "ENCO", "ENCO", "MSG", absl::StrCat("Value of ENCO key ", *id, " shown to ", s.user));
      return Text(EncoKeyStore::ValueText(*k));
    }
    case CommandId::kSetEncoSw:
      // Software LZS channels are sized by the dataplane itself; accepted for AR scripts.
      return Done(m);
    default:
      return std::nullopt;
  }
}

CommandResult Controller::ShowIpsec(const lang::ParsedCommand& cmd) {
  const Module m = cmd.spec->module;
  // What is shown must be what the dataplane runs.
  if (ipsec_.spd_dirty() || flush_due_) {
    if (absl::Status st = FlushPendingLocked(); !st.ok()) {
      log_->Add(4, "IPSE", "IPSC", "ERR", std::string(st.message()));
    }
  }
  const std::string object = cmd.object.value_or("");
  switch (cmd.spec->id) {
    case CommandId::kShowIpsecPolicy: {
      const Policy* only = nullptr;
      if (cmd.object) {
        only = ipsec_.FindPolicy(object);
        if (!only) return Failure(m, absl::NotFoundError(absl::StrCat("Policy ", object, " does not exist")));
      }
      if (cmd.Has("COUNTERS") || cmd.Has("SABUNDLE")) {
        auto c = dp_->ReadIpsecCounters(DataplaneSaIds(ipsec_), PolicyIds(ipsec_));
        if (!c.ok()) return Failure(m, c.status());
        return Text(cmd.Has("COUNTERS") ? FormatIpsecPolicyCounters(ipsec_, only, *c)
                                        : FormatIpsecPolicySaBundles(ipsec_, only, *c));
      }
      return Text(only ? FormatIpsecPolicyDetail(ipsec_, *only) : FormatIpsecPolicies(ipsec_));
    }
    case CommandId::kShowIpsecSa: {
      std::optional<uint32_t> id = ObjectId(cmd);
      if (id && !ipsec_.sas().count(*id)) {
        return Failure(m, absl::NotFoundError(absl::StrCat("SA ", *id, " does not exist")));
      }
      auto c = dp_->ReadIpsecCounters(DataplaneSaIds(ipsec_), {});
      if (!c.ok()) return Failure(m, c.status());
      if (cmd.Has("COUNTERS")) return Text(FormatIpsecSaCounters(ipsec_, id, *c));
      if (id) return Text(FormatIpsecSaDetail(ipsec_, ipsec_.sas().at(*id), *c));
      return Text(FormatIpsecSas(ipsec_, *c));
    }
    case CommandId::kShowIpsecCounters: {
      auto stats = dp_->ReadStats();
      if (!stats.ok()) return Failure(m, stats.status());
      return Text(FormatIpsecCounters(stats->stats, object));
    }
    default:
      break;
  }
  return Failure(m, absl::InvalidArgumentError("not a SHOW IPSEC command"));
}

// ---------------------------------------------------------------- batched flushing

void Controller::ChangedIpsec(bool keys_changed) {
  if (keys_changed) keys_dirty_ = true;
  const absl::Duration gap = std::max(opts_.flush_interval, 4 * last_flush_cost_);
  const absl::Time now = absl::Now();
  if (now - last_flush_ >= gap) {
    if (absl::Status st = FlushPendingLocked(); !st.ok()) {
      log_->Add(4, "IPSE", "IPSC", "ERR", std::string(st.message()));
    }
    return;
  }
  if (!flush_due_) {
    flush_due_ = last_flush_ + gap;
    flush_cv_.Signal();
  }
}

absl::Status Controller::FlushPendingLocked() {
  const absl::Time t0 = absl::Now();
  absl::Status first;
  if (ipsec_.spd_dirty()) first = ipsec_.FlushSpd();
  if (keys_dirty_) {
    absl::Status s = SaveKeyStore();
    if (s.ok()) {
      keys_dirty_ = false;
    } else if (first.ok()) {
      first = s;
    }
  }
  if (snapshot_dirty_) {
    SaveSnapshot();
    snapshot_dirty_ = false;
  }
  flush_due_.reset();
  last_flush_ = absl::Now();
  last_flush_cost_ = last_flush_ - t0;
  return first;
}

absl::Status Controller::FlushPending() {
  absl::MutexLock lock(&mu_);
  return FlushPendingLocked();
}

void Controller::FlusherLoop() {
  absl::MutexLock lock(&mu_);
  while (!stop_) {
    if (!flush_due_) {
      flush_cv_.Wait(&mu_);
      continue;
    }
    if (absl::Now() < *flush_due_) {
      flush_cv_.WaitWithDeadline(&mu_, *flush_due_);
      continue;
    }
    if (absl::Status st = FlushPendingLocked(); !st.ok()) {
      log_->Add(4, "IPSE", "IPSC", "ERR", std::string(st.message()));
    }
  }
}

absl::Status Controller::SaveKeyStore() {
  if (absl::Status s = MakeDirs(DirName(key_store_path_), 0700); !s.ok()) return s;
  std::string text = keys_.Serialize();
  absl::Status s = WriteFileAtomic(key_store_path_, text, 0600);
  OPENSSL_cleanse(text.data(), text.size());
  if (!s.ok()) {
    return absl::InternalError(absl::StrCat("ENCO key store not written: ", s.message()));
  }
  return absl::OkStatus();
}

void Controller::LoadKeyStore() {
  if (!FileExists(key_store_path_)) return;
  auto text = ReadFile(key_store_path_);
  if (!text.ok()) {
    log_->Add(4, "ENCO", "ENCO", "ERR", absl::StrCat("ENCO key store: ", text.status().message()));
    return;
  }
  absl::Status s = keys_.Load(*text);
  OPENSSL_cleanse(text->data(), text->size());
  if (!s.ok()) {
    log_->Add(4, "ENCO", "ENCO", "ERR",
              absl::StrCat("ENCO key store ", key_store_path_, " not loaded: ", s.message()));
    return;
  }
  log_->Add(3, "ENCO", "ENCO", "MSG",
            absl::StrCat("ENCO key store ", key_store_path_, ": ", keys_.keys().size(),
                         " keys loaded"));
}

}  // namespace arsec::control
