// Unit tests of the LZS codec (dataplane/compress/lzs.h): the independent vectors in
// $LZS_VECTORS (required: the test fails if it is unset or empty), hand-built bit
// streams for every code, encoder round trips on random inputs, error codes, buffer
// bounds, and 10^5 random and mutated streams through the decoder (run this binary in
// an ASan/UBSan build for the hardening part to mean something).
#include "dataplane/compress/lzs.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace arsec::compress {

// Reaches the compressor's private position base to test the 32-bit wrap.
struct LzsCompressorTestPeer {
  static void SetBase(LzsCompressor& c, uint32_t b) { c.base_ = b; }
  static uint32_t Base(const LzsCompressor& c) { return c.base_; }
};

namespace {

using Bytes = std::vector<uint8_t>;

Bytes ReadFile(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

Bytes B(const std::string& s) { return Bytes(s.begin(), s.end()); }

// Independent MSB-first writer used to build streams by hand (not the codec's own).
struct Bits {
  Bytes bytes;
  size_t nbits = 0;
  Bits& Put(uint64_t v, int k) {
    for (int i = k - 1; i >= 0; --i) {
      if (nbits % 8 == 0) bytes.push_back(0);
      if ((v >> i) & 1) bytes.back() |= static_cast<uint8_t>(0x80 >> (nbits % 8));
      ++nbits;
    }
    return *this;
  }
  Bits& Lit(uint8_t b) { return Put(0, 1).Put(b, 8); }
  Bits& Str(size_t off, size_t len, bool force_long_offset = false) {
    Put(1, 1);
    if (off < 128 && !force_long_offset) {
      Put(1, 1).Put(off, 7);
    } else {
      Put(0, 1).Put(off, 11);
    }
    if (len <= 4) {
      Put(len - 2, 2);
    } else if (len <= 7) {
      Put(3, 2).Put(len - 5, 2);
    } else {
      Put(15, 4);
      size_t r = len - 8;
      while (r >= 15) {
        Put(15, 4);
        r -= 15;
      }
      Put(r, 4);
    }
    return *this;
  }
  Bits& End() { return Put(0x180, 9); }
};

struct Decoded {
  LzsResult res;
  Bytes out;
};

// Decodes from an exactly sized heap copy of the input into an exactly sized output
// buffer, so ASan sees any access past either end.
Decoded Decode(const Bytes& in, size_t cap) {
  std::unique_ptr<uint8_t[]> inb(new uint8_t[in.size() ? in.size() : 1]);
  std::copy(in.begin(), in.end(), inb.get());
  std::unique_ptr<uint8_t[]> outb(new uint8_t[cap ? cap : 1]);
  size_t len = 12345678;
  LzsResult r = LzsDecompress(in.empty() ? nullptr : inb.get(), in.size(),
                              cap ? outb.get() : nullptr, cap, &len);
  EXPECT_LE(len, cap);
  return {r, Bytes(outb.get(), outb.get() + std::min(len, cap))};
}

Decoded Decode(const Bytes& in) { return Decode(in, 1 << 17); }

Bytes Compress(LzsCompressor& c, const Bytes& in) {
  Bytes out(LzsMaxCompressedSize(in.size()));
  size_t n = c.Compress(in.data(), in.size(), out.data(), out.size());
  EXPECT_GT(n, 0u);
  out.resize(n);
  return out;
}

std::filesystem::path VectorDir() {
  const char* d = std::getenv("LZS_VECTORS");
  return d ? std::filesystem::path(d) : std::filesystem::path();
}

struct Vector {
  std::string name;
  Bytes in, lzs;
};

std::vector<Vector> LoadVectors() {
  std::vector<Vector> v;
  auto dir = VectorDir();
  if (dir.empty() || !std::filesystem::is_directory(dir)) return v;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".lzs") continue;
    auto in = e.path();
    in.replace_extension(".in");
    if (!std::filesystem::exists(in)) continue;
    v.push_back({e.path().stem().string(), ReadFile(in), ReadFile(e.path())});
  }
  std::sort(v.begin(), v.end(), [](const Vector& a, const Vector& b) { return a.name < b.name; });
  return v;
}

// ---- reference vectors ----

TEST(LzsVectors, DirectoryPresent) {
  auto dir = VectorDir();
  ASSERT_FALSE(dir.empty()) << "set LZS_VECTORS to the LZS vector directory";
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir << " is not a directory";
  EXPECT_GE(LoadVectors().size(), 10u) << "expected the 10 NAME.in/NAME.lzs pairs in " << dir;
}

TEST(LzsVectors, DecoderReproducesEveryInput) {
  auto vs = LoadVectors();
  ASSERT_FALSE(vs.empty()) << "no vectors in LZS_VECTORS=" << VectorDir();
  for (const auto& v : vs) {
    SCOPED_TRACE(v.name);
    Decoded d = Decode(v.lzs, v.in.size());  // exactly the needed capacity
    EXPECT_EQ(d.res, LzsResult::kOk) << LzsResultName(d.res);
    EXPECT_EQ(d.out, v.in);
    d = Decode(v.lzs);  // ample capacity
    EXPECT_EQ(d.res, LzsResult::kOk) << LzsResultName(d.res);
    EXPECT_EQ(d.out, v.in);
    if (!v.in.empty()) {
      EXPECT_EQ(Decode(v.lzs, v.in.size() - 1).res, LzsResult::kOutputFull);
    }
    // Every proper prefix is rejected (the end marker is in the last byte).
    for (size_t k = 0; k < v.lzs.size(); ++k) {
      Bytes cut(v.lzs.begin(), v.lzs.begin() + k);
      LzsResult r = Decode(cut).res;
      EXPECT_TRUE(r == LzsResult::kTruncated || r == LzsResult::kNoEndMarker)
          << "prefix " << k << ": " << LzsResultName(r);
    }
    Bytes extra = v.lzs;
    extra.push_back(0);
    EXPECT_EQ(Decode(extra).res, LzsResult::kTrailingData);
  }
}

TEST(LzsVectors, EncoderRoundTripsAndRatio) {
  auto vs = LoadVectors();
  ASSERT_FALSE(vs.empty()) << "no vectors in LZS_VECTORS=" << VectorDir();
  LzsCompressor c;
  size_t tot_in = 0, tot_ref = 0, tot_ours = 0;
  printf("  %-18s %7s %9s %9s %8s %8s\n", "vector", "input", "reference", "ours", "ref %", "ours %");
  for (const auto& v : vs) {
    SCOPED_TRACE(v.name);
    Bytes z = Compress(c, v.in);
    Decoded d = Decode(z, v.in.size());
    EXPECT_EQ(d.res, LzsResult::kOk) << LzsResultName(d.res);
    EXPECT_EQ(d.out, v.in);
    printf("  %-18s %7zu %9zu %9zu %7.1f%% %7.1f%%\n", v.name.c_str(), v.in.size(), v.lzs.size(),
           z.size(), 100.0 * v.lzs.size() / v.in.size(), 100.0 * z.size() / v.in.size());
    tot_in += v.in.size();
    tot_ref += v.lzs.size();
    tot_ours += z.size();
    // "About as well as the reference": never more than 5% (+2 bytes) larger.
    EXPECT_LE(z.size(), v.lzs.size() + v.lzs.size() / 20 + 2);
  }
  printf("  %-18s %7zu %9zu %9zu %7.1f%% %7.1f%%\n", "total", tot_in, tot_ref, tot_ours,
         100.0 * tot_ref / tot_in, 100.0 * tot_ours / tot_in);
  EXPECT_LE(tot_ours, tot_ref);
}

// ---- bit format ----

TEST(LzsFormat, KnownEncodings) {
  LzsCompressor c;
  EXPECT_EQ(Compress(c, {}), (Bytes{0xc0, 0x00}));             // end marker + 7 pad bits
  EXPECT_EQ(Compress(c, B("A")), (Bytes{0x20, 0xe0, 0x00}));    // as the reference vector
  EXPECT_EQ(Compress(c, B("AA")), Bits().Lit('A').Lit('A').End().bytes);
  // "AAA": literal, then string offset 1 length 2.
  EXPECT_EQ(Compress(c, B("AAA")), Bits().Lit('A').Str(1, 2).End().bytes);
  EXPECT_EQ(Compress(c, Bytes(24, 'x')), Bits().Lit('x').Str(1, 23).End().bytes);
}

TEST(LzsFormat, DecodesEveryLengthAndOffsetCode) {
  std::mt19937 rng(7);
  for (size_t off : {1, 2, 3, 100, 127, 128, 129, 1000, 2046, 2047}) {
    for (size_t len = 2; len <= 100; ++len) {
      for (bool longform : {false, true}) {
        SCOPED_TRACE(testing::Message() << "off " << off << " len " << len << " long " << longform);
        Bytes expect;
        Bits s;
        for (size_t i = 0; i < off; ++i) {
          uint8_t b = static_cast<uint8_t>(rng());
          expect.push_back(b);
          s.Lit(b);
        }
        for (size_t i = 0; i < len; ++i) expect.push_back(expect[expect.size() - off]);
        s.Str(off, len, longform).Lit('z').End();
        expect.push_back('z');
        Decoded d = Decode(s.bytes, expect.size());
        ASSERT_EQ(d.res, LzsResult::kOk) << LzsResultName(d.res);
        ASSERT_EQ(d.out, expect);
      }
    }
  }
  // Length codes at the 15-group boundaries, checked bit for bit.
  EXPECT_EQ(Bits().Str(1, 22).bytes, Bits().Put(0x181, 9).Put(0xFE, 8).bytes);
  EXPECT_EQ(Bits().Str(1, 23).bytes, Bits().Put(0x181, 9).Put(0xFF0, 12).bytes);
  EXPECT_EQ(Bits().Str(1, 38).bytes, Bits().Put(0x181, 9).Put(0xFFF0, 16).bytes);
}

TEST(LzsFormat, EncoderOffsetForms) {
  // A random block repeated: the copy is one string at offset blk (7-bit form for 100,
  // 11-bit form for 300 and for the largest offset, 2047).
  std::mt19937 rng(3);
  for (size_t blk : {100, 300, 2047}) {
    Bytes in(blk);
    for (auto& b : in) b = static_cast<uint8_t>(rng());
    Bytes rep = in;
    rep.insert(rep.end(), in.begin(), in.end());
    LzsCompressor c;
    Bytes z = Compress(c, rep);
    Decoded d = Decode(z, rep.size());
    ASSERT_EQ(d.res, LzsResult::kOk);
    ASSERT_EQ(d.out, rep);
    // No worse than blk literals, one string of length blk (4 bits per 15 bytes past
    // 8) and the end marker.
    const size_t bits = 9 * blk + 2 + (blk < 128 ? 7 : 11) + 8 + 4 * ((blk - 8) / 15) + 9;
    EXPECT_LE(z.size(), (bits + 7) / 8) << blk;
  }
}

// ---- decoder errors ----

TEST(LzsErrors, Codes) {
  EXPECT_EQ(Decode({}).res, LzsResult::kNoEndMarker);
  EXPECT_EQ(Decode({0x00}).res, LzsResult::kNoEndMarker);
  EXPECT_EQ(Decode(Bits().Lit('A').bytes).res, LzsResult::kNoEndMarker);
  EXPECT_EQ(Decode(Bits().Lit('A').Lit('B').bytes).res, LzsResult::kNoEndMarker);
  // A whole zero byte after the last token: still no end marker.
  EXPECT_EQ(Decode(Bits().Lit('A').Put(0, 8).bytes).res, LzsResult::kNoEndMarker);
  // Token cut in the middle.
  // (bit counts chosen so the cut falls on a byte boundary: no padding bits to reuse)
  Bits t1;  // 11-bit offset form with only 10 offset bits: 9+11+2+10 = 32 bits
  t1.Lit('A').Str(1, 2).Put(1, 1).Put(0, 1).Put(5, 10);
  ASSERT_EQ(t1.nbits, 32u);
  EXPECT_EQ(Decode(t1.bytes).res, LzsResult::kTruncated);
  Bits t2;  // length 1111 then 1111 groups that run out: 9+9+16+6 = 40 bits
  t2.Lit('A').Put(0x181, 9).Put(0xFFFF, 16).Put(0x3F, 6);
  ASSERT_EQ(t2.nbits, 40u);
  EXPECT_EQ(Decode(t2.bytes).res, LzsResult::kTruncated);
  Bits t3;  // 7-bit offset, length 1111 and 1 bit of its 4-bit group: 9+9+9+4+1 = 32 bits
  t3.Lit('A').Lit('B').Put(0x181, 9).Put(0xF, 4).Put(1, 1);
  ASSERT_EQ(t3.nbits, 32u);
  EXPECT_EQ(Decode(t3.bytes).res, LzsResult::kTruncated);
  // Offsets.
  EXPECT_EQ(Decode(Bits().Str(1, 2).End().bytes).res, LzsResult::kBadOffset);
  EXPECT_EQ(Decode(Bits().Lit('a').Str(2, 2).End().bytes).res, LzsResult::kBadOffset);
  EXPECT_EQ(Decode(Bits().Lit('a').Str(0, 2, true).End().bytes).res, LzsResult::kBadOffset);
  EXPECT_EQ(Decode(Bits().Lit('a').Str(1, 2, true).End().bytes).res, LzsResult::kOk);
  // Output capacity.
  Bytes s = Bits().Lit('a').Str(1, 100).End().bytes;
  EXPECT_EQ(Decode(s, 101).res, LzsResult::kOk);
  EXPECT_EQ(Decode(s, 100).res, LzsResult::kOutputFull);
  EXPECT_EQ(Decode(s, 0).res, LzsResult::kOutputFull);
  // A length of ~10^6 against a small buffer stops early.
  Bits huge;
  huge.Lit('a').Str(1, 1000000).End();
  EXPECT_EQ(Decode(huge.bytes, 4096).res, LzsResult::kOutputFull);
  EXPECT_EQ(Decode(huge.bytes, 1000001).res, LzsResult::kOk);
  // Padding bits after the end marker are not checked; whole bytes after it are refused.
  Bytes p = Bits().Lit('A').End().bytes;  // 18 bits: 6 padding bits
  p.back() |= 0x3f;
  EXPECT_EQ(Decode(p).res, LzsResult::kOk);
  p.push_back(0);
  EXPECT_EQ(Decode(p).res, LzsResult::kTrailingData);
  EXPECT_EQ(Decode(Bits().End().End().bytes).res, LzsResult::kTrailingData);
  // An end marker ending exactly on a byte boundary (8 literals + marker = 81 bits no;
  // 7 literals + marker = 72 bits).
  Bits exact;
  for (int i = 0; i < 7; ++i) exact.Lit('0' + i);
  exact.End();
  ASSERT_EQ(exact.nbits, 72u);
  Decoded d = Decode(exact.bytes);
  EXPECT_EQ(d.res, LzsResult::kOk);
  EXPECT_EQ(d.out, B("0123456"));
}

TEST(LzsErrors, NothingWrittenPastCapacity) {
  Bytes s = Bits().Lit('a').Str(1, 200).End().bytes;
  for (size_t cap : {0, 1, 2, 50, 200}) {
    Bytes out(cap + 64, 0xEE);
    size_t len = 0;
    LzsResult r = LzsDecompress(s.data(), s.size(), out.data(), cap, &len);
    EXPECT_EQ(r, LzsResult::kOutputFull);
    EXPECT_LE(len, cap);
    for (size_t i = cap; i < out.size(); ++i) ASSERT_EQ(out[i], 0xEE) << cap << " " << i;
  }
}

// ---- encoder ----

enum class Kind { kRandom, kBinaryAlphabet, kSmallAlphabet, kRuns, kText, kMixed };

Bytes MakeInput(std::mt19937& rng, Kind kind, size_t n) {
  Bytes v(n);
  switch (kind) {
    case Kind::kRandom:
      for (auto& b : v) b = static_cast<uint8_t>(rng());
      break;
    case Kind::kBinaryAlphabet:
      for (auto& b : v) b = (rng() & 1) ? 'a' : 'b';
      break;
    case Kind::kSmallAlphabet:
      for (auto& b : v) b = static_cast<uint8_t>(rng() % 5);
      break;
    case Kind::kRuns:
      for (size_t i = 0; i < n;) {
        uint8_t b = static_cast<uint8_t>(rng() % 4);
        size_t r = 1 + rng() % 300;
        for (; r > 0 && i < n; --r) v[i++] = b;
      }
      break;
    case Kind::kText: {
      static const char* words[] = {"the ", "ipsec ", "tunnel ", "packet ", "GET / HTTP/1.1\r\n",
                                    "Host: ", "example.org ", "\r\n", "0123456789", "sa ",
                                    "esp ", "ike ", "{\"k\": ", "null}, "};
      size_t i = 0;
      while (i < n) {
        const char* w = words[rng() % std::size(words)];
        for (; *w && i < n; ++w) v[i++] = static_cast<uint8_t>(*w);
      }
      break;
    }
    case Kind::kMixed:
      for (size_t i = 0; i < n;) {
        Kind k = static_cast<Kind>(rng() % 5);
        size_t r = std::min(n - i, size_t{1} + rng() % 700);
        Bytes part = MakeInput(rng, k, r);
        // Sometimes copy from up to ~2100 bytes back instead, to hit the window edge.
        if (i > 0 && rng() % 3 == 0) {
          size_t back = 1 + rng() % std::min<size_t>(i, 2100);
          for (size_t j = 0; j < r; ++j) part[j] = (j < back) ? v[i - back + j] : part[j - back];
        }
        std::copy(part.begin(), part.end(), v.begin() + i);
        i += r;
      }
      break;
  }
  return v;
}

TEST(LzsEncoder, RandomRoundTrips) {
  std::mt19937 rng(12345);
  LzsCompressor c;           // reused across all inputs, as on the packet path
  LzsCompressor deep(256);   // a deeper search must round-trip too
  size_t count = 0;
  auto check = [&](const Bytes& in) {
    for (LzsCompressor* comp : {&c, &deep}) {
      Bytes z = Compress(*comp, in);
      ASSERT_LE(z.size(), LzsMaxCompressedSize(in.size()));
      Decoded d = Decode(z, in.size());
      ASSERT_EQ(d.res, LzsResult::kOk) << LzsResultName(d.res) << " n=" << in.size();
      ASSERT_EQ(d.out, in) << "n=" << in.size();
    }
    ++count;
  };
  for (size_t n = 0; n <= 300; ++n)
    for (int k = 0; k < 6; ++k) check(MakeInput(rng, static_cast<Kind>(k), n));
  for (int it = 0; it < 1500; ++it) {
    size_t n = rng() % 9001;
    check(MakeInput(rng, static_cast<Kind>(it % 6), n));
  }
  for (size_t n : {2047, 2048, 2049, 4095, 4096, 8999, 9000})
    for (int k = 0; k < 6; ++k) check(MakeInput(rng, static_cast<Kind>(k), n));
  printf("  %zu inputs round-tripped\n", count);
}

TEST(LzsEncoder, HistoryResetPerPacket) {
  // A reused compressor gives the same bytes as a fresh one: nothing of the previous
  // packet is referenced (RFC 2395).
  std::mt19937 rng(99);
  LzsCompressor reused;
  for (int it = 0; it < 200; ++it) {
    Bytes in = MakeInput(rng, static_cast<Kind>(it % 6), rng() % 3000);
    LzsCompressor fresh;
    ASSERT_EQ(Compress(reused, in), Compress(fresh, in));
  }
  // Same packet twice: the second is not a back-reference to the first.
  LzsCompressor c;
  Bytes in = MakeInput(rng, Kind::kRandom, 1000);
  EXPECT_EQ(Compress(c, in), Compress(c, in));
}

TEST(LzsEncoder, PositionBaseWraps) {
  std::mt19937 rng(5);
  LzsCompressor c;
  Bytes in = MakeInput(rng, Kind::kMixed, 9000);
  LzsCompressor fresh;
  Bytes expect = Compress(fresh, in);
  for (uint32_t b : {0xffffffffu - 20000, 0xffffffffu - 9001, 0xffffffffu - 9000, 0xffffffffu - 100}) {
    LzsCompressorTestPeer::SetBase(c, b);
    for (int k = 0; k < 4; ++k) {
      ASSERT_EQ(Compress(c, in), expect) << b << " " << k;
      ASSERT_GE(LzsCompressorTestPeer::Base(c), 1u);
    }
  }
}

TEST(LzsEncoder, CapacityIsRespected) {
  std::mt19937 rng(77);
  LzsCompressor c;
  for (int it = 0; it < 600; ++it) {
    Bytes in = MakeInput(rng, static_cast<Kind>(it % 6), rng() % 3000);
    Bytes z = Compress(c, in);
    // Exact capacity works; one byte less returns 0 and writes nothing past cap.
    for (size_t cap : {z.size(), z.size() - 1, z.size() / 2, size_t{0}, size_t{1}, size_t{3}}) {
      Bytes out(cap + 32, 0xA5);
      size_t r = c.Compress(in.data(), in.size(), out.data(), cap);
      if (cap >= z.size()) {
        ASSERT_EQ(r, z.size());
        ASSERT_TRUE(std::equal(z.begin(), z.end(), out.begin()));
      } else {
        ASSERT_EQ(r, 0u) << "cap " << cap << " needs " << z.size();
      }
      for (size_t i = cap; i < out.size(); ++i) ASSERT_EQ(out[i], 0xA5);
    }
    // The IPComp use: cap = n - 1 gives 0 unless the packet shrinks.
    if (!in.empty()) {
      Bytes out(in.size() - 1);
      size_t r = c.Compress(in.data(), in.size(), out.data(), out.size());
      ASSERT_EQ(r, z.size() < in.size() ? z.size() : 0u);
    }
  }
}

// ---- hardening: 10^5 random and mutated streams ----

TEST(LzsHardening, RandomAndMutatedStreams) {
  std::mt19937 rng(2024);
  LzsCompressor c;
  std::vector<Bytes> seeds;
  for (const auto& v : LoadVectors()) seeds.push_back(v.lzs);
  for (int k = 0; k < 60; ++k)
    seeds.push_back(Compress(c, MakeInput(rng, static_cast<Kind>(k % 6), rng() % 3000)));
  size_t by_result[6] = {};
  const int kIterations = 100000;
  for (int it = 0; it < kIterations; ++it) {
    Bytes s;
    switch (it % 5) {
      case 0: {  // random bytes
        s.resize(rng() % 256);
        for (auto& b : s) b = static_cast<uint8_t>(rng());
        break;
      }
      case 1:  // flip 1-8 bits
      case 2: {
        s = seeds[rng() % seeds.size()];
        if (s.empty()) break;
        for (int f = 1 + rng() % 8; f > 0; --f) s[rng() % s.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
        break;
      }
      case 3: {  // truncate, maybe after flips
        s = seeds[rng() % seeds.size()];
        s.resize(rng() % (s.size() + 1));
        if (!s.empty() && (rng() & 1)) s[rng() % s.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
        break;
      }
      case 4: {  // splice two streams / insert or delete bytes
        const Bytes& a = seeds[rng() % seeds.size()];
        const Bytes& b = seeds[rng() % seeds.size()];
        size_t ca = rng() % (a.size() + 1), cb = rng() % (b.size() + 1);
        s.assign(a.begin(), a.begin() + ca);
        s.insert(s.end(), b.begin() + cb, b.end());
        if (!s.empty() && (rng() & 1)) s.erase(s.begin() + rng() % s.size());
        break;
      }
    }
    size_t cap = (it & 1) ? 65536 : rng() % 3000;
    Decoded d = Decode(s, cap);
    ASSERT_LE(static_cast<size_t>(d.res), 5u);
    ++by_result[static_cast<size_t>(d.res)];
  }
  printf("  %d streams:", kIterations);
  for (int r = 0; r < 6; ++r) printf(" %s=%zu", LzsResultName(static_cast<LzsResult>(r)), by_result[r]);
  printf("\n");
}

}  // namespace
}  // namespace arsec::compress
