// The neighbour state machine; see neigh.h.
#include "dataplane/neigh.h"

namespace arsec::dp {

void NeighTable::OnMiss(uint16_t port, uint32_t ip, void* pkt, uint64_t now_ms) {
  auto it = t_.find(KeyOf(port, ip));
  if (it == t_.end()) {
    if (t_.size() >= p_.capacity) {
      act_->Drop(pkt, NeighActions::kTableFull);
      return;
    }
    Entry e;
    e.state = msg::kNeighIncomplete;
    e.probes = 1;
    e.next_ms = now_ms + p_.retry_ms;
    e.queue[0] = pkt;
    e.qlen = 1;
    t_.emplace(KeyOf(port, ip), e);
    act_->SendRequest(port, ip);
    return;
  }
  Entry& e = it->second;
  if (e.state == msg::kNeighReachable || e.state == msg::kNeighStale) {
    // The worker raced the publication of this entry: send it on directly.
    act_->Transmit(pkt, port, e.mac);
    return;
  }
  if (e.qlen >= p_.queue_len) {
    act_->Drop(pkt, NeighActions::kQueueFull);
    return;
  }
  e.queue[e.qlen++] = pkt;
}

void NeighTable::OnArp(uint16_t port, uint32_t ip, const Mac& mac, bool for_us,
                       uint64_t now_ms) {
  auto it = t_.find(KeyOf(port, ip));
  if (it != t_.end() && it->second.is_static) return;  // configured wins over the wire
  if (it == t_.end()) {
    if (!for_us || t_.size() >= p_.capacity) return;
    Entry e;
    e.mac = mac;
    e.state = msg::kNeighReachable;
    e.confirmed_ms = now_ms;
    t_.emplace(KeyOf(port, ip), e);
    act_->Install(port, ip, mac);
    act_->Event(port, ip, mac, msg::kNeighReachable);
    return;
  }
  Entry& e = it->second;
  bool changed = e.state == msg::kNeighIncomplete || e.mac != mac;
  bool was_stale = e.state == msg::kNeighStale;
  e.mac = mac;
  e.state = msg::kNeighReachable;
  e.confirmed_ms = now_ms;
  e.probes = 0;
  // The held packets leave before the entry is published: once workers see it they send
  // later packets directly, which must not overtake these.
  for (unsigned i = 0; i < e.qlen; ++i) act_->Transmit(e.queue[i], port, mac);
  e.qlen = 0;
  if (changed) act_->Install(port, ip, mac);
  if (changed || was_stale) act_->Event(port, ip, mac, msg::kNeighReachable);
}

bool NeighTable::AddStatic(uint16_t port, uint32_t ip, const Mac& mac, uint64_t now_ms) {
  auto it = t_.find(KeyOf(port, ip));
  if (it == t_.end()) {
    if (t_.size() >= p_.capacity) return false;
    it = t_.emplace(KeyOf(port, ip), Entry{}).first;
  }
  Entry& e = it->second;
  e.mac = mac;
  e.state = msg::kNeighReachable;
  e.confirmed_ms = now_ms;
  e.is_static = true;
  for (unsigned i = 0; i < e.qlen; ++i) act_->Transmit(e.queue[i], port, mac);
  e.qlen = 0;
  act_->Install(port, ip, mac);
  return true;
}

void NeighTable::Fail(std::map<Key, Entry>::iterator it) {
  Entry& e = it->second;
  uint16_t port = static_cast<uint16_t>(it->first >> 32);
  uint32_t ip = static_cast<uint32_t>(it->first);
  for (unsigned i = 0; i < e.qlen; ++i) act_->Drop(e.queue[i], NeighActions::kFailed);
  if (e.state != msg::kNeighIncomplete) act_->Withdraw(port, ip);
  act_->Event(port, ip, e.mac, msg::kNeighFailed);
  t_.erase(it);
}

void NeighTable::Tick(uint64_t now_ms) {
  for (auto it = t_.begin(); it != t_.end();) {
    Entry& e = it->second;
    uint16_t port = static_cast<uint16_t>(it->first >> 32);
    uint32_t ip = static_cast<uint32_t>(it->first);
    auto next = std::next(it);
    if (e.is_static) {
      it = next;
      continue;
    }
    switch (e.state) {
      case msg::kNeighReachable:
        if (now_ms >= e.confirmed_ms + p_.reachable_ms) {
          // Keep forwarding with the old MAC while we re-probe.
          e.state = msg::kNeighStale;
          e.probes = 1;
          e.next_ms = now_ms + p_.retry_ms;
          act_->SendRequest(port, ip);
        }
        break;
      case msg::kNeighIncomplete:
      case msg::kNeighStale:
        if (now_ms >= e.next_ms) {
          if (e.probes >= p_.max_retries) {
            Fail(it);
          } else {
            ++e.probes;
            e.next_ms = now_ms + p_.retry_ms;
            act_->SendRequest(port, ip);
          }
        }
        break;
      default:
        break;
    }
    it = next;
  }
}

void NeighTable::Remove(uint16_t port, uint32_t ip) {
  auto it = t_.find(KeyOf(port, ip));
  if (it != t_.end()) Fail(it);
}

void NeighTable::Clear() {
  while (!t_.empty()) Fail(t_.begin());
}

}  // namespace arsec::dp
