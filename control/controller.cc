// Command handlers, privilege checks, replay and the start-up reconcile.
#include "control/controller.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "cli/lang/messages.h"
#include "control/show_format.h"

namespace arsec::control {

using lang::CommandId;
using lang::Module;
using lang::Msg;

absl::string_view PromptFor(lang::Privilege p) {
  switch (p) {
    case lang::Privilege::kUser: return "User";
    case lang::Privilege::kManager: return "Manager";
    case lang::Privilege::kSecurityOfficer: return "SecOff";
  }
  return "User";
}

CommandResult FailureReply(Module m, const absl::Status& s, Msg internal) {
  // The language's own rules, checked by a model on merged parameters, come as whole
  // reply lines.
  if (absl::StartsWith(s.message(), "Error (")) return {false, std::string(s.message()) + "\n"};
  Msg msg = Msg::kInvalidValue;
  switch (s.code()) {
    case absl::StatusCode::kNotFound: msg = Msg::kNotFound; break;
    case absl::StatusCode::kAlreadyExists: msg = Msg::kAlreadyExists; break;
    case absl::StatusCode::kFailedPrecondition: msg = Msg::kInUse; break;
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kUnavailable: msg = Msg::kDataplaneTimeout; break;
    case absl::StatusCode::kResourceExhausted: msg = Msg::kTableFull; break;
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kDataLoss: msg = internal; break;
    default: break;
  }
  return {false, lang::ErrorLine(lang::MessageCode(true, m, msg), std::string(s.message())) + "\n"};
}

namespace {

// The model's statuses carry the reason; the code says which kind of failure it was.
// Configuration commands report internal failures as file errors (saving is what fails).
CommandResult Fail(Module m, const absl::Status& s) { return FailureReply(m, s, Msg::kFileError); }

CommandResult Ok(Module m, std::string body = "") {
  return {true, body + lang::Success(m) + "\n"};
}

CommandResult Shown(std::string body) { return {true, std::move(body)}; }

lang::Privilege PrivilegeFromKeyword(const std::string& k) {
  if (k == "MANAGER") return lang::Privilege::kManager;
  if (k == "SECURITYOFFICER") return lang::Privilege::kSecurityOfficer;
  return lang::Privilege::kUser;
}

bool IsChange(CommandId id) {
  switch (id) {
    case CommandId::kAddIpInterface:
    case CommandId::kDeleteIpInterface:
    case CommandId::kAddIpRoute:
    case CommandId::kDeleteIpRoute:
    case CommandId::kAddIpArp:
    case CommandId::kDeleteIpArp:
    case CommandId::kAddUser:
    case CommandId::kDeleteUser:
    case CommandId::kSetUser:
    case CommandId::kEnableIp: return true;
    default: return false;
  }
}

// Changes the IKE daemon's configuration is made from (Controller::SetIkeService).
bool ConcernsIke(CommandId id) {
  switch (id) {
    case CommandId::kEnableIsakmp:
    case CommandId::kDisableIsakmp:
    case CommandId::kCreateIsakmpPolicy:
    case CommandId::kSetIsakmpPolicy:
    case CommandId::kDestroyIsakmpPolicy:
    case CommandId::kEnableIpsec:
    case CommandId::kDisableIpsec:
    case CommandId::kSetIpsec:
    case CommandId::kCreateIpsecPolicy:
    case CommandId::kSetIpsecPolicy:
    case CommandId::kDestroyIpsecPolicy:
    case CommandId::kCreateIpsecSaSpec:
    case CommandId::kDestroyIpsecSaSpec:
    case CommandId::kCreateIpsecBundleSpec:
    case CommandId::kDestroyIpsecBundleSpec:
    case CommandId::kPurgeIpsec:
    case CommandId::kCreateEncoKey:
    case CommandId::kDestroyEncoKey: return true;
    default: return IsChange(id);   // IP addresses and routes, users
  }
}

}  // namespace

Controller::Controller(DataplaneClient* dp, LogBuffer* log, ControllerOptions opts)
    : dp_(dp),
      log_(log),
      opts_(std::move(opts)),
      store_(opts_.config_dir),
      model_(dp),
      ipsec_(dp, &model_, &keys_),
      isakmp_(&keys_, opts_.config_dir),
      key_store_path_(opts_.key_store_path.empty() ? opts_.config_dir + "/enco.keys"
                                                   : opts_.key_store_path) {
  flusher_ = std::thread([this] { FlusherLoop(); });
}

Controller::~Controller() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    flush_cv_.Signal();
  }
  flusher_.join();
  // Files only: the dataplane client may already be gone (main.cc flushes the SPD with
  // FlushPending() before it detaches from EAL).
  absl::MutexLock lock(&mu_);
  if (keys_dirty_ && SaveKeyStore().ok()) keys_dirty_ = false;
  if (snapshot_dirty_) SaveSnapshot();
}

std::string Controller::BootPath() const {
  if (!opts_.boot_override.empty()) return opts_.boot_override;
  std::string chosen = store_.BootName();
  if (absl::EqualsIgnoreCase(chosen, "NONE")) return "";
  if (chosen.empty()) return opts_.default_boot;
  auto path = store_.Resolve(chosen);
  return path.ok() ? *path : "";
}

absl::Status Controller::Start() {
  auto hello = dp_->Hello();
  if (!hello.ok()) return hello.status();
  auto ports = dp_->DumpPorts();
  if (!ports.ok()) return ports.status();

  std::string script, source;
  if (hello->control_gen > 0 && !opts_.snapshot_path.empty() &&
      FileExists(opts_.snapshot_path)) {
    // The dataplane outlived a previous control process: the running config (saved or
    // not) is what it forwards with, so that is what this process re-asserts.
    auto text = ReadFile(opts_.snapshot_path);
    if (text.ok()) {
      script = *text;
      source = opts_.snapshot_path;
      replayed_from_ = "running-config snapshot";
    }
  }
  if (source.empty()) {
    const std::string boot = BootPath();
    if (!boot.empty() && FileExists(boot)) {
      auto text = ReadFile(boot);
      if (!text.ok()) return text.status();
      script = *text;
      source = boot;
      replayed_from_ = "boot config";
    } else {
      replayed_from_ = "none";
      log_->Add(3, "CONF", "CONF", "MSG",
                boot.empty() ? std::string("No boot configuration set: starting empty")
                             : absl::StrCat("Boot configuration ", boot,
                                            " does not exist: starting empty"));
    }
  }

  {
    absl::MutexLock lock(&mu_);
    hello_ = *hello;
    model_.SetPorts(*ports);
    LoadKeyStore();   // before the replay: SA specifications name keys
  }
  log_->Add(3, "SYST", "REST", "MSG",
            absl::StrFormat("Attached to dataplane pid %u (%u workers, %u ports, control "
                            "generation %u)",
                            hello->dp_pid, hello->n_workers, ports->size(), hello->control_gen));

  if (FileExists(store_.LegacyUsersPath())) {
    log_->Add(4, "USER", "USER", "WARN",
              absl::StrCat(store_.LegacyUsersPath(), " is no longer read: users are saved by "
                           "CREATE CONFIG (ADD USER ... SECRET=); remove the file"));
  }
  if (absl::Status s = dp_->SyncBegin(); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("SyncBegin: ", s.message()));
  }
  // Negotiated SAs of the previous process are not in any script (their keys were never
  // saved): what the dataplane holds is read before the replay, their ids are set aside,
  // and after it those whose policy is still there are adopted instead of swept.
  std::vector<msg::SaDumpEntry> held;
  if (hello->control_gen > 0) {
    auto dump = dp_->DumpSas();
    if (dump.ok()) {
      held = std::move(*dump);
      absl::MutexLock lock(&mu_);
      ipsec_.ReserveForAdoption(held);
    } else {
      log_->Add(4, "IPSE", "IPSC", "ERR",
                absl::StrCat("The dataplane's SAs could not be read (negotiated SAs are "
                             "renegotiated): ", dump.status().message()));
    }
  }
  if (!source.empty()) {
    ReplayReport r = Replay(script, source);
    log_->Add(r.failed ? 4 : 3, "CONF", "CONF", r.failed ? "ERR" : "MSG",
              absl::StrCat("Replayed ", replayed_from_, " ", source, ": ", r.commands,
                           " commands, ", r.failed, " failed"));
  }
  {
    // Whatever the script said (or did not say), the dataplane now gets this process's
    // IPsec module state and SPD, an empty one included.
    // A refusal is logged, not fatal: forwarding without IPsec beats no control at all.
    absl::MutexLock lock(&mu_);
    if (absl::Status s = ipsec_.AssertGlobal(); !s.ok()) {
      log_->Add(2, "IPSE", "IPSC", "ERR",
                absl::StrCat("The dataplane refused the IPsec module state: ", s.message()));
    }
    if (!held.empty()) AdoptHeldSas(held);
    ipsec_.MarkSpdDirty();
    if (absl::Status s = ipsec_.FlushSpd(); !s.ok()) {
      log_->Add(2, "IPSE", "IPSC", "ERR", std::string(s.message()));
    }
  }
  if (absl::Status s = dp_->SyncEnd(); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("SyncEnd: ", s.message()));
  }
  absl::MutexLock lock(&mu_);
  snapshot_enabled_ = !opts_.snapshot_path.empty();
  SaveSnapshot();
  return absl::OkStatus();
}

absl::StatusOr<lang::Privilege> Controller::Login(absl::string_view user,
                                                  absl::string_view password) {
  absl::MutexLock lock(&mu_);
  auto p = model_.Authenticate(user, password);
  // The name is logged only when it exists, so a password typed into the user field does
  // not end up in the log.
  const bool known = model_.FindUser(user) != nullptr;
  log_->Add(p.ok() ? 3 : 4, "USER", "USER", p.ok() ? "MSG" : "FAIL",
            p.ok() ? absl::StrCat("Login by ", user, " (", PrivilegeName(*p), ")")
                   : absl::StrCat("Login failed for ", known ? std::string(user)
                                                             : std::string("an unknown user")));
  return p;
}

CommandResult Controller::Execute(Session& session, absl::string_view line) {
  absl::MutexLock lock(&mu_);
  return ExecuteLocked(session, line, false);
}

CommandResult Controller::ExecuteLocked(Session& s, absl::string_view line, bool replaying) {
  auto parsed = lang::Parse(std::string_view(line.data(), line.size()));
  if (!parsed.ok()) return {false, std::string(parsed.status().message()) + "\n"};
  if (!parsed->has_value()) return {true, ""};
  const lang::ParsedCommand& cmd = **parsed;
  const bool is_show = !cmd.spec->words.empty() && cmd.spec->words[0] == "SHOW";
  const bool session_cmd = cmd.spec->id == CommandId::kLogoff ||
                           cmd.spec->id == CommandId::kHelp || cmd.spec->id == CommandId::kLogin;
  if (s.privilege < cmd.spec->privilege ||
      (s.privilege == lang::Privilege::kUser && !is_show && !session_cmd)) {
    return {false, lang::Error(Module::kLang, Msg::kInsufficientPrivilege) + "\n"};
  }
  CommandResult r = Dispatch(s, cmd, replaying);
  if (r.ok && IsChange(cmd.spec->id)) {
    const CommandId id = cmd.spec->id;
    if (id == CommandId::kAddIpInterface || id == CommandId::kDeleteIpInterface ||
        id == CommandId::kAddIpRoute || id == CommandId::kDeleteIpRoute) {
      // Tunnel sources follow the interface addresses and routes.
      if (absl::Status st = ipsec_.Resync(); !st.ok()) {
        log_->Add(4, "IPSE", "IPSC", "ERR", absl::StrCat("IPsec resync: ", st.message()));
      }
      DrainIpsecEvents();
      if (ipsec_.spd_dirty() && !replaying) ChangedIpsec(false);
    }
    if (!replaying) SaveSnapshot();
  }
  if (r.ok && ConcernsIke(cmd.spec->id)) IkeConfigChanged(replaying);
  return r;
}

ReplayReport Controller::Replay(absl::string_view text, absl::string_view source) {
  ReplayReport rep;
  Session system{"(boot)", lang::Privilege::kSecurityOfficer, true};
  absl::MutexLock lock(&mu_);
  int lineno = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    absl::string_view trimmed = absl::StripAsciiWhitespace(line);
    if (trimmed.empty() || trimmed.front() == '#') continue;
    ++rep.commands;
    CommandResult r = ExecuteLocked(system, line, true);
    if (r.ok) continue;
    ++rep.failed;
    std::string first = r.output.substr(0, r.output.find('\n'));
    std::string where = absl::StrCat(source, ":", lineno, ": ", first);
    rep.errors.push_back(where);
    log_->Add(4, "CONF", "CONF", "ERR", where);
  }
  if (absl::Status s = FlushPendingLocked(); !s.ok()) {
    log_->Add(4, "CONF", "CONF", "ERR", absl::StrCat("After replay of ", source, ": ", s.message()));
  }
  SaveSnapshot();
  if (ike_dirty_) IkeConfigChanged(false);
  return rep;
}

void Controller::SaveSnapshot() {
  if (!snapshot_enabled_) return;
  absl::Status s = MakeDirs(DirName(opts_.snapshot_path));
  // 0600: it holds the users' password hashes.
  if (s.ok()) s = WriteFileAtomic(opts_.snapshot_path, RunningConfigLocked(), 0600);
  if (!s.ok()) {
    log_->Add(4, "CONF", "CONF", "ERR",
              absl::StrCat("Running-config snapshot not written: ", s.message()));
  }
}

std::string Controller::RunningConfig() {
  absl::MutexLock lock(&mu_);
  return RunningConfigLocked();
}

std::string Controller::RunningConfigLocked() const {
  return absl::StrCat("# arsec running configuration\n", model_.Canonical(), ipsec_.Canonical(),
                      isakmp_.Canonical());
}

CommandResult Controller::Dispatch(Session& s, const lang::ParsedCommand& cmd, bool replaying) {
  // Replay runs the same handlers as a session; IPsec changes defer their flushing then.
  const Module m = cmd.spec->module;  // the table says which module answers
  const std::string object = cmd.object.value_or("");
  auto opt_ip = [&](const char* p) -> std::optional<uint32_t> {
    if (!cmd.Has(p)) return std::nullopt;
    return cmd.GetIpv4(p);
  };
  switch (cmd.spec->id) {
    case CommandId::kAddIpInterface: {
      const uint32_t addr = cmd.GetIpv4("IPADDRESS");
      auto st = model_.AddInterface(object, addr, opt_ip("MASK"));
      if (!st.ok()) return Fail(m, st);
      log_->Add(3, "IP", "CONF", "MSG",
                addr ? absl::StrCat("Address ", lang::FormatIpv4(addr), " added to ", object)
                     : absl::StrCat("Interface ", object, " added unnumbered"));
      return Ok(m);
    }
    case CommandId::kDeleteIpInterface: {
      auto st = model_.DeleteInterface(object, opt_ip("IPADDRESS"));
      if (!st.ok()) return Fail(m, st);
      log_->Add(3, "IP", "CONF", "MSG", absl::StrCat("Interface ", object, " deleted"));
      return Ok(m);
    }
    case CommandId::kAddIpRoute: {
      const uint32_t prefix = cmd.GetIpv4("ROUTE");
      auto route = lang::ParseIpv4(object);
      const uint32_t net = route ? *route : prefix;
      auto st = model_.AddRoute(net, opt_ip("MASK"), cmd.Get("INTERFACE"),
                                cmd.GetIpv4("NEXTHOP"),
                                static_cast<uint32_t>(cmd.GetUint("METRIC", 1)));
      if (!st.ok()) return Fail(m, st);
      log_->Add(3, "IP", "CONF", "MSG",
                absl::StrCat("Route to ", lang::FormatIpv4(net), " via ",
                             lang::FormatIpv4(cmd.GetIpv4("NEXTHOP")), " added"));
      return Ok(m);
    }
    case CommandId::kDeleteIpRoute: {
      auto route = lang::ParseIpv4(object);
      if (!route) {
        return Fail(m, absl::InvalidArgumentError("ROUTE is not a valid IP address"));
      }
      std::optional<std::string> ifname;
      if (cmd.Has("INTERFACE")) ifname = cmd.Get("INTERFACE");
      auto st = model_.DeleteRoute(*route, opt_ip("MASK"), ifname, opt_ip("NEXTHOP"));
      if (!st.ok()) return Fail(m, st);
      log_->Add(3, "IP", "CONF", "MSG", absl::StrCat("Route to ", lang::FormatIpv4(*route), " deleted"));
      return Ok(m);
    }
    case CommandId::kEnableIp:
      model_.EnableIp(cmd.Has("REMOTEASSIGN"));
      return Ok(m);
    case CommandId::kShowIpInterface:
      return Shown(FormatIpInterfaces(model_, object));
    case CommandId::kShowIpRoute:
      return Shown(FormatIpRoutes(model_));
    case CommandId::kShowIpArp: {
      auto arp = dp_->DumpArp();
      if (!arp.ok()) return Fail(m, arp.status());
      return Shown(FormatArp(*arp, model_.ports(), model_.static_arp()));
    }
    case CommandId::kAddIpArp: {
      const uint32_t ip = lang::ParseIpv4(object).value_or(0);
      auto mac = lang::ParseMac(cmd.Get("ETHERNET"));
      if (!mac) return Fail(m, absl::InvalidArgumentError("ETHERNET is not a valid address"));
      auto st = model_.AddStaticArp(ip, cmd.Get("INTERFACE"), *mac);
      if (!st.ok()) return Fail(m, st);
      log_->Add(3, "IP", "CONF", "MSG",
                absl::StrCat("Static ARP entry ", lang::FormatIpv4(ip), " ", cmd.Get("ETHERNET"),
                             " added on ", cmd.Get("INTERFACE")));
      return Ok(m);
    }
    case CommandId::kDeleteIpArp: {
      const uint32_t ip = lang::ParseIpv4(object).value_or(0);
      std::optional<std::string> ifname;
      if (cmd.Has("INTERFACE")) ifname = cmd.Get("INTERFACE");
      auto st = model_.DeleteStaticArp(ip, ifname);
      if (!st.ok()) return Fail(m, st);
      log_->Add(3, "IP", "CONF", "MSG",
                absl::StrCat("Static ARP entry ", lang::FormatIpv4(ip), " deleted"));
      return Ok(m);
    }
    case CommandId::kShowDataplane:
      return ShowDataplane(cmd);
    case CommandId::kResetDataplane: {
      auto st = dp_->ResetCounters();
      if (!st.ok()) return Fail(m, st);
      log_->Add(3, "DP", "CONF", "MSG", absl::StrCat("Counters reset by ", s.user));
      return Ok(m);
    }
    case CommandId::kAddUser: {
      const lang::Privilege priv = PrivilegeFromKeyword(cmd.Get("PRIVILEGE"));
      const bool login = cmd.GetBool("LOGIN", true);
      auto st = cmd.Has("SECRET")
                    ? model_.AddUserWithHash(object, cmd.Get("SECRET"), priv, login,
                                             cmd.Get("DESCRIPTION"))
                    : model_.AddUser(object, cmd.Get("PASSWORD"), priv, login,
                                     cmd.Get("DESCRIPTION"));
      if (!st.ok()) return Fail(m, st);
      log_->Add(3, "USER", "USER", "MSG", absl::StrCat("User ", object, " added by ", s.user));
      return Ok(m);
    }
    case CommandId::kDeleteUser: {
      auto st = model_.DeleteUser(object);
      if (!st.ok()) return Fail(m, st);
      log_->Add(3, "USER", "USER", "MSG", absl::StrCat("User ", object, " deleted by ", s.user));
      return Ok(m);
    }
    case CommandId::kSetUser: {
      std::optional<std::string> pw, desc, secret;
      std::optional<lang::Privilege> priv;
      std::optional<bool> login;
      if (cmd.Has("PASSWORD")) pw = cmd.Get("PASSWORD");
      if (cmd.Has("SECRET")) secret = cmd.Get("SECRET");
      if (cmd.Has("DESCRIPTION")) desc = cmd.Get("DESCRIPTION");
      if (cmd.Has("PRIVILEGE")) priv = PrivilegeFromKeyword(cmd.Get("PRIVILEGE"));
      if (cmd.Has("LOGIN")) login = cmd.GetBool("LOGIN");
      auto st = model_.SetUser(object, pw ? std::optional<absl::string_view>(*pw) : std::nullopt,
                               priv, login,
                               desc ? std::optional<absl::string_view>(*desc) : std::nullopt,
                               secret ? std::optional<absl::string_view>(*secret)
                                      : std::nullopt);
      if (!st.ok()) return Fail(m, st);
      log_->Add(3, "USER", "USER", "MSG", absl::StrCat("User ", object, " changed by ", s.user));
      return Ok(m);
    }
    case CommandId::kShowUser:
      return Shown(FormatUsers(model_.users(), object));
    case CommandId::kCreateConfig:
      return CreateConfig(cmd);
    case CommandId::kSetConfig:
      return SetConfig(cmd);
    case CommandId::kShowConfig:
      return ShowConfig(cmd);
    case CommandId::kShowLog:
      return Shown(log_->Format(cmd.Get("MODULE"), cmd.Get("TYPE")));
    case CommandId::kLogin:
      return {false, lang::ErrorLine(lang::MessageCode(true, Module::kUser, Msg::kNotSupported),
                                     "LOGIN inside a session is not supported; log off and "
                                     "connect again as the other user") + "\n"};
    case CommandId::kLogoff:
      return {true, lang::InfoLine(lang::MessageCode(false, Module::kUser,
                                                     Msg::kOperationSuccessful),
                                   absl::StrCat("User ", s.user, " logged off")) + "\n",
              true};
    case CommandId::kHelp:
      return Help();
    default:
      if (auto r = DispatchIsakmp(s, cmd, replaying)) return *r;
      if (auto r = DispatchIpsec(s, cmd, replaying)) return *r;
      break;  // declared in the language, handled by a later release (system)
  }
  return {false, lang::Error(Module::kLang, Msg::kNotSupported, lang::CommandName(*cmd.spec)) + "\n"};
}

CommandResult Controller::ShowDataplane(const lang::ParsedCommand& cmd) {
  const Module m = Module::kDataplane;
  if (cmd.Has("PORTS")) {
    auto ports = dp_->DumpPorts();
    if (!ports.ok()) return Fail(m, ports.status());
    return Shown(FormatPorts(*ports));
  }
  auto stats = dp_->ReadStats();
  if (!stats.ok()) return Fail(m, stats.status());
  if (cmd.Has("COUNTERS")) return Shown(FormatCounters(stats->stats));
  if (cmd.Has("RUNTIME")) return Shown(FormatRuntime(stats->stats));
  return Shown(FormatDataplaneSummary(hello_, stats->stats, model_.ports().size()));
}

CommandResult Controller::CreateConfig(const lang::ParsedCommand& cmd) {
  const Module m = Module::kConfig;
  const std::string name = cmd.object.value_or("");
  auto path = store_.Resolve(name);
  if (!path.ok()) return Fail(m, path.status());
  absl::Status st = MakeDirs(DirName(*path));
  const std::string text = absl::StrCat(
      "# arsec configuration, written by CREATE CONFIG on ",
      absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::Now(), absl::LocalTimeZone()), "\n",
      model_.Canonical(), ipsec_.Canonical(), isakmp_.Canonical());
  // 0600: the file holds the users' password hashes (never their cleartext). ENCO keys
  // are not in it: they live in the key store, which is brought up to date here too.
  if (st.ok()) st = WriteFileAtomic(*path, text, 0600);
  if (st.ok() && keys_dirty_) st = SaveKeyStore();
  if (!st.ok()) return Fail(m, absl::InternalError(st.message()));
  log_->Add(3, "CONF", "CONF", "MSG", absl::StrCat("Configuration saved to ", *path));
  return {true, lang::InfoLine(lang::MessageCode(false, m, Msg::kOperationSuccessful),
                               absl::StrCat("Configuration saved to ", name)) + "\n"};
}

CommandResult Controller::SetConfig(const lang::ParsedCommand& cmd) {
  const Module m = Module::kConfig;
  const std::string name = cmd.object.value_or("");
  if (absl::EqualsIgnoreCase(name, "NONE")) {
    if (auto st = store_.SetBootName("NONE"); !st.ok()) return Fail(m, absl::InternalError(st.message()));
    log_->Add(3, "CONF", "CONF", "MSG", "Boot configuration set to none");
    return Ok(m);
  }
  auto path = store_.Resolve(name);
  if (!path.ok()) return Fail(m, path.status());
  if (!FileExists(*path)) {
    return Fail(m, absl::NotFoundError(absl::StrCat("File ", name, " does not exist")));
  }
  if (auto st = store_.SetBootName(name); !st.ok()) return Fail(m, absl::InternalError(st.message()));
  log_->Add(3, "CONF", "CONF", "MSG", absl::StrCat("Boot configuration set to ", name));
  std::string warn;
  if (!opts_.boot_override.empty()) {
    warn = absl::StrCat("Note: --boot-config ", opts_.boot_override,
                        " was given on the command line and takes precedence.\n");
  }
  return Ok(m, warn);
}

CommandResult Controller::ShowConfig(const lang::ParsedCommand& cmd) {
  if (!cmd.Has("DYNAMIC")) {
    const std::string boot = BootPath();
    std::string out;
    absl::StrAppend(&out, "Boot configuration file: ",
                    boot.empty() ? std::string("none")
                                 : absl::StrCat(boot, FileExists(boot) ? " (exists)" : " (does not exist)"),
                    "\n");
    absl::StrAppend(&out, "Configuration directory: ", store_.dir(), "\n");
    absl::StrAppend(&out, "Replayed at start: ", replayed_from_.empty() ? "none" : replayed_from_, "\n");
    return Shown(out);
  }
  const std::string module = cmd.Get("DYNAMIC");
  if (module.empty() || module == "IP") return Shown(RunningConfigLocked());
  if (module == "IPSEC") {
    std::string ipsec = ipsec_.Canonical();
    return Shown(ipsec.empty() ? "# IPsec: factory settings (module disabled, no policies)\n" : ipsec);
  }
  if (module == "ISAKMP") {
    std::string isakmp = isakmp_.Canonical();
    return Shown(isakmp.empty() ? "# ISAKMP: factory settings (module disabled, no policies)\n"
                                : isakmp);
  }
  if (module == "ENCO") {
    std::string out = "# ENCO keys are kept in the key store, never in scripts:\n";
    for (const auto& [id, k] : keys_.keys()) {
      absl::StrAppend(&out, "#   KEY=", id, " TYPE=", EncoKeyTypeName(k.type), " (", k.value.size(),
                      " bytes)\n");
    }
    return Shown(out);
  }
  if (module == "USER") {
    std::string users = model_.CanonicalUsers();
    return Shown(users.empty() ? "# users: only the factory user manager, unchanged\n" : users);
  }
  return Shown(absl::StrCat("# no ", module, " configuration\n"));
}

CommandResult Controller::Help() const {
  std::string out = "Commands:\n";
  for (const auto& spec : lang::CommandTable()) {
    std::string syntax = lang::CommandName(spec);
    if (spec.object_value == lang::CommandSpec::ObjectValue::kRequired) {
      absl::StrAppend(&syntax, "=", lang::ValueSyntax(spec.object));
    } else if (spec.object_value == lang::CommandSpec::ObjectValue::kOptional) {
      absl::StrAppend(&syntax, "[=", lang::ValueSyntax(spec.object), "]");
    }
    absl::StrAppend(&out, absl::StrFormat("  %-36s %s\n", syntax, spec.help));
    if (!spec.params.empty()) {
      std::string params;
      for (const auto& p : spec.params) {
        std::string one(p.name);
        if (p.type != lang::ValueType::kNone) {
          absl::StrAppend(&one, p.value_optional ? "[=" : "=", lang::ValueSyntax(p),
                          p.value_optional ? "]" : "");
        }
        absl::StrAppend(&params, " ", p.required ? one : absl::StrCat("[", one, "]"));
      }
      absl::StrAppend(&out, "     ", params, "\n");
    }
  }
  return Shown(out);
}

}  // namespace arsec::control
