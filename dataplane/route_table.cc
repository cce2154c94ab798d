// Candidate bookkeeping for the routing model; see route_table.h for the rules.
#include "dataplane/route_table.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>

namespace arsec::dp {
namespace {

std::string Ip(uint32_t a) {
  char b[20];
  std::snprintf(b, sizeof b, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
  return b;
}

}  // namespace

bool RouteTable::Better(const Cand& a, const Cand& b) {
  if (a.src != b.src) return a.src < b.src;
  if (a.metric != b.metric) return a.metric < b.metric;
  return a.order < b.order;
}

void RouteTable::Reinstall(PKey k) {
  auto it = cands_.find(k);
  if (it == cands_.end() || it->second.empty()) {
    if (it != cands_.end()) cands_.erase(it);
    if (installed_.erase(k)) sink_->Clear(k.first, k.second);
    return;
  }
  const Cand* best = &it->second.front();
  for (const Cand& c : it->second) {
    if (Better(c, *best)) best = &c;
  }
  auto inst = installed_.find(k);
  if (inst != installed_.end() && inst->second == best->nh) return;
  if (sink_->Set(k.first, k.second, best->nh) == 0) installed_[k] = best->nh;
}

void RouteTable::AddCand(PKey k, Cand c) {
  c.order = ++order_;
  cands_[k].push_back(std::move(c));
  Reinstall(k);
}

void RouteTable::DelCand(PKey k, Source src, const std::string& owner, const NhKey& nh) {
  auto it = cands_.find(k);
  if (it == cands_.end()) return;
  auto& v = it->second;
  v.erase(std::remove_if(v.begin(), v.end(),
                         [&](const Cand& c) {
                           return c.src == src && c.owner == owner && c.nh == nh;
                         }),
          v.end());
  Reinstall(k);
}

Result RouteTable::AddAddr(const std::string& ifname, uint16_t port, uint32_t addr,
                           uint8_t len) {
  if (len > 32) return Result::Err(-EINVAL, "mask length above 32");
  if (addr != 0 && (len == 0 || (len < 31 && ((addr & ~MaskOf(len)) == 0 ||
                                              (addr | MaskOf(len)) == 0xffffffffu)))) {
    return Result::Err(-EINVAL, "address is the network or broadcast address of its subnet");
  }
  if ((addr >> 24) == 127 || (addr >> 28) >= 14) {
    return Result::Err(-EINVAL, "address is loopback, multicast or reserved");
  }
  for (Addr& a : addrs_) {
    if (a.ifname == ifname && a.addr == addr) {
      if (a.port == port && a.len == len) {
        a.gen = gen_;  // identical: a no-op that marks it for the sync sweep
        return Result::Ok();
      }
      return Result::Err(-EEXIST, "interface " + ifname + " already has " + Ip(addr) +
                                      " with another mask or port");
    }
    if (addr != 0 && a.addr == addr) {
      return Result::Err(-EEXIST, Ip(addr) + " is already assigned to " + a.ifname);
    }
    if (addr == 0 && a.ifname == ifname) {
      return Result::Err(-EEXIST, "interface " + ifname + " is already numbered");
    }
    if (addr != 0 && a.ifname == ifname && a.addr == 0) {
      return Result::Err(-EEXIST, "interface " + ifname + " is unnumbered");
    }
  }
  addrs_.push_back({ifname, port, addr, len, gen_});
  if (addr == 0) return Result::Ok();  // unnumbered: the port has no address of its own
  AddCand({addr, 32}, {kSrcLocal, {NhType::kLocal, port, 0}, 0, 0, ifname});
  if (installed_.count({addr, 32}) == 0) {
    DelAddr(ifname, port, addr, len);
    return Result::Err(-ENOSPC, "routing table full");
  }
  if (len < 32) {
    uint32_t net = addr & MaskOf(len);
    AddCand({net, len}, {kSrcConnected, {NhType::kConnected, port, 0}, 0, 0, ifname});
  }
  return Result::Ok();
}

Result RouteTable::DelAddr(const std::string& ifname, uint16_t port, uint32_t addr,
                           uint8_t len) {
  (void)port;
  (void)len;
  auto it = std::find_if(addrs_.begin(), addrs_.end(), [&](const Addr& a) {
    return a.ifname == ifname && a.addr == addr;
  });
  if (it == addrs_.end()) {
    return Result::Err(-ENOENT, "interface " + ifname + " has no address " + Ip(addr));
  }
  Addr a = *it;
  addrs_.erase(it);
  if (a.addr == 0) return Result::Ok();
  DelCand({a.addr, 32}, kSrcLocal, a.ifname, {NhType::kLocal, a.port, 0});
  if (a.len < 32) {
    DelCand({a.addr & MaskOf(a.len), a.len}, kSrcConnected, a.ifname,
            {NhType::kConnected, a.port, 0});
  }
  return Result::Ok();
}

Result RouteTable::AddRoute(uint32_t prefix, uint8_t len, uint32_t nexthop, uint16_t port,
                            const std::string& ifname, uint32_t metric) {
  if (len > 32) return Result::Err(-EINVAL, "mask length above 32");
  if ((prefix & ~MaskOf(len)) != 0) {
    return Result::Err(-EINVAL, "destination " + Ip(prefix) + "/" + std::to_string(len) +
                                    " has host bits set");
  }
  if (nexthop != 0 && ((nexthop >> 24) == 127 || (nexthop >> 28) >= 14 ||
                       nexthop == 0xffffffffu)) {
    return Result::Err(-EINVAL, "next hop " + Ip(nexthop) + " is not a unicast address");
  }
  if (nexthop != 0 && IsLocal(nexthop)) {
    return Result::Err(-EINVAL, "next hop " + Ip(nexthop) + " is an address of this gateway");
  }
  for (Static& s : statics_) {
    if (s.prefix == prefix && s.len == len && s.nexthop == nexthop) {
      if (s.port == port && s.metric == metric) {
        s.gen = gen_;
        return Result::Ok();
      }
      return Result::Err(-EEXIST, "route " + Ip(prefix) + "/" + std::to_string(len) + " via " +
                                      Ip(nexthop) + " exists with another interface or metric");
    }
  }
  NhKey nh = nexthop ? NhKey{NhType::kVia, port, nexthop} : NhKey{NhType::kConnected, port, 0};
  statics_.push_back({prefix, len, nexthop, port, ifname, metric, gen_, ++order_});
  AddCand({prefix, len}, {kSrcStatic, nh, metric, 0, ""});
  if (installed_.count({prefix, len}) == 0) {
    DelRoute(prefix, len, nexthop);
    return Result::Err(-ENOSPC, "routing table full");
  }
  return Result::Ok();
}

Result RouteTable::DelRoute(uint32_t prefix, uint8_t len, uint32_t nexthop) {
  auto it = std::find_if(statics_.begin(), statics_.end(), [&](const Static& s) {
    return s.prefix == prefix && s.len == len && s.nexthop == nexthop;
  });
  if (it == statics_.end() && nexthop == 0) {
    // "DELETE IP ROUTE" without a next hop: unambiguous only if one route has the prefix.
    int n = 0;
    for (auto j = statics_.begin(); j != statics_.end(); ++j) {
      if (j->prefix == prefix && j->len == len) {
        ++n;
        it = j;
      }
    }
    if (n > 1) return Result::Err(-EINVAL, "several routes to that destination: name the next hop");
  }
  if (it == statics_.end()) {
    return Result::Err(-ENOENT, "no static route " + Ip(prefix) + "/" + std::to_string(len) +
                                    (nexthop ? " via " + Ip(nexthop) : std::string()));
  }
  Static s = *it;
  statics_.erase(it);
  NhKey nh = s.nexthop ? NhKey{NhType::kVia, s.port, s.nexthop}
                       : NhKey{NhType::kConnected, s.port, 0};
  DelCand({s.prefix, s.len}, kSrcStatic, "", nh);
  return Result::Ok();
}

void RouteTable::SyncBegin() {
  ++gen_;
  syncing_ = true;
}

unsigned RouteTable::SyncEnd() {
  unsigned removed = 0;
  if (!syncing_) return 0;
  syncing_ = false;
  std::vector<Static> stale_routes;
  for (const Static& s : statics_) {
    if (s.gen != gen_) stale_routes.push_back(s);
  }
  for (const Static& s : stale_routes) {
    if (DelRoute(s.prefix, s.len, s.nexthop).ok()) ++removed;
  }
  std::vector<Addr> stale_addrs;
  for (const Addr& a : addrs_) {
    if (a.gen != gen_) stale_addrs.push_back(a);
  }
  for (const Addr& a : stale_addrs) {
    if (DelAddr(a.ifname, a.port, a.addr, a.len).ok()) ++removed;
  }
  return removed;
}

uint32_t RouteTable::SourceFor(uint16_t port, uint32_t toward) const {
  uint32_t first = 0;
  for (const Addr& a : addrs_) {
    if (a.port != port || a.addr == 0) continue;
    if (((a.addr ^ toward) & MaskOf(a.len)) == 0) return a.addr;
    if (!first) first = a.addr;
  }
  return first;
}

bool RouteTable::IsLocal(uint32_t ip) const {
  return std::any_of(addrs_.begin(), addrs_.end(),
                     [&](const Addr& a) { return a.addr != 0 && a.addr == ip; });
}

std::vector<RouteTable::RouteView> RouteTable::Routes() const {
  std::vector<RouteView> out;
  for (const auto& [k, nh] : installed_) {
    const char* src = "static";
    for (const Cand& c : cands_.at(k)) {
      if (c.nh == nh) {
        src = c.src == kSrcLocal ? "local" : c.src == kSrcConnected ? "connected" : "static";
        break;
      }
    }
    out.push_back({k.first, k.second, nh, src});
  }
  return out;
}

}  // namespace arsec::dp
