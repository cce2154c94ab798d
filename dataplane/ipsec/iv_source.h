// Per-worker source of unpredictable CBC IVs (RFC 4303 section 3.3.2, RFC 3602 section
// 2.1: a CBC IV must not be predictable by an attacker, so a counter will not do).
//
// A buffer of keystream from AES-128 in counter mode (Intel IPsec-MB) under a key drawn
// from getrandom() once, at creation; the packet path copies IVs out of the buffer and
// refills it in bulk, 4 KiB (256 AES-CBC IVs) per refill, so there is no syscall and no
// per-packet cipher call. Every refill uses a fresh counter block (a random 4-byte
// prefix || a 64-bit refill number || the 32-bit block counter), so no block repeats
// under one key.
//
// One instance per worker thread (not thread-safe). Tests use CreateDeterministic() to
// make the IV bytes a known stream, to compare packets with another implementation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/statusor.h"

namespace arsec::dp {

class IvSource {
 public:
  static constexpr size_t kBufBytes = 4096;

  // Off the packet path: allocates the IPsec-MB manager and draws the key.
  static absl::StatusOr<std::unique_ptr<IvSource>> Create();
  // The IV bytes are `stream` repeated (for tests; never for traffic). stream non-empty.
  static std::unique_ptr<IvSource> CreateDeterministic(std::span<const uint8_t> stream);

  ~IvSource();
  IvSource(const IvSource&) = delete;
  IvSource& operator=(const IvSource&) = delete;

  // Writes n (<= kBufBytes) unpredictable bytes to out.
  void Fill(uint8_t* out, size_t n) {
    if (n > kBufBytes - pos_) Refill();
    if (n == 16) {  // AES-CBC: one 16-byte move instead of a memcpy call
      std::memcpy(out, buf_ + pos_, 16);
    } else {
      std::memcpy(out, buf_ + pos_, n);
    }
    pos_ += n;
  }

  uint64_t refills() const { return refills_; }

 private:
  IvSource() = default;
  void Refill();

  void* mgr_ = nullptr;  // IMB_MGR (null in deterministic mode)
  alignas(16) uint8_t enc_keys_[16 * 11] = {};
  alignas(16) uint8_t dec_keys_[16 * 11] = {};
  uint8_t nonce_[4] = {};
  uint64_t refills_ = 0;
  std::vector<uint8_t> stream_;  // deterministic mode
  size_t stream_pos_ = 0;
  size_t pos_ = kBufBytes;  // empty: the first Fill refills
  alignas(64) uint8_t buf_[kBufBytes];
};

}  // namespace arsec::dp
