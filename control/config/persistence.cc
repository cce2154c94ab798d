// POSIX file handling for atomic replacement.
#include "control/config/persistence.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace arsec::control {
namespace {

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

bool WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

std::string DirName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

absl::Status MakeDirs(const std::string& dir, unsigned mode) {
  if (dir.empty() || dir == "." || dir == "/") return absl::OkStatus();
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat(dir, " exists and is not a directory"));
  }
  if (absl::Status s = MakeDirs(DirName(dir), mode); !s.ok()) return s;
  if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) return Errno("cannot create", dir);
  return absl::OkStatus();
}

absl::Status WriteFileAtomic(const std::string& path, absl::string_view contents,
                             unsigned mode) {
  const std::string dir = DirName(path);
  std::string tmpl = absl::StrCat(path, ".tmp.XXXXXX");
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0) return Errno("cannot create a temporary file for", path);
  const std::string tmp = tmpl;
  auto fail = [&](absl::string_view what) {
    absl::Status s = Errno(what, path);
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  };
  if (::fchmod(fd, mode) != 0) return fail("cannot set the mode of");
  if (!WriteAll(fd, contents)) return fail("cannot write");
  if (::fsync(fd) != 0) return fail("cannot fsync");
  if (::close(fd) != 0) {
    fd = -1;
    return fail("cannot close");
  }
  fd = -1;
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("cannot rename onto");
  // The rename is durable only once the directory entry is.
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat(path, " does not exist"));
    return Errno("cannot open", path);
  }
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      absl::Status s = Errno("cannot read", path);
      ::close(fd);
      return s;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (64u << 20)) {
      ::close(fd);
      return absl::FailedPreconditionError(absl::StrCat(path, " is larger than 64 MiB"));
    }
  }
  ::close(fd);
  return out;
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

absl::StatusOr<std::string> ConfigStore::Resolve(absl::string_view name) const {
  if (name.empty()) return absl::InvalidArgumentError("the file name is empty");
  if (name.size() > 255) return absl::InvalidArgumentError("the file name is too long");
  if (absl::StrContains(name, "..")) {
    return absl::InvalidArgumentError("the file name may not contain \"..\"");
  }
  if (name.front() == '/') return std::string(name);
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' &&
        c != '.') {
      return absl::InvalidArgumentError(absl::StrCat(
          "the file name \"", name, "\" may only contain letters, digits, '-', '_' and '.'"));
    }
  }
  return absl::StrCat(dir_, "/", name);
}

std::string ConfigStore::BootName() const {
  auto text = ReadFile(dir_ + "/boot.name");
  if (!text.ok()) return "";
  return std::string(absl::StripAsciiWhitespace(*text));
}

absl::Status ConfigStore::SetBootName(absl::string_view name) {
  if (absl::Status s = MakeDirs(dir_); !s.ok()) return s;
  const std::string path = dir_ + "/boot.name";
  if (name.empty()) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Errno("cannot remove", path);
    return absl::OkStatus();
  }
  return WriteFileAtomic(path, absl::StrCat(name, "\n"));
}

}  // namespace arsec::control
