// Startup-config loader: a good file, the built-in default, and each kind of bad file,
// checking that the error names the file and the line of the fault.
#include "common/startup_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace arsec {
namespace {

using ::testing::HasSubstr;

constexpr char kGood[] = R"(# a full deployment file
eal     = { lcores = "0-2"; file_prefix = "arsec-t"; args = [ "--no-pci", "--log-level=7" ]; };
ports   = ( { name = "vlan1"; device = "net_af_packet0,iface=lan0"; },
            { name = "ppp0";  device = "0000:00:04.0"; mtu = 1492; } );
workers = { lcores = [ 1, 2 ]; burst = 64; };
crypto  = { engine = "ipsec-mb"; };
control = { socket = "/run/arsec/t.sock"; boot_config = "/etc/arsec/t.cfg"; lcores = "0"; };
arp     = { reachable_s = 60; retry_ms = 500; max_retries = 5; table_size = 1024; };
buffers = { mbufs = 8191; rx_desc = 512; tx_desc = 2048; };
)";

TEST(StartupConfig, GoodFileParsesEveryKey) {
  auto c = ParseStartupConfig(kGood, "good.cfg");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->source, "good.cfg");
  EXPECT_EQ(c->eal_lcores, "0-2");
  EXPECT_EQ(c->file_prefix, "arsec-t");
  EXPECT_THAT(c->eal_args, ::testing::ElementsAre("--no-pci", "--log-level=7"));
  ASSERT_EQ(c->ports.size(), 2u);
  EXPECT_EQ(c->ports[0].name, "vlan1");
  EXPECT_EQ(c->ports[0].mtu, 1500);
  EXPECT_EQ(c->ports[1].device, "0000:00:04.0");
  EXPECT_EQ(c->ports[1].mtu, 1492);
  EXPECT_THAT(c->worker_lcores, ::testing::ElementsAre(1u, 2u));
  EXPECT_EQ(c->burst, 64u);
  EXPECT_EQ(c->crypto_engine, "ipsec-mb");
  EXPECT_EQ(c->control_socket, "/run/arsec/t.sock");
  EXPECT_EQ(c->boot_config, "/etc/arsec/t.cfg");
  EXPECT_EQ(c->arp_reachable_s, 60u);
  EXPECT_EQ(c->arp_retry_ms, 500u);
  EXPECT_EQ(c->arp_max_retries, 5u);
  EXPECT_EQ(c->arp_table_size, 1024u);
  EXPECT_EQ(c->mbufs, 8191u);
  EXPECT_EQ(c->rx_desc, 512u);
  EXPECT_EQ(c->tx_desc, 2048u);
}

TEST(StartupConfig, MinimalFileKeepsDefaults) {
  auto c = ParseStartupConfig("ports = ( { name = \"eth0\"; device = \"net_null0\"; } );", "m");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->file_prefix, "arsec");
  EXPECT_EQ(c->burst, 32u);
  EXPECT_THAT(c->worker_lcores, ::testing::ElementsAre(1u));
}

TEST(StartupConfig, BuiltinDefaultNeedsNoNic) {
  StartupConfig c = BuiltinStartupConfig();
  ASSERT_EQ(c.ports.size(), 2u);
  EXPECT_EQ(c.ports[0].name, "vlan1");
  EXPECT_EQ(c.ports[1].name, "ppp0");
  for (const auto& p : c.ports) EXPECT_THAT(p.device, HasSubstr("net_memif"));
  EXPECT_THAT(c.eal_args, ::testing::Contains("--no-pci"));
  EXPECT_EQ(c.source, "<built-in default>");
}

TEST(StartupConfig, LoadsFromFileWithPathInErrors) {
  std::string path = ::testing::TempDir() + "/arsec_dp_bad.cfg";
  {
    std::ofstream f(path);
    f << "ports = ( { name = \"eth0\"; device = \"net_null0\"; } );\n\nworkers = { burst = 0; };\n";
  }
  auto c = LoadStartupConfig(path);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()), HasSubstr(path + ":3: "));
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("out of range"));
  std::remove(path.c_str());
  auto missing = LoadStartupConfig(path);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr(path));
}

struct BadCase {
  const char* name;
  const char* text;
  const char* where;   // "f.cfg:LINE:"
  const char* what;
};

class BadFile : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadFile, ErrorNamesFileAndLine) {
  const BadCase& b = GetParam();
  auto c = ParseStartupConfig(b.text, "f.cfg");
  ASSERT_FALSE(c.ok()) << b.name;
  std::string m(c.status().message());
  EXPECT_THAT(m, ::testing::StartsWith(b.where)) << m;
  EXPECT_THAT(m, HasSubstr(b.what)) << m;
}


INSTANTIATE_TEST_SUITE_P(
    StartupConfig, BadFile,
    ::testing::Values(
        BadCase{"syntax", "ports = ( { name = \"eth0\";\n device = ; } );\n", "f.cfg:2:", "syntax error"},
        BadCase{"unknown top", "ports = ( { name = \"eth0\"; device = \"d\"; } );\nfoo = 1;\n",
                "f.cfg:2:", "unknown key 'foo'"},
        BadCase{"unknown in group", "ports = ( { name = \"eth0\"; device = \"d\"; } );\neal = {\n lcore = \"0\"; };\n",
                "f.cfg:3:", "unknown key 'eal.lcore'"},
        BadCase{"unknown in port", "ports = ( { name = \"eth0\";\n device = \"d\";\n speed = 10; } );\n",
                "f.cfg:3:", "unknown key"},
        BadCase{"wrong type string", "ports = ( { name = \"eth0\"; device = \"d\"; } );\neal = { file_prefix = 3; };\n",
                "f.cfg:2:", "must be a string"},
        BadCase{"wrong type int", "ports = ( { name = \"eth0\"; device = \"d\"; } );\nworkers = { burst = \"32\"; };\n",
                "f.cfg:2:", "must be an integer"},
        BadCase{"burst range", "ports = ( { name = \"eth0\"; device = \"d\"; } );\nworkers = { burst = 999; };\n",
                "f.cfg:2:", "out of range"},
        BadCase{"mtu range", "ports = ( { name = \"eth0\"; device = \"d\"; mtu = 20; } );\n",
                "f.cfg:1:", "out of range"},
        BadCase{"arp range", "ports = ( { name = \"eth0\"; device = \"d\"; } );\narp = { retry_ms = 1; };\n",
                "f.cfg:2:", "out of range"},
        BadCase{"dup port name", "ports = ( { name = \"eth0\"; device = \"a\"; },\n { name = \"eth0\"; device = \"b\"; } );\n",
                "f.cfg:2:", "duplicate port name 'eth0'"},
        BadCase{"dup device", "ports = ( { name = \"eth0\"; device = \"a\"; },\n { name = \"eth1\"; device = \"a\"; } );\n",
                "f.cfg:2:", "duplicate port device"},
        BadCase{"bad name", "ports = ( { name = \"Eth 0\"; device = \"a\"; } );\n", "f.cfg:1:", "bad port name"},
        BadCase{"name no digit", "ports = ( { name = \"lan\"; device = \"a\"; } );\n", "f.cfg:1:", "bad port name"},
        BadCase{"missing device", "ports = ( { name = \"eth0\"; } );\n", "f.cfg:1:", "has no 'device'"},
        BadCase{"no ports", "workers = { burst = 32; };\n", "f.cfg:", "'ports' is missing"},
        BadCase{"ports not list", "ports = { name = \"eth0\"; };\n", "f.cfg:1:", "must be a list"},
        BadCase{"worker not in eal", "eal = { lcores = \"0,1\"; };\nports = ( { name = \"eth0\"; device = \"d\"; } );\nworkers = { lcores = [ 3 ]; };\n",
                "f.cfg:3:", "not in eal.lcores"},
        BadCase{"worker is main", "eal = { lcores = \"0,1\"; };\nports = ( { name = \"eth0\"; device = \"d\"; } );\nworkers = { lcores = [ 0 ]; };\n",
                "f.cfg:3:", "main lcore"},
        BadCase{"worker twice", "eal = { lcores = \"0-3\"; };\nports = ( { name = \"eth0\"; device = \"d\"; } );\nworkers = { lcores = [ 1, 1 ]; };\n",
                "f.cfg:3:", "listed twice"},
        BadCase{"bad lcores", "eal = { lcores = \"zero\"; };\nports = ( { name = \"eth0\"; device = \"d\"; } );\n",
                "f.cfg:1:", "core list"},
        BadCase{"bad prefix", "eal = { file_prefix = \"a/b\"; };\nports = ( { name = \"eth0\"; device = \"d\"; } );\n",
                "f.cfg:1:", "file_prefix"},
        BadCase{"args not list", "eal = { args = \"--no-pci\"; };\nports = ( { name = \"eth0\"; device = \"d\"; } );\n",
                "f.cfg:1:", "list of strings"},
        BadCase{"group expected", "ports = ( { name = \"eth0\"; device = \"d\"; } );\ncrypto = 1;\n",
                "f.cfg:2:", "must be a group"},
        BadCase{"empty string", "ports = ( { name = \"eth0\"; device = \"\"; } );\n", "f.cfg:1:", "must not be empty"}),
    [](const ::testing::TestParamInfo<BadCase>& i) {
      std::string n = i.param.name;
      for (char& ch : n) if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
      return n;
    });

}  // namespace
}  // namespace arsec
