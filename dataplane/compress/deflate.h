// DEFLATE for IPComp (RFC 2394) on top of zlib: raw deflate (RFC 1951, no zlib header or
// Adler-32 trailer, windowBits -N), one packet is one stream, no history between packets.
//
// Packet-path rules (as for lzs.h): no heap allocation per packet, no exceptions, no DPDK
// dependency, output bounded by the caller's capacity. zlib's state is allocated once in
// the constructor (one object per worker thread) and reset per packet with
// deflateReset/inflateReset; allocations() counts zlib's allocations so tests can prove
// the packet path allocates nothing. The decompressor accepts any byte string without
// reading or writing out of bounds and reports malformed input with an error code.
#pragma once

#include <cstddef>
#include <cstdint>

#include <zlib.h>

namespace arsec::compress {

// Fast by default: on the packet path the ratio gain of level 6 over level 1 is small
// for MTU-sized packets while the cost per byte is several times higher.
inline constexpr int kDeflateDefaultLevel = 1;
// Compression window. The decompressor always uses 32 KiB (15) and so accepts any peer.
// NOTE interop: Linux's crypto/deflate.c inflates IPComp with a 2 KiB window (11); a Linux
// peer fails on packets whose matches reach further back than 2048 bytes unless this is 11.
inline constexpr int kDeflateDefaultWindowBits = 15;
// zlib memLevel: hash table of 2^(memLevel+7) entries, cleared by every deflateReset
// (64 KiB at 8). Lower values make the per-packet reset cheaper and compress a bit worse.
inline constexpr int kDeflateDefaultMemLevel = 8;

// Upper bound of the raw deflate size of an n-byte input for any level, window and
// memLevel (zlib's conservative deflateBound without wrapper). A capacity of at least
// this never makes Compress fail.
constexpr size_t DeflateMaxCompressedSize(size_t n) {
  return n + ((n + 7) >> 3) + ((n + 63) >> 6) + 5;
}

enum class DeflateResult {
  kOk,            // one complete stream (final block seen), all input consumed
  kOutputFull,    // the stream needs more than `cap` output bytes
  kTruncated,     // the input ends before the final block is complete
  kCorrupt,       // zlib reports invalid data (bad block type, code, distance...)
  kTrailingData,  // bytes follow the end of the final block
  kNotReady,      // the object failed to initialise (out of memory at start-up)
};

const char* DeflateResultName(DeflateResult r);

// One per worker thread; not thread-safe; not copyable.
class DeflateCompressor {
 public:
  // level 0..9 (clamped), window_bits 9..15, mem_level 1..9 (clamped).
  explicit DeflateCompressor(int level = kDeflateDefaultLevel,
                             int window_bits = kDeflateDefaultWindowBits,
                             int mem_level = kDeflateDefaultMemLevel);
  ~DeflateCompressor();
  DeflateCompressor(const DeflateCompressor&) = delete;
  DeflateCompressor& operator=(const DeflateCompressor&) = delete;

  bool ok() const { return ok_; }
  int level() const { return level_; }
  size_t allocations() const { return allocs_; }

  // Compresses in[0..n) into out[0..cap) as one raw deflate stream ending with a final
  // block. Returns the bytes written, or 0 if they would not fit in `cap` (nothing past
  // out[cap-1] is written; the caller sends the packet uncompressed, RFC 3173). Pass
  // cap < n to get 0 whenever compression does not shrink the packet. n = 0 gives a
  // short valid stream. Returns 0 if !ok() or n > 2^31.
  size_t Compress(const uint8_t* in, size_t n, uint8_t* out, size_t cap);

 private:
  static void* Alloc(void* opaque, unsigned items, unsigned size);
  static void Free(void* opaque, void* p);
  z_stream zs_{};
  bool ok_ = false;
  int level_;
  size_t allocs_ = 0;
};

class DeflateDecompressor {
 public:
  DeflateDecompressor();
  ~DeflateDecompressor();
  DeflateDecompressor(const DeflateDecompressor&) = delete;
  DeflateDecompressor& operator=(const DeflateDecompressor&) = delete;

  bool ok() const { return ok_; }
  size_t allocations() const { return allocs_; }

  // Decodes one raw deflate stream in[0..n) into out[0..cap). *out_len gets the bytes
  // written (also on error, where they are not a valid packet). Never touches in[n..] or
  // out[cap..]; time bounded by n + cap.
  DeflateResult Decompress(const uint8_t* in, size_t n, uint8_t* out, size_t cap,
                           size_t* out_len);

 private:
  static void* Alloc(void* opaque, unsigned items, unsigned size);
  static void Free(void* opaque, void* p);
  z_stream zs_{};
  bool ok_ = false;
  size_t allocs_ = 0;
};

}  // namespace arsec::compress
