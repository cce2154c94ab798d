// arsec-control's IPsec and ENCO configuration end to end through the Controller and the
// recording fake dataplane: the seed's manual-key VPN typed verbatim on both gateways
// (the SaBody / PolicyBody / SPD rules they produce, and that the two sides match), every
// validation rule, secrets kept out of every SHOW, log and config file, the save + replay
// round trip, ESP over UDP, bundles of three protocols, SHOW layouts, and a 10,000-policy
// script.
#include <sys/stat.h>

#include <cstring>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "control/config/persistence.h"
#include "control/controller.h"
#include "control/ipsec/ipsec_show.h"
#include "fake_dataplane.h"
#include "test_dir.h"

namespace arsec::control {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using testing::FakeDataplane;
using testing::TempDir;

constexpr uint32_t Ip(int a, int b, int c, int d) {
  return (uint32_t(a) << 24) | (uint32_t(b) << 16) | (uint32_t(c) << 8) | uint32_t(d);
}

// The fake's ports: vlan1 = 0, ppp0 = 1, eth0 = 2.
constexpr uint16_t kPpp0 = 1;

struct Rig {
  explicit Rig(const std::string& dir) {
    ControllerOptions o;
    o.config_dir = dir + "/etc";
    o.default_boot = dir + "/etc/boot.cfg";
    o.snapshot_path = dir + "/run/arsec.running.cfg";
    o.flush_interval = absl::ZeroDuration();
    ctl = std::make_unique<Controller>(&dp, &log, o);
  }
  CommandResult Run(absl::string_view line) { return ctl->Execute(manager, line); }
  // Runs lines that must all succeed.
  void Script(absl::string_view text) {
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      if (absl::StripAsciiWhitespace(line).empty()) continue;
      CommandResult r = Run(line);
      ASSERT_TRUE(r.ok) << line << "\n" << r.output;
    }
  }
  FakeDataplane dp;
  LogBuffer log;
  std::unique_ptr<Controller> ctl;
  Session manager{"manager", lang::Privilege::kManager, true};
};

// The seed's manual-key example, gateway A (1.1.1.1, LAN 192.168.10.0/24), with the key
// values of the seed's SHOW ENCO KEY output typed in as the seed does on the peer.
const char kGatewayA[] = R"(ADD IP INT=vlan1 IP=192.168.10.1 MASK=255.255.255.0
ADD IP INT=ppp0 IP=1.1.1.1 MASK=255.255.255.0
ADD IP ROUTE=0.0.0.0 INT=ppp0 NEXT=1.1.1.254
CREATE ENCO KEY=1 TYPE=DES VALUE=0xF888CAC6C66ECF52 DESCRIPTION="IPsec DES key"
CREATE ENCO KEY=2 TYPE=GENERAL VALUE=0x431d62cd3cb76fb8101dacaf43aa4dbfb919e957 DESCRITION="IPsec SHA-1 key"
CREATE IPSEC SASPEC=1 KEYMAN=MANUAL PROT=ESP ENCALG=DES ENCKEY=1 HASHALG=SHA HASHKEY=2 INSPI=1000 OUTSPI=1001
CREATE IPSEC BUNDLE=1 KEYMAN=MANUAL STRING="1"
CREATE IPSEC POLICY=vpn INT=ppp0 ACTION=IPSEC KEYMAN=MANUAL BUNDLE=1 PEER=2.2.2.2
SET IPSEC POLICY=vpn LAD=192.168.10.0 LMA=255.255.255.0 RAD=192.168.20.0 RMA=255.255.255.0
CREATE IPSEC POLICY=inet INT=ppp0 ACTION=PERMIT
ENABLE IPSEC
)";

// Gateway B (2.2.2.2, LAN 192.168.20.0/24): same keys, SPIs swapped.
const char kGatewayB[] = R"(ADD IP INT=vlan1 IP=192.168.20.1 MASK=255.255.255.0
ADD IP INT=ppp0 IP=2.2.2.2 MASK=255.255.255.0
CREATE ENCO KEY=1 TYPE=DES VALUE=0xF888CAC6C66ECF52 DESCRIPTION="IPsec DES key"
CREATE ENCO KEY=2 TYPE=GENERAL VALUE=0x431d62cd3cb76fb8101dacaf43aa4dbfb919e957 DESCRITION="IPsec SHA-1 key"
CREATE IPSEC SASPEC=1 KEYMAN=MANUAL PROT=ESP ENCALG=DES ENCKEY=1 HASHALG=SHA HASHKEY=2 INSPI=1001 OUTSPI=1000
CREATE IPSEC BUNDLE=1 KEYMAN=MANUAL STRING="1"
CREATE IPSEC POLICY=vpn INT=ppp0 ACTION=IPSEC KEYMAN=MANUAL BUNDLE=1 PEER=1.1.1.1
SET IPSEC POLICY=vpn LAD=192.168.20.0 LMA=255.255.255.0 RAD=192.168.10.0 RMA=255.255.255.0
CREATE IPSEC POLICY=inet INT=ppp0 ACTION=PERMIT
ENABLE IPSEC
)";

const uint8_t kDesKey[8] = {0xF8, 0x88, 0xCA, 0xC6, 0xC6, 0x6E, 0xCF, 0x52};
const uint8_t kShaKey[20] = {0x43, 0x1d, 0x62, 0xcd, 0x3c, 0xb7, 0x6f, 0xb8, 0x10, 0x1d,
                             0xac, 0xaf, 0x43, 0xaa, 0x4d, 0xbf, 0xb9, 0x19, 0xe9, 0x57};

const msg::SaBody* FindSa(const FakeDataplane& dp, uint8_t dir, uint32_t spi) {
  for (const auto& [id, sa] : dp.sas) {
    if (sa.dir == dir && sa.spi == spi) return &sa;
  }
  return nullptr;
}

TEST(IpsecControl, SeedManualExampleGatewayA) {
  TempDir dir;
  Rig a(dir.path());
  ASSERT_TRUE(a.ctl->Start().ok());
  a.Script(kGatewayA);
  ASSERT_TRUE(a.ctl->FlushPending().ok());

  EXPECT_EQ(a.dp.ipsec_global.enabled, 1);
  EXPECT_EQ(a.dp.ipsec_global.udp_port, 2746);
  ASSERT_EQ(a.dp.sas.size(), 2u);
  const msg::SaBody* out = FindSa(a.dp, msg::kSaOutbound, 1001);
  const msg::SaBody* in = FindSa(a.dp, msg::kSaInbound, 1000);
  ASSERT_TRUE(out && in);
  EXPECT_EQ(out->sa_id, 2u);   // SHOW IPSEC SA id 1 <-> dataplane 2 (out), 3 (in)
  EXPECT_EQ(in->sa_id, 3u);
  for (const msg::SaBody* sa : {out, in}) {
    EXPECT_EQ(sa->proto, 50);
    EXPECT_EQ(sa->mode, msg::kSaTunnel);
    EXPECT_EQ(sa->cipher, 1);   // crypto::CipherAlg::kDesCbc
    EXPECT_EQ(sa->auth, 2);     // crypto::AuthAlg::kHmacSha1_96
    EXPECT_EQ(sa->cipher_key_len, 8);
    EXPECT_EQ(sa->auth_key_len, 20);
    EXPECT_EQ(std::memcmp(sa->cipher_key, kDesKey, 8), 0);
    EXPECT_EQ(std::memcmp(sa->auth_key, kShaKey, 20), 0);
    EXPECT_EQ(sa->encap, msg::kEncapNone);
    EXPECT_EQ(sa->antireplay, 0);  // manual keys: off unless asked for (RFC 4303 3.3.3)
    EXPECT_EQ(sa->replay_window, 64);
    EXPECT_EQ(sa->hard_seconds, 0u);
    EXPECT_EQ(sa->hard_kbytes, 0u);
  }
  EXPECT_EQ(out->tun_src, Ip(1, 1, 1, 1));
  EXPECT_EQ(out->tun_dst, Ip(2, 2, 2, 2));
  EXPECT_EQ(in->tun_src, Ip(2, 2, 2, 2));
  EXPECT_EQ(in->tun_dst, Ip(1, 1, 1, 1));

  ASSERT_EQ(a.dp.policies.size(), 2u);
  const msg::PolicyBody& vpn = a.dp.policies.at(out->policy_id);
  EXPECT_STREQ(vpn.name, "vpn");
  EXPECT_EQ(vpn.action, 3);
  EXPECT_EQ(vpn.port, kPpp0);
  EXPECT_EQ(vpn.n_out, 1);
  EXPECT_EQ(vpn.n_in, 1);
  EXPECT_EQ(vpn.out_sa[0], 2u);
  EXPECT_EQ(vpn.in_sa[0], 3u);
  EXPECT_EQ(vpn.peer, Ip(2, 2, 2, 2));
  EXPECT_EQ(vpn.local, Ip(1, 1, 1, 1));
  EXPECT_EQ(vpn.isakmp, 0);

  ASSERT_EQ(a.dp.spd.size(), 2u);
  const msg::SpdRuleWire& r0 = a.dp.spd[0];
  EXPECT_EQ(r0.policy_id, vpn.policy_id);
  EXPECT_EQ(r0.port, kPpp0);
  EXPECT_EQ(r0.action, 3);
  EXPECT_EQ(r0.laddr, Ip(192, 168, 10, 0));
  EXPECT_EQ(r0.lmask, Ip(255, 255, 255, 0));
  EXPECT_EQ(r0.raddr, Ip(192, 168, 20, 0));
  EXPECT_EQ(r0.rmask, Ip(255, 255, 255, 0));
  EXPECT_EQ(r0.proto, -1);
  EXPECT_EQ(r0.lport_lo, 0);
  EXPECT_EQ(r0.lport_hi, 0xffff);
  const msg::SpdRuleWire& r1 = a.dp.spd[1];
  EXPECT_EQ(r1.action, 1);
  EXPECT_EQ(r1.lmask, 0u);
  EXPECT_EQ(r1.rmask, 0u);
  EXPECT_EQ(a.dp.policies.at(r1.policy_id).action, 1);

  // The seed's log line for a bundle coming up.
  EXPECT_THAT(a.log.Format("", ""), HasSubstr("SA bundle created: Policy - vpn"));
}

TEST(IpsecControl, SeedManualExampleBothGatewaysMatch) {
  TempDir da, db;
  Rig a(da.path()), b(db.path());
  ASSERT_TRUE(a.ctl->Start().ok());
  ASSERT_TRUE(b.ctl->Start().ok());
  a.Script(kGatewayA);
  b.Script(kGatewayB);
  // A's outbound SA is B's inbound SA, byte for byte but for the ids and direction.
  for (auto [spi, from, to] : {std::tuple<uint32_t, Rig*, Rig*>{1001, &a, &b},
                               std::tuple<uint32_t, Rig*, Rig*>{1000, &b, &a}}) {
    const msg::SaBody* o = FindSa(from->dp, msg::kSaOutbound, spi);
    const msg::SaBody* i = FindSa(to->dp, msg::kSaInbound, spi);
    ASSERT_TRUE(o && i) << spi;
    EXPECT_EQ(o->tun_src, i->tun_src);
    EXPECT_EQ(o->tun_dst, i->tun_dst);
    EXPECT_EQ(std::memcmp(o->cipher_key, i->cipher_key, sizeof(o->cipher_key)), 0);
    EXPECT_EQ(std::memcmp(o->auth_key, i->auth_key, sizeof(o->auth_key)), 0);
    EXPECT_EQ(o->cipher, i->cipher);
    EXPECT_EQ(o->auth, i->auth);
  }
}

TEST(IpsecControl, RandomKeysAsInTheSeed) {
  TempDir dir;
  Rig a(dir.path());
  ASSERT_TRUE(a.ctl->Start().ok());
  a.Script(R"(CREATE ENCO KEY=1 TYPE=DES RANDOM DESCRIPTION="IPsec DES key"
CREATE ENCO KEY=2 TYPE=GENERAL LENGTH=20 RANDOM DESCRIPTION="IPsec SHA-1 key"
)");
  CommandResult k1 = a.Run("show enco key=1");
  ASSERT_TRUE(k1.ok);
  EXPECT_THAT(k1.output, ::testing::MatchesRegex("0x[0-9A-F]{16}\n"));
  CommandResult k2 = a.Run("show enco key=2");
  EXPECT_THAT(k2.output, ::testing::MatchesRegex("0x[0-9a-f]{40}\n"));
  CommandResult list = a.Run("SHOW ENCO KEY");
  EXPECT_THAT(list.output, HasSubstr("IPsec SHA-1 key"));
  EXPECT_THAT(list.output, Not(HasSubstr(k2.output.substr(2, 40))));
  // A string key is shown as the string, then in hex.
  a.Script("CREATE ENCO KEY=3 TYPE=GENERAL VALUE=\"jogefoge\"");
  EXPECT_EQ(a.Run("SHOW ENCO KEY=3").output, "jogefoge\n0x6a6f6765666f6765\n");
}

struct BadCase {
  const char* line;
  const char* says;
};

TEST(IpsecControl, EveryRuleIsAClearError) {
  TempDir dir;
  Rig a(dir.path());
  ASSERT_TRUE(a.ctl->Start().ok());
  a.Script(R"(ADD IP INT=ppp0 IP=1.1.1.1 MASK=255.255.255.0
CREATE ENCO KEY=1 TYPE=DES VALUE=0xF888CAC6C66ECF52
CREATE ENCO KEY=2 TYPE=GENERAL VALUE=0x431d62cd3cb76fb8101dacaf43aa4dbfb919e957
CREATE ENCO KEY=3 TYPE=GENERAL VALUE=0x00112233445566778899aabbccddeeff
CREATE IPSEC SASPEC=1 KEYMAN=MANUAL PROT=ESP ENCALG=DES ENCKEY=1 HASHALG=SHA HASHKEY=2 INSPI=1000 OUTSPI=1001
CREATE IPSEC SASPEC=2 KEYMAN=MANUAL PROT=ESP ENCALG=DES ENCKEY=1 HASHALG=SHA HASHKEY=2 INSPI=1002 OUTSPI=1003
CREATE IPSEC SASPEC=3 KEYMAN=MANUAL PROT=AH HASHALG=SHA HASHKEY=2 INSPI=2000 OUTSPI=2001
CREATE IPSEC SASPEC=5 KEYMAN=MANUAL PROT=COMP COMPALG=LZS
CREATE IPSEC SASPEC=6 KEYMAN=ISAKMP PROT=ESP ENCALG=DES HASHALG=SHA
CREATE IPSEC BUNDLE=1 KEYMAN=MANUAL STRING="1"
CREATE IPSEC BUNDLE=3 KEYMAN=MANUAL STRING="3"
CREATE IPSEC POLICY=vpn INT=ppp0 ACTION=IPSEC KEYMAN=MANUAL BUNDLE=1 PEER=2.2.2.2
CREATE IPSEC POLICY=plain INT=ppp0 ACTION=PERMIT
)");
  const BadCase cases[] = {
      {"CREATE IPSEC SASPEC=7 KEYMAN=ISAKMP PROT=ESP ENCALG=NULL HASHALG=NULL", "NULL"},
      {"CREATE IPSEC SASPEC=7 KEYMAN=MANUAL PROT=ESP ENCALG=DES ENCKEY=1 HASHALG=SHA HASHKEY=2 INSPI=255 OUTSPI=1001", "INSPI"},
      {"CREATE IPSEC SASPEC=7 KEYMAN=MANUAL PROT=ESP ENCALG=DES ENCKEY=1 HASHALG=SHA HASHKEY=2 INSPI=1000 OUTSPI=1005", "INSPI 1000 is already used"},
      {"CREATE IPSEC SASPEC=7 KEYMAN=MANUAL PROT=ESP ENCALG=DES ENCKEY=9 HASHALG=SHA HASHKEY=2 INSPI=1010 OUTSPI=1011", "ENCO key 9 does not exist"},
      {"CREATE IPSEC SASPEC=7 KEYMAN=MANUAL PROT=ESP ENCALG=DES ENCKEY=3 HASHALG=SHA HASHKEY=2 INSPI=1010 OUTSPI=1011", "needs 8 bytes"},
      {"CREATE IPSEC SASPEC=7 KEYMAN=MANUAL PROT=ESP ENCALG=AES128 ENCKEY=1 HASHALG=SHA HASHKEY=2 INSPI=1010 OUTSPI=1011", "is a DES key"},
      {"CREATE IPSEC SASPEC=7 KEYMAN=MANUAL PROT=ESP ENCALG=DES ENCKEY=1 HASHALG=SHA HASHKEY=3 INSPI=1010 OUTSPI=1011", "needs 20 bytes"},
      {"CREATE IPSEC SASPEC=7 KEYMAN=MANUAL PROT=ESP ENCALG=DES ENCKEY=1 HASHALG=SHA HASHKEY=2", "INSPI"},
      {"CREATE IPSEC SASPEC=7 KEYMAN=ISAKMP PROT=ESP ENCALG=AES128GCM HASHALG=SHA", "HASHALG"},
      {"CREATE IPSEC SASPEC=7 KEYMAN=ISAKMP PROT=AH HASHALG=NULL", "HASHALG"},
      {"CREATE IPSEC SASPEC=7 KEYMAN=ISAKMP PROT=ESP ENCALG=DES HASHALG=SHA ENCKEY=1", "ENCKEY"},
      {"CREATE IPSEC SASPEC=1 KEYMAN=ISAKMP PROT=ESP ENCALG=DES HASHALG=SHA", "already exists"},
      {"CREATE IPSEC BUNDLE=2 KEYMAN=MANUAL STRING=\"1 or 2\"", "STRING"},
      {"CREATE IPSEC BUNDLE=2 KEYMAN=MANUAL STRING=\"1, 2\"", "STRING"},
      {"CREATE IPSEC BUNDLE=2 KEYMAN=MANUAL STRING=\"1 and 2\"", "STRING"},
      {"CREATE IPSEC BUNDLE=2 KEYMAN=MANUAL STRING=\"1 and 5\"", "STRING"},
      {"CREATE IPSEC BUNDLE=2 KEYMAN=MANUAL STRING=\"6\"", "STRING"},
      {"CREATE IPSEC BUNDLE=2 KEYMAN=MANUAL STRING=\"9\"", "STRING"},
      {"CREATE IPSEC BUNDLE=2 KEYMAN=MANUAL STRING=\"2\" EXPIRYSECONDS=600", "EXPIRYSECONDS"},
      {"CREATE IPSEC POLICY=x INT=ppp0 ACTION=PERMIT LPORT=500", "TRANSPORTPROTOCOL"},
      {"CREATE IPSEC POLICY=x INT=ppp0 ACTION=PERMIT LPORT=500 TRANSPORT=ICMP", "LPORT"},
      {"CREATE IPSEC POLICY=x INT=ppp0 ACTION=IPSEC KEYMAN=MANUAL BUNDLE=3 PEER=DYNAMIC", "PEERADDRESS"},
      {"CREATE IPSEC POLICY=x INT=ppp0 ACTION=IPSEC KEYMAN=MANUAL BUNDLE=7 PEER=2.2.2.2", "bundle specification 7 does not exist"},
      {"CREATE IPSEC POLICY=x INT=ppp0 ACTION=IPSEC KEYMAN=ISAKMP BUNDLE=3 PEER=2.2.2.2", "KEYMANAGEMENT=MANUAL"},
      {"CREATE IPSEC POLICY=x INT=ppp0 ACTION=IPSEC KEYMAN=MANUAL BUNDLE=1 PEER=3.3.3.3", "already used by MANUAL policy vpn"},
      {"CREATE IPSEC POLICY=x INT=ppp0 ACTION=IPSEC KEYMAN=MANUAL BUNDLE=3 PEER=3.3.3.3 UDPTUNNEL=TRUE", "AH cannot cross NAT"},
      {"CREATE IPSEC POLICY=x INT=eth9 ACTION=PERMIT", "does not exist"},
      {"CREATE IPSEC POLICY=vpn INT=ppp0 ACTION=PERMIT", "already exists"},
      {"CREATE IPSEC POLICY=x INT=ppp0 ACTION=PERMIT BUNDLE=1", "BUNDLESPECIFICATION"},
      {"SET IPSEC POLICY=plain LPORT=80", "LPORT"},
      {"SET IPSEC POLICY=vpn PEER=DYNAMIC", "PEERADDRESS"},
      {"SET IPSEC POLICY=vpn UDPPORT=3456", "UDPTUNNEL"},
      {"SET IPSEC POLICY=nosuch ACTION=DENY", "does not exist"},
      {"DESTROY IPSEC SASPEC=1", "in use by bundle specification 1"},
      {"DESTROY IPSEC BUNDLE=1", "in use by policy vpn"},
      {"DESTROY ENCO KEY=1", "in use by SA specification 1"},
      {"DESTROY IPSEC POLICY=nosuch", "does not exist"},
      {"CREATE ENCO KEY=1 TYPE=GENERAL VALUE=0x00", "already exists"},
      {"CREATE ENCO KEY=8 TYPE=DES VALUE=0x0011", "a DES key is 8 bytes"},
      {"CREATE ENCO KEY=8 TYPE=3DES VALUE=0xF888CAC6C66ECF52", "a 3DES key is 24 bytes"},
      {"CREATE ENCO KEY=8 TYPE=GENERAL RANDOM", "LENGTH"},
      {"CREATE ENCO KEY=8 TYPE=DES RANDOM LENGTH=8", "LENGTH"},
      {"CREATE ENCO KEY=8 TYPE=GENERAL VALUE=0x0g", "VALUE"},
      {"SHOW ENCO KEY=77", "does not exist"},
      {"SHOW IPSEC POLICY=nosuch", "does not exist"},
      {"SHOW IPSEC SA=99", "does not exist"},
  };
  const std::string before = a.ctl->RunningConfig();
  for (const BadCase& c : cases) {
    CommandResult r = a.Run(c.line);
    EXPECT_FALSE(r.ok) << c.line;
    EXPECT_THAT(r.output, StartsWith("Error (3")) << c.line;
    EXPECT_THAT(r.output, HasSubstr(c.says)) << c.line << "\n" << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    // No key bytes in any error.
    EXPECT_THAT(absl::AsciiStrToLower(r.output), Not(HasSubstr("f888cac6")));
  }
  EXPECT_EQ(a.ctl->RunningConfig(), before);   // nothing changed
  // Module numbers: 81 IPsec, 83 ENCO.
  EXPECT_THAT(a.Run("DESTROY IPSEC SASPEC=1").output, StartsWith("Error (381032)"));
  EXPECT_THAT(a.Run("DESTROY ENCO KEY=1").output, StartsWith("Error (383032)"));
}

TEST(IpsecControl, NoKeyBytesInShowLogConfigOrSnapshot) {
  TempDir dir;
  Rig a(dir.path());
  ASSERT_TRUE(a.ctl->Start().ok());
  a.Script(kGatewayA);
  a.Script("CREATE CONFIG=ipsecvpn.cfg\nSET CONFIG=ipsecvpn.cfg");
  ASSERT_TRUE(a.ctl->FlushPending().ok());
  std::string everything;
  for (const char* show :
       {"SHOW CONFIG DYNAMIC", "SHOW CONFIG DYNAMIC=IPSEC", "SHOW CONFIG DYNAMIC=ENCO",
        "SHOW IPSEC", "SHOW IPSEC POLICY", "SHOW IPSEC POLICY=vpn", "SHOW IPSEC POLICY COUNTERS",
        "SHOW IPSEC POLICY SABUNDLE", "SHOW IPSEC SASPEC", "SHOW IPSEC SASPEC=1",
        "SHOW IPSEC BUNDLE", "SHOW IPSEC BUNDLE=1", "SHOW IPSEC SA", "SHOW IPSEC SA=1",
        "SHOW IPSEC SA COUNTERS", "SHOW IPSEC COUNTERS", "SHOW ENCO KEY"}) {
    CommandResult r = a.Run(show);
    EXPECT_TRUE(r.ok) << show << r.output;
    everything += r.output;
  }
  everything += a.log.Format("", "");
  everything += *ReadFile(dir.path() + "/etc/ipsecvpn.cfg");
  everything += *ReadFile(dir.path() + "/run/arsec.running.cfg");
  for (const auto& call : a.dp.calls) everything += call + "\n";
  const std::string lower = absl::AsciiStrToLower(everything);
  EXPECT_THAT(lower, Not(HasSubstr("f888cac6c66ecf52")));
  EXPECT_THAT(lower, Not(HasSubstr("431d62cd3cb76fb8")));
  EXPECT_THAT(everything, HasSubstr("ENCKEY=1"));   // the key number is configuration
  // The key store holds them, mode 0600.
  const std::string ks = a.ctl->key_store_path();
  struct stat st;
  ASSERT_EQ(::stat(ks.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_THAT(*ReadFile(ks), HasSubstr("f888cac6c66ecf52"));
}

TEST(IpsecControl, SaveAndReplayGiveTheSameDataplaneState) {
  TempDir dir;
  FakeDataplane first_dp;
  std::string saved_calls;
  std::map<uint32_t, msg::SaBody> sas;
  std::map<uint32_t, msg::PolicyBody> policies;
  std::vector<msg::SpdRuleWire> spd;
  std::string running;
  {
    Rig a(dir.path());
    ASSERT_TRUE(a.ctl->Start().ok());
    a.Script(kGatewayA);
    a.Script(R"(CREATE IPSEC POLICY=isa INT=ppp0 ACTION=PERMIT LPORT=500 RPORT=500 TRANSPORT=UDP POSITION=1
SET IPSEC UDPPORT=3456
SET IPSEC POLICY=vpn UDPTUNNEL=TRUE UDPPORT=4000 UDPHEARTBEAT=TRUE
CREATE IPSEC SASPEC=9 KEYMAN=ISAKMP PROT=ESP ENCALG=AES256 HASHALG=SHA256
CREATE IPSEC BUNDLE=9 KEYMAN=ISAKMP STRING="9" EXPIRYSECONDS=3600
CREATE IPSEC POLICY=dyn INT=ppp0 ACTION=IPSEC KEYMAN=ISAKMP BUNDLE=9 PEER=DYNAMIC POSITION=3
SET IPSEC POLICY=dyn LAD=192.168.10.0 LMA=255.255.255.0 RNAME=client1
CREATE CONFIG=ipsecvpn.cfg
SET CONFIG=ipsecvpn.cfg
)");
    ASSERT_TRUE(a.ctl->FlushPending().ok());
    sas = a.dp.sas;
    policies = a.dp.policies;
    spd = a.dp.spd;
    running = a.ctl->RunningConfig();
    EXPECT_THAT(running, HasSubstr("SET IPSEC UDPPORT=3456\nENABLE IPSEC\n"));
    EXPECT_THAT(running, HasSubstr("CREATE IPSEC POLICY=isa INTERFACE=ppp0 ACTION=PERMIT "
                                   "LPORT=500 RPORT=500 TRANSPORTPROTOCOL=UDP\n"
                                   "CREATE IPSEC POLICY=vpn"));
  }
  // A fresh dataplane and control process boot from the saved config and the key store.
  Rig b(dir.path());
  ASSERT_TRUE(b.ctl->Start().ok());
  EXPECT_EQ(b.ctl->replayed_from(), "boot config");
  EXPECT_EQ(b.ctl->RunningConfig(), running);
  // SA ids are allocated afresh (the first process replaced the pair when UDPTUNNEL
  // changed); everything else is identical.
  ASSERT_EQ(b.dp.sas.size(), sas.size());
  for (const auto& [id, sa] : sas) {
    const msg::SaBody* got = FindSa(b.dp, sa.dir, sa.spi);
    ASSERT_TRUE(got) << sa.spi;
    msg::SaBody x = *got, y = sa;
    EXPECT_STREQ(b.dp.policies.at(x.policy_id).name, policies.at(y.policy_id).name);
    x.sa_id = y.sa_id = 0;
    x.policy_id = y.policy_id = 0;
    EXPECT_EQ(std::memcmp(&x, &y, sizeof(x)), 0) << id;
  }
  ASSERT_EQ(b.dp.policies.size(), policies.size());
  // Policy ids follow creation order, which the saved script normalises (POSITION).
  auto by_name = [](const FakeDataplane& dp, const std::string& name) {
    for (const auto& [id, p] : dp.policies) {
      if (name == p.name) return p;
    }
    return msg::PolicyBody{};
  };
  for (const auto& [id, p] : policies) {
    msg::PolicyBody x = by_name(b.dp, p.name), y = p;
    x.policy_id = y.policy_id = 0;
    for (unsigned i = 0; i < y.n_out; ++i) {
      EXPECT_EQ(b.dp.sas.at(x.out_sa[i]).spi, sas.at(y.out_sa[i]).spi);
      EXPECT_EQ(b.dp.sas.at(x.in_sa[i]).spi, sas.at(y.in_sa[i]).spi);
      x.out_sa[i] = y.out_sa[i] = x.in_sa[i] = y.in_sa[i] = 0;
    }
    EXPECT_EQ(std::memcmp(&x, &y, sizeof(x)), 0) << id;
  }
  ASSERT_EQ(b.dp.spd.size(), spd.size());
  for (size_t i = 0; i < spd.size(); ++i) {
    msg::SpdRuleWire x = b.dp.spd[i], y = spd[i];
    EXPECT_STREQ(b.dp.policies.at(x.policy_id).name, policies.at(y.policy_id).name);
    x.policy_id = y.policy_id = 0;
    EXPECT_EQ(std::memcmp(&x, &y, sizeof(x)), 0) << i;
  }
  EXPECT_EQ(b.dp.ipsec_global.udp_port, 3456);
  // The order: isa first, vpn, dyn, inet.
  std::vector<std::string> names;
  for (const auto& r : b.dp.spd) names.push_back(b.dp.policies.at(r.policy_id).name);
  EXPECT_EQ(names, (std::vector<std::string>{"isa", "vpn", "dyn", "inet"}));
}

TEST(IpsecControl, EspOverUdpAndHeartbeat) {
  TempDir dir;
  Rig a(dir.path());
  ASSERT_TRUE(a.ctl->Start().ok());
  a.Script(kGatewayA);
  a.Script(R"(SET IPSEC UDPPORT=3456
SET IPSEC POLICY=vpn UDPTUNNEL=TRUE UDPPORT=4000
SET IPSEC POLICY=vpn UDPHEARTBEAT=TRUE
)");
  const msg::SaBody* out = FindSa(a.dp, msg::kSaOutbound, 1001);
  const msg::SaBody* in = FindSa(a.dp, msg::kSaInbound, 1000);
  ASSERT_TRUE(out && in);
  EXPECT_EQ(out->encap, msg::kEncapEspUdp);
  EXPECT_EQ(out->encap_sport, 3456);
  EXPECT_EQ(out->encap_dport, 4000);
  EXPECT_EQ(in->encap_sport, 4000);
  EXPECT_EQ(in->encap_dport, 3456);
  const msg::PolicyBody& p = a.dp.policies.at(out->policy_id);
  EXPECT_EQ(p.udp_heartbeat, 1);
  EXPECT_EQ(p.udp_port, 4000);
  EXPECT_EQ(a.dp.sas.size(), 2u);   // the old pair was removed
  EXPECT_EQ(p.out_sa[0], out->sa_id);
  // UDPTUNNEL=FALSE takes UDPPORT and UDPHEARTBEAT with it.
  a.Script("SET IPSEC POLICY=vpn UDPTUNNEL=FALSE");
  EXPECT_THAT(a.ctl->RunningConfig(), Not(HasSubstr("UDPPORT=4000")));
  out = FindSa(a.dp, msg::kSaOutbound, 1001);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->encap, msg::kEncapNone);
}

TEST(IpsecControl, ThreeProtocolBundleIpcompFirst) {
  TempDir dir;
  Rig a(dir.path());
  ASSERT_TRUE(a.ctl->Start().ok());
  a.Script(R"(ADD IP INT=ppp0 IP=1.1.1.1 MASK=255.255.255.0
CREATE ENCO KEY=1 TYPE=GENERAL VALUE=0x00112233445566778899aabbccddeeff0a0b0c0d
CREATE ENCO KEY=2 TYPE=GENERAL VALUE=0x431d62cd3cb76fb8101dacaf43aa4dbfb919e957
CREATE IPSEC SASPEC=1 KEYMAN=MANUAL PROT=ESP ENCALG=AES128GCM ENCKEY=1 HASHALG=NULL INSPI=1000 OUTSPI=1001
CREATE IPSEC SASPEC=3 KEYMAN=MANUAL PROT=AH HASHALG=SHA HASHKEY=2 INSPI=2000 OUTSPI=2001
CREATE IPSEC SASPEC=5 KEYMAN=MANUAL PROT=COMP COMPALG=LZS
CREATE IPSEC BUNDLE=1 KEYMAN=MANUAL STRING="5 and 1 and 3"
ENABLE IPSEC
CREATE IPSEC POLICY=vpn INT=ppp0 ACTION=IPSEC KEYMAN=MANUAL BUNDLE=1 PEER=2.2.2.2
)");
  ASSERT_EQ(a.dp.policies.size(), 1u);
  const msg::PolicyBody& p = a.dp.policies.begin()->second;
  ASSERT_EQ(p.n_out, 3);
  const msg::SaBody& comp = a.dp.sas.at(p.out_sa[0]);
  const msg::SaBody& esp = a.dp.sas.at(p.out_sa[1]);
  const msg::SaBody& ah = a.dp.sas.at(p.out_sa[2]);
  EXPECT_EQ(comp.proto, 108);
  EXPECT_EQ(comp.spi, 3u);   // LZS well-known CPI
  EXPECT_EQ(comp.comp, 1);   // compress::IpcompAlg::kLzs
  EXPECT_EQ(comp.mode, msg::kSaTunnel);
  EXPECT_EQ(comp.tun_dst, Ip(2, 2, 2, 2));
  EXPECT_EQ(esp.proto, 50);
  EXPECT_EQ(esp.mode, msg::kSaTransport);
  EXPECT_EQ(esp.cipher, 6);  // crypto::CipherAlg::kAes128Gcm
  EXPECT_EQ(esp.auth, 0);
  EXPECT_EQ(esp.cipher_key_len, 20);
  EXPECT_EQ(ah.proto, 51);
  EXPECT_EQ(ah.mode, msg::kSaTransport);
  EXPECT_EQ(a.dp.sas.at(p.in_sa[2]).spi, 2000u);
  CommandResult sa = a.Run("SHOW IPSEC SA");
  EXPECT_THAT(sa.output, HasSubstr("1      vpn              1       Valid     IPComp    3           3"));
  EXPECT_THAT(sa.output, HasSubstr("2      vpn              1       Valid     ESP       1001        1000"));
  EXPECT_THAT(sa.output, HasSubstr("3      vpn              1       Valid     AH        2001        2000"));
}

TEST(IpsecControl, DisableRemovesSasAndInterfacesDriveTheTunnelSource) {
  TempDir dir;
  Rig a(dir.path());
  ASSERT_TRUE(a.ctl->Start().ok());
  a.Script(kGatewayA);
  CommandResult dis = a.Run("DISABLE IPSEC");
  EXPECT_EQ(dis.output, "Info (181060): IPSEC has been disabled.\n");
  EXPECT_EQ(a.dp.ipsec_global.enabled, 0);
  EXPECT_TRUE(a.dp.sas.empty());
  for (const auto& [id, p] : a.dp.policies) EXPECT_EQ(p.n_out, 0);
  EXPECT_THAT(a.Run("SHOW IPSEC").output, HasSubstr("Module Status ................... DISABLED"));
  EXPECT_THAT(a.Run("ENABLE IPSEC").output, StartsWith("Info (181059): IPSEC has been enabled."));
  EXPECT_EQ(a.dp.sas.size(), 2u);
  // Without an address on ppp0 there is no tunnel source: no SA, and SHOW says why.
  a.Script("DELETE IP ROUTE=0.0.0.0 INT=ppp0\nDELETE IP INT=ppp0 IP=1.1.1.1");
  EXPECT_TRUE(a.dp.sas.empty());
  EXPECT_THAT(a.Run("SHOW IPSEC POLICY=vpn").output, HasSubstr("none: interface ppp0 has no IP address"));
  a.Script("ADD IP INT=ppp0 IP=1.1.1.9 MASK=255.255.255.0");
  const msg::SaBody* out = FindSa(a.dp, msg::kSaOutbound, 1001);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->tun_src, Ip(1, 1, 1, 9));
}

TEST(IpsecControl, DestroyTakesThePolicyOutOfTheSpdFirst) {
  TempDir dir;
  Rig a(dir.path());
  ASSERT_TRUE(a.ctl->Start().ok());
  a.Script(kGatewayA);
  a.dp.calls.clear();
  a.Script("DESTROY IPSEC POLICY=vpn");
  ASSERT_GE(a.dp.calls.size(), 4u);
  EXPECT_EQ(a.dp.calls[0], "spd 1 rules");
  EXPECT_THAT(a.dp.calls[1], StartsWith("policy_del "));
  EXPECT_EQ(a.dp.calls[2], "sa_del 2");
  EXPECT_EQ(a.dp.calls[3], "sa_del 3");
  EXPECT_TRUE(a.dp.sas.empty());
  // Now the bundle, SA spec and keys can go.
  a.Script("DESTROY IPSEC BUNDLE=1\nDESTROY IPSEC SASPEC=1\nDESTROY ENCO KEY=1\nDESTROY ENCO KEY=2");
}

TEST(IpsecControl, DataplaneRefusalChangesNothing) {
  TempDir dir;
  Rig a(dir.path());
  ASSERT_TRUE(a.ctl->Start().ok());
  a.Script(kGatewayA);
  const std::string before = a.ctl->RunningConfig();
  const auto sas = a.dp.sas;
  a.dp.refuse_next = absl::ResourceExhaustedError("SA table full");
  CommandResult r = a.Run("SET IPSEC POLICY=vpn UDPTUNNEL=TRUE");
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.output, HasSubstr("SA table full"));
  EXPECT_EQ(a.ctl->RunningConfig(), before);
  EXPECT_EQ(a.dp.sas.size(), sas.size());
  for (const auto& [id, sa] : sas) EXPECT_EQ(a.dp.sas.at(id).encap, sa.encap);
  a.dp.refuse_next = absl::ResourceExhaustedError("policy table full");
  EXPECT_FALSE(a.Run("CREATE IPSEC POLICY=deny INT=ppp0 ACTION=DENY").ok);
  EXPECT_EQ(a.ctl->RunningConfig(), before);
}

TEST(IpsecControl, ShowLayouts) {
  TempDir dir;
  Rig a(dir.path());
  ASSERT_TRUE(a.ctl->Start().ok());
  a.Script(kGatewayA);
  EXPECT_EQ(a.Run("SHOW IPSEC SA").output,
            "SA Id  Policy           Bundle  State     Protocol  OutSPI      InSPI\n" +
                std::string(77, '-') +
                "\n1      vpn              1       Valid     ESP       1001        1000\n");
  const std::string sab = a.Run("SHOW IPSEC POLICY SABUNDLE").output;
  EXPECT_THAT(sab, StartsWith("Ipsec Policy SA Bundles\n"));
  EXPECT_THAT(sab, HasSubstr("Policy ..........vpn\n0      1            VALID     -/-/0"));
  EXPECT_THAT(sab, Not(HasSubstr("Policy ..........inet")));
  const std::string detail = a.Run("SHOW IPSEC SA=1").output;
  EXPECT_THAT(detail, HasSubstr("SA Id ........................... 1\n"));
  EXPECT_THAT(detail, HasSubstr("Encryption Algorithm ............ DES\n"));
  EXPECT_THAT(detail, HasSubstr("Dataplane SA Ids ................ 2 (out), 3 (in)\n"));
  const std::string pol = a.Run("SHOW IPSEC POLICY").output;
  EXPECT_THAT(pol, HasSubstr("ppp0       1    vpn                  IPSEC   MANUAL  1       2.2.2.2          1\n"));
  EXPECT_THAT(pol, HasSubstr("ppp0       2    inet                 PERMIT  -       -       -                -\n"));
  EXPECT_THAT(a.Run("SHOW IPSEC POLICY=vpn").output, HasSubstr("Remote Address .................. 192.168.20.0\n"));
  EXPECT_THAT(a.Run("SHOW IPSEC SASPEC").output,
              HasSubstr("1     MANUAL  ESP      TUNNEL     DES        SHA     -        1000        1001\n"));
  EXPECT_THAT(a.Run("SHOW IPSEC BUNDLE").output, HasSubstr("1     MANUAL  -           -           \"1\"\n"));
  a.dp.stats.stats.worker[0].counters[shm::kCtr_ipsec_out_packets] = 7;
  a.dp.stats.stats.worker[shm::kMaxWorkers].counters[shm::kCtr_ipsec_out_packets] = 1;
  const std::string ctr = a.Run("SHOW IPSEC COUNTERS").output;
  EXPECT_THAT(ctr, HasSubstr("ipsecOutPackets ................... 8"));
  EXPECT_THAT(a.Run("SHOW IPSEC COUNTERS=drop").output, Not(HasSubstr("ipsecOutPackets")));
  // Per-SA and per-policy counters from the memzone.
  const msg::PolicyBody& vpn = a.dp.policies.begin()->second;
  a.dp.ipsec_counters.available = true;
  a.dp.ipsec_counters.sa[2].c[shm::kSa_packets] = 42;
  a.dp.ipsec_counters.sa[3].c[shm::kSa_packets] = 40;
  a.dp.ipsec_counters.policy[vpn.policy_id].c[shm::kPol_out_packets] = 42;
  EXPECT_THAT(a.Run("SHOW IPSEC SA COUNTERS").output,
              HasSubstr("  packets                              42               40\n"));
  EXPECT_THAT(a.Run("SHOW IPSEC POLICY=vpn COUNTERS").output, HasSubstr("outProcessed ..................... 42"));
  // Debug bits.
  EXPECT_EQ(a.Run("ENABLE IPSEC POLICY=vpn DEBUG=PACKET").output,
            "Info (181057): IPSEC Policy Debugging has been enabled.\n");
  EXPECT_EQ(a.dp.policies.at(vpn.policy_id).debug, 2);
  a.Run("ENABLE IPSEC POLICY=vpn DEBUG=TRACE");
  EXPECT_EQ(a.dp.policies.at(vpn.policy_id).debug, 6);
  EXPECT_EQ(a.Run("DISABLE IPSEC POLICY=vpn DEBUG=ALL").output,
            "Info (181058): IPSEC Policy Debugging has been disabled.\n");
  EXPECT_EQ(a.dp.policies.at(vpn.policy_id).debug, 0);
}

TEST(IpsecControl, TenThousandPoliciesLoadQuickly) {
  TempDir dir;
  Rig a(dir.path());
  ASSERT_TRUE(a.ctl->Start().ok());
  std::string script =
      "ADD IP INT=vlan1 IP=192.168.10.1 MASK=255.255.255.0\n"
      "ADD IP INT=ppp0 IP=172.16.1.5 MASK=255.255.0.0\nENABLE IPSEC\n"
      "CREATE IPSEC SASPEC=1 KEYMAN=ISAKMP PROT=ESP ENCALG=AES128 HASHALG=SHA\n"
      "CREATE IPSEC BUNDLE=1 KEYMAN=ISAKMP STRING=\"1\"\n";
  for (int i = 0; i < 10000; ++i) {
    absl::StrAppend(&script, "CREATE IPSEC POLICY=p", i,
                    " INT=ppp0 ACTION=IPSEC KEYMAN=ISAKMP BUNDLE=1 PEER=172.16.2.5\n",
                    "SET IPSEC POLICY=p", i, " LAD=192.168.10.0 LMA=255.255.255.0 RAD=10.",
                    100 + i / 65536, ".", (i / 256) % 256, ".", i % 256, "\n");
  }
  const absl::Time t0 = absl::Now();
  ReplayReport r = a.ctl->Replay(script, "bench.cfg");
  const absl::Duration took = absl::Now() - t0;
  EXPECT_EQ(r.failed, 0) << (r.errors.empty() ? "" : r.errors[0]);
  EXPECT_LT(took, absl::Seconds(10));
  EXPECT_EQ(a.dp.spd.size(), 10000u);
  EXPECT_LE(a.dp.spd_commits, 2);   // once for the replay (plus the one at start)
  EXPECT_EQ(a.dp.spd[9999].raddr, Ip(10, 100, 39, 15));
  std::printf("10,000 policies replayed in %s\n", absl::FormatDuration(took).c_str());
}

}  // namespace
}  // namespace arsec::control

namespace arsec::control {
namespace {

// Manual SAs have no anti-replay unless it is asked for (RFC 4303 section 3.3.3: the
// sender's counter restarts at 1 after a reboot); ISAKMP SAs have it by default.
TEST(IpsecControl, AntiReplayDefaultsFollowTheKeying) {
  SaSpec s;
  s.keyman = KeyManagement::kManual;
  EXPECT_FALSE(s.antireplay_on());
  s.replay_window = 128;
  EXPECT_TRUE(s.antireplay_on());
  EXPECT_EQ(s.window(), 128u);
  s.replay_window.reset();
  s.antireplay = true;
  EXPECT_TRUE(s.antireplay_on());
  SaSpec i;
  i.keyman = KeyManagement::kIsakmp;
  EXPECT_TRUE(i.antireplay_on());
  i.antireplay = false;
  EXPECT_FALSE(i.antireplay_on());
}

}  // namespace
}  // namespace arsec::control
