// AH encapsulation and verification on mbufs. See ah.h for the ICV rules and the
// two-phase contract.
#include "dataplane/ipsec/ah.h"

#include <cstring>

namespace arsec::dp {
namespace {

constexpr uint32_t kAhFixed = 12;  // next header, length, reserved, SPI, sequence
constexpr uint32_t kMaxIpLen = 65535;

// RFC 4302 Appendix A.1, by option type byte (copy, class, number): End of Options List,
// No Operation, Security, Extended Security, Commercial Security, Router Alert, Sender
// Directed Multi-Destination Delivery. Everything else is zeroed, including options the
// table does not list.
constexpr bool ImmutableOption(uint8_t type) {
  return type == 0 || type == 1 || type == 130 || type == 133 || type == 134 ||
         type == 148 || type == 149;
}
constexpr uint8_t kOptLsrr = 131;
constexpr uint8_t kOptSsrr = 137;

void FillAuthOp(const Sa& sa, rte_mbuf* m, uint8_t* ip, uint32_t auth_len, uint8_t* digest,
                crypto::CryptoDir dir, crypto::CryptoOp* op) {
  op->session = sa.session;
  op->data = ip;
  op->iv = nullptr;
  op->aad = nullptr;
  op->digest = digest;
  op->user = m;
  op->cipher_offset = 0;
  op->cipher_len = 0;
  op->auth_offset = 0;
  op->auth_len = static_cast<uint16_t>(auth_len);
  op->aad_len = 0;
  op->dir = dir;
  op->status = crypto::CryptoStatus::kNotProcessed;
}

}  // namespace

void AhZeroMutable(uint8_t* ip, unsigned ihl, bool sender) {
  ip[1] = 0;                 // TOS (DSCP + ECN)
  ip[6] = ip[7] = 0;         // flags + fragment offset
  ip[8] = 0;                 // TTL
  ip[10] = ip[11] = 0;       // checksum
  uint8_t final_dst[4];
  bool have_final = false;
  unsigned i = 20;
  while (i < ihl) {
    const uint8_t type = ip[i];
    if (type == 0) break;  // End of Options List: the rest is padding, kept as sent
    if (type == 1) {
      ++i;
      continue;
    }
    const unsigned len = i + 1 < ihl ? ip[i + 1] : 0;
    if (len < 2 || i + len > ihl) {  // malformed: zero the rest (the ICV will not match)
      std::memset(ip + i, 0, ihl - i);
      break;
    }
    if (!ImmutableOption(type)) {
      // A source route's last address is where the packet will arrive: the receiver
      // sees it as the destination, so the sender authenticates that.
      if (sender && (type == kOptLsrr || type == kOptSsrr) && len >= 7 && (len - 3) % 4 == 0) {
        std::memcpy(final_dst, ip + i + len - 4, 4);
        have_final = true;
      }
      std::memset(ip + i, 0, len);
    }
    i += len;
  }
  if (have_final) std::memcpy(ip + 16, final_dst, 4);
}

StageVerdict AhOutboundPrepare(const Sa& sa, rte_mbuf* m, uint64_t seq, uint16_t ip_id,
                               crypto::CryptoOp* op, OpScratch* sc) {
  uint8_t* in = rte_pktmbuf_mtod(m, uint8_t*);
  const uint32_t in_len = rte_pktmbuf_data_len(m);
  const bool tunnel = sa.mode == SaMode::kTunnel;
  uint32_t ihl = 20;
  if (!tunnel) {
    ihl = Ipv4HeaderLen(in, in_len);
    if (ihl == 0) return StageVerdict::kBadInner;
  } else if (in_len < 20) {
    return StageVerdict::kBadInner;
  }
  const uint32_t icv_len = sa.digest_len;
  const uint32_t ah_len = AhHeaderLen(icv_len);
  const uint32_t head_add = (tunnel ? 20 : 0) + ah_len;
  const uint32_t tail_add = sa.esn ? 4 : 0;
  const uint32_t total = in_len + head_add;
  if (total + tail_add > kMaxIpLen) return StageVerdict::kBadLength;  // auth_len is 16-bit
  if (rte_pktmbuf_headroom(m) < head_add || rte_pktmbuf_tailroom(m) < tail_add)
    return StageVerdict::kNoRoom;

  const uint8_t nh = tunnel ? kProtoIpip : in[9];
  uint8_t* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, static_cast<uint16_t>(head_add)));
  if (tunnel) {
    WriteOuterIpv4(p, sa, in, static_cast<uint16_t>(total), kProtoAh, ip_id);
  } else {
    const uint16_t ck = Ipv4CksumEdited(in, ihl, static_cast<uint16_t>(total), kProtoAh);
    std::memmove(p, in, ihl);
    p[9] = kProtoAh;
    StoreBe16(p + 2, static_cast<uint16_t>(total));
    std::memcpy(p + 10, &ck, 2);
  }
  uint8_t* ah = p + ihl;
  ah[0] = nh;
  ah[1] = static_cast<uint8_t>(ah_len / 4 - 2);  // RFC 4302 section 2.2
  ah[2] = ah[3] = 0;
  std::memcpy(ah + 4, &sa.spi_be, 4);
  StoreBe32(ah + 8, static_cast<uint32_t>(seq));
  std::memset(ah + kAhFixed, 0, ah_len - kAhFixed);  // ICV and its padding
  if (sa.esn) {
    uint8_t* hi = MbufAppend(m, 4);
    StoreBe32(hi, static_cast<uint32_t>(seq >> 32));
  }
  std::memcpy(sc->ip, p, ihl);
  sc->ihl = static_cast<uint8_t>(ihl);
  AhZeroMutable(p, ihl, /*sender=*/true);
  FillAuthOp(sa, m, p, total + tail_add, ah + kAhFixed, crypto::CryptoDir::kEncrypt, op);
  return StageVerdict::kOk;
}

StageVerdict AhOutboundFinish(const Sa& sa, rte_mbuf* m, const crypto::CryptoOp* op,
                              OpScratch* sc) {
  std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), sc->ip, sc->ihl);
  if (sa.esn) MbufTrim(m, 4);
  return op->status == crypto::CryptoStatus::kOk ? StageVerdict::kOk
                                                  : StageVerdict::kCryptoError;
}

bool AhParse(const rte_mbuf* m, uint32_t* spi_be, uint32_t* seq_low) {
  const auto* ip = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint32_t len = rte_pktmbuf_data_len(m);
  const unsigned ihl = Ipv4HeaderLen(ip, len);
  if (ihl == 0 || ip[9] != kProtoAh || len < ihl + kAhFixed) return false;
  std::memcpy(spi_be, ip + ihl + 4, 4);
  *seq_low = LoadBe32(ip + ihl + 8);
  return true;
}

StageVerdict AhInboundPrepare(const Sa& sa, rte_mbuf* m, uint64_t seq64, crypto::CryptoOp* op,
                              OpScratch* sc) {
  unsigned ihl;
  uint32_t tl;
  if (!OuterIpv4(m, &ihl, &tl)) return StageVerdict::kBadLength;
  uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
  if (p[9] != kProtoAh) return StageVerdict::kBadHeader;
  const uint32_t icv_len = sa.digest_len;
  const uint32_t ah_len = AhHeaderLen(icv_len);
  if (tl < ihl + kAhFixed) return StageVerdict::kBadLength;
  uint8_t* ah = p + ihl;
  if ((uint32_t{ah[1]} + 2) * 4 != ah_len) return StageVerdict::kBadHeader;
  if (tl < ihl + ah_len || tl + (sa.esn ? 4 : 0) > kMaxIpLen) return StageVerdict::kBadLength;
  if (sa.esn && rte_pktmbuf_tailroom(m) < 4) return StageVerdict::kNoRoom;

  std::memcpy(sc->icv, ah + kAhFixed, icv_len);
  std::memset(ah + kAhFixed, 0, ah_len - kAhFixed);
  std::memcpy(sc->ip, p, ihl);
  sc->ihl = static_cast<uint8_t>(ihl);
  AhZeroMutable(p, ihl, /*sender=*/false);
  if (sa.esn) {
    uint8_t* hi = MbufAppend(m, 4);
    StoreBe32(hi, static_cast<uint32_t>(seq64 >> 32));
  }
  FillAuthOp(sa, m, p, tl + (sa.esn ? 4 : 0), sc->icv, crypto::CryptoDir::kDecrypt, op);
  return StageVerdict::kOk;
}

StageVerdict AhInboundFinish(const Sa& sa, rte_mbuf* m, const crypto::CryptoOp* op,
                             OpScratch* sc, uint8_t* next_proto) {
  uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
  const uint32_t ihl = sc->ihl;
  std::memcpy(p, sc->ip, ihl);
  if (sa.esn) MbufTrim(m, 4);
  if (op->status != crypto::CryptoStatus::kOk) {
    // Left as received (ICV back in place), e.g. for a packet capture of the drop.
    std::memcpy(p + ihl + kAhFixed, sc->icv, sa.digest_len);
    return op->status == crypto::CryptoStatus::kAuthFailed ? StageVerdict::kAuthFailed
                                                          : StageVerdict::kCryptoError;
  }
  const uint32_t ah_len = AhHeaderLen(sa.digest_len);
  const uint32_t tl = LoadBe16(p + 2);
  const uint8_t nh = p[ihl];
  const uint32_t rest = tl - ihl - ah_len;
  if (sa.mode == SaMode::kTunnel) {
    if (nh != kProtoIpip) return StageVerdict::kBadInner;
    const uint32_t inner_len = CheckInnerIpv4(p + ihl + ah_len, rest);
    if (inner_len == 0) return StageVerdict::kBadInner;
    rte_pktmbuf_adj(m, static_cast<uint16_t>(ihl + ah_len));
    MbufTrim(m, rest - inner_len);
  } else {
    const uint16_t ck = Ipv4CksumEdited(p, ihl, static_cast<uint16_t>(ihl + rest), nh);
    std::memmove(p + ah_len, p, ihl);
    p = reinterpret_cast<uint8_t*>(rte_pktmbuf_adj(m, static_cast<uint16_t>(ah_len)));
    p[9] = nh;
    StoreBe16(p + 2, static_cast<uint16_t>(ihl + rest));
    std::memcpy(p + 10, &ck, 2);
  }
  *next_proto = nh;
  return StageVerdict::kOk;
}

}  // namespace arsec::dp
