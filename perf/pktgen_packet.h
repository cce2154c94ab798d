// Packet templates for arsec-pktgen: synthetic Ethernet/IPv4/UDP frames spread over N
// flows, and pcap files read for replay or written for the pcap harness.
//
// Pure C++ with no DPDK dependency so it is unit-tested without hugepages. The generator
// builds every frame once, before the clock starts; the send loop only copies bytes (or
// bumps a reference count), never computes a header or checksum.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace arsec::perf {

inline constexpr unsigned kMinFrame = 64;     // Ethernet frame without FCS, as in PERF.md
inline constexpr unsigned kMaxFrame = 1514;   // 1500 B IP MTU + 14 B Ethernet header
inline constexpr unsigned kMaxFlows = 65536;
inline constexpr unsigned kEthHdr = 14;
inline constexpr unsigned kIpHdr = 20;
inline constexpr unsigned kUdpHdr = 8;
// Bytes a frame occupies on the wire beyond what the mbuf holds: FCS 4, preamble and
// start-of-frame delimiter 8, inter-frame gap 12.
inline constexpr unsigned kL1Overhead = 24;

using Mac = std::array<uint8_t, 6>;

// Which header fields change from one flow to the next (any combination).
enum FlowField : unsigned {
  kVarySrcIp = 1u << 0,
  kVaryDstIp = 1u << 1,
  kVarySrcPort = 1u << 2,
  kVaryDstPort = 1u << 3,
};

struct SynthSpec {
  unsigned frame_size = 64;   // bytes from the Ethernet destination to the payload's end
  unsigned flows = 1;
  unsigned vary = kVarySrcPort;
  Mac src_mac{0x02, 0, 0, 0, 0, 0x01};
  Mac dst_mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  uint32_t src_ip = 0xc0a80a02;   // 192.168.10.2 (host byte order)
  uint32_t dst_ip = 0xc6336401;   // 198.51.100.1
  uint16_t src_port = 1024;
  uint16_t dst_port = 5001;
  uint8_t ttl = 64;
};

// A set of frames stored back to back; frame i is data[offset[i] .. offset[i]+len[i]).
struct FrameSet {
  std::vector<uint8_t> data;
  std::vector<uint32_t> offset;
  std::vector<uint16_t> len;
  size_t size() const { return offset.size(); }
  const uint8_t* frame(size_t i) const { return data.data() + offset[i]; }
  void Add(const uint8_t* p, uint16_t n);
};

absl::Status ValidateSynth(const SynthSpec& spec);
// One frame per flow, in flow order.
absl::StatusOr<FrameSet> BuildSynthetic(const SynthSpec& spec);

// Classic libpcap files (either byte order, micro- or nanosecond stamps, Ethernet link
// type). pcapng is refused with a clear message. Frames longer than max_frame are skipped
// and counted in *skipped.
absl::StatusOr<FrameSet> ReadPcap(const std::string& path, size_t max_packets,
                                  unsigned max_frame, size_t* skipped);
// Writes `repeat` passes over the frames (the pcap harness replays the file in a loop, so
// the flows stay interleaved as the generator would send them).
absl::Status WritePcap(const std::string& path, const FrameSet& frames, unsigned repeat);

// Parsing helpers shared by the option parser.
absl::StatusOr<Mac> ParseMac(const std::string& s);
std::string FormatMac(const Mac& m);
absl::StatusOr<uint32_t> ParseIpv4(const std::string& s);   // host byte order
std::string FormatIpv4(uint32_t ip);
absl::StatusOr<unsigned> ParseFlowFields(const std::string& s);  // "src-ip,dst-port"
// "max" -> 0; "1000000", "2.5M", "800k" -> packets per second.
absl::StatusOr<double> ParseRate(const std::string& s);

uint16_t Ipv4HeaderChecksum(const uint8_t* hdr);

}  // namespace arsec::perf
