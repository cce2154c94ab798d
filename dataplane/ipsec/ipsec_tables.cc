#include "dataplane/ipsec/ipsec_tables.h"

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_jhash.h>
#include <rte_malloc.h>
#include <rte_memzone.h>

#include <algorithm>
#include <cstring>
#include <new>

#include "absl/strings/str_cat.h"

namespace arsec::dp {

absl::StatusOr<std::unique_ptr<IpsecTables>> IpsecTables::Create(const Options& opt,
                                                                  rte_rcu_qsbr* rcu,
                                                                  crypto::CryptoEngine* sessions) {
  std::unique_ptr<IpsecTables> t(new IpsecTables());
  t->opt_ = opt;
  t->rcu_ = rcu;
  t->sessions_ = sessions;
  t->sa_.reset(new std::atomic<Sa*>[opt.max_sa]);
  for (uint32_t i = 0; i < opt.max_sa; ++i) t->sa_[i].store(nullptr);
  t->pol_.reset(new std::atomic<const PolicyRt*>[opt.max_policies]);
  for (uint32_t i = 0; i < opt.max_policies; ++i) t->pol_[i].store(nullptr);
  t->slots_.resize(opt.max_sa);
  t->pol_stale_.assign(opt.max_policies, false);

  rte_hash_parameters hp{};
  hp.name = "arsec_spi";
  hp.entries = opt.max_sa;
  hp.key_len = sizeof(uint64_t);
  hp.hash_func = rte_jhash;
  hp.socket_id = opt.socket;
  hp.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
  t->spi_hash_ = rte_hash_create(&hp);
  if (t->spi_hash_ == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("SPI hash: ", rte_strerror(rte_errno)));
  }
  const uint32_t blocks = opt.n_workers + 1;
  size_t sz = shm::IpsecStatsSize(opt.max_sa, opt.max_policies, blocks);
  const rte_memzone* mz =
      rte_memzone_reserve_aligned(shm::kIpsecStatsMemzone, sz, opt.socket, 0, 64);
  if (mz == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("IPsec counters memzone (", sz, " bytes): ", rte_strerror(rte_errno)));
  }
  std::memset(mz->addr, 0, sz);
  auto* h = static_cast<shm::IpsecStatsHeader*>(mz->addr);
  h->max_sa = opt.max_sa;
  h->max_policies = opt.max_policies;
  h->n_blocks = blocks;
  t->stats_ = mz->addr;
  if (rcu != nullptr) {
    // Deleted index slots are reused only after the workers' grace period.
    rte_hash_rcu_config hrc{};
    hrc.v = rcu;
    hrc.mode = RTE_HASH_QSBR_MODE_DQ;
    if (rte_hash_rcu_qsbr_add(t->spi_hash_, &hrc) != 0) {
      return absl::InternalError("SPI hash RCU");
    }
  }
  t->udp_port_be_.store(rte_cpu_to_be_16(2746));
  return t;
}

IpsecTables::~IpsecTables() {
  Reclaim(true);
  for (uint32_t i = 0; i < opt_.max_sa; ++i) rte_free(sa_[i].load());
  for (uint32_t i = 0; i < opt_.max_policies; ++i) delete pol_[i].load();
  delete spd_.load();
  rte_hash_free(spi_hash_);
  if (const rte_memzone* mz = rte_memzone_lookup(shm::kIpsecStatsMemzone)) rte_memzone_free(mz);
}

void IpsecTables::LookupInbound(const uint64_t* keys, unsigned n, uint32_t* ids) const {
  const void* kp[64];
  void* data[64];
  for (unsigned off = 0; off < n; off += 64) {
    unsigned c = n - off < 64 ? n - off : 64;
    for (unsigned i = 0; i < c; ++i) kp[i] = &keys[off + i];
    uint64_t hits = 0;
    rte_hash_lookup_bulk_data(spi_hash_, kp, c, &hits, data);
    for (unsigned i = 0; i < c; ++i) {
      ids[off + i] = (hits >> i) & 1
                         ? static_cast<uint32_t>(reinterpret_cast<uintptr_t>(data[i]))
                         : msg::kNoSa;
    }
  }
}

void IpsecTables::DeferFree(std::function<void()> fn) {
  if (rcu_ == nullptr) {
    fn();
    return;
  }
  deferred_.push_back({rte_rcu_qsbr_start(rcu_), std::move(fn)});
}

void IpsecTables::Reclaim(bool wait) {
  size_t done = 0;
  for (; done < deferred_.size(); ++done) {
    if (rcu_ != nullptr && rte_rcu_qsbr_check(rcu_, deferred_[done].token, wait) != 1) break;
    deferred_[done].fn();
  }
  deferred_.erase(deferred_.begin(), deferred_.begin() + static_cast<long>(done));
}

void IpsecTables::RecomputeActive() {
  active_.store(enabled_.load() && (spd_.load() != nullptr || n_sa_ > 0),
                std::memory_order_relaxed);
}

void IpsecTables::SetGlobal(bool enabled, uint16_t udp_port) {
  enabled_.store(enabled, std::memory_order_relaxed);
  if (udp_port != 0) udp_port_be_.store(rte_cpu_to_be_16(udp_port), std::memory_order_relaxed);
  RecomputeActive();
}

absl::Status IpsecTables::AddSa(const msg::SaBody& b) {
  using crypto::AuthAlg;
  using crypto::CipherAlg;
  if (b.sa_id >= opt_.max_sa) {
    return absl::OutOfRangeError(absl::StrCat("SA id ", b.sa_id, " beyond ", opt_.max_sa));
  }
  if (b.proto != kProtoEsp && b.proto != kProtoAh && b.proto != kProtoComp) {
    return absl::InvalidArgumentError(absl::StrCat("protocol ", b.proto, " is not ESP, AH or IPComp"));
  }
  if (b.cipher_key_len > msg::kMaxCipherKey || b.auth_key_len > msg::kMaxAuthKey) {
    return absl::InvalidArgumentError("key length out of range");
  }
  // The same SA asserted again (a restarted control plane replaying its configuration)
  // keeps its sequence counter and replay window: traffic on it never notices.
  const uint64_t fp = (uint64_t{rte_jhash(&b, sizeof b, 0x9e3779b9)} << 32) |
                      rte_jhash(&b, sizeof b, 0x85ebca6b);
  if (sa_[b.sa_id].load() != nullptr && slots_[b.sa_id].fingerprint == fp) {
    slots_[b.sa_id].stale = false;
    return absl::OkStatus();
  }
  std::unique_ptr<crypto::CryptoSession> session;
  if (b.proto != kProtoComp) {
    crypto::SessionParams p;
    p.cipher = b.proto == kProtoAh ? CipherAlg::kNull : static_cast<CipherAlg>(b.cipher);
    p.auth = static_cast<AuthAlg>(b.auth);
    if (static_cast<uint8_t>(p.cipher) > static_cast<uint8_t>(CipherAlg::kAes256Gcm) ||
        static_cast<uint8_t>(p.auth) > static_cast<uint8_t>(AuthAlg::kHmacSha512_256)) {
      return absl::InvalidArgumentError("unknown algorithm");
    }
    if (b.proto == kProtoAh && p.auth == AuthAlg::kNull) {
      return absl::InvalidArgumentError("AH needs an integrity algorithm");
    }
    if (!sessions_->Supports(p.cipher, p.auth)) {
      return absl::UnimplementedError(absl::StrCat("crypto engine ", std::string(sessions_->Name()),
                                                   " lacks ", std::string(crypto::CipherName(p.cipher)), "/",
                                                   std::string(crypto::AuthName(p.auth))));
    }
    p.cipher_key = {b.cipher_key, b.cipher_key_len};
    p.auth_key = {b.auth_key, b.auth_key_len};
    auto s = sessions_->CreateSession(p);
    if (!s.ok()) return s.status();
    session = std::move(*s);
  }
  if (b.dir == msg::kSaInbound && b.antireplay &&
      !ReplayWindow1024::ValidWindow(b.replay_window)) {
    return absl::InvalidArgumentError(
        absl::StrCat("replay window ", b.replay_window, " outside 32..1024"));
  }

  auto* sa = static_cast<Sa*>(rte_zmalloc_socket("arsec_sa", sizeof(Sa), 64, opt_.socket));
  if (sa == nullptr) return absl::ResourceExhaustedError("no memory for the SA");
  new (sa) Sa();
  sa->session = session.get();
  sa->sa_id = b.sa_id;
  sa->policy_id = b.policy_id;
  sa->proto = b.proto;
  sa->mode = static_cast<SaMode>(b.mode);
  sa->inbound = b.dir == msg::kSaInbound;
  sa->encap = static_cast<SaEncap>(b.encap);
  sa->esn = b.esn;
  sa->dfbit = static_cast<SaDfBit>(b.dfbit);
  sa->tun_src_be = rte_cpu_to_be_32(b.tun_src);
  sa->tun_dst_be = rte_cpu_to_be_32(b.tun_dst);
  sa->encap_sport_be = rte_cpu_to_be_16(b.encap_sport);
  sa->encap_dport_be = rte_cpu_to_be_16(b.encap_dport);
  if (b.proto == kProtoComp) {
    sa->comp_alg = static_cast<compress::IpcompAlg>(b.comp);
    sa->cpi = static_cast<uint16_t>(b.spi);
    sa->spi_be = rte_cpu_to_be_32(b.spi & 0xffff);
  } else {
    sa->spi_be = rte_cpu_to_be_32(b.spi);
    sa->iv_len = b.proto == kProtoEsp ? session->iv_len() : 0;
    sa->block_len = b.proto == kProtoEsp ? std::max<uint8_t>(4, session->block_len()) : 4;
    sa->digest_len = session->digest_len();
    sa->aead = b.proto == kProtoEsp && crypto::IsAead(session->cipher());
    // The lines worth prefetching: the session's head (algorithm, key pointers, the
    // round keys). Capped so that a burst's prefetches do not exhaust the line fill
    // buffers.
    sa->session_lines = static_cast<uint8_t>(std::min<uint32_t>((session->footprint() + 63) / 64, 6));
  }
  sa->hard_bytes = b.hard_kbytes * 1024;
  sa->seq.Init(b.esn != 0);
  if (b.dir == msg::kSaInbound) {
    uint32_t win = b.replay_window ? b.replay_window : 64;
    if (!sa->replay.Init(win, b.esn != 0, b.antireplay != 0)) {
      sa->~Sa();
      rte_free(sa);
      return absl::InvalidArgumentError("bad replay window");
    }
  }
  sa->state = static_cast<uint8_t>(SaState::kValid);

  if (sa_[b.sa_id].load() != nullptr) DelSa(b.sa_id).IgnoreError();  // replaced: freed later
  // Counters and runtime row of a fresh SA start at zero.
  for (uint32_t blk = 0; blk <= opt_.n_workers; ++blk) sa_counters(blk)[b.sa_id] = {};
  shm::SaRuntime& rt = shm::SaRuntimeTable(stats_)[b.sa_id];
  rt = {};
  rt.install_tsc = rte_rdtsc();
  rt.state = 1;

  SaSlot& slot = slots_[b.sa_id];
  slot.fingerprint = fp;
  slot.stale = false;
  slot.session = std::move(session);
  slot.soft_seconds = b.soft_seconds;
  slot.hard_seconds = b.hard_seconds;
  slot.soft_bytes = b.soft_kbytes * 1024;
  slot.hard_bytes = b.hard_kbytes * 1024;
  slot.soft_reported = false;
  slot.hash_pos = -1;
  if (b.dir == msg::kSaInbound) {
    slot.key = SpiKey(sa->spi_be, b.proto);
    int32_t pos = rte_hash_add_key_data(spi_hash_, &slot.key,
                                        reinterpret_cast<void*>(uintptr_t{b.sa_id}));
    if (pos < 0) {
      sa->~Sa();
      rte_free(sa);
      slot.session.reset();
      return absl::ResourceExhaustedError("inbound SPI index full");
    }
    slot.hash_pos = rte_hash_lookup(spi_hash_, &slot.key);
    // An IPComp tunnel SA also receives what its peer did not compress: plain IP-in-IP
    // from the peer's address (RFC 3173 section 2.2), found by (source, protocol 4).
    slot.key2 = 0;
    if (b.proto == kProtoComp && b.mode == msg::kSaTunnel && b.tun_src != 0) {
      const uint64_t k2 = SpiKey(sa->tun_src_be, kProtoIpip);
      if (rte_hash_add_key_data(spi_hash_, &k2, reinterpret_cast<void*>(uintptr_t{b.sa_id})) >= 0) {
        slot.key2 = k2;
      }
    }
  }
  sa_[b.sa_id].store(sa, std::memory_order_release);
  ++n_sa_;
  RecomputeActive();
  return absl::OkStatus();
}

absl::Status IpsecTables::DelSa(uint32_t id) {
  if (id >= opt_.max_sa) return absl::OutOfRangeError("SA id out of range");
  Sa* old = sa_[id].load();
  if (old == nullptr) return absl::NotFoundError(absl::StrCat("no SA ", id));
  SaSlot& slot = slots_[id];
  if (slot.hash_pos >= 0) {
    // Only remove the index entry if it still names this SA (another SA may have taken
    // over the same SPI since).
    void* data = nullptr;
    if (rte_hash_lookup_data(spi_hash_, &slot.key, &data) >= 0 &&
        reinterpret_cast<uintptr_t>(data) == id) {
      rte_hash_del_key(spi_hash_, &slot.key);
    }
    if (slot.key2 != 0 && rte_hash_lookup_data(spi_hash_, &slot.key2, &data) >= 0 &&
        reinterpret_cast<uintptr_t>(data) == id) {
      rte_hash_del_key(spi_hash_, &slot.key2);
    }
    slot.key2 = 0;
    slot.hash_pos = -1;
  }
  sa_[id].store(nullptr, std::memory_order_release);
  shm::SaRuntimeTable(stats_)[id].state = 0;
  crypto::CryptoSession* sess = slot.session.release();
  DeferFree([old, sess] {
    old->~Sa();
    rte_free(old);
    delete sess;
  });
  --n_sa_;
  RecomputeActive();
  return absl::OkStatus();
}

absl::Status IpsecTables::SetPolicy(const msg::PolicyBody& b, uint16_t port_id) {
  if (b.policy_id >= opt_.max_policies) {
    return absl::OutOfRangeError(absl::StrCat("policy id ", b.policy_id, " beyond ",
                                              opt_.max_policies));
  }
  if (b.action < 1 || b.action > 3) return absl::InvalidArgumentError("bad policy action");
  if (b.n_out > msg::kMaxBundle || b.n_in > msg::kMaxBundle) {
    return absl::InvalidArgumentError("bundle of more than 3 SAs");
  }
  auto* p = new PolicyRt();
  p->policy_id = b.policy_id;
  p->port = port_id;
  p->action = static_cast<SpdAction>(b.action);
  p->n_out = b.n_out;
  p->n_in = b.n_in;
  p->debug = b.debug;
  p->isakmp = b.isakmp;
  p->udp_heartbeat = b.udp_heartbeat;
  for (unsigned i = 0; i < msg::kMaxBundle; ++i) {
    p->out_sa[i] = i < b.n_out ? b.out_sa[i] : msg::kNoSa;
    p->in_sa[i] = i < b.n_in ? b.in_sa[i] : msg::kNoSa;
  }
  p->peer = b.peer;
  p->local = b.local;
  p->udp_port = b.udp_port;
  std::memcpy(p->name, b.name, sizeof p->name);
  p->name[sizeof p->name - 1] = '\0';
  const PolicyRt* cur = pol_[b.policy_id].load();
  if (syncing_ && b.isakmp && b.action == 3 && b.n_out == 0 && b.n_in == 0 && cur != nullptr &&
      CarriesBundle(*cur, *p)) {
    // A restarted control plane re-sets its ISAKMP policy before it knows which of the
    // negotiated SAs it will adopt: the bundle stays until it says (or SyncEnd sweeps).
    p->n_out = cur->n_out;
    p->n_in = cur->n_in;
    std::memcpy(p->out_sa, cur->out_sa, sizeof p->out_sa);
    std::memcpy(p->in_sa, cur->in_sa, sizeof p->in_sa);
  }
  pol_stale_[b.policy_id] = false;
  const PolicyRt* old = pol_[b.policy_id].exchange(p, std::memory_order_acq_rel);
  if (old == nullptr) {
    ++n_pol_;
    for (uint32_t blk = 0; blk <= opt_.n_workers; ++blk) policy_counters(blk)[b.policy_id] = {};
  } else {
    DeferFree([old] { delete old; });
  }
  return absl::OkStatus();
}

absl::Status IpsecTables::DelPolicy(uint32_t id) {
  if (id >= opt_.max_policies) return absl::OutOfRangeError("policy id out of range");
  const PolicyRt* old = pol_[id].exchange(nullptr, std::memory_order_acq_rel);
  if (old == nullptr) return absl::NotFoundError(absl::StrCat("no policy ", id));
  --n_pol_;
  DeferFree([old] { delete old; });
  return absl::OkStatus();
}

void IpsecTables::SpdBegin(uint32_t n_rules) {
  staged_.clear();
  staged_.reserve(n_rules);
  staged_expect_ = n_rules;
}

absl::Status IpsecTables::SpdAdd(const SpdRule& r) {
  if (staged_.size() >= staged_expect_) {
    return absl::FailedPreconditionError("more SPD rules than SpdBegin announced");
  }
  staged_.push_back(r);
  return absl::OkStatus();
}

absl::Status IpsecTables::SpdCommit() {
  if (staged_.size() != staged_expect_) {
    return absl::FailedPreconditionError(absl::StrCat("SPD has ", staged_.size(), " of ",
                                                      staged_expect_, " rules"));
  }
  const SpdTable* fresh = nullptr;
  if (!staged_.empty()) {
    SpdBuildOptions bo;
    bo.socket_id = opt_.socket;
    bo.max_interfaces = RTE_MAX_ETHPORTS;
    auto t = SpdTable::Build(staged_, bo);
    if (!t.ok()) return t.status();
    fresh = t->release();
  }
  const SpdTable* old = spd_.exchange(fresh, std::memory_order_acq_rel);
  if (old != nullptr) DeferFree([old] { delete old; });
  staged_.clear();
  staged_.shrink_to_fit();
  RecomputeActive();
  return absl::OkStatus();
}

void IpsecTables::Tick(uint64_t now_tsc, const ExpiryFn& report) {
  const uint64_t hz = rte_get_tsc_hz();
  shm::SaRuntime* rt = shm::SaRuntimeTable(stats_);
  for (uint32_t id = 0; id < opt_.max_sa && n_sa_ > 0; ++id) {
    Sa* sa = sa_[id].load(std::memory_order_acquire);
    if (sa == nullptr) continue;
    uint64_t bytes = 0;
    for (uint32_t blk = 0; blk <= opt_.n_workers; ++blk) {
      bytes += sa_counters(blk)[id].c[shm::kSa_bytes];
    }
    shm::SaRuntime& r = rt[id];
    uint32_t age = static_cast<uint32_t>((now_tsc - r.install_tsc) / hz);
    r.bytes = bytes;
    r.age_s = age;
    r.seq = sa->inbound ? sa->replay.top() : sa->seq.last();
    SaSlot& slot = slots_[id];
    bool hard = (slot.hard_seconds && age >= slot.hard_seconds) ||
                (slot.hard_bytes && bytes >= slot.hard_bytes);
    if (hard) {
      bool by_bytes = slot.hard_bytes && bytes >= slot.hard_bytes;
      uint32_t pol = sa->policy_id;
      __atomic_store_n(&sa->state, static_cast<uint8_t>(SaState::kExpired), __ATOMIC_RELEASE);
      DelSa(id).IgnoreError();
      rt[id].state = 3;
      report(id, pol, true, by_bytes, bytes, age);
      continue;
    }
    bool soft = (slot.soft_seconds && age >= slot.soft_seconds) ||
                (slot.soft_bytes && bytes >= slot.soft_bytes);
    if (soft && !slot.soft_reported) {
      slot.soft_reported = true;
      __atomic_store_n(&sa->state, static_cast<uint8_t>(SaState::kSoftExpired), __ATOMIC_RELEASE);
      r.state = 2;
      report(id, sa->policy_id, false, slot.soft_bytes && bytes >= slot.soft_bytes, bytes, age);
    }
  }
}

std::vector<const PolicyRt*> IpsecTables::HeartbeatPolicies() const {
  std::vector<const PolicyRt*> out;
  if (n_pol_ == 0) return out;
  for (uint32_t i = 0; i < opt_.max_policies; ++i) {
    const PolicyRt* p = pol_[i].load(std::memory_order_acquire);
    if (p != nullptr && p->udp_heartbeat && p->peer != 0) out.push_back(p);
  }
  return out;
}

bool IpsecTables::CarriesBundle(const PolicyRt& cur, const PolicyRt& fresh) const {
  if (!cur.isakmp || cur.action != SpdAction::kIpsec || cur.n_out == 0 ||
      cur.n_out != cur.n_in || cur.peer != fresh.peer ||
      std::strncmp(cur.name, fresh.name, sizeof cur.name) != 0) {
    return false;
  }
  for (unsigned i = 0; i < cur.n_out; ++i) {
    const Sa* o = sa(cur.out_sa[i]);
    const Sa* in = sa(cur.in_sa[i]);
    if (o == nullptr || in == nullptr || o->policy_id != cur.policy_id ||
        in->policy_id != cur.policy_id) {
      return false;
    }
  }
  return true;
}

void IpsecTables::SyncBegin() {
  syncing_ = true;
  for (uint32_t i = 0; i < opt_.max_sa; ++i) slots_[i].stale = sa_[i].load() != nullptr;
  for (uint32_t i = 0; i < opt_.max_policies; ++i) pol_stale_[i] = pol_[i].load() != nullptr;
}

unsigned IpsecTables::SyncEnd() {
  unsigned n = 0;
  for (uint32_t i = 0; i < opt_.max_sa; ++i) {
    if (slots_[i].stale && sa_[i].load() != nullptr) {
      DelSa(i).IgnoreError();
      ++n;
    }
    slots_[i].stale = false;
  }
  for (uint32_t i = 0; i < opt_.max_policies; ++i) {
    const PolicyRt* p = pol_[i].load();
    if (pol_stale_[i] && p != nullptr) {
      DelPolicy(i).IgnoreError();
      ++n;
    } else if (p != nullptr) {
      // A policy still naming an SA the sweep removed (a bundle carried over that the new
      // control did not adopt) goes without SAs, as the control plane believes it is.
      bool gone = false;
      for (unsigned k = 0; k < p->n_out; ++k) gone |= sa(p->out_sa[k]) == nullptr;
      for (unsigned k = 0; k < p->n_in; ++k) gone |= sa(p->in_sa[k]) == nullptr;
      if (gone) {
        auto* fresh = new PolicyRt(*p);
        fresh->n_out = fresh->n_in = 0;
        for (unsigned k = 0; k < msg::kMaxBundle; ++k) fresh->out_sa[k] = fresh->in_sa[k] = msg::kNoSa;
        const PolicyRt* old = pol_[i].exchange(fresh, std::memory_order_acq_rel);
        DeferFree([old] { delete old; });
      }
    }
    pol_stale_[i] = false;
  }
  syncing_ = false;
  return n;
}

void IpsecTables::DumpSas(uint32_t start, msg::SaPage* page) const {
  page->count = 0;
  page->next = 0;
  const uint64_t hz = rte_get_tsc_hz();
  const uint64_t now = rte_rdtsc();
  const shm::SaRuntime* rt = shm::SaRuntimeTable(stats_);
  uint32_t id = start;
  for (; id < opt_.max_sa && n_sa_ > 0; ++id) {
    const Sa* sa = sa_[id].load(std::memory_order_acquire);
    if (sa == nullptr) continue;
    if (page->count == msg::kSaDumpEntries) {
      page->next = id;
      return;
    }
    const SaSlot& slot = slots_[id];
    msg::SaDumpEntry& e = page->entries[page->count++];
    std::memset(&e, 0, sizeof e);
    e.sa_id = id;
    e.policy_id = sa->policy_id;
    e.spi = sa->proto == kProtoComp ? sa->cpi : rte_be_to_cpu_32(sa->spi_be);
    e.dir = sa->inbound ? msg::kSaInbound : msg::kSaOutbound;
    e.proto = sa->proto;
    e.mode = static_cast<uint8_t>(sa->mode);
    if (slot.session != nullptr) {
      e.cipher = static_cast<uint8_t>(slot.session->cipher());
      e.auth = static_cast<uint8_t>(slot.session->auth());
    }
    e.comp = static_cast<uint8_t>(sa->comp_alg);
    e.esn = sa->esn;
    if (sa->inbound) {
      e.antireplay = sa->replay.enabled() ? 1 : 0;
      e.replay_window = static_cast<uint16_t>(sa->replay.window());
    }
    e.encap = static_cast<uint8_t>(sa->encap);
    e.dfbit = static_cast<uint8_t>(sa->dfbit);
    e.encap_sport = rte_be_to_cpu_16(sa->encap_sport_be);
    e.encap_dport = rte_be_to_cpu_16(sa->encap_dport_be);
    e.state = __atomic_load_n(&sa->state, __ATOMIC_ACQUIRE);
    e.tun_src = rte_be_to_cpu_32(sa->tun_src_be);
    e.tun_dst = rte_be_to_cpu_32(sa->tun_dst_be);
    e.soft_seconds = slot.soft_seconds;
    e.hard_seconds = slot.hard_seconds;
    e.soft_kbytes = slot.soft_bytes / 1024;
    e.hard_kbytes = slot.hard_bytes / 1024;
    e.bytes = rt[id].bytes;
    e.age_s = static_cast<uint32_t>((now - rt[id].install_tsc) / hz);
    e.bundle_pos = msg::kNotInBundle;
    if (const PolicyRt* p = policy(sa->policy_id)) {
      e.policy_isakmp = p->isakmp;
      const unsigned n = sa->inbound ? p->n_in : p->n_out;
      for (unsigned k = 0; k < n; ++k) {
        if ((sa->inbound ? p->in_sa[k] : p->out_sa[k]) == id) e.bundle_pos = static_cast<uint8_t>(k);
      }
      std::memcpy(e.policy_name, p->name, sizeof e.policy_name);
      e.policy_name[sizeof e.policy_name - 1] = '\0';
    }
  }
}

absl::Status IpsecTables::KeepSa(uint32_t id, uint32_t policy_id) {
  if (!syncing_) return absl::FailedPreconditionError("SaKeep outside SyncBegin/SyncEnd");
  if (id >= opt_.max_sa) return absl::OutOfRangeError("SA id out of range");
  Sa* s = sa_[id].load();
  if (s == nullptr) return absl::NotFoundError(absl::StrCat("no SA ", id));
  if (policy_id != msg::kNoSa) {
    if (policy_id >= opt_.max_policies) return absl::OutOfRangeError("policy id out of range");
    // The one field of line 0 that changes in place: a 32-bit store the workers read
    // whole (the inbound policy check compares it with the SPD's verdict).
    __atomic_store_n(&s->policy_id, policy_id, __ATOMIC_RELEASE);
  }
  slots_[id].stale = false;
  return absl::OkStatus();
}

void IpsecTables::Clear() {
  for (uint32_t i = 0; i < opt_.max_sa && n_sa_ > 0; ++i) {
    if (sa_[i].load() != nullptr) DelSa(i).IgnoreError();
  }
  for (uint32_t i = 0; i < opt_.max_policies && n_pol_ > 0; ++i) {
    if (pol_[i].load() != nullptr) DelPolicy(i).IgnoreError();
  }
  const SpdTable* old = spd_.exchange(nullptr);
  if (old != nullptr) DeferFree([old] { delete old; });
  RecomputeActive();
}

}  // namespace arsec::dp
