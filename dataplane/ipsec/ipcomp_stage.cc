// IPComp stage on mbufs. See ipcomp_stage.h.
#include "dataplane/ipsec/ipcomp_stage.h"

#include <algorithm>
#include <cstring>

namespace arsec::dp {
namespace {

using compress::IpcompError;

StageVerdict MapError(IpcompError e) {
  switch (e) {
    case IpcompError::kOk: return StageVerdict::kOk;
    case IpcompError::kBadHeader: return StageVerdict::kBadHeader;
    case IpcompError::kUnknownCpi: return StageVerdict::kBadCpi;
    case IpcompError::kDecompressFailed: return StageVerdict::kDecompressFailed;
    case IpcompError::kTooBig: return StageVerdict::kNoRoom;
  }
  return StageVerdict::kDecompressFailed;
}

// Replaces everything from offset `keep` of m with src[0..n) (n may be longer than what
// is there; the caller checked the room).
void ReplaceTail(rte_mbuf* m, uint32_t keep, const uint8_t* src, uint32_t n) {
  const uint32_t len = rte_pktmbuf_data_len(m);
  if (keep + n > len) {
    MbufAppend(m, keep + n - len);
  } else {
    MbufTrim(m, len - keep - n);
  }
  std::memcpy(rte_pktmbuf_mtod(m, uint8_t*) + keep, src, n);
}

}  // namespace

StageVerdict IpcompOutbound(const Sa& sa, rte_mbuf* m, compress::IpcompContext& ctx,
                            uint16_t ip_id, uint8_t* scratch, size_t scratch_cap) {
  uint8_t* in = rte_pktmbuf_mtod(m, uint8_t*);
  const uint32_t len = rte_pktmbuf_data_len(m);
  if (sa.mode == SaMode::kTunnel) {
    if (len < 20) return StageVerdict::kBadInner;
    if (rte_pktmbuf_headroom(m) < 20 || len + 20 > 65535) return StageVerdict::kNoRoom;
    const auto r = ctx.Compress(sa.comp_alg, kProtoIpip, in, len, scratch, scratch_cap, sa.cpi);
    uint8_t* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, 20));
    if (!r.compressed()) {
      WriteOuterIpv4(p, sa, in, static_cast<uint16_t>(len + 20), kProtoIpip, ip_id);
      return StageVerdict::kNotCompressed;
    }
    // The outer header takes TOS/DF from the inner one, which the copy then overwrites.
    WriteOuterIpv4(p, sa, in, static_cast<uint16_t>(r.len + 20), kProtoComp, ip_id);
    ReplaceTail(m, 20, scratch, static_cast<uint32_t>(r.len));
    return StageVerdict::kOk;
  }
  const unsigned ihl = Ipv4HeaderLen(in, len);
  if (ihl == 0) return StageVerdict::kBadInner;
  const auto r = ctx.Compress(sa.comp_alg, in[9], in + ihl, len - ihl, scratch, scratch_cap,
                              sa.cpi);
  if (!r.compressed()) return StageVerdict::kNotCompressed;
  ReplaceTail(m, ihl, scratch, static_cast<uint32_t>(r.len));
  in[9] = kProtoComp;
  StoreBe16(in + 2, static_cast<uint16_t>(ihl + r.len));
  SetIpv4Cksum(in, ihl);
  return StageVerdict::kOk;
}

StageVerdict IpcompInbound(const Sa& sa, rte_mbuf* m, compress::IpcompContext& ctx,
                           uint8_t* scratch, size_t scratch_cap, uint8_t* next_proto) {
  unsigned ihl;
  uint32_t tl;
  if (!OuterIpv4(m, &ihl, &tl)) return StageVerdict::kBadLength;
  uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
  const bool tunnel = sa.mode == SaMode::kTunnel;
  const uint8_t proto = p[9];
  if (proto != kProtoComp) {
    if (!tunnel) {  // RFC 3173 section 2.2: compression is per packet, optional
      *next_proto = proto;
      return StageVerdict::kNotCompressed;
    }
    if (proto != kProtoIpip) return StageVerdict::kBadHeader;
    const uint32_t inner_len = CheckInnerIpv4(p + ihl, tl - ihl);
    if (inner_len == 0) return StageVerdict::kBadInner;
    rte_pktmbuf_adj(m, static_cast<uint16_t>(ihl));
    MbufTrim(m, tl - ihl - inner_len);
    *next_proto = kProtoIpip;
    return StageVerdict::kNotCompressed;
  }
  // What the mbuf can hold from its current data start, less what stays in front.
  const uint32_t keep = tunnel ? 0 : ihl;
  const size_t room = rte_pktmbuf_data_len(m) + rte_pktmbuf_tailroom(m) - keep;
  const size_t cap = std::min({scratch_cap, room, size_t{65535} - keep});
  const auto r = ctx.Decompress(sa.comp_alg, p + ihl, tl - ihl, scratch, cap, sa.cpi);
  if (r.error != IpcompError::kOk) return MapError(r.error);
  const uint32_t n = static_cast<uint32_t>(r.len);
  if (tunnel) {
    if (r.next_header != kProtoIpip) return StageVerdict::kBadInner;
    const uint32_t inner_len = CheckInnerIpv4(scratch, n);
    if (inner_len == 0) return StageVerdict::kBadInner;
    ReplaceTail(m, 0, scratch, inner_len);
  } else {
    ReplaceTail(m, ihl, scratch, n);
    p[9] = r.next_header;
    StoreBe16(p + 2, static_cast<uint16_t>(ihl + n));
    SetIpv4Cksum(p, ihl);
  }
  *next_proto = r.next_header;
  return StageVerdict::kOk;
}

}  // namespace arsec::dp
