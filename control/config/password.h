// Salted password hashes for the user database (OpenSSL PBKDF2-HMAC-SHA256).
//
// The stored form is self-describing so the work factor can grow later:
//   pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>
// Cleartext passwords exist only on the stack of the command that received them; they are
// never stored, printed or logged.
#pragma once

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace arsec::control {

inline constexpr unsigned kPasswordIterations = 20000;

// A new random salt each call: the same password hashes differently every time.
absl::StatusOr<std::string> HashPassword(absl::string_view password,
                                         unsigned iterations = kPasswordIterations);
// Constant-time comparison; false for a malformed stored hash.
bool VerifyPassword(absl::string_view password, absl::string_view stored);
// True when `stored` has the form above (ADD USER ... SECRET= is checked with it).
bool IsPasswordHash(absl::string_view stored);

}  // namespace arsec::control
