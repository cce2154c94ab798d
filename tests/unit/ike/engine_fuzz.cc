// libFuzzer target of the IKE engine's entry point: what a responder does with datagrams
// from anyone. One Engine, configured as a responder with the two policies a gateway
// exposes to the internet (a main mode PSK policy for a fixed peer and a PEER=ANY
// aggressive one found by REMOTEID, NAT-T on both, IPsec policies for each), a recording
// SaInstaller and a transport that answers nothing. Each input is played three ways, each
// on a fresh engine with the same randomness (so a recorded exchange replays exactly):
//   1. the whole input as one datagram from the fixed peer;
//   2. the input cut into ISAKMP messages by their header's length field (the seeds are
//      whole initiator sides of exchanges, message 1 || message 3 || ...), delivered in
//      order from the fixed peer with a Tick() between them;
//   3. the same pieces from alternating sources and ports (500/4500), with the manual
//      clock advanced by a few seconds taken from the input between them, so
//      retransmission, DPD, half-open expiry and the lifetime timers run in between.
// Invariants: no crash (ASan/UBSan in a real fuzzing build), every datagram counted in
// messagesReceived, and memory bounded by the half-open cap: the SAs held are at most the
// established ones plus half_open_limit (plus our own initiator SAs), and the exchanges
// held at most a few per SA.
//
// meson links it with tests/unit/fuzz_file_main.cc to replay fuzz_corpus/ as a test.
// Real fuzzing, by hand (one command line each):
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -I. -o /tmp/engine_fuzz
//     tests/unit/ike/engine_fuzz.cc control/ike/{engine,phase1_exchange,quick_exchange,
//     ike_config,proposal,traffic_selector,isakmp_codec,isakmp_dump,ike_crypto,ike_rsa}.cc
//     cli/lang/bundle_string.cc
//     $(pkg-config --cflags --libs absl_status absl_statusor absl_strings absl_str_format
//       absl_time absl_hash absl_raw_hash_set libcrypto)
//   /tmp/engine_fuzz -max_total_time=120 -rss_limit_mb=1024 /tmp/engine_corpus
//     tests/unit/ike/fuzz_corpus/
// The engine-* seeds of fuzz_corpus/ are whole initiator sides of main and aggressive
// mode exchanges (with quick mode) recorded against this very responder: build the same
// sources with -DARSEC_ENGINE_FUZZ_SEEDS (without -fsanitize=fuzzer) and run the binary
// with the corpus directory as its argument.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/lang/bundle_string.h"
#include "control/ike/engine.h"

namespace {

using namespace arsec::ike;
using arsec::SecretBytes;
namespace control = arsec::control;

constexpr uint32_t kLocal = 0xc0000201;     // 192.0.2.1: the fuzzed responder
constexpr uint32_t kPeer = 0xc6336402;      // 198.51.100.2: the fixed main mode peer
constexpr uint32_t kOther = 0xcb007107;     // 203.0.113.7: a PEER=ANY client
constexpr uint32_t kHalfOpenLimit = 8;

void Check(bool ok) {
  if (!ok) std::abort();
}

// Sends go nowhere (or, when the seed writer runs, to the other engine).
class SinkTransport : public DatagramTransport {
 public:
  absl::Status Send(const Datagram& d) override {
    ++sent;
    if (forward) forward->push_back(d);
    return absl::OkStatus();
  }
  size_t Receive(std::vector<Datagram>&, size_t) override { return 0; }
  void Wait(int) override {}
  size_t sent = 0;
  std::deque<Datagram>* forward = nullptr;
};

class RecordingInstaller : public SaInstaller {
 public:
  explicit RecordingInstaller(uint32_t base) : base_(base) {}
  uint32_t ReserveSpi(control::SaProtocol p) override {
    return p == control::SaProtocol::kComp ? 0x1000 + (next_++ % 0x1000) : base_ + next_++;
  }
  void ReleaseSpi(control::SaProtocol, uint32_t) override {}
  absl::StatusOr<uint32_t> Install(const NegotiatedBundle& b) override {
    Check(!b.sas.empty());
    bundles[++handle_] = b;
    return handle_;
  }
  void Remove(uint32_t handle) override {
    Check(bundles.erase(handle) == 1);   // the engine removes only what it installed
  }
  std::map<uint32_t, NegotiatedBundle> bundles;

 private:
  uint32_t base_;
  uint32_t next_ = 0;
  uint32_t handle_ = 0;
};

control::SaSpec EspSpec(uint32_t id) {
  control::SaSpec s;
  s.id = id;
  s.keyman = control::KeyManagement::kIsakmp;
  s.protocol = control::SaProtocol::kEsp;
  s.encalg = control::EncAlg::kAes128;
  s.hashalg = control::HashAlg::kSha;
  return s;
}

Phase2Policy Policy(uint32_t id, uint32_t local, uint32_t peer, uint32_t lnet, uint32_t rnet) {
  Phase2Policy p;
  p.policy_id = id;
  p.name = absl::StrCat("vpn", id);
  p.view.action = control::PolicyAction::kIpsec;
  p.view.keyman = control::KeyManagement::kIsakmp;
  p.view.peer = peer;
  p.view.peer_dynamic = peer == 0;
  p.view.laddr = lnet;
  p.view.lmask = 0xffffff00;
  p.view.raddr = rnet;
  p.view.rmask = 0xffffff00;
  p.local = local;
  p.bundle.id = 1;
  p.bundle.keyman = control::KeyManagement::kIsakmp;
  p.bundle.bundle = *arsec::lang::ParseBundleString("1");
  p.bundle.text = "1";
  p.specs = {{1, EspSpec(1)}};
  return p;
}

PeerConfig Peer(const std::string& name, uint32_t addr, bool aggressive) {
  PeerConfig c;
  c.name = name;
  c.peer = addr;
  c.any = addr == 0;
  c.aggressive = aggressive;
  const std::string psk = "fuzz-psk";
  c.psk = SecretBytes(Bytes(psk.begin(), psk.end()));
  Phase1Offer o;
  o.enc = P1Encryption::kAes;
  o.key_bits = 128;
  o.hash = P1Hash::kSha;
  o.auth = AuthMethod::kPsk;
  o.group = 2;
  o.life_seconds = 600;
  c.offers.push_back(o);
  c.nat_t = true;
  c.msg_timeout_ms = 1000;
  c.msg_retry_limit = 3;
  c.dpd_idle_s = 5;
  return c;
}

// The responder every input meets (and, with initiator = true, the two peers the seed
// writer plays against it).
std::shared_ptr<IkeConfig> ResponderConfig() {
  auto c = std::make_shared<IkeConfig>();
  c->enabled = true;
  c->local_addrs = {kLocal};
  c->half_open_limit = kHalfOpenLimit;
  c->half_open_per_peer = 4;
  c->peers.push_back(Peer("fixed", kPeer, false));
  PeerConfig any = Peer("roadwarrior", 0, true);
  any.remote_id = Identity::FromString("client.example");
  c->peers.push_back(any);
  c->policies.push_back(Policy(1, kLocal, kPeer, 0xc0a80a00, 0xc0a81400));
  c->policies.push_back(Policy(2, kLocal, 0, 0xc0a80a00, 0xc0a81e00));
  return c;
}

struct Node {
  Node(uint32_t spi_base, uint32_t seed) : installer(spi_base), rng(seed) {
    EngineEnv env;
    env.transport = &transport;
    env.installer = &installer;
    env.log = [](int, const std::string&, const std::string&) {};
    env.debug = [](uint32_t, const std::string&) {};
    env.now = [this] { return now; };
    env.random = [this](uint8_t* p, size_t n) {
      for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(rng());
    };
    // Every lookup index is checked against a full scan after each input: a fuzzed
    // message must not leave an SA or exchange findable under stale cookies.
    env.check_indexes = true;
    engine = std::make_unique<Engine>(std::move(env));
    engine->SetDebugFlags(~0u);   // the DEBUG=PKT decoder runs on every message too
  }
  SinkTransport transport;
  RecordingInstaller installer;
  std::mt19937 rng;
  absl::Time now = absl::FromUnixSeconds(1700000000);
  std::unique_ptr<Engine> engine;
};

// The input cut into ISAKMP messages by the length field of each header (bytes 24..27);
// a length that does not fit ends the cut with the rest as one piece.
std::vector<std::vector<uint8_t>> Pieces(const uint8_t* data, size_t size) {
  std::vector<std::vector<uint8_t>> out;
  size_t off = 0;
  while (off < size && out.size() < 32) {
    size_t len = size - off;
    if (len >= 28) {
      const uint8_t* p = data + off;
      const size_t l = uint32_t{p[24]} << 24 | uint32_t{p[25]} << 16 | uint32_t{p[26]} << 8 | p[27];
      if (l >= 28 && l <= len) len = l;
    }
    out.emplace_back(data + off, data + off + len);
    off += len;
  }
  return out;
}

void CheckBounds(const Node& n, uint64_t delivered) {
  const Engine& e = *n.engine;
  Check(e.counter(Ctr::kRxMessages) == delivered);
  Check(e.HalfOpenCount() <= kHalfOpenLimit);
  const size_t established = e.IsakmpSas().size();
  // The responder never initiates here except to rekey/renegotiate its fixed peer's
  // policy (at most one phase 1 in flight per attempt).
  Check(e.SaCount() <= established + kHalfOpenLimit + 4);
  Check(e.ExchangeCount() <= 8 * (e.SaCount() + 1));
  Check(n.installer.bundles.size() <= 2 * (established + 2) + 8);
}

// Way 1 and 2: from the fixed peer, port 500. Returns the bundles the responder holds.
size_t PlayInOrder(const std::vector<std::vector<uint8_t>>& pieces) {
  Node n(0xa0000000, 1);
  n.engine->Configure(ResponderConfig());
  uint64_t delivered = 0;
  for (const auto& p : pieces) {
    Datagram d;
    d.src = kPeer;
    d.dst = kLocal;
    d.sport = d.dport = 500;
    d.data = p;
    n.engine->OnDatagram(d);
    ++delivered;
    n.engine->Tick();
    CheckBounds(n, delivered);
  }
  return n.installer.bundles.size();
}

// Way 3: sources, ports and time from the input.
void PlayShuffled(const std::vector<std::vector<uint8_t>>& pieces, const uint8_t* data, size_t size) {
  Node n(0xa0000000, 1);
  n.engine->Configure(ResponderConfig());
  uint64_t delivered = 0;
  for (size_t i = 0; i < pieces.size(); ++i) {
    const uint8_t k = size ? data[(i * 7919) % size] : 0;
    Datagram d;
    d.src = (k & 3) == 0 ? kPeer : (k & 3) == 1 ? kOther : 0x0a000000u + (k >> 2) + i;
    d.dst = kLocal;
    d.sport = (k & 4) ? 4500 : (k & 8) ? static_cast<uint16_t>(30000 + k) : 500;
    d.dport = (k & 4) ? 4500 : 500;
    d.data = pieces[i];
    n.engine->OnDatagram(d);
    ++delivered;
    n.now += absl::Milliseconds(uint32_t{k} * 250);   // up to ~64 s
    n.engine->Tick();
    CheckBounds(n, delivered);
    if (k == 0xff) {                                   // the dataplane's events too
      for (const auto& [h, b] : n.installer.bundles) {
        n.engine->SoftExpired(h);
        break;
      }
      n.engine->Acquire(1, 0xc0a80a01, 0xc0a81401);
    }
  }
  // Everything times out in the end: only established SAs may remain.
  for (int i = 0; i < 40; ++i) {
    n.now += absl::Seconds(10);
    n.engine->Tick();
  }
  Check(n.engine->HalfOpenCount() == 0);
  n.engine->ResetSas();
  Check(n.engine->SaCount() == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 16384) return 0;
  PlayInOrder({std::vector<uint8_t>(data, data + size)});
  const auto pieces = Pieces(data, size);
  PlayInOrder(pieces);
  PlayShuffled(pieces, data, size);
  return 0;
}

#ifdef ARSEC_ENGINE_FUZZ_SEEDS
// The seed writer: an initiator engine for each responder policy negotiates phase 1 and
// quick mode with the fuzzed responder (same configuration, same randomness as way 2);
// what the initiator sent, concatenated, is one seed. Also each first message alone.
#include <fstream>

namespace {

std::shared_ptr<IkeConfig> InitiatorConfig(bool aggressive) {
  auto c = std::make_shared<IkeConfig>();
  c->enabled = true;
  const uint32_t me = kPeer;   // way 2's source: no NAT between them
  c->local_addrs = {me};
  PeerConfig p = Peer("toResponder", kLocal, aggressive);
  if (aggressive) p.local_id = Identity::FromString("client.example");
  c->peers.push_back(p);
  c->policies.push_back(Policy(9, me, kLocal, aggressive ? 0xc0a81e00 : 0xc0a81400, 0xc0a80a00));
  return c;
}

void Write(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                              static_cast<std::streamsize>(bytes.size()));
}

void Record(bool aggressive, const std::string& dir) {
  Node resp(0xa0000000, 1), init(0xb0000000, 2);
  resp.engine->Configure(ResponderConfig());
  init.engine->Configure(InitiatorConfig(aggressive));
  std::deque<Datagram> to_resp, to_init;
  init.transport.forward = &to_resp;
  resp.transport.forward = &to_init;
  Check(init.engine->Initiate(9).ok());
  std::vector<uint8_t> all, first;
  for (int round = 0; round < 50 && !(to_resp.empty() && to_init.empty()); ++round) {
    while (!to_resp.empty()) {
      Datagram d = std::move(to_resp.front());
      to_resp.pop_front();
      if (first.empty()) first = d.data;
      all.insert(all.end(), d.data.begin(), d.data.end());
      d.src = kPeer;   // way 2 plays everything from the fixed peer's address
      resp.engine->OnDatagram(d);
      resp.engine->Tick();
    }
    while (!to_init.empty()) {
      Datagram d = std::move(to_init.front());
      to_init.pop_front();
      init.engine->OnDatagram(d);
    }
  }
  Check(!init.installer.bundles.empty());
  const std::string mode = aggressive ? "aggr" : "main";
  // The recording replays: way 2 reaches quick mode's installation with it.
  Check(PlayInOrder(Pieces(all.data(), all.size())) == 1);
  Write(dir + "/engine-" + mode + "1", first);
  Write(dir + "/engine-" + mode + "-exchange", all);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : ".";
  Record(false, dir);
  Record(true, dir);
  return 0;
}
#endif
