// Unit tests of DEFLATE for IPComp (dataplane/compress/deflate.h) and the IPComp layer
// (dataplane/compress/ipcomp.h): deflate round trips over random and text payloads of
// 0..9000 bytes, interop both ways with zlib driven independently (a separately
// configured raw inflater/deflater and zlib's one-shot compress2 with its zlib wrapper
// stripped), no allocation on the packet path, truncated/garbage/mutated input rejected
// without touching memory out of bounds (run in an ASan/UBSan build for that to mean
// something), decompression-bomb cap, IPComp header build/parse, the RFC 3173 non-expansion
// rule and threshold, CPI and header checks, and LZS through the same layer against the
// independent vectors in $LZS_VECTORS (required, as in compress_test.cc).
#include "dataplane/compress/ipcomp.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "dataplane/compress/deflate.h"
#include "dataplane/compress/lzs.h"

namespace arsec::compress {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes RandomBytes(std::mt19937& rng, size_t n) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

// Text-like payload: words from a small vocabulary, so it compresses like HTTP/JSON.
Bytes TextBytes(std::mt19937& rng, size_t n) {
  static const char* kWords[] = {"GET ", "/index.html ", "HTTP/1.1\r\n", "Host: ",
                                 "example.com\r\n", "Accept: ", "text/html", ", ",
                                 "{\"id\": ", "\"name\": \"", "gateway", "\"}, ", "0123",
                                 "the quick brown fox ", "jumps over ", "the lazy dog. "};
  Bytes b;
  while (b.size() < n) {
    const char* w = kWords[rng() % std::size(kWords)];
    b.insert(b.end(), w, w + std::char_traits<char>::length(w));
  }
  b.resize(n);
  return b;
}

// Independent raw inflater: a fresh zlib stream per call, configured here, not by the
// code under test. Returns false unless one complete stream consumed all input.
bool RefInflate(const Bytes& in, Bytes* out, int window_bits = 15) {
  z_stream zs{};
  if (inflateInit2(&zs, -window_bits) != Z_OK) return false;
  out->assign(1 << 20, 0);
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out->data();
  zs.avail_out = static_cast<uInt>(out->size());
  int rc = inflate(&zs, Z_FINISH);
  bool ok = rc == Z_STREAM_END && zs.avail_in == 0;
  out->resize(zs.total_out);
  inflateEnd(&zs);
  return ok;
}

// Independent one-shot raw deflater.
Bytes RefDeflate(const Bytes& in, int level, int window_bits = 15, int strategy = Z_DEFAULT_STRATEGY) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, level, Z_DEFLATED, -window_bits, 8, strategy), Z_OK);
  Bytes out(deflateBound(&zs, in.size()) + 16);
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

struct Decoded {
  DeflateResult res;
  Bytes out;
};

// Decodes from an exactly sized heap copy into an exactly sized output buffer, so ASan
// sees any access past either end.
Decoded Inflate(DeflateDecompressor& d, const Bytes& in, size_t cap) {
  std::unique_ptr<uint8_t[]> inb(new uint8_t[in.size() ? in.size() : 1]);
  std::copy(in.begin(), in.end(), inb.get());
  std::unique_ptr<uint8_t[]> outb(new uint8_t[cap ? cap : 1]);
  size_t len = 12345678;
  DeflateResult r = d.Decompress(in.empty() ? nullptr : inb.get(), in.size(),
                                 cap ? outb.get() : nullptr, cap, &len);
  EXPECT_LE(len, cap);
  return {r, Bytes(outb.get(), outb.get() + std::min(len, cap))};
}

Bytes Deflate(DeflateCompressor& c, const Bytes& in) {
  Bytes out(DeflateMaxCompressedSize(in.size()));
  size_t n = c.Compress(in.data(), in.size(), out.data(), out.size());
  EXPECT_GT(n, 0u);
  out.resize(n);
  return out;
}

std::vector<size_t> Sizes() {
  std::vector<size_t> s;
  for (size_t n = 0; n <= 300; ++n) s.push_back(n);
  for (size_t n = 301; n < 9000; n += 97) s.push_back(n);
  for (size_t n : {1400, 1500, 2047, 2048, 2049, 4096, 8999, 9000}) s.push_back(n);
  return s;
}

// ---- DEFLATE codec ----

TEST(DeflateCodec, RoundTripRandomAndTextWithIndependentInflater) {
  std::mt19937 rng(1);
  DeflateCompressor c;
  DeflateDecompressor d;
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(d.ok());
  for (int kind = 0; kind < 2; ++kind) {
    for (size_t n : Sizes()) {
      SCOPED_TRACE(testing::Message() << (kind ? "text" : "random") << " n=" << n);
      Bytes in = kind ? TextBytes(rng, n) : RandomBytes(rng, n);
      Bytes z = Deflate(c, in);
      ASSERT_LE(z.size(), DeflateMaxCompressedSize(n));
      Bytes ref;
      ASSERT_TRUE(RefInflate(z, &ref));  // independent decode
      EXPECT_EQ(ref, in);
      Decoded got = Inflate(d, z, n);  // exactly the needed capacity
      EXPECT_EQ(got.res, DeflateResult::kOk) << DeflateResultName(got.res);
      EXPECT_EQ(got.out, in);
      if (n > 0) {
        EXPECT_EQ(Inflate(d, z, n - 1).res, DeflateResult::kOutputFull);
      }
      if (kind == 1 && n >= 1000) {
        EXPECT_LT(z.size(), n / 2);
      }
    }
  }
}

TEST(DeflateCodec, EveryLevelAndLinuxWindowDecodeIndependently) {
  std::mt19937 rng(2);
  Bytes in = TextBytes(rng, 6000);
  for (int level = 0; level <= 9; ++level) {
    DeflateCompressor c(level);
    EXPECT_EQ(c.level(), level);
    Bytes z = Deflate(c, in), ref;
    ASSERT_TRUE(RefInflate(z, &ref)) << level;
    EXPECT_EQ(ref, in) << level;
  }
  // Window 11 (what Linux's IPComp inflater uses): decodable by a 2 KiB-window inflater.
  DeflateCompressor c11(kDeflateDefaultLevel, 11);
  Bytes z = Deflate(c11, in), ref;
  ASSERT_TRUE(RefInflate(z, &ref, 11));
  EXPECT_EQ(ref, in);
}

TEST(DeflateCodec, DecodesZlibOwnOutput) {
  std::mt19937 rng(3);
  DeflateDecompressor d;
  for (size_t n : {0, 1, 89, 90, 500, 1400, 4000, 9000}) {
    for (int kind = 0; kind < 2; ++kind) {
      SCOPED_TRACE(testing::Message() << "n=" << n << " kind=" << kind);
      Bytes in = kind ? TextBytes(rng, n) : RandomBytes(rng, n);
      // zlib's one-shot compress2 (zlib format): the raw stream is between the 2-byte
      // header and the 4-byte Adler-32 trailer.
      for (int level : {1, 6, 9}) {
        uLongf zl = compressBound(in.size());
        Bytes zw(zl);
        ASSERT_EQ(compress2(zw.data(), &zl, in.data(), in.size(), level), Z_OK);
        zw.resize(zl);
        Bytes raw(zw.begin() + 2, zw.end() - 4);
        Decoded got = Inflate(d, raw, n);
        EXPECT_EQ(got.res, DeflateResult::kOk) << DeflateResultName(got.res);
        EXPECT_EQ(got.out, in);
        // The zlib-wrapped stream itself is not raw deflate: never accepted as this input.
        got = Inflate(d, zw, 1 << 16);
        EXPECT_FALSE(got.res == DeflateResult::kOk && got.out == in);
      }
      // Independent raw deflater over windows and strategies (stored, fixed, RLE...).
      for (int wb : {9, 11, 15}) {
        for (int strat : {Z_DEFAULT_STRATEGY, Z_FILTERED, Z_HUFFMAN_ONLY, Z_RLE, Z_FIXED}) {
          for (int level : {0, 1, 9}) {
            Decoded got = Inflate(d, RefDeflate(in, level, wb, strat), n);
            EXPECT_EQ(got.res, DeflateResult::kOk) << wb << "/" << strat << "/" << level;
            EXPECT_EQ(got.out, in);
          }
        }
      }
    }
  }
}

TEST(DeflateCodec, NoAllocationOnPacketPath) {
  std::mt19937 rng(4);
  DeflateCompressor c;
  DeflateDecompressor d;
  size_t ca = c.allocations(), da = d.allocations();
  EXPECT_GT(ca, 0u);
  EXPECT_GT(da, 0u);
  Bytes out(20000);
  for (int i = 0; i < 2000; ++i) {
    Bytes in = (i & 1) ? TextBytes(rng, rng() % 9001) : RandomBytes(rng, rng() % 9001);
    size_t cap = (i % 3 == 0) ? in.size() / 2 : out.size();  // include "does not fit"
    size_t z = c.Compress(in.data(), in.size(), out.data(), cap);
    size_t len;
    Bytes dec(in.size() + 1);
    if (z) {
      d.Decompress(out.data(), z, dec.data(), dec.size(), &len);
      d.Decompress(out.data(), z / 2, dec.data(), dec.size(), &len);  // truncated
      d.Decompress(out.data(), z, dec.data(), dec.size() / 3, &len);  // output full
    }
    d.Decompress(in.data(), in.size(), dec.data(), dec.size(), &len);  // garbage
  }
  EXPECT_EQ(c.allocations(), ca);
  EXPECT_EQ(d.allocations(), da);
}

TEST(DeflateCodec, CompressHonoursCapacity) {
  std::mt19937 rng(5);
  DeflateCompressor c;
  Bytes in = TextBytes(rng, 3000);
  Bytes full = Deflate(c, in);
  for (size_t cap : {size_t{0}, size_t{1}, full.size() / 2, full.size() - 1, full.size()}) {
    Bytes out(cap + 64, 0xA5);
    size_t z = c.Compress(in.data(), in.size(), out.data(), cap);
    EXPECT_EQ(z, cap == full.size() ? full.size() : 0u) << cap;
    for (size_t i = cap; i < out.size(); ++i) ASSERT_EQ(out[i], 0xA5) << "wrote past cap";
  }
  EXPECT_EQ(Deflate(c, in), full);  // history reset: same packet, same output
}

TEST(DeflateCodec, ExactCapacityFitsOneLessDoesNot) {
  std::mt19937 rng(11);
  DeflateCompressor c;
  for (size_t n : Sizes()) {
    Bytes in = (n & 1) ? TextBytes(rng, n) : RandomBytes(rng, n);
    Bytes full = Deflate(c, in);
    Bytes out(full.size() + 32, 0xA5);
    EXPECT_EQ(c.Compress(in.data(), n, out.data(), full.size()), full.size()) << n;
    EXPECT_EQ(Bytes(out.begin(), out.begin() + full.size()), full) << n;
    EXPECT_EQ(c.Compress(in.data(), n, out.data(), full.size() - 1), 0u) << n;
    for (size_t i = full.size(); i < out.size(); ++i) ASSERT_EQ(out[i], 0xA5) << n;
  }
}

TEST(DeflateCodec, TruncatedAndTrailingRejected) {
  std::mt19937 rng(6);
  DeflateCompressor c;
  DeflateDecompressor d;
  size_t prefixes = 0, rejected = 0;
  for (size_t n : {0, 1, 100, 1500, 9000}) {
    for (int kind = 0; kind < 2; ++kind) {
      Bytes in = kind ? TextBytes(rng, n) : RandomBytes(rng, n);
      Bytes z = Deflate(c, in);
      for (size_t k = 0; k < z.size(); ++k) {
        Decoded got = Inflate(d, Bytes(z.begin(), z.begin() + k), n + 16);
        ++prefixes;
        if (got.res != DeflateResult::kOk) ++rejected;
        EXPECT_EQ(got.res, DeflateResult::kTruncated) << "n=" << n << " k=" << k;
      }
      Bytes t = z;
      t.push_back(0);
      EXPECT_EQ(Inflate(d, t, n + 16).res, DeflateResult::kTrailingData);
    }
  }
  EXPECT_EQ(rejected, prefixes);
  std::printf("[ deflate  ] truncated prefixes rejected: %zu / %zu\n", rejected, prefixes);
}

TEST(DeflateCodec, GarbageAndMutationsNeverCrash) {
  std::mt19937 rng(7);
  DeflateCompressor c;
  DeflateDecompressor d;
  size_t counts[6] = {};
  for (int i = 0; i < 50000; ++i) {
    Bytes g = RandomBytes(rng, rng() % 300);
    ++counts[static_cast<int>(Inflate(d, g, rng() % 2000).res)];
  }
  std::printf("[ deflate  ] 50000 random inputs: ok %zu full %zu trunc %zu corrupt %zu trail %zu\n",
              counts[0], counts[1], counts[2], counts[3], counts[4]);
  EXPECT_EQ(counts[5], 0u);
  EXPECT_LT(counts[0], 50000u / 20);  // garbage is rarely a valid stream
  size_t mcounts[6] = {};
  Bytes base = Deflate(c, TextBytes(rng, 4000));
  for (int i = 0; i < 50000; ++i) {
    Bytes m = base;
    int flips = 1 + rng() % 4;
    for (int f = 0; f < flips; ++f) m[rng() % m.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
    if (rng() % 4 == 0) m.resize(rng() % m.size());
    ++mcounts[static_cast<int>(Inflate(d, m, 4000 + rng() % 200).res)];
  }
  std::printf("[ deflate  ] 50000 mutated streams: ok %zu full %zu trunc %zu corrupt %zu trail %zu\n",
              mcounts[0], mcounts[1], mcounts[2], mcounts[3], mcounts[4]);
  // Raw deflate has no checksum: a flipped literal bit still decodes (to other bytes), so
  // "ok" is expected for many mutations; integrity is ESP/AH's job, not IPComp's.
  EXPECT_EQ(mcounts[5], 0u);
  EXPECT_GT(mcounts[1] + mcounts[2] + mcounts[3] + mcounts[4], 50000u / 4);
}

TEST(DeflateCodec, BombCappedByOutputCapacity) {
  DeflateCompressor c(9);
  DeflateDecompressor d;
  Bytes zeros(1 << 20, 0);
  Bytes z = Deflate(c, zeros);
  EXPECT_LT(z.size(), 2000u);
  Decoded got = Inflate(d, z, 65535);
  EXPECT_EQ(got.res, DeflateResult::kOutputFull);
  EXPECT_EQ(got.out.size(), 65535u);
  EXPECT_EQ(Inflate(d, z, 0).res, DeflateResult::kOutputFull);
  EXPECT_EQ(Inflate(d, {}, 100).res, DeflateResult::kTruncated);
}

// ---- IPComp header ----

TEST(IpcompHeaderTest, BuildAndParse) {
  uint8_t p[4];
  WriteIpcompHeader(p, 6, kCpiDeflate);
  EXPECT_EQ(Bytes(p, p + 4), (Bytes{6, 0, 0, 2}));
  WriteIpcompHeader(p, 17, kCpiLzs);
  EXPECT_EQ(Bytes(p, p + 4), (Bytes{17, 0, 0, 3}));
  WriteIpcompHeader(p, 4, 0x1234);
  EXPECT_EQ(Bytes(p, p + 4), (Bytes{4, 0, 0x12, 0x34}));
  IpcompHeader h;
  ASSERT_TRUE(ReadIpcompHeader(p, 4, &h));
  EXPECT_EQ(h.next_header, 4);
  EXPECT_EQ(h.flags, 0);
  EXPECT_EQ(h.cpi, 0x1234);
  EXPECT_FALSE(ReadIpcompHeader(p, 3, &h));
  EXPECT_EQ(IpcompWellKnownCpi(IpcompAlg::kDeflate), 2);
  EXPECT_EQ(IpcompWellKnownCpi(IpcompAlg::kLzs), 3);
}

// ---- IPComp layer ----

struct Packet {
  IpcompCompressResult res;
  Bytes bytes;
};

Packet IpCompress(IpcompContext& ctx, IpcompAlg alg, uint8_t nh, const Bytes& in,
                  uint16_t cpi = 0, size_t cap = 0) {
  Bytes out(cap ? cap : in.size() + 64, 0);
  IpcompCompressResult r = ctx.Compress(alg, nh, in.data(), in.size(), out.data(), out.size(), cpi);
  out.resize(r.len);
  return {r, out};
}

IpcompDecompressResult IpDecompress(IpcompContext& ctx, IpcompAlg alg, const Bytes& in,
                                    Bytes* out, size_t cap = 70000, uint16_t cpi = 0) {
  std::unique_ptr<uint8_t[]> inb(new uint8_t[in.size() ? in.size() : 1]);
  std::copy(in.begin(), in.end(), inb.get());
  std::unique_ptr<uint8_t[]> outb(new uint8_t[cap ? cap : 1]);
  IpcompDecompressResult r = ctx.Decompress(alg, inb.get(), in.size(), outb.get(), cap, cpi);
  EXPECT_LE(r.len, cap);
  out->assign(outb.get(), outb.get() + r.len);
  return r;
}

TEST(Ipcomp, DeflateRoundTripThroughLayer) {
  std::mt19937 rng(8);
  IpcompContext ctx;
  ASSERT_TRUE(ctx.ok());
  for (size_t n = 90; n <= 9000; n += 61) {
    SCOPED_TRACE(n);
    Bytes in = TextBytes(rng, n);
    Packet p = IpCompress(ctx, IpcompAlg::kDeflate, 6, in);
    ASSERT_EQ(p.res.status, IpcompCompressStatus::kCompressed)
        << IpcompCompressStatusName(p.res.status);
    ASSERT_LT(p.bytes.size(), n);
    EXPECT_EQ(p.bytes[0], 6);
    EXPECT_EQ(p.bytes[1], 0);
    EXPECT_EQ(p.bytes[2], 0);
    EXPECT_EQ(p.bytes[3], 2);
    Bytes ref;
    ASSERT_TRUE(RefInflate(Bytes(p.bytes.begin() + 4, p.bytes.end()), &ref));
    EXPECT_EQ(ref, in);
    Bytes out;
    IpcompDecompressResult r = IpDecompress(ctx, IpcompAlg::kDeflate, p.bytes, &out);
    ASSERT_EQ(r.error, IpcompError::kOk) << IpcompErrorName(r.error);
    EXPECT_EQ(r.next_header, 6);
    EXPECT_EQ(out, in);
    // Exactly-sized output works, one byte less is kTooBig.
    EXPECT_EQ(IpDecompress(ctx, IpcompAlg::kDeflate, p.bytes, &out, n).error, IpcompError::kOk);
    EXPECT_EQ(IpDecompress(ctx, IpcompAlg::kDeflate, p.bytes, &out, n - 1).error,
              IpcompError::kTooBig);
  }
  // A packet from an independent deflater with our header decodes too.
  Bytes in = TextBytes(rng, 1400);
  Bytes pkt{17, 0, 0, 2};
  Bytes z = RefDeflate(in, 6);
  pkt.insert(pkt.end(), z.begin(), z.end());
  Bytes out;
  IpcompDecompressResult r = IpDecompress(ctx, IpcompAlg::kDeflate, pkt, &out);
  EXPECT_EQ(r.error, IpcompError::kOk);
  EXPECT_EQ(r.next_header, 17);
  EXPECT_EQ(out, in);
}

TEST(Ipcomp, NonExpansionOnRandomDataAndThreshold) {
  std::mt19937 rng(9);
  IpcompContext ctx;
  for (IpcompAlg alg : {IpcompAlg::kDeflate, IpcompAlg::kLzs}) {
    size_t not_smaller = 0, total = 0;
    for (size_t n = 90; n <= 9000; n += 37) {
      Bytes in = RandomBytes(rng, n);
      Packet p = IpCompress(ctx, alg, 6, in);
      ++total;
      if (p.res.status == IpcompCompressStatus::kNotSmaller) ++not_smaller;
      EXPECT_EQ(p.res.len, 0u);
      EXPECT_FALSE(p.res.compressed()) << n;
    }
    EXPECT_EQ(not_smaller, total);
    // Below the threshold: not even tried, however compressible.
    Bytes zeros(89, 0);
    EXPECT_EQ(IpCompress(ctx, alg, 6, zeros).res.status, IpcompCompressStatus::kBelowThreshold);
    zeros.resize(90);
    EXPECT_EQ(IpCompress(ctx, alg, 6, zeros).res.status, IpcompCompressStatus::kCompressed);
    // Every compressed result is strictly smaller than its input (header included).
    for (size_t n = 90; n < 400; ++n) {
      Bytes in = TextBytes(rng, n);
      for (size_t k = 0; k < n / 3; ++k) in[rng() % n] = static_cast<uint8_t>(rng());
      Packet p = IpCompress(ctx, alg, 6, in);
      if (p.res.compressed()) {
        EXPECT_LT(p.res.len, n);
      } else {
        EXPECT_EQ(p.res.status, IpcompCompressStatus::kNotSmaller);
      }
    }
    // Output buffer too small for any useful result.
    Bytes text = TextBytes(rng, 3000);
    EXPECT_EQ(IpCompress(ctx, alg, 6, text, 0, 3).res.status, IpcompCompressStatus::kNoRoom);
    EXPECT_EQ(IpCompress(ctx, alg, 6, text, 0, 10).res.status, IpcompCompressStatus::kNoRoom);
  }
  // Configurable threshold.
  IpcompConfig cfg;
  cfg.min_payload = 20;
  IpcompContext small(cfg);
  EXPECT_EQ(IpCompress(small, IpcompAlg::kDeflate, 6, Bytes(50, 'a')).res.status,
            IpcompCompressStatus::kCompressed);
  EXPECT_EQ(IpCompress(small, IpcompAlg::kDeflate, 6, Bytes(19, 'a')).res.status,
            IpcompCompressStatus::kBelowThreshold);
}

TEST(Ipcomp, HeaderAndCpiChecks) {
  std::mt19937 rng(10);
  IpcompContext ctx;
  Bytes in = TextBytes(rng, 1000), out;
  Packet d = IpCompress(ctx, IpcompAlg::kDeflate, 6, in);
  Packet l = IpCompress(ctx, IpcompAlg::kLzs, 6, in);
  ASSERT_TRUE(d.res.compressed());
  ASSERT_TRUE(l.res.compressed());
  EXPECT_EQ(l.bytes[3], 3);
  // CPI mismatch both ways.
  EXPECT_EQ(IpDecompress(ctx, IpcompAlg::kLzs, d.bytes, &out).error, IpcompError::kUnknownCpi);
  EXPECT_EQ(IpDecompress(ctx, IpcompAlg::kDeflate, l.bytes, &out).error, IpcompError::kUnknownCpi);
  EXPECT_EQ(IpDecompress(ctx, IpcompAlg::kLzs, l.bytes, &out).error, IpcompError::kOk);
  EXPECT_EQ(out, in);
  // Negotiated CPI.
  Packet n = IpCompress(ctx, IpcompAlg::kDeflate, 6, in, 0x1234);
  EXPECT_EQ(n.bytes[2], 0x12);
  EXPECT_EQ(n.bytes[3], 0x34);
  EXPECT_EQ(IpDecompress(ctx, IpcompAlg::kDeflate, n.bytes, &out).error, IpcompError::kUnknownCpi);
  EXPECT_EQ(IpDecompress(ctx, IpcompAlg::kDeflate, n.bytes, &out, 70000, 0x1234).error,
            IpcompError::kOk);
  EXPECT_EQ(out, in);
  // Flags, length, nested IPComp.
  Bytes bad = d.bytes;
  bad[1] = 0x80;
  EXPECT_EQ(IpDecompress(ctx, IpcompAlg::kDeflate, bad, &out).error, IpcompError::kBadHeader);
  for (size_t k = 0; k < 4; ++k)
    EXPECT_EQ(IpDecompress(ctx, IpcompAlg::kDeflate, Bytes(d.bytes.begin(), d.bytes.begin() + k), &out).error,
              IpcompError::kBadHeader);
  bad = d.bytes;
  bad[0] = kIpprotoComp;
  EXPECT_EQ(IpDecompress(ctx, IpcompAlg::kDeflate, bad, &out).error, IpcompError::kBadHeader);
  // Good header, bad data.
  EXPECT_EQ(IpDecompress(ctx, IpcompAlg::kDeflate, Bytes{6, 0, 0, 2}, &out).error,
            IpcompError::kDecompressFailed);
  bad = d.bytes;
  bad.resize(bad.size() / 2);
  EXPECT_EQ(IpDecompress(ctx, IpcompAlg::kDeflate, bad, &out).error, IpcompError::kDecompressFailed);
  bad = l.bytes;
  bad.resize(bad.size() / 2);
  EXPECT_EQ(IpDecompress(ctx, IpcompAlg::kLzs, bad, &out).error, IpcompError::kDecompressFailed);
  // Bomb through the layer.
  DeflateCompressor c9(9);
  Bytes z = Deflate(c9, Bytes(1 << 20, 0));
  Bytes bomb{6, 0, 0, 2};
  bomb.insert(bomb.end(), z.begin(), z.end());
  EXPECT_EQ(IpDecompress(ctx, IpcompAlg::kDeflate, bomb, &out, 65535).error, IpcompError::kTooBig);
  // Garbage after a valid header: never ok-with-crash; count outcomes.
  size_t counts[5] = {};
  for (int i = 0; i < 20000; ++i) {
    IpcompAlg alg = (i & 1) ? IpcompAlg::kLzs : IpcompAlg::kDeflate;
    Bytes g = RandomBytes(rng, 4 + rng() % 200);
    g[1] = 0;
    g[0] = 6;
    g[2] = 0;
    g[3] = static_cast<uint8_t>(IpcompWellKnownCpi(alg));
    ++counts[static_cast<int>(IpDecompress(ctx, alg, g, &out, 1500).error)];
  }
  std::printf("[ ipcomp   ] 20000 garbage packets: ok %zu bad-header %zu unknown-cpi %zu failed %zu too-big %zu\n",
              counts[0], counts[1], counts[2], counts[3], counts[4]);
  EXPECT_EQ(counts[1] + counts[2], 0u);
  EXPECT_GT(counts[3], 20000u * 9 / 10);
}

// ---- LZS through the IPComp layer, against the independent vectors ----

Bytes ReadFile(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

TEST(IpcompLzs, VectorsThroughLayer) {
  const char* dir = std::getenv("LZS_VECTORS");
  ASSERT_NE(dir, nullptr) << "set LZS_VECTORS to the LZS vector directory";
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  IpcompContext ctx;
  size_t seen = 0, compressed = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".lzs") continue;
    auto inp = e.path();
    inp.replace_extension(".in");
    if (!std::filesystem::exists(inp)) continue;
    SCOPED_TRACE(e.path().filename().string());
    ++seen;
    Bytes in = ReadFile(inp), lzs = ReadFile(e.path());
    // Receive: IPComp header (CPI 3) + the vector's LZS stream.
    Bytes pkt{41, 0, 0, 3};
    pkt.insert(pkt.end(), lzs.begin(), lzs.end());
    Bytes out;
    IpcompDecompressResult r = IpDecompress(ctx, IpcompAlg::kLzs, pkt, &out, in.size());
    EXPECT_EQ(r.error, IpcompError::kOk) << IpcompErrorName(r.error);
    EXPECT_EQ(r.next_header, 41);
    EXPECT_EQ(out, in);
    EXPECT_EQ(IpDecompress(ctx, IpcompAlg::kDeflate, pkt, &out).error, IpcompError::kUnknownCpi);
    if (!in.empty()) {
      EXPECT_EQ(IpDecompress(ctx, IpcompAlg::kLzs, pkt, &out, in.size() - 1).error,
                IpcompError::kTooBig);
    }
    // Send: our LZS through the layer, decoded by the codec directly and by the layer.
    Packet p = IpCompress(ctx, IpcompAlg::kLzs, 41, in);
    if (!p.res.compressed()) {
      EXPECT_NE(p.res.status, IpcompCompressStatus::kNoRoom);
      if (in.size() >= 90) {
        EXPECT_GE(lzs.size() + 4, in.size()) << "vector shrinks, ours did not";
      }
      continue;
    }
    ++compressed;
    EXPECT_EQ(Bytes(p.bytes.begin(), p.bytes.begin() + 4), (Bytes{41, 0, 0, 3}));
    Bytes direct(in.size());
    size_t len = 0;
    EXPECT_EQ(LzsDecompress(p.bytes.data() + 4, p.bytes.size() - 4, direct.data(), direct.size(), &len),
              LzsResult::kOk);
    direct.resize(len);
    EXPECT_EQ(direct, in);
    r = IpDecompress(ctx, IpcompAlg::kLzs, p.bytes, &out);
    EXPECT_EQ(r.error, IpcompError::kOk);
    EXPECT_EQ(out, in);
  }
  EXPECT_GE(seen, 10u);
  std::printf("[ ipcomp   ] LZS vectors: %zu decoded through the layer, %zu re-compressed\n", seen,
              compressed);
}

}  // namespace
}  // namespace arsec::compress
