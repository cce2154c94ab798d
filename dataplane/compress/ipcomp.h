// IPComp (RFC 3173) on plain byte buffers: the 4-byte IPComp header and the per-packet
// compress / decompress decisions, over the DEFLATE (RFC 2394) and LZS (RFC 2395) codecs.
// No mbufs, no DPDK: the stage that owns the packet passes the IP payload in and splices
// the result back.
//
//   0                   1                   2                   3
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  Next Header  |     Flags     | Compression Parameter Index   |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   Flags: reserved, MUST be 0 on send and MUST be 0 on receive (else the packet is
//   dropped). CPI: network byte order; 0..63 are the well-known IPCOMP transform IDs
//   (RFC 2407 section 4.4.5 / IANA): 2 = DEFLATE, 3 = LZS; 256..61439 negotiated by IKE.
//
// Packet-path rules: no allocation per packet (codecs live in an IpcompContext built
// once per worker), no exceptions, output bounded by the caller's capacity.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dataplane/compress/deflate.h"
#include "dataplane/compress/lzs.h"

namespace arsec::compress {

inline constexpr size_t kIpcompHeaderLen = 4;
inline constexpr uint8_t kIpprotoComp = 108;  // IP protocol number of IPComp
inline constexpr uint16_t kCpiDeflate = 2;    // IPCOMP_DEFLATE
inline constexpr uint16_t kCpiLzs = 3;        // IPCOMP_LZS

enum class IpcompAlg : uint8_t { kDeflate, kLzs };

constexpr uint16_t IpcompWellKnownCpi(IpcompAlg a) {
  return a == IpcompAlg::kDeflate ? kCpiDeflate : kCpiLzs;
}

struct IpcompHeader {
  uint8_t next_header = 0;
  uint8_t flags = 0;
  uint16_t cpi = 0;  // host order
};

// Writes the 4 header bytes (flags 0, CPI big-endian) at p.
void WriteIpcompHeader(uint8_t* p, uint8_t next_header, uint16_t cpi);
// Reads the header fields without judging them; false if n < 4.
bool ReadIpcompHeader(const uint8_t* p, size_t n, IpcompHeader* h);

struct IpcompConfig {
  // Payloads shorter than this are sent uncompressed without trying. 90 bytes is the
  // threshold Linux uses for deflate and LZS (xfrm_algo.c): a payload this small (TCP
  // ACKs, DNS, VoIP frames) almost never shrinks by more than the 4-byte IPComp header
  // plus the codec's own overhead (deflate block header/EOB, LZS end marker), so trying
  // only costs cycles and adds latency.
  size_t min_payload = 90;
  int deflate_level = kDeflateDefaultLevel;
  int deflate_window_bits = kDeflateDefaultWindowBits;
  int deflate_mem_level = kDeflateDefaultMemLevel;
  int lzs_max_chain = 16;
};

enum class IpcompCompressStatus {
  kCompressed,      // out[0..len) = IPComp header + compressed payload
  kBelowThreshold,  // n < min_payload: send uncompressed
  kNotSmaller,      // header + compressed >= n (RFC 3173 section 2.2): send uncompressed
  kNoRoom,          // cap too small for a result smaller than n: send uncompressed
};

struct IpcompCompressResult {
  IpcompCompressStatus status;
  size_t len;  // bytes written to out when kCompressed, else 0
  bool compressed() const { return status == IpcompCompressStatus::kCompressed; }
};

enum class IpcompError {
  kOk,
  kBadHeader,         // shorter than the header, flags != 0, or Next Header is IPComp
  kUnknownCpi,        // CPI is not the one of this SA's algorithm
  kDecompressFailed,  // the codec rejected the data (corrupt, truncated, trailing bytes)
  kTooBig,            // the decompressed payload does not fit in `cap`
};

const char* IpcompErrorName(IpcompError e);
const char* IpcompCompressStatusName(IpcompCompressStatus s);

struct IpcompDecompressResult {
  IpcompError error;
  uint8_t next_header;  // valid when kOk
  size_t len;           // payload bytes in out when kOk, else 0
};

// One per worker thread (holds about 330 KiB of codec state); not thread-safe.
class IpcompContext {
 public:
  explicit IpcompContext(const IpcompConfig& cfg = {});
  IpcompContext(const IpcompContext&) = delete;
  IpcompContext& operator=(const IpcompContext&) = delete;

  bool ok() const { return deflate_c_.ok() && deflate_d_.ok(); }
  const IpcompConfig& config() const { return cfg_; }
  const DeflateCompressor& deflate_compressor() const { return deflate_c_; }
  const DeflateDecompressor& deflate_decompressor() const { return deflate_d_; }

  // Compresses payload[0..n) (the IP payload after the IP header, ESP/AH excluded) with
  // `alg` and writes header + data to out[0..cap). Succeeds only if the result is
  // strictly smaller than n. cpi = 0 means the algorithm's well-known CPI; pass the
  // negotiated CPI of the SA otherwise. out must not overlap payload.
  IpcompCompressResult Compress(IpcompAlg alg, uint8_t next_header, const uint8_t* payload,
                                size_t n, uint8_t* out, size_t cap, uint16_t cpi = 0);

  // Parses and checks the header of in[0..n) (header + compressed data) for an SA using
  // `alg` (cpi = 0: the well-known CPI), and decompresses the data into out[0..cap).
  // out must not overlap in.
  IpcompDecompressResult Decompress(IpcompAlg alg, const uint8_t* in, size_t n, uint8_t* out,
                                    size_t cap, uint16_t cpi = 0);

 private:
  IpcompConfig cfg_;
  DeflateCompressor deflate_c_;
  DeflateDecompressor deflate_d_;
  LzsCompressor lzs_c_;
};

}  // namespace arsec::compress
