// The Controller's side of IKE: negotiated SA bundles go into the IPsec model (and so to
// the dataplane and SHOW IPSEC SA), dataplane events about them go to the IKE daemon.
// Called from the IKE daemon's thread through IkeLink (ike_link.h).
//
// After a restart of this process the bundles the previous one negotiated are still in
// the dataplane: Start() adopts them (AdoptHeldSas) and, once the daemon is attached,
// they are handed to it (HandOverAdopted) so that they are rekeyed when their soft
// lifetime, counted by the dataplane from their install, runs out.
#include <openssl/crypto.h>

#include "absl/strings/str_cat.h"
#include "control/controller.h"
#include "control/ipsec/sa_builder.h"

namespace arsec::control {

absl::StatusOr<std::vector<uint32_t>> Controller::InstallNegotiatedBundle(
    const ike::NegotiatedBundle& nb) {
  absl::MutexLock lock(&mu_);
  const Policy* p = ipsec_.PolicyById(nb.policy_id);
  if (p == nullptr) return absl::NotFoundError(absl::StrCat("policy ", nb.policy_id, " is gone"));
  auto v = ipsec_.View(*p);
  if (!v.ok()) return v.status();
  std::vector<SaPair> pairs;
  std::vector<SaRecord> records;
  auto wipe = [&pairs] {
    for (auto& w : pairs) {
      WipeSaBody(&w.out);
      WipeSaBody(&w.in);
    }
  };
  for (size_t i = 0; i < nb.sas.size(); ++i) {
    const ike::NegotiatedSa& s = nb.sas[i];
    NegotiatedSaInput in;
    in.protocol = s.protocol;
    in.enc = s.enc;
    in.hash = s.hash;
    in.comp = s.comp;
    in.tunnel = s.tunnel;
    in.in_spi = s.in_spi;
    in.out_spi = s.out_spi;
    in.in_key = s.in_key.bytes().data();
    in.out_key = s.out_key.bytes().data();
    in.key_len = s.in_key.size();
    in.soft_seconds = s.soft_seconds;
    in.hard_seconds = s.hard_seconds;
    in.soft_kbytes = s.soft_kbytes;
    in.hard_kbytes = s.hard_kbytes;
    auto spec = ipsec_.sa_specs().find(s.spec_id);
    if (spec != ipsec_.sa_specs().end()) {
      in.antireplay = spec->second.antireplay_on();
      in.window = spec->second.window();
    }
    auto pair = MakeNegotiatedPair(*v, nb.policy_id, i, in, nb.local, nb.peer, nb.udp_encap,
                                   nb.encap_sport, nb.encap_dport);
    if (!pair.ok()) {
      wipe();
      return pair.status();
    }
    pair->spec_id = s.spec_id;
    SaRecord r;
    r.bundle_id = v->bundle.value_or(0);
    r.spec_id = s.spec_id;
    r.protocol = s.protocol;
    r.tunnel = pair->out.mode == msg::kSaTunnel;
    r.enc = s.enc;
    r.hash = s.hash;
    r.comp = s.comp;
    r.out_spi = s.out_spi;
    r.in_spi = s.in_spi;
    r.local = nb.local;
    r.peer = nb.peer;
    r.encap = pair->out.encap;
    r.encap_sport = pair->out.encap_sport;
    r.encap_dport = pair->out.encap_dport;
    r.antireplay = pair->in.antireplay != 0;
    r.window = pair->in.replay_window;
    r.soft_seconds = s.soft_seconds;
    r.hard_seconds = s.hard_seconds;
    r.soft_kbytes = s.soft_kbytes;
    r.hard_kbytes = s.hard_kbytes;
    pairs.push_back(*pair);
    WipeSaBody(&pair->out);
    WipeSaBody(&pair->in);
    records.push_back(r);
  }
  auto ids = ipsec_.InstallNegotiated(nb.policy_id, std::move(pairs), std::move(records),
                                      !nb.defer_outbound);
  DrainIpsecEvents();
  // A policy named by RNAME now selects the peer that negotiated: its SPD rule changed.
  if (absl::Status s = ipsec_.FlushSpd(); !s.ok())
    log_->Add(4, "IPSE", "IPSC", "ERR", absl::StrCat("SPD update failed: ", s.message()));
  return ids;
}

void Controller::ActivateNegotiatedSas(const std::vector<uint32_t>& sa_ids) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = ipsec_.ActivateNegotiated(sa_ids); !s.ok())
    log_->Add(4, "IPSE", "IPSC", "ERR", absl::StrCat("SA bundle activation failed: ", s.message()));
  DrainIpsecEvents();
  if (absl::Status s = ipsec_.FlushSpd(); !s.ok())
    log_->Add(4, "IPSE", "IPSC", "ERR", absl::StrCat("SPD update failed: ", s.message()));
}

void Controller::RemoveNegotiatedSas(const std::vector<uint32_t>& sa_ids) {
  absl::MutexLock lock(&mu_);
  ipsec_.RemoveNegotiated(sa_ids);
  DrainIpsecEvents();
  if (absl::Status s = ipsec_.FlushSpd(); !s.ok())
    log_->Add(4, "IPSE", "IPSC", "ERR", absl::StrCat("SPD update failed: ", s.message()));
}

void Controller::OnAcquire(const msg::AcquireEvent& e) {
  absl::MutexLock lock(&mu_);
  if (ike_ != nullptr) ike_->Acquire(e.policy_id, e.src, e.dst);
}

void Controller::AdoptHeldSas(const std::vector<msg::SaDumpEntry>& held) {
  std::vector<AdoptedBundle> got = ipsec_.AdoptNegotiated(held);
  DrainIpsecEvents();
  for (const AdoptedBundle& b : got) {
    const Policy* p = ipsec_.PolicyById(b.policy_id);
    std::string ids;
    for (uint32_t id : b.sa_ids) absl::StrAppend(&ids, ids.empty() ? "" : ",", id);
    log_->Add(3, "IPSE", "IPSC", "MSG",
              absl::StrCat("Negotiated SA ", ids, " of policy ", p ? p->name : "?",
                           " kept across the restart",
                           b.soft_passed ? " (soft lifetime passed: rekeyed at once)" : ""));
    adopted_.push_back(b);
  }
}

void Controller::HandOverAdopted() {
  if (ike_ == nullptr || ike_link_ == nullptr) return;
  for (const AdoptedBundle& b : adopted_) {
    // Expiry or DELETE may have removed it meanwhile: hand over what the model still has.
    bool present = !b.sa_ids.empty();
    for (uint32_t id : b.sa_ids) present &= ipsec_.sas().count(id) != 0;
    if (!present) continue;
    ike::AdoptedSaBundle a;
    a.handle = b.sa_ids.front();   // as IkeLink::Install hands out handles
    a.policy_id = b.policy_id;
    a.peer = b.peer;
    a.local = b.local;
    for (size_t i = 0; i < b.protocols.size(); ++i) {
      a.in_spis.push_back({b.protocols[i], b.in_spis[i]});
      a.out_spis.push_back({b.protocols[i], b.out_spis[i]});
    }
    a.initiator = true;
    a.soft_left_s = b.soft_left_s;
    a.soft_passed = b.soft_passed;
    for (uint32_t id : b.sa_ids) a.soft_passed |= ipsec_.sas().at(id).soft_expired;
    ike_link_->Adopt(a.handle, b.sa_ids);
    ike_->AdoptBundle(a);
  }
  adopted_.clear();
}

bool Controller::InboundSpiInUse(uint8_t proto, uint32_t spi) {
  absl::MutexLock lock(&mu_);
  return ipsec_.InboundSpiInUse(proto, spi);
}

}  // namespace arsec::control
