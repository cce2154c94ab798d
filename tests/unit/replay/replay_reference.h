// A trivial, obviously-correct model of the anti-replay window for the differential test:
// a std::set of the recorded 64-bit numbers and the maximum. ESN inference here is the
// definition, not Appendix A's case analysis: the unique number congruent to the low 32
// bits modulo 2^32 in [top - W + 1, top - W + 2^32].
#pragma once

#include <cstdint>
#include <set>

#include "dataplane/ipsec/replay_window.h"

namespace arsec::dp::testing {

class ReferenceWindow {
 public:
  ReferenceWindow(uint32_t window, bool esn, bool enabled)
      : w_(window), esn_(esn), enabled_(enabled) {}

  ReplayCheck Check(uint32_t low) const {
    uint64_t seq64 = low;
    if (esn_) {
      const __int128 base = static_cast<__int128>(top_) - w_ + 1;
      const __int128 m = __int128{1} << 32;
      __int128 off = (static_cast<__int128>(low) - base) % m;
      if (off < 0) off += m;
      const __int128 v = base + off;
      if (v < 1) return {enabled_ ? ReplayVerdict::kTooOld : ReplayVerdict::kOk, low};
      seq64 = static_cast<uint64_t>(v);
    }
    if (!enabled_) return {ReplayVerdict::kOk, seq64};
    return {Classify(seq64), seq64};
  }

  ReplayVerdict Update(uint64_t seq64) {
    if (!enabled_) {
      if (seq64 > top_) top_ = seq64;
      return ReplayVerdict::kOk;
    }
    const ReplayVerdict v = Classify(seq64);
    if (v != ReplayVerdict::kOk) return v;
    seen_.insert(seq64);
    if (seq64 > top_) top_ = seq64;
    while (!seen_.empty() && top_ - *seen_.begin() >= w_) seen_.erase(seen_.begin());
    return v;
  }

  uint64_t top() const { return top_; }

 private:
  ReplayVerdict Classify(uint64_t seq64) const {
    if (seq64 == 0) return ReplayVerdict::kTooOld;
    if (seq64 > top_) return ReplayVerdict::kOk;
    if (top_ - seq64 >= w_) return ReplayVerdict::kTooOld;
    return seen_.count(seq64) ? ReplayVerdict::kReplayed : ReplayVerdict::kOk;
  }

  uint64_t w_;
  bool esn_;
  bool enabled_;
  uint64_t top_ = 0;
  std::set<uint64_t> seen_;
};

}  // namespace arsec::dp::testing
