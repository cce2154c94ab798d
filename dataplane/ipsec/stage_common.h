// What the ESP, AH and IPComp packet stages share: the per-packet verdict (one value per
// drop counter, so the pipeline maps a verdict straight to its counter), the per-op
// scratch that must outlive an asynchronous crypto op, and the IPv4 header edits every
// stage makes (outer header, checksum, checking a decapsulated inner header).
//
// Packet contract of every stage: a single-segment rte_mbuf whose data starts at the
// IPv4 header (the pipeline strips Ethernet before and re-prepends it after). Stages
// grow and shrink the packet with rte_pktmbuf_prepend/adj and MbufAppend/MbufTrim below
// and check the head- and tailroom first, so a packet that does not fit is returned
// untouched with kNoRoom instead of being half edited.
//
// Two per-packet costs this file avoids (perf/micro/esp_bench.cc measures them):
//   - rte_pktmbuf_append/trim walk the segment chain, which reads m->next in the mbuf's
//     second cache line, a line nothing else on the path touches; a single segment
//     needs only data_len and pkt_len (first line).
//   - A header written field by field and then summed with wide loads stalls on store
//     forwarding (about 15 cycles per header). Checksums are computed from values
//     (WriteOuterIpv4) or from the header before its edits (Ipv4CksumEdited).
#pragma once

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <cstring>

#include "dataplane/ipsec/sa.h"

namespace arsec::dp {

enum class StageVerdict : uint8_t {
  kOk = 0,
  kNotCompressed,    // IPComp: passed without compression (a success, counted apart)
  kBadLength,        // truncated, cipher text not block aligned, lengths inconsistent
  kBadTrailer,       // ESP padding bytes or pad length wrong (RFC 4303 section 2.4)
  kAuthFailed,       // ICV mismatch (from the crypto op's status)
  kBadInner,         // decapsulation does not yield a valid IPv4 packet / next header
  kNoRoom,           // not enough head- or tailroom (packet unchanged)
  kCryptoError,      // the engine failed the op
  kDummy,            // ESP next header 59: a dummy packet (RFC 4303 section 2.6), drop
  kBadHeader,        // wrong protocol, AH length for the SA's ICV, IPComp flags/next header
  kKeepalive,        // NAT-T keepalive (RFC 3948 section 2.3): consume silently
  kNonEsp,           // UDP-encapsulated IKE (non-ESP marker): punt to the control plane
  kBadCpi,           // IPComp CPI is not the SA's
  kDecompressFailed, // the IPComp codec rejected the data
};
inline constexpr unsigned kStageVerdictCount = 14;

constexpr const char* StageVerdictName(StageVerdict v) {
  switch (v) {
    case StageVerdict::kOk: return "ok";
    case StageVerdict::kNotCompressed: return "not compressed";
    case StageVerdict::kBadLength: return "bad length";
    case StageVerdict::kBadTrailer: return "bad padding";
    case StageVerdict::kAuthFailed: return "ICV failure";
    case StageVerdict::kBadInner: return "bad inner packet";
    case StageVerdict::kNoRoom: return "no room";
    case StageVerdict::kCryptoError: return "crypto error";
    case StageVerdict::kDummy: return "dummy packet";
    case StageVerdict::kBadHeader: return "bad header";
    case StageVerdict::kKeepalive: return "NAT-T keepalive";
    case StageVerdict::kNonEsp: return "non-ESP marker";
    case StageVerdict::kBadCpi: return "unknown CPI";
    case StageVerdict::kDecompressFailed: return "decompress failed";
  }
  return "?";
}

// Per-op scratch for ESP and AH: everything an op points at outside the packet, and what
// Finish needs back. The pipeline keeps an array indexed like its CryptoOp array; an
// entry must stay untouched from Prepare until Finish.
struct alignas(64) OpScratch {
  uint8_t icv[32];  // inbound: the received ICV (the op compares against this copy)
  uint8_t aad[12];  // ESP GCM: SPI || seq_lo, or SPI || seq_hi || seq_lo with ESN
  uint8_t ihl;      // AH: bytes of `ip` saved
  uint8_t pad[3];
  uint8_t ip[60];   // AH: the IPv4 header with its real mutable fields
};
static_assert(sizeof(OpScratch) == 128);

inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoNone = 59;  // IPv6-NoNxt: an ESP dummy packet
inline constexpr uint16_t kIpv4Df = 0x4000;
inline constexpr uint16_t kIpv4FragMask = 0x3fff;  // MF + offset

inline uint16_t LoadBe16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t LoadBe32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
inline void StoreBe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void StoreBe32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// The header checksum of `ihl` bytes at ip (a multiple of 4), with the checksum field
// taken as 0. 32-bit words summed in 64 bits, folded once (byte-order neutral).
inline uint16_t Ipv4HeaderCksum(const uint8_t* ip, unsigned ihl) {
  uint64_t s = 0;
  uint32_t w[5];
  if (ihl == 20) {  // no options, the common case: straight-line
    std::memcpy(w, ip, 20);
    s = uint64_t{w[0]} + w[1] + w[2] + w[3] + w[4];
  } else {
    for (unsigned i = 0; i < ihl; i += 4) {
      std::memcpy(w, ip + i, 4);
      s += w[0];
    }
  }
  uint16_t ck;
  std::memcpy(&ck, ip + 10, 2);
  s -= uint64_t{ck} << 16;  // as if the field were 0: bytes 10-11 are the high half of
                            // the little-endian word at 8 (pkt.h asserts little endian)
  s = (s & 0xffffffffu) + (s >> 32);
  s = (s & 0xffffffffu) + (s >> 32);
  uint32_t t = static_cast<uint32_t>(s);
  t = (t & 0xffff) + (t >> 16);
  t = (t & 0xffff) + (t >> 16);
  return static_cast<uint16_t>(~t);  // in memory order, as stored
}

inline void SetIpv4Cksum(uint8_t* ip, unsigned ihl) {
  const uint16_t ck = Ipv4HeaderCksum(ip, ihl);
  std::memcpy(ip + 10, &ck, 2);
}

// The header checksum (memory order) the IPv4 header at ip will have once its total
// length is total_len and its protocol proto: summed from the header as it is now, so
// the caller can move it and write the new fields without summing them back. Every
// other byte counts as it is (a full recomputation, not an incremental update).
inline uint16_t Ipv4CksumEdited(const uint8_t* ip, unsigned ihl, uint16_t total_len,
                                uint8_t proto) {
  uint64_t s = 0;
  for (unsigned i = 0; i < ihl; i += 4) {
    uint32_t w;
    std::memcpy(&w, ip + i, 4);
    s += w;
  }
  uint16_t old_tl, ck;
  std::memcpy(&old_tl, ip + 2, 2);
  std::memcpy(&ck, ip + 10, 2);
  // Little-endian words: bytes 2-3 and 10-11 are high halves, byte 9 bits 8-15.
  s -= (uint64_t{old_tl} << 16) + (uint64_t{ck} << 16) + (uint64_t{ip[9]} << 8);
  s += (uint64_t{rte_cpu_to_be_16(total_len)} << 16) + (uint64_t{proto} << 8);
  s = (s & 0xffffffffu) + (s >> 32);
  s = (s & 0xffffffffu) + (s >> 32);
  uint32_t t = static_cast<uint32_t>(s);
  t = (t & 0xffff) + (t >> 16);
  t = (t & 0xffff) + (t >> 16);
  return static_cast<uint16_t>(~t);
}

// Single-segment growth and shrinking at the tail (the caller checked the room / the
// length): what rte_pktmbuf_append/trim do for one segment, without the chain walk.
inline uint8_t* MbufAppend(rte_mbuf* m, uint32_t n) {
  uint8_t* tail = rte_pktmbuf_mtod_offset(m, uint8_t*, m->data_len);
  m->data_len = static_cast<uint16_t>(m->data_len + n);
  m->pkt_len += n;
  return tail;
}
inline void MbufTrim(rte_mbuf* m, uint32_t n) {
  m->data_len = static_cast<uint16_t>(m->data_len - n);
  m->pkt_len -= n;
}

// A 20-byte outer header for tunnel mode (RFC 4301 section 5.1.2.1): TOS (DSCP and ECN)
// copied from the inner header, DF per the SA, TTL 64, the SA's tunnel addresses.
// `inner` may be read after nothing of it is overwritten: the outer header is written
// in front of it. The checksum is summed from the field values (host-order 16-bit
// words), not read back from the bytes just written.
inline void WriteOuterIpv4(uint8_t* p, const Sa& sa, const uint8_t* inner, uint16_t total_len,
                           uint8_t proto, uint16_t ip_id) {
  uint16_t frag = 0;
  switch (sa.dfbit) {
    case SaDfBit::kCopy: frag = LoadBe16(inner + 6) & kIpv4Df; break;
    case SaDfBit::kSet: frag = kIpv4Df; break;
    case SaDfBit::kClear: break;
  }
  const uint8_t tos = inner[1];
  const uint32_t src = rte_be_to_cpu_32(sa.tun_src_be);
  const uint32_t dst = rte_be_to_cpu_32(sa.tun_dst_be);
  uint32_t s = (0x4500u | tos) + total_len + ip_id + frag + (64u << 8 | proto) + (src >> 16) +
               (src & 0xffff) + (dst >> 16) + (dst & 0xffff);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  p[0] = 0x45;
  p[1] = tos;
  StoreBe16(p + 2, total_len);
  StoreBe16(p + 4, ip_id);
  StoreBe16(p + 6, frag);
  p[8] = 64;
  p[9] = proto;
  StoreBe16(p + 10, static_cast<uint16_t>(~s));
  std::memcpy(p + 12, &sa.tun_src_be, 4);
  std::memcpy(p + 16, &sa.tun_dst_be, 4);
}

// The IPv4 header length of the packet at ip (data_len bytes), or 0 when the header is
// not a plausible IPv4 header (version, IHL, the bytes present).
inline unsigned Ipv4HeaderLen(const uint8_t* ip, uint32_t data_len) {
  if (data_len < 20 || (ip[0] >> 4) != 4) return 0;
  const unsigned ihl = (ip[0] & 0xfu) * 4u;
  return ihl >= 20 && ihl <= data_len ? ihl : 0;
}

// A decapsulated inner packet of `len` bytes at p: version 4, a sane IHL, a correct
// header checksum, and a total length within len (the rest is TFC padding, RFC 4303
// section 2.7, which the caller trims). Returns the inner total length, 0 if invalid.
inline uint32_t CheckInnerIpv4(const uint8_t* p, uint32_t len) {
  const unsigned ihl = Ipv4HeaderLen(p, len);
  if (ihl == 0) return 0;
  const uint32_t tl = LoadBe16(p + 2);
  if (tl < ihl || tl > len) return 0;
  uint16_t ck;
  std::memcpy(&ck, p + 10, 2);
  return Ipv4HeaderCksum(p, ihl) == ck ? tl : 0;
}

// The IPv4 header length and total length of the packet m starts with, after checking
// them against the mbuf and trimming bytes past the total length (Ethernet padding).
// Returns false when the header is not valid; *ihl, *tl are then unspecified.
inline bool OuterIpv4(rte_mbuf* m, unsigned* ihl, uint32_t* tl) {
  const auto* ip = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint32_t len = rte_pktmbuf_data_len(m);
  *ihl = Ipv4HeaderLen(ip, len);
  if (*ihl == 0) return false;
  *tl = LoadBe16(ip + 2);
  if (*tl < *ihl || *tl > len) return false;
  if (*tl < len) MbufTrim(m, len - *tl);
  return true;
}

}  // namespace arsec::dp
