// RSA signatures and X.509 certificates for IKEv1 RSASIG, on OpenSSL 3 (see ike_rsa.h).
//
// Signing goes through EVP_PKEY_sign with RSA_PKCS1_PADDING and no signature digest set:
// OpenSSL then applies the private-key operation to the given bytes with type 1 padding
// and no DigestInfo, which is what RFC 2409 5.1 means by "signed" HASH_I/HASH_R.
// EVP_PKEY_verify in the same mode recovers the padded value and compares it with the
// hash. Errors carry file names and OpenSSL's reason strings (never key bytes), and the
// OpenSSL error queue is drained so that it does not leak into unrelated reports. A PEM
// file holding a private key is wiped from memory once parsed.
#include "control/ike/ike_rsa.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <fstream>
#include <iterator>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace arsec::ike {

namespace {

constexpr size_t kMaxFileBytes = 1 << 20;   // keys and certificates are a few KiB

// The reason of the most recent OpenSSL error ("" if none); empties the queue.
std::string TakeOpensslReason() {
  unsigned long e = ERR_peek_last_error();
  const char* r = e != 0 ? ERR_reason_error_string(e) : nullptr;
  std::string s = r != nullptr ? absl::StrCat(" (", r, ")") : "";
  ERR_clear_error();
  return s;
}

absl::StatusOr<std::string> ReadFile(const std::string& path, const char* what) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return absl::NotFoundError(absl::StrCat(what, " ", path, ": cannot open"));
  std::string data;
  char buf[4096];
  while (f.read(buf, sizeof(buf)) || f.gcount() > 0) {
    data.append(buf, static_cast<size_t>(f.gcount()));
    if (data.size() > kMaxFileBytes) {
      OPENSSL_cleanse(data.data(), data.size());
      return absl::InvalidArgumentError(absl::StrCat(what, " ", path, ": file too large"));
    }
  }
  OPENSSL_cleanse(buf, sizeof(buf));
  return data;
}

void Wipe(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
}

// PEM callback that refuses to supply a passphrase (the default one prompts on a tty).
int NoPassphrase(char*, int, int, void*) { return -1; }

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

BioPtr MemBio(std::string_view s) {
  BioPtr b(BIO_new_mem_buf(s.data(), static_cast<int>(s.size())));
  return b;
}

std::shared_ptr<EVP_PKEY> OwnKey(EVP_PKEY* k) { return {k, EVP_PKEY_free}; }

// The key must be RSA and not too short.
absl::Status CheckRsa(const EVP_PKEY* k, const char* what) {
  if (!EVP_PKEY_is_a(k, "RSA"))
    return absl::FailedPreconditionError(absl::StrCat(what, ": not an RSA key"));
  if (EVP_PKEY_get_bits(k) < kRsaMinBits)
    return absl::FailedPreconditionError(absl::StrCat(
        what, ": RSA key of ", EVP_PKEY_get_bits(k), " bits, at least ", kRsaMinBits,
        " needed"));
  return absl::OkStatus();
}

struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

std::string NameText(const X509_NAME* name) {
  // RFC 2253 escaping, but in the certificate's order with ", " between RDNs, the way
  // strongSwan and most tools print a DN.
  constexpr unsigned long kFlags = ASN1_STRFLGS_RFC2253 | XN_FLAG_SEP_CPLUS_SPC |
                                   XN_FLAG_FN_SN | XN_FLAG_DUMP_UNKNOWN_FIELDS;
  BioPtr b(BIO_new(BIO_s_mem()));
  if (!b || X509_NAME_print_ex(b.get(), name, 0, kFlags) < 0) {
    ERR_clear_error();
    return "";
  }
  char* p = nullptr;
  long n = BIO_get_mem_data(b.get(), &p);
  return n > 0 ? std::string(p, static_cast<size_t>(n)) : "";
}

struct NameFree {
  void operator()(X509_NAME* n) const { X509_NAME_free(n); }
};
using NamePtr = std::unique_ptr<X509_NAME, NameFree>;

struct X509StackFree {
  void operator()(STACK_OF(X509)* s) const { sk_X509_free(s); }
};

NamePtr ParseName(ByteSpan der) {
  const unsigned char* p = der.data();
  NamePtr n(d2i_X509_NAME(nullptr, &p, static_cast<long>(der.size())));
  if (n && p != der.data() + der.size()) n.reset();   // trailing bytes
  if (!n) ERR_clear_error();
  return n;
}

}  // namespace

// ---- RsaPublicKey
absl::StatusOr<RsaPublicKey> RsaPublicKey::FromSubjectPublicKeyInfo(ByteSpan der) {
  const unsigned char* p = der.data();
  EVP_PKEY* k = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
  if (k == nullptr)
    return absl::InvalidArgumentError(
        absl::StrCat("public key: not a DER SubjectPublicKeyInfo", TakeOpensslReason()));
  std::shared_ptr<EVP_PKEY> key = OwnKey(k);
  if (absl::Status st = CheckRsa(k, "public key"); !st.ok()) return st;
  return RsaPublicKey(std::move(key));
}

size_t RsaPublicKey::ModulusLen() const {
  return key_ ? static_cast<size_t>(EVP_PKEY_get_size(key_.get())) : 0;
}
int RsaPublicKey::Bits() const { return key_ ? EVP_PKEY_get_bits(key_.get()) : 0; }

absl::Status RsaPublicKey::Verify(ByteSpan hash, ByteSpan signature) const {
  if (!key_) return absl::FailedPreconditionError("RSA verify: no key");
  if (signature.empty() || signature.size() > ModulusLen())
    return absl::PermissionDeniedError("RSA signature: wrong length");
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_.get(), nullptr));
  if (!ctx || EVP_PKEY_verify_init(ctx.get()) <= 0 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) <= 0) {
    return absl::InternalError(absl::StrCat("RSA verify: setup failed", TakeOpensslReason()));
  }
  int r = EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(), hash.data(),
                          hash.size());
  ERR_clear_error();   // a bad signature leaves padding errors behind
  if (r != 1) return absl::PermissionDeniedError("RSA signature does not match");
  return absl::OkStatus();
}

// ---- RsaPrivateKey
absl::StatusOr<RsaPrivateKey> RsaPrivateKey::FromPem(std::string_view pem) {
  BioPtr bio = MemBio(pem);
  if (!bio) return absl::ResourceExhaustedError("RSA key: out of memory");
  EVP_PKEY* k = PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr);
  if (k == nullptr) {
    std::string reason = TakeOpensslReason();
    if (pem.find("ENCRYPTED") != std::string_view::npos)
      return absl::InvalidArgumentError(
          "RSA key: the PEM key is encrypted; a key without passphrase is needed");
    return absl::InvalidArgumentError(absl::StrCat("RSA key: not a PEM private key", reason));
  }
  std::shared_ptr<EVP_PKEY> key = OwnKey(k);
  if (absl::Status st = CheckRsa(k, "RSA key"); !st.ok()) return st;
  return RsaPrivateKey(std::move(key));
}

absl::StatusOr<RsaPrivateKey> RsaPrivateKey::LoadPemFile(const std::string& path) {
  absl::StatusOr<std::string> pem = ReadFile(path, "RSA key");
  if (!pem.ok()) return pem.status();
  absl::StatusOr<RsaPrivateKey> k = FromPem(*pem);
  Wipe(*pem);
  if (!k.ok())
    return absl::Status(k.status().code(), absl::StrCat(path, ": ", k.status().message()));
  return k;
}

size_t RsaPrivateKey::ModulusLen() const {
  return key_ ? static_cast<size_t>(EVP_PKEY_get_size(key_.get())) : 0;
}
int RsaPrivateKey::Bits() const { return key_ ? EVP_PKEY_get_bits(key_.get()) : 0; }

absl::StatusOr<Bytes> RsaPrivateKey::Sign(ByteSpan hash) const {
  if (!key_) return absl::FailedPreconditionError("RSA sign: no key");
  // Type 1 padding needs at least 11 bytes: 00 01 FF*8.. 00.
  if (hash.empty() || hash.size() + 11 > ModulusLen())
    return absl::InvalidArgumentError("RSA sign: hash too long for the key");
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_.get(), nullptr));
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) <= 0 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) <= 0) {
    return absl::InternalError(absl::StrCat("RSA sign: setup failed", TakeOpensslReason()));
  }
  Bytes sig(ModulusLen());
  size_t len = sig.size();
  if (EVP_PKEY_sign(ctx.get(), sig.data(), &len, hash.data(), hash.size()) <= 0)
    return absl::InternalError(absl::StrCat("RSA sign failed", TakeOpensslReason()));
  sig.resize(len);
  return sig;
}

// ---- Certificate
absl::StatusOr<Certificate> Certificate::FromX509(X509* x) {
  Certificate c;
  c.x509_ = std::shared_ptr<X509>(x, X509_free);
  int n = i2d_X509(x, nullptr);
  if (n <= 0) return absl::InvalidArgumentError("certificate: cannot encode");
  c.der_.resize(static_cast<size_t>(n));
  unsigned char* p = c.der_.data();
  i2d_X509(x, &p);
  const X509_NAME* subj = X509_get_subject_name(x);
  n = i2d_X509_NAME(subj, nullptr);
  if (n <= 0) return absl::InvalidArgumentError("certificate: cannot encode the subject");
  c.subject_der_.resize(static_cast<size_t>(n));
  p = c.subject_der_.data();
  i2d_X509_NAME(subj, &p);
  return c;
}

absl::StatusOr<Certificate> Certificate::FromDer(ByteSpan der) {
  const unsigned char* p = der.data();
  X509* x = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  if (x == nullptr)
    return absl::InvalidArgumentError(
        absl::StrCat("certificate: not a DER X.509 certificate", TakeOpensslReason()));
  if (p != der.data() + der.size()) {
    X509_free(x);
    return absl::InvalidArgumentError("certificate: trailing bytes after the DER");
  }
  return FromX509(x);
}

absl::StatusOr<Certificate> Certificate::FromPem(std::string_view pem) {
  BioPtr bio = MemBio(pem);
  if (!bio) return absl::ResourceExhaustedError("certificate: out of memory");
  X509* x = PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr);
  if (x == nullptr)
    return absl::InvalidArgumentError(
        absl::StrCat("certificate: not a PEM X.509 certificate", TakeOpensslReason()));
  return FromX509(x);
}

absl::StatusOr<Certificate> Certificate::LoadFile(const std::string& path) {
  absl::StatusOr<std::string> data = ReadFile(path, "certificate");
  if (!data.ok()) return data.status();
  absl::StatusOr<Certificate> c =
      absl::StrContains(*data, "-----BEGIN")
          ? FromPem(*data)
          : FromDer(ByteSpan(reinterpret_cast<const uint8_t*>(data->data()), data->size()));
  if (!c.ok())
    return absl::Status(c.status().code(), absl::StrCat(path, ": ", c.status().message()));
  return c;
}

std::string Certificate::SubjectText() const {
  return x509_ ? NameText(X509_get_subject_name(x509_.get())) : "";
}
std::string Certificate::IssuerText() const {
  return x509_ ? NameText(X509_get_issuer_name(x509_.get())) : "";
}

absl::StatusOr<RsaPublicKey> Certificate::PublicKey() const {
  if (!x509_) return absl::FailedPreconditionError("certificate: none loaded");
  EVP_PKEY* k = X509_get_pubkey(x509_.get());   // a new reference
  if (k == nullptr)
    return absl::InvalidArgumentError(
        absl::StrCat("certificate: unusable public key", TakeOpensslReason()));
  std::shared_ptr<EVP_PKEY> key = OwnKey(k);
  if (absl::Status st = CheckRsa(k, "certificate key"); !st.ok()) return st;
  return RsaPublicKey(std::move(key));
}

bool Certificate::MatchesKey(const RsaPrivateKey& key) const {
  if (!x509_) return false;
  RsaPublicKey pub = key.PublicKey();
  bool eq = pub.key_ && EVP_PKEY_eq(X509_get0_pubkey(x509_.get()), pub.key_.get()) == 1;
  ERR_clear_error();
  return eq;
}

bool Certificate::HasFqdn(std::string_view fqdn) const {
  if (!x509_ || fqdn.empty()) return false;
  int r = X509_check_host(x509_.get(), fqdn.data(), fqdn.size(),
                          X509_CHECK_FLAG_NEVER_CHECK_SUBJECT | X509_CHECK_FLAG_NO_WILDCARDS,
                          nullptr);
  ERR_clear_error();
  return r == 1;
}

bool Certificate::HasEmail(std::string_view email) const {
  if (!x509_ || email.empty()) return false;
  int r = X509_check_email(x509_.get(), email.data(), email.size(),
                           X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
  ERR_clear_error();
  return r == 1;
}

bool Certificate::HasIpv4(uint32_t ip) const {
  if (!x509_) return false;
  const unsigned char a[4] = {static_cast<unsigned char>(ip >> 24),
                              static_cast<unsigned char>(ip >> 16),
                              static_cast<unsigned char>(ip >> 8),
                              static_cast<unsigned char>(ip)};
  int r = X509_check_ip(x509_.get(), a, sizeof(a), 0);
  ERR_clear_error();
  return r == 1;
}

// ---- chain verification
absl::Status VerifyCertificate(const Certificate& cert, const std::string& ca_file,
                               absl::Span<const Certificate> untrusted) {
  if (!cert.x509_) return absl::FailedPreconditionError("certificate: none loaded");
  {
    std::ifstream probe(ca_file);
    if (!probe) return absl::NotFoundError(absl::StrCat("CA file ", ca_file, ": cannot open"));
  }
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(),
                                                                 X509_STORE_free);
  if (!store) return absl::ResourceExhaustedError("certificate verify: out of memory");
  if (X509_STORE_load_file(store.get(), ca_file.c_str()) != 1)
    return absl::InvalidArgumentError(absl::StrCat(
        "CA file ", ca_file, ": no PEM certificate could be loaded", TakeOpensslReason()));

  // The stack only borrows the certificates: sk_X509_free, not sk_X509_pop_free.
  std::unique_ptr<STACK_OF(X509), X509StackFree> chain(sk_X509_new_null());
  if (!chain) return absl::ResourceExhaustedError("certificate verify: out of memory");
  for (const Certificate& c : untrusted)
    if (c.x509_ && sk_X509_push(chain.get(), c.x509_.get()) <= 0)
      return absl::ResourceExhaustedError("certificate verify: out of memory");

  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                       X509_STORE_CTX_free);
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), cert.x509_.get(), chain.get()) != 1)
    return absl::ResourceExhaustedError("certificate verify: out of memory");
  int ok = X509_verify_cert(ctx.get());
  int err = X509_STORE_CTX_get_error(ctx.get());
  ERR_clear_error();
  if (ok != 1)
    return absl::PermissionDeniedError(absl::StrCat("certificate ", cert.SubjectText(),
                                                    " not trusted: ",
                                                    X509_verify_cert_error_string(err)));
  return absl::OkStatus();
}

// ---- Distinguished names
absl::StatusOr<std::string> DnToText(ByteSpan der) {
  NamePtr n = ParseName(der);
  if (!n) return absl::InvalidArgumentError("DN: not a DER Name");
  return NameText(n.get());
}

bool DnEqual(ByteSpan a, ByteSpan b) {
  NamePtr na = ParseName(a), nb = ParseName(b);
  if (!na || !nb) return false;
  bool eq = X509_NAME_cmp(na.get(), nb.get()) == 0;
  ERR_clear_error();
  return eq;
}

}  // namespace arsec::ike
