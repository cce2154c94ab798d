#include "control/ike_link.h"

#include <openssl/rand.h>

#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "control/config/password.h"
#include "control/controller.h"
#include "control/ipsec/ipsec_types.h"

namespace arsec::control {
namespace {

ike::Identity ToIdentity(const IsakmpId& id) {
  if (id.type == ike::IdType::kIpv4Addr) return ike::Identity::Ipv4(id.ipv4);
  return ike::Identity{id.type, ike::Bytes(id.data.begin(), id.data.end())};
}

ike::Phase1Offer OfferOf(const IsakmpPolicyView& v) {
  ike::Phase1Offer o;
  switch (v.encalg) {
    case EncAlg::kDes: o.enc = ike::P1Encryption::kDes; break;
    case EncAlg::k3DesOuter:
    case EncAlg::k3DesInner: o.enc = ike::P1Encryption::k3Des; break;
    case EncAlg::kAes128: o.enc = ike::P1Encryption::kAes; o.key_bits = 128; break;
    case EncAlg::kAes192: o.enc = ike::P1Encryption::kAes; o.key_bits = 192; break;
    case EncAlg::kAes256: o.enc = ike::P1Encryption::kAes; o.key_bits = 256; break;
    default: o.enc = ike::P1Encryption::kDes; break;
  }
  switch (v.hashalg) {
    case HashAlg::kMd5: o.hash = ike::P1Hash::kMd5; break;
    case HashAlg::kSha256: o.hash = ike::P1Hash::kSha256; break;
    case HashAlg::kSha384: o.hash = ike::P1Hash::kSha384; break;
    case HashAlg::kSha512: o.hash = ike::P1Hash::kSha512; break;
    default: o.hash = ike::P1Hash::kSha; break;
  }
  o.auth = v.auth == IsakmpAuth::kRsaSig ? ike::AuthMethod::kRsaSig : ike::AuthMethod::kPsk;
  o.group = v.group;
  o.life_seconds = v.expiry_seconds;
  o.life_kbytes = v.expiry_kbytes.value_or(0);
  return o;
}

}  // namespace

std::shared_ptr<ike::IkeConfig> BuildIkeConfig(const IsakmpModel& isakmp, const IpsecModel& ipsec,
                                               const EncoKeyStore& keys, const ConfigModel& ip,
                                               std::vector<std::string>* problems) {
  auto cfg = std::make_shared<ike::IkeConfig>();
  cfg->enabled = isakmp.enabled() && ipsec.enabled();
  for (const IpInterface& i : ip.interfaces())
    if (i.addr != 0) cfg->local_addrs.push_back(i.addr);
  // XAUTH=SERVER checks names and passwords against the user database (ADD USER ...
  // LOGIN=NO users exist for this alone; others may use XAUTH too). The snapshot holds
  // names and salted hashes only, so the daemon checks them without the model's lock; a
  // change of users makes a new snapshot.
  struct XauthUser {
    std::string name, hash;
  };
  std::vector<XauthUser> users;
  for (const User& u : ip.users()) users.push_back({u.name, u.password_hash});
  cfg->verify_user = [users = std::move(users)](const std::string& name,
                                                const std::string& pass) {
    for (const XauthUser& u : users)
      if (absl::EqualsIgnoreCase(u.name, name)) return VerifyPassword(pass, u.hash);
    // An unknown name costs what a known one does, so timing does not tell names apart.
    (void)VerifyPassword(pass, users.empty() ? std::string() : users.front().hash);
    return false;
  };
  for (const IsakmpPolicyView& v : isakmp.Views()) {
    ike::PeerConfig p;
    p.name = v.name;
    p.peer = v.peer;
    p.any = v.peer_any;
    p.aggressive = v.aggressive;
    p.auth = v.auth == IsakmpAuth::kRsaSig ? ike::AuthMethod::kRsaSig : ike::AuthMethod::kPsk;
    if (v.auth == IsakmpAuth::kPreshared) {
      const EncoKey* k = v.key ? keys.Find(*v.key) : nullptr;
      if (k == nullptr) {
        if (problems)
          problems->push_back("ISAKMP policy " + v.name + ": ENCO key " +
                              (v.key ? std::to_string(*v.key) : std::string("?")) +
                              " does not exist");
        continue;
      }
      p.psk = k->value;
    }
    p.rsa_key_file = v.local_rsa_key_file;
    p.cert_file = v.local_certificate;
    p.ca_file = v.ca_certificate;
    if (v.local_id) p.local_id = ToIdentity(*v.local_id);
    if (v.remote_id) p.remote_id = ToIdentity(*v.remote_id);
    p.xauth = v.xauth == IsakmpXauth::kServer   ? ike::XauthRole::kServer
              : v.xauth == IsakmpXauth::kClient ? ike::XauthRole::kClient
                                                : ike::XauthRole::kNone;
    p.xauth_name = v.xauth_name;
    if (v.has_xauth_pass) p.xauth_pass = v.xauth_pass;
    p.offers.push_back(OfferOf(v));
    p.nat_t = v.nat_traversal;
    p.send_notify = v.send_notify;
    p.send_deletes = v.send_deletes;
    p.send_id_always = v.send_id_always;
    p.set_commit = v.set_commit_bit;
    p.rekey = v.rekey;
    p.prenegotiate = v.prenegotiate;
    p.dpd = v.dpd == IsakmpDpd::kBoth      ? ike::DpdMode::kBoth
            : v.dpd == IsakmpDpd::kReceive ? ike::DpdMode::kReceive
                                           : ike::DpdMode::kNone;
    p.dpd_idle_s = v.dpd_idle_s;
    p.msg_retry_limit = v.msg_retry_limit;
    p.msg_timeout_ms = v.msg_timeout_s * 1000;
    p.msg_backoff = v.msg_backoff_incremental;
    p.retry_ike_attempts = v.retry_continuous ? 1000000 : (v.retry_ike_attempts ? v.retry_ike_attempts : 3);
    p.phase2_xchg_limit = v.phase2_xchg_limit.value_or(0);
    p.delete_delay_s = v.delete_delay_s;
    cfg->peers.push_back(std::move(p));
  }
  for (const Policy* pol : ipsec.PoliciesInOrder()) {
    // PERMIT, DENY and manually keyed policies are skipped before the full view (a
    // script of thousands of manual policies rebuilds this after each command).
    if (!pol->ike_keyed) continue;
    auto v = ipsec.View(*pol);
    if (!v.ok() || v->action != PolicyAction::kIpsec || v->keyman != KeyManagement::kIsakmp)
      continue;
    if (!v->bundle) continue;
    auto b = ipsec.bundle_specs().find(*v->bundle);
    if (b == ipsec.bundle_specs().end()) {
      if (problems)
        problems->push_back("IPsec policy " + pol->name + ": bundle specification " +
                            std::to_string(*v->bundle) + " does not exist");
      continue;
    }
    ike::Phase2Policy p;
    p.policy_id = pol->id;
    p.name = pol->name;
    p.view = *v;
    p.local = ipsec.TunnelSource(*v);
    p.bundle = b->second;
    for (uint32_t sid : lang::BundleSpecIds(b->second.bundle)) {
      auto s = ipsec.sa_specs().find(sid);
      if (s != ipsec.sa_specs().end()) p.specs[sid] = s->second;
    }
    if (pol->Get("USEPFSKEY") == "TRUE" || (pol->Has("GROUP") && !pol->Has("USEPFSKEY"))) {
      int g = 1;
      if (pol->Has("GROUP")) g = std::atoi(pol->Get("GROUP").c_str());
      p.pfs_group = g;
    }
    p.isakmp_policy = pol->Get("ISAKMPPOLICY");
    if (pol->Has("LNAME")) p.lname = ike::Identity::FromString(pol->Get("LNAME"));
    if (pol->Has("RNAME")) p.rname = ike::Identity::FromString(pol->Get("RNAME"));
    cfg->policies.push_back(std::move(p));
  }
  return cfg;
}

uint32_t IkeLink::ReserveSpi(SaProtocol p) {
  const uint8_t proto = ProtocolNumber(p);
  for (;;) {
    uint32_t v = 0;
    RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v);
    // ESP/AH SPIs 256..2^32-1 (RFC 4303 2.1); IPComp CPIs 256..61439 (RFC 3173 3.3).
    v = p == SaProtocol::kComp ? 256 + v % (61440 - 256) : (v < 256 ? v + 256 : v);
    {
      std::lock_guard<std::mutex> l(mu_);
      if (reserved_.count({proto, v})) continue;
    }
    if (c_->InboundSpiInUse(proto, v)) continue;
    std::lock_guard<std::mutex> l(mu_);
    if (reserved_.insert({proto, v}).second) return v;
  }
}

void IkeLink::ReleaseSpi(SaProtocol p, uint32_t spi) {
  std::lock_guard<std::mutex> l(mu_);
  reserved_.erase({ProtocolNumber(p), spi});
}

absl::StatusOr<uint32_t> IkeLink::Install(const ike::NegotiatedBundle& b) {
  auto ids = c_->InstallNegotiatedBundle(b);
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& s : b.sas) reserved_.erase({ProtocolNumber(s.protocol), s.in_spi});
  if (!ids.ok()) return ids.status();
  const uint32_t handle = ids->front();
  bundles_[handle] = *ids;
  return handle;
}

void IkeLink::Activate(uint32_t handle) {
  std::vector<uint32_t> ids;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = bundles_.find(handle);
    if (it == bundles_.end()) return;
    ids = it->second;
  }
  c_->ActivateNegotiatedSas(ids);
}

void IkeLink::Remove(uint32_t handle) {
  std::vector<uint32_t> ids;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = bundles_.find(handle);
    if (it == bundles_.end()) return;
    ids = it->second;
    bundles_.erase(it);
  }
  c_->RemoveNegotiatedSas(ids);
}

void IkeLink::Adopt(uint32_t handle, const std::vector<uint32_t>& sa_ids) {
  std::lock_guard<std::mutex> l(mu_);
  bundles_[handle] = sa_ids;
}

uint32_t IkeLink::BundleOfSa(uint32_t sa_id) const {
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& [h, ids] : bundles_)
    for (uint32_t id : ids)
      if (id == sa_id) return h;
  return 0;
}

}  // namespace arsec::control
