// Unit tests of the command-language engine: tokenising, word and parameter matching,
// value checks, every error reply, defaults, rules, Canonical() round trips, completion.
#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "cli/lang/command_spec.h"
#include "cli/lang/messages.h"
#include "cli/lang/parser.h"
#include "cli/lang/reference.h"
#include "cli/lang/tokenizer.h"
#include "gtest/gtest.h"

namespace arsec::lang {
namespace {

ParsedCommand Ok(std::string_view line) {
  auto r = Parse(line);
  EXPECT_TRUE(r.ok()) << line << " -> " << r.status().message();
  if (!r.ok() || !r->has_value()) {
    ADD_FAILURE() << "no command from: " << line;
    return {};
  }
  return **r;
}

std::string absl_like_cat(std::string_view a, std::string_view b) {
  return std::string(a) + std::string(b);
}

std::string Err(std::string_view line) {
  auto r = Parse(line);
  EXPECT_FALSE(r.ok()) << line << " parsed unexpectedly";
  return r.ok() ? std::string() : std::string(r.status().message());
}

// ---------- tokenizer ----------

TEST(Tokenizer, NameValuePairsAndBlanksAroundEquals) {
  auto l = Tokenize("ADD IP INT = vlan1 IP= 1.2.3.4 MASK =255.0.0.0");
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->tokens.size(), 5u);
  EXPECT_EQ(l->tokens[2].name, "INT");
  EXPECT_EQ(l->tokens[2].value, "vlan1");
  EXPECT_EQ(l->tokens[3].value, "1.2.3.4");
  EXPECT_EQ(l->tokens[4].value, "255.0.0.0");
}

TEST(Tokenizer, QuotedStringsKeepBlanksEqualsAndEscapes) {
  auto l = Tokenize(R"(X="a b=c" Y="say \"hi\" \\ ok" Z="")");
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->tokens.size(), 3u);
  EXPECT_EQ(l->tokens[0].value, "a b=c");
  EXPECT_TRUE(l->tokens[0].value_quoted);
  EXPECT_EQ(l->tokens[1].value, "say \"hi\" \\ ok");
  EXPECT_EQ(l->tokens[2].value, "");
  EXPECT_FALSE(l->tokens[2].value_missing);
}

TEST(Tokenizer, CommentsStartAWordNotInsideOne) {
  auto l = Tokenize("SHOW IP ROUTE # the table");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->tokens.size(), 3u);
  l = Tokenize("ADD USER=a PASS=ab#cd");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->tokens[2].value, "ab#cd");
  l = Tokenize("   # only a comment");
  ASSERT_TRUE(l.ok());
  EXPECT_TRUE(l->tokens.empty());
}

TEST(Tokenizer, Errors) {
  EXPECT_EQ(Tokenize(R"(X="abc)").status().message(),
            "Error (300020): Unterminated quoted string.");
  EXPECT_EQ(Tokenize("= 5").status().message(), "Error (300021): Unexpected \"=\".");
  EXPECT_EQ(Tokenize("A=B=C").status().message(), "Error (300021): Unexpected \"=\".");
  EXPECT_FALSE(Tokenize(R"(A="b"c)").ok());
  EXPECT_FALSE(Tokenize(R"(ab"c")").ok());
}

TEST(Tokenizer, MissingValueBeforeNextPair) {
  auto l = Tokenize("INTERFACE= IP=1.2.3.4");
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->tokens.size(), 2u);
  EXPECT_TRUE(l->tokens[0].value_missing);
  EXPECT_EQ(l->tokens[1].value, "1.2.3.4");
}

TEST(Tokenizer, QuoteIfNeeded) {
  EXPECT_EQ(QuoteIfNeeded("abc"), "abc");
  EXPECT_EQ(QuoteIfNeeded("a b"), "\"a b\"");
  EXPECT_EQ(QuoteIfNeeded(""), "\"\"");
  EXPECT_EQ(QuoteIfNeeded("#x"), "\"#x\"");
  EXPECT_EQ(QuoteIfNeeded("a\"b"), "\"a\\\"b\"");
}

TEST(Tokenizer, PartialModeToleratesOpenQuoteAndTrailingEquals) {
  auto l = Tokenize(R"(ADD USER=a DESC="open)", true);
  ASSERT_TRUE(l.ok());
  EXPECT_TRUE(l->open_quote);
  l = Tokenize("ADD IP INT=", true);
  ASSERT_TRUE(l.ok());
  EXPECT_TRUE(l->tokens.back().value_missing);
}

// ---------- words ----------

TEST(Words, CaseInsensitiveAndAnyUniquePrefix) {
  EXPECT_EQ(Ok("show ip route").spec->id, CommandId::kShowIpRoute);
  EXPECT_EQ(Ok("Sh Ip Ro").spec->id, CommandId::kShowIpRoute);
  EXPECT_EQ(Ok("Sh Ips").spec->id, CommandId::kShowIpsec);
  EXPECT_EQ(Ok("sh ip a").spec->id, CommandId::kShowIpArp);
  EXPECT_EQ(Ok("sh data").spec->id, CommandId::kShowDataplane);
  EXPECT_EQ(Ok("reset datap count").spec->id, CommandId::kResetDataplane);
  EXPECT_EQ(Ok("cre conf=a.cfg").spec->id, CommandId::kCreateConfig);
}

TEST(Words, SeedShortForms) {
  ParsedCommand c = Ok("ADD IP INT=ppp0-1 IP=4.4.4.6 MASK=255.255.255.255");
  EXPECT_EQ(c.spec->id, CommandId::kAddIpInterface);
  EXPECT_EQ(*c.object, "ppp0-1");
  EXPECT_EQ(c.Get("IPADDRESS"), "4.4.4.6");
  c = Ok("ADD IP ROUTE=0.0.0.0 INT=ppp0 NEXT=0.0.0.0");
  EXPECT_EQ(c.Get("NEXTHOP"), "0.0.0.0");
  EXPECT_EQ(c.Get("INTERFACE"), "ppp0");
  c = Ok("ADD USER=secoff PASS=PasswordS PRIV=SECURITYOFFICER");
  EXPECT_EQ(c.Get("PASSWORD"), "PasswordS");
  EXPECT_EQ(c.Get("PRIVILEGE"), "SECURITYOFFICER");
  EXPECT_EQ(Ok("ENABLE IP REMOTEASSIGN").spec->id, CommandId::kEnableIp);
  EXPECT_TRUE(Ok("ENABLE IP REMOTEASSIGN").Has("REMOTEASSIGN"));
  EXPECT_FALSE(Ok("ENABLE IP").Has("REMOTEASSIGN"));
}

TEST(Words, StaticArp) {
  ParsedCommand c = Ok("add ip arp=192.0.2.77 int=PPP0 eth=02-00-00-AB-cd-77");
  EXPECT_EQ(c.spec->id, CommandId::kAddIpArp);
  EXPECT_EQ(*c.object, "192.0.2.77");
  EXPECT_EQ(c.Get("INTERFACE"), "ppp0");
  EXPECT_EQ(c.Get("ETHERNET"), "02-00-00-ab-cd-77");   // the AR's form, lower case
  EXPECT_EQ(Ok("ADD IP ARP=192.0.2.77 INT=ppp0 ETHERNET=02:00:00:AB:CD:77").Get("ETHERNET"),
            "02-00-00-ab-cd-77");
  EXPECT_EQ(Canonical(Ok("add ip arp=192.0.2.77 int=ppp0 eth=02:00:00:ab:cd:77")),
            "ADD IP ARP=192.0.2.77 INTERFACE=ppp0 ETHERNET=02-00-00-ab-cd-77");
  for (const char* bad : {"02-00-00-ab-cd", "02:00-00:ab:cd:77", "02-00-00-ab-cd-7g",
                          "2-0-0-ab-cd-77", "0200.00ab.cd77", "02-00-00-ab-cd-77-88"}) {
    EXPECT_EQ(Err(std::string("ADD IP ARP=192.0.2.77 INT=ppp0 ETHERNET=") + bad),
              "Error (305049): Parameter \"ETHERNET\" is not a valid Ethernet address "
              "(xx-xx-xx-xx-xx-xx).")
        << bad;
  }
  EXPECT_EQ(Err("ADD IP ARP=192.0.2.77 ETHERNET=02-00-00-ab-cd-77"),
            "Error (305006): Required parameter \"INTERFACE\" is missing.");
  EXPECT_EQ(Ok("DELETE IP ARP=192.0.2.77").spec->id, CommandId::kDeleteIpArp);
}

TEST(Words, UserSecret) {
  const std::string hash =
      "pbkdf2-sha256$20000$00112233445566778899aabbccddeeff$"
      "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
  ParsedCommand c = Ok("ADD USER=bob SECRET=\"" + hash + "\" PRIV=MANAGER");
  EXPECT_EQ(c.Get("SECRET"), hash);
  EXPECT_TRUE(HasSecret(c));
  EXPECT_EQ(Redacted(c).find(hash), std::string::npos);
  // PASS= stays the seed's short form of PASSWORD.
  EXPECT_EQ(Ok("ADD USER=bob PASS=x").Get("PASSWORD"), "x");
  EXPECT_EQ(Err("ADD USER=bob PRIV=MANAGER"),
            "Error (307023): One of the parameters PASSWORD, SECRET must be given.");
  EXPECT_EQ(Err("ADD USER=bob PASS=x SECRET=\"" + hash + "\""),
            "Error (307022): Parameters PASSWORD, SECRET cannot be used together.");
  EXPECT_EQ(Ok("SET USER=manager SECRET=\"" + hash + "\"").Get("SECRET"), hash);
}

TEST(Words, EveryLineOfTheSeedsUnnumberedSection) {
  for (const char* line : {
           "ENABLE IP", "ENABLE IP REMOTEASSIGN", "ADD IP INT=ppp0 IP=0.0.0.0",
           "ADD IP INT=vlan1-0 IP=4.4.4.1 MASK=255.255.255.248",
           "ADD IP INT=vlan1-1 IP=192.168.10.1 MASK=255.255.255.0",
           "ADD IP ROUTE=0.0.0.0 INT=ppp0 NEXT=0.0.0.0", "ADD IP INT=ppp0-0 IP=0.0.0.0",
           "ADD IP INT=ppp0-1 IP=4.4.4.6 MASK=255.255.255.255",
           "ADD IP ROUTE=0.0.0.0 INT=ppp0-1 NEXT=0.0.0.0",
           "ADD USER=client1 PASSWORD=passclie1 LOGIN=NO", "CREATE CONFIG=ipsecvpn.cfg",
           "SET CONFIG=ipsecvpn.cfg", "show log module=isak", "show log type=ipsc"}) {
    EXPECT_TRUE(Parse(line).ok()) << line << ": " << Parse(line).status().message();
  }
}

TEST(Words, ExactMatchBeatsPrefix) {
  // LOGOFF/LOGOUT/LOGIN share "LOG": the exact words still resolve.
  EXPECT_EQ(Ok("LOGIN").spec->id, CommandId::kLogin);
  EXPECT_EQ(Ok("logoff").spec->id, CommandId::kLogoff);
  EXPECT_EQ(Ok("LOGOUT").spec->id, CommandId::kLogoff);
  // Keyword values too: DYNAMIC=IP is IP, not IPSEC.
  EXPECT_EQ(Ok("SHOW CONFIG DYNAMIC=IP").Get("DYNAMIC"), "IP");
  EXPECT_EQ(Ok("SHOW CONFIG DYNAMIC=ips").Get("DYNAMIC"), "IPSEC");
  // A parameter named like a longer one: IP is IPADDRESS's prefix, and no other.
  EXPECT_EQ(Ok("ADD IP INT=eth0 IP=10.0.0.1").Get("IPADDRESS"), "10.0.0.1");
}

TEST(Words, ExactMatchBeatsPrefixInATableWithIpAndIpsec) {
  // The real table gains SHOW IPSEC later; check the rule on a table that has both.
  std::vector<CommandSpec> t = {
      {.id = CommandId::kShowIpRoute, .words = {"SHOW", "IP", "ROUTE"}},
      {.id = CommandId::kShowIpArp, .words = {"SHOW", "IPSEC"}},
  };
  auto r = Parse("SHOW IP ROUTE", t);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)->spec->id, CommandId::kShowIpRoute);
  r = Parse("SHOW IPS", t);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->spec->id, CommandId::kShowIpArp);
  EXPECT_EQ(Parse("SHOW I", t).status().message(),
            "Error (300002): \"I\" is ambiguous: it could be IP, IPSEC.");
}

TEST(Words, AmbiguityNamesTheCandidates) {
  EXPECT_EQ(Err("S IP ROUTE"), "Error (300002): \"S\" is ambiguous: it could be SHOW, SET.");
  EXPECT_EQ(Err("LOGO"), "Error (300002): \"LOGO\" is ambiguous: it could be LOGOFF, LOGOUT.");
  EXPECT_EQ(Err("ADD IP INT=eth0 IP=1.2.3.4 M=255.0.0.0 X"),
            "Error (305005): Parameter \"X\" is not valid for this command.");
}

TEST(Words, UnknownAndIncomplete) {
  EXPECT_EQ(Err("FROB"), "Error (300001): Unknown command \"FROB\".");
  EXPECT_EQ(Err("ADD IP FOO"), "Error (300001): Unknown command \"ADD IP FOO\".");
  EXPECT_EQ(Err("SHOW IP"), "Error (300004): Command incomplete: expected INTERFACE or ROUTE or ARP.");
  EXPECT_EQ(Err("ADD"), "Error (300004): Command incomplete: expected IP or USER.");
  EXPECT_EQ(Err("\"SHOW\" IP ROUTE"), "Error (300021): Unexpected \"SHOW\".");
}

TEST(Words, ObjectValues) {
  EXPECT_EQ(Err("ADD USER"), "Error (307008): Parameter \"USER\" requires a value.");
  EXPECT_EQ(Err("ADD USER= PASS=x"), "Error (307008): Parameter \"USER\" requires a value.");
  EXPECT_EQ(Err("ADD IP=1.2.3.4 INT=eth0"), "Error (300009): Parameter \"IP\" does not take a value.");
  EXPECT_EQ(Err("SHOW IP ROUTE=1.2.3.4"), "Error (300009): Parameter \"ROUTE\" does not take a value.");
  EXPECT_FALSE(Ok("SHOW IP INTERFACE").object.has_value());
  EXPECT_EQ(*Ok("SHOW IP INTERFACE=VLAN1").object, "vlan1");
  EXPECT_EQ(*Ok("SHOW USER=bob").object, "bob");
  EXPECT_EQ(*Ok("SET CONFIG=NONE").object, "NONE");
}

// ---------- parameters ----------

TEST(Params, EveryErrorNamesTheParameter) {
  EXPECT_EQ(Err("ADD IP INT=eth0 IP=1.2.3.4 COLOUR=red"),
            "Error (305005): Parameter \"COLOUR\" is not valid for this command.");
  EXPECT_EQ(Err("ADD IP INT=eth0"), "Error (305006): Required parameter \"IPADDRESS\" is missing.");
  EXPECT_EQ(Err("ADD IP ROUTE=10.0.0.0 INT=eth0"),
            "Error (305006): Required parameter \"NEXTHOP\" is missing.");
  EXPECT_EQ(Err("ADD IP INT=eth0 IP=1.2.3.4 IPADDRESS=1.2.3.5"),
            "Error (305007): Parameter \"IPADDRESS\" is given more than once.");
  EXPECT_EQ(Err("ADD IP INT=eth0 IP"), "Error (305008): Parameter \"IPADDRESS\" requires a value.");
  EXPECT_EQ(Err("ADD IP INT=eth0 IP="), "Error (305008): Parameter \"IPADDRESS\" requires a value.");
  EXPECT_EQ(Err("ENABLE IP REMOTEASSIGN=YES"),
            "Error (305009): Parameter \"REMOTEASSIGN\" does not take a value.");
  EXPECT_EQ(Err("ADD IP ROUTE=10.0.0.0 INT=eth0 NEXT=1.1.1.1 METRIC=17"),
            "Error (305010): Value of parameter \"METRIC\" is out of range (1..16).");
  EXPECT_EQ(Err("ADD IP ROUTE=10.0.0.0 INT=eth0 NEXT=1.1.1.1 METRIC=0"),
            "Error (305010): Value of parameter \"METRIC\" is out of range (1..16).");
  EXPECT_EQ(Err("ADD IP ROUTE=10.0.0.0 INT=eth0 NEXT=1.1.1.1 METRIC=99999999999999999999999"),
            "Error (305010): Value of parameter \"METRIC\" is out of range (1..16).");
  EXPECT_EQ(Err("ADD IP ROUTE=10.0.0.0 INT=eth0 NEXT=1.1.1.1 METRIC=-1"),
            "Error (305011): Parameter \"METRIC\" must be a decimal number.");
  EXPECT_EQ(Err("ADD IP INT=eth0 IP=1.2.3"),
            "Error (305012): Parameter \"IPADDRESS\" is not a valid IP address.");
  EXPECT_EQ(Err("ADD IP ROUTE=10.0.0.300 INT=eth0 NEXT=1.1.1.1"),
            "Error (305012): Parameter \"ROUTE\" is not a valid IP address.");
  EXPECT_EQ(Err("ADD IP INT=eth0 IP=1.2.3.4 MASK=255.0.255.0"),
            "Error (305013): Parameter \"MASK\" is not a valid mask.");
  EXPECT_EQ(Err("ADD IP INT=eth0 IP=1.2.3.4 MASK=255.255.255"),
            "Error (305013): Parameter \"MASK\" is not a valid mask.");
  EXPECT_EQ(Err("ADD USER=a PASS=b PRIV=ROOT"),
            "Error (307014): Value \"ROOT\" is not valid for parameter \"PRIVILEGE\" (one of "
            "USER|MANAGER|SECURITYOFFICER).");
  EXPECT_EQ(Err("SHOW CONFIG DYN=I"),
            "Error (311015): Value \"I\" of parameter \"DYNAMIC\" is ambiguous: it could be IP, IPSEC, ISAKMP.");
  EXPECT_EQ(Err("ADD USER=a/b PASS=x"),
            "Error (307016): Parameter \"USER\" is not a valid name (letters, digits, - _ .).");
  EXPECT_EQ(Err("CREATE CONFIG=../etc/passwd"),
            "Error (311016): Parameter \"CONFIG\" is not a valid name (letters, digits, - _ .).");
  EXPECT_EQ(Err("ADD USER=a PASS=x DESC=\"" + std::string(64, 'd') + "\""),
            "Error (307017): Value of parameter \"DESCRIPTION\" is too long (at most 63 characters).");
  EXPECT_EQ(Err("ADD USER=a PASS=x LOGIN=MAYBE"),
            "Error (307018): Parameter \"LOGIN\" must be TRUE or FALSE (YES/NO, ON/OFF).");
  EXPECT_EQ(Err("ADD IP INT=eth IP=1.2.3.4"),
            "Error (305024): Parameter \"INTERFACE\" is not a valid interface name (e.g. eth0, vlan1, ppp0-1).");
  EXPECT_EQ(Err("ADD IP INT=ppp0-x IP=1.2.3.4"),
            "Error (305024): Parameter \"INTERFACE\" is not a valid interface name (e.g. eth0, vlan1, ppp0-1).");
  EXPECT_EQ(Err("ADD USER=a PASS=\"\""),
            "Error (307028): Value of parameter \"PASSWORD\" is too short (minimum length 1).");
  EXPECT_EQ(Err(std::string(kMaxLineLength + 1, 'A')),
            "Error (300025): Command line is too long (at most 4096 characters).");
}

TEST(Params, AmbiguousParameterPrefix) {
  // PASSWORD and PRIVILEGE both start with P.
  EXPECT_EQ(Err("ADD USER=a P=x"), "Error (307002): \"P\" is ambiguous: it could be PASSWORD, PRIVILEGE.");
}

TEST(Params, AliasIsAnExactSpelling) {
  EXPECT_EQ(Ok("ADD USER=a PASS=x DESCRITION=old").Get("DESCRIPTION"), "old");
}

TEST(Params, ValuesAreNormalised) {
  ParsedCommand c = Ok("add ip route=010.001.0.0 mask=255.255.0.0 int=ETH0 next=10.1.0.254 metric=007");
  EXPECT_EQ(*c.object, "10.1.0.0");
  EXPECT_EQ(c.Get("INTERFACE"), "eth0");
  EXPECT_EQ(c.Get("METRIC"), "7");
  EXPECT_EQ(c.GetUint("metric"), 7u);
  EXPECT_EQ(c.GetIpv4("NEXTHOP"), 0x0a0100feu);
  EXPECT_EQ(Ok("add user=a pass=x priv=man").Get("PRIVILEGE"), "MANAGER");
  EXPECT_EQ(Ok("add user=a pass=x login=off").Get("LOGIN"), "FALSE");
  EXPECT_FALSE(Ok("add user=a pass=x login=no").GetBool("LOGIN", true));
  EXPECT_TRUE(Ok("add user=a pass=x login=Yes").GetBool("LOGIN"));
}

TEST(Params, DefaultsAreFilled) {
  ParsedCommand c = Ok("ADD USER=bob PASSWORD=pw");
  EXPECT_EQ(c.Get("PRIVILEGE"), "USER");
  EXPECT_EQ(c.Get("LOGIN"), "TRUE");
  EXPECT_FALSE(c.Has("DESCRIPTION"));
  EXPECT_EQ(c.given, (std::vector<std::string>{"PASSWORD"}));
  EXPECT_EQ(Ok("ADD IP ROUTE=10.0.0.0 INT=eth0 NEXT=10.0.0.1").Get("METRIC"), "1");
  // SET USER changes only what is given: no defaults there.
  c = Ok("SET USER=bob LOGIN=NO");
  EXPECT_FALSE(c.Has("PRIVILEGE"));
  EXPECT_FALSE(c.Has("PASSWORD"));
}

TEST(Params, MaskDefaultsToTheNaturalClassMask) {
  EXPECT_EQ(Ok("ADD IP INT=eth0 IP=10.1.2.3").Get("MASK"), "255.0.0.0");
  EXPECT_EQ(Ok("ADD IP INT=eth0 IP=172.16.1.1").Get("MASK"), "255.255.0.0");
  EXPECT_EQ(Ok("ADD IP INT=eth0 IP=192.168.10.1").Get("MASK"), "255.255.255.0");
  EXPECT_EQ(Ok("ADD IP INT=ppp0 IP=0.0.0.0").Get("MASK"), "0.0.0.0");
  EXPECT_EQ(Ok("ADD IP ROUTE=0.0.0.0 INT=ppp0 NEXT=0.0.0.0").Get("MASK"), "0.0.0.0");
  EXPECT_EQ(Ok("ADD IP ROUTE=192.168.20.0 INT=eth1 NEXT=10.0.0.2").Get("MASK"), "255.255.255.0");
  EXPECT_EQ(Ok("DELETE IP ROUTE=172.20.0.0").Get("MASK"), "255.255.0.0");
  EXPECT_EQ(Ok("ADD IP INT=eth0 IP=192.168.10.1 MASK=255.255.255.252").Get("MASK"), "255.255.255.252");
  EXPECT_EQ(NaturalMask(0xe0000001u), 0xffffffffu);
}

TEST(Params, Rules) {
  EXPECT_EQ(Err("SHOW DATAPLANE PORTS RUNTIME"),
            "Error (320022): Parameters PORTS, RUNTIME cannot be used together.");
  EXPECT_TRUE(Ok("SHOW DATAPLANE RUNTIME").Has("RUNTIME"));
  EXPECT_EQ(Err("SET USER=bob"),
            "Error (307023): One of the parameters PASSWORD, SECRET, PRIVILEGE, LOGIN, DESCRIPTION must be given.");
  EXPECT_EQ(Ok("SET USER=bob PRIV=MANAGER").Get("PRIVILEGE"), "MANAGER");
}

TEST(Params, ValueOptional) {
  ParsedCommand c = Ok("SHOW CONFIG DYNAMIC");
  EXPECT_TRUE(c.Has("DYNAMIC"));
  EXPECT_EQ(c.Get("DYNAMIC"), "");
  EXPECT_FALSE(Ok("SHOW CONFIG").Has("DYNAMIC"));
}

TEST(Params, QuotedPasswordsWithBlanksAndEquals) {
  ParsedCommand c = Ok(R"(ADD USER=al PASSWORD="p w=#1" DESCRIPTION="Al \"the\" admin")");
  EXPECT_EQ(c.Get("PASSWORD"), "p w=#1");
  EXPECT_EQ(c.Get("DESCRIPTION"), "Al \"the\" admin");
  EXPECT_EQ(Err(R"(ADD USER=al PASSWORD="p w)"), "Error (300020): Unterminated quoted string.");
}

TEST(Params, EmptyAndCommentLinesAreNothing) {
  for (const char* line : {"", "   ", "# comment", "\t# x=\"unterminated"}) {
    auto r = Parse(line);
    ASSERT_TRUE(r.ok()) << line;
    EXPECT_FALSE(r->has_value()) << line;
  }
  EXPECT_EQ(Ok("SHOW IP ROUTE # trailing").spec->id, CommandId::kShowIpRoute);
}

// ---------- canonical form ----------

// One line per command, with every parameter the command has, so the round trip covers
// every parameter of the table.
const char* const kEveryCommand[] = {
    "ADD IP INTERFACE=vlan1-1 IPADDRESS=192.168.10.1 MASK=255.255.255.0",
    "ADD IP INTERFACE=ppp0 IPADDRESS=0.0.0.0",
    "DELETE IP INTERFACE=vlan1 IPADDRESS=192.168.10.1",
    "ADD IP ROUTE=10.0.0.0 MASK=255.0.0.0 INTERFACE=eth1 NEXTHOP=10.1.1.1 METRIC=3",
    "DELETE IP ROUTE=10.0.0.0 MASK=255.0.0.0 INTERFACE=eth1 NEXTHOP=10.1.1.1",
    "SHOW IP INTERFACE",
    "SHOW IP INTERFACE=eth0",
    "SHOW IP ROUTE",
    "SHOW IP ARP",
    "ADD IP ARP=192.0.2.77 INTERFACE=ppp0 ETHERNET=02-00-00-00-00-77",
    "DELETE IP ARP=192.0.2.77 INTERFACE=ppp0",
    "ENABLE IP REMOTEASSIGN",
    "SHOW DATAPLANE",
    "SHOW DATAPLANE RUNTIME",
    "RESET DATAPLANE COUNTERS",
    "ADD USER=al PASSWORD=\"a b\" PRIVILEGE=SECURITYOFFICER LOGIN=FALSE DESCRIPTION=\"x \\\"y\\\"\"",
    "DELETE USER=al",
    "SET USER=al PASSWORD=n PRIVILEGE=MANAGER LOGIN=TRUE DESCRIPTION=\"\"",
    "SHOW USER",
    "SHOW USER=al",
    "CREATE CONFIG=a.cfg",
    "SET CONFIG=NONE",
    "SHOW CONFIG DYNAMIC=IPSEC",
    "SHOW CONFIG DYNAMIC",
    "SHOW LOG MODULE=ISAK TYPE=IPSC",
    "LOGIN=manager",
    "LOGOFF",
    "LOGOUT",
    "HELP",
    // IPsec
    "ENABLE IPSEC",
    "DISABLE IPSEC",
    "SHOW IPSEC",
    "SET IPSEC UDPPORT=3456",
    "CREATE IPSEC POLICY=vpn INTERFACE=ppp0 ACTION=IPSEC BUNDLESPECIFICATION=1 "
    "KEYMANAGEMENT=ISAKMP PEERADDRESS=2.2.2.2 LADDRESS=192.168.10.0 LMASK=255.255.255.0 "
    "LNAME=me LPORT=1701 RADDRESS=192.168.20.0 RMASK=255.255.255.0 RNAME=peer RPORT=ANY "
    "TRANSPORTPROTOCOL=UDP UDPTUNNEL=TRUE UDPHEARTBEAT=TRUE UDPPORT=3456 DFBIT=CLEAR POSITION=2 "
    "GROUP=14 USEPFSKEY=TRUE ISAKMPPOLICY=i SRCINTERFACE=eth0 RESPONDBADSPI=TRUE IPVERSION=IPV4",
    "CREATE IPSEC POLICY=p INTERFACE=ppp0 ACTION=PERMIT TRANSPORTPROTOCOL=ICMP ICMPTYPE=8",
    "SET IPSEC POLICY=vpn INTERFACE=ppp1 ACTION=DENY LADDRESS=1.1.1.1 LMASK=255.255.255.255 "
    "LNAME=a RADDRESS=2.2.2.2 RMASK=255.0.0.0 RNAME=b TRANSPORTPROTOCOL=47 POSITION=1 "
    "IPVERSION=IPV6",
    "SET IPSEC POLICY=vpn BUNDLESPECIFICATION=2 KEYMANAGEMENT=MANUAL PEERADDRESS=3.3.3.3 "
    "LPORT=ANY RPORT=ANY UDPTUNNEL=FALSE UDPHEARTBEAT=FALSE DFBIT=SET SRCINTERFACE=vlan1-1 "
    "RESPONDBADSPI=FALSE",
    "DESTROY IPSEC POLICY=vpn",
    "SHOW IPSEC POLICY",
    "SHOW IPSEC POLICY=vpn COUNTERS",
    "SHOW IPSEC POLICY SABUNDLE",
    "ENABLE IPSEC POLICY=vpn DEBUG=PACKET",
    "DISABLE IPSEC POLICY=vpn DEBUG=ALL",
    "CREATE IPSEC SASPECIFICATION=1 KEYMANAGEMENT=MANUAL PROTOCOL=ESP MODE=TRANSPORT "
    "ENCALG=AES256 HASHALG=SHA256 ENCKEY=1 HASHKEY=2 INSPI=256 OUTSPI=4294967295 "
    "ANTIREPLAYENABLED=TRUE REPLAYWINDOWSIZE=1024",
    "CREATE IPSEC SASPECIFICATION=5 KEYMANAGEMENT=ISAKMP PROTOCOL=COMP COMPALG=DEFLATE",
    "DESTROY IPSEC SASPECIFICATION=1",
    "SHOW IPSEC SASPECIFICATION",
    "SHOW IPSEC SASPECIFICATION=1",
    "CREATE IPSEC BUNDLESPECIFICATION=3 KEYMANAGEMENT=ISAKMP STRING=\"5 and 1 and 3 or 4, 1\" "
    "EXPIRYSECONDS=3600 EXPIRYKBYTES=100000",
    "DESTROY IPSEC BUNDLESPECIFICATION=3",
    "SHOW IPSEC BUNDLESPECIFICATION",
    "SHOW IPSEC BUNDLESPECIFICATION=3",
    "SHOW IPSEC SA",
    "SHOW IPSEC SA=2 COUNTERS",
    "SHOW IPSEC COUNTERS",
    "SHOW IPSEC COUNTERS=ESP",
    "RESET IPSEC COUNTERS",
    "RESET IPSEC SA",
    "RESET IPSEC SA=2",
    "PURGE IPSEC",
    // ISAKMP
    "ENABLE ISAKMP",
    "DISABLE ISAKMP",
    "SHOW ISAKMP",
    "CREATE ISAKMP POLICY=i PEER=2.2.2.2 AUTHTYPE=PRESHARED KEY=1 MODE=MAIN SENDNOTIFY=TRUE "
    "LOCALID=gw.example.com REMOTEID=\"peer one\" XAUTH=CLIENT XAUTHNAME=client1 "
    "XAUTHPASS=passclie1 GROUP=14 ENCALG=AES256 HASHALG=SHA256 EXPIRYSECONDS=3600 "
    "EXPIRYKBYTES=1000 NATTRAVERSAL=TRUE DPDMODE=BOTH DPDIDLETIMEOUT=60 PHASE2XCHGLIMIT=10 "
    "SENDDELETES=TRUE SENDIDALWAYS=TRUE SETCOMMITBIT=TRUE PRENEGOTIATE=TRUE REKEY=FALSE "
    "RETRYIKEATTEMPTS=CONTINUOUS MSGRETRYLIMIT=4 MSGTIMEOUT=2 MSGBACKOFF=NONE DELETEDELAY=0",
    "SET ISAKMP POLICY=i PEER=3.3.3.3 AUTHTYPE=RSASIG LOCALRSAKEY=2 LOCALCERTIFICATE=/etc/arsec/gw.pem "
    "CACERTIFICATE=ca.pem MODE=AGGRESSIVE XAUTH=SERVER GROUP=1 ENCALG=3DESOUTER HASHALG=MD5 "
    "DPDMODE=NONE PHASE2XCHGLIMIT=NONE RETRYIKEATTEMPTS=3",
    "DESTROY ISAKMP POLICY=i",
    "SHOW ISAKMP POLICY",
    "SHOW ISAKMP POLICY=i",
    "SHOW ISAKMP SA",
    "SHOW ISAKMP SA=3",
    "SHOW ISAKMP EXCHANGE",
    "SHOW ISAKMP COUNTERS",
    "SHOW ISAKMP COUNTERS=QUICK",
    "ENABLE ISAKMP DEBUG=PKT",
    "DISABLE ISAKMP DEBUG",
    "DISABLE ISAKMP DEBUG=TRACEMORE",
    "RESET ISAKMP",
    "RESET ISAKMP COUNTERS",
    // ENCO and system
    "CREATE ENCO KEY=2 TYPE=GENERAL VALUE=0x431d62cd3cb76fb8101dacaf43aa4dbfb919e957 "
    "DESCRIPTION=\"IPsec SHA-1 key\"",
    "CREATE ENCO KEY=3 TYPE=GENERAL RANDOM LENGTH=20",
    "CREATE ENCO KEY=1 TYPE=GENERAL VALUE=\"jogefoge\"",
    "DESTROY ENCO KEY=1",
    "SHOW ENCO KEY",
    "SHOW ENCO KEY=1",
    "SET ENCO SW STACCHANNELS=1",
    "ENABLE SYSTEM SECURITY_MODE",
};

TEST(Canonical, RoundTripForEveryCommand) {
  std::set<CommandId> covered;
  for (const char* line : kEveryCommand) {
    ParsedCommand a = Ok(line);
    ASSERT_NE(a.spec, nullptr) << line;
    covered.insert(a.spec->id);
    std::string text = Canonical(a);
    EXPECT_EQ(text, line) << "canonical form of an already-canonical line";
    ParsedCommand b = Ok(text);
    EXPECT_EQ(b.spec, a.spec) << text;
    EXPECT_EQ(b.object, a.object) << text;
    EXPECT_EQ(b.params, a.params) << text;
    EXPECT_EQ(b.given, a.given) << text;
  }
  for (const auto& spec : CommandTable())
    EXPECT_TRUE(covered.count(spec.id)) << CommandName(spec) << " has no round-trip case";
}

TEST(Canonical, AbbreviatedInputComesOutInFull) {
  EXPECT_EQ(Canonical(Ok("add ip int=VLAN1 ip=192.168.010.1 ma=255.255.255.0")),
            "ADD IP INTERFACE=vlan1 IPADDRESS=192.168.10.1 MASK=255.255.255.0");
  EXPECT_EQ(Canonical(Ok("sh data run")), "SHOW DATAPLANE RUNTIME");
  EXPECT_EQ(Canonical(Ok("add user=x pass=\"a=b\" log=no")), "ADD USER=x PASSWORD=\"a=b\" LOGIN=FALSE");
}

// ---------- completion ----------

std::vector<std::string> Texts(std::string_view prefix) {
  std::vector<std::string> out;
  for (const auto& c : Complete(prefix)) out.push_back(c.text);
  return out;
}
using V = std::vector<std::string>;

TEST(Complete, FirstWords) {
  V first = Texts("");
  for (const char* w : {"ADD", "DELETE", "SHOW", "SET", "ENABLE", "RESET", "CREATE", "LOGOFF", "HELP"})
    EXPECT_NE(std::find(first.begin(), first.end(), w), first.end()) << w;
  EXPECT_EQ(Texts("sh"), (V{"SHOW"}));
  EXPECT_EQ(Texts("s"), (V{"SHOW", "SET"}));
  EXPECT_EQ(Texts("LOGO"), (V{"LOGOFF", "LOGOUT"}));
}

TEST(Complete, NextWordsAndObjects) {
  EXPECT_EQ(Texts("ADD "), (V{"IP", "USER="}));
  EXPECT_EQ(Texts("ADD IP "), (V{"INTERFACE=", "ROUTE=", "ARP="}));
  EXPECT_EQ(Texts("show ip "), (V{"INTERFACE", "ROUTE", "ARP"}));
  EXPECT_EQ(Texts("show ip r"), (V{"ROUTE"}));
  EXPECT_EQ(Texts("SHOW D"), (V{"DATAPLANE"}));
  EXPECT_EQ(Texts("FROB "), V{});
}

TEST(Complete, Parameters) {
  EXPECT_EQ(Texts("ADD IP INT=vlan1 "), (V{"IPADDRESS=", "MASK="}));
  EXPECT_EQ(Texts("ADD IP INT=vlan1 IP=1.2.3.4 "), (V{"MASK="}));
  EXPECT_EQ(Texts("ADD IP ROUTE=0.0.0.0 "), (V{"MASK=", "INTERFACE=", "NEXTHOP=", "METRIC="}));
  EXPECT_EQ(Texts("ADD IP ROUTE=0.0.0.0 N"), (V{"NEXTHOP="}));
  EXPECT_EQ(Texts("SHOW DATAPLANE "), (V{"PORTS", "COUNTERS", "RUNTIME"}));
  EXPECT_EQ(Texts("SHOW DATAPLANE PORTS "), V{});  // the others exclude each other
  EXPECT_EQ(Texts("SHOW CONFIG "), (V{"DYNAMIC"}));
  EXPECT_EQ(Texts("ENABLE IP "), (V{"REMOTEASSIGN"}));
}

TEST(Complete, KeywordValues) {
  EXPECT_EQ(Texts("ADD USER=a PASS=x PRIV="), (V{"USER", "MANAGER", "SECURITYOFFICER"}));
  EXPECT_EQ(Texts("ADD USER=a PASS=x PRIV=m"), (V{"MANAGER"}));
  EXPECT_EQ(Texts("ADD USER=a PASS=x LOGIN="), (V{"TRUE", "FALSE"}));
  EXPECT_EQ(Texts("SHOW CONFIG DYNAMIC=IS"), (V{"ISAKMP"}));
  EXPECT_EQ(Texts("ADD IP INT=eth0 IP="), V{});  // addresses are not enumerable
}

TEST(Complete, HelpTextComesWithCandidates) {
  auto c = Complete("SHOW DATAPLANE R");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_NE(c[0].help.find("cycles"), std::string::npos);
  c = Complete("ADD ");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].help, "then INTERFACE, ROUTE, ARP");
  EXPECT_EQ(c[1].help, "Add a user");
}

TEST(Complete, NothingInsideAComment) { EXPECT_EQ(Texts("# sh"), V{}); }

// ---------- messages ----------

TEST(Messages, CodesAndLines) {
  EXPECT_EQ(MessageCode(true, Module::kIp, Msg::kNotFound), 305030);
  EXPECT_EQ(MessageCode(false, Module::kIsakmp, Msg::kDebugEnabled), 182057);  // as in the seed
  EXPECT_EQ(Info(Module::kIpsec, Msg::kDebugEnabled, "IPSEC Policy"),
            "Info (181057): IPSEC Policy Debugging has been enabled.");
  EXPECT_EQ(Success(Module::kUser), "Info (107003): Operation successful.");
  EXPECT_EQ(Error(Module::kIp, Msg::kNotFound, "Interface", std::string_view("vlan9")),
            "Error (305030): Interface \"vlan9\" does not exist.");
  EXPECT_EQ(ErrorStatus(Module::kConfig, Msg::kFileError, "a.cfg", "no such file").message(),
            "Error (311035): File \"a.cfg\": no such file.");
  EXPECT_EQ(ErrorLine(300001, "Ends already."), "Error (300001): Ends already.");
  std::set<int> numbers;
  for (const auto& m : AllMessages()) EXPECT_TRUE(numbers.insert(static_cast<int>(m.msg)).second);
}

TEST(Ipv4, StrictDottedQuad) {
  EXPECT_EQ(ParseIpv4("1.2.3.4"), 0x01020304u);
  EXPECT_EQ(ParseIpv4("255.255.255.255"), 0xffffffffu);
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "1..3.4", "256.1.1.1", "1.2.3.4 ", "a.b.c.d",
                          "1.2.3.0004", "-1.2.3.4"})
    EXPECT_FALSE(ParseIpv4(bad).has_value()) << bad;
}

// The table itself is consistent: every default, keyword and rule refers to real things.
TEST(Table, SelfConsistent) {
  std::set<std::string> seen;
  for (const auto& spec : CommandTable()) {
    EXPECT_TRUE(seen.insert(CommandName(spec)).second) << "duplicate " << CommandName(spec);
    std::set<std::string_view> names;
    for (const auto& p : spec.params) {
      EXPECT_TRUE(names.insert(p.name).second) << CommandName(spec) << " " << p.name;
      EXPECT_FALSE(p.help.empty()) << p.name;
      if (!p.default_value.empty()) {
        EXPECT_FALSE(p.required) << p.name << " is required and has a default";
      }
      if (p.type == ValueType::kKeyword) {
        EXPECT_FALSE(p.keywords.empty()) << p.name;
      }
    }
    for (const auto& g : spec.mutually_exclusive)
      for (auto n : g) EXPECT_TRUE(names.count(n)) << CommandName(spec) << " rule names " << n;
    for (const auto& g : spec.one_required)
      for (auto n : g) EXPECT_TRUE(names.count(n)) << CommandName(spec) << " rule names " << n;
    for (const auto& r : spec.rules) {
      std::vector<ParamCond> conds = r.when;
      conds.push_back(r.then);
      EXPECT_FALSE(r.when.empty()) << CommandName(spec) << ": " << RuleText(r);
      for (const auto& c : conds) {
        ASSERT_TRUE(names.count(c.param)) << CommandName(spec) << " rule names " << c.param;
        const ParamSpec* p = nullptr;
        for (const auto& q : spec.params)
          if (q.name == c.param) p = &q;
        for (auto v : c.values) {
          bool known = std::find(p->keywords.begin(), p->keywords.end(), v) != p->keywords.end() ||
                       (p->type == ValueType::kBool && (v == "TRUE" || v == "FALSE"));
          EXPECT_TRUE(known) << CommandName(spec) << " rule value " << c.param << "=" << v;
        }
      }
    }
    EXPECT_FALSE(spec.help.empty()) << CommandName(spec);
  }
}

// Bad input never crashes: every prefix and every single-byte mutation of real lines.
TEST(Robustness, PrefixesAndMutations) {
  const std::string bytes = " =\"#\\aZ09.-\t\x01\xff";
  for (const char* line : kEveryCommand) {
    std::string s(line);
    for (size_t i = 0; i <= s.size(); ++i) {
      (void)Parse(s.substr(0, i));
      (void)Complete(s.substr(0, i));
      for (char b : bytes) {
        std::string m = s;
        if (i < m.size()) m[i] = b;
        else m.push_back(b);
        auto r = Parse(m);
        if (!r.ok()) {
          EXPECT_EQ(r.status().message().substr(0, 7), "Error (") << m;
        }
        (void)Complete(m);
      }
    }
  }
}

// docs/command-reference.md is generated from the tables; it must not drift from them.
TEST(Reference, CheckedInDocumentMatchesTheTables) {
  std::string path = std::string(ARSEC_SOURCE_ROOT) + "/docs/command-reference.md";
  std::ifstream in(path);
  ASSERT_TRUE(in) << "cannot read " << path;
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_TRUE(ss.str() == CommandReferenceMarkdown())
      << path << " is stale: regenerate it with `build/cli/arsec --reference > " << path << "`";
  for (const auto& spec : CommandTable())
    EXPECT_NE(ss.str().find("### " + CommandName(spec) + "\n"), std::string::npos) << CommandName(spec);
}

TEST(Secrets, PasswordsAreRedactedAndFlagged) {
  ParsedCommand c = Ok("ADD USER=al PASS=hunter2 PRIV=MANAGER");
  EXPECT_TRUE(HasSecret(c));
  EXPECT_EQ(Redacted(c), "ADD USER=al PASSWORD=******** PRIVILEGE=MANAGER");
  EXPECT_FALSE(HasSecret(Ok("SET USER=al PRIV=USER")));
  EXPECT_TRUE(MayHoldSecret("ADD USER=al PAS=hunter2 PRIV=BOGUS"));
  EXPECT_TRUE(MayHoldSecret("frob p=\"x y"));
  EXPECT_FALSE(MayHoldSecret("ADD USER=al PRIV=BOGUS"));
}


// ---------- IPsec, ENCO ----------

// Every IPsec, ENCO and system example line of the seed (the ISAKMP module's own
// commands aside), verbatim.
TEST(Ipsec, EverySeedExampleParses) {
  for (const char* line : {
           "CREATE ENCO KEY=1 TYPE=GENERAL VALUE=\"jogefoge\"",
           "CREATE IPSEC SASPEC=1 KEYMAN=ISAKMP PROT=ESP ENCALG=DES HASHALG=SHA",
           "CREATE IPSEC BUNDLE=1 KEYMAN=ISAKMP STRING=\"1\"",
           "CREATE IPSEC POLICY=isa INT=ppp0 ACTION=PERMIT LPORT=500 RPORT=500 TRANSPORT=UDP",
           "CREATE IPSEC POLICY=vpn INT=ppp0 ACTION=IPSEC KEYMAN=ISAKMP BUNDLE=1 PEER=2.2.2.2",
           "SET IPSEC POLICY=vpn LAD=192.168.10.0 LMA=255.255.255.0 RAD=192.168.20.0 RMA=255.255.255.0",
           "CREATE IPSEC POLICY=inet INT=ppp0 ACTION=PERMIT",
           "ENABLE IPSEC",
           "ADD USER=secoff PASS=PasswordS PRIVILEGE=SECURITYOFFICER",
           "CREATE CONFIG=ipsecvpn.cfg",
           "SET CONFIG=ipsecvpn.cfg",
           "ENABLE SYSTEM SECURITY_MODE",
           "CREATE ENCO KEY=1 TYPE=DES RANDOM DESCRIPTION=\"IPsec DES key\"",
           "CREATE ENCO KEY=2 TYPE=GENERAL LENGTH=20 RANDOM DESCRIPTION=\"IPsec SHA-1 key\"",
           "show enco key=1",
           "show enco key=2",
           "CREATE ENCO KEY=1 TYPE=DES VALUE=0xF888CAC6C66ECF52 DESCRIPTION=\"IPsec DES key\"",
           "CREATE ENCO KEY=2 TYPE=GENERAL VALUE=0x431d62cd3cb76fb8101dacaf43aa4dbfb919e957 "
           "DESCRITION=\"IPsec SHA-1 key\"",
           "CREATE IPSEC SASPEC=1 KEYMAN=MANUAL PROT=ESP ENCALG=DES ENCKEY=1 HASHALG=SHA HASHKEY=2 "
           "INSPI=1000 OUTSPI=1001",
           "CREATE IPSEC BUNDLE=1 KEYMAN=MANUAL STRING=\"1\"",
           "CREATE IPSEC POLICY=vpn INT=ppp0 ACTION=IPSEC KEYMAN=MANUAL BUNDLE=1 PEER=2.2.2.2",
           "CREATE IPSEC POLICY=vpn INT=ppp0 ACTION=IPSEC KEYMAN=ISAKMP BUNDLE=1 PEER=DYNAMIC",
           "CREATE IPSEC POLICY=vpn INT=ppp0 ACTION=IPSEC KEYMAN=ISAKMP BUNDLE=1 PEER=1.1.1.1",
           "SET IPSEC POLICY=vpn LAD=192.168.20.0 LMA=255.255.255.0 RAD=192.168.10.0 RMA=255.255.255.0",
           "CREATE IPSEC POLICY=vpncli INT=ppp0 ACTION=IPSEC KEYMAN=ISAKMP BUNDLE=1 PEER=1.2.3.4",
           "SET IPSEC POLICY=vpncli LAD=192.168.10.0 LMA=255.255.255.0 RAD=1.2.3.4",
           "CREATE IPSEC POLICY=vpncli INT=ppp0 ACTION=IPSEC KEYMAN=ISAKMP BUNDLE=1 PEER=DYNAMIC",
           "SET IPSEC POLICY=vpncli LAD=192.168.10.0 LMA=255.255.255.0 RNAME=clientname",
           "CREATE IPSEC POLICY=vpncli INT=ppp0 ACTION=IPSEC KEYMAN=ISAKMP BUNDLE=1 PEER=1.1.1.1",
           "SET IPSEC POLICY=vpncli LNAME=clientname RAD=192.168.10.0 RMA=255.255.255.0",
           "CREATE IPSEC POLICY=v1 INT=ppp0 ACTION=IPSEC KEYMAN=ISAKMP BUNDLE=1 PEER=DYNAMIC",
           "SET IPSEC POLICY=v1 LAD=192.168.10.0 LMA=255.255.255.0 RNAME=client1",
           "CREATE IPSEC POLICY=v2 INT=ppp0 ACTION=IPSEC KEYMAN=ISAKMP BUNDLE=1 PEER=DYNAMIC",
           "SET IPSEC POLICY=v2 LAD=192.168.10.0 LMA=255.255.255.0 RNAME=client2",
           "CREATE IPSEC POLICY=v3 INT=ppp0 ACTION=IPSEC KEYMAN=ISAKMP BUNDLE=1 PEER=DYNAMIC",
           "SET IPSEC POLICY=v3 LAD=192.168.10.0 LMA=255.255.255.0 RNAME=client3",
           "CREATE IPSEC POLICY=vpn INT=ppp0 ACTION=IPSEC KEYMAN=ISAKMP BUNDLE=2 PEER=1.2.3.4",
           "SET IPSEC POLICY=vpn LAD=1.1.1.1 RAD=1.2.3.4",
           "CREATE IPSEC POLICY=l2 INT=ppp0 ACTION=IPSEC KEYMAN=ISAKMP BUNDLE=3 PEER=2.2.2.2",
           "SET IPSEC POLICY=vpn LAD=1.1.1.1 LPORT=1701 RAD=2.2.2.2 RPORT=1701 TRANSPORT=UDP",
           "CREATE IPSEC SASPEC=1 KEYMAN=ISAKMP PROTO=ESP ENCALG=DES HASHALG=SHA",
           "CREATE IPSEC SASPEC=1 KEYMAN=ISAKMP PROTO=ESP ENCALG=DES HASHALG=NULL",
           "CREATE IPSEC SASPEC=1 KEYMAN=ISAKMP PROTO=ESP ENCALG=NULL HASHALG=SHA",
           "CREATE IPSEC SASPEC=1 KEYMAN=MANUAL PROTO=ESP ENCALG=DES HASHALG=SHA ENCKEY=1 HASHKEY=2 "
           "INSPI=1000 OUTSPI=1001",
           "CREATE IPSEC SASPEC=2 KEYMAN=ISAKMP PROTO=AH HASHALG=SHA",
           "CREATE IPSEC SASPEC=2 KEYMAN=MANUAL PROTO=AH HASHALG=SHA HASHKEY=2 INSPI=2000 OUTSPI=2001",
           "CREATE IPSEC SASPEC=3 KEYMAN=ISAKMP PROTO=COMP COMPALG=LZS",
           "SET ENCO SW STACCHANNELS=1",
           "CREATE IPSEC SASPEC=3 KEYMAN=MANUAL PROTO=COMP COMPALG=LZS",
           "SHOW IPSEC SASPECIFICATION",
           "SHOW IPSEC SASPECIFICATION=1",
           "SHOW IPSEC SA",
           "SHOW IPSEC SA=1",
           "CREATE IPSEC BUNDLE=1 KEYMAN=ISAKMP STR=\"1\"",
           "CREATE IPSEC BUNDLE=2 KEYMAN=MANUAL STR=\"2 and 4\"",
           "CREATE IPSEC BUNDLE=3 KEYMAN=ISAKMP STR=\"5 and 1, 1\"",
           "CREATE IPSEC BUNDLE=4 KEYMAN=ISAKMP STR=\"5 and 1 and 3\"",
           "CREATE IPSEC BUNDLE=5 KEYMAN=ISAKMP STR=\"5 and 1 and 3 or 4\"",
           "CREATE IPSEC BUNDLE=6 KEYMAN=ISAKMP STR=\"5 and 1 and 3, 1 and 3, 1\"",
           "SHOW IPSEC BUNDLESPECIFICATION",
           "SHOW IPSEC BUNDLESPECIFICATION=1",
           "SHOW IPSEC POLICY SABUNDLE",
           "SHOW IPSEC POLICY=v1 SABUNDLE",
           "CREATE ENCO KEY=1 TYPE=GENERAL VALUE=\"pobaetrpnjkakdf\"",
           "SET IPSEC POLICY=vpn UDPTUNNEL=TRUE",
           "SET IPSEC POLICY=vpn UDPHEARTBEAT=TRUE",
           "CREATE IPSEC POLICY=udp INT=ppp0 ACTION=PERMIT LPORT=2746 TRANSPORT=UDP",
           "SET IPSEC UDPPORT=3456",
           "SET IPSEC POLICY=vpn UDPPORT=3456",
           "CREATE IPSEC POLICY=natt INT=ppp0 ACTION=PERMIT LPORT=4500 TRANSPORT=UDP",
           "SHOW ENCO KEY=1",
           "SHOW IPSEC POLICY",
           "SHOW CONFIG DYNAMIC=IPSEC",
           "show ipsec sa",
           "show ipsec policy sabundle",
           "ena ipsec policy=vpn debug=packet",
           "SHOW IPSEC COUNTERS",
           "SHOW IPSEC POLICY=vpn COUNTERS",
           "SHOW IPSEC SA=2",
           "SHOW IPSEC",
       }) {
    auto r = Parse(line);
    EXPECT_TRUE(r.ok() && r->has_value()) << line << ": " << r.status().message();
  }
}

TEST(Ipsec, SeedFormsResolve) {
  ParsedCommand c = Ok("CREATE IPSEC POLICY=vpn INT=ppp0 ACTION=IPSEC KEYMAN=MANUAL BUNDLE=1 PEER=2.2.2.2");
  EXPECT_EQ(c.spec->id, CommandId::kCreateIpsecPolicy);
  EXPECT_EQ(*c.object, "vpn");
  EXPECT_EQ(c.Get("INTERFACE"), "ppp0");
  EXPECT_EQ(c.Get("BUNDLESPECIFICATION"), "1");
  EXPECT_EQ(c.Get("KEYMANAGEMENT"), "MANUAL");
  EXPECT_EQ(c.Get("PEERADDRESS"), "2.2.2.2");
  c = Ok("CREATE IPSEC SASPEC=1 KEYMAN=MANUAL PROT=ESP ENCALG=DES ENCKEY=1 HASHALG=SHA HASHKEY=2 "
         "INSPI=1000 OUTSPI=1001");
  EXPECT_EQ(c.spec->id, CommandId::kCreateIpsecSaSpec);
  EXPECT_EQ(c.Get("PROTOCOL"), "ESP");
  EXPECT_EQ(c.Get("MODE"), "TUNNEL");  // default
  EXPECT_EQ(c.GetUint("INSPI"), 1000u);
  EXPECT_EQ(c.GetUint("OUTSPI"), 1001u);
  c = Ok("CREATE IPSEC BUNDLE=3 KEYMAN=ISAKMP STR=\"5  AND 1 ,1\"");
  EXPECT_EQ(c.spec->id, CommandId::kCreateIpsecBundleSpec);
  EXPECT_EQ(c.Get("STRING"), "5 and 1, 1");  // canonical spelling
  EXPECT_EQ(Canonical(c), "CREATE IPSEC BUNDLESPECIFICATION=3 KEYMANAGEMENT=ISAKMP STRING=\"5 and 1, 1\"");
  c = Ok("SET IPSEC POLICY=vpn LAD=1.1.1.1 LPORT=1701 RAD=2.2.2.2 RPORT=1701 TRANSPORT=UDP");
  EXPECT_EQ(c.Get("TRANSPORTPROTOCOL"), "UDP");
  EXPECT_EQ(c.Get("LPORT"), "1701");
  EXPECT_FALSE(c.Has("LMASK"));  // SET changes only what is given
  EXPECT_EQ(Ok("ena ipsec policy=vpn debug=packet").spec->id, CommandId::kEnableIpsecPolicyDebug);
  EXPECT_EQ(Ok("dis ipsec pol=vpn deb=all").spec->id, CommandId::kDisableIpsecPolicyDebug);
  EXPECT_EQ(Ok("SHOW IPSEC SA").spec->id, CommandId::kShowIpsecSa);
  EXPECT_EQ(Ok("SHOW IPSEC SAS").spec->id, CommandId::kShowIpsecSaSpec);
  EXPECT_EQ(Ok("SHOW IPSEC SA COUNTERS").spec->id, CommandId::kShowIpsecSa);
  EXPECT_TRUE(Ok("SHOW IPSEC SA COUNTERS").Has("COUNTERS"));
  EXPECT_EQ(Ok("SHOW IPSEC COUNTERS").spec->id, CommandId::kShowIpsecCounters);
  EXPECT_EQ(Ok("RESET IPSEC COUNTER").spec->id, CommandId::kResetIpsecCounters);
  EXPECT_EQ(Ok("SET IPSEC UDPPORT=3456").spec->id, CommandId::kSetIpsec);
  EXPECT_EQ(Ok("SHOW IPSEC POLICY SABUNDLE").spec->id, CommandId::kShowIpsecPolicy);
  EXPECT_FALSE(Ok("SHOW IPSEC POLICY SABUNDLE").object.has_value());
  EXPECT_EQ(Ok("PURGE IPSEC").spec->id, CommandId::kPurgeIpsec);
  EXPECT_EQ(Ok("ENABLE SYSTEM SECURITY_MODE").spec->privilege, Privilege::kSecurityOfficer);
}

TEST(Ipsec, KeywordAliasesAndNumbers) {
  EXPECT_EQ(Ok("CRE IPSEC SASPEC=1 KEYMAN=ISAKMP PROT=ESP ENCALG=3DES HASHALG=SHA1").Get("ENCALG"), "3DESOUTER");
  EXPECT_EQ(Ok("CRE IPSEC SASPEC=1 KEYMAN=ISAKMP PROT=ESP ENCALG=3DES HASHALG=SHA1").Get("HASHALG"), "SHA");
  EXPECT_EQ(Ok("CRE IPSEC SASPEC=1 KEYMAN=IS PROT=E ENCALG=AES128G").Get("ENCALG"), "AES128GCM");
  EXPECT_EQ(Ok("CRE IPSEC SASPEC=1 KEYMAN=IS PROT=E ENCALG=AES128 HASHALG=SHA").Get("ENCALG"), "AES128");
  EXPECT_EQ(Ok("CRE IPSEC SASPEC=1 KEYMAN=IS PROT=E ENCALG=AES128 HASHALG=SHA").Get("HASHALG"), "SHA");
  EXPECT_EQ(Err("CRE IPSEC SASPEC=1 KEYMAN=IS PROT=E ENCALG=AES HASHALG=SHA"),
            "Error (381015): Value \"AES\" of parameter \"ENCALG\" is ambiguous: it could be "
            "AES128, AES192, AES256, AES128GCM, AES256GCM.");
  // Protocol numbers: the named ones are stored by name.
  EXPECT_EQ(Ok("SET IPSEC POL=a TRANSPORT=6 LPORT=80").Get("TRANSPORTPROTOCOL"), "TCP");
  EXPECT_EQ(Ok("SET IPSEC POL=a TRANSPORT=017").Get("TRANSPORTPROTOCOL"), "UDP");
  EXPECT_EQ(Ok("SET IPSEC POL=a TRANSPORT=50").Get("TRANSPORTPROTOCOL"), "50");
  EXPECT_EQ(Ok("SET IPSEC POL=a TRANSPORT=t").Get("TRANSPORTPROTOCOL"), "TCP");
  EXPECT_EQ(Err("SET IPSEC POL=a TRANSPORT=256"),
            "Error (381010): Value of parameter \"TRANSPORTPROTOCOL\" is out of range (0..255).");
  EXPECT_EQ(Err("SET IPSEC POL=a TRANSPORT=SCTP"),
            "Error (381014): Value \"SCTP\" is not valid for parameter \"TRANSPORTPROTOCOL\" "
            "(one of ANY|TCP|UDP|ICMP|0..255).");
  EXPECT_EQ(Ok("SET IPSEC POL=a PEER=dyn").Get("PEERADDRESS"), "DYNAMIC");
  EXPECT_EQ(Ok("SET IPSEC POL=a PEER=002.2.2.2").Get("PEERADDRESS"), "2.2.2.2");
  EXPECT_EQ(Err("SET IPSEC POL=a PEER=2.2.2"),
            "Error (381012): Parameter \"PEERADDRESS\" is not a valid IP address.");
  EXPECT_EQ(Err("SET IPSEC POL=a PEER=SOMEWHERE"),
            "Error (381014): Value \"SOMEWHERE\" is not valid for parameter \"PEERADDRESS\" "
            "(one of ipaddress|ANY|DYNAMIC).");
  EXPECT_EQ(Ok("SET IPSEC POL=a GROUP=1").Get("GROUP"), "1");  // exact beats 14, 15, 16
  EXPECT_EQ(Ok("SET IPSEC POL=a LPORT=any").Get("LPORT"), "ANY");
}

TEST(Ipsec, ErrorsCarryTheModule) {
  // Words are the language's (00); everything after them is the module's (81, 83, 30).
  EXPECT_EQ(Err("CREATE IPSEC FOO"), "Error (300001): Unknown command \"CREATE IPSEC FOO\".");
  EXPECT_EQ(Err("CREATE IPSEC POLICY=vpn ACTION=PERMIT"),
            "Error (381006): Required parameter \"INTERFACE\" is missing.");
  EXPECT_EQ(Err("CREATE IPSEC SASPEC=65536 KEYMAN=ISAKMP PROT=AH HASHALG=SHA"),
            "Error (381010): Value of parameter \"SASPECIFICATION\" is out of range (0..65535).");
  EXPECT_EQ(Err("CREATE ENCO KEY=1 TYPE=GENERAL"),
            "Error (383023): One of the parameters VALUE, RANDOM must be given.");
  EXPECT_EQ(Err("CREATE ENCO KEY=1 TYPE=GENERAL VALUE=\"x\" RANDOM"),
            "Error (383022): Parameters VALUE, RANDOM cannot be used together.");
  EXPECT_EQ(Err("CREATE ENCO KEY=1 TYPE=GENERAL VALUE=0x1"),
            "Error (383019): Parameter \"VALUE\" must be 0x followed by pairs of hex digits or a quoted string.");
  EXPECT_EQ(Err("ENABLE SYSTEM SECURITY_MODE X"),
            "Error (330005): Parameter \"X\" is not valid for this command.");
  EXPECT_EQ(Err("ENABLE IPSEC POLICY=vpn"), "Error (381006): Required parameter \"DEBUG\" is missing.");
  EXPECT_EQ(Err("SHOW IPSEC POLICY COUNTERS SABUNDLE"),
            "Error (381022): Parameters COUNTERS, SABUNDLE cannot be used together.");
  EXPECT_EQ(Err("SET IPSEC POLICY=vpn"),
            "Error (381023): One of the parameters INTERFACE, ACTION, BUNDLESPECIFICATION, "
            "KEYMANAGEMENT, PEERADDRESS, LADDRESS, LMASK, LNAME, LPORT, RADDRESS, RMASK, RNAME, "
            "RPORT, TRANSPORTPROTOCOL, UDPTUNNEL, UDPHEARTBEAT, UDPPORT, DFBIT, POSITION, GROUP, "
            "USEPFSKEY, ISAKMPPOLICY, SRCINTERFACE, RESPONDBADSPI, ICMPTYPE, IPVERSION must be given.");
  EXPECT_EQ(Err("CREATE IPSEC SASPEC=1 KEYMAN=MANUAL PROT=ESP ENCALG=DES ENCKEY=1 HASHALG=SHA "
                "HASHKEY=2 INSPI=255 OUTSPI=1001"),
            "Error (381010): Value of parameter \"INSPI\" is out of range (256..4294967295).");
  EXPECT_EQ(Err("CREATE IPSEC SASPEC=1 KEYMAN=MANUAL PROT=ESP ENCALG=DES ENCKEY=1 HASHALG=SHA "
                "HASHKEY=2 INSPI=1000 OUTSPI=4294967296"),
            "Error (381010): Value of parameter \"OUTSPI\" is out of range (256..4294967295).");
  EXPECT_EQ(Err("CREATE IPSEC SASPEC=1 KEYMAN=ISAKMP PROT=ESP ENCALG=DES HASHALG=SHA REPLAY=16"),
            "Error (381010): Value of parameter \"REPLAYWINDOWSIZE\" is out of range (32..1024).");
}

TEST(Ipsec, SaSpecRules) {
  auto E = [](std::string_view tail) { return Err(absl_like_cat("CREATE IPSEC SASPEC=1 ", tail)); };
  EXPECT_EQ(E("KEYMAN=ISAKMP PROT=ESP ENCALG=NULL HASHALG=NULL"),
            "Error (381047): Parameter \"ENCALG\" cannot be NULL with PROTOCOL=ESP and HASHALG=NULL.");
  EXPECT_EQ(E("KEYMAN=ISAKMP PROT=ESP HASHALG=SHA"),
            "Error (381044): Parameter \"ENCALG\" is required with PROTOCOL=ESP.");
  EXPECT_EQ(E("KEYMAN=ISAKMP PROT=ESP ENCALG=DES"),
            "Error (381044): Parameter \"HASHALG\" is required with PROTOCOL=ESP and ENCALG=DES.");
  EXPECT_EQ(E("KEYMAN=ISAKMP PROT=AH"), "Error (381044): Parameter \"HASHALG\" is required with PROTOCOL=AH.");
  EXPECT_EQ(E("KEYMAN=ISAKMP PROT=AH HASHALG=NULL"),
            "Error (381047): Parameter \"HASHALG\" cannot be NULL with PROTOCOL=AH.");
  EXPECT_EQ(E("KEYMAN=ISAKMP PROT=AH HASHALG=SHA ENCALG=DES"),
            "Error (381046): Parameter \"ENCALG\" cannot be used with PROTOCOL=AH.");
  EXPECT_EQ(E("KEYMAN=ISAKMP PROT=COMP"), "Error (381044): Parameter \"COMPALG\" is required with PROTOCOL=COMP.");
  EXPECT_EQ(E("KEYMAN=ISAKMP PROT=ESP ENCALG=DES HASHALG=SHA COMPALG=LZS"),
            "Error (381046): Parameter \"COMPALG\" cannot be used with PROTOCOL=ESP.");
  EXPECT_EQ(E("KEYMAN=ISAKMP PROT=COMP COMPALG=LZS HASHALG=SHA"),
            "Error (381046): Parameter \"HASHALG\" cannot be used with PROTOCOL=COMP.");
  EXPECT_EQ(E("KEYMAN=MANUAL PROT=COMP COMPALG=LZS INSPI=1000"),
            "Error (381046): Parameter \"INSPI\" cannot be used with PROTOCOL=COMP.");
  EXPECT_EQ(E("KEYMAN=ISAKMP PROT=COMP COMPALG=LZS ANTIREPLAY=TRUE"),
            "Error (381046): Parameter \"ANTIREPLAYENABLED\" cannot be used with PROTOCOL=COMP.");
  // Keys and SPIs: only with MANUAL, and then required.
  EXPECT_EQ(E("KEYMAN=ISAKMP PROT=ESP ENCALG=DES HASHALG=SHA ENCKEY=1"),
            "Error (381046): Parameter \"ENCKEY\" cannot be used with KEYMANAGEMENT=ISAKMP.");
  EXPECT_EQ(E("KEYMAN=ISAKMP PROT=AH HASHALG=SHA INSPI=1000"),
            "Error (381046): Parameter \"INSPI\" cannot be used with KEYMANAGEMENT=ISAKMP.");
  EXPECT_EQ(E("KEYMAN=ISAKMP PROT=AH HASHALG=SHA OUTSPI=1000"),
            "Error (381046): Parameter \"OUTSPI\" cannot be used with KEYMANAGEMENT=ISAKMP.");
  EXPECT_EQ(E("KEYMAN=ISAKMP PROT=AH HASHALG=SHA HASHKEY=1"),
            "Error (381046): Parameter \"HASHKEY\" cannot be used with KEYMANAGEMENT=ISAKMP.");
  EXPECT_EQ(E("KEYMAN=MANUAL PROT=ESP ENCALG=DES HASHALG=SHA HASHKEY=2 INSPI=1000 OUTSPI=1001"),
            "Error (381044): Parameter \"ENCKEY\" is required with KEYMANAGEMENT=MANUAL and ENCALG=DES.");
  EXPECT_EQ(E("KEYMAN=MANUAL PROT=ESP ENCALG=DES HASHALG=SHA ENCKEY=1 INSPI=1000 OUTSPI=1001"),
            "Error (381044): Parameter \"HASHKEY\" is required with KEYMANAGEMENT=MANUAL and HASHALG=SHA.");
  EXPECT_EQ(E("KEYMAN=MANUAL PROT=ESP ENCALG=DES HASHALG=SHA ENCKEY=1 HASHKEY=2 OUTSPI=1001"),
            "Error (381044): Parameter \"INSPI\" is required with KEYMANAGEMENT=MANUAL and PROTOCOL=ESP.");
  EXPECT_EQ(E("KEYMAN=MANUAL PROT=AH HASHALG=SHA HASHKEY=2 INSPI=1000"),
            "Error (381044): Parameter \"OUTSPI\" is required with KEYMANAGEMENT=MANUAL and PROTOCOL=AH.");
  EXPECT_EQ(E("KEYMAN=MANUAL PROT=ESP ENCALG=NULL HASHALG=SHA ENCKEY=1 HASHKEY=2 INSPI=1000 OUTSPI=1001"),
            "Error (381046): Parameter \"ENCKEY\" cannot be used with ENCALG=NULL.");
  EXPECT_EQ(E("KEYMAN=MANUAL PROT=ESP ENCALG=DES HASHALG=NULL ENCKEY=1 HASHKEY=2 INSPI=1000 OUTSPI=1001"),
            "Error (381046): Parameter \"HASHKEY\" cannot be used with HASHALG=NULL.");
  // NULL on one side is fine, with or without its key.
  EXPECT_TRUE(Ok("CREATE IPSEC SASPEC=1 KEYMAN=MANUAL PROT=ESP ENCALG=NULL HASHALG=SHA HASHKEY=2 "
                 "INSPI=1000 OUTSPI=1001").Has("HASHKEY"));
  EXPECT_TRUE(Ok("CREATE IPSEC SASPEC=1 KEYMAN=MANUAL PROT=ESP ENCALG=DES HASHALG=NULL ENCKEY=1 "
                 "INSPI=1000 OUTSPI=1001").Has("ENCKEY"));
  // AES-GCM authenticates by itself: HASHALG may be left out or NULL, nothing else.
  EXPECT_FALSE(Ok("CREATE IPSEC SASPEC=1 KEYMAN=ISAKMP PROT=ESP ENCALG=AES256GCM").Has("HASHALG"));
  EXPECT_TRUE(Ok("CREATE IPSEC SASPEC=1 KEYMAN=ISAKMP PROT=ESP ENCALG=AES256GCM HASHALG=NULL").Has("HASHALG"));
  EXPECT_EQ(E("KEYMAN=ISAKMP PROT=ESP ENCALG=AES128GCM HASHALG=SHA"),
            "Error (381047): Parameter \"HASHALG\" cannot be SHA with ENCALG=AES128GCM.");
  EXPECT_EQ(E("KEYMAN=MANUAL PROT=ESP ENCALG=AES128GCM ENCKEY=1 HASHKEY=2 INSPI=1000 OUTSPI=1001"),
            "Error (381046): Parameter \"HASHKEY\" cannot be used with ENCALG=AES128GCM.");
  EXPECT_TRUE(Ok("CREATE IPSEC SASPEC=1 KEYMAN=MANUAL PROT=ESP ENCALG=AES128GCM ENCKEY=1 INSPI=1000 "
                 "OUTSPI=1001").Has("ENCKEY"));
  EXPECT_EQ(E("KEYMAN=ISAKMP PROT=ESP ENCALG=DES HASHALG=SHA ANTIREPLAY=FALSE REPLAYWINDOWSIZE=64"),
            "Error (381046): Parameter \"REPLAYWINDOWSIZE\" cannot be used with ANTIREPLAYENABLED=FALSE.");
  EXPECT_EQ(E("KEYMAN=ISAKMP"), "Error (381006): Required parameter \"PROTOCOL\" is missing.");
  EXPECT_EQ(E("PROT=ESP"), "Error (381006): Required parameter \"KEYMANAGEMENT\" is missing.");
}

TEST(Ipsec, PolicyRules) {
  // Ports only with TCP or UDP; on CREATE the protocol must come with them.
  EXPECT_EQ(Err("CREATE IPSEC POLICY=a INT=ppp0 ACTION=PERMIT LPORT=500"),
            "Error (381044): Parameter \"TRANSPORTPROTOCOL\" is required with LPORT=500.");
  EXPECT_EQ(Err("CREATE IPSEC POLICY=a INT=ppp0 ACTION=PERMIT RPORT=500 TRANSPORT=ICMP"),
            "Error (381047): Parameter \"RPORT\" cannot be 500 with TRANSPORTPROTOCOL=ICMP.");
  EXPECT_EQ(Err("SET IPSEC POLICY=a LPORT=500 TRANSPORT=ANY"),
            "Error (381047): Parameter \"LPORT\" cannot be 500 with TRANSPORTPROTOCOL=ANY.");
  EXPECT_EQ(Err("SET IPSEC POLICY=a LPORT=500 TRANSPORT=50"),
            "Error (381047): Parameter \"LPORT\" cannot be 500 with TRANSPORTPROTOCOL=50.");
  EXPECT_TRUE(Ok("SET IPSEC POLICY=a LPORT=500").Has("LPORT"));  // the policy's protocol: the model's
  EXPECT_TRUE(Ok("SET IPSEC POLICY=a LPORT=ANY TRANSPORT=ICMP").Has("LPORT"));
  EXPECT_TRUE(Ok("CREATE IPSEC POLICY=a INT=ppp0 ACTION=PERMIT LPORT=ANY").Has("LPORT"));
  EXPECT_TRUE(Ok("CREATE IPSEC POLICY=a INT=ppp0 ACTION=PERMIT LPORT=80 TRANSPORT=6").Has("LPORT"));
  EXPECT_EQ(Err("CREATE IPSEC POLICY=a INT=ppp0 ACTION=PERMIT ICMPTYPE=8"),
            "Error (381044): Parameter \"TRANSPORTPROTOCOL\" is required with ICMPTYPE=8.");
  EXPECT_EQ(Err("SET IPSEC POLICY=a ICMPTYPE=8 TRANSPORT=TCP"),
            "Error (381046): Parameter \"ICMPTYPE\" cannot be used with TRANSPORTPROTOCOL=TCP.");
  // IPsec parameters only with ACTION=IPSEC, and then BUNDLE and PEER are needed.
  EXPECT_EQ(Err("CREATE IPSEC POLICY=a INT=ppp0 ACTION=PERMIT BUNDLE=1"),
            "Error (381046): Parameter \"BUNDLESPECIFICATION\" cannot be used with ACTION=PERMIT.");
  EXPECT_EQ(Err("SET IPSEC POLICY=a ACTION=DENY UDPTUNNEL=TRUE"),
            "Error (381046): Parameter \"UDPTUNNEL\" cannot be used with ACTION=DENY.");
  EXPECT_EQ(Err("CREATE IPSEC POLICY=a INT=ppp0 ACTION=IPSEC PEER=1.1.1.1"),
            "Error (381044): Parameter \"BUNDLESPECIFICATION\" is required with ACTION=IPSEC.");
  EXPECT_EQ(Err("CREATE IPSEC POLICY=a INT=ppp0 ACTION=IPSEC BUNDLE=1"),
            "Error (381044): Parameter \"PEERADDRESS\" is required with ACTION=IPSEC.");
  EXPECT_TRUE(Ok("SET IPSEC POLICY=a BUNDLE=2").Has("BUNDLESPECIFICATION"));
  // MANUAL needs a fixed peer and takes no ISAKMP settings.
  EXPECT_EQ(Err("CREATE IPSEC POLICY=a INT=ppp0 ACTION=IPSEC KEYMAN=MANUAL BUNDLE=1 PEER=DYNAMIC"),
            "Error (381047): Parameter \"PEERADDRESS\" cannot be DYNAMIC with KEYMANAGEMENT=MANUAL.");
  EXPECT_EQ(Err("SET IPSEC POLICY=a KEYMAN=MANUAL PEER=ANY"),
            "Error (381047): Parameter \"PEERADDRESS\" cannot be ANY with KEYMANAGEMENT=MANUAL.");
  EXPECT_EQ(Err("SET IPSEC POLICY=a KEYMAN=MANUAL USEPFS=TRUE"),
            "Error (381046): Parameter \"USEPFSKEY\" cannot be used with KEYMANAGEMENT=MANUAL.");
  EXPECT_EQ(Err("SET IPSEC POLICY=a KEYMAN=MANUAL ISAKMPPOLICY=i"),
            "Error (381046): Parameter \"ISAKMPPOLICY\" cannot be used with KEYMANAGEMENT=MANUAL.");
  EXPECT_EQ(Err("SET IPSEC POLICY=a USEPFS=FALSE GROUP=2"),
            "Error (381046): Parameter \"GROUP\" cannot be used with USEPFSKEY=FALSE.");
  // UDP tunnelling.
  EXPECT_EQ(Err("CREATE IPSEC POLICY=a INT=ppp0 ACTION=IPSEC BUNDLE=1 PEER=1.1.1.1 UDPHEARTBEAT=TRUE"),
            "Error (381045): Parameter \"UDPTUNNEL\" must be TRUE with UDPHEARTBEAT=TRUE.");
  EXPECT_EQ(Err("CREATE IPSEC POLICY=a INT=ppp0 ACTION=IPSEC BUNDLE=1 PEER=1.1.1.1 UDPPORT=3456 "
                "UDPTUNNEL=FALSE"),
            "Error (381045): Parameter \"UDPTUNNEL\" must be TRUE with UDPPORT=3456.");
  EXPECT_EQ(Err("SET IPSEC POLICY=a UDPTUNNEL=FALSE UDPPORT=3456"),
            "Error (381046): Parameter \"UDPPORT\" cannot be used with UDPTUNNEL=FALSE.");
  EXPECT_TRUE(Ok("CREATE IPSEC POLICY=a INT=ppp0 ACTION=IPSEC BUNDLE=1 PEER=1.1.1.1 UDPTUNNEL=TRUE "
                 "UDPHEARTBEAT=TRUE UDPPORT=3456").Has("UDPPORT"));
  // A mask needs its address when creating.
  EXPECT_EQ(Err("CREATE IPSEC POLICY=a INT=ppp0 ACTION=PERMIT LMASK=255.255.255.0"),
            "Error (381044): Parameter \"LADDRESS\" is required with LMASK=255.255.255.0.");
  EXPECT_EQ(Err("CREATE IPSEC POLICY=a INT=ppp0 ACTION=PERMIT RAD=1.1.1.1 RMA=255.0.255.0"),
            "Error (381013): Parameter \"RMASK\" is not a valid mask.");
  EXPECT_FALSE(Ok("CREATE IPSEC POLICY=a INT=ppp0 ACTION=PERMIT RAD=1.2.3.4").Has("RMASK"));
}

TEST(Ipsec, BundleStringInTheCommand) {
  EXPECT_EQ(Err("CREATE IPSEC BUNDLE=1 KEYMAN=MANUAL STRING=\"1 or 2\""),
            "Error (381048): Parameter \"STRING\" is not a valid bundle string: \"or\" "
            "(alternative SA specifications) needs KEYMANAGEMENT=ISAKMP at column 6.");
  EXPECT_EQ(Err("CREATE IPSEC BUNDLE=1 KEYMAN=MANUAL STRING=\"2 and 4, 2\""),
            "Error (381048): Parameter \"STRING\" is not a valid bundle string: \",\" "
            "(alternative proposals) needs KEYMANAGEMENT=ISAKMP at column 10.");
  EXPECT_EQ(Err("CREATE IPSEC BUNDLE=1 KEYMAN=ISAKMP STRING=\"1 and\""),
            "Error (381048): Parameter \"STRING\" is not a valid bundle string: expected an SA "
            "specification number, not the end at column 6.");
  EXPECT_EQ(Err("CREATE IPSEC BUNDLE=1 KEYMAN=ISAKMP STRING=\"\""),
            "Error (381048): Parameter \"STRING\" is not a valid bundle string: the string is empty.");
  EXPECT_EQ(Err("CREATE IPSEC BUNDLE=1 KEYMAN=ISAKMP"), "Error (381006): Required parameter \"STRING\" is missing.");
  EXPECT_EQ(Err("CREATE IPSEC BUNDLE=1 KEYMAN=MANUAL STRING=\"1\" EXPIRYSECONDS=3600"),
            "Error (381046): Parameter \"EXPIRYSECONDS\" cannot be used with KEYMANAGEMENT=MANUAL.");
  EXPECT_EQ(Err("CREATE IPSEC BUNDLE=1 KEYMAN=ISAKMP STRING=\"1\" EXPIRYSECONDS=10"),
            "Error (381010): Value of parameter \"EXPIRYSECONDS\" is out of range (300..31449600).");
  EXPECT_EQ(Err("CREATE IPSEC BUNDLE=1 KEYMAN=ISAKMP STRING=1 EXPIRYK=0"),
            "Error (381010): Value of parameter \"EXPIRYKBYTES\" is out of range (1..4194303).");
  EXPECT_EQ(Ok("CREATE IPSEC BUNDLE=1 KEYMAN=ISAKMP STRING=1").Get("STRING"), "1");  // bare works too
}

TEST(Enco, KeysAndTheirRules) {
  ParsedCommand c = Ok("CREATE ENCO KEY=2 TYPE=GENERAL VALUE=0x431D62 DESCRITION=\"IPsec SHA-1 key\"");
  EXPECT_EQ(c.spec->id, CommandId::kCreateEncoKey);
  EXPECT_EQ(c.Get("VALUE"), "0x431d62");
  EXPECT_EQ(c.Get("DESCRIPTION"), "IPsec SHA-1 key");  // the seed's misspelling is an alias
  EXPECT_TRUE(HasSecret(c));
  EXPECT_EQ(Redacted(c), "CREATE ENCO KEY=2 TYPE=GENERAL VALUE=******** DESCRIPTION=\"IPsec SHA-1 key\"");
  c = Ok("CREATE ENCO KEY=1 TYPE=GENERAL VALUE=\"jogefoge\"");
  EXPECT_EQ(c.Get("VALUE"), "jogefoge");
  EXPECT_EQ(Redacted(c), "CREATE ENCO KEY=1 TYPE=GENERAL VALUE=********");
  EXPECT_EQ(Canonical(c), "CREATE ENCO KEY=1 TYPE=GENERAL VALUE=\"jogefoge\"");
  EXPECT_TRUE(MayHoldSecret("CREATE ENCO KEY=1 TYPE=BOGUS VAL=\"secret"));
  EXPECT_FALSE(HasSecret(Ok("CREATE ENCO KEY=1 TYPE=DES RANDOM")));
  EXPECT_EQ(Err("CREATE ENCO KEY=1 TYPE=GENERAL VALUE=0x1122 LENGTH=2"),
            "Error (383046): Parameter \"LENGTH\" cannot be used with VALUE.");  // no secret echoed
  EXPECT_EQ(Err("CREATE ENCO KEY=1 TYPE=DES RANDOM LENGTH=8"),
            "Error (383046): Parameter \"LENGTH\" cannot be used with TYPE=DES.");
  EXPECT_EQ(Err("CREATE ENCO KEY=1 RANDOM"), "Error (383006): Required parameter \"TYPE\" is missing.");
  EXPECT_EQ(Err("CREATE ENCO KEY=65536 TYPE=DES RANDOM"),
            "Error (383010): Value of parameter \"KEY\" is out of range (0..65535).");
  EXPECT_EQ(Ok("SET ENCO SW STACCHANNELS=1").GetUint("STACCHANNELS"), 1u);
  EXPECT_EQ(Err("SET ENCO SW"), "Error (383006): Required parameter \"STACCHANNELS\" is missing.");
}

// ---------- ISAKMP ----------

// Every ISAKMP line of the seed, verbatim.
TEST(Isakmp, EverySeedExampleParses) {
  for (const char* line : {
           "CREATE ISAKMP POLICY=i PEER=2.2.2.2 KEY=1 SENDN=TRUE",
           "CREATE ISAKMP POLICY=i PEER=ANY KEY=1 SENDN=TRUE REMOTEID=\"RouterB\" MODE=AGGRESSIVE",
           "CREATE ISAKMP POLICY=i PEER=1.1.1.1 KEY=1 SENDN=TRUE LOCALID=\"RouterB\" MODE=AGGRESSIVE",
           "ENABLE ISAKMP",
           "CREATE ISAKMP POLICY=i PEER=ANY KEY=1 REMOTEID=client MODE=AGGRESSIVE SENDN=TRUE",
           "CREATE ISAKMP POLICY=i PEER=1.1.1.1 KEY=1 LOCALID=client MODE=AGGRESSIVE SENDN=TRUE",
           "CREATE ISAKMP POLICY=two PEER=2.2.2.2 KEY=1 SENDN=TRUE",
           "CREATE ISAKMP POLICY=three PEER=3.3.3.3 KEY=2 SENDN=TRUE",
           "CREATE ISAKMP POLICY=c1 PEER=ANY KEY=1 REMOTEID=peer1 MODE=AGGRESSIVE SENDN=TRUE",
           "CREATE ISAKMP POLICY=c2 PEER=ANY KEY=2 REMOTEID=peer2 MODE=AGGRESSIVE SENDN=TRUE",
           "CREATE ISAKMP POLICY=i PEER=ANY KEY=1 SENDN=TRUE XAUTH=SERVER",
           "ADD USER=client1 PASSWORD=passclie1 LOGIN=NO",
           "CREATE ISAKMP POLICY=i PEER=1.1.1.1 KEY=1 SENDN=TRUE XAUTH=CLIENT",
           "SET ISAKMP POLICY=i XAUTHNAME=client1 XAUTHPASS=passclie1",
           "CREATE ISAKMP POLICY=i PEER=2.2.2.2 AUTHTYPE=RSASIG LOCALRSAKEY=2 SENDN=TRUE",
           "CREATE ISAKMP POLICY=i PEER=2.2.2.2 KEY=1 SENDN=TRUE GROUP=2",
           "SHOW ISAKMP POLICY",
           "SHOW ISAKMP POLICY=i",
           "SET ISAKMP POLICY=i NATTRAVERSAL=TRUE",
           "show isakmp sa",
           "SHOW CONFIG DYNAMIC=ISAKMP",
           "show log module=isak",
           "show isakmp exchange",
           "enable isakmp debug=pkt",
           "SHOW ISAKMP COUNTERS=MAIN",
           "SHOW ISAKMP COUNTERS=AGGRESSIVE",
           "SHOW ISAKMP COUNTERS=QUICK",
           "SHOW ISAKMP",
       }) {
    auto r = Parse(line);
    EXPECT_TRUE(r.ok() && r->has_value()) << line << ": " << r.status().message();
  }
}

TEST(Isakmp, SeedFormsResolve) {
  ParsedCommand c = Ok("CREATE ISAKMP POLICY=i PEER=ANY KEY=1 SENDN=TRUE REMOTEID=\"RouterB\" "
                       "MODE=AGGRESSIVE");
  EXPECT_EQ(c.spec->id, CommandId::kCreateIsakmpPolicy);
  EXPECT_EQ(*c.object, "i");
  EXPECT_EQ(c.Get("PEER"), "ANY");
  EXPECT_EQ(c.Get("SENDNOTIFY"), "TRUE");
  EXPECT_EQ(c.Get("REMOTEID"), "RouterB");
  EXPECT_EQ(c.Get("MODE"), "AGGRESSIVE");
  // Defaults are the AR's: Main Mode, group 1, DES/SHA, one day.
  ParsedCommand d = Ok("CREATE ISAKMP POLICY=i PEER=2.2.2.2 KEY=1");
  EXPECT_EQ(d.Get("MODE"), "MAIN");
  EXPECT_EQ(d.Get("GROUP"), "1");
  EXPECT_EQ(d.Get("ENCALG"), "DES");
  EXPECT_EQ(d.Get("HASHALG"), "SHA");
  EXPECT_EQ(d.Get("EXPIRYSECONDS"), "86400");
  EXPECT_EQ(d.Get("NATTRAVERSAL"), "FALSE");
  EXPECT_EQ(d.Get("AUTHTYPE"), "PRESHARED");
  EXPECT_EQ(d.given, (std::vector<std::string>{"PEER", "KEY"}));
  // Exact keywords beat the longer ones they prefix; aliases.
  EXPECT_EQ(*Ok("ENABLE ISAKMP DEBUG=PKT").object, "PKT");
  EXPECT_EQ(*Ok("ENABLE ISAKMP DEBUG=TRACE").object, "TRACE");
  EXPECT_EQ(*Ok("ENABLE ISAKMP DEBUG=PKTR").object, "PKTRAW");
  EXPECT_EQ(Ok("SET ISAKMP POLICY=i GROUP=1").Get("GROUP"), "1");
  EXPECT_EQ(Ok("SET ISAKMP POLICY=i ENCALG=3DES").Get("ENCALG"), "3DESOUTER");
  EXPECT_EQ(Ok("SET ISAKMP POLICY=i HASHALG=SHA1").Get("HASHALG"), "SHA");
  EXPECT_EQ(Ok("SET ISAKMP POLICY=i XAUTHPASSWD=x").Get("XAUTHPASS"), "x");
  EXPECT_EQ(Ok("SH ISA SA").spec->id, CommandId::kShowIsakmpSa);
  EXPECT_EQ(Ok("RESET ISAKMP").spec->id, CommandId::kResetIsakmp);
  EXPECT_EQ(Ok("RESET ISAKMP COUNTERS").spec->id, CommandId::kResetIsakmpCounters);
}

TEST(Isakmp, ErrorsAndRules) {
  EXPECT_EQ(Err("CREATE ISAKMP POLICY=i KEY=1"),
            "Error (382006): Required parameter \"PEER\" is missing.");
  EXPECT_EQ(Err("CREATE ISAKMP POLICY=i PEER=1.2.3 KEY=1"),
            "Error (382012): Parameter \"PEER\" is not a valid IP address.");
  EXPECT_EQ(Err("CREATE ISAKMP POLICY=i PEER=2.2.2.2 KEY=1 GROUP=3"),
            "Error (382014): Value \"3\" is not valid for parameter \"GROUP\" (one of 1|2|5|14|15|16).");
  EXPECT_EQ(Err("CREATE ISAKMP POLICY=i PEER=2.2.2.2 KEY=1 EXPIRYSECONDS=599"),
            "Error (382010): Value of parameter \"EXPIRYSECONDS\" is out of range (600..31449600).");
  EXPECT_EQ(Err("CREATE ISAKMP POLICY=i PEER=2.2.2.2 KEY=65536"),
            "Error (382010): Value of parameter \"KEY\" is out of range (0..65535).");
  EXPECT_EQ(Err("CREATE ISAKMP POLICY=i PEER=2.2.2.2 AUTHTYPE=PRESHARED"),
            "Error (382044): Parameter \"KEY\" is required with AUTHTYPE=PRESHARED.");
  EXPECT_EQ(Err("CREATE ISAKMP POLICY=i PEER=2.2.2.2 AUTHTYPE=RSASIG"),
            "Error (382044): Parameter \"LOCALRSAKEY\" is required with AUTHTYPE=RSASIG.");
  EXPECT_EQ(Err("CREATE ISAKMP POLICY=i PEER=2.2.2.2 AUTHTYPE=RSASIG LOCALRSAKEY=1 KEY=1"),
            "Error (382046): Parameter \"KEY\" cannot be used with AUTHTYPE=RSASIG.");
  EXPECT_EQ(Err("CREATE ISAKMP POLICY=i PEER=2.2.2.2 KEY=1 XAUTH=SERVER XAUTHNAME=a"),
            "Error (382046): Parameter \"XAUTHNAME\" cannot be used with XAUTH=SERVER.");
  // The password is never echoed, not even in an error.
  std::string e = Err("CREATE ISAKMP POLICY=i PEER=2.2.2.2 KEY=1 XAUTH=NONE XAUTHPASS=hunter2");
  EXPECT_EQ(e, "Error (382046): Parameter \"XAUTHPASS\" cannot be used with XAUTH=NONE.");
  EXPECT_EQ(Err("CREATE ISAKMP POLICY=i PEER=ANY KEY=1 PRENEGOTIATE=TRUE MODE=AGGRESSIVE"),
            "Error (382047): Parameter \"PRENEGOTIATE\" cannot be TRUE with PEER=ANY.");
  EXPECT_EQ(Err("CREATE ISAKMP POLICY=i PEER=ANY KEY=1 RETRYIKEATTEMPTS=3"),
            "Error (382046): Parameter \"RETRYIKEATTEMPTS\" cannot be used with PEER=ANY.");
  EXPECT_EQ(Err("CREATE ISAKMP POLICY=i PEER=2.2.2.2 KEY=1 DPDMODE=NONE DPDIDLETIMEOUT=60"),
            "Error (382046): Parameter \"DPDIDLETIMEOUT\" cannot be used with DPDMODE=NONE.");
  EXPECT_EQ(Err("ENABLE ISAKMP DEBUG"), "Error (382008): Parameter \"DEBUG\" requires a value.");
  EXPECT_EQ(Err("ENABLE ISAKMP DEBUG=BOGUS"),
            "Error (382014): Value \"BOGUS\" is not valid for parameter \"DEBUG\" (one of "
            "ALL|DEFAULT|PACKET|PKT|PKTRAW|STATE|TRACE|TRACEMORE).");
  EXPECT_EQ(Err("SHOW ISAKMP COUNTERS=BOGUS").substr(0, 14), "Error (382014)");
  EXPECT_EQ(Err("SET ISAKMP POLICY=i").substr(0, 14), "Error (382023)");
  EXPECT_TRUE(HasSecret(Ok("SET ISAKMP POLICY=i XAUTHPASS=hunter2")));
  EXPECT_EQ(Redacted(Ok("SET ISAKMP POLICY=i XAUTHNAME=a XAUTHPASS=hunter2")),
            "SET ISAKMP POLICY=i XAUTHNAME=a XAUTHPASS=********");
  EXPECT_TRUE(MayHoldSecret("SET ISAKMP POLICY=i XAUTHP=x BOGUS=1"));
}

TEST(Ipsec, Completion) {
  EXPECT_EQ(Texts("CREATE IPSEC "), (V{"POLICY=", "SASPECIFICATION=", "BUNDLESPECIFICATION="}));
  EXPECT_EQ(Texts("SHOW IPSEC "), (V{"POLICY", "SASPECIFICATION", "BUNDLESPECIFICATION", "SA", "COUNTERS"}));
  EXPECT_EQ(Texts("SET IPSEC "), (V{"POLICY=", "UDPPORT="}));
  EXPECT_EQ(Texts("CREATE IPSEC SASPEC=1 KEYMAN=MANUAL PROT="), (V{"AH", "COMP", "ESP"}));
  EXPECT_EQ(Texts("CREATE IPSEC POLICY=a INT=ppp0 ACTION=IPSEC PEER="), (V{"ANY", "DYNAMIC"}));
  EXPECT_EQ(Texts("SET IPSEC POLICY=a TRANSPORT="), (V{"ANY", "TCP", "UDP", "ICMP"}));
  EXPECT_EQ(Texts("SHOW IPSEC POLICY "), (V{"COUNTERS", "SABUNDLE"}));
  EXPECT_EQ(Texts("CREATE ENCO KEY=1 TYPE=DES "), (V{"VALUE=", "RANDOM", "LENGTH=", "DESCRIPTION="}));
  EXPECT_EQ(Texts("CREATE ENCO KEY=1 TYPE=DES RANDOM "), (V{"LENGTH=", "DESCRIPTION="}));
  EXPECT_EQ(Texts("ENABLE SYSTEM "), (V{"SECURITY_MODE"}));
}

}  // namespace
}  // namespace arsec::lang
