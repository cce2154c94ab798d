// Commands end to end through the parser: replies, privileges, CREATE CONFIG and replay,
// boot scripts with bad lines, the running-config snapshot and the restart reconcile.
#include "control/controller.h"

#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "control/config/persistence.h"
#include "fake_dataplane.h"
#include "test_dir.h"

namespace arsec::control {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using testing::FakeDataplane;
using testing::TempDir;

const char kSeedScript[] =
    "# the seed's PPPoE example\n"
    "ENABLE IP\n"
    "ENABLE IP REMOTEASSIGN\n"
    "ADD IP INT=ppp0-0 IP=0.0.0.0\n"
    "ADD IP INT=ppp0-1 IP=4.4.4.6 MASK=255.255.255.255\n"
    "ADD IP INT=vlan1-0 IP=4.4.4.1 MASK=255.255.255.248\n"
    "add ip int=vlan1-1 ip=192.168.10.1 mask=255.255.255.0\n"
    "ADD IP ROUTE=0.0.0.0 INT=ppp0-1 NEXT=0.0.0.0\n";

struct Rig {
  explicit Rig(const std::string& dir, std::string boot = "") {
    ControllerOptions o;
    o.config_dir = dir + "/etc";
    o.default_boot = dir + "/etc/boot.cfg";
    o.boot_override = std::move(boot);
    o.snapshot_path = dir + "/run/arsec.running.cfg";
    ctl = std::make_unique<Controller>(&dp, &log, o);
  }
  CommandResult Run(absl::string_view line) { return ctl->Execute(manager, line); }
  FakeDataplane dp;
  LogBuffer log;
  std::unique_ptr<Controller> ctl;
  Session manager{"manager", lang::Privilege::kManager, true};
};

TEST(Controller, SeedScriptAndReplies) {
  TempDir dir;
  Rig rig(dir.path());
  ASSERT_TRUE(rig.ctl->Start().ok());
  ReplayReport r = rig.ctl->Replay(kSeedScript, "seed.cfg");
  EXPECT_EQ(r.commands, 7);
  EXPECT_EQ(r.failed, 0) << (r.errors.empty() ? "" : r.errors[0]);
  CommandResult ok = rig.Run("ADD IP ROUTE=10.0.0.0 INT=vlan1-1 NEXT=192.168.10.254");
  EXPECT_TRUE(ok.ok);
  EXPECT_EQ(ok.output, "Info (105003): Operation successful.\n");
  CommandResult bad = rig.Run("ADD IP INT=vlan9 IP=10.0.0.1");
  EXPECT_FALSE(bad.ok);
  EXPECT_THAT(bad.output, StartsWith("Error (305030): "));
  CommandResult parse = rig.Run("ADD IP FROB");
  EXPECT_FALSE(parse.ok);
  EXPECT_THAT(parse.output, StartsWith("Error ("));
  CommandResult show = rig.Run("SHOW IP ROUTE");
  EXPECT_TRUE(show.ok);
  EXPECT_THAT(show.output, HasSubstr("10.0.0.0         255.0.0.0        192.168.10.254   vlan1-1"));
  EXPECT_THAT(rig.Run("SH IP INT").output, HasSubstr("4.4.4.1 (unnumbered)"));
}

TEST(Controller, RefusalIsReportedAndChangesNothing) {
  TempDir dir;
  Rig rig(dir.path());
  ASSERT_TRUE(rig.ctl->Start().ok());
  const std::string before = rig.ctl->RunningConfig();
  rig.dp.refuse_next = absl::ResourceExhaustedError("FIB is full");
  CommandResult r = rig.Run("ADD IP INT=vlan1 IP=192.168.10.1 MASK=255.255.255.0");
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.output, HasSubstr("FIB is full"));
  EXPECT_EQ(rig.ctl->RunningConfig(), before);
  rig.dp.refuse_next = absl::DeadlineExceededError("dataplane did not answer within 3s");
  r = rig.Run("ADD IP INT=vlan1 IP=192.168.10.1 MASK=255.255.255.0");
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.output, HasSubstr("dataplane did not answer"));
  EXPECT_EQ(rig.ctl->RunningConfig(), before);
}

TEST(Controller, UserPrivilegeMayOnlyShow) {
  TempDir dir;
  Rig rig(dir.path());
  ASSERT_TRUE(rig.ctl->Start().ok());
  Session user{"guest", lang::Privilege::kUser, true};
  CommandResult r = rig.ctl->Execute(user, "ADD IP INT=vlan1 IP=192.168.10.1");
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.output, HasSubstr("privilege"));
  EXPECT_TRUE(rig.ctl->Execute(user, "SHOW IP ROUTE").ok);
  EXPECT_FALSE(rig.ctl->Execute(user, "RESET DATAPLANE COUNTERS").ok);
  EXPECT_EQ(rig.dp.resets, 0);
  EXPECT_TRUE(rig.Run("RESET DATAPLANE COUNTERS").ok);
  EXPECT_EQ(rig.dp.resets, 1);
}

TEST(Controller, CreateConfigRoundTrip) {
  TempDir dir;
  std::string saved_running;
  {
    Rig rig(dir.path());
    ASSERT_TRUE(rig.ctl->Start().ok());
    ASSERT_EQ(rig.ctl->Replay(kSeedScript, "seed").failed, 0);
    ASSERT_TRUE(rig.Run("ADD IP ROUTE=10.1.0.0 MASK=255.255.0.0 INT=vlan1-1 "
                        "NEXT=192.168.10.9 METRIC=3").ok);
    CommandResult r = rig.Run("CREATE CONFIG=ipsecvpn.cfg");
    ASSERT_TRUE(r.ok) << r.output;
    ASSERT_TRUE(rig.Run("SET CONFIG=ipsecvpn.cfg").ok);
    saved_running = rig.ctl->RunningConfig();
    std::string file = *ReadFile(dir.path() + "/etc/ipsecvpn.cfg");
    EXPECT_THAT(file, HasSubstr("ADD IP INTERFACE=ppp0-0 IPADDRESS=0.0.0.0\n"));
    EXPECT_THAT(file, HasSubstr("METRIC=3"));
  }
  // A fresh process on a fresh dataplane boots from the chosen file.
  Rig again(dir.path());
  ASSERT_TRUE(again.ctl->Start().ok());
  EXPECT_EQ(again.ctl->replayed_from(), "boot config");
  EXPECT_EQ(again.ctl->RunningConfig(), saved_running);
  EXPECT_THAT(again.Run("SHOW CONFIG").output, HasSubstr("ipsecvpn.cfg (exists)"));
  // Canonical output replays to itself.
  Rig third(dir.path());
  ASSERT_TRUE(third.ctl->Start().ok());
  EXPECT_EQ(third.ctl->RunningConfig(), saved_running);
}

TEST(Controller, BadBootLineIsReportedAndTheRestLoads) {
  TempDir dir;
  ASSERT_TRUE(MakeDirs(dir.path() + "/etc").ok());
  const std::string boot = dir.path() + "/etc/boot.cfg";
  ASSERT_TRUE(WriteFileAtomic(boot,
                              "ADD IP INT=vlan1 IP=192.168.10.1 MASK=255.255.255.0\n"
                              "\n"
                              "ADD IP INT=vlan1 IP=192.168.10.300\n"
                              "ADD IP INT=ppp0 IP=198.51.100.2 MASK=255.255.255.0\n"
                              "FROBNICATE\n"
                              "ADD IP ROUTE=0.0.0.0 INT=ppp0 NEXT=198.51.100.1\n")
                  .ok());
  Rig rig(dir.path());
  ASSERT_TRUE(rig.ctl->Start().ok());
  auto [ifs, routes] = rig.ctl->WithModel([](ConfigModel& m) {
    return std::make_pair(m.interfaces().size(), m.routes().size());
  });
  EXPECT_EQ(ifs, 2u);
  EXPECT_EQ(routes, 1u);
  const std::string log = rig.log.Format("", "");
  EXPECT_THAT(log, HasSubstr("boot.cfg:3: Error"));
  EXPECT_THAT(log, HasSubstr("boot.cfg:5: Error"));
  EXPECT_THAT(log, HasSubstr("5 commands, 2 failed"));
}

TEST(Controller, ReplayReportNamesLines) {
  TempDir dir;
  Rig rig(dir.path());
  ASSERT_TRUE(rig.ctl->Start().ok());
  ReplayReport r = rig.ctl->Replay("ADD IP INT=vlan1 IP=10.0.0.1\nBOGUS\nSHOW IP ROUTE\n", "x.cfg");
  EXPECT_EQ(r.commands, 3);
  EXPECT_EQ(r.failed, 1);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_THAT(r.errors[0], StartsWith("x.cfg:2: Error ("));
}

TEST(Controller, RestartReplaysSnapshotWhenDataplaneOutlivedUs) {
  TempDir dir;
  FakeDataplane shared;   // the dataplane outlives both control processes
  ControllerOptions o;
  o.config_dir = dir.path() + "/etc";
  o.default_boot = dir.path() + "/etc/boot.cfg";
  o.snapshot_path = dir.path() + "/run/arsec.running.cfg";
  LogBuffer log;
  Session mgr{"manager", lang::Privilege::kManager, true};
  {
    Controller first(&shared, &log, o);
    ASSERT_TRUE(first.Start().ok());
    ASSERT_TRUE(first.Execute(mgr, "ADD IP INT=vlan1 IP=192.168.10.1 MASK=255.255.255.0").ok);
    ASSERT_TRUE(first.Execute(mgr, "ADD IP ROUTE=10.0.0.0 INT=vlan1 NEXT=192.168.10.2").ok);
    EXPECT_THAT(*ReadFile(o.snapshot_path), HasSubstr("ADD IP ROUTE=10.0.0.0"));
  }
  // Something the dataplane holds that no configuration asserts: swept by SyncEnd.
  shared.state.insert("route 172.16.0.0/12 0.0.0.0 vlan1");
  ASSERT_GT(shared.control_gen, 0u);
  Controller second(&shared, &log, o);
  ASSERT_TRUE(second.Start().ok());
  EXPECT_EQ(second.replayed_from(), "running-config snapshot");
  EXPECT_THAT(second.RunningConfig(), HasSubstr("ADD IP ROUTE=10.0.0.0"));
  EXPECT_EQ(shared.state.count("route 172.16.0.0/12 0.0.0.0 vlan1"), 0u);
  EXPECT_EQ(shared.state.count("route 10.0.0.0/8 192.168.10.2 vlan1"), 1u);
  // A fresh dataplane (generation 0) gets the boot config instead.
  FakeDataplane fresh;
  Controller third(&fresh, &log, o);
  ASSERT_TRUE(third.Start().ok());
  EXPECT_EQ(third.replayed_from(), "none");
  EXPECT_THAT(third.RunningConfig(), Not(HasSubstr("ADD IP")));
}

TEST(Controller, PasswordsNeverShownSavedOrLogged) {
  TempDir dir;
  Rig rig(dir.path());
  ASSERT_TRUE(rig.ctl->Start().ok());
  ASSERT_TRUE(rig.Run("ADD USER=secoff PASS=PasswordS PRIVILEGE=SECURITYOFFICER").ok);
  ASSERT_TRUE(rig.Run("ADD USER=client1 PASSWORD=passclie1 LOGIN=NO").ok);
  ASSERT_TRUE(rig.Run("SET USER=client1 PASSWORD=newsecret9").ok);
  ASSERT_TRUE(rig.Run("SET USER=manager PASSWORD=Mgr-Pass-2").ok);
  EXPECT_FALSE(rig.ctl->Login("secoff", "wrong-guess-7").ok());
  auto p = rig.ctl->Login("secoff", "PasswordS");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(PromptFor(*p), "SecOff");
  EXPECT_FALSE(rig.ctl->Login("client1", "newsecret9").ok());   // LOGIN=NO
  ASSERT_TRUE(rig.Run("CREATE CONFIG=all.cfg").ok);
  ASSERT_TRUE(rig.Run("SET CONFIG=all.cfg").ok);
  std::vector<std::string> texts = {
      rig.Run("SHOW USER").output, rig.Run("SHOW LOG").output, rig.Run("SHOW CONFIG DYNAMIC").output,
      rig.Run("SHOW CONFIG DYNAMIC=USER").output, *ReadFile(dir.path() + "/etc/all.cfg"),
      *ReadFile(dir.path() + "/run/arsec.running.cfg")};
  for (const auto& t : texts) {
    for (const char* secret :
         {"PasswordS", "passclie1", "newsecret9", "friend", "wrong-guess-7", "Mgr-Pass-2"}) {
      EXPECT_THAT(t, Not(HasSubstr(secret))) << t;
    }
  }
  EXPECT_THAT(texts[0], HasSubstr("Username: secoff"));
  EXPECT_THAT(texts[3], HasSubstr("ADD USER=secoff SECRET=\"pbkdf2-sha256$"));
  EXPECT_THAT(texts[4], HasSubstr("ADD USER=client1 SECRET=\"pbkdf2-sha256$"));
  EXPECT_THAT(texts[4], HasSubstr("SET USER=manager SECRET=\"pbkdf2-sha256$"));
  // No users.db: the config file is the only place users are saved, mode 0600.
  EXPECT_FALSE(FileExists(dir.path() + "/etc/users.db"));
  struct stat st;
  ASSERT_EQ(::stat((dir.path() + "/etc/all.cfg").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir.path() + "/run/arsec.running.cfg").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // A fresh control on a fresh dataplane boots from all.cfg: the same users log in with
  // the same passwords, and the factory password no longer works.
  Rig again(dir.path());
  ASSERT_TRUE(again.ctl->Start().ok());
  EXPECT_EQ(again.ctl->replayed_from(), "boot config");
  EXPECT_THAT(again.log.Format("", ""), HasSubstr(", 0 failed"));
  EXPECT_TRUE(again.ctl->Login("secoff", "PasswordS").ok());
  EXPECT_TRUE(again.ctl->Login("manager", "Mgr-Pass-2").ok());
  EXPECT_FALSE(again.ctl->Login("manager", "friend").ok());
  EXPECT_FALSE(again.ctl->Login("client1", "newsecret9").ok());   // still LOGIN=NO
  again.Run("SET USER=client1 LOGIN=YES");
  EXPECT_TRUE(again.ctl->Login("client1", "newsecret9").ok());
  // The log of the replay never shows the hashes' source passwords either.
  for (const char* secret : {"PasswordS", "newsecret9", "Mgr-Pass-2"}) {
    EXPECT_THAT(again.log.Format("", ""), Not(HasSubstr(secret)));
  }
  // A user added twice is an error, also in a script.
  EXPECT_EQ(again.ctl->Replay("ADD USER=secoff PASS=other PRIVILEGE=SECURITYOFFICER\n", "s")
                .failed,
            1);
}

TEST(Controller, SecretParameterRules) {
  TempDir dir;
  Rig rig(dir.path());
  ASSERT_TRUE(rig.ctl->Start().ok());
  CommandResult r = rig.Run("ADD USER=a PASSWORD=x SECRET=\"pbkdf2-sha256$1$00$00\"");
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.output, HasSubstr("cannot be used together"));
  r = rig.Run("ADD USER=a PRIVILEGE=USER");
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.output, HasSubstr("PASSWORD"));
  r = rig.Run("ADD USER=a SECRET=\"not-a-hash\"");
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.output, HasSubstr("SECRET is not a password hash"));
  // The seed's PASS= short form still means PASSWORD.
  EXPECT_TRUE(rig.Run("ADD USER=b PASS=bpass1").ok);
  EXPECT_TRUE(rig.ctl->Login("b", "bpass1").ok());
}

TEST(Controller, StaticArpCommandsSaveAndReplay) {
  TempDir dir;
  std::string saved_running;
  {
    Rig rig(dir.path());
    ASSERT_TRUE(rig.ctl->Start().ok());
    ASSERT_TRUE(rig.Run("ADD IP INT=ppp0 IP=192.0.2.1 MASK=255.255.255.0").ok);
    CommandResult r = rig.Run("ADD IP ARP=192.0.2.77 INT=ppp0 ETHERNET=02-00-00-00-00-77");
    ASSERT_TRUE(r.ok) << r.output;
    EXPECT_EQ(r.output, "Info (105003): Operation successful.\n");
    // The colon form is stored in the AR's form.
    ASSERT_TRUE(rig.Run("add ip arp=192.168.10.5 int=vlan1 eth=02:AB:CD:00:00:05").ok);
    EXPECT_FALSE(rig.Run("ADD IP ARP=192.0.2.78 INT=ppp0 ETHERNET=02-00-00-00-00").ok);
    CommandResult dup = rig.Run("ADD IP ARP=192.0.2.77 INT=ppp0 ETHERNET=02-00-00-00-00-78");
    EXPECT_FALSE(dup.ok);
    EXPECT_THAT(dup.output, StartsWith("Error (305031): "));
    std::string arp = rig.Run("SHOW IP ARP").output;
    EXPECT_THAT(arp, HasSubstr("ppp0       192.0.2.77       02-00-00-00-00-77  static   Reachable"));
    EXPECT_THAT(arp, HasSubstr("02-ab-cd-00-00-05  static"));
    ASSERT_TRUE(rig.Run("CREATE CONFIG=arp.cfg").ok);
    ASSERT_TRUE(rig.Run("SET CONFIG=arp.cfg").ok);
    std::string file = *ReadFile(dir.path() + "/etc/arp.cfg");
    EXPECT_THAT(file, HasSubstr("ADD IP ARP=192.0.2.77 INTERFACE=ppp0 ETHERNET=02-00-00-00-00-77\n"));
    EXPECT_THAT(file, HasSubstr("ADD IP ARP=192.168.10.5 INTERFACE=vlan1 ETHERNET=02-ab-cd-00-00-05\n"));
    EXPECT_THAT(*ReadFile(dir.path() + "/run/arsec.running.cfg"), HasSubstr("ADD IP ARP=192.0.2.77"));
    saved_running = rig.ctl->RunningConfig();
    ASSERT_TRUE(rig.Run("DELETE IP ARP=192.168.10.5").ok);
    EXPECT_EQ(rig.dp.calls.back(), "neigh_del 192.168.10.5 port=0");
    EXPECT_FALSE(rig.Run("DELETE IP ARP=192.168.10.5").ok);
    EXPECT_THAT(rig.ctl->RunningConfig(), Not(HasSubstr("192.168.10.5")));
  }
  Rig again(dir.path());
  ASSERT_TRUE(again.ctl->Start().ok());
  EXPECT_EQ(again.ctl->RunningConfig(), saved_running);
  EXPECT_THAT(again.dp.calls, ::testing::Contains("neigh_add 192.0.2.77 02:00:00:00:00:77 port=1"));
}

TEST(Controller, SetConfigNeedsAnExistingFileAndPersistsTheChoice) {
  TempDir dir;
  Rig rig(dir.path());
  ASSERT_TRUE(rig.ctl->Start().ok());
  EXPECT_FALSE(rig.Run("SET CONFIG=missing.cfg").ok);
  ASSERT_TRUE(rig.Run("CREATE CONFIG=a.cfg").ok);
  ASSERT_TRUE(rig.Run("SET CONFIG=a.cfg").ok);
  EXPECT_EQ(*ReadFile(dir.path() + "/etc/boot.name"), "a.cfg\n");
  EXPECT_EQ(rig.ctl->BootPath(), dir.path() + "/etc/a.cfg");
  ASSERT_TRUE(rig.Run("SET CONFIG=NONE").ok);
  EXPECT_EQ(rig.ctl->BootPath(), "");
}

TEST(Controller, LogoffAndHelp) {
  TempDir dir;
  Rig rig(dir.path());
  ASSERT_TRUE(rig.ctl->Start().ok());
  CommandResult r = rig.Run("LOGOFF");
  EXPECT_TRUE(r.ok);
  EXPECT_TRUE(r.logoff);
  EXPECT_THAT(rig.Run("HELP").output, HasSubstr("ADD IP INTERFACE"));
}

TEST(Controller, ShowArpAndDataplane) {
  TempDir dir;
  Rig rig(dir.path());
  ASSERT_TRUE(rig.ctl->Start().ok());
  msg::ArpEntry e{};
  e.ip = (192u << 24) | (168u << 16) | (10u << 8) | 2u;
  e.mac[0] = 0x02;
  e.mac[5] = 0x22;
  e.port = 0;
  e.state = msg::kNeighReachable;
  e.age_s = 5;
  e.expires_s = 295;
  rig.dp.arp.push_back(e);
  std::string arp = rig.Run("SHOW IP ARP").output;
  EXPECT_THAT(arp, HasSubstr("vlan1      192.168.10.2     02-00-00-00-00-22  dynamic  Reachable"));
  EXPECT_THAT(rig.Run("SHOW DATAPLANE PORTS").output, HasSubstr("net_null1"));
  EXPECT_THAT(rig.Run("SHOW DATAPLANE COUNTERS").output, HasSubstr("dropBadChecksum"));
  EXPECT_THAT(rig.Run("SHOW DATAPLANE RUNTIME").output, HasSubstr("Cycles/pkt"));
  EXPECT_THAT(rig.Run("SHOW DATAPLANE").output, HasSubstr("Process id ................ 4242"));
}

}  // namespace
}  // namespace arsec::control
