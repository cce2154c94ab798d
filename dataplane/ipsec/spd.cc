// SpdTable build: validates the policy list, splits it per interface, and compiles one
// rte_acl context per interface and direction. Runs on the control path only.
#include "dataplane/ipsec/spd.h"

#include <rte_errno.h>
#include <rte_malloc.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdio>
#include <cstring>
#include <string>

#include "absl/strings/str_format.h"

namespace arsec::dp {
namespace {

// Input layout (see SpdKey): the protocol byte alone first, as rte_acl requires, then
// 4-byte groups: source, destination, both ports.
enum : uint8_t { kFProto, kFSrc, kFDst, kFSport, kFDport, kNumFields };

RTE_ACL_RULE_DEF(SpdAclRule, kNumFields);

constexpr rte_acl_field_def kFieldDefs[kNumFields] = {
    {RTE_ACL_FIELD_TYPE_BITMASK, sizeof(uint8_t), kFProto, 0, offsetof(SpdKey, proto)},
    {RTE_ACL_FIELD_TYPE_MASK, sizeof(uint32_t), kFSrc, 1, offsetof(SpdKey, src)},
    {RTE_ACL_FIELD_TYPE_MASK, sizeof(uint32_t), kFDst, 2, offsetof(SpdKey, dst)},
    {RTE_ACL_FIELD_TYPE_RANGE, sizeof(uint16_t), kFSport, 3, offsetof(SpdKey, sport)},
    {RTE_ACL_FIELD_TYPE_RANGE, sizeof(uint16_t), kFDport, 3, offsetof(SpdKey, dport)},
};

// rte_acl_create hands back an existing context of the same name instead of a new one,
// so every context of every build gets a name of its own (the pid keeps two processes
// sharing a file prefix apart; the ACL list lives in shared memory).
std::atomic<uint64_t> g_generation{0};

bool ContiguousMask(uint32_t m) { return m == 0 || std::has_single_bit(~m + 1u); }

void SetMask(rte_acl_field* f, uint32_t addr, uint32_t mask) {
  f->value.u32 = addr & mask;
  f->mask_range.u32 = static_cast<uint32_t>(std::popcount(mask));
}

void SetRange(rte_acl_field* f, uint16_t lo, uint16_t hi) {
  f->value.u16 = lo;
  f->mask_range.u16 = hi;
}

SpdAclRule ToAcl(const SpdRule& r, SpdDir dir, int32_t priority) {
  SpdAclRule a{};
  a.data.category_mask = 1;
  a.data.priority = priority;
  a.data.userdata = SpdResultMake(r.action, r.policy);
  if (r.proto != kSpdAnyProto) {
    a.field[kFProto].value.u8 = static_cast<uint8_t>(r.proto);
    a.field[kFProto].mask_range.u8 = 0xff;
  }
  bool out = dir == SpdDir::kOutbound;
  SetMask(&a.field[out ? kFSrc : kFDst], r.laddr, r.lmask);
  SetMask(&a.field[out ? kFDst : kFSrc], r.raddr, r.rmask);
  SetRange(&a.field[out ? kFSport : kFDport], r.lport_lo, r.lport_hi);
  SetRange(&a.field[out ? kFDport : kFSport], r.rport_lo, r.rport_hi);
  return a;
}

SpdAclRule ImplicitDeny() {
  SpdAclRule a{};
  a.data.category_mask = 1;
  a.data.priority = RTE_ACL_MIN_PRIORITY;
  a.data.userdata = kSpdResultImplicitDeny;
  SetRange(&a.field[kFSport], 0, 0xffff);
  SetRange(&a.field[kFDport], 0, 0xffff);
  return a;
}

absl::Status AclError(const char* what, int err, const char* name) {
  std::string msg = absl::StrFormat("SPD: %s failed for %s: %s", what, name, strerror(err));
  if (err == ENOMEM || err == ERANGE) return absl::ResourceExhaustedError(msg);
  return absl::InternalError(msg);
}

using AclPtr = std::unique_ptr<rte_acl_ctx, decltype(&rte_acl_free)>;

absl::StatusOr<AclPtr> BuildOne(const std::vector<SpdAclRule>& rules, const char* name,
                                const SpdBuildOptions& opt) {
  rte_acl_param prm{};
  prm.name = name;
  prm.socket_id = opt.socket_id;
  prm.rule_size = RTE_ACL_RULE_SZ(kNumFields);
  prm.max_rule_num = static_cast<uint32_t>(rules.size());
  // Owned from here on, so every early return frees it.
  AclPtr ctx(rte_acl_create(&prm), &rte_acl_free);
  if (ctx == nullptr) return AclError("rte_acl_create", rte_errno, name);
  int rc = rte_acl_add_rules(ctx.get(), reinterpret_cast<const rte_acl_rule*>(rules.data()),
                             static_cast<uint32_t>(rules.size()));
  if (rc != 0) return AclError("rte_acl_add_rules", -rc, name);
  rte_acl_config cfg{};
  cfg.num_categories = 1;
  cfg.num_fields = kNumFields;
  for (unsigned i = 0; i < kNumFields; ++i) cfg.defs[i] = kFieldDefs[i];
  cfg.max_size = opt.max_trie_bytes;
  rc = rte_acl_build(ctx.get(), &cfg);
  if (rc != 0) return AclError("rte_acl_build", -rc, name);
  if (rules.size() > opt.large_min_rules &&
      rte_acl_set_ctx_classify(ctx.get(), opt.alg_large) == 0) {
    return ctx;
  }
  if (opt.alg != RTE_ACL_CLASSIFY_DEFAULT) {
    rc = rte_acl_set_ctx_classify(ctx.get(), opt.alg);
    if (rc != 0 && opt.alg_strict) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "SPD: classify algorithm %d not usable on this CPU/EAL: %s", opt.alg, strerror(-rc)));
    }
  }
  return ctx;
}

SpdLinearRule ToLinear(const SpdRule& r, SpdDir dir) {
  bool out = dir == SpdDir::kOutbound;
  SpdLinearRule x{};
  uint32_t smask = out ? r.lmask : r.rmask, saddr = out ? r.laddr : r.raddr;
  uint32_t dmask = out ? r.rmask : r.lmask, daddr = out ? r.raddr : r.laddr;
  x.src_mask = rte_cpu_to_be_32(smask);
  x.src_val = rte_cpu_to_be_32(saddr & smask);
  x.dst_mask = rte_cpu_to_be_32(dmask);
  x.dst_val = rte_cpu_to_be_32(daddr & dmask);
  x.sport_lo = out ? r.lport_lo : r.rport_lo;
  x.sport_span = static_cast<uint16_t>((out ? r.lport_hi : r.rport_hi) - x.sport_lo);
  x.dport_lo = out ? r.rport_lo : r.lport_lo;
  x.dport_span = static_cast<uint16_t>((out ? r.rport_hi : r.lport_hi) - x.dport_lo);
  if (r.proto != kSpdAnyProto) {
    x.proto_val = static_cast<uint8_t>(r.proto);
    x.proto_mask = 0xff;
  }
  x.result = SpdResultMake(r.action, r.policy);
  return x;
}

}  // namespace

SpdClassifier::~SpdClassifier() {
  rte_acl_free(ctx_);
  rte_free(lin_);
}

absl::Status SpdValidateRule(const SpdRule& r, const SpdBuildOptions& opt) {
  if (r.ifindex >= opt.max_interfaces) {
    return absl::InvalidArgumentError(
        absl::StrFormat("interface %u out of range (max %u)", r.ifindex, opt.max_interfaces));
  }
  if (r.action != SpdAction::kPermit && r.action != SpdAction::kDeny &&
      r.action != SpdAction::kIpsec) {
    return absl::InvalidArgumentError("bad action");
  }
  if (r.policy > kSpdMaxPolicy) return absl::InvalidArgumentError("policy id out of range");
  if (!ContiguousMask(r.lmask) || !ContiguousMask(r.rmask)) {
    return absl::InvalidArgumentError("address mask is not contiguous");
  }
  if (r.proto < kSpdAnyProto || r.proto > 255) {
    return absl::InvalidArgumentError("transport protocol out of range");
  }
  if (r.lport_lo > r.lport_hi || r.rport_lo > r.rport_hi) {
    return absl::InvalidArgumentError("empty port range");
  }
  bool ports_any = r.lport_lo == 0 && r.lport_hi == 0xffff && r.rport_lo == 0 &&
                   r.rport_hi == 0xffff;
  if (!ports_any && r.proto != kSpdProtoTcp && r.proto != kSpdProtoUdp) {
    return absl::InvalidArgumentError("ports only with TRANSPORTPROTOCOL TCP or UDP");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<SpdTable>> SpdTable::Build(const std::vector<SpdRule>& rules,
                                                          const SpdBuildOptions& opt) {
  uint32_t n_if = 0;
  for (size_t i = 0; i < rules.size(); ++i) {
    absl::Status st = SpdValidateRule(rules[i], opt);
    if (!st.ok()) {
      return absl::InvalidArgumentError(absl::StrFormat("SPD rule %u: %s", i, st.message()));
    }
    n_if = std::max(n_if, rules[i].ifindex + 1);
  }
  std::vector<std::vector<const SpdRule*>> per_if(n_if);
  for (const SpdRule& r : rules) per_if[r.ifindex].push_back(&r);
  for (uint32_t i = 0; i < n_if; ++i) {
    if (per_if[i].size() > opt.max_rules_per_interface) {
      return absl::ResourceExhaustedError(
          absl::StrFormat("SPD of interface %u: %u rules, at most %u", i, per_if[i].size(),
                          opt.max_rules_per_interface));
    }
  }
  // Creation order lives in the priority, below RTE_ACL_MAX_PRIORITY and above the
  // implicit deny's RTE_ACL_MIN_PRIORITY.
  if (opt.max_rules_per_interface > RTE_ACL_MAX_PRIORITY - 2) {
    return absl::InvalidArgumentError("SPD: max_rules_per_interface too large for rte_acl");
  }

  std::unique_ptr<SpdTable> t(new SpdTable());
  t->generation_ = g_generation.fetch_add(1, std::memory_order_relaxed) + 1;
  t->num_rules_ = static_cast<uint32_t>(rules.size());
  t->by_if_.assign(n_if, {nullptr, nullptr});
  t->has_spd_.assign(n_if, false);
  std::vector<SpdAclRule> acl;
  for (uint32_t i = 0; i < n_if; ++i) {
    if (per_if[i].empty()) continue;
    t->has_spd_[i] = true;
    for (SpdDir dir : {SpdDir::kOutbound, SpdDir::kInbound}) {
      if (!(dir == SpdDir::kOutbound ? opt.outbound : opt.inbound)) continue;
      if (per_if[i].size() <= opt.linear_max_rules) {
        auto* lin = static_cast<SpdLinearRule*>(rte_zmalloc_socket(
            "spd_linear", sizeof(SpdLinearRule) * per_if[i].size(), RTE_CACHE_LINE_SIZE,
            opt.socket_id));
        if (lin == nullptr) return absl::ResourceExhaustedError("SPD: no memory");
        for (size_t j = 0; j < per_if[i].size(); ++j) lin[j] = ToLinear(*per_if[i][j], dir);
        std::unique_ptr<SpdClassifier> c(
            new SpdClassifier(nullptr, lin, static_cast<uint32_t>(per_if[i].size())));
        t->by_if_[i][static_cast<unsigned>(dir)] = c.get();
        t->owned_.push_back(std::move(c));
        continue;
      }
      acl.clear();
      acl.reserve(per_if[i].size() + 1);
      int32_t prio = RTE_ACL_MAX_PRIORITY;
      for (const SpdRule* r : per_if[i]) acl.push_back(ToAcl(*r, dir, prio--));
      acl.push_back(ImplicitDeny());
      char name[RTE_ACL_NAMESIZE];
      snprintf(name, sizeof(name), "spd%x_%llx_%u%c", static_cast<unsigned>(getpid()),
               static_cast<unsigned long long>(t->generation_), i,
               dir == SpdDir::kOutbound ? 'o' : 'i');
      auto ctx = BuildOne(acl, name, opt);
      if (!ctx.ok()) return ctx.status();
      std::unique_ptr<SpdClassifier> c(
          new SpdClassifier(ctx->release(), nullptr, static_cast<uint32_t>(per_if[i].size())));
      t->by_if_[i][static_cast<unsigned>(dir)] = c.get();
      t->owned_.push_back(std::move(c));
    }
  }
  return t;
}

SpdTable::~SpdTable() = default;

}  // namespace arsec::dp
