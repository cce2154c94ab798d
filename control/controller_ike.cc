// The Controller's side of IKE: negotiated SA bundles go into the IPsec model (and so to
// the dataplane and SHOW IPSEC SA), dataplane events about them go to the IKE daemon.
// Called from the IKE daemon's thread through IkeLink (ike_link.h).
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
  auto ids = ipsec_.InstallNegotiated(nb.policy_id, std::move(pairs), std::move(records));
  DrainIpsecEvents();
  return ids;
}

void Controller::RemoveNegotiatedSas(const std::vector<uint32_t>& sa_ids) {
  absl::MutexLock lock(&mu_);
  ipsec_.RemoveNegotiated(sa_ids);
  DrainIpsecEvents();
}

void Controller::OnAcquire(const msg::AcquireEvent& e) {
  absl::MutexLock lock(&mu_);
  if (ike_ != nullptr) ike_->Acquire(e.policy_id, e.src, e.dst);
}

bool Controller::InboundSpiInUse(uint8_t proto, uint32_t spi) {
  absl::MutexLock lock(&mu_);
  return ipsec_.InboundSpiInUse(proto, spi);
}

}  // namespace arsec::control
