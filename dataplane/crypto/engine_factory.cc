#include "dataplane/crypto/engine_factory.h"

#include "absl/strings/str_cat.h"
#include "dataplane/crypto/cryptodev_engine.h"
#include "dataplane/crypto/ipsec_mb_engine.h"

namespace arsec::dp {

absl::StatusOr<CryptoEngines> CreateCryptoEngines(std::string_view name, unsigned n, int socket) {
  CryptoEngines out;
  if (name == "auto" || name == "ipsec-mb") {
    for (unsigned i = 0; i < n; ++i) {
      auto e = crypto::CreateIpsecMbEngine();
      if (!e.ok()) return e.status();
      out.engines.push_back(std::move(*e));
    }
    out.description = absl::StrCat(std::string(out.engines[0]->Name()), " (", std::string(name), ")");
    return out;
  }
  // Any other name is a DPDK cryptodev: one queue pair per engine.
  crypto::CryptodevOptions co;
  co.max_sessions = 32768;
  auto dev = crypto::CryptodevDevice::Open(name, static_cast<uint16_t>(n), socket, co);
  if (!dev.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("crypto.engine \"", std::string(name),
                                                   "\": ", std::string(dev.status().message())));
  }
  for (unsigned i = 0; i < n; ++i) {
    auto e = (*dev)->MakeEngine(static_cast<uint16_t>(i));
    if (!e.ok()) return e.status();
    out.engines.push_back(std::move(*e));
  }
  out.description = absl::StrCat("cryptodev ", (*dev)->name(), " (driver ", (*dev)->driver(),
                                 ", ", n, " queue pairs)");
  out.device = std::shared_ptr<crypto::CryptodevDevice>(std::move(*dev));
  return out;
}

}  // namespace arsec::dp
