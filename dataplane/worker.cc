// The worker lcore: a poll-mode, run-to-completion IPv4 router over bursts.
//
// Per chunk of a burst, stage by stage: admit (a branch-free fast test for the common
// IPv4 frame, the full L2/L3 validation for the rest: ARP answered or handed to the main
// lcore, bad packets dropped by reason) -> one bulk LPM lookup -> per packet: packets that
// continue the current run (same LPM result through a gateway) get only TTL/MTU checks,
// the RFC 1624 TTL/checksum update and two MAC stores; the others take ForwardOne (no
// route, local delivery with ICMP echo answered in place, TTL/MTU errors, neighbour from
// the worker's private cache or the shared hash) -> one TX burst per egress port run.
// Neighbour misses go to the main lcore, which resolves and sends.
//
// The packet path allocates nothing but mbufs (for generated ICMP/ARP), takes no lock,
// makes no syscall and logs nothing. Counters are this worker's own block, added to once
// per chunk on the forwarding path. Each pass of the loop ends with an RCU quiescent-state
// report, which is what lets the main lcore free old FIB/neighbour data (and what a
// memif disconnect waits for before unmapping, see main.cc).
#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_lpm.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>

#include <sched.h>

#include <cstdio>

#include "dataplane/worker.h"

namespace arsec::dp {

// Sends an ICMP error about `m` back out of the port it came in on; `m` is not freed.
void IcmpError(Worker& w, rte_mbuf* m, uint8_t type, uint8_t code, uint32_t extra) {
  Context* ctx = w.ctx;
  if (!IcmpAllowed(w)) {
    w.c[shm::kCtr_drop_icmp_ratelimit]++;
    return;
  }
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  // Never answer an ICMP error with an error, nor a non-first fragment (RFC 1812 4.3.2.7).
  if (ip->next_proto_id == IPPROTO_ICMP) {
    auto* ic = reinterpret_cast<rte_icmp_hdr*>(reinterpret_cast<uint8_t*>(ip) +
                                               (ip->version_ihl & 0xf) * 4);
    uint8_t t = ic->icmp_type;
    if (t != RTE_IP_ICMP_ECHO_REQUEST && t != RTE_IP_ICMP_ECHO_REPLY && t != 13 && t != 14) {
      return;
    }
  }
  if ((rte_be_to_cpu_16(ip->fragment_offset) & RTE_IPV4_HDR_OFFSET_MASK) != 0) return;
  uint16_t in = m->port;
  uint32_t src = __atomic_load_n(&ctx->port_src[in], __ATOMIC_RELAXED);
  if (src == 0) src = __atomic_load_n(&ctx->router_id, __ATOMIC_RELAXED);
  if (src == 0) return;
  uint32_t avail = rte_pktmbuf_data_len(m) - sizeof(rte_ether_hdr);
  rte_mbuf* e = MakeIcmpError(ctx->pool, eth, ip, avail, ctx->port_mac[in], src, type, code,
                              extra);
  if (unlikely(e == nullptr)) {
    w.c[shm::kCtr_drop_no_mbuf]++;
    return;
  }
  w.c[shm::kCtr_icmp_errors_sent]++;
  Tx(w, in, e);
}

namespace {

// The neighbour hash stores a MAC as the low 48 bits of its data word; the MAC rewrite
// below stores that word as bytes.
static_assert(RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN);

// ARP: answer requests for our own addresses here; give the main lcore whatever can
// teach it a neighbour (replies, and requests aimed at us).
void HandleArp(Worker& w, rte_mbuf* m) {
  Context* ctx = w.ctx;
  w.c[shm::kCtr_arp_in]++;
  if (rte_pktmbuf_data_len(m) < sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr)) {
    w.c[shm::kCtr_drop_bad_arp]++;
    rte_pktmbuf_free(m);
    return;
  }
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  auto* a = reinterpret_cast<rte_arp_hdr*>(eth + 1);
  uint16_t op = rte_be_to_cpu_16(a->arp_opcode);
  if (a->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
      a->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
      a->arp_hlen != RTE_ETHER_ADDR_LEN || a->arp_plen != 4 ||
      (op != RTE_ARP_OP_REQUEST && op != RTE_ARP_OP_REPLY) ||
      !rte_is_unicast_ether_addr(&a->arp_data.arp_sha)) {
    w.c[shm::kCtr_drop_bad_arp]++;
    rte_pktmbuf_free(m);
    return;
  }
  uint32_t tip = rte_be_to_cpu_32(a->arp_data.arp_tip);
  uint32_t sip = rte_be_to_cpu_32(a->arp_data.arp_sip);
  uint32_t hop = 0;
  bool for_us = false;
  if (rte_lpm_lookup(ctx->fib->lpm(), tip, &hop) == 0) {
    const NhEntry& nh = ctx->fib->nh_table()[hop];
    for_us = nh.type == static_cast<uint8_t>(NhType::kLocal);
  }
  if (!for_us && sip != tip) {  // foreign ARP (not gratuitous): nothing for us
    w.c[shm::kCtr_drop_bad_arp]++;
    rte_pktmbuf_free(m);
    return;
  }
  uint16_t in = m->port;
  if (op == RTE_ARP_OP_REQUEST && for_us && sip != 0) {
    rte_mbuf* r = MakeArp(ctx->pool, RTE_ARP_OP_REPLY, a->arp_data.arp_sha, ctx->port_mac[in],
                          tip, a->arp_data.arp_sha, sip);
    if (likely(r != nullptr)) {
      w.c[shm::kCtr_arp_replies_sent]++;
      Tx(w, in, r);
    } else {
      w.c[shm::kCtr_drop_no_mbuf]++;
    }
  }
  if (sip == 0) {  // an address probe (RFC 5227) teaches nothing
    rte_pktmbuf_free(m);
    return;
  }
  w.c[shm::kCtr_punted]++;
  ToSlow(w, m, kSlowArp, 0);
}

// A packet to one of our addresses.
void Local(Worker& w, rte_mbuf* m, rte_ipv4_hdr* ip) {
  w.c[shm::kCtr_local_in]++;
  if ((ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK | RTE_IPV4_HDR_MF_FLAG)) !=
      0) {
    if (IpsecLocalFragment(w, m->port, m)) return;  // ESP/AH fragments: reassembled
    w.c[shm::kCtr_drop_fragment_local]++;
    rte_pktmbuf_free(m);
    return;
  }
  uint32_t ihl = (ip->version_ihl & 0xf) * 4u;
  uint32_t ip_len = rte_be_to_cpu_16(ip->total_length);
  if (ip->next_proto_id == IPPROTO_ICMP && ip_len >= ihl + sizeof(rte_icmp_hdr)) {
    auto* ic = reinterpret_cast<rte_icmp_hdr*>(reinterpret_cast<uint8_t*>(ip) + ihl);
    if (ic->icmp_type == RTE_IP_ICMP_ECHO_REQUEST && ic->icmp_code == 0) {
      // Echo reply in place: the request's payload is the reply's.
      uint16_t old_w = *reinterpret_cast<uint16_t*>(ic);
      ic->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
      ic->icmp_cksum = CksumAdjust(ic->icmp_cksum, old_w, *reinterpret_cast<uint16_t*>(ic));
      rte_be32_t s = ip->src_addr;
      ip->src_addr = ip->dst_addr;
      ip->dst_addr = s;
      ip->time_to_live = 64;
      ip->hdr_checksum = 0;
      ip->hdr_checksum = rte_ipv4_cksum(ip);
      auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
      eth->dst_addr = eth->src_addr;
      eth->src_addr = w.ctx->port_mac[m->port];
      w.c[shm::kCtr_icmp_echo_replies]++;
      // Through the outbound SPD: an IPSEC policy may protect the reply (transport mode).
      if (IpsecLocalOut(w, m, m->port)) Tx(w, m->port, m);
      return;
    }
  }
  // Anything else belongs to the control plane: the main lcore hands IKE (UDP 500, 4500
  // with the non-ESP marker) to the IKE daemon's ring and turns the rest into
  // rate-limited punt events.
  w.c[shm::kCtr_punted]++;
  ToSlow(w, m, kSlowPunt, 0);
}

// Stage 1: L2/L3 validation. Returns true when `m` is a good IPv4 packet for routing.
// Out of line: only frames the fast admission test does not pass come here.
__attribute__((noinline)) bool Validate(Worker& w, rte_mbuf* m, uint32_t* dst) {
  Context* ctx = w.ctx;
  uint32_t dlen = rte_pktmbuf_data_len(m);
  if (unlikely(dlen < sizeof(rte_ether_hdr))) {
    Drop(w, m, shm::kCtr_drop_runt);
    return false;
  }
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  if (unlikely(!rte_is_same_ether_addr(&eth->dst_addr, &ctx->port_mac[m->port]) &&
               !rte_is_multicast_ether_addr(&eth->dst_addr))) {
    Drop(w, m, shm::kCtr_drop_other_host);
    return false;
  }
  if (unlikely(eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))) {
    if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP)) {
      HandleArp(w, m);
    } else {
      Drop(w, m, shm::kCtr_drop_not_ip);
    }
    return false;
  }
  if (unlikely(dlen < sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr))) {
    Drop(w, m, shm::kCtr_drop_runt);
    return false;
  }
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  uint8_t vhl = ip->version_ihl;
  if (unlikely((vhl >> 4) != 4)) {
    Drop(w, m, shm::kCtr_drop_bad_version);
    return false;
  }
  uint32_t ihl = (vhl & 0xf) * 4u;
  uint32_t avail = dlen - sizeof(rte_ether_hdr);
  if (unlikely(ihl < sizeof(rte_ipv4_hdr) || ihl > avail)) {
    Drop(w, m, shm::kCtr_drop_bad_hlen);
    return false;
  }
  uint32_t tlen = rte_be_to_cpu_16(ip->total_length);
  if (unlikely(tlen < ihl || tlen > avail || m->nb_segs != 1)) {
    Drop(w, m, shm::kCtr_drop_bad_len);
    return false;
  }
  // A correct header sums to 0xffff, so the folded complement is zero.
  if (unlikely(!Ipv4CksumOk(ip, vhl & 0xf))) {
    Drop(w, m, shm::kCtr_drop_bad_cksum);
    return false;
  }
  if (unlikely(IsMartianSrc(rte_be_to_cpu_32(ip->src_addr)))) {
    Drop(w, m, shm::kCtr_drop_bad_src);
    return false;
  }
  uint32_t d = rte_be_to_cpu_32(ip->dst_addr);
  if (unlikely(IsMartianDst(d))) {
    Drop(w, m, shm::kCtr_drop_martian_dst);
    return false;
  }
  if (unlikely(tlen < avail)) rte_pktmbuf_trim(m, static_cast<uint16_t>(avail - tlen));  // padding
  *dst = d;
  return true;
}

// A run: consecutive packets whose LPM result equals `hop` take the answer of the run's
// first packet (a via-gateway next hop whose neighbour is known), so per packet only the
// TTL and MTU checks, the TTL/checksum update and the MAC rewrite remain.
struct Run {
  static constexpr uint32_t kNone = 0xffffffffu;  // never an LPM result (depth <= 32)
  uint32_t hop = kNone;
  uint16_t port = 0;
  uint16_t mtu = 0;
  NeighCache::Entry neigh{};  // a copy: a later cache fill in the chunk may reuse the slot
};

// Everything for one packet that does not continue the current run: next hop (no route,
// local delivery), TTL and MTU checks with their ICMP errors, TTL update, neighbour
// (miss: to the main lcore). Returns true when `m` is ready to send out of `run.port`;
// `run` then describes this packet's next hop. Out of line so that the run loop stays
// small.
__attribute__((noinline)) bool ForwardOne(Worker& w, rte_mbuf* m, uint32_t hop, uint32_t dst,
                                          const NhEntry* nht, uint32_t def, Run& run) {
  Context* ctx = w.ctx;
  auto* eth = rte_pktmbuf_mtod(m, uint8_t*);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + sizeof(rte_ether_hdr));
  uint32_t idx = (hop & RTE_LPM_LOOKUP_SUCCESS) ? (hop & 0x00ffffff) : def;
  if (unlikely(idx == 0)) {
    IcmpError(w, m, kIcmpDestUnreach, 0 /* net unreachable */, 0);
    Drop(w, m, shm::kCtr_drop_no_route);
    return false;
  }
  NhEntry nh = nht[idx];
  if (unlikely(nh.type == static_cast<uint8_t>(NhType::kLocal))) {
    Local(w, m, ip);
    return false;
  }
  if (unlikely(ip->time_to_live <= 1)) {
    IcmpError(w, m, kIcmpTimeExceeded, 0 /* in transit */, 0);
    Drop(w, m, shm::kCtr_drop_ttl);
    return false;
  }
  uint16_t mtu = ctx->port_mtu[nh.port];
  if (unlikely(rte_be_to_cpu_16(ip->total_length) > mtu)) {
    if (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG)) {
      IcmpError(w, m, kIcmpDestUnreach, 4 /* fragmentation needed */, mtu);
    }
    Drop(w, m, shm::kCtr_drop_too_big);
    return false;
  }
  DecrementTtl(ip);
  uint64_t key = NeighKey(nh.port, nh.gw ? nh.gw : dst);
  const NeighCache::Entry* e = Resolve(w, key, nh.port);
  if (unlikely(e == nullptr)) {
    w.c[shm::kCtr_neigh_miss]++;
    m->port = nh.port;  // the slow path needs the egress port, not the ingress one
    ToSlow(w, m, kSlowMiss, static_cast<uint32_t>(key));
    return false;
  }
  // A connected route's neighbour depends on each packet's destination: no run.
  run.hop = nh.gw ? hop : Run::kNone;
  run.port = nh.port;
  run.mtu = mtu;
  run.neigh = *e;
  NeighCache::Write(eth, e);
  return true;
}

// One chunk (<= kChunk packets, all from RX port `in`), in stages over the whole chunk:
// admit (fast check, full validation only for what the fast check does not pass) ->
// bulk LPM -> per packet: next hop, forwarding checks, TTL, neighbour (consecutive
// packets to the same neighbour reuse the previous answer), MAC rewrite, TX buffer.
// Counters are summed locally and added to the shared block once per chunk.
}  // namespace

void ProcessChunk(Worker& w, uint16_t in, rte_mbuf** pkts, unsigned n, bool decapsulated) {
  Context* ctx = w.ctx;
  uint64_t* c = w.c;
  rte_mbuf* ip4[kChunk];
  uint32_t dst[kChunk];
  uint32_t hop[kChunk];
  unsigned k = 0;
  const uint64_t mac48 = w.mac48[in];

  constexpr unsigned kAhead = 4;
  for (unsigned i = 0; i < n && i < kAhead; ++i) rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void*));
  for (unsigned i = 0; i < n; ++i) {
    if (i + kAhead < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + kAhead], void*));
    rte_mbuf* m = pkts[i];
    if (likely(FastIpv4Ok(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len, m->nb_segs, mac48,
                          &dst[k])) ||
        Validate(w, m, &dst[k])) {
      ip4[k++] = m;
    }
  }
  if (k == 0) return;

  rte_lpm_lookup_bulk(ctx->fib->lpm(), dst, hop, k);
  if (unlikely(ctx->ipsec->active())) {
    k = IpsecFilter(w, in, ip4, dst, hop, k, decapsulated);
    if (k == 0) return;
  }
  const NhEntry* nht = ctx->fib->nh_table();
  uint32_t def = __atomic_load_n(ctx->fib->default_nh(), __ATOMIC_ACQUIRE);

  // Forwarded packets wait here (with their egress port) for one TX call per port run.
  rte_mbuf* out[kChunk];
  uint16_t outp[kChunk];
  unsigned f = 0;
  Run run;
  for (unsigned i = 0; i < k; ++i) {
    rte_mbuf* m = ip4[i];
    auto* eth = rte_pktmbuf_mtod(m, uint8_t*);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + sizeof(rte_ether_hdr));
    if (likely(hop[i] == run.hop) && likely(ip->time_to_live > 1) &&
        likely(rte_be_to_cpu_16(ip->total_length) <= run.mtu)) {
      DecrementTtl(ip);
      NeighCache::Write(eth, &run.neigh);
      outp[f] = run.port;
      out[f++] = m;
      continue;
    }
    if (ForwardOne(w, m, hop[i], dst[i], nht, def, run)) {
      outp[f] = run.port;
      out[f++] = m;
    }
  }
  if (f == 0) return;
  c[shm::kCtr_forwarded] += f;
  uint64_t sent = 0;
  for (unsigned i = 0; i < f;) {
    unsigned j = i + 1;
    while (j < f && outp[j] == outp[i]) ++j;
    sent += TxBulk(w, outp[i], out + i, j - i);
    i = j;
  }
  c[shm::kCtr_tx_packets] += sent;
}

int WorkerMain(void* arg) {
  Context* ctx = g_ctx;
  Worker w{};
  w.ctx = ctx;
  w.idx = static_cast<unsigned>(reinterpret_cast<uintptr_t>(arg));
  w.queue = static_cast<uint16_t>(w.idx);
  w.st = &ctx->stats->worker[w.idx];
  w.c = w.st->counters;
  w.st->lcore = rte_lcore_id();
  w.icmp_tokens = kIcmpBurst;
  w.icmp_last_tsc = rte_rdtsc();
  w.icmp_tsc_per_token = rte_get_tsc_hz() / kIcmpPerSecond;
  w.reset_seen = __atomic_load_n(&ctx->reset_gen, __ATOMIC_ACQUIRE);
  w.neigh_gen = __atomic_load_n(&ctx->neigh_gen, __ATOMIC_ACQUIRE);
  w.ncache.Clear();
  for (unsigned p = 0; p < RTE_MAX_ETHPORTS; ++p) w.mac48[p] = Mac48(ctx->port_mac[p]);
  for (unsigned p = 0; p < ctx->n_ports; ++p) {
    uint16_t pid = ctx->port_ids[p];
    w.txb[pid] = static_cast<rte_eth_dev_tx_buffer*>(rte_zmalloc_socket(
        "arsec_txb", RTE_ETH_TX_BUFFER_SIZE(ctx->burst), 0, rte_eth_dev_socket_id(pid)));
    if (w.txb[pid] == nullptr) return -1;
    rte_eth_tx_buffer_init(w.txb[pid], ctx->burst);
    rte_eth_tx_buffer_set_err_callback(w.txb[pid], TxDropped, w.c);
  }
  if (!IpsecWorkerInit(w)) {
    // Start-up, not the packet path: say why and stop the process rather than run a
    // worker short of its IPsec state.
    std::fprintf(stderr, "arsec-dataplane: worker %u: no memory for its IPsec state\n", w.idx);
    __atomic_store_n(&ctx->quit, 1, __ATOMIC_RELEASE);
    return -1;
  }
  rte_rcu_qsbr_thread_register(ctx->rcu, w.idx);
  rte_rcu_qsbr_thread_online(ctx->rcu, w.idx);
  __atomic_store_n(&w.st->active, 1u, __ATOMIC_RELEASE);

  const unsigned burst = ctx->burst;
  const unsigned n_ports = ctx->n_ports;
  const bool drains_handoff = w.idx == 0;
  rte_mbuf* pkts[256];
  unsigned idle_streak = 0;

  // One TSC read per poll: a poll's cycles run from the end of the previous poll to the
  // end of this one (RX, processing, TX flush and the loop's bookkeeping).
  uint64_t t_prev = rte_rdtsc();
  while (!__atomic_load_n(&ctx->quit, __ATOMIC_RELAXED)) {
    uint32_t ng = __atomic_load_n(&ctx->neigh_gen, __ATOMIC_ACQUIRE);
    if (unlikely(ng != w.neigh_gen)) {
      w.neigh_gen = ng;
      w.ncache.Clear();
    }
    if (drains_handoff) {
      // Frames the main lcore made (ARP requests, packets that waited for ARP) leave
      // through worker 0, so no port needs a transmit queue for the main lcore. They go
      // before this poll's RX: a packet that waited for a neighbour must not be overtaken
      // by a later one that found the neighbour published.
      unsigned h = rte_ring_sc_dequeue_burst(ctx->handoff, reinterpret_cast<void**>(pkts),
                                             burst, nullptr);
      for (unsigned i = 0; i < h; ++i) Tx(w, pkts[i]->port, pkts[i]);
    }
    unsigned total = 0;
    for (unsigned p = 0; p < n_ports; ++p) {
      uint16_t pid = ctx->port_ids[p];
      uint16_t n = rte_eth_rx_burst(pid, w.queue, pkts, static_cast<uint16_t>(burst));
      if (n == 0) continue;
      total += n;
      for (unsigned off = 0; off < n; off += kChunk) {
        unsigned cn = n - off < kChunk ? n - off : kChunk;
        ProcessChunk(w, pid, pkts + off, cn, false);
      }
    }
    for (unsigned p = 0; p < n_ports; ++p) {
      uint16_t pid = ctx->port_ids[p];
      w.c[shm::kCtr_tx_packets] += rte_eth_tx_buffer_flush(pid, w.queue, w.txb[pid]);
    }
    IpsecPoll(w);
    rte_rcu_qsbr_quiescent(ctx->rcu, w.idx);
    uint64_t t_now = rte_rdtsc();
    uint64_t dt = t_now - t_prev;
    t_prev = t_now;
    if (total) {
      idle_streak = 0;
      w.c[shm::kCtr_rx_packets] += total;
      w.st->busy_cycles += dt;
      w.st->busy_polls++;
      w.st->vectors += total;
    } else {
      w.st->idle_polls++;
      // An idle worker lets other threads pinned to its core run (test machines and
      // small appliances share cores); under load the streak never builds up, so the
      // packet path makes no syscall.
      if (++idle_streak >= kIdleYieldAfter) {
        sched_yield();
        t_prev = rte_rdtsc();  // time given away is nobody's busy time
      }
    }
    uint32_t g = __atomic_load_n(&ctx->reset_gen, __ATOMIC_RELAXED);
    if (unlikely(g != w.reset_seen)) {
      // Only the owner writes its block, so only the owner zeroes it.
      w.reset_seen = g;
      for (unsigned i = 0; i < shm::kNumCounters; ++i) w.c[i] = 0;
      w.st->busy_cycles = w.st->busy_polls = w.st->idle_polls = w.st->vectors = 0;
    }
  }
  rte_rcu_qsbr_thread_offline(ctx->rcu, w.idx);
  rte_rcu_qsbr_thread_unregister(ctx->rcu, w.idx);
  for (unsigned p = 0; p < n_ports; ++p) {
    uint16_t pid = ctx->port_ids[p];
    rte_eth_tx_buffer_flush(pid, w.queue, w.txb[pid]);
    rte_free(w.txb[pid]);
  }
  IpsecWorkerFini(w);
  __atomic_store_n(&w.st->active, 0u, __ATOMIC_RELEASE);
  return 0;
}

}  // namespace arsec::dp
