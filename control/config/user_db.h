// users.db: the user database, saved whenever a user changes (like the AR's user
// database, it does not wait for CREATE CONFIG). One user per line, tab-separated:
//   name <TAB> PRIVILEGE <TAB> YES|NO <TAB> pbkdf2-sha256$... <TAB> description
// Only salted hashes are stored; the file is written atomically with mode 0600.
#pragma once

#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "control/config/config_model.h"

namespace arsec::control {

std::string FormatUserDb(const std::vector<User>& users);
// A bad line is an error naming the line: a half-read user database must not silently
// lock the administrator out or let someone in.
absl::StatusOr<std::vector<User>> ParseUserDb(absl::string_view text, absl::string_view source);

absl::Status SaveUserDb(const std::string& path, const std::vector<User>& users);
// NotFound when the file does not exist (the caller then uses the factory users).
absl::StatusOr<std::vector<User>> LoadUserDb(const std::string& path);

}  // namespace arsec::control
