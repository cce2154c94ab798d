// What the IKE engine is configured with: a snapshot made by arsec-control from its
// models (ISAKMP policies, IPsec policies with KEYMAN=ISAKMP and their bundles, the ENCO
// keys they name, XAUTH users) after every change that concerns IKE. The engine never
// reads the models themselves, so it needs no lock on them and tests build this by hand.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "control/ike/ike_crypto.h"
#include "control/ike/isakmp_wire.h"
#include "control/ike/proposal.h"
#include "control/ipsec/ipsec_types.h"

namespace arsec::ike {

// An ISAKMP identity (RFC 2407 4.6.2): type and the identification data.
struct Identity {
  IdType type = IdType::kIpv4Addr;
  Bytes data;
  bool operator==(const Identity& o) const { return type == o.type && data == o.data; }
  static Identity Ipv4(uint32_t addr);
  // "1.2.3.4" -> IPV4_ADDR, "user@host" -> USER_FQDN, "keyid:xyz" -> KEY_ID, else FQDN.
  static Identity FromString(const std::string& s);
  std::string ToString() const;       // for logs and SHOW ("1.2.3.4", "fqdn:x", ...)
};

enum class XauthRole : uint8_t { kNone, kServer, kClient };
enum class DpdMode : uint8_t { kNone, kReceive, kBoth };

// One ISAKMP policy.
struct PeerConfig {
  std::string name;
  uint32_t peer = 0;                  // 0 with any
  bool any = false;                   // PEER=ANY
  bool aggressive = false;
  AuthMethod auth = AuthMethod::kPsk; // kPsk or kRsaSig
  SecretBytes psk;                    // the ENCO key's bytes (PRESHARED)
  std::string rsa_key_file, cert_file, ca_file;   // RSASIG
  std::optional<Identity> local_id, remote_id;
  XauthRole xauth = XauthRole::kNone;
  std::string xauth_name;
  SecretBytes xauth_pass;
  std::vector<Phase1Offer> offers;    // ENCALG/HASHALG/GROUP/lifetimes (one today)
  bool nat_t = false;                 // NATTRAVERSAL
  bool send_notify = true;            // SENDNOTIFY: error notifies to the peer
  bool send_deletes = true;           // SENDDELETES
  bool send_id_always = false;
  bool set_commit = false;            // SETCOMMITBIT
  bool rekey = true;
  bool prenegotiate = false;
  DpdMode dpd = DpdMode::kBoth;
  uint32_t dpd_idle_s = 20;
  uint32_t msg_retry_limit = 8;       // retransmissions of one message
  uint32_t msg_timeout_ms = 2000;     // first retransmission
  bool msg_backoff = true;            // INCREMENTAL: the timeout doubles (capped)
  uint32_t retry_ike_attempts = 3;    // new exchanges for one acquire before giving up
  uint32_t phase2_xchg_limit = 0;     // 0 = no limit
  uint32_t delete_delay_s = 30;
};

// One IPsec policy with KEYMAN=ISAKMP (the phase 2 side).
struct Phase2Policy {
  uint32_t policy_id = 0;
  std::string name;
  control::PolicyView view;
  uint32_t local = 0;                 // tunnel source (IpsecModel::TunnelSource)
  control::BundleSpec bundle;
  std::map<uint32_t, control::SaSpec> specs;  // the SA specs the bundle names
  int pfs_group = 0;                  // GROUP / USEPFSKEY; 0 = no PFS
  std::string isakmp_policy;          // ISAKMPPOLICY: restrict to this ISAKMP policy
  std::optional<Identity> lname, rname;       // phase 2 IDs by name
};

// A user that XAUTH may authenticate (ADD USER ... LOGIN=NO, or any user).
using XauthVerifier = std::function<bool(const std::string& user, const std::string& pass)>;

struct IkeConfig {
  bool enabled = false;               // ENABLE ISAKMP
  std::vector<PeerConfig> peers;      // creation order
  std::vector<Phase2Policy> policies; // IPsec creation order
  std::vector<uint32_t> local_addrs;  // the gateway's addresses
  XauthVerifier verify_user;
  // Half-open phase 1 responder SAs (not established yet; RFC 2408 2.5.3): at most
  // `half_open_limit` in all (then the oldest whose peer never answered makes room) and
  // `half_open_per_peer` from one address; each lives `half_open_timeout_s` at most.
  uint32_t half_open_limit = 64;
  uint32_t half_open_per_peer = 16;
  uint32_t half_open_timeout_s = 30;
};

}  // namespace arsec::ike
