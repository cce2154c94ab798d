// control/ike/ike_rsa against the test keys and certificates in data/ (made with the
// openssl CLI by make_crypto_vectors.py) and against signatures computed independently
// there (textbook RSA over the PKCS#1 v1.5 type 1 block, checked with `openssl pkeyutl`
// and the `cryptography` package): IKEv1 RSASIG signing is deterministic, so our
// signatures must equal them byte for byte, and verify them.
#include "control/ike/ike_rsa.h"

#include <fstream>
#include <iterator>
#include <optional>
#include <string>

#include "gtest/gtest.h"
#include "tests/unit/ike/crypto_vectors.inc"

#ifndef ARSEC_IKE_TEST_DATA
#error "ARSEC_IKE_TEST_DATA must name tests/unit/ike/data"
#endif

namespace arsec::ike {
namespace {

std::string DataPath(const char* name) { return std::string(ARSEC_IKE_TEST_DATA) + "/" + name; }

Bytes FromHex(const char* h) {
  Bytes out;
  std::string s(h);
  for (size_t i = 0; i + 1 < s.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(s.substr(i, 2), nullptr, 16)));
  return out;
}

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// An error message must not carry any part of a PEM key.
void ExpectNoKeyMaterial(const absl::Status& st) {
  const std::string m(st.message());
  EXPECT_EQ(m.find("BEGIN"), std::string::npos) << m;
  EXPECT_EQ(m.find("MII"), std::string::npos) << m;   // base64 of a DER SEQUENCE
}

class RsaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<RsaPrivateKey> k = RsaPrivateKey::LoadPemFile(DataPath("rsa-peer-key.pem"));
    ASSERT_TRUE(k.ok()) << k.status();
    key_.emplace(*std::move(k));
    absl::StatusOr<Certificate> c = Certificate::LoadFile(DataPath("rsa-peer-cert.pem"));
    ASSERT_TRUE(c.ok()) << c.status();
    cert_.emplace(*std::move(c));
  }
  std::optional<RsaPrivateKey> key_;
  std::optional<Certificate> cert_;
};

TEST_F(RsaTest, SignMatchesIndependentSignatures) {
  EXPECT_EQ(key_->Bits(), 2048);
  EXPECT_EQ(key_->ModulusLen(), 256u);
  for (const auto& v : vectors::kRsaSigs) {
    const Bytes hash = FromHex(v.hash), expect = FromHex(v.sig);
    absl::StatusOr<Bytes> sig = key_->Sign(hash);
    ASSERT_TRUE(sig.ok()) << sig.status();
    EXPECT_EQ(*sig, expect) << "hash of " << hash.size() << " bytes";
  }
}

TEST_F(RsaTest, VerifiesIndependentSignatures) {
  absl::StatusOr<RsaPublicKey> pub = cert_->PublicKey();
  ASSERT_TRUE(pub.ok()) << pub.status();
  EXPECT_EQ(pub->ModulusLen(), 256u);
  for (const auto& v : vectors::kRsaSigs) {
    const Bytes hash = FromHex(v.hash), sig = FromHex(v.sig);
    EXPECT_TRUE(pub->Verify(hash, sig).ok());
    EXPECT_TRUE(key_->PublicKey().Verify(hash, sig).ok());

    Bytes bad_sig = sig;
    bad_sig[100] ^= 1;
    EXPECT_EQ(pub->Verify(hash, bad_sig).code(), absl::StatusCode::kPermissionDenied);
    Bytes bad_hash = hash;
    bad_hash[0] ^= 0x80;
    EXPECT_EQ(pub->Verify(bad_hash, sig).code(), absl::StatusCode::kPermissionDenied);
    // A prefix of the hash is not the hash.
    EXPECT_FALSE(pub->Verify(ByteSpan(hash).subspan(0, hash.size() - 1), sig).ok());
    EXPECT_FALSE(pub->Verify(hash, ByteSpan(sig).subspan(0, 10)).ok());
    EXPECT_FALSE(pub->Verify(hash, Bytes(257, 1)).ok());
  }
  // The same key from the DER SubjectPublicKeyInfo.
  absl::StatusOr<RsaPublicKey> spki =
      RsaPublicKey::FromSubjectPublicKeyInfo(FromHex(vectors::kRsaPeerSpki));
  ASSERT_TRUE(spki.ok()) << spki.status();
  const auto& v0 = vectors::kRsaSigs[0];
  EXPECT_TRUE(spki->Verify(FromHex(v0.hash), FromHex(v0.sig)).ok());
  EXPECT_FALSE(RsaPublicKey::FromSubjectPublicKeyInfo(Bytes{0x30, 0x03, 1, 2, 3}).ok());
}

TEST_F(RsaTest, SignaturesFromAnotherKeyFail) {
  absl::StatusOr<Certificate> other = Certificate::LoadFile(DataPath("rsa-self-cert.pem"));
  ASSERT_TRUE(other.ok());
  absl::StatusOr<RsaPublicKey> pub = other->PublicKey();
  ASSERT_TRUE(pub.ok());
  const auto& v = vectors::kRsaSigs[1];
  EXPECT_EQ(pub->Verify(FromHex(v.hash), FromHex(v.sig)).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(RsaTest, SignRejectsOversizeHash) {
  EXPECT_FALSE(key_->Sign(Bytes(246, 1)).ok());   // 256 - 11 + 1
  EXPECT_TRUE(key_->Sign(Bytes(245, 1)).ok());
  EXPECT_FALSE(key_->Sign(Bytes()).ok());
}

TEST_F(RsaTest, CertificateFields) {
  const Bytes der_file = [] {
    std::string s = ReadAll(DataPath("rsa-peer-cert.der"));
    return Bytes(s.begin(), s.end());
  }();
  EXPECT_EQ(cert_->der(), der_file);
  absl::StatusOr<Certificate> from_der = Certificate::LoadFile(DataPath("rsa-peer-cert.der"));
  ASSERT_TRUE(from_der.ok()) << from_der.status();
  EXPECT_EQ(from_der->der(), der_file);
  absl::StatusOr<Certificate> from_payload = Certificate::FromDer(der_file);
  ASSERT_TRUE(from_payload.ok());
  EXPECT_EQ(from_payload->subject_der(), cert_->subject_der());

  EXPECT_EQ(cert_->subject_der(), FromHex(vectors::kRsaPeerSubjectDer));
  EXPECT_EQ(cert_->SubjectText(), vectors::kRsaPeerSubjectText);
  EXPECT_EQ(cert_->SubjectText(), "C=JP, O=arsec test, OU=vpn, CN=gw-a");
  EXPECT_EQ(cert_->IssuerText(), "C=JP, O=arsec test, CN=arsec test CA");

  EXPECT_TRUE(cert_->MatchesKey(*key_));
  absl::StatusOr<RsaPrivateKey> other = RsaPrivateKey::LoadPemFile(DataPath("rsa-self-key.pem"));
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(cert_->MatchesKey(*other));

  EXPECT_TRUE(cert_->HasFqdn("gw-a.example.test"));
  EXPECT_TRUE(cert_->HasFqdn("GW-A.example.test"));
  EXPECT_FALSE(cert_->HasFqdn("gw-b.example.test"));
  EXPECT_FALSE(cert_->HasFqdn("gw-a"));   // the CN is not a subjectAltName
  EXPECT_TRUE(cert_->HasEmail("gw-a@example.test"));
  EXPECT_FALSE(cert_->HasEmail("gw-b@example.test"));
  EXPECT_TRUE(cert_->HasIpv4(0xC0000201));
  EXPECT_FALSE(cert_->HasIpv4(0xC0000202));

  // Trailing bytes after the DER, and garbage.
  Bytes longer = der_file;
  longer.push_back(0);
  EXPECT_FALSE(Certificate::FromDer(longer).ok());
  EXPECT_FALSE(Certificate::FromDer(Bytes{1, 2, 3}).ok());
  EXPECT_FALSE(Certificate::FromPem("-----BEGIN CERTIFICATE-----\nAAAA\n").ok());
}

TEST_F(RsaTest, DistinguishedNames) {
  const Bytes dn = cert_->subject_der();
  absl::StatusOr<std::string> text = DnToText(dn);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "C=JP, O=arsec test, OU=vpn, CN=gw-a");
  EXPECT_TRUE(DnEqual(dn, FromHex(vectors::kRsaPeerSubjectDer)));
  absl::StatusOr<Certificate> ca = Certificate::LoadFile(DataPath("rsa-ca-cert.pem"));
  ASSERT_TRUE(ca.ok());
  EXPECT_FALSE(DnEqual(dn, ca->subject_der()));
  EXPECT_FALSE(DnEqual(dn, Bytes{0x30, 0x00, 0x00}));
  EXPECT_FALSE(DnToText(Bytes{0x04, 0x01, 0x00}).ok());
  Bytes truncated(dn.begin(), dn.end() - 1);
  EXPECT_FALSE(DnToText(truncated).ok());
}

TEST_F(RsaTest, ChainVerification) {
  const std::string ca = DataPath("rsa-ca-cert.pem"), self = DataPath("rsa-self-cert.pem");
  EXPECT_TRUE(VerifyCertificate(*cert_, ca).ok()) << VerifyCertificate(*cert_, ca);

  absl::StatusOr<Certificate> self_cert = Certificate::LoadFile(self);
  ASSERT_TRUE(self_cert.ok());
  absl::Status st = VerifyCertificate(*self_cert, ca);
  EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied) << st;
  EXPECT_TRUE(VerifyCertificate(*self_cert, self).ok());   // its own anchor

  // The peer against the wrong anchor, even with the real CA offered as untrusted.
  absl::StatusOr<Certificate> ca_cert = Certificate::LoadFile(ca);
  ASSERT_TRUE(ca_cert.ok());
  st = VerifyCertificate(*cert_, self, {*ca_cert});
  EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied) << st;
  EXPECT_NE(st.message().find("gw-a"), std::string::npos) << st;

  EXPECT_EQ(VerifyCertificate(*cert_, DataPath("no-such-ca.pem")).code(),
            absl::StatusCode::kNotFound);
  // A file with no certificate in it.
  EXPECT_FALSE(VerifyCertificate(*cert_, DataPath("rsa-peer-cert.der")).ok());
}

TEST(RsaLoad, Errors) {
  absl::StatusOr<RsaPrivateKey> k = RsaPrivateKey::LoadPemFile(DataPath("missing-key.pem"));
  EXPECT_EQ(k.status().code(), absl::StatusCode::kNotFound);

  k = RsaPrivateKey::LoadPemFile(DataPath("rsa-peer-key-encrypted.pem"));
  EXPECT_EQ(k.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(k.status().message().find("encrypted"), std::string::npos) << k.status();
  ExpectNoKeyMaterial(k.status());

  k = RsaPrivateKey::LoadPemFile(DataPath("rsa-small-key.pem"));
  EXPECT_EQ(k.status().code(), absl::StatusCode::kFailedPrecondition);
  ExpectNoKeyMaterial(k.status());

  // A certificate is not a private key, and a key is not a certificate.
  k = RsaPrivateKey::LoadPemFile(DataPath("rsa-peer-cert.pem"));
  EXPECT_EQ(k.status().code(), absl::StatusCode::kInvalidArgument);
  ExpectNoKeyMaterial(k.status());
  absl::StatusOr<Certificate> c = Certificate::LoadFile(DataPath("rsa-peer-key.pem"));
  EXPECT_FALSE(c.ok());
  ExpectNoKeyMaterial(c.status());

  // A damaged key: the message names the file, never its content.
  std::string pem = ReadAll(DataPath("rsa-peer-key.pem"));
  pem[pem.size() / 2] = '*';
  k = RsaPrivateKey::FromPem(pem);
  EXPECT_FALSE(k.ok());
  ExpectNoKeyMaterial(k.status());

  // The same key in PEM from memory loads.
  EXPECT_TRUE(RsaPrivateKey::FromPem(ReadAll(DataPath("rsa-peer-key.pem"))).ok());
}

}  // namespace
}  // namespace arsec::ike
