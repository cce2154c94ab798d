// Fuzz entry point for the inbound IPsec path: the per-packet sequence IpsecInput
// (dataplane/ipsec_worker.cc) runs, on one of twelve fixed SAs, over an IPv4 packet
// made from the input. It must never crash, leak an mbuf, or touch memory outside the
// packet's buffer, and whatever it accepts must be a well-formed IPv4 packet.
//
// Input layout:
//   byte 0   SA (modulo kConfigs: ESP AES-CBC+SHA1 tunnel, ESP GCM transport + ESN, ESP
//            NULL+SHA256 tunnel, AH SHA1 tunnel, AH SHA256 transport + ESN, IPComp
//            LZS/DEFLATE x tunnel/transport, ESP-in-UDP on 4500 and on 2746, and the
//            bundle ESP transport over IPComp tunnel)
//   byte 1   flags: bit 0 valid mode; bits 1-2 tailroom (none / 4 bytes / what a
//            received frame has / 64); bit 3 no headroom; bit 4 start the replay window
//            further on; bit 5 anti-replay disabled; bit 6 fix the outer total length
//            and checksum before admission; bit 7 the packet twice in one burst
//   raw mode: the rest is the IPv4 packet.
//   valid mode: the rest seeds a genuine packet that the outbound stages build for the
//            SA (BuildValid: sequence number, inner length, content, header options),
//            then 4-byte mutation ops (flip, set, truncate, extend, fix checksum) edit
//            it, so the fuzzer gets past the ICV and into the decapsulation code. An
//            unmutated packet must come out as exactly the packet that went in.
// The packet is admitted as the worker admits it (Validate: version, IHL, total length,
// checksum; no fragment; IsIpsecInput: ESP, AH, IPComp, or UDP to 4500/2746), then:
// UdpEncapStrip for UDP, EspParse/AhParse (IPComp: the CPI), the SAD key match, the
// tunnel destination check, replay Check, Prepare, the IPsec-MB engine (Enqueue /
// Dequeue as RunCrypto), Finish, replay Update, IPComp (alone, or inside the bundle as
// IpsecInput peels it), and the inner-packet checks. The SPD check that follows in the
// worker needs the lead's tables and is left out.
//
// Each packet lives in an external buffer of exactly headroom + length + tailroom bytes
// from the heap, so AddressSanitizer sees any access past the buffer, and a count of
// live buffers plus the mbuf pool's in-use count catch leaks after every input.
//
// With libFuzzer (clang, from the repository root; one command):
//   clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -DALLOW_EXPERIMENTAL_API
//     -I. $(pkg-config --cflags libdpdk absl_status absl_statusor absl_strings)
//     tests/unit/ipsec/inbound_fuzz.cc dataplane/ipsec/{esp,ah,ipcomp_stage,iv_source}.cc
//     dataplane/crypto/{engine,ipsec_mb_engine}.cc dataplane/compress/{lzs,deflate,ipcomp}.cc
//     $(pkg-config --libs libdpdk absl_status absl_statusor absl_strings) -lIPSec_MB -lz
//     -o inbound_fuzz
//   ./inbound_fuzz -max_len=2100 -max_total_time=180 CORPUS_DIR tests/unit/ipsec/fuzz_corpus
// Built by meson, tests/unit/fuzz_file_main.cc runs it over the files named on the
// command line (the `ipsec_inbound_fuzz` test replays fuzz_corpus/).
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "dataplane/compress/ipcomp.h"
#include "dataplane/crypto/engine.h"
#include "dataplane/crypto/ipsec_mb_engine.h"
#include "dataplane/ipsec/ah.h"
#include "dataplane/ipsec/esp.h"
#include "dataplane/ipsec/ipcomp_stage.h"
#include "dataplane/ipsec/iv_source.h"
#include "dataplane/ipsec/sa.h"
#include "dataplane/ipsec/stage_common.h"

namespace {

using namespace arsec::dp;
using arsec::compress::IpcompAlg;
using arsec::compress::IpcompContext;
using arsec::crypto::AuthAlg;
using arsec::crypto::CipherAlg;
using arsec::crypto::CryptoEngine;
using arsec::crypto::CryptoOp;
using arsec::crypto::CryptoSession;
using Bytes = std::vector<uint8_t>;

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "inbound_fuzz: %s\n", what);
    abort();
  }
}

constexpr uint16_t kSeedUdpPort = 2746;                  // the gateway's ESP-over-UDP port
constexpr uint32_t kRxHeadroom = RTE_PKTMBUF_HEADROOM + 14;  // Ethernet header removed
constexpr uint32_t kMaxFrame = RTE_MBUF_DEFAULT_DATAROOM;    // one segment
constexpr uint32_t kMaxPacket = kMaxFrame - 14;
constexpr size_t kCompBufLen = 16384;  // as the worker's IPComp scratch (ipsec_worker.h)
constexpr unsigned kMaxBurst = 2;

struct Config {
  const char* name;
  uint8_t proto;
  CipherAlg cipher;
  AuthAlg auth;
  SaMode mode;
  bool esn;
  SaEncap encap;
  uint16_t dport;  // UDP encapsulation destination port
  IpcompAlg comp;
  uint16_t cpi;    // IPComp
  int inner;       // bundle: index of the inner (IPComp) SA, else -1
  uint32_t window;
};

constexpr SaMode kTun = SaMode::kTunnel;
constexpr SaMode kTra = SaMode::kTransport;
const Config kConfigs[] = {
    {"esp-cbc-sha1-tunnel", kProtoEsp, CipherAlg::kAes128Cbc, AuthAlg::kHmacSha1_96, kTun, false,
     SaEncap::kNone, 0, IpcompAlg::kDeflate, 0, -1, 64},
    {"esp-gcm-transport-esn", kProtoEsp, CipherAlg::kAes128Gcm, AuthAlg::kNull, kTra, true,
     SaEncap::kNone, 0, IpcompAlg::kDeflate, 0, -1, 1024},
    {"esp-null-sha256-tunnel", kProtoEsp, CipherAlg::kNull, AuthAlg::kHmacSha256_128, kTun, false,
     SaEncap::kNone, 0, IpcompAlg::kDeflate, 0, -1, 128},
    {"ah-sha1-tunnel", kProtoAh, CipherAlg::kNull, AuthAlg::kHmacSha1_96, kTun, false,
     SaEncap::kNone, 0, IpcompAlg::kDeflate, 0, -1, 64},
    {"ah-sha256-transport-esn", kProtoAh, CipherAlg::kNull, AuthAlg::kHmacSha256_128, kTra, true,
     SaEncap::kNone, 0, IpcompAlg::kDeflate, 0, -1, 1024},
    {"ipcomp-lzs-tunnel", kProtoComp, CipherAlg::kNull, AuthAlg::kNull, kTun, false,
     SaEncap::kNone, 0, IpcompAlg::kLzs, 3, -1, 64},
    {"ipcomp-lzs-transport", kProtoComp, CipherAlg::kNull, AuthAlg::kNull, kTra, false,
     SaEncap::kNone, 0, IpcompAlg::kLzs, 0x4203, -1, 64},
    {"ipcomp-deflate-tunnel", kProtoComp, CipherAlg::kNull, AuthAlg::kNull, kTun, false,
     SaEncap::kNone, 0, IpcompAlg::kDeflate, 2, -1, 64},
    {"ipcomp-deflate-transport", kProtoComp, CipherAlg::kNull, AuthAlg::kNull, kTra, false,
     SaEncap::kNone, 0, IpcompAlg::kDeflate, 0x4102, -1, 64},
    {"esp-natt-cbc-sha256-tunnel", kProtoEsp, CipherAlg::kAes128Cbc, AuthAlg::kHmacSha256_128, kTun,
     false, SaEncap::kNatT, kNatTPort, IpcompAlg::kDeflate, 0, -1, 64},
    {"esp-udp2746-gcm-tunnel-esn", kProtoEsp, CipherAlg::kAes128Gcm, AuthAlg::kNull, kTun, true,
     SaEncap::kEspUdp, kSeedUdpPort, IpcompAlg::kDeflate, 0, -1, 1024},
    {"esp-cbc-sha1-transport+ipcomp-deflate-tunnel", kProtoEsp, CipherAlg::kAes128Cbc,
     AuthAlg::kHmacSha1_96, kTra, false, SaEncap::kNone, 0, IpcompAlg::kDeflate, 0, 7, 64},
};
constexpr unsigned kNumConfigs = sizeof(kConfigs) / sizeof(kConfigs[0]);

constexpr uint32_t kTunSrc = 0xc0000201;  // 192.0.2.1: the peer
constexpr uint32_t kTunDst = 0xc0000202;  // 192.0.2.2: this gateway

struct FuzzSa {
  std::unique_ptr<CryptoSession> session;
  std::unique_ptr<Sa> sa;
  const Config* cfg;
};

// Packets in heap buffers of an exact size (see the header comment).
int g_live_bufs = 0;
void FreeExtBuf(void* addr, void* opaque) {
  delete[] static_cast<uint8_t*>(addr);
  delete static_cast<rte_mbuf_ext_shared_info*>(opaque);
  --g_live_bufs;
}

struct Env {
  rte_mempool* pool = nullptr;  // mbuf headers (and the outbound builder's packets)
  std::unique_ptr<CryptoEngine> engine;
  std::unique_ptr<IpcompContext> ipcomp;
  std::unique_ptr<uint8_t[]> comp_buf;
  FuzzSa sas[kNumConfigs];
  std::string run_dir;
  bool verbose = false;  // INBOUND_FUZZ_VERBOSE set: one line per input
};
Env* g_env = nullptr;

void Teardown() {
  if (g_env == nullptr) return;
  rte_mempool_free(g_env->pool);
  g_env->pool = nullptr;
  rte_eal_cleanup();
  std::error_code ec;
  std::filesystem::remove_all(g_env->run_dir, ec);
}

Env& GetEnv() {
  if (g_env != nullptr) return *g_env;
  auto* env = new Env();  // reachable for the life of the process
  const std::string prefix = "ipsec-fuzz-" + std::to_string(getpid());
  const char* eal[] = {"inbound_fuzz", "--no-huge", "-m", "64", "--no-pci", "--no-telemetry",
                       "--file-prefix", prefix.c_str(), "--log-level=error"};
  Check(rte_eal_init(static_cast<int>(sizeof(eal) / sizeof(eal[0])), const_cast<char**>(eal)) >= 0,
        "rte_eal_init failed");
  env->run_dir = rte_eal_get_runtime_dir();
  env->pool = rte_pktmbuf_pool_create("fuzz", 63, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  Check(env->pool != nullptr, "mbuf pool");
  auto e = arsec::crypto::CreateIpsecMbEngine();
  Check(e.ok(), "IPsec-MB engine");
  env->engine = std::move(*e);
  env->ipcomp = std::make_unique<IpcompContext>();
  Check(env->ipcomp->ok(), "IPComp context");
  env->comp_buf.reset(new uint8_t[kCompBufLen]);
  std::mt19937 rng(7);
  for (unsigned i = 0; i < kNumConfigs; ++i) {
    const Config& c = kConfigs[i];
    FuzzSa& f = env->sas[i];
    f.cfg = &c;
    f.sa = std::make_unique<Sa>();
    Sa& sa = *f.sa;
    if (c.proto != kProtoComp) {  // as the SAD fills an Sa (ipsec_tables.cc)
      Bytes ck(arsec::crypto::CipherKeyLen(c.cipher)), ak(arsec::crypto::AuthKeyLen(c.auth));
      for (auto& x : ck) x = static_cast<uint8_t>(rng());
      for (auto& x : ak) x = static_cast<uint8_t>(rng());
      arsec::crypto::SessionParams p;
      p.cipher = c.cipher;
      p.auth = c.auth;
      p.cipher_key = ck;
      p.auth_key = ak;
      auto s = env->engine->CreateSession(p);
      Check(s.ok(), "session");
      f.session = std::move(*s);
      sa.session = f.session.get();
      sa.spi_be = rte_cpu_to_be_32(0x1000 + i);
      sa.iv_len = c.proto == kProtoEsp ? f.session->iv_len() : 0;
      sa.block_len = c.proto == kProtoEsp ? std::max<uint8_t>(4, f.session->block_len()) : 4;
      sa.digest_len = f.session->digest_len();
      sa.aead = c.proto == kProtoEsp && arsec::crypto::IsAead(c.cipher);
    } else {
      sa.cpi = c.cpi;
      sa.spi_be = rte_cpu_to_be_32(c.cpi);
    }
    sa.sa_id = i;
    sa.proto = c.proto;
    sa.mode = c.mode;
    sa.inbound = 1;
    sa.encap = c.encap;
    sa.esn = c.esn;
    sa.dfbit = SaDfBit::kCopy;
    sa.comp_alg = c.comp;
    sa.tun_src_be = rte_cpu_to_be_32(kTunSrc);
    sa.tun_dst_be = rte_cpu_to_be_32(kTunDst);
    sa.encap_sport_be = rte_cpu_to_be_16(kNatTPort);
    sa.encap_dport_be = rte_cpu_to_be_16(c.dport);
    sa.state = static_cast<uint8_t>(SaState::kValid);
    sa.seq.Init(c.esn);
  }
  env->verbose = getenv("INBOUND_FUZZ_VERBOSE") != nullptr;
  g_env = env;
  atexit(Teardown);
  return *env;
}

// An mbuf whose data is pkt, in a heap buffer with exactly head + tail bytes around it.
rte_mbuf* ExactMbuf(Env& env, const Bytes& pkt, uint32_t head, uint32_t tail) {
  const uint32_t n = head + static_cast<uint32_t>(pkt.size()) + tail;
  rte_mbuf* m = rte_pktmbuf_alloc(env.pool);
  Check(m != nullptr, "mbuf alloc");
  auto* buf = new uint8_t[n == 0 ? 1 : n];
  auto* sh = new rte_mbuf_ext_shared_info();
  sh->free_cb = FreeExtBuf;
  sh->fcb_opaque = sh;
  rte_mbuf_ext_refcnt_set(sh, 1);
  ++g_live_bufs;
  rte_pktmbuf_attach_extbuf(m, buf, 0, static_cast<uint16_t>(n), sh);
  m->data_off = static_cast<uint16_t>(head);
  if (!pkt.empty()) std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(pkt.size())),
                                pkt.data(), pkt.size());
  return m;
}

// RunCrypto of ipsec_worker.cc: enqueue the burst, poll until every op is back.
void RunCrypto(CryptoEngine& e, CryptoOp* ops, unsigned n) {
  if (n == 0) return;
  CryptoOp* ptr[kMaxBurst];
  CryptoOp* out[kMaxBurst];
  for (unsigned i = 0; i < n; ++i) ptr[i] = &ops[i];
  unsigned accepted = 0, done = 0, spins = 0;
  while (done < n) {
    if (accepted < n) accepted += e.Enqueue(ptr + accepted, static_cast<uint16_t>(n - accepted));
    const unsigned d = e.Dequeue(out, kMaxBurst);
    done += d;
    if (d == 0 && ++spins > (1u << 20)) break;
  }
  for (unsigned i = accepted; i < n; ++i) ops[i].status = arsec::crypto::CryptoStatus::kError;
}

// One outbound ESP/AH step on m with its crypto, as IpsecOutput runs it.
bool Outbound(Env& env, const Sa& sa, rte_mbuf* m, uint64_t seq, IvSource& ivs) {
  alignas(64) CryptoOp op;
  OpScratch sc;
  StageVerdict v = sa.proto == kProtoEsp ? EspOutboundPrepare(sa, m, seq, ivs, 0x1234, &op, &sc)
                                         : AhOutboundPrepare(sa, m, seq, 0x1234, &op, &sc);
  if (v != StageVerdict::kOk) return false;
  RunCrypto(*env.engine, &op, 1);
  v = sa.proto == kProtoEsp ? EspOutboundFinish(sa, m, &op, &sc) : AhOutboundFinish(sa, m, &op, &sc);
  return v == StageVerdict::kOk;
}

void FixLengthAndChecksum(Bytes& b) {
  const unsigned ihl = Ipv4HeaderLen(b.data(), static_cast<uint32_t>(b.size()));
  if (ihl == 0) return;
  StoreBe16(&b[2], static_cast<uint16_t>(b.size()));
  SetIpv4Cksum(b.data(), ihl);
}

struct Built {
  Bytes pkt;          // what goes on the wire
  Bytes inner;        // what the receiver must recover
  uint64_t seq64 = 0; // the sequence number the sender authenticated
  bool pristine = false;
};

// Valid mode: a genuine packet for the SA from p[0..n), then the mutation ops.
bool BuildValid(Env& env, FuzzSa& f, uint8_t flags, const uint8_t* p, size_t n, Built* out) {
  auto at = [&](size_t i) -> uint8_t { return i < n ? p[i] : 0; };
  Sa& sa = *f.sa;
  const Config& c = *f.cfg;
  // Sequence number: the window's top (when bit 4 moves it there) plus a small signed
  // step, so replays, old packets and ESN high-half changes all come up.
  const uint32_t top_lo = uint32_t{at(0)} << 24 | uint32_t{at(1)} << 16 | uint32_t{at(2)} << 8 | at(3);
  const uint64_t top = (c.esn ? uint64_t{at(4) % 3u} << 32 : 0) | top_lo;
  const int64_t step = static_cast<int8_t>(at(5));
  if ((flags & 0x10) != 0 && top != 0 && c.proto != kProtoComp) sa.replay.Update(top);
  uint64_t seq = top + static_cast<uint64_t>(step);
  if (!c.esn) seq &= 0xffffffffu;
  out->seq64 = seq;

  // The inner packet: length, a content period (periodic content compresses), protocol,
  // TOS, DF and header options from bytes 6..8.
  const uint32_t payload_len = at(6) * 7u;
  const uint8_t content = at(7), hdr = at(8);
  Bytes payload(payload_len);
  uint32_t x = 0x9e3779b9u ^ top_lo ^ (uint32_t{content} << 8) ^ at(6);
  const uint32_t period = (content & 0x40) != 0 ? payload_len + 1 : 1 + (content & 0x3f);
  for (uint32_t i = 0; i < payload_len; ++i) {
    if (i < period) {
      x = x * 1664525u + 1013904223u;
      payload[i] = static_cast<uint8_t>(x >> 24);
    } else {
      payload[i] = payload[i - period];
    }
  }
  static const uint8_t kProtos[4] = {17, 6, 1, 47};
  Bytes opts;
  if ((hdr & 4) != 0) opts = {148, 4, 0, 0};                  // Router Alert (immutable)
  if ((hdr & 8) != 0) opts.insert(opts.end(), {7, 7, 4, 0, 0, 0, 0, 0});  // Record Route
  const uint32_t ihl = 20 + static_cast<uint32_t>(opts.size());
  Bytes& in = out->inner;
  in.assign(ihl + payload_len, 0);
  in[0] = static_cast<uint8_t>(0x40 | ihl / 4);
  in[1] = static_cast<uint8_t>(hdr & 0xe0);
  StoreBe16(&in[2], static_cast<uint16_t>(in.size()));
  StoreBe16(&in[4], static_cast<uint16_t>(top_lo));
  StoreBe16(&in[6], (hdr & 0x10) != 0 ? kIpv4Df : 0);
  in[8] = 63;
  in[9] = kProtos[hdr & 3];
  const bool tunnel = c.mode == SaMode::kTunnel;
  StoreBe32(&in[12], tunnel ? 0x0a010001 : kTunSrc);
  StoreBe32(&in[16], tunnel ? 0x0a020001 : kTunDst);
  std::copy(opts.begin(), opts.end(), in.begin() + 20);
  std::copy(payload.begin(), payload.end(), in.begin() + ihl);
  SetIpv4Cksum(in.data(), ihl);

  rte_mbuf* m = rte_pktmbuf_alloc(env.pool);
  Check(m != nullptr, "mbuf alloc");
  std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(in.size())), in.data(), in.size());
  bool ok = true;
  const uint8_t iv_stream[] = {at(0), at(5), at(6), at(7), 0x5a};
  auto ivs = IvSource::CreateDeterministic(iv_stream);  // reproducible packets
  if (c.inner >= 0) {  // bundle: IPComp (tunnel) first, then ESP (transport) around it
    const StageVerdict v = IpcompOutbound(*env.sas[c.inner].sa, m, *env.ipcomp, 0x1234,
                                          env.comp_buf.get(), kCompBufLen);
    ok = v == StageVerdict::kOk || v == StageVerdict::kNotCompressed;
  }
  if (ok && c.proto == kProtoComp) {
    // A packet that did not shrink goes out without IPComp and never reaches IPsec input.
    ok = IpcompOutbound(sa, m, *env.ipcomp, 0x1234, env.comp_buf.get(), kCompBufLen) ==
         StageVerdict::kOk;
  } else if (ok) {
    ok = Outbound(env, sa, m, seq, *ivs);
  }
  if (ok) {
    const auto* d = rte_pktmbuf_mtod(m, const uint8_t*);
    out->pkt.assign(d, d + rte_pktmbuf_data_len(m));
    ok = out->pkt.size() <= kMaxPacket;
  }
  rte_pktmbuf_free(m);
  if (!ok) return false;

  // Mutations, 4 bytes each: op, position (16 bits), value.
  Bytes& b = out->pkt;
  const Bytes built = b;
  for (size_t i = 9; i + 4 <= n; i += 4) {
    const uint8_t op = p[i], val = p[i + 3];
    const uint32_t pos = uint32_t{p[i + 1]} << 8 | p[i + 2];
    switch (op & 7) {
      case 0: if (!b.empty()) b[pos % b.size()] ^= val != 0 ? val : 1; break;
      case 1: if (!b.empty()) b[pos % b.size()] = val; break;
      case 2: b.resize(pos % (b.size() + 1)); break;
      case 3: b.insert(b.end(), val % 64u, static_cast<uint8_t>(pos)); break;
      case 4: FixLengthAndChecksum(b); break;
      case 5: if (b.size() > 20) b.resize(b.size() - 1 - val % std::min<size_t>(b.size() - 20, 32)); break;
      case 6: if (!b.empty()) b[b.size() - 1 - pos % std::min<size_t>(b.size(), 48)] ^= val | 1; break;
      case 7: if (!b.empty()) b[pos % std::min<size_t>(b.size(), 64)] ^= val | 1; break;
    }
  }
  if (b.size() > kMaxPacket) b.resize(kMaxPacket);
  out->pristine = b == built;
  return true;
}

// What the worker lets through to IpsecInput: Validate() of worker.cc, not a fragment,
// IsIpsecInput() of ipsec_worker.cc.
bool Admitted(const Bytes& b) {
  const uint32_t len = static_cast<uint32_t>(b.size());
  const unsigned ihl = Ipv4HeaderLen(b.data(), len);
  if (ihl == 0) return false;
  const uint32_t tl = LoadBe16(&b[2]);
  if (tl < ihl || tl > len) return false;
  uint16_t ck;
  std::memcpy(&ck, &b[10], 2);
  if (Ipv4HeaderCksum(b.data(), ihl) != ck) return false;
  if ((LoadBe16(&b[6]) & kIpv4FragMask) != 0) return false;
  const uint8_t proto = b[9];
  if (proto == kProtoEsp || proto == kProtoAh || proto == kProtoComp) return true;
  if (proto != kProtoUdp || ihl + 8 > len) return false;
  const uint16_t dport = LoadBe16(&b[ihl + 2]);
  return dport == kNatTPort || dport == kSeedUdpPort;
}

// The invariants of a packet IpsecInput hands on.
void CheckResult(const rte_mbuf* m, bool tunnel) {
  const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint32_t len = rte_pktmbuf_data_len(m);
  Check(m->nb_segs == 1 && rte_pktmbuf_pkt_len(m) == len, "mbuf segments/lengths");
  Check(uint32_t{m->data_off} + len <= m->buf_len, "data past the buffer");
  if (tunnel) {
    Check(CheckInnerIpv4(p, len) == len, "tunnel result is not exactly one IPv4 packet");
  } else {
    const unsigned ihl = Ipv4HeaderLen(p, len);
    Check(ihl != 0 && LoadBe16(p + 2) == len, "transport result length");
    uint16_t ck;
    std::memcpy(&ck, p + 10, 2);
    Check(Ipv4HeaderCksum(p, ihl) == ck, "transport result checksum");
  }
}

// IpsecInput's per-packet sequence for a burst of n copies of one packet, all for SA f
// (the SAD lookup is the key match below). Returns how many were delivered; the
// delivered mbufs are left in ms[], the dropped ones are freed and set to null.
unsigned Inbound(Env& env, FuzzSa& f, rte_mbuf** ms, unsigned n, bool* last_tunnel) {
  Sa& sa = *f.sa;
  alignas(64) CryptoOp ops[kMaxBurst];
  OpScratch sc[kMaxBurst];
  uint8_t opi[kMaxBurst];
  uint64_t seq64[kMaxBurst];
  uint8_t next[kMaxBurst] = {};
  unsigned nops = 0;
  auto drop = [&](unsigned i) {
    rte_pktmbuf_free(ms[i]);
    ms[i] = nullptr;
  };
  for (unsigned i = 0; i < n; ++i) {
    rte_mbuf* m = ms[i];
    auto* ip = rte_pktmbuf_mtod(m, uint8_t*);
    if (ip[9] == kProtoUdp) {
      const StageVerdict v = UdpEncapStrip(m);
      if (v != StageVerdict::kOk) {  // keepalive, IKE (punted), heartbeat or bad
        drop(i);
        continue;
      }
      ip = rte_pktmbuf_mtod(m, uint8_t*);
    }
    uint32_t spi_be = 0, seq = 0;
    const uint8_t proto = ip[9];
    bool ok;
    if (proto == kProtoEsp) {
      ok = EspParse(m, &spi_be, &seq);
    } else if (proto == kProtoAh) {
      ok = AhParse(m, &spi_be, &seq);
    } else {
      const unsigned ihl = (ip[0] & 0xfu) * 4u;
      ok = rte_pktmbuf_data_len(m) >= ihl + 4;
      if (ok) spi_be = rte_cpu_to_be_32(uint32_t{LoadBe16(ip + ihl + 2)});
    }
    // SAD: (SPI, protocol) must name this SA; tunnel SAs check the outer destination.
    uint32_t dst_be;
    std::memcpy(&dst_be, ip + 16, 4);
    if (!ok || spi_be != sa.spi_be || proto != sa.proto ||
        (sa.tun_dst_be != 0 && sa.mode == SaMode::kTunnel && dst_be != sa.tun_dst_be)) {
      drop(i);
      continue;
    }
    if (sa.proto == kProtoComp) continue;
    const ReplayCheck rc = sa.replay.Check(seq);
    if (rc.verdict != ReplayVerdict::kOk) {
      drop(i);
      continue;
    }
    seq64[i] = rc.seq64;
    const StageVerdict v = sa.proto == kProtoEsp
                               ? EspInboundPrepare(sa, m, rc.seq64, &ops[nops], &sc[nops])
                               : AhInboundPrepare(sa, m, rc.seq64, &ops[nops], &sc[nops]);
    if (v != StageVerdict::kOk) {
      drop(i);
      continue;
    }
    opi[nops++] = static_cast<uint8_t>(i);
  }
  RunCrypto(*env.engine, ops, nops);
  for (unsigned o = 0; o < nops; ++o) {
    const unsigned i = opi[o];
    const StageVerdict v = sa.proto == kProtoEsp
                               ? EspInboundFinish(sa, ms[i], &ops[o], &sc[o], &next[i])
                               : AhInboundFinish(sa, ms[i], &ops[o], &sc[o], &next[i]);
    if (v != StageVerdict::kOk || sa.replay.Update(seq64[i]) != ReplayVerdict::kOk) drop(i);
  }
  unsigned delivered = 0;
  for (unsigned i = 0; i < n; ++i) {
    rte_mbuf* m = ms[i];
    if (m == nullptr) continue;
    const Sa* last = &sa;
    if (sa.proto == kProtoComp) {  // PeelOne for an IPComp SA
      const StageVerdict v = IpcompInbound(sa, m, *env.ipcomp, env.comp_buf.get(), kCompBufLen,
                                           &next[i]);
      if (v != StageVerdict::kOk && v != StageVerdict::kNotCompressed) {
        drop(i);
        continue;
      }
    } else if (f.cfg->inner >= 0) {
      // The bundle walk: the IPComp SA is skipped when the sender did not compress.
      const Sa& nx = *env.sas[f.cfg->inner].sa;
      if (next[i] == kProtoComp || (nx.mode == SaMode::kTunnel && next[i] == kProtoIpip)) {
        const StageVerdict v = IpcompInbound(nx, m, *env.ipcomp, env.comp_buf.get(),
                                             kCompBufLen, &next[i]);
        if (v != StageVerdict::kOk && v != StageVerdict::kNotCompressed) {
          drop(i);
          continue;
        }
        last = &nx;
      }
    }
    // The inner-packet checks of IpsecInput, then the fields KeyOf reads.
    if (rte_pktmbuf_data_len(m) < 20) {
      drop(i);
      continue;
    }
    const auto* ip = rte_pktmbuf_mtod(m, const uint8_t*);
    const unsigned ihl = (ip[0] & 0xfu) * 4u;
    volatile uint32_t key = LoadBe32(ip + 12) ^ LoadBe32(ip + 16) ^ ip[9];
    if ((ip[9] == 6 || ip[9] == 17) && ihl + 4 <= rte_pktmbuf_data_len(m)) key = key ^ LoadBe32(ip + ihl);
    (void)key;
    CheckResult(m, last->mode == SaMode::kTunnel);
    *last_tunnel = last->mode == SaMode::kTunnel;
    ++delivered;
  }
  return delivered;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  Env& env = GetEnv();
  FuzzSa& f = env.sas[data[0] % kNumConfigs];
  Sa& sa = *f.sa;
  const uint8_t flags = data[1];
  const bool antireplay = (flags & 0x20) == 0;
  Check(sa.replay.Init(f.cfg->window, f.cfg->esn, antireplay), "replay window");

  Built b;
  if ((flags & 1) != 0) {
    if (!BuildValid(env, f, flags, data + 2, size - 2, &b)) return 0;
  } else {
    b.pkt.assign(data + 2, data + std::min<size_t>(size, 2 + kMaxPacket));
    if ((flags & 0x10) != 0) sa.replay.Update(f.cfg->esn ? 0x100000005ull : 5000);
  }
  if ((flags & 0x40) != 0) FixLengthAndChecksum(b.pkt);
  if (!Admitted(b.pkt)) {
    if (env.verbose) fprintf(stderr, "%s: not admitted\n", f.cfg->name);
    Check(!b.pristine, "a genuine packet was not admitted");
    return 0;
  }

  const uint32_t len = static_cast<uint32_t>(b.pkt.size());
  uint32_t tail = 0;
  switch ((flags >> 1) & 3) {
    case 0: tail = 0; break;
    case 1: tail = 4; break;
    case 2: tail = kMaxFrame - 14 - len; break;  // a received frame's tailroom
    case 3: tail = 64; break;
  }
  const uint32_t head = (flags & 8) != 0 ? 0 : kRxHeadroom;
  const unsigned n = (flags & 0x80) != 0 ? 2 : 1;
  rte_mbuf* ms[kMaxBurst];
  for (unsigned i = 0; i < n; ++i) ms[i] = ExactMbuf(env, b.pkt, head, tail);

  // Whether the window still accepts the genuine packet's number, and infers it right.
  bool seq_fresh = false;
  if (b.pristine && sa.proto != kProtoComp) {
    const ReplayCheck rc = sa.replay.Check(static_cast<uint32_t>(b.seq64));
    seq_fresh = rc.verdict == ReplayVerdict::kOk && rc.seq64 == b.seq64;
  }

  bool tunnel_result = false;
  const unsigned delivered = Inbound(env, f, ms, n, &tunnel_result);
  for (unsigned i = 0; i < n; ++i) {
    if (ms[i] == nullptr) continue;
    if (b.pristine) {
      const auto* p = rte_pktmbuf_mtod(ms[i], const uint8_t*);
      Check(rte_pktmbuf_data_len(ms[i]) == b.inner.size() &&
                std::memcmp(p, b.inner.data(), b.inner.size()) == 0,
            "a genuine packet decapsulated to something else");
    }
    rte_pktmbuf_free(ms[i]);
  }
  if (env.verbose) {
    fprintf(stderr, "%s: %u byte packet%s, %u of %u delivered%s\n", f.cfg->name, len,
            b.pristine ? " (genuine)" : "", delivered, n,
            delivered != 0 ? (tunnel_result ? " (tunnel)" : " (transport)") : "");
  }
  if (antireplay && sa.proto != kProtoComp) Check(delivered <= 1, "a replayed copy was delivered");
  if (b.pristine) {
    // It must get through unless the window refused it, or the buffer had no room
    // (AH with ESN needs 4 bytes of tailroom; IPComp needs room to decompress into).
    const bool room = ((flags >> 1) & 3) == 2;
    if ((sa.proto == kProtoComp || seq_fresh) && room) {
      Check(delivered >= 1, "a genuine packet was dropped");
    }
  }
  Check(rte_mempool_in_use_count(env.pool) == 0, "mbuf leak");
  Check(g_live_bufs == 0, "packet buffer leak");
  return 0;
}
