// ipsec_test helpers and main(): the EAL (no hugepages, own file prefix, runtime
// directory removed at exit) and one mbuf pool for every test.
#include "tests/unit/ipsec/test_util.h"

#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "dataplane/crypto/ipsec_mb_engine.h"

namespace arsec::dp::test {
namespace {
rte_mempool* g_pool = nullptr;
}

rte_mempool* Pool() { return g_pool; }
void SetPool(rte_mempool* p) { g_pool = p; }

crypto::CryptoEngine& Engine() {
  static std::unique_ptr<crypto::CryptoEngine> e = [] {
    auto r = crypto::CreateIpsecMbEngine();
    if (!r.ok()) {
      fprintf(stderr, "ipsec-mb engine: %s\n", r.status().ToString().c_str());
      abort();
    }
    return std::move(*r);
  }();
  return *e;
}

Bytes Hex(std::string_view h) {
  Bytes out;
  int hi = -1;
  for (char c : h) {
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    else continue;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<uint8_t>(hi << 4 | v));
      hi = -1;
    }
  }
  return out;
}

std::string ToHex(const Bytes& b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (uint8_t x : b) {
    s += d[x >> 4];
    s += d[x & 15];
  }
  return s;
}

Bytes Random(size_t n, std::mt19937& rng) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

rte_mbuf* MbufFrom(const Bytes& b) {
  rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
  if (m == nullptr) return nullptr;
  char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(b.size()));
  if (p == nullptr) {
    rte_pktmbuf_free(m);
    return nullptr;
  }
  if (!b.empty()) std::memcpy(p, b.data(), b.size());
  return m;
}

Bytes MbufBytes(const rte_mbuf* m) {
  const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
  return Bytes(p, p + rte_pktmbuf_data_len(m));
}

Bytes Ipv4(uint32_t src, uint32_t dst, uint8_t proto, const Bytes& payload, uint8_t tos,
           uint16_t frag, uint16_t id, uint8_t ttl, const Bytes& options) {
  const size_t ihl = 20 + options.size();
  Bytes b(ihl + payload.size());
  b[0] = static_cast<uint8_t>(0x40 | ihl / 4);
  b[1] = tos;
  StoreBe16(&b[2], static_cast<uint16_t>(b.size()));
  StoreBe16(&b[4], id);
  StoreBe16(&b[6], frag);
  b[8] = ttl;
  b[9] = proto;
  StoreBe32(&b[12], src);
  StoreBe32(&b[16], dst);
  std::copy(options.begin(), options.end(), b.begin() + 20);
  SetIpv4Cksum(b.data(), static_cast<unsigned>(ihl));
  std::copy(payload.begin(), payload.end(), b.begin() + ihl);
  return b;
}

bool Ipv4ChecksumOk(const uint8_t* ip) {
  const unsigned ihl = (ip[0] & 0xf) * 4u;
  uint16_t ck;
  std::memcpy(&ck, ip + 10, 2);
  return Ipv4HeaderCksum(ip, ihl) == ck;
}

TestSa MakeSa(SaSpec spec, std::mt19937* rng) {
  std::mt19937 local(1);
  if (rng == nullptr) rng = &local;
  TestSa t;
  t.sa = std::make_unique<Sa>();
  Sa& sa = *t.sa;
  if (spec.proto != kProtoComp) {
    if (spec.cipher_key.empty())
      spec.cipher_key = Random(crypto::CipherKeyLen(spec.cipher), *rng);
    if (spec.auth_key.empty() && spec.auth != crypto::AuthAlg::kNull)
      spec.auth_key = Random(crypto::AuthKeyLen(spec.auth), *rng);
    crypto::SessionParams p;
    p.cipher = spec.cipher;
    p.auth = spec.auth;
    p.cipher_key = spec.cipher_key;
    p.auth_key = spec.auth_key;
    auto s = Engine().CreateSession(p);
    if (!s.ok()) {
      ADD_FAILURE() << s.status();
      return t;
    }
    t.session = std::move(*s);
    sa.session = t.session.get();
    sa.iv_len = t.session->iv_len();
    sa.block_len = std::max<uint8_t>(4, t.session->block_len());
    sa.digest_len = t.session->digest_len();
    sa.aead = crypto::IsAead(spec.cipher);
  }
  sa.spi_be = rte_cpu_to_be_32(spec.spi);
  sa.tun_src_be = rte_cpu_to_be_32(spec.tun_src);
  sa.tun_dst_be = rte_cpu_to_be_32(spec.tun_dst);
  sa.encap_sport_be = rte_cpu_to_be_16(spec.sport);
  sa.encap_dport_be = rte_cpu_to_be_16(spec.dport);
  sa.proto = spec.proto;
  sa.mode = spec.mode;
  sa.encap = spec.encap;
  sa.esn = spec.esn;
  sa.dfbit = spec.dfbit;
  sa.comp_alg = spec.comp;
  sa.cpi = spec.cpi;
  sa.state = static_cast<uint8_t>(SaState::kValid);
  sa.seq.Init(spec.esn);
  t.spec = std::move(spec);
  return t;
}

void RunOp(crypto::CryptoOp* op) {
  crypto::CryptoEngine& e = Engine();
  ASSERT_EQ(e.Enqueue(&op, 1), 1);
  crypto::CryptoOp* out = nullptr;
  ASSERT_EQ(e.Dequeue(&out, 1), 1);
  ASSERT_EQ(out, op);
}

}  // namespace arsec::dp::test

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const std::string prefix = "ipsec-test-" + std::to_string(getpid());
  const char* eal[] = {"ipsec_test", "--no-huge", "-m", "128", "--no-pci", "--file-prefix",
                       prefix.c_str(), "--log-level=error"};
  if (rte_eal_init(static_cast<int>(sizeof(eal) / sizeof(eal[0])), const_cast<char**>(eal)) < 0) {
    fprintf(stderr, "rte_eal_init failed\n");
    return 1;
  }
  // Default mbufs: 2048 bytes of data room behind RTE_PKTMBUF_HEADROOM (128).
  int rc = 1;
  {
    rte_mempool* pool = rte_pktmbuf_pool_create("ipsec_test", 2047, 0, 0,
                                                RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (pool == nullptr) {
      fprintf(stderr, "mbuf pool: %s\n", rte_strerror(rte_errno));
    } else {
      arsec::dp::test::SetPool(pool);
      rc = RUN_ALL_TESTS();
      rte_mempool_free(pool);
    }
  }
  const std::string run_dir = rte_eal_get_runtime_dir();
  rte_eal_cleanup();
  std::filesystem::remove_all(run_dir);
  return rc;
}
