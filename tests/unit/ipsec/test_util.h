// Shared helpers of ipsec_test: the no-hugepage EAL's mbuf pool, the IPsec-MB engine,
// runtime SAs built the way the SAD builds them, packet builders and byte helpers.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/crypto/engine.h"
#include "dataplane/ipsec/sa.h"
#include "dataplane/ipsec/stage_common.h"

namespace arsec::dp::test {

using Bytes = std::vector<uint8_t>;

rte_mempool* Pool();
void SetPool(rte_mempool* p);
crypto::CryptoEngine& Engine();

Bytes Hex(std::string_view h);  // spaces ignored
std::string ToHex(const Bytes& b);
Bytes Random(size_t n, std::mt19937& rng);

// A fresh mbuf holding b at the pool's default headroom (nullptr on failure).
rte_mbuf* MbufFrom(const Bytes& b);
Bytes MbufBytes(const rte_mbuf* m);

struct MbufDeleter {
  void operator()(rte_mbuf* m) const { rte_pktmbuf_free(m); }
};
using MbufPtr = std::unique_ptr<rte_mbuf, MbufDeleter>;

// An IPv4 packet (IHL from the options, which must be a multiple of 4 bytes) with a
// correct checksum.
Bytes Ipv4(uint32_t src, uint32_t dst, uint8_t proto, const Bytes& payload, uint8_t tos = 0,
           uint16_t frag = 0, uint16_t id = 0x1234, uint8_t ttl = 63, const Bytes& options = {});
bool Ipv4ChecksumOk(const uint8_t* ip);

// A runtime SA with its own session, laid out as the SAD fills it.
struct SaSpec {
  uint8_t proto = kProtoEsp;
  crypto::CipherAlg cipher = crypto::CipherAlg::kNull;
  crypto::AuthAlg auth = crypto::AuthAlg::kNull;
  Bytes cipher_key;  // empty: random of the right length
  Bytes auth_key;
  SaMode mode = SaMode::kTunnel;
  bool esn = false;
  SaEncap encap = SaEncap::kNone;
  SaDfBit dfbit = SaDfBit::kCopy;
  uint32_t spi = 0x1000;
  uint32_t tun_src = 0xc0a80001;  // host order
  uint32_t tun_dst = 0xc0a80002;
  uint16_t sport = 4500, dport = 4500;
  compress::IpcompAlg comp = compress::IpcompAlg::kDeflate;
  uint16_t cpi = 0;
};
struct TestSa {
  std::unique_ptr<crypto::CryptoSession> session;
  std::unique_ptr<Sa> sa;
  SaSpec spec;
};
TestSa MakeSa(SaSpec spec, std::mt19937* rng = nullptr);

// One op through the engine, synchronously (Enqueue then Dequeue).
void RunOp(crypto::CryptoOp* op);

}  // namespace arsec::dp::test
