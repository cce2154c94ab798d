// SecretBytes: the one holder of key material in arsec (ENCO keys, pre-shared keys,
// XAUTH passwords, IKE's SKEYID* / g^xy / KEYMAT).
//
// Why one class in common/: the ENCO key store and the IKE daemon hand the same secrets to
// each other (a policy's PRESHARED key becomes a peer's psk), so they share one type and a
// handover is a plain copy, with no detour through an unprotected std::vector.
//
// How it keeps secrets: the bytes live in a std::vector that is only ever replaced whole,
// and every way the old bytes go away (destruction, copy or move assignment, Wipe) first
// zeroes the vector's whole buffer with explicit_bzero, which the compiler may not elide
// as a dead store. explicit_bzero (glibc <string.h>) rather than OPENSSL_cleanse because
// common/ is linked by the dataplane too, and that must not need libcrypto. A move leaves
// the source empty (its buffer travels, so nothing is left behind to wipe); a copy is a
// second holder that wipes itself in turn. Comparison is constant-time in the contents.
// The only text form is redacted ("[secret: N bytes]"), so a stray log line or a test
// failure never prints key bytes; the bytes themselves are reached only via data(),
// bytes() and span(), for the code that really uses them.
#pragma once

#include <string.h>   // explicit_bzero

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <utility>
#include <vector>

#include "absl/types/span.h"

namespace arsec {

class SecretBytes {
 public:
  SecretBytes() = default;
  // Takes the vector's buffer; pass it with std::move so no unwiped copy stays behind.
  explicit SecretBytes(std::vector<uint8_t> b) noexcept : b_(std::move(b)) {}
  SecretBytes(const SecretBytes& o) : b_(o.b_) {}
  SecretBytes& operator=(const SecretBytes& o) {
    if (this != &o) {
      Wipe();
      b_ = o.b_;   // into the wiped buffer, or a new one after the wiped one is freed
    }
    return *this;
  }
  SecretBytes(SecretBytes&& o) noexcept : b_(std::move(o.b_)) { o.b_.clear(); }
  SecretBytes& operator=(SecretBytes&& o) noexcept {
    if (this != &o) {
      Wipe();
      b_ = std::move(o.b_);
      o.b_.clear();
    }
    return *this;
  }
  ~SecretBytes() { Wipe(); }

  const uint8_t* data() const { return b_.data(); }
  size_t size() const { return b_.size(); }
  bool empty() const { return b_.empty(); }
  const std::vector<uint8_t>& bytes() const { return b_; }
  absl::Span<const uint8_t> span() const { return b_; }

  // Zeroes the whole buffer (also any capacity past size() that the vector brought with
  // it) and leaves the value empty.
  void Wipe() noexcept {
    if (b_.capacity() == 0) return;
    b_.resize(b_.capacity());   // within capacity: no allocation, so it cannot throw
    explicit_bzero(b_.data(), b_.size());
    b_.clear();
  }

  // Equal sizes and bytes; the time taken depends only on the size.
  friend bool operator==(const SecretBytes& a, const SecretBytes& b) {
    if (a.b_.size() != b.b_.size()) return false;
    volatile uint8_t diff = 0;
    for (size_t i = 0; i < a.b_.size(); ++i) diff = diff | (a.b_[i] ^ b.b_[i]);
    return diff == 0;
  }

  // Redacted: the size only (also what GoogleTest prints for a failed expectation).
  friend std::ostream& operator<<(std::ostream& os, const SecretBytes& s) {
    return os << "[secret: " << s.size() << " bytes]";
  }

 private:
  std::vector<uint8_t> b_;
};

}  // namespace arsec
