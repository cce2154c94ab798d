// Helpers shared by the crypto engine tests: byte-string helpers, ESP-shaped buffers and
// ops, OpenSSL's libcrypto as the independent reference implementation, and the
// Enqueue/Dequeue plumbing that works for synchronous and asynchronous engines alike.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/crypto/engine.h"

namespace arsec::crypto::testing {

using Bytes = std::vector<uint8_t>;

Bytes Hex(std::string_view h);
Bytes Str(std::string_view s);
Bytes Rep(uint8_t b, size_t n);
Bytes Seq(uint8_t from, size_t n);
Bytes Cat(Bytes a, const Bytes& b);
std::string ToHex(const uint8_t* p, size_t n);
std::string ToHex(const Bytes& b);

// CreateSession that reports a failure (EXPECT) and returns null then.
std::unique_ptr<CryptoSession> MakeSession(CryptoEngine& e, CipherAlg c, const Bytes& ck,
                                           AuthAlg a = AuthAlg::kNull, const Bytes& ak = {},
                                           uint8_t digest_len = 0);

// Dequeues until `n` ops came back or the engine makes no progress for 2 seconds (an
// asynchronous engine may need several calls). Returns how many came back.
size_t DequeueAll(CryptoEngine& e, CryptoOp** out, size_t n);
// Enqueue and dequeue one op; returns its status (EXPECTs that it came back).
CryptoStatus RunOne(CryptoEngine& e, CryptoOp* op);

// Every cipher x integrity pair ESP allows.
struct Pair {
  CipherAlg c;
  AuthAlg a;
};
std::vector<Pair> AllPairs();
std::string PairName(Pair p);

// An SA's random keys (HMAC keys of random length, some longer than the hash block).
class SaKeys {
 public:
  SaKeys(Pair p, std::mt19937& rng);
  static Bytes Rand(size_t n, std::mt19937& rng);
  Pair p_;
  Bytes ck_, ak_;
};

// An ESP packet as the stages lay it out:
//   [SPI|seq 8][IV][payload | pad | padlen | nh][ICV]
// The cipher range is payload..nh; the HMAC range is SPI..nh; GCM's AAD is SPI|seq, or
// SPI|seq_hi|seq_lo (12 bytes, ESN) held outside the packet.
struct EspBuf {
  Bytes b;
  Bytes esn_aad;
  size_t iv_off = 8, ct_off = 0, ct_len = 0, icv_off = 0, icv_len = 0;
  bool esn = false;
};
// Random payload of up to 1500 bytes (or exactly `payload` when >= 0).
EspBuf MakeEsp(const CryptoSession& s, std::mt19937& rng, int payload = -1);
// An op over `e` in place (data = e.b.data()).
CryptoOp MakeOp(const CryptoSession& s, EspBuf& e, CryptoDir dir);

// HMAC with OpenSSL (full output).
Bytes OsslHmac(AuthAlg a, const Bytes& key, const uint8_t* d, size_t n);
// OpenSSL does the ESP transform of `e` in place. Returns false when an ICV fails.
bool OsslEsp(const SaKeys& k, EspBuf& e, bool encrypt);

}  // namespace arsec::crypto::testing
