// The crypto-engine interface the ESP/AH stages talk to: encrypt+generate-ICV or
// verify-ICV+decrypt a burst of packets, each for its own SA.
//
// One interface covers synchronous engines (Intel IPsec-MB called directly: the work is
// done inside Enqueue) and asynchronous ones (a DPDK cryptodev or the AR011 board: the
// work finishes later). The contract is the asynchronous one, so the stages are written
// once:
//   accepted = engine.Enqueue(ops, n);   // ops[0..accepted) are now in flight
//   ...
//   k = engine.Dequeue(out, max);        // completed ops, in enqueue order
// A synchronous engine completes the ops before Enqueue returns and hands them back at
// the next Dequeue. Enqueue accepts fewer than n when the engine is full; the caller
// keeps the rest (or drops them) and dequeues to make room.
//
// An op points at plain bytes (not rte_mbuf), so engines are tested without a NIC; the
// ESP stage fills ops from mbufs. Per-SA work (key schedules, HMAC ipad/opad, GCM hash
// keys, the RFC 4106 salt) is done once in CreateSession, off the packet path.
//
// `user` and mbufs: engines that work on memory directly (IPsec-MB) ignore `user`. The
// DPDK cryptodev engine reads it: when non-null it is the rte_mbuf* whose first segment
// holds `data` and every range of the op, and the engine gives the device that mbuf
// (offsets relative to rte_pktmbuf_mtod, IOVAs from the mbuf; an ICV inside the segment
// is used in place). When null, the engine wraps `data` in an external-buffer mbuf of its
// own (IOVA from rte_mem_virt2iova: fine for software PMDs and IOVA-as-VA, meant for
// tests and tools). The ESP stage passes the packet's mbuf. IV, AAD and an ICV outside
// the segment are copied by that engine, so they may live anywhere.
//
// Threading: an engine instance belongs to one worker (Enqueue/Dequeue are not
// thread-safe). A session is immutable after creation and may be used by every engine
// instance of the same kind; it must outlive the ops in flight that point at it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "absl/status/statusor.h"

namespace arsec::crypto {

// ESP encryption algorithms (RFC 4303 / 2405 / 2451 / 3602 / 4106 / 2410).
enum class CipherAlg : uint8_t {
  kNull,
  kDesCbc,
  k3desCbc,
  kAes128Cbc,
  kAes192Cbc,
  kAes256Cbc,
  kAes128Gcm,  // RFC 4106: the key material is key || 4-byte salt
  kAes192Gcm,
  kAes256Gcm,
};

// Integrity algorithms (RFC 2403 / 2404 / 4868 / 2410).
enum class AuthAlg : uint8_t {
  kNull,
  kHmacMd5_96,
  kHmacSha1_96,
  kHmacSha256_128,
  kHmacSha384_192,
  kHmacSha512_256,
};

// What an op does. Outbound: encrypt the cipher range, then write the ICV over the
// auth range (or, for GCM, over AAD + ciphertext) to `digest`. Inbound: compute the ICV
// over the received bytes, compare it with `digest` in constant time, and decrypt.
enum class CryptoDir : uint8_t { kEncrypt, kDecrypt };

enum class CryptoStatus : uint8_t {
  kNotProcessed,  // set by the caller before Enqueue; engines never return it
  kOk,
  kAuthFailed,    // ICV mismatch (inbound): drop the packet, count "ICV failure"
  kError,         // bad lengths/offsets for the algorithm, or an engine failure
};

constexpr bool IsAead(CipherAlg c) {
  return c == CipherAlg::kAes128Gcm || c == CipherAlg::kAes192Gcm ||
         c == CipherAlg::kAes256Gcm;
}
// Key bytes ESP/AH configuration must supply (GCM: including the 4-byte salt).
size_t CipherKeyLen(CipherAlg c);
// The IV carried in each packet (CBC: one block; GCM: the 8-byte explicit IV).
size_t CipherIvLen(CipherAlg c);
// The cipher range must be a multiple of this (1 for NULL and GCM).
size_t CipherBlockLen(CipherAlg c);
// The ICV length the RFCs give for ESP/AH (GCM: 16).
size_t DefaultDigestLen(CipherAlg c, AuthAlg a);
// Natural HMAC key length (RFC 2403/2404/4868: the hash output length); any length is
// accepted, longer than the hash block size is hashed first (RFC 2104).
size_t AuthKeyLen(AuthAlg a);
std::string_view CipherName(CipherAlg c);
std::string_view AuthName(AuthAlg a);

// What CreateSession needs; the spans are read during the call only.
struct SessionParams {
  CipherAlg cipher = CipherAlg::kNull;
  AuthAlg auth = AuthAlg::kNull;  // must be kNull with a GCM cipher
  std::span<const uint8_t> cipher_key;
  std::span<const uint8_t> auth_key;
  // 0: DefaultDigestLen(). Otherwise HMAC accepts its IPsec or its full length, GCM 8,
  // 12 or 16 (RFC 4106).
  uint8_t digest_len = 0;
};

// Per-SA precomputed state. Engines derive from it; the stages only read these fields.
class CryptoSession {
 public:
  virtual ~CryptoSession() = default;
  CryptoSession(const CryptoSession&) = delete;
  CryptoSession& operator=(const CryptoSession&) = delete;

  CipherAlg cipher() const { return cipher_; }
  AuthAlg auth() const { return auth_; }
  uint8_t digest_len() const { return digest_len_; }
  uint8_t iv_len() const { return iv_len_; }
  uint8_t block_len() const { return block_len_; }
  // Bytes from `this` an engine reads per op (0: unknown). With thousands of SAs the
  // pipeline prefetches them for the packets of a burst before the engine runs.
  uint32_t footprint() const { return footprint_; }

 protected:
  void set_footprint(uint32_t bytes) { footprint_ = bytes; }
  CryptoSession(CipherAlg c, AuthAlg a, uint8_t digest_len)
      : cipher_(c), auth_(a), digest_len_(digest_len),
        iv_len_(static_cast<uint8_t>(CipherIvLen(c))),
        block_len_(static_cast<uint8_t>(CipherBlockLen(c))) {}

 private:
  CipherAlg cipher_;
  AuthAlg auth_;
  uint8_t digest_len_;
  uint8_t iv_len_;
  uint8_t block_len_;
  uint32_t footprint_ = 0;
};

// One packet for one SA. Ranges are offsets from `data` and are processed in place.
// Pointers other than `data` may point into the packet or elsewhere (e.g. an ESN AAD
// built on the stack of the stage), and must stay valid until the op is dequeued.
struct alignas(64) CryptoOp {
  const CryptoSession* session;
  uint8_t* data;
  const uint8_t* iv;   // CBC: session->iv_len() bytes; GCM: the 8-byte explicit IV
  const uint8_t* aad;  // GCM only: SPI || seq (8 bytes) or SPI || seq_hi || seq_lo (12)
  uint8_t* digest;     // session->digest_len() bytes: written (encrypt) or checked
  void* user;          // the caller's cookie; the cryptodev engine reads it as the op's rte_mbuf (see above)
  uint16_t cipher_offset;
  uint16_t cipher_len;  // a multiple of session->block_len()
  uint16_t auth_offset;  // HMAC range (ignored for GCM: AAD + cipher range is covered)
  uint16_t auth_len;
  uint8_t aad_len;
  CryptoDir dir;
  CryptoStatus status;  // output
};
static_assert(sizeof(CryptoOp) == 64, "one cache line per op");

class CryptoEngine {
 public:
  virtual ~CryptoEngine() = default;

  virtual std::string_view Name() const = 0;
  // True when Enqueue completes the work itself (Dequeue never waits).
  virtual bool IsSynchronous() const = 0;
  virtual bool Supports(CipherAlg c, AuthAlg a) const = 0;

  // Off the packet path (SA setup). The session is valid for this engine kind only.
  virtual absl::StatusOr<std::unique_ptr<CryptoSession>> CreateSession(
      const SessionParams& p) = 0;

  // Takes ops[0..n) in order; returns how many were accepted (a prefix of ops). The
  // ops of a burst may belong to different sessions; grouping by SA helps engines that
  // batch per key but is not required for correctness.
  virtual uint16_t Enqueue(CryptoOp* const* ops, uint16_t n) = 0;
  // Returns up to max completed ops in enqueue order, each with status set.
  virtual uint16_t Dequeue(CryptoOp** out, uint16_t max) = 0;
  // Ops accepted and not yet dequeued.
  virtual uint32_t InFlight() const = 0;
  // Largest number of ops that can be in flight at once.
  virtual uint32_t Capacity() const = 0;
};

}  // namespace arsec::crypto
