// PBKDF2 from libcrypto; the salt from RAND_bytes.
#include "control/config/password.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace arsec::control {
namespace {

constexpr char kScheme[] = "pbkdf2-sha256";
constexpr size_t kSaltLen = 16;
constexpr size_t kHashLen = 32;

bool Derive(absl::string_view password, const std::string& salt, unsigned iterations,
            unsigned char* out) {
  return PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                           reinterpret_cast<const unsigned char*>(salt.data()),
                           static_cast<int>(salt.size()), static_cast<int>(iterations),
                           EVP_sha256(), kHashLen, out) == 1;
}

struct Parsed {
  unsigned iterations = 0;
  std::string salt, hash;
};

bool ParseStored(absl::string_view stored, Parsed* p) {
  std::vector<absl::string_view> f = absl::StrSplit(stored, '$');
  if (f.size() != 4 || f[0] != kScheme) return false;
  if (!absl::SimpleAtoi(f[1], &p->iterations) || p->iterations < 1000 ||
      p->iterations > 10000000) {
    return false;
  }
  auto is_hex = [](absl::string_view s) {
    if (s.empty() || s.size() % 2) return false;
    for (char c : s) {
      if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
    }
    return true;
  };
  if (!is_hex(f[2]) || !is_hex(f[3])) return false;
  p->salt = absl::HexStringToBytes(f[2]);
  p->hash = absl::HexStringToBytes(f[3]);
  return p->salt.size() >= 8 && p->hash.size() == kHashLen;
}

}  // namespace

absl::StatusOr<std::string> HashPassword(absl::string_view password, unsigned iterations) {
  unsigned char salt[kSaltLen];
  if (RAND_bytes(salt, sizeof(salt)) != 1) {
    return absl::InternalError("no randomness for a password salt");
  }
  std::string salt_s(reinterpret_cast<char*>(salt), sizeof(salt));
  unsigned char out[kHashLen];
  if (!Derive(password, salt_s, iterations, out)) {
    return absl::InternalError("PBKDF2 failed");
  }
  std::string hash(reinterpret_cast<char*>(out), sizeof(out));
  OPENSSL_cleanse(out, sizeof(out));
  return absl::StrCat(kScheme, "$", iterations, "$", absl::BytesToHexString(salt_s), "$",
                      absl::BytesToHexString(hash));
}

bool VerifyPassword(absl::string_view password, absl::string_view stored) {
  Parsed p;
  if (!ParseStored(stored, &p)) return false;
  unsigned char out[kHashLen];
  if (!Derive(password, p.salt, p.iterations, out)) return false;
  const bool same = CRYPTO_memcmp(out, p.hash.data(), kHashLen) == 0;
  OPENSSL_cleanse(out, sizeof(out));
  return same;
}

bool IsPasswordHash(absl::string_view stored) {
  Parsed p;
  return ParseStored(stored, &p);
}

}  // namespace arsec::control
