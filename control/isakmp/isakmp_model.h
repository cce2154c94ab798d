// The ISAKMP module's configuration: module state and the ISAKMP policies, in creation
// order (the order in which the IKE daemon looks for the policy of a peer).
//
// Like IPsec policies (ipsec_types.h), an ISAKMP policy keeps its parameters the way the
// command language stored them (canonical name -> value, only what was typed; SET merges),
// so CREATE CONFIG writes back exactly what the user said and the defaults stay the
// table's. IsakmpPolicyView is the typed, checked reading of one policy with every
// default filled in: what SHOW prints and what the IKE daemon negotiates with.
//
// Validation happens on the merged parameters, so SET is held to the same rules as
// CREATE: first the rules that involve defaults or several parameters (PEER=ANY needs
// Aggressive Mode with REMOTEID, or XAUTH=SERVER; KEY names a GENERAL ENCO key; ...),
// then the command table's own rules by re-parsing the policy as one CREATE command (so
// a policy can always be saved and replayed), then the rules between policies (one
// policy per PEER and REMOTEID).
//
// XAUTHPASS is a secret: it never enters the parameter map. It lives in the ENCO key
// store (enco_keys.h, mode 0600) under "isakmp.xauthpass.<policy>", and the view carries
// a copy for the daemon. CREATE CONFIG therefore writes the policy without it; when a
// script is replayed (`restoring`), the password the store kept is the policy's again,
// as ENCO key values are. An interactive CREATE starts without one (a stale secret of an
// earlier policy of the same name is dropped), DESTROY and a SET that leaves XAUTH=CLIENT
// erase it.
//
// Not thread-safe: the Controller serialises access under its mutex.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "control/ike/isakmp_wire.h"
#include "control/ipsec/enco_keys.h"
#include "control/ipsec/ipsec_types.h"

namespace arsec::control {

enum class IsakmpAuth : uint8_t { kPreshared, kRsaSig };
enum class IsakmpXauth : uint8_t { kNone, kServer, kClient };
enum class IsakmpDpd : uint8_t { kNone, kReceive, kBoth };

// Defaults of the parameters (the command table's, docs/isakmp.md).
inline constexpr int kIsakmpDefaultGroup = 1;
inline constexpr uint32_t kIsakmpDefaultExpirySeconds = 86400;
inline constexpr uint32_t kIsakmpDefaultDpdIdle = 30;
inline constexpr uint32_t kIsakmpDefaultMsgRetryLimit = 8;
inline constexpr uint32_t kIsakmpDefaultMsgTimeout = 4;
inline constexpr uint32_t kIsakmpDefaultDeleteDelay = 5;

// A phase 1 identity as configured (LOCALID / REMOTEID): "1.2.3.4" is an ID_IPV4_ADDR,
// "user@host" an ID_USER_FQDN, "keyid:text" (prefix in any case) an ID_KEY_ID whose data
// is `text`, anything else an ID_FQDN.
struct IsakmpId {
  ike::IdType type = ike::IdType::kFqdn;
  std::string text;        // as configured ("keyid:abc" included)
  std::string data;        // the identification data: the name, or the key id's text
  uint32_t ipv4 = 0;       // kIpv4Addr: host order
  static IsakmpId Parse(absl::string_view text);
  // "FQDN", "USER_FQDN", "IPV4_ADDR", "KEY_ID".
  absl::string_view TypeName() const;
};

struct IsakmpPolicy {
  std::string name;                          // as created
  uint32_t id = 0;                           // stable while the policy exists
  std::map<std::string, std::string> params; // canonical name -> stored value

  bool Has(absl::string_view p) const { return params.count(std::string(p)) != 0; }
  std::string Get(absl::string_view p) const {
    auto it = params.find(std::string(p));
    return it == params.end() ? std::string() : it->second;
  }
};

// One policy, typed, with every default filled in (IsakmpModel::View).
struct IsakmpPolicyView {
  std::string name;
  uint32_t id = 0;
  uint32_t peer = 0;                         // host order; 0 with peer_any
  bool peer_any = false;                     // PEER=ANY
  bool aggressive = false;                   // MODE=AGGRESSIVE
  IsakmpAuth auth = IsakmpAuth::kPreshared;
  std::optional<uint32_t> key;               // PRESHARED: ENCO key number
  std::optional<uint32_t> local_rsa_key;     // RSASIG: key pair number
  // RSASIG files, resolved against the configuration directory ("" = not configured).
  std::string local_rsa_key_file;            // <config dir>/rsa<LOCALRSAKEY>.key
  std::string local_certificate, ca_certificate;
  std::optional<IsakmpId> local_id, remote_id;   // nullopt: the address
  IsakmpXauth xauth = IsakmpXauth::kNone;
  std::string xauth_name;                    // XAUTH=CLIENT
  bool has_xauth_pass = false;
  SecretBytes xauth_pass;                    // XAUTH=CLIENT: never formatted anywhere
  int group = kIsakmpDefaultGroup;
  EncAlg encalg = EncAlg::kDes;              // kDes, k3DesOuter, kAes128/192/256
  HashAlg hashalg = HashAlg::kSha;           // kMd5, kSha, kSha256
  uint32_t expiry_seconds = kIsakmpDefaultExpirySeconds;
  std::optional<uint32_t> expiry_kbytes;
  bool send_notify = false;
  bool nat_traversal = false;
  IsakmpDpd dpd = IsakmpDpd::kReceive;
  uint32_t dpd_idle_s = kIsakmpDefaultDpdIdle;
  std::optional<uint32_t> phase2_xchg_limit; // nullopt: NONE
  bool send_deletes = false;
  bool send_id_always = false;
  bool set_commit_bit = false;
  bool prenegotiate = false;
  bool rekey = true;
  uint32_t retry_ike_attempts = 0;
  bool retry_continuous = false;             // RETRYIKEATTEMPTS=CONTINUOUS
  uint32_t msg_retry_limit = kIsakmpDefaultMsgRetryLimit;
  uint32_t msg_timeout_s = kIsakmpDefaultMsgTimeout;
  bool msg_backoff_incremental = true;       // MSGBACKOFF=INCREMENTAL
  uint32_t delete_delay_s = kIsakmpDefaultDeleteDelay;
};

absl::string_view IsakmpAuthName(IsakmpAuth a);    // "PRESHARED", "RSASIG"
absl::string_view IsakmpXauthName(IsakmpXauth x);  // "NONE", "SERVER", "CLIENT"
absl::string_view IsakmpDpdName(IsakmpDpd d);      // "NONE", "RECEIVE", "BOTH"
// "768-bit MODP" for group 1 etc.
absl::string_view IsakmpGroupName(int group);

class IsakmpModel {
 public:
  // `keys`: the ENCO key store (KEY checks, the XAUTHPASS secrets). `config_dir`:
  // where LOCALRSAKEY's key file and relative certificate paths are found.
  IsakmpModel(EncoKeyStore* keys, std::string config_dir);

  // ---- module
  void SetEnabled(bool on) { enabled_ = on; }
  bool enabled() const { return enabled_; }

  // ---- policies. `params`: canonical parameter name -> stored value, as the command
  // gave them; XAUTHPASS among them is moved into the key store (and removed from the
  // map). `restoring`: a script is being replayed (see the header comment). Errors that
  // are whole reply lines start with "Error (".
  absl::Status CreatePolicy(absl::string_view name, std::map<std::string, std::string> params,
                            bool restoring);
  absl::Status SetPolicy(absl::string_view name, std::map<std::string, std::string> params);
  absl::Status DestroyPolicy(absl::string_view name);

  // ---- reads
  const IsakmpPolicy* FindPolicy(absl::string_view name) const;
  std::vector<const IsakmpPolicy*> PoliciesInOrder() const;
  size_t size() const { return order_.size(); }
  absl::StatusOr<IsakmpPolicyView> View(const IsakmpPolicy& p) const;
  // Every policy, typed, in creation order (what the IKE daemon is configured with).
  std::vector<IsakmpPolicyView> Views() const;
  // "ISAKMP policy i" when a policy names this ENCO key as KEY; nullopt if none.
  std::optional<std::string> KeyUsedBy(uint32_t key_id) const;

  // True (once) when the last changes added, replaced or erased an XAUTHPASS secret:
  // the key store must be written.
  bool TakeSecretsChanged() { return std::exchange(secrets_changed_, false); }

  // The ISAKMP part of the running configuration as commands (never XAUTHPASS).
  std::string Canonical() const;

  // The key-store name of a policy's XAUTHPASS.
  static std::string XauthSecretName(absl::string_view policy);

 private:
  // Every rule on one policy's merged parameters, and those between it and the others.
  absl::Status Check(const IsakmpPolicy& p, bool has_pass) const;
  std::string CanonicalPolicy(const IsakmpPolicy& p) const;
  std::string ConflictKey(const IsakmpPolicy& p) const;
  std::string Resolve(absl::string_view path) const;

  EncoKeyStore* keys_;
  std::string config_dir_;
  bool enabled_ = false;
  bool secrets_changed_ = false;
  uint32_t next_id_ = 1;
  std::map<uint32_t, IsakmpPolicy> policies_;             // by id
  std::vector<uint32_t> order_;                           // creation order
  absl::flat_hash_map<std::string, uint32_t> by_name_;    // lower-case name -> id
  absl::flat_hash_map<std::string, uint32_t> by_peer_id_; // ConflictKey -> id
};

}  // namespace arsec::control
