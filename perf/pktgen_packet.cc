// Frame building and pcap I/O for arsec-pktgen (see pktgen_packet.h).
#include "perf/pktgen_packet.h"

#include <arpa/inet.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace arsec::perf {
namespace {

void Put16(uint8_t* p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }
void Put32(uint8_t* p, uint32_t v) { Put16(p, v >> 16); Put16(p + 2, v & 0xffff); }

constexpr uint32_t kPcapMagicUs = 0xa1b2c3d4;
constexpr uint32_t kPcapMagicNs = 0xa1b23c4d;
constexpr uint32_t kPcapngMagic = 0x0a0d0d0a;
constexpr uint32_t kLinkEthernet = 1;

uint32_t Swap32(uint32_t v) { return __builtin_bswap32(v); }

}  // namespace

void FrameSet::Add(const uint8_t* p, uint16_t n) {
  offset.push_back(static_cast<uint32_t>(data.size()));
  len.push_back(n);
  data.insert(data.end(), p, p + n);
}

uint16_t Ipv4HeaderChecksum(const uint8_t* hdr) {
  uint32_t sum = 0;
  for (unsigned i = 0; i < kIpHdr; i += 2) {
    if (i == 10) continue;  // the checksum field itself
    sum += (hdr[i] << 8) | hdr[i + 1];
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

absl::Status ValidateSynth(const SynthSpec& s) {
  if (s.frame_size < kMinFrame || s.frame_size > kMaxFrame)
    return absl::InvalidArgumentError(absl::StrFormat(
        "frame size %u out of range %u..%u bytes", s.frame_size, kMinFrame, kMaxFrame));
  if (s.flows < 1 || s.flows > kMaxFlows)
    return absl::InvalidArgumentError(
        absl::StrFormat("flows %u out of range 1..%u", s.flows, kMaxFlows));
  if (s.vary == 0 && s.flows > 1)
    return absl::InvalidArgumentError("several flows need at least one field to vary");
  return absl::OkStatus();
}

absl::StatusOr<FrameSet> BuildSynthetic(const SynthSpec& s) {
  if (absl::Status st = ValidateSynth(s); !st.ok()) return st;
  FrameSet out;
  out.data.reserve(size_t{s.flows} * s.frame_size);
  std::vector<uint8_t> f(s.frame_size);
  const unsigned ip_len = s.frame_size - kEthHdr;
  for (unsigned i = 0; i < s.flows; ++i) {
    std::fill(f.begin(), f.end(), 0);
    std::memcpy(&f[0], s.dst_mac.data(), 6);
    std::memcpy(&f[6], s.src_mac.data(), 6);
    Put16(&f[12], 0x0800);
    uint8_t* ip = &f[kEthHdr];
    ip[0] = 0x45;
    Put16(ip + 2, ip_len);
    Put16(ip + 4, static_cast<uint16_t>(i));
    ip[8] = s.ttl;
    ip[9] = 17;  // UDP
    Put32(ip + 12, s.src_ip + ((s.vary & kVarySrcIp) ? i : 0));
    Put32(ip + 16, s.dst_ip + ((s.vary & kVaryDstIp) ? i : 0));
    Put16(ip + 10, Ipv4HeaderChecksum(ip));
    uint8_t* udp = ip + kIpHdr;
    Put16(udp, static_cast<uint16_t>(s.src_port + ((s.vary & kVarySrcPort) ? i : 0)));
    Put16(udp + 2, static_cast<uint16_t>(s.dst_port + ((s.vary & kVaryDstPort) ? i : 0)));
    Put16(udp + 4, ip_len - kIpHdr);
    // UDP checksum 0 = "not computed", legal for IPv4; the payload is a recognisable
    // pattern so captures of the generator's traffic are easy to pick out.
    uint8_t* pay = udp + kUdpHdr;
    const unsigned pay_len = ip_len - kIpHdr - kUdpHdr;
    static constexpr uint8_t kTag[4] = {'A', 'R', 'S', 'G'};
    for (unsigned k = 0; k < pay_len; ++k) pay[k] = k < 4 ? kTag[k] : (k + i) & 0xff;
    out.Add(f.data(), static_cast<uint16_t>(f.size()));
  }
  return out;
}

absl::StatusOr<FrameSet> ReadPcap(const std::string& path, size_t max_packets,
                                  unsigned max_frame, size_t* skipped) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open pcap ", path));
  uint8_t gh[24];
  if (!in.read(reinterpret_cast<char*>(gh), sizeof gh))
    return absl::InvalidArgumentError(absl::StrCat(path, ": too short for a pcap header"));
  uint32_t magic;
  std::memcpy(&magic, gh, 4);
  bool swap = false;
  if (magic == kPcapMagicUs || magic == kPcapMagicNs) {
  } else if (Swap32(magic) == kPcapMagicUs || Swap32(magic) == kPcapMagicNs) {
    swap = true;
  } else if (magic == kPcapngMagic) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": pcapng is not supported; convert with `editcap -F pcap IN OUT`"));
  } else {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a pcap file"));
  }
  auto rd32 = [swap](const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return swap ? Swap32(v) : v;
  };
  if (rd32(gh + 20) != kLinkEthernet)
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": link type ", rd32(gh + 20), " is not Ethernet (1)"));
  FrameSet out;
  size_t skip = 0;
  std::vector<uint8_t> buf;
  for (;;) {
    uint8_t rh[16];
    if (!in.read(reinterpret_cast<char*>(rh), sizeof rh)) break;
    const uint32_t incl = rd32(rh + 8), orig = rd32(rh + 12);
    if (incl > 262144)
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": record ", out.size() + skip, " claims ", incl, " bytes"));
    buf.resize(incl);
    if (!in.read(reinterpret_cast<char*>(buf.data()), incl))
      return absl::InvalidArgumentError(absl::StrCat(path, ": truncated record"));
    // A snapped capture would send frames shorter than the originals: refuse to guess.
    if (incl != orig || incl < kEthHdr || incl > max_frame) {
      ++skip;
      continue;
    }
    out.Add(buf.data(), static_cast<uint16_t>(incl));
    if (out.size() >= max_packets) break;
  }
  if (skipped) *skipped = skip;
  if (out.size() == 0)
    return absl::InvalidArgumentError(absl::StrCat(path, ": no usable frames (", skip,
                                                   " skipped: truncated or too long)"));
  return out;
}

absl::Status WritePcap(const std::string& path, const FrameSet& frames, unsigned repeat) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!f) return absl::InternalError(absl::StrCat("cannot create ", path, ": ", strerror(errno)));
  const uint32_t gh[6] = {kPcapMagicUs, 0x00040002u, 0, 0, 65535, kLinkEthernet};
  std::fwrite(gh, sizeof gh, 1, f.get());
  uint64_t n = 0;
  for (unsigned r = 0; r < repeat; ++r) {
    for (size_t i = 0; i < frames.size(); ++i, ++n) {
      const uint32_t rh[4] = {static_cast<uint32_t>(n / 1000000),
                              static_cast<uint32_t>(n % 1000000), frames.len[i], frames.len[i]};
      std::fwrite(rh, sizeof rh, 1, f.get());
      std::fwrite(frames.frame(i), frames.len[i], 1, f.get());
    }
  }
  if (std::fflush(f.get()) != 0 || std::ferror(f.get()))
    return absl::InternalError(absl::StrCat("write error on ", path));
  return absl::OkStatus();
}

absl::StatusOr<Mac> ParseMac(const std::string& s) {
  std::vector<std::string> parts = absl::StrSplit(s, absl::ByAnyChar(":-"));
  Mac m{};
  if (parts.size() != 6) return absl::InvalidArgumentError(absl::StrCat("bad MAC address '", s, "'"));
  for (int i = 0; i < 6; ++i) {
    int v;
    if (parts[i].empty() || parts[i].size() > 2 || !absl::SimpleHexAtoi(parts[i], &v))
      return absl::InvalidArgumentError(absl::StrCat("bad MAC address '", s, "'"));
    m[i] = static_cast<uint8_t>(v);
  }
  return m;
}

std::string FormatMac(const Mac& m) {
  return absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

absl::StatusOr<uint32_t> ParseIpv4(const std::string& s) {
  in_addr a;
  if (inet_pton(AF_INET, s.c_str(), &a) != 1)
    return absl::InvalidArgumentError(absl::StrCat("bad IPv4 address '", s, "'"));
  return ntohl(a.s_addr);
}

std::string FormatIpv4(uint32_t ip) {
  return absl::StrFormat("%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
}

absl::StatusOr<unsigned> ParseFlowFields(const std::string& s) {
  unsigned v = 0;
  for (absl::string_view p : absl::StrSplit(s, ',')) {
    if (p == "src-ip") v |= kVarySrcIp;
    else if (p == "dst-ip") v |= kVaryDstIp;
    else if (p == "src-port") v |= kVarySrcPort;
    else if (p == "dst-port") v |= kVaryDstPort;
    else
      return absl::InvalidArgumentError(absl::StrCat(
          "bad flow field '", p, "' (want src-ip, dst-ip, src-port, dst-port)"));
  }
  return v;
}

absl::StatusOr<double> ParseRate(const std::string& s) {
  if (s == "max" || s == "0") return 0.0;
  std::string num = s;
  double mult = 1;
  if (!num.empty() && (num.back() == 'M' || num.back() == 'm')) mult = 1e6, num.pop_back();
  else if (!num.empty() && (num.back() == 'k' || num.back() == 'K')) mult = 1e3, num.pop_back();
  double v;
  if (!absl::SimpleAtod(num, &v) || !std::isfinite(v) || v <= 0 || v * mult > 1e9)
    return absl::InvalidArgumentError(absl::StrCat("bad rate '", s, "' (max, or packets per second such as 1000000, 2.5M, 800k)"));
  return v * mult;
}

}  // namespace arsec::perf
