// LZS (ANSI X3.241-1994) for IPComp (RFC 2395); the format is described in lzs.h.
#include "dataplane/compress/lzs.h"

#include <bit>
#include <cstring>

namespace arsec::compress {

namespace {

// Matches at least this long are taken without looking further down the chain or
// trying a lazy match at the next position.
constexpr size_t kNiceLen = 96;
constexpr size_t kLazyMaxLen = 32;

inline uint32_t Hash3(const uint8_t* p, int bits) {
  uint32_t v = (uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | p[2];
  return (v * 2654435761u) >> (32 - bits);
}

inline uint32_t Hash2(const uint8_t* p, int bits) {
  uint32_t v = (uint32_t{p[0]} << 8) | p[1];
  return (v * 2654435761u) >> (32 - bits);
}

// Length of the common prefix of a and b, at most max (a < b may overlap; the caller
// guarantees b + max is within the input).
inline size_t MatchLen(const uint8_t* a, const uint8_t* b, size_t max) {
  size_t l = 0;
  if constexpr (std::endian::native == std::endian::little) {
    while (l + 8 <= max) {
      uint64_t x, y;
      std::memcpy(&x, a + l, 8);
      std::memcpy(&y, b + l, 8);
      if (uint64_t d = x ^ y) return l + (static_cast<size_t>(std::countr_zero(d)) >> 3);
      l += 8;
    }
  }
  while (l < max && a[l] == b[l]) ++l;
  return l;
}

inline int LenBits(size_t l) {
  if (l < 5) return 2;
  if (l < 8) return 4;
  size_t extra = (l - 8) / 15;
  if (extra > (1u << 24)) extra = 1u << 24;  // cost saturates; only used for comparisons
  return 8 + 4 * static_cast<int>(extra);
}

// Bits saved by coding l bytes at offset d as a string instead of l literals.
inline int Saving(size_t l, size_t d) {
  size_t lc = l > (1u << 24) ? (1u << 24) : l;
  return 9 * static_cast<int>(lc) - (2 + (d < 128 ? 7 : 11) + LenBits(lc));
}

struct Match {
  size_t len = 0;
  size_t off = 0;
  int save = 0;
};

// MSB-first bit writer that never writes at or past out[cap].
class BitWriter {
 public:
  BitWriter(uint8_t* out, size_t cap) : out_(out), cap_(cap) {}

  // v holds k bits, k <= 32.
  void Put(uint32_t v, unsigned k) {
    acc_ = (acc_ << k) | v;
    nbits_ += k;
    if (nbits_ >= 32) {
      nbits_ -= 32;
      uint32_t w = static_cast<uint32_t>(acc_ >> nbits_);
      if (cap_ - pos_ < 4) {
        full_ = true;
        return;
      }
      out_[pos_] = static_cast<uint8_t>(w >> 24);
      out_[pos_ + 1] = static_cast<uint8_t>(w >> 16);
      out_[pos_ + 2] = static_cast<uint8_t>(w >> 8);
      out_[pos_ + 3] = static_cast<uint8_t>(w);
      pos_ += 4;
    }
  }

  // Pads with zero bits to a byte boundary and writes what is left.
  void Finish() {
    if (full_) return;
    unsigned pad = (8 - nbits_ % 8) % 8;
    acc_ <<= pad;
    nbits_ += pad;
    while (nbits_ > 0) {
      if (pos_ == cap_) {
        full_ = true;
        return;
      }
      nbits_ -= 8;
      out_[pos_++] = static_cast<uint8_t>(acc_ >> nbits_);
    }
  }

  bool full() const { return full_; }
  size_t size() const { return pos_; }

 private:
  uint8_t* out_;
  size_t cap_;
  size_t pos_ = 0;
  uint64_t acc_ = 0;
  unsigned nbits_ = 0;
  bool full_ = false;
};

inline void PutLiteral(BitWriter& w, uint8_t b) { w.Put(b, 9); }  // 0 bbbbbbbb

inline void PutString(BitWriter& w, size_t off, size_t len) {
  if (off < 128) {
    w.Put(0x180u | static_cast<uint32_t>(off), 9);  // 1 1 ooooooo
  } else {
    w.Put(0x1000u | static_cast<uint32_t>(off), 13);  // 1 0 ooooooooooo
  }
  if (len < 5) {
    w.Put(static_cast<uint32_t>(len - 2), 2);
  } else if (len < 8) {
    w.Put(0xCu | static_cast<uint32_t>(len - 5), 4);
  } else {
    size_t r = len - 8;
    w.Put(0xFu, 4);
    while (r >= 15 * 7 && !w.full()) {
      w.Put(0xFFFFFFFu, 28);
      r -= 15 * 7;
    }
    while (r >= 15) {
      w.Put(0xFu, 4);
      r -= 15;
    }
    w.Put(static_cast<uint32_t>(r), 4);
  }
}

}  // namespace

const char* LzsResultName(LzsResult r) {
  switch (r) {
    case LzsResult::kOk: return "ok";
    case LzsResult::kOutputFull: return "output-full";
    case LzsResult::kTruncated: return "truncated";
    case LzsResult::kBadOffset: return "bad-offset";
    case LzsResult::kNoEndMarker: return "no-end-marker";
    case LzsResult::kTrailingData: return "trailing-data";
  }
  return "?";
}

LzsCompressor::LzsCompressor(int max_chain)
    : max_chain_(max_chain < 1 ? 1 : (max_chain > 4096 ? 4096 : max_chain)) {
  ResetTables();
}

void LzsCompressor::ResetTables() {
  std::memset(head3_, 0, sizeof(head3_));
  std::memset(head2_, 0, sizeof(head2_));
  std::memset(prev_, 0, sizeof(prev_));
  base_ = 1;
}

size_t LzsCompressor::Compress(const uint8_t* in, size_t n, uint8_t* out, size_t cap) {
  if (n > 0x7fffffffu) return 0;
  // Stored positions are base_ + index: make sure this call's fit in 32 bits.
  if (uint64_t{base_} + n + 1 > 0xffffffffu) ResetTables();
  const uint32_t base = base_;
  base_ += static_cast<uint32_t>(n);  // everything stored below is < the next call's base

  const int max_chain = max_chain_;
  uint32_t* const head3 = head3_;
  uint32_t* const head2 = head2_;
  uint32_t* const prev = prev_;

  auto insert = [&](size_t i) {
    const uint32_t v = base + static_cast<uint32_t>(i);
    if (i + 3 <= n) {
      uint32_t h = Hash3(in + i, kHash3Bits);
      prev[i & (kWindow - 1)] = head3[h];
      head3[h] = v;
    }
    if (i + 2 <= n) head2[Hash2(in + i, kHash2Bits)] = v;
  };

  // Best string at position i among earlier positions (those already inserted).
  auto find = [&](size_t i) -> Match {
    Match best;
    if (i >= n || n - i < 2) return best;
    const size_t max = n - i;
    const uint8_t* p = in + i;
    if (max >= 3) {
      uint32_t v = head3[Hash3(p, kHash3Bits)];
      for (int chain = max_chain; v >= base && chain > 0; --chain) {
        const size_t c = v - base;
        const size_t d = i - c;
        if (d > kLzsMaxOffset) break;
        // Candidates come nearest first, so only a longer one can beat the best.
        if (best.len == 0 || (best.len < max && in[c + best.len] == p[best.len])) {
          const size_t l = MatchLen(in + c, p, max);
          if (l >= 2) {
            const int s = Saving(l, d);
            if (s > best.save) best = Match{l, d, s};
            if (l >= kNiceLen || l == max) break;
          }
        }
        v = prev[c & (kWindow - 1)];
      }
    }
    // The newest position with the same two bytes: finds short, near strings the
    // 3-byte chain cannot see.
    const uint32_t v2 = head2[Hash2(p, kHash2Bits)];
    if (v2 >= base) {
      const size_t c = v2 - base;
      const size_t d = i - c;
      if (d <= kLzsMaxOffset && d != best.off && in[c] == p[0] && in[c + 1] == p[1]) {
        const size_t l = MatchLen(in + c, p, max);
        const int s = Saving(l, d);
        if (s > best.save) best = Match{l, d, s};
      }
    }
    return best;
  };

  BitWriter w(out, cap);
  size_t i = 0;
  Match cur = find(0);
  while (i < n) {
    if (cur.len >= 2 && cur.len < kLazyMaxLen && i + 1 < n) {
      // Lazy evaluation: if the string starting one byte later saves more, emit a
      // literal here and take that one instead.
      insert(i);
      Match next = find(i + 1);
      if (next.save > cur.save) {
        PutLiteral(w, in[i]);
        ++i;
        cur = next;
        if (w.full()) return 0;
        continue;
      }
      PutString(w, cur.off, cur.len);
      for (size_t k = i + 1; k < i + cur.len; ++k) insert(k);
      i += cur.len;
    } else if (cur.len >= 2) {
      PutString(w, cur.off, cur.len);
      for (size_t k = i; k < i + cur.len; ++k) insert(k);
      i += cur.len;
    } else {
      PutLiteral(w, in[i]);
      insert(i);
      ++i;
    }
    if (w.full()) return 0;
    cur = find(i);
  }
  w.Put(0x180u, 9);  // end marker: 1 1 0000000
  w.Finish();
  return w.full() ? 0 : w.size();
}

namespace {

// MSB-first bit reader over in[0..n) that never reads past in[n-1].
class BitReader {
 public:
  BitReader(const uint8_t* in, size_t n) : in_(in), n_(n) {}

  // Tops the buffer up to at least 57 bits, or to everything that is left.
  void Refill() {
    if (nbits_ <= 56 && n_ - pos_ >= 8) {
      uint64_t x;
      std::memcpy(&x, in_ + pos_, 8);
      if constexpr (std::endian::native == std::endian::little) x = __builtin_bswap64(x);
      // Bits past the counted bytes are the same ones the next refill puts there.
      acc_ |= x >> nbits_;
      const unsigned bytes = (64 - nbits_) >> 3;
      pos_ += bytes;
      nbits_ += bytes * 8;
      return;
    }
    while (nbits_ <= 56 && pos_ < n_) {
      acc_ |= uint64_t{in_[pos_++]} << (56 - nbits_);
      nbits_ += 8;
    }
  }

  unsigned available() const { return nbits_; }
  // Next k bits (1 <= k <= 32) without consuming them; requires available() >= k.
  uint32_t Peek(unsigned k) const { return static_cast<uint32_t>(acc_ >> (64 - k)); }
  void Skip(unsigned k) {
    acc_ <<= k;
    nbits_ -= k;
  }
  // Takes k bits into *v; false if the input has fewer than k bits left.
  bool Take(unsigned k, uint32_t* v) {
    if (nbits_ < k) {
      Refill();
      if (nbits_ < k) return false;
    }
    *v = Peek(k);
    Skip(k);
    return true;
  }
  // True if whole bytes follow the byte holding the last bit read.
  bool WholeBytesLeft() const { return nbits_ >= 8 || pos_ < n_; }

 private:
  const uint8_t* in_;
  size_t n_;
  size_t pos_ = 0;
  uint64_t acc_ = 0;  // unread bits, MSB-aligned
  unsigned nbits_ = 0;
};

}  // namespace

LzsResult LzsDecompress(const uint8_t* in, size_t n, uint8_t* out, size_t cap, size_t* out_len) {
  BitReader r(in, n);
  size_t produced = 0;
  LzsResult res;
  for (;;) {
    r.Refill();
    // Every token is at least 9 bits; fewer left means only padding remains.
    if (r.available() < 9) {
      res = LzsResult::kNoEndMarker;
      break;
    }
    if (r.Peek(1) == 0) {  // literals: up to 6 from one refill
      bool full = false;
      do {
        const uint8_t b = static_cast<uint8_t>(r.Peek(9));
        r.Skip(9);
        if (produced == cap) {
          full = true;
          break;
        }
        out[produced++] = b;
      } while (r.available() >= 9 && r.Peek(1) == 0);
      if (full) {
        res = LzsResult::kOutputFull;
        break;
      }
      continue;
    }
    size_t off;
    if (r.Peek(2) == 3) {  // 1 1 ooooooo
      off = r.Peek(9) & 0x7f;
      r.Skip(9);
      if (off == 0) {  // end marker; the rest of its byte is padding
        res = r.WholeBytesLeft() ? LzsResult::kTrailingData : LzsResult::kOk;
        break;
      }
    } else {  // 1 0 ooooooooooo
      if (r.available() < 13) {
        res = LzsResult::kTruncated;
        break;
      }
      off = r.Peek(13) & 0x7ff;
      r.Skip(13);
      if (off == 0) {
        res = LzsResult::kBadOffset;
        break;
      }
    }
    if (off > produced) {
      res = LzsResult::kBadOffset;
      break;
    }
    // Length: at most 8 bits here (refilled above to >= 57 unless the input ends).
    uint32_t v;
    size_t len;
    if (!r.Take(2, &v)) {
      res = LzsResult::kTruncated;
      break;
    }
    if (v < 3) {
      len = 2 + v;
    } else {
      if (!r.Take(2, &v)) {
        res = LzsResult::kTruncated;
        break;
      }
      if (v < 3) {
        len = 5 + v;
      } else {
        len = 8;
        res = LzsResult::kOk;
        const size_t room = cap - produced;
        do {
          if (!r.Take(4, &v)) {
            res = LzsResult::kTruncated;
            break;
          }
          len += v;
          if (len > room) {  // also keeps len from growing without bound
            res = LzsResult::kOutputFull;
            break;
          }
        } while (v == 15);
        if (res != LzsResult::kOk) break;
      }
    }
    if (len > cap - produced) {
      res = LzsResult::kOutputFull;
      break;
    }
    uint8_t* dst = out + produced;
    const uint8_t* src = dst - off;
    if (off >= len) {
      std::memcpy(dst, src, len);
    } else if (off == 1) {
      std::memset(dst, *src, len);
    } else {
      for (size_t k = 0; k < len; ++k) dst[k] = src[k];
    }
    produced += len;
  }
  *out_len = produced;
  return res;
}

}  // namespace arsec::compress
