// Unit tests of the SA bundle string grammar and its checks (cli/lang/bundle_string.h).
#include "cli/lang/bundle_string.h"

#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace arsec::lang {
namespace {

using Ids = std::vector<uint32_t>;

BundleString P(std::string_view text) {
  auto b = ParseBundleString(text);
  EXPECT_TRUE(b.ok()) << text << ": " << b.status().message();
  return b.ok() ? *b : BundleString{};
}

std::string PErr(std::string_view text) {
  auto b = ParseBundleString(text);
  EXPECT_FALSE(b.ok()) << text << " parsed unexpectedly";
  return b.ok() ? std::string() : std::string(b.status().message());
}

// The seed's sample SA specs (table 5): 1 ESP DES+SHA1, 2 ESP DES+MD5, 3 AH SHA1,
// 4 AH MD5, 5 IPComp LZS; all ISAKMP. 11..15 are the same as MANUAL.
SaSpecLookup SeedSpecs() {
  return [](uint32_t id) -> std::optional<SaSpecInfo> {
    static const std::map<uint32_t, SaProtocol> kProto = {
        {1, SaProtocol::kEsp}, {2, SaProtocol::kEsp}, {3, SaProtocol::kAh},
        {4, SaProtocol::kAh}, {5, SaProtocol::kComp}};
    uint32_t base = id > 10 ? id - 10 : id;
    auto it = kProto.find(base);
    if (it == kProto.end()) return std::nullopt;
    return SaSpecInfo{it->second, id > 10 ? KeyManagement::kManual : KeyManagement::kIsakmp};
  };
}

std::string VErr(std::string_view text, KeyManagement k = KeyManagement::kIsakmp) {
  BundleString b = P(text);
  absl::Status st = ValidateBundle(b, k, SeedSpecs());
  EXPECT_FALSE(st.ok()) << text << " validated unexpectedly";
  return std::string(st.message());
}

void VOk(std::string_view text, KeyManagement k = KeyManagement::kIsakmp) {
  BundleString b = P(text);
  absl::Status st = ValidateBundle(b, k, SeedSpecs());
  EXPECT_TRUE(st.ok()) << text << ": " << st.message();
}

// ---------- grammar ----------

TEST(BundleGrammar, SingleSpec) {
  BundleString b = P("1");
  ASSERT_EQ(b.proposals.size(), 1u);
  ASSERT_EQ(b.proposals[0].slots.size(), 1u);
  EXPECT_EQ(b.proposals[0].slots[0].spec_ids, Ids{1});
  EXPECT_EQ(b.proposals[0].slots[0].columns, std::vector<size_t>{1});
  EXPECT_EQ(b.proposals[0].column, 1u);
}

TEST(BundleGrammar, AndKeepsTheWrittenOrder) {
  BundleString b = P("5 and 1 and 3");
  ASSERT_EQ(b.proposals.size(), 1u);
  const auto& s = b.proposals[0].slots;
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].spec_ids, Ids{5});
  EXPECT_EQ(s[1].spec_ids, Ids{1});
  EXPECT_EQ(s[2].spec_ids, Ids{3});
  EXPECT_EQ(s[1].columns[0], 7u);
  EXPECT_EQ(s[2].columns[0], 13u);
}

TEST(BundleGrammar, OrBindsTighterThanAnd) {
  BundleString b = P("5 and 1 or 2 and 3 or 4");
  ASSERT_EQ(b.proposals.size(), 1u);
  const auto& s = b.proposals[0].slots;
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].spec_ids, Ids{5});
  EXPECT_EQ(s[1].spec_ids, (Ids{1, 2}));
  EXPECT_EQ(s[2].spec_ids, (Ids{3, 4}));
  BundleString o = P("3 or 4");
  ASSERT_EQ(o.proposals[0].slots.size(), 1u);
  EXPECT_EQ(o.proposals[0].slots[0].spec_ids, (Ids{3, 4}));
  EXPECT_EQ(o.proposals[0].slots[0].columns, (std::vector<size_t>{1, 6}));
}

TEST(BundleGrammar, CommaSeparatesProposalsInPreferenceOrder) {
  BundleString b = P("5 and 1 and 3, 1 and 3, 1");
  ASSERT_EQ(b.proposals.size(), 3u);
  EXPECT_EQ(b.proposals[0].slots.size(), 3u);
  EXPECT_EQ(b.proposals[1].slots.size(), 2u);
  EXPECT_EQ(b.proposals[2].slots.size(), 1u);
  EXPECT_EQ(b.proposals[1].column, 16u);
  EXPECT_EQ(b.proposals[2].column, 25u);
  EXPECT_EQ(b.proposals[2].slots[0].spec_ids, Ids{1});
}

TEST(BundleGrammar, CaseBlanksAndLeadingZeros) {
  EXPECT_EQ(FormatBundleString(P("  5 AND 1\tAnd 3 ,1 OR 2  ")), "5 and 1 and 3, 1 or 2");
  EXPECT_EQ(FormatBundleString(P("007")), "7");
  EXPECT_EQ(FormatBundleString(P("1,2")), "1, 2");
  EXPECT_EQ(FormatBundleString(P("0")), "0");
  EXPECT_EQ(FormatBundleString(P("255")), "255");
}

TEST(BundleGrammar, CanonicalFormRoundTrips) {
  for (const char* s : {"1", "5 and 1 and 3", "3 or 4", "5 and 1 and 3, 1 and 3, 1",
                        "5 and 1 or 2 and 3 or 4, 1 or 2"}) {
    std::string f = FormatBundleString(P(s));
    EXPECT_EQ(f, s);
    EXPECT_EQ(FormatBundleString(P(f)), f);
  }
}

TEST(BundleGrammar, ErrorsGiveTheColumn) {
  EXPECT_EQ(PErr(""), "the string is empty");
  EXPECT_EQ(PErr("   "), "the string is empty");
  EXPECT_EQ(PErr("and"), "expected an SA specification number, not \"and\" at column 1");
  EXPECT_EQ(PErr("1 and"), "expected an SA specification number, not the end at column 6");
  EXPECT_EQ(PErr("1 or"), "expected an SA specification number, not the end at column 5");
  EXPECT_EQ(PErr("1,"), "expected an SA specification number, not the end at column 3");
  EXPECT_EQ(PErr(",1"), "expected an SA specification number, not \",\" at column 1");
  EXPECT_EQ(PErr("1,,2"), "expected an SA specification number, not \",\" at column 3");
  EXPECT_EQ(PErr("1 and and 2"), "expected an SA specification number, not \"and\" at column 7");
  EXPECT_EQ(PErr("1 2"), "expected \"and\", \"or\", \",\" or the end at column 3");
  EXPECT_EQ(PErr("1 nand 2"), "unexpected \"nand\" at column 3");
  EXPECT_EQ(PErr("1and2"), "unexpected \"1and2\" at column 1");
  EXPECT_EQ(PErr("1 & 2"), "unexpected \"&\" at column 3");
  EXPECT_EQ(PErr("1;2"), "unexpected \";\" at column 2");
  EXPECT_EQ(PErr("-1"), "unexpected \"-\" at column 1");
  EXPECT_EQ(PErr("1 and x"), "unexpected \"x\" at column 7");
  EXPECT_EQ(PErr("65536"), "SA specification 65536 is out of range (0..65535) at column 1");
  EXPECT_EQ(PErr("1 and 99999999999999999999999"),
            "SA specification 99999999999999999999999 is out of range (0..65535) at column 7");
  EXPECT_EQ(PErr("1 or 1"), "SA specification 1 appears twice in one proposal at column 6");
  EXPECT_EQ(PErr("1 and 3 and 1"), "SA specification 1 appears twice in one proposal at column 13");
  EXPECT_EQ(PErr("1\x01"), "unexpected \"?\" at column 2");
  // The same id in different proposals is fine.
  EXPECT_EQ(P("1 and 3, 1").proposals.size(), 2u);
}

TEST(BundleGrammar, NeverCrashesOnMutations) {
  const std::string bytes = " ,0123456789aAnNdDoOrR\t\x01\xff-";
  for (std::string base : {"5 and 1 and 3, 1 and 3, 1", "3 or 4", "1"}) {
    for (size_t i = 0; i <= base.size(); ++i) {
      (void)ParseBundleString(base.substr(0, i));
      for (char c : bytes) {
        std::string m = base;
        if (i < m.size()) m[i] = c;
        else m.push_back(c);
        auto b = ParseBundleString(m);
        if (b.ok()) {
          // Whatever parses formats to something that parses to the same thing.
          std::string f = FormatBundleString(*b);
          auto again = ParseBundleString(f);
          ASSERT_TRUE(again.ok()) << m << " -> " << f;
          EXPECT_EQ(FormatBundleString(*again), f);
          (void)ValidateBundle(*b, KeyManagement::kIsakmp, SeedSpecs());
          (void)ValidateBundle(*b, KeyManagement::kManual, SeedSpecs());
        }
      }
    }
  }
}

// ---------- shape (KEYMANAGEMENT) ----------

TEST(BundleShape, ManualTakesOneProposalWithoutOr) {
  EXPECT_TRUE(CheckBundleShape(P("1"), KeyManagement::kManual).ok());
  EXPECT_TRUE(CheckBundleShape(P("2 and 4"), KeyManagement::kManual).ok());
  EXPECT_TRUE(CheckBundleShape(P("5 and 1 and 3"), KeyManagement::kManual).ok());
  EXPECT_EQ(CheckBundleShape(P("3 or 4"), KeyManagement::kManual).message(),
            "\"or\" (alternative SA specifications) needs KEYMANAGEMENT=ISAKMP at column 6");
  EXPECT_EQ(CheckBundleShape(P("5 and 1 or 2"), KeyManagement::kManual).message(),
            "\"or\" (alternative SA specifications) needs KEYMANAGEMENT=ISAKMP at column 12");
  EXPECT_EQ(CheckBundleShape(P("1 and 3, 1"), KeyManagement::kManual).message(),
            "\",\" (alternative proposals) needs KEYMANAGEMENT=ISAKMP at column 10");
  for (const char* s : {"1", "3 or 4", "5 and 1 and 3, 1 and 3, 1", "5 and 1 or 2 and 3 or 4, 1"})
    EXPECT_TRUE(CheckBundleShape(P(s), KeyManagement::kIsakmp).ok()) << s;
}

// ---------- validation against the SA specs ----------

TEST(BundleValidate, TheSeedsExamples) {
  VOk("1");
  VOk("5 and 1 and 3");
  VOk("5 and 1 and 3 or 4");
  VOk("5 and 1 and 3, 1 and 3, 1");
  VOk("5 and 1, 1");
  VOk("12 and 14", KeyManagement::kManual);  // the seed's manual "2 and 4"
  VOk("11", KeyManagement::kManual);
  VOk("1 or 2");
  VOk("5");
  VOk("3 and 1");  // AH before ESP is applied as written (unusual, allowed)
}

TEST(BundleValidate, EveryIdMustExistWithTheBundlesKeyManagement) {
  EXPECT_EQ(VErr("1 and 7"), "SA specification 7 does not exist at column 7");
  EXPECT_EQ(VErr("1, 9"), "SA specification 9 does not exist at column 4");
  EXPECT_EQ(VErr("11"), "SA specification 11 has KEYMANAGEMENT=MANUAL, the bundle ISAKMP at column 1");
  EXPECT_EQ(VErr("12 and 3", KeyManagement::kManual),
            "SA specification 3 has KEYMANAGEMENT=ISAKMP, the bundle MANUAL at column 8");
  BundleString b = P("1");
  EXPECT_EQ(ValidateBundle(b, KeyManagement::kIsakmp, nullptr).message(),
            "SA specification 1 does not exist at column 1");
}

TEST(BundleValidate, OrJoinsOneProtocolOnly) {
  EXPECT_EQ(VErr("1 or 3"), "\"or\" joins SA specifications of different protocols (1 is ESP, 3 is AH) at column 6");
  EXPECT_EQ(VErr("5 and 3 or 1"),
            "\"or\" joins SA specifications of different protocols (3 is AH, 1 is ESP) at column 12");
  EXPECT_EQ(VErr("5 or 1"), "\"or\" joins SA specifications of different protocols (5 is IPComp, 1 is ESP) at column 6");
}

TEST(BundleValidate, AndJoinsDifferentProtocols) {
  EXPECT_EQ(VErr("1 and 2"), "\"and\" joins two ESP SA specifications (1 and 2) at column 7");
  EXPECT_EQ(VErr("1 and 3 and 4"), "\"and\" joins two AH SA specifications (3 and 4) at column 13");
  VOk("1 or 2 and 3, 3 and 2");
}

TEST(BundleValidate, IpcompComesFirst) {
  EXPECT_EQ(VErr("1 and 5"), "IPComp SA specification 5 must come first in its proposal at column 7");
  EXPECT_EQ(VErr("5 and 1, 3 and 5"), "IPComp SA specification 5 must come first in its proposal at column 16");
  VOk("15 and 11", KeyManagement::kManual);
}

TEST(BundleValidate, ManualShapeIsCheckedFirst) {
  EXPECT_EQ(VErr("11 or 12", KeyManagement::kManual),
            "\"or\" (alternative SA specifications) needs KEYMANAGEMENT=ISAKMP at column 7");
  EXPECT_EQ(VErr("11, 12", KeyManagement::kManual),
            "\",\" (alternative proposals) needs KEYMANAGEMENT=ISAKMP at column 5");
}

TEST(BundleHelpers, IdsAndKeywords) {
  EXPECT_EQ(BundleSpecIds(P("5 and 1 and 3 or 4, 1 and 3, 1")), (Ids{1, 3, 4, 5}));
  EXPECT_EQ(KeyManagementFromKeyword("MANUAL"), KeyManagement::kManual);
  EXPECT_EQ(KeyManagementFromKeyword("ISAKMP"), KeyManagement::kIsakmp);
  EXPECT_FALSE(KeyManagementFromKeyword("manual").has_value());  // stored values are upper-case
  EXPECT_EQ(SaProtocolFromKeyword("COMP"), SaProtocol::kComp);
  EXPECT_EQ(SaProtocolFromKeyword("ESP"), SaProtocol::kEsp);
  EXPECT_EQ(SaProtocolFromKeyword("AH"), SaProtocol::kAh);
  EXPECT_FALSE(SaProtocolFromKeyword("GRE").has_value());
  EXPECT_EQ(SaProtocolName(SaProtocol::kComp), "IPComp");
}

}  // namespace
}  // namespace arsec::lang
