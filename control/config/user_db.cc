// Reading and writing users.db.
#include "control/config/user_db.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "control/config/password.h"
#include "control/config/persistence.h"

namespace arsec::control {

std::string FormatUserDb(const std::vector<User>& users) {
  std::string out = "# arsec user database: name, privilege, login, salted hash, description\n";
  for (const auto& u : users) {
    absl::StrAppend(&out, u.name, "\t", PrivilegeName(u.privilege), "\t", u.login ? "YES" : "NO",
                    "\t", u.password_hash, "\t", u.description, "\n");
  }
  return out;
}

absl::StatusOr<std::vector<User>> ParseUserDb(absl::string_view text, absl::string_view source) {
  std::vector<User> users;
  int lineno = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++lineno;
    line = absl::StripTrailingAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    std::vector<absl::string_view> f = absl::StrSplit(line, '\t');
    auto bad = [&](absl::string_view why) {
      return absl::DataLossError(absl::StrCat(source, ":", lineno, ": ", why));
    };
    if (f.size() < 4 || f.size() > 5) return bad("expected 4 or 5 tab-separated fields");
    User u;
    u.name = std::string(f[0]);
    if (u.name.empty()) return bad("empty user name");
    if (f[1] == "USER") {
      u.privilege = lang::Privilege::kUser;
    } else if (f[1] == "MANAGER") {
      u.privilege = lang::Privilege::kManager;
    } else if (f[1] == "SECURITYOFFICER") {
      u.privilege = lang::Privilege::kSecurityOfficer;
    } else {
      return bad("unknown privilege");
    }
    if (f[2] != "YES" && f[2] != "NO") return bad("login must be YES or NO");
    u.login = f[2] == "YES";
    if (!IsPasswordHash(f[3])) return bad("malformed password hash");
    u.password_hash = std::string(f[3]);
    if (f.size() == 5) u.description = std::string(f[4]);
    for (const auto& o : users) {
      if (absl::EqualsIgnoreCase(o.name, u.name)) return bad("duplicate user");
    }
    users.push_back(std::move(u));
  }
  if (users.empty()) return absl::DataLossError(absl::StrCat(source, ": no users"));
  return users;
}

absl::Status SaveUserDb(const std::string& path, const std::vector<User>& users) {
  if (absl::Status s = MakeDirs(DirName(path)); !s.ok()) return s;
  return WriteFileAtomic(path, FormatUserDb(users), 0600);
}

absl::StatusOr<std::vector<User>> LoadUserDb(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  return ParseUserDb(*text, path);
}

}  // namespace arsec::control
