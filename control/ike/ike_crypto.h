// The cryptography of IKEv1 (RFC 2409), on OpenSSL libcrypto: Diffie-Hellman over the
// MODP groups, the negotiated PRF and hash, the key derivation of section 5 and appendix
// B, the phase 1/phase 2 IVs and CBC encryption of the payload area, the authentication
// hashes of Main, Aggressive and Quick Mode, KEYMAT for the IPsec SAs, and the NAT-D
// hashes of RFC 3947. Pure functions and small value types; no exchange state.
//
// Secrets (SKEYID*, g^xy, keys) live in SecretBytes (common/secret_bytes.h), which wipes
// itself; nothing here logs or formats them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/secret_bytes.h"

namespace arsec::ike {

using Bytes = std::vector<uint8_t>;
using ByteSpan = absl::Span<const uint8_t>;

enum class PrfHash : uint8_t { kMd5, kSha1, kSha256, kSha384, kSha512 };
enum class P1Cipher : uint8_t { kDes, k3Des, kAesCbc };

size_t HashLen(PrfHash h);                      // 16, 20, 32, 48, 64
Bytes Hash(PrfHash h, ByteSpan data);
// HMAC with the hash: IKEv1's prf for every negotiated hash (RFC 2409 section 4).
Bytes Prf(PrfHash h, ByteSpan key, ByteSpan data);
// prf over the concatenation of `parts` (saves copies when hashing many fields).
Bytes PrfParts(PrfHash h, ByteSpan key, std::initializer_list<ByteSpan> parts);

size_t BlockLen(P1Cipher c);                    // 8 DES/3DES, 16 AES
// Key bytes: DES 8, 3DES 24, AES key_bits / 8 (128, 192, 256).
size_t CipherKeyLen(P1Cipher c, int key_bits);
void RandomBytes(uint8_t* out, size_t n);
Bytes RandomBytes(size_t n);

// ---- Diffie-Hellman (RFC 2409 6.1/6.2, RFC 3526): groups 1, 2, 5, 14, 15, 16, 17, 18.
bool DhGroupSupported(int group);
size_t DhLen(int group);                        // public value / shared secret bytes
class DhKeyPair {
 public:
  static absl::StatusOr<DhKeyPair> Generate(int group);
  // For tests: a fixed private exponent (big-endian).
  static absl::StatusOr<DhKeyPair> FromPrivate(int group, ByteSpan priv);
  int group() const { return group_; }
  const Bytes& public_value() const { return pub_; }   // left-padded to DhLen
  // g^xy, left-padded to DhLen. Refuses a peer value that is not 1 < y < p - 1 or of the
  // wrong length.
  absl::StatusOr<SecretBytes> Shared(ByteSpan peer_public) const;
 private:
  int group_ = 0;
  SecretBytes priv_;
  Bytes pub_;
};

// ---- phase 1 keys (RFC 2409 section 5 and appendix B)
// SKEYID for pre-shared keys: prf(pre-shared-key, Ni_b | Nr_b).
SecretBytes SkeyidPsk(PrfHash h, ByteSpan psk, ByteSpan ni_b, ByteSpan nr_b);
// SKEYID for signatures: prf(Ni_b | Nr_b, g^xy).
SecretBytes SkeyidSig(PrfHash h, ByteSpan ni_b, ByteSpan nr_b, ByteSpan gxy);

struct Phase1Keys {
  SecretBytes skeyid, skeyid_d, skeyid_a, skeyid_e;
  SecretBytes enc_key;        // the cipher key, expanded from SKEYID_e as appendix B says
};
// SKEYID_d = prf(SKEYID, g^xy | CKY-I | CKY-R | 0), SKEYID_a = prf(SKEYID, SKEYID_d | g^xy |
// CKY-I | CKY-R | 1), SKEYID_e = prf(SKEYID, SKEYID_a | g^xy | CKY-I | CKY-R | 2); the
// cipher key is the first CipherKeyLen bytes of SKEYID_e, or of K1 | K2 | ... with
// K1 = prf(SKEYID_e, 0), Kn = prf(SKEYID_e, Kn-1) when SKEYID_e is too short.
Phase1Keys DerivePhase1(PrfHash h, P1Cipher c, int key_bits, SecretBytes skeyid,
                        ByteSpan gxy, uint64_t icookie, uint64_t rcookie);

// The first phase 1 IV: hash(g^xi | g^xr) cut to the block length.
Bytes Phase1Iv(PrfHash h, P1Cipher c, ByteSpan gxi, ByteSpan gxr);
// The first IV of a phase 2 / informational exchange: hash(last phase 1 CBC block | M-ID)
// cut to the block length (RFC 2409 appendix B).
Bytes Phase2Iv(PrfHash h, P1Cipher c, ByteSpan last_phase1_block, uint32_t message_id);

// CBC over the payload area. Encrypt pads with zero bytes to the block length (RFC 2409:
// the receiver ignores padding); Decrypt needs a whole number of blocks. After either,
// the IV of the next message in that exchange is the last ciphertext block, which
// `next_iv` receives.
absl::StatusOr<Bytes> CbcEncrypt(P1Cipher c, ByteSpan key, ByteSpan iv, ByteSpan plain,
                                 Bytes* next_iv);
absl::StatusOr<Bytes> CbcDecrypt(P1Cipher c, ByteSpan key, ByteSpan iv, ByteSpan cipher,
                                 Bytes* next_iv);

// ---- authentication hashes
// HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b)
// HASH_R = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b)
// (SAi_b and IDx_b: the payload bodies without their generic headers.)
Bytes HashI(PrfHash h, ByteSpan skeyid, ByteSpan gxi, ByteSpan gxr, uint64_t icookie,
            uint64_t rcookie, ByteSpan sai_b, ByteSpan idii_b);
Bytes HashR(PrfHash h, ByteSpan skeyid, ByteSpan gxi, ByteSpan gxr, uint64_t icookie,
            uint64_t rcookie, ByteSpan sai_b, ByteSpan idir_b);
// Quick Mode: HASH(1) = prf(SKEYID_a, M-ID | rest), HASH(2) = prf(SKEYID_a, M-ID | Ni_b |
// rest), HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b); `rest` is the message's payload
// chain after the HASH payload (generic headers included). Informational and
// Transaction exchanges use HASH(1)'s form.
Bytes QmHash1(PrfHash h, ByteSpan skeyid_a, uint32_t message_id, ByteSpan rest);
Bytes QmHash2(PrfHash h, ByteSpan skeyid_a, uint32_t message_id, ByteSpan ni_b, ByteSpan rest);
Bytes QmHash3(PrfHash h, ByteSpan skeyid_a, uint32_t message_id, ByteSpan ni_b, ByteSpan nr_b);

// KEYMAT for one direction of one IPsec SA (RFC 2409 5.5): prf(SKEYID_d, [g(qm)^xy |]
// protocol | SPI | Ni_b | Nr_b), expanded K1 | K2 | ... (Kn = prf(SKEYID_d, Kn-1 |
// [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b)) to `len` bytes. `spi` is the 4 bytes as on
// the wire; `gxy_qm` empty without PFS.
SecretBytes Keymat(PrfHash h, ByteSpan skeyid_d, ByteSpan gxy_qm, uint8_t protocol,
                   ByteSpan spi, ByteSpan ni_b, ByteSpan nr_b, size_t len);

// RFC 3947 NAT-D: hash(CKY-I | CKY-R | IP | Port), address and port in network order.
Bytes NatD(PrfHash h, uint64_t icookie, uint64_t rcookie, uint32_t ip, uint16_t port);

}  // namespace arsec::ike
