// Every command of the arsec language, as data (types in command_spec.h).
//
// Adding a command: append its CommandId, add one entry here, bind a handler in
// arsec-control. Parsing, completion, `?` help and docs/command-reference.md follow
// from this table. Ranges and defaults follow the AR410 where it documents them.
#include "cli/lang/command_spec.h"

#include "cli/lang/bundle_string.h"
#include "cli/lang/messages.h"
#include "cli/lang/parser.h"

namespace arsec::lang {
namespace {

using VT = ValueType;
using OV = CommandSpec::ObjectValue;

// The parameters several commands share, so their checks and help cannot drift apart.
ParamSpec Interface(bool required, std::string_view help) {
  return {.name = "INTERFACE", .type = VT::kInterface, .max = 15, .required = required,
          .help = help};
}
ParamSpec Address(std::string_view name, bool required, std::string_view help) {
  return {.name = name, .type = VT::kIpv4, .required = required, .help = help};
}
ParamSpec NaturalMask(std::string_view of, std::string_view help) {
  return {.name = "MASK", .type = VT::kMask, .help = help, .default_mask_of = of};
}
ParamSpec Flag(std::string_view name, std::string_view help) {
  return {.name = name, .type = VT::kNone, .help = help};
}
ParamSpec UserName() {
  return {.name = "USER", .type = VT::kName, .min = 1, .max = 64, .help = "user name"};
}
ParamSpec Password(bool required) {
  return {.name = "PASSWORD", .type = VT::kString, .min = 1, .max = 64, .required = required,
          .help = "the user's password (quote it if it holds blanks)", .secret = true};
}
// A stored password hash (control/config/password.h), so that CREATE CONFIG can save
// users without their cleartext. Its name must not start with PASS: the seed's PASS=
// short form of PASSWORD would become ambiguous.
ParamSpec Secret() {
  return {.name = "SECRET", .type = VT::kString, .min = 1, .max = 200,
          .help = "the password as a stored hash (pbkdf2-sha256$iterations$salt$hash), as "
                  "CREATE CONFIG writes it; instead of PASSWORD",
          .secret = true};
}
ParamSpec PrivilegeParam(std::string_view def) {
  return {.name = "PRIVILEGE", .type = VT::kKeyword,
          .keywords = {"USER", "MANAGER", "SECURITYOFFICER"}, .default_value = def,
          .help = "USER (SHOW only), MANAGER, or SECURITYOFFICER"};
}
ParamSpec LoginParam(std::string_view def) {
  return {.name = "LOGIN", .type = VT::kBool, .default_value = def,
          .help = "YES: may log in to the CLI; NO: exists only for XAUTH"};
}
ParamSpec Description() {
  return {.name = "DESCRIPTION", .type = VT::kString, .max = 63,
          .aliases = {"DESCRITION"},  // the AR's manuals misspell it; scripts use both
          .help = "free text (quoted if it holds blanks)"};
}
ParamSpec FileName(std::string_view help) {
  return {.name = "CONFIG", .type = VT::kName, .min = 1, .max = 64, .help = help};
}


// ---- IPsec / ENCO helpers ----

using Rule = ParamRule;
using RK = ParamRule::Kind;

ParamCond Given(std::string_view p) { return {.param = p}; }
ParamCond Is(std::string_view p, std::vector<std::string_view> v) { return {.param = p, .values = std::move(v)}; }
ParamCond IsNot(std::string_view p, std::vector<std::string_view> v) {
  return {.param = p, .values = std::move(v), .negate = true};
}
Rule Requires(std::vector<ParamCond> when, ParamCond then) {
  return {.kind = RK::kRequires, .when = std::move(when), .then = std::move(then)};
}
Rule Forbids(std::vector<ParamCond> when, ParamCond then) {
  return {.kind = RK::kForbids, .when = std::move(when), .then = std::move(then)};
}

ParamSpec PolicyName() {
  return {.name = "POLICY", .type = VT::kName, .min = 1, .max = 32,
          .help = "policy name (letters, digits, - _ .)"};
}
ParamSpec SpecId(std::string_view name, std::string_view help) {
  return {.name = name, .type = VT::kUint, .min = 0, .max = kMaxSaSpecId, .help = help};
}
ParamSpec KeyMan(bool required, std::string_view help) {
  return {.name = "KEYMANAGEMENT", .type = VT::kKeyword, .keywords = {"ISAKMP", "MANUAL"},
          .required = required, .help = help};
}
ParamSpec Bool(std::string_view name, std::string_view help) {
  return {.name = name, .type = VT::kBool, .help = help};
}
ParamSpec Port(std::string_view name, std::string_view help) {
  return {.name = name, .type = VT::kKeywordOrUint, .keywords = {"ANY"}, .min = 0, .max = 65535,
          .help = help};
}
ParamSpec EncoKeyId(std::string_view help) {
  return {.name = "KEY", .type = VT::kUint, .min = 0, .max = 65535, .help = help};
}

// The parameters of CREATE and SET IPSEC POLICY: the same list, only INTERFACE and
// ACTION are required when creating.
std::vector<ParamSpec> PolicyParams(bool create) {
  return {
      Interface(create, "interface the policy applies to (normally the WAN side)"),
      {.name = "ACTION", .type = VT::kKeyword, .keywords = {"DENY", "IPSEC", "PERMIT"},
       .required = create,
       .help = "DENY drops, PERMIT passes without IPsec, IPSEC applies the bundle"},
      {.name = "BUNDLESPECIFICATION", .type = VT::kUint, .min = 0, .max = kMaxSaSpecId,
       .help = "ACTION=IPSEC: the SA bundle specification to apply (the seed writes BUNDLE=)"},
      KeyMan(false, "ACTION=IPSEC: ISAKMP (default, negotiated SAs) or MANUAL (fixed keys)"),
      {.name = "PEERADDRESS", .type = VT::kKeywordOrIpv4, .keywords = {"ANY", "DYNAMIC"},
       .help = "ACTION=IPSEC: the peer's address; DYNAMIC (or ANY): whoever passed ISAKMP "
               "authentication (not with MANUAL)"},
      Address("LADDRESS", false, "local address selector (source when sending)"),
      {.name = "LMASK", .type = VT::kMask, .help = "mask of LADDRESS; default host mask"},
      {.name = "LNAME", .type = VT::kString, .min = 1, .max = 64,
       .help = "local system name (phase 2 ID), instead of LADDRESS"},
      Port("LPORT", "local port (with TRANSPORTPROTOCOL=TCP or UDP); ANY: every port"),
      Address("RADDRESS", false, "remote address selector (destination when sending)"),
      {.name = "RMASK", .type = VT::kMask, .help = "mask of RADDRESS; default host mask"},
      {.name = "RNAME", .type = VT::kString, .min = 1, .max = 64,
       .help = "remote system name (the peer's phase 2 ID), instead of RADDRESS"},
      Port("RPORT", "remote port (with TRANSPORTPROTOCOL=TCP or UDP); ANY: every port"),
      {.name = "TRANSPORTPROTOCOL", .type = VT::kKeywordOrUint,
       .keywords = {"ANY", "TCP", "UDP", "ICMP"},
       .keyword_aliases = {{"1", "ICMP"}, {"6", "TCP"}, {"17", "UDP"}},
       .min = 0, .max = 255, .help = "IP protocol selector: a name or a protocol number"},
      Bool("UDPTUNNEL", "ACTION=IPSEC: carry ESP over UDP (default FALSE)"),
      Bool("UDPHEARTBEAT", "ACTION=IPSEC: send a UDP heartbeat every 30 s (behind NAT)"),
      {.name = "UDPPORT", .type = VT::kUint, .min = 1, .max = 65535,
       .help = "ACTION=IPSEC: the peer's ESP-over-UDP port (default 2746)"},
      {.name = "DFBIT", .type = VT::kKeyword, .keywords = {"SET", "COPY", "CLEAR"},
       .help = "ACTION=IPSEC: DF bit of the tunnel header (default COPY)"},
      {.name = "POSITION", .type = VT::kUint, .min = 1, .max = 1000,
       .help = "place in the interface's policy order (default: last)"},
      {.name = "GROUP", .type = VT::kKeyword,
       .keywords = {"0", "1", "2", "5", "14", "15", "16", "19", "20", "21"},
       .help = "ACTION=IPSEC, ISAKMP: Diffie-Hellman group of quick-mode PFS"},
      Bool("USEPFSKEY", "ACTION=IPSEC, ISAKMP: perfect forward secrecy in quick mode"),
      {.name = "ISAKMPPOLICY", .type = VT::kName, .min = 1, .max = 32,
       .help = "ACTION=IPSEC, ISAKMP: negotiate with this ISAKMP policy"},
      {.name = "SRCINTERFACE", .type = VT::kInterface, .max = 15,
       .help = "ACTION=IPSEC: take the tunnel's source address from this interface"},
      Bool("RESPONDBADSPI", "ACTION=IPSEC: answer packets with an unknown SPI (INVALID-SPI)"),
      {.name = "ICMPTYPE", .type = VT::kUint, .min = 0, .max = 255,
       .help = "ICMP type selector (with TRANSPORTPROTOCOL=ICMP)"},
      {.name = "IPVERSION", .type = VT::kKeyword, .keywords = {"IPV4", "IPV6"},
       .help = "IP version of the selectors (default IPV4)"},
  };
}

std::vector<ParamRule> PolicyRules(bool create) {
  std::vector<ParamRule> r;
  for (std::string_view p : {"BUNDLESPECIFICATION", "KEYMANAGEMENT", "PEERADDRESS", "UDPTUNNEL",
                             "UDPHEARTBEAT", "UDPPORT", "DFBIT", "GROUP", "USEPFSKEY",
                             "ISAKMPPOLICY", "SRCINTERFACE", "RESPONDBADSPI"})
    r.push_back(Forbids({IsNot("ACTION", {"IPSEC"})}, Given(p)));
  if (create) {
    r.push_back(Requires({Is("ACTION", {"IPSEC"})}, Given("BUNDLESPECIFICATION")));
    r.push_back(Requires({Is("ACTION", {"IPSEC"})}, Given("PEERADDRESS")));
  }
  r.push_back(Forbids({Is("KEYMANAGEMENT", {"MANUAL"})}, Is("PEERADDRESS", {"DYNAMIC", "ANY"})));
  for (std::string_view p : {"ISAKMPPOLICY", "USEPFSKEY", "GROUP"})
    r.push_back(Forbids({Is("KEYMANAGEMENT", {"MANUAL"})}, Given(p)));
  r.push_back(Forbids({Is("USEPFSKEY", {"FALSE"})}, Given("GROUP")));
  for (std::string_view p : {"LPORT", "RPORT"}) {
    if (create) r.push_back(Requires({IsNot(p, {"ANY"})}, Given("TRANSPORTPROTOCOL")));
    r.push_back(Forbids({IsNot("TRANSPORTPROTOCOL", {"TCP", "UDP"})}, IsNot(p, {"ANY"})));
  }
  if (create) r.push_back(Requires({Given("ICMPTYPE")}, Given("TRANSPORTPROTOCOL")));
  r.push_back(Forbids({IsNot("TRANSPORTPROTOCOL", {"ICMP"})}, Given("ICMPTYPE")));
  if (create) {
    r.push_back(Requires({Given("LMASK")}, Given("LADDRESS")));
    r.push_back(Requires({Given("RMASK")}, Given("RADDRESS")));
    r.push_back(Requires({Is("UDPHEARTBEAT", {"TRUE"})}, Is("UDPTUNNEL", {"TRUE"})));
    r.push_back(Requires({Given("UDPPORT")}, Is("UDPTUNNEL", {"TRUE"})));
  }
  r.push_back(Forbids({Is("UDPTUNNEL", {"FALSE"})}, Is("UDPHEARTBEAT", {"TRUE"})));
  r.push_back(Forbids({Is("UDPTUNNEL", {"FALSE"})}, Given("UDPPORT")));
  return r;
}

std::vector<std::string_view> PolicyParamNames() {
  std::vector<std::string_view> out;
  for (const auto& p : PolicyParams(false)) out.push_back(p.name);
  return out;
}

const std::vector<std::string_view> kGcm = {"AES128GCM", "AES256GCM"};

std::vector<ParamRule> SaSpecRules() {
  std::vector<ParamRule> r = {
      // what each protocol takes
      Requires({Is("PROTOCOL", {"ESP"})}, Given("ENCALG")),
      Requires({Is("PROTOCOL", {"ESP"}), IsNot("ENCALG", kGcm)}, Given("HASHALG")),
      Requires({Is("PROTOCOL", {"AH"})}, Given("HASHALG")),
      Requires({Is("PROTOCOL", {"COMP"})}, Given("COMPALG")),
      Forbids({IsNot("PROTOCOL", {"ESP"})}, Given("ENCALG")),
      Forbids({IsNot("PROTOCOL", {"ESP"})}, Given("ENCKEY")),
      Forbids({IsNot("PROTOCOL", {"COMP"})}, Given("COMPALG")),
      Forbids({Is("PROTOCOL", {"COMP"})}, Given("HASHALG")),
      Forbids({Is("PROTOCOL", {"COMP"})}, Given("HASHKEY")),
      Forbids({Is("PROTOCOL", {"COMP"})}, Given("INSPI")),
      Forbids({Is("PROTOCOL", {"COMP"})}, Given("OUTSPI")),
      Forbids({Is("PROTOCOL", {"COMP"})}, Given("ANTIREPLAYENABLED")),
      Forbids({Is("PROTOCOL", {"COMP"})}, Given("REPLAYWINDOWSIZE")),
      // algorithms
      Forbids({Is("PROTOCOL", {"AH"})}, Is("HASHALG", {"NULL"})),
      Forbids({Is("PROTOCOL", {"ESP"}), Is("HASHALG", {"NULL"})}, Is("ENCALG", {"NULL"})),
      Forbids({Is("ENCALG", kGcm)}, IsNot("HASHALG", {"NULL"})),
      // keys and SPIs: MANUAL only, and then required
      Forbids({Is("KEYMANAGEMENT", {"ISAKMP"})}, Given("ENCKEY")),
      Forbids({Is("KEYMANAGEMENT", {"ISAKMP"})}, Given("HASHKEY")),
      Forbids({Is("KEYMANAGEMENT", {"ISAKMP"})}, Given("INSPI")),
      Forbids({Is("KEYMANAGEMENT", {"ISAKMP"})}, Given("OUTSPI")),
      Requires({Is("KEYMANAGEMENT", {"MANUAL"}), IsNot("ENCALG", {"NULL"})}, Given("ENCKEY")),
      Requires({Is("KEYMANAGEMENT", {"MANUAL"}), IsNot("HASHALG", {"NULL"})}, Given("HASHKEY")),
      Requires({Is("KEYMANAGEMENT", {"MANUAL"}), IsNot("PROTOCOL", {"COMP"})}, Given("INSPI")),
      Requires({Is("KEYMANAGEMENT", {"MANUAL"}), IsNot("PROTOCOL", {"COMP"})}, Given("OUTSPI")),
      Forbids({Is("ENCALG", {"NULL"})}, Given("ENCKEY")),
      Forbids({Is("HASHALG", {"NULL"})}, Given("HASHKEY")),
      Forbids({Is("ENCALG", kGcm)}, Given("HASHKEY")),
      Forbids({Is("ANTIREPLAYENABLED", {"FALSE"})}, Given("REPLAYWINDOWSIZE")),
  };
  return r;
}

ParamSpec Spi(std::string_view name, std::string_view help) {
  return {.name = name, .type = VT::kUint, .min = 256, .max = 4294967295u, .help = help};
}

// The bundle STRING against KEYMANAGEMENT in the same command: OR and "," need ISAKMP.
absl::Status CheckBundleKeyman(const ParsedCommand& cmd) {
  auto keyman = KeyManagementFromKeyword(cmd.Get("KEYMANAGEMENT"));
  if (!keyman || !cmd.Has("STRING")) return absl::OkStatus();
  auto b = ParseBundleString(cmd.Get("STRING"));
  if (!b.ok()) return ErrorStatus(cmd.spec->module, Msg::kBadBundleString, "STRING", b.status().message());
  if (auto st = CheckBundleShape(*b, *keyman); !st.ok())
    return ErrorStatus(cmd.spec->module, Msg::kBadBundleString, "STRING", st.message());
  return absl::OkStatus();
}

void AddIpsec(std::vector<CommandSpec>& t) {
  const Module M = Module::kIpsec;
  t.push_back({.id = CommandId::kEnableIpsec, .words = {"ENABLE", "IPSEC"}, .module = M,
               .help = "Enable the IPsec module"});
  t.push_back({.id = CommandId::kDisableIpsec, .words = {"DISABLE", "IPSEC"}, .module = M,
               .help = "Disable the IPsec module"});
  t.push_back({.id = CommandId::kShowIpsec, .words = {"SHOW", "IPSEC"}, .module = M,
               .help = "Show the IPsec module: status (ENABLED/DISABLED) and settings"});
  t.push_back({.id = CommandId::kSetIpsec, .words = {"SET", "IPSEC"},
               .params = {{.name = "UDPPORT", .type = VT::kUint, .min = 1, .max = 65535,
                           .required = true,
                           .help = "local port of ESP over UDP (default 2746)"}},
               .module = M,
               .help = "Set IPsec module parameters"});

  // ---- policies (the SPD) ----
  t.push_back({.id = CommandId::kCreateIpsecPolicy,
               .words = {"CREATE", "IPSEC", "POLICY"},
               .object_value = OV::kRequired,
               .object = PolicyName(),
               .params = PolicyParams(true),
               .module = M,
               .rules = PolicyRules(true),
               .help = "Create an IPsec policy; policies of an interface are searched in "
                       "creation order, and an implicit DENY ends the list"});
  t.push_back({.id = CommandId::kSetIpsecPolicy,
               .words = {"SET", "IPSEC", "POLICY"},
               .object_value = OV::kRequired,
               .object = PolicyName(),
               .params = PolicyParams(false),
               .module = M,
               .one_required = {PolicyParamNames()},
               .rules = PolicyRules(false),
               .help = "Change parameters of an IPsec policy"});
  t.push_back({.id = CommandId::kDestroyIpsecPolicy,
               .words = {"DESTROY", "IPSEC", "POLICY"},
               .object_value = OV::kRequired,
               .object = PolicyName(),
               .module = M,
               .help = "Destroy an IPsec policy"});
  t.push_back({.id = CommandId::kShowIpsecPolicy,
               .words = {"SHOW", "IPSEC", "POLICY"},
               .object_value = OV::kOptional,
               .object = PolicyName(),
               .params = {Flag("COUNTERS", "per-policy counters"),
                          Flag("SABUNDLE", "established SA bundles and their limits")},
               .module = M,
               .mutually_exclusive = {{"COUNTERS", "SABUNDLE"}},
               .help = "Show IPsec policies: the list, one in detail, counters or SA bundles"});
  const ParamSpec debug = {.name = "DEBUG", .type = VT::kKeyword,
                           .keywords = {"FILTER", "PACKET", "TRACE", "ALL"}, .required = true,
                           .help = "FILTER: policy matches; PACKET: hex dump before and after "
                                   "processing; TRACE: processing steps; ALL: everything"};
  t.push_back({.id = CommandId::kEnableIpsecPolicyDebug,
               .words = {"ENABLE", "IPSEC", "POLICY"},
               .object_value = OV::kRequired,
               .object = PolicyName(),
               .params = {debug},
               .module = M,
               .help = "Enable debugging output of an IPsec policy"});
  t.push_back({.id = CommandId::kDisableIpsecPolicyDebug,
               .words = {"DISABLE", "IPSEC", "POLICY"},
               .object_value = OV::kRequired,
               .object = PolicyName(),
               .params = {debug},
               .module = M,
               .help = "Disable debugging output of an IPsec policy"});

  // ---- SA specifications ----
  t.push_back({.id = CommandId::kCreateIpsecSaSpec,
               .words = {"CREATE", "IPSEC", "SASPECIFICATION"},
               .object_value = OV::kRequired,
               .object = SpecId("SASPECIFICATION", "SA specification number"),
               .params = {
                   KeyMan(true, "ISAKMP: keys and SPIs negotiated; MANUAL: given here"),
                   {.name = "PROTOCOL", .type = VT::kKeyword, .keywords = {"AH", "COMP", "ESP"},
                    .required = true, .help = "AH, ESP, or COMP (IPComp)"},
                   {.name = "MODE", .type = VT::kKeyword, .keywords = {"TUNNEL", "TRANSPORT"},
                    .default_value = "TUNNEL", .help = "TUNNEL or TRANSPORT"},
                   {.name = "ENCALG", .type = VT::kKeyword,
                    .keywords = {"NULL", "DES", "3DESOUTER", "3DESINNER", "AES128", "AES192",
                                 "AES256", "AES128GCM", "AES256GCM"},
                    .keyword_aliases = {{"3DES", "3DESOUTER"}},
                    .help = "ESP: encryption (3DES is 3DESOUTER; the GCM ones also "
                            "authenticate)"},
                   {.name = "HASHALG", .type = VT::kKeyword,
                    .keywords = {"NULL", "MD5", "SHA", "SHA256", "SHA384", "SHA512"},
                    .keyword_aliases = {{"SHA1", "SHA"}},
                    .help = "ESP, AH: integrity (HMAC-MD5-96, HMAC-SHA1-96, HMAC-SHA2)"},
                   {.name = "COMPALG", .type = VT::kKeyword, .keywords = {"LZS", "DEFLATE"},
                    .help = "COMP: compression algorithm"},
                   {.name = "ENCKEY", .type = VT::kUint, .min = 0, .max = 65535,
                    .help = "MANUAL: ENCO key number of the encryption key"},
                   {.name = "HASHKEY", .type = VT::kUint, .min = 0, .max = 65535,
                    .help = "MANUAL: ENCO key number of the integrity key"},
                   Spi("INSPI", "MANUAL: SPI of inbound packets (the peer's OUTSPI)"),
                   Spi("OUTSPI", "MANUAL: SPI of outbound packets (the peer's INSPI)"),
                   Bool("ANTIREPLAYENABLED", "ESP, AH: anti-replay check (default TRUE)"),
                   {.name = "REPLAYWINDOWSIZE", .type = VT::kUint, .min = 32, .max = 1024,
                    .help = "ESP, AH: anti-replay window in packets (default 64)"}},
               .module = M,
               .rules = SaSpecRules(),
               .help = "Create an SA specification: one protocol with its algorithms (and, "
                       "for MANUAL, keys and SPIs)"});
  t.push_back({.id = CommandId::kDestroyIpsecSaSpec,
               .words = {"DESTROY", "IPSEC", "SASPECIFICATION"},
               .object_value = OV::kRequired,
               .object = SpecId("SASPECIFICATION", "SA specification number"),
               .module = M,
               .help = "Destroy an SA specification"});
  t.push_back({.id = CommandId::kShowIpsecSaSpec,
               .words = {"SHOW", "IPSEC", "SASPECIFICATION"},
               .object_value = OV::kOptional,
               .object = SpecId("SASPECIFICATION", "only this SA specification"),
               .module = M,
               .help = "Show SA specifications"});

  // ---- bundle specifications ----
  t.push_back({.id = CommandId::kCreateIpsecBundleSpec,
               .words = {"CREATE", "IPSEC", "BUNDLESPECIFICATION"},
               .object_value = OV::kRequired,
               .object = SpecId("BUNDLESPECIFICATION", "bundle specification number"),
               .params = {
                   KeyMan(true, "ISAKMP or MANUAL, as the SA specifications it names"),
                   {.name = "STRING", .type = VT::kBundleString, .max = 255, .required = true,
                    .help = "SA specifications: \"1\", \"5 and 1 and 3\" (applied in that "
                            "order, IPComp first), \"3 or 4\", \"5 and 1, 1\" (OR and , "
                            "only with ISAKMP)"},
                   {.name = "EXPIRYSECONDS", .type = VT::kUint, .min = 300, .max = 31449600,
                    .help = "ISAKMP: SA lifetime in seconds (default 28800)"},
                   {.name = "EXPIRYKBYTES", .type = VT::kUint, .min = 1, .max = 4194303,
                    .help = "ISAKMP: SA lifetime in kilobytes (default none)"}},
               .module = M,
               .rules = {Forbids({Is("KEYMANAGEMENT", {"MANUAL"})}, Given("EXPIRYSECONDS")),
                         Forbids({Is("KEYMANAGEMENT", {"MANUAL"})}, Given("EXPIRYKBYTES"))},
               .checks = {&CheckBundleKeyman},
               .help = "Create an SA bundle specification: which SA specifications an "
                       "IPSEC policy applies, and how they combine"});
  t.push_back({.id = CommandId::kDestroyIpsecBundleSpec,
               .words = {"DESTROY", "IPSEC", "BUNDLESPECIFICATION"},
               .object_value = OV::kRequired,
               .object = SpecId("BUNDLESPECIFICATION", "bundle specification number"),
               .module = M,
               .help = "Destroy an SA bundle specification"});
  t.push_back({.id = CommandId::kShowIpsecBundleSpec,
               .words = {"SHOW", "IPSEC", "BUNDLESPECIFICATION"},
               .object_value = OV::kOptional,
               .object = SpecId("BUNDLESPECIFICATION", "only this bundle specification"),
               .module = M,
               .help = "Show SA bundle specifications"});

  // ---- SAs and counters ----
  t.push_back({.id = CommandId::kShowIpsecSa,
               .words = {"SHOW", "IPSEC", "SA"},
               .object_value = OV::kOptional,
               .object = {.name = "SA", .type = VT::kUint, .min = 0, .max = UINT32_MAX,
                          .help = "only this SA, in detail"},
               .params = {Flag("COUNTERS", "the SAs' counters")},
               .module = M,
               .help = "Show IPsec SAs: SA Id, Policy, Bundle, State, Protocol, OutSPI, InSPI"});
  t.push_back({.id = CommandId::kShowIpsecCounters,
               .words = {"SHOW", "IPSEC", "COUNTERS"},
               .object_value = OV::kOptional,
               .object = {.name = "COUNTERS", .type = VT::kName, .min = 1, .max = 16,
                          .help = "only this group of counters"},
               .module = M,
               .help = "Show the IPsec module's counters"});
  t.push_back({.id = CommandId::kResetIpsecCounters,
               .words = {"RESET", "IPSEC", "COUNTERS"},
               .module = M,
               .help = "Zero the IPsec counters"});
  t.push_back({.id = CommandId::kResetIpsecSa,
               .words = {"RESET", "IPSEC", "SA"},
               .object_value = OV::kOptional,
               .object = {.name = "SA", .type = VT::kUint, .min = 0, .max = UINT32_MAX,
                          .help = "only this SA (its bundle is renegotiated when needed)"},
               .module = M,
               .help = "Remove established IPsec SAs"});
  t.push_back({.id = CommandId::kPurgeIpsec,
               .words = {"PURGE", "IPSEC"},
               .module = M,
               .help = "Remove the whole IPsec configuration: policies, bundle and SA "
                       "specifications, SAs"});
}

void AddEnco(std::vector<CommandSpec>& t) {
  const Module M = Module::kEnco;
  t.push_back({.id = CommandId::kCreateEncoKey,
               .words = {"CREATE", "ENCO", "KEY"},
               .object_value = OV::kRequired,
               .object = EncoKeyId("key number"),
               .params = {
                   {.name = "TYPE", .type = VT::kKeyword,
                    .keywords = {"GENERAL", "DES", "3DES", "AES128", "AES192", "AES256"},
                    .required = true,
                    .help = "GENERAL (pre-shared and integrity keys, any length), DES, 3DES, "
                            "AES128/192/256"},
                   {.name = "VALUE", .type = VT::kHexOrString, .max = 128,
                    .help = "the key: 0x followed by hex digits, or a quoted string",
                    .secret = true},
                   Flag("RANDOM", "generate the key at random"),
                   {.name = "LENGTH", .type = VT::kUint, .min = 1, .max = 128,
                    .help = "RANDOM, TYPE=GENERAL: key length in bytes"},
                   Description()},
               .module = M,
               .mutually_exclusive = {{"VALUE", "RANDOM"}},
               .one_required = {{"VALUE", "RANDOM"}},
               .rules = {Forbids({Given("VALUE")}, Given("LENGTH")),
                         Forbids({IsNot("TYPE", {"GENERAL"})}, Given("LENGTH"))},
               .help = "Create an encryption key (pre-shared key, manual SA key)"});
  t.push_back({.id = CommandId::kDestroyEncoKey,
               .words = {"DESTROY", "ENCO", "KEY"},
               .object_value = OV::kRequired,
               .object = EncoKeyId("key number"),
               .module = M,
               .help = "Destroy an encryption key"});
  t.push_back({.id = CommandId::kShowEncoKey,
               .words = {"SHOW", "ENCO", "KEY"},
               .object_value = OV::kOptional,
               .object = EncoKeyId("this key, with its value (a SECURITYOFFICER only, once "
                                   "security mode is on)"),
               .module = M,
               .help = "Show encryption keys"});
  t.push_back({.id = CommandId::kSetEncoSw,
               .words = {"SET", "ENCO", "SW"},
               .params = {{.name = "STACCHANNELS", .type = VT::kUint, .min = 0, .max = 64,
                           .required = true,
                           .help = "software LZS compression channels (accepted)"}},
               .module = M,
               .help = "Set the software compression engine (accepted for AR scripts)"});
  t.push_back({.id = CommandId::kEnableSystemSecurityMode,
               .words = {"ENABLE", "SYSTEM", "SECURITY_MODE"},
               .privilege = Privilege::kSecurityOfficer,
               .module = Module::kSystem,
               .help = "Enter security mode: IPsec, ISAKMP and ENCO changes then need "
                       "SECURITYOFFICER privilege (refused unless such a user exists)"});
}

// ---- ISAKMP (module 82) ----

// The parameters of CREATE and SET ISAKMP POLICY: the same list; PEER is required and
// defaults are filled only when creating (SET changes only what it names). Defaults and
// ranges follow the AR family's documentation where it gives them (docs/isakmp.md).
std::vector<ParamSpec> IsakmpPolicyParams(bool create) {
  auto dflt = [create](std::string_view v) { return create ? v : std::string_view(); };
  return {
      {.name = "PEER", .type = VT::kKeywordOrIpv4, .keywords = {"ANY"}, .required = create,
       .help = "the peer's address; ANY: any address (the peer is then identified by its "
               "ID in Aggressive Mode, by XAUTH, or by its certificate)"},
      {.name = "AUTHTYPE", .type = VT::kKeyword, .keywords = {"PRESHARED", "RSASIG"},
       .default_value = dflt("PRESHARED"),
       .help = "phase 1 authentication: pre-shared key (KEY) or RSA signatures "
               "(LOCALRSAKEY, certificates)"},
      {.name = "KEY", .type = VT::kUint, .min = 0, .max = 65535,
       .help = "PRESHARED: the ENCO key (TYPE=GENERAL) holding the pre-shared key"},
      {.name = "MODE", .type = VT::kKeyword, .keywords = {"MAIN", "AGGRESSIVE"},
       .default_value = dflt("MAIN"),
       .help = "phase 1 exchange: MAIN (identity protection) or AGGRESSIVE (needed with "
               "PEER=ANY and REMOTEID)"},
      {.name = "SENDNOTIFY", .type = VT::kBool, .default_value = dflt("FALSE"),
       .help = "send error notifications to the peer (the seed sets TRUE for "
               "interoperability)"},
      {.name = "LOCALID", .type = VT::kString, .min = 1, .max = 128,
       .help = "this router's phase 1 ID: a.b.c.d (IPV4_ADDR), user@host (USER_FQDN), "
               "keyid:text (KEY_ID), anything else FQDN; default the local address"},
      {.name = "REMOTEID", .type = VT::kString, .min = 1, .max = 128,
       .help = "the ID the peer must present, same forms as LOCALID; identifies the peer "
               "with PEER=ANY"},
      {.name = "XAUTH", .type = VT::kKeyword, .keywords = {"SERVER", "CLIENT", "NONE"},
       .default_value = dflt("NONE"),
       .help = "extended authentication after phase 1: SERVER asks for a user name and "
               "password (users from ADD USER), CLIENT answers with XAUTHNAME/XAUTHPASS"},
      {.name = "XAUTHNAME", .type = VT::kString, .min = 1, .max = 64,
       .help = "XAUTH=CLIENT: the user name sent to the server"},
      {.name = "XAUTHPASS", .type = VT::kString, .min = 1, .max = 64,
       .aliases = {"XAUTHPASSWD"},
       .help = "XAUTH=CLIENT: the password sent to the server (kept in the ENCO key store, "
               "never shown or written to configuration files)",
       .secret = true},
      {.name = "LOCALRSAKEY", .type = VT::kUint, .min = 0, .max = 65535,
       .help = "RSASIG: this router's RSA key pair n (PEM file rsa<n>.key in the "
               "configuration directory)"},
      {.name = "LOCALCERTIFICATE", .type = VT::kString, .min = 1, .max = 255,
       .help = "RSASIG: this router's certificate (PEM file; relative to the "
               "configuration directory), sent to the peer"},
      {.name = "CACERTIFICATE", .type = VT::kString, .min = 1, .max = 255,
       .help = "RSASIG: the CA certificate (PEM file) the peer's certificate must be "
               "signed by"},
      {.name = "GROUP", .type = VT::kKeyword, .keywords = {"1", "2", "5", "14", "15", "16"},
       .default_value = dflt("1"),
       .help = "Diffie-Hellman (Oakley) MODP group: 1 (768 bit), 2 (1024), 5 (1536), "
               "14 (2048), 15 (3072), 16 (4096)"},
      {.name = "ENCALG", .type = VT::kKeyword,
       .keywords = {"DES", "3DESOUTER", "AES128", "AES192", "AES256"},
       .keyword_aliases = {{"3DES", "3DESOUTER"}}, .default_value = dflt("DES"),
       .help = "ISAKMP SA encryption (CBC; 3DES is 3DESOUTER)"},
      {.name = "HASHALG", .type = VT::kKeyword, .keywords = {"MD5", "SHA", "SHA256"},
       .keyword_aliases = {{"SHA1", "SHA"}}, .default_value = dflt("SHA"),
       .help = "ISAKMP SA hash and PRF: MD5, SHA (SHA-1) or SHA256"},
      {.name = "EXPIRYSECONDS", .type = VT::kUint, .min = 600, .max = 31449600,
       .default_value = dflt("86400"), .help = "ISAKMP SA lifetime in seconds"},
      {.name = "EXPIRYKBYTES", .type = VT::kUint, .min = 1, .max = 4194303,
       .help = "ISAKMP SA lifetime in kilobytes of ISAKMP traffic (default none)"},
      {.name = "NATTRAVERSAL", .type = VT::kBool, .default_value = dflt("FALSE"),
       .help = "NAT traversal (RFC 3947/3948): detect NAT and float to UDP 4500"},
      {.name = "DPDMODE", .type = VT::kKeyword, .keywords = {"BOTH", "NONE", "RECEIVE"},
       .default_value = dflt("RECEIVE"),
       .help = "dead peer detection (RFC 3706): BOTH sends and answers R-U-THERE, "
               "RECEIVE only answers, NONE neither"},
      {.name = "DPDIDLETIMEOUT", .type = VT::kUint, .min = 10, .max = 3600,
       .default_value = dflt("30"),
       .help = "DPDMODE=BOTH: seconds without traffic from the peer before R-U-THERE"},
      {.name = "PHASE2XCHGLIMIT", .type = VT::kKeywordOrUint, .keywords = {"NONE"},
       .min = 1, .max = 1024, .default_value = dflt("NONE"),
       .help = "quick mode exchanges one ISAKMP SA may carry before it is renegotiated"},
      {.name = "SENDDELETES", .type = VT::kBool, .default_value = dflt("FALSE"),
       .help = "send DELETE notifications when SAs are removed"},
      {.name = "SENDIDALWAYS", .type = VT::kBool, .default_value = dflt("FALSE"),
       .help = "send phase 2 ID payloads even when they are the peers' addresses"},
      {.name = "SETCOMMITBIT", .type = VT::kBool, .default_value = dflt("FALSE"),
       .help = "set the commit bit in quick mode (the responder confirms before the "
               "SAs are used)"},
      {.name = "PRENEGOTIATE", .type = VT::kBool, .default_value = dflt("FALSE"),
       .help = "negotiate phase 1 as soon as ISAKMP is enabled, without waiting for "
               "traffic (fixed PEER only)"},
      {.name = "REKEY", .type = VT::kBool, .default_value = dflt("TRUE"),
       .help = "renegotiate the ISAKMP SA before it expires"},
      {.name = "RETRYIKEATTEMPTS", .type = VT::kKeywordOrUint, .keywords = {"CONTINUOUS"},
       .min = 0, .max = 16, .default_value = dflt("0"),
       .help = "new attempts after a failed exchange (fixed PEER only); CONTINUOUS: "
               "until it succeeds"},
      {.name = "MSGRETRYLIMIT", .type = VT::kUint, .min = 0, .max = 1024,
       .default_value = dflt("8"),
       .help = "retransmissions of one ISAKMP message before the exchange fails"},
      {.name = "MSGTIMEOUT", .type = VT::kUint, .min = 1, .max = 86400,
       .default_value = dflt("4"),
       .help = "seconds before the first retransmission"},
      {.name = "MSGBACKOFF", .type = VT::kKeyword, .keywords = {"INCREMENTAL", "NONE"},
       .default_value = dflt("INCREMENTAL"),
       .help = "INCREMENTAL: each retransmission waits MSGTIMEOUT longer than the last; "
               "NONE: always MSGTIMEOUT"},
      {.name = "DELETEDELAY", .type = VT::kUint, .min = 0, .max = 30,
       .default_value = dflt("5"),
       .help = "seconds a replaced ISAKMP SA is kept before it is deleted"},
  };
}

std::vector<ParamRule> IsakmpPolicyRules() {
  std::vector<ParamRule> r;
  // Authentication: what each AUTHTYPE takes. Rules that involve a default (a CREATE
  // without AUTHTYPE is PRESHARED, without XAUTH is NONE) and everything between policies
  // are the model's (control/isakmp/isakmp_model.h), checked on the merged parameters.
  r.push_back(Requires({Is("AUTHTYPE", {"PRESHARED"})}, Given("KEY")));
  r.push_back(Forbids({Is("AUTHTYPE", {"RSASIG"})}, Given("KEY")));
  r.push_back(Requires({Is("AUTHTYPE", {"RSASIG"})}, Given("LOCALRSAKEY")));
  for (std::string_view p : {"LOCALRSAKEY", "LOCALCERTIFICATE", "CACERTIFICATE"})
    r.push_back(Forbids({Is("AUTHTYPE", {"PRESHARED"})}, Given(p)));
  // XAUTH: the client's credentials only with XAUTH=CLIENT.
  for (std::string_view p : {"XAUTHNAME", "XAUTHPASS"})
    r.push_back(Forbids({IsNot("XAUTH", {"CLIENT"})}, Given(p)));
  // A peer of unknown address is never the initiator.
  r.push_back(Forbids({Is("PEER", {"ANY"})}, Is("PRENEGOTIATE", {"TRUE"})));
  r.push_back(Forbids({Is("PEER", {"ANY"})}, Given("RETRYIKEATTEMPTS")));
  r.push_back(Forbids({Is("DPDMODE", {"NONE", "RECEIVE"})}, Given("DPDIDLETIMEOUT")));
  return r;
}

std::vector<std::string_view> IsakmpPolicyParamNames() {
  std::vector<std::string_view> out;
  for (const auto& p : IsakmpPolicyParams(false)) out.push_back(p.name);
  return out;
}

void AddIsakmp(std::vector<CommandSpec>& t) {
  const Module M = Module::kIsakmp;
  t.push_back({.id = CommandId::kEnableIsakmp, .words = {"ENABLE", "ISAKMP"}, .module = M,
               .help = "Enable the ISAKMP module (automatic keying with IKEv1)"});
  t.push_back({.id = CommandId::kDisableIsakmp, .words = {"DISABLE", "ISAKMP"}, .module = M,
               .help = "Disable the ISAKMP module"});
  t.push_back({.id = CommandId::kShowIsakmp, .words = {"SHOW", "ISAKMP"}, .module = M,
               .help = "Show the ISAKMP module: status (ENABLED/DISABLED) and totals"});
  const ParamSpec name = {.name = "POLICY", .type = VT::kName, .min = 1, .max = 32,
                          .help = "ISAKMP policy name (letters, digits, - _ .)"};
  t.push_back({.id = CommandId::kCreateIsakmpPolicy,
               .words = {"CREATE", "ISAKMP", "POLICY"},
               .object_value = OV::kRequired,
               .object = name,
               .params = IsakmpPolicyParams(true),
               .module = M,
               .rules = IsakmpPolicyRules(),
               .help = "Create an ISAKMP policy: the peer, how phase 1 authenticates it, and "
                       "the ISAKMP SA's algorithms and lifetimes"});
  t.push_back({.id = CommandId::kSetIsakmpPolicy,
               .words = {"SET", "ISAKMP", "POLICY"},
               .object_value = OV::kRequired,
               .object = name,
               .params = IsakmpPolicyParams(false),
               .module = M,
               .one_required = {IsakmpPolicyParamNames()},
               .rules = IsakmpPolicyRules(),
               .help = "Change parameters of an ISAKMP policy"});
  t.push_back({.id = CommandId::kDestroyIsakmpPolicy,
               .words = {"DESTROY", "ISAKMP", "POLICY"},
               .object_value = OV::kRequired,
               .object = name,
               .module = M,
               .help = "Destroy an ISAKMP policy"});
  t.push_back({.id = CommandId::kShowIsakmpPolicy,
               .words = {"SHOW", "ISAKMP", "POLICY"},
               .object_value = OV::kOptional,
               .object = name,
               .module = M,
               .help = "Show ISAKMP policies: the list, or one in detail"});
  t.push_back({.id = CommandId::kShowIsakmpSa,
               .words = {"SHOW", "ISAKMP", "SA"},
               .object_value = OV::kOptional,
               .object = {.name = "SA", .type = VT::kUint, .min = 0, .max = UINT32_MAX,
                          .help = "only this ISAKMP SA, in detail"},
               .module = M,
               .help = "Show ISAKMP (phase 1) SAs: SA Id, PeerAddress, EncA., HashA. and "
                       "the hard/soft/used byte and second limits"});
  t.push_back({.id = CommandId::kShowIsakmpExchange,
               .words = {"SHOW", "ISAKMP", "EXCHANGE"},
               .module = M,
               .help = "Show the ISAKMP exchanges in progress: Id, Phase, State, "
                       "PeerAddress, Type"});
  t.push_back({.id = CommandId::kShowIsakmpCounters,
               .words = {"SHOW", "ISAKMP", "COUNTERS"},
               .object_value = OV::kOptional,
               .object = {.name = "COUNTERS", .type = VT::kKeyword,
                          .keywords = {"GENERAL", "MAIN", "AGGRESSIVE", "QUICK", "INFO",
                                       "XAUTH", "NATT", "DPD"},
                          .help = "only this group of counters"},
               .module = M,
               .help = "Show the ISAKMP counters, all or one group"});
  const std::vector<std::string_view> debug_kw = {"ALL",   "DEFAULT", "PACKET", "PKT",
                                                  "PKTRAW", "STATE",  "TRACE",  "TRACEMORE"};
  t.push_back({.id = CommandId::kEnableIsakmpDebug,
               .words = {"ENABLE", "ISAKMP", "DEBUG"},
               .object_value = OV::kRequired,
               .object = {.name = "DEBUG", .type = VT::kKeyword, .keywords = debug_kw,
                          .help = "PKT/PACKET: decode every message sent and received; "
                                  "PKTRAW: their bytes in hex; STATE: exchange state "
                                  "changes; TRACE: exchange events; TRACEMORE: with "
                                  "details; DEFAULT: STATE and TRACE; ALL: everything"},
               .module = M,
               .help = "Enable ISAKMP debugging output on this console"});
  t.push_back({.id = CommandId::kDisableIsakmpDebug,
               .words = {"DISABLE", "ISAKMP", "DEBUG"},
               .object_value = OV::kOptional,
               .object = {.name = "DEBUG", .type = VT::kKeyword, .keywords = debug_kw,
                          .help = "the output to stop (default ALL)"},
               .module = M,
               .help = "Disable ISAKMP debugging output on this console"});
  t.push_back({.id = CommandId::kResetIsakmp, .words = {"RESET", "ISAKMP"}, .module = M,
               .help = "Remove every ISAKMP SA and exchange in progress (IPsec SAs stay "
                       "until they expire)"});
  t.push_back({.id = CommandId::kResetIsakmpCounters,
               .words = {"RESET", "ISAKMP", "COUNTERS"},
               .module = M,
               .help = "Zero the ISAKMP counters"});
}

std::vector<CommandSpec> Build() {
  std::vector<CommandSpec> t;

  // ---- IP ----
  t.push_back({.id = CommandId::kAddIpInterface,
               .words = {"ADD", "IP", "INTERFACE"},
               .object_value = OV::kRequired,
               .object = Interface(true, "interface: eth0, vlan1, ppp0, or a logical one (ppp0-1)"),
               .params = {Address("IPADDRESS", true,
                                  "address; 0.0.0.0 makes the interface unnumbered"),
                          NaturalMask("IPADDRESS",
                                      "netmask; default the natural class mask of IPADDRESS")},
               .module = Module::kIp,
               .help = "Add an IP address to an interface"});
  t.push_back({.id = CommandId::kDeleteIpInterface,
               .words = {"DELETE", "IP", "INTERFACE"},
               .object_value = OV::kRequired,
               .object = Interface(true, "interface"),
               .params = {Address("IPADDRESS", true, "the address to remove")},
               .module = Module::kIp,
               .help = "Remove an IP address from an interface"});
  t.push_back({.id = CommandId::kAddIpRoute,
               .words = {"ADD", "IP", "ROUTE"},
               .object_value = OV::kRequired,
               .object = Address("ROUTE", true, "destination network; 0.0.0.0 is the default route"),
               .params = {NaturalMask("ROUTE", "netmask; default the natural class mask of ROUTE"),
                          Interface(true, "interface the route leaves by"),
                          Address("NEXTHOP", true,
                                  "next-hop router; 0.0.0.0 for a point-to-point interface"),
                          {.name = "METRIC", .type = VT::kUint, .min = 1, .max = 16,
                           .default_value = "1", .help = "route metric, 1..16"}},
               .module = Module::kIp,
               .help = "Add a static route"});
  t.push_back({.id = CommandId::kDeleteIpRoute,
               .words = {"DELETE", "IP", "ROUTE"},
               .object_value = OV::kRequired,
               .object = Address("ROUTE", true, "destination network"),
               .params = {NaturalMask("ROUTE", "netmask; default the natural class mask of ROUTE"),
                          Interface(false, "only the route by this interface"),
                          Address("NEXTHOP", false, "only the route by this next hop")},
               .module = Module::kIp,
               .help = "Delete a static route"});
  t.push_back({.id = CommandId::kShowIpInterface,
               .words = {"SHOW", "IP", "INTERFACE"},
               .object_value = OV::kOptional,
               .object = Interface(false, "only this interface"),
               .privilege = Privilege::kUser,
               .module = Module::kIp,
               .help = "Show IP interfaces and their addresses"});
  t.push_back({.id = CommandId::kShowIpRoute,
               .words = {"SHOW", "IP", "ROUTE"},
               .privilege = Privilege::kUser,
               .module = Module::kIp,
               .help = "Show the routing table"});
  t.push_back({.id = CommandId::kShowIpArp,
               .words = {"SHOW", "IP", "ARP"},
               .privilege = Privilege::kUser,
               .module = Module::kIp,
               .help = "Show the ARP (neighbour) table"});
  t.push_back({.id = CommandId::kAddIpArp,
               .words = {"ADD", "IP", "ARP"},
               .object_value = OV::kRequired,
               .object = Address("ARP", true, "IP address of the neighbour"),
               .params = {Interface(true, "interface the neighbour is on (vlan1, ppp0)"),
                          {.name = "ETHERNET", .type = VT::kMac, .required = true,
                           .help = "its Ethernet address: 00-00-cd-01-02-03 (or with colons)"}},
               .module = Module::kIp,
               .help = "Add a static ARP entry: never ages out, never asked for"});
  t.push_back({.id = CommandId::kDeleteIpArp,
               .words = {"DELETE", "IP", "ARP"},
               .object_value = OV::kRequired,
               .object = Address("ARP", true, "IP address of the static entry"),
               .params = {Interface(false, "only the entry on this interface")},
               .module = Module::kIp,
               .help = "Delete a static ARP entry"});
  t.push_back({.id = CommandId::kEnableIp,
               .words = {"ENABLE", "IP"},
               .params = {Flag("REMOTEASSIGN",
                               "accept an address assigned by the peer (PPP); accepted for "
                               "compatibility")},
               .module = Module::kIp,
               .help = "Enable the IP module (always on; accepted so AR scripts replay)"});

  // ---- Dataplane ----
  t.push_back({.id = CommandId::kShowDataplane,
               .words = {"SHOW", "DATAPLANE"},
               .params = {Flag("PORTS", "per-port packet and error counters"),
                          Flag("COUNTERS", "per-worker counters and drops by reason"),
                          Flag("RUNTIME", "per-worker packets, busy cycles, cycles per packet")},
               .privilege = Privilege::kUser,
               .module = Module::kDataplane,
               .mutually_exclusive = {{"PORTS", "COUNTERS", "RUNTIME"}},
               .help = "Show the dataplane: summary, ports, counters or runtime"});
  t.push_back({.id = CommandId::kResetDataplane,
               .words = {"RESET", "DATAPLANE", "COUNTERS"},
               .module = Module::kDataplane,
               .help = "Zero the dataplane counters"});

  // ---- Users ----
  t.push_back({.id = CommandId::kAddUser,
               .words = {"ADD", "USER"},
               .object_value = OV::kRequired,
               .object = UserName(),
               .params = {Password(false), Secret(), PrivilegeParam("USER"),
                          LoginParam("TRUE"), Description()},
               .module = Module::kUser,
               .mutually_exclusive = {{"PASSWORD", "SECRET"}},
               .one_required = {{"PASSWORD", "SECRET"}},
               .help = "Add a user"});
  t.push_back({.id = CommandId::kDeleteUser,
               .words = {"DELETE", "USER"},
               .object_value = OV::kRequired,
               .object = UserName(),
               .module = Module::kUser,
               .help = "Delete a user"});
  t.push_back({.id = CommandId::kSetUser,
               .words = {"SET", "USER"},
               .object_value = OV::kRequired,
               .object = UserName(),
               .params = {Password(false), Secret(), PrivilegeParam(""), LoginParam(""),
                          Description()},
               .module = Module::kUser,
               .mutually_exclusive = {{"PASSWORD", "SECRET"}},
               .one_required = {{"PASSWORD", "SECRET", "PRIVILEGE", "LOGIN", "DESCRIPTION"}},
               .help = "Change a user's password, privilege, login or description"});
  t.push_back({.id = CommandId::kShowUser,
               .words = {"SHOW", "USER"},
               .object_value = OV::kOptional,
               .object = UserName(),
               .module = Module::kUser,
               .help = "Show users (never their passwords)"});

  // ---- Configuration files ----
  t.push_back({.id = CommandId::kCreateConfig,
               .words = {"CREATE", "CONFIG"},
               .object_value = OV::kRequired,
               .object = FileName("file name, e.g. ipsecvpn.cfg"),
               .module = Module::kConfig,
               .help = "Save the running configuration as a command script"});
  t.push_back({.id = CommandId::kSetConfig,
               .words = {"SET", "CONFIG"},
               .object_value = OV::kRequired,
               .object = FileName("file name, or NONE to boot with no configuration"),
               .module = Module::kConfig,
               .help = "Choose the configuration replayed at boot"});
  t.push_back({.id = CommandId::kShowConfig,
               .words = {"SHOW", "CONFIG"},
               .params = {{.name = "DYNAMIC", .type = VT::kKeyword,
                           .keywords = {"IP", "IPSEC", "ISAKMP", "USER", "ENCO", "SYSTEM"},
                           .value_optional = true,
                           .help = "the running configuration as commands, all or one module"}},
               .module = Module::kConfig,
               .help = "Show the boot configuration file, or the running configuration"});
  t.push_back({.id = CommandId::kShowLog,
               .words = {"SHOW", "LOG"},
               .params = {{.name = "MODULE", .type = VT::kName, .min = 1, .max = 8,
                           .help = "only this module (ISAK, IPSE, IP, USER, ...)"},
                          {.name = "TYPE", .type = VT::kName, .min = 1, .max = 8,
                           .help = "only this type (IKMP, IPSC, ...)"}},
               .module = Module::kLog,
               .help = "Show the log"});

  // ---- Session ----
  t.push_back({.id = CommandId::kLogin,
               .words = {"LOGIN"},
               .object_value = OV::kOptional,
               .object = UserName(),
               .privilege = Privilege::kUser,
               .module = Module::kUser,
               .help = "Log in as another user"});
  t.push_back({.id = CommandId::kLogoff,
               .words = {"LOGOFF"},
               .privilege = Privilege::kUser,
               .module = Module::kUser,
               .help = "End the session"});
  t.push_back({.id = CommandId::kLogoff,
               .words = {"LOGOUT"},
               .privilege = Privilege::kUser,
               .module = Module::kUser,
               .help = "End the session"});
  t.push_back({.id = CommandId::kHelp,
               .words = {"HELP"},
               .privilege = Privilege::kUser,
               .module = Module::kLang,
               .help = "List the commands"});

  AddIpsec(t);
  AddIsakmp(t);
  AddEnco(t);
  return t;
}

}  // namespace

const std::vector<CommandSpec>& CommandTable() {
  static const std::vector<CommandSpec> kTable = Build();
  return kTable;
}

}  // namespace arsec::lang
