// DEFLATE for IPComp (RFC 2394) via zlib; see deflate.h.
#include "dataplane/compress/deflate.h"

#include <algorithm>
#include <climits>
#include <cstdlib>

namespace arsec::compress {
namespace {

constexpr size_t kMaxChunk = size_t{1} << 31;  // fits zlib's uInt avail_in/avail_out

}  // namespace

const char* DeflateResultName(DeflateResult r) {
  switch (r) {
    case DeflateResult::kOk: return "ok";
    case DeflateResult::kOutputFull: return "output-full";
    case DeflateResult::kTruncated: return "truncated";
    case DeflateResult::kCorrupt: return "corrupt";
    case DeflateResult::kTrailingData: return "trailing-data";
    case DeflateResult::kNotReady: return "not-ready";
  }
  return "?";
}

// ---- compressor ----

void* DeflateCompressor::Alloc(void* opaque, unsigned items, unsigned size) {
  ++static_cast<DeflateCompressor*>(opaque)->allocs_;
  return std::calloc(items, size);
}
void DeflateCompressor::Free(void*, void* p) { std::free(p); }

DeflateCompressor::DeflateCompressor(int level, int window_bits, int mem_level)
    : level_(std::clamp(level, 0, 9)) {
  zs_.zalloc = &DeflateCompressor::Alloc;
  zs_.zfree = &DeflateCompressor::Free;
  zs_.opaque = this;
  // Negative windowBits: raw deflate, no zlib header/trailer (RFC 2394 section 2).
  ok_ = deflateInit2(&zs_, level_, Z_DEFLATED, -std::clamp(window_bits, 9, 15),
                     std::clamp(mem_level, 1, 9), Z_DEFAULT_STRATEGY) == Z_OK;
}

DeflateCompressor::~DeflateCompressor() {
  if (ok_) deflateEnd(&zs_);
}

size_t DeflateCompressor::Compress(const uint8_t* in, size_t n, uint8_t* out, size_t cap) {
  if (!ok_ || n > kMaxChunk || out == nullptr || cap == 0) return 0;
  if (deflateReset(&zs_) != Z_OK) return 0;  // fresh history per packet (RFC 2394)
  static const uint8_t kEmpty = 0;
  zs_.next_in = const_cast<Bytef*>(n ? in : &kEmpty);
  zs_.avail_in = static_cast<uInt>(n);
  zs_.next_out = out;
  zs_.avail_out = static_cast<uInt>(std::min(cap, kMaxChunk));
  // One call: Z_STREAM_END means the whole stream fit; anything else (Z_OK/Z_BUF_ERROR
  // with avail_out exhausted) means it did not, and zlib wrote only within avail_out.
  int rc = deflate(&zs_, Z_FINISH);
  if (rc == Z_OK && zs_.avail_out == 0 && zs_.avail_in == 0) {
    // zlib returns Z_OK, not Z_STREAM_END, when the final block exactly fills the
    // buffer, and refuses a further call with avail_out == 0. Finish into a scratch
    // buffer: the stream fit iff nothing more is produced.
    uint8_t scratch[16];
    zs_.next_out = scratch;
    zs_.avail_out = sizeof(scratch);
    rc = deflate(&zs_, Z_FINISH);
    if (rc != Z_STREAM_END || zs_.avail_out != sizeof(scratch)) return 0;
    return std::min(cap, kMaxChunk);
  }
  if (rc != Z_STREAM_END) return 0;
  return static_cast<size_t>(zs_.total_out);
}

// ---- decompressor ----

void* DeflateDecompressor::Alloc(void* opaque, unsigned items, unsigned size) {
  ++static_cast<DeflateDecompressor*>(opaque)->allocs_;
  return std::calloc(items, size);
}
void DeflateDecompressor::Free(void*, void* p) { std::free(p); }

DeflateDecompressor::DeflateDecompressor() {
  zs_.zalloc = &DeflateDecompressor::Alloc;
  zs_.zfree = &DeflateDecompressor::Free;
  zs_.opaque = this;
  // Always the full 32 KiB window, so streams from any peer window size decode.
  ok_ = inflateInit2(&zs_, -15) == Z_OK;
  if (!ok_) return;
  // zlib allocates the sliding window lazily on the first inflate that stops with output
  // pending; force it now (a 1-byte final stored block, inflated without Z_FINISH) so the
  // packet path never allocates. inflateReset keeps the window.
  static const uint8_t kWarm[] = {0x01, 0x01, 0x00, 0xfe, 0xff, 'x'};
  uint8_t sink[4];
  zs_.next_in = const_cast<Bytef*>(kWarm);
  zs_.avail_in = sizeof(kWarm);
  zs_.next_out = sink;
  zs_.avail_out = sizeof(sink);
  (void)inflate(&zs_, Z_NO_FLUSH);
  ok_ = inflateReset(&zs_) == Z_OK;
}

DeflateDecompressor::~DeflateDecompressor() { inflateEnd(&zs_); }

DeflateResult DeflateDecompressor::Decompress(const uint8_t* in, size_t n, uint8_t* out,
                                              size_t cap, size_t* out_len) {
  *out_len = 0;
  if (!ok_) return DeflateResult::kNotReady;
  if (n == 0) return DeflateResult::kTruncated;
  if (n > kMaxChunk) return DeflateResult::kCorrupt;
  if (inflateReset(&zs_) != Z_OK) return DeflateResult::kNotReady;
  uint8_t dummy;  // zlib wants a non-null next_out even with avail_out == 0
  cap = std::min(cap, kMaxChunk);
  zs_.next_in = const_cast<Bytef*>(in);
  zs_.avail_in = static_cast<uInt>(n);
  zs_.next_out = cap ? out : &dummy;
  zs_.avail_out = static_cast<uInt>(cap);
  int rc = inflate(&zs_, Z_FINISH);
  *out_len = cap - zs_.avail_out;
  switch (rc) {
    case Z_STREAM_END:
      return zs_.avail_in == 0 ? DeflateResult::kOk : DeflateResult::kTrailingData;
    case Z_DATA_ERROR:
    case Z_NEED_DICT:  // impossible for raw streams; treat as garbage
      return DeflateResult::kCorrupt;
    case Z_OK:
    case Z_BUF_ERROR:
      // Stopped without the end of the final block: out of room or out of input.
      return zs_.avail_out == 0 ? DeflateResult::kOutputFull : DeflateResult::kTruncated;
    default:  // Z_MEM_ERROR / Z_STREAM_ERROR
      return DeflateResult::kNotReady;
  }
}

}  // namespace arsec::compress
