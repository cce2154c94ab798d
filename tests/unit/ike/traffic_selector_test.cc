// Phase 2 identities (control/ike/traffic_selector.h) with the seed's policies: LAN to
// LAN, the VPN client by address and by RNAME with PEER=DYNAMIC (one and three clients),
// transport mode without IDs, the L2TP policy with protocol and ports; containment
// rather than narrowing, and the initiator's check of the responder's IDs.
#include "control/ike/traffic_selector.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "control/ike/isakmp_codec.h"

namespace arsec::ike {
namespace {

using control::PolicyAction;
using control::PolicyView;

constexpr uint32_t Ip(int a, int b, int c, int d) {
  return static_cast<uint32_t>(a) << 24 | static_cast<uint32_t>(b) << 16 |
         static_cast<uint32_t>(c) << 8 | static_cast<uint32_t>(d);
}

Identity Name(const std::string& s, IdType t = IdType::kFqdn) {
  return Identity{t, Bytes(s.begin(), s.end())};
}

// CREATE IPSEC POLICY=name ACTION=IPSEC KEYMAN=ISAKMP PEER=peer (0: DYNAMIC) + selectors.
Phase2Policy Policy(const std::string& name, uint32_t peer, uint32_t laddr, uint32_t lmask,
                    uint32_t raddr, uint32_t rmask) {
  Phase2Policy p;
  p.name = name;
  p.view.action = PolicyAction::kIpsec;
  p.view.keyman = control::KeyManagement::kIsakmp;
  p.view.peer = peer;
  p.view.peer_dynamic = peer == 0;
  p.view.laddr = laddr;
  p.view.lmask = lmask;
  p.view.raddr = raddr;
  p.view.rmask = rmask;
  return p;
}

IdPayload Subnet(uint32_t a, uint32_t m) {
  IdPayload id;
  id.type = IdType::kIpv4Subnet;
  id.data = {static_cast<uint8_t>(a >> 24), static_cast<uint8_t>(a >> 16),
             static_cast<uint8_t>(a >> 8),  static_cast<uint8_t>(a),
             static_cast<uint8_t>(m >> 24), static_cast<uint8_t>(m >> 16),
             static_cast<uint8_t>(m >> 8),  static_cast<uint8_t>(m)};
  return id;
}
IdPayload Addr(uint32_t a) {
  IdPayload id;
  id.type = IdType::kIpv4Addr;
  id.data = {static_cast<uint8_t>(a >> 24), static_cast<uint8_t>(a >> 16),
             static_cast<uint8_t>(a >> 8), static_cast<uint8_t>(a)};
  return id;
}
IdPayload NameId(const std::string& s) {
  IdPayload id;
  id.type = IdType::kFqdn;
  id.data = Bytes(s.begin(), s.end());
  return id;
}

constexpr uint32_t kMask24 = 0xffffff00u;
constexpr uint32_t kHost = 0xffffffffu;
constexpr uint32_t kRouterA = Ip(1, 1, 1, 1);   // the seed's gateway
constexpr uint32_t kRouterB = Ip(2, 2, 2, 2);

TEST(QuickModeIds, SeedLanToLan) {
  // SET IPSEC POLICY=vpn LAD=192.168.10.0 LMA=255.255.255.0 RAD=192.168.20.0 RMA=...
  Phase2Policy p = Policy("vpn", kRouterB, Ip(192, 168, 10, 0), kMask24, Ip(192, 168, 20, 0),
                          kMask24);
  auto ids = IdsForPolicy(p);
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_EQ(ids->idci.type, IdType::kIpv4Subnet);
  EXPECT_EQ(ids->idci.data, Subnet(Ip(192, 168, 10, 0), kMask24).data);
  EXPECT_EQ(ids->idcr.data, Subnet(Ip(192, 168, 20, 0), kMask24).data);
  EXPECT_EQ(ids->idci.protocol, 0);
  EXPECT_EQ(ids->idci.port, 0);
  // It survives the codec.
  auto back = ParseId(BuildId(ids->idci));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->data, ids->idci.data);
}

TEST(QuickModeIds, HostsProtocolPortsAndNames) {
  // Transport mode L2TP: LAD=1.1.1.1 LPORT=1701 RAD=2.2.2.2 RPORT=1701 TRANSPORT=UDP.
  Phase2Policy l2 = Policy("l2", kRouterB, kRouterA, kHost, kRouterB, kHost);
  l2.view.proto = 17;
  l2.view.lport_lo = l2.view.lport_hi = 1701;
  l2.view.rport_lo = l2.view.rport_hi = 1701;
  auto ids = IdsForPolicy(l2);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->idci.type, IdType::kIpv4Addr);
  EXPECT_EQ(ids->idci.data, Addr(kRouterA).data);
  EXPECT_EQ(ids->idci.protocol, 17);
  EXPECT_EQ(ids->idci.port, 1701);
  EXPECT_EQ(ids->idcr.port, 1701);
  // No LADDRESS: 0.0.0.0/0.
  Phase2Policy any = Policy("any", kRouterB, 0, 0, Ip(192, 168, 20, 0), kMask24);
  ids = IdsForPolicy(any);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->idci.data, Subnet(0, 0).data);
  // The seed's VPN client: LNAME=clientname RAD=192.168.10.0/24, PEER=1.1.1.1.
  Phase2Policy client = Policy("vpncli", kRouterA, 0, 0, Ip(192, 168, 10, 0), kMask24);
  client.lname = Name("clientname");
  ids = IdsForPolicy(client);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->idci.type, IdType::kFqdn);
  EXPECT_EQ(std::string(ids->idci.data.begin(), ids->idci.data.end()), "clientname");
  // A port range has no IKEv1 ID.
  Phase2Policy range = l2;
  range.view.rport_lo = 1000;
  range.view.rport_hi = 2000;
  ids = IdsForPolicy(range);
  ASSERT_FALSE(ids.ok());
  EXPECT_EQ(ids.status().message(),
            "remote port range 1000-2000 cannot be a phase 2 ID (IKEv1 IDs carry one port)");
}

TEST(FindPolicy, SeedLanToLanAndContainment) {
  std::vector<Phase2Policy> ps;
  Phase2Policy permit = Policy("isa", 0, 0, 0, 0, 0);
  permit.view.action = PolicyAction::kPermit;   // never a candidate
  ps.push_back(permit);
  ps.push_back(Policy("vpn", kRouterB, Ip(192, 168, 10, 0), kMask24, Ip(192, 168, 20, 0),
                      kMask24));
  // Router B initiates with its view: IDci = its LAN, IDcr = ours.
  auto m = FindPolicyForIds(ps, Subnet(Ip(192, 168, 20, 0), kMask24),
                            Subnet(Ip(192, 168, 10, 0), kMask24), kRouterB, kRouterA, "");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->policy->name, "vpn");
  EXPECT_EQ(m->selectors.local.ToString(), "192.168.10.0/24");
  EXPECT_EQ(m->selectors.remote.ToString(), "192.168.20.0/24");
  // A narrower proposal lies within the policy: the SA protects what was proposed.
  m = FindPolicyForIds(ps, Addr(Ip(192, 168, 20, 5)), Subnet(Ip(192, 168, 10, 0), 0xffffff80u),
                       kRouterB, kRouterA, "");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->selectors.remote.ToString(), "192.168.20.5");
  EXPECT_EQ(m->selectors.local.ToString(), "192.168.10.0/25");
  // A wider one is refused, not narrowed.
  m = FindPolicyForIds(ps, Subnet(Ip(192, 168, 0, 0), 0xffff0000u),
                       Subnet(Ip(192, 168, 10, 0), kMask24), kRouterB, kRouterA, "");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(NotifyFor(m.status()), NotifyType::kInvalidIdInformation);
  EXPECT_EQ(m.status().message(),
            "no IPsec policy for 192.168.0.0/16 to 192.168.10.0/24 from peer 2.2.2.2: policy "
            "vpn: remote 192.168.0.0/16 not within 192.168.20.0/24");
  // Another peer: no policy names it.
  m = FindPolicyForIds(ps, Subnet(Ip(192, 168, 20, 0), kMask24),
                       Subnet(Ip(192, 168, 10, 0), kMask24), Ip(3, 3, 3, 3), kRouterA, "");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message(),
            "no IPsec policy for 192.168.20.0/24 to 192.168.10.0/24 from peer 3.3.3.3: no "
            "ISAKMP policy names this peer");
  // Only one ID.
  m = FindPolicyForIds(ps, Subnet(Ip(192, 168, 20, 0), kMask24), std::nullopt, kRouterB,
                       kRouterA, "");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(NotifyFor(m.status()), NotifyType::kInvalidIdInformation);
}

TEST(FindPolicy, SeedMultipleDynamicClientsByRname) {
  // v1/v2/v3: PEER=DYNAMIC LAD=192.168.10.0/24 RNAME=client1..3, in creation order.
  std::vector<Phase2Policy> ps;
  for (int i = 1; i <= 3; ++i) {
    Phase2Policy p = Policy("v" + std::to_string(i), 0, Ip(192, 168, 10, 0), kMask24, 0, 0);
    p.rname = Name("client" + std::to_string(i));
    ps.push_back(p);
  }
  const uint32_t client_addr = Ip(203, 0, 113, 77);   // whatever address it has today
  auto m = FindPolicyForIds(ps, NameId("client2"), Subnet(Ip(192, 168, 10, 0), kMask24),
                            client_addr, kRouterA, "");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->policy->name, "v2");
  EXPECT_EQ(m->selectors.remote.lo, client_addr);
  EXPECT_EQ(m->selectors.remote.hi, client_addr);
  EXPECT_EQ(m->selectors.remote.ToString(), "fqdn client2 (203.0.113.77)");
  // Names compare without case, as DNS names do.
  m = FindPolicyForIds(ps, NameId("CLIENT3"), Subnet(Ip(192, 168, 10, 0), kMask24),
                       client_addr, kRouterA, "");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->policy->name, "v3");
  // An unknown name, and an address where a name is wanted.
  m = FindPolicyForIds(ps, NameId("client4"), Subnet(Ip(192, 168, 10, 0), kMask24),
                       client_addr, kRouterA, "");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message(),
            "no IPsec policy for fqdn client4 (203.0.113.77) to 192.168.10.0/24 from peer "
            "203.0.113.77: policy v1: remote fqdn client4 (203.0.113.77) not within fqdn "
            "client1 (203.0.113.77); policy v2: remote fqdn client4 (203.0.113.77) not "
            "within fqdn client2 (203.0.113.77); policy v3: remote fqdn client4 "
            "(203.0.113.77) not within fqdn client3 (203.0.113.77)");
  m = FindPolicyForIds(ps, Addr(client_addr), Subnet(Ip(192, 168, 10, 0), kMask24),
                       client_addr, kRouterA, "");
  ASSERT_FALSE(m.ok());
  // The client's own policy produces what the gateway expects.
  Phase2Policy cli = Policy("vpncli", kRouterA, 0, 0, Ip(192, 168, 10, 0), kMask24);
  cli.lname = Name("client1");
  auto ids = IdsForPolicy(cli);
  ASSERT_TRUE(ids.ok());
  m = FindPolicyForIds(ps, ids->idci, ids->idcr, client_addr, kRouterA, "");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->policy->name, "v1");
}

TEST(FindPolicy, NoIdsMeansThePeersAddresses) {
  // Transport mode: LAD=1.1.1.1 RAD=1.2.3.4, PEER=1.2.3.4; the peer sends no IDs.
  const uint32_t peer = Ip(1, 2, 3, 4);
  std::vector<Phase2Policy> ps = {
      Policy("lan", peer, Ip(192, 168, 10, 0), kMask24, peer, kHost),
      Policy("vpn", peer, kRouterA, kHost, peer, kHost)};
  auto m = FindPolicyForIds(ps, std::nullopt, std::nullopt, peer, kRouterA, "");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->policy->name, "vpn");
  EXPECT_EQ(m->selectors.local.ToString(), "1.1.1.1");
  EXPECT_EQ(m->selectors.remote.ToString(), "1.2.3.4");
}

TEST(FindPolicy, ProtocolPortsAndIsakmpPolicy) {
  Phase2Policy l2 = Policy("l2", kRouterB, kRouterA, kHost, kRouterB, kHost);
  l2.view.proto = 17;
  l2.view.lport_lo = l2.view.lport_hi = 1701;
  l2.view.rport_lo = l2.view.rport_hi = 1701;
  l2.isakmp_policy = "i";
  std::vector<Phase2Policy> ps = {l2};
  IdPayload ci = Addr(kRouterB), cr = Addr(kRouterA);
  ci.protocol = cr.protocol = 17;
  ci.port = cr.port = 1701;
  auto m = FindPolicyForIds(ps, ci, cr, kRouterB, kRouterA, "i");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->selectors.remote.ToString(), "2.2.2.2 proto 17 port 1701");
  // "Any protocol" is wider than UDP.
  IdPayload any_ci = Addr(kRouterB), any_cr = Addr(kRouterA);
  m = FindPolicyForIds(ps, any_ci, any_cr, kRouterB, kRouterA, "i");
  ASSERT_FALSE(m.ok());
  // Any port is wider than 1701.
  IdPayload port0 = ci;
  port0.port = 0;
  m = FindPolicyForIds(ps, port0, cr, kRouterB, kRouterA, "i");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message(),
            "no IPsec policy for 2.2.2.2 proto 17 to 1.1.1.1 proto 17 port 1701 from peer "
            "2.2.2.2: policy l2: remote 2.2.2.2 proto 17 not within 2.2.2.2 proto 17 port 1701");
  // ISAKMPPOLICY names another ISAKMP policy.
  m = FindPolicyForIds(ps, ci, cr, kRouterB, kRouterA, "other");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message(),
            "no IPsec policy for 2.2.2.2 proto 17 port 1701 to 1.1.1.1 proto 17 port 1701 "
            "from peer 2.2.2.2: policy l2: ISAKMPPOLICY i");
}

TEST(SelectorFromId, Forms) {
  IdPayload range;
  range.type = IdType::kIpv4Range;
  range.data = {10, 0, 0, 1, 10, 0, 0, 9};
  auto s = SelectorFromId(range, 0);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->ToString(), "10.0.0.1-10.0.0.9");
  IdPayload holes = Subnet(Ip(10, 0, 0, 0), 0xff00ff00u);
  s = SelectorFromId(holes, 0);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(NotifyFor(s.status()), NotifyType::kInvalidIdInformation);
  IdPayload v6;
  v6.type = IdType::kIpv6Addr;
  v6.data = Bytes(16, 0);
  s = SelectorFromId(v6, 0);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "phase 2 ID type 5 not supported");
  // A subnet ID with host bits set selects the subnet.
  s = SelectorFromId(Subnet(Ip(192, 168, 20, 77), kMask24), 0);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->ToString(), "192.168.20.0/24");
}

TEST(CheckReplyIds, WithinWhatWeSent) {
  Phase2Policy p = Policy("vpn", kRouterB, Ip(192, 168, 10, 0), kMask24, Ip(192, 168, 20, 0),
                          kMask24);
  auto sent = IdsForPolicy(p);
  ASSERT_TRUE(sent.ok());
  auto a = CheckReplyIds(*sent, sent->idci, sent->idcr, kRouterA, kRouterB);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->local.ToString(), "192.168.10.0/24");
  EXPECT_EQ(a->remote.ToString(), "192.168.20.0/24");
  a = CheckReplyIds(*sent, Subnet(Ip(192, 168, 10, 0), kMask24),
                    Subnet(Ip(192, 168, 0, 0), 0xffff0000u), kRouterA, kRouterB);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(NotifyFor(a.status()), NotifyType::kInvalidIdInformation);
  EXPECT_EQ(a.status().message(),
            "the responder returned IDs 192.168.10.0/24 / 192.168.0.0/16 outside "
            "192.168.10.0/24 / 192.168.20.0/24");
  // No IDs in the reply: the two addresses, which are not inside these LANs.
  a = CheckReplyIds(*sent, std::nullopt, std::nullopt, kRouterA, kRouterB);
  ASSERT_FALSE(a.ok());
  // Host to host without IDs is fine.
  Phase2Policy t = Policy("t", kRouterB, kRouterA, kHost, kRouterB, kHost);
  sent = IdsForPolicy(t);
  ASSERT_TRUE(sent.ok());
  a = CheckReplyIds(*sent, std::nullopt, std::nullopt, kRouterA, kRouterB);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->remote, HostSelector(kRouterB));
}

}  // namespace
}  // namespace arsec::ike
