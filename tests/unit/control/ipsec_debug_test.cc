// POLICY DEBUG=PACKET dumps and SA expiry on the control side: the formatter against the
// seed's example bytes (its exact lines), header walking (AH, tunnel, ESP in UDP, short
// captures), the Controller's debug registry (which consoles receive which policy, DISABLE,
// closed sessions, SA changes) and kEvtSaExpiry in the log and SHOW IPSEC SA.
#include "control/ipsec/ipsec_debug.h"

#include <cstring>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "control/controller.h"
#include "fake_dataplane.h"
#include "test_dir.h"

namespace arsec::control {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::FakeDataplane;
using testing::TempDir;

// The seed's example (AR410 V2 reference, "ENABLE IPSEC POLICY DEBUG"): a 40-byte TCP
// segment out of policy vpn, and the 96-byte DES + HMAC-SHA-96 ESP packet it became.
const char kSeedPreIp[] = "45000028eb1040002006d908c0a81464c0a80102";
const char kSeedPreTcp[] = "0429005005b7e65c01faee4c5004000038560000";
const char kSeedPostIp[] = "450000604b7f00004032fa573f0c42ef01010101";
const char kSeedPostEsp[] = "14f45fa300000b09";
const char kSeedPostData[] =
    "9fcd18d0a34ffeecb8b0f574ddeaa820f8ba0db36cd7a9fc0254f08215e2aa7ecdb34688"
    "6193f17d39cc7f096276238bf262b668920b51c535d26e02458706623d9aa9bf";

const char kSeedPre[] =
    "IPSEC vpn: 2: OUT: pre processing:\n"
    "IP: 45000028eb1040002006d908c0a81464c0a80102\n"
    "TCP: 0429005005b7e65c01faee4c5004000038560000\n"
    "data:\n";
const char kSeedPost[] =
    "IPSEC vpn: 2: OUT: post processing:\n"
    "IP: 450000604b7f00004032fa573f0c42ef01010101\n"
    "ESP: 14f45fa300000b09:35d26e02458706623d9aa9bf\n"
    "data: 9fcd18d0a34ffeecb8b0f574ddeaa820f8ba0db36cd7a9fc0254f08215e2aa7ecdb34688\n"
    "6193f17d39cc7f096276238bf262b668920b51c535d26e02458706623d9aa9bf\n";

msg::IpsecDebugEvent Event(const std::string& hex, bool outbound, bool post,
                           uint32_t dp_sa_id = 4) {
  msg::IpsecDebugEvent e{};
  e.policy_id = 1;
  e.sa_id = dp_sa_id;
  e.outbound = outbound;
  e.post = post;
  const std::string bytes = absl::HexStringToBytes(hex);
  e.cap = static_cast<uint16_t>(std::min<size_t>(bytes.size(), msg::kDebugBytes));
  std::memcpy(e.data, bytes.data(), e.cap);
  e.len = e.cap >= 4 ? static_cast<uint16_t>(e.data[2] << 8 | e.data[3]) : 0;
  return e;
}

// Policy vpn with the seed's SA 2: ESP DES + SHA (12-byte ICV), outbound SPI 0x14f45fa3.
DebugPolicy SeedPolicy() {
  DebugPolicy p;
  p.name = "vpn";
  DebugSa sa;
  sa.show_id = 2;
  sa.protocol = SaProtocol::kEsp;
  sa.out_spi = 0x14f45fa3;
  sa.in_spi = 0x0badf00d;
  sa.icv_len = EspIcvLength(EncAlg::kDes, HashAlg::kSha);
  p.sas.push_back(sa);
  return p;
}

// An IPv4 header (checksum not needed by the dump) of `total` bytes, protocol `proto`.
std::string Ipv4(unsigned total, unsigned proto) {
  return absl::StrFormat("4500%04x00000000%02x%02x0000c0a80a01c0a81401", total, 64, proto);
}

TEST(IpsecDebugFormat, SeedExampleExactly) {
  const DebugPolicy p = SeedPolicy();
  EXPECT_EQ(FormatIpsecDebug(Event(std::string(kSeedPreIp) + kSeedPreTcp, true, false), p),
            kSeedPre);
  EXPECT_EQ(FormatIpsecDebug(
                Event(std::string(kSeedPostIp) + kSeedPostEsp + kSeedPostData, true, true), p),
            kSeedPost);
}

TEST(IpsecDebugFormat, IcvLengthsFollowTheAlgorithms) {
  EXPECT_EQ(EspIcvLength(EncAlg::kDes, HashAlg::kMd5), 12u);
  EXPECT_EQ(EspIcvLength(EncAlg::kAes128, HashAlg::kSha), 12u);
  EXPECT_EQ(EspIcvLength(EncAlg::kAes256, HashAlg::kSha256), 16u);
  EXPECT_EQ(EspIcvLength(EncAlg::kAes256, HashAlg::kSha384), 24u);
  EXPECT_EQ(EspIcvLength(EncAlg::kAes256, HashAlg::kSha512), 32u);
  EXPECT_EQ(EspIcvLength(EncAlg::kAes128Gcm, HashAlg::kNull), 16u);
  EXPECT_EQ(EspIcvLength(EncAlg::kDes, HashAlg::kNull), 0u);
}

TEST(IpsecDebugFormat, InboundAndUnknownSpi) {
  DebugPolicy p = SeedPolicy();
  // Inbound before processing: the SPI is the SA's inbound one; SA 2 = dataplane 5.
  std::string esp = std::string(Ipv4(20 + 8 + 24, 50)) + "0badf00d00000001" +
                    std::string(24, 'a') + "bbbbbbbbbbbbbbbbbbbbbbbb";
  std::string out = FormatIpsecDebug(Event(esp, false, false, 5), p);
  EXPECT_THAT(out, HasSubstr("IPSEC vpn: 2: IN: pre processing:\n"));
  EXPECT_THAT(out, HasSubstr("ESP: 0badf00d00000001:bbbbbbbbbbbbbbbbbbbbbbbb\n"));
  // An SPI no SA of the policy has: no ICV claimed.
  p.sas[0].in_spi = 7;
  out = FormatIpsecDebug(Event(esp, false, false, 5), p);
  EXPECT_THAT(out, HasSubstr("ESP: 0badf00d00000001\n"));
}

TEST(IpsecDebugFormat, DataWrapsAt36BytesAndShortCapturesStop) {
  std::string bytes;
  for (int i = 0; i < 80; ++i) bytes += static_cast<char>(i);
  const std::string hex = absl::BytesToHexString(bytes);
  EXPECT_EQ(FormatDebugData(reinterpret_cast<const uint8_t*>(bytes.data()), 80),
            "data: " + hex.substr(0, 72) + "\n" + hex.substr(72, 72) + "\n" + hex.substr(144) +
                "\n");
  EXPECT_EQ(FormatDebugData(nullptr, 0), "data:\n");

  // A 1400-byte ESP packet: only 192 bytes are captured, so the ICV is not there to show,
  // and data is what was captured after the ESP header.
  const std::string big = Ipv4(1400, 50) + "14f45fa300000001" + std::string(2 * 200, 'c');
  const std::string out = FormatIpsecDebug(Event(big, true, true), SeedPolicy());
  EXPECT_THAT(out, HasSubstr("ESP: 14f45fa300000001\n"));
  const size_t data = out.find("data: ");
  ASSERT_NE(data, std::string::npos);
  std::string hexdata = out.substr(data + 6);
  hexdata.erase(std::remove(hexdata.begin(), hexdata.end(), '\n'), hexdata.end());
  EXPECT_EQ(hexdata.size(), 2u * (192 - 28));

  // A capture that ends inside the IP header, and one that is not IPv4 at all.
  EXPECT_EQ(FormatIpsecDebug(Event("4500", true, false), SeedPolicy()),
            "IPSEC vpn: 2: OUT: pre processing:\ndata: 4500\n");
  EXPECT_THAT(FormatIpsecDebug(Event("6000000000000000000000000000000000000000", true, false),
                               SeedPolicy()),
              Not(HasSubstr("IP:")));
}

TEST(IpsecDebugFormat, HeaderWalk) {
  DebugPolicy p = SeedPolicy();
  // UDP and ICMP: 8 bytes each, then data.
  std::string out = FormatIpsecDebug(Event(Ipv4(36, 17) + "d43100350018abcd" + "0102030405060708",
                                           true, false),
                                     p);
  EXPECT_THAT(out, HasSubstr("UDP: d43100350018abcd\ndata: 0102030405060708\n"));
  out = FormatIpsecDebug(Event(Ipv4(28, 1) + "0800f7ff00000000", true, false), p);
  EXPECT_THAT(out, HasSubstr("ICMP: 0800f7ff00000000\ndata:\n"));
  // TCP with options: the data offset says 24 bytes.
  out = FormatIpsecDebug(
      Event(Ipv4(48, 6) + "04290050000000010000000060020000abcd0000020405b4" + "deadbeef", true,
            false),
      p);
  EXPECT_THAT(out, HasSubstr("TCP: 04290050000000010000000060020000abcd0000020405b4\n"
                             "data: deadbeef\n"));
  // AH (12-byte ICV: payload length 4 -> 24 bytes) in tunnel mode: then the inner header.
  const std::string ah = "04040000" "00001001" "00000001" "112233445566778899aabbcc";
  out = FormatIpsecDebug(Event(Ipv4(20 + 24 + 28, 51) + ah + Ipv4(28, 1) + "0800f7ff00000000",
                               true, true),
                         p);
  EXPECT_THAT(out, HasSubstr("AH: " + ah + "\nIP: " + Ipv4(28, 1) +
                             "\nICMP: 0800f7ff00000000\ndata:\n"));
  // IPComp: 4 bytes, then compressed data.
  out = FormatIpsecDebug(Event(Ipv4(28, 108) + "04000001" + "aabbccdd", true, true), p);
  EXPECT_THAT(out, HasSubstr("IPCOMP: 04000001\ndata: aabbccdd\n"));
  // A later fragment carries no transport header.
  out = FormatIpsecDebug(
      Event("45000020000000b94006000001010101020202020102030405060708" "0a0b0c0d", true, false),
      p);
  EXPECT_THAT(out, Not(HasSubstr("TCP:")));
  // Ethernet padding after the IPv4 total length is not packet data.
  out = FormatIpsecDebug(Event(Ipv4(28, 1) + "0800f7ff00000000" + "000000000000", true, false), p);
  EXPECT_THAT(out, HasSubstr("ICMP: 0800f7ff00000000\ndata:\n"));
}

TEST(IpsecDebugFormat, EspInUdpOnTheWireSideOnly) {
  DebugPolicy p = SeedPolicy();
  p.sas[0].udp_encap = true;
  const std::string pkt = Ipv4(20 + 8 + 8 + 16, 17) + "0abc0abc00200000" + "14f45fa300000003" +
                          "00112233" "445566778899aabbccddeeff";
  std::string out = FormatIpsecDebug(Event(pkt, true, true), p);
  EXPECT_THAT(out, HasSubstr("UDP: 0abc0abc00200000\nESP: 14f45fa300000003:445566778899aabbccddeeff\n"
                             "data: 00112233445566778899aabbccddeeff\n"));
  // Before outbound processing a UDP packet is the user's own.
  out = FormatIpsecDebug(Event(pkt, true, false), p);
  EXPECT_THAT(out, Not(HasSubstr("ESP:")));
  // The non-ESP marker (zero SPI: IKE) is not ESP.
  const std::string ike = Ipv4(20 + 8 + 8, 17) + "11941194001000000000000001020304";
  EXPECT_THAT(FormatIpsecDebug(Event(ike, false, false, 5), p), Not(HasSubstr("ESP:")));
}

// ---------------------------------------------------------------- the Controller side

// The seed's manual-key gateway A (policy vpn, SA 1 = ESP DES + SHA).
const char kGateway[] = R"(ADD IP INT=vlan1 IP=192.168.10.1 MASK=255.255.255.0
ADD IP INT=ppp0 IP=1.1.1.1 MASK=255.255.255.0
ADD IP ROUTE=0.0.0.0 INT=ppp0 NEXT=1.1.1.254
CREATE ENCO KEY=1 TYPE=DES VALUE=0xF888CAC6C66ECF52
CREATE ENCO KEY=2 TYPE=GENERAL VALUE=0x431d62cd3cb76fb8101dacaf43aa4dbfb919e957
CREATE IPSEC SASPEC=1 KEYMAN=MANUAL PROT=ESP ENCALG=DES ENCKEY=1 HASHALG=SHA HASHKEY=2 INSPI=1000 OUTSPI=1001
CREATE IPSEC BUNDLE=1 KEYMAN=MANUAL STRING="1"
CREATE IPSEC POLICY=vpn INT=ppp0 ACTION=IPSEC KEYMAN=MANUAL BUNDLE=1 PEER=2.2.2.2
SET IPSEC POLICY=vpn LAD=192.168.10.0 LMA=255.255.255.0 RAD=192.168.20.0 RMA=255.255.255.0
CREATE IPSEC POLICY=inet INT=ppp0 ACTION=PERMIT
ENABLE IPSEC
)";

class Collector : public ConsoleSink {
 public:
  void Post(std::string text) override { notes.push_back(std::move(text)); }
  std::vector<std::string> notes;
};

// SHOW LOG wraps long messages at word boundaries; this undoes the wrapping.
std::string FlatLog(const LogBuffer& log) {
  return absl::StrReplaceAll(log.Format("", ""), {{"\n", " "}});
}

struct Rig {
  explicit Rig(const std::string& dir) {
    ControllerOptions o;
    o.config_dir = dir + "/etc";
    o.flush_interval = absl::ZeroDuration();
    ctl = std::make_unique<Controller>(&dp, &log, o);
    EXPECT_TRUE(ctl->Start().ok());
    for (absl::string_view line : absl::StrSplit(kGateway, '\n')) {
      if (absl::StripAsciiWhitespace(line).empty()) continue;
      CommandResult r = ctl->Execute(secoff, line);
      EXPECT_TRUE(r.ok) << line << "\n" << r.output;
    }
    secoff.console = console;
    policy = ctl->WithIpsec([](IpsecModel& m, EncoKeyStore&) { return m.FindPolicy("vpn")->id; });
    sa = ctl->WithIpsec([&](IpsecModel& m, EncoKeyStore&) { return m.StateOf(policy)->sa_ids[0]; });
  }
  msg::IpsecDebugEvent Dump(bool post) {
    msg::IpsecDebugEvent e = Event(std::string(kSeedPreIp) + kSeedPreTcp, true, post, 2 * sa);
    e.policy_id = policy;
    return e;
  }
  FakeDataplane dp;
  LogBuffer log;
  std::unique_ptr<Controller> ctl;
  Session secoff{"secoff", lang::Privilege::kSecurityOfficer, true};
  std::shared_ptr<Collector> console = std::make_shared<Collector>();
  uint32_t policy = 0, sa = 0;
};

TEST(IpsecDebugController, DumpsGoToTheConsoleThatAskedUntilDisabled) {
  TempDir dir;
  Rig rig(dir.path());
  rig.ctl->OnIpsecDebug(rig.Dump(false));
  EXPECT_TRUE(rig.console->notes.empty());   // nobody asked yet

  CommandResult r = rig.ctl->Execute(rig.secoff, "ena ipsec policy=vpn debug=packet");
  ASSERT_TRUE(r.ok) << r.output;
  EXPECT_THAT(r.output, HasSubstr("Info (181057): IPSEC Policy Debugging has been enabled."));
  EXPECT_EQ(rig.ctl->DebugConsoles(rig.policy), 1u);
  rig.ctl->OnIpsecDebug(rig.Dump(false));
  ASSERT_EQ(rig.console->notes.size(), 1u);
  EXPECT_EQ(rig.console->notes[0],
            absl::StrCat("IPSEC vpn: ", rig.sa, ": OUT: pre processing:\n", "IP: ", kSeedPreIp,
                         "\nTCP: ", kSeedPreTcp, "\ndata:\n"));
  // Another policy's dumps, and a session without a console, change nothing.
  msg::IpsecDebugEvent other = rig.Dump(true);
  other.policy_id = rig.policy + 100;
  rig.ctl->OnIpsecDebug(other);
  EXPECT_EQ(rig.console->notes.size(), 1u);

  // DISABLE of another bit leaves PACKET on; DISABLE PACKET stops the dumps.
  ASSERT_TRUE(rig.ctl->Execute(rig.secoff, "ena ipsec policy=vpn debug=filter").ok);
  ASSERT_TRUE(rig.ctl->Execute(rig.secoff, "disa ipsec policy=vpn debug=filter").ok);
  rig.ctl->OnIpsecDebug(rig.Dump(true));
  EXPECT_EQ(rig.console->notes.size(), 2u);
  r = rig.ctl->Execute(rig.secoff, "disa ipsec policy=vpn debug=packet");
  ASSERT_TRUE(r.ok) << r.output;
  EXPECT_EQ(rig.ctl->DebugConsoles(rig.policy), 0u);
  rig.ctl->OnIpsecDebug(rig.Dump(true));
  EXPECT_EQ(rig.console->notes.size(), 2u);
}

TEST(IpsecDebugController, ClosedSessionsAreForgottenAndSaChangesFollowed) {
  TempDir dir;
  Rig rig(dir.path());
  ASSERT_TRUE(rig.ctl->Execute(rig.secoff, "enable ipsec policy=vpn debug=all").ok);
  auto second = std::make_shared<Collector>();
  Session other{"manager", lang::Privilege::kSecurityOfficer, true, second};
  ASSERT_TRUE(other.console);
  ASSERT_TRUE(rig.ctl->Execute(other, "enable ipsec policy=vpn debug=packet").ok);
  ASSERT_TRUE(rig.ctl->Execute(other, "enable ipsec policy=vpn debug=packet").ok);
  EXPECT_EQ(rig.ctl->DebugConsoles(rig.policy), 2u);   // once per console
  rig.ctl->OnIpsecDebug(rig.Dump(false));
  EXPECT_EQ(rig.console->notes.size(), 1u);
  EXPECT_EQ(second->notes.size(), 1u);

  // The first session closes: only the second one hears.
  std::weak_ptr<Collector> gone = rig.console;
  rig.secoff.console.reset();
  rig.console.reset();
  ASSERT_TRUE(gone.expired());
  rig.ctl->OnIpsecDebug(rig.Dump(false));
  EXPECT_EQ(second->notes.size(), 2u);
  EXPECT_EQ(rig.ctl->DebugConsoles(rig.policy), 1u);

  // RESET IPSEC SA installs the SAs under a new id: the dump names it.
  ASSERT_TRUE(rig.ctl->Execute(other, "reset ipsec sa").ok);
  const uint32_t new_sa = rig.ctl->WithIpsec(
      [&](IpsecModel& m, EncoKeyStore&) { return m.StateOf(rig.policy)->sa_ids[0]; });
  ASSERT_NE(new_sa, rig.sa);
  msg::IpsecDebugEvent e = rig.Dump(true);
  e.sa_id = 2 * new_sa + 1;
  e.outbound = 0;
  rig.ctl->OnIpsecDebug(e);
  EXPECT_THAT(second->notes.back(),
              HasSubstr(absl::StrCat("IPSEC vpn: ", new_sa, ": IN: post processing:")));

  // The policy is destroyed: its watch goes with it.
  ASSERT_TRUE(rig.ctl->Execute(other, "destroy ipsec policy=vpn").ok);
  EXPECT_EQ(rig.ctl->DebugConsoles(rig.policy), 0u);
}

TEST(IpsecDebugController, SaExpiryLogsAndShows) {
  TempDir dir;
  Rig rig(dir.path());
  msg::SaExpiryEvent x{};
  x.sa_id = 2 * rig.sa;
  x.policy_id = rig.policy;
  x.hard = 0;
  x.by_bytes = 1;
  x.bytes = 4096 * 1024;
  x.age_s = 120;
  rig.ctl->OnSaExpiry(x);
  std::string log = FlatLog(rig.log);
  EXPECT_THAT(log, HasSubstr(absl::StrCat("3 IPSE IPSC MSG   IPsec SA ", rig.sa,
                                          " (policy vpn) soft lifetime expired after 4096 kbytes / "
                                          "120 s (outbound, kbytes limit)")));
  CommandResult show = rig.ctl->Execute(rig.secoff, "show ipsec sa");
  EXPECT_THAT(show.output, HasSubstr("Valid"));

  x.sa_id = 2 * rig.sa + 1;
  x.hard = 1;
  x.by_bytes = 0;
  x.age_s = 3600;
  rig.ctl->OnSaExpiry(x);
  log = FlatLog(rig.log);
  EXPECT_THAT(log, HasSubstr(absl::StrCat("IPsec SA ", rig.sa,
                                          " (policy vpn) hard lifetime expired after 4096 kbytes / "
                                          "3600 s (inbound, seconds limit): SA removed")));
  show = rig.ctl->Execute(rig.secoff, absl::StrCat("show ipsec sa=", rig.sa));
  EXPECT_TRUE(show.ok) << show.output;
  EXPECT_THAT(show.output, HasSubstr("Expired"));
  EXPECT_TRUE(rig.ctl->WithIpsec(
      [&](IpsecModel& m, EncoKeyStore&) { return m.sas().at(rig.sa).hard_expired; }));

  // An SA the model does not know (replaced meanwhile, or nonsense): a log line, no crash.
  x.sa_id = 4000;
  x.policy_id = 77777;
  rig.ctl->OnSaExpiry(x);
  EXPECT_THAT(FlatLog(rig.log),
              HasSubstr("IPsec SA 2000 (policy id 77777) hard lifetime expired"));
  x.sa_id = msg::kNoSa;
  rig.ctl->OnSaExpiry(x);
}

}  // namespace
}  // namespace arsec::control
