// RSA signature authentication for IKEv1 (AUTHTYPE=RSASIG, RFC 2409 section 5.1) and the
// X.509 certificates that carry the peers' public keys, on OpenSSL 3 libcrypto.
//
// IKEv1 signs HASH_I / HASH_R directly: the SIG payload holds the RSA private-key
// operation over the hash with PKCS#1 v1.5 type 1 padding and NO DigestInfo (unlike
// IKEv2 or X.509). RsaPrivateKey::Sign and RsaPublicKey::Verify do exactly that.
//
// Certificates give the local identity (the subject DN, sent as ID_DER_ASN1_DN, or a
// subjectAltName) and the peer's public key, after VerifyCertificate checked it against
// the configured CA file (no CRLs). Every error is an absl::Status naming the file or
// the check that failed, never any key material. The types are cheap to copy: they share
// the underlying (reference counted) OpenSSL objects, which are immutable once loaded.
#pragma once

#include <openssl/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "control/ike/ike_crypto.h"

namespace arsec::ike {

// Keys shorter than this are refused when loaded.
inline constexpr int kRsaMinBits = 1024;

class Certificate;

// Checks `cert` against the trust anchors in `ca_file` (one or more PEM certificates),
// with `untrusted` as possible intermediates (CERT payloads besides the end entity's),
// at the current time, without CRLs. OK, or PERMISSION_DENIED with OpenSSL's reason
// ("unable to get local issuer certificate", "certificate has expired", ...); a CA file
// that cannot be read is NOT_FOUND / INVALID_ARGUMENT.
absl::Status VerifyCertificate(const Certificate& cert, const std::string& ca_file,
                               absl::Span<const Certificate> untrusted = {});

class RsaPublicKey {
 public:
  // The RSA public key of a DER SubjectPublicKeyInfo.
  static absl::StatusOr<RsaPublicKey> FromSubjectPublicKeyInfo(ByteSpan der);
  size_t ModulusLen() const;   // signature length in bytes
  int Bits() const;
  // OK iff `signature` is the PKCS#1 v1.5 type 1 encoding of exactly `hash` (no
  // DigestInfo) under this key; PERMISSION_DENIED when it is not.
  absl::Status Verify(ByteSpan hash, ByteSpan signature) const;

 private:
  friend class RsaPrivateKey;
  friend class Certificate;
  explicit RsaPublicKey(std::shared_ptr<EVP_PKEY> k) : key_(std::move(k)) {}
  std::shared_ptr<EVP_PKEY> key_;
};

class RsaPrivateKey {
 public:
  // An unencrypted PEM private key ("BEGIN PRIVATE KEY" or "BEGIN RSA PRIVATE KEY").
  // Encrypted keys are refused (the daemon never prompts for a passphrase).
  static absl::StatusOr<RsaPrivateKey> LoadPemFile(const std::string& path);
  static absl::StatusOr<RsaPrivateKey> FromPem(std::string_view pem);
  size_t ModulusLen() const;
  int Bits() const;
  // The SIG payload body for `hash` (HASH_I or HASH_R): ModulusLen() bytes.
  absl::StatusOr<Bytes> Sign(ByteSpan hash) const;
  RsaPublicKey PublicKey() const { return RsaPublicKey(key_); }

 private:
  explicit RsaPrivateKey(std::shared_ptr<EVP_PKEY> k) : key_(std::move(k)) {}
  std::shared_ptr<EVP_PKEY> key_;
};

class Certificate {
 public:
  // A PEM ("BEGIN CERTIFICATE") or DER file; the format is recognised from the content.
  static absl::StatusOr<Certificate> LoadFile(const std::string& path);
  static absl::StatusOr<Certificate> FromPem(std::string_view pem);
  // The body of a CERT payload with encoding 4 (X.509 Certificate - Signature).
  static absl::StatusOr<Certificate> FromDer(ByteSpan der);

  const Bytes& der() const { return der_; }                  // for a CERT payload
  const Bytes& subject_der() const { return subject_der_; }  // ID_DER_ASN1_DN body
  std::string SubjectText() const;    // "C=JP, O=Example, CN=gw-a" (RFC 2253 escaping)
  std::string IssuerText() const;
  // The certificate's key; FAILED_PRECONDITION when it is not an RSA key.
  absl::StatusOr<RsaPublicKey> PublicKey() const;
  // Whether `key` is the private half of this certificate's key.
  bool MatchesKey(const RsaPrivateKey& key) const;
  // Identity checks for ID payloads other than ID_DER_ASN1_DN: the subjectAltName
  // dNSName / rfc822Name / iPAddress (IPv4, host order) entries.
  bool HasFqdn(std::string_view fqdn) const;
  bool HasEmail(std::string_view email) const;
  bool HasIpv4(uint32_t ip) const;

 private:
  friend absl::Status VerifyCertificate(const Certificate& cert, const std::string& ca_file,
                                        absl::Span<const Certificate> untrusted);
  Certificate() = default;
  static absl::StatusOr<Certificate> FromX509(X509* x);   // takes ownership
  std::shared_ptr<X509> x509_;
  Bytes der_;
  Bytes subject_der_;
};

// The printable form of an ID_DER_ASN1_DN body (a DER Name), as SubjectText prints it.
absl::StatusOr<std::string> DnToText(ByteSpan der);
// Whether two DER Names are the same name (OpenSSL's canonical comparison, so case and
// string-type differences that X.500 ignores do not matter). False if either is not a Name.
bool DnEqual(ByteSpan a, ByteSpan b);

}  // namespace arsec::ike
