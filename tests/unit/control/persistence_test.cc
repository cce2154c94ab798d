// Atomic writes and config names.
#include "control/config/persistence.h"

#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test_dir.h"

namespace arsec::control {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::TempDir;

TEST(AtomicWrite, CreatesAndReplacesWholeLeavingNoTemp) {
  TempDir dir;
  const std::string path = dir.path() + "/a.cfg";
  ASSERT_TRUE(WriteFileAtomic(path, std::string(100000, 'x')).ok());
  ASSERT_TRUE(WriteFileAtomic(path, "short\n").ok());
  EXPECT_EQ(*ReadFile(path), "short\n");
  EXPECT_THAT(dir.List(), ElementsAre("a.cfg"));
}

TEST(AtomicWrite, FailureLeavesOldFileAndNoTemp) {
  TempDir dir;
  const std::string path = dir.path() + "/a.cfg";
  ASSERT_TRUE(WriteFileAtomic(path, "old\n").ok());
  // Renaming onto a directory fails after the temp file was written: it must go away.
  const std::string blocked = dir.path() + "/sub";
  ASSERT_EQ(::mkdir(blocked.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((blocked + "/x").c_str(), 0755), 0);
  EXPECT_FALSE(WriteFileAtomic(blocked, "new\n").ok());
  EXPECT_THAT(dir.List(), ::testing::UnorderedElementsAre("a.cfg", "sub"));
  EXPECT_EQ(*ReadFile(path), "old\n");
  EXPECT_FALSE(WriteFileAtomic(dir.path() + "/missing/b.cfg", "x").ok());
}

TEST(AtomicWrite, Mode) {
  TempDir dir;
  const std::string path = dir.path() + "/a.cfg";
  ASSERT_TRUE(WriteFileAtomic(path, "x", 0600).ok());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(ConfigStore, ResolveNames) {
  ConfigStore store("/etc/arsec");
  EXPECT_EQ(*store.Resolve("ipsecvpn.cfg"), "/etc/arsec/ipsecvpn.cfg");
  EXPECT_EQ(*store.Resolve("/tmp/x.cfg"), "/tmp/x.cfg");
  EXPECT_FALSE(store.Resolve("").ok());
  EXPECT_FALSE(store.Resolve("../passwd").ok());
  EXPECT_FALSE(store.Resolve("a/b.cfg").ok());
  EXPECT_FALSE(store.Resolve("a b.cfg").ok());
}

TEST(ConfigStore, BootName) {
  TempDir dir;
  ConfigStore store(dir.path());
  EXPECT_EQ(store.BootName(), "");
  ASSERT_TRUE(store.SetBootName("ipsecvpn.cfg").ok());
  EXPECT_EQ(store.BootName(), "ipsecvpn.cfg");
  EXPECT_EQ(ConfigStore(dir.path()).BootName(), "ipsecvpn.cfg");
  EXPECT_THAT(dir.List(), ElementsAre("boot.name"));
}

}  // namespace
}  // namespace arsec::control
