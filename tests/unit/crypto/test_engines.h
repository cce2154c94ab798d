// The engines the crypto tests run against, set up once per test binary by a GoogleTest
// environment: an Intel IPsec-MB engine, and the DPDK cryptodev engine on DPDK's
// crypto_aesni_mb PMD (an EAL without hugepages, vdevs crypto_aesni_mb0 and
// crypto_aesni_mb1). Suites parameterised over EngineKind run the same assertions on
// both.
#pragma once

#include <iosfwd>
#include <string>

#include "dataplane/crypto/cryptodev_engine.h"
#include "dataplane/crypto/engine.h"

namespace arsec::crypto::testing {

enum class EngineKind { kIpsecMb, kCryptodev };
std::string KindName(EngineKind k);
void PrintTo(EngineKind k, std::ostream* os);  // GoogleTest's name for a parameter

// The shared engine of each kind (cryptodev: queue pair 0 of TestDevice()).
CryptoEngine& SharedEngine(EngineKind k);

// crypto_aesni_mb0, opened with kTestQueuePairs queue pairs (0: the shared engine; the
// others for tests that make their own engines) and GCM sessions for AAD lengths 0, 8,
// 12 and 20 (ESP's two, and the GCM specification's test cases).
constexpr uint16_t kTestQueuePairs = 4;
CryptodevDevice& TestDevice();
// crypto_aesni_mb1 with 64 descriptors per queue pair, to fill the device itself.
constexpr uint32_t kSmallDescriptors = 64;
CryptodevDevice& SmallDevice();

}  // namespace arsec::crypto::testing
