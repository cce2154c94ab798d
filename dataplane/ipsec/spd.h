// The Security Policy Database classifier the workers run: per interface, policies in
// creation order, first match wins, an implicit DENY-all once the interface has any
// policy, and no SPD at all (everything passes) on an interface without one — the AR410
// semantics of CLI.md.
//
// An SpdTable is compiled off the packet path from the policy list into rte_acl tries,
// one context per (interface, direction), and is immutable afterwards; the dataplane
// publishes a new table and frees the old one after an RCU grace period. Why one
// context per interface and direction rather than one context with the interface as a
// field: an interface field would add a 4-byte input group (four more trie transitions
// for every packet), every trie would hold every interface's rules, and interfaces
// without an SPD would still pay for a lookup. Direction is resolved at build time: the
// inbound context is built with the selectors swapped (local = destination), so callers
// of either direction hand in the packet's own fields, and no per-packet swap is done.
//
// Priorities encode creation order (rte_acl returns the highest priority match); the
// implicit DENY-all is a real catch-all rule at the lowest priority, so a lookup result
// is always a final verdict and needs no fix-up pass.
#pragma once

#include <rte_acl.h>
#include <rte_byteorder.h>
#include <rte_memory.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace arsec::dp {

enum class SpdAction : uint8_t { kPermit = 1, kDeny = 2, kIpsec = 3 };
enum class SpdDir : uint8_t { kOutbound = 0, kInbound = 1 };

inline constexpr int16_t kSpdAnyProto = -1;
inline constexpr uint8_t kSpdProtoTcp = 6;
inline constexpr uint8_t kSpdProtoUdp = 17;

// A result word: action in bits 30..31, the matching rule's `policy` in bits 0..29.
inline constexpr uint32_t kSpdActionShift = 30;
inline constexpr uint32_t kSpdPolicyMask = (1u << kSpdActionShift) - 1;
// Policy values of the two verdicts that no configured policy produced.
inline constexpr uint32_t kSpdPolicyImplicitDeny = kSpdPolicyMask;  // end of an SPD
inline constexpr uint32_t kSpdPolicyNoSpd = kSpdPolicyMask - 1;     // interface has none
inline constexpr uint32_t kSpdMaxPolicy = kSpdPolicyMask - 2;       // largest usable id

constexpr uint32_t SpdResultMake(SpdAction a, uint32_t policy) {
  return (uint32_t{static_cast<uint8_t>(a)} << kSpdActionShift) | (policy & kSpdPolicyMask);
}
constexpr SpdAction SpdResultAction(uint32_t r) {
  return static_cast<SpdAction>(r >> kSpdActionShift);
}
constexpr uint32_t SpdResultPolicy(uint32_t r) { return r & kSpdPolicyMask; }
inline constexpr uint32_t kSpdResultNoSpd = SpdResultMake(SpdAction::kPermit, kSpdPolicyNoSpd);
inline constexpr uint32_t kSpdResultImplicitDeny =
    SpdResultMake(SpdAction::kDeny, kSpdPolicyImplicitDeny);

// One policy's selectors, as the control side hands them over. Addresses and masks in
// host order; a zero mask means "any". Masks must be contiguous (a prefix); address bits
// outside the mask are ignored. Ports are inclusive ranges (a single port is lo == hi,
// ANY is 0..65535) and may be narrowed only when proto is TCP or UDP.
struct SpdRule {
  uint32_t ifindex = 0;          // interface id, < SpdBuildOptions::max_interfaces
  SpdAction action = SpdAction::kDeny;
  uint32_t policy = 0;           // returned in the result; <= kSpdMaxPolicy
  uint32_t laddr = 0, lmask = 0;
  uint32_t raddr = 0, rmask = 0;
  int16_t proto = kSpdAnyProto;  // kSpdAnyProto or 0..255
  uint16_t lport_lo = 0, lport_hi = 0xffff;
  uint16_t rport_lo = 0, rport_hi = 0xffff;
};

// The lookup key, in network byte order, laid out like an IPv4 header from
// next_proto_id on: for an option-less IPv4 packet with its L4 header in the first
// segment, &ip->next_proto_id can be handed to Classify directly (the two bytes after
// the protocol are the header checksum, which the trie never reads). For packets with
// options, non-first fragments or no L4 ports, fill a key with SpdKeyFill. Bytes 0..14
// are read.
struct __attribute__((packed)) SpdKey {
  uint8_t proto;
  uint8_t unused[2];
  uint32_t src;
  uint32_t dst;
  uint16_t sport;
  uint16_t dport;
  uint8_t pad;
};
static_assert(sizeof(SpdKey) == 16);
static_assert(offsetof(SpdKey, src) == 3 && offsetof(SpdKey, dst) == 7 &&
              offsetof(SpdKey, sport) == 11 && offsetof(SpdKey, dport) == 13);

// All network byte order, straight from the headers; pass 0 ports for protocols
// without them.
static inline void SpdKeyFill(SpdKey* k, uint8_t proto, uint32_t src_be, uint32_t dst_be,
                              uint16_t sport_be, uint16_t dport_be) {
  k->proto = proto;
  k->unused[0] = k->unused[1] = 0;
  k->src = src_be;
  k->dst = dst_be;
  k->sport = sport_be;
  k->dport = dport_be;
  k->pad = 0;
}

struct SpdBuildOptions {
  int socket_id = SOCKET_ID_ANY;             // where the tries live (the workers' socket)
  uint32_t max_interfaces = 1024;            // ifindex bound
  uint32_t max_rules_per_interface = 65536;  // more is a ResourceExhausted error
  size_t max_trie_bytes = 0;                 // rte_acl max_size per context; 0 = no limit
  bool outbound = true;                      // build the outbound contexts
  bool inbound = true;                       // build the inbound contexts
  // SPDs of at most this many rules use the linear scan instead of rte_acl; 0 = always
  // rte_acl. Crossover measured with perf/micro/spd_bench.cc.
  uint32_t linear_max_rules = 8;
  // rte_acl implementation. SSE measured fastest on our x86 targets for bursts of 32
  // (rte_acl's own default picks AVX512X16 when allowed, the slowest there); when the CPU
  // lacks the one asked for, Build falls back to rte_acl's default instead of failing
  // unless alg_strict.
  enum rte_acl_classify_alg alg = RTE_ACL_CLASSIFY_SSE;
  bool alg_strict = false;
  // SPDs of at least large_min_rules rules use alg_large when the CPU and the EAL allow
  // it (AVX512X32 needs --force-max-simd-bitwidth=512), else alg: measured 20-30% faster
  // than SSE at 10,000 rules, no better at 100.
  enum rte_acl_classify_alg alg_large = RTE_ACL_CLASSIFY_AVX512X32;
  uint32_t large_min_rules = 1000;
};

// A rule of the linear path, compiled for one direction: selectors in the packet's
// field order (src/dst, sport/dport), addresses and masks in network order, port ranges
// as lo + span in host order. 32 bytes, so two share a cache line.
struct SpdLinearRule {
  uint32_t src_val, src_mask, dst_val, dst_mask;
  uint16_t sport_lo, sport_span, dport_lo, dport_span;
  uint8_t proto_val, proto_mask;
  uint8_t pad[2];
  uint32_t result;
};
static_assert(sizeof(SpdLinearRule) == 32);

// The SPD of one interface in one direction: a built rte_acl context, or, for an SPD of
// a few rules, a plain first-match scan, which beats the trie walk there (see
// SpdBuildOptions::linear_max_rules and perf/micro/spd_bench.cc).
class SpdClassifier {
 public:
  SpdClassifier(const SpdClassifier&) = delete;
  SpdClassifier& operator=(const SpdClassifier&) = delete;
  ~SpdClassifier();

  // keys[i] points at an SpdKey (or into a packet, see SpdKey); results[i] receives the
  // result word. Safe from any number of threads at once. n may be 0.
  void Classify(const uint8_t* const* keys, uint32_t n, uint32_t* results) const {
    if (ctx_ != nullptr) {
      rte_acl_classify(ctx_, const_cast<const uint8_t**>(keys), results, n, 1);
    } else {
      ClassifyLinear(keys, n, results);
    }
  }
  uint32_t num_rules() const { return num_rules_; }  // without the implicit deny
  // The rte_acl context; null when this SPD uses the linear path.
  const rte_acl_ctx* ctx() const { return ctx_; }

 private:
  friend class SpdTable;
  SpdClassifier(rte_acl_ctx* ctx, SpdLinearRule* lin, uint32_t num_rules)
      : ctx_(ctx), lin_(lin), num_rules_(num_rules) {}

  void ClassifyLinear(const uint8_t* const* keys, uint32_t n, uint32_t* results) const {
    for (uint32_t i = 0; i < n; ++i) {
      SpdKey k;
      __builtin_memcpy(&k, keys[i], sizeof(k));
      uint32_t sport = rte_be_to_cpu_16(k.sport), dport = rte_be_to_cpu_16(k.dport);
      uint32_t r = kSpdResultImplicitDeny;
      for (uint32_t j = 0; j < num_rules_; ++j) {
        const SpdLinearRule& x = lin_[j];
        // Non-short-circuit & keeps the loop body branch-free but for the exit.
        if (((k.src & x.src_mask) == x.src_val) & ((k.dst & x.dst_mask) == x.dst_val) &
            ((k.proto & x.proto_mask) == x.proto_val) &
            (((sport - x.sport_lo) & 0xffff) <= x.sport_span) &
            (((dport - x.dport_lo) & 0xffff) <= x.dport_span)) {
          r = x.result;
          break;
        }
      }
      results[i] = r;
    }
  }

  rte_acl_ctx* ctx_;
  SpdLinearRule* lin_;  // rte_malloc'd on the build's socket; null with ctx_
  uint32_t num_rules_;
};

class SpdTable {
 public:
  // `rules` in creation order (across interfaces; the relative order per interface is
  // what counts). Errors: InvalidArgument for a bad rule (the message names its index),
  // ResourceExhausted for too many rules or no memory, Internal for other rte_acl
  // failures. Nothing is left allocated on error.
  static absl::StatusOr<std::unique_ptr<SpdTable>> Build(const std::vector<SpdRule>& rules,
                                                         const SpdBuildOptions& opt = {});

  // Frees every context. The dataplane calls it only after an RCU grace period.
  ~SpdTable();
  SpdTable(const SpdTable&) = delete;
  SpdTable& operator=(const SpdTable&) = delete;

  // The classifier of an interface and direction; null when the interface has no
  // policy (no SPD: the caller passes the packets) or the direction was not built.
  const SpdClassifier* Find(uint32_t ifindex, SpdDir dir) const {
    if (ifindex >= by_if_.size()) return nullptr;
    return by_if_[ifindex][static_cast<unsigned>(dir)];
  }
  bool HasSpd(uint32_t ifindex) const {
    return ifindex < has_spd_.size() && has_spd_[ifindex];
  }

  // Classifies a burst that all goes through one interface. An interface without an
  // SPD yields kSpdResultNoSpd for every packet; one whose SPD was not built for this
  // direction fails closed (kSpdResultImplicitDeny).
  void Classify(uint32_t ifindex, SpdDir dir, const uint8_t* const* keys, uint32_t n,
                uint32_t* results) const {
    const SpdClassifier* c = Find(ifindex, dir);
    if (c != nullptr) {
      c->Classify(keys, n, results);
      return;
    }
    uint32_t r = HasSpd(ifindex) ? kSpdResultImplicitDeny : kSpdResultNoSpd;
    for (uint32_t i = 0; i < n; ++i) results[i] = r;
  }

  uint32_t num_rules() const { return num_rules_; }
  uint32_t num_contexts() const { return static_cast<uint32_t>(owned_.size()); }
  uint64_t generation() const { return generation_; }  // unique per build in a process

 private:
  SpdTable() = default;
  std::vector<std::unique_ptr<SpdClassifier>> owned_;
  std::vector<std::array<const SpdClassifier*, 2>> by_if_;
  std::vector<bool> has_spd_;
  uint32_t num_rules_ = 0;
  uint64_t generation_ = 0;
};

// Checks one rule as Build does; for the control side to reject a policy early.
absl::Status SpdValidateRule(const SpdRule& r, const SpdBuildOptions& opt = {});

}  // namespace arsec::dp
