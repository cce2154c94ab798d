// arsec-pktgen: our DPDK traffic generator for benchmarking arsec-dataplane.
//
// A DPDK primary process of its own (own --file-prefix) that sends UDP/IPv4 frames of one
// size over N flows (or replays a pcap) on one port and counts what comes back on another,
// printing tx/rx Mpps, Gbps and loss every second and a summary (optionally JSON) at the
// end. Ports are vdev strings: normally net_memif clients of the dataplane's memif
// servers. It answers ARP for the addresses it pretends to be (the LAN host it sends from,
// the next hop behind the dataplane), so the device under test resolves neighbours the
// ordinary way, and it can ARP for the gateway to learn the destination MAC.
//
// One lcore does both tx and rx (the benchmark machine has two cores and the other one
// belongs to the dataplane's worker). Frames are built before the clock starts; the loop
// only copies a template into a freshly allocated mbuf (or, in ref mode, hands out a
// reference to a prebuilt mbuf), so the generator costs few cycles per packet.
#include <getopt.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_memcpy.h>
#include <rte_mempool.h>

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/numbers.h"
#include "perf/pktgen_packet.h"

namespace arsec::perf {
namespace {

std::string JsonEscape(const std::string& in) {
  std::string out;
  for (char ch : in) {
    if (ch == '"' || ch == '\\') out += '\\', out += ch;
    else if (static_cast<unsigned char>(ch) < 0x20) out += absl::StrFormat("\\u%04x", ch);
    else out += ch;
  }
  return out;
}

double MonotonicSeconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

constexpr unsigned kMaxBurst = 256;
constexpr unsigned kRefModeMaxTemplates = 4096;

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

struct ArpRange {
  uint32_t first, last;  // host byte order, inclusive
};

struct Options {
  std::vector<std::string> ports;  // vdev strings; index = position on the command line
  unsigned tx_port = 0;
  int rx_port = -1;                // -1: port 1 if there are two ports, else port 0
  std::string lcore = "0";
  std::string file_prefix;
  std::vector<std::string> eal_extra;
  SynthSpec synth;
  bool dst_mac_given = false, src_mac_given = false;
  std::string pcap_in;
  size_t pcap_max = 65536;
  std::string write_pcap;
  unsigned write_repeat = 0;
  double rate_pps = 0;             // 0 = as fast as possible
  double duration_s = 10;          // 0 = until SIGINT
  double warmup_s = 0;
  double link_timeout_s = 10;
  double drain_s = 0.2;
  unsigned burst = 32;
  unsigned rx_burst = kMaxBurst;    // drain returning traffic in big bites by default
  unsigned mbufs = 16383;
  enum { kCopy, kRef } tx_mode = kCopy;
  bool tx_mode_given = false;
  bool have_gateway = false;
  uint32_t gateway = 0;
  std::vector<ArpRange> arp;
  bool l1 = false;
  bool json = false;
  bool quiet = false;
  bool no_tx = false;
  bool own_prefix = false;         // prefix made up here: remove its runtime dir at exit             // only count rx and answer ARP (a sink / responder)
};

void Usage(FILE* f) {
  std::fprintf(f, R"(usage: arsec-pktgen --port VDEV [--port VDEV] [options]

Ports (index = order on the command line):
  --port VDEV            a DPDK vdev, e.g. net_memif0,role=client,id=0,socket=/run/x.sock
                         (net_pcap, net_null and other vdevs work too)
  --tx-port N            index of the port to send on (default 0)
  --rx-port N            index of the port to count returning traffic on
                         (default 1 when two ports are given, else 0)
Traffic:
  --size B               Ethernet frame size without FCS, 64..1514 (default 64)
  --flows N              number of flows, 1..65536 (default 1)
  --vary F[,F]           fields that differ between flows: src-ip, dst-ip, src-port,
                         dst-port (default src-port)
  --src-ip A --dst-ip A  first source / destination address (192.168.10.2 / 198.51.100.1)
  --sport P --dport P    first UDP source / destination port (1024 / 5001)
  --ttl T                IPv4 TTL (default 64)
  --src-mac M            source MAC (default: the tx port's MAC)
  --dst-mac M            destination MAC (default: from --gateway, else broadcast)
  --gateway A            ARP for A on the tx port and send to its MAC
  --arp-ip A[/LEN]       also answer ARP for A (or the prefix) on every port; the source
                         address(es) are always answered (repeatable)
  --pcap FILE            replay the frames of FILE instead of synthetic ones (MACs are
                         rewritten only when --dst-mac/--gateway/--src-mac are given)
  --pcap-max N           read at most N frames from --pcap (default 65536)
Rate and time:
  --rate R               max (default) or packets per second: 1000000, 2.5M, 800k
  --duration S           seconds of traffic, 0 = until Ctrl-C (default 10)
  --warmup S             seconds excluded from the rates of the summary (default 0)
  --drain S              seconds to keep counting rx after tx stops (default 0.2)
  --link-timeout S       wait this long for links / the gateway's ARP reply (default 10)
  --burst N              packets per tx burst, 1..256 (default 32)
  --rx-burst N           packets per rx burst, 1..256 (default 256)
  --tx-mode copy|ref     copy a template into a new mbuf (default), or send references
                         to prebuilt mbufs (only up to 4096 distinct frames)
Output:
  --l1                   print Gbps with L1 overhead (+24 B per frame: FCS, preamble,
                         inter-frame gap); default is L2 (frame bytes as sent, no FCS)
  --json                 print a JSON summary on stdout (progress goes to stderr)
  --quiet                no per-second lines
  --no-tx                send nothing: count rx and answer ARP only (a sink)
Process:
  --lcore L              EAL lcore to run on (default 0)
  --file-prefix P        EAL --file-prefix (default arsec-pktgen-<pid>)
  --mbufs N              mbufs in the pool (default 16383)
  --eal ARG              extra EAL argument (repeatable)
Offline:
  --write-pcap FILE      write the synthetic frames to FILE and exit (no DPDK); with
  --repeat N             passes over the flows (default: enough for >= 1024 frames)
)");
}

bool ParseUnsigned(const char* s, unsigned lo, unsigned hi, unsigned* out) {
  unsigned v;
  if (!absl::SimpleAtoi(s, &v) || v < lo || v > hi) return false;
  *out = v;
  return true;
}

bool ParseSeconds(const char* s, double* out) {
  double v;
  if (!absl::SimpleAtod(s, &v) || !std::isfinite(v) || v < 0 || v > 86400 * 7) return false;
  *out = v;
  return true;
}

// Returns 0 to continue, otherwise the process exit code.
int ParseOptions(int argc, char** argv, Options* o) {
  enum {
    kPort = 256, kTxPort, kRxPort, kSize, kFlows, kVary, kSrcIp, kDstIp, kSport, kDport,
    kTtl, kSrcMac, kDstMac, kGateway, kArpIp, kPcap, kPcapMax, kRate, kDuration, kWarmup,
    kDrain, kLinkTimeout, kBurst, kTxMode, kL1, kJson, kQuiet, kLcore, kPrefix, kMbufs,
    kEal, kWritePcap, kRepeat, kNoTx, kRxBurst, kHelp,
  };
  static const option kLong[] = {
      {"port", required_argument, nullptr, kPort},
      {"tx-port", required_argument, nullptr, kTxPort},
      {"rx-port", required_argument, nullptr, kRxPort},
      {"size", required_argument, nullptr, kSize},
      {"flows", required_argument, nullptr, kFlows},
      {"vary", required_argument, nullptr, kVary},
      {"src-ip", required_argument, nullptr, kSrcIp},
      {"dst-ip", required_argument, nullptr, kDstIp},
      {"sport", required_argument, nullptr, kSport},
      {"dport", required_argument, nullptr, kDport},
      {"ttl", required_argument, nullptr, kTtl},
      {"src-mac", required_argument, nullptr, kSrcMac},
      {"dst-mac", required_argument, nullptr, kDstMac},
      {"gateway", required_argument, nullptr, kGateway},
      {"arp-ip", required_argument, nullptr, kArpIp},
      {"pcap", required_argument, nullptr, kPcap},
      {"pcap-max", required_argument, nullptr, kPcapMax},
      {"rate", required_argument, nullptr, kRate},
      {"duration", required_argument, nullptr, kDuration},
      {"warmup", required_argument, nullptr, kWarmup},
      {"drain", required_argument, nullptr, kDrain},
      {"link-timeout", required_argument, nullptr, kLinkTimeout},
      {"burst", required_argument, nullptr, kBurst},
      {"tx-mode", required_argument, nullptr, kTxMode},
      {"l1", no_argument, nullptr, kL1},
      {"json", no_argument, nullptr, kJson},
      {"quiet", no_argument, nullptr, kQuiet},
      {"lcore", required_argument, nullptr, kLcore},
      {"file-prefix", required_argument, nullptr, kPrefix},
      {"mbufs", required_argument, nullptr, kMbufs},
      {"eal", required_argument, nullptr, kEal},
      {"write-pcap", required_argument, nullptr, kWritePcap},
      {"repeat", required_argument, nullptr, kRepeat},
      {"no-tx", no_argument, nullptr, kNoTx},
      {"rx-burst", required_argument, nullptr, kRxBurst},
      {"help", no_argument, nullptr, kHelp},
      {nullptr, 0, nullptr, 0},
  };
  auto bad = [](const std::string& msg) {
    std::fprintf(stderr, "arsec-pktgen: %s (see --help)\n", msg.c_str());
    return 2;
  };
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "h", kLong, nullptr)) != -1) {
    const std::string arg = optarg ? optarg : "";
    unsigned u = 0;
    switch (c) {
      case kPort: o->ports.push_back(arg); break;
      case kTxPort:
        if (!ParseUnsigned(optarg, 0, 63, &o->tx_port)) return bad("bad --tx-port " + arg);
        break;
      case kRxPort:
        if (!ParseUnsigned(optarg, 0, 63, &u)) return bad("bad --rx-port " + arg);
        o->rx_port = static_cast<int>(u);
        break;
      case kSize:
        if (!ParseUnsigned(optarg, kMinFrame, kMaxFrame, &o->synth.frame_size))
          return bad(absl::StrFormat("--size wants %u..%u, got %s", kMinFrame, kMaxFrame, arg));
        break;
      case kFlows:
        if (!ParseUnsigned(optarg, 1, kMaxFlows, &o->synth.flows))
          return bad(absl::StrFormat("--flows wants 1..%u, got %s", kMaxFlows, arg));
        break;
      case kVary: {
        auto v = ParseFlowFields(arg);
        if (!v.ok()) return bad(std::string(v.status().message()));
        o->synth.vary = *v;
        break;
      }
      case kSrcIp: case kDstIp: case kGateway: {
        auto v = ParseIpv4(arg);
        if (!v.ok()) return bad(std::string(v.status().message()));
        if (c == kSrcIp) o->synth.src_ip = *v;
        else if (c == kDstIp) o->synth.dst_ip = *v;
        else o->gateway = *v, o->have_gateway = true;
        break;
      }
      case kSport: case kDport:
        if (!ParseUnsigned(optarg, 0, 65535, &u)) return bad("bad UDP port " + arg);
        (c == kSport ? o->synth.src_port : o->synth.dst_port) = static_cast<uint16_t>(u);
        break;
      case kTtl:
        if (!ParseUnsigned(optarg, 1, 255, &u)) return bad("bad --ttl " + arg);
        o->synth.ttl = static_cast<uint8_t>(u);
        break;
      case kSrcMac: case kDstMac: {
        auto m = ParseMac(arg);
        if (!m.ok()) return bad(std::string(m.status().message()));
        if (c == kSrcMac) o->synth.src_mac = *m, o->src_mac_given = true;
        else o->synth.dst_mac = *m, o->dst_mac_given = true;
        break;
      }
      case kArpIp: {
        std::string ip = arg;
        unsigned len = 32;
        if (auto slash = arg.find('/'); slash != std::string::npos) {
          ip = arg.substr(0, slash);
          if (!ParseUnsigned(arg.c_str() + slash + 1, 8, 32, &len))
            return bad("bad prefix length in --arp-ip " + arg + " (8..32)");
        }
        auto v = ParseIpv4(ip);
        if (!v.ok()) return bad(std::string(v.status().message()));
        const uint32_t mask = len == 32 ? ~0u : ~((1u << (32 - len)) - 1);
        o->arp.push_back({*v & mask, (*v & mask) | ~mask});
        break;
      }
      case kPcap: o->pcap_in = arg; break;
      case kPcapMax:
        if (!ParseUnsigned(optarg, 1, 1u << 20, &u)) return bad("bad --pcap-max " + arg);
        o->pcap_max = u;
        break;
      case kRate: {
        auto r = ParseRate(arg);
        if (!r.ok()) return bad(std::string(r.status().message()));
        o->rate_pps = *r;
        break;
      }
      case kDuration:
        if (!ParseSeconds(optarg, &o->duration_s)) return bad("bad --duration " + arg);
        break;
      case kWarmup:
        if (!ParseSeconds(optarg, &o->warmup_s)) return bad("bad --warmup " + arg);
        break;
      case kDrain:
        if (!ParseSeconds(optarg, &o->drain_s) || o->drain_s > 60) return bad("bad --drain " + arg);
        break;
      case kLinkTimeout:
        if (!ParseSeconds(optarg, &o->link_timeout_s)) return bad("bad --link-timeout " + arg);
        break;
      case kBurst:
        if (!ParseUnsigned(optarg, 1, kMaxBurst, &o->burst)) return bad("--burst wants 1..256");
        break;
      case kRxBurst:
        if (!ParseUnsigned(optarg, 1, kMaxBurst, &o->rx_burst)) return bad("--rx-burst wants 1..256");
        break;
      case kTxMode:
        if (arg == "copy") o->tx_mode = Options::kCopy;
        else if (arg == "ref") o->tx_mode = Options::kRef;
        else return bad("--tx-mode wants copy or ref");
        o->tx_mode_given = true;
        break;
      case kL1: o->l1 = true; break;
      case kJson: o->json = true; break;
      case kQuiet: o->quiet = true; break;
      case kNoTx: o->no_tx = true; break;
      case kLcore: o->lcore = arg; break;
      case kPrefix: o->file_prefix = arg; break;
      case kMbufs:
        if (!ParseUnsigned(optarg, 1023, 1u << 22, &o->mbufs)) return bad("--mbufs wants 1023..4194304");
        break;
      case kEal: o->eal_extra.push_back(arg); break;
      case kWritePcap: o->write_pcap = arg; break;
      case kRepeat:
        if (!ParseUnsigned(optarg, 1, 1u << 20, &o->write_repeat)) return bad("bad --repeat " + arg);
        break;
      case kHelp: case 'h': Usage(stdout); return 1;
      default:
        return bad(absl::StrCat("unknown or incomplete option '", argv[optind - 1], "'"));
    }
  }
  if (optind < argc) return bad(absl::StrCat("unexpected argument '", argv[optind], "'"));
  if (!o->write_pcap.empty()) return 0;
  if (o->ports.empty()) return bad("give at least one --port");
  if (o->ports.size() > 8) return bad("at most 8 ports");
  if (o->rx_port < 0) o->rx_port = o->ports.size() > 1 ? 1 : 0;
  if (o->tx_port >= o->ports.size() || static_cast<unsigned>(o->rx_port) >= o->ports.size())
    return bad("--tx-port/--rx-port beyond the ports given");
  if (o->duration_s > 0 && o->warmup_s >= o->duration_s)
    return bad("--warmup must be shorter than --duration");
  if (o->file_prefix.empty()) {
    o->file_prefix = absl::StrCat("arsec-pktgen-", getpid());
    o->own_prefix = true;
  }
  // The source address(es) are the LAN host(s) the generator pretends to be.
  const uint32_t nsrc = (o->synth.vary & kVarySrcIp) ? o->synth.flows : 1;
  o->arp.push_back({o->synth.src_ip, o->synth.src_ip + nsrc - 1});
  return 0;
}

// Counters of the send/receive loop. Only the loop writes them.
struct Counters {
  uint64_t tx_pkts = 0, tx_bytes = 0;
  uint64_t rx_pkts = 0, rx_bytes = 0;
  uint64_t rx_other_port = 0;   // non-ARP frames arriving on a port other than rx
  uint64_t arp_in = 0, arp_replies = 0;
  uint64_t tx_retries = 0;      // tx bursts the port did not take completely
  uint64_t alloc_fail = 0;
};

struct Sample {
  double t;
  double tx_pps, rx_pps, tx_bps, rx_bps;  // bits per second, L2
};

struct Port {
  uint16_t id;
  std::string vdev;
  Mac mac;
};

class Generator {
 public:
  explicit Generator(Options o) : o_(std::move(o)) {}
  int Run();

 private:
  int SetUpPorts();
  bool WaitLinks();
  bool ResolveGateway();
  int BuildFrames();
  void PollRx(uint64_t now);
  bool HandleArp(unsigned pi, rte_mbuf* m, uint64_t now);
  void SendArpRequest(unsigned pi, uint32_t target);
  void Loop();
  void Report(double t, const Counters& a, const Counters& b, double dt, bool final_line);
  void PrintSummary();
  bool AnswersArpFor(uint32_t ip) const {
    for (const ArpRange& r : o_.arp)
      if (ip >= r.first && ip <= r.last) return true;
    return false;
  }
  double Gbps(double pps, double bps) const {
    return (bps + (o_.l1 ? pps * kL1Overhead * 8.0 : 0)) / 1e9;
  }

  Options o_;
  std::vector<Port> ports_;
  rte_mempool* pool_ = nullptr;
  FrameSet frames_;
  std::vector<rte_mbuf*> ref_mbufs_;
  uint64_t hz_ = 0;
  Counters c_;
  std::vector<Sample> samples_;
  bool gw_resolved_ = false;
  Mac gw_mac_{};
  // Summary window.
  double win_s_ = 0;
  double win_mono0_ = 0, win_mono1_ = 0;  // CLOCK_MONOTONIC, to line up with arsec-dpstat
  Counters win_a_, win_b_;
  uint64_t pcap_skipped_ = 0;
  std::string stop_reason_ = "duration";
};

int Generator::SetUpPorts() {
  pool_ = rte_pktmbuf_pool_create("pktgen_mbufs", o_.mbufs, 256, 0,
                                  RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(rte_socket_id()));
  if (!pool_) {
    std::fprintf(stderr, "arsec-pktgen: cannot create mbuf pool of %u: %s\n", o_.mbufs,
                 rte_strerror(rte_errno));
    return 1;
  }
  for (const std::string& vdev : o_.ports) {
    const std::string name = vdev.substr(0, vdev.find(','));
    uint16_t id;
    if (rte_eth_dev_get_port_by_name(name.c_str(), &id) != 0) {
      std::fprintf(stderr, "arsec-pktgen: port '%s' did not come up (check the vdev string)\n",
                   name.c_str());
      return 1;
    }
    rte_eth_conf conf{};
    int rc = rte_eth_dev_configure(id, 1, 1, &conf);
    uint16_t nrx = 1024, ntx = 1024;
    if (rc == 0) rc = rte_eth_dev_adjust_nb_rx_tx_desc(id, &nrx, &ntx);
    if (rc == 0) rc = rte_eth_rx_queue_setup(id, 0, nrx, rte_eth_dev_socket_id(id), nullptr, pool_);
    if (rc == 0) rc = rte_eth_tx_queue_setup(id, 0, ntx, rte_eth_dev_socket_id(id), nullptr);
    // A memif client's start connects to the server's socket; a server still tearing down
    // the previous client's connection refuses it for a moment, so keep trying.
    if (rc == 0) {
      const uint64_t deadline =
          rte_get_timer_cycles() + static_cast<uint64_t>(o_.link_timeout_s * rte_get_timer_hz());
      while ((rc = rte_eth_dev_start(id)) != 0 && !g_stop && rte_get_timer_cycles() < deadline)
        rte_delay_ms(200);
    }
    if (rc != 0) {
      std::fprintf(stderr, "arsec-pktgen: port %s: setup failed: %s\n", name.c_str(),
                   rte_strerror(-rc));
      return 1;
    }
    rte_eth_promiscuous_enable(id);  // virtual ports may refuse; harmless
    rte_ether_addr a;
    rte_eth_macaddr_get(id, &a);
    Port p{id, vdev, {}};
    std::memcpy(p.mac.data(), a.addr_bytes, 6);
    ports_.push_back(p);
  }
  return 0;
}

bool Generator::WaitLinks() {
  const uint64_t deadline = rte_get_timer_cycles() + static_cast<uint64_t>(o_.link_timeout_s * hz_);
  for (;;) {
    bool all = true;
    for (const Port& p : ports_) {
      rte_eth_link l{};
      rte_eth_link_get_nowait(p.id, &l);
      all = all && l.link_status == RTE_ETH_LINK_UP;
    }
    if (all) return true;
    if (g_stop || rte_get_timer_cycles() > deadline) break;
    rte_delay_ms(50);
  }
  for (size_t i = 0; i < ports_.size(); ++i) {
    rte_eth_link l{};
    rte_eth_link_get_nowait(ports_[i].id, &l);
    if (l.link_status != RTE_ETH_LINK_UP)
      std::fprintf(stderr, "arsec-pktgen: port %zu (%s) link still down after %.1f s\n", i,
                   ports_[i].vdev.c_str(), o_.link_timeout_s);
  }
  return false;
}

void Generator::SendArpRequest(unsigned pi, uint32_t target) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (!m) return;
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
  std::memset(&eth->dst_addr, 0xff, 6);
  std::memcpy(&eth->src_addr, ports_[pi].mac.data(), 6);
  eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
  arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
  arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
  arp->arp_hlen = 6;
  arp->arp_plen = 4;
  arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
  std::memcpy(&arp->arp_data.arp_sha, ports_[pi].mac.data(), 6);
  arp->arp_data.arp_sip = rte_cpu_to_be_32(o_.synth.src_ip);
  std::memset(&arp->arp_data.arp_tha, 0, 6);
  arp->arp_data.arp_tip = rte_cpu_to_be_32(target);
  m->data_len = m->pkt_len = 60;  // padded to the Ethernet minimum
  std::memset(reinterpret_cast<uint8_t*>(arp + 1), 0, 60 - sizeof(*eth) - sizeof(*arp));
  if (rte_eth_tx_burst(ports_[pi].id, 0, &m, 1) != 1) rte_pktmbuf_free(m);
}

// Answers requests for our addresses in place and learns the gateway's MAC. Returns true
// when the mbuf was consumed (sent back).
bool Generator::HandleArp(unsigned pi, rte_mbuf* m, uint64_t) {
  ++c_.arp_in;
  if (rte_pktmbuf_data_len(m) < sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr)) return false;
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
  if (arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
      arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) || arp->arp_hlen != 6 ||
      arp->arp_plen != 4)
    return false;
  const uint16_t op = rte_be_to_cpu_16(arp->arp_opcode);
  const uint32_t sip = rte_be_to_cpu_32(arp->arp_data.arp_sip);
  const uint32_t tip = rte_be_to_cpu_32(arp->arp_data.arp_tip);
  if (o_.have_gateway && sip == o_.gateway && pi == o_.tx_port) {
    std::memcpy(gw_mac_.data(), &arp->arp_data.arp_sha, 6);
    gw_resolved_ = true;
  }
  if (op != RTE_ARP_OP_REQUEST || !AnswersArpFor(tip)) return false;
  const Mac& mine = ports_[pi].mac;
  arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
  arp->arp_data.arp_tha = arp->arp_data.arp_sha;
  arp->arp_data.arp_tip = arp->arp_data.arp_sip;
  std::memcpy(&arp->arp_data.arp_sha, mine.data(), 6);
  arp->arp_data.arp_sip = rte_cpu_to_be_32(tip);
  eth->dst_addr = eth->src_addr;
  std::memcpy(&eth->src_addr, mine.data(), 6);
  if (rte_eth_tx_burst(ports_[pi].id, 0, &m, 1) != 1) return false;
  ++c_.arp_replies;
  return true;
}

void Generator::PollRx(uint64_t now) {
  rte_mbuf* rx[kMaxBurst];
  rte_mbuf* done[kMaxBurst];
  for (unsigned pi = 0; pi < ports_.size(); ++pi) {
    const uint16_t n = rte_eth_rx_burst(ports_[pi].id, 0, rx, static_cast<uint16_t>(o_.rx_burst));
    if (n == 0) continue;
    unsigned nd = 0;
    for (uint16_t i = 0; i < n; ++i) {
      rte_mbuf* m = rx[i];
      const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
      if (rte_pktmbuf_data_len(m) >= sizeof(rte_ether_hdr) &&
          eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP)) {
        if (!HandleArp(pi, m, now)) done[nd++] = m;
        continue;
      }
      if (pi == static_cast<unsigned>(o_.rx_port)) {
        ++c_.rx_pkts;
        c_.rx_bytes += rte_pktmbuf_pkt_len(m);
      } else {
        ++c_.rx_other_port;
      }
      done[nd++] = m;
    }
    rte_pktmbuf_free_bulk(done, nd);
  }
}

bool Generator::ResolveGateway() {
  const uint64_t start = rte_get_timer_cycles();
  const uint64_t deadline = start + static_cast<uint64_t>(o_.link_timeout_s * hz_);
  uint64_t next_req = start;
  while (!gw_resolved_) {
    const uint64_t now = rte_get_timer_cycles();
    if (g_stop || now > deadline) {
      std::fprintf(stderr, "arsec-pktgen: gateway %s did not answer ARP on port %u within %.1f s\n",
                   FormatIpv4(o_.gateway).c_str(), o_.tx_port, o_.link_timeout_s);
      return false;
    }
    if (now >= next_req) {
      SendArpRequest(o_.tx_port, o_.gateway);
      next_req = now + hz_ / 5;
    }
    PollRx(now);
  }
  // ARP traffic is not part of the measurement.
  c_ = Counters{};
  return true;
}

int Generator::BuildFrames() {
  if (!o_.pcap_in.empty()) {
    size_t skipped = 0;
    auto fs = ReadPcap(o_.pcap_in, o_.pcap_max, RTE_MBUF_DEFAULT_DATAROOM, &skipped);
    if (!fs.ok()) {
      std::fprintf(stderr, "arsec-pktgen: %s\n", std::string(fs.status().message()).c_str());
      return 1;
    }
    frames_ = std::move(*fs);
    pcap_skipped_ = skipped;
    const bool rw_dst = o_.dst_mac_given || o_.have_gateway;
    for (size_t i = 0; i < frames_.size(); ++i) {
      uint8_t* f = frames_.data.data() + frames_.offset[i];
      if (rw_dst) std::memcpy(f, o_.synth.dst_mac.data(), 6);
      if (o_.src_mac_given) std::memcpy(f + 6, o_.synth.src_mac.data(), 6);
    }
  } else {
    auto fs = BuildSynthetic(o_.synth);
    if (!fs.ok()) {
      std::fprintf(stderr, "arsec-pktgen: %s\n", std::string(fs.status().message()).c_str());
      return 1;
    }
    frames_ = std::move(*fs);
  }
  if (!o_.tx_mode_given && frames_.size() <= 1) o_.tx_mode = Options::kCopy;
  if (o_.tx_mode == Options::kRef) {
    if (frames_.size() > kRefModeMaxTemplates) {
      std::fprintf(stderr, "arsec-pktgen: --tx-mode ref takes at most %u distinct frames (have %zu)\n",
                   kRefModeMaxTemplates, frames_.size());
      return 1;
    }
    for (size_t i = 0; i < frames_.size(); ++i) {
      rte_mbuf* m = rte_pktmbuf_alloc(pool_);
      if (!m) {
        std::fprintf(stderr, "arsec-pktgen: mbuf pool too small for ref templates (--mbufs)\n");
        return 1;
      }
      rte_memcpy(rte_pktmbuf_mtod(m, void*), frames_.frame(i), frames_.len[i]);
      m->data_len = m->pkt_len = frames_.len[i];
      ref_mbufs_.push_back(m);
    }
  }
  return 0;
}

void Generator::Report(double t, const Counters& a, const Counters& b, double dt, bool) {
  Sample s{t, (b.tx_pkts - a.tx_pkts) / dt, (b.rx_pkts - a.rx_pkts) / dt,
           (b.tx_bytes - a.tx_bytes) * 8.0 / dt, (b.rx_bytes - a.rx_bytes) * 8.0 / dt};
  samples_.push_back(s);
  if (o_.quiet) return;
  const double loss = b.tx_pkts > a.tx_pkts
                          ? 100.0 * (1.0 - double(b.rx_pkts - a.rx_pkts) / double(b.tx_pkts - a.tx_pkts))
                          : 0.0;
  std::fprintf(o_.json ? stderr : stdout,
               "[%6.1fs] tx %8.3f Mpps %7.3f Gbps | rx %8.3f Mpps %7.3f Gbps | loss %6.2f%%\n", t,
               s.tx_pps / 1e6, Gbps(s.tx_pps, s.tx_bps), s.rx_pps / 1e6, Gbps(s.rx_pps, s.rx_bps),
               loss);
  std::fflush(o_.json ? stderr : stdout);
}

void Generator::Loop() {
  const uint16_t txp = ports_[o_.tx_port].id;
  const unsigned burst = o_.burst;
  const size_t nframes = frames_.size();
  rte_mbuf* pend[kMaxBurst];
  unsigned npend = 0, off = 0;
  size_t next_frame = 0;
  uint64_t planned = 0;   // packets handed to the pending buffer so far

  const uint64_t t0 = rte_rdtsc();
  const uint64_t t_warm = t0 + static_cast<uint64_t>(o_.warmup_s * hz_);
  const uint64_t t_end = o_.duration_s > 0 ? t0 + static_cast<uint64_t>(o_.duration_s * hz_) : UINT64_MAX;
  const double pps_per_cycle = o_.rate_pps / static_cast<double>(hz_);
  uint64_t next_report = t0 + hz_;
  uint64_t last_report = t0;
  Counters last = c_;
  bool warm = o_.warmup_s <= 0;
  if (warm) win_a_ = c_, win_mono0_ = MonotonicSeconds();

  uint64_t now = t0;
  while (!g_stop && now < t_end) {
    if (npend == off && !o_.no_tx) {
      unsigned n = burst;
      if (o_.rate_pps > 0) {
        const uint64_t due = static_cast<uint64_t>((now - t0) * pps_per_cycle) + 1;
        n = due > planned ? static_cast<unsigned>(std::min<uint64_t>(burst, due - planned)) : 0;
      }
      npend = off = 0;
      if (n > 0) {
        if (o_.tx_mode == Options::kRef) {
          for (unsigned i = 0; i < n; ++i) {
            rte_mbuf* m = ref_mbufs_[next_frame];
            if (++next_frame == nframes) next_frame = 0;
            rte_mbuf_refcnt_update(m, 1);
            pend[i] = m;
          }
          npend = n;
        } else if (rte_pktmbuf_alloc_bulk(pool_, pend, n) == 0) {
          for (unsigned i = 0; i < n; ++i) {
            rte_mbuf* m = pend[i];
            const uint16_t len = frames_.len[next_frame];
            rte_memcpy(rte_pktmbuf_mtod(m, void*), frames_.frame(next_frame), len);
            m->data_len = m->pkt_len = len;
            if (++next_frame == nframes) next_frame = 0;
          }
          npend = n;
        } else {
          ++c_.alloc_fail;
        }
        planned += npend;
      }
    }
    if (npend > off) {
      const uint16_t k = rte_eth_tx_burst(txp, 0, pend + off, static_cast<uint16_t>(npend - off));
      for (uint16_t i = 0; i < k; ++i) c_.tx_bytes += rte_pktmbuf_pkt_len(pend[off + i]);
      c_.tx_pkts += k;
      off += k;
      if (off < npend) ++c_.tx_retries;
    }
    PollRx(now);
    now = rte_rdtsc();
    if (!warm && now >= t_warm) {
      warm = true;
      win_a_ = c_;
      win_mono0_ = MonotonicSeconds();
    }
    if (now >= next_report) {
      Report(double(now - t0) / hz_, last, c_, double(now - last_report) / hz_, false);
      last = c_;
      last_report = now;
      next_report += hz_;
    }
  }
  if (g_stop) stop_reason_ = "signal";
  // Frames built but never taken by the port are not counted as sent.
  if (npend > off) {
    if (o_.tx_mode == Options::kRef)
      for (unsigned i = off; i < npend; ++i) rte_mbuf_refcnt_update(pend[i], -1);
    else
      rte_pktmbuf_free_bulk(pend + off, npend - off);
  }
  win_b_ = c_;
  win_mono1_ = MonotonicSeconds();
  if (!warm) win_a_ = Counters{}, win_mono0_ = win_mono1_ - double(now - t0) / hz_;
  const uint64_t t_win0 = warm && o_.warmup_s > 0 ? t_warm : t0;
  win_s_ = double(now - t_win0) / hz_;
  // Let what is in flight come back before loss is computed.
  const uint64_t drain_end = rte_rdtsc() + static_cast<uint64_t>(o_.drain_s * hz_);
  while ((now = rte_rdtsc()) < drain_end) PollRx(now);
}

void Generator::PrintSummary() {
  const double w = win_s_ > 0 ? win_s_ : 1e-9;
  const double tx_pps = (win_b_.tx_pkts - win_a_.tx_pkts) / w;
  const double rx_pps = (win_b_.rx_pkts - win_a_.rx_pkts) / w;
  const double tx_bps = (win_b_.tx_bytes - win_a_.tx_bytes) * 8.0 / w;
  const double rx_bps = (win_b_.rx_bytes - win_a_.rx_bytes) * 8.0 / w;
  const double l1 = kL1Overhead * 8.0;
  // A sink (--no-tx) has nothing to lose: loss is only defined against what we sent.
  const int64_t lost =
      o_.no_tx ? 0 : static_cast<int64_t>(c_.tx_pkts) - static_cast<int64_t>(c_.rx_pkts);
  const double loss_ratio = c_.tx_pkts ? double(lost) / double(c_.tx_pkts) : 0.0;
  const char* gbps_kind = o_.l1 ? "L1, +24 B/frame" : "L2, frame bytes without FCS";
  FILE* h = o_.json ? stderr : stdout;
  std::fprintf(h,
               "summary (%.2f s window, Gbps %s): tx %.3f Mpps %.3f Gbps | rx %.3f Mpps %.3f Gbps | "
               "sent %" PRIu64 " received %" PRIu64 " lost %" PRId64 " (%.4f%%)\n",
               win_s_, gbps_kind, tx_pps / 1e6, Gbps(tx_pps, tx_bps), rx_pps / 1e6,
               Gbps(rx_pps, rx_bps), c_.tx_pkts, c_.rx_pkts, lost, 100.0 * loss_ratio);
  if (c_.rx_other_port || c_.arp_replies || c_.tx_retries || c_.alloc_fail)
    std::fprintf(h,
                 "  other-port rx %" PRIu64 ", ARP in %" PRIu64 " replied %" PRIu64
                 ", partial tx bursts %" PRIu64 ", mbuf alloc failures %" PRIu64 "\n",
                 c_.rx_other_port, c_.arp_in, c_.arp_replies, c_.tx_retries, c_.alloc_fail);
  std::fflush(h);
  if (!o_.json) return;
  std::string per_s;
  for (size_t i = 0; i < samples_.size(); ++i) {
    const Sample& s = samples_[i];
    absl::StrAppendFormat(&per_s, "%s{\"t\":%.3f,\"tx_pps\":%.0f,\"rx_pps\":%.0f,\"tx_gbps\":%.4f,\"rx_gbps\":%.4f}",
                          i ? "," : "", s.t, s.tx_pps, s.rx_pps, s.tx_bps / 1e9, s.rx_bps / 1e9);
  }
  std::vector<std::string> port_json;
  for (size_t i = 0; i < ports_.size(); ++i)
    port_json.push_back(absl::StrFormat("{\"index\":%zu,\"vdev\":\"%s\",\"mac\":\"%s\"}", i,
                                        JsonEscape(ports_[i].vdev), FormatMac(ports_[i].mac)));
  std::printf(
      "{\"tool\":\"arsec-pktgen\",\"ports\":[%s],\"tx_port\":%u,\"rx_port\":%d,"
      "\"source\":\"%s\",\"frames\":%zu,\"frame_size\":%u,\"flows\":%u,\"dst_mac\":\"%s\","
      "\"rate_requested_pps\":%.0f,\"tx_mode\":\"%s\",\"burst\":%u,"
      "\"duration_s\":%.3f,\"warmup_s\":%.3f,\"window_s\":%.4f,\"window_mono\":[%.6f,%.6f],"
      "\"stop\":\"%s\","
      "\"tx_packets\":%" PRIu64 ",\"tx_bytes\":%" PRIu64 ",\"rx_packets\":%" PRIu64
      ",\"rx_bytes\":%" PRIu64 ",\"lost_packets\":%" PRId64 ",\"loss_ratio\":%.6f,"
      "\"tx_mpps\":%.4f,\"rx_mpps\":%.4f,\"tx_gbps_l2\":%.4f,\"rx_gbps_l2\":%.4f,"
      "\"tx_gbps_l1\":%.4f,\"rx_gbps_l1\":%.4f,\"gbps_note\":\"l2 = frame bytes without FCS; "
      "l1 adds 24 B per frame (FCS, preamble, inter-frame gap)\","
      "\"rx_other_port\":%" PRIu64 ",\"arp_in\":%" PRIu64 ",\"arp_replies\":%" PRIu64
      ",\"tx_partial_bursts\":%" PRIu64 ",\"alloc_failures\":%" PRIu64
      ",\"pcap_skipped\":%" PRIu64 ",\"per_second\":[%s]}\n",
      absl::StrJoin(port_json, ",").c_str(), o_.tx_port, o_.rx_port,
      o_.pcap_in.empty() ? "synthetic" : "pcap", frames_.size(),
      o_.pcap_in.empty() ? o_.synth.frame_size : 0u, o_.pcap_in.empty() ? o_.synth.flows : 0u,
      FormatMac(o_.synth.dst_mac).c_str(), o_.rate_pps,
      o_.tx_mode == Options::kRef ? "ref" : "copy", o_.burst, o_.duration_s, o_.warmup_s, win_s_,
      win_mono0_, win_mono1_, stop_reason_.c_str(), c_.tx_pkts, c_.tx_bytes, c_.rx_pkts, c_.rx_bytes, lost, loss_ratio,
      tx_pps / 1e6, rx_pps / 1e6, tx_bps / 1e9, rx_bps / 1e9, (tx_bps + tx_pps * l1) / 1e9,
      (rx_bps + rx_pps * l1) / 1e9, c_.rx_other_port, c_.arp_in, c_.arp_replies, c_.tx_retries,
      c_.alloc_fail, pcap_skipped_, per_s.c_str());
  std::fflush(stdout);
}

int Generator::Run() {
  std::vector<std::string> eal = {"arsec-pktgen", "-l", o_.lcore, "--file-prefix",
                                  o_.file_prefix, "--no-pci", "--log-level", "*:warning"};
  for (const std::string& p : o_.ports) eal.insert(eal.end(), {"--vdev", p});
  eal.insert(eal.end(), o_.eal_extra.begin(), o_.eal_extra.end());
  std::vector<char*> eal_argv;
  for (std::string& s : eal) eal_argv.push_back(s.data());
  eal_argv.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(eal_argv.size() - 1), eal_argv.data()) < 0) {
    std::fprintf(stderr, "arsec-pktgen: EAL init failed: %s (args: %s)\n",
                 rte_strerror(rte_errno), absl::StrJoin(eal, " ").c_str());
    return 1;
  }
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);
  hz_ = rte_get_tsc_hz();
  int rc = SetUpPorts();
  if (rc == 0 && !o_.src_mac_given) o_.synth.src_mac = ports_[o_.tx_port].mac;
  FILE* h = o_.json ? stderr : stdout;
  if (rc == 0) {
    for (size_t i = 0; i < ports_.size(); ++i)
      std::fprintf(h, "port %zu: %s mac %s%s%s\n", i, ports_[i].vdev.c_str(),
                   FormatMac(ports_[i].mac).c_str(), i == o_.tx_port ? " [tx]" : "",
                   static_cast<int>(i) == o_.rx_port ? " [rx]" : "");
    if (!WaitLinks()) rc = 1;
  }
  if (rc == 0 && o_.have_gateway && !o_.dst_mac_given) {
    if (!ResolveGateway()) rc = 1;
    else {
      o_.synth.dst_mac = gw_mac_;
      std::fprintf(h, "gateway %s is at %s\n", FormatIpv4(o_.gateway).c_str(),
                   FormatMac(gw_mac_).c_str());
    }
  }
  if (rc == 0) rc = BuildFrames();
  if (rc == 0) {
    std::fprintf(h, "sending %zu distinct frame(s), %s, rate %s, %s mode, for %s\n",
                 frames_.size(),
                 o_.pcap_in.empty() ? absl::StrFormat("%u B x %u flows", o_.synth.frame_size, o_.synth.flows).c_str()
                                    : o_.pcap_in.c_str(),
                 o_.rate_pps > 0 ? absl::StrFormat("%.0f pps", o_.rate_pps).c_str() : "max",
                 o_.tx_mode == Options::kRef ? "ref" : "copy",
                 o_.duration_s > 0 ? absl::StrFormat("%.1f s", o_.duration_s).c_str() : "ever (Ctrl-C stops)");
    std::fflush(h);
    c_ = Counters{};
    Loop();
    PrintSummary();
  }
  for (rte_mbuf* m : ref_mbufs_) rte_pktmbuf_free(m);
  for (const Port& p : ports_) {
    rte_eth_dev_stop(p.id);
    rte_eth_dev_close(p.id);
  }
  // EAL leaves its runtime directory behind; a prefix nobody else can know is ours to
  // remove, a prefix given on the command line is left to whoever chose it.
  const std::string runtime_dir = rte_eal_get_runtime_dir();
  rte_eal_cleanup();
  if (o_.own_prefix && runtime_dir.find(o_.file_prefix) != std::string::npos) {
    std::error_code ec;
    std::filesystem::remove_all(runtime_dir, ec);
  }
  return rc;
}

int WritePcapOnly(const Options& o) {
  auto fs = BuildSynthetic(o.synth);
  if (!fs.ok()) {
    std::fprintf(stderr, "arsec-pktgen: %s\n", std::string(fs.status().message()).c_str());
    return 1;
  }
  const unsigned repeat = o.write_repeat ? o.write_repeat : (1023 + o.synth.flows) / o.synth.flows;
  if (absl::Status st = WritePcap(o.write_pcap, *fs, repeat); !st.ok()) {
    std::fprintf(stderr, "arsec-pktgen: %s\n", std::string(st.message()).c_str());
    return 1;
  }
  std::printf("wrote %s: %zu frames of %u B (%u flows x %u)\n", o.write_pcap.c_str(),
              fs->size() * repeat, o.synth.frame_size, o.synth.flows, repeat);
  return 0;
}

}  // namespace
}  // namespace arsec::perf

int main(int argc, char** argv) {
  arsec::perf::Options o;
  if (int rc = arsec::perf::ParseOptions(argc, argv, &o); rc != 0) return rc == 1 ? 0 : rc;
  if (!o.write_pcap.empty()) return arsec::perf::WritePcapOnly(o);
  arsec::perf::Generator g(std::move(o));
  return g.Run();
}
