// Unit tests of the command-language engine: tokenising, word and parameter matching,
// value checks, every error reply, defaults, rules, Canonical() round trips, completion.
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
  EXPECT_EQ(Ok("Sh I Ro").spec->id, CommandId::kShowIpRoute);
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
            "Error (300005): Parameter \"X\" is not valid for this command.");
}

TEST(Words, UnknownAndIncomplete) {
  EXPECT_EQ(Err("FROB"), "Error (300001): Unknown command \"FROB\".");
  EXPECT_EQ(Err("ADD IP FOO"), "Error (300001): Unknown command \"ADD IP FOO\".");
  EXPECT_EQ(Err("SHOW IP"), "Error (300004): Command incomplete: expected INTERFACE or ROUTE or ARP.");
  EXPECT_EQ(Err("ADD"), "Error (300004): Command incomplete: expected IP or USER.");
  EXPECT_EQ(Err("\"SHOW\" IP ROUTE"), "Error (300021): Unexpected \"SHOW\".");
}

TEST(Words, ObjectValues) {
  EXPECT_EQ(Err("ADD USER"), "Error (300008): Parameter \"USER\" requires a value.");
  EXPECT_EQ(Err("ADD USER= PASS=x"), "Error (300008): Parameter \"USER\" requires a value.");
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
            "Error (300005): Parameter \"COLOUR\" is not valid for this command.");
  EXPECT_EQ(Err("ADD IP INT=eth0"), "Error (300006): Required parameter \"IPADDRESS\" is missing.");
  EXPECT_EQ(Err("ADD IP ROUTE=10.0.0.0 INT=eth0"),
            "Error (300006): Required parameter \"NEXTHOP\" is missing.");
  EXPECT_EQ(Err("ADD IP INT=eth0 IP=1.2.3.4 IPADDRESS=1.2.3.5"),
            "Error (300007): Parameter \"IPADDRESS\" is given more than once.");
  EXPECT_EQ(Err("ADD IP INT=eth0 IP"), "Error (300008): Parameter \"IPADDRESS\" requires a value.");
  EXPECT_EQ(Err("ADD IP INT=eth0 IP="), "Error (300008): Parameter \"IPADDRESS\" requires a value.");
  EXPECT_EQ(Err("ENABLE IP REMOTEASSIGN=YES"),
            "Error (300009): Parameter \"REMOTEASSIGN\" does not take a value.");
  EXPECT_EQ(Err("ADD IP ROUTE=10.0.0.0 INT=eth0 NEXT=1.1.1.1 METRIC=17"),
            "Error (300010): Value of parameter \"METRIC\" is out of range (1..16).");
  EXPECT_EQ(Err("ADD IP ROUTE=10.0.0.0 INT=eth0 NEXT=1.1.1.1 METRIC=0"),
            "Error (300010): Value of parameter \"METRIC\" is out of range (1..16).");
  EXPECT_EQ(Err("ADD IP ROUTE=10.0.0.0 INT=eth0 NEXT=1.1.1.1 METRIC=99999999999999999999999"),
            "Error (300010): Value of parameter \"METRIC\" is out of range (1..16).");
  EXPECT_EQ(Err("ADD IP ROUTE=10.0.0.0 INT=eth0 NEXT=1.1.1.1 METRIC=-1"),
            "Error (300011): Parameter \"METRIC\" must be a decimal number.");
  EXPECT_EQ(Err("ADD IP INT=eth0 IP=1.2.3"),
            "Error (300012): Parameter \"IPADDRESS\" is not a valid IP address.");
  EXPECT_EQ(Err("ADD IP ROUTE=10.0.0.300 INT=eth0 NEXT=1.1.1.1"),
            "Error (300012): Parameter \"ROUTE\" is not a valid IP address.");
  EXPECT_EQ(Err("ADD IP INT=eth0 IP=1.2.3.4 MASK=255.0.255.0"),
            "Error (300013): Parameter \"MASK\" is not a valid mask.");
  EXPECT_EQ(Err("ADD IP INT=eth0 IP=1.2.3.4 MASK=255.255.255"),
            "Error (300013): Parameter \"MASK\" is not a valid mask.");
  EXPECT_EQ(Err("ADD USER=a PASS=b PRIV=ROOT"),
            "Error (300014): Value \"ROOT\" is not valid for parameter \"PRIVILEGE\" (one of "
            "USER|MANAGER|SECURITYOFFICER).");
  EXPECT_EQ(Err("SHOW CONFIG DYN=I"),
            "Error (300015): Value \"I\" of parameter \"DYNAMIC\" is ambiguous: it could be IP, IPSEC, ISAKMP.");
  EXPECT_EQ(Err("ADD USER=a/b PASS=x"),
            "Error (300016): Parameter \"USER\" is not a valid name (letters, digits, - _ .).");
  EXPECT_EQ(Err("CREATE CONFIG=../etc/passwd"),
            "Error (300016): Parameter \"CONFIG\" is not a valid name (letters, digits, - _ .).");
  EXPECT_EQ(Err("ADD USER=a PASS=x DESC=\"" + std::string(64, 'd') + "\""),
            "Error (300017): Value of parameter \"DESCRIPTION\" is too long (at most 63 characters).");
  EXPECT_EQ(Err("ADD USER=a PASS=x LOGIN=MAYBE"),
            "Error (300018): Parameter \"LOGIN\" must be TRUE or FALSE (YES/NO, ON/OFF).");
  EXPECT_EQ(Err("ADD IP INT=eth IP=1.2.3.4"),
            "Error (300024): Parameter \"INTERFACE\" is not a valid interface name (e.g. eth0, vlan1, ppp0-1).");
  EXPECT_EQ(Err("ADD IP INT=ppp0-x IP=1.2.3.4"),
            "Error (300024): Parameter \"INTERFACE\" is not a valid interface name (e.g. eth0, vlan1, ppp0-1).");
  EXPECT_EQ(Err("ADD USER=a PASS=\"\""),
            "Error (300028): Value of parameter \"PASSWORD\" is too short (minimum length 1).");
  EXPECT_EQ(Err(std::string(kMaxLineLength + 1, 'A')),
            "Error (300025): Command line is too long (at most 4096 characters).");
}

TEST(Params, AmbiguousParameterPrefix) {
  // PASSWORD and PRIVILEGE both start with P.
  EXPECT_EQ(Err("ADD USER=a P=x"), "Error (300002): \"P\" is ambiguous: it could be PASSWORD, PRIVILEGE.");
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
            "Error (300022): Parameters PORTS, RUNTIME cannot be used together.");
  EXPECT_TRUE(Ok("SHOW DATAPLANE RUNTIME").Has("RUNTIME"));
  EXPECT_EQ(Err("SET USER=bob"),
            "Error (300023): One of the parameters PASSWORD, PRIVILEGE, LOGIN, DESCRIPTION must be given.");
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
  EXPECT_EQ(Texts("ADD IP "), (V{"INTERFACE=", "ROUTE="}));
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
  EXPECT_EQ(c[0].help, "then INTERFACE, ROUTE");
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

}  // namespace
}  // namespace arsec::lang
