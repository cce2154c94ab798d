// arsec-control's ISAKMP commands end to end through the Controller: every CREATE ISAKMP
// POLICY line of the seed typed verbatim, the defaults the IKE daemon reads, every
// validation rule, the SHOW layouts (the daemon's side from a recording IkeService), the
// save + replay round trip with XAUTHPASS restored from the key store and never written
// anywhere else, DEBUG per console, the config-changed signal, and the log lines.
#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "control/config/persistence.h"
#include "control/controller.h"
#include "control/isakmp/isakmp_show.h"
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

// The daemon's side, recorded.
class RecordingIke : public ike::IkeService {
 public:
  std::vector<ike::IsakmpSaInfo> IsakmpSas() override { return sas; }
  std::vector<ike::ExchangeInfo> Exchanges() override { return exchanges; }
  ike::IsakmpCounters Counters() override { return counters; }
  void ResetSas() override { ++reset_sas; }
  void ResetCounters() override { ++reset_counters; }
  void SetDebug(uint32_t flags, std::shared_ptr<ConsoleSink> console) override {
    debug.emplace_back(flags, console);
  }
  void Configure(std::shared_ptr<const ike::IkeConfig> cfg) override {
    ++configures;
    last = std::move(cfg);
  }
  void Acquire(uint32_t policy_id, uint32_t, uint32_t) override { acquires.push_back(policy_id); }
  void SaExpired(uint32_t handle, bool hard) override { expired.emplace_back(handle, hard); }
  int configures = 0;
  std::shared_ptr<const ike::IkeConfig> last;
  std::vector<uint32_t> acquires;
  std::vector<std::pair<uint32_t, bool>> expired;
  std::vector<ike::IsakmpSaInfo> sas;
  std::vector<ike::ExchangeInfo> exchanges;
  ike::IsakmpCounters counters;
  int reset_sas = 0, reset_counters = 0;
  std::vector<std::pair<uint32_t, std::shared_ptr<ConsoleSink>>> debug;
};

class NullConsole : public ConsoleSink {
 public:
  void Post(std::string) override {}
};

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
  void Script(absl::string_view text) {
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      if (absl::StripAsciiWhitespace(line).empty()) continue;
      CommandResult r = Run(line);
      ASSERT_TRUE(r.ok) << line << "\n" << r.output;
    }
  }
  std::string Err(absl::string_view line) {
    CommandResult r = Run(line);
    EXPECT_FALSE(r.ok) << line << " succeeded:\n" << r.output;
    return r.output;
  }
  IsakmpPolicyView View(const std::string& name) {
    return ctl->WithIsakmp([&](const IsakmpModel& m, const IpsecModel&, const EncoKeyStore&,
                               const ConfigModel&) {
      const IsakmpPolicy* p = m.FindPolicy(name);
      EXPECT_NE(p, nullptr) << name;
      return p ? *m.View(*p) : IsakmpPolicyView{};
    });
  }
  FakeDataplane dp;
  LogBuffer log;
  std::unique_ptr<Controller> ctl;
  Session manager{"manager", lang::Privilege::kManager, true};
};

const char kKeys[] = R"(CREATE ENCO KEY=1 TYPE=GENERAL VALUE="jogefoge"
CREATE ENCO KEY=2 TYPE=GENERAL VALUE="pobaetrpnjkakdf"
)";

// ---------------------------------------------------------------- the seed, verbatim

TEST(IsakmpControl, EverySeedPolicyLineVerbatim) {
  // Each group is one router's configuration in the seed.
  const std::vector<std::string> routers = {
      // basic set-up, fixed peer
      "CREATE ISAKMP POLICY=i PEER=2.2.2.2 KEY=1 SENDN=TRUE\nENABLE ISAKMP",
      // basic set-up, address-fixed side and address-unknown side
      "CREATE ISAKMP POLICY=i PEER=ANY KEY=1 SENDN=TRUE REMOTEID=\"RouterB\" MODE=AGGRESSIVE",
      "CREATE ISAKMP POLICY=i PEER=1.1.1.1 KEY=1 SENDN=TRUE LOCALID=\"RouterB\" MODE=AGGRESSIVE",
      // automatic keying section
      "CREATE ISAKMP POLICY=i PEER=2.2.2.2 KEY=1 SENDN=TRUE",
      "CREATE ISAKMP POLICY=i PEER=ANY KEY=1 REMOTEID=client MODE=AGGRESSIVE SENDN=TRUE",
      "CREATE ISAKMP POLICY=i PEER=1.1.1.1 KEY=1 LOCALID=client MODE=AGGRESSIVE SENDN=TRUE",
      "CREATE ISAKMP POLICY=two PEER=2.2.2.2 KEY=1 SENDN=TRUE\n"
      "CREATE ISAKMP POLICY=three PEER=3.3.3.3 KEY=2 SENDN=TRUE",
      "CREATE ISAKMP POLICY=c1 PEER=ANY KEY=1 REMOTEID=peer1 MODE=AGGRESSIVE SENDN=TRUE\n"
      "CREATE ISAKMP POLICY=c2 PEER=ANY KEY=2 REMOTEID=peer2 MODE=AGGRESSIVE SENDN=TRUE",
      "CREATE ISAKMP POLICY=i PEER=ANY KEY=1 SENDN=TRUE XAUTH=SERVER\n"
      "ADD USER=client1 PASSWORD=passclie1 LOGIN=NO\n"
      "ADD USER=client2 PASSWORD=passclie2 LOGIN=NO",
      "CREATE ISAKMP POLICY=i PEER=1.1.1.1 KEY=1 SENDN=TRUE XAUTH=CLIENT\n"
      "SET ISAKMP POLICY=i XAUTHNAME=client1 XAUTHPASS=passclie1",
      "CREATE ISAKMP POLICY=i PEER=2.2.2.2 AUTHTYPE=RSASIG LOCALRSAKEY=2 SENDN=TRUE",
      "CREATE ISAKMP POLICY=i PEER=2.2.2.2 KEY=1 SENDN=TRUE GROUP=2",
      // NAT-T
      "CREATE ISAKMP POLICY=i PEER=2.2.2.2 KEY=1 SENDN=TRUE\n"
      "SET ISAKMP POLICY=i NATTRAVERSAL=TRUE",
  };
  for (const std::string& script : routers) {
    TempDir dir;
    Rig a(dir.path());
    ASSERT_TRUE(a.ctl->Start().ok());
    a.Script(kKeys);
    a.Script(script);
    for (const char* show : {"SHOW ISAKMP POLICY", "SHOW ISAKMP POLICY=i", "SHOW ISAKMP",
                             "show isakmp sa", "show isakmp exchange",
                             "SHOW ISAKMP COUNTERS=MAIN", "SHOW ISAKMP COUNTERS=AGGRESSIVE",
                             "SHOW ISAKMP COUNTERS=QUICK", "SHOW CONFIG DYNAMIC=ISAKMP"}) {
      CommandResult r = a.Run(show);
      const bool no_i = script.find("POLICY=i ") == std::string::npos;
      if (no_i && absl::EndsWith(show, "=i")) continue;
      EXPECT_TRUE(r.ok) << script << "\n" << show << "\n" << r.output;
    }
  }
}

TEST(IsakmpControl, SeedPoliciesReadAsTheSeedMeansThem) {
  TempDir dir;
  Rig a(dir.path());
  ASSERT_TRUE(a.ctl->Start().ok());
  a.Script(kKeys);
  a.Script(R"(CREATE ISAKMP POLICY=c1 PEER=ANY KEY=1 REMOTEID=peer1 MODE=AGGRESSIVE SENDN=TRUE
CREATE ISAKMP POLICY=i PEER=1.1.1.1 KEY=1 SENDN=TRUE XAUTH=CLIENT
SET ISAKMP POLICY=i XAUTHNAME=client1 XAUTHPASS=passclie1
CREATE ISAKMP POLICY=r PEER=2.2.2.2 AUTHTYPE=RSASIG LOCALRSAKEY=2 SENDN=TRUE LOCALCERTIFICATE="gw.pem" CACERTIFICATE="/etc/ssl/ca.pem"
CREATE ISAKMP POLICY=ids PEER=3.3.3.3 KEY=2 LOCALID="me@example.com" REMOTEID="keyid:gw-b"
)");
  IsakmpPolicyView c1 = a.View("c1");
  EXPECT_TRUE(c1.peer_any);
  EXPECT_TRUE(c1.aggressive);
  EXPECT_TRUE(c1.send_notify);
  ASSERT_TRUE(c1.remote_id.has_value());
  EXPECT_EQ(c1.remote_id->type, ike::IdType::kFqdn);
  EXPECT_EQ(c1.remote_id->data, "peer1");
  EXPECT_EQ(c1.key, 1u);
  // Defaults: the seed's (group 1, Main Mode, one day) and the AR family's.
  IsakmpPolicyView i = a.View("i");
  EXPECT_EQ(i.peer, Ip(1, 1, 1, 1));
  EXPECT_FALSE(i.aggressive);
  EXPECT_EQ(i.auth, IsakmpAuth::kPreshared);
  EXPECT_EQ(i.group, 1);
  EXPECT_EQ(i.encalg, EncAlg::kDes);
  EXPECT_EQ(i.hashalg, HashAlg::kSha);
  EXPECT_EQ(i.expiry_seconds, 86400u);
  EXPECT_FALSE(i.expiry_kbytes.has_value());
  EXPECT_FALSE(i.nat_traversal);
  EXPECT_EQ(i.dpd, IsakmpDpd::kReceive);
  EXPECT_FALSE(i.phase2_xchg_limit.has_value());
  EXPECT_FALSE(i.send_deletes);
  EXPECT_TRUE(i.rekey);
  EXPECT_EQ(i.retry_ike_attempts, 0u);
  EXPECT_EQ(i.msg_retry_limit, 8u);
  EXPECT_EQ(i.msg_timeout_s, 4u);
  EXPECT_TRUE(i.msg_backoff_incremental);
  EXPECT_EQ(i.delete_delay_s, 5u);
  EXPECT_FALSE(i.local_id.has_value());
  EXPECT_EQ(i.xauth, IsakmpXauth::kClient);
  EXPECT_EQ(i.xauth_name, "client1");
  ASSERT_TRUE(i.has_xauth_pass);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(i.xauth_pass.data()), i.xauth_pass.size()),
            "passclie1");
  IsakmpPolicyView r = a.View("r");
  EXPECT_EQ(r.auth, IsakmpAuth::kRsaSig);
  EXPECT_EQ(r.local_rsa_key, 2u);
  EXPECT_EQ(r.local_rsa_key_file, dir.path() + "/etc/rsa2.key");
  EXPECT_EQ(r.local_certificate, dir.path() + "/etc/gw.pem");
  EXPECT_EQ(r.ca_certificate, "/etc/ssl/ca.pem");
  EXPECT_FALSE(r.key.has_value());
  IsakmpPolicyView ids = a.View("ids");
  EXPECT_EQ(ids.local_id->type, ike::IdType::kUserFqdn);
  EXPECT_EQ(ids.remote_id->type, ike::IdType::kKeyId);
  EXPECT_EQ(ids.remote_id->data, "gw-b");
  EXPECT_EQ(IsakmpId::Parse("10.0.0.1").type, ike::IdType::kIpv4Addr);
  EXPECT_EQ(IsakmpId::Parse("10.0.0.1").ipv4, Ip(10, 0, 0, 1));
  // The daemon reads them all, in creation order.
  auto names = a.ctl->WithIsakmp([](const IsakmpModel& m, const IpsecModel&,
                                    const EncoKeyStore&, const ConfigModel&) {
    std::vector<std::string> out;
    for (const auto& v : m.Views()) out.push_back(v.name);
    return out;
  });
  EXPECT_EQ(names, (std::vector<std::string>{"c1", "i", "r", "ids"}));
}

// ---------------------------------------------------------------- rules

TEST(IsakmpControl, EveryValidationRule) {
  TempDir dir;
  Rig a(dir.path());
  ASSERT_TRUE(a.ctl->Start().ok());
  a.Script(kKeys);
  a.Script("CREATE ENCO KEY=3 TYPE=DES VALUE=0xF888CAC6C66ECF52");
  // PEER=ANY: Aggressive Mode with REMOTEID, or XAUTH=SERVER.
  EXPECT_EQ(a.Err("CREATE ISAKMP POLICY=x PEER=ANY KEY=1"),
            "Error (382045): Parameter \"MODE\" must be AGGRESSIVE with PEER=ANY (unless "
            "XAUTH=SERVER).\n");
  EXPECT_EQ(a.Err("CREATE ISAKMP POLICY=x PEER=ANY KEY=1 MODE=AGGRESSIVE"),
            "Error (382044): Parameter \"REMOTEID\" is required with PEER=ANY and "
            "MODE=AGGRESSIVE.\n");
  EXPECT_TRUE(a.Run("CREATE ISAKMP POLICY=rsa PEER=ANY AUTHTYPE=RSASIG LOCALRSAKEY=1 REMOTEID=cert-peer").ok);
  // KEY: required with PRESHARED (the default), an existing GENERAL key.
  EXPECT_EQ(a.Err("CREATE ISAKMP POLICY=x PEER=2.2.2.2"),
            "Error (382044): Parameter \"KEY\" is required with AUTHTYPE=PRESHARED.\n");
  EXPECT_THAT(a.Err("CREATE ISAKMP POLICY=x PEER=2.2.2.2 KEY=9"),
              StartsWith("Error (382030): KEY 9: ENCO key 9 does not exist"));
  EXPECT_THAT(a.Err("CREATE ISAKMP POLICY=x PEER=2.2.2.2 KEY=3"),
              StartsWith("Error (382036): KEY 3 is a DES key; a pre-shared key must be an ENCO "
                         "key of TYPE=GENERAL"));
  EXPECT_EQ(a.Err("CREATE ISAKMP POLICY=x PEER=2.2.2.2 LOCALRSAKEY=1 KEY=1"),
            "Error (382046): Parameter \"LOCALRSAKEY\" cannot be used with AUTHTYPE=PRESHARED.\n");
  EXPECT_EQ(a.Err("CREATE ISAKMP POLICY=x PEER=2.2.2.2 KEY=1 CACERTIFICATE=ca.pem"),
            "Error (382046): Parameter \"CACERTIFICATE\" cannot be used with AUTHTYPE=PRESHARED.\n");
  // XAUTHNAME / XAUTHPASS only with XAUTH=CLIENT, also when XAUTH is left at NONE.
  EXPECT_EQ(a.Err("CREATE ISAKMP POLICY=x PEER=2.2.2.2 KEY=1 XAUTHNAME=u"),
            "Error (382046): Parameter \"XAUTHNAME\" cannot be used with XAUTH=NONE.\n");
  EXPECT_EQ(a.Err("CREATE ISAKMP POLICY=x PEER=2.2.2.2 KEY=1 XAUTHPASS=secretpw"),
            "Error (382046): Parameter \"XAUTHPASS\" cannot be used with XAUTH=NONE.\n");
  EXPECT_EQ(a.Err("CREATE ISAKMP POLICY=x PEER=2.2.2.2 KEY=1 DPDIDLETIMEOUT=60"),
            "Error (382046): Parameter \"DPDIDLETIMEOUT\" cannot be used with DPDMODE=RECEIVE.\n");
  EXPECT_EQ(a.Err("CREATE ISAKMP POLICY=x PEER=2.2.2.2 KEY=1 REMOTEID=keyid:"),
            "Error (382036): A keyid: ID needs text after \"keyid:\".\n");
  // One policy per peer and REMOTEID.
  a.Script("CREATE ISAKMP POLICY=i PEER=2.2.2.2 KEY=1 SENDN=TRUE");
  EXPECT_EQ(a.Err("CREATE ISAKMP POLICY=i PEER=3.3.3.3 KEY=1"),
            "Error (382031): ISAKMP policy i already exists.\n");
  EXPECT_EQ(a.Err("CREATE ISAKMP POLICY=j PEER=2.2.2.2 KEY=2"),
            "Error (382031): ISAKMP policy i already has PEER=2.2.2.2 and no REMOTEID; policies "
            "for the same peer need different REMOTEIDs.\n");
  EXPECT_TRUE(a.Run("CREATE ISAKMP POLICY=j PEER=2.2.2.2 KEY=2 REMOTEID=other").ok);
  a.Script("CREATE ISAKMP POLICY=xs PEER=ANY KEY=1 XAUTH=SERVER");
  EXPECT_THAT(a.Err("CREATE ISAKMP POLICY=xs2 PEER=ANY KEY=2 XAUTH=SERVER"),
              StartsWith("Error (382031): ISAKMP policy xs already has PEER=ANY and no REMOTEID"));
  a.Script("CREATE ISAKMP POLICY=c1 PEER=ANY KEY=1 REMOTEID=peer1 MODE=AGGRESSIVE");
  EXPECT_THAT(a.Err("CREATE ISAKMP POLICY=c2 PEER=ANY KEY=2 REMOTEID=PEER1 MODE=AGGRESSIVE"),
              StartsWith("Error (382031): ISAKMP policy c1 already has PEER=ANY and REMOTEID=peer1"));
  EXPECT_THAT(a.Err("SET ISAKMP POLICY=j REMOTEID=\"\""), StartsWith("Error (382028)"));
  EXPECT_THAT(a.Err("SET ISAKMP POLICY=j PEER=3.3.3.3 REMOTEID=x KEY=1 MODE=MAIN REMOTEID=y"),
              StartsWith("Error (382007)"));
  // SET is held to the same rules on the merged policy.
  EXPECT_EQ(a.Err("SET ISAKMP POLICY=i PEER=ANY"),
            "Error (382045): Parameter \"MODE\" must be AGGRESSIVE with PEER=ANY (unless "
            "XAUTH=SERVER).\n");
  EXPECT_EQ(a.Err("SET ISAKMP POLICY=i XAUTHPASS=secretpw"),
            "Error (382046): Parameter \"XAUTHPASS\" cannot be used with XAUTH=NONE.\n");
  EXPECT_EQ(a.Err("SET ISAKMP POLICY=i AUTHTYPE=RSASIG"),
            "Error (382044): Parameter \"LOCALRSAKEY\" is required with AUTHTYPE=RSASIG.\n");
  EXPECT_THAT(a.Err("SET ISAKMP POLICY=j REMOTEID=x PEER=2.2.2.2 KEY=1 REMOTEID=y"),
              StartsWith("Error (382007)"));
  EXPECT_THAT(a.Err("SET ISAKMP POLICY=j KEY=2 PEER=2.2.2.2 REMOTEID=x REMOTEID=y"),
              StartsWith("Error (382007)"));
  // Unknown policies.
  EXPECT_EQ(a.Err("DESTROY ISAKMP POLICY=nope"),
            "Error (382030): ISAKMP policy nope does not exist.\n");
  EXPECT_EQ(a.Err("SET ISAKMP POLICY=nope KEY=1"),
            "Error (382030): ISAKMP policy nope does not exist.\n");
  EXPECT_EQ(a.Err("SHOW ISAKMP POLICY=nope"), "Error (382030): ISAKMP policy nope does not exist.\n");
  // The pre-shared key stays while a policy names it.
  EXPECT_EQ(a.Err("DESTROY ENCO KEY=1"), "Error (383032): ENCO key 1 is in use by ISAKMP policy i.\n");
  // Nothing refused changed anything.
  auto n = a.ctl->WithIsakmp([](const IsakmpModel& m, const IpsecModel&, const EncoKeyStore&,
                                const ConfigModel&) { return m.size(); });
  EXPECT_EQ(n, 5u);
}

TEST(IsakmpControl, SetDropsWhatDependedOnAChangedValue) {
  TempDir dir;
  Rig a(dir.path());
  ASSERT_TRUE(a.ctl->Start().ok());
  a.Script(kKeys);
  a.Script(R"(CREATE ISAKMP POLICY=i PEER=1.1.1.1 KEY=1 SENDN=TRUE XAUTH=CLIENT PRENEGOTIATE=TRUE RETRYIKEATTEMPTS=3
SET ISAKMP POLICY=i XAUTHNAME=client1 XAUTHPASS=passclie1
SET ISAKMP POLICY=i DPDMODE=BOTH DPDIDLETIMEOUT=60
)");
  EXPECT_EQ(a.View("i").dpd_idle_s, 60u);
  a.Script("SET ISAKMP POLICY=i AUTHTYPE=RSASIG LOCALRSAKEY=1");
  EXPECT_FALSE(a.View("i").key.has_value());
  a.Script("SET ISAKMP POLICY=i AUTHTYPE=PRESHARED KEY=2");
  EXPECT_FALSE(a.View("i").local_rsa_key.has_value());
  a.Script("SET ISAKMP POLICY=i DPDMODE=NONE");
  EXPECT_EQ(a.View("i").dpd_idle_s, 30u);
  a.Script("SET ISAKMP POLICY=i PEER=ANY MODE=AGGRESSIVE REMOTEID=client");
  EXPECT_FALSE(a.View("i").prenegotiate);
  EXPECT_EQ(a.View("i").retry_ike_attempts, 0u);
  EXPECT_TRUE(a.View("i").has_xauth_pass);
  a.Script("SET ISAKMP POLICY=i XAUTH=NONE");
  EXPECT_TRUE(a.View("i").xauth_name.empty());
  EXPECT_FALSE(a.View("i").has_xauth_pass);
  // The password left the key store with XAUTH=CLIENT.
  EXPECT_TRUE(a.ctl->WithIsakmp([](const IsakmpModel&, const IpsecModel&,
                                   const EncoKeyStore& k, const ConfigModel&) {
    return k.secrets().empty();
  }));
  // A new policy of an old name does not inherit an old password.
  a.Script(R"(SET ISAKMP POLICY=i XAUTH=CLIENT XAUTHPASS=passclie1
DESTROY ISAKMP POLICY=i
CREATE ISAKMP POLICY=i PEER=1.1.1.1 KEY=1 XAUTH=CLIENT
)");
  EXPECT_FALSE(a.View("i").has_xauth_pass);
}

// ---------------------------------------------------------------- SHOW layouts

TEST(IsakmpControl, ShowLayouts) {
  TempDir dir;
  Rig a(dir.path());
  RecordingIke ike;
  ASSERT_TRUE(a.ctl->Start().ok());
  a.ctl->SetIkeService(&ike, nullptr);
  a.Script(kKeys);
  a.Script(R"(CREATE ISAKMP POLICY=i PEER=2.2.2.2 KEY=1 SENDN=TRUE
CREATE ISAKMP POLICY=c1 PEER=ANY KEY=2 REMOTEID=peer1 MODE=AGGRESSIVE SENDN=TRUE GROUP=14 ENCALG=AES128 HASHALG=SHA256
)");
  EXPECT_EQ(a.Run("SHOW ISAKMP").output,
            "ISAKMP Module Configuration\n" + std::string(78, '-') + "\n" +
                "Module Status ................... DISABLED\n"
                "Policies ........................ 2\n"
                "ISAKMP SAs ...................... 0\n"
                "Exchanges in Progress ........... 0\n"
                "Debug (this console) ............ NONE\n" +
                std::string(78, '-') + "\n");
  a.Script("ENABLE ISAKMP");
  EXPECT_THAT(a.Run("SHOW ISAKMP").output, HasSubstr("Module Status ................... ENABLED\n"));
  const std::string list = a.Run("SHOW ISAKMP POLICY").output;
  EXPECT_THAT(list, HasSubstr("Name             Peer            Mode       Auth      Key   "
                              "Enc/Hash      Remote ID    XAUTH\n"));
  EXPECT_THAT(list, HasSubstr("\ni                2.2.2.2         MAIN       PRESHARED 1     "
                              "DES/SHA       -            NONE\n"));
  EXPECT_THAT(list, HasSubstr("\nc1               ANY             AGGRESSIVE PRESHARED 2     "
                              "AES128/SHA256 peer1        NONE\n"));
  const std::string detail = a.Run("SHOW ISAKMP POLICY=c1").output;
  for (const char* line : {"Name ............................ c1\n",
                           "Peer Address .................... ANY\n",
                           "Mode ............................ AGGRESSIVE\n",
                           "Authentication Type ............. PRESHARED\n",
                           "Pre-shared Key .................. 2\n",
                           "Local ID ........................ (local address)\n",
                           "Remote ID ....................... peer1 (FQDN)\n",
                           "Send Notify ..................... TRUE\n",
                           "Encryption Algorithm ............ AES128\n",
                           "Hash Algorithm .................. SHA256\n",
                           "Group ........................... 14 (2048-bit MODP)\n",
                           "Expiry Seconds .................. 86400\n",
                           "NAT Traversal ................... FALSE\n",
                           "XAUTH ........................... NONE\n",
                           "DPD Mode ........................ RECEIVE\n",
                           "Message Back-off ................ INCREMENTAL\n"}) {
    EXPECT_THAT(detail, HasSubstr(line));
  }

  // The daemon's tables, in the seed's layouts.
  ike::IsakmpSaInfo sa;
  sa.id = 3;
  sa.peer = Ip(1, 1, 1, 1);
  sa.local = Ip(2, 2, 2, 2);
  sa.policy = "i";
  sa.encalg = "DES";
  sa.hashalg = "SHA";
  sa.mode = "MAIN";
  sa.auth = "PRESHARED";
  sa.hard_seconds = 86400;
  sa.soft_seconds = 82080;
  sa.used_seconds = 1382;
  sa.state = "ESTABLISHED";
  sa.icookie = 0x5052045c2e566b81ull;
  ike.sas.push_back(sa);
  EXPECT_EQ(a.Run("show isakmp sa").output,
            "                                        Expiry Limits - hard/soft/used\n"
            "SA Id  PeerAddress      EncA.   HashA.  Bytes                Seconds\n" +
                std::string(77, '-') + "\n" +
                "3      1.1.1.1          DES     SHA     -/-/-                86400/82080/1382\n");
  const std::string one = a.Run("SHOW ISAKMP SA=3").output;
  EXPECT_THAT(one, HasSubstr("SA Id ........................... 3\n"));
  EXPECT_THAT(one, HasSubstr("Initiator Cookie ................ 5052045c2e566b81\n"));
  EXPECT_THAT(one, HasSubstr("Expiry Seconds (hard/soft/used) . 86400/82080/1382\n"));
  EXPECT_EQ(a.Err("SHOW ISAKMP SA=9"), "Error (382030): ISAKMP SA 9 does not exist.\n");
  ike::ExchangeInfo x;
  x.id = 3;
  x.phase = 4;
  x.state = "WAIT_HASH_SA_NONCE";
  x.peer = Ip(2, 2, 2, 2);
  x.type = "QUICK";
  ike.exchanges.push_back(x);
  EXPECT_EQ(a.Run("show isakmp exchange").output,
            "ISAKMP Exchanges\n"
            "Id     Phase  State                    PeerAddress      Type\n" +
                std::string(65, '-') + "\n" +
                "3      4      WAIT_HASH_SA_NONCE       2.2.2.2          QUICK\n");
  EXPECT_THAT(a.Run("SHOW ISAKMP").output, HasSubstr("ISAKMP SAs ...................... 1\n"));
  ike.counters.groups = {{"MAIN", {{"inMessages", 12}, {"outMessages", 11}, {"failed", 1}}},
                         {"QUICK", {{"inMessages", 4}}}};
  const std::string main = a.Run("SHOW ISAKMP COUNTERS=MAIN").output;
  EXPECT_THAT(main, StartsWith("ISAKMP MAIN Counters\n"));
  EXPECT_THAT(main, HasSubstr("inMessages                         12    outMessages"
                              "                        11\n"));
  EXPECT_THAT(main, Not(HasSubstr("QUICK")));
  EXPECT_THAT(a.Run("SHOW ISAKMP COUNTERS").output, HasSubstr("ISAKMP QUICK Counters\n"));
  EXPECT_THAT(a.Run("SHOW ISAKMP COUNTERS=DPD").output, StartsWith("ISAKMP DPD Counters\n"));
  // RESET goes to the daemon.
  a.Script("RESET ISAKMP\nRESET ISAKMP COUNTERS\nRESET ISAKMP COUNTERS");
  EXPECT_EQ(ike.reset_sas, 1);
  EXPECT_EQ(ike.reset_counters, 2);
}

TEST(IsakmpControl, WithoutADaemonTheTablesAreEmpty) {
  TempDir dir;
  Rig a(dir.path());
  ASSERT_TRUE(a.ctl->Start().ok());
  EXPECT_EQ(a.Run("SHOW ISAKMP SA").output,
            "                                        Expiry Limits - hard/soft/used\n"
            "SA Id  PeerAddress      EncA.   HashA.  Bytes                Seconds\n" +
                std::string(77, '-') + "\n");
  EXPECT_EQ(a.Run("SHOW ISAKMP EXCHANGE").output,
            "ISAKMP Exchanges\nId     Phase  State                    PeerAddress      Type\n" +
                std::string(65, '-') + "\n");
  EXPECT_TRUE(a.Run("SHOW ISAKMP COUNTERS").ok);
  EXPECT_EQ(a.Run("RESET ISAKMP").output, "Info (182003): Operation successful.\n");
  EXPECT_EQ(a.Run("ENABLE ISAKMP DEBUG=PKT").output,
            "Info (182057): ISAKMP Debugging has been enabled.\n");
}

// ---------------------------------------------------------------- module, debug, log

TEST(IsakmpControl, EnableDisableLogAndDebug) {
  TempDir dir;
  Rig a(dir.path());
  RecordingIke ike;
  ASSERT_TRUE(a.ctl->Start().ok());
  a.ctl->SetIkeService(&ike, nullptr);
  EXPECT_EQ(a.Run("ENABLE ISAKMP").output, "Info (182059): ISAKMP has been enabled.\n");
  EXPECT_EQ(a.Run("DISABLE ISAKMP").output, "Info (182060): ISAKMP has been disabled.\n");
  a.Script("ENABLE IPSEC\nENABLE ISAKMP");
  const std::string isak = a.Run("SHOW LOG MODULE=ISAK").output;
  EXPECT_THAT(isak, HasSubstr(" 3 ISAK IKMP MSG   ISAKMP has been enabled\n"));
  EXPECT_THAT(isak, HasSubstr(" 3 ISAK IKMP MSG   ISAKMP has been disabled\n"));
  EXPECT_THAT(isak, Not(HasSubstr("IPSEC has been enabled")));
  EXPECT_THAT(a.Run("SHOW LOG MODULE=IPSE").output, Not(HasSubstr("ISAKMP")));
  EXPECT_THAT(a.Run("SHOW CONFIG DYNAMIC=ISAKMP").output, HasSubstr("ENABLE ISAKMP\n"));

  // DEBUG is per console: the seed's reply, and the daemon is told this console's flags.
  auto console = std::make_shared<NullConsole>();
  Session sess{"secoff", lang::Privilege::kSecurityOfficer, true, console};
  EXPECT_EQ(a.ctl->Execute(sess, "enable isakmp debug=pkt").output,
            "Info (182057): ISAKMP Debugging has been enabled.\n");
  ASSERT_EQ(ike.debug.size(), 1u);
  EXPECT_EQ(ike.debug[0].first, ike::kDebugPkt);
  EXPECT_EQ(ike.debug[0].second, console);
  a.ctl->Execute(sess, "ENABLE ISAKMP DEBUG=STATE");
  EXPECT_EQ(ike.debug.back().first, ike::kDebugPkt | ike::kDebugState);
  EXPECT_THAT(a.ctl->Execute(sess, "SHOW ISAKMP").output,
              HasSubstr("Debug (this console) ............ PKT, STATE\n"));
  EXPECT_THAT(a.Run("SHOW ISAKMP").output, HasSubstr("Debug (this console) ............ NONE\n"));
  EXPECT_EQ(a.ctl->Execute(sess, "DISABLE ISAKMP DEBUG=PACKET").output,
            "Info (182058): ISAKMP Debugging has been disabled.\n");
  EXPECT_EQ(ike.debug.back().first, ike::kDebugState);
  a.ctl->Execute(sess, "ENABLE ISAKMP DEBUG=ALL");
  EXPECT_EQ(ike.debug.back().first, IsakmpDebugFlags("ALL"));
  a.ctl->Execute(sess, "DISABLE ISAKMP DEBUG");
  EXPECT_EQ(ike.debug.back().first, 0u);
  EXPECT_EQ(IsakmpDebugFlags("DEFAULT"), ike::kDebugState | ike::kDebugTrace);
  EXPECT_EQ(IsakmpDebugFlags("TRACEMORE"), ike::kDebugTrace | ike::kDebugTraceMore);
}

TEST(IsakmpControl, ConfigChangedAfterEveryChangeTheDaemonReads) {
  TempDir dir;
  Rig a(dir.path());
  ASSERT_TRUE(a.ctl->Start().ok());
  RecordingIke ike;
  a.ctl->SetIkeService(&ike, nullptr);
  EXPECT_EQ(ike.configures, 1);   // the service starts from the configuration as it is
  int& changes = ike.configures;
  changes = 0;
  auto expect_change = [&](const char* line, int delta) {
    const int before = changes;
    CommandResult r = a.Run(line);
    EXPECT_TRUE(r.ok) << line << r.output;
    EXPECT_EQ(changes - before, delta) << line;
  };
  expect_change("CREATE ENCO KEY=1 TYPE=GENERAL VALUE=\"jogefoge\"", 1);
  expect_change("CREATE ISAKMP POLICY=i PEER=2.2.2.2 KEY=1 SENDN=TRUE", 1);
  expect_change("SET ISAKMP POLICY=i NATTRAVERSAL=TRUE", 1);
  expect_change("ENABLE ISAKMP", 1);
  expect_change("CREATE IPSEC SASPEC=1 KEYMAN=ISAKMP PROT=ESP ENCALG=DES HASHALG=SHA", 1);
  expect_change("CREATE IPSEC BUNDLE=1 KEYMAN=ISAKMP STRING=\"1\"", 1);
  expect_change("ADD IP INT=ppp0 IP=1.1.1.1 MASK=255.255.255.0", 1);
  expect_change("CREATE IPSEC POLICY=vpn INT=ppp0 ACTION=IPSEC KEYMAN=ISAKMP BUNDLE=1 PEER=2.2.2.2", 1);
  expect_change("ADD USER=client1 PASSWORD=passclie1 LOGIN=NO", 1);
  expect_change("ENABLE IPSEC", 1);
  expect_change("SHOW ISAKMP POLICY", 0);
  expect_change("SHOW IPSEC POLICY", 0);
  expect_change("ENABLE ISAKMP DEBUG=PKT", 0);
  // What the daemon is given: the policy with its key, the IPsec policy, the module on.
  ASSERT_NE(ike.last, nullptr);
  ASSERT_EQ(ike.last->peers.size(), 1u);
  EXPECT_EQ(ike.last->peers[0].name, "i");
  EXPECT_EQ(ike.last->peers[0].peer, 0x02020202u);
  EXPECT_EQ(std::string(ike.last->peers[0].psk.bytes().begin(), ike.last->peers[0].psk.bytes().end()),
            "jogefoge");
  EXPECT_TRUE(ike.last->peers[0].nat_t);
  ASSERT_EQ(ike.last->policies.size(), 1u);
  EXPECT_EQ(ike.last->policies[0].name, "vpn");
  EXPECT_EQ(ike.last->policies[0].local, 0x01010101u);
  EXPECT_EQ(ike.last->policies[0].specs.size(), 1u);
  EXPECT_TRUE(ike.last->enabled);
  // Only ACTION=IPSEC KEYMAN=ISAKMP policies reach the daemon, however they got so: a
  // PERMIT and a manual one stay out, and SET moves a policy in or out.
  expect_change("CREATE IPSEC POLICY=isa INT=ppp0 ACTION=PERMIT LPORT=500 RPORT=500 TRANSPORT=UDP", 1);
  expect_change("CREATE IPSEC POLICY=vpn2 INT=ppp0 ACTION=IPSEC KEYMAN=ISAKMP BUNDLE=1 PEER=3.3.3.3", 1);
  auto names = [&] {
    std::vector<std::string> n;
    for (const auto& p : ike.last->policies) n.push_back(p.name);
    return n;
  };
  EXPECT_THAT(names(), ::testing::ElementsAre("vpn", "vpn2"));
  expect_change("SET IPSEC POLICY=vpn2 ACTION=PERMIT", 1);
  EXPECT_THAT(names(), ::testing::ElementsAre("vpn"));
  expect_change("SET IPSEC POLICY=vpn2 ACTION=IPSEC KEYMAN=ISAKMP BUNDLE=1 PEER=3.3.3.3", 1);
  EXPECT_THAT(names(), ::testing::ElementsAre("vpn", "vpn2"));
  expect_change("DESTROY IPSEC POLICY=vpn2", 1);
  expect_change("DESTROY IPSEC POLICY=isa", 1);
  EXPECT_THAT(names(), ::testing::ElementsAre("vpn"));
  expect_change("DESTROY ISAKMP POLICY=i", 1);
  EXPECT_TRUE(ike.last->peers.empty());
  EXPECT_FALSE(a.Run("DESTROY ISAKMP POLICY=i").ok);
  EXPECT_EQ(changes, 17);
  // A replay signals once, at its end.
  changes = 0;
  ReplayReport rep = a.ctl->Replay(
      "CREATE ISAKMP POLICY=a PEER=3.3.3.3 KEY=1\nCREATE ISAKMP POLICY=b PEER=4.4.4.4 KEY=1\n"
      "DISABLE ISAKMP\n",
      "test.cfg");
  EXPECT_EQ(rep.failed, 0);
  EXPECT_EQ(changes, 1);
}

// ---------------------------------------------------------------- save, replay, secrets

TEST(IsakmpControl, SaveAndReplayRestoreEveryPolicyAndTheXauthPassword) {
  TempDir dir;
  std::string policies, details, running;
  const char* kNames[] = {"i", "c1", "x", "r"};
  {
    Rig a(dir.path());
    ASSERT_TRUE(a.ctl->Start().ok());
    a.Script(kKeys);
    a.Script(R"(CREATE ISAKMP POLICY=i PEER=1.1.1.1 KEY=1 SENDN=TRUE XAUTH=CLIENT
SET ISAKMP POLICY=i XAUTHNAME=client1 XAUTHPASS="pass clie1"
CREATE ISAKMP POLICY=c1 PEER=ANY KEY=2 REMOTEID="Router B" MODE=AGGRESSIVE SENDN=TRUE GROUP=2 ENCALG=3DES HASHALG=MD5 EXPIRYSECONDS=3600 EXPIRYKBYTES=1000
CREATE ISAKMP POLICY=x PEER=ANY KEY=1 SENDN=TRUE XAUTH=SERVER NATTRAVERSAL=TRUE DPDMODE=BOTH DPDIDLETIMEOUT=60
CREATE ISAKMP POLICY=r PEER=2.2.2.2 AUTHTYPE=RSASIG LOCALRSAKEY=2 LOCALCERTIFICATE="certs/gw a.pem" RETRYIKEATTEMPTS=CONTINUOUS PHASE2XCHGLIMIT=4 MSGBACKOFF=NONE
ADD USER=client1 PASSWORD=passclie1 LOGIN=NO
ENABLE ISAKMP
CREATE CONFIG=ipsecvpn.cfg
SET CONFIG=ipsecvpn.cfg
)");
    ASSERT_TRUE(a.ctl->FlushPending().ok());
    policies = a.Run("SHOW ISAKMP POLICY").output;
    for (const char* n : kNames) details += a.Run(absl::StrCat("SHOW ISAKMP POLICY=", n)).output;
    running = a.ctl->RunningConfig();
    EXPECT_THAT(details, HasSubstr("XAUTH Password .................. (set)\n"));
    EXPECT_THAT(running,
                HasSubstr("CREATE ISAKMP POLICY=i PEER=1.1.1.1 KEY=1 SENDNOTIFY=TRUE XAUTH=CLIENT "
                          "XAUTHNAME=client1\n"));
    EXPECT_THAT(running, HasSubstr("REMOTEID=\"Router B\""));
    EXPECT_THAT(running, HasSubstr("LOCALCERTIFICATE=\"certs/gw a.pem\""));
    EXPECT_THAT(running, HasSubstr("DPDIDLETIMEOUT=60\nCREATE ISAKMP POLICY=r"));
    EXPECT_THAT(running, HasSubstr("\nENABLE ISAKMP\n"));
  }
  // A fresh process boots from the saved file and the key store.
  Rig b(dir.path());
  ASSERT_TRUE(b.ctl->Start().ok());
  EXPECT_EQ(b.Run("SHOW ISAKMP POLICY").output, policies);
  std::string again;
  for (const char* n : kNames) again += b.Run(absl::StrCat("SHOW ISAKMP POLICY=", n)).output;
  EXPECT_EQ(again, details);
  EXPECT_EQ(b.ctl->RunningConfig(), running);
  EXPECT_THAT(b.Run("SHOW ISAKMP").output, HasSubstr("Module Status ................... ENABLED\n"));
  IsakmpPolicyView i = b.View("i");
  ASSERT_TRUE(i.has_xauth_pass);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(i.xauth_pass.data()), i.xauth_pass.size()),
            "pass clie1");
}

TEST(IsakmpControl, XauthPasswordNeverInAnyOutputConfigOrLog) {
  TempDir dir;
  Rig a(dir.path());
  ASSERT_TRUE(a.ctl->Start().ok());
  a.Script(kKeys);
  a.Script(R"(CREATE ISAKMP POLICY=i PEER=1.1.1.1 KEY=1 SENDN=TRUE XAUTH=CLIENT XAUTHNAME=client1 XAUTHPASS=Zq8sekrit
SET ISAKMP POLICY=i XAUTHPASS=Zq8sekrit2
CREATE CONFIG=ipsecvpn.cfg
)");
  // Refused commands do not echo it either.
  std::string everything = a.Err("SET ISAKMP POLICY=i XAUTH=NONE XAUTHPASS=Zq8sekrit3");
  everything += a.Err("CREATE ISAKMP POLICY=j PEER=5.5.5.5 KEY=1 XAUTHPASS=Zq8sekrit4");
  ASSERT_TRUE(a.ctl->FlushPending().ok());
  for (const char* show : {"SHOW CONFIG DYNAMIC", "SHOW CONFIG DYNAMIC=ISAKMP",
                           "SHOW CONFIG DYNAMIC=ENCO", "SHOW ISAKMP", "SHOW ISAKMP POLICY",
                           "SHOW ISAKMP POLICY=i", "SHOW ISAKMP SA", "SHOW ENCO KEY", "HELP"}) {
    CommandResult r = a.Run(show);
    EXPECT_TRUE(r.ok) << show << r.output;
    everything += r.output;
  }
  everything += a.log.Format("", "");
  everything += *ReadFile(dir.path() + "/etc/ipsecvpn.cfg");
  everything += *ReadFile(dir.path() + "/run/arsec.running.cfg");
  EXPECT_THAT(everything, Not(HasSubstr("Zq8sekrit")));
  EXPECT_THAT(everything, HasSubstr("XAUTHNAME=client1"));
  // Only the key store (0600) holds it.
  const std::string ks = a.ctl->key_store_path();
  struct stat st;
  ASSERT_EQ(::stat(ks.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string store = *ReadFile(ks);
  EXPECT_THAT(store, Not(HasSubstr("Zq8sekrit")));
  std::string hex;
  for (char c : std::string("Zq8sekrit2")) absl::StrAppend(&hex, absl::Hex(uint8_t(c), absl::kZeroPad2));
  EXPECT_THAT(store, HasSubstr(hex));
  // The store reads back what it wrote.
  EncoKeyStore copy;
  ASSERT_TRUE(copy.Load(store).ok());
  ASSERT_NE(copy.FindSecret(IsakmpModel::XauthSecretName("i")), nullptr);
  EXPECT_EQ(copy.FindSecret(IsakmpModel::XauthSecretName("i"))->size(), 10u);
  EXPECT_EQ(copy.keys().size(), 2u);
  EXPECT_FALSE(copy.Load("secret zz 00\n").ok());
}

}  // namespace
}  // namespace arsec::control
