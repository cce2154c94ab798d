// The socket protocol: login, exec, bad frames, stale sockets, permissions.
#include "control/cli_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_dataplane.h"
#include "test_dir.h"

namespace arsec::control {
namespace {

using ::testing::HasSubstr;
using testing::FakeDataplane;
using testing::TempDir;

int Connect(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof(a.sun_path), "%s", path.c_str());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

struct Reply {
  std::string verb, body;
};

Reply Call(int fd, absl::string_view verb, absl::string_view body) {
  EXPECT_TRUE(WriteFrame(fd, verb, body));
  Reply r;
  std::string err;
  if (!ReadFrame(fd, &r.verb, &r.body, 1 << 24, &err)) r.verb = "EOF";
  return r;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ControllerOptions o;
    o.config_dir = dir.path() + "/etc";
    ctl = std::make_unique<Controller>(&dp, &log, o);
    ASSERT_TRUE(ctl->Start().ok());
    server = std::make_unique<CliServer>(ctl.get(), &log);
    server->set_login_delay_ms(1);
    path = dir.path() + "/run/sub/arsec.sock";
    ASSERT_TRUE(server->Start(path).ok());
  }
  void TearDown() override { server->Stop(); }
  TempDir dir;
  FakeDataplane dp;
  LogBuffer log;
  std::unique_ptr<Controller> ctl;
  std::unique_ptr<CliServer> server;
  std::string path;
};

TEST_F(ServerTest, LoginExecBye) {
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  int fd = Connect(path);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(Call(fd, "EXEC", "SHOW IP ROUTE").verb, "ERR");
  EXPECT_EQ(Call(fd, "LOGIN", "manager\nwrong").verb, "ERR");
  Reply r = Call(fd, "LOGIN", "manager\nfriend");
  EXPECT_EQ(r.verb, "OK");
  EXPECT_EQ(r.body, "Manager");
  r = Call(fd, "EXEC", "SHOW IP ROUTE");
  EXPECT_EQ(r.verb, "OK");
  EXPECT_THAT(r.body, HasSubstr("IP Routes"));
  r = Call(fd, "EXEC", "ADD IP INT=vlan9 IP=1.2.3.4");
  EXPECT_EQ(r.verb, "ERR");
  EXPECT_THAT(r.body, HasSubstr("Error ("));
  EXPECT_EQ(Call(fd, "EXEC", "SHOW IP ROUTE\n").verb, "OK");
  EXPECT_EQ(Call(fd, "EXEC", "SHOW IP ROUTE\nSHOW IP ARP").verb, "ERR");
  EXPECT_EQ(Call(fd, "EXEC", "").verb, "OK");   // an empty line does nothing
  EXPECT_EQ(Call(fd, "BYE", "").verb, "OK");
  ::close(fd);
}

TEST_F(ServerTest, LogoffCloses) {
  int fd = Connect(path);
  ASSERT_EQ(Call(fd, "LOGIN", "manager\nfriend").verb, "OK");
  EXPECT_EQ(Call(fd, "EXEC", "LOGOFF").verb, "OK");
  char c;
  EXPECT_EQ(::recv(fd, &c, 1, 0), 0);
  ::close(fd);
}

TEST_F(ServerTest, BadFramesGetErrAndClose) {
  for (std::string junk : {std::string("garbage\n"), std::string("EXEC -1\n"),
                           std::string("EXEC 99999999999\n"), std::string(200, 'A'),
                           std::string("EXEC 12x\n"), std::string("FROB 0\n")}) {
    int fd = Connect(path);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL), static_cast<ssize_t>(junk.size()));
    std::string verb, body, err;
    ASSERT_TRUE(ReadFrame(fd, &verb, &body, 1 << 20, &err)) << junk;
    EXPECT_EQ(verb, "ERR") << junk;
    char c;
    // Closed: EOF, or a reset when the server left part of the junk unread.
    EXPECT_LE(::recv(fd, &c, 1, 0), 0) << junk;
    ::close(fd);
  }
  // Still serving.
  int fd = Connect(path);
  EXPECT_EQ(Call(fd, "LOGIN", "manager\nfriend").verb, "OK");
  ::close(fd);
}

TEST_F(ServerTest, ThreeFailuresClose) {
  int fd = Connect(path);
  EXPECT_EQ(Call(fd, "LOGIN", "manager\na").verb, "ERR");
  EXPECT_EQ(Call(fd, "LOGIN", "manager\nb").verb, "ERR");
  EXPECT_EQ(Call(fd, "LOGIN", "manager\nc").verb, "ERR");
  char c;
  EXPECT_EQ(::recv(fd, &c, 1, 0), 0);
  ::close(fd);
}

TEST_F(ServerTest, LiveSocketIsNotStolenStaleOneIsReplaced) {
  CliServer second(ctl.get(), &log);
  EXPECT_FALSE(second.Start(path).ok());
  server->Stop();
  // Leave a stale socket file behind, as a killed process would.
  int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof(a.sun_path), "%s", path.c_str());
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ::close(s);
  CliServer third(ctl.get(), &log);
  ASSERT_TRUE(third.Start(path).ok());
  int fd = Connect(path);
  EXPECT_EQ(Call(fd, "LOGIN", "manager\nfriend").verb, "OK");
  ::close(fd);
  third.Stop();
}

}  // namespace
}  // namespace arsec::control
