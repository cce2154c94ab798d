// The engines the crypto tests run against. See test_engines.h.
//
// The EAL runs without hugepages (--no-huge -m 256), in memory only (no runtime files
// under /var/run/dpdk), on one lcore. crypto_aesni_mb works from ordinary memory.
#include "tests/unit/crypto/test_engines.h"

#include <gtest/gtest.h>
#include <rte_eal.h>
#include <unistd.h>

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "dataplane/crypto/ipsec_mb_engine.h"

namespace arsec::crypto::testing {
namespace {

struct Engines {
  std::unique_ptr<CryptoEngine> ipsec_mb;
  std::unique_ptr<CryptodevDevice> dev;
  std::unique_ptr<CryptoEngine> cryptodev;
  std::unique_ptr<CryptodevDevice> small;
};
Engines* g_engines = nullptr;

class CryptoEnv : public ::testing::Environment {
 public:
  void SetUp() override {
    std::vector<std::string> a = {"crypto_test",
                                  "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
                                  "-l", "0", "--no-telemetry",
                                  "--vdev=crypto_aesni_mb0", "--vdev=crypto_aesni_mb1",
                                  "--log-level=lib.eal:error",
                                  "--file-prefix=arsec-cdev-test"};
    std::vector<char*> v;
    for (auto& s : a) v.push_back(s.data());
    ASSERT_GE(rte_eal_init(static_cast<int>(v.size()), v.data()), 0) << "EAL did not start";
    eal_ = true;
    g_engines = new Engines;
    auto mb = CreateIpsecMbEngine();
    ASSERT_TRUE(mb.ok()) << mb.status();
    g_engines->ipsec_mb = std::move(*mb);

    CryptodevOptions o;
    o.qp_descriptors = 2048;
    o.max_sessions = 4096;
    o.gcm_aad_lengths = {0, 8, 12, 20};
    auto dev = CryptodevDevice::Open("crypto_aesni_mb0", kTestQueuePairs, -1, o);
    ASSERT_TRUE(dev.ok()) << dev.status();
    g_engines->dev = std::move(*dev);
    auto e = g_engines->dev->MakeEngine(0);
    ASSERT_TRUE(e.ok()) << e.status();
    g_engines->cryptodev = std::move(*e);

    CryptodevOptions so;
    so.qp_descriptors = kSmallDescriptors;
    so.max_sessions = 256;
    auto small = CryptodevDevice::Open("crypto_aesni_mb1", 2, -1, so);
    ASSERT_TRUE(small.ok()) << small.status();
    g_engines->small = std::move(*small);
  }
  void TearDown() override {
    delete g_engines;  // engines and devices go before the EAL
    g_engines = nullptr;
    if (!eal_) return;
    // --no-shconf leaves only an empty runtime directory behind; remove it too.
    const std::string run_dir = rte_eal_get_runtime_dir();
    rte_eal_cleanup();
    rmdir(run_dir.c_str());
  }

 private:
  bool eal_ = false;
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new CryptoEnv);

}  // namespace

std::string KindName(EngineKind k) { return k == EngineKind::kIpsecMb ? "IpsecMb" : "Cryptodev"; }
void PrintTo(EngineKind k, std::ostream* os) { *os << KindName(k); }

CryptoEngine& SharedEngine(EngineKind k) {
  return k == EngineKind::kIpsecMb ? *g_engines->ipsec_mb : *g_engines->cryptodev;
}
CryptodevDevice& TestDevice() { return *g_engines->dev; }
CryptodevDevice& SmallDevice() { return *g_engines->small; }

}  // namespace arsec::crypto::testing
