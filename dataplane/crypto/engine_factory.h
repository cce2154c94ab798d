// Chooses and creates the crypto engines from the startup config's `crypto.engine`:
//   "ipsec-mb"        Intel IPsec-MB through its burst API, in the worker itself;
//   "<cryptodev>"     any DPDK cryptodev by device name (e.g. "crypto_aesni_mb0", created
//                     with an EAL --vdev, or the AR011 board's PMD), one queue pair per
//                     engine;
//   "auto"            the AR011 board when present, else the fastest software engine
//                     (IPsec-MB direct: measured faster per core than the same library
//                     behind the cryptodev API, see docs/benchmarks.md).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/crypto/engine.h"

namespace arsec::dp {

struct CryptoEngines {
  std::vector<std::unique_ptr<crypto::CryptoEngine>> engines;  // n of them, same kind
  std::string description;                                     // for the start-up log
  std::shared_ptr<void> device;  // a cryptodev the engines run on (outlives them)
};

absl::StatusOr<CryptoEngines> CreateCryptoEngines(std::string_view name, unsigned n, int socket);

}  // namespace arsec::dp
