// The ISAKMP policies: typed views, the rules on merged parameters, the XAUTHPASS
// secrets, and the canonical script.
#include "control/isakmp/isakmp_model.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/lang/command_spec.h"
#include "cli/lang/messages.h"
#include "cli/lang/parser.h"
#include "cli/lang/tokenizer.h"

namespace arsec::control {
namespace {

using lang::Module;
using lang::Msg;

std::string Lower(absl::string_view s) { return absl::AsciiStrToLower(s); }

absl::Status Invalid(absl::string_view text) { return absl::InvalidArgumentError(text); }

// The language's own error lines, so merged-parameter errors read like parse errors.
absl::Status RequiredWith(absl::string_view p, absl::string_view with) {
  return lang::ErrorStatus(Module::kIsakmp, Msg::kRequiredWith, p, with);
}
absl::Status NotAllowedWith(absl::string_view p, absl::string_view with) {
  return lang::ErrorStatus(Module::kIsakmp, Msg::kNotAllowedWith, p, with);
}
absl::Status MustBeWith(absl::string_view p, absl::string_view v, absl::string_view with) {
  return lang::ErrorStatus(Module::kIsakmp, Msg::kMustBeWith, p, v, with);
}

std::optional<uint32_t> Uint(const IsakmpPolicy& p, absl::string_view name) {
  uint32_t v = 0;
  if (!p.Has(name) || !absl::SimpleAtoi(p.Get(name), &v)) return std::nullopt;
  return v;
}

bool BoolParam(const IsakmpPolicy& p, absl::string_view name, bool dflt) {
  if (!p.Has(name)) return dflt;
  return p.Get(name) == "TRUE";
}

// Parameters that only mean something with another one's value; SET drops them when
// that value changes and the command does not repeat them.
constexpr const char* kRsaOnly[] = {"LOCALRSAKEY", "LOCALCERTIFICATE", "CACERTIFICATE"};

}  // namespace

// ---------------------------------------------------------------- names

absl::string_view IsakmpAuthName(IsakmpAuth a) {
  return a == IsakmpAuth::kRsaSig ? "RSASIG" : "PRESHARED";
}

absl::string_view IsakmpXauthName(IsakmpXauth x) {
  switch (x) {
    case IsakmpXauth::kNone: return "NONE";
    case IsakmpXauth::kServer: return "SERVER";
    case IsakmpXauth::kClient: return "CLIENT";
  }
  return "NONE";
}

absl::string_view IsakmpDpdName(IsakmpDpd d) {
  switch (d) {
    case IsakmpDpd::kNone: return "NONE";
    case IsakmpDpd::kReceive: return "RECEIVE";
    case IsakmpDpd::kBoth: return "BOTH";
  }
  return "NONE";
}

absl::string_view IsakmpGroupName(int group) {
  switch (group) {
    case 1: return "768-bit MODP";
    case 2: return "1024-bit MODP";
    case 5: return "1536-bit MODP";
    case 14: return "2048-bit MODP";
    case 15: return "3072-bit MODP";
    case 16: return "4096-bit MODP";
  }
  return "unknown";
}

IsakmpId IsakmpId::Parse(absl::string_view text) {
  IsakmpId id;
  id.text = std::string(text);
  if (auto a = lang::ParseIpv4(std::string_view(text.data(), text.size()))) {
    id.type = ike::IdType::kIpv4Addr;
    id.ipv4 = *a;
    id.data = std::string(text);
  } else if (absl::StartsWithIgnoreCase(text, "keyid:")) {
    id.type = ike::IdType::kKeyId;
    id.data = std::string(text.substr(6));
  } else if (absl::StrContains(text, '@')) {
    id.type = ike::IdType::kUserFqdn;
    id.data = std::string(text);
  } else {
    id.type = ike::IdType::kFqdn;
    id.data = std::string(text);
  }
  return id;
}

absl::string_view IsakmpId::TypeName() const {
  switch (type) {
    case ike::IdType::kIpv4Addr: return "IPV4_ADDR";
    case ike::IdType::kUserFqdn: return "USER_FQDN";
    case ike::IdType::kKeyId: return "KEY_ID";
    default: return "FQDN";
  }
}

// ---------------------------------------------------------------- model

IsakmpModel::IsakmpModel(EncoKeyStore* keys, std::string config_dir)
    : keys_(keys), config_dir_(std::move(config_dir)) {}

std::string IsakmpModel::XauthSecretName(absl::string_view policy) {
  return absl::StrCat("isakmp.xauthpass.", Lower(policy));
}

std::string IsakmpModel::Resolve(absl::string_view path) const {
  if (path.empty() || path.front() == '/' || config_dir_.empty()) return std::string(path);
  return absl::StrCat(config_dir_, "/", path);
}

const IsakmpPolicy* IsakmpModel::FindPolicy(absl::string_view name) const {
  auto it = by_name_.find(Lower(name));
  return it == by_name_.end() ? nullptr : &policies_.at(it->second);
}

std::vector<const IsakmpPolicy*> IsakmpModel::PoliciesInOrder() const {
  std::vector<const IsakmpPolicy*> out;
  out.reserve(order_.size());
  for (uint32_t id : order_) out.push_back(&policies_.at(id));
  return out;
}

absl::StatusOr<IsakmpPolicyView> IsakmpModel::View(const IsakmpPolicy& p) const {
  IsakmpPolicyView v;
  v.name = p.name;
  v.id = p.id;
  const std::string peer = p.Get("PEER");
  if (peer == "ANY") {
    v.peer_any = true;
  } else if (auto a = lang::ParseIpv4(peer)) {
    v.peer = *a;
  } else {
    return Invalid("PEER must be an IP address or ANY");
  }
  v.aggressive = p.Get("MODE") == "AGGRESSIVE";
  v.auth = p.Get("AUTHTYPE") == "RSASIG" ? IsakmpAuth::kRsaSig : IsakmpAuth::kPreshared;
  v.key = Uint(p, "KEY");
  v.local_rsa_key = Uint(p, "LOCALRSAKEY");
  if (v.local_rsa_key) v.local_rsa_key_file = Resolve(absl::StrCat("rsa", *v.local_rsa_key, ".key"));
  v.local_certificate = Resolve(p.Get("LOCALCERTIFICATE"));
  v.ca_certificate = Resolve(p.Get("CACERTIFICATE"));
  if (p.Has("LOCALID")) v.local_id = IsakmpId::Parse(p.Get("LOCALID"));
  if (p.Has("REMOTEID")) v.remote_id = IsakmpId::Parse(p.Get("REMOTEID"));
  const std::string xauth = p.Get("XAUTH");
  v.xauth = xauth == "SERVER"   ? IsakmpXauth::kServer
            : xauth == "CLIENT" ? IsakmpXauth::kClient
                                : IsakmpXauth::kNone;
  v.xauth_name = p.Get("XAUTHNAME");
  if (const SecretBytes* s = keys_->FindSecret(XauthSecretName(p.name));
      s != nullptr && v.xauth == IsakmpXauth::kClient) {
    v.has_xauth_pass = true;
    v.xauth_pass = *s;
  }
  if (p.Has("GROUP")) {
    int g = 0;
    if (!absl::SimpleAtoi(p.Get("GROUP"), &g) || IsakmpGroupName(g) == "unknown") {
      return Invalid("GROUP must be 1, 2, 5, 14, 15 or 16");
    }
    v.group = g;
  }
  if (p.Has("ENCALG")) {
    auto e = EncAlgFromKeyword(p.Get("ENCALG"));
    if (!e || (*e != EncAlg::kDes && *e != EncAlg::k3DesOuter && *e != EncAlg::kAes128 &&
               *e != EncAlg::kAes192 && *e != EncAlg::kAes256)) {
      return Invalid("ENCALG must be DES, 3DESOUTER, AES128, AES192 or AES256");
    }
    v.encalg = *e;
  }
  if (p.Has("HASHALG")) {
    auto h = HashAlgFromKeyword(p.Get("HASHALG"));
    if (!h || (*h != HashAlg::kMd5 && *h != HashAlg::kSha && *h != HashAlg::kSha256)) {
      return Invalid("HASHALG must be MD5, SHA or SHA256");
    }
    v.hashalg = *h;
  }
  v.expiry_seconds = Uint(p, "EXPIRYSECONDS").value_or(kIsakmpDefaultExpirySeconds);
  v.expiry_kbytes = Uint(p, "EXPIRYKBYTES");
  v.send_notify = BoolParam(p, "SENDNOTIFY", false);
  v.nat_traversal = BoolParam(p, "NATTRAVERSAL", false);
  const std::string dpd = p.Get("DPDMODE");
  v.dpd = dpd == "BOTH" ? IsakmpDpd::kBoth : dpd == "NONE" ? IsakmpDpd::kNone : IsakmpDpd::kReceive;
  v.dpd_idle_s = Uint(p, "DPDIDLETIMEOUT").value_or(kIsakmpDefaultDpdIdle);
  if (p.Get("PHASE2XCHGLIMIT") != "NONE") v.phase2_xchg_limit = Uint(p, "PHASE2XCHGLIMIT");
  v.send_deletes = BoolParam(p, "SENDDELETES", false);
  v.send_id_always = BoolParam(p, "SENDIDALWAYS", false);
  v.set_commit_bit = BoolParam(p, "SETCOMMITBIT", false);
  v.prenegotiate = BoolParam(p, "PRENEGOTIATE", false);
  v.rekey = BoolParam(p, "REKEY", true);
  v.retry_continuous = p.Get("RETRYIKEATTEMPTS") == "CONTINUOUS";
  if (!v.retry_continuous) v.retry_ike_attempts = Uint(p, "RETRYIKEATTEMPTS").value_or(0);
  v.msg_retry_limit = Uint(p, "MSGRETRYLIMIT").value_or(kIsakmpDefaultMsgRetryLimit);
  v.msg_timeout_s = Uint(p, "MSGTIMEOUT").value_or(kIsakmpDefaultMsgTimeout);
  v.msg_backoff_incremental = p.Get("MSGBACKOFF") != "NONE";
  v.delete_delay_s = Uint(p, "DELETEDELAY").value_or(kIsakmpDefaultDeleteDelay);
  return v;
}

std::vector<IsakmpPolicyView> IsakmpModel::Views() const {
  std::vector<IsakmpPolicyView> out;
  out.reserve(order_.size());
  for (uint32_t id : order_) {
    auto v = View(policies_.at(id));
    if (v.ok()) out.push_back(*std::move(v));   // every stored policy passed Check
  }
  return out;
}

std::string IsakmpModel::ConflictKey(const IsakmpPolicy& p) const {
  // IDs compare case-insensitively: FQDNs are DNS names, and two policies that differ
  // only in case would be a trap for whoever reads the configuration.
  return absl::StrCat(p.Get("PEER"), "\n", Lower(p.Get("REMOTEID")));
}

absl::Status IsakmpModel::Check(const IsakmpPolicy& p, bool has_pass) const {
  auto v = View(p);
  if (!v.ok()) return v.status();
  // Authentication (AUTHTYPE defaults to PRESHARED).
  const std::string auth = absl::StrCat("AUTHTYPE=", IsakmpAuthName(v->auth));
  if (v->auth == IsakmpAuth::kPreshared) {
    if (!v->key) return RequiredWith("KEY", auth);
    for (const char* k : kRsaOnly) {
      if (p.Has(k)) return NotAllowedWith(k, auth);
    }
  } else {
    if (p.Has("KEY")) return NotAllowedWith("KEY", auth);
    if (!v->local_rsa_key) return RequiredWith("LOCALRSAKEY", auth);
  }
  // XAUTH (defaults to NONE): only a client sends a name and password.
  if (v->xauth != IsakmpXauth::kClient) {
    const std::string with = absl::StrCat("XAUTH=", IsakmpXauthName(v->xauth));
    if (p.Has("XAUTHNAME")) return NotAllowedWith("XAUTHNAME", with);
    if (has_pass) return NotAllowedWith("XAUTHPASS", with);
  }
  // PEER=ANY: the peer must be identified before its pre-shared key is needed. Main Mode
  // hides the ID until after the key is used, so it takes Aggressive Mode with REMOTEID,
  // or XAUTH=SERVER (one shared key, users told apart after phase 1), as the seed says;
  // with RSA signatures the certificate identifies the peer in either mode.
  if (v->peer_any && v->auth == IsakmpAuth::kPreshared && v->xauth != IsakmpXauth::kServer) {
    if (!v->aggressive) return MustBeWith("MODE", "AGGRESSIVE", "PEER=ANY (unless XAUTH=SERVER)");
    if (!v->remote_id) return RequiredWith("REMOTEID", "PEER=ANY and MODE=AGGRESSIVE");
  }
  if (v->dpd != IsakmpDpd::kBoth && p.Has("DPDIDLETIMEOUT")) {
    return NotAllowedWith("DPDIDLETIMEOUT", absl::StrCat("DPDMODE=", IsakmpDpdName(v->dpd)));
  }
  for (const auto& id : {v->local_id, v->remote_id}) {
    if (id && id->type == ike::IdType::kKeyId && id->data.empty()) {
      return Invalid("A keyid: ID needs text after \"keyid:\"");
    }
  }
  // The pre-shared key must be there, and be a general-purpose key.
  if (v->key) {
    const EncoKey* k = keys_->Find(*v->key);
    if (k == nullptr) {
      return absl::NotFoundError(absl::StrCat("KEY ", *v->key, ": ENCO key ", *v->key,
                                              " does not exist (CREATE ENCO KEY=", *v->key,
                                              " TYPE=GENERAL first)"));
    }
    if (k->type != EncoKeyType::kGeneral) {
      return Invalid(absl::StrCat("KEY ", *v->key, " is a ", EncoKeyTypeName(k->type),
                                  " key; a pre-shared key must be an ENCO key of TYPE=GENERAL"));
    }
  }
  // The language's own rules on the merged parameters: the policy must stay writable as
  // one CREATE command (that is how CREATE CONFIG saves it).
  auto parsed = lang::Parse(CanonicalPolicy(p));
  if (!parsed.ok()) return Invalid(parsed.status().message());
  // Between policies: one policy per peer (address, or ANY) and REMOTEID.
  auto other = by_peer_id_.find(ConflictKey(p));
  if (other != by_peer_id_.end() && other->second != p.id) {
    const IsakmpPolicy& o = policies_.at(other->second);
    const std::string rid = o.Get("REMOTEID");
    return absl::AlreadyExistsError(absl::StrCat(
        "ISAKMP policy ", o.name, " already has PEER=", o.Get("PEER"),
        rid.empty() ? std::string(" and no REMOTEID") : absl::StrCat(" and REMOTEID=", rid),
        "; policies for the same peer need different REMOTEIDs"));
  }
  return absl::OkStatus();
}

absl::Status IsakmpModel::CreatePolicy(absl::string_view name,
                                       std::map<std::string, std::string> params,
                                       bool restoring) {
  if (name.empty() || name.size() > 32) return Invalid("POLICY must be 1..32 characters");
  if (FindPolicy(name)) {
    return absl::AlreadyExistsError(absl::StrCat("ISAKMP policy ", name, " already exists"));
  }
  std::optional<SecretBytes> pass;
  if (auto it = params.find("XAUTHPASS"); it != params.end()) {
    pass = SecretBytes(std::vector<uint8_t>(it->second.begin(), it->second.end()));
    OPENSSL_cleanse(it->second.data(), it->second.size());
    params.erase(it);
  }
  IsakmpPolicy p;
  p.name = std::string(name);
  p.params = std::move(params);
  p.id = 0;   // not yet in the model: Check must not find it
  const std::string secret = XauthSecretName(name);
  const bool kept = restoring && keys_->FindSecret(secret) != nullptr;
  if (absl::Status s = Check(p, pass.has_value()); !s.ok()) return s;
  p.id = next_id_++;
  const uint32_t id = p.id;
  by_peer_id_[ConflictKey(p)] = id;
  by_name_[Lower(name)] = id;
  const bool client = p.Get("XAUTH") == "CLIENT";
  policies_.emplace(id, std::move(p));
  order_.push_back(id);
  if (pass) {
    keys_->SetSecret(secret, absl::string_view(reinterpret_cast<const char*>(pass->data()),
                                               pass->size()));
    secrets_changed_ = true;
  } else if ((!kept || !client) && keys_->EraseSecret(secret)) {
    // A fresh policy has no password yet; one the store kept for a replayed policy
    // that is not an XAUTH client any more goes too.
    secrets_changed_ = true;
  }
  return absl::OkStatus();
}

absl::Status IsakmpModel::SetPolicy(absl::string_view name,
                                    std::map<std::string, std::string> params) {
  auto it = by_name_.find(Lower(name));
  if (it == by_name_.end()) {
    return absl::NotFoundError(absl::StrCat("ISAKMP policy ", name, " does not exist"));
  }
  const uint32_t id = it->second;
  const IsakmpPolicy& cur = policies_.at(id);
  std::optional<SecretBytes> pass;
  if (auto pit = params.find("XAUTHPASS"); pit != params.end()) {
    pass = SecretBytes(std::vector<uint8_t>(pit->second.begin(), pit->second.end()));
    OPENSSL_cleanse(pit->second.data(), pit->second.size());
    params.erase(pit);
  }
  IsakmpPolicy next = cur;
  for (const auto& [k, val] : params) next.params[k] = val;
  // Dependent parameters the command did not repeat go with what they depended on.
  auto drop = [&](const char* k) {
    if (!params.count(k)) next.params.erase(k);
  };
  if (next.Get("AUTHTYPE") == "RSASIG") {
    drop("KEY");
  } else {
    for (const char* k : kRsaOnly) drop(k);
  }
  const bool client = next.Get("XAUTH") == "CLIENT";
  if (!client) drop("XAUTHNAME");
  if (next.Get("DPDMODE") != "BOTH") drop("DPDIDLETIMEOUT");
  if (next.Get("PEER") == "ANY") {
    if (next.Get("PRENEGOTIATE") == "TRUE") drop("PRENEGOTIATE");
    drop("RETRYIKEATTEMPTS");
  }
  const std::string secret = XauthSecretName(name);
  if (absl::Status s = Check(next, pass.has_value()); !s.ok()) return s;
  by_peer_id_.erase(ConflictKey(cur));
  by_peer_id_[ConflictKey(next)] = id;
  policies_.at(id) = std::move(next);
  if (pass) {
    keys_->SetSecret(secret, absl::string_view(reinterpret_cast<const char*>(pass->data()),
                                               pass->size()));
    secrets_changed_ = true;
  } else if (!client && keys_->EraseSecret(secret)) {
    secrets_changed_ = true;
  }
  return absl::OkStatus();
}

absl::Status IsakmpModel::DestroyPolicy(absl::string_view name) {
  auto it = by_name_.find(Lower(name));
  if (it == by_name_.end()) {
    return absl::NotFoundError(absl::StrCat("ISAKMP policy ", name, " does not exist"));
  }
  const uint32_t id = it->second;
  const IsakmpPolicy& p = policies_.at(id);
  if (keys_->EraseSecret(XauthSecretName(p.name))) secrets_changed_ = true;
  by_peer_id_.erase(ConflictKey(p));
  order_.erase(std::find(order_.begin(), order_.end(), id));
  policies_.erase(id);
  by_name_.erase(it);
  return absl::OkStatus();
}

std::optional<std::string> IsakmpModel::KeyUsedBy(uint32_t key_id) const {
  const std::string k = absl::StrCat(key_id);
  for (uint32_t id : order_) {
    const IsakmpPolicy& p = policies_.at(id);
    if (p.Get("KEY") == k) return absl::StrCat("ISAKMP policy ", p.name);
  }
  return std::nullopt;
}

// ---------------------------------------------------------------- canonical script

std::string IsakmpModel::CanonicalPolicy(const IsakmpPolicy& p) const {
  const lang::CommandSpec* spec = lang::FindCommand(lang::CommandId::kCreateIsakmpPolicy);
  std::string out = absl::StrCat("CREATE ISAKMP POLICY=", p.name);
  for (const auto& ps : spec->params) {
    if (ps.secret) continue;   // XAUTHPASS never is in the map; belt and braces
    auto it = p.params.find(std::string(ps.name));
    if (it == p.params.end()) continue;
    const bool text = ps.type == lang::ValueType::kString || ps.type == lang::ValueType::kName;
    absl::StrAppend(&out, " ", std::string(ps.name), "=",
                    text ? lang::QuoteIfNeeded(it->second) : it->second);
  }
  return out;
}

std::string IsakmpModel::Canonical() const {
  std::string out;
  if (!enabled_ && order_.empty()) return out;
  out += "#\n# ISAKMP configuration (pre-shared keys and XAUTH passwords are in the ENCO key "
         "store, not here)\n#\n";
  for (uint32_t id : order_) absl::StrAppend(&out, CanonicalPolicy(policies_.at(id)), "\n");
  if (enabled_) out += "ENABLE ISAKMP\n";
  return out;
}

}  // namespace arsec::control
