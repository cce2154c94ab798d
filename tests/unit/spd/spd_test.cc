// spd_test: the SPD classifier (dataplane/ipsec/spd.cc) on a no-hugepage EAL.
// Hand-written cases pin down the AR410 semantics (first match in creation order,
// implicit DENY-all, ports only with TCP/UDP, masks, protocol ANY, the inbound swap);
// randomised rule sets of 1..1000 overlapping rules are held against the linear
// reference matcher (spd_reference.h) on 10^5 boundary-biased packets per set and
// direction; a 10,000-rule set reports its build time and memory.
#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_tcp.h>
#include <rte_vect.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "dataplane/ipsec/spd.h"
#include "dataplane/ipsec/spd_reference.h"

namespace arsec::dp {
namespace {

constexpr uint32_t Ip(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  return a << 24 | b << 16 | c << 8 | d;
}
constexpr uint32_t Mask(int len) { return len == 0 ? 0 : ~0u << (32 - len); }

SpdKey Key(uint8_t proto, uint32_t src, uint32_t dst, uint16_t sport = 0, uint16_t dport = 0) {
  SpdKey k;
  SpdKeyFill(&k, proto, rte_cpu_to_be_32(src), rte_cpu_to_be_32(dst), rte_cpu_to_be_16(sport),
             rte_cpu_to_be_16(dport));
  return k;
}

uint32_t One(const SpdTable& t, uint32_t ifindex, SpdDir dir, const SpdKey& k) {
  const uint8_t* p = reinterpret_cast<const uint8_t*>(&k);
  uint32_t r = 0xdeadbeef;
  t.Classify(ifindex, dir, &p, 1, &r);
  return r;
}

// The hand-written cases run once on rte_acl and once on the linear path.
uint32_t g_linear_max = 0;

std::unique_ptr<SpdTable> MustBuild(const std::vector<SpdRule>& rules,
                                    SpdBuildOptions opt = {}) {
  opt.linear_max_rules = g_linear_max;
  auto t = SpdTable::Build(rules, opt);
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? std::move(*t) : nullptr;
}

SpdRule R(SpdAction a, uint32_t policy, uint32_t laddr, int llen, uint32_t raddr = 0,
          int rlen = 0, uint32_t ifindex = 0) {
  SpdRule r;
  r.ifindex = ifindex;
  r.action = a;
  r.policy = policy;
  r.laddr = laddr;
  r.lmask = Mask(llen);
  r.raddr = raddr;
  r.rmask = Mask(rlen);
  return r;
}

constexpr uint32_t kPermit0 = SpdResultMake(SpdAction::kPermit, 0);

class Spd : public ::testing::TestWithParam<uint32_t> {
 protected:
  void SetUp() override { g_linear_max = GetParam(); }
  void TearDown() override { g_linear_max = 0; }
};

TEST(SpdResult, Encoding) {
  uint32_t r = SpdResultMake(SpdAction::kIpsec, 12345);
  EXPECT_EQ(SpdResultAction(r), SpdAction::kIpsec);
  EXPECT_EQ(SpdResultPolicy(r), 12345u);
  EXPECT_EQ(SpdResultAction(kSpdResultNoSpd), SpdAction::kPermit);
  EXPECT_EQ(SpdResultAction(kSpdResultImplicitDeny), SpdAction::kDeny);
  EXPECT_NE(kSpdResultNoSpd, 0u);  // 0 is rte_acl's "no match"
}

TEST_P(Spd, FirstMatchWins) {
  const uint32_t host = Ip(10, 1, 2, 3);
  auto t = MustBuild({R(SpdAction::kPermit, 0, Ip(10, 0, 0, 0), 8),
                      R(SpdAction::kDeny, 1, Ip(10, 1, 0, 0), 16)});
  EXPECT_EQ(One(*t, 0, SpdDir::kOutbound, Key(6, host, Ip(1, 1, 1, 1))), kPermit0);
  // Same rules the other way round: the narrower DENY now comes first.
  t = MustBuild({R(SpdAction::kDeny, 1, Ip(10, 1, 0, 0), 16),
                 R(SpdAction::kPermit, 0, Ip(10, 0, 0, 0), 8)});
  EXPECT_EQ(One(*t, 0, SpdDir::kOutbound, Key(6, host, Ip(1, 1, 1, 1))),
            SpdResultMake(SpdAction::kDeny, 1));
  EXPECT_EQ(One(*t, 0, SpdDir::kOutbound, Key(6, Ip(10, 2, 0, 1), Ip(1, 1, 1, 1))), kPermit0);
  // Many identical rules: the first one's policy id comes back.
  std::vector<SpdRule> same;
  for (uint32_t i = 0; i < 50; ++i) same.push_back(R(SpdAction::kIpsec, 100 + i, 0, 0));
  t = MustBuild(same);
  EXPECT_EQ(One(*t, 0, SpdDir::kInbound, Key(17, host, host, 1, 2)),
            SpdResultMake(SpdAction::kIpsec, 100));
}

TEST_P(Spd, ImplicitDenyAndNoSpd) {
  auto t = MustBuild({R(SpdAction::kIpsec, 7, Ip(192, 168, 10, 0), 24, Ip(192, 168, 20, 0), 24,
                        /*ifindex=*/2)});
  SpdKey in = Key(1, Ip(192, 168, 10, 1), Ip(192, 168, 20, 1));
  SpdKey miss = Key(1, Ip(192, 168, 11, 1), Ip(192, 168, 20, 1));
  EXPECT_EQ(One(*t, 2, SpdDir::kOutbound, in), SpdResultMake(SpdAction::kIpsec, 7));
  EXPECT_EQ(One(*t, 2, SpdDir::kOutbound, miss), kSpdResultImplicitDeny);
  // Interfaces 0, 1 (below the highest) and 9 (beyond it) have no SPD.
  for (uint32_t ifx : {0u, 1u, 9u}) {
    EXPECT_FALSE(t->HasSpd(ifx));
    EXPECT_EQ(t->Find(ifx, SpdDir::kOutbound), nullptr);
    EXPECT_EQ(One(*t, ifx, SpdDir::kOutbound, miss), kSpdResultNoSpd);
    EXPECT_EQ(One(*t, ifx, SpdDir::kInbound, miss), kSpdResultNoSpd);
  }
  EXPECT_TRUE(t->HasSpd(2));
  EXPECT_EQ(t->num_contexts(), 2u);
  // An empty policy list: no SPD anywhere.
  t = MustBuild({});
  EXPECT_EQ(One(*t, 0, SpdDir::kOutbound, miss), kSpdResultNoSpd);
}

TEST_P(Spd, PortsOnlyWithTcpUdp) {
  SpdRule r = R(SpdAction::kPermit, 0, 0, 0);
  r.lport_lo = r.lport_hi = 80;
  for (int16_t proto : {kSpdAnyProto, int16_t{1}, int16_t{50}}) {
    r.proto = proto;
    auto t = SpdTable::Build({r});
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << proto;
    EXPECT_NE(t.status().message().find("rule 0"), std::string::npos) << t.status();
  }
  r.proto = kSpdProtoTcp;
  SpdRule u = r;
  u.proto = kSpdProtoUdp;
  u.lport_lo = u.lport_hi = 53;
  u.rport_lo = 1000;
  u.rport_hi = 2000;
  u.policy = 1;
  auto t = MustBuild({r, u});
  const uint32_t a = Ip(1, 2, 3, 4), b = Ip(5, 6, 7, 8);
  EXPECT_EQ(One(*t, 0, SpdDir::kOutbound, Key(6, a, b, 80, 9)), kPermit0);
  EXPECT_EQ(One(*t, 0, SpdDir::kOutbound, Key(6, a, b, 81, 9)), kSpdResultImplicitDeny);
  EXPECT_EQ(One(*t, 0, SpdDir::kOutbound, Key(6, a, b, 9, 80)), kSpdResultImplicitDeny);
  EXPECT_EQ(One(*t, 0, SpdDir::kOutbound, Key(17, a, b, 80, 9)), kSpdResultImplicitDeny);
  uint32_t udp1 = SpdResultMake(SpdAction::kPermit, 1);
  EXPECT_EQ(One(*t, 0, SpdDir::kOutbound, Key(17, a, b, 53, 1000)), udp1);
  EXPECT_EQ(One(*t, 0, SpdDir::kOutbound, Key(17, a, b, 53, 2000)), udp1);
  EXPECT_EQ(One(*t, 0, SpdDir::kOutbound, Key(17, a, b, 53, 999)), kSpdResultImplicitDeny);
  EXPECT_EQ(One(*t, 0, SpdDir::kOutbound, Key(17, a, b, 53, 2001)), kSpdResultImplicitDeny);
  // A port-less protocol whose following bytes happen to read as port 80 is not TCP.
  EXPECT_EQ(One(*t, 0, SpdDir::kOutbound, Key(1, a, b, 80, 9)), kSpdResultImplicitDeny);
  // Rules without port selectors ignore whatever the port bytes hold.
  t = MustBuild({R(SpdAction::kPermit, 0, 0, 0)});
  EXPECT_EQ(One(*t, 0, SpdDir::kOutbound, Key(1, a, b, 0xabcd, 0x1234)), kPermit0);
  SpdRule bad = r;
  bad.lport_lo = 90;  // 90..80
  EXPECT_EQ(SpdTable::Build({bad}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(Spd, Masks) {
  auto t = MustBuild({R(SpdAction::kIpsec, 0, Ip(192, 168, 10, 77), 24),  // host bits ignored
                      R(SpdAction::kDeny, 1, Ip(192, 168, 11, 5), 32),
                      R(SpdAction::kPermit, 2, Ip(192, 168, 8, 0), 22, Ip(203, 0, 113, 0), 25)});
  const uint32_t d = Ip(203, 0, 113, 1);
  auto out = [&](uint32_t src, uint32_t dst) {
    return One(*t, 0, SpdDir::kOutbound, Key(6, src, dst));
  };
  EXPECT_EQ(out(Ip(192, 168, 10, 0), d), SpdResultMake(SpdAction::kIpsec, 0));
  EXPECT_EQ(out(Ip(192, 168, 10, 255), d), SpdResultMake(SpdAction::kIpsec, 0));
  EXPECT_EQ(out(Ip(192, 168, 11, 5), d), SpdResultMake(SpdAction::kDeny, 1));
  EXPECT_EQ(out(Ip(192, 168, 11, 4), d), SpdResultMake(SpdAction::kPermit, 2));
  EXPECT_EQ(out(Ip(192, 168, 11, 6), d), SpdResultMake(SpdAction::kPermit, 2));
  EXPECT_EQ(out(Ip(192, 168, 8, 0), Ip(203, 0, 113, 127)), SpdResultMake(SpdAction::kPermit, 2));
  EXPECT_EQ(out(Ip(192, 168, 8, 0), Ip(203, 0, 113, 128)), kSpdResultImplicitDeny);
  EXPECT_EQ(out(Ip(192, 168, 12, 0), d), kSpdResultImplicitDeny);
  EXPECT_EQ(out(Ip(192, 168, 7, 255), d), kSpdResultImplicitDeny);
  SpdRule holes = R(SpdAction::kPermit, 0, Ip(10, 0, 0, 0), 8);
  holes.lmask = 0xff00ff00;
  EXPECT_EQ(SpdTable::Build({holes}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(Spd, ProtocolAny) {
  SpdRule esp = R(SpdAction::kPermit, 0, Ip(10, 0, 0, 1), 32);
  esp.proto = 50;
  SpdRule any = R(SpdAction::kIpsec, 1, Ip(10, 0, 0, 1), 32);
  auto t = MustBuild({esp, any});
  for (int p = 0; p < 256; ++p) {
    uint32_t want = p == 50 ? kPermit0 : SpdResultMake(SpdAction::kIpsec, 1);
    EXPECT_EQ(One(*t, 0, SpdDir::kOutbound,
                  Key(static_cast<uint8_t>(p), Ip(10, 0, 0, 1), Ip(9, 9, 9, 9), 7, 7)),
              want)
        << p;
  }
  esp.proto = 256;
  EXPECT_FALSE(SpdTable::Build({esp}).ok());
}

TEST_P(Spd, InboundSwapsLocalAndRemote) {
  SpdRule r = R(SpdAction::kIpsec, 3, Ip(192, 168, 10, 0), 24, Ip(192, 168, 20, 0), 24);
  r.proto = kSpdProtoTcp;
  r.lport_lo = r.lport_hi = 22;
  auto t = MustBuild({r});
  const uint32_t lan = Ip(192, 168, 10, 5), far = Ip(192, 168, 20, 9);
  const uint32_t hit = SpdResultMake(SpdAction::kIpsec, 3);
  // Outbound: the packet's source is local.
  EXPECT_EQ(One(*t, 0, SpdDir::kOutbound, Key(6, lan, far, 22, 1234)), hit);
  EXPECT_EQ(One(*t, 0, SpdDir::kOutbound, Key(6, far, lan, 1234, 22)), kSpdResultImplicitDeny);
  // Inbound: its destination is local; the caller passes the fields as they are.
  EXPECT_EQ(One(*t, 0, SpdDir::kInbound, Key(6, far, lan, 1234, 22)), hit);
  EXPECT_EQ(One(*t, 0, SpdDir::kInbound, Key(6, lan, far, 22, 1234)), kSpdResultImplicitDeny);
  EXPECT_EQ(One(*t, 0, SpdDir::kInbound, Key(6, far, lan, 22, 1234)), kSpdResultImplicitDeny);
}

TEST_P(Spd, ClassifiesStraightFromThePacket) {
  alignas(8) uint8_t buf[64] = {};
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(buf);
  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->next_proto_id = IPPROTO_TCP;
  ip->hdr_checksum = 0xffff;
  ip->src_addr = rte_cpu_to_be_32(Ip(192, 168, 10, 5));
  ip->dst_addr = rte_cpu_to_be_32(Ip(198, 51, 100, 7));
  auto* tcp = reinterpret_cast<rte_tcp_hdr*>(ip + 1);
  tcp->src_port = rte_cpu_to_be_16(40000);
  tcp->dst_port = rte_cpu_to_be_16(443);
  SpdRule r = R(SpdAction::kIpsec, 9, Ip(192, 168, 10, 0), 24, Ip(198, 51, 100, 0), 24);
  r.proto = kSpdProtoTcp;
  r.rport_lo = r.rport_hi = 443;
  auto t = MustBuild({r});
  const uint8_t* p = &ip->next_proto_id;
  uint32_t res = 0;
  t->Classify(0, SpdDir::kOutbound, &p, 1, &res);
  EXPECT_EQ(res, SpdResultMake(SpdAction::kIpsec, 9));
}

TEST_P(Spd, BuildErrorsAndLimits) {
  SpdBuildOptions opt;
  opt.max_rules_per_interface = 10;
  std::vector<SpdRule> rules(11, R(SpdAction::kPermit, 0, 0, 0));
  auto t = SpdTable::Build(rules, opt);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kResourceExhausted) << t.status();
  rules.back().ifindex = 1;  // 10 + 1: within the limit per interface
  EXPECT_TRUE(SpdTable::Build(rules, opt).ok());
  SpdRule r = R(SpdAction::kPermit, 0, 0, 0);
  r.ifindex = opt.max_interfaces;
  EXPECT_EQ(SpdTable::Build({r}).status().code(), absl::StatusCode::kInvalidArgument);
  r = R(SpdAction::kPermit, kSpdMaxPolicy + 1, 0, 0);
  EXPECT_EQ(SpdTable::Build({r}).status().code(), absl::StatusCode::kInvalidArgument);
  r = R(static_cast<SpdAction>(0), 0, 0, 0);
  EXPECT_EQ(SpdTable::Build({r}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(SpdValidateRule(R(SpdAction::kDeny, kSpdMaxPolicy, 0, 0)).ok());
}

TEST(SpdAcl, TablesAreIndependentAndNamedPerBuild) {
  std::vector<SpdRule> a = {R(SpdAction::kPermit, 1, Ip(10, 0, 0, 0), 8)};
  std::vector<SpdRule> b = {R(SpdAction::kDeny, 2, Ip(10, 0, 0, 0), 8)};
  auto ta = MustBuild(a);
  auto tb = MustBuild(b);
  auto tc = MustBuild(a);  // same rules again: must still be a separate context
  ASSERT_TRUE(ta && tb && tc);
  EXPECT_NE(ta->generation(), tb->generation());
  EXPECT_NE(ta->Find(0, SpdDir::kOutbound)->ctx(), tc->Find(0, SpdDir::kOutbound)->ctx());
  SpdKey k = Key(6, Ip(10, 1, 1, 1), Ip(1, 1, 1, 1));
  EXPECT_EQ(One(*ta, 0, SpdDir::kOutbound, k), SpdResultMake(SpdAction::kPermit, 1));
  EXPECT_EQ(One(*tb, 0, SpdDir::kOutbound, k), SpdResultMake(SpdAction::kDeny, 2));
  ta.reset();  // destroying one table leaves the others intact
  EXPECT_EQ(One(*tb, 0, SpdDir::kOutbound, k), SpdResultMake(SpdAction::kDeny, 2));
  EXPECT_EQ(One(*tc, 0, SpdDir::kOutbound, k), SpdResultMake(SpdAction::kPermit, 1));
  // Build and destroy many times: no contexts leak (rte_acl_find_existing finds none).
  char name[RTE_ACL_NAMESIZE];
  for (int i = 0; i < 200; ++i) MustBuild(a);
  snprintf(name, sizeof(name), "spd%x_%llx_0o", static_cast<unsigned>(getpid()),
           static_cast<unsigned long long>(tc->generation() + 100));
  EXPECT_EQ(rte_acl_find_existing(name), nullptr);
  snprintf(name, sizeof(name), "spd%x_%llx_0o", static_cast<unsigned>(getpid()),
           static_cast<unsigned long long>(tc->generation()));
  EXPECT_EQ(rte_acl_find_existing(name), tc->Find(0, SpdDir::kOutbound)->ctx());
}

TEST_P(Spd, OneDirectionOnlyFailsClosedForTheOther) {
  SpdBuildOptions opt;
  opt.inbound = false;
  auto t = MustBuild({R(SpdAction::kPermit, 0, 0, 0)}, opt);
  SpdKey k = Key(6, 1, 2);
  EXPECT_EQ(One(*t, 0, SpdDir::kOutbound, k), kPermit0);
  EXPECT_EQ(t->Find(0, SpdDir::kInbound), nullptr);
  EXPECT_EQ(One(*t, 0, SpdDir::kInbound, k), kSpdResultImplicitDeny);
}

INSTANTIATE_TEST_SUITE_P(Paths, Spd, ::testing::Values(0u, 1000u),
                         [](const auto& info) { return info.param ? "Linear" : "Acl"; });

// ---- randomised: ACL vs reference --------------------------------------------------

constexpr uint32_t kIfaces = 3;  // rules on 0..2; 3 has no SPD

struct Gen {
  std::mt19937_64 rng;
  explicit Gen(uint64_t seed) : rng(seed) {}
  uint32_t U(uint32_t n) { return static_cast<uint32_t>(rng() % n); }
  bool P(double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; }

  // A few bases so that prefixes nest and overlap, plus the odd random address.
  uint32_t Addr() {
    static const uint32_t kBases[] = {Ip(10, 0, 0, 0),      Ip(10, 1, 0, 0),
                                      Ip(10, 1, 2, 0),      Ip(192, 168, 10, 0),
                                      Ip(192, 168, 20, 0),  Ip(203, 0, 113, 0),
                                      Ip(0, 0, 0, 0),       Ip(255, 255, 255, 255)};
    if (P(0.15)) return static_cast<uint32_t>(rng());
    uint32_t host_bits = 8 * U(3);  // vary the low 0, 8 or 16 bits
    return kBases[U(8)] ^ (static_cast<uint32_t>(rng()) & ((1u << host_bits) - 1));
  }
  int Len() {
    static const int kLens[] = {0, 8, 12, 16, 20, 23, 24, 25, 28, 30, 31, 32};
    return P(0.2) ? static_cast<int>(U(33)) : kLens[U(12)];
  }
  uint16_t Port() {
    static const uint16_t kPorts[] = {0, 1, 22, 80, 443, 500, 1023, 1024, 4500, 65534, 65535};
    return P(0.3) ? static_cast<uint16_t>(rng()) : kPorts[U(11)];
  }
  void Ports(uint16_t* lo, uint16_t* hi) {
    uint32_t k = U(10);
    if (k < 5) {
      *lo = 0, *hi = 0xffff;
    } else if (k < 8) {
      *lo = *hi = Port();
    } else {
      uint16_t a = Port(), b = Port();
      *lo = std::min(a, b), *hi = std::max(a, b);
    }
  }
  SpdRule Rule(uint32_t policy) {
    SpdRule r;
    r.ifindex = U(kIfaces);
    r.action = static_cast<SpdAction>(1 + U(3));
    r.policy = policy;
    r.lmask = P(0.15) ? 0 : Mask(Len());
    r.laddr = Addr();
    r.rmask = P(0.3) ? 0 : Mask(Len());
    r.raddr = Addr();
    uint32_t k = U(20);
    r.proto = k < 8 ? kSpdAnyProto : k < 13 ? 6 : k < 17 ? 17 : k < 18 ? 1 : k < 19 ? 50
                                                                         : static_cast<int16_t>(U(256));
    if (r.proto == 6 || r.proto == 17) {
      Ports(&r.lport_lo, &r.lport_hi);
      Ports(&r.rport_lo, &r.rport_hi);
    }
    return r;
  }
  // A value near an edge of [base, base | ~mask].
  uint32_t Near(uint32_t addr, uint32_t mask) {
    uint32_t lo = addr & mask, hi = lo | ~mask;
    switch (U(7)) {
      case 0: return lo;
      case 1: return hi;
      case 2: return lo - 1;
      case 3: return hi + 1;
      case 4: return lo | (static_cast<uint32_t>(rng()) & ~mask);
      case 5: return addr ^ (1u << U(32));
      default: return static_cast<uint32_t>(rng());
    }
  }
  uint16_t NearPort(uint16_t lo, uint16_t hi) {
    switch (U(7)) {
      case 0: return lo;
      case 1: return hi;
      case 2: return static_cast<uint16_t>(lo - 1);
      case 3: return static_cast<uint16_t>(hi + 1);
      case 4: return static_cast<uint16_t>(lo + U(hi - lo + 1u));
      case 5: return Port();
      default: return static_cast<uint16_t>(rng());
    }
  }
  struct Pkt {
    uint32_t ifindex;
    SpdDir dir;
    SpdKey key;
  };
  Pkt Packet(const std::vector<SpdRule>& rules) {
    Pkt p;
    p.dir = P(0.5) ? SpdDir::kOutbound : SpdDir::kInbound;
    uint8_t proto;
    uint32_t l, r;
    uint16_t lp, rp;
    if (!rules.empty() && P(0.85)) {
      const SpdRule& x = rules[U(static_cast<uint32_t>(rules.size()))];
      p.ifindex = P(0.9) ? x.ifindex : U(kIfaces + 1);
      proto = x.proto == kSpdAnyProto || P(0.1) ? static_cast<uint8_t>(P(0.5) ? 6 : U(256))
                                                : static_cast<uint8_t>(x.proto);
      l = Near(x.laddr, x.lmask);
      r = Near(x.raddr, x.rmask);
      lp = NearPort(x.lport_lo, x.lport_hi);
      rp = NearPort(x.rport_lo, x.rport_hi);
    } else {
      p.ifindex = U(kIfaces + 1);
      proto = static_cast<uint8_t>(P(0.6) ? (P(0.5) ? 6 : 17) : U(256));
      l = Addr();
      r = Addr();
      lp = Port();
      rp = Port();
    }
    bool out = p.dir == SpdDir::kOutbound;
    p.key = Key(proto, out ? l : r, out ? r : l, out ? lp : rp, out ? rp : lp);
    return p;
  }
};

// Classifies `pkts` through `t` in bursts of varying size (grouped per interface and
// direction, as the dataplane will) and compares every result with the reference.
void CheckAgainstReference(const SpdTable& t, const SpdReference& ref,
                           const std::vector<Gen::Pkt>& pkts, const char* what) {
  size_t mismatches = 0;
  uint64_t by_action[4] = {};
  std::mt19937 rng(1);
  std::vector<const uint8_t*> ptrs;
  std::vector<size_t> idx;
  std::vector<uint32_t> res;
  for (size_t i = 0; i < pkts.size();) {
    size_t burst = 1 + rng() % 64;
    size_t end = std::min(pkts.size(), i + burst);
    for (uint32_t ifx = 0; ifx <= kIfaces; ++ifx) {
      for (SpdDir dir : {SpdDir::kOutbound, SpdDir::kInbound}) {
        ptrs.clear();
        idx.clear();
        for (size_t j = i; j < end; ++j) {
          if (pkts[j].ifindex == ifx && pkts[j].dir == dir) {
            ptrs.push_back(reinterpret_cast<const uint8_t*>(&pkts[j].key));
            idx.push_back(j);
          }
        }
        res.assign(ptrs.size(), 0);
        t.Classify(ifx, dir, ptrs.data(), static_cast<uint32_t>(ptrs.size()), res.data());
        for (size_t k = 0; k < idx.size(); ++k) {
          const Gen::Pkt& p = pkts[idx[k]];
          uint32_t want = ref.Classify(p.ifindex, p.dir, p.key);
          ++by_action[static_cast<unsigned>(SpdResultAction(want)) & 3];
          if (res[k] != want && ++mismatches <= 5) {
            ADD_FAILURE() << what << ": packet " << idx[k] << " if " << p.ifindex << " dir "
                          << static_cast<int>(p.dir) << " proto " << int{p.key.proto}
                          << " src " << std::hex << rte_be_to_cpu_32(p.key.src) << " dst "
                          << rte_be_to_cpu_32(p.key.dst) << std::dec << " sport "
                          << rte_be_to_cpu_16(p.key.sport) << " dport "
                          << rte_be_to_cpu_16(p.key.dport) << ": acl " << std::hex << res[k]
                          << " ref " << want;
          }
        }
      }
    }
    i = end;
  }
  EXPECT_EQ(mismatches, 0u) << what;
  printf("  %-28s %zu packets: permit %lu deny %lu ipsec %lu, mismatches %zu\n", what,
         pkts.size(), by_action[1], by_action[2], by_action[3], mismatches);
}

// (rules, linear_max_rules): 0 = all rte_acl, 8 = the default mix, 100000 = all linear.
class SpdRandom : public ::testing::TestWithParam<std::tuple<uint32_t, uint32_t>> {};

TEST_P(SpdRandom, MatchesReference) {
  const auto [n_rules, linear_max] = GetParam();
  SpdBuildOptions opt;
  opt.linear_max_rules = linear_max;
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    Gen g(seed * 1000003 + n_rules);
    std::vector<SpdRule> rules;
    for (uint32_t i = 0; i < n_rules; ++i) rules.push_back(g.Rule(i));
    auto t0 = std::chrono::steady_clock::now();
    auto tt = SpdTable::Build(rules, opt);
    ASSERT_TRUE(tt.ok()) << tt.status();
    auto t = std::move(*tt);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                    .count();
    ASSERT_TRUE(t);
    SpdReference ref(rules);
    std::vector<Gen::Pkt> pkts;
    const size_t n_pkts = seed == 1 ? 100000 : 20000;
    for (size_t i = 0; i < n_pkts; ++i) pkts.push_back(g.Packet(rules));
    std::string what = std::to_string(n_rules) + " rules, lin " + std::to_string(linear_max) +
                       ", seed " + std::to_string(seed);
    printf("  build %.1f ms\n", ms);
    CheckAgainstReference(*t, ref, pkts, what.c_str());
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, SpdRandom,
                         ::testing::Combine(::testing::Values(1u, 10u, 100u, 1000u),
                                            ::testing::Values(0u, 8u, 100000u)));

// Every classify implementation this CPU and EAL allow gives the same answers.
TEST(SpdRandomAlg, AllImplementationsAgree) {
  Gen g(77);
  std::vector<SpdRule> rules;
  for (uint32_t i = 0; i < 300; ++i) rules.push_back(g.Rule(i));
  SpdReference ref(rules);
  std::vector<Gen::Pkt> pkts;
  for (int i = 0; i < 20000; ++i) pkts.push_back(g.Packet(rules));
  const std::pair<enum rte_acl_classify_alg, const char*> algs[] = {
      {RTE_ACL_CLASSIFY_SCALAR, "scalar"},        {RTE_ACL_CLASSIFY_SSE, "sse"},
      {RTE_ACL_CLASSIFY_AVX2, "avx2"},            {RTE_ACL_CLASSIFY_AVX512X16, "avx512x16"},
      {RTE_ACL_CLASSIFY_AVX512X32, "avx512x32"}};
  int tried = 0;
  for (auto [alg, name] : algs) {
    SpdBuildOptions opt;
    opt.alg = alg;
    opt.alg_strict = true;
    opt.large_min_rules = UINT32_MAX;
    opt.linear_max_rules = 0;
    auto t = SpdTable::Build(rules, opt);
    if (!t.ok()) {
      EXPECT_EQ(t.status().code(), absl::StatusCode::kFailedPrecondition) << t.status();
      printf("  %s: not available (%s)\n", name, std::string(t.status().message()).c_str());
      continue;
    }
    ++tried;
    CheckAgainstReference(**t, ref, pkts, name);
  }
  EXPECT_GE(tried, 2);
}

size_t HeapBytes() {
  size_t total = 0;
  for (unsigned s = 0; s < rte_socket_count(); ++s) {
    rte_malloc_socket_stats st{};
    if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(s), &st) == 0) {
      total += st.heap_allocsz_bytes;
    }
  }
  return total;
}

void BuildLarge(const char* what, const std::vector<SpdRule>& rules, Gen* g) {
  size_t before = HeapBytes();
  auto t0 = std::chrono::steady_clock::now();
  SpdBuildOptions opt;
  opt.linear_max_rules = 0;
  auto t = SpdTable::Build(rules, opt);
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(t.ok()) << t.status();
  size_t after = HeapBytes();
  printf("  %s: %zu rules, %u contexts, build %.0f ms, rte_malloc memory %.1f MiB\n", what,
         rules.size(), (*t)->num_contexts(), ms, (after - before) / 1048576.0);
  ::testing::Test::RecordProperty(std::string(what) + "_build_ms", static_cast<int>(ms));
  ::testing::Test::RecordProperty(std::string(what) + "_bytes", static_cast<int>(after - before));
  SpdReference ref(rules);
  std::vector<Gen::Pkt> pkts;
  for (int i = 0; i < 20000; ++i) pkts.push_back(g->Packet(rules));
  CheckAgainstReference(**t, ref, pkts, what);
  t->reset();
  EXPECT_LE(HeapBytes(), before + 4096) << "memory not returned";
}

TEST(SpdMemory, BuildAndDestroyReturnEverything) {
  Gen g(5);
  std::vector<SpdRule> rules;
  for (uint32_t i = 0; i < 40; ++i) rules.push_back(g.Rule(i));
  size_t before = HeapBytes();
  for (uint32_t lin : {0u, 8u, 1000u}) {
    SpdBuildOptions opt;
    opt.linear_max_rules = lin;
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(SpdTable::Build(rules, opt).ok());
  }
  EXPECT_EQ(HeapBytes(), before);
}

// The benchmark case: 10,000 site-to-site policies on one interface (LAN /24 or /28
// to remote /24 or /32, a fifth of them narrowed to TCP/UDP ports).
TEST(SpdLarge, TenThousandSiteToSite) {
  Gen g(4242);
  std::vector<SpdRule> rules;
  for (uint32_t i = 0; i < 10000; ++i) {
    SpdRule r;
    r.ifindex = 0;
    r.action = i % 10 == 9 ? SpdAction::kDeny : i % 10 == 8 ? SpdAction::kPermit
                                                             : SpdAction::kIpsec;
    r.policy = i;
    r.laddr = Ip(10, (i >> 8) & 0xff, i & 0xff, 0);
    r.lmask = Mask(g.P(0.8) ? 24 : 28);
    r.raddr = Ip(172, 16 + (i & 0xf), static_cast<uint32_t>(g.U(256)), g.P(0.5) ? 0 : g.U(256));
    r.rmask = Mask(g.P(0.5) ? 24 : 32);
    if (g.P(0.2)) {
      r.proto = g.P(0.5) ? kSpdProtoTcp : kSpdProtoUdp;
      r.rport_lo = r.rport_hi = g.Port();
    }
    rules.push_back(r);
  }
  BuildLarge("10k site-to-site", rules, &g);
}

// The hard case for a trie: 10,000 random, heavily overlapping rules on 3 interfaces.
TEST(SpdLarge, TenThousandRandomOverlapping) {
  Gen g(999);
  std::vector<SpdRule> rules;
  for (uint32_t i = 0; i < 10000; ++i) rules.push_back(g.Rule(i));
  BuildLarge("10k random overlapping", rules, &g);
}

}  // namespace
}  // namespace arsec::dp

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  std::string prefix = "spd-test-" + std::to_string(getpid());
  // 512-bit SIMD is allowed so that the AVX-512 classify paths can be tested too.
  const char* eal[] = {"spd_test", "--no-huge", "-m", "512", "--no-pci", "--file-prefix",
                       prefix.c_str(), "--log-level=error", "--force-max-simd-bitwidth=512"};
  int n = static_cast<int>(sizeof(eal) / sizeof(eal[0]));
  if (rte_eal_init(n, const_cast<char**>(eal)) < 0) {
    fprintf(stderr, "rte_eal_init failed\n");
    return 1;
  }
  int rc = RUN_ALL_TESTS();
  // EAL leaves its runtime directory (config, fbarray files) behind; it is ours alone.
  std::string run_dir = rte_eal_get_runtime_dir();
  rte_eal_cleanup();
  std::filesystem::remove_all(run_dir);
  return rc;
}
