// Sequence numbers of an ESP/AH SA: the inbound anti-replay window (RFC 4303 section
// 3.4.3 and Appendix A, RFC 4302 section 3.4.3) with Extended Sequence Numbers, and the
// outbound counter that refuses to cycle (RFC 4303 section 3.3.3).
//
// Inbound is split in two phases because the pipeline checks a whole burst, hands it to
// crypto, and only then knows which packets are genuine:
//   1. Check(seq_low32) before the ICV check: rejects duplicates and packets below the
//      window, and with ESN infers the high 32 bits (Appendix A); the inferred 64-bit
//      number is what the ICV covers. Check never changes the window.
//   2. Update(seq64) only for packets whose ICV verified, so a forged packet cannot move
//      the window. Update checks again: two copies of one packet in the same burst both
//      pass Check, and only the first Update returns kOk (the second says kReplayed).
//
// The bitmap is a ring of 64-bit words indexed by sequence number modulo R, R = the
// window size rounded up to a power of two (at least 64), as in RFC 6479, except that
// sliding clears exactly the bit positions the window moves over (masked at the edges)
// instead of whole words. So the ring needs no spare word: a 1024-packet window is 16
// words, and the acceptance test is exact (seq > top - window) for any window size, not
// only powers of two (REPLAYWINDOWSIZE is 32..1024 in the command language). In-order
// traffic costs one word write per packet; a jump of d costs d/64 + 1 word writes, and
// a jump of R or more clears the ring.
//
// Layout: a 16-byte header (top, window, ring mask, flags) followed by the words, no
// pointers, no allocation after Init(). BasicReplayWindow<1024> is 144 bytes: three
// cache lines when 64-byte aligned (header + words 0..5, words 6..13, words 14..15); an
// in-order packet touches the header line and the line holding top's word, usually the
// same one. BasicReplayWindow<4096> is 528 bytes; with a smaller configured window only
// the first R/64 words are ever touched.
//
// Single owner: an SA's inbound window belongs to one worker (packets reaching another
// worker are handed off), so nothing here is atomic. OutboundSeq has a ReserveShared()
// for the burst-reserved-atomics alternative the design allows.
#pragma once

#include <atomic>
#include <bit>
#include <cstdint>
#include <cstring>

namespace arsec::dp {

enum class ReplayVerdict : uint8_t {
  kOk = 0,        // new: may be processed (Check) / recorded (Update)
  kReplayed = 1,  // inside the window and already seen
  kTooOld = 2,    // left of the window, or not a valid number (0; before the SA's start)
};

struct ReplayCheck {
  ReplayVerdict verdict;
  uint64_t seq64;  // the full sequence number; with ESN the ICV covers its high half
};

inline constexpr uint32_t kReplayWindowMin = 32;   // RFC 4303: 32 MUST be supported
inline constexpr uint32_t kReplayWindowMax = 4096;

template <uint32_t kMaxWindow>
class BasicReplayWindow {
  static_assert(kMaxWindow >= 64 && kMaxWindow <= 32768 && std::has_single_bit(kMaxWindow),
                "capacity: a power of two in 64..32768 (window_ is 16 bits)");
  static constexpr uint32_t kWords = kMaxWindow / 64;

 public:
  static constexpr uint32_t kCapacity = kMaxWindow;

  // An SA with no Init() (window 0) has anti-replay disabled and no ESN.
  constexpr BasicReplayWindow() noexcept = default;

  static constexpr bool ValidWindow(uint32_t window) noexcept {
    return window >= kReplayWindowMin && window <= kMaxWindow;
  }

  // Sets up (or resets, on rekey) the window. Returns false, changing nothing, when the
  // window is outside kReplayWindowMin..kMaxWindow. `enabled` false is
  // ANTIREPLAYENABLED=FALSE: nothing is rejected, but with ESN top is still tracked so
  // that the high bits can be inferred (RFC 4303 section 2.2.1).
  [[nodiscard]] bool Init(uint32_t window, bool esn, bool enabled) noexcept {
    if (!ValidWindow(window)) return false;
    const uint32_t ring_bits = std::bit_ceil(window < 64 ? 64u : window);
    top_ = 0;
    window_ = static_cast<uint16_t>(window);
    word_mask_ = static_cast<uint16_t>(ring_bits / 64 - 1);
    esn_ = esn;
    enabled_ = enabled;
    std::memset(words_, 0, sizeof(words_));
    return true;
  }

  // Phase 1, before the ICV check. Never changes state.
  ReplayCheck Check(uint32_t seq_low) const noexcept {
    uint64_t seq64 = seq_low;
    if (esn_) {
      bool before_start;
      seq64 = InferEsn(seq_low, &before_start);
      if (before_start) {
        return {enabled_ ? ReplayVerdict::kTooOld : ReplayVerdict::kOk, seq64};
      }
    }
    if (!enabled_) return {ReplayVerdict::kOk, seq64};
    return {Classify(seq64), seq64};
  }

  // Phase 2, only after the ICV verified. Records seq64 (sliding the window if it is
  // beyond top) and returns kOk, or returns why it cannot be recorded any more; the
  // caller then drops the packet as a replay.
  ReplayVerdict Update(uint64_t seq64) noexcept {
    if (!enabled_) {
      if (seq64 > top_) top_ = seq64;
      return ReplayVerdict::kOk;
    }
    const uint64_t top = top_;
    if (seq64 > top) {
      Slide(top, seq64);
      top_ = seq64;
      return ReplayVerdict::kOk;
    }
    if (top - seq64 >= window_ || seq64 == 0) return ReplayVerdict::kTooOld;
    uint64_t& w = words_[(seq64 >> 6) & word_mask_];
    const uint64_t bit = uint64_t{1} << (seq64 & 63);
    if (w & bit) return ReplayVerdict::kReplayed;
    w |= bit;
    return ReplayVerdict::kOk;
  }

  uint64_t top() const noexcept { return top_; }  // highest recorded, 0 before the first
  uint32_t window() const noexcept { return window_; }
  bool esn() const noexcept { return esn_; }
  bool enabled() const noexcept { return enabled_; }
  uint32_t ring_bits() const noexcept { return (uint32_t{word_mask_} + 1) * 64; }

 private:
  // RFC 4303 Appendix A.2.1: Tl/Th are top's halves, W the window. The result is the
  // unique number congruent to seq_low modulo 2^32 in [top - W + 1, top - W + 2^32].
  // *before_start is set when that number would be below 1 (Case B with Th = 0); the
  // value returned then uses Th (= 0), the only high half the SA has had.
  uint64_t InferEsn(uint32_t seq_low, bool* before_start) const noexcept {
    const uint32_t tl = static_cast<uint32_t>(top_);
    const uint64_t th = top_ >> 32;
    const uint32_t bottom_low = tl - (uint32_t{window_} - 1);  // modulo 2^32
    *before_start = false;
    uint64_t high;
    if (tl >= uint32_t{window_} - 1) {  // Case A: the window lies within one subspace
      high = seq_low >= bottom_low ? th : th + 1;  // th + 1 past 2^32: wraps to too old
    } else {                            // Case B: the window spans two subspaces
      if (seq_low >= bottom_low) {
        *before_start = th == 0;
        high = th == 0 ? 0 : th - 1;
      } else {
        high = th;
      }
    }
    return (high << 32) | seq_low;
  }

  ReplayVerdict Classify(uint64_t seq64) const noexcept {
    const uint64_t top = top_;
    if (seq64 > top) return ReplayVerdict::kOk;
    if (top - seq64 >= window_ || seq64 == 0) return ReplayVerdict::kTooOld;
    const uint64_t w = words_[(seq64 >> 6) & word_mask_];
    return (w >> (seq64 & 63)) & 1 ? ReplayVerdict::kReplayed : ReplayVerdict::kOk;
  }

  // Moves top from `top` to `seq64` (> top): clears positions top+1 .. seq64-1, which
  // still hold numbers R older, and sets seq64's bit.
  void Slide(uint64_t top, uint64_t seq64) noexcept {
    const uint64_t d = seq64 - top;
    const uint32_t mask = word_mask_;
    if (d == 1) {  // in order: the common case, one word
      words_[(seq64 >> 6) & mask] |= uint64_t{1} << (seq64 & 63);
      return;
    }
    const uint64_t ring_bits = (uint64_t{mask} + 1) * 64;
    if (d >= ring_bits) {
      std::memset(words_, 0, (size_t{mask} + 1) * sizeof(uint64_t));
    } else {
      uint64_t pos = top + 1;
      uint64_t left = d;  // clears top+1 .. seq64; seq64's bit is set below
      while (left != 0) {
        const uint32_t bit = static_cast<uint32_t>(pos & 63);
        const uint64_t n = left < 64 - bit ? left : 64 - bit;
        const uint64_t span = n == 64 ? ~uint64_t{0} : ((uint64_t{1} << n) - 1) << bit;
        words_[(pos >> 6) & mask] &= ~span;
        pos += n;
        left -= n;
      }
    }
    words_[(seq64 >> 6) & mask] |= uint64_t{1} << (seq64 & 63);
  }

  // Hot header, 16 bytes.
  uint64_t top_ = 0;
  uint16_t window_ = 0;
  uint16_t word_mask_ = 0;  // ring words - 1 (ring words = R / 64, a power of two)
  bool esn_ = false;
  bool enabled_ = false;
  uint16_t pad_ = 0;
  uint64_t words_[kWords] = {};
};

using ReplayWindow1024 = BasicReplayWindow<1024>;  // the command language's maximum
using ReplayWindow = BasicReplayWindow<kReplayWindowMax>;

static_assert(sizeof(ReplayWindow1024) == 16 + 1024 / 8);
static_assert(sizeof(ReplayWindow) == 16 + kReplayWindowMax / 8);
static_assert(alignof(ReplayWindow) == 8);

// Outbound: the sender's counter. Starts at 0; the first packet carries 1. Without ESN
// the last usable number is 2^32 - 1, with ESN 2^64 - 1; after that every request is
// refused and the SA must be replaced (RFC 4303 section 3.3.3: the counter MUST NOT
// cycle). `rekey_soon` fires once, for the allocation that reaches the soft mark
// (15/16 of the space by default), so the control plane can rekey before the end.
struct SeqAlloc {
  uint64_t first;     // first number of the range (meaningful when count > 0)
  uint32_t count;     // numbers granted: first .. first + count - 1
  bool exhausted;     // fewer than requested: drop the rest, the SA must be rekeyed
  bool rekey_soon;    // this range contains the soft mark (reported once)
};

class OutboundSeq {
 public:
  constexpr OutboundSeq() noexcept = default;
  explicit OutboundSeq(bool esn) noexcept { Init(esn); }

  void Init(bool esn) noexcept { Init(esn, 0); }
  // `last` is the number already used (0 for a new SA), e.g. to resume or to test the end.
  void Init(bool esn, uint64_t last) noexcept {
    limit_ = esn ? ~uint64_t{0} : uint64_t{0xffffffff};
    soft_ = limit_ - limit_ / 16;
    last_ = last;
  }
  void set_soft_mark(uint64_t seq) noexcept { soft_ = seq; }

  // One number (single owner).
  SeqAlloc Next() noexcept { return Reserve(1); }

  // n consecutive numbers for a burst (single owner). Grants as many as remain.
  SeqAlloc Reserve(uint32_t n) noexcept {
    const uint64_t last = last_;
    const uint64_t left = last >= limit_ ? 0 : limit_ - last;
    const uint32_t count = left < n ? static_cast<uint32_t>(left) : n;
    last_ = last + count;
    return Make(last, count, n);
  }

  // As Reserve, for several writers on one SA: one atomic add per burst. A refused
  // request still moves the counter past the limit, which is harmless (it stays
  // refused); only 2^64 requests could wrap it.
  SeqAlloc ReserveShared(uint32_t n) noexcept {
    const uint64_t last = std::atomic_ref<uint64_t>(last_).fetch_add(n, std::memory_order_relaxed);
    const uint64_t left = last >= limit_ ? 0 : limit_ - last;
    const uint32_t count = left < n ? static_cast<uint32_t>(left) : n;
    return Make(last, count, n);
  }

  uint64_t last() const noexcept { return last_ < limit_ ? last_ : limit_; }
  uint64_t limit() const noexcept { return limit_; }
  bool exhausted() const noexcept { return last_ >= limit_; }
  uint64_t remaining() const noexcept { return last_ >= limit_ ? 0 : limit_ - last_; }

 private:
  SeqAlloc Make(uint64_t last, uint32_t count, uint32_t n) const noexcept {
    const uint64_t first = last + 1;
    const bool soft = count != 0 && first <= soft_ && soft_ - first < count;
    return {first, count, count < n, soft};
  }

  alignas(8) uint64_t last_ = 0;  // last number handed out
  uint64_t limit_ = 0xffffffff;
  uint64_t soft_ = 0xffffffff - 0xffffffff / 16;
};

static_assert(sizeof(OutboundSeq) == 24);

}  // namespace arsec::dp
