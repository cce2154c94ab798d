// The dataplane's IPsec tables on a no-hugepage EAL (the EAL comes from fib_test.cc's
// environment): installing, replacing and removing SAs and policies, the inbound index
// by SPI and protocol, SPD staging and swap, lifetimes, the restart sweep that keeps
// an unchanged SA's sequence state, and the adoption of negotiated SAs by a restarted
// control plane (the keyless SA dump, SaKeep, an ISAKMP policy's bundle carried over).
#include "dataplane/ipsec/ipsec_tables.h"

#include <rte_byteorder.h>
#include <rte_cycles.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <tuple>
#include <vector>

#include "dataplane/crypto/ipsec_mb_engine.h"

namespace arsec::dp {
namespace {

msg::SaBody EspSa(uint32_t id, uint32_t spi, bool inbound) {
  msg::SaBody b{};
  b.sa_id = id;
  b.policy_id = 7;
  b.spi = spi;
  b.dir = inbound ? msg::kSaInbound : msg::kSaOutbound;
  b.proto = 50;
  b.mode = msg::kSaTunnel;
  b.cipher = static_cast<uint8_t>(crypto::CipherAlg::kAes128Cbc);
  b.auth = static_cast<uint8_t>(crypto::AuthAlg::kHmacSha1_96);
  b.antireplay = 1;
  b.replay_window = 64;
  b.cipher_key_len = 16;
  b.auth_key_len = 20;
  for (unsigned i = 0; i < 16; ++i) b.cipher_key[i] = static_cast<uint8_t>(i + 1);
  for (unsigned i = 0; i < 20; ++i) b.auth_key[i] = static_cast<uint8_t>(0x40 + i);
  b.tun_src = 0xc0000201;
  b.tun_dst = 0xc0000202;
  return b;
}

class IpsecTablesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto e = crypto::CreateIpsecMbEngine();
    ASSERT_TRUE(e.ok());
    engine_ = std::move(*e);
    IpsecTables::Options o;
    o.max_sa = 1024;
    o.max_policies = 256;
    o.n_workers = 1;
    auto t = IpsecTables::Create(o, nullptr, engine_.get());
    ASSERT_TRUE(t.ok()) << t.status();
    t_ = std::move(*t);
  }
  void TearDown() override { t_.reset(); }
  uint32_t Lookup(uint32_t spi, uint8_t proto) {
    uint64_t k = SpiKey(rte_cpu_to_be_32(spi), proto);
    uint32_t id = 0;
    t_->LookupInbound(&k, 1, &id);
    return id;
  }
  std::unique_ptr<crypto::CryptoEngine> engine_;
  std::unique_ptr<IpsecTables> t_;
};

TEST_F(IpsecTablesTest, InboundSaIsFoundBySpiAndProtocol) {
  ASSERT_TRUE(t_->AddSa(EspSa(3, 1000, true)).ok());
  ASSERT_TRUE(t_->AddSa(EspSa(2, 1001, false)).ok());
  EXPECT_EQ(Lookup(1000, 50), 3u);
  EXPECT_EQ(Lookup(1000, 51), msg::kNoSa);  // same SPI, AH: another SA space
  EXPECT_EQ(Lookup(1001, 50), msg::kNoSa);  // outbound SAs are not in the index
  const Sa* sa = t_->sa(3);
  ASSERT_NE(sa, nullptr);
  EXPECT_TRUE(sa->inbound);
  EXPECT_EQ(sa->spi_be, rte_cpu_to_be_32(1000));
  EXPECT_EQ(sa->iv_len, 16);
  EXPECT_EQ(sa->block_len, 16);
  EXPECT_EQ(sa->digest_len, 12);
  EXPECT_EQ(sa->tun_dst_be, rte_cpu_to_be_32(0xc0000202));
  EXPECT_EQ(sa->replay.window(), 64u);
  ASSERT_TRUE(t_->DelSa(3).ok());
  EXPECT_EQ(Lookup(1000, 50), msg::kNoSa);
  EXPECT_EQ(t_->sa(3), nullptr);
  EXPECT_FALSE(t_->DelSa(3).ok());
}

TEST_F(IpsecTablesTest, IpcompTunnelSaAlsoReceivesThePeersPlainIpInIp) {
  msg::SaBody b{};
  b.sa_id = 9;
  b.policy_id = 7;
  b.spi = 3;  // LZS's well-known CPI
  b.dir = msg::kSaInbound;
  b.proto = 108;
  b.mode = msg::kSaTunnel;
  b.comp = static_cast<uint8_t>(compress::IpcompAlg::kLzs);
  b.tun_src = 0xc0000202;  // the peer
  b.tun_dst = 0xc0000201;
  ASSERT_TRUE(t_->AddSa(b).ok());
  EXPECT_EQ(Lookup(3, 108), 9u);
  EXPECT_EQ(Lookup(0xc0000202, 4), 9u);  // (source, IP-in-IP)
  EXPECT_EQ(Lookup(0xc0000203, 4), msg::kNoSa);
  ASSERT_TRUE(t_->DelSa(9).ok());
  EXPECT_EQ(Lookup(0xc0000202, 4), msg::kNoSa);
  EXPECT_EQ(Lookup(3, 108), msg::kNoSa);
}

TEST_F(IpsecTablesTest, BadSasAreRefusedAndChangeNothing) {
  msg::SaBody b = EspSa(1, 500, true);
  b.cipher_key_len = 5;  // AES-128 needs 16
  EXPECT_FALSE(t_->AddSa(b).ok());
  EXPECT_EQ(t_->sa(1), nullptr);
  b = EspSa(5000, 500, true);  // id beyond capacity
  EXPECT_EQ(t_->AddSa(b).code(), absl::StatusCode::kOutOfRange);
  b = EspSa(1, 500, true);
  b.replay_window = 5000;
  EXPECT_FALSE(t_->AddSa(b).ok());
  b = EspSa(1, 500, true);
  b.proto = 17;
  EXPECT_FALSE(t_->AddSa(b).ok());
  b = EspSa(1, 500, true);
  b.proto = 51;
  b.auth = static_cast<uint8_t>(crypto::AuthAlg::kNull);
  EXPECT_FALSE(t_->AddSa(b).ok());
  EXPECT_EQ(Lookup(500, 50), msg::kNoSa);
}

TEST_F(IpsecTablesTest, ReassertingAnUnchangedSaKeepsItsSequenceState) {
  ASSERT_TRUE(t_->AddSa(EspSa(2, 1001, false)).ok());
  Sa* sa = t_->sa(2);
  ASSERT_NE(sa, nullptr);
  for (int i = 0; i < 5; ++i) sa->seq.Next();
  t_->SyncBegin();
  ASSERT_TRUE(t_->AddSa(EspSa(2, 1001, false)).ok());
  EXPECT_EQ(t_->SyncEnd(), 0u);
  EXPECT_EQ(t_->sa(2), sa);  // the same object: the counter goes on
  EXPECT_EQ(sa->seq.last(), 5u);
  // A changed SA (new key) is a new SA: its counter starts again.
  msg::SaBody b = EspSa(2, 1001, false);
  b.cipher_key[0] ^= 1;
  ASSERT_TRUE(t_->AddSa(b).ok());
  EXPECT_EQ(t_->sa(2)->seq.last(), 0u);
}

TEST_F(IpsecTablesTest, SyncEndRemovesWhatTheNewControlDidNotReassert) {
  ASSERT_TRUE(t_->AddSa(EspSa(2, 1001, false)).ok());
  ASSERT_TRUE(t_->AddSa(EspSa(3, 1000, true)).ok());
  msg::PolicyBody p{};
  p.policy_id = 7;
  p.action = 3;
  p.n_out = 1;
  p.out_sa[0] = 2;
  p.n_in = 1;
  p.in_sa[0] = 3;
  std::strcpy(p.name, "vpn");
  ASSERT_TRUE(t_->SetPolicy(p, 1).ok());
  t_->SyncBegin();
  ASSERT_TRUE(t_->AddSa(EspSa(2, 1001, false)).ok());
  EXPECT_EQ(t_->SyncEnd(), 2u);  // SA 3 and policy 7
  EXPECT_NE(t_->sa(2), nullptr);
  EXPECT_EQ(t_->sa(3), nullptr);
  EXPECT_EQ(t_->policy(7), nullptr);
  EXPECT_EQ(Lookup(1000, 50), msg::kNoSa);
}

TEST_F(IpsecTablesTest, PoliciesAreReplacedWhole) {
  msg::PolicyBody p{};
  p.policy_id = 4;
  p.action = 3;
  p.n_out = 2;
  p.out_sa[0] = 10;
  p.out_sa[1] = 11;
  p.peer = 0xc0000202;
  p.udp_heartbeat = 1;
  p.udp_port = 2746;
  std::strcpy(p.name, "vpn");
  ASSERT_TRUE(t_->SetPolicy(p, 1).ok());
  const PolicyRt* a = t_->policy(4);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->action, SpdAction::kIpsec);
  EXPECT_EQ(a->n_out, 2);
  EXPECT_EQ(a->out_sa[2], msg::kNoSa);
  EXPECT_STREQ(a->name, "vpn");
  EXPECT_EQ(t_->HeartbeatPolicies().size(), 1u);
  p.action = 1;
  p.udp_heartbeat = 0;
  ASSERT_TRUE(t_->SetPolicy(p, 1).ok());
  EXPECT_EQ(t_->policy(4)->action, SpdAction::kPermit);
  EXPECT_TRUE(t_->HeartbeatPolicies().empty());
  p.action = 9;
  EXPECT_FALSE(t_->SetPolicy(p, 1).ok());
  p.policy_id = 999;
  p.action = 1;
  EXPECT_FALSE(t_->SetPolicy(p, 1).ok());
  ASSERT_TRUE(t_->DelPolicy(4).ok());
  EXPECT_EQ(t_->policy(4), nullptr);
}

TEST_F(IpsecTablesTest, SpdIsStagedAndSwappedWhole) {
  EXPECT_EQ(t_->spd(), nullptr);
  t_->SetGlobal(true, 0);
  EXPECT_FALSE(t_->active());  // nothing to do yet
  t_->SpdBegin(2);
  SpdRule r;
  r.ifindex = 1;
  r.action = SpdAction::kIpsec;
  r.policy = 7;
  r.laddr = 0xc0a80a00;
  r.lmask = 0xffffff00;
  r.raddr = 0xc0a81400;
  r.rmask = 0xffffff00;
  ASSERT_TRUE(t_->SpdAdd(r).ok());
  EXPECT_FALSE(t_->SpdCommit().ok());  // one rule short: the old SPD stays
  EXPECT_EQ(t_->spd(), nullptr);
  t_->SpdBegin(2);
  ASSERT_TRUE(t_->SpdAdd(r).ok());
  r.action = SpdAction::kPermit;
  r.policy = 8;
  r.lmask = r.rmask = 0;
  ASSERT_TRUE(t_->SpdAdd(r).ok());
  EXPECT_FALSE(t_->SpdAdd(r).ok());  // more than announced
  ASSERT_TRUE(t_->SpdCommit().ok());
  const SpdTable* spd = t_->spd();
  ASSERT_NE(spd, nullptr);
  EXPECT_TRUE(t_->active());
  EXPECT_TRUE(spd->HasSpd(1));
  EXPECT_FALSE(spd->HasSpd(0));
  SpdKey k;
  SpdKeyFill(&k, 1, rte_cpu_to_be_32(0xc0a80a05), rte_cpu_to_be_32(0xc0a81405), 0, 0);
  const uint8_t* kp = reinterpret_cast<const uint8_t*>(&k);
  uint32_t res = 0;
  spd->Classify(1, SpdDir::kOutbound, &kp, 1, &res);
  EXPECT_EQ(SpdResultAction(res), SpdAction::kIpsec);
  EXPECT_EQ(SpdResultPolicy(res), 7u);
  SpdKeyFill(&k, 1, rte_cpu_to_be_32(0xc0a80a05), rte_cpu_to_be_32(0x08080808), 0, 0);
  spd->Classify(1, SpdDir::kOutbound, &kp, 1, &res);
  EXPECT_EQ(SpdResultAction(res), SpdAction::kPermit);
  // DISABLE IPSEC: nothing is active any more.
  t_->SetGlobal(false, 0);
  EXPECT_FALSE(t_->active());
  // An empty SPD removes the table.
  t_->SetGlobal(true, 2746);
  t_->SpdBegin(0);
  ASSERT_TRUE(t_->SpdCommit().ok());
  EXPECT_EQ(t_->spd(), nullptr);
  EXPECT_EQ(t_->udp_port_be(), rte_cpu_to_be_16(2746));
}

TEST_F(IpsecTablesTest, HardLifetimeRemovesTheSaAndSoftIsReportedOnce) {
  msg::SaBody b = EspSa(2, 1001, false);
  b.soft_kbytes = 1;
  b.hard_kbytes = 2;
  ASSERT_TRUE(t_->AddSa(b).ok());
  std::vector<std::tuple<uint32_t, bool, bool>> ev;
  auto report = [&](uint32_t sa, uint32_t, bool hard, bool by_bytes, uint64_t, uint32_t) {
    ev.emplace_back(sa, hard, by_bytes);
  };
  t_->Tick(rte_rdtsc(), report);
  EXPECT_TRUE(ev.empty());
  t_->sa_counters(0)[2].c[shm::kSa_bytes] = 1500;
  t_->Tick(rte_rdtsc(), report);
  t_->Tick(rte_rdtsc(), report);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0], std::make_tuple(2u, false, true));
  EXPECT_EQ(t_->sa(2)->state, static_cast<uint8_t>(SaState::kSoftExpired));
  t_->sa_counters(1)[2].c[shm::kSa_bytes] = 1000;  // the main lcore's block counts too
  t_->Tick(rte_rdtsc(), report);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[1], std::make_tuple(2u, true, true));
  EXPECT_EQ(t_->sa(2), nullptr);
}

// ---- adoption of negotiated SAs after a control-plane restart

msg::PolicyBody IsakmpPolicy(uint32_t id, const char* name, std::vector<uint32_t> sa_ids) {
  msg::PolicyBody p{};
  p.policy_id = id;
  p.action = 3;
  p.isakmp = 1;
  p.peer = 0xc0000202;
  std::snprintf(p.name, sizeof p.name, "%s", name);
  for (size_t i = 0; i < sa_ids.size(); ++i) {
    p.out_sa[i] = 2 * sa_ids[i];
    p.in_sa[i] = 2 * sa_ids[i] + 1;
  }
  p.n_out = p.n_in = static_cast<uint8_t>(sa_ids.size());
  return p;
}

std::vector<msg::SaDumpEntry> Dump(const IpsecTables& t) {
  std::vector<msg::SaDumpEntry> out;
  msg::SaPage page;
  uint32_t start = 0;
  for (;;) {
    std::memset(&page, 0xa5, sizeof page);
    t.DumpSas(start, &page);
    out.insert(out.end(), page.entries, page.entries + page.count);
    if (page.next == 0) return out;
    start = page.next;
  }
}

TEST_F(IpsecTablesTest, SaDumpDescribesEverySaWithoutKeys) {
  msg::SaBody out = EspSa(2, 0x1001, false);
  out.soft_seconds = 100;
  out.hard_seconds = 120;
  out.soft_kbytes = 4096;
  out.hard_kbytes = 8192;
  out.encap = msg::kEncapNatT;
  out.encap_sport = 4500;
  out.encap_dport = 4501;
  msg::SaBody in = EspSa(3, 0x2002, true);
  ASSERT_TRUE(t_->AddSa(out).ok());
  ASSERT_TRUE(t_->AddSa(in).ok());
  ASSERT_TRUE(t_->AddSa(EspSa(5, 0x3003, true)).ok());   // not in the policy's bundle
  ASSERT_TRUE(t_->SetPolicy(IsakmpPolicy(7, "vpn", {1}), 0).ok());
  t_->sa_counters(0)[2].c[shm::kSa_bytes] = 5000;
  t_->Tick(rte_rdtsc(), [](uint32_t, uint32_t, bool, bool, uint64_t, uint32_t) {});
  std::vector<msg::SaDumpEntry> d = Dump(*t_);
  ASSERT_EQ(d.size(), 3u);
  const msg::SaDumpEntry& o = d[0];
  EXPECT_EQ(o.sa_id, 2u);
  EXPECT_EQ(o.policy_id, 7u);
  EXPECT_EQ(o.spi, 0x1001u);
  EXPECT_EQ(o.dir, msg::kSaOutbound);
  EXPECT_EQ(o.proto, 50);
  EXPECT_EQ(o.mode, msg::kSaTunnel);
  EXPECT_EQ(o.cipher, static_cast<uint8_t>(crypto::CipherAlg::kAes128Cbc));
  EXPECT_EQ(o.auth, static_cast<uint8_t>(crypto::AuthAlg::kHmacSha1_96));
  EXPECT_EQ(o.encap, msg::kEncapNatT);
  EXPECT_EQ(o.encap_sport, 4500);
  EXPECT_EQ(o.encap_dport, 4501);
  EXPECT_EQ(o.tun_src, 0xc0000201u);
  EXPECT_EQ(o.tun_dst, 0xc0000202u);
  EXPECT_EQ(o.soft_seconds, 100u);
  EXPECT_EQ(o.hard_seconds, 120u);
  EXPECT_EQ(o.soft_kbytes, 4096u);
  EXPECT_EQ(o.hard_kbytes, 8192u);
  EXPECT_EQ(o.bytes, 5000u);
  EXPECT_EQ(o.state, 1);
  EXPECT_EQ(o.policy_isakmp, 1);
  EXPECT_EQ(o.bundle_pos, 0);
  EXPECT_STREQ(o.policy_name, "vpn");
  EXPECT_EQ(d[1].sa_id, 3u);
  EXPECT_EQ(d[1].dir, msg::kSaInbound);
  EXPECT_EQ(d[1].antireplay, 1);
  EXPECT_EQ(d[1].replay_window, 64);
  EXPECT_EQ(d[1].bundle_pos, 0);
  EXPECT_EQ(d[2].sa_id, 5u);
  EXPECT_EQ(d[2].bundle_pos, msg::kNotInBundle);
  // The dump entry has no room for keys; none of the key bytes shows up anywhere in it.
  const auto* raw = reinterpret_cast<const uint8_t*>(d.data());
  const size_t n = d.size() * sizeof(msg::SaDumpEntry);
  for (size_t i = 0; i + 4 <= n; ++i) {
    EXPECT_FALSE(raw[i] == 0x40 && raw[i + 1] == 0x41 && raw[i + 2] == 0x42 && raw[i + 3] == 0x43);
    EXPECT_FALSE(raw[i] == 1 && raw[i + 1] == 2 && raw[i + 2] == 3 && raw[i + 3] == 4);
  }
}

TEST_F(IpsecTablesTest, SaDumpIsPaged) {
  for (uint32_t i = 0; i < 40; ++i) ASSERT_TRUE(t_->AddSa(EspSa(10 + i, 0x5000 + i, i % 2)).ok());
  msg::SaPage page;
  t_->DumpSas(0, &page);
  EXPECT_EQ(page.count, msg::kSaDumpEntries);
  EXPECT_EQ(page.next, 10 + msg::kSaDumpEntries);
  const std::vector<msg::SaDumpEntry> all = Dump(*t_);
  ASSERT_EQ(all.size(), 40u);
  for (uint32_t i = 0; i < 40; ++i) EXPECT_EQ(all[i].sa_id, 10 + i);
}

TEST_F(IpsecTablesTest, KeptSasSurviveTheSweepAndTheOthersGo) {
  ASSERT_TRUE(t_->AddSa(EspSa(2, 0x1001, false)).ok());
  ASSERT_TRUE(t_->AddSa(EspSa(3, 0x2002, true)).ok());
  ASSERT_TRUE(t_->AddSa(EspSa(4, 0x1003, false)).ok());
  ASSERT_TRUE(t_->AddSa(EspSa(5, 0x2004, true)).ok());
  ASSERT_TRUE(t_->SetPolicy(IsakmpPolicy(7, "vpn", {1}), 0).ok());
  EXPECT_FALSE(t_->KeepSa(2, msg::kNoSa).ok());   // only during a sync
  t_->SyncBegin();
  // The replay re-sets the policy without SAs: the bundle is carried over meanwhile.
  ASSERT_TRUE(t_->SetPolicy(IsakmpPolicy(7, "vpn", {}), 0).ok());
  ASSERT_EQ(t_->policy(7)->n_out, 1);
  EXPECT_EQ(t_->policy(7)->out_sa[0], 2u);
  EXPECT_EQ(t_->policy(7)->in_sa[0], 3u);
  Sa* kept_out = t_->sa(2);
  Sa* kept_in = t_->sa(3);
  EXPECT_TRUE(t_->KeepSa(2, msg::kNoSa).ok());
  EXPECT_TRUE(t_->KeepSa(3, 9).ok());            // renumbered: the policy's id changed
  EXPECT_TRUE(absl::IsNotFound(t_->KeepSa(6, msg::kNoSa)));
  EXPECT_EQ(t_->KeepSa(7000, msg::kNoSa).code(), absl::StatusCode::kOutOfRange);
  ASSERT_TRUE(t_->SetPolicy(IsakmpPolicy(7, "vpn", {1}), 0).ok());
  EXPECT_EQ(t_->SyncEnd(), 2u);                  // SAs 4 and 5
  EXPECT_EQ(t_->sa(2), kept_out);                // the same objects: sequence state kept
  EXPECT_EQ(t_->sa(3), kept_in);
  EXPECT_EQ(t_->sa(3)->policy_id, 9u);
  EXPECT_EQ(t_->sa(4), nullptr);
  EXPECT_EQ(t_->sa(5), nullptr);
  EXPECT_EQ(Lookup(0x2002, 50), 3u);
  EXPECT_EQ(t_->policy(7)->n_out, 1);
  EXPECT_FALSE(t_->syncing());
}

TEST_F(IpsecTablesTest, ACarriedBundleNotAdoptedIsClearedBySyncEnd) {
  ASSERT_TRUE(t_->AddSa(EspSa(2, 0x1001, false)).ok());
  ASSERT_TRUE(t_->AddSa(EspSa(3, 0x2002, true)).ok());
  ASSERT_TRUE(t_->SetPolicy(IsakmpPolicy(7, "vpn", {1}), 0).ok());
  t_->SyncBegin();
  ASSERT_TRUE(t_->SetPolicy(IsakmpPolicy(7, "vpn", {}), 0).ok());
  EXPECT_EQ(t_->policy(7)->n_out, 1);
  EXPECT_EQ(t_->SyncEnd(), 2u);
  ASSERT_NE(t_->policy(7), nullptr);
  EXPECT_EQ(t_->policy(7)->n_out, 0);
  EXPECT_EQ(t_->policy(7)->n_in, 0);
  EXPECT_EQ(t_->policy(7)->out_sa[0], msg::kNoSa);
  EXPECT_STREQ(t_->policy(7)->name, "vpn");
}

TEST_F(IpsecTablesTest, OnlyTheSamePolicyCarriesItsBundleAndOnlyDuringASync) {
  ASSERT_TRUE(t_->AddSa(EspSa(2, 0x1001, false)).ok());
  ASSERT_TRUE(t_->AddSa(EspSa(3, 0x2002, true)).ok());
  ASSERT_TRUE(t_->SetPolicy(IsakmpPolicy(7, "vpn", {1}), 0).ok());
  // Outside a sync a policy set without SAs has none (IKE removed them).
  ASSERT_TRUE(t_->SetPolicy(IsakmpPolicy(7, "vpn", {}), 0).ok());
  EXPECT_EQ(t_->policy(7)->n_out, 0);
  ASSERT_TRUE(t_->SetPolicy(IsakmpPolicy(7, "vpn", {1}), 0).ok());
  t_->SyncBegin();
  // Another policy now has id 7 (the new process numbered its policies differently).
  ASSERT_TRUE(t_->SetPolicy(IsakmpPolicy(7, "other", {}), 0).ok());
  EXPECT_EQ(t_->policy(7)->n_out, 0);
  // A manual policy re-set during a sync never carries anything either.
  ASSERT_TRUE(t_->SetPolicy(IsakmpPolicy(7, "vpn", {1}), 0).ok());
  msg::PolicyBody manual = IsakmpPolicy(7, "vpn", {});
  manual.isakmp = 0;
  ASSERT_TRUE(t_->SetPolicy(manual, 0).ok());
  EXPECT_EQ(t_->policy(7)->n_out, 0);
  t_->SyncEnd();
}

}  // namespace
}  // namespace arsec::dp
