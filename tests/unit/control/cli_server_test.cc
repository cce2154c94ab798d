// The socket protocol: login, exec, bad frames, stale sockets, permissions, and NOTE
// frames (debug dumps) delivered to the session that asked, never blocking the sender.
#include "control/cli_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

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

// ---------------------------------------------------------------- NOTE delivery

// A manual-key policy "vpn" (the seed's gateway A) to debug.
void ConfigureVpn(Controller* ctl) {
  Session setup{"setup", lang::Privilege::kSecurityOfficer, true};
  const char kScript[] = R"(ADD IP INT=vlan1 IP=192.168.10.1 MASK=255.255.255.0
ADD IP INT=ppp0 IP=1.1.1.1 MASK=255.255.255.0
CREATE ENCO KEY=1 TYPE=DES VALUE=0xF888CAC6C66ECF52
CREATE ENCO KEY=2 TYPE=GENERAL VALUE=0x431d62cd3cb76fb8101dacaf43aa4dbfb919e957
CREATE IPSEC SASPEC=1 KEYMAN=MANUAL PROT=ESP ENCALG=DES ENCKEY=1 HASHALG=SHA HASHKEY=2 INSPI=1000 OUTSPI=1001
CREATE IPSEC BUNDLE=1 KEYMAN=MANUAL STRING="1"
CREATE IPSEC POLICY=vpn INT=ppp0 ACTION=IPSEC KEYMAN=MANUAL BUNDLE=1 PEER=2.2.2.2
ENABLE IPSEC)";
  for (absl::string_view line : absl::StrSplit(kScript, '\n')) {
    CommandResult r = ctl->Execute(setup, line);
    ASSERT_TRUE(r.ok) << line << "\n" << r.output;
  }
}

// The seed's "pre processing" packet as the dataplane would report it for policy `id`.
msg::IpsecDebugEvent SeedDump(uint32_t policy_id, uint32_t dp_sa_id) {
  static const uint8_t kPacket[] = {
      0x45, 0x00, 0x00, 0x28, 0xeb, 0x10, 0x40, 0x00, 0x20, 0x06, 0xd9, 0x08, 0xc0, 0xa8,
      0x14, 0x64, 0xc0, 0xa8, 0x01, 0x02, 0x04, 0x29, 0x00, 0x50, 0x05, 0xb7, 0xe6, 0x5c,
      0x01, 0xfa, 0xee, 0x4c, 0x50, 0x04, 0x00, 0x00, 0x38, 0x56, 0x00, 0x00};
  msg::IpsecDebugEvent e{};
  e.policy_id = policy_id;
  e.sa_id = dp_sa_id;
  e.outbound = 1;
  e.len = e.cap = sizeof(kPacket);
  std::memcpy(e.data, kPacket, sizeof(kPacket));
  return e;
}

// Reads frames until one with `verb`; the NOTE bodies seen on the way are appended.
Reply ReadUntil(int fd, absl::string_view verb, std::vector<std::string>* notes) {
  for (;;) {
    Reply r;
    std::string err;
    if (!ReadFrame(fd, &r.verb, &r.body, 1 << 24, &err)) return {"EOF", err};
    if (r.verb == verb) return r;
    if (r.verb == "NOTE" && notes) notes->push_back(r.body);
  }
}

TEST_F(ServerTest, DebugDumpsReachTheSessionThatEnabledThem) {
  ConfigureVpn(ctl.get());
  const uint32_t policy =
      ctl->WithIpsec([](IpsecModel& m, EncoKeyStore&) { return m.FindPolicy("vpn")->id; });
  const uint32_t sa =
      ctl->WithIpsec([&](IpsecModel& m, EncoKeyStore&) { return m.StateOf(policy)->sa_ids[0]; });
  int watcher = Connect(path);
  int bystander = Connect(path);
  ASSERT_GE(watcher, 0);
  ASSERT_GE(bystander, 0);
  ASSERT_EQ(Call(watcher, "LOGIN", "manager\nfriend").verb, "OK");
  ASSERT_EQ(Call(bystander, "LOGIN", "manager\nfriend").verb, "OK");
  Reply r = Call(watcher, "EXEC", "ena ipsec policy=vpn debug=packet");
  ASSERT_EQ(r.verb, "OK") << r.body;
  EXPECT_THAT(r.body, HasSubstr("IPSEC Policy Debugging has been enabled"));
  EXPECT_EQ(ctl->DebugConsoles(policy), 1u);

  // The event thread's call: the dump arrives unasked as a NOTE, in the seed's lines.
  ctl->OnIpsecDebug(SeedDump(policy, 2 * sa));
  Reply note = ReadUntil(watcher, "NOTE", nullptr);
  EXPECT_EQ(note.body, absl::StrCat("IPSEC vpn: ", sa,
                                    ": OUT: pre processing:\n"
                                    "IP: 45000028eb1040002006d908c0a81464c0a80102\n"
                                    "TCP: 0429005005b7e65c01faee4c5004000038560000\n"
                                    "data:\n"));
  // Notes and replies never mix inside a frame: the next request still gets its OK.
  for (int i = 0; i < 20; ++i) ctl->OnIpsecDebug(SeedDump(policy, 2 * sa));
  EXPECT_TRUE(WriteFrame(watcher, "EXEC", "SHOW IPSEC POLICY"));
  std::vector<std::string> notes;
  r = ReadUntil(watcher, "OK", &notes);
  EXPECT_THAT(r.body, HasSubstr("vpn"));
  // The bystander got nothing: its next reply is the first frame it reads.
  EXPECT_EQ(Call(bystander, "EXEC", "SHOW IPSEC").verb, "OK");

  // DISABLE stops them.
  EXPECT_TRUE(WriteFrame(watcher, "EXEC", "disa ipsec policy=vpn debug=packet"));
  r = ReadUntil(watcher, "OK", &notes);
  EXPECT_THAT(r.body, HasSubstr("IPSEC Policy Debugging has been disabled"));
  EXPECT_EQ(notes.size(), 20u);   // all the notes before it, none lost
  EXPECT_EQ(ctl->DebugConsoles(policy), 0u);
  ctl->OnIpsecDebug(SeedDump(policy, 2 * sa));
  notes.clear();
  r = Call(watcher, "EXEC", "SHOW IPSEC");
  EXPECT_EQ(r.verb, "OK");

  // A closed session is forgotten.
  r = Call(watcher, "EXEC", "ena ipsec policy=vpn debug=packet");
  ASSERT_EQ(r.verb, "OK");
  EXPECT_EQ(ctl->DebugConsoles(policy), 1u);
  ::close(watcher);
  for (int i = 0; i < 200 && server->active_sessions() > 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(ctl->DebugConsoles(policy), 0u);
  ctl->OnIpsecDebug(SeedDump(policy, 2 * sa));   // nobody to deliver to: no harm
  ::close(bystander);
}

TEST_F(ServerTest, ASilentClientNeverBlocksTheEventThread) {
  ConfigureVpn(ctl.get());
  const uint32_t policy =
      ctl->WithIpsec([](IpsecModel& m, EncoKeyStore&) { return m.FindPolicy("vpn")->id; });
  int fd = Connect(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(Call(fd, "LOGIN", "manager\nfriend").verb, "OK");
  ASSERT_EQ(Call(fd, "EXEC", "enable ipsec policy=vpn debug=packet").verb, "OK");
  // The client stops reading. 20,000 dumps (~3.5 MB) fill its socket and then the queue;
  // the poster keeps going at full speed and the excess is dropped and counted.
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 20000; ++i) ctl->OnIpsecDebug(SeedDump(policy, 2));
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, std::chrono::seconds(5));
  // The client reads again: notes, then a report of how many were dropped, then replies.
  EXPECT_TRUE(WriteFrame(fd, "EXEC", "SHOW IPSEC"));
  std::vector<std::string> notes;
  Reply r = ReadUntil(fd, "OK", &notes);
  EXPECT_EQ(r.verb, "OK");
  ASSERT_FALSE(notes.empty());
  EXPECT_LT(notes.size(), 20000u);
  bool reported = false;
  for (const auto& n : notes) reported |= absl::StrContains(n, "debug messages dropped");
  if (!reported) {
    // The drop report may follow the reply (it is written when the queue is next taken).
    ctl->OnIpsecDebug(SeedDump(policy, 2));
    EXPECT_TRUE(WriteFrame(fd, "EXEC", "SHOW IPSEC"));
    notes.clear();
    ReadUntil(fd, "OK", &notes);
    for (const auto& n : notes) reported |= absl::StrContains(n, "debug messages dropped");
  }
  EXPECT_TRUE(reported);
  EXPECT_GT(server->notes_dropped(), 0u);
  ::close(fd);
}

}  // namespace
}  // namespace arsec::control
