// LZS (Stac LZS, ANSI X3.241-1994) for IPComp (RFC 2395): one packet is one stream,
// the history is reset per packet and every stream ends with the end marker.
//
// Bit stream, most significant bit first:
//   literal       0 bbbbbbbb
//   string        1 <offset> <length>
//     offset      1 ooooooo            offsets 1..127
//                 0 ooooooooooo        offsets 1..2047 (the encoder uses it for >= 128)
//     length      00=2 01=3 10=4 1100=5 1101=6 1110=7 1111nnnn=8+n (n < 15);
//                 n == 15 continues with further 4-bit groups, each adding its value,
//                 until a group below 15: 23 = 1111 1111 0000, 38 = 1111 1111 1111 0000
//   end marker    1 1 0000000          then zero bits up to the byte boundary
//
// Packet-path rules: no heap allocation, no exceptions, no DPDK dependency, time bounded
// by the input size. The decoder accepts any byte string without reading or writing out
// of bounds and reports malformed input with an error code.
#pragma once

#include <cstddef>
#include <cstdint>

namespace arsec::compress {

// Offsets are 1..2047 (11 bits); the history is the last 2047 bytes of this packet.
inline constexpr size_t kLzsMaxOffset = 2047;

// Largest compressed size of an n-byte input: every byte a 9-bit literal, the 9-bit end
// marker, padding. A capacity of at least this never makes Compress fail.
constexpr size_t LzsMaxCompressedSize(size_t n) { return (9 * n + 9 + 7) / 8; }

enum class LzsResult {
  kOk,            // one stream decoded, end marker found, nothing after its byte
  kOutputFull,    // the stream needs more than `cap` output bytes
  kTruncated,     // the input ends inside a token
  kBadOffset,     // offset 0 in the 11-bit form, or beyond the bytes produced so far
  kNoEndMarker,   // the input ends between tokens without an end marker
  kTrailingData,  // whole bytes follow the byte that holds the end marker
};

const char* LzsResultName(LzsResult r);

// Compressor with a caller-owned match finder (about 56 KiB): allocate one per worker
// once and reuse it for every packet; Compress never allocates and keeps no history
// between calls (RFC 2395). Not thread-safe: one object per thread.
class LzsCompressor {
 public:
  // max_chain: how many earlier positions with the same 3-byte hash are tried at each
  // position (1..4096); more compresses better and slower. 16 is the default.
  explicit LzsCompressor(int max_chain = 16);

  // Compresses in[0..n) into out[0..cap) as one stream with its end marker, padded to a
  // byte boundary. Returns the number of bytes written, or 0 if they would not fit in
  // `cap` (then nothing past out[cap-1] has been written; the caller sends the packet
  // uncompressed, RFC 3173). Pass cap < n to get 0 whenever compression does not shrink
  // the packet. n = 0 gives the 2-byte stream holding just the end marker. Inputs larger
  // than 2^31 bytes return 0.
  size_t Compress(const uint8_t* in, size_t n, uint8_t* out, size_t cap);

 private:
  static constexpr int kHash3Bits = 13;
  static constexpr int kHash2Bits = 12;
  static constexpr uint32_t kWindow = 2048;  // power of two above kLzsMaxOffset

  friend struct LzsCompressorTestPeer;  // tests drive base_ to the 32-bit wrap
  void ResetTables();

  // Positions are stored as base_ + index; any value below base_ is from an earlier call
  // and means "empty", so no per-packet clearing is needed.
  uint32_t head3_[1u << kHash3Bits];  // newest position of each 3-byte hash
  uint32_t head2_[1u << kHash2Bits];  // newest position of each 2-byte hash
  uint32_t prev_[kWindow];            // hash chain of the 3-byte heads, by position % 2048
  uint32_t base_ = 1;
  int max_chain_;
};

// Decodes one stream in[0..n) into out[0..cap). *out_len gets the number of bytes
// written (also on error, where they are not a valid packet). Never touches in[n..] or
// out[cap..]; runs in O(n + cap).
LzsResult LzsDecompress(const uint8_t* in, size_t n, uint8_t* out, size_t cap, size_t* out_len);

}  // namespace arsec::compress
