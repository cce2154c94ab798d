// The configuration model against the recording fake: changes reach the dataplane first
// and are committed only when it acknowledges.
#include "control/config/config_model.h"

#include <array>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "control/config/password.h"
#include "fake_dataplane.h"

namespace arsec::control {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::FakeDataplane;

constexpr uint32_t Ip(int a, int b, int c, int d) {
  return (uint32_t(a) << 24) | (uint32_t(b) << 16) | (uint32_t(c) << 8) | uint32_t(d);
}

class ModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model.SetPorts(*dp.DumpPorts());
    dp.calls.clear();
  }
  FakeDataplane dp;
  ConfigModel model{&dp};
};

TEST_F(ModelTest, AddInterfaceGoesToDataplaneThenModel) {
  ASSERT_TRUE(model.AddInterface("vlan1-0", Ip(4, 4, 4, 1), Ip(255, 255, 255, 248)).ok());
  EXPECT_THAT(dp.calls, ElementsAre("addr_add vlan1-0 4.4.4.1/29 port=0"));
  ASSERT_EQ(model.interfaces().size(), 1u);
  EXPECT_EQ(model.interfaces()[0].port, 0);
  EXPECT_EQ(model.Canonical(),
            "#\n# IP configuration\n#\nADD IP INTERFACE=vlan1-0 IPADDRESS=4.4.4.1 "
            "MASK=255.255.255.248\n");
}

TEST_F(ModelTest, RefusedAddLeavesModelUnchanged) {
  ASSERT_TRUE(model.AddInterface("vlan1", Ip(192, 168, 10, 1), Ip(255, 255, 255, 0)).ok());
  const std::string before = model.Canonical();
  dp.refuse_next = absl::ResourceExhaustedError("address table full");
  absl::Status s = model.AddInterface("ppp0-1", Ip(4, 4, 4, 6), Ip(255, 255, 255, 255));
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr("address table full"));
  EXPECT_EQ(model.interfaces().size(), 1u);
  EXPECT_EQ(model.Canonical(), before);

  dp.refuse_next = absl::InvalidArgumentError("bad route");
  EXPECT_FALSE(model.AddRoute(0, 0, "vlan1", Ip(192, 168, 10, 254), 1).ok());
  EXPECT_TRUE(model.routes().empty());
  EXPECT_EQ(model.Canonical(), before);
}

TEST_F(ModelTest, RefusedDeleteKeepsEntries) {
  ASSERT_TRUE(model.AddInterface("vlan1", Ip(192, 168, 10, 1), Ip(255, 255, 255, 0)).ok());
  ASSERT_TRUE(model.AddRoute(0, 0, "vlan1", Ip(192, 168, 10, 254), 1).ok());
  dp.refuse_all = absl::DeadlineExceededError("dataplane did not answer");
  absl::Status s = model.DeleteRoute(0, 0, std::nullopt, std::nullopt);
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(std::string(s.message()), HasSubstr("did not answer"));
  EXPECT_EQ(model.routes().size(), 1u);
  dp.refuse_all = absl::OkStatus();
  EXPECT_TRUE(model.DeleteRoute(0, 0, std::nullopt, std::nullopt).ok());
  EXPECT_TRUE(model.routes().empty());
}

TEST_F(ModelTest, ChecksBeforeAskingTheDataplane) {
  EXPECT_EQ(model.AddInterface("vlan9", Ip(10, 0, 0, 1), std::nullopt).code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(model.AddInterface("vlan1", Ip(10, 0, 0, 0), Ip(255, 0, 0, 0)).ok());
  EXPECT_FALSE(model.AddInterface("vlan1", Ip(224, 0, 0, 1), Ip(255, 255, 255, 0)).ok());
  EXPECT_FALSE(model.AddRoute(Ip(10, 1, 0, 0), Ip(255, 0, 0, 0), "vlan1", 0, 1).ok());
  // A route needs its interface configured first.
  EXPECT_EQ(model.AddRoute(0, 0, "ppp0", 0, 1).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(dp.calls.empty());
}

TEST_F(ModelTest, ClassfulDefaultMask) {
  ASSERT_TRUE(model.AddInterface("eth0", Ip(10, 1, 2, 3), std::nullopt).ok());
  EXPECT_EQ(model.interfaces()[0].mask, Ip(255, 0, 0, 0));
}

TEST_F(ModelTest, DuplicatesAreRefused) {
  ASSERT_TRUE(model.AddInterface("vlan1-0", Ip(4, 4, 4, 1), Ip(255, 255, 255, 248)).ok());
  EXPECT_EQ(model.AddInterface("vlan1-0", Ip(4, 4, 4, 2), Ip(255, 255, 255, 248)).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(model.AddInterface("ppp0-1", Ip(4, 4, 4, 1), Ip(255, 255, 255, 255)).code(),
            absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(model.AddRoute(0, 0, "vlan1-0", Ip(4, 4, 4, 2), 1).ok());
  EXPECT_EQ(model.AddRoute(0, 0, "vlan1-0", Ip(4, 4, 4, 2), 1).code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_F(ModelTest, SeedUnnumberedMultihoming) {
  // The seed's PPPoE example: ppp0-0 unnumbered, ppp0-1 the host address for IPsec.
  ASSERT_TRUE(model.AddInterface("ppp0-0", 0, std::nullopt).ok());
  ASSERT_TRUE(model.AddInterface("ppp0-1", Ip(4, 4, 4, 6), Ip(255, 255, 255, 255)).ok());
  ASSERT_TRUE(model.AddInterface("vlan1-0", Ip(4, 4, 4, 1), Ip(255, 255, 255, 248)).ok());
  ASSERT_TRUE(model.AddInterface("vlan1-1", Ip(192, 168, 10, 1), Ip(255, 255, 255, 0)).ok());
  ASSERT_TRUE(model.AddRoute(0, std::nullopt, "ppp0-1", 0, 1).ok());
  EXPECT_EQ(dp.calls[0], "addr_add ppp0-0 0.0.0.0/0 port=1");
  EXPECT_EQ(model.SourceAddressFor("ppp0-1"), Ip(4, 4, 4, 6));
  // Unnumbered: the first address configured on another interface.
  EXPECT_EQ(model.SourceAddressFor("ppp0-0"), Ip(4, 4, 4, 1));
}

TEST_F(ModelTest, UnnumberedSourceFollowsCreationOrder) {
  ASSERT_TRUE(model.AddInterface("ppp0", 0, std::nullopt).ok());
  ASSERT_TRUE(model.AddInterface("vlan1-1", Ip(192, 168, 10, 1), Ip(255, 255, 255, 0)).ok());
  ASSERT_TRUE(model.AddInterface("vlan1-0", Ip(4, 4, 4, 1), Ip(255, 255, 255, 248)).ok());
  // The seed's warning: this order makes 192.168.10.1 the source.
  EXPECT_EQ(model.SourceAddressFor("ppp0"), Ip(192, 168, 10, 1));
}

TEST_F(ModelTest, InterfaceInUseByRouteCannotBeDeleted) {
  ASSERT_TRUE(model.AddInterface("vlan1", Ip(192, 168, 10, 1), Ip(255, 255, 255, 0)).ok());
  ASSERT_TRUE(model.AddRoute(Ip(10, 0, 0, 0), std::nullopt, "vlan1", Ip(192, 168, 10, 2), 1).ok());
  EXPECT_EQ(model.DeleteInterface("vlan1", std::nullopt).code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(model.DeleteRoute(Ip(10, 0, 0, 0), std::nullopt, std::nullopt, std::nullopt).ok());
  EXPECT_FALSE(model.DeleteInterface("vlan1", Ip(192, 168, 10, 9)).ok());
  ASSERT_TRUE(model.DeleteInterface("vlan1", Ip(192, 168, 10, 1)).ok());
  EXPECT_TRUE(model.interfaces().empty());
  EXPECT_EQ(dp.calls.back(), "addr_del vlan1 192.168.10.1/24 port=0");
}

TEST_F(ModelTest, AmbiguousRouteDeleteNeedsMore) {
  ASSERT_TRUE(model.AddInterface("vlan1", Ip(192, 168, 10, 1), Ip(255, 255, 255, 0)).ok());
  ASSERT_TRUE(model.AddRoute(0, 0, "vlan1", Ip(192, 168, 10, 2), 1).ok());
  ASSERT_TRUE(model.AddRoute(0, 0, "vlan1", Ip(192, 168, 10, 3), 2).ok());
  EXPECT_FALSE(model.DeleteRoute(0, 0, std::nullopt, std::nullopt).ok());
  EXPECT_EQ(model.routes().size(), 2u);
  ASSERT_TRUE(model.DeleteRoute(0, 0, std::nullopt, Ip(192, 168, 10, 3)).ok());
  EXPECT_EQ(model.routes().size(), 1u);
}

// ---- static ARP

constexpr std::array<uint8_t, 6> kMac77 = {0x02, 0x00, 0x00, 0x00, 0x00, 0x77};

TEST_F(ModelTest, StaticArpGoesToDataplaneThenModel) {
  ASSERT_TRUE(model.AddStaticArp(Ip(192, 0, 2, 77), "PPP0", kMac77).ok());
  EXPECT_THAT(dp.calls, ElementsAre("neigh_add 192.0.2.77 02:00:00:00:00:77 port=1"));
  ASSERT_EQ(model.static_arp().size(), 1u);
  EXPECT_EQ(model.static_arp()[0].ifname, "ppp0");
  EXPECT_EQ(model.static_arp()[0].port, 1);
  EXPECT_EQ(model.Canonical(),
            "#\n# Static ARP entries\n#\n"
            "ADD IP ARP=192.0.2.77 INTERFACE=ppp0 ETHERNET=02-00-00-00-00-77\n");
  // The same address on the same port again: refused before the dataplane is asked.
  dp.calls.clear();
  EXPECT_EQ(model.AddStaticArp(Ip(192, 0, 2, 77), "ppp0", kMac77).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(dp.calls.empty());
  ASSERT_TRUE(model.DeleteStaticArp(Ip(192, 0, 2, 77), std::nullopt).ok());
  EXPECT_THAT(dp.calls, ElementsAre("neigh_del 192.0.2.77 port=1"));
  EXPECT_TRUE(model.static_arp().empty());
  EXPECT_EQ(model.Canonical(), "");
  EXPECT_EQ(model.DeleteStaticArp(Ip(192, 0, 2, 77), std::nullopt).code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ModelTest, StaticArpChecksAndRefusals) {
  EXPECT_EQ(model.AddStaticArp(Ip(192, 0, 2, 77), "ppp9", kMac77).code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(model.AddStaticArp(Ip(224, 0, 0, 5), "ppp0", kMac77).ok());
  EXPECT_FALSE(model.AddStaticArp(Ip(0, 0, 0, 0), "ppp0", kMac77).ok());
  EXPECT_FALSE(model.AddStaticArp(Ip(192, 0, 2, 7), "ppp0", {0x01, 0, 0x5e, 0, 0, 1}).ok());
  EXPECT_FALSE(model.AddStaticArp(Ip(192, 0, 2, 7), "ppp0", {}).ok());
  EXPECT_TRUE(dp.calls.empty());
  dp.refuse_next = absl::ResourceExhaustedError("neighbour table full");
  absl::Status s = model.AddStaticArp(Ip(192, 0, 2, 77), "ppp0", kMac77);
  EXPECT_THAT(std::string(s.message()), HasSubstr("neighbour table full"));
  EXPECT_TRUE(model.static_arp().empty());
  // Two entries for one address on two ports: DELETE needs the interface.
  ASSERT_TRUE(model.AddStaticArp(Ip(10, 0, 0, 9), "ppp0", kMac77).ok());
  ASSERT_TRUE(model.AddStaticArp(Ip(10, 0, 0, 9), "vlan1", kMac77).ok());
  EXPECT_EQ(model.DeleteStaticArp(Ip(10, 0, 0, 9), std::nullopt).code(),
            absl::StatusCode::kInvalidArgument);
  dp.refuse_next = absl::DeadlineExceededError("no answer");
  EXPECT_FALSE(model.DeleteStaticArp(Ip(10, 0, 0, 9), std::string("vlan1")).ok());
  EXPECT_EQ(model.static_arp().size(), 2u);
  ASSERT_TRUE(model.DeleteStaticArp(Ip(10, 0, 0, 9), std::string("vlan1")).ok());
  ASSERT_EQ(model.static_arp().size(), 1u);
  EXPECT_EQ(model.static_arp()[0].ifname, "ppp0");
  // Gone from the dataplane already (it restarted): the model follows.
  dp.arp.clear();
  EXPECT_TRUE(model.DeleteStaticArp(Ip(10, 0, 0, 9), std::nullopt).ok());
  EXPECT_TRUE(model.static_arp().empty());
}

// ---- users in the configuration

TEST(Users, FactoryManagerIsNotSavedUntilChanged) {
  FakeDataplane dp;
  ConfigModel model(&dp);
  EXPECT_EQ(model.Canonical(), "");
  ASSERT_TRUE(model.SetUser("manager", std::nullopt, std::nullopt, std::nullopt,
                            absl::string_view("boss")).ok());
  EXPECT_THAT(model.CanonicalUsers(),
              HasSubstr("SET USER=manager PRIVILEGE=MANAGER LOGIN=YES DESCRIPTION=\"boss\"\n"));
  EXPECT_THAT(model.CanonicalUsers(), Not(HasSubstr("SECRET")));   // password unchanged
  ASSERT_TRUE(model.SetUser("manager", absl::string_view("n3wPass"), std::nullopt, std::nullopt,
                            std::nullopt).ok());
  EXPECT_THAT(model.CanonicalUsers(), HasSubstr("SET USER=manager SECRET=\"pbkdf2-sha256$"));
  EXPECT_THAT(model.Canonical(), Not(HasSubstr("n3wPass")));
}

TEST(Users, HashedRoundTrip) {
  FakeDataplane dp;
  ConfigModel model(&dp);
  ASSERT_TRUE(model.AddUser("secoff", "PasswordS", lang::Privilege::kSecurityOfficer, true,
                            "security officer").ok());
  ASSERT_TRUE(model.AddUser("client1", "passclie1", lang::Privilege::kUser, false, "").ok());
  ASSERT_TRUE(model.DeleteUser("manager").ok());
  const std::string script = model.Canonical();
  for (const char* clear : {"PasswordS", "passclie1", "friend"}) {
    EXPECT_THAT(script, Not(HasSubstr(clear)));
  }
  EXPECT_THAT(script, HasSubstr("ADD USER=secoff SECRET=\"pbkdf2-sha256$"));
  EXPECT_THAT(script, HasSubstr("PRIVILEGE=SECURITYOFFICER LOGIN=YES "
                                "DESCRIPTION=\"security officer\"\n"));
  EXPECT_THAT(script, HasSubstr("PRIVILEGE=USER LOGIN=NO\n"));
  // The factory manager is deleted after the others exist.
  EXPECT_LT(script.find("ADD USER=secoff"), script.find("DELETE USER=manager"));

  // Replaying it through the model's hash path gives the same users.
  ConfigModel again(&dp);
  ASSERT_TRUE(again.AddUserWithHash("secoff", model.users()[0].password_hash,
                                    lang::Privilege::kSecurityOfficer, true,
                                    "security officer").ok());
  EXPECT_TRUE(again.Authenticate("secoff", "PasswordS").ok());
  EXPECT_FALSE(again.AddUserWithHash("x", "friend", lang::Privilege::kUser, true, "").ok());
  EXPECT_FALSE(again.SetUser("manager", std::nullopt, std::nullopt, std::nullopt, std::nullopt,
                             absl::string_view("pbkdf2-sha256$1$00$00")).ok());
}

TEST(Users, FactoryManagerFriend) {
  FakeDataplane dp;
  ConfigModel model(&dp);
  auto p = model.Authenticate("manager", "friend");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, lang::Privilege::kManager);
  EXPECT_FALSE(model.Authenticate("manager", "Friend").ok());
  EXPECT_FALSE(model.Authenticate("nobody", "friend").ok());
  EXPECT_THAT(model.users()[0].password_hash, Not(HasSubstr("friend")));
}

TEST(Users, AddSetDeleteAndLoginNo) {
  FakeDataplane dp;
  ConfigModel model(&dp);
  ASSERT_TRUE(model.AddUser("client1", "passclie1", lang::Privilege::kUser, false, "").ok());
  EXPECT_FALSE(model.Authenticate("client1", "passclie1").ok());   // LOGIN=NO: XAUTH only
  ASSERT_TRUE(model.SetUser("client1", std::nullopt, std::nullopt, true, std::nullopt).ok());
  EXPECT_TRUE(model.Authenticate("client1", "passclie1").ok());
  ASSERT_TRUE(model.SetUser("client1", absl::string_view("new"), std::nullopt, std::nullopt,
                            std::nullopt).ok());
  EXPECT_FALSE(model.Authenticate("client1", "passclie1").ok());
  EXPECT_TRUE(model.Authenticate("CLIENT1", "new").ok());
  for (const auto& u : model.users()) {
    EXPECT_THAT(u.password_hash, Not(HasSubstr("passclie1")));
    EXPECT_TRUE(IsPasswordHash(u.password_hash));
  }
  EXPECT_EQ(model.AddUser("client1", "x", lang::Privilege::kUser, true, "").code(),
            absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(model.DeleteUser("client1").ok());
  EXPECT_EQ(model.users().size(), 1u);
}

TEST(Users, LastManagerStays) {
  FakeDataplane dp;
  ConfigModel model(&dp);
  EXPECT_FALSE(model.DeleteUser("manager").ok());
  EXPECT_FALSE(model.SetUser("manager", std::nullopt, lang::Privilege::kUser, std::nullopt,
                             std::nullopt).ok());
  EXPECT_EQ(model.users().size(), 1u);
}


TEST(Password, HashVerify) {
  auto a = HashPassword("friend");
  auto b = HashPassword("friend");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);   // salted
  EXPECT_TRUE(VerifyPassword("friend", *a));
  EXPECT_TRUE(VerifyPassword("friend", *b));
  EXPECT_FALSE(VerifyPassword("friend ", *a));
  EXPECT_FALSE(VerifyPassword("friend", "pbkdf2-sha256$1$00$00"));
  EXPECT_FALSE(VerifyPassword("friend", "garbage"));
  EXPECT_TRUE(IsPasswordHash(*a));
}

TEST(IfNames, Parse) {
  auto a = ParseIfName("PPP0-1");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->base, "ppp0");
  EXPECT_EQ(a->logical, 1u);
  EXPECT_TRUE(ParseIfName("vlan1").ok());
  EXPECT_FALSE(ParseIfName("vlan").ok());
  EXPECT_FALSE(ParseIfName("1vlan").ok());
  EXPECT_FALSE(ParseIfName("vlan1-").ok());
  EXPECT_FALSE(ParseIfName("vlan1-x").ok());
  EXPECT_FALSE(ParseIfName("vlan1-99").ok());
}

}  // namespace
}  // namespace arsec::control
