// The DPDK cryptodev engine: CryptoEngine on any symmetric cryptodev PMD (a software PMD
// such as crypto_aesni_mb, a NIC or look-aside accelerator, the AR011 board's own PMD).
// Asynchronous: Enqueue hands rte_crypto_ops to the device's queue pair, Dequeue
// collects them and gives back our CryptoOps in enqueue order.
//
// Two objects:
//   auto dev = CryptodevDevice::Open("crypto_aesni_mb0", n_workers);  // once, at start
//   auto engine = (*dev)->MakeEngine(worker_index);                     // one per worker
// Open configures the device (one queue pair per worker), creates its session pool and
// starts it; MakeEngine binds one queue pair to one engine, with the engine's own
// rte_crypto_op pool (ops are taken at creation and recycled, none are allocated per
// packet). Sessions come from CreateSession of any engine of the device and are valid in
// every engine of that device. The device, its engines and its sessions may be destroyed
// in any order: the device is stopped and closed when the last of them is gone.
//
// Each SA is one CryptodevSession holding device sessions per direction (cryptodev
// sessions fix the operation): outbound encrypt-then-generate, inbound verify-then-
// decrypt (RFC 4303 section 3.4.4 order), an AEAD xform for AES-GCM. GCM's AAD length is
// part of a cryptodev session too, so a GCM SA gets one pair per AAD length the device
// was opened with (ESP: 8 = SPI||seq, 12 = SPI||seq_hi||seq_lo with ESN); an op with any
// other AAD length fails with kError. HMAC keys longer than the hash block are hashed
// first (RFC 2104; the cryptodev API leaves that to the caller).
//
// Supports() reflects the PMD's capabilities (rte_cryptodev_sym_capability_get with the
// IPsec key, IV, digest and AAD sizes, and chaining for cipher+HMAC pairs); CreateSession
// checks the exact sizes again and refuses what the PMD lacks.
//
// Buffers (see engine.h): with op->user set to the rte_mbuf whose first segment holds
// op->data, the mbuf is the op's m_src and the ranges must lie in that segment; the ICV
// is addressed in place (IOVA from the mbuf) when it lies in the segment. With user null
// the engine wraps op->data in an external-buffer mbuf of its own (IOVA from
// rte_mem_virt2iova, so plain buffers suit software PMDs and IOVA-as-VA; this path is
// for tests and tools, not the packet path). IVs, the GCM nonce and AAD, and an ICV
// outside the segment are copied into the rte_crypto_op's private area, whose IOVA is
// known, so every address a hardware PMD sees is valid.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/crypto/engine.h"

namespace arsec::crypto {

// ESP's GCM AAD lengths (RFC 4106 section 5): SPI || seq, and SPI || seq_hi || seq_lo.
inline constexpr std::array<uint8_t, 2> kEspGcmAadLengths = {8, 12};

struct CryptodevOptions {
  // Descriptors per queue pair; an engine's Capacity() is at most this. Most PMDs want a
  // power of two.
  uint32_t qp_descriptors = 2048;
  // Device sessions in the pool. An SA takes 2 (one per direction); a GCM SA takes 2 per
  // entry of gcm_aad_lengths.
  uint32_t max_sessions = 8192;
  // The GCM AAD lengths sessions are prepared for (at most 4, each at most 64 bytes).
  std::vector<uint8_t> gcm_aad_lengths{kEspGcmAadLengths.begin(), kEspGcmAadLengths.end()};
};

struct CryptodevEngineOptions {
  // Ops in flight at once (accepted, not yet dequeued); capped at the queue pair's
  // descriptor count.
  uint32_t capacity = 1024;
};

namespace cryptodev_internal {
struct DeviceState;
}

class CryptodevDevice {
 public:
  // `name` is a cryptodev name (rte_cryptodev_get_dev_id). A device the EAL has not
  // created yet is probed with `name` as devargs (e.g. "crypto_aesni_mb0", a vdev whose
  // driver the name starts with) and removed again when the last user is gone.
  // `n_qps`: queue pairs to configure, one per engine. `socket`: the NUMA socket for
  // pools and queues; -1 takes the device's own.
  static absl::StatusOr<std::unique_ptr<CryptodevDevice>> Open(
      std::string_view name, uint16_t n_qps, int socket = -1,
      const CryptodevOptions& options = {});
  ~CryptodevDevice();
  CryptodevDevice(const CryptodevDevice&) = delete;
  CryptodevDevice& operator=(const CryptodevDevice&) = delete;

  // An engine on queue pair `qp`; one engine per queue pair at a time.
  absl::StatusOr<std::unique_ptr<CryptoEngine>> MakeEngine(
      uint16_t qp, const CryptodevEngineOptions& options = {});

  bool Supports(CipherAlg c, AuthAlg a) const;
  uint8_t dev_id() const;
  const std::string& name() const;
  const std::string& driver() const;  // e.g. "crypto_aesni_mb"
  uint16_t queue_pairs() const;

 private:
  explicit CryptodevDevice(std::shared_ptr<cryptodev_internal::DeviceState> s);
  std::shared_ptr<cryptodev_internal::DeviceState> state_;
};

}  // namespace arsec::crypto
