// Fuzz entry point for the LZS codec. Each input is
//   1. decoded as an LZS stream (into an exactly sized heap buffer whose capacity comes
//      from the first bytes), which must stay in bounds and report a result code;
//   2. compressed and decoded back, which must reproduce it, also with a capacity limit;
//   3. if step 1 succeeded, the decoded bytes are re-compressed and must round-trip.
// Under libFuzzer it is LLVMFuzzerTestOneInput:
//   clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
//     -I. tests/unit/compress/lzs_fuzz.cc dataplane/compress/lzs.cc
//     -o lzs_fuzz            (one command, from the repository root)
//   ./lzs_fuzz -max_total_time=60 -max_len=12000 CORPUS_DIR
// Built normally (`lzs_fuzz`, not built by default) tests/unit/fuzz_file_main.cc runs
// the checks over each file named on the command line.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "dataplane/compress/lzs.h"

using arsec::compress::LzsCompressor;
using arsec::compress::LzsDecompress;
using arsec::compress::LzsMaxCompressedSize;
using arsec::compress::LzsResult;

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "lzs_fuzz: %s\n", what);
    abort();
  }
}

LzsCompressor& Compressor() {
  static LzsCompressor c;  // reused across inputs, as on the packet path
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // 1. Arbitrary bytes as a stream. Capacity: 0..65535 from the first two bytes.
  size_t cap = size >= 2 ? (size_t{data[0]} << 8 | data[1]) : 100;
  std::unique_ptr<uint8_t[]> out(new uint8_t[cap ? cap : 1]);
  size_t out_len = 0;
  LzsResult r = LzsDecompress(data, size, cap ? out.get() : nullptr, cap, &out_len);
  Check(out_len <= cap, "decoder reported more than cap");
  Check(static_cast<int>(r) >= 0 && static_cast<int>(r) <= 5, "bad result code");

  // 2. Round trip of the input itself.
  LzsCompressor& c = Compressor();
  const size_t zcap = LzsMaxCompressedSize(size);
  std::unique_ptr<uint8_t[]> z(new uint8_t[zcap]);
  size_t zn = c.Compress(data, size, z.get(), zcap);
  Check(zn > 0 && zn <= zcap, "compress failed with the worst-case capacity");
  std::unique_ptr<uint8_t[]> back(new uint8_t[size ? size : 1]);
  size_t bn = 0;
  Check(LzsDecompress(z.get(), zn, size ? back.get() : nullptr, size, &bn) == LzsResult::kOk,
        "own stream did not decode");
  Check(bn == size && (size == 0 || memcmp(back.get(), data, size) == 0), "round trip differs");
  // With a smaller capacity it either fits exactly the same bytes or returns 0.
  if (zn > 0) {
    std::unique_ptr<uint8_t[]> z2(new uint8_t[zn - 1 ? zn - 1 : 1]);
    Check(c.Compress(data, size, zn - 1 ? z2.get() : nullptr, zn - 1) == 0, "fit in less space");
  }

  // 3. Whatever decoded successfully must round-trip through the encoder.
  if (r == LzsResult::kOk) {
    std::unique_ptr<uint8_t[]> z3(new uint8_t[LzsMaxCompressedSize(out_len)]);
    size_t n3 = c.Compress(out.get(), out_len, z3.get(), LzsMaxCompressedSize(out_len));
    Check(n3 > 0, "re-compress failed");
    std::unique_ptr<uint8_t[]> b3(new uint8_t[out_len ? out_len : 1]);
    size_t l3 = 0;
    Check(LzsDecompress(z3.get(), n3, out_len ? b3.get() : nullptr, out_len, &l3) == LzsResult::kOk &&
              l3 == out_len && (out_len == 0 || memcmp(b3.get(), out.get(), out_len) == 0),
          "decoded output does not round-trip");
  }
  return 0;
}

