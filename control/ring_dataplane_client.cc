// Request/acknowledge over rte_rings; counters straight from the stats memzone.
#include "control/ring_dataplane_client.h"

#include <rte_errno.h>
#include <rte_mempool.h>
#include <rte_memzone.h>
#include <rte_pause.h>
#include <rte_ring.h>

#include <openssl/crypto.h>

#include <cerrno>
#include <cstring>
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "common/doorbell.h"
#include "common/ipsec_stats.h"
#include "common/shm_names.h"
#include "common/status_macros.h"

namespace arsec::control {

absl::StatusOr<std::unique_ptr<RingDataplaneClient>> RingDataplaneClient::Attach(
    absl::Duration wait) {
  std::unique_ptr<RingDataplaneClient> c(new RingDataplaneClient());
  const absl::Time deadline = absl::Now() + wait;
  const rte_memzone* mz = nullptr;
  const rte_memzone* bz = nullptr;
  for (;;) {
    c->requests_ = rte_ring_lookup(shm::kRequestRing);
    c->replies_ = rte_ring_lookup(shm::kReplyRing);
    c->events_ = rte_ring_lookup(shm::kEventRing);
    c->pool_ = rte_mempool_lookup(shm::kMessagePool);
    mz = rte_memzone_lookup(shm::kStatsZone);
    bz = rte_memzone_lookup(shm::kBellsZone);
    if (c->requests_ && c->replies_ && c->events_ && c->pool_ && mz && bz) break;
    if (absl::Now() >= deadline) {
      std::string missing;
      if (!c->requests_) absl::StrAppend(&missing, " ", shm::kRequestRing);
      if (!c->replies_) absl::StrAppend(&missing, " ", shm::kReplyRing);
      if (!c->events_) absl::StrAppend(&missing, " ", shm::kEventRing);
      if (!c->pool_) absl::StrAppend(&missing, " ", shm::kMessagePool);
      if (!mz) absl::StrAppend(&missing, " ", shm::kStatsZone);
      if (!bz) absl::StrAppend(&missing, " ", shm::kBellsZone);
      return absl::UnavailableError(absl::StrCat(
          "the dataplane's shared objects did not appear within ", absl::FormatDuration(wait),
          " (missing:", missing, "); is arsec-dataplane running with the same file prefix?"));
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  if (mz->len < sizeof(shm::Stats)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "stats memzone ", shm::kStatsZone, " is ", mz->len, " bytes, expected ",
        sizeof(shm::Stats), ": dataplane built from a different dp_stats.h"));
  }
  if (c->pool_->elt_size < sizeof(msg::Message)) {
    return absl::FailedPreconditionError("message pool elements are smaller than msg::Message");
  }
  if (bz->len < sizeof(shm::Bells)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "doorbell memzone ", shm::kBellsZone, " is ", bz->len, " bytes, expected ",
        sizeof(shm::Bells), ": dataplane built from a different doorbell.h"));
  }
  c->stats_ = static_cast<const shm::Stats*>(mz->addr);
  c->bells_ = static_cast<shm::Bells*>(bz->addr);
  return c;
}

namespace {
// kSaAdd carries key bytes: no buffer goes back to the pool (or out of scope) with them.
void Scrub(msg::Message* m) {
  if (m->type == msg::Type::kSaAdd) {
    OPENSSL_cleanse(m->body.sa.cipher_key, sizeof(m->body.sa.cipher_key));
    OPENSSL_cleanse(m->body.sa.auth_key, sizeof(m->body.sa.auth_key));
  }
}

// A negative result from the dataplane as a status carrying its reason.
absl::Status ReplyStatus(msg::Message& reply) {
  if (reply.result >= 0) return absl::OkStatus();
  reply.reason[sizeof(reply.reason) - 1] = '\0';
  std::string why = reply.reason[0] ? reply.reason : std::strerror(-reply.result);
  switch (-reply.result) {
    case EEXIST: return absl::AlreadyExistsError(why);
    case ENOENT: return absl::NotFoundError(why);
    case EINVAL: return absl::InvalidArgumentError(why);
    case ENOSPC:
    case ENOMEM: return absl::ResourceExhaustedError(why);
    default: return absl::FailedPreconditionError(why);
  }
}
}  // namespace

absl::Status RingDataplaneClient::Call(const msg::Message& req, msg::Message* reply) {
  return Transact(absl::MakeConstSpan(&req, 1), reply);
}

absl::Status RingDataplaneClient::Transact(absl::Span<const msg::Message> reqs,
                                           msg::Message* last_reply) {
  absl::MutexLock lock(&mu_);
  const uint32_t first = next_seq_;
  next_seq_ += static_cast<uint32_t>(reqs.size());
  size_t sent = 0, answered = 0;
  absl::Status status;
  absl::Time deadline = absl::Now() + timeout_;
  unsigned looks = 0;
  while (answered < reqs.size()) {
    uint32_t bell = shm::Peek(bells_->reply);
    // Keep up to kWindow requests in flight: the main lcore answers a burst per wake-up.
    const size_t before = sent;
    while (sent < reqs.size() && sent - answered < kWindow) {
      void* obj = nullptr;
      if (rte_mempool_get(pool_, &obj) != 0) break;
      auto* m = static_cast<msg::Message*>(obj);
      std::memcpy(m, &reqs[sent], sizeof(*m));
      m->seq = first + static_cast<uint32_t>(sent);
      m->result = 0;
      m->reason[0] = '\0';
      if (rte_ring_enqueue(requests_, m) != 0) {
        Scrub(m);
        rte_mempool_put(pool_, m);
        break;
      }
      ++sent;
    }
    if (sent > before) shm::Ring(bells_->main);
    if (sent == answered) {
      // Nothing in flight and nothing could be sent: the later requests are not sent.
      return absl::UnavailableError(sent == 0 ? "dataplane request ring or message pool is full"
                                              : "dataplane request ring or message pool "
                                                "filled up during a batch");
    }
    void* got = nullptr;
    bool progress = false;
    while (answered < sent && rte_ring_dequeue(replies_, &got) == 0) {
      auto* r = static_cast<msg::Message*>(got);
      const uint32_t k = r->seq - first;  // wraps for replies to earlier, timed-out calls
      if (k == answered) {
        if (k + 1 == reqs.size() && last_reply != nullptr) {
          std::memcpy(last_reply, r, sizeof(*last_reply));
          Scrub(last_reply);
        }
        if (absl::Status st = ReplyStatus(*r); !st.ok() && status.ok()) status = st;
        ++answered;
        progress = true;
      }
      Scrub(r);
      rte_mempool_put(pool_, r);  // otherwise a late answer to a request that timed out
    }
    if (answered == reqs.size()) break;
    const absl::Time now = absl::Now();
    if (progress) {
      deadline = now + timeout_;
      looks = 0;
      continue;
    }
    if (now >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "dataplane did not answer within ", absl::FormatDuration(timeout_),
          " (the change may or may not have been applied)"));
    }
    // The main lcore, woken by the bell, usually answers within microseconds: look a few
    // times, then sleep until it rings back (at most 1 ms between looks, in case the bell
    // is not shared memory after all).
    if (++looks < 64) {
      rte_pause();
    } else {
      shm::Wait(bells_->reply, bell,
                absl::ToInt64Nanoseconds(std::min(deadline - now, absl::Milliseconds(1))));
    }
  }
  return status;
}

namespace {
msg::Message Req(msg::Type t) {
  msg::Message m;
  std::memset(&m, 0, sizeof(m));
  m.type = t;
  return m;
}
}  // namespace

absl::StatusOr<msg::HelloBody> RingDataplaneClient::Hello() {
  msg::Message req = Req(msg::Type::kHello), rep;
  req.body.hello.schema = msg::kSchemaVersion;
  req.body.hello.dp_pid = static_cast<uint32_t>(getpid());
  RETURN_IF_ERROR(Call(req, &rep));
  if (rep.body.hello.schema != msg::kSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "dataplane speaks ring schema ", rep.body.hello.schema, ", control speaks ",
        msg::kSchemaVersion));
  }
  return rep.body.hello;
}

absl::Status RingDataplaneClient::SyncBegin() {
  msg::Message rep;
  return Call(Req(msg::Type::kSyncBegin), &rep);
}

absl::Status RingDataplaneClient::SyncEnd() {
  msg::Message rep;
  return Call(Req(msg::Type::kSyncEnd), &rep);
}

absl::Status RingDataplaneClient::AddAddress(const msg::AddrBody& addr) {
  msg::Message req = Req(msg::Type::kAddrAdd), rep;
  req.body.addr = addr;
  return Call(req, &rep);
}

absl::Status RingDataplaneClient::DeleteAddress(const msg::AddrBody& addr) {
  msg::Message req = Req(msg::Type::kAddrDel), rep;
  req.body.addr = addr;
  return Call(req, &rep);
}

absl::Status RingDataplaneClient::AddRoute(const msg::RouteBody& route) {
  msg::Message req = Req(msg::Type::kRouteAdd), rep;
  req.body.route = route;
  return Call(req, &rep);
}

absl::Status RingDataplaneClient::DeleteRoute(const msg::RouteBody& route) {
  msg::Message req = Req(msg::Type::kRouteDel), rep;
  req.body.route = route;
  return Call(req, &rep);
}

absl::Status RingDataplaneClient::AddNeighbour(const msg::ArpEntry& entry) {
  msg::Message req = Req(msg::Type::kNeighAdd), rep;
  req.body.arp_entry = entry;
  return Call(req, &rep);
}

absl::Status RingDataplaneClient::DeleteNeighbour(const msg::ArpEntry& entry) {
  msg::Message req = Req(msg::Type::kNeighDel), rep;
  req.body.arp_entry = entry;
  return Call(req, &rep);
}

absl::StatusOr<std::vector<msg::ArpEntry>> RingDataplaneClient::DumpArp() {
  std::vector<msg::ArpEntry> out;
  uint32_t start = 0;
  // Bounded: a table of arp_table_size entries needs at most that many / kMaxEntries pages.
  for (int page = 0; page < 100000; ++page) {
    msg::Message req = Req(msg::Type::kArpDump), rep;
    req.body.dump.start = start;
    RETURN_IF_ERROR(Call(req, &rep));
    const uint32_t n = std::min<uint32_t>(rep.body.arp.count, msg::kMaxEntries);
    out.insert(out.end(), rep.body.arp.entries, rep.body.arp.entries + n);
    if (rep.body.arp.next == 0 || rep.body.arp.next <= start) return out;
    start = rep.body.arp.next;
  }
  return out;
}

absl::StatusOr<std::vector<msg::PortEntry>> RingDataplaneClient::DumpPorts() {
  std::vector<msg::PortEntry> out;
  uint32_t start = 0;
  constexpr uint32_t kPage = sizeof(msg::PortPage::entries) / sizeof(msg::PortEntry);
  for (int page = 0; page < 10000; ++page) {
    msg::Message req = Req(msg::Type::kPortDump), rep;
    req.body.dump.start = start;
    RETURN_IF_ERROR(Call(req, &rep));
    const uint32_t n = std::min<uint32_t>(rep.body.ports.count, kPage);
    for (uint32_t i = 0; i < n; ++i) {
      msg::PortEntry e = rep.body.ports.entries[i];
      e.name[sizeof(e.name) - 1] = '\0';
      e.device[sizeof(e.device) - 1] = '\0';
      out.push_back(e);
    }
    if (rep.body.ports.next == 0 || rep.body.ports.next <= start) return out;
    start = rep.body.ports.next;
  }
  return out;
}

absl::Status RingDataplaneClient::ResetCounters() {
  msg::Message rep;
  return Call(Req(msg::Type::kCountersReset), &rep);
}

absl::StatusOr<StatsSnapshot> RingDataplaneClient::ReadStats() {
  StatsSnapshot s;
  std::memcpy(&s.stats, stats_, sizeof(s.stats));
  if (s.stats.n_workers > shm::kMaxWorkers) s.stats.n_workers = shm::kMaxWorkers;
  return s;
}

absl::Status RingDataplaneClient::SetIpsecGlobal(const msg::IpsecGlobalBody& g) {
  msg::Message req = Req(msg::Type::kIpsecGlobal), rep;
  req.body.ipsec_global = g;
  return Call(req, &rep);
}

absl::Status RingDataplaneClient::AddSa(const msg::SaBody& sa) {
  msg::Message req = Req(msg::Type::kSaAdd), rep;
  req.body.sa = sa;
  absl::Status s = Call(req, &rep);
  Scrub(&req);
  return s;
}

absl::Status RingDataplaneClient::DeleteSa(uint32_t sa_id) {
  msg::Message req = Req(msg::Type::kSaDel), rep;
  req.body.sa_ref.sa_id = sa_id;
  return Call(req, &rep);
}

absl::Status RingDataplaneClient::SetPolicy(const msg::PolicyBody& policy) {
  msg::Message req = Req(msg::Type::kPolicySet), rep;
  req.body.policy = policy;
  return Call(req, &rep);
}

absl::Status RingDataplaneClient::DeletePolicy(uint32_t policy_id) {
  msg::Message req = Req(msg::Type::kPolicyDel), rep;
  req.body.policy_ref.policy_id = policy_id;
  return Call(req, &rep);
}

absl::Status RingDataplaneClient::ReplaceSpd(const std::vector<msg::SpdRuleWire>& rules) {
  // Begin, the rules, commit: one pipelined batch, not a round trip each (10,000 rules
  // are 315 messages). A rules message that fails leaves the staged SPD short, so the
  // commit then fails too and the old SPD stays in force.
  std::vector<msg::Message> batch;
  batch.reserve(2 + (rules.size() + msg::kMaxSpdRulesPerMsg - 1) / msg::kMaxSpdRulesPerMsg);
  batch.push_back(Req(msg::Type::kSpdBegin));
  batch.back().body.spd_begin.n_rules = static_cast<uint32_t>(rules.size());
  for (size_t i = 0; i < rules.size(); i += msg::kMaxSpdRulesPerMsg) {
    batch.push_back(Req(msg::Type::kSpdRules));
    const size_t n = std::min<size_t>(msg::kMaxSpdRulesPerMsg, rules.size() - i);
    batch.back().body.spd_rules.count = static_cast<uint32_t>(n);
    std::memcpy(batch.back().body.spd_rules.rules, &rules[i], n * sizeof(msg::SpdRuleWire));
  }
  batch.push_back(Req(msg::Type::kSpdCommit));
  return Transact(batch, nullptr);
}

absl::StatusOr<std::vector<msg::SaDumpEntry>> RingDataplaneClient::DumpSas() {
  std::vector<msg::SaDumpEntry> out;
  uint32_t start = 0;
  // Bounded: the SA table's capacity / kSaDumpEntries pages at most.
  for (int page = 0; page < 1 << 20; ++page) {
    msg::Message req = Req(msg::Type::kSaDump);
    msg::Message rep = Req(msg::Type::kSaDump);
    req.body.dump.start = start;
    absl::Status s = Call(req, &rep);
    if (!s.ok()) {
      // An older dataplane does not know the request.
      if (rep.result == -EOPNOTSUPP) return absl::UnimplementedError(s.message());
      return s;
    }
    const uint32_t n = std::min<uint32_t>(rep.body.sa_page.count, msg::kSaDumpEntries);
    for (uint32_t i = 0; i < n; ++i) {
      msg::SaDumpEntry e = rep.body.sa_page.entries[i];
      e.policy_name[sizeof(e.policy_name) - 1] = '\0';
      out.push_back(e);
    }
    if (rep.body.sa_page.next == 0 || rep.body.sa_page.next <= start) return out;
    start = rep.body.sa_page.next;
  }
  return out;
}

absl::Status RingDataplaneClient::KeepSa(uint32_t sa_id, uint32_t policy_id) {
  msg::Message req = Req(msg::Type::kSaKeep), rep;
  req.body.sa_keep.sa_id = sa_id;
  req.body.sa_keep.policy_id = policy_id;
  return Call(req, &rep);
}

absl::StatusOr<IpsecCounters> RingDataplaneClient::ReadIpsecCounters(
    const std::vector<uint32_t>& sa_ids, const std::vector<uint32_t>& policy_ids) {
  IpsecCounters out;
  const rte_memzone* mz = rte_memzone_lookup(shm::kIpsecStatsMemzone);
  if (mz == nullptr || mz->len < 64) return out;
  void* base = mz->addr;
  const auto* h = static_cast<const shm::IpsecStatsHeader*>(base);
  if (mz->len < shm::IpsecStatsSize(h->max_sa, h->max_policies, h->n_blocks)) {
    return absl::FailedPreconditionError(
        "IPsec stats memzone is smaller than its header says: dataplane built from a "
        "different ipsec_stats.h");
  }
  out.available = true;
  out.max_sa = h->max_sa;
  out.max_policies = h->max_policies;
  for (uint32_t id : sa_ids) {
    if (id >= h->max_sa) continue;
    shm::SaCounters sum{};
    for (uint32_t b = 0; b < h->n_blocks; ++b) {
      const shm::SaCounters& c = shm::SaBlock(base, b)[id];
      for (uint32_t i = 0; i < shm::kNumSaCounters; ++i) sum.c[i] += c.c[i];
    }
    out.sa[id] = sum;
    out.runtime[id] = shm::SaRuntimeTable(base)[id];
  }
  for (uint32_t id : policy_ids) {
    if (id >= h->max_policies) continue;
    shm::PolicyCounters sum{};
    for (uint32_t b = 0; b < h->n_blocks; ++b) {
      const shm::PolicyCounters& c = shm::PolicyBlock(base, b)[id];
      for (uint32_t i = 0; i < shm::kNumPolicyCounters; ++i) sum.c[i] += c.c[i];
    }
    out.policy[id] = sum;
  }
  return out;
}

}  // namespace arsec::control
