// A scratch directory per test, removed afterwards.
#pragma once

#include <dirent.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

namespace arsec::control::testing {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/arsec-ctl-test.XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::vector<std::string> List() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(path_)) {
      out.push_back(e.path().filename().string());
    }
    return out;
  }

 private:
  std::string path_;
};

}  // namespace arsec::control::testing
