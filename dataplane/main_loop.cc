// The main lcore: the dataplane's only writer of tables.
//
// It serves arsec-control's requests from the request ring (addresses, routes, sync,
// dumps) and answers each on the reply ring; runs the neighbour slow path (packets the
// workers could not send, ARP that teaches neighbours) and its timers; turns punted
// packets into rate-limited events; polls link state; and frees old FIB records once
// RCU says no worker can still see them. It may allocate and sleep — the workers never
// wait for it.
//
// IKE: punted UDP datagrams to port 500, and to 4500 when they carry the non-ESP marker
// (or are NAT-T keepalives), go whole — the mbuf itself — onto the arsec_ike_rx ring for
// the IKE daemon in arsec-control, under a token bucket of their own. What the daemon
// sends comes back as mbufs on arsec_ike_tx, drained every loop: routed here (FIB), given
// a source address when it has none, fragmented to the egress MTU if need be, and sent
// through the neighbour path like the UDP heartbeat. Locally originated IKE never meets
// the SPD: like every IPsec implementation's IKE bypass, the gateway always lets its own
// key exchange out (it cannot be protected by the SAs it is negotiating). Inbound IKE
// has met the inbound SPD in the workers (the seed's PERMIT policy for UDP 500).
//
// Acquire: a worker that drops a packet for want of an SA on a KEYMAN=ISAKMP policy hands
// it over (kSlowAcquire); at most one kEvtAcquire per policy per second leaves here.
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <strings.h>
#include <rte_common.h>
#include <rte_ip_frag.h>
#include <rte_lpm.h>
#include <rte_udp.h>

#include <map>
#include <string>
#include <unordered_map>

#include "common/ring_msg.h"
#include "dataplane/dp.h"
#include "dataplane/neigh.h"
#include "dataplane/pkt.h"
#include "dataplane/route_table.h"

namespace arsec::dp {
namespace {

using msg::Message;
using msg::Type;

uint64_t NowMs() { return rte_get_timer_cycles() * 1000 / rte_get_timer_hz(); }

class Main : public NeighActions {
 public:
  explicit Main(Context* ctx)
      : ctx_(ctx),
        c_(ctx->stats->worker[shm::kMaxWorkers].counters),
        rt_(ctx->fib.get()),
        neigh_(Params(ctx->cfg), this) {}

  void Run();

 private:
  static NeighTable::Params Params(const StartupConfig& cfg) {
    NeighTable::Params p;
    p.reachable_ms = uint64_t{cfg.arp_reachable_s} * 1000;
    p.retry_ms = cfg.arp_retry_ms;
    p.max_retries = cfg.arp_max_retries;
    p.capacity = cfg.arp_table_size;
    p.queue_len = 4;
    return p;
  }

  // NeighActions
  void SendRequest(uint16_t port, uint32_t ip) override {
    static const rte_ether_addr kBcast = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
    static const rte_ether_addr kZero = {};
    rte_mbuf* m = MakeArp(ctx_->pool, RTE_ARP_OP_REQUEST, kBcast, ctx_->port_mac[port],
                          rt_.SourceFor(port, ip), kZero, ip);
    if (m == nullptr) {
      c_[shm::kCtr_drop_no_mbuf]++;
      return;
    }
    c_[shm::kCtr_arp_requests_sent]++;
    Send(m, port);
  }
  void Install(uint16_t port, uint32_t ip, const Mac& mac) override {
    uint64_t key = NeighKey(port, ip);
    uint64_t data = 0;
    std::memcpy(&data, mac.data(), 6);
    // With RW_CONCURRENCY_LF, replacing the data of an existing key is one atomic store.
    if (rte_hash_add_key_data(ctx_->neigh, &key, reinterpret_cast<void*>(data)) < 0) {
      c_[shm::kCtr_drop_neigh_table_full]++;
    }
    // After the hash holds the new data: a worker that sees the new generation and
    // looks the key up again cannot get the old MAC.
    __atomic_fetch_add(&ctx_->neigh_gen, 1u, __ATOMIC_RELEASE);
  }
  void Withdraw(uint16_t port, uint32_t ip) override {
    uint64_t key = NeighKey(port, ip);
    rte_hash_del_key(ctx_->neigh, &key);  // the key slot is reclaimed after a grace period
    __atomic_fetch_add(&ctx_->neigh_gen, 1u, __ATOMIC_RELEASE);
  }
  void Transmit(void* pkt, uint16_t port, const Mac& mac) override {
    auto* m = static_cast<rte_mbuf*>(pkt);
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    std::memcpy(&eth->dst_addr, mac.data(), 6);
    eth->src_addr = ctx_->port_mac[port];
    c_[shm::kCtr_forwarded]++;
    Send(m, port);
  }
  void Drop(void* pkt, DropReason why) override {
    c_[why == kQueueFull ? shm::kCtr_drop_neigh_queue
       : why == kFailed  ? shm::kCtr_drop_neigh_fail
                         : shm::kCtr_drop_neigh_table_full]++;
    rte_pktmbuf_free(static_cast<rte_mbuf*>(pkt));
  }
  void Event(uint16_t port, uint32_t ip, const Mac& mac, msg::NeighState state) override {
    Message* e = NewEvent(Type::kEvtNeighbour);
    if (e == nullptr) return;
    e->body.neigh.ip = ip;
    std::memcpy(e->body.neigh.mac, mac.data(), 6);
    e->body.neigh.port = CfgIndex(port);
    e->body.neigh.state = state;
    PostEvent(e);
  }

  void Send(rte_mbuf* m, uint16_t port) {
    m->port = port;
    if (rte_ring_sp_enqueue(ctx_->handoff, m) != 0) {
      c_[shm::kCtr_drop_tx_full]++;
      rte_pktmbuf_free(m);
    }
  }
  uint16_t CfgIndex(uint16_t port_id) const {
    int i = ctx_->cfg_index[port_id];
    return static_cast<uint16_t>(i < 0 ? 0xffff : i);
  }

  Message* NewEvent(Type t) {
    void* obj = nullptr;
    if (rte_mempool_get(ctx_->msg_pool, &obj) != 0) {
      c_[shm::kCtr_drop_event_full]++;
      return nullptr;
    }
    auto* e = static_cast<Message*>(obj);
    std::memset(e, 0, sizeof(*e));
    e->type = t;
    e->seq = ++event_seq_;
    return e;
  }
  void PostEvent(Message* e) {
    // Nobody may be listening (control restarting): drop and count, never block.
    if (rte_ring_sp_enqueue(ctx_->evt, e) != 0) {
      c_[shm::kCtr_drop_event_full]++;
      rte_mempool_put(ctx_->msg_pool, e);
    }
  }

  void HandleRequest(Message* m);
  void ReplyStatus(Message* m, const absl::Status& st);
  void IpsecTick(uint64_t now_ms);
  void SendHeartbeat(const PolicyRt& p, uint64_t now_ms);
  static constexpr uint64_t kHeartbeatMs = 30000;
  std::map<uint32_t, uint64_t> heartbeat_ms_;  // policy id -> last heartbeat sent
  uint64_t next_ipsec_tick_ = 0;
  void HandleSlow(rte_mbuf* m, uint64_t now_ms);
  void Punt(rte_mbuf* m, uint64_t now_ms);
  static bool IsIke(const rte_mbuf* m);
  void IkeRx(rte_mbuf* m, uint64_t now_ms);
  void IkeTx(rte_mbuf* m, uint64_t now_ms);
  uint16_t IkeFragmentSize(uint16_t mtu) const;
  void IkeFragment(rte_mbuf* m, uint16_t size, uint16_t port, uint32_t hop, uint64_t now_ms);
  void IkeSend(rte_mbuf* m, uint16_t port, uint32_t nexthop, uint64_t now_ms);
  void Acquire(rte_mbuf* m, uint32_t policy_id, uint64_t now_ms);
  void RefreshPortSources();
  void PollLinks(bool initial);
  bool PortOf(uint16_t cfg_port, uint16_t* port_id, Message* m);
  void FillPorts(Message* m);
  void FillArp(Message* m, uint64_t now_ms);

  Context* ctx_;
  uint64_t* c_;
  RouteTable rt_;
  NeighTable neigh_;
  uint32_t control_gen_ = 0;
  uint32_t event_seq_ = 0;
  uint64_t punt_tokens_ = 100;
  uint64_t punt_last_ms_ = 0;
  // IKE to the daemon: 2000 datagrams/s, bursts of 500. Generous: the daemon's limit on
  // half-open exchanges is the real defence against floods; this only bounds the work a
  // flood can push across the process boundary.
  static constexpr uint64_t kIkeBurst = 500, kIkePerMs = 2;
  uint64_t ike_tokens_ = kIkeBurst;
  uint64_t ike_last_ms_ = 0;
  std::unordered_map<uint32_t, uint64_t> acquire_ms_;  // policy id -> last acquire sent
};

void Reply(Message* m, int result, const char* fmt = nullptr, ...)
    __attribute__((format(printf, 3, 4)));

void Reply(Message* m, int result, const char* fmt, ...) {
  m->result = result;
  m->reason[0] = '\0';
  if (fmt != nullptr) {
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(m->reason, sizeof m->reason, fmt, ap);
    va_end(ap);
  }
}

void SetReason(Message* m, const Result& r) {
  m->result = r.code;
  std::snprintf(m->reason, sizeof m->reason, "%s", r.reason.c_str());
}

std::string IfName(const char* raw) {
  return std::string(raw, strnlen(raw, msg::kIfNameLen));
}

bool Main::PortOf(uint16_t cfg_port, uint16_t* port_id, Message* m) {
  if (cfg_port >= ctx_->ports.size()) {
    Reply(m, -ENODEV, "no port %u (the startup config lists %zu)", cfg_port, ctx_->ports.size());
    return false;
  }
  *port_id = ctx_->ports[cfg_port].port_id;
  return true;
}

void Main::RefreshPortSources() {
  uint32_t any = 0;
  for (const PortInfo& p : ctx_->ports) {
    uint32_t a = rt_.SourceFor(p.port_id, 0);
    __atomic_store_n(&ctx_->port_src[p.port_id], a, __ATOMIC_RELAXED);
    if (!any) any = a;
  }
  __atomic_store_n(&ctx_->router_id, any, __ATOMIC_RELAXED);
}

void Main::FillPorts(Message* m) {
  uint32_t start = m->body.dump.start;
  msg::PortPage& pg = m->body.ports;
  std::memset(&pg, 0, sizeof pg);
  uint32_t i = start;
  for (; i < ctx_->ports.size() && pg.count < 8; ++i) {
    const PortInfo& p = ctx_->ports[i];
    msg::PortEntry& e = pg.entries[pg.count++];
    std::snprintf(e.name, sizeof e.name, "%s", p.name.c_str());
    std::snprintf(e.device, sizeof e.device, "%s", p.device.c_str());
    e.port = static_cast<uint16_t>(i);
    std::memcpy(e.mac, p.mac.addr_bytes, 6);
    e.link_up = p.link_up;
    e.speed_mbps = p.speed;
    e.mtu = p.mtu;
    rte_eth_stats s{};
    if (rte_eth_stats_get(p.port_id, &s) == 0) {
      e.rx_packets = s.ipackets;
      e.tx_packets = s.opackets;
      e.rx_bytes = s.ibytes;
      e.tx_bytes = s.obytes;
      e.rx_missed = s.imissed;
      e.rx_errors = s.ierrors + s.rx_nombuf;
      e.tx_errors = s.oerrors;
    }
  }
  pg.next = i < ctx_->ports.size() ? i : 0;
  Reply(m, 0);
}

void Main::FillArp(Message* m, uint64_t now_ms) {
  uint32_t start = m->body.dump.start;
  msg::ArpPage& pg = m->body.arp;
  std::memset(&pg, 0, sizeof pg);
  const auto& t = neigh_.entries();
  auto it = t.begin();
  uint32_t i = 0;
  for (; it != t.end() && i < start; ++it, ++i) {
  }
  for (; it != t.end() && pg.count < msg::kMaxEntries; ++it, ++i) {
    const NeighTable::Entry& n = it->second;
    msg::ArpEntry& e = pg.entries[pg.count++];
    e.ip = static_cast<uint32_t>(it->first);
    e.port = CfgIndex(static_cast<uint16_t>(it->first >> 32));
    std::memcpy(e.mac, n.mac.data(), 6);
    e.state = n.state;
    if (n.is_static) {
      e.age_s = static_cast<uint32_t>((now_ms - n.confirmed_ms) / 1000);
      e.expires_s = 0;
    } else if (n.state != msg::kNeighIncomplete) {
      e.age_s = static_cast<uint32_t>((now_ms - n.confirmed_ms) / 1000);
      uint64_t exp = n.confirmed_ms + neigh_.params().reachable_ms;
      e.expires_s = exp > now_ms ? static_cast<uint32_t>((exp - now_ms + 999) / 1000) : 0;
    }
  }
  pg.next = it != t.end() ? i : 0;
  Reply(m, 0);
}

void Main::HandleRequest(Message* m) {
  uint16_t pid = 0;
  switch (m->type) {
    case Type::kHello: {
      if (m->body.hello.schema != msg::kSchemaVersion) {
        Reply(m, -EPROTO, "schema %u, dataplane speaks %u", m->body.hello.schema,
              msg::kSchemaVersion);
      } else {
        Reply(m, 0);
      }
      m->body.hello.schema = msg::kSchemaVersion;
      m->body.hello.dp_pid = static_cast<uint32_t>(getpid());
      m->body.hello.dp_epoch = ctx_->epoch;
      m->body.hello.control_gen = control_gen_;
      m->body.hello.n_workers = ctx_->n_workers;
      return;
    }
    case Type::kSyncBegin:
      rt_.SyncBegin();
      ctx_->ipsec->SyncBegin();
      Reply(m, 0);
      return;
    case Type::kSyncEnd: {
      if (!rt_.syncing()) {
        Reply(m, -EINVAL, "SyncEnd without SyncBegin");
        return;
      }
      unsigned n = rt_.SyncEnd() + ctx_->ipsec->SyncEnd();
      ++control_gen_;
      RefreshPortSources();
      Reply(m, 0, "removed %u stale entries", n);
      return;
    }
    case Type::kAddrAdd:
    case Type::kAddrDel: {
      const msg::AddrBody& a = m->body.addr;
      std::string ifn = IfName(a.ifname);
      if (ifn.empty()) {
        Reply(m, -EINVAL, "empty interface name");
        return;
      }
      if (!PortOf(a.port, &pid, m)) return;
      Result r = m->type == Type::kAddrAdd ? rt_.AddAddr(ifn, pid, a.addr, a.prefix_len)
                                           : rt_.DelAddr(ifn, pid, a.addr, a.prefix_len);
      SetReason(m, r);
      RefreshPortSources();
      return;
    }
    case Type::kRouteAdd:
    case Type::kRouteDel: {
      const msg::RouteBody& r = m->body.route;
      if (m->type == Type::kRouteDel) {
        SetReason(m, rt_.DelRoute(r.prefix, r.prefix_len, r.nexthop));
        return;
      }
      if (!PortOf(r.port, &pid, m)) return;
      SetReason(m, rt_.AddRoute(r.prefix, r.prefix_len, r.nexthop, pid, IfName(r.ifname),
                                r.metric));
      return;
    }
    case Type::kNeighAdd:
    case Type::kNeighDel: {
      const msg::ArpEntry& a = m->body.arp_entry;
      if (!PortOf(a.port, &pid, m)) return;
      if (m->type == Type::kNeighDel) {
        if (neigh_.entries().count(NeighTable::KeyOf(pid, a.ip)) == 0) {
          Reply(m, -ENOENT, "no neighbour %u.%u.%u.%u on that port", a.ip >> 24,
                (a.ip >> 16) & 255, (a.ip >> 8) & 255, a.ip & 255);
          return;
        }
        neigh_.Remove(pid, a.ip);
        Reply(m, 0);
        return;
      }
      rte_ether_addr ea;
      std::memcpy(ea.addr_bytes, a.mac, 6);
      if (a.ip == 0 || !rte_is_unicast_ether_addr(&ea) || rte_is_zero_ether_addr(&ea)) {
        Reply(m, -EINVAL, "a static neighbour needs a unicast IP and MAC address");
        return;
      }
      Mac mac;
      std::memcpy(mac.data(), a.mac, 6);
      if (!neigh_.AddStatic(pid, a.ip, mac, NowMs())) {
        Reply(m, -ENOSPC, "neighbour table full");
        return;
      }
      Reply(m, 0);
      return;
    }
    case Type::kArpDump:
      FillArp(m, NowMs());
      return;
    case Type::kPortDump:
      FillPorts(m);
      return;
    case Type::kCountersReset:
      __atomic_fetch_add(&ctx_->reset_gen, 1u, __ATOMIC_RELEASE);
      std::memset(c_, 0, sizeof(uint64_t) * shm::kNumCounters);
      for (const PortInfo& p : ctx_->ports) rte_eth_stats_reset(p.port_id);
      Reply(m, 0);
      return;
    case Type::kIpsecGlobal:
      ctx_->ipsec->SetGlobal(m->body.ipsec_global.enabled != 0, m->body.ipsec_global.udp_port);
      Reply(m, 0);
      return;
    case Type::kSaAdd: {
      absl::Status st = ctx_->ipsec->AddSa(m->body.sa);
      // The message buffer goes back through a shared pool: no key bytes may stay in it.
      explicit_bzero(m->body.sa.cipher_key, sizeof m->body.sa.cipher_key);
      explicit_bzero(m->body.sa.auth_key, sizeof m->body.sa.auth_key);
      ReplyStatus(m, st);
      return;
    }
    case Type::kSaDel:
      ReplyStatus(m, ctx_->ipsec->DelSa(m->body.sa_ref.sa_id));
      return;
    case Type::kSaDump: {
      const uint32_t start = m->body.dump.start;
      ctx_->ipsec->DumpSas(start, &m->body.sa_page);
      Reply(m, 0);
      return;
    }
    case Type::kSaKeep:
      ReplyStatus(m, ctx_->ipsec->KeepSa(m->body.sa_keep.sa_id, m->body.sa_keep.policy_id));
      return;
    case Type::kPolicySet:
      if (!PortOf(m->body.policy.port, &pid, m)) return;
      ReplyStatus(m, ctx_->ipsec->SetPolicy(m->body.policy, pid));
      return;
    case Type::kPolicyDel:
      ReplyStatus(m, ctx_->ipsec->DelPolicy(m->body.policy_ref.policy_id));
      return;
    case Type::kSpdBegin:
      ctx_->ipsec->SpdBegin(m->body.spd_begin.n_rules);
      Reply(m, 0);
      return;
    case Type::kSpdRules: {
      const msg::SpdRulesBody& b = m->body.spd_rules;
      if (b.count > msg::kMaxSpdRulesPerMsg) {
        Reply(m, -EINVAL, "%u rules in one message", b.count);
        return;
      }
      for (uint32_t i = 0; i < b.count; ++i) {
        const msg::SpdRuleWire& w = b.rules[i];
        if (!PortOf(w.port, &pid, m)) return;
        SpdRule r;
        r.ifindex = pid;
        r.action = static_cast<SpdAction>(w.action);
        r.policy = w.policy_id;
        r.laddr = w.laddr;
        r.lmask = w.lmask;
        r.raddr = w.raddr;
        r.rmask = w.rmask;
        r.proto = w.proto;
        r.lport_lo = w.lport_lo;
        r.lport_hi = w.lport_hi;
        r.rport_lo = w.rport_lo;
        r.rport_hi = w.rport_hi;
        absl::Status st = ctx_->ipsec->SpdAdd(r);
        if (!st.ok()) {
          ReplyStatus(m, st);
          return;
        }
      }
      Reply(m, 0);
      return;
    }
    case Type::kSpdCommit:
      ReplyStatus(m, ctx_->ipsec->SpdCommit());
      return;
    default:
      Reply(m, -EOPNOTSUPP, "unknown request type %u", static_cast<unsigned>(m->type));
      return;
  }
}

void Main::ReplyStatus(Message* m, const absl::Status& st) {
  if (st.ok()) {
    Reply(m, 0);
    return;
  }
  int err = -EINVAL;
  switch (st.code()) {
    case absl::StatusCode::kNotFound: err = -ENOENT; break;
    case absl::StatusCode::kResourceExhausted: err = -ENOSPC; break;
    case absl::StatusCode::kOutOfRange: err = -ERANGE; break;
    case absl::StatusCode::kUnimplemented: err = -EOPNOTSUPP; break;
    default: break;
  }
  Reply(m, err, "%s", std::string(st.message()).c_str());
}

void Main::IpsecTick(uint64_t now_ms) {
  for (auto it = acquire_ms_.begin(); it != acquire_ms_.end();) {
    it = now_ms - it->second >= 1000 ? acquire_ms_.erase(it) : std::next(it);
  }
  ctx_->ipsec->Tick(rte_rdtsc(), [this](uint32_t sa, uint32_t pol, bool hard, bool by_bytes,
                                        uint64_t bytes, uint32_t age) {
    Message* e = NewEvent(Type::kEvtSaExpiry);
    if (e == nullptr) return;
    e->body.sa_expiry.sa_id = sa;
    e->body.sa_expiry.policy_id = pol;
    e->body.sa_expiry.hard = hard;
    e->body.sa_expiry.by_bytes = by_bytes;
    e->body.sa_expiry.bytes = bytes;
    e->body.sa_expiry.age_s = age;
    PostEvent(e);
  });
  if (!ctx_->ipsec->enabled()) return;
  // A policy's first heartbeat leaves as soon as it is configured, then every 30 s.
  std::map<uint32_t, uint64_t> seen;
  for (const PolicyRt* p : ctx_->ipsec->HeartbeatPolicies()) {
    auto it = heartbeat_ms_.find(p->policy_id);
    uint64_t last = it == heartbeat_ms_.end() ? 0 : it->second;
    if (last == 0 || now_ms - last >= kHeartbeatMs) {
      SendHeartbeat(*p, now_ms);
      last = now_ms;
    }
    seen[p->policy_id] = last;
  }
  heartbeat_ms_.swap(seen);
}

// The seed's UDP heartbeat: a small datagram from our ESP-over-UDP port to the peer's,
// every 30 seconds, so that a NAT box in between keeps its mapping. The peer counts and
// drops it. It is routed like any packet the gateway sends and leaves through the
// neighbour path (queued until ARP resolves).
void Main::SendHeartbeat(const PolicyRt& p, uint64_t now_ms) {
  NhEntry nh;  // the default route too: a peer is often reached through it
  if (!ctx_->fib->Lookup(p.peer, &nh)) return;
  if (nh.type == static_cast<uint8_t>(NhType::kLocal)) return;
  uint32_t src = p.local ? p.local : __atomic_load_n(&ctx_->port_src[nh.port], __ATOMIC_RELAXED);
  if (src == 0) src = ctx_->router_id;
  if (src == 0) return;
  rte_mbuf* m = rte_pktmbuf_alloc(ctx_->pool);
  if (m == nullptr) {
    c_[shm::kCtr_drop_no_mbuf]++;
    return;
  }
  constexpr uint16_t kPayload = 1;
  constexpr uint16_t kIpLen = sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr) + kPayload;
  auto* eth = reinterpret_cast<rte_ether_hdr*>(
      rte_pktmbuf_append(m, sizeof(rte_ether_hdr) + kIpLen));
  eth->src_addr = ctx_->port_mac[nh.port];
  eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  std::memset(ip, 0, sizeof *ip);
  ip->version_ihl = 0x45;
  ip->total_length = rte_cpu_to_be_16(kIpLen);
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_UDP;
  ip->src_addr = rte_cpu_to_be_32(src);
  ip->dst_addr = rte_cpu_to_be_32(p.peer);
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
  udp->src_port = ctx_->ipsec->udp_port_be();
  udp->dst_port = rte_cpu_to_be_16(p.udp_port ? p.udp_port : 2746);
  udp->dgram_len = rte_cpu_to_be_16(sizeof(rte_udp_hdr) + kPayload);
  udp->dgram_cksum = 0;
  *reinterpret_cast<uint8_t*>(udp + 1) = 0xff;
  c_[shm::kCtr_ipsec_heartbeats_out]++;
  neigh_.OnMiss(nh.port, nh.gw ? nh.gw : p.peer, m, now_ms);
}

void Main::Punt(rte_mbuf* m, uint64_t now_ms) {
  // Token bucket: 100 events/s, bursts of 100, so a flood to our address cannot swamp
  // the control process.
  uint64_t add = (now_ms - punt_last_ms_) / 10;
  if (add) {
    punt_tokens_ = std::min<uint64_t>(100, punt_tokens_ + add);
    punt_last_ms_ = now_ms;
  }
  c_[shm::kCtr_drop_unhandled_local]++;
  if (punt_tokens_ == 0) {
    c_[shm::kCtr_drop_punt_ratelimit]++;
    return;
  }
  --punt_tokens_;
  Message* e = NewEvent(Type::kEvtPunt);
  if (e == nullptr) return;
  auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, sizeof(rte_ether_hdr));
  msg::PuntEvent& p = e->body.punt;
  p.port = CfgIndex(m->port);
  p.src = rte_be_to_cpu_32(ip->src_addr);
  p.dst = rte_be_to_cpu_32(ip->dst_addr);
  p.proto = ip->next_proto_id;
  uint32_t len = rte_pktmbuf_data_len(m) - sizeof(rte_ether_hdr);
  p.len = static_cast<uint16_t>(std::min<uint32_t>(len, sizeof p.data));
  std::memcpy(p.data, ip, p.len);
  PostEvent(e);
}

// An IKE datagram: UDP to port 500, or to 4500 with the non-ESP marker or as a NAT-T
// keepalive (RFC 3948 2.2, 2.3). Workers punt only whole packets to own addresses (a
// reassembled one may be a chain: the headers are in its first segment).
bool Main::IsIke(const rte_mbuf* m) {
  constexpr uint32_t kEth = sizeof(rte_ether_hdr);
  if (rte_pktmbuf_data_len(m) < kEth + sizeof(rte_ipv4_hdr)) return false;
  const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, kEth);
  if (ip->next_proto_id != IPPROTO_UDP ||
      (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK | RTE_IPV4_HDR_MF_FLAG))) {
    return false;
  }
  const uint32_t ihl = (ip->version_ihl & 0xf) * 4u;
  const uint32_t ip_len = rte_be_to_cpu_16(ip->total_length);
  if (ip_len < ihl + sizeof(rte_udp_hdr) || rte_pktmbuf_data_len(m) < kEth + ihl + sizeof(rte_udp_hdr)) {
    return false;
  }
  const auto* u = rte_pktmbuf_mtod_offset(m, const rte_udp_hdr*, kEth + ihl);
  if (u->dst_port == RTE_BE16(500)) return true;
  if (u->dst_port != RTE_BE16(4500)) return false;
  const uint32_t body = ip_len - ihl - sizeof(rte_udp_hdr);
  uint8_t buf[4];
  const auto* b = static_cast<const uint8_t*>(rte_pktmbuf_read(
      m, kEth + ihl + sizeof(rte_udp_hdr), body < 4 ? body : 4, buf));
  if (b == nullptr) return false;
  if (body == 1) return b[0] == 0xff;
  return body >= 4 && (b[0] | b[1] | b[2] | b[3]) == 0;
}

void Main::IkeRx(rte_mbuf* m, uint64_t now_ms) {
  const uint64_t add = (now_ms - ike_last_ms_) * kIkePerMs;
  if (add) {
    ike_tokens_ = std::min(kIkeBurst, ike_tokens_ + add);
    ike_last_ms_ = now_ms;
  }
  if (ike_tokens_ == 0) {
    c_[shm::kCtr_drop_ike_ratelimit]++;
    rte_pktmbuf_free(m);
    return;
  }
  --ike_tokens_;
  // Nobody may be draining (control restarting): the ring holds what it can, the rest
  // is dropped and counted; IKE retransmits.
  if (rte_ring_sp_enqueue(ctx_->ike_rx, m) != 0) {
    c_[shm::kCtr_drop_ike_rx_full]++;
    rte_pktmbuf_free(m);
    return;
  }
  c_[shm::kCtr_ike_rx]++;
  shm::Ring(ctx_->bells->ike_rx);
}

// One datagram from the IKE daemon: [Ethernet space][IPv4][UDP][payload], the headers in
// the first segment, the rest in further segments when it did not fit one buffer (a
// certificate or two; ring_transport.h). The UDP checksum covers the whole datagram
// already; only a source filled in here changes it, by its two words.
void Main::IkeTx(rte_mbuf* m, uint64_t now_ms) {
  constexpr uint32_t kEth = sizeof(rte_ether_hdr);
  const uint32_t dlen = rte_pktmbuf_data_len(m);  // the first segment's
  const uint32_t plen = rte_pktmbuf_pkt_len(m);
  auto bad = [&] {
    c_[shm::kCtr_drop_ike_tx_bad]++;
    rte_pktmbuf_free(m);
  };
  if (dlen < kEth + sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr)) return bad();
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  const uint32_t ihl = (ip->version_ihl & 0xf) * 4u;
  const uint32_t ip_len = rte_be_to_cpu_16(ip->total_length);
  if ((ip->version_ihl >> 4) != 4 || ihl < sizeof(rte_ipv4_hdr) || ip->next_proto_id != IPPROTO_UDP ||
      kEth + ihl + sizeof(rte_udp_hdr) > dlen || ip_len < ihl + sizeof(rte_udp_hdr) ||
      kEth + ip_len > plen) {
    return bad();
  }
  auto* udp = reinterpret_cast<rte_udp_hdr*>(reinterpret_cast<uint8_t*>(ip) + ihl);
  if (rte_be_to_cpu_16(udp->dgram_len) != ip_len - ihl) return bad();
  // Anything past the datagram can only be cut from the last segment.
  if (const uint32_t excess = plen - kEth - ip_len; excess > 0) {
    if (excess > rte_pktmbuf_lastseg(m)->data_len) return bad();
    rte_pktmbuf_trim(m, static_cast<uint16_t>(excess));
  }
  const uint32_t dst = rte_be_to_cpu_32(ip->dst_addr);
  NhEntry nh;
  if (dst == 0 || !ctx_->fib->Lookup(dst, &nh) || nh.type == static_cast<uint8_t>(NhType::kLocal)) {
    c_[shm::kCtr_drop_ike_tx_noroute]++;
    rte_pktmbuf_free(m);
    return;
  }
  if (ip->src_addr == 0) {
    uint32_t src = __atomic_load_n(&ctx_->port_src[nh.port], __ATOMIC_RELAXED);
    if (src == 0) src = ctx_->router_id;
    if (src == 0) {
      c_[shm::kCtr_drop_ike_tx_noroute]++;
      rte_pktmbuf_free(m);
      return;
    }
    const rte_be32_t src_be = rte_cpu_to_be_32(src);
    ip->src_addr = src_be;
    // The daemon summed the UDP pseudo-header with a zero source: add the source's two
    // words now (RFC 1624). A zero checksum means none was computed and stays so.
    if (udp->dgram_cksum != 0) {
      uint16_t w[2];
      std::memcpy(w, &src_be, 4);
      uint16_t ck = CksumAdjust(udp->dgram_cksum, 0, w[0]);
      ck = CksumAdjust(ck, 0, w[1]);
      udp->dgram_cksum = ck == 0 ? 0xffff : ck;  // RFC 768: a computed 0 is sent as ones
    }
  }
  ip->hdr_checksum = 0;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
  const uint32_t hop = nh.gw ? nh.gw : dst;
  const uint16_t mtu = ctx_->port_mtu[nh.port];
  if (m->nb_segs == 1 && ip_len <= mtu) {
    c_[shm::kCtr_ike_tx]++;
    IkeSend(m, nh.port, hop, now_ms);
    return;
  }
  // Larger than the egress MTU (a certificate, a big proposal list), or a chain: IP
  // fragments, each sent as a single buffer like every frame the dataplane transmits
  // (the ports are not set up for multi-segment TX), so no larger than one buffer
  // holds even where the MTU would allow more (a jumbo port).
  if (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG)) {
    c_[shm::kCtr_drop_too_big]++;
    rte_pktmbuf_free(m);
    return;
  }
  rte_pktmbuf_adj(m, kEth);
  IkeFragment(m, IkeFragmentSize(mtu), nh.port, hop, now_ms);
}

// The largest fragment (IPv4 total length) that fits one buffer of the packet pool with
// the Ethernet header in its headroom, or the MTU if that is smaller.
uint16_t Main::IkeFragmentSize(uint16_t mtu) const {
  const uint32_t room = rte_pktmbuf_data_room_size(ctx_->pool) - RTE_PKTMBUF_HEADROOM;
  return static_cast<uint16_t>(std::min<uint32_t>(mtu, room));
}

// An IP packet (no Ethernet header; one segment or a chain, direct buffers) cut into
// fragments of at most `size` bytes. The fragmenter makes each a header buffer plus
// references into the datagram's segments; each is copied into its header buffer, which
// comes from the packet pool like any frame on the TX queues, and the references go.
// The datagram is released once its last reference is.
void Main::IkeFragment(rte_mbuf* m, uint16_t size, uint16_t port, uint32_t hop, uint64_t now_ms) {
  constexpr uint32_t kEth = sizeof(rte_ether_hdr);
  // 64 KB in fragments of 576 bytes (what every IPv4 host takes, RFC 791) is 119.
  constexpr uint16_t kMaxFrags = 128;
  rte_mbuf* frags[kMaxFrags];
  const int nf = rte_ipv4_fragment_packet(m, frags, kMaxFrags, size, ctx_->pool,
                                          ctx_->frag_indirect);
  rte_pktmbuf_free(m);
  if (nf < 0) {
    c_[shm::kCtr_ipsec_drop_frag]++;
    return;
  }
  c_[shm::kCtr_ike_tx]++;
  for (int i = 0; i < nf; ++i) {
    rte_mbuf* f = frags[i];
    if (f->nb_segs > 1 && rte_pktmbuf_linearize(f) != 0) {
      c_[shm::kCtr_ipsec_drop_frag]++;
      rte_pktmbuf_free(f);
      continue;
    }
    auto* fip = rte_pktmbuf_mtod(f, rte_ipv4_hdr*);
    fip->hdr_checksum = 0;
    fip->hdr_checksum = rte_ipv4_cksum(fip);
    auto* feth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_prepend(f, kEth));
    if (feth == nullptr) {
      c_[shm::kCtr_drop_no_mbuf]++;
      rte_pktmbuf_free(f);
      continue;
    }
    feth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    IkeSend(f, port, hop, now_ms);
  }
}

void Main::IkeSend(rte_mbuf* m, uint16_t port, uint32_t nexthop, uint64_t now_ms) {
  rte_pktmbuf_mtod(m, rte_ether_hdr*)->src_addr = ctx_->port_mac[port];
  m->port = port;
  neigh_.OnMiss(port, nexthop, m, now_ms);  // sent at once when the neighbour is known
}

// The packet a worker dropped for want of an SA (an Ethernet frame) names the traffic.
void Main::Acquire(rte_mbuf* m, uint32_t policy_id, uint64_t now_ms) {
  auto [it, fresh] = acquire_ms_.try_emplace(policy_id, now_ms);
  if (!fresh) {
    if (now_ms - it->second < 1000) return;
    it->second = now_ms;
  }
  constexpr uint32_t kEth = sizeof(rte_ether_hdr);
  if (rte_pktmbuf_data_len(m) < kEth + sizeof(rte_ipv4_hdr)) return;
  Message* e = NewEvent(Type::kEvtAcquire);
  if (e == nullptr) return;
  const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, kEth);
  msg::AcquireEvent& a = e->body.acquire;
  a.policy_id = policy_id;
  a.src = rte_be_to_cpu_32(ip->src_addr);
  a.dst = rte_be_to_cpu_32(ip->dst_addr);
  a.proto = ip->next_proto_id;
  const uint32_t ihl = (ip->version_ihl & 0xf) * 4u;
  if ((a.proto == IPPROTO_TCP || a.proto == IPPROTO_UDP) &&
      (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK)) == 0 &&
      rte_pktmbuf_data_len(m) >= kEth + ihl + 4) {
    const auto* l4 = rte_pktmbuf_mtod_offset(m, const uint8_t*, kEth + ihl);
    a.sport = static_cast<uint16_t>(l4[0] << 8 | l4[1]);
    a.dport = static_cast<uint16_t>(l4[2] << 8 | l4[3]);
  }
  c_[shm::kCtr_ipsec_acquires]++;
  PostEvent(e);
}

void Main::HandleSlow(rte_mbuf* m, uint64_t now_ms) {
  SlowMeta* meta = Meta(m, ctx_->meta_off);
  switch (meta->kind) {
    case kSlowMiss:
      neigh_.OnMiss(m->port, meta->nexthop, m, now_ms);
      return;  // the table owns the mbuf now
    case kSlowArp: {
      auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
      auto* a = reinterpret_cast<rte_arp_hdr*>(eth + 1);
      uint32_t sip = rte_be_to_cpu_32(a->arp_data.arp_sip);
      uint32_t tip = rte_be_to_cpu_32(a->arp_data.arp_tip);
      Mac mac;
      std::memcpy(mac.data(), a->arp_data.arp_sha.addr_bytes, 6);
      // RFC 826: update a known sender; add an unknown one only if it asked for us.
      neigh_.OnArp(m->port, sip, mac, rt_.IsLocal(tip), now_ms);
      break;
    }
    case kSlowPunt:
      if (IsIke(m)) {
        IkeRx(m, now_ms);
        return;  // on the IKE ring, or freed
      }
      Punt(m, now_ms);
      break;
    case kSlowAcquire:
      Acquire(m, meta->nexthop, now_ms);
      break;
    case kSlowDebug: {
      Message* e = NewEvent(Type::kEvtIpsecDebug);
      if (e == nullptr) break;
      msg::IpsecDebugEvent& d = e->body.ipsec_debug;
      d.policy_id = meta->nexthop;
      d.sa_id = meta->aux;
      d.outbound = meta->flags & 1;
      d.post = (meta->flags >> 1) & 1;
      const auto* ip = rte_pktmbuf_mtod(m, const uint8_t*);
      const uint32_t n = std::min<uint32_t>(rte_pktmbuf_data_len(m), msg::kDebugBytes);
      d.len = n >= 4 ? static_cast<uint16_t>(ip[2] << 8 | ip[3]) : 0;
      d.cap = static_cast<uint16_t>(n);
      std::memcpy(d.data, ip, n);
      PostEvent(e);
      break;
    }
    default:
      break;
  }
  rte_pktmbuf_free(m);
}

void Main::PollLinks(bool initial) {
  for (PortInfo& p : ctx_->ports) {
    rte_eth_link l{};
    if (rte_eth_link_get_nowait(p.port_id, &l) != 0) continue;
    bool up = l.link_status == RTE_ETH_LINK_UP;
    if (!initial && up == p.link_up && l.link_speed == p.speed) continue;
    p.link_up = up;
    p.speed = l.link_speed;
    std::fprintf(stderr, "arsec-dataplane: port %s link %s\n", p.name.c_str(),
                 up ? "up" : "down");
    Message* e = NewEvent(Type::kEvtLink);
    if (e == nullptr) continue;
    e->body.link.port = CfgIndex(p.port_id);
    e->body.link.up = up;
    e->body.link.speed_mbps = p.speed;
    PostEvent(e);
  }
}

void Main::Run() {
  constexpr unsigned kBurst = 32;
  void* objs[kBurst];
  uint64_t next_tick = 0, next_link = 0;
  PollLinks(true);
  while (!__atomic_load_n(&ctx_->quit, __ATOMIC_RELAXED)) {
    bool busy = false;
    // Noted before the rings are looked at: work enqueued after the look rings it again.
    const uint32_t bell = shm::Peek(ctx_->bells->main);
    unsigned n = rte_ring_sc_dequeue_burst(ctx_->req, objs, kBurst, nullptr);
    for (unsigned i = 0; i < n; ++i) {
      auto* m = static_cast<Message*>(objs[i]);
      HandleRequest(m);
      if (rte_ring_sp_enqueue(ctx_->rep, m) != 0) {
        c_[shm::kCtr_drop_event_full]++;
        rte_mempool_put(ctx_->msg_pool, m);
      }
    }
    if (n > 0) shm::Ring(ctx_->bells->reply);
    busy |= n > 0;
    uint64_t now = NowMs();
    n = rte_ring_sc_dequeue_burst(ctx_->slow, objs, kBurst, nullptr);
    for (unsigned i = 0; i < n; ++i) HandleSlow(static_cast<rte_mbuf*>(objs[i]), now);
    busy |= n > 0;
    n = rte_ring_sc_dequeue_burst(ctx_->ike_tx, objs, kBurst, nullptr);
    for (unsigned i = 0; i < n; ++i) IkeTx(static_cast<rte_mbuf*>(objs[i]), now);
    busy |= n > 0;
    if (now >= next_tick) {
      neigh_.Tick(now);
      ctx_->fib->Reclaim();
      ctx_->ipsec->Reclaim();
      next_tick = now + 10;
    }
    if (now >= next_ipsec_tick_) {
      IpsecTick(now);
      next_ipsec_tick_ = now + 1000;
    }
    if (now >= next_link) {
      PollLinks(false);
      next_link = now + 500;
    }
    // The main lcore shares its core with arsec-control and the OS: when idle it sleeps
    // until control rings (a request or an IKE datagram to send) or 100 us pass (the
    // workers' slow ring has no bell: the packet path makes no syscall, and the slow
    // path can afford 100 us of latency).
    if (!busy) shm::Wait(ctx_->bells->main, bell, 100 * 1000);
  }
  neigh_.Clear();
}

}  // namespace

void MainLoop(Context* ctx) {
  Main m(ctx);
  m.Run();
}

}  // namespace arsec::dp
