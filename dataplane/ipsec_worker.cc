#include "dataplane/ipsec_worker.h"

#include <rte_byteorder.h>
#include <rte_lpm.h>
#include <rte_malloc.h>
#include <rte_pause.h>
#include <rte_prefetch.h>
#include <rte_udp.h>

#include <cstring>

#include "dataplane/ipsec/ah.h"
#include "dataplane/ipsec/esp.h"
#include "dataplane/ipsec/ipcomp_stage.h"
#include "dataplane/ipsec/spd.h"
#include "dataplane/worker.h"

namespace arsec::dp {
namespace {

using crypto::CryptoOp;

constexpr uint16_t kNatTPortBe = RTE_BE16(4500);

// Bytes a bundle adds at most (for the DF / MTU decision before encapsulation).
unsigned Overhead(Sa* const* sas, unsigned n) {
  unsigned o = 0;
  for (unsigned j = 0; j < n; ++j) {
    const Sa& s = *sas[j];
    if (s.mode == SaMode::kTunnel) o += 20;
    if (s.proto == kProtoEsp) {
      o += 8 + s.iv_len + s.block_len + 2 + s.digest_len;
      if (s.encap != SaEncap::kNone) o += 8;
    } else if (s.proto == kProtoAh) {
      o += (12 + s.digest_len + 3) & ~3u;
    } else {
      o += 4;  // IPComp header when compression does not pay (RFC 3173: then none at all)
    }
  }
  return o;
}

// The SPD key of an IPv4 packet at ip (ports only for TCP/UDP first fragments).
inline void KeyOf(const rte_ipv4_hdr* ip, uint32_t len, SpdKey* k) {
  uint16_t sp = 0, dp = 0;
  const uint8_t proto = ip->next_proto_id;
  const unsigned ihl = (ip->version_ihl & 0xf) * 4u;
  if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP) && ihl + 4 <= len &&
      (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK)) == 0) {
    const auto* l4 = reinterpret_cast<const uint16_t*>(reinterpret_cast<const uint8_t*>(ip) + ihl);
    sp = l4[0];
    dp = l4[1];
  }
  SpdKeyFill(k, proto, ip->src_addr, ip->dst_addr, sp, dp);
}

inline bool IsIpsecInput(const rte_ipv4_hdr* ip, uint32_t len, uint16_t udp_port_be) {
  const uint8_t p = ip->next_proto_id;
  if (p == kProtoEsp || p == kProtoAh || p == kProtoComp || p == kProtoIpip) return true;
  if (p != IPPROTO_UDP) return false;
  const unsigned ihl = (ip->version_ihl & 0xf) * 4u;
  if (ihl + sizeof(rte_udp_hdr) > len) return false;
  const auto* u = reinterpret_cast<const rte_udp_hdr*>(reinterpret_cast<const uint8_t*>(ip) + ihl);
  return u->dst_port == kNatTPortBe || u->dst_port == udp_port_be;
}

// A reassembled UDP datagram (Ethernet frame, possibly a chain whose first segment holds
// the headers) to the IKE ports: 500, or 4500 carrying the non-ESP marker (RFC 3948 2.2).
bool IsIkeDatagram(const rte_mbuf* m, const rte_ipv4_hdr* ip) {
  const unsigned ihl = (ip->version_ihl & 0xf) * 4u;
  const uint32_t off = sizeof(rte_ether_hdr) + ihl;
  if (rte_pktmbuf_data_len(m) < off + sizeof(rte_udp_hdr)) return false;
  const auto* u = reinterpret_cast<const rte_udp_hdr*>(reinterpret_cast<const uint8_t*>(ip) + ihl);
  if (u->dst_port == RTE_BE16(500)) return true;
  if (u->dst_port != kNatTPortBe) return false;
  uint32_t marker = 1;
  const void* mk = rte_pktmbuf_read(m, off + sizeof(rte_udp_hdr), 4, &marker);
  return mk != nullptr && std::memcmp(mk, "\0\0\0\0", 4) == 0;
}

// Maps a stage verdict to its drop counter.
shm::Counter VerdictCounter(StageVerdict v) {
  switch (v) {
    case StageVerdict::kBadLength: return shm::kCtr_ipsec_drop_bad_len;
    case StageVerdict::kBadTrailer: return shm::kCtr_ipsec_drop_bad_pad;
    case StageVerdict::kAuthFailed: return shm::kCtr_ipsec_drop_auth;
    case StageVerdict::kBadInner: return shm::kCtr_ipsec_drop_bad_inner;
    case StageVerdict::kNoRoom: return shm::kCtr_ipsec_drop_no_room;
    case StageVerdict::kCryptoError: return shm::kCtr_ipsec_drop_crypto;
    case StageVerdict::kBadCpi:
    case StageVerdict::kDecompressFailed: return shm::kCtr_ipsec_drop_comp;
    case StageVerdict::kBadHeader: return shm::kCtr_ipsec_drop_bad_len;
    default: return shm::kCtr_ipsec_drop_bad_inner;
  }
}
shm::SaCounter VerdictSaCounter(StageVerdict v) {
  switch (v) {
    case StageVerdict::kBadLength:
    case StageVerdict::kBadHeader: return shm::kSa_drop_len;
    case StageVerdict::kBadTrailer: return shm::kSa_drop_pad;
    case StageVerdict::kAuthFailed: return shm::kSa_drop_auth;
    default: return shm::kSa_drop_other;
  }
}

inline void DropSa(Worker& w, rte_mbuf* m, const Sa* sa, StageVerdict v) {
  w.c[VerdictCounter(v)]++;
  if (sa != nullptr) w.ipsec.sac[sa->sa_id].c[VerdictSaCounter(v)]++;
  rte_pktmbuf_free(m);
}

// The inbound SPD of `in` for one packet to the gateway (an Ethernet frame, headers in
// the first segment): true when it may pass; otherwise it is dropped and counted.
bool LocalInboundPermitted(Worker& w, uint16_t in, rte_mbuf* m, const rte_ipv4_hdr* ip) {
  const SpdTable* spd = w.ctx->ipsec->spd();
  if (spd == nullptr || !spd->HasSpd(in)) return true;
  SpdKey key;
  KeyOf(ip, rte_pktmbuf_data_len(m) - sizeof(rte_ether_hdr), &key);
  const uint8_t* kp = reinterpret_cast<const uint8_t*>(&key);
  uint32_t r = 0;
  spd->Classify(in, SpdDir::kInbound, &kp, 1, &r);
  const SpdAction a = SpdResultAction(r);
  if (a == SpdAction::kPermit) return true;
  const uint32_t pid = SpdResultPolicy(r);
  if (a == SpdAction::kDeny) {
    if (pid == kSpdPolicyImplicitDeny) {
      Drop(w, m, shm::kCtr_ipsec_spd_implicit_deny);
    } else {
      w.ipsec.polc[pid].c[shm::kPol_denied]++;
      Drop(w, m, shm::kCtr_ipsec_spd_deny);
    }
  } else {
    w.ipsec.polc[pid].c[shm::kPol_in_mismatch]++;
    Drop(w, m, shm::kCtr_ipsec_drop_clear);
  }
  return false;
}

// POLICY DEBUG=PACKET: a copy of the packet's first bytes (data at its IPv4 header) goes
// to the main lcore, which turns it into an event for arsec-control. At most
// kDebugPerSecond per worker, so debugging a busy policy cannot swamp anything.
constexpr uint64_t kDebugPerSecond = 50;
void DebugCopy(Worker& w, const rte_mbuf* m, const PolicyRt* p, uint32_t sa_id, bool outbound,
               bool post) {
  if (p == nullptr || (p->debug & msg::kPolicyDebugPacket) == 0) return;
  const uint64_t now = rte_rdtsc();
  if (now - w.ipsec.debug_tsc > rte_get_tsc_hz()) {
    w.ipsec.debug_tsc = now;
    w.ipsec.debug_left = kDebugPerSecond;
  }
  if (w.ipsec.debug_left == 0) return;
  --w.ipsec.debug_left;
  const uint32_t len = rte_pktmbuf_pkt_len(m);
  rte_mbuf* c = rte_pktmbuf_copy(m, w.ctx->pool, 0, len < msg::kDebugBytes ? len : msg::kDebugBytes);
  if (c == nullptr) return;
  SlowMeta* meta = Meta(c, w.ctx->meta_off);
  meta->aux = sa_id;
  meta->flags = static_cast<uint8_t>((outbound ? 1 : 0) | (post ? 2 : 0));
  ToSlow(w, c, kSlowDebug, p->policy_id);
}

// KEYMAN=ISAKMP policy without a usable outbound SA: whether this worker may ask for one
// (an acquire) now. At most one per policy per second from each worker; policies that
// share a slot of the small table only make a few more, which the main lcore's per-policy
// limit absorbs.
inline bool AcquireDue(Worker& w, uint32_t policy_id) {
  Worker::AcquireSlot& s = w.acquire[policy_id % Worker::kAcquireSlots];
  const uint64_t now = rte_rdtsc();
  if (s.policy_id == policy_id && s.tsc != 0 && now - s.tsc < rte_get_tsc_hz()) return false;
  s.policy_id = policy_id;
  s.tsc = now;
  return true;
}

// Runs n prepared ops through the worker's engine and waits for all of them: a
// synchronous engine finishes inside Enqueue; an asynchronous one (a cryptodev) is polled
// until every op has come back, since the ops and their scratch live on this stack frame
// and the device may write them until it returns them.
void RunCrypto(Worker& w, CryptoOp* ops, unsigned n) {
  if (n == 0) return;
  crypto::CryptoEngine* e = w.ipsec.engine;
  CryptoOp* ptr[kChunk];
  for (unsigned i = 0; i < n; ++i) ptr[i] = &ops[i];
  unsigned accepted = 0, done = 0;
  CryptoOp* out[kChunk];
  while (done < n) {
    if (accepted < n) {
      accepted += e->Enqueue(ptr + accepted, static_cast<uint16_t>(n - accepted));
    }
    unsigned d = e->Dequeue(out, kChunk);
    done += d;
    if (d == 0) rte_pause();
  }
}

// Sends finished outer packets (data at their IPv4 header) toward their destinations:
// route, MTU (fragmenting when allowed), neighbour, Ethernet header, TX. Consecutive
// packets to one destination (one tunnel) take the first one's route and neighbour, and
// leave in one TX call per run.
void SendOuter(Worker& w, rte_mbuf** ms, unsigned n) {
  Context* ctx = w.ctx;
  uint32_t run_dst = 0;
  bool run_ok = false;
  uint16_t run_port = 0, run_mtu = 0;
  NeighCache::Entry run_neigh{};
  rte_mbuf* out[kChunk];
  unsigned nout = 0;
  auto flush = [&] {
    if (nout != 0) w.c[shm::kCtr_tx_packets] += TxBulk(w, run_port, out, nout);
    nout = 0;
  };
  for (unsigned i = 0; i < n; ++i) {
    rte_mbuf* m = ms[i];
    auto* ip = rte_pktmbuf_mtod(m, rte_ipv4_hdr*);
    const uint32_t dst_be = ip->dst_addr;
    if (!run_ok || dst_be != run_dst) {
      flush();
      run_ok = false;
      run_dst = dst_be;
      const uint32_t dst = rte_be_to_cpu_32(dst_be);
      uint32_t idx = 0;
      if (rte_lpm_lookup(ctx->fib->lpm(), dst, &idx) != 0) {
        idx = __atomic_load_n(ctx->fib->default_nh(), __ATOMIC_ACQUIRE);
      }
      if (unlikely(idx == 0)) {
        Drop(w, m, shm::kCtr_drop_no_route);
        continue;
      }
      const NhEntry nh = ctx->fib->nh_table()[idx];
      if (unlikely(nh.type == static_cast<uint8_t>(NhType::kLocal))) {
        Drop(w, m, shm::kCtr_drop_unhandled_local);
        continue;
      }
      run_port = nh.port;
      run_mtu = ctx->port_mtu[nh.port];
      const uint64_t key = NeighKey(nh.port, nh.gw ? nh.gw : dst);
      const NeighCache::Entry* e = Resolve(w, key, nh.port);
      if (unlikely(e == nullptr)) {
        // Unknown neighbour: this packet waits on the main lcore (which resolves it);
        // the next ones look again.
        auto* eth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_prepend(m, sizeof(rte_ether_hdr)));
        if (unlikely(eth == nullptr)) {
          Drop(w, m, shm::kCtr_ipsec_drop_no_room);
          continue;
        }
        eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
        eth->src_addr = ctx->port_mac[nh.port];
        w.c[shm::kCtr_neigh_miss]++;
        m->port = nh.port;
        if (rte_pktmbuf_pkt_len(m) - sizeof(rte_ether_hdr) > run_mtu) {
          rte_pktmbuf_adj(m, sizeof(rte_ether_hdr));
          Drop(w, m, shm::kCtr_drop_too_big);  // rare: unresolved and oversized
          continue;
        }
        ToSlow(w, m, kSlowMiss, static_cast<uint32_t>(key));
        continue;
      }
      run_neigh = *e;
      run_ok = true;
    }
    rte_mbuf* frags[8];
    int nf = 1;
    frags[0] = m;
    if (unlikely(rte_pktmbuf_pkt_len(m) > run_mtu)) {
      if (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG)) {
        Drop(w, m, shm::kCtr_drop_too_big);
        continue;
      }
      nf = rte_ipv4_fragment_packet(m, frags, 8, run_mtu, ctx->frag_direct, ctx->frag_indirect);
      rte_pktmbuf_free(m);
      if (nf < 0) {
        w.c[shm::kCtr_ipsec_drop_frag]++;
        continue;
      }
      w.c[shm::kCtr_ipsec_fragments_out] += static_cast<unsigned>(nf);
    }
    for (int f = 0; f < nf; ++f) {
      rte_mbuf* x = frags[f];
      if (unlikely(x->nb_segs > 1 && rte_pktmbuf_linearize(x) != 0)) {
        Drop(w, x, shm::kCtr_ipsec_drop_frag);
        continue;
      }
      auto* eth = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(x, sizeof(rte_ether_hdr)));
      if (unlikely(eth == nullptr)) {
        Drop(w, x, shm::kCtr_ipsec_drop_no_room);
        continue;
      }
      NeighCache::Write(eth, &run_neigh);
      const uint16_t et = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
      std::memcpy(eth + 12, &et, 2);
      if (nout == kChunk) flush();
      out[nout++] = x;
    }
  }
  flush();
}

// Applies each packet's outbound bundle. pkts are Ethernet frames (m->port: arrival
// port), pol: the SPD's policy ids.
void IpsecOutput(Worker& w, rte_mbuf** pkts, const uint32_t* pol, unsigned n) {
  Context* ctx = w.ctx;
  IpsecTables* t = ctx->ipsec.get();
  rte_mbuf* ms[kChunk];
  Sa* sas[kChunk][msg::kMaxBundle];
  uint8_t nsa[kChunk];
  uint32_t ilen[kChunk];
  const PolicyRt* pols[kChunk];
  unsigned k = 0;
  // With many SAs each packet of a burst may need a different policy, SA and key
  // schedule, none of them in cache: fetch them for the whole burst in passes (policy
  // objects, then SAs, then key schedules and counters), so the misses overlap instead
  // of stalling packet by packet. Consecutive packets of one policy (one flow, one
  // tunnel) share the first one's lookups.
  const PolicyRt* pp[kChunk];
  {
    uint32_t prev = ~0u;
    for (unsigned i = 0; i < n; ++i) {
      if (pol[i] == prev) continue;
      prev = pol[i];
      rte_prefetch0(t->policy(pol[i]));
    }
    const PolicyRt* q = nullptr;
    prev = ~0u;
    for (unsigned i = 0; i < n; ++i) {
      if (pol[i] != prev) {
        prev = pol[i];
        q = t->policy(pol[i]);
        if (q != nullptr) {
          for (unsigned j = 0; j < q->n_out && j < msg::kMaxBundle; ++j) {
            Sa* s = t->sa(q->out_sa[j]);
            rte_prefetch0(s);
            rte_prefetch0(reinterpret_cast<const uint8_t*>(s) + 64);
          }
        }
      }
      pp[i] = q;
    }
    prev = ~0u;
    for (unsigned i = 0; i < n; ++i) {
      if (pol[i] == prev || pp[i] == nullptr) continue;
      prev = pol[i];
      for (unsigned j = 0; j < pp[i]->n_out && j < msg::kMaxBundle; ++j) {
        const Sa* s = t->sa(pp[i]->out_sa[j]);
        if (s == nullptr) continue;
        const auto* b = reinterpret_cast<const uint8_t*>(s->session);
        for (unsigned l = 0; l < s->session_lines; ++l) rte_prefetch0(b + 64 * l);
        rte_prefetch0(&w.ipsec.sac[s->sa_id]);
      }
      rte_prefetch0(&w.ipsec.polc[pp[i]->policy_id]);
    }
  }
  uint32_t last_pid = ~0u;
  const PolicyRt* p = nullptr;
  Sa* psas[msg::kMaxBundle] = {};
  bool pok = false;
  for (unsigned i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    if (pol[i] != last_pid) {
      last_pid = pol[i];
      p = pp[i];
      pok = p != nullptr && p->n_out != 0;
      for (unsigned j = 0; pok && j < p->n_out; ++j) {
        Sa* s = t->sa(p->out_sa[j]);
        pok = s != nullptr && !s->inbound &&
              __atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != static_cast<uint8_t>(SaState::kExpired);
        psas[j] = s;
      }
    }
    if (unlikely(!pok)) {
      if (p != nullptr) w.ipsec.polc[p->policy_id].c[shm::kPol_no_sa]++;
      if (p != nullptr && p->isakmp && AcquireDue(w, p->policy_id)) {
        // The packet is dropped all the same; it travels to the main lcore only to
        // name the traffic in the acquire event.
        w.c[shm::kCtr_ipsec_drop_no_sa]++;
        ToSlow(w, m, kSlowAcquire, p->policy_id);
        continue;
      }
      Drop(w, m, shm::kCtr_ipsec_drop_no_sa);
      continue;
    }
    for (unsigned j = 0; j < msg::kMaxBundle; ++j) sas[k][j] = psas[j];
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(rte_pktmbuf_mtod(m, uint8_t*) + sizeof(rte_ether_hdr));
    if (unlikely(ip->time_to_live <= 1)) {
      IcmpError(w, m, kIcmpTimeExceeded, 0, 0);
      Drop(w, m, shm::kCtr_drop_ttl);
      continue;
    }
    const uint32_t len = rte_be_to_cpu_16(ip->total_length);
    if (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG)) {
      // RFC 4301 section 8.2: the sender learns the MTU left inside the tunnel.
      const Sa& outer = *sas[k][0];
      uint32_t odst = outer.mode == SaMode::kTunnel ? rte_be_to_cpu_32(outer.tun_dst_be)
                                                     : rte_be_to_cpu_32(ip->dst_addr);
      uint32_t hop = 0;
      uint16_t mtu = 0;
      if (rte_lpm_lookup(ctx->fib->lpm(), odst, &hop) == 0) {
        mtu = ctx->port_mtu[ctx->fib->nh_table()[hop].port];
      }
      const unsigned ovh = Overhead(sas[k], p->n_out);
      if (mtu != 0 && len + ovh > mtu) {
        IcmpError(w, m, kIcmpDestUnreach, 4, mtu > ovh ? mtu - ovh : 68);
        Drop(w, m, shm::kCtr_drop_too_big);
        continue;
      }
    }
    DecrementTtl(ip);
    rte_pktmbuf_adj(m, sizeof(rte_ether_hdr));
    if (unlikely(p->debug != 0)) DebugCopy(w, m, p, sas[k][p->n_out - 1]->sa_id, true, false);
    ms[k] = m;
    nsa[k] = p->n_out;
    ilen[k] = len;
    pols[k] = p;
    ++k;
  }
  if (k == 0) return;

  alignas(64) CryptoOp ops[kChunk];
  OpScratch sc[kChunk];
  uint8_t opi[kChunk];
  unsigned depth = 0;
  for (unsigned i = 0; i < k; ++i) depth = nsa[i] > depth ? nsa[i] : depth;
  for (unsigned j = 0; j < depth; ++j) {
    unsigned nops = 0;
    for (unsigned i = 0; i < k; ++i) {
      rte_mbuf* m = ms[i];
      if (m == nullptr || j >= nsa[i]) continue;
      Sa* s = sas[i][j];
      StageVerdict v;
      if (s->proto == kProtoComp) {
        v = IpcompOutbound(*s, m, *w.ipsec.ipcomp, w.ipsec.ip_id++, w.ipsec.comp_buf, kCompBufLen);
        if (v == StageVerdict::kNotCompressed) {
          w.c[shm::kCtr_ipsec_comp_uncompressed]++;
          v = StageVerdict::kOk;
        }
        if (v != StageVerdict::kOk) {
          DropSa(w, m, s, v);
          ms[i] = nullptr;
        }
        continue;
      }
      // One worker: the SA's counter is its own. Several: packets of one SA may reach
      // more than one of them (RSS hashes the inner flow), so the number is reserved
      // atomically.
      SeqAlloc a = ctx->n_workers == 1 ? s->seq.Next() : s->seq.ReserveShared(1);
      if (unlikely(a.count == 0)) {
        w.c[shm::kCtr_ipsec_drop_seq_overflow]++;
        w.ipsec.sac[s->sa_id].c[shm::kSa_drop_other]++;
        rte_pktmbuf_free(m);
        ms[i] = nullptr;
        continue;
      }
      v = s->proto == kProtoEsp
              ? EspOutboundPrepare(*s, m, a.first, *w.ipsec.iv, w.ipsec.ip_id++, &ops[nops], &sc[nops])
              : AhOutboundPrepare(*s, m, a.first, w.ipsec.ip_id++, &ops[nops], &sc[nops]);
      if (unlikely(v != StageVerdict::kOk)) {
        DropSa(w, m, s, v);
        ms[i] = nullptr;
        continue;
      }
      opi[nops++] = static_cast<uint8_t>(i);
    }
    RunCrypto(w, ops, nops);
    for (unsigned o = 0; o < nops; ++o) {
      const unsigned i = opi[o];
      Sa* s = sas[i][j];
      StageVerdict v = s->proto == kProtoEsp ? EspOutboundFinish(*s, ms[i], &ops[o], &sc[o])
                                             : AhOutboundFinish(*s, ms[i], &ops[o], &sc[o]);
      if (unlikely(v != StageVerdict::kOk)) {
        DropSa(w, ms[i], s, v);
        ms[i] = nullptr;
      }
    }
  }
  unsigned q = 0;
  for (unsigned i = 0; i < k; ++i) {
    rte_mbuf* m = ms[i];
    if (m == nullptr) continue;
    for (unsigned j = 0; j < nsa[i]; ++j) {
      shm::SaCounters& sc2 = w.ipsec.sac[sas[i][j]->sa_id];
      sc2.c[shm::kSa_packets]++;
      sc2.c[shm::kSa_bytes] += ilen[i];
    }
    shm::PolicyCounters& pc = w.ipsec.polc[pols[i]->policy_id];
    pc.c[shm::kPol_out_packets]++;
    pc.c[shm::kPol_out_bytes] += ilen[i];
    if (unlikely(pols[i]->debug != 0)) {
      DebugCopy(w, m, pols[i], sas[i][nsa[i] - 1]->sa_id, true, true);
    }
    ms[q++] = m;
  }
  w.c[shm::kCtr_ipsec_out_packets] += q;
  SendOuter(w, ms, q);
}

// One more layer of a bundle, inside the one just removed: synchronous (one op), since
// nested bundles are rare next to single SAs.
StageVerdict PeelOne(Worker& w, Sa* s, rte_mbuf* m, uint8_t* next_proto) {
  if (s->proto == kProtoComp) {
    StageVerdict v = IpcompInbound(*s, m, *w.ipsec.ipcomp, w.ipsec.comp_buf, kCompBufLen, next_proto);
    return v == StageVerdict::kNotCompressed ? StageVerdict::kOk : v;
  }
  uint32_t spi_be = 0, seq_low = 0;
  bool parsed = s->proto == kProtoEsp ? EspParse(m, &spi_be, &seq_low) : AhParse(m, &spi_be, &seq_low);
  if (!parsed) return StageVerdict::kBadLength;
  if (spi_be != s->spi_be) return StageVerdict::kBadHeader;
  ReplayCheck rc = s->replay.Check(seq_low);
  if (rc.verdict != ReplayVerdict::kOk) {
    w.c[shm::kCtr_ipsec_drop_replay]++;
    w.ipsec.sac[s->sa_id].c[shm::kSa_drop_replay]++;
    return StageVerdict::kDummy;  // counted here already
  }
  alignas(64) CryptoOp op;
  OpScratch sc;
  StageVerdict v = s->proto == kProtoEsp ? EspInboundPrepare(*s, m, rc.seq64, &op, &sc)
                                         : AhInboundPrepare(*s, m, rc.seq64, &op, &sc);
  if (v != StageVerdict::kOk) return v;
  RunCrypto(w, &op, 1);
  v = s->proto == kProtoEsp ? EspInboundFinish(*s, m, &op, &sc, next_proto)
                            : AhInboundFinish(*s, m, &op, &sc, next_proto);
  if (v != StageVerdict::kOk) return v;
  if (s->replay.Update(rc.seq64) != ReplayVerdict::kOk) {
    w.c[shm::kCtr_ipsec_drop_replay]++;
    w.ipsec.sac[s->sa_id].c[shm::kSa_drop_replay]++;
    return StageVerdict::kDummy;
  }
  return StageVerdict::kOk;
}

// IPsec input over packets (Ethernet frames to an own address) that arrived on `in`.
void IpsecInput(Worker& w, uint16_t in, rte_mbuf** pkts, unsigned n) {
  Context* ctx = w.ctx;
  IpsecTables* t = ctx->ipsec.get();
  if (unlikely(!t->enabled())) {
    for (unsigned i = 0; i < n; ++i) Drop(w, pkts[i], shm::kCtr_ipsec_drop_disabled);
    return;
  }
  const uint16_t udp_port_be = t->udp_port_be();
  rte_mbuf* ms[kChunk];
  uint64_t keys[kChunk];
  uint32_t seql[kChunk];
  unsigned k = 0;
  for (unsigned i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    rte_pktmbuf_adj(m, sizeof(rte_ether_hdr));
    auto* ip = rte_pktmbuf_mtod(m, rte_ipv4_hdr*);
    if (ip->next_proto_id == IPPROTO_UDP) {
      const unsigned ihl = (ip->version_ihl & 0xf) * 4u;
      const auto* u = reinterpret_cast<const rte_udp_hdr*>(reinterpret_cast<uint8_t*>(ip) + ihl);
      const bool seed_port = u->dst_port == udp_port_be;
      const uint32_t ulen = rte_pktmbuf_data_len(m) - ihl;
      StageVerdict v = UdpEncapStrip(m);
      if (v == StageVerdict::kKeepalive) {
        w.c[seed_port ? shm::kCtr_ipsec_heartbeats_in : shm::kCtr_ipsec_natt_keepalive_in]++;
        rte_pktmbuf_free(m);
        continue;
      }
      if (v == StageVerdict::kNonEsp) {  // IKE on 4500: the control plane's
        rte_pktmbuf_prepend(m, sizeof(rte_ether_hdr));
        w.c[shm::kCtr_punted]++;
        ToSlow(w, m, kSlowPunt, 0);
        continue;
      }
      if (v != StageVerdict::kOk) {
        // The seed's heartbeat: any short datagram to the ESP-over-UDP port.
        if (seed_port && ulen < sizeof(rte_udp_hdr) + 8) {
          w.c[shm::kCtr_ipsec_heartbeats_in]++;
          rte_pktmbuf_free(m);
        } else {
          Drop(w, m, shm::kCtr_ipsec_drop_bad_len);
        }
        continue;
      }
      ip = rte_pktmbuf_mtod(m, rte_ipv4_hdr*);
    }
    uint32_t spi_be = 0, seq = 0;
    const uint8_t proto = ip->next_proto_id;
    bool ok;
    if (proto == kProtoEsp) {
      ok = EspParse(m, &spi_be, &seq);
    } else if (proto == kProtoAh) {
      ok = AhParse(m, &spi_be, &seq);
    } else if (proto == kProtoIpip) {  // an IPComp tunnel's uncompressed packet
      ok = true;
      spi_be = ip->src_addr;
    } else {  // IPComp on its own: the CPI names the SA
      const unsigned ihl = (ip->version_ihl & 0xf) * 4u;
      ok = rte_pktmbuf_data_len(m) >= ihl + 4;
      if (ok) {
        const uint8_t* h = rte_pktmbuf_mtod(m, uint8_t*) + ihl;
        spi_be = rte_cpu_to_be_32(uint32_t{LoadBe16(h + 2)});
      }
    }
    if (unlikely(!ok)) {
      Drop(w, m, shm::kCtr_ipsec_drop_bad_len);
      continue;
    }
    keys[k] = SpiKey(spi_be, proto);
    seql[k] = seq;
    ms[k++] = m;
  }
  if (k == 0) return;
  // One SA's packets usually arrive back to back: look each distinct run up once.
  uint32_t ids[kChunk];
  {
    uint64_t uk[kChunk];
    uint8_t run_of[kChunk];
    unsigned u = 0;
    for (unsigned i = 0; i < k; ++i) {
      if (u == 0 || keys[i] != uk[u - 1]) uk[u++] = keys[i];
      run_of[i] = static_cast<uint8_t>(u - 1);
    }
    uint32_t uid[kChunk];
    t->LookupInbound(uk, u, uid);
    for (unsigned i = 0; i < k; ++i) ids[i] = uid[run_of[i]];
  }

  alignas(64) CryptoOp ops[kChunk];
  OpScratch sc[kChunk];
  uint8_t opi[kChunk];
  Sa* sas[kChunk];
  uint64_t seq64[kChunk];
  uint32_t ilen[kChunk];
  unsigned nops = 0;
  for (unsigned i = 0; i < k; ++i) {
    rte_mbuf* m = ms[i];
    Sa* s = ids[i] == msg::kNoSa ? nullptr : t->sa(ids[i]);
    auto* ip = rte_pktmbuf_mtod(m, rte_ipv4_hdr*);
    sas[i] = s;
    ilen[i] = rte_pktmbuf_pkt_len(m);
    if (unlikely(s == nullptr || !s->inbound ||
                 (s->tun_dst_be != 0 && s->mode == SaMode::kTunnel && ip->dst_addr != s->tun_dst_be))) {
      Drop(w, m, shm::kCtr_ipsec_drop_unknown_spi);
      ms[i] = nullptr;
      continue;
    }
    if (unlikely(__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) ==
                 static_cast<uint8_t>(SaState::kExpired))) {
      Drop(w, m, shm::kCtr_ipsec_drop_expired);
      ms[i] = nullptr;
      continue;
    }
    if (unlikely(s->policy_id < t->max_policies())) {
      const PolicyRt* dp = t->policy(s->policy_id);
      if (dp != nullptr && dp->debug != 0) DebugCopy(w, m, dp, s->sa_id, false, false);
    }
    if (s->proto == kProtoComp) continue;  // no crypto: peeled below
    ReplayCheck rc = s->replay.Check(seql[i]);
    if (unlikely(rc.verdict != ReplayVerdict::kOk)) {
      w.c[shm::kCtr_ipsec_drop_replay]++;
      w.ipsec.sac[s->sa_id].c[shm::kSa_drop_replay]++;
      rte_pktmbuf_free(m);
      ms[i] = nullptr;
      continue;
    }
    seq64[i] = rc.seq64;
    StageVerdict v = s->proto == kProtoEsp
                         ? EspInboundPrepare(*s, m, rc.seq64, &ops[nops], &sc[nops])
                         : AhInboundPrepare(*s, m, rc.seq64, &ops[nops], &sc[nops]);
    if (unlikely(v != StageVerdict::kOk)) {
      DropSa(w, m, s, v);
      ms[i] = nullptr;
      continue;
    }
    opi[nops++] = static_cast<uint8_t>(i);
  }
  RunCrypto(w, ops, nops);
  uint8_t next[kChunk];
  for (unsigned o = 0; o < nops; ++o) {
    const unsigned i = opi[o];
    Sa* s = sas[i];
    StageVerdict v = s->proto == kProtoEsp ? EspInboundFinish(*s, ms[i], &ops[o], &sc[o], &next[i])
                                           : AhInboundFinish(*s, ms[i], &ops[o], &sc[o], &next[i]);
    if (v == StageVerdict::kOk && s->replay.Update(seq64[i]) != ReplayVerdict::kOk) {
      w.c[shm::kCtr_ipsec_drop_replay]++;
      w.ipsec.sac[s->sa_id].c[shm::kSa_drop_replay]++;
      rte_pktmbuf_free(ms[i]);
      ms[i] = nullptr;
      continue;
    }
    if (unlikely(v != StageVerdict::kOk)) {
      if (v == StageVerdict::kDummy) {
        rte_pktmbuf_free(ms[i]);
      } else {
        DropSa(w, ms[i], s, v);
      }
      ms[i] = nullptr;
    }
  }

  const SpdTable* spd = t->spd();
  const bool check = spd != nullptr && spd->HasSpd(in);
  rte_mbuf* out[kChunk];
  Sa* inner_sa[kChunk];
  Sa* outer_sa[kChunk];
  const PolicyRt* pol_of[kChunk];
  uint32_t olen[kChunk];
  unsigned q = 0;
  for (unsigned i = 0; i < k; ++i) {
    rte_mbuf* m = ms[i];
    if (m == nullptr) continue;
    Sa* s = sas[i];
    const PolicyRt* p = t->policy(s->policy_id);
    // The rest of the bundle, inside out: in_sa lists the SAs in the order they were
    // applied, so the one just removed must be the last, and each inner one follows.
    if (s->proto == kProtoComp) {
      StageVerdict v = PeelOne(w, s, m, &next[i]);
      if (v != StageVerdict::kOk) {
        DropSa(w, m, s, v);
        continue;
      }
    }
    bool bad = false;
    if (p != nullptr && p->n_in > 1) {
      int j = -1;
      for (int x = 0; x < p->n_in; ++x) {
        if (p->in_sa[x] == s->sa_id) j = x;
      }
      if (j != p->n_in - 1) {
        bad = true;
      } else {
        while (j > 0) {
          Sa* nx = t->sa(p->in_sa[j - 1]);
          if (nx == nullptr) {
            bad = true;
            break;
          }
          if (nx->proto == kProtoComp && next[i] != kProtoComp &&
              !(nx->mode == SaMode::kTunnel && next[i] == kProtoIpip)) {
            --j;  // RFC 3173: a packet that did not shrink travels without IPComp
            continue;
          }
          if (nx->proto != next[i] && !(nx->proto == kProtoComp && next[i] == kProtoIpip)) {
            bad = true;
            break;
          }
          StageVerdict v = PeelOne(w, nx, m, &next[i]);
          if (v != StageVerdict::kOk) {
            if (v == StageVerdict::kDummy) {
              rte_pktmbuf_free(m);
            } else {
              DropSa(w, m, nx, v);
            }
            m = nullptr;
            break;
          }
          s = nx;
          --j;
        }
      }
    }
    if (m == nullptr) continue;
    if (bad) {
      Drop(w, m, shm::kCtr_ipsec_drop_bundle);
      continue;
    }
    if (unlikely(rte_pktmbuf_data_len(m) < sizeof(rte_ipv4_hdr))) {
      Drop(w, m, shm::kCtr_ipsec_drop_bad_inner);
      continue;
    }
    // Transport mode through a NAT (RFC 3948 section 3.1.2): the inner TCP/UDP checksum
    // still covers the peer's pre-NAT address.
    if (unlikely(sas[i]->encap != SaEncap::kNone) && sas[i]->mode == SaMode::kTransport &&
        s->mode == SaMode::kTransport) {
      NatTTransportFixChecksum(m);
    }
    out[q] = m;
    inner_sa[q] = s;
    outer_sa[q] = sas[i];
    pol_of[q] = p;
    olen[q] = ilen[i];
    ++q;
  }
  if (q == 0) return;

  // The inner packets must be ones their SA's policy protects (RFC 4301 section 5.2):
  // one classify call over the batch.
  uint32_t res[kChunk];
  if (check) {
    SpdKey keys2[kChunk];
    const uint8_t* kp[kChunk];
    for (unsigned i = 0; i < q; ++i) {
      KeyOf(rte_pktmbuf_mtod(out[i], rte_ipv4_hdr*), rte_pktmbuf_data_len(out[i]), &keys2[i]);
      kp[i] = reinterpret_cast<const uint8_t*>(&keys2[i]);
    }
    spd->Classify(in, SpdDir::kInbound, kp, q, res);
  }
  unsigned r = 0;
  for (unsigned i = 0; i < q; ++i) {
    rte_mbuf* m = out[i];
    const PolicyRt* p = pol_of[i];
    if (check && (SpdResultAction(res[i]) != SpdAction::kIpsec ||
                  SpdResultPolicy(res[i]) != inner_sa[i]->policy_id)) {
      w.ipsec.sac[inner_sa[i]->sa_id].c[shm::kSa_drop_policy]++;
      if (p != nullptr) w.ipsec.polc[p->policy_id].c[shm::kPol_in_mismatch]++;
      Drop(w, m, shm::kCtr_ipsec_drop_policy);
      continue;
    }
    shm::SaCounters& c = w.ipsec.sac[outer_sa[i]->sa_id];
    c.c[shm::kSa_packets]++;
    c.c[shm::kSa_bytes] += olen[i];
    if (p != nullptr) {
      w.ipsec.polc[p->policy_id].c[shm::kPol_in_packets]++;
      w.ipsec.polc[p->policy_id].c[shm::kPol_in_bytes] += rte_pktmbuf_pkt_len(m);
      if (unlikely(p->debug != 0)) DebugCopy(w, m, p, outer_sa[i]->sa_id, false, true);
    }
    auto* eth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_prepend(m, sizeof(rte_ether_hdr)));
    if (unlikely(eth == nullptr)) {
      Drop(w, m, shm::kCtr_ipsec_drop_no_room);
      continue;
    }
    eth->dst_addr = ctx->port_mac[in];
    eth->src_addr = ctx->port_mac[in];
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    m->port = in;
    out[r++] = m;
  }
  w.c[shm::kCtr_ipsec_in_packets] += r;
  q = r;
  if (q != 0) ProcessChunk(w, in, out, q, true);
}

}  // namespace

bool IpsecWorkerInit(Worker& w) {
  Context* ctx = w.ctx;
  IpsecWorker& x = w.ipsec;
  x.engine = ctx->engines[w.idx].get();
  auto iv = IvSource::Create();
  if (!iv.ok()) return false;
  x.iv_owned = std::move(*iv);
  x.iv = x.iv_owned.get();
  x.ipcomp_owned = std::make_unique<compress::IpcompContext>();
  if (!x.ipcomp_owned->ok()) return false;
  x.ipcomp = x.ipcomp_owned.get();
  x.comp_buf = static_cast<uint8_t*>(rte_malloc("arsec_comp", kCompBufLen, 64));
  if (x.comp_buf == nullptr) return false;
  const uint64_t hz = rte_get_tsc_hz();
  x.frag = rte_ip_frag_table_create(1024, 4, 4096, hz * 2 /* 2 s to complete */,
                                    static_cast<int>(rte_socket_id()));
  if (x.frag == nullptr) return false;
  x.sac = ctx->ipsec->sa_counters(w.idx);
  x.polc = ctx->ipsec->policy_counters(w.idx);
  x.ip_id = static_cast<uint16_t>(rte_rdtsc());
  return true;
}

void IpsecWorkerFini(Worker& w) {
  IpsecWorker& x = w.ipsec;
  if (x.frag != nullptr) {
    rte_ip_frag_free_death_row(&x.death_row, 0);
    rte_ip_frag_table_destroy(x.frag);
    x.frag = nullptr;
  }
  rte_free(x.comp_buf);
  x.comp_buf = nullptr;
  x.ipcomp_owned.reset();
  x.iv_owned.reset();
}

void IpsecPoll(Worker& w) {
  if (w.ipsec.death_row.cnt != 0) rte_ip_frag_free_death_row(&w.ipsec.death_row, 0);
}

unsigned IpsecFilter(Worker& w, uint16_t in, rte_mbuf** pkts, uint32_t* dst, uint32_t* hop,
                     unsigned n, bool decapsulated) {
  Context* ctx = w.ctx;
  IpsecTables* t = ctx->ipsec.get();
  const SpdTable* spd = t->spd();
  const NhEntry* nht = ctx->fib->nh_table();
  const uint32_t def = __atomic_load_n(ctx->fib->default_nh(), __ATOMIC_ACQUIRE);
  const uint16_t udp_port_be = t->udp_port_be();

  rte_mbuf* to_in[kChunk];
  unsigned nin = 0;
  rte_mbuf* to_out[kChunk];
  uint32_t out_pol[kChunk];
  unsigned nout = 0;
  uint16_t egress[kChunk];  // 0xffff: local or no route (no outbound SPD)
  SpdKey keys[kChunk];
  const uint8_t* kp[kChunk];
  uint32_t res[kChunk];
  bool keep[kChunk];

  unsigned k = 0;  // candidates for SPD checks, compacted
  for (unsigned i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(rte_pktmbuf_mtod(m, uint8_t*) + sizeof(rte_ether_hdr));
    const uint32_t len = rte_pktmbuf_data_len(m) - sizeof(rte_ether_hdr);
    const uint32_t idx = (hop[i] & RTE_LPM_LOOKUP_SUCCESS) ? (hop[i] & 0x00ffffff) : def;
    const bool local = idx != 0 && nht[idx].type == static_cast<uint8_t>(NhType::kLocal);
    if (local && !decapsulated) {
      // IPsec traffic to us is checked by its SA, not by the SPD: whole packets go to
      // IPsec input, fragments of ESP/AH/IPComp to reassembly first (a UDP fragment
      // cannot show its port until it is whole; IpsecLocalFragment sorts that out).
      const bool frag = (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK |
                                                                 RTE_IPV4_HDR_MF_FLAG)) != 0;
      const uint8_t pr = ip->next_proto_id;
      if (!frag && IsIpsecInput(ip, len, udp_port_be)) {
        to_in[nin++] = m;
        continue;
      }
      // UDP fragments too: IKE with certificates arrives fragmented, and the SPD needs
      // the whole datagram's ports (IpsecLocalFragment checks it once reassembled).
      if (frag && (pr == kProtoEsp || pr == kProtoAh || pr == kProtoComp || pr == IPPROTO_UDP) &&
          IpsecLocalFragment(w, in, m)) {
        continue;
      }
    }
    egress[k] = (idx != 0 && !local) ? nht[idx].port : 0xffff;
    KeyOf(ip, len, &keys[k]);
    kp[k] = reinterpret_cast<const uint8_t*>(&keys[k]);
    keep[k] = true;
    pkts[k] = m;
    dst[k] = dst[i];
    hop[k] = hop[i];
    ++k;
  }

  if (spd != nullptr && k != 0) {
    // (b) inbound SPD of the arrival interface, for clear traffic.
    if (!decapsulated && spd->HasSpd(in)) {
      spd->Classify(in, SpdDir::kInbound, kp, k, res);
      for (unsigned i = 0; i < k; ++i) {
        const SpdAction a = SpdResultAction(res[i]);
        if (a == SpdAction::kPermit) continue;
        keep[i] = false;
        const uint32_t pid = SpdResultPolicy(res[i]);
        if (a == SpdAction::kDeny) {
          if (pid == kSpdPolicyImplicitDeny) {
            Drop(w, pkts[i], shm::kCtr_ipsec_spd_implicit_deny);
          } else {
            w.ipsec.polc[pid].c[shm::kPol_denied]++;
            Drop(w, pkts[i], shm::kCtr_ipsec_spd_deny);
          }
        } else {
          w.ipsec.polc[pid].c[shm::kPol_in_mismatch]++;
          Drop(w, pkts[i], shm::kCtr_ipsec_drop_clear);
        }
      }
    }
    // (c) outbound SPD of the egress interface, one classify call per egress port.
    for (unsigned i = 0; i < k; ++i) {
      if (!keep[i] || egress[i] == 0xffff || !spd->HasSpd(egress[i])) continue;
      const uint16_t port = egress[i];
      const uint8_t* pk[kChunk];
      unsigned idx[kChunk];
      unsigned c = 0;
      for (unsigned x = i; x < k; ++x) {
        if (keep[x] && egress[x] == port) {
          pk[c] = kp[x];
          idx[c++] = x;
          egress[x] = 0xffff;  // done
        }
      }
      spd->Classify(port, SpdDir::kOutbound, pk, c, res);
      for (unsigned y = 0; y < c; ++y) {
        const unsigned x = idx[y];
        const SpdAction a = SpdResultAction(res[y]);
        const uint32_t pid = SpdResultPolicy(res[y]);
        if (a == SpdAction::kPermit) {
          if (pid < t->max_policies()) w.ipsec.polc[pid].c[shm::kPol_permitted]++;
          w.c[shm::kCtr_ipsec_spd_permit]++;
          continue;
        }
        keep[x] = false;
        if (a == SpdAction::kDeny) {
          if (pid == kSpdPolicyImplicitDeny) {
            Drop(w, pkts[x], shm::kCtr_ipsec_spd_implicit_deny);
          } else {
            w.ipsec.polc[pid].c[shm::kPol_denied]++;
            Drop(w, pkts[x], shm::kCtr_ipsec_spd_deny);
          }
        } else {
          to_out[nout] = pkts[x];
          out_pol[nout++] = pid;
        }
      }
    }
  }

  unsigned r = 0;
  for (unsigned i = 0; i < k; ++i) {
    if (!keep[i]) continue;
    pkts[r] = pkts[i];
    dst[r] = dst[i];
    hop[r] = hop[i];
    ++r;
  }
  if (nout != 0) IpsecOutput(w, to_out, out_pol, nout);
  if (nin != 0) IpsecInput(w, in, to_in, nin);
  return r;
}

bool IpsecLocalOut(Worker& w, rte_mbuf* m, uint16_t port) {
  IpsecTables* t = w.ctx->ipsec.get();
  if (!t->active()) return true;
  const SpdTable* spd = t->spd();
  if (spd == nullptr || !spd->HasSpd(port)) return true;
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(rte_pktmbuf_mtod(m, uint8_t*) + sizeof(rte_ether_hdr));
  SpdKey key;
  KeyOf(ip, rte_pktmbuf_data_len(m) - sizeof(rte_ether_hdr), &key);
  const uint8_t* kp = reinterpret_cast<const uint8_t*>(&key);
  uint32_t r = 0;
  spd->Classify(port, SpdDir::kOutbound, &kp, 1, &r);
  const SpdAction a = SpdResultAction(r);
  if (a == SpdAction::kPermit) return true;
  if (a == SpdAction::kDeny) {
    Drop(w, m, shm::kCtr_ipsec_spd_deny);
    return false;
  }
  const uint32_t pid = SpdResultPolicy(r);
  IpsecOutput(w, &m, &pid, 1);
  return false;
}

bool IpsecLocalFragment(Worker& w, uint16_t in, rte_mbuf* m) {
  IpsecTables* t = w.ctx->ipsec.get();
  if (!t->active()) return false;
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(rte_pktmbuf_mtod(m, uint8_t*) + sizeof(rte_ether_hdr));
  const uint8_t p = ip->next_proto_id;
  if (p != kProtoEsp && p != kProtoAh && p != IPPROTO_UDP) return false;
  m->l2_len = sizeof(rte_ether_hdr);
  m->l3_len = (ip->version_ihl & 0xf) * 4u;
  rte_mbuf* whole = rte_ipv4_frag_reassemble_packet(w.ipsec.frag, &w.ipsec.death_row, m,
                                                    rte_rdtsc(), ip);
  if (whole == nullptr) return true;  // kept until the rest arrives (or timed out)
  auto* wip = reinterpret_cast<rte_ipv4_hdr*>(rte_pktmbuf_mtod(whole, uint8_t*) + sizeof(rte_ether_hdr));
  wip->hdr_checksum = 0;
  wip->hdr_checksum = rte_ipv4_cksum(wip);
  w.c[shm::kCtr_ipsec_reassembled]++;
  if (p == IPPROTO_UDP && IsIkeDatagram(whole, wip)) {
    // IKE may be larger than one buffer: it goes to the control plane as the chain
    // reassembly made (the IKE ring carries chains). UDP 500 meets the inbound SPD like
    // a whole datagram would (the seed's PERMIT policy); 4500 is IPsec input, checked by
    // its SAs, as whole ones are.
    const unsigned ihl = (wip->version_ihl & 0xf) * 4u;
    const auto* u = reinterpret_cast<const rte_udp_hdr*>(reinterpret_cast<const uint8_t*>(wip) + ihl);
    if (u->dst_port != kNatTPortBe && !LocalInboundPermitted(w, in, whole, wip)) return true;
    w.c[shm::kCtr_punted]++;
    ToSlow(w, whole, kSlowPunt, 0);
    return true;
  }
  if (whole->nb_segs > 1 && rte_pktmbuf_linearize(whole) != 0) {
    Drop(w, whole, shm::kCtr_ipsec_drop_frag);
    return true;
  }
  wip = reinterpret_cast<rte_ipv4_hdr*>(rte_pktmbuf_mtod(whole, uint8_t*) + sizeof(rte_ether_hdr));
  if (p == IPPROTO_UDP && !IsIpsecInput(wip, rte_pktmbuf_data_len(whole) - sizeof(rte_ether_hdr),
                                        t->udp_port_be())) {
    Drop(w, whole, shm::kCtr_drop_fragment_local);
    return true;
  }
  IpsecInput(w, in, &whole, 1);
  return true;
}

}  // namespace arsec::dp
