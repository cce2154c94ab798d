// rte_lpm plus reference-counted, RCU-reclaimed next-hop records; see fib.h.
#include "dataplane/fib.h"

#include <rte_errno.h>
#include <rte_malloc.h>

#include <cerrno>
#include <cstring>

namespace arsec::dp {

LpmFib::LpmFib(const char* name, int socket, uint32_t max_rules, uint32_t tbl8s,
               rte_rcu_qsbr* rcu)
    : rcu_(rcu) {
  rte_lpm_config cfg{};
  cfg.max_rules = max_rules;
  cfg.number_tbl8s = tbl8s;
  lpm_ = rte_lpm_create(name, socket, &cfg);
  if (lpm_ == nullptr) return;
  if (rcu_ != nullptr) {
    rte_lpm_rcu_config rc{};
    rc.v = rcu_;
    rc.mode = RTE_LPM_QSBR_MODE_DQ;
    if (rte_lpm_rcu_qsbr_add(lpm_, &rc) != 0) {
      rte_lpm_free(lpm_);
      lpm_ = nullptr;
      return;
    }
  }
  nh_ = static_cast<NhEntry*>(
      rte_zmalloc_socket("arsec_nh", sizeof(NhEntry) * kMaxNh, RTE_CACHE_LINE_SIZE, socket));
  refs_.assign(kMaxNh, 0);
  keys_.resize(kMaxNh);
  free_.reserve(kMaxNh);
  for (uint32_t i = kMaxNh; i-- > 1;) free_.push_back(i);  // index 0 stays unused
}

LpmFib::~LpmFib() {
  if (lpm_) rte_lpm_free(lpm_);
  rte_free(nh_);
}

int LpmFib::Ref(const NhKey& k) {
  auto it = by_key_.find(k);
  if (it != by_key_.end()) {
    ++refs_[it->second];
    return static_cast<int>(it->second);
  }
  Reclaim();
  if (free_.empty()) return -ENOSPC;
  uint32_t idx = free_.back();
  free_.pop_back();
  NhEntry e{};
  e.gw = k.gw;
  e.port = k.port;
  e.type = static_cast<uint8_t>(k.type);
  // The record is written before any LPM entry can point at it; the LPM update that
  // publishes the index is the release point for readers.
  nh_[idx] = e;
  __atomic_thread_fence(__ATOMIC_RELEASE);
  refs_[idx] = 1;
  keys_[idx] = k;
  by_key_[k] = idx;
  return static_cast<int>(idx);
}

void LpmFib::Unref(uint32_t idx) {
  if (--refs_[idx] != 0) return;
  by_key_.erase(keys_[idx]);
  if (rcu_ == nullptr) {
    free_.push_back(idx);
    return;
  }
  deferred_.push_back({rte_rcu_qsbr_start(rcu_), idx});
}

void LpmFib::Reclaim() {
  while (!deferred_.empty()) {
    if (rte_rcu_qsbr_check(rcu_, deferred_.front().token, false) != 1) break;
    free_.push_back(deferred_.front().idx);
    deferred_.pop_front();
  }
}

int LpmFib::Set(uint32_t prefix, uint8_t len, const NhKey& nh) {
  int idx = Ref(nh);
  if (idx < 0) return idx;
  int rc = 0;
  if (len == 0) {
    __atomic_store_n(&default_nh_, static_cast<uint32_t>(idx), __ATOMIC_RELEASE);
  } else {
    rc = rte_lpm_add(lpm_, prefix, len, static_cast<uint32_t>(idx));
  }
  if (rc != 0) {
    Unref(static_cast<uint32_t>(idx));
    return rc < 0 ? rc : -ENOSPC;
  }
  auto key = std::make_pair(prefix, len);
  auto it = prefix_nh_.find(key);
  if (it != prefix_nh_.end()) {
    uint32_t old = it->second;
    it->second = static_cast<uint32_t>(idx);
    Unref(old);
  } else {
    prefix_nh_[key] = static_cast<uint32_t>(idx);
  }
  return 0;
}

int LpmFib::Clear(uint32_t prefix, uint8_t len) {
  auto it = prefix_nh_.find({prefix, len});
  if (it == prefix_nh_.end()) return -ENOENT;
  int rc = 0;
  if (len == 0) {
    __atomic_store_n(&default_nh_, 0u, __ATOMIC_RELEASE);
  } else {
    rc = rte_lpm_delete(lpm_, prefix, len);
  }
  uint32_t old = it->second;
  prefix_nh_.erase(it);
  Unref(old);
  return rc;
}

bool LpmFib::Lookup(uint32_t ip, NhEntry* out) const {
  uint32_t idx = 0;
  if (rte_lpm_lookup(lpm_, ip, &idx) != 0) {
    idx = __atomic_load_n(&default_nh_, __ATOMIC_ACQUIRE);
    if (idx == 0) return false;
  }
  *out = nh_[idx];
  return true;
}

}  // namespace arsec::dp
