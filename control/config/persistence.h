// Files arsec-control writes: config scripts (CREATE CONFIG), the boot-config choice
// (SET CONFIG) and the running-config snapshot.
//
// Every write is atomic: a temp file in the same directory, fsync, rename over the target,
// fsync of the directory. A crash leaves either the old file whole or the new file whole,
// never a torn one; a failed write removes its temp file.
#pragma once

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace arsec::control {

absl::Status WriteFileAtomic(const std::string& path, absl::string_view contents,
                             unsigned mode = 0644);
absl::StatusOr<std::string> ReadFile(const std::string& path);
bool FileExists(const std::string& path);
// mkdir -p with `mode` for the directories it creates.
absl::Status MakeDirs(const std::string& dir, unsigned mode = 0755);
std::string DirName(const std::string& path);

// The config directory (default /etc/arsec) and the names the CLI uses in it.
class ConfigStore {
 public:
  explicit ConfigStore(std::string dir) : dir_(std::move(dir)) {}

  const std::string& dir() const { return dir_; }

  // CREATE CONFIG=name / SET CONFIG=name: a bare name (letters, digits, '-', '_', '.')
  // lives in the config directory; an absolute path is taken as is. No "..", no empty name.
  absl::StatusOr<std::string> Resolve(absl::string_view name) const;

  // The boot config chosen by SET CONFIG, persisted in <dir>/boot.name; "" when none.
  std::string BootName() const;
  absl::Status SetBootName(absl::string_view name);   // "" clears (SET CONFIG=NONE)

  // Where releases before users moved into config files kept them; no longer read (a
  // file found there is reported in the log).
  std::string LegacyUsersPath() const { return dir_ + "/users.db"; }

 private:
  std::string dir_;
};

}  // namespace arsec::control
